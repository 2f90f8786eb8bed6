/* parity_lada.h - the LADA part of test_gpu_parity.c (included there after
 * parity_paa.h, whose helpers it uses: parity_within_ulps, paa_head_as, gmm_dev_*):
 * aa_assign_lada on the GPU backend against the CPU reference, outputs poisoned
 * before each run.
 *
 * Rule: gt_index and labels identical; overlap (the winning loss, +INF for
 * negatives) bit for bit, or within LADA_LOSS_ULPS float ulps, each such loss
 * counted and the largest distance reported. The losses are computed in double with
 * the device's exp, log, pow and log1p, which may differ from glibc's in the last bit
 * of a double; rounded to float32 that almost never shows (PAA's identical costs: 0
 * of ~8.6 million differed on PoCL). A loss that did differ could sit right at a GT's
 * threshold and move an anchor; the GPU does not expose its candidates' losses, so
 * the test cannot re-derive the rule from them as parity_paa.h does for the EM: any
 * difference in gt_index or labels fails, with its seed (AA_TEST_SEED), to be
 * explained then. None has been seen.
 * Inputs: fresh random batches (tests/lada_common.h's generator: crowd, duplicate and
 * zero-size GTs; random parameters, both thresholds, clip on and off, topk 1..30 and
 * large; float32 / float16 / bfloat16 heads; GTs with 0, 1, 2 and more candidates,
 * counted), COCO (coco-atss anchors, synthetic heads in the three dtypes), and device
 * buffers with a caller workspace (one byte short refused) and NaN head outputs in
 * device memory, whose GTs get no positive (the CPU is given those GTs as crowd). */
#include "lada_common.h"

#if AA_TEST_HAVE_WORKLOAD
#include "coco_heads.h"
#endif

#define LADA_LOSS_ULPS 4

static struct {
    int64_t runs, elements, positives, losses, losses_differing, max_ulps, gts_by_candidates[4], nonfinite_gts;
} lada_stats;

/* Whether anchor `j` (level l) lies in GT gt's region, as lada_common.h's brute force. */
static int lada_in_region(const aa_lada_params *p, const aa_anchors *a, int32_t l, const float *gt, int64_t j)
{
    double w = (double)gt[2] - gt[0], h = (double)gt[3] - gt[1];
    if (!(w > 0.0 && h > 0.0)) return 0;
    float gx = (gt[0] + gt[2]) / 2.0f, gy = (gt[1] + gt[3]) / 2.0f;
    double rw = (double)p->region_radius * a->level_strides[l] * sqrt(w / h);
    double rh = (double)p->region_radius * a->level_strides[l] * sqrt(h / w);
    double x1 = gx - rw, x2 = gx + rw, y1 = gy - rh, y2 = gy + rh;
    if (p->clip_region_to_gt) {
        if (x1 < gt[0]) x1 = gt[0];
        if (y1 < gt[1]) y1 = gt[1];
        if (x2 > gt[2]) x2 = gt[2];
        if (y2 > gt[3]) y2 = gt[3];
    }
    const float *box = a->boxes + 4 * j;
    float ax = (box[0] + box[2]) / 2.0f, ay = (box[1] + box[3]) / 2.0f;
    return ax > x1 && ax < x2 && ay > y1 && ay < y2;
}

/* Counts the GTs by candidate count (0, 1, 2, more): crowd and zero-size GTs have none. */
static void lada_count_candidates(const aa_lada_params *p, const aa_anchors *a, const aa_gts *g)
{
    for (int64_t k = 0; k < g->offsets[g->num_images]; ++k) {
        int64_t n = 0, begin = 0;
        for (int32_t l = 0; l < a->num_levels; ++l) {
            int64_t c = 0;
            if (!(g->ignore_flags && g->ignore_flags[k]))
                for (int64_t j = begin; j < begin + a->level_counts[l]; ++j)
                    c += lada_in_region(p, a, l, g->boxes + 4 * k, j);
            n += c < p->topk_per_level ? c : p->topk_per_level;
            begin += a->level_counts[l];
        }
        if (n > p->topk) n = p->topk;
        ++lada_stats.gts_by_candidates[n < 3 ? n : 3];
    }
}

static void lada_same_loss(const char *what, int64_t i, float ref, float got)
{
    parity_within_ulps("lada", "loss", what, i, ref, got, LADA_LOSS_ULPS, &lada_stats.losses,
                       &lada_stats.losses_differing, &lada_stats.max_ulps);
}

