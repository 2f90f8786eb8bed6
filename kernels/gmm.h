/* gmm.h - batched 1-D Gaussian-mixture EM, the arithmetic of host/cpu/gmm_ref.c
 * (scikit-learn's GaussianMixture) in one kernel: one work-group per segment,
 * grid-stride over segments. Equal to the reference bit for bit except where the
 * device's exp/log round differently from the host's libm:
 *   - E-step, parallel over the segment's points (point i on work-item i mod
 *     size): each point's arithmetic is the reference's; responsibilities and the
 *     log-sum-exp norm go to the workspace;
 *   - every sum over points (nk, resp * x and the variance sum per component, the
 *     norms for the lower bound) runs in one work-item, sequentially in point
 *     order as the reference adds them; different sums go to different
 *     work-items. 'full' needs the new means first: a second phase;
 *   - work-item 0 finishes the M-step and the convergence test in local memory;
 *     every work-item reads the loop flag after a barrier: no divergent barrier.
 * Terms that do not depend on the point (log w, log pc, mu * prec, ...) are
 * computed once per iteration: the same operations on the same values as the
 * reference's per-point ones, hence the same bits.
 * float32_input (args.f32) follows gmm_ref.c's scikit-learn-on-a-float32-array
 * arithmetic: 'diag' squares x (and PAA's float32 initial means, until the first
 * M-step: ctl[3]) in float32; 'full' keeps the Mahalanobis terms in float32, and
 * after an M-step (ctl[4]) its covariances, precisions and log(pc) too.
 * The fit of one segment is a work-group function (aa_gmm_fit_segment) on
 * global arrays, so that PAA's selection kernel (kernels/paa.h) fits its
 * candidates with the same code. */
#ifndef AA_KERNEL_GMM_H
#define AA_KERNEL_GMM_H

#include "aa_dialect.h"

#define AA_GMM_K_MAX 4 /* AA_GMM_MAX_COMPONENTS (host/plan.c checks) */
#define AA_GMM_LOG_2PI 1.8378770664093453
#define AA_GMM_TEN_EPS (10.0 * (1.0 / 4503599627370496.0)) /* 10 * DBL_EPSILON, exact */

/* Segment outcomes, numbered as AA_GMM_CONVERGED ... in anchorassign.h. */
#define AA_GMM_ST_CONVERGED 1
#define AA_GMM_ST_NOT_CONVERGED 0
#define AA_GMM_ST_ILL_DEFINED (-1)
#define AA_GMM_ST_TOO_FEW_POINTS (-2)

/* Local-memory tables: parameters [field][k], E-step terms [field][k], sums [field][k]. */
#define AA_GMM_W 0  /* parameters: weight, mean, precision Cholesky, variance */
#define AA_GMM_MU 1
#define AA_GMM_PC 2
#define AA_GMM_VAR 3
#define AA_GMM_NUM_PARAMS 4
#define AA_GMM_C_A 0 /* E-step terms: diag: prec, mu*prec, mu*mu*prec; full: pc, mu*pc */
#define AA_GMM_C_B 1
#define AA_GMM_C_C 2
#define AA_GMM_C_LOG_PC 3
#define AA_GMM_C_LOG_W 4
#define AA_GMM_NUM_TERMS 5
#define AA_GMM_S_RESP 0 /* sums: resp, resp * x, variance sum; then the norms */
#define AA_GMM_S_X 1
#define AA_GMM_S_VAR 2
#define AA_GMM_S_NORM (3 * AA_GMM_K_MAX)
#define AA_GMM_NUM_SUMS (3 * AA_GMM_K_MAX + 1)

/* The call's parameters, by value (8-byte fields first: one layout everywhere). */
typedef struct aa_gmm_args {
    double tol, reg_covar;
    aa_i32 k, max_iter;
    aa_i32 full;  /* AA_GMM_FULL */
    aa_i32 given; /* AA_GMM_INIT_GIVEN */
    aa_i32 f32;   /* float32_input */
    aa_i32 unused;
} aa_gmm_args;

