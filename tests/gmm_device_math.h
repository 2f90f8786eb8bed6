/* gmm_device_math.h - for test_gpu_parity.c (OpenCL): the CPU reference's own
 * source (host/cpu/gmm_ref.c, unchanged) compiled a second time with exp and log
 * taken from the OpenCL device instead of the host libm. PoCL's exp and log
 * round differently from glibc's in the last bit (exp on ~10% of arguments, log
 * on ~1%) and EM amplifies that, so the GPU is compared bit for bit with this
 * twin: any difference left is the kernel's, not the libm's.
 *
 * The reference's loops are sequential and one device call per exp would take
 * minutes, so the twin fits in passes, each segment on its own: a pass answers
 * each exp/log from a table of device results; an argument not in it yet is
 * queued and answered with the host's value for now, and the segment's pass
 * stops one E-step's worth of calls later (what follows depends on host
 * values). After a pass over the segments the device evaluates the queue in one
 * launch. A segment whose pass queued nothing ran on device values only: its
 * outputs are the twin's. Each pass settles at least one more E-step, so a
 * segment costs about iterations^2 / 2 E-steps. float32_input's 'full' path
 * takes logf from the device as well (a third table). */
#include <math.h>
#include <setjmp.h>

#include "../host/internal.h"

typedef struct gmm_dm_table { /* open addressing on the argument's bits */
    uint64_t *key;
    double *value;
    unsigned char *state; /* 0 empty, 1 device value, 2 queued (host value for now) */
    size_t cap, count;
} gmm_dm_table;

#define GMM_DM_QUEUE_MAX (1 << 18) /* per pass: the rest waits for a later pass */

static struct {
    cl_command_queue queue;
    cl_context context;
    cl_kernel kernel;
    cl_program program;
    gmm_dm_table table[3]; /* exp, log, logf */
    double *queued_x;
    cl_int *queued_fn;
    size_t queued;
    int64_t budget;      /* calls left in this pass after its first queued argument; -1: none */
    int incomplete;      /* the pass stopped early (budget spent, or the queue full) */
    int missed;          /* the pass used a host value (queued now or by an earlier segment) */
    int64_t estep_calls; /* exp/log calls of one E-step of the segment (at most) */
    jmp_buf stop;
    int64_t passes, evaluated;
} gmm_dm;

static const char gmm_dm_source[] =
    "#pragma OPENCL FP_CONTRACT OFF\n"
    "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
    "__kernel void aa_test_math(__global const double *x, __global const int *fn, __global double *out,\n"
    "                           ulong n)\n"
"{ size_t i = get_global_id(0);\n"
    "  if (i < n) out[i] = fn[i] == 2 ? (double)log((float)x[i]) : fn[i] ? log(x[i]) : exp(x[i]); }\n";

static void gmm_dm_table_init(gmm_dm_table *t, size_t cap)
{
    t->cap = cap, t->count = 0;
    t->key = malloc(cap * 8), t->value = malloc(cap * 8), t->state = calloc(cap, 1);
    assert_true(t->key && t->value && t->state);
}

static void gmm_dm_table_free(gmm_dm_table *t) { free(t->key), free(t->value), free(t->state); }

static size_t gmm_dm_slot(const gmm_dm_table *t, uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (t->cap - 1);
    while (t->state[i] && t->key[i] != key) i = (i + 1) & (t->cap - 1);
    return i;
}

static void gmm_dm_grow(gmm_dm_table *t)
{
    gmm_dm_table old = *t;
    gmm_dm_table_init(t, old.cap * 2);
    for (size_t i = 0; i < old.cap; ++i)
        if (old.state[i]) {
            size_t j = gmm_dm_slot(t, old.key[i]);
            t->key[j] = old.key[i], t->value[j] = old.value[i], t->state[j] = old.state[i];
            ++t->count;
        }
    gmm_dm_table_free(&old);
}

/* On the queue and device of the GPU context, with the library's build options;
 * once per context (gmm_dm_close before the context goes). */
