#!/usr/bin/python3
"""Peer parity of PAA: anchorassign's CPU reference against mmdetection 3.x's PAAHead
(paa_port.py) with scikit-learn's real GaussianMixture, on real COCO boxes and synthetic
head outputs (what dump_paa wrote).

For each variant (mmdet: 'diag', GIoU weight 1.3; original: 'full', weight 1, kkhoot/PAA's
separation and single candidates), for every (image, anchor):
  pre       MaxIoUAssigner(0.1, 0.1, min_pos_iou 0) (mmdet_peer.max_iou_assign) against
            pre.gt_index: identical;
  costs     get_pos_loss in float32 torch against aa_paa_costs (double, rounded to
            float32): relative difference <= COST_RTOL, the maximum reported; +inf where
            not pre-assigned;
  torch     paa_reassign on the torch costs against aa_assign_paa (gt_index, labels; the
            overlap output must be the C cost);
  ccosts    paa_reassign on the C costs: the GMM and selection compared on equal inputs.
A positive that differs is explained only by a near-tie, printed with its numbers
(explain()): with torch's costs, candidates that cross a level's top-k boundary or swap
places in the sorted order while their costs lie within the cost tolerance of each other;
on either run, a candidate whose two component log-probabilities, the two highest scores
of component 0, or the last lower-bound change against tol agree to NEAR. Anything else
fails, with a diagnosis where one is known (mmdetection's separation where the original
code's was expected; scikit-learn on float64 finding other components).

Usage: /usr/bin/python3 paa_peer.py DUMP_DIR   (exit 0 only if nothing unexplained)
"""
import os
import sys
import time

import numpy as np
import sklearn
import torch

from mmdet_peer import Dump, max_iou_assign, to_ours
from paa_port import fit_gmm, get_pos_loss, paa_reassign, separate_mmdet

COST_RTOL = 1e-5  # float32 torch against double rounded to float32 (else explained below)
COST64_RTOL = 2.0 ** -24 * (1 + 1e-6)  # the float64 port: only our rounding to float32
NEAR = 1e-4       # a near-tie of costs (relative), GMM log-probabilities or lower bounds
MAX_PRINT = 20


class Tally:
    def __init__(self, name):
        self.name, self.compared, self.positives = name, 0, 0
        self.explained, self.unexplained, self.printed = 0, 0, 0
        self.notes = []

    def diff(self, text, reason):
        if reason:
            self.explained += 1
        else:
            self.unexplained += 1
        if self.printed < MAX_PRINT:
            self.printed += 1
            print(f'  {"explained" if reason else "MISMATCH"}: {text}'
                  + (f' -- {reason}' if reason else ''))

    def report(self):
        print(f'{self.name:<18} compared {self.compared:>8}  positives {self.positives:>6}  '
              f'differences: {self.unexplained} unexplained, {self.explained} explained')
        for n in self.notes:
            print(f'  note: {n}')
        return self.unexplained == 0 and self.compared > 0


def load(dump):
    m = dump.m
    I, G, A, C = m['num_images'], m['num_gts'], m['num_anchors'], m['num_classes']
    d = dict(I=I, A=A, C=C, levels=m['level_counts'])
    d['anchors'] = torch.from_numpy(dump.array('anchors.f32', '<f4', (A, 4)).copy())
    d['offsets'] = dump.array('offsets.i64', '<i8', (I + 1,))
    d['boxes'] = dump.array('gt_boxes.f32', '<f4', (G, 4))
    d['crowd'] = dump.array('gt_crowd.u8', 'u1', (G,))
    d['labels'] = dump.array('gt_labels.i32', '<i4', (G,))
    d['deltas'] = dump.array('deltas.f32', '<f4', (I, A, 4))
    d['rows'] = dump.array('logit_rows.i64', '<i8', (m['logit_rows'],))
    d['logits'] = dump.array('logits.f32', '<f4', (m['logit_rows'], C))
    d['pre'] = dump.array('pre.gt_index.i32', '<i4', (I, A))
    for v in m['variants']:
        for what, ext in (('costs', 'f32'), ('gt_index', 'i32'), ('overlap', 'f32'),
                          ('labels', 'i32')):
            d[f'{v}.{what}'] = dump.array(f'{v}.{what}.{ext}', '<' + ext[0] + '4', (I, A))
    return d


