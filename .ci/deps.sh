#!/usr/bin/env bash
# Installs what a bare Debian 12 machine lacks to build and test anchorassign:
#
#   sudo apt-get update
#   sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
#       cmake gcc g++ make pkg-config pocl-opencl-icd ocl-icd-opencl-dev opencl-headers \
#       clinfo libcmocka-dev libcjson-dev libbenchmark-dev python3 python3-numpy python3-torch \
#       python3-pytest python3-scipy python3-pip clang libclang-rt-14-dev valgrind
#   python3 -m pip install --no-deps --only-binary=:all: --target .py-deps \
#       scikit-learn==1.9.1 joblib==1.6.0 threadpoolctl==3.8.0 narwhals==2.29.0 cloudpickle==3.1.3
#
# (g++: nvcc's host compiler and Google Benchmark's language; python3-torch and
# python3-numpy: the mmdetection peer parity test, tests/peer/, which is switched
# off when /usr/bin/python3 cannot import them; python3-pytest: the binding's tests;
# clang + libclang-rt-14-dev: libFuzzer for .ci/fuzz (the runtime is only a
# Recommends of clang); valgrind: memcheck of the CLI.) The CUDA toolkit is
# not a Debian package here: it is expected at /usr/local/cuda.
#
# scikit-learn, the peer of the Gaussian-mixture EM (tests/python/test_gmm_sklearn.py):
# the current 1.9.1 from PyPI, not Debian's 1.2.1 (an older 'diag' covariance
# formula), installed into the git-ignored .py-deps/ of this checkout (the system
# Python is left alone; CMake puts .py-deps on the tests' PYTHONPATH). It runs on
# Debian's numpy 1.24 and scipy 1.10 (python3-scipy): hence --no-deps and the
# pinned pure-Python dependencies, so that pip never pulls a second numpy.
#
# Does nothing, quickly, when everything is installed. The Debian part runs as
# root, or through sudo; the pip part as the calling user.
set -euo pipefail

packages=(
  cmake gcc g++ make pkg-config
  pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo
  libcmocka-dev libcjson-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-pytest python3-scipy python3-pip
  clang libclang-rt-14-dev valgrind
)
sklearn_version=1.9.1
pypi=(scikit-learn==$sklearn_version joblib==1.6.0 threadpoolctl==3.8.0 narwhals==2.29.0
      cloudpickle==3.1.3)
py_deps="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.py-deps"

install_debian() {
  local missing=() p
  for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} Debian packages already installed"
    return
  fi
  echo "deps: missing: ${missing[*]}"

  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "deps: not root and no sudo: cannot install ${missing[*]}" >&2
      exit 1
    fi
  fi
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -o Dpkg::Use-Pty=0 "${packages[@]}"
}

sklearn_ready() {
  PYTHONPATH="$py_deps" /usr/bin/python3 -c \
    "import sklearn.mixture, sys; sys.exit(sklearn.__version__ != '$sklearn_version')" 2>/dev/null
}

install_sklearn() {
  if sklearn_ready; then
    echo "deps: scikit-learn $sklearn_version already in $py_deps"
    return
  fi
  echo "deps: installing ${pypi[*]} into $py_deps"
  rm -rf "$py_deps"
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    --no-deps --only-binary=:all: \
    --target "$py_deps" "${pypi[@]}"
  if ! sklearn_ready; then
    echo "deps: scikit-learn $sklearn_version in $py_deps does not import with /usr/bin/python3" >&2
    exit 1
  fi
}

install_debian
install_sklearn
