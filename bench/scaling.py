#!/usr/bin/python3
"""Scaling curves: time and peak memory of ATSS, max-IoU, FCOS, PAA and LADA versus GTs per
image, images per batch and anchors, for anchorassign (CPU reference; OpenCL when a device
is there: PoCL on this CPU; CUDA with --device cuda) and the PyTorch peers of
bench/peers.py (mmdetection's port for ATSS, max-IoU and FCOS; PAAHead's port with
scikit-learn for PAA; LADA has no peer: it has no public code, docs/semantics.md).

Sweeps (synthetic "dense" boxes, tools/workload.h: pedestrian-like, prefix-stable, so
the points of a sweep nest):
  gts      8 images, 1 .. 5,000 GTs per image, coco-atss anchors (22,400)
  images   1 .. 64 images of 100 GTs, coco-atss anchors
  anchors  16 images of 100 GTs, coco-atss (22,400) and coco-retina (201,600) anchors
           (ATSS and max-IoU only: FCOS has one point set for the canvas, PAA and LADA run
           on PAA's one-anchor-per-location set, which is coco-atss)
FCOS runs on the FCOS points (22,400) where the others take the coco-atss anchors. PAA and
LADA take synthetic head outputs: peers.synthetic_head, tools/synthetic_head.c's
aa_wl_head_make in NumPy (float32, 91 classes, seed 20261125; peers.py checks it bit for bit
against the C head on coco-atss), one per point, shared by the two.

Every point: bench_workloads --synthetic writes the GTs; anchorassign's CPU reference is
timed (peers.run_case: checked call, then median of the timed calls), the peer is
checked against it exactly as in peers.py (gt_index and overlap bits, only the
documented differences allowed; PAA as peer.paa_parity compares it: pre-assignment,
costs within tolerance, gt_index and labels, near-ties explained and counted) and timed,
OpenCL is checked against the CPU reference (gt_index, overlap and labels bits) and timed.
Once a peer's call exceeds --limit seconds (10) or runs out of memory, the larger points of
that sweep skip it and say so. Peak memory: resident-set high-water mark above the
starting resident set during the checked call (peers.PeakMemory; for PoCL that includes the
device buffers, which live in host memory).

--device cuda (torch.cuda.is_available() and a CUDA build of the library, else exit
status 2 at once): anchorassign also runs through Context("cuda") on CUDA tensors (checked
bit for bit against the CPU reference, then timed with torch.cuda.synchronize() around each
call; memory: torch's CUDA allocations during the checked call plus the context's workspace
size), and the peers run on CUDA tensors (scikit-learn stays on the CPU). The code path is
peers.py's, the device a parameter: --device cpu-tensors runs it on the CPU (a dry run).

  PYTHONPATH=python ANCHORASSIGN_LIBRARY=BUILD/libanchorassign.so /usr/bin/python3 \\
    bench/scaling.py --bench-workloads BUILD/bench/bench_workloads --out scaling.json \\
    [--plots DIR] [--quick] [--sweep gts] [--assigner paa] [--device cpu|cuda]

Cost on the 2-core machine (shared, load average 1.5-2.5): FCOS, PAA and LADA, full grids,
1,083 s (results/20261125-cpu-scaling-2/; PAA's CPU reference 18 s and PoCL's LADA 94 s per
call at 40,000 GTs); ATSS and max-IoU, full grids, about as long (~1,000 s of calls);
--quick about a third (FCOS, PAA and LADA: 672 s at load 3).

Writes JSON (device, commit, date, versions, per sweep and point the times and memory of
each implementation) and, with --plots and matplotlib, one PNG per sweep and assigner.
Exit status 1 when a check FAILED.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (the peers, their checks, the devices and the timing rules)

aa = peers.aa

SWEEPS = {
    'gts': dict(x='GTs per image', images=[8], boxes=[1, 10, 100, 1000, 5000],
                anchors=['coco-atss']),
    'images': dict(x='images per batch', images=[1, 4, 16, 64], boxes=[100],
                   anchors=['coco-atss']),
    'anchors': dict(x='anchors', images=[16], boxes=[100], anchors=['coco-atss', 'coco-retina']),
}
QUICK = {
    'gts': dict(boxes=[1, 100, 1000]),
    'images': dict(images=[1, 16]),
    'anchors': dict(anchors=['coco-atss']),
}
ASSIGNERS = ('atss', 'max_iou', 'fcos', 'paa', 'lada')
SWEEP_ASSIGNERS = {'gts': ASSIGNERS, 'images': ASSIGNERS, 'anchors': ('atss', 'max_iou')}
NOT_SWEPT = {'anchors': {
    a: 'not in the anchors sweep: %s' % why for a, why in (
        ('fcos', 'FCOS has one point set for the canvas (22,400 points)'),
        ('paa', 'PAA runs on its one-anchor-per-location set (coco-atss); coco-retina\'s 9 '
                'per location is not PAA\'s'),
        ('lada', 'LADA runs on PAA\'s anchor set (coco-atss), as bench_assign'))}}
HEAD_ASSIGNERS = ('paa', 'lada')
PEER_NAMES = {'paa': peers.PAA_PEER, 'lada': None}


def anchors_for(assigner, anchors):
    """The anchor set of an assigner at a sweep's point: FCOS takes its points."""
    return 'fcos-points' if assigner == 'fcos' and anchors == 'coco-atss' else anchors


