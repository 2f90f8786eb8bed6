/* test_bad_input.c - every bad input returns the right status, names the
 * problem in the context's message, and writes nothing: each case is run
 * against every assigner (and the primitives where it applies) with poisoned,
 * guarded outputs. docs/robustness.md lists these cases. */
#include "common.h"

#include <math.h>

enum { NUM_ANCHORS = 6, NUM_GTS = 3 };

/* A valid batch that each case corrupts one field of. */
typedef struct fixture {
    float anchors[NUM_ANCHORS * 4];
    float gts[NUM_GTS * 4];
    int64_t level_counts[2];
    float strides[2];
    int64_t offsets[3];
    uint8_t crowd[NUM_GTS];
    int32_t labels[NUM_GTS];
    aa_anchors a;
    aa_gts g;
    aa_max_iou_params max_iou;
    aa_atss_params atss;
    aa_fcos_params fcos;
} fixture;

static void fixture_init(fixture *f)
{
    for (int i = 0; i < NUM_ANCHORS; ++i) {
        float x = 10.0f * (float)i;
        f->anchors[4 * i] = x, f->anchors[4 * i + 1] = 0, f->anchors[4 * i + 2] = x + 16, f->anchors[4 * i + 3] = 16;
    }
    const float gts[NUM_GTS * 4] = {0, 0, 20, 20, 30, 0, 50, 10, 5, 5, 6, 6};
    memcpy(f->gts, gts, sizeof gts);
    f->level_counts[0] = 4, f->level_counts[1] = 2;
    f->strides[0] = 8, f->strides[1] = 16;
    f->offsets[0] = 0, f->offsets[1] = 2, f->offsets[2] = 3;
    f->crowd[0] = 0, f->crowd[1] = 1, f->crowd[2] = 0;
    f->labels[0] = 1, f->labels[1] = 2, f->labels[2] = 3;
    aa_anchors a = {f->anchors, NUM_ANCHORS, 2, f->level_counts, f->strides};
    aa_gts g = {f->gts, f->offsets, 2, f->crowd, f->labels, NULL};
    f->a = a, f->g = g;
    aa_max_iou_params_init(&f->max_iou);
    aa_atss_params_init(&f->atss);
    aa_fcos_params_init(&f->fcos);
    f->fcos.num_regress_ranges = 2;
}

typedef enum which { MAX_IOU, ATSS, FCOS, NUM_ASSIGNERS } which;
static const char *const names[] = {"max_iou", "atss", "fcos"};

static aa_status run(aa_context *ctx, which w, fixture *f, const aa_assignment *out, void *ws,
                     size_t ws_bytes)
{
    switch (w) {
    case MAX_IOU: return aa_assign_max_iou(ctx, &f->max_iou, &f->a, &f->g, out, ws, ws_bytes);
    case ATSS: return aa_assign_atss(ctx, &f->atss, &f->a, &f->g, out, ws, ws_bytes);
    default: return aa_assign_fcos(ctx, &f->fcos, &f->a, &f->g, out, ws, ws_bytes);
    }
}

typedef struct bad_case {
    const char *name;
    void (*corrupt)(fixture *f);
    aa_status status;
    const char *needle;
    int only; /* -1: every assigner, else that one */
} bad_case;

