/* cuda_backend.cu - the CUDA backend: the kernels of kernels/ compiled by nvcc
 * (this is their one CUDA translation unit; -Xptxas=-v reports each kernel's
 * registers, spills and shared memory), launched from the same host plans as the
 * OpenCL backend (host/plan.c), on the context's stream. Every CUDA call and
 * launch is checked. The context's device is made current for each call and the
 * caller's current device restored afterwards. No host synchronisation except in
 * AA_MEMORY_HOST mode, whose calls return with the results in host memory. */
extern "C" {
#include "internal.h"
#include "plan.h"
#include "traffic.h"
}
#include "alloc.h"
#include "cuda_backend.h"
#include "inject.h"

#include "../../kernels/atss.h"
#include "../../kernels/fcos.h"
#include "../../kernels/gmm.h"
#include "../../kernels/max_iou.h"
#include "../../kernels/paa.h"
#include "../../kernels/lada.h"
#include "../../kernels/overlaps.h"

#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h> /* header-only; free when no tool is attached */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Device buffers of AA_MEMORY_HOST calls, one per argument role, and the context's
 * own workspace; grown, never shrunk, so the steady state allocates nothing. */
enum {
    SLOT_ANCHORS, SLOT_GTS, SLOT_OFFSETS, SLOT_FLAGS, SLOT_LABELS, SLOT_CANDIDATES,
    SLOT_OUT_INDEX, SLOT_OUT_OVERLAP, SLOT_OUT_LABELS,
    SLOT_POINTS, SLOT_INIT_WEIGHTS, SLOT_INIT_MEANS, SLOT_INIT_PRECISIONS, /* Gaussian mixtures */
    SLOT_GMM_WEIGHTS, SLOT_GMM_MEANS, SLOT_GMM_VARIANCES, SLOT_GMM_BOUND, SLOT_GMM_ITERATIONS,
    SLOT_GMM_STATUS, SLOT_GMM_LABELS, SLOT_GMM_DENSITY,
    SLOT_PAA_LOGITS, SLOT_PAA_DELTAS, SLOT_PAA_PRE, SLOT_PAA_COSTS, /* PAA */
    SLOT_WORKSPACE, NUM_SLOTS
};

struct aa_cuda {
    int device;
    cudaStream_t stream; /* the caller's; 0 (the legacy default stream) until set */
    cudaEvent_t switched; /* orders a new stream after the old one (set_stream) */
    void *slot[NUM_SLOTS];
    size_t slot_bytes[NUM_SLOTS];
    void *results;        /* AA_MEMORY_HOST: the results of a call, copied back here */
    size_t results_bytes; /* before they reach the caller's arrays (read_results) */
    /* stage timing (aa_context_profile): an event before each launch and one at the end */
    cudaEvent_t stage_event[AA_MAX_STAGES + 1];
    int stage_events;        /* created so far (aa__cuda_profile) */
    const char *stage_name[AA_MAX_STAGES];
    double stage_bytes[AA_MAX_STAGES]; /* each launch's least bytes (host/traffic.h) */
    int stage_count;         /* launches of the current call */
    cudaError_t stage_error; /* the first failed record of the call */
    int nvtx_stage_open;     /* a launch's NVTX range is open */
    char device_name[256];
};

/* A failed CUDA call or launch: records "CUDA <what><name>: <error>". The runtime
 * keeps the error of a failed call as its "last error", which the next launch check
 * (cudaGetLastError) would report as its own: cleared here, so a recoverable
 * failure (out of memory, a bad argument) leaves the context usable.
 * cudaErrorMemoryAllocation gives AA_ERR_OUT_OF_MEMORY. A sticky error (a kernel
 * fault) corrupts the device's CUDA context for the whole process: the message says
 * so, and every later call on the context fails the same way. */
static aa_status cuda_failed(aa_context *ctx, cudaError_t e, aa_status status, const char *what,
                             const char *name)
{
    (void)cudaGetLastError();
    int sticky = e == cudaErrorIllegalAddress || e == cudaErrorLaunchTimeout ||
                 e == cudaErrorHardwareStackError || e == cudaErrorIllegalInstruction ||
                 e == cudaErrorMisalignedAddress || e == cudaErrorInvalidAddressSpace ||
                 e == cudaErrorInvalidPc || e == cudaErrorLaunchFailure ||
                 e == cudaErrorECCUncorrectable || e == cudaErrorAssert;
    if (e == cudaErrorMemoryAllocation) status = AA_ERR_OUT_OF_MEMORY;
    if (sticky) status = AA_ERR_BACKEND;
    return aa__fail(ctx, status, "CUDA %s%s: %s (%s)%s", what, name, cudaGetErrorName(e),
                    cudaGetErrorString(e),
                    sticky ? "; the device's CUDA context is lost (a sticky error): this "
                             "aa_context cannot be used again, destroy it"
                           : "");
}

/* e = a runtime call of `kind`: the test hook's error if it injects one (host/inject.h;
 * the call is not made), else the call's own result. */
#define CUDA_RUN(e, kind, call)                                                              \
    do {                                                                                     \
        (e) = (cudaError_t)aa__inject_error(kind);                                           \
        if ((e) == cudaSuccess) (e) = (call);                                                \
    } while (0)

