/*
 * fuzz_loss.c - libFuzzer target for the loss-aware calls' input checking: the
 * batched Gaussian-mixture EM (aa_gmm_workspace_size, aa_gmm_fit) and PAA
 * (aa_paa_costs, aa_paa_select_workspace_size, aa_assign_paa_costs,
 * aa_paa_workspace_size, aa_assign_paa) on a CPU context.
 *
 * The input describes segments of points (ragged offsets, point values, one
 * corruption), EM parameters field by field (struct_size included) with given
 * initial parameters, then a batch (harness.c's build_batch), head outputs (float32,
 * float16 or bfloat16, special values patched in), PAA parameters, a corrupted
 * pre-assignment and corrupted costs, and random NULLs. As fuzz_api.c, the harness
 * computes from the header's rules which statuses the inputs call for and aborts
 * when a call disagrees, writes on failure, leaves an owned element unwritten, is
 * not repeatable, or when a result breaks a documented rule:
 *   - EM: a status outside the four documented, AA_GMM_TOO_FEW_POINTS not exactly
 *     the segments with fewer than two points or fewer points than components,
 *     iterations outside 0..max_iter, a fitted segment (converged or not) with
 *     weights not summing to 1, a variance <= 0 or a label outside 0..K-1, labels
 *     not -1 and log-densities not NaN where the fit is ill-defined or not run;
 *   - PAA costs: +INF exactly where the anchor is not pre-assigned, never NaN;
 *   - PAA selection: AA_IGNORED exactly where pre-ignored, a positive only on an
 *     anchor pre-assigned to that GT, overlap = the cost where pre-assigned and
 *     +INF elsewhere, labels the assigned GT's;
 *   - aa_assign_paa: the same bytes as max-IoU (params.pre), aa_paa_costs and
 *     aa_assign_paa_costs composed, and AA_ERR_INVALID_ARGUMENT exactly when a
 *     composed cost overflows float32;
 *   - a caller workspace of exactly the queried size gives the context's result,
 *     one byte less is AA_ERR_WORKSPACE_TOO_SMALL.
 *
 * Sizes: <= 24 segments of <= 40 points; batches as fuzz_api.c, <= 8 classes.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fuzz_target_name = "fuzz_loss";

enum { MAX_SEGMENTS = 24, MAX_SEGMENT_POINTS = 40 };

/* Caller-workspace variants of a call: the exact queried size (same bytes as the
 * context's workspace), and one byte less. */
typedef struct ws_args {
    void *ws;
    size_t ws_bytes;
} ws_args;

/* ---------------------------------------------------------------- the EM */

typedef struct gmm_args {
    const aa_gmm_params *params;
    const aa_gmm_segments *segments;
    const aa_gmm_result *result;
    size_t *bytes;
    ws_args w;
} gmm_args;

static aa_status call_gmm_ws(aa_context *c, void *v)
{
    gmm_args *x = v;
    return aa_gmm_workspace_size(c, x->params, x->segments, x->bytes);
}
static aa_status call_gmm(aa_context *c, void *v)
{
    gmm_args *x = v;
    return aa_gmm_fit(c, x->params, x->segments, x->result, x->w.ws, x->w.ws_bytes);
}

static mask oracle_gmm_params(const aa_gmm_params *given, aa_gmm_params *eff)
{
    EFFECTIVE(aa_gmm_params, aa_gmm_params_init, given, *eff);
    if (given && oracle_struct_size(given->struct_size, sizeof *eff)) return BIT(AA_ERR_INVALID_ARGUMENT);
    const aa_gmm_params *p = eff;
    mask m = 0;
    if (p->num_components < 1 || p->num_components > AA_GMM_MAX_COMPONENTS) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->max_iter < 0 || p->max_iter > AA_GMM_MAX_ITER) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (!(p->tol >= 0.0) || !isfinite(p->tol)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (!(p->reg_covar >= 0.0) || !isfinite(p->reg_covar)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->covariance != AA_GMM_DIAG && p->covariance != AA_GMM_FULL) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->init != AA_GMM_INIT_PAA && p->init != AA_GMM_INIT_GIVEN) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->float32_input != 0 && p->float32_input != 1) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    return m;
}

