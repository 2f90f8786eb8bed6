/* parity_gmm.h - the Gaussian-mixture part of test_gpu_parity.c (included there,
 * so that both parity programs, OpenCL and CUDA, run it): aa_gmm_fit on the GPU
 * backend on fresh random batches (the program's seed), host and native memory,
 * against two references:
 *
 *  - OpenCL: the reference's own source with the device's exp and log
 *    (gmm_device_math.h). Everything must be identical: every double bit for bit
 *    (NaN as NaN), status, iterations, labels. This is the kernels' exactness test.
 *  - The CPU backend (glibc's exp and log), both GPU backends. The device's exp
 *    and log differ from glibc's in the last bit now and then and EM amplifies
 *    that, most where a 'diag' variance cancels (E[x^2] - mean^2 of a component
 *    sitting on one value: variance = reg_covar + rounding noise). So here:
 *      - values that no exp/log reaches must be identical: weights, means and
 *        variances for K = 1 (responsibilities are exactly 1) and max_iter 0 (the
 *        initial parameters), every output of a segment with too few points;
 *      - batches made well-conditioned (GMM_CONDITIONED: continuous data near
 *        0 on its own scale, K <= 2, PAA's init, enough points, reg_covar > 0, tol > 0) must have
 *        equal status, iterations and labels, and every double within
 *        GMM_REL_TOL of its scale (gmm_compare: what the value is computed from);
 *      - every value that is not bit-identical, and every other outcome, is
 *        counted per output (summary lines); the first GMM_PRINT_FIRST are
 *        printed, all of them with AA_TEST_GMM_PRINT_ALL=1. */
#include "gmm_common.h"

#if TEST_OPENCL
#include "gmm_device_math.h"
#endif

#define GMM_REL_TOL 1e-12
#define GMM_PRINT_FIRST 12

enum { GMM_OUT_WEIGHTS, GMM_OUT_MEANS, GMM_OUT_VARIANCES, GMM_OUT_BOUND, GMM_OUT_DENSITY, GMM_OUTS };
static const char *const gmm_out_name[GMM_OUTS] = {"weights", "means", "variances", "lower_bound",
                                                   "log_density"};

static struct {
    int64_t batches, segments, points, twin_batches, twin_segments, twin_skipped, twin_values;
    int64_t values[GMM_OUTS], differing[GMM_OUTS], outcome_differing, printed;
    double max_rel[2][GMM_OUTS]; /* [conditioned batch][output] */
} gmm_stats;

/* A batch: points, offsets, parameters and, for AA_GMM_INIT_GIVEN, their arrays. */
typedef struct gmm_batch {
    int64_t num_segments, num_points;
    float *x;
    int64_t *offsets;
    double *init_w, *init_mu, *init_prec;
    aa_gmm_params p;
    int conditioned; /* GMM_CONDITIONED: the tolerance and equal outcomes hold vs glibc */
    char name[192];
} gmm_batch;

#define GMM_ANY 0
#define GMM_CONDITIONED 1

static double gmm_unit(void) { return (double)(test_next() >> 11) / 9007199254740992.0; }

