/*
 * dump_paa.c - runs the CPU reference of PAA on real COCO images with synthetic head
 * outputs and writes inputs and outputs for paa_peer.py (mmdetection's PAAHead with
 * scikit-learn's GaussianMixture).
 *
 *   dump_paa DATA.csv OUT_DIR [FIRST_IMAGES=16] [CROWD_IMAGES=8]
 *
 * Images as dump_workload: the first FIRST_IMAGES, then CROWD_IMAGES more that hold a
 * crowd box. Anchors: coco-atss (PAA's anchor generator). Head: aa_wl_head_make,
 * float32, 91 classes (labels are COCO category ids), seed AA_WL_HEAD_SEED.
 *
 * Files (little-endian, C order; I images, A anchors, G GTs, C classes):
 *   anchors.f32 [A][4]  gt_boxes.f32 [G][4]  gt_crowd.u8 [G]  gt_labels.i32 [G]
 *   offsets.i64 [I+1]   deltas.f32 [I][A][4]
 *   logit_rows.i64 [R] (rows i*A+a pre-assigned to a GT)  logits.f32 [R][C]
 *   pre.gt_index.i32 [I][A]          aa_assign_max_iou with params.pre
 *   <v>.costs.f32 [I][A]             aa_paa_costs
 *   <v>.gt_index.i32 / .overlap.f32 / .labels.i32 [I][A]   aa_assign_paa
 * for v in mmdet (aa_paa_params_init) and original (aa_paa_params_init_original);
 * aa_assign_paa is also checked here to equal aa_assign_paa_costs on the dumped
 * pre-assignment and costs. manifest.json names it all.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchorassign.h"
#include "synthetic_head.h"
#include "workload.h"
#include "dump_io.h"



/* The chosen images' GTs as one ragged batch (arrays owned by the caller). */
typedef struct chosen_batch {
    int32_t num_images;
    int64_t *image_ids, *offsets;
    float *boxes;
    uint8_t *crowd;
    int32_t *labels;
} chosen_batch;

static void choose(const aa_wl_dataset *ds, int first_images, int crowd_images, chosen_batch *b)
{
    int32_t *chosen = xmalloc((size_t)ds->num_images * sizeof *chosen);
    int32_t n = 0;
    for (int32_t i = 0; i < first_images; ++i) chosen[n++] = i;
    for (int32_t i = first_images, found = 0; i < ds->num_images && found < crowd_images; ++i) {
        const aa_wl_image *im = &ds->images[i];
        int crowd = 0;
        for (int64_t k = im->first_box; k < im->first_box + im->num_boxes; ++k) crowd |= ds->iscrowd[k];
        if (crowd) chosen[n++] = i, ++found;
    }
    b->num_images = n;
    b->image_ids = xmalloc((size_t)n * sizeof(int64_t));
    b->offsets = xmalloc(((size_t)n + 1) * sizeof(int64_t));
    b->offsets[0] = 0;
    for (int32_t i = 0; i < n; ++i) {
        b->image_ids[i] = ds->images[chosen[i]].image_id;
        b->offsets[i + 1] = b->offsets[i] + ds->images[chosen[i]].num_boxes;
    }
    size_t total = (size_t)b->offsets[n];
    b->boxes = xmalloc(total * 4 * sizeof(float));
    b->crowd = xmalloc(total);
    b->labels = xmalloc(total * sizeof(int32_t));
    for (int32_t i = 0; i < n; ++i) {
        const aa_wl_image *im = &ds->images[chosen[i]];
        size_t at = (size_t)b->offsets[i], count = (size_t)im->num_boxes;
        memcpy(b->boxes + 4 * at, ds->boxes + 4 * im->first_box, count * 4 * sizeof(float));
        memcpy(b->crowd + at, ds->iscrowd + im->first_box, count);
        memcpy(b->labels + at, ds->category_ids + im->first_box, count * sizeof(int32_t));
    }
    free(chosen);
}

