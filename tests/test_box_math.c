/* test_box_math.c - the kernels' device helpers (kernels/box_math.h), compiled as
 * host C: hand-computed values, and bitwise agreement with the independent CPU
 * reference (aa_overlaps on a CPU context) on random and adversarial boxes. */
#include "common.h"

#include "../kernels/box_math.h"

static aa_box B(float x1, float y1, float x2, float y2)
{
    aa_box b = {x1, y1, x2, y2};
    return b;
}

static void hand_computed(void **state)
{
    (void)state;
    aa_box a = B(0, 0, 10, 10), p = B(5, 5, 15, 15);
    assert_true(aa_box_area(a) == 100.0f);
    assert_true(aa_box_cx(p) == 10.0f && aa_box_cy(p) == 10.0f);
    assert_float_equal(aa_box_overlap(AA_MODE_IOU, a, p, 1e-6f), 25.0 / 175.0, 1e-7);
    assert_float_equal(aa_box_overlap(AA_MODE_IOF, a, p, 1e-6f), 0.25, 1e-7);
    assert_float_equal(aa_box_overlap(AA_MODE_GIOU, a, p, 1e-6f), 25.0 / 175.0 - 50.0 / 225.0, 1e-6);
    assert_true(aa_box_overlap(AA_MODE_IOU, B(3, 3, 3, 3), B(3, 3, 3, 3), 1e-6f) == 0.0f);
    assert_true(aa_center_distance(B(0, 0, 6, 8), B(3, 4, 3, 4)) == 0.0f);
    assert_true(aa_center_distance(B(0, 0, 6, 8), B(6, 8, 6, 8)) == 5.0f);
    /* the top-k order: nearer first, then the lower index */
    assert_true(aa_nearer(1.0f, 7, 2.0f, 3));
    assert_true(aa_nearer(2.0f, 3, 2.0f, 7));
    assert_false(aa_nearer(2.0f, 7, 2.0f, 3));
    assert_false(aa_nearer(2.0f, 3, 2.0f, 3));
}

/* The same numbers as the CPU reference, bit for bit. */
static void matches_reference(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    enum { A = 64, G = 16 };
    float anchors[A * 4], gts[G * 4], ref[A * G];
    int64_t count, offsets[2] = {0, G};
    float stride;
    for (int trial = 0; trial < 50; ++trial) {
        for (int i = 0; i < A; ++i) test_random_box(anchors + 4 * i, 300, 300, 120);
        for (int i = 0; i < G; ++i) test_random_box(gts + 4 * i, 300, 300, 120);
        memcpy(gts, anchors, 16); /* a duplicate */
        aa_anchors a = test_anchors_1level(anchors, A, &count, &stride);
        aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
        for (int mode = 0; mode < 3; ++mode) {
            assert_int_equal(aa_overlaps(ctx, (aa_overlap_mode)mode, 1e-6f, &a, &g, ref), AA_SUCCESS);
            for (int gi = 0; gi < G; ++gi)
                for (int ai = 0; ai < A; ++ai) {
                    float v = aa_box_overlap(mode, aa_box_load(anchors, ai), aa_box_load(gts, gi), 1e-6f);
                    assert_memory_equal(&v, &ref[gi * A + ai], sizeof v);
                }
        }
    }
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed),
        cmocka_unit_test(matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
