/* plan.h - launch plans, made once per call on the host and shared by the CUDA and
 * OpenCL launchers, which only translate them (grid = groups x local size). So the
 * plan exercised on PoCL in CI is the plan CUDA launches. Pure functions, tested
 * in tests/test_plan.c, including sizes past 2^31 elements. */
#ifndef AA_PLAN_H
#define AA_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "../kernels/levels.h"

typedef struct aa_launch {
    int64_t groups_x;    /* work-groups / blocks along x (CUDA gridDim.x <= 2^31-1) */
    int64_t groups_y;    /* along y (CUDA gridDim.y <= 65535)                      */
    int32_t local_size;  /* work-items / threads per group                          */
    size_t local_bytes;  /* dynamic local / shared memory per group                 */
} aa_launch;

#define AA_PLAN_LOCAL_SIZE 256
/* Grid-stride kernels need no more groups than this to fill any current device. */
#define AA_PLAN_MAX_GROUPS 65536

/* An element-wise grid-stride kernel over `elements` items: ceil(elements / 256)
 * groups, capped at AA_PLAN_MAX_GROUPS; at least one group (a kernel over zero
 * elements is not launched: groups_x 0). */
aa_launch aa__plan_elementwise(int64_t elements);

/* A kernel over (image, anchor) pairs: x strides over blocks of anchors, y over
 * images (CUDA's gridDim.y is at most 65535: images beyond stride). No more than
 * about AA_PLAN_MAX_GROUPS groups in all; none when there is nothing to do. */
#define AA_PLAN_MAX_GROUPS_Y 65535
aa_launch aa__plan_per_image(int64_t num_anchors, int64_t num_images);

/* One work-group per GT (grid-stride over GTs beyond AA_PLAN_MAX_GROUPS). */
aa_launch aa__plan_per_gt(int64_t num_gts);

/* Gaussian mixtures: one work-group of AA_PLAN_GMM_LOCAL_SIZE per segment
 * (grid-stride over segments beyond AA_PLAN_MAX_GROUPS). 64 work-items take a PAA
 * segment (<= 9 x levels points) in one pass of the E-step and its 13 sums at once. */
#define AA_PLAN_GMM_LOCAL_SIZE 64
aa_launch aa__plan_gmm(int64_t num_segments);

/* Device workspace layouts: byte offsets of each array, each aligned to
 * AA_PLAN_WS_ALIGN; the return value is the total in bytes. */
#define AA_PLAN_WS_ALIGN 256
struct aa_max_iou_ws;
size_t aa__plan_max_iou_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts,
                           struct aa_max_iou_ws *layout);
struct aa_atss_ws;
size_t aa__plan_atss_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts,
                        int32_t num_levels, int32_t topk, struct aa_atss_ws *layout);
struct aa_gmm_ws;
size_t aa__plan_gmm_ws(int64_t total_points, int32_t num_components, struct aa_gmm_ws *layout);

/* PAA (kernels/paa.h): the selection runs one work-group of AA_PLAN_PAA_LOCAL_SIZE
 * per GT (grid-stride beyond AA_PLAN_MAX_GROUPS); its workspace holds per_gt
 * candidate slots per GT, per_gt = the sum over levels of min(topk, level size)
 * (aa__plan_paa_candidates), each array from byte `base` on. The whole of
 * aa_assign_paa: the pre-assignment int32 [images x anchors] at 0, the costs
 * float at *cost_at, then the max-IoU workspace and the selection's at the same
 * offset (used one after the other). */
#define AA_PLAN_PAA_LOCAL_SIZE 64
aa_launch aa__plan_paa_select(int64_t num_gts);
int64_t aa__plan_paa_candidates(const aa_batch *b, int32_t topk);
struct aa_paa_select_ws;
size_t aa__plan_paa_select_ws(int64_t num_gts, int64_t per_gt, size_t base,
                              struct aa_paa_select_ws *layout);
size_t aa__plan_paa_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts, int64_t per_gt,
                       int64_t *cost_at, struct aa_max_iou_ws *max_iou,
                       struct aa_paa_select_ws *select);
struct aa_paa_args aa__plan_paa_args(const aa_paa_params *p, const aa_head_outputs *h);
/* The same for a call: per_gt from the batch's levels and params->topk. */
size_t aa__plan_paa_select_layout(const aa_paa_params *p, const aa_batch *b,
                                  struct aa_paa_select_ws *layout);
size_t aa__plan_paa_layout(const aa_paa_params *p, const aa_batch *b, int64_t *cost_at,
                           struct aa_max_iou_ws *max_iou, struct aa_paa_select_ws *select);

/* LADA (kernels/lada.h): a clear kernel and an output kernel per (image, anchor)
 * (aa__plan_elementwise, aa__plan_per_image) and the selection, one work-group of
 * AA_PLAN_LADA_LOCAL_SIZE per GT (grid-stride beyond AA_PLAN_MAX_GROUPS). The
 * workspace: the claim keys (uint64 [images x anchors]) at 0, then per GT per_gt
 * candidate slots, per_gt = the sum over levels of min(topk_per_level, level size)
 * (aa__plan_paa_candidates's formula): anchor index and loss, level by level and
 * ranked. Sizes in 64 bits (size_t) throughout. */
#define AA_PLAN_LADA_LOCAL_SIZE 64
aa_launch aa__plan_lada_select(int64_t num_gts);
struct aa_lada_ws;
size_t aa__plan_lada_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts, int64_t per_gt,
                        struct aa_lada_ws *layout);
struct aa_lada_args aa__plan_lada_args(const aa_lada_params *p, const aa_head_outputs *h);
/* The same for a call: per_gt from the batch's levels and params->topk_per_level. */
size_t aa__plan_lada_layout(const aa_lada_params *p, const aa_batch *b, struct aa_lada_ws *layout);

/* The level table the assigner kernels take by value: level begins, strides, and
 * the regress ranges lo/hi (FCOS; NULL: zeros). */
aa_levels aa__plan_levels(const aa_batch *b, const float *lo, const float *hi);

/* The assigners' parameters as their kernels take them (by value). */
struct aa_max_iou_args aa__plan_max_iou_args(const aa_max_iou_params *p);
struct aa_atss_args aa__plan_atss_args(const aa_atss_params *p, int skip_crowd);
struct aa_gmm_args aa__plan_gmm_args(const aa_gmm_params *p);

/* Total work-items along x of a plan, as OpenCL's global size wants it. */
int64_t aa__plan_global_x(const aa_launch *plan);

#endif
