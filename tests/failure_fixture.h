/* failure_fixture.h - what the injected-failure tests share (test_alloc_failure.c,
 * test_opencl_failures.c): one small valid batch and the inputs of every call (the
 * calls that take another's output get it computed once on a CPU context), every
 * output any call writes, guarded and poisoned together, snapshots of them, and one
 * runner per public call. A failing call must leave every output untouched; a
 * successful one must give a fresh context's bytes. */
#ifndef AA_TEST_FAILURE_FIXTURE_H
#define AA_TEST_FAILURE_FIXTURE_H

#include "common.h"

#include <math.h>

enum { NUM_ANCHORS = 6, NUM_LEVELS = 2, NUM_IMAGES = 2, NUM_GTS = 3, TOPK = 3, NUM_CLASSES = 3 };
enum { NUM_SEGMENTS = 3, NUM_POINTS = 10, K = 2 };

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

static inline void fixture_init(void)
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

/* Every output any call writes, guarded and poisoned together. */
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

static inline void outputs_alloc(outputs *o)
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

static inline void outputs_poison(outputs *o)
{
    for (int i = 0; i < NUM_BUFFERS; ++i) test_guarded_poison(o->buf[i]);
}

/* Every byte still the poison, every guard intact. */
static inline void outputs_assert_untouched(const outputs *o, const char *what)
{
    for (int i = 0; i < NUM_BUFFERS; ++i) {
        test_guarded_check(o->buf[i]);
        if (!test_guarded_untouched(o->buf[i])) fail_msg("%s: output buffer %d was written", what, i);
    }
}

static inline void outputs_free(outputs *o)
{
    for (int i = 0; i < NUM_BUFFERS; ++i) test_guarded_free(o->buf[i]);
}

/* One set of outputs for a whole test group (test_profile.c, injected_runtime.h),
 * with the group's cmocka hooks: fixture_init and the allocation; the release. */
static outputs outs;

static inline int fixture_setup(void **state)
{
    (void)state;
    fixture_init();
    outputs_alloc(&outs);
    return 0;
}

static inline int fixture_teardown(void **state)
{
    (void)state;
    outputs_free(&outs);
    return 0;
}

/* A snapshot of all outputs' bytes. */
typedef struct snapshot {
    unsigned char bytes[1024];
    size_t size;
} snapshot;

static inline void snapshot_take(const outputs *o, snapshot *s)
{
    s->size = 0;
    for (int i = 0; i < NUM_BUFFERS; ++i) {
        test_guarded_check(o->buf[i]);
        assert_true(s->size + o->bytes[i] <= sizeof s->bytes);
        memcpy(s->bytes + s->size, o->buf[i], o->bytes[i]);
        s->size += o->bytes[i];
    }
}

static inline void snapshot_assert_equal(const outputs *o, const snapshot *expected, const char *what)
{
    snapshot got;
    snapshot_take(o, &got);
    assert_int_equal(got.size, expected->size);
    if (memcmp(got.bytes, expected->bytes, got.size) != 0)
        fail_msg("%s: the outputs differ from a fresh context's", what);
}

/* ---------------------------------------------------------------- the calls */

static inline aa_status run_overlaps(aa_context *ctx, outputs *o)
{
    return aa_overlaps(ctx, AA_IOU, 1e-6f, &fx.a, &fx.g, o->buf[B_OVERLAPS]);
}
static inline aa_status run_topk(aa_context *ctx, outputs *o)
{
    return aa_topk_nearest(ctx, TOPK, &fx.a, &fx.g, o->buf[B_CANDIDATES]);
}
static inline aa_status run_stats(aa_context *ctx, outputs *o)
{
    return aa_candidate_iou_stats(ctx, TOPK, 1e-6f, &fx.a, &fx.g, fx.candidates, o->buf[B_MEAN],
                                  o->buf[B_STD]);
}
static inline aa_status run_max_iou(aa_context *ctx, outputs *o)
{
    return aa_assign_max_iou(ctx, &fx.max_iou, &fx.a, &fx.g, &o->out, NULL, 0);
}
static inline aa_status run_atss(aa_context *ctx, outputs *o)
{
    return aa_assign_atss(ctx, &fx.atss, &fx.a, &fx.g, &o->out, NULL, 0);
}
static inline aa_status run_fcos(aa_context *ctx, outputs *o)
{
    return aa_assign_fcos(ctx, &fx.fcos, &fx.a, &fx.g, &o->out, NULL, 0);
}
static inline aa_status run_gmm(aa_context *ctx, outputs *o)
{
    return aa_gmm_fit(ctx, &fx.gmm, &fx.segs, &o->gmm, NULL, 0);
}
static inline aa_status run_paa_costs(aa_context *ctx, outputs *o)
{
    return aa_paa_costs(ctx, &fx.paa, &fx.a, &fx.g, &fx.head, fx.pre, o->buf[B_COSTS]);
}
static inline aa_status run_paa_select(aa_context *ctx, outputs *o)
{
    return aa_assign_paa_costs(ctx, &fx.paa, &fx.a, &fx.g, fx.pre, fx.costs, &o->out, NULL, 0);
}
static inline aa_status run_paa(aa_context *ctx, outputs *o)
{
    return aa_assign_paa(ctx, &fx.paa, &fx.a, &fx.g, &fx.head, &o->out, NULL, 0);
}
static inline aa_status run_lada(aa_context *ctx, outputs *o)
{
    return aa_assign_lada(ctx, &fx.lada, &fx.a, &fx.g, &fx.head, &o->out, NULL, 0);
}

/* AA_TEST_VERBOSE=1: print every failure's message. */
static inline int verbose(void)
{
    const char *v = getenv("AA_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

#endif
