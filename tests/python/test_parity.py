"""OpenCL (PoCL in CI) against the CPU reference through the binding, on random
ragged batches: every result bit-identical."""

import pytest

import anchorassign as aa
from conftest import random_batch, same_bits

SEEDS = range(6)


def assert_same(a, b):
    for field in ("gt_index", "overlap", "labels"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            assert same_bits(x, y), "%s differs at %d places" % (field, int((x != y).sum()))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [{}, {"ignore_iof_thr": 0.3}, {"neg_iou_thr": (0.1, 0.4),
                                    "min_pos_iou": 0.2, "gt_max_assign_all": False},
                                    {"match_low_quality": False, "ignore_iof_thr": 0.5,
                                     "ignore_wrt_candidates": False}])
def test_max_iou(cpu, opencl, seed, params):
    anchors, gt, off, ign, lab = random_batch(seed)
    a = cpu.max_iou(anchors, gt, off, ignore=ign, labels=lab, **params)
    b = opencl.max_iou(anchors, gt, off, ignore=ign, labels=lab, **params)
    assert_same(a, b)
    assert (a.gt_index >= 0).any()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [{}, {"topk": 3}, {"topk": 40, "ignore_iof_thr": 0.4}])
def test_atss(cpu, opencl, seed, params):
    anchors, gt, off, ign, lab = random_batch(seed, per_location=1)
    a = cpu.atss(anchors, gt, off, ignore=ign, labels=lab, **params)
    b = opencl.atss(anchors, gt, off, ignore=ign, labels=lab, **params)
    assert_same(a, b)
    assert (a.gt_index >= 0).any()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("sampling", [False, True])
def test_fcos(cpu, opencl, seed, sampling):
    _, gt, off, ign, lab = random_batch(seed)
    pts = aa.points(256, 320, strides=(8, 16, 32, 64))
    ranges = [(-1, 32), (32, 64), (64, 128), (128, 1e8)]
    a = cpu.fcos(pts, gt, off, ignore=ign, labels=lab, center_sampling=sampling,
                 regress_ranges=ranges)
    b = opencl.fcos(pts, gt, off, ignore=ign, labels=lab, center_sampling=sampling,
                    regress_ranges=ranges)
    assert_same(a, b)
    assert (a.gt_index >= 0).any()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", ["iou", "iof", "giou"])
def test_overlaps(cpu, opencl, seed, mode):
    anchors, gt, off, _, _ = random_batch(seed)
    assert same_bits(cpu.overlaps(anchors, gt, off, mode=mode),
                     opencl.overlaps(anchors, gt, off, mode=mode))


@pytest.mark.parametrize("seed", SEEDS)
def test_atss_primitives(cpu, opencl, seed):
    anchors, gt, off, _, _ = random_batch(seed, per_location=1)
    ca = cpu.topk_nearest(anchors, gt, off, topk=9)
    cb = opencl.topk_nearest(anchors, gt, off, topk=9)
    assert same_bits(ca, cb)
    sa = cpu.candidate_iou_stats(anchors, gt, off, ca)
    sb = opencl.candidate_iou_stats(anchors, gt, off, ca)
    assert same_bits(sa.mean, sb.mean) and same_bits(sa.std, sb.std)


def test_results_are_deterministic(opencl):
    anchors, gt, off, ign, lab = random_batch(42, per_location=1)
    first = opencl.atss(anchors, gt, off, ignore=ign, labels=lab)
    for _ in range(3):
        assert_same(first, opencl.atss(anchors, gt, off, ignore=ign, labels=lab))


def test_torch_cpu_tensors_match_numpy(ctx):
    torch = pytest.importorskip("torch")
    anchors, gt, off, ign, lab = random_batch(7, per_location=1)
    ref = ctx.atss(anchors, gt, off, ignore=ign, labels=lab)
    t = ctx.atss(aa.Anchors(torch.from_numpy(anchors.boxes), anchors.level_counts, None),
                 torch.from_numpy(gt), torch.from_numpy(off), ignore=torch.from_numpy(ign).bool(),
                 labels=torch.from_numpy(lab))
    assert isinstance(t.gt_index, torch.Tensor) and t.gt_index.device.type == "cpu"
    assert t.gt_index.dtype == torch.int32 and t.overlap.dtype == torch.float32
    assert_same(ref, aa.Assignment(*(x.numpy() for x in t)))