static void null_anchor_boxes(fixture *f) { f->a.boxes = NULL; }
static void negative_anchor_count(fixture *f) { f->a.num_anchors = -1; }
static void too_many_anchors(fixture *f) { f->a.num_anchors = AA_MAX_ANCHORS + 1; }
static void zero_levels(fixture *f) { f->a.num_levels = 0; }
static void too_many_levels(fixture *f) { f->a.num_levels = AA_MAX_LEVELS + 1; }
static void null_level_counts(fixture *f) { f->a.level_counts = NULL; }
static void negative_level_count(fixture *f) { f->level_counts[0] = -4, f->level_counts[1] = 10; }
static void level_sum_mismatch(fixture *f) { f->level_counts[1] = 1; }
static void zero_stride(fixture *f) { f->strides[1] = 0.0f; }
static void nan_stride(fixture *f) { f->strides[0] = NAN; }
static void nan_anchor(fixture *f) { f->anchors[4 * 3 + 1] = NAN; }
static void inf_anchor(fixture *f) { f->anchors[4 * 5 + 2] = INFINITY; }
static void inverted_anchor(fixture *f) { f->anchors[4 * 2 + 3] = -1.0f; }
static void huge_anchor(fixture *f) { f->anchors[0] = -2e15f; }
static void null_offsets(fixture *f) { f->g.offsets = NULL; }
static void negative_images(fixture *f) { f->g.num_images = -1; }
static void too_many_images(fixture *f) { f->g.num_images = AA_MAX_IMAGES + 1; }
static void offsets_not_zero(fixture *f) { f->offsets[0] = 1; }
static void offsets_decrease(fixture *f) { f->offsets[1] = 3, f->offsets[2] = 2; }
static void null_gt_boxes(fixture *f) { f->g.boxes = NULL; }
static void nan_gt(fixture *f) { f->gts[4 * 2 + 0] = NAN; }
static void inf_gt(fixture *f) { f->gts[4 * 1 + 3] = -INFINITY; }
static void gt_x2_below_x1(fixture *f) { f->gts[4 * 2 + 2] = 4.0f; }
static void gt_y2_below_y1(fixture *f) { f->gts[4 * 1 + 3] = -0.5f; }
static void negative_label(fixture *f) { f->labels[2] = -3; }
static void null_labels(fixture *f) { f->g.labels = NULL; }
static void params_size_zero(fixture *f)
{
    f->max_iou.struct_size = 0, f->atss.struct_size = 0, f->fcos.struct_size = 0;
}
static void params_size_too_big(fixture *f)
{
    f->max_iou.struct_size = 4096, f->atss.struct_size = 4096, f->fcos.struct_size = 4096;
}
static void nan_pos_thr(fixture *f) { f->max_iou.pos_iou_thr = NAN; }
static void zero_eps(fixture *f) { f->max_iou.eps = 0.0f, f->atss.eps = 0.0f; }
static void topk_zero(fixture *f) { f->atss.topk = 0; }
static void topk_huge(fixture *f) { f->atss.topk = AA_MAX_TOPK + 1; }
static void ranges_mismatch(fixture *f) { f->fcos.num_regress_ranges = 5; }
static void range_inverted(fixture *f) { f->fcos.regress_lo[1] = 1000.0f; }
static void radius_nan(fixture *f) { f->fcos.center_sampling = 1, f->fcos.center_sample_radius = NAN; }
static void sampling_no_strides(fixture *f) { f->fcos.center_sampling = 1, f->a.level_strides = NULL; }

