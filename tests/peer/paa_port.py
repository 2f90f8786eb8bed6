"""A step-by-step PyTorch port of what decides a PAA assignment in mmdetection 3.x, with
scikit-learn's real GaussianMixture, for paa_peer.py. Ported (not copied) from:

  PAAHead.get_pos_loss        mmdet/models/dense_heads/paa_head.py
  FocalLoss (CPU path)        mmdet/models/losses/focal_loss.py: one_hot(target, C + 1)[:, :C],
                              py_sigmoid_focal_loss, reduction 'none'
  GIoULoss, giou_loss         mmdet/models/losses/iou_loss.py (eps 1e-6, loss_weight)
  bbox_overlaps(is_aligned)   mmdet/structures/bbox/bbox_overlaps.py, mode 'giou'
  delta2bbox                  mmdet/models/task_modules/coders/delta_xywh_bbox_coder.py
                              (max_shape None: no clipping)
  PAAHead.paa_reassign        per GT and level topk lowest losses, sort, GaussianMixture(2,
  gmm_separation_scheme       weights_init, means_init, precisions_init, covariance_type),
                              component 0 up to its highest score
and, for the original variant, the separation of kkhoot/PAA
(paa_core/modeling/rpn/paa/loss.py, compute_paa): every sorted candidate up to the most
likely one of component 0, all of them when component 0 is empty, a single candidate
positive.

Everything is float32 torch as in mmdetection; the mixture gets the float32 losses as a
(n, 1) NumPy array, exactly as mmdetection hands them over. Tie orders that torch leaves
unspecified (topk, sort) are made explicit (lower anchor index first, anchorassign's
documented choice); `ties` counts where that choice mattered.
"""
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture


def delta2bbox(rois, deltas, means=(0., 0., 0., 0.), stds=(0.1, 0.1, 0.2, 0.2),
               wh_ratio_clip=16 / 1000):
    """delta2bbox for [N, 4] deltas, no max_shape (get_pos_loss decodes without one)."""
    means = deltas.new_tensor(means).view(1, -1)
    stds = deltas.new_tensor(stds).view(1, -1)
    denorm = deltas * stds + means
    dxy, dwh = denorm[:, :2], denorm[:, 2:]
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = np.abs(np.log(wh_ratio_clip))
    dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    return torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)


