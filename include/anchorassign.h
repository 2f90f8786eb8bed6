/*
 * anchorassign.h - anchor (label) assignment for dense object detectors.
 *
 * One header, C99, no CUDA or OpenCL headers needed. Every function returns an
 * aa_status; on failure the context keeps a one-line message naming the argument
 * (aa_context_last_error) and no output has been written.
 *
 * Conventions (see README.md, "Semantics"):
 *   - boxes are float x1,y1,x2,y2 in pixels, area (x2-x1)*(y2-y1), no +1;
 *   - one anchor set is shared by every image of a batch, ordered by pyramid level;
 *   - ground-truth boxes (GTs) of all images sit in one array, image i owning
 *     [offsets[i], offsets[i+1]); offsets are HOST memory on every backend;
 *   - output per (image, anchor), image-major: the 0-based index of the assigned GT
 *     within its image (AA_NEGATIVE or AA_IGNORED otherwise) and an overlap value
 *     defined per assigner;
 *   - results follow mmdetection 3.x; every deliberate difference is documented
 *     in docs/semantics.md.
 *
 * Memory: see aa_memory. By default arrays are the backend's own memory (CPU: host;
 * CUDA: device memory; OpenCL: cl_mem); AA_MEMORY_HOST makes every backend take host
 * arrays. Counts, offsets and level counts are always host values (GPU kernels
 * also read aa_gts.device_offsets). Both GPU backends run every call from one
 * kernel source; a GPU backend not compiled in gives AA_ERR_NOT_SUPPORTED, one
 * without a device AA_ERR_NO_DEVICE. On a GPU backend a caller workspace is
 * device memory (a cl_mem on OpenCL) and must be NULL with AA_MEMORY_HOST.
 *
 * Thread safety: a context is used by one thread at a time; different contexts
 * may be used from different threads concurrently. Functions that take no
 * context are thread-safe.
 */
#ifndef ANCHORASSIGN_H
#define ANCHORASSIGN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(AA_BUILDING_SHARED)
#define AA_API __declspec(dllexport)
#elif defined(__GNUC__)
#define AA_API __attribute__((visibility("default")))
#else
#define AA_API
#endif

/* ---------------------------------------------------------------- version */

#define AA_VERSION_MAJOR 0
#define AA_VERSION_MINOR 1
#define AA_VERSION_PATCH 0
#define AA_VERSION_NUMBER (AA_VERSION_MAJOR * 10000 + AA_VERSION_MINOR * 100 + AA_VERSION_PATCH)

/* The version of the library actually linked (compare with AA_VERSION_NUMBER). */
AA_API unsigned aa_version_number(void);
AA_API const char *aa_version_string(void);

/* ---------------------------------------------------------------- status */

/* Explicit values: they are stable across versions.
 *
 * After AA_ERR_BACKEND (or AA_ERR_OUT_OF_MEMORY) from a failed CUDA/OpenCL runtime call
 * the context stays usable, unless the message ends with "cannot be used again,
 * destroy it" (a lost OpenCL device or queue, a sticky CUDA error): then every later
 * call on it fails with AA_ERR_BACKEND until it is destroyed. "No output has been
 * written" holds for AA_MEMORY_HOST on every failure; with AA_MEMORY_NATIVE a runtime
 * failure after the call's first kernel launch may leave its device outputs partly
 * written (their content is then unspecified). See docs/robustness.md. */
typedef enum aa_status {
    AA_SUCCESS = 0,
    AA_ERR_NULL_POINTER = 1,       /* a required pointer is NULL                      */
    AA_ERR_INVALID_ARGUMENT = 2,   /* a count, offset, level or parameter is wrong     */
    AA_ERR_INVALID_BOX = 3,        /* a coordinate is NaN/Inf, too large, or x2<x1      */
    AA_ERR_OUT_OF_MEMORY = 4,      /* an allocation failed; outputs untouched          */
    AA_ERR_NOT_SUPPORTED = 5,      /* backend or feature not in this build             */
    AA_ERR_NO_DEVICE = 6,          /* the requested device does not exist              */
    AA_ERR_BACKEND = 7,            /* a CUDA/OpenCL runtime call failed                */
    AA_ERR_WORKSPACE_TOO_SMALL = 8,/* caller-provided workspace is smaller than needed */
    AA_ERR_LIMIT_EXCEEDED = 9,     /* a count exceeds the documented maxima below      */
    AA_ERR_INTERNAL = 10           /* a bug: please report                             */
} aa_status;

/* Static name and meaning of a status, e.g. "AA_ERR_INVALID_BOX: ...". Never NULL. */
AA_API const char *aa_status_string(aa_status status);

/* ---------------------------------------------------------------- limits */

#define AA_MAX_LEVELS 16                      /* pyramid levels per anchor set     */
#define AA_MAX_IMAGES (1 << 20)               /* images per call                    */
#define AA_MAX_ANCHORS (((int64_t)1 << 31) - 1) /* anchors (shared set)          */
#define AA_MAX_GTS (((int64_t)1 << 31) - 1)     /* GTs per call (all images)     */
#define AA_MAX_COORD 1.0e15f                  /* |coordinate| bound, keeps areas finite */
#define AA_MAX_TOPK 1024                      /* ATSS candidates per level          */
#define AA_WORKSPACE_ALIGNMENT 16             /* a caller's CPU workspace: address
                                                 a multiple of this                   */

