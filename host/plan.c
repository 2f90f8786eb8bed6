/* plan.c - launch planning shared by the CUDA and OpenCL backends. */
#include "plan.h"

#include <string.h>

#include "../kernels/atss.h"
#include "../kernels/gmm.h"
#include "../kernels/max_iou.h"
#include "../kernels/paa.h"
#include "../kernels/lada.h"

#include <math.h>

/* The GMM kernel numbers components and outcomes as the public header does. */
typedef char aa_gmm_kernel_matches_header[
    (AA_GMM_K_MAX == AA_GMM_MAX_COMPONENTS && AA_GMM_ST_CONVERGED == AA_GMM_CONVERGED &&
     AA_GMM_ST_NOT_CONVERGED == AA_GMM_NOT_CONVERGED && AA_GMM_ST_ILL_DEFINED == AA_GMM_ILL_DEFINED &&
     AA_GMM_ST_TOO_FEW_POINTS == AA_GMM_TOO_FEW_POINTS) ? 1 : -1];

/* Every group size is whole warps, at most 32 of them: kernels/reduce.h's CUDA argmax. */
#define AA_PLAN_WHOLE_WARPS(n) ((n) % 32 == 0 && (n) >= 32 && (n) <= 1024)
typedef char aa_group_sizes_are_whole_warps[
    (AA_PLAN_WHOLE_WARPS(AA_PLAN_LOCAL_SIZE) && AA_PLAN_WHOLE_WARPS(AA_PLAN_GMM_LOCAL_SIZE) &&
     AA_PLAN_WHOLE_WARPS(AA_PLAN_PAA_LOCAL_SIZE) && AA_PLAN_WHOLE_WARPS(AA_PLAN_LADA_LOCAL_SIZE)) ? 1 : -1];

aa_launch aa__plan_elementwise(int64_t elements)
{
    aa_launch p = {0, 1, AA_PLAN_LOCAL_SIZE, 0};
    if (elements <= 0) {
        p.groups_x = 0;
        return p;
    }
    int64_t groups = (elements - 1) / AA_PLAN_LOCAL_SIZE + 1;
    p.groups_x = groups < AA_PLAN_MAX_GROUPS ? groups : AA_PLAN_MAX_GROUPS;
    return p;
}

int64_t aa__plan_global_x(const aa_launch *plan)
{
    return plan->groups_x * plan->local_size;
}

aa_launch aa__plan_per_image(int64_t num_anchors, int64_t num_images)
{
    aa_launch p = {0, 0, AA_PLAN_LOCAL_SIZE, 0};
    if (num_anchors <= 0 || num_images <= 0) return p;
    p.groups_y = num_images < AA_PLAN_MAX_GROUPS_Y ? num_images : AA_PLAN_MAX_GROUPS_Y;
    int64_t blocks = (num_anchors - 1) / AA_PLAN_LOCAL_SIZE + 1;
    int64_t cap = AA_PLAN_MAX_GROUPS / p.groups_y;
    if (cap < 1) cap = 1;
    p.groups_x = blocks < cap ? blocks : cap;
    return p;
}

aa_launch aa__plan_per_gt(int64_t num_gts)
{
    aa_launch p = {0, 1, AA_PLAN_LOCAL_SIZE, 0};
    if (num_gts <= 0) return p;
    p.groups_x = num_gts < AA_PLAN_MAX_GROUPS ? num_gts : AA_PLAN_MAX_GROUPS;
    return p;
}

aa_launch aa__plan_gmm(int64_t num_segments)
{
    aa_launch p = {0, 1, AA_PLAN_GMM_LOCAL_SIZE, 0};
    if (num_segments <= 0) return p;
    p.groups_x = num_segments < AA_PLAN_MAX_GROUPS ? num_segments : AA_PLAN_MAX_GROUPS;
    return p;
}

/* Appends an array of `bytes` at the next aligned offset. */
static int64_t ws_take(size_t *cursor, size_t bytes)
{
    size_t at = *cursor;
    *cursor = at + (bytes + AA_PLAN_WS_ALIGN - 1) / AA_PLAN_WS_ALIGN * AA_PLAN_WS_ALIGN;
    return (int64_t)at;
}

size_t aa__plan_max_iou_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts,
                           struct aa_max_iou_ws *layout)
{
    size_t cursor = 0, pairs = (size_t)num_images * (size_t)num_anchors;
    layout->anchor_max = ws_take(&cursor, pairs * sizeof(float));
    layout->anchor_arg = ws_take(&cursor, pairs * sizeof(int32_t));
    layout->gt_max = ws_take(&cursor, (size_t)num_gts * sizeof(float));
    layout->gt_arg = ws_take(&cursor, (size_t)num_gts * sizeof(int64_t));
    return cursor;
}

size_t aa__plan_atss_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts,
                        int32_t num_levels, int32_t topk, struct aa_atss_ws *layout)
{
    size_t cursor = 0, pairs = (size_t)num_images * (size_t)num_anchors;
    layout->best = ws_take(&cursor, pairs * sizeof(uint64_t));
    layout->state = ws_take(&cursor, pairs);
    layout->candidates = ws_take(&cursor, (size_t)num_gts * (size_t)num_levels * (size_t)topk *
                                              sizeof(int32_t));
    return cursor;
}

