/* test_alloc_failure.c - an allocation failure returns AA_ERR_OUT_OF_MEMORY, names
 * what failed, writes no output, and leaves the context usable (issue #8, item 5).
 *
 * The library's test hook (host/alloc.h, exported under an aa__ name that the public
 * header does not declare) makes the (n+1)-th allocation attempt of this thread fail:
 * host memory (aa__malloc / aa__calloc) and the device buffers of the GPU backends
 * (clCreateBuffer, cudaMalloc, whose runtime out-of-memory code it simulates). For
 * every backend built (OpenCL required where built, as in the other tests; CUDA
 * skipped without a device), AA_MEMORY_HOST and the context's own workspace, and
 * every public call that can allocate, each allocation of the call is made to fail
 * in turn on a fresh context, n = 0, 1, 2, ... until the call succeeds: each failing
 * call must return AA_ERR_OUT_OF_MEMORY with a non-empty message, leave every output
 * byte-identical to its poison (and the guards intact), and the same context must
 * then run the call and give the bytes a fresh context gives. Context creation: each
 * allocation fails in turn, *ctx stays NULL, aa_context_create_error says why, and
 * nothing leaks (the ci-asan preset runs this under LeakSanitizer).
 * AA_TEST_VERBOSE=1 prints every failure's message. */
#include "failure_fixture.h"

#include "alloc.h" /* the test hook: host/, not the public header */

enum { MAX_SITES = 64 }; /* a call with more allocation sites than this is a bug */

/* ---------------------------------------------------------------- the calls */

typedef struct call {
    const char *name;
    aa_status (*run)(aa_context *ctx, outputs *o);
    int cpu_allocates; /* the CPU reference allocates (its workspace) */
} call;

static aa_status run_reserve(aa_context *ctx, outputs *o)
{
    (void)o;
    return aa_context_reserve(ctx, 4096);
}
static const call calls[] = {
    {"aa_context_reserve", run_reserve, 1},
    {"aa_overlaps", run_overlaps, 0},
    {"aa_topk_nearest", run_topk, 0},
    {"aa_candidate_iou_stats", run_stats, 0},
    {"aa_assign_max_iou", run_max_iou, 1},
    {"aa_assign_atss", run_atss, 1},
    {"aa_assign_fcos", run_fcos, 1},
    {"aa_gmm_fit", run_gmm, 1},
    {"aa_paa_costs", run_paa_costs, 0},
    {"aa_assign_paa_costs", run_paa_select, 1},
    {"aa_assign_paa", run_paa, 1},
    {"aa_assign_lada", run_lada, 1},
};
enum { NUM_CALLS = sizeof calls / sizeof calls[0] };

/* ---------------------------------------------------------------- backends */

static aa_status create(aa_backend backend, aa_context **ctx)
{
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = backend;
    o.memory = AA_MEMORY_HOST;
    *ctx = NULL;
    return aa_context_create(ctx, &o);
}

/* The backends to test: the CPU; OpenCL where built (no usable device is a failure:
 * CI installs PoCL); CUDA where built and a device answers. */
static int backend_available(aa_backend backend)
{
    aa_context *ctx = NULL;
    if (backend == AA_BACKEND_OPENCL && !AA_TEST_HAVE_OPENCL) return 0;
    if (backend == AA_BACKEND_CUDA && !AA_TEST_HAVE_CUDA) return 0;
    aa_status st = create(backend, &ctx);
    aa_context_destroy(ctx);
    if (backend == AA_BACKEND_CUDA && st != AA_SUCCESS) {
        fprintf(stderr, "cuda: skipped (%s)\n", aa_context_create_error());
        return 0;
    }
    if (st != AA_SUCCESS)
        fail_msg("%s: %s: %s", aa_backend_name(backend), aa_status_string(st),
                 aa_context_create_error());
    return 1;
}

static const aa_backend backends[] = {AA_BACKEND_CPU, AA_BACKEND_OPENCL, AA_BACKEND_CUDA};
enum { NUM_BACKENDS = sizeof backends / sizeof backends[0] };

static int total_failures; /* injected failures checked, over all tests */

/* Makes each allocation of `c` fail in turn on `backend`; returns how many
 * allocations the call makes (-1: the backend does not support the call). */
