/* coco_heads.h - the COCO inputs of the loss-aware tests (PAA and LADA: parity,
 * composition, the brute-force rule): coco-atss anchors, 16 COCO images (no crowd
 * boxes) and 16 from image 100 (with crowd boxes), and for each a synthetic head
 * (synthetic_head.h, AA_WL_HEAD_SEED) in each dtype from float32 to last_dtype.
 * Needs the workload library (AA_TEST_HAVE_WORKLOAD) and AA_TEST_DATA. */
#ifndef AA_TEST_COCO_HEADS_H
#define AA_TEST_COCO_HEADS_H

#include "common.h"
#include "synthetic_head.h"
#include "workload.h"

typedef struct coco_head_case {
    const aa_anchors *anchors;
    const aa_gts *gts;
    const aa_head_outputs *head;
    int part;            /* 0: the first 16 images, 1: 16 from image 100 */
    int32_t first_image; /* 0 or 100 */
    aa_dtype dtype;
} coco_head_case;

/* Calls fn once per (part, dtype), with everything loaded and freed around it. */
static inline void coco_heads_for_each(aa_dtype last_dtype, void (*fn)(const coco_head_case *c, void *user),
                                       void *user)
{
    aa_wl_dataset ds;
    aa_wl_error err;
    if (aa_wl_load(AA_TEST_DATA, AA_WL_FORMAT_CSV, &ds, &err) != AA_WL_OK) fail_msg("%s", err.message);
    aa_wl_anchor_set set;
    assert_int_equal(aa_wl_anchor_set_make(AA_WL_ANCHORS_ATSS, AA_WL_CANVAS_H, AA_WL_CANVAS_W, &set, &err),
                     AA_WL_OK);
    const int32_t first[2] = {0, 100};
    for (int part = 0; part < 2; ++part) {
        aa_wl_batch batch;
        assert_int_equal(aa_wl_batch_make(&ds, first[part], 16, &batch, &err), AA_WL_OK);
        for (int dtype = AA_FLOAT32; dtype <= (int)last_dtype; ++dtype) {
            aa_wl_head head;
            if (aa_wl_head_make(&set.anchors, &batch.gts, AA_WL_COCO_CLASSES, (aa_dtype)dtype,
                                AA_WL_HEAD_SEED, &head, &err) != AA_WL_OK)
                fail_msg("head: %s", err.message);
            coco_head_case c = {&set.anchors, &batch.gts, &head.head, part, first[part], (aa_dtype)dtype};
            fn(&c, user);
            aa_wl_head_free(&head);
        }
        aa_wl_batch_free(&batch);
    }
    aa_wl_anchor_set_free(&set);
    aa_wl_dataset_free(&ds);
}

#endif