#define CUDA_CHECK(ctx, call, status)                                                        \
    do {                                                                                     \
        cudaError_t e_ = (call);                                                             \
        if (e_ != cudaSuccess) return cuda_failed(ctx, e_, status, #call, "");               \
    } while (0)

/* Makes the context's device current for one call and restores the caller's. */
struct device_guard {
    int previous, ok;
    explicit device_guard(int device) : previous(0), ok(0)
    {
        if (cudaGetDevice(&previous) == cudaSuccess && cudaSetDevice(device) == cudaSuccess) ok = 1;
    }
    ~device_guard()
    {
        if (ok) cudaSetDevice(previous);
    }
};

static aa_status guard_failed(aa_context *ctx)
{
    cudaError_t e = cudaGetLastError();
    return aa__fail(ctx, AA_ERR_BACKEND, "CUDA cudaSetDevice(%d): %s", ctx->device, cudaGetErrorString(e));
}

aa_status aa__cuda_create(aa_context *ctx, int device)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0)
        return aa__fail(ctx, AA_ERR_NO_DEVICE, "CUDA: no usable device (cudaGetDeviceCount: %s)",
                        e == cudaSuccess ? "0 devices" : cudaGetErrorString(e));
    if (device >= count)
        return aa__fail(ctx, AA_ERR_NO_DEVICE, "CUDA device %d: only %d device(s)", device, count);
    aa_cuda *c = (aa_cuda *)aa__calloc(1, sizeof *c);
    if (!c)
        return aa__fail(ctx, AA_ERR_OUT_OF_MEMORY,
                        "CUDA: could not allocate the backend state (%zu bytes of host memory)",
                        sizeof *c);
    c->device = device;
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess) {
        aa__free(c);
        (void)cudaGetLastError();
        return aa__fail(ctx, AA_ERR_BACKEND, "CUDA cudaGetDeviceProperties(%d): %s", device,
                        cudaGetErrorString(e));
    }
    snprintf(c->device_name, sizeof c->device_name, "%s (sm_%d%d)", prop.name, prop.major, prop.minor);
    ctx->cuda = c;
    return AA_SUCCESS;
}

void aa__cuda_destroy(aa_context *ctx)
{
    aa_cuda *c = ctx->cuda;
    if (!c) return;
    device_guard guard(c->device);
    if (guard.ok) {
        cudaStreamSynchronize(c->stream); /* nothing of ours may still use the slots */
        for (int s = 0; s < NUM_SLOTS; ++s) cudaFree(c->slot[s]);
        if (c->switched) cudaEventDestroy(c->switched);
        for (int i = 0; i < c->stage_events; ++i) cudaEventDestroy(c->stage_event[i]);
    }
    aa__free(c->results);
    aa__free(c);
    ctx->cuda = NULL;
}

/* A new stream waits on the GPU for the work queued on the old one: the context's
 * buffers and workspace are reused across calls, so two calls on two streams must
 * not overlap. No host synchronisation. */
aa_status aa__cuda_set_stream(aa_context *ctx, void *stream)
{
    aa_cuda *c = ctx->cuda;
    cudaStream_t next = (cudaStream_t)stream;
    if (next == c->stream) return AA_SUCCESS;
    device_guard guard(c->device);
    if (!guard.ok) return guard_failed(ctx);
    if (!c->switched) CUDA_CHECK(ctx, cudaEventCreateWithFlags(&c->switched, cudaEventDisableTiming), AA_ERR_BACKEND);
    CUDA_CHECK(ctx, cudaEventRecord(c->switched, c->stream), AA_ERR_BACKEND);
    CUDA_CHECK(ctx, cudaStreamWaitEvent(next, c->switched, 0), AA_ERR_INVALID_ARGUMENT);
    c->stream = next;
    return AA_SUCCESS;
}

const char *aa__cuda_device_name(const aa_context *ctx)
{
    return ctx->cuda ? ctx->cuda->device_name : "";
}

/* ---------------------------------------------------------------- memory */

static aa_status stage(aa_context *ctx, int s, size_t bytes, void **mem)
{
    aa_cuda *c = ctx->cuda;
    if (bytes == 0) bytes = 16;
    if (c->slot_bytes[s] < bytes) {
        /* the old buffer may still be read by queued work of this stream */
        CUDA_CHECK(ctx, cudaStreamSynchronize(c->stream), AA_ERR_BACKEND);
        cudaFree(c->slot[s]);
        c->slot[s] = NULL;
        c->slot_bytes[s] = 0;
        /* the hook (alloc.h) simulates the runtime's out of memory, without calling it */
        cudaError_t e = aa__alloc_should_fail() ? cudaErrorMemoryAllocation
                                                : cudaMalloc(&c->slot[s], bytes);
        if (e != cudaSuccess) {
            c->slot[s] = NULL; /* a failed grow leaves the slot empty, never stale */
            char what[96];
            snprintf(what, sizeof what, "cudaMalloc(%zu bytes, %s)", bytes,
                     s == SLOT_WORKSPACE ? "the context's device workspace"
                                         : "a staging buffer of AA_MEMORY_HOST");
            return cuda_failed(ctx, e, AA_ERR_BACKEND, what, "");
        }
        c->slot_bytes[s] = bytes;
    }
    *mem = c->slot[s];
    return AA_SUCCESS;
}

static aa_status input(aa_context *ctx, int s, const void *ptr, size_t bytes, const void **mem)
{
    if (!ptr || ctx->memory != AA_MEMORY_HOST) {
        *mem = ptr;
        return AA_SUCCESS;
    }
    void *dev;
    aa_status st = stage(ctx, s, bytes, &dev);
    if (st != AA_SUCCESS) return st;
    if (bytes) {
        /* from pageable memory the copy has left `ptr` when it returns, failed or not */
        cudaError_t e;
        CUDA_RUN(e, AA__INJECT_WRITE, cudaMemcpyAsync(dev, ptr, bytes, cudaMemcpyHostToDevice, ctx->cuda->stream));
        if (e != cudaSuccess) {
            char what[96];
            snprintf(what, sizeof what, "cudaMemcpyAsync(%zu bytes, an input of AA_MEMORY_HOST)", bytes);
            return cuda_failed(ctx, e, AA_ERR_BACKEND, what, "");
        }
    }
    *mem = dev;
    return AA_SUCCESS;
}

static aa_status output(aa_context *ctx, int s, void *ptr, size_t bytes, void **mem)
{
    if (!ptr || ctx->memory != AA_MEMORY_HOST) {
        *mem = ptr;
        return AA_SUCCESS;
    }
    return stage(ctx, s, bytes, mem);
}

/* ---------------------------------------------------------------- stages */

/* Before each launch: its NVTX range (closing the previous one) and, when profiling,
 * an event on the stream and the launch's least bytes; a failed record is reported at
 * the call's end. */
static void stage(aa_context *ctx, const char *kernel, double bytes)
{
    aa_cuda *c = ctx->cuda;
    if (c->nvtx_stage_open) nvtxRangePop();
    nvtxRangePushA(kernel);
    c->nvtx_stage_open = 1;
    if (!ctx->profile || c->stage_count >= AA_MAX_STAGES || c->stage_count >= c->stage_events) return;
    cudaError_t e = cudaEventRecord(c->stage_event[c->stage_count], c->stream);
    if (e != cudaSuccess && c->stage_error == cudaSuccess) c->stage_error = e;
    c->stage_bytes[c->stage_count] = bytes;
    c->stage_name[c->stage_count++] = kernel;
}

