"""PyTorch CUDA tensors on a Context("cuda"): results equal to the CPU reference, the
caller's stream respected, no host synchronisation inside a call. Skipped where
PyTorch sees no GPU or the library has no CUDA backend.

The loss-aware calls (PAA in one call and step by step, LADA, the batched EM) run
each test body twice over: on the GPU (``[cuda]``: Context("cuda"), CUDA tensors) and
on stand-ins that need no GPU (``[opencl-standin]``: Context("opencl") on CPU tensors,
PoCL in CI; ``[cpu-standin]``: a second Context("cpu") on CPU tensors), so that the
comparisons and their helpers run on every CI run, not only where a GPU is lent.
The rules against the CPU reference are those of the C parity tests:
tests/parity_paa.h (costs within PAA_COST_ULPS; gt_index and labels identical, or,
where a mixture sits within rounding of a decision, each backend exactly the
selection rule with its own EM), tests/parity_lada.h (gt_index and labels identical,
losses within LADA_LOSS_ULPS) and tests/parity_gmm.h (identical where no exp/log
reaches; well-conditioned batches: equal outcomes, every double within 1e-12 of its
scale; the rest counted). What differs from the CPU's bits is counted and printed in
pytest's summary (CTest's log)."""

import collections
import time

import numpy as np
import pytest

import anchorassign as aa
from anchorassign import _params
from conftest import cuda_device_or_skip, random_batch, same_bits
from gmm_peer import KINDS, random_points
from test_lada import batch as lada_batch
from test_paa import PRE
from test_paa import batch as paa_batch


@pytest.fixture(scope="module")
def cuda():
    torch, ctx = cuda_device_or_skip()
    yield torch, ctx, torch.device("cuda", ctx.device)
    ctx.close()


def on_device(torch, dev, batch):
    anchors, gt, off, ign, lab = batch
    return (aa.Anchors(torch.from_numpy(anchors.boxes).to(dev), anchors.level_counts,
                       anchors.strides),
            torch.from_numpy(gt).to(dev), off,
            None if ign is None else torch.from_numpy(ign).to(dev),
            None if lab is None else torch.from_numpy(lab).to(dev))


def assert_same(ref, got, dev):
    for x, y in zip(ref, got):
        assert (x is None) == (y is None)
        if x is not None:
            assert y.device == dev, y.device
            assert same_bits(x, y.cpu().numpy())


@pytest.mark.parametrize("seed", range(4))
def test_assigners_equal_cpu(cuda, cpu, seed):
    torch, ctx, dev = cuda
    batch = random_batch(seed, per_location=1)
    anchors, gt, off, ign, lab = batch
    da, dg, _, di, dl = on_device(torch, dev, batch)
    for name, kw in (("max_iou", {}), ("max_iou", {"ignore_iof_thr": 0.3}), ("atss", {}),
                     ("atss", {"topk": 4})):
        ref = getattr(cpu, name)(anchors, gt, off, ignore=ign, labels=lab, **kw)
        got = getattr(ctx, name)(da, dg, off, ignore=di, labels=dl, **kw)
        assert_same(ref, got, dev)
    pts = aa.points(256, 320, strides=(8, 16, 32, 64))
    dpts = aa.points(256, 320, strides=(8, 16, 32, 64), device=dev)
    ranges = [(-1, 32), (32, 64), (64, 128), (128, 1e8)]
    for sampling in (False, True):
        ref = cpu.fcos(pts, gt, off, ignore=ign, labels=lab, center_sampling=sampling,
                       regress_ranges=ranges)
        got = ctx.fcos(dpts, dg, off, ignore=di, labels=dl, center_sampling=sampling,
                       regress_ranges=ranges)
        assert_same(ref, got, dev)


@pytest.mark.parametrize("seed", range(3))
def test_primitives_equal_cpu(cuda, cpu, seed):
    torch, ctx, dev = cuda
    batch = random_batch(seed, per_location=1)
    anchors, gt, off, _, _ = batch
    da, dg, _, _, _ = on_device(torch, dev, batch)
    for mode in ("iou", "iof", "giou"):
        got = ctx.overlaps(da, dg, off, mode=mode)
        assert got.device == dev
        assert same_bits(cpu.overlaps(anchors, gt, off, mode=mode), got.cpu().numpy())
    cand = cpu.topk_nearest(anchors, gt, off)
    dcand = ctx.topk_nearest(da, dg, off)
    assert same_bits(cand, dcand.cpu().numpy())
    ref = cpu.candidate_iou_stats(anchors, gt, off, cand)
    got = ctx.candidate_iou_stats(da, dg, off, dcand)
    assert same_bits(ref.mean, got.mean.cpu().numpy()) and same_bits(ref.std, got.std.cpu().numpy())


def test_device_offsets_given(cuda, cpu):
    torch, ctx, dev = cuda
    batch = random_batch(8, per_location=1)
    anchors, gt, off, ign, lab = batch
    da, dg, _, di, dl = on_device(torch, dev, batch)
    got = ctx.atss(da, dg, off, ignore=di, labels=dl, device_offsets=torch.from_numpy(off).to(dev))
    assert_same(cpu.atss(anchors, gt, off, ignore=ign, labels=lab), got, dev)
    with pytest.raises(aa.Error, match="device_offsets: expected dtype int64"):
        ctx.atss(da, dg, off, device_offsets=torch.from_numpy(off).int().to(dev))
    with pytest.raises(aa.Error, match="device_offsets: a host array"):
        ctx.atss(da, dg, off, device_offsets=torch.from_numpy(off))


def test_host_arrays_on_a_cuda_context(cuda, cpu):
    torch, ctx, dev = cuda
    anchors, gt, off, ign, lab = random_batch(9, per_location=1)
    ref = cpu.atss(anchors, gt, off, ignore=ign, labels=lab)
    got = ctx.atss(anchors, gt, off, ignore=ign, labels=lab)     # AA_MEMORY_HOST context
    assert isinstance(got.gt_index, np.ndarray)
    for x, y in zip(ref, got):
        assert same_bits(x, y)


