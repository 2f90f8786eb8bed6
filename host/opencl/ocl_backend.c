/* ocl_backend.c - the OpenCL backend: device choice, the program built once per
 * context from the embedded kernel text, an in-order queue, staging buffers for
 * AA_MEMORY_HOST, and the launches, translated from the shared plans (plan.h).
 * Every OpenCL call is checked; a failure names the call and the error code.
 *
 * A failed call on the context's queue (an upload, a launch, a read-back, the wait
 * for the results; queue_failed): AA_ERR_OUT_OF_MEMORY for the allocation codes
 * (CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_HOST_MEMORY), AA_ERR_BACKEND for
 * every other, CL_OUT_OF_RESOURCES included; the call waits for the work it had
 * queued and the context stays usable. A device or queue that is gone
 * (CL_DEVICE_NOT_AVAILABLE, CL_INVALID_COMMAND_QUEUE, CL_INVALID_CONTEXT) makes the
 * context lost: AA_ERR_BACKEND now, and every later call that would use the
 * device fails at once with AA_ERR_BACKEND, naming the first failure, until the
 * context is destroyed. Each of these calls asks the test hook (inject.h) first. */
#define CL_TARGET_OPENCL_VERSION 120
#define _POSIX_C_SOURCE 200809L /* clock_gettime (stage timing); C99 otherwise */

#include "ocl_backend.h"

#include "alloc.h"
#include "inject.h"
#include "plan.h"
#include "traffic.h"
#include "../../kernels/levels.h"
#include "../../kernels/atss.h"
#include "../../kernels/gmm.h"
#include "../../kernels/max_iou.h"
#include "../../kernels/paa.h"
#include "../../kernels/lada.h"

#include <CL/cl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char aa__ocl_kernel_source[];
extern const size_t aa__ocl_kernel_source_len;

/* Staging buffers of AA_MEMORY_HOST calls, one per argument role; they only grow,
 * so repeated calls of the same size allocate nothing. */
enum {
    SLOT_ANCHORS, SLOT_GTS, SLOT_OFFSETS, SLOT_FLAGS, SLOT_LABELS, SLOT_CANDIDATES,
    SLOT_OUT_INDEX, SLOT_OUT_OVERLAP, SLOT_OUT_LABELS,
    SLOT_POINTS, SLOT_INIT_WEIGHTS, SLOT_INIT_MEANS, SLOT_INIT_PRECISIONS, /* Gaussian mixtures */
    SLOT_GMM_WEIGHTS, SLOT_GMM_MEANS, SLOT_GMM_VARIANCES, SLOT_GMM_BOUND, SLOT_GMM_ITERATIONS,
    SLOT_GMM_STATUS, SLOT_GMM_LABELS, SLOT_GMM_DENSITY,
    SLOT_PAA_LOGITS, SLOT_PAA_DELTAS, SLOT_PAA_PRE, SLOT_PAA_COSTS, /* PAA */
    SLOT_WORKSPACE, /* the context's own device workspace, both memory modes */
    NUM_SLOTS
};

/* The kernels of the program, created once per context. */
enum {
    K_OVERLAPS, K_FCOS, K_MAX_IOU_ANCHOR, K_MAX_IOU_GT, K_MAX_IOU_ASSIGN,
    K_ATSS_PREPARE, K_ATSS_TOPK, K_ATSS_SELECT, K_ATSS_ASSIGN, K_CANDIDATE_STATS, K_GMM,
    K_PAA_COST, K_PAA_COPY, K_PAA_INIT, K_PAA_SELECT,
    K_LADA_CLEAR, K_LADA_SELECT, K_LADA_ASSIGN,
    NUM_KERNELS
};
static const char *const kernel_names[NUM_KERNELS] = {
    "aa_overlaps_kernel", "aa_fcos_kernel", "aa_max_iou_anchor_kernel", "aa_max_iou_gt_kernel",
    "aa_max_iou_assign_kernel", "aa_atss_prepare_kernel", "aa_atss_topk_kernel",
    "aa_atss_select_kernel", "aa_atss_assign_kernel", "aa_candidate_stats_kernel",
    "aa_gmm_kernel", "aa_paa_cost_kernel", "aa_paa_copy_kernel", "aa_paa_init_kernel",
    "aa_paa_select_kernel", "aa_lada_clear_kernel", "aa_lada_select_kernel", "aa_lada_assign_kernel"};

/* Platform discovery and program builds are serialised across the process: PoCL
 * answered "no device" to clGetDeviceIDs racing with another thread's first use
 * (tests/test_threads.c found it). Calls on created contexts run concurrently. */
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static int first_gpu_locked(int *platform, int *device);

struct aa_ocl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue own_queue;
    cl_command_queue queue; /* the caller's or own_queue */
    cl_program program;
    cl_kernel kernel[NUM_KERNELS];
    cl_mem slot[NUM_SLOTS];
    size_t slot_bytes[NUM_SLOTS];
    char device_name[128];
    void *results;          /* AA_MEMORY_HOST: the results of a call, read back here */
    size_t results_bytes;   /* before they are copied to the caller (read_results) */
    cl_int lost;            /* not CL_SUCCESS: the device or queue is gone (queue_failed) */
    char lost_call[96];     /* the call that found it */
};

static const char *cl_error_name(cl_int e)
{
    switch (e) {
#define N(x) case x: return #x;
        N(CL_SUCCESS) N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE)
        N(CL_COMPILER_NOT_AVAILABLE) N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES)
        N(CL_OUT_OF_HOST_MEMORY) N(CL_BUILD_PROGRAM_FAILURE) N(CL_INVALID_VALUE)
        N(CL_INVALID_DEVICE) N(CL_INVALID_CONTEXT) N(CL_INVALID_COMMAND_QUEUE)
        N(CL_INVALID_MEM_OBJECT) N(CL_INVALID_BUILD_OPTIONS) N(CL_INVALID_PROGRAM)
        N(CL_INVALID_KERNEL_NAME) N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX)
        N(CL_INVALID_ARG_VALUE) N(CL_INVALID_ARG_SIZE) N(CL_INVALID_KERNEL_ARGS)
        N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE) N(CL_INVALID_WORK_ITEM_SIZE)
        N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST) N(CL_INVALID_OPERATION)
        N(CL_INVALID_BUFFER_SIZE) N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PLATFORM)
#undef N
    }
    return "unknown OpenCL error";
}

