/* parity_paa.h - the PAA part of test_gpu_parity.c (included there after
 * parity_gmm.h, whose device-buffer helpers it uses): aa_paa_costs,
 * aa_assign_paa_costs and aa_assign_paa on the GPU backend against the CPU
 * reference, outputs poisoned before each run:
 *
 *  - the selection (aa_assign_paa_costs, both backends given the same
 *    pre-assignment and costs): gt_index and labels identical, overlap bit for bit
 *    (it is the given cost or +INF);
 *  - the costs (aa_paa_costs): computed in double with the device's exp, log, pow
 *    and log1p, which may differ from glibc's in the last bit; rounded to float that
 *    almost never shows. Rule: bit-identical, or within PAA_COST_ULPS float ulps,
 *    each such cost counted and the largest distance reported;
 *  - the whole of aa_assign_paa: gt_index and labels identical, overlap (the cost)
 *    by the costs' rule.
 * The EM inside the selection runs with the device's exp and log (bit-identical to
 * the reference compiled with them: parity_gmm.h), which may differ from glibc's in
 * the last bit, so a GT whose mixture sits within rounding of a decision (few
 * distinct or tied costs) can tip. Such a difference in gt_index/labels is accepted
 * only when each backend's whole result is exactly the selection rule re-derived by
 * the test (paa_check_rule: its own candidates, sort and separation) evaluated with
 * that backend's own aa_gmm_fit; each is counted and printed.
 * Inputs: fresh random batches (both presets, float32 / float16 / bfloat16 heads,
 * topk 1..40, all-equal and tied costs, GTs with 0, 1, 2 and more candidates,
 * counted), COCO (coco-atss anchors, synthetic heads) and, on OpenCL and CUDA,
 * device buffers with a caller workspace, and non-finite costs in native mode
 * (their GT gets no positive). */
#include "paa_common.h"

#if AA_TEST_HAVE_WORKLOAD
#include "coco_heads.h"
#endif

#define PAA_COST_ULPS 4

static struct {
    int64_t runs, elements, costs, costs_differing, gts_by_candidates[4], nonfinite_gts;
    int64_t max_ulps, em_tipped_runs, em_tipped_anchors;
} paa_stats;

/* What paa_same_out needs to explain a differing assignment by the EM (NULL: it may
 * not differ): both backends' contexts (the GPU one in AA_MEMORY_HOST mode), the
 * inputs, and the costs each backend selected from. */
typedef struct paa_em_check {
    aa_context *cpu, *gpu_host;
    const aa_paa_params *p;
    const aa_anchors *a;
    const aa_gts *g;
    const int32_t *pre;
    const float *cost_cpu, *cost_gpu;
} paa_em_check;

static int64_t paa_ordered(float f)
{
    int32_t i;
    memcpy(&i, &f, 4);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}

/* A value the device computes in double with its own exp/log/pow and rounds to float
 * once: identical, or finite and within `limit` float ulps (counted in *differing,
 * the largest in *max_ulps, each printed). `who`/`quantity` name it ("paa", "cost"). */
static void parity_within_ulps(const char *who, const char *quantity, const char *what, int64_t i,
                               float ref, float got, int64_t limit, int64_t *compared,
                               int64_t *differing, int64_t *max_ulps)
{
    ++*compared;
    if (memcmp(&ref, &got, 4) == 0) return;
    int64_t d = paa_ordered(ref) - paa_ordered(got);
    if (d < 0) d = -d;
    if (!isfinite(ref) || !isfinite(got) || d > limit)
        fail_msg("%s %s: %s %lld: cpu %.9g gpu %.9g (%lld ulps)", who, what, quantity, (long long)i, ref,
                 got, (long long)d);
    ++*differing;
    if (d > *max_ulps) *max_ulps = d;
    fprintf(stderr, "%s %s: %s %lld: cpu %.9g gpu %.9g, %lld ulp(s) apart (device exp/log/pow)\n", who, what,
            quantity, (long long)i, ref, got, (long long)d);
}

