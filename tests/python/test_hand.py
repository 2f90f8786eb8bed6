"""Hand-computed cases, on the CPU reference and on OpenCL (the `ctx` fixture)."""

import numpy as np
import pytest

import anchorassign as aa

f32 = np.float32


def test_max_iou_mmdet_docstring(ctx):
    # mmdetection's MaxIoUAssigner docstring: pos 0.5, neg 0.5 -> gt_inds [1, 0]
    priors = np.array([[0, 0, 10, 10], [10, 10, 20, 20]], dtype=f32)
    gt = np.array([[0, 0, 10, 9]], dtype=f32)
    r = ctx.max_iou(priors, gt, [0, 1], pos_iou_thr=0.5, neg_iou_thr=0.5)
    assert r.gt_index.tolist() == [[0, aa.NEGATIVE]]
    assert r.overlap.dtype == np.float32 and r.labels is None
    np.testing.assert_array_equal(r.overlap, [[f32(90) / f32(100), 0]])
    mm = aa.to_mmdet(r, [0, 1])
    assert mm.gt_inds.tolist() == [[1, 0]] and mm.num_gts.tolist() == [1]


def test_max_iou_ignored_band_and_labels(ctx):
    # IoUs 0.9, 0.45 (between neg 0.4 and pos 0.5: ignored), 0 (negative)
    priors = np.array([[0, 0, 10, 10], [0, 0, 10, 4.05], [50, 50, 60, 60]], dtype=f32)
    gt = np.array([[0, 0, 10, 9], [100, 100, 110, 110]], dtype=f32)
    labels = np.array([3, 7], dtype=np.int32)
    r = ctx.max_iou(priors, gt, [0, 2], labels=labels, match_low_quality=False)
    assert r.gt_index.tolist() == [[0, aa.IGNORED, aa.NEGATIVE]]
    assert r.labels.tolist() == [[3, -1, -1]]
    assert aa.to_mmdet(r, [0, 2]).gt_inds.tolist() == [[1, -1, 0]]


def test_overlaps_modes(ctx):
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=f32)
    g = np.array([[5, 5, 15, 15]], dtype=f32)
    iou = ctx.overlaps(a, g, [0, 1])
    iof = ctx.overlaps(a, g, [0, 1], mode="iof")
    giou = ctx.overlaps(a, g, [0, 1], mode="giou")
    assert iou.shape == (1, 2) and iou.dtype == np.float32
    np.testing.assert_allclose(iou[0], [25 / 175, 0], rtol=1e-6)
    np.testing.assert_allclose(iof[0], [25 / 100, 0], rtol=1e-6)
    # GIoU: enclose of a0 and g = 15 x 15; of a1 and g = 25 x 25, union 200
    np.testing.assert_allclose(giou[0], [25 / 175 - 50 / 225, 0 - (625 - 200) / 625], rtol=1e-6)


def test_overlaps_ragged_rows(ctx):
    # rows are GTs of all images in order; each image's block is its own GTs x anchors
    a = np.array([[0, 0, 10, 10]], dtype=f32)
    g = np.array([[0, 0, 10, 10], [0, 0, 5, 10], [0, 0, 10, 20]], dtype=f32)
    out = ctx.overlaps(a, g, [0, 1, 1, 3])
    np.testing.assert_allclose(out[:, 0], [1.0, 0.5, 0.5], rtol=1e-6)


ATSS_ANCHORS = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [0, 10, 10, 20], [10, 10, 20, 20]],
                        dtype=f32)
ATSS_GT = np.array([[0, 0, 12, 12]], dtype=f32)


def atss_ious():
    inter = np.array([100, 20, 20, 4], dtype=np.float64)
    return inter / (100 + 144 - inter)


