"""Context.paa, paa_costs and assign_paa_costs: the binding of aa_assign_paa,
aa_paa_costs and aa_assign_paa_costs, on the CPU reference and (test_opencl_equals_cpu) on the
OpenCL backend against it."""

import math

import numpy as np
import pytest

import anchorassign as aa
from anchorassign import Status
from conftest import random_batch, same_bits
from raises import raises

f32 = np.float32
NUM_CLASSES = 80
# the pre-assignment of both presets (aa_paa_params.pre)
PRE = dict(pos_iou_thr=0.1, neg_iou_thr=0.1, min_pos_iou=0.0, ignore_iof_thr=-1)


def head(seed, num_images, num_anchors, num_classes=NUM_CLASSES, dtype=f32):
    rng = np.random.default_rng(seed)
    cls = rng.normal(-2.0, 1.5, size=(num_images, num_anchors, num_classes)).astype(dtype)
    deltas = rng.normal(0.0, 0.4, size=(num_images, num_anchors, 4)).astype(dtype)
    return cls, deltas


def batch(seed, **kw):
    anchors, gt, off, ignore, labels = random_batch(seed, height=128, width=160, **kw)
    cls, deltas = head(seed + 100, len(off) - 1, anchors.boxes.shape[0])
    return anchors, gt, off, ignore, labels, cls, deltas


def composed(ctx, anchors, gt, off, ignore, labels, cls, deltas, variant="mmdet", **params):
    """max_iou (PAA's pre-assignment) -> paa_costs -> assign_paa_costs."""
    pre_params = dict(PRE)
    for k in list(params):
        if k in PRE:
            pre_params[k] = params[k]
    pre = ctx.max_iou(anchors, gt, off, ignore=ignore, labels=labels, overlap=False,
                      **pre_params)
    costs = ctx.paa_costs(anchors, gt, off, pre.gt_index, cls, deltas, labels=labels,
                          ignore=ignore, variant=variant, **params)
    r = ctx.assign_paa_costs(anchors, gt, off, pre.gt_index, costs, labels=labels,
                             ignore=ignore, variant=variant, **params)
    return pre, costs, r


def assert_same(a, b):
    assert isinstance(a, aa.Assignment) and isinstance(b, aa.Assignment)
    for name, x, y in zip(aa.Assignment._fields, a, b):
        assert same_bits(x, y), name


# ---------------------------------------------------------------- composition
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("variant,params", [("mmdet", {}), ("original", {}),
                                            ("mmdet", {"topk": 3, "covariance": "full"}),
                                            ("original", {"giou_weight": 2.0, "tol": 1e-5})])
def test_compose_random(cpu, seed, variant, params):
    anchors, gt, off, ignore, labels, cls, deltas = batch(seed)
    r = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore, variant=variant,
                **params)
    pre, costs, c = composed(cpu, anchors, gt, off, ignore, labels, cls, deltas, variant,
                             **params)
    assert_same(r, c)
    assert same_bits(r.overlap, costs)
    assert r.gt_index.dtype == np.int32 and r.overlap.dtype == np.float32
    assert r.labels.dtype == np.int32 and costs.dtype == np.float32
    assert r.gt_index.shape == (len(off) - 1, anchors.boxes.shape[0])
    # costs exactly where the pre-assignment names a GT; positives among those
    assigned = pre.gt_index >= 0
    assert np.isfinite(costs[assigned]).all() and np.isposinf(costs[~assigned]).all()
    pos = r.gt_index >= 0
    assert (pre.gt_index[pos] == r.gt_index[pos]).all()
    assert ((r.gt_index == aa.IGNORED) == (pre.gt_index == aa.IGNORED)).all()
    if len(gt):
        assert pos.any()


def test_presets_are_their_fields(cpu):
    """variant="original" is "mmdet" with the original code's fields overridden."""
    anchors, gt, off, ignore, labels, cls, deltas = batch(7)
    a = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore, variant="original")
    b = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore, giou_weight=1.0,
                covariance="full", single_candidate_positive=True, separation="original")
    assert_same(a, b)
    m = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
    assert not same_bits(a.overlap, m.overlap)  # GIoU weight 1 vs 1.3


def test_overlap_optional_labels_optional(cpu):
    anchors, gt, off, ignore, labels, cls, deltas = batch(5)
    full = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
    r = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore, overlap=False)
    assert r.overlap is None and same_bits(r.gt_index, full.gt_index)
    pre, costs, _ = composed(cpu, anchors, gt, off, ignore, labels, cls, deltas)
    s = cpu.assign_paa_costs(anchors, gt, off, pre.gt_index, costs, ignore=ignore)
    assert s.labels is None and same_bits(s.gt_index, full.gt_index)


