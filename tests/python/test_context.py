"""Context life cycle, threads, library loading."""

import os
import subprocess
import sys
import threading

import pytest

import anchorassign as aa
from conftest import REPO, random_batch, same_bits


@pytest.mark.parametrize("backend", ["cpu", "opencl"])
def test_with_and_close(backend):
    if backend == "opencl":
        try:
            aa.Context("opencl").close()
        except aa.Error as exc:
            if os.environ.get("AA_REQUIRE_OPENCL") == "1":
                raise
            pytest.skip(str(exc))
    anchors, gt, off, _, _ = random_batch(1)
    with aa.Context(backend) as ctx:
        assert not ctx.closed and ctx.backend == backend
        assert ctx.device_name
        assert backend in repr(ctx)
        ctx.max_iou(anchors, gt, off)
    assert ctx.closed and "closed" in repr(ctx)
    for call in (lambda: ctx.max_iou(anchors, gt, off), lambda: ctx.overlaps(anchors, gt, off),
                 lambda: ctx.device_name, lambda: ctx.reserve(1024),
                 lambda: ctx.workspace_size("atss", anchors, gt, off)):
        with pytest.raises(aa.Error) as info:
            call()
        assert info.value.status == aa.Status.INVALID_ARGUMENT
        assert "closed" in info.value.message
    ctx.close()                                  # idempotent
    with pytest.raises(aa.Error):
        with ctx:
            pass


def test_auto_resolves():
    with aa.Context("auto") as ctx:
        assert ctx.backend in ("cpu", "cuda", "opencl")   # never PoCL: a CPU OpenCL device
        anchors, gt, off, _, _ = random_batch(3)
        assert ctx.atss(anchors, gt, off).gt_index.shape == (4, anchors.boxes.shape[0])


def test_shared_context_between_threads(cpu):
    # calls on one Context are serialised by its lock: every thread gets the right answer
    batches = [random_batch(s, per_location=1) for s in range(4)]
    expected = [cpu.atss(a, g, o, ignore=i, labels=l) for a, g, o, i, l in batches]
    failures = []

    def work(k):
        for _ in range(5):
            a, g, o, i, l = batches[k]
            r = cpu.atss(a, g, o, ignore=i, labels=l)
            if not (same_bits(r.gt_index, expected[k].gt_index) and
                    same_bits(r.overlap, expected[k].overlap)):
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_error_fields():
    err = aa.Error(aa.Status.INVALID_BOX, "gts.boxes[0]: x2 < x1")
    assert err.status is aa.Status.INVALID_BOX and err.status == 3
    assert err.message == "gts.boxes[0]: x2 < x1"
    assert str(err) == "AA_ERR_INVALID_BOX: gts.boxes[0]: x2 < x1"
    assert isinstance(err, Exception)


def test_version_and_path():
    assert aa.library_version().split(".")[0] == aa.__version__.split(".")[0]
    assert os.path.exists(aa.library_path())
    assert set(aa.__all__) <= set(dir(aa))


def test_library_from_environment_must_exist():
    env = dict(os.environ, ANCHORASSIGN_LIBRARY="/nonexistent/libanchorassign.so",
               PYTHONPATH=os.path.join(REPO, "python"))
    code = ("import anchorassign as aa\n"
            "try:\n    aa.Context('cpu')\nexcept aa.Error as e:\n"
            "    print(e.status.name, 'ANCHORASSIGN_LIBRARY' in e.message)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["NOT_SUPPORTED", "True"]


def test_no_stubs():
    # what the C library has is exposed (PAA: test_paa.py, LADA: test_lada.py), nothing else
    assert not any(hasattr(aa.Context, n) for n in ("em", "batched_em"))
    assert all(hasattr(aa.Context, n) for n in ("paa", "paa_costs", "assign_paa_costs", "lada"))
    assert "PAA" in aa.__doc__ and "LADA" in aa.__doc__


def test_profile_stages(opencl, cpu):
    """Experimental stage timing: one Stage (kernel, ms, bytes) per launch of the latest call."""
    anchors, gt, off, ign, lab = random_batch(3)
    want = cpu.atss(anchors, gt, off, ignore=ign, labels=lab)
    opencl.profile()
    try:
        got = opencl.atss(anchors, gt, off, ignore=ign, labels=lab)
        same_bits(got.gt_index, want.gt_index)
        stages = opencl.stages()
        assert [s.kernel for s in stages] == ["aa_atss_prepare_kernel", "aa_atss_topk_kernel",
                                              "aa_atss_select_kernel", "aa_atss_assign_kernel"]
        assert all(s.ms >= 0.0 for s in stages)
        # the last launch reads each row's key and state (9 B) and writes 4 B per row of
        # each output (host/traffic.h; test_profile.c checks every kernel)
        rows = (len(off) - 1) * anchors.boxes.shape[0]
        outputs = 1 + (got.overlap is not None) + (got.labels is not None)
        assert stages[3].bytes == 9 * rows + 4 * outputs * rows
        opencl.max_iou(anchors, gt, off)
        assert opencl.stages()[0].kernel == "aa_max_iou_anchor_kernel"
    finally:
        opencl.profile(False)
    opencl.atss(anchors, gt, off)
    assert opencl.stages() == []
    with pytest.raises(aa.Error) as info:
        cpu.profile()
    assert info.value.status == aa.Status.NOT_SUPPORTED
    with pytest.raises(aa.Error) as info:
        cpu.stages()
    assert info.value.status == aa.Status.NOT_SUPPORTED and "cpu" in info.value.message

