#!/usr/bin/env python3
"""Turns recorded benchmark runs into bench/RESULTS.md.

  python3 bench/report.py bench/results/DATE-cpu [more run folders] --out bench/RESULTS.md

Each run folder holds the raw files of one run on one machine (at least one of the JSON):
  bench_assign.json  Google Benchmark JSON (--benchmark_out_format=json) of bench_assign
  peers.json         bench/peers.py's JSON (the PyTorch mmdetection peer), optional
  peers-cuda.json    bench/peers.py --device cuda: anchorassign through Context("cuda") and
                     the peers on CUDA tensors (the CUDA columns), optional
  scaling.json       bench/scaling.py's sweeps (scaling-cuda.json: --device cuda), optional
  env.txt            free text about the machine (CPU model, commit, date), optional

Every number in the output names the file and entry it comes from: the bench_assign
columns are the `median` aggregate (or the single run when there was one repetition)
of the entry named ASSIGNER/WORKLOAD/BACKEND; the peer columns are the peers.json
result with the same assigner and workload. Ratios are computed here, from those numbers.
Standard library only (no plots: matplotlib is not required).
"""
import argparse
import json
import os
import re
import sys

# opencl-native: OpenCL on cl_mem buffers (AA_MEMORY_NATIVE), the CUDA rows' device path
BACKENDS = ('cpu', 'opencl', 'opencl-native', 'cuda')
BACKEND_TITLES = {'cpu': 'CPU reference', 'opencl': 'OpenCL', 'opencl-native': 'OpenCL (cl_mem)',
                  'cuda': 'CUDA'}
ORDER = ('coco-atss', 'coco-retina', 'dense', 'extreme')
ASSIGNER_ORDER = ('atss', 'fcos', 'max_iou', 'overlaps', 'paa', 'gmm_fit', 'lada')
UNIT_MS = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}
# bench_assign's floor counters on the device backends (bench/bench_floor.h)
FLOOR_COUNTERS = ('launches', 'copy_GBps', 'call_us', 'queued_us', 'floor_ms', 'floor_by_bytes',
                  'floor_fraction')


# --------------------------------------------------------------------------- reading

def case_key(name):
    """'atss/dense/opencl/real_time_median' -> ('atss', 'dense', 'opencl')."""
    parts = name.split('/')
    if len(parts) < 3:
        return None
    return tuple(parts[:3])


