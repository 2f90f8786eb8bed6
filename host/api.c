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

static aa_status check_nonneg(aa_context *ctx, const char *name, float v)
{
    if (!(v >= 0.0f) || !isfinite(v))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.%s: %g is not a finite number >= 0",
                        name, (double)v);
    return AA_SUCCESS;
}

static aa_status check_positive(aa_context *ctx, const char *name, float v)
{
    if (!(v > 0.0f) || !isfinite(v))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.%s: %g is not a positive finite number",
                        name, (double)v);
    return AA_SUCCESS;
}

/* The head-loss constants PAA's cost and LADA's loss share: sigmoid focal loss and
 * the DeltaXYWH box coder with GIoU. */
static aa_status check_head_loss(aa_context *ctx, float focal_alpha, float focal_gamma,
                                 float giou_eps, const float *target_means,
                                 const float *target_stds, float wh_ratio_clip)
{
    if (!(focal_alpha >= 0.0f && focal_alpha <= 1.0f))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha: %g is outside [0, 1]",
                        (double)focal_alpha);
    aa_status st = check_nonneg(ctx, "focal_gamma", focal_gamma);
    if (st == AA_SUCCESS) st = check_positive(ctx, "giou_eps", giou_eps);
    for (int c = 0; st == AA_SUCCESS && c < 4; ++c) {
        if (!isfinite(target_means[c]))
            st = aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.target_means[%d]: %g is not finite",
                          c, (double)target_means[c]);
        else if (!(target_stds[c] > 0.0f) || !isfinite(target_stds[c]))
            st = aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                          "params.target_stds[%d]: %g is not a positive finite number", c,
                          (double)target_stds[c]);
    }
    if (st == AA_SUCCESS) st = check_positive(ctx, "wh_ratio_clip", wh_ratio_clip);
    return st;
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
    if (ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->overlaps(ctx, mode, eps, &b, out);
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
    if (ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->topk_nearest(ctx, topk, &b, candidates);
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
    if (ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->candidate_stats(ctx, topk, eps, &b, candidates, mean, std);
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
    if (st == AA_SUCCESS && ctx->gpu) st = aa__gpu_workspace_check(ctx, ctx->gpu->max_iou_ws_bytes(&b), workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->max_iou(ctx, &p, &b, out, workspace, workspace_bytes);
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
    if (st == AA_SUCCESS && ctx->gpu) st = aa__gpu_workspace_check(ctx, ctx->gpu->atss_ws_bytes(&p, &b), workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->atss(ctx, &p, &b, out, workspace, workspace_bytes);
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
    return sized(ctx, bytes, ctx->gpu ? 0 : aa__ref_fcos_ws_bytes(&b)); /* the kernel needs none */
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
    if (st == AA_SUCCESS && ctx->gpu) st = aa__gpu_workspace_check(ctx, 0, workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->fcos(ctx, &p, &b, out);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_fcos_ws_bytes(&b), workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa__ref_fcos(&p, &b, out, ws);
    return AA_SUCCESS;
}

/* ---------------------------------------------------------------- Gaussian mixtures */

void aa_gmm_params_init(aa_gmm_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->num_components = 2;
    p->max_iter = 100;
    p->tol = 1e-3;
    p->reg_covar = 1e-6;
    p->covariance = AA_GMM_DIAG;
    p->init = AA_GMM_INIT_PAA;
}

static aa_status check_gmm_params(aa_context *ctx, const aa_gmm_params *p)
{
    if (p->num_components < 1 || p->num_components > AA_GMM_MAX_COMPONENTS)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.num_components: %d is outside 1..%d",
                        (int)p->num_components, AA_GMM_MAX_COMPONENTS);
    if (p->max_iter < 0 || p->max_iter > AA_GMM_MAX_ITER)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.max_iter: %d is outside 0..%d",
                        (int)p->max_iter, AA_GMM_MAX_ITER);
    if (!(p->tol >= 0.0) || !isfinite(p->tol))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.tol: %g is not a finite number >= 0",
                        p->tol);
    if (!(p->reg_covar >= 0.0) || !isfinite(p->reg_covar))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.reg_covar: %g is not a finite number >= 0", p->reg_covar);
    if (p->covariance != AA_GMM_DIAG && p->covariance != AA_GMM_FULL)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.covariance: %d is not an aa_gmm_covariance",
                        (int)p->covariance);
    if (p->init != AA_GMM_INIT_PAA && p->init != AA_GMM_INIT_GIVEN)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.init: %d is not an aa_gmm_init",
                        (int)p->init);
    if (p->float32_input != 0 && p->float32_input != 1)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.float32_input: %d is not 0 or 1",
                        (int)p->float32_input);
    return AA_SUCCESS;
}

