#!/usr/bin/python3
"""The CPU peers of bench_assign: what users run today, timed on the same workloads.

  mmdet-port  tests/peer/mmdet_peer.py, a step-by-step PyTorch port of mmdetection 3.x's
              MaxIoUAssigner, ATSSAssigner, FCOSHead._get_targets_single and
              bbox_overlaps, run image by image as mmdetection runs them (float32 tensors,
              CPU PyTorch). For ATSS the timed run uses mmdetection's own
              `distances.topk(k, largest=False)`; the port's tie-stable variant is only used
              to explain a mismatch.
  torchvision  torchvision.ops.box_iou, the second peer of the overlaps row (IoU only:
              box_iou has no IoF or GIoU), on the same image-by-image loop (Debian's
              python3-torchvision, .ci/deps.sh). Checked as the port: bit for bit, apart from
              pairs whose union is below eps (1e-6: mmdetection and anchorassign divide by
              eps there, box_iou by the union itself). Without torchvision the row says so.
  scikit-learn  the peer of gmm_fit/coco-atss: sklearn.mixture.GaussianMixture looped over
              the segments PAA fits on coco-atss (bench_cases.h; bench_workloads writes
              them), one fit per segment as mmdetection's PAAHead.paa_reassign does it:
              2 components, weights_init .5/.5, means_init [min, max], precisions_init 1,
              covariance_type 'diag', then predict and score_samples. The points go in as
              float64 (aa_gmm_fit's float32_input 0, bench_assign's setting: the GPU
              backends' only mode; mmdetection hands over float32). Checked before timing:
              its labels (predict) equal anchorassign's on every point, and it raises
              exactly where anchorassign reports AA_GMM_ILL_DEFINED. scikit-learn comes
              from .py-deps/ (.ci/deps.sh) when present; without it the row is skipped.
  anchorassign-cpu  the library's CPU reference through the Python binding, in the same
              process on the same inputs (bench_assign times it without Python too).

Before a case is timed, the peer's assignment is compared with anchorassign's CPU
reference, every (image, anchor): gt_index and overlap bit for bit (overlaps: every
value). The only mismatches allowed are the documented ones (docs/semantics.md): an ATSS
IoU within float rounding of the float32 threshold (anchorassign computes it in double),
and an exact distance tie at the k-th ATSS candidate (torch.topk's order is unspecified).
A case with any other mismatch is not timed and is marked FAILED.

Inputs come from `bench_workloads DIR` (the exact arrays bench_assign uses). Times are
wall-clock (time.perf_counter) over the whole 16-image batch; the first (checked) call is
the warm-up, then --repetitions timed calls (fewer for slow cases: 3 when the checked
call took 2 s or more, 1 past a minute), median reported. Peak memory: the process's
resident-set high-water mark during the checked call above its resident set before it
(malloc_trim first, then /proc/self/clear_refs resets VmHWM), in MiB: memory PyTorch's
allocator already holds is not counted, so it is a lower bound.

  PYTHONPATH=python ANCHORASSIGN_LIBRARY=build/libanchorassign.so \\
    /usr/bin/python3 bench/peers.py --workloads DIR --out peers.json [--extreme] [--filter RE]

Writes JSON: device, commit, date, versions, threads and per case the parity result and
the median / all times (ms) and peak memory of the peer and of anchorassign-cpu.
Exit status 1 when a case FAILED its check.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'peer'))
import mmdet_peer as mm  # noqa: E402  (the port; importing it runs nothing)

import anchorassign as aa  # noqa: E402  (PYTHONPATH=python)

# scikit-learn (the EM's peer): .ci/deps.sh installs it into .py-deps/ of the checkout.
if os.path.isdir(os.path.join(ROOT, '.py-deps')):
    sys.path.append(os.path.join(ROOT, '.py-deps'))
try:
    import warnings
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    SKLEARN_ERROR = None
except ImportError as e:  # the gmm_fit row is then skipped with this message
    sklearn = None
    SKLEARN_ERROR = 'scikit-learn cannot be imported (%s); run .ci/deps.sh' % e

try:
    import torchvision
    from torchvision.ops import box_iou
    TORCHVISION_ERROR = None
except ImportError as e:  # the overlaps row then has only the mmdetection port
    torchvision = None
    TORCHVISION_ERROR = 'torchvision cannot be imported (%s); run .ci/deps.sh' % e

CANVAS = (800, 1344)
DEFAULT_REPETITIONS = 5


def repetitions_for(seconds, default):
    """Timed calls after the checked one, from the checked call's duration: the default
    under 2 s, 3 up to a minute, 1 beyond (the extreme peers: minutes per call)."""
    if seconds >= 60.0:
        return 1
    if seconds >= 2.0:
        return min(3, default)
    return default


# --------------------------------------------------------------------------- environment

def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def git_commit():
    try:
        head = subprocess.run(['git', '-C', ROOT, 'rev-parse', 'HEAD'], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', ROOT, 'diff', '--quiet', 'HEAD'],
                               capture_output=True).returncode != 0
        return head + (' (with uncommitted changes)' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def _status_kib(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return None


try:
    import ctypes
    _libc = ctypes.CDLL('libc.so.6')
except OSError:
    _libc = None


class PeakMemory:
    """Resident-set high-water mark above the starting resident set, in MiB (Linux)."""

    def __enter__(self):
        self.mib = None
        if _libc is not None:
            _libc.malloc_trim(0)  # freed heap pages back to the OS, so that reuse counts
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets VmHWM to the current VmRSS
            self.base = _status_kib('VmRSS')
        except OSError:
            self.base = None
        return self

    def __exit__(self, *exc):
        if self.base is not None:
            hwm = _status_kib('VmHWM')
            if hwm is not None:
                self.mib = round(max(0, hwm - self.base) / 1024.0, 1)
        return False


# --------------------------------------------------------------------------- inputs

class Workload:
    """One workload's GTs as bench_workloads wrote them, split per image as mmdetection
    sees them (crowd GTs go to gt_instances_ignore)."""

    def __init__(self, root, name, spec):
        def arr(suffix, dtype, shape):
            a = np.fromfile(os.path.join(root, '%s.%s' % (name, suffix)), dtype=dtype)
            return a.reshape(shape)
        self.name = name
        self.num_images = spec['num_images']
        G = spec['num_gts']
        self.boxes = arr('gt_boxes.f32', '<f4', (G, 4))
        self.offsets = arr('offsets.i64', '<i8', (self.num_images + 1,))
        self.crowd = arr('crowd.u8', 'u1', (G,))
        self.labels = arr('labels.i32', '<i4', (G,))
        self.num_classes = int(self.labels.max()) + 1 if G else 1
        self.images = []
        for i in range(self.num_images):
            s, e = int(self.offsets[i]), int(self.offsets[i + 1])
            boxes, crowd, labels = self.boxes[s:e], self.crowd[s:e], self.labels[s:e]
            self.images.append(dict(
                all=torch.from_numpy(boxes.copy()),
                kept=np.nonzero(crowd == 0)[0].astype(np.int32),
                gt=torch.from_numpy(boxes[crowd == 0].copy()),
                ignore=torch.from_numpy(boxes[crowd != 0].copy()),
                labels=torch.from_numpy(labels[crowd == 0].astype(np.int64))))


def anchor_set(name):
    h, w = CANVAS
    if name == 'coco-atss':
        return aa.anchors(h, w, ratios=(1.0,), octave_base_scale=8, scales_per_octave=1)
    if name == 'coco-retina':
        return aa.anchors(h, w)
    if name == 'fcos-points':
        return aa.points(h, w)
    raise ValueError('unknown anchor set %r' % name)


# --------------------------------------------------------------------------- the peer

def topk_mmdet(distances, k, stats):
    """mmdetection's call (atss_assigner.py): distances_per_level.topk(k, dim=0, largest=False)."""
    return distances.topk(k, dim=0, largest=False)[1]


