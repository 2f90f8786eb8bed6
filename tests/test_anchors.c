/* test_anchors.c - anchor and point generation against mmdetection's
 * AnchorGenerator / MlvlPointGenerator (docstring examples, hand-computed
 * RetinaNet base anchors) and the standard workloads' anchor counts. */
#include "common.h"

static void mmdet_docstring_one_level(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    aa_anchor_params p;
    aa_anchor_params_init(&p);
    p.num_levels = 1, p.strides[0] = 16, p.base_sizes[0] = 9;
    p.num_ratios = 1, p.ratios[0] = 1.0f, p.num_scales = 1, p.scales[0] = 1.0f;
    int64_t counts[1], n;
    assert_int_equal(aa_anchor_count(ctx, &p, 32, 32, counts, &n), AA_SUCCESS);
    assert_int_equal(n, 4);
    assert_int_equal(counts[0], 4);
    float *boxes = test_guarded_alloc(4 * 4, sizeof(float));
    assert_int_equal(aa_anchor_generate(ctx, &p, 32, 32, boxes, n), AA_SUCCESS);
    test_guarded_check(boxes);
    const float expected[16] = {-4.5f, -4.5f, 4.5f,  4.5f,  11.5f, -4.5f, 20.5f, 4.5f,
                                -4.5f, 11.5f, 4.5f, 20.5f, 11.5f, 11.5f, 20.5f, 20.5f};
    for (int i = 0; i < 16; ++i) assert_true(boxes[i] == expected[i]);
    test_guarded_free(boxes);
    aa_context_destroy(ctx);
}

static void mmdet_docstring_two_levels(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    aa_anchor_params p;
    aa_anchor_params_init(&p);
    p.num_levels = 2, p.strides[0] = 16, p.strides[1] = 32, p.base_sizes[0] = 9, p.base_sizes[1] = 18;
    p.num_ratios = 1, p.ratios[0] = 1.0f, p.num_scales = 1, p.scales[0] = 1.0f;
    int64_t counts[2], n;
    assert_int_equal(aa_anchor_count(ctx, &p, 32, 32, counts, &n), AA_SUCCESS);
    assert_int_equal(counts[0], 4);
    assert_int_equal(counts[1], 1);
    float boxes[5 * 4];
    assert_int_equal(aa_anchor_generate(ctx, &p, 32, 32, boxes, n), AA_SUCCESS);
    assert_true(boxes[16] == -9.0f && boxes[17] == -9.0f && boxes[18] == 9.0f && boxes[19] == 9.0f);
    aa_context_destroy(ctx);
}

/* RetinaNet: stride 8, octave scales 4*2^(i/3), ratios .5,1,2; 201,600 anchors on
 * the 800 x 1344 canvas; ATSS (one square anchor of scale 8): 22,400. */
static void retinanet_and_atss(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    aa_anchor_params p;
    aa_anchor_params_init(&p);
    int64_t counts[5], n;
    assert_int_equal(aa_anchor_count(ctx, &p, 800, 1344, counts, &n), AA_SUCCESS);
    assert_int_equal(n, 201600);
    const int64_t locations[5] = {100 * 168, 50 * 84, 25 * 42, 13 * 21, 7 * 11};
    for (int l = 0; l < 5; ++l) assert_int_equal(counts[l], 9 * locations[l]);
    float *boxes = test_guarded_alloc((size_t)n * 4, sizeof(float));
    assert_int_equal(aa_anchor_generate(ctx, &p, 800, 1344, boxes, n), AA_SUCCESS);
    test_guarded_check(boxes);
    /* first base anchor: ratio 0.5, scale 4: w = 8*sqrt(2)*4, h = 8/sqrt(2)*4 */
    assert_float_equal(boxes[0], -22.627417, 1e-4);
    assert_float_equal(boxes[1], -11.313708, 1e-4);
    assert_float_equal(boxes[2], 22.627417, 1e-4);
    assert_float_equal(boxes[3], 11.313708, 1e-4);
    /* base anchor 3 = second ratio (1), first scale (4): a 32 x 32 square */
    assert_float_equal(boxes[12], -16.0, 1e-5);
    assert_float_equal(boxes[14], 16.0, 1e-5);
    /* location (0,1) of level 0 is shifted by one stride in x */
    assert_float_equal(boxes[9 * 4 + 0], boxes[0] + 8.0f, 1e-5);
    assert_float_equal(boxes[9 * 4 + 1], boxes[1], 0);
    /* last anchor of level 4: location (6,10) shifted by 128 */
    float *last = boxes + (n - 1) * 4; /* ratio 2, scale 4*2^(2/3), stride 128 */
    assert_float_equal((last[0] + last[2]) / 2, 10 * 128.0, 1e-3);
    assert_float_equal((last[1] + last[3]) / 2, 6 * 128.0, 1e-3);
    test_guarded_free(boxes);

    p.num_ratios = 1, p.ratios[0] = 1.0f, p.octave_base_scale = 8, p.scales_per_octave = 1;
    assert_int_equal(aa_anchor_count(ctx, &p, 800, 1344, counts, &n), AA_SUCCESS);
    assert_int_equal(n, 22400);
    aa_context_destroy(ctx);
}

