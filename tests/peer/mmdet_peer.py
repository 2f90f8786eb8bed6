#!/usr/bin/python3
"""Peer parity: anchorassign's CPU reference against mmdetection 3.x, on real COCO boxes.

mmdetection itself cannot be installed here (mmcv needs compiled ops), so this file ports
the few functions that decide an assignment, step for step, with the same float32 tensor
operations in the same order:

  bbox_overlaps            mmdet/structures/bbox/bbox_overlaps.py (non-aligned iou / iof)
  MaxIoUAssigner           mmdet/models/task_modules/assigners/max_iou_assigner.py
                           (assign + assign_wrt_overlaps)
  ATSSAssigner             mmdet/models/task_modules/assigners/atss_assigner.py
                           (assign, bbox_center_distance)
  FCOSHead targets         mmdet/models/dense_heads/fcos_head.py
                           (_get_targets_single, centerness_target)
  AnchorGenerator,         mmdet/models/task_modules/prior_generators/
  MlvlPointGenerator       (the anchor sets the assigners run on)

It reads what dump_workload wrote (manifest.json + raw little-endian arrays), runs the
port image by image as mmdetection would (crowd GTs go to gt_instances_ignore, labels are
the category ids), converts mmdetection's encoding to anchorassign's and compares
gt_index, labels and overlap (bitwise float32) of every (image, anchor).

Encodings: mmdetection gt_inds 0 -> -1 (negative), -1 -> -2 (ignored), k+1 -> the k-th
non-crowd GT of the image, mapped back to its index among all the image's GTs.

The only differences allowed are the ones docs/semantics.md documents; they are counted as
"explained", everything else fails:
  * ATSS threshold: anchorassign computes mean + std in double, torch in float32, so
    `IoU >= threshold` can differ where an IoU is within float rounding of the threshold.
  * ATSS top-k tie order: see topk_smallest below.

Usage: /usr/bin/python3 mmdet_peer.py DUMP_DIR   (exit 0 only if nothing unexplained)
"""
import csv
import json
import os
import sys
import time

import numpy as np
import torch

INF = 100000000  # mmdetection's INF in ATSSAssigner (int) and FCOSHead (1e8)
MAX_PRINT = 20   # mismatches printed per run (all are counted)


# --------------------------------------------------------------------------- mmdet ports

def bbox_overlaps(bboxes1, bboxes2, mode='iou', eps=1e-6):
    """bbox_overlaps(is_aligned=False), float32, mmdetection's order of operations."""
    rows, cols = bboxes1.size(-2), bboxes2.size(-2)
    if rows * cols == 0:
        return bboxes1.new_zeros((rows, cols))  # mmdet: bboxes1.new(rows, cols), never read
    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])
    lt = torch.max(bboxes1[..., :, None, :2], bboxes2[..., None, :, :2])
    rb = torch.min(bboxes1[..., :, None, 2:], bboxes2[..., None, :, 2:])
    wh = (rb - lt).clamp(min=0)  # fp16_clamp is a plain clamp for float32
    overlap = wh[..., 0] * wh[..., 1]
    if mode == 'iou':
        union = area1[..., None] + area2[..., None, :] - overlap
    else:  # 'iof': over the first argument's area
        union = area1[..., None]
    union = torch.max(union, union.new_tensor([eps]))
    return overlap / union