/* One variant: costs, the whole of PAA, and the check against the composed calls. */
static void run_variant(aa_context *ctx, const char *name, const aa_paa_params *p,
                        const aa_anchors *a, const aa_gts *gts, const aa_head_outputs *head,
                        const int32_t *pre, size_t n)
{
    float *costs = xmalloc(n * sizeof(float));
    aa_assignment out = {xmalloc(n * sizeof(int32_t)), xmalloc(n * sizeof(float)),
                         xmalloc(n * sizeof(int32_t))};
    aa_assignment again = {xmalloc(n * sizeof(int32_t)), xmalloc(n * sizeof(float)),
                           xmalloc(n * sizeof(int32_t))};
    check(ctx, aa_paa_costs(ctx, p, a, gts, head, pre, costs), "aa_paa_costs");
    check(ctx, aa_assign_paa(ctx, p, a, gts, head, &out, NULL, 0), "aa_assign_paa");
    check(ctx, aa_assign_paa_costs(ctx, p, a, gts, pre, costs, &again, NULL, 0),
          "aa_assign_paa_costs");
    if (memcmp(out.gt_index, again.gt_index, n * 4) || memcmp(out.overlap, again.overlap, n * 4) ||
        memcmp(out.labels, again.labels, n * 4))
        die(name, "aa_assign_paa differs from aa_assign_paa_costs on its own pre-assignment");
    char file[256];
    snprintf(file, sizeof file, "%s.costs.f32", name);
    write_raw(file, costs, n * sizeof(float));
    snprintf(file, sizeof file, "%s.gt_index.i32", name);
    write_raw(file, out.gt_index, n * sizeof(int32_t));
    snprintf(file, sizeof file, "%s.overlap.f32", name);
    write_raw(file, out.overlap, n * sizeof(float));
    snprintf(file, sizeof file, "%s.labels.i32", name);
    write_raw(file, out.labels, n * sizeof(int32_t));
    free(costs);
    free(out.gt_index), free(out.overlap), free(out.labels);
    free(again.gt_index), free(again.overlap), free(again.labels);
}

