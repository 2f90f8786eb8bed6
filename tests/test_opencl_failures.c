/* test_opencl_failures.c - a failed OpenCL runtime call returns its documented
 * status, names the call and the error, writes no output, and leaves the context
 * usable, or says it is lost (issue #8, item 4).
 *
 * The library's test hook (host/inject.h, exported under an aa__ name that the
 * public header does not declare) makes the (n+1)-th checked runtime call of one
 * kind fail with a chosen cl_int, without calling the runtime, so that the backend's
 * real error path runs: clBuildProgram (with a fake build log), clSetKernelArg,
 * clEnqueueNDRangeKernel, clEnqueueWriteBuffer, clEnqueueReadBuffer and the checked
 * clFinish.
 *
 * On PoCL (OpenCL is never skipped where it is built: CI installs PoCL), with
 * AA_MEMORY_HOST and the context's own workspace, for seven calls (aa_overlaps,
 * max-IoU, ATSS, FCOS, the EM, PAA, LADA):
 *  - transient: every call of each kind is made to fail in turn (n = 0, 1, ... until
 *    the call succeeds) with CL_OUT_OF_RESOURCES (AA_ERR_BACKEND) and
 *    CL_MEM_OBJECT_ALLOCATION_FAILURE (AA_ERR_OUT_OF_MEMORY), on one context: the
 *    status, a one-line message naming the call and the error, the call stopped at
 *    the failure, every output byte-identical to its poison (guards intact); then
 *    the same context runs the call and gives a fresh context's bytes;
 *  - lost: CL_DEVICE_NOT_AVAILABLE or CL_INVALID_COMMAND_QUEUE (alternately) at
 *    every call of each kind in turn, each on a fresh context:
 *    AA_ERR_BACKEND, the message says the context is lost, outputs untouched; every
 *    later call on it (the same, another, aa_context_reserve, aa_context_set_stream)
 *    fails at once (no runtime call) naming the first failure;
 *  - the program build failing at context creation: AA_ERR_BACKEND, *ctx NULL, the
 *    log's excerpt on one line in aa_context_create_error, nothing leaked (the
 *    ci-asan preset runs this under LeakSanitizer);
 *  - AA_MEMORY_NATIVE (ATSS, PAA, LADA on cl_mem): every launch and kernel argument
 *    failing in turn: the status and message, no host copy; the same context then
 *    gives the CPU reference's bytes; a lost device refuses every later call.
 * AA_TEST_VERBOSE=1 prints every failure's message. */
#include "injected_runtime.h"

#include <CL/cl.h>

/* The kinds injected into the calls (the build is tested at context creation). */
static const aa__inject_kind kinds[] = {AA__INJECT_LAUNCH, AA__INJECT_WRITE, AA__INJECT_READ,
                                        AA__INJECT_FINISH, AA__INJECT_ARG};
static const char *const kind_call[] = {"clBuildProgram",       "clEnqueueNDRangeKernel(",
                                        "clEnqueueWriteBuffer(", "clEnqueueReadBuffer(",
                                        "clFinish(",            "clSetKernelArg("};
enum { NUM_KINDS = sizeof kinds / sizeof kinds[0] };

static snapshot expected[NUM_CALLS];      /* a fresh context's results */
static int sites[NUM_CALLS][AA__INJECT_NUM_KINDS]; /* runtime calls of each kind (index in kinds[]) per call */
static int total_failures;

/* ---------------------------------------------------------------- helpers */

static aa_status create(aa_context **ctx)
{
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_OPENCL;
    o.memory = AA_MEMORY_HOST;
    *ctx = NULL;
    return aa_context_create(ctx, &o);
}

static aa_context *create_ok(void)
{
    return test_opencl_context(AA_MEMORY_HOST);
}

/* ---------------------------------------------------------------- tests */

