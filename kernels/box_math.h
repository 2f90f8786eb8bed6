/* box_math.h - device helpers on boxes, in the portable dialect: they compile as
 * CUDA, OpenCL C and host C (tests/test_box_math.c calls them on the host).
 * Float32 in mmdetection's operation order, so every backend and the CPU reference
 * round identically. Written apart from host/cpu/ on purpose: the reference stays
 * independent of the kernels, so agreement between the two means something. */
#ifndef AA_BOX_MATH_H
#define AA_BOX_MATH_H

#include "aa_dialect.h"

typedef struct aa_box {
    float x1, y1, x2, y2;
} aa_box;

/* Overlap modes, numbered as aa_overlap_mode in anchorassign.h. */
#define AA_MODE_IOU 0
#define AA_MODE_IOF 1
#define AA_MODE_GIOU 2

AA_DEVICE aa_box aa_box_load(AA_GLOBAL const float *boxes, aa_i64 i)
{
    aa_box b;
    b.x1 = boxes[4 * i + 0];
    b.y1 = boxes[4 * i + 1];
    b.x2 = boxes[4 * i + 2];
    b.y2 = boxes[4 * i + 3];
    return b;
}

AA_DEVICE float aa_box_area(aa_box b) { return (b.x2 - b.x1) * (b.y2 - b.y1); }
AA_DEVICE float aa_box_cx(aa_box b) { return (b.x1 + b.x2) / 2.0f; }
AA_DEVICE float aa_box_cy(aa_box b) { return (b.y1 + b.y2) / 2.0f; }

AA_DEVICE float aa_maxf(float a, float b) { return a > b ? a : b; }
AA_DEVICE float aa_minf(float a, float b) { return a < b ? a : b; }

/* IoU / IoF (over the anchor's area) / GIoU of an anchor with a GT: intersection
 * clamped at 0, union floored at eps. */
AA_DEVICE float aa_box_overlap(aa_i32 mode, aa_box anchor, aa_box gt, float eps)
{
    float w = aa_minf(anchor.x2, gt.x2) - aa_maxf(anchor.x1, gt.x1);
    float h = aa_minf(anchor.y2, gt.y2) - aa_maxf(anchor.y1, gt.y1);
    w = aa_maxf(w, 0.0f);
    h = aa_maxf(h, 0.0f);
    float inter = w * h;
    float area_anchor = aa_box_area(anchor);
    float uni = mode == AA_MODE_IOF ? area_anchor : area_anchor + aa_box_area(gt) - inter;
    uni = aa_maxf(uni, eps);
    float iou = inter / uni;
    if (mode != AA_MODE_GIOU) return iou;
    float ew = aa_maxf(aa_maxf(anchor.x2, gt.x2) - aa_minf(anchor.x1, gt.x1), 0.0f);
    float eh = aa_maxf(aa_maxf(anchor.y2, gt.y2) - aa_minf(anchor.y1, gt.y1), 0.0f);
    float enclose = aa_maxf(ew * eh, eps);
    return iou - (enclose - uni) / enclose;
}

/* L2 distance between centres, float32 as mmdetection's bbox_center_distance. */
AA_DEVICE float aa_center_distance(aa_box anchor, aa_box gt)
{
    float dx = aa_box_cx(anchor) - aa_box_cx(gt);
    float dy = aa_box_cy(anchor) - aa_box_cy(gt);
    return AA_SQRTF(dx * dx + dy * dy);
}

/* The top-k order: nearer first, the lower anchor index on equal distance. */
AA_DEVICE int aa_nearer(float d1, aa_i64 i1, float d2, aa_i64 i2)
{
    return d1 < d2 || (d1 == d2 && i1 < i2);
}

#ifdef AA_KERNEL
/* The GT-tile loader of the per-(image, anchor) kernels: every work-item of the
 * group calls it (it has barriers). Local ids are indices within the image; a
 * crowd GT gets -1 - its index, so `id < 0` means crowd. */
AA_DEVICE_ONLY void aa_load_gt_tile(AA_GLOBAL const float *gts, AA_GLOBAL const aa_u8 *flags,
                                    aa_i64 first, aa_i64 count, aa_i64 t0, AA_LOCAL aa_box *tile,
                                    AA_LOCAL aa_i32 *tile_id)
{
    aa_i32 lid = AA_LOCAL_ID;
    AA_BARRIER(); /* the previous tile is no longer read */
    if (t0 + lid < count) {
        aa_i64 g = first + t0 + lid;
        tile[lid] = aa_box_load(gts, g);
        tile_id[lid] = (flags && flags[g]) ? -1 - (aa_i32)(t0 + lid) : (aa_i32)(t0 + lid);
    }
    AA_BARRIER();
}
#endif

#endif /* AA_BOX_MATH_H */