def image(d, i):
    """(kept local indices, non-crowd boxes, their labels, crowd boxes) of image i."""
    s, e = d['offsets'][i], d['offsets'][i + 1]
    crowd = d['crowd'][s:e]
    kept = np.nonzero(crowd == 0)[0].astype(np.int32)
    boxes, labels = d['boxes'][s:e], d['labels'][s:e]
    return (kept, torch.from_numpy(boxes[crowd == 0].copy()),
            torch.from_numpy(labels[crowd == 0].astype(np.int64)),
            torch.from_numpy(boxes[crowd != 0].copy()))


def torch_costs(d, i, pos_inds, pos_gt, gt_b, gt_l, giou_weight, dtype):
    """get_pos_loss of image i's pre-assigned anchors, in dtype."""
    rows = i * d['A'] + pos_inds.numpy()
    at = np.searchsorted(d['rows'], rows)
    if not np.array_equal(d['rows'][at], rows):
        raise SystemExit('paa_peer: a pre-assigned anchor has no dumped logits '
                         '(the pre-assignments differ: see above)')
    return get_pos_loss(d['anchors'][pos_inds].to(dtype),
                        torch.from_numpy(d['logits'][at].copy()).to(dtype),
                        torch.from_numpy(d['deltas'][i][pos_inds.numpy()].copy()).to(dtype),
                        gt_l[pos_gt], gt_b[pos_gt].to(dtype), giou_weight)


def near(a, b, scale=1.0):
    return abs(a - b) <= NEAR * max(scale, abs(a), abs(b))


def close(values):
    """Costs within the cost tolerance of each other (either side's rounding can order them)."""
    return max(values) - min(values) <= 2 * COST_RTOL * max(abs(v) for v in values)


def explain(ours_pos, peer, other, cost_of, level_of):
    """Why one GT's positives differ. peer: the peer's entry; other: the same GT's entry
    from the other cost source (None for the equal-costs run); cost_of(anchor): the cost
    the peer used; level_of(anchor). Returns a reason, or None: unexplained."""
    c = peer['cands'].tolist()
    if other is not None and other['cands'].tolist() != c:
        o = other['cands'].tolist()
        swapped = set(c) ^ set(o)
        if swapped:  # per level, the anchors that moved across the top-k boundary
            for lvl in {level_of(a) for a in swapped}:
                near_k = [cost_of(a) for a in swapped if level_of(a) == lvl]
                if len(near_k) < 2 or not close(near_k):
                    return None
            return f'top-k near-tie of costs: {sorted(swapped)}'
        moved = [j for j in range(len(c)) if c[j] != o[j]]
        if close([cost_of(c[j]) for j in moved]):
            return f'sorting near-tie of costs at positions {moved}'
        return None
    if peer['gmm'] is None:
        return None
    g = peer['gmm']
    xs = peer['losses'].view(-1, 1).numpy()
    wlp = g._estimate_weighted_log_prob(xs)
    margin = np.abs(wlp[:, 0] - wlp[:, 1])
    reasons = []
    # a candidate whose component is a near-tie, from where the two sides' sets part
    flip = [j for j in range(len(c)) if (c[j] in ours_pos) != (c[j] in peer['pos'].tolist())]
    if flip and margin[min(flip):].min() <= NEAR * max(1.0, np.abs(wlp).max()):
        reasons.append(f'component near-tie: min |log p0 - log p1| = {margin[min(flip):].min():.3g}')
    fg = np.nonzero(peer['labels'] == 0)[0]
    if len(fg) > 1:
        top = np.sort(peer['scores'][fg])[-2:]
        if near(top[0], top[1]):
            reasons.append(f'near-tie of the two highest scores of component 0: {top.tolist()}')
    lbs = getattr(g, 'lower_bounds_', [])
    if len(lbs) >= 2 and near(abs(lbs[-1] - lbs[-2]), g.tol, g.tol):
        reasons.append(f'convergence near-tie: |change| {abs(lbs[-1] - lbs[-2]):.6g} vs tol')
    return '; '.join(reasons) or None


def float64_note(e):
    """Not an explanation, a diagnosis: scikit-learn on the same losses as float64."""
    if e['gmm'] is None:
        return ''
    g64, lab64, _ = fit_gmm(e['losses'].view(-1, 1).numpy().astype(np.float64),
                            e['gmm'].covariance_type)
    if g64 is None or (lab64 != e['labels']).any():
        return (' [scikit-learn given these losses as float64 instead of float32 finds other '
                'components: the float32 arithmetic decides]')
    return ''


