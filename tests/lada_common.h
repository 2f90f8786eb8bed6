/* lada_common.h - what the LADA tests share: a random batch (anchors on per-level
 * grids, GTs with crowd flags, labels, duplicates and zero-size boxes, float32 head
 * outputs) and an independent brute-force re-implementation of the assignment rule
 * (own region test, own loss, qsort-based top-k, own threshold and conflict
 * resolution). Header-only, on top of common.h. */
#ifndef AA_TEST_LADA_COMMON_H
#define AA_TEST_LADA_COMMON_H

#include "common.h"
#include "head_batch.h"

#include <math.h>

/* ---------------------------------------------------------------- a random batch */

typedef head_batch lada_batch;

/* A 160 x 120 image: 1..3 levels, each a grid of anchors (mmdetection's centre offset
 * 0, or 0.5; a box of the level's stride times 1..8, sometimes jittered off the grid);
 * 1..4 images (sometimes without GTs), up to 7 GTs each (some crowd, some exact
 * duplicates of the previous GT, some of zero width or height); logits and deltas
 * random, or (one batch in four) all zero so that only geometry separates losses. */
static inline void lada_batch_random(lada_batch *b)
{
    const float W = 160.0f, H = 120.0f;
    memset(b, 0, sizeof *b);
    b->num_levels = test_int(1, 3);
    b->num_classes = test_int(1, 5);
    int64_t cap = 0;
    for (int l = 0; l < b->num_levels; ++l) {
        b->strides[l] = (float)(test_int(0, 3) == 0 ? 4 << test_int(0, 3) : 8 << l);
        int64_t nx = (int64_t)ceilf(W / b->strides[l]), ny = (int64_t)ceilf(H / b->strides[l]);
        b->level_counts[l] = nx * ny;
        cap += nx * ny;
    }
    b->anchor_boxes = malloc((size_t)cap * 4 * sizeof(float));
    for (int l = 0; l < b->num_levels; ++l) {
        float s = b->strides[l], off = test_int(0, 1) ? 0.5f : 0.0f;
        float side = s * (float)test_int(1, 8), jitter = test_int(0, 3) == 0 ? s : 0.0f;
        int64_t nx = (int64_t)ceilf(W / s), ny = (int64_t)ceilf(H / s);
        for (int64_t y = 0; y < ny; ++y)
            for (int64_t x = 0; x < nx; ++x) {
                float *box = b->anchor_boxes + 4 * b->num_anchors++;
                float cx = ((float)x + off) * s + test_uniform(-jitter, jitter) / 2.0f;
                float cy = ((float)y + off) * s + test_uniform(-jitter, jitter) / 2.0f;
                float ratio = test_int(0, 2) == 0 ? test_uniform(0.5f, 2.0f) : 1.0f;
                box[0] = cx - side * ratio / 2.0f, box[2] = cx + side * ratio / 2.0f;
                box[1] = cy - side / ratio / 2.0f, box[3] = cy + side / ratio / 2.0f;
            }
    }
    b->num_images = test_int(1, 4);
    b->offsets = malloc(((size_t)b->num_images + 1) * sizeof(int64_t));
    b->offsets[0] = 0;
    for (int32_t i = 0; i < b->num_images; ++i)
        b->offsets[i + 1] = b->offsets[i] + (test_int(0, 4) == 0 ? 0 : test_int(1, 7));
    int64_t g = b->offsets[b->num_images];
    b->gt_boxes = malloc((size_t)(g + 1) * 4 * sizeof(float));
    b->crowd = malloc((size_t)g + 1);
    b->labels = malloc((size_t)(g + 1) * sizeof(int32_t));
    for (int64_t k = 0; k < g; ++k) {
        float *box = b->gt_boxes + 4 * k;
        b->labels[k] = test_int(0, b->num_classes - 1);
        b->crowd[k] = test_int(0, 7) == 0;
        if (k > 0 && test_int(0, 6) == 0) { /* a duplicate: equal losses, tie to the lower */
            memcpy(box, box - 4, 4 * sizeof(float));
            b->labels[k] = b->labels[k - 1];
            continue;
        }
        test_random_box(box, W, H, 80);
        if (test_int(0, 9) == 0) box[2] = box[0];      /* zero width  */
        else if (test_int(0, 9) == 0) box[3] = box[1]; /* zero height */
    }
    size_t rows = (size_t)b->num_images * (size_t)b->num_anchors;
    b->logits = malloc(rows * (size_t)b->num_classes * sizeof(float) + 4);
    b->deltas = malloc(rows * 4 * sizeof(float) + 4);
    int zero = test_int(0, 3) == 0;
    for (size_t j = 0; j < rows * (size_t)b->num_classes; ++j) b->logits[j] = zero ? 0.0f : test_uniform(-6, 6);
    for (size_t j = 0; j < rows * 4; ++j) b->deltas[j] = zero ? 0.0f : test_uniform(-2, 2);
    head_batch_finish(b);
}