def test_atss_by_hand(ctx):
    # one level of 4 anchors, k = min(9, 4) = 4 candidates; threshold = mean + std
    ious = atss_ious()                                  # 0.694, 0.089, 0.089, 0.017
    thr = ious.mean() + ious.std(ddof=1)                # 0.539: only anchor 0 passes
    assert ious[0] >= thr > ious[1]
    anchors = aa.Anchors(ATSS_ANCHORS, [4], None)
    r = ctx.atss(anchors, ATSS_GT, [0, 1], labels=np.array([5], dtype=np.int32))
    assert r.gt_index.tolist() == [[0, -1, -1, -1]]
    assert r.labels.tolist() == [[5, -1, -1, -1]]
    np.testing.assert_allclose(r.overlap[0, 0], ious[0], rtol=1e-6)
    assert (r.overlap[0, 1:] == aa.ATSS_NO_OVERLAP).all()


def test_atss_primitives_by_hand(ctx):
    anchors = aa.Anchors(ATSS_ANCHORS, [4], None)
    # centre (6, 6): distances 1.41 (a0), 9.06 (a1, a2: a tie, lower index first), 12.7
    cand = ctx.topk_nearest(anchors, ATSS_GT, [0, 1], topk=6)
    assert cand.dtype == np.int32 and cand.tolist() == [[[0, 1, 2, 3, -1, -1]]]
    stats = ctx.candidate_iou_stats(anchors, ATSS_GT, [0, 1], cand)
    ious = atss_ious()
    np.testing.assert_allclose(stats.mean, [ious.mean()], rtol=1e-6)
    np.testing.assert_allclose(stats.std, [ious.std(ddof=1)], rtol=1e-6)
    # a single candidate: std NaN (and mmdetection's NaN threshold: no positive)
    one = ctx.candidate_iou_stats(anchors, ATSS_GT, [0, 1], cand[:, :, :1].copy())
    assert np.isnan(one.std[0]) and not np.isnan(one.mean[0])
    r = ctx.atss(anchors, ATSS_GT, [0, 1], topk=1)
    assert r.gt_index.tolist() == [[-1, -1, -1, -1]]


def test_fcos_by_hand(ctx):
    pts = aa.points(16, 24, strides=(8,))              # x in 4, 12, 20; y in 4, 12
    assert pts.boxes.tolist() == [[x, y, x, y] for y in (4, 12) for x in (4, 12, 20)]
    gt = np.array([[0, 0, 16, 16]], dtype=f32)
    r = ctx.fcos(pts, gt, [0, 1], regress_ranges=[(-1, 64)],
                 labels=np.array([2], dtype=np.int32))
    assert r.gt_index.tolist() == [[0, 0, -1, 0, 0, -1]]
    assert r.labels.tolist() == [[2, 2, -1, 2, 2, -1]]
    # centre-ness of (4, 4): l=4, r=12, t=4, b=12 -> sqrt(4/12 * 4/12) = 1/3
    np.testing.assert_allclose(r.overlap[0], [1 / 3, 1 / 3, 0, 1 / 3, 1 / 3, 0], rtol=1e-6)
    # regress range excluding max(l,t,r,b) = 12: no positive
    r = ctx.fcos(pts, gt, [0, 1], regress_ranges=[(13, 64)])
    assert (r.gt_index == -1).all()


def test_fcos_centre_sampling_smallest_area(ctx):
    pts = aa.points(32, 32, strides=(8,))
    big = [0, 0, 32, 32]
    small = [8, 8, 24, 24]
    gt = np.array([big, small], dtype=f32)
    r = ctx.fcos(pts, gt, [0, 2], regress_ranges=[(-1, 1e8)], center_sampling=True,
                 center_sample_radius=0.5)
    # centre box of both GTs: 16 +- 0.5 * 8 = (12, 20); the points (4, 12, 20, 28 on
    # each axis) are never strictly inside it: no positive
    assert (r.gt_index == -1).all()
    r = ctx.fcos(pts, gt, [0, 2], regress_ranges=[(-1, 1e8)])
    idx = r.gt_index.reshape(4, 4)
    assert idx[1:3, 1:3].tolist() == [[1, 1], [1, 1]]   # inside both: the smaller area wins
    assert idx[0].tolist() == [0, 0, 0, 0]