/* After the last launch (read_results): closes the launch's NVTX range and, when
 * profiling, waits for an end event and records each launch's time (the interval from
 * its event to the next). */
static aa_status stages_end(aa_context *ctx)
{
    aa_cuda *c = ctx->cuda;
    if (c->nvtx_stage_open) nvtxRangePop();
    c->nvtx_stage_open = 0;
    int n = c->stage_count;
    cudaError_t e = c->stage_error;
    c->stage_count = 0;
    c->stage_error = cudaSuccess;
    if (!ctx->profile || n == 0) return AA_SUCCESS;
    if (e == cudaSuccess) e = cudaEventRecord(c->stage_event[n], c->stream);
    if (e == cudaSuccess) e = cudaEventSynchronize(c->stage_event[n]);
    for (int i = 0; e == cudaSuccess && i < n; ++i) {
        float ms = 0;
        e = cudaEventElapsedTime(&ms, c->stage_event[i], c->stage_event[i + 1]);
        if (e == cudaSuccess) aa__stage_add(ctx, c->stage_name[i], ms, c->stage_bytes[i]);
    }
    if (e != cudaSuccess) return cuda_failed(ctx, e, AA_ERR_BACKEND, "stage timing (cudaEvent)", "");
    return AA_SUCCESS;
}

/* One call's scope: its NVTX range ("anchorassign <call>"), and no stage left over
 * from a call that failed before its end. */
struct call_scope {
    aa_cuda *c;
    call_scope(aa_context *ctx, const char *func) : c(ctx->cuda)
    {
        char name[64];
        const char *prefix = "aa__cuda_";
        snprintf(name, sizeof name, "anchorassign %s",
                 strncmp(func, prefix, strlen(prefix)) == 0 ? func + strlen(prefix) : func);
        nvtxRangePushA(name);
        c->stage_count = 0;
        c->stage_error = cudaSuccess;
    }
    ~call_scope()
    {
        if (c->nvtx_stage_open) nvtxRangePop();
        c->nvtx_stage_open = 0;
        nvtxRangePop();
    }
};

static aa_status aa__cuda_profile(aa_context *ctx, int on)
{
    aa_cuda *c = ctx->cuda;
    if (!on) return AA_SUCCESS;
    device_guard guard(c->device);
    if (!guard.ok) return guard_failed(ctx);
    for (; c->stage_events < AA_MAX_STAGES + 1; ++c->stage_events)
        CUDA_CHECK(ctx, cudaEventCreate(&c->stage_event[c->stage_events]), AA_ERR_BACKEND);
    return AA_SUCCESS;
}

/* One result of an AA_MEMORY_HOST call: device buffer, the caller's array. */
struct cuda_result {
    const void *dev;
    void *dst;
    size_t bytes;
};

/* Host-memory mode: the call's results into the caller's arrays, returning when they
 * are there (the call's promise). Several results are first copied into the context's
 * host buffer and reach the caller only after every copy and the wait succeeded, so a
 * failure writes no output (a copy to pageable memory completes before it returns:
 * straight into the caller's arrays, a later failure would leave the earlier ones
 * written). One result goes straight to the caller's array. Native mode: no copy.
 * Every call ends here, so the launches' stages (NVTX, profiling) end here too. */
static aa_status read_results(aa_context *ctx, const cuda_result *r, int n)
{
    aa_status st = stages_end(ctx);
    if (st != AA_SUCCESS || ctx->memory != AA_MEMORY_HOST) return st;
    aa_cuda *c = ctx->cuda;
    size_t total = 0;
    int wanted = 0;
    for (int i = 0; i < n; ++i)
        if (r[i].dst && r[i].bytes) total += r[i].bytes, ++wanted;
    cudaError_t e;
    if (wanted > 1 && c->results_bytes < total) { /* grown, never shrunk */
        aa__free(c->results);
        c->results_bytes = 0;
        c->results = aa__malloc(total);
        if (!c->results)
            return aa__fail(ctx, AA_ERR_OUT_OF_MEMORY,
                            "CUDA: could not allocate %zu bytes of host memory for the results", total);
        c->results_bytes = total;
    }
    size_t at = 0;
    for (int i = 0; i < n; ++i) {
        if (!r[i].dst || !r[i].bytes) continue;
        void *to = wanted == 1 ? r[i].dst : (char *)c->results + at;
        CUDA_RUN(e, AA__INJECT_READ, cudaMemcpyAsync(to, r[i].dev, r[i].bytes, cudaMemcpyDeviceToHost, c->stream));
        if (e != cudaSuccess) {
            char what[96];
            snprintf(what, sizeof what, "cudaMemcpyAsync(%zu bytes, a result of AA_MEMORY_HOST)", r[i].bytes);
            return cuda_failed(ctx, e, AA_ERR_BACKEND, what, "");
        }
        at += r[i].bytes;
    }
    CUDA_RUN(e, AA__INJECT_FINISH, cudaStreamSynchronize(c->stream));
    if (e != cudaSuccess)
        return cuda_failed(ctx, e, AA_ERR_BACKEND, "cudaStreamSynchronize(the results of AA_MEMORY_HOST)", "");
    if (wanted < 2) return AA_SUCCESS;
    at = 0;
    for (int i = 0; i < n; ++i) {
        if (!r[i].dst || !r[i].bytes) continue;
        memcpy(r[i].dst, (const char *)c->results + at, r[i].bytes);
        at += r[i].bytes;
    }
    return AA_SUCCESS;
}

/* Host-memory mode: one output back (read_results). */
static aa_status finish_output(aa_context *ctx, const void *dev, void *ptr, size_t bytes)
{
    cuda_result r = {dev, ptr, bytes};
    return read_results(ctx, &r, 1);
}

static aa_status workspace(aa_context *ctx, size_t bytes, void *user, size_t user_bytes, char **mem)
{
    if (user) {
        aa_status st = aa__gpu_workspace_check(ctx, bytes, user, user_bytes);
        if (st == AA_SUCCESS) *mem = (char *)user;
        return st;
    }
    return stage(ctx, SLOT_WORKSPACE, bytes, (void **)mem);
}