def topk_stable(distances, k, stats):
    """The port's tie order (lower anchor index first), without its per-GT statistics."""
    return torch.sort(distances, dim=0, stable=True)[1][:k]


def peer_batch(assigner, wl, priors, aset, topk=topk_mmdet):
    """The peer on the 16 images, image by image. Returns mmdetection's raw outputs."""
    out = []
    if assigner == 'max_iou':
        for im in wl.images:
            out.append(mm.max_iou_assign(priors, im['gt'], im['labels'], im['ignore']))
    elif assigner == 'atss':
        mm.topk_smallest = topk  # atss_assign looks it up in its module at each call
        counts = [int(c) for c in aset.level_counts]
        for im in wl.images:
            out.append(mm.atss_assign(priors, counts, im['gt'], im['labels'], im['ignore']))
    elif assigner == 'fcos':
        # FCOSHead.get_targets: regress ranges expanded per point, then per image.
        counts = [int(c) for c in aset.level_counts]
        points = priors[:, :2]
        rr = torch.cat([points.new_tensor(mm.FCOS_REGRESS_RANGES[l])[None].expand(n, 2)
                        for l, n in enumerate(counts)])
        strides = [int(s) for s in aset.strides]
        for im in wl.images:
            lab, targets, min_area, min_inds = mm.fcos_targets_single(
                im['gt'], im['labels'], points, rr, counts, strides, wl.num_classes, False)
            centerness = None
            if min_area is not None:
                pos = min_area != mm.INF
                centerness = mm.centerness_target(targets[pos])
            out.append((min_area, min_inds, centerness))
    elif assigner == 'overlaps':
        for im in wl.images:  # all of the image's GTs, as aa_overlaps
            out.append(mm.bbox_overlaps(im['all'], priors))
    else:
        raise ValueError(assigner)
    return out