/* Given initial parameters, as scikit-learn checks them (valid K only). */
static mask oracle_gmm_init(const aa_gmm_params *p, int64_t segments)
{
    if (p->init != AA_GMM_INIT_GIVEN || segments == 0) return 0;
    if (!p->init_weights || !p->init_means || !p->init_precisions) return BIT(AA_ERR_NULL_POINTER);
    int32_t K = p->num_components;
    mask m = 0;
    for (int64_t s = 0; s < segments; ++s) {
        double total = 0.0;
        for (int32_t k = 0; k < K; ++k) {
            double w = p->init_weights[s * K + k];
            if (!(w >= 0.0 && w <= 1.0)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
            if (!isfinite(p->init_means[s * K + k])) m |= BIT(AA_ERR_INVALID_ARGUMENT);
            double pr = p->init_precisions[s * K + k];
            if (!(pr > 0.0) || !isfinite(pr)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
            total += w;
        }
        if (!(fabs(1.0 - total) <= 1e-8)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    }
    return m;
}

/* Points of one segment: bimodal, unimodal, equal, explicit from the input. */
static void fill_points(input *in, float *x, int64_t n)
{
    unsigned mode = u8(in) % 5;
    rng_state = ((uint64_t)u32(in) << 1) | 1;
    float a = rng_float(-5, 5), b = a + rng_float(0, 8);
    for (int64_t i = 0; i < n; ++i) {
        switch (mode) {
        case 0: x[i] = (rng() & 1 ? a : b) + rng_float(-0.3f, 0.3f); break;
        case 1: x[i] = rng_float(-2, 2); break;
        case 2: x[i] = a; break;
        case 3: x[i] = i == 0 ? 1e6f : rng_float(0, 1); break; /* an outlier */
        default: x[i] = fval(in, -10, 10); break;
        }
    }
}

static void check_gmm_result(const aa_gmm_params *p, const aa_gmm_segments *sg, const aa_gmm_result *r)
{
    int32_t K = p->num_components;
    for (int64_t s = 0; s < sg->num_segments; ++s) {
        int64_t n = sg->offsets[s + 1] - sg->offsets[s];
        int too_few = n < 2 || n < K;
        int32_t st = r->status ? r->status[s] : 99;
        if (r->status) {
            CHECK(st == AA_GMM_CONVERGED || st == AA_GMM_NOT_CONVERGED || st == AA_GMM_ILL_DEFINED ||
                      st == AA_GMM_TOO_FEW_POINTS,
                  "segment %lld: status %d", (long long)s, (int)st);
            CHECK((st == AA_GMM_TOO_FEW_POINTS) == too_few, "segment %lld of %lld points, K %d: status %d",
                  (long long)s, (long long)n, (int)K, (int)st);
        }
        if (r->iterations) {
            int32_t it = r->iterations[s];
            CHECK(it >= 0 && it <= p->max_iter, "segment %lld: %d iterations, max_iter %d", (long long)s,
                  (int)it, (int)p->max_iter);
            if (too_few) CHECK(it == 0, "segment %lld: too few points, %d iterations", (long long)s, (int)it);
        }
        int fitted = st == AA_GMM_CONVERGED || st == AA_GMM_NOT_CONVERGED;
        if (fitted && p->max_iter > 0) {
            if (r->weights) {
                double total = 0.0;
                for (int32_t k = 0; k < K; ++k) total += r->weights[s * K + k];
                CHECK(fabs(total - 1.0) <= 1e-6, "segment %lld: weights sum to %.17g", (long long)s, total);
            }
            if (r->variances)
                for (int32_t k = 0; k < K; ++k)
                    CHECK(r->variances[s * K + k] > 0.0, "segment %lld: variance %d is %g", (long long)s,
                          (int)k, r->variances[s * K + k]);
        }
        for (int64_t i = sg->offsets[s]; r->status && i < sg->offsets[s + 1]; ++i) {
            if (r->labels)
                CHECK(fitted ? r->labels[i] >= 0 && r->labels[i] < K : r->labels[i] == -1,
                      "point %lld (segment %lld, status %d): label %d", (long long)i, (long long)s,
                      (int)st, (int)r->labels[i]);
            if (r->log_density)
                CHECK(fitted ? !isnan(r->log_density[i]) : isnan(r->log_density[i]),
                      "point %lld (segment %lld, status %d): log_density %g", (long long)i, (long long)s,
                      (int)st, r->log_density[i]);
        }
    }
}

/* Size query, the context's workspace, the caller's of exactly that size, one byte
 * less. */
static void run_with_workspaces(aa_context *ctx, const char *name, call_fn size_fn, call_fn fn,
                                void *args, size_t **bytes_slot, ws_args *w, outs *o, mask size_m,
                                mask m, mask may, void (*check)(void *args))
{
    char label[96];
    size_t bytes = 0;
    outs q = {0};
    *bytes_slot = &bytes;
    outs_add(&q, &bytes, sizeof bytes, sizeof bytes);
    snprintf(label, sizeof label, "%s(workspace size)", name);
    int have_size = checked(label, ctx, size_fn, args, &q, size_m) == AA_SUCCESS;
    outs_free(&q);

    w->ws = NULL, w->ws_bytes = 0;
    aa_status st = checked_may(name, ctx, fn, args, o, m, may);
    if (st == AA_SUCCESS && check) check(args);
    if (!have_size) return;
    unsigned char **first = calloc((size_t)o->n, sizeof *first);
    for (int i = 0; st == AA_SUCCESS && i < o->n; ++i) {
        first[i] = xmalloc(o->b[i].owned);
        memcpy(first[i], o->b[i].p, o->b[i].owned);
    }
    void *ws = xmalloc(bytes);
    w->ws = ws, w->ws_bytes = bytes;
    snprintf(label, sizeof label, "%s(caller workspace)", name);
    aa_status st2 = checked_may(label, ctx, fn, args, o, m, may);
    CHECK(st2 == st, "caller workspace: status %d, context's: %d", (int)st2, (int)st);
    for (int i = 0; st == AA_SUCCESS && i < o->n; ++i)
        CHECK(memcmp(first[i], o->b[i].p, o->b[i].owned) == 0,
              "caller workspace: output %d differs from the context's", i);
    free(ws);
    if (bytes > 0) {
        ws = xmalloc(bytes - 1);
        w->ws = ws, w->ws_bytes = bytes - 1;
        snprintf(label, sizeof label, "%s(short workspace)", name);
        checked(label, ctx, fn, args, o, m | BIT(AA_ERR_WORKSPACE_TOO_SMALL));
        free(ws);
    }
    w->ws = NULL, w->ws_bytes = 0;
    for (int i = 0; i < o->n; ++i) free(first[i]);
    free(first);
}

static void check_gmm_call(void *v)
{
    gmm_args *x = v;
    aa_gmm_params eff;
    oracle_gmm_params(x->params, &eff);
    check_gmm_result(&eff, x->segments, x->result);
}

static void fuzz_gmm(input *in, aa_context *ctx)
{
    /* segments */
    int64_t offsets[MAX_SEGMENTS + 2];
    unsigned sel = u8(in);
    int64_t S = sel % (MAX_SEGMENTS + 1);
    offsets[0] = 0;
    for (int64_t s = 0; s < S; ++s) {
        unsigned c = u8(in);
        int64_t n = c < 128 ? c % 4 : c % (MAX_SEGMENT_POINTS + 1); /* small ones often */
        offsets[s + 1] = offsets[s] + n;
    }
    int64_t P = offsets[S];
    float *points = xmalloc((size_t)P * sizeof(float));
    for (int64_t s = 0; s < S; ++s) fill_points(in, points + offsets[s], offsets[s + 1] - offsets[s]);
    unsigned patches = u8(in) % 4;
    for (unsigned k = 0; k < patches && P > 0; ++k) points[u16(in) % P] = special_float(u8(in));

    aa_gmm_segments sg = {points, offsets, S, NULL};
    const aa_gmm_segments *sgp = &sg;
    unsigned c = u8(in);
    switch (c < 232 ? 0 : c - 231) {
    case 1: sg.num_segments = -1 - (int64_t)u8(in); break;
    case 2: sg.num_segments = AA_MAX_SEGMENTS + 1; break;
    case 3: sg.offsets = NULL; break;
    case 4: sg.points = NULL; break; /* valid without points */
    case 5: offsets[0] = 1 + (int64_t)u8(in); break;
    case 6: /* a decrease */
        if (S >= 1) {
            int64_t s = 1 + (int64_t)(u8(in) % S);
            offsets[s] = offsets[s - 1] - 1 - (int64_t)u8(in);
        }
        break;
    case 7: if (S >= 1) offsets[1 + u8(in) % S] = AA_MAX_POINTS + 1; break;
    case 8: sgp = NULL; break;
    case 9: if (S >= 1) sg.num_segments = S - 1; break; /* fewer segments: valid */
    case 10: sg.device_offsets = (const int64_t *)(uintptr_t)0x10; break; /* ignored on the CPU */
    default: break;
    }

    /* parameters */
    aa_gmm_params p;
    aa_gmm_params_init(&p);
    patches = u8(in) % 5;
    for (unsigned k = 0; k < patches; ++k) {
        switch (u8(in) % 8) {
        case 0: p.num_components = ival(in, 1, 5); break;
        case 1: p.max_iter = ival(in, 0, 120); break;
        case 2: p.tol = dval(in, 0, 1e-2); break;
        case 3: p.reg_covar = dval(in, 0, 1e-3); break;
        case 4: p.covariance = (aa_gmm_covariance)ival(in, 0, 3); break;
        case 5: p.init = (aa_gmm_init)ival(in, 0, 2); break;
        case 6: p.float32_input = ival(in, 0, 3); break;
        default: p.struct_size = struct_size_val(in, sizeof p); break;
        }
    }
    const aa_gmm_params *pp = (u8(in) & 7) == 7 ? NULL : &p;
    /* given initial parameters for every (segment, component) the call may read: K is
     * the effective one (the defaults' where struct_size cuts the field off) */
    aa_gmm_params eff;
    oracle_gmm_params(pp, &eff);
    int32_t K = eff.num_components >= 1 && eff.num_components <= AA_GMM_MAX_COMPONENTS ? eff.num_components : 1;
    size_t nk = (size_t)(S > 0 ? S : 1) * AA_GMM_MAX_COMPONENTS;
    double *w0 = xmalloc(nk * sizeof(double)), *mu0 = xmalloc(nk * sizeof(double)),
           *pr0 = xmalloc(nk * sizeof(double));
    for (size_t s = 0; s < nk / AA_GMM_MAX_COMPONENTS; ++s) {
        double total = 0.0;
        for (int32_t k = 0; k < K; ++k) total += (w0[s * K + k] = 0.1 + (double)(rng() % 1000));
        for (int32_t k = 0; k < K; ++k) {
            w0[s * K + k] /= total;
            mu0[s * K + k] = rng_float(-5, 5);
            pr0[s * K + k] = 0.05 + rng_float(0, 10);
        }
    }
    p.init_weights = w0, p.init_means = mu0, p.init_precisions = pr0;
    size_t used = (size_t)(S > 0 ? S : 1) * (size_t)K;
    c = u8(in);
    switch (c < 224 ? 0 : 1 + c % 7) {
    case 1: w0[u8(in) % used] = dval(in, -0.5, 1.5); break;
    case 2: mu0[u8(in) % used] = special_float(u8(in)); break;
    case 3: pr0[u8(in) % used] = dval(in, -1, 1); break;
    case 4: w0[u8(in) % used] += 1e-6; break;
    case 5: p.init_weights = NULL; break;
    case 6: p.init_means = NULL; break;
    case 7: p.init_precisions = NULL; break;
    default: break;
    }

    /* the oracle */
    mask m = oracle_gmm_params(pp, &eff);
    if (!sgp) m |= BIT(AA_ERR_NULL_POINTER);
    else if (sg.num_segments < 0) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    else if (sg.num_segments > AA_MAX_SEGMENTS) m |= BIT(AA_ERR_LIMIT_EXCEEDED);
    else if (!sg.offsets) m |= BIT(AA_ERR_NULL_POINTER);
    else {
        int valid = offsets[0] == 0;
        if (!valid) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        for (int64_t s = 0; s < sg.num_segments; ++s) {
            if (offsets[s + 1] < offsets[s]) m |= BIT(AA_ERR_INVALID_ARGUMENT), valid = 0;
            if (offsets[s + 1] > AA_MAX_POINTS) m |= BIT(AA_ERR_LIMIT_EXCEEDED), valid = 0;
        }
        if (valid) {
            int64_t total = offsets[sg.num_segments];
            if (total > P) die("harness: valid offsets for %lld points over %lld", (long long)total, (long long)P);
            if (total > 0 && !sg.points) m |= BIT(AA_ERR_NULL_POINTER);
            for (int64_t i = 0; sg.points && i < total; ++i)
                if (!isfinite(points[i])) m |= BIT(AA_ERR_INVALID_ARGUMENT);
            /* (given values are read only for a valid K) */
            if (eff.num_components >= 1 && eff.num_components <= AA_GMM_MAX_COMPONENTS)
                m |= oracle_gmm_init(&eff, sg.num_segments);
        }
    }
    int shape_ok = m == 0;
    int64_t dS = shape_ok ? sg.num_segments : 0, dP = shape_ok ? offsets[dS] : 0;
    int32_t dK = shape_ok ? eff.num_components : 0;

    /* outputs, each optional */
    unsigned nulls = u8(in);
    double *weights = (nulls & 1) ? NULL : xmalloc(nk * sizeof(double));
    double *means = (nulls & 2) ? NULL : xmalloc(nk * sizeof(double));
    double *variances = (nulls & 4) ? NULL : xmalloc(nk * sizeof(double));
    double *lower = (nulls & 8) ? NULL : xmalloc((size_t)(S + 1) * sizeof(double));
    int32_t *iterations = (nulls & 16) ? NULL : xmalloc((size_t)(S + 1) * sizeof(int32_t));
    int32_t *status = (nulls & 32) && (nulls & 1) ? NULL : xmalloc((size_t)(S + 1) * sizeof(int32_t));
    int32_t *labels = (nulls & 64) ? NULL : xmalloc((size_t)(P + 1) * sizeof(int32_t));
    double *log_density = (nulls & 128) ? NULL : xmalloc((size_t)(P + 1) * sizeof(double));
    aa_gmm_result r = {weights, means, variances, lower, iterations, status, labels, log_density};
    const aa_gmm_result *rp = (nulls & 0x41) == 0x41 && (u8(in) & 1) ? NULL : &r;
    mask mr = m | (rp ? 0 : BIT(AA_ERR_NULL_POINTER));
    size_t own_sk = mr ? 0 : (size_t)dS * (size_t)dK, own_s = mr ? 0 : (size_t)dS, own_p = mr ? 0 : (size_t)dP;
    outs o = {0};
    outs_add(&o, weights, nk * sizeof(double), own_sk * sizeof(double));
    outs_add(&o, means, nk * sizeof(double), own_sk * sizeof(double));
    outs_add(&o, variances, nk * sizeof(double), own_sk * sizeof(double));
    outs_add(&o, lower, (size_t)(S + 1) * sizeof(double), own_s * sizeof(double));
    outs_add(&o, iterations, (size_t)(S + 1) * sizeof(int32_t), own_s * sizeof(int32_t));
    outs_add(&o, status, (size_t)(S + 1) * sizeof(int32_t), own_s * sizeof(int32_t));
    outs_add(&o, labels, (size_t)(P + 1) * sizeof(int32_t), own_p * sizeof(int32_t));
    outs_add(&o, log_density, (size_t)(P + 1) * sizeof(double), own_p * sizeof(double));
    if (verbose)
        fprintf(stderr, "gmm: %lld segments, %lld points, K %d; expected mask 0x%x\n", (long long)S,
                (long long)P, (int)eff.num_components, mr);

    gmm_args x = {pp, sgp, rp, NULL, {NULL, 0}};
    run_with_workspaces(ctx, "aa_gmm_fit", call_gmm_ws, call_gmm, &x, &x.bytes, &x.w, &o, m, mr, 0,
                        check_gmm_call);
    outs_free(&o);
    free(weights), free(means), free(variances), free(lower), free(iterations), free(status);
    free(labels), free(log_density), free(w0), free(mu0), free(pr0), free(points);
}

/* ---------------------------------------------------------------- PAA */

typedef struct paa_args {
    const aa_paa_params *params;
    const aa_anchors *a;
    const aa_gts *g;
    const aa_head_outputs *head;
    const int32_t *pre;
    float *costs_out;
    const float *costs;
    const aa_assignment *out;
    size_t *bytes;
    ws_args w;
    const batch *b;
} paa_args;

static aa_status call_paa_costs(aa_context *c, void *v)
{
    paa_args *x = v;
    return aa_paa_costs(c, x->params, x->a, x->g, x->head, x->pre, x->costs_out);
}
static aa_status call_select_ws(aa_context *c, void *v)
{
    paa_args *x = v;
    return aa_paa_select_workspace_size(c, x->params, x->a, x->g, x->bytes);
}
static aa_status call_select(aa_context *c, void *v)
{
    paa_args *x = v;
    return aa_assign_paa_costs(c, x->params, x->a, x->g, x->pre, x->costs, x->out, x->w.ws, x->w.ws_bytes);
}
static aa_status call_paa_ws(aa_context *c, void *v)
{
    paa_args *x = v;
    return aa_paa_workspace_size(c, x->params, x->a, x->g, x->bytes);
}
static aa_status call_paa(aa_context *c, void *v)
{
    paa_args *x = v;
    return aa_assign_paa(c, x->params, x->a, x->g, x->head, x->out, x->w.ws, x->w.ws_bytes);
}

static mask oracle_paa_params(const aa_paa_params *given, aa_paa_params *eff)
{
    EFFECTIVE(aa_paa_params, aa_paa_params_init, given, *eff);
    if (given && oracle_struct_size(given->struct_size, sizeof *eff)) return BIT(AA_ERR_INVALID_ARGUMENT);
    const aa_paa_params *p = eff;
    aa_max_iou_params pre = p->pre;
    aa_gmm_params gmm = p->gmm, unused;
    pre.struct_size = sizeof pre, gmm.struct_size = sizeof gmm; /* nested: the outer size rules */
    mask m = oracle_max_iou_params(&pre) | oracle_gmm_params(&gmm, &unused);
    if (p->gmm.init != AA_GMM_INIT_PAA || p->gmm.num_components != 2) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->separation != AA_PAA_SEPARATE_MMDET && p->separation != AA_PAA_SEPARATE_ORIGINAL)
        m |= BIT(AA_ERR_INVALID_ARGUMENT);
    m |= oracle_topk(p->topk);
    if (!(p->focal_alpha >= 0.0f && p->focal_alpha <= 1.0f)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (!(p->focal_gamma >= 0.0f) || !isfinite(p->focal_gamma)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    m |= oracle_finite(p->giou_weight) | oracle_eps(p->giou_eps) | oracle_eps(p->wh_ratio_clip);
    for (int c = 0; c < 4; ++c) m |= oracle_finite(p->target_means[c]) | oracle_eps(p->target_stds[c]);
    return m;
}

static void check_selection(const paa_args *x)
{
    const batch *b = x->b;
    const aa_gts *g = b->gp;
    int64_t n = b->ap->num_anchors;
    for (int32_t i = 0; i < g->num_images; ++i) {
        int64_t first = g->offsets[i];
        for (int64_t a = 0; a < n; ++a) {
            int64_t e = (int64_t)i * n + a;
            int32_t v = x->out->gt_index[e], pre = x->pre[e];
            CHECK((v == AA_IGNORED) == (pre == AA_IGNORED), "anchor %lld: gt_index %d, pre %d", (long long)e,
                  (int)v, (int)pre);
            CHECK(v == AA_IGNORED || v == AA_NEGATIVE || v == pre,
                  "anchor %lld: positive for GT %d, pre-assigned to %d", (long long)e, (int)v, (int)pre);
            if (x->out->overlap) {
                float want = pre >= 0 ? x->costs[e] : INFINITY;
                CHECK(memcmp(&want, &x->out->overlap[e], sizeof want) == 0, "anchor %lld: overlap %g, cost %g",
                      (long long)e, (double)x->out->overlap[e], (double)want);
            }
            if (x->out->labels)
                CHECK(x->out->labels[e] == (v >= 0 ? g->labels[first + v] : -1), "anchor %lld: label %d",
                      (long long)e, (int)x->out->labels[e]);
        }
    }
}
static void check_select_call(void *v) { check_selection(v); }

static void fuzz_lada(input *in, aa_context *ctx, batch *b, const aa_head_outputs *H, mask head_m,
                      int any_row_bad, float max_abs_head);

static void fuzz_paa(input *in, aa_context *ctx, int lada)
{
    batch b;
    build_batch(in, &b, NULL, 0, NULL, NULL, 0);
    const aa_anchors *A = b.ap;
    const aa_gts *G = b.gp;
    const int64_t nA = b.honest_anchors;
    const int32_t nI = b.honest_images;
    mask batch_m = oracle_anchors(A, &b.e, 0) | oracle_gts(G, &b.e, 0);
    int64_t dA = batch_m ? 0 : A->num_anchors;
    int32_t dI = batch_m ? 0 : G->num_images;
    int64_t dG = batch_m ? 0 : G->offsets[G->num_images];
    size_t rows = (size_t)nI * (size_t)nA, drows = (size_t)dI * (size_t)dA;

    /* head outputs (harness.c) */
    head_data hd;
    decode_head(in, &b, &hd);
    const aa_head_outputs *H = hd.hp, head = hd.head; /* (head: a copy, for the oracle) */

    /* parameters */
    aa_paa_params p;
    const aa_paa_params *pp = decode_paa_params(in, &p);
    aa_paa_params eff;
    mask params_m = oracle_paa_params(pp, &eff);

    /* head oracle: the checks that need only the head and the batch */
    mask head_m = 0;
    if (!H) head_m |= BIT(AA_ERR_NULL_POINTER);
    else {
        if (head.dtype != AA_FLOAT32 && head.dtype != AA_FLOAT16 && head.dtype != AA_BFLOAT16)
            head_m |= BIT(AA_ERR_INVALID_ARGUMENT);
        if (head.num_classes < 1) head_m |= BIT(AA_ERR_INVALID_ARGUMENT);
        if (drows > 0 && (!head.cls_logits || !head.bbox_deltas)) head_m |= BIT(AA_ERR_NULL_POINTER);
        if (dG > 0 && !b.g.labels) head_m |= BIT(AA_ERR_NULL_POINTER);
        for (int64_t k = 0; !batch_m && b.g.labels && head.num_classes >= 1 && k < dG; ++k)
            if (b.g.labels[k] >= head.num_classes) head_m |= BIT(AA_ERR_INVALID_ARGUMENT);
    }
    /* non-finite values: of pre-assigned anchors (aa_paa_costs reads those), of any
     * anchor (aa_assign_paa checks all before its pre-assignment exists) */
    int head_readable = H && head_m == 0 && !batch_m;
    unsigned char *row_bad = calloc(drows + 1, 1);
    int any_row_bad = 0;
    for (size_t r = 0; head_readable && r < drows; ++r) {
        for (int32_t k = 0; k < head.num_classes; ++k)
            if (!isfinite(head_value(head.dtype, head.cls_logits, (int64_t)r * head.num_classes + k)))
                row_bad[r] = 1;
        for (int k = 0; k < 4; ++k)
            if (!isfinite(head_value(head.dtype, head.bbox_deltas, (int64_t)r * 4 + k))) row_bad[r] = 1;
        any_row_bad |= row_bad[r];
    }
    float max_abs_head = 0.0f; /* of finite values (LADA: may a loss overflow?) */
    for (size_t r = 0; head_readable && r < drows; ++r) {
        for (int32_t k = 0; k < head.num_classes; ++k) {
            float v = fabsf(head_value(head.dtype, head.cls_logits, (int64_t)r * head.num_classes + k));
            if (isfinite(v) && v > max_abs_head) max_abs_head = v;
        }
        for (int k = 0; k < 4; ++k) {
            float v = fabsf(head_value(head.dtype, head.bbox_deltas, (int64_t)r * 4 + k));
            if (isfinite(v) && v > max_abs_head) max_abs_head = v;
        }
    }

    /* the pre-assignment: max-IoU with the (effective, valid) pre parameters, then a
     * corruption */
    int32_t *pre = xmalloc((rows + 1) * sizeof(int32_t));
    for (size_t r = 0; r < rows; ++r) pre[r] = AA_NEGATIVE;
    int pre_ok = 0;
    if (!batch_m && !params_m) {
        aa_assignment po = {pre, NULL, NULL};
        pre_ok = aa_assign_max_iou(ctx, &eff.pre, A, G, &po, NULL, 0) == AA_SUCCESS;
        CHECK(pre_ok, "harness: max-IoU pre-assignment failed: %s", aa_context_last_error(ctx));
    }
    mask pre_m;
    const int32_t *pre_arg = corrupt_pre(in, &b, pre, drows, dA, &pre_m);

    /* costs (aa_paa_costs) */
    float *costs = xmalloc((rows + 1) * sizeof(float));
    unsigned nulls = u8(in);
    paa_args x;
    memset(&x, 0, sizeof x);
    x.params = pp, x.a = A, x.g = G, x.head = H, x.pre = pre_arg, x.b = &b;
    x.costs_out = (nulls & 1) && drows > 0 ? NULL : costs;
    mask mc = params_m | batch_m | pre_m | head_m;
    if (!x.costs_out) mc |= BIT(AA_ERR_NULL_POINTER);
    for (size_t r = 0; !pre_m && r < drows; ++r)
        if (pre[r] >= 0 && row_bad[r]) mc |= BIT(AA_ERR_INVALID_ARGUMENT);
    outs o = {0};
    outs_add(&o, x.costs_out, (rows + 1) * sizeof(float), mc ? 0 : drows * sizeof(float));
    aa_status st = checked("aa_paa_costs", ctx, call_paa_costs, &x, &o, mc);
    outs_free(&o);
    int costs_ok = st == AA_SUCCESS;
    for (size_t r = 0; costs_ok && r < drows; ++r) {
        if (pre[r] < 0) CHECK(costs[r] == INFINITY, "cost %zu of an anchor not pre-assigned: %g", r, (double)costs[r]);
        else CHECK(!isnan(costs[r]), "cost %zu is NaN", r);
    }

    /* outputs of the selection */
    int32_t *gt_index = xmalloc((rows + 1) * sizeof(int32_t));
    float *overlap = xmalloc((rows + 1) * sizeof(float));
    int32_t *labels = xmalloc((rows + 1) * sizeof(int32_t));
    aa_assignment out = {(nulls & 2) ? NULL : gt_index, (nulls & 4) ? NULL : overlap, (nulls & 8) ? labels : NULL};
    x.out = (nulls & 0x12) == 0x12 ? NULL : &out;
    mask out_m = 0;
    if (!x.out || !x.out->gt_index) out_m |= BIT(AA_ERR_NULL_POINTER);
    else if (x.out->labels && G && !G->labels) out_m |= BIT(AA_ERR_NULL_POINTER);
    size_t own = 0;
    outs_add(&o, out.gt_index, (rows + 1) * sizeof(int32_t), 0);
    outs_add(&o, out.overlap, (rows + 1) * sizeof(float), 0);
    outs_add(&o, out.labels, (rows + 1) * sizeof(int32_t), 0);

    /* aa_assign_paa_costs: the costs above (or random ones) with a corruption */
    if (!costs_ok) {
        rng_state = ((uint64_t)u32(in) << 1) | 1;
        for (size_t r = 0; r < rows; ++r) costs[r] = rng_float(0, 3);
    }
    mask cost_m = 0;
    x.costs = costs;
    unsigned sel = u8(in);
    if (sel >= 224 && drows > 0) {
        size_t at = u16(in) % drows;
        costs[at] = sel & 1 ? rng_float(0, 3) * (float)(sel % 3) : special_float(u8(in));
    } else if (sel >= 216) x.costs = NULL;
    if (!x.costs && drows > 0) cost_m |= BIT(AA_ERR_NULL_POINTER);
    for (size_t r = 0; x.costs && !pre_m && r < drows; ++r)
        if (pre[r] >= 0 && !isfinite(costs[r])) cost_m |= BIT(AA_ERR_INVALID_ARGUMENT);
    mask ms = params_m | batch_m | out_m | pre_m | cost_m;
    own = ms ? 0 : drows;
    for (int i = 0; i < o.n; ++i) o.b[i].owned = own * 4; /* int32 and float elements */
    run_with_workspaces(ctx, "aa_assign_paa_costs", call_select_ws, call_select, &x, &x.bytes, &x.w, &o,
                        params_m | batch_m, ms, 0, x.out && out.gt_index ? check_select_call : NULL);

    /* aa_assign_paa: the three steps composed (their results recomputed when the
     * checks above corrupted something) */
    mask mp = params_m | batch_m | out_m | head_m | (any_row_bad ? BIT(AA_ERR_INVALID_ARGUMENT) : 0);
    int composed = 0;
    if (!mp && pre_ok && !pre_m) {
        /* pre is max-IoU's; the costs of aa_paa_costs on it */
        aa_status s1 = aa_paa_costs(ctx, pp, A, G, H, pre, costs);
        if (s1 == AA_SUCCESS) {
            composed = 1;
            for (size_t r = 0; r < drows; ++r)
                if (pre[r] >= 0 && !isfinite(costs[r])) mp |= BIT(AA_ERR_INVALID_ARGUMENT), composed = 0;
        } else {
            CHECK(s1 == AA_ERR_INVALID_ARGUMENT, "harness: aa_paa_costs: %s", aa_context_last_error(ctx));
            mp |= BIT(AA_ERR_INVALID_ARGUMENT); /* non-finite head values */
        }
    } else if (!mp && !pre_ok) {
        die("harness: valid PAA inputs without a pre-assignment");
    } else if (!mp) {
        /* the corrupted pre is not aa_assign_paa's: recompute it */
        aa_assignment po = {pre, NULL, NULL};
        CHECK(aa_assign_max_iou(ctx, &eff.pre, A, G, &po, NULL, 0) == AA_SUCCESS, "harness: max-IoU");
        pre_m = 0;
        aa_status s1 = aa_paa_costs(ctx, pp, A, G, H, pre, costs);
        composed = s1 == AA_SUCCESS;
        if (!composed) mp |= BIT(AA_ERR_INVALID_ARGUMENT);
        for (size_t r = 0; composed && r < drows; ++r)
            if (pre[r] >= 0 && !isfinite(costs[r])) mp |= BIT(AA_ERR_INVALID_ARGUMENT), composed = 0;
    }
    unsigned char *expect[3] = {NULL, NULL, NULL};
    if (composed) {
        x.pre = pre, x.costs = costs;
        x.w.ws = NULL, x.w.ws_bytes = 0;
        outs_poison(&o, POISON_A);
        CHECK(call_select(ctx, &x) == AA_SUCCESS, "harness: composed selection: %s", aa_context_last_error(ctx));
        for (int i = 0; i < o.n; ++i) {
            expect[i] = xmalloc(drows * 4 + 1);
            memcpy(expect[i], o.b[i].p, drows * 4);
        }
    }
    own = mp ? 0 : drows;
    for (int i = 0; i < o.n; ++i) o.b[i].owned = own * 4;
    run_with_workspaces(ctx, "aa_assign_paa", call_paa_ws, call_paa, &x, &x.bytes, &x.w, &o,
                        params_m | batch_m, mp, 0, NULL);
    if (composed && !mp) {
        /* the last successful run left the caller-workspace result; rerun once */
        outs_poison(&o, POISON_B);
        x.w.ws = NULL, x.w.ws_bytes = 0;
        CHECK(call_paa(ctx, &x) == AA_SUCCESS, "aa_assign_paa failed on its second run");
        for (int i = 0; i < o.n; ++i)
            CHECK(memcmp(expect[i], o.b[i].p, drows * 4) == 0,
                  "aa_assign_paa: output %d differs from max-IoU + aa_paa_costs + aa_assign_paa_costs", i);
    }
    for (int i = 0; i < 3; ++i) free(expect[i]);
    outs_free(&o);
    if (lada) fuzz_lada(in, ctx, &b, H, head_m, any_row_bad, max_abs_head);
    free(gt_index), free(overlap), free(labels), free(costs), free(pre);
    free_head(&hd);
    free(row_bad);
    free_batch(&b);
}

/* ---------------------------------------------------------------- LADA */

typedef struct lada_args {
    const aa_lada_params *params;
    const aa_anchors *a;
    const aa_gts *g;
    const aa_head_outputs *head;
    const aa_assignment *out;
    size_t *bytes;
    ws_args w;
    const batch *b;
} lada_args;

static aa_status call_lada_ws(aa_context *c, void *v)
{
    lada_args *x = v;
    return aa_lada_workspace_size(c, x->params, x->a, x->g, x->bytes);
}
static aa_status call_lada(aa_context *c, void *v)
{
    lada_args *x = v;
    return aa_assign_lada(c, x->params, x->a, x->g, x->head, x->out, x->w.ws, x->w.ws_bytes);
}

static void check_lada_call(void *arg)
{
    lada_args *x = arg;
    const aa_gts *g = x->b->gp;
    int64_t n = x->b->ap->num_anchors;
    for (int32_t i = 0; i < g->num_images; ++i) {
        int64_t first = g->offsets[i], count = g->offsets[i + 1] - first;
        for (int64_t a = 0; a < n; ++a) {
            int64_t e = (int64_t)i * n + a;
            int32_t v = x->out->gt_index[e];
            CHECK(v == AA_NEGATIVE || (v >= 0 && v < count), "anchor %lld: gt_index %d (%lld GTs)",
                  (long long)e, (int)v, (long long)count);
            if (v >= 0 && g->ignore_flags) CHECK(!g->ignore_flags[first + v], "crowd GT %d assigned", (int)v);
            if (v >= 0) {
                const float *gt = g->boxes + 4 * (first + v);
                CHECK(gt[2] > gt[0] && gt[3] > gt[1], "a GT of zero width or height assigned");
            }
            if (x->out->overlap)
                CHECK(v >= 0 ? isfinite(x->out->overlap[e]) : x->out->overlap[e] == INFINITY,
                      "anchor %lld (gt_index %d): overlap %g", (long long)e, (int)v,
                      (double)x->out->overlap[e]);
            if (x->out->labels)
                CHECK(x->out->labels[e] == (v >= 0 ? g->labels[first + v] : -1), "anchor %lld: label %d",
                      (long long)e, (int)x->out->labels[e]);
        }
    }
}

/* LADA on the PAA part's batch and head (their defects known: batch_m without strides,
 * head_m, any_row_bad). */
static void fuzz_lada(input *in, aa_context *ctx, batch *b, const aa_head_outputs *H, mask head_m,
                      int any_row_bad, float max_abs_head)
{
    aa_lada_params p;
    const aa_lada_params *pp = decode_lada_params(in, &p);
    aa_lada_params eff;
    mask params_m = oracle_lada_params(pp, &eff);
    mask batch_m = oracle_anchors(b->ap, &b->e, 1) | oracle_gts(b->gp, &b->e, 0);
    int64_t dA = batch_m ? 0 : b->ap->num_anchors;
    int32_t dI = batch_m ? 0 : b->gp->num_images;
    int64_t dG = batch_m ? 0 : b->gp->offsets[dI];
    size_t rows = (size_t)b->honest_images * (size_t)b->honest_anchors, drows = (size_t)dI * (size_t)dA;

    unsigned nulls = u8(in);
    int32_t *gt_index = xmalloc((rows + 1) * sizeof(int32_t));
    float *overlap = xmalloc((rows + 1) * sizeof(float));
    int32_t *labels = xmalloc((rows + 1) * sizeof(int32_t));
    aa_assignment out = {(nulls & 1) ? NULL : gt_index, (nulls & 2) ? NULL : overlap, (nulls & 4) ? labels : NULL};
    lada_args x = {pp, b->ap, b->gp, H, (nulls & 9) == 9 ? NULL : &out, NULL, {NULL, 0}, b};
    mask m = params_m | batch_m | head_m | (any_row_bad ? BIT(AA_ERR_INVALID_ARGUMENT) : 0);
    if (!x.out || !x.out->gt_index) m |= BIT(AA_ERR_NULL_POINTER);
    else if (x.out->labels && b->gp && !b->gp->labels) m |= BIT(AA_ERR_NULL_POINTER);
    if (!batch_m && dG > 0 && !b->gp->labels) m |= BIT(AA_ERR_NULL_POINTER);
    /* a loss past float32 is refused: possible with huge values, or an unclipped region
     * around a GT of almost no width or height (the deviation is unbounded) */
    mask may = 0;
    if (!eff.clip_region_to_gt || max_abs_head > 1e30f || eff.cls_weight > 1e30f ||
        eff.giou_weight > 1e30f || eff.center_weight > 1e30f)
        may = BIT(AA_ERR_INVALID_ARGUMENT);
    outs o = {0};
    size_t own = m ? 0 : drows * 4;
    outs_add(&o, out.gt_index, (rows + 1) * sizeof(int32_t), own);
    outs_add(&o, out.overlap, (rows + 1) * sizeof(float), own);
    outs_add(&o, out.labels, (rows + 1) * sizeof(int32_t), own);
    if (verbose) fprintf(stderr, "lada: expected mask 0x%x, may 0x%x\n", m, may);
    run_with_workspaces(ctx, "aa_assign_lada", call_lada_ws, call_lada, &x, &x.bytes, &x.w, &o,
                        params_m | batch_m, m, may, x.out && out.gt_index ? check_lada_call : NULL);
    outs_free(&o);
    free(gt_index), free(overlap), free(labels);
}

/* ---------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    harness_begin();
    aa_context *ctx = cpu_context();
    unsigned which = u8(&in);
    if (which & 1) fuzz_gmm(&in, ctx);
    if (which & 6) fuzz_paa(&in, ctx, (which & 4) != 0); /* 4: LADA on PAA's batch and head */
    aa_context_destroy(ctx);
    current_call = "(done)";
    return 0;
}
