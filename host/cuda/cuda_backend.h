/* cuda_backend.h - the CUDA backend (host/cuda/cuda_backend.cu): the kernels of
 * kernels/ launched on the context's stream from the shared plans. */
#ifndef AA_CUDA_BACKEND_H
#define AA_CUDA_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

#include "internal.h"

/* Checks device N exists (AA_ERR_NO_DEVICE otherwise: no driver, no GPU) and
 * records its name; the stream is the legacy default until one is set. */
aa_status aa__cuda_create(aa_context *ctx, int device);
void aa__cuda_destroy(aa_context *ctx);
aa_status aa__cuda_set_stream(aa_context *ctx, void *stream);
const char *aa__cuda_device_name(const aa_context *ctx);

extern const aa_gpu_ops aa__cuda_ops;

#ifdef __cplusplus
}
#endif

#endif
