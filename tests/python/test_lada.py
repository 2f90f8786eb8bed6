"""Context.lada: the binding of aa_assign_lada on the CPU reference (hand-checked
outputs, parameters, head dtypes, errors), and OpenCL (PoCL) against the CPU
reference: the same bits in every output."""

import math

import numpy as np
import pytest

import anchorassign as aa
from anchorassign import Status
from conftest import random_batch, same_bits
from raises import raises

f32 = np.float32


def head(seed, num_images, num_anchors, num_classes=80, dtype=f32):
    rng = np.random.default_rng(seed)
    cls = rng.normal(-2.0, 1.5, size=(num_images, num_anchors, num_classes)).astype(dtype)
    deltas = rng.normal(0.0, 0.4, size=(num_images, num_anchors, 4)).astype(dtype)
    return cls, deltas


def batch(seed):
    anchors, gt, off, ignore, labels = random_batch(seed, height=128, width=160)
    cls, deltas = head(seed + 100, len(off) - 1, anchors.boxes.shape[0])
    return anchors, gt, off, ignore, labels, cls, deltas


def diagonal(ts, level_of=None):
    """Point anchors at (100 + t, 100 + t) on a square GT (68,68)-(132,132): with only
    the centre term, the loss of each is t / 32 exactly (docs/semantics.md "LADA")."""
    level_of = level_of or [0] * len(ts)
    order = np.argsort(level_of, kind="stable")
    boxes = np.array([[100 + ts[k], 100 + ts[k]] * 2 for k in order], dtype=f32)
    counts = np.bincount(np.asarray(level_of), minlength=2).astype(np.int64)
    anchors = aa.Anchors(boxes, counts, np.array([8, 16], dtype=f32))
    gt = np.array([[68, 68, 132, 132]], dtype=f32)
    off = np.array([0, 1], dtype=np.int64)
    n = len(ts)
    return anchors, gt, off, np.zeros((1, n, 2), f32), np.zeros((1, n, 4), f32)


CENTRE_ONLY = dict(cls_weight=0, giou_weight=0, center_weight=1, region_radius=3)


def test_mean_and_mean_std(cpu):
    anchors, gt, off, cls, deltas = diagonal([8, 0, 16, 2, 4])
    labels = np.array([1], dtype=np.int32)
    r = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, **CENTRE_ONLY)
    assert r.gt_index.tolist() == [[-1, 0, -1, 0, 0]]          # below the mean 0.1875
    assert r.overlap[0, 1] == 0 and r.overlap[0, 3] == 0.0625 and r.overlap[0, 4] == 0.125
    assert math.isinf(r.overlap[0, 0]) and r.overlap[0, 0] > 0
    assert r.labels.tolist() == [[-1, 1, -1, 1, 1]]
    s = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, threshold="mean_std", **CENTRE_ONLY)
    assert s.gt_index.tolist() == [[0, 0, -1, 0, 0]]           # mean + std 0.385


def test_topk_and_strictness(cpu):
    anchors, gt, off, cls, deltas = diagonal([0, 2, 4, 8, 16], [0, 0, 0, 1, 1])
    labels = np.array([0], dtype=np.int32)
    r = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, topk_per_level=2, **CENTRE_ONLY)
    assert r.gt_index.tolist() == [[0, 0, -1, -1, -1]]
    r = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, topk=3, topk_per_level=9,
                 **CENTRE_ONLY)
    assert r.gt_index.tolist() == [[0, -1, -1, -1, -1]]        # 1/16 == mean: not below
    one, g1, o1, c1, d1 = diagonal([2, 30])                    # 30 lies outside the region
    r = cpu.lada(one, g1, o1, c1, d1, labels=labels, **CENTRE_ONLY)
    assert r.gt_index.tolist() == [[-1, -1]]


def test_random_batches(cpu):
    for seed in range(6):
        anchors, gt, off, ignore, labels, cls, deltas = batch(seed)
        r = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
        again = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
        for name, x, y in zip(aa.Assignment._fields, r, again):
            assert same_bits(x, y), name
        assert (r.gt_index >= -1).all()                        # LADA ignores nothing
        pos = r.gt_index >= 0
        assert np.isfinite(r.overlap[pos]).all() and np.isposinf(r.overlap[~pos]).all()
        for i in range(len(off) - 1):
            g = r.gt_index[i][r.gt_index[i] >= 0]
            assert not ignore[off[i] + g].any()                # never a crowd GT
            assert (r.labels[i][r.gt_index[i] >= 0] == labels[off[i] + g]).all()
        # the defaults spelled out are the defaults
        d = cpu.lada(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore, region_radius=1.5,
                     clip_region_to_gt=True, topk_per_level=9, topk=20, threshold="mean",
                     cls_weight=1, giou_weight=1.5, center_weight=1, focal_alpha=0.25,
                     focal_gamma=2, giou_eps=1e-6, target_means=(0, 0, 0, 0),
                     target_stds=(0.1, 0.1, 0.2, 0.2), wh_ratio_clip=0.016)
        assert same_bits(d.gt_index, r.gt_index) and same_bits(d.overlap, r.overlap)


