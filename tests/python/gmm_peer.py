"""What the GMM tests share: the aa_gmm_fit call that skips where a backend does not
have the EM yet, and scikit-learn's GaussianMixture as its peer (test_gmm_sklearn.py):
random 1-D segments, one segment fitted the way mmdetection's PAAHead fits it, and
the comparison of one segment's results.

Tolerances: rtol 1e-6 on every value, plus an absolute floor for values near 0 and
for what the arithmetic itself cannot resolve: each floor is the first-order rounding
bound of the formula that makes the value, from the segment (n points, X = max |x|)
and our fit (component k: mean mu_k, variance var_k, n_k points labelled k), times
SLACK = 64 for the iterations that carry it (eps = 2.2e-16; the two sides sum in
different orders: BLAS and NumPy's pairwise sums against plain loops):
  weights      n eps (1 + w_k (mu_k^2 + var_k) / var_k)
                                a sum of n responsibilities in [0, 1], over n; they
                                depend on the variances, known to the relative
                                precision of the next line's floor (matters where two
                                components collapse onto the same point)
  means        n eps X          sum r x / nk: terms of size X that may cancel to ~0
  variances    n eps (mu_k^2 + var_k)
                                'diag' is E[x^2] - mean^2: terms of size mu_k^2 cancel
  log_density  eps ((x^2 + mu_k^2) / var_k + n_k (mu_k^2 + var_k) / var_k + |value| + 1)
               at the point's component: 'diag' writes the squared distance as
               mu^2 p - 2 x mu p + x^2 p (p = 1 / var), terms of size mu^2 / var
               that cancel, plus the variance's own error relative to var
  lower_bound  the mean of the log-density floors, + n eps |value|
A component that collapses onto one far outlier (variance reg_covar = 1e-6, mean
4e3) has mu^2 / var ~ 1e13: there 'diag' knows the variance to ~1e-3 relative on
either side, and the floors say so.
Beyond these, a value is explained only by the mixture's own conditioning
(sensitivity): where scikit-learn's result moves as far when its initial means move by
a few ulps, the EM amplifies rounding that much (components that barely separate; seen
once in a few hundred thousand segments: 4 components, 76 iterations, means 1.35 times
the tolerance apart while scikit-learn moved 11 times under 4 ulps); such segments are
counted and printed, and must stay rare (test_gmm_sklearn.py).
"""

import os
import time
import warnings

import numpy as np
import pytest

import anchorassign as aa

EPS = np.finfo(np.float64).eps
RTOL = 1e-6
SLACK = 64
FITTED = (aa.GMM_CONVERGED, aa.GMM_NOT_CONVERGED)


def gmm_fit(ctx, *args, **kwargs):
    """ctx.gmm_fit, or a skip where the backend does not have the EM yet."""
    try:
        return ctx.gmm_fit(*args, **kwargs)
    except aa.Error as exc:
        if exc.status == aa.Status.NOT_SUPPORTED and ctx.backend != "cpu":
            pytest.skip("gmm not on this backend yet (%s): %s" % (ctx.backend, exc.message))
        raise


def sklearn_or_skip():
    """(GaussianMixture, ConvergenceWarning, version); a skip where scikit-learn is
    missing, a failure where CI asks for it (AA_REQUIRE_SKLEARN=1)."""
    try:
        import sklearn
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture
    except ImportError as exc:
        if os.environ.get("AA_REQUIRE_SKLEARN") == "1":
            pytest.fail("AA_REQUIRE_SKLEARN=1 but scikit-learn cannot be imported: %s "
                        "(bash .ci/deps.sh installs it into .py-deps/)" % exc)
        pytest.skip("scikit-learn is not installed: %s" % exc)
    return GaussianMixture, ConvergenceWarning, sklearn.__version__


def seed():
    """A fresh seed per run (printed by the caller); AA_TEST_SEED reproduces one."""
    env = os.environ.get("AA_TEST_SEED")
    return int(env, 0) if env else time.time_ns() % (2 ** 32)


# ---------------------------------------------------------------- inputs
KINDS = ("bimodal", "unimodal", "equal", "outliers", "losses", "grid")


