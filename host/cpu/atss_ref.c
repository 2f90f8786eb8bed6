/* atss_ref.c - CPU reference of mmdetection's ATSSAssigner, image by image and
 * GT by GT, without an anchors x GTs matrix:
 *   1. anchors inside a crowd region (IoF > ignore_iof_thr) are ignored and
 *      placed at distance 1e8 (they stay candidates only where a level is short);
 *   2. per level, the k nearest anchors (centre L2) are the GT's candidates;
 *   3. threshold = mean + unbiased std of the candidates' IoU;
 *   4. positive if IoU >= threshold and the anchor centre is inside the GT by
 *      more than inside_margin;
 *   5. an anchor positive for several GTs goes to the highest IoU (first GT on
 *      ties); ignored anchors that are not positive stay ignored. */
#include "image_gts.h"

#include <math.h>

size_t aa__ref_atss_ws_bytes(const aa_atss_params *p, const aa_batch *batch)
{
    size_t a = (size_t)batch->num_anchors, g = (size_t)batch->max_gts_per_image;
    size_t c = (size_t)batch->num_levels * (size_t)p->topk;
    return AA_REF_ALIGN(a * sizeof(float)) + AA_REF_ALIGN(a * sizeof(int32_t)) + AA_REF_ALIGN(a) +
           2 * AA_REF_ALIGN(g * sizeof(int32_t)) + AA_REF_ALIGN(c * sizeof(int32_t)) +
           AA_REF_ALIGN(c * sizeof(float));
}

/* Step 4's containment test, float32 as mmdetection. */
static int center_inside(const float *anchor, const float *gt, float margin)
{
    float cx = aa__ref_center_x(anchor), cy = aa__ref_center_y(anchor);
    float m = cx - gt[0];
    if (cy - gt[1] < m) m = cy - gt[1];
    if (gt[2] - cx < m) m = gt[2] - cx;
    if (gt[3] - cy < m) m = gt[3] - cy;
    return m > margin;
}

/* Steps 2-4 for kept GT k: updates the per-anchor best IoU / GT. */
static void assign_one_gt(const aa_atss_params *p, const aa_batch *batch, const aa_image_gts *img,
                          int32_t k, const uint8_t *ignored, int32_t *cand, float *cand_iou,
                          float *best_iou, int32_t *best_gt)
{
    const aa_anchors *anchors = batch->anchors;
    const float *gt = aa__ref_gt_box(img, img->kept[k]);
    int32_t n = 0;
    int64_t begin = 0;
    for (int32_t l = 0; l < batch->num_levels; ++l) {
        int64_t count = anchors->level_counts[l];
        int32_t kl = count < p->topk ? (int32_t)count : p->topk;
        aa__ref_topk_level(anchors->boxes, begin, begin + count, gt, ignored, kl, cand + n);
        n += kl;
        begin += count;
    }
    double sum = 0.0;
    for (int32_t j = 0; j < n; ++j) {
        cand_iou[j] = aa__ref_overlap(AA_IOU, anchors->boxes + 4 * (int64_t)cand[j], gt, p->eps);
        sum += cand_iou[j];
    }
    double mean = sum / n, ss = 0.0;
    for (int32_t j = 0; j < n; ++j) ss += (cand_iou[j] - mean) * (cand_iou[j] - mean);
    /* n == 1: NaN threshold, nothing passes (torch.std of one value is NaN). */
    double thr = mean + (n > 1 ? sqrt(ss / (n - 1)) : NAN);

    for (int32_t j = 0; j < n; ++j) {
        int32_t a = cand[j];
        if (!((double)cand_iou[j] >= thr)) continue;
        if (!center_inside(anchors->boxes + 4 * (int64_t)a, gt, p->inside_margin)) continue;
        if (cand_iou[j] > best_iou[a]) best_iou[a] = cand_iou[j], best_gt[a] = k;
    }
}

void aa__ref_atss(const aa_atss_params *p, const aa_batch *batch, const aa_assignment *out,
                  void *workspace)
{
    int64_t n = batch->num_anchors;
    size_t g = (size_t)batch->max_gts_per_image;
    size_t c = (size_t)batch->num_levels * (size_t)p->topk;
    char *ws = workspace;
    float *best_iou = (float *)ws;    ws += AA_REF_ALIGN((size_t)n * sizeof(float));
    int32_t *best_gt = (int32_t *)ws; ws += AA_REF_ALIGN((size_t)n * sizeof(int32_t));
    uint8_t *ignored = (uint8_t *)ws; ws += AA_REF_ALIGN((size_t)n);
    int32_t *kept = (int32_t *)ws;    ws += AA_REF_ALIGN(g * sizeof(int32_t));
    int32_t *crowd = (int32_t *)ws;   ws += AA_REF_ALIGN(g * sizeof(int32_t));
    int32_t *cand = (int32_t *)ws;    ws += AA_REF_ALIGN(c * sizeof(int32_t));
    float *cand_iou = (float *)ws;

    for (int32_t i = 0; i < batch->num_images; ++i) {
        aa_image_gts img;
        aa__ref_split_gts(batch, i, kept, crowd, &img);
        if (img.num_kept == 0 || n == 0) {
            for (int64_t a = 0; a < n; ++a) aa__ref_write(out, batch, i, a, AA_NEGATIVE, 0.0f);
            continue;
        }
        aa__ref_mark_ignored(batch, &img, p->ignore_iof_thr, 1, p->eps, ignored);
        for (int64_t a = 0; a < n; ++a) best_iou[a] = AA_ATSS_NO_OVERLAP, best_gt[a] = -1;
        for (int32_t k = 0; k < img.num_kept; ++k)
            assign_one_gt(p, batch, &img, k, ignored, cand, cand_iou, best_iou, best_gt);
        for (int64_t a = 0; a < n; ++a) {
            int32_t local = best_gt[a] >= 0 ? img.kept[best_gt[a]]
                                            : (ignored[a] ? AA_IGNORED : AA_NEGATIVE);
            aa__ref_write(out, batch, i, a, local, best_iou[a]);
        }
    }
}
