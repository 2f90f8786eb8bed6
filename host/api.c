/* api.c - the public entry points: load parameters, validate every input, size
 * and acquire the workspace, then run the backend. Nothing is written to an
 * output before all checks have passed. */
#include "internal.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- defaults */

void aa_max_iou_params_init(aa_max_iou_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->pos_iou_thr = 0.5f;
    p->neg_iou_thr_lo = 0.0f;
    p->neg_iou_thr_hi = 0.4f;
    p->min_pos_iou = 0.0f;
    p->gt_max_assign_all = 1;
    p->match_low_quality = 1;
    p->ignore_iof_thr = -1.0f;
    p->ignore_wrt_candidates = 1;
    p->eps = 1e-6f;
}

void aa_atss_params_init(aa_atss_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->topk = 9;
    p->ignore_iof_thr = -1.0f;
    p->inside_margin = 0.01f;
    p->eps = 1e-6f;
}

void aa_fcos_params_init(aa_fcos_params *p)
{
    static const float lo[5] = {-1.0f, 64.0f, 128.0f, 256.0f, 512.0f};
    static const float hi[5] = {64.0f, 128.0f, 256.0f, 512.0f, 1e8f};
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->center_sampling = 0;
    p->center_sample_radius = 1.5f;
    p->num_regress_ranges = 5;
    for (int l = 0; l < 5; ++l) p->regress_lo[l] = lo[l], p->regress_hi[l] = hi[l];
}

/* ---------------------------------------------------------------- checks */

static aa_status check_finite(aa_context *ctx, const char *name, float v)
{
    if (!isfinite(v))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.%s: %g is not finite", name, (double)v);
    return AA_SUCCESS;
}

static aa_status check_eps(aa_context *ctx, float eps)
{
    if (!(eps > 0.0f) || !isfinite(eps))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "eps: %g is not a positive finite number",
                        (double)eps);
    return AA_SUCCESS;
}

/* Copies the caller's struct over the defaults so that a struct from an older
 * header (smaller struct_size) keeps the defaults of fields added since. */
#define LOAD_PARAMS(ctx, given, p, init)                                                         \
    do {                                                                                         \
        init(p);                                                                                 \
        if (given) {                                                                             \
            aa_status st_ = aa__check_struct_size(ctx, "params", (given)->struct_size, sizeof *(p)); \
            if (st_ != AA_SUCCESS) return st_;                                                   \
            memcpy(p, given, (given)->struct_size);                                              \
        }                                                                                        \
    } while (0)

static aa_status check_max_iou_params(aa_context *ctx, const aa_max_iou_params *p)
{
    aa_status st = check_finite(ctx, "pos_iou_thr", p->pos_iou_thr);
    if (st == AA_SUCCESS) st = check_finite(ctx, "neg_iou_thr_lo", p->neg_iou_thr_lo);
    if (st == AA_SUCCESS) st = check_finite(ctx, "neg_iou_thr_hi", p->neg_iou_thr_hi);
    if (st == AA_SUCCESS) st = check_finite(ctx, "min_pos_iou", p->min_pos_iou);
    if (st == AA_SUCCESS) st = check_finite(ctx, "ignore_iof_thr", p->ignore_iof_thr);
    if (st == AA_SUCCESS) st = check_eps(ctx, p->eps);
    return st;
}

static aa_status check_atss_params(aa_context *ctx, const aa_atss_params *p)
{
    if (p->topk < 1 || p->topk > AA_MAX_TOPK)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.topk: %d is outside 1..%d",
                        (int)p->topk, AA_MAX_TOPK);
    aa_status st = check_finite(ctx, "ignore_iof_thr", p->ignore_iof_thr);
    if (st == AA_SUCCESS) st = check_finite(ctx, "inside_margin", p->inside_margin);
    if (st == AA_SUCCESS) st = check_eps(ctx, p->eps);
    return st;
}

static aa_status check_fcos_params(aa_context *ctx, const aa_fcos_params *p, int32_t num_levels)
{
    if (p->center_sampling &&
        (!(p->center_sample_radius > 0.0f) || !isfinite(p->center_sample_radius)))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.center_sample_radius: %g is not a positive finite number",
                        (double)p->center_sample_radius);
    if (p->num_regress_ranges != num_levels)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.num_regress_ranges: %d, but the anchors have %d levels",
                        (int)p->num_regress_ranges, (int)num_levels);
    for (int32_t l = 0; l < num_levels; ++l)
        if (isnan(p->regress_lo[l]) || isnan(p->regress_hi[l]) ||
            p->regress_lo[l] > p->regress_hi[l])
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.regress_lo/hi[%d]: [%g, %g] is not a range", (int)l,
                            (double)p->regress_lo[l], (double)p->regress_hi[l]);
    return AA_SUCCESS;
}