# Hand inputs: two levels (a 4 x 4 grid of 8-pixel anchors, a 2 x 2 grid of 16-pixel
# ones), two GTs in image 0, none in image 1, three classes.
def _hand():
    lv0 = [[x, y, x + 8, y + 8] for y in range(0, 32, 8) for x in range(0, 32, 8)]
    lv1 = [[x, y, x + 16, y + 16] for y in range(0, 32, 16) for x in range(0, 32, 16)]
    anchors = aa.Anchors(np.array(lv0 + lv1, dtype=f32), [16, 4], [8.0, 16.0])
    gt = np.array([[2, 2, 20, 18], [16, 16, 32, 32]], dtype=f32)
    labels = np.array([1, 0], dtype=np.int32)
    n = 20
    k = np.arange(2 * n * 3, dtype=np.float64).reshape(2, n, 3)
    cls = (((k * 7) % 11) * 0.5 - 3.0).astype(f32)      # -3 .. 2, multiples of 0.5
    deltas = np.zeros((2, n, 4), dtype=f32)
    deltas[0, ::3] = [0.25, -0.125, 0.0625, -0.25]
    return anchors, gt, [0, 2, 2], labels, cls, deltas


def _cost(anchor, delta, gt, label, logits, giou_weight=1.3):
    """PAA's cost of one anchor, in double (docs/semantics.md "PAA")."""
    px, py = (anchor[0] + anchor[2]) / 2, (anchor[1] + anchor[3]) / 2
    pw, ph = anchor[2] - anchor[0], anchor[3] - anchor[1]
    dx, dy, dw, dh = (float(d) * s for d, s in zip(delta, (0.1, 0.1, 0.2, 0.2)))
    clip = abs(math.log(16 / 1000))
    dw, dh = max(-clip, min(clip, dw)), max(-clip, min(clip, dh))
    gw, gh = pw * math.exp(dw), ph * math.exp(dh)
    cx, cy = px + pw * dx, py + ph * dy
    b = (cx - gw / 2, cy - gh / 2, cx + gw / 2, cy + gh / 2)
    area = lambda r: max(r[2] - r[0], 0) * max(r[3] - r[1], 0)  # noqa: E731
    inter = area((max(b[0], gt[0]), max(b[1], gt[1]), min(b[2], gt[2]), min(b[3], gt[3])))
    union = max(area(b) + area(gt) - inter, 1e-6)
    enclose = max(area((min(b[0], gt[0]), min(b[1], gt[1]), max(b[2], gt[2]),
                        max(b[3], gt[3]))), 1e-6)
    giou = inter / union - (enclose - union) / enclose
    focal = 0.0
    for c, x in enumerate(float(v) for v in logits):
        t = 1.0 if c == label else 0.0
        p = 1 / (1 + math.exp(-x))
        bce = max(x, 0) - x * t + math.log1p(math.exp(-abs(x)))
        pt = (1 - p) * t + p * (1 - t)
        focal += bce * (0.25 * t + 0.75 * (1 - t)) * pt ** 2
    return focal + giou_weight * (1 - giou)


@pytest.mark.parametrize("variant", ["mmdet", "original"])
def test_compose_hand(cpu, variant):
    anchors, gt, off, labels, cls, deltas = _hand()
    r = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, variant=variant)
    pre, costs, c = composed(cpu, anchors, gt, off, None, labels, cls, deltas, variant)
    assert_same(r, c)
    assert same_bits(r.overlap, costs)
    # image 1 has no GT: all negative, no cost
    assert (r.gt_index[1] == aa.NEGATIVE).all() and np.isposinf(r.overlap[1]).all()
    assert (r.labels[1] == -1).all()
    # the costs follow the documented formula
    w = 1.3 if variant == "mmdet" else 1.0
    assigned = np.flatnonzero(pre.gt_index[0] >= 0)
    assert len(assigned) >= 4
    for a in assigned:
        g = pre.gt_index[0, a]
        want = _cost(anchors.boxes[a].astype(float), deltas[0, a], gt[g].astype(float),
                     labels[g], cls[0, a], w)
        assert costs[0, a] == pytest.approx(want, rel=1e-6), a
    pos = r.gt_index[0] >= 0
    assert pos.any()
    assert (r.labels[0][pos] == labels[r.gt_index[0][pos]]).all()


def test_workspace_size(cpu):
    anchors, gt, off, ignore, labels, cls, deltas = batch(3)
    n = cpu.workspace_size("paa", anchors, gt, off, ignore=ignore, labels=labels)
    assert n > 0
    assert cpu.workspace_size("paa", anchors, gt, off, labels=labels, variant="original",
                              topk=20) >= 0


