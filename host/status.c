/* status.c - version, status and backend names, and the per-context error text. */
#include "internal.h"

#include <stdio.h>

unsigned aa_version_number(void) { return AA_VERSION_NUMBER; }

const char *aa_version_string(void)
{
#define AA_STR2(x) #x
#define AA_STR(x) AA_STR2(x)
    return AA_STR(AA_VERSION_MAJOR) "." AA_STR(AA_VERSION_MINOR) "." AA_STR(AA_VERSION_PATCH);
#undef AA_STR
#undef AA_STR2
}

const char *aa_status_string(aa_status status)
{
    switch (status) {
    case AA_SUCCESS: return "AA_SUCCESS: no error";
    case AA_ERR_NULL_POINTER: return "AA_ERR_NULL_POINTER: a required pointer is NULL";
    case AA_ERR_INVALID_ARGUMENT: return "AA_ERR_INVALID_ARGUMENT: a count, offset, level or parameter is invalid";
    case AA_ERR_INVALID_BOX: return "AA_ERR_INVALID_BOX: a box coordinate is NaN, infinite, too large, or inverted";
    case AA_ERR_OUT_OF_MEMORY: return "AA_ERR_OUT_OF_MEMORY: an allocation failed";
    case AA_ERR_NOT_SUPPORTED: return "AA_ERR_NOT_SUPPORTED: not supported in this build";
    case AA_ERR_NO_DEVICE: return "AA_ERR_NO_DEVICE: the requested device does not exist";
    case AA_ERR_BACKEND: return "AA_ERR_BACKEND: a CUDA or OpenCL runtime call failed";
    case AA_ERR_WORKSPACE_TOO_SMALL: return "AA_ERR_WORKSPACE_TOO_SMALL: the provided workspace is too small";
    case AA_ERR_LIMIT_EXCEEDED: return "AA_ERR_LIMIT_EXCEEDED: a count exceeds the library's limits";
    case AA_ERR_INTERNAL: return "AA_ERR_INTERNAL: internal error (please report)";
    }
    return "unknown aa_status value";
}

const char *aa_backend_name(aa_backend backend)
{
    switch (backend) {
    case AA_BACKEND_AUTO: return "auto";
    case AA_BACKEND_CPU: return "cpu";
    case AA_BACKEND_CUDA: return "cuda";
    case AA_BACKEND_OPENCL: return "opencl";
    }
    return "unknown";
}

aa_status aa__fail(aa_context *ctx, aa_status status, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
        va_end(ap);
    }
    return status;
}
