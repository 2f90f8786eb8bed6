/*
 * harness.h - what the fuzz targets (fuzz_api.c, fuzz_loss.c, fuzz_parity.c) share:
 *   - decoding the input: bytes, floats that favour the checks' boundaries, ints,
 *     struct sizes;
 *   - the oracle: a `mask` is the set of statuses the inputs call for (every defect
 *     present, since the library reports whichever it meets first), for anchors,
 *     GTs and the max-IoU parameters, from the header's documented rules only;
 *   - checked(): one public call with poisoned outputs, its status against the
 *     mask, nothing written on failure, every owned byte written and the same bytes
 *     again on success (see fuzz_api.c's file comment for the whole list);
 *   - the batch (anchors + GTs) decoded from the input, with one corruption each;
 *   - for the loss-aware calls (fuzz_loss.c, fuzz_parity.c): head outputs, PAA and
 *     LADA parameters, a pre-assignment's corruption, LADA's parameter oracle.
 */
#ifndef AA_FUZZ_HARNESS_H
#define AA_FUZZ_HARNESS_H

#include "anchorassign.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounds that keep one input well under a millisecond. */
enum { MAX_ANCHORS = 2000, MAX_GTS = 64, MAX_IMAGES = 8, MAX_GENERATED = 20000 };

/* ---------------------------------------------------------------- failures */

extern const char *fuzz_target_name; /* defined by each target: its name in reports */
extern const char *current_call;     /* the call being checked, for the report       */
/* The start of every input: current_call "(setup)"; AA_FUZZ_VERBOSE read once. */
void harness_begin(void);
extern int verbose;                  /* AA_FUZZ_VERBOSE=1: every call's status        */

void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) die(__VA_ARGS__);                                                           \
    } while (0)
void *xmalloc(size_t bytes);

/* ---------------------------------------------------------------- input */

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

unsigned u8(input *in); /* 0 once the input is used up */
unsigned u16(input *in);
uint32_t u32(input *in);
float raw_float(input *in);
float special_float(unsigned k); /* boundaries of the checks and beyond */
float fval(input *in, float lo, float hi);
int32_t ival(input *in, int32_t lo, int32_t span);
size_t struct_size_val(input *in, size_t right);

extern uint64_t rng_state; /* xorshift64*: bulk values from a seed in the input */
uint32_t rng(void);
float rng_float(float lo, float hi);

/* ---------------------------------------------------------------- the oracle */

typedef unsigned mask;
#define BIT(st) ((unsigned)(st) < 32u ? 1u << (unsigned)(st) : 0u)
extern const mask documented; /* every status the header documents for a call */

/* What the harness allocated behind the structs it passes (the library may read
 * only so much). */
typedef struct extent {
    int64_t anchor_boxes;  /* boxes behind anchors.boxes            */
    int32_t offsets;       /* entries behind gts.offsets            */
    int64_t gt_boxes;      /* boxes behind gts.boxes, flags, labels */
} extent;

int finite_pos(float v);
mask check_box(const float *b);
mask oracle_anchors(const aa_anchors *a, const extent *e, int need_strides);
mask oracle_gts(const aa_gts *g, const extent *e, int need_labels);
mask oracle_eps(float eps);
mask oracle_finite(float v);
mask oracle_topk(int32_t k);
mask oracle_struct_size(size_t given, size_t right);
mask oracle_max_iou_params(const aa_max_iou_params *given);

/* The parameters a call works with: the defaults, overwritten by the caller's first
 * struct_size bytes (the header's versioning rule). */
#define EFFECTIVE(type, init, given, eff)                                                        \
    do {                                                                                         \
        init(&(eff));                                                                            \
        if ((given) && (given)->struct_size >= 1 && (given)->struct_size <= sizeof(type))       \
            memcpy(&(eff), (given), (given)->struct_size);                                       \
    } while (0)

/* ---------------------------------------------------------------- checked calls */

/* An output buffer: `alloc` bytes allocated (all must stay untouched on failure),
 * of which the first `owned` bytes must be written on success (the rest untouched). */
typedef struct obuf {
    void *p;
    size_t alloc, owned;
} obuf;

enum { MAX_OBUFS = 8 };
typedef struct outs {
    obuf b[MAX_OBUFS];
    int n;
    unsigned char *saved[MAX_OBUFS];
} outs;

void outs_add(outs *o, void *p, size_t alloc, size_t owned); /* p NULL: nothing */
void outs_poison(outs *o, unsigned char v);
long long first_not(const obuf *b, size_t from, size_t to, unsigned char v);
void outs_free(outs *o);

