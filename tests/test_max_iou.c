/* test_max_iou.c - MaxIoUAssigner: mmdetection's docstring example, hand-computed
 * cases for every rule, and properties on random ragged batches. */
#include "common.h"

#include <math.h>

typedef struct case_t {
    int64_t count;
    float stride;
    aa_anchors anchors;
    int64_t offsets[2];
    aa_gts gts;
    test_outputs t;
} case_t;

static void setup_case(case_t *c, const float *anchors, int64_t na, const float *gts, int64_t ng,
                       const uint8_t *crowd, const int32_t *labels)
{
    c->anchors = test_anchors_1level(anchors, na, &c->count, &c->stride);
    c->offsets[0] = 0, c->offsets[1] = ng;
    aa_gts g = {gts, c->offsets, 1, crowd, labels, NULL};
    c->gts = g;
    test_outputs_alloc(&c->t, 1, na, labels != NULL);
}

static void run_case(aa_context *ctx, case_t *c, const aa_max_iou_params *p)
{
    test_outputs_poison(&c->t);
    aa_status st = aa_assign_max_iou(ctx, p, &c->anchors, &c->gts, &c->t.out, NULL, 0);
    if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ctx));
    test_outputs_check_written(&c->t);
}

static void mmdet_docstring(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float priors[] = {0, 0, 10, 10, 10, 10, 20, 20}, gt[] = {0, 0, 10, 9};
    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    p.pos_iou_thr = 0.5f, p.neg_iou_thr_hi = 0.5f; /* MaxIoUAssigner(0.5, 0.5) */
    case_t c;
    setup_case(&c, priors, 2, gt, 1, NULL, NULL);
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], 0);          /* mmdetection gt_inds 1 */
    assert_int_equal(c.t.gt_index[1], AA_NEGATIVE); /* mmdetection gt_inds 0 */
    assert_float_equal(c.t.overlap[0], 0.9, 1e-7);
    test_outputs_free(&c.t);
    aa_context_destroy(ctx);
}

/* IoU 1, .6, .45, .3, 0 with one GT: pos, pos, ignored (between thresholds), neg, neg. */
static void thresholds(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 10, 0, 0, 10, 6, 0, 0, 10, 4.5f, 0, 0, 10, 3, 50, 50, 60, 60};
    const float gt[] = {0, 0, 10, 10};
    const int32_t labels[] = {7};
    case_t c;
    setup_case(&c, anchors, 5, gt, 1, NULL, labels);
    run_case(ctx, &c, NULL);
    const int32_t expected[] = {0, 0, AA_IGNORED, AA_NEGATIVE, AA_NEGATIVE};
    const float iou[] = {1.0f, 0.6f, 0.45f, 0.3f, 0.0f};
    for (int a = 0; a < 5; ++a) {
        assert_int_equal(c.t.gt_index[a], expected[a]);
        assert_float_equal(c.t.overlap[a], iou[a], 1e-6);
        assert_int_equal(c.t.labels[a], expected[a] >= 0 ? 7 : -1);
    }
    test_outputs_free(&c.t);
    aa_context_destroy(ctx);
}

/* mmdetection's own comment: an anchor with IoU .9 to G0 and .8 to G1 goes to G1
 * when it is G1's best anchor (the low-quality pass overrides step 3). */
static void low_quality_override(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 9, 0, 0, 10, 10};
    const float gts[] = {0, 0, 10, 10, 0, 0, 10, 7.2f};
    case_t c;
    setup_case(&c, anchors, 2, gts, 2, NULL, NULL);
    run_case(ctx, &c, NULL);
    assert_int_equal(c.t.gt_index[0], 1);
    assert_float_equal(c.t.overlap[0], 0.9, 1e-6); /* the max IoU, not the assigned GT's */
    assert_int_equal(c.t.gt_index[1], 0);
    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    p.match_low_quality = 0;
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], 0);
    assert_int_equal(c.t.gt_index[1], 0);
    test_outputs_free(&c.t);
    aa_context_destroy(ctx);
}

/* Two anchors tie for a GT's max IoU (.2): both matched with gt_max_assign_all,
 * only the first without it; none when min_pos_iou exceeds it. */
static void assign_all_and_min_pos(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 2, 0, 8, 10, 10, 40, 40, 50, 50};
    const float gt[] = {0, 0, 10, 10};
    case_t c;
    setup_case(&c, anchors, 3, gt, 1, NULL, NULL);
    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], 0);
    assert_int_equal(c.t.gt_index[1], 0);
    assert_int_equal(c.t.gt_index[2], AA_NEGATIVE);
    p.gt_max_assign_all = 0;
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], 0);
    assert_int_equal(c.t.gt_index[1], AA_NEGATIVE);
    p.gt_max_assign_all = 1, p.min_pos_iou = 0.3f;
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], AA_NEGATIVE);
    assert_int_equal(c.t.gt_index[1], AA_NEGATIVE);
    test_outputs_free(&c.t);
    aa_context_destroy(ctx);
}