/* One checked call: on failure, records "<call>: <error name> (<code>)". */
#define OCL_CHECK(ctx, call, status)                                                         \
    do {                                                                                     \
        cl_int e_ = (call);                                                                  \
        if (e_ != CL_SUCCESS)                                                                \
            return aa__fail(ctx, status, "OpenCL %s: %s (%d)", #call, cl_error_name(e_), (int)e_); \
    } while (0)

/* The status of a failed runtime call: the allocation codes are out of memory (as
 * for clCreateBuffer, which adds CL_INVALID_BUFFER_SIZE); every other code,
 * CL_OUT_OF_RESOURCES included, is a backend failure. */
static aa_status cl_status(cl_int e)
{
    return e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_HOST_MEMORY ? AA_ERR_OUT_OF_MEMORY
                                                                               : AA_ERR_BACKEND;
}

/* The codes that say the device or the queue is gone: nothing more can run. */
static int cl_lost(cl_int e)
{
    return e == CL_DEVICE_NOT_AVAILABLE || e == CL_INVALID_COMMAND_QUEUE || e == CL_INVALID_CONTEXT;
}

/* e = a runtime call of `kind`: the test hook's error if it injects one (the call
 * is not made), else the call's own result. */
#define CL_RUN(e, kind, call)                                                                \
    do {                                                                                     \
        (e) = (cl_int)aa__inject_error(kind);                                                \
        if ((e) == CL_SUCCESS) (e) = (call);                                                 \
    } while (0)

/* A failed call on the context's queue; `fmt` names the call and what it did. Waits
 * (unchecked) for the work this call had queued: uploads read the caller's arrays,
 * which the caller may free once the call returns. A lost device or queue marks the
 * context lost (check_lost). */
static aa_status queue_failed(aa_context *ctx, cl_int e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static aa_status queue_failed(aa_context *ctx, cl_int e, const char *fmt, ...)
{
    struct aa_ocl *o = ctx->ocl;
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    clFinish(o->queue);
    int lost = cl_lost(e);
    if (lost && o->lost == CL_SUCCESS) {
        o->lost = e;
        snprintf(o->lost_call, sizeof o->lost_call, "%s", what);
    }
    return aa__fail(ctx, lost ? AA_ERR_BACKEND : cl_status(e), "OpenCL %s: %s (%d)%s", what,
                    cl_error_name(e), (int)e,
                    lost ? "; the device or its queue is lost: this aa_context cannot be used "
                           "again, destroy it"
                         : "");
}

/* A lost context (queue_failed) runs nothing more: every call that would use the
 * device fails here, before touching the runtime or any output. */
static aa_status check_lost(aa_context *ctx)
{
    struct aa_ocl *o = ctx->ocl;
    if (o->lost == CL_SUCCESS) return AA_SUCCESS;
    return aa__fail(ctx, AA_ERR_BACKEND,
                    "OpenCL: this aa_context was lost by an earlier call (%s: %s): it cannot be "
                    "used again, destroy it",
                    o->lost_call, cl_error_name(o->lost));
}

/* An index from the environment overrides the one in the options. */
static int env_index(const char *name, int fallback)
{
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    char *end;
    long i = strtol(v, &end, 10);
    return (*end == '\0' && i >= 0 && i < 1 << 16) ? (int)i : -1;
}

static aa_status pick_device(aa_context *ctx, struct aa_ocl *o, int platform, int device)
{
    cl_uint np = 0, nd = 0;
    cl_int e = clGetPlatformIDs(0, NULL, &np);
    if (e != CL_SUCCESS || np == 0)
        return aa__fail(ctx, AA_ERR_NO_DEVICE,
                        "OpenCL: no platform found (clGetPlatformIDs: %s); install an ICD such "
                        "as pocl-opencl-icd", e == CL_SUCCESS ? "0 platforms" : cl_error_name(e));
    platform = env_index("AA_OPENCL_PLATFORM", platform);
    if (platform < 0 || (cl_uint)platform >= np)
        return aa__fail(ctx, AA_ERR_NO_DEVICE, "OpenCL platform %d: only %u platform(s) (AA_OPENCL_PLATFORM)",
                        platform, (unsigned)np);
    cl_platform_id platforms[64];
    OCL_CHECK(ctx, clGetPlatformIDs(np < 64 ? np : 64, platforms, NULL), AA_ERR_BACKEND);
    o->platform = platforms[platform];
    e = clGetDeviceIDs(o->platform, CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
    if (e != CL_SUCCESS || nd == 0)
        return aa__fail(ctx, AA_ERR_NO_DEVICE, "OpenCL platform %d has no device", platform);
    device = env_index("AA_OPENCL_DEVICE", device);
    if (device < 0 || (cl_uint)device >= nd)
        return aa__fail(ctx, AA_ERR_NO_DEVICE, "OpenCL device %d: platform %d has %u device(s) (AA_OPENCL_DEVICE)",
                        device, platform, (unsigned)nd);
    cl_device_id devices[64];
    OCL_CHECK(ctx, clGetDeviceIDs(o->platform, CL_DEVICE_TYPE_ALL, nd < 64 ? nd : 64, devices, NULL),
              AA_ERR_BACKEND);
    o->device = devices[device];
    OCL_CHECK(ctx, clGetDeviceInfo(o->device, CL_DEVICE_NAME, sizeof o->device_name - 1,
                                   o->device_name, NULL), AA_ERR_BACKEND);
    return AA_SUCCESS;
}

/* Builds the embedded source; a compile error comes back with the build log. */
int aa__ocl_first_gpu(int *platform, int *device)
{
    pthread_mutex_lock(&create_lock);
    int found = first_gpu_locked(platform, device);
    pthread_mutex_unlock(&create_lock);
    return found;
}

static int first_gpu_locked(int *platform, int *device)
{
    cl_uint np = 0;
    cl_platform_id platforms[64];
    if (clGetPlatformIDs(64, platforms, &np) != CL_SUCCESS) return 0;
    for (cl_uint p = 0; p < np && p < 64; ++p) {
        cl_uint nd = 0;
        cl_device_id devices[64];
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 64, devices, &nd) != CL_SUCCESS) continue;
        for (cl_uint d = 0; d < nd && d < 64; ++d) {
            cl_device_type type = 0;
            if (clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
                (type & CL_DEVICE_TYPE_GPU)) {
                *platform = (int)p, *device = (int)d;
                return 1;
            }
        }
    }
    return 0;
}

/* The build log in a message, which is one line (aa_context_last_error): line breaks
 * and runs of white space become " | " and " ", and at most LOG_EXCERPT characters
 * are kept. Returns nonzero when the log was cut. */
#define LOG_EXCERPT 300
#define LOG_EXCERPT_TEXT "300"
static int flatten_log(const char *log, char *out, size_t cap)
{
    size_t n = 0;
    int pending = 0; /* 1: a space, 2: a line break, not written yet */
    for (const char *c = log; *c; ++c) {
        unsigned char ch = (unsigned char)*c;
        if (ch == '\n' || ch == '\r') {
            pending = 2;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch < 32 || ch == 127) {
            if (!pending) pending = 1;
            continue;
        }
        const char *sep = n == 0 ? "" : pending == 2 ? " | " : pending == 1 ? " " : "";
        size_t need = strlen(sep) + 1;
        if (n + need >= cap) {
            out[n] = '\0';
            return 1;
        }
        memcpy(out + n, sep, need - 1);
        n += need - 1;
        out[n++] = (char)ch;
        pending = 0;
    }
    out[n] = '\0';
    return 0;
}

static aa_status build_program(aa_context *ctx, struct aa_ocl *o)
{
    cl_int e;
    const char *src = aa__ocl_kernel_source;
    size_t len = aa__ocl_kernel_source_len;
    o->program = clCreateProgramWithSource(o->context, 1, &src, &len, &e);
    if (e != CL_SUCCESS)
        return aa__fail(ctx, AA_ERR_BACKEND, "OpenCL clCreateProgramWithSource: %s", cl_error_name(e));
    /* IEEE division and square root keep float32 results bit-identical to the
     * reference; a device without them is refused rather than silently different. */
    cl_device_fp_config fp = 0;
    OCL_CHECK(ctx, clGetDeviceInfo(o->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL),
              AA_ERR_BACKEND);
    if (!(fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT))
        return aa__fail(ctx, AA_ERR_NOT_SUPPORTED,
                        "OpenCL device %s: no correctly rounded float32 divide/sqrt", o->device_name);
    /* ATSS thresholds are computed in double, as the reference does. */
    cl_device_fp_config fp64 = 0;
    OCL_CHECK(ctx, clGetDeviceInfo(o->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL),
              AA_ERR_BACKEND);
    if (!fp64)
        return aa__fail(ctx, AA_ERR_NOT_SUPPORTED, "OpenCL device %s: no double precision (cl_khr_fp64)",
                        o->device_name);
    int injected = (e = (cl_int)aa__inject_error(AA__INJECT_BUILD)) != CL_SUCCESS;
    if (!injected)
        e = clBuildProgram(o->program, 1, &o->device,
                           "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt", NULL, NULL);
    if (e != CL_SUCCESS) {
        /* The log can be long: ask its size first (a short buffer gets nothing). An
         * injected failure (inject.h) reports the hook's fake log instead. */
        size_t size = 0;
        char *log = NULL;
        const char *text = injected ? aa__inject_build_log() : NULL;
        if (!injected &&
            clGetProgramBuildInfo(o->program, o->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS &&
            (log = aa__calloc(size + 1, 1)) != NULL &&
            clGetProgramBuildInfo(o->program, o->device, CL_PROGRAM_BUILD_LOG, size, log, NULL) == CL_SUCCESS)
            text = log;
        char excerpt[LOG_EXCERPT + 4];
        size_t bytes = text ? strlen(text) : 0;
        int cut = flatten_log(text ? text : "", excerpt, sizeof excerpt - 3);
        if (cut) strcat(excerpt, "...");
        aa_status st = aa__fail(ctx, AA_ERR_BACKEND,
                                "OpenCL clBuildProgram: %s (%d); build log (%zu bytes, lines joined "
                                "by \" | \"%s): %s",
                                cl_error_name(e), (int)e, bytes,
                                cut ? ", cut to its first " LOG_EXCERPT_TEXT " characters" : "",
                                text ? excerpt : "(unavailable)");
        aa__free(log);
        return st;
    }
    for (int k = 0; k < NUM_KERNELS; ++k) {
        o->kernel[k] = clCreateKernel(o->program, kernel_names[k], &e);
        if (e != CL_SUCCESS)
            return aa__fail(ctx, AA_ERR_BACKEND, "OpenCL clCreateKernel(%s): %s", kernel_names[k],
                            cl_error_name(e));
        size_t wg = 0;
        OCL_CHECK(ctx, clGetKernelWorkGroupInfo(o->kernel[k], o->device, CL_KERNEL_WORK_GROUP_SIZE,
                                                sizeof wg, &wg, NULL), AA_ERR_BACKEND);
        int needed = k == K_GMM          ? AA_PLAN_GMM_LOCAL_SIZE
                     : k == K_PAA_SELECT ? AA_PLAN_PAA_LOCAL_SIZE
                     : k == K_LADA_SELECT ? AA_PLAN_LADA_LOCAL_SIZE
                                         : AA_PLAN_LOCAL_SIZE; /* the plans' */
        if (wg < (size_t)needed)
            return aa__fail(ctx, AA_ERR_NOT_SUPPORTED,
                            "OpenCL device %s: %s runs work-groups of %zu < %d work-items",
                            o->device_name, kernel_names[k], wg, needed);
    }
    return AA_SUCCESS;
}

static void release(struct aa_ocl *o)
{
    for (int s = 0; s < NUM_SLOTS; ++s)
        if (o->slot[s]) clReleaseMemObject(o->slot[s]);
    for (int k = 0; k < NUM_KERNELS; ++k)
        if (o->kernel[k]) clReleaseKernel(o->kernel[k]);
    if (o->program) clReleaseProgram(o->program);
    if (o->own_queue) clReleaseCommandQueue(o->own_queue);
    if (o->context) clReleaseContext(o->context);
    aa__free(o->results);
    aa__free(o);
}

static aa_status create_locked(aa_context *ctx, int platform, int device);

aa_status aa__ocl_create(aa_context *ctx, int platform, int device)
{
    pthread_mutex_lock(&create_lock);
    aa_status st = create_locked(ctx, platform, device);
    pthread_mutex_unlock(&create_lock);
    return st;
}

static aa_status create_locked(aa_context *ctx, int platform, int device)
{
    struct aa_ocl *o = aa__calloc(1, sizeof *o);
    if (!o)
        return aa__fail(ctx, AA_ERR_OUT_OF_MEMORY,
                        "OpenCL: could not allocate the backend state (%zu bytes of host memory)",
                        sizeof *o);
    aa_status st = pick_device(ctx, o, platform, device);
    cl_int e = CL_SUCCESS;
    if (st == AA_SUCCESS) {
        o->context = clCreateContext(NULL, 1, &o->device, NULL, NULL, &e);
        if (e != CL_SUCCESS)
            st = aa__fail(ctx, AA_ERR_BACKEND, "OpenCL clCreateContext: %s", cl_error_name(e));
    }
    if (st == AA_SUCCESS) {
        o->own_queue = clCreateCommandQueue(o->context, o->device, 0, &e); /* in order */
        if (e != CL_SUCCESS)
            st = aa__fail(ctx, AA_ERR_BACKEND, "OpenCL clCreateCommandQueue: %s", cl_error_name(e));
        o->queue = o->own_queue;
    }
    if (st == AA_SUCCESS) st = build_program(ctx, o);
    if (st != AA_SUCCESS) {
        release(o);
        return st;
    }
    ctx->ocl = o;
    return AA_SUCCESS;
}

void aa__ocl_destroy(aa_context *ctx)
{
    if (!ctx->ocl) return;
    clFinish(ctx->ocl->queue);
    release(ctx->ocl);
    ctx->ocl = NULL;
}

/* The new queue waits on the device for the work queued on the old one: the
 * context's buffers and workspace are reused across calls, so two calls on two
 * queues must not overlap. No host synchronisation. */
static aa_status switch_queue(aa_context *ctx, cl_command_queue next)
{
    struct aa_ocl *o = ctx->ocl;
    if (next == o->queue) return AA_SUCCESS;
    cl_event done;
    OCL_CHECK(ctx, clEnqueueMarkerWithWaitList(o->queue, 0, NULL, &done), AA_ERR_BACKEND);
    cl_int e = clEnqueueBarrierWithWaitList(next, 1, &done, NULL);
    clReleaseEvent(done);
    if (e != CL_SUCCESS)
        return aa__fail(ctx, AA_ERR_BACKEND, "OpenCL clEnqueueBarrierWithWaitList: %s", cl_error_name(e));
    o->queue = next;
    return AA_SUCCESS;
}

aa_status aa__ocl_set_queue(aa_context *ctx, void *queue)
{
    struct aa_ocl *o = ctx->ocl;
    aa_status st = check_lost(ctx);
    if (st != AA_SUCCESS) return st;
    if (!queue) return switch_queue(ctx, o->own_queue);
    cl_context qctx;
    OCL_CHECK(ctx, clGetCommandQueueInfo((cl_command_queue)queue, CL_QUEUE_CONTEXT, sizeof qctx,
                                         &qctx, NULL), AA_ERR_INVALID_ARGUMENT);
    cl_command_queue_properties props;
    OCL_CHECK(ctx, clGetCommandQueueInfo((cl_command_queue)queue, CL_QUEUE_PROPERTIES, sizeof props,
                                         &props, NULL), AA_ERR_INVALID_ARGUMENT);
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT, "stream: the OpenCL queue must be in order");
    /* Buffers belong to a cl_context: the queue must be of the context's own, which
     * a caller gets with aa_context_get_stream (the default queue) and its info. */
    if (qctx != o->context)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "stream: the queue belongs to another cl_context than the context's");
    return switch_queue(ctx, (cl_command_queue)queue);
}

