/* max_iou_ref.c - CPU reference of mmdetection's MaxIoUAssigner, image by image:
 *   1. anchors whose IoF with a crowd region exceeds ignore_iof_thr get IoU -1
 *      with every GT (so they are neither negative nor positive);
 *   2. per anchor, max IoU over GTs (first GT on ties); per GT, max over anchors;
 *   3. negative if max in [neg_lo, neg_hi); positive if max >= pos_iou_thr;
 *   4. low-quality matches: each GT, in order, takes the anchors of its own max
 *      IoU (all of them, or the first), later GTs overriding earlier ones. */
#include "image_gts.h"

#include <math.h>

size_t aa__ref_max_iou_ws_bytes(const aa_batch *batch)
{
    size_t a = (size_t)batch->num_anchors, g = (size_t)batch->max_gts_per_image;
    return AA_REF_ALIGN(a * sizeof(float)) + AA_REF_ALIGN(a * sizeof(int32_t)) +
           AA_REF_ALIGN(a) + AA_REF_ALIGN(g * sizeof(float)) + AA_REF_ALIGN(g * sizeof(int64_t)) +
           2 * AA_REF_ALIGN(g * sizeof(int32_t));
}

/* IoU of an anchor with kept GT k, or -1 for an ignored anchor (step 1). */
static float masked_iou(const aa_batch *batch, const aa_image_gts *img, const uint8_t *ignored,
                        int64_t a, int32_t k, float eps)
{
    if (ignored[a]) return -1.0f;
    return aa__ref_overlap(AA_IOU, batch->anchors->boxes + 4 * a,
                           aa__ref_gt_box(img, img->kept[k]), eps);
}

void aa__ref_max_iou(const aa_max_iou_params *p, const aa_batch *batch, const aa_assignment *out,
                     void *workspace)
{
    int64_t n = batch->num_anchors;
    size_t g = (size_t)batch->max_gts_per_image;
    char *ws = workspace;
    float *max_iou = (float *)ws;           ws += AA_REF_ALIGN((size_t)n * sizeof(float));
    int32_t *argmax = (int32_t *)ws;        ws += AA_REF_ALIGN((size_t)n * sizeof(int32_t));
    uint8_t *ignored = (uint8_t *)ws;       ws += AA_REF_ALIGN((size_t)n);
    float *gt_max = (float *)ws;            ws += AA_REF_ALIGN(g * sizeof(float));
    int64_t *gt_argmax = (int64_t *)ws;     ws += AA_REF_ALIGN(g * sizeof(int64_t));
    int32_t *kept = (int32_t *)ws;          ws += AA_REF_ALIGN(g * sizeof(int32_t));
    int32_t *crowd = (int32_t *)ws;

    for (int32_t i = 0; i < batch->num_images; ++i) {
        aa_image_gts img;
        aa__ref_split_gts(batch, i, kept, crowd, &img);
        if (img.num_kept == 0) { /* mmdetection: everything negative, overlap 0 */
            for (int64_t a = 0; a < n; ++a) aa__ref_write(out, batch, i, a, AA_NEGATIVE, 0.0f);
            continue;
        }
        aa__ref_mark_ignored(batch, &img, p->ignore_iof_thr, p->ignore_wrt_candidates, p->eps,
                             ignored);

        for (int32_t k = 0; k < img.num_kept; ++k) {
            gt_max[k] = -INFINITY;
            gt_argmax[k] = -1;
        }
        for (int64_t a = 0; a < n; ++a) {
            max_iou[a] = -INFINITY;
            argmax[a] = -1;
            for (int32_t k = 0; k < img.num_kept; ++k) {
                float v = masked_iou(batch, &img, ignored, a, k, p->eps);
                if (v > max_iou[a]) max_iou[a] = v, argmax[a] = k;
                if (v > gt_max[k]) gt_max[k] = v, gt_argmax[k] = a;
            }
        }

        /* Steps 3 and 4 work on a kept-GT index (or a code) per anchor, in argmax. */
        for (int64_t a = 0; a < n; ++a) {
            int32_t code = AA_IGNORED;
            if (max_iou[a] >= p->neg_iou_thr_lo && max_iou[a] < p->neg_iou_thr_hi) code = AA_NEGATIVE;
            if (max_iou[a] >= p->pos_iou_thr) code = argmax[a];
            argmax[a] = code;
        }
        if (p->match_low_quality) {
            for (int32_t k = 0; k < img.num_kept; ++k) {
                if (!(gt_max[k] >= p->min_pos_iou)) continue;
                if (!p->gt_max_assign_all) {
                    argmax[gt_argmax[k]] = k;
                    continue;
                }
                for (int64_t a = 0; a < n; ++a)
                    if (masked_iou(batch, &img, ignored, a, k, p->eps) == gt_max[k]) argmax[a] = k;
            }
        }
        for (int64_t a = 0; a < n; ++a) {
            int32_t local = argmax[a] >= 0 ? img.kept[argmax[a]] : argmax[a];
            aa__ref_write(out, batch, i, a, local, max_iou[a]);
        }
    }
}
