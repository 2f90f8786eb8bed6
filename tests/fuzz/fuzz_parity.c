/*
 * fuzz_parity.c - libFuzzer target: the OpenCL backend against the CPU reference.
 *
 * The input is read as a batch and the parameters of every call, decoded with
 * harness.c (build_batch: levels, level counts, anchor boxes or a generated
 * RetinaNet / ATSS anchor set or FCOS point set, images, GT offsets, GT boxes with
 * special values, crowd flags, labels, one corruption of the anchors and one of the
 * GTs), then max-IoU, ATSS and FCOS parameters field by field (struct_size
 * included), an overlap mode, eps, topk, which outputs are requested and one
 * corruption of the candidates. Each call runs on a CPU context and on an OpenCL
 * context with AA_MEMORY_HOST (both created once per process; no OpenCL device is
 * a loud failure, never a pass), each side's outputs allocated to the byte
 * (AddressSanitizer guards them) and poisoned, the CPU's with POISON_A and
 * OpenCL's with POISON_B, so that an element one side leaves unwritten cannot
 * compare equal. It aborts when:
 *   - the two statuses differ, or a status is not documented;
 *   - a failing call wrote any byte of any output (on either side), or OpenCL's
 *     message is empty or not one line;
 *   - a successful call wrote past the elements it owns (either side), or succeeded
 *     on a batch that harness.c's oracle calls invalid;
 *   - on success, an owned output differs from the CPU's, bit for bit:
 *     aa_overlaps (IoU, IoF, GIoU), aa_topk_nearest, aa_candidate_iou_stats (mean
 *     and std: the same bits, or NaN on both, as tests/test_gpu_parity.c),
 *     aa_assign_max_iou, aa_assign_atss, aa_assign_fcos (gt_index, overlap, labels).
 *
 * ATSS has no documented exception (docs/kernels.md "Bit-identical results": the
 * thresholds are summed in double in the reference's order). On a difference the
 * report names the anchor's IoU with each GT involved and that GT's threshold
 * (mean + std from the CPU's aa_topk_nearest and aa_candidate_iou_stats, which are
 * ATSS's candidates only without ignore regions), and whether the IoU lies within
 * ATSS_NEAR_THRESHOLD (1e-6) of it. With ATSS_ALLOW_NEAR_THRESHOLD set to 1 such a
 * difference (and only such a one) would be counted and accepted instead.
 *
 * PAA and LADA are not compared here (their GPU rules need head outputs and, for
 * PAA, the EM's re-derivation of tests/parity_paa.h): opencl.parity covers them.
 *
 * Under PoCL, .ci/fuzz runs it with its own sanitizer settings (and
 * lsan_pocl.supp); docs/robustness.md says why. What it found: regressions/parity/.
 *
 * Sizes: the harness's bounds (<= 2000 anchors, <= 64 GTs, <= 8 images); PoCL's
 * launches dominate (six calls on each backend per input: 130-210 inputs/s). Build:
 * tests/fuzz/CMakeLists.txt (only where OpenCL is found); run: .ci/fuzz parity.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATSS_NEAR_THRESHOLD 1e-6
#ifndef ATSS_ALLOW_NEAR_THRESHOLD
#define ATSS_ALLOW_NEAR_THRESHOLD 0
#endif

const char *fuzz_target_name = "fuzz_parity";

/* ---------------------------------------------------------------- contexts */

static aa_context *cpu_ctx, *ocl_ctx;

static int64_t elements_compared, calls_compared, atss_near_threshold_accepted;

/* At exit: what was compared (both backends successful). */
static void print_totals(void)
{
    fprintf(stderr, "fuzz_parity: %lld successful calls compared, %lld output elements identical",
            (long long)calls_compared, (long long)elements_compared);
    if (ATSS_ALLOW_NEAR_THRESHOLD)
        fprintf(stderr, ", %lld ATSS differences at the threshold accepted", (long long)atss_near_threshold_accepted);
    fputc('\n', stderr);
}

