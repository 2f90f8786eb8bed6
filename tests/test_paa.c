/* test_paa.c - PAA on inputs small enough to check by hand: the selection
 * (aa_assign_paa_costs) from a written-out pre-assignment and costs, whose expected
 * positives were worked out from the rule and confirmed with scikit-learn 1.9.1's
 * GaussianMixture through the mmdetection port (tests/peer/paa_port.py); the cost
 * (aa_paa_costs) against the focal + GIoU formulas evaluated here in double; float16
 * and bfloat16 head outputs against float32. Bad inputs: test_paa_bad_input.c;
 * composition and random/COCO inputs: test_paa_compose.c. */
#include "paa_common.h"
#include "half_bits.h"

#include <float.h>

/* One selection call on a hand-made image batch: anchors are placeholders (only
 * the level counts matter), GT g of an image has label 10 + g. Outputs poisoned,
 * every element checked written. */
typedef struct hand {
    int32_t num_images, num_levels;
    int64_t num_anchors, level_counts[4], offsets[3];
    float boxes[64 * 4], gt_boxes[8 * 4], strides[4];
    int32_t labels[8];
    aa_anchors a;
    aa_gts g;
} hand;

static void hand_init(hand *h, const int64_t *level_counts, int32_t num_levels,
                      const int64_t *gts_per_image, int32_t num_images)
{
    memset(h, 0, sizeof *h);
    h->num_levels = num_levels, h->num_images = num_images;
    for (int l = 0; l < num_levels; ++l) {
        h->level_counts[l] = level_counts[l], h->num_anchors += level_counts[l];
        h->strides[l] = (float)(8 << l);
    }
    for (int64_t k = 0; k < h->num_anchors; ++k) {
        float *b = h->boxes + 4 * k;
        b[0] = b[1] = (float)k, b[2] = b[3] = (float)k + 8.0f;
    }
    for (int32_t i = 0; i < num_images; ++i) {
        h->offsets[i + 1] = h->offsets[i] + gts_per_image[i];
        for (int64_t k = h->offsets[i]; k < h->offsets[i + 1]; ++k) {
            h->labels[k] = 10 + (int32_t)(k - h->offsets[i]);
            float *b = h->gt_boxes + 4 * k;
            b[0] = b[1] = 0.0f, b[2] = b[3] = 16.0f;
        }
    }
    aa_anchors a = {h->boxes, h->num_anchors, num_levels, h->level_counts, h->strides};
    aa_gts g = {h->gt_boxes, h->offsets, num_images, NULL, h->labels, NULL};
    h->a = a, h->g = g;
}

static void hand_select(aa_context *ctx, const aa_paa_params *p, hand *h, const int32_t *pre,
                        const float *costs, test_outputs *t)
{
    test_outputs_alloc(t, h->num_images, h->num_anchors, 1);
    test_ok(ctx, aa_assign_paa_costs(ctx, p, &h->a, &h->g, pre, costs, &t->out, NULL, 0),
           "aa_assign_paa_costs");
    test_outputs_check_written(t);
}

/* gt_index must be `expect`; overlap the cost where pre >= 0, +inf elsewhere; labels
 * the GT's (10 + g) for positives, -1 elsewhere. */
static void expect_outputs(const hand *h, const test_outputs *t, const int32_t *pre,
                           const float *costs, const int32_t *expect)
{
    for (int64_t k = 0; k < t->n; ++k) {
        if (t->gt_index[k] != expect[k])
            fail_msg("anchor row %lld: gt_index %d, expected %d", (long long)k, (int)t->gt_index[k],
                     (int)expect[k]);
        float ov = pre[k] >= 0 ? costs[k] : INFINITY;
        assert_memory_equal(&t->overlap[k], &ov, sizeof ov);
        assert_int_equal(t->labels[k], expect[k] >= 0 ? 10 + expect[k] : -1);
    }
    (void)h;
}

static void params_for(aa_paa_params *p, int original)
{
    if (original) aa_paa_params_init_original(p);
    else aa_paa_params_init(p);
}

/* Two clear clusters over two levels: component 0 is the low one, its densest member
 * the one at its mean (0.20), so the positives are 0.10, 0.15, 0.20 (anchors 2, 8, 4).
 * A pre-negative (12) and a pre-ignored (13) anchor keep their codes; their costs are
 * NaN and lower than everything: never read. */