def test_float16_equals_float32(cpu):
    anchors, gt, off, ignore, labels, cls, deltas = batch(21)
    c16, d16 = cls.astype(np.float16), deltas.astype(np.float16)
    a = cpu.lada(anchors, gt, off, c16, d16, labels=labels, ignore=ignore)
    b = cpu.lada(anchors, gt, off, c16.astype(f32), d16.astype(f32), labels=labels, ignore=ignore)
    for name, x, y in zip(aa.Assignment._fields, a, b):
        assert same_bits(x, y), name


def test_bfloat16_tensors_equal_float32(cpu):
    torch = pytest.importorskip("torch")
    anchors, gt, off, ignore, labels, cls, deltas = batch(23)
    c, d = torch.from_numpy(cls).to(torch.bfloat16), torch.from_numpy(deltas).to(torch.bfloat16)
    a = cpu.lada(anchors, gt, off, c, d, labels=labels, ignore=ignore)
    b = cpu.lada(anchors, gt, off, c.float(), d.float(), labels=labels, ignore=ignore)
    for name, x, y in zip(aa.Assignment._fields, a, b):
        assert isinstance(x, torch.Tensor)
        assert same_bits(x.numpy(), y.numpy()), name


def test_workspace_size(cpu):
    anchors, gt, off, ignore, labels, cls, deltas = batch(3)
    n = cpu.workspace_size("lada", anchors, gt, off, ignore=ignore, labels=labels, topk=40)
    assert n >= 8 * (len(off) - 1) * anchors.boxes.shape[0]


def test_errors(cpu):
    anchors, gt, off, ignore, labels, cls, deltas = batch(5)
    with raises(Status.INVALID_ARGUMENT, "labels"):
        cpu.lada(anchors, gt, off, cls, deltas, ignore=ignore)
    with raises(Status.INVALID_ARGUMENT, "threshold"):
        cpu.lada(anchors, gt, off, cls, deltas, labels=labels, threshold="median")
    with raises(Status.INVALID_ARGUMENT, "params"):
        cpu.lada(anchors, gt, off, cls, deltas, labels=labels, variant="mmdet")
    with raises(Status.INVALID_ARGUMENT, "params.region_radius"):
        cpu.lada(anchors, gt, off, cls, deltas, labels=labels, region_radius=0)
    with raises(Status.INVALID_ARGUMENT, "params.center_weight"):
        cpu.lada(anchors, gt, off, cls, deltas, labels=labels, center_weight=-1)
    with raises(Status.NULL_POINTER, "anchors.level_strides"):
        cpu.lada(aa.Anchors(anchors.boxes, anchors.level_counts, None), gt, off, cls, deltas,
                 labels=labels)
    bad = cls.copy()
    bad[0, 3, 1] = np.nan
    with raises(Status.INVALID_ARGUMENT, "head.cls_logits"):
        cpu.lada(anchors, gt, off, bad, deltas, labels=labels)


@pytest.mark.parametrize("seed", [7, 8, 9])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_opencl_equals_cpu(cpu, opencl, seed, dtype):
    anchors, gt, off, ignore, labels, cls, deltas = batch(seed)
    cls, deltas = cls.astype(dtype), deltas.astype(dtype)
    kw = dict(labels=labels, ignore=ignore)
    if seed == 8:
        kw.update(threshold="mean_std", clip_region_to_gt=False, topk=40)
    want = cpu.lada(anchors, gt, off, cls, deltas, **kw)
    got = opencl.lada(anchors, gt, off, cls, deltas, **kw)
    assert (want.gt_index >= 0).any()
    for name, x, y in zip(aa.Assignment._fields, want, got):
        assert same_bits(x, y), name
    n = opencl.workspace_size("lada", anchors, gt, off, ignore=ignore, labels=labels)
    assert n >= 8 * (len(off) - 1) * anchors.boxes.shape[0]  # the claim keys
