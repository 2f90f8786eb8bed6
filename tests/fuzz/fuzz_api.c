/*
 * fuzz_api.c - libFuzzer target for the public API's input checking.
 *
 * The input is read as a description of one call sequence on a CPU context: an
 * anchor generator or a point generator (parameters, canvas, capacity), a batch
 * (levels, level counts, anchor boxes, images, GT offsets, GT boxes, crowd flags,
 * labels, one corruption of the anchors and one of the GTs, random NULLs), the
 * parameters of every assigner (field by field, struct_size included), an overlap
 * mode, eps and topk. Every public entry point is then called on it.
 *
 * Alongside the library the harness computes, from the header's documented rules
 * only, which statuses the inputs call for (an "oracle": the set of every defect
 * present, since the library reports whichever it meets first). It aborts when:
 *   - a call fails although the inputs are valid, or succeeds although they are not;
 *   - a failure's status is not one of the defects present (or not a documented
 *     status), its message is empty or not one line, or the same call on a fresh
 *     context gives another status;
 *   - a failing call wrote any byte of any output (outputs are poisoned first);
 *   - a successful call left an element of its outputs unwritten, wrote past the
 *     elements it owns, or gives different bytes when run again (each success is
 *     run twice, with two poison patterns, which proves both);
 *   - a result breaks a documented rule: gt_index outside -2 .. num_gts(image)-1, a
 *     crowd GT assigned, a label not the assigned GT's, AA_IGNORED from FCOS or from
 *     ATSS without ignore regions, the documented overlap of negatives, top-k
 *     candidates outside their level or repeated, generated counts not
 *     ceil(H/stride) x ceil(W/stride) x anchors per location;
 *   - a caller-provided workspace of exactly aa_*_workspace_size bytes is not enough
 *     (AddressSanitizer: the buffer is allocated to that size) or gives another
 *     result than the context's workspace, or one byte less is accepted.
 * AddressSanitizer and UndefinedBehaviorSanitizer catch the rest.
 *
 * Sizes are bounded (<= 2000 anchors, <= 64 GTs, <= 8 images) so that one input runs
 * in well under a millisecond. Build: tests/fuzz/CMakeLists.txt; run: .ci/fuzz.
 * Without libFuzzer, replay_main.c turns this file into a replay program.
 */
#include "harness.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fuzz_target_name = "fuzz_api";

static mask oracle_atss_params(const aa_atss_params *given)
{
    aa_atss_params p;
    if (given && oracle_struct_size(given->struct_size, sizeof p)) return BIT(AA_ERR_INVALID_ARGUMENT);
    EFFECTIVE(aa_atss_params, aa_atss_params_init, given, p);
    return oracle_topk(p.topk) | oracle_finite(p.ignore_iof_thr) |
           oracle_finite(p.inside_margin) | oracle_eps(p.eps);
}

/* FCOS parameters against the anchors' level count (when that is valid). */
static mask oracle_fcos_params(const aa_fcos_params *given, const aa_anchors *a)
{
    aa_fcos_params p;
    if (given && oracle_struct_size(given->struct_size, sizeof p)) return BIT(AA_ERR_INVALID_ARGUMENT);
    EFFECTIVE(aa_fcos_params, aa_fcos_params_init, given, p);
    mask m = 0;
    if (p.center_sampling && !finite_pos(p.center_sample_radius)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (a && a->num_levels >= 1 && a->num_levels <= AA_MAX_LEVELS) {
        if (p.num_regress_ranges != a->num_levels) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        for (int32_t l = 0; l < a->num_levels; ++l)
            if (isnan(p.regress_lo[l]) || isnan(p.regress_hi[l]) || p.regress_lo[l] > p.regress_hi[l])
                m |= BIT(AA_ERR_INVALID_ARGUMENT);
    }
    return m;
}

static int fcos_center_sampling(const aa_fcos_params *given)
{
    aa_fcos_params p;
    EFFECTIVE(aa_fcos_params, aa_fcos_params_init, given, p);
    return p.center_sampling != 0;
}

/* Anchor generator parameters, as documented (scales: 1..8, ratios: 1..8). */
static mask oracle_anchor_params(const aa_anchor_params *given, aa_anchor_params *eff)
{
    EFFECTIVE(aa_anchor_params, aa_anchor_params_init, given, *eff);
    if (given && oracle_struct_size(given->struct_size, sizeof *eff)) return BIT(AA_ERR_INVALID_ARGUMENT);
    const aa_anchor_params *p = eff;
    if (p->num_levels < 1 || p->num_levels > AA_MAX_LEVELS) return BIT(AA_ERR_INVALID_ARGUMENT);
    for (int l = 0; l < p->num_levels; ++l)
        if (!finite_pos(p->strides[l]) || !(p->base_sizes[l] >= 0.0f) || !isfinite(p->base_sizes[l]))
            return BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->num_ratios < 1 || p->num_ratios > 8) return BIT(AA_ERR_INVALID_ARGUMENT);
    for (int r = 0; r < p->num_ratios; ++r)
        if (!finite_pos(p->ratios[r])) return BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->num_scales < 0 || p->num_scales > 8) return BIT(AA_ERR_INVALID_ARGUMENT);
    for (int s = 0; s < p->num_scales; ++s)
        if (!finite_pos(p->scales[s])) return BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->num_scales == 0 &&
        (!finite_pos(p->octave_base_scale) || p->scales_per_octave < 1 || p->scales_per_octave > 8))
        return BIT(AA_ERR_INVALID_ARGUMENT);
    if (!(p->center_offset >= 0.0f && p->center_offset <= 1.0f)) return BIT(AA_ERR_INVALID_ARGUMENT);
    return 0;
}

