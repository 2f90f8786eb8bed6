/* test_paa_bad_input.c - every bad input of the PAA calls (aa_paa_costs,
 * aa_assign_paa_costs, aa_assign_paa and their workspace sizes) returns the right
 * status, names the argument in the context's message, and writes nothing: outputs
 * are poisoned and guarded. Also what is NOT read (costs and head outputs of anchors
 * not pre-assigned) may be NaN, and the GPU backends refuse PAA for now. */
#include "paa_common.h"

enum { A = 4, G = 2, C = 3 };
enum { COSTS = 1, SELECT = 2, WHOLE = 4, SIZES = 8, ALL = 15 };

/* A valid call of each kind that each case corrupts one thing of. */
typedef struct fixture {
    float boxes[A * 4], gt_boxes[G * 4], logits[A * C], deltas[A * 4], costs[A];
    uint16_t half_logits[A * C], half_deltas[A * 4];
    int64_t level_counts[1], offsets[2];
    float strides[1];
    int32_t labels[G], pre[A];
    uint8_t crowd[G];
    aa_paa_params p;
    aa_anchors a;
    aa_gts g;
    aa_head_outputs h;
    const aa_anchors *ap;
    const aa_gts *gp;
    const aa_head_outputs *hp;
    const int32_t *prep;
    const float *costsp;
    size_t select_bytes, whole_bytes; /* caller workspace sizes, 0: the context's */
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
    const float costs[A] = {0.5f, 0.7f, 0.2f, NAN}; /* anchor 3 is not pre-assigned */
    const int32_t pre[A] = {0, 0, 1, AA_NEGATIVE};
    memcpy(f->costs, costs, sizeof costs);
    memcpy(f->pre, pre, sizeof pre);
    f->labels[0] = 1, f->labels[1] = 2;
    f->level_counts[0] = A, f->strides[0] = 8.0f, f->offsets[1] = G;
    aa_paa_params_init(&f->p);
    aa_anchors a = {f->boxes, A, 1, f->level_counts, f->strides};
    aa_gts g = {f->gt_boxes, f->offsets, 1, NULL, f->labels, NULL};
    aa_head_outputs h = {f->logits, f->deltas, AA_FLOAT32, C};
    f->a = a, f->g = g, f->h = h;
    f->ap = &f->a, f->gp = &f->g, f->hp = &f->h, f->prep = f->pre, f->costsp = f->costs;
    f->want_labels = 1;
}

typedef struct bad_case {
    const char *name;
    void (*corrupt)(fixture *f);
    int calls; /* which calls it applies to */
    aa_status status;
    const char *needle;
} bad_case;

#define CORRUPT(fn, body) \
    static void fn(fixture *f) { body; }
