/*
 * harness.c - what the fuzz targets share: decoding the input, the oracle of the
 * header's rules for anchors, GTs and max-IoU parameters, the checked call (poisoned
 * outputs, the status against the defects present, repeatability), the batch
 * built from the input, and what the loss-aware calls decode (head outputs, PAA and
 * LADA parameters, a pre-assignment's corruption). See harness.h.
 */
#include "harness.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- failures */

const char *current_call = "(setup)";
int verbose = -1; /* AA_FUZZ_VERBOSE=1: print every call's status and message */

void harness_begin(void)
{
    current_call = "(setup)";
    if (verbose < 0) {
        const char *v = getenv("AA_FUZZ_VERBOSE");
        verbose = v != NULL && v[0] == '1';
    }
}

void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n%s: invariant violated in %s: ", fuzz_target_name, current_call);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) die("harness: out of memory (%zu bytes)", bytes);
    return p;
}

/* ---------------------------------------------------------------- input */

unsigned u8(input *in)
{
    if (in->n == 0) return 0;
    --in->n;
    return *in->p++;
}

unsigned u16(input *in)
{
    unsigned lo = u8(in);
    return lo | (u8(in) << 8);
}

uint32_t u32(input *in)
{
    uint32_t lo = u16(in);
    return lo | ((uint32_t)u16(in) << 16);
}

float raw_float(input *in)
{
    uint32_t bits = u32(in);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Values every float field gets tried with: boundaries of the checks and beyond. */
float special_float(unsigned k)
{
    static const float table[] = {
        0.0f, -0.0f, NAN, INFINITY, -INFINITY, AA_MAX_COORD, -AA_MAX_COORD,
        1.0000001e15f /* just over AA_MAX_COORD */, 2e15f, FLT_MAX, -FLT_MAX, FLT_MIN,
        1e-45f /* smallest denormal */, -1.0f, 1e-30f, 0.5f, 1.0f, 1e8f, -1e8f, 1e-6f,
        64.0f, 3e38f, -0.5f, 1e-4f};
    return table[k % (sizeof table / sizeof table[0])];
}

/* A float: mostly in [lo, hi] (sometimes on the integer grid, for ties), else a
 * special value or raw bits. */
float fval(input *in, float lo, float hi)
{
    unsigned sel = u8(in);
    if (sel < 150) return lo + (hi - lo) * ((float)u16(in) / 65535.0f);
    if (sel < 200) return roundf(lo + (hi - lo) * ((float)u8(in) / 255.0f));
    if (sel < 245) return special_float(sel - 200);
    return raw_float(in);
}

/* An int: mostly lo + (byte % span), else a special value. */
int32_t ival(input *in, int32_t lo, int32_t span)
{
    static const int32_t table[] = {0, -1, 1, INT32_MIN, INT32_MAX, 1 << 20, 17, 1024, 1025, 9, 2};
    unsigned sel = u8(in);
    if (sel < 224) return lo + (int32_t)(sel % (unsigned)span);
    if (sel < 248) return table[(sel - 224) % (sizeof table / sizeof table[0])];
    return (int32_t)u32(in);
}

/* A struct_size: mostly the right one, else 0, short (older header), long, huge. */
size_t struct_size_val(input *in, size_t right)
{
    unsigned sel = u8(in);
    if (sel < 200) return right;
    switch (sel % 6) {
    case 0: return 0;
    case 1: return right + 1;
    case 2: return 4096;
    case 3: return SIZE_MAX;
    case 4: return right - 4;
    default: return 1 + u8(in) % right; /* any prefix */
    }
}

/* xorshift64*: boxes of a batch come from a seed, patched from the input. */
uint64_t rng_state;
uint32_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 2685821657736338717ull) >> 32);
}
float rng_float(float lo, float hi) { return lo + (hi - lo) * (float)(rng() >> 8) / 16777216.0f; }

/* ---------------------------------------------------------------- the oracle */

/* A set of statuses: the defects present in a call's inputs. */
int finite_pos(float v) { return v > 0.0f && isfinite(v); }

