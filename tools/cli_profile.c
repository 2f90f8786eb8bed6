/*
 * cli_profile.c - `anchorassign profile`: every assigner on the shipped COCO subset,
 * on every backend available, timed and summarised, backends compared bit for bit.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NUM_BACKENDS 3
#define NUM_SETS 3 /* anchor kinds: retina, atss, fcos points */
#define WHY_SIZE 512

static const aa_backend backend_order[NUM_BACKENDS] = {AA_BACKEND_CPU, AA_BACKEND_OPENCL,
                                                       AA_BACKEND_CUDA};

typedef struct profile_opts {
    long images, repeat;
    int use[NUM_BACKENDS]; /* indexed as backend_order */
    int stages;            /* --stages: per-launch times on the GPU backends */
    const char *data;
} profile_opts;

/* A backend with its context and its own copies of the inputs. */
typedef struct slot {
    cli_device dev;
    int open;
    char why[WHY_SIZE];
    aa_gts gts;                  /* backend memory, host offsets      */
    aa_anchors anchors[NUM_SETS];
    void *mem[3 + NUM_SETS];     /* what the copies above point to    */
} slot;

typedef struct result {
    int ran, failed, unsupported;
    char why[WHY_SIZE];
    double median_ms;
    double pos_mean;
    int64_t pos_min, pos_max, counted_gts;
    int64_t negatives, ignored;
    int compared;    /* compared with the CPU reference */
    int64_t differ;  /* (image, anchor) pairs that differ */
    int num_stages;  /* --stages: each launch's median over the profiled runs */
    const char *stage_kernel[AA_MAX_STAGES];
    double stage_ms[AA_MAX_STAGES];
    double stage_bytes[AA_MAX_STAGES]; /* least bytes (the same every run) */
} result;

/* ---------------------------------------------------------------- help, options */

void cli_profile_help(FILE *f)
{
    fprintf(f,
            "usage: anchorassign profile [--images N] [--repeat R] [--backend B] [--data PATH]\n"
            "\n"
            "Runs the assigners on real COCO boxes, resized keep-ratio to fit 1333x800 and\n"
            "placed on an 800x1344 canvas, on every backend available:\n"
            "  max-iou               RetinaNet max-IoU on coco-retina anchors (9 per location)\n"
            "  atss                  ATSS on coco-atss anchors (1 per location)\n"
            "  fcos                  FCOS on points (stride 8..128, offset 0.5)\n"
            "  fcos-center-sampling  FCOS with centre sampling (radius 1.5)\n"
            "  paa                   PAA (mmdetection's PAAHead) on coco-atss anchors with\n"
            "                        synthetic head outputs (tools/synthetic_head.h)\n"
            "  lada                  LADA (docs/semantics.md) on coco-atss anchors with the\n"
            "                        same synthetic head outputs\n"
            "and prints one table per assigner: the median wall-clock time of R runs after\n"
            "one warm-up, positives per GT (mean, min, max over non-crowd GTs), negatives,\n"
            "ignored, and whether each backend agrees bit for bit with the CPU reference.\n"
            "\n"
            "options:\n"
            "  --images N     the first N images of the data (default %d, or all of a\n"
            "                 smaller file)\n"
            "  --repeat R     timed runs per assigner and backend (default 5)\n"
            "  --backend B    cpu, opencl, cuda or all (default all); a backend this build\n"
            "                 or machine lacks is reported as not available\n"
            "  --stages       after the timed runs, R more with aa_context_profile on: the\n"
            "                 median time of each kernel launch, per GPU backend, with the\n"
            "                 least bytes it moves and their rate (OpenCL waits for its\n"
            "                 queue around each launch while profiling)\n"
            "  --data PATH    boxes as CSV (data/README.md) or COCO JSON; default: the\n"
            "                 shipped %s ($ANCHORASSIGN_DATA overrides)\n"
            "  --help         this text\n"
            "\n"
            "Tables go to stdout, progress to stderr. Exit status: 0 ok, 1 error, 2 a\n"
            "backend disagrees with the CPU reference.\n",
            AA_WL_DEFAULT_IMAGES, CLI_DATA_FILE);
}

