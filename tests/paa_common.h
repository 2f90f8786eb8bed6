/* paa_common.h - what the PAA tests share: a random batch with head outputs, the
 * composition aa_assign_max_iou(pre) -> aa_paa_costs -> aa_assign_paa_costs, and an
 * independent check of the selection rule (paa_rule.h: own top-k and sort, the
 * library's GMM only for the mixture itself). Header-only, on top of common.h. */
#ifndef AA_TEST_PAA_COMMON_H
#define AA_TEST_PAA_COMMON_H

#include "common.h"
#include "head_batch.h"
#include "paa_rule.h"

#include <math.h>

/* ---------------------------------------------------------------- a random batch */

typedef head_batch paa_batch;

/* 1..3 levels of random anchors, 1..4 images (one of them sometimes without GTs),
 * up to 6 GTs each with labels and some crowd flags, float32 logits and deltas. */
static inline void paa_batch_random(paa_batch *b)
{
    memset(b, 0, sizeof *b);
    b->num_levels = test_int(1, 3);
    b->num_classes = test_int(1, 5);
    for (int l = 0; l < b->num_levels; ++l) {
        b->level_counts[l] = test_int(1, 40);
        b->strides[l] = (float)(8 << l);
        b->num_anchors += b->level_counts[l];
    }
    b->anchor_boxes = malloc((size_t)b->num_anchors * 4 * sizeof(float));
    for (int64_t a = 0; a < b->num_anchors; ++a) test_random_box(b->anchor_boxes + 4 * a, 160, 120, 60);
    b->num_images = test_int(1, 4);
    b->offsets = malloc(((size_t)b->num_images + 1) * sizeof(int64_t));
    b->offsets[0] = 0;
    for (int32_t i = 0; i < b->num_images; ++i)
        b->offsets[i + 1] = b->offsets[i] + (test_int(0, 4) == 0 ? 0 : test_int(1, 6));
    int64_t g = b->offsets[b->num_images];
    b->gt_boxes = malloc((size_t)(g + 1) * 4 * sizeof(float));
    b->crowd = malloc((size_t)g + 1);
    b->labels = malloc((size_t)(g + 1) * sizeof(int32_t));
    for (int64_t k = 0; k < g; ++k) {
        test_random_box(b->gt_boxes + 4 * k, 160, 120, 80);
        b->crowd[k] = test_int(0, 7) == 0;
        b->labels[k] = test_int(0, b->num_classes - 1);
    }
    size_t rows = (size_t)b->num_images * (size_t)b->num_anchors;
    b->logits = malloc(rows * (size_t)b->num_classes * sizeof(float));
    b->deltas = malloc(rows * 4 * sizeof(float));
    for (size_t j = 0; j < rows * (size_t)b->num_classes; ++j) b->logits[j] = test_uniform(-6, 6);
    for (size_t j = 0; j < rows * 4; ++j) b->deltas[j] = test_uniform(-2, 2);
    head_batch_finish(b);
}


/* ---------------------------------------------------------------- composition */

/* A caller workspace of exactly `bytes` at an AA_WORKSPACE_ALIGNMENT address inside a
 * guarded block: the alignment slack must stay poisoned too. */
typedef struct paa_workspace {
    unsigned char *block, *ptr;
    size_t bytes;
} paa_workspace;

static inline paa_workspace paa_workspace_alloc(size_t bytes)
{
    paa_workspace w;
    w.bytes = bytes;
    w.block = test_guarded_alloc(bytes + AA_WORKSPACE_ALIGNMENT, 1);
    w.ptr = w.block + (AA_WORKSPACE_ALIGNMENT - (uintptr_t)w.block % AA_WORKSPACE_ALIGNMENT) %
                          AA_WORKSPACE_ALIGNMENT;
    return w;
}

static inline void paa_workspace_check_free(paa_workspace *w)
{
    test_guarded_check(w->block);
    for (unsigned char *c = w->block; c < w->ptr; ++c) assert_int_equal(*c, 0xCD);
    for (unsigned char *c = w->ptr + w->bytes; c < w->block + w->bytes + AA_WORKSPACE_ALIGNMENT; ++c)
        assert_int_equal(*c, 0xCD);
    test_guarded_free(w->block);
}


/* aa_assign_paa against its three steps called one by one, bit for bit, every output
 * poisoned first; also with a caller workspace of exactly the size asked for. Leaves
 * the pre-assignment and the costs in pre / costs ([images][anchors]). */