/* The hook's own rules: counts per kind, fails one call of the armed kind once. */
static void hook(void **state)
{
    (void)state;
    aa_context *ctx = create_ok();
    outputs_poison(&outs);
    aa__test_fail_runtime_call(AA__INJECT_LAUNCH, -1, 0);
    assert_int_equal(run_fcos(ctx, &outs), AA_SUCCESS);
    assert_int_equal(aa__test_runtime_calls(AA__INJECT_LAUNCH), 1);
    assert_int_equal(aa__test_runtime_calls(AA__INJECT_WRITE), 5); /* boxes, GTs, offsets, flags, labels */
    assert_int_equal(aa__test_runtime_calls(AA__INJECT_READ), 3);
    assert_int_equal(aa__test_runtime_calls(AA__INJECT_FINISH), 1);
    assert_int_equal(aa__test_runtime_calls(AA__INJECT_BUILD), 0);
    aa__test_fail_runtime_call(AA__INJECT_LAUNCH, 0, CL_OUT_OF_RESOURCES);
    assert_int_equal(run_fcos(ctx, &outs), AA_ERR_BACKEND);
    assert_string_equal(aa_context_last_error(ctx),
                        "OpenCL clEnqueueNDRangeKernel(aa_fcos_kernel): CL_OUT_OF_RESOURCES (-5)");
    assert_int_equal(run_fcos(ctx, &outs), AA_SUCCESS); /* once per arming */
    assert_int_equal(aa__test_runtime_calls(AA__INJECT_LAUNCH), 2);
    disarm();
    aa_context_destroy(ctx);
}

/* A fresh context's results of every call, and how many runtime calls of each kind
 * every call makes. */
static void baseline(void **state)
{
    (void)state;
    aa_context *ctx = create_ok();
    record_baseline(ctx, kinds, NUM_KINDS, expected, sites);
    for (int c = 0; c < NUM_CALLS; ++c) {
        /* launches, uploads and read-backs everywhere; the wait where several results
         * are read back (all but aa_overlaps) */
        assert_true(sites[c][0] >= 1 && sites[c][1] >= 1 && sites[c][2] >= 1);
        assert_int_equal(sites[c][3], c == 0 ? 0 : 1);
        assert_true(sites[c][4] >= 2 * sites[c][0]); /* every kernel takes two arguments or more */
        fprintf(stderr, "%s: %d launches, %d uploads, %d read-backs, %d waits, %d kernel arguments\n",
                calls[c].name, sites[c][0], sites[c][1], sites[c][2], sites[c][3], sites[c][4]);
    }
    aa_context_destroy(ctx);
}

/* Transient errors: every call of each kind fails in turn, on one context. */
static void transient(void **state)
{
    (void)state;
    static const injected_error errors[] = {
        {CL_OUT_OF_RESOURCES, "CL_OUT_OF_RESOURCES (-5)", AA_ERR_BACKEND},
        {CL_MEM_OBJECT_ALLOCATION_FAILURE, "CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)", AA_ERR_OUT_OF_MEMORY}};
    aa_context *ctx = create_ok();
    int count = transient_sweep(ctx, kinds, NUM_KINDS, kind_call, errors, 2, expected, sites);
    aa_context_destroy(ctx);
    total_failures += count;
    fprintf(stderr, "transient: %d injected failures (%d calls x %d kinds x 2 errors, every call of the kind)\n",
            count, NUM_CALLS, NUM_KINDS);
}

/* A lost device or queue: the call fails, the context says it is lost, and every
 * later call on it fails at once, touching neither the runtime nor the outputs. */
