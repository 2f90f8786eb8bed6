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
#include "common.h"

#include "alloc.h" /* the test hook: host/, not the public header */

#include <math.h>

enum { NUM_ANCHORS = 6, NUM_LEVELS = 2, NUM_IMAGES = 2, NUM_GTS = 3, TOPK = 3, NUM_CLASSES = 3 };
enum { NUM_SEGMENTS = 3, NUM_POINTS = 10, K = 2 };
enum { MAX_SITES = 64 }; /* a call with more allocation sites than this is a bug */

/* ---------------------------------------------------------------- inputs */

typedef struct fixture {
    float anchors[NUM_ANCHORS * 4];
    int64_t level_counts[NUM_LEVELS];
    float strides[NUM_LEVELS];
    float gts[NUM_GTS * 4];
    int64_t offsets[NUM_IMAGES + 1];
    uint8_t crowd[NUM_GTS];
    int32_t labels[NUM_GTS];
    aa_anchors a;
    aa_gts g;
    aa_max_iou_params max_iou;
    aa_atss_params atss;
    aa_fcos_params fcos;
    aa_gmm_params gmm;
    float points[NUM_POINTS];
    int64_t seg_offsets[NUM_SEGMENTS + 1];
    aa_gmm_segments segs;
    aa_paa_params paa;
    aa_lada_params lada;
    float logits[NUM_IMAGES * NUM_ANCHORS * NUM_CLASSES];
    float deltas[NUM_IMAGES * NUM_ANCHORS * 4];
    aa_head_outputs head;
    /* computed once on a CPU context: inputs of the calls that take another's output */
    int32_t candidates[NUM_GTS * NUM_LEVELS * TOPK];
    int32_t pre[NUM_IMAGES * NUM_ANCHORS];
    float costs[NUM_IMAGES * NUM_ANCHORS];
} fixture;

static fixture fx;

static void fixture_init(void)
{
    fixture *f = &fx;
    memset(f, 0, sizeof *f);
    for (int i = 0; i < NUM_ANCHORS; ++i) {
        float x = 10.0f * (float)i;
        f->anchors[4 * i] = x, f->anchors[4 * i + 1] = 0, f->anchors[4 * i + 2] = x + 16,
        f->anchors[4 * i + 3] = 16;
    }
    const float gts[NUM_GTS * 4] = {0, 0, 20, 20, 30, 0, 50, 10, 5, 5, 26, 14};
    memcpy(f->gts, gts, sizeof gts);
    f->level_counts[0] = 4, f->level_counts[1] = 2;
    f->strides[0] = 8, f->strides[1] = 16;
    f->offsets[0] = 0, f->offsets[1] = 2, f->offsets[2] = 3;
    f->crowd[0] = 0, f->crowd[1] = 1, f->crowd[2] = 0;
    f->labels[0] = 1, f->labels[1] = 2, f->labels[2] = 0;
    aa_anchors a = {f->anchors, NUM_ANCHORS, NUM_LEVELS, f->level_counts, f->strides};
    aa_gts g = {f->gts, f->offsets, NUM_IMAGES, f->crowd, f->labels, NULL};
    f->a = a, f->g = g;
    aa_max_iou_params_init(&f->max_iou);
    aa_atss_params_init(&f->atss);
    aa_fcos_params_init(&f->fcos);
    f->fcos.num_regress_ranges = NUM_LEVELS;
    f->fcos.center_sampling = 1;

    aa_gmm_params_init(&f->gmm); /* PAA init, float64 input: every backend */
    const float points[NUM_POINTS] = {0.1f, 0.2f, 0.9f, 1.0f, 0.15f, 0.5f, 0.6f, 0.55f, 0.3f, 0.8f};
    memcpy(f->points, points, sizeof points);
    f->seg_offsets[0] = 0, f->seg_offsets[1] = 5, f->seg_offsets[2] = 8, f->seg_offsets[3] = 10;
    aa_gmm_segments s = {f->points, f->seg_offsets, NUM_SEGMENTS, NULL};
    f->segs = s;

    aa_paa_params_init(&f->paa);
    f->paa.topk = 2;
    aa_lada_params_init(&f->lada);
    f->lada.region_radius = 2.5f; /* a few candidates per GT on this small set */
    for (int i = 0; i < NUM_IMAGES * NUM_ANCHORS * NUM_CLASSES; ++i)
        f->logits[i] = 3.0f * sinf(0.7f * (float)i + 0.3f);
    for (int i = 0; i < NUM_IMAGES * NUM_ANCHORS * 4; ++i)
        f->deltas[i] = 0.5f * cosf(1.3f * (float)i);
    f->head.cls_logits = f->logits;
    f->head.bbox_deltas = f->deltas;
    f->head.dtype = AA_FLOAT32;
    f->head.num_classes = NUM_CLASSES;

    aa_context *cpu = test_cpu_context();
    aa_assignment pre = {f->pre, NULL, NULL};
    assert_int_equal(aa_topk_nearest(cpu, TOPK, &f->a, &f->g, f->candidates), AA_SUCCESS);
    assert_int_equal(aa_assign_max_iou(cpu, &f->paa.pre, &f->a, &f->g, &pre, NULL, 0), AA_SUCCESS);
    assert_int_equal(aa_paa_costs(cpu, &f->paa, &f->a, &f->g, &f->head, f->pre, f->costs),
                     AA_SUCCESS);
    aa_context_destroy(cpu);
}