def make_workload(tool, images, boxes, tmp):
    d = os.path.join(tmp, 'dense-%dx%d' % (images, boxes))
    subprocess.run([tool, '--synthetic', 'dense', str(images), str(boxes), d], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(d, 'manifest.json')) as f:
        manifest = json.load(f)
    name = next(iter(manifest['workloads']))
    return peers.Workload(d, name, manifest['workloads'][name])


def run_sweep(name, spec, tool, cpu, ocl, dev, assigners, args, log, tmp):
    points = []
    todo = [a for a in assigners if a in SWEEP_ASSIGNERS[name]]
    peer_stopped = {a: None for a in todo}
    sets = {}
    for anchors in spec['anchors']:
        for images in spec['images']:
            for boxes in spec['boxes']:
                wl = make_workload(tool, images, boxes, tmp)
                head = None
                if any(a in HEAD_ASSIGNERS for a in todo):
                    t0 = time.perf_counter()
                    sets.setdefault(anchors, peers.anchor_set(anchors))
                    head = peers.synthetic_head(cpu, wl, sets[anchors])
                    log('  %-7s head outputs of %s: %.1f s' % (name, wl.name,
                                                              time.perf_counter() - t0))
                for assigner in todo:
                    aname = anchors_for(assigner, anchors)
                    if aname not in sets:
                        sets[aname] = peers.anchor_set(aname)
                    aset = sets[aname]
                    case = dict(assigner=assigner, workload=wl.name, anchors=aname)
                    with_peer = peer_stopped[assigner] is None
                    peer_name = PEER_NAMES.get(assigner, 'mmdet-port')
                    try:
                        r = peers.run_case(cpu, case, wl, aset, args.repetitions, log, with_peer,
                                           dev=dev, full_check=False,
                                           head=head if assigner in HEAD_ASSIGNERS else None)
                    except (MemoryError, RuntimeError) as e:  # torch: out of memory
                        if dev.kind == 'cuda':
                            torch.cuda.empty_cache()
                        r = dict(workload=wl.name, assigner=assigner, anchors=aname,
                                 images=images, gts=images * boxes,
                                 num_anchors=int(aset.boxes.shape[0]))
                        r['peer'] = dict(name=peer_name, device=dev.kind,
                                         error=str(e).split('\n')[0])
                        peer_stopped[assigner] = 'ran out of memory at %s' % wl.name
                        points.append(dict(sweep=name, x=None, **r))
                        continue
                    lib = r.pop('lib_outputs')
                    if not with_peer:
                        r['peer'] = dict(name=peer_name, skipped=peer_stopped[assigner])
                    elif r.get('peer', {}).get('checked_call_ms', 0) > args.limit * 1e3:
                        peer_stopped[assigner] = 'over %g s per call from %s on' % (
                            args.limit, wl.name)
                    if ocl is not None:
                        r['opencl'] = peers.device_point(
                            ocl, assigner, wl, aset,
                            head if assigner in HEAD_ASSIGNERS else None, lib, args.repetitions)
                    r['boxes_per_image'] = boxes
                    r['x'] = {'gts': boxes, 'images': images,
                              'anchors': int(aset.boxes.shape[0])}[name]
                    r['sweep'] = name
                    points.append(r)
                    log(point_line(name, anchors, r, dev))
    return points


