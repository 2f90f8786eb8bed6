/* test_lada_bad_input.c - every bad input of aa_assign_lada and
 * aa_lada_workspace_size returns the right status, names the argument in the
 * context's message, and writes nothing: outputs are poisoned and guarded, the
 * workspace size untouched. Also: a loss that overflows float32 is refused, a NULL
 * context or bytes, and the OpenCL backend checks the same before its kernels. */
#include "lada_common.h"

enum { A = 4, G = 2, C = 3 };
enum { ASSIGN = 1, SIZE = 2, BOTH = 3 };

/* A valid call that each case corrupts one thing of: 4 anchors on 2 levels (strides
 * 8, 16), 2 GTs with labels 1, 2, 3 classes. */
typedef struct fixture {
    float boxes[A * 4], gt_boxes[G * 4], logits[A * C], deltas[A * 4];
    uint16_t half_logits[A * C], half_deltas[A * 4];
    int64_t level_counts[2], offsets[2];
    float strides[2];
    int32_t labels[G];
    aa_lada_params p;
    aa_anchors a;
    aa_gts g;
    aa_head_outputs h;
    const aa_anchors *ap;
    const aa_gts *gp;
    const aa_head_outputs *hp;
    size_t ws_bytes; /* caller workspace size, 0: the context's */
    void *ws;
    int null_out, null_gt_index, want_labels;
} fixture;

static void fixture_init(fixture *f)
{
    static const float boxes[A * 4] = {0, 0, 10, 10, 5, 5, 15, 15, 20, 20, 30, 30, 100, 100, 110, 110};
    static const float gt_boxes[G * 4] = {0, 0, 12, 12, 18, 18, 32, 32};
    memset(f, 0, sizeof *f);
    memcpy(f->boxes, boxes, sizeof boxes);
    memcpy(f->gt_boxes, gt_boxes, sizeof gt_boxes);
    for (int j = 0; j < A * C; ++j) f->logits[j] = (float)(j % 5) - 2.0f;
    for (int j = 0; j < A * 4; ++j) f->deltas[j] = 0.125f * (float)(j % 3);
    f->labels[0] = 1, f->labels[1] = 2;
    f->level_counts[0] = 3, f->level_counts[1] = 1, f->strides[0] = 8.0f, f->strides[1] = 16.0f;
    f->offsets[1] = G;
    aa_lada_params_init(&f->p);
    aa_anchors a = {f->boxes, A, 2, f->level_counts, f->strides};
    aa_gts g = {f->gt_boxes, f->offsets, 1, NULL, f->labels, NULL};
    aa_head_outputs h = {f->logits, f->deltas, AA_FLOAT32, C};
    f->a = a, f->g = g, f->h = h;
    f->ap = &f->a, f->gp = &f->g, f->hp = &f->h;
    f->want_labels = 1;
}

typedef struct bad_case {
    const char *name;
    void (*corrupt)(fixture *f);
    int calls;
    aa_status status;
    const char *needle;
} bad_case;

#define CORRUPT(fn, body) \
    static void fn(fixture *f) { body; }
