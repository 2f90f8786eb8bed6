/* atss.h - mmdetection's ATSSAssigner in four kernels, the same rules as
 * host/cpu/atss_ref.c (see its header comment), without an anchors x GTs matrix:
 *   1. prepare, per (image, anchor): clears the anchor's best (GT, IoU) key and
 *      records whether a crowd region ignores it and whether its image has a GT
 *      to assign at all;
 *   2. top-k, one work-group per (GT, level), in (distance, index) order so that
 *      ties go to the lower index: for k <= AA_TOPK_LIST one pass over the level
 *      (topk_list.h); for larger k, k passes, each a group argmin over the anchors
 *      after the previous pick;
 *   3. select, one work-item per GT: the candidates' IoU, mean + unbiased std in
 *      double summed in candidate order (as the reference), and for every
 *      positive an atomic max of a 64-bit key (IoU bits, then the lower GT index)
 *      on its anchor: order-independent, so the result is deterministic;
 *   4. assign, per (image, anchor): decodes the key into the outputs. */
#ifndef AA_KERNEL_ATSS_H
#define AA_KERNEL_ATSS_H

#include "box_math.h"
#include "levels.h"
#include "reduce.h"
#include "topk_list.h"

#define AA_ATSS_TILE 256      /* GTs per tile: the plan's local size       */
#define AA_ATSS_FAR 100000000.0f /* the distance of an ignored anchor (mmdetection's INF) */
#define AA_ATSS_NONE (-100000000.0f) /* overlap of non-positives (mmdetection's -INF) */
#define AA_ATSS_IGNORED 1     /* state bits per (image, anchor) */
#define AA_ATSS_HAS_GT 2

typedef struct aa_atss_args {
    float ignore_iof_thr, inside_margin, eps;
    aa_i32 topk;
    aa_i32 skip_crowd;       /* the assigner skips crowd GTs; the top-k primitive does not */
    aa_i32 unused;
} aa_atss_args;

/* Byte offsets of the workspace arrays: best u64 [images*anchors], state u8
 * [images*anchors], candidates i32 [gts*levels*topk]. */
typedef struct aa_atss_ws {
    aa_i64 best, state, candidates;
} aa_atss_ws;

/* The key an anchor keeps for its best GT: higher IoU first, then the lower GT
 * index; 0 means none (a real key has a nonzero low word). IoU >= 0, so its bits
 * order as the values do. */
AA_DEVICE aa_u64 aa_atss_key(float iou, aa_i32 local_gt)
{
    return ((aa_u64)AA_FLOAT_BITS(iou) << 32) | (aa_u64)(0xFFFFFFFFu - (aa_u32)local_gt);
}

AA_DEVICE int aa_atss_inside(aa_box anchor, aa_box gt, float margin)
{
    float cx = aa_box_cx(anchor), cy = aa_box_cy(anchor);
    float m = cx - gt.x1;
    if (cy - gt.y1 < m) m = cy - gt.y1;
    if (gt.x2 - cx < m) m = gt.x2 - cx;
    if (gt.y2 - cy < m) m = gt.y2 - cy;
    return m > margin;
}