/* gt_index and labels identical, overlap by lada_same_loss. */
static void lada_same_out(const char *what, const test_outputs *ref, const test_outputs *got, int64_t num_anchors)
{
    for (int64_t i = 0; i < ref->n; ++i) {
        if (ref->gt_index[i] != got->gt_index[i] || (ref->labels && ref->labels[i] != got->labels[i]))
            fail_msg("lada %s: image %lld anchor %lld: cpu (%d, label %d, %.9g) gpu (%d, label %d, %.9g)", what,
                     (long long)(i / num_anchors), (long long)(i % num_anchors), ref->gt_index[i],
                     ref->labels ? ref->labels[i] : 0, ref->overlap[i], got->gt_index[i],
                     got->labels ? got->labels[i] : 0, got->overlap[i]);
        lada_same_loss(what, i, ref->overlap[i], got->overlap[i]);
        lada_stats.positives += ref->gt_index[i] >= 0;
    }
    lada_stats.elements += ref->n, ++lada_stats.runs;
}

/* aa_assign_lada on both backends (host memory), fresh poisoned outputs. */
static void lada_parity(aa_context *cpu, aa_context *gpu, const aa_lada_params *p, const aa_anchors *a,
                        const aa_gts *g, const aa_head_outputs *h, const char *what)
{
    int64_t n = (int64_t)g->num_images * a->num_anchors;
    test_outputs ref, got;
    test_outputs_alloc(&ref, g->num_images, a->num_anchors, 1);
    test_outputs_alloc(&got, g->num_images, a->num_anchors, 1);
    test_outputs_poison(&ref), test_outputs_poison(&got);
    test_ok(cpu, aa_assign_lada(cpu, p, a, g, h, &ref.out, NULL, 0), "cpu aa_assign_lada");
    test_ok(gpu, aa_assign_lada(gpu, p, a, g, h, &got.out, NULL, 0), "gpu aa_assign_lada");
    if (n > 0) test_outputs_check_written(&got);
    lada_same_out(what, &ref, &got, a->num_anchors);
    test_outputs_free(&ref), test_outputs_free(&got);
}

static void lada_random(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gpu_context(AA_MEMORY_HOST);
    for (int trial = 0; trial < 90; ++trial) {
        lada_batch b;
        lada_batch_random(&b);
        aa_lada_params p;
        lada_params_random(&p);
        if (trial % 3 == 0) p.threshold = trial % 2 ? AA_LADA_MEAN_STD : AA_LADA_MEAN;
        if (trial % 5 == 0) p.clip_region_to_gt = trial % 2;
        if (trial % 7 == 0) p.topk_per_level = 1 + test_int(0, 1), p.topk = test_int(1, 3); /* small */
        if (trial % 11 == 0) p.topk_per_level = 200, p.topk = 600;                       /* large */
        int dtype = trial % 3;
#if !AA_TEST_HAVE_WORKLOAD
        if (dtype == AA_FLOAT16) dtype = AA_BFLOAT16;
#endif
        aa_head_outputs h = b.head;
        uint16_t *logits = NULL, *deltas = NULL;
        size_t rows = (size_t)b.num_images * (size_t)b.num_anchors;
        if (dtype != AA_FLOAT32) {
            logits = paa_head_as(b.logits, rows * (size_t)b.num_classes, (aa_dtype)dtype);
            deltas = paa_head_as(b.deltas, rows * 4, (aa_dtype)dtype);
            h.cls_logits = logits, h.bbox_deltas = deltas, h.dtype = (aa_dtype)dtype;
        }
        lada_count_candidates(&p, &b.anchors, &b.gts);
        char what[128];
        snprintf(what, sizeof what, "random trial %d (%s, clip %d, topk %d/%d, dtype %d)", trial,
                 p.threshold == AA_LADA_MEAN_STD ? "mean+std" : "mean", (int)p.clip_region_to_gt,
                 (int)p.topk_per_level, (int)p.topk, dtype);
        lada_parity(cpu, gpu, &p, &b.anchors, &b.gts, &h, what);
        free(logits), free(deltas);
        head_batch_free(&b);
    }
    for (int c = 0; c < 4; ++c) assert_true(lada_stats.gts_by_candidates[c] > 0);
    assert_true(lada_stats.positives > 0);
    aa_context_destroy(cpu), aa_context_destroy(gpu);
}

#if AA_TEST_HAVE_WORKLOAD
/* coco-atss anchors, 16 COCO images and 16 with crowd boxes, synthetic heads in the
 * three dtypes; the defaults, and mean + std without clipping. */