size_t aa__plan_gmm_ws(int64_t total_points, int32_t num_components, struct aa_gmm_ws *layout)
{
    size_t cursor = 0, points = (size_t)total_points;
    layout->resp = ws_take(&cursor, points * (size_t)num_components * sizeof(double));
    layout->norm = ws_take(&cursor, points * sizeof(double));
    return cursor;
}

/* PAA's kernels number dtypes and separations as the public header does. */
typedef char aa_paa_kernel_matches_header[
    (AA_PAA_FLOAT32 == AA_FLOAT32 && AA_PAA_FLOAT16 == AA_FLOAT16 && AA_PAA_BFLOAT16 == AA_BFLOAT16 &&
     AA_PAA_SEPARATE_ORIGINAL_K == AA_PAA_SEPARATE_ORIGINAL &&
     AA_PAA_LOCAL_SIZE == AA_PLAN_PAA_LOCAL_SIZE) ? 1 : -1];

aa_launch aa__plan_paa_select(int64_t num_gts)
{
    aa_launch p = {0, 1, AA_PLAN_PAA_LOCAL_SIZE, 0};
    if (num_gts <= 0) return p;
    p.groups_x = num_gts < AA_PLAN_MAX_GROUPS ? num_gts : AA_PLAN_MAX_GROUPS;
    return p;
}

int64_t aa__plan_paa_candidates(const aa_batch *b, int32_t topk)
{
    int64_t n = 0;
    for (int32_t l = 0; l < b->num_levels; ++l) {
        int64_t c = b->anchors->level_counts[l];
        n += c < topk ? c : topk;
    }
    return n;
}

size_t aa__plan_paa_select_ws(int64_t num_gts, int64_t per_gt, size_t base,
                              struct aa_paa_select_ws *layout)
{
    size_t cursor = base, slots = (size_t)num_gts * (size_t)per_gt;
    layout->cand_index = ws_take(&cursor, slots * sizeof(int32_t));
    layout->cand_cost = ws_take(&cursor, slots * sizeof(float));
    layout->sorted_index = ws_take(&cursor, slots * sizeof(int32_t));
    layout->sorted_cost = ws_take(&cursor, slots * sizeof(float));
    layout->resp = ws_take(&cursor, slots * 2 * sizeof(double));
    layout->norm = ws_take(&cursor, slots * sizeof(double));
    layout->labels = ws_take(&cursor, slots * sizeof(int32_t));
    layout->density = ws_take(&cursor, slots * sizeof(double));
    layout->per_gt = per_gt;
    return cursor - base;
}

size_t aa__plan_paa_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts, int64_t per_gt,
                       int64_t *cost_at, struct aa_max_iou_ws *max_iou,
                       struct aa_paa_select_ws *select)
{
    size_t cursor = 0, rows = (size_t)num_images * (size_t)num_anchors;
    ws_take(&cursor, rows * sizeof(int32_t)); /* the pre-assignment, at 0 */
    *cost_at = ws_take(&cursor, rows * sizeof(float));
    size_t rest = cursor;
    size_t mi = aa__plan_max_iou_ws(num_images, num_anchors, num_gts, max_iou);
    max_iou->anchor_max += (int64_t)rest, max_iou->anchor_arg += (int64_t)rest;
    max_iou->gt_max += (int64_t)rest, max_iou->gt_arg += (int64_t)rest;
    size_t sel = aa__plan_paa_select_ws(num_gts, per_gt, rest, select);
    return rest + (mi > sel ? mi : sel);
}

size_t aa__plan_paa_select_layout(const aa_paa_params *p, const aa_batch *b,
                                  struct aa_paa_select_ws *layout)
{
    return aa__plan_paa_select_ws(b->total_gts, aa__plan_paa_candidates(b, p->topk), 0, layout);
}

size_t aa__plan_paa_layout(const aa_paa_params *p, const aa_batch *b, int64_t *cost_at,
                           struct aa_max_iou_ws *max_iou, struct aa_paa_select_ws *select)
{
    return aa__plan_paa_ws(b->num_images, b->num_anchors, b->total_gts,
                           aa__plan_paa_candidates(b, p->topk), cost_at, max_iou, select);
}

struct aa_paa_args aa__plan_paa_args(const aa_paa_params *p, const aa_head_outputs *h)
{
    aa_paa_args a;
    memset(&a, 0, sizeof a);
    a.max_ratio = fabs(log((double)p->wh_ratio_clip)); /* as paa_ref.c's decode() */
    a.focal_alpha = p->focal_alpha, a.focal_gamma = p->focal_gamma;
    a.giou_weight = p->giou_weight, a.giou_eps = p->giou_eps;
    for (int c = 0; c < 4; ++c) a.means[c] = p->target_means[c], a.stds[c] = p->target_stds[c];
    a.num_classes = h ? h->num_classes : 0, a.dtype = h ? (int32_t)h->dtype : 0;
    a.topk = p->topk, a.single_positive = p->single_candidate_positive;
    a.separation = p->separation;
    return a;
}