def check_costs(tally, d, i, vname, giou_weight, pos_inds, pos_gt, gt_b, gt_l, worst):
    """aa_paa_costs of image i against get_pos_loss in float32 (mmdetection) and in float64
    (the same port on double tensors); the overlap output must be the cost, +inf where not
    pre-assigned. Returns the float32 costs."""
    ours_c, ours_ov = d[f'{vname}.costs'][i], d[f'{vname}.overlap'][i]
    oc = ours_c[pos_inds.numpy()].astype(np.float64)
    c32 = torch_costs(d, i, pos_inds, pos_gt, gt_b, gt_l, giou_weight, torch.float32)
    c64 = torch_costs(d, i, pos_inds, pos_gt, gt_b, gt_l, giou_weight, torch.float64).numpy()
    rel32 = np.abs(oc - c32.numpy()) / np.abs(c32.numpy().astype(np.float64))
    rel64 = np.abs(oc - c64) / np.abs(c64)
    tally.compared += len(oc)
    for k, rel, peer in (('f32', rel32, c32.numpy()), ('f64', rel64, c64)):
        if len(rel) and rel.max() > worst[k][0]:
            j = int(rel.argmax())
            worst[k] = (float(rel[j]), (i, int(pos_inds[j]), float(oc[j]), float(peer[j])))
    for j in np.nonzero((rel32 > COST_RTOL) | (rel64 > COST64_RTOL))[0]:
        ok = rel64[j] <= COST64_RTOL
        tally.diff(f'image {i} anchor {int(pos_inds[j])}: cost {oc[j]!r} torch float32 '
                   f'{float(c32[j])!r} (relative {rel32[j]:.3g}), float64 {c64[j]!r}',
                   f'float32 rounding in torch: the float64 port agrees to {rel64[j]:.2g}'
                   if ok else None)
    not_pre = np.ones(d['A'], bool)
    not_pre[pos_inds.numpy()] = False
    expect_ov = np.where(not_pre, np.float32(np.inf), ours_c)
    if not np.array_equal(ours_ov.view(np.int32), expect_ov.view(np.int32)) \
            or not np.isposinf(ours_c[not_pre]).all():
        tally.diff(f'image {i}: the overlap output is not the cost (+inf where not pre-assigned)',
                   None)
    return c32


def compare(tally, d, i, kept, pre_i, peer, ours_gt, ours_lab, other, cost_of, level_of):
    """Compares image i: gt_index and labels of every anchor."""
    A = d['A']
    peer_gt = np.where(pre_i == -2, -2, -1).astype(np.int32)
    for gt, e in peer.items():
        peer_gt[e['pos'].numpy()] = kept[gt]
    s = d['offsets'][i]
    peer_lab = np.where(peer_gt >= 0, d['labels'][s + np.maximum(peer_gt, 0)], -1)
    tally.compared += A
    tally.positives += int((ours_gt >= 0).sum())
    bad_lab = np.nonzero((ours_lab != peer_lab) & (ours_gt == peer_gt))[0]
    for a in bad_lab:
        tally.diff(f'image {i} anchor {a}: label {ours_lab[a]} vs {peer_lab[a]}', None)
    local_to_kept = {int(k): j for j, k in enumerate(kept)}
    for gl in sorted(set(ours_gt[ours_gt != peer_gt].tolist()) | set(peer_gt[ours_gt != peer_gt].tolist())):
        if gl < 0:
            continue
        gt = local_to_kept.get(gl)
        ours_pos = set(np.nonzero(ours_gt == gl)[0].tolist())
        if gt is None or gt not in peer:
            tally.diff(f'image {i} GT {gl}: ours {sorted(ours_pos)}, peer none', None)
            continue
        e = peer[gt]
        reason = explain(ours_pos, e, other.get(gt) if other else None, cost_of, level_of)
        text = (f'image {i} GT {gl}: positives ours {sorted(ours_pos)} peer '
                f'{sorted(e["pos"].tolist())} (candidates by cost {e["cands"].tolist()}, '
                f'components {None if e["labels"] is None else e["labels"].tolist()})')
        if not reason and e['labels'] is not None and ours_pos == set(
                separate_mmdet(e['labels'], e['scores'], e['cands'], {'score': 0}).tolist()):
            text += (' [ours is mmdetection\'s separation of this very mixture: component 0 '
                     'only; the original code takes every candidate sorted before its best]')
        if not reason:
            text += float64_note(e)
        tally.diff(text, reason)


