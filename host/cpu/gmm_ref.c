/* gmm_ref.c - CPU reference of the batched 1-D Gaussian-mixture EM: scikit-learn's
 * GaussianMixture.fit_predict (n_init 1, given initial parameters) written out as
 * plain loops in double, one segment after another. Every sum runs over the points
 * in index order; the kernel (kernels/gmm.h) keeps the same order, so that the two
 * differ at most by the last bits of the device's exp/log.
 *
 * Where each line comes from (scikit-learn 1.9, sklearn/mixture/):
 *   _estimate_log_gaussian_prob   log N(x | mu, 1/pc^2), pc = precision Cholesky
 *   _estimate_log_prob_resp       log-sum-exp over components, log responsibilities
 *   _estimate_gaussian_parameters nk + 10*eps, means, 'diag'/'full' covariances
 *   _m_step                       weights / sum(weights), pc = 1/sqrt(cov)
 *   BaseMixture.fit_predict       the loop, |change| < tol, final E-step */
#include "../internal.h"

#include <float.h>
#include <math.h>

#define LOG_2PI 1.8378770664093453 /* math.log(2 * math.pi) */

typedef struct mixture {
    int k;
    double weight[AA_GMM_MAX_COMPONENTS];
    double mean[AA_GMM_MAX_COMPONENTS];
    double prec_chol[AA_GMM_MAX_COMPONENTS]; /* 1 / standard deviation */
    double variance[AA_GMM_MAX_COMPONENTS];
    int f32;         /* params.float32_input: scikit-learn's arithmetic on a float32 array */
    int float_means; /* f32 and the means are still PAA's float32 min/max: scikit-learn
                        squares them in float32 before the first M-step */
    int float_prec;  /* f32, 'full', after an M-step: variances and precisions are float32 */
} mixture;

size_t aa__ref_gmm_ws_bytes(const aa_gmm_params *p, const aa_gmm_batch *g)
{
    /* responsibilities of the largest segment */
    return (size_t)g->max_points * (size_t)p->num_components * sizeof(double);
}

/* log N(x) + log w per component (scikit-learn's weighted log prob). With f32, as
 * scikit-learn computes it on a float32 array: 'diag' squares x (and the float32
 * initial means) in float32; 'full' keeps the Mahalanobis terms in a float32 array,
 * adds log(2 pi) to them in float32, and multiplies x by a float32 precision. */
static void weighted_log_prob(const mixture *m, aa_gmm_covariance cov, float xf, double *wlp)
{
    double x = xf;
    for (int k = 0; k < m->k; ++k) {
        double pc = m->prec_chol[k], mu = m->mean[k], gauss;
        if (cov == AA_GMM_DIAG) {
            double prec = pc * pc;
            double mu2 = m->float_means ? (double)((float)mu * (float)mu) : mu * mu;
            double x2 = m->f32 ? (double)(xf * xf) : x * x;
            gauss = -0.5 * (LOG_2PI + ((mu2 * prec - 2.0 * (x * (mu * prec))) + x2 * prec)) + log(pc);
        } else if (!m->f32) {
            double y = x * pc - mu * pc;
            gauss = -0.5 * (LOG_2PI + y * y) + log(pc);
        } else if (!m->float_prec) { /* precisions_init: float64 */
            double y = x * pc - mu * pc;
            float maha = (float)(y * y);
            gauss = (double)(-0.5f * ((float)LOG_2PI + maha)) + log(pc);
        } else {
            float pcf = (float)pc;
            double y = (double)(xf * pcf) - mu * pc;
            float maha = (float)(y * y);
            gauss = (double)(-0.5f * ((float)LOG_2PI + maha) + logf(pcf));
        }
        wlp[k] = gauss + log(m->weight[k]);
    }
}

/* scipy's logsumexp: max + log(sum exp(v - max)), a non-finite max taken as 0. */
static double log_sum_exp(const double *v, int n)
{
    double top = v[0];
    for (int k = 1; k < n; ++k)
        if (v[k] > top) top = v[k];
    if (!isfinite(top)) top = 0.0;
    double s = 0.0;
    for (int k = 0; k < n; ++k) s += exp(v[k] - top);
    return log(s) + top;
}

/* E-step: responsibilities into resp[i*K + k]; returns the mean log-likelihood. */
static double e_step(const mixture *m, aa_gmm_covariance cov, const float *x, int64_t n,
                     double *resp)
{
    double sum = 0.0, wlp[AA_GMM_MAX_COMPONENTS];
    for (int64_t i = 0; i < n; ++i) {
        weighted_log_prob(m, cov, x[i], wlp);
        double norm = log_sum_exp(wlp, m->k);
        for (int k = 0; k < m->k; ++k) resp[i * m->k + k] = exp(wlp[k] - norm);
        sum += norm;
    }
    return sum / (double)n;
}