/* Costs: identical, or finite and within PAA_COST_ULPS (counted). */
static void paa_same_cost(const char *what, int64_t i, float ref, float got)
{
    parity_within_ulps("paa", "cost", what, i, ref, got, PAA_COST_ULPS, &paa_stats.costs,
                       &paa_stats.costs_differing, &paa_stats.max_ulps);
}

/* Two assignments: gt_index and labels identical (or, with em, both exactly the rule
 * with their own EM: see the file comment); overlap bit for bit (costs_rule: by
 * paa_same_cost). */
static void paa_same_out(const char *what, const test_outputs *ref, const test_outputs *got, int costs_rule,
                         int64_t num_anchors, const paa_em_check *em)
{
    int64_t differ = 0;
    for (int64_t i = 0; i < ref->n; ++i)
        differ += ref->gt_index[i] != got->gt_index[i] || (ref->labels && ref->labels[i] != got->labels[i]);
    if (differ && em) {
        paa_check_rule(em->cpu, em->p, em->a, em->g, em->pre, em->cost_cpu, &ref->out);
        paa_check_rule(em->gpu_host, em->p, em->a, em->g, em->pre, em->cost_gpu, &got->out);
        ++paa_stats.em_tipped_runs, paa_stats.em_tipped_anchors += differ;
        fprintf(stderr, "paa %s: %lld anchors assigned differently, each backend exactly the rule with its "
                "own EM (a mixture within rounding of a decision: device exp/log)\n", what, (long long)differ);
    }
    for (int64_t i = 0; i < ref->n; ++i) {
        if (!em && (ref->gt_index[i] != got->gt_index[i] || (ref->labels && ref->labels[i] != got->labels[i])))
            fail_msg("paa %s: image %lld anchor %lld: cpu (%d, label %d, %.9g) gpu (%d, label %d, %.9g)", what,
                     (long long)(i / num_anchors), (long long)(i % num_anchors), ref->gt_index[i],
                     ref->labels ? ref->labels[i] : 0, ref->overlap[i], got->gt_index[i],
                     got->labels ? got->labels[i] : 0, got->overlap[i]);
        if (costs_rule) paa_same_cost(what, i, ref->overlap[i], got->overlap[i]);
        else if (memcmp(&ref->overlap[i], &got->overlap[i], 4) != 0)
            fail_msg("paa %s: overlap %lld: cpu %.9g gpu %.9g", what, (long long)i, ref->overlap[i],
                     got->overlap[i]);
    }
    paa_stats.elements += ref->n, ++paa_stats.runs;
}

/* Counts the GTs by candidate count (0, 1, 2, more): per level min(topk, GT's
 * pre-assigned anchors of the level). */
static void paa_count_candidates(const aa_anchors *a, const aa_gts *g, const int32_t *pre, int32_t topk)
{
    for (int32_t i = 0; i < g->num_images; ++i)
        for (int64_t k = 0; k < g->offsets[i + 1] - g->offsets[i]; ++k) {
            int64_t n = 0, begin = 0;
            for (int32_t l = 0; l < a->num_levels; ++l) {
                int64_t c = 0;
                for (int64_t x = begin; x < begin + a->level_counts[l]; ++x)
                    c += pre[(int64_t)i * a->num_anchors + x] == k;
                n += c < topk ? c : topk;
                begin += a->level_counts[l];
            }
            ++paa_stats.gts_by_candidates[n < 3 ? n : 3];
        }
}

/* Every PAA call on both backends (host memory) for one batch: the costs, the
 * selection from the CPU's pre-assignment and costs (also all-equal and tied
 * costs), and aa_assign_paa. */
