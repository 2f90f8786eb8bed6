/* context.c - context life cycle, stream/queue and workspace. The CPU reference is
 * always there; the OpenCL backend when built with it; CUDA not yet. */
#include "internal.h"
#include "alloc.h"

#if AA_HAVE_OPENCL
#include "opencl/ocl_backend.h"
#endif
#if AA_HAVE_CUDA
#include "cuda/cuda_backend.h"
#include <cuda_runtime_api.h>
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER)
#define AA_THREAD_LOCAL __declspec(thread)
#else
#define AA_THREAD_LOCAL __thread
#endif

static void aa__cleanup_backends(aa_context *ctx);

/* aa_context_create has no context to keep its message in: a per-thread one. */
static AA_THREAD_LOCAL char create_error[AA_ERROR_CAPACITY];

const char *aa_context_create_error(void) { return create_error; }

static aa_status create_failed(aa_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(create_error, sizeof create_error, fmt, ap);
    va_end(ap);
    return status;
}

void aa_context_options_init(aa_context_options *options)
{
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->backend = AA_BACKEND_AUTO;
    options->memory = AA_MEMORY_NATIVE;
}

/* Starts the backend of a new context; on failure the message is on c. */
static aa_status start_backend(aa_context *c)
{
    switch (c->backend) {
    case AA_BACKEND_CPU:
        return AA_SUCCESS;
    case AA_BACKEND_OPENCL:
#if AA_HAVE_OPENCL
        c->gpu = &aa__ocl_ops;
        return aa__ocl_create(c, c->platform, c->device);
#else
        return aa__fail(c, AA_ERR_NOT_SUPPORTED, "backend opencl: not built (no OpenCL found at build time)");
#endif
    case AA_BACKEND_CUDA:
#if AA_HAVE_CUDA
        c->gpu = &aa__cuda_ops;
        return aa__cuda_create(c, c->device);
#else
        return aa__fail(c, AA_ERR_NOT_SUPPORTED, "backend cuda: not built (no CUDA toolkit found at build time)");
#endif
    default:
        return aa__fail(c, AA_ERR_INTERNAL, "backend %d", (int)c->backend);
    }
}

aa_status aa_context_create(aa_context **ctx, const aa_context_options *options)
{
    aa_context_options opts;
    create_error[0] = '\0';
    if (!ctx) return create_failed(AA_ERR_NULL_POINTER, "ctx: NULL");
    *ctx = NULL;
    aa_context_options_init(&opts);
    if (options) {
        if (options->struct_size == 0 || options->struct_size > sizeof opts)
            return create_failed(AA_ERR_INVALID_ARGUMENT,
                                 "options.struct_size: %zu is not a valid size (expected 1..%zu)",
                                 options->struct_size, sizeof opts);
        memcpy(&opts, options, options->struct_size);
    }
    /* AUTO: a CUDA device, else an OpenCL GPU, else the reference. A CPU OpenCL
     * device such as PoCL is for testing the kernels, not faster than the
     * reference: AUTO leaves it. */
    int auto_chosen = 0;
    if (opts.backend == AA_BACKEND_AUTO) {
        opts.backend = AA_BACKEND_CPU;
#if AA_HAVE_OPENCL
        if (aa__ocl_first_gpu(&opts.platform, &opts.device)) opts.backend = AA_BACKEND_OPENCL;
#endif
#if AA_HAVE_CUDA
        int devices = 0;
        if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > opts.device)
            opts.backend = AA_BACKEND_CUDA;
#endif
        auto_chosen = opts.backend != AA_BACKEND_CPU;
    }
    if (opts.backend != AA_BACKEND_CPU && opts.backend != AA_BACKEND_CUDA &&
        opts.backend != AA_BACKEND_OPENCL)
        return create_failed(AA_ERR_INVALID_ARGUMENT, "options.backend: %d is not an aa_backend",
                             (int)opts.backend);
    if (opts.memory != AA_MEMORY_NATIVE && opts.memory != AA_MEMORY_HOST)
        return create_failed(AA_ERR_INVALID_ARGUMENT, "options.memory: %d is not an aa_memory",
                             (int)opts.memory);
    if (opts.device < 0 || opts.platform < 0)
        return create_failed(AA_ERR_INVALID_ARGUMENT, "options.device/platform: %d/%d is negative",
                             opts.device, opts.platform);

    aa_context *c = aa__calloc(1, sizeof *c);
    if (!c)
        return create_failed(AA_ERR_OUT_OF_MEMORY, "context: could not allocate %zu bytes of host memory",
                             sizeof *c);
    c->backend = opts.backend;
    c->memory = opts.memory;
    c->device = opts.device;
    c->platform = opts.platform;
    aa_status st = start_backend(c);
    if (st != AA_SUCCESS && auto_chosen) {
        /* AUTO's GPU cannot run our kernels: say so on the context, use the reference */
        char why[AA_ERROR_CAPACITY];
        snprintf(why, sizeof why, "%s", c->last_error);
        aa__cleanup_backends(c);
        c->backend = AA_BACKEND_CPU, c->gpu = NULL;
        st = aa__fail(c, AA_SUCCESS, "AUTO: %s; using the CPU reference", why);
    }
    if (st != AA_SUCCESS) {
        create_failed(st, "%s", c->last_error);
        aa_context_destroy(c);
        return st;
    }
    *ctx = c;
    return AA_SUCCESS;
}

