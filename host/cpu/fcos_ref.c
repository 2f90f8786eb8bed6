/* fcos_ref.c - CPU reference of mmdetection's FCOSHead._get_targets_single, point
 * by point (no points x GTs matrix). The point is the anchor's centre.
 *   1. inside: l,t,r,b > 0 to the GT, or, with centre sampling, to the GT's
 *      centre box (centre +- radius * stride, clipped to the GT);
 *   2. max(l,t,r,b) within the level's regress range [lo, hi];
 *   3. every GT gets an area, INF = 1e8 where the pair is invalid; the smallest
 *      wins (first GT on ties) and a minimum of exactly INF means background. So a
 *      valid GT of area > 1e8 wins only where every GT of the image is valid.
 * Crowd GTs take no part (mmdetection's FCOS never sees them). */
#include "image_gts.h"

#include <math.h>

#define AA_REF_FCOS_INF 100000000.0f

size_t aa__ref_fcos_ws_bytes(const aa_batch *batch)
{
    return 2 * AA_REF_ALIGN((size_t)batch->max_gts_per_image * sizeof(int32_t));
}

static float min4(float a, float b, float c, float d)
{
    float m = a < b ? a : b;
    m = m < c ? m : c;
    return m < d ? m : d;
}

static float max4(float a, float b, float c, float d)
{
    float m = a > b ? a : b;
    m = m > c ? m : c;
    return m > d ? m : d;
}

/* Steps 1 and 2 for one point and GT; writes l,t,r,b. */
static int valid_pair(const aa_fcos_params *p, float x, float y, const float *gt, int32_t level,
                      float stride, float ltrb[4])
{
    ltrb[0] = x - gt[0];
    ltrb[1] = y - gt[1];
    ltrb[2] = gt[2] - x;
    ltrb[3] = gt[3] - y;
    int inside;
    if (p->center_sampling) {
        float s = stride * p->center_sample_radius;
        float cx = (gt[0] + gt[2]) / 2.0f, cy = (gt[1] + gt[3]) / 2.0f;
        float x0 = cx - s, y0 = cy - s, x1 = cx + s, y1 = cy + s;
        float c0 = x0 > gt[0] ? x0 : gt[0];
        float c1 = y0 > gt[1] ? y0 : gt[1];
        float c2 = x1 > gt[2] ? gt[2] : x1;
        float c3 = y1 > gt[3] ? gt[3] : y1;
        inside = min4(x - c0, y - c1, c2 - x, c3 - y) > 0.0f;
    } else {
        inside = min4(ltrb[0], ltrb[1], ltrb[2], ltrb[3]) > 0.0f;
    }
    float reach = max4(ltrb[0], ltrb[1], ltrb[2], ltrb[3]);
    return inside && reach >= p->regress_lo[level] && reach <= p->regress_hi[level];
}

static float centerness(const float ltrb[4])
{
    float lr = fminf(ltrb[0], ltrb[2]) / fmaxf(ltrb[0], ltrb[2]);
    float tb = fminf(ltrb[1], ltrb[3]) / fmaxf(ltrb[1], ltrb[3]);
    return sqrtf(lr * tb);
}

void aa__ref_fcos(const aa_fcos_params *p, const aa_batch *batch, const aa_assignment *out,
                  void *workspace)
{
    const aa_anchors *anchors = batch->anchors;
    size_t g = (size_t)batch->max_gts_per_image;
    int32_t *kept = workspace;
    int32_t *crowd = (int32_t *)((char *)workspace + AA_REF_ALIGN(g * sizeof(int32_t)));

    for (int32_t i = 0; i < batch->num_images; ++i) {
        aa_image_gts img;
        aa__ref_split_gts(batch, i, kept, crowd, &img);
        int64_t a = 0;
        for (int32_t l = 0; l < batch->num_levels; ++l) {
            float stride = anchors->level_strides ? anchors->level_strides[l] : 0.0f;
            for (int64_t end = a + anchors->level_counts[l]; a < end; ++a) {
                const float *box = anchors->boxes + 4 * a;
                float x = aa__ref_center_x(box), y = aa__ref_center_y(box);
                float best_area = INFINITY, best_ltrb[4] = {0, 0, 0, 0}, ltrb[4];
                int32_t best = -1;
                for (int32_t k = 0; k < img.num_kept; ++k) {
                    const float *gt = aa__ref_gt_box(&img, img.kept[k]);
                    int valid = valid_pair(p, x, y, gt, l, stride, ltrb);
                    float area = valid ? aa__ref_area(gt) : AA_REF_FCOS_INF;
                    if (area < best_area) {
                        best_area = area, best = k;
                        for (int c = 0; c < 4; ++c) best_ltrb[c] = ltrb[c];
                    }
                }
                if (best >= 0 && best_area != AA_REF_FCOS_INF)
                    aa__ref_write(out, batch, i, a, img.kept[best], centerness(best_ltrb));
                else
                    aa__ref_write(out, batch, i, a, AA_NEGATIVE, 0.0f);
            }
        }
    }
}