/* The given initial parameters, where the host can read them (scikit-learn's checks). */
static aa_status check_gmm_init(aa_context *ctx, const aa_gmm_params *p, int64_t num_segments)
{
    if (p->init != AA_GMM_INIT_GIVEN || num_segments == 0) return AA_SUCCESS;
    if (!p->init_weights) return aa__fail(ctx, AA_ERR_NULL_POINTER, "params.init_weights: NULL");
    if (!p->init_means) return aa__fail(ctx, AA_ERR_NULL_POINTER, "params.init_means: NULL");
    if (!p->init_precisions) return aa__fail(ctx, AA_ERR_NULL_POINTER, "params.init_precisions: NULL");
    if (!aa__host_readable(ctx)) return AA_SUCCESS;
    int32_t K = p->num_components;
    for (int64_t s = 0; s < num_segments; ++s) {
        double total = 0.0;
        for (int32_t k = 0; k < K; ++k) {
            int64_t j = s * K + k;
            double w = p->init_weights[j], mu = p->init_means[j], pr = p->init_precisions[j];
            if (!(w >= 0.0 && w <= 1.0))
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "params.init_weights[%lld]: %g is outside [0, 1]", (long long)j, w);
            if (!isfinite(mu))
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "params.init_means[%lld]: %g is not finite", (long long)j, mu);
            if (!(pr > 0.0) || !isfinite(pr))
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "params.init_precisions[%lld]: %g is not a positive finite number",
                                (long long)j, pr);
            total += w;
        }
        if (!(fabs(1.0 - total) <= 1e-8))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.init_weights[%lld..%lld]: sum to %.17g, not 1",
                            (long long)(s * K), (long long)(s * K + K - 1), total);
    }
    return AA_SUCCESS;
}

static aa_status check_gmm_segments(aa_context *ctx, const aa_gmm_segments *sg, aa_gmm_batch *g)
{
    if (!sg) return aa__fail(ctx, AA_ERR_NULL_POINTER, "segments: NULL");
    if (sg->num_segments < 0)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "segments.num_segments: %lld is negative",
                        (long long)sg->num_segments);
    if (sg->num_segments > AA_MAX_SEGMENTS) /* a limit, as AA_MAX_IMAGES (found by fuzz_loss) */
        return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                        "segments.num_segments: %lld exceeds AA_MAX_SEGMENTS (%lld)",
                        (long long)sg->num_segments, (long long)AA_MAX_SEGMENTS);
    if (!sg->offsets) return aa__fail(ctx, AA_ERR_NULL_POINTER, "segments.offsets: NULL");
    if (sg->offsets[0] != 0)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "segments.offsets[0]: %lld, must be 0",
                        (long long)sg->offsets[0]);
    int64_t max_points = 0;
    for (int64_t s = 0; s < sg->num_segments; ++s) {
        int64_t n = sg->offsets[s + 1] - sg->offsets[s];
        if (sg->offsets[s + 1] < sg->offsets[s])
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "segments.offsets[%lld]: %lld is less than offsets[%lld] = %lld",
                            (long long)(s + 1), (long long)sg->offsets[s + 1], (long long)s,
                            (long long)sg->offsets[s]);
        if (sg->offsets[s + 1] > AA_MAX_POINTS)
            return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                            "segments.offsets[%lld]: %lld points exceed AA_MAX_POINTS (%lld)",
                            (long long)(s + 1), (long long)sg->offsets[s + 1],
                            (long long)AA_MAX_POINTS);
        if (n > max_points) max_points = n;
    }
    int64_t total = sg->offsets[sg->num_segments];
    if (total > 0 && !sg->points) return aa__fail(ctx, AA_ERR_NULL_POINTER, "segments.points: NULL");
    if (total > 0 && ctx->gpu && ctx->memory == AA_MEMORY_NATIVE && !sg->device_offsets)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "segments.device_offsets: NULL (GPU backends read the offsets from "
                        "device memory with AA_MEMORY_NATIVE)");
    for (int64_t i = 0; aa__host_readable(ctx) && i < total; ++i)
        if (!isfinite(sg->points[i]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "segments.points[%lld]: %g is not finite",
                            (long long)i, (double)sg->points[i]);
    g->segments = sg;
    g->num_segments = sg->num_segments;
    g->total_points = total;
    g->max_points = max_points;
    return AA_SUCCESS;
}

