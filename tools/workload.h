/*
 * workload.h - the standard workloads: real COCO boxes loaded from a CSV or a COCO
 * annotation JSON, resized as mmdetection's Resize(keep_ratio) does, turned into the
 * library's inputs (aa_gts) and anchor sets. Used by the CLI, the tests and the
 * benchmarks (static library aa_workload).
 *
 * Every loader error comes back as a status plus one line that names the file, the
 * line (CSV, JSON syntax) or the element (JSON content) and the field, e.g.
 *   "data/x.csv:17: field 'w': not a number ('abc')".
 */
#ifndef AA_WORKLOAD_H
#define AA_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "anchorassign.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Images are resized keep-ratio to fit RESIZE_W x RESIZE_H (w x h) and placed at
 * the top-left of a CANVAS_H (high) x CANVAS_W (wide) canvas: 1333x800 padded to
 * a multiple of 32, as mmdetection batches them. */
#define AA_WL_RESIZE_W 1333
#define AA_WL_RESIZE_H 800
#define AA_WL_CANVAS_W 1344
#define AA_WL_CANVAS_H 800
#define AA_WL_DEFAULT_IMAGES 16
#define AA_WL_MAX_SIDE (1 << 20) /* image width/height accepted by the loaders */

typedef enum aa_wl_status {
    AA_WL_OK = 0,
    AA_WL_ERR_IO = 1,      /* the file cannot be opened or read          */
    AA_WL_ERR_FORMAT = 2,  /* the file's content is malformed            */
    AA_WL_ERR_NOMEM = 3,   /* an allocation failed                       */
    AA_WL_ERR_ARGUMENT = 4,/* a bad argument from the caller             */
    AA_WL_ERR_LIBRARY = 5  /* an anchorassign call failed                */
} aa_wl_status;

#define AA_WL_MESSAGE_SIZE 512
typedef struct aa_wl_error {
    char message[AA_WL_MESSAGE_SIZE]; /* one line, no trailing newline */
} aa_wl_error;

typedef enum aa_wl_format {
    AA_WL_FORMAT_AUTO = 0, /* from the extension: .json -> COCO, else CSV */
    AA_WL_FORMAT_CSV = 1,  /* data/README.md's columns                    */
    AA_WL_FORMAT_COCO = 2  /* COCO annotation JSON                        */
} aa_wl_format;

typedef struct aa_wl_image {
    int64_t image_id;
    int32_t width, height;           /* original size, pixels                   */
    int32_t resized_w, resized_h;    /* after the keep-ratio resize             */
    float scale_x, scale_y;          /* resized_w/width, resized_h/height       */
    int64_t first_box, num_boxes;    /* the image's boxes in the dataset arrays */
} aa_wl_image;

/* Boxes are grouped by image (images in order of first appearance in the file;
 * COCO JSON: the order of its `images` array), each image's boxes in file order. */
typedef struct aa_wl_dataset {
    int32_t num_images;
    aa_wl_image *images;
    int64_t num_boxes;
    float *orig_boxes;       /* [num_boxes][4] x1,y1,x2,y2 in original pixels     */
    float *boxes;            /* [num_boxes][4] the same on the resized canvas     */
    int64_t *annotation_ids; /* [num_boxes]                                       */
    int32_t *category_ids;   /* [num_boxes]                                       */
    uint8_t *iscrowd;        /* [num_boxes] 0 or 1                                */
} aa_wl_dataset;

/* "csv" or "coco". */
const char *aa_wl_format_name(aa_wl_format format);
/* AA_WL_FORMAT_COCO for a name ending in ".json" (any case), else CSV. */
aa_wl_format aa_wl_guess_format(const char *path);

/* Loads a file. On failure *ds is empty (safe to free) and err says why. */
aa_wl_status aa_wl_load(const char *path, aa_wl_format format, aa_wl_dataset *ds,
                        aa_wl_error *err);
/* The same from memory; `name` is used in messages. text need not end in NUL. */
aa_wl_status aa_wl_parse_csv(const char *name, const char *text, size_t len,
                             aa_wl_dataset *ds, aa_wl_error *err);
aa_wl_status aa_wl_parse_coco(const char *name, const char *text, size_t len,
                              aa_wl_dataset *ds, aa_wl_error *err);
void aa_wl_dataset_free(aa_wl_dataset *ds); /* NULL and empty are fine */

/* mmdetection's Resize(scale=(1333, 800), keep_ratio=True) for the fixed canvas:
 * scale = min(1333/w, 800/h), new size (int)(w*scale+0.5) x (int)(h*scale+0.5)
 * (at least 1), box factors new_w/w and new_h/h as float32. */
void aa_wl_resize(int32_t width, int32_t height, int32_t *new_w, int32_t *new_h,
                  float *scale_x, float *scale_y);

