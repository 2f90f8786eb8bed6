/* internal.h - what the host sources share: the context, error reporting, the
 * validated view of a call's inputs, and the CPU reference entry points. */
#ifndef AA_INTERNAL_H
#define AA_INTERNAL_H

#include "anchorassign.h"

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AA_ERROR_CAPACITY 512

struct aa_batch;
struct aa_gmm_batch;

/* What a GPU backend implements, one entry per call (arguments validated). Both
 * GPU backends provide every entry; the CPU context has none (gpu == NULL). */
typedef struct aa_gpu_ops {
    aa_status (*reserve)(aa_context *ctx, size_t bytes);
    aa_status (*overlaps)(aa_context *ctx, aa_overlap_mode mode, float eps,
                          const struct aa_batch *b, float *out);
    aa_status (*topk_nearest)(aa_context *ctx, int32_t topk, const struct aa_batch *b,
                              int32_t *candidates);
    aa_status (*candidate_stats)(aa_context *ctx, int32_t topk, float eps, const struct aa_batch *b,
                                 const int32_t *candidates, double *mean, double *std);
    size_t (*max_iou_ws_bytes)(const struct aa_batch *b);
    aa_status (*max_iou)(aa_context *ctx, const aa_max_iou_params *p, const struct aa_batch *b,
                         const aa_assignment *out, void *workspace, size_t workspace_bytes);
    size_t (*atss_ws_bytes)(const aa_atss_params *p, const struct aa_batch *b);
    aa_status (*atss)(aa_context *ctx, const aa_atss_params *p, const struct aa_batch *b,
                      const aa_assignment *out, void *workspace, size_t workspace_bytes);
    aa_status (*fcos)(aa_context *ctx, const aa_fcos_params *p, const struct aa_batch *b,
                      const aa_assignment *out);
    size_t (*gmm_ws_bytes)(const aa_gmm_params *p, const struct aa_gmm_batch *g);
    aa_status (*gmm)(aa_context *ctx, const aa_gmm_params *p, const struct aa_gmm_batch *g,
                     const aa_gmm_result *out, void *workspace, size_t workspace_bytes);
    /* PAA (kernels/paa.h): costs alone, the selection from a pre-assignment and
     * costs, and the whole of aa_assign_paa */
    aa_status (*paa_costs)(aa_context *ctx, const aa_paa_params *p, const struct aa_batch *b,
                           const aa_head_outputs *h, const int32_t *pre, float *costs);
    size_t (*paa_select_ws_bytes)(const aa_paa_params *p, const struct aa_batch *b);
    aa_status (*paa_select)(aa_context *ctx, const aa_paa_params *p, const struct aa_batch *b,
                            const int32_t *pre, const float *costs, const aa_assignment *out,
                            void *workspace, size_t workspace_bytes);
    size_t (*paa_ws_bytes)(const aa_paa_params *p, const struct aa_batch *b);
    aa_status (*paa)(aa_context *ctx, const aa_paa_params *p, const struct aa_batch *b,
                     const aa_head_outputs *h, const aa_assignment *out, void *workspace,
                     size_t workspace_bytes);
    /* LADA (kernels/lada.h) */
    size_t (*lada_ws_bytes)(const aa_lada_params *p, const struct aa_batch *b);
    aa_status (*lada)(aa_context *ctx, const aa_lada_params *p, const struct aa_batch *b,
                      const aa_head_outputs *h, const aa_assignment *out, void *workspace,
                      size_t workspace_bytes);
    /* stage timing switched on or off (aa_context_profile): what the backend needs */
    aa_status (*profile)(aa_context *ctx, int on);
} aa_gpu_ops;

struct aa_context {
    aa_backend backend;
    aa_memory memory;
    int device;
    int platform;
    void *stream;           /* the caller's stream/queue, NULL: the backend's own */
    struct aa_ocl *ocl;     /* OpenCL backend state (host/opencl/), else NULL */
    struct aa_cuda *cuda;   /* CUDA backend state (host/cuda/), else NULL */
    const aa_gpu_ops *gpu;  /* the GPU backend's calls; NULL: the CPU reference */
    void *workspace;        /* the context's own workspace (host memory on CPU) */
    size_t workspace_bytes;
    int profile;            /* aa_context_profile: time each launch */
    int num_stages;         /* the last call's stages (aa__stages_begin, aa__stage_add) */
    aa_stage_time stages[AA_MAX_STAGES];
    char last_error[AA_ERROR_CAPACITY];
};

/* A GPU call begins: its stages replace the last call's. */
static inline void aa__stages_begin(aa_context *ctx)
{
    ctx->num_stages = 0;
}

/* One launch's time and least bytes (host/traffic.h), in launch order (beyond
 * AA_MAX_STAGES: not kept). */
static inline void aa__stage_add(aa_context *ctx, const char *kernel, double ms, double bytes)
{
    if (ctx->num_stages >= AA_MAX_STAGES) return;
    ctx->stages[ctx->num_stages].kernel = kernel;
    ctx->stages[ctx->num_stages].ms = ms;
    ctx->stages[ctx->num_stages].bytes = bytes;
    ctx->num_stages++;
}

