/*
 * replay_main.c - runs a fuzz target's LLVMFuzzerTestOneInput on files, without
 * libFuzzer: what CTest uses to replay the seed corpora and the regression inputs
 * in every build (gcc included, and under ASan + UBSan in the ci-asan preset).
 *
 *   fuzz_api_replay FILE_OR_DIR...   (a directory: every regular file in it, sorted)
 *
 * Exits 0 when every input ran (an invariant violation aborts), 2 on an unreadable
 * path or when no input was found.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            fprintf(stderr, "replay: out of memory reading %s\n", path);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *grown = realloc(buf, cap * 2);
        if (!grown) free(buf);
        buf = grown, cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    /* an exact-size copy, so that AddressSanitizer sees a read past the input */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    long ran = 0;
    for (int i = 1; i < argc; ++i) {
        struct stat s;
        if (stat(argv[i], &s) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            return 2;
        }
        if (!S_ISDIR(s.st_mode)) {
            if (run_file(argv[i]) != 0) return 2;
            ++ran;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "replay: cannot list %s\n", argv[i]);
            return 2;
        }
        char **names = NULL;
        size_t count = 0, cap = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.') continue;
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            char *path = malloc(len);
            if (!path) {
                fprintf(stderr, "replay: out of memory\n");
                exit(2);
            }
            snprintf(path, len, "%s/%s", argv[i], e->d_name);
            if (stat(path, &s) != 0 || !S_ISREG(s.st_mode)) {
                free(path);
                continue;
            }
            if (count == cap) {
                cap = cap ? 2 * cap : 64;
                char **grown = realloc(names, cap * sizeof *names);
                if (!grown) {
                    fprintf(stderr, "replay: out of memory\n");
                    exit(2);
                }
                names = grown;
            }
            names[count++] = path;
        }
        closedir(d);
        if (count) qsort(names, count, sizeof *names, by_name);
        for (size_t k = 0; k < count; ++k) {
            if (run_file(names[k]) != 0) return 2;
            ++ran;
            free(names[k]);
        }
        free(names);
    }
    if (ran == 0) {
        fprintf(stderr, "replay: no input given or found\n");
        return 2;
    }
    printf("replay: %ld inputs ran without a finding\n", ran);
    return 0;
}