static double gmm_normal(void)
{
    double u = gmm_unit(), v = gmm_unit();
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static int gmm_float_order(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The conditioned shapes come first. */
enum { GMM_BIMODAL, GMM_UNIMODAL, GMM_PAA_COSTS, GMM_EQUAL, GMM_OUTLIERS, GMM_GRID, GMM_SHAPES };
#define GMM_CONDITIONED_SHAPES 3

/* n points of a shape, at a random scale and place (conditioned: centred within
 * 2 spreads of 0, so no 'diag' variance cancels much). */
static void gmm_fill(float *x, int64_t n, int shape, int conditioned)
{
    double scale = pow(10.0, test_int(-2, 3)), reach = conditioned ? 2.0 : 10.0;
    double c = reach * scale * (2.0 * gmm_unit() - 1.0), gap = scale * (1.0 + 4.0 * gmm_unit());
    for (int64_t i = 0; i < n; ++i) {
        double v;
        switch (shape) {
        case GMM_BIMODAL: v = c + (test_int(0, 2) == 0 ? gap : 0.0) + 0.3 * scale * gmm_normal(); break;
        case GMM_UNIMODAL: v = c + scale * gmm_normal(); break;
        case GMM_PAA_COSTS: /* a low and a high cluster of positive costs, sorted */
            v = test_int(0, 2) == 0 ? 0.5 + 0.2 * fabs(gmm_normal()) : 2.0 + fabs(gmm_normal());
            break;
        case GMM_EQUAL: v = test_int(0, 3) == 0 ? 0.0 : c; break;
        case GMM_OUTLIERS: v = c + scale * gmm_normal() * (test_int(0, 9) == 0 ? 1000.0 : 1.0); break;
        default: v = c + scale * test_int(0, 3); break; /* few distinct values: ties */
        }
        x[i] = (float)v;
    }
    if (shape == GMM_PAA_COSTS) qsort(x, (size_t)n, sizeof(float), gmm_float_order);
}

static int64_t gmm_random_size(int conditioned, int k)
{
    if (conditioned) return test_int(8 * k, 60 * k);
    switch (test_int(0, 9)) {
    case 0: return test_int(0, 2);
    case 1: return test_int(3, 8);
    case 2: return test_int(100, 1500);
    default: return test_int(3, 60);
    }
}

/* Parameters of a random case: K 1..4, both covariances and inits, max_iter 0, 1,
 * a few or 100, tol and reg_covar including 0 (conditioned: K <= 2 and PAA's init,
 * PAA's case; reg_covar > 0 and tol > 0. Beyond K = 2, or from given initial
 * parameters (a zero weight, precisions 1e-3..1e3), a fit can stay weakly identified
 * for many iterations, which amplifies a last-bit difference far past 1e-12: seed
 * 1795620419, K 2 from a given init, tol 1e-6, ended 5.8e-7 apart in lower_bound). */
static void gmm_random_params(aa_gmm_params *p, int conditioned)
{
    static const int32_t iters[] = {0, 1, 100, 100, 3, 12};
    static const double tols[] = {1e-3, 1e-3, 1e-6, 0.0}, regs[] = {1e-6, 1e-6, 1e-2, 0.0};
    aa_gmm_params_init(p);
    p->num_components = test_int(1, conditioned ? 2 : AA_GMM_MAX_COMPONENTS);
    p->covariance = test_int(0, 1) ? AA_GMM_FULL : AA_GMM_DIAG;
    p->init = !conditioned && test_int(0, 2) == 0 ? AA_GMM_INIT_GIVEN : AA_GMM_INIT_PAA;
    p->max_iter = iters[test_int(0, 5)];
    p->tol = tols[test_int(0, conditioned ? 2 : 3)];
    p->reg_covar = regs[test_int(0, conditioned ? 2 : 3)];
    /* float32_input rounds intermediate values to float32, where a last-bit
     * difference of exp/log can move a value by a float32 ulp: exact against the
     * device-math twin, only counted against glibc */
    p->float32_input = conditioned ? 0 : test_int(0, 1);
}

/* The given initial parameters of every segment: weights summing to 1 (a zero
 * weight now and then), means around the segment's points, precisions 1e-3..1e3
 * (passed only in batches that are not conditioned: gmm_random_params). */
static void gmm_random_init(gmm_batch *b)
{
    int K = b->p.num_components;
    size_t n = (size_t)(b->num_segments * K) + 1;
    free(b->init_w), free(b->init_mu), free(b->init_prec);
    b->init_w = malloc(n * 8), b->init_mu = malloc(n * 8), b->init_prec = malloc(n * 8);
    for (int64_t s = 0; s < b->num_segments; ++s) {
        double total = 0.0, *w = b->init_w + s * K;
        int64_t first = b->offsets[s], count = b->offsets[s + 1] - first;
        for (int k = 0; k < K; ++k)
            w[k] = (K > 1 && test_int(0, 15) == 0) ? 0.0 : 0.05 + gmm_unit();
        for (int k = 0; k < K; ++k) total += w[k];
        if (total == 0.0) w[0] = total = 1.0;
        for (int k = 0; k < K; ++k) {
            w[k] /= total;
            double at = count > 0 ? b->x[first + test_int(0, (int)count - 1)] : 0.0;
            b->init_mu[s * K + k] = at + gmm_normal();
            b->init_prec[s * K + k] = pow(10.0, 6.0 * gmm_unit() - 3.0);
        }
    }
    int given = b->p.init == AA_GMM_INIT_GIVEN;
    b->p.init_weights = given ? b->init_w : NULL;
    b->p.init_means = given ? b->init_mu : NULL;
    b->p.init_precisions = given ? b->init_prec : NULL;
}

static void gmm_name(gmm_batch *b, const char *what)
{
    snprintf(b->name, sizeof b->name, "%s%s (K %d, %s%s, %s init, max_iter %d, tol %g, reg %g)", what,
             b->conditioned ? ", conditioned" : "", (int)b->p.num_components,
             b->p.covariance == AA_GMM_FULL ? "full" : "diag", b->p.float32_input ? ", float32 input" : "",
             b->p.init == AA_GMM_INIT_GIVEN ? "given" : "PAA", (int)b->p.max_iter, b->p.tol,
             b->p.reg_covar);
}

/* Segments of the given sizes (NULL: random), random shapes and parameters. */
static void gmm_batch_make(gmm_batch *b, int64_t num_segments, const int64_t *sizes, int conditioned,
                           const char *what)
{
    memset(b, 0, sizeof *b);
    b->conditioned = conditioned;
    gmm_random_params(&b->p, conditioned);
    b->num_segments = num_segments;
    b->offsets = malloc((size_t)(num_segments + 1) * 8);
    b->offsets[0] = 0;
    for (int64_t s = 0; s < num_segments; ++s)
        b->offsets[s + 1] = b->offsets[s] + (sizes ? sizes[s] : gmm_random_size(conditioned, b->p.num_components));
    b->num_points = b->offsets[num_segments];
    b->x = malloc((size_t)(b->num_points + 1) * 4);
    for (int64_t s = 0; s < num_segments; ++s)
        gmm_fill(b->x + b->offsets[s], b->offsets[s + 1] - b->offsets[s],
                 test_int(0, (conditioned ? GMM_CONDITIONED_SHAPES : GMM_SHAPES) - 1), conditioned);
    gmm_random_init(b);
    gmm_name(b, what);
}

static void gmm_batch_free(gmm_batch *b)
{
    free(b->x), free(b->offsets), free(b->init_w), free(b->init_mu), free(b->init_prec);
}

/* ---------------------------------------------------------------- comparison */

static int gmm_identical(double a, double b) { return memcmp(&a, &b, 8) == 0 || (isnan(a) && isnan(b)); }

/* One double against the twin (must be identical) or the CPU backend (counted;
 * `strict`: identical required; conditioned batches: |got - ref| <= GMM_REL_TOL x
 * scale, the magnitude the value is computed from, at least |ref|). */
static void gmm_same(const gmm_batch *b, int twin, int out, int64_t i, double ref, double got,
                     double scale, int strict)
{
    if (twin) {
        ++gmm_stats.twin_values;
        if (!gmm_identical(ref, got))
            fail_msg("gmm %s: %s[%lld]: device-math reference %.17g gpu %.17g: not bit-identical", b->name,
                     gmm_out_name[out], (long long)i, ref, got);
        return;
    }
    ++gmm_stats.values[out];
    if (gmm_identical(ref, got)) return;
    double rel = fabs(ref - got) / fmax(scale, fabs(ref));
    if (isnan(rel)) rel = INFINITY; /* NaN against a number, or infinities */
    ++gmm_stats.differing[out];
    if (rel > gmm_stats.max_rel[b->conditioned][out]) gmm_stats.max_rel[b->conditioned][out] = rel;
    if (gmm_stats.printed++ < GMM_PRINT_FIRST || getenv("AA_TEST_GMM_PRINT_ALL"))
        fprintf(stderr, "gmm vs glibc, not bit-identical: %s: %s[%lld]: cpu %.17g gpu %.17g (%.3g of its scale)\n",
                b->name, gmm_out_name[out], (long long)i, ref, got, rel);
    if (strict)
        fail_msg("gmm %s: %s[%lld]: cpu %.17g gpu %.17g, where no exp/log reaches", b->name,
                 gmm_out_name[out], (long long)i, ref, got);
    if (b->conditioned && !(rel <= GMM_REL_TOL))
        fail_msg("gmm %s: %s[%lld]: cpu %.17g gpu %.17g: beyond %g of its scale", b->name,
                 gmm_out_name[out], (long long)i, ref, got, GMM_REL_TOL);
}

/* Status, iterations or a label: equal against the twin, the conditioned batches
 * and where no exp/log reaches; otherwise counted. */
static void gmm_same_outcome(const gmm_batch *b, int twin, int strict, const char *what, int64_t i,
                             int32_t ref, int32_t got)
{
    if (ref == got) return;
    if (twin || strict || b->conditioned)
        fail_msg("gmm %s: %s[%lld]: %s %d gpu %d", b->name, what, (long long)i,
                 twin ? "device-math reference" : "cpu", ref, got);
    ++gmm_stats.outcome_differing;
    if (gmm_stats.printed++ < GMM_PRINT_FIRST || getenv("AA_TEST_GMM_PRINT_ALL"))
        fprintf(stderr, "gmm vs glibc, outcome differs: %s: %s[%lld]: cpu %d gpu %d\n", b->name, what,
                (long long)i, ref, got);
}

/* Every output the GPU run was asked for (got's non-NULL arrays). Scales: 1 for
 * weights (probabilities), the segment's largest |x| for means, variance +
 * mean^2 for variances (what 'diag' subtracts), 1 + |value| for log-likelihoods. */
static void gmm_compare(const gmm_batch *b, const aa_gmm_result *r, const aa_gmm_result *g, int twin,
                        const char *only)
{
    int K = b->p.num_components;
    for (int64_t s = 0; s < b->num_segments; ++s) {
        if (only && !only[s]) continue;
        double xmax = 0.0;
        for (int64_t i = b->offsets[s]; i < b->offsets[s + 1]; ++i) xmax = fmax(xmax, fabs(b->x[i]));
        int too_few = r->status[s] == AA_GMM_TOO_FEW_POINTS;
        int no_exp = too_few || K == 1 || b->p.max_iter == 0; /* parameters free of exp/log */
        if (g->status) gmm_same_outcome(b, twin, too_few, "status", s, r->status[s], g->status[s]);
        if (g->iterations) gmm_same_outcome(b, twin, too_few, "iterations", s, r->iterations[s], g->iterations[s]);
        if (g->lower_bound)
            gmm_same(b, twin, GMM_OUT_BOUND, s, r->lower_bound[s], g->lower_bound[s],
                     1.0 + fabs(r->lower_bound[s]), too_few);
        for (int64_t j = s * K; j < (s + 1) * K; ++j) {
            double mu = r->means[j], var_scale = fabs(r->variances[j]) + mu * mu;
            if (g->weights) gmm_same(b, twin, GMM_OUT_WEIGHTS, j, r->weights[j], g->weights[j], 1.0, no_exp);
            if (g->means) gmm_same(b, twin, GMM_OUT_MEANS, j, r->means[j], g->means[j], xmax, no_exp);
            if (g->variances)
                gmm_same(b, twin, GMM_OUT_VARIANCES, j, r->variances[j], g->variances[j], var_scale, no_exp);
        }
        for (int64_t i = b->offsets[s]; i < b->offsets[s + 1]; ++i) {
            if (g->labels) gmm_same_outcome(b, twin, too_few || K == 1, "labels", i, r->labels[i], g->labels[i]);
            if (g->log_density)
                gmm_same(b, twin, GMM_OUT_DENSITY, i, r->log_density[i], g->log_density[i],
                         1.0 + fabs(r->log_density[i]), too_few);
        }
    }
    if (twin) ++gmm_stats.twin_batches;
}

static void gmm_count(const gmm_batch *b)
{
    gmm_stats.batches += 1, gmm_stats.segments += b->num_segments, gmm_stats.points += b->num_points;
}

/* Against the twin where one exists (OpenCL), segment by segment; a segment
 * whose passes would cost more than GMM_TWIN_BUDGET exp/log calls (estimated
 * from the reference's iterations) is left out and counted. */
#define GMM_TWIN_BUDGET 2000000.0
static void gmm_compare_twin(const gmm_batch *b, const aa_gmm_result *ref, const aa_gmm_result *got)
{
#if TEST_OPENCL
    gmm_outputs twin;
    char *only = calloc((size_t)b->num_segments + 1, 1);
    assert_non_null(only);
    gmm_outputs_alloc(&twin, b->num_segments, b->num_points, b->p.num_components);
    for (int64_t s = 0; s < b->num_segments; ++s) {
        double n = (double)(b->offsets[s + 1] - b->offsets[s]), it = ref->iterations[s] + 2.0;
        if (n * (4 * b->p.num_components + 1) * it * it / 2 > GMM_TWIN_BUDGET) {
            ++gmm_stats.twin_skipped;
            continue;
        }
        only[s] = 1, ++gmm_stats.twin_segments;
    }
    gmm_dm_fit(&b->p, b->x, b->offsets, b->num_segments, only, &twin.r);
    gmm_compare(b, &twin.r, got, 1, only);
    gmm_outputs_free(&twin);
    free(only);
#else
    (void)b, (void)ref, (void)got;
#endif
}

/* A GPU context, and the twin on its device. */
static aa_context *gmm_open(aa_memory memory)
{
    aa_context *gpu = gpu_context(memory);
#if TEST_OPENCL
    gmm_dm_open(gpu);
#endif
    return gpu;
}

static void gmm_close(aa_context *gpu)
{
#if TEST_OPENCL
    gmm_dm_close();
#endif
    aa_context_destroy(gpu);
}

static void gmm_fit_host(aa_context *ctx, const gmm_batch *b, gmm_outputs *o)
{
    gmm_fit_ok(ctx, &b->p, b->x, b->offsets, b->num_segments, o);
}

/* `all` with only the arrays of bit mask `wanted` (bit a: the a-th array of
 * aa_gmm_result); the others NULL. */
static aa_gmm_result gmm_some(const aa_gmm_result *all, unsigned wanted)
{
    aa_gmm_result r = *all;
    void **field[8] = {(void **)&r.weights, (void **)&r.means, (void **)&r.variances,
                       (void **)&r.lower_bound, (void **)&r.iterations, (void **)&r.status,
                       (void **)&r.labels, (void **)&r.log_density};
    for (int a = 0; a < 8; ++a)
        if (!(wanted >> a & 1)) *field[a] = NULL;
    return r;
}

/* The batch on both backends in host memory, every output, both references. */
static void gmm_parity(aa_context *cpu, aa_context *gpu, const gmm_batch *b)
{
    gmm_outputs ref, got;
    gmm_outputs_alloc(&ref, b->num_segments, b->num_points, b->p.num_components);
    gmm_outputs_alloc(&got, b->num_segments, b->num_points, b->p.num_components);
    gmm_fit_host(cpu, b, &ref);
    gmm_fit_host(gpu, b, &got);
    gmm_compare_twin(b, &ref.r, &got.r);
    gmm_compare(b, &ref.r, &got.r, 0, NULL);
    gmm_count(b);
    /* then a random subset of the outputs, none at all now and then */
    unsigned wanted = test_int(0, 3) ? (unsigned)test_int(0, 255) : 0u;
    aa_gmm_segments sg = {b->x, b->offsets, b->num_segments, NULL};
    aa_gmm_result some = gmm_some(&got.r, wanted);
    gmm_outputs_poison(&got);
    aa_status st = aa_gmm_fit(gpu, &b->p, &sg, &some, NULL, 0);
    if (st != AA_SUCCESS) fail_msg("gpu aa_gmm_fit %s: %s", b->name, aa_context_last_error(gpu));
    gmm_compare(b, &ref.r, &some, 0, NULL);
    assert_true(wanted & 1 || test_guarded_untouched(got.r.weights)); /* nothing else written */
    assert_true(wanted & 64 || test_guarded_untouched(got.r.labels));
    gmm_outputs_free(&ref), gmm_outputs_free(&got);
}

/* ---------------------------------------------------------------- host memory */

/* Fresh random batches of 1..30 segments, half of them conditioned. */
static void gmm_random_batches(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gmm_open(AA_MEMORY_HOST);
    for (int trial = 0; trial < 200; ++trial) {
        gmm_batch b;
        gmm_batch_make(&b, test_int(1, 30), NULL, trial % 2 ? GMM_CONDITIONED : GMM_ANY, "random");
        gmm_parity(cpu, gpu, &b);
        gmm_batch_free(&b);
    }
    aa_context_destroy(cpu), gmm_close(gpu);
}

/* Every K, covariance, init and max_iter 0 / 1 / 100, each shape, on the edge
 * sizes: 0, 1, 2 points, fewer points than components, one or two E-step passes. */
static void gmm_edges(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gmm_open(AA_MEMORY_HOST);
    static const int64_t sizes[] = {0, 1, 2, 3, 4, 0, 5, 2, 1, 9, 45, 0, 17, 64, 65, 130};
    static const int32_t iters[] = {0, 1, 100};
    enum { SEGS = sizeof sizes / sizeof sizes[0] };
    for (int k = 1; k <= AA_GMM_MAX_COMPONENTS; ++k)
        for (int cov = AA_GMM_DIAG; cov <= AA_GMM_FULL; ++cov)
            for (int init = AA_GMM_INIT_PAA; init <= AA_GMM_INIT_GIVEN; ++init)
                for (int it = 0; it < 3; ++it)
                    for (int shape = 0; shape < GMM_SHAPES; ++shape) {
                        gmm_batch b;
                        gmm_batch_make(&b, SEGS, sizes, GMM_ANY, "edges");
                        for (int64_t s = 0; s < SEGS; ++s) /* one shape for the whole batch */
                            gmm_fill(b.x + b.offsets[s], sizes[s], shape, 0);
                        b.p.num_components = k, b.p.covariance = (aa_gmm_covariance)cov;
                        b.p.init = (aa_gmm_init)init, b.p.max_iter = iters[it];
                        b.p.tol = 1e-3, b.p.reg_covar = shape == GMM_EQUAL && it == 2 ? 0.0 : 1e-6;
                        b.p.float32_input = (shape + it) % 2;
                        gmm_random_init(&b);
                        char what[32];
                        snprintf(what, sizeof what, "edges, shape %d", shape);
                        gmm_name(&b, what);
                        gmm_parity(cpu, gpu, &b);
                        gmm_batch_free(&b);
                    }
    aa_context_destroy(cpu), gmm_close(gpu);
}

/* Large offsets: a segment of 100,000 points before small ones (K = 1, whose
 * parameters no exp/log reaches, then a random K); and more segments than the plan
 * has groups, so that work-groups stride over segments. */
static void gmm_large(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gmm_open(AA_MEMORY_HOST);
    int64_t sizes[6] = {100000, 3, 0, 40, 7, 2};
    for (int round = 0; round < 2; ++round) {
        gmm_batch b;
        gmm_batch_make(&b, 6, sizes, GMM_ANY, "a 100,000-point segment first");
        if (round == 0) {
            b.p.num_components = 1;
            gmm_random_init(&b);
            gmm_name(&b, "a 100,000-point segment first");
        }
        gmm_parity(cpu, gpu, &b);
        gmm_batch_free(&b);
    }
    enum { MANY = 65536 + 77 };
    int64_t *many = malloc(MANY * sizeof(int64_t));
    for (int64_t s = 0; s < MANY; ++s) many[s] = test_int(0, 6);
    gmm_batch b;
    gmm_batch_make(&b, MANY, many, GMM_ANY, "65,613 segments");
    b.p.max_iter = 4;
    gmm_name(&b, "65,613 segments");
    gmm_parity(cpu, gpu, &b);
    gmm_batch_free(&b);
    free(many);
    aa_context_destroy(cpu), gmm_close(gpu);
}

/* ---------------------------------------------------------------- native memory */

#if TEST_OPENCL
static cl_command_queue gmm_queue(aa_context *gpu)
{
    void *q = NULL;
    assert_int_equal(aa_context_get_stream(gpu, &q), AA_SUCCESS);
    return (cl_command_queue)q;
}

static void *gmm_dev_put(aa_context *gpu, const void *host, size_t bytes)
{
    cl_context c;
    cl_int e;
    assert_int_equal(clGetCommandQueueInfo(gmm_queue(gpu), CL_QUEUE_CONTEXT, sizeof c, &c, NULL), CL_SUCCESS);
    int copy = host && bytes > 0;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE | (copy ? CL_MEM_COPY_HOST_PTR : 0), bytes ? bytes : 16,
                              copy ? (void *)host : NULL, &e);
    assert_int_equal(e, CL_SUCCESS);
    return (void *)(uintptr_t)m;
}

static void gmm_dev_get(aa_context *gpu, void *dev, void *host, size_t bytes)
{
    if (bytes > 0)
        assert_int_equal(clEnqueueReadBuffer(gmm_queue(gpu), (cl_mem)(uintptr_t)dev, CL_TRUE, 0, bytes,
                                             host, 0, NULL, NULL), CL_SUCCESS);
}

static void gmm_dev_free(void *dev)
{
    if (dev) clReleaseMemObject((cl_mem)(uintptr_t)dev);
}
#else
static void *gmm_dev_put(aa_context *gpu, const void *host, size_t bytes)
{
    (void)gpu;
    void *d = NULL;
    assert_int_equal((int)cudaMalloc(&d, bytes ? bytes : 16), (int)cudaSuccess);
    if (host && bytes > 0)
        assert_int_equal((int)cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice), (int)cudaSuccess);
    return d;
}