static void lost(void **state)
{
    (void)state;
    static const struct {
        cl_int error;
        const char *name;
    } errors[] = {{CL_DEVICE_NOT_AVAILABLE, "CL_DEVICE_NOT_AVAILABLE"},
                  {CL_INVALID_COMMAND_QUEUE, "CL_INVALID_COMMAND_QUEUE"}};
    int count = 0;
    for (int c = 0; c < NUM_CALLS; ++c)
        for (int k = 0; k < NUM_KINDS; ++k) {
            /* clSetKernelArg's errors are about arguments and resources, never a lost device */
            if (kinds[k] == AA__INJECT_ARG) continue;
            for (int n = 0; n < sites[c][k]; ++n) {
                int e = (c + k + n) % 2;
                char what[200];
                snprintf(what, sizeof what, "%s, %s call %d failing with %s", calls[c].name, kind_call[kinds[k]],
                         n, errors[e].name);
                aa_context *ctx = create_ok();
                outputs_poison(&outs);
                aa__test_fail_runtime_call(kinds[k], n, errors[e].error);
                aa_status st = calls[c].run(ctx, &outs);
                disarm();
                char msg[512];
                snprintf(msg, sizeof msg, "%s", aa_context_last_error(ctx));
                if (verbose()) fprintf(stderr, "%s: %s: %s\n", what, aa_status_string(st), msg);
                assert_int_equal(st, AA_ERR_BACKEND);
                assert_one_line(msg, what);
                assert_contains(msg, kind_call[kinds[k]], what);
                assert_contains(msg, errors[e].name, what);
                assert_contains(msg, "the device or its queue is lost: this aa_context cannot be used again, destroy it",
                                what);
                outputs_assert_untouched(&outs, what);
                /* every later call: the same call and another, no runtime call made */
                for (int again = 0; again < 4; ++again) {
                    outputs_poison(&outs);
                    aa__test_fail_runtime_call(AA__INJECT_LAUNCH, -1, 0);
                    st = again == 2   ? aa_context_reserve(ctx, 1 << 20)
                         : again == 3 ? aa_context_set_stream(ctx, NULL)
                                      : calls[again == 0 ? c : (c + 1) % NUM_CALLS].run(ctx, &outs);
                    const char *later = aa_context_last_error(ctx);
                    if (verbose() && again == 0) fprintf(stderr, "  then: %s: %s\n", aa_status_string(st), later);
                    assert_int_equal(st, AA_ERR_BACKEND);
                    assert_one_line(later, what);
                    assert_contains(later, "OpenCL: this aa_context was lost by an earlier call (", what);
                    assert_contains(later, kind_call[kinds[k]], what);
                    assert_contains(later, errors[e].name, what);
                    assert_contains(later, "destroy it", what);
                    for (int kk = 0; kk < AA__INJECT_NUM_KINDS; ++kk)
                        assert_int_equal(aa__test_runtime_calls((aa__inject_kind)kk), 0);
                    outputs_assert_untouched(&outs, what);
            }
            disarm();
            aa_context_destroy(ctx); /* and it can be destroyed (LeakSanitizer: nothing left) */
            ++count;
            }
        }
    total_failures += count;
    fprintf(stderr, "lost: %d injected failures (each a fresh context)\n", count);
}

/* The program build fails at context creation: AA_ERR_BACKEND, *ctx NULL, the build
 * log's excerpt on one line; nothing leaks; the next creation works. */
