"""Array families taken without copies: NumPy, PyTorch, __array_interface__, DLPack."""

import numpy as np
import pytest

import anchorassign as aa
from anchorassign import _arrays
from conftest import random_batch, same_bits


class ArrayInterfaceOnly:
    """Exposes only __array_interface__ (no NumPy type, no buffer protocol)."""

    def __init__(self, a):
        self._a = a
        self.__array_interface__ = a.__array_interface__


class DLPackOnly:
    """Exposes only the DLPack protocol."""

    def __init__(self, a):
        self._a = a

    def __dlpack__(self, stream=None):
        return self._a.__dlpack__()

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_views_share_memory():
    a = np.zeros((5, 4), dtype=np.float32)
    assert _arrays.view(a, "x").ptr == a.ctypes.data
    assert _arrays.view(ArrayInterfaceOnly(a), "x").ptr == a.ctypes.data
    assert _arrays.view(DLPackOnly(a), "x").ptr == a.ctypes.data
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(a)
    assert _arrays.view(t, "x").ptr == a.ctypes.data
    assert _arrays.view(DLPackOnly(t), "x").ptr == a.ctypes.data


def test_inputs_are_read_in_place(cpu):
    # writing through the caller's array between calls changes the next result: no
    # hidden copy (and no cache) sits between the caller and the library
    anchors = np.array([[0, 0, 10, 10]], dtype=np.float32)
    gt = np.array([[0, 0, 10, 10]], dtype=np.float32)
    wrapped = ArrayInterfaceOnly(gt)
    assert cpu.overlaps(anchors, wrapped, [0, 1])[0, 0] == 1.0
    gt[0, 2] = 5.0
    assert cpu.overlaps(anchors, wrapped, [0, 1])[0, 0] == 0.5


@pytest.mark.parametrize("wrap", [ArrayInterfaceOnly, DLPackOnly])
def test_foreign_producers(ctx, wrap):
    anchors, gt, off, ign, lab = random_batch(11, per_location=1)
    ref = ctx.atss(anchors, gt, off, ignore=ign, labels=lab)
    r = ctx.atss(aa.Anchors(wrap(anchors.boxes), anchors.level_counts, None), wrap(gt), off,
                 ignore=wrap(ign), labels=wrap(lab))
    assert isinstance(r.gt_index, np.ndarray)
    for x, y in zip(ref, r):
        assert same_bits(x, y)


def test_bool_and_uint8_flags_agree(ctx):
    anchors, gt, off, ign, _ = random_batch(12)
    a = ctx.max_iou(anchors, gt, off, ignore=ign, ignore_iof_thr=0.4)
    b = ctx.max_iou(anchors, gt, off, ignore=ign.astype(bool), ignore_iof_thr=0.4)
    assert same_bits(a.gt_index, b.gt_index) and same_bits(a.overlap, b.overlap)


def test_read_only_inputs(cpu):
    anchors, gt, off, _, _ = random_batch(13)
    gt.setflags(write=False)
    anchors.boxes.setflags(write=False)
    assert cpu.max_iou(anchors, gt, off).gt_index.shape[0] == len(off) - 1


def test_host_values_from_any_sequence(cpu):
    anchors, gt, off, _, _ = random_batch(14)
    ref = cpu.atss(anchors, gt, off)
    for o in (off.tolist(), tuple(off), off.astype(np.int32), off.astype(np.uint64)):
        assert same_bits(cpu.atss(anchors, gt, o).gt_index, ref.gt_index)
    lc = anchors.level_counts
    assert same_bits(cpu.atss(aa.Anchors(anchors.boxes, lc.tolist(), None), gt, off).gt_index,
                     ref.gt_index)


def test_outputs_follow_the_inputs(cpu):
    torch = pytest.importorskip("torch")
    anchors, gt, off, ign, lab = random_batch(15, per_location=1)
    r = cpu.atss(anchors, torch.from_numpy(gt), off, labels=lab)  # one tensor: torch results
    assert all(isinstance(x, torch.Tensor) for x in r)
    r = cpu.atss(anchors, gt, off, overlap=False)
    assert isinstance(r.gt_index, np.ndarray) and r.overlap is None and r.labels is None
    o = cpu.overlaps(aa.Anchors(torch.from_numpy(anchors.boxes), anchors.level_counts, None),
                     torch.from_numpy(gt), torch.from_numpy(off))
    assert isinstance(o, torch.Tensor) and o.shape == (gt.shape[0], anchors.boxes.shape[0])


def test_generation_to_torch_device():
    torch = pytest.importorskip("torch")
    a = aa.anchors(64, 96, strides=(8, 16), device="cpu")
    assert isinstance(a.boxes, torch.Tensor) and a.boxes.dtype == torch.float32
    assert np.array_equal(a.boxes.numpy(), aa.anchors(64, 96, strides=(8, 16)).boxes)
    assert isinstance(a.level_counts, np.ndarray)