def max_iou_assign(priors, gt_bboxes, gt_labels, gt_bboxes_ignore, pos_iou_thr=0.5,
                   neg_iou_thr=0.4, min_pos_iou=0.0, gt_max_assign_all=True,
                   ignore_iof_thr=-1.0, ignore_wrt_candidates=True, match_low_quality=True):
    """MaxIoUAssigner.assign then assign_wrt_overlaps; returns (gt_inds, max_overlaps, labels)."""
    # assign(): overlaps of GTs (rows) with priors (columns)
    overlaps = bbox_overlaps(gt_bboxes, priors)
    # assign(): anchors whose IoF with an ignore box exceeds the threshold get -1 everywhere
    if (ignore_iof_thr > 0 and gt_bboxes_ignore is not None
            and gt_bboxes_ignore.numel() > 0 and priors.numel() > 0):
        if ignore_wrt_candidates:
            ignore_max_overlaps, _ = bbox_overlaps(priors, gt_bboxes_ignore, 'iof').max(dim=1)
        else:
            ignore_max_overlaps, _ = bbox_overlaps(gt_bboxes_ignore, priors, 'iof').max(dim=0)
        overlaps[:, ignore_max_overlaps > ignore_iof_thr] = -1

    # assign_wrt_overlaps() step 1: everything ignored (-1) by default
    num_gts, num_bboxes = overlaps.size(0), overlaps.size(1)
    assigned_gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
    if num_gts == 0 or num_bboxes == 0:
        max_overlaps = overlaps.new_zeros((num_bboxes,))
        if num_gts == 0:
            assigned_gt_inds[:] = 0
        return assigned_gt_inds, max_overlaps, overlaps.new_full((num_bboxes,), -1, dtype=torch.long)

    max_overlaps, argmax_overlaps = overlaps.max(dim=0)        # per prior, first GT on ties
    gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)  # per GT, first prior on ties
    # step 2: negatives (a float neg_iou_thr is [0, thr), a tuple [lo, hi))
    lo, hi = (0, neg_iou_thr) if isinstance(neg_iou_thr, float) else neg_iou_thr
    assigned_gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
    # step 3: positives
    pos_inds = max_overlaps >= pos_iou_thr
    assigned_gt_inds[pos_inds] = argmax_overlaps[pos_inds] + 1
    # step 4: low-quality matches, GTs in order (later GTs override earlier ones)
    if match_low_quality:
        for i in range(num_gts):
            if gt_max_overlaps[i] >= min_pos_iou:
                if gt_max_assign_all:
                    assigned_gt_inds[overlaps[i, :] == gt_max_overlaps[i]] = i + 1
                else:
                    assigned_gt_inds[gt_argmax_overlaps[i]] = i + 1
    # labels of positives
    assigned_labels = assigned_gt_inds.new_full((num_bboxes,), -1)
    pos = torch.nonzero(assigned_gt_inds > 0, as_tuple=False).squeeze()
    if pos.numel() > 0:
        assigned_labels[pos] = gt_labels[assigned_gt_inds[pos] - 1]
    return assigned_gt_inds, max_overlaps, assigned_labels


def bbox_center_distance(bboxes, priors):
    """atss_assigner.bbox_center_distance: [num_priors, num_gts] L2 distances of centres."""
    bbox_points = torch.stack(((bboxes[:, 0] + bboxes[:, 2]) / 2.0,
                               (bboxes[:, 1] + bboxes[:, 3]) / 2.0), dim=1)
    priors_points = torch.stack(((priors[:, 0] + priors[:, 2]) / 2.0,
                                 (priors[:, 1] + priors[:, 3]) / 2.0), dim=1)
    return (priors_points[:, None, :] - bbox_points[None, :, :]).pow(2).sum(-1).sqrt()


def topk_smallest(distances, k, stats):
    """The k smallest distances per column (GT), as mmdetection's
    `distances_per_level.topk(k, dim=0, largest=False)`, but with a defined tie order.

    torch.topk does not specify which of several equal values it returns, so at an exact
    distance tie across the k-th position two correct runs of mmdetection may pick
    different candidates. anchorassign breaks ties by the lower anchor index (documented
    in docs/semantics.md); a stable sort of the distances does exactly that, so the port
    makes the same choice. `stats` records how often torch.topk itself chose a different
    set, and checks that each such case is an exact tie at the k-th position.
    """
    values, order = torch.sort(distances, dim=0, stable=True)
    order = order[:k]
    torch_idx = distances.topk(k, dim=0, largest=False)[1]
    for g in range(distances.size(1)):
        ours = set(order[:, g].tolist())
        theirs = set(torch_idx[:, g].tolist())
        if ours != theirs:
            kth = values[k - 1, g]
            tie_only = all(bool(distances[a, g] == kth) for a in ours ^ theirs)
            stats['topk_differs'] += 1
            stats['topk_differs_not_tie'] += 0 if tie_only else 1
        # a tie across the k-th position: the only case where the tie order matters
        if k < distances.size(0) and bool(values[k - 1, g] == values[k, g]):
            stats['kth_ties'] += 1
    return order