/* parameters */
CORRUPT(size_zero, f->p.struct_size = 0)
CORRUPT(size_big, f->p.struct_size = sizeof(aa_paa_params) + 1)
CORRUPT(pre_eps, f->p.pre.eps = 0.0f)
CORRUPT(pre_pos_nan, f->p.pre.pos_iou_thr = NAN)
CORRUPT(gmm_k_zero, f->p.gmm.num_components = 0)
CORRUPT(gmm_k_three, f->p.gmm.num_components = 3) /* "2 components ... the only ones allowed" */
CORRUPT(gmm_k_one, f->p.gmm.num_components = 1)
CORRUPT(gmm_iter, f->p.gmm.max_iter = -1)
CORRUPT(gmm_tol, f->p.gmm.tol = NAN)
CORRUPT(gmm_reg, f->p.gmm.reg_covar = -1e-6)
CORRUPT(gmm_cov, f->p.gmm.covariance = (aa_gmm_covariance)7)
CORRUPT(gmm_given, f->p.gmm.init = AA_GMM_INIT_GIVEN)
CORRUPT(topk_zero, f->p.topk = 0)
CORRUPT(topk_big, f->p.topk = AA_MAX_TOPK + 1)
CORRUPT(alpha_neg, f->p.focal_alpha = -0.1f)
CORRUPT(alpha_big, f->p.focal_alpha = 1.5f)
CORRUPT(alpha_nan, f->p.focal_alpha = NAN)
CORRUPT(gamma_neg, f->p.focal_gamma = -1.0f)
CORRUPT(gamma_inf, f->p.focal_gamma = INFINITY)
CORRUPT(giou_weight_nan, f->p.giou_weight = NAN)
CORRUPT(giou_weight_inf, f->p.giou_weight = -INFINITY)
CORRUPT(giou_eps_zero, f->p.giou_eps = 0.0f)
CORRUPT(giou_eps_nan, f->p.giou_eps = NAN)
CORRUPT(means_inf, f->p.target_means[2] = INFINITY)
CORRUPT(stds_zero, f->p.target_stds[1] = 0.0f)
CORRUPT(stds_negative, f->p.target_stds[3] = -0.2f)
CORRUPT(clip_zero, f->p.wh_ratio_clip = 0.0f)
CORRUPT(clip_nan, f->p.wh_ratio_clip = NAN)
/* batch and outputs */
CORRUPT(anchors_null, f->ap = NULL)
CORRUPT(gts_null, f->gp = NULL)
CORRUPT(gt_box_nan, f->gt_boxes[2] = NAN)
CORRUPT(out_null, f->null_out = 1)
CORRUPT(gt_index_null, f->null_gt_index = 1)
CORRUPT(labels_null_for_out, f->g.labels = NULL)
/* pre-assignment */
CORRUPT(pre_null, f->prep = NULL)
CORRUPT(pre_below, f->pre[1] = -3)
CORRUPT(pre_above, f->pre[2] = G)
CORRUPT(pre_crowd, f->g.ignore_flags = f->crowd; f->crowd[1] = 1) /* anchor 2's GT */
/* costs */
CORRUPT(costs_null, f->costsp = NULL)
CORRUPT(cost_nan, f->costs[1] = NAN)
CORRUPT(cost_inf, f->costs[2] = INFINITY)
/* head outputs */
CORRUPT(head_null, f->hp = NULL)
CORRUPT(dtype_bad, f->h.dtype = (aa_dtype)3)
CORRUPT(classes_zero, f->h.num_classes = 0)
CORRUPT(logits_null, f->h.cls_logits = NULL)
CORRUPT(deltas_null, f->h.bbox_deltas = NULL)
CORRUPT(label_too_big, f->labels[1] = C)
CORRUPT(labels_null_for_cost, f->g.labels = NULL; f->want_labels = 0)
CORRUPT(logit_nan, f->logits[1 * C + 2] = NAN)
CORRUPT(logit_inf, f->logits[2 * C] = -INFINITY)
CORRUPT(delta_nan, f->deltas[0 * 4 + 3] = NAN)
CORRUPT(half_logit_nan, f->h.dtype = AA_FLOAT16; f->h.cls_logits = f->half_logits;
        f->h.bbox_deltas = f->half_deltas; f->half_logits[2] = 0x7e00)
CORRUPT(half_logit_inf, f->h.dtype = AA_FLOAT16; f->h.cls_logits = f->half_logits;
        f->h.bbox_deltas = f->half_deltas; f->half_logits[C] = 0xfc00)
CORRUPT(bfloat_delta_nan, f->h.dtype = AA_BFLOAT16; f->h.cls_logits = f->half_logits;
        f->h.bbox_deltas = f->half_deltas; f->half_deltas[5] = 0x7fc1)
CORRUPT(bfloat_delta_inf, f->h.dtype = AA_BFLOAT16; f->h.cls_logits = f->half_logits;
        f->h.bbox_deltas = f->half_deltas; f->half_deltas[4] = 0x7f80)
/* aa_assign_paa has no pre-assignment yet: it checks every anchor's head outputs */
CORRUPT(logit_nan_unassigned, f->logits[3 * C + 1] = NAN)
/* caller workspaces */
CORRUPT(select_ws_small, f->select_bytes = 1)
CORRUPT(whole_ws_small, f->whole_bytes = 1)
CORRUPT(ws_misaligned, f->select_bytes = f->whole_bytes = 4096; f->ws = (char *)f->ws + 4)