#define HALF(f) (f)->h.cls_logits = (f)->half_logits, (f)->h.bbox_deltas = (f)->half_deltas
/* parameters */
CORRUPT(size_zero, f->p.struct_size = 0)
CORRUPT(size_big, f->p.struct_size = sizeof(aa_lada_params) + 1)
CORRUPT(radius_zero, f->p.region_radius = 0.0f)
CORRUPT(radius_negative, f->p.region_radius = -1.5f)
CORRUPT(radius_nan, f->p.region_radius = NAN)
CORRUPT(radius_inf, f->p.region_radius = INFINITY)
CORRUPT(clip_two, f->p.clip_region_to_gt = 2)
CORRUPT(per_level_zero, f->p.topk_per_level = 0)
CORRUPT(per_level_big, f->p.topk_per_level = AA_MAX_TOPK + 1)
CORRUPT(topk_zero, f->p.topk = 0)
CORRUPT(topk_big, f->p.topk = AA_MAX_TOPK * AA_MAX_LEVELS + 1)
CORRUPT(threshold_bad, f->p.threshold = (aa_lada_threshold)2)
CORRUPT(cls_weight_negative, f->p.cls_weight = -1.0f)
CORRUPT(cls_weight_nan, f->p.cls_weight = NAN)
CORRUPT(giou_weight_inf, f->p.giou_weight = INFINITY)
CORRUPT(giou_weight_negative, f->p.giou_weight = -0.5f)
CORRUPT(center_weight_negative, f->p.center_weight = -0.5f)
CORRUPT(center_weight_nan, f->p.center_weight = NAN)
CORRUPT(alpha_neg, f->p.focal_alpha = -0.1f)
CORRUPT(alpha_big, f->p.focal_alpha = 1.5f)
CORRUPT(alpha_nan, f->p.focal_alpha = NAN)
CORRUPT(gamma_neg, f->p.focal_gamma = -1.0f)
CORRUPT(gamma_inf, f->p.focal_gamma = INFINITY)
CORRUPT(giou_eps_zero, f->p.giou_eps = 0.0f)
CORRUPT(giou_eps_nan, f->p.giou_eps = NAN)
CORRUPT(means_inf, f->p.target_means[2] = INFINITY)
CORRUPT(stds_zero, f->p.target_stds[1] = 0.0f)
CORRUPT(stds_negative, f->p.target_stds[3] = -0.2f)
CORRUPT(clip_ratio_zero, f->p.wh_ratio_clip = 0.0f)
CORRUPT(clip_ratio_nan, f->p.wh_ratio_clip = NAN)
/* batch and outputs */
CORRUPT(anchors_null, f->ap = NULL)
CORRUPT(gts_null, f->gp = NULL)
CORRUPT(strides_null, f->a.level_strides = NULL)
CORRUPT(stride_zero, f->strides[1] = 0.0f)
CORRUPT(anchor_box_nan, f->boxes[5] = NAN)
CORRUPT(gt_box_nan, f->gt_boxes[2] = NAN)
CORRUPT(gt_box_reversed, f->gt_boxes[4] = 40.0f)
CORRUPT(label_negative, f->labels[1] = -1)
CORRUPT(out_null, f->null_out = 1)
CORRUPT(gt_index_null, f->null_gt_index = 1)
CORRUPT(labels_null_for_out, f->g.labels = NULL)
/* head outputs */
CORRUPT(head_null, f->hp = NULL)
CORRUPT(dtype_bad, f->h.dtype = (aa_dtype)3)
CORRUPT(classes_zero, f->h.num_classes = 0)
CORRUPT(logits_null, f->h.cls_logits = NULL)
CORRUPT(deltas_null, f->h.bbox_deltas = NULL)
CORRUPT(label_too_big, f->labels[1] = C)
CORRUPT(labels_null_for_loss, f->g.labels = NULL; f->want_labels = 0)
CORRUPT(logit_nan, f->logits[1 * C + 2] = NAN)
CORRUPT(logit_inf, f->logits[2 * C] = -INFINITY)
CORRUPT(logit_nan_far, f->logits[3 * C + 1] = NAN) /* anchor 3 is in no region: still checked */
CORRUPT(delta_nan, f->deltas[0 * 4 + 3] = NAN)
CORRUPT(half_logit_nan, f->h.dtype = AA_FLOAT16; HALF(f); f->half_logits[2] = 0x7e00)
CORRUPT(half_logit_inf, f->h.dtype = AA_FLOAT16; HALF(f); f->half_logits[C] = 0xfc00)
CORRUPT(bfloat_delta_nan, f->h.dtype = AA_BFLOAT16; HALF(f); f->half_deltas[5] = 0x7fc1)
CORRUPT(bfloat_delta_inf, f->h.dtype = AA_BFLOAT16; HALF(f); f->half_deltas[4] = 0x7f80)
/* finite head outputs whose loss overflows float32: two wrong-class logits of 3e38 on
 * anchor 0, which lies in GT 0's region */
CORRUPT(loss_overflow, f->logits[0] = 3e38f; f->logits[2] = 3e38f)
/* caller workspaces */
CORRUPT(ws_small, f->ws_bytes = 1)
CORRUPT(ws_misaligned, f->ws_bytes = 4096; f->ws = (char *)f->ws + 4)