static void paa_parity(aa_context *cpu, aa_context *gpu, const aa_paa_params *p, const aa_anchors *a,
                       const aa_gts *g, const aa_head_outputs *h, const char *what)
{
    int64_t n = (int64_t)g->num_images * a->num_anchors;
    test_outputs pre, ref, got;
    test_outputs_alloc(&pre, g->num_images, a->num_anchors, 0);
    test_outputs_alloc(&ref, g->num_images, a->num_anchors, 1);
    test_outputs_alloc(&got, g->num_images, a->num_anchors, 1);
    float *cost_ref = test_guarded_alloc((size_t)n, 4), *cost_got = test_guarded_alloc((size_t)n, 4);
    assert_int_equal(aa_assign_max_iou(cpu, &p->pre, a, g, &pre.out, NULL, 0), AA_SUCCESS);
    paa_count_candidates(a, g, pre.gt_index, p->topk);

    test_ok(cpu, aa_paa_costs(cpu, p, a, g, h, pre.gt_index, cost_ref), "cpu aa_paa_costs");
    test_guarded_poison(cost_got);
    test_ok(gpu, aa_paa_costs(gpu, p, a, g, h, pre.gt_index, cost_got), "gpu aa_paa_costs");
    test_guarded_check(cost_got);
    for (int64_t i = 0; i < n; ++i) paa_same_cost(what, i, cost_ref[i], cost_got[i]);

    paa_em_check em = {cpu, gpu, p, a, g, pre.gt_index, cost_ref, cost_ref};
    for (int variant = 0; variant < 3; ++variant) { /* own costs, all equal, few values */
        if (variant == 1)
            for (int64_t i = 0; i < n; ++i) cost_ref[i] = 1.5f;
        if (variant == 2)
            for (int64_t i = 0; i < n; ++i) cost_ref[i] = 0.25f * (float)test_int(0, 3);
        test_outputs_poison(&ref), test_outputs_poison(&got);
        test_ok(cpu, aa_assign_paa_costs(cpu, p, a, g, pre.gt_index, cost_ref, &ref.out, NULL, 0),
               "cpu aa_assign_paa_costs");
        test_ok(gpu, aa_assign_paa_costs(gpu, p, a, g, pre.gt_index, cost_ref, &got.out, NULL, 0),
               "gpu aa_assign_paa_costs");
        if (n > 0) test_outputs_check_written(&got);
        paa_same_out(what, &ref, &got, 0, a->num_anchors, &em);
    }

    test_outputs_poison(&ref), test_outputs_poison(&got);
    test_ok(cpu, aa_assign_paa(cpu, p, a, g, h, &ref.out, NULL, 0), "cpu aa_assign_paa");
    test_ok(gpu, aa_assign_paa(gpu, p, a, g, h, &got.out, NULL, 0), "gpu aa_assign_paa");
    if (n > 0) test_outputs_check_written(&got);
    em.cost_gpu = cost_got; /* aa_assign_paa: each backend's own costs (the same pre) */
    paa_same_out(what, &ref, &got, 1, a->num_anchors, &em);
    test_outputs_free(&pre), test_outputs_free(&ref), test_outputs_free(&got);
    test_guarded_free(cost_ref), test_guarded_free(cost_got);
}

/* The batch's float32 head as float16 / bfloat16 (round to nearest even). */
static uint16_t *paa_head_as(const float *v, size_t n, aa_dtype dtype)
{
    uint16_t *out = malloc(n * 2 + 2);
    for (size_t j = 0; j < n; ++j) {
#if AA_TEST_HAVE_WORKLOAD
        out[j] = dtype == AA_FLOAT16 ? aa_wl_float_to_half(v[j]) : aa_wl_float_to_bfloat(v[j]);
#else
        uint32_t bits; /* bfloat16 by truncation; float16 needs aa_workload */
        memcpy(&bits, &v[j], 4);
        out[j] = (uint16_t)(bits >> 16);
        (void)dtype;
#endif
    }
    return out;
}

