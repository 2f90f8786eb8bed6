/* test_gmm.c - the batched 1-D Gaussian-mixture EM (aa_gmm_fit) on the CPU
 * reference: hand-checkable fits (separated clusters, equal values, K = 1,
 * max_iter 0, too few points, ill-defined variances). Properties on fresh
 * random batches (seed printed): test_gmm_properties.c; bad inputs:
 * test_gmm_bad_input.c; the comparison with scikit-learn itself:
 * tests/python/test_gmm_sklearn.py. */
#include "gmm_common.h"

#include <float.h>

#define LOG_2PI 1.8378770664093453

static double normal_log_pdf(double x, double mean, double var)
{
    return -0.5 * (LOG_2PI + log(var) + (x - mean) * (x - mean) / var);
}

/* |got - want| <= rel |want| + 1e-13: the absolute part covers values near 0,
 * where the difference of two O(1) terms rounds to a few ulps of 1. */
static void assert_close(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * fabs(want) + 1e-13))
        fail_msg("%s: got %.17g, expected %.17g (relative tolerance %g)", what, got, want, rel);
}

/* A log density: scikit-learn's 'diag' form mu^2 p - 2 x mu p + x^2 p cancels
 * terms of size x^2 p, so its error is a few ulps of x^2 / variance. */
static void assert_density(double got, double want, double x, double var)
{
    double tol = 1e-12 * fabs(want) + 32 * DBL_EPSILON * (x * x / var + 1);
    if (!(fabs(got - want) <= tol))
        fail_msg("log_density at %g: got %.17g, expected %.17g (tolerance %g)", x, got, want, tol);
}

/* Two clusters 10 apart with spreads of 0.1: after the first E-step the far
 * cluster's responsibility is below exp(-45), so the fit is each cluster's own
 * mean and population variance (+ reg_covar), weights by count. */
static void two_separated_clusters(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float x[] = {0.0f, 0.1f, -0.1f, 0.05f, 10.0f, 10.1f, 9.9f, 10.05f, 9.95f, 10.02f};
    const int64_t offsets[] = {0, 10};
    const int lo_n = 4, hi_n = 6;
    for (int cov = AA_GMM_DIAG; cov <= AA_GMM_FULL; ++cov) {
        aa_gmm_params p;
        aa_gmm_params_init(&p);
        p.covariance = (aa_gmm_covariance)cov;
        gmm_outputs o;
        gmm_outputs_alloc(&o, 1, 10, 2);
        gmm_fit_ok(ctx, &p, x, offsets, 1, &o);
        double mean[2] = {0, 0}, var[2] = {0, 0};
        for (int i = 0; i < 10; ++i) mean[i >= lo_n] += x[i];
        mean[0] /= lo_n, mean[1] /= hi_n;
        for (int i = 0; i < 10; ++i) var[i >= lo_n] += (x[i] - mean[i >= lo_n]) * (x[i] - mean[i >= lo_n]);
        var[0] = var[0] / lo_n + 1e-6, var[1] = var[1] / hi_n + 1e-6;
        assert_int_equal(o.r.status[0], AA_GMM_CONVERGED);
        assert_true(o.r.iterations[0] >= 2 && o.r.iterations[0] <= 100);
        for (int k = 0; k < 2; ++k) {
            assert_close(o.r.means[k], mean[k], 1e-9, "mean");
            assert_close(o.r.variances[k], var[k], 1e-9, "variance");
        }
        assert_close(o.r.weights[0], 0.4, 1e-12, "weight 0");
        assert_close(o.r.weights[1], 0.6, 1e-12, "weight 1");
        double mean_density = 0;
        for (int i = 0; i < 10; ++i) {
            int c = i >= lo_n;
            assert_int_equal(o.r.labels[i], c);
            /* the other component adds less than exp(-1e4) */
            double want = log(o.r.weights[c]) + normal_log_pdf(x[i], o.r.means[c], o.r.variances[c]);
            assert_density(o.r.log_density[i], want, x[i], o.r.variances[c]);
            mean_density += want / 10;
        }
        /* converged: the last E-step's bound is the final density's mean to within tol */
        assert_true(fabs(o.r.lower_bound[0] - mean_density) < p.tol);
        gmm_outputs_free(&o);
    }
    aa_context_destroy(ctx);
}

/* Equal values: both components sit on the value, the variance is reg_covar,
 * every label is 0 (ties go to the lower index). Iteration 1 moves the
 * variance from 1 to reg_covar, iteration 2 changes the bound by
 * 0.5 log(1e6), iteration 3 changes nothing: converged at 3. */
