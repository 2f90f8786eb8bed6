/* paa.h - PAA (host/cpu/paa_ref.c) on the GPU backends, five kernels:
 *   aa_paa_cost_kernel    one work-item per (image, anchor): the cost of an anchor
 *                         pre-assigned to a GT, +INF for the others; in double in
 *                         the reference's operation order, rounded to float once;
 *   aa_paa_copy_kernel    aa_assign_paa: the pre-assignment (written by the max-IoU
 *                         kernels into the gt_index output) into the workspace;
 *   aa_paa_init_kernel    per (image, anchor): the outputs before any positive
 *                         (AA_IGNORED / AA_NEGATIVE, overlap = cost or +INF, labels -1);
 *   aa_paa_select_kernel  one work-group per GT (all images, grid-stride): per level
 *                         the topk lowest (cost, anchor index) among the GT's
 *                         pre-assigned anchors, ties to the lower index (topk <=
 *                         AA_TOPK_LIST: one pass, topk_list.h; larger: k rounds of
 *                         a group argmin, each strictly after the previous), all
 *                         candidates sorted by (cost, index) (each one's rank from
 *                         binary searches in the other levels' sorted lists), the
 *                         two-component EM on them (kernels/gmm.h's work-group
 *                         function aa_gmm_fit_segment, the code aa_gmm_fit runs),
 *                         then the separation of paa_ref.c's separate(), written by
 *                         work-item 0 (each anchor is pre-assigned to one GT at
 *                         most: no two groups write the same output).
 * A GT one of whose pre-assigned anchors has a non-finite cost (possible only from
 * device memory the host cannot check) gets no positive: its candidates could not
 * be ordered. The pre-assignment and the costs come as (buffer, byte offset), so
 * that aa_assign_paa passes its one workspace for both. */
#ifndef AA_KERNEL_PAA_H
#define AA_KERNEL_PAA_H

#include "aa_dialect.h"
#include "gmm.h"
#include "levels.h"
#include "reduce.h"
#include "topk_list.h"

#define AA_PAA_LOCAL_SIZE 64 /* AA_PLAN_PAA_LOCAL_SIZE: the select kernel's group */
#define AA_PAA_FLOAT32 0     /* aa_dtype */
#define AA_PAA_FLOAT16 1
#define AA_PAA_BFLOAT16 2
#define AA_PAA_SEPARATE_ORIGINAL_K 1 /* AA_PAA_SEPARATE_ORIGINAL */

/* The call's parameters, by value (8-byte fields first). max_ratio is
 * |log(wh_ratio_clip)|, taken on the host (a parameter, not per anchor). */
typedef struct aa_paa_args {
    double max_ratio;
    float focal_alpha, focal_gamma, giou_weight, giou_eps;
    float means[4], stds[4];
    aa_i32 num_classes, dtype, topk, single_positive, separation, unused;
} aa_paa_args;

/* Byte offsets of the selection's workspace arrays, per_gt slots per GT each:
 * candidates (anchor index, cost) level by level, the same sorted, the EM's
 * responsibilities [2] and norms, its labels and log-densities. */
typedef struct aa_paa_select_ws {
    aa_i64 cand_index, cand_cost, sorted_index, sorted_cost, resp, norm, labels, density;
    aa_i64 per_gt; /* sum over levels of min(topk, level size) */
} aa_paa_select_ws;

/* A float16 bit pattern as float (exact; NaN as the reference's NAN, signed). */
AA_DEVICE float aa_paa_half_to_float(aa_u32 h)
{
    aa_u32 e = (h >> 10) & 31u, m = h & 1023u;
    float v;
    if (e == 0) v = (float)m * 5.9604644775390625e-8f; /* m x 2^-24: exact */
    else if (e == 31) v = AA_BITS_FLOAT(m ? 0x7fc00000u : 0x7f800000u);
    else v = AA_BITS_FLOAT(((e + 112u) << 23) | (m << 13));
    return (h & 0x8000u) ? -v : v;
}

AA_DEVICE float aa_paa_bfloat_to_float(aa_u32 b) { return AA_BITS_FLOAT((b & 0xFFFFu) << 16); }

/* Element i of a head-output array of type dtype, as float. */
AA_DEVICE float aa_paa_head_value(AA_GLOBAL const aa_u8 *array, aa_i32 dtype, aa_i64 i)
{
    if (dtype == AA_PAA_FLOAT16) return aa_paa_half_to_float(((AA_GLOBAL const unsigned short *)array)[i]);
    if (dtype == AA_PAA_BFLOAT16) return aa_paa_bfloat_to_float(((AA_GLOBAL const unsigned short *)array)[i]);
    return ((AA_GLOBAL const float *)array)[i];
}