static void paa_random(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gpu_context(AA_MEMORY_HOST);
    static const int32_t topks[] = {1, 2, 3, 9, 9, 40};
    for (int trial = 0; trial < 60; ++trial) {
        paa_batch b;
        paa_batch_random(&b);
        aa_paa_params p;
        if (trial % 2) aa_paa_params_init_original(&p);
        else aa_paa_params_init(&p);
        p.topk = topks[test_int(0, 5)];
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
        char what[96];
        snprintf(what, sizeof what, "random trial %d (%s, topk %d, dtype %d)", trial,
                 trial % 2 ? "original" : "mmdet", (int)p.topk, dtype);
        paa_parity(cpu, gpu, &p, &b.anchors, &b.gts, &h, what);
        free(logits), free(deltas);
        head_batch_free(&b);
    }
    for (int c = 0; c < 4; ++c) assert_true(paa_stats.gts_by_candidates[c] > 0);
    aa_context_destroy(cpu), aa_context_destroy(gpu);
}

#if AA_TEST_HAVE_WORKLOAD
/* coco-atss anchors, 16 COCO images and 16 with crowd boxes, synthetic heads in
 * the three dtypes, both presets. */
typedef struct paa_coco_run {
    aa_context *cpu, *gpu;
} paa_coco_run;

static void paa_coco_case(const coco_head_case *c, void *user)
{
    paa_coco_run *r = user;
    for (int original = 0; original <= 1; ++original) {
        aa_paa_params p;
        if (original) aa_paa_params_init_original(&p);
        else aa_paa_params_init(&p);
        char what[96];
        snprintf(what, sizeof what, "coco images %d.., dtype %d, %s", (int)c->first_image, (int)c->dtype,
                 original ? "original" : "mmdet");
        paa_parity(r->cpu, r->gpu, &p, c->anchors, c->gts, c->head, what);
    }
}

static void paa_coco(void **state)
{
    (void)state;
    paa_coco_run r = {test_cpu_context(), gpu_context(AA_MEMORY_HOST)};
    coco_heads_for_each(AA_BFLOAT16, paa_coco_case, &r);
    aa_context_destroy(r.cpu), aa_context_destroy(r.gpu);
}
#endif

/* Device buffers: aa_assign_paa with a caller workspace of the queried size (one
 * byte short refused), aa_paa_costs and aa_assign_paa_costs from device arrays;
 * then non-finite costs (NaN, +INF, -INF) for one anchor of some GTs: those GTs
 * get no positive, every other output as the CPU's with those GTs' anchors
 * pre-assigned to nobody, and the overlap there the given cost. */