static void build_failure(void **state)
{
    (void)state;
    char long_log[2000];
    size_t n = 0;
    for (int line = 0; n + 100 < sizeof long_log; ++line)
        n += (size_t)snprintf(long_log + n, sizeof long_log - n,
                              "<source>:%d:7: error:\tuse of undeclared identifier 'x%d'\r\n  x%d = 1;\n\n",
                              100 + line, line, line);
    static const struct {
        const char *log;
        const char *excerpt; /* what the message must contain */
        int cut;
    } cases[] = {
        {"<source>:12:5: error: expected ';'\n    int a = 1\n        ^\n1 error generated.\n",
         "lines joined by \" | \"): <source>:12:5: error: expected ';' | int a = 1 | ^ | 1 error generated.",
         0},
        {NULL, "<source>:100:7: error: use of undeclared identifier 'x0' | x0 = 1; | <source>:101:7:", 1},
        {"", "lines joined by \" | \"): ", 0},
    };
    outputs_poison(&outs);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        const char *log = cases[i].log ? cases[i].log : long_log;
        aa_context *ctx = (aa_context *)&outs; /* not NULL: the call must set it */
        aa__test_build_log(log);
        aa__test_fail_runtime_call(AA__INJECT_BUILD, 0, CL_BUILD_PROGRAM_FAILURE);
        aa_status st = create(&ctx);
        int64_t builds = aa__test_runtime_calls(AA__INJECT_BUILD);
        disarm();
        aa__test_build_log(NULL);
        const char *msg = aa_context_create_error();
        if (verbose()) fprintf(stderr, "aa_context_create, build failing: %s: %s\n", aa_status_string(st), msg);
        assert_int_equal(st, AA_ERR_BACKEND);
        assert_null(ctx);
        assert_int_equal(builds, 1);
        assert_one_line(msg, "build failure");
        assert_contains(msg, "OpenCL clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11); build log (", "build failure");
        assert_contains(msg, cases[i].excerpt, "build failure");
        char head[120];
        snprintf(head, sizeof head, "build log (%zu bytes, lines joined by \" | \"%s): ", strlen(log),
                 cases[i].cut ? ", cut to its first 300 characters" : "");
        assert_contains(msg, head, "build failure");
        if (cases[i].cut) {
            const char *excerpt = strstr(msg, "): ") + 3;
            assert_int_equal(strlen(excerpt), 303); /* 300 and "..." */
            assert_string_equal(excerpt + 300, "...");
        }
        ++total_failures;
    }
    /* the next creation builds the program and runs */
    aa_context *ctx = create_ok();
    outputs_poison(&outs);
    assert_int_equal(run_max_iou(ctx, &outs), AA_SUCCESS);
    snapshot_assert_equal(&outs, &expected[1], "max-IoU on a context created after a failed build");
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- native memory */

/* The fixture's inputs and outputs as cl_mem of the context's cl_context
 * (AA_MEMORY_NATIVE): gts.offsets stays on the host, device_offsets is a cl_mem. */
typedef struct native {
    cl_command_queue queue;
    cl_mem anchors, gts, offsets, crowd, labels, logits, deltas; /* inputs */
    cl_mem gt_index, overlap, out_labels;                      /* outputs */
    aa_anchors a;
    aa_gts g;
    aa_head_outputs head;
    aa_assignment out;
} native;

static cl_mem native_buffer(cl_context c, const void *host, size_t bytes)
{
    cl_int e;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                              (void *)host, &e);
    if (e != CL_SUCCESS) fail_msg("clCreateBuffer(%zu bytes): %d", bytes, (int)e);
    return m;
}

static void native_init(native *n, aa_context *ctx)
{
    void *q = NULL;
    cl_context c;
    assert_int_equal(aa_context_get_stream(ctx, &q), AA_SUCCESS);
    n->queue = (cl_command_queue)q;
    assert_int_equal(clGetCommandQueueInfo(n->queue, CL_QUEUE_CONTEXT, sizeof c, &c, NULL), CL_SUCCESS);
    n->anchors = native_buffer(c, fx.anchors, sizeof fx.anchors);
    n->gts = native_buffer(c, fx.gts, sizeof fx.gts);
    n->offsets = native_buffer(c, fx.offsets, sizeof fx.offsets);
    n->crowd = native_buffer(c, fx.crowd, sizeof fx.crowd);
    n->labels = native_buffer(c, fx.labels, sizeof fx.labels);
    n->logits = native_buffer(c, fx.logits, sizeof fx.logits);
    n->deltas = native_buffer(c, fx.deltas, sizeof fx.deltas);
    n->gt_index = native_buffer(c, NULL, NUM_IMAGES * NUM_ANCHORS * 4);
    n->overlap = native_buffer(c, NULL, NUM_IMAGES * NUM_ANCHORS * 4);
    n->out_labels = native_buffer(c, NULL, NUM_IMAGES * NUM_ANCHORS * 4);
    n->a = fx.a;
    n->a.boxes = (const float *)n->anchors;
    n->g = fx.g;
    n->g.boxes = (const float *)n->gts;
    n->g.ignore_flags = (const uint8_t *)n->crowd;
    n->g.labels = (const int32_t *)n->labels;
    n->g.device_offsets = (const int64_t *)n->offsets;
    n->head = fx.head;
    n->head.cls_logits = n->logits;
    n->head.bbox_deltas = n->deltas;
    aa_assignment out = {(int32_t *)n->gt_index, (float *)n->overlap, (int32_t *)n->out_labels};
    n->out = out;
}

