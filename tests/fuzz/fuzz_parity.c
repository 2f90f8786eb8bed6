/*
 * fuzz_parity.c - libFuzzer target: the OpenCL backend against the CPU reference.
 *
 * The input is read as a batch and the parameters of every call, decoded with
 * harness.c (build_batch: levels, level counts, anchor boxes or a generated
 * RetinaNet / ATSS anchor set or FCOS point set, images, GT offsets, GT boxes with
 * special values, crowd flags, labels, one corruption of the anchors and one of the
 * GTs), then max-IoU, ATSS and FCOS parameters field by field (struct_size
 * included), an overlap mode, eps, topk, which outputs are requested and one
 * corruption of the candidates; after all of these (an input that ends earlier reads
 * zeros there: float32 heads of one class, the original PAA preset, LADA's defaults)
 * head outputs as fuzz_loss.c decodes them (decode_head: float32, float16 or
 * bfloat16, special values, one corruption), PAA parameters, one corruption of the
 * pre-assignment (the CPU's max-IoU with the PAA parameters' pre, the same for both)
 * and LADA parameters, field by field. Each call runs on a CPU context and on an OpenCL
 * context with AA_MEMORY_HOST (both created once per process; no OpenCL device is
 * a loud failure, never a pass), each side's outputs allocated to the byte
 * (AddressSanitizer guards them) and poisoned, the CPU's with POISON_A and
 * OpenCL's with POISON_B, so that an element one side leaves unwritten cannot
 * compare equal. It aborts when:
 *   - the two statuses differ, or a status is not documented;
 *   - a failing call wrote any byte of any output (on either side), or OpenCL's
 *     message is empty or not one line;
 *   - a successful call wrote past the elements it owns (either side), or succeeded
 *     on a batch that harness.c's oracle calls invalid;
 *   - on success, an owned output differs from the CPU's, bit for bit:
 *     aa_overlaps (IoU, IoF, GIoU), aa_topk_nearest, aa_candidate_iou_stats (mean
 *     and std: the same bits, or NaN on both, as tests/test_gpu_parity.c),
 *     aa_assign_max_iou, aa_assign_atss, aa_assign_fcos (gt_index, overlap, labels),
 *     aa_assign_lada's gt_index and labels;
 *   - on success, a loss differs by more than LOSS_ULPS (4) float ulps, or is not
 *     finite on one side only: aa_assign_lada's overlap (the winning loss, +INF for
 *     negatives: tests/parity_lada.h's rule, LADA_LOSS_ULPS) and aa_paa_costs' costs
 *     (+INF exactly where the CPU has it: parity_paa.h's rule, PAA_COST_ULPS). Both
 *     are computed in double with the device's exp, log, pow and log1p, rounded to
 *     float once; a loss within the ulps but not bit-identical is printed and counted
 *     (the totals at exit).
 * A third side, AA_MEMORY_NATIVE: every call above is made once more on an OpenCL
 * context with AA_MEMORY_NATIVE (created once, on the same device), with every input
 * array (anchor and GT boxes, crowd flags, labels, gts.device_offsets, candidates, head
 * outputs, pre-assignment) uploaded into a cl_mem of its own and every output a cl_mem
 * of the host side's size poisoned with POISON_C, read back after the call
 * (run_native: one code path, given the call's args and pouts). Only where the header
 * promises host mode's behaviour: the batch valid by the oracle and none of the values
 * the host checks in host memory but cannot in device memory (a candidate out of range,
 * a pre-assignment entry that is not -2, -1 or a non-crowd GT of its image, a label not
 * below head.num_classes, a non-finite head value in a row the call reads): such calls
 * are not made there (counted). For the calls with a workspace argument (max-IoU,
 * ATSS, FCOS, LADA; PAA's selection, aa_assign_paa and the EM, below) a hash of the whole input (no byte of its own: the corpus keeps its
 * meaning) picks, per call, the context's own workspace, a caller cl_mem of exactly the
 * size aa_X_workspace_size returns on that context, or one byte less. It aborts when:
 *   - the status differs from the host-mode OpenCL call's, or, one byte short where
 *     host mode succeeded, is not AA_ERR_WORKSPACE_TOO_SMALL;
 *   - a failing call wrote any byte of any output buffer, or its message is not one line;
 *   - on success, an owned byte differs from the host-mode OpenCL output (losses and
 *     costs included: the same device and kernels, bit for bit), or a byte past the
 *     owned ones is not POISON_C.
 * Every OpenCL call of the harness is checked (a failure dies naming it), every cl_mem
 * released after the call. Its first finding: FCOS on a GPU backend took no workspace
 * and so accepted one byte short of what aa_fcos_workspace_size asked for (the
 * reference's size); now the query says 0 there and host/api.c checks every GPU call's
 * workspace before the backend runs (regressions/parity/native-fcos-workspace-short;
 * docs/robustness.md).
 *
 * One documented difference is followed rather than refused: where a LADA loss
 * overflows float32 the CPU refuses the call (AA_ERR_INVALID_ARGUMENT, naming the
 * anchor and GT) and a GPU backend gives that GT no positive (anchorassign.h). Then
 * the CPU runs again with that GT crowd (never a candidate either), until it
 * succeeds, and OpenCL's result must be that one by the rule above (counted).
 *
 * ATSS has no documented exception (docs/kernels.md "Bit-identical results": the
 * thresholds are summed in double in the reference's order). On a difference the
 * report names the anchor's IoU with each GT involved and that GT's threshold
 * (mean + std from the CPU's aa_topk_nearest and aa_candidate_iou_stats, which are
 * ATSS's candidates only without ignore regions), and whether the IoU lies within
 * ATSS_NEAR_THRESHOLD (1e-6) of it. With ATSS_ALLOW_NEAR_THRESHOLD set to 1 such a
 * difference (and only such a one) would be counted and accepted instead.
 *
 * Then, at the end of the input (older inputs read zeros there: all three, the CPU's
 * costs, an EM call without segments), a byte that leaves out any of:
 *   - aa_assign_paa_costs, both given the pre-assignment aa_paa_costs had and the same
 *     costs (the CPU's, all equal, few values, random; one special value or NULL):
 *     overlap bit for bit (tests/parity_paa.h);
 *   - aa_assign_paa: overlap (the cost) by LOSS_ULPS as aa_paa_costs'; where the CPU
 *     refuses a cost beyond float32 (host/api.c's check_costs) and OpenCL succeeds, the
 *     CPU's side is composed as the header says a GPU backend behaves: max-IoU,
 *     aa_paa_costs, aa_assign_paa_costs with the anchors of every GT that has a
 *     non-finite cost pre-assigned to nobody, their overlap the cost (counted);
 *   - for both: gt_index and labels identical, or (parity_paa.h's one exception: the EM
 *     runs with the device's exp/log, so a mixture within rounding of a decision can
 *     tip) each backend's whole result exactly the selection rule re-derived here
 *     (paa_rule_differs: tests/paa_rule.h, as paa_common.h's paa_check_rule) with that backend's own
 *     aa_gmm_fit, from its own pre-assignment and costs (counted, printed);
 *   - aa_gmm_fit on segments of its own (decode_gmm: 0..24 segments of 0..40 points,
 *     every aa_gmm_params field, given initial values, result arrays optional):
 *     tests/parity_gmm.h's rules: bit for bit (NaN as NaN) what no exp/log reaches
 *     (every output of a segment with too few points; weights, means and variances for
 *     K = 1 and max_iter 0; status, iterations and lower_bound for max_iter 0; labels
 *     for K = 1), every other difference counted and printed, never a failure.
 * The three are made on AA_MEMORY_NATIVE too (segments.points, device_offsets and
 * given initial values in cl_mem; the selection's costs; caller workspaces), where the
 * header promises host mode's behaviour (not with a non-finite cost pre-assigned: from
 * device memory its GT gets no positive instead).
 *
 * Under PoCL, .ci/fuzz runs it with its own sanitizer settings (and
 * tests/lsan_pocl.supp); docs/robustness.md says why. What it found:
 * regressions/parity/ (two PoCL miscompiles of kernel shapes: docs/kernels.md).
 *
 * Sizes: the harness's bounds (<= 2000 anchors, <= 64 GTs, <= 8 images, <= 8
 * classes). LADA's select kernel computes the loss of every anchor in a GT's region
 * once (topk_per_level <= AA_TOPK_LIST) or once per round, up to topk_per_level
 * rounds (8-14 us a loss with 8 classes on PoCL): a LADA call whose valid parameters
 * make that more than LADA_KERNEL_BUDGET (50,000) losses is not made (lada_work;
 * counted), which the bounds would allow up to about 1.3e8 (64 GTs, 2,000 anchors on
 * one level, topk_per_level 1,024).
 * PoCL's launches dominate (eleven calls on each of the three sides per input). Build:
 * tests/fuzz/CMakeLists.txt (only where OpenCL is found); run: .ci/fuzz parity.
 */
#include "harness.h"
#include "../paa_rule.h" /* PAA's selection re-derived */
#include "../../kernels/topk_list.h" /* AA_TOPK_LIST: LADA's one-pass top-k */

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATSS_NEAR_THRESHOLD 1e-6
#ifndef ATSS_ALLOW_NEAR_THRESHOLD
#define ATSS_ALLOW_NEAR_THRESHOLD 0
#endif
/* LADA's losses and PAA's costs: tests/parity_lada.h's LADA_LOSS_ULPS and
 * parity_paa.h's PAA_COST_ULPS */
#define LOSS_ULPS 4
/* the most losses LADA's select kernel may compute for one input (file comment) */
#define LADA_KERNEL_BUDGET 50000

const char *fuzz_target_name = "fuzz_parity";

/* ---------------------------------------------------------------- contexts */

static aa_context *cpu_ctx, *ocl_ctx;
static aa_context *nat_ctx;            /* OpenCL, AA_MEMORY_NATIVE: cl_mem arrays */
static cl_context nat_cl;              /* its cl_context and queue (the harness's buffers) */
static cl_command_queue nat_queue;
/* native outputs are poisoned with a third pattern */
#define POISON_C 0xA7

static int64_t elements_compared, calls_compared, atss_near_threshold_accepted;
static int64_t lada_losses_within, paa_costs_within; /* within LOSS_ULPS, not identical */
static int64_t lada_refused_calls, lada_refused_gts, lada_skipped, lada_compared, costs_compared;
/* AA_MEMORY_NATIVE against host mode: calls made, of them successful, their owned
 * output elements; caller workspaces of the queried size and one byte short; calls not
 * made natively for a defect only the host can see */
static int64_t native_calls, native_successes, native_elements, native_ws_exact, native_ws_short,
    native_not_made;
/* PAA's selection and the whole of PAA: calls compared (both successful), gt_index and
 * labels elements identical, calls (elements) where the EM tipped, each side exactly the
 * rule with its own EM; aa_assign_paa's overlap (the cost) within LOSS_ULPS; calls the
 * CPU refused for a cost beyond float32 (GTs), followed */
static int64_t paa_select_compared, paa_whole_compared, paa_select_elements, paa_em_tipped_calls,
    paa_em_tipped_elements, paa_overlap_within, paa_refused_calls, paa_refused_gts;
/* the EM: calls compared (both successful), values compared, doubles and integer
 * outcomes (status, iterations, labels) not identical where an exp/log reaches them */
static int64_t gmm_compared, gmm_values, gmm_values_differing, gmm_outcomes_differing;