void *aa__ocl_default_queue(const aa_context *ctx)
{
    return ctx->ocl ? (void *)ctx->ocl->own_queue : NULL;
}

const char *aa__ocl_device_name(const aa_context *ctx)
{
    return ctx->ocl ? ctx->ocl->device_name : "";
}

/* A staging buffer of at least `bytes` for AA_MEMORY_HOST, or the context's device
 * workspace (grown, never shrunk). The old buffer is released first: a failed grow
 * leaves the slot empty (the next call allocates it again), never stale. */
static aa_status stage(aa_context *ctx, int s, size_t bytes, cl_mem *mem)
{
    struct aa_ocl *o = ctx->ocl;
    aa_status st = check_lost(ctx);
    if (st != AA_SUCCESS) return st;
    if (bytes == 0) bytes = 16; /* a zero-size buffer is an error in OpenCL */
    if (o->slot_bytes[s] < bytes) {
        if (o->slot[s]) clReleaseMemObject(o->slot[s]);
        o->slot[s] = NULL;
        o->slot_bytes[s] = 0;
        cl_int e = CL_MEM_OBJECT_ALLOCATION_FAILURE; /* what the hook simulates (alloc.h) */
        cl_mem m = aa__alloc_should_fail()
                       ? NULL
                       : clCreateBuffer(o->context, CL_MEM_READ_WRITE, bytes, NULL, &e);
        if (e != CL_SUCCESS) {
            /* uploads this call already queued read the caller's arrays: done before
             * the call returns, as on success */
            clFinish(o->queue);
            /* CL_INVALID_BUFFER_SIZE: more than CL_DEVICE_MAX_MEM_ALLOC_SIZE (bytes > 0
             * here), out of memory for this device as much as the other two */
            return aa__fail(ctx, e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_HOST_MEMORY ||
                                         e == CL_INVALID_BUFFER_SIZE
                                     ? AA_ERR_OUT_OF_MEMORY : AA_ERR_BACKEND,
                            "OpenCL clCreateBuffer(%zu bytes, %s): %s", bytes,
                            s == SLOT_WORKSPACE ? "the context's device workspace"
                                                : "a staging buffer of AA_MEMORY_HOST",
                            cl_error_name(e));
        }
        o->slot[s] = m;
        o->slot_bytes[s] = bytes;
    }
    *mem = o->slot[s];
    return AA_SUCCESS;
}

