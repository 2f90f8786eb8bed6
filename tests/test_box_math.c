/* test_box_math.c - the kernels' device helpers (kernels/box_math.h, and the
 * one-pass top-k's per-work-item list of kernels/topk_list.h), compiled as host C:
 * hand-computed values, bitwise agreement with the independent CPU reference
 * (aa_overlaps on a CPU context) on random and adversarial boxes, the top-k list
 * and its merge, and the rounds of larger k, against a sort, and the group argmax's
 * tree shapes (reduce.h). */
#include "common.h"

#include <stdlib.h>

#include "../kernels/topk_list.h" /* (includes box_math.h and reduce.h) */

static aa_box B(float x1, float y1, float x2, float y2)
{
    aa_box b = {x1, y1, x2, y2};
    return b;
}

static void hand_computed(void **state)
{
    (void)state;
    aa_box a = B(0, 0, 10, 10), p = B(5, 5, 15, 15);
    assert_true(aa_box_area(a) == 100.0f);
    assert_true(aa_box_cx(p) == 10.0f && aa_box_cy(p) == 10.0f);
    assert_float_equal(aa_box_overlap(AA_MODE_IOU, a, p, 1e-6f), 25.0 / 175.0, 1e-7);
    assert_float_equal(aa_box_overlap(AA_MODE_IOF, a, p, 1e-6f), 0.25, 1e-7);
    assert_float_equal(aa_box_overlap(AA_MODE_GIOU, a, p, 1e-6f), 25.0 / 175.0 - 50.0 / 225.0, 1e-6);
    assert_true(aa_box_overlap(AA_MODE_IOU, B(3, 3, 3, 3), B(3, 3, 3, 3), 1e-6f) == 0.0f);
    assert_true(aa_center_distance(B(0, 0, 6, 8), B(3, 4, 3, 4)) == 0.0f);
    assert_true(aa_center_distance(B(0, 0, 6, 8), B(6, 8, 6, 8)) == 5.0f);
    /* the top-k order: nearer first, then the lower index */
    assert_true(aa_nearer(1.0f, 7, 2.0f, 3));
    assert_true(aa_nearer(2.0f, 3, 2.0f, 7));
    assert_false(aa_nearer(2.0f, 7, 2.0f, 3));
    assert_false(aa_nearer(2.0f, 3, 2.0f, 3));
}

/* The same numbers as the CPU reference, bit for bit. */
static void matches_reference(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    enum { A = 64, G = 16 };
    float anchors[A * 4], gts[G * 4], ref[A * G];
    int64_t count, offsets[2] = {0, G};
    float stride;
    for (int trial = 0; trial < 50; ++trial) {
        for (int i = 0; i < A; ++i) test_random_box(anchors + 4 * i, 300, 300, 120);
        for (int i = 0; i < G; ++i) test_random_box(gts + 4 * i, 300, 300, 120);
        memcpy(gts, anchors, 16); /* a duplicate */
        aa_anchors a = test_anchors_1level(anchors, A, &count, &stride);
        aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
        for (int mode = 0; mode < 3; ++mode) {
            assert_int_equal(aa_overlaps(ctx, (aa_overlap_mode)mode, 1e-6f, &a, &g, ref), AA_SUCCESS);
            for (int gi = 0; gi < G; ++gi)
                for (int ai = 0; ai < A; ++ai) {
                    float v = aa_box_overlap(mode, aa_box_load(anchors, ai), aa_box_load(gts, gi), 1e-6f);
                    assert_memory_equal(&v, &ref[gi * A + ai], sizeof v);
                }
        }
    }
    aa_context_destroy(ctx);
}

/* (distance, index) pairs sorted by the top-k order, for qsort. */
typedef struct dist_index {
    float d;
    aa_i32 i;
} dist_index;

static int by_topk_order(const void *x, const void *y)
{
    const dist_index *a = x, *b = y;
    return aa_nearer(a->d, a->i, b->d, b->i) ? -1 : aa_nearer(b->d, b->i, a->d, a->i) ? 1 : 0;
}

