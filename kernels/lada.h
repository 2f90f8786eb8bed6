/* lada.h - LADA (host/cpu/lada_ref.c) on the GPU backends, three kernels:
 *   aa_lada_clear_kernel   per (image, anchor): clears the anchor's claim key;
 *   aa_lada_select_kernel  one work-group of AA_LADA_LOCAL_SIZE per GT (all images,
 *                          grid-stride): per level the GT-shaped centre region
 *                          (lada_ref.c's region(), double, same operation order),
 *                          the topk_per_level lowest (loss, anchor index) among the
 *                          anchors whose float32 centre is strictly inside, ties to
 *                          the lower index (topk_per_level <= AA_TOPK_LIST: one pass,
 *                          topk_list.h; larger: k rounds of a group argmin, each
 *                          strictly after the previous, the loss recomputed in each
 *                          round rather than stored: a region's anchors have no bound
 *                          the host could size a buffer by; the loss is lada_ref.c's
 *                          lada_loss()),
 *                          all levels' candidates ranked by (loss, index) (binary
 *                          searches in the other levels' sorted lists, as PAA), the
 *                          threshold of the first min(topk, count) by work-item 0 in
 *                          ranked order (double: bit-identical to the reference), and
 *                          for each positive (loss < threshold) a 64-bit atomic max of
 *                          its claim key on the anchor;
 *   aa_lada_assign_kernel  per (image, anchor): decodes the key into gt_index,
 *                          overlap (the loss, +INF for negatives) and labels.
 * The claim key (aa_lada_key): the loss in an order-preserving unsigned form,
 * complemented, in the high word, the complemented GT index in the low word, so the
 * maximum is the lowest loss, then the lower GT index, whatever order the atomics
 * land in. Losses are >= 0 (focal terms, 1 - GIoU and the deviation are >= 0 and
 * the weights >= 0), but the key orders any finite float (negative ones too, and
 * -0 as +0), so rounding cannot break the rule.
 * A GT one of whose in-region anchors has a non-finite loss (float32 overflow from
 * huge logits, or NaN head outputs in device memory the host never checked) gets no
 * positive; the CPU reference refuses the whole call instead (it can read every loss
 * before writing anything). */
#ifndef AA_KERNEL_LADA_H
#define AA_KERNEL_LADA_H

#include "aa_dialect.h"
#include "levels.h"
#include "paa.h"
#include "reduce.h"
#include "topk_list.h"

#define AA_LADA_LOCAL_SIZE 64 /* AA_PLAN_LADA_LOCAL_SIZE: the select kernel's group */
#define AA_LADA_MEAN_STD_K 1  /* AA_LADA_MEAN_STD */

/* The call's parameters, by value (8-byte field first; 96 bytes everywhere). */
typedef struct aa_lada_args {
    double max_ratio; /* |log(wh_ratio_clip)|, taken on the host */
    float region_radius, cls_weight, giou_weight, center_weight, focal_alpha, focal_gamma, giou_eps;
    float means[4], stds[4];
    aa_i32 num_classes, dtype, clip, topk_per_level, topk, mean_std, unused;
} aa_lada_args;

/* Byte offsets of the workspace arrays: the claim keys (u64 per image and anchor),
 * then per GT per_gt slots of candidates (anchor index, loss) level by level and
 * the same ranked. */
typedef struct aa_lada_ws {
    aa_i64 key, cand_index, cand_loss, sorted_index, sorted_loss;
    aa_i64 per_gt; /* sum over levels of min(topk_per_level, level size) */
} aa_lada_ws;

/* The GT-shaped centre region of one level (lada_ref.c's region()): x1, y1, x2, y2. */
AA_DEVICE void aa_lada_region(aa_lada_args args, AA_GLOBAL const float *gt, double gx, double gy,
                              double stride, double *r)
{
    double w = (double)gt[2] - (double)gt[0], h = (double)gt[3] - (double)gt[1];
    double half_w = (double)args.region_radius * stride * AA_SQRT(w / h);
    double half_h = (double)args.region_radius * stride * AA_SQRT(h / w);
    r[0] = gx - half_w, r[1] = gy - half_h, r[2] = gx + half_w, r[3] = gy + half_h;
    if (args.clip) {
        r[0] = AA_FMAX(r[0], (double)gt[0]), r[1] = AA_FMAX(r[1], (double)gt[1]);
        r[2] = AA_FMIN(r[2], (double)gt[2]), r[3] = AA_FMIN(r[3], (double)gt[3]);
    }
}