/* An input array: in host-memory mode uploaded into its slot, else the caller's
 * cl_mem handle. */
static aa_status input(aa_context *ctx, int s, const void *ptr, size_t bytes, cl_mem *mem)
{
    aa_status st = check_lost(ctx);
    if (st != AA_SUCCESS) return st;
    if (!ptr) { /* an optional array left out: a NULL kernel argument */
        *mem = NULL;
        return AA_SUCCESS;
    }
    if (ctx->memory != AA_MEMORY_HOST) {
        *mem = (cl_mem)(uintptr_t)ptr;
        return AA_SUCCESS;
    }
    st = stage(ctx, s, bytes, mem);
    if (st != AA_SUCCESS || bytes == 0) return st;
    cl_int e;
    CL_RUN(e, AA__INJECT_WRITE,
           clEnqueueWriteBuffer(ctx->ocl->queue, *mem, CL_FALSE, 0, bytes, ptr, 0, NULL, NULL));
    if (e != CL_SUCCESS)
        return queue_failed(ctx, e, "clEnqueueWriteBuffer(%zu bytes, an input of AA_MEMORY_HOST)", bytes);
    return AA_SUCCESS;
}

/* An output array: a slot in host-memory mode, else the caller's cl_mem. */
static aa_status output(aa_context *ctx, int s, void *ptr, size_t bytes, cl_mem *mem)
{
    aa_status st = check_lost(ctx);
    if (st != AA_SUCCESS) return st;
    if (!ptr) {
        *mem = NULL;
        return AA_SUCCESS;
    }
    if (ctx->memory != AA_MEMORY_HOST) {
        *mem = (cl_mem)(uintptr_t)ptr;
        return AA_SUCCESS;
    }
    return stage(ctx, s, bytes, mem);
}

/* One result of a call: a device buffer and the caller's array it goes to (NULL:
 * not wanted). */
typedef struct ocl_result {
    cl_mem mem;
    void *dst;
    size_t bytes;
} ocl_result;

/* Host-memory mode: the call's results into the caller's arrays, returning when they
 * are there (the call's promise). A single result is read straight into its array
 * (blocking). Several are read into the context's host buffer first and copied out
 * only when every read and the wait have succeeded, so that a failure leaves every
 * output untouched rather than some of them written. With no result wanted, the
 * call still waits for its uploads. */
static aa_status read_results(aa_context *ctx, const ocl_result *r, int n)
{
    if (ctx->memory != AA_MEMORY_HOST) return AA_SUCCESS;
    struct aa_ocl *o = ctx->ocl;
    size_t total = 0;
    int wanted = 0, one = 0;
    for (int i = 0; i < n; ++i)
        if (r[i].dst && r[i].bytes) total += r[i].bytes, one = i, ++wanted;
    cl_int e;
    if (wanted == 1) {
        CL_RUN(e, AA__INJECT_READ, clEnqueueReadBuffer(o->queue, r[one].mem, CL_TRUE, 0, r[one].bytes,
                                                       r[one].dst, 0, NULL, NULL));
        if (e != CL_SUCCESS)
            return queue_failed(ctx, e, "clEnqueueReadBuffer(%zu bytes, a result of AA_MEMORY_HOST)",
                                r[one].bytes);
        return AA_SUCCESS;
    }
    if (o->results_bytes < total) { /* grown, never shrunk; the old one released first */
        aa__free(o->results);
        o->results_bytes = 0;
        o->results = aa__malloc(total);
        if (!o->results) {
            clFinish(o->queue);
            return aa__fail(ctx, AA_ERR_OUT_OF_MEMORY,
                            "OpenCL: could not allocate %zu bytes of host memory for the results", total);
        }
        o->results_bytes = total;
    }
    size_t at = 0;
    for (int i = 0; i < n; ++i) {
        if (!r[i].dst || !r[i].bytes) continue;
        CL_RUN(e, AA__INJECT_READ, clEnqueueReadBuffer(o->queue, r[i].mem, CL_FALSE, 0, r[i].bytes,
                                                       (char *)o->results + at, 0, NULL, NULL));
        if (e != CL_SUCCESS)
            return queue_failed(ctx, e, "clEnqueueReadBuffer(%zu bytes, a result of AA_MEMORY_HOST)",
                                r[i].bytes);
        at += r[i].bytes;
    }
    CL_RUN(e, AA__INJECT_FINISH, clFinish(o->queue));
    if (e != CL_SUCCESS)
        return queue_failed(ctx, e, "clFinish(%s)", wanted ? "the results of AA_MEMORY_HOST"
                                                           : "the uploads of AA_MEMORY_HOST");
    at = 0;
    for (int i = 0; i < n; ++i) {
        if (!r[i].dst || !r[i].bytes) continue;
        memcpy(r[i].dst, (const char *)o->results + at, r[i].bytes);
        at += r[i].bytes;
    }
    return AA_SUCCESS;
}

/* Host-memory mode: one output back (read_results). */
static aa_status finish_output(aa_context *ctx, cl_mem mem, void *ptr, size_t bytes)
{
    ocl_result r = {mem, ptr, bytes};
    return read_results(ctx, &r, 1);
}

static aa_status launch(aa_context *ctx, cl_kernel k, const aa_launch *plan, const char *name)
{
    if (plan->groups_x == 0) return AA_SUCCESS;
    size_t global[2] = {(size_t)aa__plan_global_x(plan), (size_t)plan->groups_y};
    size_t local[2] = {(size_t)plan->local_size, 1};
    cl_int e;
    CL_RUN(e, AA__INJECT_LAUNCH,
           clEnqueueNDRangeKernel(ctx->ocl->queue, k, 2, NULL, global, local, 0, NULL, NULL));
    if (e != CL_SUCCESS) return queue_failed(ctx, e, "clEnqueueNDRangeKernel(%s)", name);
    return AA_SUCCESS;
}

/* A kernel's arguments in order, like the argument list of a CUDA launch. */
typedef struct ocl_arg {
    size_t size;
    const void *value;
} ocl_arg;
#define ARG(v) {sizeof(v), &(v)}
#define NUM_ARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static double wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Profiling (aa_context_profile): the launch timed alone, the queue waited for before
 * and after it (the caller's queue may hold other work: that is waited for first). */
static aa_status timed_launch(aa_context *ctx, cl_kernel k, const aa_launch *plan, const char *name,
                               double bytes)
{
    cl_int e;
    CL_RUN(e, AA__INJECT_FINISH, clFinish(ctx->ocl->queue));
    if (e != CL_SUCCESS) return queue_failed(ctx, e, "clFinish(before timing %s)", name);
    double t0 = wall_ms();
    aa_status st = launch(ctx, k, plan, name);
    if (st != AA_SUCCESS || plan->groups_x == 0) return st;
    CL_RUN(e, AA__INJECT_FINISH, clFinish(ctx->ocl->queue));
    if (e != CL_SUCCESS) return queue_failed(ctx, e, "clFinish(timing %s)", name);
    aa__stage_add(ctx, name, wall_ms() - t0, bytes);
    return AA_SUCCESS;
}

static aa_status aa__ocl_profile(aa_context *ctx, int on)
{
    (void)ctx, (void)on; /* nothing to prepare: run_kernel asks ctx->profile */
    return AA_SUCCESS;
}

/* Sets every argument of kernel `which` and enqueues it with the plan; `bytes`, its
 * least traffic (host/traffic.h), goes beside its time when profiling. */
static aa_status run_kernel(aa_context *ctx, int which, const aa_launch *plan, double bytes,
                            const ocl_arg *args, int num_args)
{
    cl_kernel k = ctx->ocl->kernel[which];
    aa_status st = check_lost(ctx);
    if (st != AA_SUCCESS) return st;
    for (int i = 0; i < num_args; ++i) {
        cl_int e;
        CL_RUN(e, AA__INJECT_ARG, clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value));
        /* through queue_failed: the uploads this call queued may still read the caller's arrays */
        if (e != CL_SUCCESS)
            return queue_failed(ctx, e, "clSetKernelArg(%s, %d)", kernel_names[which], i);
    }
    if (ctx->profile) return timed_launch(ctx, k, plan, kernel_names[which], bytes);
    return launch(ctx, k, plan, kernel_names[which]);
}