def peer_to_ours(assigner, wl, raw, num_anchors):
    """The peer's outputs in anchorassign's encoding: (gt_index, overlap) arrays."""
    if assigner == 'overlaps':
        return None, np.concatenate([o.numpy() for o in raw]).reshape(-1, num_anchors)
    gi = np.empty((wl.num_images, num_anchors), np.int32)
    ov = np.empty((wl.num_images, num_anchors), np.float32)
    for i, (im, r) in enumerate(zip(wl.images, raw)):
        if assigner in ('max_iou', 'atss'):
            gi[i] = mm.to_ours(r[0], im['kept'])
            ov[i] = r[1].numpy()
        else:
            min_area, min_inds, centerness = r
            gi[i] = -1
            ov[i] = 0
            if min_area is not None:
                pos = (min_area != mm.INF).numpy()
                gi[i][pos] = im['kept'][min_inds.numpy()[pos]]
                ov[i][pos] = centerness.numpy()
    return gi, ov


def library_call(ctx, assigner, wl, anchors):
    boxes, offsets, crowd = wl.boxes, wl.offsets, wl.crowd
    if assigner == 'overlaps':
        return ctx.overlaps(anchors, boxes, offsets)
    fn = {'max_iou': ctx.max_iou, 'atss': ctx.atss, 'fcos': ctx.fcos}[assigner]
    return fn(anchors, boxes, offsets, ignore=crowd)


def library_outputs(assigner, r):
    if assigner == 'overlaps':
        return None, np.asarray(r)
    return np.asarray(r.gt_index), np.asarray(r.overlap)


def bits(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.int32)


def mismatches(ours, peer):
    """Indices (flat) where gt_index or the overlap bits differ."""
    bad = bits(ours[1]) != bits(peer[1])
    if ours[0] is not None:
        bad |= ours[0] != peer[0]
    return np.flatnonzero(bad)