/* ---------------------------------------------------------------- context */

typedef enum aa_backend {
    AA_BACKEND_AUTO = 0,   /* CUDA if a device is usable, else an OpenCL GPU, else
                              CPU; never a CPU OpenCL device such as PoCL            */
    AA_BACKEND_CPU = 1,    /* the reference implementation                             */
    AA_BACKEND_CUDA = 2,
    AA_BACKEND_OPENCL = 3
} aa_backend;

AA_API const char *aa_backend_name(aa_backend backend);

typedef struct aa_context aa_context;

/* What the array pointers of a call (boxes, outputs, workspace) are. */
typedef enum aa_memory {
    AA_MEMORY_NATIVE = 0, /* the backend's own memory: CPU host arrays; CUDA device
                             pointers of the context's device; OpenCL cl_mem handles
                             cast to the pointer type (for an offset, pass a
                             sub-buffer from clCreateSubBuffer)                       */
    AA_MEMORY_HOST = 1    /* host arrays on every backend: the library copies them in
                             and out, and the call returns when the results are in
                             host memory (tests, the CLI, quick experiments)         */
} aa_memory;

typedef struct aa_context_options {
    size_t struct_size;      /* set by aa_context_options_init                      */
    aa_backend backend;      /* default AA_BACKEND_AUTO                              */
    int device;              /* CUDA device N / OpenCL device index, default 0;
                                OpenCL: the environment variable AA_OPENCL_DEVICE
                                overrides it                                         */
    int platform;            /* OpenCL platform index, default 0 (AA_OPENCL_PLATFORM) */
    aa_memory memory;        /* default AA_MEMORY_NATIVE                             */
} aa_context_options;

AA_API void aa_context_options_init(aa_context_options *options);

/* Creates a context. options may be NULL (AUTO). On failure *ctx is NULL and the
 * status says why (AA_ERR_NOT_SUPPORTED: that backend is not compiled in). */
AA_API aa_status aa_context_create(aa_context **ctx, const aa_context_options *options);
AA_API void aa_context_destroy(aa_context *ctx); /* NULL is a no-op */

/* Message of the last aa_context_create that failed on the calling thread ("" if
 * none): which backend, device or runtime call, since there is no context to hold it. */
AA_API const char *aa_context_create_error(void);

/* The backend the context actually runs on (AUTO resolved). */
AA_API aa_backend aa_context_backend(const aa_context *ctx);

/* What the context runs on, e.g. "CPU reference" or the OpenCL device's name. */
AA_API const char *aa_context_device_name(const aa_context *ctx);

/* Message of the last failed call on this context ("" if none). Valid until the
 * next call on the context. A context that AUTO put on the CPU because its GPU could
 * not run the kernels (say, an OpenCL device without fp64) says so here. */
AA_API const char *aa_context_last_error(const aa_context *ctx);

/* CUDA: a cudaStream_t; OpenCL: an in-order cl_command_queue of the context's
 * cl_context; CPU: must be NULL. All work of the context is ordered on it. NULL
 * restores the context's own queue/stream, which aa_context_get_stream returns
 * when none was set. Switching makes the new stream wait (on the device, no host
 * synchronisation) for the context's work on the old one, since calls reuse the
 * context's buffers. */
AA_API aa_status aa_context_set_stream(aa_context *ctx, void *stream);
AA_API aa_status aa_context_get_stream(const aa_context *ctx, void **stream);

/* Grows the context's own workspace to at least `bytes` now, so later calls that
 * use it allocate nothing. On AA_ERR_OUT_OF_MEMORY (here or in any call that grows
 * it) the old workspace has been released and the context has none: it stays
 * usable, and the next call that needs one allocates it again. */
AA_API aa_status aa_context_reserve(aa_context *ctx, size_t bytes);

/* Experimental (may change): the time of each kernel launch. After
 * aa_context_profile(ctx, 1) a GPU backend times every launch of the calls that
 * follow: CUDA with events on the context's stream, the call then waiting for its
 * last event before it returns; OpenCL by waiting for the queue before and after each
 * launch (wall clock), which serialises the call. aa_context_stages gives the stages
 * of the last call that ran on ctx, in launch order: the kernel's name, milliseconds
 * and least bytes moved (at most AA_MAX_STAGES; a call with more launches keeps the first
 * ones); a call refused before it reaches the device leaves them as they were;
 * *stages stays valid until the next call on ctx. Not while a CUDA graph is being
 * captured (the call waits for an event). Profiling off (the default)
 * costs nothing and leaves count 0. The CPU reference has no stages:
 * AA_ERR_NOT_SUPPORTED. Whether profiling or not, the CUDA backend marks every call
 * and every launch with NVTX ranges ("anchorassign <call>", the kernel's name) that
 * Nsight Systems shows inside the caller's own timeline. */
