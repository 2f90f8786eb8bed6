/* A consumer of the installed library: the header compiles as strict C99, the
 * shared library links and loads, its version matches the header (and the package
 * metadata, passed in as EXPECTED_VERSION), and a CPU context can be created and
 * destroyed. Exits nonzero on any failure. */
#include <anchorassign.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *version = aa_version_string();
    aa_context_options options;
    aa_context *ctx = NULL;
    aa_status status;

    if (version == NULL) {
        fprintf(stderr, "consumer: aa_version_string() returned NULL\n");
        return 1;
    }
    printf("anchorassign %s (header %d.%d.%d)\n", version, AA_VERSION_MAJOR, AA_VERSION_MINOR,
           AA_VERSION_PATCH);
    if (aa_version_number() != (unsigned)AA_VERSION_NUMBER) {
        fprintf(stderr, "consumer: library version %u, header %d\n", aa_version_number(),
                AA_VERSION_NUMBER);
        return 1;
    }
#ifdef EXPECTED_VERSION
    if (strncmp(version, EXPECTED_VERSION, strlen(EXPECTED_VERSION)) != 0) {
        fprintf(stderr, "consumer: library says %s, package metadata says %s\n", version,
                EXPECTED_VERSION);
        return 1;
    }
#endif

    aa_context_options_init(&options);
    options.backend = AA_BACKEND_CPU;
    status = aa_context_create(&ctx, &options);
    if (status != AA_SUCCESS || ctx == NULL) {
        fprintf(stderr, "consumer: aa_context_create(CPU) failed: %s\n", aa_status_string(status));
        return 1;
    }
    if (aa_context_backend(ctx) != AA_BACKEND_CPU) {
        fprintf(stderr, "consumer: context backend is %s, not CPU\n",
                aa_backend_name(aa_context_backend(ctx)));
        aa_context_destroy(ctx);
        return 1;
    }
    printf("CPU context: OK (%s)\n", aa_backend_name(aa_context_backend(ctx)));
    aa_context_destroy(ctx);
    return 0;
}