def test_mixed_devices_rejected(cuda):
    torch, ctx, dev = cuda
    anchors, gt, off, _, _ = random_batch(10, per_location=1)
    with pytest.raises(aa.Error, match="anchors: in host memory, but gt_boxes"):
        ctx.atss(anchors, torch.from_numpy(gt).to(dev), off)
    with pytest.raises(aa.Error, match="offsets: a tensor on cuda"):
        ctx.atss(aa.Anchors(torch.from_numpy(anchors.boxes).to(dev), anchors.level_counts, None),
                 torch.from_numpy(gt).to(dev), torch.from_numpy(off).to(dev))
    if torch.cuda.device_count() > 1:
        other = torch.device("cuda", (ctx.device + 1) % torch.cuda.device_count())
        with pytest.raises(aa.Error, match="but this context runs on cuda:%d" % ctx.device):
            ctx.atss(aa.Anchors(torch.from_numpy(anchors.boxes).to(other), anchors.level_counts,
                                None), torch.from_numpy(gt).to(other), off)


def test_to_mmdet_on_device(cuda, cpu):
    torch, ctx, dev = cuda
    batch = random_batch(6, per_location=1)
    anchors, gt, off, ign, lab = batch
    da, dg, _, di, dl = on_device(torch, dev, batch)
    ref = aa.to_mmdet(cpu.atss(anchors, gt, off, ignore=ign, labels=lab), off, ignore=ign)
    got = aa.to_mmdet(ctx.atss(da, dg, off, ignore=di, labels=dl), off, ignore=di)
    assert got.gt_inds.device == dev
    assert np.array_equal(ref.gt_inds, got.gt_inds.cpu().numpy())
    assert np.array_equal(ref.num_gts, got.num_gts.cpu().numpy())
    assert np.array_equal(ref.labels, got.labels.cpu().numpy())


def _cycles_per_ms(torch, dev):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with torch.cuda.device(dev):
        start.record()
        torch.cuda._sleep(20_000_000)
        end.record()
        end.synchronize()
    return 20_000_000 / max(start.elapsed_time(end), 1e-3)


def _busy_stream_case(torch, ctx, dev, ms):
    """Queues on a side stream: poisoned GTs, a `ms` long GPU sleep, then the real GTs
    (overwriting the poison), then the ATSS call. Returns the call's result, its host
    duration, whether the stream was still busy when the call returned, and the stream."""
    batch = random_batch(21, per_location=1)
    anchors, gt, off, ign, lab = batch
    da, real, _, di, dl = on_device(torch, dev, batch)
    ctx.atss(da, real, off, ignore=di, labels=dl)          # warm-up: workspace, pinned pool
    cycles = int(_cycles_per_ms(torch, dev) * ms)
    torch.cuda.synchronize(dev)
    side = torch.cuda.Stream(dev)
    with torch.cuda.stream(side):
        dg = torch.zeros_like(real)                         # poison: every GT a point at 0,0
        torch.cuda._sleep(cycles)
        dg.copy_(real)                                      # runs only after the sleep
        sync_mode = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("error")             # any torch-side sync raises
        try:
            t0 = time.perf_counter()
            r = ctx.atss(da, dg, off, ignore=di, labels=dl)
            took = time.perf_counter() - t0
            busy = not side.query()
        finally:
            torch.cuda.set_sync_debug_mode(sync_mode)
    side.synchronize()
    return batch, r, took, busy


def test_stream_respected_and_no_host_sync(cuda, cpu):
    torch, ctx, dev = cuda
    batch, r, took, busy = _busy_stream_case(torch, ctx, dev, ms=500)
    anchors, gt, off, ign, lab = batch
    # the call read the GTs written after the sleep: it ran on the caller's stream
    assert_same(cpu.atss(anchors, gt, off, ignore=ign, labels=lab), r, dev)
    # and it returned while the stream was still sleeping: no host synchronisation
    assert busy, "the stream was idle when the call returned: the call waited for the GPU"
    assert took < 0.25, "the call took %.3f s behind a 0.5 s GPU sleep" % took


def test_stream_switch_orders_the_shared_workspace(cuda, cpu):
    # call 1 on stream A behind a GPU sleep, call 2 on stream B with another batch:
    # both use the context's workspace, so B's work must wait for A's (on the GPU)
    torch, ctx, dev = cuda
    b1 = random_batch(31, per_location=1)
    b2 = random_batch(32, per_location=1, num_images=6)
    d1, d2 = on_device(torch, dev, b1), on_device(torch, dev, b2)
    ctx.atss(d1[0], d1[1], d1[2], ignore=d1[3], labels=d1[4])          # warm-up
    ctx.atss(d2[0], d2[1], d2[2], ignore=d2[3], labels=d2[4])
    cycles = int(_cycles_per_ms(torch, dev) * 400)
    torch.cuda.synchronize(dev)
    sa, sb = torch.cuda.Stream(dev), torch.cuda.Stream(dev)
    with torch.cuda.stream(sa):
        torch.cuda._sleep(cycles)
        r1 = ctx.atss(d1[0], d1[1], d1[2], ignore=d1[3], labels=d1[4])
    with torch.cuda.stream(sb):
        r2 = ctx.atss(d2[0], d2[1], d2[2], ignore=d2[3], labels=d2[4])
    time.sleep(0.1)                  # call 2 alone takes well under 100 ms on a GPU
    assert not sb.query(), "stream B finished while A was still asleep: B did not wait"
    torch.cuda.synchronize(dev)
    for batch, r in ((b1, r1), (b2, r2)):
        anchors, gt, off, ign, lab = batch
        assert_same(cpu.atss(anchors, gt, off, ignore=ign, labels=lab), r, dev)