static aa_status aa__ocl_overlaps(aa_context *ctx, aa_overlap_mode mode, float eps, const aa_batch *b,
                           float *out)
{
    cl_long num_anchors = b->num_anchors, num_gts = b->total_gts;
    size_t out_bytes = (size_t)(num_anchors * num_gts) * sizeof(float);
    if (out_bytes == 0) return AA_SUCCESS;
    cl_mem anchors, gts, dst;
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)num_anchors * 16, &anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, b->gts->boxes, (size_t)num_gts * 16, &gts);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_OVERLAP, out, out_bytes, &dst);
    if (st != AA_SUCCESS) return st;
    cl_int m = (cl_int)mode;
    cl_float e = eps;
    const ocl_arg args_overlaps[] = {ARG(anchors), ARG(num_anchors), ARG(gts), ARG(num_gts), ARG(m),
        ARG(e), ARG(dst)};
    aa_launch plan = aa__plan_elementwise(num_anchors * num_gts);
    st = run_kernel(ctx, K_OVERLAPS, &plan, aa__bytes_overlaps(b), args_overlaps, NUM_ARGS(args_overlaps));
    if (st != AA_SUCCESS) return st;
    return finish_output(ctx, dst, out, out_bytes);
}

/* ---------------------------------------------------------------- assigners */

/* The batch's arrays as kernel arguments: uploaded (AA_MEMORY_HOST) or the
 * caller's buffers, the offsets from gts.device_offsets. */
typedef struct ocl_batch {
    cl_mem anchors, gts, offsets, flags, labels;
    cl_mem out_index, out_overlap, out_labels;
} ocl_batch;

static aa_status batch_buffers(aa_context *ctx, const aa_batch *b, const aa_assignment *out,
                               ocl_batch *m)
{
    const aa_gts *g = b->gts;
    size_t n_gts = (size_t)b->total_gts, n_out = (size_t)(b->num_images * b->num_anchors);
    const int64_t *offsets = ctx->memory == AA_MEMORY_HOST ? g->offsets : g->device_offsets;
    if (!offsets)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "gts.device_offsets: NULL; the OpenCL backend reads the offsets from a "
                        "cl_mem (or use AA_MEMORY_HOST)");
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &m->anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, g->boxes, n_gts * 16, &m->gts);
    if (st == AA_SUCCESS)
        st = input(ctx, SLOT_OFFSETS, offsets, (size_t)(b->num_images + 1) * 8, &m->offsets);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_FLAGS, g->ignore_flags, n_gts, &m->flags);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_LABELS, g->labels, n_gts * 4, &m->labels);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_INDEX, out->gt_index, n_out * 4, &m->out_index);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_OVERLAP, out->overlap, n_out * 4, &m->out_overlap);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_LABELS, out->labels, n_out * 4, &m->out_labels);
    return st;
}

/* Host-memory mode: the three outputs back into the caller's arrays. */
static aa_status finish_assignment(aa_context *ctx, const aa_batch *b, const aa_assignment *out,
                                   const ocl_batch *m)
{
    size_t bytes = (size_t)(b->num_images * b->num_anchors) * 4;
    const ocl_result r[] = {{m->out_index, out->gt_index, bytes}, {m->out_overlap, out->overlap, bytes},
                            {m->out_labels, out->labels, bytes}};
    return read_results(ctx, r, 3);
}