/* Records a printf-style message on the context and returns `status`. */
aa_status aa__fail(aa_context *ctx, aa_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A batch after validation: per-image GT counts are derived from offsets. */
typedef struct aa_batch aa_batch;
struct aa_batch {
    const aa_anchors *anchors;
    const aa_gts *gts;
    int64_t num_anchors;
    int32_t num_levels;
    int32_t num_images;
    int64_t total_gts;
    int64_t max_gts_per_image;
};

/* Segments of a Gaussian-mixture call after validation. */
typedef struct aa_gmm_batch aa_gmm_batch;
struct aa_gmm_batch {
    const aa_gmm_segments *segments;
    int64_t num_segments;
    int64_t total_points;
    int64_t max_points;     /* points of the largest segment */
};

/* Argument checking shared by every backend. Each returns AA_SUCCESS or records
 * the failing argument on ctx. */
/* Box values (and labels) are checked only where the host can read them: on the
 * CPU backend and in AA_MEMORY_HOST mode (aa__host_readable). */
int aa__host_readable(const aa_context *ctx);
aa_status aa__check_anchors(aa_context *ctx, const aa_anchors *anchors, int need_strides);
aa_status aa__check_gts(aa_context *ctx, const aa_gts *gts, int need_labels);
aa_status aa__check_batch(aa_context *ctx, const aa_anchors *anchors, const aa_gts *gts,
                          int need_strides, aa_batch *batch);
aa_status aa__check_output(aa_context *ctx, const aa_assignment *out, const aa_gts *gts);
aa_status aa__check_struct_size(aa_context *ctx, const char *name, size_t given, size_t expected);

/* Workspace: returns a pointer to at least `bytes` bytes, the caller's if given
 * (AA_ERR_WORKSPACE_TOO_SMALL when short), else the context's (grown if needed). */
aa_status aa__workspace_acquire(aa_context *ctx, size_t bytes, void *user, size_t user_bytes,
                                void **ptr);
/* A GPU call's caller workspace, if any (the header: device memory, NULL with
 * AA_MEMORY_HOST, at least `needed` bytes). host/api.c checks it before a backend
 * runs, as aa__workspace_acquire does for the CPU, so that a call with nothing to
 * launch refuses a short one too and one that needs none (FCOS) a host-mode one; the
 * backends check it again against the size they lay out. */
aa_status aa__gpu_workspace_check(aa_context *ctx, size_t needed, const void *user,
                                  size_t user_bytes);

/* ------------------------------------------------------------ CPU reference
 * Plain loops, written to be obviously right. Inputs are already validated;
 * these cannot fail. Workspace sizes come from the *_ws_bytes functions. */

/* Box arithmetic in float32, in mmdetection's operation order. */
float aa__ref_area(const float *b);
float aa__ref_overlap(aa_overlap_mode mode, const float *anchor, const float *gt, float eps);
float aa__ref_center_x(const float *b);
float aa__ref_center_y(const float *b);
float aa__ref_center_distance(const float *anchor, const float *gt);

void aa__ref_overlaps(aa_overlap_mode mode, float eps, const aa_batch *batch, float *out);

/* k nearest anchors of [begin, end) to the GT centre; ignored[a] (may be NULL)
 * places an anchor at distance 1e8 as mmdetection does. Writes k indices. */
void aa__ref_topk_level(const float *anchor_boxes, int64_t begin, int64_t end, const float *gt,
                        const uint8_t *ignored, int32_t k, int32_t *out);
void aa__ref_topk_nearest(int32_t topk, const aa_batch *batch, int32_t *candidates);
void aa__ref_candidate_stats(int32_t topk, float eps, const aa_batch *batch,
                             const int32_t *candidates, double *mean, double *std);

size_t aa__ref_max_iou_ws_bytes(const aa_batch *batch);
void aa__ref_max_iou(const aa_max_iou_params *p, const aa_batch *batch, const aa_assignment *out,
                     void *workspace);

size_t aa__ref_atss_ws_bytes(const aa_atss_params *p, const aa_batch *batch);
void aa__ref_atss(const aa_atss_params *p, const aa_batch *batch, const aa_assignment *out,
                  void *workspace);

size_t aa__ref_fcos_ws_bytes(const aa_batch *batch);
void aa__ref_fcos(const aa_fcos_params *p, const aa_batch *batch, const aa_assignment *out,
                  void *workspace);

/* Batched 1-D Gaussian-mixture EM (host/cpu/gmm_ref.c), scikit-learn's arithmetic
 * in double, one segment after another. */
size_t aa__ref_gmm_ws_bytes(const aa_gmm_params *p, const aa_gmm_batch *g);
void aa__ref_gmm_fit(const aa_gmm_params *p, const aa_gmm_batch *g, const aa_gmm_result *out,
                     void *workspace);

/* PAA (host/cpu/paa_ref.c): the cost of every pre-assigned anchor, and the selection
 * of positives from a pre-assignment and costs. */
void aa__ref_paa_costs(const aa_paa_params *p, const aa_batch *b, const aa_head_outputs *h,
                       const int32_t *pre_gt_index, float *costs);
size_t aa__ref_paa_select_ws_bytes(const aa_paa_params *p, const aa_batch *b);
void aa__ref_paa_select(const aa_paa_params *p, const aa_batch *b, const int32_t *pre_gt_index,
                        const float *costs, const aa_assignment *out, void *workspace);

/* LADA (host/cpu/lada_ref.c). Returns 0 with every output written, or 1 with nothing
 * written and *bad naming the first (image, anchor, GT) whose loss overflows float32
 * (finite but huge head outputs); the caller refuses the call then. */
typedef struct aa_lada_overflow {
    int32_t image;
    int64_t anchor;
    int32_t gt;     /* within the image */
    double loss;    /* the loss in double, beyond FLT_MAX */
} aa_lada_overflow;
size_t aa__ref_lada_ws_bytes(const aa_lada_params *p, const aa_batch *b);
int aa__ref_lada(const aa_lada_params *p, const aa_batch *b, const aa_head_outputs *h,
                 const aa_assignment *out, void *workspace, aa_lada_overflow *bad);

#ifdef __cplusplus
}
#endif

#endif