static void all_values_equal(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    float x[7];
    for (int i = 0; i < 7; ++i) x[i] = 2.5f;
    const int64_t offsets[] = {0, 7};
    for (int cov = AA_GMM_DIAG; cov <= AA_GMM_FULL; ++cov) {
        aa_gmm_params p;
        aa_gmm_params_init(&p);
        p.covariance = (aa_gmm_covariance)cov;
        gmm_outputs o;
        gmm_outputs_alloc(&o, 1, 7, 2);
        gmm_fit_ok(ctx, &p, x, offsets, 1, &o);
        assert_int_equal(o.r.status[0], AA_GMM_CONVERGED);
        assert_int_equal(o.r.iterations[0], 3);
        for (int k = 0; k < 2; ++k) {
            assert_close(o.r.weights[k], 0.5, 1e-15, "weight");
            assert_close(o.r.means[k], 2.5, 1e-14, "mean");
            /* 'diag' subtracts mean^2 from E[x^2]: a few ulps of 6.25 */
            assert_true(fabs(o.r.variances[k] - 1e-6) < 64 * DBL_EPSILON * 6.25);
        }
        for (int i = 0; i < 7; ++i) {
            assert_int_equal(o.r.labels[i], 0);
            double want = normal_log_pdf(2.5, o.r.means[0], o.r.variances[0]);
            assert_density(o.r.log_density[i], want, 2.5, o.r.variances[0]);
        }
        gmm_outputs_free(&o);
    }
    aa_context_destroy(ctx);
}

/* K = 1: the sample mean and population variance + reg_covar, weight 1; the
 * second M-step repeats the first, so the bound stops moving at iteration 3. */
static void one_component(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float x[] = {1, 2, 3, 4, 10};
    const int64_t offsets[] = {0, 5};
    for (int cov = AA_GMM_DIAG; cov <= AA_GMM_FULL; ++cov) {
        aa_gmm_params p;
        aa_gmm_params_init(&p);
        p.num_components = 1;
        p.covariance = (aa_gmm_covariance)cov;
        gmm_outputs o;
        gmm_outputs_alloc(&o, 1, 5, 1);
        gmm_fit_ok(ctx, &p, x, offsets, 1, &o);
        assert_int_equal(o.r.status[0], AA_GMM_CONVERGED);
        assert_int_equal(o.r.iterations[0], 3);
        assert_close(o.r.weights[0], 1.0, 1e-15, "weight");
        assert_close(o.r.means[0], 4.0, 1e-14, "mean");
        assert_close(o.r.variances[0], 10.0 + 1e-6, 1e-14, "variance");
        double bound = 0;
        for (int i = 0; i < 5; ++i) {
            assert_int_equal(o.r.labels[i], 0);
            double want = normal_log_pdf(x[i], 4.0, 10.0 + 1e-6);
            assert_density(o.r.log_density[i], want, x[i], 10.0);
            bound += want / 5;
        }
        assert_close(o.r.lower_bound[0], bound, 1e-13, "lower_bound");
        gmm_outputs_free(&o);
    }
    aa_context_destroy(ctx);
}

/* max_iter 0: the initial parameters, bound -inf, not converged, and labels and
 * densities from the initial mixture. PAA init: means min and max, variances 1;
 * given init: variances 1/precision. */
static void max_iter_zero(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float x[] = {0.0f, 1.0f, 3.0f, 1.5f, 4.0f};
    const int64_t offsets[] = {0, 5};
    const double w[2] = {0.25, 0.75}, mu[2] = {1.0, 3.0}, prec[2] = {4.0, 0.5};
    for (int given = 0; given <= 1; ++given) {
        aa_gmm_params p;
        aa_gmm_params_init(&p);
        p.max_iter = 0;
        double W[2] = {0.5, 0.5}, M[2] = {0.0, 4.0}, V[2] = {1.0, 1.0};
        if (given) {
            p.init = AA_GMM_INIT_GIVEN, p.init_weights = w, p.init_means = mu, p.init_precisions = prec;
            for (int k = 0; k < 2; ++k) W[k] = w[k], M[k] = mu[k], V[k] = 1.0 / prec[k];
        }
        gmm_outputs o;
        gmm_outputs_alloc(&o, 1, 5, 2);
        gmm_fit_ok(ctx, &p, x, offsets, 1, &o);
        assert_int_equal(o.r.status[0], AA_GMM_NOT_CONVERGED);
        assert_int_equal(o.r.iterations[0], 0);
        assert_true(isinf(o.r.lower_bound[0]) && o.r.lower_bound[0] < 0);
        for (int k = 0; k < 2; ++k) {
            assert_true(o.r.weights[k] == W[k]);
            assert_true(o.r.means[k] == M[k]);
            assert_close(o.r.variances[k], V[k], 1e-15, "variance");
        }
        for (int i = 0; i < 5; ++i) {
            double a = log(W[0]) + normal_log_pdf(x[i], M[0], V[0]);
            double b = log(W[1]) + normal_log_pdf(x[i], M[1], V[1]);
            double top = a > b ? a : b;
            assert_int_equal(o.r.labels[i], b > a);
            double smallest_var = V[0] < V[1] ? V[0] : V[1];
            assert_density(o.r.log_density[i], top + log(exp(a - top) + exp(b - top)), x[i], smallest_var);
        }
        gmm_outputs_free(&o);
    }
    aa_context_destroy(ctx);
}

/* Segments of 0 and 1 points (K = 2): not fitted, the initial parameters out,
 * iterations 0, bound -inf, labels -1, densities NaN; the neighbouring segment
 * is fitted as usual. */