def aligned_giou(b1, b2, eps):
    """bbox_overlaps(b1, b2, mode='giou', is_aligned=True, eps)."""
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    lt = torch.max(b1[:, :2], b2[:, :2])
    rb = torch.min(b1[:, 2:], b2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    union = area1 + area2 - overlap
    enclosed_lt = torch.min(b1[:, :2], b2[:, :2])
    enclosed_rb = torch.max(b1[:, 2:], b2[:, 2:])
    eps_t = union.new_tensor([eps])
    union = torch.max(union, eps_t)
    ious = overlap / union
    enclose_wh = (enclosed_rb - enclosed_lt).clamp(min=0)
    enclose_area = torch.max(enclose_wh[:, 0] * enclose_wh[:, 1], eps_t)
    return ious - (enclose_area - union) / enclose_area


def focal_loss(pred, labels, weight, gamma=2.0, alpha=0.25, loss_weight=1.0):
    """FocalLoss(use_sigmoid=True) on the CPU, reduction 'none': [N, C]."""
    num_classes = pred.size(1)
    target = F.one_hot(labels, num_classes=num_classes + 1)[:, :num_classes]
    pred_sigmoid = pred.sigmoid()
    target = target.type_as(pred)
    pt = (1 - pred_sigmoid) * target + pred_sigmoid * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight
    loss = loss * weight.view(-1, 1)  # weight_reduce_loss, reduction 'none'
    return loss_weight * loss


def giou_loss(pred, target, weight, eps=1e-6, loss_weight=1.3):
    """GIoULoss(loss_weight), reduction 'none', with a (N, 4) weight as get_pos_loss passes."""
    weight = weight.mean(-1)
    loss = (1 - aligned_giou(pred, target, eps)) * weight
    return loss_weight * loss


def f32(v):
    """A constant as float32 holds it: what float32 torch computes with anyway, and what
    anchorassign's float parameters hold, so that a float64 run differs by arithmetic only."""
    return float(np.float32(v))


def get_pos_loss(anchors, cls_score, bbox_pred, pos_label, pos_bbox_target, giou_weight):
    """PAAHead.get_pos_loss for the pre-assigned anchors (rows already gathered)."""
    stds = tuple(f32(s) for s in (0.1, 0.1, 0.2, 0.2))
    pos_bbox_pred = delta2bbox(anchors, bbox_pred, stds=stds, wh_ratio_clip=f32(16 / 1000))
    ones = cls_score.new_ones(cls_score.size(0))
    loss_cls = focal_loss(cls_score, pos_label, ones)
    loss_bbox = giou_loss(pos_bbox_pred, pos_bbox_target, ones[:, None].expand(-1, 4),
                          eps=f32(1e-6), loss_weight=f32(giou_weight))
    return loss_bbox + loss_cls.sum(-1)


def topk_lowest(values, k, ties):
    """values.topk(k, largest=False) with ties to the lower position (stable)."""
    order = torch.sort(values, stable=True)[1][:k]
    if k < values.numel() and bool(values[order[-1]] == torch.sort(values)[0][k]):
        ties['topk'] += 1
    return values[order], order


def fit_gmm(x, covariance):
    """GaussianMixture exactly as paa_reassign builds it. x: float32 (n, 1).
    Returns (gmm or None when scikit-learn raises, predict, score_samples)."""
    means_init = np.array([x.min(), x.max()]).reshape(2, 1)
    weights_init = np.array([0.5, 0.5])
    precisions_init = np.array([1.0, 1.0]).reshape(2, 1, 1)
    if covariance == 'diag':
        precisions_init = precisions_init.reshape(2, 1)
    gmm = GaussianMixture(2, weights_init=weights_init, means_init=means_init,
                          precisions_init=precisions_init, covariance_type=covariance)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        try:
            gmm.fit(x)
        except ValueError:  # ill-defined empirical covariance: mmdetection would raise
            return None, None, None
    return gmm, gmm.predict(x), gmm.score_samples(x)


def separate_mmdet(assignment, scores, pos_inds_gmm, ties):
    """gmm_separation_scheme: component 0 in sorted order up to its highest score."""
    fgs = torch.from_numpy(assignment == 0)
    if not fgs.any():
        return pos_inds_gmm[:0]
    fg_scores = torch.from_numpy(scores)[fgs]
    pos_thr_ind = int(torch.nonzero(fg_scores == fg_scores.max())[0])  # first on ties
    ties['score'] += int((fg_scores == fg_scores.max()).sum()) > 1
    return pos_inds_gmm[fgs][:pos_thr_ind + 1]


def separate_original(assignment, scores, pos_inds_gmm, ties):
    """kkhoot/PAA compute_paa: every sorted candidate up to fg_max_idx; all if no fg."""
    fgs = assignment == 0
    if not fgs.any():
        return pos_inds_gmm
    best = scores[fgs].max()
    ties['score'] += int((scores[fgs] == best).sum()) > 1
    fg_max_idx = int(np.nonzero(fgs & (scores == best))[0].min())
    return pos_inds_gmm[:fg_max_idx + 1]


def paa_reassign(pos_losses, pos_inds, pos_gt_inds, level_bounds, variant, ties, topk=9):
    """PAAHead.paa_reassign of one image: {kept GT index: (candidates sorted, float32
    losses, gmm, predict, score_samples, positives)} for every GT with a candidate."""
    out = {}
    if pos_inds.numel() == 0:
        return out
    for gt in range(int(pos_gt_inds.max()) + 1):
        inds, losses = [], []
        for lo, hi in level_bounds:
            mask = (pos_inds >= lo) & (pos_inds < hi) & (pos_gt_inds == gt)
            value, order = topk_lowest(pos_losses[mask], min(int(mask.sum()), topk), ties)
            inds.append(pos_inds[mask][order])
            losses.append(value)
        inds, losses = torch.cat(inds), torch.cat(losses)
        if inds.numel() == 0:
            continue
        losses, order = torch.sort(losses, stable=True)
        ties['sort'] += int((losses[1:] == losses[:-1]).sum())
        inds = inds[order]
        entry = dict(cands=inds, losses=losses, gmm=None, labels=None, scores=None)
        out[gt] = entry
        if inds.numel() < 2:  # "fix gmm need at least two sample"
            entry['pos'] = inds if variant['single_candidate_positive'] else inds[:0]
            continue
        x = losses.view(-1, 1).cpu().numpy()
        entry['gmm'], entry['labels'], entry['scores'] = fit_gmm(x, variant['covariance'])
        if entry['gmm'] is None:
            entry['pos'] = inds[:0]
            continue
        separate = separate_original if variant['name'] == 'original' else separate_mmdet
        entry['pos'] = separate(entry['labels'], entry['scores'], inds, ties)
    return out