# ================================================================ PAA, LADA, the EM
# Tolerances of the C parity tests (tests/parity_paa.h PAA_COST_ULPS, parity_lada.h
# LADA_LOSS_ULPS, parity_gmm.h GMM_REL_TOL).
LOSS_ULPS = 4
GMM_REL_TOL = 1e-12


class Dev:
    """Where a test body runs: a Context and the torch device of its arrays. ``run``
    calls the context, first scrubbing freed memory of the results' sizes with a
    poison (so that a result the library did not write cannot be stale memory that
    happens to hold the right values), then checks that every result is a tensor on
    this device with the reference's dtype and shape, and returns it as NumPy."""

    POISON = 0xA5

    def __init__(self, name, torch, ctx, device):
        self.name, self.torch, self.ctx, self.device = name, torch, ctx, device

    def put(self, x):
        if x is None:
            return None
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device)
        return self.torch.from_numpy(np.ascontiguousarray(x)).to(self.device)

    def anchors(self, a):
        return aa.Anchors(self.put(a.boxes), a.level_counts, a.strides)

    def host(self, x):
        """A result of this context as NumPy, after checking where it is."""
        assert isinstance(x, self.torch.Tensor), "%s: a %s, not a tensor" % (self.name, type(x))
        assert x.device == self.device, "%s: result on %s" % (self.name, x.device)
        return x.cpu().numpy()

    def fetch(self, got, ref):
        """got (a result of this context: array, Assignment or GmmResult) as NumPy,
        checked against ref (the CPU reference's, NumPy): tensors on this device, the
        same dtypes and shapes, None where ref has None."""
        if ref is None or got is None:
            assert ref is None and got is None, "%s: %s where the CPU gives %s" % (
                self.name, type(got).__name__, type(ref).__name__)
            return None
        if isinstance(ref, tuple):
            assert type(got) is type(ref), (type(got), type(ref))
            return type(ref)(*(self.fetch(g, r) for g, r in zip(got, ref)))
        assert got.dtype == getattr(self.torch, ref.dtype.name), (self.name, got.dtype, ref.dtype)
        assert tuple(got.shape) == ref.shape, (self.name, tuple(got.shape), ref.shape)
        return self.host(got)

    def scrub(self, ref):
        blocks = [self.torch.full((max(a.nbytes, 1),), self.POISON, dtype=self.torch.uint8,
                                  device=self.device) for a in _arrays(ref)]
        del blocks

    def run(self, ref, method, *args, **kwargs):
        return self.run_raw(ref, method, *args, **kwargs)[1]

    def run_raw(self, ref, method, *args, **kwargs):
        """(the result as returned, for the next call on the device; as NumPy, checked)."""
        self.scrub(ref)
        got = getattr(self.ctx, method)(*args, **kwargs)
        return got, self.fetch(got, ref)


def _arrays(x):
    if x is None:
        return []
    if isinstance(x, tuple):
        return [a for y in x for a in _arrays(y)]
    return [x]


def host(x):
    """A reference result (NumPy, or CPU tensors for bfloat16 inputs) as NumPy."""
    if x is None or isinstance(x, np.ndarray):
        return x
    if isinstance(x, tuple):
        return type(x)(*(host(y) for y in x))
    return x.numpy()


@pytest.fixture(scope="module", params=["cuda", "opencl-standin", "cpu-standin"])
def dev(request):
    if request.param == "cuda":
        torch, ctx, device = request.getfixturevalue("cuda")
        yield Dev("cuda", torch, ctx, device)
        return
    torch = pytest.importorskip("torch", reason="the stand-ins run the bodies on CPU tensors")
    if request.param == "opencl-standin":
        yield Dev(request.param, torch, request.getfixturevalue("opencl"), torch.device("cpu"))
        return
    ctx = aa.Context("cpu")
    yield Dev(request.param, torch, ctx, torch.device("cpu"))
    ctx.close()


_TALLY = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module")
def tally(report):
    """Counts per device (tally[dev.name][what]), printed in pytest's summary."""
    yield _TALLY
    for name, t in sorted(_TALLY.items()):
        report("torch loss-aware parity [%s]: " % name + ", ".join(
            "%s %s" % (k, t[k]) for k in sorted(t)))


# ---------------------------------------------------------------- comparisons
def _ordered(a):
    i = np.asarray(a, np.float32).view(np.int32).astype(np.int64)
    return np.where(i < 0, np.int64(np.iinfo(np.int32).min) - i, i)


def _first(mask, *named):
    j = np.unravel_index(int(np.flatnonzero(mask.ravel())[0]), mask.shape)
    return "at %s: %s" % (j, ", ".join("%s %r" % (n, a[j]) for n, a in named))


def within_ulps(t, what, ref, got, limit=LOSS_ULPS):
    """float32 values the device computes in double with its own exp/log/pow (PAA's
    costs, LADA's losses): identical, or finite and within `limit` float ulps (counted
    in t, the largest distance kept)."""
    ref, got = np.asarray(ref), np.asarray(got)
    assert ref.dtype == got.dtype == np.float32 and ref.shape == got.shape, what
    same = ref.view(np.uint32) == got.view(np.uint32)
    d = np.abs(_ordered(ref) - _ordered(got))
    bad = ~same & (~np.isfinite(ref) | ~np.isfinite(got) | (d > limit))
    if bad.any():
        raise AssertionError("%s: not within %d ulps %s" % (what, limit, _first(
            bad, ("cpu", ref), ("device", got), ("ulps", d))))
    t[what + " compared"] += ref.size
    t[what + " not bit-identical"] += int((~same).sum())
    t[what + " largest ulps"] = max(t[what + " largest ulps"], int(d.max(initial=0)))


def same_outcome(what, ref, got, fields=("gt_index", "labels"), names=("cpu", "device")):
    """Assignment fields identical (None on both sides counts)."""
    for name in fields:
        x, y = getattr(ref, name), getattr(got, name)
        assert (x is None) == (y is None), (what, name)
        if x is not None and not same_bits(x, y):
            assert x.shape == y.shape, (what, name, x.shape, y.shape)
            raise AssertionError("%s: %s differs %s" % (what, name, _first(
                x != y, (names[0], x), (names[1], y))))