static aa_status aa__cuda_reserve(aa_context *ctx, size_t bytes)
{
    device_guard guard(ctx->cuda->device);
    if (!guard.ok) return guard_failed(ctx);
    void *unused;
    return stage(ctx, SLOT_WORKSPACE, bytes, &unused);
}

/* Checks a launch (configuration errors come back at once). */
static aa_status launched(aa_context *ctx, const char *kernel)
{
    cudaError_t e;
    CUDA_RUN(e, AA__INJECT_LAUNCH, cudaGetLastError());
    if (e != cudaSuccess) return cuda_failed(ctx, e, AA_ERR_BACKEND, "launch of ", kernel);
    return AA_SUCCESS;
}

static dim3 grid_of(const aa_launch &p) { return dim3((unsigned)p.groups_x, (unsigned)p.groups_y, 1); }

/* ---------------------------------------------------------------- batch arrays */

struct cuda_batch {
    const float *anchors, *gts;
    const aa_i64 *offsets;
    const aa_u8 *flags;
    const aa_i32 *labels;
    aa_i32 *out_index, *out_labels;
    float *out_overlap;
};

static aa_status batch_arrays(aa_context *ctx, const aa_batch *b, const aa_assignment *out, cuda_batch *m)
{
    const aa_gts *g = b->gts;
    size_t n_gts = (size_t)b->total_gts, n_out = (size_t)(b->num_images * b->num_anchors);
    const int64_t *offsets = ctx->memory == AA_MEMORY_HOST ? g->offsets : g->device_offsets;
    if (!offsets)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "gts.device_offsets: NULL; the CUDA kernels read the offsets from device "
                        "memory (or use AA_MEMORY_HOST)");
    const void *p;
    void *q;
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &p);
    m->anchors = (const float *)p;
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, g->boxes, n_gts * 16, &p), m->gts = (const float *)p;
    if (st == AA_SUCCESS)
        st = input(ctx, SLOT_OFFSETS, offsets, (size_t)(b->num_images + 1) * 8, &p), m->offsets = (const aa_i64 *)p;
    if (st == AA_SUCCESS) st = input(ctx, SLOT_FLAGS, g->ignore_flags, n_gts, &p), m->flags = (const aa_u8 *)p;
    if (st == AA_SUCCESS) st = input(ctx, SLOT_LABELS, g->labels, n_gts * 4, &p), m->labels = (const aa_i32 *)p;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_INDEX, out->gt_index, n_out * 4, &q), m->out_index = (aa_i32 *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_OVERLAP, out->overlap, n_out * 4, &q), m->out_overlap = (float *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_LABELS, out->labels, n_out * 4, &q), m->out_labels = (aa_i32 *)q;
    return st;
}

static aa_status finish_assignment(aa_context *ctx, const aa_batch *b, const aa_assignment *out,
                                   const cuda_batch *m)
{
    size_t bytes = (size_t)(b->num_images * b->num_anchors) * 4;
    const cuda_result r[] = {{m->out_index, out->gt_index, bytes},
                             {m->out_overlap, out->overlap, bytes},
                             {m->out_labels, out->labels, bytes}};
    return read_results(ctx, r, 3);
}


#define GUARD(ctx)                                                                            \
    device_guard guard((ctx)->cuda->device);                                                  \
    if (!guard.ok) return guard_failed(ctx);                                                  \
    call_scope scope(ctx, __func__)

/* ---------------------------------------------------------------- calls */

static aa_status aa__cuda_overlaps(aa_context *ctx, aa_overlap_mode mode, float eps, const aa_batch *b, float *out)
{
    GUARD(ctx);
    aa_launch plan = aa__plan_elementwise(b->num_anchors * b->total_gts);
    if (plan.groups_x == 0) return AA_SUCCESS;
    size_t out_bytes = (size_t)(b->num_anchors * b->total_gts) * sizeof(float);
    const void *anchors, *gts;
    void *dst;
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, b->gts->boxes, (size_t)b->total_gts * 16, &gts);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_OVERLAP, out, out_bytes, &dst);
    if (st != AA_SUCCESS) return st;
    stage(ctx, "aa_overlaps_kernel", aa__bytes_overlaps(b));
    aa_overlaps_kernel<<<grid_of(plan), plan.local_size, 0, ctx->cuda->stream>>>(
        (const float *)anchors, b->num_anchors, (const float *)gts, b->total_gts, (aa_i32)mode, eps, (float *)dst);
    st = launched(ctx, "aa_overlaps_kernel");
    if (st == AA_SUCCESS) st = finish_output(ctx, dst, out, out_bytes);
    return st;
}

