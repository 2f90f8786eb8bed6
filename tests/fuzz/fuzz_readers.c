/*
 * fuzz_readers.c - libFuzzer target for the CLI's file readers (tools/workload.c):
 * the input is handed, as it is, to aa_wl_parse_csv and to aa_wl_parse_coco (both
 * take a buffer and its length; the buffer is not NUL-terminated).
 *
 * Aborts when:
 *   - a reader fails with a status outside aa_wl_status, or with a message that is
 *     empty, not one line, or not NUL-terminated within AA_WL_MESSAGE_SIZE;
 *   - a failed reader leaves a non-empty dataset;
 *   - a dataset breaks its documented shape: images' boxes contiguous and in order,
 *     counts summing to num_boxes, sides 1..AA_WL_MAX_SIDE, resized sides >= 1,
 *     finite boxes with x2 >= x1 and y2 >= y1, iscrowd 0 or 1, category >= 0;
 *   - the first images of a successful read, as a batch (aa_wl_batch_make), do not
 *     assign: each of max-IoU, ATSS and FCOS on a small anchor / point set must
 *     succeed, or fail with AA_ERR_INVALID_BOX (a box the loader accepts but which
 *     exceeds AA_MAX_COORD once resized) with a message; gt_index must be in range.
 * AddressSanitizer and UndefinedBehaviorSanitizer catch the rest.
 */
#include "anchorassign.h"
#include "workload.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { BATCH_IMAGES = 4 };

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nfuzz_readers: invariant violated: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) die(__VA_ARGS__);                                                           \
    } while (0)

/* A small anchor set and point set on the loader's canvas (strides 64 and 128: 350
 * locations), made once. */
static aa_context *ctx;
static float *anchor_boxes, *point_boxes;
static int64_t anchor_counts[2], point_counts[2], num_anchors, num_points;
static const float strides[2] = {64.0f, 128.0f};

static void setup(void)
{
    if (ctx) return;
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CPU;
    CHECK(aa_context_create(&ctx, &o) == AA_SUCCESS, "no CPU context");
    aa_anchor_params p;
    aa_anchor_params_init(&p);
    p.num_levels = 2, p.strides[0] = strides[0], p.strides[1] = strides[1];
    p.num_ratios = 1, p.ratios[0] = 1.0f, p.octave_base_scale = 8, p.scales_per_octave = 1;
    CHECK(aa_anchor_count(ctx, &p, AA_WL_CANVAS_H, AA_WL_CANVAS_W, anchor_counts, &num_anchors) == AA_SUCCESS,
          "aa_anchor_count: %s", aa_context_last_error(ctx));
    anchor_boxes = malloc((size_t)num_anchors * 4 * sizeof(float));
    CHECK(anchor_boxes != NULL, "out of memory");
    CHECK(aa_anchor_generate(ctx, &p, AA_WL_CANVAS_H, AA_WL_CANVAS_W, anchor_boxes, num_anchors) == AA_SUCCESS,
          "aa_anchor_generate: %s", aa_context_last_error(ctx));
    CHECK(aa_point_generate(ctx, 2, strides, 0.5f, AA_WL_CANVAS_H, AA_WL_CANVAS_W, NULL, 0, point_counts,
                            &num_points) == AA_SUCCESS, "aa_point_generate: %s", aa_context_last_error(ctx));
    point_boxes = malloc((size_t)num_points * 4 * sizeof(float));
    CHECK(point_boxes != NULL, "out of memory");
    CHECK(aa_point_generate(ctx, 2, strides, 0.5f, AA_WL_CANVAS_H, AA_WL_CANVAS_W, point_boxes, num_points,
                            point_counts, &num_points) == AA_SUCCESS, "aa_point_generate: %s",
          aa_context_last_error(ctx));
}

static void check_error(const char *reader, aa_wl_status st, const aa_wl_error *err,
                        const aa_wl_dataset *ds)
{
    CHECK(st >= AA_WL_ERR_IO && st <= AA_WL_ERR_LIBRARY, "%s: status %d", reader, (int)st);
    CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "%s: message not terminated", reader);
    CHECK(err->message[0] != '\0', "%s: failed (%d) with an empty message", reader, (int)st);
    CHECK(strchr(err->message, '\n') == NULL && strchr(err->message, '\r') == NULL,
          "%s: message is not one line: %s", reader, err->message);
    CHECK(ds->num_images == 0 && ds->num_boxes == 0 && ds->images == NULL && ds->boxes == NULL,
          "%s: failed but left a dataset", reader);
}