def read_bench(path):
    """{(assigner, workload, backend): entry} from a Google Benchmark JSON, where entry
    is dict(ms=..., counters..., source=..., n=...) or dict(error=..., source=...)."""
    with open(path) as f:
        doc = json.load(f)
    cases = {}
    singles = {}
    for b in doc.get('benchmarks', []):
        key = case_key(b.get('name', ''))
        if key is None:
            continue
        if b.get('error_occurred'):
            cases.setdefault(key, dict(error=b.get('error_message', 'error'), source=b['name']))
            continue
        if b.get('run_type') == 'aggregate':
            if b.get('aggregate_name') != 'median':
                continue
            n = b.get('repetitions')
        else:
            # a single repetition: no aggregates are written for it
            singles.setdefault(key, []).append(b)
            continue
        cases[key] = entry_from(b, n)
    for key, runs in singles.items():
        if key in cases and 'ms' in cases[key]:
            continue
        if len(runs) == 1:
            cases[key] = entry_from(runs[0], 1)
        else:  # repetitions without aggregates: take the median ourselves
            runs = sorted(runs, key=lambda r: r['real_time'] * UNIT_MS[r.get('time_unit', 'ns')])
            mid = runs[len(runs) // 2]
            cases[key] = entry_from(mid, len(runs))
            cases[key]['source'] += ' (median of %d repetitions)' % len(runs)
    return doc.get('context', {}), cases


def entry_from(b, n):
    e = dict(ms=b['real_time'] * UNIT_MS[b.get('time_unit', 'ns')], n=n, source=b['name'])
    for k in ('anchors', 'gts', 'images', 'bytes_written', 'bytes_min', 'bytes_per_second',
              'copy_bw_fraction', 'segments', 'points') + FLOOR_COUNTERS:
        if k in b:
            e[k] = b[k]
    return e


def read_peers(path):
    with open(path) as f:
        doc = json.load(f)
    results = {}
    for i, r in enumerate(doc.get('results', [])):
        r = dict(r)
        r['source'] = 'results[%d]' % i
        results[(r['assigner'], r['workload'])] = r
    return doc, results


RUN_FILES = ('bench_assign.json', 'peers.json', 'peers-cuda.json', 'scaling.json',
             'scaling-cuda.json', 'stages.json')


def is_run_folder(folder):
    return any(os.path.exists(os.path.join(folder, f)) for f in RUN_FILES)


# --------------------------------------------------------------------------- formatting

def fmt_ms(ms):
    if ms is None:
        return '-'
    if ms >= 100:
        return '%.0f' % ms
    if ms >= 10:
        return '%.1f' % ms
    if ms >= 1:
        return '%.2f' % ms
    return '%.3f' % ms


def fmt_sig(ms):
    """Three significant digits (floors run to microseconds on a GPU)."""
    return '-' if ms is None else '%.3g' % ms


def fmt_ratio(num, den):
    """num / den as 'x12.3', or '-' when either is missing."""
    if num is None or den is None or den <= 0:
        return '-'
    r = num / den
    if r >= 100:
        return 'x%.0f' % r
    if r >= 10:
        return 'x%.1f' % r
    return 'x%.2f' % r


def fmt_count(v):
    return '{:,}'.format(int(v)) if v is not None else '-'


def sort_key(key):
    a, w = key[0], key[1]
    return (ORDER.index(w) if w in ORDER else 99, ASSIGNER_ORDER.index(a)
            if a in ASSIGNER_ORDER else 99, a, w)


# --------------------------------------------------------------------------- one run

def run_section(folder, display):
    """Markdown lines for one run folder; `display` is how the folder is named."""
    bench_path = os.path.join(folder, 'bench_assign.json')
    peers_path = os.path.join(folder, 'peers.json')
    env_path = os.path.join(folder, 'env.txt')
    cuda_path = os.path.join(folder, 'peers-cuda.json')
    ctx, cases = read_bench(bench_path) if os.path.exists(bench_path) else ({}, {})
    pdoc, peers = read_peers(peers_path) if os.path.exists(peers_path) else ({}, {})
    cdoc, cpeers = read_peers(cuda_path) if os.path.exists(cuda_path) else ({}, {})
    have = {b: any(k[2] == b and 'ms' in e for k, e in cases.items()) for b in BACKENDS}
    scaling_docs = []
    for name in ('scaling.json', 'scaling-cuda.json'):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path) as f:
                scaling_docs.append((path, json.load(f)))
    gpu = have['cuda'] or bool(cdoc) or any(d.get('device_kind') == 'cuda'
                                             for _, d in scaling_docs)
    out = []
    device = (pdoc.get('device') or cdoc.get('device') or
              next((d.get('device') for _, d in scaling_docs), None) or
              ('cpu: %s' % ctx.get('cpu_model', 'unknown')))
    commit = ctx.get('commit', 'unknown')
    if commit == 'unknown':
        commit = pdoc.get('commit') or cdoc.get('commit') or next(
            (d.get('commit') for _, d in scaling_docs), 'unknown')
    elif pdoc.get('commit', commit) != commit:  # the two scripts ran at different commits
        commit = 'bench_assign: %s; peers.py: %s' % (commit, pdoc['commit'])
    date = ctx.get('date') or pdoc.get('date') or cdoc.get('date') or next(
        (d.get('date') for _, d in scaling_docs), 'unknown')
    kind = 'GPU figures' if gpu else 'CPU figures'
    out.append('## %s: `%s`' % (kind, display))
    out.append('')
    out.append('| | |')
    out.append('|---|---|')
    out.append('| device | %s |' % device)
    if ctx:
        out.append('| bench_assign | %s, %s logical CPUs, load average at start %s |' % (
            ctx.get('date', '?'), ctx.get('num_cpus', '?'),
            ', '.join('%.2f' % x for x in ctx.get('load_avg', []))))
        for b in BACKENDS:
            if 'backend_' + b in ctx:
                out.append('| %s | %s |' % (b, ctx['backend_' + b]))
    if pdoc:
        out.append('| peers.py | %s, torch %s (%s threads), numpy %s, Python %s, load average '
                   'at start %s |' % (pdoc.get('date', '?'), pdoc.get('torch', '?'),
                                      pdoc.get('torch_threads', '?'), pdoc.get('numpy', '?'),
                                      pdoc.get('python', '?'),
                                      ', '.join('%.2f' % x for x in pdoc.get('load_avg', []))))
        if pdoc.get('sklearn'):
            out.append('| scikit-learn | %s (the gmm_fit peer%s) |' % (
                pdoc['sklearn'], ' and PAA\'s' if any(a == 'paa' for a, _ in peers) else ''))
    if cdoc:
        out.append('| peers.py --device cuda | %s, %s (compute capability %s, %s GiB), torch %s '
                   '(CUDA %s), host %s |' % (
                       cdoc.get('date', '?'), cdoc.get('cuda_device', cdoc.get('device', '?')),
                       cdoc.get('cuda_capability', '?'), cdoc.get('cuda_memory_gib', '?'),
                       cdoc.get('torch', '?'), cdoc.get('torch_cuda', '?'),
                       cdoc.get('cpu_model', '?')))
    out.append('| commit | %s |' % commit)
    out.append('| date | %s |' % date)
    raw = [os.path.basename(p) for p in (bench_path, peers_path, cuda_path, env_path)
           if os.path.exists(p)]
    out.append('| raw files | %s |' % ', '.join('`%s/%s`' % (display, r) for r in raw))
    out.append('')
    if ctx.get('library_build_type') == 'debug':
        out.append('Google Benchmark reports its own library as a debug build (Debian\'s '
                   'package); it only runs the timing loop around calls of milliseconds or '
                   'more, and anchorassign itself is a Release build.')
        out.append('')
    if not gpu:
        out.append('No GPU in this run. The CPU reference is single-threaded; OpenCL ran on '
                   'PoCL, i.e. the GPU kernels executed on this CPU (with the host copies of '
                   '`AA_MEMORY_HOST`), so its column tests the kernels and their launch plans, '
                   'it does not predict GPU speed.' +
                   (' The PyTorch peer used %s intra-op threads.' % pdoc.get('torch_threads', '?')
                    if pdoc else ''))
        loads = list(ctx.get('load_avg', [])) + list(pdoc.get('load_avg', []))
        cpus = ctx.get('num_cpus') or pdoc.get('logical_cpus') or 1
        if loads and max(loads) > 0.5 * cpus:
            out.append('The machine was shared while this ran (load average up to %.1f on %d '
                       'logical CPUs at the start of a script): expect noise of tens of '
                       'per cent; compare ratios, not absolute times.' % (max(loads), cpus))
        out.append('')

    keys = sorted({k[:2] for k in cases} | set(peers), key=sort_key)
    shown = [b for b in BACKENDS if have[b]]
    head = ['assigner', 'workload', 'anchors', 'GTs']
    for b in shown:
        head.append('%s ms' % BACKEND_TITLES[b])
        if b != 'cpu':
            head.append('%s vs CPU ref' % b)
        if b == 'cuda':
            head.append('CUDA % of copy BW')
    if peers:
        head += ['PyTorch peer ms', 'peer / CPU ref']
        if have['cuda']:
            head.append('peer / CUDA')
        head += ['peer peak MiB', 'check']
    out.append('### Time per call (16 images), median')
    out.append('')
    out.append('| ' + ' | '.join(head) + ' |')
    out.append('|' + '---|' * len(head))
    skipped = []
    for a, w in keys:
        row = [a, w]
        anyb = next((cases[(a, w, b)] for b in BACKENDS if 'ms' in cases.get((a, w, b), {})),
                    None)
        p = peers.get((a, w))
        anchors = anyb.get('anchors') if anyb else (p.get('num_anchors') if p else None)
        gts = anyb.get('gts') if anyb else (p.get('gts') if p else None)
        if a == 'gmm_fit':  # a mixture per segment: points and segments instead
            src = anyb if anyb and 'segments' in anyb else (p or {})
            row += ['%s points' % fmt_count(src.get('points')),
                    '%s segments' % fmt_count(src.get('segments'))]
        else:
            row += [fmt_count(anchors), fmt_count(gts)]
        cpu_ms = cases.get((a, w, 'cpu'), {}).get('ms')
        for b in shown:
            e = cases.get((a, w, b), {})
            ms = e.get('ms')
            cell = fmt_ms(ms)
            if ms is not None and e.get('n', 5) < 5:
                cell += ' (n=%d)' % e['n']
            row.append(cell)
            if b != 'cpu':
                row.append(fmt_ratio(cpu_ms, ms))  # how many times faster than the reference
            if b == 'cuda':
                f = e.get('copy_bw_fraction')
                row.append('%.1f%%' % (100 * f) if f is not None else '-')
        for b in BACKENDS:
            e = cases.get((a, w, b))
            if e is not None and 'error' in e and have[b]:
                skipped.append((a, w, b, e['error']))
        if peers:
            pm = p.get('peer', {}).get('median_ms') if p else None
            cell = fmt_ms(pm)
            if pm is not None and len(p['peer'].get('times_ms', [])) < 5:
                cell += ' (n=%d)' % len(p['peer']['times_ms'])
            if pm is not None and p['peer'].get('name', 'mmdet-port') != 'mmdet-port':
                cell += ' (%s)' % p['peer']['name']
            row += [cell, fmt_ratio(pm, cpu_ms)]
            if have['cuda']:
                row.append(fmt_ratio(pm, cases.get((a, w, 'cuda'), {}).get('ms')))
            peak = p.get('peer', {}).get('peak_mib') if p else None
            row.append('%.0f' % peak if peak is not None else '-')
            if p is None:
                row.append('-')
            elif 'skipped' in p:
                row.append('not run')
                skipped.append((a, w, 'PyTorch peer', p['skipped']))
            else:
                par = p.get('parity', {})
                row.append(par.get('status', '?') + (' (%d)' % par['explained']
                                                     if par.get('explained') else ''))
        out.append('| ' + ' | '.join(row) + ' |')
    out.append('')
    out.append('Columns `X vs CPU ref` = CPU reference time / X time and `peer / X` = PyTorch '
               'peer time / X time: above 1, X is that many times faster. `(n=K)`: median of '
               'K timed calls (5 otherwise). `check`: the peer against anchorassign\'s CPU '
               'reference on every (image, anchor), gt_index and overlap bit for bit; '
               '`explained (K)`: K values differ only as docs/semantics.md documents. Every '
               'backend column was checked bit for bit against the CPU reference before it '
               'was timed (bench_assign skips a case that differs).')
    out.append('')
    bench_keys = {k[:2] for k in cases}  # the rows bench_assign measured
    if any(k[0] in ('paa', 'gmm_fit', 'lada') for k in bench_keys):
        out.append('Targets for an H100 (issue #5), beside which the GPU figures will stand: '
                   '`gmm_fit` on a coco-atss batch <= 20 us and at least 5,000 times faster than '
                   'the scikit-learn loop; `paa` end to end <= 100 us; `lada` <= 100 us. %s' % (
                       'This run has GPU figures.' if have['cuda'] else
                       'No GPU figure yet: these rows are CPU figures (the CPU reference, and the '
                       'kernels on PoCL).'))
        out.append('')
    if any(k[0] == 'lada' for k in bench_keys):
        out.append('`lada`: aa_assign_lada (aa_lada_params_init defaults) on the same synthetic '
                   'head outputs as `paa`, gt_index, overlap and labels checked bit for bit; no '
                   'peer (LADA has no public code: docs/semantics.md).')
        out.append('')
    if any(k[0] in ('paa', 'gmm_fit') for k in bench_keys):
        out.append('`paa`: aa_assign_paa (mmdetection\'s PAAHead defaults) from synthetic head '
                   'outputs (aa_wl_head_make, float32, 91 classes), gt_index, overlap and labels '
                   'checked bit for bit. `gmm_fit`: aa_gmm_fit alone on the segments PAA fits '
                   'on that workload (bench/bench_cases.h; 2 components, PAA init, \'diag\', '
                   'float32_input 0), statuses and labels checked equal to the CPU\'s; its '
                   'peer is scikit-learn\'s GaussianMixture fitted segment by segment as '
                   'PAAHead does (`check`: its labels against anchorassign\'s on every point).')
        out.append('')
    paa_peer = [p for (a, _), p in peers.items() if a == 'paa' and ('peer' in p or 'parity' in p)]
    if paa_peer:
        out.append(PAA_PEER_TEXT)
        out.append('')
    peer_src = ('the peer columns are `%s/peers.json`, the `results` item with that assigner '
                'and workload (`peer.median_ms`, `peer.peak_mib`, `parity`)' % display)
    if ctx:
        out.append('Sources: the backend columns are `%s/bench_assign.json`, entry '
                   '`ASSIGNER/WORKLOAD/BACKEND/..._median` (Google Benchmark\'s median aggregate; '
                   'counters `anchors`, `gts`, `bytes_written`%s)%s.' % (
                       display, ', `copy_bw_fraction`' if have['cuda'] else '',
                       ('; ' + peer_src) if pdoc else ''))
    else:
        out.append('Sources: %s; no bench_assign run in this folder (the backend columns and '
                   '`peer / CPU ref` are in the folders that have one; the same-process ratio '
                   'is below).' % peer_src)
    out.append('')

    if peers and any('anchorassign_cpu' in p for p in peers.values()):
        out.append('### Same process: PyTorch peer and anchorassign through its Python binding')
        out.append('')
        out.append('| assigner | workload | anchorassign-cpu ms | PyTorch peer ms | ratio | '
                   'anchorassign peak MiB | peer peak MiB | check notes |')
        out.append('|---|---|---|---|---|---|---|---|')
        for a, w in sorted(peers, key=sort_key):
            p = peers[(a, w)]
            if 'anchorassign_cpu' not in p:
                continue
            lm = p['anchorassign_cpu']['median_ms']
            pm = p.get('peer', {}).get('median_ms')
            notes = '; '.join(p.get('parity', {}).get('notes', [])) or '-'
            if p.get('parity', {}).get('status') == 'FAILED':
                notes = 'FAILED: %d unexplained (%s)' % (p['parity']['unexplained'],
                                                          p['parity'].get('first', ''))
            lp = p['anchorassign_cpu'].get('peak_mib')
            pp = p.get('peer', {}).get('peak_mib')
            out.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                a, w, fmt_ms(lm), fmt_ms(pm), fmt_ratio(pm, lm),
                '%.0f' % lp if lp is not None else '-', '%.0f' % pp if pp is not None else '-',
                notes))
        out.append('')
        out.append('Source: `%s/peers.json` (`anchorassign_cpu` and `peer` of each result). '
                   'Peak MiB: resident-set high-water mark above the starting resident set '
                   'during the checked call (outputs included).' % display)
        out.append('')

    others = [(a, w, o, p) for (a, w), p in sorted(peers.items(), key=lambda kv: sort_key(kv[0]))
              for o in p.get('other_peers', [])]
    if others:
        out.append('### Other peers')
        out.append('')
        out.append('| assigner | workload | peer | peer ms | anchorassign-cpu ms | ratio | check |')
        out.append('|---|---|---|---|---|---|---|')
        for a, w, o, p in others:
            lm = p.get('anchorassign_cpu', {}).get('median_ms')
            pm = o.get('median_ms')
            if 'skipped' in o:
                check = 'not run: %s' % o['skipped']
            else:
                par = o.get('parity', {})
                check = par.get('status', '?')
                if par.get('notes'):
                    check += ': ' + '; '.join(par['notes'])
                if par.get('status') == 'FAILED':
                    check += ' (%s)' % par.get('first', '')
            name = o['name'] + (' %s' % o['version'] if o.get('version') else '')
            out.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                a, w, name, fmt_ms(pm), fmt_ms(lm), fmt_ratio(pm, lm), check.replace('|', '/')))
        out.append('')
        out.append('Source: `%s/peers.json` (`other_peers` of each result; same process, same '
                   'inputs and timing rules as the PyTorch peer). Ratio: peer time / '
                   'anchorassign-cpu time.' % display)
        out.append('')

    out += floors_section(cases, display)
    stages_path = os.path.join(folder, 'stages.json')
    if os.path.exists(stages_path):
        with open(stages_path) as f:
            out += kernels_section(json.load(f), display)
    if cdoc:
        out += cuda_peers_section(cdoc, cpeers, display)
    for path, doc in scaling_docs:
        out += scaling_section(path, display, doc)
    ptxas_path = os.path.join(folder, 'ptxas.txt')
    if os.path.exists(ptxas_path):
        out += ptxas_section(ptxas_path, display)

    # A backend with no result at all is listed once, with its reason.
    for b in BACKENDS:
        reasons = sorted({e['error'] for k, e in cases.items() if k[2] == b and 'error' in e})
        if not have[b] and reasons:
            skipped.append(('*', '*', b, ' / '.join(reasons)))
    if skipped:
        out.append('### Not measured in this run')
        out.append('')
        out.append('| case | why |')
        out.append('|---|---|')
        for a, w, b, why in sorted(skipped, key=lambda s: (s[0] != '*', sort_key(s[:2]), s[2])):
            out.append('| %s/%s/%s | %s |' % (a, w, b, why.replace('|', '/')))
        out.append('')
    return out


