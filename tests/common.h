/* common.h - what the CTest programs share: a seeded random source (fresh seed
 * per run, printed, reproducible with AA_TEST_SEED), guarded output buffers
 * poisoned before each run, and small batch builders. Header-only. */
#ifndef AA_TEST_COMMON_H
#define AA_TEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "anchorassign.h"

/* ---------------------------------------------------------------- random */

static uint64_t test_rng_state;

static inline uint64_t test_seed(void)
{
    const char *env = getenv("AA_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    if (!seed) seed = 1;
    test_rng_state = seed;
    fprintf(stderr, "random seed %llu (set AA_TEST_SEED to reproduce)\n", (unsigned long long)seed);
    return seed;
}

static inline uint64_t test_next(void)
{
    uint64_t x = test_rng_state; /* xorshift64* */
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    test_rng_state = x;
    return x * 2685821657736338717ull;
}

static inline float test_uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)((test_next() >> 40) / 16777216.0);
}

static inline int test_int(int lo, int hi) /* inclusive */
{
    return lo + (int)(test_next() % (uint64_t)(hi - lo + 1));
}

/* A random box inside [0,w)x[0,h), sides up to max_side; sometimes snapped to a
 * grid of 8 so that ties and exact threshold hits occur. */
static inline void test_random_box(float *b, float w, float h, float max_side)
{
    float bw = test_uniform(0.0f, max_side), bh = test_uniform(0.0f, max_side);
    float x = test_uniform(-0.1f * w, w), y = test_uniform(-0.1f * h, h);
    if (test_int(0, 3) == 0) {
        bw = 8.0f * (float)test_int(0, (int)(max_side / 8)), bh = 8.0f * (float)test_int(0, (int)(max_side / 8));
        x = 8.0f * (float)test_int(0, (int)(w / 8)), y = 8.0f * (float)test_int(0, (int)(h / 8));
    }
    b[0] = x, b[1] = y, b[2] = x + bw, b[3] = y + bh;
}

/* ---------------------------------------------------------------- guarded buffers */

#define TEST_GUARD 64
#define TEST_GUARD_BYTE 0xA5

/* n elements of `size` bytes, with TEST_GUARD bytes of sentinel on each side and
 * the payload poisoned with 0xCD bytes (an int32 of 0xCDCDCDCD, a NaN-free odd
 * float of -4.3e8): an element a call leaves unwritten is detected. */
static inline void *test_guarded_alloc(size_t n, size_t size)
{
    size_t bytes = n * size;
    unsigned char *raw = malloc(bytes + 2 * TEST_GUARD + sizeof(size_t));
    assert_non_null(raw);
    memcpy(raw, &bytes, sizeof(size_t));
    memset(raw + sizeof(size_t), TEST_GUARD_BYTE, TEST_GUARD);
    memset(raw + sizeof(size_t) + TEST_GUARD, 0xCD, bytes);
    memset(raw + sizeof(size_t) + TEST_GUARD + bytes, TEST_GUARD_BYTE, TEST_GUARD);
    return raw + sizeof(size_t) + TEST_GUARD;
}

static inline unsigned char *test_guarded_raw(void *p)
{
    return (unsigned char *)p - TEST_GUARD - sizeof(size_t);
}

static inline void test_guarded_poison(void *p)
{
    size_t bytes;
    memcpy(&bytes, test_guarded_raw(p), sizeof(size_t));
    memset(p, 0xCD, bytes);
}

/* Asserts the sentinels are intact. */
static inline void test_guarded_check(void *p)
{
    unsigned char *raw = test_guarded_raw(p);
    size_t bytes;
    memcpy(&bytes, raw, sizeof(size_t));
    for (size_t i = 0; i < TEST_GUARD; ++i) {
        assert_int_equal(raw[sizeof(size_t) + i], TEST_GUARD_BYTE);
        assert_int_equal(raw[sizeof(size_t) + TEST_GUARD + bytes + i], TEST_GUARD_BYTE);
    }
}

/* True if every payload byte still holds the poison (nothing was written). */
static inline int test_guarded_untouched(void *p)
{
    size_t bytes;
    memcpy(&bytes, test_guarded_raw(p), sizeof(size_t));
    for (size_t i = 0; i < bytes; ++i)
        if (((unsigned char *)p)[i] != 0xCD) return 0;
    return 1;
}

static inline void test_guarded_free(void *p)
{
    if (p) free(test_guarded_raw(p));
}

/* ---------------------------------------------------------------- contexts and batches */

