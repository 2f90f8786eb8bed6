"""The converter to mmdetection's AssignResult encoding."""

import numpy as np
import pytest

import anchorassign as aa
from conftest import random_batch


def mmdet_reference(gt_index, offsets, ignore):
    """The encoding by its definition, one anchor at a time: gt_inds = k + 1 for the
    k-th non-crowd GT of the image, 0 negative, -1 ignored."""
    out = np.zeros(gt_index.shape, dtype=np.int64)
    num_gts = []
    for i in range(len(offsets) - 1):
        crowd = [bool(ignore[g]) if ignore is not None else False
                 for g in range(offsets[i], offsets[i + 1])]
        rank = {}
        for local, c in enumerate(crowd):
            if not c:
                rank[local] = len(rank) + 1
        num_gts.append(len(rank))
        for a, g in enumerate(gt_index[i]):
            out[i, a] = 0 if g == -1 else -1 if g == -2 else rank[int(g)]
    return np.array(num_gts, dtype=np.int64), out


def test_crowd_in_the_middle():
    # image 0: GT A, crowd, GT B; anchors assigned to A, B, negative, ignored
    r = aa.Assignment(np.array([[0, 2, -1, -2]], dtype=np.int32),
                      np.array([[0.9, 0.8, 0.1, 0.45]], dtype=np.float32),
                      np.array([[4, 9, -1, -1]], dtype=np.int32))
    mm = aa.to_mmdet(r, [0, 3], ignore=np.array([0, 1, 0], dtype=np.uint8))
    assert mm.gt_inds.tolist() == [[1, 2, 0, -1]]
    assert mm.gt_inds.dtype == np.int64 and mm.labels.dtype == np.int64
    assert mm.labels.tolist() == [[4, 9, -1, -1]]
    assert mm.num_gts.tolist() == [2]
    assert mm.max_overlaps is r.overlap                       # shared, not copied
    no_crowd = aa.to_mmdet(r._replace(gt_index=np.array([[0, 1, -1, -2]], dtype=np.int32)), [0, 3])
    assert no_crowd.gt_inds.tolist() == [[1, 2, 0, -1]] and no_crowd.num_gts.tolist() == [3]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("assigner", ["max_iou", "atss"])
def test_random_against_definition(ctx, seed, assigner):
    anchors, gt, off, ign, lab = random_batch(seed, per_location=1)
    params = {"ignore_iof_thr": 0.3} if assigner == "max_iou" else {}
    r = getattr(ctx, assigner)(anchors, gt, off, ignore=ign, labels=lab, **params)
    mm = aa.to_mmdet(r, off, ignore=ign)
    num_gts, gt_inds = mmdet_reference(r.gt_index, off, ign)
    assert np.array_equal(mm.gt_inds, gt_inds) and np.array_equal(mm.num_gts, num_gts)
    assert (gt_inds > 0).any() and (gt_inds == 0).any()
    assert np.array_equal(mm.labels, r.labels.astype(np.int64))
    # every positive's label is its GT's label (crowd GTs are never assigned)
    img, anc = np.nonzero(r.gt_index >= 0)
    glob = off[img] + r.gt_index[img, anc]
    assert not ign[glob].any()
    assert np.array_equal(r.labels[img, anc], lab[glob])


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    anchors, gt, off, ign, lab = random_batch(5, per_location=1)
    with aa.Context("cpu") as ctx:
        r = ctx.atss(anchors, gt, off, ignore=ign, labels=lab)
    rt = aa.Assignment(*(torch.from_numpy(x) for x in r))
    mm = aa.to_mmdet(rt, torch.from_numpy(off), ignore=torch.from_numpy(ign).bool())
    ref = aa.to_mmdet(r, off, ignore=ign)
    assert mm.gt_inds.dtype == torch.int64 and mm.labels.dtype == torch.int64
    assert np.array_equal(mm.gt_inds.numpy(), ref.gt_inds)
    assert np.array_equal(mm.num_gts.numpy(), ref.num_gts)
    assert np.array_equal(mm.labels.numpy(), ref.labels)


def test_bad_arguments():
    r = aa.Assignment(np.zeros((2, 3), dtype=np.int32), None, None)
    with pytest.raises(aa.Error, match="assignment.gt_index: expected shape"):
        aa.to_mmdet(r, [0, 1])
    with pytest.raises(aa.Error, match="ignore: expected shape"):
        aa.to_mmdet(r, [0, 1, 2], ignore=np.zeros(3, dtype=np.uint8))
    with pytest.raises(aa.Error, match="assignment.gt_index: expected dtype int32"):
        aa.to_mmdet(r._replace(gt_index=np.zeros((2, 3))), [0, 1, 2])
