/* test_gmm_properties.c - aa_gmm_fit on fresh random batches (seed printed,
 * AA_TEST_SEED reproduces): what must hold for every segment, what can be seen
 * of the convergence test, and that the outputs do not depend on how segments
 * are batched, which outputs are asked for, or whose workspace is used. */
#include "gmm_common.h"

#include <float.h>

enum { MAX_SEGMENTS = 64 };

typedef struct batch {
    int64_t num_segments, offsets[MAX_SEGMENTS + 1];
    float *points;
    double *init_w, *init_mu, *init_prec; /* [num_segments][K] */
    aa_gmm_params p;
} batch;

static double normal(void) /* Box-Muller */
{
    double u = (double)test_uniform(1e-7f, 1.0f), v = (double)test_uniform(0.0f, 1.0f);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* One segment of n points of a random kind: bimodal, unimodal, equal values,
 * with outliers, or on a coarse grid (ties, duplicate points). */
static void random_segment(float *x, int64_t n)
{
    int kind = test_int(0, 4);
    double c0 = test_uniform(-5, 5), c1 = c0 + test_uniform(0.1f, 20), s = test_uniform(0.01f, 3);
    double split = test_uniform(0.1f, 0.9f);
    for (int64_t i = 0; i < n; ++i) {
        double v = c0 + s * normal();
        if (kind == 0 && test_uniform(0, 1) > split) v = c1 + s * normal();
        if (kind == 2) v = c0;
        if (kind == 3 && test_int(0, 9) == 0) v = c0 + test_uniform(-1e4f, 1e4f);
        if (kind == 4) v = 0.5 * test_int(0, 6);
        x[i] = (float)v;
    }
}

static void random_batch(batch *b, int given_init)
{
    aa_gmm_params_init(&b->p);
    b->p.num_components = test_int(1, AA_GMM_MAX_COMPONENTS);
    b->p.covariance = (aa_gmm_covariance)test_int(0, 1);
    b->p.max_iter = test_int(0, 4) == 0 ? test_int(0, 5) : 100;
    const double tols[] = {1e-3, 1e-3, 1e-6, 0.0, 0.5};
    b->p.tol = tols[test_int(0, 4)];
    b->p.reg_covar = test_int(0, 3) ? 1e-6 : (double)test_uniform(0, 1e-2f);
    b->num_segments = test_int(1, MAX_SEGMENTS);
    b->offsets[0] = 0;
    for (int64_t s = 0; s < b->num_segments; ++s)
        b->offsets[s + 1] = b->offsets[s] + (test_int(0, 9) == 0 ? test_int(0, 2) : test_int(2, 60));
    b->points = malloc((size_t)b->offsets[b->num_segments] * sizeof(float) + 1);
    for (int64_t s = 0; s < b->num_segments; ++s)
        random_segment(b->points + b->offsets[s], b->offsets[s + 1] - b->offsets[s]);

    int K = b->p.num_components;
    size_t n = (size_t)(b->num_segments * K);
    b->init_w = malloc(n * sizeof(double)), b->init_mu = malloc(n * sizeof(double));
    b->init_prec = malloc(n * sizeof(double));
    for (int64_t s = 0; s < b->num_segments; ++s) {
        double total = 0;
        for (int k = 0; k < K; ++k) total += b->init_w[s * K + k] = test_uniform(0.05f, 1);
        for (int k = 0; k < K; ++k) {
            b->init_w[s * K + k] /= total;
            b->init_mu[s * K + k] = test_uniform(-10, 30);
            b->init_prec[s * K + k] = test_uniform(0.01f, 10);
        }
    }
    if (given_init) {
        b->p.init = AA_GMM_INIT_GIVEN;
        b->p.init_weights = b->init_w, b->p.init_means = b->init_mu, b->p.init_precisions = b->init_prec;
    }
}

static void batch_free(batch *b)
{
    free(b->points), free(b->init_w), free(b->init_mu), free(b->init_prec);
}

static int fitted(int32_t status) { return status == AA_GMM_CONVERGED || status == AA_GMM_NOT_CONVERGED; }

/* What every segment's result must satisfy. */
static void check_invariants(const batch *b, const gmm_outputs *o)
{
    int K = b->p.num_components;
    for (int64_t s = 0; s < b->num_segments; ++s) {
        int64_t n = b->offsets[s + 1] - b->offsets[s];
        int32_t st = o->r.status[s], it = o->r.iterations[s];
        const double *w = o->r.weights + s * K, *v = o->r.variances + s * K;
        assert_true(it >= 0 && it <= b->p.max_iter);
        if (n < K || n < 2) { /* scikit-learn's ensure_min_samples=2 */
            assert_int_equal(st, AA_GMM_TOO_FEW_POINTS);
            assert_int_equal(it, 0);
        } else if (b->p.max_iter == 0) {
            assert_int_equal(st, AA_GMM_NOT_CONVERGED);
        } else {
            assert_true(fitted(st) || st == AA_GMM_ILL_DEFINED);
            assert_true(it >= 1);
            assert_true(isfinite(o->r.lower_bound[s]));
        }
        if (st == AA_GMM_NOT_CONVERGED) assert_int_equal(it, b->p.max_iter);
        if (st == AA_GMM_ILL_DEFINED) {
            int some_variance_not_positive = 0;
            for (int k = 0; k < K; ++k) some_variance_not_positive |= !(v[k] > 0);
            assert_true(some_variance_not_positive);
        }
        if (fitted(st)) {
            double total = 0;
            for (int k = 0; k < K; ++k) {
                assert_true(w[k] >= 0 && w[k] <= 1);
                assert_true(v[k] > 0 && isfinite(o->r.means[s * K + k]));
                total += w[k];
            }
            assert_true(fabs(total - 1.0) < 1e-12);
        }
        for (int64_t i = b->offsets[s]; i < b->offsets[s + 1]; ++i) {
            if (fitted(st)) {
                assert_true(o->r.labels[i] >= 0 && o->r.labels[i] < K);
                assert_false(isnan(o->r.log_density[i]));
            } else {
                assert_int_equal(o->r.labels[i], -1);
                assert_true(isnan(o->r.log_density[i]));
            }
        }
    }
}

static int same_bytes(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* Fields of `got` that are not NULL equal those of `want`, bit for bit (NaN too). */
static void assert_same(const gmm_outputs *want, const aa_gmm_result *got, int64_t seg0,
                        int64_t num_segments, int64_t point0, int64_t num_points, const char *what)
{
    size_t K = (size_t)want->k, S = (size_t)num_segments, N = (size_t)num_points;
    const aa_gmm_result *w = &want->r;
    int ok = (!got->weights || same_bytes(got->weights, w->weights + seg0 * K, S * K * 8)) &&
             (!got->means || same_bytes(got->means, w->means + seg0 * K, S * K * 8)) &&
             (!got->variances || same_bytes(got->variances, w->variances + seg0 * K, S * K * 8)) &&
             (!got->lower_bound || same_bytes(got->lower_bound, w->lower_bound + seg0, S * 8)) &&
             (!got->iterations || same_bytes(got->iterations, w->iterations + seg0, S * 4)) &&
             (!got->status || same_bytes(got->status, w->status + seg0, S * 4)) &&
             (!got->labels || same_bytes(got->labels, w->labels + point0, N * 4)) &&
             (!got->log_density || same_bytes(got->log_density, w->log_density + point0, N * 8));
    if (!ok) fail_msg("%s: outputs differ (segments %lld..%lld)", what, (long long)seg0,
                      (long long)(seg0 + num_segments - 1));
}

/* Segment s of the batch alone, in a call of its own (its slice of the init). */
static void fit_one(aa_context *ctx, const batch *b, int64_t s, int32_t max_iter, gmm_outputs *one)
{
    int K = b->p.num_components;
    int64_t begin = b->offsets[s], off[2] = {0, b->offsets[s + 1] - begin};
    aa_gmm_params p = b->p;
    p.max_iter = max_iter;
    p.init_weights = b->init_w + s * K, p.init_means = b->init_mu + s * K;
    p.init_precisions = b->init_prec + s * K;
    one->num_points = off[1];
    gmm_fit_ok(ctx, &p, b->points + begin, off, 1, one);
}

static void invariants_and_batching(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    int segments = 0;
    for (int round = 0; round < 40; ++round) {
        batch b;
        random_batch(&b, round % 2);
        int K = b.p.num_components;
        int64_t total = b.offsets[b.num_segments];
        gmm_outputs all, one;
        gmm_outputs_alloc(&all, b.num_segments, total, K);
        gmm_fit_ok(ctx, &b.p, b.points, b.offsets, b.num_segments, &all);
        check_invariants(&b, &all);

        /* each segment alone, in its own call (with its own slice of the init) */
        gmm_outputs_alloc(&one, 1, b.offsets[b.num_segments], K);
        for (int64_t s = 0; s < b.num_segments; ++s) {
            fit_one(ctx, &b, s, b.p.max_iter, &one);
            assert_same(&all, &one.r, s, 1, b.offsets[s], one.num_points, "one segment per call");
        }
        segments += (int)b.num_segments;
        gmm_outputs_free(&one);
        gmm_outputs_free(&all);
        batch_free(&b);
    }
    fprintf(stderr, "%d random segments: invariants hold, one call = one call per segment\n", segments);
    aa_context_destroy(ctx);
}

/* The result without the outputs whose bit is set (in the struct's order). */
static aa_gmm_result without(aa_gmm_result r, int mask)
{
    if (mask & 1) r.weights = NULL;
    if (mask & 2) r.means = NULL;
    if (mask & 4) r.variances = NULL;
    if (mask & 8) r.lower_bound = NULL;
    if (mask & 16) r.iterations = NULL;
    if (mask & 32) r.status = NULL;
    if (mask & 64) r.labels = NULL;
    if (mask & 128) r.log_density = NULL;
    return r;
}

/* Any subset of outputs (NULL: not wanted) gives the same values in the others;
 * a caller's workspace gives what the context's gives. */
static void optional_outputs_and_workspace(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    for (int round = 0; round < 20; ++round) {
        batch b;
        random_batch(&b, round % 2);
        int64_t total = b.offsets[b.num_segments];
        gmm_outputs all, some;
        gmm_outputs_alloc(&all, b.num_segments, total, b.p.num_components);
        gmm_outputs_alloc(&some, b.num_segments, total, b.p.num_components);
        gmm_fit_ok(ctx, &b.p, b.points, b.offsets, b.num_segments, &all);
        aa_gmm_segments sg = {b.points, b.offsets, b.num_segments, NULL};

        for (int mask = 0; mask < 256; mask += test_int(1, 37)) {
            void *buffers[8] = {some.r.weights, some.r.means, some.r.variances, some.r.lower_bound,
                                some.r.iterations, some.r.status, some.r.labels, some.r.log_density};
            aa_gmm_result r = without(some.r, mask);
            gmm_outputs_poison(&some);
            assert_int_equal(aa_gmm_fit(ctx, &b.p, &sg, &r, NULL, 0), AA_SUCCESS);
            assert_same(&all, &r, 0, b.num_segments, 0, total, "optional outputs");
            for (int f = 0; f < 8; ++f) /* an output not asked for is not written */
                if (mask & (1 << f)) assert_true(test_guarded_untouched(buffers[f]));
        }

        size_t bytes = 0;
        assert_int_equal(aa_gmm_workspace_size(ctx, &b.p, &sg, &bytes), AA_SUCCESS);
        void *ws = malloc(bytes + 1); /* malloc aligns to AA_WORKSPACE_ALIGNMENT */
        memset(ws, 0xEE, bytes); /* stale contents must not matter */
        gmm_outputs_poison(&some);
        assert_int_equal(aa_gmm_fit(ctx, &b.p, &sg, &some.r, ws, bytes), AA_SUCCESS);
        assert_same(&all, &some.r, 0, b.num_segments, 0, total, "caller workspace");
        free(ws);
        gmm_outputs_free(&some);
        gmm_outputs_free(&all);
        batch_free(&b);
    }
    aa_context_destroy(ctx);
}

/* The stopping rule, seen from outside: running segment s with max_iter m gives
 * the bound after m iterations, so for a segment that converged at n >= 2,
 * |bound(n) - bound(n - 1)| < tol and no earlier m stopped; for one that did
 * not, the last change was >= tol. */
static void convergence_rule(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    int checked = 0;
    for (int round = 0; round < 20; ++round) {
        batch b;
        random_batch(&b, round % 2);
        if (b.p.max_iter < 2) b.p.max_iter = 100;
        int K = b.p.num_components;
        gmm_outputs all, one;
        gmm_outputs_alloc(&all, b.num_segments, b.offsets[b.num_segments], K);
        gmm_outputs_alloc(&one, 1, b.offsets[b.num_segments], K);
        gmm_fit_ok(ctx, &b.p, b.points, b.offsets, b.num_segments, &all);
        for (int64_t s = 0; s < b.num_segments; ++s) {
            int32_t st = all.r.status[s], n = all.r.iterations[s];
            if (!fitted(st) || n < 2) continue;
            fit_one(ctx, &b, s, n - 1, &one);
            assert_int_equal(one.r.status[0], AA_GMM_NOT_CONVERGED);
            assert_int_equal(one.r.iterations[0], n - 1);
            double change = fabs(all.r.lower_bound[s] - one.r.lower_bound[0]);
            if (st == AA_GMM_CONVERGED) assert_true(change < b.p.tol);
            else assert_true(change >= b.p.tol);
            ++checked;
        }
        gmm_outputs_free(&one);
        gmm_outputs_free(&all);
        batch_free(&b);
    }
    fprintf(stderr, "%d segments: the stopping rule holds\n", checked);
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invariants_and_batching),
        cmocka_unit_test(optional_outputs_and_workspace),
        cmocka_unit_test(convergence_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