static aa_status begin_gmm(aa_context *ctx, const aa_gmm_params *p, const aa_gmm_segments *sg,
                           aa_gmm_batch *g)
{
    aa_status st = check_gmm_params(ctx, p);
    if (st == AA_SUCCESS) st = check_gmm_segments(ctx, sg, g);
    if (st == AA_SUCCESS) st = check_gmm_init(ctx, p, g->num_segments);
    return st;
}

aa_status aa_gmm_workspace_size(aa_context *ctx, const aa_gmm_params *params,
                                const aa_gmm_segments *segments, size_t *bytes)
{
    aa_gmm_params p;
    aa_gmm_batch g;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_gmm_params_init);
    aa_status st = begin_gmm(ctx, &p, segments, &g);
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return sized(ctx, bytes, ctx->gpu->gmm_ws_bytes(&p, &g));
    return sized(ctx, bytes, aa__ref_gmm_ws_bytes(&p, &g));
}

aa_status aa_gmm_fit(aa_context *ctx, const aa_gmm_params *params, const aa_gmm_segments *segments,
                     const aa_gmm_result *result, void *workspace, size_t workspace_bytes)
{
    aa_gmm_params p;
    aa_gmm_batch g;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_gmm_params_init);
    if (!result) return aa__fail(ctx, AA_ERR_NULL_POINTER, "result: NULL");
    aa_status st = begin_gmm(ctx, &p, segments, &g);
    if (st == AA_SUCCESS && ctx->gpu) st = aa__gpu_workspace_check(ctx, ctx->gpu->gmm_ws_bytes(&p, &g), workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu)
        return aa__stages_begin(ctx), ctx->gpu->gmm(ctx, &p, &g, result, workspace, workspace_bytes);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_gmm_ws_bytes(&p, &g), workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa__ref_gmm_fit(&p, &g, result, ws);
    return AA_SUCCESS;
}

/* ---------------------------------------------------------------- PAA */

void aa_paa_params_init(aa_paa_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    aa_max_iou_params_init(&p->pre);
    p->pre.pos_iou_thr = 0.1f;
    p->pre.neg_iou_thr_hi = 0.1f;
    aa_gmm_params_init(&p->gmm);
    p->gmm.float32_input = 1; /* mmdetection hands scikit-learn a float32 array */
    p->topk = 9;
    p->single_candidate_positive = 0;
    p->focal_alpha = 0.25f;
    p->focal_gamma = 2.0f;
    p->giou_weight = 1.3f;
    p->giou_eps = 1e-6f;
    p->target_stds[0] = p->target_stds[1] = 0.1f;
    p->target_stds[2] = p->target_stds[3] = 0.2f;
    p->wh_ratio_clip = 16.0f / 1000.0f;
}

void aa_paa_params_init_original(aa_paa_params *p)
{
    if (!p) return;
    aa_paa_params_init(p);
    p->gmm.covariance = AA_GMM_FULL;
    p->single_candidate_positive = 1;
    p->separation = AA_PAA_SEPARATE_ORIGINAL;
    p->giou_weight = 1.0f;
}

static aa_status check_paa_params(aa_context *ctx, const aa_paa_params *p)
{
    aa_status st = check_max_iou_params(ctx, &p->pre);
    if (st == AA_SUCCESS) st = check_gmm_params(ctx, &p->gmm);
    if (st != AA_SUCCESS) return st;
    if (p->gmm.init != AA_GMM_INIT_PAA)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.gmm.init: PAA fits its mixtures from AA_GMM_INIT_PAA only");
    if (p->gmm.num_components != 2)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.gmm.num_components: %d; PAA fits two components",
                        (int)p->gmm.num_components);
    if (p->separation != AA_PAA_SEPARATE_MMDET && p->separation != AA_PAA_SEPARATE_ORIGINAL)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.separation: %d is not an AA_PAA_SEPARATE_* value",
                        (int)p->separation);
    if (p->topk < 1 || p->topk > AA_MAX_TOPK)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.topk: %d is outside 1..%d",
                        (int)p->topk, AA_MAX_TOPK);
    st = check_finite(ctx, "giou_weight", p->giou_weight);
    if (st != AA_SUCCESS) return st;
    return check_head_loss(ctx, p->focal_alpha, p->focal_gamma, p->giou_eps, p->target_means,
                           p->target_stds, p->wh_ratio_clip);
}

