// bench_assign - Google Benchmark suite of anchorassign's calls on the standard
// workloads (bench_cases.h), on every backend: the CPU reference, OpenCL (host arrays,
// AA_MEMORY_HOST: times include the copies in and out) and CUDA (device buffers,
// AA_MEMORY_NATIVE, CUDA-event timing on the context's stream, L2 flushed before every
// call), plus opencl-native: OpenCL given cl_mem buffers (AA_MEMORY_NATIVE).
//
// Before a backend's case is timed its outputs are compared with the CPU reference's,
// bit for bit (gt_index and overlap), and again on the last timed call's outputs; a
// mismatch or a failed call skips the case with an error and makes the exit status 1.
// A backend that is not built or has no device is one skipped entry saying why (not a
// failure, unless --aa_strict). Benchmark names are ASSIGNER/WORKLOAD/BACKEND, e.g.
// atss/dense/opencl.
//
// Besides the assigners of bench_cases: paa/coco-atss and lada/coco-atss (aa_assign_paa and
// aa_assign_lada from synthetic head outputs, defaults; gt_index, overlap and labels
// checked bit for bit) and gmm_fit/coco-atss
// (aa_gmm_fit on the segments PAA fits there: bench_cases.h says how they are built; every
// output requested, the per-segment status and the per-point labels checked equal to
// the CPU's). A backend that answers AA_ERR_NOT_SUPPORTED for them gets one skipped
// entry saying so, which is not a failure.
//
// Device buffers (cuda, opencl-native): one code path (bench_device_case,
// bench_head_device, bench_gmm_device) over the small device-memory interface of
// bench_device.h, with a CUDA implementation (cudaMalloc, copies and events on the
// context's stream) and an OpenCL one (cl_mem in the context's cl_context, its queue).
// Every input array in device memory: anchor boxes, GT boxes, crowd flags, labels and
// gts.device_offsets; the head outputs (cls_logits, bbox_deltas); the gmm points and
// segments.device_offsets (counts, host offsets and level counts/strides stay host
// values, as anchorassign.h says); every output allocated on the device, poisoned,
// downloaded for the checks. opencl-native exists so that this path, which the CUDA rows
// take on a GPU, runs and is checked where there is none (PoCL): by default it runs the
// loss-aware rows only (--aa_native_all: every case); its times are the wall clock from
// a clFinish before the call to a clFinish after it (no cache flush), not CUDA's events.
//
// Defaults (overridable on the command line): 5 repetitions, aggregates only (mean,
// median, stddev, cv; the report uses the median), real time (manual time on the device
// backends). Quick run:
//   bench_assign --benchmark_filter='coco-atss/cpu'
// Options of our own: --aa_extreme (the extreme workload on the CPU-side backends too),
// --aa_native_all (above), --aa_stages_out=FILE (each device case's kernel launches:
// see write_stages), --aa_strict (a skipped case, or a filter that selects none,
// fails the run: the CTest bench.native).
// Counters per case: anchors, gts, images, bytes_written (the outputs, the least any
// implementation must write), bytes_min (outputs + inputs read once; paa/lada leave the
// head outputs out: see paa_counters), bytes_per_second (bytes_min / time). On the
// device backends (cuda, opencl-native) also the case's floor (bench_floor.h: measured
// once per backend and process, in the same process and with the same clock as the
// cases): copy_GBps (device-to-device copy bandwidth), call_us (a one-launch call),
// queued_us (one more launch in a queue), launches (the call's own, counted with
// aa_context_profile), floor_ms = max(call + (launches - 1) x queued, bytes_min / copy
// bandwidth), floor_by_bytes (1 when the bytes bound is the larger), floor_fraction
// (floor / time) and copy_bw_fraction (bytes_min / copy bandwidth / time).
//
// Environment: ANCHORASSIGN_DATA (the COCO CSV; default the source tree's),
// AA_BENCH_COMMIT (recorded in the JSON context), AA_OPENCL_DEVICE / AA_OPENCL_PLATFORM.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "anchorassign.h"
#include "bench_cases.h"
#include "bench_device.h"
#include "bench_floor.h"
#include "synthetic_head.h"
#include "workload.h"