/* The one-pass top-k of topk_list.h, simulated: W work-items each keep the
 * AA_TOPK_LIST lowest of their strided share of n anchors (aa_topk_list_offer),
 * then k rounds take the lowest head of all lists and pop it (aa_topk_list_next's
 * rule). Must give the sort's first k for every k up to AA_TOPK_LIST; each list
 * alone must be its share's sorted prefix. Values from a few distinct ones, so
 * ties are everywhere. */
static void topk_list(void **state)
{
    (void)state;
    enum { MAX_N = 600, MAX_W = 32 };
    dist_index all[MAX_N];
    float d[MAX_N];
    float list_d[MAX_W][AA_TOPK_LIST];
    aa_i32 list_i[MAX_W][AA_TOPK_LIST];
    for (int trial = 0; trial < 300; ++trial) {
        int n = test_int(1, MAX_N), w = test_int(1, MAX_W), levels = test_int(1, 12);
        for (int a = 0; a < n; ++a) d[a] = (float)test_int(0, levels) * 0.5f;
        for (int t = 0; t < w; ++t) aa_topk_list_clear(list_d[t], list_i[t]);
        for (int a = 0; a < n; ++a) {
            int t = a % w;
            aa_topk_list_offer(list_d[t], list_i[t], d[a], a);
        }
        /* each list: its share's first AA_TOPK_LIST in order, then empty slots */
        for (int t = 0; t < w; ++t) {
            int m = 0;
            for (int a = t; a < n; a += w) all[m].d = d[a], all[m].i = a, ++m;
            qsort(all, (size_t)m, sizeof all[0], by_topk_order);
            for (int s = 0; s < AA_TOPK_LIST; ++s) {
                if (s < m) {
                    assert_int_equal(list_i[t][s], all[s].i);
                    assert_true(list_d[t][s] == all[s].d);
                } else {
                    assert_int_equal(list_i[t][s], -1);
                }
            }
        }
        for (int a = 0; a < n; ++a) all[a].d = d[a], all[a].i = a;
        qsort(all, (size_t)n, sizeof all[0], by_topk_order);
        int k = test_int(1, AA_TOPK_LIST);
        if (k > n) k = n;
        for (int j = 0; j < k; ++j) {
            int win = -1;
            for (int t = 0; t < w; ++t)
                if (win < 0 || aa_topk_before(list_d[t][0], list_i[t][0], list_d[win][0], list_i[win][0]))
                    win = t;
            if (list_i[win][0] != all[j].i)
                fail_msg("trial %d (n %d, %d lists, k %d): pick %d is anchor %d, the sort's %d", trial, n,
                         w, k, j, (int)list_i[win][0], (int)all[j].i);
            aa_topk_list_pop(list_d[win], list_i[win]);
        }
    }
    /* empty slots come last, whatever their distance */
    assert_true(aa_topk_before(1e30f, 5, 0.0f, -1));
    assert_false(aa_topk_before(0.0f, -1, 1e30f, 5));
    assert_false(aa_topk_before(0.0f, -1, 0.0f, -1));
}

/* The group argmax's two tree shapes (kernels/reduce.h), emulated on the host: the
 * local-memory halving tree (OpenCL, and CUDA before) and the warp-shuffle one (CUDA:
 * shuffle-down within each warp of 32, then one warp over the warps' answers, lanes
 * past the warp count "none"). Both must give the sequential answer, whatever the
 * ties, signed zeros and "none" entries: aa_argmax_better is a total order. */
typedef struct vi {
    float v;
    aa_i64 i;
} vi;

static void combine(vi *into, vi other)
{
    if (aa_argmax_better(other.v, other.i, into->v, into->i)) *into = other;
}

static vi halving_tree(vi *x, int n)
{
    for (int span = n / 2; span > 0; span /= 2)
        for (int lid = 0; lid < span; ++lid) combine(&x[lid], x[lid + span]);
    return x[0];
}

/* One warp's shuffle-down loop: lane l takes lane l + offset's value (its own past 31). */
static void warp_shuffle(vi *lanes)
{
    for (int offset = 16; offset > 0; offset /= 2) {
        vi before[32];
        memcpy(before, lanes, sizeof before);
        for (int l = 0; l < 32; ++l) combine(&lanes[l], before[l + offset < 32 ? l + offset : l]);
    }
}