/* A pre-assignment: AA_IGNORED, AA_NEGATIVE or a GT index of the anchor's image. */
static aa_status check_pre(aa_context *ctx, const aa_batch *b, const int32_t *pre)
{
    int64_t n = (int64_t)b->num_images * b->num_anchors;
    if (!pre && n > 0) return aa__fail(ctx, AA_ERR_NULL_POINTER, "pre_gt_index: NULL");
    for (int32_t i = 0; aa__host_readable(ctx) && i < b->num_images; ++i) {
        int64_t num_gts = b->gts->offsets[i + 1] - b->gts->offsets[i];
        for (int64_t a = 0; a < b->num_anchors; ++a) {
            int32_t g = pre[(int64_t)i * b->num_anchors + a];
            if (g < AA_IGNORED || g >= num_gts)
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "pre_gt_index[%lld] (image %d, anchor %lld): %d is not -2, -1 or "
                                "a GT of the image (%lld GTs)",
                                (long long)((int64_t)i * b->num_anchors + a), (int)i, (long long)a,
                                (int)g, (long long)num_gts);
            if (g >= 0 && b->gts->ignore_flags && b->gts->ignore_flags[b->gts->offsets[i] + g])
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "pre_gt_index[%lld] (image %d, anchor %lld): GT %d is a crowd GT "
                                "(ignore_flags), which is never assigned",
                                (long long)((int64_t)i * b->num_anchors + a), (int)i, (long long)a,
                                (int)g);
        }
    }
    return AA_SUCCESS;
}

static aa_status check_costs(aa_context *ctx, const aa_batch *b, const int32_t *pre,
                             const float *costs)
{
    int64_t n = (int64_t)b->num_images * b->num_anchors;
    if (!costs && n > 0) return aa__fail(ctx, AA_ERR_NULL_POINTER, "costs: NULL");
    for (int64_t j = 0; aa__host_readable(ctx) && j < n; ++j)
        if (pre[j] >= 0 && !isfinite(costs[j]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "costs[%lld] (image %lld, anchor %lld): %g is not finite",
                            (long long)j, (long long)(j / b->num_anchors),
                            (long long)(j % b->num_anchors), (double)costs[j]);
    return AA_SUCCESS;
}

/* The head outputs a cost will read: types, labels below num_classes and, where the
 * host can read them, finite values for every pre-assigned anchor (pre may be NULL
 * before the pre-assignment exists: then every anchor's). */
static float head_at(const aa_head_outputs *h, const void *array, int64_t i)
{
    const uint16_t *half = array;
    uint32_t bits;
    float v;
    switch (h->dtype) {
    case AA_FLOAT16: {
        int e = (half[i] >> 10) & 31; /* only finiteness matters here */
        return e == 31 ? NAN : 0.0f;
    }
    case AA_BFLOAT16:
        bits = (uint32_t)half[i] << 16;
        memcpy(&v, &bits, sizeof v);
        return v;
    default: return ((const float *)array)[i];
    }
}

static aa_status check_head(aa_context *ctx, const aa_batch *b, const aa_head_outputs *h,
                            const int32_t *pre)
{
    int64_t rows = (int64_t)b->num_images * b->num_anchors;
    if (!h) return aa__fail(ctx, AA_ERR_NULL_POINTER, "head: NULL");
    if (h->dtype != AA_FLOAT32 && h->dtype != AA_FLOAT16 && h->dtype != AA_BFLOAT16)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "head.dtype: %d is not an aa_dtype", (int)h->dtype);
    if (h->num_classes < 1)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "head.num_classes: %d is not positive",
                        (int)h->num_classes);
    if ((uint64_t)rows > SIZE_MAX / 4 / (uint64_t)h->num_classes)
        return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                        "num_images x num_anchors x head.num_classes: too many logits");
    if (rows > 0 && !h->cls_logits) return aa__fail(ctx, AA_ERR_NULL_POINTER, "head.cls_logits: NULL");
    if (rows > 0 && !h->bbox_deltas) return aa__fail(ctx, AA_ERR_NULL_POINTER, "head.bbox_deltas: NULL");
    if (b->total_gts > 0 && !b->gts->labels)
        return aa__fail(ctx, AA_ERR_NULL_POINTER, "gts.labels: NULL; the classification loss needs each GT's class");
    if (!aa__host_readable(ctx)) return AA_SUCCESS;
    for (int64_t g = 0; g < b->total_gts; ++g)
        if (b->gts->labels[g] >= h->num_classes)
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "gts.labels[%lld]: %d is not below head.num_classes (%d)", (long long)g,
                            (int)b->gts->labels[g], (int)h->num_classes);
    for (int64_t r = 0; r < rows; ++r) {
        if (pre && pre[r] < 0) continue;
        for (int32_t c = 0; c < h->num_classes; ++c)
            if (!isfinite(head_at(h, h->cls_logits, r * h->num_classes + c)))
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "head.cls_logits[%lld][%d] (image %lld, anchor %lld): not finite",
                                (long long)r, (int)c, (long long)(r / b->num_anchors),
                                (long long)(r % b->num_anchors));
        for (int c = 0; c < 4; ++c)
            if (!isfinite(head_at(h, h->bbox_deltas, r * 4 + c)))
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "head.bbox_deltas[%lld][%d] (image %lld, anchor %lld): not finite",
                                (long long)r, c, (long long)(r / b->num_anchors),
                                (long long)(r % b->num_anchors));
    }
    return AA_SUCCESS;
}