/* ceil(H/stride) x ceil(W/stride) x per location, per level, in long double: the
 * header's formula, without any integer that could overflow. Returns 1 when the
 * total fits in AA_MAX_ANCHORS (counts filled), 0 otherwise. */
static int oracle_grid(int32_t levels, const float *strides, int32_t per, int32_t h, int32_t w,
                       int64_t *counts, int64_t *total)
{
    long double sum = 0;
    for (int32_t l = 0; l < levels; ++l) {
        long double fh = ceill((long double)h / (long double)strides[l]);
        long double fw = ceill((long double)w / (long double)strides[l]);
        long double n = fh * fw * (long double)per;
        sum += n;
        if (sum > (long double)AA_MAX_ANCHORS) return 0;
        counts[l] = (int64_t)n;
    }
    *total = (int64_t)sum;
    return 1;
}

/* ---------------------------------------------------------------- calls */

typedef struct args {
    const aa_anchors *a;
    const aa_gts *g;
    /* overlaps */
    aa_overlap_mode mode;
    float eps;
    float *overlaps;
    /* primitives */
    int32_t topk;
    int32_t *candidates;
    double *mean, *std;
    /* assigners */
    const aa_max_iou_params *max_iou;
    const aa_atss_params *atss;
    const aa_fcos_params *fcos;
    const aa_assignment *out;
    void *ws;
    size_t ws_bytes;
    size_t *bytes;
    /* generators */
    const aa_anchor_params *anchor_params;
    int32_t height, width;
    float *boxes;
    int64_t capacity;
    int64_t *level_counts;
    int64_t *num;
    int32_t point_levels;
    const float *point_strides;
    float point_offset;
} args;

static aa_status call_overlaps(aa_context *c, void *v) { args *x = v; return aa_overlaps(c, x->mode, x->eps, x->a, x->g, x->overlaps); }
static aa_status call_topk(aa_context *c, void *v) { args *x = v; return aa_topk_nearest(c, x->topk, x->a, x->g, x->candidates); }
static aa_status call_stats(aa_context *c, void *v)
{
    args *x = v;
    return aa_candidate_iou_stats(c, x->topk, x->eps, x->a, x->g, x->candidates, x->mean, x->std);
}
static aa_status call_max_iou_ws(aa_context *c, void *v) { args *x = v; return aa_max_iou_workspace_size(c, x->max_iou, x->a, x->g, x->bytes); }
static aa_status call_atss_ws(aa_context *c, void *v) { args *x = v; return aa_atss_workspace_size(c, x->atss, x->a, x->g, x->bytes); }
static aa_status call_fcos_ws(aa_context *c, void *v) { args *x = v; return aa_fcos_workspace_size(c, x->fcos, x->a, x->g, x->bytes); }
static aa_status call_max_iou(aa_context *c, void *v) { args *x = v; return aa_assign_max_iou(c, x->max_iou, x->a, x->g, x->out, x->ws, x->ws_bytes); }
static aa_status call_atss(aa_context *c, void *v) { args *x = v; return aa_assign_atss(c, x->atss, x->a, x->g, x->out, x->ws, x->ws_bytes); }
static aa_status call_fcos(aa_context *c, void *v) { args *x = v; return aa_assign_fcos(c, x->fcos, x->a, x->g, x->out, x->ws, x->ws_bytes); }
static aa_status call_anchor_count(aa_context *c, void *v)
{
    args *x = v;
    return aa_anchor_count(c, x->anchor_params, x->height, x->width, x->level_counts, x->num);
}
static aa_status call_anchor_generate(aa_context *c, void *v)
{
    args *x = v;
    return aa_anchor_generate(c, x->anchor_params, x->height, x->width, x->boxes, x->capacity);
}
static aa_status call_point_generate(aa_context *c, void *v)
{
    args *x = v;
    return aa_point_generate(c, x->point_levels, x->point_strides, x->point_offset, x->height,
                             x->width, x->boxes, x->capacity, x->level_counts, x->num);
}

