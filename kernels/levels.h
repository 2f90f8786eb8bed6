/* levels.h - what kernels know of the batch layout: the pyramid levels, passed by
 * value as a kernel argument (no device copy, no host synchronisation), and the
 * image a GT belongs to. Also included by the host
 * launch code, which fills it: the layout is the same in CUDA, OpenCL C and host C
 * (8-byte fields first, then 4-byte ones; 336 bytes). */
#ifndef AA_KERNEL_LEVELS_H
#define AA_KERNEL_LEVELS_H

#include "aa_dialect.h"

#define AA_K_MAX_LEVELS 16

typedef struct aa_levels {
    aa_i64 begin[AA_K_MAX_LEVELS + 1]; /* anchors of level l: [begin[l], begin[l+1]) */
    float stride[AA_K_MAX_LEVELS];
    float lo[AA_K_MAX_LEVELS];         /* FCOS regress ranges                          */
    float hi[AA_K_MAX_LEVELS];
    aa_i32 num_levels;
    aa_i32 unused;
} aa_levels;

/* The level of an anchor (levels are few: a scan). */
AA_DEVICE aa_i32 aa_level_of(aa_levels lv, aa_i64 anchor)
{
    aa_i32 l = 0;
    while (l + 1 < lv.num_levels && anchor >= lv.begin[l + 1]) ++l;
    return l;
}

/* The image of global GT g: offsets are non-decreasing, so a binary search for the
 * last image whose first GT is <= g (empty images skipped). */
AA_DEVICE aa_i64 aa_image_of_gt(AA_GLOBAL const aa_i64 *offsets, aa_i64 num_images, aa_i64 g)
{
    aa_i64 lo = 0, hi = num_images - 1;
    while (lo < hi) {
        aa_i64 mid = (lo + hi + 1) / 2;
        if (offsets[mid] <= g) lo = mid; else hi = mid - 1;
    }
    return lo;
}

#endif /* AA_KERNEL_LEVELS_H */
