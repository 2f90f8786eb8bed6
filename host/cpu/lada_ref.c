/* lada_ref.c - CPU reference of LADA (see anchorassign.h and docs/semantics.md,
 * "LADA"), image by image, GT by GT, in plain loops:
 *   region:     the GT-shaped centre region of each level (double), anchors whose
 *               float32 centre lies strictly inside it;
 *   loss:       cls_weight x focal + giou_weight x (1 - GIoU) + center_weight x
 *               deviation, in double (head_loss.c, shared with PAA), rounded once;
 *   candidates: per level the topk_per_level lowest (loss, index), then the topk
 *               lowest of all levels' candidates;
 *   threshold:  their mean (+ unbiased std); positive strictly below; an anchor
 *               claimed by several GTs goes to the lowest loss, then the lower GT.
 * Results go to the workspace first and are copied to the outputs only when no loss
 * overflowed float32, so a refused call writes nothing. */
#include "head_loss.h"
#include "ranked.h"

#include <math.h>
#include <string.h>

#define LADA_ALIGN(n) (((n) + 15) & ~(size_t)15)

typedef struct lada_ws {
    int32_t *best_gt;  /* [num_images * num_anchors] the winning GT so far, or -1 */
    float *best_loss;  /* [num_images * num_anchors] its loss, +inf without one   */
    int32_t *cand;     /* [num_levels * topk_per_level] one GT's candidates       */
    float *cand_loss;
} lada_ws;

static size_t carve(const aa_lada_params *p, const aa_batch *b, char *base, lada_ws *w)
{
    size_t rows = (size_t)b->num_images * (size_t)b->num_anchors;
    size_t c = (size_t)b->num_levels * (size_t)p->topk_per_level, off = 0;
#define TAKE(field, type, count)                                              \
    if (w) w->field = (type *)(base + off);                                   \
    off += LADA_ALIGN((count) * sizeof(type))
    TAKE(best_gt, int32_t, rows);
    TAKE(best_loss, float, rows);
    TAKE(cand, int32_t, c);
    TAKE(cand_loss, float, c);
#undef TAKE
    return off;
}

size_t aa__ref_lada_ws_bytes(const aa_lada_params *p, const aa_batch *b)
{
    return carve(p, b, NULL, NULL);
}

/* The centre region of a GT on a level of the given stride: x1, y1, x2, y2. */
static void region(const aa_lada_params *p, const float *gt, double gx, double gy, double stride,
                   double r[4])
{
    double w = (double)gt[2] - gt[0], h = (double)gt[3] - gt[1];
    double half_w = (double)p->region_radius * stride * sqrt(w / h);
    double half_h = (double)p->region_radius * stride * sqrt(h / w);
    r[0] = gx - half_w, r[1] = gy - half_h, r[2] = gx + half_w, r[3] = gy + half_h;
    if (p->clip_region_to_gt) {
        r[0] = fmax(r[0], (double)gt[0]), r[1] = fmax(r[1], (double)gt[1]);
        r[2] = fmin(r[2], (double)gt[2]), r[3] = fmin(r[3], (double)gt[3]);
    }
}

/* The combined loss of anchor `a` (row `row` of the head outputs) for a GT, in double. */
static double lada_loss(const aa_lada_params *p, const aa_head_outputs *h, int64_t row,
                        const float *anchor, const float *gt_box, int32_t label, double gx,
                        double gy)
{
    double d[4], box[4], gt[4], cls = 0.0;
    for (int c = 0; c < 4; ++c) d[c] = aa__ref_head_value(h->bbox_deltas, h->dtype, row * 4 + c);
    for (int c = 0; c < 4; ++c) gt[c] = gt_box[c];
    aa__ref_delta2bbox(p->target_means, p->target_stds, p->wh_ratio_clip, anchor, d, box);
    for (int32_t c = 0; c < h->num_classes; ++c)
        cls += aa__ref_focal(aa__ref_head_value(h->cls_logits, h->dtype, row * h->num_classes + c),
                             c == label, p->focal_alpha, p->focal_gamma);
    double giou_loss = 1.0 - aa__ref_giou(box, gt, p->giou_eps);
    double w = gt[2] - gt[0], hgt = gt[3] - gt[1];
    double dx = 2.0 * ((double)aa__ref_center_x(anchor) - gx) / w;
    double dy = 2.0 * ((double)aa__ref_center_y(anchor) - gy) / hgt;
    double deviation = sqrt((dx * dx + dy * dy) / 2.0);
    return (double)p->cls_weight * cls + (double)p->giou_weight * giou_loss +
           (double)p->center_weight * deviation;
}

