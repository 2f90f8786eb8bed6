"""Context.gmm_fit: the binding of aa_gmm_fit, on the CPU reference and on OpenCL
(skipped there, with the reason, while aa_gmm_fit answers AA_ERR_NOT_SUPPORTED).
The comparison with scikit-learn itself is test_gmm_sklearn.py."""

import numpy as np
import pytest

import anchorassign as aa
from anchorassign import Status
from gmm_peer import gmm_fit
from raises import raises

f32 = np.float32
CLUSTERS = np.array([0, 0.1, -0.1, 0.05, 10, 10.1, 9.9, 10.05, 9.95, 10.02], dtype=f32)


def test_two_clusters(ctx):
    r = gmm_fit(ctx, CLUSTERS, [0, 10])
    assert isinstance(r, aa.GmmResult)
    lo, hi = CLUSTERS[:4].astype(np.float64), CLUSTERS[4:].astype(np.float64)
    np.testing.assert_allclose(r.weights, [[0.4, 0.6]], rtol=1e-12)
    np.testing.assert_allclose(r.means, [[lo.mean(), hi.mean()]], rtol=1e-9)
    np.testing.assert_allclose(r.variances, [[lo.var() + 1e-6, hi.var() + 1e-6]], rtol=1e-9)
    assert r.status.tolist() == [aa.GMM_CONVERGED]
    assert r.labels.tolist() == [0] * 4 + [1] * 6
    assert r.weights.dtype == np.float64 and r.iterations.dtype == np.int32
    assert r.labels.dtype == np.int32 and r.log_density.shape == (10,)
    assert r.lower_bound.shape == (1,) and np.isfinite(r.lower_bound).all()


def test_shapes_statuses_and_batching(ctx):
    x = np.concatenate([CLUSTERS, [7.0], CLUSTERS[::-1]]).astype(f32)
    off = [0, 10, 10, 11, 21]                    # an empty and a one-point segment
    r = gmm_fit(ctx, x, off, num_components=3, covariance="full")
    assert r.means.shape == (4, 3) and r.status.shape == (4,) and r.labels.shape == (21,)
    assert r.status[1] == aa.GMM_TOO_FEW_POINTS and r.status[2] == aa.GMM_TOO_FEW_POINTS
    assert r.labels[10] == -1 and np.isnan(r.log_density[10])
    assert r.iterations[1] == 0 and r.lower_bound[1] == -np.inf
    # each segment alone gives the same, bit for bit
    for s in (0, 3):
        one = gmm_fit(ctx, x[off[s]:off[s + 1]], [0, off[s + 1] - off[s]], num_components=3,
                      covariance="full")
        for name in aa.GmmResult._fields:
            whole = getattr(r, name)
            part = whole[off[s]:off[s + 1]] if name in ("labels", "log_density") else whole[s:s + 1]
            assert getattr(one, name).tobytes() == part.tobytes(), name


def test_given_init_and_max_iter_zero(ctx):
    w = np.array([[0.25, 0.75]])
    mu = np.array([[1.0, 9.0]])
    prec = np.array([[4.0, 0.5]])
    r = gmm_fit(ctx, CLUSTERS.reshape(-1, 1), [0, 10], max_iter=0, init_weights=w, init_means=mu,
                init_precisions=prec)
    assert r.weights.tolist() == w.tolist() and r.means.tolist() == mu.tolist()
    np.testing.assert_allclose(r.variances, 1 / prec, rtol=1e-15)
    assert r.iterations.tolist() == [0] and r.status.tolist() == [aa.GMM_NOT_CONVERGED]
    assert r.lower_bound.tolist() == [-np.inf]
    assert r.labels.tolist() == [0] * 4 + [1] * 6


def test_empty(ctx):
    r = gmm_fit(ctx, np.zeros(0, f32), [0])
    assert r.weights.shape == (0, 2) and r.labels.shape == (0,)


