/* overlaps.h - the pairwise overlaps kernel: every (GT, anchor) pair of a ragged
 * batch, out[g * num_anchors + a] with g the global GT index (image blocks are
 * concatenated, so the batch's offsets are not needed). One thread per element,
 * grid-stride over 64-bit indices: the output can pass 2^31 elements. The work is
 * the 4-byte store per element; reads are cached boxes. */
#ifndef AA_KERNEL_OVERLAPS_H
#define AA_KERNEL_OVERLAPS_H

#include "box_math.h"

#ifdef AA_KERNEL
AA_KERNEL aa_overlaps_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                             AA_GLOBAL const float *gts, aa_i64 num_gts, aa_i32 mode, float eps,
                             AA_GLOBAL float *out)
{
    aa_i64 total = num_anchors * num_gts;
    aa_i64 step = AA_NUM_GROUPS_X * AA_LOCAL_SIZE;
    for (aa_i64 i = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; i < total; i += step) {
        aa_i64 g = i / num_anchors, a = i - g * num_anchors;
        out[i] = aa_box_overlap(mode, aa_box_load(anchors, a), aa_box_load(gts, g), eps);
    }
}
#endif

#endif /* AA_KERNEL_OVERLAPS_H */
