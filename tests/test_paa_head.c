/* test_paa_head.c - the synthetic head outputs of aa_workload (tools/synthetic_head.h):
 * the float32 -> float16 / bfloat16 conversions against a brute-force round to
 * nearest even over the representable values (every one of the 65,536 bit patterns
 * round-trips; random, midpoint, subnormal, overflow and NaN inputs), the generator's
 * dtypes against its float32 output, its errors, and its promise that anchors on a
 * GT get lower PAA costs. */
#include "common.h"

#include <float.h>
#include <math.h>

#include "synthetic_head.h"
#include "workload.h"

#include "../kernels/paa.h" /* the device helpers, compiled as host C */
#include "../kernels/lada.h"
#include "lada_common.h"

static double half_value(uint16_t h) /* exact, from the definition */
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return h & 0x8000 ? -v : v;
}

static double bfloat_value(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int is_half_nan(uint16_t h) { return ((h >> 10) & 31) == 31 && (h & 1023); }
static int is_bfloat_nan(uint16_t b) { return ((b >> 7) & 255) == 255 && (b & 127); }

/* Round to nearest even by brute force: `count` ascending non-negative values
 * value(0..count-1) (bit patterns 0..count-1), the next one past the largest finite
 * (the overflow threshold's partner) given as `beyond`. */
static uint16_t nearest(double a, double (*value)(uint16_t), uint32_t count, double beyond)
{
    uint32_t lo = 0, hi = count - 1;
    if (a >= value((uint16_t)hi)) {
        double top = value((uint16_t)hi);
        if (a - top < beyond - a || (a - top == beyond - a && !(hi & 1))) return (uint16_t)hi;
        return (uint16_t)count; /* infinity: the pattern after the largest finite */
    }
    while (hi - lo > 1) { /* value(lo) <= a < value(hi) */
        uint32_t mid = (lo + hi) / 2;
        if (value((uint16_t)mid) <= a) lo = mid;
        else hi = mid;
    }
    double dl = a - value((uint16_t)lo), dh = value((uint16_t)hi) - a;
    return (uint16_t)(dl < dh || (dl == dh && !(lo & 1)) ? lo : hi);
}

static uint16_t ref_half(float v)
{
    uint16_t sign = signbit(v) ? 0x8000 : 0;
    return sign | nearest(fabs((double)v), half_value, 0x7c00, 65536.0);
}

static uint16_t ref_bfloat(float v)
{
    uint16_t sign = signbit(v) ? 0x8000 : 0;
    return sign | nearest(fabs((double)v), bfloat_value, 0x7f80, ldexp(1.0, 128));
}

static void round_trips(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; ++h) {
        float hv = (float)half_value((uint16_t)h), bv = (float)bfloat_value((uint16_t)h);
        uint16_t got = aa_wl_float_to_half(hv), gotb = aa_wl_float_to_bfloat(bv);
        if (is_half_nan((uint16_t)h)) {
            assert_true(is_half_nan(got));
            assert_int_equal(got & 0x8000, h & 0x8000);
        } else if (got != h) {
            fail_msg("half %04x -> %.9g -> %04x", (unsigned)h, (double)hv, (unsigned)got);
        }
        if (is_bfloat_nan((uint16_t)h)) {
            assert_true(is_bfloat_nan(gotb));
            assert_int_equal(gotb & 0x8000, h & 0x8000);
        } else if (gotb != h) {
            fail_msg("bfloat %04x -> %.9g -> %04x", (unsigned)h, (double)bv, (unsigned)gotb);
        }
    }
}

static void check_one(float v)
{
    uint16_t h = aa_wl_float_to_half(v), b = aa_wl_float_to_bfloat(v);
    if (h != ref_half(v))
        fail_msg("half(%.9g = %a): %04x, nearest even %04x", (double)v, (double)v, h, ref_half(v));
    if (b != ref_bfloat(v))
        fail_msg("bfloat(%.9g = %a): %04x, nearest even %04x", (double)v, (double)v, b,
                 ref_bfloat(v));
}

/* Random floats over every exponent, every half midpoint and its float neighbours
 * (ties go to the even pattern), and the edges named in the header. */