static void points(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float strides[2] = {8, 16};
    int64_t counts[2], n;
    float boxes[5 * 4];
    assert_int_equal(aa_point_generate(ctx, 2, strides, 0.5f, 16, 16, NULL, 0, counts, &n),
                     AA_SUCCESS); /* size query */
    assert_int_equal(n, 5);
    n = 0;
    assert_int_equal(aa_point_generate(ctx, 2, strides, 0.5f, 16, 16, boxes, 5, counts, &n),
                     AA_SUCCESS);
    assert_int_equal(n, 5);
    assert_int_equal(counts[0], 4);
    assert_int_equal(counts[1], 1);
    const float expected[20] = {4, 4, 4, 4, 12, 4, 12, 4, 4, 12, 4, 12, 12, 12, 12, 12, 8, 8, 8, 8};
    for (int i = 0; i < 20; ++i) assert_true(boxes[i] == expected[i]);
    aa_context_destroy(ctx);
}

static void bad_arguments(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    aa_anchor_params p;
    int64_t counts[AA_MAX_LEVELS], n;
    float *boxes = test_guarded_alloc(16, sizeof(float));
    aa_anchor_params_init(&p);
    ASSERT_FAILS(ctx, aa_anchor_count(ctx, &p, 0, 10, counts, &n), AA_ERR_INVALID_ARGUMENT,
                 "height x width", 1);
    p.ratios[1] = -1.0f;
    ASSERT_FAILS(ctx, aa_anchor_count(ctx, &p, 10, 10, counts, &n), AA_ERR_INVALID_ARGUMENT,
                 "params.ratios[1]", 1);
    aa_anchor_params_init(&p);
    ASSERT_FAILS(ctx, aa_anchor_generate(ctx, &p, 800, 1344, boxes, 4), AA_ERR_INVALID_ARGUMENT,
                 "capacity", test_guarded_untouched(boxes));
    p.struct_size = 0;
    ASSERT_FAILS(ctx, aa_anchor_generate(ctx, &p, 800, 1344, boxes, 4), AA_ERR_INVALID_ARGUMENT,
                 "struct_size", test_guarded_untouched(boxes));
    const float bad_stride[1] = {0.0f};
    ASSERT_FAILS(ctx, aa_point_generate(ctx, 1, bad_stride, 0.5f, 8, 8, boxes, 4, counts, &n),
                 AA_ERR_INVALID_ARGUMENT, "strides[0]", test_guarded_untouched(boxes));
    assert_int_equal(aa_anchor_count(NULL, &p, 8, 8, counts, &n), AA_ERR_NULL_POINTER);
    test_guarded_check(boxes);
    test_guarded_free(boxes);
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mmdet_docstring_one_level),
        cmocka_unit_test(mmdet_docstring_two_levels),
        cmocka_unit_test(retinanet_and_atss),
        cmocka_unit_test(points),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
