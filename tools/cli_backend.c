/*
 * cli_backend.c - the assigners the CLI knows, and the contexts it runs them on
 * (host memory on every backend, AA_MEMORY_HOST).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- assigners */

static const cli_assigner assigners[CLI_NUM_ASSIGNERS] = {
    {CLI_MAX_IOU, "max-iou", AA_WL_ANCHORS_RETINA, 0},
    {CLI_ATSS, "atss", AA_WL_ANCHORS_ATSS, 0},
    {CLI_FCOS, "fcos", AA_WL_POINTS_FCOS, 0},
    {CLI_FCOS_CS, "fcos-center-sampling", AA_WL_POINTS_FCOS, 0},
    {CLI_PAA, "paa", AA_WL_ANCHORS_ATSS, 1}, /* PAA's anchors are ATSS's */
    {CLI_LADA, "lada", AA_WL_ANCHORS_ATSS, 1}, /* as PAA; the set carries its strides */
};

const cli_assigner *cli_assigner_get(cli_assigner_id id)
{
    return (id >= 0 && id < CLI_NUM_ASSIGNERS) ? &assigners[id] : NULL;
}

const cli_assigner *cli_assigner_find(const char *name)
{
    for (int i = 0; i < CLI_NUM_ASSIGNERS; ++i)
        if (strcmp(assigners[i].name, name) == 0)
            return &assigners[i];
    return NULL;
}

aa_status cli_assigner_run(aa_context *ctx, const cli_assigner *as, const aa_anchors *anchors,
                           const aa_gts *gts, const aa_head_outputs *head,
                           const aa_assignment *out)
{
    switch (as->id) {
    case CLI_MAX_IOU:
        return aa_assign_max_iou(ctx, NULL, anchors, gts, out, NULL, 0);
    case CLI_ATSS:
        return aa_assign_atss(ctx, NULL, anchors, gts, out, NULL, 0);
    case CLI_FCOS:
    case CLI_FCOS_CS: {
        aa_fcos_params p;
        aa_fcos_params_init(&p);
        p.center_sampling = as->id == CLI_FCOS_CS;
        return aa_assign_fcos(ctx, &p, anchors, gts, out, NULL, 0);
    }
    case CLI_PAA:
        return aa_assign_paa(ctx, NULL, anchors, gts, head, out, NULL, 0);
    case CLI_LADA:
        return aa_assign_lada(ctx, NULL, anchors, gts, head, out, NULL, 0);
    default:
        return AA_ERR_INVALID_ARGUMENT;
    }
}

int cli_head_make(const char *cmd, const aa_anchors *anchors, const aa_gts *gts,
                  int32_t first_image, aa_wl_head *head)
{
    aa_wl_error err;
    if (aa_wl_head_make(anchors, gts, AA_WL_COCO_CLASSES, AA_FLOAT32,
                        AA_WL_HEAD_SEED + (uint64_t)first_image, head, &err) != AA_WL_OK) {
        cli_error(cmd, "%s", err.message);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- devices */

/* Every backend is opened with AA_MEMORY_HOST: the library copies the CLI's host
 * arrays to the device and the results back, and a call returns when they are in
 * host memory. GPU timings therefore include those copies. */
aa_status cli_device_open(cli_device *dev, aa_backend backend, char *why, size_t why_size)
{
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = backend;
    opt.memory = AA_MEMORY_HOST;
    dev->ctx = NULL;
    dev->backend = backend;
    aa_status st = aa_context_create(&dev->ctx, &opt);
    if (st != AA_SUCCESS) {
        snprintf(why, why_size, "%s", aa_context_create_error());
        return st;
    }
    return AA_SUCCESS;
}

void cli_device_close(cli_device *dev)
{
    aa_context_destroy(dev->ctx);
    dev->ctx = NULL;
}

int cli_device_alloc(cli_device *dev, void **p, size_t bytes, char *why, size_t why_size)
{
    size_t n = bytes ? bytes : 1;
    (void)dev;
    *p = malloc(n);
    if (*p != NULL)
        return 0;
    snprintf(why, why_size, "out of memory (%zu bytes)", n);
    return -1;
}

void cli_device_free(cli_device *dev, void *p)
{
    (void)dev;
    free(p);
}

int cli_device_upload(cli_device *dev, void *dst, const void *src, size_t bytes, char *why,
                      size_t why_size)
{
    (void)dev;
    (void)why;
    (void)why_size;
    if (bytes > 0)
        memcpy(dst, src, bytes);
    return 0;
}

int cli_device_download(cli_device *dev, void *dst, const void *src, size_t bytes, char *why,
                        size_t why_size)
{
    return cli_device_upload(dev, dst, src, bytes, why, why_size);
}

int cli_device_sync(cli_device *dev, char *why, size_t why_size)
{
    (void)dev; /* AA_MEMORY_HOST calls return when the work is done */
    (void)why;
    (void)why_size;
    return 0;
}
