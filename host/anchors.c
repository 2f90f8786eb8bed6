/* anchors.c - anchor and point generation compatible with mmdetection's
 * AnchorGenerator (scale_major=True) and MlvlPointGenerator, in float32 with the
 * same operation order so the boxes are bit-identical. */
#include "internal.h"

#include <math.h>
#include <string.h>

void aa_anchor_params_init(aa_anchor_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->num_levels = 5;
    for (int l = 0; l < 5; ++l) p->strides[l] = (float)(8 << l);
    p->num_ratios = 3;
    p->ratios[0] = 0.5f, p->ratios[1] = 1.0f, p->ratios[2] = 2.0f;
    p->num_scales = 0;
    p->octave_base_scale = 4.0f;
    p->scales_per_octave = 3;
    p->center_offset = 0.0f;
}

static int positive_finite(float v) { return v > 0.0f && isfinite(v); }

/* Copies *given over the defaults (older, shorter structs keep the new fields'
 * defaults) and checks every field. */
static aa_status load_anchor_params(aa_context *ctx, const aa_anchor_params *given,
                                    aa_anchor_params *p)
{
    aa_anchor_params_init(p);
    if (given) {
        aa_status st = aa__check_struct_size(ctx, "params", given->struct_size, sizeof *p);
        if (st != AA_SUCCESS) return st;
        memcpy(p, given, given->struct_size);
    }
    if (p->num_levels < 1 || p->num_levels > AA_MAX_LEVELS)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.num_levels: %d is outside 1..%d",
                        (int)p->num_levels, AA_MAX_LEVELS);
    for (int l = 0; l < p->num_levels; ++l) {
        if (!positive_finite(p->strides[l]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.strides[%d]: %g is not a positive finite number", l,
                            (double)p->strides[l]);
        if (!(p->base_sizes[l] >= 0.0f) || !isfinite(p->base_sizes[l]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.base_sizes[%d]: %g is not 0 or a positive finite number", l,
                            (double)p->base_sizes[l]);
    }
    if (p->num_ratios < 1 || p->num_ratios > 8)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.num_ratios: %d is outside 1..8",
                        (int)p->num_ratios);
    for (int r = 0; r < p->num_ratios; ++r)
        if (!positive_finite(p->ratios[r]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.ratios[%d]: %g is not a positive finite number", r,
                            (double)p->ratios[r]);
    if (p->num_scales < 0 || p->num_scales > 8)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "params.num_scales: %d is outside 0..8",
                        (int)p->num_scales);
    for (int s = 0; s < p->num_scales; ++s)
        if (!positive_finite(p->scales[s]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.scales[%d]: %g is not a positive finite number", s,
                            (double)p->scales[s]);
    if (p->num_scales == 0) {
        if (!positive_finite(p->octave_base_scale))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.octave_base_scale: %g is not a positive finite number",
                            (double)p->octave_base_scale);
        if (p->scales_per_octave < 1 || p->scales_per_octave > 8)
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "params.scales_per_octave: %d is outside 1..8 (with num_scales 0)",
                            (int)p->scales_per_octave);
    }
    if (!(p->center_offset >= 0.0f && p->center_offset <= 1.0f))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "params.center_offset: %g is outside [0, 1]", (double)p->center_offset);
    return AA_SUCCESS;
}

static int32_t scale_count(const aa_anchor_params *p)
{
    return p->num_scales > 0 ? p->num_scales : p->scales_per_octave;
}

/* Scales in float32 as torch.Tensor(np.array(...)) makes them: computed in double. */
static float scale_at(const aa_anchor_params *p, int32_t s)
{
    if (p->num_scales > 0) return p->scales[s];
    return (float)(pow(2.0, (double)s / p->scales_per_octave) * (double)p->octave_base_scale);
}

static aa_status check_canvas(aa_context *ctx, int32_t height, int32_t width)
{
    if (height < 1 || width < 1)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "height x width: %d x %d is not positive",
                        (int)height, (int)width);
    return AA_SUCCESS;
}