# ---------------------------------------------------------------- PAA's selection rule
def _em_params(variant, params):
    p = _params.paa(variant, **params)
    g = p.gmm
    cov = {v: k for k, v in aa._library.GMM_COVARIANCES.items()}[g.covariance]
    return p, dict(num_components=2, max_iter=g.max_iter, tol=g.tol, reg_covar=g.reg_covar,
                   covariance=cov, float32_input=bool(g.float32_input))


def paa_rule(em, anchors, off, pre, costs, gt_labels, variant, params, t=None):
    """PAA's steps 3-4 re-derived from the pre-assignment and each anchor's cost, the
    mixtures fitted by ``em`` (gmm_fit of one backend, results as NumPy): the
    Assignment that backend must give with its own EM (tests/paa_common.h
    paa_check_rule). t: counts the GTs by candidates (0, 1, 2, more)."""
    p, kw = _em_params(variant, params)
    starts = np.concatenate([[0], np.cumsum(np.asarray(anchors.level_counts))])
    expect = np.where(pre == aa.IGNORED, aa.IGNORED, aa.NEGATIVE).astype(np.int32)
    segs = []
    for i in range(len(off) - 1):
        c = costs[i]
        for g in range(int(off[i + 1] - off[i])):
            cand = []
            for lo, hi in zip(starts[:-1], starts[1:]):
                idx = np.flatnonzero(pre[i, lo:hi] == g) + lo
                cand.append(idx[np.lexsort((idx, c[idx]))][:p.topk])
            cand = np.concatenate(cand)
            cand = cand[np.lexsort((cand, c[cand]))]
            if t is not None:
                t["paa GTs with %s candidates" % min(len(cand), 3)] += 1
            if len(cand) == 1 and p.single_candidate_positive:
                expect[i, cand[0]] = g
            if len(cand) >= 2:
                segs.append((i, g, cand))
    if segs:
        x = np.concatenate([costs[i, cand] for i, _, cand in segs]).astype(np.float32)
        so = np.cumsum([0] + [len(cand) for _, _, cand in segs])
        r = em(x, so, **kw)
        prefix = p.separation == aa._library.PAA_SEPARATIONS["original"]
        for s, (i, g, cand) in enumerate(segs):
            lab, dens = r.labels[so[s]:so[s + 1]], r.log_density[so[s]:so[s + 1]]
            zero = np.flatnonzero(lab == 0)
            best = int(zero[np.argmax(dens[zero])]) if len(zero) else -1
            if prefix and best < 0 and lab[0] >= 0:
                best = len(cand) - 1
            take = np.arange(best + 1)
            if not prefix:
                take = take[lab[:best + 1] == 0]
            expect[i, cand[take]] = g
    overlap = np.where(pre >= 0, costs, np.float32(np.inf)).astype(np.float32)
    labels = None
    if gt_labels is not None:
        labels = np.full(expect.shape, -1, np.int32)
        for i in range(len(off) - 1):
            pos = expect[i] >= 0
            labels[i, pos] = gt_labels[off[i] + expect[i, pos]]
    return aa.Assignment(expect, overlap, labels)


def paa_same(t, what, ref, got, rules, costs_rule):
    """Two PAA assignments (NumPy): gt_index and labels identical or, where they differ,
    each exactly the selection rule with its own backend's EM (rules() -> (the CPU's,
    the device's)); overlap bit for bit, or (costs_rule) by within_ulps."""
    differ = ref.gt_index != got.gt_index
    if ref.labels is not None and got.labels is not None:
        differ |= ref.labels != got.labels
    if differ.any():
        rule_ref, rule_got = rules()
        same_outcome(what + ": the CPU against the rule with its own EM", rule_ref, ref,
                     names=("rule", "cpu"))
        same_outcome(what + ": the device against the rule with its own EM", rule_got, got,
                     names=("rule", "device"))
        t["paa runs where a mixture tipped"] += 1
        t["paa anchors assigned differently (each side its rule)"] += int(differ.sum())
    else:
        same_outcome(what, ref, got)
    if costs_rule:
        within_ulps(t, "paa cost", ref.overlap, got.overlap)
    else:
        assert same_bits(ref.overlap, got.overlap), what + ": overlap (the given costs)"
    t["paa outputs compared"] += ref.gt_index.size


def _dev_em(dev):
    """gmm_fit of the device's context on device arrays (the kernels of the GPU's own
    selection), results as NumPy."""
    def em(x, o, **kw):
        r = dev.ctx.gmm_fit(dev.put(x), o, **kw)
        return aa.GmmResult(*(dev.host(a) for a in r))
    return em


# ---------------------------------------------------------------- PAA
def _head_as(torch, cls, deltas, dtype):
    """Host head outputs of a dtype: NumPy float32/float16, CPU tensors for bfloat16."""
    if dtype == "bfloat16":
        return (torch.from_numpy(cls).to(torch.bfloat16),
                torch.from_numpy(deltas).to(torch.bfloat16))
    return cls.astype(dtype), deltas.astype(dtype)


