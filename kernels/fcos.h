/* fcos.h - FCOS targets (mmdetection FCOSHead._get_targets_single), one work-item
 * per (image, point); the image's GTs are read through local memory in tiles, so
 * a work-group loads each GT once for all its points. Same rules as
 * host/cpu/fcos_ref.c: strictly inside (or inside the centre-sampling box), max
 * distance within the level's range, smallest area (INF = 1e8 for an invalid
 * pair, first GT on ties), crowd GTs skipped, centre-ness as the overlap. */
#ifndef AA_KERNEL_FCOS_H
#define AA_KERNEL_FCOS_H

#include "box_math.h"
#include "levels.h"

#define AA_FCOS_INF 100000000.0f
#define AA_FCOS_TILE 256 /* GTs per local-memory tile: the plan's local size */

AA_DEVICE float aa_min4(float a, float b, float c, float d)
{
    return aa_minf(aa_minf(a, b), aa_minf(c, d));
}

AA_DEVICE float aa_max4(float a, float b, float c, float d)
{
    return aa_maxf(aa_maxf(a, b), aa_maxf(c, d));
}

/* Whether point (x,y) of a level with this stride is a valid location for the GT. */
AA_DEVICE int aa_fcos_valid(float x, float y, aa_box gt, float stride, aa_i32 center_sampling,
                            float radius, float lo, float hi)
{
    float l = x - gt.x1, t = y - gt.y1, r = gt.x2 - x, b = gt.y2 - y;
    int inside;
    if (center_sampling) {
        float s = stride * radius;
        float cx = (gt.x1 + gt.x2) / 2.0f, cy = (gt.y1 + gt.y2) / 2.0f;
        float x0 = cx - s, y0 = cy - s, x1 = cx + s, y1 = cy + s;
        float c0 = x0 > gt.x1 ? x0 : gt.x1;
        float c1 = y0 > gt.y1 ? y0 : gt.y1;
        float c2 = x1 > gt.x2 ? gt.x2 : x1;
        float c3 = y1 > gt.y2 ? gt.y2 : y1;
        inside = aa_min4(x - c0, y - c1, c2 - x, c3 - y) > 0.0f;
    } else {
        inside = aa_min4(l, t, r, b) > 0.0f;
    }
    float reach = aa_max4(l, t, r, b);
    return inside && reach >= lo && reach <= hi;
}

/* sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)) of the point inside the GT. */
AA_DEVICE float aa_fcos_centerness(float x, float y, aa_box gt)
{
    float l = x - gt.x1, t = y - gt.y1, r = gt.x2 - x, b = gt.y2 - y;
    float lr = aa_minf(l, r) / aa_maxf(l, r);
    float tb = aa_minf(t, b) / aa_maxf(t, b);
    return AA_SQRTF(lr * tb);
}

#ifdef AA_KERNEL
/* Grid: x strides over point blocks, y over images. Every work-item of a group
 * takes part in every barrier (the loops' bounds are the same for the group). */
AA_KERNEL aa_fcos_kernel(AA_GLOBAL const float *points, aa_i64 num_points,
                         AA_GLOBAL const float *gts, AA_GLOBAL const aa_i64 *offsets,
                         aa_i32 num_images, AA_GLOBAL const aa_u8 *ignore_flags,
                         AA_GLOBAL const aa_i32 *labels, aa_levels levels, aa_i32 center_sampling,
                         float radius, AA_GLOBAL aa_i32 *out_index, AA_GLOBAL float *out_overlap,
                         AA_GLOBAL aa_i32 *out_labels)
{
    AA_SHARED(aa_box, tile, AA_FCOS_TILE);
    AA_SHARED(aa_i32, tile_id, AA_FCOS_TILE);
    aa_i32 lid = AA_LOCAL_ID, size = AA_LOCAL_SIZE;
    for (aa_i64 image = AA_GROUP_ID_Y; image < num_images; image += AA_NUM_GROUPS_Y) {
        aa_i64 first = offsets[image], count = offsets[image + 1] - first;
        for (aa_i64 base = AA_GROUP_ID_X * size; base < num_points; base += AA_NUM_GROUPS_X * size) {
            aa_i64 p = base + lid;
            int active = p < num_points;
            float x = 0.0f, y = 0.0f;
            aa_i32 level = 0;
            if (active) {
                aa_box pb = aa_box_load(points, p);
                x = aa_box_cx(pb), y = aa_box_cy(pb);
                level = aa_level_of(levels, p);
            }
            float best_area = AA_FCOS_INF; /* not read before the first GT sets it */
            aa_i32 best = -1;
            aa_box best_box = {0.0f, 0.0f, 0.0f, 0.0f};
            for (aa_i64 t0 = 0; t0 < count; t0 += size) {
                aa_load_gt_tile(gts, ignore_flags, first, count, t0, tile, tile_id);
                aa_i64 n = count - t0 < size ? count - t0 : size;
                for (aa_i64 k = 0; active && k < n; ++k) {
                    if (tile_id[k] < 0) continue; /* crowd: takes no part */
                    aa_box gt = tile[k];
                    int valid = aa_fcos_valid(x, y, gt, levels.stride[level], center_sampling, radius,
                                              levels.lo[level], levels.hi[level]);
                    float area = valid ? aa_box_area(gt) : AA_FCOS_INF;
                    if (best < 0 || area < best_area) best_area = area, best = tile_id[k], best_box = gt;
                }
            }
            if (active) {
                aa_i64 o = image * num_points + p;
                int positive = best >= 0 && best_area != AA_FCOS_INF;
                out_index[o] = positive ? best : -1;
                if (out_overlap) out_overlap[o] = positive ? aa_fcos_centerness(x, y, best_box) : 0.0f;
                if (out_labels) out_labels[o] = positive ? labels[first + best] : -1;
            }
        }
    }
}
#endif

#endif /* AA_KERNEL_FCOS_H */