static void gmm_dm_open(aa_context *gpu)
{
    void *q = NULL;
    cl_device_id dev;
    cl_int e;
    const char *src = gmm_dm_source;
    assert_int_equal(aa_context_get_stream(gpu, &q), AA_SUCCESS);
    gmm_dm.queue = (cl_command_queue)q;
    assert_int_equal(clGetCommandQueueInfo(gmm_dm.queue, CL_QUEUE_CONTEXT, sizeof gmm_dm.context,
                                           &gmm_dm.context, NULL), CL_SUCCESS);
    assert_int_equal(clGetCommandQueueInfo(gmm_dm.queue, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL), CL_SUCCESS);
    gmm_dm.program = clCreateProgramWithSource(gmm_dm.context, 1, &src, NULL, &e);
    assert_int_equal(e, CL_SUCCESS);
    assert_int_equal(clBuildProgram(gmm_dm.program, 1, &dev,
                                    "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt", NULL, NULL),
                     CL_SUCCESS);
    gmm_dm.kernel = clCreateKernel(gmm_dm.program, "aa_test_math", &e);
    assert_int_equal(e, CL_SUCCESS);
    for (int fn = 0; fn < 3; ++fn) gmm_dm_table_init(&gmm_dm.table[fn], 1 << 16);
    gmm_dm.queued_x = malloc(GMM_DM_QUEUE_MAX * sizeof(double));
    gmm_dm.queued_fn = malloc(GMM_DM_QUEUE_MAX * sizeof(cl_int));
    assert_true(gmm_dm.queued_x && gmm_dm.queued_fn);
}

static void gmm_dm_close(void)
{
    clReleaseKernel(gmm_dm.kernel), clReleaseProgram(gmm_dm.program);
    for (int fn = 0; fn < 3; ++fn) gmm_dm_table_free(&gmm_dm.table[fn]);
    free(gmm_dm.queued_x), free(gmm_dm.queued_fn);
    gmm_dm.queue = NULL;
}

static double gmm_dm_eval(double x, int fn)
{
    if (gmm_dm.budget >= 0 && --gmm_dm.budget < 0) longjmp(gmm_dm.stop, 1);
    gmm_dm_table *t = &gmm_dm.table[fn];
    uint64_t key;
    memcpy(&key, &x, 8);
    size_t i = gmm_dm_slot(t, key);
    if (t->state[i] == 1) return t->value[i];
    if (gmm_dm.budget < 0) gmm_dm.budget = gmm_dm.estep_calls; /* the rest of this E-step */
    gmm_dm.missed = 1;
    if (t->state[i] == 2) return t->value[i]; /* queued already: the host's value for now */
    double host = fn == 2 ? (double)logf((float)x) : fn ? log(x) : exp(x);
    if (gmm_dm.queued == GMM_DM_QUEUE_MAX) longjmp(gmm_dm.stop, 1); /* a later pass */
    if (2 * (t->count + 1) > t->cap) {
        gmm_dm_grow(t);
        i = gmm_dm_slot(t, key);
    }
    t->key[i] = key, t->value[i] = host, t->state[i] = 2, ++t->count;
    gmm_dm.queued_x[gmm_dm.queued] = x, gmm_dm.queued_fn[gmm_dm.queued] = fn, ++gmm_dm.queued;
    return host;
}

/* The queued arguments on the device, in one launch, into the tables. */
static void gmm_dm_settle(void)
{
    size_t n = gmm_dm.queued;
    cl_int e;
    cl_mem bx = clCreateBuffer(gmm_dm.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 8, gmm_dm.queued_x, &e);
    assert_int_equal(e, CL_SUCCESS);
    cl_mem bf = clCreateBuffer(gmm_dm.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 4, gmm_dm.queued_fn, &e);
    assert_int_equal(e, CL_SUCCESS);
    cl_mem bo = clCreateBuffer(gmm_dm.context, CL_MEM_WRITE_ONLY, n * 8, NULL, &e);
    assert_int_equal(e, CL_SUCCESS);
    assert_int_equal(clSetKernelArg(gmm_dm.kernel, 0, sizeof bx, &bx), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(gmm_dm.kernel, 1, sizeof bf, &bf), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(gmm_dm.kernel, 2, sizeof bo, &bo), CL_SUCCESS);
    cl_ulong count = n;
    assert_int_equal(clSetKernelArg(gmm_dm.kernel, 3, sizeof count, &count), CL_SUCCESS);
    /* one fixed work-group size: PoCL compiles a work-group function for every
     * size it would pick itself */
    size_t local = 64, global = (n + local - 1) / local * local;
    assert_int_equal(clEnqueueNDRangeKernel(gmm_dm.queue, gmm_dm.kernel, 1, NULL, &global, &local, 0, NULL,
                                            NULL), CL_SUCCESS);
    double *out = malloc(n * 8);
    assert_non_null(out);
    assert_int_equal(clEnqueueReadBuffer(gmm_dm.queue, bo, CL_TRUE, 0, n * 8, out, 0, NULL, NULL), CL_SUCCESS);
    for (size_t j = 0; j < n; ++j) {
        gmm_dm_table *t = &gmm_dm.table[gmm_dm.queued_fn[j]];
        uint64_t key;
        memcpy(&key, &gmm_dm.queued_x[j], 8);
        size_t i = gmm_dm_slot(t, key);
        t->value[i] = out[j], t->state[i] = 1;
    }
    gmm_dm.evaluated += (int64_t)n;
    free(out);
    clReleaseMemObject(bx), clReleaseMemObject(bf), clReleaseMemObject(bo);
}