#define AA_MAX_STAGES 32
typedef struct aa_stage_time {
    const char *kernel; /* static storage */
    double ms;
    double bytes;       /* the least global-memory bytes the launch moves: the arrays it
                           reads or writes in full counted once, what depends on the
                           data left out (a lower bound; docs/kernels.md, "Traffic").
                           bytes / ms against a copy bandwidth: how near the launch
                           runs to the memory system's limit */
} aa_stage_time;
AA_API aa_status aa_context_profile(aa_context *ctx, int on);
AA_API aa_status aa_context_stages(const aa_context *ctx, const aa_stage_time **stages, int *count);

/* ---------------------------------------------------------------- inputs */

/* One anchor set (or point set) shared by every image, ordered by level. */
typedef struct aa_anchors {
    const float *boxes;          /* [num_anchors][4]  x1,y1,x2,y2                   */
    int64_t num_anchors;
    int32_t num_levels;          /* 1 .. AA_MAX_LEVELS                               */
    const int64_t *level_counts; /* HOST [num_levels], summing to num_anchors        */
    const float *level_strides;  /* HOST [num_levels], > 0; needed by FCOS centre
                                    sampling, optional (NULL) otherwise             */
} aa_anchors;

/* Ground truths of a ragged batch. */
typedef struct aa_gts {
    const float *boxes;          /* [offsets[num_images]][4]                          */
    const int64_t *offsets;      /* HOST [num_images+1], offsets[0] == 0, non-decreasing */
    int32_t num_images;          /* 0 .. AA_MAX_IMAGES                                */
    const uint8_t *ignore_flags; /* optional [total]: nonzero = crowd / ignore region.
                                    Such a GT is never assigned; see each assigner.   */
    const int32_t *labels;       /* optional [total]: class label (>= 0) per GT       */
    const int64_t *device_offsets; /* GPU backends with AA_MEMORY_NATIVE: the same
                                    offsets in backend memory, which the kernels read
                                    (the host ones plan the launch); the library makes
                                    no hidden copy. Ignored elsewhere.               */
} aa_gts;

/* Outputs, [num_images][num_anchors] each. */
#define AA_NEGATIVE (-1)
#define AA_IGNORED (-2)
typedef struct aa_assignment {
    int32_t *gt_index; /* required: GT index within its image, AA_NEGATIVE or AA_IGNORED */
    float *overlap;    /* optional: the assigner's overlap value (see each assigner)     */
    int32_t *labels;   /* optional: label of the assigned GT, -1 otherwise; needs gts.labels */
} aa_assignment;

/* ---------------------------------------------------------------- anchors */

/* mmdetection's AnchorGenerator (scale_major=True). Either `scales` (num_scales)
 * or octave_base_scale + scales_per_octave (scales = base * 2^(i/n)). Base size
 * per level = base_sizes[l], or its stride where that is 0 (mmdetection's
 * default). Anchors of a level are ordered row by row (y outer, x inner), the
 * base anchors of one location innermost (ratio-major, scale-minor). */
typedef struct aa_anchor_params {
    size_t struct_size;
    int32_t num_levels;                 /* default 5                        */
    float strides[AA_MAX_LEVELS];       /* default 8,16,32,64,128           */
    float base_sizes[AA_MAX_LEVELS];    /* 0 (default): the level's stride  */
    int32_t num_ratios;                 /* default 3                        */
    float ratios[8];                    /* h/w; default 0.5,1,2             */
    int32_t num_scales;                 /* 0: use octave scales (default)   */
    float scales[8];
    float octave_base_scale;            /* default 4 (RetinaNet)            */
    int32_t scales_per_octave;          /* default 3 (RetinaNet)            */
    float center_offset;                /* default 0 (mmdetection 2.x/3.x)  */
} aa_anchor_params;

AA_API void aa_anchor_params_init(aa_anchor_params *params); /* RetinaNet settings */

/* Feature map size per level for a padded image (canvas) of height x width:
 * ceil(height/stride) x ceil(width/stride), times the anchors per location
 * (num_ratios x number of scales). level_counts: HOST [params->num_levels]. */
AA_API aa_status aa_anchor_count(aa_context *ctx, const aa_anchor_params *params, int32_t height,
                                 int32_t width, int64_t *level_counts, int64_t *num_anchors);

/* Generates the anchors of aa_anchor_count into `boxes` ([capacity][4], memory of
 * the context's backend), in mmdetection's float32 arithmetic. */
AA_API aa_status aa_anchor_generate(aa_context *ctx, const aa_anchor_params *params,
                                    int32_t height, int32_t width, float *boxes,
                                    int64_t capacity);

/* mmdetection's MlvlPointGenerator: point (x,y) = ((ix+offset)*s, (iy+offset)*s),
 * written as zero-size boxes (x,y,x,y) so that a point set is an anchor set (its
 * centre is the point). One point per location, row by row. FCOS: offset 0.5.
 * level_counts: HOST [num_levels]; boxes: [capacity][4], backend memory, or NULL
 * to only compute level_counts and num_points (a size query). */