def random_points(rng, n, kind):
    """n float32 values of a kind; 'losses' look like PAA's per-anchor scores (a few
    good anchors with low loss, the rest high)."""
    c0, spread = rng.uniform(-5, 5), rng.uniform(0.01, 3)
    if kind == "bimodal":
        c1 = c0 + rng.uniform(0.1, 20)
        x = np.where(rng.random(n) < rng.uniform(0.1, 0.9), rng.normal(c0, spread, n),
                     rng.normal(c1, spread * rng.uniform(0.2, 5), n))
    elif kind == "unimodal":
        x = rng.normal(c0, spread, n)
    elif kind == "equal":
        x = np.full(n, c0)
    elif kind == "outliers":
        x = rng.normal(c0, spread, n)
        far = rng.random(n) < 0.1
        x[far] = rng.uniform(-1e4, 1e4, far.sum())
    elif kind == "losses":
        good = rng.random(n) < rng.uniform(0.05, 0.5)
        x = np.where(good, rng.gamma(2.0, 0.1, n), rng.gamma(4.0, 0.4, n) + 0.5)
    else:  # coarse grid: duplicates and exact ties
        x = 0.5 * rng.integers(0, 7, n)
    return x.astype(np.float32)


def paa_init(x, k):
    """PAAHead's init (K = 2: weights .5, means [min, max], precisions 1), evenly spaced
    means for other K, computed as the C reference does."""
    lo, hi = float(x.min()), float(x.max())
    means = [lo if j == 0 else hi if j == k - 1 else lo + (hi - lo) * j / (k - 1)
             for j in range(k)]
    return np.full(k, 1.0 / k), np.array(means), np.ones(k)


def random_init(rng, x, k):
    w = rng.dirichlet(np.ones(k))
    mu = rng.uniform(float(x.min()) - 1, float(x.max()) + 1, k)
    prec = np.exp(rng.uniform(np.log(0.01), np.log(100), k))
    return w, mu, prec


# ---------------------------------------------------------------- one segment
class Fit:
    """One segment's outcome, from either side."""

    status = n_iter = lower_bound = None
    weights = means = variances = labels = log_density = None
    lower_bounds = ()  # scikit-learn's lower_bounds_, per iteration
    error = ""


def sklearn_fit(GaussianMixture, ConvergenceWarning, x, k, cov, tol, reg_covar, max_iter, init,
                x_dtype=np.float64, means_dtype=np.float64):
    """GaussianMixture(...).fit(x), predict(x), score_samples(x) as PAAHead runs them."""
    w, mu, prec = init
    X = x.astype(x_dtype).reshape(-1, 1)
    g = GaussianMixture(k, covariance_type=cov, tol=tol, reg_covar=reg_covar, max_iter=max_iter,
                        weights_init=w, means_init=mu.astype(means_dtype).reshape(k, 1),
                        precisions_init=prec.reshape((k, 1) if cov == "diag" else (k, 1, 1)))
    f = Fit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            g.fit(X)
        except ValueError as exc:
            f.error = str(exc)
            ill = "ill-defined empirical covariance" in f.error
            f.status = aa.GMM_ILL_DEFINED if ill else aa.GMM_TOO_FEW_POINTS
            return f
    warned = any(issubclass(c.category, ConvergenceWarning) for c in caught)
    assert warned != g.converged_
    f.status = aa.GMM_CONVERGED if g.converged_ else aa.GMM_NOT_CONVERGED
    f.n_iter, f.lower_bound, f.lower_bounds = g.n_iter_, g.lower_bound_, list(g.lower_bounds_)
    f.weights, f.means = g.weights_, g.means_.reshape(-1)
    f.variances = g.covariances_.reshape(-1)
    f.labels, f.log_density = g.predict(X), g.score_samples(X)
    return f


def ours(r, s, begin, end):
    """Segment s of a GmmResult (NumPy) as a Fit."""
    f = Fit()
    f.status, f.n_iter, f.lower_bound = int(r.status[s]), int(r.iterations[s]), r.lower_bound[s]
    f.weights, f.means, f.variances = r.weights[s], r.means[s], r.variances[s]
    f.labels, f.log_density = r.labels[begin:end], r.log_density[begin:end]
    return f


