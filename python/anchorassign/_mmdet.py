"""Converting an :class:`Assignment` to mmdetection's ``AssignResult`` encoding.

anchorassign (docs/semantics.md, "Encoding"): ``gt_index`` is the 0-based index of
the GT in the image's slice of ``gt_boxes``, crowd GTs included; -1 negative; -2
ignored. mmdetection receives crowd boxes separately (``gt_instances_ignore``), so
its ``gt_inds`` count the non-crowd GTs only: 0 negative, -1 ignored, k + 1 for the
k-th non-crowd GT. Converting is a lookup through the running count of non-crowd GTs;
it runs where the arrays are (NumPy, CuPy or PyTorch, CUDA included) without a host
synchronisation.
"""

from . import _arrays as A
from ._errors import argument_error
from ._types import MmdetAssignment


def _numpy_like(xp, gi, off, ignore, total):
    n_img = off.shape[0] - 1
    starts = xp.asarray(off[:-1])
    if ignore is None:
        num_gts = xp.asarray(off[1:] - off[:-1])
        rank = gi.astype(xp.int64) + 1
    else:
        keep = (ignore == 0).astype(xp.int64)
        # cs[j] = non-crowd GTs among the first j GTs; one extra entry so that the
        # (unused) index of a negative anchor in a trailing empty image stays in range
        cs = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(keep),
                             xp.zeros(1, dtype=xp.int64)])
        base = cs[starts]
        num_gts = cs[xp.asarray(off[1:])] - base
        glob = xp.maximum(gi, 0).astype(xp.int64) + starts.reshape(n_img, 1)
        rank = cs[glob + 1] - base.reshape(n_img, 1)
    gt_inds = xp.where(gi >= 0, rank, xp.where(gi == -1, 0, -1)).astype(xp.int64)
    return num_gts.astype(xp.int64), gt_inds


def _torch(torch, gi, off, ignore, total):
    n_img = off.shape[0] - 1
    dev = gi.device
    host = torch.from_numpy(off)
    if dev.type == "cuda":
        host = host.pin_memory()
    offs = host.to(dev, non_blocking=True)
    starts = offs[:-1]
    if ignore is None:
        num_gts = offs[1:] - starts
        rank = gi.long() + 1
    else:
        keep = (ignore == 0).long()
        zero = torch.zeros(1, dtype=torch.int64, device=dev)
        cs = torch.cat([zero, torch.cumsum(keep, 0), zero])
        base = cs[starts]
        num_gts = cs[offs[1:]] - base
        glob = gi.long().clamp(min=0) + starts.view(n_img, 1)
        rank = cs[glob + 1] - base.view(n_img, 1)
    other = torch.full_like(gi, -1, dtype=torch.int64).masked_fill_(gi == -1, 0)
    return num_gts, torch.where(gi >= 0, rank, other)


def to_mmdet(assignment, offsets, ignore=None):
    """Converts an :class:`Assignment` to mmdetection's encoding.

    assignment: the result of an assigner (any family: NumPy, CuPy, torch).
    offsets:    the call's offsets (host, num_images + 1 integers).
    ignore:     the call's ignore (crowd) flags, or None if it had none: needed to
                number the non-crowd GTs as mmdetection does.
    Returns a :class:`MmdetAssignment` (num_gts, gt_inds int64, max_overlaps, labels
    int64), in the family and place of the assignment.
    """
    gi = assignment.gt_index
    gv = A.view(gi, "assignment.gt_index")
    off = A.host_ints(offsets, "offsets")
    if off.shape[0] < 1:
        raise argument_error("offsets: empty; expected num_images + 1 entries")
    total = int(off[-1])
    A.check(gv, "assignment.gt_index", ("int32",), (off.shape[0] - 1, None))
    if ignore is not None:
        iv = A.check(A.view(ignore, "ignore"), "ignore", ("uint8", "bool"), (total,))
        if (iv.device is None) != (gv.device is None):
            raise argument_error("ignore: in %s memory, but the assignment is in %s memory" %
                                 (iv.where(), gv.where()))
    labels = assignment.labels
    if A.is_torch(gi):
        num_gts, gt_inds = _torch(A.torch_module(), gi, off, ignore, total)
        labels = None if labels is None else labels.long()
    else:
        if gv.kind == "numpy":
            import numpy as xp
        else:
            import cupy as xp
        num_gts, gt_inds = _numpy_like(xp, gi, off, ignore, total)
        labels = None if labels is None else labels.astype(xp.int64)
    return MmdetAssignment(num_gts, gt_inds, assignment.overlap, labels)
