/* test_gmm_bad_input.c - every bad input of aa_gmm_fit and
 * aa_gmm_workspace_size returns the right status, names the argument in the
 * context's message, and writes nothing (outputs poisoned and guarded).
 * docs/robustness.md lists these cases. */
#include "gmm_common.h"

enum { S = 3, N = 7, K = 2 };

/* A valid call (given init) that each case corrupts one field of. */
typedef struct fixture {
    float points[N];
    int64_t offsets[S + 1];
    double w[S * K], mu[S * K], prec[S * K];
    aa_gmm_params p;
    aa_gmm_segments sg;
} fixture;

static void fixture_init(fixture *f)
{
    const float x[N] = {0.5f, 1.0f, 4.0f, 2.0f, 2.5f, 9.0f, 8.0f};
    const int64_t off[S + 1] = {0, 3, 5, 7};
    memcpy(f->points, x, sizeof x);
    memcpy(f->offsets, off, sizeof off);
    for (int j = 0; j < S * K; ++j) f->w[j] = 0.5, f->mu[j] = j % 2 ? 5.0 : 1.0, f->prec[j] = 1.0;
    aa_gmm_params_init(&f->p);
    f->p.init = AA_GMM_INIT_GIVEN;
    f->p.init_weights = f->w, f->p.init_means = f->mu, f->p.init_precisions = f->prec;
    aa_gmm_segments sg = {f->points, f->offsets, S, NULL};
    f->sg = sg;
}

typedef struct bad_case {
    const char *name;
    void (*corrupt)(fixture *f);
    aa_status status;
    const char *needle;
} bad_case;

static void k_zero(fixture *f) { f->p.num_components = 0; }
static void k_five(fixture *f) { f->p.num_components = AA_GMM_MAX_COMPONENTS + 1; }
static void max_iter_negative(fixture *f) { f->p.max_iter = -1; }
static void max_iter_huge(fixture *f) { f->p.max_iter = AA_GMM_MAX_ITER + 1; }
static void tol_nan(fixture *f) { f->p.tol = NAN; }
static void tol_negative(fixture *f) { f->p.tol = -1e-3; }
static void tol_inf(fixture *f) { f->p.tol = INFINITY; }
static void reg_negative(fixture *f) { f->p.reg_covar = -1e-6; }
static void reg_nan(fixture *f) { f->p.reg_covar = NAN; }
static void reg_inf(fixture *f) { f->p.reg_covar = INFINITY; }
static void covariance_bad(fixture *f) { f->p.covariance = (aa_gmm_covariance)2; }
static void init_bad(fixture *f) { f->p.init = (aa_gmm_init)-1; }
static void size_zero(fixture *f) { f->p.struct_size = 0; }
static void size_too_big(fixture *f) { f->p.struct_size = 4096; }
static void segments_negative(fixture *f) { f->sg.num_segments = -1; }
static void segments_huge(fixture *f) { f->sg.num_segments = AA_MAX_SEGMENTS + 1; }
static void offsets_null(fixture *f) { f->sg.offsets = NULL; }
static void offsets_not_zero(fixture *f) { f->offsets[0] = 1; }
static void offsets_decrease(fixture *f) { f->offsets[2] = 2; }
static void offsets_over_limit(fixture *f) { f->offsets[3] = AA_MAX_POINTS + 1; }
static void points_null(fixture *f) { f->sg.points = NULL; }
static void point_nan(fixture *f) { f->points[4] = NAN; }
static void point_inf(fixture *f) { f->points[6] = -INFINITY; }
static void weights_null(fixture *f) { f->p.init_weights = NULL; }
static void means_null(fixture *f) { f->p.init_means = NULL; }
static void precisions_null(fixture *f) { f->p.init_precisions = NULL; }
static void weight_negative(fixture *f) { f->w[2] = -0.1, f->w[3] = 1.1; }
static void weight_over_one(fixture *f) { f->w[3] = 1.5; }
static void weight_nan(fixture *f) { f->w[4] = NAN; }
static void weights_sum(fixture *f) { f->w[5] = 0.4; }
static void weights_sum_barely(fixture *f) { f->w[1] = 0.5 + 2e-8; }
static void mean_nan(fixture *f) { f->mu[1] = NAN; }
static void mean_inf(fixture *f) { f->mu[5] = INFINITY; }
static void precision_zero(fixture *f) { f->prec[0] = 0.0; }
static void precision_negative(fixture *f) { f->prec[3] = -1.0; }
static void precision_nan(fixture *f) { f->prec[4] = NAN; }
static void precision_inf(fixture *f) { f->prec[5] = INFINITY; }