namespace {

// ------------------------------------------------------------------ inputs

struct Workload {
    aa_wl_dataset ds{};
    aa_wl_batch batch{};
    const int32_t *labels = nullptr; // the GTs' labels (PAA), kept aside from batch.gts
    bool loaded = false;
    std::string error;
};

struct Inputs {
    Workload workloads[BENCH_NUM_WORKLOADS];
    aa_wl_anchor_set sets[3]{}; // indexed by aa_wl_anchor_kind
    std::string set_error;
};

Inputs &inputs()
{
    static Inputs in;
    return in;
}

const Workload &workload(int w)
{
    Workload &wl = inputs().workloads[w];
    if (!wl.loaded && wl.error.empty()) {
        aa_wl_error err{};
        if (bench_load(w, &wl.ds, &wl.batch, &err) != AA_WL_OK)
            wl.error = std::string(bench_workloads[w].name) + ": " + err.message;
        else
            wl.loaded = true;
        wl.labels = wl.batch.gts.labels;
        wl.batch.gts.labels = nullptr; // not needed: no labels output
    }
    return wl;
}

std::string make_anchor_sets()
{
    for (int k = 0; k < 3; ++k) {
        aa_wl_error err{};
        if (aa_wl_anchor_set_make(static_cast<aa_wl_anchor_kind>(k), AA_WL_CANVAS_H,
                                  AA_WL_CANVAS_W, &inputs().sets[k], &err) != AA_WL_OK)
            return err.message;
    }
    return "";
}

int64_t num_gts(const aa_gts &g) { return g.offsets[g.num_images]; }

// Output elements of a case: gt_index and overlap per (image, anchor), or the overlaps
// matrix per (GT, anchor).
struct Shape {
    size_t index_elems;   // int32 gt_index elements (0 for overlaps)
    size_t overlap_elems; // float elements
};

Shape shape_of(const bench_case &c, const aa_gts &g, const aa_anchors &a)
{
    size_t A = static_cast<size_t>(a.num_anchors);
    if (c.assigner == BENCH_OVERLAPS)
        return {0, static_cast<size_t>(num_gts(g)) * A};
    size_t n = static_cast<size_t>(g.num_images) * A;
    return {n, n};
}

aa_status call_case(aa_context *ctx, const bench_case &c, const aa_anchors *a, const aa_gts *g,
                    int32_t *gt_index, float *overlap)
{
    aa_assignment out{gt_index, overlap, nullptr};
    switch (c.assigner) {
    case BENCH_ATSS: return aa_assign_atss(ctx, nullptr, a, g, &out, nullptr, 0);
    case BENCH_FCOS: return aa_assign_fcos(ctx, nullptr, a, g, &out, nullptr, 0);
    case BENCH_MAX_IOU: return aa_assign_max_iou(ctx, nullptr, a, g, &out, nullptr, 0);
    case BENCH_OVERLAPS: return aa_overlaps(ctx, AA_IOU, 1e-6f, a, g, overlap);
    }
    return AA_ERR_INTERNAL;
}

std::string status_text(aa_context *ctx, aa_status st)
{
    std::string s = aa_status_string(st);
    const char *m = ctx ? aa_context_last_error(ctx) : aa_context_create_error();
    if (m && *m)
        s += std::string(": ") + m;
    return s;
}

// Cases that failed (a call error or a mismatch), as opposed to skipped because their
// backend is not available: main's exit status.
int g_failures = 0;
// Cases skipped without failing (a backend not built or without a device, a row a
// backend does not have, the extreme workload without --aa_extreme): with --aa_strict
// they make the exit status 1 too.
int g_skips = 0;

void fail_case(benchmark::State &state, const std::string &why)
{
    ++g_failures;
    state.SkipWithError(why.c_str());
}

void skip_case(benchmark::State &state, const std::string &why)
{
    ++g_skips;
    state.SkipWithError(why.c_str());
}

// Each device case's launches, from 3 profiled calls per repetition (1 for a case timed
// with single calls; bench_floor.h's profile_stages): kernel, least bytes, and every
// repetition's time per launch.
struct StageRecord {
    std::string backend;
    std::vector<bench_floor::Stage> stages; // kernel and least bytes (ms: the latest run's)
    std::vector<std::vector<double>> ms;    // [launch][repetition]: write_stages' median
};
std::map<std::string, StageRecord> g_stages;

// ------------------------------------------------------------------ backends

struct Backend {
    const char *name;
    aa_backend kind;
    aa_memory memory;
    aa_context *ctx = nullptr;
    std::string why; // why it is not available
    std::string device;
    bench_floor::Floor floor{}; // device backends: measured at their first case
};

// Benchmark names: ASSIGNER/WORKLOAD/BACKEND for the cases of bench_cases, and the
// loss-aware rows (PAA, the EM alone, LADA) on the PAA workload.
enum LossAware { ROW_PAA, ROW_GMM, ROW_LADA };

std::string case_name(int case_index, const Backend &b)
{
    const bench_case &c = bench_cases[case_index];
    return std::string(bench_assigner_names[c.assigner]) + "/" + bench_workloads[c.workload].name +
           "/" + b.name;
}

std::string row_name(LossAware row, const Backend &b)
{
    static const char *const prefix[] = {"paa/", "gmm_fit/", "lada/"};
    return std::string(prefix[row]) + bench_workloads[BENCH_PAA_WORKLOAD].name + "/" + b.name;
}

// cuda and opencl-native take device buffers (AA_MEMORY_NATIVE: bench_device.h);
// opencl-native runs the loss-aware rows (and, with --aa_native_all, every case) so that
// the device path of the CUDA rows is exercised and checked without a GPU (PoCL).
Backend backends[] = {
    {"cpu", AA_BACKEND_CPU, AA_MEMORY_NATIVE, nullptr, "", ""},
    {"opencl", AA_BACKEND_OPENCL, AA_MEMORY_HOST, nullptr, "", ""},
    {"cuda", AA_BACKEND_CUDA, AA_MEMORY_NATIVE, nullptr, "", ""},
    {"opencl-native", AA_BACKEND_OPENCL, AA_MEMORY_NATIVE, nullptr, "", ""},
};

// A GPU backend given device buffers: its cases run through the device path.
bool is_device(const Backend &b)
{
    return b.kind != AA_BACKEND_CPU && b.memory == AA_MEMORY_NATIVE;
}

void open_backend(Backend &b)
{
#if !AA_BENCH_CUDA
    if (b.kind == AA_BACKEND_CUDA) { // native memory needs the CUDA runtime here
        b.why = "cuda: not built (this build has no CUDA backend: AA_ENABLE_CUDA=OFF or no "
                "CUDA toolkit)";
        return;
    }
#endif
#if !AA_BENCH_OPENCL
    if (is_device(b) && b.kind == AA_BACKEND_OPENCL) { // cl_mem buffers need OpenCL here
        b.why = "opencl-native: not built (this build has no OpenCL backend: "
                "AA_ENABLE_OPENCL=OFF or no OpenCL)";
        return;
    }
#endif
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = b.kind;
    opt.memory = b.memory;
    aa_status st = aa_context_create(&b.ctx, &opt);
    if (st != AA_SUCCESS) {
        b.why = std::string(b.name) + ": not available: " + status_text(nullptr, st);
        b.ctx = nullptr;
        return;
    }
    b.device = aa_context_device_name(b.ctx);
}

// The CPU reference's outputs of each case, computed once.
struct Reference {
    std::vector<int32_t> gt_index;
    std::vector<float> overlap;
    std::string error;
    bool done = false;
};

Reference &reference(int case_index)
{
    static Reference refs[BENCH_NUM_CASES];
    Reference &r = refs[case_index];
    if (r.done)
        return r;
    r.done = true;
    const bench_case &c = bench_cases[case_index];
    const Workload &w = workload(c.workload);
    if (!w.loaded) {
        r.error = w.error;
        return r;
    }
    const aa_anchors &a = inputs().sets[c.anchors].anchors;
    Shape s = shape_of(c, w.batch.gts, a);
    r.gt_index.assign(s.index_elems, 0);
    r.overlap.assign(s.overlap_elems, 0.0f);
    aa_status st = call_case(backends[0].ctx, c, &a, &w.batch.gts,
                             s.index_elems ? r.gt_index.data() : nullptr, r.overlap.data());
    if (st != AA_SUCCESS)
        r.error = "cpu reference: " + status_text(backends[0].ctx, st);
    return r;
}

// Compares a backend's outputs with the reference; "" when bit-identical.
std::string compare(const Reference &ref, const int32_t *gi, const float *ov)
{
    size_t bad = 0, first = SIZE_MAX;
    for (size_t k = 0; k < ref.gt_index.size(); ++k)
        if (gi[k] != ref.gt_index[k]) {
            bad++;
            first = std::min(first, k);
        }
    for (size_t k = 0; k < ref.overlap.size(); ++k)
        if (std::memcmp(&ov[k], &ref.overlap[k], sizeof(float)) != 0) {
            bad++;
            first = std::min(first, k);
        }
    if (bad == 0)
        return "";
    char msg[160];
    std::snprintf(msg, sizeof msg,
                  "differs from the CPU reference in %zu output elements (first at element %zu)",
                  bad, first);
    return msg;
}

void set_counters(benchmark::State &state, const bench_case &c, const aa_gts &g,
                  const aa_anchors &a, double *bytes_min_out)
{
    Shape s = shape_of(c, g, a);
    double written = 4.0 * static_cast<double>(s.index_elems + s.overlap_elems);
    double G = static_cast<double>(num_gts(g));
    // Inputs read at least once: anchors, GT boxes, crowd flags, offsets.
    double read = 16.0 * static_cast<double>(a.num_anchors) + 17.0 * G +
                  8.0 * (g.num_images + 1);
    double bytes_min = written + read;
    state.counters["anchors"] = static_cast<double>(a.num_anchors);
    state.counters["gts"] = G;
    state.counters["images"] = g.num_images;
    state.counters["bytes_written"] = written;
    state.counters["bytes_min"] = bytes_min;
    state.SetBytesProcessed(static_cast<int64_t>(bytes_min) *
                            static_cast<int64_t>(state.iterations()));
    *bytes_min_out = bytes_min;
}

// ------------------------------------------------------------------ host backends

// CPU (native = host) and OpenCL with AA_MEMORY_HOST: host arrays in and out.
void bench_host(benchmark::State &state, int case_index, Backend *b)
{
    const bench_case &c = bench_cases[case_index];
    if (!b->ctx) {
        skip_case(state, b->why);
        return;
    }
    const Workload &w = workload(c.workload);
    Reference &ref = reference(case_index);
    if (!ref.error.empty()) {
        fail_case(state, ref.error);
        return;
    }
    const aa_anchors &a = inputs().sets[c.anchors].anchors;
    Shape s = shape_of(c, w.batch.gts, a);
    std::vector<int32_t> gi(std::max<size_t>(s.index_elems, 1));
    std::vector<float> ov(s.overlap_elems);
    int32_t *gip = s.index_elems ? gi.data() : nullptr;
    aa_status st = AA_SUCCESS;
    if (b->kind != AA_BACKEND_CPU) {
        // The check call is also the warm-up (grows the context's workspace). On the CPU
        // the reference call was the warm-up, and the check is the one after timing.
        st = call_case(b->ctx, c, &a, &w.batch.gts, gip, ov.data());
        if (st != AA_SUCCESS) {
            fail_case(state, std::string(b->name) + ": " + status_text(b->ctx, st));
            return;
        }
        std::string diff = compare(ref, gi.data(), ov.data());
        if (!diff.empty()) {
            fail_case(state, std::string(b->name) + ": " + diff);
            return;
        }
    }
    for (auto _ : state) {
        st = call_case(b->ctx, c, &a, &w.batch.gts, gip, ov.data());
        if (st != AA_SUCCESS)
            break;
        benchmark::DoNotOptimize(ov.data());
        benchmark::ClobberMemory();
    }
    if (st != AA_SUCCESS) {
        fail_case(state, std::string(b->name) + ": " + status_text(b->ctx, st));
        return;
    }
    // The last timed call's outputs too (determinism, and the CPU's own check).
    std::string diff = compare(ref, gi.data(), ov.data());
    if (!diff.empty()) {
        fail_case(state, std::string(b->name) + " (timed call): " + diff);
        return;
    }
    double bytes_min;
    set_counters(state, c, w.batch.gts, a, &bytes_min);
}

// ------------------------------------------------------------------ PAA and gmm_fit

// Inputs and CPU references of paa/coco-atss and gmm_fit/coco-atss, built once.
struct PaaInputs {
    bool done = false;
    std::string error;
    aa_gts gts{};        // the coco-atss GTs with their labels
    aa_paa_params params{};
    aa_wl_head head{};
    Reference ref;       // aa_assign_paa on the CPU: gt_index, overlap
    std::vector<int32_t> ref_labels;
    aa_lada_params lada{}; // aa_lada_params_init, on the same head
    Reference lada_ref;  // aa_assign_lada on the CPU
    std::vector<int32_t> lada_ref_labels;
    bench_segments seg{};
    aa_gmm_params gmm{}; // aa_gmm_params_init: float32_input 0 (the GPU backends' only mode)
    std::vector<int32_t> gmm_status, gmm_labels; // the CPU's fit
};

PaaInputs g_paa; // freed at the end of main (all of it is safe to free when unbuilt)

PaaInputs &paa_inputs()
{
    PaaInputs &P = g_paa;
    if (P.done)
        return P;
    P.done = true;
    const Workload &w = workload(BENCH_PAA_WORKLOAD);
    if (!w.loaded) {
        P.error = w.error;
        return P;
    }
    aa_context *cpu = backends[0].ctx;
    const aa_anchors &a = inputs().sets[AA_WL_ANCHORS_ATSS].anchors;
    P.gts = w.batch.gts;
    P.gts.labels = w.labels;
    aa_paa_params_init(&P.params);
    aa_wl_error err{};
    if (aa_wl_head_make(&a, &P.gts, AA_WL_COCO_CLASSES, AA_FLOAT32, AA_WL_HEAD_SEED, &P.head,
                        &err) != AA_WL_OK) {
        P.error = std::string("synthetic head: ") + err.message;
        return P;
    }
    size_t n = static_cast<size_t>(P.gts.num_images) * static_cast<size_t>(a.num_anchors);
    P.ref.gt_index.assign(n, 0);
    P.ref.overlap.assign(n, 0.0f);
    P.ref_labels.assign(n, 0);
    aa_assignment out{P.ref.gt_index.data(), P.ref.overlap.data(), P.ref_labels.data()};
    aa_status st = aa_assign_paa(cpu, &P.params, &a, &P.gts, &P.head.head, &out, nullptr, 0);
    if (st != AA_SUCCESS) {
        P.error = "cpu reference (paa): " + status_text(cpu, st);
        return P;
    }
    aa_lada_params_init(&P.lada);
    P.lada_ref.gt_index.assign(n, 0);
    P.lada_ref.overlap.assign(n, 0.0f);
    P.lada_ref_labels.assign(n, 0);
    aa_assignment lout{P.lada_ref.gt_index.data(), P.lada_ref.overlap.data(),
                       P.lada_ref_labels.data()};
    st = aa_assign_lada(cpu, &P.lada, &a, &P.gts, &P.head.head, &lout, nullptr, 0);
    if (st != AA_SUCCESS) {
        P.error = "cpu reference (lada): " + status_text(cpu, st);
        return P;
    }
    char msg[256] = "";
    if (bench_paa_segments(cpu, &P.params, &a, &P.gts, &P.head.head, &P.seg, msg, sizeof msg)) {
        P.error = msg;
        return P;
    }
    aa_gmm_params_init(&P.gmm);
    size_t S = static_cast<size_t>(P.seg.num_segments);
    P.gmm_status.assign(S, 0);
    P.gmm_labels.assign(static_cast<size_t>(P.seg.offsets[S]), 0);
    aa_gmm_segments segs{P.seg.points, P.seg.offsets, P.seg.num_segments, nullptr};
    aa_gmm_result res{};
    res.status = P.gmm_status.data();
    res.labels = P.gmm_labels.data();
    st = aa_gmm_fit(cpu, &P.gmm, &segs, &res, nullptr, 0);
    if (st != AA_SUCCESS)
        P.error = "cpu reference (gmm_fit): " + status_text(cpu, st);
    return P;
}

// Returns bytes_min: the three outputs written, the anchors and the GTs (boxes, crowd
// flags, labels, offsets) read once. The head outputs are left out: a call reads them
// only for the anchors the pre-assignment or the centre regions pick, which depends on
// the data; so this floor is a lower bound.
double paa_counters(benchmark::State &state, const PaaInputs &P, const aa_anchors &a)
{
    double written = 12.0 * P.gts.num_images * static_cast<double>(a.num_anchors);
    double G = static_cast<double>(num_gts(P.gts));
    double bytes_min = written + 16.0 * static_cast<double>(a.num_anchors) + 21.0 * G +
                       8.0 * (P.gts.num_images + 1);
    state.counters["anchors"] = static_cast<double>(a.num_anchors);
    state.counters["gts"] = G;
    state.counters["images"] = P.gts.num_images;
    state.counters["bytes_written"] = written;
    state.counters["bytes_min"] = bytes_min;
    return bytes_min;
}

// The assigners from head outputs, one call each.
enum HeadAssigner { HEAD_PAA, HEAD_LADA };

aa_status call_head(HeadAssigner which, aa_context *ctx, const PaaInputs &P, const aa_anchors &a,
                    const aa_gts &g, const aa_head_outputs &h, const aa_assignment *out)
{
    if (which == HEAD_LADA)
        return aa_assign_lada(ctx, &P.lada, &a, &g, &h, out, nullptr, 0);
    return aa_assign_paa(ctx, &P.params, &a, &g, &h, out, nullptr, 0);
}

// "" when gt_index, overlap and labels are the CPU reference's, bit for bit.
std::string head_diff(const PaaInputs &P, HeadAssigner which, const std::vector<int32_t> &gi,
                      const std::vector<float> &ov, const std::vector<int32_t> &lab)
{
    const Reference &ref = which == HEAD_LADA ? P.lada_ref : P.ref;
    std::string diff = compare(ref, gi.data(), ov.data());
    if (diff.empty() && lab != (which == HEAD_LADA ? P.lada_ref_labels : P.ref_labels))
        diff = "labels differ from the CPU reference";
    return diff;
}

// paa/coco-atss or lada/coco-atss on a host backend (CPU; OpenCL with host arrays).
void bench_head(benchmark::State &state, Backend *b, HeadAssigner which)
{
    PaaInputs &P = paa_inputs();
    if (!P.error.empty()) {
        fail_case(state, P.error);
        return;
    }
    const aa_anchors &a = inputs().sets[AA_WL_ANCHORS_ATSS].anchors;
    size_t n = P.ref.gt_index.size();
    std::vector<int32_t> gi(n), lab(n);
    std::vector<float> ov(n);
    aa_assignment out{gi.data(), ov.data(), lab.data()};
    auto check = [&](const char *when) {
        std::string diff = head_diff(P, which, gi, ov, lab);
        if (!diff.empty())
            fail_case(state, std::string(b->name) + when + ": " + diff);
        return diff.empty();
    };
    aa_status st = AA_SUCCESS;
    if (b->kind != AA_BACKEND_CPU) { // check call and warm-up, as bench_host
        st = call_head(which, b->ctx, P, a, P.gts, P.head.head, &out);
        if (st != AA_SUCCESS) {
            fail_case(state, std::string(b->name) + ": " + status_text(b->ctx, st));
            return;
        }
        if (!check(""))
            return;
    }
    for (auto _ : state) {
        st = call_head(which, b->ctx, P, a, P.gts, P.head.head, &out);
        if (st != AA_SUCCESS)
            break;
        benchmark::DoNotOptimize(gi.data());
        benchmark::ClobberMemory();
    }
    if (st != AA_SUCCESS) {
        fail_case(state, std::string(b->name) + ": " + status_text(b->ctx, st));
        return;
    }
    if (check(" (timed call)"))
        paa_counters(state, P, a);
}

// "" when the per-segment status and the per-point labels are the CPU fit's.
std::string gmm_diff(const PaaInputs &P, const std::vector<int32_t> &status,
                     const std::vector<int32_t> &labels)
{
    size_t S = P.gmm_status.size(), N = P.gmm_labels.size(), bad_s = 0, bad_p = 0;
    for (size_t k = 0; k < S; ++k)
        bad_s += status[k] != P.gmm_status[k];
    for (size_t k = 0; k < N; ++k)
        bad_p += labels[k] != P.gmm_labels[k];
    if (bad_s == 0 && bad_p == 0)
        return "";
    char msg[200];
    std::snprintf(msg, sizeof msg,
                  "differs from the CPU reference: status of %zu of %zu segments, labels of %zu "
                  "of %zu points",
                  bad_s, S, bad_p, N);
    return msg;
}

// Returns bytes_min: the points (float) and offsets read once, every output of
// aa_gmm_result written once (K components).
double gmm_counters(benchmark::State &state, const std::vector<int32_t> &iterations,
                    const std::vector<int32_t> &status, size_t points, size_t K)
{
    double S = static_cast<double>(status.size()), N = static_cast<double>(points);
    double written = S * (24.0 * static_cast<double>(K) + 8.0 + 4.0 + 4.0) + N * (4.0 + 8.0);
    double bytes_min = written + 4.0 * N + 8.0 * (S + 1.0);
    state.counters["bytes_written"] = written;
    state.counters["bytes_min"] = bytes_min;
    state.counters["segments"] = static_cast<double>(status.size());
    state.counters["points"] = static_cast<double>(points);
    state.counters["max_iterations"] =
        iterations.empty() ? 0 : *std::max_element(iterations.begin(), iterations.end());
    state.counters["converged"] = static_cast<double>(
        std::count(status.begin(), status.end(), AA_GMM_CONVERGED));
    return bytes_min;
}

// gmm_fit/coco-atss on a host backend: every output requested (what a caller of the
// EM gets), status and labels compared with the CPU's fit before and after timing.
void bench_gmm_host(benchmark::State &state, Backend *b)
{
    PaaInputs &P = paa_inputs();
    if (!P.error.empty()) {
        fail_case(state, P.error);
        return;
    }
    const bench_segments &sg = P.seg;
    size_t S = static_cast<size_t>(sg.num_segments), N = P.gmm_labels.size();
    size_t K = static_cast<size_t>(P.gmm.num_components);
    std::vector<double> weights(S * K), means(S * K), variances(S * K), bound(S), density(N);
    std::vector<int32_t> iterations(S), status(S), labels(N);
    aa_gmm_result res{weights.data(), means.data(), variances.data(), bound.data(),
                      iterations.data(), status.data(), labels.data(), density.data()};
    aa_gmm_segments segs{sg.points, sg.offsets, sg.num_segments, nullptr};
    auto check = [&](const char *when) {
        std::string diff = gmm_diff(P, status, labels);
        if (!diff.empty())
            fail_case(state, std::string(b->name) + when + ": " + diff);
        return diff.empty();
    };
    aa_status st = aa_gmm_fit(b->ctx, &P.gmm, &segs, &res, nullptr, 0); // check + warm-up
    if (st != AA_SUCCESS) {
        fail_case(state, std::string(b->name) + ": " + status_text(b->ctx, st));
        return;
    }
    if (!check(""))
        return;
    for (auto _ : state) {
        st = aa_gmm_fit(b->ctx, &P.gmm, &segs, &res, nullptr, 0);
        if (st != AA_SUCCESS)
            break;
        benchmark::DoNotOptimize(labels.data());
        benchmark::ClobberMemory();
    }
    if (st != AA_SUCCESS) {
        fail_case(state, std::string(b->name) + ": " + status_text(b->ctx, st));
        return;
    }
    if (check(" (timed call)"))
        gmm_counters(state, iterations, status, N, static_cast<size_t>(P.gmm.num_components));
}

// ------------------------------------------------------------------ device buffers
//
// cuda and opencl-native: every array of a call in device memory (AA_MEMORY_NATIVE),
// through bench_device.h, so that one piece of code below serves both; PoCL runs it
// where there is no GPU. The inputs are uploaded once per benchmark run (untimed), the
// outputs allocated poisoned; the first call is checked against the CPU reference
// (outputs downloaded) and warms up; then the timed calls (manual time: CUDA events on
// the context's stream after an L2 flush; on OpenCL the wall clock between clFinish
// calls); then the last timed call's outputs are checked again. Every buffer is
// released at the end of the run, also when it fails.

#if AA_BENCH_CUDA
void *g_flush = nullptr; // cudaMemsetAsync before each timed call pushes the inputs out of L2
size_t g_flush_bytes = 0;

std::string cuda_text(cudaError_t e) { return std::string(cudaGetErrorString(e)); }

// The L2 flush buffer: twice the device's L2, at least 8 MiB; "" or why not.
std::string alloc_l2_flush()
{
    int dev = 0, l2 = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev);
    g_flush_bytes = std::max<size_t>(2 * static_cast<size_t>(l2 > 0 ? l2 : 0), size_t(8) << 20);
    if (e == cudaSuccess)
        e = cudaMalloc(&g_flush, g_flush_bytes);
    return e == cudaSuccess ? "" : "L2 flush buffer: " + cuda_text(e);
}
#endif

