"""Context.lada: lightweight anchor dynamic assignment (``aa_assign_lada``), from head
outputs as PAA takes them (the head-output checks are _paa's)."""

import ctypes

from . import _paa
from . import _params as P
from ._errors import argument_error


def params(overrides):
    """The aa_lada_params of a call: the defaults and keyword overrides."""
    try:
        return P.lada(**overrides)
    except TypeError as exc:
        raise argument_error("params: %s" % exc) from None


def assign(ctx, anchors, gt_boxes, offsets, cls_logits, bbox_deltas, ignore, labels,
           device_offsets, overlap, overrides):
    """See :meth:`Context.lada`."""
    p = params(overrides)
    if labels is None:
        raise argument_error("labels: required by LADA (its loss includes the focal loss of "
                             "each GT's class): int32 (num_gts,)")
    with ctx._lock:
        ctx._open_handle()
        cv, dv = _paa._head_views(cls_logits, bbox_deltas)
        b = ctx._batch(anchors, gt_boxes, offsets, ignore, labels, device_offsets,
                       extra=[("cls_logits", cv), ("bbox_deltas", dv)])
        head = _paa._head(b, cv, dv)
        result, out = ctx._assignment(b, overlap)
        b.keep.append(p)
        ctx._run(b, "aa_assign_lada", ctypes.addressof(p), ctypes.addressof(b.anchors),
                 ctypes.addressof(b.gts), ctypes.addressof(head), ctypes.addressof(out), None, 0)
        return result