def run_variant(d, vname, spec, bounds, pre_t):
    """Every image under one variant: the pre-assignment (counted once, in pre_t), the
    costs, and the selection on torch's costs and on ours. Returns its three tallies."""
    variant = dict(spec, name=vname)
    cost_t, run_t, cc_t = Tally(f'{vname} costs'), Tally(f'{vname} torch'), Tally(f'{vname} ccosts')
    ties = dict(topk=0, sort=0, score=0)
    fits = dict(gmm=0, ill_defined=0, single=0)
    worst = dict(f32=(0.0, None), f64=(0.0, None))
    ends = np.array([e for _, e in bounds])
    level_of = lambda a: int(np.searchsorted(ends, a, side='right'))  # noqa: E731
    for i in range(d['I']):
        kept, gt_b, gt_l, ign_b = image(d, i)
        gt_inds, _, _ = max_iou_assign(d['anchors'], gt_b, gt_l, ign_b, pos_iou_thr=0.1,
                                       neg_iou_thr=0.1, min_pos_iou=0.0, ignore_iof_thr=-1.0)
        pre_i = d['pre'][i]
        if pre_t is not None:
            pre_t.compared += d['A']
            pre_t.positives += int((pre_i >= 0).sum())
            for a in np.nonzero(to_ours(gt_inds, kept) != pre_i)[0]:
                pre_t.diff(f'image {i} anchor {a}: ours {pre_i[a]} mmdet '
                           f'{to_ours(gt_inds, kept)[a]}', None)
        pos_inds = torch.nonzero(gt_inds > 0).view(-1)
        pos_gt = gt_inds[pos_inds] - 1
        peer_c = check_costs(cost_t, d, i, vname, spec['giou_weight'], pos_inds, pos_gt, gt_b,
                             gt_l, worst)
        oc = d[f'{vname}.costs'][i][pos_inds.numpy()]
        peer_t = paa_reassign(peer_c, pos_inds, pos_gt, bounds, variant, ties)
        peer_o = paa_reassign(torch.from_numpy(oc.copy()), pos_inds, pos_gt, bounds, variant, ties)
        for e in peer_o.values():
            fits['single'] += len(e['cands']) == 1
            fits['gmm'] += e['gmm'] is not None
            fits['ill_defined'] += len(e['cands']) > 1 and e['gmm'] is None
        ours_gt, ours_lab = d[f'{vname}.gt_index'][i], d[f'{vname}.labels'][i]
        anchors = pos_inds.tolist()
        compare(run_t, d, i, kept, pre_i, peer_t, ours_gt, ours_lab, peer_o,
                dict(zip(anchors, peer_c.tolist())).__getitem__, level_of)
        compare(cc_t, d, i, kept, pre_i, peer_o, ours_gt, ours_lab, None,
                dict(zip(anchors, oc.tolist())).__getitem__, level_of)
    for k, what in (('f32', 'torch float32'), ('f64', 'the port in float64')):
        cost_t.notes.append(f'max relative difference from {what}: {worst[k][0]:.3g} '
                            f'(image, anchor, ours, peer) = {worst[k][1]}')
    run_t.notes.append(f'exact ties decided by the lower index: topk {ties["topk"]}, sort '
                       f'{ties["sort"]}, highest score {ties["score"]} (both runs)')
    cc_t.notes.append(f'GTs: {fits["gmm"]} mixtures fitted, {fits["ill_defined"]} ill-defined '
                      f'(scikit-learn raised), {fits["single"]} with a single candidate')
    return [cost_t, run_t, cc_t]


def main():
    if len(sys.argv) != 2:
        print('usage: paa_peer.py DUMP_DIR', file=sys.stderr)
        return 2
    t0 = time.time()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    dump = Dump(sys.argv[1])
    d = load(dump)
    print(f'paa peer: {d["I"]} images, {len(d["boxes"])} GTs, {d["A"]} anchors, {d["C"]} '
          f'classes; torch {torch.__version__}, scikit-learn {sklearn.__version__}')
    bounds, lo = [], 0
    for n in d['levels']:
        bounds.append((lo, lo + n))
        lo += n
    pre_t = Tally('pre-assignment')
    tallies = [pre_t]
    for vname, spec in dump.m['variants'].items():
        tallies += run_variant(d, vname, spec, bounds, pre_t if vname == 'mmdet' else None)
    ok = [t.report() for t in tallies]
    print(f'{sum(t.compared for t in tallies)} values compared in {time.time() - t0:.1f} s')
    print(f'paa peer parity: {sum(ok)} passed, {len(ok) - sum(ok)} failed')
    return 0 if all(ok) else 1


if __name__ == '__main__':
    sys.exit(main())