@pytest.mark.parametrize("seed", [29, 30, 31])
@pytest.mark.parametrize("variant", ["mmdet", "original"])
def test_paa_equals_cpu(dev, cpu, tally, seed, variant):
    """Context.paa, and the steps (max_iou with PAA's pre-assignment, paa_costs,
    assign_paa_costs from the CPU's costs and from tied costs) on the device's tensors
    against the CPU reference, float32 / float16 / bfloat16 heads."""
    t = tally[dev.name]
    anchors, gt, off, ignore, labels, cls, deltas = paa_batch(seed)
    da, dg, di, dl = dev.anchors(anchors), dev.put(gt), dev.put(ignore), dev.put(labels)
    kw = dict(labels=labels, ignore=ignore, variant=variant)
    dkw = dict(labels=dl, ignore=di, variant=variant)
    cpu_em, dev_em = cpu.gmm_fit, _dev_em(dev)

    def rules(r_ref, r_got, pre_ref, pre_got):
        return lambda: (paa_rule(cpu_em, anchors, off, pre_ref, r_ref.overlap, labels, variant, {}),
                        paa_rule(dev_em, anchors, off, pre_got, r_got.overlap, labels, variant, {}))

    pre = cpu.max_iou(anchors, gt, off, ignore=ignore, labels=labels, overlap=False, **PRE)
    dpre, npre = dev.run_raw(pre, "max_iou", da, dg, off, ignore=di, labels=dl, overlap=False,
                             **PRE)
    same_outcome("max_iou (PAA's pre-assignment)", pre, npre)
    dpre = dpre.gt_index  # the device's own pre-assignment feeds the device's steps
    for dtype in ("float32", "float16", "bfloat16"):
        c, d = _head_as(dev.torch, cls, deltas, dtype)
        dc, dd = dev.put(c), dev.put(d)
        what = "paa %s seed %d %s" % (variant, seed, dtype)
        # the whole call (device_offsets given once: the binding then uploads nothing)
        want = host(cpu.paa(anchors, gt, off, c, d, **kw))
        extra = {"device_offsets": dev.put(off)} if dtype == "float16" else {}
        got = dev.run(want, "paa", da, dg, off, dc, dd, **dkw, **extra)
        assert (want.gt_index >= 0).any() and (want.gt_index == aa.NEGATIVE).any()
        paa_same(t, what, want, got, rules(want, got, pre.gt_index, pre.gt_index), True)
        # the costs from the same pre-assignment
        costs = host(cpu.paa_costs(anchors, gt, off, pre.gt_index, c, d, **kw))
        dcosts = dev.run(costs, "paa_costs", da, dg, off, dpre, dc, dd, **dkw)
        within_ulps(t, "paa cost", costs, dcosts)
        # the selection from the same costs, and from tied costs (a few values)
        rng = np.random.default_rng(seed)
        tied = (0.25 * rng.integers(0, 4, size=costs.shape)).astype(np.float32)
        for name, k in (("the CPU's costs", costs), ("tied costs", tied)):
            sel = cpu.assign_paa_costs(anchors, gt, off, pre.gt_index, k, **kw)
            dsel = dev.run(sel, "assign_paa_costs", da, dg, off, dpre, dev.put(k), **dkw)
            paa_same(t, "%s, selection from %s" % (what, name), sel, dsel,
                     rules(sel, dsel, pre.gt_index, pre.gt_index), False)
            if dtype == "float32":  # the rule itself holds on both sides, always
                same_outcome(what + ": the CPU's selection against the rule", paa_rule(
                    cpu_em, anchors, off, pre.gt_index, k, labels, variant, {}, t), sel,
                    names=("rule", "cpu"))
                same_outcome(what + ": the device's selection against the rule", paa_rule(
                    dev_em, anchors, off, pre.gt_index, k, labels, variant, {}), dsel,
                    names=("rule", "device"))
        t["paa runs"] += 1
    assert t["paa GTs with 3 candidates"] > 0  # the mixtures ran (GTs of 3 or more candidates)
    assert dev.ctx.workspace_size("paa", da, dg, off, ignore=di, labels=dl) > 0


# ---------------------------------------------------------------- LADA
@pytest.mark.parametrize("seed", [7, 8, 9])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_lada_equals_cpu(dev, cpu, tally, seed, dtype):
    """Context.lada on the device's tensors against the CPU reference (as
    test_lada.test_opencl_equals_cpu): gt_index and labels identical, the losses within
    LADA_LOSS_ULPS (tests/parity_lada.h)."""
    t = tally[dev.name]
    anchors, gt, off, ignore, labels, cls, deltas = lada_batch(seed)
    c, d = _head_as(dev.torch, cls, deltas, dtype)
    kw = dict(labels=labels, ignore=ignore)
    if seed == 8:
        kw.update(threshold="mean_std", clip_region_to_gt=False, topk=40)
    dkw = dict(kw, labels=dev.put(labels), ignore=dev.put(ignore))
    if seed == 9:
        dkw["device_offsets"] = dev.put(off)
    want = host(cpu.lada(anchors, gt, off, c, d, **kw))
    got = dev.run(want, "lada", dev.anchors(anchors), dev.put(gt), off, dev.put(c), dev.put(d),
                  **dkw)
    assert (want.gt_index >= 0).any() and (want.gt_index == aa.NEGATIVE).any()
    same_outcome("lada seed %d %s" % (seed, dtype), want, got)
    within_ulps(t, "lada loss", want.overlap, got.overlap)
    t["lada runs"] += 1
    t["lada positives"] += int((want.gt_index >= 0).sum())
    n = dev.ctx.workspace_size("lada", dev.anchors(anchors), dev.put(gt), off,
                               ignore=dev.put(ignore), labels=dev.put(labels))
    assert n >= 8 * (len(off) - 1) * anchors.boxes.shape[0]


# ---------------------------------------------------------------- the EM
def conditioned_points(rng, n, shape):
    """tests/parity_gmm.h's conditioned shapes (gmm_fill): data near 0 on its own scale,
    where no 'diag' variance cancels much: bimodal, unimodal, PAA-like sorted costs."""
    scale = 10.0 ** rng.integers(-2, 4)
    c, gap = 2.0 * scale * rng.uniform(-1, 1), scale * (1 + 4 * rng.random())
    if shape == 0:
        x = c + np.where(rng.integers(0, 3, n) == 0, gap, 0.0) + 0.3 * scale * rng.normal(size=n)
    elif shape == 1:
        x = c + scale * rng.normal(size=n)
    else:
        x = np.sort(np.where(rng.integers(0, 3, n) == 0, 0.5 + 0.2 * np.abs(rng.normal(size=n)),
                             2.0 + np.abs(rng.normal(size=n))))
    return x.astype(np.float32)