/* cudaMemcpy waits for the legacy default stream, where the context launches. */
static void gmm_dev_get(aa_context *gpu, void *dev, void *host, size_t bytes)
{
    (void)gpu;
    if (bytes > 0)
        assert_int_equal((int)cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost), (int)cudaSuccess);
}

static void gmm_dev_free(void *dev) { cudaFree(dev); }
#endif

/* The batch from device buffers: poisoned outputs uploaded, the call made (with a
 * caller workspace of the queried size, after a one-byte-short one is refused, or
 * the context's), the outputs read back into `got`. Bit a of `wanted`: the a-th
 * array of aa_gmm_result is asked for (the others NULL). */
static void gmm_fit_native(aa_context *gpu, const gmm_batch *b, int caller_ws, unsigned wanted,
                           gmm_outputs *got)
{
    size_t per_k = (size_t)(b->num_segments * b->p.num_components) * 8, segs = (size_t)b->num_segments;
    size_t pts = (size_t)b->num_points;
    aa_gmm_result *r = &got->r;
    void *host[8] = {r->weights, r->means, r->variances, r->lower_bound, r->iterations, r->status,
                     r->labels, r->log_density};
    size_t bytes[8] = {per_k, per_k, per_k, segs * 8, segs * 4, segs * 4, pts * 4, pts * 8};
    void *dev[8];
    gmm_outputs_poison(got);
    for (int a = 0; a < 8; ++a) dev[a] = (wanted >> a & 1) ? gmm_dev_put(gpu, host[a], bytes[a]) : NULL;
    aa_gmm_result dr = {dev[0], dev[1], dev[2], dev[3], dev[4], dev[5], dev[6], dev[7]};
    void *x = pts ? gmm_dev_put(gpu, b->x, pts * 4) : NULL;
    void *off = pts ? gmm_dev_put(gpu, b->offsets, (segs + 1) * 8) : NULL; /* none needed when empty */
    aa_gmm_segments sg = {x, b->offsets, b->num_segments, off};
    aa_gmm_params p = b->p;
    void *iw = NULL, *imu = NULL, *iprec = NULL, *ws = NULL;
    if (p.init == AA_GMM_INIT_GIVEN) {
        iw = gmm_dev_put(gpu, p.init_weights, per_k), imu = gmm_dev_put(gpu, p.init_means, per_k);
        iprec = gmm_dev_put(gpu, p.init_precisions, per_k);
        p.init_weights = iw, p.init_means = imu, p.init_precisions = iprec;
    }
    size_t ws_bytes = 0;
    assert_int_equal(aa_gmm_workspace_size(gpu, &p, &sg, &ws_bytes), AA_SUCCESS);
    assert_true(ws_bytes >= pts * (size_t)(p.num_components + 1) * 8);
    if (caller_ws) {
        ws = gmm_dev_put(gpu, NULL, ws_bytes);
        if (ws_bytes > 0)
            ASSERT_FAILS(gpu, aa_gmm_fit(gpu, &p, &sg, &dr, ws, ws_bytes - 1), AA_ERR_WORKSPACE_TOO_SMALL,
                         "workspace_bytes", 1);
    }
    aa_status st = aa_gmm_fit(gpu, &p, &sg, &dr, ws, caller_ws ? ws_bytes : 0);
    if (st != AA_SUCCESS) fail_msg("gpu aa_gmm_fit %s: %s", b->name, aa_context_last_error(gpu));
    for (int a = 0; a < 8; ++a)
        if (dev[a]) gmm_dev_get(gpu, dev[a], host[a], bytes[a]);
    for (int a = 0; a < 8; ++a) gmm_dev_free(dev[a]);
    gmm_dev_free(x), gmm_dev_free(off), gmm_dev_free(iw), gmm_dev_free(imu), gmm_dev_free(iprec);
    gmm_dev_free(ws);
}