static void native_release(native *n)
{
    cl_mem all[] = {n->anchors, n->gts,      n->offsets, n->crowd,     n->labels,
                    n->logits,  n->deltas,   n->gt_index, n->overlap, n->out_labels};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) clReleaseMemObject(all[i]);
}

/* The outputs filled with a poison byte, or read back (the whole assignment). */
static void native_poison(native *n)
{
    const cl_uchar poison = 0xA5;
    cl_mem out[] = {n->gt_index, n->overlap, n->out_labels};
    for (int i = 0; i < 3; ++i)
        assert_int_equal(clEnqueueFillBuffer(n->queue, out[i], &poison, 1, 0, NUM_IMAGES * NUM_ANCHORS * 4,
                                             0, NULL, NULL),
                         CL_SUCCESS);
    assert_int_equal(clFinish(n->queue), CL_SUCCESS);
}

static void native_read(native *n, unsigned char bytes[3][NUM_IMAGES * NUM_ANCHORS * 4])
{
    cl_mem out[] = {n->gt_index, n->overlap, n->out_labels};
    for (int i = 0; i < 3; ++i)
        assert_int_equal(clEnqueueReadBuffer(n->queue, out[i], CL_TRUE, 0, NUM_IMAGES * NUM_ANCHORS * 4,
                                             bytes[i], 0, NULL, NULL),
                         CL_SUCCESS);
}

typedef enum { N_ATSS, N_PAA, N_LADA, N_CALLS } native_call;
static const char *const native_name[N_CALLS] = {"aa_assign_atss", "aa_assign_paa", "aa_assign_lada"};

static aa_status native_run(aa_context *ctx, native_call c, const aa_anchors *a, const aa_gts *g,
                            const aa_head_outputs *h, const aa_assignment *out)
{
    switch (c) {
    case N_ATSS: return aa_assign_atss(ctx, &fx.atss, a, g, out, NULL, 0);
    case N_PAA: return aa_assign_paa(ctx, &fx.paa, a, g, h, out, NULL, 0);
    default: return aa_assign_lada(ctx, &fx.lada, a, g, h, out, NULL, 0);
    }
}

/* AA_MEMORY_NATIVE: the kernels write the caller's cl_mem directly, so a failed
 * call may leave them partly written (the header says so). What must hold: the
 * status and a message naming the call, no host copy made, and the same context
 * then gives the CPU reference's bytes; a lost device refuses every later call. */