def gmm_agree(t, what, x, off, k, max_iter, ref, got, conditioned):
    """A device GmmResult against the CPU's (both NumPy), by tests/parity_gmm.h's
    gmm_compare: identical where no exp/log reaches (too few points: everything;
    K = 1 or max_iter 0: weights, means, variances; labels for K = 1); in conditioned
    batches equal status, iterations and labels and every double within GMM_REL_TOL of
    its scale (weights 1, means the segment's largest |x|, variances variance + mean^2,
    log-likelihoods 1 + |value|); everything else counted."""
    def value(name, i, a, b, scale, strict):
        a, b = np.atleast_1d(a), np.atleast_1d(b)
        ident = (a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))
        t["gmm values"] += a.size
        if ident.all():
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(a - b) / np.maximum(scale, np.abs(a))
        rel = np.where(np.isnan(rel), np.inf, np.where(ident, 0.0, rel))
        t["gmm values not bit-identical"] += int((~ident).sum())
        key = "gmm largest relative difference%s" % (" (conditioned)" if conditioned else "")
        t[key] = max(t[key], float(rel.max()))
        if strict:
            raise AssertionError("%s: %s[%d]: cpu %r device %r, where no exp/log reaches" % (
                what, name, i, a[~ident][0], b[~ident][0]))
        if conditioned and not (rel <= GMM_REL_TOL).all():
            j = int(np.argmax(~(rel <= GMM_REL_TOL)))
            raise AssertionError("%s: %s[%d]: cpu %r device %r: beyond %g of its scale" % (
                what, name, i, a[j], b[j], GMM_REL_TOL))

    def outcome(name, i, a, b, strict):
        a, b = np.atleast_1d(a), np.atleast_1d(b)
        if (a == b).all():
            return
        if strict or conditioned:
            raise AssertionError("%s: %s of segment %d: cpu %s device %s" % (what, name, i, a, b))
        t["gmm outcomes differing"] += int((a != b).sum())

    for s in range(len(off) - 1):
        b, e = off[s], off[s + 1]
        xmax = float(np.abs(x[b:e].astype(np.float64)).max(initial=0.0))
        too_few = ref.status[s] == aa.GMM_TOO_FEW_POINTS
        no_exp = too_few or k == 1 or max_iter == 0
        outcome("status", s, ref.status[s], got.status[s], too_few)
        outcome("iterations", s, ref.iterations[s], got.iterations[s], too_few)
        value("lower_bound", s, ref.lower_bound[s], got.lower_bound[s],
              1 + abs(ref.lower_bound[s]), too_few)
        mu, var = ref.means[s], ref.variances[s]
        value("weights", s, ref.weights[s], got.weights[s], 1.0, no_exp)
        value("means", s, mu, got.means[s], xmax, no_exp)
        value("variances", s, var, got.variances[s], np.abs(var) + mu * mu, no_exp)
        outcome("labels", s, ref.labels[b:e], got.labels[b:e], too_few or k == 1)
        value("log_density", s, ref.log_density[b:e], got.log_density[b:e],
              1 + np.abs(ref.log_density[b:e]), too_few)
    t["gmm segments"] += len(off) - 1
    t["gmm segments fitted"] += int(np.isin(ref.status, (aa.GMM_CONVERGED,
                                                        aa.GMM_NOT_CONVERGED)).sum())


def _given_init(rng, x, off, k):
    """Initial values of the segments' own scale (parity_gmm.h's conditioned init)."""
    w = rng.uniform(0.05, 1.05, size=(len(off) - 1, k))
    w /= w.sum(axis=1, keepdims=True)
    mu, prec = np.zeros_like(w), np.zeros_like(w)
    for s in range(len(off) - 1):
        seg = x[off[s]:off[s + 1]].astype(np.float64)
        if not len(seg):
            seg = np.zeros(1)
        spread = float(np.ptp(seg)) or 1.0
        mu[s] = rng.choice(seg, k) + 0.1 * spread * rng.normal(size=k)
        prec[s] = 10.0 ** rng.uniform(-1, 1, k) / spread ** 2
    return w, mu, prec


def gmm_case(case, seed):
    """(x, offsets, gmm_fit keywords with NumPy init arrays, conditioned) of a case."""
    rng = np.random.default_rng(seed)
    if case == "conditioned":
        k, cov, given, max_iter = [(2, "diag", False, 100), (2, "full", True, 100),
                                   (1, "diag", True, 100), (2, "full", False, 12),
                                   (2, "diag", True, 0), (1, "full", False, 3)][seed % 6]
        sizes = rng.integers(8 * k, 60 * k + 1, size=10)
        xs = [conditioned_points(rng, n, s % 3) for s, n in enumerate(sizes)]
        kw = dict(num_components=k, covariance=cov, max_iter=max_iter,
                  tol=(1e-3, 1e-6)[seed % 2], reg_covar=(1e-6, 1e-2)[seed % 2])
    else:  # every kind of scikit-learn's peer test, too few points, K up to 4, float32 input
        k = 1 + seed % 4
        sizes = [0, 1, 2, 3, k, 7, 40, 200] + list(rng.integers(3, 60, size=4))
        xs = [random_points(rng, n, KINDS[s % len(KINDS)]) for s, n in enumerate(sizes)]
        kw = dict(num_components=k, covariance=("diag", "full")[seed % 2],
                  max_iter=(100, 0, 5)[seed % 3], reg_covar=(1e-6, 0.0)[seed % 2],
                  float32_input=bool(seed % 2))
        given = seed % 3 == 2
    x = np.concatenate(xs).astype(np.float32)
    off = np.concatenate([[0], np.cumsum([len(v) for v in xs])]).astype(np.int64)
    if given:
        kw.update(zip(("init_weights", "init_means", "init_precisions"),
                      _given_init(rng, x, off, kw["num_components"])))
    return x, off, kw, case == "conditioned"