/* Canvas sides: small mostly, else the boundaries. */
static int32_t side(input *in)
{
    unsigned sel = u8(in);
    if (sel < 220) return 1 + (int32_t)(u16(in) % 700);
    static const int32_t table[] = {0, -1, INT32_MAX, INT32_MIN, 1 << 20, 1, 46341, 65536};
    return table[sel % (sizeof table / sizeof table[0])];
}

/* Anchor or point generation; returns the generated set when small enough to be
 * the batch's anchors (caller frees *boxes). */
static void fuzz_generators(input *in, aa_context *ctx, float **gen_boxes, int64_t *gen_n,
                            int64_t *gen_counts, float *gen_strides, int32_t *gen_levels)
{
    *gen_boxes = NULL;
    unsigned kind = u8(in);
    args x;
    memset(&x, 0, sizeof x);
    x.height = side(in), x.width = side(in);
    int64_t counts[AA_MAX_LEVELS + 1] = {0}, num = -7;
    mask m;
    int64_t exp_counts[AA_MAX_LEVELS] = {0}, exp_total = 0;
    int32_t levels, per;
    const float *strides;
    aa_anchor_params given, eff;
    float pstrides[AA_MAX_LEVELS];

    if (kind % 2 == 0) { /* ---- anchors */
        aa_anchor_params_init(&given);
        if (kind & 2) { /* ATSS-like: one anchor per location */
            given.num_ratios = 1, given.ratios[0] = 1.0f, given.octave_base_scale = 8, given.scales_per_octave = 1;
        }
        unsigned patches = u8(in) % 5;
        for (unsigned k = 0; k < patches; ++k) {
            unsigned f = u8(in) % 11, l = u8(in) % AA_MAX_LEVELS;
            switch (f) {
            case 0: given.num_levels = ival(in, 1, 6); break;
            case 1: given.strides[l] = fval(in, 1, 256); break;
            case 2: given.base_sizes[l] = fval(in, 0, 256); break;
            case 3: given.num_ratios = ival(in, 1, 9); break;
            case 4: given.ratios[l % 8] = fval(in, 0.1f, 4); break;
            case 5: given.num_scales = ival(in, 0, 9); break;
            case 6: given.scales[l % 8] = fval(in, 0.5f, 16); break;
            case 7: given.octave_base_scale = fval(in, 1, 16); break;
            case 8: given.scales_per_octave = ival(in, 1, 9); break;
            case 9: given.center_offset = fval(in, 0, 1); break;
            default: given.struct_size = struct_size_val(in, sizeof given); break;
            }
        }
        const aa_anchor_params *gp = (kind & 4) ? NULL : &given;
        m = oracle_anchor_params(gp, &eff);
        levels = eff.num_levels, strides = eff.strides;
        per = m ? 1 : eff.num_ratios * (eff.num_scales > 0 ? eff.num_scales : eff.scales_per_octave);
        x.anchor_params = gp;
    } else { /* ---- points */
        levels = ival(in, 1, 6);
        for (int l = 0; l < AA_MAX_LEVELS; ++l) pstrides[l] = (float)(8 << (l % 8));
        unsigned patches = u8(in) % 3;
        for (unsigned k = 0; k < patches; ++k) {
            unsigned l = u8(in) % AA_MAX_LEVELS;
            pstrides[l] = fval(in, 1, 256);
        }
        x.point_levels = levels;
        x.point_strides = (kind & 4) && u8(in) < 40 ? NULL : pstrides;
        x.point_offset = (kind & 8) ? fval(in, 0, 1) : 0.5f;
        strides = pstrides, per = 1;
        m = 0;
        if (levels < 1 || levels > AA_MAX_LEVELS) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        else if (!x.point_strides) m |= BIT(AA_ERR_NULL_POINTER);
        else
            for (int32_t l = 0; l < levels; ++l)
                if (!finite_pos(pstrides[l])) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        if (!(x.point_offset >= 0.0f && x.point_offset <= 1.0f)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    }
    if (x.height < 1 || x.width < 1) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    int fits = m == 0 ? oracle_grid(levels, strides, per, x.height, x.width, exp_counts, &exp_total) : 0;
    if (m == 0 && !fits) m |= BIT(AA_ERR_LIMIT_EXCEEDED);
    if (verbose) {
        fprintf(stderr, "generator: %s, %d x %d, %d levels, %d per location, strides", kind % 2 ? "points" : "anchors",
                (int)x.height, (int)x.width, (int)levels, (int)per);
        for (int32_t l = 0; l < levels && l < AA_MAX_LEVELS; ++l) fprintf(stderr, " %g", (double)strides[l]);
        fprintf(stderr, "; expected: mask 0x%x, %lld\n", m, (long long)exp_total);
    }

    /* the count (points: the size query) */
    unsigned nulls = u8(in);
    x.level_counts = (nulls & 0x0f) == 1 ? NULL : counts;
    x.num = (nulls & 0x0f) == 2 ? NULL : &num;
    mask mc = m | (x.level_counts && x.num ? 0 : BIT(AA_ERR_NULL_POINTER));
    int levels_ok = levels >= 1 && levels <= AA_MAX_LEVELS;
    outs o = {0};
    outs_add(&o, x.level_counts, sizeof counts, levels_ok ? (size_t)levels * sizeof(int64_t) : 0);
    outs_add(&o, x.num, sizeof num, sizeof num);
    aa_status st = checked(kind % 2 == 0 ? "aa_anchor_count" : "aa_point_generate(size query)", ctx,
                           kind % 2 == 0 ? call_anchor_count : call_point_generate, &x, &o, mc);
    outs_free(&o);
    if (st == AA_SUCCESS) {
        CHECK(num == exp_total, "%lld anchors, expected %lld", (long long)num, (long long)exp_total);
        for (int32_t l = 0; l < levels; ++l)
            CHECK(counts[l] == exp_counts[l], "level %d: %lld, expected %lld", (int)l,
                  (long long)counts[l], (long long)exp_counts[l]);
    }

    /* generation, when small enough: exact capacity, one more, one less, NULL */
    if (m != 0 && (nulls & 0x30) != 0) {
        /* invalid parameters: generation must fail too, whatever the buffer */
        float dummy[4 * 4];
        x.boxes = dummy, x.capacity = 4;
        x.level_counts = counts, x.num = &num;
        outs_add(&o, dummy, sizeof dummy, 0);
        if (kind % 2) {
            outs_add(&o, counts, sizeof counts, 0);
            outs_add(&o, &num, sizeof num, 0);
        }
        checked(kind % 2 == 0 ? "aa_anchor_generate(invalid)" : "aa_point_generate(invalid)", ctx,
                kind % 2 == 0 ? call_anchor_generate : call_point_generate, &x, &o, m);
        outs_free(&o);
        return;
    }
    if (m != 0 || exp_total > MAX_GENERATED) return;
    unsigned cap_sel = (nulls >> 4) % 4;
    int64_t extra = cap_sel == 1 ? 1 + (int64_t)(u8(in) % 3) : 0;
    int64_t capacity = cap_sel == 2 ? exp_total - 1 : exp_total + extra;
    size_t alloc = (size_t)(capacity > 0 ? capacity : 0) * 4 * sizeof(float);
    float *boxes = cap_sel == 3 && kind % 2 == 0 ? NULL : xmalloc(alloc);
    x.boxes = boxes, x.capacity = capacity;
    x.level_counts = counts, x.num = &num;
    mask mg = 0;
    if (!boxes) mg |= BIT(AA_ERR_NULL_POINTER);
    if (capacity < exp_total) mg |= BIT(AA_ERR_INVALID_ARGUMENT);
    outs_add(&o, boxes, alloc, mg ? 0 : (size_t)exp_total * 4 * sizeof(float));
    if (kind % 2) {
        outs_add(&o, counts, sizeof counts, mg ? 0 : (size_t)levels * sizeof(int64_t));
        outs_add(&o, &num, sizeof num, mg ? 0 : sizeof num);
    }
    st = checked(kind % 2 == 0 ? "aa_anchor_generate" : "aa_point_generate", ctx,
                 kind % 2 == 0 ? call_anchor_generate : call_point_generate, &x, &o, mg);
    outs_free(&o);
    if (st == AA_SUCCESS && kind % 2) {
        CHECK(num == exp_total, "%lld points, expected %lld", (long long)num, (long long)exp_total);
        for (int64_t i = 0; i < exp_total; ++i)
            CHECK(boxes[4 * i] == boxes[4 * i + 2] && boxes[4 * i + 1] == boxes[4 * i + 3],
                  "point %lld is not a zero-size box", (long long)i);
    }
    if (st == AA_SUCCESS && exp_total <= MAX_ANCHORS) {
        *gen_boxes = boxes, *gen_n = exp_total, *gen_levels = levels;
        memcpy(gen_counts, exp_counts, (size_t)levels * sizeof *exp_counts);
        memcpy(gen_strides, strides, (size_t)levels * sizeof *strides);
        return;
    }
    free(boxes);
}

/* Checks of a successful assignment against the documented rules. */
enum { ASSIGN_MAX_IOU, ASSIGN_ATSS, ASSIGN_FCOS };
static void check_assignment(int which, const batch *b, const aa_assignment *out, float ignore_iof_thr)
{
    const aa_gts *g = b->gp;
    int64_t n = b->ap->num_anchors;
    for (int32_t i = 0; i < g->num_images; ++i) {
        int64_t first = g->offsets[i], count = g->offsets[i + 1] - first;
        int has_crowd = 0;
        int64_t kept = count; /* non-crowd GTs */
        for (int64_t k = first; k < first + count && g->ignore_flags; ++k)
            if (g->ignore_flags[k]) has_crowd = 1, --kept;
        for (int64_t a = 0; a < n; ++a) {
            int64_t e = (int64_t)i * n + a;
            int32_t v = out->gt_index[e];
            CHECK(v >= AA_IGNORED && v < count, "gt_index[%d][%lld] = %d with %lld GTs", (int)i,
                  (long long)a, (int)v, (long long)count);
            if (v >= 0 && g->ignore_flags)
                CHECK(g->ignore_flags[first + v] == 0, "image %d: crowd GT %d assigned", (int)i, (int)v);
            if (out->labels)
                CHECK(out->labels[e] == (v >= 0 ? g->labels[first + v] : -1),
                      "labels[%d][%lld] = %d for gt_index %d", (int)i, (long long)a,
                      (int)out->labels[e], (int)v);
            if (which == ASSIGN_FCOS) CHECK(v != AA_IGNORED, "FCOS ignored an anchor");
            if (which == ASSIGN_ATSS && v == AA_IGNORED)
                CHECK(ignore_iof_thr > 0 && has_crowd, "ATSS ignored an anchor without ignore regions");
            if (!out->overlap) continue;
            float ov = out->overlap[e];
            CHECK(!isnan(ov), "overlap[%d][%lld] is NaN", (int)i, (long long)a);
            /* "0 when the image has no GTs": crowd GTs do not count (docs/semantics.md) */
            if (kept == 0) CHECK(ov == 0.0f, "overlap %g in an image without (non-crowd) GTs", (double)ov);
            else if (which == ASSIGN_ATSS && v < 0)
                CHECK(ov == AA_ATSS_NO_OVERLAP, "ATSS: overlap %g of a non-positive", (double)ov);
            else if (which == ASSIGN_FCOS && v < 0)
                CHECK(ov == 0.0f, "FCOS: overlap %g of a negative", (double)ov);
        }
    }
}

/* Nearest-centre candidates: each (GT, level) lists min(topk, level size) distinct
 * anchors of that level, then -1. */
static void check_candidates(const batch *b, int32_t topk, const int32_t *cand, int64_t total_gts)
{
    const aa_anchors *a = b->ap;
    for (int64_t g = 0; g < total_gts; ++g) {
        int64_t start = 0;
        for (int32_t l = 0; l < a->num_levels; ++l) {
            const int32_t *c = cand + (g * a->num_levels + l) * topk;
            int64_t count = a->level_counts[l], k = count < topk ? count : topk;
            for (int32_t j = 0; j < topk; ++j) {
                if (j >= k) {
                    CHECK(c[j] == -1, "candidate %d of GT %lld level %d: %d, expected -1", (int)j,
                          (long long)g, (int)l, (int)c[j]);
                    continue;
                }
                CHECK(c[j] >= start && c[j] < start + count, "candidate %d of GT %lld level %d: %d outside the level",
                      (int)j, (long long)g, (int)l, (int)c[j]);
                for (int32_t i = 0; i < j; ++i) CHECK(c[i] != c[j], "candidate %d repeated", (int)c[j]);
            }
            start += count;
        }
    }
}

/* ---------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    harness_begin();
    aa_context *ctx = cpu_context();

    /* statics and NULL context */
    CHECK(aa_status_string((aa_status)(int)(int8_t)u8(&in)) != NULL, "aa_status_string NULL");
    CHECK(aa_backend_name((aa_backend)(int)(int8_t)u8(&in)) != NULL, "aa_backend_name NULL");

    /* version, names, stream and workspace of the context */
    {
        current_call = "context accessors";
        CHECK(aa_version_number() == AA_VERSION_NUMBER, "aa_version_number");
        CHECK(aa_version_string() && aa_version_string()[0], "aa_version_string");
        CHECK(strlen(aa_context_device_name(ctx)) > 0, "aa_context_device_name");
        void *stream = (void *)(uintptr_t)0x1;
        CHECK(aa_context_get_stream(ctx, &stream) == AA_SUCCESS && stream == NULL, "aa_context_get_stream");
        CHECK(aa_context_get_stream(ctx, NULL) == AA_ERR_NULL_POINTER, "aa_context_get_stream(NULL)");
        CHECK(aa_context_set_stream(ctx, NULL) == AA_SUCCESS, "aa_context_set_stream(NULL)");
        unsigned r = u8(&in);
        if (r & 1) {
            CHECK(aa_context_set_stream(ctx, (void *)(uintptr_t)0x10) == AA_ERR_INVALID_ARGUMENT,
                  "aa_context_set_stream(non-NULL) on the CPU");
            check_message(aa_context_last_error(ctx));
        }
        CHECK(aa_context_reserve(ctx, (size_t)(r >> 1) << 12) == AA_SUCCESS, "aa_context_reserve");
        CHECK(aa_context_reserve(NULL, 1) == AA_ERR_NULL_POINTER, "aa_context_reserve(NULL)");
    }

    /* context options */
    {
        current_call = "aa_context_create";
        aa_context_options o;
        aa_context_options_init(&o);
        unsigned sel = u8(&in);
        if (sel & 1) o.backend = (aa_backend)ival(&in, 0, 5);
        if (sel & 2) o.memory = (aa_memory)ival(&in, 0, 3);
        if (sel & 4) o.device = ival(&in, 0, 2);
        if (sel & 8) o.platform = ival(&in, 0, 2);
        if (sel & 16) o.struct_size = struct_size_val(&in, sizeof o);
        aa_context *c2 = (aa_context *)(uintptr_t)0x1;
        aa_status st = aa_context_create(&c2, &o);
        aa_context_options eff;
        const aa_context_options *given = &o;
        EFFECTIVE(aa_context_options, aa_context_options_init, given, eff);
        int valid = o.struct_size >= 1 && o.struct_size <= sizeof o &&
                    (eff.backend == AA_BACKEND_AUTO || eff.backend == AA_BACKEND_CPU ||
                     eff.backend == AA_BACKEND_CUDA || eff.backend == AA_BACKEND_OPENCL) &&
                    (eff.memory == AA_MEMORY_NATIVE || eff.memory == AA_MEMORY_HOST) &&
                    eff.device >= 0 && eff.platform >= 0;
        if (st == AA_SUCCESS) {
            CHECK(valid && c2 != NULL, "context created from invalid options");
            CHECK(aa_context_backend(c2) == AA_BACKEND_CPU, "a non-CPU context in a CPU-only build");
            aa_context_destroy(c2);
        } else {
            CHECK(c2 == NULL, "failed aa_context_create left *ctx set");
            CHECK(BIT(st) & documented, "aa_context_create: undocumented status %d", (int)st);
            CHECK(!valid || st == AA_ERR_NOT_SUPPORTED || st == AA_ERR_NO_DEVICE,
                  "valid options rejected: %s", aa_context_create_error());
            CHECK(aa_context_create_error()[0] != '\0', "aa_context_create failed without a message");
        }
    }

    /* generators */
    float *gen_boxes = NULL, gen_strides[AA_MAX_LEVELS];
    int64_t gen_n = 0, gen_counts[AA_MAX_LEVELS];
    int32_t gen_levels = 0;
    fuzz_generators(&in, ctx, &gen_boxes, &gen_n, gen_counts, gen_strides, &gen_levels);
    unsigned use_gen = u8(&in);

    /* the batch */
    batch b;
    build_batch(&in, &b, (use_gen & 1) ? gen_boxes : NULL, gen_n, gen_counts, gen_strides, gen_levels);
    free(gen_boxes);
    const int32_t levels_built = b.a.num_levels;

    /* parameters */
    assigner_params params;
    decode_assigner_params(&in, levels_built, &params);
    const aa_max_iou_params *mpp = params.max_iou_arg;
    const aa_atss_params *app = params.atss_arg;
    const aa_fcos_params *fpp = params.fcos_arg;

    const aa_anchors *A = b.ap;
    const aa_gts *G = b.gp;
    const int64_t nA = b.honest_anchors;
    const int32_t nI = b.honest_images;
    const int64_t nG = b.e.gt_boxes;
    const int32_t nL = levels_built >= 1 && levels_built <= AA_MAX_LEVELS ? levels_built : 1;
    mask batch_m = oracle_anchors(A, &b.e, 0) | oracle_gts(G, &b.e, 0);
    /* valid: the declared shape is what was built (or fewer images / levels) */
    int64_t dA = batch_m ? 0 : A->num_anchors;
    int32_t dI = batch_m ? 0 : G->num_images;
    int64_t dG = batch_m ? 0 : G->offsets[G->num_images];
    int32_t dL = batch_m ? 0 : A->num_levels;
    if (!batch_m && (dA > nA || dI > nI || dG > nG || dL > AA_MAX_LEVELS))
        die("harness: a valid batch larger than built");

    args x;
    memset(&x, 0, sizeof x);
    x.a = A, x.g = G;
    unsigned sel = u8(&in);
    x.mode = sel < 240 ? (aa_overlap_mode)(sel % 3) : (aa_overlap_mode)ival(&in, -1, 5);
    x.eps = (sel & 0x30) == 0x30 ? fval(&in, 0, 1e-3f) : 1e-6f;
    sel = u8(&in);
    x.topk = sel < 232 ? 1 + (int32_t)(sel % 12) : ival(&in, 0, 20);
    unsigned nulls = u8(&in);

    /* ---- overlaps */
    {
        size_t alloc = (size_t)(nG * nA) * sizeof(float);
        x.overlaps = (nulls & 1) ? NULL : xmalloc(alloc);
        mask m = batch_m | oracle_eps(x.eps);
        if (x.mode != AA_IOU && x.mode != AA_IOF && x.mode != AA_GIOU) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        if (!x.overlaps && dG * dA > 0) m |= BIT(AA_ERR_NULL_POINTER);
        outs o = {0};
        outs_add(&o, x.overlaps, alloc, m ? 0 : (size_t)(dG * dA) * sizeof(float));
        if (checked("aa_overlaps", ctx, call_overlaps, &x, &o, m) == AA_SUCCESS)
            for (int64_t k = 0; k < dG * dA; ++k)
                CHECK(isfinite(x.overlaps[k]), "overlap %lld is %g", (long long)k, (double)x.overlaps[k]);
        outs_free(&o);
        free(x.overlaps);
        x.overlaps = NULL;
    }

    /* ---- ATSS primitives */
    {
        int32_t k = x.topk >= 1 && x.topk <= AA_MAX_TOPK ? x.topk : 1;
        size_t n_cand = (size_t)nG * (size_t)(batch_m ? nL : (dL > nL ? dL : nL)) * (size_t)k;
        int32_t *cand = (nulls & 2) ? NULL : xmalloc(n_cand * sizeof(int32_t));
        x.candidates = cand;
        mask m = batch_m | oracle_topk(x.topk);
        if (!cand && dG > 0) m |= BIT(AA_ERR_NULL_POINTER);
        outs o = {0};
        size_t owned = m ? 0 : (size_t)dG * (size_t)dL * (size_t)k * sizeof(int32_t);
        outs_add(&o, cand, n_cand * sizeof(int32_t), owned);
        aa_status st = checked("aa_topk_nearest", ctx, call_topk, &x, &o, m);
        outs_free(&o);
        if (st == AA_SUCCESS && cand) check_candidates(&b, k, cand, dG);

        /* statistics over these candidates, or over patched ones */
        if (st == AA_SUCCESS && cand) {
            unsigned bad = u8(&in);
            size_t owned_n = owned / sizeof(int32_t);
            int corrupted = 0;
            if (bad >= 200 && owned_n > 0) {
                int64_t v = (int64_t)ival(&in, -3, 8) + (bad & 1 ? dA : 0);
                size_t at = u16(&in) % owned_n;
                cand[at] = v > INT32_MAX ? INT32_MAX : (int32_t)v;
                corrupted = cand[at] < -1 || cand[at] >= dA;
            }
            double *mean = (nulls & 4) ? NULL : xmalloc((size_t)nG * sizeof(double));
            double *sd = (nulls & 8) ? NULL : xmalloc((size_t)nG * sizeof(double));
            x.mean = mean, x.std = sd;
            mask ms = oracle_eps(x.eps);
            if (dG > 0 && (!mean || !sd)) ms |= BIT(AA_ERR_NULL_POINTER);
            if (corrupted) ms |= BIT(AA_ERR_INVALID_ARGUMENT);
            outs_add(&o, mean, (size_t)nG * sizeof(double), ms ? 0 : (size_t)dG * sizeof(double));
            outs_add(&o, sd, (size_t)nG * sizeof(double), ms ? 0 : (size_t)dG * sizeof(double));
            checked("aa_candidate_iou_stats", ctx, call_stats, &x, &o, ms);
            outs_free(&o);
            free(mean), free(sd);
        }
        free(cand);
        x.candidates = NULL;
    }

    /* ---- assigners: workspace size, the context's workspace, the caller's */
    {
        size_t n_out = (size_t)nI * (size_t)nA;
        int32_t *gt_index = xmalloc(n_out * sizeof(int32_t));
        float *overlap = xmalloc(n_out * sizeof(float));
        int32_t *labels = xmalloc(n_out * sizeof(int32_t));
        aa_assignment out = {(nulls & 0x10) ? NULL : gt_index, (nulls & 0x20) ? NULL : overlap,
                             (nulls & 0x40) ? labels : NULL};
        x.out = (nulls & 0x80) && (nulls & 0x10) ? NULL : &out;
        mask out_m = 0;
        if (!x.out || !x.out->gt_index) out_m |= BIT(AA_ERR_NULL_POINTER);
        else if (x.out->labels && G && !G->labels) out_m |= BIT(AA_ERR_NULL_POINTER);
        size_t owned = (size_t)dI * (size_t)dA;
        unsigned misalign = u8(&in) >= 224 ? u8(&in) : 0;

        for (int w = 0; w < 3; ++w) {
            static const char *const names[3][4] = {
                {"aa_max_iou_workspace_size", "aa_assign_max_iou", "aa_assign_max_iou(caller workspace)", "aa_assign_max_iou(short workspace)"},
                {"aa_atss_workspace_size", "aa_assign_atss", "aa_assign_atss(caller workspace)", "aa_assign_atss(short workspace)"},
                {"aa_fcos_workspace_size", "aa_assign_fcos", "aa_assign_fcos(caller workspace)", "aa_assign_fcos(short workspace)"}};
            mask pm, bm;
            call_fn ws_fn, fn;
            float ignore_thr;
            if (w == ASSIGN_MAX_IOU) {
                aa_max_iou_params e;
                EFFECTIVE(aa_max_iou_params, aa_max_iou_params_init, mpp, e);
                pm = oracle_max_iou_params(mpp), bm = batch_m, ws_fn = call_max_iou_ws, fn = call_max_iou;
                ignore_thr = e.ignore_iof_thr;
            } else if (w == ASSIGN_ATSS) {
                aa_atss_params e;
                EFFECTIVE(aa_atss_params, aa_atss_params_init, app, e);
                pm = oracle_atss_params(app), bm = batch_m, ws_fn = call_atss_ws, fn = call_atss;
                ignore_thr = e.ignore_iof_thr;
            } else {
                pm = oracle_fcos_params(fpp, A), ws_fn = call_fcos_ws, fn = call_fcos, ignore_thr = -1;
                bm = oracle_anchors(A, &b.e, fcos_center_sampling(fpp)) | oracle_gts(G, &b.e, 0);
            }
            x.max_iou = mpp, x.atss = app, x.fcos = fpp;

            /* the size query */
            size_t bytes = 0;
            x.bytes = (nulls & 0x80) && !(nulls & 0x10) && w == 1 ? NULL : &bytes;
            mask mw = pm | bm | (x.bytes ? 0 : BIT(AA_ERR_NULL_POINTER));
            outs o = {0};
            outs_add(&o, x.bytes, sizeof bytes, sizeof bytes);
            aa_status st = checked(names[w][0], ctx, ws_fn, &x, &o, mw);
            outs_free(&o);
            int have_size = st == AA_SUCCESS;

            /* the context's workspace */
            mask m = pm | bm | out_m;
            x.ws = NULL, x.ws_bytes = (size_t)u8(&in) << 20; /* ignored without a workspace */
            size_t own = m ? 0 : owned;
            outs_add(&o, out.gt_index, n_out * sizeof(int32_t), own * sizeof(int32_t));
            outs_add(&o, out.overlap, n_out * sizeof(float), own * sizeof(float));
            outs_add(&o, out.labels, n_out * sizeof(int32_t), own * sizeof(int32_t));
            st = checked(names[w][1], ctx, fn, &x, &o, m);
            if (st == AA_SUCCESS && x.out) {
                check_assignment(w, &b, x.out, ignore_thr);
            }
            /* the caller's workspace of exactly the queried size: the same result */
            if (have_size) {
                int32_t *first = NULL;
                if (st == AA_SUCCESS) {
                    first = xmalloc(own * sizeof(int32_t));
                    memcpy(first, out.gt_index, own * sizeof(int32_t));
                }
                /* sometimes at an odd address: the header states no alignment, so
                 * the library must either cope or reject it (AA_ERR_INVALID_ARGUMENT) */
                size_t shift = (misalign >> w) & 1;
                unsigned char *ws = xmalloc(bytes + shift);
                x.ws = ws + shift, x.ws_bytes = bytes;
                st = checked_may(names[w][2], ctx, fn, &x, &o, m,
                                 shift ? BIT(AA_ERR_INVALID_ARGUMENT) : 0);
                if (st == AA_SUCCESS && first)
                    CHECK(memcmp(first, out.gt_index, own * sizeof(int32_t)) == 0,
                          "caller workspace: another result than the context's");
                free(first);
                free(ws);
                if (bytes > 0) { /* one byte short */
                    ws = xmalloc(bytes - 1);
                    x.ws = ws, x.ws_bytes = bytes - 1;
                    checked(names[w][3], ctx, fn, &x, &o, m | BIT(AA_ERR_WORKSPACE_TOO_SMALL));
                    free(ws);
                }
                x.ws = NULL, x.ws_bytes = 0;
            }
            outs_free(&o);
        }
        free(gt_index), free(overlap), free(labels);
    }

    /* ---- NULL context: every call says so and writes nothing */
    if (nulls == 0xff) {
        current_call = "NULL context";
        CHECK(aa_overlaps(NULL, AA_IOU, 1e-6f, A, G, NULL) == AA_ERR_NULL_POINTER, "aa_overlaps");
        CHECK(aa_topk_nearest(NULL, 9, A, G, NULL) == AA_ERR_NULL_POINTER, "aa_topk_nearest");
        CHECK(aa_assign_atss(NULL, NULL, A, G, NULL, NULL, 0) == AA_ERR_NULL_POINTER, "aa_assign_atss");
        CHECK(aa_anchor_count(NULL, NULL, 8, 8, NULL, NULL) == AA_ERR_NULL_POINTER, "aa_anchor_count");
        CHECK(aa_point_generate(NULL, 1, NULL, 0.5f, 8, 8, NULL, 0, NULL, NULL) == AA_ERR_NULL_POINTER,
              "aa_point_generate");
        CHECK(strlen(aa_context_last_error(NULL)) > 0, "aa_context_last_error(NULL) empty");
    }

    free_batch(&b);
    aa_context_destroy(ctx);
    current_call = "(done)";
    return 0;
}