// The device memory of a backend given device buffers; nullptr with err set if there
// is none.
std::unique_ptr<bench_device::Memory> open_memory(const Backend &b, std::string &err)
{
    void *stream = nullptr;
    aa_status st = aa_context_get_stream(b.ctx, &stream);
    if (st != AA_SUCCESS) {
        err = "aa_context_get_stream: " + status_text(b.ctx, st);
        return nullptr;
    }
#if AA_BENCH_CUDA
    if (b.kind == AA_BACKEND_CUDA) {
        auto m = std::make_unique<bench_device::CudaMemory>(static_cast<cudaStream_t>(stream),
                                                            g_flush, g_flush_bytes);
        if (!m->init(err))
            return nullptr;
        return std::unique_ptr<bench_device::Memory>(std::move(m));
    }
#endif
#if AA_BENCH_OPENCL
    if (b.kind == AA_BACKEND_OPENCL) {
        auto m = std::make_unique<bench_device::OpenclMemory>(
            static_cast<cl_command_queue>(stream));
        if (!m->init(err))
            return nullptr;
        return std::unique_ptr<bench_device::Memory>(std::move(m));
    }
#endif
    (void)stream;
    err = std::string("no device memory for backend ") + b.name + " in this build";
    return nullptr;
}

// The GTs in device memory: boxes, crowd flags, labels (where the host has them) and
// device_offsets; the host offsets stay (they plan the launches).
aa_gts upload_gts(bench_device::Buffers &d, const aa_gts &hg)
{
    size_t G = static_cast<size_t>(num_gts(hg));
    aa_gts g = hg;
    g.boxes = d.upload(hg.boxes, G * 4);
    g.ignore_flags = hg.ignore_flags ? d.upload(hg.ignore_flags, G) : nullptr;
    g.labels = hg.labels ? d.upload(hg.labels, G) : nullptr;
    g.device_offsets = d.upload(hg.offsets, static_cast<size_t>(hg.num_images) + 1);
    return g;
}

