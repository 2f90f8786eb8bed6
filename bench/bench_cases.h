/*
 * bench_cases.h - the benchmark workloads and cases (DESIGN.md "Workloads everyone
 * measures"), shared by bench_assign (Google Benchmark, C++) and bench_workloads (which
 * dumps the inputs for bench/peers.py), so that both measure the same thing.
 *
 *   workload     GTs                                        cases (assigner on anchor set)
 *   coco-atss    the first 16 images of data/'s COCO boxes   atss, overlaps on coco-atss
 *                                                            (22,400); fcos on fcos-points
 *   coco-retina  the same 16 images                          max_iou on coco-retina (201,600)
 *   dense        16 x 500 synthetic pedestrians              atss, max_iou on coco-atss;
 *   extreme      16 x 5,000 small synthetic boxes            fcos on fcos-points (22,400)
 *
 * Every assigner runs with its defaults (aa_*_params_init: mmdetection's), outputs
 * gt_index and overlap; overlaps is IoU with eps 1e-6 (mmdetection's bbox_overlaps).
 * Header-only (static functions): include it in one translation unit per program.
 */
#ifndef AA_BENCH_CASES_H
#define AA_BENCH_CASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchorassign.h"
#include "workload.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_IMAGES 16

typedef enum bench_assigner {
    BENCH_ATSS = 0,
    BENCH_FCOS = 1,
    BENCH_MAX_IOU = 2,
    BENCH_OVERLAPS = 3
} bench_assigner;

static const char *const bench_assigner_names[] = {"atss", "fcos", "max_iou", "overlaps"};

typedef struct bench_workload {
    const char *name;
    int synthetic;         /* 0: COCO boxes from the CSV; 1: aa_wl_synthetic_make */
    aa_wl_synthetic kind;  /* when synthetic */
    const char *what;      /* one line for the reports */
} bench_workload;

enum { BENCH_COCO_ATSS = 0, BENCH_COCO_RETINA = 1, BENCH_DENSE = 2, BENCH_EXTREME = 3 };

static const bench_workload bench_workloads[] = {
    {"coco-atss", 0, AA_WL_SYNTH_DENSE,
     "first 16 images of data/coco2017_subset_boxes.csv (real COCO boxes, "
     "resized keep-ratio to 1333x800)"},
    {"coco-retina", 0, AA_WL_SYNTH_DENSE, "the same 16 COCO images"},
    {"dense", 1, AA_WL_SYNTH_DENSE,
     "16 synthetic images x 500 pedestrian-like boxes in 3-5 crowd regions "
     "(aa_wl_synthetic_make, seed 20261125)"},
    {"extreme", 1, AA_WL_SYNTH_EXTREME,
     "16 synthetic images x 5,000 small boxes, 8-40 px sides, uniform "
     "(aa_wl_synthetic_make, seed 20261125)"},
};
#define BENCH_NUM_WORKLOADS ((int)(sizeof bench_workloads / sizeof bench_workloads[0]))

typedef struct bench_case {
    int workload;              /* index into bench_workloads */
    bench_assigner assigner;
    aa_wl_anchor_kind anchors; /* coco-retina, coco-atss or fcos-points */
} bench_case;

static const bench_case bench_cases[] = {
    {0, BENCH_ATSS, AA_WL_ANCHORS_ATSS},
    {0, BENCH_FCOS, AA_WL_POINTS_FCOS},
    {0, BENCH_OVERLAPS, AA_WL_ANCHORS_ATSS},
    {1, BENCH_MAX_IOU, AA_WL_ANCHORS_RETINA},
    {2, BENCH_ATSS, AA_WL_ANCHORS_ATSS},
    {2, BENCH_FCOS, AA_WL_POINTS_FCOS},
    {2, BENCH_MAX_IOU, AA_WL_ANCHORS_ATSS},
    {3, BENCH_ATSS, AA_WL_ANCHORS_ATSS},
    {3, BENCH_FCOS, AA_WL_POINTS_FCOS},
    {3, BENCH_MAX_IOU, AA_WL_ANCHORS_ATSS},
};
#define BENCH_NUM_CASES ((int)(sizeof bench_cases / sizeof bench_cases[0]))

