/* test_fcos.c - FCOS targets: hand-computed cases for each rule (strictly
 * inside, centre sampling, regress ranges, smallest area, crowd, the INF area
 * quirk) and properties on random ragged batches. */
#include "common.h"

#include <math.h>

static void assign(aa_context *ctx, const aa_fcos_params *p, const aa_anchors *a, const aa_gts *g,
                   test_outputs *t)
{
    test_outputs_poison(t);
    aa_status st = aa_assign_fcos(ctx, p, a, g, &t->out, NULL, 0);
    if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ctx));
    test_outputs_check_written(t);
}

static void one_range(aa_fcos_params *p, float lo, float hi)
{
    aa_fcos_params_init(p);
    p->num_regress_ranges = 1, p->regress_lo[0] = lo, p->regress_hi[0] = hi;
}

/* Points (4,4) (12,4) (4,12) (12,12) of stride 8; GT (0,0,10,10): only (4,4) is
 * strictly inside; its centre-ness is sqrt(4/6 * 4/6). */
static void hand_computed(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float strides[1] = {8};
    float points[4 * 4];
    int64_t counts[1], n;
    assert_int_equal(aa_point_generate(ctx, 1, strides, 0.5f, 16, 16, points, 4, counts, &n), AA_SUCCESS);
    const float gt[] = {0, 0, 10, 10};
    const int32_t labels[] = {3};
    int64_t offsets[2] = {0, 1};
    aa_anchors a = {points, n, 1, counts, strides};
    aa_gts g = {gt, offsets, 1, NULL, labels, NULL};
    aa_fcos_params p;
    one_range(&p, -1, 64);
    test_outputs t;
    test_outputs_alloc(&t, 1, 4, 1);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.labels[0], 3);
    assert_float_equal(t.overlap[0], 4.0 / 6.0, 1e-6);
    for (int i = 1; i < 4; ++i) {
        assert_int_equal(t.gt_index[i], AA_NEGATIVE);
        assert_int_equal(t.labels[i], -1);
        assert_true(t.overlap[i] == 0.0f);
    }
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* On the edge is not inside; the smaller GT wins; equal areas: the first. */
static void edges_and_smallest_area(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[] = {10, 5, 10, 5, 5, 5, 5, 5, 30, 30, 30, 30};
    const float gts[] = {0, 0, 10, 10, 0, 0, 40, 40, 1, 1, 9, 9, 20, 20, 40, 40, 21, 21, 41, 41};
    int64_t count = 3, offsets[2] = {0, 5};
    const float stride = 8;
    aa_anchors a = {pts, 3, 1, &count, &stride};
    aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
    aa_fcos_params p;
    one_range(&p, -1, 1e8f);
    test_outputs t;
    test_outputs_alloc(&t, 1, 3, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 1); /* x = 10 is on GT 0's edge: only GT 1 */
    assert_int_equal(t.gt_index[1], 2); /* inside 0, 1, 2: GT 2 is smallest  */
    assert_int_equal(t.gt_index[2], 3); /* GTs 3 and 4 have equal area: first */
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* max(l,t,r,b) must lie in [lo, hi] (both inclusive). */
static void regress_ranges(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[] = {50, 50, 50, 50, 10, 10, 10, 10};
    const float gt[] = {0, 0, 100, 100}; /* from (50,50): max 50; from (10,10): 90 */
    int64_t counts[2] = {1, 1}, offsets[2] = {0, 1};
    const float strides[2] = {8, 16};
    aa_anchors a = {pts, 2, 2, counts, strides};
    aa_gts g = {gt, offsets, 1, NULL, NULL, NULL};
    aa_fcos_params p;
    aa_fcos_params_init(&p);
    p.num_regress_ranges = 2;
    p.regress_lo[0] = -1, p.regress_hi[0] = 50; /* 50 included */
    p.regress_lo[1] = 90, p.regress_hi[1] = 128; /* 90 included */
    test_outputs t;
    test_outputs_alloc(&t, 1, 2, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.gt_index[1], 0);
    p.regress_hi[0] = 49.5f, p.regress_lo[1] = 90.5f;
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE);
    assert_int_equal(t.gt_index[1], AA_NEGATIVE);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Centre sampling, radius 1.5 x stride 8 = 12: GT (0,0,100,100) has centre box
 * (38,38,62,62); a small GT's box is clipped to the GT itself. */
static void center_sampling(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[] = {40, 40, 40, 40, 20, 20, 20, 20, 62, 50, 62, 50, 203, 203, 203, 203};
    const float gts[] = {0, 0, 100, 100, 200, 200, 206, 206};
    int64_t count = 4, offsets[2] = {0, 2};
    const float stride = 8;
    aa_anchors a = {pts, 4, 1, &count, &stride};
    aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
    aa_fcos_params p;
    one_range(&p, -1, 1e8f);
    p.center_sampling = 1;
    test_outputs t;
    test_outputs_alloc(&t, 1, 4, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    assert_int_equal(t.gt_index[1], AA_NEGATIVE); /* inside the GT, not its centre box */
    assert_int_equal(t.gt_index[2], AA_NEGATIVE); /* on the centre box's edge */
    assert_int_equal(t.gt_index[3], 1);
    p.center_sampling = 0;
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[1], 0);
    assert_int_equal(t.gt_index[2], 0);
    /* centre sampling needs the level strides */
    a.level_strides = NULL;
    p.center_sampling = 1;
    ASSERT_FAILS(ctx, aa_assign_fcos(ctx, &p, &a, &g, &t.out, NULL, 0), AA_ERR_NULL_POINTER,
                 "level_strides", 1);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Crowd GTs take no part; no GTs: all negative. mmdetection's INF: an invalid
 * pair has area 1e8 and a minimum of 1e8 is background, so a valid GT of area
 * 4e8 is assigned alone, but not beside a GT that is invalid at the point. */
static void crowd_empty_and_huge(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[] = {5, 5, 5, 5};
    const float gts[] = {0, 0, 10, 10, 0, 0, 20000, 20000};
    const uint8_t flags[] = {1, 0};
    int64_t count = 1, offsets[2] = {0, 1};
    const float stride = 8;
    aa_anchors a = {pts, 1, 1, &count, &stride};
    aa_gts g = {gts, offsets, 1, flags, NULL, NULL};
    aa_fcos_params p;
    one_range(&p, -1, 1e9f);
    test_outputs t;
    test_outputs_alloc(&t, 1, 1, 0);
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE);
    offsets[1] = 0;
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE);
    g.boxes = gts + 4, offsets[1] = 1, g.ignore_flags = NULL; /* 4e8 px^2, alone */
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], 0);
    const float two[] = {0, 0, 20000, 20000, 100, 100, 110, 110}; /* + one invalid at (5,5) */
    g.boxes = two, offsets[1] = 2;
    assign(ctx, &p, &a, &g, &t);
    assert_int_equal(t.gt_index[0], AA_NEGATIVE);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Random batches: every positive is strictly inside its GT, in range, and no
 * valid GT is smaller (or as small with a lower index); negatives have no valid
 * GT; centre-ness in (0, 1]; a batch equals its images one by one. */
