/* atss_example.c - the README's example: ATSS assignment for two images on the
 * CPU reference. Built and run by CTest (example.atss), so it stays correct. */
#include <stdio.h>
#include <stdlib.h>

#include "anchorassign.h"

int main(void)
{
    aa_context *ctx;
    if (aa_context_create(&ctx, NULL) != AA_SUCCESS) return 1; /* AUTO backend */

    /* ATSS anchors for an 800 x 1344 canvas: one square anchor of scale 8 per location. */
    aa_anchor_params ap;
    aa_anchor_params_init(&ap); /* RetinaNet settings, strides 8..128 */
    ap.num_ratios = 1, ap.ratios[0] = 1.0f, ap.octave_base_scale = 8, ap.scales_per_octave = 1;
    int64_t level_counts[5], num_anchors;
    aa_anchor_count(ctx, &ap, 800, 1344, level_counts, &num_anchors); /* 22,400 */
    float *anchor_boxes = malloc((size_t)num_anchors * 4 * sizeof(float));
    aa_anchor_generate(ctx, &ap, 800, 1344, anchor_boxes, num_anchors);
    aa_anchors anchors = {anchor_boxes, num_anchors, 5, level_counts, ap.strides};

    /* Two images: two GTs, then one crowd region and one GT. */
    const float gt_boxes[] = {100, 120, 300, 400, 500, 80, 560, 150,
                              0, 0, 400, 300, 600, 300, 900, 700};
    const int64_t offsets[] = {0, 2, 4};
    const uint8_t crowd[] = {0, 0, 1, 0};
    aa_gts gts = {gt_boxes, offsets, 2, crowd, NULL, NULL};

    int32_t *gt_index = malloc(2 * (size_t)num_anchors * sizeof(int32_t));
    float *iou = malloc(2 * (size_t)num_anchors * sizeof(float));
    aa_assignment out = {gt_index, iou, NULL};
    aa_status st = aa_assign_atss(ctx, NULL, &anchors, &gts, &out, NULL, 0); /* defaults: topk 9 */
    if (st != AA_SUCCESS) {
        fprintf(stderr, "%s: %s\n", aa_status_string(st), aa_context_last_error(ctx));
        return 1;
    }
    int positives = 0;
    for (int64_t i = 0; i < 2 * num_anchors; ++i) positives += gt_index[i] >= 0;
    printf("%d positive anchors for 3 GTs over %lld anchors x 2 images\n", positives,
           (long long)num_anchors);

    free(anchor_boxes), free(gt_index), free(iou);
    aa_context_destroy(ctx);
    return positives > 0 ? 0 : 1;
}