// The checked call, the timed loop and the check of the last timed call (above):
// call() makes one call, check() downloads the outputs and returns "" when they are
// the CPU reference's, else why. False after failing the case.
template <class Call, class Check>
bool run_device(benchmark::State &state, const std::string &name, const Backend &b,
                bench_device::Memory &mem, Call call, Check check, int *launches)
{
    std::string err;
    aa_status st = call();
    if (st == AA_SUCCESS)
        mem.finish(err);
    if (st != AA_SUCCESS || !err.empty()) {
        fail_case(state, std::string(b.name) + ": " +
                             (st != AA_SUCCESS ? status_text(b.ctx, st) : err));
        return false;
    }
    std::string diff = check();
    if (!diff.empty()) {
        fail_case(state, std::string(b.name) + ": " + diff);
        return false;
    }
    // 3 profiled calls, 1 where the case is timed with single calls (seconds each)
    std::vector<bench_floor::Stage> stages;
    int profiled = state.max_iterations == 1 ? 1 : 3;
    if (!bench_floor::profile_stages(b.ctx, mem, call, profiled, &stages, err)) {
        fail_case(state, std::string(b.name) + ": " + err);
        return false;
    }
    *launches = static_cast<int>(stages.size());
    StageRecord &r = g_stages[name];
    r.backend = b.name;
    r.stages = stages;
    r.ms.resize(stages.size());
    for (size_t k = 0; k < stages.size(); ++k)
        r.ms[k].push_back(stages[k].ms);
    for (auto _ : state) {
        double seconds = 0.0;
        if (!mem.start(err))
            break;
        st = call();
        if (!mem.stop(&seconds, err) || st != AA_SUCCESS)
            break;
        state.SetIterationTime(seconds);
    }
    if (st != AA_SUCCESS || !err.empty()) {
        fail_case(state, std::string(b.name) + " (timed call): " +
                             (st != AA_SUCCESS ? status_text(b.ctx, st) : err));
        return false;
    }
    diff = check();
    if (!diff.empty()) {
        fail_case(state, std::string(b.name) + " (timed call): " + diff);
        return false;
    }
    return true;
}