/* The loop state in local memory (ctl[]): run flag, iterations, status, and the
 * float32_input modes: means still PAA's float32 min/max, float32 precisions. */
#define AA_GMM_CTL_RUN 0
#define AA_GMM_CTL_ITER 1
#define AA_GMM_CTL_STATUS 2
#define AA_GMM_CTL_FLOAT_MEANS 3
#define AA_GMM_CTL_FLOAT_PREC 4
#define AA_GMM_NUM_CTL 5

/* Byte offsets of the workspace arrays: responsibilities double [points][k],
 * log-sum-exp norms double [points]. */
typedef struct aa_gmm_ws {
    aa_i64 resp, norm;
} aa_gmm_ws;

/* log N(x) + log w per component, from the E-step terms (the reference's
 * weighted_log_prob). f32: float32_input; float_prec: 'full' precisions are
 * float32 (then log pc is logf's value). */
AA_DEVICE void aa_gmm_log_prob(AA_LOCAL const double *terms, aa_i32 k_count, aa_i32 full,
                               aa_i32 f32, aa_i32 float_prec, float xf, double *wlp)
{
    double x = (double)xf;
    for (aa_i32 k = 0; k < AA_GMM_K_MAX; ++k) {
        if (k >= k_count) break;
        double a = terms[AA_GMM_C_A * AA_GMM_K_MAX + k], b = terms[AA_GMM_C_B * AA_GMM_K_MAX + k];
        double log_pc = terms[AA_GMM_C_LOG_PC * AA_GMM_K_MAX + k], gauss;
        if (!full) {
            double x2 = f32 ? (double)(xf * xf) : x * x;
            double maha = (terms[AA_GMM_C_C * AA_GMM_K_MAX + k] - 2.0 * (x * b)) + x2 * a;
            gauss = -0.5 * (AA_GMM_LOG_2PI + maha) + log_pc;
        } else if (!f32) {
            double y = x * a - b;
            gauss = -0.5 * (AA_GMM_LOG_2PI + y * y) + log_pc;
        } else if (!float_prec) { /* precisions_init: float64 */
            double y = x * a - b;
            float maha = (float)(y * y);
            gauss = (double)(-0.5f * ((float)AA_GMM_LOG_2PI + maha)) + log_pc;
        } else {
            double y = (double)(xf * (float)a) - b;
            float maha = (float)(y * y);
            gauss = (double)(-0.5f * ((float)AA_GMM_LOG_2PI + maha) + (float)log_pc);
        }
        wlp[k] = gauss + terms[AA_GMM_C_LOG_W * AA_GMM_K_MAX + k];
    }
}

/* scipy's logsumexp: max + log(sum exp(v - max)), a non-finite max taken as 0. */
AA_DEVICE double aa_gmm_log_sum_exp(const double *v, aa_i32 n)
{
    double top = v[0], s = 0.0;
    for (aa_i32 k = 1; k < AA_GMM_K_MAX; ++k) {
        if (k >= n) break;
        if (v[k] > top) top = v[k];
    }
    if (!AA_ISFINITE(top)) top = 0.0;
    for (aa_i32 k = 0; k < AA_GMM_K_MAX; ++k) {
        if (k >= n) break;
        s += AA_EXP(v[k] - top);
    }
    return AA_LOG(s) + top;
}

/* The E-step terms of the current parameters (float_means: mu * mu in float32;
 * float_prec: log pc by logf). */