static inline aa_context *test_cpu_context(void)
{
    aa_context_options o;
    aa_context *ctx = NULL;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CPU;
    assert_int_equal(aa_context_create(&ctx, &o), AA_SUCCESS);
    assert_non_null(ctx);
    return ctx;
}

/* A call that must succeed: on failure, its status and the context's message. */
static inline void test_ok(aa_context *ctx, aa_status st, const char *call)
{
    if (st != AA_SUCCESS) fail_msg("%s: %s: %s", call, aa_status_string(st), aa_context_last_error(ctx));
}

/* A context of a GPU backend or a failure: where OpenCL is built, no device is a
 * failure, never a skip (CI installs PoCL); the CUDA tests skip before they get here. */
static inline aa_context *test_gpu_context(aa_backend backend, aa_memory memory)
{
    aa_context_options o;
    aa_context *ctx = NULL;
    aa_context_options_init(&o);
    o.backend = backend;
    o.memory = memory;
    aa_status st = aa_context_create(&ctx, &o);
    if (st != AA_SUCCESS)
        fail_msg("no %s context (%s): %s. OpenCL: install pocl-opencl-icd (bash .ci/deps.sh).",
                 aa_backend_name(backend), aa_status_string(st), aa_context_create_error());
    return ctx;
}

static inline aa_context *test_opencl_context(aa_memory memory)
{
    return test_gpu_context(AA_BACKEND_OPENCL, memory);
}

/* Outputs for a batch, guarded and poisoned. */
typedef struct test_outputs {
    int64_t n;
    int32_t *gt_index;
    float *overlap;
    int32_t *labels;
    aa_assignment out;
} test_outputs;

static inline void test_outputs_alloc(test_outputs *t, int64_t num_images, int64_t num_anchors,
                                      int with_labels)
{
    t->n = num_images * num_anchors;
    t->gt_index = test_guarded_alloc((size_t)t->n, sizeof(int32_t));
    t->overlap = test_guarded_alloc((size_t)t->n, sizeof(float));
    t->labels = with_labels ? test_guarded_alloc((size_t)t->n, sizeof(int32_t)) : NULL;
    t->out.gt_index = t->gt_index;
    t->out.overlap = t->overlap;
    t->out.labels = t->labels;
}

static inline void test_outputs_poison(test_outputs *t)
{
    test_guarded_poison(t->gt_index);
    test_guarded_poison(t->overlap);
    if (t->labels) test_guarded_poison(t->labels);
}

/* Every element written and the guards intact. */
static inline void test_outputs_check_written(test_outputs *t)
{
    test_guarded_check(t->gt_index);
    test_guarded_check(t->overlap);
    for (int64_t i = 0; i < t->n; ++i) {
        assert_true(t->gt_index[i] != (int32_t)0xCDCDCDCD);
        uint32_t bits;
        memcpy(&bits, &t->overlap[i], 4);
        assert_true(bits != 0xCDCDCDCDu);
    }
    if (t->labels) {
        test_guarded_check(t->labels);
        for (int64_t i = 0; i < t->n; ++i) assert_true(t->labels[i] != (int32_t)0xCDCDCDCD);
    }
}

static inline int test_outputs_untouched(test_outputs *t)
{
    return test_guarded_untouched(t->gt_index) && test_guarded_untouched(t->overlap) &&
           (!t->labels || test_guarded_untouched(t->labels));
}

static inline void test_outputs_free(test_outputs *t)
{
    test_guarded_free(t->gt_index);
    test_guarded_free(t->overlap);
    test_guarded_free(t->labels);
}

/* A one-level anchor set over explicit boxes. */
static inline aa_anchors test_anchors_1level(const float *boxes, int64_t n, int64_t *count_storage,
                                             float *stride_storage)
{
    aa_anchors a;
    memset(&a, 0, sizeof a);
    *count_storage = n;
    *stride_storage = 8.0f;
    a.boxes = boxes;
    a.num_anchors = n;
    a.num_levels = 1;
    a.level_counts = count_storage;
    a.level_strides = stride_storage;
    return a;
}

/* Asserts a call failed with `status`, its message contains `needle`, and
 * nothing was written. */
#define ASSERT_FAILS(ctx, call, status, needle, outputs_untouched)                               \
    do {                                                                                         \
        aa_status st_ = (call);                                                                  \
        if (st_ != (status) || !strstr(aa_context_last_error(ctx), (needle)))                    \
            fail_msg("%s: got %d (%s), message \"%s\"; expected %d with \"%s\"", #call, (int)st_, \
                     aa_status_string(st_), aa_context_last_error(ctx), (int)(status), (needle)); \
        assert_true(outputs_untouched);                                                          \
    } while (0)

#endif