static int fail_each_allocation(aa_backend backend, const call *c, outputs *o)
{
    const char *bname = aa_backend_name(backend);
    aa_context *ctx;
    snapshot expected;

    /* a fresh context's result */
    assert_int_equal(create(backend, &ctx), AA_SUCCESS);
    outputs_poison(o);
    aa_status st = c->run(ctx, o);
    if (st == AA_ERR_NOT_SUPPORTED && backend != AA_BACKEND_CPU) {
        if (verbose()) fprintf(stderr, "%s %s: not supported (%s)\n", bname, c->name,
                               aa_context_last_error(ctx));
        aa_context_destroy(ctx);
        return -1;
    }
    if (st != AA_SUCCESS)
        fail_msg("%s %s: %s: %s", bname, c->name, aa_status_string(st), aa_context_last_error(ctx));
    snapshot_take(o, &expected);
    aa_context_destroy(ctx);

    for (int n = 0; n < MAX_SITES; ++n) {
        char what[160];
        snprintf(what, sizeof what, "%s %s, allocation %d failing", bname, c->name, n);
        assert_int_equal(create(backend, &ctx), AA_SUCCESS);
        outputs_poison(o);
        aa__test_fail_allocations(n);
        st = c->run(ctx, o);
        int64_t attempts = aa__test_allocation_attempts();
        aa__test_fail_allocations(-1);
        if (st == AA_SUCCESS) {
            /* n allocations or fewer: none failed (nothing swallowed a failure) */
            if (attempts > n) fail_msg("%s: succeeded after %lld allocation attempts", what, (long long)attempts);
            snapshot_assert_equal(o, &expected, what);
            aa_context_destroy(ctx);
            if (verbose()) fprintf(stderr, "%s %s: %d allocation(s)\n", bname, c->name, n);
            return n;
        }
        const char *msg = aa_context_last_error(ctx);
        if (verbose()) fprintf(stderr, "%s: %s: %s\n", what, aa_status_string(st), msg);
        if (st != AA_ERR_OUT_OF_MEMORY)
            fail_msg("%s: %s (%s), expected AA_ERR_OUT_OF_MEMORY", what, aa_status_string(st), msg);
        /* the injected failure, and the call stopped there */
        if (attempts != n + 1)
            fail_msg("%s: %lld allocation attempts, expected %d", what, (long long)attempts, n + 1);
        if (!msg[0] || strchr(msg, '\n')) fail_msg("%s: message \"%s\" is not one line", what, msg);
        outputs_assert_untouched(o, what);
        ++total_failures;

        /* the same context, nothing failing: the call runs, with a fresh context's result */
        outputs_poison(o);
        st = c->run(ctx, o);
        if (st != AA_SUCCESS)
            fail_msg("%s, then again: %s: %s", what, aa_status_string(st), aa_context_last_error(ctx));
        snapshot_assert_equal(o, &expected, what);
        /* and again, allocating nothing this time (the buffers are there) */
        outputs_poison(o);
        aa__test_fail_allocations(0);
        st = c->run(ctx, o);
        attempts = aa__test_allocation_attempts();
        aa__test_fail_allocations(-1);
        assert_int_equal(st, AA_SUCCESS);
        assert_int_equal(attempts, 0);
        snapshot_assert_equal(o, &expected, what);
        aa_context_destroy(ctx);
    }
    fail_msg("%s %s: still failing after %d allocations", bname, c->name, MAX_SITES);
    return 0;
}

static void every_call_every_allocation(void **state)
{
    (void)state;
    outputs o;
    outputs_alloc(&o);
    for (int b = 0; b < NUM_BACKENDS; ++b) {
        if (!backend_available(backends[b])) continue;
        int sites = 0, tested = 0;
        for (int i = 0; i < NUM_CALLS; ++i) {
            int n = fail_each_allocation(backends[b], &calls[i], &o);
            if (n < 0) continue;
            /* a call that allocates must have been made to fail */
            if (backends[b] != AA_BACKEND_CPU || calls[i].cpu_allocates) assert_true(n >= 1);
            else assert_int_equal(n, 0);
            sites += n, ++tested;
        }
        fprintf(stderr, "%s: %d calls, %d allocation sites failed in turn\n",
                aa_backend_name(backends[b]), tested, sites);
    }
    outputs_free(&o);
}

/* aa_context_create: each allocation fails in turn; *ctx stays NULL, the message says
 * what could not be allocated, and LeakSanitizer sees that nothing leaks. */