def floors_section(cases, display):
    """The floor of each device-backend case (bench_floor.h) beside its time."""
    rows = sorted((k for k, e in cases.items() if 'floor_ms' in e and 'ms' in e),
                  key=lambda k: (BACKENDS.index(k[2]) if k[2] in BACKENDS else 9,) + sort_key(k[:2]))
    if not rows:
        return []
    out = ['### Floors of the device backends', '']
    measured = {}
    for k in rows:
        measured.setdefault(k[2], cases[k])
    for b, e in measured.items():
        out.append('%s, measured in the same process (`%s` counters): device-to-device copy %.1f '
                   'GB/s (read + write), a one-launch call %.1f us, each further queued launch '
                   '%.2f us.' % (BACKEND_TITLES.get(b, b), e['source'], e['copy_GBps'],
                                 e['call_us'], e['queued_us']))
    out.append('')
    out.append('| assigner | workload | backend | ms | launches | launch floor ms | bytes_min MB '
               '| bytes floor ms | floor ms | time / floor | % of copy BW |')
    out.append('|---|---|---|---|---|---|---|---|---|---|---|')
    for k in rows:
        e = cases[k]
        launch_ms = (e['call_us'] + (e['launches'] - 1) * e['queued_us']) * 1e-3 \
            if e['launches'] > 0 else 0.0
        bytes_ms = e['bytes_min'] / (e['copy_GBps'] * 1e9) * 1e3 if e.get('copy_GBps') else None
        f = e.get('copy_bw_fraction')
        out.append('| %s | %s | %s | %s | %d | %s | %.2f | %s | %s%s | %s | %s |' % (
            k[0], k[1], k[2], fmt_ms(e['ms']), e['launches'], fmt_sig(launch_ms),
            e['bytes_min'] * 1e-6, fmt_sig(bytes_ms), fmt_sig(e['floor_ms']),
            ' (bytes)' if e.get('floor_by_bytes') else ' (launches)',
            fmt_ratio(e['ms'], e['floor_ms']), '%.2f%%' % (100 * f) if f is not None else '-'))
    out.append('')
    out.append('Floor = max(launch floor, bytes floor): launch floor = a one-launch call + '
               '(launches - 1) x a queued launch, launches counted with aa_context_profile on '
               'one call; bytes floor = bytes_min (inputs read once, outputs written once; '
               '`paa` and `lada` without the head outputs, which they read only for the anchors '
               'their rules pick) / the copy bandwidth. `time / floor`: how many times the floor '
               'the call took. On PoCL these are CPU figures (the device is this CPU); on a GPU '
               'they are the roofline. Source: `%s/bench_assign.json`, counters `launches`, '
               '`call_us`, `queued_us`, `copy_GBps`, `bytes_min`, `floor_ms`, `floor_by_bytes`, '
               '`copy_bw_fraction` of each entry.' % display)
    out.append('')
    return out


