/*
 * bench_workloads - writes the benchmark workloads (bench_cases.h) for bench/peers.py,
 * so that the peers run on exactly the inputs bench_assign times:
 *
 *   bench_workloads DIR      (DIR is created if missing)
 *
 * DIR/manifest.json lists the workloads (images, GTs, description, files), the cases
 * (workload, assigner, anchor set name) and the canvas; per workload W:
 *   W.gt_boxes.f32  [num_gts][4] x1,y1,x2,y2, float32 little-endian
 *   W.offsets.i64   [images + 1]
 *   W.crowd.u8      [num_gts] 0/1
 *   W.labels.i32    [num_gts] category ids
 * The anchor sets themselves are not written: peers.py generates them with the Python
 * binding (aa.anchors / aa.points), which calls the same generator.
 * Also the Gaussian-mixture segments of gmm_fit/coco-atss (PAA's own, bench_cases.h;
 * manifest key "gmm_segments"), for the scikit-learn peer:
 *   paa-gmm.points.f32   [points] float32 costs, segment by segment
 *   paa-gmm.offsets.i64  [segments + 1]
 * (their values go through exp and log, so they are not pinned by a hash).
 *
 *   bench_workloads --synthetic dense|extreme IMAGES BOXES DIR
 *
 * writes one synthetic workload of IMAGES images of BOXES boxes each instead, named
 * KIND-IMAGESxBOXES, in the same format (manifest "cases": atss and max_iou on
 * coco-atss); the generator is prefix-stable, so a sweep's points nest (bench/scaling.py).
 * Also prints one line per workload to stdout: GTs, mean box size and an FNV-1a 64 hash of
 * the GT boxes' bytes (the CTest bench.workloads pins them: a change to a workload's
 * definition must be deliberate), and checks the synthetic boxes against their documented
 * ranges (workload.h): exit status 1 if one is out of range.
 */
#define _POSIX_C_SOURCE 200809L /* mkdir */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "anchorassign.h"
#include "bench_cases.h"
#include "synthetic_head.h"
#include "workload.h"

static const char *anchor_set_name(aa_wl_anchor_kind k)
{
    switch (k) {
    case AA_WL_ANCHORS_RETINA: return "coco-retina";
    case AA_WL_ANCHORS_ATSS: return "coco-atss";
    default: return "fcos-points";
    }
}

