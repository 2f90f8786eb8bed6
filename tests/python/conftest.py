"""Fixtures of the Python binding's tests.

Run from the repository root, with the library of a build:

    ANCHORASSIGN_LIBRARY=build/ci-full/libanchorassign.so AA_REQUIRE_OPENCL=1 \
        python3 -m pytest -q tests/python

The tests import the package from ``python/`` (this checkout), unless
``ANCHORASSIGN_TEST_INSTALLED=1`` asks for the installed one. OpenCL tests skip when
the library has no OpenCL backend or no OpenCL device, except with
``AA_REQUIRE_OPENCL=1`` (CI, where PoCL is installed): there a missing backend fails.
CUDA tests run when PyTorch sees a GPU and the library has the CUDA backend.
"""

import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.get("ANCHORASSIGN_TEST_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(REPO, "python"))

import anchorassign as aa  # noqa: E402


def _context_or_skip(backend):
    try:
        return aa.Context(backend)
    except aa.Error as exc:
        if os.environ.get("AA_REQUIRE_OPENCL") == "1" and backend == "opencl":
            pytest.fail("AA_REQUIRE_OPENCL=1 but Context('opencl') failed: %s" % exc)
        pytest.skip("no %s backend here: %s" % (backend, exc))


@pytest.fixture(scope="session")
def cpu():
    ctx = aa.Context("cpu")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def opencl():
    ctx = _context_or_skip("opencl")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session", params=["cpu", "opencl"])
def ctx(request):
    """Each test using it runs on the CPU reference and on OpenCL (PoCL in CI)."""
    return request.getfixturevalue(request.param)


def cuda_device_or_skip():
    """(torch, Context('cuda')) or a skip."""
    try:
        import torch
    except ImportError:
        pytest.skip("PyTorch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device visible to PyTorch")
    try:
        ctx = aa.Context("cuda", device=torch.cuda.current_device())
    except aa.Error as exc:
        pytest.skip("the library has no usable CUDA backend: %s" % exc)
    return torch, ctx


def random_batch(seed, num_images=4, max_gts=12, height=256, width=320, crowd=True,
                 labels=True, strides=(8, 16, 32, 64), per_location=3):
    """A random ragged batch: anchors, GTs with ties, duplicates, zero-area boxes and
    images without GTs."""
    rng = np.random.default_rng(seed)
    ratios = (0.5, 1.0, 2.0)[:per_location]
    anchors = aa.anchors(height, width, strides=strides, ratios=ratios,
                         octave_base_scale=4, scales_per_octave=1)
    counts = rng.integers(0, max_gts + 1, size=num_images)
    counts[rng.integers(num_images)] = 0                      # an image without GTs
    total = int(counts.sum())
    xy = rng.uniform(-10, [width, height], size=(total, 2))
    wh = rng.exponential(40.0, size=(total, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    boxes = np.round(boxes * 2) / 2                           # half-pixel grid: exact ties
    if total >= 2:
        boxes[-1] = boxes[0]                                  # a duplicate
        boxes[total // 2, 2:] = boxes[total // 2, :2]         # a zero-area box
    gt_boxes = np.ascontiguousarray(boxes, dtype=np.float32)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ignore = (rng.random(total) < 0.15).astype(np.uint8) if crowd else None
    lab = rng.integers(0, 80, size=total).astype(np.int32) if labels else None
    return anchors, gt_boxes, offsets, ignore, lab


def same_bits(a, b):
    """Bit-identical arrays (NaN == NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return a.tobytes() == b.tobytes()


_REPORT = []


@pytest.fixture(scope="session")
def report():
    """report(line): a line for pytest's terminal summary, so that it reaches CTest's
    log even when the test passes (summaries of comparisons)."""
    return _REPORT.append


def pytest_terminal_summary(terminalreporter):
    for line in _REPORT:
        terminalreporter.write_line(line)
