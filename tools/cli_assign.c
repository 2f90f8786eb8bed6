/*
 * cli_assign.c - `anchorassign assign`: a user's boxes in, one CSV row per positive
 * or ignored anchor out, computed by the CPU reference.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_IMAGES 16 /* images per library call: bounds the output buffers */

typedef struct assign_opts {
    const cli_assigner *assigner;
    const char *input, *output;
    aa_wl_format format;
    long images; /* 0: all */
} assign_opts;

typedef struct assign_counts {
    int64_t positives, ignored;
} assign_counts;

/* ---------------------------------------------------------------- help, options */

void cli_assign_help(FILE *f)
{
    fprintf(f,
            "usage: anchorassign assign --assigner NAME --input FILE [--format F]\n"
            "                           --output FILE [--images N]\n"
            "\n"
            "Assigns the anchors of every image of FILE with the CPU reference and writes\n"
            "one CSV row per positive or ignored anchor. Images are resized keep-ratio to\n"
            "fit 1333x800 and placed on an 800x1344 canvas, as the profile workloads.\n"
            "\n"
            "options:\n"
            "  --assigner NAME  max-iou (RetinaNet anchors, 9 per location), atss (one\n"
            "                   8*stride anchor per location), fcos or fcos-center-sampling\n"
            "                   (points, offset 0.5), paa or lada (atss's anchors,\n"
            "                   synthetic head outputs: tools/synthetic_head.h);\n"
            "                   mmdetection's defaults (lada: docs/semantics.md)\n"
            "  --input FILE     boxes: CSV with the columns of data/README.md, or a COCO\n"
            "                   annotation JSON (images, annotations)\n"
            "  --format F       csv or coco (default: coco for *.json, else csv)\n"
            "  --output FILE    where to write the assignments\n"
            "  --images N       only the first N images (default: all)\n"
            "  --help           this text\n"
            "\n"
            "Output: a comment line '# anchorassign VERSION assigner=NAME images=N\n"
            "anchors=A', then the columns image_id,anchor,level,gt_index,annotation_id,\n"
            "label,overlap. gt_index is the GT's index within its image (in file order),\n"
            "-2 for an ignored anchor (annotation_id empty); label is the GT's category_id\n"
            "(-1 when ignored); overlap is the assigner's value (IoU for max-iou and atss,\n"
            "centre-ness for fcos, the cost for paa, the loss for lada). Negatives are not\n"
            "written.\n");
}

static int parse_assign_value(cli_args *a, assign_opts *o)
{
    const char *v = cli_args_value(a);
    if (v == NULL)
        return -1;
    if (cli_args_is(a, "--assigner")) {
        o->assigner = cli_assigner_find(v);
        if (o->assigner == NULL) {
            cli_error(a->cmd, "--assigner: expected max-iou, atss, fcos, "
                              "fcos-center-sampling, paa or lada, got '%s'", v);
            return -1;
        }
    } else if (cli_args_is(a, "--format")) {
        o->format = strcmp(v, "csv") == 0 ? AA_WL_FORMAT_CSV
                    : strcmp(v, "coco") == 0 ? AA_WL_FORMAT_COCO : AA_WL_FORMAT_AUTO;
        if (o->format == AA_WL_FORMAT_AUTO) {
            cli_error(a->cmd, "--format: expected csv or coco, got '%s'", v);
            return -1;
        }
    } else if (cli_args_is(a, "--input")) {
        o->input = v;
    } else {
        o->output = v;
    }
    return 0;
}

static int check_required(const assign_opts *o)
{
    const char *missing = o->assigner == NULL ? "--assigner"
                          : o->input == NULL  ? "--input"
                          : o->output == NULL ? "--output" : NULL;
    if (missing != NULL) {
        cli_error("assign", "missing %s (try 'anchorassign assign --help')", missing);
        return -1;
    }
    if (strcmp(o->input, o->output) == 0) {
        cli_error("assign", "--output: '%s' is the input file; refusing to overwrite it",
                  o->output);
        return -1;
    }
    return 0;
}

