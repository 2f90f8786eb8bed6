/* max_iou.h - mmdetection's MaxIoUAssigner in three kernels, the same rules as
 * host/cpu/max_iou_ref.c (see its header comment):
 *   1. per (image, anchor): ignored by a crowd region? max IoU over the image's
 *      GTs and its first argmax -> workspace (max = -1 marks an ignored anchor);
 *   2. per GT, one work-group: max IoU over its image's anchors, first argmax;
 *   3. per (image, anchor): thresholds, then the low-quality pass over the image's
 *      GTs in order (the last matching GT wins), outputs.
 * Kernels 1 and 3 read the image's GTs through local memory in tiles. */
#ifndef AA_KERNEL_MAX_IOU_H
#define AA_KERNEL_MAX_IOU_H

#include "box_math.h"
#include "levels.h"
#include "reduce.h"

#define AA_MAX_IOU_TILE 256 /* GTs per tile: the plan's local size */

typedef struct aa_max_iou_args {
    float pos_iou_thr, neg_lo, neg_hi, min_pos_iou;
    float ignore_iof_thr, eps;
    aa_i32 gt_max_assign_all, match_low_quality, ignore_wrt_candidates, unused;
} aa_max_iou_args;

/* Byte offsets of the workspace arrays (host/plan.c lays them out):
 * anchor_max f32 [images*anchors], anchor_arg i32 [images*anchors],
 * gt_max f32 [gts], gt_arg i64 [gts]. */
typedef struct aa_max_iou_ws {
    aa_i64 anchor_max, anchor_arg, gt_max, gt_arg;
} aa_max_iou_ws;

#ifdef AA_KERNEL
AA_KERNEL aa_max_iou_anchor_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                   AA_GLOBAL const float *gts, AA_GLOBAL const aa_i64 *offsets,
                                   aa_i32 num_images, AA_GLOBAL const aa_u8 *flags,
                                   aa_max_iou_args args, AA_GLOBAL char *ws, aa_max_iou_ws lay)
{
    AA_GLOBAL float *ws_max = (AA_GLOBAL float *)(ws + lay.anchor_max);
    AA_GLOBAL aa_i32 *ws_arg = (AA_GLOBAL aa_i32 *)(ws + lay.anchor_arg);
    AA_SHARED(aa_box, tile, AA_MAX_IOU_TILE);
    AA_SHARED(aa_i32, tile_id, AA_MAX_IOU_TILE);
    aa_i32 size = AA_LOCAL_SIZE;
    for (aa_i64 image = AA_GROUP_ID_Y; image < num_images; image += AA_NUM_GROUPS_Y) {
        aa_i64 first = offsets[image], count = offsets[image + 1] - first;
        for (aa_i64 base = AA_GROUP_ID_X * size; base < num_anchors; base += AA_NUM_GROUPS_X * size) {
            aa_i64 a = base + AA_LOCAL_ID;
            int active = a < num_anchors;
            aa_box ab = {0.0f, 0.0f, 0.0f, 0.0f};
            if (active) ab = aa_box_load(anchors, a);
            int ignored = 0;
            if (args.ignore_iof_thr > 0.0f) { /* pass 1a: crowd regions */
                for (aa_i64 t0 = 0; t0 < count; t0 += size) {
                    aa_load_gt_tile(gts, flags, first, count, t0, tile, tile_id);
                    aa_i64 n = count - t0 < size ? count - t0 : size;
                    for (aa_i64 k = 0; active && k < n; ++k) {
                        if (tile_id[k] >= 0) continue;
                        float iof = args.ignore_wrt_candidates
                                        ? aa_box_overlap(AA_MODE_IOF, ab, tile[k], args.eps)
                                        : aa_box_overlap(AA_MODE_IOF, tile[k], ab, args.eps);
                        if (iof > args.ignore_iof_thr) ignored = 1;
                    }
                }
            }
            float best = 0.0f;
            aa_i32 arg = -1; /* no GT yet */
            for (aa_i64 t0 = 0; t0 < count; t0 += size) { /* pass 1b: max IoU */
                aa_load_gt_tile(gts, flags, first, count, t0, tile, tile_id);
                aa_i64 n = count - t0 < size ? count - t0 : size;
                for (aa_i64 k = 0; active && k < n; ++k) {
                    if (tile_id[k] < 0) continue;
                    float v = ignored ? -1.0f : aa_box_overlap(AA_MODE_IOU, ab, tile[k], args.eps);
                    if (arg < 0 || v > best) best = v, arg = tile_id[k];
                }
            }
            if (active) {
                ws_max[image * num_anchors + a] = best;
                ws_arg[image * num_anchors + a] = arg;
            }
        }
    }
}

/* One work-group per GT (grid-stride over GTs): the GT's max over its image's
 * anchors (ignored anchors count -1) and the first anchor reaching it. */
