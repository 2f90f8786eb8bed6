/* test_plan.c - the launch planner shared by the CUDA and OpenCL backends:
 * geometry for small, exact-multiple and huge (past 2^31 elements) sizes, and
 * the workspace layouts. */
#include "common.h"

#include "plan.h"

#include <math.h>

#include "../kernels/atss.h"
#include "../kernels/gmm.h"
#include "../kernels/max_iou.h"
#include "../kernels/paa.h"
#include "../kernels/lada.h"

/* A grid-stride plan covers every element: each index i < elements is visited by
 * exactly one work-item (i mod global) at some stride step. */
static void covers(int64_t elements, const aa_launch *p)
{
    int64_t global = aa__plan_global_x(p);
    assert_true(global > 0);
    assert_true(global >= (elements < global ? elements : global));
    assert_true(p->groups_x <= AA_PLAN_MAX_GROUPS);
    assert_int_equal(p->groups_y, 1);
    /* strides needed, in 64 bits: no wrap */
    int64_t steps = (elements - 1) / global + 1;
    assert_true(steps >= 1 && (steps - 1) * global < elements && steps * global >= elements);
}

static void elementwise(void **state)
{
    (void)state;
    aa_launch p = aa__plan_elementwise(0);
    assert_int_equal(p.groups_x, 0); /* nothing to launch */
    p = aa__plan_elementwise(1);
    assert_int_equal(p.groups_x, 1);
    assert_int_equal(p.local_size, AA_PLAN_LOCAL_SIZE);
    covers(1, &p);
    p = aa__plan_elementwise(256);
    assert_int_equal(p.groups_x, 1);
    p = aa__plan_elementwise(257);
    assert_int_equal(p.groups_x, 2);
    covers(257, &p);
    p = aa__plan_elementwise(201600LL * 120); /* coco-retina overlaps, 16 images */
    covers(201600LL * 120, &p);
    int64_t huge = ((int64_t)1 << 31) + 12345; /* past 2^31 */
    p = aa__plan_elementwise(huge);
    assert_int_equal(p.groups_x, AA_PLAN_MAX_GROUPS);
    covers(huge, &p);
    p = aa__plan_elementwise((int64_t)1 << 40);
    covers((int64_t)1 << 40, &p);
    assert_true(aa__plan_global_x(&p) == (int64_t)AA_PLAN_MAX_GROUPS * AA_PLAN_LOCAL_SIZE);
}

/* (image, anchor) grids: y covers the images up to CUDA's 65,535 (then strides),
 * x the anchor blocks, and the two together stay near AA_PLAN_MAX_GROUPS. */
static void per_image_and_per_gt(void **state)
{
    (void)state;
    aa_launch p = aa__plan_per_image(22400, 16);
    assert_int_equal(p.groups_y, 16);
    assert_int_equal(p.groups_x, (22400 + 255) / 256);
    p = aa__plan_per_image(201600, 100000); /* more images than gridDim.y allows */
    assert_int_equal(p.groups_y, AA_PLAN_MAX_GROUPS_Y);
    assert_true(p.groups_x >= 1 && p.groups_x * p.groups_y <= AA_PLAN_MAX_GROUPS + AA_PLAN_MAX_GROUPS_Y);
    assert_int_equal(aa__plan_per_image(0, 5).groups_x, 0);
    assert_int_equal(aa__plan_per_image(5, 0).groups_x, 0);
    p = aa__plan_per_gt(3);
    assert_int_equal(p.groups_x, 3);
    p = aa__plan_per_gt((int64_t)1 << 33);
    assert_int_equal(p.groups_x, AA_PLAN_MAX_GROUPS);
}

static void disjoint(int64_t a, size_t na, int64_t b, size_t nb)
{
    assert_true(a + (int64_t)na <= b || b + (int64_t)nb <= a);
}

/* Workspace layouts: aligned, disjoint arrays inside the total, and 64-bit sizes. */
static void workspace_layouts(void **state)
{
    (void)state;
    aa_max_iou_ws m;
    size_t bytes = aa__plan_max_iou_ws(16, 201600, 120, &m);
    size_t pairs = 16 * 201600;
    int64_t offs[4] = {m.anchor_max, m.anchor_arg, m.gt_max, m.gt_arg};
    size_t sizes[4] = {pairs * 4, pairs * 4, 120 * 4, 120 * 8};
    for (int i = 0; i < 4; ++i) {
        assert_int_equal(offs[i] % AA_PLAN_WS_ALIGN, 0);
        assert_true((size_t)offs[i] + sizes[i] <= bytes);
        for (int j = 0; j < i; ++j) disjoint(offs[i], sizes[i], offs[j], sizes[j]);
    }
    aa_atss_ws a;
    bytes = aa__plan_atss_ws(64, 22400, 5000, 5, 9, &a);
    assert_true((size_t)a.candidates + (size_t)5000 * 5 * 9 * 4 <= bytes);
    disjoint(a.best, 64 * 22400 * 8, a.state, 64 * 22400);
    disjoint(a.state, 64 * 22400, a.candidates, 5000 * 5 * 9 * 4);
    bytes = aa__plan_atss_ws(1 << 12, 1 << 20, 1 << 20, 16, 64, &a); /* past 2^32 bytes */
    assert_true(bytes > ((size_t)1 << 32));
}

