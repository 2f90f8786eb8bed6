/* reduce.h - work-group reductions in local memory, the plain version that every
 * OpenCL 1.2 device runs (PoCL has no work-group collectives). Deterministic: the
 * combine is associative and commutative (max value, then the lowest index), so
 * the result does not depend on the order work-items meet in. */
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

#ifdef AA_KERNEL
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