AA_API aa_status aa_point_generate(aa_context *ctx, int32_t num_levels, const float *strides,
                                   float offset, int32_t height, int32_t width, float *boxes,
                                   int64_t capacity, int64_t *level_counts, int64_t *num_points);

/* ---------------------------------------------------------------- overlaps */

typedef enum aa_overlap_mode {
    AA_IOU = 0,  /* inter / max(union, eps)                                     */
    AA_IOF = 1,  /* inter / max(area(anchor), eps): "intersection over foreground" */
    AA_GIOU = 2  /* iou - (enclose - union) / max(enclose, eps)                 */
} aa_overlap_mode;

/* Pairwise overlaps of every GT with every anchor, for a ragged batch:
 *   out[(gts->offsets[i] + g) * num_anchors + a] = overlap(anchor a, GT g of image i)
 * i.e. one [num_gts_i][num_anchors] block per image, blocks concatenated
 * (mmdetection's bbox_overlaps(gts, anchors), with IoF over the anchor's area).
 * eps: union floor (mmdetection: 1e-6). levels of `anchors` are not used. */
AA_API aa_status aa_overlaps(aa_context *ctx, aa_overlap_mode mode, float eps,
                             const aa_anchors *anchors, const aa_gts *gts, float *out);

/* ---------------------------------------------------------------- ATSS primitives */

/* Nearest-centre top-k per (GT, level), the first step of ATSS. For every GT g
 * (global index over all images) and level l:
 *   candidates[(g * num_levels + l) * topk + j], j < topk
 * is the index (in the shared anchor set) of the j-th nearest anchor of level l
 * to the GT's centre (L2 between centres, float32; lower index first on ties),
 * or -1 for j >= the level's anchor count. */
AA_API aa_status aa_topk_nearest(aa_context *ctx, int32_t topk, const aa_anchors *anchors,
                                 const aa_gts *gts, int32_t *candidates);

/* Per GT, the mean and unbiased standard deviation of the IoU (anchor, GT) over its
 * candidates as written by aa_topk_nearest (entries of -1 skipped), in double.
 * std is NaN for a GT with fewer than two candidates; both are NaN with none. */
AA_API aa_status aa_candidate_iou_stats(aa_context *ctx, int32_t topk, float eps,
                                        const aa_anchors *anchors, const aa_gts *gts,
                                        const int32_t *candidates, double *mean, double *std);

/* ---------------------------------------------------------------- assigners
 *
 * Every assigner has the same shape:
 *   aa_assign_X(ctx, params (NULL = defaults), anchors, gts, out, workspace, workspace_bytes)
 * workspace may be NULL: the context's own workspace is used (grown on first use).
 * aa_X_workspace_size tells the bytes a caller-provided workspace needs (for the
 * context's backend: FCOS needs none on a GPU backend, 0); fewer bytes give
 * AA_ERR_WORKSPACE_TOO_SMALL, whether or not the call has anything to do. On the CPU
 * backend its address must be a multiple of AA_WORKSPACE_ALIGNMENT (malloc's
 * addresses are), else AA_ERR_INVALID_ARGUMENT.
 * Crowd GTs (ignore_flags) are never assigned; they only mark ignore regions where
 * the assigner supports it (ignore_iof_thr > 0).
 */

/* MaxIoUAssigner (RetinaNet). Defaults: pos 0.5, neg [0, 0.4), min_pos_iou 0,
 * gt_max_assign_all 1, match_low_quality 1, ignore_iof_thr -1 (off).
 * overlap output: the anchor's max IoU over the image's (non-crowd) GTs, which
 * need not be with the GT it was assigned to by a low-quality match; -1 for an
 * anchor ignored by a crowd region; 0 when the image has no GTs (as mmdetection). */
typedef struct aa_max_iou_params {
    size_t struct_size;
    float pos_iou_thr;           /* 0.5                                          */
    float neg_iou_thr_lo;        /* 0.0: a scalar neg_iou_thr t is [0, t)         */
    float neg_iou_thr_hi;        /* 0.4                                          */
    float min_pos_iou;           /* 0.0                                          */
    int32_t gt_max_assign_all;   /* 1                                            */
    int32_t match_low_quality;   /* 1                                            */
    float ignore_iof_thr;        /* -1: off; > 0 ignores anchors with IoF > thr  */
    int32_t ignore_wrt_candidates; /* 1: IoF over the anchor's area; 0: over the crowd box's */
    float eps;                   /* 1e-6                                         */
} aa_max_iou_params;

AA_API void aa_max_iou_params_init(aa_max_iou_params *params);
AA_API aa_status aa_max_iou_workspace_size(aa_context *ctx, const aa_max_iou_params *params,
                                           const aa_anchors *anchors, const aa_gts *gts,
                                           size_t *bytes);
AA_API aa_status aa_assign_max_iou(aa_context *ctx, const aa_max_iou_params *params,
                                   const aa_anchors *anchors, const aa_gts *gts,
                                   const aa_assignment *out, void *workspace,
                                   size_t workspace_bytes);