/* ---------------------------------------------------------------- outputs */

/* Every output any call writes, guarded and poisoned together: a failing call must
 * leave all of them untouched, a successful one give a fresh context's bytes. */
enum {
    B_OVERLAPS, B_CANDIDATES, B_MEAN, B_STD, B_GT_INDEX, B_OVERLAP, B_LABELS, B_COSTS,
    B_GMM_WEIGHTS, B_GMM_MEANS, B_GMM_VARIANCES, B_GMM_BOUND, B_GMM_ITER, B_GMM_STATUS,
    B_GMM_LABELS, B_GMM_DENSITY, NUM_BUFFERS
};

typedef struct outputs {
    void *buf[NUM_BUFFERS];
    size_t bytes[NUM_BUFFERS];
    aa_assignment out;
    aa_gmm_result gmm;
} outputs;

static void outputs_alloc(outputs *o)
{
    const size_t n[NUM_BUFFERS][2] = {
        {NUM_GTS * NUM_ANCHORS, 4}, {NUM_GTS * NUM_LEVELS * TOPK, 4}, {NUM_GTS, 8}, {NUM_GTS, 8},
        {NUM_IMAGES * NUM_ANCHORS, 4}, {NUM_IMAGES * NUM_ANCHORS, 4}, {NUM_IMAGES * NUM_ANCHORS, 4},
        {NUM_IMAGES * NUM_ANCHORS, 4}, {NUM_SEGMENTS * K, 8}, {NUM_SEGMENTS * K, 8},
        {NUM_SEGMENTS * K, 8}, {NUM_SEGMENTS, 8}, {NUM_SEGMENTS, 4}, {NUM_SEGMENTS, 4},
        {NUM_POINTS, 4}, {NUM_POINTS, 8}};
    for (int i = 0; i < NUM_BUFFERS; ++i) {
        o->buf[i] = test_guarded_alloc(n[i][0], n[i][1]);
        o->bytes[i] = n[i][0] * n[i][1];
    }
    o->out.gt_index = o->buf[B_GT_INDEX];
    o->out.overlap = o->buf[B_OVERLAP];
    o->out.labels = o->buf[B_LABELS];
    aa_gmm_result r = {o->buf[B_GMM_WEIGHTS], o->buf[B_GMM_MEANS], o->buf[B_GMM_VARIANCES],
                       o->buf[B_GMM_BOUND],   o->buf[B_GMM_ITER],  o->buf[B_GMM_STATUS],
                       o->buf[B_GMM_LABELS],  o->buf[B_GMM_DENSITY]};
    o->gmm = r;
}