static const bad_case cases[] = {
    {"struct_size 0", size_zero, ALL, AA_ERR_INVALID_ARGUMENT, "params.struct_size"},
    {"struct_size too big", size_big, ALL, AA_ERR_INVALID_ARGUMENT, "params.struct_size"},
    {"pre.eps 0", pre_eps, ALL, AA_ERR_INVALID_ARGUMENT, "eps"},
    {"pre.pos_iou_thr NaN", pre_pos_nan, ALL, AA_ERR_INVALID_ARGUMENT, "params.pos_iou_thr"},
    {"gmm.num_components 0", gmm_k_zero, ALL, AA_ERR_INVALID_ARGUMENT, "num_components"},
    {"gmm.num_components 3", gmm_k_three, ALL, AA_ERR_INVALID_ARGUMENT, "num_components"},
    {"gmm.num_components 1", gmm_k_one, ALL, AA_ERR_INVALID_ARGUMENT, "num_components"},
    {"gmm.max_iter -1", gmm_iter, ALL, AA_ERR_INVALID_ARGUMENT, "params.max_iter"},
    {"gmm.tol NaN", gmm_tol, ALL, AA_ERR_INVALID_ARGUMENT, "params.tol"},
    {"gmm.reg_covar < 0", gmm_reg, ALL, AA_ERR_INVALID_ARGUMENT, "params.reg_covar"},
    {"gmm.covariance 7", gmm_cov, ALL, AA_ERR_INVALID_ARGUMENT, "params.covariance"},
    {"gmm.init GIVEN", gmm_given, ALL, AA_ERR_INVALID_ARGUMENT, "params.gmm.init"},
    {"topk 0", topk_zero, ALL, AA_ERR_INVALID_ARGUMENT, "params.topk"},
    {"topk too big", topk_big, ALL, AA_ERR_INVALID_ARGUMENT, "params.topk"},
    {"focal_alpha < 0", alpha_neg, ALL, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha"},
    {"focal_alpha > 1", alpha_big, ALL, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha"},
    {"focal_alpha NaN", alpha_nan, ALL, AA_ERR_INVALID_ARGUMENT, "params.focal_alpha"},
    {"focal_gamma < 0", gamma_neg, ALL, AA_ERR_INVALID_ARGUMENT, "params.focal_gamma"},
    {"focal_gamma inf", gamma_inf, ALL, AA_ERR_INVALID_ARGUMENT, "params.focal_gamma"},
    {"giou_weight NaN", giou_weight_nan, ALL, AA_ERR_INVALID_ARGUMENT, "params.giou_weight"},
    {"giou_weight -inf", giou_weight_inf, ALL, AA_ERR_INVALID_ARGUMENT, "params.giou_weight"},
    {"giou_eps 0", giou_eps_zero, ALL, AA_ERR_INVALID_ARGUMENT, "params.giou_eps"},
    {"giou_eps NaN", giou_eps_nan, ALL, AA_ERR_INVALID_ARGUMENT, "params.giou_eps"},
    {"target_means inf", means_inf, ALL, AA_ERR_INVALID_ARGUMENT, "params.target_means[2]"},
    {"target_stds 0", stds_zero, ALL, AA_ERR_INVALID_ARGUMENT, "params.target_stds[1]"},
    {"target_stds < 0", stds_negative, ALL, AA_ERR_INVALID_ARGUMENT, "params.target_stds[3]"},
    {"wh_ratio_clip 0", clip_zero, ALL, AA_ERR_INVALID_ARGUMENT, "params.wh_ratio_clip"},
    {"wh_ratio_clip NaN", clip_nan, ALL, AA_ERR_INVALID_ARGUMENT, "params.wh_ratio_clip"},
    {"anchors NULL", anchors_null, ALL, AA_ERR_NULL_POINTER, "anchors"},
    {"gts NULL", gts_null, ALL, AA_ERR_NULL_POINTER, "gts"},
    {"GT box NaN", gt_box_nan, ALL, AA_ERR_INVALID_BOX, "gts.boxes[0]"},
    {"out NULL", out_null, SELECT | WHOLE, AA_ERR_NULL_POINTER, "out"},
    {"out.gt_index NULL", gt_index_null, SELECT | WHOLE, AA_ERR_NULL_POINTER, "out.gt_index"},
    {"out.labels without gts.labels", labels_null_for_out, SELECT | WHOLE, AA_ERR_NULL_POINTER,
     "gts.labels"},
    {"pre_gt_index NULL", pre_null, COSTS | SELECT, AA_ERR_NULL_POINTER, "pre_gt_index"},
    {"pre_gt_index -3", pre_below, COSTS | SELECT, AA_ERR_INVALID_ARGUMENT, "pre_gt_index[1]"},
    {"pre_gt_index >= GTs", pre_above, COSTS | SELECT, AA_ERR_INVALID_ARGUMENT, "pre_gt_index[2]"},
    /* "Crowd GTs (ignore_flags) are never assigned" */
    {"pre_gt_index names a crowd GT", pre_crowd, COSTS | SELECT, AA_ERR_INVALID_ARGUMENT,
     "pre_gt_index[2]"},
    {"costs NULL", costs_null, COSTS | SELECT, AA_ERR_NULL_POINTER, "costs"},
    {"cost NaN", cost_nan, SELECT, AA_ERR_INVALID_ARGUMENT, "costs[1]"},
    {"cost inf", cost_inf, SELECT, AA_ERR_INVALID_ARGUMENT, "costs[2]"},
    {"head NULL", head_null, COSTS | WHOLE, AA_ERR_NULL_POINTER, "head"},
    {"head.dtype 3", dtype_bad, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT, "head.dtype"},
    {"head.num_classes 0", classes_zero, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT, "head.num_classes"},
    {"head.cls_logits NULL", logits_null, COSTS | WHOLE, AA_ERR_NULL_POINTER, "head.cls_logits"},
    {"head.bbox_deltas NULL", deltas_null, COSTS | WHOLE, AA_ERR_NULL_POINTER, "head.bbox_deltas"},
    {"label >= num_classes", label_too_big, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT, "gts.labels[1]"},
    {"gts.labels NULL", labels_null_for_cost, COSTS | WHOLE, AA_ERR_NULL_POINTER,
     "gts.labels: NULL; the classification loss"},
    {"logit NaN", logit_nan, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT, "head.cls_logits[1][2]"},
    {"logit -inf", logit_inf, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT, "head.cls_logits[2][0]"},
    {"delta NaN", delta_nan, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT, "head.bbox_deltas[0][3]"},
    {"float16 logit NaN", half_logit_nan, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT,
     "head.cls_logits[0][2]"},
    {"float16 logit -inf", half_logit_inf, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT,
     "head.cls_logits[1][0]"},
    {"bfloat16 delta NaN", bfloat_delta_nan, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT,
     "head.bbox_deltas[1][1]"},
    {"bfloat16 delta inf", bfloat_delta_inf, COSTS | WHOLE, AA_ERR_INVALID_ARGUMENT,
     "head.bbox_deltas[1][0]"},
    {"logit NaN, anchor not pre-assigned", logit_nan_unassigned, WHOLE, AA_ERR_INVALID_ARGUMENT,
     "head.cls_logits[3][1]"},
    {"select workspace too small", select_ws_small, SELECT, AA_ERR_WORKSPACE_TOO_SMALL,
     "workspace_bytes"},
    {"whole workspace too small", whole_ws_small, WHOLE, AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes"},
    {"workspace misaligned", ws_misaligned, SELECT | WHOLE, AA_ERR_INVALID_ARGUMENT, "workspace"},
};

/* Runs the calls a case applies to on a fresh fixture; each must fail as the case
 * says, leaving its outputs untouched. */
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
    float *costs = test_guarded_alloc(A, sizeof(float));
    if (c->calls & COSTS)
        ASSERT_FAILS(ctx, aa_paa_costs(ctx, &f.p, f.ap, f.gp, f.hp, f.prep, f.costsp ? costs : NULL),
                     c->status, c->needle, test_guarded_untouched(costs));
    if (c->calls & SELECT)
        ASSERT_FAILS(ctx,
                     aa_assign_paa_costs(ctx, &f.p, f.ap, f.gp, f.prep, f.costsp, outp,
                                         f.select_bytes ? f.ws : NULL, f.select_bytes),
                     c->status, c->needle, test_outputs_untouched(&t));
    if (c->calls & WHOLE)
        ASSERT_FAILS(ctx,
                     aa_assign_paa(ctx, &f.p, f.ap, f.gp, f.hp, outp, f.whole_bytes ? f.ws : NULL,
                                   f.whole_bytes),
                     c->status, c->needle, test_outputs_untouched(&t));
    if (c->calls & SIZES) {
        size_t bytes = 12345;
        ASSERT_FAILS(ctx, aa_paa_select_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), c->status,
                     c->needle, bytes == 12345);
        ASSERT_FAILS(ctx, aa_paa_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), c->status, c->needle,
                     bytes == 12345);
    }
    test_guarded_check(costs);
    test_outputs_free(&t);
    test_guarded_free(costs);
    free(block);
}