/* One public call, so that it can be repeated on another context. */
typedef aa_status (*call_fn)(aa_context *ctx, void *args);

#define POISON_A 0xCD
#define POISON_B 0x5A

void check_message(const char *msg);
aa_context *cpu_context(void);
/* Runs fn on ctx with its outputs poisoned and checks the invariants against
 * `expected` (the defects present; 0: the call must succeed). */
aa_status checked(const char *name, aa_context *ctx, call_fn fn, void *args, outs *o,
                  mask expected);
/* The same, where the statuses of `may` are allowed as well as success (behaviour
 * the header leaves open). */
aa_status checked_may(const char *name, aa_context *ctx, call_fn fn, void *args, outs *o,
                      mask expected, mask may);

/* ---------------------------------------------------------------- the batch */

typedef struct batch {
    /* storage */
    float *anchor_boxes;
    int64_t level_counts[AA_MAX_LEVELS];
    float strides[AA_MAX_LEVELS];
    float *gt_boxes;
    int64_t offsets[MAX_IMAGES + 1];
    uint8_t *crowd;
    int32_t *labels;
    extent e;
    /* what is passed */
    aa_anchors a;
    aa_gts g;
    const aa_anchors *ap;
    const aa_gts *gp;
    /* valid shapes, when the batch is valid: output sizes */
    int64_t honest_anchors;
    int32_t honest_images;
} batch;

void fill_boxes(input *in, float *b, int64_t n, float extent_px);
/* Builds the batch; `gen_boxes` is a generated anchor set to use instead (may be NULL). */
void build_batch(input *in, batch *b, const float *gen_boxes, int64_t gen_n,
                 const int64_t *gen_counts, const float *gen_strides, int32_t gen_levels);
void free_batch(batch *b);

/* The fixed assigners' parameters: their defaults (FCOS: regression ranges that suit
 * `levels`), then up to five fields patched from the input, struct_size included;
 * then a byte that passes each struct or NULL (bit 0 max-IoU, 1 ATSS, 2 FCOS). */
typedef struct assigner_params {
    aa_max_iou_params max_iou;
    aa_atss_params atss;
    aa_fcos_params fcos;
    const aa_max_iou_params *max_iou_arg; /* &max_iou or NULL: what a call is given */
    const aa_atss_params *atss_arg;
    const aa_fcos_params *fcos_arg;
} assigner_params;
void regress_defaults(aa_fcos_params *p, int32_t levels);
void decode_assigner_params(input *in, int32_t levels, assigner_params *p);

/* ---------------------------------------------------------------- loss-aware calls
 * (fuzz_loss.c and fuzz_parity.c decode them alike) */

enum { MAX_CLASSES = 8 };

double dval(input *in, double lo, double hi);
/* Element i of a head array as float (the header's dtypes; float16: only whether it
 * is finite, as 0, +INF or NaN). */
float head_value(aa_dtype t, const void *array, int64_t i);
/* A head array of n elements: moderate values from a seed, special ones patched. */
void *make_head_array(input *in, aa_dtype t, int64_t n, float lo, float hi);

/* Head outputs for every row (image x anchor) the batch was built with: float32,
 * float16 or bfloat16, 1 .. MAX_CLASSES classes, special values patched in, one
 * corruption (an invalid dtype or num_classes, a NULL array, no head); the batch's
 * labels reduced below num_classes, one sometimes not. */
typedef struct head_data {
    aa_head_outputs head;      /* what is passed                              */
    const aa_head_outputs *hp; /* &head, or NULL                              */
    void *logits, *deltas;     /* storage: rows x decoded classes, rows x 4    */
} head_data;
void decode_head(input *in, batch *b, head_data *h);
void free_head(head_data *h);

/* Parameters field by field (struct_size included) from either preset (PAA) or the
 * defaults (LADA); returns p, or NULL (no parameters). */
const aa_paa_params *decode_paa_params(input *in, aa_paa_params *p);
const aa_lada_params *decode_lada_params(input *in, aa_lada_params *p);
/* The header's rules for LADA's parameters; *eff: the effective ones. */
mask oracle_lada_params(const aa_lada_params *given, aa_lada_params *eff);

/* One corruption of a pre-assignment of `rows` elements (images x dA anchors), from
 * a byte >= 230: an entry below AA_IGNORED, one past its image's GTs, one naming a
 * crowd GT (where there is one), or no array. Returns the array to pass; *defect:
 * the status it calls for (0: none). */
const int32_t *corrupt_pre(input *in, const batch *b, int32_t *pre, size_t rows, int64_t dA,
                           mask *defect);

#endif