def test_torch_in_torch_out(ctx):
    torch = pytest.importorskip("torch")
    r = gmm_fit(ctx, torch.from_numpy(CLUSTERS), torch.tensor([0, 10]))
    assert all(isinstance(a, torch.Tensor) for a in r)
    assert r.labels.dtype == torch.int32 and r.means.dtype == torch.float64
    ref = gmm_fit(ctx, CLUSTERS, [0, 10])
    assert r.means.numpy().tobytes() == ref.means.tobytes()


def test_bad_arguments(ctx):
    x, off = CLUSTERS, [0, 10]
    with raises(Status.INVALID_ARGUMENT, "points", "float32", "float64"):
        ctx.gmm_fit(x.astype(np.float64), off)
    with raises(Status.INVALID_ARGUMENT, "points", "shape"):
        ctx.gmm_fit(x.reshape(2, 5), off)
    with raises(Status.INVALID_ARGUMENT, "points", "C-contiguous"):
        ctx.gmm_fit(np.repeat(x, 2)[::2], off)
    with raises(Status.INVALID_ARGUMENT, "offsets", "last entry", "10"):
        ctx.gmm_fit(x, [0, 9])
    with raises(Status.INVALID_ARGUMENT, "offsets", "empty"):
        ctx.gmm_fit(x, [])
    with raises(Status.INVALID_ARGUMENT, "num_components", "5"):
        ctx.gmm_fit(x, off, num_components=5)
    with raises(Status.INVALID_ARGUMENT, "covariance", "tied"):
        ctx.gmm_fit(x, off, covariance="tied")
    with raises(Status.INVALID_ARGUMENT, "tol"):
        ctx.gmm_fit(x, off, tol="small")
    ones = np.ones((1, 2))
    with raises(Status.INVALID_ARGUMENT, "init_weights", "init_precisions", "all three"):
        ctx.gmm_fit(x, off, init_means=ones)
    with raises(Status.INVALID_ARGUMENT, "init_means", "shape", "(1, 2)"):
        ctx.gmm_fit(x, off, init_weights=ones / 2, init_means=np.ones((2, 2)), init_precisions=ones)
    with raises(Status.INVALID_ARGUMENT, "init_precisions", "float64"):
        ctx.gmm_fit(x, off, init_weights=ones / 2, init_means=ones,
                    init_precisions=ones.astype(np.float32))


def test_bad_values_found_by_the_library(ctx):
    x, off, ones = CLUSTERS.copy(), [0, 10], np.ones((1, 2))
    with raises(Status.INVALID_ARGUMENT, "params.max_iter", "-1"):
        ctx.gmm_fit(x, off, max_iter=-1)
    with raises(Status.INVALID_ARGUMENT, "params.tol"):
        ctx.gmm_fit(x, off, tol=float("nan"))
    with raises(Status.INVALID_ARGUMENT, "params.reg_covar"):
        ctx.gmm_fit(x, off, reg_covar=-1)
    with raises(Status.INVALID_ARGUMENT, "params.init_weights[0..1]", "sum to 0.8"):
        ctx.gmm_fit(x, off, init_weights=ones * 0.4, init_means=ones, init_precisions=ones)
    with raises(Status.INVALID_ARGUMENT, "params.init_precisions[1]"):
        ctx.gmm_fit(x, off, init_weights=ones / 2, init_means=ones,
                    init_precisions=np.array([[1.0, 0.0]]))
    with raises(Status.INVALID_ARGUMENT, "segments.offsets[2]", "less than"):
        ctx.gmm_fit(x, [0, 11, 10])
    x[3] = np.inf
    with raises(Status.INVALID_ARGUMENT, "segments.points[3]"):
        ctx.gmm_fit(x, off)


def test_status_constants():
    assert (aa.GMM_CONVERGED, aa.GMM_NOT_CONVERGED, aa.GMM_ILL_DEFINED,
            aa.GMM_TOO_FEW_POINTS) == (1, 0, -1, -2)