static aa_status check_out_size(aa_context *ctx, const aa_batch *b)
{
    /* counts are bounded by the AA_MAX_* limits, so this product fits in int64 */
    int64_t elements = (int64_t)b->num_images * b->num_anchors;
    if ((uint64_t)elements > SIZE_MAX / sizeof(float))
        return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                        "num_images x num_anchors: %lld outputs do not fit in memory",
                        (long long)elements);
    return AA_SUCCESS;
}

/* ---------------------------------------------------------------- overlaps */

aa_status aa_overlaps(aa_context *ctx, aa_overlap_mode mode, float eps, const aa_anchors *anchors,
                      const aa_gts *gts, float *out)
{
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    if (mode != AA_IOU && mode != AA_IOF && mode != AA_GIOU)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "mode: %d is not an aa_overlap_mode", (int)mode);
    aa_status st = check_eps(ctx, eps);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st != AA_SUCCESS) return st;
    if (!out && b.total_gts * b.num_anchors > 0)
        return aa__fail(ctx, AA_ERR_NULL_POINTER, "out: NULL");
    if ((uint64_t)(b.total_gts * b.num_anchors) > SIZE_MAX / sizeof(float))
        return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED, "GTs x anchors: %lld overlaps do not fit in memory",
                        (long long)(b.total_gts * b.num_anchors));
    if (ctx->gpu) return ctx->gpu->overlaps(ctx, mode, eps, &b, out);
    aa__ref_overlaps(mode, eps, &b, out);
    return AA_SUCCESS;
}

/* ---------------------------------------------------------------- ATSS primitives */

static aa_status check_topk(aa_context *ctx, int32_t topk)
{
    if (topk < 1 || topk > AA_MAX_TOPK)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "topk: %d is outside 1..%d", (int)topk,
                        AA_MAX_TOPK);
    return AA_SUCCESS;
}

aa_status aa_topk_nearest(aa_context *ctx, int32_t topk, const aa_anchors *anchors,
                          const aa_gts *gts, int32_t *candidates)
{
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    aa_status st = check_topk(ctx, topk);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st != AA_SUCCESS) return st;
    if (!candidates && b.total_gts > 0)
        return aa__fail(ctx, AA_ERR_NULL_POINTER, "candidates: NULL");
    if (ctx->gpu) return ctx->gpu->topk_nearest(ctx, topk, &b, candidates);
    aa__ref_topk_nearest(topk, &b, candidates);
    return AA_SUCCESS;
}

aa_status aa_candidate_iou_stats(aa_context *ctx, int32_t topk, float eps,
                                 const aa_anchors *anchors, const aa_gts *gts,
                                 const int32_t *candidates, double *mean, double *std)
{
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    aa_status st = check_topk(ctx, topk);
    if (st == AA_SUCCESS) st = check_eps(ctx, eps);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st != AA_SUCCESS) return st;
    if (b.total_gts > 0) {
        if (!candidates) return aa__fail(ctx, AA_ERR_NULL_POINTER, "candidates: NULL");
        if (!mean) return aa__fail(ctx, AA_ERR_NULL_POINTER, "mean: NULL");
        if (!std) return aa__fail(ctx, AA_ERR_NULL_POINTER, "std: NULL");
    }
    int64_t per_gt = (int64_t)b.num_levels * topk;
    for (int64_t j = 0; aa__host_readable(ctx) && j < b.total_gts * per_gt; ++j)
        if (candidates[j] < -1 || candidates[j] >= b.num_anchors)
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "candidates[%lld]: %d is not an anchor index or -1", (long long)j,
                            (int)candidates[j]);
    if (ctx->gpu) return ctx->gpu->candidate_stats(ctx, topk, eps, &b, candidates, mean, std);
    aa__ref_candidate_stats(topk, eps, &b, candidates, mean, std);
    return AA_SUCCESS;
}

/* ---------------------------------------------------------------- assigners */