mask check_box(const float *b)
{
    for (int c = 0; c < 4; ++c)
        if (!isfinite(b[c]) || fabsf(b[c]) > AA_MAX_COORD) return BIT(AA_ERR_INVALID_BOX);
    if (b[2] < b[0] || b[3] < b[1]) return BIT(AA_ERR_INVALID_BOX);
    return 0;
}
mask oracle_anchors(const aa_anchors *a, const extent *e, int need_strides)
{
    mask m = 0;
    if (!a) return BIT(AA_ERR_NULL_POINTER);
    if (a->num_anchors < 0) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (a->num_anchors > AA_MAX_ANCHORS) m |= BIT(AA_ERR_LIMIT_EXCEEDED);
    if (a->num_anchors > 0 && !a->boxes) m |= BIT(AA_ERR_NULL_POINTER);
    int levels_ok = a->num_levels >= 1 && a->num_levels <= AA_MAX_LEVELS;
    if (!levels_ok) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (!a->level_counts) m |= BIT(AA_ERR_NULL_POINTER);
    if (levels_ok && a->level_counts) {
        int64_t sum = 0;
        int counts_ok = 1;
        for (int32_t l = 0; l < a->num_levels; ++l) {
            if (a->level_counts[l] < 0 || a->level_counts[l] > AA_MAX_ANCHORS) counts_ok = 0;
            else sum += a->level_counts[l];
        }
        if (!counts_ok || sum != a->num_anchors) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    }
    if (need_strides && !a->level_strides) m |= BIT(AA_ERR_NULL_POINTER);
    if (levels_ok && a->level_strides)
        for (int32_t l = 0; l < a->num_levels; ++l)
            if (!finite_pos(a->level_strides[l])) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (m == 0 && a->boxes) {
        if (a->num_anchors > e->anchor_boxes)
            die("harness: a valid anchor set of %lld anchors over %lld boxes",
                (long long)a->num_anchors, (long long)e->anchor_boxes);
        for (int64_t i = 0; i < a->num_anchors; ++i) m |= check_box(a->boxes + 4 * i);
    }
    return m;
}

mask oracle_gts(const aa_gts *g, const extent *e, int need_labels)
{
    mask m = 0;
    if (!g) return BIT(AA_ERR_NULL_POINTER);
    if (g->num_images < 0) return BIT(AA_ERR_INVALID_ARGUMENT);
    if (g->num_images > AA_MAX_IMAGES) return BIT(AA_ERR_LIMIT_EXCEEDED);
    if (!g->offsets) return BIT(AA_ERR_NULL_POINTER);
    if (g->num_images + 1 > e->offsets) die("harness: %d images over %d offsets", (int)g->num_images, (int)e->offsets);
    if (g->offsets[0] != 0) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    int monotone = 1;
    for (int32_t i = 0; i < g->num_images; ++i) {
        if (g->offsets[i + 1] < g->offsets[i]) m |= BIT(AA_ERR_INVALID_ARGUMENT), monotone = 0;
        if (g->offsets[i + 1] > AA_MAX_GTS) m |= BIT(AA_ERR_LIMIT_EXCEEDED), monotone = 0;
    }
    int64_t total = g->offsets[g->num_images];
    if (total > 0 && !g->boxes) m |= BIT(AA_ERR_NULL_POINTER);
    if (need_labels && !g->labels) m |= BIT(AA_ERR_NULL_POINTER);
    if (m == 0 && monotone) {
        if (total > e->gt_boxes)
            die("harness: valid offsets for %lld GTs over %lld boxes", (long long)total,
                (long long)e->gt_boxes);
        for (int64_t k = 0; k < total; ++k) {
            m |= check_box(g->boxes + 4 * k);
            if (g->labels && g->labels[k] < 0) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        }
    }
    return m;
}

mask oracle_eps(float eps) { return finite_pos(eps) ? 0 : BIT(AA_ERR_INVALID_ARGUMENT); }
mask oracle_finite(float v) { return isfinite(v) ? 0 : BIT(AA_ERR_INVALID_ARGUMENT); }
mask oracle_topk(int32_t k) { return k >= 1 && k <= AA_MAX_TOPK ? 0 : BIT(AA_ERR_INVALID_ARGUMENT); }
mask oracle_struct_size(size_t given, size_t right)
{
    return given >= 1 && given <= right ? 0 : BIT(AA_ERR_INVALID_ARGUMENT);
}

mask oracle_max_iou_params(const aa_max_iou_params *given)
{
    aa_max_iou_params p;
    if (given && oracle_struct_size(given->struct_size, sizeof p)) return BIT(AA_ERR_INVALID_ARGUMENT);
    EFFECTIVE(aa_max_iou_params, aa_max_iou_params_init, given, p);
    return oracle_finite(p.pos_iou_thr) | oracle_finite(p.neg_iou_thr_lo) |
           oracle_finite(p.neg_iou_thr_hi) | oracle_finite(p.min_pos_iou) |
           oracle_finite(p.ignore_iof_thr) | oracle_eps(p.eps);
}

/* ---------------------------------------------------------------- checked calls */

void outs_add(outs *o, void *p, size_t alloc, size_t owned)
{
    if (!p) return;
    if (owned > alloc) die("harness: %zu bytes owned of %zu", owned, alloc);
    o->b[o->n].p = p, o->b[o->n].alloc = alloc, o->b[o->n].owned = owned;
    o->saved[o->n] = NULL;
    o->n++;
}