/* ATSSAssigner. Defaults: topk 9, ignore_iof_thr -1, inside margin 0.01.
 * Per level, the k = min(topk, level count) anchors whose centres are nearest (L2,
 * float32 as mmdetection) to the GT centre, lower anchor index first on ties;
 * threshold = mean + unbiased std of the candidates' IoU (double); positive if
 * IoU >= threshold and the anchor centre is inside the GT by more than the margin;
 * several GTs: highest IoU, lowest GT index on ties. A GT with a single candidate
 * has an undefined std and gets no positive (as mmdetection: NaN threshold).
 * overlap output: IoU with the assigned GT for positives, AA_ATSS_NO_OVERLAP
 * (-1e8, mmdetection's -INF) otherwise; 0 when the image has no (non-crowd) GTs. */
#define AA_ATSS_NO_OVERLAP (-1.0e8f)
typedef struct aa_atss_params {
    size_t struct_size;
    int32_t topk;               /* 9                                    */
    float ignore_iof_thr;       /* -1: off                              */
    float inside_margin;        /* 0.01                                 */
    float eps;                  /* 1e-6                                 */
} aa_atss_params;

AA_API void aa_atss_params_init(aa_atss_params *params);
AA_API aa_status aa_atss_workspace_size(aa_context *ctx, const aa_atss_params *params,
                                        const aa_anchors *anchors, const aa_gts *gts,
                                        size_t *bytes);
AA_API aa_status aa_assign_atss(aa_context *ctx, const aa_atss_params *params,
                                const aa_anchors *anchors, const aa_gts *gts,
                                const aa_assignment *out, void *workspace,
                                size_t workspace_bytes);

/* FCOS target assignment (FCOSHead._get_targets_single). The anchor's centre is the
 * point. Positive if the point is strictly inside the GT (or its centre-sampling
 * box: GT centre +- radius * level stride, clipped to the GT) and the largest of
 * its l,t,r,b distances lies in the level's regress range [lo, hi]; several GTs:
 * smallest area, lowest GT index on ties. As mmdetection, an invalid pair has area
 * INF = 1e8 and a minimum of INF is background (see docs/semantics.md).
 * overlap output: the centre-ness target sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b))
 * of positives, 0 otherwise. Regress ranges default to mmdetection's
 * (-1,64),(64,128),(128,256),(256,512),(512,1e8); num_regress_ranges must equal
 * the anchors' num_levels. */
typedef struct aa_fcos_params {
    size_t struct_size;
    int32_t center_sampling;                 /* 0                      */
    float center_sample_radius;              /* 1.5                    */
    int32_t num_regress_ranges;              /* 5                      */
    float regress_lo[AA_MAX_LEVELS];
    float regress_hi[AA_MAX_LEVELS];
} aa_fcos_params;

AA_API void aa_fcos_params_init(aa_fcos_params *params);
AA_API aa_status aa_fcos_workspace_size(aa_context *ctx, const aa_fcos_params *params,
                                        const aa_anchors *anchors, const aa_gts *gts,
                                        size_t *bytes);
AA_API aa_status aa_assign_fcos(aa_context *ctx, const aa_fcos_params *params,
                                const aa_anchors *anchors, const aa_gts *gts,
                                const aa_assignment *out, void *workspace,
                                size_t workspace_bytes);


/* ---------------------------------------------------------------- Gaussian mixtures
 *
 * Batched 1-D Gaussian-mixture EM: many independent segments of points (one per GT
 * in PAA) fitted in one call, with scikit-learn's GaussianMixture semantics (see
 * docs/semantics.md): E-step by log-sum-exp, M-step with nk + 10*eps (double eps)
 * and reg_covar added to every variance, lower bound = mean log-likelihood of the
 * E-step, stop when it changes by less than tol, at most max_iter iterations, then a
 * final E-step for the labels. Arithmetic in double, on every backend. The kernels
 * give one work-group to a segment: made for small segments (PAA: <= 9 x levels).
 */
#define AA_GMM_MAX_COMPONENTS 4
#define AA_MAX_SEGMENTS (((int64_t)1 << 31) - 1)  /* segments per call              */
#define AA_MAX_POINTS (((int64_t)1 << 31) - 1)    /* points per call (all segments) */
#define AA_GMM_MAX_ITER 100000

/* scikit-learn's covariance_type. In one dimension 'diag' and 'full' are the same
 * model; they differ in the order of their arithmetic, hence in the last bits. */
typedef enum aa_gmm_covariance {
    AA_GMM_DIAG = 0, /* mmdetection's PAAHead default                           */
    AA_GMM_FULL = 1  /* scikit-learn's default, used by the original PAA code    */
} aa_gmm_covariance;

typedef enum aa_gmm_init {
    AA_GMM_INIT_PAA = 0,  /* weights 1/K; means evenly spaced from the segment's
                             minimum to its maximum (K = 2: min, max); precisions 1 */
    AA_GMM_INIT_GIVEN = 1 /* init_weights / init_means / init_precisions           */
} aa_gmm_init;