/* 1: run, 0: help printed, -1: error printed. */
static int parse_assign(int argc, char **argv, assign_opts *o)
{
    cli_args a;
    cli_args_init(&a, "assign", argc, argv, 2);
    memset(o, 0, sizeof *o);
    int r;
    while ((r = cli_args_next(&a)) > 0) {
        int bad;
        if (cli_args_is(&a, "--help")) {
            if (cli_args_flag(&a) != 0)
                return -1;
            cli_assign_help(stdout);
            return 0;
        } else if (cli_args_is(&a, "--images")) {
            bad = cli_args_int(&a, 1, AA_MAX_IMAGES, &o->images);
        } else if (cli_args_is(&a, "--assigner") || cli_args_is(&a, "--format") ||
                   cli_args_is(&a, "--input") || cli_args_is(&a, "--output")) {
            bad = parse_assign_value(&a, o);
        } else {
            cli_args_unknown(&a);
            return -1;
        }
        if (bad)
            return -1;
    }
    if (r < 0)
        return -1;
    return check_required(o) == 0 ? 1 : -1;
}

/* ---------------------------------------------------------------- rows */

/* The rows of one image: its positive and ignored anchors, level by level. */
static void write_image(FILE *f, const aa_wl_dataset *ds, const aa_wl_batch *batch, int32_t i,
                        const aa_wl_anchor_set *set, const aa_assignment *out,
                        assign_counts *counts)
{
    const aa_wl_image *im = &ds->images[batch->first_image + i];
    int64_t num_anchors = set->anchors.num_anchors, a = 0;
    size_t base = (size_t)i * (size_t)num_anchors;
    int64_t first_gt = batch->first_box + batch->offsets[i];
    for (int32_t l = 0; l < set->anchors.num_levels; ++l) {
        for (int64_t end = a + set->level_counts[l]; a < end; ++a) {
            int32_t g = out->gt_index[base + (size_t)a];
            if (g == AA_NEGATIVE)
                continue;
            fprintf(f, "%lld,%lld,%d,%d,", (long long)im->image_id, (long long)a, l, g);
            if (g >= 0)
                fprintf(f, "%lld", (long long)ds->annotation_ids[first_gt + g]);
            fprintf(f, ",%d,%.9g\n", out->labels[base + (size_t)a],
                    (double)out->overlap[base + (size_t)a]);
            if (g >= 0)
                counts->positives++;
            else
                counts->ignored++;
        }
    }
}

typedef struct run_buffers {
    int32_t *gt_index, *labels;
    float *overlap;
} run_buffers;

/* Assigns images [first, first + count) and writes their rows. */
static int assign_chunk(aa_context *ctx, const assign_opts *o, const aa_wl_dataset *ds,
                        const aa_wl_anchor_set *set, int32_t first, int32_t count,
                        const run_buffers *buf, FILE *f, assign_counts *counts)
{
    aa_wl_batch batch;
    aa_wl_error err;
    if (aa_wl_batch_make(ds, first, count, &batch, &err) != AA_WL_OK) {
        cli_error("assign", "%s", err.message);
        return -1;
    }
    aa_assignment out = {buf->gt_index, buf->overlap, buf->labels};
    aa_wl_head head;
    memset(&head, 0, sizeof head);
    if (o->assigner->needs_head &&
        cli_head_make("assign", &set->anchors, &batch.gts, first, &head) != 0) {
        aa_wl_batch_free(&batch);
        return -1;
    }
    aa_status st = cli_assigner_run(ctx, o->assigner, &set->anchors, &batch.gts,
                                    o->assigner->needs_head ? &head.head : NULL, &out);
    aa_wl_head_free(&head);
    if (st != AA_SUCCESS) {
        cli_error("assign", "%s: images %d..%d: %s: %s", o->assigner->name, first,
                  first + count - 1, aa_status_string(st), aa_context_last_error(ctx));
        aa_wl_batch_free(&batch);
        return -1;
    }
    for (int32_t i = 0; i < count; ++i)
        write_image(f, ds, &batch, i, set, &out, counts);
    aa_wl_batch_free(&batch);
    return 0;
}