# --------------------------------------------------------------------------- one case

def timed(fn, repetitions):
    times = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def run_case(ctx, case, wl, aset, repetitions, log, with_peer=True):
    """anchorassign's CPU reference timed, then (with_peer) the peer checked against it
    and timed. bench/scaling.py calls it too."""
    assigner = case['assigner']
    priors = torch.from_numpy(np.ascontiguousarray(aset.boxes))
    A = priors.size(0)
    res = dict(workload=case['workload'], assigner=assigner, anchors=case['anchors'],
               images=wl.num_images, gts=int(wl.offsets[-1]), num_anchors=A)

    # anchorassign's CPU reference: the check's reference, and its own timing.
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        lib = library_outputs(assigner, library_call(ctx, assigner, wl, aset))
        first = time.perf_counter() - t0
    lib_times = timed(lambda: library_call(ctx, assigner, wl, aset),
                      repetitions_for(first, repetitions))
    res['anchorassign_cpu'] = dict(median_ms=float(np.median(lib_times)), times_ms=lib_times,
                                   peak_mib=mem.mib, checked_call_ms=first * 1e3)

    res['lib_outputs'] = lib  # for the caller's own checks; not written to JSON
    if not with_peer:
        return res

    # The peer's checked call (also its warm-up).
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        raw = peer_batch(assigner, wl, priors, aset)
        first = time.perf_counter() - t0
    peer = peer_to_ours(assigner, wl, raw, A)
    bad = mismatches(lib, peer)
    compared = int(lib[1].size)
    explained, notes = 0, []
    if bad.size and assigner == 'atss':
        # 1. exact distance ties at the k-th candidate: the port's tie-stable top-k
        raw_stable = peer_batch(assigner, wl, priors, aset, topk_stable)
        still = mismatches(lib, peer_to_ours(assigner, wl, raw_stable, A))
        tie = int(bad.size - np.intersect1d(bad, still).size)
        if tie:
            notes.append('%d anchors differ only by torch.topk\'s order at an exact distance '
                         'tie across the k-th candidate' % tie)
        explained += tie
        # 2. IoU within float rounding of the float32 threshold
        rounding = 0
        unexplained = []
        for flat in still:
            i, a = divmod(int(flat), A)
            ex = raw_stable[i][3]
            why = mm.atss_explainer(ex)(a) if ex is not None else None
            if why:
                rounding += 1
            else:
                unexplained.append(flat)
        if rounding:
            notes.append('%d anchors at an IoU within float rounding of the threshold '
                         '(float32 in mmdetection, double in anchorassign)' % rounding)
        explained += rounding
        bad = np.array(unexplained, dtype=np.int64)
    res['parity'] = dict(compared=compared, unexplained=int(bad.size), explained=explained,
                         notes=notes,
                         status='FAILED' if bad.size else ('explained' if explained
                                                           else 'identical'))
    if bad.size:
        flat = int(bad[0])
        res['parity']['first'] = 'element %d: anchorassign %s, peer %s' % (
            flat, (None if lib[0] is None else int(lib[0].flat[flat]), float(lib[1].flat[flat])),
            (None if peer[0] is None else int(peer[0].flat[flat]), float(peer[1].flat[flat])))
        log('  %s/%s: FAILED the check (%d of %d differ): not timed' % (
            assigner, case['workload'], bad.size, compared))
        return res
    peer_times = timed(lambda: peer_batch(assigner, wl, priors, aset),
                       repetitions_for(first, repetitions))
    res['peer'] = dict(name='mmdet-port', median_ms=float(np.median(peer_times)),
                       times_ms=peer_times, peak_mib=mem.mib, checked_call_ms=first * 1e3)
    if assigner == 'overlaps':
        res['other_peers'] = [torchvision_box_iou(wl, priors, lib, repetitions, log)]
        for o in res['other_peers']:
            if 'median_ms' in o:
                log('  %-8s %-11s %s: parity %s, %.1f ms' % (
                    assigner, case['workload'], o['name'], o['parity']['status'], o['median_ms']))
    log('  %-8s %-11s parity %-10s peer %10.1f ms  anchorassign-cpu %9.1f ms  (x%.1f)' % (
        assigner, case['workload'], res['parity']['status'], res['peer']['median_ms'],
        res['anchorassign_cpu']['median_ms'],
        res['peer']['median_ms'] / max(res['anchorassign_cpu']['median_ms'], 1e-9)))
    return res