void outs_poison(outs *o, unsigned char v)
{
    for (int i = 0; i < o->n; ++i) memset(o->b[i].p, v, o->b[i].alloc);
}

/* First byte in [from, to) of a buffer that is not v, or -1 (a chunk at a time:
 * byte loops under the fuzzer's instrumentation would dominate the run time). */
long long first_not(const obuf *b, size_t from, size_t to, unsigned char v)
{
    enum { CHUNK = 4096 };
    static unsigned char ref[CHUNK];
    static int ref_v = -1;
    if (ref_v != v) memset(ref, v, sizeof ref), ref_v = v;
    const unsigned char *c = b->p;
    for (size_t k = from; k < to; k += CHUNK) {
        size_t n = to - k < CHUNK ? to - k : CHUNK;
        if (memcmp(c + k, ref, n) == 0) continue;
        for (size_t j = 0; j < n; ++j)
            if (c[k + j] != v) return (long long)(k + j);
    }
    return -1;
}

void outs_free(outs *o)
{
    for (int i = 0; i < o->n; ++i) free(o->saved[i]), o->saved[i] = NULL;
    o->n = 0;
}

const mask documented =
    BIT(AA_ERR_NULL_POINTER) | BIT(AA_ERR_INVALID_ARGUMENT) | BIT(AA_ERR_INVALID_BOX) |
    BIT(AA_ERR_OUT_OF_MEMORY) | BIT(AA_ERR_NOT_SUPPORTED) | BIT(AA_ERR_NO_DEVICE) |
    BIT(AA_ERR_BACKEND) | BIT(AA_ERR_WORKSPACE_TOO_SMALL) | BIT(AA_ERR_LIMIT_EXCEEDED);

void check_message(const char *msg)
{
    CHECK(msg != NULL, "aa_context_last_error is NULL");
    size_t n = strlen(msg);
    CHECK(n > 0, "failure with an empty message");
    CHECK(strchr(msg, '\n') == NULL && strchr(msg, '\r') == NULL, "message is not one line: \"%s\"", msg);
}

aa_context *cpu_context(void)
{
    aa_context_options o;
    aa_context *ctx = NULL;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CPU;
    if (aa_context_create(&ctx, &o) != AA_SUCCESS || !ctx) die("harness: no CPU context");
    return ctx;
}

/* Runs fn on ctx with its outputs poisoned and checks the invariants of the file
 * comment against `expected` (the defects present; 0: the call must succeed). */
aa_status checked(const char *name, aa_context *ctx, call_fn fn, void *args, outs *o,
                  mask expected)
{
    return checked_may(name, ctx, fn, args, o, expected, 0);
}

/* The same, where the statuses of `may` are allowed as well as success (behaviour
 * the header leaves open). */
aa_status checked_may(const char *name, aa_context *ctx, call_fn fn, void *args, outs *o,
                      mask expected, mask may)
{
    current_call = name;
    outs_poison(o, POISON_A);
    aa_status st = fn(ctx, args);
    if (verbose)
        fprintf(stderr, "%s: %s%s%s\n", name, aa_status_string(st), st ? " -- " : "",
                st ? aa_context_last_error(ctx) : "");
    if (st != AA_SUCCESS) {
        const char *msg = aa_context_last_error(ctx);
        CHECK(BIT(st) & documented, "undocumented status %d (%s): %s", (int)st, aa_status_string(st), msg);
        CHECK((expected | may) != 0, "valid inputs rejected: %s: %s", aa_status_string(st), msg);
        CHECK(BIT(st) & (expected | may), "%s is not among the defects present (mask 0x%x): %s",
              aa_status_string(st), expected | may, msg);
        check_message(msg);
        for (int i = 0; i < o->n; ++i) {
            long long k = first_not(&o->b[i], 0, o->b[i].alloc, POISON_A);
            CHECK(k < 0, "failed with %s but wrote output %d at byte %lld", aa_status_string(st), i, k);
        }
        /* the same status and a message of its own on a fresh context */
        aa_context *fresh = cpu_context();
        aa_status again = fn(fresh, args);
        CHECK(again == st, "status %d, then %d on a fresh context", (int)st, (int)again);
        check_message(aa_context_last_error(fresh));
        aa_context_destroy(fresh);
        for (int i = 0; i < o->n; ++i)
            CHECK(first_not(&o->b[i], 0, o->b[i].alloc, POISON_A) < 0, "fresh context wrote output %d", i);
        return st;
    }
    CHECK(expected == 0, "invalid inputs accepted (defects: mask 0x%x)", expected);
    for (int i = 0; i < o->n; ++i) {
        free(o->saved[i]);
        o->saved[i] = xmalloc(o->b[i].owned);
        memcpy(o->saved[i], o->b[i].p, o->b[i].owned);
        long long k = first_not(&o->b[i], o->b[i].owned, o->b[i].alloc, POISON_A);
        CHECK(k < 0, "wrote output %d past its %zu owned bytes (byte %lld)", i, o->b[i].owned, k);
    }
    outs_poison(o, POISON_B);
    aa_status st2 = fn(ctx, args);
    CHECK(st2 == AA_SUCCESS, "succeeded, then failed with %d when repeated", (int)st2);
    for (int i = 0; i < o->n; ++i) {
        CHECK(memcmp(o->saved[i], o->b[i].p, o->b[i].owned) == 0,
              "output %d not fully written or not deterministic", i);
        CHECK(first_not(&o->b[i], o->b[i].owned, o->b[i].alloc, POISON_B) < 0,
              "wrote output %d past its owned bytes", i);
    }
    return st;
}

