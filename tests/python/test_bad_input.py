"""Bad inputs raise anchorassign.Error with the C status and a message naming the
argument, whether the binding or the C library finds them."""

import numpy as np
import pytest

import anchorassign as aa
from anchorassign import Status
from raises import raises

f32 = np.float32
ANCHORS = aa.Anchors(np.array([[0, 0, 10, 10], [10, 0, 20, 10], [0, 10, 10, 20]], dtype=f32),
                     [2, 1], [8.0, 16.0])
GT = np.array([[0, 0, 12, 12], [5, 5, 9, 9], [1, 1, 4, 4]], dtype=f32)
OFF = [0, 2, 3]


class FakeCuda:
    """A CUDA array as a foreign producer shows it (never dereferenced here)."""

    def __init__(self, shape, typestr="<f4", device_ptr=0x7000_0000):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr,
                                         "data": (device_ptr, False), "strides": None,
                                         "version": 3}


# ---------------------------------------------------------------- found by the binding
def test_wrong_dtype(ctx):
    with raises(Status.INVALID_ARGUMENT, "gt_boxes", "float32", "float64"):
        ctx.atss(ANCHORS, GT.astype(np.float64), OFF)
    with raises(Status.INVALID_ARGUMENT, "anchors", "float32", "int32"):
        ctx.atss(aa.Anchors(ANCHORS.boxes.astype(np.int32), [2, 1], None), GT, OFF)
    with raises(Status.INVALID_ARGUMENT, "labels", "int32", "int64", "astype"):
        ctx.atss(ANCHORS, GT, OFF, labels=np.zeros(3, dtype=np.int64))
    with raises(Status.INVALID_ARGUMENT, "ignore", "uint8", "float32"):
        ctx.max_iou(ANCHORS, GT, OFF, ignore=np.zeros(3, dtype=f32))
    with raises(Status.INVALID_ARGUMENT, "offsets", "integers"):
        ctx.atss(ANCHORS, GT, np.array([0.0, 2.0, 3.0]))
    with raises(Status.INVALID_ARGUMENT, "candidates", "int32"):
        ctx.candidate_iou_stats(ANCHORS, GT, OFF, np.zeros((3, 2, 9), dtype=np.int64))


def test_wrong_shape(ctx):
    with raises(Status.INVALID_ARGUMENT, "gt_boxes", "shape", "(n, 4)", "(3, 5)"):
        ctx.atss(ANCHORS, np.zeros((3, 5), f32), OFF)
    with raises(Status.INVALID_ARGUMENT, "gt_boxes", "shape"):
        ctx.atss(ANCHORS, GT.reshape(-1), OFF)
    with raises(Status.INVALID_ARGUMENT, "labels", "shape", "(3,)", "(2,)"):
        ctx.atss(ANCHORS, GT, OFF, labels=np.zeros(2, dtype=np.int32))
    with raises(Status.INVALID_ARGUMENT, "ignore", "shape"):
        ctx.atss(ANCHORS, GT, OFF, ignore=np.zeros((3, 1), dtype=np.uint8))
    with raises(Status.INVALID_ARGUMENT, "candidates", "shape"):
        ctx.candidate_iou_stats(ANCHORS, GT, OFF, np.zeros((3, 2, 9), dtype=np.int32)[:2])
    with raises(Status.INVALID_ARGUMENT, "offsets", "1-D"):
        ctx.atss(ANCHORS, GT, [[0, 2, 3]])


def test_not_contiguous(ctx):
    wide = np.zeros((3, 8), f32)
    wide[:, :4] = GT
    with raises(Status.INVALID_ARGUMENT, "gt_boxes", "C-contiguous"):
        ctx.atss(ANCHORS, wide[:, :4], OFF)
    with raises(Status.INVALID_ARGUMENT, "anchors", "C-contiguous"):
        ctx.atss(aa.Anchors(np.asfortranarray(ANCHORS.boxes), [2, 1], None), GT, OFF)
    with raises(Status.INVALID_ARGUMENT, "labels", "C-contiguous"):
        ctx.atss(ANCHORS, GT, OFF, labels=np.zeros(6, dtype=np.int32)[::2])


def test_offsets_not_matching(ctx):
    with raises(Status.INVALID_ARGUMENT, "offsets", "last entry (4)", "gt_boxes.shape[0] (3)"):
        ctx.atss(ANCHORS, GT, [0, 2, 4])
    with raises(Status.INVALID_ARGUMENT, "offsets", "empty"):
        ctx.atss(ANCHORS, GT, [])


def test_level_counts(ctx):
    with raises(Status.INVALID_ARGUMENT, "level_counts", "sum to 4", "3 rows"):
        ctx.atss(aa.Anchors(ANCHORS.boxes, [2, 2], None), GT, OFF)
    with raises(Status.INVALID_ARGUMENT, "strides", "2 entries"):
        ctx.atss(aa.Anchors(ANCHORS.boxes, [2, 1], [8.0]), GT, OFF)
    with raises(Status.INVALID_ARGUMENT, "level_counts", "17 levels"):
        ctx.atss(aa.Anchors(ANCHORS.boxes, [3] + [0] * 16, None), GT, OFF)


def test_not_an_array(ctx):
    with raises(Status.INVALID_ARGUMENT, "gt_boxes", "expected an array", "list"):
        ctx.atss(ANCHORS, GT.tolist(), OFF)


