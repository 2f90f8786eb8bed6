/* traffic.c - the least bytes of each kernel launch (traffic.h: the rule). Sizes
 * follow the kernels' arguments: boxes 16 B, crowd flags 1 B, offsets and 64-bit
 * keys 8 B, indices, labels, floats 4 B, the EM's doubles 8 B. */
#include "traffic.h"

static double d(int64_t v)
{
    return (double)v;
}

static double rows(const aa_batch *b)
{
    return d(b->num_images) * d(b->num_anchors);
}

/* Images with at least one GT: the rows a per-GT kernel reads (host offsets). */
static double images_with_gts(const aa_batch *b)
{
    int64_t n = 0;
    for (int32_t i = 0; i < b->num_images; ++i)
        n += b->gts->offsets[i + 1] > b->gts->offsets[i];
    return d(n);
}

static double anchors_bytes(const aa_batch *b)
{
    return 16.0 * d(b->num_anchors);
}

static double offsets_bytes(const aa_batch *b)
{
    return 8.0 * (d(b->num_images) + 1.0);
}

/* GT boxes, their crowd flags when given, and the offsets. */
static double gts_bytes(const aa_batch *b)
{
    double g = d(b->total_gts);
    return 16.0 * g + (b->gts->ignore_flags ? g : 0.0) + offsets_bytes(b);
}

int aa__bytes_outputs(const aa_assignment *out)
{
    return 1 + (out->overlap != NULL) + (out->labels != NULL);
}

/* The assignment arrays written: 4 B per row each. */
static double assignment_bytes(const aa_batch *b, int outputs)
{
    return 4.0 * outputs * rows(b);
}

/* A GT's candidates in ATSS's and the top-k primitive's layout: L x topk int32. */
static double candidates_bytes(const aa_batch *b, int32_t topk)
{
    return 4.0 * d(b->total_gts) * d(b->num_levels) * d(topk);
}

double aa__bytes_overlaps(const aa_batch *b)
{
    double g = d(b->total_gts);
    return anchors_bytes(b) + 16.0 * g + 4.0 * d(b->num_anchors) * g;
}

double aa__bytes_fcos(const aa_batch *b, int outputs)
{
    return anchors_bytes(b) + gts_bytes(b) + assignment_bytes(b, outputs);
}

double aa__bytes_topk_nearest(const aa_batch *b, int32_t topk)
{
    /* no state array, no offsets: the primitive reads boxes only */
    return anchors_bytes(b) + 16.0 * d(b->total_gts) + candidates_bytes(b, topk);
}

double aa__bytes_candidate_stats(const aa_batch *b, int32_t topk)
{
    /* GT boxes and candidate lists in, mean and std out; the anchors it gathers at
     * the candidates depend on them */
    return 16.0 * d(b->total_gts) + candidates_bytes(b, topk) + 16.0 * d(b->total_gts);
}

double aa__bytes_max_iou_anchor(const aa_batch *b)
{
    return anchors_bytes(b) + gts_bytes(b) + 8.0 * rows(b); /* per row: max, argmax */
}

double aa__bytes_max_iou_gt(const aa_batch *b)
{
    /* each GT reads its image's row of per-anchor maxima; writes its max and argmax */
    return anchors_bytes(b) + gts_bytes(b) + 4.0 * images_with_gts(b) * d(b->num_anchors) +
           12.0 * d(b->total_gts);
}

double aa__bytes_max_iou_assign(const aa_batch *b, int match_low_quality, int outputs)
{
    /* per row: the maximum (the argmax only where it is a positive: data) */
    double low_quality = match_low_quality ? 12.0 * d(b->total_gts) : 0.0;
    return anchors_bytes(b) + gts_bytes(b) + 4.0 * rows(b) + low_quality +
           assignment_bytes(b, outputs);
}

double aa__bytes_atss_prepare(const aa_batch *b)
{
    return anchors_bytes(b) + gts_bytes(b) + 9.0 * rows(b); /* per row: the key, the state */
}

double aa__bytes_atss_topk(const aa_batch *b, int32_t topk)
{
    /* the state rows of the images with GTs (ignored anchors are far) */
    return anchors_bytes(b) + gts_bytes(b) + images_with_gts(b) * d(b->num_anchors) +
           candidates_bytes(b, topk);
}

double aa__bytes_atss_select(const aa_batch *b, int32_t topk)
{
    return gts_bytes(b) + candidates_bytes(b, topk);
}

double aa__bytes_atss_assign(const aa_batch *b, int outputs)
{
    /* (the offsets only to look labels up: with the labels output) */
    return 9.0 * rows(b) + assignment_bytes(b, outputs);
}

double aa__bytes_gmm(const aa_gmm_params *p, const aa_gmm_batch *g, const aa_gmm_result *out)
{
    double s = d(g->num_segments), n = d(g->total_points), sk = s * p->num_components;
    double bytes = n > 0 ? 4.0 * n + 8.0 * (s + 1.0) : 0.0; /* no point: nothing read */
    if (p->init == AA_GMM_INIT_GIVEN) bytes += 3.0 * 8.0 * sk;
    bytes += 8.0 * sk * ((out->weights != NULL) + (out->means != NULL) + (out->variances != NULL));
    bytes += 8.0 * s * (out->lower_bound != NULL);
    bytes += 4.0 * s * ((out->iterations != NULL) + (out->status != NULL));
    bytes += n * (4.0 * (out->labels != NULL) + 8.0 * (out->log_density != NULL));
    return bytes;
}

double aa__bytes_paa_cost(const aa_batch *b)
{
    /* per row: the pre-assignment in, the cost out; the anchor, GT and head
     * outputs only of pre-assigned rows (data) */
    return offsets_bytes(b) + 8.0 * rows(b);
}

double aa__bytes_paa_copy(const aa_batch *b)
{
    return 8.0 * rows(b);
}

double aa__bytes_paa_init(const aa_batch *b, int outputs)
{
    /* the pre-assignment in (the cost only where it is a GT: data) */
    return 4.0 * rows(b) + assignment_bytes(b, outputs);
}

double aa__bytes_paa_select(const aa_batch *b)
{
    /* every GT scans its image's pre-assignment row; costs, candidates, the EM's
     * scratch and the positives depend on the data */
    return offsets_bytes(b) + 4.0 * images_with_gts(b) * d(b->num_anchors);
}

double aa__bytes_lada_clear(const aa_batch *b)
{
    return 8.0 * rows(b);
}

double aa__bytes_lada_select(const aa_batch *b)
{
    /* every GT tests the anchors of each level against its region, and reads its
     * label; the head outputs only inside the region (data) */
    return anchors_bytes(b) + gts_bytes(b) + 4.0 * d(b->total_gts);
}

double aa__bytes_lada_assign(const aa_batch *b, int outputs)
{
    return offsets_bytes(b) + 8.0 * rows(b) + assignment_bytes(b, outputs);
}
