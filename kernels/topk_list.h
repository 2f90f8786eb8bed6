/* topk_list.h - the one-pass top-k of a work-group: the k lowest (value, index) pairs
 * of a set the group scans once, in (value, index) order (lower index on equal
 * values), for k <= AA_TOPK_LIST. ATSS's nearest anchors (kernels/atss.h), PAA's
 * lowest costs (paa.h) and LADA's lowest losses (lada.h) per (GT, level).
 *
 * Each work-item keeps the AA_TOPK_LIST lowest pairs of its own share in a sorted list
 * (aa_topk_list_offer); then k rounds of a group argmin over the lists' heads, the
 * winner popped from its list (aa_topk_list_next). Exact: the k lowest of the whole
 * set hold at most k of one work-item's pairs, and those are that work-item's own k
 * lowest, which its list keeps since k <= AA_TOPK_LIST. A set scanned this way costs
 * one evaluation per element instead of one per element and round, as k rounds over
 * the whole set did (the kernels keep that way for larger k).
 *
 * The list functions use fixed trip counts over private arrays so that nvcc unrolls
 * them and keeps the list in registers (ptxas: no stack frame); they compile as host
 * C too (tests/test_box_math.c checks them and the merge against a sort). */
#ifndef AA_KERNEL_TOPK_LIST_H
#define AA_KERNEL_TOPK_LIST_H

#include "box_math.h"
#include "reduce.h"

#define AA_TOPK_LIST 16 /* pairs a work-item keeps: k up to this many (mmdetection: 9) */

/* (v1, i1) before (v2, i2): lower value, then lower index (aa_nearer); an index < 0
 * is an empty slot and comes last. */
AA_DEVICE int aa_topk_before(float v1, aa_i32 i1, float v2, aa_i32 i2)
{
    if (i2 < 0) return i1 >= 0;
    if (i1 < 0) return 0;
    return aa_nearer(v1, i1, v2, i2);
}

/* An empty list: every slot index -1. */
AA_DEVICE void aa_topk_list_clear(float *v, aa_i32 *i)
{
    for (int s = 0; s < AA_TOPK_LIST; ++s) v[s] = 0.0f, i[s] = -1;
}

/* Offers (value, idx): kept in order if it comes before the list's last entry, which
 * then falls off. Each slot keeps the earlier of itself and the pair carried down and
 * passes the other on. */
AA_DEVICE void aa_topk_list_offer(float *v, aa_i32 *i, float value, aa_i32 idx)
{
    if (!aa_topk_before(value, idx, v[AA_TOPK_LIST - 1], i[AA_TOPK_LIST - 1])) return;
    for (int s = 0; s < AA_TOPK_LIST; ++s) {
        if (aa_topk_before(value, idx, v[s], i[s])) {
            float tv = v[s];
            aa_i32 ti = i[s];
            v[s] = value, i[s] = idx;
            value = tv, idx = ti;
        }
    }
}

/* Drops the head. */
AA_DEVICE void aa_topk_list_pop(float *v, aa_i32 *i)
{
    for (int s = 0; s + 1 < AA_TOPK_LIST; ++s) v[s] = v[s + 1], i[s] = i[s + 1];
    v[AA_TOPK_LIST - 1] = 0.0f, i[AA_TOPK_LIST - 1] = -1;
}

/* A round of the top-k for k > AA_TOPK_LIST (every element evaluated once a round):
 * (value, idx) competes for the round's group argmin, in (*best_neg, *best_i) as
 * aa_group_argmax takes it, when it comes after the pair the previous round took
 * (prev_i < 0: none yet). */
AA_DEVICE void aa_topk_round_offer(float value, aa_i64 idx, float prev_v, aa_i64 prev_i, float *best_neg,
                                   aa_i64 *best_i)
{
    int after = prev_i < 0 || aa_nearer(prev_v, prev_i, value, idx);
    if (after && aa_argmax_better(-value, idx, *best_neg, *best_i)) *best_neg = -value, *best_i = idx;
}

#ifdef AA_KERNEL
/* The group's next lowest pair over every work-item's list (a round: every
 * work-item must call it, it has barriers), popped from its owner's list (indices
 * are unique). Returns its index, -1 when every list is empty, and its value in
 * *value. `red_v`/`red_i`: aa_group_argmax's local arrays. */
AA_DEVICE_ONLY aa_i64 aa_topk_list_next(AA_LOCAL float *red_v, AA_LOCAL aa_i64 *red_i, float *v,
                                        aa_i32 *i, float *value)
{
    float best_neg = -v[0]; /* the group argmax of -value is the argmin */
    aa_i64 best_i = i[0];
    aa_group_argmax(red_v, red_i, &best_neg, &best_i);
    if (best_i >= 0 && best_i == i[0]) aa_topk_list_pop(v, i);
    *value = -best_neg;
    return best_i;
}

/* Up to k rounds of aa_topk_list_next, stopping at the first empty one: work-item 0
 * writes the pairs in order to index[] (and value[] unless NULL). Returns how many
 * (the same on every work-item). */
AA_DEVICE_ONLY aa_i64 aa_topk_list_take(AA_LOCAL float *red_v, AA_LOCAL aa_i64 *red_i, float *v,
                                        aa_i32 *i, aa_i64 k, AA_GLOBAL aa_i32 *index,
                                        AA_GLOBAL float *value)
{
    aa_i64 n = 0;
    for (; n < k; ++n) {
        float x;
        aa_i64 next = aa_topk_list_next(red_v, red_i, v, i, &x);
        if (next < 0) break; /* uniform: every work-item has the group's answer */
        if (AA_LOCAL_ID == 0) {
            index[n] = (aa_i32)next;
            if (value) value[n] = x;
        }
    }
    return n;
}
#endif

#endif /* AA_KERNEL_TOPK_LIST_H */