/* The common prologue of every assigner: context, batch, output, sizes. */
static aa_status begin_assign(aa_context *ctx, const aa_anchors *anchors, const aa_gts *gts,
                              const aa_assignment *out, int need_strides, aa_batch *b)
{
    aa_status st = aa__check_batch(ctx, anchors, gts, need_strides, b);
    if (st == AA_SUCCESS) st = aa__check_output(ctx, out, gts);
    if (st == AA_SUCCESS) st = check_out_size(ctx, b);
    return st;
}

static aa_status sized(aa_context *ctx, size_t *bytes, size_t value)
{
    if (!bytes) return aa__fail(ctx, AA_ERR_NULL_POINTER, "bytes: NULL");
    *bytes = value;
    return AA_SUCCESS;
}

aa_status aa_max_iou_workspace_size(aa_context *ctx, const aa_max_iou_params *params,
                                    const aa_anchors *anchors, const aa_gts *gts, size_t *bytes)
{
    aa_max_iou_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_max_iou_params_init);
    aa_status st = check_max_iou_params(ctx, &p);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return sized(ctx, bytes, ctx->gpu->max_iou_ws_bytes(&b));
    return sized(ctx, bytes, aa__ref_max_iou_ws_bytes(&b));
}

aa_status aa_assign_max_iou(aa_context *ctx, const aa_max_iou_params *params,
                            const aa_anchors *anchors, const aa_gts *gts, const aa_assignment *out,
                            void *workspace, size_t workspace_bytes)
{
    aa_max_iou_params p;
    aa_batch b;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_max_iou_params_init);
    aa_status st = check_max_iou_params(ctx, &p);
    if (st == AA_SUCCESS) st = begin_assign(ctx, anchors, gts, out, 0, &b);
    if (st == AA_SUCCESS && ctx->gpu) return ctx->gpu->max_iou(ctx, &p, &b, out, workspace, workspace_bytes);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_max_iou_ws_bytes(&b), workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa__ref_max_iou(&p, &b, out, ws);
    return AA_SUCCESS;
}

aa_status aa_atss_workspace_size(aa_context *ctx, const aa_atss_params *params,
                                 const aa_anchors *anchors, const aa_gts *gts, size_t *bytes)
{
    aa_atss_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_atss_params_init);
    aa_status st = check_atss_params(ctx, &p);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return sized(ctx, bytes, ctx->gpu->atss_ws_bytes(&p, &b));
    return sized(ctx, bytes, aa__ref_atss_ws_bytes(&p, &b));
}

aa_status aa_assign_atss(aa_context *ctx, const aa_atss_params *params, const aa_anchors *anchors,
                         const aa_gts *gts, const aa_assignment *out, void *workspace,
                         size_t workspace_bytes)
{
    aa_atss_params p;
    aa_batch b;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_atss_params_init);
    aa_status st = check_atss_params(ctx, &p);
    if (st == AA_SUCCESS) st = begin_assign(ctx, anchors, gts, out, 0, &b);
    if (st == AA_SUCCESS && ctx->gpu) return ctx->gpu->atss(ctx, &p, &b, out, workspace, workspace_bytes);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_atss_ws_bytes(&p, &b), workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa__ref_atss(&p, &b, out, ws);
    return AA_SUCCESS;
}

aa_status aa_fcos_workspace_size(aa_context *ctx, const aa_fcos_params *params,
                                 const aa_anchors *anchors, const aa_gts *gts, size_t *bytes)
{
    aa_fcos_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_fcos_params_init);
    aa_status st = aa__check_batch(ctx, anchors, gts, p.center_sampling, &b);
    if (st == AA_SUCCESS) st = check_fcos_params(ctx, &p, b.num_levels);
    if (st != AA_SUCCESS) return st;
    return sized(ctx, bytes, aa__ref_fcos_ws_bytes(&b));
}

aa_status aa_assign_fcos(aa_context *ctx, const aa_fcos_params *params, const aa_anchors *anchors,
                         const aa_gts *gts, const aa_assignment *out, void *workspace,
                         size_t workspace_bytes)
{
    aa_fcos_params p;
    aa_batch b;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_fcos_params_init);
    aa_status st = begin_assign(ctx, anchors, gts, out, p.center_sampling, &b);
    if (st == AA_SUCCESS) st = check_fcos_params(ctx, &p, b.num_levels);
    if (st == AA_SUCCESS && ctx->gpu) return ctx->gpu->fcos(ctx, &p, &b, out);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_fcos_ws_bytes(&b), workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa__ref_fcos(&p, &b, out, ws);
    return AA_SUCCESS;
}