/* Native memory: every output, with and without a caller workspace, then a random
 * subset of the outputs; all-empty batches without offsets or points. */
static void gmm_native(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gmm_open(AA_MEMORY_NATIVE);
    for (int trial = 0; trial < 40; ++trial) {
        gmm_batch b;
        int empty = trial % 10 == 9;
        int64_t zeros[3] = {0, 0, 0};
        gmm_batch_make(&b, empty ? 3 : test_int(1, 20), empty ? zeros : NULL,
                       trial % 2 ? GMM_CONDITIONED : GMM_ANY, empty ? "native, empty" : "native");
        gmm_outputs ref, got;
        gmm_outputs_alloc(&ref, b.num_segments, b.num_points, b.p.num_components);
        gmm_outputs_alloc(&got, b.num_segments, b.num_points, b.p.num_components);
        gmm_fit_host(cpu, &b, &ref);
        gmm_fit_native(gpu, &b, trial % 2, 0xFF, &got);
        gmm_outputs_check_written(&got);
        gmm_compare_twin(&b, &ref.r, &got.r);
        gmm_compare(&b, &ref.r, &got.r, 0, NULL);
        gmm_count(&b);
        unsigned wanted = (unsigned)test_int(0, 255);
        gmm_fit_native(gpu, &b, 0, wanted, &got);
        aa_gmm_result some = gmm_some(&got.r, wanted); /* compare only what was asked for */
        gmm_compare(&b, &ref.r, &some, 0, NULL);
        gmm_outputs_free(&ref), gmm_outputs_free(&got);
        gmm_batch_free(&b);
    }
    aa_context_destroy(cpu), gmm_close(gpu);
}