static void paa_native(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gpu_context(AA_MEMORY_NATIVE);
    for (int trial = 0; trial < 20; ++trial) {
        paa_batch b;
        paa_batch_random(&b);
        aa_paa_params p;
        if (trial % 2) aa_paa_params_init_original(&p);
        else aa_paa_params_init(&p);
        size_t rows = (size_t)b.num_images * (size_t)b.num_anchors, ng = (size_t)b.offsets[b.num_images];
        test_outputs ref, got, pre;
        test_outputs_alloc(&ref, b.num_images, b.num_anchors, 1);
        test_outputs_alloc(&got, b.num_images, b.num_anchors, 1);
        test_outputs_alloc(&pre, b.num_images, b.num_anchors, 0);
        float *cost_ref = malloc(rows * 4), *cost_got = malloc(rows * 4);
        void *da = gmm_dev_put(gpu, b.anchor_boxes, (size_t)b.num_anchors * 16);
        void *dg = gmm_dev_put(gpu, b.gt_boxes, ng * 16), *doff = gmm_dev_put(gpu, b.offsets, (size_t)(b.num_images + 1) * 8);
        void *dflags = gmm_dev_put(gpu, b.crowd, ng), *dlabels = gmm_dev_put(gpu, b.labels, ng * 4);
        void *dlog = gmm_dev_put(gpu, b.logits, rows * (size_t)b.num_classes * 4), *ddel = gmm_dev_put(gpu, b.deltas, rows * 16);
        void *dix = gmm_dev_put(gpu, NULL, rows * 4), *dov = gmm_dev_put(gpu, NULL, rows * 4);
        void *dlb = gmm_dev_put(gpu, NULL, rows * 4), *dpre = gmm_dev_put(gpu, NULL, rows * 4);
        void *dcost = gmm_dev_put(gpu, NULL, rows * 4);
        aa_anchors a = b.anchors;
        a.boxes = da;
        aa_gts g = b.gts;
        g.boxes = dg, g.device_offsets = doff, g.ignore_flags = dflags, g.labels = dlabels;
        aa_head_outputs h = b.head;
        h.cls_logits = dlog, h.bbox_deltas = ddel;
        aa_assignment dout = {dix, dov, dlb};

        /* aa_assign_paa with a caller workspace */
        size_t ws_bytes = 0;
        assert_int_equal(aa_paa_workspace_size(gpu, &p, &a, &g, &ws_bytes), AA_SUCCESS);
        void *ws = gmm_dev_put(gpu, NULL, ws_bytes);
        ASSERT_FAILS(gpu, aa_assign_paa(gpu, &p, &a, &g, &h, &dout, ws, ws_bytes - 1),
                     AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes", 1);
        test_ok(gpu, aa_assign_paa(gpu, &p, &a, &g, &h, &dout, ws, ws_bytes), "gpu native aa_assign_paa");
        test_ok(cpu, aa_assign_paa(cpu, &p, &b.anchors, &b.gts, &b.head, &ref.out, NULL, 0), "cpu aa_assign_paa");
        test_outputs_poison(&got);
        gmm_dev_get(gpu, dix, got.gt_index, rows * 4), gmm_dev_get(gpu, dov, got.overlap, rows * 4);
        gmm_dev_get(gpu, dlb, got.labels, rows * 4);
        paa_same_out("native aa_assign_paa", &ref, &got, 1, b.num_anchors, NULL);
#if TEST_CUDA
        if (trial < 2) { /* captured into a CUDA graph and replayed: the same bytes */
            native_head_call call = {0, &p, &a, &g, &h, &dout, ws, ws_bytes};
            const void *want[3] = {got.gt_index, got.overlap, got.labels};
            cuda_graph_replay(gpu, &call, want, rows * 4, "native aa_assign_paa");
        }
#endif

        /* the costs and the selection from device arrays */
        assert_int_equal(aa_assign_max_iou(cpu, &p.pre, &b.anchors, &b.gts, &pre.out, NULL, 0), AA_SUCCESS);
        test_ok(cpu, aa_paa_costs(cpu, &p, &b.anchors, &b.gts, &b.head, pre.gt_index, cost_ref), "cpu costs");
        gmm_dev_free(dpre);
        dpre = gmm_dev_put(gpu, pre.gt_index, rows * 4);
        test_ok(gpu, aa_paa_costs(gpu, &p, &a, &g, &h, dpre, dcost), "gpu native aa_paa_costs");
        gmm_dev_get(gpu, dcost, cost_got, rows * 4);
        for (size_t i = 0; i < rows; ++i) paa_same_cost("native aa_paa_costs", (int64_t)i, cost_ref[i], cost_got[i]);

        /* non-finite costs for one pre-assigned anchor of every other GT; both
         * backends get the CPU's costs otherwise */
        static const float bad[3] = {NAN, INFINITY, -INFINITY};
        char *spoilt = calloc(ng + 1, 1);
        memcpy(cost_got, cost_ref, rows * 4);
        for (int32_t i = 0; i < b.num_images; ++i)
            for (int64_t k = 0; k < b.offsets[i + 1] - b.offsets[i]; ++k) {
                if ((k + trial) % 2) continue;
                for (int64_t x = 0; x < b.num_anchors; ++x) {
                    int64_t r = (int64_t)i * b.num_anchors + x;
                    if (pre.gt_index[r] != k) continue;
                    cost_got[r] = bad[test_int(0, 2)];
                    spoilt[b.offsets[i] + k] = 1;
                    ++paa_stats.nonfinite_gts;
                    break;
                }
            }
        gmm_dev_free(dcost);
        dcost = gmm_dev_put(gpu, cost_got, rows * 4);
        int32_t *pre_clean = malloc(rows * 4 + 4);
        for (int32_t i = 0; i < b.num_images; ++i)
            for (int64_t x = 0; x < b.num_anchors; ++x) {
                int64_t r = (int64_t)i * b.num_anchors + x;
                int32_t k = pre.gt_index[r];
                pre_clean[r] = k >= 0 && spoilt[b.offsets[i] + k] ? AA_NEGATIVE : k;
            }
        size_t sel_bytes = 0;
        assert_int_equal(aa_paa_select_workspace_size(gpu, &p, &a, &g, &sel_bytes), AA_SUCCESS);
        assert_true(sel_bytes <= ws_bytes);
        test_ok(gpu, aa_assign_paa_costs(gpu, &p, &a, &g, dpre, dcost, &dout, ws, sel_bytes),
               "gpu native aa_assign_paa_costs");
        test_ok(cpu, aa_assign_paa_costs(cpu, &p, &b.anchors, &b.gts, pre_clean, cost_ref, &ref.out, NULL, 0),
               "cpu aa_assign_paa_costs");
        test_outputs_poison(&got);
        gmm_dev_get(gpu, dix, got.gt_index, rows * 4), gmm_dev_get(gpu, dov, got.overlap, rows * 4);
        gmm_dev_get(gpu, dlb, got.labels, rows * 4);
        for (size_t r = 0; r < rows; ++r) /* the spoilt GTs' anchors: negative, the given cost */
            if (pre.gt_index[r] >= 0 && pre_clean[r] < 0) {
                assert_int_equal(got.gt_index[r], AA_NEGATIVE);
                assert_memory_equal(&got.overlap[r], &cost_got[r], 4);
                ref.overlap[r] = got.overlap[r];
            }
        paa_same_out("native aa_assign_paa_costs, non-finite costs", &ref, &got, 0, b.num_anchors, NULL);
        free(spoilt), free(pre_clean);

        gmm_dev_free(ws), gmm_dev_free(da), gmm_dev_free(dg), gmm_dev_free(doff), gmm_dev_free(dflags);
        gmm_dev_free(dlabels), gmm_dev_free(dlog), gmm_dev_free(ddel), gmm_dev_free(dix), gmm_dev_free(dov);
        gmm_dev_free(dlb), gmm_dev_free(dpre), gmm_dev_free(dcost);
        free(cost_ref), free(cost_got);
        test_outputs_free(&ref), test_outputs_free(&got), test_outputs_free(&pre);
        head_batch_free(&b);
    }
    aa_context_destroy(cpu), aa_context_destroy(gpu);
}

static void paa_summary(void)
{
    fprintf(stderr,
            "%s paa parity: %lld runs, %lld outputs (gt_index, labels identical); %lld costs, %lld not "
            "bit-identical (largest %lld ulps, limit %d); GTs by candidates 0/1/2/more: %lld/%lld/%lld/%lld; "
            "%lld GTs with a non-finite cost got no positive; %lld runs where a mixture within rounding "
            "of a decision tipped (%lld anchors), each backend exactly the rule with its own EM\n",
            aa_backend_name(TEST_BACKEND), (long long)paa_stats.runs, (long long)paa_stats.elements,
            (long long)paa_stats.costs, (long long)paa_stats.costs_differing, (long long)paa_stats.max_ulps,
            PAA_COST_ULPS, (long long)paa_stats.gts_by_candidates[0], (long long)paa_stats.gts_by_candidates[1],
            (long long)paa_stats.gts_by_candidates[2], (long long)paa_stats.gts_by_candidates[3],
            (long long)paa_stats.nonfinite_gts, (long long)paa_stats.em_tipped_runs,
            (long long)paa_stats.em_tipped_anchors);
}