def test_parameters(ctx):
    with raises(Status.INVALID_ARGUMENT, "topk", "integer"):
        ctx.atss(ANCHORS, GT, OFF, topk=9.5)
    with raises(Status.INVALID_ARGUMENT, "topk", "outside"):
        ctx.atss(ANCHORS, GT, OFF, topk=2 ** 40)
    with raises(Status.INVALID_ARGUMENT, "pos_iou_thr", "real number"):
        ctx.max_iou(ANCHORS, GT, OFF, pos_iou_thr="high")
    with raises(Status.INVALID_ARGUMENT, "neg_iou_thr", "pair"):
        ctx.max_iou(ANCHORS, GT, OFF, neg_iou_thr=(0.1, 0.2, 0.3))
    with raises(Status.INVALID_ARGUMENT, "mode", "giou"):
        ctx.overlaps(ANCHORS, GT, OFF, mode="dice")
    with raises(Status.INVALID_ARGUMENT, "regress_ranges[1]", "pair"):
        ctx.fcos(ANCHORS, GT, OFF, regress_ranges=[(0, 1), (2, 3, 4)])
    with raises(Status.INVALID_ARGUMENT, "assigner"):
        ctx.workspace_size("gfl", ANCHORS, GT, OFF)
    with raises(Status.INVALID_ARGUMENT, "backend", "opencl"):
        aa.Context("gpu")
    with raises(Status.INVALID_ARGUMENT, "ratios", "1..8"):
        aa.anchors(64, 64, ratios=[1.0] * 9)
    with raises(Status.INVALID_ARGUMENT, "height", "integer"):
        aa.anchors(64.5, 64)


# ---------------------------------------------------------------- found by the C library
def test_c_offsets(ctx):
    with raises(Status.INVALID_ARGUMENT, "gts.offsets", "decrease at image 1"):
        ctx.atss(ANCHORS, GT, [0, 4, 2, 3])
    with raises(Status.INVALID_ARGUMENT, "gts.offsets[0]", "must be 0"):
        ctx.atss(ANCHORS, GT, [1, 2, 3])


def test_c_boxes(ctx):
    bad = GT.copy()
    bad[1, 2] = 1.0                                          # x2 < x1
    with raises(Status.INVALID_BOX, "gts.boxes[1]", "(image 0, GT 1)", "x2"):
        ctx.atss(ANCHORS, bad, OFF)
    bad = GT.copy()
    bad[2, 0] = np.nan
    with raises(Status.INVALID_BOX, "gts.boxes[2]", "(image 1, GT 0)", "NaN"):
        ctx.max_iou(ANCHORS, bad, OFF)
    anchors = ANCHORS.boxes.copy()
    anchors[1, 1] = np.inf
    with raises(Status.INVALID_BOX, "anchors.boxes[1]", "infinite"):
        ctx.overlaps(anchors, GT, OFF)


def test_c_parameters(ctx):
    with raises(Status.INVALID_ARGUMENT, "params.topk", "0"):
        ctx.atss(ANCHORS, GT, OFF, topk=0)
    with raises(Status.INVALID_ARGUMENT, "eps"):
        ctx.atss(ANCHORS, GT, OFF, eps=0)
    with raises(Status.INVALID_ARGUMENT, "params.num_regress_ranges", "2 levels"):
        ctx.fcos(ANCHORS, GT, OFF)                           # default: 5 ranges
    with raises(Status.NULL_POINTER, "level_strides"):
        ctx.fcos(aa.Anchors(ANCHORS.boxes, [2, 1], None), GT, OFF, center_sampling=True,
                 regress_ranges=[(-1, 64), (64, 1e8)])
    with raises(Status.INVALID_ARGUMENT, "gts.labels[1]", "negative"):
        ctx.atss(ANCHORS, GT, OFF, labels=np.array([0, -3, 1], dtype=np.int32))
    with raises(Status.INVALID_ARGUMENT, "candidates[", "not an anchor index"):
        ctx.candidate_iou_stats(ANCHORS, GT, OFF, np.full((3, 2, 2), 7, dtype=np.int32))
    with raises(Status.INVALID_ARGUMENT, "offset", "outside [0, 1]"):
        aa.points(64, 64, offset=2.0)


# ---------------------------------------------------------------- where arrays live
def test_cuda_array_on_host_context(ctx):
    with raises(Status.INVALID_ARGUMENT, "gt_boxes", "CUDA array", ctx.backend, 'Context("cuda")'):
        ctx.atss(aa.Anchors(FakeCuda((3, 4)), [2, 1], None), FakeCuda((3, 4)), OFF)


def test_mixed_places(ctx):
    with raises(Status.INVALID_ARGUMENT, "labels", "same place", "gt_boxes"):
        ctx.atss(ANCHORS, GT, OFF, labels=FakeCuda((3,), "<i4"))


def test_offsets_must_be_host(ctx):
    with raises(Status.INVALID_ARGUMENT, "offsets", "host values"):
        ctx.atss(ANCHORS, GT, FakeCuda((3,), "<i8"))


def test_no_cuda_device_here():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(aa.Error) as info:
        aa.Context("cuda")
    assert info.value.status in (Status.NO_DEVICE, Status.NOT_SUPPORTED)
    assert "cuda" in info.value.message.lower()


def test_error_is_raised_before_any_output(ctx):
    # the C library writes nothing on failure; the binding returns nothing
    bad = GT.copy()
    bad[0] = [5, 5, 1, 1]
    with pytest.raises(aa.Error):
        ctx.atss(ANCHORS, bad, OFF)
    # and the context stays usable
    assert ctx.atss(ANCHORS, GT, OFF).gt_index.shape == (2, 3)