def floors(x, fit, eps=EPS):
    """Absolute tolerances per output (see the module doc), from the segment and our fit;
    eps: the unit roundoff of the arithmetic compared with (float32's where scikit-learn
    squares float32 points)."""
    n, big = len(x), float(np.abs(x).max())
    mu, var = fit.means, fit.variances
    x64 = x.astype(np.float64)
    n_k = np.maximum(np.bincount(fit.labels, minlength=len(mu)), 1)
    var_floor = n * eps * (mu * mu + var)
    k = fit.labels
    point = eps * ((x64 * x64 + mu[k] ** 2) / var[k] + n_k[k] * (mu[k] ** 2 + var[k]) / var[k]
                   + np.abs(fit.log_density) + 1)
    weight_floor = n * eps * (1 + fit.weights * (mu * mu + var) / var)
    return {"weights": SLACK * weight_floor, "means": SLACK * n * eps * big,
            "variances": SLACK * var_floor, "log_density": SLACK * point,
            "lower_bound": SLACK * (float(point.mean()) + n * eps * abs(fit.lower_bound))}


def _ratio(num, den):
    """num / den with 0 / 0 = 0 and n / 0 = inf (never NaN, which would hide a failure)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num == 0, 0.0, np.where(den > 0, num / den, np.inf))


def value_errors(x, a, b, eps=EPS):
    """Per output: (max relative error where the floor is below rtol |b| (the values the
    arithmetic resolves), max |a - b| / (rtol |b| + floor), max relative error of all
    values) of a against b. NaN on both sides (an empty segment's means) is equal."""
    out = {}
    for name, floor in floors(x, a, eps).items():
        va, vb = np.atleast_1d(getattr(a, name)), np.atleast_1d(getattr(b, name))
        diff, size = np.abs(va - vb), np.abs(vb)
        diff = np.where(np.isnan(va) & np.isnan(vb), 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        resolved = np.broadcast_to(floor <= RTOL * size, size.shape)
        out[name] = (float(_ratio(diff[resolved], size[resolved]).max(initial=0)),
                     float(_ratio(diff, RTOL * size + floor).max(initial=0)),
                     float(_ratio(diff, size).max(initial=0)))
    return out


def sensitivity(GaussianMixture, ConvergenceWarning, x, k, cov, tol, reg_covar, max_iter, init,
                b, ulps=(4, -4, 9)):
    """How far scikit-learn's own result b moves when its initial means move by a few
    ulps (relative 4, -4 and 9 x eps): per output, the largest value_errors ratio of such
    a refit against b, over the refits that stop at b's iteration. An ill-conditioned
    mixture (components that barely separate) amplifies rounding over the iterations:
    a difference between two implementations that rounding-level perturbations of one
    of them reach too is explained by it. {} when no refit stopped there."""
    w, mu, prec = init
    out = {}
    for u in ulps:
        b2 = sklearn_fit(GaussianMixture, ConvergenceWarning, x, k, cov, tol, reg_covar,
                         max_iter, (w, mu * (1.0 + u * EPS), prec))
        if b2.status != b.status or b2.n_iter != b.n_iter:
            continue
        for name, (_, ratio, _) in value_errors(x, b2, b).items():
            out[name] = max(out.get(name, 0.0), ratio)
    return out


def stopping_explained(x, a, b, tol):
    """Why two fits stopped at different iterations, or None if not explained: at the
    first of the two stops, scikit-learn's bound change is within the bounds' rounding
    floor of tol, so the same test could go either way."""
    if a.n_iter is None or b.n_iter is None or a.status not in FITTED:
        return None
    m = min(a.n_iter, b.n_iter)
    lbs = b.lower_bounds
    if m < 2 or len(lbs) < m:
        return None
    change = abs(lbs[m - 1] - lbs[m - 2])
    floor = 2 * floors(x, a)["lower_bound"]
    if abs(change - tol) <= floor:
        return ("scikit-learn's bound change at iteration %d, %.6g, is within the bounds' "
                "rounding floor %.3g of tol %g" % (m, change, floor, tol))
    return None


def label_differences(x, a, b):
    """Points whose labels differ: (index, value, our label, theirs, the gap of our two
    weighted log probabilities, its rounding floor); a near tie when gap <= floor."""
    out = []
    floor = floors(x, a)["log_density"]
    for i in np.flatnonzero(a.labels != b.labels):
        wlp = (np.log(a.weights) - 0.5 * (np.log(2 * np.pi) + np.log(a.variances)
                                          + (float(x[i]) - a.means) ** 2 / a.variances))
        gap = abs(wlp[a.labels[i]] - wlp[b.labels[i]])
        out.append((int(i), float(x[i]), int(a.labels[i]), int(b.labels[i]), float(gap),
                    2 * float(floor[i])))
    return out