def atss_assign(priors, num_level_priors, gt_bboxes, gt_labels, gt_bboxes_ignore, topk=9,
                ignore_iof_thr=-1.0, stats=None):
    """ATSSAssigner.assign (alpha=None); returns (gt_inds, max_overlaps, labels, extras)."""
    num_gt, num_priors = gt_bboxes.size(0), priors.size(0)
    # 1. IoU of every prior (rows) with every GT (columns)
    overlaps = bbox_overlaps(priors, gt_bboxes)
    assigned_gt_inds = overlaps.new_full((num_priors,), 0, dtype=torch.long)
    if num_gt == 0 or num_priors == 0:
        return (assigned_gt_inds, overlaps.new_zeros((num_priors,)),
                overlaps.new_full((num_priors,), -1, dtype=torch.long), None)
    # 2. centre distances; ignored priors are put at INF and marked -1
    distances = bbox_center_distance(gt_bboxes, priors)
    if (ignore_iof_thr > 0 and gt_bboxes_ignore is not None
            and gt_bboxes_ignore.numel() > 0 and priors.numel() > 0):
        ignore_max_overlaps, _ = bbox_overlaps(priors, gt_bboxes_ignore, 'iof').max(dim=1)
        ignore_idxs = ignore_max_overlaps > ignore_iof_thr
        distances[ignore_idxs, :] = INF
        assigned_gt_inds[ignore_idxs] = -1
    # 3. per level, the k nearest priors of each GT
    candidate_idxs = []
    start_idx = 0
    for priors_per_level in num_level_priors:
        end_idx = start_idx + priors_per_level
        selectable_k = min(topk, priors_per_level)
        idx = topk_smallest(distances[start_idx:end_idx, :], selectable_k, stats)
        candidate_idxs.append(idx + start_idx)
        start_idx = end_idx
    candidate_idxs = torch.cat(candidate_idxs, dim=0)
    # 4. threshold = mean + std (unbiased) of the candidates' IoU, in float32
    candidate_overlaps = overlaps[candidate_idxs, torch.arange(num_gt)]
    overlaps_thr_per_gt = candidate_overlaps.mean(0) + candidate_overlaps.std(0)
    is_pos = candidate_overlaps >= overlaps_thr_per_gt[None, :]
    # 6. the candidate's centre must lie inside the GT by more than 0.01
    extras = dict(candidates=candidate_idxs.clone(), candidate_overlaps=candidate_overlaps,
                  thr=overlaps_thr_per_gt)
    for gt_idx in range(num_gt):
        candidate_idxs[:, gt_idx] += gt_idx * num_priors
    priors_cx = (priors[:, 0] + priors[:, 2]) / 2.0
    priors_cy = (priors[:, 1] + priors[:, 3]) / 2.0
    ep_priors_cx = priors_cx.view(1, -1).expand(num_gt, num_priors).contiguous().view(-1)
    ep_priors_cy = priors_cy.view(1, -1).expand(num_gt, num_priors).contiguous().view(-1)
    candidate_idxs = candidate_idxs.view(-1)
    l_ = ep_priors_cx[candidate_idxs].view(-1, num_gt) - gt_bboxes[:, 0]
    t_ = ep_priors_cy[candidate_idxs].view(-1, num_gt) - gt_bboxes[:, 1]
    r_ = gt_bboxes[:, 2] - ep_priors_cx[candidate_idxs].view(-1, num_gt)
    b_ = gt_bboxes[:, 3] - ep_priors_cy[candidate_idxs].view(-1, num_gt)
    is_in_gts = torch.stack([l_, t_, r_, b_], dim=1).min(dim=1)[0] > 0.01
    is_pos = is_pos & is_in_gts
    # 7. a prior positive for several GTs goes to the highest IoU (first GT on ties)
    overlaps_inf = torch.full_like(overlaps, -INF).t().contiguous().view(-1)
    index = candidate_idxs.view(-1)[is_pos.view(-1)]
    overlaps_inf[index] = overlaps.t().contiguous().view(-1)[index]
    overlaps_inf = overlaps_inf.view(num_gt, -1).t()
    max_overlaps, argmax_overlaps = overlaps_inf.max(dim=1)
    assigned_gt_inds[max_overlaps != -INF] = argmax_overlaps[max_overlaps != -INF] + 1
    assigned_labels = assigned_gt_inds.new_full((num_priors,), -1)
    pos = torch.nonzero(assigned_gt_inds > 0, as_tuple=False).squeeze()
    if pos.numel() > 0:
        assigned_labels[pos] = gt_labels[assigned_gt_inds[pos] - 1]
    return assigned_gt_inds, max_overlaps, assigned_labels, extras


