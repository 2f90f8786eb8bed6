/* overlaps_ref.c - CPU reference: box arithmetic and pairwise overlaps.
 * Float32 in the operation order of mmdetection's bbox_overlaps, so the values
 * are bit-identical to it (the build disables FMA contraction). */
#include "internal.h"

#include <math.h>

float aa__ref_area(const float *b) { return (b[2] - b[0]) * (b[3] - b[1]); }

float aa__ref_center_x(const float *b) { return (b[0] + b[2]) / 2.0f; }
float aa__ref_center_y(const float *b) { return (b[1] + b[3]) / 2.0f; }

static float max_f(float a, float b) { return a > b ? a : b; }
static float min_f(float a, float b) { return a < b ? a : b; }

float aa__ref_overlap(aa_overlap_mode mode, const float *anchor, const float *gt, float eps)
{
    float w = min_f(anchor[2], gt[2]) - max_f(anchor[0], gt[0]);
    float h = min_f(anchor[3], gt[3]) - max_f(anchor[1], gt[1]);
    /* clamped at +0, a -0 extent too (touching boxes with a signed-zero coordinate,
     * found by fuzz_parity): an empty overlap is +0 on every backend, as the kernels'
     * clamp gives and as mmdetection's bbox_overlaps gives on that input */
    w = w > 0.0f ? w : 0.0f;
    h = h > 0.0f ? h : 0.0f;
    float inter = w * h;
    float area_anchor = aa__ref_area(anchor);
    float unioned = mode == AA_IOF ? area_anchor : area_anchor + aa__ref_area(gt) - inter;
    unioned = max_f(unioned, eps);
    float iou = inter / unioned;
    if (mode != AA_GIOU) return iou;
    float ew = max_f(anchor[2], gt[2]) - min_f(anchor[0], gt[0]);
    float eh = max_f(anchor[3], gt[3]) - min_f(anchor[1], gt[1]);
    ew = ew > 0.0f ? ew : 0.0f;
    eh = eh > 0.0f ? eh : 0.0f;
    float enclose = max_f(ew * eh, eps);
    return iou - (enclose - unioned) / enclose;
}

float aa__ref_center_distance(const float *anchor, const float *gt)
{
    float dx = aa__ref_center_x(anchor) - aa__ref_center_x(gt);
    float dy = aa__ref_center_y(anchor) - aa__ref_center_y(gt);
    float d2 = dx * dx + dy * dy;
    return sqrtf(d2);
}

void aa__ref_overlaps(aa_overlap_mode mode, float eps, const aa_batch *batch, float *out)
{
    const float *anchors = batch->anchors->boxes;
    const float *gts = batch->gts->boxes;
    int64_t n = batch->num_anchors;
    for (int64_t g = 0; g < batch->total_gts; ++g)
        for (int64_t a = 0; a < n; ++a)
            out[g * n + a] = aa__ref_overlap(mode, anchors + 4 * a, gts + 4 * g, eps);
}
