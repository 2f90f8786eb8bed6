/* validate.c - argument checking shared by every backend. Everything a call
 * reads is checked here before anything is written, so a failing call leaves
 * every output untouched. Messages name the argument and the offending value. */
#include "internal.h"

#include <math.h>
#include <stdio.h>

aa_status aa__check_struct_size(aa_context *ctx, const char *name, size_t given, size_t expected)
{
    if (given == 0 || given > expected)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "%s.struct_size: %zu is not a valid size (expected 1..%zu); "
                        "initialise the struct with its _init function",
                        name, given, expected);
    return AA_SUCCESS;
}

/* One box: finite, within AA_MAX_COORD, and not inverted (zero area is fine). */
static aa_status check_box(aa_context *ctx, const char *what, int64_t index, const float *b,
                           int32_t image, int64_t local)
{
    char where[64] = "";
    if (image >= 0)
        snprintf(where, sizeof where, " (image %d, GT %lld)", (int)image, (long long)local);
    for (int c = 0; c < 4; ++c) {
        if (!isfinite(b[c]))
            return aa__fail(ctx, AA_ERR_INVALID_BOX, "%s[%lld]%s: coordinate %d is %s", what,
                            (long long)index, where, c, isnan(b[c]) ? "NaN" : "infinite");
        if (fabsf(b[c]) > AA_MAX_COORD)
            return aa__fail(ctx, AA_ERR_INVALID_BOX,
                            "%s[%lld]%s: coordinate %d = %g exceeds AA_MAX_COORD (%g)", what,
                            (long long)index, where, c, (double)b[c], (double)AA_MAX_COORD);
    }
    if (b[2] < b[0])
        return aa__fail(ctx, AA_ERR_INVALID_BOX, "%s[%lld]%s: x2 (%g) < x1 (%g)", what,
                        (long long)index, where, (double)b[2], (double)b[0]);
    if (b[3] < b[1])
        return aa__fail(ctx, AA_ERR_INVALID_BOX, "%s[%lld]%s: y2 (%g) < y1 (%g)", what,
                        (long long)index, where, (double)b[3], (double)b[1]);
    return AA_SUCCESS;
}

int aa__host_readable(const aa_context *ctx)
{
    return ctx->backend == AA_BACKEND_CPU || ctx->memory == AA_MEMORY_HOST;
}

aa_status aa__check_anchors(aa_context *ctx, const aa_anchors *anchors, int need_strides)
{
    if (!anchors) return aa__fail(ctx, AA_ERR_NULL_POINTER, "anchors: NULL");
    if (anchors->num_anchors < 0)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "anchors.num_anchors: %lld is negative",
                        (long long)anchors->num_anchors);
    if (anchors->num_anchors > AA_MAX_ANCHORS)
        return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                        "anchors.num_anchors: %lld exceeds AA_MAX_ANCHORS (%lld)",
                        (long long)anchors->num_anchors, (long long)AA_MAX_ANCHORS);
    if (anchors->num_anchors > 0 && !anchors->boxes)
        return aa__fail(ctx, AA_ERR_NULL_POINTER, "anchors.boxes: NULL with %lld anchors",
                        (long long)anchors->num_anchors);
    if (anchors->num_levels < 1 || anchors->num_levels > AA_MAX_LEVELS)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "anchors.num_levels: %d is outside 1..%d (AA_MAX_LEVELS)",
                        (int)anchors->num_levels, AA_MAX_LEVELS);
    if (!anchors->level_counts)
        return aa__fail(ctx, AA_ERR_NULL_POINTER, "anchors.level_counts: NULL");
    int64_t sum = 0;
    for (int32_t l = 0; l < anchors->num_levels; ++l) {
        int64_t n = anchors->level_counts[l];
        if (n < 0 || n > AA_MAX_ANCHORS)
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "anchors.level_counts[%d]: %lld is negative or too large", (int)l,
                            (long long)n);
        sum += n;
    }
    if (sum != anchors->num_anchors)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "anchors.level_counts: they sum to %lld, but num_anchors is %lld",
                        (long long)sum, (long long)anchors->num_anchors);
    if (need_strides && !anchors->level_strides)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "anchors.level_strides: NULL, but this call needs the level strides");
    if (anchors->level_strides) {
        for (int32_t l = 0; l < anchors->num_levels; ++l) {
            float s = anchors->level_strides[l];
            if (!(s > 0.0f) || !isfinite(s))
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "anchors.level_strides[%d]: %g is not a positive finite number",
                                (int)l, (double)s);
        }
    }
    for (int64_t a = 0; aa__host_readable(ctx) && a < anchors->num_anchors; ++a) {
        aa_status st = check_box(ctx, "anchors.boxes", a, anchors->boxes + 4 * a, -1, 0);
        if (st != AA_SUCCESS) return st;
    }
    return AA_SUCCESS;
}

