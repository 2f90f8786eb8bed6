/* reduce.h - the work-group argmax: in local memory, the plain version that every
 * OpenCL 1.2 device runs (PoCL has no work-group collectives), and with warp shuffles
 * on CUDA. One function, aa_group_argmax, for both: kernels call it the same way.
 * Deterministic: the combine is associative and commutative (max value, then the
 * lowest index), so the result does not depend on the order work-items meet in. */
#ifndef AA_KERNEL_REDUCE_H
#define AA_KERNEL_REDUCE_H

#include "aa_dialect.h"

/* The (value, index) pair that comes first: larger value, then lower index; an
 * index < 0 marks "none" and always loses. */
AA_DEVICE int aa_argmax_better(float v1, aa_i64 i1, float v2, aa_i64 i2)
{
    if (i2 < 0) return i1 >= 0;
    if (i1 < 0) return 0;
    return v1 > v2 || (v1 == v2 && i1 < i2);
}

#if defined(AA_KERNEL) && defined(__CUDACC__)
/* CUDA: warp shuffles, then one warp over the warps' results, so 3 barriers instead of
 * the 2 + log2(group size) of the local-memory tree below. The result is the same: the
 * combine is a total order on (value, index) (no NaN reaches a reduction; "none" entries
 * carry the same value), so any tree gives the sequential answer (tests/test_box_math.c
 * checks both trees' shapes against it). Needs a group size that is a multiple of 32 and
 * at most 1024 (host/plan.c checks its sizes). */
AA_DEVICE_ONLY void aa_warp_argmax(float *v, aa_i64 *i)
{
    for (int offset = 16; offset > 0; offset /= 2) {
        float ov = __shfl_down_sync(0xffffffffu, *v, offset);
        aa_i64 oi = __shfl_down_sync(0xffffffffu, *i, offset);
        if (aa_argmax_better(ov, oi, *v, *i)) *v = ov, *i = oi;
    }
}

AA_DEVICE_ONLY void aa_group_argmax(AA_LOCAL float *vals, AA_LOCAL aa_i64 *idxs, float *v, aa_i64 *i)
{
    aa_i32 lid = AA_LOCAL_ID, lane = lid & 31, warp = lid >> 5, warps = AA_LOCAL_SIZE >> 5;
    aa_warp_argmax(v, i); /* lane 0: its warp's answer */
    if (lane == 0) vals[warp] = *v, idxs[warp] = *i;
    AA_BARRIER();
    if (warp == 0) {
        float wv = lane < warps ? vals[lane] : 0.0f;
        aa_i64 wi = lane < warps ? idxs[lane] : -1; /* none: always loses */
        aa_warp_argmax(&wv, &wi);
        if (lane == 0) vals[0] = wv, idxs[0] = wi; /* after every lane's read (the shuffles) */
    }
    AA_BARRIER();
    *v = vals[0];
    *i = idxs[0];
    AA_BARRIER(); /* vals/idxs may be reused at once */
}
#elif defined(AA_KERNEL)
/* Reduces each work-item's (value, index) over the group; every work-item must
 * call it (it has barriers). `vals`/`idxs` are local arrays of AA_LOCAL_SIZE
 * entries, a power of two. The result is returned to every work-item. */
AA_DEVICE_ONLY void aa_group_argmax(AA_LOCAL float *vals, AA_LOCAL aa_i64 *idxs, float *v, aa_i64 *i)
{
    aa_i32 lid = AA_LOCAL_ID;
    vals[lid] = *v;
    idxs[lid] = *i;
    AA_BARRIER();
    for (aa_i32 span = AA_LOCAL_SIZE / 2; span > 0; span /= 2) { /* not "half": an OpenCL type */
        if (lid < span && aa_argmax_better(vals[lid + span], idxs[lid + span], vals[lid], idxs[lid])) {
            vals[lid] = vals[lid + span];
            idxs[lid] = idxs[lid + span];
        }
        AA_BARRIER();
    }
    *v = vals[0];
    *i = idxs[0];
    AA_BARRIER(); /* vals/idxs may be reused at once */
}
#endif

#endif /* AA_KERNEL_REDUCE_H */