static const bad_case cases[] = {
    {"struct_size 0", size_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.struct_size"},
    {"struct_size too big", size_big, BOTH, AA_ERR_INVALID_ARGUMENT, "params.struct_size"},
    {"region_radius 0", radius_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.region_radius"},
    {"region_radius < 0", radius_negative, BOTH, AA_ERR_INVALID_ARGUMENT, "params.region_radius"},
    {"region_radius NaN", radius_nan, BOTH, AA_ERR_INVALID_ARGUMENT, "params.region_radius"},
    {"region_radius inf", radius_inf, BOTH, AA_ERR_INVALID_ARGUMENT, "params.region_radius"},
    {"clip_region_to_gt 2", clip_two, BOTH, AA_ERR_INVALID_ARGUMENT, "params.clip_region_to_gt"},
    {"topk_per_level 0", per_level_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.topk_per_level"},
    {"topk_per_level too big", per_level_big, BOTH, AA_ERR_INVALID_ARGUMENT, "params.topk_per_level"},
    {"topk 0", topk_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.topk"},
    {"topk too big", topk_big, BOTH, AA_ERR_INVALID_ARGUMENT, "params.topk"},
    {"threshold 2", threshold_bad, BOTH, AA_ERR_INVALID_ARGUMENT, "params.threshold"},
    {"cls_weight < 0", cls_weight_negative, BOTH, AA_ERR_INVALID_ARGUMENT, "params.cls_weight"},
    {"cls_weight NaN", cls_weight_nan, BOTH, AA_ERR_INVALID_ARGUMENT, "params.cls_weight"},
    {"giou_weight inf", giou_weight_inf, BOTH, AA_ERR_INVALID_ARGUMENT, "params.giou_weight"},
    {"giou_weight < 0", giou_weight_negative, BOTH, AA_ERR_INVALID_ARGUMENT, "params.giou_weight"},
    {"center_weight < 0", center_weight_negative, BOTH, AA_ERR_INVALID_ARGUMENT, "params.center_weight"},
    {"center_weight NaN", center_weight_nan, BOTH, AA_ERR_INVALID_ARGUMENT, "params.center_weight"},
    {"focal_alpha < 0", alpha_neg, BOTH, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha"},
    {"focal_alpha > 1", alpha_big, BOTH, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha"},
    {"focal_alpha NaN", alpha_nan, BOTH, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha"},
    {"focal_gamma < 0", gamma_neg, BOTH, AA_ERR_INVALID_ARGUMENT, "params.focal_gamma"},
    {"focal_gamma inf", gamma_inf, BOTH, AA_ERR_INVALID_ARGUMENT, "params.focal_gamma"},
    {"giou_eps 0", giou_eps_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.giou_eps"},
    {"giou_eps NaN", giou_eps_nan, BOTH, AA_ERR_INVALID_ARGUMENT, "params.giou_eps"},
    {"target_means inf", means_inf, BOTH, AA_ERR_INVALID_ARGUMENT, "params.target_means[2]"},
    {"target_stds 0", stds_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.target_stds[1]"},
    {"target_stds < 0", stds_negative, BOTH, AA_ERR_INVALID_ARGUMENT, "params.target_stds[3]"},
    {"wh_ratio_clip 0", clip_ratio_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "params.wh_ratio_clip"},
    {"wh_ratio_clip NaN", clip_ratio_nan, BOTH, AA_ERR_INVALID_ARGUMENT, "params.wh_ratio_clip"},
    {"anchors NULL", anchors_null, BOTH, AA_ERR_NULL_POINTER, "anchors"},
    {"gts NULL", gts_null, BOTH, AA_ERR_NULL_POINTER, "gts"},
    {"level_strides NULL", strides_null, BOTH, AA_ERR_NULL_POINTER, "anchors.level_strides"},
    {"level stride 0", stride_zero, BOTH, AA_ERR_INVALID_ARGUMENT, "anchors.level_strides[1]"},
    {"anchor box NaN", anchor_box_nan, BOTH, AA_ERR_INVALID_BOX, "anchors.boxes[1]"},
    {"GT box NaN", gt_box_nan, BOTH, AA_ERR_INVALID_BOX, "gts.boxes[0]"},
    {"GT box x2 < x1", gt_box_reversed, BOTH, AA_ERR_INVALID_BOX, "gts.boxes[1]"},
    {"label < 0", label_negative, BOTH, AA_ERR_INVALID_ARGUMENT, "gts.labels[1]"},
    {"out NULL", out_null, ASSIGN, AA_ERR_NULL_POINTER, "out"},
    {"out.gt_index NULL", gt_index_null, ASSIGN, AA_ERR_NULL_POINTER, "out.gt_index"},
    {"out.labels without gts.labels", labels_null_for_out, ASSIGN, AA_ERR_NULL_POINTER, "gts.labels"},
    {"head NULL", head_null, ASSIGN, AA_ERR_NULL_POINTER, "head"},
    {"head.dtype 3", dtype_bad, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.dtype"},
    {"head.num_classes 0", classes_zero, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.num_classes"},
    {"head.cls_logits NULL", logits_null, ASSIGN, AA_ERR_NULL_POINTER, "head.cls_logits"},
    {"head.bbox_deltas NULL", deltas_null, ASSIGN, AA_ERR_NULL_POINTER, "head.bbox_deltas"},
    {"label >= num_classes", label_too_big, ASSIGN, AA_ERR_INVALID_ARGUMENT, "gts.labels[1]"},
    {"gts.labels NULL", labels_null_for_loss, ASSIGN, AA_ERR_NULL_POINTER,
     "gts.labels: NULL; the classification loss"},
    {"logit NaN", logit_nan, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.cls_logits[1][2]"},
    {"logit -inf", logit_inf, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.cls_logits[2][0]"},
    {"logit NaN, anchor in no region", logit_nan_far, ASSIGN, AA_ERR_INVALID_ARGUMENT,
     "head.cls_logits[3][1]"},
    {"delta NaN", delta_nan, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.bbox_deltas[0][3]"},
    {"float16 logit NaN", half_logit_nan, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.cls_logits[0][2]"},
    {"float16 logit -inf", half_logit_inf, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.cls_logits[1][0]"},
    {"bfloat16 delta NaN", bfloat_delta_nan, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.bbox_deltas[1][1]"},
    {"bfloat16 delta inf", bfloat_delta_inf, ASSIGN, AA_ERR_INVALID_ARGUMENT, "head.bbox_deltas[1][0]"},
    {"loss overflows float32", loss_overflow, ASSIGN, AA_ERR_INVALID_ARGUMENT,
     "head: the loss of anchor 0 for GT 0 of image 0"},
    {"workspace too small", ws_small, ASSIGN, AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes"},
    {"workspace misaligned", ws_misaligned, ASSIGN, AA_ERR_INVALID_ARGUMENT, "workspace"},
};

static void run_case(aa_context *ctx, const bad_case *c)
{
    fixture f;
    test_outputs t;
    fixture_init(&f);
    char *block = malloc(8192 + 16);
    f.ws = (void *)(((uintptr_t)block + 15) & ~(uintptr_t)15);
    c->corrupt(&f);
    test_outputs_alloc(&t, 1, A, f.want_labels);
    aa_assignment out = t.out;
    if (f.null_gt_index) out.gt_index = NULL;
    const aa_assignment *outp = f.null_out ? NULL : &out;
    if (c->calls & ASSIGN)
        ASSERT_FAILS(ctx,
                     aa_assign_lada(ctx, &f.p, f.ap, f.gp, f.hp, outp, f.ws_bytes ? f.ws : NULL,
                                    f.ws_bytes),
                     c->status, c->needle, test_outputs_untouched(&t));
    if (c->calls & SIZE) {
        size_t bytes = 12345;
        ASSERT_FAILS(ctx, aa_lada_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), c->status,
                     c->needle, bytes == 12345);
    }
    test_outputs_free(&t);
    free(block);
}

static void bad_input(void **state)
{
    aa_context *ctx = test_cpu_context();
    run_case(ctx, (const bad_case *)*state);
    aa_context_destroy(ctx);
}

/* The fixture is valid (every anchor but 3 is a candidate of some GT, and something is
 * positive), with and without a labels output. */
static void good_inputs(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    test_outputs t;
    fixture_init(&f);
    test_outputs_alloc(&t, 1, A, 1);
    test_ok(ctx, aa_assign_lada(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), "aa_assign_lada");
    test_outputs_check_written(&t);
    lada_check_rule(&f.p, f.ap, f.gp, f.logits, f.deltas, C, &t.out);
    size_t bytes = 0;
    test_ok(ctx, aa_lada_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), "aa_lada_workspace_size");
    assert_true(bytes > 0 && bytes <= 8192);
    test_outputs_free(&t);
    test_outputs_alloc(&t, 1, A, 0);
    test_ok(ctx, aa_assign_lada(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), "no labels output");
    test_outputs_check_written(&t);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

static void null_context_and_bytes(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    test_outputs t;
    fixture_init(&f);
    test_outputs_alloc(&t, 1, A, 1);
    size_t bytes;
    assert_int_equal(aa_assign_lada(NULL, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_lada_workspace_size(NULL, &f.p, f.ap, f.gp, &bytes), AA_ERR_NULL_POINTER);
    assert_true(test_outputs_untouched(&t));
    ASSERT_FAILS(ctx, aa_lada_workspace_size(ctx, &f.p, f.ap, f.gp, NULL), AA_ERR_NULL_POINTER,
                 "bytes", 1);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

#if AA_TEST_HAVE_OPENCL
/* The OpenCL backend (PoCL here) runs the same checks before its kernels: a bad
 * argument is named and nothing written; good inputs give the CPU's outputs
 * (tests/parity_lada.h compares them at length). */
static void on_gpu(void **state)
{
    (void)state;
    aa_context *ctx = test_opencl_context(AA_MEMORY_HOST);
    aa_context *cpu = test_cpu_context();
    fixture f;
    test_outputs t, want;
    fixture_init(&f);
    test_outputs_alloc(&t, 1, A, 1);
    test_outputs_alloc(&want, 1, A, 1);
    size_t bytes = 12345;
    assert_int_equal(aa_lada_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), AA_SUCCESS);
    assert_true(bytes > 0 && bytes != 12345);
    test_outputs_poison(&t);
    assert_int_equal(aa_assign_lada(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), AA_SUCCESS);
    assert_int_equal(aa_assign_lada(cpu, &f.p, f.ap, f.gp, f.hp, &want.out, NULL, 0), AA_SUCCESS);
    test_outputs_check_written(&t);
    assert_memory_equal(t.gt_index, want.gt_index, A * sizeof(int32_t));
    assert_memory_equal(t.overlap, want.overlap, A * sizeof(float));
    assert_memory_equal(t.labels, want.labels, A * sizeof(int32_t));
    test_outputs_poison(&t);
    f.p.region_radius = 0.0f;
    ASSERT_FAILS(ctx, aa_assign_lada(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0),
                 AA_ERR_INVALID_ARGUMENT, "params.region_radius", test_outputs_untouched(&t));
    f.p.region_radius = 1.5f, f.logits[1] = NAN;
    ASSERT_FAILS(ctx, aa_assign_lada(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0),
                 AA_ERR_INVALID_ARGUMENT, "head.cls_logits[0][1]", test_outputs_untouched(&t));
    test_outputs_free(&t), test_outputs_free(&want);
    aa_context_destroy(ctx), aa_context_destroy(cpu);
}
#endif

enum { NUM_CASES = sizeof cases / sizeof cases[0] };

int main(void)
{
    static struct CMUnitTest tests[NUM_CASES + 4];
    size_t n = 0;
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(good_inputs),
        cmocka_unit_test(null_context_and_bytes),
#if AA_TEST_HAVE_OPENCL
        cmocka_unit_test(on_gpu),
#endif
    };
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; ++k) tests[n++] = fixed[k];
    for (size_t k = 0; k < NUM_CASES; ++k) {
        struct CMUnitTest t = cmocka_unit_test_prestate(bad_input, (void *)&cases[k]);
        t.name = cases[k].name;
        tests[n++] = t;
    }
    return _cmocka_run_group_tests("test_lada_bad_input", tests, n, NULL, NULL);
}