static inline void paa_check_composition(aa_context *ctx, const aa_paa_params *p,
                                         const aa_anchors *a, const aa_gts *g,
                                         const aa_head_outputs *h, int32_t *pre, float *costs,
                                         test_outputs *whole, test_outputs *steps)
{
    aa_assignment pre_out = {pre, NULL, NULL};
    test_outputs_poison(whole), test_outputs_poison(steps);
    test_ok(ctx, aa_assign_paa(ctx, p, a, g, h, &whole->out, NULL, 0), "aa_assign_paa");
    test_outputs_check_written(whole);
    test_ok(ctx, aa_assign_max_iou(ctx, &p->pre, a, g, &pre_out, NULL, 0), "aa_assign_max_iou");
    test_ok(ctx, aa_paa_costs(ctx, p, a, g, h, pre, costs), "aa_paa_costs");
    test_ok(ctx, aa_assign_paa_costs(ctx, p, a, g, pre, costs, &steps->out, NULL, 0),
           "aa_assign_paa_costs");
    test_outputs_check_written(steps);
    size_t n = (size_t)whole->n;
    assert_memory_equal(whole->gt_index, steps->gt_index, n * sizeof(int32_t));
    assert_memory_equal(whole->overlap, steps->overlap, n * sizeof(float));
    if (whole->labels) assert_memory_equal(whole->labels, steps->labels, n * sizeof(int32_t));

    /* the caller's workspace, exactly as large as asked: same bits again */
    size_t bytes = 0;
    test_ok(ctx, aa_paa_workspace_size(ctx, p, a, g, &bytes), "aa_paa_workspace_size");
    paa_workspace ws = paa_workspace_alloc(bytes);
    test_outputs_poison(steps);
    test_ok(ctx, aa_assign_paa(ctx, p, a, g, h, &steps->out, ws.ptr, bytes), "aa_assign_paa (ws)");
    paa_workspace_check_free(&ws);
    assert_memory_equal(whole->gt_index, steps->gt_index, n * sizeof(int32_t));
    assert_memory_equal(whole->overlap, steps->overlap, n * sizeof(float));
    test_ok(ctx, aa_paa_select_workspace_size(ctx, p, a, g, &bytes), "aa_paa_select_workspace_size");
    ws = paa_workspace_alloc(bytes);
    test_outputs_poison(steps);
    test_ok(ctx, aa_assign_paa_costs(ctx, p, a, g, pre, costs, &steps->out, ws.ptr, bytes),
           "aa_assign_paa_costs (ws)");
    paa_workspace_check_free(&ws);
    assert_memory_equal(whole->gt_index, steps->gt_index, n * sizeof(int32_t));
}

/* ---------------------------------------------------------------- the selection rule */

/* The positives of every GT re-derived from the pre-assignment and the costs
 * (paa_rule.h's paa_rule_image, on ctx); checks out (gt_index, overlap, labels)
 * against it for every (image, anchor). Returns the number of positives. */
static inline int64_t paa_check_rule(aa_context *ctx, const aa_paa_params *p, const aa_anchors *a,
                                     const aa_gts *g, const int32_t *pre, const float *costs,
                                     const aa_assignment *out)
{
    int64_t A = a->num_anchors, positives = 0;
    paa_rule_scratch s;
    int32_t *expect = malloc((size_t)(A > 0 ? A : 1) * sizeof *expect);
    assert_true(paa_rule_scratch_alloc(&s, A) && expect != NULL);
    for (int32_t i = 0; i < g->num_images; ++i) {
        const int32_t *pi = pre + (int64_t)i * A;
        const float *ci = costs + (int64_t)i * A;
        test_ok(ctx, paa_rule_image(ctx, p, a, g, i, pi, ci, 0, &s, expect), "aa_gmm_fit (the rule's)");
        for (int64_t k = 0; k < A; ++k) {
            int64_t o = (int64_t)i * A + k;
            if (out->gt_index[o] != expect[k])
                fail_msg("image %d anchor %lld: gt_index %d, the rule gives %d", (int)i, (long long)k,
                         (int)out->gt_index[o], (int)expect[k]);
            float ov = pi[k] >= 0 ? ci[k] : INFINITY;
            assert_memory_equal(&out->overlap[o], &ov, sizeof ov);
            if (out->labels)
                assert_int_equal(out->labels[o],
                                 expect[k] >= 0 ? g->labels[g->offsets[i] + expect[k]] : -1);
            positives += expect[k] >= 0;
        }
    }
    paa_rule_scratch_free(&s);
    free(expect);
    return positives;
}

#endif