def kernels_section(doc, display):
    """Each launch of each device case (bench_assign --aa_stages_out) against the copy
    bandwidth: its least bytes (host/traffic.h), their rate, and its floor."""
    backends = doc.get('context', {}).get('backends', {})
    cases = [c for c in doc.get('cases', []) if c.get('backend') in backends and c.get('stages')]
    if not cases:
        return []
    key = lambda c: ((BACKENDS.index(c['backend']) if c['backend'] in BACKENDS else 9,) +
                     sort_key(tuple(c['name'].split('/')[:2])))
    out = ['### Kernels against the copy bandwidth', '',
           '| case | kernel | ms | least MB | GB/s | % of copy BW | floor ms | time / floor |',
           '|---|---|---|---|---|---|---|---|']
    for c in sorted(cases, key=key):
        b = backends[c['backend']]
        bw = b['copy_GBps'] * 1e9
        for st in c['stages']:
            rate = st['bytes'] / (st['ms'] * 1e-3) if st['ms'] > 0 else None
            floor = max(b['queued_us'] * 1e-3, st['bytes'] / bw * 1e3)
            out.append('| %s | `%s` | %s | %.3f | %s | %s | %s | %s |' % (
                c['name'], st['kernel'], fmt_sig(st['ms']), st['bytes'] * 1e-6,
                '%.2f' % (rate * 1e-9) if rate is not None else '-',
                '%.2f%%' % (100 * rate / bw) if rate is not None else '-', fmt_sig(floor),
                fmt_ratio(st['ms'], floor)))
    out.append('')
    devices = '; '.join('%s: %s, copy %.1f GB/s, a queued launch %.2f us' % (
        BACKEND_TITLES.get(n, n), b.get('device', '?'), b['copy_GBps'], b['queued_us'])
        for n, b in sorted(backends.items()))
    out.append('Each kernel launch of each device case, timed with aa_context_profile (the median '
               'of 3 profiled calls per benchmark run, 1 for the cases timed with single calls, then over the runs; OpenCL waits for its '
               'queue around each launch, so a launch\'s time includes a round trip). `least MB`: '
               'the bytes the launch must move at least (host/traffic.h: the arrays it reads or '
               'writes in full counted once, what depends on the data left out); `GB/s` those '
               'bytes over its time, `%% of copy BW` against the device-to-device copy bandwidth '
               'measured in the same process; floor = max(a queued launch, least bytes / copy '
               'bandwidth). %s. On PoCL these are CPU figures. Source: `%s/stages.json` '
               '(commit %s, %s).' % (devices, display, doc['context'].get('commit', '?'),
                                     doc['context'].get('date', '?')))
    out.append('')
    return out