/* mmdetection's bbox_overlaps(pred, target, mode='giou', is_aligned=True). */
AA_DEVICE double aa_paa_giou(const double *a, const double *b, double eps)
{
    double area_a = (a[2] - a[0]) * (a[3] - a[1]);
    double area_b = (b[2] - b[0]) * (b[3] - b[1]);
    double w = AA_FMAX(AA_FMIN(a[2], b[2]) - AA_FMAX(a[0], b[0]), 0.0);
    double h = AA_FMAX(AA_FMIN(a[3], b[3]) - AA_FMAX(a[1], b[1]), 0.0);
    double overlap = w * h;
    double uni = AA_FMAX(area_a + area_b - overlap, eps);
    double ew = AA_FMAX(AA_FMAX(a[2], b[2]) - AA_FMIN(a[0], b[0]), 0.0);
    double eh = AA_FMAX(AA_FMAX(a[3], b[3]) - AA_FMIN(a[1], b[1]), 0.0);
    double enclose = AA_FMAX(ew * eh, eps);
    return overlap / uni - (enclose - uni) / enclose;
}

/* mmdetection's py_sigmoid_focal_loss for one class. */
AA_DEVICE double aa_paa_focal(double x, aa_i32 is_target, double alpha, double gamma)
{
    double t = is_target ? 1.0 : 0.0;
    double prob = 1.0 / (1.0 + AA_EXP(-x));
    double pt = (1.0 - prob) * t + prob * (1.0 - t);
    double weight = (alpha * t + (1.0 - alpha) * (1.0 - t)) * AA_POW(pt, gamma);
    double bce = AA_FMAX(x, 0.0) - x * t + AA_LOG1P(AA_EXP(-AA_FABS(x)));
    return bce * weight;
}

/* The four box deltas of head row `row`, as double. */
AA_DEVICE void aa_paa_read_deltas(AA_GLOBAL const aa_u8 *deltas, aa_i32 dtype, aa_i64 row, double *d)
{
    for (aa_i32 c = 0; c < 4; ++c) d[c] = (double)aa_paa_head_value(deltas, dtype, row * 4 + c);
}

/* mmdetection's delta2bbox of one anchor (DeltaXYWHBBoxCoder, no clipping), in
 * double in head_loss.c's operation order; max_ratio = |log(wh_ratio_clip)|. Shared
 * by PAA's cost and LADA's loss. */
AA_DEVICE void aa_paa_delta2bbox(const float *means, const float *stds, double max_ratio,
                                 AA_GLOBAL const float *anchor, const double *d, double *box)
{
    double dx = d[0] * (double)stds[0] + (double)means[0];
    double dy = d[1] * (double)stds[1] + (double)means[1];
    double dw = d[2] * (double)stds[2] + (double)means[2];
    double dh = d[3] * (double)stds[3] + (double)means[3];
    double px = ((double)anchor[0] + (double)anchor[2]) * 0.5;
    double py = ((double)anchor[1] + (double)anchor[3]) * 0.5;
    double pw = (double)anchor[2] - (double)anchor[0], ph = (double)anchor[3] - (double)anchor[1];
    dw = AA_FMIN(AA_FMAX(dw, -max_ratio), max_ratio);
    dh = AA_FMIN(AA_FMAX(dh, -max_ratio), max_ratio);
    double gx = px + pw * dx, gy = py + ph * dy;
    double gw = pw * AA_EXP(dw), gh = ph * AA_EXP(dh);
    box[0] = gx - gw * 0.5;
    box[1] = gy - gh * 0.5;
    box[2] = gx + gw * 0.5;
    box[3] = gy + gh * 0.5;
}

/* The focal loss of head row `row` summed over classes in class order against
 * `label` (PAA's cost and LADA's loss). */
AA_DEVICE double aa_paa_cls_sum(AA_GLOBAL const aa_u8 *logits, aa_i32 dtype, aa_i64 row,
                                aa_i32 num_classes, aa_i32 label, double alpha, double gamma)
{
    double cls = 0.0;
    for (aa_i32 c = 0; c < num_classes; ++c)
        cls += aa_paa_focal((double)aa_paa_head_value(logits, dtype, row * num_classes + c), c == label,
                            alpha, gamma);
    return cls;
}