#ifdef AA_KERNEL
AA_KERNEL aa_atss_prepare_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                 AA_GLOBAL const float *gts, AA_GLOBAL const aa_i64 *offsets,
                                 aa_i32 num_images, AA_GLOBAL const aa_u8 *flags,
                                 aa_atss_args args, AA_GLOBAL char *ws, aa_atss_ws lay)
{
    AA_GLOBAL aa_u64 *best = (AA_GLOBAL aa_u64 *)(ws + lay.best);
    AA_GLOBAL aa_u8 *state = (AA_GLOBAL aa_u8 *)(ws + lay.state);
    AA_SHARED(aa_box, tile, AA_ATSS_TILE);
    AA_SHARED(aa_i32, tile_id, AA_ATSS_TILE);
    aa_i32 lid = AA_LOCAL_ID, size = AA_LOCAL_SIZE;
    for (aa_i64 image = AA_GROUP_ID_Y; image < num_images; image += AA_NUM_GROUPS_Y) {
        aa_i64 first = offsets[image], count = offsets[image + 1] - first;
        for (aa_i64 base = AA_GROUP_ID_X * size; base < num_anchors; base += AA_NUM_GROUPS_X * size) {
            aa_i64 a = base + lid;
            int active = a < num_anchors;
            aa_box ab = {0.0f, 0.0f, 0.0f, 0.0f};
            if (active) ab = aa_box_load(anchors, a);
            int ignored = 0, has_gt = 0;
            for (aa_i64 t0 = 0; t0 < count; t0 += size) {
                aa_load_gt_tile(gts, flags, first, count, t0, tile, tile_id);
                aa_i64 n = count - t0 < size ? count - t0 : size;
                for (aa_i64 k = 0; active && k < n; ++k) {
                    if (tile_id[k] >= 0) {
                        has_gt = 1;
                    } else if (args.ignore_iof_thr > 0.0f &&
                               aa_box_overlap(AA_MODE_IOF, ab, tile[k], args.eps) > args.ignore_iof_thr) {
                        ignored = 1;
                    }
                }
            }
            if (active) {
                best[image * num_anchors + a] = 0;
                state[image * num_anchors + a] =
                    (aa_u8)((ignored ? AA_ATSS_IGNORED : 0) | (has_gt ? AA_ATSS_HAS_GT : 0));
            }
        }
    }
}

/* Distance of anchor a to the GT as the top-k sees it. */
AA_DEVICE_ONLY float aa_atss_distance(AA_GLOBAL const float *anchors, aa_i64 a, aa_box gt,
                                      AA_GLOBAL const aa_u8 *state_row)
{
    if (state_row && (state_row[a] & AA_ATSS_IGNORED)) return AA_ATSS_FAR;
    return aa_center_distance(aa_box_load(anchors, a), gt);
}

/* One work-group per (GT, level), grid-stride. Writes candidates[(g*L + l)*topk + j],
 * -1 past the level's size (and for skipped crowd GTs). The state array (at byte
 * state_at of state_base; state_at < 0: none, as for the aa_topk_nearest
 * primitive) marks ignored anchors of each image. Arrays come as base + byte
 * offset so that the assigner passes its one workspace buffer for both. */
