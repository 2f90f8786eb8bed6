/* test_paa_compose.c - aa_assign_paa is exactly aa_assign_max_iou(params.pre) ->
 * aa_paa_costs -> aa_assign_paa_costs (bit for bit, also with caller workspaces), and
 * its positives are what the selection rule gives when re-derived independently
 * (paa_common.h), on fresh random inputs (seed printed; AA_TEST_SEED reproduces) and
 * on real COCO boxes with synthetic head outputs (coco-atss anchors, aa_wl_head_make,
 * 91 classes: the labels are COCO category ids). */
#include "paa_common.h"

#if AA_TEST_HAVE_WORKLOAD
#include "coco_heads.h"
#endif

/* Composition, the rule, and what must hold whatever the costs: a positive was
 * pre-assigned to the same GT, is never a crowd GT, pre-ignored anchors stay ignored;
 * a second run gives the same bits. Returns the positives. */
static int64_t check_all(aa_context *ctx, const aa_paa_params *p, const aa_anchors *a,
                         const aa_gts *g, const aa_head_outputs *h)
{
    size_t rows = (size_t)g->num_images * (size_t)a->num_anchors;
    test_outputs whole, steps;
    test_outputs_alloc(&whole, g->num_images, a->num_anchors, 1);
    test_outputs_alloc(&steps, g->num_images, a->num_anchors, 1);
    int32_t *pre = malloc(rows * sizeof(int32_t) + 4);
    float *costs = malloc(rows * sizeof(float) + 4);
    paa_check_composition(ctx, p, a, g, h, pre, costs, &whole, &steps);
    int64_t positives = paa_check_rule(ctx, p, a, g, pre, costs, &whole.out);
    for (int32_t i = 0; i < g->num_images; ++i)
        for (int64_t k = 0; k < a->num_anchors; ++k) {
            size_t r = (size_t)i * (size_t)a->num_anchors + (size_t)k;
            int32_t gt = whole.gt_index[r];
            if (gt >= 0) {
                assert_int_equal(pre[r], gt);
                assert_false(g->ignore_flags && g->ignore_flags[g->offsets[i] + gt]);
            }
            if (pre[r] == AA_IGNORED) assert_int_equal(gt, AA_IGNORED);
            if (pre[r] == AA_NEGATIVE) assert_int_equal(gt, AA_NEGATIVE);
        }
    test_outputs_poison(&steps);
    test_ok(ctx, aa_assign_paa(ctx, p, a, g, h, &steps.out, NULL, 0), "aa_assign_paa (again)");
    assert_memory_equal(whole.gt_index, steps.gt_index, rows * sizeof(int32_t));
    assert_memory_equal(whole.overlap, steps.overlap, rows * sizeof(float));
    assert_memory_equal(whole.labels, steps.labels, rows * sizeof(int32_t));
    test_outputs_free(&whole), test_outputs_free(&steps);
    free(pre), free(costs);
    return positives;
}

/* Random batches under both parameter sets, now and then with a small topk, a crowd
 * ignore threshold in the pre-assignment (AA_IGNORED codes), few EM iterations or the
 * other covariance. */
static void random_inputs(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    int64_t positives = 0, batches = 0;
    for (int round = 0; round < 300; ++round) {
        paa_batch b;
        paa_batch_random(&b);
        aa_paa_params p;
        if (round % 2) aa_paa_params_init_original(&p);
        else aa_paa_params_init(&p);
        if (test_int(0, 2) == 0) p.topk = test_int(1, 4);
        if (test_int(0, 2) == 0) p.pre.ignore_iof_thr = 0.5f;
        if (test_int(0, 4) == 0) p.gmm.max_iter = test_int(1, 3);
        if (test_int(0, 4) == 0)
            p.gmm.covariance = p.gmm.covariance == AA_GMM_DIAG ? AA_GMM_FULL : AA_GMM_DIAG;
        positives += check_all(ctx, &p, &b.anchors, &b.gts, &b.head);
        ++batches;
        head_batch_free(&b);
    }
    fprintf(stderr, "random: %lld batches, %lld positives checked\n", (long long)batches,
            (long long)positives);
    assert_true(positives > 0);
    aa_context_destroy(ctx);
}