/* Gaussian mixtures: one group of 64 per segment up to AA_PLAN_MAX_GROUPS, then
 * groups stride over segments; the workspace holds responsibilities [points][K]
 * and norms [points] in 64 bits. */
static void gmm_plan(void **state)
{
    (void)state;
    aa_launch p = aa__plan_gmm(0);
    assert_int_equal(p.groups_x, 0); /* nothing to launch */
    p = aa__plan_gmm(1);
    assert_int_equal(p.groups_x, 1);
    assert_int_equal(p.groups_y, 1);
    assert_int_equal(p.local_size, AA_PLAN_GMM_LOCAL_SIZE);
    assert_int_equal(aa__plan_gmm(AA_PLAN_MAX_GROUPS).groups_x, AA_PLAN_MAX_GROUPS);
    p = aa__plan_gmm(AA_PLAN_MAX_GROUPS + 77); /* some groups take two segments */
    assert_int_equal(p.groups_x, AA_PLAN_MAX_GROUPS);
    p = aa__plan_gmm(AA_MAX_SEGMENTS);
    assert_int_equal(p.groups_x, AA_PLAN_MAX_GROUPS);

    aa_gmm_ws w;
    size_t bytes = aa__plan_gmm_ws(0, 2, &w);
    assert_int_equal(bytes, 0);
    bytes = aa__plan_gmm_ws(45, 2, &w);
    assert_int_equal(w.resp, 0);
    assert_int_equal(w.norm % AA_PLAN_WS_ALIGN, 0);
    assert_true(w.norm >= 45 * 2 * 8 && (size_t)w.norm + 45 * 8 <= bytes);
    int64_t points = ((int64_t)1 << 31) + 12345; /* past 2^31 points, past 2^36 bytes */
    bytes = aa__plan_gmm_ws(points, AA_GMM_MAX_COMPONENTS, &w);
    assert_true((uint64_t)w.norm >= (uint64_t)points * AA_GMM_MAX_COMPONENTS * 8);
    assert_int_equal(w.norm % AA_PLAN_WS_ALIGN, 0);
    assert_true(bytes >= (size_t)w.norm + (size_t)points * 8 && bytes > ((size_t)1 << 36));
    disjoint(w.resp, (size_t)points * AA_GMM_MAX_COMPONENTS * 8, w.norm, (size_t)points * 8);

    aa_gmm_params gp;
    aa_gmm_params_init(&gp);
    gp.num_components = 3, gp.max_iter = 7, gp.tol = 0.25, gp.reg_covar = 0.5;
    gp.covariance = AA_GMM_FULL, gp.init = AA_GMM_INIT_GIVEN;
    aa_gmm_args a = aa__plan_gmm_args(&gp);
    assert_true(a.k == 3 && a.max_iter == 7 && a.tol == 0.25 && a.reg_covar == 0.5 && a.full && a.given);
    gp.covariance = AA_GMM_DIAG, gp.init = AA_GMM_INIT_PAA;
    a = aa__plan_gmm_args(&gp);
    assert_true(!a.full && !a.given);
    /* the layouts the kernel expects, and the public numbering */
    gp.float32_input = 1;
    assert_true(aa__plan_gmm_args(&gp).f32 == 1);
    assert_int_equal(sizeof(aa_gmm_args), 40);
    assert_int_equal(sizeof(aa_gmm_ws), 16);
    assert_int_equal(AA_GMM_K_MAX, AA_GMM_MAX_COMPONENTS);
    assert_int_equal(AA_GMM_ST_CONVERGED, AA_GMM_CONVERGED);
    assert_int_equal(AA_GMM_ST_NOT_CONVERGED, AA_GMM_NOT_CONVERGED);
    assert_int_equal(AA_GMM_ST_ILL_DEFINED, AA_GMM_ILL_DEFINED);
    assert_int_equal(AA_GMM_ST_TOO_FEW_POINTS, AA_GMM_TOO_FEW_POINTS);
}