PAA_PEER_TEXT = (
    '`paa` peer: mmdetection 3.x\'s PAAHead ported to PyTorch (tests/peer/paa_port.py: the '
    'pre-assignment, get_pos_loss, paa_reassign with mmdetection\'s own topk and scikit-learn\'s '
    'GaussianMixture per GT), run image by image on the same head outputs (peers.synthetic_head, '
    'aa_wl_head_make in NumPy, checked bit for bit against the C head through bench_workloads\' '
    'GMM segments). `check` as the CTest peer.paa_parity compares (tests/peer/paa_peer.py\'s '
    'functions): the pre-assignment of every anchor identical; each pre-assigned anchor\'s cost '
    '(anchorassign\'s overlap output) within 1e-5 relative of torch\'s float32 cost, or a '
    'float32 rounding the float64 port confirms; gt_index and labels of every anchor identical, '
    'a difference allowed only where paa_peer.explain finds a near-tie (costs across a level\'s '
    'top-k boundary or swapped in the sorted order within the cost tolerance; a component, '
    'highest-score or convergence near-tie of the mixture). `explained (K)` counts them as '
    'paa_peer\'s tallies do: costs per anchor, gt_index/labels per GT whose positives differ '
    '(each printed with its numbers in the run\'s log and under `parity.differences`). '
    'Not timed in the peer: the sampler and target tensors PAAHead also builds.')


