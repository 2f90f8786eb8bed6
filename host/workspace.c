/* workspace.c - the caller's workspace or the context's own, grown on demand. */
#include "internal.h"
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>

aa_status aa__workspace_acquire(aa_context *ctx, size_t bytes, void *user, size_t user_bytes,
                                void **ptr)
{
    *ptr = NULL;
    if (user && (uintptr_t)user % AA_WORKSPACE_ALIGNMENT != 0)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "workspace: %p is not aligned to %d bytes (AA_WORKSPACE_ALIGNMENT)", user,
                        AA_WORKSPACE_ALIGNMENT);
    if (user) {
        if (user_bytes < bytes)
            return aa__fail(ctx, AA_ERR_WORKSPACE_TOO_SMALL,
                            "workspace_bytes: %zu given, %zu needed", user_bytes, bytes);
        *ptr = user;
        return AA_SUCCESS;
    }
    /* Never NULL, even for 0 bytes: the reference carves its arrays out of the
     * pointer, and arithmetic on a null pointer is undefined. */
    if (bytes == 0) bytes = 1;
    if (bytes > ctx->workspace_bytes) {
        /* Free first: the old contents are not needed and this halves the peak. A
         * failed grow leaves the context without a workspace (the next call that
         * needs one allocates it again), never with a freed pointer. */
        aa__free(ctx->workspace);
        ctx->workspace = NULL;
        ctx->workspace_bytes = 0;
        void *grown = aa__malloc(bytes);
        if (!grown)
            return aa__fail(ctx, AA_ERR_OUT_OF_MEMORY,
                            "workspace: could not allocate %zu bytes of host memory", bytes);
        ctx->workspace = grown;
        ctx->workspace_bytes = bytes;
    }
    *ptr = ctx->workspace;
    return AA_SUCCESS;
}

aa_status aa__gpu_workspace_check(aa_context *ctx, size_t needed, const void *user,
                                  size_t user_bytes)
{
    if (!user) return AA_SUCCESS;
    if (ctx->memory == AA_MEMORY_HOST)
        return aa__fail(ctx, AA_ERR_INVALID_ARGUMENT,
                        "workspace: must be NULL with AA_MEMORY_HOST (the context keeps a device "
                        "workspace of its own)");
    if (user_bytes < needed)
        return aa__fail(ctx, AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes: %zu given, %zu needed",
                        user_bytes, needed);
    return AA_SUCCESS;
}