def point_line(sweep, anchors, r, dev):
    def ms(d, label):
        if d.get('median_ms') is not None:
            return '  %s %9.1f ms' % (label, d['median_ms'])
        if d.get('skipped'):
            return '  %s: %s' % (label, d['skipped'])
        return '  %s: %s' % (label, d.get('parity', '-')) if d else ''
    peer = r.get('peer', {})
    return '  %-7s %-8s %-16s %-11s%s%s%s%s' % (
        sweep, r['assigner'], r['workload'], anchors, ms(r['anchorassign_cpu'], 'cpu'),
        ms(r.get('opencl', {}), 'opencl'),
        ms(r.get(dev.key, {}), dev.kind) if dev.kind != 'cpu' else '',
        '  peer %9.1f ms' % peer['median_ms'] if peer.get('median_ms') is not None else
        '  peer: %s' % (peer.get('skipped') or r.get('parity', {}).get('status', '-')))


def impls(doc):
    """(label, getter) of the implementations a plot shows."""
    out = [('anchorassign-cpu', lambda p: p.get('anchorassign_cpu', {})),
           ('anchorassign-opencl (%s)' % doc.get('opencl_device', 'OpenCL'),
            lambda p: p.get('opencl', {}))]
    kind = doc.get('device_kind', 'cpu')
    if kind != 'cpu':
        key = 'anchorassign_' + kind.replace('-', '_')
        out.append(('anchorassign-%s' % kind, lambda p: p.get(key, {})))
    out.append(('PyTorch peer (%s)' % ('CUDA tensors' if kind == 'cuda' else 'CPU'),
                lambda p: p.get('peer', {})))
    return out