/* LADA's kernels number thresholds and dtypes as the public header does. */
typedef char aa_lada_kernel_matches_header[
    (AA_LADA_MEAN_STD_K == AA_LADA_MEAN_STD && AA_LADA_LOCAL_SIZE == AA_PLAN_LADA_LOCAL_SIZE &&
     sizeof(aa_lada_args) == 96) ? 1 : -1];

aa_launch aa__plan_lada_select(int64_t num_gts)
{
    aa_launch p = {0, 1, AA_PLAN_LADA_LOCAL_SIZE, 0};
    if (num_gts <= 0) return p;
    p.groups_x = num_gts < AA_PLAN_MAX_GROUPS ? num_gts : AA_PLAN_MAX_GROUPS;
    return p;
}

size_t aa__plan_lada_ws(int64_t num_images, int64_t num_anchors, int64_t num_gts, int64_t per_gt,
                        struct aa_lada_ws *layout)
{
    size_t cursor = 0, rows = (size_t)num_images * (size_t)num_anchors;
    size_t slots = (size_t)num_gts * (size_t)per_gt;
    layout->key = ws_take(&cursor, rows * sizeof(uint64_t));
    layout->cand_index = ws_take(&cursor, slots * sizeof(int32_t));
    layout->cand_loss = ws_take(&cursor, slots * sizeof(float));
    layout->sorted_index = ws_take(&cursor, slots * sizeof(int32_t));
    layout->sorted_loss = ws_take(&cursor, slots * sizeof(float));
    layout->per_gt = per_gt;
    return cursor;
}

size_t aa__plan_lada_layout(const aa_lada_params *p, const aa_batch *b, struct aa_lada_ws *layout)
{
    return aa__plan_lada_ws(b->num_images, b->num_anchors, b->total_gts,
                            aa__plan_paa_candidates(b, p->topk_per_level), layout);
}

struct aa_lada_args aa__plan_lada_args(const aa_lada_params *p, const aa_head_outputs *h)
{
    aa_lada_args a;
    memset(&a, 0, sizeof a);
    a.max_ratio = fabs(log((double)p->wh_ratio_clip)); /* as head_loss.c's delta2bbox */
    a.region_radius = p->region_radius, a.cls_weight = p->cls_weight;
    a.giou_weight = p->giou_weight, a.center_weight = p->center_weight;
    a.focal_alpha = p->focal_alpha, a.focal_gamma = p->focal_gamma, a.giou_eps = p->giou_eps;
    for (int c = 0; c < 4; ++c) a.means[c] = p->target_means[c], a.stds[c] = p->target_stds[c];
    a.num_classes = h ? h->num_classes : 0, a.dtype = h ? (int32_t)h->dtype : 0;
    a.clip = p->clip_region_to_gt, a.topk_per_level = p->topk_per_level, a.topk = p->topk;
    a.mean_std = p->threshold == AA_LADA_MEAN_STD;
    return a;
}

aa_levels aa__plan_levels(const aa_batch *b, const float *lo, const float *hi)
{
    aa_levels lv;
    memset(&lv, 0, sizeof lv);
    lv.num_levels = b->num_levels;
    for (int32_t l = 0; l < b->num_levels; ++l) {
        lv.begin[l + 1] = lv.begin[l] + b->anchors->level_counts[l];
        lv.stride[l] = b->anchors->level_strides ? b->anchors->level_strides[l] : 0.0f;
        lv.lo[l] = lo ? lo[l] : 0.0f;
        lv.hi[l] = hi ? hi[l] : 0.0f;
    }
    return lv;
}

struct aa_max_iou_args aa__plan_max_iou_args(const aa_max_iou_params *p)
{
    aa_max_iou_args a;
    memset(&a, 0, sizeof a);
    a.pos_iou_thr = p->pos_iou_thr, a.neg_lo = p->neg_iou_thr_lo, a.neg_hi = p->neg_iou_thr_hi;
    a.min_pos_iou = p->min_pos_iou, a.ignore_iof_thr = p->ignore_iof_thr, a.eps = p->eps;
    a.gt_max_assign_all = p->gt_max_assign_all, a.match_low_quality = p->match_low_quality;
    a.ignore_wrt_candidates = p->ignore_wrt_candidates;
    return a;
}

struct aa_atss_args aa__plan_atss_args(const aa_atss_params *p, int skip_crowd)
{
    aa_atss_args a;
    memset(&a, 0, sizeof a);
    a.ignore_iof_thr = p->ignore_iof_thr, a.inside_margin = p->inside_margin, a.eps = p->eps;
    a.topk = p->topk, a.skip_crowd = skip_crowd;
    return a;
}

struct aa_gmm_args aa__plan_gmm_args(const aa_gmm_params *p)
{
    aa_gmm_args a;
    memset(&a, 0, sizeof a);
    a.tol = p->tol, a.reg_covar = p->reg_covar;
    a.k = p->num_components, a.max_iter = p->max_iter;
    a.full = p->covariance == AA_GMM_FULL, a.given = p->init == AA_GMM_INIT_GIVEN;
    a.f32 = p->float32_input;
    return a;
}