/* One line per output: how many doubles were compared and how many were not
 * bit-identical to the glibc reference, and the largest relative difference. */
static void gmm_summary(void)
{
    fprintf(stderr, "%s gmm parity: %lld batches, %lld segments, %lld points\n",
            aa_backend_name(TEST_BACKEND), (long long)gmm_stats.batches, (long long)gmm_stats.segments,
            (long long)gmm_stats.points);
#if TEST_OPENCL
    fprintf(stderr, "  vs the reference with the device's exp/log: %lld batches, %lld segments (%lld "
            "left out as too long to replay), %lld doubles, all bit-identical, status/iterations/labels "
            "equal (%lld passes, %lld device exp/log)\n", (long long)gmm_stats.twin_batches,
            (long long)gmm_stats.twin_segments, (long long)gmm_stats.twin_skipped,
            (long long)gmm_stats.twin_values, (long long)gmm_dm.passes, (long long)gmm_dm.evaluated);
#endif
    for (int o = 0; o < GMM_OUTS; ++o)
        fprintf(stderr, "  vs glibc %-11s: %lld compared, %lld not bit-identical; largest difference, of "
                "its scale: %.3g in conditioned batches, %.3g in the others\n", gmm_out_name[o],
                (long long)gmm_stats.values[o], (long long)gmm_stats.differing[o], gmm_stats.max_rel[1][o],
                gmm_stats.max_rel[0][o]);
    fprintf(stderr, "  vs glibc status/iterations/labels different (unconditioned batches only): %lld\n",
            (long long)gmm_stats.outcome_differing);
}