static const bad_case cases[] = {
    {"num_components 0", k_zero, AA_ERR_INVALID_ARGUMENT, "params.num_components: 0"},
    {"num_components 5", k_five, AA_ERR_INVALID_ARGUMENT, "params.num_components: 5"},
    {"max_iter -1", max_iter_negative, AA_ERR_INVALID_ARGUMENT, "params.max_iter: -1"},
    {"max_iter over limit", max_iter_huge, AA_ERR_INVALID_ARGUMENT, "params.max_iter"},
    {"tol NaN", tol_nan, AA_ERR_INVALID_ARGUMENT, "params.tol"},
    {"tol < 0", tol_negative, AA_ERR_INVALID_ARGUMENT, "params.tol"},
    {"tol inf", tol_inf, AA_ERR_INVALID_ARGUMENT, "params.tol"},
    {"reg_covar < 0", reg_negative, AA_ERR_INVALID_ARGUMENT, "params.reg_covar"},
    {"reg_covar NaN", reg_nan, AA_ERR_INVALID_ARGUMENT, "params.reg_covar"},
    {"reg_covar inf", reg_inf, AA_ERR_INVALID_ARGUMENT, "params.reg_covar"},
    {"covariance 2", covariance_bad, AA_ERR_INVALID_ARGUMENT, "params.covariance: 2"},
    {"init -1", init_bad, AA_ERR_INVALID_ARGUMENT, "params.init: -1"},
    {"struct_size 0", size_zero, AA_ERR_INVALID_ARGUMENT, "params.struct_size"},
    {"struct_size too big", size_too_big, AA_ERR_INVALID_ARGUMENT, "params.struct_size"},
    {"num_segments -1", segments_negative, AA_ERR_INVALID_ARGUMENT, "segments.num_segments: -1"},
    {"num_segments over limit", segments_huge, AA_ERR_LIMIT_EXCEEDED, "exceeds AA_MAX_SEGMENTS"},
    {"offsets NULL", offsets_null, AA_ERR_NULL_POINTER, "segments.offsets: NULL"},
    {"offsets[0] not 0", offsets_not_zero, AA_ERR_INVALID_ARGUMENT, "segments.offsets[0]: 1"},
    {"offsets decrease", offsets_decrease, AA_ERR_INVALID_ARGUMENT, "segments.offsets[2]: 2 is less than offsets[1] = 3"},
    {"points over AA_MAX_POINTS", offsets_over_limit, AA_ERR_LIMIT_EXCEEDED, "AA_MAX_POINTS"},
    {"points NULL", points_null, AA_ERR_NULL_POINTER, "segments.points: NULL"},
    {"point NaN", point_nan, AA_ERR_INVALID_ARGUMENT, "segments.points[4]"},
    {"point -inf", point_inf, AA_ERR_INVALID_ARGUMENT, "segments.points[6]"},
    {"init_weights NULL", weights_null, AA_ERR_NULL_POINTER, "params.init_weights: NULL"},
    {"init_means NULL", means_null, AA_ERR_NULL_POINTER, "params.init_means: NULL"},
    {"init_precisions NULL", precisions_null, AA_ERR_NULL_POINTER, "params.init_precisions: NULL"},
    {"weight < 0", weight_negative, AA_ERR_INVALID_ARGUMENT, "params.init_weights[2]"},
    {"weight > 1", weight_over_one, AA_ERR_INVALID_ARGUMENT, "params.init_weights[3]"},
    {"weight NaN", weight_nan, AA_ERR_INVALID_ARGUMENT, "params.init_weights[4]"},
    {"weights sum to 0.9", weights_sum, AA_ERR_INVALID_ARGUMENT, "params.init_weights[4..5]: sum to 0.9"},
    {"weights sum 1 + 2e-8", weights_sum_barely, AA_ERR_INVALID_ARGUMENT, "params.init_weights[0..1]"},
    {"init mean NaN", mean_nan, AA_ERR_INVALID_ARGUMENT, "params.init_means[1]"},
    {"init mean inf", mean_inf, AA_ERR_INVALID_ARGUMENT, "params.init_means[5]"},
    {"precision 0", precision_zero, AA_ERR_INVALID_ARGUMENT, "params.init_precisions[0]"},
    {"precision < 0", precision_negative, AA_ERR_INVALID_ARGUMENT, "params.init_precisions[3]"},
    {"precision NaN", precision_nan, AA_ERR_INVALID_ARGUMENT, "params.init_precisions[4]"},
    {"precision inf", precision_inf, AA_ERR_INVALID_ARGUMENT, "params.init_precisions[5]"},
};

