#!/usr/bin/env bash
# Installs what a bare Debian 12 machine lacks to build and test anchorassign:
#
#   sudo apt-get update
#   sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
#       cmake gcc g++ make pkg-config pocl-opencl-icd ocl-icd-opencl-dev opencl-headers \
#       clinfo libcmocka-dev libcjson-dev libbenchmark-dev python3 python3-numpy python3-torch \
#       python3-pytest clang libclang-rt-14-dev valgrind
#
# (g++: nvcc's host compiler and Google Benchmark's language; python3-torch and
# python3-numpy: the mmdetection peer parity test, tests/peer/, which is switched
# off when /usr/bin/python3 cannot import them; python3-pytest: the binding's tests;
# clang + libclang-rt-14-dev: libFuzzer for .ci/fuzz (the runtime is only a
# Recommends of clang); valgrind: memcheck of the CLI.) The CUDA toolkit is
# not a Debian package here: it is expected at /usr/local/cuda. Does nothing, quickly,
# when every package is already installed. Runs as root, or through sudo.
set -euo pipefail

packages=(
  cmake gcc g++ make pkg-config
  pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo
  libcmocka-dev libcjson-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-pytest
  clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages already installed"
  exit 0
fi
echo "deps: missing: ${missing[*]}"

as_root=()
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