/* The CSV of the COCO workloads: $ANCHORASSIGN_DATA, else the source tree's. */
static const char *bench_data_path(void)
{
    const char *p = getenv("ANCHORASSIGN_DATA");
#ifdef AA_BENCH_DATA
    if (p == NULL || *p == '\0')
        p = AA_BENCH_DATA;
#endif
    return p;
}

/* Loads a workload's dataset (all of the CSV for COCO, 16 images for the synthetic
 * ones) and its batch of BENCH_IMAGES images. */
static aa_wl_status bench_load(int workload, aa_wl_dataset *ds, aa_wl_batch *batch,
                               aa_wl_error *err)
{
    const bench_workload *w = &bench_workloads[workload];
    aa_wl_status st;
    memset(batch, 0, sizeof *batch);
    if (w->synthetic) {
        st = aa_wl_synthetic_make(w->kind, BENCH_IMAGES, 0, AA_WL_SYNTH_SEED, ds, err);
    } else {
        const char *path = bench_data_path();
        if (path == NULL) {
            memset(ds, 0, sizeof *ds);
            snprintf(err->message, sizeof err->message,
                     "no COCO data: set ANCHORASSIGN_DATA to data/coco2017_subset_boxes.csv");
            return AA_WL_ERR_ARGUMENT;
        }
        st = aa_wl_load(path, AA_WL_FORMAT_AUTO, ds, err);
    }
    if (st != AA_WL_OK)
        return st;
    st = aa_wl_batch_make(ds, 0, BENCH_IMAGES, batch, err);
    if (st != AA_WL_OK)
        aa_wl_dataset_free(ds);
    return st;
}

/* ---------------------------------------------------------------- PAA and its mixtures
 *
 * paa/coco-atss: aa_assign_paa (mmdetection's PAAHead defaults, aa_paa_params_init) on the
 * coco-atss workload and anchors, head outputs from aa_wl_head_make (float32,
 * AA_WL_COCO_CLASSES classes, seed AA_WL_HEAD_SEED).
 * gmm_fit/coco-atss: aa_gmm_fit on the segments PAA itself fits there (not random
 * data): the pre-assignment (aa_assign_max_iou with params.pre), the costs
 * (aa_paa_costs), then per image and GT the topk (9) lowest costs of each level among its
 * pre-assigned anchors (lower anchor index first on ties), all levels' candidates sorted
 * by (cost, anchor index); only GTs with two or more candidates (PAA fits no others).
 * Segments in image order, then GT order. The fit runs with aa_gmm_params_init's
 * defaults (2 components, PAA init, 'diag', float32_input 0, which the GPU backends
 * require) on every backend; peers.py gives scikit-learn the same points as float64. */
#define BENCH_PAA_WORKLOAD BENCH_COCO_ATSS

typedef struct bench_segments {
    float *points;       /* owned [offsets[num_segments]] */
    int64_t *offsets;    /* owned [num_segments + 1]      */
    int64_t num_segments;
} bench_segments;

static void bench_segments_free(bench_segments *s)
{
    free(s->points);
    free(s->offsets);
    memset(s, 0, sizeof *s);
}

typedef struct bench_cand {
    int32_t gt, level;
    float cost;
    int64_t anchor;
} bench_cand;

static int bench_cand_cmp(const void *pa, const void *pb)
{
    const bench_cand *a = (const bench_cand *)pa, *b = (const bench_cand *)pb;
    if (a->gt != b->gt) return a->gt < b->gt ? -1 : 1;
    if (a->level != b->level) return a->level < b->level ? -1 : 1;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    return a->anchor < b->anchor ? -1 : (a->anchor > b->anchor);
}

static int bench_cost_cmp(const void *pa, const void *pb) /* within one GT */
{
    const bench_cand *a = (const bench_cand *)pa, *b = (const bench_cand *)pb;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    return a->anchor < b->anchor ? -1 : (a->anchor > b->anchor);
}

/* PAA's mixture segments (above) on the CPU context `cpu`. gts.labels must be set.
 * Returns 0, or -1 with a message in err. */
