/* ranked.h - candidates kept in (value, anchor index) ascending order, lower index
 * first on equal values: the order PAA's costs and LADA's losses are ranked in,
 * per level and overall. Parallel arrays idx[] / val[]; CPU reference only. */
#ifndef AA_RANKED_H
#define AA_RANKED_H

#include <stdint.h>

static inline int aa__ref_ranks_before(float va, int32_t a, float vb, int32_t b)
{
    return va < vb || (va == vb && a < b);
}

/* Inserts (v, a) into the sorted run [first, *count), which keeps at most k entries
 * (the k lowest so far): *count grows until the run holds k. */
static inline void aa__ref_ranked_insert(int32_t *idx, float *val, int32_t first, int32_t *count,
                                         int32_t k, float v, int32_t a)
{
    int32_t n = *count - first;
    if (n == k && !aa__ref_ranks_before(v, a, val[*count - 1], idx[*count - 1])) return;
    int32_t pos = n == k ? *count - 1 : (*count)++;
    while (pos > first && aa__ref_ranks_before(v, a, val[pos - 1], idx[pos - 1])) {
        idx[pos] = idx[pos - 1];
        val[pos] = val[pos - 1];
        --pos;
    }
    idx[pos] = a;
    val[pos] = v;
}

/* Insertion sort of n entries (a few levels' top-k: small). */
static inline void aa__ref_ranked_sort(int32_t *idx, float *val, int32_t n)
{
    for (int32_t j = 1; j < n; ++j) {
        int32_t a = idx[j], pos = j;
        float v = val[j];
        while (pos > 0 && aa__ref_ranks_before(v, a, val[pos - 1], idx[pos - 1])) {
            idx[pos] = idx[pos - 1];
            val[pos] = val[pos - 1];
            --pos;
        }
        idx[pos] = a;
        val[pos] = v;
    }
}

#endif