static void two_clusters(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[2] = {6, 8}, gts[1] = {1};
    const float costs[14] = {0.30f, 1.50f, 0.10f, 1.40f, 0.20f, 1.60f, 0.25f,
                             1.45f, 0.15f, 1.55f, 2.00f, 1.35f, NAN,   NAN};
    const int32_t pre[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, AA_NEGATIVE, AA_IGNORED};
    const int32_t expect[14] = {-1, -1, 0, -1, 0, -1, -1, -1, 0, -1, -1, -1, -1, -2};
    for (int original = 0; original <= 1; ++original) {
        hand h;
        test_outputs t;
        aa_paa_params p;
        params_for(&p, original);
        hand_init(&h, levels, 2, gts, 1);
        hand_select(ctx, &p, &h, pre, costs, &t);
        expect_outputs(&h, &t, pre, costs, expect);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* GTs with 0, 1 and 2 candidates (image 1), after an image without GTs (image 0,
 * every cost NaN: not read). mmdetection: no positive for a single candidate
 * ("gmm need at least two sample"); the original code: it is positive. Two
 * candidates: the mixture puts one in each component, the lower one is positive. */
static void candidate_counts(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[1] = {4}, gts[2] = {0, 3};
    const float costs[8] = {NAN, NAN, NAN, NAN, 0.4f, 0.2f, 0.9f, 7.0f};
    const int32_t pre[8] = {-1, -2, -1, -1, 1, 2, 2, -1};
    const int32_t expect_mmdet[8] = {-1, -2, -1, -1, -1, 2, -1, -1};
    const int32_t expect_original[8] = {-1, -2, -1, -1, 1, 2, -1, -1};
    for (int original = 0; original <= 1; ++original) {
        hand h;
        test_outputs t;
        aa_paa_params p;
        params_for(&p, original);
        hand_init(&h, levels, 1, gts, 2);
        hand_select(ctx, &p, &h, pre, costs, &t);
        expect_outputs(&h, &t, pre, costs, original ? expect_original : expect_mmdet);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* topk per level: with topk 1 the candidates are 0.10 and 0.90 (one per level), so
 * only anchor 0 is positive; with topk 2, 0.12 joins component 0 and is its densest
 * member (the other component pulls towards it): anchors 0 and 1. */
static void topk_per_level(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[2] = {3, 2}, gts[1] = {1};
    const float costs[5] = {0.10f, 0.12f, 0.50f, 0.90f, 0.95f};
    const int32_t pre[5] = {0, 0, 0, 0, 0};
    const int32_t expect_k1[5] = {0, -1, -1, -1, -1}, expect_k2[5] = {0, 0, -1, -1, -1};
    for (int32_t k = 1; k <= 2; ++k) {
        hand h;
        test_outputs t;
        aa_paa_params p;
        aa_paa_params_init(&p);
        p.topk = k;
        hand_init(&h, levels, 2, gts, 1);
        hand_select(ctx, &p, &h, pre, costs, &t);
        expect_outputs(&h, &t, pre, costs, k == 1 ? expect_k1 : expect_k2);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* An exact tie across the topk boundary of level 0 (anchors 3 and 4, both 0.12,
 * topk 2): the lower index is the candidate, and as the densest member of component
 * 0 it is positive; levels 2 and 3 hold fewer anchors than topk. */
static void topk_tie_lower_index(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[4] = {6, 4, 1, 1}, gts[1] = {1};
    const float costs[12] = {0.50f, 0.10f, 3.00f, 0.12f, 0.12f, 0.20f,
                             3.2f,  0.13f, 3.3f,  0.14f, 2.9f,  3.05f};
    const int32_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const int32_t expect[12] = {-1, 0, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1};
    hand h;
    test_outputs t;
    aa_paa_params p;
    aa_paa_params_init(&p);
    p.topk = 2;
    hand_init(&h, levels, 4, gts, 1);
    hand_select(ctx, &p, &h, pre, costs, &t);
    expect_outputs(&h, &t, pre, costs, expect);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* Equal costs: both components are the same Gaussian, every candidate is in
 * component 0 with the same density, and the first (lowest index) alone is positive. */
static void equal_costs(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[1] = {4}, gts[1] = {1};
    const float costs[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const int32_t pre[4] = {0, 0, 0, 0}, first[4] = {0, -1, -1, -1};
    for (int original = 0; original <= 1; ++original) {
        hand h;
        test_outputs t;
        aa_paa_params p;
        params_for(&p, original);
        hand_init(&h, levels, 1, gts, 1);
        hand_select(ctx, &p, &h, pre, costs, &t);
        expect_outputs(&h, &t, pre, costs, first);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* mmdetection hands scikit-learn the float32 losses, and on float32 data scikit-learn
 * squares x in float32 ('diag') and keeps covariances, precisions and Mahalanobis
 * terms in float32 ('full'). Where a mixture collapses onto a tight pair that decides
 * the outcome, not just the last bits:
 *   two costs 0.647f, 0.648f: 'diag' puts both in component 1 (no positive; on
 *   float64 data it would be [0, 1]); 'full' both in component 0, equal scores: the
 *   first is positive;
 *   three costs 0.3f with reg_covar 0: the 'diag' variance comes out <= 0 (raises:
 *   no positive), the 'full' one stays positive (the first candidate). */
static void float32_data(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[1] = {3}, gts[1] = {1};
    const float pair[3] = {0.647f, 0.648f, NAN}, tenths[3] = {0.3f, 0.3f, 0.3f};
    const int32_t pre_pair[3] = {0, 0, AA_NEGATIVE}, pre3[3] = {0, 0, 0};
    const int32_t first[3] = {0, -1, -1}, none[3] = {-1, -1, -1};
    for (int original = 0; original <= 1; ++original)
        for (int tight = 0; tight <= 1; ++tight) {
            hand h;
            test_outputs t;
            aa_paa_params p;
            params_for(&p, original);
            if (tight) p.gmm.reg_covar = 0.0;
            const float *costs = tight ? tenths : pair;
            const int32_t *pre = tight ? pre3 : pre_pair;
            hand_init(&h, levels, 1, gts, 1);
            hand_select(ctx, &p, &h, pre, costs, &t);
            expect_outputs(&h, &t, pre, costs, original ? first : none);
            test_outputs_free(&t);
        }
    aa_context_destroy(ctx);
}

/* Costs of one COCO GT (image 15, GT 3 of tests/peer's dump) where component 0 is the
 * wide one, holding the lowest and the two highest costs, and component 1 the middle:
 * components [0,1,1,1,1,1,1,0,0]; the densest of component 0 is the 8th. mmdetection
 * keeps component 0 only (anchors 0 and 7); the original code (kkhoot/PAA compute_paa:
 * is_pos = inds[:fg_max_idx + 1]) takes every sorted candidate up to it (0..7). */
static const float wide_costs[9] = {1.069387674331665f, 1.4915366172790527f, 1.5182639360427856f,
                                    1.6282693147659302f, 1.6500043869018555f, 1.7537392377853394f,
                                    1.7633552551269531f, 1.8741451501846313f, 2.1356468200683594f};

static void wide_component_mmdet(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[1] = {9}, gts[1] = {1};
    const int32_t pre[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    const int32_t expect[9] = {0, -1, -1, -1, -1, -1, -1, 0, -1};
    hand h;
    test_outputs t;
    aa_paa_params p;
    aa_paa_params_init(&p);
    hand_init(&h, levels, 1, gts, 1);
    hand_select(ctx, &p, &h, pre, wide_costs, &t);
    expect_outputs(&h, &t, pre, wide_costs, expect);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

static void wide_component_original(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int64_t levels[1] = {9}, gts[1] = {1};
    const int32_t pre[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    const int32_t expect[9] = {0, 0, 0, 0, 0, 0, 0, 0, -1};
    hand h;
    test_outputs t;
    aa_paa_params p;
    aa_paa_params_init_original(&p);
    hand_init(&h, levels, 1, gts, 1);
    hand_select(ctx, &p, &h, pre, wide_costs, &t);
    expect_outputs(&h, &t, pre, wide_costs, expect);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- the cost */

/* The cost from its definition, in double: sigmoid focal loss summed over classes,
 * written with log(p) and log(1 - p) (the library uses the log1p form of
 * binary_cross_entropy_with_logits), plus weight x (1 - GIoU) of the box decoded as
 * delta2bbox: centre + size x std x delta, size x exp(std x delta). */
static double cost_by_hand(const aa_paa_params *p, const float *anchor, const float *logits,
                           int32_t num_classes, const float *d, const float *gt, int32_t label)
{
    double cls = 0.0, alpha = p->focal_alpha, gamma = p->focal_gamma;
    for (int32_t c = 0; c < num_classes; ++c) {
        double prob = 1.0 / (1.0 + exp(-(double)logits[c]));
        cls += c == label ? -log(prob) * alpha * pow(1.0 - prob, gamma)
                          : -log(1.0 - prob) * (1.0 - alpha) * pow(prob, gamma);
    }
    double w = (double)anchor[2] - anchor[0], h = (double)anchor[3] - anchor[1];
    double cx = (anchor[0] + (double)anchor[2]) / 2 + w * (double)p->target_stds[0] * d[0];
    double cy = (anchor[1] + (double)anchor[3]) / 2 + h * (double)p->target_stds[1] * d[1];
    double pw = w * exp((double)p->target_stds[2] * d[2]), ph = h * exp((double)p->target_stds[3] * d[3]);
    double box[4] = {cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2};
    double iw = fmax(0.0, fmin(box[2], gt[2]) - fmax(box[0], gt[0]));
    double ih = fmax(0.0, fmin(box[3], gt[3]) - fmax(box[1], gt[1]));
    double inter = iw * ih, uni = pw * ph + ((double)gt[2] - gt[0]) * ((double)gt[3] - gt[1]) - inter;
    double enclose = (fmax(box[2], gt[2]) - fmin(box[0], gt[0])) *
                     (fmax(box[3], gt[3]) - fmin(box[1], gt[1]));
    double giou = inter / uni - (enclose - uni) / enclose;
    return cls + (double)p->giou_weight * (1.0 - giou);
}

/* Two anchors pre-assigned to two GTs (anchor 1's box leaves its GT, so the GIoU is
 * negative), a third not pre-assigned whose head outputs are NaN (not read): the
 * defaults, the original ones, and unusual alpha / gamma / weight / stds. */
static void cost_formula(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float boxes[12] = {0, 0, 32, 32, 100, 50, 164, 114, 10, 10, 20, 20};
    const float gt_boxes[8] = {4, 2, 36, 30, 150, 100, 230, 160};
    const float logits[9] = {-2.0f, 1.5f, 0.25f, 0.75f, -1.25f, 3.0f, NAN, NAN, NAN};
    const float deltas[12] = {0.5f, -0.25f, 0.1f, -0.2f, -1.0f, 0.5f, -0.3f, 0.4f, NAN, NAN, NAN, NAN};
    const int64_t offsets[2] = {0, 2};
    const int32_t labels[2] = {1, 2}, pre[3] = {0, 1, AA_NEGATIVE};
    int64_t count;
    float stride;
    aa_anchors a = test_anchors_1level(boxes, 3, &count, &stride);
    aa_gts g = {gt_boxes, offsets, 1, NULL, labels, NULL};
    aa_head_outputs head = {logits, deltas, AA_FLOAT32, 3};
    float *costs = test_guarded_alloc(3, sizeof(float));
    for (int variant = 0; variant < 3; ++variant) {
        aa_paa_params p;
        params_for(&p, variant == 1);
        if (variant == 2) {
            p.focal_alpha = 0.6f, p.focal_gamma = 1.5f, p.giou_weight = 2.5f;
            p.target_stds[0] = 0.3f, p.target_stds[3] = 0.05f;
        }
        test_guarded_poison(costs);
        test_ok(ctx, aa_paa_costs(ctx, &p, &a, &g, &head, pre, costs), "aa_paa_costs");
        test_guarded_check(costs);
        for (int k = 0; k < 2; ++k) {
            double want = cost_by_hand(&p, boxes + 4 * k, logits + 3 * k, 3, deltas + 4 * k,
                                       gt_boxes + 4 * k, labels[k]);
            double ulp = nextafterf(costs[k], INFINITY) - costs[k];
            if (!(fabs(costs[k] - want) <= ulp))
                fail_msg("variant %d anchor %d: cost %.9g, by hand %.17g", variant, k,
                         (double)costs[k], want);
        }
        assert_true(isinf(costs[2]) && costs[2] > 0);
    }
    test_guarded_free(costs);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- float16 / bfloat16 */

/* Values every type holds exactly (k/8, k/16, two float16 subnormals) give the same
 * costs, to the bit, and the same assignment, in float32, float16 and bfloat16. */
static void half_types(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    for (int round = 0; round < 20; ++round) {
        paa_batch b;
        paa_batch_random(&b);
        size_t rows = (size_t)b.num_images * (size_t)b.num_anchors, nl = rows * (size_t)b.num_classes;
        for (size_t j = 0; j < nl; ++j) b.logits[j] = (float)test_int(-64, 64) / 8.0f;
        for (size_t j = 0; j < rows * 4; ++j)
            b.deltas[j] = j % 17 == 3 ? ldexpf(1.0f, -20) : j % 17 == 5 ? -3.0f * ldexpf(1.0f, -24)
                                                                       : (float)test_int(-40, 40) / 16.0f;
        uint16_t *h16[2] = {malloc(nl * 2), malloc(rows * 8)};
        uint16_t *b16[2] = {malloc(nl * 2), malloc(rows * 8)};
        for (size_t j = 0; j < nl; ++j)
            h16[0][j] = exact_half(b.logits[j]), b16[0][j] = exact_bfloat(b.logits[j]);
        for (size_t j = 0; j < rows * 4; ++j)
            h16[1][j] = exact_half(b.deltas[j]), b16[1][j] = exact_bfloat(b.deltas[j]);
        aa_head_outputs heads[3] = {b.head, {h16[0], h16[1], AA_FLOAT16, b.num_classes},
                                    {b16[0], b16[1], AA_BFLOAT16, b.num_classes}};
        int32_t *pre = malloc(rows * sizeof(int32_t));
        float *costs[3];
        test_outputs out[3];
        aa_paa_params p;
        aa_paa_params_init(&p);
        aa_assignment pre_out = {pre, NULL, NULL};
        test_ok(ctx, aa_assign_max_iou(ctx, &p.pre, &b.anchors, &b.gts, &pre_out, NULL, 0), "pre");
        for (int t = 0; t < 3; ++t) {
            costs[t] = test_guarded_alloc(rows, sizeof(float));
            test_ok(ctx, aa_paa_costs(ctx, &p, &b.anchors, &b.gts, &heads[t], pre, costs[t]), "costs");
            test_outputs_alloc(&out[t], b.num_images, b.num_anchors, 1);
            test_ok(ctx, aa_assign_paa(ctx, &p, &b.anchors, &b.gts, &heads[t], &out[t].out, NULL, 0),
                   "aa_assign_paa");
            test_outputs_check_written(&out[t]);
        }
        for (int t = 1; t < 3; ++t) {
            assert_memory_equal(costs[0], costs[t], rows * sizeof(float));
            assert_memory_equal(out[0].gt_index, out[t].gt_index, rows * sizeof(int32_t));
            assert_memory_equal(out[0].overlap, out[t].overlap, rows * sizeof(float));
            assert_memory_equal(out[0].labels, out[t].labels, rows * sizeof(int32_t));
        }
        for (int t = 0; t < 3; ++t) test_guarded_free(costs[t]), test_outputs_free(&out[t]);
        free(pre), free(h16[0]), free(h16[1]), free(b16[0]), free(b16[1]);
        head_batch_free(&b);
    }
    aa_context_destroy(ctx);
}

/* The parameter sets themselves (mmdetection's PAAHead config; the original code). */
static void defaults(void **state)
{
    (void)state;
    aa_paa_params p, o;
    aa_paa_params_init(&p);
    aa_paa_params_init_original(&o);
    assert_int_equal(p.struct_size, sizeof p);
    assert_true(p.pre.pos_iou_thr == 0.1f && p.pre.neg_iou_thr_lo == 0.0f);
    assert_true(p.pre.neg_iou_thr_hi == 0.1f);
    assert_true(p.pre.min_pos_iou == 0.0f && p.pre.match_low_quality && p.pre.gt_max_assign_all);
    assert_true(p.pre.ignore_iof_thr < 0.0f);
    assert_int_equal(p.gmm.num_components, 2);
    assert_int_equal(p.gmm.covariance, AA_GMM_DIAG);
    assert_int_equal(p.gmm.init, AA_GMM_INIT_PAA);
    assert_int_equal(p.gmm.max_iter, 100);
    assert_true(p.gmm.tol == 1e-3 && p.gmm.reg_covar == 1e-6);
    assert_int_equal(p.topk, 9);
    assert_int_equal(p.single_candidate_positive, 0);
    assert_true(p.focal_alpha == 0.25f && p.focal_gamma == 2.0f && p.giou_weight == 1.3f);
    assert_true(p.giou_eps == 1e-6f && p.wh_ratio_clip == 16.0f / 1000.0f);
    for (int c = 0; c < 4; ++c) assert_true(p.target_means[c] == 0.0f);
    assert_true(p.target_stds[0] == 0.1f && p.target_stds[1] == 0.1f);
    assert_true(p.target_stds[2] == 0.2f && p.target_stds[3] == 0.2f);
    assert_int_equal(o.gmm.covariance, AA_GMM_FULL);
    assert_int_equal(o.single_candidate_positive, 1);
    assert_true(o.giou_weight == 1.0f && o.topk == 9 && o.pre.pos_iou_thr == 0.1f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(two_clusters),
        cmocka_unit_test(candidate_counts),
        cmocka_unit_test(topk_per_level),
        cmocka_unit_test(topk_tie_lower_index),
        cmocka_unit_test(equal_costs),
        cmocka_unit_test(float32_data),
        cmocka_unit_test(wide_component_mmdet),
        cmocka_unit_test(wide_component_original),
        cmocka_unit_test(cost_formula),
        cmocka_unit_test(half_types),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
