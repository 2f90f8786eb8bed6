/*
 * dump_workload.c - runs the CPU reference assigners on real COCO images and writes
 * their inputs and outputs as raw little-endian files plus a JSON manifest, for
 * mmdet_peer.py to compare with a step-by-step PyTorch port of mmdetection.
 *
 *   dump_workload DATA.csv OUT_DIR [FIRST_IMAGES=16] [CROWD_IMAGES=8]
 *
 * Images: the first FIRST_IMAGES of the file, then the first CROWD_IMAGES after
 * them that hold a crowd box (the first images of the shipped subset have none, and
 * the ignore path must be compared too). Every run covers all the chosen images.
 *
 * Files (all little-endian, C order):
 *   anchors_<set>.f32 [A][4]   gt_boxes.f32 [G][4]   gt_crowd.u8 [G]
 *   gt_labels.i32 [G]          offsets.i64 [I+1]
 *   <run>.gt_index.i32, <run>.overlap.f32, <run>.labels.i32   [I][A of the run's set]
 * manifest.json names them and gives level counts, strides and run parameters.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchorassign.h"
#include "workload.h"
#include "dump_io.h"


/* The library is little-endian only in the files it writes here. */
static void require_little_endian(void)
{
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1) die("byte order", "this test writes little-endian files");
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: dump_workload DATA.csv OUT_DIR [FIRST_IMAGES=16] [CROWD_IMAGES=8]\n");
        return 2;
    }
    require_little_endian();
    dump_out_dir = argv[2];
    dump_program = "dump_workload";
    int first_images = argc > 3 ? atoi(argv[3]) : 16;
    int crowd_images = argc > 4 ? atoi(argv[4]) : 8;

    aa_wl_dataset ds;
    aa_wl_error err;
    if (aa_wl_load(argv[1], AA_WL_FORMAT_AUTO, &ds, &err) != AA_WL_OK) die("load", err.message);
    if (first_images < 0 || first_images > ds.num_images) die("FIRST_IMAGES", "out of range");

    /* ---- choose the images and gather their GTs into one ragged batch */
    int32_t *chosen = xmalloc((size_t)ds.num_images * sizeof *chosen);
    int32_t num_images = 0;
    for (int32_t i = 0; i < first_images; ++i) chosen[num_images++] = i;
    for (int32_t i = first_images, found = 0; i < ds.num_images && found < crowd_images; ++i) {
        const aa_wl_image *im = &ds.images[i];
        int crowd = 0;
        for (int64_t b = im->first_box; b < im->first_box + im->num_boxes; ++b) crowd |= ds.iscrowd[b];
        if (crowd) chosen[num_images++] = i, ++found;
    }
    int64_t *offsets = xmalloc(((size_t)num_images + 1) * sizeof *offsets);
    offsets[0] = 0;
    for (int32_t i = 0; i < num_images; ++i)
        offsets[i + 1] = offsets[i] + ds.images[chosen[i]].num_boxes;
    int64_t total = offsets[num_images];
    float *boxes = xmalloc((size_t)total * 4 * sizeof *boxes);
    uint8_t *crowd = xmalloc((size_t)total);
    int32_t *labels = xmalloc((size_t)total * sizeof *labels);
    for (int32_t i = 0; i < num_images; ++i) {
        const aa_wl_image *im = &ds.images[chosen[i]];
        memcpy(boxes + 4 * offsets[i], ds.boxes + 4 * im->first_box,
               (size_t)im->num_boxes * 4 * sizeof *boxes);
        memcpy(crowd + offsets[i], ds.iscrowd + im->first_box, (size_t)im->num_boxes);
        memcpy(labels + offsets[i], ds.category_ids + im->first_box,
               (size_t)im->num_boxes * sizeof *labels);
    }
    aa_gts gts = {boxes, offsets, num_images, crowd, labels, NULL};
    write_raw("gt_boxes.f32", boxes, (size_t)total * 4 * sizeof *boxes);
    write_raw("gt_crowd.u8", crowd, (size_t)total);
    write_raw("gt_labels.i32", labels, (size_t)total * sizeof *labels);
    write_raw("offsets.i64", offsets, ((size_t)num_images + 1) * sizeof *offsets);

    /* ---- the three anchor sets */
    static const aa_wl_anchor_kind kinds[3] = {AA_WL_ANCHORS_RETINA, AA_WL_ANCHORS_ATSS,
                                               AA_WL_POINTS_FCOS};
    aa_wl_anchor_set sets[3];
    for (int s = 0; s < 3; ++s) {
        if (aa_wl_anchor_set_make(kinds[s], AA_WL_CANVAS_H, AA_WL_CANVAS_W, &sets[s], &err) !=
            AA_WL_OK)
            die("anchor set", err.message);
        char name[256];
        snprintf(name, sizeof name, "anchors_%s.f32", sets[s].name);
        write_raw(name, sets[s].boxes, (size_t)sets[s].anchors.num_anchors * 4 * sizeof(float));
    }

    /* ---- the runs */
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = AA_BACKEND_CPU;
    aa_context *ctx = NULL;
    aa_status st = aa_context_create(&ctx, &opt);
    if (st != AA_SUCCESS) die("aa_context_create", aa_status_string(st));

    enum { MAX_IOU, ATSS, FCOS };
    struct run {
        const char *name;
        int assigner, set;
        float ignore_iof_thr;
        int ignore_wrt_candidates; /* max-IoU: IoF over the anchor (1) or the crowd box (0) */
        int center_sampling;
    } runs[] = {
        {"max_iou", MAX_IOU, 0, -1.0f, 1, 0},
        {"max_iou_ignore", MAX_IOU, 0, 0.5f, 1, 0},
        {"max_iou_ignore_wrt_gt", MAX_IOU, 0, 0.5f, 0, 0},
        {"atss", ATSS, 1, -1.0f, 1, 0},
        {"atss_ignore", ATSS, 1, 0.5f, 1, 0},
        {"fcos", FCOS, 2, -1.0f, 1, 0},
        {"fcos_center_sampling", FCOS, 2, -1.0f, 1, 1},
    };
    const int num_runs = (int)(sizeof runs / sizeof runs[0]);

    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dump_out_dir);
    FILE *m = fopen(path, "w");
    if (!m) die(path, strerror(errno));
    fprintf(m, "{\n  \"source\": \"%s\",\n  \"num_images\": %d,\n  \"num_gts\": %lld,\n",
            argv[1], (int)num_images, (long long)total);
    fprintf(m, "  \"canvas\": [%d, %d],\n  \"image_ids\": [", AA_WL_CANVAS_H, AA_WL_CANVAS_W);
    for (int32_t i = 0; i < num_images; ++i)
        fprintf(m, "%s%lld", i ? ", " : "", (long long)ds.images[chosen[i]].image_id);
    fprintf(m, "],\n  \"anchor_sets\": {\n");
    for (int s = 0; s < 3; ++s) {
        const aa_anchors *a = &sets[s].anchors;
        fprintf(m, "    \"%s\": {\"file\": \"anchors_%s.f32\", \"num_anchors\": %lld, \"level_counts\": [",
                sets[s].name, sets[s].name, (long long)a->num_anchors);
        for (int l = 0; l < a->num_levels; ++l)
            fprintf(m, "%s%lld", l ? ", " : "", (long long)a->level_counts[l]);
        fprintf(m, "], \"strides\": [");
        for (int l = 0; l < a->num_levels; ++l)
            fprintf(m, "%s%.9g", l ? ", " : "", (double)a->level_strides[l]);
        fprintf(m, "]}%s\n", s < 2 ? "," : "");
    }
    fprintf(m, "  },\n  \"runs\": [\n");

    for (int r = 0; r < num_runs; ++r) {
        const struct run *run = &runs[r];
        const aa_anchors *a = &sets[run->set].anchors;
        size_t n = (size_t)num_images * (size_t)a->num_anchors;
        aa_assignment out = {xmalloc(n * sizeof(int32_t)), xmalloc(n * sizeof(float)),
                             xmalloc(n * sizeof(int32_t))};
        if (run->assigner == MAX_IOU) {
            aa_max_iou_params p;
            aa_max_iou_params_init(&p);
            p.ignore_iof_thr = run->ignore_iof_thr;
            p.ignore_wrt_candidates = run->ignore_wrt_candidates;
            check(ctx, aa_assign_max_iou(ctx, &p, a, &gts, &out, NULL, 0), "aa_assign_max_iou");
        } else if (run->assigner == ATSS) {
            aa_atss_params p;
            aa_atss_params_init(&p);
            p.ignore_iof_thr = run->ignore_iof_thr;
            check(ctx, aa_assign_atss(ctx, &p, a, &gts, &out, NULL, 0), "aa_assign_atss");
        } else {
            aa_fcos_params p;
            aa_fcos_params_init(&p);
            p.center_sampling = run->center_sampling;
            check(ctx, aa_assign_fcos(ctx, &p, a, &gts, &out, NULL, 0), "aa_assign_fcos");
        }
        char name[256];
        snprintf(name, sizeof name, "%s.gt_index.i32", run->name);
        write_raw(name, out.gt_index, n * sizeof(int32_t));
        snprintf(name, sizeof name, "%s.overlap.f32", run->name);
        write_raw(name, out.overlap, n * sizeof(float));
        snprintf(name, sizeof name, "%s.labels.i32", run->name);
        write_raw(name, out.labels, n * sizeof(int32_t));
        fprintf(m,
                "    {\"name\": \"%s\", \"assigner\": \"%s\", \"anchors\": \"%s\", "
                "\"ignore_iof_thr\": %.9g, \"ignore_wrt_candidates\": %d, "
                "\"center_sampling\": %d}%s\n",
                run->name,
                run->assigner == MAX_IOU ? "max_iou" : run->assigner == ATSS ? "atss" : "fcos",
                sets[run->set].name, (double)run->ignore_iof_thr, run->ignore_wrt_candidates,
                run->center_sampling,
                r + 1 < num_runs ? "," : "");
        free(out.gt_index);
        free(out.overlap);
        free(out.labels);
    }
    fprintf(m, "  ]\n}\n");
    if (fclose(m) != 0) die(path, strerror(errno));

    int64_t num_crowd = 0;
    for (int64_t g = 0; g < total; ++g) num_crowd += crowd[g] != 0;
    printf("dump_workload: %d images (%d first, %d with crowd boxes), %lld GTs (%lld crowd), "
           "%d runs -> %s\n",
           (int)num_images, first_images, (int)num_images - first_images, (long long)total,
           (long long)num_crowd, num_runs, dump_out_dir);

    aa_context_destroy(ctx);
    for (int s = 0; s < 3; ++s) aa_wl_anchor_set_free(&sets[s]);
    free(boxes), free(crowd), free(labels), free(offsets), free(chosen);
    aa_wl_dataset_free(&ds);
    return 0;
}