AA_DEVICE void aa_gmm_terms(AA_LOCAL const double *par, aa_i32 k_count, aa_i32 full,
                            aa_i32 float_means, aa_i32 float_prec, AA_LOCAL double *terms)
{
    for (aa_i32 k = 0; k < k_count; ++k) {
        double pc = par[AA_GMM_PC * AA_GMM_K_MAX + k], mu = par[AA_GMM_MU * AA_GMM_K_MAX + k];
        if (full) {
            terms[AA_GMM_C_A * AA_GMM_K_MAX + k] = pc;
            terms[AA_GMM_C_B * AA_GMM_K_MAX + k] = mu * pc;
        } else {
            double prec = pc * pc;
            double mu2 = float_means ? (double)((float)mu * (float)mu) : mu * mu;
            terms[AA_GMM_C_A * AA_GMM_K_MAX + k] = prec;
            terms[AA_GMM_C_B * AA_GMM_K_MAX + k] = mu * prec;
            terms[AA_GMM_C_C * AA_GMM_K_MAX + k] = mu2 * prec;
        }
        terms[AA_GMM_C_LOG_PC * AA_GMM_K_MAX + k] =
            float_prec ? (double)AA_LOGF((float)pc) : AA_LOG(pc);
        terms[AA_GMM_C_LOG_W * AA_GMM_K_MAX + k] = AA_LOG(par[AA_GMM_W * AA_GMM_K_MAX + k]);
    }
}

#ifdef AA_KERNEL
/* Work-item 0: the initial parameters (given, or PAA's: weights 1/K, means evenly
 * from the minimum to exactly the maximum, precisions 1), the loop state
 * (ctl: run, iterations, status) and the E-step terms. */
AA_DEVICE_ONLY void aa_gmm_start(aa_gmm_args args, aa_i64 s, AA_GLOBAL const float *x, aa_i64 n,
                                 AA_GLOBAL const double *init_w, AA_GLOBAL const double *init_mu,
                                 AA_GLOBAL const double *init_prec, AA_LOCAL double *par,
                                 AA_LOCAL double *terms, AA_LOCAL double *bound, AA_LOCAL aa_i32 *ctl)
{
    aa_i32 K = args.k;
    double lo = AA_NAN, hi = AA_NAN;
    if (!args.given) {
        for (aa_i64 i = 0; i < n; ++i) {
            double v = (double)x[i];
            if (i == 0 || v < lo) lo = v;
            if (i == 0 || v > hi) hi = v;
        }
    }
    for (aa_i32 k = 0; k < K; ++k) {
        double w, mu, pc, var;
        if (args.given) {
            aa_i64 j = s * K + k;
            w = init_w[j], mu = init_mu[j], pc = AA_SQRT(init_prec[j]), var = 1.0 / init_prec[j];
        } else {
            w = 1.0 / (double)K, pc = 1.0, var = 1.0;
            mu = (k == 0) ? lo : (k == K - 1) ? hi : lo + (hi - lo) * (double)k / (double)(K - 1);
        }
        par[AA_GMM_W * AA_GMM_K_MAX + k] = w;
        par[AA_GMM_MU * AA_GMM_K_MAX + k] = mu;
        par[AA_GMM_PC * AA_GMM_K_MAX + k] = pc;
        par[AA_GMM_VAR * AA_GMM_K_MAX + k] = var;
    }
    aa_i32 float_means = args.f32 && !args.given && K <= 2; /* [min, max] in float32 */
    aa_gmm_terms(par, K, args.full, float_means, 0, terms);
    aa_i32 too_few = n < K || n < 2; /* scikit-learn fits 2 points at least */
    bound[0] = AA_NEG_INF;
    ctl[AA_GMM_CTL_RUN] = !too_few && args.max_iter > 0;
    ctl[AA_GMM_CTL_ITER] = 0;
    ctl[AA_GMM_CTL_STATUS] = too_few ? AA_GMM_ST_TOO_FEW_POINTS : AA_GMM_ST_NOT_CONVERGED;
    ctl[AA_GMM_CTL_FLOAT_MEANS] = float_means;
    ctl[AA_GMM_CTL_FLOAT_PREC] = 0;
}

/* E-step over the segment's points (all work-items). */
AA_DEVICE_ONLY void aa_gmm_e_step(aa_gmm_args args, AA_GLOBAL const float *x, aa_i64 n,
                                  AA_LOCAL const double *terms, aa_i32 float_prec,
                                  AA_GLOBAL double *resp, AA_GLOBAL double *norms)
{
    for (aa_i64 i = AA_LOCAL_ID; i < n; i += AA_LOCAL_SIZE) {
        double wlp[AA_GMM_K_MAX];
        aa_gmm_log_prob(terms, args.k, args.full, args.f32, float_prec, x[i], wlp);
        double norm = aa_gmm_log_sum_exp(wlp, args.k);
        for (aa_i32 k = 0; k < AA_GMM_K_MAX; ++k) {
            if (k >= args.k) break;
            resp[i * args.k + k] = AA_EXP(wlp[k] - norm);
        }
        norms[i] = norm;
    }
}

