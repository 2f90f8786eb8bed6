#!/usr/bin/python3
"""The peers of bench_assign: what users run today, timed on the same workloads.

  mmdet-port  tests/peer/mmdet_peer.py, a step-by-step PyTorch port of mmdetection 3.x's
              MaxIoUAssigner, ATSSAssigner, FCOSHead._get_targets_single and
              bbox_overlaps, run image by image as mmdetection runs them (float32 tensors,
              CPU PyTorch, or CUDA tensors with --device cuda). For ATSS the timed run uses
              mmdetection's own `distances.topk(k, largest=False)`; the port's tie-stable
              variant is only used to explain a mismatch.
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
  PAAHead port + scikit-learn  the peer of paa/coco-atss: tests/peer/paa_port.py (the port
              peer.paa_parity checks; mmdetection 3.x's PAAHead.get_pos_loss, focal and GIoU
              losses, delta2bbox and paa_reassign with scikit-learn's real GaussianMixture),
              run image by image as PAAHead.loss_by_feat runs it: the pre-assignment
              (MaxIoUAssigner pos 0.1, neg 0.1, min_pos_iou 0: mmdet_peer.max_iou_assign),
              the cost of each pre-assigned anchor (get_pos_loss, float32), then
              paa_reassign (per GT and level the 9 lowest costs with mmdetection's own
              `topk(largest=False)`, a 'diag' mixture per GT, mmdetection's separation).
              Not timed: the sampler and the target tensors PAAHead also builds.
  anchorassign-cpu  the library's CPU reference through the Python binding, in the same
              process on the same inputs (bench_assign times it without Python too).

Inputs come from `bench_workloads DIR` (the exact arrays bench_assign uses). PAA's head
outputs are not written there: synthetic_head() below computes aa_wl_head_make's
(tools/synthetic_head.c: float32, 91 classes, seed AA_WL_HEAD_SEED) in NumPy, and the case
first checks them against the GMM segments bench_workloads wrote, which the C head
produced (the costs of every candidate PAA fits, bit for bit): a difference fails the case.

Before a case is timed, the peer's assignment is compared with anchorassign's CPU
reference, every (image, anchor): gt_index and overlap bit for bit (overlaps: every
value). The only mismatches allowed are the documented ones (docs/semantics.md): an ATSS
IoU within float rounding of the float32 threshold (anchorassign computes it in double),
and an exact distance tie at the k-th ATSS candidate (torch.topk's order is unspecified).
PAA is compared as peer.paa_parity compares it (tests/peer/paa_peer.py, whose functions
are used): the pre-assignment of every anchor identical; the cost of every pre-assigned
anchor (anchorassign's overlap output) within 1e-5 relative of torch's float32 cost, or
explained by float32 rounding when the float64 port agrees; gt_index and labels of every
anchor identical, apart from differences paa_peer.explain() attributes to a near-tie
(costs across a level's top-k boundary or in the sorted order within the cost tolerance;
a component, highest-score or convergence near-tie of the mixture), each counted.
A case with any other mismatch is not timed and is marked FAILED.

Times are wall-clock (time.perf_counter) over the whole 16-image batch; the first (checked)
call is the warm-up, then --repetitions timed calls (fewer for slow cases: 3 when the
checked call took 2 s or more, 1 past a minute), median reported. Peak memory: the
process's resident-set high-water mark during the checked call above its resident set
before it (malloc_trim first, then /proc/self/clear_refs resets VmHWM), in MiB: memory
PyTorch's allocator already holds is not counted, so it is a lower bound.

--device cuda (a machine where torch.cuda.is_available()): anchorassign also runs through
Context("cuda") on CUDA tensors (device_offsets given, so nothing is copied per call),
checked bit for bit against the CPU reference, and the PyTorch peers run on CUDA tensors
(scikit-learn stays on the CPU, as in mmdetection); each timed call is bracketed by
torch.cuda.synchronize(). Memory on the device: torch.cuda.max_memory_allocated() above
the allocated memory before the checked call (reset_peak_memory_stats) for the peer and
for anchorassign's outputs, plus anchorassign's workspace (Context.workspace_size). The
CPU reference is still run and timed (the check's reference). Without a CUDA device, or
with a library built without CUDA, --device cuda stops at once (exit status 2).

  PYTHONPATH=python ANCHORASSIGN_LIBRARY=build/libanchorassign.so \\
    /usr/bin/python3 bench/peers.py --workloads DIR --out peers.json [--extreme] [--filter RE]
    [--device cpu|cuda]

Writes JSON: device, commit, date, versions, threads and per case the parity result and
the median / all times (ms) and peak memory of the peer and of anchorassign-cpu (and of
anchorassign-cuda with --device cuda). Exit status 1 when a case FAILED its check.
"""
import argparse
import contextlib
import datetime
import io
import json
import math
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
    import paa_port  # noqa: E402  (tests/peer: PAAHead's port, needs scikit-learn)
    import paa_peer  # noqa: E402  (tests/peer: peer.paa_parity's comparison)
    SKLEARN_ERROR = None
except ImportError as e:  # the gmm_fit and paa rows are then skipped with this message
    sklearn = paa_port = paa_peer = None
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
NO_LADA_PEER = ('no peer: LADA has no public code (docs/semantics.md); anchorassign\'s '
                'backends only')


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


class CudaPeakMemory:
    """torch.cuda.max_memory_allocated() above the memory allocated at the start, in MiB
    (PyTorch's caching allocator: tensors only, not anchorassign's own workspace)."""

    def __enter__(self):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        self.base = torch.cuda.memory_allocated()
        self.mib = None
        return self

    def __exit__(self, *exc):
        torch.cuda.synchronize()
        self.mib = round(max(0, torch.cuda.max_memory_allocated() - self.base) / 2.0 ** 20, 1)
        return False


# --------------------------------------------------------------------------- devices

