"""PyTorch CUDA tensors on a Context("cuda"): results equal to the CPU reference, the
caller's stream respected, no host synchronisation inside a call. Skipped where
PyTorch sees no GPU or the library has no CUDA backend."""

import time

import numpy as np
import pytest

import anchorassign as aa
from conftest import cuda_device_or_skip, random_batch, same_bits


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