/* The sums of one phase, one sum per work-item, each in point order. Phase 0:
 * resp and resp * x per component, the variance sum too for 'diag' (it needs no
 * mean), and the norms; phase 1 ('full' only): sum resp * d * d, d = x - mean. */
AA_DEVICE_ONLY void aa_gmm_sums(aa_gmm_args args, aa_i32 phase, AA_GLOBAL const float *x,
                                aa_i64 n, AA_GLOBAL const double *resp,
                                AA_GLOBAL const double *norms, AA_LOCAL double *sums)
{
    aa_i32 K = args.k;
    aa_i32 tasks = phase ? (args.full ? K : 0) : (args.full ? 2 * K : 3 * K) + 1;
    for (aa_i32 t = AA_LOCAL_ID; t < tasks; t += AA_LOCAL_SIZE) {
        aa_i32 field = phase ? AA_GMM_S_VAR : t / K, k = phase ? t : t % K;
        double acc = 0.0;
        if (!phase && t == tasks - 1) {
            for (aa_i64 i = 0; i < n; ++i) acc += norms[i];
            sums[AA_GMM_S_NORM] = acc;
            continue;
        }
        if (field == AA_GMM_S_RESP) {
            for (aa_i64 i = 0; i < n; ++i) acc += resp[i * K + k];
        } else if (field == AA_GMM_S_X) {
            for (aa_i64 i = 0; i < n; ++i) acc += resp[i * K + k] * (double)x[i];
        } else if (!args.full && args.f32) {
            for (aa_i64 i = 0; i < n; ++i) acc += resp[i * K + k] * (double)(x[i] * x[i]);
        } else if (!args.full) {
            for (aa_i64 i = 0; i < n; ++i) acc += resp[i * K + k] * ((double)x[i] * (double)x[i]);
        } else {
            double nk = sums[AA_GMM_S_RESP * AA_GMM_K_MAX + k] + AA_GMM_TEN_EPS;
            double mu = sums[AA_GMM_S_X * AA_GMM_K_MAX + k] / nk; /* as the M-step will */
            for (aa_i64 i = 0; i < n; ++i) {
                double d = (double)x[i] - mu;
                acc += (resp[i * K + k] * d) * d;
            }
        }
        sums[field * AA_GMM_K_MAX + k] = acc;
    }
}

/* Work-item 0: the M-step from the sums, then the loop state: stop when a
 * variance is not positive, when the bound moved by less than tol, or after
 * max_iter iterations. */