AA_KERNEL aa_atss_topk_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                              AA_GLOBAL const float *gts, aa_i64 num_gts,
                              AA_GLOBAL const aa_i64 *offsets, aa_i32 num_images,
                              AA_GLOBAL const aa_u8 *flags, aa_levels levels, aa_atss_args args,
                              AA_GLOBAL const char *state_base, aa_i64 state_at,
                              AA_GLOBAL char *cand_base, aa_i64 cand_at)
{
    AA_GLOBAL const aa_u8 *state = 0;
    if (state_at >= 0) state = (AA_GLOBAL const aa_u8 *)(state_base + state_at);
    AA_GLOBAL aa_i32 *candidates = (AA_GLOBAL aa_i32 *)(cand_base + cand_at);
    AA_SHARED(float, red_v, AA_ATSS_TILE);
    AA_SHARED(aa_i64, red_i, AA_ATSS_TILE);
    aa_i64 pairs = num_gts * levels.num_levels;
    for (aa_i64 pair = AA_GROUP_ID_X; pair < pairs; pair += AA_NUM_GROUPS_X) {
        aa_i64 g = pair / levels.num_levels;
        aa_i32 l = (aa_i32)(pair - g * levels.num_levels);
        AA_GLOBAL aa_i32 *out = candidates + pair * args.topk;
        aa_i64 begin = levels.begin[l], end = levels.begin[l + 1];
        aa_i64 k = end - begin < args.topk ? end - begin : args.topk;
        if (args.skip_crowd && flags && flags[g]) k = 0; /* uniform for the group */
        aa_box gt = aa_box_load(gts, g);
        AA_GLOBAL const aa_u8 *row = 0;
        if (state) row = state + aa_image_of_gt(offsets, num_images, g) * num_anchors;
        if (k <= AA_TOPK_LIST) { /* uniform for the group */
            float list_d[AA_TOPK_LIST];
            aa_i32 list_i[AA_TOPK_LIST];
            aa_topk_list_clear(list_d, list_i);
            if (k > 0)
                for (aa_i64 a = begin + AA_LOCAL_ID; a < end; a += AA_LOCAL_SIZE)
                    aa_topk_list_offer(list_d, list_i, aa_atss_distance(anchors, a, gt, row), (aa_i32)a);
            aa_topk_list_take(red_v, red_i, list_d, list_i, k, out, (AA_GLOBAL float *)0); /* k, the level has them */
        } else { /* k passes (no `continue` around barriers: PoCL miscompiled it) */
            float prev_d = 0.0f;
            aa_i64 prev_i = -1; /* nothing taken yet */
            for (aa_i64 j = 0; j < k; ++j) {
                float best_neg = 0.0f; /* the group argmax of -distance is the argmin */
                aa_i64 best_i = -1;
                for (aa_i64 a = begin + AA_LOCAL_ID; a < end; a += AA_LOCAL_SIZE)
                    aa_topk_round_offer(aa_atss_distance(anchors, a, gt, row), a, prev_d, prev_i, &best_neg, &best_i);
                aa_group_argmax(red_v, red_i, &best_neg, &best_i);
                prev_d = -best_neg, prev_i = best_i;
                if (AA_LOCAL_ID == 0) out[j] = (aa_i32)best_i;
            }
        }
        for (aa_i64 j = k + AA_LOCAL_ID; j < args.topk; j += AA_LOCAL_SIZE) out[j] = -1;
    }
}

/* Sum, sum of squared deviations and count of a GT's candidate IoUs, in double and
 * in candidate order (level, then rank), as the reference sums them. Entries < 0
 * (short levels) and >= num_anchors (never written by the library) are skipped. */
AA_DEVICE_ONLY void aa_candidate_moments(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                         aa_box gt, AA_GLOBAL const aa_i32 *cand, aa_i64 per_gt,
                                         float eps, double *mean, double *ss, aa_i64 *count)
{
    double sum = 0.0;
    aa_i64 n = 0;
    for (aa_i64 j = 0; j < per_gt; ++j) {
        if (cand[j] < 0 || cand[j] >= num_anchors) continue;
        sum += (double)aa_box_overlap(AA_MODE_IOU, aa_box_load(anchors, cand[j]), gt, eps);
        ++n;
    }
    double m = n > 0 ? sum / (double)n : 0.0, acc = 0.0;
    for (aa_i64 j = 0; j < per_gt; ++j) {
        if (cand[j] < 0 || cand[j] >= num_anchors) continue;
        double d = (double)aa_box_overlap(AA_MODE_IOU, aa_box_load(anchors, cand[j]), gt, eps) - m;
        acc += d * d;
    }
    *mean = m, *ss = acc, *count = n;
}

/* The aa_candidate_iou_stats primitive: one work-item per GT. */
AA_KERNEL aa_candidate_stats_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                    AA_GLOBAL const float *gts, aa_i64 num_gts, aa_i64 per_gt,
                                    float eps, AA_GLOBAL const aa_i32 *candidates,
                                    AA_GLOBAL double *mean, AA_GLOBAL double *std)
{
    for (aa_i64 g = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; g < num_gts;
         g += AA_NUM_GROUPS_X * AA_LOCAL_SIZE) {
        double m, ss;
        aa_i64 n;
        aa_candidate_moments(anchors, num_anchors, aa_box_load(gts, g), candidates + g * per_gt,
                             per_gt, eps, &m, &ss, &n);
        mean[g] = n > 0 ? m : AA_NAN;
        std[g] = n > 1 ? AA_SQRT(ss / (double)(n - 1)) : AA_NAN;
    }
}