def fmt_mib(v):
    return '-' if v is None else '%.0f' % v


def fmt_bytes_mib(v):
    return '-' if v is None else ('%.1f' % (v / 2.0 ** 20) if v < 10 * 2 ** 20
                                  else '%.0f' % (v / 2.0 ** 20))


def parity_cell(par):
    """A check cell: status, with the count of explained differences."""
    if not par:
        return '-'
    return par.get('status', '?') + (' (%d)' % par['explained'] if par.get('explained') else '')


def cuda_peers_section(doc, results, display):
    """peers.py --device cuda: anchorassign through Context("cuda") and the peers on CUDA
    tensors, beside the CPU reference of the same process."""
    out = ['### On CUDA: anchorassign (`Context("cuda")`) and the PyTorch peers on CUDA tensors',
           '']
    out.append('%s; %s. anchorassign runs on CUDA tensors with `device_offsets` (nothing copied '
               'per call), checked bit for bit against the CPU reference of the same process '
               'before it is timed; the peers run on CUDA tensors (scikit-learn on the host, as '
               'in mmdetection) and are checked as in the CPU tables. Every timed call is '
               'bracketed by torch.cuda.synchronize(); median of the timed calls. Memory: '
               '`workspace` = Context.workspace_size; `MiB` = torch.cuda.max_memory_allocated() '
               'above the start during the checked call (anchorassign: its outputs).' % (
                   doc.get('device', '?'), doc.get('timing', '')))
    out.append('')
    head = ['assigner', 'workload', 'CUDA ms', 'CPU ref ms', 'CUDA vs CPU ref',
            'PyTorch peer (CUDA) ms', 'peer / CUDA', 'CUDA workspace MiB', 'CUDA outputs MiB',
            'peer MiB', 'check']
    out.append('| ' + ' | '.join(head) + ' |')
    out.append('|' + '---|' * len(head))
    skipped = []
    for a, w in sorted(results, key=sort_key):
        r = results[(a, w)]
        c, g, q = r.get('anchorassign_cpu', {}), r.get('anchorassign_cuda', {}), r.get('peer', {})
        checks = []
        if g.get('parity'):
            checks.append('CUDA ' + g['parity'])
        if g.get('skipped'):
            checks.append('CUDA not run: ' + g['skipped'])
        if r.get('parity'):
            checks.append('peer ' + parity_cell(r['parity']))
        if q.get('skipped') or r.get('skipped'):
            skipped.append((a, w, q.get('skipped') or r.get('skipped')))
        cell = fmt_ms(q.get('median_ms'))
        if q.get('median_ms') is not None and q.get('name', 'mmdet-port') != 'mmdet-port':
            cell += ' (%s)' % q['name']
        out.append('| ' + ' | '.join([
            a, w, fmt_ms(g.get('median_ms')), fmt_ms(c.get('median_ms')),
            fmt_ratio(c.get('median_ms'), g.get('median_ms')), cell,
            fmt_ratio(q.get('median_ms'), g.get('median_ms')),
            fmt_bytes_mib(g.get('workspace_bytes')), fmt_mib(g.get('peak_mib')),
            fmt_mib(q.get('peak_mib')), '; '.join(checks).replace('|', '/') or '-']) + ' |')
    out.append('')
    for a, w, why in skipped:
        out.append('- %s/%s, peer not run: %s' % (a, w, why))
    if skipped:
        out.append('')
    out.append('Source: `%s/peers-cuda.json` (`anchorassign_cuda`, `anchorassign_cpu`, `peer` '
               'and `parity` of each result).' % display)
    out.append('')
    return out


