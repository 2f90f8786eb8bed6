/* head_batch.h - a batch with head outputs, as the PAA and LADA tests draw it
 * (paa_common.h, lada_common.h each fill it their own way): the arrays, and the
 * library's views of them. */
#ifndef AA_TEST_HEAD_BATCH_H
#define AA_TEST_HEAD_BATCH_H

#include "common.h"

typedef struct head_batch {
    int32_t num_images, num_levels, num_classes;
    int64_t num_anchors, level_counts[AA_MAX_LEVELS];
    float strides[AA_MAX_LEVELS];
    float *anchor_boxes, *gt_boxes, *logits, *deltas;
    int64_t *offsets;
    uint8_t *crowd;
    int32_t *labels;
    aa_anchors anchors;
    aa_gts gts;
    aa_head_outputs head; /* float32 */
} head_batch;

/* The views (anchors, gts, head) of the arrays once they are filled. */
static inline void head_batch_finish(head_batch *b)
{
    aa_anchors a = {b->anchor_boxes, b->num_anchors, b->num_levels, b->level_counts, b->strides};
    aa_gts gts = {b->gt_boxes, b->offsets, b->num_images, b->crowd, b->labels, NULL};
    aa_head_outputs h = {b->logits, b->deltas, AA_FLOAT32, b->num_classes};
    b->anchors = a, b->gts = gts, b->head = h;
}

static inline void head_batch_free(head_batch *b)
{
    free(b->anchor_boxes), free(b->gt_boxes), free(b->logits), free(b->deltas);
    free(b->offsets), free(b->crowd), free(b->labels);
}

#endif