static void rounding(void **state)
{
    (void)state;
    for (int k = 0; k < 200000; ++k) {
        uint32_t bits = (uint32_t)test_next();
        float v;
        memcpy(&v, &bits, 4);
        if (isnan(v)) continue;
        check_one(v);
    }
    for (uint32_t h = 0; h < 0x7bff; ++h) { /* midpoints of consecutive halves */
        float mid = (float)((half_value((uint16_t)h) + half_value((uint16_t)(h + 1))) / 2);
        check_one(mid), check_one(-mid);
        check_one(nextafterf(mid, 0.0f)), check_one(nextafterf(mid, INFINITY));
    }
    const float edges[] = {0.0f, -0.0f, 65504.0f, 65519.996f, 65520.0f, 65536.0f, 1e30f, FLT_MAX,
                           INFINITY, -INFINITY, ldexpf(1, -24), ldexpf(1, -25), ldexpf(3, -25),
                           ldexpf(1, -14), ldexpf(1, -14) - ldexpf(1, -25), FLT_MIN, ldexpf(1, -149),
                           ldexpf(1, -133), ldexpf(3, -134), 1.0f + ldexpf(1, -11), 1.0f + ldexpf(3, -11),
                           1.0f + ldexpf(1, -8), 1.0f + ldexpf(3, -8), 3.3961776e38f};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; ++k) check_one(edges[k]), check_one(-edges[k]);
    assert_int_equal(aa_wl_float_to_half(65520.0f), 0x7c00);
    assert_int_equal(aa_wl_float_to_half(65519.996f), 0x7bff);
    assert_int_equal(aa_wl_float_to_half(ldexpf(1, -25)), 0x0000);
    assert_int_equal(aa_wl_float_to_half(ldexpf(3, -25)), 0x0002);
    assert_int_equal(aa_wl_float_to_bfloat(FLT_MAX), 0x7f80);
    assert_int_equal(aa_wl_float_to_bfloat(1.0f + ldexpf(1, -8)), 0x3f80);
    const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fa00000u};
    for (size_t k = 0; k < sizeof nans / sizeof nans[0]; ++k) {
        float v;
        memcpy(&v, &nans[k], 4);
        uint16_t h = aa_wl_float_to_half(v), b = aa_wl_float_to_bfloat(v);
        assert_true(is_half_nan(h) && is_bfloat_nan(b));
        assert_int_equal(h >> 15, nans[k] >> 31);
        assert_int_equal(b >> 15, nans[k] >> 31);
    }
}

/* Two COCO images on the coco-atss anchors: float16 and bfloat16 heads are the
 * float32 head rounded, two calls give the same bits, and the errors. */
static void generator(void **state)
{
    (void)state;
    aa_wl_dataset ds;
    aa_wl_error err;
    aa_wl_batch batch;
    aa_wl_anchor_set set;
    if (aa_wl_load(AA_TEST_DATA, AA_WL_FORMAT_CSV, &ds, &err) != AA_WL_OK) fail_msg("%s", err.message);
    assert_int_equal(aa_wl_batch_make(&ds, 0, 2, &batch, &err), AA_WL_OK);
    assert_int_equal(aa_wl_anchor_set_make(AA_WL_ANCHORS_ATSS, AA_WL_CANVAS_H, AA_WL_CANVAS_W, &set, &err),
                     AA_WL_OK);
    const int32_t C = AA_WL_COCO_CLASSES;
    size_t rows = 2 * (size_t)set.anchors.num_anchors;
    aa_wl_head f32, again, half, bf;
    assert_int_equal(aa_wl_head_make(&set.anchors, &batch.gts, C, AA_FLOAT32, 7, &f32, &err), AA_WL_OK);
    assert_int_equal(aa_wl_head_make(&set.anchors, &batch.gts, C, AA_FLOAT32, 7, &again, &err), AA_WL_OK);
    assert_int_equal(aa_wl_head_make(&set.anchors, &batch.gts, C, AA_FLOAT16, 7, &half, &err), AA_WL_OK);
    assert_int_equal(aa_wl_head_make(&set.anchors, &batch.gts, C, AA_BFLOAT16, 7, &bf, &err), AA_WL_OK);
    assert_memory_equal(f32.cls_logits, again.cls_logits, rows * (size_t)C * 4);
    assert_memory_equal(f32.bbox_deltas, again.bbox_deltas, rows * 16);
    assert_int_equal(half.head.dtype, AA_FLOAT16);
    assert_int_equal(bf.head.num_classes, C);
    const float *lf = f32.cls_logits, *df = f32.bbox_deltas;
    const uint16_t *lh = half.cls_logits, *dh = half.bbox_deltas;
    const uint16_t *lb = bf.cls_logits, *db = bf.bbox_deltas;
    for (size_t j = 0; j < rows * (size_t)C; ++j) {
        assert_int_equal(lh[j], aa_wl_float_to_half(lf[j]));
        assert_int_equal(lb[j], aa_wl_float_to_bfloat(lf[j]));
    }
    for (size_t j = 0; j < rows * 4; ++j) {
        assert_int_equal(dh[j], aa_wl_float_to_half(df[j]));
        assert_int_equal(db[j], aa_wl_float_to_bfloat(df[j]));
    }
    aa_wl_head_free(&again), aa_wl_head_free(&half), aa_wl_head_free(&bf);

    /* errors leave an empty head */
    aa_wl_head bad;
    const aa_anchors *an = &set.anchors;
    assert_int_equal(aa_wl_head_make(an, &batch.gts, 0, AA_FLOAT32, 7, &bad, &err), AA_WL_ERR_ARGUMENT);
    assert_null(bad.cls_logits);
    assert_int_equal(aa_wl_head_make(an, &batch.gts, 10, AA_FLOAT32, 7, &bad, &err), AA_WL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "num_classes"));
    assert_null(bad.cls_logits);
    aa_gts no_labels = batch.gts;
    no_labels.labels = NULL;
    assert_int_equal(aa_wl_head_make(an, &no_labels, C, AA_FLOAT32, 7, &bad, &err), AA_WL_ERR_ARGUMENT);
    assert_int_equal(aa_wl_head_make(an, &batch.gts, C, AA_FLOAT32, 7, NULL, &err), AA_WL_ERR_ARGUMENT);

    /* "anchors near a GT get lower losses": PAA costs of the pre-assigned anchors
     * whose IoU is >= 0.5 against those below 0.2 */
    aa_context *ctx = test_cpu_context();
    aa_paa_params p;
    aa_paa_params_init(&p);
    int32_t *pre = malloc(rows * 4);
    float *iou = malloc(rows * 4), *costs = malloc(rows * 4);
    aa_assignment out = {pre, iou, NULL};
    assert_int_equal(aa_assign_max_iou(ctx, &p.pre, &set.anchors, &batch.gts, &out, NULL, 0), AA_SUCCESS);
    assert_int_equal(aa_paa_costs(ctx, &p, &set.anchors, &batch.gts, &f32.head, pre, costs), AA_SUCCESS);
    double sum[2] = {0, 0};
    int64_t n[2] = {0, 0};
    for (size_t r = 0; r < rows; ++r) {
        if (pre[r] < 0 || (iou[r] >= 0.2f && iou[r] < 0.5f)) continue;
        int near = iou[r] >= 0.5f;
        sum[near] += costs[r], ++n[near];
    }
    fprintf(stderr, "mean PAA cost: IoU >= 0.5: %.3f (%lld anchors), IoU < 0.2: %.3f (%lld)\n",
            sum[1] / (double)n[1], (long long)n[1], sum[0] / (double)n[0], (long long)n[0]);
    assert_true(n[0] > 0 && n[1] > 0 && sum[1] / (double)n[1] < sum[0] / (double)n[0]);
    free(pre), free(iou), free(costs);
    aa_context_destroy(ctx);
    aa_wl_head_free(&f32);
    aa_wl_anchor_set_free(&set);
    aa_wl_batch_free(&batch);
    aa_wl_dataset_free(&ds);
}

