"""Anchor and point generation (``aa_anchor_count``, ``aa_anchor_generate``,
``aa_point_generate``).

The library generates on the host; ``device=`` then places the boxes in a
``torch.Tensor`` on that device (one copy, made once per canvas size: keep the result
for the training run).
"""

import ctypes

import numpy as np

from . import _arrays as A
from . import _library as L
from . import _params as P
from ._errors import argument_error
from ._context import Context
from ._types import Anchors

_DEFAULT_STRIDES = (8.0, 16.0, 32.0, 64.0, 128.0)


def _canvas(height, width):
    return (P.as_int(height, "height"), P.as_int(width, "width"))


def _place(boxes, device):
    if device is None:
        return boxes
    torch = A.torch_module()
    if torch is None:
        try:
            import torch
        except ImportError:
            raise argument_error("device: %r needs PyTorch, which is not installed"
                                 % (device,)) from None
    return torch.from_numpy(boxes).to(device)


def anchor_counts(height, width, **params):
    """Anchors per level for a (padded) canvas of height x width (``aa_anchor_count``):
    ``ceil(height/stride) * ceil(width/stride) * anchors per location``. Takes the
    parameters of :func:`anchors`. Returns int64 (num_levels,)."""
    h, w = _canvas(height, width)
    p = P.anchor(**params)
    counts = np.zeros(L.AA_MAX_LEVELS, dtype=np.int64)
    total = ctypes.c_int64()
    with Context("cpu") as ctx:
        handle = ctx._open_handle()
        ctx._check(handle, L.library().aa_anchor_count(handle, ctypes.addressof(p), h, w,
                                                       counts.ctypes.data, ctypes.byref(total)))
    return counts[:p.num_levels].copy()


def anchors(height, width, *, strides=None, ratios=None, scales=None, octave_base_scale=None,
            scales_per_octave=None, base_sizes=None, center_offset=None, device=None):
    """mmdetection's ``AnchorGenerator`` (scale-major) for a height x width canvas.

    Parameters (None keeps the library default, RetinaNet's): strides (8, 16, 32, 64,
    128); ratios (0.5, 1, 2) (h/w, up to 8); scales None (explicit scales, up to 8) or
    octave_base_scale 4 with scales_per_octave 3; base_sizes the strides; center_offset 0.
    ATSS uses ratios=(1.0,), octave_base_scale=8, scales_per_octave=1.

    Order: level, row (y), column (x), ratio, scale. Returns an :class:`Anchors`:
    float32 (num_anchors, 4) boxes (NumPy, or a torch tensor on ``device``), int64 level
    counts and float32 strides (NumPy, host).
    """
    h, w = _canvas(height, width)
    p = P.anchor(strides, ratios, scales, octave_base_scale, scales_per_octave, base_sizes,
                 center_offset)
    lib = L.library()
    counts = np.zeros(L.AA_MAX_LEVELS, dtype=np.int64)
    total = ctypes.c_int64()
    with Context("cpu") as ctx:
        handle = ctx._open_handle()
        ctx._check(handle, lib.aa_anchor_count(handle, ctypes.addressof(p), h, w,
                                               counts.ctypes.data, ctypes.byref(total)))
        boxes = np.empty((max(total.value, 1), 4), dtype=np.float32)[:total.value]
        ctx._check(handle, lib.aa_anchor_generate(handle, ctypes.addressof(p), h, w,
                                                  boxes.ctypes.data, total.value))
    levels = p.num_levels
    return Anchors(_place(boxes, device), counts[:levels].copy(),
                   np.array(p.strides[:levels], dtype=np.float32))


def points(height, width, *, strides=_DEFAULT_STRIDES, offset=0.5, device=None):
    """mmdetection's ``MlvlPointGenerator``: one point per location,
    ``((ix + offset) * s, (iy + offset) * s)``, row by row, as zero-size boxes
    (x, y, x, y) so that a point set is an anchor set. FCOS: offset 0.5 (default),
    strides (8, 16, 32, 64, 128). Returns an :class:`Anchors` as :func:`anchors`."""
    h, w = _canvas(height, width)
    s = np.array(P.as_floats(strides, "strides", L.AA_MAX_LEVELS), dtype=np.float32)
    off = P.as_float(offset, "offset")
    lib = L.library()
    counts = np.zeros(s.shape[0], dtype=np.int64)
    total = ctypes.c_int64()
    with Context("cpu") as ctx:
        handle = ctx._open_handle()
        ctx._check(handle, lib.aa_point_generate(handle, s.shape[0], s.ctypes.data, off, h, w,
                                                 None, 0, counts.ctypes.data, ctypes.byref(total)))
        boxes = np.empty((max(total.value, 1), 4), dtype=np.float32)[:total.value]
        ctx._check(handle, lib.aa_point_generate(handle, s.shape[0], s.ctypes.data, off, h, w,
                                                 boxes.ctypes.data, total.value,
                                                 counts.ctypes.data, ctypes.byref(total)))
    return Anchors(_place(boxes, device), counts, s)
