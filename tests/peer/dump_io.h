/* dump_io.h - what the peer dump programs share: fatal errors, allocation, raw
 * little-endian array files in one output directory. Set dump_program and
 * dump_out_dir first. */
#ifndef AA_PEER_DUMP_IO_H
#define AA_PEER_DUMP_IO_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchorassign.h"

static const char *dump_program = "dump";
static const char *dump_out_dir = ".";

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s: %s\n", dump_program, what, detail);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("malloc", "out of memory");
    return p;
}

static void write_raw(const char *name, const void *data, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dump_out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path, strerror(errno));
    if (bytes && fwrite(data, 1, bytes, f) != bytes) die(path, "short write");
    if (fclose(f) != 0) die(path, strerror(errno));
}

/* Dies with the status and the context's message unless st is AA_SUCCESS. */
static void check(aa_context *ctx, aa_status st, const char *call)
{
    if (st != AA_SUCCESS) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s (%s)", aa_status_string(st), aa_context_last_error(ctx));
        die(call, msg);
    }
}

#endif
