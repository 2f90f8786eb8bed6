/* test_lada.c - LADA on inputs small enough to check by hand: which anchors the
 * GT-shaped region admits (a tall and a wide GT, boundaries, clipping), the loss of
 * one anchor against the formulas evaluated here, the mean and mean + std thresholds
 * on exactly representable losses, strictly-below (one candidate, equal losses), the
 * per-level and overall top-k, two GTs claiming anchors (lowest loss, lower index on
 * ties), crowd and zero-size GTs, images without GTs, and float16 / bfloat16 heads.
 * Random and COCO inputs against a brute force: test_lada_rule.c; bad inputs:
 * test_lada_bad_input.c. */
#include "lada_common.h"
#include "half_bits.h"

#include <float.h>

/* One image of point anchors (zero-size boxes: the centre is the point) on up to two
 * levels (strides 8 and 16), two classes, GT k has label k % 2; every logit 0 and
 * every delta 0 unless a test sets them. */
enum { MAX_A = 32, MAX_G = 4, C = 2 };
typedef struct hand {
    int64_t num_anchors, level_counts[2], offsets[3];
    int32_t num_levels, num_images;
    float boxes[MAX_A * 4], gt_boxes[MAX_G * 4], strides[2];
    float logits[2 * MAX_A * C], deltas[2 * MAX_A * 4];
    int32_t labels[MAX_G];
    uint8_t crowd[MAX_G];
    aa_anchors a;
    aa_gts g;
    aa_head_outputs h;
} hand;

static void hand_init(hand *h)
{
    memset(h, 0, sizeof *h);
    h->num_levels = 1, h->num_images = 1;
    h->strides[0] = 8.0f, h->strides[1] = 16.0f;
}

static void add_point(hand *h, int level, float x, float y)
{
    float *b = h->boxes + 4 * h->num_anchors++;
    b[0] = b[2] = x, b[1] = b[3] = y;
    h->level_counts[level]++;
    if (level + 1 > h->num_levels) h->num_levels = level + 1;
}

static void add_gt(hand *h, float x1, float y1, float x2, float y2)
{
    int64_t k = h->offsets[h->num_images]++;
    float *b = h->gt_boxes + 4 * k;
    b[0] = x1, b[1] = y1, b[2] = x2, b[3] = y2;
    h->labels[k] = (int32_t)(k % 2);
}

/* Makes the views; call after the anchors and GTs are added. */
static void hand_finish(hand *h)
{
    aa_anchors a = {h->boxes, h->num_anchors, h->num_levels, h->level_counts, h->strides};
    aa_gts g = {h->gt_boxes, h->offsets, h->num_images, h->crowd, h->labels, NULL};
    aa_head_outputs hd = {h->logits, h->deltas, AA_FLOAT32, C};
    h->a = a, h->g = g, h->h = hd;
}

/* Runs LADA (outputs poisoned, checked written), checks gt_index against `expect`
 * (-1 where not listed), overlap +inf for negatives, labels; and the brute force. */
static void run_expect(aa_context *ctx, const aa_lada_params *p, hand *h, const int32_t *expect,
                       test_outputs *t)
{
    hand_finish(h);
    test_outputs_alloc(t, h->num_images, h->num_anchors, 1);
    test_ok(ctx, aa_assign_lada(ctx, p, &h->a, &h->g, &h->h, &t->out, NULL, 0), "aa_assign_lada");
    test_outputs_check_written(t);
    for (int64_t k = 0; k < t->n; ++k) {
        if (t->gt_index[k] != expect[k])
            fail_msg("anchor row %lld: gt_index %d, expected %d", (long long)k, (int)t->gt_index[k],
                     (int)expect[k]);
        if (expect[k] < 0) assert_true(isinf(t->overlap[k]) && t->overlap[k] > 0);
        else assert_true(isfinite(t->overlap[k]));
        assert_int_equal(t->labels[k], expect[k] >= 0 ? h->labels[h->offsets[k / h->num_anchors] + expect[k]] : -1);
    }
    lada_check_rule(p, &h->a, &h->g, h->logits, h->deltas, C, &t->out);
}

/* ---------------------------------------------------------------- the region */

/* Loss = classification only. Every probe point gets a confident correct logit (+8:
 * a low loss L); a sentinel at the GT centre a confidently wrong one (-8: H > L). So
 * the candidates are the sentinel and the in-region probes, the threshold lies
 * between L and H, and the positives are exactly the in-region probes. */
