#!/usr/bin/env bash
# The one-command GPU check: on a machine with an NVIDIA GPU, builds everything
# with CUDA (and OpenCL where an ICD is present), runs the whole test suite (the
# CUDA parity test included, which skips on machines without a GPU), the four
# compute-sanitizer tools over the CUDA parity test, the CLI profile on every
# backend, the peers and the scaling sweeps on CUDA tensors and the benchmark suite (bench_assign: CUDA on device buffers beside the
# CPU reference, with the copy-bandwidth fraction); writes each log and a summary (device, driver, commit, date) into one
# folder: $OUT when the device tool runs it, else bench/results/<date>-<device>/.
#
#   bash bench/gpu_deps.sh                   # here, once: packages the GPU machine lacks
#   device run: AA_BENCH_COMMIT=<sha> bash bench/gpu_check.sh   # carry .gpu-deps (the
#                                            # copy there may have no .git)
#
# STEPS="configure build ctest" runs only the named steps (the rest are listed as not
# run): the build folder (BUILD_DIR, default build/gpu-check, git-ignored) stays on a
# warm machine, so a check longer than one call can be split over several. Without an
# NVIDIA GPU it stops at once (exit 2).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 | tr ' ' '-' || true)
gpu=${gpu:-no-gpu}
if [ "$gpu" = no-gpu ]; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi lists none): nothing to check; the CPU" \
       "part of the benchmarks is bench/run_cpu.sh" >&2
  exit 2
fi
out=${OUT:-$root/bench/results/$(date -u +%Y%m%d)-$gpu}
mkdir -p "$out"
build=${BUILD_DIR:-$root/build/gpu-check}

if [ -d .gpu-deps/root ]; then # carried packages (bench/gpu_deps.sh)
  deps=$root/.gpu-deps/root
  export PKG_CONFIG_PATH="$deps/usr/lib/x86_64-linux-gnu/pkgconfig:$deps/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}"
  export CMAKE_PREFIX_PATH="$deps/usr:${CMAKE_PREFIX_PATH:-}"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export CPATH="$deps/usr/include:${CPATH:-}"
fi
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"

# the commit, recorded in env.txt and in bench_assign's JSON and stages.json (a copy of
# the tree without .git: pass AA_BENCH_COMMIT=<sha> on the command line)
export AA_BENCH_COMMIT=${AA_BENCH_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')}
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $AA_BENCH_COMMIT"
  echo "device: $gpu"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "nvidia-smi: not available"
  nvcc --version 2>&1 | tail -n 2
} > "$out/env.txt"
cat "$out/env.txt"

status=0
step() { # name, command...: runs, logs to $out/name.log, records the exit code
  local name=$1; shift
  if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then
    echo "$name: not run (STEPS)" | tee -a "$out/summary.txt"
    return 0
  fi
  echo "== $name"
  "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc" | tee -a "$out/summary.txt"
  [ $rc -eq 0 ] || status=1
  return $rc
}

# python.binding runs under the python3 on PATH (the one with torch, numpy, pytest), with
# its own scikit-learn where it has one (then not .py-deps/, built for /usr/bin/python3)
step configure cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAA_ENABLE_CUDA=ON \
  -DAA_ENABLE_OPENCL=AUTO -DAA_WERROR=ON -DAA_TEST_PYTHON="$(command -v python3 || echo /usr/bin/python3)" \
  $(python3 -c "import sklearn.mixture" >/dev/null 2>&1 && echo "-DAA_SKLEARN_PATH=")
step build cmake --build "$build" -j "$(nproc)"
grep -E "ptxas info *: (Compiling|Function properties|Used)|bytes stack frame" "$out/build.log" \
  > "$out/ptxas.txt" || true
step ctest ctest --test-dir "$build" --output-on-failure -j 4
torch_cuda() { # the PyTorch CUDA tests alone, to their log: with a GPU they must run, not skip
  local log rc
  log=$(mktemp)
  PYTHONPATH="$root/python" ANCHORASSIGN_LIBRARY="$build/libanchorassign.so" \
    python3 -m pytest -q -rs -p no:cacheprovider tests/python/test_torch_cuda.py > "$log" 2>&1
  rc=$?
  cat "$log"
  if [ "$gpu" != no-gpu ]; then
    if grep -qE "^SKIPPED .*(no CUDA device visible|no usable CUDA backend|PyTorch is not installed)" "$log" \
       || ! grep -qE "[0-9]+ passed" "$log"; then
      echo "torch-cuda: a GPU is present, but the CUDA tests did not run (skips above)"
      rc=1
    fi
  fi
  rm -f "$log"
  return $rc
}
step torch-cuda torch_cuda
for tool in memcheck racecheck initcheck synccheck; do
  step "sanitizer-$tool" compute-sanitizer --tool "$tool" --error-exitcode 1 \
    "$build/tests/test_cuda_parity"
done
step profile "$build/tools/anchorassign" profile --backend all --repeat 20 --stages
# the peers and the sweeps with CUDA columns (PyTorch on CUDA tensors; the report reads
# peers-cuda.json and scaling-cuda.json from this folder)
pyenv=(env PYTHONPATH="$root/python" ANCHORASSIGN_LIBRARY="$build/libanchorassign.so")
step workloads "$build/bench/bench_workloads" "$build/bench-workloads"
step peers-cuda "${pyenv[@]}" python3 bench/peers.py --device cuda --workloads "$build/bench-workloads" \
  --out "$out/peers-cuda.json"
step scaling-cuda "${pyenv[@]}" python3 bench/scaling.py --device cuda --quick --no-opencl \
  --bench-workloads "$build/bench/bench_workloads" --out "$out/scaling-cuda.json"
step bench "$build/bench/bench_assign" --benchmark_out="$out/bench_assign.json" \
  --benchmark_out_format=json --aa_stages_out="$out/stages.json"
grep -E "parity:" "$out"/ctest.log "$out"/sanitizer-*.log >> "$out/summary.txt" 2>/dev/null || true
echo "== results in $out"
cat "$out/summary.txt"
exit $status