/* PAA: one group of 64 per GT (grid-stride beyond AA_PLAN_MAX_GROUPS); candidate
 * slots per GT = sum of min(topk, level size); the whole call's workspace: the
 * pre-assignment at 0, the costs, then max-IoU's and the selection's workspaces
 * overlapping; 64-bit sizes. */
static void paa_plan(void **state)
{
    (void)state;
    assert_int_equal(aa__plan_paa_select(0).groups_x, 0);
    aa_launch p = aa__plan_paa_select(7);
    assert_true(p.groups_x == 7 && p.groups_y == 1 && p.local_size == AA_PLAN_PAA_LOCAL_SIZE);
    assert_int_equal(aa__plan_paa_select((int64_t)1 << 33).groups_x, AA_PLAN_MAX_GROUPS);

    int64_t counts[3] = {16800, 4, 1};
    aa_anchors an = {NULL, 16805, 3, counts, NULL};
    aa_batch b;
    memset(&b, 0, sizeof b);
    b.anchors = &an, b.num_anchors = 16805, b.num_levels = 3, b.num_images = 16, b.total_gts = 150;
    assert_int_equal(aa__plan_paa_candidates(&b, 9), 9 + 4 + 1);
    assert_int_equal(aa__plan_paa_candidates(&b, 1), 3);

    aa_paa_select_ws s;
    size_t bytes = aa__plan_paa_select_ws(150, 14, 512, &s);
    size_t slots = 150 * 14;
    int64_t offs[8] = {s.cand_index, s.cand_cost, s.sorted_index, s.sorted_cost, s.resp, s.norm, s.labels,
                       s.density};
    size_t sizes[8] = {slots * 4, slots * 4, slots * 4, slots * 4, slots * 16, slots * 8, slots * 4, slots * 8};
    for (int i = 0; i < 8; ++i) {
        assert_int_equal(offs[i] % AA_PLAN_WS_ALIGN, 0);
        assert_true(offs[i] >= 512 && (size_t)offs[i] + sizes[i] <= 512 + bytes);
        for (int j = 0; j < i; ++j) disjoint(offs[i], sizes[i], offs[j], sizes[j]);
    }
    assert_int_equal(s.per_gt, 14);

    int64_t cost_at;
    aa_max_iou_ws m;
    bytes = aa__plan_paa_ws(16, 16805, 150, 14, &cost_at, &m, &s);
    size_t rows = 16 * 16805;
    disjoint(0, rows * 4, cost_at, rows * 4);
    assert_true(m.anchor_max >= cost_at + (int64_t)rows * 4 && s.cand_index >= cost_at + (int64_t)rows * 4);
    assert_true((size_t)m.gt_arg + 150 * 8 <= bytes && (size_t)s.density + slots * 8 <= bytes);
    assert_int_equal(m.anchor_max % AA_PLAN_WS_ALIGN, 0);
    /* past 2^31 rows and 2^32 bytes */
    bytes = aa__plan_paa_ws((int64_t)1 << 12, (int64_t)1 << 20, (int64_t)1 << 20, 16 * 64, &cost_at, &m, &s);
    assert_true(cost_at >= ((int64_t)1 << 34) && bytes > ((size_t)1 << 36));
    assert_true((size_t)s.density + ((size_t)1 << 20) * 16 * 64 * 8 <= bytes);

    aa_paa_params pp;
    aa_paa_params_init_original(&pp);
    aa_head_outputs h = {NULL, NULL, AA_BFLOAT16, 80};
    aa_paa_args a = aa__plan_paa_args(&pp, &h);
    assert_true(a.num_classes == 80 && a.dtype == AA_BFLOAT16 && a.topk == 9 && a.single_positive == 1);
    assert_true(a.separation == AA_PAA_SEPARATE_ORIGINAL && a.giou_weight == 1.0f);
    assert_true(a.max_ratio == fabs(log((double)pp.wh_ratio_clip)));
    assert_int_equal(sizeof(aa_paa_args), 80);
    assert_int_equal(sizeof(aa_paa_select_ws), 72);
}

/* LADA: one group of 64 per GT (grid-stride beyond AA_PLAN_MAX_GROUPS); the claim
 * keys (uint64 per image and anchor) at 0, then four arrays of per_gt slots per GT,
 * aligned, disjoint, in 64 bits past 2^31 rows; the arguments as the kernel reads them. */