static void region_params(aa_lada_params *p)
{
    aa_lada_params_init(p);
    p->giou_weight = 0.0f, p->center_weight = 0.0f;
    p->topk_per_level = p->topk = 64;
}

/* Probes around a GT centred at (100, 100): along the long side and the short side.
 * tall (w 16, h 64): r s = 12, half-width 12 sqrt(1/4) = 6, half-height 12 x 2 = 24;
 * wide: the same transposed. FCOS's square (half 12, clipped to the GT) would admit
 * the short-side probes at 7 too: the shape decides. */
static void region_tall_and_wide(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    /* offsets along the short axis, then the long axis; in: strictly inside */
    const float along_short[5] = {5, -5, 7, -7, 6}, along_long[5] = {23, -23, 25, -25, 24};
    const int in_short[5] = {1, 1, 0, 0, 0}, in_long[5] = {1, 1, 0, 0, 0}; /* 6, 24: boundary, out */
    for (int wide = 0; wide <= 1; ++wide) {
        hand h;
        test_outputs t;
        aa_lada_params p;
        int32_t expect[MAX_A];
        region_params(&p);
        hand_init(&h);
        if (wide) add_gt(&h, 68, 92, 132, 108);
        else add_gt(&h, 92, 68, 108, 132);
        add_point(&h, 0, 100, 100); /* the sentinel */
        h.logits[0] = -8.0f, h.logits[1] = 8.0f;
        expect[0] = AA_NEGATIVE;
        for (int k = 0; k < 10; ++k) {
            int on_short = k < 5;
            float d = on_short ? along_short[k] : along_long[k - 5];
            /* the short axis is x for the tall GT, y for the wide one */
            int dx_axis = on_short != wide;
            add_point(&h, 0, dx_axis ? 100 + d : 100, dx_axis ? 100 : 100 + d);
            int64_t a = h.num_anchors - 1;
            h.logits[a * C] = 8.0f, h.logits[a * C + 1] = -8.0f;
            expect[a] = (on_short ? in_short[k] : in_long[k - 5]) ? 0 : AA_NEGATIVE;
        }
        run_expect(ctx, &p, &h, expect, &t);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* Radius 3 on the tall GT (92,68)-(108,132): half-width 12, half-height 48. Clipped
 * to the GT: x in (92, 108), y in (68, 132); unclipped: x in (88, 112), y in (52, 148)
 * admits points outside the GT too. */
static void region_clip(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[8][2] = {{107, 100}, {93, 100}, {110, 100}, {100, 140}, {111.5f, 130},
                             {112, 100}, {100, 131}, {92, 100}};
    const int in_clipped[8] = {1, 1, 0, 0, 0, 0, 1, 0}, in_unclipped[8] = {1, 1, 1, 1, 1, 0, 1, 1};
    for (int clip = 0; clip <= 1; ++clip) {
        hand h;
        test_outputs t;
        aa_lada_params p;
        int32_t expect[MAX_A];
        region_params(&p);
        p.region_radius = 3.0f, p.clip_region_to_gt = clip;
        hand_init(&h);
        add_gt(&h, 92, 68, 108, 132);
        add_point(&h, 0, 100, 100);
        h.logits[0] = -8.0f, h.logits[1] = 8.0f;
        expect[0] = AA_NEGATIVE;
        for (int k = 0; k < 8; ++k) {
            add_point(&h, 0, pts[k][0], pts[k][1]);
            h.logits[(k + 1) * C] = 8.0f, h.logits[(k + 1) * C + 1] = -8.0f;
            expect[k + 1] = (clip ? in_clipped[k] : in_unclipped[k]) ? 0 : AA_NEGATIVE;
        }
        run_expect(ctx, &p, &h, expect, &t);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* The region scales with the level's stride: with radius 1 on a square GT (half 32),
 * a point 10 px from the centre is out on the stride-8 level (half-side 8) and in on
 * the stride-16 level (half-side 16). */
static void region_per_level(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    hand h;
    test_outputs t;
    aa_lada_params p;
    region_params(&p);
    p.region_radius = 1.0f;
    hand_init(&h);
    add_gt(&h, 68, 68, 132, 132);
    add_point(&h, 0, 100, 100), add_point(&h, 0, 110, 100);
    add_point(&h, 1, 100, 100), add_point(&h, 1, 110, 100);
    for (int a = 0; a < 4; ++a) h.logits[a * C] = a % 2 ? 8.0f : -8.0f;
    const int32_t expect[4] = {-1, -1, -1, 0};
    run_expect(ctx, &p, &h, expect, &t);
    test_outputs_free(&t);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- the loss */

/* The loss from its definition, in double: focal loss written with log(p) and
 * log(1 - p) (the library uses the log1p form of BCE with logits), GIoU loss of the
 * box decoded as centre + size x std x delta, size x exp(std x delta), and the centre
 * deviation sqrt((dx^2 + dy^2) / 2) with dx = (ax - gx) / (w / 2). */
static double loss_by_hand(const aa_lada_params *p, const float *anchor, const float *logits,
                           const float *d, const float *gt, int32_t label)
{
    double cls = 0.0, alpha = p->focal_alpha, gamma = p->focal_gamma;
    for (int32_t c = 0; c < C; ++c) {
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
    double gw = (double)gt[2] - gt[0], gh = (double)gt[3] - gt[1];
    double inter = iw * ih, uni = pw * ph + gw * gh - inter;
    double enclose = (fmax(box[2], gt[2]) - fmin(box[0], gt[0])) * (fmax(box[3], gt[3]) - fmin(box[1], gt[1]));
    double giou = inter / uni - (enclose - uni) / enclose;
    double dx = ((anchor[0] + (double)anchor[2]) / 2 - (gt[0] + (double)gt[2]) / 2) / (gw / 2);
    double dy = ((anchor[1] + (double)anchor[3]) / 2 - (gt[1] + (double)gt[3]) / 2) / (gh / 2);
    return p->cls_weight * cls + p->giou_weight * (1.0 - giou) + p->center_weight * sqrt((dx * dx + dy * dy) / 2);
}

/* GT (40,20)-(100,60), label 1, centre (70,40); two real anchors in its region
 * (half-width 12 sqrt(1.5) = 14.7, half-height 12 sqrt(2/3) = 9.8), the first with a
 * confident right class: it is the lower of two candidates, hence positive, and its
 * overlap output is its loss, which must match the formula within one float ulp. The
 * defaults, other weights / focal / stds, and mean + std. */
static void loss_formula(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float boxes[8] = {60, 30, 84, 50, 62, 36, 78, 52};
    const float logits[4] = {-1.5f, 2.5f, 1.0f, -2.0f};
    const float deltas[8] = {0.5f, -0.25f, 0.1f, -0.2f, -0.3f, 0.2f, 0.4f, 0.1f};
    const float gt_box[4] = {40, 20, 100, 60};
    for (int variant = 0; variant < 3; ++variant) {
        hand h;
        test_outputs t;
        aa_lada_params p;
        aa_lada_params_init(&p);
        if (variant == 1) {
            p.cls_weight = 0.7f, p.giou_weight = 2.5f, p.center_weight = 3.0f;
            p.focal_alpha = 0.6f, p.focal_gamma = 1.5f, p.target_stds[0] = 0.3f, p.target_stds[3] = 0.05f;
        }
        if (variant == 2) p.threshold = AA_LADA_MEAN_STD;
        hand_init(&h);
        memcpy(h.boxes, boxes, sizeof boxes);
        h.num_anchors = h.level_counts[0] = 2;
        memcpy(h.logits, logits, sizeof logits), memcpy(h.deltas, deltas, sizeof deltas);
        add_gt(&h, 0, 0, 1, 1), add_gt(&h, gt_box[0], gt_box[1], gt_box[2], gt_box[3]);
        h.crowd[0] = 1; /* GT 0 is a crowd box elsewhere: GT 1 (label 1) is the one */
        double want[2];
        for (int k = 0; k < 2; ++k)
            want[k] = loss_by_hand(&p, boxes + 4 * k, logits + C * k, deltas + 4 * k, gt_box, 1);
        assert_true(want[0] < want[1]);
        /* the mean of two lies between them; mean + std = mean + |a - b| / sqrt(2)
         * lies above both */
        const int32_t lower[2] = {1, AA_NEGATIVE}, both[2] = {1, 1};
        run_expect(ctx, &p, &h, variant == 2 ? both : lower, &t);
        double ulp = nextafterf(t.overlap[0], INFINITY) - t.overlap[0];
        if (!(fabs(t.overlap[0] - want[0]) <= ulp))
            fail_msg("variant %d: loss %.9g, by hand %.17g", variant, (double)t.overlap[0], want[0]);
        test_outputs_free(&t);
    }
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- threshold, top-k */

/* Deviation-only losses that are exact: on a square GT (68,68)-(132,132) (w = h = 64,
 * centre 100) a point at (100 + t, 100 + t) has dx = dy = t / 32 and loss t / 32. */
static void square_params(aa_lada_params *p)
{
    aa_lada_params_init(p);
    p->cls_weight = 0.0f, p->giou_weight = 0.0f, p->center_weight = 1.0f;
    p->region_radius = 3.0f; /* half 24 at stride 8 (48 at 16), clipped to the GT's 32 */
}

static void add_diagonal(hand *h, int level, float t) { add_point(h, level, 100 + t, 100 + t); }

/* Losses 1/4, 0, 1/2, 1/16, 1/8 (anchors 0..4): mean 0.1875, positives 0, 1/16, 1/8;
 * unbiased std sqrt(0.15625 / 4) = 0.19764, so mean + std = 0.38514 also takes 1/4. */
static void mean_and_mean_std(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float t[5] = {8, 0, 16, 2, 4};
    const float loss[5] = {0.25f, 0.0f, 0.5f, 0.0625f, 0.125f};
    const int32_t mean[5] = {-1, 0, -1, 0, 0}, mean_std[5] = {0, 0, -1, 0, 0};
    for (int with_std = 0; with_std <= 1; ++with_std) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        p.threshold = with_std ? AA_LADA_MEAN_STD : AA_LADA_MEAN;
        hand_init(&h);
        add_gt(&h, 68, 68, 132, 132);
        for (int k = 0; k < 5; ++k) add_diagonal(&h, 0, t[k]);
        run_expect(ctx, &p, &h, with_std ? mean_std : mean, &out);
        for (int k = 0; k < 5; ++k)
            if (out.gt_index[k] >= 0) assert_true(out.overlap[k] == loss[k]);
        test_outputs_free(&out);
    }
    aa_context_destroy(ctx);
}

/* Per level and overall top-k. Level 0 (stride 8): t = 0, 2, 4; level 1 (stride 16):
 * t = 8, 16. topk_per_level 2: candidates 0, 1/16 | 1/4, 1/2: mean 0.203125,
 * positives t = 0, 2 (t = 4, though lower than level 1's, is not a candidate).
 * topk 3 of those: 0, 1/16, 1/4, mean 0.104: the same. topk 2: 0, 1/16, mean 1/32:
 * t = 0 only. topk_per_level 1, topk 2: 0 and 1/4, mean 1/8: t = 0 only. With the
 * defaults (9, 20) all five: mean 0.1875: t = 0, 2, 4. */
static void topk_levels(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const int32_t per_level[5] = {2, 2, 2, 1, 9}, overall[5] = {20, 3, 2, 2, 20};
    const int32_t expect[5][5] = {{0, 0, -1, -1, -1}, {0, 0, -1, -1, -1}, {0, -1, -1, -1, -1},
                                  {0, -1, -1, -1, -1}, {0, 0, 0, -1, -1}};
    for (int c = 0; c < 5; ++c) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        p.topk_per_level = per_level[c], p.topk = overall[c];
        hand_init(&h);
        add_gt(&h, 68, 68, 132, 132);
        add_diagonal(&h, 0, 0), add_diagonal(&h, 0, 2), add_diagonal(&h, 0, 4);
        add_diagonal(&h, 1, 8), add_diagonal(&h, 1, 16);
        run_expect(ctx, &p, &h, expect[c], &out);
        test_outputs_free(&out);
    }
    aa_context_destroy(ctx);
}

/* Strictly below: topk 3 of losses 0, 1/16, 1/8 gives mean 1/16, and 1/16 is not
 * positive; a GT with one candidate gets none (its loss is the mean; std 0 with
 * mean + std); four symmetric points (equal losses, the defaults) get none. */
static void strictly_below(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    for (int with_std = 0; with_std <= 1; ++with_std) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        p.threshold = with_std ? AA_LADA_MEAN_STD : AA_LADA_MEAN;
        /* mean exactly hit */
        if (!with_std) {
            p.topk = 3;
            hand_init(&h);
            add_gt(&h, 68, 68, 132, 132);
            add_diagonal(&h, 0, 4), add_diagonal(&h, 0, 2), add_diagonal(&h, 0, 0), add_diagonal(&h, 0, 8);
            const int32_t exact[4] = {-1, -1, 0, -1};
            run_expect(ctx, &p, &h, exact, &out);
            test_outputs_free(&out);
            p.topk = 20;
        }
        /* one candidate: a point in the region, another outside (t = 30 > 24) */
        hand_init(&h);
        add_gt(&h, 68, 68, 132, 132);
        add_diagonal(&h, 0, 2), add_diagonal(&h, 0, 30);
        const int32_t none2[2] = {-1, -1};
        run_expect(ctx, &p, &h, none2, &out);
        test_outputs_free(&out);
        /* equal losses under the default weights: four symmetric points, equal logits */
        aa_lada_params_init(&p);
        p.threshold = with_std ? AA_LADA_MEAN_STD : AA_LADA_MEAN;
        hand_init(&h);
        add_gt(&h, 68, 68, 132, 132);
        add_point(&h, 0, 104, 104), add_point(&h, 0, 96, 104), add_point(&h, 0, 104, 96),
            add_point(&h, 0, 96, 96);
        for (int k = 0; k < 4 * C; ++k) h.logits[k] = k % 2 ? -1.0f : 0.5f;
        const int32_t none4[4] = {-1, -1, -1, -1};
        run_expect(ctx, &p, &h, none4, &out);
        test_outputs_free(&out);
    }
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- several GTs */

/* GT A (68,68)-(132,132) centre 100, GT B (76,76)-(140,140) centre 108; points on the
 * diagonal at t = 100, 104, 106, 108, 120, 88 (deviation-only losses):
 *   A: 0, 1/8, 3/16, 1/4, 5/8, 3/8     mean 0.2604: 100, 104, 106, 108 positive
 *   B: 1/4, 1/8, 1/16, 0, 3/8, 5/8     mean 0.2396: 104, 106, 108 positive
 * 104 ties (1/8 each): the lower GT index; 106 and 108 go to B (lower loss). With the
 * GTs in the other order, the tie goes to the other GT: the index decides, not the box. */
static void two_gts_claim(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[6] = {100, 104, 106, 108, 120, 88};
    const float loss_a[6] = {0, 0.125f, 0.1875f, 0.25f, 0.625f, 0.375f};
    const float loss_b[6] = {0.25f, 0.125f, 0.0625f, 0, 0.375f, 0.625f};
    for (int swap = 0; swap <= 1; ++swap) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        hand_init(&h);
        int ia = swap, ib = 1 - swap; /* GT indices of A and B */
        if (!swap) add_gt(&h, 68, 68, 132, 132), add_gt(&h, 76, 76, 140, 140);
        else add_gt(&h, 76, 76, 140, 140), add_gt(&h, 68, 68, 132, 132);
        for (int k = 0; k < 6; ++k) add_point(&h, 0, pts[k], pts[k]);
        const int32_t expect[6] = {ia, 0, ib, ib, -1, -1};
        run_expect(ctx, &p, &h, expect, &out);
        for (int k = 0; k < 4; ++k)
            assert_true(out.overlap[k] == (out.gt_index[k] == ia ? loss_a[k] : loss_b[k]));
        test_outputs_free(&out);
    }
    aa_context_destroy(ctx);
}

/* Two identical GTs (same box, same label): every positive of the second is one of
 * the first with the same loss, and goes to the first. */
static void duplicate_gts(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    hand h;
    test_outputs out;
    aa_lada_params p;
    square_params(&p);
    hand_init(&h);
    add_gt(&h, 68, 68, 132, 132), add_gt(&h, 68, 68, 132, 132);
    h.labels[1] = h.labels[0];
    const float t[5] = {8, 0, 16, 2, 4};
    for (int k = 0; k < 5; ++k) add_diagonal(&h, 0, t[k]);
    const int32_t expect[5] = {-1, 0, -1, 0, 0};
    run_expect(ctx, &p, &h, expect, &out);
    test_outputs_free(&out);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- crowd, empty */

/* The two-GT layout of two_gts_claim with one GT a crowd box: the other GT gets its
 * own positives as if alone; both crowd: nothing. */
static void crowd_gts(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float pts[6] = {100, 104, 106, 108, 120, 88};
    const int32_t expect[3][6] = {{-1, 1, 1, 1, -1, -1}, /* A crowd: B's own */
                                  {0, 0, 0, 0, -1, -1},  /* B crowd: A's own */
                                  {-1, -1, -1, -1, -1, -1}};
    for (int c = 0; c < 3; ++c) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        hand_init(&h);
        add_gt(&h, 68, 68, 132, 132), add_gt(&h, 76, 76, 140, 140);
        h.crowd[0] = c != 1, h.crowd[1] = c != 0;
        for (int k = 0; k < 6; ++k) add_point(&h, 0, pts[k], pts[k]);
        run_expect(ctx, &p, &h, expect[c], &out);
        test_outputs_free(&out);
    }
    aa_context_destroy(ctx);
}

/* GTs of zero width and of zero height over the points have no region: nothing; a
 * zero-size GT beside a normal one leaves the normal one's result as it was. */
static void zero_size_gts(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    const float t[5] = {8, 0, 16, 2, 4};
    for (int c = 0; c < 3; ++c) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        hand_init(&h);
        add_gt(&h, 100, 68, 100, 132); /* zero width  */
        add_gt(&h, 68, 100, 132, 100); /* zero height */
        if (c == 2) add_gt(&h, 68, 68, 132, 132);
        if (c == 1) p.clip_region_to_gt = 0;
        for (int k = 0; k < 5; ++k) add_diagonal(&h, 0, t[k]);
        const int32_t none[5] = {-1, -1, -1, -1, -1}, third[5] = {-1, 2, -1, 2, 2};
        run_expect(ctx, &p, &h, c == 2 ? third : none, &out);
        test_outputs_free(&out);
    }
    aa_context_destroy(ctx);
}

/* No GTs at all (two images), and an image without GTs beside one with: negatives,
 * +inf overlaps, labels -1; gts.labels may be NULL when there are no GTs. */
static void no_gts(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    for (int c = 0; c < 2; ++c) {
        hand h;
        test_outputs out;
        aa_lada_params p;
        square_params(&p);
        hand_init(&h);
        h.num_images = 2;
        for (int k = 0; k < 5; ++k) add_diagonal(&h, 0, (float)k);
        if (c == 1) { /* image 1 holds one GT */
            h.offsets[1] = 0, h.offsets[2] = 1;
            float *b = h.gt_boxes;
            b[0] = b[1] = 68, b[2] = b[3] = 132;
        }
        int32_t expect[10];
        for (int k = 0; k < 10; ++k) expect[k] = -1;
        if (c == 1) expect[5] = expect[6] = 0; /* losses 0, 1/32, 1/16, 3/32, 1/8: mean 1/16 */
        run_expect(ctx, &p, &h, expect, &out);
        test_outputs_free(&out);
    }
    /* gts.labels NULL with no GT, no labels output */
    hand h;
    hand_init(&h);
    add_point(&h, 0, 1, 1);
    hand_finish(&h);
    h.g.labels = NULL;
    test_outputs out;
    test_outputs_alloc(&out, 1, 1, 0);
    test_ok(ctx, aa_assign_lada(ctx, NULL, &h.a, &h.g, &h.h, &out.out, NULL, 0), "no GTs, no labels");
    test_outputs_check_written(&out);
    assert_int_equal(out.gt_index[0], AA_NEGATIVE);
    test_outputs_free(&out);
    aa_context_destroy(ctx);
}

/* ---------------------------------------------------------------- float16 / bfloat16 */

/* Values every type holds exactly (k/8, k/16, float16 subnormals) give the same
 * assignment, to the bit, in float32, float16 and bfloat16. */
static void half_types(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    for (int round = 0; round < 20; ++round) {
        lada_batch b;
        lada_batch_random(&b);
        size_t rows = (size_t)b.num_images * (size_t)b.num_anchors, nl = rows * (size_t)b.num_classes;
        for (size_t j = 0; j < nl; ++j) b.logits[j] = (float)test_int(-64, 64) / 8.0f;
        for (size_t j = 0; j < rows * 4; ++j)
            b.deltas[j] = j % 17 == 3 ? ldexpf(1.0f, -20) : j % 17 == 5 ? -3.0f * ldexpf(1.0f, -24)
                                                                       : (float)test_int(-40, 40) / 16.0f;
        uint16_t *h16[2] = {malloc(nl * 2 + 2), malloc(rows * 8 + 2)};
        uint16_t *b16[2] = {malloc(nl * 2 + 2), malloc(rows * 8 + 2)};
        for (size_t j = 0; j < nl; ++j) h16[0][j] = exact_half(b.logits[j]), b16[0][j] = exact_bfloat(b.logits[j]);
        for (size_t j = 0; j < rows * 4; ++j)
            h16[1][j] = exact_half(b.deltas[j]), b16[1][j] = exact_bfloat(b.deltas[j]);
        aa_head_outputs heads[3] = {b.head, {h16[0], h16[1], AA_FLOAT16, b.num_classes},
                                    {b16[0], b16[1], AA_BFLOAT16, b.num_classes}};
        test_outputs out[3];
        aa_lada_params p;
        lada_params_random(&p);
        for (int t = 0; t < 3; ++t) {
            test_outputs_alloc(&out[t], b.num_images, b.num_anchors, 1);
            test_ok(ctx, aa_assign_lada(ctx, &p, &b.anchors, &b.gts, &heads[t], &out[t].out, NULL, 0),
                    "aa_assign_lada");
            test_outputs_check_written(&out[t]);
        }
        for (int t = 1; t < 3; ++t) {
            assert_memory_equal(out[0].gt_index, out[t].gt_index, rows * sizeof(int32_t));
            assert_memory_equal(out[0].overlap, out[t].overlap, rows * sizeof(float));
            assert_memory_equal(out[0].labels, out[t].labels, rows * sizeof(int32_t));
        }
        for (int t = 0; t < 3; ++t) test_outputs_free(&out[t]);
        free(h16[0]), free(h16[1]), free(b16[0]), free(b16[1]);
        head_batch_free(&b);
    }
    aa_context_destroy(ctx);
}

/* The defaults (the issue's), and NULL params meaning them. */
static void defaults(void **state)
{
    (void)state;
    aa_lada_params p;
    aa_lada_params_init(&p);
    assert_int_equal(p.struct_size, sizeof p);
    assert_true(p.region_radius == 1.5f && p.clip_region_to_gt == 1);
    assert_int_equal(p.topk_per_level, 9);
    assert_int_equal(p.topk, 20);
    assert_int_equal(p.threshold, AA_LADA_MEAN);
    assert_true(p.cls_weight == 1.0f && p.giou_weight == 1.5f && p.center_weight == 1.0f);
    assert_true(p.focal_alpha == 0.25f && p.focal_gamma == 2.0f && p.giou_eps == 1e-6f);
    assert_true(p.wh_ratio_clip == 16.0f / 1000.0f);
    for (int c = 0; c < 4; ++c) assert_true(p.target_means[c] == 0.0f);
    assert_true(p.target_stds[0] == 0.1f && p.target_stds[1] == 0.1f);
    assert_true(p.target_stds[2] == 0.2f && p.target_stds[3] == 0.2f);
    aa_lada_params_init(NULL); /* a no-op */

    aa_context *ctx = test_cpu_context();
    for (int round = 0; round < 10; ++round) {
        lada_batch b;
        lada_batch_random(&b);
        test_outputs x, y;
        test_outputs_alloc(&x, b.num_images, b.num_anchors, 1);
        test_outputs_alloc(&y, b.num_images, b.num_anchors, 1);
        test_ok(ctx, aa_assign_lada(ctx, &p, &b.anchors, &b.gts, &b.head, &x.out, NULL, 0), "init");
        test_ok(ctx, aa_assign_lada(ctx, NULL, &b.anchors, &b.gts, &b.head, &y.out, NULL, 0), "NULL");
        assert_memory_equal(x.gt_index, y.gt_index, (size_t)x.n * sizeof(int32_t));
        assert_memory_equal(x.overlap, y.overlap, (size_t)x.n * sizeof(float));
        test_outputs_free(&x), test_outputs_free(&y);
        head_batch_free(&b);
    }
    aa_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(region_tall_and_wide),
        cmocka_unit_test(region_clip),
        cmocka_unit_test(region_per_level),
        cmocka_unit_test(loss_formula),
        cmocka_unit_test(mean_and_mean_std),
        cmocka_unit_test(topk_levels),
        cmocka_unit_test(strictly_below),
        cmocka_unit_test(two_gts_claim),
        cmocka_unit_test(duplicate_gts),
        cmocka_unit_test(crowd_gts),
        cmocka_unit_test(zero_size_gts),
        cmocka_unit_test(no_gts),
        cmocka_unit_test(half_types),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