/* The cost of head row `row` (image x num_anchors + anchor) against a GT box and
 * label: delta2bbox of the anchor, focal loss summed over classes, GIoU loss. */
AA_DEVICE float aa_paa_cost(aa_paa_args args, AA_GLOBAL const aa_u8 *logits,
                            AA_GLOBAL const aa_u8 *deltas, aa_i64 row, AA_GLOBAL const float *anchor,
                            AA_GLOBAL const float *gt_box, aa_i32 label)
{
    double d[4], box[4], gt[4];
    aa_paa_read_deltas(deltas, args.dtype, row, d);
    for (aa_i32 c = 0; c < 4; ++c) gt[c] = (double)gt_box[c];
    aa_paa_delta2bbox(args.means, args.stds, args.max_ratio, anchor, d, box);
    double cls = aa_paa_cls_sum(logits, args.dtype, row, args.num_classes, label, (double)args.focal_alpha,
                                (double)args.focal_gamma);
    double reg = (double)args.giou_weight * (1.0 - aa_paa_giou(box, gt, (double)args.giou_eps));
    return (float)(reg + cls);
}

/* (cost, anchor index) ascending: the candidates' order everywhere in PAA. */
AA_DEVICE int aa_paa_before(float cost_a, aa_i64 a, float cost_b, aa_i64 b)
{
    return cost_a < cost_b || (cost_a == cost_b && a < b);
}

#ifdef AA_KERNEL
#define AA_PAA_INF AA_BITS_FLOAT(0x7f800000u)

/* Per (image, anchor): the cost where 0 <= pre < the image's GT count, else +INF
 * (an out-of-range pre-assignment from device memory costs nothing to read). */
AA_KERNEL aa_paa_cost_kernel(AA_GLOBAL const float *anchors, aa_i64 num_anchors,
                             AA_GLOBAL const float *gts, AA_GLOBAL const aa_i64 *offsets,
                             aa_i32 num_images, AA_GLOBAL const aa_i32 *labels,
                             AA_GLOBAL const char *pre_base, aa_i64 pre_at,
                             AA_GLOBAL const aa_u8 *logits, AA_GLOBAL const aa_u8 *deltas,
                             aa_paa_args args, AA_GLOBAL char *cost_base, aa_i64 cost_at)
{
    AA_GLOBAL const aa_i32 *pre = (AA_GLOBAL const aa_i32 *)(pre_base + pre_at);
    AA_GLOBAL float *costs = (AA_GLOBAL float *)(cost_base + cost_at);
    for (aa_i64 i = AA_GROUP_ID_Y; i < num_images; i += AA_NUM_GROUPS_Y) {
        aa_i64 first = offsets[i], num_gts = offsets[i + 1] - first;
        for (aa_i64 a = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; a < num_anchors;
             a += AA_NUM_GROUPS_X * AA_LOCAL_SIZE) {
            aa_i64 row = i * num_anchors + a;
            aa_i32 g = pre[row];
            float c = AA_PAA_INF;
            if (g >= 0 && g < num_gts)
                c = aa_paa_cost(args, logits, deltas, row, anchors + 4 * a, gts + 4 * (first + g),
                                labels[first + g]);
            costs[row] = c;
        }
    }
}

/* dst[r] = src[r] for r < rows (grid-stride). */
AA_KERNEL aa_paa_copy_kernel(AA_GLOBAL const aa_i32 *src, aa_i64 rows, AA_GLOBAL char *dst_base,
                             aa_i64 dst_at)
{
    AA_GLOBAL aa_i32 *dst = (AA_GLOBAL aa_i32 *)(dst_base + dst_at);
    for (aa_i64 r = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; r < rows;
         r += AA_NUM_GROUPS_X * AA_LOCAL_SIZE)
        dst[r] = src[r];
}