static void create_contexts(void)
{
    if (ocl_ctx) return;
    current_call = "aa_context_create(AA_BACKEND_OPENCL, AA_MEMORY_HOST)";
    cpu_ctx = cpu_context();
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_OPENCL;
    o.memory = AA_MEMORY_HOST;
    aa_status st = aa_context_create(&ocl_ctx, &o);
    if (st != AA_SUCCESS || !ocl_ctx)
        die("no OpenCL context (%s): %s. This target compares the OpenCL backend with the CPU "
            "reference and never passes without a device: install pocl-opencl-icd (.ci/deps.sh)",
            aa_status_string(st), aa_context_create_error());
    atexit(print_totals);
    if (verbose > 0) fprintf(stderr, "fuzz_parity: OpenCL device %s\n", aa_context_device_name(ocl_ctx));
}

/* Every call once on a small valid batch: PoCL compiles a kernel at its first launch
 * (seconds each on a cold cache, ~/.cache/pocl), which belongs outside the first
 * inputs' timeout. */
static void warm_up(void)
{
    static const float boxes[6][4] = {{0, 0, 16, 16}, {8, 8, 40, 24}, {16, 0, 32, 32},
                                      {4, 4, 20, 36}, {0, 0, 64, 64}, {24, 24, 28, 28}};
    static const float gt_boxes[3][4] = {{2, 2, 30, 30}, {10, 6, 40, 40}, {0, 0, 12, 12}};
    int64_t counts[2] = {4, 2}, offsets[3] = {0, 2, 3};
    float strides[2] = {8, 16};
    uint8_t crowd[3] = {0, 1, 0};
    int32_t labels[3] = {3, 1, 7};
    aa_anchors a = {&boxes[0][0], 6, 2, counts, strides};
    aa_gts g = {&gt_boxes[0][0], offsets, 2, crowd, labels, NULL};
    float ov[18];
    int32_t cand[3 * 2 * 2], gi[12], lb[12];
    float o[12];
    double mean[3], sd[3];
    aa_assignment out = {gi, o, lb};
    aa_max_iou_params mp;
    aa_atss_params ap;
    aa_fcos_params fp;
    aa_max_iou_params_init(&mp), aa_atss_params_init(&ap), aa_fcos_params_init(&fp);
    fp.num_regress_ranges = 2, fp.regress_lo[0] = -1, fp.regress_hi[0] = 64;
    fp.regress_lo[1] = 64, fp.regress_hi[1] = 1e8f;
    for (int k = 0; k < 2; ++k) {
        mp.ignore_iof_thr = k ? 0.5f : -1.0f, ap.ignore_iof_thr = mp.ignore_iof_thr;
        ap.topk = 2, fp.center_sampling = k;
        aa_status st = AA_SUCCESS;
        for (int mode = AA_IOU; mode <= AA_GIOU && st == AA_SUCCESS; ++mode)
            st = aa_overlaps(ocl_ctx, (aa_overlap_mode)mode, 1e-6f, &a, &g, ov);
        if (st == AA_SUCCESS) st = aa_topk_nearest(ocl_ctx, 2, &a, &g, cand);
        if (st == AA_SUCCESS) st = aa_candidate_iou_stats(ocl_ctx, 2, 1e-6f, &a, &g, cand, mean, sd);
        if (st == AA_SUCCESS) st = aa_assign_max_iou(ocl_ctx, &mp, &a, &g, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_assign_atss(ocl_ctx, &ap, &a, &g, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_assign_fcos(ocl_ctx, &fp, &a, &g, &out, NULL, 0);
        if (st != AA_SUCCESS) die("warm-up on OpenCL: %s", aa_context_last_error(ocl_ctx));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    create_contexts();
    current_call = "warm-up";
    warm_up();
    return 0;
}

/* ---------------------------------------------------------------- both backends */

enum { MAX_POUTS = 4 };
typedef enum cmp { CMP_BITS, CMP_STATS, CMP_NONE } cmp;

/* One output of a call, on both backends: `alloc` bytes each (NULL: the output is
 * not passed), of which `owned` are written on success; `elem` bytes an element. */
typedef struct pout {
    const char *name;
    unsigned char *side[2]; /* 0: CPU, 1: OpenCL */
    size_t alloc, owned, elem;
    cmp how;
} pout;

typedef struct pouts {
    pout o[MAX_POUTS];
    int n;
} pouts;

static const unsigned char poison_of[2] = {POISON_A, POISON_B};
static const char *const side_name[2] = {"cpu", "opencl"};

static void pout_add(pouts *p, const char *name, int pass, size_t alloc, size_t elem, cmp how)
{
    pout *o = &p->o[p->n++];
    o->name = name, o->alloc = alloc, o->owned = 0, o->elem = elem, o->how = how;
    for (int s = 0; s < 2; ++s) o->side[s] = pass ? xmalloc(alloc) : NULL;
}

static void pouts_free(pouts *p)
{
    for (int i = 0; i < p->n; ++i) free(p->o[i].side[0]), free(p->o[i].side[1]);
    p->n = 0;
}

/* A call on one side: bufs[i] is output i's buffer there (or NULL). */
typedef aa_status (*pcall)(aa_context *ctx, void *args, void *const *bufs);

static void check_untouched(const pout *o, int s, size_t from, const char *what)
{
    if (!o->side[s]) return;
    obuf b = {o->side[s], o->alloc, o->alloc};
    long long k = first_not(&b, from, o->alloc, poison_of[s]);
    CHECK(k < 0, "%s: %s wrote %s at byte %lld (%zu owned of %zu)", side_name[s], what, o->name, k,
          from, o->alloc);
}

/* Runs fn on both backends with poisoned outputs. Statuses must agree; on failure
 * nothing may be written; on success nothing past the owned bytes (set by `own`,
 * which sees the status) and the owned bytes of every CMP_BITS / CMP_STATS output
 * must agree. Returns the status. */
static aa_status run_both(const char *name, pcall fn, void *args, pouts *p, int batch_valid)
{
    current_call = name;
    void *bufs[2][MAX_POUTS];
    aa_status st[2];
    for (int s = 0; s < 2; ++s) {
        for (int i = 0; i < p->n; ++i) {
            if (p->o[i].side[s]) memset(p->o[i].side[s], poison_of[s], p->o[i].alloc);
            bufs[s][i] = p->o[i].side[s];
        }
        st[s] = fn(s == 0 ? cpu_ctx : ocl_ctx, args, bufs[s]);
    }
    const char *msg[2] = {st[0] ? aa_context_last_error(cpu_ctx) : "",
                          st[1] ? aa_context_last_error(ocl_ctx) : ""};
    if (verbose > 0)
        fprintf(stderr, "%s: cpu %s%s%s, opencl %s%s%s\n", name, aa_status_string(st[0]),
                st[0] ? " -- " : "", msg[0], aa_status_string(st[1]), st[1] ? " -- " : "", msg[1]);
    CHECK(st[0] == st[1], "cpu %s (%s), opencl %s (%s)", aa_status_string(st[0]), msg[0],
          aa_status_string(st[1]), msg[1]);
    if (st[0] != AA_SUCCESS) {
        CHECK(BIT(st[0]) & documented, "undocumented status %d", (int)st[0]);
        check_message(msg[1]);
        for (int s = 0; s < 2; ++s)
            for (int i = 0; i < p->n; ++i) check_untouched(&p->o[i], s, 0, "failed but");
        return st[0];
    }
    CHECK(batch_valid, "both backends accepted a batch the oracle calls invalid");
    for (int i = 0; i < p->n; ++i) {
        const pout *o = &p->o[i];
        if (!o->side[0]) continue;
        if (o->owned > o->alloc) die("harness: %zu bytes owned of %zu", o->owned, o->alloc);
        for (int s = 0; s < 2; ++s) check_untouched(o, s, o->owned, "wrote past the owned bytes:");
        if (o->how == CMP_NONE) continue;
        for (size_t k = 0; k < o->owned; k += o->elem) {
            const unsigned char *a = o->side[0] + k, *b = o->side[1] + k;
            if (memcmp(a, b, o->elem) == 0) continue;
            if (o->how == CMP_STATS) {
                double x, y;
                memcpy(&x, a, 8), memcpy(&y, b, 8);
                if (isnan(x) && isnan(y)) continue;
                die("%s[%zu]: cpu %.17g opencl %.17g", o->name, k / 8, x, y);
            }
            if (o->elem == 4) {
                float fx, fy;
                int32_t ix, iy;
                memcpy(&fx, a, 4), memcpy(&fy, b, 4), memcpy(&ix, a, 4), memcpy(&iy, b, 4);
                die("%s[%zu]: cpu %.9g (int %d, 0x%08x) opencl %.9g (int %d, 0x%08x)", o->name, k / 4,
                    (double)fx, (int)ix, (unsigned)ix, (double)fy, (int)iy, (unsigned)iy);
            }
            die("%s: byte %zu differs", o->name, k);
        }
        elements_compared += (int64_t)(o->owned / o->elem);
    }
    ++calls_compared;
    return st[0];
}

/* ---------------------------------------------------------------- calls */

typedef struct args {
    const aa_anchors *a;
    const aa_gts *g;
    aa_overlap_mode mode;
    float eps;
    int32_t topk;
    const int32_t *candidates; /* the CPU's, possibly corrupted: the same for both */
    const aa_max_iou_params *max_iou;
    const aa_atss_params *atss;
    const aa_fcos_params *fcos;
    int out_null, gt_index_null; /* assignment: out NULL, out.gt_index NULL */
} args;

static aa_status call_overlaps(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_overlaps(c, x->mode, x->eps, x->a, x->g, o[0]);
}
static aa_status call_topk(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_topk_nearest(c, x->topk, x->a, x->g, o[0]);
}
static aa_status call_stats(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_candidate_iou_stats(c, x->topk, x->eps, x->a, x->g, x->candidates, o[0], o[1]);
}
static aa_status call_assign(aa_context *c, void *v, void *const *o, int which)
{
    args *x = v;
    aa_assignment out = {x->gt_index_null ? NULL : o[0], o[1], o[2]};
    const aa_assignment *op = x->out_null ? NULL : &out;
    switch (which) {
    case 0: return aa_assign_max_iou(c, x->max_iou, x->a, x->g, op, NULL, 0);
    case 1: return aa_assign_atss(c, x->atss, x->a, x->g, op, NULL, 0);
    default: return aa_assign_fcos(c, x->fcos, x->a, x->g, op, NULL, 0);
    }
}
static aa_status call_max_iou(aa_context *c, void *v, void *const *o) { return call_assign(c, v, o, 0); }
static aa_status call_atss(aa_context *c, void *v, void *const *o) { return call_assign(c, v, o, 1); }
static aa_status call_fcos(aa_context *c, void *v, void *const *o) { return call_assign(c, v, o, 2); }

/* ---------------------------------------------------------------- ATSS */

/* The CPU's IoU of (GT k, anchor j) and GT k's threshold (mean + std of its
 * nearest candidates' IoU), for the report of an ATSS difference. */
typedef struct atss_diag {
    float *iou;     /* [dG][dA] */
    double *mean, *std;
} atss_diag;

static void atss_diag_build(atss_diag *d, const aa_atss_params *p, const aa_anchors *a,
                            const aa_gts *g, int64_t dA, int64_t dG)
{
    aa_atss_params e;
    EFFECTIVE(aa_atss_params, aa_atss_params_init, p, e);
    d->iou = xmalloc((size_t)(dG * dA) * sizeof(float));
    d->mean = xmalloc((size_t)dG * sizeof(double));
    d->std = xmalloc((size_t)dG * sizeof(double));
    int32_t *cand = xmalloc((size_t)dG * (size_t)a->num_levels * (size_t)e.topk * sizeof(int32_t));
    if (aa_overlaps(cpu_ctx, AA_IOU, e.eps, a, g, d->iou) != AA_SUCCESS ||
        aa_topk_nearest(cpu_ctx, e.topk, a, g, cand) != AA_SUCCESS ||
        aa_candidate_iou_stats(cpu_ctx, e.topk, e.eps, a, g, cand, d->mean, d->std) != AA_SUCCESS)
        die("harness: the ATSS report's CPU calls failed: %s", aa_context_last_error(cpu_ctx));
    free(cand);
}

/* ATSS outputs: bit for bit, but for ATSS_ALLOW_NEAR_THRESHOLD (see the file
 * comment). Each difference is reported with the IoU and threshold of its GTs. */
static void compare_atss(const pouts *p, const aa_atss_params *params, const batch *b, int64_t dA,
                         int32_t dI, int64_t dG)
{
    const aa_gts *g = b->gp;
    const pout *gi = &p->o[0], *ov = &p->o[1], *lb = &p->o[2];
    atss_diag d = {NULL, NULL, NULL};
    for (int64_t e = 0; e < (int64_t)dI * dA; ++e) {
        int32_t v[2];
        memcpy(&v[0], gi->side[0] + 4 * e, 4), memcpy(&v[1], gi->side[1] + 4 * e, 4);
        int same = v[0] == v[1] && (!ov->side[0] || memcmp(ov->side[0] + 4 * e, ov->side[1] + 4 * e, 4) == 0) &&
                   (!lb->side[0] || memcmp(lb->side[0] + 4 * e, lb->side[1] + 4 * e, 4) == 0);
        if (same) continue;
        if (!d.iou) atss_diag_build(&d, params, b->ap, g, dA, dG);
        int32_t img = (int32_t)(e / dA);
        int64_t j = e % dA, first = g->offsets[img];
        float o[2] = {0, 0};
        if (ov->side[0]) memcpy(&o[0], ov->side[0] + 4 * e, 4), memcpy(&o[1], ov->side[1] + 4 * e, 4);
        char report[512];
        int n = snprintf(report, sizeof report, "image %d anchor %lld: cpu (gt %d, overlap %.9g) opencl (gt %d, overlap %.9g)",
                         (int)img, (long long)j, (int)v[0], (double)o[0], (int)v[1], (double)o[1]);
        int near = 0;
        for (int s = 0; s < 2; ++s) {
            if (v[s] < 0 || (s == 1 && v[1] == v[0])) continue;
            int64_t k = first + v[s];
            double iou = d.iou[k * dA + j], thr = d.mean[k] + d.std[k];
            int is_near = fabs(iou - thr) <= ATSS_NEAR_THRESHOLD;
            near |= is_near;
            if (n > 0 && (size_t)n < sizeof report)
                n += snprintf(report + n, sizeof report - (size_t)n, "; GT %d: IoU %.9g, threshold %.17g (%s 1e-6 of it)",
                              (int)v[s], iou, thr, is_near ? "within" : "not within");
        }
        if (ATSS_ALLOW_NEAR_THRESHOLD && near) {
            ++atss_near_threshold_accepted;
            fprintf(stderr, "fuzz_parity: accepted (IoU at the threshold): %s\n", report);
            continue;
        }
        die("aa_assign_atss differs: %s", report);
    }
    free(d.iou), free(d.mean), free(d.std);
}

/* Overlaps: bit for bit; a difference is reported with both boxes (hex floats: a
 * signed zero shows). */
static void compare_overlaps(const pout *o, const batch *b, int64_t dA)
{
    for (size_t k = 0; k < o->owned / 4; ++k) {
        if (memcmp(o->side[0] + 4 * k, o->side[1] + 4 * k, 4) == 0) continue;
        float v[2];
        memcpy(&v[0], o->side[0] + 4 * k, 4), memcpy(&v[1], o->side[1] + 4 * k, 4);
        const float *a = b->ap->boxes + 4 * (int64_t)(k % (size_t)dA), *g = b->gp->boxes + 4 * (int64_t)(k / (size_t)dA);
        die("overlaps[%zu] (GT %lld, anchor %lld): cpu %a opencl %a; anchor (%a, %a, %a, %a), GT (%a, %a, %a, %a)",
            k, (long long)(k / (size_t)dA), (long long)(k % (size_t)dA), (double)v[0], (double)v[1],
            (double)a[0], (double)a[1], (double)a[2], (double)a[3], (double)g[0], (double)g[1],
            (double)g[2], (double)g[3]);
    }
}

/* ---------------------------------------------------------------- decoding */

/* A generated anchor set (kind 1: RetinaNet anchors, 2: ATSS anchors, one per
 * location, 3: FCOS points) on a canvas halved until it holds at most MAX_ANCHORS;
 * NULL when generation fails (the harness then builds the anchors). */
static float *generate(input *in, unsigned kind, int64_t *n, int64_t *counts, float *strides,
                       int32_t *levels)
{
    *levels = 1 + (int32_t)(u8(in) % 5);
    int32_t h = 8 + 4 * (int32_t)u8(in), w = 8 + 4 * (int32_t)u8(in);
    float offset = (u8(in) & 1) ? 0.0f : 0.5f;
    aa_anchor_params ap;
    aa_anchor_params_init(&ap);
    ap.num_levels = *levels;
    if (kind == 2) ap.num_ratios = 1, ap.ratios[0] = 1.0f, ap.octave_base_scale = 8, ap.scales_per_octave = 1;
    for (int32_t l = 0; l < *levels; ++l) strides[l] = kind == 3 ? (float)(8 << l) : ap.strides[l];
    for (;;) {
        aa_status st = kind == 3
            ? aa_point_generate(cpu_ctx, *levels, strides, offset, h, w, NULL, 0, counts, n)
            : aa_anchor_count(cpu_ctx, &ap, h, w, counts, n);
        if (st != AA_SUCCESS) die("harness: generator count: %s", aa_context_last_error(cpu_ctx));
        if (*n <= MAX_ANCHORS) break;
        h = (h + 1) / 2, w = (w + 1) / 2;
    }
    float *boxes = xmalloc((size_t)*n * 4 * sizeof(float));
    aa_status st = kind == 3
        ? aa_point_generate(cpu_ctx, *levels, strides, offset, h, w, boxes, *n, counts, n)
        : aa_anchor_generate(cpu_ctx, &ap, h, w, boxes, *n);
    if (st != AA_SUCCESS) die("harness: generation: %s", aa_context_last_error(cpu_ctx));
    if (verbose > 0)
        fprintf(stderr, "generated: %s, %d x %d, %d levels, %lld\n",
                kind == 1 ? "retina anchors" : kind == 2 ? "atss anchors" : "points", (int)h, (int)w,
                (int)*levels, (long long)*n);
    return boxes;
}

/* ---------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    harness_begin();
    create_contexts();

    /* the anchors: the harness's, or a generated set */
    unsigned kind = u8(&in) % 4;
    float *gen_boxes = NULL, gen_strides[AA_MAX_LEVELS];
    int64_t gen_n = 0, gen_counts[AA_MAX_LEVELS];
    int32_t gen_levels = 0;
    if (kind) gen_boxes = generate(&in, kind, &gen_n, gen_counts, gen_strides, &gen_levels);

    batch b;
    build_batch(&in, &b, gen_boxes, gen_n, gen_counts, gen_strides, gen_levels);
    free(gen_boxes);
    const int32_t levels_built = b.a.num_levels;

    /* parameters: fuzz_api.c's fields */
    assigner_params params;
    decode_assigner_params(&in, levels_built, &params);
    aa_max_iou_params mp = params.max_iou;
    aa_atss_params ap = params.atss;
    aa_fcos_params fp = params.fcos;
    unsigned pnull = u8(&in);
    args x;
    memset(&x, 0, sizeof x);
    x.max_iou = (pnull & 1) ? NULL : &mp;
    x.atss = (pnull & 2) ? NULL : &ap;
    x.fcos = (pnull & 4) ? NULL : &fp;
    x.a = b.ap, x.g = b.gp;
    unsigned sel = u8(&in);
    x.mode = sel < 240 ? (aa_overlap_mode)(sel % 3) : (aa_overlap_mode)ival(&in, -1, 5);
    x.eps = (sel & 0x30) == 0x30 ? fval(&in, 0, 1e-3f) : 1e-6f;
    sel = u8(&in);
    x.topk = sel < 232 ? 1 + (int32_t)(sel % 12) : ival(&in, 0, 20);
    /* outputs: labels when bit 0, no overlap output when bit 1; from 240 one NULL */
    unsigned req = u8(&in);
    int want_labels = req & 1, want_overlap = !(req & 2);
    unsigned nulls = req >= 240 ? 1u << (req % 8) : 0;
    x.out_null = (nulls & 0x10) != 0, x.gt_index_null = (nulls & 0x20) != 0;
    if (verbose > 0)
        fprintf(stderr, "overlap mode %d, eps %g, topk %d, labels %d, overlap %d, NULLs 0x%x\n", (int)x.mode,
                (double)x.eps, (int)x.topk, want_labels, want_overlap, nulls);

    /* the declared shape, where the oracle calls the batch valid */
    const aa_anchors *A = b.ap;
    const aa_gts *G = b.gp;
    const int64_t nA = b.honest_anchors, nG = b.e.gt_boxes;
    const int32_t nI = b.honest_images, nL = levels_built >= 1 && levels_built <= AA_MAX_LEVELS ? levels_built : 1;
    int valid = (oracle_anchors(A, &b.e, 0) | oracle_gts(G, &b.e, 0)) == 0;
    int64_t dA = valid ? A->num_anchors : 0, dG = valid ? G->offsets[G->num_images] : 0;
    int32_t dI = valid ? G->num_images : 0, dL = valid ? A->num_levels : 0;
    if (valid && (dA > nA || dI > nI || dG > nG || dL > AA_MAX_LEVELS)) die("harness: a valid batch larger than built");

    pouts p = {0};

    /* ---- overlaps */
    pout_add(&p, "overlaps", !(nulls & 1), (size_t)(nG * nA) * sizeof(float), 4, CMP_NONE);
    p.o[0].owned = (size_t)(dG * dA) * sizeof(float);
    if (run_both("aa_overlaps", call_overlaps, &x, &p, valid) == AA_SUCCESS && p.o[0].side[0]) {
        compare_overlaps(&p.o[0], &b, dA);
        elements_compared += dG * dA;
    }
    pouts_free(&p);

    /* ---- ATSS primitives: candidates, then statistics over the CPU's */
    {
        int32_t k = x.topk >= 1 && x.topk <= AA_MAX_TOPK ? x.topk : 1;
        size_t n_cand = (size_t)nG * (size_t)(dL > nL ? dL : nL) * (size_t)k;
        pout_add(&p, "candidates", !(nulls & 2), n_cand * sizeof(int32_t), 4, CMP_BITS);
        p.o[0].owned = (size_t)dG * (size_t)dL * (size_t)k * sizeof(int32_t);
        aa_status st = run_both("aa_topk_nearest", call_topk, &x, &p, valid);
        if (st == AA_SUCCESS && p.o[0].side[0]) {
            int32_t *cand = (int32_t *)(void *)p.o[0].side[0];
            unsigned bad = u8(&in);
            size_t owned_n = p.o[0].owned / sizeof(int32_t);
            if (bad >= 200 && owned_n > 0) {
                int64_t v = (int64_t)ival(&in, -3, 8) + (bad & 1 ? dA : 0);
                cand[u16(&in) % owned_n] = v > INT32_MAX ? INT32_MAX : (int32_t)v;
            }
            x.candidates = cand;
            pouts q = {0};
            pout_add(&q, "mean", !(nulls & 4), (size_t)nG * sizeof(double), 8, CMP_STATS);
            pout_add(&q, "std", !(nulls & 8), (size_t)nG * sizeof(double), 8, CMP_STATS);
            q.o[0].owned = q.o[1].owned = (size_t)dG * sizeof(double);
            run_both("aa_candidate_iou_stats", call_stats, &x, &q, valid);
            pouts_free(&q);
            x.candidates = NULL;
        }
        pouts_free(&p);
    }

    /* ---- assigners */
    static const char *const names[3] = {"aa_assign_max_iou", "aa_assign_atss", "aa_assign_fcos"};
    static const pcall fns[3] = {call_max_iou, call_atss, call_fcos};
    size_t n_out = (size_t)nI * (size_t)nA, owned = (size_t)dI * (size_t)dA;
    for (int w = 0; w < 3; ++w) {
        cmp how = w == 1 ? CMP_NONE : CMP_BITS; /* ATSS: compare_atss */
        pout_add(&p, "gt_index", 1, n_out * sizeof(int32_t), 4, how);
        pout_add(&p, "overlap", want_overlap, n_out * sizeof(float), 4, how);
        pout_add(&p, "labels", want_labels, n_out * sizeof(int32_t), 4, how);
        p.o[0].owned = owned * sizeof(int32_t), p.o[1].owned = owned * sizeof(float);
        p.o[2].owned = owned * sizeof(int32_t);
        aa_status st = run_both(names[w], fns[w], &x, &p, valid);
        if (w == 1 && st == AA_SUCCESS) {
            compare_atss(&p, x.atss, &b, dA, dI, dG);
            elements_compared += (int64_t)owned;
        }
        pouts_free(&p);
    }

    free_batch(&b);
    current_call = "(done)";
    return 0;
}