typedef struct lada_coco_run {
    aa_context *cpu, *gpu;
} lada_coco_run;

static void lada_coco_case(const coco_head_case *c, void *user)
{
    lada_coco_run *r = user;
    aa_lada_params p;
    aa_lada_params_init(&p);
    if ((c->part + (int)c->dtype) % 2) p.threshold = AA_LADA_MEAN_STD, p.clip_region_to_gt = 0;
    char what[96];
    snprintf(what, sizeof what, "coco images %d.., dtype %d, %s", (int)c->first_image, (int)c->dtype,
             p.threshold == AA_LADA_MEAN_STD ? "mean+std, no clip" : "defaults");
    lada_count_candidates(&p, c->anchors, c->gts);
    lada_parity(r->cpu, r->gpu, &p, c->anchors, c->gts, c->head, what);
}

static void lada_coco(void **state)
{
    (void)state;
    lada_coco_run r = {test_cpu_context(), gpu_context(AA_MEMORY_HOST)};
    coco_heads_for_each(AA_BFLOAT16, lada_coco_case, &r);
    aa_context_destroy(r.cpu), aa_context_destroy(r.gpu);
}
#endif

/* Device buffers: aa_assign_lada with a caller workspace of the queried size (one
 * byte short refused, nothing written); then a NaN logit in one anchor's row of
 * every image in device memory: every GT with that anchor in its region gets no
 * positive (the CPU, which refuses NaN, is given those GTs as crowd). */