static aa_status aa__ocl_fcos(aa_context *ctx, const aa_fcos_params *p, const aa_batch *b,
                       const aa_assignment *out)
{
    ocl_batch m;
    aa_launch plan = aa__plan_per_image(b->num_anchors, b->num_images);
    if (plan.groups_x == 0) return AA_SUCCESS;
    aa_status st = batch_buffers(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    cl_long num_points = b->num_anchors;
    cl_int num_images = b->num_images, sampling = p->center_sampling;
    cl_float radius = p->center_sample_radius;
    aa_levels lv = aa__plan_levels(b, p->regress_lo, p->regress_hi);
    const ocl_arg args_fcos[] = {ARG(m.anchors), ARG(num_points), ARG(m.gts), ARG(m.offsets),
        ARG(num_images), ARG(m.flags), ARG(m.labels), ARG(lv), ARG(sampling), ARG(radius),
        ARG(m.out_index), ARG(m.out_overlap), ARG(m.out_labels)};
    st = run_kernel(ctx, K_FCOS, &plan, aa__bytes_fcos(b, aa__bytes_outputs(out)), args_fcos, NUM_ARGS(args_fcos));
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

/* The device workspace: the caller's cl_mem (AA_MEMORY_NATIVE), else the
 * context's own, grown once and then reused. */
static aa_status workspace(aa_context *ctx, size_t bytes, void *user, size_t user_bytes, cl_mem *mem)
{
    if (user) {
        aa_status st = aa__gpu_workspace_check(ctx, bytes, user, user_bytes);
        if (st == AA_SUCCESS) *mem = (cl_mem)(uintptr_t)user;
        return st;
    }
    return stage(ctx, SLOT_WORKSPACE, bytes, mem);
}

static aa_status aa__ocl_reserve(aa_context *ctx, size_t bytes)
{
    cl_mem unused;
    return stage(ctx, SLOT_WORKSPACE, bytes, &unused);
}

static size_t aa__ocl_max_iou_ws_bytes(const aa_batch *b)
{
    aa_max_iou_ws lay;
    return aa__plan_max_iou_ws(b->num_images, b->num_anchors, b->total_gts, &lay);
}

static aa_status aa__ocl_max_iou(aa_context *ctx, const aa_max_iou_params *p, const aa_batch *b,
                          const aa_assignment *out, void *user_ws, size_t user_ws_bytes)
{
    ocl_batch m;
    cl_mem ws;
    aa_max_iou_ws lay;
    size_t ws_bytes = aa__plan_max_iou_ws(b->num_images, b->num_anchors, b->total_gts, &lay);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_buffers(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_max_iou_args args = aa__plan_max_iou_args(p);
    cl_long num_anchors = b->num_anchors, num_gts = b->total_gts;
    cl_int num_images = b->num_images;
    cl_float eps = p->eps;

    const ocl_arg args_max_iou_anchor[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
        ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(args), ARG(ws), ARG(lay)};
    st = run_kernel(ctx, K_MAX_IOU_ANCHOR, &per_image, aa__bytes_max_iou_anchor(b), args_max_iou_anchor,
        NUM_ARGS(args_max_iou_anchor));
    if (st != AA_SUCCESS) return st;

    if (p->match_low_quality) { /* the per-GT maxima feed only the low-quality pass */
        aa_launch per_gt = aa__plan_per_gt(b->total_gts);
        const ocl_arg args_max_iou_gt[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
            ARG(num_gts), ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(eps), ARG(ws),
            ARG(lay)};
        st = run_kernel(ctx, K_MAX_IOU_GT, &per_gt, aa__bytes_max_iou_gt(b), args_max_iou_gt, NUM_ARGS(args_max_iou_gt));
        if (st != AA_SUCCESS) return st;
    }

    const ocl_arg args_max_iou_assign[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
        ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(m.labels), ARG(args), ARG(ws), ARG(lay),
        ARG(m.out_index), ARG(m.out_overlap), ARG(m.out_labels)};
    st = run_kernel(ctx, K_MAX_IOU_ASSIGN, &per_image, aa__bytes_max_iou_assign(b, p->match_low_quality, aa__bytes_outputs(out)), args_max_iou_assign,
        NUM_ARGS(args_max_iou_assign));
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

static aa_atss_ws atss_layout(const aa_atss_params *p, const aa_batch *b, size_t *bytes)
{
    aa_atss_ws lay;
    *bytes = aa__plan_atss_ws(b->num_images, b->num_anchors, b->total_gts, b->num_levels, p->topk, &lay);
    return lay;
}

static size_t aa__ocl_atss_ws_bytes(const aa_atss_params *p, const aa_batch *b)
{
    size_t bytes;
    atss_layout(p, b, &bytes);
    return bytes;
}

static aa_status aa__ocl_atss(aa_context *ctx, const aa_atss_params *p, const aa_batch *b,
                       const aa_assignment *out, void *user_ws, size_t user_ws_bytes)
{
    ocl_batch m;
    cl_mem ws;
    size_t ws_bytes;
    aa_atss_ws lay = atss_layout(p, b, &ws_bytes);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_buffers(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_atss_args args = aa__plan_atss_args(p, 1);
    cl_long num_anchors = b->num_anchors, num_gts = b->total_gts;
    cl_int num_images = b->num_images, num_levels = b->num_levels;
    aa_levels lv = aa__plan_levels(b, NULL, NULL);
    const ocl_arg args_atss_prepare[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
        ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(args), ARG(ws), ARG(lay)};
    st = run_kernel(ctx, K_ATSS_PREPARE, &per_image, aa__bytes_atss_prepare(b), args_atss_prepare,
        NUM_ARGS(args_atss_prepare));
    if (st != AA_SUCCESS) return st;

    aa_launch per_pair = aa__plan_per_gt(b->total_gts * b->num_levels);
    const ocl_arg args_atss_topk[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts), ARG(num_gts),
        ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(lv), ARG(args), ARG(ws), ARG(lay.state),
        ARG(ws), ARG(lay.candidates)};
    st = run_kernel(ctx, K_ATSS_TOPK, &per_pair, aa__bytes_atss_topk(b, p->topk), args_atss_topk, NUM_ARGS(args_atss_topk));
    if (st != AA_SUCCESS) return st;

    aa_launch per_gt = aa__plan_elementwise(b->total_gts);
    const ocl_arg args_atss_select[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts), ARG(num_gts),
        ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(num_levels), ARG(args), ARG(ws),
        ARG(lay)};
    st = run_kernel(ctx, K_ATSS_SELECT, &per_gt, aa__bytes_atss_select(b, p->topk), args_atss_select, NUM_ARGS(args_atss_select));
    if (st != AA_SUCCESS) return st;

    aa_launch per_pair_out = aa__plan_elementwise(b->num_images * b->num_anchors);
    const ocl_arg args_atss_assign[] = {ARG(num_anchors), ARG(m.offsets), ARG(num_images),
        ARG(m.labels), ARG(ws), ARG(lay), ARG(m.out_index), ARG(m.out_overlap), ARG(m.out_labels)};
    st = run_kernel(ctx, K_ATSS_ASSIGN, &per_pair_out, aa__bytes_atss_assign(b, aa__bytes_outputs(out)), args_atss_assign,
        NUM_ARGS(args_atss_assign));
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

/* ---------------------------------------------------------------- ATSS primitives */

static aa_status aa__ocl_topk_nearest(aa_context *ctx, int32_t topk, const aa_batch *b, int32_t *candidates)
{
    size_t bytes = (size_t)b->total_gts * (size_t)b->num_levels * (size_t)topk * sizeof(int32_t);
    aa_launch plan = aa__plan_per_gt(b->total_gts * b->num_levels);
    if (plan.groups_x == 0) return AA_SUCCESS;
    cl_mem anchors, gts, offsets, out;
    const int64_t *off = ctx->memory == AA_MEMORY_HOST ? b->gts->offsets : b->gts->device_offsets;
    if (!off)
        return aa__fail(ctx, AA_ERR_NULL_POINTER,
                        "gts.device_offsets: NULL; the OpenCL backend reads the offsets from a "
                        "cl_mem (or use AA_MEMORY_HOST)");
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, b->gts->boxes, (size_t)b->total_gts * 16, &gts);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_OFFSETS, off, (size_t)(b->num_images + 1) * 8, &offsets);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_CANDIDATES, candidates, bytes, &out);
    if (st != AA_SUCCESS) return st;
    aa_atss_args args;
    memset(&args, 0, sizeof args);
    args.topk = topk; /* every GT, crowd too; no ignore regions */
    aa_levels lv = aa__plan_levels(b, NULL, NULL);
    cl_long num_anchors = b->num_anchors, num_gts = b->total_gts, no_state = -1, at0 = 0;
    cl_int num_images = b->num_images;
    cl_mem none = NULL;
    const ocl_arg args_atss_topk[] = {ARG(anchors), ARG(num_anchors), ARG(gts), ARG(num_gts),
        ARG(offsets), ARG(num_images), ARG(none), ARG(lv), ARG(args), ARG(none), ARG(no_state),
        ARG(out), ARG(at0)};
    st = run_kernel(ctx, K_ATSS_TOPK, &plan, aa__bytes_topk_nearest(b, topk), args_atss_topk, NUM_ARGS(args_atss_topk));
    if (st != AA_SUCCESS) return st;
    return finish_output(ctx, out, candidates, bytes);
}

static aa_status aa__ocl_candidate_stats(aa_context *ctx, int32_t topk, float eps, const aa_batch *b,
                                  const int32_t *candidates, double *mean, double *std)
{
    size_t n_gts = (size_t)b->total_gts;
    size_t cand_bytes = n_gts * (size_t)b->num_levels * (size_t)topk * sizeof(int32_t);
    aa_launch plan = aa__plan_elementwise(b->total_gts);
    if (plan.groups_x == 0) return AA_SUCCESS;
    cl_mem anchors, gts, cand, dmean, dstd;
    aa_status st = input(ctx, SLOT_ANCHORS, b->anchors->boxes, (size_t)b->num_anchors * 16, &anchors);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_GTS, b->gts->boxes, n_gts * 16, &gts);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_CANDIDATES, candidates, cand_bytes, &cand);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_OVERLAP, mean, n_gts * 8, &dmean);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_OUT_LABELS, std, n_gts * 8, &dstd);
    if (st != AA_SUCCESS) return st;
    cl_long num_anchors = b->num_anchors, num_gts = b->total_gts;
    cl_long per_gt = (cl_long)b->num_levels * topk;
    cl_float e = eps;
    const ocl_arg args_candidate_stats[] = {ARG(anchors), ARG(num_anchors), ARG(gts), ARG(num_gts),
        ARG(per_gt), ARG(e), ARG(cand), ARG(dmean), ARG(dstd)};
    st = run_kernel(ctx, K_CANDIDATE_STATS, &plan, aa__bytes_candidate_stats(b, topk), args_candidate_stats,
        NUM_ARGS(args_candidate_stats));
    if (st != AA_SUCCESS) return st;
    const ocl_result r[] = {{dmean, mean, n_gts * 8}, {dstd, std, n_gts * 8}};
    return read_results(ctx, r, 2);
}

/* ---------------------------------------------------------------- Gaussian mixtures */

static size_t aa__ocl_gmm_ws_bytes(const aa_gmm_params *p, const aa_gmm_batch *g)
{
    aa_gmm_ws lay;
    return aa__plan_gmm_ws(g->total_points, p->num_components, &lay);
}

/* The eight optional outputs (NULL: not wanted) as kernel arguments. */
typedef struct ocl_gmm_out {
    cl_mem w, mu, var, bound, iter, status, labels, density;
} ocl_gmm_out;