@pytest.mark.parametrize("case,seeds", [("conditioned", range(6)), ("any", range(6))])
def test_gmm_fit_equals_cpu(dev, cpu, tally, case, seeds):
    """Context.gmm_fit on the device's tensors (points, and the initial values where
    given) against the CPU reference, by tests/parity_gmm.h's rules; device_offsets
    given in half of the calls."""
    t = tally[dev.name]
    for seed in seeds:
        x, off, kw, conditioned = gmm_case(case, seed)
        want = cpu.gmm_fit(x, off, **kw)
        dkw = {n: dev.put(v) if n.startswith("init_") else v for n, v in kw.items()}
        if seed % 2:
            dkw["device_offsets"] = dev.put(off)
        got = dev.run(want, "gmm_fit", dev.put(x), off, **dkw)
        gmm_agree(t, "gmm %s seed %d %s" % (case, seed, kw_name(kw)), x, off,
                  kw["num_components"], kw["max_iter"], want, got, conditioned)
        if conditioned and kw["max_iter"] > 0:
            fitted = want.status == aa.GMM_CONVERGED
            assert fitted.sum() >= len(off) // 2 and (want.iterations[fitted] > 0).all()
    assert t["gmm segments fitted"] > 0 and t["gmm values"] > 0


def kw_name(kw):
    return ", ".join("%s=%s" % (k, v) for k, v in sorted(kw.items()) if not k.startswith("init_"))


