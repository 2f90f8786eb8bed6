/* test_threads.c - the header's thread-safety contract: contexts are independent,
 * so several threads, each with its own context (CPU, and OpenCL where built),
 * running every assigner at once, get exactly the single-threaded results; and a
 * per-thread aa_context_create_error. */
#include "common.h"

#include <pthread.h>

enum { THREADS = 4, ROUNDS = 6, IMAGES = 3 };

typedef struct shared_input {
    float *anchors;
    int64_t counts[3], n;
    float strides[3];
    float gts[IMAGES * 10 * 4];
    int64_t offsets[IMAGES + 1];
    test_outputs want[3]; /* max-IoU, ATSS, FCOS on the CPU, single-threaded */
} shared_input;

typedef struct worker {
    const shared_input *in;
    aa_backend backend;
    int mismatches, failures;
    char why[256];
} worker;

static aa_status run(aa_context *ctx, int which, const shared_input *in, const aa_assignment *out)
{
    aa_anchors a = {in->anchors, in->n, 3, in->counts, in->strides};
    aa_gts g = {in->gts, in->offsets, IMAGES, NULL, NULL, NULL};
    aa_fcos_params fp;
    aa_fcos_params_init(&fp);
    fp.num_regress_ranges = 3, fp.regress_hi[2] = 1e8f;
    switch (which) {
    case 0: return aa_assign_max_iou(ctx, NULL, &a, &g, out, NULL, 0);
    case 1: return aa_assign_atss(ctx, NULL, &a, &g, out, NULL, 0);
    default: return aa_assign_fcos(ctx, &fp, &a, &g, out, NULL, 0);
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    aa_context_options o;
    aa_context *ctx = NULL;
    aa_context_options_init(&o);
    o.backend = w->backend, o.memory = AA_MEMORY_HOST;
    if (aa_context_create(&ctx, &o) != AA_SUCCESS) {
        snprintf(w->why, sizeof w->why, "%s", aa_context_create_error());
        w->failures++;
        return NULL;
    }
    int64_t n = IMAGES * w->in->n;
    int32_t *index = malloc((size_t)n * 4);
    float *overlap = malloc((size_t)n * 4);
    aa_assignment out = {index, overlap, NULL};
    for (int r = 0; r < ROUNDS; ++r) {
        for (int which = 0; which < 3; ++which) {
            if (run(ctx, which, w->in, &out) != AA_SUCCESS) {
                snprintf(w->why, sizeof w->why, "%s", aa_context_last_error(ctx));
                w->failures++;
                continue;
            }
            w->mismatches += memcmp(index, w->in->want[which].gt_index, (size_t)n * 4) != 0 ||
                             memcmp(overlap, w->in->want[which].overlap, (size_t)n * 4) != 0;
        }
    }
    free(index), free(overlap);
    aa_context_destroy(ctx);
    return NULL;
}

static void concurrent_contexts(void **state)
{
    (void)state;
    shared_input in;
    aa_context *cpu = test_cpu_context();
    aa_anchor_params ap;
    aa_anchor_params_init(&ap);
    ap.num_levels = 3;
    assert_int_equal(aa_anchor_count(cpu, &ap, 160, 224, in.counts, &in.n), AA_SUCCESS);
    in.anchors = malloc((size_t)in.n * 16);
    assert_int_equal(aa_anchor_generate(cpu, &ap, 160, 224, in.anchors, in.n), AA_SUCCESS);
    for (int l = 0; l < 3; ++l) in.strides[l] = ap.strides[l];
    in.offsets[0] = 0;
    for (int i = 0; i < IMAGES; ++i) in.offsets[i + 1] = in.offsets[i] + test_int(1, 10);
    for (int64_t k = 0; k < in.offsets[IMAGES]; ++k) test_random_box(in.gts + 4 * k, 224, 160, 120);
    for (int which = 0; which < 3; ++which) {
        test_outputs_alloc(&in.want[which], IMAGES, in.n, 0);
        assert_int_equal(run(cpu, which, &in, &in.want[which].out), AA_SUCCESS);
    }

    worker workers[2 * THREADS];
    pthread_t threads[2 * THREADS];
    int count = 0;
    for (int t = 0; t < 2 * THREADS; ++t) {
        aa_backend b = t % 2 ? AA_BACKEND_OPENCL : AA_BACKEND_CPU;
        if (b == AA_BACKEND_OPENCL && !AA_TEST_HAVE_OPENCL) continue;
        memset(&workers[count], 0, sizeof workers[count]);
        workers[count].in = &in, workers[count].backend = b;
        assert_int_equal(pthread_create(&threads[count], NULL, work, &workers[count]), 0);
        ++count;
    }
    for (int t = 0; t < count; ++t) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        if (workers[t].failures) fail_msg("thread %d (%s): %s", t, aa_backend_name(workers[t].backend), workers[t].why);
        assert_int_equal(workers[t].mismatches, 0);
    }
    fprintf(stderr, "%d threads x %d rounds x 3 assigners: identical to the single-threaded results\n",
            count, ROUNDS);
    for (int which = 0; which < 3; ++which) test_outputs_free(&in.want[which]);
    free(in.anchors);
    aa_context_destroy(cpu);
}

/* A failed create on one thread does not show in another thread's message. */
static void *fail_create(void *arg)
{
    aa_context_options o;
    aa_context *ctx;
    aa_context_options_init(&o);
    o.backend = (aa_backend)99;
    (void)aa_context_create(&ctx, &o);
    *(int *)arg = strstr(aa_context_create_error(), "options.backend") != NULL;
    return NULL;
}

static void create_error_is_per_thread(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context(); /* clears this thread's message */
    int seen = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_create, &seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(seen);
    assert_string_equal(aa_context_create_error(), "");
    aa_context_destroy(ctx);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_contexts),
        cmocka_unit_test(create_error_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