// Opens the backend's device memory for a run; nullptr after skipping or failing the
// case.
std::unique_ptr<bench_device::Memory> device_run_memory(benchmark::State &state, Backend &b)
{
    if (!b.ctx || !b.why.empty()) {
        skip_case(state, b.why);
        return nullptr;
    }
    std::string err;
    std::unique_ptr<bench_device::Memory> mem = open_memory(b, err);
    if (mem && !bench_floor::measure(b.ctx, *mem, &b.floor, err))
        mem.reset();
    if (!mem)
        fail_case(state, std::string(b.name) + ": " + err);
    return mem;
}

// A device case's floor (bench_floor.h) beside its time: the measured figures it is
// made of, the call's launches, the floor per call and the fraction of it reached
// (floor / time: 1 is at the floor), and bytes_min over the copy bandwidth as a
// fraction of the time (copy_bw_fraction).
void floor_counters(benchmark::State &state, const Backend &b, int launches, double bytes_min)
{
    const bench_floor::Floor &f = b.floor;
    const char *by = nullptr;
    double floor_s = bench_floor::floor_seconds(f, launches, bytes_min, &by);
    state.counters["launches"] = launches;
    state.counters["copy_GBps"] = f.copy_bytes_per_s * 1e-9;
    state.counters["call_us"] = f.call_s * 1e6;
    state.counters["queued_us"] = f.queued_s * 1e6;
    state.counters["floor_ms"] = floor_s * 1e3;
    state.counters["floor_by_bytes"] = std::strcmp(by, "bytes") == 0 ? 1 : 0;
    // (a value per iteration / the time per iteration)
    state.counters["floor_fraction"] =
        benchmark::Counter(floor_s, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["copy_bw_fraction"] = benchmark::Counter(
        bytes_min / f.copy_bytes_per_s, benchmark::Counter::kIsIterationInvariantRate);
}

// The assigners of bench_cases on device buffers.
void bench_device_case(benchmark::State &state, int case_index, Backend *b)
{
    const bench_case &c = bench_cases[case_index];
    std::unique_ptr<bench_device::Memory> mem = device_run_memory(state, *b);
    if (!mem)
        return;
    const Workload &w = workload(c.workload);
    Reference &ref = reference(case_index);
    if (!ref.error.empty()) {
        fail_case(state, ref.error);
        return;
    }
    const aa_gts &hg = w.batch.gts;
    const aa_anchors &ha = inputs().sets[c.anchors].anchors;
    Shape s = shape_of(c, hg, ha);
    std::string err;
    bench_device::Buffers d(*mem, err);
    aa_anchors a = ha;
    a.boxes = d.upload(ha.boxes, static_cast<size_t>(ha.num_anchors) * 4);
    aa_gts g = upload_gts(d, hg); // (no labels: they are kept aside in Workload)
    int32_t *gi = s.index_elems ? d.poisoned<int32_t>(s.index_elems) : nullptr;
    float *ov = d.poisoned<float>(s.overlap_elems);
    if (!err.empty()) {
        fail_case(state, std::string(b->name) + ": " + err);
        return;
    }
    std::vector<int32_t> hgi(s.index_elems);
    std::vector<float> hov(s.overlap_elems);
    auto call = [&] { return call_case(b->ctx, c, &a, &g, gi, ov); };
    auto check = [&]() -> std::string {
        if (!d.download(hgi, gi) || !d.download(hov, ov))
            return err;
        return compare(ref, hgi.data(), hov.data());
    };
    int launches = 0;
    if (!run_device(state, case_name(case_index, *b), *b, *mem, call, check, &launches))
        return;
    if (!d.release_all(err)) {
        fail_case(state, std::string(b->name) + ": " + err);
        return;
    }
    double bytes_min;
    set_counters(state, c, hg, ha, &bytes_min);
    floor_counters(state, *b, launches, bytes_min);
}

size_t dtype_bytes(aa_dtype t) { return t == AA_FLOAT32 ? 4 : 2; }

// paa/coco-atss or lada/coco-atss on device buffers: anchors, GTs with their labels,
// device_offsets and the head outputs uploaded; gt_index, overlap and labels checked.
void bench_head_device(benchmark::State &state, Backend *b, HeadAssigner which)
{
    std::unique_ptr<bench_device::Memory> mem = device_run_memory(state, *b);
    if (!mem)
        return;
    PaaInputs &P = paa_inputs();
    if (!P.error.empty()) {
        fail_case(state, P.error);
        return;
    }
    const aa_anchors &ha = inputs().sets[AA_WL_ANCHORS_ATSS].anchors;
    const aa_head_outputs &hh = P.head.head;
    size_t rows = P.ref.gt_index.size(); // images x anchors
    size_t esize = dtype_bytes(hh.dtype);
    std::string err;
    bench_device::Buffers d(*mem, err);
    aa_anchors a = ha;
    a.boxes = d.upload(ha.boxes, static_cast<size_t>(ha.num_anchors) * 4);
    aa_gts g = upload_gts(d, P.gts);
    aa_head_outputs h = hh;
    h.cls_logits = d.upload(static_cast<const unsigned char *>(hh.cls_logits),
                            rows * static_cast<size_t>(hh.num_classes) * esize);
    h.bbox_deltas = d.upload(static_cast<const unsigned char *>(hh.bbox_deltas), rows * 4 * esize);
    aa_assignment out{d.poisoned<int32_t>(rows), d.poisoned<float>(rows),
                      d.poisoned<int32_t>(rows)};
    if (!err.empty()) {
        fail_case(state, std::string(b->name) + ": " + err);
        return;
    }
    std::vector<int32_t> gi(rows), lab(rows);
    std::vector<float> ov(rows);
    auto call = [&] { return call_head(which, b->ctx, P, a, g, h, &out); };
    auto check = [&]() -> std::string {
        if (!d.download(gi, out.gt_index) || !d.download(ov, out.overlap) ||
            !d.download(lab, out.labels))
            return err;
        return head_diff(P, which, gi, ov, lab);
    };
    int launches = 0;
    if (!run_device(state, row_name(which == HEAD_LADA ? ROW_LADA : ROW_PAA, *b), *b, *mem, call,
                    check, &launches))
        return;
    if (!d.release_all(err)) {
        fail_case(state, std::string(b->name) + ": " + err);
        return;
    }
    floor_counters(state, *b, launches, paa_counters(state, P, ha));
}

// gmm_fit/coco-atss on device buffers: the points and device_offsets uploaded, every
// output of aa_gmm_result requested in device memory (as bench_gmm_host asks for every
// one on the host); status and labels checked.
void bench_gmm_device(benchmark::State &state, Backend *b)
{
    std::unique_ptr<bench_device::Memory> mem = device_run_memory(state, *b);
    if (!mem)
        return;
    PaaInputs &P = paa_inputs();
    if (!P.error.empty()) {
        fail_case(state, P.error);
        return;
    }
    const bench_segments &sg = P.seg;
    size_t S = static_cast<size_t>(sg.num_segments), N = P.gmm_labels.size();
    size_t K = static_cast<size_t>(P.gmm.num_components);
    std::string err;
    bench_device::Buffers d(*mem, err);
    aa_gmm_segments segs{d.upload(sg.points, N), sg.offsets, sg.num_segments,
                         d.upload(sg.offsets, S + 1)};
    aa_gmm_result res{d.poisoned<double>(S * K), d.poisoned<double>(S * K),
                      d.poisoned<double>(S * K), d.poisoned<double>(S),
                      d.poisoned<int32_t>(S),    d.poisoned<int32_t>(S),
                      d.poisoned<int32_t>(N),    d.poisoned<double>(N)};
    if (!err.empty()) {
        fail_case(state, std::string(b->name) + ": " + err);
        return;
    }
    std::vector<int32_t> iterations(S), status(S), labels(N);
    auto call = [&] { return aa_gmm_fit(b->ctx, &P.gmm, &segs, &res, nullptr, 0); };
    auto check = [&]() -> std::string {
        if (!d.download(status, res.status) || !d.download(labels, res.labels))
            return err;
        return gmm_diff(P, status, labels);
    };
    int launches = 0;
    if (!run_device(state, row_name(ROW_GMM, *b), *b, *mem, call, check, &launches))
        return;
    if (!d.download(iterations, res.iterations) || !d.release_all(err)) {
        fail_case(state, std::string(b->name) + ": " + err);
        return;
    }
    floor_counters(state, *b, launches, gmm_counters(state, iterations, status, N, K));
}

// ------------------------------------------------------------------ the loss-aware rows

void bench_paa(benchmark::State &state, Backend *b)
{
    if (is_device(*b))
        bench_head_device(state, b, HEAD_PAA);
    else
        bench_head(state, b, HEAD_PAA);
}

void bench_lada(benchmark::State &state, Backend *b)
{
    if (is_device(*b))
        bench_head_device(state, b, HEAD_LADA);
    else
        bench_head(state, b, HEAD_LADA);
}

void bench_gmm(benchmark::State &state, Backend *b)
{
    if (is_device(*b))
        bench_gmm_device(state, b);
    else
        bench_gmm_host(state, b);
}

// Why a backend does not run a loss-aware row here ("" if it does). Sets *failure when
// it is an error rather than a feature the backend lacks.
std::string extra_skip(const Backend &b, LossAware row, bool *failure)
{
    *failure = false;
    if (!b.ctx || !b.why.empty())
        return b.why;
    if (row == ROW_GMM || b.kind == AA_BACKEND_CPU)
        return "";
    // On a GPU backend: ask it whether it has the assigner (the query reads host values
    // only, counts and offsets, so the host arrays do for a native context too).
    const Workload &w = workload(BENCH_PAA_WORKLOAD);
    if (!w.loaded)
        return ""; // the case reports the error
    const aa_anchors *anchors = &inputs().sets[AA_WL_ANCHORS_ATSS].anchors;
    size_t bytes = 0;
    aa_status st;
    if (row == ROW_LADA) {
        aa_lada_params p;
        aa_lada_params_init(&p);
        st = aa_lada_workspace_size(b.ctx, &p, anchors, &w.batch.gts, &bytes);
    } else {
        aa_paa_params p;
        aa_paa_params_init(&p);
        st = aa_paa_workspace_size(b.ctx, &p, anchors, &w.batch.gts, &bytes);
    }
    if (st == AA_SUCCESS)
        return "";
    if (st == AA_ERR_NOT_SUPPORTED)
        return std::string("skipped: ") + b.name + ": " + status_text(b.ctx, st);
    *failure = true;
    return std::string(b.name) + ": " + status_text(b.ctx, st);
}

void bench_dispatch(benchmark::State &state, int case_index, Backend *b)
{
    if (is_device(*b))
        bench_device_case(state, case_index, b);
    else
        bench_host(state, case_index, b);
}

std::string cpu_model()
{
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) {
            size_t p = line.find(':');
            if (p != std::string::npos)
                return line.substr(p + 2);
        }
    return "unknown";
}