/* ---------------------------------------------------------------- the batch */

void fill_boxes(input *in, float *b, int64_t n, float extent_px)
{
    unsigned mode = u8(in) % 4;
    rng_state = ((uint64_t)u32(in) << 1) | 1;
    for (int64_t i = 0; i < n; ++i) {
        float *x = b + 4 * i;
        if (mode == 3) { /* explicit boxes from the input */
            x[0] = fval(in, -50, extent_px), x[1] = fval(in, -50, extent_px);
            x[2] = x[0] + fval(in, 0, 600), x[3] = x[1] + fval(in, 0, 600);
            continue;
        }
        float w = mode == 2 ? (float)(8 * (rng() % 40)) : rng_float(0, 500);
        float h = mode == 2 ? (float)(8 * (rng() % 40)) : rng_float(0, 500);
        float cx = mode == 2 ? (float)(8 * (rng() % 170)) : rng_float(-50, extent_px);
        float cy = mode == 2 ? (float)(8 * (rng() % 100)) : rng_float(-50, extent_px);
        if (mode == 1 && (rng() & 7) == 0) w = 0, h = rng() & 1 ? 0 : h; /* zero-size */
        x[0] = cx - w / 2, x[1] = cy - h / 2, x[2] = cx + w / 2, x[3] = cy + h / 2;
    }
    /* patches: special values, inverted boxes */
    unsigned patches = u8(in) % 6;
    for (unsigned k = 0; k < patches && n > 0; ++k) {
        int64_t i = (int64_t)(u16(in) % (unsigned)n);
        unsigned c = u8(in);
        if (c >= 200) { /* invert */
            float t = b[4 * i + (c & 1)];
            b[4 * i + (c & 1)] = b[4 * i + 2 + (c & 1)];
            b[4 * i + 2 + (c & 1)] = t;
        } else {
            b[4 * i + c % 4] = special_float(u8(in));
        }
    }
}

