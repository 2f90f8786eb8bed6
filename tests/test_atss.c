/* test_atss.c - ATSSAssigner and its two primitives (nearest-centre top-k, the
 * candidates' IoU statistics): hand-computed cases, edge cases, and properties
 * on random ragged batches checked against the primitives. */
#include "common.h"

#include <math.h>

static aa_anchors one_level(const float *boxes, int64_t n, int64_t *count, float *stride)
{
    return test_anchors_1level(boxes, n, count, stride);
}

static void assign(aa_context *ctx, const aa_atss_params *p, const aa_anchors *a, const aa_gts *g,
                   test_outputs *t)
{
    test_outputs_poison(t);
    aa_status st = aa_assign_atss(ctx, p, a, g, &t->out, NULL, 0);
    if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ctx));
    test_outputs_check_written(t);
}

/* One GT (0,0,10,10), four anchors of IoU 1, 2/3, 1/3, 0 by distance; topk 4:
 * mean .5, unbiased std .4303, threshold .9303: only the first is positive. */
static void hand_computed(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 10, 2, 0, 12, 10, 5, 0, 15, 10, 20, 20, 30, 30};
    const float gt[] = {0, 0, 10, 10};
    int64_t count, offsets[2] = {0, 1};
    float stride;
    aa_anchors a = one_level(anchors, 4, &count, &stride);
    aa_gts g = {gt, offsets, 1, NULL, NULL, NULL};
    aa_atss_params p;
    aa_atss_params_init(&p);
    p.topk = 4;

    int32_t cand[4];
    double mean, std;
    assert_int_equal(aa_topk_nearest(ctx, 4, &a, &g, cand), AA_SUCCESS);
    for (int j = 0; j < 4; ++j) assert_int_equal(cand[j], j);
    assert_int_equal(aa_candidate_iou_stats(ctx, 4, 1e-6f, &a, &g, cand, &mean, &std), AA_SUCCESS);
    assert_float_equal(mean, 0.5, 1e-6);
    assert_float_equal(std, sqrt((0.25 + 1.0 / 36 + 1.0 / 36 + 0.25) / 3), 1e-6);

    test_outputs t;
    test_outputs_alloc(&t, 1, 4, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_true(t.overlap[0] == 1.0f);
    for (int i = 1; i < 4; ++i) {
        assert_int_equal(t.gt_index[i], AA_NEGATIVE);
        assert_true(t.overlap[i] == AA_ATSS_NO_OVERLAP);
    }
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Equal distances: the lower anchor index comes first. Level shorter than topk:
 * k = level size, -1 padding. */
static void topk_ties_and_short_levels(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    /* centres (7,5) (3,5) (5,8) (5,2): distances 2,2,3,3 from (5,5) */
    const float anchors[] = {6, 4, 8, 6, 2, 4, 4, 6, 4, 7, 6, 9, 4, 1, 6, 3, 0, 0, 10, 10};
    const float gt[] = {0, 0, 10, 10};
    int64_t counts[2] = {4, 1}, offsets[2] = {0, 1};
    aa_anchors a = {anchors, 5, 2, counts, NULL};
    aa_gts g = {gt, offsets, 1, NULL, NULL, NULL};
    int32_t cand[2 * 3];
    assert_int_equal(aa_topk_nearest(ctx, 3, &a, &g, cand), AA_SUCCESS);
    assert_int_equal(cand[0], 0);
    assert_int_equal(cand[1], 1);
    assert_int_equal(cand[2], 2);
    assert_int_equal(cand[3], 4);
    assert_int_equal(cand[4], -1);
    assert_int_equal(cand[5], -1);
    double mean, std;
    assert_int_equal(aa_candidate_iou_stats(ctx, 3, 1e-6f, &a, &g, cand, &mean, &std), AA_SUCCESS);
    assert_false(isnan(mean));
    aa_context_destroy(ctx);
}

/* A single candidate: the std is undefined (NaN) and, as in mmdetection, even a
 * perfect anchor is not positive. */
static void single_candidate(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 10}, gt[] = {0, 0, 10, 10};
    int64_t count, offsets[2] = {0, 1};
    float stride;
    aa_anchors a = one_level(anchors, 1, &count, &stride);
    aa_gts g = {gt, offsets, 1, NULL, NULL, NULL};
    int32_t cand[9];
    double mean, std;
    assert_int_equal(aa_topk_nearest(ctx, 9, &a, &g, cand), AA_SUCCESS);
    assert_int_equal(aa_candidate_iou_stats(ctx, 9, 1e-6f, &a, &g, cand, &mean, &std), AA_SUCCESS);
    assert_true(mean == 1.0);
    assert_true(isnan(std));
    test_outputs t;
    test_outputs_alloc(&t, 1, 1, 0);
    assign(ctx, NULL, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Far anchors: IoU 0 candidates that pull the threshold down. */
static void far_anchors(float *boxes, int n)
{
    for (int i = 0; i < n; ++i) {
        float o = 200.0f + 30.0f * (float)i;
        boxes[4 * i + 0] = o, boxes[4 * i + 1] = o, boxes[4 * i + 2] = o + 10, boxes[4 * i + 3] = o + 10;
    }
}

/* Anchors 0 and 1 (identical) have IoU 1 with GTs 0 and 1 (duplicates) and .81
 * with GT 2; seven far anchors make the thresholds .66 and .54. Both go to GT 0:
 * highest IoU, then the lowest index. GT 3 has zero area: no centre is inside
 * it, so it gets nothing although its threshold (0) is met. */
static void conflicts_duplicates_zero_area(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    float anchors[9 * 4] = {0, 0, 10, 10, 0, 0, 10, 10};
    far_anchors(anchors + 8, 7);
    const float gts[] = {0, 0, 10, 10, 0, 0, 10, 10, 1, 1, 10, 10, 60, 60, 60, 60};
    int64_t count, offsets[2] = {0, 4};
    float stride;
    aa_anchors a = one_level(anchors, 9, &count, &stride);
    aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
    test_outputs t;
    test_outputs_alloc(&t, 1, 9, 0);
    assign(ctx, NULL, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.gt_index[1], 0);
    for (int i = 2; i < 9; ++i) assert_int_equal(t.gt_index[i], AA_NEGATIVE);
    /* without GTs 0 and 1, GT 2 takes them with IoU .81 */
    aa_gts g2 = {gts + 8, offsets, 1, NULL, NULL, NULL};
    int64_t off2[2] = {0, 2};
    g2.offsets = off2;
    assign(ctx, NULL, &a, &g2, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.gt_index[1], 0);
    assert_float_equal(t.overlap[0], 0.81, 1e-6);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* The centre must be inside by more than the margin (strict). Candidates: IoU
 * .43 (centre 1 from the left edge), .48 (1.5 from it), seven of 0: threshold .30. */
static void inside_margin(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    float anchors[9 * 4] = {-4, 0, 6, 10, -3.5f, 0, 6.5f, 10};
    far_anchors(anchors + 8, 7);
    const float gt[] = {0, 0, 10, 10};
    int64_t count, offsets[2] = {0, 1};
    float stride;
    aa_anchors a = one_level(anchors, 9, &count, &stride);
    aa_gts g = {gt, offsets, 1, NULL, NULL, NULL};
    aa_atss_params p;
    aa_atss_params_init(&p);
    p.inside_margin = 1.0f;
    test_outputs t;
    test_outputs_alloc(&t, 1, 9, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE); /* inside by exactly 1: no */
    assert_int_equal(t.gt_index[1], 0);           /* inside by 1.5: yes       */
    p.inside_margin = 0.01f;
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.gt_index[1], 0);
    /* two candidates: mean + std of two different values exceeds both */
    p.topk = 2;
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE);
    assert_int_equal(t.gt_index[1], AA_NEGATIVE);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Crowd regions: anchors with IoF > thr are ignored unless positive; crowd GTs
 * are never assigned; an image of only crowd GTs is all negative. */
static void crowd(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float anchors[] = {0, 0, 10, 10, 2, 0, 12, 10, 5, 0, 15, 10, 20, 20, 30, 30, 100, 100, 110, 110};
    const float gts[] = {0, 0, 10, 10, 95, 95, 120, 120};
    const uint8_t flags[] = {0, 1}, all[] = {1, 1};
    int64_t count, offsets[2] = {0, 2};
    float stride;
    aa_anchors a = one_level(anchors, 5, &count, &stride);
    aa_gts g = {gts, offsets, 1, flags, NULL, NULL};
    aa_atss_params p;
    aa_atss_params_init(&p);
    p.topk = 4, p.ignore_iof_thr = 0.5f;
    test_outputs t;
    test_outputs_alloc(&t, 1, 5, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.gt_index[4], AA_IGNORED);
    for (int i = 1; i < 4; ++i) assert_int_equal(t.gt_index[i], AA_NEGATIVE);
    g.ignore_flags = all;
    assign(ctx, &p, &a, &g, &t);
    for (int i = 0; i < 5; ++i) {
        assert_int_equal(t.gt_index[i], AA_NEGATIVE);
        assert_true(t.overlap[i] == 0.0f);
    }
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- random batches */

/* For each image (without crowd boxes): every positive is among its GT's
 * candidates, reaches mean + std, is inside by the margin, and no other GT that
 * qualifies has a higher IoU (or equal IoU and a lower index); every negative
 * qualifies for no GT. The batch equals its images run one by one. */
static void random_properties(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    aa_atss_params p;
    aa_atss_params_init(&p);
    for (int trial = 0; trial < 150; ++trial) {
        int num_images = test_int(1, 6);
        int64_t counts[3], n = 0, offsets[7] = {0};
        for (int l = 0; l < 3; ++l) n += counts[l] = test_int(trial % 5 == 0 ? 0 : 1, 80);
        if (n == 0) counts[0] = n = 1;
        float *anchors = malloc((size_t)n * 16);
        int64_t k = 0;
        for (int l = 0; l < 3; ++l)
            for (int64_t i = 0; i < counts[l]; ++i, ++k)
                test_random_box(anchors + 4 * k, 200, 200, 16.0f * (float)(1 << l));
        for (int i = 0; i < num_images; ++i) offsets[i + 1] = offsets[i] + test_int(0, 8);
        int64_t total = offsets[num_images];
        float *gts = malloc((size_t)(total + 1) * 16);
        for (int64_t g = 0; g < total; ++g) test_random_box(gts + 4 * g, 200, 200, 90);
        aa_anchors a = {anchors, n, 3, counts, NULL};
        aa_gts g = {gts, offsets, num_images, NULL, NULL, NULL};
        p.topk = test_int(1, 12);

        test_outputs t, one_t;
        test_outputs_alloc(&t, num_images, n, 0);
        test_outputs_alloc(&one_t, 1, n, 0);
        assign(ctx, &p, &a, &g, &t);
        int32_t *cand = malloc((size_t)(total * 3 * p.topk + 1) * 4);
        double *mean = malloc((size_t)(total + 1) * 8), *std = malloc((size_t)(total + 1) * 8);
        assert_int_equal(aa_topk_nearest(ctx, p.topk, &a, &g, cand), AA_SUCCESS);
        assert_int_equal(aa_candidate_iou_stats(ctx, p.topk, p.eps, &a, &g, cand, mean, std), AA_SUCCESS);
        float *iou = malloc((size_t)(total * n + 1) * 4);
        assert_int_equal(aa_overlaps(ctx, AA_IOU, p.eps, &a, &g, iou), AA_SUCCESS);

        for (int i = 0; i < num_images; ++i) {
            int64_t o1[2] = {0, offsets[i + 1] - offsets[i]};
            aa_gts one = {gts + 4 * offsets[i], o1, 1, NULL, NULL, NULL};
            assign(ctx, &p, &a, &one, &one_t);
            assert_memory_equal(t.gt_index + i * n, one_t.gt_index, (size_t)n * 4);
            assert_memory_equal(t.overlap + i * n, one_t.overlap, (size_t)n * 4);
            for (int64_t an = 0; an < n; ++an) {
                const float *box = anchors + 4 * an;
                float cx = (box[0] + box[2]) / 2.0f, cy = (box[1] + box[3]) / 2.0f;
                int64_t best = -1;
                float best_iou = 0;
                for (int64_t gi = offsets[i]; gi < offsets[i + 1]; ++gi) {
                    const float *gt = gts + 4 * gi;
                    int is_cand = 0;
                    for (int j = 0; j < 3 * p.topk; ++j) is_cand |= cand[gi * 3 * p.topk + j] == an;
                    float v = iou[gi * n + an];
                    float m = fminf(fminf(cx - gt[0], cy - gt[1]), fminf(gt[2] - cx, gt[3] - cy));
                    int qualifies = is_cand && (double)v >= mean[gi] + std[gi] && m > p.inside_margin;
                    if (qualifies && (best < 0 || v > best_iou)) best = gi, best_iou = v;
                }
                int32_t got = t.gt_index[i * n + an];
                if (offsets[i + 1] == offsets[i]) { /* no GTs: mmdetection's overlap 0 */
                    assert_int_equal(got, AA_NEGATIVE);
                    assert_true(t.overlap[i * n + an] == 0.0f);
                } else if (best < 0) {
                    assert_int_equal(got, AA_NEGATIVE);
                    assert_true(t.overlap[i * n + an] == AA_ATSS_NO_OVERLAP);
                } else {
                    assert_int_equal(got, (int32_t)(best - offsets[i]));
                    assert_true(t.overlap[i * n + an] == best_iou);
                }
            }
        }
        free(iou), free(mean), free(std), free(cand), free(anchors), free(gts);
        test_outputs_free(&t);
        test_outputs_free(&one_t);
    }
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed),
        cmocka_unit_test(topk_ties_and_short_levels),
        cmocka_unit_test(single_candidate),
        cmocka_unit_test(conflicts_duplicates_zero_area),
        cmocka_unit_test(inside_margin),
        cmocka_unit_test(crowd),
        cmocka_unit_test(random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