aa_status aa_paa_costs(aa_context *ctx, const aa_paa_params *params, const aa_anchors *anchors,
                       const aa_gts *gts, const aa_head_outputs *head, const int32_t *pre_gt_index,
                       float *costs)
{
    aa_paa_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_paa_params_init);
    aa_status st = check_paa_params(ctx, &p);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st == AA_SUCCESS) st = check_out_size(ctx, &b);
    if (st == AA_SUCCESS) st = check_pre(ctx, &b, pre_gt_index);
    if (st == AA_SUCCESS) st = check_head(ctx, &b, head, pre_gt_index);
    if (st == AA_SUCCESS && !costs && (int64_t)b.num_images * b.num_anchors > 0)
        st = aa__fail(ctx, AA_ERR_NULL_POINTER, "costs: NULL");
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return aa__stages_begin(ctx), ctx->gpu->paa_costs(ctx, &p, &b, head, pre_gt_index, costs);
    aa__ref_paa_costs(&p, &b, head, pre_gt_index, costs);
    return AA_SUCCESS;
}

aa_status aa_paa_select_workspace_size(aa_context *ctx, const aa_paa_params *params,
                                       const aa_anchors *anchors, const aa_gts *gts, size_t *bytes)
{
    aa_paa_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_paa_params_init);
    aa_status st = check_paa_params(ctx, &p);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return sized(ctx, bytes, ctx->gpu->paa_select_ws_bytes(&p, &b));
    return sized(ctx, bytes, aa__ref_paa_select_ws_bytes(&p, &b));
}

aa_status aa_assign_paa_costs(aa_context *ctx, const aa_paa_params *params,
                              const aa_anchors *anchors, const aa_gts *gts,
                              const int32_t *pre_gt_index, const float *costs,
                              const aa_assignment *out, void *workspace, size_t workspace_bytes)
{
    aa_paa_params p;
    aa_batch b;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_paa_params_init);
    aa_status st = check_paa_params(ctx, &p);
    if (st == AA_SUCCESS) st = begin_assign(ctx, anchors, gts, out, 0, &b);
    if (st == AA_SUCCESS) st = check_pre(ctx, &b, pre_gt_index);
    if (st == AA_SUCCESS) st = check_costs(ctx, &b, pre_gt_index, costs);
    if (st == AA_SUCCESS && ctx->gpu)
        st = aa__gpu_workspace_check(ctx, ctx->gpu->paa_select_ws_bytes(&p, &b), workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu)
        return aa__stages_begin(ctx), ctx->gpu->paa_select(ctx, &p, &b, pre_gt_index, costs, out, workspace, workspace_bytes);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_paa_select_ws_bytes(&p, &b), workspace,
                                   workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa__ref_paa_select(&p, &b, pre_gt_index, costs, out, ws);
    return AA_SUCCESS;
}