/* The combined loss of head row `row` for a GT (lada_ref.c's lada_loss()), in
 * double in the same operation order, rounded to float once. */
AA_DEVICE float aa_lada_loss(aa_lada_args args, AA_GLOBAL const aa_u8 *logits, AA_GLOBAL const aa_u8 *deltas,
                             aa_i64 row, AA_GLOBAL const float *anchor, AA_GLOBAL const float *gt_box,
                             aa_i32 label, double gx, double gy)
{
    double d[4], box[4], gt[4];
    aa_paa_read_deltas(deltas, args.dtype, row, d);
    for (aa_i32 c = 0; c < 4; ++c) gt[c] = (double)gt_box[c];
    aa_paa_delta2bbox(args.means, args.stds, args.max_ratio, anchor, d, box);
    double cls = aa_paa_cls_sum(logits, args.dtype, row, args.num_classes, label, (double)args.focal_alpha,
                                (double)args.focal_gamma);
    double giou_loss = 1.0 - aa_paa_giou(box, gt, (double)args.giou_eps);
    double w = gt[2] - gt[0], hgt = gt[3] - gt[1];
    double dx = 2.0 * ((double)((anchor[0] + anchor[2]) / 2.0f) - gx) / w;
    double dy = 2.0 * ((double)((anchor[1] + anchor[3]) / 2.0f) - gy) / hgt;
    double deviation = AA_SQRT((dx * dx + dy * dy) / 2.0);
    return (float)((double)args.cls_weight * cls + (double)args.giou_weight * giou_loss +
                   (double)args.center_weight * deviation);
}

/* The dynamic threshold of n >= 1 ranked losses (lada_ref.c's threshold()), summed
 * in ranked order. */
AA_DEVICE double aa_lada_dynamic_threshold(aa_i32 mean_std, AA_GLOBAL const float *loss, aa_i64 n)
{
    double sum = 0.0, ss = 0.0;
    for (aa_i64 j = 0; j < n; ++j) sum += (double)loss[j];
    double mean = sum / (double)n;
    if (mean_std != AA_LADA_MEAN_STD_K) return mean;
    for (aa_i64 j = 0; j < n; ++j) ss += ((double)loss[j] - mean) * ((double)loss[j] - mean);
    return mean + (n > 1 ? AA_SQRT(ss / (double)(n - 1)) : 0.0);
}