# ---------------------------------------------------------------- dtypes
def test_float16_equals_float32(cpu):
    anchors, gt, off, ignore, labels, _, _ = batch(11)
    cls16, d16 = head(12, len(off) - 1, anchors.boxes.shape[0], dtype=np.float16)
    cls32, d32 = cls16.astype(f32), d16.astype(f32)
    a = cpu.paa(anchors, gt, off, cls16, d16, labels=labels, ignore=ignore)
    b = cpu.paa(anchors, gt, off, cls32, d32, labels=labels, ignore=ignore)
    assert_same(a, b)
    pre = cpu.max_iou(anchors, gt, off, ignore=ignore, **PRE).gt_index
    assert same_bits(cpu.paa_costs(anchors, gt, off, pre, cls16, d16, labels=labels, ignore=ignore),
                     cpu.paa_costs(anchors, gt, off, pre, cls32, d32, labels=labels, ignore=ignore))


def test_bfloat16_and_float16_tensors_equal_float32(cpu):
    torch = pytest.importorskip("torch")
    anchors, gt, off, ignore, labels, cls, deltas = batch(13)
    for dtype in (torch.bfloat16, torch.float16):
        c, d = torch.from_numpy(cls).to(dtype), torch.from_numpy(deltas).to(dtype)
        a = cpu.paa(anchors, gt, off, c, d, labels=labels, ignore=ignore)
        b = cpu.paa(anchors, gt, off, c.float(), d.float(), labels=labels, ignore=ignore)
        for name, x, y in zip(aa.Assignment._fields, a, b):
            assert isinstance(x, torch.Tensor)
            assert same_bits(x.numpy(), y.numpy()), (dtype, name)


def test_torch_in_torch_out(cpu):
    torch = pytest.importorskip("torch")
    anchors, gt, off, ignore, labels, cls, deltas = batch(17)
    want = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
    t = lambda x: torch.from_numpy(x)  # noqa: E731
    tanchors = aa.Anchors(t(anchors.boxes), anchors.level_counts, anchors.strides)
    r = cpu.paa(tanchors, t(gt), torch.from_numpy(off), t(cls), t(deltas), labels=t(labels),
                ignore=t(ignore))
    assert all(isinstance(x, torch.Tensor) for x in r)
    assert all(same_bits(x.numpy(), y) for x, y in zip(r, want))
    # one tensor is enough; paa_costs and assign_paa_costs too
    pre = cpu.max_iou(anchors, gt, off, ignore=ignore, **PRE).gt_index
    k = cpu.paa_costs(anchors, gt, off, t(pre), cls, deltas, labels=labels, ignore=ignore)
    assert isinstance(k, torch.Tensor) and k.dtype == torch.float32
    assert same_bits(k.numpy(), want.overlap)
    s = cpu.assign_paa_costs(anchors, gt, off, pre, k, labels=labels, ignore=ignore)
    assert all(isinstance(x, torch.Tensor) for x in s)
    assert all(same_bits(x.numpy(), y) for x, y in zip(s, want))


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs(cpu):
    anchors, gt, off, ignore, labels, cls, deltas = batch(19)
    pre = cpu.max_iou(anchors, gt, off, ignore=ignore, **PRE).gt_index
    costs = cpu.paa_costs(anchors, gt, off, pre, cls, deltas, labels=labels, ignore=ignore)
    I, N = pre.shape
    bad = Status.INVALID_ARGUMENT

    def paa(c=cls, d=deltas, lab=labels, **kw):
        return cpu.paa(anchors, gt, off, c, d, labels=lab, ignore=ignore, **kw)

    def pc(p=pre, c=cls, d=deltas, lab=labels, **kw):
        return cpu.paa_costs(anchors, gt, off, p, c, d, labels=lab, ignore=ignore, **kw)

    def apc(p=pre, k=costs, **kw):
        return cpu.assign_paa_costs(anchors, gt, off, p, k, labels=labels, ignore=ignore, **kw)

    # dtypes
    for call in (paa, pc):
        with raises(bad, "cls_logits", "float32", "float64"):
            call(c=cls.astype(np.float64))
        with raises(bad, "bbox_deltas", "float16"):
            call(d=deltas.astype(np.float16))
        with raises(bad, "cls_logits", "float32"):
            call(c=cls.astype(np.int32))
        with raises(bad, "labels", "int32"):
            call(lab=labels.astype(np.int64))
        with raises(bad, "labels", "required"):
            call(lab=None)
    with raises(bad, "pre_gt_index", "int32"):
        pc(p=pre.astype(np.int64))
    with raises(bad, "pre_gt_index", "int32"):
        apc(p=pre.astype(np.int64))
    with raises(bad, "costs", "float32"):
        apc(k=costs.astype(np.float64))
    # shapes
    for call in (paa, pc):
        with raises(bad, "cls_logits", "shape"):
            call(c=cls[:, :-1].copy())
        with raises(bad, "cls_logits", "shape"):
            call(c=cls[0].copy())
        with raises(bad, "cls_logits", "classes"):
            call(c=np.zeros((I, N, 0), dtype=f32))
        with raises(bad, "bbox_deltas", "shape"):
            call(d=deltas[:, :, :3].copy())
        with raises(bad, "bbox_deltas", "shape"):
            call(d=deltas[:1].copy())
        with raises(bad, "cls_logits", "contiguous"):
            call(c=np.asfortranarray(cls))
    with raises(bad, "pre_gt_index", "shape"):
        pc(p=pre[:, :-1].copy())
    with raises(bad, "costs", "shape"):
        apc(k=costs[:1].copy())
    # values (found by the library)
    img, a = np.argwhere(pre >= 0)[0]
    for call in (paa, pc):
        nan = cls.copy()
        nan[img, a, 3] = np.nan
        with raises(bad, "cls_logits", "not finite"):
            call(c=nan)
        inf = deltas.copy()
        inf[img, a, 1] = np.inf
        with raises(bad, "bbox_deltas", "not finite"):
            call(d=inf)
        nan16 = cls.astype(np.float16)
        nan16[img, a, 0] = np.nan
        with raises(bad, "cls_logits", "not finite"):
            call(c=nan16, d=deltas.astype(np.float16))
        big = labels.copy()
        big[0] = NUM_CLASSES
        with raises(bad, "labels", "num_classes"):
            call(lab=big)
        with raises(bad, "labels", "num_classes"):
            call(c=cls[:, :, :int(labels.max())].copy())
    k = costs.copy()
    k[img, a] = np.nan
    with raises(bad, "costs", "not finite"):
        apc(k=k)
    p = pre.copy()
    p[0, 0] = 10 ** 6
    with raises(bad, "pre_gt_index"):
        apc(p=p)
    # parameters
    for call in (paa, pc, apc):
        with raises(bad, "variant"):
            call(variant="kkhoot")
        with raises(bad, "params", "no_such"):
            call(no_such=1)
        with raises(bad, "separation"):
            call(separation="both")
        with raises(bad, "covariance"):
            call(covariance="spherical")
        with raises(bad, "topk"):
            call(topk=0)
        with raises(bad, "target_stds"):
            call(target_stds=(0.1, 0.1, 0.2))
        with raises(bad, "focal_alpha"):
            call(focal_alpha=2.0)


