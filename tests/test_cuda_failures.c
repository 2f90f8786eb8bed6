/* test_cuda_failures.c - a failed CUDA runtime call returns its documented status,
 * names the call and the error, writes no output (AA_MEMORY_HOST), and leaves the
 * context usable; the CUDA sibling of test_opencl_failures.c (issue #8).
 *
 * The library's test hook (host/inject.h) makes the (n+1)-th checked runtime call of
 * one kind fail with a chosen cudaError_t without making it: the launch check
 * (cudaGetLastError after a launch), an upload (cudaMemcpyAsync host to device), a
 * result (cudaMemcpyAsync device to host) and the wait (cudaStreamSynchronize). On
 * seven calls with AA_MEMORY_HOST and the context's own workspace, every call of each
 * kind fails in turn with cudaErrorMemoryAllocation (AA_ERR_OUT_OF_MEMORY) and
 * cudaErrorLaunchOutOfResources (AA_ERR_BACKEND): the status, a one-line message
 * naming the call and the error, every output byte-identical to its poison (guards
 * intact); then the same context runs the call and gives a fresh context's bytes. A
 * sticky error (cudaErrorIllegalAddress) is reported as the loss of the context.
 *
 * Needs a GPU: where the CUDA backend has no device, exits 77 (CTest: skipped).
 * AA_TEST_VERBOSE=1 prints every failure's message. */
#include "injected_runtime.h"

#include <cuda_runtime_api.h>

static const aa__inject_kind kinds[] = {AA__INJECT_LAUNCH, AA__INJECT_WRITE, AA__INJECT_READ,
                                        AA__INJECT_FINISH};
/* what the message names for each kind (indexed by aa__inject_kind) */
static const char *const kind_call[] = {"", "CUDA launch of aa_", "an input of AA_MEMORY_HOST",
                                        "a result of AA_MEMORY_HOST",
                                        "cudaStreamSynchronize(the results of AA_MEMORY_HOST)", ""};
enum { NUM_KINDS = sizeof kinds / sizeof kinds[0] };

static snapshot expected[NUM_CALLS];
static int sites[NUM_CALLS][AA__INJECT_NUM_KINDS];

static aa_context *create_cuda(void)
{
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CUDA;
    o.memory = AA_MEMORY_HOST;
    aa_context *ctx = NULL;
    aa_status st = aa_context_create(&ctx, &o);
    if (st != AA_SUCCESS) fail_msg("CUDA: %s: %s", aa_status_string(st), aa_context_create_error());
    return ctx;
}

/* A fresh context's results, and how many runtime calls of each kind each call makes. */
static void baseline(void **state)
{
    (void)state;
    aa_context *ctx = create_cuda();
    record_baseline(ctx, kinds, NUM_KINDS, expected, sites);
    for (int c = 0; c < NUM_CALLS; ++c) {
        assert_true(sites[c][0] >= 1 && sites[c][1] >= 1 && sites[c][2] >= 1);
        assert_int_equal(sites[c][3], 1); /* one wait per call */
        fprintf(stderr, "%s: %d launches, %d uploads, %d results, %d waits\n", calls[c].name, sites[c][0],
                sites[c][1], sites[c][2], sites[c][3]);
    }
    aa_context_destroy(ctx);
}

static void transient(void **state)
{
    (void)state;
    static const injected_error errors[] = {
        {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", AA_ERR_OUT_OF_MEMORY},
        {cudaErrorLaunchOutOfResources, "cudaErrorLaunchOutOfResources", AA_ERR_BACKEND}};
    aa_context *ctx = create_cuda();
    int count = transient_sweep(ctx, kinds, NUM_KINDS, kind_call, errors, 2, expected, sites);
    aa_context_destroy(ctx);
    fprintf(stderr, "transient: %d injected CUDA failures\n", count);
    assert_true(count > 0);
}

/* A sticky error is reported as the loss of the context (injected, so the real CUDA
 * context is intact and nothing later is asserted). */
static void sticky(void **state)
{
    (void)state;
    aa_context *ctx = create_cuda();
    outputs_poison(&outs);
    aa__test_fail_runtime_call(AA__INJECT_FINISH, 0, cudaErrorIllegalAddress);
    aa_status st = run_atss(ctx, &outs);
    disarm();
    const char *msg = aa_context_last_error(ctx);
    if (verbose()) fprintf(stderr, "sticky: %s: %s\n", aa_status_string(st), msg);
    assert_int_equal(st, AA_ERR_BACKEND);
    assert_one_line(msg, "sticky");
    assert_contains(msg, "cudaErrorIllegalAddress", "sticky");
    assert_contains(msg, "this aa_context cannot be used again, destroy it", "sticky");
    outputs_assert_untouched(&outs, "sticky");
    aa_context_destroy(ctx);
}

int main(void)
{
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CUDA;
    aa_context *probe = NULL;
    aa_status st = aa_context_create(&probe, &o);
    if (st == AA_ERR_NO_DEVICE) { /* no GPU here: a clean skip (CTest SKIP_RETURN_CODE) */
        fprintf(stderr, "skipped: %s\n", aa_context_create_error());
        return 77;
    }
    aa_context_destroy(probe);
    const struct CMUnitTest tests[] = {cmocka_unit_test(baseline), cmocka_unit_test(transient),
                                       cmocka_unit_test(sticky)};
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