/* The kernels' head-element conversion (kernels/paa.h, one helper for every
 * backend) on all 65,536 float16 and bfloat16 patterns against the definitions;
 * and the kernels' cost function, compiled here with glibc's exp/log/pow/log1p,
 * bit for bit against the CPU reference's costs (so that the kernel follows the
 * reference's operations; on a device only its math library differs). */
static void device_helpers(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; ++h) {
        float got = aa_paa_half_to_float(h), want = (float)half_value((uint16_t)h);
        if (is_half_nan((uint16_t)h)) assert_true(isnan(got) && !signbit(got) == !(h & 0x8000));
        else assert_memory_equal(&got, &want, 4);
        got = aa_paa_bfloat_to_float(h), want = (float)bfloat_value((uint16_t)h);
        if (is_bfloat_nan((uint16_t)h)) assert_true(isnan(got));
        else assert_memory_equal(&got, &want, 4);
        uint16_t bits = (uint16_t)h;
        assert_true(aa_paa_head_value((const aa_u8 *)&bits, AA_FLOAT16, 0) == aa_paa_half_to_float(h) ||
                    isnan(aa_paa_half_to_float(h)));
    }
    aa_context *ctx = test_cpu_context();
    for (int trial = 0; trial < 20; ++trial) {
        enum { A = 50, G = 4, C = 3 };
        float anchors[A * 4], gts[G * 4], logits[A * C], deltas[A * 4], costs[A];
        int32_t labels[G], pre[A];
        int64_t counts[1] = {A}, offsets[2] = {0, G};
        float stride = 8;
        for (int i = 0; i < A; ++i) test_random_box(anchors + 4 * i, 100, 100, 50);
        for (int k = 0; k < G; ++k) test_random_box(gts + 4 * k, 100, 100, 60), labels[k] = test_int(0, C - 1);
        for (int j = 0; j < A * C; ++j) logits[j] = test_uniform(-30, 30);
        for (int j = 0; j < A * 4; ++j) deltas[j] = test_uniform(-8, 8);
        for (int i = 0; i < A; ++i) pre[i] = test_int(-2, G - 1);
        aa_anchors an = {anchors, A, 1, counts, &stride};
        aa_gts g = {gts, offsets, 1, NULL, labels, NULL};
        aa_head_outputs hd = {logits, deltas, AA_FLOAT32, C};
        aa_paa_params p;
        if (trial % 2) aa_paa_params_init_original(&p);
        else aa_paa_params_init(&p);
        p.focal_gamma = (float)test_int(0, 3), p.target_means[1] = 0.05f;
        assert_int_equal(aa_paa_costs(ctx, &p, &an, &g, &hd, pre, costs), AA_SUCCESS);
        aa_paa_args args;
        memset(&args, 0, sizeof args);
        args.max_ratio = fabs(log((double)p.wh_ratio_clip));
        args.focal_alpha = p.focal_alpha, args.focal_gamma = p.focal_gamma;
        args.giou_weight = p.giou_weight, args.giou_eps = p.giou_eps;
        for (int c = 0; c < 4; ++c) args.means[c] = p.target_means[c], args.stds[c] = p.target_stds[c];
        args.num_classes = C, args.dtype = AA_FLOAT32;
        for (int i = 0; i < A; ++i) {
            if (pre[i] < 0) continue;
            float c = aa_paa_cost(args, (const aa_u8 *)logits, (const aa_u8 *)deltas, i, anchors + 4 * i,
                                  gts + 4 * pre[i], labels[pre[i]]);
            assert_memory_equal(&c, &costs[i], 4);
        }
    }
    aa_context_destroy(ctx);
}

