"""The named tuples results come in."""

from collections import namedtuple

Anchors = namedtuple("Anchors", ["boxes", "level_counts", "strides"])
Anchors.__doc__ = """One anchor (or point) set shared by every image, ordered by pyramid level.

boxes:        float32 (num_anchors, 4), x1,y1,x2,y2 (points are zero-size boxes x,y,x,y);
              host (NumPy) or device memory (a tensor on the context's device).
level_counts: int64 (num_levels,) host array, anchors per level, summing to num_anchors.
strides:      float32 (num_levels,) host array, or None; FCOS centre sampling needs it.
"""

Assignment = namedtuple("Assignment", ["gt_index", "overlap", "labels"])
Assignment.__doc__ = """An assigner's result, each field (num_images, num_anchors), image-major.

gt_index: int32. >= 0: index of the assigned GT within its image (the image's slice of
          gt_boxes, crowd GTs counted); -1 (NEGATIVE) negative; -2 (IGNORED) ignored.
overlap:  float32, or None when not asked for: max-IoU: the anchor's max IoU over the
          image's GTs (-1 where a crowd region ignores it, 0 without GTs); ATSS: IoU with
          the assigned GT for positives, -1e8 (ATSS_NO_OVERLAP) otherwise, 0 without GTs;
          FCOS: the centre-ness target of positives, 0 otherwise.
labels:   int32 label of the assigned GT, -1 otherwise; None unless labels were given.
"""

CandidateStats = namedtuple("CandidateStats", ["mean", "std"])
CandidateStats.__doc__ = """Per GT (num_gts,), float64: mean and unbiased std of the IoU over its
ATSS candidates; std is NaN with fewer than two candidates, both NaN with none."""

MmdetAssignment = namedtuple("MmdetAssignment", ["num_gts", "gt_inds", "max_overlaps", "labels"])
MmdetAssignment.__doc__ = """An assignment in mmdetection's ``AssignResult`` encoding, batched:
row i holds image i's ``AssignResult`` fields.

num_gts:      int64 (num_images,): the image's non-crowd GTs (mmdetection's num_gts).
gt_inds:      int64 (num_images, num_anchors): 0 negative, -1 ignored, k + 1 for the k-th
              (0-based) non-crowd GT of the image.
max_overlaps: float32 (num_images, num_anchors): the assignment's overlap (shared, not
              copied), or None.
labels:       int64 (num_images, num_anchors): label or -1, or None.
"""

GmmResult = namedtuple("GmmResult", ["weights", "means", "variances", "lower_bound", "iterations",
                                     "status", "labels", "log_density"])
GmmResult.__doc__ = """A batched Gaussian-mixture fit (scikit-learn's ``GaussianMixture`` per
segment): S segments, K components, N points in all.

weights, means, variances: float64 (S, K): ``weights_``, ``means_``, ``covariances_``
             (the initial values where no M-step ran: max_iter 0, too few points).
lower_bound: float64 (S,): ``lower_bound_`` (-inf where no iteration ran).
iterations:  int32 (S,): ``n_iter_``.
status:      int32 (S,): GMM_CONVERGED (``converged_``), GMM_NOT_CONVERGED (scikit-learn's
             ConvergenceWarning), GMM_ILL_DEFINED (a variance <= 0: scikit-learn raises),
             GMM_TOO_FEW_POINTS (fewer points than components: scikit-learn raises).
labels:      int32 (N,): ``predict()``, -1 in segments that were not fitted.
log_density: float64 (N,): ``score_samples()``, NaN in segments that were not fitted.
"""

Stage = namedtuple("Stage", ["kernel", "ms", "bytes"])
Stage.__doc__ = """One kernel launch of a profiled call (experimental, ``aa_stage_time``).

kernel: the kernel's name.
ms:     its time in milliseconds.
bytes:  the least global-memory bytes it moves (arrays read or written in full counted
        once, what depends on the data left out: a lower bound); bytes / ms against the
        device's copy bandwidth says how near the launch runs to the memory's limit.
"""
