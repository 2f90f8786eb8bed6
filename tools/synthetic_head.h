/*
 * synthetic_head.h - synthetic detection-head outputs for the loss-aware assigners
 * (PAA, LADA): class logits and box deltas per (image, anchor) that a half-trained
 * head might produce, so that anchors overlapping a GT well get low losses
 * (DESIGN.md, "Workloads everyone measures"). Part of aa_workload.
 *
 * How: for every anchor, q = its highest IoU with the image's non-crowd GTs and g that
 * GT (first on ties; q = 0 and no GT when the image has none), from the library's CPU
 * max-IoU pass. Then, with n ~ N(0,1) draws:
 *   logit of g's class   = -4 + 8 q + n        (an anchor on its GT scores high)
 *   every other logit    = -4 + n
 *   deltas               = q * encode(anchor, g) + (1 - q) * n per coordinate, where
 *                          encode is mmdetection's bbox2delta with means 0 and stds
 *                          (0.1, 0.1, 0.2, 0.2) (0 without a GT)
 * Draws: tools/rng.h from (seed, image): image i depends on (seed, i) only. The
 * encoding takes a log (double), so the deltas may differ in the last bit between
 * C libraries; everything else is plain IEEE arithmetic.
 */
#ifndef AA_SYNTHETIC_HEAD_H
#define AA_SYNTHETIC_HEAD_H

#include <stdint.h>

#include "anchorassign.h"
#include "workload.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AA_WL_HEAD_SEED 20261125u
#define AA_WL_COCO_CLASSES 91 /* COCO category ids run 1..90: labels are the ids */

typedef struct aa_wl_head {
    aa_head_outputs head;   /* views the arrays below                              */
    void *cls_logits;       /* owned [num_images][num_anchors][num_classes]        */
    void *bbox_deltas;      /* owned [num_images][num_anchors][4]                  */
} aa_wl_head;

/* Head outputs for the batch's images on the anchor set, in `dtype` (float16 and
 * bfloat16 rounded to nearest even from the float32 values). gts.labels must be set
 * and below num_classes. On failure *head is empty (safe to free). */
aa_wl_status aa_wl_head_make(const aa_anchors *anchors, const aa_gts *gts, int32_t num_classes,
                             aa_dtype dtype, uint64_t seed, aa_wl_head *head, aa_wl_error *err);
void aa_wl_head_free(aa_wl_head *head);

/* float32 -> IEEE binary16 / bfloat16 bits, round to nearest even (NaN stays NaN). */
uint16_t aa_wl_float_to_half(float v);
uint16_t aa_wl_float_to_bfloat(float v);

#ifdef __cplusplus
}
#endif

#endif