typedef struct aa_gmm_params {
    size_t struct_size;
    int32_t num_components;        /* K: 2; 1 .. AA_GMM_MAX_COMPONENTS                */
    int32_t max_iter;              /* 100; 0 .. AA_GMM_MAX_ITER (0: only the labels)  */
    double tol;                    /* 1e-3, >= 0, on the mean log-likelihood          */
    double reg_covar;              /* 1e-6, >= 0                                      */
    aa_gmm_covariance covariance;  /* AA_GMM_DIAG                                     */
    aa_gmm_init init;              /* AA_GMM_INIT_PAA                                 */
    const double *init_weights;    /* AA_GMM_INIT_GIVEN: [num_segments][K] each, in the
                                      call's memory; weights in [0, 1] summing to 1
                                      within 1e-8, finite means, precisions > 0 (as
                                      scikit-learn checks them)                      */
    const double *init_means;
    const double *init_precisions;
    int32_t float32_input;         /* 0: scikit-learn given the points as float64; 1: given
                                      the float32 array itself, as mmdetection's PAAHead
                                      does ('diag' squares in float32; 'full' keeps its
                                      covariances, precisions and log-probabilities in
                                      float32). aa_paa_params_init sets 1              */
} aa_gmm_params;

AA_API void aa_gmm_params_init(aa_gmm_params *params);

/* Segment s owns points [offsets[s], offsets[s+1]). */
typedef struct aa_gmm_segments {
    const float *points;           /* [offsets[num_segments]] finite values             */
    const int64_t *offsets;        /* HOST [num_segments+1], offsets[0] == 0, non-decreasing */
    int64_t num_segments;          /* 0 .. AA_MAX_SEGMENTS                               */
    const int64_t *device_offsets; /* GPU backends, AA_MEMORY_NATIVE: the same offsets in
                                      backend memory (as aa_gts.device_offsets)         */
} aa_gmm_segments;

/* Per-segment outcome (aa_gmm_result.status). */
#define AA_GMM_CONVERGED 1       /* the lower bound changed by less than tol          */
#define AA_GMM_NOT_CONVERGED 0   /* max_iter iterations ran (scikit-learn warns)     */
#define AA_GMM_ILL_DEFINED (-1)  /* a variance came out <= 0 (scikit-learn raises):
                                    the parameters of that M-step, labels -1,
                                    log_density NaN                                 */
#define AA_GMM_TOO_FEW_POINTS (-2) /* fewer than two points, or fewer points than
                                    components (scikit-learn raises); not fitted:
                                    the initial parameters (PAA
                                    init: NaN means for an empty segment), iterations
                                    0, labels -1, log_density NaN                   */

/* Every array is optional (NULL: not wanted), in the call's memory. */
typedef struct aa_gmm_result {
    double *weights;      /* [num_segments][K]  weights_                              */
    double *means;        /* [num_segments][K]  means_                                */
    double *variances;    /* [num_segments][K]  covariances_ (1/precision when no
                             M-step ran)                                             */
    double *lower_bound;  /* [num_segments]     lower_bound_ (-inf when max_iter = 0) */
    int32_t *iterations;  /* [num_segments]     n_iter_                               */
    int32_t *status;      /* [num_segments]     AA_GMM_CONVERGED, ...                 */
    int32_t *labels;      /* [num_points]       predict(): most probable component,
                             the lower index on ties                                 */
    double *log_density;  /* [num_points]       score_samples()                       */
} aa_gmm_result;

AA_API aa_status aa_gmm_workspace_size(aa_context *ctx, const aa_gmm_params *params,
                                       const aa_gmm_segments *segments, size_t *bytes);
AA_API aa_status aa_gmm_fit(aa_context *ctx, const aa_gmm_params *params,
                            const aa_gmm_segments *segments, const aa_gmm_result *result,
                            void *workspace, size_t workspace_bytes);


/* ---------------------------------------------------------------- PAA
 *
 * Probabilistic anchor assignment (Kim & Lee, ECCV 2020) as mmdetection's PAAHead
 * runs it, per image:
 *   1. pre-assignment by max-IoU (aa_paa_params.pre: 0.1 / 0.1, low-quality matches);
 *   2. a cost per pre-assigned anchor against its GT (aa_paa_costs: sigmoid focal
 *      loss summed over classes + giou_weight x GIoU loss of the decoded box);
 *   3. per GT and level the topk lowest costs among its pre-assigned anchors (lower
 *      anchor index first on ties), all levels' candidates sorted by cost (then
 *      index), a two-component mixture fitted to them (aa_paa_params.gmm, PAA init);
 *   4. positives: the candidates of component 0, in sorted order, up to and
 *      including the one with the highest log-density among them. Every other
 *      pre-assigned anchor becomes negative; pre-ignored anchors stay ignored.
 * A GT with fewer than two candidates gets no positive (mmdetection), or, with
 * single_candidate_positive, its single candidate is positive (the original code).
 * A GT whose mixture is ill-defined (AA_GMM_ILL_DEFINED: scikit-learn raises) gets
 * no positive. overlap output: the anchor's cost for anchors pre-assigned to a GT,
 * +INFINITY otherwise. See docs/semantics.md.
 */