FCOS_REGRESS_RANGES = ((-1, 64), (64, 128), (128, 256), (256, 512), (512, INF))


def fcos_targets_single(gt_bboxes, gt_labels, points, regress_ranges, num_points_per_lvl,
                        strides, num_classes, center_sampling, center_sample_radius=1.5):
    """FCOSHead._get_targets_single; also returns min_area / min_area_inds, which say which
    GT each point took (mmdetection keeps them internal)."""
    num_points, num_gts = points.size(0), gt_bboxes.size(0)
    if num_gts == 0:
        return (gt_labels.new_full((num_points,), num_classes), gt_bboxes.new_zeros((num_points, 4)),
                None, None)
    areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
    areas = areas[None].repeat(num_points, 1)
    regress_ranges = regress_ranges[:, None, :].expand(num_points, num_gts, 2)
    gt_bboxes = gt_bboxes[None].expand(num_points, num_gts, 4)
    xs = points[:, 0][:, None].expand(num_points, num_gts)
    ys = points[:, 1][:, None].expand(num_points, num_gts)
    left = xs - gt_bboxes[..., 0]
    right = gt_bboxes[..., 2] - xs
    top = ys - gt_bboxes[..., 1]
    bottom = gt_bboxes[..., 3] - ys
    bbox_targets = torch.stack((left, top, right, bottom), -1)
    if center_sampling:
        # condition 1: inside the GT's centre box (centre +- radius * stride, clipped to the GT)
        radius = center_sample_radius
        center_xs = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) / 2
        center_ys = (gt_bboxes[..., 1] + gt_bboxes[..., 3]) / 2
        center_gts = torch.zeros_like(gt_bboxes)
        stride = center_xs.new_zeros(center_xs.shape)
        lvl_begin = 0
        for lvl_idx, num_points_lvl in enumerate(num_points_per_lvl):
            lvl_end = lvl_begin + num_points_lvl
            stride[lvl_begin:lvl_end] = strides[lvl_idx] * radius
            lvl_begin = lvl_end
        x_mins, y_mins = center_xs - stride, center_ys - stride
        x_maxs, y_maxs = center_xs + stride, center_ys + stride
        center_gts[..., 0] = torch.where(x_mins > gt_bboxes[..., 0], x_mins, gt_bboxes[..., 0])
        center_gts[..., 1] = torch.where(y_mins > gt_bboxes[..., 1], y_mins, gt_bboxes[..., 1])
        center_gts[..., 2] = torch.where(x_maxs > gt_bboxes[..., 2], gt_bboxes[..., 2], x_maxs)
        center_gts[..., 3] = torch.where(y_maxs > gt_bboxes[..., 3], gt_bboxes[..., 3], y_maxs)
        center_bbox = torch.stack((xs - center_gts[..., 0], ys - center_gts[..., 1],
                                   center_gts[..., 2] - xs, center_gts[..., 3] - ys), -1)
        inside_gt_bbox_mask = center_bbox.min(-1)[0] > 0
    else:
        # condition 1: inside the GT
        inside_gt_bbox_mask = bbox_targets.min(-1)[0] > 0
    # condition 2: the largest distance within the level's regress range
    max_regress_distance = bbox_targets.max(-1)[0]
    inside_regress_range = ((max_regress_distance >= regress_ranges[..., 0])
                            & (max_regress_distance <= regress_ranges[..., 1]))
    # several GTs left: the smallest area (first GT on ties); invalid pairs count as INF
    areas[inside_gt_bbox_mask == 0] = INF
    areas[inside_regress_range == 0] = INF
    min_area, min_area_inds = areas.min(dim=1)
    labels = gt_labels[min_area_inds]
    labels[min_area == INF] = num_classes  # background
    bbox_targets = bbox_targets[range(num_points), min_area_inds]
    return labels, bbox_targets, min_area, min_area_inds


