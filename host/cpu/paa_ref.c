/* paa_ref.c - CPU reference of PAA (mmdetection's PAAHead.get_pos_loss and
 * paa_reassign), image by image, GT by GT:
 *   cost:      sigmoid focal loss summed over classes + giou_weight x (1 - GIoU) of the
 *              box decoded from the anchor (delta2bbox), all in double, rounded to float;
 *   select:    per level the topk lowest costs among the GT's pre-assigned anchors,
 *              sorted, a Gaussian mixture fitted (the CPU GMM reference), component 0
 *              up to its most likely sample positive. */
#include "head_loss.h"
#include "ranked.h"
#include "image_gts.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ cost
 * (the double-precision pieces live in head_loss.c, shared with LADA) */

static float anchor_cost(const aa_paa_params *p, const aa_head_outputs *h, int64_t row,
                         const float *anchor, const float *gt_box, int32_t label)
{
    double d[4], box[4], gt[4], cls = 0.0;
    for (int c = 0; c < 4; ++c) d[c] = aa__ref_head_value(h->bbox_deltas, h->dtype, row * 4 + c);
    for (int c = 0; c < 4; ++c) gt[c] = gt_box[c];
    aa__ref_delta2bbox(p->target_means, p->target_stds, p->wh_ratio_clip, anchor, d, box);
    for (int32_t c = 0; c < h->num_classes; ++c)
        cls += aa__ref_focal(aa__ref_head_value(h->cls_logits, h->dtype, row * h->num_classes + c),
                             c == label, p->focal_alpha, p->focal_gamma);
    double reg = p->giou_weight * (1.0 - aa__ref_giou(box, gt, p->giou_eps));
    return (float)(reg + cls);
}

void aa__ref_paa_costs(const aa_paa_params *p, const aa_batch *b, const aa_head_outputs *h,
                       const int32_t *pre_gt_index, float *costs)
{
    const aa_gts *gts = b->gts;
    for (int32_t i = 0; i < b->num_images; ++i)
        for (int64_t a = 0; a < b->num_anchors; ++a) {
            int64_t row = (int64_t)i * b->num_anchors + a;
            int32_t g = pre_gt_index[row];
            if (g < 0) {
                costs[row] = INFINITY;
                continue;
            }
            int64_t gi = gts->offsets[i] + g;
            costs[row] = anchor_cost(p, h, row, b->anchors->boxes + 4 * a, gts->boxes + 4 * gi,
                                     gts->labels[gi]);
        }
}

/* ------------------------------------------------------------------ select */

/* Workspace: the image's anchors bucketed by pre-assigned GT, one GT's candidates,
 * and the mixture fit of them. */
typedef struct select_ws {
    int64_t *bucket_begin; /* [max_gts + 1] */
    int32_t *bucketed;     /* [num_anchors] anchor indices, by GT then index */
    int32_t *cand;         /* [levels * topk] */
    float *cand_cost;
    int32_t *labels;
    double *log_density;
    void *gmm_ws;
} select_ws;

static size_t carve(const aa_paa_params *p, const aa_batch *b, char *base, select_ws *w)
{
    size_t g = (size_t)b->max_gts_per_image, a = (size_t)b->num_anchors;
    size_t c = (size_t)b->num_levels * (size_t)p->topk, off = 0;
    aa_gmm_batch one = {NULL, 1, (int64_t)c, (int64_t)c};
#define TAKE(field, type, count)                                              \
    if (w) w->field = (type *)(base + off);                                   \
    off += AA_REF_ALIGN((count) * sizeof(type))
    TAKE(bucket_begin, int64_t, g + 1);
    TAKE(bucketed, int32_t, a);
    TAKE(cand, int32_t, c);
    TAKE(cand_cost, float, c);
    TAKE(labels, int32_t, c);
    TAKE(log_density, double, c);
#undef TAKE
    if (w) w->gmm_ws = base + off;
    return off + AA_REF_ALIGN(aa__ref_gmm_ws_bytes(&p->gmm, &one));
}

size_t aa__ref_paa_select_ws_bytes(const aa_paa_params *p, const aa_batch *b)
{
    return carve(p, b, NULL, NULL);
}