/* Builds the batch; `gen` is a generated anchor set to use instead (may be NULL). */
void build_batch(input *in, batch *b, const float *gen_boxes, int64_t gen_n,
                        const int64_t *gen_counts, const float *gen_strides, int32_t gen_levels)
{
    memset(b, 0, sizeof *b);
    /* ---- anchors */
    int32_t levels;
    unsigned sel = u8(in);
    if (gen_boxes) {
        levels = gen_levels;
        memcpy(b->level_counts, gen_counts, (size_t)levels * sizeof *gen_counts);
        memcpy(b->strides, gen_strides, (size_t)levels * sizeof *gen_strides);
        b->honest_anchors = gen_n;
        b->anchor_boxes = xmalloc((size_t)gen_n * 4 * sizeof(float));
        memcpy(b->anchor_boxes, gen_boxes, (size_t)gen_n * 4 * sizeof(float));
    } else {
        levels = sel < 224 ? 1 + (int32_t)(sel % 5) : sel < 240 ? AA_MAX_LEVELS : 1 + (int32_t)(sel % 3);
        int64_t budget = MAX_ANCHORS, total = 0;
        for (int32_t l = 0; l < levels; ++l) {
            unsigned c = u8(in);
            int64_t n = c < 200 ? (int64_t)c : (int64_t)(c - 200) * 36;
            if (n > budget) n = budget;
            budget -= n, total += n;
            b->level_counts[l] = n;
            b->strides[l] = (float)(8 << (l % 8));
        }
        b->honest_anchors = total;
        b->anchor_boxes = xmalloc((size_t)total * 4 * sizeof(float));
        fill_boxes(in, b->anchor_boxes, total, 1400);
    }
    b->e.anchor_boxes = b->honest_anchors;
    /* strides: a patch */
    unsigned sp = u8(in);
    if (sp >= 224) b->strides[sp % levels] = special_float(u8(in));
    b->a.boxes = b->anchor_boxes;
    b->a.num_anchors = b->honest_anchors;
    b->a.num_levels = levels;
    b->a.level_counts = b->level_counts;
    b->a.level_strides = sp >= 216 && sp < 224 ? NULL : b->strides;
    b->ap = &b->a;
    /* one corruption of the anchors */
    unsigned c = u8(in);
    switch (c < 236 ? 0 : c - 235) {
    case 1: b->a.num_anchors = -1 - (int64_t)u8(in); break;
    case 2: b->a.num_anchors += 1 + (int64_t)u8(in); break; /* does not match level_counts */
    case 3: b->a.num_anchors = AA_MAX_ANCHORS + 1 + (int64_t)u8(in); break;
    case 4: { /* (two reads: sequenced, so that every compiler decodes alike) */
        unsigned l = u8(in) % (unsigned)levels;
        b->level_counts[l] = -1 - (int64_t)u8(in);
        break;
    }
    case 5: b->level_counts[u8(in) % levels] = AA_MAX_ANCHORS + 1; break;
    case 6: b->a.num_anchors = INT64_MIN; break;
    case 7: b->a.boxes = NULL; break;
    case 8: b->a.level_counts = NULL; break;
    case 9: b->ap = NULL; break;
    case 10: if (b->a.num_anchors > 0) b->a.num_anchors -= 1; break;
    case 11: b->level_counts[u8(in) % levels] = INT64_MAX; break;
    case 12: b->a.num_levels = ival(in, -2, 20); break; /* 0, negative, > AA_MAX_LEVELS, or fewer */
    case 13: /* counts that keep the sum but go negative */
        if (levels >= 2) b->level_counts[0] += AA_MAX_ANCHORS, b->level_counts[1] -= AA_MAX_ANCHORS;
        break;
    case 14: b->a.level_strides = NULL; break;
    default: break;
    }
    /* fewer levels than built is valid only when the rest count 0 anchors: the
     * oracle decides; more than built reads zeros of unused levels (valid shape). */

    /* ---- GTs */
    sel = u8(in);
    int32_t images = sel < 230 ? (int32_t)(sel % (MAX_IMAGES + 1)) : 0;
    int64_t total = 0;
    b->offsets[0] = 0;
    for (int32_t i = 0; i < images; ++i) {
        int64_t n = u8(in) % 17;
        if (total + n > MAX_GTS) n = MAX_GTS - total;
        total += n;
        b->offsets[i + 1] = total;
    }
    b->honest_images = images;
    b->e.offsets = images + 1;
    b->e.gt_boxes = total;
    b->gt_boxes = xmalloc((size_t)total * 4 * sizeof(float));
    fill_boxes(in, b->gt_boxes, total, 1400);
    unsigned fl = u8(in);
    if (fl & 1) {
        b->crowd = xmalloc((size_t)total);
        for (int64_t k = 0; k < total; ++k) b->crowd[k] = (rng() % 5 == 0) ? (uint8_t)(1 + rng() % 255) : 0;
    }
    if (fl & 2) {
        b->labels = xmalloc((size_t)total * sizeof(int32_t));
        for (int64_t k = 0; k < total; ++k) b->labels[k] = (int32_t)(rng() % 80);
    }
    b->g.boxes = b->gt_boxes;
    b->g.offsets = b->offsets;
    b->g.num_images = images;
    b->g.ignore_flags = b->crowd;
    b->g.labels = b->labels;
    b->g.device_offsets = (fl & 4) ? (const int64_t *)(uintptr_t)0x10 : NULL; /* ignored on CPU */
    b->gp = &b->g;
    c = u8(in);
    switch (sel >= 230 ? 100 + sel % 5 : c < 236 ? 0 : c - 235) {
    case 100: b->g.num_images = -1; break;
    case 101: b->g.num_images = AA_MAX_IMAGES + 1; break;
    case 102: b->g.num_images = INT32_MAX; break;
    case 103: b->g.num_images = INT32_MIN; break;
    case 104: b->g.num_images = -1 - (int32_t)u8(in); break;
    case 1: b->offsets[0] = 1 + (int64_t)u8(in); break;
    case 2:
        if (images >= 1) { /* a decrease */
            int32_t i = 1 + (int32_t)(u8(in) % (unsigned)images);
            b->offsets[i] = b->offsets[i - 1] - 1 - (int64_t)u8(in);
        }
        break;
    case 3: if (images >= 1) b->offsets[1 + u8(in) % (unsigned)images] = AA_MAX_GTS + 1; break;
    case 4: b->g.offsets = NULL; break;
    case 5: b->g.boxes = NULL; break; /* valid where there are no GTs */
    case 6: b->gp = NULL; break;
    case 7: if (images >= 1) b->offsets[1 + u8(in) % (unsigned)images] = INT64_MIN; break;
    case 8: if (images >= 1) b->offsets[images] = INT64_MAX; break;
    case 9:
        if (b->labels && total > 0) {
            int64_t k = (int64_t)(u8(in) % (unsigned)total);
            b->labels[k] = -1 - (int32_t)u8(in);
        }
        break;
    case 10: if (images >= 1) b->g.num_images = images - 1; break; /* fewer images: valid */
    case 11: b->offsets[0] = -1; break;
    default: break;
    }
    if (verbose > 0)
        fprintf(stderr, "batch: %lld anchors, %d levels, %d images, %lld GTs%s%s\n",
                (long long)b->honest_anchors, (int)b->a.num_levels, (int)b->honest_images,
                (long long)b->e.gt_boxes, b->crowd ? ", crowd flags" : "", b->labels ? ", labels" : "");
}