/* One work-item per GT: threshold and positives. */
AA_KERNEL aa_atss_select_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                AA_GLOBAL const float *gts, aa_i64 num_gts,
                                AA_GLOBAL const aa_i64 *offsets, aa_i32 num_images,
                                AA_GLOBAL const aa_u8 *flags, aa_i32 num_levels, aa_atss_args args,
                                AA_GLOBAL char *ws, aa_atss_ws lay)
{
    AA_GLOBAL aa_u64 *best = (AA_GLOBAL aa_u64 *)(ws + lay.best);
    AA_GLOBAL const aa_i32 *candidates = (AA_GLOBAL const aa_i32 *)(ws + lay.candidates);
    aa_i64 per_gt = (aa_i64)num_levels * args.topk;
    for (aa_i64 g = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; g < num_gts;
         g += AA_NUM_GROUPS_X * AA_LOCAL_SIZE) {
        if (flags && flags[g]) continue;
        aa_box gt = aa_box_load(gts, g);
        AA_GLOBAL const aa_i32 *cand = candidates + g * per_gt;
        double mean, ss;
        aa_i64 n;
        aa_candidate_moments(anchors, num_anchors, gt, cand, per_gt, args.eps, &mean, &ss, &n);
        if (n < 2) continue; /* one candidate: NaN threshold, no positive */
        double thr = mean + AA_SQRT(ss / (double)(n - 1));
        aa_i64 image = aa_image_of_gt(offsets, num_images, g);
        aa_i32 local_gt = (aa_i32)(g - offsets[image]); /* not "local": an OpenCL keyword */
        for (aa_i64 j = 0; j < per_gt; ++j) {
            if (cand[j] < 0) continue;
            aa_box ab = aa_box_load(anchors, cand[j]);
            float iou = aa_box_overlap(AA_MODE_IOU, ab, gt, args.eps);
            if (!((double)iou >= thr) || !aa_atss_inside(ab, gt, args.inside_margin)) continue;
            AA_ATOMIC_MAX_U64(&best[image * num_anchors + cand[j]], aa_atss_key(iou, local_gt));
        }
    }
}

AA_KERNEL aa_atss_assign_kernel(aa_i64 num_anchors, AA_GLOBAL const aa_i64 *offsets,
                                aa_i32 num_images, AA_GLOBAL const aa_i32 *labels,
                                AA_GLOBAL char *ws, aa_atss_ws lay, AA_GLOBAL aa_i32 *out_index,
                                AA_GLOBAL float *out_overlap, AA_GLOBAL aa_i32 *out_labels)
{
    AA_GLOBAL const aa_u64 *best = (AA_GLOBAL const aa_u64 *)(ws + lay.best);
    AA_GLOBAL const aa_u8 *state = (AA_GLOBAL const aa_u8 *)(ws + lay.state);
    aa_i64 total = num_anchors * num_images;
    for (aa_i64 o = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; o < total;
         o += AA_NUM_GROUPS_X * AA_LOCAL_SIZE) {
        aa_u64 key = best[o];
        aa_u8 st = state[o];
        aa_i32 code = (st & AA_ATSS_IGNORED) ? -2 : -1;
        float overlap = AA_ATSS_NONE;
        if (key != 0) {
            code = (aa_i32)(0xFFFFFFFFu - (aa_u32)(key & 0xFFFFFFFFu));
            overlap = AA_BITS_FLOAT((aa_u32)(key >> 32));
        }
        if (!(st & AA_ATSS_HAS_GT)) code = -1, overlap = 0.0f; /* no GT: mmdetection's zeros */
        out_index[o] = code;
        if (out_overlap) out_overlap[o] = overlap;
        if (out_labels) out_labels[o] = code >= 0 ? labels[offsets[o / num_anchors] + code] : -1;
    }
}
#endif

#endif /* AA_KERNEL_ATSS_H */
