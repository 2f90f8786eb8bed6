#!/usr/bin/env bash
# The CPU part of the benchmark report in one command (no GPU needed):
#
#   bash bench/run_cpu.sh            # everything, extreme workload included (~60 min on 2 cores)
#   QUICK=1 bash bench/run_cpu.sh    # no extreme workload, scaling.py --quick (~20 min)
#   SCALING_ASSIGNERS="fcos paa lada" bash bench/run_cpu.sh   # only these in the sweeps
#   BENCH_ONLY=1 QUICK=1 bash bench/run_cpu.sh   # bench_assign and ptxas only (~6 min)
#
# (the sweeps of all five assigners are ~40 min of the full run: ATSS and max-IoU ~20,
# FCOS, PAA and LADA ~18; --quick about a third.)
# Builds the library and the benchmarks with CUDA off (BUILD_DIR, default /tmp/aa-bench),
# dumps the workloads (bench_workloads), runs bench_assign (CPU reference and OpenCL on
# whatever OpenCL device there is: PoCL here, on host arrays and, --aa_native_all, on
# cl_mem buffers with each case's floor), bench/peers.py (the PyTorch mmdetection
# peer, /usr/bin/python3 with python3-torch; torchvision's box_iou with
# python3-torchvision; scikit-learn from .py-deps/ for the gmm_fit and PAA peers) and
# bench/scaling.py (the sweeps of ATSS, max-IoU, FCOS, PAA and LADA; PNG plots with
# python3-matplotlib), records everything in
# bench/results/<date>-cpu/ (OUT_DIR overrides) and regenerates bench/RESULTS.md from
# every folder under bench/results/ that holds one of bench_assign.json, peers.json,
# peers-cuda.json, scaling.json, scaling-cuda.json (report.py's run files).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build=${BUILD_DIR:-/tmp/aa-bench}
out=${OUT_DIR:-$root/bench/results/$(date -u +%Y%m%d)-cpu}
python=${PEER_PYTHON:-/usr/bin/python3}
quick=${QUICK:-0}
bench_only=${BENCH_ONLY:-0}
mkdir -p "$out"

commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"

echo "== build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAA_ENABLE_CUDA=OFF -DAA_BUILD_BENCH=ON \
  > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target anchorassign bench_workloads bench_assign \
  > "$build.build.log" 2>&1 || { tail -n 40 "$build.build.log"; exit 1; }

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $commit"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "logical cpus: $(nproc)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "kernel: $(uname -sr)"
  echo "compiler: $(cc --version | head -n 1); $(c++ --version | head -n 1)"
  echo "google benchmark: $(dpkg-query -W -f '${Version}' libbenchmark-dev 2>/dev/null \
    || echo unknown)"
  echo "pocl: $(dpkg-query -W -f '${Version}' pocl-opencl-icd 2>/dev/null || echo unknown)"
  echo "python peer: $python, torch $("$python" -c 'import torch; print(torch.__version__)' 2>&1)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "quick: $quick (1: extreme workload not run on the CPU backends nor by the peer)"
  echo "bench only: $bench_only (1: no peers.py, no scaling.py)"
  echo "note: a 2-core VM shared with other jobs; OpenCL runs on PoCL (the CPU), not a GPU"
} > "$out/env.txt"
cat "$out/env.txt"

wl="$build/bench-workloads"
mkdir -p "$wl"
echo "== workloads ($wl)"
"$build/bench/bench_workloads" "$wl" | tee "$out/workloads.txt"
cp "$wl/manifest.json" "$out/workloads_manifest.json"

extreme=()
pextreme=()
if [ "$quick" != 1 ]; then
  extreme=(--aa_extreme)
  pextreme=(--extreme)
fi

echo "== bench_assign"
status=0
AA_BENCH_COMMIT="$commit" "$build/bench/bench_assign" "${extreme[@]}" --aa_native_all \
  --benchmark_out="$out/bench_assign.json" --benchmark_out_format=json \
  --aa_stages_out="$out/stages.json" \
  2>&1 | tee "$out/bench_assign.txt" || status=1

if [ "$bench_only" != 1 ]; then
echo "== peers.py"
PYTHONPATH="$root/python" ANCHORASSIGN_LIBRARY="$build/libanchorassign.so" \
  "$python" bench/peers.py --workloads "$wl" --out "$out/peers.json" "${pextreme[@]}" \
  2>&1 | tee "$out/peers.txt" || status=1

echo "== scaling.py"
squick=()
[ "$quick" = 1 ] && squick=(--quick)
for a in ${SCALING_ASSIGNERS:-}; do squick+=(--assigner "$a"); done
PYTHONPATH="$root/python" ANCHORASSIGN_LIBRARY="$build/libanchorassign.so" \
  "$python" bench/scaling.py --bench-workloads "$build/bench/bench_workloads" \
  --out "$out/scaling.json" "${squick[@]}" 2>&1 | tee "$out/scaling.txt" || status=1
fi

# The static cost of every CUDA kernel (ptxas's report), when the CUDA toolkit is here:
# a CUDA build of the library alone (no GPU needed to compile); the touch makes an
# up-to-date build compile the kernels, and so print the report, again.
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "== ptxas (CUDA build of the library in $build-cuda)"
  PATH="/usr/local/cuda/bin:$PATH" cmake -S . -B "$build-cuda" -DCMAKE_BUILD_TYPE=Release \
    -DAA_ENABLE_CUDA=ON -DAA_ENABLE_OPENCL=OFF -DAA_BUILD_TESTS=OFF -DAA_BUILD_TOOLS=OFF \
    -DAA_BUILD_BENCH=OFF > "$build-cuda.configure.log" 2>&1 \
  && touch host/cuda/cuda_backend.cu \
  && PATH="/usr/local/cuda/bin:$PATH" cmake --build "$build-cuda" -j "$(nproc)" --target anchorassign \
    > "$build-cuda.build.log" 2>&1 \
  && { echo "# commit $commit; $(PATH="/usr/local/cuda/bin:$PATH" nvcc --version | tail -n 1);" \
         "$(date -u +%Y-%m-%dT%H:%M:%SZ); CUDA build of the library (Release, -Xptxas=-v, --fmad=false)"
       grep -E "ptxas info *: (Compiling|Function properties|Used)|bytes stack frame" \
         "$build-cuda.build.log"; } > "$out/ptxas.txt" \
  || { echo "ptxas: the CUDA build failed (see $build-cuda.build.log)"; status=1; }
fi

echo "== report"
# the run folders, newest first (the date in each env.txt; a folder without one last)
folders=()
while read -r _ d; do folders+=("$d"); done < <(
  for d in bench/results/*/; do
    d=${d%/}
    for f in bench_assign.json peers.json peers-cuda.json scaling.json scaling-cuda.json stages.json; do
      if [ -f "$d/$f" ]; then
        when=$(sed -n 's/^date: //p' "$d/env.txt" 2>/dev/null | head -n 1)
        echo "${when:-0} $d"
        break
      fi
    done
  done | sort -r)
python3 bench/report.py "${folders[@]}" --pending bench/pending.md --out bench/RESULTS.md
echo "== wrote bench/RESULTS.md from ${folders[*]}"
exit $status
