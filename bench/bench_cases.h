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

#ifdef __cplusplus
}
#endif

#endif /* AA_BENCH_CASES_H */