/* Finite head outputs whose cost overflows float32 (two non-target logits of 3e38):
 * aa_paa_costs gives +inf for a pre-assigned anchor, which aa_assign_paa_costs refuses
 * (not finite). aa_assign_paa must agree with the calls it is made of. */
static void overflowing_cost(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float boxes[12] = {0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60};
    const float gt_boxes[8] = {0, 0, 10, 10, 0, 0, 30, 30}, deltas[12] = {0};
    const float logits[9] = {3e38f, 3e38f, 3e38f, 0, 0, 0, 0, 0, 0};
    const int64_t offsets[2] = {0, 2};
    const int32_t labels[2] = {0, 1};
    int64_t count;
    float stride;
    aa_anchors a = test_anchors_1level(boxes, 3, &count, &stride);
    aa_gts g = {gt_boxes, offsets, 1, NULL, labels, NULL};
    aa_head_outputs h = {logits, deltas, AA_FLOAT32, 3};
    aa_paa_params p;
    aa_paa_params_init(&p);
    int32_t pre[3];
    float costs[3];
    aa_assignment pre_out = {pre, NULL, NULL};
    test_ok(ctx, aa_assign_max_iou(ctx, &p.pre, &a, &g, &pre_out, NULL, 0), "pre");
    assert_true(pre[0] >= 0);
    test_ok(ctx, aa_paa_costs(ctx, &p, &a, &g, &h, pre, costs), "aa_paa_costs");
    assert_true(isinf(costs[0]));
    test_outputs steps, whole;
    test_outputs_alloc(&steps, 1, 3, 1), test_outputs_alloc(&whole, 1, 3, 1);
    aa_status composed = aa_assign_paa_costs(ctx, &p, &a, &g, pre, costs, &steps.out, NULL, 0);
    aa_status st = aa_assign_paa(ctx, &p, &a, &g, &h, &whole.out, NULL, 0);
    if (st != composed)
        fail_msg("aa_assign_paa: %s (%s); the composed calls: %s", aa_status_string(st),
                 aa_context_last_error(ctx), aa_status_string(composed));
    if (st == AA_SUCCESS) assert_memory_equal(whole.gt_index, steps.gt_index, 3 * sizeof(int32_t));
    else assert_true(test_outputs_untouched(&whole));
    test_outputs_free(&steps), test_outputs_free(&whole);
    aa_context_destroy(ctx);
}

#if AA_TEST_HAVE_WORKLOAD
/* 16 COCO images (no crowd boxes) and 16 with crowd boxes (from image 100), coco-atss
 * anchors, synthetic heads in float32 and float16. */
static void coco_case(const coco_head_case *c, void *user)
{
    aa_context *ctx = user;
    for (int original = 0; original <= 1; ++original) {
        aa_paa_params p;
        if (original) aa_paa_params_init_original(&p);
        else aa_paa_params_init(&p);
        int64_t positives = check_all(ctx, &p, c->anchors, c->gts, c->head);
        fprintf(stderr, "coco images %d..%d, %s head, %s: %lld positives\n", (int)c->first_image,
                (int)c->first_image + 15, c->dtype == AA_FLOAT32 ? "float32" : "float16",
                original ? "original" : "mmdet", (long long)positives);
        assert_true(positives > 0);
    }
}

static void coco(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    coco_heads_for_each(AA_FLOAT16, coco_case, ctx);
    aa_context_destroy(ctx);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_inputs),
        cmocka_unit_test(overflowing_cost),
#if AA_TEST_HAVE_WORKLOAD
        cmocka_unit_test(coco),
#endif
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