/* At exit: what was compared (both backends successful). */
static void print_totals(void)
{
    fprintf(stderr,
            "fuzz_parity: %lld successful calls compared (%lld aa_assign_lada, %lld aa_paa_costs), %lld output "
            "elements identical, %lld LADA losses and %lld PAA costs within %d ulps; %lld LADA calls the CPU "
            "refused for a loss beyond float32 (%lld GTs), OpenCL as the CPU with those GTs crowd; %lld LADA "
            "calls skipped (over %d kernel losses)",
            (long long)calls_compared, (long long)lada_compared, (long long)costs_compared,
            (long long)(elements_compared - lada_losses_within - paa_costs_within - paa_overlap_within),
            (long long)lada_losses_within, (long long)paa_costs_within, LOSS_ULPS,
            (long long)lada_refused_calls, (long long)lada_refused_gts, (long long)lada_skipped,
            LADA_KERNEL_BUDGET);
    fprintf(stderr,
            "; AA_MEMORY_NATIVE: %lld calls compared with AA_MEMORY_HOST (%lld successful, %lld output "
            "elements identical; caller workspaces: %lld of the queried size, %lld one byte short), %lld "
            "calls on valid batches not made there (a value only the host checks)",
            (long long)native_calls, (long long)native_successes, (long long)native_elements,
            (long long)native_ws_exact, (long long)native_ws_short, (long long)native_not_made);
    fprintf(stderr,
            "; aa_assign_paa_costs: %lld calls compared, aa_assign_paa: %lld (%lld refused by the CPU for a cost "
            "beyond float32, %lld GTs, followed), %lld gt_index/labels elements identical, %lld calls (%lld "
            "anchors) where the EM tipped, each backend exactly the rule with its own aa_gmm_fit, %lld "
            "aa_assign_paa overlaps within %d ulps; aa_gmm_fit: %lld calls compared, %lld values, %lld doubles "
            "and %lld status/iterations/labels not identical where an exp/log reaches them (counted)",
            (long long)paa_select_compared, (long long)paa_whole_compared, (long long)paa_refused_calls,
            (long long)paa_refused_gts, (long long)paa_select_elements, (long long)paa_em_tipped_calls,
            (long long)paa_em_tipped_elements, (long long)paa_overlap_within, LOSS_ULPS, (long long)gmm_compared,
            (long long)gmm_values, (long long)gmm_values_differing, (long long)gmm_outcomes_differing);
    if (ATSS_ALLOW_NEAR_THRESHOLD)
        fprintf(stderr, ", %lld ATSS differences at the threshold accepted", (long long)atss_near_threshold_accepted);
    fputc('\n', stderr);
}

static void create_contexts(void)
{
    if (ocl_ctx) return;
    current_call = "aa_context_create(AA_BACKEND_OPENCL, AA_MEMORY_HOST)";
    cpu_ctx = cpu_context();
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_OPENCL;
    o.memory = AA_MEMORY_HOST;
    aa_status st = aa_context_create(&ocl_ctx, &o);
    if (st != AA_SUCCESS || !ocl_ctx)
        die("no OpenCL context (%s): %s. This target compares the OpenCL backend with the CPU "
            "reference and never passes without a device: install pocl-opencl-icd (.ci/deps.sh)",
            aa_status_string(st), aa_context_create_error());
    /* the same device with cl_mem arrays; the harness's buffers live in its cl_context
     * and are read and written on its own (in-order) queue */
    current_call = "aa_context_create(AA_BACKEND_OPENCL, AA_MEMORY_NATIVE)";
    o.memory = AA_MEMORY_NATIVE;
    st = aa_context_create(&nat_ctx, &o);
    if (st != AA_SUCCESS || !nat_ctx)
        die("no OpenCL context with AA_MEMORY_NATIVE (%s): %s", aa_status_string(st), aa_context_create_error());
    void *queue = NULL;
    st = aa_context_get_stream(nat_ctx, &queue);
    if (st != AA_SUCCESS || !queue) die("harness: aa_context_get_stream(native): %s", aa_context_last_error(nat_ctx));
    nat_queue = (cl_command_queue)queue;
    cl_int e = clGetCommandQueueInfo(nat_queue, CL_QUEUE_CONTEXT, sizeof nat_cl, &nat_cl, NULL);
    if (e != CL_SUCCESS) die("harness: clGetCommandQueueInfo(CL_QUEUE_CONTEXT): OpenCL error %d", (int)e);
    atexit(print_totals);
    if (verbose > 0) fprintf(stderr, "fuzz_parity: OpenCL device %s\n", aa_context_device_name(ocl_ctx));
}

/* Every call once on a small valid batch: PoCL compiles a kernel at its first launch
 * (seconds each on a cold cache, ~/.cache/pocl), which belongs outside the first
 * inputs' timeout. */