def centerness_target(pos_bbox_targets):
    """FCOSHead.centerness_target."""
    left_right = pos_bbox_targets[:, [0, 2]]
    top_bottom = pos_bbox_targets[:, [1, 3]]
    if len(left_right) == 0:
        centerness_targets = left_right[..., 0]
    else:
        centerness_targets = (left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0]) * (
            top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0])
    return torch.sqrt(centerness_targets)


def anchor_generator(strides, ratios, octave_base_scale, scales_per_octave, featmap_sizes):
    """AnchorGenerator(center_offset=0, scale_major=True).grid_priors, levels concatenated."""
    scales = torch.Tensor(np.array([2 ** (i / scales_per_octave)
                                    for i in range(scales_per_octave)]) * octave_base_scale)
    ratios = torch.Tensor(ratios)
    out = []
    for stride, (feat_h, feat_w) in zip(strides, featmap_sizes):
        w = h = stride  # base size = stride
        x_center, y_center = 0.0 * w, 0.0 * h
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        ws = (w * w_ratios[:, None] * scales[None, :]).view(-1)
        hs = (h * h_ratios[:, None] * scales[None, :]).view(-1)
        base = torch.stack([x_center - 0.5 * ws, y_center - 0.5 * hs,
                            x_center + 0.5 * ws, y_center + 0.5 * hs], dim=-1)
        shift_x = torch.arange(0, feat_w).to(torch.float32) * stride
        shift_y = torch.arange(0, feat_h).to(torch.float32) * stride
        xx = shift_x.repeat(shift_y.shape[0])
        yy = shift_y.view(-1, 1).repeat(1, shift_x.shape[0]).view(-1)
        shifts = torch.stack([xx, yy, xx, yy], dim=-1)
        out.append((base[None, :, :] + shifts[:, None, :]).view(-1, 4))
    return torch.cat(out)


def point_generator(strides, featmap_sizes, offset=0.5):
    """MlvlPointGenerator(offset).grid_priors (x, y), levels concatenated."""
    out = []
    for stride, (feat_h, feat_w) in zip(strides, featmap_sizes):
        shift_x = ((torch.arange(0, feat_w) + offset) * stride).to(torch.float32)
        shift_y = ((torch.arange(0, feat_h) + offset) * stride).to(torch.float32)
        xx = shift_x.repeat(shift_y.shape[0])
        yy = shift_y.view(-1, 1).repeat(1, shift_x.shape[0]).view(-1)
        out.append(torch.stack([xx, yy], dim=-1))
    return torch.cat(out)


# --------------------------------------------------------------------------- the comparison

class Dump:
    def __init__(self, root):
        self.root = root
        with open(os.path.join(root, 'manifest.json')) as f:
            self.m = json.load(f)

    def array(self, name, dtype, shape):
        a = np.fromfile(os.path.join(self.root, name), dtype=np.dtype(dtype).newbyteorder('<'))
        return a.reshape(shape)


def f32_bits(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.int32)


class Run:
    """Counts of one comparison."""

    def __init__(self, name, what):
        self.name, self.what = name, what
        self.compared = self.positives = self.ignored = 0
        self.explained = self.unexplained = 0
        self.printed = 0
        self.notes = []

    def mismatch(self, text, explanation):
        if explanation:
            self.explained += 1
        else:
            self.unexplained += 1
        if self.printed < MAX_PRINT:
            print(f'  {"explained" if explanation else "MISMATCH"}: {text}'
                  + (f' -- {explanation}' if explanation else ''))
            self.printed += 1

    def report(self):
        line = (f'{self.name:<22} {self.what:<12} compared {self.compared:>9}  positives '
                f'{self.positives:>6}  ignored {self.ignored:>5}  mismatches: '
                f'{self.unexplained} unexplained, {self.explained} explained')
        print(line)
        for n in self.notes:
            print(f'  note: {n}')
        return self.unexplained == 0 and self.compared > 0


