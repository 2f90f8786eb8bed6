"""aa_gmm_fit against scikit-learn's GaussianMixture itself (the version .ci/deps.sh
installs: 1.9.1), on the CPU reference and on OpenCL (skipped there while the EM is
not on that backend). Each configuration's segments go through one aa_gmm_fit call
(a few hundred at once) and each is compared with its own scikit-learn fit, as
mmdetection's PAAHead calls it. gmm_peer.py gives the tolerances and why."""

import numpy as np
import pytest

import anchorassign as aa
import gmm_peer as peer
from gmm_peer import gmm_fit

SEGMENTS_PER_CONFIG = 250
MAX_COMPONENTS = 4  # AA_GMM_MAX_COMPONENTS

# (K, covariance, init, tol, reg_covar, max_iter)
CONFIGS = [
    (2, "diag", "paa", 1e-3, 1e-6, 100),    # mmdetection's PAAHead
    (2, "full", "paa", 1e-3, 1e-6, 100),    # the original PAA code (scikit-learn's default)
    (2, "diag", "given", 1e-3, 1e-6, 100),
    (2, "full", "given", 1e-6, 1e-6, 300),
    (2, "diag", "paa", 1e-3, 1e-6, 4),      # stops at max_iter: ConvergenceWarning
    (1, "diag", "paa", 1e-3, 1e-6, 100),
    (3, "full", "paa", 1e-4, 1e-4, 100),
    (4, "diag", "given", 1e-5, 1e-6, 200),
]


class Tally:
    def __init__(self):
        self.compared = self.fitted = self.refused = self.ill_conditioned = 0
        self.label_segments = self.label_points = 0
        self.stops = []
        self.worst = {}

    def add_errors(self, errors):
        for name, values in errors.items():
            self.worst[name] = tuple(max(v, w) for v, w in
                                     zip(values, self.worst.get(name, (0.0, 0.0, 0.0))))

    def line(self, what, raw=False):
        pick = (2, 1) if raw else (0, 1)
        errs = ", ".join("%s %.1e (%.2f)" % (n, v[pick[0]], v[pick[1]])
                         for n, v in sorted(self.worst.items()))
        kind = "of all values" if raw else "where rounding resolves it"
        return ("%s: %d segments compared (%d fitted, %d refused by both); max relative error "
                "%s (max fraction of the tolerance): %s; iteration/convergence disagreements "
                "%d; label disagreements %d segments (%d points); beyond the tolerance but "
                "within scikit-learn's own spread under a few ulps of its init (ill-conditioned) "
                "%d segments"
                % (what, self.compared, self.fitted, self.refused, kind, errs, len(self.stops),
                   self.label_segments, self.label_points, self.ill_conditioned))


def random_segments(rng, k, count):
    """count segments of 1..200 points (mostly PAA-sized, 2..60), of every kind; 1 point
    only where K >= 2 (scikit-learn refuses 1 point whatever K: see test below)."""
    xs = []
    for _ in range(count):
        n = int(rng.integers(2, 61) if rng.random() < 0.7 else rng.integers(1, 201))
        if k == 1 and n == 1:
            n = 2
        xs.append(peer.random_points(rng, n, peer.KINDS[rng.integers(len(peer.KINDS))]))
    return xs


def segment_init(given, s):
    return {name: v[s:s + 1] for name, v in given.items()}