static const bad_case cases[] = {
    {"anchors.boxes NULL", null_anchor_boxes, AA_ERR_NULL_POINTER, "anchors.boxes", -1},
    {"negative num_anchors", negative_anchor_count, AA_ERR_INVALID_ARGUMENT, "anchors.num_anchors", -1},
    {"num_anchors over limit", too_many_anchors, AA_ERR_LIMIT_EXCEEDED, "AA_MAX_ANCHORS", -1},
    {"zero levels", zero_levels, AA_ERR_INVALID_ARGUMENT, "anchors.num_levels", -1},
    {"too many levels", too_many_levels, AA_ERR_INVALID_ARGUMENT, "anchors.num_levels", -1},
    {"level_counts NULL", null_level_counts, AA_ERR_NULL_POINTER, "anchors.level_counts", -1},
    {"negative level count", negative_level_count, AA_ERR_INVALID_ARGUMENT, "anchors.level_counts[0]", -1},
    {"level counts do not sum", level_sum_mismatch, AA_ERR_INVALID_ARGUMENT, "sum to 5", -1},
    {"zero stride", zero_stride, AA_ERR_INVALID_ARGUMENT, "anchors.level_strides[1]", -1},
    {"NaN stride", nan_stride, AA_ERR_INVALID_ARGUMENT, "anchors.level_strides[0]", -1},
    {"NaN anchor", nan_anchor, AA_ERR_INVALID_BOX, "anchors.boxes[3]: coordinate 1 is NaN", -1},
    {"Inf anchor", inf_anchor, AA_ERR_INVALID_BOX, "anchors.boxes[5]: coordinate 2 is infinite", -1},
    {"inverted anchor", inverted_anchor, AA_ERR_INVALID_BOX, "anchors.boxes[2]: y2 (-1) < y1 (0)", -1},
    {"huge anchor", huge_anchor, AA_ERR_INVALID_BOX, "AA_MAX_COORD", -1},
    {"offsets NULL", null_offsets, AA_ERR_NULL_POINTER, "gts.offsets", -1},
    {"negative num_images", negative_images, AA_ERR_INVALID_ARGUMENT, "gts.num_images", -1},
    {"num_images over limit", too_many_images, AA_ERR_LIMIT_EXCEEDED, "AA_MAX_IMAGES", -1},
    {"offsets[0] not 0", offsets_not_zero, AA_ERR_INVALID_ARGUMENT, "gts.offsets[0]", -1},
    {"offsets decrease", offsets_decrease, AA_ERR_INVALID_ARGUMENT, "decrease at image 1", -1},
    {"gts.boxes NULL", null_gt_boxes, AA_ERR_NULL_POINTER, "gts.boxes", -1},
    {"NaN GT", nan_gt, AA_ERR_INVALID_BOX, "gts.boxes[2] (image 1, GT 0): coordinate 0 is NaN", -1},
    {"Inf GT", inf_gt, AA_ERR_INVALID_BOX, "gts.boxes[1] (image 0, GT 1): coordinate 3", -1},
    {"GT x2 < x1", gt_x2_below_x1, AA_ERR_INVALID_BOX, "gts.boxes[2] (image 1, GT 0): x2 (4) < x1 (5)", -1},
    {"GT y2 < y1", gt_y2_below_y1, AA_ERR_INVALID_BOX, "y2 (-0.5) < y1 (0)", -1},
    {"negative label", negative_label, AA_ERR_INVALID_ARGUMENT, "gts.labels[2]", -1},
    {"labels asked, none given", null_labels, AA_ERR_NULL_POINTER, "gts.labels", -1},
    {"params.struct_size 0", params_size_zero, AA_ERR_INVALID_ARGUMENT, "params.struct_size", -1},
    {"params.struct_size too big", params_size_too_big, AA_ERR_INVALID_ARGUMENT, "params.struct_size", -1},
    {"NaN pos_iou_thr", nan_pos_thr, AA_ERR_INVALID_ARGUMENT, "params.pos_iou_thr", MAX_IOU},
    {"eps 0 (max-IoU)", zero_eps, AA_ERR_INVALID_ARGUMENT, "eps", MAX_IOU},
    {"eps 0 (ATSS)", zero_eps, AA_ERR_INVALID_ARGUMENT, "eps", ATSS},
    {"topk 0", topk_zero, AA_ERR_INVALID_ARGUMENT, "params.topk", ATSS},
    {"topk over limit", topk_huge, AA_ERR_INVALID_ARGUMENT, "params.topk", ATSS},
    {"regress ranges != levels", ranges_mismatch, AA_ERR_INVALID_ARGUMENT, "num_regress_ranges", FCOS},
    {"regress range inverted", range_inverted, AA_ERR_INVALID_ARGUMENT, "regress_lo/hi[1]", FCOS},
    {"NaN centre radius", radius_nan, AA_ERR_INVALID_ARGUMENT, "center_sample_radius", FCOS},
    {"centre sampling without strides", sampling_no_strides, AA_ERR_NULL_POINTER, "level_strides", FCOS},
};