void free_batch(batch *b)
{
    free(b->anchor_boxes);
    free(b->gt_boxes);
    free(b->crowd);
    free(b->labels);
}

/* ---------------------------------------------------------------- parameters */

void regress_defaults(aa_fcos_params *p, int32_t levels)
{
    aa_fcos_params_init(p);
    if (levels < 1 || levels > AA_MAX_LEVELS) return;
    p->num_regress_ranges = levels;
    for (int32_t l = 0; l < levels; ++l) {
        p->regress_lo[l] = l == 0 ? -1.0f : (float)(64 << (l - 1));
        p->regress_hi[l] = l == levels - 1 ? 1e8f : (float)(64 << l);
    }
}

void decode_assigner_params(input *in, int32_t levels, assigner_params *p)
{
    aa_max_iou_params *mp = &p->max_iou;
    aa_atss_params *ap = &p->atss;
    aa_fcos_params *fp = &p->fcos;
    aa_max_iou_params_init(mp);
    aa_atss_params_init(ap);
    regress_defaults(fp, levels);
    unsigned patches = u8(in) % 6;
    for (unsigned k = 0; k < patches; ++k) {
        unsigned f = u8(in) % 21, l = u8(in) % AA_MAX_LEVELS;
        switch (f) {
        case 0: mp->pos_iou_thr = fval(in, 0, 1); break;
        case 1: mp->neg_iou_thr_lo = fval(in, -0.5f, 0.5f); break;
        case 2: mp->neg_iou_thr_hi = fval(in, 0, 1); break;
        case 3: mp->min_pos_iou = fval(in, 0, 1); break;
        case 4: mp->gt_max_assign_all = ival(in, 0, 2); break;
        case 5: mp->match_low_quality = ival(in, 0, 2); break;
        case 6: mp->ignore_iof_thr = fval(in, -1, 1); break;
        case 7: mp->ignore_wrt_candidates = ival(in, 0, 2); break;
        case 8: mp->eps = fval(in, 0, 1e-3f); break;
        case 9: mp->struct_size = struct_size_val(in, sizeof *mp); break;
        case 10: ap->topk = ival(in, 1, 16); break;
        case 11: ap->ignore_iof_thr = fval(in, -1, 1); break;
        case 12: ap->inside_margin = fval(in, -1, 10); break;
        case 13: ap->eps = fval(in, 0, 1e-3f); break;
        case 14: ap->struct_size = struct_size_val(in, sizeof *ap); break;
        case 15: fp->center_sampling = ival(in, 0, 2); break;
        case 16: fp->center_sample_radius = fval(in, 0, 4); break;
        case 17: fp->num_regress_ranges = ival(in, 1, 6); break;
        case 18: fp->regress_lo[l] = fval(in, -1, 600); break;
        case 19: fp->regress_hi[l] = fval(in, 0, 1e3f); break;
        default: fp->struct_size = struct_size_val(in, sizeof *fp); break;
        }
    }
    unsigned pnull = u8(in);
    p->max_iou_arg = (pnull & 1) ? NULL : mp;
    p->atss_arg = (pnull & 2) ? NULL : ap;
    p->fcos_arg = (pnull & 4) ? NULL : fp;
}

/* ---------------------------------------------------------------- loss-aware calls */

double dval(input *in, double lo, double hi)
{
    unsigned sel = u8(in);
    if (sel < 200) return lo + (hi - lo) * ((double)u16(in) / 65535.0);
    return (double)special_float(sel);
}

/* Element i of a head array as float (the header's dtypes). */
float head_value(aa_dtype t, const void *array, int64_t i)
{
    uint16_t h;
    uint32_t bits;
    float v;
    switch (t) {
    case AA_FLOAT16:
        h = ((const uint16_t *)array)[i];
        if (((h >> 10) & 31) == 31) return (h & 1023) ? NAN : INFINITY;
        return 0.0f; /* only finiteness is needed here */
    case AA_BFLOAT16:
        bits = (uint32_t)((const uint16_t *)array)[i] << 16;
        memcpy(&v, &bits, sizeof v);
        return v;
    default: return ((const float *)array)[i];
    }
}