static void context_create(void **state)
{
    (void)state;
    outputs o;
    outputs_alloc(&o);
    for (int b = 0; b < NUM_BACKENDS; ++b) {
        aa_backend backend = backends[b];
        if (!backend_available(backend)) continue;
        aa_context *ctx;
        snapshot expected;
        assert_int_equal(create(backend, &ctx), AA_SUCCESS);
        outputs_poison(&o);
        assert_int_equal(run_max_iou(ctx, &o), AA_SUCCESS);
        snapshot_take(&o, &expected);
        aa_context_destroy(ctx);
        int n = 0;
        for (;; ++n) {
            assert_true(n < MAX_SITES);
            ctx = (aa_context *)&o; /* not NULL: the call must set it */
            aa__test_fail_allocations(n);
            aa_status st = create(backend, &ctx);
            int64_t attempts = aa__test_allocation_attempts();
            aa__test_fail_allocations(-1);
            if (st == AA_SUCCESS) {
                assert_true(attempts <= n);
                break;
            }
            if (verbose())
                fprintf(stderr, "%s aa_context_create, allocation %d failing: %s: %s\n",
                        aa_backend_name(backend), n, aa_status_string(st), aa_context_create_error());
            assert_int_equal(st, AA_ERR_OUT_OF_MEMORY);
            assert_int_equal(attempts, n + 1);
            assert_null(ctx);
            assert_non_null(strstr(aa_context_create_error(), "could not allocate"));
            ++total_failures;
        }
        assert_true(n >= 1); /* the context itself at least */
        /* the context created after the failures works */
        outputs_poison(&o);
        assert_int_equal(run_max_iou(ctx, &o), AA_SUCCESS);
        snapshot_assert_equal(&o, &expected, "a context created after failed creations");
        aa_context_destroy(ctx);
        fprintf(stderr, "%s: aa_context_create, %d allocation sites failed in turn\n",
                aa_backend_name(backend), n);
    }
    outputs_free(&o);
}

/* A grow of a context that has a workspace already: the failure leaves it without one
 * (never a stale pointer), and the next call allocates it again. */
static void failed_grow(void **state)
{
    (void)state;
    outputs o;
    outputs_alloc(&o);
    for (int b = 0; b < NUM_BACKENDS; ++b) {
        aa_backend backend = backends[b];
        if (!backend_available(backend)) continue;
        aa_context *ctx;
        snapshot expected;
        assert_int_equal(create(backend, &ctx), AA_SUCCESS);
        outputs_poison(&o);
        assert_int_equal(run_atss(ctx, &o), AA_SUCCESS);
        snapshot_take(&o, &expected);
        aa__test_fail_allocations(0);
        aa_status st = aa_context_reserve(ctx, (size_t)1 << 20);
        aa__test_fail_allocations(-1);
        assert_int_equal(st, AA_ERR_OUT_OF_MEMORY);
        assert_true(aa_context_last_error(ctx)[0] != '\0');
        if (verbose()) fprintf(stderr, "%s failed grow: %s\n", aa_backend_name(backend),
                               aa_context_last_error(ctx));
        outputs_poison(&o);
        assert_int_equal(run_atss(ctx, &o), AA_SUCCESS);
        snapshot_assert_equal(&o, &expected, "ATSS after a failed grow");
        /* a real failure of the runtime too: far more than any device has */
        st = aa_context_reserve(ctx, backend == AA_BACKEND_CPU ? SIZE_MAX : (size_t)1 << 50);
        if (verbose()) fprintf(stderr, "%s reserve(huge): %s: %s\n", aa_backend_name(backend),
                               aa_status_string(st), aa_context_last_error(ctx));
        assert_int_equal(st, AA_ERR_OUT_OF_MEMORY);
        outputs_poison(&o);
        assert_int_equal(run_atss(ctx, &o), AA_SUCCESS);
        snapshot_assert_equal(&o, &expected, "ATSS after a failed reserve");
        aa_context_destroy(ctx);
    }
    outputs_free(&o);
}

/* Disarmed, the hook counts attempts and fails none; armed, it fails one. */
static void hook(void **state)
{
    (void)state;
    aa_context *ctx;
    aa__test_fail_allocations(-1);
    assert_int_equal(create(AA_BACKEND_CPU, &ctx), AA_SUCCESS);
    assert_int_equal(aa_context_reserve(ctx, 64), AA_SUCCESS);
    assert_int_equal(aa__test_allocation_attempts(), 2); /* the context, its workspace */
    aa__test_fail_allocations(0);
    assert_int_equal(aa_context_reserve(ctx, 128), AA_ERR_OUT_OF_MEMORY);
    assert_int_equal(aa__test_allocation_attempts(), 1);
    assert_string_equal(aa_context_last_error(ctx), "workspace: could not allocate 128 bytes of host memory");
    assert_int_equal(aa_context_reserve(ctx, 128), AA_SUCCESS); /* once per arming */
    assert_int_equal(aa__test_allocation_attempts(), 2);
    aa__test_fail_allocations(-1);
    aa_context_destroy(ctx);
}

static void summary(void **state)
{
    (void)state;
    fprintf(stderr, "%d injected allocation failures checked\n", total_failures);
    assert_true(total_failures > 0);
}

static int setup(void **state)
{
    (void)state;
    fixture_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hook),
        cmocka_unit_test(every_call_every_allocation),
        cmocka_unit_test(context_create),
        cmocka_unit_test(failed_grow),
        cmocka_unit_test(summary),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