/* Step 4. MMDET (gmm_separation_scheme): the candidates of component 0, in sorted
 * order, up to the most likely of them. ORIGINAL (kkhoot/PAA compute_paa): every
 * sorted candidate up to that one, whatever its component, and all candidates when
 * none is in component 0. */
#define AA_PAA_SEPARATE_MMDET 0
#define AA_PAA_SEPARATE_ORIGINAL 1

/* Element type of head outputs; arithmetic is float32 or double whatever it is. */
typedef enum aa_dtype {
    AA_FLOAT32 = 0,
    AA_FLOAT16 = 1,  /* IEEE binary16                        */
    AA_BFLOAT16 = 2  /* the upper half of a float32          */
} aa_dtype;

/* Head outputs per image and anchor, in the order of the shared anchor set
 * (mmdetection's levels_to_images layout). */
typedef struct aa_head_outputs {
    const void *cls_logits;   /* [num_images][num_anchors][num_classes], sigmoid logits */
    const void *bbox_deltas;  /* [num_images][num_anchors][4] dx,dy,dw,dh (DeltaXYWH)    */
    aa_dtype dtype;           /* of both arrays                                        */
    int32_t num_classes;      /* >= 1; every GT label must be below it (refused where
                                 the host can read the labels; from device memory a
                                 label at or above it makes no class that GT's in the
                                 classification loss: the sum runs over num_classes) */
} aa_head_outputs;

typedef struct aa_paa_params {
    size_t struct_size;
    aa_max_iou_params pre;        /* the pre-assignment: pos 0.1, neg [0, 0.1), min_pos_iou
                                     0, low-quality matches, ignore_iof_thr -1       */
    aa_gmm_params gmm;            /* 2 components, PAA init (the only ones allowed),
                                     tol 1e-3, reg_covar 1e-6, max_iter 100, covariance
                                     DIAG (mmdetection) or FULL (original code)      */
    int32_t topk;                 /* 9, 1 .. AA_MAX_TOPK: candidates per level and GT */
    int32_t single_candidate_positive; /* 0 (mmdetection), 1 (original code)         */
    int32_t separation;           /* AA_PAA_SEPARATE_MMDET (mmdetection), _ORIGINAL (the
                                     original code): step 4, see above                */
    /* the cost from head outputs (aa_paa_costs, aa_assign_paa) */
    float focal_alpha;            /* 0.25                                             */
    float focal_gamma;            /* 2                                                */
    float giou_weight;            /* 1.3 (mmdetection), 1 (original code)             */
    float giou_eps;               /* 1e-6 (GIoULoss)                                  */
    float target_means[4];        /* 0,0,0,0    (DeltaXYWHBBoxCoder)                  */
    float target_stds[4];         /* 0.1,0.1,0.2,0.2                                  */
    float wh_ratio_clip;          /* 16/1000                                          */
} aa_paa_params;

AA_API void aa_paa_params_init(aa_paa_params *params);          /* mmdetection's PAAHead */
AA_API void aa_paa_params_init_original(aa_paa_params *params); /* the original code's   */

/* Step 2 alone: costs[i * num_anchors + a] for every anchor pre-assigned to a GT
 * (pre_gt_index >= 0, the gt_index output of aa_assign_max_iou with params->pre),
 * +INFINITY for the others. The box is decoded as mmdetection's delta2bbox (no
 * clipping), its GIoU and the focal terms are taken in double, and the sum is
 * rounded to float32 once. pre_gt_index must not name a crowd GT. */
AA_API aa_status aa_paa_costs(aa_context *ctx, const aa_paa_params *params,
                              const aa_anchors *anchors, const aa_gts *gts,
                              const aa_head_outputs *head, const int32_t *pre_gt_index,
                              float *costs);

/* Steps 3-4 from a pre-assignment and the caller's own costs ([num_images]
 * [num_anchors], read only where pre_gt_index >= 0; finite). gts.labels is needed
 * only for out->labels. Non-finite costs are refused wherever the host can read
 * them; from device memory (GPU backends, AA_MEMORY_NATIVE) a GT with a NaN or
 * infinite cost among its pre-assigned anchors gets no positive (its anchors stay
 * negative, overlap = the given cost), the other GTs are unaffected. */
AA_API aa_status aa_paa_select_workspace_size(aa_context *ctx, const aa_paa_params *params,
                                              const aa_anchors *anchors, const aa_gts *gts,
                                              size_t *bytes);
AA_API aa_status aa_assign_paa_costs(aa_context *ctx, const aa_paa_params *params,
                                     const aa_anchors *anchors, const aa_gts *gts,
                                     const int32_t *pre_gt_index, const float *costs,
                                     const aa_assignment *out, void *workspace,
                                     size_t workspace_bytes);

/* The whole of PAA from head outputs (steps 1-4); gts.labels required. Every
 * backend; on the CPU a cost that overflows float32 is refused
 * (AA_ERR_INVALID_ARGUMENT), on a GPU backend its GT gets no positive (the costs
 * stay on the device). See docs/semantics.md. */