/* Counting sort of the image's pre-assigned anchors by GT (stable: index order). */
static void bucket(const aa_batch *b, const int32_t *pre, int32_t num_gts, select_ws *w)
{
    for (int32_t g = 0; g <= num_gts; ++g) w->bucket_begin[g] = 0;
    for (int64_t a = 0; a < b->num_anchors; ++a)
        if (pre[a] >= 0) ++w->bucket_begin[pre[a] + 1];
    for (int32_t g = 0; g < num_gts; ++g) w->bucket_begin[g + 1] += w->bucket_begin[g];
    int64_t *next = w->bucket_begin; /* advanced while filling, shifted back below */
    for (int64_t a = 0; a < b->num_anchors; ++a)
        if (pre[a] >= 0) w->bucketed[next[pre[a]]++] = (int32_t)a;
    for (int32_t g = num_gts; g > 0; --g) w->bucket_begin[g] = w->bucket_begin[g - 1];
    w->bucket_begin[0] = 0;
}

/* Appends to w->cand the k lowest (cost, index) anchors of `list` (index order) lying
 * in [begin, end), kept ranked (ranked.h); returns the new candidate count. */
static int32_t level_topk(const int32_t *list, int64_t n, int64_t begin, int64_t end,
                          const float *costs, int32_t k, select_ws *w, int32_t count)
{
    int32_t first = count;
    for (int64_t j = 0; j < n; ++j) {
        int32_t a = list[j];
        if (a >= begin && a < end)
            aa__ref_ranked_insert(w->cand, w->cand_cost, first, &count, k, costs[a], a);
    }
    return count;
}

/* The positives of one GT: how many of w->cand (sorted) are positive, written as a
 * mask into w->labels (1 positive, 0 not). */
static void separate(const aa_paa_params *p, int32_t n, select_ws *w)
{
    if (n < 2) {
        if (n == 1) w->labels[0] = p->single_candidate_positive ? 1 : 0;
        return;
    }
    int64_t offsets[2] = {0, n};
    aa_gmm_segments seg = {w->cand_cost, offsets, 1, NULL};
    aa_gmm_batch one = {&seg, 1, n, n};
    aa_gmm_result r;
    memset(&r, 0, sizeof r);
    r.labels = w->labels;
    r.log_density = w->log_density;
    aa__ref_gmm_fit(&p->gmm, &one, &r, w->gmm_ws);
    /* the most likely candidate of component 0 (first on ties); all labels are -1 when
     * the mixture is ill-defined */
    int32_t best = -1, fitted = w->labels[0] >= 0;
    for (int32_t j = 0; j < n; ++j)
        if (w->labels[j] == 0 && (best < 0 || w->log_density[j] > w->log_density[best])) best = j;
    for (int32_t j = 0; j < n; ++j)
        w->labels[j] = p->separation == AA_PAA_SEPARATE_ORIGINAL
                           ? fitted && (best < 0 || j <= best)            /* sorted prefix */
                           : best >= 0 && j <= best && w->labels[j] == 0; /* component 0 */
}

void aa__ref_paa_select(const aa_paa_params *p, const aa_batch *b, const int32_t *pre_gt_index,
                        const float *costs, const aa_assignment *out, void *workspace)
{
    select_ws w;
    if (b->num_anchors == 0) return; /* nothing to write; pre and costs may be NULL */
    carve(p, b, workspace, &w);
    const aa_gts *gts = b->gts;
    const int64_t *level_counts = b->anchors->level_counts;
    for (int32_t i = 0; i < b->num_images; ++i) {
        int64_t row0 = (int64_t)i * b->num_anchors;
        const int32_t *pre = pre_gt_index + row0;
        const float *cost = costs + row0;
        int32_t num_gts = (int32_t)(gts->offsets[i + 1] - gts->offsets[i]);
        for (int64_t a = 0; a < b->num_anchors; ++a) {
            out->gt_index[row0 + a] = pre[a] == AA_IGNORED ? AA_IGNORED : AA_NEGATIVE;
            if (out->overlap) out->overlap[row0 + a] = pre[a] >= 0 ? cost[a] : INFINITY;
            if (out->labels) out->labels[row0 + a] = -1;
        }
        bucket(b, pre, num_gts, &w);
        for (int32_t g = 0; g < num_gts; ++g) {
            const int32_t *list = w.bucketed + w.bucket_begin[g];
            int64_t n = w.bucket_begin[g + 1] - w.bucket_begin[g];
            int32_t count = 0;
            int64_t begin = 0;
            for (int32_t l = 0; l < b->num_levels; ++l) {
                count = level_topk(list, n, begin, begin + level_counts[l], cost, p->topk, &w, count);
                begin += level_counts[l];
            }
            aa__ref_ranked_sort(w.cand, w.cand_cost, count);
            separate(p, count, &w);
            for (int32_t j = 0; j < count; ++j) {
                if (!w.labels[j]) continue;
                out->gt_index[row0 + w.cand[j]] = g;
                if (out->labels) out->labels[row0 + w.cand[j]] = gts->labels[gts->offsets[i] + g];
            }
        }
    }
}
