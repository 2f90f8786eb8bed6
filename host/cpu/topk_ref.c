/* topk_ref.c - CPU reference: nearest-centre top-k per level and the
 * candidates' IoU statistics (the first two steps of ATSS). */
#include "internal.h"

#include <math.h>

/* mmdetection's INF: the distance given to ignored anchors. */
#define AA_REF_FAR 100000000.0f

void aa__ref_topk_level(const float *anchor_boxes, int64_t begin, int64_t end, const float *gt,
                        const uint8_t *ignored, int32_t k, int32_t *out)
{
    float best_d[AA_MAX_TOPK];
    int32_t n = 0; /* entries kept so far, sorted by (distance, index) */
    if (k <= 0) return;
    for (int64_t a = begin; a < end; ++a) {
        float d = (ignored && ignored[a]) ? AA_REF_FAR
                                          : aa__ref_center_distance(anchor_boxes + 4 * a, gt);
        /* Scanning in index order, an equal distance never displaces an earlier
         * anchor: ties go to the lower index. */
        if (n == k && !(d < best_d[n - 1])) continue;
        int32_t pos = n < k ? n++ : k - 1;
        while (pos > 0 && d < best_d[pos - 1]) {
            best_d[pos] = best_d[pos - 1];
            out[pos] = out[pos - 1];
            --pos;
        }
        best_d[pos] = d;
        out[pos] = (int32_t)a;
    }
}

void aa__ref_topk_nearest(int32_t topk, const aa_batch *batch, int32_t *candidates)
{
    const aa_anchors *anchors = batch->anchors;
    for (int64_t g = 0; g < batch->total_gts; ++g) {
        int64_t begin = 0;
        for (int32_t l = 0; l < batch->num_levels; ++l) {
            int64_t count = anchors->level_counts[l];
            int32_t k = count < topk ? (int32_t)count : topk;
            int32_t *out = candidates + ((int64_t)g * batch->num_levels + l) * topk;
            aa__ref_topk_level(anchors->boxes, begin, begin + count, batch->gts->boxes + 4 * g,
                               NULL, k, out);
            for (int32_t j = k; j < topk; ++j) out[j] = -1;
            begin += count;
        }
    }
}

void aa__ref_candidate_stats(int32_t topk, float eps, const aa_batch *batch,
                             const int32_t *candidates, double *mean, double *std)
{
    int64_t per_gt = (int64_t)batch->num_levels * topk;
    for (int64_t g = 0; g < batch->total_gts; ++g) {
        const float *gt = batch->gts->boxes + 4 * g;
        const int32_t *cand = candidates + g * per_gt;
        double sum = 0.0;
        int64_t n = 0;
        for (int64_t j = 0; j < per_gt; ++j) {
            if (cand[j] < 0) continue;
            sum += aa__ref_overlap(AA_IOU, batch->anchors->boxes + 4 * (int64_t)cand[j], gt, eps);
            ++n;
        }
        double m = n > 0 ? sum / (double)n : NAN;
        double ss = 0.0;
        for (int64_t j = 0; j < per_gt; ++j) {
            if (cand[j] < 0) continue;
            double d = aa__ref_overlap(AA_IOU, batch->anchors->boxes + 4 * (int64_t)cand[j], gt, eps) - m;
            ss += d * d;
        }
        mean[g] = m;
        std[g] = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
    }
}