def compare_config(ctx, rng, config, tally, problems):
    GaussianMixture, ConvergenceWarning, _ = peer.sklearn_or_skip()
    k, cov, init_kind, tol, reg, max_iter = config
    xs = random_segments(rng, k, SEGMENTS_PER_CONFIG)
    inits = [peer.paa_init(x, k) if init_kind == "paa" else peer.random_init(rng, x, k) for x in xs]
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in xs])])
    given = {}
    if init_kind == "given":
        given = {"init_weights": np.array([i[0] for i in inits]),
                 "init_means": np.array([i[1] for i in inits]),
                 "init_precisions": np.array([i[2] for i in inits])}
    r = gmm_fit(ctx, np.concatenate(xs), offsets, num_components=k, max_iter=max_iter, tol=tol,
                reg_covar=reg, covariance=cov, **given)
    for s, x in enumerate(xs):
        a = peer.ours(r, s, offsets[s], offsets[s + 1])
        b = peer.sklearn_fit(GaussianMixture, ConvergenceWarning, x, k, cov, tol, reg, max_iter,
                             inits[s])
        where = "config %s segment %d (%d points)" % (config, s, len(x))
        tally.compared += 1
        refused = (aa.GMM_TOO_FEW_POINTS, aa.GMM_ILL_DEFINED)
        if a.status == b.status and a.status in refused:
            tally.refused += 1
            continue
        if a.status != b.status or a.n_iter != b.n_iter:
            why = peer.stopping_explained(x, a, b, tol)
            tally.stops.append("%s: ours status %d after %d, scikit-learn %d after %s: %s" % (
                where, a.status, a.n_iter, b.status, b.n_iter, why or "NOT EXPLAINED"))
            if why is None:
                problems.append(tally.stops[-1] + " " + b.error)
                continue
            # the values then compare at scikit-learn's iteration count
            a = peer.ours(gmm_fit(ctx, x, [0, len(x)], num_components=k, max_iter=b.n_iter, tol=0,
                                  reg_covar=reg, covariance=cov, **segment_init(given, s)),
                          0, 0, len(x))
        tally.fitted += 1
        errors = peer.value_errors(x, a, b)
        tally.add_errors(errors)
        over = {name: e for name, e in errors.items() if e[1] > 1}
        # beyond the tolerance: explained only where scikit-learn itself, its init moved
        # by a few ulps, moves as far (counted and printed); otherwise a failure
        spread = peer.sensitivity(GaussianMixture, ConvergenceWarning, x, k, cov, tol, reg,
                                  max_iter, inits[s], b) if over else {}
        if over and all(ratio <= spread.get(name, 0.0) for name, (_, ratio, _) in over.items()):
            tally.ill_conditioned += 1
            print("%s: %s; scikit-learn's own spread under a few ulps of its init: %s (ill-conditioned)"
                  % (where, ", ".join("%s %.3g times the tolerance" % (n, e[1]) for n, e in over.items()),
                     ", ".join("%s %.3g" % (n, spread[n]) for n in over)))
            over = {}
        for name, (rel, ratio, _) in over.items():
            problems.append("%s: %s differs: relative %.3g, %.3g times the tolerance (scikit-learn's "
                            "own spread %.3g)" % (where, name, rel, ratio, spread.get(name, 0.0)))
        diffs = peer.label_differences(x, a, b)
        if diffs:
            tally.label_segments += 1
            tally.label_points += len(diffs)
            for i, v, la, lb, gap, floor in diffs:
                tie = gap <= floor
                print("%s: point %d (%r) ours %d, scikit-learn %d: weighted log probs %.3g apart"
                      " (%s)" % (where, i, v, la, lb, gap, "a near tie" if tie else "NOT A TIE"))
                if not tie:
                    problems.append("%s: label of point %d differs, not a near tie" % (where, i))


def test_matches_sklearn(ctx, report):
    _, _, version = peer.sklearn_or_skip()
    seed = peer.seed()
    print("random seed %d (set AA_TEST_SEED to reproduce)" % seed)
    rng = np.random.default_rng(seed)
    tally, problems = Tally(), []
    for config in CONFIGS:
        compare_config(ctx, rng, config, tally, problems)
    for line in tally.stops:
        print(line)
    report(tally.line("aa_gmm_fit (%s) vs scikit-learn %s, float64, seed %d"
                      % (ctx.backend, version, seed)))
    assert not problems, "seed %d:\n" % seed + "\n".join(problems[:40])
    assert tally.label_segments <= 0.001 * tally.fitted
    assert tally.ill_conditioned <= 0.005 * tally.fitted
    assert tally.fitted > 0.9 * tally.compared


def test_too_few_points_both_refuse(ctx):
    """Fewer points than components: scikit-learn raises ValueError, we return
    GMM_TOO_FEW_POINTS (initial parameters, labels -1)."""
    GaussianMixture, ConvergenceWarning, _ = peer.sklearn_or_skip()
    rng = np.random.default_rng(7)
    for k in range(1, MAX_COMPONENTS + 1):
        xs = [rng.normal(size=n).astype(np.float32) for n in range(k)]
        offsets = np.concatenate([[0], np.cumsum([len(x) for x in xs])])
        r = gmm_fit(ctx, np.concatenate(xs), offsets, num_components=k)
        assert (r.status == aa.GMM_TOO_FEW_POINTS).all() and (r.labels == -1).all()
        assert (r.iterations == 0).all() and (r.lower_bound == -np.inf).all()
        with pytest.raises(ValueError):  # no point: refused before any init is looked at
            GaussianMixture(k).fit(np.zeros((0, 1)))
        for x in xs[1:]:
            b = peer.sklearn_fit(GaussianMixture, ConvergenceWarning, x, k, "diag", 1e-3, 1e-6,
                                 100, (np.full(k, 1 / k), np.zeros(k), np.ones(k)))
            assert b.status == aa.GMM_TOO_FEW_POINTS, b.error


