"""Context.paa, paa_costs, assign_paa_costs: probabilistic anchor assignment
(``aa_assign_paa``, ``aa_paa_costs``, ``aa_assign_paa_costs``)."""

import ctypes

from . import _arrays as A
from . import _library as L
from . import _params as P
from ._errors import argument_error


def _ptr(v):
    from ._context import _ptr as ptr  # the Context's own helper (no import cycle)
    return ptr(v)

_HEAD_DTYPES = ("float32", "float16", "bfloat16")


def params(variant, overrides):
    """The aa_paa_params of a call: the preset ``variant`` and keyword overrides."""
    try:
        return P.paa(variant, **overrides)
    except TypeError as exc:
        raise argument_error("params: %s" % exc) from None


def _require_labels(labels):
    if labels is None:
        raise argument_error("labels: required by PAA (its cost is the focal loss of each GT's "
                             "class): int32 (num_gts,)")


def _head_views(cls_logits, bbox_deltas):
    cv = A.view(cls_logits, "cls_logits")
    A.check(cv, "cls_logits", _HEAD_DTYPES, (None, None, None),
            " (bfloat16: a torch.bfloat16 tensor)")
    dv = A.view(bbox_deltas, "bbox_deltas")
    if dv.dtype != cv.dtype:
        raise argument_error("bbox_deltas: dtype %s, but cls_logits is %s; both head outputs must "
                             "have one dtype" % (dv.dtype, cv.dtype))
    A.check(dv, "bbox_deltas", (cv.dtype,), (None, None, 4))
    return cv, dv


def _head(b, cv, dv):
    """Checks the head outputs' shapes against the batch; the aa_head_outputs."""
    A.check(cv, "cls_logits", (cv.dtype,), (b.num_images, b.num_anchors, None))
    A.check(dv, "bbox_deltas", (dv.dtype,), (b.num_images, b.num_anchors, 4))
    if cv.shape[2] < 1:
        raise argument_error("cls_logits: shape %s has no classes (shape[2] is the number of "
                             "classes)" % (tuple(cv.shape),))
    head = L.HeadOutputs(_ptr(cv), _ptr(dv), L.DTYPES[cv.dtype],
                         P.as_int(cv.shape[2], "cls_logits.shape[2] (num_classes)", 1))
    b.keep += [cv, dv, head]
    return head


def _rows_view(x, name, dtype, hint=""):
    v = A.view(x, name)
    A.check(v, name, (dtype,), (None, None), hint)
    return v


def assign(ctx, anchors, gt_boxes, offsets, cls_logits, bbox_deltas, ignore, labels,
           device_offsets, overlap, variant, overrides):
    """See :meth:`Context.paa`."""
    p = params(variant, overrides)
    _require_labels(labels)
    with ctx._lock:
        ctx._open_handle()
        cv, dv = _head_views(cls_logits, bbox_deltas)
        b = ctx._batch(anchors, gt_boxes, offsets, ignore, labels, device_offsets,
                       extra=[("cls_logits", cv), ("bbox_deltas", dv)])
        head = _head(b, cv, dv)
        result, out = ctx._assignment(b, overlap)
        b.keep.append(p)
        ctx._run(b, "aa_assign_paa", ctypes.addressof(p), ctypes.addressof(b.anchors),
                 ctypes.addressof(b.gts), ctypes.addressof(head), ctypes.addressof(out), None, 0)
        return result


def costs(ctx, anchors, gt_boxes, offsets, pre_gt_index, cls_logits, bbox_deltas, ignore, labels,
          device_offsets, variant, overrides):
    """See :meth:`Context.paa_costs`."""
    p = params(variant, overrides)
    _require_labels(labels)
    with ctx._lock:
        ctx._open_handle()
        pv = _rows_view(pre_gt_index, "pre_gt_index", "int32",
                        " (the gt_index of a max_iou pre-assignment)")
        cv, dv = _head_views(cls_logits, bbox_deltas)
        b = ctx._batch(anchors, gt_boxes, offsets, ignore, labels, device_offsets,
                       extra=[("pre_gt_index", pv), ("cls_logits", cv), ("bbox_deltas", dv)])
        A.check(pv, "pre_gt_index", ("int32",), (b.num_images, b.num_anchors))
        head = _head(b, cv, dv)
        out = b.empty((b.num_images, b.num_anchors), "float32")
        b.keep += [p, pv]
        ctx._run(b, "aa_paa_costs", ctypes.addressof(p), ctypes.addressof(b.anchors),
                 ctypes.addressof(b.gts), ctypes.addressof(head), _ptr(pv), A.address(out))
        return out


def assign_costs(ctx, anchors, gt_boxes, offsets, pre_gt_index, cost, ignore, labels,
                 device_offsets, overlap, variant, overrides):
    """See :meth:`Context.assign_paa_costs`."""
    p = params(variant, overrides)
    with ctx._lock:
        ctx._open_handle()
        pv = _rows_view(pre_gt_index, "pre_gt_index", "int32",
                        " (the gt_index of a max_iou pre-assignment)")
        kv = _rows_view(cost, "costs", "float32")
        b = ctx._batch(anchors, gt_boxes, offsets, ignore, labels, device_offsets,
                       extra=[("pre_gt_index", pv), ("costs", kv)])
        A.check(pv, "pre_gt_index", ("int32",), (b.num_images, b.num_anchors))
        A.check(kv, "costs", ("float32",), (b.num_images, b.num_anchors))
        result, out = ctx._assignment(b, overlap)
        b.keep += [p, pv, kv]
        ctx._run(b, "aa_assign_paa_costs", ctypes.addressof(p), ctypes.addressof(b.anchors),
                 ctypes.addressof(b.gts), _ptr(pv), _ptr(kv), ctypes.addressof(out), None, 0)
        return result