static void warm_up(void)
{
    static const float boxes[6][4] = {{0, 0, 16, 16}, {8, 8, 40, 24}, {16, 0, 32, 32},
                                      {4, 4, 20, 36}, {0, 0, 64, 64}, {24, 24, 28, 28}};
    static const float gt_boxes[3][4] = {{2, 2, 30, 30}, {10, 6, 40, 40}, {0, 0, 12, 12}};
    int64_t counts[2] = {4, 2}, offsets[3] = {0, 2, 3};
    float strides[2] = {8, 16};
    uint8_t crowd[3] = {0, 1, 0};
    int32_t labels[3] = {3, 1, 7};
    aa_anchors a = {&boxes[0][0], 6, 2, counts, strides};
    aa_gts g = {&gt_boxes[0][0], offsets, 2, crowd, labels, NULL};
    float ov[18];
    int32_t cand[3 * 2 * 2], gi[12], lb[12];
    float o[12];
    double mean[3], sd[3];
    aa_assignment out = {gi, o, lb};
    aa_max_iou_params mp;
    aa_atss_params ap;
    aa_fcos_params fp;
    aa_paa_params pp;
    aa_lada_params lp;
    aa_max_iou_params_init(&mp), aa_atss_params_init(&ap), aa_fcos_params_init(&fp);
    aa_paa_params_init(&pp), aa_lada_params_init(&lp);
    fp.num_regress_ranges = 2, fp.regress_lo[0] = -1, fp.regress_hi[0] = 64;
    fp.regress_lo[1] = 64, fp.regress_hi[1] = 1e8f;
    /* head outputs of 8 classes (labels up to 7) for the 2 x 6 rows; a pre-assignment
     * to GT 0 of each image (not crowd) */
    float logits[12 * 8], deltas[12 * 4];
    int32_t pre[12];
    for (int k = 0; k < 12 * 8; ++k) logits[k] = (float)(k % 7) - 3.0f;
    for (int k = 0; k < 12 * 4; ++k) deltas[k] = 0.1f * (float)(k % 5 - 2);
    for (int r = 0; r < 12; ++r) pre[r] = r % 3 == 0 ? 0 : AA_NEGATIVE;
    aa_head_outputs h = {logits, deltas, AA_FLOAT32, 8};
    for (int k = 0; k < 2; ++k) {
        mp.ignore_iof_thr = k ? 0.5f : -1.0f, ap.ignore_iof_thr = mp.ignore_iof_thr;
        ap.topk = 2, fp.center_sampling = k, lp.clip_region_to_gt = k;
        aa_status st = AA_SUCCESS;
        for (int mode = AA_IOU; mode <= AA_GIOU && st == AA_SUCCESS; ++mode)
            st = aa_overlaps(ocl_ctx, (aa_overlap_mode)mode, 1e-6f, &a, &g, ov);
        if (st == AA_SUCCESS) st = aa_topk_nearest(ocl_ctx, 2, &a, &g, cand);
        if (st == AA_SUCCESS) st = aa_candidate_iou_stats(ocl_ctx, 2, 1e-6f, &a, &g, cand, mean, sd);
        if (st == AA_SUCCESS) st = aa_assign_max_iou(ocl_ctx, &mp, &a, &g, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_assign_atss(ocl_ctx, &ap, &a, &g, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_assign_fcos(ocl_ctx, &fp, &a, &g, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_paa_costs(ocl_ctx, &pp, &a, &g, &h, pre, o);
        if (st == AA_SUCCESS) st = aa_assign_lada(ocl_ctx, &lp, &a, &g, &h, &out, NULL, 0);
        /* PAA's selection, the whole of PAA, the EM (a segment of 5 points, K 2) */
        float costs[12], points[5] = {0.5f, 0.6f, 2.0f, 2.5f, 0.55f};
        int64_t seg[2] = {0, 5};
        double w[2], mu[2];
        aa_gmm_segments sg = {points, seg, 1, NULL};
        aa_gmm_result r = {w, mu, NULL, NULL, NULL, NULL, NULL, NULL};
        if (st == AA_SUCCESS) st = aa_paa_costs(ocl_ctx, &pp, &a, &g, &h, pre, costs);
        if (st == AA_SUCCESS) st = aa_assign_paa_costs(ocl_ctx, &pp, &a, &g, pre, costs, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_assign_paa(ocl_ctx, &pp, &a, &g, &h, &out, NULL, 0);
        if (st == AA_SUCCESS) st = aa_gmm_fit(ocl_ctx, &pp.gmm, &sg, &r, NULL, 0);
        if (st != AA_SUCCESS) die("warm-up on OpenCL: %s", aa_context_last_error(ocl_ctx));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    create_contexts();
    current_call = "warm-up";
    warm_up();
    return 0;
}

/* ---------------------------------------------------------------- both backends */

enum { MAX_POUTS = 8 }; /* aa_gmm_fit's eight arrays */
/* How an output's owned elements compare: bit for bit; as mean / std (the same bits,
 * or NaN on both); as a loss (the same bits, or both finite and within LOSS_ULPS
 * float ulps, counted); not by run_both (the caller compares). */
typedef enum cmp { CMP_BITS, CMP_STATS, CMP_ULPS, CMP_NONE } cmp;
typedef enum etype { T_I32, T_F32, T_F64 } etype;

/* One output of a call, on both backends: `alloc` bytes each (NULL: the output is
 * not passed), of which `owned` are written on success; elements of `type`. */
typedef struct pout {
    const char *name;
    unsigned char *side[2]; /* 0: CPU, 1: OpenCL */
    size_t alloc, owned, elem;
    etype type;
    cmp how;
    int64_t per_image;   /* one element per (image, anchor): the anchors, for reports; 0: not */
    int64_t *within;     /* CMP_ULPS: where the elements within LOSS_ULPS are counted */
} pout;

typedef struct pouts {
    pout o[MAX_POUTS];
    int n;
} pouts;

static const unsigned char poison_of[2] = {POISON_A, POISON_B};
static const char *const side_name[2] = {"cpu", "opencl"};

static pout *pout_add(pouts *p, const char *name, int pass, size_t alloc, etype type, cmp how)
{
    pout *o = &p->o[p->n++];
    o->name = name, o->alloc = alloc, o->owned = 0, o->type = type, o->elem = type == T_F64 ? 8 : 4;
    o->how = how, o->per_image = 0, o->within = NULL;
    for (int s = 0; s < 2; ++s) o->side[s] = pass ? xmalloc(alloc) : NULL;
    return o;
}

static void pouts_free(pouts *p)
{
    for (int i = 0; i < p->n; ++i) free(p->o[i].side[0]), free(p->o[i].side[1]);
    p->n = 0;
}

/* A call on one side: bufs[i] is output i's buffer there (or NULL). */
typedef aa_status (*pcall)(aa_context *ctx, void *args, void *const *bufs);

/* A CPU failure the header documents as a success on a GPU backend (OpenCL
 * succeeded): returns 1 after changing `args` so that the CPU, run again, gives
 * what OpenCL must have given; 0 when the failure is not that one. */
typedef int (*cpu_excuse)(void *args, aa_status cpu, const char *cpu_msg);

static void check_untouched(const pout *o, int s, size_t from, const char *what)
{
    if (!o->side[s]) return;
    obuf b = {o->side[s], o->alloc, o->alloc};
    long long k = first_not(&b, from, o->alloc, poison_of[s]);
    CHECK(k < 0, "%s: %s wrote %s at byte %lld (%zu owned of %zu)", side_name[s], what, o->name, k,
          from, o->alloc);
}

/* Poisons side s's outputs and runs fn there. */
static aa_status run_side(pcall fn, void *args, pouts *p, int s)
{
    void *bufs[MAX_POUTS];
    for (int i = 0; i < p->n; ++i) {
        if (p->o[i].side[s]) memset(p->o[i].side[s], poison_of[s], p->o[i].alloc);
        bufs[i] = p->o[i].side[s];
    }
    return fn(s == 0 ? cpu_ctx : ocl_ctx, args, bufs);
}

/* Order-preserving integer of a float (-0 as +0): the distance in ulps. */
static int64_t float_order(float f)
{
    int32_t i;
    memcpy(&i, &f, 4);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}

/* Element e of output o on side s, for a report. */
static int describe_one(const pout *o, int s, size_t e, char *buf, size_t size)
{
    const unsigned char *at = o->side[s] + e * o->elem;
    if (o->type == T_F64) {
        double d;
        memcpy(&d, at, 8);
        return snprintf(buf, size, "%s %.17g (%a)", o->name, d, d);
    }
    uint32_t bits;
    memcpy(&bits, at, 4);
    if (o->type == T_I32) return snprintf(buf, size, "%s %d", o->name, (int)(int32_t)bits);
    float f;
    memcpy(&f, at, 4);
    return snprintf(buf, size, "%s %.9g (0x%08x)", o->name, (double)f, (unsigned)bits);
}

/* Dies on element e of output o: where it is (image and anchor, with every output
 * of that element on both sides) and both values. */
static void report_difference(const pouts *p, const pout *o, size_t e, const char *why)
{
    char side[2][320];
    for (int s = 0; s < 2; ++s) {
        size_t n = 0;
        side[s][0] = 0;
        for (int i = 0; i < p->n; ++i) {
            const pout *q = &p->o[i];
            int one = q == o || (o->per_image && q->per_image && q->how != CMP_NONE);
            if (!one || !q->side[s] || (e + 1) * q->elem > q->owned) continue;
            if (n > 0 && n + 2 < sizeof side[s]) side[s][n++] = ',', side[s][n++] = ' ', side[s][n] = 0;
            int w = describe_one(q, s, e, side[s] + n, sizeof side[s] - n);
            if (w < 0 || (size_t)w >= sizeof side[s] - n) break;
            n += (size_t)w;
        }
    }
    if (o->per_image)
        die("%s[%zu] %s (image %lld, anchor %lld): cpu (%s) opencl (%s)", o->name, e, why,
            (long long)(e / (size_t)o->per_image), (long long)(e % (size_t)o->per_image), side[0], side[1]);
    die("%s[%zu] %s: cpu (%s) opencl (%s)", o->name, e, why, side[0], side[1]);
}

/* Runs fn on both backends with poisoned outputs. Statuses must agree (but where
 * `excuse` explains the CPU's failure: the CPU runs again on what it changed); on
 * failure nothing may be written; on success nothing past the owned bytes (set by
 * the caller, for success) and the owned elements of every CMP_BITS, CMP_STATS and
 * CMP_ULPS output must agree. Returns the status. */
static aa_status run_both(const char *name, pcall fn, void *args, pouts *p, int batch_valid, cpu_excuse excuse)
{
    current_call = name;
    aa_status st[2];
    for (int s = 0; s < 2; ++s) st[s] = run_side(fn, args, p, s);
    while (st[0] != AA_SUCCESS && st[1] == AA_SUCCESS && excuse &&
           excuse(args, st[0], aa_context_last_error(cpu_ctx))) {
        check_message(aa_context_last_error(cpu_ctx));
        for (int i = 0; i < p->n; ++i) check_untouched(&p->o[i], 0, 0, "failed but");
        st[0] = run_side(fn, args, p, 0);
    }
    const char *msg[2] = {st[0] ? aa_context_last_error(cpu_ctx) : "",
                          st[1] ? aa_context_last_error(ocl_ctx) : ""};
    if (verbose > 0)
        fprintf(stderr, "%s: cpu %s%s%s, opencl %s%s%s\n", name, aa_status_string(st[0]),
                st[0] ? " -- " : "", msg[0], aa_status_string(st[1]), st[1] ? " -- " : "", msg[1]);
    CHECK(st[0] == st[1], "cpu %s (%s), opencl %s (%s)", aa_status_string(st[0]), msg[0],
          aa_status_string(st[1]), msg[1]);
    if (st[0] != AA_SUCCESS) {
        CHECK(BIT(st[0]) & documented, "undocumented status %d", (int)st[0]);
        check_message(msg[1]);
        for (int s = 0; s < 2; ++s)
            for (int i = 0; i < p->n; ++i) check_untouched(&p->o[i], s, 0, "failed but");
        return st[0];
    }
    CHECK(batch_valid, "both backends accepted a batch the oracle calls invalid");
    for (int i = 0; i < p->n; ++i) {
        const pout *o = &p->o[i];
        if (!o->side[0]) continue;
        if (o->owned > o->alloc) die("harness: %zu bytes owned of %zu", o->owned, o->alloc);
        for (int s = 0; s < 2; ++s) check_untouched(o, s, o->owned, "wrote past the owned bytes:");
        if (o->how == CMP_NONE) continue;
        for (size_t k = 0; k < o->owned; k += o->elem) {
            const unsigned char *a = o->side[0] + k, *b = o->side[1] + k;
            if (memcmp(a, b, o->elem) == 0) continue;
            if (o->how == CMP_STATS) {
                double x, y;
                memcpy(&x, a, 8), memcpy(&y, b, 8);
                if (isnan(x) && isnan(y)) continue;
            }
            if (o->how == CMP_ULPS) {
                float x, y;
                memcpy(&x, a, 4), memcpy(&y, b, 4);
                int64_t d = float_order(x) - float_order(y);
                d = d < 0 ? -d : d;
                if (!isfinite(x) || !isfinite(y)) report_difference(p, o, k / 4, "not finite on one side");
                if (d > LOSS_ULPS) report_difference(p, o, k / 4, "more than LOSS_ULPS apart");
                ++*o->within;
                fprintf(stderr, "fuzz_parity: %s: %s[%zu]: cpu %.9g opencl %.9g, %lld ulp(s) apart (device exp/log/pow)\n",
                        name, o->name, k / 4, (double)x, (double)y, (long long)d);
                continue;
            }
            report_difference(p, o, k / o->elem, "differs");
        }
        elements_compared += (int64_t)(o->owned / o->elem);
    }
    ++calls_compared;
    return st[0];
}

/* ---------------------------------------------------------------- calls */

typedef struct args {
    const aa_anchors *a;
    const aa_gts *g;
    aa_overlap_mode mode;
    float eps;
    int32_t topk;
    const int32_t *candidates; /* the CPU's, possibly corrupted: the same for both */
    const aa_max_iou_params *max_iou;
    const aa_atss_params *atss;
    const aa_fcos_params *fcos;
    int out_null, gt_index_null; /* assignment: out NULL, out.gt_index NULL */
    const aa_head_outputs *head;
    const aa_paa_params *paa;
    const int32_t *pre;          /* the CPU's max-IoU with paa's pre, possibly corrupted */
    const aa_lada_params *lada;
    aa_gts crowd_g;              /* LADA: the CPU's GTs with those it refused crowd */
    uint8_t *crowd;
    void *ws;                    /* the assigners' workspace: NULL but on the native side */
    size_t ws_bytes;
    const float *costs;          /* aa_assign_paa_costs: the same for both */
    int paa_spoil;               /* aa_assign_paa on the CPU: composed (paa_overflow) */
    const aa_gmm_params *gmm;    /* aa_gmm_fit */
    const aa_gmm_segments *sg;
    int gmm_result_null;
} args;

static aa_status call_overlaps(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_overlaps(c, x->mode, x->eps, x->a, x->g, o[0]);
}
static aa_status call_topk(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_topk_nearest(c, x->topk, x->a, x->g, o[0]);
}
static aa_status call_stats(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_candidate_iou_stats(c, x->topk, x->eps, x->a, x->g, x->candidates, o[0], o[1]);
}
static aa_status call_assign(aa_context *c, void *v, void *const *o, int which)
{
    args *x = v;
    aa_assignment out = {x->gt_index_null ? NULL : o[0], o[1], o[2]};
    const aa_assignment *op = x->out_null ? NULL : &out;
    switch (which) {
    case 0: return aa_assign_max_iou(c, x->max_iou, x->a, x->g, op, x->ws, x->ws_bytes);
    case 1: return aa_assign_atss(c, x->atss, x->a, x->g, op, x->ws, x->ws_bytes);
    default: return aa_assign_fcos(c, x->fcos, x->a, x->g, op, x->ws, x->ws_bytes);
    }
}
static aa_status call_max_iou(aa_context *c, void *v, void *const *o) { return call_assign(c, v, o, 0); }
static aa_status call_atss(aa_context *c, void *v, void *const *o) { return call_assign(c, v, o, 1); }
static aa_status call_fcos(aa_context *c, void *v, void *const *o) { return call_assign(c, v, o, 2); }
static aa_status call_paa_costs(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    return aa_paa_costs(c, x->paa, x->a, x->g, x->head, x->pre, o[0]);
}
static aa_status call_lada(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    aa_assignment out = {x->gt_index_null ? NULL : o[0], o[1], o[2]};
    return aa_assign_lada(c, x->lada, x->a, x->g, x->head, x->out_null ? NULL : &out, x->ws, x->ws_bytes);
}

static aa_status paa_composed(args *x, const aa_assignment *out);
static aa_status call_paa_select(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    aa_assignment out = {x->gt_index_null ? NULL : o[0], o[1], o[2]};
    return aa_assign_paa_costs(c, x->paa, x->a, x->g, x->pre, x->costs, x->out_null ? NULL : &out, x->ws,
                               x->ws_bytes);
}
static aa_status call_paa(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    aa_assignment out = {x->gt_index_null ? NULL : o[0], o[1], o[2]};
    if (c == cpu_ctx && x->paa_spoil) return paa_composed(x, &out); /* see paa_overflow */
    return aa_assign_paa(c, x->paa, x->a, x->g, x->head, x->out_null ? NULL : &out, x->ws, x->ws_bytes);
}
static aa_status call_gmm(aa_context *c, void *v, void *const *o)
{
    args *x = v;
    aa_gmm_result r = {o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]};
    return aa_gmm_fit(c, x->gmm, x->sg, x->gmm_result_null ? NULL : &r, x->ws, x->ws_bytes);
}

/* The workspace queries of the assigners that take a workspace. */
typedef aa_status (*wsquery)(aa_context *c, const args *x, size_t *bytes);
static aa_status ws_max_iou(aa_context *c, const args *x, size_t *n) { return aa_max_iou_workspace_size(c, x->max_iou, x->a, x->g, n); }
static aa_status ws_atss(aa_context *c, const args *x, size_t *n) { return aa_atss_workspace_size(c, x->atss, x->a, x->g, n); }
static aa_status ws_fcos(aa_context *c, const args *x, size_t *n) { return aa_fcos_workspace_size(c, x->fcos, x->a, x->g, n); }
static aa_status ws_lada(aa_context *c, const args *x, size_t *n) { return aa_lada_workspace_size(c, x->lada, x->a, x->g, n); }
static aa_status ws_paa_select(aa_context *c, const args *x, size_t *n) { return aa_paa_select_workspace_size(c, x->paa, x->a, x->g, n); }
static aa_status ws_paa(aa_context *c, const args *x, size_t *n) { return aa_paa_workspace_size(c, x->paa, x->a, x->g, n); }
static aa_status ws_gmm(aa_context *c, const args *x, size_t *n) { return aa_gmm_workspace_size(c, x->gmm, x->sg, n); }

/* ---------------------------------------------------------------- AA_MEMORY_NATIVE
 *
 * The same call on nat_ctx: every input array uploaded into a cl_mem of its own, every
 * output a poisoned (POISON_C) cl_mem of the host side's size, read back after the
 * call. Against the host-mode OpenCL call (run_both compared that with the CPU): the
 * same status; on failure every output buffer still poisoned; on success the owned
 * bytes bit-identical and the rest still poisoned. */

static uint64_t native_hash;   /* of the whole input: the native side's choices */
static unsigned native_call;   /* calls made natively in this input */

static cl_mem dev_buffer(const void *init, size_t bytes, const char *what)
{
    cl_int e = CL_SUCCESS;
    size_t n = bytes ? bytes : 16; /* a zero-size buffer is an error in OpenCL */
    cl_mem m = clCreateBuffer(nat_cl, CL_MEM_READ_WRITE | (init && bytes ? CL_MEM_COPY_HOST_PTR : 0), n,
                              init && bytes ? (void *)init : NULL, &e);
    if (e != CL_SUCCESS || !m) die("harness: clCreateBuffer(%zu bytes, %s): OpenCL error %d", n, what, (int)e);
    return m;
}

static void dev_release(cl_mem m, const char *what)
{
    cl_int e = clReleaseMemObject(m);
    if (e != CL_SUCCESS) die("harness: clReleaseMemObject(%s): OpenCL error %d", what, (int)e);
}

static void dev_read(cl_mem m, void *host, size_t bytes, const char *what)
{
    cl_int e = clEnqueueReadBuffer(nat_queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (e != CL_SUCCESS) die("harness: clEnqueueReadBuffer(%zu bytes, %s): OpenCL error %d", bytes, what, (int)e);
}

/* The native side's input buffers (released after the call). */
enum { MAX_DEV_INPUTS = 12 };
typedef struct dev_inputs {
    cl_mem m[MAX_DEV_INPUTS];
    int n;
} dev_inputs;

/* host's `bytes` as a cl_mem cast to the pointer type (NULL stays NULL). */
static const void *dev_input(dev_inputs *d, const void *host, size_t bytes, const char *what)
{
    if (!host) return NULL;
    if (d->n == MAX_DEV_INPUTS) die("harness: more than %d native inputs", MAX_DEV_INPUTS);
    cl_mem m = dev_buffer(host, bytes, what);
    d->m[d->n++] = m;
    return (const void *)(uintptr_t)m;
}

static int head_well_formed(const aa_head_outputs *h)
{
    return h->dtype >= AA_FLOAT32 && h->dtype <= AA_BFLOAT16 && h->num_classes >= 1 && h->cls_logits &&
           h->bbox_deltas;
}

/* What the host checks in AA_MEMORY_HOST but cannot in device memory (the header:
 * boxes and labels, candidates, pre-assignment entries, head values and labels against
 * num_classes), where native calls may legitimately differ: the defect present, or
 * NULL when there is none (the batch valid by the oracle). */
static const char *host_only_defect(const args *x, int batch_valid)
{
    if (!batch_valid) return "the batch";
    if (x->sg) return NULL; /* the EM: its oracle already refuses what only the host checks */
    const aa_anchors *a = x->a;
    const aa_gts *g = x->g;
    int64_t total = g->offsets[g->num_images], rows = (int64_t)g->num_images * a->num_anchors;
    if (x->candidates && x->topk >= 1 && x->topk <= AA_MAX_TOPK)
        for (int64_t j = 0; j < total * a->num_levels * x->topk; ++j)
            if (x->candidates[j] < -1 || x->candidates[j] >= a->num_anchors) return "candidates";
    if (x->pre)
        for (int32_t i = 0; i < g->num_images; ++i)
            for (int64_t j = 0; j < a->num_anchors; ++j) {
                int32_t v = x->pre[(int64_t)i * a->num_anchors + j];
                if (v < AA_IGNORED || v >= g->offsets[i + 1] - g->offsets[i] ||
                    (v >= 0 && g->ignore_flags && g->ignore_flags[g->offsets[i] + v]))
                    return "pre-assignment";
            }
    if (x->pre && x->costs) /* aa_assign_paa_costs: device costs are not checked (a GT without positives) */
        for (int64_t r = 0; r < rows; ++r)
            if (x->pre[r] >= 0 && !isfinite(x->costs[r])) return "costs";
    const aa_head_outputs *h = x->head;
    if (h && head_well_formed(h)) {
        for (int64_t k = 0; g->labels && k < total; ++k)
            if (g->labels[k] >= h->num_classes) return "label >= num_classes";
        for (int64_t r = 0; r < rows; ++r) {
            if (x->pre && x->pre[r] < 0) continue; /* rows the call reads (aa_paa_costs) */
            for (int32_t c = 0; c < h->num_classes; ++c)
                if (!isfinite(head_value(h->dtype, h->cls_logits, r * h->num_classes + c))) return "head values";
            for (int c = 0; c < 4; ++c)
                if (!isfinite(head_value(h->dtype, h->bbox_deltas, r * 4 + c))) return "head values";
        }
    }
    return NULL;
}

/* Element e of a native output (`at`: its bytes) for a report. */
static void describe_bytes(const pout *o, const unsigned char *at, char *buf, size_t size)
{
    pout one = *o;
    one.side[0] = (unsigned char *)at;
    describe_one(&one, 0, 0, buf, size);
}

/* The call fn made on nat_ctx with `x`'s arrays in cl_mem buffers, `p`'s outputs as
 * poisoned cl_mem buffers, and, where `query` is given (the assigners), a caller
 * workspace by the input's hash: the context's own, a cl_mem of exactly the queried
 * size, or one byte short (AA_ERR_WORKSPACE_TOO_SMALL where host mode succeeded). */
static void run_native(const char *name, pcall fn, const args *x, const pouts *p, aa_status host_st,
                       int batch_valid, wsquery query)
{
    if (!batch_valid) return; /* host mode's statuses there may differ (the boxes, the labels) */
    const char *defect = host_only_defect(x, batch_valid);
    if (defect) {
        ++native_not_made;
        if (verbose > 0) fprintf(stderr, "%s: not made on AA_MEMORY_NATIVE (%s)\n", name, defect);
        return;
    }
    static char call_name[96];
    snprintf(call_name, sizeof call_name, "%s (AA_MEMORY_NATIVE)", name);
    current_call = call_name;
    unsigned choice = (unsigned)(native_hash >> (2 * (native_call++ % 32))) & 3;

    /* inputs */
    dev_inputs d = {{0}, 0};
    args nx = *x;
    aa_gmm_segments nsg;
    aa_gmm_params ngp;
    aa_anchors na; /* (each used by the pointers in nx until the call is made) */
    aa_gts ng;
    aa_head_outputs nh;
    if (x->sg) { /* the EM: points, offsets and given initial parameters */
        const aa_gmm_segments *sg = x->sg;
        int64_t S = sg->num_segments, total = sg->offsets[S];
        nsg = *sg;
        nsg.points = dev_input(&d, sg->points, (size_t)total * 4, "segments.points");
        nsg.device_offsets = dev_input(&d, sg->offsets, (size_t)(S + 1) * 8, "segments.device_offsets");
        nx.sg = &nsg;
        if (x->gmm) {
            aa_gmm_params e;
            EFFECTIVE(aa_gmm_params, aa_gmm_params_init, x->gmm, e);
            size_t per_k = (size_t)S * (size_t)e.num_components * 8; /* K valid: the call is */
            ngp = *x->gmm;
            ngp.init_weights = dev_input(&d, x->gmm->init_weights, per_k, "params.init_weights");
            ngp.init_means = dev_input(&d, x->gmm->init_means, per_k, "params.init_means");
            ngp.init_precisions = dev_input(&d, x->gmm->init_precisions, per_k, "params.init_precisions");
            nx.gmm = &ngp;
        }
    } else {
        const aa_anchors *a = x->a;
        const aa_gts *g = x->g;
        int64_t total = g->offsets[g->num_images], rows = (int64_t)g->num_images * a->num_anchors;
        na = *a, ng = *g;
        na.boxes = dev_input(&d, a->boxes, (size_t)a->num_anchors * 16, "anchors.boxes");
        ng.boxes = dev_input(&d, g->boxes, (size_t)total * 16, "gts.boxes");
        ng.ignore_flags = dev_input(&d, g->ignore_flags, (size_t)total, "gts.ignore_flags");
        ng.labels = dev_input(&d, g->labels, (size_t)total * 4, "gts.labels");
        ng.device_offsets = dev_input(&d, g->offsets, (size_t)(g->num_images + 1) * 8, "gts.device_offsets");
        nx.a = &na, nx.g = &ng;
        if (x->candidates) {
            int ok = x->topk >= 1 && x->topk <= AA_MAX_TOPK; /* else refused before any read */
            nx.candidates = dev_input(&d, x->candidates, ok ? (size_t)(total * a->num_levels * x->topk) * 4 : 0,
                                      "candidates");
        }
        if (x->head) {
            nh = *x->head;
            int ok = head_well_formed(&nh); /* else refused before any read */
            size_t elem = nh.dtype == AA_FLOAT32 ? 4 : 2;
            nh.cls_logits = dev_input(&d, nh.cls_logits, ok ? (size_t)rows * (size_t)nh.num_classes * elem : 0,
                                      "head.cls_logits");
            nh.bbox_deltas = dev_input(&d, nh.bbox_deltas, ok ? (size_t)rows * 4 * elem : 0, "head.bbox_deltas");
            nx.head = &nh;
        }
        if (x->pre) nx.pre = dev_input(&d, x->pre, (size_t)rows * 4, "pre_gt_index");
        if (x->costs) nx.costs = dev_input(&d, x->costs, (size_t)rows * 4, "costs");
    }

    /* outputs: poisoned buffers of the host side's size */
    cl_mem out[MAX_POUTS] = {0};
    unsigned char *got[MAX_POUTS] = {0};
    void *bufs[MAX_POUTS] = {0};
    for (int i = 0; i < p->n; ++i) {
        if (!p->o[i].side[1]) continue;
        size_t n = p->o[i].alloc ? p->o[i].alloc : 16;
        got[i] = xmalloc(n);
        memset(got[i], POISON_C, n);
        out[i] = dev_buffer(got[i], n, p->o[i].name);
        bufs[i] = (void *)(uintptr_t)out[i];
    }

    /* the workspace */
    aa_status expected = host_st;
    cl_mem ws = NULL;
    const char *ws_what = "the context's";
    if (query && choice != 0) {
        size_t bytes = 0;
        if (query(nat_ctx, &nx, &bytes) == AA_SUCCESS) {
            int short_one = choice == 2 && bytes > 0;
            ws = dev_buffer(NULL, bytes, "the caller's workspace");
            nx.ws = (void *)(uintptr_t)ws;
            nx.ws_bytes = bytes - (size_t)short_one;
            if (short_one && host_st == AA_SUCCESS) expected = AA_ERR_WORKSPACE_TOO_SMALL;
            ws_what = short_one ? "the caller's, one byte short" : "the caller's, of the queried size";
            ++*(short_one ? &native_ws_short : &native_ws_exact);
        }
    }

    aa_status st = fn(nat_ctx, &nx, bufs);
    const char *msg = st ? aa_context_last_error(nat_ctx) : "";
    if (verbose > 0)
        fprintf(stderr, "%s: %s%s%s (workspace: %s)\n", call_name, aa_status_string(st), st ? " -- " : "", msg,
                ws_what);
    for (int i = 0; i < p->n; ++i)
        if (out[i]) dev_read(out[i], got[i], p->o[i].alloc ? p->o[i].alloc : 16, p->o[i].name);
    CHECK(st == expected, "AA_MEMORY_NATIVE %s (%s), expected %s (AA_MEMORY_HOST: %s%s%s)", aa_status_string(st),
          msg, aa_status_string(expected), aa_status_string(host_st), host_st ? ", " : "",
          host_st ? aa_context_last_error(ocl_ctx) : "");
    if (st != AA_SUCCESS) check_message(msg);
    for (int i = 0; i < p->n; ++i) {
        const pout *o = &p->o[i];
        if (!out[i]) continue;
        size_t n = o->alloc ? o->alloc : 16, from = st == AA_SUCCESS ? o->owned : 0;
        obuf b = {got[i], n, n};
        long long k = first_not(&b, from, n, POISON_C);
        CHECK(k < 0, "AA_MEMORY_NATIVE: %s %s %s at byte %lld (%zu owned of %zu)",
              st == AA_SUCCESS ? "wrote past the owned bytes of" : "failed but wrote", o->name,
              aa_status_string(st), k, from, n);
        if (st != AA_SUCCESS) continue;
        for (size_t e = 0; e < o->owned / o->elem; ++e) {
            if (memcmp(got[i] + e * o->elem, o->side[1] + e * o->elem, o->elem) == 0) continue;
            char v[2][96];
            describe_bytes(o, got[i] + e * o->elem, v[0], sizeof v[0]);
            describe_bytes(o, o->side[1] + e * o->elem, v[1], sizeof v[1]);
            if (o->per_image)
                die("%s[%zu] (image %lld, anchor %lld) differs: AA_MEMORY_NATIVE %s, AA_MEMORY_HOST %s", o->name, e,
                    (long long)(e / (size_t)o->per_image), (long long)(e % (size_t)o->per_image), v[0], v[1]);
            die("%s[%zu] differs: AA_MEMORY_NATIVE %s, AA_MEMORY_HOST %s", o->name, e, v[0], v[1]);
        }
        native_elements += (int64_t)(o->owned / o->elem);
    }
    ++native_calls;
    native_successes += st == AA_SUCCESS;

    for (int i = 0; i < p->n; ++i)
        if (out[i]) dev_release(out[i], p->o[i].name), free(got[i]);
    if (ws) dev_release(ws, "the caller's workspace");
    for (int i = 0; i < d.n; ++i) dev_release(d.m[i], "a native input");
    current_call = name;
}

/* run_both, then the same call on AA_MEMORY_NATIVE with the arguments OpenCL was
 * given (`excuse` may change them for the CPU's second run). */
static aa_status run_all(const char *name, pcall fn, args *x, pouts *p, int batch_valid, cpu_excuse excuse,
                         wsquery query)
{
    args seen = *x;
    aa_status st = run_both(name, fn, x, p, batch_valid, excuse);
    run_native(name, fn, &seen, p, st, batch_valid, query);
    return st;
}

/* ---------------------------------------------------------------- LADA */

/* The CPU refused aa_assign_lada for a loss beyond float32, where a GPU backend gives
 * that GT no positive and the other GTs their usual result (anchorassign.h): the GT
 * the CPU's message names becomes crowd (no candidate, no positive) in the CPU's
 * copy of the GTs, and the CPU runs again. */
static int lada_overflow(void *v, aa_status st, const char *msg)
{
    args *x = v;
    const char *at = strstr(msg, "head: the loss of anchor ");
    if (st != AA_ERR_INVALID_ARGUMENT || !at || !strstr(msg, "beyond float32")) return 0;
    long long anchor;
    int gt, image;
    if (sscanf(at, "head: the loss of anchor %lld for GT %d of image %d", &anchor, &gt, &image) != 3)
        die("harness: cannot read the CPU's overflow message: %s", msg);
    const aa_gts *g = x->g;
    CHECK(image >= 0 && image < g->num_images && gt >= 0 && gt < g->offsets[image + 1] - g->offsets[image] &&
              anchor >= 0 && anchor < x->a->num_anchors,
          "the CPU's overflow names anchor %lld, GT %d of image %d: not in the batch", anchor, gt, image);
    if (!x->crowd) {
        int64_t total = g->offsets[g->num_images];
        x->crowd = xmalloc((size_t)total);
        if (g->ignore_flags) memcpy(x->crowd, g->ignore_flags, (size_t)total);
        else memset(x->crowd, 0, (size_t)total);
        x->crowd_g = *g;
        x->crowd_g.ignore_flags = x->crowd;
        x->g = &x->crowd_g;
        ++lada_refused_calls;
    }
    int64_t k = g->offsets[image] + gt;
    CHECK(!x->crowd[k], "the CPU refused for GT %d of image %d (anchor %lld), which is crowd", gt, image, anchor);
    x->crowd[k] = 1;
    ++lada_refused_gts;
    if (verbose > 0)
        fprintf(stderr, "aa_assign_lada: the CPU's loss of anchor %lld for GT %d of image %d overflows: "
                "that GT crowd on the CPU\n", anchor, gt, image);
    return 1;
}

/* The losses LADA's select kernel computes (kernels/lada.h): per GT (not crowd, of
 * positive area) and level, each of min(topk_per_level, n + 1) rounds computes the
 * loss of all n anchors in the region again (the region as lada_ref.c's region(), in
 * double, the anchor's float32 centre strictly inside). Only for valid parameters
 * (0: the call fails before any kernel). */
static double lada_work(const aa_lada_params *given, const aa_anchors *a, const aa_gts *g)
{
    aa_lada_params p;
    if (oracle_lada_params(given, &p)) return 0;
    double work = 0;
    for (int32_t i = 0; i < g->num_images; ++i)
        for (int64_t k = g->offsets[i]; k < g->offsets[i + 1]; ++k) {
            const float *gt = g->boxes + 4 * k;
            if ((g->ignore_flags && g->ignore_flags[k]) || !(gt[2] > gt[0] && gt[3] > gt[1])) continue;
            double w = (double)gt[2] - gt[0], h = (double)gt[3] - gt[1];
            double gx = (double)((gt[0] + gt[2]) / 2.0f), gy = (double)((gt[1] + gt[3]) / 2.0f);
            int64_t j = 0;
            for (int32_t l = 0; l < a->num_levels; ++l) {
                double hw = (double)p.region_radius * a->level_strides[l] * sqrt(w / h);
                double hh = (double)p.region_radius * a->level_strides[l] * sqrt(h / w);
                double r[4] = {gx - hw, gy - hh, gx + hw, gy + hh};
                if (p.clip_region_to_gt) {
                    r[0] = fmax(r[0], (double)gt[0]), r[1] = fmax(r[1], (double)gt[1]);
                    r[2] = fmin(r[2], (double)gt[2]), r[3] = fmin(r[3], (double)gt[3]);
                }
                double n = 0;
                for (int64_t end = j + a->level_counts[l]; j < end; ++j) {
                    const float *box = a->boxes + 4 * j;
                    double ax = (double)((box[0] + box[2]) / 2.0f), ay = (double)((box[1] + box[3]) / 2.0f);
                    n += ax > r[0] && ax < r[2] && ay > r[1] && ay < r[3];
                }
                /* one pass up to AA_TOPK_LIST, else up to topk_per_level rounds */
                double rounds = p.topk_per_level <= AA_TOPK_LIST ? 1
                                : p.topk_per_level < n + 1    ? p.topk_per_level
                                                              : n + 1;
                work += rounds * n;
            }
        }
    return work;
}

/* ---------------------------------------------------------------- PAA's selection */

static int32_t i32_at(const unsigned char *b, int64_t e)
{
    int32_t v;
    memcpy(&v, b + 4 * e, 4);
    return v;
}

/* PAA's selection (anchorassign.h, steps 3-4) re-derived on ctx from `pre` and `costs`
 * with that context's own aa_gmm_fit (tests/paa_rule.h, which tests/paa_common.h's
 * paa_check_rule asserts with), a GT with a non-finite cost among its pre-assigned
 * anchors getting no positive (the GPU backends' rule; the CPU refuses such costs).
 * Returns NULL when the outputs (gt_index; overlap and labels where passed) are
 * exactly that, else what differs first. */
static const char *paa_rule_differs(aa_context *ctx, const aa_paa_params *p, const aa_anchors *a,
                                    const aa_gts *g, const int32_t *pre, const float *costs,
                                    const unsigned char *gi, const unsigned char *ov, const unsigned char *lb)
{
    static char why[256];
    int64_t A = a->num_anchors;
    paa_rule_scratch s;
    int32_t *expect = xmalloc((size_t)(A > 0 ? A : 1) * sizeof *expect);
    if (!paa_rule_scratch_alloc(&s, A)) die("harness: out of memory (the PAA rule)");
    const char *result = NULL;
    for (int32_t i = 0; i < g->num_images && !result; ++i) {
        const int32_t *pi = pre + (int64_t)i * A;
        const float *ci = costs + (int64_t)i * A;
        if (paa_rule_image(ctx, p, a, g, i, pi, ci, 1, &s, expect) != AA_SUCCESS)
            die("harness: the rule's aa_gmm_fit: %s", aa_context_last_error(ctx));
        for (int64_t k = 0; k < A && !result; ++k) {
            int64_t e = (int64_t)i * A + k;
            float want_ov = pi[k] >= 0 ? ci[k] : INFINITY, got_ov;
            int32_t want_lb = expect[k] >= 0 && lb ? g->labels[g->offsets[i] + expect[k]] : -1;
            if (ov) memcpy(&got_ov, ov + 4 * e, 4);
            if (i32_at(gi, e) != expect[k] || (ov && memcmp(&got_ov, &want_ov, 4) != 0) ||
                (lb && i32_at(lb, e) != want_lb)) {
                snprintf(why, sizeof why, "image %d anchor %lld: gt_index %d, overlap %.9g, label %d; the rule: %d, %.9g, %d",
                         (int)i, (long long)k, (int)i32_at(gi, e), ov ? (double)got_ov : 0.0, lb ? (int)i32_at(lb, e) : 0,
                         (int)expect[k], (double)want_ov, (int)want_lb);
                result = why;
            }
        }
    }
    paa_rule_scratch_free(&s);
    free(expect);
    return result;
}

/* Each backend's own pre-assignment (max-IoU with PAA's pre) and costs
 * (aa_paa_costs), what its aa_assign_paa selected from. */
static void paa_own_costs(aa_context *ctx, const args *x, const aa_paa_params *e, int32_t **pre, float **costs)
{
    size_t rows = (size_t)x->g->num_images * (size_t)x->a->num_anchors;
    *pre = xmalloc((rows + 1) * 4), *costs = xmalloc((rows + 1) * 4);
    aa_assignment po = {*pre, NULL, NULL};
    if (aa_assign_max_iou(ctx, &e->pre, x->a, x->g, &po, NULL, 0) != AA_SUCCESS ||
        aa_paa_costs(ctx, x->paa, x->a, x->g, x->head, *pre, *costs) != AA_SUCCESS)
        die("harness: %s's pre-assignment and costs for the rule: %s", ctx == cpu_ctx ? "the CPU" : "OpenCL",
            aa_context_last_error(ctx));
}

/* PAA's outputs after both backends succeeded (overlap: run_both, by its rule):
 * gt_index and labels identical, or, as tests/parity_paa.h accepts, each backend's
 * whole result exactly the rule (paa_rule_differs) with its own EM: a mixture within
 * rounding of a decision tips with the device's exp/log (counted, printed). `whole`:
 * aa_assign_paa, each side selecting from its own costs. */
static void compare_paa(const pouts *p, const args *x, const char *name, int whole, int64_t dA, int32_t dI)
{
    const pout *gi = &p->o[0], *ov = &p->o[1], *lb = &p->o[2];
    int64_t n = (int64_t)dI * dA, differ = 0, first = -1;
    for (int64_t e = 0; e < n; ++e) {
        int same = i32_at(gi->side[0], e) == i32_at(gi->side[1], e) &&
                   (!lb->side[0] || i32_at(lb->side[0], e) == i32_at(lb->side[1], e));
        if (!same && first < 0) first = e;
        differ += !same;
    }
    paa_select_elements += n * (lb->side[0] ? 2 : 1);
    if (!differ) return;
    aa_paa_params e;
    EFFECTIVE(aa_paa_params, aa_paa_params_init, x->paa, e);
    for (int s = 0; s < 2; ++s) {
        aa_context *ctx = s ? ocl_ctx : cpu_ctx;
        int32_t *pre = (int32_t *)x->pre;
        float *costs = (float *)x->costs;
        if (whole) paa_own_costs(ctx, x, &e, &pre, &costs);
        const char *why = paa_rule_differs(ctx, &e, x->a, x->g, pre, costs, gi->side[s], ov->side[s], lb->side[s]);
        if (whole) free(pre), free(costs);
        if (why)
            die("%s: gt_index/labels differ at %lld elements (first: image %lld anchor %lld: cpu gt %d, opencl gt %d), "
                "and %s's result is not the selection rule with its own aa_gmm_fit: %s",
                name, (long long)differ, (long long)(first / dA), (long long)(first % dA),
                (int)i32_at(gi->side[0], first), (int)i32_at(gi->side[1], first), side_name[s], why);
    }
    ++paa_em_tipped_calls, paa_em_tipped_elements += differ;
    paa_select_elements -= differ * (lb->side[0] ? 2 : 1);
    fprintf(stderr, "fuzz_parity: %s: %lld anchors assigned differently (first: image %lld anchor %lld), each "
            "backend exactly the rule with its own EM (a mixture within rounding of a decision: device exp/log)\n",
            name, (long long)differ, (long long)(first / dA), (long long)(first % dA));
}

/* The CPU refused aa_assign_paa for a cost beyond float32 (check_costs' message),
 * where a GPU backend gives that cost's GT no positive (anchorassign.h,
 * docs/semantics.md): the CPU's side is then composed (paa_composed). */
static int paa_overflow(void *v, aa_status st, const char *msg)
{
    args *x = v;
    if (x->paa_spoil || st != AA_ERR_INVALID_ARGUMENT || !strstr(msg, "costs[") || !strstr(msg, "is not finite"))
        return 0;
    x->paa_spoil = 1;
    ++paa_refused_calls;
    if (verbose > 0) fprintf(stderr, "aa_assign_paa: the CPU refused a cost (%s): composed on the CPU\n", msg);
    return 1;
}

/* What a GPU backend's aa_assign_paa gives where a cost overflows, from the CPU's
 * steps: max-IoU with PAA's pre, aa_paa_costs, then aa_assign_paa_costs with the
 * anchors of every GT that has a non-finite cost pre-assigned to nobody; those
 * anchors negative, their overlap the cost. */
static aa_status paa_composed(args *x, const aa_assignment *out)
{
    aa_paa_params e;
    EFFECTIVE(aa_paa_params, aa_paa_params_init, x->paa, e);
    int32_t *pre;
    float *costs;
    paa_own_costs(cpu_ctx, x, &e, &pre, &costs);
    const aa_gts *g = x->g;
    int64_t A = x->a->num_anchors, total = g->offsets[g->num_images];
    unsigned char *spoilt = calloc((size_t)total + 1, 1);
    int32_t *clean = xmalloc(((size_t)g->num_images * (size_t)A + 1) * 4);
    for (int32_t i = 0; i < g->num_images; ++i)
        for (int64_t k = 0; k < A; ++k) {
            int64_t r = (int64_t)i * A + k;
            if (pre[r] >= 0 && !isfinite(costs[r])) spoilt[g->offsets[i] + pre[r]] = 1;
        }
    int64_t n_spoilt = 0;
    for (int64_t k = 0; k < total; ++k) n_spoilt += spoilt[k];
    CHECK(n_spoilt > 0, "the CPU refused a cost, but its aa_paa_costs gives none that is not finite");
    paa_refused_gts += n_spoilt;
    for (int32_t i = 0; i < g->num_images; ++i)
        for (int64_t k = 0; k < A; ++k) {
            int64_t r = (int64_t)i * A + k;
            clean[r] = pre[r] >= 0 && spoilt[g->offsets[i] + pre[r]] ? AA_NEGATIVE : pre[r];
        }
    aa_status st = aa_assign_paa_costs(cpu_ctx, x->paa, x->a, g, clean, costs, out, NULL, 0);
    for (int64_t r = 0; st == AA_SUCCESS && out->overlap && r < (int64_t)g->num_images * A; ++r)
        if (pre[r] >= 0 && clean[r] < 0) out->overlap[r] = costs[r];
    free(pre), free(costs), free(spoilt), free(clean);
    return st;
}

/* ---------------------------------------------------------------- the EM */

enum { MAX_SEGMENTS = 24, MAX_SEGMENT_POINTS = 40 };

typedef struct gmm_data {
    int64_t offsets[MAX_SEGMENTS + 2];
    float *points;
    int64_t S, P;                 /* as built */
    aa_gmm_segments sg;
    const aa_gmm_segments *sgp;   /* &sg or NULL */
    aa_gmm_params p, eff;         /* given, effective */
    const aa_gmm_params *pp;      /* &p or NULL */
    double *w0, *mu0, *pr0;       /* given initial parameters */
    unsigned nulls;               /* bit k: result array k not passed */
    int result_null;
    mask m;                       /* the defects present (0: valid) */
} gmm_data;

/* The header's rules for aa_gmm_fit's arguments (as fuzz_loss.c's oracle). */
static mask gmm_oracle(gmm_data *d)
{
    aa_gmm_params *p = &d->eff;
    EFFECTIVE(aa_gmm_params, aa_gmm_params_init, d->pp, *p);
    if (d->pp && oracle_struct_size(d->pp->struct_size, sizeof *p)) return BIT(AA_ERR_INVALID_ARGUMENT);
    mask m = 0;
    int k_ok = p->num_components >= 1 && p->num_components <= AA_GMM_MAX_COMPONENTS;
    if (!k_ok || p->max_iter < 0 || p->max_iter > AA_GMM_MAX_ITER) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (!(p->tol >= 0.0) || !isfinite(p->tol) || !(p->reg_covar >= 0.0) || !isfinite(p->reg_covar))
        m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if ((p->covariance != AA_GMM_DIAG && p->covariance != AA_GMM_FULL) ||
        (p->init != AA_GMM_INIT_PAA && p->init != AA_GMM_INIT_GIVEN) || (p->float32_input != 0 && p->float32_input != 1))
        m |= BIT(AA_ERR_INVALID_ARGUMENT);
    const aa_gmm_segments *sg = d->sgp;
    if (!sg) return m | BIT(AA_ERR_NULL_POINTER);
    if (sg->num_segments < 0) return m | BIT(AA_ERR_INVALID_ARGUMENT);
    if (!sg->offsets) return m | BIT(AA_ERR_NULL_POINTER);
    if (sg->offsets[0] != 0) return m | BIT(AA_ERR_INVALID_ARGUMENT);
    for (int64_t s = 0; s < sg->num_segments; ++s)
        if (sg->offsets[s + 1] < sg->offsets[s]) return m | BIT(AA_ERR_INVALID_ARGUMENT);
    int64_t total = sg->offsets[sg->num_segments];
    if (total > d->P) die("harness: valid offsets for %lld points over %lld", (long long)total, (long long)d->P);
    if (total > 0 && !sg->points) m |= BIT(AA_ERR_NULL_POINTER);
    for (int64_t i = 0; sg->points && i < total; ++i)
        if (!isfinite(sg->points[i])) m |= BIT(AA_ERR_INVALID_ARGUMENT);
    if (k_ok && p->init == AA_GMM_INIT_GIVEN && sg->num_segments > 0) {
        if (!p->init_weights || !p->init_means || !p->init_precisions) return m | BIT(AA_ERR_NULL_POINTER);
        int32_t K = p->num_components;
        for (int64_t s = 0; s < sg->num_segments; ++s) {
            double total_w = 0.0;
            for (int32_t k = 0; k < K; ++k) {
                double w = p->init_weights[s * K + k], pr = p->init_precisions[s * K + k];
                if (!(w >= 0.0 && w <= 1.0) || !isfinite(p->init_means[s * K + k]) || !(pr > 0.0) || !isfinite(pr))
                    m |= BIT(AA_ERR_INVALID_ARGUMENT);
                total_w += w;
            }
            if (!(fabs(1.0 - total_w) <= 1e-8)) m |= BIT(AA_ERR_INVALID_ARGUMENT);
        }
    }
    return m;
}

/* Segments (ragged, small ones often; bimodal, unimodal, equal, an outlier, PAA-like
 * sorted costs, few values (ties), or explicit points; special values patched in; one
 * corruption), then aa_gmm_params field by field (struct_size included), given initial
 * parameters with one corruption, and which result arrays are passed. */
static void decode_gmm(input *in, gmm_data *d)
{
    memset(d, 0, sizeof *d);
    int64_t S = u8(in) % (MAX_SEGMENTS + 1);
    d->offsets[0] = 0;
    for (int64_t s = 0; s < S; ++s) {
        unsigned c = u8(in);
        d->offsets[s + 1] = d->offsets[s] + (c < 128 ? c % 4 : c % (MAX_SEGMENT_POINTS + 1));
    }
    int64_t P = d->offsets[S];
    d->S = S, d->P = P;
    d->points = xmalloc((size_t)(P + 1) * sizeof(float));
    for (int64_t s = 0; s < S; ++s) {
        float *x = d->points + d->offsets[s];
        int64_t n = d->offsets[s + 1] - d->offsets[s];
        unsigned mode = u8(in) % 7;
        rng_state = ((uint64_t)u32(in) << 1) | 1;
        float a = rng_float(-5, 5), b = a + rng_float(0, 8), scale = mode == 4 ? 1.0f : rng_float(1e-3f, 100);
        for (int64_t i = 0; i < n; ++i) {
            switch (mode) {
            case 0: x[i] = ((rng() & 1) ? a : b) * scale + rng_float(-0.3f, 0.3f); break;
            case 1: x[i] = rng_float(-2, 2) * scale; break;
            case 2: x[i] = a; break;
            case 3: x[i] = i == 0 ? 1e6f : rng_float(0, 1); break;
            case 4: x[i] = (rng() % 3 ? 0.5f : 2.0f) + rng_float(0, 0.5f); break; /* costs, sorted below */
            case 5: x[i] = a + 0.25f * (float)(rng() % 4); break;
            default: x[i] = fval(in, -10, 10); break;
            }
        }
        if (mode == 4)
            for (int64_t i = 1; i < n; ++i) /* insertion sort: PAA's candidates come sorted */
                for (int64_t j = i; j > 0 && x[j - 1] > x[j]; --j) {
                    float t = x[j];
                    x[j] = x[j - 1], x[j - 1] = t;
                }
    }
    unsigned patches = u8(in) % 4;
    for (unsigned k = 0; k < patches && P > 0; ++k) { /* the index read first */
        int64_t at = (int64_t)(u16(in) % (uint64_t)P);
        d->points[at] = special_float(u8(in));
    }

    d->sg = (aa_gmm_segments){d->points, d->offsets, S, NULL};
    d->sgp = &d->sg;
    unsigned c = u8(in);
    switch (c < 236 ? 0 : c - 235) {
    case 1: d->sg.num_segments = -1 - (int64_t)u8(in); break;
    case 2: d->sg.offsets = NULL; break;
    case 3: d->sg.points = NULL; break; /* valid without points */
    case 4: d->offsets[0] = 1 + (int64_t)u8(in); break;
    case 5:
        if (S >= 1) {
            int64_t s = 1 + (int64_t)(u8(in) % S);
            d->offsets[s] = d->offsets[s - 1] - 1 - (int64_t)u8(in);
        }
        break;
    case 6: d->sgp = NULL; break;
    case 7: if (S >= 1) d->sg.num_segments = S - 1; break; /* fewer segments: valid */
    default: break;
    }

    aa_gmm_params *p = &d->p;
    aa_gmm_params_init(p);
    patches = u8(in) % 6;
    for (unsigned k = 0; k < patches; ++k) {
        switch (u8(in) % 8) {
        case 0: p->num_components = ival(in, 1, 5); break;
        case 1: p->max_iter = ival(in, 0, 120); break;
        case 2: p->tol = dval(in, 0, 1e-2); break;
        case 3: p->reg_covar = dval(in, 0, 1e-3); break;
        case 4: p->covariance = (aa_gmm_covariance)ival(in, 0, 3); break;
        case 5: p->init = (aa_gmm_init)ival(in, 0, 2); break;
        case 6: p->float32_input = ival(in, 0, 3); break;
        default: p->struct_size = struct_size_val(in, sizeof *p); break;
        }
    }
    d->pp = (u8(in) & 7) == 7 ? NULL : p;
    aa_gmm_params e;
    EFFECTIVE(aa_gmm_params, aa_gmm_params_init, d->pp, e);
    int32_t K = e.num_components >= 1 && e.num_components <= AA_GMM_MAX_COMPONENTS ? e.num_components : 1;
    size_t nk = (size_t)(S + 1) * AA_GMM_MAX_COMPONENTS;
    d->w0 = xmalloc(nk * 8), d->mu0 = xmalloc(nk * 8), d->pr0 = xmalloc(nk * 8);
    for (size_t s = 0; s < (size_t)S + 1; ++s) {
        double total = 0.0;
        for (int32_t k = 0; k < K; ++k) total += (d->w0[s * K + k] = 0.1 + (double)(rng() % 1000));
        for (int32_t k = 0; k < K; ++k) {
            d->w0[s * K + k] /= total;
            d->mu0[s * K + k] = rng_float(-5, 5);
            d->pr0[s * K + k] = 0.05 + rng_float(0, 10);
        }
    }
    p->init_weights = d->w0, p->init_means = d->mu0, p->init_precisions = d->pr0;
    size_t used = (size_t)(S > 0 ? S : 1) * (size_t)K;
    c = u8(in);
    size_t at = c < 228 || c % 6 >= 4 ? 0 : u8(in) % used; /* the index read first (cases 1-4) */
    switch (c < 228 ? 0 : 1 + c % 6) {
    case 1: d->w0[at] = dval(in, -0.5, 1.5); break;
    case 2: d->mu0[at] = special_float(u8(in)); break;
    case 3: d->pr0[at] = dval(in, -1, 1); break;
    case 4: d->w0[at] += 1e-6; break;
    case 5: p->init_weights = NULL; break;
    default: break;
    }
    d->nulls = u8(in);
    d->result_null = d->nulls == 0xFF;
    d->m = gmm_oracle(d);
    if (verbose > 0)
        fprintf(stderr, "gmm: %lld segments, %lld points, K %d, max_iter %d; defects 0x%x, outputs 0x%x%s\n",
                (long long)S, (long long)P, (int)d->eff.num_components, (int)d->eff.max_iter, d->m,
                ~d->nulls & 0xFFu, d->result_null ? " (result NULL)" : "");
}

static int gmm_identical(double a, double b) { return memcmp(&a, &b, 8) == 0 || (isnan(a) && isnan(b)); }

/* One value of aa_gmm_fit on both sides: identical (NaN as NaN), or, where an exp/log
 * reaches it (`strict` 0), counted and printed (the first few of an input). */
static void gmm_value(const char *what, int64_t i, double c, double o, int strict, unsigned *printed)
{
    ++gmm_values;
    if (gmm_identical(c, o)) return;
    if (strict) die("aa_gmm_fit: %s[%lld]: cpu %.17g (%a) opencl %.17g (%a), where no exp/log reaches", what,
                    (long long)i, c, c, o, o);
    ++gmm_values_differing;
    if ((*printed)++ < 4)
        fprintf(stderr, "fuzz_parity: aa_gmm_fit: %s[%lld]: cpu %.17g opencl %.17g (device exp/log)\n", what,
                (long long)i, c, o);
}

static void gmm_outcome(const char *what, int64_t i, int32_t c, int32_t o, int strict, unsigned *printed)
{
    ++gmm_values;
    if (c == o) return;
    if (strict) die("aa_gmm_fit: %s[%lld]: cpu %d opencl %d, where no exp/log reaches", what, (long long)i, (int)c,
                    (int)o);
    ++gmm_outcomes_differing;
    if ((*printed)++ < 4)
        fprintf(stderr, "fuzz_parity: aa_gmm_fit: %s[%lld]: cpu %d opencl %d (device exp/log)\n", what, (long long)i,
                (int)c, (int)o);
}

/* tests/parity_gmm.h's rules against the CPU (glibc's exp/log): what no exp/log
 * reaches bit for bit: every output of a segment with too few points, weights, means
 * and variances for K = 1 (responsibilities exactly 1) and max_iter 0 (the initial
 * parameters; status, iterations and lower bound too: no iteration runs), labels for
 * K = 1; every other difference counted, never a failure (EM amplifies a last-bit
 * exp/log difference). */
static void compare_gmm(const pouts *p, const gmm_data *d)
{
    const aa_gmm_params *e = &d->eff;
    int32_t K = e->num_components;
    unsigned printed = 0;
    static const char *const name[8] = {"weights", "means", "variances", "lower_bound",
                                        "iterations", "status", "labels", "log_density"};
    for (int64_t s = 0; s < d->sg.num_segments; ++s) {
        int64_t begin = d->offsets[s], n = d->offsets[s + 1] - begin;
        int too_few = n < 2 || n < K, no_iter = too_few || e->max_iter == 0;
        int no_exp = no_iter || K == 1;
        for (int a = 0; a < 8; ++a) {
            const pout *o = &p->o[a];
            if (!o->side[0]) continue;
            int64_t from = a < 3 ? s * K : a < 6 ? s : begin, to = a < 3 ? (s + 1) * K : a < 6 ? s + 1 : begin + n;
            int strict = a < 3 ? no_exp : a < 6 ? no_iter : a == 6 ? too_few || K == 1 : too_few;
            for (int64_t j = from; j < to; ++j) {
                if (o->type == T_I32) gmm_outcome(name[a], j, i32_at(o->side[0], j), i32_at(o->side[1], j), strict, &printed);
                else {
                    double c, v;
                    memcpy(&c, o->side[0] + 8 * j, 8), memcpy(&v, o->side[1] + 8 * j, 8);
                    gmm_value(name[a], j, c, v, strict, &printed);
                }
            }
        }
    }
    if (printed > 4) fprintf(stderr, "fuzz_parity: aa_gmm_fit: %u values in all not identical (counted)\n", printed);
}

/* ---------------------------------------------------------------- ATSS */

/* The CPU's IoU of (GT k, anchor j) and GT k's threshold (mean + std of its
 * nearest candidates' IoU), for the report of an ATSS difference. */
typedef struct atss_diag {
    float *iou;     /* [dG][dA] */
    double *mean, *std;
} atss_diag;

static void atss_diag_build(atss_diag *d, const aa_atss_params *p, const aa_anchors *a,
                            const aa_gts *g, int64_t dA, int64_t dG)
{
    aa_atss_params e;
    EFFECTIVE(aa_atss_params, aa_atss_params_init, p, e);
    d->iou = xmalloc((size_t)(dG * dA) * sizeof(float));
    d->mean = xmalloc((size_t)dG * sizeof(double));
    d->std = xmalloc((size_t)dG * sizeof(double));
    int32_t *cand = xmalloc((size_t)dG * (size_t)a->num_levels * (size_t)e.topk * sizeof(int32_t));
    if (aa_overlaps(cpu_ctx, AA_IOU, e.eps, a, g, d->iou) != AA_SUCCESS ||
        aa_topk_nearest(cpu_ctx, e.topk, a, g, cand) != AA_SUCCESS ||
        aa_candidate_iou_stats(cpu_ctx, e.topk, e.eps, a, g, cand, d->mean, d->std) != AA_SUCCESS)
        die("harness: the ATSS report's CPU calls failed: %s", aa_context_last_error(cpu_ctx));
    free(cand);
}

/* ATSS outputs: bit for bit, but for ATSS_ALLOW_NEAR_THRESHOLD (see the file
 * comment). Each difference is reported with the IoU and threshold of its GTs. */
static void compare_atss(const pouts *p, const aa_atss_params *params, const batch *b, int64_t dA,
                         int32_t dI, int64_t dG)
{
    const aa_gts *g = b->gp;
    const pout *gi = &p->o[0], *ov = &p->o[1], *lb = &p->o[2];
    atss_diag d = {NULL, NULL, NULL};
    for (int64_t e = 0; e < (int64_t)dI * dA; ++e) {
        int32_t v[2];
        memcpy(&v[0], gi->side[0] + 4 * e, 4), memcpy(&v[1], gi->side[1] + 4 * e, 4);
        int same = v[0] == v[1] && (!ov->side[0] || memcmp(ov->side[0] + 4 * e, ov->side[1] + 4 * e, 4) == 0) &&
                   (!lb->side[0] || memcmp(lb->side[0] + 4 * e, lb->side[1] + 4 * e, 4) == 0);
        if (same) continue;
        if (!d.iou) atss_diag_build(&d, params, b->ap, g, dA, dG);
        int32_t img = (int32_t)(e / dA);
        int64_t j = e % dA, first = g->offsets[img];
        float o[2] = {0, 0};
        if (ov->side[0]) memcpy(&o[0], ov->side[0] + 4 * e, 4), memcpy(&o[1], ov->side[1] + 4 * e, 4);
        char report[512];
        int n = snprintf(report, sizeof report, "image %d anchor %lld: cpu (gt %d, overlap %.9g) opencl (gt %d, overlap %.9g)",
                         (int)img, (long long)j, (int)v[0], (double)o[0], (int)v[1], (double)o[1]);
        int near = 0;
        for (int s = 0; s < 2; ++s) {
            if (v[s] < 0 || (s == 1 && v[1] == v[0])) continue;
            int64_t k = first + v[s];
            double iou = d.iou[k * dA + j], thr = d.mean[k] + d.std[k];
            int is_near = fabs(iou - thr) <= ATSS_NEAR_THRESHOLD;
            near |= is_near;
            if (n > 0 && (size_t)n < sizeof report)
                n += snprintf(report + n, sizeof report - (size_t)n, "; GT %d: IoU %.9g, threshold %.17g (%s 1e-6 of it)",
                              (int)v[s], iou, thr, is_near ? "within" : "not within");
        }
        if (ATSS_ALLOW_NEAR_THRESHOLD && near) {
            ++atss_near_threshold_accepted;
            fprintf(stderr, "fuzz_parity: accepted (IoU at the threshold): %s\n", report);
            continue;
        }
        die("aa_assign_atss differs: %s", report);
    }
    free(d.iou), free(d.mean), free(d.std);
}

/* Overlaps: bit for bit; a difference is reported with both boxes (hex floats: a
 * signed zero shows). */
static void compare_overlaps(const pout *o, const batch *b, int64_t dA)
{
    for (size_t k = 0; k < o->owned / 4; ++k) {
        if (memcmp(o->side[0] + 4 * k, o->side[1] + 4 * k, 4) == 0) continue;
        float v[2];
        memcpy(&v[0], o->side[0] + 4 * k, 4), memcpy(&v[1], o->side[1] + 4 * k, 4);
        const float *a = b->ap->boxes + 4 * (int64_t)(k % (size_t)dA), *g = b->gp->boxes + 4 * (int64_t)(k / (size_t)dA);
        die("overlaps[%zu] (GT %lld, anchor %lld): cpu %a opencl %a; anchor (%a, %a, %a, %a), GT (%a, %a, %a, %a)",
            k, (long long)(k / (size_t)dA), (long long)(k % (size_t)dA), (double)v[0], (double)v[1],
            (double)a[0], (double)a[1], (double)a[2], (double)a[3], (double)g[0], (double)g[1],
            (double)g[2], (double)g[3]);
    }
}

/* ---------------------------------------------------------------- decoding */

/* A generated anchor set (kind 1: RetinaNet anchors, 2: ATSS anchors, one per
 * location, 3: FCOS points) on a canvas halved until it holds at most MAX_ANCHORS;
 * NULL when generation fails (the harness then builds the anchors). */
static float *generate(input *in, unsigned kind, int64_t *n, int64_t *counts, float *strides,
                       int32_t *levels)
{
    *levels = 1 + (int32_t)(u8(in) % 5);
    int32_t h = 8 + 4 * (int32_t)u8(in), w = 8 + 4 * (int32_t)u8(in);
    float offset = (u8(in) & 1) ? 0.0f : 0.5f;
    aa_anchor_params ap;
    aa_anchor_params_init(&ap);
    ap.num_levels = *levels;
    if (kind == 2) ap.num_ratios = 1, ap.ratios[0] = 1.0f, ap.octave_base_scale = 8, ap.scales_per_octave = 1;
    for (int32_t l = 0; l < *levels; ++l) strides[l] = kind == 3 ? (float)(8 << l) : ap.strides[l];
    for (;;) {
        aa_status st = kind == 3
            ? aa_point_generate(cpu_ctx, *levels, strides, offset, h, w, NULL, 0, counts, n)
            : aa_anchor_count(cpu_ctx, &ap, h, w, counts, n);
        if (st != AA_SUCCESS) die("harness: generator count: %s", aa_context_last_error(cpu_ctx));
        if (*n <= MAX_ANCHORS) break;
        h = (h + 1) / 2, w = (w + 1) / 2;
    }
    float *boxes = xmalloc((size_t)*n * 4 * sizeof(float));
    aa_status st = kind == 3
        ? aa_point_generate(cpu_ctx, *levels, strides, offset, h, w, boxes, *n, counts, n)
        : aa_anchor_generate(cpu_ctx, &ap, h, w, boxes, *n);
    if (st != AA_SUCCESS) die("harness: generation: %s", aa_context_last_error(cpu_ctx));
    if (verbose > 0)
        fprintf(stderr, "generated: %s, %d x %d, %d levels, %lld\n",
                kind == 1 ? "retina anchors" : kind == 2 ? "atss anchors" : "points", (int)h, (int)w,
                (int)*levels, (long long)*n);
    return boxes;
}

/* ---------------------------------------------------------------- entry */

/* An assigner's outputs (gt_index always passed; overlap and labels as requested),
 * n_out elements allocated, `owned` written on success. */
static void assignment_outs(pouts *p, size_t n_out, size_t owned, int64_t dA, int want_overlap,
                            int want_labels, cmp how, cmp overlap_how)
{
    pout_add(p, "gt_index", 1, n_out * sizeof(int32_t), T_I32, how);
    pout_add(p, "overlap", want_overlap, n_out * sizeof(float), T_F32, overlap_how);
    pout_add(p, "labels", want_labels, n_out * sizeof(int32_t), T_I32, how);
    for (int i = 0; i < 3; ++i) p->o[i].owned = owned * 4, p->o[i].per_image = dA;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    harness_begin();
    create_contexts();
    /* the native side's choices (workspaces) from the whole input: no byte of its own */
    native_hash = 14695981039346656037ull; /* FNV-1a */
    for (size_t k = 0; k < size; ++k) native_hash = (native_hash ^ data[k]) * 1099511628211ull;
    native_hash ^= native_hash >> 31, native_hash *= 0xbf58476d1ce4e5b9ull, native_hash ^= native_hash >> 29;
    native_call = 0;

    /* the anchors: the harness's, or a generated set */
    unsigned kind = u8(&in) % 4;
    float *gen_boxes = NULL, gen_strides[AA_MAX_LEVELS];
    int64_t gen_n = 0, gen_counts[AA_MAX_LEVELS];
    int32_t gen_levels = 0;
    if (kind) gen_boxes = generate(&in, kind, &gen_n, gen_counts, gen_strides, &gen_levels);

    batch b;
    build_batch(&in, &b, gen_boxes, gen_n, gen_counts, gen_strides, gen_levels);
    free(gen_boxes);
    const int32_t levels_built = b.a.num_levels;

    /* parameters: fuzz_api.c's fields */
    assigner_params params;
    decode_assigner_params(&in, levels_built, &params);
    args x;
    memset(&x, 0, sizeof x);
    x.max_iou = params.max_iou_arg, x.atss = params.atss_arg, x.fcos = params.fcos_arg;
    x.a = b.ap, x.g = b.gp;
    unsigned sel = u8(&in);
    x.mode = sel < 240 ? (aa_overlap_mode)(sel % 3) : (aa_overlap_mode)ival(&in, -1, 5);
    x.eps = (sel & 0x30) == 0x30 ? fval(&in, 0, 1e-3f) : 1e-6f;
    sel = u8(&in);
    x.topk = sel < 232 ? 1 + (int32_t)(sel % 12) : ival(&in, 0, 20);
    /* outputs: labels when bit 0, no overlap output when bit 1; from 240 one NULL */
    unsigned req = u8(&in);
    int want_labels = req & 1, want_overlap = !(req & 2);
    unsigned nulls = req >= 240 ? 1u << (req % 8) : 0;
    x.out_null = (nulls & 0x10) != 0, x.gt_index_null = (nulls & 0x20) != 0;
    if (verbose > 0)
        fprintf(stderr, "overlap mode %d, eps %g, topk %d, labels %d, overlap %d, NULLs 0x%x\n", (int)x.mode,
                (double)x.eps, (int)x.topk, want_labels, want_overlap, nulls);

    /* the declared shape, where the oracle calls the batch valid */
    const aa_anchors *A = b.ap;
    const aa_gts *G = b.gp;
    const int64_t nA = b.honest_anchors, nG = b.e.gt_boxes;
    const int32_t nI = b.honest_images, nL = levels_built >= 1 && levels_built <= AA_MAX_LEVELS ? levels_built : 1;
    int valid = (oracle_anchors(A, &b.e, 0) | oracle_gts(G, &b.e, 0)) == 0;
    int64_t dA = valid ? A->num_anchors : 0, dG = valid ? G->offsets[G->num_images] : 0;
    int32_t dI = valid ? G->num_images : 0, dL = valid ? A->num_levels : 0;
    if (valid && (dA > nA || dI > nI || dG > nG || dL > AA_MAX_LEVELS)) die("harness: a valid batch larger than built");

    pouts p = {0};

    /* ---- overlaps */
    pout_add(&p, "overlaps", !(nulls & 1), (size_t)(nG * nA) * sizeof(float), T_F32, CMP_NONE);
    p.o[0].owned = (size_t)(dG * dA) * sizeof(float);
    if (run_all("aa_overlaps", call_overlaps, &x, &p, valid, NULL, NULL) == AA_SUCCESS && p.o[0].side[0]) {
        compare_overlaps(&p.o[0], &b, dA);
        elements_compared += dG * dA;
    }
    pouts_free(&p);

    /* ---- ATSS primitives: candidates, then statistics over the CPU's */
    {
        int32_t k = x.topk >= 1 && x.topk <= AA_MAX_TOPK ? x.topk : 1;
        size_t n_cand = (size_t)nG * (size_t)(dL > nL ? dL : nL) * (size_t)k;
        pout_add(&p, "candidates", !(nulls & 2), n_cand * sizeof(int32_t), T_I32, CMP_BITS);
        p.o[0].owned = (size_t)dG * (size_t)dL * (size_t)k * sizeof(int32_t);
        aa_status st = run_all("aa_topk_nearest", call_topk, &x, &p, valid, NULL, NULL);
        if (st == AA_SUCCESS && p.o[0].side[0]) {
            int32_t *cand = (int32_t *)(void *)p.o[0].side[0];
            unsigned bad = u8(&in);
            size_t owned_n = p.o[0].owned / sizeof(int32_t);
            if (bad >= 200 && owned_n > 0) {
                int64_t v = (int64_t)ival(&in, -3, 8) + (bad & 1 ? dA : 0);
                cand[u16(&in) % owned_n] = v > INT32_MAX ? INT32_MAX : (int32_t)v;
            }
            x.candidates = cand;
            pouts q = {0};
            pout_add(&q, "mean", !(nulls & 4), (size_t)nG * sizeof(double), T_F64, CMP_STATS);
            pout_add(&q, "std", !(nulls & 8), (size_t)nG * sizeof(double), T_F64, CMP_STATS);
            q.o[0].owned = q.o[1].owned = (size_t)dG * sizeof(double);
            run_all("aa_candidate_iou_stats", call_stats, &x, &q, valid, NULL, NULL);
            pouts_free(&q);
            x.candidates = NULL;
        }
        pouts_free(&p);
    }

    /* ---- assigners */
    static const char *const names[3] = {"aa_assign_max_iou", "aa_assign_atss", "aa_assign_fcos"};
    static const pcall fns[3] = {call_max_iou, call_atss, call_fcos};
    static const wsquery queries[3] = {ws_max_iou, ws_atss, ws_fcos};
    size_t n_out = (size_t)nI * (size_t)nA, owned = (size_t)dI * (size_t)dA;
    for (int w = 0; w < 3; ++w) {
        cmp how = w == 1 ? CMP_NONE : CMP_BITS; /* ATSS: compare_atss */
        assignment_outs(&p, n_out, owned, dA, want_overlap, want_labels, how, how);
        aa_status st = run_all(names[w], fns[w], &x, &p, valid, NULL, queries[w]);
        if (w == 1 && st == AA_SUCCESS) {
            compare_atss(&p, x.atss, &b, dA, dI, dG);
            elements_compared += (int64_t)owned;
        }
        pouts_free(&p);
    }

    /* ---- loss-aware calls: head outputs as fuzz_loss.c decodes them (harness.c) */
    head_data hd;
    decode_head(&in, &b, &hd);
    x.head = hd.hp;

    /* PAA's costs, both given the CPU's max-IoU pre-assignment (with PAA's `pre`
     * parameters; all negative where that fails), with one corruption */
    aa_paa_params pap, pae;
    x.paa = decode_paa_params(&in, &pap);
    EFFECTIVE(aa_paa_params, aa_paa_params_init, x.paa, pae);
    int32_t *pre = xmalloc((n_out + 1) * sizeof(int32_t));
    for (size_t r = 0; r < n_out; ++r) pre[r] = AA_NEGATIVE;
    aa_assignment po = {pre, NULL, NULL};
    aa_status pre_st = valid ? aa_assign_max_iou(cpu_ctx, &pae.pre, A, G, &po, NULL, 0) : AA_ERR_INVALID_ARGUMENT;
    mask pre_defect;
    x.pre = corrupt_pre(&in, &b, pre, owned, dA, &pre_defect);
    if (verbose > 0)
        fprintf(stderr, "paa: params %s, pre-assignment %s, corruption 0x%x\n", x.paa ? "given" : "NULL",
                aa_status_string(pre_st), pre_defect);
    pout *costs = pout_add(&p, "costs", !(nulls & 0x40), n_out * sizeof(float), T_F32, CMP_ULPS);
    costs->owned = owned * sizeof(float), costs->per_image = dA, costs->within = &paa_costs_within;
    aa_status costs_st = run_all("aa_paa_costs", call_paa_costs, &x, &p, valid, NULL, NULL);
    costs_compared += costs_st == AA_SUCCESS;
    /* the CPU's costs, kept for aa_assign_paa_costs (below) */
    float *cpu_costs = NULL;
    if (costs_st == AA_SUCCESS && costs->side[0]) {
        cpu_costs = xmalloc((n_out + 1) * sizeof(float));
        memcpy(cpu_costs, costs->side[0], owned * sizeof(float));
    }
    const int32_t *pre_arg = x.pre;
    pouts_free(&p);
    x.pre = NULL;

    /* LADA (strides required): the outputs requested as for the assigners above */
    aa_lada_params lap;
    x.lada = decode_lada_params(&in, &lap);
    int lada_valid = valid && oracle_anchors(A, &b.e, 1) == 0;
    double work = lada_valid ? lada_work(x.lada, A, G) : 0;
    if (verbose > 0) fprintf(stderr, "lada: params %s, %.0f kernel losses\n", x.lada ? "given" : "NULL", work);
    if (work <= LADA_KERNEL_BUDGET) {
        assignment_outs(&p, n_out, owned, dA, want_overlap, want_labels, CMP_BITS, CMP_ULPS);
        p.o[1].within = &lada_losses_within;
        aa_status st = run_all("aa_assign_lada", call_lada, &x, &p, lada_valid, lada_overflow, ws_lada);
        lada_compared += st == AA_SUCCESS;
        if (verbose > 0 && st == AA_SUCCESS) {
            int64_t positives = 0;
            for (size_t e = 0; e < owned; ++e) {
                int32_t v;
                memcpy(&v, p.o[0].side[0] + 4 * e, 4);
                positives += v >= 0;
            }
            fprintf(stderr, "aa_assign_lada: %lld positives\n", (long long)positives);
        }
        pouts_free(&p);
    } else {
        ++lada_skipped;
    }
    x.g = b.gp;
    free(x.crowd);
    x.crowd = NULL;

    /* ---- after all of the above (an older input reads zeros here: all three calls,
     * the CPU's costs, no corruption, an EM call without segments): a byte whose bits
     * 0, 1, 2 leave out PAA's selection, the whole of PAA, the EM */
    unsigned more = u8(&in);
    if (!(more & 1)) {
        /* aa_assign_paa_costs on the pre-assignment aa_paa_costs had (corrupted alike),
         * both given the same costs: the CPU's (random where it failed), all equal, few
         * values (ties) or random; one corruption (a special value, NULL) */
        unsigned variant = u8(&in);
        rng_state = ((uint64_t)u32(&in) << 1) | 1;
        float *sel_costs = xmalloc((n_out + 1) * sizeof(float));
        for (size_t r = 0; r < n_out; ++r) {
            switch (variant % 4 == 0 && !cpu_costs ? 3 : variant % 4) {
            case 0: sel_costs[r] = r < owned ? cpu_costs[r] : INFINITY; break;
            case 1: sel_costs[r] = 1.5f; break;
            case 2: sel_costs[r] = 0.25f * (float)(rng() % 4); break;
            default: sel_costs[r] = rng_float(0, 3); break;
            }
        }
        unsigned bad = u8(&in);
        x.costs = sel_costs;
        if (bad >= 224 && owned > 0) { /* (the index read first: one statement, in order) */
            size_t at = u16(&in) % owned;
            sel_costs[at] = special_float(u8(&in));
        } else if (bad >= 216) x.costs = NULL;
        x.pre = pre_arg;
        if (verbose > 0) fprintf(stderr, "paa selection: costs variant %u, corruption %u\n", variant % 4, bad);
        assignment_outs(&p, n_out, owned, dA, want_overlap, want_labels, CMP_NONE, CMP_BITS);
        aa_status st = run_all("aa_assign_paa_costs", call_paa_select, &x, &p, valid, NULL, ws_paa_select);
        if (st == AA_SUCCESS) compare_paa(&p, &x, "aa_assign_paa_costs", 0, dA, dI), ++paa_select_compared;
        pouts_free(&p);
        x.pre = NULL, x.costs = NULL;
        free(sel_costs);
    }
    if (!(more & 2)) {
        /* aa_assign_paa: the head and PAA parameters above; where the CPU refuses a
         * cost beyond float32, the GPU's documented result (paa_overflow) */
        assignment_outs(&p, n_out, owned, dA, want_overlap, want_labels, CMP_NONE, CMP_ULPS);
        p.o[1].within = &paa_overlap_within;
        aa_status st = run_all("aa_assign_paa", call_paa, &x, &p, valid, paa_overflow, ws_paa);
        if (st == AA_SUCCESS) compare_paa(&p, &x, "aa_assign_paa", 1, dA, dI), ++paa_whole_compared;
        x.paa_spoil = 0;
        pouts_free(&p);
    }
    free(pre);
    free(cpu_costs);
    if (!(more & 4)) {
        /* aa_gmm_fit on segments of its own */
        gmm_data gd;
        decode_gmm(&in, &gd);
        args y;
        memset(&y, 0, sizeof y);
        y.gmm = gd.pp, y.sg = gd.sgp, y.gmm_result_null = gd.result_null;
        int gvalid = gd.m == 0 && !gd.result_null;
        int64_t dS = gvalid ? gd.sg.num_segments : 0, dP = gvalid ? gd.offsets[dS] : 0;
        int32_t dK = gvalid ? gd.eff.num_components : 0;
        size_t S1 = (size_t)gd.S + 1, P1 = (size_t)gd.P + 1, SK = S1 * AA_GMM_MAX_COMPONENTS;
        static const char *const names_g[8] = {"weights", "means", "variances", "lower_bound",
                                               "iterations", "status", "labels", "log_density"};
        const size_t n_g[8] = {SK, SK, SK, S1, S1, S1, P1, P1};
        const size_t own_g[8] = {(size_t)(dS * dK), (size_t)(dS * dK), (size_t)(dS * dK), (size_t)dS,
                                 (size_t)dS, (size_t)dS, (size_t)dP, (size_t)dP};
        for (int k = 0; k < 8; ++k) {
            etype t = k == 4 || k == 5 || k == 6 ? T_I32 : T_F64;
            pout *o = pout_add(&p, names_g[k], !(gd.nulls >> k & 1), n_g[k] * (t == T_I32 ? 4 : 8), t, CMP_NONE);
            o->owned = own_g[k] * o->elem;
        }
        aa_status st = run_all("aa_gmm_fit", call_gmm, &y, &p, gvalid, NULL, ws_gmm);
        if (st == AA_SUCCESS) compare_gmm(&p, &gd), ++gmm_compared;
        pouts_free(&p);
        free(gd.points), free(gd.w0), free(gd.mu0), free(gd.pr0);
    }

    free_head(&hd);
    free_batch(&b);
    current_call = "(done)";
    return 0;
}