def test_one_point_one_component(ctx):
    """scikit-learn refuses fewer than 2 samples whatever K (ensure_min_samples=2)."""
    GaussianMixture, ConvergenceWarning, _ = peer.sklearn_or_skip()
    x = np.array([3.0], dtype=np.float32)
    b = peer.sklearn_fit(GaussianMixture, ConvergenceWarning, x, 1, "diag", 1e-3, 1e-6, 100,
                         peer.paa_init(x, 1))
    assert b.status == aa.GMM_TOO_FEW_POINTS
    assert gmm_fit(ctx, x, [0, 1], num_components=1).status[0] == aa.GMM_TOO_FEW_POINTS


def test_ill_defined_both_raise(ctx):
    """reg_covar 0 and components on copies of one value: every sum is exact, a variance
    is exactly 0, scikit-learn raises 'ill-defined empirical covariance', we return
    GMM_ILL_DEFINED."""
    GaussianMixture, ConvergenceWarning, _ = peer.sklearn_or_skip()
    two = np.array([1.0] * 32 + [1000.0] * 32, dtype=np.float32)
    for x, k in ((two, 2), (two[:32], 1)):
        for cov in ("diag", "full"):
            r = gmm_fit(ctx, x, [0, len(x)], num_components=k, reg_covar=0.0, covariance=cov)
            assert r.status.tolist() == [aa.GMM_ILL_DEFINED] and (r.labels == -1).all()
            assert np.isnan(r.log_density).all() and r.iterations.tolist() == [1]
            b = peer.sklearn_fit(GaussianMixture, ConvergenceWarning, x, k, cov, 1e-3, 0.0, 100,
                                 peer.paa_init(x, k))
            assert b.status == aa.GMM_ILL_DEFINED, b.error


def test_max_iter_zero(ctx):
    """max_iter 0 gives the initial parameters, and labels and densities from them.
    scikit-learn 1.9.1 cannot fit that with all three initial values given
    (AttributeError: covariances_ is only set by an M-step or the k-means init), so its
    predict() and score_samples() run on an estimator given the same parameters."""
    GaussianMixture, ConvergenceWarning, _ = peer.sklearn_or_skip()
    rng = np.random.default_rng(11)
    x = peer.random_points(rng, 50, "bimodal")
    w, mu, prec = peer.random_init(rng, x, 3)
    for cov in ("diag", "full"):
        r = gmm_fit(ctx, x, [0, 50], num_components=3, max_iter=0, covariance=cov,
                    init_weights=w[None], init_means=mu[None], init_precisions=prec[None])
        assert r.weights[0].tolist() == w.tolist() and r.means[0].tolist() == mu.tolist()
        np.testing.assert_allclose(r.variances[0], 1 / prec, rtol=1e-15)
        assert r.status[0] == aa.GMM_NOT_CONVERGED and r.iterations[0] == 0
        g = GaussianMixture(3, covariance_type=cov).fit(rng.normal(size=(10, 1)))  # any fit
        g.weights_, g.means_ = w, mu.reshape(3, 1)
        pc = np.sqrt(prec)
        g.precisions_cholesky_ = pc.reshape(3, 1) if cov == "diag" else pc.reshape(3, 1, 1)
        X = x.astype(np.float64).reshape(-1, 1)
        assert r.labels.tolist() == g.predict(X).tolist()
        np.testing.assert_allclose(r.log_density, g.score_samples(X), rtol=1e-12)