/* CPU workspace of the whole of PAA, as byte offsets: the pre-assignment, the costs,
 * then the larger of the max-IoU and the selection workspaces (used one after the
 * other); each part aligned to AA_WORKSPACE_ALIGNMENT. */
typedef struct paa_ws_layout {
    size_t costs, rest, total;
} paa_ws_layout;

static size_t align_ws(size_t n)
{
    return (n + AA_WORKSPACE_ALIGNMENT - 1) / AA_WORKSPACE_ALIGNMENT * AA_WORKSPACE_ALIGNMENT;
}

static paa_ws_layout paa_ws(const aa_paa_params *p, const aa_batch *b)
{
    size_t rows = (size_t)b->num_images * (size_t)b->num_anchors;
    size_t max_iou = aa__ref_max_iou_ws_bytes(b), select = aa__ref_paa_select_ws_bytes(p, b);
    paa_ws_layout l;
    l.costs = align_ws(rows * sizeof(int32_t));
    l.rest = l.costs + align_ws(rows * sizeof(float));
    l.total = l.rest + (max_iou > select ? max_iou : select);
    return l;
}

aa_status aa_paa_workspace_size(aa_context *ctx, const aa_paa_params *params,
                                const aa_anchors *anchors, const aa_gts *gts, size_t *bytes)
{
    aa_paa_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_paa_params_init);
    aa_status st = check_paa_params(ctx, &p);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 0, &b);
    if (st == AA_SUCCESS) st = check_out_size(ctx, &b);
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return sized(ctx, bytes, ctx->gpu->paa_ws_bytes(&p, &b));
    return sized(ctx, bytes, paa_ws(&p, &b).total);
}

aa_status aa_assign_paa(aa_context *ctx, const aa_paa_params *params, const aa_anchors *anchors,
                        const aa_gts *gts, const aa_head_outputs *head, const aa_assignment *out,
                        void *workspace, size_t workspace_bytes)
{
    aa_paa_params p;
    aa_batch b;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_paa_params_init);
    aa_status st = check_paa_params(ctx, &p);
    if (st == AA_SUCCESS) st = begin_assign(ctx, anchors, gts, out, 0, &b);
    if (st == AA_SUCCESS) st = check_head(ctx, &b, head, NULL);
    /* GPU: a cost that overflows float32 is not refused (the host never sees the
     * costs); its GT gets no positive (docs/semantics.md) */
    if (st == AA_SUCCESS && ctx->gpu) st = aa__gpu_workspace_check(ctx, ctx->gpu->paa_ws_bytes(&p, &b), workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu)
        return aa__stages_begin(ctx), ctx->gpu->paa(ctx, &p, &b, head, out, workspace, workspace_bytes);
    if (st != AA_SUCCESS) return st;
    paa_ws_layout layout = paa_ws(&p, &b);
    st = aa__workspace_acquire(ctx, layout.total, workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    int32_t *pre = ws;
    float *costs = (float *)((char *)ws + layout.costs);
    void *rest = (char *)ws + layout.rest;
    aa_assignment pre_out = {pre, NULL, NULL};
    aa__ref_max_iou(&p.pre, &b, &pre_out, rest);
    aa__ref_paa_costs(&p, &b, head, pre, costs);
    /* finite head outputs can still overflow a float32 cost: refuse them as
     * aa_assign_paa_costs does (nothing is written yet) */
    st = check_costs(ctx, &b, pre, costs);
    if (st != AA_SUCCESS) return st;
    aa__ref_paa_select(&p, &b, pre, costs, out, rest);
    return AA_SUCCESS;
}

/* ---------------------------------------------------------------- LADA */

void aa_lada_params_init(aa_lada_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->region_radius = 1.5f;
    p->clip_region_to_gt = 1;
    p->topk_per_level = 9;
    p->topk = 20;
    p->threshold = AA_LADA_MEAN;
    p->cls_weight = 1.0f;
    p->giou_weight = 1.5f;
    p->center_weight = 1.0f;
    p->focal_alpha = 0.25f;
    p->focal_gamma = 2.0f;
    p->giou_eps = 1e-6f;
    p->target_stds[0] = p->target_stds[1] = 0.1f;
    p->target_stds[2] = p->target_stds[3] = 0.2f;
    p->wh_ratio_clip = 16.0f / 1000.0f;
}