static void lada_plan(void **state)
{
    (void)state;
    assert_int_equal(aa__plan_lada_select(0).groups_x, 0);
    aa_launch p = aa__plan_lada_select(7);
    assert_true(p.groups_x == 7 && p.groups_y == 1 && p.local_size == AA_PLAN_LADA_LOCAL_SIZE);
    assert_int_equal(aa__plan_lada_select((int64_t)1 << 33).groups_x, AA_PLAN_MAX_GROUPS);

    aa_lada_ws w;
    size_t bytes = aa__plan_lada_ws(16, 22400, 150, 45, &w);
    size_t rows = 16 * 22400, slots = 150 * 45;
    int64_t offs[5] = {w.key, w.cand_index, w.cand_loss, w.sorted_index, w.sorted_loss};
    size_t sizes[5] = {rows * 8, slots * 4, slots * 4, slots * 4, slots * 4};
    assert_int_equal(w.key, 0);
    for (int i = 0; i < 5; ++i) {
        assert_int_equal(offs[i] % AA_PLAN_WS_ALIGN, 0);
        assert_true((size_t)offs[i] + sizes[i] <= bytes);
        for (int j = 0; j < i; ++j) disjoint(offs[i], sizes[i], offs[j], sizes[j]);
    }
    assert_int_equal(w.per_gt, 45);
    assert_int_equal(aa__plan_lada_ws(0, 0, 0, 0, &w), 0);
    /* past 2^31 rows and 2^32 bytes */
    bytes = aa__plan_lada_ws((int64_t)1 << 12, (int64_t)1 << 20, (int64_t)1 << 20, 16 * 64, &w);
    assert_true(w.cand_index >= ((int64_t)1 << 35) && bytes > ((size_t)1 << 35));
    assert_true((size_t)w.sorted_loss + ((size_t)1 << 20) * 16 * 64 * 4 <= bytes);

    aa_lada_params lp;
    aa_lada_params_init(&lp);
    lp.threshold = AA_LADA_MEAN_STD, lp.clip_region_to_gt = 0, lp.topk = 33;
    aa_head_outputs h = {NULL, NULL, AA_FLOAT16, 80};
    aa_lada_args a = aa__plan_lada_args(&lp, &h);
    assert_true(a.num_classes == 80 && a.dtype == AA_FLOAT16 && a.mean_std == 1 && a.clip == 0);
    assert_true(a.topk == 33 && a.topk_per_level == 9 && a.region_radius == 1.5f && a.giou_weight == 1.5f);
    assert_true(a.stds[3] == 0.2f && a.max_ratio == fabs(log((double)lp.wh_ratio_clip)));
    assert_int_equal(sizeof(aa_lada_args), 96);
    assert_int_equal(sizeof(aa_lada_ws), 48);

    /* the claim key: lower loss first, then the lower GT; -0 as +0; 0 is none */
    assert_true(aa_lada_key(0.5f, 3) > aa_lada_key(0.75f, 0));
    assert_true(aa_lada_key(0.5f, 1) > aa_lada_key(0.5f, 2));
    assert_true(aa_lada_key(-1.0f, 9) > aa_lada_key(0.0f, 0) && aa_lada_key(-0.0f, 0) == aa_lada_key(0.0f, 0));
    assert_true(aa_lada_key(3.4e38f, 2147483646) > 0);
    const float v[5] = {-2.5f, -0.0f, 1e-40f, 0.375f, 3.4e38f};
    for (int i = 0; i < 5; ++i) {
        float back = aa_lada_unorder(aa_lada_order(v[i]));
        assert_true(back == v[i]);
    }
}

static void level_table(void **state)
{
    (void)state;
    const int64_t counts[3] = {6, 0, 2};
    const float strides[3] = {8, 16, 32}, lo[3] = {-1, 10, 20}, hi[3] = {10, 20, 1e8f};
    aa_anchors a = {NULL, 8, 3, counts, strides};
    aa_batch b;
    memset(&b, 0, sizeof b);
    b.anchors = &a, b.num_anchors = 8, b.num_levels = 3;
    aa_levels lv = aa__plan_levels(&b, lo, hi);
    assert_int_equal(lv.num_levels, 3);
    const int64_t begin[4] = {0, 6, 6, 8};
    for (int l = 0; l < 4; ++l) assert_int_equal(lv.begin[l], begin[l]);
    assert_true(lv.stride[2] == 32 && lv.lo[1] == 10 && lv.hi[2] == 1e8f);
    assert_int_equal(aa_level_of(lv, 5), 0);
    assert_int_equal(aa_level_of(lv, 6), 2); /* level 1 is empty */
    assert_int_equal(aa_level_of(lv, 7), 2);
    assert_int_equal(sizeof(aa_levels), 336); /* the layout the kernels expect */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elementwise),
        cmocka_unit_test(per_image_and_per_gt),
        cmocka_unit_test(workspace_layouts),
        cmocka_unit_test(gmm_plan),
        cmocka_unit_test(paa_plan),
        cmocka_unit_test(lada_plan),
        cmocka_unit_test(level_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
