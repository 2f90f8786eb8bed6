/* context.c - context life cycle, stream and workspace. Only the CPU backend
 * exists in this build; CUDA and OpenCL report AA_ERR_NOT_SUPPORTED. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void aa_context_options_init(aa_context_options *options)
{
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->backend = AA_BACKEND_AUTO;
}

aa_status aa_context_create(aa_context **ctx, const aa_context_options *options)
{
    aa_context_options opts;
    if (!ctx) return AA_ERR_NULL_POINTER;
    *ctx = NULL;
    aa_context_options_init(&opts);
    if (options) {
        if (options->struct_size == 0 || options->struct_size > sizeof opts)
            return AA_ERR_INVALID_ARGUMENT;
        memcpy(&opts, options, options->struct_size);
    }
    switch (opts.backend) {
    case AA_BACKEND_AUTO: /* no GPU backend compiled in yet: the reference */
        opts.backend = AA_BACKEND_CPU;
        break;
    case AA_BACKEND_CPU:
        break;
    case AA_BACKEND_CUDA:
    case AA_BACKEND_OPENCL:
        return AA_ERR_NOT_SUPPORTED;
    default:
        return AA_ERR_INVALID_ARGUMENT;
    }
    if (opts.device < 0 || opts.platform < 0) return AA_ERR_INVALID_ARGUMENT;

    aa_context *c = calloc(1, sizeof *c);
    if (!c) return AA_ERR_OUT_OF_MEMORY;
    c->backend = opts.backend;
    c->device = opts.device;
    c->platform = opts.platform;
    *ctx = c;
    return AA_SUCCESS;
}

void aa_context_destroy(aa_context *ctx)
{
    if (!ctx) return;
    free(ctx->workspace);
    free(ctx);
}

aa_backend aa_context_backend(const aa_context *ctx)
{
    return ctx ? ctx->backend : AA_BACKEND_AUTO;
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
    ctx->stream = stream;
    return AA_SUCCESS;
}

aa_status aa_context_get_stream(const aa_context *ctx, void **stream)
{
    if (!ctx || !stream) return AA_ERR_NULL_POINTER;
    *stream = ctx->stream;
    return AA_SUCCESS;
}

aa_status aa_context_reserve(aa_context *ctx, size_t bytes)
{
    void *unused;
    if (!ctx) return AA_ERR_NULL_POINTER;
    return aa__workspace_acquire(ctx, bytes, NULL, 0, &unused);
}