class Device:
    """Where anchorassign's timed calls and the PyTorch peers run: 'cpu' (the CPU
    reference, host arrays, CPU tensors), 'opencl' (host arrays, AA_MEMORY_HOST: the
    library copies; scaling.py's column), 'cuda' (Context('cuda') on CUDA tensors with
    device_offsets, the peers on CUDA tensors) or 'cpu-tensors' (a dry run of the CUDA
    code path without a GPU: a second CPU context given torch CPU tensors and
    device_offsets, the peers on those tensors; for testing, not a measurement). One code
    path: the device is a parameter of every call. Its results go under `key`."""

    def __init__(self, kind, cpu_ctx=None):
        self.kind = kind
        self.native = kind in ('cuda', 'cpu-tensors')  # arrays must be tensors on the device
        self.key = 'anchorassign_' + kind.replace('-', '_')
        self.torch = torch.device('cuda' if kind == 'cuda' else 'cpu')
        self.owns = kind != 'cpu' or cpu_ctx is None
        self.ctx = cpu_ctx if not self.owns else aa.Context(
            'cpu' if kind == 'cpu-tensors' else kind)
        if kind == 'cuda':
            self.name = 'cuda: %s' % torch.cuda.get_device_name(self.torch)
        elif kind == 'opencl':
            self.name = 'opencl: %s' % self.ctx.device_name
        else:
            self.name = '%s: %s' % (kind, cpu_model())

    def to(self, x):
        """A host array or CPU tensor where this device's calls want it."""
        if not self.native or x is None:
            return x
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        return x.to(self.torch)

    def sync(self):
        if self.kind == 'cuda':
            torch.cuda.synchronize()

    def memory(self):
        return CudaPeakMemory() if self.kind == 'cuda' else PeakMemory()

    def close(self):
        if self.owns and self.ctx is not None:
            self.ctx.close()
            self.ctx = None


def open_device(kind, cpu_ctx, prog):
    """The Device for --device KIND. CUDA without a device (or without the library's CUDA
    backend) stops here with exit status 2: nothing falls back to the CPU silently."""
    if kind == 'cuda':
        if not torch.cuda.is_available():
            print('%s: --device cuda: no CUDA device here (torch %s, built for CUDA %s, '
                  'torch.cuda.is_available() is False); nothing was measured' % (
                      prog, torch.__version__, torch.version.cuda), file=sys.stderr)
            raise SystemExit(2)
        try:
            return Device('cuda', cpu_ctx)
        except aa.Error as e:
            print('%s: --device cuda: anchorassign has no CUDA context (%s); build the library '
                  'with -DAA_ENABLE_CUDA=ON; nothing was measured' % (prog, e), file=sys.stderr)
            raise SystemExit(2)
    return Device(kind, cpu_ctx)


def device_info(dev):
    """What the JSON records about the device of the timed calls."""
    info = dict(device_kind=dev.kind, device=dev.name)
    if dev.kind == 'cuda':
        p = torch.cuda.get_device_properties(dev.torch)
        info.update(cuda_device=p.name, cuda_memory_gib=round(p.total_memory / 2.0 ** 30, 1),
                    cuda_capability='%d.%d' % (p.major, p.minor), torch_cuda=torch.version.cuda,
                    cpu_model=cpu_model())
    return info


def host(x):
    """A result (NumPy array or tensor on any device) as a NumPy array, or None."""
    if x is None:
        return None
    if torch.is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def timed(fn, repetitions, sync=None):
    """Wall-clock ms of `repetitions` calls; sync() (torch.cuda.synchronize) before and
    after each, so that a call's queued GPU work is inside its time."""
    times = []
    for _ in range(repetitions):
        if sync is not None:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def checked_call(fn, dev):
    """The first call (the checked one, also the warm-up): (result, seconds, peak MiB)."""
    with dev.memory() as mem:
        dev.sync()
        t0 = time.perf_counter()
        out = fn()
        dev.sync()
        first = time.perf_counter() - t0
    return out, first, mem.mib


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
        self.labels = arr('labels.i32', '<i4', (G,)).astype(np.int32)
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

    def on(self, dev):
        """This workload with the peers' per-image tensors on dev (itself on the CPU)."""
        if not dev.native:
            return self
        other = object.__new__(Workload)
        other.__dict__.update(self.__dict__)
        other.images = [{k: (v.to(dev.torch) if torch.is_tensor(v) else v) for k, v in im.items()}
                        for im in self.images]
        return other


def anchor_set(name):
    h, w = CANVAS
    if name == 'coco-atss':
        return aa.anchors(h, w, ratios=(1.0,), octave_base_scale=8, scales_per_octave=1)
    if name == 'coco-retina':
        return aa.anchors(h, w)
    if name == 'fcos-points':
        return aa.points(h, w)
    raise ValueError('unknown anchor set %r' % name)


class Inputs:
    """One call's arguments for anchorassign on a device: anchors, GTs, labels and (PAA,
    LADA) the head outputs, where that device's context wants them; on CUDA also the
    offsets on the device (device_offsets), so that a call copies nothing."""

    def __init__(self, wl, aset, dev, head=None):
        self.anchors = aa.Anchors(dev.to(aset.boxes), aset.level_counts, aset.strides)
        self.boxes = dev.to(wl.boxes)
        self.offsets = wl.offsets
        self.ignore = dev.to(wl.crowd)
        self.labels = dev.to(wl.labels)
        self.device_offsets = dev.to(wl.offsets) if dev.native else None
        self.head = None if head is None else (dev.to(head[0]), dev.to(head[1]))


# --------------------------------------------------------------------------- synthetic head

HEAD_SEED = 20261125      # AA_WL_HEAD_SEED (tools/synthetic_head.h)
COCO_CLASSES = 91         # AA_WL_COCO_CLASSES: the labels are COCO category ids
_U64 = 0xFFFFFFFFFFFFFFFF


