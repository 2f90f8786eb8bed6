/* head_loss.h - the double-precision pieces of the loss-aware assigners' costs (PAA,
 * LADA), as mmdetection computes them: head-output conversion (float16 / bfloat16 to
 * float), delta2bbox (DeltaXYWHBBoxCoder, no clipping), GIoU of two boxes
 * (bbox_overlaps(mode='giou', is_aligned=True)) and one class's sigmoid focal loss
 * (py_sigmoid_focal_loss). Plain C, CPU reference only. */
#ifndef AA_HEAD_LOSS_H
#define AA_HEAD_LOSS_H

#include "internal.h"

/* Element i of a head-output array of the given type, as float (exactly). */
double aa__ref_head_value(const void *array, aa_dtype dtype, int64_t i);

/* mmdetection's bbox_overlaps(pred, target, mode='giou', is_aligned=True), in double. */
double aa__ref_giou(const double *a, const double *b, double eps);

/* delta2bbox of one anchor (means, stds, wh_ratio_clip of the box coder), in double. */
void aa__ref_delta2bbox(const float *means, const float *stds, float wh_ratio_clip,
                        const float *anchor, const double *d, double *box);

/* py_sigmoid_focal_loss of one logit: BCE-with-logits x focal weight. */
double aa__ref_focal(double x, int is_target, double alpha, double gamma);

#endif