static aa_status gmm_outputs(aa_context *ctx, const aa_gmm_result *r, size_t per_k, size_t segs,
                             size_t pts, ocl_gmm_out *m)
{
    aa_status st = output(ctx, SLOT_GMM_WEIGHTS, r->weights, per_k * 8, &m->w);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_MEANS, r->means, per_k * 8, &m->mu);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_VARIANCES, r->variances, per_k * 8, &m->var);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_BOUND, r->lower_bound, segs * 8, &m->bound);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_ITERATIONS, r->iterations, segs * 4, &m->iter);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_STATUS, r->status, segs * 4, &m->status);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_LABELS, r->labels, pts * 4, &m->labels);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_GMM_DENSITY, r->log_density, pts * 8, &m->density);
    return st;
}

static aa_status gmm_finish(aa_context *ctx, const aa_gmm_result *r, size_t per_k, size_t segs,
                            size_t pts, const ocl_gmm_out *m)
{
    /* every output is optional: with none read back, read_results still waits for
     * the uploads of the caller's arrays */
    const ocl_result res[] = {{m->w, r->weights, per_k * 8}, {m->mu, r->means, per_k * 8},
                              {m->var, r->variances, per_k * 8}, {m->bound, r->lower_bound, segs * 8},
                              {m->iter, r->iterations, segs * 4}, {m->status, r->status, segs * 4},
                              {m->labels, r->labels, pts * 4}, {m->density, r->log_density, pts * 8}};
    return read_results(ctx, res, 8);
}

static aa_status aa__ocl_gmm(aa_context *ctx, const aa_gmm_params *p, const aa_gmm_batch *g,
                             const aa_gmm_result *out, void *user_ws, size_t user_ws_bytes)
{
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
                        "segments.device_offsets: NULL; the OpenCL backend reads the offsets from "
                        "a cl_mem (or use AA_MEMORY_HOST)");
    int given = p->init == AA_GMM_INIT_GIVEN;
    cl_mem ws, points, offsets, iw, imu, iprec;
    ocl_gmm_out m;
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
    cl_long num_segments = g->num_segments;
    const ocl_arg args_gmm[] = {ARG(points), ARG(offsets), ARG(num_segments), ARG(args), ARG(iw),
        ARG(imu), ARG(iprec), ARG(ws), ARG(lay), ARG(m.w), ARG(m.mu), ARG(m.var), ARG(m.bound),
        ARG(m.iter), ARG(m.status), ARG(m.labels), ARG(m.density)};
    st = run_kernel(ctx, K_GMM, &plan, aa__bytes_gmm(p, g, out), args_gmm, NUM_ARGS(args_gmm));
    if (st != AA_SUCCESS) return st;
    return gmm_finish(ctx, out, per_k, segs, pts, &m);
}

/* ---------------------------------------------------------------- PAA */

/* The head outputs a cost reads, as kernel arguments. */
static aa_status paa_head(aa_context *ctx, const aa_batch *b, const aa_head_outputs *h, cl_mem *logits,
                          cl_mem *deltas)
{
    size_t rows = (size_t)(b->num_images * b->num_anchors), elem = h->dtype == AA_FLOAT32 ? 4 : 2;
    aa_status st = input(ctx, SLOT_PAA_LOGITS, h->cls_logits, rows * (size_t)h->num_classes * elem, logits);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_DELTAS, h->bbox_deltas, rows * 4 * elem, deltas);
    return st;
}

/* The cost kernel: pre-assignment at (pre, pre_at), costs to (costs, cost_at). */
static aa_status paa_cost_launch(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                 const aa_head_outputs *h, const ocl_batch *m, cl_mem pre, cl_long pre_at,
                                 cl_mem costs, cl_long cost_at)
{
    cl_mem logits, deltas;
    aa_status st = paa_head(ctx, b, h, &logits, &deltas);
    if (st != AA_SUCCESS) return st;
    aa_paa_args args = aa__plan_paa_args(p, h);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    cl_long num_anchors = b->num_anchors;
    cl_int num_images = b->num_images;
    const ocl_arg args_paa_cost[] = {ARG(m->anchors), ARG(num_anchors), ARG(m->gts), ARG(m->offsets),
        ARG(num_images), ARG(m->labels), ARG(pre), ARG(pre_at), ARG(logits), ARG(deltas), ARG(args),
        ARG(costs), ARG(cost_at)};
    return run_kernel(ctx, K_PAA_COST, &per_image, aa__bytes_paa_cost(b), args_paa_cost, NUM_ARGS(args_paa_cost));
}

/* The outputs' initial values, then the selection, from (pre, pre_at) and
 * (costs, cost_at); the selection's workspace at lay (`out`: the caller's outputs, m's
 * in device memory). */
static aa_status paa_select_launch(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                   const aa_assignment *out, const ocl_batch *m, cl_mem pre, cl_long pre_at, cl_mem costs,
                                   cl_long cost_at, cl_mem ws, const aa_paa_select_ws *lay)
{
    cl_long rows = b->num_images * b->num_anchors, num_anchors = b->num_anchors, num_gts = b->total_gts;
    cl_int num_images = b->num_images;
    aa_launch per_row = aa__plan_elementwise(rows);
    const ocl_arg args_paa_init[] = {ARG(rows), ARG(pre), ARG(pre_at), ARG(costs), ARG(cost_at),
        ARG(m->out_index), ARG(m->out_overlap), ARG(m->out_labels)};
    aa_status st = run_kernel(ctx, K_PAA_INIT, &per_row, aa__bytes_paa_init(b, aa__bytes_outputs(out)), args_paa_init, NUM_ARGS(args_paa_init));
    if (st != AA_SUCCESS) return st;
    aa_launch per_gt = aa__plan_paa_select(b->total_gts);
    aa_levels lv = aa__plan_levels(b, NULL, NULL);
    aa_paa_args args = aa__plan_paa_args(p, NULL);
    aa_gmm_args gmm = aa__plan_gmm_args(&p->gmm);
    aa_paa_select_ws l = *lay;
    const ocl_arg args_paa_select[] = {ARG(num_anchors), ARG(m->offsets), ARG(num_images), ARG(num_gts),
        ARG(m->labels), ARG(lv), ARG(args), ARG(gmm), ARG(pre), ARG(pre_at), ARG(costs), ARG(cost_at),
        ARG(ws), ARG(l), ARG(m->out_index), ARG(m->out_labels)};
    return run_kernel(ctx, K_PAA_SELECT, &per_gt, aa__bytes_paa_select(b), args_paa_select, NUM_ARGS(args_paa_select));
}

static aa_status aa__ocl_paa_costs(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                   const aa_head_outputs *h, const int32_t *pre, float *costs)
{
    size_t rows = (size_t)(b->num_images * b->num_anchors);
    if (rows == 0) return AA_SUCCESS;
    ocl_batch m;
    aa_assignment none = {NULL, NULL, NULL};
    cl_mem dpre, dcosts;
    aa_status st = batch_buffers(ctx, b, &none, &m);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_PRE, pre, rows * 4, &dpre);
    if (st == AA_SUCCESS) st = output(ctx, SLOT_PAA_COSTS, costs, rows * 4, &dcosts);
    if (st == AA_SUCCESS) st = paa_cost_launch(ctx, p, b, h, &m, dpre, 0, dcosts, 0);
    if (st == AA_SUCCESS) st = finish_output(ctx, dcosts, costs, rows * 4);
    return st;
}

static size_t aa__ocl_paa_select_ws_bytes(const aa_paa_params *p, const aa_batch *b)
{
    aa_paa_select_ws lay;
    return aa__plan_paa_select_layout(p, b, &lay);
}