static vi warp_tree(const vi *x, int n)
{
    vi partial[32], lanes[32];
    int warps = n / 32;
    for (int w = 0; w < warps; ++w) {
        memcpy(lanes, x + 32 * w, sizeof lanes);
        warp_shuffle(lanes);
        partial[w] = lanes[0];
    }
    for (int l = 0; l < 32; ++l) {
        vi none = {0.0f, -1};
        lanes[l] = l < warps ? partial[l] : none;
    }
    warp_shuffle(lanes);
    return lanes[0];
}

static void group_argmax_trees(void **state)
{
    (void)state;
    static const int sizes[] = {64, 256, 1024};
    vi x[1024], tree[1024];
    for (int trial = 0; trial < 600; ++trial) {
        int n = sizes[trial % 3], values = test_int(1, 6), negative = trial % 2;
        for (int l = 0; l < n; ++l) {
            /* few distinct values (ties), -0 beside 0, some work-items with nothing; every
             * other trial all values < 0, below the "none" entries' 0 */
            int none = test_int(0, 3) == 0;
            float v = negative ? (float)-test_int(1, values) : (float)test_int(-values, values);
            x[l].v = none ? 0.0f : v * 0.25f;
            if (x[l].v == 0.0f && test_int(0, 1)) x[l].v = -0.0f;
            x[l].i = none ? -1 : test_int(0, 5000);
        }
        vi want = {0.0f, -1};
        for (int l = 0; l < n; ++l) combine(&want, x[l]);
        memcpy(tree, x, sizeof x[0] * (size_t)n);
        vi by_halving = halving_tree(tree, n), by_warps = warp_tree(x, n);
        if (by_halving.i != want.i || by_warps.i != want.i ||
            memcmp(&by_halving.v, &want.v, 4) != 0 || memcmp(&by_warps.v, &want.v, 4) != 0)
            fail_msg("trial %d (%d work-items): sequential (%g, %lld), halving tree (%g, %lld), "
                     "warp tree (%g, %lld)", trial, n, want.v, (long long)want.i, by_halving.v,
                     (long long)by_halving.i, by_warps.v, (long long)by_warps.i);
    }
}

/* The rounds for k > AA_TOPK_LIST: each work-item offers its share's elements with
 * aa_topk_round_offer, a sequential group argmax picks the round's pair; the k picks
 * must be the sort's first k (ties in value broken by the lower index). */
static void topk_rounds(void **state)
{
    (void)state;
    enum { MAX_N = 300, MAX_W = 32 };
    dist_index all[MAX_N];
    float d[MAX_N];
    for (int trial = 0; trial < 200; ++trial) {
        int n = test_int(1, MAX_N), w = test_int(1, MAX_W), levels = test_int(1, 12);
        for (int a = 0; a < n; ++a) d[a] = (float)test_int(0, levels) * 0.5f, all[a].d = d[a], all[a].i = a;
        qsort(all, (size_t)n, sizeof all[0], by_topk_order);
        int k = test_int(1, 40);
        float prev_v = 0.0f;
        aa_i64 prev_i = -1;
        for (int j = 0; j < k; ++j) {
            float group_v = 0.0f;
            aa_i64 group_i = -1;
            for (int t = 0; t < w; ++t) {
                float best_neg = 0.0f;
                aa_i64 best_i = -1;
                for (int a = t; a < n; a += w) aa_topk_round_offer(d[a], a, prev_v, prev_i, &best_neg, &best_i);
                if (aa_argmax_better(best_neg, best_i, group_v, group_i)) group_v = best_neg, group_i = best_i;
            }
            aa_i64 want = j < n ? all[j].i : -1; /* past n: nothing left */
            if (group_i != want)
                fail_msg("trial %d (n %d, %d work-items): round %d took %lld, the sort's %lld", trial, n, w, j,
                         (long long)group_i, (long long)want);
            if (group_i < 0) break;
            prev_v = -group_v, prev_i = group_i;
        }
    }
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed),
        cmocka_unit_test(matches_reference),
        cmocka_unit_test(topk_list),
        cmocka_unit_test(topk_rounds),
        cmocka_unit_test(group_argmax_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
