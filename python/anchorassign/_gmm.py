"""Context.gmm_fit: the batched 1-D Gaussian-mixture EM (``aa_gmm_fit``)."""

import ctypes

from . import _arrays as A
from . import _library as L
from . import _params as P
from ._errors import argument_error
from ._types import GmmResult

_INIT_NAMES = ("init_weights", "init_means", "init_precisions")


def _points_view(points):
    pv = A.view(points, "points")
    if len(pv.shape) == 2 and pv.shape[1] == 1:  # scikit-learn's (n_samples, 1) layout
        pv.shape = (pv.shape[0],)
    return A.check(pv, "points", ("float32",), (None,))


def _init_views(inits, num_segments, k):
    given = [x is not None for x in inits]
    if not any(given):
        return None
    if not all(given):
        missing = [n for n, g in zip(_INIT_NAMES, given) if not g]
        raise argument_error("%s: None, but the other initial values are given; give all three "
                             "of init_weights, init_means, init_precisions, or none (the "
                             "PAA init)" % ", ".join(missing))
    return [A.check(A.view(x, n), n, ("float64",), (num_segments, k),
                    " (the initial values are float64, one row per segment)")
            for x, n in zip(inits, _INIT_NAMES)]


def fit(ctx, points, offsets, num_components, max_iter, tol, reg_covar, covariance,
        init_weights, init_means, init_precisions, device_offsets, float32_input=False):
    """See :meth:`Context.gmm_fit`."""
    from ._context import _Batch, _ptr  # the Context's own helpers (no import cycle)

    p = P.gmm(num_components, max_iter, tol, reg_covar, covariance, float32_input)
    k = p.num_components
    with ctx._lock:
        ctx._open_handle()
        b = _Batch()
        pv = _points_view(points)
        n = pv.shape[0]
        off = A.host_ints(offsets, "offsets")
        if off.shape[0] < 1:
            raise argument_error("offsets: empty; expected num_segments + 1 entries, starting at 0")
        if off[-1] != n:
            raise argument_error("offsets: the last entry (%d) must equal the number of points, "
                                 "points.shape[0] (%d)" % (off[-1], n))
        s = off.shape[0] - 1
        iv = _init_views((init_weights, init_means, init_precisions), s, k)
        ctx._place(b, [("points", pv)] + list(zip(_INIT_NAMES, iv or (None,) * 3)))

        dov = None
        if b.native_cuda:
            if device_offsets is not None:
                dov = A.check(A.view(device_offsets, "device_offsets"), "device_offsets",
                              ("int64",), (s + 1,))
                ctx._place_check("device_offsets", dov, b)
            else:
                dov = ctx._upload_offsets(off, b)
        if iv:
            p.init = L.GMM_INIT_GIVEN
            p.init_weights, p.init_means, p.init_precisions = (_ptr(v) for v in iv)
        seg = L.GmmSegments(_ptr(pv), off.ctypes.data, s, _ptr(dov))

        out = GmmResult(b.empty((s, k), "float64"), b.empty((s, k), "float64"),
                        b.empty((s, k), "float64"), b.empty((s,), "float64"),
                        b.empty((s,), "int32"), b.empty((s,), "int32"),
                        b.empty((n,), "int32"), b.empty((n,), "float64"))
        res = L.GmmResult(*(A.address(a) for a in out))
        b.keep += [pv, off, iv, dov, p, seg, res]
        ctx._run(b, "aa_gmm_fit", ctypes.addressof(p), ctypes.addressof(seg),
                 ctypes.addressof(res), None, 0)
        return out