AA_KERNEL aa_max_iou_gt_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                               AA_GLOBAL const float *gts, aa_i64 num_gts,
                               AA_GLOBAL const aa_i64 *offsets, aa_i32 num_images,
                               AA_GLOBAL const aa_u8 *flags, float eps, AA_GLOBAL char *ws,
                               aa_max_iou_ws lay)
{
    AA_GLOBAL const float *ws_max = (AA_GLOBAL const float *)(ws + lay.anchor_max);
    AA_GLOBAL float *gt_max = (AA_GLOBAL float *)(ws + lay.gt_max);
    AA_GLOBAL aa_i64 *gt_arg = (AA_GLOBAL aa_i64 *)(ws + lay.gt_arg);
    AA_SHARED(float, red_v, AA_MAX_IOU_TILE);
    AA_SHARED(aa_i64, red_i, AA_MAX_IOU_TILE);
    for (aa_i64 g = AA_GROUP_ID_X; g < num_gts; g += AA_NUM_GROUPS_X) {
        if (flags && flags[g]) continue; /* uniform for the group: no barrier skipped unevenly */
        aa_i64 image = aa_image_of_gt(offsets, num_images, g);
        aa_box gt = aa_box_load(gts, g);
        float best = 0.0f;
        aa_i64 arg = -1;
        for (aa_i64 a = AA_LOCAL_ID; a < num_anchors; a += AA_LOCAL_SIZE) {
            int ignored = ws_max[image * num_anchors + a] == -1.0f;
            float v = ignored ? -1.0f : aa_box_overlap(AA_MODE_IOU, aa_box_load(anchors, a), gt, eps);
            if (aa_argmax_better(v, a, best, arg)) best = v, arg = a;
        }
        aa_group_argmax(red_v, red_i, &best, &arg);
        if (AA_LOCAL_ID == 0) {
            gt_max[g] = best;
            gt_arg[g] = arg;
        }
    }
}

AA_KERNEL aa_max_iou_assign_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                   AA_GLOBAL const float *gts, AA_GLOBAL const aa_i64 *offsets,
                                   aa_i32 num_images, AA_GLOBAL const aa_u8 *flags,
                                   AA_GLOBAL const aa_i32 *labels, aa_max_iou_args args,
                                   AA_GLOBAL char *ws, aa_max_iou_ws lay,
                                   AA_GLOBAL aa_i32 *out_index, AA_GLOBAL float *out_overlap,
                                   AA_GLOBAL aa_i32 *out_labels)
{
    AA_GLOBAL const float *ws_max = (AA_GLOBAL const float *)(ws + lay.anchor_max);
    AA_GLOBAL const aa_i32 *ws_arg = (AA_GLOBAL const aa_i32 *)(ws + lay.anchor_arg);
    AA_GLOBAL const float *gt_max = (AA_GLOBAL const float *)(ws + lay.gt_max);
    AA_GLOBAL const aa_i64 *gt_arg = (AA_GLOBAL const aa_i64 *)(ws + lay.gt_arg);
    AA_SHARED(aa_box, tile, AA_MAX_IOU_TILE);
    AA_SHARED(aa_i32, tile_id, AA_MAX_IOU_TILE);
    aa_i32 size = AA_LOCAL_SIZE;
    for (aa_i64 image = AA_GROUP_ID_Y; image < num_images; image += AA_NUM_GROUPS_Y) {
        aa_i64 first = offsets[image], count = offsets[image + 1] - first;
        for (aa_i64 base = AA_GROUP_ID_X * size; base < num_anchors; base += AA_NUM_GROUPS_X * size) {
            aa_i64 a = base + AA_LOCAL_ID;
            int active = a < num_anchors;
            aa_i64 o = image * num_anchors + a;
            float mx = active ? ws_max[o] : 0.0f;
            aa_i32 code = -2; /* ignored unless a rule below says otherwise */
            if (active) {
                if (mx >= args.neg_lo && mx < args.neg_hi) code = -1;
                if (mx >= args.pos_iou_thr) code = ws_arg[o];
            }
            aa_box ab = {0.0f, 0.0f, 0.0f, 0.0f};
            if (active) ab = aa_box_load(anchors, a);
            int kept = 0;
            for (aa_i64 t0 = 0; t0 < count; t0 += size) {
                aa_load_gt_tile(gts, flags, first, count, t0, tile, tile_id);
                aa_i64 n = count - t0 < size ? count - t0 : size;
                for (aa_i64 k = 0; active && k < n; ++k) {
                    if (tile_id[k] < 0) continue;
                    kept = 1;
                    if (!args.match_low_quality) continue;
                    aa_i64 g = first + tile_id[k];
                    if (!(gt_max[g] >= args.min_pos_iou)) continue;
                    if (args.gt_max_assign_all) {
                        float v = mx == -1.0f ? -1.0f : aa_box_overlap(AA_MODE_IOU, ab, tile[k], args.eps);
                        if (v == gt_max[g]) code = tile_id[k];
                    } else if (gt_arg[g] == a) {
                        code = tile_id[k];
                    }
                }
            }
            if (active) {
                if (!kept) code = -1, mx = 0.0f; /* no GT: all negative, overlap 0 */
                out_index[o] = code;
                if (out_overlap) out_overlap[o] = mx;
                if (out_labels) out_labels[o] = code >= 0 ? labels[first + code] : -1;
            }
        }
    }
}
#endif

#endif /* AA_KERNEL_MAX_IOU_H */