/* M-step; returns 0 when a variance is not positive (scikit-learn raises). */
static int m_step(mixture *m, aa_gmm_covariance cov, double reg_covar, const float *x, int64_t n,
                  const double *resp)
{
    double nk[AA_GMM_MAX_COMPONENTS], total = 0.0;
    for (int k = 0; k < m->k; ++k) {
        double s = 0.0, sx = 0.0;
        for (int64_t i = 0; i < n; ++i) s += resp[i * m->k + k];
        nk[k] = s + 10.0 * DBL_EPSILON;
        for (int64_t i = 0; i < n; ++i) sx += resp[i * m->k + k] * (double)x[i];
        m->mean[k] = sx / nk[k];
        double v = 0.0;
        if (cov == AA_GMM_DIAG) {
            for (int64_t i = 0; i < n; ++i)
                v += resp[i * m->k + k] * (m->f32 ? (double)(x[i] * x[i]) : (double)x[i] * (double)x[i]);
            v = (v / nk[k] - m->mean[k] * m->mean[k]) + reg_covar;
        } else {
            for (int64_t i = 0; i < n; ++i) {
                double d = (double)x[i] - m->mean[k];
                v += (resp[i * m->k + k] * d) * d;
            }
            /* f32: a float32 covariance array, reg_covar added in float32 */
            v = m->f32 ? (double)((float)(v / nk[k]) + (float)reg_covar) : v / nk[k] + reg_covar;
        }
        m->variance[k] = v;
    }
    m->float_means = 0; /* float64 from here on */
    m->float_prec = m->f32 && cov == AA_GMM_FULL;
    for (int k = 0; k < m->k; ++k) total += nk[k];
    int ok = 1;
    for (int k = 0; k < m->k; ++k) {
        m->weight[k] = nk[k] / total;
        if (!(m->variance[k] > 0.0)) ok = 0;
        m->prec_chol[k] = m->float_prec ? (double)(1.0f / sqrtf((float)m->variance[k]))
                                        : 1.0 / sqrt(m->variance[k]);
    }
    return ok;
}

static void initialise(const aa_gmm_params *p, int64_t s, const float *x, int64_t n, mixture *m)
{
    m->k = p->num_components;
    m->f32 = p->float32_input;
    m->float_means = m->f32 && p->init == AA_GMM_INIT_PAA && m->k <= 2; /* [min, max] */
    m->float_prec = 0;
    if (p->init == AA_GMM_INIT_GIVEN) {
        for (int k = 0; k < m->k; ++k) {
            int64_t j = s * m->k + k;
            m->weight[k] = p->init_weights[j];
            m->mean[k] = p->init_means[j];
            m->prec_chol[k] = sqrt(p->init_precisions[j]);
            m->variance[k] = 1.0 / p->init_precisions[j];
        }
        return;
    }
    double lo = NAN, hi = NAN;
    for (int64_t i = 0; i < n; ++i) {
        if (i == 0 || x[i] < lo) lo = x[i];
        if (i == 0 || x[i] > hi) hi = x[i];
    }
    for (int k = 0; k < m->k; ++k) {
        m->weight[k] = 1.0 / m->k;
        /* the last mean is exactly the maximum, as PAA's means_init = [min, max] */
        m->mean[k] = (k == 0) ? lo : (k == m->k - 1) ? hi : lo + (hi - lo) * k / (m->k - 1);
        m->prec_chol[k] = 1.0;
        m->variance[k] = 1.0;
    }
}

static void fit_segment(const aa_gmm_params *p, int64_t s, const float *x, int64_t n,
                        double *resp, mixture *m, double *lower_bound, int32_t *iterations,
                        int32_t *status)
{
    initialise(p, s, x, n, m);
    *lower_bound = -INFINITY;
    *iterations = 0;
    *status = AA_GMM_NOT_CONVERGED;
    if (n < m->k || n < 2) { /* scikit-learn: ensure_min_samples=2 */
        *status = AA_GMM_TOO_FEW_POINTS;
        return;
    }
    for (int32_t it = 1; it <= p->max_iter; ++it) {
        double previous = *lower_bound;
        *lower_bound = e_step(m, p->covariance, x, n, resp);
        *iterations = it;
        if (!m_step(m, p->covariance, p->reg_covar, x, n, resp)) {
            *status = AA_GMM_ILL_DEFINED;
            return;
        }
        if (fabs(*lower_bound - previous) < p->tol) {
            *status = AA_GMM_CONVERGED;
            return;
        }
    }
}

void aa__ref_gmm_fit(const aa_gmm_params *p, const aa_gmm_batch *g, const aa_gmm_result *out,
                     void *workspace)
{
    const aa_gmm_segments *sg = g->segments;
    double *resp = (double *)workspace;
    for (int64_t s = 0; s < g->num_segments; ++s) {
        int64_t begin = sg->offsets[s], n = sg->offsets[s + 1] - begin;
        const float *x = n > 0 ? sg->points + begin : NULL; /* points may be NULL when empty */
        mixture m;
        double lower_bound;
        int32_t iterations, status;
        fit_segment(p, s, x, n, resp, &m, &lower_bound, &iterations, &status);

        for (int k = 0; k < m.k; ++k) {
            int64_t j = s * m.k + k;
            if (out->weights) out->weights[j] = m.weight[k];
            if (out->means) out->means[j] = m.mean[k];
            if (out->variances) out->variances[j] = m.variance[k];
        }
        if (out->lower_bound) out->lower_bound[s] = lower_bound;
        if (out->iterations) out->iterations[s] = iterations;
        if (out->status) out->status[s] = status;

        /* the final E-step: predict() and score_samples() with the fitted mixture */
        int fitted = status == AA_GMM_CONVERGED || status == AA_GMM_NOT_CONVERGED;
        for (int64_t i = 0; i < n; ++i) {
            double wlp[AA_GMM_MAX_COMPONENTS];
            int32_t label = -1;
            double density = NAN;
            if (fitted) {
                weighted_log_prob(&m, p->covariance, x[i], wlp);
                label = 0;
                for (int k = 1; k < m.k; ++k)
                    if (wlp[k] > wlp[label]) label = k;
                density = log_sum_exp(wlp, m.k);
            }
            if (out->labels) out->labels[begin + i] = label;
            if (out->log_density) out->log_density[begin + i] = density;
        }
    }
}