static aa_status check_lada_params(aa_context *ctx, const aa_lada_params *p)
{
    aa_status st = check_positive(ctx, "region_radius", p->region_radius);
    if (st != AA_SUCCESS) return st;
    if (p->clip_region_to_gt != 0 && p->clip_region_to_gt != 1)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.clip_region_to_gt: %d is not 0 or 1",
                        (int)p->clip_region_to_gt);
    if (p->topk_per_level < 1 || p->topk_per_level > AA_MAX_TOPK)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.topk_per_level: %d is outside 1..%d",
                        (int)p->topk_per_level, AA_MAX_TOPK);
    if (p->topk < 1 || p->topk > AA_MAX_TOPK * AA_MAX_LEVELS)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.topk: %d is outside 1..%d",
                        (int)p->topk, AA_MAX_TOPK * AA_MAX_LEVELS);
    if (p->threshold != AA_LADA_MEAN && p->threshold != AA_LADA_MEAN_STD)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.threshold: %d is not an aa_lada_threshold", (int)p->threshold);
    st = check_nonneg(ctx, "cls_weight", p->cls_weight);
    if (st == AA_SUCCESS) st = check_nonneg(ctx, "giou_weight", p->giou_weight);
    if (st == AA_SUCCESS) st = check_nonneg(ctx, "center_weight", p->center_weight);
    if (st != AA_SUCCESS) return st;
    return check_head_loss(ctx, p->focal_alpha, p->focal_gamma, p->giou_eps, p->target_means,
                           p->target_stds, p->wh_ratio_clip);
}

aa_status aa_lada_workspace_size(aa_context *ctx, const aa_lada_params *params,
                                 const aa_anchors *anchors, const aa_gts *gts, size_t *bytes)
{
    aa_lada_params p;
    aa_batch b;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_lada_params_init);
    aa_status st = check_lada_params(ctx, &p);
    if (st == AA_SUCCESS) st = aa__check_batch(ctx, anchors, gts, 1, &b);
    if (st == AA_SUCCESS) st = check_out_size(ctx, &b);
    if (st != AA_SUCCESS) return st;
    if (ctx->gpu) return sized(ctx, bytes, ctx->gpu->lada_ws_bytes(&p, &b));
    return sized(ctx, bytes, aa__ref_lada_ws_bytes(&p, &b));
}

aa_status aa_assign_lada(aa_context *ctx, const aa_lada_params *params, const aa_anchors *anchors,
                         const aa_gts *gts, const aa_head_outputs *head, const aa_assignment *out,
                         void *workspace, size_t workspace_bytes)
{
    aa_lada_params p;
    aa_batch b;
    void *ws;
    if (!ctx) return AA_ERR_NULL_POINTER;
    LOAD_PARAMS(ctx, params, &p, aa_lada_params_init);
    aa_status st = check_lada_params(ctx, &p);
    if (st == AA_SUCCESS) st = begin_assign(ctx, anchors, gts, out, 1, &b);
    if (st == AA_SUCCESS) st = check_head(ctx, &b, head, NULL);
    /* GPU backends: a loss beyond float32 costs its GT its positives (kernels/lada.h) */
    if (st == AA_SUCCESS && ctx->gpu) st = aa__gpu_workspace_check(ctx, ctx->gpu->lada_ws_bytes(&p, &b), workspace, workspace_bytes);
    if (st == AA_SUCCESS && ctx->gpu)
        return aa__stages_begin(ctx), ctx->gpu->lada(ctx, &p, &b, head, out, workspace, workspace_bytes);
    if (st == AA_SUCCESS)
        st = aa__workspace_acquire(ctx, aa__ref_lada_ws_bytes(&p, &b), workspace, workspace_bytes, &ws);
    if (st != AA_SUCCESS) return st;
    aa_lada_overflow bad;
    if (aa__ref_lada(&p, &b, head, out, ws, &bad))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "head: the loss of anchor %lld for GT %d of image %d is %g, beyond float32 "
                        "(huge cls_logits or weights)",
                        (long long)bad.anchor, (int)bad.gt, (int)bad.image, bad.loss);
    return AA_SUCCESS;
}