static int assign_all(aa_context *ctx, const assign_opts *o, const aa_wl_dataset *ds,
                      int32_t images, const aa_wl_anchor_set *set, FILE *f,
                      assign_counts *counts)
{
    size_t n = (size_t)CHUNK_IMAGES * (size_t)set->anchors.num_anchors;
    run_buffers buf = {malloc(n * sizeof(int32_t)), malloc(n * sizeof(int32_t)),
                       malloc(n * sizeof(float))};
    int rc = 0;
    if (buf.gt_index == NULL || buf.labels == NULL || buf.overlap == NULL) {
        cli_error("assign", "out of memory for %zu outputs", n);
        rc = -1;
    }
    fprintf(f, "# anchorassign %s assigner=%s images=%d anchors=%lld\n", aa_version_string(),
            o->assigner->name, images, (long long)set->anchors.num_anchors);
    fprintf(f, "image_id,anchor,level,gt_index,annotation_id,label,overlap\n");
    for (int32_t first = 0; rc == 0 && first < images; first += CHUNK_IMAGES) {
        int32_t count = images - first < CHUNK_IMAGES ? images - first : CHUNK_IMAGES;
        rc = assign_chunk(ctx, o, ds, set, first, count, &buf, f, counts);
    }
    free(buf.gt_index);
    free(buf.labels);
    free(buf.overlap);
    return rc;
}

/* ---------------------------------------------------------------- driver */

/* Opens the output, writes everything, closes it; removes it on failure. */
static int assign_write(const assign_opts *o, const aa_wl_dataset *ds, int32_t images,
                        const aa_wl_anchor_set *set, assign_counts *counts)
{
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = AA_BACKEND_CPU;
    aa_context *ctx = NULL;
    aa_status st = aa_context_create(&ctx, &opt);
    if (st != AA_SUCCESS) {
        cli_error("assign", "cannot create a CPU context: %s", aa_status_string(st));
        return -1;
    }
    FILE *f = fopen(o->output, "w");
    if (f == NULL) {
        cli_error("assign", "%s: cannot create: %s", o->output, strerror(errno));
        aa_context_destroy(ctx);
        return -1;
    }
    int rc = assign_all(ctx, o, ds, images, set, f, counts);
    aa_context_destroy(ctx);
    int write_failed = ferror(f);
    if (fclose(f) != 0 || write_failed) {
        if (rc == 0)
            cli_error("assign", "%s: cannot write: %s", o->output, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        remove(o->output); /* no half-written results left behind */
    return rc;
}

static int assign_load(const assign_opts *o, aa_wl_dataset *ds, int32_t *images)
{
    aa_wl_error err;
    aa_wl_format format = o->format ? o->format : aa_wl_guess_format(o->input);
    if (aa_wl_load(o->input, format, ds, &err) != AA_WL_OK) {
        cli_error("assign", "%s", err.message);
        return -1;
    }
    if (ds->num_images == 0) {
        cli_error("assign", "%s: no images in the file", o->input);
        return -1;
    }
    if (o->images > ds->num_images) {
        cli_error("assign", "--images: %ld requested, but %s has %d images", o->images, o->input,
                  ds->num_images);
        return -1;
    }
    *images = o->images ? (int32_t)o->images : ds->num_images;
    return 0;
}

int cli_assign(int argc, char **argv)
{
    assign_opts o;
    int p = parse_assign(argc, argv, &o);
    if (p <= 0)
        return p == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    aa_wl_dataset ds;
    aa_wl_anchor_set set;
    aa_wl_error err;
    int32_t images = 0;
    assign_counts counts = {0, 0};
    memset(&set, 0, sizeof set);
    int rc = assign_load(&o, &ds, &images);
    if (rc == 0 && aa_wl_anchor_set_make(o.assigner->anchors, AA_WL_CANVAS_H, AA_WL_CANVAS_W,
                                         &set, &err) != AA_WL_OK) {
        cli_error("assign", "%s", err.message);
        rc = -1;
    }
    if (rc == 0)
        rc = assign_write(&o, &ds, images, &set, &counts);
    if (rc == 0)
        printf("wrote %lld rows (%lld positives, %lld ignored) for %d images to %s\n",
               (long long)(counts.positives + counts.ignored), (long long)counts.positives,
               (long long)counts.ignored, images, o.output);
    aa_wl_anchor_set_free(&set);
    aa_wl_dataset_free(&ds);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