static int bench_paa_segments(aa_context *cpu, const aa_paa_params *p, const aa_anchors *a,
                              const aa_gts *g, const aa_head_outputs *head, bench_segments *out,
                              char *err, size_t err_size)
{
    int64_t A = a->num_anchors, rows = (int64_t)g->num_images * A;
    int32_t *pre = (int32_t *)malloc((size_t)(rows ? rows : 1) * sizeof *pre);
    float *costs = (float *)malloc((size_t)(rows ? rows : 1) * sizeof *costs);
    bench_cand *cand = (bench_cand *)malloc((size_t)(A ? A : 1) * sizeof *cand);
    int32_t *level = (int32_t *)malloc((size_t)(A ? A : 1) * sizeof *level);
    int64_t cap_s = 64, cap_p = 1024;
    memset(out, 0, sizeof *out);
    out->offsets = (int64_t *)malloc((size_t)(cap_s + 1) * sizeof *out->offsets);
    out->points = (float *)malloc((size_t)cap_p * sizeof *out->points);
    int rc = -1;
    aa_assignment pre_out = {pre, NULL, NULL};
    aa_status st;
    if (!pre || !costs || !cand || !level || !out->offsets || !out->points) {
        snprintf(err, err_size, "paa segments: out of memory");
        goto done;
    }
    for (int64_t l = 0, a0 = 0; l < a->num_levels; a0 += a->level_counts[l++])
        for (int64_t k = 0; k < a->level_counts[l]; ++k)
            level[a0 + k] = (int32_t)l;
    st = aa_assign_max_iou(cpu, &p->pre, a, g, &pre_out, NULL, 0);
    if (st == AA_SUCCESS)
        st = aa_paa_costs(cpu, p, a, g, head, pre, costs);
    if (st != AA_SUCCESS) {
        snprintf(err, err_size, "paa segments: %s: %s", aa_status_string(st),
                 aa_context_last_error(cpu));
        goto done;
    }
    out->offsets[0] = 0;
    for (int32_t i = 0; i < g->num_images; ++i) {
        int64_t n = 0;
        for (int64_t k = 0; k < A; ++k)
            if (pre[i * A + k] >= 0) {
                bench_cand c = {pre[i * A + k], level[k], costs[i * A + k], k};
                cand[n++] = c;
            }
        qsort(cand, (size_t)n, sizeof *cand, bench_cand_cmp);
        /* per GT: the first topk of each (GT, level) run, moved to the front */
        for (int64_t s = 0; s < n;) {
            int64_t e = s, kept = s;
            while (e < n && cand[e].gt == cand[s].gt) {
                int64_t le = e;
                while (le < n && cand[le].gt == cand[s].gt && cand[le].level == cand[e].level)
                    ++le;
                for (int64_t k = e; k < le && k - e < p->topk; ++k)
                    cand[kept++] = cand[k];
                e = le;
            }
            int64_t m = kept - s;
            if (m >= 2) {
                qsort(cand + s, (size_t)m, sizeof *cand, bench_cost_cmp);
                int64_t base = out->offsets[out->num_segments];
                if (out->num_segments == cap_s) {
                    cap_s *= 2;
                    int64_t *o = (int64_t *)realloc(out->offsets,
                                                    (size_t)(cap_s + 1) * sizeof *o);
                    if (!o) { snprintf(err, err_size, "paa segments: out of memory"); goto done; }
                    out->offsets = o;
                }
                while (base + m > cap_p) {
                    cap_p *= 2;
                    float *q = (float *)realloc(out->points, (size_t)cap_p * sizeof *q);
                    if (!q) { snprintf(err, err_size, "paa segments: out of memory"); goto done; }
                    out->points = q;
                }
                for (int64_t k = 0; k < m; ++k)
                    out->points[base + k] = cand[s + k].cost;
                out->offsets[++out->num_segments] = base + m;
            }
            s = e;
        }
    }
    rc = 0;
done:
    free(pre);
    free(costs);
    free(cand);
    free(level);
    if (rc != 0)
        bench_segments_free(out);
    return rc;
}

#ifdef __cplusplus
}
#endif

#endif /* AA_BENCH_CASES_H */
