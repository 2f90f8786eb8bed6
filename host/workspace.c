/* workspace.c - the caller's workspace or the context's own, grown on demand. */
#include "internal.h"

#include <stdlib.h>

aa_status aa__workspace_acquire(aa_context *ctx, size_t bytes, void *user, size_t user_bytes,
                                void **ptr)
{
    *ptr = NULL;
    if (user) {
        if (user_bytes < bytes)
            return aa__fail(ctx, AA_ERR_WORKSPACE_TOO_SMALL,
                            "workspace_bytes: %zu given, %zu needed", user_bytes, bytes);
        *ptr = user;
        return AA_SUCCESS;
    }
    if (bytes > ctx->workspace_bytes) {
        /* Free first: the old contents are not needed and this halves the peak. */
        free(ctx->workspace);
        ctx->workspace = NULL;
        ctx->workspace_bytes = 0;
        void *grown = malloc(bytes);
        if (!grown)
            return aa__fail(ctx, AA_ERR_OUT_OF_MEMORY,
                            "workspace: could not allocate %zu bytes", bytes);
        ctx->workspace = grown;
        ctx->workspace_bytes = bytes;
    }
    *ptr = ctx->workspace;
    return AA_SUCCESS;
}