static void every_case_every_assigner(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    test_outputs t;
    test_outputs_alloc(&t, 2, NUM_ANCHORS, 1);
    int checked = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        for (int w = 0; w < NUM_ASSIGNERS; ++w) {
            if (cases[c].only >= 0 && cases[c].only != w) continue;
            fixture f;
            fixture_init(&f);
            /* the fixture itself is valid */
            test_outputs_poison(&t);
            assert_int_equal(run(ctx, (which)w, &f, &t.out, NULL, 0), AA_SUCCESS);
            cases[c].corrupt(&f);
            test_outputs_poison(&t);
            aa_status st = run(ctx, (which)w, &f, &t.out, NULL, 0);
            const char *msg = aa_context_last_error(ctx);
            if (st != cases[c].status || !strstr(msg, cases[c].needle))
                fail_msg("%s / %s: got %s, \"%s\"; expected %s with \"%s\"", cases[c].name, names[w],
                         aa_status_string(st), msg, aa_status_string(cases[c].status), cases[c].needle);
            if (!test_outputs_untouched(&t)) fail_msg("%s / %s: wrote an output", cases[c].name, names[w]);
            test_guarded_check(t.gt_index), test_guarded_check(t.overlap), test_guarded_check(t.labels);
            ++checked;
        }
    }
    fprintf(stderr, "%d bad-input cases checked\n", checked);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* NULL context, NULL batch structs, NULL outputs, short workspace. */