def torchvision_box_iou(wl, priors, lib, repetitions, log):
    """torchvision.ops.box_iou on the overlaps row, checked against anchorassign's IoU."""
    name = 'torchvision.ops.box_iou'
    if torchvision is None:
        return dict(name=name, skipped=TORCHVISION_ERROR)
    run = lambda: [box_iou(im['all'], priors) for im in wl.images]  # noqa: E731
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        raw = run()
        first = time.perf_counter() - t0
    peer = np.concatenate([o.numpy() for o in raw]).reshape(lib[1].shape)
    bad = np.flatnonzero(bits(lib[1]) != bits(peer))
    # pairs whose union is below eps: anchorassign (as mmdetection) divides by eps
    explained = 0
    if bad.size:
        gts = torch.cat([im['all'] for im in wl.images])
        g, a = np.divmod(bad, priors.size(0))
        area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
        gb, ab = gts[torch.from_numpy(g)], priors[torch.from_numpy(a)]
        lt = torch.max(gb[:, :2], ab[:, :2])
        wh = (torch.min(gb[:, 2:], ab[:, 2:]) - lt).clamp(min=0)
        union = area(gb) + area(ab) - wh[:, 0] * wh[:, 1]
        small = (union < 1e-6).numpy()
        explained = int(small.sum())
        bad = bad[~small]
    parity = dict(compared=int(lib[1].size), unexplained=int(bad.size), explained=explained,
                  notes=['%d pairs with a union below eps (box_iou divides by the union, '
                         'anchorassign and mmdetection by eps)' % explained] if explained else [],
                  status='FAILED' if bad.size else ('explained' if explained else 'identical'))
    res = dict(name=name, version=torchvision.__version__, parity=parity)
    if bad.size:
        flat = int(bad[0])
        parity['first'] = 'element %d: anchorassign %r, box_iou %r' % (
            flat, float(lib[1].flat[flat]), float(peer.flat[flat]))
        log('  overlaps: torchvision box_iou FAILED the check (%d differ): not timed' % bad.size)
        return res
    times = timed(run, repetitions_for(first, repetitions))
    res.update(median_ms=float(np.median(times)), times_ms=times, peak_mib=mem.mib,
               checked_call_ms=first * 1e3)
    return res


# --------------------------------------------------------------------------- gmm_fit

class Segments:
    """The gmm_fit segments bench_workloads wrote (manifest key gmm_segments)."""

    def __init__(self, root, spec):
        self.spec = spec
        self.points = np.fromfile(os.path.join(root, spec['points']), dtype='<f4')
        self.offsets = np.fromfile(os.path.join(root, spec['offsets']), dtype='<i8')
        assert self.offsets.size == spec['num_segments'] + 1
        assert self.points.size == spec['num_points'] == self.offsets[-1]