def _splitmix_uniforms(state, n):
    """The first n draws of tools/rng.h's synth_uniform from `state`: splitmix64's k-th
    output is a function of state + k * golden, so all of them at once."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over='ignore'):
        z = np.uint64(state) + k * np.uint64(0x9e3779b97f4a7c15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def synthetic_head(cpu, wl, aset, num_classes=COCO_CLASSES, seed=HEAD_SEED):
    """aa_wl_head_make (tools/synthetic_head.c) in NumPy, float32: per image and anchor q,
    g = the best IoU and GT (the library's max-IoU with every anchor positive), then with
    Irwin-Hall normals n drawn in the C order (per anchor: one per class, then four):
    logit(c) = (-4 + [c == label(g)] 8q) + n, delta = q encode(anchor, g) + (1 - q) n.
    The same IEEE operations in the same order, the log through the C library's log
    (math.log): bit for bit the C head (checked against bench_workloads' GMM segments by
    the paa case). Returns (cls_logits (I, A, C), bbox_deltas (I, A, 4))."""
    A = int(aset.boxes.shape[0])
    I = wl.num_images
    r = cpu.max_iou(aset, wl.boxes, wl.offsets, ignore=wl.crowd, pos_iou_thr=0.0,
                    neg_iou_thr=0.0, match_low_quality=False)
    gi, iou = np.asarray(r.gt_index), np.asarray(r.overlap)
    logits = np.empty((I, A, num_classes), np.float32)
    deltas = np.empty((I, A, 4), np.float32)
    an = aset.boxes.astype(np.float64)
    pw, ph = an[:, 2] - an[:, 0], an[:, 3] - an[:, 1]
    px, py = (an[:, 0] + an[:, 2]) * 0.5, (an[:, 1] + an[:, 3]) * 0.5
    rows = np.arange(A)
    for i in range(I):
        state = (seed ^ ((i * 0xd1b54a32d192ed03) & _U64) ^ 0x5eed) & _U64
        u = _splitmix_uniforms(state, A * (num_classes + 4) * 4).reshape(A, num_classes + 4, 4)
        n = (((u[..., 0] + u[..., 1]) + u[..., 2]) + u[..., 3] - 2.0) * 1.7320508075688772
        del u
        g = gi[i]
        has = g >= 0
        q = np.where(has, iou[i].astype(np.float64), 0.0)
        gidx = int(wl.offsets[i]) + np.maximum(g, 0)
        lab = np.full(A, -1, np.int64)
        lab[has] = wl.labels[gidx[has]]
        if (lab >= num_classes).any():
            raise ValueError('synthetic head: a label >= num_classes %d' % num_classes)
        base = np.full((A, num_classes), -4.0)
        sel = lab >= 0
        base[rows[sel], lab[sel]] = -4.0 + 8.0 * q[sel]
        logits[i] = (base + n[:, :num_classes]).astype(np.float32)
        d = np.zeros((A, 4))
        sel = has
        if sel.any():
            gb = wl.boxes[gidx[sel]].astype(np.float64)
            gw, gh = gb[:, 2] - gb[:, 0], gb[:, 3] - gb[:, 1]
            gx, gy = (gb[:, 0] + gb[:, 2]) * 0.5, (gb[:, 1] + gb[:, 3]) * 0.5
            w, h = pw[sel], ph[sel]
            with np.errstate(divide='ignore', invalid='ignore'):
                d[sel, 0] = np.where(w > 0, (gx - px[sel]) / w / 0.1, 0.0)
                d[sel, 1] = np.where(h > 0, (gy - py[sel]) / h / 0.1, 0.0)
                rw, rh = gw / w, gh / h
            d[sel, 2] = [math.log(x) / 0.2 if a > 0 and b > 0 else 0.0
                         for x, a, b in zip(rw.tolist(), w.tolist(), gw.tolist())]
            d[sel, 3] = [math.log(x) / 0.2 if a > 0 and b > 0 else 0.0
                         for x, a, b in zip(rh.tolist(), h.tolist(), gh.tolist())]
        deltas[i] = (q[:, None] * d + (1.0 - q)[:, None] * n[:, num_classes:]).astype(np.float32)
    return logits, deltas


# --------------------------------------------------------------------------- the peer

def topk_mmdet(distances, k, stats):
    """mmdetection's call (atss_assigner.py): distances_per_level.topk(k, dim=0, largest=False)."""
    return distances.topk(k, dim=0, largest=False)[1]


def topk_stable(distances, k, stats):
    """The port's tie order (lower anchor index first), without its per-GT statistics."""
    return torch.sort(distances, dim=0, stable=True)[1][:k]


def peer_batch(assigner, wl, priors, aset, topk=topk_mmdet):
    """The peer on the batch, image by image. Returns mmdetection's raw outputs (on the
    device of `priors` and of wl's tensors)."""
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
    """The peer's outputs in anchorassign's encoding: (gt_index, overlap) host arrays."""
    if assigner == 'overlaps':
        return None, np.concatenate([host(o) for o in raw]).reshape(-1, num_anchors)
    gi = np.empty((wl.num_images, num_anchors), np.int32)
    ov = np.empty((wl.num_images, num_anchors), np.float32)
    for i, (im, r) in enumerate(zip(wl.images, raw)):
        if assigner in ('max_iou', 'atss'):
            gi[i] = mm.to_ours(r[0].cpu(), im['kept'])
            ov[i] = host(r[1])
        else:
            min_area, min_inds, centerness = r
            gi[i] = -1
            ov[i] = 0
            if min_area is not None:
                pos = host(min_area != mm.INF)
                gi[i][pos] = im['kept'][host(min_inds)[pos]]
                ov[i][pos] = host(centerness)
    return gi, ov


def library_call(ctx, assigner, inp):
    """anchorassign's call of a case on the Inputs `inp` (its context's device)."""
    kw = dict(device_offsets=inp.device_offsets)
    if assigner == 'overlaps':
        return ctx.overlaps(inp.anchors, inp.boxes, inp.offsets, **kw)
    if assigner in ('paa', 'lada'):
        fn = ctx.paa if assigner == 'paa' else ctx.lada
        return fn(inp.anchors, inp.boxes, inp.offsets, inp.head[0], inp.head[1],
                  labels=inp.labels, ignore=inp.ignore, **kw)
    fn = {'max_iou': ctx.max_iou, 'atss': ctx.atss, 'fcos': ctx.fcos}[assigner]
    return fn(inp.anchors, inp.boxes, inp.offsets, ignore=inp.ignore, **kw)


def library_outputs(assigner, r):
    """(gt_index, overlap, labels) as host arrays (None where the call has no such output)."""
    if assigner == 'overlaps':
        return None, host(r), None
    return host(r.gt_index), host(r.overlap), host(r.labels)


def workspace_bytes(ctx, assigner, inp):
    """Context.workspace_size of the call (None for the primitives, which have none)."""
    if assigner not in ('max_iou', 'atss', 'fcos', 'paa', 'lada'):
        return None
    return ctx.workspace_size(assigner, inp.anchors, inp.boxes, inp.offsets, ignore=inp.ignore,
                              labels=inp.labels, device_offsets=inp.device_offsets)


def bits(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.int32)


def mismatches(ours, peer):
    """Indices (flat) where gt_index, the overlap bits or (both given) labels differ."""
    bad = bits(ours[1]) != bits(peer[1])
    if ours[0] is not None:
        bad |= ours[0] != peer[0]
    if len(ours) > 2 and len(peer) > 2 and ours[2] is not None and peer[2] is not None:
        bad |= ours[2] != peer[2]
    return np.flatnonzero(bad)


# --------------------------------------------------------------------------- one case

def device_point(dev, assigner, wl, aset, head, ref, repetitions):
    """anchorassign on dev (OpenCL, CUDA) checked bit for bit against the CPU reference's
    outputs `ref` (gt_index, overlap, labels), then timed. Memory: dev.memory() during
    the checked call (resident set for host-memory backends; torch's CUDA allocations,
    i.e. the outputs, on CUDA) and the context's workspace size."""
    inp = Inputs(wl, aset, dev, head)
    call = lambda: library_call(dev.ctx, assigner, inp)  # noqa: E731
    try:
        out, first, peak = checked_call(call, dev)
        ws = workspace_bytes(dev.ctx, assigner, inp)
    except aa.Error as e:  # a backend without this assigner: one skip saying why
        return dict(skipped='%s: %s' % (dev.kind, e))
    out = library_outputs(assigner, out)
    bad = mismatches(ref, out)
    res = dict(checked_call_ms=first * 1e3, peak_mib=peak, workspace_bytes=ws,
               parity='identical' if bad.size == 0 else 'FAILED: %d of %d differ' % (
                   bad.size, ref[1].size))
    if bad.size == 0:
        times = timed(call, repetitions_for(first, repetitions), dev.sync)
        res.update(median_ms=float(np.median(times)), times_ms=times)
    return res


def run_case(ctx, case, wl, aset, repetitions, log, with_peer=True, dev=None, head=None,
             full_check=True):
    """anchorassign's CPU reference (ctx) timed; on dev (CUDA) anchorassign checked against
    it and timed; then (with_peer) the peer on dev checked against the reference and timed.
    head: (cls_logits, bbox_deltas) host arrays for paa and lada. bench/scaling.py calls
    it too (full_check False: PAA's check computes the reassignment on anchorassign's own
    costs only where a difference needs it)."""
    dev = dev or Device('cpu', ctx)
    assigner = case['assigner']
    A = int(aset.boxes.shape[0])
    res = dict(workload=case['workload'], assigner=assigner, anchors=case['anchors'],
               images=wl.num_images, gts=int(wl.offsets[-1]), num_anchors=A)

    # anchorassign's CPU reference: the check's reference, and its own timing.
    cpu_inp = Inputs(wl, aset, Device('cpu', ctx), head)
    call = lambda: library_call(ctx, assigner, cpu_inp)  # noqa: E731
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        lib = library_outputs(assigner, call())
        first = time.perf_counter() - t0
    lib_times = timed(call, repetitions_for(first, repetitions))
    res['anchorassign_cpu'] = dict(median_ms=float(np.median(lib_times)), times_ms=lib_times,
                                   peak_mib=mem.mib, checked_call_ms=first * 1e3,
                                   workspace_bytes=workspace_bytes(ctx, assigner, cpu_inp))
    if dev.kind != 'cpu':
        res[dev.key] = device_point(dev, assigner, wl, aset, head, lib, repetitions)

    res['lib_outputs'] = lib  # for the caller's own checks; not written to JSON
    if not with_peer:
        return res
    if assigner == 'lada':
        res['peer'] = dict(name=None, skipped=NO_LADA_PEER)
        return res
    if assigner == 'paa':
        return run_paa_peer(res, ctx, wl, aset, head, lib, repetitions, log, dev, full_check)

    # The peer's checked call (also its warm-up), on the device.
    wld = wl.on(dev)
    priors = dev.to(torch.from_numpy(np.ascontiguousarray(aset.boxes)))
    run = lambda: peer_batch(assigner, wld, priors, aset)  # noqa: E731
    raw, first, peak = checked_call(run, dev)
    peer = peer_to_ours(assigner, wl, raw, A)
    bad = mismatches(lib, peer)
    compared = int(lib[1].size)
    explained, notes = 0, []
    if bad.size and assigner == 'atss':
        # 1. exact distance ties at the k-th candidate: the port's tie-stable top-k
        raw_stable = peer_batch(assigner, wld, priors, aset, topk_stable)
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
    peer_times = timed(run, repetitions_for(first, repetitions), dev.sync)
    res['peer'] = dict(name='mmdet-port', device=dev.kind, median_ms=float(np.median(peer_times)),
                       times_ms=peer_times, peak_mib=peak, checked_call_ms=first * 1e3)
    if assigner == 'overlaps':
        res['other_peers'] = [torchvision_box_iou(wld, priors, lib, repetitions, log, dev)]
        for o in res['other_peers']:
            if 'median_ms' in o:
                log('  %-8s %-11s %s: parity %s, %.1f ms' % (
                    assigner, case['workload'], o['name'], o['parity']['status'], o['median_ms']))
    log_case(res, dev)
    return res


def log_case(res, dev):
    ours = res.get(dev.key, {})
    print('  %-8s %-11s parity %-10s peer %10.1f ms  anchorassign-%s %9.1f ms  (x%.1f)' % (
        res['assigner'], res['workload'], res['parity']['status'], res['peer']['median_ms'],
        dev.kind, ours.get('median_ms', float('nan')),
        res['peer']['median_ms'] / max(ours.get('median_ms', float('nan')), 1e-9)), flush=True)


def torchvision_box_iou(wl, priors, lib, repetitions, log, dev):
    """torchvision.ops.box_iou on the overlaps row, checked against anchorassign's IoU."""
    name = 'torchvision.ops.box_iou'
    if torchvision is None:
        return dict(name=name, skipped=TORCHVISION_ERROR)
    run = lambda: [box_iou(im['all'], priors) for im in wl.images]  # noqa: E731
    raw, first, peak = checked_call(run, dev)
    peer = np.concatenate([host(o) for o in raw]).reshape(lib[1].shape)
    bad = np.flatnonzero(bits(lib[1]) != bits(peer))
    # pairs whose union is below eps: anchorassign (as mmdetection) divides by eps
    explained = 0
    if bad.size:
        gts = torch.cat([im['all'].cpu() for im in wl.images])
        cpu_priors = priors.cpu()
        g, a = np.divmod(bad, cpu_priors.size(0))
        area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
        gb, ab = gts[torch.from_numpy(g)], cpu_priors[torch.from_numpy(a)]
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
    res = dict(name=name, version=torchvision.__version__, device=dev.kind, parity=parity)
    if bad.size:
        flat = int(bad[0])
        parity['first'] = 'element %d: anchorassign %r, box_iou %r' % (
            flat, float(lib[1].flat[flat]), float(peer.flat[flat]))
        log('  overlaps: torchvision box_iou FAILED the check (%d differ): not timed' % bad.size)
        return res
    times = timed(run, repetitions_for(first, repetitions), dev.sync)
    res.update(median_ms=float(np.median(times)), times_ms=times, peak_mib=peak,
               checked_call_ms=first * 1e3)
    return res


# --------------------------------------------------------------------------- PAA

PAA_PEER = 'PAAHead port + scikit-learn'
PAA_GIOU_WEIGHT = 1.3  # mmdetection's PAA config (aa_paa_params_init)
PAA_VARIANT = dict(name='mmdet', covariance='diag', giou_weight=PAA_GIOU_WEIGHT,
                   single_candidate_positive=0)
PAA_PRE = dict(pos_iou_thr=0.1, neg_iou_thr=0.1, min_pos_iou=0.0, ignore_iof_thr=-1.0)
_PORT_TOPK = paa_port.topk_lowest if paa_port is not None else None


def paa_topk_mmdet(values, k, ties):
    """mmdetection's call in paa_reassign: pos_losses[level_gt_mask].topk(k, largest=False)
    (the port's own topk_lowest makes ties explicit; it is used for the check's reruns)."""
    return values.topk(k, largest=False)


def level_bounds(aset):
    bounds, lo = [], 0
    for n in aset.level_counts:
        bounds.append((lo, lo + int(n)))
        lo += int(n)
    return bounds


def paa_peer_batch(wl, priors, bounds, head, topk=paa_topk_mmdet):
    """PAAHead's assignment on the batch, image by image (wl's tensors, priors and head on
    one device). Per image (gt_inds, pos_inds, pos_gt, costs, paa_reassign's entries)."""
    paa_port.topk_lowest = topk  # paa_reassign looks it up in its module at each call
    try:
        logits, deltas = head
        ties = dict(topk=0, sort=0, score=0)
        out = []
        for i, im in enumerate(wl.images):
            # get_targets: PAA's MaxIoUAssigner (its sampler and target tensors: not ported)
            gt_inds, _, _ = mm.max_iou_assign(priors, im['gt'], im['labels'], im['ignore'],
                                              **PAA_PRE)
            pos_inds = torch.nonzero(gt_inds > 0).view(-1)
            pos_gt = gt_inds[pos_inds] - 1
            # get_pos_loss: focal + GIoU loss of the decoded boxes of the pre-assigned anchors
            costs = paa_port.get_pos_loss(priors[pos_inds], logits[i][pos_inds],
                                          deltas[i][pos_inds], im['labels'][pos_gt],
                                          im['gt'][pos_gt], PAA_GIOU_WEIGHT)
            # paa_reassign: per GT and level the topk lowest, a mixture per GT, separation
            entries = paa_port.paa_reassign(costs, pos_inds, pos_gt, bounds, PAA_VARIANT, ties)
            out.append((gt_inds, pos_inds, pos_gt, costs, entries))
        return out
    finally:
        paa_port.topk_lowest = _PORT_TOPK


class _Lazy:
    """A mapping computed on its first get(): the reassignment on anchorassign's own costs,
    which paa_peer.compare() reads only to explain a difference."""

    def __init__(self, fn):
        self.fn, self.value = fn, None

    def __bool__(self):
        return True

    def get(self, key):
        if self.value is None:
            self.value = self.fn()
        return self.value.get(key)


def _cpu_entries(entries):
    return {g: {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in e.items()}
            for g, e in entries.items()}


def paa_check(ctx, wl, aset, head, lib, raw, full):
    """The peer's PAA against anchorassign's (lib: gt_index, overlap = cost, labels),
    with tests/peer/paa_peer.py's tallies and explanations (see the module docstring):
      pre-assignment  the peer's MaxIoUAssigner against aa_assign_max_iou with PAA's pre
                      parameters, every anchor, identical;
      costs           paa_peer.check_costs: anchorassign's cost (its overlap output, +inf
                      where not pre-assigned) against get_pos_loss in float32 torch
                      (relative 1e-5) and float64 (explains a float32 rounding);
      torch           paa_peer.compare: gt_index and labels of every anchor, a difference
                      explained only by a near-tie (paa_peer.explain);
      ccosts          (full) paa_reassign on anchorassign's own costs, compared the same
                      way: the mixture and selection on equal inputs. Without `full` that
                      reassignment is computed only for an image whose GT differs (the
                      explanation needs it), and its tally is not kept.
    Returns the parity dict."""
    I, A = wl.num_images, int(aset.boxes.shape[0])
    C = int(head[0].shape[2])
    gi, ov, lab = lib
    pre = np.asarray(ctx.max_iou(aset, wl.boxes, wl.offsets, ignore=wl.crowd,
                                 **PAA_PRE).gt_index)
    d = dict(I=I, A=A, C=C, offsets=wl.offsets, labels=wl.labels, boxes=wl.boxes,
             crowd=wl.crowd, anchors=torch.from_numpy(np.ascontiguousarray(aset.boxes)),
             rows=np.arange(I * A, dtype=np.int64), logits=head[0].reshape(I * A, C),
             deltas=head[1])
    d['mmdet.costs'] = d['mmdet.overlap'] = ov
    bounds = level_bounds(aset)
    ends = np.array([e for _, e in bounds])
    level_of = lambda a: int(np.searchsorted(ends, a, side='right'))  # noqa: E731
    T = paa_peer.Tally
    pre_t, cost_t, run_t, cc_t = T('pre-assignment'), T('costs'), T('gt_index/labels'), \
        T('on our costs')
    worst = dict(f32=(0.0, None), f64=(0.0, None))
    ties = dict(topk=0, sort=0, score=0)
    for i in range(I):
        kept, gt_b, gt_l, _ = paa_peer.image(d, i)
        gt_inds, pos_inds, pos_gt, costs, entries = raw[i]
        gt_inds, pos_inds, pos_gt, costs = (t.cpu() for t in (gt_inds, pos_inds, pos_gt, costs))
        entries = _cpu_entries(entries)
        peer_pre = mm.to_ours(gt_inds, kept)
        pre_t.compared += A
        pre_t.positives += int((pre[i] >= 0).sum())
        for a in np.nonzero(peer_pre != pre[i])[0]:
            pre_t.diff('image %d anchor %d: anchorassign %d, peer %d' % (
                i, a, pre[i][a], peer_pre[a]), None)
        paa_peer.check_costs(cost_t, d, i, 'mmdet', PAA_GIOU_WEIGHT, pos_inds, pos_gt, gt_b,
                             gt_l, worst)
        oc = ov[i][pos_inds.numpy()]
        reassign_ours = lambda oc=oc, pos_inds=pos_inds, pos_gt=pos_gt: paa_port.paa_reassign(  # noqa: E731
            torch.from_numpy(oc.copy()), pos_inds, pos_gt, bounds, PAA_VARIANT, ties)
        other = reassign_ours() if full else _Lazy(reassign_ours)
        paa_peer.compare(run_t, d, i, kept, pre[i], entries, gi[i], lab[i], other,
                         dict(zip(pos_inds.tolist(), costs.tolist())).__getitem__, level_of)
        if full:
            paa_peer.compare(cc_t, d, i, kept, pre[i], other, gi[i], lab[i], None,
                             dict(zip(pos_inds.tolist(), oc.tolist())).__getitem__, level_of)
    tallies = [pre_t, cost_t, run_t] + ([cc_t] if full else [])
    unexplained = sum(t.unexplained for t in tallies)
    explained = sum(t.explained for t in tallies)
    why = {'costs': 'float32 rounding in torch, the float64 port agrees'}
    notes = ['%s: %d explained (%s)' % (t.name, t.explained,
                                        why.get(t.name, 'near-ties, paa_peer.explain'))
             for t in tallies if t.explained]
    notes.append('costs of %d pre-assigned anchors: max relative difference %.2g from torch '
                 'float32, %.2g from the float64 port' % (cost_t.compared, worst['f32'][0],
                                                          worst['f64'][0]))
    parity = dict(compared=run_t.compared, unexplained=unexplained, explained=explained,
                  notes=notes,
                  status='FAILED' if unexplained else ('explained' if explained else 'identical'),
                  tallies=[dict(name=t.name, compared=t.compared, positives=t.positives,
                                explained=t.explained, unexplained=t.unexplained,
                                notes=t.notes) for t in tallies],
                  positives=int((gi >= 0).sum()))
    if unexplained:
        bad = next(t for t in tallies if t.unexplained)
        parity['first'] = '%s: %d unexplained (see differences)' % (bad.name, bad.unexplained)
    return parity


def paa_check_logged(ctx, wl, aset, head, lib, raw, full, log):
    """paa_check with paa_peer's printed differences (up to 20 per tally) sent to log and
    kept in the parity dict ('differences')."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        parity = paa_check(ctx, wl, aset, head, lib, raw, full)
    lines = [l.strip() for l in buf.getvalue().splitlines() if l.strip()]
    for l in lines:
        log('    paa check: ' + l)
    if lines:
        parity['differences'] = lines
    return parity


def run_paa_peer(res, ctx, wl, aset, head, lib, repetitions, log, dev, full):
    """The PAA peer on dev: checked call, paa_check, then timed (run_case's last step)."""
    if paa_port is None:
        res['peer'] = dict(name=PAA_PEER, skipped=SKLEARN_ERROR)
        return res
    wld = wl.on(dev)
    priors = dev.to(torch.from_numpy(np.ascontiguousarray(aset.boxes)))
    head_d = tuple(dev.to(torch.from_numpy(h)) for h in head)
    bounds = level_bounds(aset)
    run = lambda: paa_peer_batch(wld, priors, bounds, head_d)  # noqa: E731
    raw, first, peak = checked_call(run, dev)
    parity = paa_check_logged(ctx, wl, aset, head, lib, raw, full, log)
    if parity['unexplained']:
        # mmdetection's torch.topk leaves the order of exact cost ties open: the port's
        # tie-stable top-k (anchorassign's documented order) explains those, nothing else
        stable = paa_check_logged(ctx, wl, aset, head, lib,
                                  paa_peer_batch(wld, priors, bounds, head_d, _PORT_TOPK), full,
                                  log)
        if stable['unexplained'] < parity['unexplained']:
            tie = parity['unexplained'] - stable['unexplained']
            stable['explained'] += tie
            stable['notes'].insert(0, '%d differ only by torch.topk\'s order at exact cost '
                                      'ties (the port\'s tie-stable top-k agrees)' % tie)
            if not stable['unexplained']:
                stable['status'] = 'explained'
            parity = stable
    res['parity'] = parity
    if parity['status'] == 'FAILED':
        log('  paa/%s: FAILED the check (%s): not timed' % (res['workload'], parity['first']))
        return res
    times = timed(run, repetitions_for(first, repetitions), dev.sync)
    res['peer'] = dict(name=PAA_PEER, device=dev.kind, sklearn=sklearn.__version__,
                       median_ms=float(np.median(times)), times_ms=times, peak_mib=peak,
                       checked_call_ms=first * 1e3,
                       mixtures=sum(e['gmm'] is not None for r in raw for e in r[4].values()))
    log_case(res, dev)
    return res


def paa_segments(ctx, wl, aset, head, topk=9):
    """bench_cases.h's bench_paa_segments in NumPy: the costs PAA fits a mixture to, per
    image and GT (two or more candidates): per level the topk lowest (cost, anchor), all
    sorted by (cost, anchor). Returns (points float32, offsets int64)."""
    pre = np.asarray(ctx.max_iou(aset, wl.boxes, wl.offsets, ignore=wl.crowd,
                                 **PAA_PRE).gt_index)
    costs = np.asarray(ctx.paa_costs(aset, wl.boxes, wl.offsets, pre, head[0], head[1],
                                     labels=wl.labels, ignore=wl.crowd))
    level = np.repeat(np.arange(len(aset.level_counts)), np.asarray(aset.level_counts))
    points, offsets = [], [0]
    for i in range(wl.num_images):
        k = np.nonzero(pre[i] >= 0)[0]
        g, lv, c = pre[i][k], level[k], costs[i][k]
        o = np.lexsort((k, c, lv, g))
        g, lv, c, k = g[o], lv[o], c[o], k[o]
        if not len(g):
            continue
        start = np.r_[0, np.nonzero((g[1:] != g[:-1]) | (lv[1:] != lv[:-1]))[0] + 1]
        rank = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
        keep = rank < topk
        g, c, k = g[keep], c[keep], k[keep]
        for gt in np.unique(g):
            sel = g == gt
            if sel.sum() >= 2:
                o = np.lexsort((k[sel], c[sel]))
                points.append(c[sel][o])
                offsets.append(offsets[-1] + int(sel.sum()))
    pts = np.concatenate(points).astype(np.float32) if points else np.zeros(0, np.float32)
    return pts, np.array(offsets, np.int64)


def check_head(ctx, wl, aset, head, seg):
    """The NumPy head against the C one: the GMM segments bench_workloads wrote come from
    aa_wl_head_make's outputs (bench_paa_segments); ours must give the same bits."""
    pts, off = paa_segments(ctx, wl, aset, head)
    if not np.array_equal(off, seg.offsets):
        return False, ('synthetic head: %d segments, bench_workloads wrote %d: not '
                       'aa_wl_head_make\'s head' % (off.size - 1, seg.offsets.size - 1))
    bad = np.flatnonzero(bits(pts) != bits(seg.points))
    if bad.size:
        return False, ('synthetic head: %d of %d segment points differ from bench_workloads\' '
                       '(first at %d: %r vs %r): not aa_wl_head_make\'s head' % (
                           bad.size, pts.size, bad[0], float(pts[bad[0]]),
                           float(seg.points[bad[0]])))
    return True, ('identical to aa_wl_head_make\'s: the %d costs of bench_workloads\' %d GMM '
                  'segments, bit for bit' % (pts.size, off.size - 1))


def run_paa_case(ctx, dev, wl, aset, seg, repetitions, log):
    """paa/coco-atss: the head (checked against bench_workloads'), then run_case."""
    case = dict(assigner='paa', workload=wl.name, anchors='coco-atss')
    if paa_port is None:
        log('  paa      %-11s skipped: %s' % (wl.name, SKLEARN_ERROR))
        return dict(case, skipped=SKLEARN_ERROR)
    t0 = time.perf_counter()
    head = synthetic_head(ctx, wl, aset)
    head_s = time.perf_counter() - t0
    ok, why = check_head(ctx, wl, aset, head, seg)
    info = dict(what='aa_wl_head_make (tools/synthetic_head.c) in NumPy (peers.synthetic_head): '
                     'float32, %d classes, seed %d' % (COCO_CLASSES, HEAD_SEED),
                check=why, seconds=round(head_s, 2))
    if not ok:
        log('  paa/%s: FAILED: %s' % (wl.name, why))
        return dict(case, head=info, parity=dict(compared=0, unexplained=1, explained=0, notes=[],
                                                 status='FAILED', first=why))
    r = run_case(ctx, case, wl, aset, repetitions, log, True, dev, head, full_check=True)
    r['head'] = info
    return r


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


def gmm_device_point(dev, seg, ours, repetitions):
    """aa_gmm_fit on dev (CUDA: points and offsets on the device), statuses and labels
    checked equal to the CPU reference's, then timed."""
    pts, dof = dev.to(seg.points), dev.to(seg.offsets)
    call = lambda: dev.ctx.gmm_fit(pts, seg.offsets, device_offsets=dof)  # noqa: E731
    try:
        out, first, peak = checked_call(call, dev)
    except aa.Error as e:
        return dict(skipped='%s: %s' % (dev.kind, e))
    same = (np.array_equal(host(out.status), np.asarray(ours.status))
            and np.array_equal(host(out.labels), np.asarray(ours.labels)))
    res = dict(checked_call_ms=first * 1e3, peak_mib=peak,
               parity='identical' if same else 'FAILED: statuses or labels differ from the CPU\'s')
    if same:
        times = timed(call, repetitions_for(first, repetitions), dev.sync)
        res.update(median_ms=float(np.median(times)), times_ms=times)
    return res


def run_gmm_case(ctx, seg, repetitions, log, dev=None):
    dev = dev or Device('cpu', ctx)
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
    if dev.kind != 'cpu':
        res[dev.key] = gmm_device_point(dev, seg, ours, repetitions)
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
    res['peer'] = dict(name='scikit-learn', version=sklearn.__version__, device='cpu',
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

def failed_in(r):
    """1 when a result (or one of its other peers, or its device column) FAILED a check."""
    bad = r.get('parity', {}).get('status') == 'FAILED'
    bad |= any(o.get('parity', {}).get('status') == 'FAILED' for o in r.get('other_peers', []))
    bad |= any(str(v.get('parity', '')).startswith('FAILED') for k, v in r.items()
               if k.startswith('anchorassign_') and isinstance(v, dict))
    return int(bad)


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
    ap.add_argument('--device', choices=('cpu', 'cuda', 'cpu-tensors'), default='cpu',
                    help='where anchorassign (besides the CPU reference) and the PyTorch peers '
                         'run: cuda needs torch.cuda.is_available() and a CUDA build of the '
                         'library (else exit status 2); cpu-tensors is a dry run of the CUDA '
                         'code path on the CPU (tests the script, not a measurement)')
    args = ap.parse_args(argv)

    log = lambda s: print(s, flush=True)  # noqa: E731
    ctx = aa.Context('cpu')
    dev = open_device(args.device, ctx, 'peers.py')  # exits 2 before anything else
    torch.set_num_threads(max(1, args.threads))
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
                             'image by image, PyTorch on %s (ATSS timed with torch.topk as '
                             'mmdetection)' % args.device,
               'torchvision.ops.box_iou': ('torchvision %s, the overlaps row (IoU), image '
                                           'by image' % torchvision.__version__)
                                          if torchvision is not None else TORCHVISION_ERROR,
               'scikit-learn': ('sklearn.mixture.GaussianMixture %s per segment, PAAHead\'s '
                                'init, diag, float64 points (gmm_fit row)' % sklearn.__version__)
                               if sklearn is not None else SKLEARN_ERROR,
               PAA_PEER: ('tests/peer/paa_port.py: mmdetection 3.x PAAHead (pre-assignment, '
                          'get_pos_loss, paa_reassign with mmdetection\'s topk) image by image, '
                          'PyTorch on %s, scikit-learn %s GaussianMixture (paa row)' % (
                              args.device, sklearn.__version__))
                         if sklearn is not None else SKLEARN_ERROR},
        sklearn=sklearn.__version__ if sklearn is not None else None,
        torchvision=torchvision.__version__ if torchvision is not None else None,
        timing='wall clock, whole batch per call; the first call is checked (and warms up), '
               'then N timed calls (N = --repetitions when the checked call took under 2 s, '
               '3 up to 60 s, 1 beyond), median' +
               ('; torch.cuda.synchronize() before and after each call'
                if dev.kind == 'cuda' else ''),
        repetitions=args.repetitions,
        results=[])
    doc.update(device_info(dev) if dev.native else dict(device_kind='cpu'))
    if dev.kind == 'cuda':
        doc['memory'] = ('peer: torch.cuda.max_memory_allocated() above the start, during the '
                         'checked call; anchorassign-cuda: the same (its outputs) plus '
                         'workspace_bytes (Context.workspace_size)')
    log('peers: %s, torch %s (%d threads), commit %s' % (doc['device'], torch.__version__,
                                                          torch.get_num_threads(), doc['commit']))
    workloads, sets = {}, {}
    failed = 0

    def workload(name):
        if name not in workloads:
            workloads[name] = Workload(args.workloads, name, manifest['workloads'][name])
        return workloads[name]

    def save():
        with open(args.out, 'w') as f:  # partial results survive an interruption
            json.dump(doc, f, indent=1)

    try:
        for case in manifest['cases']:
            name = '%s/%s' % (case['assigner'], case['workload'])
            if args.filter and not re.search(args.filter, name):
                continue
            if case['workload'] == 'extreme' and not args.extreme:
                doc['results'].append(dict(workload=case['workload'], assigner=case['assigner'],
                                           anchors=case['anchors'],
                                           skipped='not run by default (minutes); --extreme'))
                continue
            if case['anchors'] not in sets:
                sets[case['anchors']] = anchor_set(case['anchors'])
            r = run_case(ctx, case, workload(case['workload']), sets[case['anchors']],
                         args.repetitions, log, dev=dev)
            r.pop('lib_outputs')
            failed += failed_in(r)
            doc['results'].append(r)
            save()
        spec = manifest.get('gmm_segments')
        if spec and (not args.filter or re.search(args.filter, 'paa/' + spec['workload'])):
            r = run_paa_case(ctx, dev, workload(spec['workload']), anchor_set('coco-atss'),
                             Segments(args.workloads, spec), args.repetitions, log)
            r.pop('lib_outputs', None)
            failed += failed_in(r)
            doc['results'].append(r)
            save()
        if spec and (not args.filter or re.search(args.filter, 'gmm_fit/' + spec['workload'])):
            r = run_gmm_case(ctx, Segments(args.workloads, spec), args.repetitions, log, dev)
            failed += failed_in(r)
            doc['results'].append(r)
    finally:
        dev.close()
        ctx.close()
    save()
    log('peers: wrote %s%s' % (args.out, ' (%d FAILED)' % failed if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