/* The dynamic threshold of n >= 1 candidates' losses, in double. */
static double threshold(const aa_lada_params *p, const float *loss, int32_t n)
{
    double sum = 0.0, ss = 0.0;
    for (int32_t j = 0; j < n; ++j) sum += loss[j];
    double mean = sum / n;
    if (p->threshold != AA_LADA_MEAN_STD) return mean;
    for (int32_t j = 0; j < n; ++j) ss += ((double)loss[j] - mean) * ((double)loss[j] - mean);
    return mean + (n > 1 ? sqrt(ss / (n - 1)) : 0.0); /* one candidate: std 0 */
}

int aa__ref_lada(const aa_lada_params *p, const aa_batch *b, const aa_head_outputs *h,
                 const aa_assignment *out, void *workspace, aa_lada_overflow *bad)
{
    lada_ws w;
    carve(p, b, workspace, &w);
    const aa_gts *gts = b->gts;
    const aa_anchors *anchors = b->anchors;
    int64_t rows = (int64_t)b->num_images * b->num_anchors;
    for (int64_t r = 0; r < rows; ++r) w.best_gt[r] = AA_NEGATIVE, w.best_loss[r] = INFINITY;

    for (int32_t i = 0; i < b->num_images; ++i) {
        int64_t row0 = (int64_t)i * b->num_anchors;
        for (int64_t gi = gts->offsets[i]; gi < gts->offsets[i + 1]; ++gi) {
            int32_t g = (int32_t)(gi - gts->offsets[i]);
            const float *gt = gts->boxes + 4 * gi;
            if (gts->ignore_flags && gts->ignore_flags[gi]) continue; /* crowd */
            if (!(gt[2] > gt[0] && gt[3] > gt[1])) continue;          /* no area: no region */
            double gx = aa__ref_center_x(gt), gy = aa__ref_center_y(gt);
            int32_t count = 0;
            int64_t a = 0;
            for (int32_t l = 0; l < b->num_levels; ++l) {
                double r[4];
                region(p, gt, gx, gy, anchors->level_strides[l], r);
                int32_t first = count;
                for (int64_t end = a + anchors->level_counts[l]; a < end; ++a) {
                    const float *box = anchors->boxes + 4 * a;
                    double ax = aa__ref_center_x(box), ay = aa__ref_center_y(box);
                    if (!(ax > r[0] && ax < r[2] && ay > r[1] && ay < r[3])) continue;
                    double loss = lada_loss(p, h, row0 + a, box, gt, gts->labels[gi], gx, gy);
                    float rounded = (float)loss;
                    if (!isfinite(rounded)) {
                        bad->image = i, bad->anchor = a, bad->gt = g, bad->loss = loss;
                        return 1;
                    }
                    aa__ref_ranked_insert(w.cand, w.cand_loss, first, &count, p->topk_per_level,
                                          rounded, (int32_t)a);
                }
            }
            aa__ref_ranked_sort(w.cand, w.cand_loss, count);
            int32_t n = count < p->topk ? count : p->topk;
            if (n == 0) continue;
            double thr = threshold(p, w.cand_loss, n);
            for (int32_t j = 0; j < n; ++j) {
                int64_t row = row0 + w.cand[j];
                /* GTs come in index order: on equal losses the lower GT keeps it */
                if ((double)w.cand_loss[j] < thr && w.cand_loss[j] < w.best_loss[row])
                    w.best_gt[row] = g, w.best_loss[row] = w.cand_loss[j];
            }
        }
    }

    for (int64_t r = 0; r < rows; ++r) {
        int32_t g = w.best_gt[r];
        out->gt_index[r] = g;
        if (out->overlap) out->overlap[r] = w.best_loss[r];
        if (out->labels) out->labels[r] = g >= 0 ? gts->labels[gts->offsets[r / b->num_anchors] + g] : -1;
    }
    return 0;
}
