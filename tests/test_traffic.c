/* test_traffic.c - the least bytes of each kernel launch (host/traffic.h), worked out
 * by hand: arrays read or written in full count once, optional ones only when given,
 * rows of images without GTs not read by per-GT kernels, and sizes past 2^31
 * elements exact. (test_profile.c checks that the launchers record these figures.) */
#include "common.h"

#include "traffic.h"

/* 3 images (the middle one without GTs), 10 anchors in 2 levels, 4 GTs. */
static const int64_t level_counts[2] = {6, 4};
static const int64_t offsets[4] = {0, 3, 3, 4};
static const uint8_t flags[4] = {0, 1, 0, 0};

static aa_batch batch(aa_anchors *a, aa_gts *g, int with_flags)
{
    memset(a, 0, sizeof *a);
    memset(g, 0, sizeof *g);
    a->num_anchors = 10, a->num_levels = 2, a->level_counts = level_counts;
    g->offsets = offsets, g->num_images = 3, g->ignore_flags = with_flags ? flags : NULL;
    aa_batch b = {a, g, 10, 2, 3, 4, 3};
    return b;
}

static void assert_bytes(double got, double want, const char *what)
{
    if (got != want) fail_msg("%s: %.0f bytes, expected %.0f", what, got, want);
}

/* anchors 160 B, GT boxes 64 B, offsets 32 B, flags 4 B, 30 rows (120 B per int32 array) */
static void assigners(void **state)
{
    (void)state;
    aa_anchors a;
    aa_gts g;
    aa_batch b = batch(&a, &g, 0);
    assert_bytes(aa__bytes_overlaps(&b), 160 + 64 + 4 * 10 * 4, "overlaps");
    assert_bytes(aa__bytes_fcos(&b, 1), 160 + 96 + 120, "fcos, gt_index only");
    assert_bytes(aa__bytes_fcos(&b, 3), 160 + 96 + 360, "fcos, three outputs");
    assert_bytes(aa__bytes_max_iou_anchor(&b), 160 + 96 + 240, "max_iou_anchor");
    /* two images have GTs: two rows of maxima read */
    assert_bytes(aa__bytes_max_iou_gt(&b), 160 + 96 + 2 * 40 + 48, "max_iou_gt");
    assert_bytes(aa__bytes_max_iou_assign(&b, 0, 1), 160 + 96 + 120 + 120, "max_iou_assign");
    assert_bytes(aa__bytes_max_iou_assign(&b, 1, 2), 160 + 96 + 120 + 48 + 240,
                 "max_iou_assign, low-quality matches");
    assert_bytes(aa__bytes_atss_prepare(&b), 160 + 96 + 270, "atss_prepare");
    assert_bytes(aa__bytes_atss_topk(&b, 9), 160 + 96 + 2 * 10 + 4 * 4 * 2 * 9, "atss_topk");
    assert_bytes(aa__bytes_atss_select(&b, 9), 96 + 288, "atss_select");
    assert_bytes(aa__bytes_atss_assign(&b, 2), 270 + 240, "atss_assign");
    assert_bytes(aa__bytes_paa_cost(&b), 32 + 240, "paa_cost");
    assert_bytes(aa__bytes_paa_copy(&b), 240, "paa_copy");
    assert_bytes(aa__bytes_paa_init(&b, 3), 120 + 360, "paa_init");
    assert_bytes(aa__bytes_paa_select(&b), 32 + 2 * 40, "paa_select");
    assert_bytes(aa__bytes_lada_clear(&b), 240, "lada_clear");
    assert_bytes(aa__bytes_lada_select(&b), 160 + 96 + 16, "lada_select");
    assert_bytes(aa__bytes_lada_assign(&b, 1), 32 + 240 + 120, "lada_assign");

    /* crowd flags: one byte per GT wherever the GTs are read with them */
    b = batch(&a, &g, 1);
    assert_bytes(aa__bytes_fcos(&b, 1), 160 + 100 + 120, "fcos with crowd flags");
    assert_bytes(aa__bytes_atss_select(&b, 9), 100 + 288, "atss_select with crowd flags");
    assert_bytes(aa__bytes_overlaps(&b), 160 + 64 + 160, "overlaps (flags not read)");
}

static void primitives_and_em(void **state)
{
    (void)state;
    aa_anchors a;
    aa_gts g;
    aa_batch b = batch(&a, &g, 1);
    /* boxes only: no offsets, no flags, no state */
    assert_bytes(aa__bytes_topk_nearest(&b, 3), 160 + 64 + 4 * 4 * 2 * 3, "topk_nearest");
    assert_bytes(aa__bytes_candidate_stats(&b, 3), 64 + 96 + 64, "candidate_stats");

    aa_gmm_params p;
    aa_gmm_params_init(&p);
    p.num_components = 3;
    int64_t seg_offsets[3] = {0, 4, 9};
    aa_gmm_segments s = {NULL, seg_offsets, 2, NULL};
    aa_gmm_batch gb = {&s, 2, 9, 5};
    aa_gmm_result none;
    memset(&none, 0, sizeof none);
    assert_bytes(aa__bytes_gmm(&p, &gb, &none), 36 + 24, "gmm, no output asked for");
    double w[6], bound[2], density[9];
    int32_t status[2], labels[9];
    aa_gmm_result some = none;
    some.weights = w, some.lower_bound = bound, some.status = status, some.labels = labels,
    some.log_density = density;
    assert_bytes(aa__bytes_gmm(&p, &gb, &some), 60 + 48 + 16 + 8 + 36 + 72, "gmm, some outputs");
    p.init = AA_GMM_INIT_GIVEN;
    assert_bytes(aa__bytes_gmm(&p, &gb, &none), 60 + 3 * 48, "gmm, given initial parameters");
    /* only empty segments: the kernel reads neither points nor offsets */
    int64_t empty_offsets[3] = {0, 0, 0};
    aa_gmm_segments es = {NULL, empty_offsets, 2, NULL};
    aa_gmm_batch eb = {&es, 2, 0, 0};
    assert_bytes(aa__bytes_gmm(&p, &eb, &some), 3 * 48 + 48 + 16 + 8, "gmm, empty segments");
}

/* coco-retina anchors x 64 images x 5,000 GTs each: products far past 2^31, exact. */
static void large(void **state)
{
    (void)state;
    enum { IMAGES = 64 };
    static int64_t offs[IMAGES + 1];
    for (int i = 0; i <= IMAGES; ++i) offs[i] = 5000 * (int64_t)i;
    int64_t level = 201600;
    aa_anchors a = {NULL, 201600, 1, &level, NULL};
    aa_gts g = {NULL, offs, IMAGES, NULL, NULL, NULL};
    aa_batch b = {&a, &g, 201600, 1, IMAGES, 320000, 5000};
    int64_t anchors = 16 * 201600LL, gts = 16 * 320000LL + 8 * 65, rows = 64 * 201600LL;
    assert_bytes(aa__bytes_overlaps(&b), (double)(anchors + 16 * 320000LL + 4 * 201600LL * 320000LL),
                 "overlaps, 6.5e10 pairs");
    assert_bytes(aa__bytes_max_iou_assign(&b, 1, 3), (double)(anchors + gts + 4 * rows + 12 * 320000LL + 12 * rows),
                 "max_iou_assign, 1.3e7 rows");
    assert_bytes(aa__bytes_atss_topk(&b, 9), (double)(anchors + gts + rows + 4LL * 320000 * 9), "atss_topk");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(assigners),
        cmocka_unit_test(primitives_and_em),
        cmocka_unit_test(large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