static void write_manifest(const char *source, const chosen_batch *b, const aa_anchors *a,
                           int32_t num_classes, int64_t logit_rows)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dump_out_dir);
    FILE *m = fopen(path, "w");
    if (!m) die(path, strerror(errno));
    fprintf(m, "{\n  \"source\": \"%s\",\n  \"num_images\": %d,\n  \"num_gts\": %lld,\n", source,
            (int)b->num_images, (long long)b->offsets[b->num_images]);
    fprintf(m, "  \"num_anchors\": %lld,\n  \"num_classes\": %d,\n  \"logit_rows\": %lld,\n",
            (long long)a->num_anchors, (int)num_classes, (long long)logit_rows);
    fprintf(m, "  \"head_seed\": %llu,\n  \"image_ids\": [", (unsigned long long)AA_WL_HEAD_SEED);
    for (int32_t i = 0; i < b->num_images; ++i)
        fprintf(m, "%s%lld", i ? ", " : "", (long long)b->image_ids[i]);
    fprintf(m, "],\n  \"level_counts\": [");
    for (int l = 0; l < a->num_levels; ++l)
        fprintf(m, "%s%lld", l ? ", " : "", (long long)a->level_counts[l]);
    /* the knobs paa_peer.py must use; the rest are mmdetection's PAA config */
    fprintf(m, "],\n  \"variants\": {\n"
               "    \"mmdet\": {\"covariance\": \"diag\", \"giou_weight\": 1.3, "
               "\"single_candidate_positive\": 0},\n"
               "    \"original\": {\"covariance\": \"full\", \"giou_weight\": 1.0, "
               "\"single_candidate_positive\": 1}\n  }\n}\n");
    if (fclose(m) != 0) die(path, strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: dump_paa DATA.csv OUT_DIR [FIRST_IMAGES=16] [CROWD_IMAGES=8]\n");
        return 2;
    }
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1) die("byte order", "this program writes little-endian files");
    dump_out_dir = argv[2];
    dump_program = "dump_paa";
    int first_images = argc > 3 ? atoi(argv[3]) : 16;
    int crowd_images = argc > 4 ? atoi(argv[4]) : 8;

    aa_wl_dataset ds;
    aa_wl_error err;
    if (aa_wl_load(argv[1], AA_WL_FORMAT_AUTO, &ds, &err) != AA_WL_OK) die("load", err.message);
    if (first_images < 0 || first_images > ds.num_images) die("FIRST_IMAGES", "out of range");
    chosen_batch b;
    choose(&ds, first_images, crowd_images, &b);
    aa_gts gts = {b.boxes, b.offsets, b.num_images, b.crowd, b.labels, NULL};
    int64_t total = b.offsets[b.num_images];

    aa_wl_anchor_set set;
    if (aa_wl_anchor_set_make(AA_WL_ANCHORS_ATSS, AA_WL_CANVAS_H, AA_WL_CANVAS_W, &set, &err) != AA_WL_OK)
        die("anchor set", err.message);
    const aa_anchors *a = &set.anchors;
    const int32_t C = AA_WL_COCO_CLASSES;
    aa_wl_head head;
    if (aa_wl_head_make(a, &gts, C, AA_FLOAT32, AA_WL_HEAD_SEED, &head, &err) != AA_WL_OK)
        die("head", err.message);

    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = AA_BACKEND_CPU;
    aa_context *ctx = NULL;
    if (aa_context_create(&ctx, &opt) != AA_SUCCESS) die("aa_context_create", aa_context_create_error());

    size_t n = (size_t)b.num_images * (size_t)a->num_anchors;
    aa_paa_params mmdet, original;
    aa_paa_params_init(&mmdet);
    aa_paa_params_init_original(&original);
    int32_t *pre = xmalloc(n * sizeof(int32_t));
    aa_assignment pre_out = {pre, NULL, NULL};
    check(ctx, aa_assign_max_iou(ctx, &mmdet.pre, a, &gts, &pre_out, NULL, 0), "aa_assign_max_iou");

    /* logits only where a cost reads them (the whole array is ~200 MB) */
    int64_t rows = 0;
    for (size_t r = 0; r < n; ++r) rows += pre[r] >= 0;
    int64_t *row_index = xmalloc((size_t)rows * sizeof(int64_t));
    float *logits = xmalloc((size_t)rows * (size_t)C * sizeof(float));
    for (size_t r = 0, k = 0; r < n; ++r)
        if (pre[r] >= 0) {
            row_index[k] = (int64_t)r;
            memcpy(logits + k * (size_t)C, (const float *)head.cls_logits + r * (size_t)C,
                   (size_t)C * sizeof(float));
            ++k;
        }

    write_raw("anchors.f32", set.boxes, (size_t)a->num_anchors * 4 * sizeof(float));
    write_raw("gt_boxes.f32", b.boxes, (size_t)total * 4 * sizeof(float));
    write_raw("gt_crowd.u8", b.crowd, (size_t)total);
    write_raw("gt_labels.i32", b.labels, (size_t)total * sizeof(int32_t));
    write_raw("offsets.i64", b.offsets, ((size_t)b.num_images + 1) * sizeof(int64_t));
    write_raw("deltas.f32", head.bbox_deltas, n * 4 * sizeof(float));
    write_raw("logit_rows.i64", row_index, (size_t)rows * sizeof(int64_t));
    write_raw("logits.f32", logits, (size_t)rows * (size_t)C * sizeof(float));
    write_raw("pre.gt_index.i32", pre, n * sizeof(int32_t));
    run_variant(ctx, "mmdet", &mmdet, a, &gts, &head.head, pre, n);
    run_variant(ctx, "original", &original, a, &gts, &head.head, pre, n);
    write_manifest(argv[1], &b, a, C, rows);
    printf("dump_paa: %d images, %lld GTs, %lld pre-assigned anchors -> %s\n", (int)b.num_images,
           (long long)total, (long long)rows, dump_out_dir);

    aa_context_destroy(ctx);
    aa_wl_head_free(&head);
    aa_wl_anchor_set_free(&set);
    free(pre), free(row_index), free(logits);
    free(b.image_ids), free(b.offsets), free(b.boxes), free(b.crowd), free(b.labels);
    aa_wl_dataset_free(&ds);
    return 0;
}