/* A finite float as an unsigned int of the same order (-0 as +0). */
AA_DEVICE aa_u32 aa_lada_order(float f)
{
    aa_u32 b = AA_FLOAT_BITS(f + 0.0f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

AA_DEVICE float aa_lada_unorder(aa_u32 o)
{
    return AA_BITS_FLOAT((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}

/* The claim key of (loss, GT): the larger key has the lower loss, then the lower GT
 * index; 0 means none (a real key's high word is ~order of a finite float, never 0). */
AA_DEVICE aa_u64 aa_lada_key(float loss, aa_i32 local_gt)
{
    return ((aa_u64)(~aa_lada_order(loss)) << 32) | (aa_u64)(~(aa_u32)local_gt);
}

#ifdef AA_KERNEL
#define AA_LADA_INF AA_BITS_FLOAT(0x7f800000u)

/* key[r] = 0 for r < rows (grid-stride). */
AA_KERNEL aa_lada_clear_kernel(aa_i64 rows, AA_GLOBAL char *ws, aa_lada_ws lay)
{
    AA_GLOBAL aa_u64 *key = (AA_GLOBAL aa_u64 *)(ws + lay.key);
    for (aa_i64 r = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; r < rows; r += AA_NUM_GROUPS_X * AA_LOCAL_SIZE)
        key[r] = 0;
}

/* Anchor a on this level for the GT: 0 when its float32 centre is not strictly
 * inside region r, else its loss in *loss and 1 when it is finite, -1 when not (the
 * GT then gets no positive: file comment). */
AA_DEVICE_ONLY int aa_lada_candidate(aa_lada_args args, AA_GLOBAL const float *anchors, aa_i64 a,
                                     const double *r, AA_GLOBAL const aa_u8 *logits,
                                     AA_GLOBAL const aa_u8 *deltas, aa_i64 row0,
                                     AA_GLOBAL const float *gt, aa_i32 label, double gx, double gy,
                                     float *loss)
{
    AA_GLOBAL const float *box = anchors + 4 * a;
    double ax = (double)((box[0] + box[2]) / 2.0f), ay = (double)((box[1] + box[3]) / 2.0f);
    if (!(ax > r[0] && ax < r[2] && ay > r[1] && ay < r[3])) return 0;
    *loss = aa_lada_loss(args, logits, deltas, row0 + a, box, gt, label, gx, gy);
    return AA_ISFINITEF(*loss) ? 1 : -1;
}

/* One work-group of AA_LADA_LOCAL_SIZE per GT (grid-stride over all images' GTs). */
AA_KERNEL aa_lada_select_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                                AA_GLOBAL const float *gts, AA_GLOBAL const aa_i64 *offsets,
                                aa_i32 num_images, aa_i64 num_gts, AA_GLOBAL const aa_u8 *flags,
                                AA_GLOBAL const aa_i32 *labels, aa_levels levels, aa_lada_args args,
                                AA_GLOBAL const aa_u8 *logits, AA_GLOBAL const aa_u8 *deltas,
                                AA_GLOBAL char *ws, aa_lada_ws lay)
{
    AA_SHARED(float, red_v, AA_LADA_LOCAL_SIZE);
    AA_SHARED(aa_i64, red_i, AA_LADA_LOCAL_SIZE);
    AA_SHARED(aa_i32, bad, 1);
    aa_i32 lid = AA_LOCAL_ID;
    AA_GLOBAL aa_u64 *key = (AA_GLOBAL aa_u64 *)(ws + lay.key);
    for (aa_i64 g = AA_GROUP_ID_X; g < num_gts; g += AA_NUM_GROUPS_X) {
        AA_GLOBAL const float *gt = gts + 4 * g;
        /* crowd, or no area: no region (uniform over the group) */
        if ((flags && flags[g]) || !(gt[2] > gt[0] && gt[3] > gt[1])) continue;
        aa_i64 image = aa_image_of_gt(offsets, num_images, g), local_gt = g - offsets[image];
        aa_i64 row0 = image * num_anchors, slot = g * lay.per_gt;
        AA_GLOBAL aa_i32 *cand_index = (AA_GLOBAL aa_i32 *)(ws + lay.cand_index) + slot;
        AA_GLOBAL float *cand_loss = (AA_GLOBAL float *)(ws + lay.cand_loss) + slot;
        AA_GLOBAL aa_i32 *sorted_index = (AA_GLOBAL aa_i32 *)(ws + lay.sorted_index) + slot;
        AA_GLOBAL float *sorted_loss = (AA_GLOBAL float *)(ws + lay.sorted_loss) + slot;
        aa_i32 label = labels[g];
        double gx = (double)((gt[0] + gt[2]) / 2.0f), gy = (double)((gt[1] + gt[3]) / 2.0f);

        if (lid == 0) bad[0] = 0;
        AA_BARRIER();

        /* per level, the topk_per_level lowest (loss, index) in the region, ascending */
        aa_i64 level_first[AA_K_MAX_LEVELS + 1];
        aa_i64 count = 0;
        level_first[0] = 0;
        for (aa_i32 l = 0; l < levels.num_levels; ++l) {
            aa_i64 begin = levels.begin[l], end = levels.begin[l + 1];
            double r[4];
            aa_lada_region(args, gt, gx, gy, (double)levels.stride[l], r);
            float c;
            if (args.topk_per_level <= AA_TOPK_LIST) { /* one pass (uniform for the group) */
                float list_c[AA_TOPK_LIST];
                aa_i32 list_i[AA_TOPK_LIST];
                aa_topk_list_clear(list_c, list_i);
                for (aa_i64 a = begin + lid; a < end; a += AA_LOCAL_SIZE) {
                    int is = aa_lada_candidate(args, anchors, a, r, logits, deltas, row0, gt, label, gx, gy, &c);
                    if (is > 0) aa_topk_list_offer(list_c, list_i, c, (aa_i32)a);
                    if (is < 0) bad[0] = 1;
                }
                count += aa_topk_list_take(red_v, red_i, list_c, list_i, args.topk_per_level,
                                           cand_index + count, cand_loss + count);
            } else { /* k rounds (no `continue` around barriers: PoCL miscompiled it) */
                float prev_c = 0.0f;
                aa_i64 prev_i = -1;
                for (aa_i32 j = 0; j < args.topk_per_level; ++j) {
                    float best_neg = 0.0f; /* the group argmax of -loss is the argmin */
                    aa_i64 best_i = -1;
                    for (aa_i64 a = begin + lid; a < end; a += AA_LOCAL_SIZE) {
                        int is = aa_lada_candidate(args, anchors, a, r, logits, deltas, row0, gt, label, gx, gy, &c);
                        if (is < 0) bad[0] = 1;
                        if (is > 0) aa_topk_round_offer(c, a, prev_c, prev_i, &best_neg, &best_i);
                    }
                    aa_group_argmax(red_v, red_i, &best_neg, &best_i);
                    if (best_i < 0) break; /* uniform: every work-item has the group's answer */
                    prev_c = -best_neg, prev_i = best_i;
                    if (lid == 0) cand_index[count] = (aa_i32)best_i, cand_loss[count] = prev_c;
                    ++count;
                }
            }
            level_first[l + 1] = count;
        }
        AA_BARRIER_GLOBAL();

        /* the first min(topk, count) in (loss, index) order: each candidate's rank is
         * its place in its level plus the entries of the other levels before it */
        aa_i64 n = count < args.topk ? count : args.topk;
        for (aa_i64 c = lid; c < count; c += AA_LOCAL_SIZE) {
            aa_i32 own = 0;
            while (c >= level_first[own + 1]) ++own;
            aa_i64 rank = c - level_first[own];
            for (aa_i32 l = 0; l < levels.num_levels && rank < n; ++l)
                if (l != own)
                    rank += aa_paa_count_before(cand_loss, cand_index, level_first[l], level_first[l + 1],
                                                cand_loss[c], cand_index[c]);
            if (rank < n) sorted_index[rank] = cand_index[c], sorted_loss[rank] = cand_loss[c];
        }
        AA_BARRIER_GLOBAL();

        /* the threshold and the positives' claims */
        if (lid == 0 && n > 0 && !bad[0]) {
            double thr = aa_lada_dynamic_threshold(args.mean_std, sorted_loss, n);
            for (aa_i64 j = 0; j < n; ++j)
                if ((double)sorted_loss[j] < thr)
                    AA_ATOMIC_MAX_U64(key + row0 + sorted_index[j], aa_lada_key(sorted_loss[j], (aa_i32)local_gt));
        }
        AA_BARRIER(); /* the next GT reuses the local memory */
    }
}

/* Per (image, anchor): the outputs from the claim key. */
AA_KERNEL aa_lada_assign_kernel(aa_i64 num_anchors, AA_GLOBAL const aa_i64 *offsets, aa_i32 num_images,
                                AA_GLOBAL const aa_i32 *labels, AA_GLOBAL const char *ws, aa_lada_ws lay,
                                AA_GLOBAL aa_i32 *out_index, AA_GLOBAL float *out_overlap,
                                AA_GLOBAL aa_i32 *out_labels)
{
    AA_GLOBAL const aa_u64 *key = (AA_GLOBAL const aa_u64 *)(ws + lay.key);
    for (aa_i64 i = AA_GROUP_ID_Y; i < num_images; i += AA_NUM_GROUPS_Y) {
        aa_i64 first = offsets[i];
        for (aa_i64 a = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; a < num_anchors;
             a += AA_NUM_GROUPS_X * AA_LOCAL_SIZE) {
            aa_i64 row = i * num_anchors + a;
            aa_u64 k = key[row];
            aa_i32 g = k ? (aa_i32)(~(aa_u32)(k & 0xffffffffu)) : -1;
            out_index[row] = g;
            if (out_overlap) out_overlap[row] = k ? aa_lada_unorder(~(aa_u32)(k >> 32)) : AA_LADA_INF;
            if (out_labels) out_labels[row] = g >= 0 ? labels[first + g] : -1;
        }
    }
}
#endif

#endif /* AA_KERNEL_LADA_H */
