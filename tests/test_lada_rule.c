/* test_lada_rule.c - aa_assign_lada against the independent brute force of
 * lada_common.h, bit for bit (gt_index, overlap, labels), on fresh random inputs (seed
 * printed; AA_TEST_SEED reproduces) and on real COCO boxes with synthetic head
 * outputs (coco-atss anchors, aa_wl_head_make, 91 classes); outputs poisoned before
 * every call; a caller workspace of exactly the size asked gives the same bits, and
 * a second run too. */
#include "lada_common.h"
#include "half_bits.h"

#if AA_TEST_HAVE_WORKLOAD
#include "coco_heads.h"
#endif

/* One call with the context's workspace, one with a caller workspace of exactly
 * aa_lada_workspace_size bytes (guarded, its alignment slack poisoned), both
 * compared with the brute force. Returns the positives. */
static int64_t check_all(aa_context *ctx, const aa_lada_params *p, const aa_anchors *a,
                         const aa_gts *g, const aa_head_outputs *h, const float *logits,
                         const float *deltas)
{
    size_t rows = (size_t)g->num_images * (size_t)a->num_anchors;
    test_outputs first, again;
    test_outputs_alloc(&first, g->num_images, a->num_anchors, 1);
    test_outputs_alloc(&again, g->num_images, a->num_anchors, 1);
    test_ok(ctx, aa_assign_lada(ctx, p, a, g, h, &first.out, NULL, 0), "aa_assign_lada");
    test_outputs_check_written(&first);
    int64_t positives = lada_check_rule(p, a, g, logits, deltas, h->num_classes, &first.out);

    size_t bytes = 0;
    test_ok(ctx, aa_lada_workspace_size(ctx, p, a, g, &bytes), "aa_lada_workspace_size");
    unsigned char *block = test_guarded_alloc(bytes + AA_WORKSPACE_ALIGNMENT, 1);
    unsigned char *ws = block + (AA_WORKSPACE_ALIGNMENT - (uintptr_t)block % AA_WORKSPACE_ALIGNMENT) %
                                    AA_WORKSPACE_ALIGNMENT;
    test_ok(ctx, aa_assign_lada(ctx, p, a, g, h, &again.out, ws, bytes), "aa_assign_lada (workspace)");
    test_guarded_check(block);
    for (unsigned char *c = block; c < ws; ++c) assert_int_equal(*c, 0xCD);
    for (unsigned char *c = ws + bytes; c < block + bytes + AA_WORKSPACE_ALIGNMENT; ++c)
        assert_int_equal(*c, 0xCD);
    test_guarded_free(block);
    assert_memory_equal(first.gt_index, again.gt_index, rows * sizeof(int32_t));
    assert_memory_equal(first.overlap, again.overlap, rows * sizeof(float));
    assert_memory_equal(first.labels, again.labels, rows * sizeof(int32_t));
    test_outputs_free(&first), test_outputs_free(&again);
    return positives;
}

/* Random batches under random parameters (half of them the defaults). */
static void random_inputs(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    int64_t positives = 0, gts = 0;
    for (int round = 0; round < 400; ++round) {
        lada_batch b;
        aa_lada_params p;
        lada_batch_random(&b);
        lada_params_random(&p);
        positives += check_all(ctx, &p, &b.anchors, &b.gts, &b.head, b.logits, b.deltas);
        gts += b.offsets[b.num_images];
        head_batch_free(&b);
    }
    fprintf(stderr, "random: 400 batches, %lld GTs, %lld positives checked\n", (long long)gts,
            (long long)positives);
    assert_true(positives > 0);
    aa_context_destroy(ctx);
}

#if AA_TEST_HAVE_WORKLOAD
/* 16 COCO images (no crowd boxes) and 16 with crowd boxes (from image 100), coco-atss
 * anchors, synthetic heads in float32 and float16 (the brute force reads the float16
 * values converted to float, the library the float16 array itself); the defaults,
 * mean + std, and an unclipped wider region. */
static void coco_case(const coco_head_case *c, void *user)
{
    aa_context *ctx = user;
    size_t rows = (size_t)c->gts->num_images * (size_t)c->anchors->num_anchors;
    size_t nl = rows * AA_WL_COCO_CLASSES;
    float *logits = (float *)c->head->cls_logits, *deltas = (float *)c->head->bbox_deltas;
    if (c->dtype == AA_FLOAT16) {
        logits = malloc(nl * sizeof(float)), deltas = malloc(rows * 4 * sizeof(float));
        for (size_t j = 0; j < nl; ++j) logits[j] = half_bits_to_float(((const uint16_t *)c->head->cls_logits)[j]);
        for (size_t j = 0; j < rows * 4; ++j)
            deltas[j] = half_bits_to_float(((const uint16_t *)c->head->bbox_deltas)[j]);
    }
    for (int variant = 0; variant < 3; ++variant) {
        aa_lada_params p;
        aa_lada_params_init(&p);
        if (variant == 1) p.threshold = AA_LADA_MEAN_STD;
        if (variant == 2) p.clip_region_to_gt = 0, p.region_radius = 2.5f;
        int64_t positives = check_all(ctx, &p, c->anchors, c->gts, c->head, logits, deltas);
        int64_t gts = c->gts->offsets[16];
        fprintf(stderr, "coco images %d..%d, %s head, variant %d: %lld positives for %lld GTs\n",
                (int)c->first_image, (int)c->first_image + 15, c->dtype == AA_FLOAT32 ? "float32" : "float16",
                variant, (long long)positives, (long long)gts);
        assert_true(positives > 0);
    }
    if (c->dtype == AA_FLOAT16) free(logits), free(deltas);
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
#if AA_TEST_HAVE_WORKLOAD
        cmocka_unit_test(coco),
#endif
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