/* Random parameters: the defaults half of the time, else every knob moved. */
static inline void lada_params_random(aa_lada_params *p)
{
    aa_lada_params_init(p);
    if (test_int(0, 1) == 0) return;
    p->region_radius = test_int(0, 2) == 0 ? 1.5f : test_uniform(0.25f, 4.0f);
    p->clip_region_to_gt = test_int(0, 1);
    p->topk_per_level = test_int(1, 12);
    p->topk = test_int(1, 30);
    p->threshold = test_int(0, 1) ? AA_LADA_MEAN_STD : AA_LADA_MEAN;
    float *w[3] = {&p->cls_weight, &p->giou_weight, &p->center_weight};
    for (int k = 0; k < 3; ++k) {
        int pick = test_int(0, 3);
        if (pick == 0) *w[k] = 0.0f;
        else if (pick == 1) *w[k] = test_uniform(0.0f, 3.0f);
    }
    if (test_int(0, 2) == 0) p->focal_alpha = test_uniform(0.0f, 1.0f), p->focal_gamma = test_uniform(0.0f, 3.0f);
    if (test_int(0, 3) == 0) p->target_stds[test_int(0, 3)] = test_uniform(0.05f, 1.0f);
}

/* ---------------------------------------------------------------- the brute force */

/* The loss of one (anchor, GT) from the definition, in double, rounded once: sigmoid
 * focal loss (BCE with logits x focal weight, mmdetection's py_sigmoid_focal_loss),
 * GIoU loss of the box decoded as delta2bbox, and the centre deviation. Same
 * operation order as mmdetection's formulas, hence the library's bits. */