AA_DEVICE_ONLY void aa_gmm_finish(aa_gmm_args args, aa_i64 n, AA_LOCAL const double *sums,
                                  AA_LOCAL double *par, AA_LOCAL double *terms,
                                  AA_LOCAL double *bound, AA_LOCAL aa_i32 *ctl)
{
    aa_i32 K = args.k, ok = 1;
    double previous = bound[0], lb = sums[AA_GMM_S_NORM] / (double)n, total = 0.0;
    double nk[AA_GMM_K_MAX];
    bound[0] = lb;
    ctl[AA_GMM_CTL_ITER] += 1;
    for (aa_i32 k = 0; k < AA_GMM_K_MAX; ++k) {
        if (k >= K) break;
        nk[k] = sums[AA_GMM_S_RESP * AA_GMM_K_MAX + k] + AA_GMM_TEN_EPS;
        double mu = sums[AA_GMM_S_X * AA_GMM_K_MAX + k] / nk[k];
        double v = sums[AA_GMM_S_VAR * AA_GMM_K_MAX + k];
        if (!args.full) v = (v / nk[k] - mu * mu) + args.reg_covar;
        else if (args.f32) v = (double)((float)(v / nk[k]) + (float)args.reg_covar); /* float32 array */
        else v = v / nk[k] + args.reg_covar;
        par[AA_GMM_MU * AA_GMM_K_MAX + k] = mu;
        par[AA_GMM_VAR * AA_GMM_K_MAX + k] = v;
    }
    for (aa_i32 k = 0; k < AA_GMM_K_MAX; ++k) {
        if (k >= K) break;
        total += nk[k];
    }
    aa_i32 float_prec = args.f32 && args.full;
    ctl[AA_GMM_CTL_FLOAT_MEANS] = 0; /* float64 from here on */
    ctl[AA_GMM_CTL_FLOAT_PREC] = float_prec;
    for (aa_i32 k = 0; k < AA_GMM_K_MAX; ++k) {
        if (k >= K) break;
        double v = par[AA_GMM_VAR * AA_GMM_K_MAX + k];
        par[AA_GMM_W * AA_GMM_K_MAX + k] = nk[k] / total;
        if (!(v > 0.0)) ok = 0;
        par[AA_GMM_PC * AA_GMM_K_MAX + k] =
            float_prec ? (double)(1.0f / AA_SQRTF((float)v)) : 1.0 / AA_SQRT(v);
    }
    if (!ok) {
        ctl[AA_GMM_CTL_RUN] = 0, ctl[AA_GMM_CTL_STATUS] = AA_GMM_ST_ILL_DEFINED;
    } else if (AA_FABS(lb - previous) < args.tol) {
        ctl[AA_GMM_CTL_RUN] = 0, ctl[AA_GMM_CTL_STATUS] = AA_GMM_ST_CONVERGED;
    } else if (ctl[AA_GMM_CTL_ITER] >= args.max_iter) {
        ctl[AA_GMM_CTL_RUN] = 0;
    }
    aa_gmm_terms(par, K, args.full, 0, float_prec, terms);
}

/* The fit of one segment by the whole work-group (every work-item calls it; it
 * has barriers): the EM loop and the final E-step, labels and log-densities
 * written to labels[i] / density[i] (NULL: not wanted); the fitted parameters,
 * bound and ctl stay in local memory for the caller. s: the segment's index into
 * init_* (read only when args.given). resp / norms: workspace of n x K / n. */
AA_DEVICE_ONLY void aa_gmm_fit_segment(aa_gmm_args args, aa_i64 s, AA_GLOBAL const float *x, aa_i64 n,
                                       AA_GLOBAL const double *init_w, AA_GLOBAL const double *init_mu,
                                       AA_GLOBAL const double *init_prec, AA_GLOBAL double *resp,
                                       AA_GLOBAL double *norms, AA_LOCAL double *par,
                                       AA_LOCAL double *terms, AA_LOCAL double *sums,
                                       AA_LOCAL double *bound, AA_LOCAL aa_i32 *ctl,
                                       AA_GLOBAL aa_i32 *labels, AA_GLOBAL double *density)
{
    aa_i32 lid = AA_LOCAL_ID, K = args.k;
    if (lid == 0) aa_gmm_start(args, s, x, n, init_w, init_mu, init_prec, par, terms, bound, ctl);
    AA_BARRIER();
    while (ctl[AA_GMM_CTL_RUN]) { /* uniform: read by all after a barrier */
        aa_gmm_e_step(args, x, n, terms, ctl[AA_GMM_CTL_FLOAT_PREC], resp, norms);
        AA_BARRIER_GLOBAL();
        /* one call site in a loop: PoCL 3.1 (LLVM 15) crashed compiling two
         * inlined copies, or one under an if, each followed by a barrier */
        for (aa_i32 phase = 0; phase < 2; ++phase) { /* not "round": a builtin */
            aa_gmm_sums(args, phase, x, n, resp, norms, sums); /* phase 1: 'full' only */
            AA_BARRIER_GLOBAL();
        }
        if (lid == 0) aa_gmm_finish(args, n, sums, par, terms, bound, ctl);
        AA_BARRIER();
    }
    /* the final E-step: labels (lower index on ties) and log-density */
    aa_i32 fitted = ctl[AA_GMM_CTL_STATUS] == AA_GMM_ST_CONVERGED ||
                    ctl[AA_GMM_CTL_STATUS] == AA_GMM_ST_NOT_CONVERGED;
    aa_i32 float_prec = ctl[AA_GMM_CTL_FLOAT_PREC];
    for (aa_i64 i = lid; i < n; i += AA_LOCAL_SIZE) {
        aa_i32 label = -1;
        double dens = AA_NAN;
        if (fitted) {
            double wlp[AA_GMM_K_MAX], best;
            aa_gmm_log_prob(terms, K, args.full, args.f32, float_prec, x[i], wlp);
            label = 0, best = wlp[0];
            for (aa_i32 k = 1; k < AA_GMM_K_MAX; ++k) {
                if (k >= K) break;
                if (wlp[k] > best) best = wlp[k], label = k;
            }
            dens = aa_gmm_log_sum_exp(wlp, K);
        }
        if (labels) labels[i] = label;
        if (density) density[i] = dens;
    }
}