/* Releases whatever backend state a context holds (none for the CPU). */
static void aa__cleanup_backends(aa_context *ctx)
{
#if AA_HAVE_OPENCL
    aa__ocl_destroy(ctx);
#endif
#if AA_HAVE_CUDA
    aa__cuda_destroy(ctx);
#endif
    (void)ctx;
}

void aa_context_destroy(aa_context *ctx)
{
    if (!ctx) return;
    aa__cleanup_backends(ctx);
    aa__free(ctx->workspace);
    aa__free(ctx);
}

aa_backend aa_context_backend(const aa_context *ctx)
{
    return ctx ? ctx->backend : AA_BACKEND_AUTO;
}

const char *aa_context_device_name(const aa_context *ctx)
{
    if (!ctx) return "no context (NULL)";
#if AA_HAVE_OPENCL
    if (ctx->backend == AA_BACKEND_OPENCL) return aa__ocl_device_name(ctx);
#endif
#if AA_HAVE_CUDA
    if (ctx->backend == AA_BACKEND_CUDA) return aa__cuda_device_name(ctx);
#endif
    return "CPU reference";
}

const char *aa_context_last_error(const aa_context *ctx)
{
    return ctx ? ctx->last_error : "no context (NULL)";
}

aa_status aa_context_set_stream(aa_context *ctx, void *stream)
{
    if (!ctx) return AA_ERR_NULL_POINTER;
    if (ctx->backend == AA_BACKEND_CPU && stream != NULL)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "stream: the CPU backend has no streams, pass NULL");
#if AA_HAVE_OPENCL
    if (ctx->backend == AA_BACKEND_OPENCL) {
        aa_status st = aa__ocl_set_queue(ctx, stream);
        if (st != AA_SUCCESS) return st;
    }
#endif
#if AA_HAVE_CUDA
    if (ctx->backend == AA_BACKEND_CUDA) aa__cuda_set_stream(ctx, stream);
#endif
    ctx->stream = stream;
    return AA_SUCCESS;
}

aa_status aa_context_get_stream(const aa_context *ctx, void **stream)
{
    if (!ctx || !stream) return AA_ERR_NULL_POINTER;
    *stream = ctx->stream;
#if AA_HAVE_OPENCL
    if (ctx->backend == AA_BACKEND_OPENCL && !ctx->stream) *stream = aa__ocl_default_queue(ctx);
#endif
    return AA_SUCCESS;
}

aa_status aa_context_profile(aa_context *ctx, int on)
{
    if (!ctx) return AA_ERR_NULL_POINTER;
    if (!ctx->gpu)
        return aa__fail(ctx, AA_ERR_NOT_SUPPORTED,
                        "aa_context_profile: the CPU reference has no kernel launches to time");
    aa_status st = ctx->gpu->profile(ctx, on != 0);
    if (st == AA_SUCCESS) ctx->profile = on != 0;
    ctx->num_stages = 0;
    return st;
}

aa_status aa_context_stages(const aa_context *ctx, const aa_stage_time **stages, int *count)
{
    if (!ctx || !stages || !count) return AA_ERR_NULL_POINTER;
    if (!ctx->gpu) return AA_ERR_NOT_SUPPORTED;
    *stages = ctx->stages;
    *count = ctx->num_stages;
    return AA_SUCCESS;
}

aa_status aa_context_reserve(aa_context *ctx, size_t bytes)
{
    void *unused;
    if (!ctx) return AA_ERR_NULL_POINTER;
    if (ctx->gpu) return ctx->gpu->reserve(ctx, bytes);
    return aa__workspace_acquire(ctx, bytes, NULL, 0, &unused);
}