static inline float lada_bf_loss(const aa_lada_params *p, const float *anchor, const float *logits,
                                 int32_t num_classes, const float *delta, const float *gt,
                                 int32_t label)
{
    double cls = 0.0;
    for (int32_t c = 0; c < num_classes; ++c) {
        double x = logits[c], t = c == label ? 1.0 : 0.0;
        double prob = 1.0 / (1.0 + exp(-x));
        double pt = (1.0 - prob) * t + prob * (1.0 - t);
        double weight = (p->focal_alpha * t + (1.0 - p->focal_alpha) * (1.0 - t)) * pow(pt, p->focal_gamma);
        cls += (fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)))) * weight;
    }
    double clip = fabs(log((double)p->wh_ratio_clip)), d[4];
    for (int c = 0; c < 4; ++c) d[c] = (double)delta[c] * p->target_stds[c] + p->target_means[c];
    d[2] = fmin(fmax(d[2], -clip), clip), d[3] = fmin(fmax(d[3], -clip), clip);
    double px = ((double)anchor[0] + anchor[2]) * 0.5, py = ((double)anchor[1] + anchor[3]) * 0.5;
    double pw = (double)anchor[2] - anchor[0], ph = (double)anchor[3] - anchor[1];
    double cx = px + pw * d[0], cy = py + ph * d[1], bw = pw * exp(d[2]), bh = ph * exp(d[3]);
    double box[4] = {cx - bw * 0.5, cy - bh * 0.5, cx + bw * 0.5, cy + bh * 0.5};
    double g[4] = {gt[0], gt[1], gt[2], gt[3]};
    double inter = fmax(fmin(box[2], g[2]) - fmax(box[0], g[0]), 0.0) *
                   fmax(fmin(box[3], g[3]) - fmax(box[1], g[1]), 0.0);
    double uni = fmax((box[2] - box[0]) * (box[3] - box[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter,
                      (double)p->giou_eps);
    double enclose = fmax(fmax(fmax(box[2], g[2]) - fmin(box[0], g[0]), 0.0) *
                              fmax(fmax(box[3], g[3]) - fmin(box[1], g[1]), 0.0),
                          (double)p->giou_eps);
    double giou = inter / uni - (enclose - uni) / enclose;
    float ax = (anchor[0] + anchor[2]) / 2.0f, ay = (anchor[1] + anchor[3]) / 2.0f;
    float gx = (gt[0] + gt[2]) / 2.0f, gy = (gt[1] + gt[3]) / 2.0f;
    double dx = 2.0 * ((double)ax - gx) / (g[2] - g[0]), dy = 2.0 * ((double)ay - gy) / (g[3] - g[1]);
    double dev = sqrt((dx * dx + dy * dy) / 2.0);
    return (float)((double)p->cls_weight * cls + (double)p->giou_weight * (1.0 - giou) +
                   (double)p->center_weight * dev);
}

typedef struct lada_cand {
    float loss;
    int32_t anchor;
} lada_cand;

static inline int lada_cand_order(const void *x, const void *y)
{
    const lada_cand *a = x, *b = y;
    if (a->loss != b->loss) return a->loss < b->loss ? -1 : 1;
    return (a->anchor > b->anchor) - (a->anchor < b->anchor);
}

/* The rule re-derived for every image and anchor from float32 head outputs (logits
 * [images][anchors][C], deltas [images][anchors][4]) and checked against out (gt_index,
 * overlap bit for bit, labels). Returns the number of positives. */
static inline int64_t lada_check_rule(const aa_lada_params *p, const aa_anchors *a, const aa_gts *g,
                                      const float *logits, const float *deltas, int32_t num_classes,
                                      const aa_assignment *out)
{
    int64_t A = a->num_anchors, positives = 0;
    int64_t max_gts = 0;
    for (int32_t i = 0; i < g->num_images; ++i)
        if (g->offsets[i + 1] - g->offsets[i] > max_gts) max_gts = g->offsets[i + 1] - g->offsets[i];
    lada_cand *level = malloc((size_t)A * sizeof *level + 8), *all = malloc((size_t)A * sizeof *all + 8);
    float *pos_loss = malloc((size_t)(max_gts * A + 1) * sizeof(float)); /* [gt][anchor], NaN: not positive */
    for (int32_t i = 0; i < g->num_images; ++i) {
        int64_t num_gts = g->offsets[i + 1] - g->offsets[i];
        for (int64_t k = 0; k < num_gts * A; ++k) pos_loss[k] = NAN;
        for (int64_t k = 0; k < num_gts; ++k) {
            const float *gt = g->boxes + 4 * (g->offsets[i] + k);
            if (g->ignore_flags && g->ignore_flags[g->offsets[i] + k]) continue;
            double w = (double)gt[2] - gt[0], h = (double)gt[3] - gt[1];
            if (w <= 0.0 || h <= 0.0) continue;
            float gx = (gt[0] + gt[2]) / 2.0f, gy = (gt[1] + gt[3]) / 2.0f;
            int64_t n = 0, begin = 0;
            for (int32_t l = 0; l < a->num_levels; ++l) {
                double rw = (double)p->region_radius * a->level_strides[l] * sqrt(w / h);
                double rh = (double)p->region_radius * a->level_strides[l] * sqrt(h / w);
                double x1 = gx - rw, x2 = gx + rw, y1 = gy - rh, y2 = gy + rh;
                if (p->clip_region_to_gt) {
                    if (x1 < gt[0]) x1 = gt[0];
                    if (y1 < gt[1]) y1 = gt[1];
                    if (x2 > gt[2]) x2 = gt[2];
                    if (y2 > gt[3]) y2 = gt[3];
                }
                int64_t m = 0;
                for (int64_t j = begin; j < begin + a->level_counts[l]; ++j) {
                    const float *box = a->boxes + 4 * j;
                    float ax = (box[0] + box[2]) / 2.0f, ay = (box[1] + box[3]) / 2.0f;
                    if (ax <= x1 || ax >= x2 || ay <= y1 || ay >= y2) continue;
                    int64_t row = (int64_t)i * A + j;
                    level[m].anchor = (int32_t)j;
                    level[m].loss = lada_bf_loss(p, box, logits + row * num_classes, num_classes,
                                                 deltas + row * 4, gt, g->labels[g->offsets[i] + k]);
                    ++m;
                }
                qsort(level, (size_t)m, sizeof *level, lada_cand_order);
                for (int64_t j = 0; j < m && j < p->topk_per_level; ++j) all[n++] = level[j];
                begin += a->level_counts[l];
            }
            qsort(all, (size_t)n, sizeof *all, lada_cand_order);
            if (n > p->topk) n = p->topk;
            if (n == 0) continue;
            double sum = 0.0, ss = 0.0;
            for (int64_t j = 0; j < n; ++j) sum += all[j].loss;
            double thr = sum / (double)n;
            if (p->threshold == AA_LADA_MEAN_STD && n > 1) {
                for (int64_t j = 0; j < n; ++j) ss += (all[j].loss - thr) * (all[j].loss - thr);
                thr += sqrt(ss / (double)(n - 1));
            }
            for (int64_t j = 0; j < n; ++j)
                if ((double)all[j].loss < thr) pos_loss[k * A + all[j].anchor] = all[j].loss;
        }
        for (int64_t j = 0; j < A; ++j) {
            int32_t best = AA_NEGATIVE;
            float best_loss = INFINITY;
            for (int64_t k = num_gts - 1; k >= 0; --k) /* from the last: <= lets the lower win */
                if (!isnan(pos_loss[k * A + j]) && pos_loss[k * A + j] <= best_loss)
                    best = (int32_t)k, best_loss = pos_loss[k * A + j];
            int64_t o = (int64_t)i * A + j;
            if (out->gt_index[o] != best)
                fail_msg("image %d anchor %lld: gt_index %d, the brute force gives %d", (int)i,
                         (long long)j, (int)out->gt_index[o], (int)best);
            if (out->overlap && memcmp(&out->overlap[o], &best_loss, sizeof best_loss) != 0)
                fail_msg("image %d anchor %lld: overlap %.9g, the brute force gives %.9g", (int)i,
                         (long long)j, (double)out->overlap[o], (double)best_loss);
            if (out->labels)
                assert_int_equal(out->labels[o], best >= 0 ? g->labels[g->offsets[i] + best] : -1);
            positives += best >= 0;
        }
    }
    free(level), free(all), free(pos_loss);
    return positives;
}

#endif