/* One cmocka test per case, so that every failing case is listed. */
static void bad_input(void **state)
{
    aa_context *ctx = test_cpu_context();
    run_case(ctx, (const bad_case *)*state);
    aa_context_destroy(ctx);
}

/* The fixture itself is valid for every call, and what is not read may be bad: the
 * cost of an anchor not pre-assigned (NaN in the fixture), its head outputs for
 * aa_paa_costs, gts.labels for a selection without out.labels. */
static void good_inputs(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    test_outputs t;
    fixture_init(&f);
    f.logits[3 * C + 1] = NAN, f.deltas[3 * 4] = INFINITY;
    test_outputs_alloc(&t, 1, A, 1);
    float *costs = test_guarded_alloc(A, sizeof(float));
    test_ok(ctx, aa_paa_costs(ctx, &f.p, f.ap, f.gp, f.hp, f.prep, costs), "aa_paa_costs");
    assert_true(isfinite(costs[0]) && isfinite(costs[2]) && isinf(costs[3]) && costs[3] > 0);
    test_ok(ctx, aa_assign_paa_costs(ctx, &f.p, f.ap, f.gp, f.prep, f.costsp, &t.out, NULL, 0),
           "aa_assign_paa_costs");
    test_outputs_check_written(&t);
    fixture_init(&f);
    test_outputs_poison(&t);
    test_ok(ctx, aa_assign_paa(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), "aa_assign_paa");
    test_outputs_check_written(&t);
    test_outputs_free(&t);
    f.g.labels = NULL;
    test_outputs_alloc(&t, 1, A, 0);
    test_ok(ctx, aa_assign_paa_costs(ctx, &f.p, f.ap, f.gp, f.prep, f.costsp, &t.out, NULL, 0),
           "aa_assign_paa_costs without labels");
    test_outputs_check_written(&t);
    test_outputs_free(&t);
    test_guarded_free(costs);
    aa_context_destroy(ctx);
}