static void check_dataset(const char *reader, const aa_wl_dataset *ds)
{
    CHECK(ds->num_images >= 0 && ds->num_boxes >= 0, "%s: negative counts", reader);
    int64_t next = 0;
    for (int32_t i = 0; i < ds->num_images; ++i) {
        const aa_wl_image *im = &ds->images[i];
        CHECK(im->first_box == next && im->num_boxes >= 0, "%s: image %d: boxes not contiguous", reader, (int)i);
        next += im->num_boxes;
        CHECK(im->width >= 1 && im->width <= AA_WL_MAX_SIDE && im->height >= 1 && im->height <= AA_WL_MAX_SIDE,
              "%s: image %d is %dx%d", reader, (int)i, (int)im->width, (int)im->height);
        CHECK(im->resized_w >= 1 && im->resized_h >= 1 && im->resized_w <= AA_WL_CANVAS_W &&
                  im->resized_h <= AA_WL_CANVAS_H,
              "%s: image %d resized to %dx%d", reader, (int)i, (int)im->resized_w, (int)im->resized_h);
        CHECK(isfinite(im->scale_x) && im->scale_x > 0 && isfinite(im->scale_y) && im->scale_y > 0,
              "%s: image %d scale %g x %g", reader, (int)i, (double)im->scale_x, (double)im->scale_y);
    }
    CHECK(next == ds->num_boxes, "%s: images hold %lld boxes of %lld", reader, (long long)next,
          (long long)ds->num_boxes);
    for (int64_t k = 0; k < ds->num_boxes; ++k) {
        const float *o = ds->orig_boxes + 4 * k, *s = ds->boxes + 4 * k;
        for (int c = 0; c < 4; ++c)
            CHECK(isfinite(o[c]) && isfinite(s[c]), "%s: box %lld not finite", reader, (long long)k);
        CHECK(o[2] >= o[0] && o[3] >= o[1] && s[2] >= s[0] && s[3] >= s[1], "%s: box %lld inverted", reader,
              (long long)k);
        CHECK(ds->iscrowd[k] <= 1, "%s: iscrowd %d", reader, (int)ds->iscrowd[k]);
        CHECK(ds->category_ids[k] >= 0, "%s: category %d", reader, (int)ds->category_ids[k]);
    }
}

/* The first images as a batch, through the three assigners. */
static void assign_batch(const char *reader, const aa_wl_dataset *ds)
{
    int32_t count = ds->num_images < BATCH_IMAGES ? ds->num_images : BATCH_IMAGES;
    aa_wl_batch batch;
    aa_wl_error err;
    memset(&err, 0, sizeof err);
    aa_wl_status ws = aa_wl_batch_make(ds, 0, count, &batch, &err);
    CHECK(ws == AA_WL_OK, "%s: aa_wl_batch_make: %s", reader, err.message);
    CHECK(batch.gts.num_images == count, "%s: batch of %d images", reader, (int)batch.gts.num_images);
    aa_anchors anchors = {anchor_boxes, num_anchors, 2, anchor_counts, strides};
    aa_anchors points = {point_boxes, num_points, 2, point_counts, strides};
    int64_t n = num_anchors > num_points ? num_anchors : num_points;
    size_t elements = (size_t)count * (size_t)n;
    int32_t *gt_index = malloc((elements ? elements : 1) * sizeof(int32_t));
    float *overlap = malloc((elements ? elements : 1) * sizeof(float));
    int32_t *labels = malloc((elements ? elements : 1) * sizeof(int32_t));
    CHECK(gt_index && overlap && labels, "out of memory");
    aa_assignment out = {gt_index, overlap, labels};
    aa_fcos_params fp;
    aa_fcos_params_init(&fp);
    fp.num_regress_ranges = 2, fp.regress_lo[0] = -1, fp.regress_hi[0] = 64, fp.regress_lo[1] = 64,
    fp.regress_hi[1] = 1e8f;
    aa_max_iou_params mp;
    aa_max_iou_params_init(&mp);
    mp.ignore_iof_thr = 0.5f;
    for (int w = 0; w < 3; ++w) {
        const aa_anchors *a = w == 2 ? &points : &anchors;
        aa_status st = w == 0 ? aa_assign_max_iou(ctx, &mp, a, &batch.gts, &out, NULL, 0)
                     : w == 1 ? aa_assign_atss(ctx, NULL, a, &batch.gts, &out, NULL, 0)
                              : aa_assign_fcos(ctx, &fp, a, &batch.gts, &out, NULL, 0);
        if (st != AA_SUCCESS) {
            const char *msg = aa_context_last_error(ctx);
            CHECK(st == AA_ERR_INVALID_BOX, "%s: assigner %d: %s: %s", reader, w, aa_status_string(st), msg);
            CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL, "%s: assigner %d: bad message", reader, w);
            continue;
        }
        for (int32_t i = 0; i < count; ++i) {
            int64_t gts = batch.offsets[i + 1] - batch.offsets[i];
            for (int64_t k = 0; k < a->num_anchors; ++k) {
                int32_t v = gt_index[(int64_t)i * a->num_anchors + k];
                CHECK(v >= AA_IGNORED && v < gts, "%s: assigner %d: gt_index %d with %lld GTs", reader, w,
                      (int)v, (long long)gts);
            }
        }
    }
    free(gt_index), free(overlap), free(labels);
    aa_wl_batch_free(&batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    /* libFuzzer's buffer is exactly `size` bytes: a read past it is caught. */
    const char *text = (const char *)data;
    for (int r = 0; r < 2; ++r) {
        const char *reader = r == 0 ? "aa_wl_parse_csv" : "aa_wl_parse_coco";
        aa_wl_dataset ds;
        aa_wl_error err;
        memset(&err, 0, sizeof err);
        memset(&ds, 0xCD, sizeof ds); /* the reader must initialise it */
        aa_wl_status st = r == 0 ? aa_wl_parse_csv("fuzz.csv", text, size, &ds, &err)
                                 : aa_wl_parse_coco("fuzz.json", text, size, &ds, &err);
        if (st != AA_WL_OK) {
            check_error(reader, st, &err, &ds);
            aa_wl_dataset_free(&ds);
            continue;
        }
        check_dataset(reader, &ds);
        assign_batch(reader, &ds);
        aa_wl_dataset_free(&ds);
    }
    return 0;
}