static aa_status aa__cuda_fcos(aa_context *ctx, const aa_fcos_params *p, const aa_batch *b, const aa_assignment *out)
{
    GUARD(ctx);
    cuda_batch m;
    aa_launch plan = aa__plan_per_image(b->num_anchors, b->num_images);
    if (plan.groups_x == 0) return AA_SUCCESS;
    aa_status st = batch_arrays(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_levels lv = aa__plan_levels(b, p->regress_lo, p->regress_hi);
    stage(ctx, "aa_fcos_kernel", aa__bytes_fcos(b, aa__bytes_outputs(out)));
    aa_fcos_kernel<<<grid_of(plan), plan.local_size, 0, ctx->cuda->stream>>>(
        m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, m.flags, m.labels, lv,
        p->center_sampling, p->center_sample_radius, m.out_index, m.out_overlap, m.out_labels);
    st = launched(ctx, "aa_fcos_kernel");
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

static size_t aa__cuda_max_iou_ws_bytes(const aa_batch *b)
{
    aa_max_iou_ws lay;
    return aa__plan_max_iou_ws(b->num_images, b->num_anchors, b->total_gts, &lay);
}

static aa_status aa__cuda_max_iou(aa_context *ctx, const aa_max_iou_params *p, const aa_batch *b,
                           const aa_assignment *out, void *user_ws, size_t user_ws_bytes)
{
    GUARD(ctx);
    cuda_batch m;
    char *ws;
    aa_max_iou_ws lay;
    size_t ws_bytes = aa__plan_max_iou_ws(b->num_images, b->num_anchors, b->total_gts, &lay);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_arrays(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_max_iou_args args = aa__plan_max_iou_args(p);
    cudaStream_t s = ctx->cuda->stream;
    stage(ctx, "aa_max_iou_anchor_kernel", aa__bytes_max_iou_anchor(b));
    aa_max_iou_anchor_kernel<<<grid_of(per_image), per_image.local_size, 0, s>>>(
        m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, m.flags, args, ws, lay);
    st = launched(ctx, "aa_max_iou_anchor_kernel");
    if (st == AA_SUCCESS && p->match_low_quality) {
        aa_launch per_gt = aa__plan_per_gt(b->total_gts);
        if (per_gt.groups_x > 0) {
            stage(ctx, "aa_max_iou_gt_kernel", aa__bytes_max_iou_gt(b));
            aa_max_iou_gt_kernel<<<grid_of(per_gt), per_gt.local_size, 0, s>>>(
                m.anchors, b->num_anchors, m.gts, b->total_gts, m.offsets, b->num_images, m.flags,
                p->eps, ws, lay);
            st = launched(ctx, "aa_max_iou_gt_kernel");
        }
    }
    if (st == AA_SUCCESS) {
        stage(ctx, "aa_max_iou_assign_kernel", aa__bytes_max_iou_assign(b, p->match_low_quality, aa__bytes_outputs(out)));
        aa_max_iou_assign_kernel<<<grid_of(per_image), per_image.local_size, 0, s>>>(
            m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, m.flags, m.labels, args, ws,
            lay, m.out_index, m.out_overlap, m.out_labels);
        st = launched(ctx, "aa_max_iou_assign_kernel");
    }
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

static size_t aa__cuda_atss_ws_bytes(const aa_atss_params *p, const aa_batch *b)
{
    aa_atss_ws lay;
    return aa__plan_atss_ws(b->num_images, b->num_anchors, b->total_gts, b->num_levels, p->topk, &lay);
}

static aa_status aa__cuda_atss(aa_context *ctx, const aa_atss_params *p, const aa_batch *b,
                        const aa_assignment *out, void *user_ws, size_t user_ws_bytes)
{
    GUARD(ctx);
    cuda_batch m;
    char *ws;
    aa_atss_ws lay;
    size_t ws_bytes = aa__plan_atss_ws(b->num_images, b->num_anchors, b->total_gts, b->num_levels,
                                       p->topk, &lay);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_arrays(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_atss_args args = aa__plan_atss_args(p, 1);
    aa_levels lv = aa__plan_levels(b, NULL, NULL);
    cudaStream_t s = ctx->cuda->stream;
    stage(ctx, "aa_atss_prepare_kernel", aa__bytes_atss_prepare(b));
    aa_atss_prepare_kernel<<<grid_of(per_image), per_image.local_size, 0, s>>>(
        m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, m.flags, args, ws, lay);
    st = launched(ctx, "aa_atss_prepare_kernel");
    aa_launch per_pair = aa__plan_per_gt(b->total_gts * b->num_levels);
    if (st == AA_SUCCESS && per_pair.groups_x > 0) {
        stage(ctx, "aa_atss_topk_kernel", aa__bytes_atss_topk(b, p->topk));
        aa_atss_topk_kernel<<<grid_of(per_pair), per_pair.local_size, 0, s>>>(
            m.anchors, b->num_anchors, m.gts, b->total_gts, m.offsets, b->num_images, m.flags, lv,
            args, ws, lay.state, ws, lay.candidates);
        st = launched(ctx, "aa_atss_topk_kernel");
    }
    aa_launch per_gt = aa__plan_elementwise(b->total_gts);
    if (st == AA_SUCCESS && per_gt.groups_x > 0) {
        stage(ctx, "aa_atss_select_kernel", aa__bytes_atss_select(b, p->topk));
        aa_atss_select_kernel<<<grid_of(per_gt), per_gt.local_size, 0, s>>>(
            m.anchors, b->num_anchors, m.gts, b->total_gts, m.offsets, b->num_images, m.flags,
            b->num_levels, args, ws, lay);
        st = launched(ctx, "aa_atss_select_kernel");
    }
    aa_launch per_out = aa__plan_elementwise(b->num_images * b->num_anchors);
    if (st == AA_SUCCESS) {
        stage(ctx, "aa_atss_assign_kernel", aa__bytes_atss_assign(b, aa__bytes_outputs(out)));
        aa_atss_assign_kernel<<<grid_of(per_out), per_out.local_size, 0, s>>>(
            b->num_anchors, m.offsets, b->num_images, m.labels, ws, lay, m.out_index, m.out_overlap,
            m.out_labels);
        st = launched(ctx, "aa_atss_assign_kernel");
    }
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

static aa_status aa__cuda_topk_nearest(aa_context *ctx, int32_t topk, const aa_batch *b, int32_t *candidates)
{
    GUARD(ctx);
    size_t bytes = (size_t)b->total_gts * (size_t)b->num_levels * (size_t)topk * sizeof(int32_t);
    aa_launch plan = aa__plan_per_gt(b->total_gts * b->num_levels);
    if (plan.groups_x == 0) return AA_SUCCESS;
    const int64_t *off = ctx->memory == AA_MEMORY_HOST ? b->gts->offsets : b->gts->device_offsets;
    if (!off)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "gts.device_offsets: NULL; the CUDA kernels read the offsets from device "
                        "memory (or use AA_MEMORY_HOST)");
    const void *anchors, *gts, *offsets;
    void *dst;
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, b->gts->boxes, (size_t)b->total_gts * 16, &gts);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_OFFSETS, off, (size_t)(b->num_images + 1) * 8, &offsets);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_CANDIDATES, candidates, bytes, &dst);
    if (st != AA_SUCCESS) return st;
    aa_atss_args args;
    memset(&args, 0, sizeof args);
    args.topk = topk;
    aa_levels lv = aa__plan_levels(b, NULL, NULL);
    stage(ctx, "aa_atss_topk_kernel", aa__bytes_topk_nearest(b, topk));
    aa_atss_topk_kernel<<<grid_of(plan), plan.local_size, 0, ctx->cuda->stream>>>(
        (const float *)anchors, b->num_anchors, (const float *)gts, b->total_gts,
        (const aa_i64 *)offsets, b->num_images, NULL, lv, args, NULL, -1, (char *)dst, 0);
    st = launched(ctx, "aa_atss_topk_kernel");
    if (st == AA_SUCCESS) st = finish_output(ctx, dst, candidates, bytes);
    return st;
}

static aa_status aa__cuda_candidate_stats(aa_context *ctx, int32_t topk, float eps, const aa_batch *b,
                                   const int32_t *candidates, double *mean, double *std)
{
    GUARD(ctx);
    size_t n_gts = (size_t)b->total_gts;
    size_t cand_bytes = n_gts * (size_t)b->num_levels * (size_t)topk * sizeof(int32_t);
    aa_launch plan = aa__plan_elementwise(b->total_gts);
    if (plan.groups_x == 0) return AA_SUCCESS;
    const void *anchors, *gts, *cand;
    void *dmean, *dstd;
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, b->gts->boxes, n_gts * 16, &gts);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_CANDIDATES, candidates, cand_bytes, &cand);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_OVERLAP, mean, n_gts * 8, &dmean);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_LABELS, std, n_gts * 8, &dstd);
    if (st != AA_SUCCESS) return st;
    stage(ctx, "aa_candidate_stats_kernel", aa__bytes_candidate_stats(b, topk));
    aa_candidate_stats_kernel<<<grid_of(plan), plan.local_size, 0, ctx->cuda->stream>>>(
        (const float *)anchors, b->num_anchors, (const float *)gts, b->total_gts,
        (aa_i64)b->num_levels * topk, eps, (const aa_i32 *)cand, (double *)dmean, (double *)dstd);
    st = launched(ctx, "aa_candidate_stats_kernel");
    if (st != AA_SUCCESS) return st;
    const cuda_result r[] = {{dmean, mean, n_gts * 8}, {dstd, std, n_gts * 8}};
    return read_results(ctx, r, 2);
}