static void lada_native(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gpu_context(AA_MEMORY_NATIVE);
    for (int trial = 0; trial < 20; ++trial) {
        lada_batch b;
        lada_batch_random(&b);
        aa_lada_params p;
        lada_params_random(&p);
        size_t rows = (size_t)b.num_images * (size_t)b.num_anchors, ng = (size_t)b.offsets[b.num_images];
        test_outputs ref, got;
        test_outputs_alloc(&ref, b.num_images, b.num_anchors, 1);
        test_outputs_alloc(&got, b.num_images, b.num_anchors, 1);
        void *da = gmm_dev_put(gpu, b.anchor_boxes, (size_t)b.num_anchors * 16);
        void *dg = gmm_dev_put(gpu, b.gt_boxes, ng * 16), *doff = gmm_dev_put(gpu, b.offsets, (size_t)(b.num_images + 1) * 8);
        void *dflags = gmm_dev_put(gpu, b.crowd, ng), *dlabels = gmm_dev_put(gpu, b.labels, ng * 4);
        void *dlog = gmm_dev_put(gpu, b.logits, rows * (size_t)b.num_classes * 4), *ddel = gmm_dev_put(gpu, b.deltas, rows * 16);
        void *dix = gmm_dev_put(gpu, NULL, rows * 4), *dov = gmm_dev_put(gpu, NULL, rows * 4);
        void *dlb = gmm_dev_put(gpu, NULL, rows * 4);
        aa_anchors a = b.anchors;
        a.boxes = da;
        aa_gts g = b.gts;
        g.boxes = dg, g.device_offsets = doff, g.ignore_flags = dflags, g.labels = dlabels;
        aa_head_outputs h = b.head;
        h.cls_logits = dlog, h.bbox_deltas = ddel;
        aa_assignment dout = {dix, dov, dlb};

        size_t ws_bytes = 0;
        assert_int_equal(aa_lada_workspace_size(gpu, &p, &a, &g, &ws_bytes), AA_SUCCESS);
        assert_true(ws_bytes > 0);
        void *ws = gmm_dev_put(gpu, NULL, ws_bytes);
        ASSERT_FAILS(gpu, aa_assign_lada(gpu, &p, &a, &g, &h, &dout, ws, ws_bytes - 1),
                     AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes", 1);
        test_ok(gpu, aa_assign_lada(gpu, &p, &a, &g, &h, &dout, ws, ws_bytes), "gpu native aa_assign_lada");
        test_ok(cpu, aa_assign_lada(cpu, &p, &b.anchors, &b.gts, &b.head, &ref.out, NULL, 0), "cpu aa_assign_lada");
        test_outputs_poison(&got);
        gmm_dev_get(gpu, dix, got.gt_index, rows * 4), gmm_dev_get(gpu, dov, got.overlap, rows * 4);
        gmm_dev_get(gpu, dlb, got.labels, rows * 4);
        lada_same_out("native", &ref, &got, b.num_anchors);
#if TEST_CUDA
        if (trial < 2) { /* captured into a CUDA graph and replayed: the same bytes */
            native_head_call call = {1, &p, &a, &g, &h, &dout, ws, ws_bytes};
            const void *want[3] = {got.gt_index, got.overlap, got.labels};
            cuda_graph_replay(gpu, &call, want, rows * 4, "native aa_assign_lada");
        }
#endif

        /* a NaN logit for one anchor per image (in device memory only) */
        float *bad_logits = malloc(rows * (size_t)b.num_classes * 4);
        memcpy(bad_logits, b.logits, rows * (size_t)b.num_classes * 4);
        uint8_t *crowd = malloc(ng + 1);
        memcpy(crowd, b.crowd, ng);
        for (int32_t i = 0; i < b.num_images; ++i) {
            /* an anchor in the region of one of the image's GTs where there is one */
            int64_t j = test_int(0, (int)b.num_anchors - 1), begin = 0;
            int64_t pick = b.offsets[i + 1] > b.offsets[i] ? test_int((int)b.offsets[i], (int)b.offsets[i + 1] - 1) : -1;
            for (int64_t x = 0, lb = 0, ll = 0; pick >= 0 && x < b.num_anchors; ++x) {
                if (x >= lb + b.level_counts[ll]) lb += b.level_counts[ll++];
                if (lada_in_region(&p, &b.anchors, (int32_t)ll, b.gt_boxes + 4 * pick, x)) {
                    j = x;
                    break;
                }
            }
            int32_t l = 0;
            while (j >= begin + b.level_counts[l]) begin += b.level_counts[l++];
            bad_logits[((size_t)i * (size_t)b.num_anchors + (size_t)j) * (size_t)b.num_classes] = NAN;
            for (int64_t k = b.offsets[i]; k < b.offsets[i + 1]; ++k)
                if (!crowd[k] && lada_in_region(&p, &b.anchors, l, b.gt_boxes + 4 * k, j))
                    crowd[k] = 1, ++lada_stats.nonfinite_gts;
        }
        gmm_dev_free(dlog);
        dlog = gmm_dev_put(gpu, bad_logits, rows * (size_t)b.num_classes * 4);
        h.cls_logits = dlog;
        aa_gts gc = b.gts;
        gc.ignore_flags = crowd;
        test_ok(gpu, aa_assign_lada(gpu, &p, &a, &g, &h, &dout, ws, ws_bytes), "gpu native aa_assign_lada, NaN");
        test_ok(cpu, aa_assign_lada(cpu, &p, &b.anchors, &gc, &b.head, &ref.out, NULL, 0), "cpu aa_assign_lada, crowd");
        test_outputs_poison(&got);
        gmm_dev_get(gpu, dix, got.gt_index, rows * 4), gmm_dev_get(gpu, dov, got.overlap, rows * 4);
        gmm_dev_get(gpu, dlb, got.labels, rows * 4);
        lada_same_out("native, NaN logits", &ref, &got, b.num_anchors);
        free(bad_logits), free(crowd);

        gmm_dev_free(ws), gmm_dev_free(da), gmm_dev_free(dg), gmm_dev_free(doff), gmm_dev_free(dflags);
        gmm_dev_free(dlabels), gmm_dev_free(dlog), gmm_dev_free(ddel), gmm_dev_free(dix), gmm_dev_free(dov);
        gmm_dev_free(dlb);
        test_outputs_free(&ref), test_outputs_free(&got);
        head_batch_free(&b);
    }
    assert_true(lada_stats.nonfinite_gts > 0);
    aa_context_destroy(cpu), aa_context_destroy(gpu);
}

static void lada_summary(void)
{
    fprintf(stderr,
            "%s lada parity: %lld runs, %lld outputs (gt_index, labels identical; %lld positives); %lld losses, "
            "%lld not bit-identical (largest %lld ulps, limit %d); GTs by candidates 0/1/2/more: "
            "%lld/%lld/%lld/%lld; %lld GTs with a NaN loss in device memory got no positive\n",
            aa_backend_name(TEST_BACKEND), (long long)lada_stats.runs, (long long)lada_stats.elements,
            (long long)lada_stats.positives, (long long)lada_stats.losses, (long long)lada_stats.losses_differing,
            (long long)lada_stats.max_ulps, LADA_LOSS_ULPS, (long long)lada_stats.gts_by_candidates[0],
            (long long)lada_stats.gts_by_candidates[1], (long long)lada_stats.gts_by_candidates[2],
            (long long)lada_stats.gts_by_candidates[3], (long long)lada_stats.nonfinite_gts);
}