/* LADA's device loss (kernels/lada.h, the PAA helpers it shares) as host C against
 * the independent brute force of lada_common.h, bit for bit on random batches (so on
 * a device only its math library can differ), and the threshold's three cases. */
static void lada_device_helpers(void **state)
{
    (void)state;
    int64_t compared = 0;
    for (int trial = 0; trial < 40; ++trial) {
        lada_batch b;
        lada_batch_random(&b);
        aa_lada_params p;
        lada_params_random(&p);
        aa_lada_args args = {0};
        args.max_ratio = fabs(log((double)p.wh_ratio_clip));
        args.region_radius = p.region_radius, args.cls_weight = p.cls_weight;
        args.giou_weight = p.giou_weight, args.center_weight = p.center_weight;
        args.focal_alpha = p.focal_alpha, args.focal_gamma = p.focal_gamma, args.giou_eps = p.giou_eps;
        for (int c = 0; c < 4; ++c) args.means[c] = p.target_means[c], args.stds[c] = p.target_stds[c];
        args.num_classes = b.num_classes, args.dtype = AA_FLOAT32;
        for (int32_t i = 0; i < b.num_images; ++i)
            for (int64_t k = b.offsets[i]; k < b.offsets[i + 1]; ++k) {
                const float *gt = b.gt_boxes + 4 * k;
                if (!(gt[2] > gt[0] && gt[3] > gt[1])) continue;
                double gx = (double)((gt[0] + gt[2]) / 2.0f), gy = (double)((gt[1] + gt[3]) / 2.0f);
                for (int64_t a = 0; a < b.num_anchors; a += 3) {
                    int64_t row = (int64_t)i * b.num_anchors + a;
                    float got = aa_lada_loss(args, (const aa_u8 *)b.logits, (const aa_u8 *)b.deltas, row,
                                             b.anchor_boxes + 4 * a, gt, b.labels[k], gx, gy);
                    float want = lada_bf_loss(&p, b.anchor_boxes + 4 * a, b.logits + row * b.num_classes,
                                              b.num_classes, b.deltas + row * 4, gt, b.labels[k]);
                    if (memcmp(&got, &want, 4) != 0)
                        fail_msg("trial %d image %d GT %lld anchor %lld: device %.9g brute force %.9g", trial,
                                 (int)i, (long long)k, (long long)a, got, want);
                    ++compared;
                }
            }
        head_batch_free(&b);
    }
    assert_true(compared > 1000);
    /* the threshold: mean, mean + unbiased std, one candidate */
    const float l[4] = {0.25f, 0.5f, 1.0f, 2.25f};
    assert_true(aa_lada_dynamic_threshold(0, l, 4) == 1.0);
    assert_true(aa_lada_dynamic_threshold(1, l, 4) == 1.0 + sqrt((0.5625 + 0.25 + 0.0 + 1.5625) / 3.0));
    assert_true(aa_lada_dynamic_threshold(1, l, 1) == 0.25);
    fprintf(stderr, "lada device loss: %lld losses bit-identical to the brute force\n", (long long)compared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(rounding),
        cmocka_unit_test(generator),
        cmocka_unit_test(device_helpers),
        cmocka_unit_test(lada_device_helpers),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