std::string json_string(const std::string &v)
{
    std::string out = "\"";
    for (char ch : v) {
        unsigned char u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\')
            out += '\\', out += ch;
        else if (u < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", u);
            out += esc;
        } else
            out += ch;
    }
    return out + "\"";
}

// --aa_stages_out: every device case's launches (kernel, least bytes, median time over
// all its profiled calls) and each device backend's floor figures, as JSON for
// bench/report.py ("Kernels against the copy bandwidth"). False when it cannot be
// written.
bool write_stages(const std::string &path, const char *commit)
{
    std::FILE *f = std::fopen(path.c_str(), "w");
    if (!f)
        return false;
    std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    std::fprintf(f, "{\n  \"context\": {\"commit\": %s, \"date\": \"%s\", \"backends\": {",
                 json_string(commit).c_str(), date);
    const char *sep = "";
    for (const Backend &b : backends) {
        if (!is_device(b) || !b.floor.measured)
            continue;
        std::fprintf(f, "%s\n    %s: {\"device\": %s, \"copy_GBps\": %.6g, \"call_us\": %.6g, "
                        "\"queued_us\": %.6g}",
                     sep, json_string(b.name).c_str(), json_string(b.device).c_str(),
                     b.floor.copy_bytes_per_s * 1e-9, b.floor.call_s * 1e6, b.floor.queued_s * 1e6);
        sep = ",";
    }
    std::fprintf(f, "}},\n  \"cases\": [");
    sep = "";
    for (const auto &kv : g_stages) {
        const StageRecord &r = kv.second;
        std::fprintf(f, "%s\n    {\"name\": %s, \"backend\": %s, \"stages\": [", sep,
                     json_string(kv.first).c_str(), json_string(r.backend).c_str());
        for (size_t k = 0; k < r.stages.size(); ++k)
            std::fprintf(f, "%s\n      {\"kernel\": %s, \"ms\": %.6g, \"bytes\": %.17g, "
                            "\"runs\": %zu}",
                         k ? "," : "", json_string(r.stages[k].kernel).c_str(),
                         bench_floor::median(r.ms[k]), r.stages[k].bytes, r.ms[k].size());
        std::fprintf(f, "]}");
        sep = ",";
    }
    std::fprintf(f, "\n  ]\n}\n");
    return std::fclose(f) == 0;
}

