/* test_overlaps.c - aa_overlaps: hand-computed IoU/IoF/GIoU, the ragged layout,
 * mmdetection's docstring example, and properties on random boxes. */
#include "common.h"

#include <math.h>

static float overlap1(aa_context *ctx, aa_overlap_mode mode, const float *anchor, const float *gt)
{
    int64_t count;
    float stride, out = -99.0f;
    int64_t offsets[2] = {0, 1};
    aa_anchors a = test_anchors_1level(anchor, 1, &count, &stride);
    aa_gts g = {gt, offsets, 1, NULL, NULL, NULL};
    assert_int_equal(aa_overlaps(ctx, mode, 1e-6f, &a, &g, &out), AA_SUCCESS);
    return out;
}

static void hand_computed(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float a[4] = {0, 0, 10, 10}, partial[4] = {5, 5, 15, 15}, far[4] = {20, 20, 30, 30};
    const float inner[4] = {2, 2, 4, 4}, big[4] = {0, 0, 10, 10}, point[4] = {3, 3, 3, 3};
    /* inter 25, union 175, enclose 225 */
    assert_float_equal(overlap1(ctx, AA_IOU, a, partial), 25.0 / 175.0, 1e-7);
    assert_float_equal(overlap1(ctx, AA_IOF, a, partial), 0.25, 1e-7);
    assert_float_equal(overlap1(ctx, AA_GIOU, a, partial), 25.0 / 175.0 - 50.0 / 225.0, 1e-6);
    /* disjoint: union 200, enclose 900 */
    assert_float_equal(overlap1(ctx, AA_IOU, a, far), 0.0, 0.0);
    assert_float_equal(overlap1(ctx, AA_GIOU, a, far), -700.0 / 900.0, 1e-6);
    /* identical and contained; IoF is over the anchor's (first box's) area */
    assert_float_equal(overlap1(ctx, AA_IOU, a, big), 1.0, 0.0);
    assert_float_equal(overlap1(ctx, AA_GIOU, a, big), 1.0, 0.0);
    assert_float_equal(overlap1(ctx, AA_IOU, inner, big), 0.04, 1e-7);
    assert_float_equal(overlap1(ctx, AA_IOF, inner, big), 1.0, 0.0);
    assert_float_equal(overlap1(ctx, AA_IOF, big, inner), 0.04, 1e-7);
    /* zero-area boxes: union floored at eps, so 0 rather than NaN */
    assert_float_equal(overlap1(ctx, AA_IOU, point, point), 0.0, 0.0);
    assert_float_equal(overlap1(ctx, AA_IOF, point, big), 0.0, 0.0);
    aa_context_destroy(ctx);
}

/* mmdetection's bbox_overlaps docstring: rows bboxes1, columns bboxes2. */
static void mmdet_docstring(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float b1[] = {0, 0, 10, 10, 10, 10, 20, 20, 32, 32, 38, 42};
    const float b2[] = {0, 0, 10, 20, 0, 10, 10, 19, 10, 10, 20, 20};
    const float expected[3][3] = {{0.5f, 0, 0}, {0, 0, 1.0f}, {0, 0, 0}};
    int64_t count, offsets[2] = {0, 3};
    float stride;
    aa_anchors a = test_anchors_1level(b2, 3, &count, &stride); /* columns */
    aa_gts g = {b1, offsets, 1, NULL, NULL, NULL};                     /* rows */
    float *out = test_guarded_alloc(9, sizeof(float));
    assert_int_equal(aa_overlaps(ctx, AA_IOU, 1e-6f, &a, &g, out), AA_SUCCESS);
    test_guarded_check(out);
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) assert_float_equal(out[r * 3 + c], expected[r][c], 1e-7);
    test_guarded_free(out);
    aa_context_destroy(ctx);
}

/* Ragged batch: block of image i at rows offsets[i].. ; an empty image adds no rows. */
static void ragged_layout(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    enum { A = 37, G = 6 };
    float anchors[A * 4], gts[G * 4];
    for (int i = 0; i < A; ++i) test_random_box(anchors + 4 * i, 200, 200, 80);
    for (int i = 0; i < G; ++i) test_random_box(gts + 4 * i, 200, 200, 80);
    int64_t offsets[5] = {0, 2, 2, 5, 6}, count;
    float stride;
    aa_anchors a = test_anchors_1level(anchors, A, &count, &stride);
    aa_gts g = {gts, offsets, 4, NULL, NULL, NULL};
    for (int mode = AA_IOU; mode <= AA_GIOU; ++mode) {
        float *out = test_guarded_alloc(A * G, sizeof(float));
        assert_int_equal(aa_overlaps(ctx, (aa_overlap_mode)mode, 1e-6f, &a, &g, out), AA_SUCCESS);
        test_guarded_check(out);
        for (int row = 0; row < G; ++row)
            for (int col = 0; col < A; ++col)
                assert_true(out[row * A + col] ==
                            overlap1(ctx, (aa_overlap_mode)mode, anchors + 4 * col, gts + 4 * row));
        test_guarded_free(out);
    }
    aa_context_destroy(ctx);
}

/* IoU symmetric (bitwise), in [0,1]; IoF >= IoU (to rounding); GIoU in [-1, IoU]. */
static void random_properties(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    for (int trial = 0; trial < 2000; ++trial) {
        float p[4], q[4];
        test_random_box(p, 100, 100, 60);
        test_random_box(q, 100, 100, 60);
        if (trial % 10 == 0) memcpy(q, p, sizeof p); /* duplicates */
        float iou = overlap1(ctx, AA_IOU, p, q), iou_t = overlap1(ctx, AA_IOU, q, p);
        float iof = overlap1(ctx, AA_IOF, p, q), giou = overlap1(ctx, AA_GIOU, p, q);
        assert_true(iou == iou_t);
        assert_true(iou >= 0.0f && iou <= 1.0f);
        /* IoF >= IoU up to float rounding of area_a + area_b - inter */
        if (!(iof >= iou * (1.0f - 1e-6f) && iof <= 1.0f + 1e-6f))
            fail_msg("iof %.9g iou %.9g for %g %g %g %g / %g %g %g %g", iof, iou, p[0], p[1], p[2],
                     p[3], q[0], q[1], q[2], q[3]);
        assert_true(giou <= iou + 1e-6f && giou >= -1.0f - 1e-6f);
    }
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed),
        cmocka_unit_test(mmdet_docstring),
        cmocka_unit_test(ragged_layout),
        cmocka_unit_test(random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