/* A head array of n elements: moderate values from the seed, special ones patched. */
void *make_head_array(input *in, aa_dtype t, int64_t n, float lo, float hi)
{
    size_t elem = t == AA_FLOAT32 ? 4 : 2;
    unsigned char *p = xmalloc((size_t)n * elem);
    rng_state = ((uint64_t)u32(in) << 1) | 1;
    for (int64_t i = 0; i < n; ++i) {
        float v = rng_float(lo, hi);
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        if (t == AA_FLOAT32) memcpy(p + 4 * i, &v, 4);
        else if (t == AA_BFLOAT16) ((uint16_t *)p)[i] = (uint16_t)(bits >> 16);
        else ((uint16_t *)p)[i] = (uint16_t)((rng() & 0x8000) | (rng() % 0x4800)); /* |v| < 8, finite */
    }
    unsigned patches = u8(in) % 4;
    for (unsigned k = 0; k < patches && n > 0; ++k) {
        int64_t i = (int64_t)(u16(in) % (uint64_t)n);
        if (t == AA_FLOAT32) {
            float v = special_float(u8(in));
            memcpy(p + 4 * i, &v, 4);
        } else {
            static const uint16_t table[] = {0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x7f80, 0x7fc0, 0x7f7f, 0x0001};
            ((uint16_t *)p)[i] = table[u8(in) % 8];
        }
    }
    return p;
}

void decode_head(input *in, batch *b, head_data *h)
{
    size_t rows = (size_t)b->honest_images * (size_t)b->honest_anchors;
    int64_t nG = b->e.gt_boxes;
    aa_head_outputs *head = &h->head;
    unsigned sel = u8(in);
    head->dtype = (aa_dtype)(sel % 3);
    head->num_classes = 1 + (int32_t)(u8(in) % MAX_CLASSES);
    h->logits = make_head_array(in, head->dtype, (int64_t)rows * head->num_classes, -6, 6);
    h->deltas = make_head_array(in, head->dtype, (int64_t)rows * 4, -2, 2);
    head->cls_logits = h->logits, head->bbox_deltas = h->deltas;
    h->hp = head;
    switch (sel < 200 ? 0 : sel % 6) {
    /* (only to invalid values: a valid lie about the arrays' sizes cannot be seen) */
    case 1: head->dtype = (aa_dtype)(u8(in) & 1 ? -1 : 3 + (int)(u8(in) % 100)); break;
    case 2: head->num_classes = -(int32_t)(u8(in) % 3); break;
    case 3: head->cls_logits = NULL; break;
    case 4: head->bbox_deltas = NULL; break;
    case 5: h->hp = NULL; break;
    default: break;
    }
    /* labels below num_classes, one sometimes not (the value read first: the order
     * gcc and clang gave the unsequenced reads this replaced) */
    int32_t classes = head->num_classes >= 1 ? head->num_classes : 1;
    for (int64_t k = 0; b->labels && k < nG; ++k)
        if (b->labels[k] >= 0) b->labels[k] %= classes;
    if (b->labels && nG > 0 && u8(in) >= 240) {
        int32_t v = classes + (int32_t)(u8(in) % 3);
        b->labels[u8(in) % nG] = v;
    }
    if (verbose > 0)
        fprintf(stderr, "head: dtype %d, %d classes%s\n", (int)head->dtype, (int)head->num_classes,
                h->hp ? "" : ", not passed");
}

void free_head(head_data *h)
{
    free(h->logits), free(h->deltas);
    h->logits = h->deltas = NULL;
}

const aa_paa_params *decode_paa_params(input *in, aa_paa_params *p)
{
    if (u8(in) & 1) aa_paa_params_init(p);
    else aa_paa_params_init_original(p);
    unsigned patches = u8(in) % 5;
    for (unsigned k = 0; k < patches; ++k) {
        unsigned f = u8(in) % 17, c = u8(in) % 4;
        switch (f) {
        case 0: p->pre.pos_iou_thr = fval(in, 0, 1); break;
        case 1: p->pre.eps = fval(in, 0, 1e-3f); break;
        case 2: p->gmm.num_components = ival(in, 1, 3); break;
        case 3: p->gmm.init = (aa_gmm_init)ival(in, 0, 2); break;
        case 4: p->gmm.tol = dval(in, 0, 1e-2); break;
        case 5: p->gmm.covariance = (aa_gmm_covariance)ival(in, 0, 3); break;
        case 6: p->topk = ival(in, 1, 12); break;
        case 7: p->single_candidate_positive = ival(in, 0, 2); break;
        case 8: p->separation = ival(in, 0, 3); break;
        case 9: p->focal_alpha = fval(in, 0, 1); break;
        case 10: p->focal_gamma = fval(in, 0, 4); break;
        case 11: p->giou_weight = fval(in, -2, 4); break;
        case 12: p->giou_eps = fval(in, 0, 1e-3f); break;
        case 13: p->target_means[c] = fval(in, -1, 1); break;
        case 14: p->target_stds[c] = fval(in, 0, 1); break;
        case 15: p->wh_ratio_clip = fval(in, 0, 1); break;
        default: p->struct_size = struct_size_val(in, sizeof *p); break;
        }
    }
    return (u8(in) & 15) == 15 ? NULL : p;
}

