"""anchorassign: anchor (label) assignment for dense object detectors.

A thin ctypes binding over the C library ``libanchorassign`` (no algorithm is
implemented in Python): for every image of a batch and every anchor, which
ground-truth box (GT) the anchor learns from, or that it is negative or ignored,
following mmdetection 3.x (``docs/semantics.md`` in the repository gives every rule).

    import numpy as np, anchorassign as aa

    anchors = aa.anchors(800, 1344, ratios=(1.0,), octave_base_scale=8,
                         scales_per_octave=1)               # ATSS's 22,400 anchors
    gt_boxes = np.array([[100, 120, 300, 400], [500, 80, 560, 150],      # image 0
                         [0, 0, 400, 300], [600, 300, 900, 700]],        # image 1
                        dtype=np.float32)
    offsets = [0, 2, 4]                      # image i owns gt_boxes[offsets[i]:offsets[i+1]]
    crowd = np.array([0, 0, 1, 0], dtype=np.uint8)
    with aa.Context("cpu") as ctx:           # or "opencl", "cuda", "auto"
        r = ctx.atss(anchors, gt_boxes, offsets, ignore=crowd)
    r.gt_index    # int32 (2, 22400): GT index within the image, -1 negative, -2 ignored
    mm = aa.to_mmdet(r, offsets, ignore=crowd)   # mmdetection's gt_inds / max_overlaps

What is here (the C API, one to one):

* :class:`Context` (backends "cpu", "opencl", "cuda", "auto"; ``close()`` and
  ``with``): :meth:`~Context.max_iou`, :meth:`~Context.atss`, :meth:`~Context.fcos`,
  :meth:`~Context.overlaps`, :meth:`~Context.topk_nearest`,
  :meth:`~Context.candidate_iou_stats`, :meth:`~Context.gmm_fit` (batched 1-D
  Gaussian-mixture EM, scikit-learn's semantics), :meth:`~Context.paa` (PAA from head
  outputs, float32/float16/bfloat16; CPU backend only so far),
  :meth:`~Context.paa_costs`, :meth:`~Context.assign_paa_costs` (PAA in two steps,
  the second with the caller's own costs), :meth:`~Context.lada` (LADA from head
  outputs, every backend), :meth:`~Context.workspace_size`,
  :meth:`~Context.reserve`;
* :func:`anchors`, :func:`anchor_counts`, :func:`points` (generation);
* :func:`to_mmdet` (mmdetection's ``AssignResult`` encoding);
* :class:`Error` (``.status``, a :class:`Status`, and ``.message``);
* results as named tuples: :class:`Assignment`, :class:`Anchors`,
  :class:`CandidateStats`, :class:`MmdetAssignment`, :class:`GmmResult` (per-segment
  statuses :data:`GMM_CONVERGED`, :data:`GMM_NOT_CONVERGED`, :data:`GMM_ILL_DEFINED`,
  :data:`GMM_TOO_FEW_POINTS`).

Not here yet: the LADA assigner. It does not exist in the C library yet, and the
binding will expose it when it does.

Arrays: PyTorch tensors, NumPy arrays and anything exposing DLPack,
``__cuda_array_interface__`` or ``__array_interface__`` are read in place, never
copied; boxes are float32 (n, 4), ignore flags uint8 or bool, labels int32, all
C-contiguous; ``offsets``, ``level_counts`` and ``strides`` are small host values (any
integer sequence). Each wrong dtype, shape, device or layout raises :class:`Error`
naming the argument. With CUDA tensors a ``Context("cuda")`` runs on the tensors'
device and on PyTorch's current stream, returns without waiting for the GPU, and
returns tensors on that device. See :class:`Context` for memory, streams and threads.

Threads: a :class:`Context` serialises its own calls with a lock (the C library
allows one thread at a time per context); use one Context per thread to run in
parallel. The module-level functions are thread-safe.

The shared library is found through ``ANCHORASSIGN_LIBRARY``, the package directory,
the repository's build trees, then the system (:func:`library_path` says which).
"""

from ._errors import Error, Status
from ._library import AA_ATSS_NO_OVERLAP as ATSS_NO_OVERLAP
from ._library import AA_IGNORED as IGNORED
from ._library import AA_NEGATIVE as NEGATIVE
from ._library import GMM_CONVERGED, GMM_ILL_DEFINED, GMM_NOT_CONVERGED, GMM_TOO_FEW_POINTS
from ._library import library_path
from ._types import Anchors, Assignment, CandidateStats, GmmResult, MmdetAssignment, Stage
from ._context import Context
from ._generate import anchor_counts, anchors, points
from ._mmdet import to_mmdet

__version__ = "0.1.0"


def library_version():
    """The version of the C library actually loaded, e.g. "0.1.0"."""
    from ._library import library
    return library().aa_version_string().decode()


__all__ = [
    "Anchors", "Assignment", "ATSS_NO_OVERLAP", "CandidateStats", "Context", "Error",
    "GMM_CONVERGED", "GMM_ILL_DEFINED", "GMM_NOT_CONVERGED", "GMM_TOO_FEW_POINTS", "GmmResult",
    "IGNORED", "MmdetAssignment", "NEGATIVE", "Status", "anchor_counts", "anchors",
    "library_path", "library_version", "points", "Stage", "to_mmdet",
]