/* GTs of images [first, first + count) as the library takes them. The box, flag and
 * label arrays point into the dataset (keep it alive); offsets are owned. */
typedef struct aa_wl_batch {
    aa_gts gts;
    int32_t first_image;
    int64_t first_box; /* dataset index of the batch's GT 0 */
    int64_t *offsets;  /* owned, [count + 1], what gts.offsets points to */
} aa_wl_batch;

aa_wl_status aa_wl_batch_make(const aa_wl_dataset *ds, int32_t first, int32_t count,
                              aa_wl_batch *batch, aa_wl_error *err);
void aa_wl_batch_free(aa_wl_batch *batch);

/* The anchor sets of the standard workloads on a height x width canvas. */
typedef enum aa_wl_anchor_kind {
    AA_WL_ANCHORS_RETINA = 0, /* "coco-retina": RetinaNet, 9 per location          */
    AA_WL_ANCHORS_ATSS = 1,   /* "coco-atss": octave base 8, 1 scale, ratio 1      */
    AA_WL_POINTS_FCOS = 2     /* "fcos-points": MlvlPointGenerator, offset 0.5     */
} aa_wl_anchor_kind;

typedef struct aa_wl_anchor_set {
    aa_anchors anchors;    /* views the owned arrays below; copying the struct is fine */
    const char *name;
    float *boxes;          /* owned [num_anchors][4]                         */
    int64_t *level_counts; /* owned [num_levels]                             */
    float *level_strides;  /* owned [num_levels]                             */
} aa_wl_anchor_set;

aa_wl_status aa_wl_anchor_set_make(aa_wl_anchor_kind kind, int32_t height, int32_t width,
                                   aa_wl_anchor_set *set, aa_wl_error *err);
void aa_wl_anchor_set_free(aa_wl_anchor_set *set);
/* Pyramid level of anchor `index` (0-based), -1 if out of range. */
int32_t aa_wl_anchor_level(const aa_wl_anchor_set *set, int64_t index);

/* ---------------------------------------------------------------- synthetic workloads
 *
 * Two synthetic datasets for the benchmarks (DESIGN.md "Workloads everyone measures"),
 * run on the coco-atss anchors (22,400) and the FCOS points. Every image is a
 * 1333 x 800 picture (the resized image of the 800 x 1344 canvas, so width, height,
 * resized_w/h = 1333, 800 and scale 1: boxes == orig_boxes), boxes wholly inside it,
 * no crowd boxes.
 *
 *   dense    500 boxes per image, pedestrian-like: height 30 + 270 u^2 px (30..300,
 *            more small than large), aspect h/w = 2.5 + 0.5 n (n ~ N(0,1) clamped to
 *            +-2, so 1.5..3.5), centres in 3..5 crowd regions per image (region centre
 *            uniform in [0.1, 0.9] x [0.25, 0.85] of the image, spread sigma_x 40..160 px,
 *            sigma_y 20..80 px), then shifted so the box lies inside the image;
 *            category 1 (COCO's person).
 *   extreme  5,000 boxes per image, small aerial-like: width and height independently
 *            uniform in [8, 40] px, top-left corner uniform so the box lies inside the
 *            image; categories 1..10 uniform.
 *
 * Deterministic everywhere: splitmix64 from (seed, kind, image index), uniforms from
 * the top 53 bits, normals as Irwin-Hall sums of 4 uniforms; only +, -, *, / and sqrt
 * (IEEE correctly rounded), so no libm function decides a bit. Image i's boxes depend
 * on (seed, kind, i) only, and box k's on the draws before it: a smaller num_images or
 * boxes_per_image gives a prefix of the larger dataset (scaling runs).
 * Image ids are 1..num_images, annotation ids image_id * 1,000,000 + k + 1.
 */
typedef enum aa_wl_synthetic {
    AA_WL_SYNTH_DENSE = 0,  /* "dense"   */
    AA_WL_SYNTH_EXTREME = 1 /* "extreme" */
} aa_wl_synthetic;

#define AA_WL_SYNTH_SEED 20261125u     /* the seed every benchmark uses */
#define AA_WL_DENSE_BOXES 500          /* default boxes per image       */
#define AA_WL_EXTREME_BOXES 5000

/* "dense", "extreme", or NULL for an unknown kind. */
const char *aa_wl_synthetic_name(aa_wl_synthetic kind);

/* Generates num_images (1 .. AA_MAX_IMAGES) images of boxes_per_image boxes each
 * (0: the kind's default; at most 1,000,000). On failure *ds is empty (safe to free). */
aa_wl_status aa_wl_synthetic_make(aa_wl_synthetic kind, int32_t num_images,
                                  int32_t boxes_per_image, uint64_t seed, aa_wl_dataset *ds,
                                  aa_wl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* AA_WORKLOAD_H */