const aa_lada_params *decode_lada_params(input *in, aa_lada_params *p)
{
    aa_lada_params_init(p);
    unsigned patches = u8(in) % 5;
    for (unsigned k = 0; k < patches; ++k) {
        unsigned f = u8(in) % 17, c = u8(in) % 4;
        switch (f) {
        case 0: p->region_radius = fval(in, 0, 4); break;
        case 1: p->clip_region_to_gt = ival(in, 0, 3); break;
        case 2: p->topk_per_level = ival(in, 1, 12); break;
        case 3: p->topk = ival(in, 1, 30); break;
        case 4: p->threshold = (aa_lada_threshold)ival(in, 0, 3); break;
        case 5: p->cls_weight = fval(in, -1, 3); break;
        case 6: p->giou_weight = fval(in, -1, 3); break;
        case 7: p->center_weight = fval(in, -1, 3); break;
        case 8: p->focal_alpha = fval(in, 0, 1); break;
        case 9: p->focal_gamma = fval(in, 0, 4); break;
        case 10: p->giou_eps = fval(in, 0, 1e-3f); break;
        case 11: p->target_means[c] = fval(in, -1, 1); break;
        case 12: p->target_stds[c] = fval(in, 0, 1); break;
        case 13: p->wh_ratio_clip = fval(in, 0, 1); break;
        default: p->struct_size = struct_size_val(in, sizeof *p); break;
        }
    }
    return (u8(in) & 15) == 15 ? NULL : p;
}

static mask nonneg_finite(float v) { return v >= 0.0f && isfinite(v) ? 0 : BIT(AA_ERR_INVALID_ARGUMENT); }

mask oracle_lada_params(const aa_lada_params *given, aa_lada_params *eff)
{
    EFFECTIVE(aa_lada_params, aa_lada_params_init, given, *eff);
    if (given && oracle_struct_size(given->struct_size, sizeof *eff)) return BIT(AA_ERR_INVALID_ARGUMENT);
    const aa_lada_params *p = eff;
    mask m = oracle_eps(p->region_radius) | oracle_topk(p->topk_per_level) | oracle_eps(p->giou_eps) |
             oracle_eps(p->wh_ratio_clip) | nonneg_finite(p->cls_weight) | nonneg_finite(p->giou_weight) |
             nonneg_finite(p->center_weight) | nonneg_finite(p->focal_gamma);
    if (p->clip_region_to_gt != 0 && p->clip_region_to_gt != 1) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->topk < 1 || p->topk > AA_MAX_TOPK * AA_MAX_LEVELS) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (p->threshold != AA_LADA_MEAN && p->threshold != AA_LADA_MEAN_STD) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (!(p->focal_alpha >= 0.0f && p->focal_alpha <= 1.0f)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    for (int c = 0; c < 4; ++c) m |= oracle_finite(p->target_means[c]) | oracle_eps(p->target_stds[c]);
    return m;
}

const int32_t *corrupt_pre(input *in, const batch *b, int32_t *pre, size_t rows, int64_t dA,
                           mask *defect)
{
    const aa_gts *g = b->gp;
    *defect = 0;
    unsigned sel = u8(in);
    if (sel < 230 || rows == 0) return pre;
    size_t at = u16(in) % rows;
    int32_t image = (int32_t)(at / (size_t)dA);
    int64_t count = g->offsets[image + 1] - g->offsets[image];
    switch (sel % 4) {
    case 0: pre[at] = -3 - (int32_t)u8(in); *defect = BIT(AA_ERR_INVALID_ARGUMENT); break;
    case 1: pre[at] = (int32_t)count + (int32_t)u8(in); *defect = BIT(AA_ERR_INVALID_ARGUMENT); break;
    case 2: /* a crowd GT: never assigned */
        for (int64_t k = 0; k < count; ++k)
            if (b->crowd && b->crowd[g->offsets[image] + k]) {
                pre[at] = (int32_t)k;
                *defect = BIT(AA_ERR_INVALID_ARGUMENT);
                break;
            }
        break;
    default: *defect = BIT(AA_ERR_NULL_POINTER); return NULL;
    }
    return pre;
}