bool has_flag(int argc, char **argv, const char *flag)
{
    size_t n = std::strlen(flag);
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], flag, n) == 0 && (argv[i][n] == '=' || argv[i][n] == '\0'))
            return true;
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    // --aa_extreme: also the extreme workload on the host backends (CPU, OpenCL,
    //   opencl-native).
    // --aa_native_all: also the assigners of bench_cases on opencl-native (by default
    //   it runs the loss-aware rows only).
    // --aa_strict: a skipped case (backend not built or without a device, a row it does
    //   not have, not run by default) fails the run too, as does a filter that selects
    //   nothing (the CTest bench.native).
    // --aa_stages_out=FILE: the device cases' kernel launches as JSON (write_stages).
    bool extreme = false, native_all = false, strict = false;
    std::string stages_out;
    static const char stages_flag[] = "--aa_stages_out=";
    std::vector<char *> args;
    args.reserve(static_cast<size_t>(argc) + 3); // argv stays valid as defaults are added
    for (int i = 0; i < argc; ++i) {
        if (i > 0 && std::strcmp(argv[i], "--aa_extreme") == 0)
            extreme = true;
        else if (i > 0 && std::strcmp(argv[i], "--aa_native_all") == 0)
            native_all = true;
        else if (i > 0 && std::strcmp(argv[i], "--aa_strict") == 0)
            strict = true;
        else if (i > 0 && std::strncmp(argv[i], stages_flag, sizeof stages_flag - 1) == 0)
            stages_out = argv[i] + sizeof stages_flag - 1;
        else
            args.push_back(argv[i]);
    }
    argc = static_cast<int>(args.size());
    argv = args.data();
    // Defaults the command line may override.
    static char reps[] = "--benchmark_repetitions=5";
    static char aggr[] = "--benchmark_report_aggregates_only=true";
    if (!has_flag(argc, argv, "--benchmark_repetitions"))
        args.push_back(reps);
    if (!has_flag(argc, argv, "--benchmark_report_aggregates_only") &&
        !has_flag(argc, argv, "--benchmark_display_aggregates_only"))
        args.push_back(aggr);
    int nargs = static_cast<int>(args.size());
    args.push_back(nullptr);
    benchmark::Initialize(&nargs, args.data());
    if (benchmark::ReportUnrecognizedArguments(nargs, args.data()))
        return 1;

    std::string err = make_anchor_sets();
    if (!err.empty()) {
        std::fprintf(stderr, "bench_assign: anchor sets: %s\n", err.c_str());
        return 1;
    }
    for (Backend &b : backends)
        open_backend(b);
    if (!backends[0].ctx) {
        std::fprintf(stderr, "bench_assign: %s\n", backends[0].why.c_str());
        return 1;
    }