/* NULL context and NULL bytes. */
static void null_context_and_bytes(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    test_outputs t;
    fixture_init(&f);
    test_outputs_alloc(&t, 1, A, 1);
    float costs[A];
    size_t bytes;
    assert_int_equal(aa_paa_costs(NULL, &f.p, f.ap, f.gp, f.hp, f.prep, costs), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_assign_paa_costs(NULL, &f.p, f.ap, f.gp, f.prep, f.costsp, &t.out, NULL, 0),
                     AA_ERR_NULL_POINTER);
    assert_int_equal(aa_assign_paa(NULL, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_paa_workspace_size(NULL, &f.p, f.ap, f.gp, &bytes), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_paa_select_workspace_size(NULL, &f.p, f.ap, f.gp, &bytes), AA_ERR_NULL_POINTER);
    assert_true(test_outputs_untouched(&t));
    ASSERT_FAILS(ctx, aa_paa_workspace_size(ctx, &f.p, f.ap, f.gp, NULL), AA_ERR_NULL_POINTER,
                 "bytes", 1);
    ASSERT_FAILS(ctx, aa_paa_select_workspace_size(ctx, &f.p, f.ap, f.gp, NULL), AA_ERR_NULL_POINTER,
                 "bytes", 1);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

#if AA_TEST_HAVE_OPENCL
/* On a GPU backend (PoCL, host arrays) the same checks refuse the same bad input,
 * outputs untouched, and good input runs (tests/parity_paa.h compares the results). */
static void on_gpu(void **state)
{
    (void)state;
    aa_context *ctx = test_opencl_context(AA_MEMORY_HOST);
    fixture f;
    test_outputs t;
    fixture_init(&f);
    test_outputs_alloc(&t, 1, A, 1);
    float *costs = test_guarded_alloc(A, sizeof(float));
    size_t bytes = 0;
    int32_t bad_pre[A];
    memcpy(bad_pre, f.pre, sizeof bad_pre);
    bad_pre[A - 1] = G; /* not a GT of the image */
    ASSERT_FAILS(ctx, aa_paa_costs(ctx, &f.p, f.ap, f.gp, f.hp, bad_pre, costs), AA_ERR_INVALID_ARGUMENT,
                 "pre_gt_index", test_guarded_untouched(costs));
    ASSERT_FAILS(ctx, aa_assign_paa_costs(ctx, &f.p, f.ap, f.gp, bad_pre, f.costsp, &t.out, NULL, 0),
                 AA_ERR_INVALID_ARGUMENT, "pre_gt_index", test_outputs_untouched(&t));
    f.logits[3] = NAN;
    ASSERT_FAILS(ctx, aa_assign_paa(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0),
                 AA_ERR_INVALID_ARGUMENT, "head.cls_logits", test_outputs_untouched(&t));
    f.logits[3] = 0.5f;
    assert_int_equal(aa_paa_costs(ctx, &f.p, f.ap, f.gp, f.hp, f.prep, costs), AA_SUCCESS);
    assert_int_equal(aa_assign_paa_costs(ctx, &f.p, f.ap, f.gp, f.prep, f.costsp, &t.out, NULL, 0),
                     AA_SUCCESS);
    assert_int_equal(aa_assign_paa(ctx, &f.p, f.ap, f.gp, f.hp, &t.out, NULL, 0), AA_SUCCESS);
    assert_int_equal(aa_paa_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), AA_SUCCESS);
    assert_true(bytes > 0);
    assert_int_equal(aa_paa_select_workspace_size(ctx, &f.p, f.ap, f.gp, &bytes), AA_SUCCESS);
    assert_true(bytes > 0);
    test_outputs_free(&t);
    test_guarded_free(costs);
    aa_context_destroy(ctx);
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
    return _cmocka_run_group_tests("test_paa_bad_input", tests, n, NULL, NULL);
}