/* One work-group per segment (grid-stride). Outputs may be NULL (not wanted);
 * offsets NULL means every segment is empty; init_* are read only when
 * args.given. */
AA_KERNEL aa_gmm_kernel(AA_GLOBAL const float *points, AA_GLOBAL const aa_i64 *offsets,
                        aa_i64 num_segments, aa_gmm_args args, AA_GLOBAL const double *init_w,
                        AA_GLOBAL const double *init_mu, AA_GLOBAL const double *init_prec,
                        AA_GLOBAL char *ws, aa_gmm_ws lay, AA_GLOBAL double *out_w,
                        AA_GLOBAL double *out_mu, AA_GLOBAL double *out_var,
                        AA_GLOBAL double *out_bound, AA_GLOBAL aa_i32 *out_iter,
                        AA_GLOBAL aa_i32 *out_status, AA_GLOBAL aa_i32 *out_labels,
                        AA_GLOBAL double *out_density)
{
    AA_SHARED(double, par, AA_GMM_NUM_PARAMS * AA_GMM_K_MAX);
    AA_SHARED(double, terms, AA_GMM_NUM_TERMS * AA_GMM_K_MAX);
    AA_SHARED(double, sums, AA_GMM_NUM_SUMS);
    AA_SHARED(double, bound, 1);
    AA_SHARED(aa_i32, ctl, AA_GMM_NUM_CTL);
    aa_i32 lid = AA_LOCAL_ID, K = args.k;
    for (aa_i64 s = AA_GROUP_ID_X; s < num_segments; s += AA_NUM_GROUPS_X) {
        aa_i64 begin = offsets ? offsets[s] : 0, n = offsets ? offsets[s + 1] - begin : 0;
        aa_gmm_fit_segment(args, s, points + begin, n, init_w, init_mu, init_prec,
                           (AA_GLOBAL double *)(ws + lay.resp) + begin * K,
                           (AA_GLOBAL double *)(ws + lay.norm) + begin, par, terms, sums, bound, ctl,
                           out_labels ? out_labels + begin : out_labels,
                           out_density ? out_density + begin : out_density);
        if (lid == 0) {
            for (aa_i32 k = 0; k < K; ++k) {
                aa_i64 j = s * K + k;
                if (out_w) out_w[j] = par[AA_GMM_W * AA_GMM_K_MAX + k];
                if (out_mu) out_mu[j] = par[AA_GMM_MU * AA_GMM_K_MAX + k];
                if (out_var) out_var[j] = par[AA_GMM_VAR * AA_GMM_K_MAX + k];
            }
            if (out_bound) out_bound[s] = bound[0];
            if (out_iter) out_iter[s] = ctl[AA_GMM_CTL_ITER];
            if (out_status) out_status[s] = ctl[AA_GMM_CTL_STATUS];
        }
        AA_BARRIER(); /* the next segment's start overwrites par, terms and ctl */
    }
}
#endif

#endif /* AA_KERNEL_GMM_H */