/* mmdetection quirk kept on purpose: with min_pos_iou 0, a GT that overlaps no
 * anchor has max IoU 0 and takes every anchor of IoU 0 with it in the
 * low-quality pass, even one that matches an earlier GT perfectly. */
static void zero_overlap_gt_quirk(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 10, 20, 20, 30, 30};
    const float gts[] = {0, 0, 10, 10, 500, 500, 510, 510};
    case_t c;
    setup_case(&c, anchors, 2, gts, 2, NULL, NULL);
    run_case(ctx, &c, NULL);
    assert_int_equal(c.t.gt_index[0], 1); /* IoU 1 with GT 0, but IoU 0 == GT 1's max */
    assert_float_equal(c.t.overlap[0], 1.0, 0.0);
    assert_int_equal(c.t.gt_index[1], 1);
    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    p.min_pos_iou = 1e-6f; /* the usual remedy: GT 1 then matches nothing */
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], 0);
    assert_int_equal(c.t.gt_index[1], AA_NEGATIVE);
    test_outputs_free(&c.t);
    aa_context_destroy(ctx);
}

/* No GTs, or only crowd GTs: every anchor negative with overlap 0. Crowd regions
 * ignore anchors by IoF > thr (strict) and are never assigned. */
static void empty_and_crowd(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {110, 110, 120, 120, 150, 100, 250, 200, 0, 0, 10, 10, 300, 300, 310, 310};
    const float gts[] = {0, 0, 10, 10, 100, 100, 200, 200};
    const uint8_t crowd[] = {0, 1}, all_crowd[] = {1, 1};
    case_t c;
    setup_case(&c, anchors, 4, gts, 0, NULL, NULL);
    run_case(ctx, &c, NULL);
    for (int a = 0; a < 4; ++a) {
        assert_int_equal(c.t.gt_index[a], AA_NEGATIVE);
        assert_true(c.t.overlap[a] == 0.0f);
    }
    test_outputs_free(&c.t);

    setup_case(&c, anchors, 4, gts, 2, all_crowd, NULL);
    run_case(ctx, &c, NULL);
    for (int a = 0; a < 4; ++a) assert_int_equal(c.t.gt_index[a], AA_NEGATIVE);
    test_outputs_free(&c.t);

    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    p.ignore_iof_thr = 0.5f;
    setup_case(&c, anchors, 4, gts, 2, crowd, NULL);
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], AA_IGNORED); /* IoF 1 with the crowd box */
    assert_true(c.t.overlap[0] == -1.0f);
    assert_int_equal(c.t.gt_index[1], AA_NEGATIVE); /* IoF exactly .5: not ignored */
    assert_int_equal(c.t.gt_index[2], 0);
    assert_int_equal(c.t.gt_index[3], AA_NEGATIVE);
    p.ignore_iof_thr = -1.0f; /* off: the crowd box is simply not a GT */
    run_case(ctx, &c, &p);
    assert_int_equal(c.t.gt_index[0], AA_NEGATIVE);
    test_outputs_free(&c.t);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- random batches */

typedef struct batch_t {
    int num_images, num_levels;
    int64_t num_anchors, level_counts[3];
    float strides[3];
    float *anchors, *gts;
    int64_t offsets[9];
    uint8_t *crowd;
    aa_anchors a;
    aa_gts g;
} batch_t;

static void random_batch(batch_t *b)
{
    b->num_images = test_int(1, 8);
    b->num_levels = 3;
    b->num_anchors = 0;
    for (int l = 0; l < 3; ++l) {
        b->level_counts[l] = test_int(0, 60);
        b->strides[l] = (float)(8 << l);
        b->num_anchors += b->level_counts[l];
    }
    b->anchors = malloc((size_t)(b->num_anchors + 1) * 16);
    int64_t k = 0;
    for (int l = 0; l < 3; ++l)
        for (int64_t i = 0; i < b->level_counts[l]; ++i, ++k)
            test_random_box(b->anchors + 4 * k, 160, 160, 16.0f * (float)(1 << l));
    b->offsets[0] = 0;
    for (int i = 0; i < b->num_images; ++i) b->offsets[i + 1] = b->offsets[i] + test_int(0, 7);
    int64_t total = b->offsets[b->num_images];
    b->gts = malloc((size_t)(total + 1) * 16);
    b->crowd = malloc((size_t)total + 1);
    for (int64_t g = 0; g < total; ++g) {
        test_random_box(b->gts + 4 * g, 160, 160, 70);
        if (g > 0 && test_int(0, 9) == 0) memcpy(b->gts + 4 * g, b->gts + 4 * (g - 1), 16);
        b->crowd[g] = test_int(0, 11) == 0;
    }
    aa_anchors a = {b->anchors, b->num_anchors, 3, b->level_counts, b->strides};
    aa_gts gg = {b->gts, b->offsets, b->num_images, b->crowd, NULL, NULL};
    b->a = a, b->g = gg;
}

static void free_batch(batch_t *b)
{
    free(b->anchors), free(b->gts), free(b->crowd);
}

