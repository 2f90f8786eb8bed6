/* ocl_backend.h - the OpenCL backend: runs the kernels of kernels/ (embedded as
 * text at build time) on any OpenCL 1.2 device; in CI, on PoCL. */
#ifndef AA_OCL_BACKEND_H
#define AA_OCL_BACKEND_H

#include "internal.h"

/* Picks platform/device (AA_OPENCL_PLATFORM / AA_OPENCL_DEVICE override the
 * indices), creates the context, an in-order queue and builds the program once.
 * On failure ctx->ocl stays NULL and the message says which call failed (with the
 * build log for a program that does not compile). */
aa_status aa__ocl_create(aa_context *ctx, int platform, int device);
void aa__ocl_destroy(aa_context *ctx);

/* Indices (as aa__ocl_create takes them) of the first OpenCL GPU; 0 if none. */
int aa__ocl_first_gpu(int *platform, int *device);
aa_status aa__ocl_set_queue(aa_context *ctx, void *queue);
void *aa__ocl_default_queue(const aa_context *ctx); /* the context's own cl_command_queue */

/* The device's name, for messages and the CLI. */
const char *aa__ocl_device_name(const aa_context *ctx);

/* The calls (arguments validated by host/api.c). */
extern const aa_gpu_ops aa__ocl_ops;

#endif