/* ---------------------------------------------------------------- Gaussian mixtures */

static size_t aa__cuda_gmm_ws_bytes(const aa_gmm_params *p, const aa_gmm_batch *g)
{
    aa_gmm_ws lay;
    return aa__plan_gmm_ws(g->total_points, p->num_components, &lay);
}

/* The eight optional outputs (NULL: not wanted) in device memory. */
struct cuda_gmm_out {
    double *w, *mu, *var, *bound, *density;
    aa_i32 *iter, *status, *labels;
};

static aa_status gmm_outputs(aa_context *ctx, const aa_gmm_result *r, size_t per_k, size_t segs,
                             size_t pts, cuda_gmm_out *m)
{
    void *q;
    aa_status st = output(ctx, SLOT_GMM_WEIGHTS, r->weights, per_k * 8, &q);
    m->w = (double *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_MEANS, r->means, per_k * 8, &q), m->mu = (double *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_VARIANCES, r->variances, per_k * 8, &q), m->var = (double *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_BOUND, r->lower_bound, segs * 8, &q), m->bound = (double *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_ITERATIONS, r->iterations, segs * 4, &q), m->iter = (aa_i32 *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_STATUS, r->status, segs * 4, &q), m->status = (aa_i32 *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_LABELS, r->labels, pts * 4, &q), m->labels = (aa_i32 *)q;
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_DENSITY, r->log_density, pts * 8, &q), m->density = (double *)q;
    return st;
}

static aa_status gmm_finish(aa_context *ctx, const aa_gmm_result *r, size_t per_k, size_t segs,
                            size_t pts, const cuda_gmm_out *m)
{
    const cuda_result out[] = {{m->w, r->weights, per_k * 8},         {m->mu, r->means, per_k * 8},
                               {m->var, r->variances, per_k * 8},      {m->bound, r->lower_bound, segs * 8},
                               {m->iter, r->iterations, segs * 4},     {m->status, r->status, segs * 4},
                               {m->labels, r->labels, pts * 4},        {m->density, r->log_density, pts * 8}};
    return read_results(ctx, out, 8);
}

static aa_status aa__cuda_gmm(aa_context *ctx, const aa_gmm_params *p, const aa_gmm_batch *g,
                              const aa_gmm_result *out, void *user_ws, size_t user_ws_bytes)
{
    GUARD(ctx);
    const aa_gmm_segments *sg = g->segments;
    aa_gmm_ws lay;
    size_t ws_bytes = aa__plan_gmm_ws(g->total_points, p->num_components, &lay);
    aa_launch plan = aa__plan_gmm(g->num_segments);
    if (plan.groups_x == 0) return AA_SUCCESS;
    size_t segs = (size_t)g->num_segments, pts = (size_t)g->total_points;
    size_t per_k = segs * (size_t)p->num_components;
    /* all segments empty: the kernel reads neither points nor offsets */
    const int64_t *off = NULL;
    if (pts > 0) off = ctx->memory == AA_MEMORY_HOST ? sg->offsets : sg->device_offsets;
    if (pts > 0 && !off)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "segments.device_offsets: NULL; the CUDA kernels read the offsets from "
                        "device memory (or use AA_MEMORY_HOST)");
    int given = p->init == AA_GMM_INIT_GIVEN;
    char *ws;
    const void *points, *offsets, *iw, *imu, *iprec;
    cuda_gmm_out m;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_POINTS, pts > 0 ? sg->points : NULL, pts * 4, &points);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_OFFSETS, off, (segs + 1) * 8, &offsets);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_INIT_WEIGHTS, given ? p->init_weights : NULL, per_k * 8, &iw);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_INIT_MEANS, given ? p->init_means : NULL, per_k * 8, &imu);
    if (st == AA_SUCCESS)
        st = input(ctx, SLOT_INIT_PRECISIONS, given ? p->init_precisions : NULL, per_k * 8, &iprec);
    if (st == AA_SUCCESS) st = gmm_outputs(ctx, out, per_k, segs, pts, &m);
    if (st != AA_SUCCESS) return st;
    aa_gmm_args args = aa__plan_gmm_args(p);
    stage(ctx, "aa_gmm_kernel", aa__bytes_gmm(p, g, out));
    aa_gmm_kernel<<<grid_of(plan), plan.local_size, 0, ctx->cuda->stream>>>(
        (const float *)points, (const aa_i64 *)offsets, g->num_segments, args, (const double *)iw,
        (const double *)imu, (const double *)iprec, ws, lay, m.w, m.mu, m.var, m.bound, m.iter,
        m.status, m.labels, m.density);
    st = launched(ctx, "aa_gmm_kernel");
    if (st != AA_SUCCESS) return st;
    return gmm_finish(ctx, out, per_k, segs, pts, &m);
}