/* Only called once grid_counts has accepted the sizes (they fit in AA_MAX_ANCHORS). */
static int64_t feat_size(int32_t pixels, float stride)
{
    return (int64_t)ceil((double)pixels / (double)stride);
}

/* Per-level location counts; fails if the total exceeds AA_MAX_ANCHORS. Computed in
 * double first: a tiny stride makes ceil(pixels / stride) too large for an int64
 * (converting it would be undefined) and a product of two sides can overflow. */
static aa_status grid_counts(aa_context *ctx, int32_t num_levels, const float *strides,
                             int32_t per_location, int32_t height, int32_t width,
                             int64_t *level_counts, int64_t *total)
{
    *total = 0;
    for (int32_t l = 0; l < num_levels; ++l) {
        double fh = ceil((double)height / (double)strides[l]);
        double fw = ceil((double)width / (double)strides[l]);
        if (fh * fw * per_location > (double)(AA_MAX_ANCHORS - *total))
            return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                            "height x width: %d x %d gives more than AA_MAX_ANCHORS anchors",
                            (int)height, (int)width);
        int64_t n = feat_size(height, strides[l]) * feat_size(width, strides[l]) * per_location;
        level_counts[l] = n;
        *total += n;
    }
    return AA_SUCCESS;
}

static aa_status host_boxes(aa_context *ctx)
{
    if (!ctx) return AA_ERR_NULL_POINTER;
    if (!aa__host_readable(ctx))
        return aa__fail(ctx, AA_ERR_NOT_SUPPORTED,
                        "boxes: generating into %s device memory is not supported yet; use "
                        "AA_MEMORY_HOST or a CPU context", aa_backend_name(ctx->backend));
    return AA_SUCCESS;
}

aa_status aa_anchor_count(aa_context *ctx, const aa_anchor_params *params, int32_t height,
                          int32_t width, int64_t *level_counts, int64_t *num_anchors)
{
    aa_anchor_params p;
    if (!ctx) return AA_ERR_NULL_POINTER;
    aa_status st = load_anchor_params(ctx, params, &p);
    if (st == AA_SUCCESS) st = check_canvas(ctx, height, width);
    if (st != AA_SUCCESS) return st;
    if (!level_counts) return aa__fail(ctx, AA_ERR_NULL_POINTER, "level_counts: NULL");
    if (!num_anchors) return aa__fail(ctx, AA_ERR_NULL_POINTER, "num_anchors: NULL");
    int64_t counts[AA_MAX_LEVELS], total;
    st = grid_counts(ctx, p.num_levels, p.strides, p.num_ratios * scale_count(&p), height, width,
                     counts, &total);
    if (st != AA_SUCCESS) return st;
    memcpy(level_counts, counts, (size_t)p.num_levels * sizeof *counts);
    *num_anchors = total;
    return AA_SUCCESS;
}

