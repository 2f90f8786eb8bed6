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

aa_status aa__ocl_overlaps(aa_context *ctx, aa_overlap_mode mode, float eps, const aa_batch *b,
                           float *out);
aa_status aa__ocl_fcos(aa_context *ctx, const aa_fcos_params *p, const aa_batch *b,
                       const aa_assignment *out);

/* Assigners with a device workspace: the caller's cl_mem (AA_MEMORY_NATIVE) or the
 * context's own (aa__ocl_reserve grows it ahead). */
aa_status aa__ocl_reserve(aa_context *ctx, size_t bytes);
size_t aa__ocl_max_iou_ws_bytes(const aa_batch *b);
aa_status aa__ocl_max_iou(aa_context *ctx, const aa_max_iou_params *p, const aa_batch *b,
                          const aa_assignment *out, void *workspace, size_t workspace_bytes);
aa_status aa__ocl_topk_nearest(aa_context *ctx, int32_t topk, const aa_batch *b, int32_t *candidates);
aa_status aa__ocl_candidate_stats(aa_context *ctx, int32_t topk, float eps, const aa_batch *b,
                                  const int32_t *candidates, double *mean, double *std);
size_t aa__ocl_atss_ws_bytes(const aa_atss_params *p, const aa_batch *b);
aa_status aa__ocl_atss(aa_context *ctx, const aa_atss_params *p, const aa_batch *b,
                       const aa_assignment *out, void *workspace, size_t workspace_bytes);

#endif