def test_loss_aware_without_gts(dev, cpu, tally):
    """A batch without a GT and an EM without points: zero-size arrays (for CUDA tensors
    the binding hands the library a placeholder address, which the kernels must not
    read), results as the CPU's."""
    anchors, gt, off, ignore, labels, cls, deltas = paa_batch(41, max_gts=0)
    assert gt.shape == (0, 4) and len(off) > 1
    da, dg, di, dl = dev.anchors(anchors), dev.put(gt), dev.put(ignore), dev.put(labels)
    dc, dd = dev.put(cls), dev.put(deltas)
    for method in ("paa", "lada"):
        want = getattr(cpu, method)(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
        got = dev.run(want, method, da, dg, off, dc, dd, labels=dl, ignore=di)
        assert (want.gt_index == aa.NEGATIVE).all() and np.isposinf(want.overlap).all()
        same_outcome(method + " without GTs", want, got)
        assert same_bits(want.overlap, got.overlap)
    pre = cpu.max_iou(anchors, gt, off, ignore=ignore, **PRE)
    dpre, npre = dev.run_raw(pre, "max_iou", da, dg, off, ignore=di, **PRE)
    same_outcome("max_iou without GTs", pre, npre, fields=aa.Assignment._fields)
    costs = cpu.paa_costs(anchors, gt, off, pre.gt_index, cls, deltas, labels=labels)
    assert same_bits(costs, dev.run(costs, "paa_costs", da, dg, off, dpre.gt_index, dc, dd,
                                    labels=dl))
    sel = cpu.assign_paa_costs(anchors, gt, off, pre.gt_index, costs, labels=labels)
    same_outcome("assign_paa_costs without GTs", sel, dev.run(
        sel, "assign_paa_costs", da, dg, off, dpre.gt_index, dev.put(costs), labels=dl),
        fields=aa.Assignment._fields)
    x, o = np.zeros(0, np.float32), [0, 0, 0]
    want = cpu.gmm_fit(x, o)
    got = dev.run(want, "gmm_fit", dev.put(x), o)
    assert (want.status == aa.GMM_TOO_FEW_POINTS).all()
    gmm_agree(tally[dev.name], "gmm without points", x, np.array(o), 2, 100, want, got, True)


# ---------------------------------------------------------------- the comparisons themselves
def test_comparisons_catch_a_difference(cpu, tally):
    """The helpers above fail on a planted difference (so that a device run cannot pass
    them vacuously), and accept what their rules accept."""
    torch = pytest.importorskip("torch")
    t = collections.Counter()
    anchors, gt, off, ignore, labels, cls, deltas = paa_batch(29)
    r = cpu.paa(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
    pre = cpu.max_iou(anchors, gt, off, ignore=ignore, **PRE).gt_index
    rule = paa_rule(cpu.gmm_fit, anchors, off, pre, r.overlap, labels, "mmdet", {}, t)
    same_outcome("the rule on the CPU", rule, r)
    assert same_bits(rule.overlap, r.overlap)
    assert t["paa GTs with 3 candidates"] > 0 and t["paa GTs with 0 candidates"] > 0
    pos = np.argwhere(r.gt_index >= 0)[0]
    # a moved positive: not the rule of either side
    moved = r.gt_index.copy()
    moved[tuple(pos)] = aa.NEGATIVE
    bad = aa.Assignment(moved, r.overlap, r.labels)
    with pytest.raises(AssertionError, match="against the rule"):
        paa_same(t, "planted", r, bad, lambda: (rule, rule), True)
    with pytest.raises(AssertionError, match="labels differs"):
        lab = r.labels.copy()
        lab[tuple(pos)] += 1
        same_outcome("planted", r, aa.Assignment(r.gt_index, r.overlap, lab))
    # a tipped mixture is accepted when each side is its own rule
    paa_same(t, "tipped", r, bad._replace(labels=None),
             lambda: (rule, aa.Assignment(moved, rule.overlap, None)), True)
    assert t["paa runs where a mixture tipped"] == 1
    # ulps: 4 accepted and counted, 5 and non-finite refused
    k = r.overlap.copy()
    f = np.flatnonzero(np.isfinite(k.ravel()))[0]
    for ulps, ok in ((4, True), (5, False)):
        near = k.copy()
        near.ravel()[f] = (k.ravel()[f:f + 1].view(np.int32) + ulps).view(np.float32)[0]
        if ok:
            within_ulps(t, "planted", k, near)
        else:
            with pytest.raises(AssertionError, match="not within 4 ulps"):
                within_ulps(t, "planted", k, near)
    assert t["planted not bit-identical"] == 1 and t["planted largest ulps"] == 4
    inf = k.copy()
    inf.ravel()[f] = np.inf
    with pytest.raises(AssertionError):
        within_ulps(t, "planted", k, inf)
    # the EM: exact where no exp/log reaches, 1e-12 in conditioned batches
    x, o, kw, _ = gmm_case("conditioned", 2)  # K = 1
    g = cpu.gmm_fit(x, o, **kw)
    g2 = g._replace(means=g.means * (1 + 1e-15))
    with pytest.raises(AssertionError, match="no exp/log"):
        gmm_agree(t, "planted", x, o, 1, kw["max_iter"], g, g2, True)
    x, o, kw, _ = gmm_case("conditioned", 0)  # K = 2, PAA init
    g = cpu.gmm_fit(x, o, **kw)
    gmm_agree(t, "planted", x, o, 2, 100, g, g._replace(means=g.means * (1 + 1e-14)), True)
    with pytest.raises(AssertionError, match="beyond"):
        gmm_agree(t, "planted", x, o, 2, 100, g, g._replace(means=g.means * (1 + 1e-9)), True)
    gmm_agree(t, "planted", x, o, 2, 100, g, g._replace(means=g.means * (1 + 1e-9)), False)
    lab = g.labels.copy()
    lab[np.flatnonzero(g.labels >= 0)[0]] ^= 1
    with pytest.raises(AssertionError, match="labels"):
        gmm_agree(t, "planted", x, o, 2, 100, g, g._replace(labels=lab), True)
    # results: a tensor on the device, of the reference's dtype and shape
    d = Dev("planted", torch, cpu, torch.device("cpu"))
    ref = np.zeros((2, 3), np.int32)
    d.fetch(torch.zeros((2, 3), dtype=torch.int32), ref)
    for wrong in (ref, torch.zeros((2, 3), dtype=torch.int64),
                  torch.zeros((3, 2), dtype=torch.int32),
                  torch.zeros((2, 3), dtype=torch.int32, device="meta")):
        with pytest.raises(AssertionError):
            d.fetch(wrong, ref)
    with pytest.raises(AssertionError):
        d.fetch(None, ref)


# ---------------------------------------------------------------- streams (CUDA only)
def _behind_a_sleep(torch, dev, ms, real, call):
    """Queues on a side stream: zeros in place of each tensor of `real` (poison), a `ms`
    long GPU sleep, the real values over the poison, then call(*poisoned). Returns the
    call's result, its host duration and whether the stream was still busy when it
    returned (as _busy_stream_case)."""
    cycles = int(_cycles_per_ms(torch, dev) * ms)
    torch.cuda.synchronize(dev)
    side = torch.cuda.Stream(dev)
    with torch.cuda.stream(side):
        bufs = [torch.zeros_like(x) for x in real]
        torch.cuda._sleep(cycles)
        for b, x in zip(bufs, real):
            b.copy_(x)
        sync_mode = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("error")
        try:
            t0 = time.perf_counter()
            r = call(*bufs)
            took = time.perf_counter() - t0
            busy = not side.query()
        finally:
            torch.cuda.set_sync_debug_mode(sync_mode)
    side.synchronize()
    return r, took, busy


@pytest.mark.parametrize("method", ["paa", "lada", "gmm_fit"])
def test_loss_aware_stream_respected_and_no_host_sync(cuda, cpu, tally, method):
    """paa, lada and gmm_fit read their inputs on the caller's stream (written there
    after a GPU sleep, over a poison) and return while it still sleeps."""
    torch, ctx, device = cuda
    d = Dev("cuda", torch, ctx, device)
    t = tally["cuda"]
    if method == "gmm_fit":
        x, off, kw, _ = gmm_case("conditioned", 0)
        want = cpu.gmm_fit(x, off, **kw)
        real = [d.put(x)]
        call = lambda p: ctx.gmm_fit(p, off, **kw)  # noqa: E731
    else:
        anchors, gt, off, ignore, labels, cls, deltas = (paa_batch if method == "paa"
                                                         else lada_batch)(33)
        want = getattr(cpu, method)(anchors, gt, off, cls, deltas, labels=labels, ignore=ignore)
        da, dl, di = d.anchors(anchors), d.put(labels), d.put(ignore)
        real = [d.put(gt), d.put(cls), d.put(deltas)]
        call = lambda g, c, dd: getattr(ctx, method)(da, g, off, c, dd, labels=dl,  # noqa: E731
                                                     ignore=di)
    call(*real)                                   # warm-up: workspace, pinned pool
    r, took, busy = _behind_a_sleep(torch, device, 500, real, call)
    got = d.fetch(r, want)
    # the call read the inputs written after the sleep: it ran on the caller's stream
    if method == "gmm_fit":
        gmm_agree(t, "gmm behind a sleep", x, off, kw["num_components"], kw["max_iter"], want,
                  got, True)
    elif method == "paa":
        pre = cpu.max_iou(anchors, gt, off, ignore=ignore, **PRE).gt_index
        paa_same(t, "paa behind a sleep", want, got, lambda: (
            paa_rule(cpu.gmm_fit, anchors, off, pre, want.overlap, labels, "mmdet", {}),
            paa_rule(_dev_em(d), anchors, off, pre, got.overlap, labels, "mmdet", {})), True)
    else:
        same_outcome("lada behind a sleep", want, got)
        within_ulps(t, "lada loss", want.overlap, got.overlap)
    # and it returned while the stream was still sleeping: no host synchronisation
    assert busy, "the stream was idle when the call returned: the call waited for the GPU"
    assert took < 0.25, "the call took %.3f s behind a 0.5 s GPU sleep" % took
