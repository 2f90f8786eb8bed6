/* synthetic_head.c - synthetic head outputs for PAA and LADA (see synthetic_head.h). */
#include "synthetic_head.h"
#include "rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static aa_wl_status fail(aa_wl_error *err, aa_wl_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

uint16_t aa_wl_float_to_bfloat(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40); /* NaN */
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

uint16_t aa_wl_float_to_half(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    float a = fabsf(v);
    if (a != a) return sign | 0x7e00u;
    if (a >= 65520.0f) return sign | 0x7c00u; /* rounds to infinity */
    if (a < 6.103515625e-05f) {               /* subnormal: multiples of 2^-24 */
        float q = a * 16777216.0f;            /* exact scaling by 2^24 */
        return sign | (uint16_t)nearbyintf(q); /* ties to even in the default mode */
    }
    int e;
    float m = frexpf(a, &e);                  /* a = m 2^e, m in [0.5, 1) */
    float q = nearbyintf(ldexpf(m, 11));      /* 11 significant bits, ties to even */
    if (q == 2048.0f) q = 1024.0f, ++e;
    return sign | (uint16_t)(((e + 14) << 10) | ((uint16_t)q - 1024));
}

void aa_wl_head_free(aa_wl_head *head)
{
    if (!head) return;
    free(head->cls_logits);
    free(head->bbox_deltas);
    memset(head, 0, sizeof *head);
}

/* mmdetection's bbox2delta(anchor, gt) with means 0, stds (0.1, 0.1, 0.2, 0.2). */
static void encode(const float *a, const float *g, double *d)
{
    double pw = (double)a[2] - a[0], ph = (double)a[3] - a[1];
    double gw = (double)g[2] - g[0], gh = (double)g[3] - g[1];
    double px = ((double)a[0] + a[2]) * 0.5, py = ((double)a[1] + a[3]) * 0.5;
    double gx = ((double)g[0] + g[2]) * 0.5, gy = ((double)g[1] + g[3]) * 0.5;
    d[0] = pw > 0 ? (gx - px) / pw / 0.1 : 0.0;
    d[1] = ph > 0 ? (gy - py) / ph / 0.1 : 0.0;
    d[2] = pw > 0 && gw > 0 ? log(gw / pw) / 0.2 : 0.0;
    d[3] = ph > 0 && gh > 0 ? log(gh / ph) / 0.2 : 0.0;
}

static void store(void *array, aa_dtype dtype, size_t i, double v)
{
    float f = (float)v;
    if (dtype == AA_FLOAT16) ((uint16_t *)array)[i] = aa_wl_float_to_half(f);
    else if (dtype == AA_BFLOAT16) ((uint16_t *)array)[i] = aa_wl_float_to_bfloat(f);
    else ((float *)array)[i] = f;
}

/* Best GT and IoU of every (image, anchor): max-IoU with every anchor positive. */
static aa_wl_status best_gts(const aa_anchors *anchors, const aa_gts *gts, int32_t *gt_index,
                             float *iou, aa_wl_error *err)
{
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CPU;
    aa_context *ctx = NULL;
    if (aa_context_create(&ctx, &o) != AA_SUCCESS)
        return fail(err, AA_WL_ERR_LIBRARY, "head: CPU context: %s", aa_context_create_error());
    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    p.pos_iou_thr = 0.0f;
    p.neg_iou_thr_hi = 0.0f;
    p.match_low_quality = 0;
    aa_assignment out = {gt_index, iou, NULL};
    aa_status st = aa_assign_max_iou(ctx, &p, anchors, gts, &out, NULL, 0);
    aa_wl_status r = AA_WL_OK;
    if (st != AA_SUCCESS)
        r = fail(err, AA_WL_ERR_LIBRARY, "head: aa_assign_max_iou: %s", aa_context_last_error(ctx));
    aa_context_destroy(ctx);
    return r;
}

aa_wl_status aa_wl_head_make(const aa_anchors *anchors, const aa_gts *gts, int32_t num_classes,
                             aa_dtype dtype, uint64_t seed, aa_wl_head *head, aa_wl_error *err)
{
    if (!head) return fail(err, AA_WL_ERR_ARGUMENT, "head: NULL");
    memset(head, 0, sizeof *head);
    if (!anchors || !gts || !gts->labels)
        return fail(err, AA_WL_ERR_ARGUMENT, "head: anchors, gts and gts.labels are required");
    if (num_classes < 1) return fail(err, AA_WL_ERR_ARGUMENT, "head: num_classes %d", num_classes);
    size_t rows = (size_t)gts->num_images * (size_t)anchors->num_anchors;
    size_t elem = dtype == AA_FLOAT32 ? 4 : 2;
    int32_t *gt_index = malloc(rows * sizeof *gt_index + 1);
    float *iou = malloc(rows * sizeof *iou + 1);
    head->cls_logits = malloc(rows * (size_t)num_classes * elem + 1);
    head->bbox_deltas = malloc(rows * 4 * elem + 1);
    if (!gt_index || !iou || !head->cls_logits || !head->bbox_deltas) {
        free(gt_index), free(iou), aa_wl_head_free(head);
        return fail(err, AA_WL_ERR_NOMEM, "head: out of memory for %zu rows", rows);
    }
    aa_wl_status st = best_gts(anchors, gts, gt_index, iou, err);
    for (int32_t i = 0; st == AA_WL_OK && i < gts->num_images; ++i) {
        synth_rng r = {seed ^ ((uint64_t)i * 0xd1b54a32d192ed03ull) ^ 0x5eedull};
        for (int64_t a = 0; a < anchors->num_anchors; ++a) {
            size_t row = (size_t)i * (size_t)anchors->num_anchors + (size_t)a;
            int32_t g = gt_index[row];
            double q = g >= 0 ? iou[row] : 0.0, d[4] = {0, 0, 0, 0};
            int64_t gi = gts->offsets[i] + g;
            int32_t label = g >= 0 ? gts->labels[gi] : -1;
            if (label >= num_classes) {
                st = fail(err, AA_WL_ERR_ARGUMENT, "head: gts.labels[%lld] = %d >= num_classes %d",
                          (long long)gi, label, num_classes);
                break;
            }
            for (int32_t c = 0; c < num_classes; ++c)
                store(head->cls_logits, dtype, row * (size_t)num_classes + (size_t)c,
                      -4.0 + (c == label ? 8.0 * q : 0.0) + synth_normal(&r));
            if (g >= 0) encode(anchors->boxes + 4 * a, gts->boxes + 4 * gi, d);
            for (int c = 0; c < 4; ++c)
                store(head->bbox_deltas, dtype, row * 4 + (size_t)c, q * d[c] + (1.0 - q) * synth_normal(&r));
        }
    }
    free(gt_index);
    free(iou);
    if (st != AA_WL_OK) {
        aa_wl_head_free(head);
        return st;
    }
    head->head.cls_logits = head->cls_logits;
    head->head.bbox_deltas = head->bbox_deltas;
    head->head.dtype = dtype;
    head->head.num_classes = num_classes;
    return AA_WL_OK;
}