static double gmm_dm_exp(double x) { return gmm_dm_eval(x, 0); }
static double gmm_dm_log(double x) { return gmm_dm_eval(x, 1); }
static float gmm_dm_logf(float x) { return (float)gmm_dm_eval((double)x, 2); }

/* The reference, renamed, with the device's exp and log (math.h is already in). */
size_t gmm_dm_ref_ws_bytes(const aa_gmm_params *p, const aa_gmm_batch *g);
void gmm_dm_ref_fit(const aa_gmm_params *p, const aa_gmm_batch *g, const aa_gmm_result *out,
                    void *workspace);
#define exp gmm_dm_exp
#define log gmm_dm_log
#define logf gmm_dm_logf
#define aa__ref_gmm_ws_bytes gmm_dm_ref_ws_bytes
#define aa__ref_gmm_fit gmm_dm_ref_fit
#include "../host/cpu/gmm_ref.c"
#undef exp
#undef log
#undef logf
#undef aa__ref_gmm_ws_bytes
#undef aa__ref_gmm_fit

/* One pass of the twin over segment s (into the batch's outputs, all present):
 * returns 1 when it ran on device values only. */
static int gmm_dm_pass(const aa_gmm_params *p, const float *x, const int64_t *offsets, int64_t s,
                       const aa_gmm_result *out, void *ws)
{
    int64_t begin = offsets[s], n = offsets[s + 1] - begin, K = p->num_components;
    const int64_t one[2] = {0, n};
    aa_gmm_params q = *p;
    if (q.init == AA_GMM_INIT_GIVEN)
        q.init_weights += s * K, q.init_means += s * K, q.init_precisions += s * K;
    aa_gmm_segments sg = {x + begin, one, 1, NULL};
    aa_gmm_batch g = {&sg, 1, n, n};
    aa_gmm_result r = {out->weights + s * K, out->means + s * K, out->variances + s * K,
                       out->lower_bound + s, out->iterations + s, out->status + s,
                       out->labels + begin, out->log_density + begin};
    gmm_dm.estep_calls = n * (4 * K + 1); /* per point: 2K logs, K + 1 in log-sum-exp, K exps */
    gmm_dm.budget = -1, gmm_dm.incomplete = 1, gmm_dm.missed = 0;
    if (setjmp(gmm_dm.stop) == 0) {
        gmm_dm_ref_fit(&q, &g, &r, ws);
        gmm_dm.incomplete = 0;
    }
    gmm_dm.budget = -1;
    return !gmm_dm.incomplete && !gmm_dm.missed;
}

/* The twin's fit of the segments marked in `only`, into `out` (all present). */
static void gmm_dm_fit(const aa_gmm_params *p, const float *x, const int64_t *offsets,
                       int64_t num_segments, const char *only, const aa_gmm_result *out)
{
    int64_t max_points = 0;
    for (int64_t s = 0; s < num_segments; ++s)
        if (offsets[s + 1] - offsets[s] > max_points) max_points = offsets[s + 1] - offsets[s];
    aa_gmm_batch largest = {NULL, 1, max_points, max_points};
    void *ws = malloc(gmm_dm_ref_ws_bytes(p, &largest) + 8);
    char *done = calloc((size_t)num_segments + 1, 1);
    assert_true(ws && done);
    for (int fn = 0; fn < 3; ++fn) { /* a fresh table per batch: it stays small */
        memset(gmm_dm.table[fn].state, 0, gmm_dm.table[fn].cap);
        gmm_dm.table[fn].count = 0;
    }
    for (int pass = 0;; ++pass) {
        int pending = 0;
        assert_true(pass <= 4 * AA_GMM_MAX_ITER);
        gmm_dm.queued = 0;
        for (int64_t s = 0; s < num_segments; ++s) {
            if (!only[s] || done[s]) continue;
            done[s] = (char)gmm_dm_pass(p, x, offsets, s, out, ws);
            pending |= !done[s];
        }
        ++gmm_dm.passes;
        if (!pending) break;
        if (gmm_dm.queued > 0) gmm_dm_settle();
    }
    free(ws), free(done);
}