static const char *status_name(aa_status st)
{
    switch (st) {
    case AA_ERR_NULL_POINTER: return "AA_ERR_NULL_POINTER";
    case AA_ERR_INVALID_ARGUMENT: return "AA_ERR_INVALID_ARGUMENT";
    case AA_ERR_LIMIT_EXCEEDED: return "AA_ERR_LIMIT_EXCEEDED";
    default: return aa_status_string(st);
    }
}

static void expect(aa_context *ctx, const char *name, const char *call, aa_status st, aa_status want,
                   const char *needle)
{
    const char *msg = aa_context_last_error(ctx);
    if (st != want || !strstr(msg, needle))
        fail_msg("%s / %s: got %s, \"%s\"; expected %s with \"%s\"", name, call, aa_status_string(st),
                 msg, aa_status_string(want), needle);
}

/* Each case through aa_gmm_fit and aa_gmm_workspace_size. */
static void every_case(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    gmm_outputs o;
    gmm_outputs_alloc(&o, S, N, K);
    int checked = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        fixture f;
        fixture_init(&f);
        size_t bytes = 12345;
        gmm_outputs_poison(&o);
        assert_int_equal(aa_gmm_fit(ctx, &f.p, &f.sg, &o.r, NULL, 0), AA_SUCCESS); /* valid as is */
        cases[c].corrupt(&f);
        gmm_outputs_poison(&o);
        expect(ctx, cases[c].name, "aa_gmm_fit", aa_gmm_fit(ctx, &f.p, &f.sg, &o.r, NULL, 0),
               cases[c].status, cases[c].needle);
        if (getenv("AA_TEST_VERBOSE")) /* the rows of docs/robustness.md */
            fprintf(stderr, "| %s | `%s` | `%s` |\n", cases[c].name, status_name(cases[c].status),
                    aa_context_last_error(ctx));
        if (!gmm_outputs_untouched(&o)) fail_msg("%s: wrote an output", cases[c].name);
        expect(ctx, cases[c].name, "aa_gmm_workspace_size", aa_gmm_workspace_size(ctx, &f.p, &f.sg, &bytes),
               cases[c].status, cases[c].needle);
        assert_int_equal((int)bytes, 12345);
        ++checked;
    }
    fprintf(stderr, "%d GMM bad-input cases checked\n", checked);
    gmm_outputs_free(&o);
    aa_context_destroy(ctx);
}

/* NULL context, segments, result and bytes; a short or misaligned workspace. */
static void null_structs_and_workspace(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    fixture f;
    fixture_init(&f);
    gmm_outputs o;
    gmm_outputs_alloc(&o, S, N, K);
    gmm_outputs_poison(&o);
    size_t bytes = 0;
    assert_int_equal(aa_gmm_fit(NULL, &f.p, &f.sg, &o.r, NULL, 0), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_gmm_workspace_size(NULL, &f.p, &f.sg, &bytes), AA_ERR_NULL_POINTER);
    ASSERT_FAILS(ctx, aa_gmm_fit(ctx, &f.p, NULL, &o.r, NULL, 0), AA_ERR_NULL_POINTER, "segments: NULL",
                 gmm_outputs_untouched(&o));
    ASSERT_FAILS(ctx, aa_gmm_fit(ctx, &f.p, &f.sg, NULL, NULL, 0), AA_ERR_NULL_POINTER, "result: NULL",
                 gmm_outputs_untouched(&o));
    ASSERT_FAILS(ctx, aa_gmm_workspace_size(ctx, &f.p, &f.sg, NULL), AA_ERR_NULL_POINTER, "bytes: NULL", 1);

    assert_int_equal(aa_gmm_workspace_size(ctx, &f.p, &f.sg, &bytes), AA_SUCCESS);
    assert_int_equal((int)bytes, 3 * K * (int)sizeof(double)); /* responsibilities of 3 points */
    char *ws = malloc(bytes + 16); /* malloc aligns to AA_WORKSPACE_ALIGNMENT */
    ASSERT_FAILS(ctx, aa_gmm_fit(ctx, &f.p, &f.sg, &o.r, ws, bytes - 1), AA_ERR_WORKSPACE_TOO_SMALL,
                 "workspace_bytes", gmm_outputs_untouched(&o));
    ASSERT_FAILS(ctx, aa_gmm_fit(ctx, &f.p, &f.sg, &o.r, ws + 1, bytes + 8), AA_ERR_INVALID_ARGUMENT,
                 "workspace", gmm_outputs_untouched(&o));
    assert_int_equal(aa_gmm_fit(ctx, &f.p, &f.sg, &o.r, ws, bytes), AA_SUCCESS);
    gmm_outputs_check_written(&o);
    free(ws);

    aa_gmm_params_init(NULL); /* does nothing */
    gmm_outputs_free(&o);
    aa_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_case),
        cmocka_unit_test(null_structs_and_workspace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