def plot(doc, folder):
    """One PNG per sweep and assigner: median time (log) and peak memory versus x."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError as e:
        return 'no plots: matplotlib cannot be imported (%s)' % e
    written = []
    for sweep, spec in doc['sweeps'].items():
        for assigner in ASSIGNERS:
            pts = [p for p in doc['points'] if p['sweep'] == sweep and p['assigner'] == assigner
                   and p.get('x') is not None]
            if len(pts) < 2:
                continue
            fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
            for label, get in impls(doc):
                xs = [p['x'] for p in pts if get(p).get('median_ms') is not None]
                ts = [get(p)['median_ms'] for p in pts if get(p).get('median_ms') is not None]
                ms = [get(p).get('peak_mib') or 0.0 for p in pts
                      if get(p).get('median_ms') is not None]
                if xs:
                    ax_t.plot(xs, ts, marker='o', label=label)
                    ax_m.plot(xs, ms, marker='o', label=label)
            for ax, what in ((ax_t, 'median time per call (ms)'), (ax_m, 'peak memory (MiB)')):
                ax.set_xscale('log')
                ax.set_xlabel(spec['x'])
                ax.set_ylabel(what)
                ax.grid(True, which='both', alpha=0.3)
            ax_t.set_yscale('log')
            ax_t.legend(fontsize=8)
            fig.suptitle('%s vs %s (%s)' % (assigner, spec['x'], doc['device']), fontsize=9)
            fig.tight_layout()
            suffix = '' if doc.get('device_kind', 'cpu') == 'cpu' else '-' + doc['device_kind']
            path = os.path.join(folder, 'scaling%s-%s-%s.png' % (suffix, sweep, assigner))
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(os.path.basename(path))
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bench-workloads', required=True, help='the bench_workloads program')
    ap.add_argument('--out', required=True, help='JSON file to write')
    ap.add_argument('--plots', help='folder for the PNG plots (default: beside --out)')
    ap.add_argument('--sweep', action='append', choices=sorted(SWEEPS),
                    help='only these sweeps (repeatable)')
    ap.add_argument('--assigner', action='append', choices=ASSIGNERS,
                    help='only these assigners (repeatable; default: all five)')
    ap.add_argument('--quick', action='store_true', help='three small points per sweep')
    ap.add_argument('--repetitions', type=int, default=3,
                    help='timed calls per point under 2 s (fewer beyond, as peers.py)')
    ap.add_argument('--limit', type=float, default=10.0,
                    help='seconds per peer call beyond which larger points skip the peer')
    ap.add_argument('--no-opencl', action='store_true', help='no OpenCL column')
    ap.add_argument('--device', choices=('cpu', 'cuda', 'cpu-tensors'), default='cpu',
                    help='where anchorassign (besides the CPU reference) and the PyTorch peers '
                         'run: cuda needs torch.cuda.is_available() and a CUDA build of the '
                         'library (else exit status 2); cpu-tensors: a dry run of that path '
                         'on the CPU (tests the script, not a measurement)')
    args = ap.parse_args(argv)

    log = lambda s: print(s, flush=True)  # noqa: E731
    cpu = aa.Context('cpu')
    dev = peers.open_device(args.device, cpu, 'scaling.py')  # exits 2 before anything else
    torch.set_num_threads(os.cpu_count() or 1)
    assigners = tuple(a for a in ASSIGNERS if not args.assigner or a in args.assigner)
    sweeps = {k: dict(v, **(QUICK[k] if args.quick else {})) for k, v in SWEEPS.items()
              if (not args.sweep or k in args.sweep)
              and any(a in SWEEP_ASSIGNERS[k] for a in assigners)}
    doc = dict(tool='bench/scaling.py', device='cpu: %s' % peers.cpu_model(),
               logical_cpus=os.cpu_count(), commit=peers.git_commit(),
               date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
               torch=torch.__version__, torch_threads=torch.get_num_threads(),
               numpy=np.__version__, load_avg=list(os.getloadavg()),
               sklearn=peers.sklearn.__version__ if peers.sklearn is not None else None,
               assigners=list(assigners),
               sweeps={k: dict(x=v['x'], images=v['images'], boxes_per_image=v['boxes'],
                               anchors=v['anchors'],
                               assigners=[a for a in assigners if a in SWEEP_ASSIGNERS[k]])
                       for k, v in sweeps.items()},
               not_swept={k: {a: why for a, why in v.items() if a in assigners}
                          for k, v in NOT_SWEPT.items() if not args.sweep or k in args.sweep},
               workloads='synthetic dense (tools/workload.h), seed %d' % 20261125,
               head=('PAA and LADA: peers.synthetic_head (aa_wl_head_make in NumPy: float32, '
                     '%d classes, seed %d)' % (peers.COCO_CLASSES, peers.HEAD_SEED))
               if any(a in HEAD_ASSIGNERS for a in assigners) else None,
               peers={'atss': 'mmdet-port', 'max_iou': 'mmdet-port', 'fcos': 'mmdet-port',
                      'paa': peers.PAA_PEER, 'lada': peers.NO_LADA_PEER},
               limit_s=args.limit, repetitions=args.repetitions, points=[])
    doc.update(peers.device_info(dev) if dev.native else dict(device_kind='cpu'))
    if dev.kind == 'cuda':
        doc['timing'] = 'torch.cuda.synchronize() before and after each timed call'
        doc['memory'] = ('CUDA columns: torch.cuda.max_memory_allocated() above the start during '
                         'the checked call (the peer; anchorassign: its outputs) and '
                         'workspace_bytes (Context.workspace_size)')
    ocl = None
    if not args.no_opencl:
        try:
            ocl = peers.Device('opencl')
            doc['opencl_device'] = ocl.ctx.device_name
        except Exception as e:  # noqa: BLE001  (no OpenCL device: say so, go on)
            doc['opencl_device'] = 'not available: %s' % e
    failed = 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    log('scaling: %s, assigners %s, commit %s' % (doc['device'], ', '.join(assigners),
                                                  doc['commit']))
    t_start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, spec in sweeps.items():
                log('sweep %s: %s' % (name, spec['x']))
                pts = run_sweep(name, spec, args.bench_workloads, cpu, ocl, dev, assigners,
                                args, log, tmp)
                doc['points'] += pts
                failed += sum(peers.failed_in(p) or
                              str(p.get('opencl', {}).get('parity', '')).startswith('FAILED')
                              for p in pts)
                with open(args.out, 'w') as f:
                    json.dump(doc, f, indent=1)
    finally:
        if ocl is not None:
            ocl.close()
        dev.close()
        cpu.close()
    folder = args.plots or os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    doc['load_avg_end'] = list(os.getloadavg())
    doc['wall_s'] = round(time.perf_counter() - t_start, 1)
    doc['plots'] = plot(doc, folder)
    with open(args.out, 'w') as f:
        json.dump(doc, f, indent=1)
    log('scaling: wrote %s in %.0f s; plots: %s%s' % (
        args.out, doc['wall_s'], doc['plots'], ' (%d FAILED)' % failed if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
