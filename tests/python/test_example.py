"""The training-step example runs (CPU here; the GPU when PyTorch sees one)."""

import os
import subprocess
import sys

import pytest

from conftest import REPO


def test_train_step_atss_example():
    pytest.importorskip("torch")
    env = dict(os.environ)
    if os.environ.get("ANCHORASSIGN_TEST_INSTALLED") != "1":
        env["PYTHONPATH"] = os.path.join(REPO, "python") + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, os.path.join(REPO, "examples", "train_step_atss.py"),
                          "--steps", "2", "--batch", "2", "--size", "256", "320"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("anchorassign ")
    assert sum(line.startswith("step ") and "positive anchors" in line for line in lines) == 2
