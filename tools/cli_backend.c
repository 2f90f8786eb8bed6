/*
 * cli_backend.c - the assigners the CLI knows, and memory of a context's backend:
 * the library takes backend memory (host on CPU, device memory on CUDA), so the
 * CLI copies its host inputs there and the results back.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#if defined(AA_CLI_HAVE_CUDA) && AA_CLI_HAVE_CUDA
#include <cuda_runtime_api.h>
#define CLI_CUDA 1
#else
#define CLI_CUDA 0
#endif

/* ---------------------------------------------------------------- assigners */

static const cli_assigner assigners[CLI_NUM_ASSIGNERS] = {
    {CLI_MAX_IOU, "max-iou", AA_WL_ANCHORS_RETINA},
    {CLI_ATSS, "atss", AA_WL_ANCHORS_ATSS},
    {CLI_FCOS, "fcos", AA_WL_POINTS_FCOS},
    {CLI_FCOS_CS, "fcos-center-sampling", AA_WL_POINTS_FCOS},
};

const cli_assigner *cli_assigner_get(cli_assigner_id id)
{
    return (id >= 0 && id < CLI_NUM_ASSIGNERS) ? &assigners[id] : NULL;
}

const cli_assigner *cli_assigner_find(const char *name)
{
    for (int i = 0; i < CLI_NUM_ASSIGNERS; ++i)
        if (strcmp(assigners[i].name, name) == 0)
            return &assigners[i];
    return NULL;
}

aa_status cli_assigner_run(aa_context *ctx, const cli_assigner *as, const aa_anchors *anchors,
                           const aa_gts *gts, const aa_assignment *out)
{
    switch (as->id) {
    case CLI_MAX_IOU:
        return aa_assign_max_iou(ctx, NULL, anchors, gts, out, NULL, 0);
    case CLI_ATSS:
        return aa_assign_atss(ctx, NULL, anchors, gts, out, NULL, 0);
    case CLI_FCOS:
    case CLI_FCOS_CS: {
        aa_fcos_params p;
        aa_fcos_params_init(&p);
        p.center_sampling = as->id == CLI_FCOS_CS;
        return aa_assign_fcos(ctx, &p, anchors, gts, out, NULL, 0);
    }
    default:
        return AA_ERR_INVALID_ARGUMENT;
    }
}

/* ---------------------------------------------------------------- devices */

#if CLI_CUDA
static int cuda_check(cudaError_t e, const char *call, char *why, size_t why_size)
{
    if (e == cudaSuccess)
        return 0;
    snprintf(why, why_size, "%s: %s", call, cudaGetErrorString(e));
    return -1;
}

static cudaStream_t cuda_stream(const cli_device *dev)
{
    void *s = NULL;
    aa_context_get_stream(dev->ctx, &s);
    return (cudaStream_t)s;
}
#endif

aa_status cli_device_open(cli_device *dev, aa_backend backend, char *why, size_t why_size)
{
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = backend;
    dev->ctx = NULL;
    dev->backend = backend;
    aa_status st = aa_context_create(&dev->ctx, &opt);
    if (st != AA_SUCCESS) {
        /* No context to hold a message: the status string is what there is. */
        snprintf(why, why_size, "%s", aa_status_string(st));
        return st;
    }
    int usable = backend == AA_BACKEND_CPU || (backend == AA_BACKEND_CUDA && CLI_CUDA);
    if (!usable) {
        /* The library has the backend, but the CLI cannot hand it memory: CUDA
         * without the runtime linked in, OpenCL until the API says how cl_mem
         * buffers are passed. */
        snprintf(why, why_size, "the CLI cannot pass %s memory in this build",
                 aa_backend_name(backend));
        aa_context_destroy(dev->ctx);
        dev->ctx = NULL;
        return AA_ERR_NOT_SUPPORTED;
    }
    return AA_SUCCESS;
}

void cli_device_close(cli_device *dev)
{
    aa_context_destroy(dev->ctx);
    dev->ctx = NULL;
}

int cli_device_alloc(cli_device *dev, void **p, size_t bytes, char *why, size_t why_size)
{
    size_t n = bytes ? bytes : 1;
#if CLI_CUDA
    if (dev->backend == AA_BACKEND_CUDA)
        return cuda_check(cudaMalloc(p, n), "cudaMalloc", why, why_size);
#endif
    (void)dev;
    *p = malloc(n);
    if (*p != NULL)
        return 0;
    snprintf(why, why_size, "out of memory (%zu bytes)", n);
    return -1;
}

void cli_device_free(cli_device *dev, void *p)
{
#if CLI_CUDA
    if (dev->backend == AA_BACKEND_CUDA) {
        cudaFree(p);
        return;
    }
#endif
    (void)dev;
    free(p);
}

int cli_device_upload(cli_device *dev, void *dst, const void *src, size_t bytes, char *why,
                      size_t why_size)
{
#if CLI_CUDA
    if (dev->backend == AA_BACKEND_CUDA) {
        cudaStream_t s = cuda_stream(dev);
        if (cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s),
                       "cudaMemcpyAsync", why, why_size))
            return -1;
        return cuda_check(cudaStreamSynchronize(s), "cudaStreamSynchronize", why, why_size);
    }
#endif
    (void)dev;
    (void)why;
    (void)why_size;
    if (bytes > 0)
        memcpy(dst, src, bytes);
    return 0;
}

int cli_device_download(cli_device *dev, void *dst, const void *src, size_t bytes, char *why,
                        size_t why_size)
{
#if CLI_CUDA
    if (dev->backend == AA_BACKEND_CUDA) {
        cudaStream_t s = cuda_stream(dev);
        if (cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s),
                       "cudaMemcpyAsync", why, why_size))
            return -1;
        return cuda_check(cudaStreamSynchronize(s), "cudaStreamSynchronize", why, why_size);
    }
#endif
    return cli_device_upload(dev, dst, src, bytes, why, why_size);
}

int cli_device_sync(cli_device *dev, char *why, size_t why_size)
{
#if CLI_CUDA
    if (dev->backend == AA_BACKEND_CUDA)
        return cuda_check(cudaStreamSynchronize(cuda_stream(dev)), "cudaStreamSynchronize",
                          why, why_size);
#endif
    (void)dev; /* CPU calls return when the work is done */
    (void)why;
    (void)why_size;
    return 0;
}