static void outputs_poison(outputs *o)
{
    for (int i = 0; i < NUM_BUFFERS; ++i) test_guarded_poison(o->buf[i]);
}

/* Every byte still the poison, every guard intact. */
static void outputs_assert_untouched(const outputs *o, const char *what)
{
    for (int i = 0; i < NUM_BUFFERS; ++i) {
        test_guarded_check(o->buf[i]);
        if (!test_guarded_untouched(o->buf[i])) fail_msg("%s: output buffer %d was written", what, i);
    }
}

static void outputs_free(outputs *o)
{
    for (int i = 0; i < NUM_BUFFERS; ++i) test_guarded_free(o->buf[i]);
}

/* A snapshot of all outputs' bytes. */
typedef struct snapshot {
    unsigned char bytes[1024];
    size_t size;
} snapshot;

static void snapshot_take(const outputs *o, snapshot *s)
{
    s->size = 0;
    for (int i = 0; i < NUM_BUFFERS; ++i) {
        test_guarded_check(o->buf[i]);
        assert_true(s->size + o->bytes[i] <= sizeof s->bytes);
        memcpy(s->bytes + s->size, o->buf[i], o->bytes[i]);
        s->size += o->bytes[i];
    }
}

static void snapshot_assert_equal(const outputs *o, const snapshot *expected, const char *what)
{
    snapshot got;
    snapshot_take(o, &got);
    assert_int_equal(got.size, expected->size);
    if (memcmp(got.bytes, expected->bytes, got.size) != 0)
        fail_msg("%s: the outputs differ from a fresh context's", what);
}

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
static aa_status run_overlaps(aa_context *ctx, outputs *o)
{
    return aa_overlaps(ctx, AA_IOU, 1e-6f, &fx.a, &fx.g, o->buf[B_OVERLAPS]);
}
static aa_status run_topk(aa_context *ctx, outputs *o)
{
    return aa_topk_nearest(ctx, TOPK, &fx.a, &fx.g, o->buf[B_CANDIDATES]);
}
static aa_status run_stats(aa_context *ctx, outputs *o)
{
    return aa_candidate_iou_stats(ctx, TOPK, 1e-6f, &fx.a, &fx.g, fx.candidates, o->buf[B_MEAN],
                                  o->buf[B_STD]);
}
static aa_status run_max_iou(aa_context *ctx, outputs *o)
{
    return aa_assign_max_iou(ctx, &fx.max_iou, &fx.a, &fx.g, &o->out, NULL, 0);
}
static aa_status run_atss(aa_context *ctx, outputs *o)
{
    return aa_assign_atss(ctx, &fx.atss, &fx.a, &fx.g, &o->out, NULL, 0);
}
static aa_status run_fcos(aa_context *ctx, outputs *o)
{
    return aa_assign_fcos(ctx, &fx.fcos, &fx.a, &fx.g, &o->out, NULL, 0);
}
static aa_status run_gmm(aa_context *ctx, outputs *o)
{
    return aa_gmm_fit(ctx, &fx.gmm, &fx.segs, &o->gmm, NULL, 0);
}
static aa_status run_paa_costs(aa_context *ctx, outputs *o)
{
    return aa_paa_costs(ctx, &fx.paa, &fx.a, &fx.g, &fx.head, fx.pre, o->buf[B_COSTS]);
}
static aa_status run_paa_select(aa_context *ctx, outputs *o)
{
    return aa_assign_paa_costs(ctx, &fx.paa, &fx.a, &fx.g, fx.pre, fx.costs, &o->out, NULL, 0);
}
static aa_status run_paa(aa_context *ctx, outputs *o)
{
    return aa_assign_paa(ctx, &fx.paa, &fx.a, &fx.g, &fx.head, &o->out, NULL, 0);
}
static aa_status run_lada(aa_context *ctx, outputs *o)
{
    return aa_assign_lada(ctx, &fx.lada, &fx.a, &fx.g, &fx.head, &o->out, NULL, 0);
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

static int verbose(void)
{
    const char *v = getenv("AA_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

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