aa_status aa_anchor_generate(aa_context *ctx, const aa_anchor_params *params, int32_t height,
                             int32_t width, float *boxes, int64_t capacity)
{
    aa_anchor_params p;
    aa_status st = host_boxes(ctx);
    if (st == AA_SUCCESS) st = load_anchor_params(ctx, params, &p);
    if (st == AA_SUCCESS) st = check_canvas(ctx, height, width);
    if (st != AA_SUCCESS) return st;
    int32_t per = p.num_ratios * scale_count(&p);
    int64_t counts[AA_MAX_LEVELS], total;
    st = grid_counts(ctx, p.num_levels, p.strides, per, height, width, counts, &total);
    if (st != AA_SUCCESS) return st;
    if (!boxes) return aa__fail(ctx, AA_ERR_NULL_POINTER, "boxes: NULL");
    if (capacity < total)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "capacity: %lld anchors, but %lld are generated", (long long)capacity,
                        (long long)total);

    float *out = boxes;
    for (int32_t l = 0; l < p.num_levels; ++l) {
        float base[8 * 8][4];
        float size = p.base_sizes[l] > 0.0f ? p.base_sizes[l] : p.strides[l];
        float center = p.center_offset * size;
        for (int32_t r = 0; r < p.num_ratios; ++r) {
            float h_ratio = sqrtf(p.ratios[r]);
            float w_ratio = 1.0f / h_ratio;
            for (int32_t s = 0; s < scale_count(&p); ++s) {
                float ws = size * w_ratio * scale_at(&p, s);
                float hs = size * h_ratio * scale_at(&p, s);
                float *b = base[r * scale_count(&p) + s];
                b[0] = center - 0.5f * ws, b[1] = center - 0.5f * hs;
                b[2] = center + 0.5f * ws, b[3] = center + 0.5f * hs;
            }
        }
        int64_t fh = feat_size(height, p.strides[l]), fw = feat_size(width, p.strides[l]);
        for (int64_t y = 0; y < fh; ++y) {
            float sy = (float)y * p.strides[l];
            for (int64_t x = 0; x < fw; ++x) {
                float sx = (float)x * p.strides[l];
                for (int32_t k = 0; k < per; ++k, out += 4) {
                    out[0] = base[k][0] + sx, out[1] = base[k][1] + sy;
                    out[2] = base[k][2] + sx, out[3] = base[k][3] + sy;
                }
            }
        }
    }
    return AA_SUCCESS;
}

aa_status aa_point_generate(aa_context *ctx, int32_t num_levels, const float *strides,
                            float offset, int32_t height, int32_t width, float *boxes,
                            int64_t capacity, int64_t *level_counts, int64_t *num_points)
{
    aa_status st = host_boxes(ctx);
    if (st != AA_SUCCESS) return st;
    if (num_levels < 1 || num_levels > AA_MAX_LEVELS)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "num_levels: %d is outside 1..%d",
                        (int)num_levels, AA_MAX_LEVELS);
    if (!strides) return aa__fail(ctx, AA_ERR_NULL_POINTER, "strides: NULL");
    for (int32_t l = 0; l < num_levels; ++l)
        if (!positive_finite(strides[l]))
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "strides[%d]: %g is not a positive finite number", (int)l,
                            (double)strides[l]);
    if (!(offset >= 0.0f && offset <= 1.0f))
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "offset: %g is outside [0, 1]",
                        (double)offset);
    st = check_canvas(ctx, height, width);
    if (st != AA_SUCCESS) return st;
    if (!level_counts) return aa__fail(ctx, AA_ERR_NULL_POINTER, "level_counts: NULL");
    if (!num_points) return aa__fail(ctx, AA_ERR_NULL_POINTER, "num_points: NULL");
    int64_t counts[AA_MAX_LEVELS], total;
    st = grid_counts(ctx, num_levels, strides, 1, height, width, counts, &total);
    if (st != AA_SUCCESS) return st;
    if (!boxes) { /* size query */
        memcpy(level_counts, counts, (size_t)num_levels * sizeof *counts);
        *num_points = total;
        return AA_SUCCESS;
    }
    if (capacity < total)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "capacity: %lld points, but %lld are generated", (long long)capacity,
                        (long long)total);
    float *out = boxes;
    for (int32_t l = 0; l < num_levels; ++l) {
        int64_t fh = feat_size(height, strides[l]), fw = feat_size(width, strides[l]);
        for (int64_t y = 0; y < fh; ++y) {
            float py = ((float)y + offset) * strides[l];
            for (int64_t x = 0; x < fw; ++x, out += 4) {
                float px = ((float)x + offset) * strides[l];
                out[0] = px, out[1] = py, out[2] = px, out[3] = py;
            }
        }
    }
    memcpy(level_counts, counts, (size_t)num_levels * sizeof *counts);
    *num_points = total;
    return AA_SUCCESS;
}