def sklearn_fit_all(seg):
    """GaussianMixture per segment as PAAHead.paa_reassign builds it (float64 points);
    returns the labels of every point (-1 where scikit-learn raises)."""
    labels = np.full(seg.points.size, -1, np.int32)
    weights_init = np.array([0.5, 0.5])
    precisions_init = np.array([1.0, 1.0]).reshape(2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        for s in range(seg.offsets.size - 1):
            a, b = int(seg.offsets[s]), int(seg.offsets[s + 1])
            x = seg.points[a:b].astype(np.float64).reshape(-1, 1)
            means_init = np.array([x.min(), x.max()]).reshape(2, 1)
            gmm = GaussianMixture(2, weights_init=weights_init, means_init=means_init,
                                  precisions_init=precisions_init, covariance_type='diag')
            try:
                gmm.fit(x)
            except ValueError:  # ill-defined covariance: PAAHead would raise
                continue
            labels[a:b] = gmm.predict(x)
            gmm.score_samples(x)  # PAA uses the scores too
    return labels


def run_gmm_case(ctx, seg, repetitions, log):
    res = dict(workload=seg.spec['workload'], assigner='gmm_fit', anchors='-',
               segments=int(seg.offsets.size - 1), points=int(seg.points.size))
    if sklearn is None:
        res['skipped'] = SKLEARN_ERROR
        log('  gmm_fit  %-11s skipped: %s' % (res['workload'], SKLEARN_ERROR))
        return res
    fit = lambda: ctx.gmm_fit(seg.points, seg.offsets)  # noqa: E731  (defaults: PAA's init)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        ours = fit()
        first = time.perf_counter() - t0
    lib_times = timed(fit, repetitions_for(first, repetitions))
    res['anchorassign_cpu'] = dict(median_ms=float(np.median(lib_times)), times_ms=lib_times,
                                   peak_mib=mem.mib, checked_call_ms=first * 1e3)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        labels = sklearn_fit_all(seg)
        first = time.perf_counter() - t0
    ours_labels = np.asarray(ours.labels)
    status = np.asarray(ours.status)
    # anchorassign writes labels -1 where the fit is ill-defined (scikit-learn raises)
    bad = np.flatnonzero(ours_labels != labels)
    res['parity'] = dict(compared=int(labels.size), unexplained=int(bad.size), explained=0,
                         notes=['%d of %d segments ill-defined (scikit-learn raises)' % (
                             int((status == aa.GMM_ILL_DEFINED).sum()), status.size)]
                         if (status == aa.GMM_ILL_DEFINED).any() else [],
                         status='FAILED' if bad.size else 'identical')
    if bad.size:
        k = int(bad[0])
        res['parity']['first'] = 'point %d: anchorassign label %d, scikit-learn %d' % (
            k, int(ours_labels[k]), int(labels[k]))
        log('  gmm_fit  %s: FAILED the check (%d of %d labels differ): not timed' % (
            res['workload'], bad.size, labels.size))
        return res
    peer_times = timed(lambda: sklearn_fit_all(seg), repetitions_for(first, repetitions))
    res['peer'] = dict(name='scikit-learn', version=sklearn.__version__,
                       median_ms=float(np.median(peer_times)), times_ms=peer_times,
                       peak_mib=mem.mib, checked_call_ms=first * 1e3)
    log('  %-8s %-11s parity %-10s peer %10.1f ms  anchorassign-cpu %9.1f ms  (x%.1f)  '
        '[scikit-learn %s, %d segments]' % (
            'gmm_fit', res['workload'], res['parity']['status'], res['peer']['median_ms'],
            res['anchorassign_cpu']['median_ms'],
            res['peer']['median_ms'] / max(res['anchorassign_cpu']['median_ms'], 1e-9),
            sklearn.__version__, res['segments']))
    return res


# --------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--workloads', required=True, help='directory written by bench_workloads')
    ap.add_argument('--out', required=True, help='JSON file to write')
    ap.add_argument('--filter', default='', help='regex on ASSIGNER/WORKLOAD')
    ap.add_argument('--repetitions', type=int, default=DEFAULT_REPETITIONS,
                    help='timed calls per case when the checked call took under 2 s '
                         '(3 up to 60 s, 1 beyond)')
    ap.add_argument('--extreme', action='store_true',
                    help='also the extreme workload (the peer takes minutes per call)')
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1,
                    help='torch intra-op threads (default: all cores)')
    args = ap.parse_args(argv)

    torch.set_num_threads(max(1, args.threads))
    log = lambda s: print(s, flush=True)  # noqa: E731
    with open(os.path.join(args.workloads, 'manifest.json')) as f:
        manifest = json.load(f)
    doc = dict(
        tool='bench/peers.py',
        device='cpu: %s' % cpu_model(),
        cpu_model=cpu_model(),
        logical_cpus=os.cpu_count(),
        commit=git_commit(),
        date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        python=platform.python_version(),
        torch=torch.__version__,
        numpy=np.__version__,
        torch_threads=torch.get_num_threads(),
        anchorassign=aa.library_version() if hasattr(aa, 'library_version') else 'unknown',
        library=os.environ.get('ANCHORASSIGN_LIBRARY', ''),
        load_avg=list(os.getloadavg()),
        workloads_dir=os.path.abspath(args.workloads),
        workloads=manifest['workloads'],
        peers={'mmdet-port': 'tests/peer/mmdet_peer.py: mmdetection 3.x assigners step by step, '
                             'image by image, CPU PyTorch (ATSS timed with torch.topk as '
                             'mmdetection)',
               'torchvision.ops.box_iou': ('torchvision %s, the overlaps row (IoU), image '
                                           'by image' % torchvision.__version__)
                                          if torchvision is not None else TORCHVISION_ERROR,
               'scikit-learn': ('sklearn.mixture.GaussianMixture %s per segment, PAAHead\'s '
                                'init, diag, float64 points (gmm_fit row)' % sklearn.__version__)
                               if sklearn is not None else SKLEARN_ERROR},
        sklearn=sklearn.__version__ if sklearn is not None else None,
        torchvision=torchvision.__version__ if torchvision is not None else None,
        timing='wall clock, whole batch per call; the first call is checked (and warms up), '
               'then N timed calls (N = --repetitions when the checked call took under 2 s, '
               '3 up to 60 s, 1 beyond), median',
        repetitions=args.repetitions,
        results=[])
    log('peers: %s, torch %s (%d threads), commit %s' % (doc['device'], torch.__version__,
                                                          torch.get_num_threads(), doc['commit']))
    workloads, sets = {}, {}
    failed = 0
    with aa.Context('cpu') as ctx:
        for case in manifest['cases']:
            name = '%s/%s' % (case['assigner'], case['workload'])
            if args.filter and not re.search(args.filter, name):
                continue
            if case['workload'] == 'extreme' and not args.extreme:
                doc['results'].append(dict(workload=case['workload'], assigner=case['assigner'],
                                           anchors=case['anchors'],
                                           skipped='not run by default (minutes); --extreme'))
                continue
            if case['workload'] not in workloads:
                workloads[case['workload']] = Workload(args.workloads, case['workload'],
                                                       manifest['workloads'][case['workload']])
            if case['anchors'] not in sets:
                sets[case['anchors']] = anchor_set(case['anchors'])
            r = run_case(ctx, case, workloads[case['workload']], sets[case['anchors']],
                         args.repetitions, log)
            r.pop('lib_outputs')
            failed += r['parity']['status'] == 'FAILED'
            failed += sum(o.get('parity', {}).get('status') == 'FAILED'
                          for o in r.get('other_peers', []))
            doc['results'].append(r)
            with open(args.out, 'w') as f:  # partial results survive an interruption
                json.dump(doc, f, indent=1)
        spec = manifest.get('gmm_segments')
        if spec and (not args.filter or re.search(args.filter, 'gmm_fit/' + spec['workload'])):
            r = run_gmm_case(ctx, Segments(args.workloads, spec), args.repetitions, log)
            failed += r.get('parity', {}).get('status') == 'FAILED'
            doc['results'].append(r)
    with open(args.out, 'w') as f:
        json.dump(doc, f, indent=1)
    log('peers: wrote %s%s' % (args.out, ' (%d FAILED)' % failed if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
