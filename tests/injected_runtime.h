/* injected_runtime.h - what the two runtime-failure tests share (test_opencl_failures.c,
 * test_cuda_failures.c): the seven calls they fail, the message checks, and the
 * transient-error sweep that makes every runtime call of each kind fail in turn. */
#ifndef AA_TEST_INJECTED_RUNTIME_H
#define AA_TEST_INJECTED_RUNTIME_H

#include "failure_fixture.h"

#include "inject.h" /* the test hook: host/, not the public header */

enum { MAX_SITES = 256 }; /* a call with more runtime calls of one kind than this is a bug */

typedef struct call {
    const char *name;
    aa_status (*run)(aa_context *ctx, outputs *o);
} call;

static const call calls[] = {
    {"aa_overlaps", run_overlaps},   {"aa_assign_max_iou", run_max_iou}, {"aa_assign_atss", run_atss},
    {"aa_assign_fcos", run_fcos},    {"aa_gmm_fit", run_gmm},            {"aa_assign_paa", run_paa},
    {"aa_assign_lada", run_lada},
};
enum { NUM_CALLS = sizeof calls / sizeof calls[0] };

/* An error to inject, as the message names it, and the status it must give. */
typedef struct injected_error {
    int error;
    const char *name;
    aa_status status;
} injected_error;

static void disarm(void)
{
    aa__test_fail_runtime_call(AA__INJECT_LAUNCH, -1, 0);
}

static void assert_one_line(const char *msg, const char *what)
{
    if (!msg[0] || strchr(msg, '\n') || strchr(msg, '\r'))
        fail_msg("%s: message \"%s\" is not one line", what, msg);
}

static void assert_contains(const char *msg, const char *part, const char *what)
{
    if (!strstr(msg, part)) fail_msg("%s: message \"%s\" does not contain \"%s\"", what, msg, part);
}

/* A fresh context's results of every call (expected[call]) and how many runtime calls
 * of each kind of kinds[] every call makes (sites[call][k]), nothing injected. */
static void record_baseline(aa_context *ctx, const aa__inject_kind *kinds, int num_kinds,
                            snapshot *expected, int sites[][AA__INJECT_NUM_KINDS])
{
    for (int c = 0; c < NUM_CALLS; ++c) {
        outputs_poison(&outs);
        disarm();
        aa_status st = calls[c].run(ctx, &outs);
        if (st != AA_SUCCESS)
            fail_msg("%s: %s: %s", calls[c].name, aa_status_string(st), aa_context_last_error(ctx));
        snapshot_take(&outs, &expected[c]);
        for (int k = 0; k < num_kinds; ++k) sites[c][k] = (int)aa__test_runtime_calls(kinds[k]);
    }
    disarm();
}

/* Transient errors, one context for all: for each call, each kind of kinds[] (whose
 * messages name kind_call[kind]) and each error, the n-th runtime call of the kind
 * fails for n = 0, 1, ... until the call succeeds, which must be after exactly
 * sites[call][k] failures. Each failure: the error's status, a one-line message
 * naming the call and the error, not "lost", no later call of the kind made, every
 * output untouched; then the same context runs the call and gives expected[call].
 * Returns the number of failures checked. */
static int transient_sweep(aa_context *ctx, const aa__inject_kind *kinds, int num_kinds,
                           const char *const *kind_call, const injected_error *errors, int num_errors,
                           const snapshot *expected, int sites[][AA__INJECT_NUM_KINDS])
{
    int count = 0;
    for (int c = 0; c < NUM_CALLS; ++c)
        for (int k = 0; k < num_kinds; ++k)
            for (int e = 0; e < num_errors; ++e) {
                int n = 0;
                for (;; ++n) {
                    char what[200];
                    snprintf(what, sizeof what, "%s, %s call %d failing with %s", calls[c].name,
                             kind_call[kinds[k]], n, errors[e].name);
                    assert_true(n < MAX_SITES);
                    outputs_poison(&outs);
                    aa__test_fail_runtime_call(kinds[k], n, errors[e].error);
                    aa_status st = calls[c].run(ctx, &outs);
                    int64_t made = aa__test_runtime_calls(kinds[k]);
                    disarm();
                    if (st == AA_SUCCESS) {
                        if (made > n) fail_msg("%s: succeeded after %lld calls", what, (long long)made);
                        snapshot_assert_equal(&outs, &expected[c], what);
                        break;
                    }
                    const char *msg = aa_context_last_error(ctx);
                    if (verbose()) fprintf(stderr, "%s: %s: %s\n", what, aa_status_string(st), msg);
                    if (st != errors[e].status)
                        fail_msg("%s: %s (%s), expected %s", what, aa_status_string(st), msg,
                                 aa_status_string(errors[e].status));
                    if (made != n + 1) fail_msg("%s: %lld calls, expected %d", what, (long long)made, n + 1);
                    assert_one_line(msg, what);
                    assert_contains(msg, kind_call[kinds[k]], what);
                    assert_contains(msg, errors[e].name, what);
                    if (strstr(msg, "lost")) fail_msg("%s: a transient error lost the context: %s", what, msg);
                    outputs_assert_untouched(&outs, what);
                    ++count;
                    /* the same context: the call runs, with a fresh context's bytes */
                    outputs_poison(&outs);
                    st = calls[c].run(ctx, &outs);
                    if (st != AA_SUCCESS)
                        fail_msg("%s, then again: %s: %s", what, aa_status_string(st),
                                 aa_context_last_error(ctx));
                    snapshot_assert_equal(&outs, &expected[c], what);
                }
                assert_int_equal(n, sites[c][k]); /* every call of the kind was failed */
            }
    return count;
}

#endif
