/* image_gts.h - the GTs of one image split into assignable GTs and crowd
 * (ignore) regions, the first step of every CPU reference assigner. */
#ifndef AA_IMAGE_GTS_H
#define AA_IMAGE_GTS_H

#include "internal.h"

typedef struct aa_image_gts {
    const float *boxes;    /* the batch's GT boxes                              */
    int64_t first;         /* global index of the image's first GT             */
    int32_t num_kept;      /* assignable GTs                                    */
    int32_t num_crowd;     /* crowd / ignore regions                            */
    int32_t *kept;         /* [num_kept] local indices of assignable GTs, in order */
    int32_t *crowd;        /* [num_crowd] local indices of crowd GTs            */
} aa_image_gts;

/* Fills `img` for image i; kept/crowd point into caller storage of max_gts each. */
static inline void aa__ref_split_gts(const aa_batch *batch, int32_t i, int32_t *kept,
                                     int32_t *crowd, aa_image_gts *img)
{
    const aa_gts *gts = batch->gts;
    img->boxes = gts->boxes;
    img->first = gts->offsets[i];
    img->kept = kept;
    img->crowd = crowd;
    img->num_kept = img->num_crowd = 0;
    for (int64_t g = gts->offsets[i]; g < gts->offsets[i + 1]; ++g) {
        int32_t local = (int32_t)(g - gts->offsets[i]);
        if (gts->ignore_flags && gts->ignore_flags[g])
            crowd[img->num_crowd++] = local;
        else
            kept[img->num_kept++] = local;
    }
}

static inline const float *aa__ref_gt_box(const aa_image_gts *img, int32_t local)
{
    return img->boxes + 4 * (img->first + local);
}

/* Writes one (image, anchor) result; local = GT index within the image or a
 * negative code. */
static inline void aa__ref_write(const aa_assignment *out, const aa_batch *batch, int32_t image,
                                 int64_t anchor, int32_t local, float overlap)
{
    int64_t o = (int64_t)image * batch->num_anchors + anchor;
    out->gt_index[o] = local;
    if (out->overlap) out->overlap[o] = overlap;
    if (out->labels)
        out->labels[o] = local >= 0 ? batch->gts->labels[batch->gts->offsets[image] + local] : -1;
}

/* Marks anchors whose max IoF with a crowd region exceeds thr. over_anchor:
 * IoF over the anchor's area (else over the crowd box's). */
static inline void aa__ref_mark_ignored(const aa_batch *batch, const aa_image_gts *img, float thr,
                                        int over_anchor, float eps, uint8_t *ignored)
{
    const float *anchors = batch->anchors->boxes;
    for (int64_t a = 0; a < batch->num_anchors; ++a) {
        ignored[a] = 0;
        if (!(thr > 0.0f)) continue;
        for (int32_t c = 0; c < img->num_crowd; ++c) {
            const float *crowd = aa__ref_gt_box(img, img->crowd[c]);
            float iof = over_anchor ? aa__ref_overlap(AA_IOF, anchors + 4 * a, crowd, eps)
                                    : aa__ref_overlap(AA_IOF, crowd, anchors + 4 * a, eps);
            if (iof > thr) ignored[a] = 1;
        }
    }
}

#define AA_REF_ALIGN(n) (((n) + 15) & ~(size_t)15)

#endif