def test_crowd_gt_in_pre_assignment(cpu):
    anchors, gt, off, _, labels, cls, deltas = batch(23, crowd=False)
    pre = cpu.max_iou(anchors, gt, off, **PRE).gt_index
    img, a = np.argwhere(pre >= 0)[0]
    ignore = np.zeros(len(gt), dtype=np.uint8)
    ignore[off[img] + pre[img, a]] = 1             # that GT is a crowd region now
    costs = np.zeros(pre.shape, dtype=f32)
    with raises(Status.INVALID_ARGUMENT, "pre_gt_index", "crowd"):
        cpu.assign_paa_costs(anchors, gt, off, pre, costs, labels=labels, ignore=ignore)
    with raises(Status.INVALID_ARGUMENT, "pre_gt_index", "crowd"):
        cpu.paa_costs(anchors, gt, off, pre, cls, deltas, labels=labels, ignore=ignore)


# ---------------------------------------------------------------- GPU backends
@pytest.mark.parametrize("seed", [29, 30, 31])
@pytest.mark.parametrize("variant", ["mmdet", "original"])
def test_opencl_equals_cpu(cpu, opencl, seed, variant):
    """PAA on the OpenCL backend (PoCL in CI) against the CPU reference: the selection
    from the same pre-assignment and costs identical, bit for bit; the costs and the
    whole call identical (the device's exp/log/pow may move a cost by a float32 ulp
    in principle; tests/parity_paa.h counts that, none seen)."""
    anchors, gt, off, ignore, labels, cls, deltas = batch(seed)
    for dtype in (f32, np.float16):
        c, d = cls.astype(dtype), deltas.astype(dtype)
        want = cpu.paa(anchors, gt, off, c, d, labels=labels, ignore=ignore, variant=variant)
        got = opencl.paa(anchors, gt, off, c, d, labels=labels, ignore=ignore, variant=variant)
        assert_same(want, got)
        pre, costs, r = composed(cpu, anchors, gt, off, ignore, labels, c, d, variant)
        assert same_bits(costs, opencl.paa_costs(anchors, gt, off, pre.gt_index, c, d,
                                                 labels=labels, ignore=ignore, variant=variant))
        assert_same(r, opencl.assign_paa_costs(anchors, gt, off, pre.gt_index, costs,
                                               labels=labels, ignore=ignore, variant=variant))
    assert opencl.workspace_size("paa", anchors, gt, off, labels=labels) > 0
