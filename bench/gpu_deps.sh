#!/usr/bin/env bash
# Prepares .gpu-deps/: the Debian packages the build and tests need that the lent
# GPU machine lacks (it has nvcc, CMake and Python but no apt access): cmocka,
# cJSON, the OpenCL headers and ICD loader, Google Benchmark. Run here, once, before the GPU check;
# the device tool then carries .gpu-deps (git-ignored). Needs apt-get download.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=.gpu-deps
rm -rf "$dest" && mkdir -p "$dest/debs" "$dest/root"
packages=(libcmocka0 libcmocka-dev libcjson1 libcjson-dev ocl-icd-libopencl1 ocl-icd-opencl-dev
          opencl-c-headers opencl-clhpp-headers libbenchmark1debian libbenchmark-dev)
(cd "$dest/debs" && apt-get download "${packages[@]}" >/dev/null 2>&1)
for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$dest/root"; done
rm -rf "$dest/debs"
# pkg-config files name /usr: point them at the unpacked tree, wherever it lands
find "$dest/root" -name '*.pc' -exec sed -i \
  -e 's|=/usr|=${pcfiledir}/../../..|g' -e 's|-L/usr|-L${pcfiledir}/../../..|g' \
  -e 's|-I/usr|-I${pcfiledir}/../../..|g' {} +
echo "gpu deps: $(du -sh "$dest" | cut -f1) in $dest (${#packages[@]} packages)"