static void null_structs_and_workspace(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    fixture_init(&f);
    test_outputs t;
    test_outputs_alloc(&t, 2, NUM_ANCHORS, 1);
    assert_int_equal(aa_assign_atss(NULL, NULL, &f.a, &f.g, &t.out, NULL, 0), AA_ERR_NULL_POINTER);
    ASSERT_FAILS(ctx, aa_assign_atss(ctx, NULL, NULL, &f.g, &t.out, NULL, 0), AA_ERR_NULL_POINTER, "anchors", test_outputs_untouched(&t));
    ASSERT_FAILS(ctx, aa_assign_fcos(ctx, NULL, &f.a, NULL, &t.out, NULL, 0), AA_ERR_NULL_POINTER, "gts", test_outputs_untouched(&t));
    ASSERT_FAILS(ctx, aa_assign_max_iou(ctx, NULL, &f.a, &f.g, NULL, NULL, 0), AA_ERR_NULL_POINTER, "out", test_outputs_untouched(&t));
    aa_assignment no_index = t.out;
    no_index.gt_index = NULL;
    ASSERT_FAILS(ctx, aa_assign_max_iou(ctx, NULL, &f.a, &f.g, &no_index, NULL, 0), AA_ERR_NULL_POINTER, "out.gt_index", test_outputs_untouched(&t));

    for (int w = 0; w < NUM_ASSIGNERS; ++w) {
        size_t bytes = 0;
        aa_status st = w == MAX_IOU ? aa_max_iou_workspace_size(ctx, &f.max_iou, &f.a, &f.g, &bytes)
                     : w == ATSS    ? aa_atss_workspace_size(ctx, &f.atss, &f.a, &f.g, &bytes)
                                    : aa_fcos_workspace_size(ctx, &f.fcos, &f.a, &f.g, &bytes);
        assert_int_equal(st, AA_SUCCESS);
        assert_true(bytes > 0);
        char *ws = malloc(bytes);
        ASSERT_FAILS(ctx, run(ctx, (which)w, &f, &t.out, ws, bytes - 1), AA_ERR_WORKSPACE_TOO_SMALL,
                     "workspace_bytes", test_outputs_untouched(&t));
        assert_int_equal(run(ctx, (which)w, &f, &t.out, ws, bytes), AA_SUCCESS);
        test_outputs_check_written(&t);
        test_outputs_poison(&t);
        free(ws);
    }
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Empty inputs are valid: no anchors (levels of 0), no images, images without
 * GTs. Every call succeeds and writes exactly the elements it owns. */
static void empty_inputs(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    int64_t zero_counts[2] = {0, 0}, offsets[3] = {0, 0, 0};
    const float strides[2] = {8, 16}, box[4] = {0, 0, 4, 4};
    aa_anchors none = {NULL, 0, 2, zero_counts, strides};
    aa_gts no_gts = {NULL, offsets, 2, NULL, NULL, NULL};
    aa_gts no_images = {NULL, offsets, 0, NULL, NULL, NULL};
    int64_t one_offsets[2] = {0, 1};
    aa_gts one_gt = {box, one_offsets, 1, NULL, NULL, NULL};
    fixture f;
    fixture_init(&f);
    test_outputs t;
    test_outputs_alloc(&t, 2, NUM_ANCHORS, 0);
    const aa_gts *gsets[3] = {&no_gts, &no_images, &one_gt};
    for (int k = 0; k < 3; ++k) {
        /* no anchors: nothing to write */
        assert_int_equal(aa_assign_max_iou(ctx, NULL, &none, gsets[k], &t.out, NULL, 0), AA_SUCCESS);
        assert_int_equal(aa_assign_atss(ctx, NULL, &none, gsets[k], &t.out, NULL, 0), AA_SUCCESS);
        f.fcos.num_regress_ranges = 2;
        assert_int_equal(aa_assign_fcos(ctx, &f.fcos, &none, gsets[k], &t.out, NULL, 0), AA_SUCCESS);
        assert_true(test_outputs_untouched(&t));
    }
    /* anchors but no GTs in two images: every element negative */
    assert_int_equal(aa_assign_atss(ctx, NULL, &f.a, &no_gts, &t.out, NULL, 0), AA_SUCCESS);
    test_outputs_check_written(&t);
    for (int i = 0; i < 2 * NUM_ANCHORS; ++i) assert_int_equal(t.gt_index[i], AA_NEGATIVE);
    float iou = -5.0f;
    assert_int_equal(aa_overlaps(ctx, AA_IOU, 1e-6f, &none, &one_gt, NULL), AA_SUCCESS);
    assert_int_equal(aa_overlaps(ctx, AA_IOU, 1e-6f, &f.a, &no_images, &iou), AA_SUCCESS);
    assert_true(iou == -5.0f);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* The primitives check their own arguments the same way. */
static void primitives(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    fixture_init(&f);
    int32_t *cand = test_guarded_alloc(NUM_GTS * 2 * 9, sizeof(int32_t));
    float *iou = test_guarded_alloc(NUM_GTS * NUM_ANCHORS, sizeof(float));
    double mean[NUM_GTS], std[NUM_GTS];
    ASSERT_FAILS(ctx, aa_topk_nearest(ctx, 0, &f.a, &f.g, cand), AA_ERR_INVALID_ARGUMENT, "topk", test_guarded_untouched(cand));
    ASSERT_FAILS(ctx, aa_overlaps(ctx, (aa_overlap_mode)7, 1e-6f, &f.a, &f.g, iou), AA_ERR_INVALID_ARGUMENT, "mode", test_guarded_untouched(iou));
    ASSERT_FAILS(ctx, aa_overlaps(ctx, AA_IOU, NAN, &f.a, &f.g, iou), AA_ERR_INVALID_ARGUMENT, "eps", test_guarded_untouched(iou));
    f.gts[1] = NAN;
    ASSERT_FAILS(ctx, aa_overlaps(ctx, AA_IOU, 1e-6f, &f.a, &f.g, iou), AA_ERR_INVALID_BOX, "gts.boxes[0]", test_guarded_untouched(iou));
    ASSERT_FAILS(ctx, aa_topk_nearest(ctx, 9, &f.a, &f.g, cand), AA_ERR_INVALID_BOX, "gts.boxes[0]", test_guarded_untouched(cand));
    f.gts[1] = 0;
    assert_int_equal(aa_topk_nearest(ctx, 9, &f.a, &f.g, cand), AA_SUCCESS);
    cand[4] = NUM_ANCHORS; /* not an anchor */
    ASSERT_FAILS(ctx, aa_candidate_iou_stats(ctx, 9, 1e-6f, &f.a, &f.g, cand, mean, std), AA_ERR_INVALID_ARGUMENT, "candidates[4]", 1);
    test_guarded_check(cand), test_guarded_check(iou);
    test_guarded_free(cand), test_guarded_free(iou);
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_case_every_assigner),
        cmocka_unit_test(null_structs_and_workspace),
        cmocka_unit_test(empty_inputs),
        cmocka_unit_test(primitives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
