#!/usr/bin/python3
"""Scaling curves: time and peak memory of ATSS and max-IoU versus GTs per image, images
per batch and anchors, for anchorassign (CPU reference; OpenCL when a device is there:
PoCL on this CPU) and the PyTorch mmdetection port (bench/peers.py's peer).

Sweeps (synthetic "dense" boxes, tools/workload.h: pedestrian-like, prefix-stable, so
the points of a sweep nest):
  gts      8 images, 1 .. 5,000 GTs per image, coco-atss anchors (22,400)
  images   1 .. 64 images of 100 GTs, coco-atss anchors
  anchors  16 images of 100 GTs, coco-atss (22,400) and coco-retina (201,600) anchors

Every point: bench_workloads --synthetic writes the GTs; anchorassign's CPU reference is
timed (peers.run_case: checked call, then median of the timed calls), the peer is
checked against it exactly as in peers.py (gt_index and overlap bits, only the
documented differences allowed) and timed, OpenCL is checked against the CPU reference
(gt_index and overlap bits) and timed. Once a peer's call exceeds --limit seconds (10) or
runs out of memory, the larger points of that sweep skip it and say so. Peak memory:
resident-set high-water mark above the starting resident set during the checked call
(peers.PeakMemory; for PoCL that includes the device buffers, which live in host memory).

  PYTHONPATH=python ANCHORASSIGN_LIBRARY=BUILD/libanchorassign.so /usr/bin/python3 \\
    bench/scaling.py --bench-workloads BUILD/bench/bench_workloads --out scaling.json \\
    [--plots DIR] [--quick]

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
import peers  # noqa: E402  (the peer, its check and the timing rules)

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
ASSIGNERS = ('atss', 'max_iou')


def make_workload(tool, images, boxes, tmp):
    d = os.path.join(tmp, 'dense-%dx%d' % (images, boxes))
    subprocess.run([tool, '--synthetic', 'dense', str(images), str(boxes), d], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(d, 'manifest.json')) as f:
        manifest = json.load(f)
    name = next(iter(manifest['workloads']))
    return peers.Workload(d, name, manifest['workloads'][name])


def opencl_point(ctx, assigner, wl, aset, lib, repetitions):
    """OpenCL (host arrays in, AA_MEMORY_HOST) checked against the CPU reference, timed."""
    call = lambda: peers.library_call(ctx, assigner, wl, aset)  # noqa: E731
    with peers.PeakMemory() as mem:
        t0 = time.perf_counter()
        out = peers.library_outputs(assigner, call())
        first = time.perf_counter() - t0
    bad = peers.mismatches(lib, out)
    res = dict(checked_call_ms=first * 1e3, peak_mib=mem.mib,
               parity='identical' if bad.size == 0 else 'FAILED: %d of %d differ' % (
                   bad.size, lib[1].size))
    if bad.size == 0:
        times = peers.timed(call, peers.repetitions_for(first, repetitions))
        res.update(median_ms=float(np.median(times)), times_ms=times)
    return res


def run_sweep(name, spec, tool, cpu, ocl, args, log, tmp):
    points = []
    peer_stopped = {a: None for a in ASSIGNERS}
    for anchors in spec['anchors']:
        aset = peers.anchor_set(anchors)
        for images in spec['images']:
            for boxes in spec['boxes']:
                wl = make_workload(tool, images, boxes, tmp)
                for assigner in ASSIGNERS:
                    case = dict(assigner=assigner, workload=wl.name, anchors=anchors)
                    with_peer = peer_stopped[assigner] is None
                    try:
                        r = peers.run_case(cpu, case, wl, aset, args.repetitions, log, with_peer)
                    except (MemoryError, RuntimeError) as e:  # torch: out of memory
                        r = dict(workload=wl.name, assigner=assigner, anchors=anchors,
                                 images=images, gts=images * boxes,
                                 num_anchors=int(aset.boxes.shape[0]))
                        r['peer'] = dict(name='mmdet-port', error=str(e).split('\n')[0])
                        peer_stopped[assigner] = 'ran out of memory at %s' % wl.name
                        points.append(dict(sweep=name, x=None, **r))
                        continue
                    lib = r.pop('lib_outputs')
                    if not with_peer:
                        r['peer'] = dict(name='mmdet-port', skipped=peer_stopped[assigner])
                    elif 'peer' in r and r['peer']['checked_call_ms'] > args.limit * 1e3:
                        peer_stopped[assigner] = 'over %g s per call from %s on' % (
                            args.limit, wl.name)
                    if ocl is not None:
                        r['opencl'] = opencl_point(ocl, assigner, wl, aset, lib,
                                                   args.repetitions)
                    r['boxes_per_image'] = boxes
                    r['x'] = {'gts': boxes, 'images': images,
                              'anchors': int(aset.boxes.shape[0])}[name]
                    r['sweep'] = name
                    points.append(r)
                    log('  %-7s %-8s %-16s %-11s cpu %9.1f ms%s%s' % (
                        name, assigner, wl.name, anchors, r['anchorassign_cpu']['median_ms'],
                        '  opencl %9.1f ms' % r['opencl']['median_ms']
                        if r.get('opencl', {}).get('median_ms') is not None else '',
                        '  peer %9.1f ms' % r['peer']['median_ms']
                        if r.get('peer', {}).get('median_ms') is not None else
                        '  peer: %s' % (r.get('peer', {}).get('skipped')
                                        or r.get('parity', {}).get('status', '-'))))
    return points


IMPLS = (('anchorassign-cpu', lambda p: p.get('anchorassign_cpu', {})),
         ('anchorassign-opencl (PoCL)', lambda p: p.get('opencl', {})),
         ('mmdet-port (PyTorch CPU)', lambda p: p.get('peer', {})))


def plot(doc, folder):
    """One PNG per sweep and assigner: median time (log) and peak memory versus x."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError as e:
        return 'no plots: matplotlib cannot be imported (%s)' % e
    written = []
    for sweep, spec in SWEEPS.items():
        for assigner in ASSIGNERS:
            pts = [p for p in doc['points'] if p['sweep'] == sweep and p['assigner'] == assigner
                   and p.get('x') is not None]
            if len(pts) < 2:
                continue
            fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
            for label, get in IMPLS:
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
            path = os.path.join(folder, 'scaling-%s-%s.png' % (sweep, assigner))
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
    ap.add_argument('--quick', action='store_true', help='three small points per sweep')
    ap.add_argument('--repetitions', type=int, default=3,
                    help='timed calls per point under 2 s (fewer beyond, as peers.py)')
    ap.add_argument('--limit', type=float, default=10.0,
                    help='seconds per peer call beyond which larger points skip the peer')
    ap.add_argument('--no-opencl', action='store_true', help='CPU reference and peer only')
    args = ap.parse_args(argv)

    torch.set_num_threads(os.cpu_count() or 1)
    log = lambda s: print(s, flush=True)  # noqa: E731
    sweeps = {k: dict(v, **(QUICK[k] if args.quick else {})) for k, v in SWEEPS.items()
              if not args.sweep or k in args.sweep}
    doc = dict(tool='bench/scaling.py', device='cpu: %s' % peers.cpu_model(),
               logical_cpus=os.cpu_count(), commit=peers.git_commit(),
               date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
               torch=torch.__version__, torch_threads=torch.get_num_threads(),
               numpy=np.__version__, load_avg=list(os.getloadavg()),
               sweeps={k: dict(x=v['x'], images=v['images'], boxes_per_image=v['boxes'],
                               anchors=v['anchors']) for k, v in sweeps.items()},
               workloads='synthetic dense (tools/workload.h), seed %d' % 20261125,
               limit_s=args.limit, repetitions=args.repetitions, points=[])
    ocl = None
    if not args.no_opencl:
        try:
            ocl = aa.Context('opencl')
            doc['opencl_device'] = ocl.device_name
        except Exception as e:  # noqa: BLE001  (no OpenCL device: say so, go on)
            doc['opencl_device'] = 'not available: %s' % e
    failed = 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with aa.Context('cpu') as cpu, tempfile.TemporaryDirectory() as tmp:
        for name, spec in sweeps.items():
            log('sweep %s: %s' % (name, spec['x']))
            pts = run_sweep(name, spec, args.bench_workloads, cpu, ocl, args, log, tmp)
            doc['points'] += pts
            failed += sum(p.get('parity', {}).get('status') == 'FAILED' or
                          str(p.get('opencl', {}).get('parity', '')).startswith('FAILED')
                          for p in pts)
            with open(args.out, 'w') as f:
                json.dump(doc, f, indent=1)
    if ocl is not None:
        ocl.close()
    folder = args.plots or os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    doc['load_avg_end'] = list(os.getloadavg())
    doc['plots'] = plot(doc, folder)
    with open(args.out, 'w') as f:
        json.dump(doc, f, indent=1)
    log('scaling: wrote %s; plots: %s%s' % (args.out, doc['plots'],
                                            ' (%d FAILED)' % failed if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