def scaling_section(path, display, doc=None):
    """bench/scaling.py's sweeps: one table per sweep, the plots linked; CUDA columns when
    the run had --device cuda (anchorassign_cuda in its points)."""
    if doc is None:
        with open(path) as f:
            doc = json.load(f)
    name = os.path.basename(path)
    kind = doc.get('device_kind', 'cpu')
    cuda = kind == 'cuda' or any('anchorassign_cuda' in p for p in doc.get('points', []))
    out = ['### Scaling (`%s/%s`)' % (display, name), '']
    out.append('%s, %s; torch %s (%s threads); OpenCL: %s; commit %s; load average at start '
               '%s. %s. Median of the timed calls after a checked one (peers.py\'s rules); '
               'peak MiB as above (PoCL\'s device buffers are host memory, so they count). '
               'A peer is not run at larger points of a sweep once one call took over %g s '
               'or it ran out of memory.' % (
                   doc.get('device', '?'), doc.get('date', '?'), doc.get('torch', '?'),
                   doc.get('torch_threads', '?'), doc.get('opencl_device', 'not run'),
                   doc.get('commit', '?'),
                   ', '.join('%.2f' % x for x in doc.get('load_avg', [])),
                   doc.get('workloads', ''), doc.get('limit_s', 10)))
    if doc.get('head'):
        out.append('')
        out.append('Head outputs: %s.' % doc['head'])
    if cuda:
        out.append('')
        out.append('CUDA columns: anchorassign through Context("cuda") on CUDA tensors (checked '
                   'bit for bit against the CPU reference first), the PyTorch peer on CUDA '
                   'tensors; %s. CUDA MiB: torch.cuda.max_memory_allocated() above the start '
                   '(anchorassign: its outputs) plus, for anchorassign, the workspace column.'
                   % doc.get('timing', 'torch.cuda.synchronize() around each timed call'))
    loads = list(doc.get('load_avg', [])) + list(doc.get('load_avg_end', []))
    cpus = doc.get('logical_cpus') or 1
    if loads and max(loads) > 0.5 * cpus:
        out.append('')
        out.append('The machine was shared while this ran (load average up to %.1f on %d logical '
                   'CPUs at the start or end): expect noise of tens of per cent, more on the '
                   'multi-threaded PyTorch peer; compare ratios and trends, not absolute '
                   'times.' % (max(loads), cpus))
    if doc.get('wall_s'):
        out.append('')
        out.append('The whole run took %.0f s (%.0f min).' % (doc['wall_s'], doc['wall_s'] / 60))
    out.append('')
    peer_title = 'PyTorch peer (CUDA) ms' if kind == 'cuda' else 'PyTorch peer ms'
    for sweep, spec in doc.get('sweeps', {}).items():
        pts = [p for p in doc.get('points', []) if p.get('sweep') == sweep]
        if not pts:
            continue
        out.append('**%s** (%s)' % (spec.get('x', sweep), sweep))
        out.append('')
        head = ['assigner', 'workload', 'anchors', 'GTs', 'CPU ref ms', 'OpenCL ms']
        if cuda:
            head += ['CUDA ms', 'CUDA vs CPU ref']
        head += [peer_title, 'peer / CPU ref']
        if cuda:
            head.append('peer / CUDA')
        head += ['CPU ref MiB', 'OpenCL MiB']
        if cuda:
            head += ['CUDA workspace MiB', 'CUDA MiB']
        head += ['peer MiB', 'check']
        out.append('| ' + ' | '.join(head) + ' |')
        out.append('|' + '---|' * len(head))
        for p in pts:
            c, o, q = p.get('anchorassign_cpu', {}), p.get('opencl', {}), p.get('peer', {})
            g = p.get('anchorassign_cuda', {})
            checks = []
            par = p.get('parity', {})
            if par:
                checks.append('peer ' + parity_cell(par))
            if q.get('skipped'):
                checks.append('peer not run: ' + q['skipped'])
            if q.get('error'):
                checks.append('peer failed: ' + q['error'])
            if o.get('parity'):
                checks.append('OpenCL ' + o['parity'])
            if o.get('skipped'):
                checks.append('OpenCL not run: ' + o['skipped'])
            if g.get('parity'):
                checks.append('CUDA ' + g['parity'])
            if g.get('skipped'):
                checks.append('CUDA not run: ' + g['skipped'])
            peer_ms = fmt_ms(q.get('median_ms'))
            if q.get('median_ms') is not None and q.get('name', 'mmdet-port') != 'mmdet-port':
                peer_ms += ' (%s)' % q['name']
            row = [p['assigner'], p['workload'], fmt_count(p.get('num_anchors')),
                   fmt_count(p.get('gts')), fmt_ms(c.get('median_ms')), fmt_ms(o.get('median_ms'))]
            if cuda:
                row += [fmt_ms(g.get('median_ms')), fmt_ratio(c.get('median_ms'), g.get('median_ms'))]
            row += [peer_ms, fmt_ratio(q.get('median_ms'), c.get('median_ms'))]
            if cuda:
                row.append(fmt_ratio(q.get('median_ms'), g.get('median_ms')))
            row += [fmt_mib(c.get('peak_mib')), fmt_mib(o.get('peak_mib'))]
            if cuda:
                row += [fmt_bytes_mib(g.get('workspace_bytes')), fmt_mib(g.get('peak_mib'))]
            row += [fmt_mib(q.get('peak_mib')), '; '.join(checks).replace('|', '/') or '-']
            out.append('| ' + ' | '.join(row) + ' |')
        out.append('')
        for a, why in sorted(doc.get('not_swept', {}).get(sweep, {}).items()):
            out.append('- %s: %s.' % (a, why))
        if doc.get('not_swept', {}).get(sweep):
            out.append('')
        # links relative to bench/RESULTS.md (display is relative to the repository)
        where = display[len('bench/'):] if display.startswith('bench/') else display
        prefixes = ('scaling-%s-' % sweep, 'scaling-%s-%s-' % (kind, sweep))
        for png in doc.get('plots', []) if isinstance(doc.get('plots'), list) else []:
            if png.startswith(prefixes):
                out.append('![%s](%s/%s)' % (png, where, png))
        out.append('')
    ran = {p.get('sweep') for p in doc.get('points', [])}
    for sweep, why in doc.get('not_swept', {}).items():
        if sweep not in ran and why:
            out.append('**%s** (%s): not run in this file for %s:' % (
                SWEEP_TITLES.get(sweep, sweep), sweep, ', '.join(sorted(why))))
            out.append('')
            for a, text in sorted(why.items()):
                out.append('- %s: %s.' % (a, text))
            out.append('')
    if isinstance(doc.get('plots'), str):
        out.append(doc['plots'])
        out.append('')
    return out