aa_status aa__check_gts(aa_context *ctx, const aa_gts *gts, int need_labels)
{
    if (!gts) return aa__fail(ctx, AA_ERR_NULL_POINTER, "gts: NULL");
    if (gts->num_images < 0)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "gts.num_images: %d is negative",
                        (int)gts->num_images);
    if (gts->num_images > AA_MAX_IMAGES)
        return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                        "gts.num_images: %d exceeds AA_MAX_IMAGES (%d)", (int)gts->num_images,
                        AA_MAX_IMAGES);
    if (!gts->offsets) return aa__fail(ctx, AA_ERR_NULL_POINTER, "gts.offsets: NULL");
    if (gts->offsets[0] != 0)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "gts.offsets[0]: must be 0, got %lld",
                        (long long)gts->offsets[0]);
    for (int32_t i = 0; i < gts->num_images; ++i) {
        if (gts->offsets[i + 1] < gts->offsets[i])
            return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                            "gts.offsets: decrease at image %d (offsets[%d] = %lld > offsets[%d] = %lld)",
                            (int)i, (int)i, (long long)gts->offsets[i], (int)(i + 1),
                            (long long)gts->offsets[i + 1]);
        if (gts->offsets[i + 1] > AA_MAX_GTS)
            return aa__fail(ctx, AA_ERR_LIMIT_EXCEEDED,
                            "gts.offsets[%d]: %lld GTs exceed AA_MAX_GTS (%lld)", (int)(i + 1),
                            (long long)gts->offsets[i + 1], (long long)AA_MAX_GTS);
    }
    int64_t total = gts->offsets[gts->num_images];
    if (total > 0 && !gts->boxes)
        return aa__fail(ctx, AA_ERR_NULL_POINTER, "gts.boxes: NULL with %lld GTs",
                        (long long)total);
    if (need_labels && !gts->labels)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "gts.labels: NULL, but out.labels asks for labels");
    for (int32_t i = 0; aa__host_readable(ctx) && i < gts->num_images; ++i) {
        for (int64_t g = gts->offsets[i]; g < gts->offsets[i + 1]; ++g) {
            aa_status st = check_box(ctx, "gts.boxes", g, gts->boxes + 4 * g, i, g - gts->offsets[i]);
            if (st != AA_SUCCESS) return st;
            if (gts->labels && gts->labels[g] < 0)
                return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                                "gts.labels[%lld] (image %d, GT %lld): %d is negative",
                                (long long)g, (int)i, (long long)(g - gts->offsets[i]),
                                (int)gts->labels[g]);
        }
    }
    return AA_SUCCESS;
}

aa_status aa__check_batch(aa_context *ctx, const aa_anchors *anchors, const aa_gts *gts,
                          int need_strides, aa_batch *batch)
{
    aa_status st = aa__check_anchors(ctx, anchors, need_strides);
    if (st != AA_SUCCESS) return st;
    st = aa__check_gts(ctx, gts, 0);
    if (st != AA_SUCCESS) return st;
    batch->anchors = anchors;
    batch->gts = gts;
    batch->num_anchors = anchors->num_anchors;
    batch->num_levels = anchors->num_levels;
    batch->num_images = gts->num_images;
    batch->total_gts = gts->offsets[gts->num_images];
    batch->max_gts_per_image = 0;
    for (int32_t i = 0; i < gts->num_images; ++i) {
        int64_t n = gts->offsets[i + 1] - gts->offsets[i];
        if (n > batch->max_gts_per_image) batch->max_gts_per_image = n;
    }
    return AA_SUCCESS;
}

aa_status aa__check_output(aa_context *ctx, const aa_assignment *out, const aa_gts *gts)
{
    if (!out) return aa__fail(ctx, AA_ERR_NULL_POINTER, "out: NULL");
    if (!out->gt_index) return aa__fail(ctx, AA_ERR_NULL_POINTER, "out.gt_index: NULL");
    if (out->labels && !gts->labels)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "gts.labels: NULL, but out.labels asks for labels");
    return AA_SUCCESS;
}