static void too_few_points(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float x[] = {7.0f, 1.0f, 2.0f, 3.0f};
    const int64_t offsets[] = {0, 0, 1, 4};
    const double w[6] = {0.5, 0.5, 0.1, 0.9, 0.5, 0.5}, mu[6] = {1, 2, 3, 4, 1, 3},
                 prec[6] = {1, 2, 4, 8, 1, 1};
    for (int given = 0; given <= 1; ++given) {
        aa_gmm_params p;
        aa_gmm_params_init(&p);
        if (given) p.init = AA_GMM_INIT_GIVEN, p.init_weights = w, p.init_means = mu, p.init_precisions = prec;
        gmm_outputs o;
        gmm_outputs_alloc(&o, 3, 4, 2);
        gmm_fit_ok(ctx, &p, x, offsets, 3, &o);
        for (int s = 0; s < 2; ++s) {
            assert_int_equal(o.r.status[s], AA_GMM_TOO_FEW_POINTS);
            assert_int_equal(o.r.iterations[s], 0);
            assert_true(isinf(o.r.lower_bound[s]) && o.r.lower_bound[s] < 0);
            for (int k = 0; k < 2; ++k) {
                int j = 2 * s + k;
                assert_true(o.r.weights[j] == (given ? w[j] : 0.5));
                assert_close(o.r.variances[j], given ? 1.0 / prec[j] : 1.0, 1e-15, "variance");
                if (given) assert_true(o.r.means[j] == mu[j]);
                else if (s == 0) assert_true(isnan(o.r.means[j])); /* no min or max */
                else assert_true(o.r.means[j] == 7.0);
            }
        }
        assert_int_equal(o.r.labels[0], -1);
        assert_true(isnan(o.r.log_density[0]));
        assert_true(o.r.status[2] == AA_GMM_CONVERGED || o.r.status[2] == AA_GMM_NOT_CONVERGED);
        for (int i = 1; i < 4; ++i) {
            assert_true(o.r.labels[i] == 0 || o.r.labels[i] == 1);
            assert_true(isfinite(o.r.log_density[i]));
        }
        gmm_outputs_free(&o);
    }
    aa_context_destroy(ctx);
}

/* reg_covar 0 and components that each hold copies of one value, with the other
 * cluster's responsibility underflowing to exactly 0: every sum is exact, the
 * variance is exactly 0, and the first M-step fails (scikit-learn raises
 * "ill-defined empirical covariance"). Same with K = 1 on 32 equal values. */
static void ill_defined(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    float x[64];
    for (int i = 0; i < 64; ++i) x[i] = i < 32 ? 1.0f : 1000.0f;
    const int64_t offsets[] = {0, 64};
    for (int k1 = 0; k1 <= 1; ++k1) {
        for (int cov = AA_GMM_DIAG; cov <= AA_GMM_FULL; ++cov) {
            aa_gmm_params p;
            aa_gmm_params_init(&p);
            p.reg_covar = 0.0;
            p.covariance = (aa_gmm_covariance)cov;
            p.num_components = k1 ? 1 : 2;
            int64_t n = k1 ? 32 : 64;
            const int64_t off1[] = {0, 32};
            gmm_outputs o;
            gmm_outputs_alloc(&o, 1, n, p.num_components);
            gmm_fit_ok(ctx, &p, x, k1 ? off1 : offsets, 1, &o);
            assert_int_equal(o.r.status[0], AA_GMM_ILL_DEFINED);
            assert_int_equal(o.r.iterations[0], 1);
            assert_true(isfinite(o.r.lower_bound[0]));
            assert_true(o.r.variances[0] <= 0.0);
            for (int64_t i = 0; i < n; ++i) {
                assert_int_equal(o.r.labels[i], -1);
                assert_true(isnan(o.r.log_density[i]));
            }
            gmm_outputs_free(&o);
        }
    }
    aa_context_destroy(ctx);
}

/* No segments, and segments that are all empty: nothing to fit, success. */
static void empty_batches(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t zero[] = {0}, empties[] = {0, 0, 0};
    gmm_outputs o;
    gmm_outputs_alloc(&o, 2, 0, 2);
    aa_gmm_segments none = {NULL, zero, 0, NULL};
    gmm_outputs_poison(&o);
    assert_int_equal(aa_gmm_fit(ctx, NULL, &none, &o.r, NULL, 0), AA_SUCCESS);
    assert_true(gmm_outputs_untouched(&o));
    size_t bytes = 1;
    assert_int_equal(aa_gmm_workspace_size(ctx, NULL, &none, &bytes), AA_SUCCESS);
    assert_int_equal((int)bytes, 0);
    gmm_fit_ok(ctx, NULL, NULL, empties, 2, &o);
    assert_int_equal(o.r.status[0], AA_GMM_TOO_FEW_POINTS);
    assert_int_equal(o.r.status[1], AA_GMM_TOO_FEW_POINTS);
    gmm_outputs_free(&o);
    aa_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_separated_clusters),
        cmocka_unit_test(all_values_equal),
        cmocka_unit_test(one_component),
        cmocka_unit_test(max_iter_zero),
        cmocka_unit_test(too_few_points),
        cmocka_unit_test(ill_defined),
        cmocka_unit_test(empty_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