/* ---------------------------------------------------------------- PAA */

/* The cost kernel: pre-assignment at pre + pre_at, costs to costs + cost_at. */
static aa_status paa_cost_launch(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                 const aa_head_outputs *h, const cuda_batch *m, const char *pre,
                                 aa_i64 pre_at, char *costs, aa_i64 cost_at)
{
    size_t rows = (size_t)(b->num_images * b->num_anchors), elem = h->dtype == AA_FLOAT32 ? 4 : 2;
    const void *logits, *deltas;
    aa_status st = input(ctx, SLOT_PAA_LOGITS, h->cls_logits, rows * (size_t)h->num_classes * elem, &logits);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_DELTAS, h->bbox_deltas, rows * 4 * elem, &deltas);
    if (st != AA_SUCCESS) return st;
    aa_paa_args args = aa__plan_paa_args(p, h);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    stage(ctx, "aa_paa_cost_kernel", aa__bytes_paa_cost(b));
    aa_paa_cost_kernel<<<grid_of(per_image), per_image.local_size, 0, ctx->cuda->stream>>>(
        m->anchors, b->num_anchors, m->gts, m->offsets, b->num_images, m->labels, pre, pre_at,
        (const aa_u8 *)logits, (const aa_u8 *)deltas, args, costs, cost_at);
    return launched(ctx, "aa_paa_cost_kernel");
}

/* The outputs' initial values, then the selection (`out`: the caller's outputs, m's in
 * device memory). */
static aa_status paa_select_launch(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                   const aa_assignment *out, const cuda_batch *m, const char *pre, aa_i64 pre_at,
                                   const char *costs, aa_i64 cost_at, char *ws,
                                   const aa_paa_select_ws &lay)
{
    aa_i64 rows = b->num_images * b->num_anchors;
    cudaStream_t s = ctx->cuda->stream;
    aa_launch per_row = aa__plan_elementwise(rows);
    if (per_row.groups_x == 0) return AA_SUCCESS;
    stage(ctx, "aa_paa_init_kernel", aa__bytes_paa_init(b, aa__bytes_outputs(out)));
    aa_paa_init_kernel<<<grid_of(per_row), per_row.local_size, 0, s>>>(
        rows, pre, pre_at, costs, cost_at, m->out_index, m->out_overlap, m->out_labels);
    aa_status st = launched(ctx, "aa_paa_init_kernel");
    aa_launch per_gt = aa__plan_paa_select(b->total_gts);
    if (st != AA_SUCCESS || per_gt.groups_x == 0) return st;
    stage(ctx, "aa_paa_select_kernel", aa__bytes_paa_select(b));
    aa_paa_select_kernel<<<grid_of(per_gt), per_gt.local_size, 0, s>>>(
        b->num_anchors, m->offsets, b->num_images, b->total_gts, m->labels,
        aa__plan_levels(b, NULL, NULL), aa__plan_paa_args(p, NULL), aa__plan_gmm_args(&p->gmm), pre,
        pre_at, costs, cost_at, ws, lay, m->out_index, m->out_labels);
    return launched(ctx, "aa_paa_select_kernel");
}

static aa_status aa__cuda_paa_costs(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                    const aa_head_outputs *h, const int32_t *pre, float *costs)
{
    GUARD(ctx);
    size_t rows = (size_t)(b->num_images * b->num_anchors);
    if (rows == 0) return AA_SUCCESS;
    cuda_batch m;
    aa_assignment none = {NULL, NULL, NULL};
    const void *dpre;
    void *dcosts;
    aa_status st = batch_arrays(ctx, b, &none, &m);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_PRE, pre, rows * 4, &dpre);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_PAA_COSTS, costs, rows * 4, &dcosts);
    if (st == AA_SUCCESS)
        st = paa_cost_launch(ctx, p, b, h, &m, (const char *)dpre, 0, (char *)dcosts, 0);
    if (st == AA_SUCCESS) st = finish_output(ctx, dcosts, costs, rows * 4);
    return st;
}

static size_t aa__cuda_paa_select_ws_bytes(const aa_paa_params *p, const aa_batch *b)
{
    aa_paa_select_ws lay;
    return aa__plan_paa_select_layout(p, b, &lay);
}

static aa_status aa__cuda_paa_select(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                     const int32_t *pre, const float *costs, const aa_assignment *out,
                                     void *user_ws, size_t user_ws_bytes)
{
    GUARD(ctx);
    size_t rows = (size_t)(b->num_images * b->num_anchors);
    if (rows == 0) return AA_SUCCESS;
    aa_paa_select_ws lay;
    size_t ws_bytes = aa__plan_paa_select_layout(p, b, &lay);
    cuda_batch m;
    char *ws;
    const void *dpre, *dcosts;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_arrays(ctx, b, out, &m);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_PRE, pre, rows * 4, &dpre);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_COSTS, costs, rows * 4, &dcosts);
    if (st == AA_SUCCESS)
        st = paa_select_launch(ctx, p, b, out, &m, (const char *)dpre, 0, (const char *)dcosts, 0, ws, lay);
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

static size_t aa__cuda_paa_ws_bytes(const aa_paa_params *p, const aa_batch *b)
{
    int64_t cost_at;
    aa_max_iou_ws mi;
    aa_paa_select_ws sel;
    return aa__plan_paa_layout(p, b, &cost_at, &mi, &sel);
}

/* The whole of PAA: the max-IoU kernels write the pre-assignment into the gt_index
 * output, copied into the workspace before the outputs are initialised. */