def test_empty_image_and_crowd(ctx):
    anchors = aa.Anchors(ATSS_ANCHORS, [4], None)
    gt = np.array([[0, 0, 12, 12], [0, 0, 12, 12]], dtype=f32)
    crowd = np.array([1, 0], dtype=np.uint8)
    # image 0 has no GTs; image 1 a crowd box then the same box as a GT
    r = ctx.atss(anchors, gt, [0, 0, 2], ignore=crowd)
    assert r.gt_index.tolist() == [[-1] * 4, [1, -1, -1, -1]]
    assert r.overlap[0].tolist() == [0.0] * 4
    mm = aa.to_mmdet(r, [0, 0, 2], ignore=crowd)
    assert mm.num_gts.tolist() == [0, 1]
    assert mm.gt_inds.tolist() == [[0] * 4, [1, 0, 0, 0]]
    m = ctx.max_iou(anchors, gt, [0, 0, 2], ignore=crowd, ignore_iof_thr=0.5)
    assert m.gt_index[0].tolist() == [-1] * 4 and m.overlap[0].tolist() == [0.0] * 4
    # anchor 0 lies in the crowd box (IoF 1 > 0.5): ignored, overlap -1; the GT's best
    # remaining IoU (0.089, anchors 1 and 2) is a low-quality match; anchor 3 negative
    assert m.gt_index[1].tolist() == [aa.IGNORED, 1, 1, aa.NEGATIVE]
    np.testing.assert_allclose(m.overlap[1], [-1, 20 / 224, 20 / 224, 4 / 240], rtol=1e-6)


def test_no_images(ctx):
    r = ctx.atss(aa.Anchors(ATSS_ANCHORS, [4], None), np.zeros((0, 4), f32), [0])
    assert r.gt_index.shape == (0, 4) and r.overlap.shape == (0, 4)
    assert ctx.overlaps(ATSS_ANCHORS, np.zeros((0, 4), f32), [0, 0]).shape == (0, 4)


def test_anchor_generation_mmdet_docstring():
    # AnchorGenerator([16], [1.], [1.], [9]).grid_priors([(2, 2)])
    a = aa.anchors(32, 32, strides=(16,), ratios=(1.0,), scales=(1.0,), base_sizes=(9,))
    np.testing.assert_array_equal(a.boxes, [[-4.5, -4.5, 4.5, 4.5], [11.5, -4.5, 20.5, 4.5],
                                            [-4.5, 11.5, 4.5, 20.5], [11.5, 11.5, 20.5, 20.5]])
    assert a.level_counts.tolist() == [4] and a.strides.tolist() == [16.0]


def test_anchor_counts_standard_canvas():
    atss = dict(ratios=(1.0,), octave_base_scale=8, scales_per_octave=1)
    assert aa.anchor_counts(800, 1344, **atss).tolist() == [16800, 4200, 1050, 273, 77]
    assert int(aa.anchor_counts(800, 1344).sum()) == 201600           # RetinaNet defaults
    a = aa.anchors(800, 1344, **atss)
    assert a.boxes.shape == (22400, 4) and a.boxes.dtype == np.float32
    assert a.boxes.flags.c_contiguous
    # first ATSS anchor: stride 8, scale 8 -> 64 x 64 centred at the origin
    assert a.boxes[0].tolist() == [-32, -32, 32, 32]
    p = aa.points(800, 1344)
    assert p.boxes.shape == (22400, 4) and p.boxes[1].tolist() == [12, 4, 12, 4]


@pytest.mark.parametrize("assigner", ["max_iou", "atss", "fcos"])
def test_workspace_and_reserve(ctx, assigner):
    anchors = aa.Anchors(ATSS_ANCHORS, [4], [8.0])
    n = ctx.workspace_size(assigner, anchors, ATSS_GT, [0, 1],
                           **({"regress_ranges": [(-1, 64)]} if assigner == "fcos" else {}))
    assert isinstance(n, int) and n >= 0
    ctx.reserve(n)