def check_anchors(dump):
    """The anchor sets themselves, against AnchorGenerator / MlvlPointGenerator."""
    runs = []
    H, W = dump.m['canvas']
    for name, spec in dump.m['anchor_sets'].items():
        r = Run(f'anchors {name}', 'generator')
        strides = [int(s) for s in spec['strides']]
        sizes = [(-(-H // s), -(-W // s)) for s in strides]  # ceil: the padded FPN maps
        ours = dump.array(spec['file'], '<f4', (spec['num_anchors'], 4))
        if name == 'coco-retina':
            peer = anchor_generator(strides, [0.5, 1.0, 2.0], 4, 3, sizes).numpy()
        elif name == 'coco-atss':
            peer = anchor_generator(strides, [1.0], 8, 1, sizes).numpy()
        elif name == 'fcos-points':  # points as zero-size boxes
            p = point_generator(strides, sizes).numpy()
            peer = np.concatenate([p, p], axis=1)
        else:
            print(f'{r.name:<22} skipped: not a standard anchor set')
            continue
        per_loc = {'coco-retina': 9}.get(name, 1)
        counts = [h * w * per_loc for h, w in sizes]
        if counts != spec['level_counts'] or peer.shape != ours.shape:
            r.mismatch(f'level counts {spec["level_counts"]} vs mmdetection {counts}', None)
        else:
            r.compared = ours.size
            bad = np.nonzero((f32_bits(ours) != f32_bits(peer)).any(axis=1))[0]
            for a in bad:
                r.mismatch(f'anchor {a}: ours {ours[a].tolist()} mmdet {peer[a].tolist()}', None)
        runs.append(r)
    return runs


def check_pipeline(dump, gts_per_image):
    """Informational: where the loader's GT boxes would differ from mmdetection 3.x's data
    pipeline (CocoDataset drops boxes with w < 1 or h < 1 or no area inside the image;
    Resize(clip_object_border=True) clips boxes to the resized image). Never fails: the
    peer and the reference are both fed the loader's boxes."""
    src = dump.m['source']
    if not os.path.exists(src):
        return []
    want = set(dump.m['image_ids'])
    rows = {}
    with open(src) as f:
        for row in csv.DictReader(f):
            if int(row['image_id']) in want:
                rows.setdefault(int(row['image_id']), []).append(row)
    notes = []
    for img, image_id in enumerate(dump.m['image_ids']):
        boxes = gts_per_image[img][0]
        for j, row in enumerate(rows.get(image_id, [])):
            x, y, w, h = (float(row[k]) for k in ('x', 'y', 'w', 'h'))
            iw, ih = int(row['width']), int(row['height'])
            inter_w = max(0.0, min(x + w, iw) - max(x, 0.0))
            inter_h = max(0.0, min(y + h, ih) - max(y, 0.0))
            if inter_w * inter_h == 0 or w < 1 or h < 1:
                notes.append(f'image {img} (id {image_id}) GT {j}: w={w} h={h}: '
                             'CocoDataset would drop it')
            scale = min(1333 / iw, 800 / ih)
            nw, nh = int(iw * scale + 0.5), int(ih * scale + 0.5)
            b = boxes[j]
            if b[0] < 0 or b[1] < 0 or b[2] > nw or b[3] > nh:
                notes.append(f'image {img} (id {image_id}) GT {j}: {b.tolist()} leaves the '
                             f'{nw}x{nh} resized image: Resize would clip it')
    return notes


def compare(run, ours_gt, ours_ov, ours_lab, peer_gt, peer_ov, peer_lab, img, explain):
    """Compares one image of a run; explain(anchor) -> str or None for a mismatch."""
    run.compared += ours_gt.size
    run.positives += int((ours_gt >= 0).sum())
    run.ignored += int((ours_gt == -2).sum())
    bad = (ours_gt != peer_gt) | (f32_bits(ours_ov) != f32_bits(peer_ov)) | (ours_lab != peer_lab)
    for a in np.nonzero(bad)[0]:
        run.mismatch(f'image {img} anchor {a}: ours gt {ours_gt[a]} label {ours_lab[a]} '
                     f'overlap {ours_ov[a]!r}; mmdet gt {peer_gt[a]} label {peer_lab[a]} '
                     f'overlap {peer_ov[a]!r}', explain(a))


def to_ours(gt_inds, kept):
    """mmdetection gt_inds -> anchorassign gt_index (see the module docstring)."""
    gt_inds = gt_inds.numpy()
    out = np.where(gt_inds == 0, -1, -2).astype(np.int32)
    pos = gt_inds > 0
    out[pos] = kept[gt_inds[pos] - 1]
    return out


def main():
    if len(sys.argv) != 2:
        print('usage: mmdet_peer.py DUMP_DIR', file=sys.stderr)
        return 2
    t0 = time.time()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    dump = Dump(sys.argv[1])
    m = dump.m
    I, G = m['num_images'], m['num_gts']
    offsets = dump.array('offsets.i64', '<i8', (I + 1,))
    all_boxes = dump.array('gt_boxes.f32', '<f4', (G, 4))
    all_crowd = dump.array('gt_crowd.u8', 'u1', (G,))
    all_labels = dump.array('gt_labels.i32', '<i4', (G,))
    num_classes = int(all_labels.max()) + 1 if G else 1

    # per image: (boxes, kept local indices, gt_instances, gt_instances_ignore, labels)
    images = []
    for i in range(I):
        s, e = offsets[i], offsets[i + 1]
        boxes, crowd, labels = all_boxes[s:e], all_crowd[s:e], all_labels[s:e]
        kept = np.nonzero(crowd == 0)[0].astype(np.int32)
        images.append((boxes, kept, torch.from_numpy(boxes[crowd == 0].copy()),
                       torch.from_numpy(boxes[crowd != 0].copy()),
                       torch.from_numpy(labels[crowd == 0].astype(np.int64))))
    print(f'peer: {I} images, {G} GTs ({int(all_crowd.sum())} crowd), torch {torch.__version__}')

    results = check_anchors(dump)
    for r in results:
        r.report()

    # The peer's result for one image, memoised: for an image without crowd boxes
    # mmdetection skips the ignore step, so an ignore run's result there is the same
    # call with the same inputs as the plain run's, and is computed once.
    cache = {}
    for spec in m['runs']:
        aset = m['anchor_sets'][spec['anchors']]
        A = aset['num_anchors']
        priors = torch.from_numpy(dump.array(aset['file'], '<f4', (A, 4)).copy())
        ours_gt = dump.array(spec['name'] + '.gt_index.i32', '<i4', (I, A))
        ours_ov = dump.array(spec['name'] + '.overlap.f32', '<f4', (I, A))
        ours_lab = dump.array(spec['name'] + '.labels.i32', '<i4', (I, A))
        run = Run(spec['name'], spec['anchors'])
        stats = dict(topk_differs=0, topk_differs_not_tie=0, kth_ties=0)
        for i, image in enumerate(images):
            ignore = (float(spec['ignore_iof_thr']), spec.get('ignore_wrt_candidates', 1))
            key = (spec['assigner'], spec['anchors'], spec['center_sampling'], i,
                   ignore if image[3].numel() > 0 else None)
            if key not in cache:
                cache[key] = peer_image(spec, aset, priors, image, num_classes)
            peer_gt, peer_ov, peer_lab, explain, image_stats = cache[key]
            for k, v in image_stats.items():
                stats[k] += v
            compare(run, ours_gt[i], ours_ov[i], ours_lab[i], peer_gt, peer_ov, peer_lab, i,
                    explain)

        if spec['assigner'] == 'atss':
            run.notes.append(
                f'top-k: {stats["kth_ties"]} (GT, level) pairs with an exact distance tie across '
                f'the k-th position; torch.topk chose a different candidate set in '
                f'{stats["topk_differs"]} ({stats["topk_differs_not_tie"]} not explained by a tie)')
            if stats['topk_differs_not_tie']:
                run.unexplained += stats['topk_differs_not_tie']
        results.append(run)
        run.report()

    for n in check_pipeline(dump, images):
        print(f'note (data pipeline, not compared): {n}')

    passed = sum(1 for r in results if r.unexplained == 0 and r.compared > 0)
    failed = len(results) - passed
    total = sum(r.compared for r in results)
    print(f'{total} values compared in {time.time() - t0:.1f} s')
    print(f'peer parity: {passed} passed, {failed} failed')
    return 0 if failed == 0 and total > 0 else 1


def peer_image(spec, aset, priors, image, num_classes):
    """mmdetection's assignment of one image in anchorassign's encoding:
    (gt_index, overlap, labels, explain(anchor) -> str or None, top-k statistics)."""
    boxes, kept, gt_b, ign_b, gt_l = image
    A = priors.size(0)
    thr = float(spec['ignore_iof_thr'])
    stats = dict(topk_differs=0, topk_differs_not_tie=0, kth_ties=0)
    explain = lambda a: None  # noqa: E731 - only ATSS has documented differences
    if spec['assigner'] == 'max_iou':
        gt_inds, ov, lab = max_iou_assign(
            priors, gt_b, gt_l, ign_b, ignore_iof_thr=thr,
            ignore_wrt_candidates=bool(spec.get('ignore_wrt_candidates', 1)))
        return to_ours(gt_inds, kept), ov.numpy(), lab.numpy().astype(np.int32), explain, stats
    if spec['assigner'] == 'atss':
        gt_inds, ov, lab, ex = atss_assign(priors, aset['level_counts'], gt_b, gt_l, ign_b,
                                           ignore_iof_thr=thr, stats=stats)
        if ex is not None:
            explain = atss_explainer(ex)
        return to_ours(gt_inds, kept), ov.numpy(), lab.numpy().astype(np.int32), explain, stats
    # FCOS: the points are the anchors' centres; dump_workload's are zero-size boxes (x,y,x,y)
    level_counts = aset['level_counts']
    points = priors[:, :2]
    regress_ranges = torch.cat([points.new_tensor(FCOS_REGRESS_RANGES[l])[None].expand(n, 2)
                                for l, n in enumerate(level_counts)])
    strides = [int(s) for s in aset['strides']]
    lab, targets, min_area, min_inds = fcos_targets_single(
        gt_b, gt_l, points, regress_ranges, level_counts, strides, num_classes,
        bool(spec['center_sampling']))
    peer_gt = np.full(A, -1, np.int32)
    peer_ov = np.zeros(A, np.float32)
    peer_lab = np.full(A, -1, np.int32)
    if min_area is not None:
        pos = (min_area != INF).numpy()  # labels[min_area == INF] = background
        peer_gt[pos] = kept[min_inds.numpy()[pos]]
        peer_ov[pos] = centerness_target(targets[torch.from_numpy(pos)]).numpy()
        peer_lab[pos] = lab.numpy()[pos]
    return peer_gt, peer_ov, peer_lab, explain, stats


def atss_explainer(ex):
    """A mismatch is explained when the anchor is a candidate of some GT whose float32
    threshold lies within float rounding of the anchor's IoU (docs/semantics.md, ATSS
    step 3: anchorassign's threshold is computed in double)."""
    cand, cov, thr = ex['candidates'], ex['candidate_overlaps'], ex['thr']

    def explain(a):
        hits = (cand == int(a)).nonzero(as_tuple=False)
        for j, g in hits.tolist():
            iou, t = float(cov[j, g]), float(thr[g])
            if abs(iou - t) <= 4e-7 * max(1.0, abs(t)):
                c = cov[:, g].double()
                t64 = float(c.mean() + c.std())
                return (f'IoU {iou!r} with GT {g} (non-crowd index) within 1 ulp-ish of the '
                        f'threshold: float32 {t!r}, double {t64!r}')
        return None
    return explain


if __name__ == '__main__':
    sys.exit(main())
