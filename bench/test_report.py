"""Tests of bench/report.py on tiny fixtures (no timing involved).

  cd bench && python3 -m unittest -v test_report      (CTest: bench.report)
"""
import io
import json
import os
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def gb_aggregates(name, times_ms, counters, unit='ms'):
    """Google Benchmark's aggregate entries (mean, median, stddev) for one case."""
    scale = {'ms': 1.0, 'ns': 1e6}[unit]
    n = len(times_ms)
    med = sorted(times_ms)[n // 2]
    mean = sum(times_ms) / n
    out = []
    for agg, v in (('mean', mean), ('median', med), ('stddev', 0.1)):
        e = dict(name='%s/real_time_%s' % (name, agg), run_name=name + '/real_time',
                 run_type='aggregate', repetitions=n, aggregate_name=agg, iterations=n,
                 real_time=v * scale, cpu_time=v * scale, time_unit=unit)
        e.update(counters)
        out.append(e)
    return out


COUNTERS = dict(anchors=22400.0, gts=120.0, images=16.0, bytes_written=2867200.0,
                bytes_min=3227776.0, bytes_per_second=3e8)
# bench_floor.h's counters of a device case: 4 launches, 3,227,776 bytes at 2,900 GB/s
# (1.113 us) against 5 + 3 x 2 = 11 us of launches: floor 11 us, by launches
FLOOR = dict(launches=4.0, copy_GBps=2900.0, call_us=5.0, queued_us=2.0, floor_ms=0.011,
             floor_by_bytes=0.0, floor_fraction=0.022, copy_bw_fraction=0.25)


def bench_doc(with_cuda=False):
    b = []
    b += gb_aggregates('atss/coco-atss/cpu', [10.0, 11.0, 9.0, 10.0, 30.0], COUNTERS)
    b += gb_aggregates('atss/coco-atss/opencl', [20.0, 20.0, 20.0, 21.0, 19.0], COUNTERS,
                       unit='ns')
    b += gb_aggregates('max_iou/dense/cpu', [2000.0, 2100.0, 1900.0], dict(COUNTERS, gts=8000.0))
    b.append(dict(name='max_iou/dense/opencl/iterations:1/repeats:1', run_type='iteration',
                  error_occurred=True, error_message='opencl: differs from the CPU reference '
                  'in 3 output elements (first at element 7)', iterations=0, real_time=0,
                  cpu_time=0, time_unit='ns'))
    # a single repetition: no aggregate entries
    b.append(dict(name='fcos/dense/cpu/real_time', run_name='fcos/dense/cpu/real_time',
                  run_type='iteration', repetitions=1, repetition_index=0, iterations=3,
                  real_time=500.0, cpu_time=500.0, time_unit='ms', **dict(COUNTERS, gts=8000.0)))
    b += gb_aggregates('paa/coco-atss/cpu', [160.0] * 5, COUNTERS)
    b.append(dict(name='paa/coco-atss/opencl/iterations:1/repeats:1', run_type='iteration',
                  error_occurred=True, error_message='skipped: opencl: AA_ERR_NOT_SUPPORTED: '
                  'PAA: not on the opencl backend yet', iterations=0, real_time=0, cpu_time=0,
                  time_unit='ns'))
    gmm = dict(segments=119.0, points=2428.0, converged=119.0, max_iterations=33.0)
    b += gb_aggregates('gmm_fit/coco-atss/cpu', [2.0] * 5, gmm)
    b += gb_aggregates('gmm_fit/coco-atss/opencl', [3.0] * 5, gmm)
    b += gb_aggregates('lada/coco-atss/cpu', [50.0] * 5, COUNTERS)
    b += gb_aggregates('lada/coco-atss/opencl', [400.0] * 5, COUNTERS)
    ctx = dict(date='2026-11-25T00:00:00+00:00', num_cpus=2, load_avg=[0.1, 0.2, 0.3],
               cpu_model='Test CPU', commit='abc123', backend_cpu='CPU reference',
               backend_opencl='pthread-test')
    if with_cuda:
        b += gb_aggregates('atss/coco-atss/cuda', [0.5] * 5, dict(COUNTERS, **FLOOR))
        ctx['backend_cuda'] = 'NVIDIA H100'
    else:
        for case in ('atss/coco-atss', 'max_iou/dense', 'fcos/dense'):
            b.append(dict(name=case + '/cuda/iterations:1/repeats:1', run_type='iteration',
                          error_occurred=True, error_message='cuda: not built', iterations=0,
                          real_time=0, cpu_time=0, time_unit='ns'))
    return dict(context=ctx, benchmarks=b)


def peers_doc():
    return dict(
        device='cpu: Test CPU', commit='abc123', date='2026-11-25T00:10:00Z', torch='1.13',
        torch_threads=2, numpy='1.24', python='3.11', load_avg=[3.5, 1.0, 1.0], logical_cpus=2,
        results=[
            dict(workload='coco-atss', assigner='atss', anchors='coco-atss', images=16, gts=120,
                 num_anchors=22400,
                 anchorassign_cpu=dict(median_ms=12.0, times_ms=[12.0] * 5, peak_mib=3.0),
                 parity=dict(compared=358400, unexplained=0, explained=2,
                             notes=['2 anchors at an IoU within float rounding of the threshold'],
                             status='explained'),
                 peer=dict(name='mmdet-port', median_ms=400.0, times_ms=[400.0] * 5,
                           peak_mib=39.4)),
            dict(workload='dense', assigner='max_iou', anchors='coco-atss', images=16,
                 gts=8000, num_anchors=22400,
                 anchorassign_cpu=dict(median_ms=2500.0, times_ms=[2500.0] * 3, peak_mib=1.0),
                 parity=dict(compared=358400, unexplained=4, explained=0, notes=[],
                             status='FAILED', first='element 9: anchorassign (1, 0.5), peer '
                             '(2, 0.5)')),
            dict(workload='extreme', assigner='atss', anchors='coco-atss',
                 skipped='not run by default (minutes); --extreme'),
            dict(workload='coco-atss', assigner='gmm_fit', anchors='-', segments=119,
                 points=2428,
                 anchorassign_cpu=dict(median_ms=2.5, times_ms=[2.5] * 5, peak_mib=0.5),
                 parity=dict(compared=2428, unexplained=0, explained=0, notes=[],
                             status='identical'),
                 peer=dict(name='scikit-learn', version='1.9.1', median_ms=600.0,
                           times_ms=[600.0] * 5, peak_mib=2.0)),
            dict(workload='coco-atss', assigner='overlaps', anchors='coco-atss', images=16,
                 gts=150, num_anchors=22400,
                 anchorassign_cpu=dict(median_ms=20.0, times_ms=[20.0] * 5, peak_mib=14.0),
                 parity=dict(compared=3360000, unexplained=0, explained=0, notes=[],
                             status='identical'),
                 peer=dict(name='mmdet-port', median_ms=30.0, times_ms=[30.0] * 5, peak_mib=14.0),
                 other_peers=[
                     dict(name='torchvision.ops.box_iou', version='0.14.1', median_ms=25.0,
                          times_ms=[25.0] * 5, peak_mib=14.0,
                          parity=dict(compared=3360000, unexplained=0, explained=3,
                                      notes=['3 pairs with a union below eps'],
                                      status='explained')),
                     dict(name='other', skipped='cannot be imported')]),
            dict(workload='coco-atss', assigner='paa', anchors='coco-atss', images=16, gts=120,
                 num_anchors=22400,
                 anchorassign_cpu=dict(median_ms=250.0, times_ms=[250.0] * 5, peak_mib=8.0),
                 parity=dict(compared=358400, unexplained=0, explained=2, status='explained',
                             notes=['costs: 2 explained (float32 rounding in torch, the float64 '
                                    'port agrees)']),
                 peer=dict(name='PAAHead port + scikit-learn', median_ms=3000.0,
                           times_ms=[3000.0] * 3, peak_mib=42.0)),
        ], sklearn='1.9.1')


def cuda_peers_doc():
    """A TEST FIXTURE in peers.py --device cuda's format: made-up numbers, not a
    measurement (it only lives in the test's temporary folder)."""
    return dict(
        fixture='test fixture, not a measurement', device='cuda: Test GPU (fixture)',
        device_kind='cuda', cuda_device='Test GPU (fixture)', cuda_capability='9.0',
        cuda_memory_gib=80.0, torch='2.5', torch_cuda='12.4', cpu_model='Test CPU',
        commit='abc123', date='2026-11-26T00:00:00Z',
        timing='torch.cuda.synchronize() before and after each call',
        results=[
            dict(workload='coco-atss', assigner='atss', anchors='coco-atss', images=16, gts=120,
                 num_anchors=22400,
                 anchorassign_cpu=dict(median_ms=12.0, times_ms=[12.0] * 5, peak_mib=3.0),
                 anchorassign_cuda=dict(median_ms=0.25, times_ms=[0.25] * 5, peak_mib=3.0,
                                        workspace_bytes=3 * 2 ** 20, parity='identical'),
                 parity=dict(compared=358400, unexplained=0, explained=0, notes=[],
                             status='identical'),
                 peer=dict(name='mmdet-port', device='cuda', median_ms=20.0,
                           times_ms=[20.0] * 5, peak_mib=120.0)),
            dict(workload='coco-atss', assigner='paa', anchors='coco-atss', images=16, gts=120,
                 num_anchors=22400,
                 anchorassign_cpu=dict(median_ms=250.0, times_ms=[250.0] * 5, peak_mib=8.0),
                 anchorassign_cuda=dict(skipped='cuda: AA_ERR_NOT_SUPPORTED: not yet')),
        ])


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.run = os.path.join(self.tmp, 'results', '20261125-cpu')
        os.makedirs(self.run)
        self.write('bench_assign.json', bench_doc())
        self.write('peers.json', peers_doc())
        with open(os.path.join(self.run, 'env.txt'), 'w') as f:
            f.write('cpu: Test CPU\n')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, name, doc, folder=None):
        with open(os.path.join(folder or self.run, name), 'w') as f:
            json.dump(doc, f)

    def render(self, folders=None):
        return report.render(folders or [self.run], self.tmp)

    def row(self, text, start):
        rows = [l for l in text.splitlines() if l.startswith(start)]
        self.assertEqual(len(rows), 1, '%r: %r' % (start, rows))
        return [c.strip() for c in rows[0].strip('|').split('|')]

    def test_medians_and_ratios(self):
        text = self.render()
        r = self.row(text, '| atss | coco-atss | 22,400')
        # CPU median 10 (not the mean 14), OpenCL 20 ms written in ns, ratio cpu/opencl
        self.assertEqual(r[4:7], ['10.0', '20.0', 'x0.50'])
        # peer 400 ms: 40 times the CPU reference; parity explained (2)
        self.assertEqual(r[7:11], ['400', 'x40.0', '39', 'explained (2)'])

    def test_paa_and_gmm_rows(self):
        text = self.render()
        r = self.row(text, '| paa | coco-atss | 22,400')
        self.assertEqual(r[4:7], ['160', '-', '-'])  # no OpenCL PAA yet: no time, no ratio
        self.assertIn('| paa/coco-atss/opencl | skipped: opencl: AA_ERR_NOT_SUPPORTED', text)
        r = self.row(text, '| gmm_fit | coco-atss | 2,428 points')
        self.assertEqual(r[3], '119 segments')
        self.assertEqual(r[4:7], ['2.00', '3.00', 'x0.67'])
        # the peer is scikit-learn, named in its cell: 600 / 2 = 300 times the CPU
        self.assertEqual(r[7:11], ['600 (scikit-learn)', 'x300', '2', 'identical'])
        self.assertIn('| scikit-learn | 1.9.1 (the gmm_fit peer and PAA\'s) |', text)
        self.assertIn('`gmm_fit`: aa_gmm_fit alone', text)

    def test_other_peers(self):
        text = self.render()
        r = self.row(text, '| overlaps | coco-atss | torchvision')
        self.assertEqual(r[2:6], ['torchvision.ops.box_iou 0.14.1', '25.0', '20.0', 'x1.25'])
        self.assertEqual(r[6], 'explained: 3 pairs with a union below eps')
        r = self.row(text, '| overlaps | coco-atss | other')
        self.assertEqual(r[3:7], ['-', '20.0', '-', 'not run: cannot be imported'])

    def test_scaling(self):
        pt = lambda x, a, cpu, peer_ms, **kw: dict(  # noqa: E731
            sweep='gts', x=x, assigner=a, workload='dense-8x%d' % x, num_anchors=22400,
            gts=8 * x, anchorassign_cpu=dict(median_ms=cpu, peak_mib=2.0), **kw,
            **({'peer': dict(name='mmdet-port', median_ms=peer_ms, peak_mib=50.0),
                'parity': dict(status='identical')} if peer_ms else {}))
        self.write('scaling.json', dict(
            device='cpu: Test CPU', date='2026-11-25T01:00:00Z', torch='1.13', torch_threads=2,
            opencl_device='pthread-test', commit='abc123', load_avg=[1.0, 1.0, 1.0],
            workloads='synthetic dense', limit_s=10,
            sweeps={'gts': dict(x='GTs per image', images=[8], boxes_per_image=[1, 5000],
                                anchors=['coco-atss'])},
            points=[pt(1, 'atss', 2.0, 8.0, opencl=dict(median_ms=4.0, peak_mib=9.0,
                                                       parity='identical')),
                    pt(5000, 'atss', 900.0, None,
                       peer=dict(name='mmdet-port', skipped='over 10 s per call from '
                                 'dense-8x1000 on'))],
            plots=['scaling-gts-atss.png']))
        text = self.render()
        self.assertIn('### Scaling (`', text)
        r = self.row(text, '| atss | dense-8x1 |')
        self.assertEqual(r[3:12], ['8', '2.00', '4.00', '8.00', 'x4.00', '2', '9', '50',
                                   'peer identical; OpenCL identical'])
        r = self.row(text, '| atss | dense-8x5000 |')
        self.assertEqual(r[4:8], ['900', '-', '-', '-'])
        self.assertIn('peer not run: over 10 s per call from dense-8x1000 on', r[11])
        self.assertIn('![scaling-gts-atss.png](', text)
        self.assertIn('/scaling-gts-atss.png)', text)

    def scaling_point(self, x, a, cpu, peer_ms, sweep='gts', **kw):
        p = dict(sweep=sweep, x=x, assigner=a, workload='dense-8x%d' % x, num_anchors=22400,
                 gts=8 * x, anchorassign_cpu=dict(median_ms=cpu, peak_mib=2.0))
        if peer_ms:
            p['peer'] = dict(name='mmdet-port', median_ms=peer_ms, peak_mib=50.0)
            p['parity'] = dict(status='identical')
        p.update(kw)
        return p

    def test_scaling_new_assigners(self):
        pt = self.scaling_point
        self.write('scaling.json', dict(
            device='cpu: Test CPU', date='2026-11-25T01:00:00Z', torch='1.13', torch_threads=2,
            opencl_device='pthread-test', commit='abc123', load_avg=[1.0, 1.0, 1.0],
            workloads='synthetic dense', limit_s=10, device_kind='cpu', wall_s=1200.0,
            head='PAA and LADA: peers.synthetic_head (test)',
            sweeps={'gts': dict(x='GTs per image', images=[8], boxes_per_image=[1],
                                anchors=['coco-atss'], assigners=['fcos', 'paa', 'lada'])},
            not_swept={'anchors': {'paa': 'not in the anchors sweep: PAA runs on coco-atss'}},
            points=[pt(1, 'fcos', 2.0, 30.0, opencl=dict(median_ms=1.0, parity='identical')),
                    pt(1, 'paa', 40.0, None,
                       peer=dict(name='PAAHead port + scikit-learn', median_ms=400.0,
                                 peak_mib=30.0),
                       parity=dict(status='explained', explained=3),
                       opencl=dict(median_ms=100.0, parity='identical')),
                    pt(1, 'lada', 20.0, None,
                       peer=dict(name=None, skipped='no peer: LADA has no public code'),
                       opencl=dict(skipped='opencl: AA_ERR_NOT_SUPPORTED'))],
            plots=['scaling-gts-paa.png']))
        text = self.render()
        r = self.row(text, '| paa | dense-8x1 |')
        self.assertEqual(r[6:8], ['400 (PAAHead port + scikit-learn)', 'x10.0'])
        self.assertEqual(r[11], 'peer explained (3); OpenCL identical')
        r = self.row(text, '| lada | dense-8x1 |')
        self.assertEqual(r[5:8], ['-', '-', '-'])
        self.assertIn('peer not run: no peer: LADA has no public code', r[11])
        self.assertIn('OpenCL not run: opencl: AA_ERR_NOT_SUPPORTED', r[11])
        self.assertIn('Head outputs: PAA and LADA: peers.synthetic_head (test).', text)
        self.assertIn('**anchors** (anchors): not run in this file for paa:', text)
        self.assertIn('- paa: not in the anchors sweep: PAA runs on coco-atss.', text)
        self.assertIn('The whole run took 1200 s (20 min).', text)
        self.assertNotIn('CUDA ms', text)

    def test_paa_peer_row(self):
        text = self.render()
        r = self.row(text, '| paa | coco-atss | 22,400')
        head = self.row(text, '| assigner | workload | anchors |')
        self.assertEqual(r[head.index('PyTorch peer ms')],
                         '3000 (n=3) (PAAHead port + scikit-learn)')
        self.assertEqual(r[head.index('peer / CPU ref')], 'x18.8')  # 3000 / bench_assign's 160
        self.assertEqual(r[head.index('check')], 'explained (2)')
        r = self.row(text, '| paa | coco-atss | 250 |')  # the same-process table
        self.assertEqual(r[3:5], ['3000', 'x12.0'])
        self.assertIn('float32 rounding in torch', r[7])
        self.assertIn('`paa` peer: mmdetection 3.x\'s PAAHead ported', text)

    def test_cuda_columns_fixture(self):
        """CUDA columns from small fixtures (test data, not measurements)."""
        gpu = os.path.join(self.tmp, 'results', '20261126-test-gpu-fixture')
        os.makedirs(gpu)
        self.write('peers-cuda.json', cuda_peers_doc(), gpu)
        pt = self.scaling_point
        cuda = lambda ms, ws: dict(median_ms=ms, peak_mib=1.0, workspace_bytes=ws,  # noqa: E731
                                   parity='identical')
        self.write('scaling-cuda.json', dict(
            fixture='test fixture, not a measurement', device='cuda: Test GPU (fixture)',
            device_kind='cuda', date='2026-11-26T00:00:00Z', torch='2.5', torch_threads=16,
            opencl_device='not available: none', commit='abc123', load_avg=[0.1, 0.1, 0.1],
            workloads='synthetic dense', limit_s=10, timing='synchronize around each call',
            sweeps={'gts': dict(x='GTs per image', images=[8], boxes_per_image=[1, 10],
                                anchors=['coco-atss'], assigners=['atss'])},
            points=[pt(1, 'atss', 2.0, 8.0, anchorassign_cuda=cuda(0.1, 2 ** 20)),
                    pt(10, 'atss', 9.0, None, anchorassign_cuda=cuda(0.2, 40 * 2 ** 20),
                       peer=dict(name='mmdet-port', skipped='over 10 s per call'))],
            plots=['scaling-cuda-gts-atss.png']), gpu)
        text = self.render([gpu])
        self.assertIn('## GPU figures: `results/20261126-test-gpu-fixture`', text)
        self.assertIn('| device | cuda: Test GPU (fixture) |', text)
        self.assertNotIn('No GPU in this run', text)
        self.assertIn('### On CUDA: anchorassign (`Context("cuda")`)', text)
        head = self.row(text, '| assigner | workload | CUDA ms |')
        r = self.row(text, '| atss | coco-atss | 0.250 |')
        self.assertEqual(r[head.index('CPU ref ms')], '12.0')
        self.assertEqual(r[head.index('CUDA vs CPU ref')], 'x48.0')
        self.assertEqual(r[head.index('PyTorch peer (CUDA) ms')], '20.0')
        self.assertEqual(r[head.index('peer / CUDA')], 'x80.0')
        self.assertEqual(r[head.index('CUDA workspace MiB')], '3.0')
        self.assertEqual(r[head.index('peer MiB')], '120')
        self.assertEqual(r[head.index('check')], 'CUDA identical; peer identical')
        r = self.row(text, '| paa | coco-atss | - |')
        self.assertIn('CUDA not run: cuda: AA_ERR_NOT_SUPPORTED', r[-1])
        self.assertIn('`results/20261126-test-gpu-fixture/peers-cuda.json`', text)
        # the scaling table grows CUDA columns
        self.assertIn('### Scaling (`results/20261126-test-gpu-fixture/scaling-cuda.json`)', text)
        head = self.row(text, '| assigner | workload | anchors | GTs | CPU ref ms |')
        self.assertIn('PyTorch peer (CUDA) ms', head)
        r = self.row(text, '| atss | dense-8x1 |')
        self.assertEqual(r[head.index('CUDA ms')], '0.100')
        self.assertEqual(r[head.index('CUDA vs CPU ref')], 'x20.0')
        self.assertEqual(r[head.index('peer / CUDA')], 'x80.0')
        self.assertEqual(r[head.index('CUDA workspace MiB')], '1.0')
        r = self.row(text, '| atss | dense-8x10 |')
        self.assertEqual(r[head.index('CUDA workspace MiB')], '40')
        self.assertEqual(r[head.index('peer / CUDA')], '-')
        self.assertIn('![scaling-cuda-gts-atss.png](', text)
        # a folder with only these files is a run folder
        self.assertEqual(report.main([gpu, '--out', os.path.join(self.tmp, 'R.md'),
                                      '--root', self.tmp]), 0)

    def test_ptxas(self):
        with open(os.path.join(self.run, 'ptxas.txt'), 'w') as f:
            f.write("""ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'aa_paa_select_kernel' for 'sm_80'
ptxas info    : Function properties for aa_paa_select_kernel
    136 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 114 registers, used 1 barriers, 136 bytes cumulative stack size, 1188 bytes smem, 976 bytes cmem[0]
ptxas info    : Function properties for __internal_accurate_pow
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Compiling entry function 'aa_overlaps_kernel' for 'sm_80'
ptxas info    : Function properties for aa_overlaps_kernel
    0 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 32 registers, used 0 barriers, 400 bytes cmem[0]
ptxas info    : Compiling entry function 'aa_paa_select_kernel' for 'sm_90'
ptxas info    : Function properties for aa_paa_select_kernel
    136 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 124 registers, used 1 barriers, 136 bytes cumulative stack size, 1188 bytes smem
""")
        text = self.render()
        self.assertIn('### Static cost of the CUDA kernels', text)
        r = self.row(text, '| `aa_paa_select_kernel` |')
        self.assertEqual(r[1:7], ['114', '124', '1188', '1188', '136', '0/0'])
        r = self.row(text, '| `aa_overlaps_kernel` |')
        self.assertEqual(r[1:7], ['32', '-', '0', '-', '0', '8/4'])

    def test_lada_row(self):
        text = self.render()
        r = self.row(text, '| lada | coco-atss | 22,400')
        self.assertEqual(r[4:7], ['50.0', '400', 'x0.12'])
        self.assertIn('`lada`: aa_assign_lada', text)
        self.assertIn('Targets for an H100 (issue #5)', text)
        self.assertIn('No GPU figure yet', text)
        # rows in the documented order: paa, gmm_fit, then lada
        self.assertLess(text.index('| paa | coco-atss'), text.index('| lada | coco-atss'))

    def test_single_repetition_and_failed_peer(self):
        text = self.render()
        r = self.row(text, '| fcos | dense | 22,400')
        self.assertEqual(r[4], '500 (n=1)')
        r = self.row(text, '| max_iou | dense | 22,400')
        self.assertEqual(r[4], '2000 (n=3)')
        self.assertEqual(r[7], '-')           # a peer that failed its check has no time
        self.assertEqual(r[10], 'FAILED')
        self.assertIn('FAILED: 4 unexplained (element 9', text)

    def test_not_measured(self):
        text = self.render()
        self.assertIn('| max_iou/dense/opencl | opencl: differs from the CPU reference', text)
        # a backend without any result is listed once
        self.assertEqual(text.count('cuda: not built'), 1)
        self.assertIn('| */*/cuda | cuda: not built |', text)
        self.assertIn('| atss/extreme/PyTorch peer | not run by default', text)

    def test_cpu_labels_and_sources(self):
        text = self.render()
        self.assertIn('## CPU figures: `results/20261125-cpu`', text)
        self.assertIn('No GPU in this run', text)
        self.assertIn('PoCL', text)
        self.assertIn('load average up to 3.5', text)  # the peers' start load
        for raw in ('bench_assign.json', 'peers.json', 'env.txt'):
            self.assertIn('`results/20261125-cpu/%s`' % raw, text)
        self.assertIn('| commit | abc123 |', text)
        self.assertNotIn('copy BW', text)

    def test_commits_differ(self):
        doc = peers_doc()
        doc['commit'] = 'def456'
        self.write('peers.json', doc)
        self.assertIn('| commit | bench_assign: abc123; peers.py: def456 |', self.render())

    def test_gpu_columns(self):
        self.write('bench_assign.json', bench_doc(with_cuda=True))
        text = self.render()
        self.assertIn('## GPU figures', text)
        self.assertNotIn('No GPU in this run', text)
        self.assertIn('device-to-device copy 2900.0 GB/s', text)
        r = self.row(text, '| atss | coco-atss | 22,400')
        head = self.row(text, '| assigner | workload | anchors |')
        self.assertEqual(r[head.index('CUDA ms')], '0.500')
        self.assertEqual(r[head.index('cuda vs CPU ref')], 'x20.0')
        self.assertEqual(r[head.index('CUDA % of copy BW')], '25.0%')
        self.assertEqual(r[head.index('peer / CUDA')], 'x800')

    def test_floors(self):
        doc = bench_doc(with_cuda=True)
        # a bytes-bound case: 100 MB at 2,900 GB/s = 34.5 us > 5 us of one launch
        doc['benchmarks'] += gb_aggregates(
            'overlaps/coco-atss/cuda', [0.069] * 5,
            dict(COUNTERS, **dict(FLOOR, launches=1.0, floor_ms=0.0344828, floor_by_bytes=1.0,
                                  copy_bw_fraction=0.5), bytes_min=1e8))
        self.write('bench_assign.json', doc)
        text = self.render()
        self.assertIn('### Floors of the device backends', text)
        self.assertIn('a one-launch call 5.0 us, each further queued launch 2.00 us', text)
        head = self.row(text, '| assigner | workload | backend | ms | launches |')
        r = self.row(text, '| atss | coco-atss | cuda |')
        cell = dict(zip(head, r))
        self.assertEqual(cell['launches'], '4')
        self.assertEqual(cell['launch floor ms'], '0.011')   # 5 + 3 x 2 us
        self.assertEqual(cell['bytes floor ms'], '0.00111')  # 3.23 MB / 2,900 GB/s
        self.assertEqual(cell['floor ms'], '0.011 (launches)')
        self.assertEqual(cell['time / floor'], 'x45.5')      # 0.5 / 0.011
        self.assertEqual(cell['% of copy BW'], '25.00%')
        cell = dict(zip(head, self.row(text, '| overlaps | coco-atss | cuda |')))
        self.assertEqual(cell['bytes floor ms'], '0.0345')
        self.assertEqual(cell['floor ms'], '0.0345 (bytes)')
        self.assertEqual(cell['time / floor'], 'x2.00')
        # a run without device rows has no floors section
        self.write('bench_assign.json', bench_doc())
        self.assertNotIn('### Floors', self.render())

    def test_kernels(self):
        self.write('stages.json', {
            'context': {'commit': 'abc123', 'date': '2026-11-25T00:00:00Z', 'backends': {
                'cuda': {'device': 'Test GPU', 'copy_GBps': 2000.0, 'call_us': 5.0,
                         'queued_us': 2.0}}},
            'cases': [
                {'name': 'atss/coco-atss/cuda', 'backend': 'cuda', 'stages': [
                    # 4 MB in 0.004 ms: 1,000 GB/s, half the copy bandwidth; floor 2 us
                    {'kernel': 'aa_atss_prepare_kernel', 'ms': 0.004, 'bytes': 4e6, 'runs': 5},
                    # 1 KB: the queued launch (2 us) is its floor
                    {'kernel': 'aa_atss_select_kernel', 'ms': 0.01, 'bytes': 1000.0, 'runs': 5}]},
                # a backend without floor figures is left out
                {'name': 'atss/coco-atss/opencl-native', 'backend': 'opencl-native', 'stages': [
                    {'kernel': 'aa_atss_prepare_kernel', 'ms': 1.0, 'bytes': 4e6, 'runs': 5}]}]})
        text = self.render()
        self.assertIn('### Kernels against the copy bandwidth', text)
        head = self.row(text, '| case | kernel | ms | least MB |')
        cell = dict(zip(head, self.row(text, '| atss/coco-atss/cuda | `aa_atss_prepare_kernel`')))
        self.assertEqual(cell['least MB'], '4.000')
        self.assertEqual(cell['GB/s'], '1000.00')
        self.assertEqual(cell['% of copy BW'], '50.00%')
        self.assertEqual(cell['floor ms'], '0.002')
        self.assertEqual(cell['time / floor'], 'x2.00')
        cell = dict(zip(head, self.row(text, '| atss/coco-atss/cuda | `aa_atss_select_kernel`')))
        self.assertEqual(cell['floor ms'], '0.002')
        self.assertEqual(cell['time / floor'], 'x5.00')
        self.assertNotIn('| atss/coco-atss/opencl-native |', text)
        self.assertIn('Test GPU, copy 2000.0 GB/s', text)
        self.assertIn('`results/20261125-cpu/stages.json` (commit abc123', text)
        # without the file: no section
        os.remove(os.path.join(self.run, 'stages.json'))
        self.assertNotIn('### Kernels against', self.render())

    def test_opencl_native_column(self):
        doc = bench_doc()
        doc['benchmarks'] += gb_aggregates('paa/coco-atss/opencl-native', [80.0] * 5, COUNTERS)
        self.write('bench_assign.json', doc)
        text = self.render()
        head = self.row(text, '| assigner | workload | anchors |')
        r = self.row(text, '| paa | coco-atss | 22,400')
        self.assertEqual(r[head.index('OpenCL (cl_mem) ms')], '80.0')
        self.assertEqual(r[head.index('opencl-native vs CPU ref')], 'x2.00')  # 160 / 80
        r = self.row(text, '| atss | coco-atss | 22,400')
        self.assertEqual(r[head.index('OpenCL (cl_mem) ms')], '-')

    def test_main_writes_file_and_rejects_empty_folder(self):
        out = os.path.join(self.tmp, 'RESULTS.md')
        pending = os.path.join(self.tmp, 'pending.md')
        with open(pending, 'w') as f:
            f.write('## Pending\n\n- GPU columns\n')
        self.assertEqual(report.main([self.run, '--out', out, '--pending', pending,
                                      '--root', self.tmp]), 0)
        with open(out) as f:
            text = f.read()
        self.assertTrue(text.startswith('# Benchmark results'))
        self.assertTrue(text.endswith('- GPU columns\n'))
        empty = os.path.join(self.tmp, 'empty')
        os.makedirs(empty)
        with redirect_stderr(io.StringIO()):
            self.assertEqual(report.main([empty, '--out', out]), 2)


if __name__ == '__main__':
    unittest.main()