static uint64_t fnv1a64(const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* The documented ranges of a synthetic workload (workload.h); returns the number of
 * boxes outside them, printing the first. */
static long check_synthetic(const char *name, aa_wl_synthetic kind, const aa_gts *g)
{
    long bad = 0;
    int64_t G = g->offsets[g->num_images];
    for (int64_t k = 0; k < G; ++k) {
        const float *b = &g->boxes[4 * k];
        double w = (double)b[2] - b[0], h = (double)b[3] - b[1];
        int ok = b[0] >= 0 && b[1] >= 0 && b[2] <= AA_WL_RESIZE_W && b[3] <= AA_WL_RESIZE_H &&
                 g->ignore_flags[k] == 0;
        if (kind == AA_WL_SYNTH_DENSE)
            ok = ok && h >= 30 - 1e-3 && h <= 300 + 1e-3 && h / w >= 1.5 - 1e-3 &&
                 h / w <= 3.5 + 1e-3;
        else
            ok = ok && w >= 8 - 1e-3 && w <= 40 + 1e-3 && h >= 8 - 1e-3 && h <= 40 + 1e-3;
        if (!ok && bad++ == 0)
            fprintf(stderr, "bench_workloads: %s: box %lld (%g, %g, %g, %g) out of its range\n",
                    name, (long long)k, b[0], b[1], b[2], b[3]);
    }
    return bad;
}

/* The segments of gmm_fit/coco-atss (bench_cases.h) from that workload's batch. */
static int make_gmm_segments(const aa_gts *batch_gts, bench_segments *seg)
{
    aa_wl_anchor_set set;
    aa_wl_error err = {{0}};
    aa_wl_head head;
    aa_context *cpu = NULL;
    char msg[AA_WL_MESSAGE_SIZE + 64] = "";
    int rc = -1;
    memset(&head, 0, sizeof head);
    if (aa_wl_anchor_set_make(AA_WL_ANCHORS_ATSS, AA_WL_CANVAS_H, AA_WL_CANVAS_W, &set, &err) !=
        AA_WL_OK) {
        fprintf(stderr, "bench_workloads: anchors: %s\n", err.message);
        return -1;
    }
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = AA_BACKEND_CPU;
    aa_paa_params p;
    aa_paa_params_init(&p);
    if (aa_context_create(&cpu, &opt) != AA_SUCCESS)
        snprintf(msg, sizeof msg, "cpu context: %s", aa_context_create_error());
    else if (aa_wl_head_make(&set.anchors, batch_gts, AA_WL_COCO_CLASSES, AA_FLOAT32,
                             AA_WL_HEAD_SEED, &head, &err) != AA_WL_OK)
        snprintf(msg, sizeof msg, "synthetic head: %s", err.message);
    else if (bench_paa_segments(cpu, &p, &set.anchors, batch_gts, &head.head, seg, msg,
                                sizeof msg) == 0)
        rc = 0;
    if (rc != 0)
        fprintf(stderr, "bench_workloads: gmm segments: %s\n", msg);
    aa_wl_head_free(&head);
    aa_context_destroy(cpu);
    aa_wl_anchor_set_free(&set);
    return rc;
}

static int write_file(const char *dir, const char *workload, const char *suffix,
                      const void *data, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, workload, suffix);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (bytes > 0 && fwrite(data, 1, bytes, f) != bytes) || fclose(f) != 0) {
        fprintf(stderr, "bench_workloads: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* Writes one workload's arrays and prints its summary line; 0 on success. */
static int write_workload(const char *dir, const char *name, const aa_wl_batch *b, int synthetic,
                          aa_wl_synthetic kind, int64_t *crowd_out, uint64_t *hash_out)
{
    int64_t G = b->offsets[b->gts.num_images];
    double sw = 0, sh = 0;
    int64_t crowd = 0;
    for (int64_t g = 0; g < G; ++g) {
        sw += b->gts.boxes[4 * g + 2] - b->gts.boxes[4 * g];
        sh += b->gts.boxes[4 * g + 3] - b->gts.boxes[4 * g + 1];
        crowd += b->gts.ignore_flags[g] != 0;
    }
    uint64_t hash = fnv1a64(b->gts.boxes, (size_t)G * 16);
    printf("%-12s %2d images, %6lld GTs (%lld crowd), mean box %.1f x %.1f px, "
           "boxes fnv1a64 %016llx\n",
           name, b->gts.num_images, (long long)G, (long long)crowd, G ? sw / G : 0.0,
           G ? sh / G : 0.0, (unsigned long long)hash);
    *crowd_out = crowd, *hash_out = hash;
    if (synthetic && check_synthetic(name, kind, &b->gts) != 0) return 1;
    if (write_file(dir, name, "gt_boxes.f32", b->gts.boxes, (size_t)G * 16) != 0 ||
        write_file(dir, name, "offsets.i64", b->offsets,
                   (size_t)(b->gts.num_images + 1) * sizeof(int64_t)) != 0 ||
        write_file(dir, name, "crowd.u8", b->gts.ignore_flags, (size_t)G) != 0 ||
        write_file(dir, name, "labels.i32", b->gts.labels, (size_t)G * 4) != 0)
        return 1;
    return 0;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_workloads: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* --synthetic KIND IMAGES BOXES DIR: one synthetic workload of any size. */
static int synthetic_main(char **argv)
{
    const char *kind_name = argv[2], *dir = argv[5];
    aa_wl_synthetic kind;
    if (strcmp(kind_name, "dense") == 0) kind = AA_WL_SYNTH_DENSE;
    else if (strcmp(kind_name, "extreme") == 0) kind = AA_WL_SYNTH_EXTREME;
    else {
        fprintf(stderr, "bench_workloads: --synthetic: unknown kind '%s' (dense, extreme)\n",
                kind_name);
        return 2;
    }
    char *end1, *end2;
    long images = strtol(argv[3], &end1, 10), boxes = strtol(argv[4], &end2, 10);
    if (*end1 || *end2 || images < 1 || images > AA_MAX_IMAGES || boxes < 1 || boxes > 1000000) {
        fprintf(stderr, "bench_workloads: --synthetic: IMAGES (1..%d) and BOXES (1..1000000) "
                        "must be integers, got '%s' and '%s'\n", AA_MAX_IMAGES, argv[3], argv[4]);
        return 2;
    }
    if (make_dir(dir) != 0) return 1;
    aa_wl_dataset ds;
    aa_wl_batch b;
    aa_wl_error err = {{0}};
    char name[96];
    snprintf(name, sizeof name, "%s-%ldx%ld", kind_name, images, boxes);
    if (aa_wl_synthetic_make(kind, (int32_t)images, (int32_t)boxes, AA_WL_SYNTH_SEED, &ds, &err) !=
            AA_WL_OK ||
        aa_wl_batch_make(&ds, 0, (int32_t)images, &b, &err) != AA_WL_OK) {
        fprintf(stderr, "bench_workloads: %s: %s\n", name, err.message);
        return 1;
    }
    int64_t crowd;
    uint64_t hash;
    int rc = write_workload(dir, name, &b, 1, kind, &crowd, &hash);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *m = rc == 0 ? fopen(path, "w") : NULL;
    if (m == NULL) rc = 1;
    else {
        fprintf(m, "{\n  \"anchorassign_version\": \"%s\",\n  \"canvas\": [%d, %d],\n"
                   "  \"images\": %ld,\n  \"synthetic_seed\": %u,\n  \"workloads\": {\n"
                   "    \"%s\": {\"num_images\": %ld, \"num_gts\": %lld, \"crowd\": %lld, "
                   "\"boxes_fnv1a64\": \"%016llx\", \"what\": \"%s, %ld boxes per image\"}\n  },\n"
                   "  \"cases\": [\n"
                   "    {\"workload\": \"%s\", \"assigner\": \"atss\", \"anchors\": \"coco-atss\"},\n"
                   "    {\"workload\": \"%s\", \"assigner\": \"max_iou\", \"anchors\": \"coco-atss\"}\n"
                   "  ]\n}\n",
                aa_version_string(), AA_WL_CANVAS_H, AA_WL_CANVAS_W, images,
                (unsigned)AA_WL_SYNTH_SEED, name, images, (long long)(images * boxes),
                (long long)crowd, (unsigned long long)hash, aa_wl_synthetic_name(kind), boxes,
                name, name);
        if (fclose(m) != 0) rc = 1;
    }
    aa_wl_batch_free(&b);
    aa_wl_dataset_free(&ds);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--synthetic") == 0) return synthetic_main(argv);
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr,
                "usage: bench_workloads DIR   (writes DIR/manifest.json and the GT arrays)\n"
                "       bench_workloads --synthetic dense|extreme IMAGES BOXES DIR\n");
        return argc == 2 ? 0 : 2;
    }
    const char *dir = argv[1];
    if (make_dir(dir) != 0) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *m = fopen(path, "w");
    if (m == NULL) {
        fprintf(stderr, "bench_workloads: cannot write %s\n", path);
        return 1;
    }
    fprintf(m, "{\n  \"anchorassign_version\": \"%s\",\n  \"canvas\": [%d, %d],\n"
               "  \"images\": %d,\n  \"synthetic_seed\": %u,\n  \"workloads\": {\n",
            aa_version_string(), AA_WL_CANVAS_H, AA_WL_CANVAS_W, BENCH_IMAGES,
            (unsigned)AA_WL_SYNTH_SEED);
    int rc = 0;
    bench_segments seg;
    memset(&seg, 0, sizeof seg);
    int have_seg = 0;
    for (int w = 0; w < BENCH_NUM_WORKLOADS && rc == 0; ++w) {
        aa_wl_dataset ds;
        aa_wl_batch b;
        aa_wl_error err = {{0}};
        const char *name = bench_workloads[w].name;
        if (bench_load(w, &ds, &b, &err) != AA_WL_OK) {
            fprintf(stderr, "bench_workloads: %s: %s\n", name, err.message);
            rc = 1;
            break;
        }
        int64_t G = b.offsets[b.gts.num_images], crowd;
        uint64_t hash;
        if (write_workload(dir, name, &b, bench_workloads[w].synthetic, bench_workloads[w].kind,
                           &crowd, &hash) != 0)
            rc = 1;
        if (w == BENCH_PAA_WORKLOAD && rc == 0) {
            if (make_gmm_segments(&b.gts, &seg) != 0)
                rc = 1;
            else {
                int64_t n = seg.offsets[seg.num_segments], largest = 0;
                for (int64_t s = 0; s < seg.num_segments; ++s)
                    if (seg.offsets[s + 1] - seg.offsets[s] > largest)
                        largest = seg.offsets[s + 1] - seg.offsets[s];
                have_seg = 1;
                printf("%-12s gmm_fit segments (PAA's on it): %lld segments, %lld points, "
                       "largest %lld\n", name, (long long)seg.num_segments, (long long)n,
                       (long long)largest);
                if (write_file(dir, "paa-gmm", "points.f32", seg.points, (size_t)n * 4) != 0 ||
                    write_file(dir, "paa-gmm", "offsets.i64", seg.offsets,
                               (size_t)(seg.num_segments + 1) * sizeof(int64_t)) != 0)
                    rc = 1;
            }
        }
        fprintf(m, "    \"%s\": {\"num_images\": %d, \"num_gts\": %lld, \"crowd\": %lld, "
                   "\"boxes_fnv1a64\": \"%016llx\", \"what\": \"%s\"}%s\n",
                name, b.gts.num_images, (long long)G, (long long)crowd,
                (unsigned long long)hash, bench_workloads[w].what,
                w + 1 < BENCH_NUM_WORKLOADS ? "," : "");
        aa_wl_batch_free(&b);
        aa_wl_dataset_free(&ds);
    }
    fprintf(m, "  },\n  \"cases\": [\n");
    for (int c = 0; c < BENCH_NUM_CASES; ++c)
        fprintf(m, "    {\"workload\": \"%s\", \"assigner\": \"%s\", \"anchors\": \"%s\"}%s\n",
                bench_workloads[bench_cases[c].workload].name,
                bench_assigner_names[bench_cases[c].assigner],
                anchor_set_name(bench_cases[c].anchors), c + 1 < BENCH_NUM_CASES ? "," : "");
    fprintf(m, "  ]");
    if (have_seg)
        fprintf(m, ",\n  \"gmm_segments\": {\"workload\": \"%s\", \"num_segments\": %lld, "
                   "\"num_points\": %lld, \"points\": \"paa-gmm.points.f32\", "
                   "\"offsets\": \"paa-gmm.offsets.i64\", \"what\": \"the segments aa_assign_paa "
                   "fits on this workload (bench_cases.h), aa_gmm_params_init defaults\"}",
                bench_workloads[BENCH_PAA_WORKLOAD].name, (long long)seg.num_segments,
                (long long)seg.offsets[seg.num_segments]);
    fprintf(m, "\n}\n");
    bench_segments_free(&seg);
    if (fclose(m) != 0)
        rc = 1;
    return rc;
}