def compare_float32(ctx, xs, cov, tally, problems):
    """Our fits of xs with float32_input (scikit-learn's float32 arithmetic, on every
    backend) against scikit-learn given the float32 array, as PAAHead calls it; returns
    how many segments scikit-learn refused as ill-defined where we fit."""
    GaussianMixture, ConvergenceWarning, _ = peer.sklearn_or_skip()
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in xs])])
    r = gmm_fit(ctx, np.concatenate(xs), offsets, covariance=cov, float32_input=True)
    raised = 0
    for s, x in enumerate(xs):
        a = peer.ours(r, s, offsets[s], offsets[s + 1])
        b = peer.sklearn_fit(GaussianMixture, ConvergenceWarning, x, 2, cov, 1e-3, 1e-6, 100,
                             peer.paa_init(x, 2), x_dtype=np.float32, means_dtype=np.float32)
        tally.compared += 1
        if a.status == b.status and a.status not in peer.FITTED:
            tally.refused += 1
            continue
        if b.status == aa.GMM_ILL_DEFINED and a.status in peer.FITTED:
            raised += 1
            continue
        if a.status != b.status or a.n_iter != b.n_iter:
            tally.stops.append("%s segment %d: ours %d after %s, scikit-learn float32 %d after %s"
                               % (cov, s, a.status, a.n_iter, b.status, b.n_iter))
            if a.status not in peer.FITTED or b.status not in peer.FITTED:
                problems.append(tally.stops[-1])
            continue
        tally.fitted += 1
        errors = peer.value_errors(x, a, b, eps=np.finfo(np.float32).eps)
        tally.add_errors(errors)
        problems += ["%s segment %d: %s %.3g times the float32 tolerance" % (cov, s, n, q)
                     for n, (_, q, _) in errors.items() if q > 1]
        if (a.labels != b.labels).any():
            tally.label_segments += 1
            tally.label_points += int((a.labels != b.labels).sum())
    return raised


def test_float32_as_mmdetection_runs_it(ctx, report):
    """What mmdetection actually runs: PAAHead hands float32 losses, so X and means_init
    are float32 (weights and precisions float64). scikit-learn then squares X in float32
    ('diag': X**2 @ precisions; resp.T @ (X * X)) and stores 'full' covariances as
    float32; the rest promotes to float64. We run in double, so the two differ by
    float32 rounding: reported, and asserted against floors computed with float32's eps.
    On PAA-like losses (0..~6) a 'diag' component that collapses onto one point gets
    variance reg_covar +- x^2 * 6e-8 from scikit-learn (1e-6 +- 50 % and more), so its
    variance, the bound and that point's density differ a lot while labels, weights
    and means agree; where x^2 * 6e-8 exceeds reg_covar (losses of ~4 and more, far
    outliers) that variance can come out negative and scikit-learn raises
    'ill-defined' where we fit (counted)."""
    _, _, version = peer.sklearn_or_skip()
    seed = peer.seed()
    rng = np.random.default_rng(seed)
    losses, every = (Tally(), Tally())
    problems, raised = [], {"losses": 0, "every kind": 0}
    for cov in ("diag", "full"):
        paa = [peer.random_points(rng, int(rng.integers(2, 82)), "losses")
               for _ in range(SEGMENTS_PER_CONFIG)]
        raised["losses"] += compare_float32(ctx, paa, cov, losses, problems)
        raised["every kind"] += compare_float32(ctx, random_segments(rng, 2, SEGMENTS_PER_CONFIG),
                                                cov, every, problems)
    head = "aa_gmm_fit (%s) vs scikit-learn %s given float32 as mmdetection does, seed %d, " % (
        ctx.backend, version, seed)
    for name, tally in (("losses", losses), ("every kind", every)):
        report(tally.line(head + "%s segments" % name, raw=True)
               + "; scikit-learn raised 'ill-defined' where we fit: %d" % raised[name])
    assert not problems, "seed %d:\n" % seed + "\n".join(problems[:40])
    # float32_input follows scikit-learn's float32 arithmetic, so a 'diag' variance
    # that float32's x^2 error drives negative comes out negative here too: on PAA
    # losses no segment scikit-learn refuses is fitted (before float32_input: <= 2 %)
    assert raised["losses"] == 0
    assert losses.label_segments <= 0.01 * losses.fitted
    # loose: float32's x^2 moves a variance collapsed to reg_covar by up to ~x^2 * 6e-8
    # (so variances, bounds and densities there differ by O(1)); weights and means barely
    for name in ("weights", "means"):
        assert losses.worst[name][2] < 1e-4, (name, losses.worst[name])
    assert every.label_segments <= 0.01 * every.fitted
    assert len(every.stops) <= 0.05 * every.fitted and raised["every kind"] <= 0.1 * every.compared