static aa_status aa__ocl_paa_select(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                                    const int32_t *pre, const float *costs, const aa_assignment *out,
                                    void *user_ws, size_t user_ws_bytes)
{
    size_t rows = (size_t)(b->num_images * b->num_anchors);
    if (rows == 0) return AA_SUCCESS;
    aa_paa_select_ws lay;
    size_t ws_bytes = aa__plan_paa_select_layout(p, b, &lay);
    ocl_batch m;
    cl_mem ws, dpre, dcosts;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_buffers(ctx, b, out, &m);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_PRE, pre, rows * 4, &dpre);
    if (st == AA_SUCCESS) st = input(ctx, SLOT_PAA_COSTS, costs, rows * 4, &dcosts);
    if (st == AA_SUCCESS) st = paa_select_launch(ctx, p, b, out, &m, dpre, 0, dcosts, 0, ws, &lay);
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

static size_t aa__ocl_paa_ws_bytes(const aa_paa_params *p, const aa_batch *b)
{
    int64_t cost_at;
    aa_max_iou_ws mi;
    aa_paa_select_ws sel;
    return aa__plan_paa_layout(p, b, &cost_at, &mi, &sel);
}

/* The whole of PAA: the max-IoU kernels write the pre-assignment into the gt_index
 * output, copied into the workspace before the outputs are initialised. */
static aa_status aa__ocl_paa(aa_context *ctx, const aa_paa_params *p, const aa_batch *b,
                             const aa_head_outputs *h, const aa_assignment *out, void *user_ws,
                             size_t user_ws_bytes)
{
    int64_t cost_at;
    aa_max_iou_ws mi;
    aa_paa_select_ws sel;
    size_t ws_bytes = aa__plan_paa_layout(p, b, &cost_at, &mi, &sel);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    ocl_batch m;
    cl_mem ws;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_buffers(ctx, b, out, &m);
    if (st != AA_SUCCESS) return st;
    aa_max_iou_args args = aa__plan_max_iou_args(&p->pre);
    cl_long num_anchors = b->num_anchors, num_gts = b->total_gts, rows = b->num_images * b->num_anchors;
    cl_long pre_at = 0, cost_at_l = cost_at;
    cl_int num_images = b->num_images;
    cl_float eps = p->pre.eps;
    cl_mem none = NULL;
    const ocl_arg args_max_iou_anchor[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
        ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(args), ARG(ws), ARG(mi)};
    st = run_kernel(ctx, K_MAX_IOU_ANCHOR, &per_image, aa__bytes_max_iou_anchor(b), args_max_iou_anchor,
        NUM_ARGS(args_max_iou_anchor));
    if (st == AA_SUCCESS && p->pre.match_low_quality) {
        aa_launch per_gt = aa__plan_per_gt(b->total_gts);
        const ocl_arg args_max_iou_gt[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
            ARG(num_gts), ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(eps), ARG(ws), ARG(mi)};
        st = run_kernel(ctx, K_MAX_IOU_GT, &per_gt, aa__bytes_max_iou_gt(b), args_max_iou_gt, NUM_ARGS(args_max_iou_gt));
    }
    if (st == AA_SUCCESS) {
        const ocl_arg args_max_iou_assign[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts),
            ARG(m.offsets), ARG(num_images), ARG(m.flags), ARG(m.labels), ARG(args), ARG(ws), ARG(mi),
            ARG(m.out_index), ARG(none), ARG(none)};
        st = run_kernel(ctx, K_MAX_IOU_ASSIGN, &per_image, aa__bytes_max_iou_assign(b, p->pre.match_low_quality, 1), args_max_iou_assign,
            NUM_ARGS(args_max_iou_assign));
    }
    if (st == AA_SUCCESS) {
        aa_launch per_row = aa__plan_elementwise(rows);
        const ocl_arg args_paa_copy[] = {ARG(m.out_index), ARG(rows), ARG(ws), ARG(pre_at)};
        st = run_kernel(ctx, K_PAA_COPY, &per_row, aa__bytes_paa_copy(b), args_paa_copy, NUM_ARGS(args_paa_copy));
    }
    if (st == AA_SUCCESS) st = paa_cost_launch(ctx, p, b, h, &m, ws, pre_at, ws, cost_at_l);
    if (st == AA_SUCCESS) st = paa_select_launch(ctx, p, b, out, &m, ws, pre_at, ws, cost_at_l, ws, &sel);
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

/* ---------------------------------------------------------------- LADA */

static size_t aa__ocl_lada_ws_bytes(const aa_lada_params *p, const aa_batch *b)
{
    aa_lada_ws lay;
    return aa__plan_lada_layout(p, b, &lay);
}

/* Clear the claim keys, select per GT, decode the keys into the outputs. */
static aa_status aa__ocl_lada(aa_context *ctx, const aa_lada_params *p, const aa_batch *b,
                              const aa_head_outputs *h, const aa_assignment *out, void *user_ws,
                              size_t user_ws_bytes)
{
    aa_lada_ws lay;
    size_t ws_bytes = aa__plan_lada_layout(p, b, &lay);
    aa_launch per_image = aa__plan_per_image(b->num_anchors, b->num_images);
    if (per_image.groups_x == 0) return AA_SUCCESS;
    ocl_batch m;
    cl_mem ws, logits = NULL, deltas = NULL;
    aa_status st = workspace(ctx, ws_bytes, user_ws, user_ws_bytes, &ws);
    if (st == AA_SUCCESS) st = batch_buffers(ctx, b, out, &m);
    if (st == AA_SUCCESS && b->total_gts > 0) st = paa_head(ctx, b, h, &logits, &deltas);
    if (st != AA_SUCCESS) return st;
    cl_long rows = b->num_images * b->num_anchors, num_anchors = b->num_anchors, num_gts = b->total_gts;
    cl_int num_images = b->num_images;
    aa_launch per_row = aa__plan_elementwise(rows);
    const ocl_arg args_lada_clear[] = {ARG(rows), ARG(ws), ARG(lay)};
    st = run_kernel(ctx, K_LADA_CLEAR, &per_row, aa__bytes_lada_clear(b), args_lada_clear, NUM_ARGS(args_lada_clear));
    if (st == AA_SUCCESS && num_gts > 0) {
        aa_launch per_gt = aa__plan_lada_select(b->total_gts);
        aa_levels lv = aa__plan_levels(b, NULL, NULL);
        aa_lada_args args = aa__plan_lada_args(p, h);
        const ocl_arg args_lada_select[] = {ARG(m.anchors), ARG(num_anchors), ARG(m.gts), ARG(m.offsets),
            ARG(num_images), ARG(num_gts), ARG(m.flags), ARG(m.labels), ARG(lv), ARG(args), ARG(logits),
            ARG(deltas), ARG(ws), ARG(lay)};
        st = run_kernel(ctx, K_LADA_SELECT, &per_gt, aa__bytes_lada_select(b), args_lada_select, NUM_ARGS(args_lada_select));
    }
    if (st == AA_SUCCESS) {
        const ocl_arg args_lada_assign[] = {ARG(num_anchors), ARG(m.offsets), ARG(num_images), ARG(m.labels),
            ARG(ws), ARG(lay), ARG(m.out_index), ARG(m.out_overlap), ARG(m.out_labels)};
        st = run_kernel(ctx, K_LADA_ASSIGN, &per_image, aa__bytes_lada_assign(b, aa__bytes_outputs(out)), args_lada_assign, NUM_ARGS(args_lada_assign));
    }
    if (st != AA_SUCCESS) return st;
    return finish_assignment(ctx, b, out, &m);
}

const aa_gpu_ops aa__ocl_ops = {
    aa__ocl_reserve,        aa__ocl_overlaps,          aa__ocl_topk_nearest,
    aa__ocl_candidate_stats, aa__ocl_max_iou_ws_bytes, aa__ocl_max_iou,
    aa__ocl_atss_ws_bytes,  aa__ocl_atss,              aa__ocl_fcos,
    aa__ocl_gmm_ws_bytes,   aa__ocl_gmm,
    aa__ocl_paa_costs,      aa__ocl_paa_select_ws_bytes, aa__ocl_paa_select,
    aa__ocl_paa_ws_bytes,   aa__ocl_paa,
    aa__ocl_lada_ws_bytes,  aa__ocl_lada,           aa__ocl_profile,
};