static void random_properties(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float strides[3] = {8, 16, 32};
    aa_fcos_params p;
    aa_fcos_params_init(&p);
    p.num_regress_ranges = 3;
    const float lo[3] = {-1, 24, 48}, hi[3] = {24, 48, 1e8f};
    for (int l = 0; l < 3; ++l) p.regress_lo[l] = lo[l], p.regress_hi[l] = hi[l];
    float *pts = malloc(4000 * 16);
    int64_t counts[3], n;
    assert_int_equal(aa_point_generate(ctx, 3, strides, 0.5f, 96, 128, pts, 4000, counts, &n), AA_SUCCESS);
    aa_anchors a = {pts, n, 3, counts, strides};
    for (int trial = 0; trial < 60; ++trial) {
        int num_images = test_int(1, 5);
        int64_t offsets[6] = {0};
        for (int i = 0; i < num_images; ++i) offsets[i + 1] = offsets[i] + test_int(0, 10);
        int64_t total = offsets[num_images];
        float *gts = malloc((size_t)(total + 1) * 16);
        for (int64_t g = 0; g < total; ++g) test_random_box(gts + 4 * g, 128, 96, 80);
        aa_gts g = {gts, offsets, num_images, NULL, NULL, NULL};
        p.center_sampling = trial % 2;
        test_outputs t, one_t;
        test_outputs_alloc(&t, num_images, n, 0);
        test_outputs_alloc(&one_t, 1, n, 0);
        assign(ctx, &p, &a, &g, &t);
        for (int i = 0; i < num_images; ++i) {
            int64_t o1[2] = {0, offsets[i + 1] - offsets[i]};
            aa_gts one = {gts + 4 * offsets[i], o1, 1, NULL, NULL, NULL};
            assign(ctx, &p, &a, &one, &one_t);
            assert_memory_equal(t.gt_index + i * n, one_t.gt_index, (size_t)n * 4);
            int64_t level_end = counts[0];
            int level = 0;
            for (int64_t an = 0; an < n; ++an) {
                while (an >= level_end) level_end += counts[++level];
                float x = pts[4 * an], y = pts[4 * an + 1];
                int64_t best = -1;
                float best_area = 1e8f;
                for (int64_t gi = offsets[i]; gi < offsets[i + 1]; ++gi) {
                    const float *b = gts + 4 * gi;
                    float l = x - b[0], tt = y - b[1], r = b[2] - x, bb = b[3] - y;
                    float inner = fminf(fminf(l, tt), fminf(r, bb));
                    if (p.center_sampling) {
                        float s = strides[level] * p.center_sample_radius;
                        float cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
                        inner = fminf(fminf(x - fmaxf(cx - s, b[0]), y - fmaxf(cy - s, b[1])),
                                      fminf(fminf(cx + s, b[2]) - x, fminf(cy + s, b[3]) - y));
                    }
                    float reach = fmaxf(fmaxf(l, tt), fmaxf(r, bb));
                    float area = (b[2] - b[0]) * (b[3] - b[1]);
                    if (inner > 0 && reach >= p.regress_lo[level] && reach <= p.regress_hi[level] &&
                        area < best_area)
                        best = gi, best_area = area;
                }
                int32_t got = t.gt_index[i * n + an];
                float c = t.overlap[i * n + an];
                if (best < 0) {
                    assert_int_equal(got, AA_NEGATIVE);
                    assert_true(c == 0.0f);
                } else {
                    assert_int_equal(got, (int32_t)(best - offsets[i]));
                    assert_true(c > 0.0f && c <= 1.0f);
                }
            }
        }
        free(gts);
        test_outputs_free(&t);
        test_outputs_free(&one_t);
    }
    free(pts);
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed),
        cmocka_unit_test(edges_and_smallest_area),
        cmocka_unit_test(regress_ranges),
        cmocka_unit_test(center_sampling),
        cmocka_unit_test(crowd_empty_and_huge),
        cmocka_unit_test(random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