static aa_status aa__cuda_paa(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                              const aa_head_outputs *h, const aa_assignment *out, void *user_ws,
                              size_t user_ws_bytes)
{
    GUARD(ctx);
    int64_t cost_at;
    aa_max_iou_ws mi;
    aa_paa_select_ws sel;
    size_t ws_bytes = aa__plan_paa_layout(p, b, &cost_at, &mi, &sel);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    cuda_batch m;
    char *ws;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_arrays(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_max_iou_args args = aa__plan_max_iou_args(&p->pre);
    cudaStream_t s = ctx->cuda->stream;
    aa_i64 rows = b->num_images * b->num_anchors;
    stage(ctx, "aa_max_iou_anchor_kernel", aa__bytes_max_iou_anchor(b));
    aa_max_iou_anchor_kernel<<<grid_of(per_image), per_image.local_size, 0, s>>>(
        m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, m.flags, args, ws, mi);
    st = launched(ctx, "aa_max_iou_anchor_kernel");
    aa_launch per_gt = aa__plan_per_gt(b->total_gts);
    if (st == AA_SUCCESS && p->pre.match_low_quality && per_gt.groups_x > 0) {
        stage(ctx, "aa_max_iou_gt_kernel", aa__bytes_max_iou_gt(b));
        aa_max_iou_gt_kernel<<<grid_of(per_gt), per_gt.local_size, 0, s>>>(
            m.anchors, b->num_anchors, m.gts, b->total_gts, m.offsets, b->num_images, m.flags,
            p->pre.eps, ws, mi);
        st = launched(ctx, "aa_max_iou_gt_kernel");
    }
    if (st == AA_SUCCESS) {
        stage(ctx, "aa_max_iou_assign_kernel", aa__bytes_max_iou_assign(b, p->pre.match_low_quality, 1));
        aa_max_iou_assign_kernel<<<grid_of(per_image), per_image.local_size, 0, s>>>(
            m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, m.flags, m.labels, args, ws,
            mi, m.out_index, NULL, NULL);
        st = launched(ctx, "aa_max_iou_assign_kernel");
    }
    if (st == AA_SUCCESS) {
        aa_launch per_row = aa__plan_elementwise(rows);
        stage(ctx, "aa_paa_copy_kernel", aa__bytes_paa_copy(b));
        aa_paa_copy_kernel<<<grid_of(per_row), per_row.local_size, 0, s>>>(m.out_index, rows, ws, 0);
        st = launched(ctx, "aa_paa_copy_kernel");
    }
    if (st == AA_SUCCESS) st = paa_cost_launch(ctx, p, b, h, &m, ws, 0, ws, cost_at);
    if (st == AA_SUCCESS) st = paa_select_launch(ctx, p, b, out, &m, ws, 0, ws, cost_at, ws, sel);
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

/* ---------------------------------------------------------------- LADA */

static size_t aa__cuda_lada_ws_bytes(const aa_lada_params *p, const aa_batch *b)
{
    aa_lada_ws lay;
    return aa__plan_lada_layout(p, b, &lay);
}

/* Clear the claim keys, select per GT, decode the keys into the outputs. */
static aa_status aa__cuda_lada(aa_context *ctx, const aa_lada_params *p, const aa_batch *b,
                               const aa_head_outputs *h, const aa_assignment *out, void *user_ws,
                               size_t user_ws_bytes)
{
    GUARD(ctx);
    aa_lada_ws lay;
    size_t ws_bytes = aa__plan_lada_layout(p, b, &lay);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    cuda_batch m;
    char *ws;
    const void *logits = NULL, *deltas = NULL;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_arrays(ctx, b, out, &m);
    if (st == AA_SUCCESS && b->total_gts > 0) {
        size_t rows = (size_t)(b->num_images * b->num_anchors), elem = h->dtype == AA_FLOAT32 ? 4 : 2;
        st = input(ctx, SLOT_PAA_LOGITS, h->cls_logits, rows * (size_t)h->num_classes * elem, &logits);
        if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_DELTAS, h->bbox_deltas, rows * 4 * elem, &deltas);
    }
    if (st != AA_SUCCESS) return st;
    cudaStream_t s = ctx->cuda->stream;
    aa_i64 rows = b->num_images * b->num_anchors;
    aa_launch per_row = aa__plan_elementwise(rows);
    stage(ctx, "aa_lada_clear_kernel", aa__bytes_lada_clear(b));
    aa_lada_clear_kernel<<<grid_of(per_row), per_row.local_size, 0, s>>>(rows, ws, lay);
    st = launched(ctx, "aa_lada_clear_kernel");
    aa_launch per_gt = aa__plan_lada_select(b->total_gts);
    if (st == AA_SUCCESS && per_gt.groups_x > 0) {
        stage(ctx, "aa_lada_select_kernel", aa__bytes_lada_select(b));
        aa_lada_select_kernel<<<grid_of(per_gt), per_gt.local_size, 0, s>>>(
            m.anchors, b->num_anchors, m.gts, m.offsets, b->num_images, b->total_gts, m.flags, m.labels,
            aa__plan_levels(b, NULL, NULL), aa__plan_lada_args(p, h), (const aa_u8 *)logits,
            (const aa_u8 *)deltas, ws, lay);
        st = launched(ctx, "aa_lada_select_kernel");
    }
    if (st == AA_SUCCESS) {
        stage(ctx, "aa_lada_assign_kernel", aa__bytes_lada_assign(b, aa__bytes_outputs(out)));
        aa_lada_assign_kernel<<<grid_of(per_image), per_image.local_size, 0, s>>>(
            b->num_anchors, m.offsets, b->num_images, m.labels, ws, lay, m.out_index, m.out_overlap,
            m.out_labels);
        st = launched(ctx, "aa_lada_assign_kernel");
    }
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

extern "C" const aa_gpu_ops aa__cuda_ops = {
    aa__cuda_reserve,       aa__cuda_overlaps,          aa__cuda_topk_nearest,
    aa__cuda_candidate_stats, aa__cuda_max_iou_ws_bytes, aa__cuda_max_iou,
    aa__cuda_atss_ws_bytes, aa__cuda_atss,              aa__cuda_fcos,
    aa__cuda_gmm_ws_bytes,  aa__cuda_gmm,
    aa__cuda_paa_costs,     aa__cuda_paa_select_ws_bytes, aa__cuda_paa_select,
    aa__cuda_paa_ws_bytes,  aa__cuda_paa,
    aa__cuda_lada_ws_bytes, aa__cuda_lada,           aa__cuda_profile,
};
