/* traffic.h - the bytes each kernel launch must move at least: a model of its global
 * memory traffic, made on the host from the call's shape and shared by the CUDA and
 * OpenCL launchers, which record it beside each launch's time (aa_stage_time.bytes).
 * Divided by a measured copy bandwidth it gives the launch's bandwidth floor, and the
 * launch's time against it how near the kernel runs to the memory system's limit.
 *
 * The rule, for every kernel alike: each global array the kernel reads in full, or
 * in a part known before it runs (the rows of the images that have GTs), counts once;
 * each array it writes in full counts once. What depends on the data is left out
 * (reads at candidate or pre-assigned positions, the head outputs of the anchors a GT
 * looks at, atomic claims of positives, a GT's candidate lists), and so is scratch
 * a launch writes and reads back itself (the EM's responsibilities). Repeated reads
 * of the same bytes (every GT's group reading a level's anchors) count once: caches
 * may serve them. So the figure is a lower bound on the traffic, not an estimate of
 * it (up to the few bytes per crowd GT that per-GT arrays count in full though some
 * kernels skip those GTs). Pure functions, tested in tests/test_traffic.c. */
#ifndef AA_TRAFFIC_H
#define AA_TRAFFIC_H

#include "internal.h"

/* `outputs`: the assignment arrays a launch writes, 1 to 3 (gt_index, and overlap and
 * labels where the caller asked for them: aa__bytes_outputs). */
int aa__bytes_outputs(const aa_assignment *out);

double aa__bytes_overlaps(const aa_batch *b);
double aa__bytes_fcos(const aa_batch *b, int outputs);

/* The top-k primitive (aa_topk_nearest) and aa_candidate_iou_stats. */
double aa__bytes_topk_nearest(const aa_batch *b, int32_t topk);
double aa__bytes_candidate_stats(const aa_batch *b, int32_t topk);

/* Max-IoU (also PAA's pre-assignment, which writes gt_index only). */
double aa__bytes_max_iou_anchor(const aa_batch *b);
double aa__bytes_max_iou_gt(const aa_batch *b);
double aa__bytes_max_iou_assign(const aa_batch *b, int match_low_quality, int outputs);

/* ATSS. */
double aa__bytes_atss_prepare(const aa_batch *b);
double aa__bytes_atss_topk(const aa_batch *b, int32_t topk);
double aa__bytes_atss_select(const aa_batch *b, int32_t topk);
double aa__bytes_atss_assign(const aa_batch *b, int outputs);

/* The batched EM: points and offsets, the given initial parameters, every output
 * the caller asked for. */
double aa__bytes_gmm(const aa_gmm_params *p, const aa_gmm_batch *g, const aa_gmm_result *out);

/* PAA: the costs (pre-assignment read, costs written), the copy of the
 * pre-assignment, the outputs' initial values, and the selection (the
 * pre-assignment rows of the images with GTs). */
double aa__bytes_paa_cost(const aa_batch *b);
double aa__bytes_paa_copy(const aa_batch *b);
double aa__bytes_paa_init(const aa_batch *b, int outputs);
double aa__bytes_paa_select(const aa_batch *b);

/* LADA: the claim keys cleared, the selection, the keys decoded into the outputs. */
double aa__bytes_lada_clear(const aa_batch *b);
double aa__bytes_lada_select(const aa_batch *b);
double aa__bytes_lada_assign(const aa_batch *b, int outputs);

#endif