SWEEP_TITLES = {'gts': 'GTs per image', 'images': 'images per batch', 'anchors': 'anchors'}


PTXAS_COMPILING = re.compile(r"Compiling entry function '([^']+)' for '(sm_\d+)'")
PTXAS_PROPS_FOR = re.compile(r'Function properties for (\S+)')
PTXAS_PROPS = re.compile(r'(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads')
PTXAS_USED = re.compile(r'Used (\d+) registers')
PTXAS_SMEM = re.compile(r'(\d+) bytes smem')


def read_ptxas(path):
    """ptxas -v's report (the lines of the build log): {(kernel, arch): fields}."""
    rows, cur, kernel, props_for = {}, None, None, None
    with open(path) as f:
        for line in f:
            if line.startswith('# '):  # provenance: commit, nvcc, date
                rows.setdefault(('#', 'provenance'), {})['text'] = line[2:].strip()
                continue
            m = PTXAS_COMPILING.search(line)
            if m:
                cur = rows.setdefault((m.group(1), m.group(2)), {})
                kernel = m.group(1)
                continue
            if cur is None:
                continue
            m = PTXAS_PROPS_FOR.search(line)
            if m:  # the entry's own, or a device function it calls (e.g. __internal_accurate_pow)
                props_for = m.group(1)
                continue
            m = PTXAS_PROPS.search(line)
            if m and props_for == kernel:
                cur.update(stack=int(m.group(1)), spill_stores=int(m.group(2)),
                           spill_loads=int(m.group(3)))
            m = PTXAS_USED.search(line)
            if m:
                cur['registers'] = int(m.group(1))
                s = PTXAS_SMEM.search(line)
                cur['smem'] = int(s.group(1)) if s else 0
    return rows


def ptxas_section(path, display):
    """The static cost of every CUDA kernel, from the build (no GPU needed)."""
    rows = read_ptxas(path)
    provenance = rows.pop(('#', 'provenance'), {}).get('text')
    if not rows:
        return []
    archs = sorted({a for _, a in rows})
    out = ['### Static cost of the CUDA kernels (`%s/ptxas.txt`)' % display, '',
           'ptxas\'s report from the CUDA build (`-Xptxas=-v`, `--fmad=false`): registers per '
           'thread, shared memory per block (static), stack frame and spills per thread, per '
           'architecture. What each kernel must move on each workload, and so its floor on '
           'the measured bandwidth of the device it ran on, is in "Kernels against the copy '
           'bandwidth" (stages.json: host/traffic.h\'s model of each launch); an H100\'s '
           'needs the GPU run (see "Not measured yet").' +
           (' Build: %s.' % provenance if provenance else ''), '']
    head = ['kernel'] + ['%s registers' % a for a in archs] + [
        '%s smem B' % a for a in archs] + ['stack B', 'spills (stores/loads B)']
    out.append('| ' + ' | '.join(head) + ' |')
    out.append('|' + '---|' * len(head))
    for k in sorted({k for k, _ in rows}):
        per = [rows.get((k, a), {}) for a in archs]
        cells = ['`%s`' % k] + [str(r.get('registers', '-')) for r in per] + [
            str(r.get('smem', '-')) for r in per]
        cells.append('/'.join(sorted({str(r['stack']) for r in per if 'stack' in r})) or '-')
        spills = sorted({'%d/%d' % (r['spill_stores'], r['spill_loads']) for r in per
                         if 'spill_stores' in r})
        cells.append(', '.join(spills) or '-')
        out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')
    return out


def render(folders, root):
    lines = ['# Benchmark results', '',
             'Generated by `bench/report.py` from the raw files named in each section; do not '
             'edit by hand. Workloads: DESIGN.md "Workloads everyone measures" and '
             '`bench/bench_cases.h` (16 images on an 800 x 1344 canvas; coco-atss 22,400 '
             'anchors, coco-retina 201,600, FCOS 22,400 points; dense: 500 synthetic '
             'pedestrians per image; extreme: 5,000 small boxes per image). Default '
             'parameters (mmdetection\'s) throughout.', '']
    for folder in folders:
        display = os.path.relpath(os.path.abspath(folder), root) if root else folder
        lines += run_section(folder, display)
    return '\n'.join(lines).rstrip() + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description='bench/RESULTS.md from recorded run folders')
    ap.add_argument('folders', nargs='+', help='run folders (%s)' % ', '.join(RUN_FILES))
    ap.add_argument('--out', default='-', help='output file (default: stdout)')
    ap.add_argument('--pending', default=None,
                    help='a Markdown file appended as is (what is not measured yet)')
    ap.add_argument('--root', default=None,
                    help='paths are shown relative to this (default: the repository root)')
    args = ap.parse_args(argv)
    for f in args.folders:
        if not is_run_folder(f):
            print('report.py: %s has none of %s' % (f, ', '.join(RUN_FILES)), file=sys.stderr)
            return 2
    root = args.root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = render(args.folders, root)
    if args.pending:
        with open(args.pending) as f:
            text += '\n' + f.read().rstrip() + '\n'
    if args.out == '-':
        sys.stdout.write(text)
    else:
        with open(args.out, 'w') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