static int parse_backend(cli_args *a, profile_opts *o)
{
    const char *v = cli_args_value(a);
    if (v == NULL)
        return -1;
    int all = strcmp(v, "all") == 0, found = all;
    for (int i = 0; i < NUM_BACKENDS; ++i) {
        o->use[i] = all || strcmp(v, aa_backend_name(backend_order[i])) == 0;
        found |= o->use[i];
    }
    if (!found) {
        cli_error(a->cmd, "--backend: expected cpu, opencl, cuda or all, got '%s'", v);
        return -1;
    }
    return 0;
}

/* 1: run, 0: help printed, -1: error printed. */
static int parse_profile(int argc, char **argv, profile_opts *o)
{
    cli_args a;
    cli_args_init(&a, "profile", argc, argv, 2);
    o->images = 0; /* default: AA_WL_DEFAULT_IMAGES, or all of a smaller file */
    o->repeat = 5;
    o->stages = 0;
    o->data = NULL;
    for (int i = 0; i < NUM_BACKENDS; ++i)
        o->use[i] = 1;
    int r;
    while ((r = cli_args_next(&a)) > 0) {
        int bad = 0;
        if (cli_args_is(&a, "--help")) {
            if (cli_args_flag(&a) != 0)
                return -1;
            cli_profile_help(stdout);
            return 0;
        } else if (cli_args_is(&a, "--images")) {
            bad = cli_args_int(&a, 1, AA_MAX_IMAGES, &o->images);
        } else if (cli_args_is(&a, "--repeat")) {
            bad = cli_args_int(&a, 1, 100000, &o->repeat);
        } else if (cli_args_is(&a, "--backend")) {
            bad = parse_backend(&a, o);
        } else if (cli_args_is(&a, "--stages")) {
            bad = cli_args_flag(&a) != 0;
            o->stages = 1;
        } else if (cli_args_is(&a, "--data")) {
            bad = (o->data = cli_args_value(&a)) == NULL;
        } else {
            cli_args_unknown(&a);
            return -1;
        }
        if (bad)
            return -1;
    }
    return r < 0 ? -1 : 1;
}

/* ---------------------------------------------------------------- backends */

static int upload(slot *s, int k, const void *src, size_t bytes, const void **dst)
{
    if (cli_device_alloc(&s->dev, &s->mem[k], bytes, s->why, sizeof s->why) != 0 ||
        cli_device_upload(&s->dev, s->mem[k], src, bytes, s->why, sizeof s->why) != 0)
        return -1;
    *dst = s->mem[k];
    return 0;
}

/* Copies the GTs and the anchor sets to the backend's memory. */
static int slot_upload(slot *s, const aa_gts *gts, const aa_wl_anchor_set *sets)
{
    int64_t total = gts->offsets[gts->num_images];
    s->gts = *gts;
    const void *p;
    if (upload(s, 0, gts->boxes, (size_t)total * 4 * sizeof(float), &p) != 0)
        return -1;
    s->gts.boxes = p;
    if (upload(s, 1, gts->ignore_flags, (size_t)total, &p) != 0)
        return -1;
    s->gts.ignore_flags = p;
    if (upload(s, 2, gts->labels, (size_t)total * sizeof(int32_t), &p) != 0) /* PAA's cost */
        return -1;
    s->gts.labels = p;
    for (int k = 0; k < NUM_SETS; ++k) {
        s->anchors[k] = sets[k].anchors;
        size_t bytes = (size_t)sets[k].anchors.num_anchors * 4 * sizeof(float);
        if (upload(s, 3 + k, sets[k].anchors.boxes, bytes, &p) != 0)
            return -1;
        s->anchors[k].boxes = p;
    }
    return 0;
}