AA_API aa_status aa_paa_workspace_size(aa_context *ctx, const aa_paa_params *params,
                                       const aa_anchors *anchors, const aa_gts *gts,
                                       size_t *bytes);
AA_API aa_status aa_assign_paa(aa_context *ctx, const aa_paa_params *params,
                               const aa_anchors *anchors, const aa_gts *gts,
                               const aa_head_outputs *head, const aa_assignment *out,
                               void *workspace, size_t workspace_bytes);

/* ---------------------------------------------------------------- LADA
 *
 * Lightweight anchor dynamic assignment (Han et al., Sensors 2023, 23(14), 6306),
 * per image and per non-crowd GT g (box x1,y1,x2,y2, w = x2-x1, h = y2-y1, centre
 * gx,gy in float32 as mmdetection computes centres), on level l of stride s_l
 * (anchors.level_strides required):
 *   1. region: centre (gx, gy), half-width r s_l sqrt(w/h), half-height
 *      r s_l sqrt(h/w) (r = region_radius; the area of FCOS's centre-sampling square,
 *      shaped to the GT's aspect ratio; in double), intersected with the GT when
 *      clip_region_to_gt. An anchor is in it if its centre ((x1+x2)/2, float32) lies
 *      strictly inside. A GT with w <= 0 or h <= 0 has no candidates;
 *   2. loss of anchor a for g, in double, rounded to float32 once:
 *        cls_weight x sigmoid focal loss summed over classes against g's label
 *      + giou_weight x (1 - GIoU(delta2bbox(anchor, deltas), g))   (both as PAA's cost)
 *      + center_weight x sqrt((dx^2 + dy^2) / 2), dx = 2 (ax - gx) / w,
 *        dy = 2 (ay - gy) / h   (0 at the GT's centre, 1 at its corners);
 *   3. candidates: per level the topk_per_level lowest (loss, anchor index) of the
 *      in-region anchors, then of all levels' candidates the topk lowest;
 *   4. threshold: the mean of the candidates' losses (double), plus their unbiased
 *      standard deviation with AA_LADA_MEAN_STD (0 for a single candidate); positive:
 *      loss strictly below it, so a GT with one candidate, or with all candidates'
 *      losses equal, gets no positive;
 *   5. an anchor positive for several GTs goes to the lowest loss, the lower GT index
 *      on equal losses.
 * Crowd GTs (ignore_flags) are never candidates; LADA ignores nothing (no AA_IGNORED).
 * overlap output: the winning loss of positives, +INFINITY otherwise. gts.labels and
 * head outputs are required. Every backend, with the same bits (the loss up to the
 * device's exp/log/pow/log1p). A loss that overflows float32 (huge finite logits):
 * the CPU reference refuses the call (AA_ERR_INVALID_ARGUMENT), nothing written; a
 * GPU backend gives that GT no positive (also for NaN head outputs in device memory,
 * which the host cannot check), the other GTs as usual. Which parts are the paper's
 * and which are ours: docs/semantics.md, "LADA".
 */
typedef enum aa_lada_threshold {
    AA_LADA_MEAN = 0,     /* mean of the candidates' losses                     */
    AA_LADA_MEAN_STD = 1  /* mean + unbiased standard deviation (as ATSS)       */
} aa_lada_threshold;

typedef struct aa_lada_params {
    size_t struct_size;
    float region_radius;         /* 1.5: the region's size in strides (above)        */
    int32_t clip_region_to_gt;   /* 1: the region is intersected with the GT box      */
    int32_t topk_per_level;      /* 9, 1 .. AA_MAX_TOPK                               */
    int32_t topk;                /* 20, 1 .. AA_MAX_TOPK * AA_MAX_LEVELS: overall     */
    aa_lada_threshold threshold; /* AA_LADA_MEAN                                     */
    float cls_weight;            /* 1                                                 */
    float giou_weight;           /* 1.5 (lambda1)                                     */
    float center_weight;         /* 1   (lambda2)                                     */
    float focal_alpha;           /* 0.25 (as PAA)                                     */
    float focal_gamma;           /* 2                                                 */
    float giou_eps;              /* 1e-6                                              */
    float target_means[4];       /* 0,0,0,0   (DeltaXYWHBBoxCoder)                    */
    float target_stds[4];        /* 0.1,0.1,0.2,0.2                                   */
    float wh_ratio_clip;         /* 16/1000                                           */
} aa_lada_params;

AA_API void aa_lada_params_init(aa_lada_params *params);
AA_API aa_status aa_lada_workspace_size(aa_context *ctx, const aa_lada_params *params,
                                        const aa_anchors *anchors, const aa_gts *gts,
                                        size_t *bytes);
AA_API aa_status aa_assign_lada(aa_context *ctx, const aa_lada_params *params,
                                const aa_anchors *anchors, const aa_gts *gts,
                                const aa_head_outputs *head, const aa_assignment *out,
                                void *workspace, size_t workspace_bytes);

#ifdef __cplusplus
}
#endif

#endif /* ANCHORASSIGN_H */