#if AA_BENCH_CUDA
    if (backends[2].ctx) {
        std::string e = alloc_l2_flush();
        if (!e.empty())
            backends[2].why = "cuda: " + e;
    }
#endif

    benchmark::AddCustomContext("anchorassign_version", aa_version_string());
    benchmark::AddCustomContext("cpu_model", cpu_model());
    const char *commit = std::getenv("AA_BENCH_COMMIT");
    benchmark::AddCustomContext("commit", commit && *commit ? commit : "unknown");
    benchmark::AddCustomContext("synthetic_seed", std::to_string(AA_WL_SYNTH_SEED));
    for (Backend &b : backends)
        benchmark::AddCustomContext(std::string("backend_") + b.name,
                                    b.ctx ? b.device : b.why);
    for (int w = 0; w < BENCH_NUM_WORKLOADS; ++w)
        benchmark::AddCustomContext(std::string("workload_") + bench_workloads[w].name,
                                    bench_workloads[w].what);

    for (int c = 0; c < BENCH_NUM_CASES; ++c)
        for (Backend &b : backends) {
            if (is_device(b) && b.kind == AA_BACKEND_OPENCL && !native_all)
                continue; // opencl-native: the loss-aware rows only, by default
            std::string name = case_name(c, b);
            bool heavy = bench_cases[c].workload == BENCH_EXTREME && b.kind != AA_BACKEND_CUDA;
            // Cases that will not run: one skipped entry (not one per repetition) that
            // says why.
            std::string skip;
            if (!b.ctx || !b.why.empty())
                skip = b.why;
            else if (heavy && !extreme)
                skip = "not run by default: seconds to minutes per call on a host backend; "
                       "add --aa_extreme";
            if (!skip.empty()) {
                benchmark::RegisterBenchmark(name.c_str(),
                                             [skip](benchmark::State &state) {
                                                 skip_case(state, skip);
                                             })
                    ->Repetitions(1)
                    ->Iterations(1);
                continue;
            }
            auto *bm = benchmark::RegisterBenchmark(name.c_str(), bench_dispatch, c, &b);
            bm->Unit(benchmark::kMillisecond);
            if (is_device(b))
                bm->UseManualTime(); // bench_device.h: CUDA events; OpenCL clFinish to clFinish
            else
                bm->UseRealTime(); // PoCL computes on worker threads
            if (heavy) // 3 single calls, whatever the command line says
                bm->Repetitions(3)->Iterations(1);
        }
    // paa/, gmm_fit/ and lada/coco-atss on every backend.
    for (LossAware row : {ROW_PAA, ROW_GMM, ROW_LADA})
        for (Backend &b : backends) {
            std::string name = row_name(row, b);
            bool failure = false;
            std::string skip = extra_skip(b, row, &failure);
            if (!skip.empty()) {
                benchmark::RegisterBenchmark(name.c_str(),
                                             [skip, failure](benchmark::State &state) {
                                                 if (failure)
                                                     fail_case(state, skip);
                                                 else
                                                     skip_case(state, skip);
                                             })
                    ->Repetitions(1)
                    ->Iterations(1);
                continue;
            }
            auto *bm = benchmark::RegisterBenchmark(
                name.c_str(), row == ROW_PAA ? bench_paa : row == ROW_GMM ? bench_gmm : bench_lada, &b);
            bm->Unit(benchmark::kMillisecond);
            if (is_device(b))
                bm->UseManualTime();
            else
                bm->UseRealTime();
        }
    size_t ran = benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (!stages_out.empty() && !write_stages(stages_out, commit && *commit ? commit : "unknown")) {
        std::fprintf(stderr, "bench_assign: --aa_stages_out: cannot write %s\n", stages_out.c_str());
        ++g_failures;
    }
    for (Backend &b : backends)
        aa_context_destroy(b.ctx);
#if AA_BENCH_CUDA
    cudaError_t flush_freed = g_flush ? cudaFree(g_flush) : cudaSuccess;
    if (flush_freed != cudaSuccess) {
        std::fprintf(stderr, "bench_assign: cudaFree (L2 flush buffer): %s\n",
                     cuda_text(flush_freed).c_str());
        ++g_failures;
    }
#endif
    if (g_failures)
        std::fprintf(stderr, "bench_assign: %d case(s) failed (see error_message)\n", g_failures);
    if (strict && g_skips)
        std::fprintf(stderr, "bench_assign: --aa_strict: %d case(s) skipped (see error_message)\n",
                     g_skips);
    if (strict && ran == 0)
        std::fprintf(stderr, "bench_assign: --aa_strict: the filter selects no case\n");
    aa_wl_head_free(&g_paa.head);
    bench_segments_free(&g_paa.seg);
    for (aa_wl_anchor_set &s : inputs().sets)
        aa_wl_anchor_set_free(&s);
    for (Workload &w : inputs().workloads) {
        aa_wl_batch_free(&w.batch);
        aa_wl_dataset_free(&w.ds);
    }
    return g_failures || (strict && (g_skips || ran == 0)) ? 1 : 0;
}