/* The outputs before the positives (paa_ref.c's first loop). */
AA_KERNEL aa_paa_init_kernel(aa_i64 rows, AA_GLOBAL const char *pre_base, aa_i64 pre_at,
                             AA_GLOBAL const char *cost_base, aa_i64 cost_at,
                             AA_GLOBAL aa_i32 *out_index, AA_GLOBAL float *out_overlap,
                             AA_GLOBAL aa_i32 *out_labels)
{
    AA_GLOBAL const aa_i32 *pre = (AA_GLOBAL const aa_i32 *)(pre_base + pre_at);
    AA_GLOBAL const float *costs = (AA_GLOBAL const float *)(cost_base + cost_at);
    for (aa_i64 r = AA_GROUP_ID_X * AA_LOCAL_SIZE + AA_LOCAL_ID; r < rows;
         r += AA_NUM_GROUPS_X * AA_LOCAL_SIZE) {
        aa_i32 g = pre[r];
        out_index[r] = g == -2 ? -2 : -1;
        if (out_overlap) out_overlap[r] = g >= 0 ? costs[r] : AA_PAA_INF;
        if (out_labels) out_labels[r] = -1;
    }
}

/* Entries of the sorted list [lo, hi) of (cost, index) before (c, a). */
AA_DEVICE_ONLY aa_i64 aa_paa_count_before(AA_GLOBAL const float *cost, AA_GLOBAL const aa_i32 *index,
                                          aa_i64 lo, aa_i64 hi, float c, aa_i64 a)
{
    aa_i64 first = lo;
    while (lo < hi) {
        aa_i64 mid = lo + (hi - lo) / 2;
        if (aa_paa_before(cost[mid], index[mid], c, a)) lo = mid + 1;
        else hi = mid;
    }
    return lo - first;
}

