/*
 * cli.h - internals of the `anchorassign` command-line tool, shared by its files.
 */
#ifndef AA_CLI_H
#define AA_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "anchorassign.h"
#include "synthetic_head.h"
#include "workload.h"

/* Exit statuses (documented in --help). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1    /* bad arguments, unreadable or malformed file, failed call */
#define CLI_EXIT_DISAGREE 2 /* profile: a backend disagrees with the CPU reference      */

#define CLI_DATA_FILE "coco2017_subset_boxes.csv"

/* ---------------------------------------------------------------- messages */

/* "anchorassign <cmd>: <message>\n" on stderr: the one line a failure prints. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cli_error(const char *cmd, const char *fmt, ...);

/* ---------------------------------------------------------------- arguments */

/* A walk over argv[first..argc) that understands "--name value" and "--name=value". */
typedef struct cli_args {
    const char *cmd; /* for messages: "profile", "assign" */
    int argc;
    char **argv;
    int next;
    const char *name;   /* the option just read (without "=value")     */
    const char *inline_value; /* value given as --name=value, or NULL */
    char name_buf[64];
} cli_args;

void cli_args_init(cli_args *a, const char *cmd, int argc, char **argv, int first);
/* Reads the next option name: 1 if there is one, 0 at the end, -1 (message
 * printed) if the next argument is not an option. */
int cli_args_next(cli_args *a);
int cli_args_is(const cli_args *a, const char *name);
/* The option's value; NULL (message printed) when it has none. */
const char *cli_args_value(cli_args *a);
/* The value as an integer in [lo, hi]; -1 (message printed) on error. */
int cli_args_int(cli_args *a, long lo, long hi, long *out);
/* An option that takes no value given one (--flag=x): message printed, -1. */
int cli_args_flag(cli_args *a);
void cli_args_unknown(const cli_args *a);

/* The shipped COCO subset: $ANCHORASSIGN_DATA, next to the installed executable,
 * the source tree, the configured install dir. NULL (message printed) if none. */
const char *cli_default_data(const char *cmd, char *buf, size_t size);

/* ---------------------------------------------------------------- assigners */

typedef enum cli_assigner_id {
    CLI_MAX_IOU = 0,
    CLI_ATSS = 1,
    CLI_FCOS = 2,
    CLI_FCOS_CS = 3,
    CLI_PAA = 4,
    CLI_LADA = 5,
    CLI_NUM_ASSIGNERS = 6
} cli_assigner_id;

typedef struct cli_assigner {
    cli_assigner_id id;
    const char *name;           /* as printed and as --assigner takes it */
    aa_wl_anchor_kind anchors;  /* the anchor set it runs on            */
    int needs_head;             /* loss-aware: takes head outputs (the
                                   synthetic ones of synthetic_head.h)  */
} cli_assigner;

const cli_assigner *cli_assigner_get(cli_assigner_id id);
const cli_assigner *cli_assigner_find(const char *name); /* NULL if unknown */

/* Runs the assigner with default parameters (plus centre sampling for CLI_FCOS_CS)
 * on the context's own workspace; head: the head outputs of a loss-aware assigner
 * (NULL otherwise). */
aa_status cli_assigner_run(aa_context *ctx, const cli_assigner *as, const aa_anchors *anchors,
                           const aa_gts *gts, const aa_head_outputs *head,
                           const aa_assignment *out);

/* Synthetic head outputs (float32, AA_WL_COCO_CLASSES classes) for a batch of COCO
 * boxes, seeded by the batch's first image; 0 or -1 with the message printed. */
int cli_head_make(const char *cmd, const aa_anchors *anchors, const aa_gts *gts,
                  int32_t first_image, aa_wl_head *head);

/* ---------------------------------------------------------------- backends */

/* A context opened with AA_MEMORY_HOST: the CLI's arrays are host memory. */
typedef struct cli_device {
    aa_context *ctx;
    aa_backend backend;
} cli_device;

/* Creates the context. Returns AA_SUCCESS, or the status with `why` filled: the
 * caller reports AA_ERR_NOT_SUPPORTED / AA_ERR_NO_DEVICE as "not available". */
aa_status cli_device_open(cli_device *dev, aa_backend backend, char *why, size_t why_size);
void cli_device_close(cli_device *dev);
/* 0 on success; -1 with `why` filled. */
int cli_device_alloc(cli_device *dev, void **p, size_t bytes, char *why, size_t why_size);
void cli_device_free(cli_device *dev, void *p);
int cli_device_upload(cli_device *dev, void *dst, const void *src, size_t bytes, char *why,
                      size_t why_size);
int cli_device_download(cli_device *dev, void *dst, const void *src, size_t bytes, char *why,
                        size_t why_size);
/* Waits for the context's work (wall-clock timing must include it). */
int cli_device_sync(cli_device *dev, char *why, size_t why_size);

/* ---------------------------------------------------------------- commands */

int cli_profile(int argc, char **argv);
int cli_assign(int argc, char **argv);
void cli_profile_help(FILE *f);
void cli_assign_help(FILE *f);

#endif /* AA_CLI_H */