static void native_memory(void **state)
{
    (void)state;
    aa_context *ctx = test_opencl_context(AA_MEMORY_NATIVE);
    native n;
    native_init(&n, ctx);
    aa_context *cpu = test_cpu_context();
    static const aa__inject_kind device_kinds[] = {AA__INJECT_LAUNCH, AA__INJECT_ARG};
    int count = 0;
    for (int c = 0; c < N_CALLS; ++c) {
        /* the CPU reference's bytes, from the host copies of the same inputs */
        unsigned char want[3][NUM_IMAGES * NUM_ANCHORS * 4], got[3][NUM_IMAGES * NUM_ANCHORS * 4];
        aa_assignment host = {(int32_t *)want[0], (float *)want[1], (int32_t *)want[2]};
        assert_int_equal(native_run(cpu, (native_call)c, &fx.a, &fx.g, &fx.head, &host), AA_SUCCESS);
        /* a clean run: no upload, no read-back, the reference's bytes */
        native_poison(&n);
        disarm();
        aa_status st = native_run(ctx, (native_call)c, &n.a, &n.g, &n.head, &n.out);
        if (st != AA_SUCCESS) fail_msg("%s (native): %s", native_name[c], aa_context_last_error(ctx));
        int sites_of[2] = {(int)aa__test_runtime_calls(AA__INJECT_LAUNCH),
                           (int)aa__test_runtime_calls(AA__INJECT_ARG)};
        assert_int_equal(aa__test_runtime_calls(AA__INJECT_WRITE), 0);
        assert_int_equal(aa__test_runtime_calls(AA__INJECT_READ), 0);
        assert_true(sites_of[0] >= 1 && sites_of[1] >= 2 * sites_of[0]);
        native_read(&n, got);
        assert_memory_equal(got, want, sizeof want);
        for (int k = 0; k < 2; ++k)
            for (int i = 0; i < sites_of[k]; ++i) {
                char what[200];
                snprintf(what, sizeof what, "%s (native), %s call %d failing with CL_OUT_OF_RESOURCES",
                         native_name[c], kind_call[device_kinds[k]], i);
                native_poison(&n);
                aa__test_fail_runtime_call(device_kinds[k], i, CL_OUT_OF_RESOURCES);
                st = native_run(ctx, (native_call)c, &n.a, &n.g, &n.head, &n.out);
                int64_t made = aa__test_runtime_calls(device_kinds[k]);
                disarm();
                const char *msg = aa_context_last_error(ctx);
                if (verbose()) fprintf(stderr, "%s: %s: %s\n", what, aa_status_string(st), msg);
                if (st != AA_ERR_BACKEND) fail_msg("%s: %s, expected AA_ERR_BACKEND", what, aa_status_string(st));
                if (made != i + 1) fail_msg("%s: %lld calls, expected %d", what, (long long)made, i + 1);
                assert_one_line(msg, what);
                assert_contains(msg, kind_call[device_kinds[k]], what);
                assert_contains(msg, "CL_OUT_OF_RESOURCES (-5)", what);
                ++count;
                /* the same context, the same buffers: the reference's bytes */
                native_poison(&n);
                st = native_run(ctx, (native_call)c, &n.a, &n.g, &n.head, &n.out);
                if (st != AA_SUCCESS) fail_msg("%s, then again: %s", what, aa_context_last_error(ctx));
                native_read(&n, got);
                if (memcmp(got, want, sizeof want) != 0) fail_msg("%s, then again: outputs differ from the CPU's", what);
            }
    }
    /* a lost device in native mode: refused at once afterwards, nothing launched */
    aa__test_fail_runtime_call(AA__INJECT_LAUNCH, 0, CL_DEVICE_NOT_AVAILABLE);
    assert_int_equal(native_run(ctx, N_LADA, &n.a, &n.g, &n.head, &n.out), AA_ERR_BACKEND);
    assert_contains(aa_context_last_error(ctx), "this aa_context cannot be used again", "native, lost");
    disarm();
    assert_int_equal(native_run(ctx, N_ATSS, &n.a, &n.g, &n.head, &n.out), AA_ERR_BACKEND);
    assert_contains(aa_context_last_error(ctx), "was lost by an earlier call", "native, lost");
    for (int kk = 0; kk < AA__INJECT_NUM_KINDS; ++kk)
        assert_int_equal(aa__test_runtime_calls((aa__inject_kind)kk), 0);
    ++count;
    native_release(&n);
    aa_context_destroy(ctx);
    aa_context_destroy(cpu);
    total_failures += count;
    fprintf(stderr, "native memory: %d injected failures (ATSS, PAA, LADA on cl_mem)\n", count);
}

static void summary(void **state)
{
    (void)state;
    fprintf(stderr, "%d injected OpenCL failures checked\n", total_failures);
    assert_true(total_failures > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hook),      cmocka_unit_test(baseline),      cmocka_unit_test(transient),
        cmocka_unit_test(lost),      cmocka_unit_test(build_failure), cmocka_unit_test(native_memory),
        cmocka_unit_test(summary),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