static void slot_close(slot *s)
{
    for (int k = 0; k < 3 + NUM_SETS; ++k)
        if (s->mem[k] != NULL)
            cli_device_free(&s->dev, s->mem[k]);
    if (s->open)
        cli_device_close(&s->dev);
    memset(s->mem, 0, sizeof s->mem);
    s->open = 0;
}

/* Opens a backend; not available and failed ones keep their reason in s->why.
 * Returns -1 only for a failure that is an error (not a missing backend). */
static int slot_open(slot *s, aa_backend b, const aa_gts *gts, const aa_wl_anchor_set *sets)
{
    memset(s, 0, sizeof *s);
    aa_status st = cli_device_open(&s->dev, b, s->why, sizeof s->why);
    if (st == AA_ERR_NOT_SUPPORTED || st == AA_ERR_NO_DEVICE)
        return 0;
    if (st != AA_SUCCESS)
        return -1;
    s->open = 1;
    if (slot_upload(s, gts, sets) != 0) {
        slot_close(s);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- one run */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int call_failed(slot *s, const cli_assigner *as, aa_status st, result *r)
{
    if (st == AA_ERR_NOT_SUPPORTED) { /* the backend lacks this assigner: not a failure */
        snprintf(r->why, sizeof r->why, "%s", aa_context_last_error(s->dev.ctx));
        r->unsupported = 1;
        return -1;
    }
    snprintf(r->why, sizeof r->why, "%s: %s: %s", as->name, aa_status_string(st),
             aa_context_last_error(s->dev.ctx));
    r->failed = 1;
    return -1;
}

/* `repeat` calls with aa_context_profile on: each launch's median time in r. */
static int time_stages(slot *s, const cli_assigner *as, const aa_anchors *anchors,
                       const aa_head_outputs *head, const aa_assignment *out, long repeat,
                       result *r)
{
    aa_status st = aa_context_profile(s->dev.ctx, 1);
    double *t = st == AA_SUCCESS ? malloc((size_t)repeat * AA_MAX_STAGES * sizeof *t) : NULL;
    if (st == AA_SUCCESS && t == NULL) {
        aa_context_profile(s->dev.ctx, 0);
        snprintf(r->why, sizeof r->why, "out of memory");
        r->failed = 1;
        return -1;
    }
    for (long i = 0; st == AA_SUCCESS && i < repeat; ++i) {
        st = cli_assigner_run(s->dev.ctx, as, anchors, &s->gts, head, out);
        const aa_stage_time *stages;
        int n = 0;
        if (st == AA_SUCCESS) st = aa_context_stages(s->dev.ctx, &stages, &n);
        if (st != AA_SUCCESS) break;
        if (i > 0 && n != r->num_stages) { /* the same call launches the same kernels */
            snprintf(r->why, sizeof r->why, "%s: %d stages, then %d", as->name, r->num_stages, n);
            r->failed = 1;
            free(t);
            aa_context_profile(s->dev.ctx, 0);
            return -1;
        }
        r->num_stages = n;
        for (int k = 0; k < n; ++k) {
            r->stage_kernel[k] = stages[k].kernel;
            r->stage_bytes[k] = stages[k].bytes;
            t[(size_t)k * (size_t)repeat + (size_t)i] = stages[k].ms;
        }
    }
    if (st == AA_SUCCESS)
        for (int k = 0; k < r->num_stages; ++k)
            r->stage_ms[k] = median(t + (size_t)k * (size_t)repeat, repeat);
    free(t);
    if (st != AA_SUCCESS) {
        r->num_stages = 0;
        call_failed(s, as, st, r);
    }
    aa_context_profile(s->dev.ctx, 0);
    return st == AA_SUCCESS ? 0 : -1;
}

/* One warm-up call (grows the workspace), then `repeat` timed calls (and, with
 * `stages`, `repeat` profiled ones on a GPU backend). */
static int time_runs(slot *s, const cli_assigner *as, const aa_anchors *anchors,
                     const aa_head_outputs *head, const aa_assignment *out, long repeat,
                     int stages, result *r)
{
    double *t = malloc((size_t)repeat * sizeof *t);
    if (t == NULL) {
        snprintf(r->why, sizeof r->why, "out of memory");
        r->failed = 1;
        return -1;
    }
    for (long i = -1; i < repeat; ++i) {
        double t0 = now_ms();
        aa_status st = cli_assigner_run(s->dev.ctx, as, anchors, &s->gts, head, out);
        if (st == AA_SUCCESS && cli_device_sync(&s->dev, r->why, sizeof r->why) != 0)
            st = AA_ERR_BACKEND;
        if (st != AA_SUCCESS) {
            free(t);
            return call_failed(s, as, st, r);
        }
        if (i >= 0)
            t[i] = now_ms() - t0;
    }
    r->median_ms = median(t, repeat);
    free(t);
    if (stages && s->dev.backend != AA_BACKEND_CPU)
        return time_stages(s, as, anchors, head, out, repeat, r);
    return 0;
}

/* Positives per non-crowd GT, negatives, ignored; -1 if an index is out of range. */
static int summarise(const int32_t *gt_index, const aa_gts *gts, int64_t num_anchors, result *r)
{
    int64_t total = gts->offsets[gts->num_images];
    int64_t *count = calloc((size_t)(total ? total : 1), sizeof *count);
    if (count == NULL)
        return -1;
    for (int32_t i = 0; i < gts->num_images; ++i) {
        int64_t first = gts->offsets[i], n = gts->offsets[i + 1] - first;
        const int32_t *g = gt_index + (size_t)i * (size_t)num_anchors;
        for (int64_t a = 0; a < num_anchors; ++a) {
            if (g[a] >= 0 && g[a] < n)
                count[first + g[a]]++;
            else if (g[a] == AA_NEGATIVE)
                r->negatives++;
            else if (g[a] == AA_IGNORED)
                r->ignored++;
            else {
                snprintf(r->why, sizeof r->why, "image %d anchor %lld: gt_index %d out of range",
                         i, (long long)a, g[a]);
                free(count);
                return -1;
            }
        }
    }
    int64_t sum = 0;
    r->pos_min = INT64_MAX;
    r->pos_max = 0;
    for (int64_t k = 0; k < total; ++k) {
        if (gts->ignore_flags[k])
            continue;
        sum += count[k];
        r->counted_gts++;
        r->pos_min = count[k] < r->pos_min ? count[k] : r->pos_min;
        r->pos_max = count[k] > r->pos_max ? count[k] : r->pos_max;
    }
    r->pos_mean = r->counted_gts ? (double)sum / (double)r->counted_gts : 0.0;
    free(count);
    return 0;
}

/* Host copies of one backend's outputs. */
typedef struct outputs {
    int32_t *gt_index;
    float *overlap;
} outputs;

static int64_t count_differences(const outputs *x, const outputs *y, size_t n)
{
    int64_t d = 0;
    for (size_t k = 0; k < n; ++k)
        d += x->gt_index[k] != y->gt_index[k] ||
             memcmp(&x->overlap[k], &y->overlap[k], sizeof(float)) != 0;
    return d;
}

/* Runs one assigner on one backend and fetches its outputs into `host`. */
static int run_on_slot(slot *s, const cli_assigner *as, int set, const aa_head_outputs *head,
                       long repeat, int stages, outputs *host, result *r)
{
    size_t n = (size_t)s->gts.num_images * (size_t)s->anchors[set].num_anchors;
    void *gi = NULL, *ov = NULL;
    int rc = -1;
    r->ran = 1;
    if (cli_device_alloc(&s->dev, &gi, n * sizeof(int32_t), r->why, sizeof r->why) == 0 &&
        cli_device_alloc(&s->dev, &ov, n * sizeof(float), r->why, sizeof r->why) == 0) {
        aa_assignment out = {gi, ov, NULL};
        rc = time_runs(s, as, &s->anchors[set], head, &out, repeat, stages, r);
        if (rc == 0 &&
            (cli_device_download(&s->dev, host->gt_index, gi, n * sizeof(int32_t), r->why,
                                 sizeof r->why) != 0 ||
             cli_device_download(&s->dev, host->overlap, ov, n * sizeof(float), r->why,
                                 sizeof r->why) != 0))
            rc = -1;
    }
    if (gi != NULL)
        cli_device_free(&s->dev, gi);
    if (ov != NULL)
        cli_device_free(&s->dev, ov);
    r->failed = rc != 0 && !r->unsupported;
    return rc;
}

/* ---------------------------------------------------------------- tables */

static void print_title(const cli_assigner *as, const aa_wl_anchor_set *set, const aa_gts *gts)
{
    int64_t total = gts->offsets[gts->num_images], crowd = 0;
    for (int64_t k = 0; k < total; ++k)
        crowd += gts->ignore_flags[k] != 0;
    printf("\n%s on %s: %d images x %lld anchors, %lld GTs (%lld crowd)\n", as->name, set->name,
           gts->num_images, (long long)set->anchors.num_anchors, (long long)total,
           (long long)crowd);
    printf("%-8s %10s %12s %7s %7s %11s %9s  %s\n", "backend", "median_ms", "pos/GT mean",
           "min", "max", "negatives", "ignored", "agree");
}

static void print_row(aa_backend b, const slot *s, const result *r, int compare)
{
    const char *name = aa_backend_name(b);
    if (!r->ran || r->unsupported) {
        printf("%-8s not available: %s\n", name, r->unsupported ? r->why : s->why);
        return;
    }
    if (r->failed) {
        printf("%-8s failed: %s\n", name, r->why);
        return;
    }
    char agree[48] = "-";
    if (compare && b == AA_BACKEND_CPU)
        snprintf(agree, sizeof agree, "reference");
    else if (r->compared)
        snprintf(agree, sizeof agree, r->differ ? "NO (%lld differ)" : "yes",
                 (long long)r->differ);
    if (r->counted_gts == 0) {
        printf("%-8s %10.3f %12s %7s %7s %11lld %9lld  %s\n", name, r->median_ms, "-", "-", "-",
               (long long)r->negatives, (long long)r->ignored, agree);
        return;
    }
    printf("%-8s %10.3f %12.2f %7lld %7lld %11lld %9lld  %s\n", name, r->median_ms, r->pos_mean,
           (long long)r->pos_min, (long long)r->pos_max, (long long)r->negatives,
           (long long)r->ignored, agree);
}

/* --stages: one line per kernel launch, in launch order. */
static void print_stages(aa_backend b, const result *r, long repeat)
{
    double sum = 0;
    for (int k = 0; k < r->num_stages; ++k)
        sum += r->stage_ms[k];
    printf("%s stages (median of %ld profiled run%s; sum %.3f ms; least bytes each launch moves, "
           "and those bytes per second):\n", aa_backend_name(b), repeat, repeat == 1 ? "" : "s", sum);
    for (int k = 0; k < r->num_stages; ++k) {
        double ms = r->stage_ms[k], mb = r->stage_bytes[k] * 1e-6;
        printf("  %-28s %10.3f ms %11.3f MB", r->stage_kernel[k], ms, mb);
        if (ms > 0) printf(" %9.2f GB/s", mb / ms);
        printf("\n");
    }
}

/* ---------------------------------------------------------------- driver */

typedef struct profile_state {
    const profile_opts *o;
    const aa_gts *host_gts;
    const aa_wl_anchor_set *sets;
    const aa_head_outputs *head; /* synthetic, host memory (every slot is AA_MEMORY_HOST) */
    slot slots[NUM_BACKENDS];
    int failures, disagreements;
} profile_state;

static void outputs_free(outputs *o)
{
    free(o->gt_index);
    free(o->overlap);
}

static int outputs_alloc(outputs *o, size_t n)
{
    o->gt_index = malloc((n ? n : 1) * sizeof(int32_t));
    o->overlap = malloc((n ? n : 1) * sizeof(float));
    if (o->gt_index != NULL && o->overlap != NULL)
        return 0;
    cli_error("profile", "out of memory for %zu outputs", n);
    return -1;
}

/* One backend's run, summary and comparison with the reference (if any). */
static void profile_one(profile_state *ps, int b, const cli_assigner *as, outputs *cur,
                        const outputs *ref, result *r)
{
    int set = (int)as->anchors;
    int64_t num_anchors = ps->sets[set].anchors.num_anchors;
    fprintf(stderr, "anchorassign profile: %s: %s on %s, 1 warm-up + %ld timed run%s\n",
            aa_backend_name(backend_order[b]), as->name, ps->sets[set].name, ps->o->repeat,
            ps->o->repeat == 1 ? "" : "s");
    if (run_on_slot(&ps->slots[b], as, set, as->needs_head ? ps->head : NULL, ps->o->repeat,
                    ps->o->stages, cur, r) != 0 ||
        summarise(cur->gt_index, ps->host_gts, num_anchors, r) != 0) {
        if (r->unsupported) return; /* reported as not available */
        r->failed = 1;
        ps->failures++;
        return;
    }
    if (ref != NULL) {
        r->compared = 1;
        r->differ = count_differences(ref, cur,
                                      (size_t)ps->host_gts->num_images * (size_t)num_anchors);
        ps->disagreements += r->differ != 0;
    }
}

/* One assigner on every open backend; CPU (first) is the reference. */
static int profile_assigner(profile_state *ps, const cli_assigner *as)
{
    int set = (int)as->anchors, ran = 0, have_ref = 0;
    size_t n = (size_t)ps->host_gts->num_images * (size_t)ps->sets[set].anchors.num_anchors;
    outputs ref = {NULL, NULL}, cur = {NULL, NULL};
    result res[NUM_BACKENDS];
    memset(res, 0, sizeof res);
    if (outputs_alloc(&ref, n) != 0 || outputs_alloc(&cur, n) != 0) {
        outputs_free(&ref);
        outputs_free(&cur);
        return -1;
    }
    for (int b = 0; b < NUM_BACKENDS; ++b) {
        if (!ps->slots[b].open)
            continue;
        profile_one(ps, b, as, &cur, have_ref ? &ref : NULL, &res[b]);
        if (res[b].failed || res[b].unsupported)
            continue;
        ran++;
        if (backend_order[b] == AA_BACKEND_CPU) {
            outputs t = ref; /* keep the reference; later backends fill the other pair */
            ref = cur;
            cur = t;
            have_ref = 1;
        }
    }
    print_title(as, &ps->sets[set], ps->host_gts);
    for (int b = 0; b < NUM_BACKENDS; ++b)
        if (ps->o->use[b])
            print_row(backend_order[b], &ps->slots[b], &res[b], ran > 1);
    for (int b = 0; b < NUM_BACKENDS; ++b)
        if (ps->o->use[b] && !res[b].failed && res[b].num_stages > 0)
            print_stages(backend_order[b], &res[b], ps->o->repeat);
    fflush(stdout);
    outputs_free(&ref);
    outputs_free(&cur);
    return 0;
}

static int open_slots(profile_state *ps)
{
    for (int b = 0; b < NUM_BACKENDS; ++b) {
        if (!ps->o->use[b])
            continue;
        if (slot_open(&ps->slots[b], backend_order[b], ps->host_gts, ps->sets) != 0) {
            cli_error("profile", "%s: %s", aa_backend_name(backend_order[b]),
                      ps->slots[b].why);
            return -1;
        }
        if (!ps->slots[b].open)
            fprintf(stderr, "anchorassign profile: %s: not available: %s\n",
                    aa_backend_name(backend_order[b]), ps->slots[b].why);
    }
    for (int b = 0; b < NUM_BACKENDS; ++b)
        if (ps->slots[b].open)
            return 0;
    cli_error("profile", "no backend to run on (the one requested is not available)");
    return -1;
}

static int profile_run(const profile_opts *o, const aa_wl_batch *batch,
                       const aa_wl_anchor_set *sets)
{
    profile_state ps;
    memset(&ps, 0, sizeof ps);
    ps.o = o;
    ps.host_gts = &batch->gts;
    ps.sets = sets;
    aa_wl_head head;
    memset(&head, 0, sizeof head);
    int rc = cli_head_make("profile", &sets[AA_WL_ANCHORS_ATSS].anchors, &batch->gts, 0, &head);
    ps.head = &head.head;
    if (rc == 0) rc = open_slots(&ps);
    for (int k = 0; rc == 0 && k < CLI_NUM_ASSIGNERS; ++k)
        rc = profile_assigner(&ps, cli_assigner_get((cli_assigner_id)k));
    for (int b = 0; b < NUM_BACKENDS; ++b)
        slot_close(&ps.slots[b]);
    aa_wl_head_free(&head);
    if (rc != 0)
        return CLI_EXIT_ERROR;
    if (ps.failures) {
        cli_error("profile", "%d run(s) failed (see the tables)", ps.failures);
        return CLI_EXIT_ERROR;
    }
    if (ps.disagreements) {
        cli_error("profile", "%d backend run(s) disagree with the CPU reference",
                  ps.disagreements);
        return CLI_EXIT_DISAGREE;
    }
    return CLI_EXIT_OK;
}

/* Loads the data and builds the batch and the three anchor sets. */
static int profile_inputs(const profile_opts *o, aa_wl_dataset *ds, aa_wl_batch *batch,
                          aa_wl_anchor_set *sets)
{
    char buf[4096];
    const char *path = o->data ? o->data : cli_default_data("profile", buf, sizeof buf);
    aa_wl_error err;
    if (path == NULL)
        return -1;
    if (aa_wl_load(path, AA_WL_FORMAT_AUTO, ds, &err) != AA_WL_OK) {
        cli_error("profile", "%s", err.message);
        return -1;
    }
    if (ds->num_images == 0) {
        cli_error("profile", "%s: no images in the file", path);
        return -1;
    }
    if (o->images > ds->num_images) {
        cli_error("profile", "--images: %ld requested, but %s has %d images", o->images, path,
                  ds->num_images);
        return -1;
    }
    int32_t n = o->images ? (int32_t)o->images
                          : (ds->num_images < AA_WL_DEFAULT_IMAGES ? ds->num_images
                                                                   : AA_WL_DEFAULT_IMAGES);
    if (aa_wl_batch_make(ds, 0, n, batch, &err) != AA_WL_OK) {
        cli_error("profile", "%s", err.message);
        return -1;
    }
    for (int k = 0; k < NUM_SETS; ++k)
        if (aa_wl_anchor_set_make((aa_wl_anchor_kind)k, AA_WL_CANVAS_H, AA_WL_CANVAS_W,
                                  &sets[k], &err) != AA_WL_OK) {
            cli_error("profile", "%s", err.message);
            return -1;
        }
    fprintf(stderr, "anchorassign profile: data: %s (%d images, %lld boxes), using the first %d\n",
            path, ds->num_images, (long long)ds->num_boxes, n);
    return 0;
}

int cli_profile(int argc, char **argv)
{
    profile_opts o;
    int p = parse_profile(argc, argv, &o);
    if (p <= 0)
        return p == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    aa_wl_dataset ds;
    aa_wl_batch batch;
    aa_wl_anchor_set sets[NUM_SETS];
    memset(&ds, 0, sizeof ds);
    memset(&batch, 0, sizeof batch);
    memset(sets, 0, sizeof sets);
    int rc = CLI_EXIT_ERROR;
    if (profile_inputs(&o, &ds, &batch, sets) == 0)
        rc = profile_run(&o, &batch, sets);
    for (int k = 0; k < NUM_SETS; ++k)
        aa_wl_anchor_set_free(&sets[k]);
    aa_wl_batch_free(&batch);
    aa_wl_dataset_free(&ds);
    return rc;
}