/* One work-group of AA_PAA_LOCAL_SIZE per GT (grid-stride over all images' GTs). */
AA_KERNEL aa_paa_select_kernel(aa_i64 num_anchors, AA_GLOBAL const aa_i64 *offsets,
                               aa_i32 num_images, aa_i64 num_gts, AA_GLOBAL const aa_i32 *labels,
                               aa_levels levels, aa_paa_args args, aa_gmm_args gmm,
                               AA_GLOBAL const char *pre_base, aa_i64 pre_at,
                               AA_GLOBAL const char *cost_base, aa_i64 cost_at, AA_GLOBAL char *ws,
                               aa_paa_select_ws lay, AA_GLOBAL aa_i32 *out_index,
                               AA_GLOBAL aa_i32 *out_labels)
{
    AA_SHARED(float, red_v, AA_PAA_LOCAL_SIZE);
    AA_SHARED(aa_i64, red_i, AA_PAA_LOCAL_SIZE);
    AA_SHARED(double, par, AA_GMM_NUM_PARAMS * AA_GMM_K_MAX);
    AA_SHARED(double, terms, AA_GMM_NUM_TERMS * AA_GMM_K_MAX);
    AA_SHARED(double, sums, AA_GMM_NUM_SUMS);
    AA_SHARED(double, bound, 1);
    AA_SHARED(aa_i32, ctl, AA_GMM_NUM_CTL);
    AA_SHARED(aa_i32, bad, 1);
    aa_i32 lid = AA_LOCAL_ID;
    for (aa_i64 g = AA_GROUP_ID_X; g < num_gts; g += AA_NUM_GROUPS_X) {
        aa_i64 image = aa_image_of_gt(offsets, num_images, g), local_gt = g - offsets[image];
        AA_GLOBAL const aa_i32 *pre = (AA_GLOBAL const aa_i32 *)(pre_base + pre_at) + image * num_anchors;
        AA_GLOBAL const float *cost = (AA_GLOBAL const float *)(cost_base + cost_at) + image * num_anchors;
        aa_i64 slot = g * lay.per_gt;
        AA_GLOBAL aa_i32 *cand_index = (AA_GLOBAL aa_i32 *)(ws + lay.cand_index) + slot;
        AA_GLOBAL float *cand_cost = (AA_GLOBAL float *)(ws + lay.cand_cost) + slot;
        AA_GLOBAL aa_i32 *sorted_index = (AA_GLOBAL aa_i32 *)(ws + lay.sorted_index) + slot;
        AA_GLOBAL float *sorted_cost = (AA_GLOBAL float *)(ws + lay.sorted_cost) + slot;
        AA_GLOBAL aa_i32 *em_labels = (AA_GLOBAL aa_i32 *)(ws + lay.labels) + slot;
        AA_GLOBAL double *em_density = (AA_GLOBAL double *)(ws + lay.density) + slot;

        /* a non-finite cost among the GT's anchors: no candidates at all */
        if (lid == 0) bad[0] = 0;
        AA_BARRIER();
        for (aa_i64 a = lid; a < num_anchors; a += AA_LOCAL_SIZE)
            if (pre[a] == local_gt && !AA_ISFINITEF(cost[a])) bad[0] = 1;
        AA_BARRIER();
        aa_i32 num_levels = bad[0] ? 0 : levels.num_levels; /* uniform */

        /* per level, the topk lowest (cost, index), ascending */
        aa_i64 level_first[AA_K_MAX_LEVELS + 1];
        aa_i64 count = 0;
        level_first[0] = 0;
        for (aa_i32 l = 0; l < num_levels; ++l) {
            aa_i64 begin = levels.begin[l], end = levels.begin[l + 1];
            if (args.topk <= AA_TOPK_LIST) { /* one pass (uniform for the group) */
                float list_c[AA_TOPK_LIST];
                aa_i32 list_i[AA_TOPK_LIST];
                aa_topk_list_clear(list_c, list_i);
                for (aa_i64 a = begin + lid; a < end; a += AA_LOCAL_SIZE)
                    if (pre[a] == local_gt) aa_topk_list_offer(list_c, list_i, cost[a], (aa_i32)a);
                count += aa_topk_list_take(red_v, red_i, list_c, list_i, args.topk, cand_index + count,
                                           cand_cost + count);
            } else { /* k rounds (no `continue` around barriers: PoCL miscompiled it) */
                float prev_c = 0.0f;
                aa_i64 prev_i = -1;
                for (aa_i32 j = 0; j < args.topk; ++j) {
                    float best_neg = 0.0f; /* the group argmax of -cost is the argmin */
                    aa_i64 best_i = -1;
                    for (aa_i64 a = begin + lid; a < end; a += AA_LOCAL_SIZE)
                        if (pre[a] == local_gt) aa_topk_round_offer(cost[a], a, prev_c, prev_i, &best_neg, &best_i);
                    aa_group_argmax(red_v, red_i, &best_neg, &best_i);
                    if (best_i < 0) break; /* uniform: every work-item has the group's answer */
                    prev_c = -best_neg, prev_i = best_i;
                    if (lid == 0) cand_index[count] = (aa_i32)best_i, cand_cost[count] = prev_c;
                    ++count;
                }
            }
            level_first[l + 1] = count;
        }
        AA_BARRIER_GLOBAL();

        /* the rank of each candidate in (cost, index) order: its place in its
         * level plus the entries of the other levels before it */
        for (aa_i64 c = lid; c < count; c += AA_LOCAL_SIZE) {
            aa_i32 own = 0;
            while (c >= level_first[own + 1]) ++own;
            aa_i64 rank = c - level_first[own];
            for (aa_i32 l = 0; l < num_levels; ++l)
                if (l != own)
                    rank += aa_paa_count_before(cand_cost, cand_index, level_first[l],
                                                level_first[l + 1], cand_cost[c], cand_index[c]);
            sorted_index[rank] = cand_index[c];
            sorted_cost[rank] = cand_cost[c];
        }
        AA_BARRIER_GLOBAL();

        /* the mixture (fewer than two candidates: not fitted, labels -1) */
        aa_gmm_fit_segment(gmm, 0, sorted_cost, count, 0, 0, 0,
                           (AA_GLOBAL double *)(ws + lay.resp) + slot * gmm.k,
                           (AA_GLOBAL double *)(ws + lay.norm) + slot, par, terms, sums, bound, ctl,
                           em_labels, em_density);
        AA_BARRIER_GLOBAL();

        /* the separation (paa_ref.c's separate()), then the positives */
        if (lid == 0 && count > 0) {
            aa_i64 best = -1;
            aa_i32 fitted = count >= 2 && em_labels[0] >= 0;
            for (aa_i64 j = 0; count >= 2 && j < count; ++j)
                if (em_labels[j] == 0 && (best < 0 || em_density[j] > em_density[best])) best = j;
            for (aa_i64 j = 0; j < count; ++j) {
                aa_i32 positive;
                if (count == 1) positive = args.single_positive != 0;
                else if (args.separation == AA_PAA_SEPARATE_ORIGINAL_K)
                    positive = fitted && (best < 0 || j <= best);
                else positive = best >= 0 && j <= best && em_labels[j] == 0;
                if (!positive) continue;
                aa_i64 row = image * num_anchors + sorted_index[j];
                out_index[row] = (aa_i32)local_gt;
                if (out_labels) out_labels[row] = labels[g];
            }
        }
        AA_BARRIER(); /* the next GT reuses the local memory */
    }
}
#endif

#endif /* AA_KERNEL_PAA_H */