/* Positives reach pos_iou_thr or are a GT's best; negatives have max IoU in
 * [lo, hi); overlap = max IoU over non-crowd GTs; a batch equals its images
 * assigned one by one; two runs are bit-identical; a caller workspace of the
 * queried size gives the same result. */
static void random_properties(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    aa_max_iou_params p;
    aa_max_iou_params_init(&p);
    for (int trial = 0; trial < 200; ++trial) {
        batch_t b;
        random_batch(&b);
        p.ignore_iof_thr = trial % 2 ? 0.6f : -1.0f;
        int64_t n = b.num_images * b.num_anchors, total = b.offsets[b.num_images];
        test_outputs t, t2;
        test_outputs_alloc(&t, b.num_images, b.num_anchors, 0);
        test_outputs_alloc(&t2, b.num_images, b.num_anchors, 0);
        assert_int_equal(aa_assign_max_iou(ctx, &p, &b.a, &b.g, &t.out, NULL, 0), AA_SUCCESS);
        test_outputs_check_written(&t);

        size_t bytes;
        assert_int_equal(aa_max_iou_workspace_size(ctx, &p, &b.a, &b.g, &bytes), AA_SUCCESS);
        void *ws = malloc(bytes + 1);
        assert_int_equal(aa_assign_max_iou(ctx, &p, &b.a, &b.g, &t2.out, ws, bytes), AA_SUCCESS);
        assert_memory_equal(t.gt_index, t2.gt_index, (size_t)n * 4);
        assert_memory_equal(t.overlap, t2.overlap, (size_t)n * 4);
        free(ws);

        float *iou = malloc((size_t)(total * b.num_anchors + 1) * 4);
        assert_int_equal(aa_overlaps(ctx, AA_IOU, 1e-6f, &b.a, &b.g, iou), AA_SUCCESS);
        for (int i = 0; i < b.num_images; ++i) {
            /* one image alone gives the same rows */
            aa_gts one = b.g;
            int64_t off1[2] = {0, b.offsets[i + 1] - b.offsets[i]};
            one.boxes = b.gts + 4 * b.offsets[i], one.offsets = off1, one.num_images = 1;
            one.ignore_flags = b.crowd + b.offsets[i];
            test_outputs_poison(&t2);
            assert_int_equal(aa_assign_max_iou(ctx, &p, &b.a, &one, &t2.out, NULL, 0), AA_SUCCESS);
            assert_memory_equal(t.gt_index + i * b.num_anchors, t2.gt_index, (size_t)b.num_anchors * 4);
            assert_memory_equal(t.overlap + i * b.num_anchors, t2.overlap, (size_t)b.num_anchors * 4);

            int kept = 0;
            for (int64_t g = b.offsets[i]; g < b.offsets[i + 1]; ++g) kept += !b.crowd[g];
            for (int64_t a = 0; a < b.num_anchors; ++a) {
                int32_t got = t.gt_index[i * b.num_anchors + a];
                float ov = t.overlap[i * b.num_anchors + a];
                if (!kept) {
                    assert_int_equal(got, AA_NEGATIVE);
                    assert_true(ov == 0.0f);
                    continue;
                }
                float mx = -INFINITY;
                for (int64_t g = b.offsets[i]; g < b.offsets[i + 1]; ++g)
                    if (!b.crowd[g] && iou[g * b.num_anchors + a] > mx) mx = iou[g * b.num_anchors + a];
                if (ov == -1.0f) { /* ignored by a crowd region */
                    assert_true(p.ignore_iof_thr > 0);
                    assert_int_equal(got, AA_IGNORED);
                    continue;
                }
                assert_true(ov == mx);
                if (got == AA_NEGATIVE) {
                    assert_true(mx >= p.neg_iou_thr_lo && mx < p.neg_iou_thr_hi);
                } else if (got == AA_IGNORED) {
                    assert_true(mx >= p.neg_iou_thr_hi && mx < p.pos_iou_thr);
                } else {
                    int64_t g = b.offsets[i] + got;
                    assert_true(got >= 0 && g < b.offsets[i + 1]);
                    assert_false(b.crowd[g]);
                    float v = iou[g * b.num_anchors + a];
                    if (v < p.pos_iou_thr) { /* must be a low-quality match: the GT's best */
                        for (int64_t o = 0; o < b.num_anchors; ++o)
                            if (t.overlap[i * b.num_anchors + o] != -1.0f)
                                assert_true(iou[g * b.num_anchors + o] <= v);
                    }
                }
            }
        }
        free(iou);
        test_outputs_free(&t);
        test_outputs_free(&t2);
        free_batch(&b);
    }
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mmdet_docstring),
        cmocka_unit_test(thresholds),
        cmocka_unit_test(low_quality_override),
        cmocka_unit_test(assign_all_and_min_pos),
        cmocka_unit_test(zero_overlap_gt_quirk),
        cmocka_unit_test(empty_and_crowd),
        cmocka_unit_test(random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
