/* test_gpu_parity.c - a GPU backend against the CPU reference: every result
 * bit-identical on random, adversarial and real COCO inputs. Built twice:
 * TEST_OPENCL (on PoCL in CI: no OpenCL device is a failure, never a skip, as this
 * is the kernels' real test there; also cl_mem buffers with a sub-buffer offset
 * and a caller queue) and TEST_CUDA (skips, exit 77, where no GPU is present).
 * Outputs are poisoned and guarded. The Gaussian mixtures: parity_gmm.h. */
#include "common.h"

#include <math.h>

#if TEST_OPENCL
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#define TEST_BACKEND AA_BACKEND_OPENCL
#else
#include <cuda_runtime_api.h>
#define TEST_BACKEND AA_BACKEND_CUDA
#endif

#if AA_TEST_HAVE_WORKLOAD
#include "workload.h"
#endif

static int64_t inputs_compared, elements_compared;

static aa_context *gpu_context(aa_memory memory)
{
    return test_gpu_context(TEST_BACKEND, memory);
}

/* Overlaps on both backends, compared bit for bit in every mode. */
static void compare_overlaps(aa_context *cpu, aa_context *ocl, const aa_anchors *a, const aa_gts *g)
{
    int64_t n = a->num_anchors * g->offsets[g->num_images];
    float *ref = test_guarded_alloc((size_t)n, sizeof(float));
    float *got = test_guarded_alloc((size_t)n, sizeof(float));
    for (int mode = AA_IOU; mode <= AA_GIOU; ++mode) {
        test_guarded_poison(got);
        assert_int_equal(aa_overlaps(cpu, (aa_overlap_mode)mode, 1e-6f, a, g, ref), AA_SUCCESS);
        aa_status st = aa_overlaps(ocl, (aa_overlap_mode)mode, 1e-6f, a, g, got);
        if (st != AA_SUCCESS) fail_msg("gpu: %s", aa_context_last_error(ocl));
        test_guarded_check(got);
        for (int64_t i = 0; i < n; ++i)
            if (memcmp(&ref[i], &got[i], sizeof(float)) != 0)
                fail_msg("mode %d element %lld (GT %lld, anchor %lld): cpu %.9g opencl %.9g", mode,
                         (long long)i, (long long)(i / a->num_anchors),
                         (long long)(i % a->num_anchors), ref[i], got[i]);
        elements_compared += n;
        ++inputs_compared;
    }
    test_guarded_free(ref);
    test_guarded_free(got);
}

/* ---------------------------------------------------------------- assigners */

typedef enum which {
    FCOS, FCOS_SAMPLING, /* on points */
    MAX_IOU, MAX_IOU_IGNORE, MAX_IOU_ARGMAX_ONLY, MAX_IOU_NO_LOW_QUALITY, /* on anchor boxes */
    ATSS, ATSS_IGNORE, ATSS_TOPK_1, ATSS_TOPK_40,
    NUM_WHICH
} which;
#define FIRST_BOX_ASSIGNER MAX_IOU
static const char *const which_name[NUM_WHICH] = {
    "fcos", "fcos+centre sampling", "max-iou", "max-iou+ignore regions (IoF over the crowd box)",
    "max-iou+first argmax only, min_pos_iou 0.3", "max-iou+no low-quality, neg [0.1, 0.3)",
    "atss", "atss+ignore regions", "atss topk 1", "atss topk 40, margin 0"};

static aa_status run_assigner(aa_context *ctx, which w, const aa_anchors *a, const aa_gts *g,
                              const aa_assignment *out)
{
    if (w >= ATSS) {
        aa_atss_params p;
        aa_atss_params_init(&p);
        if (w == ATSS_IGNORE) p.ignore_iof_thr = 0.5f;
        if (w == ATSS_TOPK_1) p.topk = 1;
        if (w == ATSS_TOPK_40) p.topk = 40, p.inside_margin = 0.0f;
        return aa_assign_atss(ctx, &p, a, g, out, NULL, 0);
    }
    if (w >= MAX_IOU) {
        aa_max_iou_params m;
        aa_max_iou_params_init(&m);
        if (w == MAX_IOU_IGNORE) m.ignore_iof_thr = 0.3f, m.ignore_wrt_candidates = 0;
        if (w == MAX_IOU_ARGMAX_ONLY) m.gt_max_assign_all = 0, m.min_pos_iou = 0.3f, m.ignore_iof_thr = 0.5f;
        if (w == MAX_IOU_NO_LOW_QUALITY) m.match_low_quality = 0, m.neg_iou_thr_lo = 0.1f, m.neg_iou_thr_hi = 0.3f;
        return aa_assign_max_iou(ctx, &m, a, g, out, NULL, 0);
    }
    aa_fcos_params p;
    aa_fcos_params_init(&p);
    p.num_regress_ranges = a->num_levels;
    for (int32_t l = 0; l < a->num_levels; ++l) /* ranges that suit any level count */
        p.regress_lo[l] = l == 0 ? -1.0f : 32.0f * (float)(1 << l),
        p.regress_hi[l] = l == a->num_levels - 1 ? 1e8f : 64.0f * (float)(1 << l);
    p.center_sampling = w == FCOS_SAMPLING;
    return aa_assign_fcos(ctx, &p, a, g, out, NULL, 0);
}

/* One assigner on both backends: gt_index, overlap and labels bit for bit. */
static void compare_assigner(aa_context *cpu, aa_context *ocl, which w, const aa_anchors *a,
                             const aa_gts *g)
{
    test_outputs ref, got;
    int with_labels = g->labels != NULL;
    test_outputs_alloc(&ref, g->num_images, a->num_anchors, with_labels);
    test_outputs_alloc(&got, g->num_images, a->num_anchors, with_labels);
    aa_status st = run_assigner(cpu, w, a, g, &ref.out);
    if (st != AA_SUCCESS) fail_msg("cpu %s: %s", which_name[w], aa_context_last_error(cpu));
    st = run_assigner(ocl, w, a, g, &got.out);
    if (st != AA_SUCCESS) fail_msg("opencl %s: %s", which_name[w], aa_context_last_error(ocl));
    if (ref.n > 0) test_outputs_check_written(&got);
    for (int64_t i = 0; i < ref.n; ++i) {
        int same = ref.gt_index[i] == got.gt_index[i] &&
                   memcmp(&ref.overlap[i], &got.overlap[i], sizeof(float)) == 0 &&
                   (!with_labels || ref.labels[i] == got.labels[i]);
        if (!same)
            fail_msg("%s: image %lld anchor %lld: cpu (%d, %.9g) opencl (%d, %.9g)", which_name[w],
                     (long long)(i / a->num_anchors), (long long)(i % a->num_anchors),
                     ref.gt_index[i], ref.overlap[i], got.gt_index[i], got.overlap[i]);
    }
    elements_compared += ref.n;
    ++inputs_compared;
    test_outputs_free(&ref);
    test_outputs_free(&got);
}

/* The ATSS primitives: candidates identical, mean and std identical doubles (NaN
 * where the reference has NaN). */
static void compare_primitives(aa_context *cpu, aa_context *ocl, int32_t topk, const aa_anchors *a,
                               const aa_gts *g)
{
    int64_t total = g->offsets[g->num_images], nc = total * a->num_levels * topk;
    int32_t *ref = test_guarded_alloc((size_t)nc, 4), *got = test_guarded_alloc((size_t)nc, 4);
    double *m1 = test_guarded_alloc((size_t)total, 8), *s1 = test_guarded_alloc((size_t)total, 8);
    double *m2 = test_guarded_alloc((size_t)total, 8), *s2 = test_guarded_alloc((size_t)total, 8);
    assert_int_equal(aa_topk_nearest(cpu, topk, a, g, ref), AA_SUCCESS);
    aa_status st = aa_topk_nearest(ocl, topk, a, g, got);
    if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ocl));
    for (int64_t j = 0; j < nc; ++j)
        if (ref[j] != got[j])
            fail_msg("topk %d: candidate %lld (GT %lld): cpu %d opencl %d", topk, (long long)j,
                     (long long)(j / (a->num_levels * topk)), ref[j], got[j]);
    assert_int_equal(aa_candidate_iou_stats(cpu, topk, 1e-6f, a, g, ref, m1, s1), AA_SUCCESS);
    st = aa_candidate_iou_stats(ocl, topk, 1e-6f, a, g, ref, m2, s2);
    if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ocl));
    for (int64_t k = 0; k < total; ++k) {
        int same = (memcmp(&m1[k], &m2[k], 8) == 0 || (isnan(m1[k]) && isnan(m2[k]))) &&
                   (memcmp(&s1[k], &s2[k], 8) == 0 || (isnan(s1[k]) && isnan(s2[k])));
        if (!same) fail_msg("GT %lld: cpu %.17g+%.17g opencl %.17g+%.17g", (long long)k, m1[k], s1[k], m2[k], s2[k]);
    }
    test_guarded_check(got), test_guarded_check(m2), test_guarded_check(s2);
    elements_compared += nc + 2 * total, inputs_compared += 2;
    test_guarded_free(ref), test_guarded_free(got);
    test_guarded_free(m1), test_guarded_free(s1), test_guarded_free(m2), test_guarded_free(s2);
}

/* Random ragged batches over FCOS points of three levels: crowd flags, labels,
 * duplicates, boxes partly outside the canvas, images without GTs. */
static void random_assigners(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *ocl = gpu_context(AA_MEMORY_HOST);
    const float strides[3] = {8, 16, 32};
    int64_t counts[3], n;
    float *pts = malloc(600 * 16);
    assert_int_equal(aa_point_generate(cpu, 3, strides, 0.5f, 128, 96, pts, 600, counts, &n), AA_SUCCESS);
    aa_anchors a = {pts, n, 3, counts, strides};
    aa_anchor_params ap; /* RetinaNet anchors on the same canvas */
    aa_anchor_params_init(&ap);
    ap.num_levels = 3;
    int64_t box_counts[3], nb;
    assert_int_equal(aa_anchor_count(cpu, &ap, 96, 128, box_counts, &nb), AA_SUCCESS);
    float *boxes = malloc((size_t)nb * 16);
    assert_int_equal(aa_anchor_generate(cpu, &ap, 96, 128, boxes, nb), AA_SUCCESS);
    aa_anchors ab = {boxes, nb, 3, box_counts, ap.strides};
    for (int trial = 0; trial < 30; ++trial) {
        int images = test_int(1, 6);
        int64_t offsets[7] = {0};
        for (int i = 0; i < images; ++i) offsets[i + 1] = offsets[i] + test_int(0, trial < 25 ? 12 : 300);
        int64_t total = offsets[images];
        float *gts = malloc((size_t)(total + 1) * 16);
        uint8_t *crowd = malloc((size_t)total + 1);
        int32_t *labels = malloc((size_t)(total + 1) * 4);
        for (int64_t k = 0; k < total; ++k) {
            test_random_box(gts + 4 * k, 96, 128, 100);
            if (k > 0 && test_int(0, 7) == 0) memcpy(gts + 4 * k, gts + 4 * (k - 1), 16);
            crowd[k] = test_int(0, 9) == 0;
            labels[k] = test_int(0, 79);
        }
        aa_gts g = {gts, offsets, images, crowd, labels, NULL};
        for (int w = 0; w < NUM_WHICH; ++w)
            compare_assigner(cpu, ocl, (which)w, w >= FIRST_BOX_ASSIGNER ? &ab : &a, &g);
        compare_primitives(cpu, ocl, test_int(1, 30), &ab, &g);
        compare_primitives(cpu, ocl, 9, &a, &g); /* points: equal distances abound */
        free(gts), free(crowd), free(labels);
    }
    free(pts), free(boxes);
    aa_context_destroy(cpu), aa_context_destroy(ocl);
}

static void random_batches(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *ocl = gpu_context(AA_MEMORY_HOST);
    for (int trial = 0; trial < 40; ++trial) {
        int64_t na = test_int(0, 700), offsets[6] = {0};
        int images = test_int(1, 5);
        for (int i = 0; i < images; ++i) offsets[i + 1] = offsets[i] + test_int(0, 9);
        int64_t ng = offsets[images];
        float *anchors = malloc((size_t)(na + 1) * 16), *gts = malloc((size_t)(ng + 1) * 16);
        for (int64_t i = 0; i < na; ++i) test_random_box(anchors + 4 * i, 400, 300, 150);
        for (int64_t i = 0; i < ng; ++i) test_random_box(gts + 4 * i, 400, 300, 200);
        int64_t count;
        float stride;
        aa_anchors a = test_anchors_1level(anchors, na, &count, &stride);
        aa_gts g = {gts, offsets, images, NULL, NULL, NULL};
        compare_overlaps(cpu, ocl, &a, &g);
        free(anchors), free(gts);
    }
    aa_context_destroy(cpu), aa_context_destroy(ocl);
}

/* Zero-area, duplicate, outside-the-image, touching and nested boxes; huge and
 * tiny coordinates; one GT; no GTs. */
static void adversarial(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *ocl = gpu_context(AA_MEMORY_HOST);
    const float anchors[] = {0, 0, 0, 0,       0, 0, 10, 10,     0, 0, 10, 10,   10, 0, 20, 10,
                             -50, -50, -10, -10, 1300, 700, 1400, 900, 2, 2, 4, 4, 0, 0, 1e-30f, 1e-30f,
                             -1e14f, -1e14f, 1e14f, 1e14f, 3.3333333f, 1.1f, 7.7777777f, 9.9f};
    const float gts[] = {0, 0, 10, 10, 0, 0, 10, 10, 5, 5, 5, 5, -20, -20, 0, 0, 0, 0, 1e14f, 1e-20f};
    int64_t count, offsets[4] = {0, 1, 1, 5};
    float stride;
    aa_anchors a = test_anchors_1level(anchors, 10, &count, &stride);
    aa_gts g = {gts, offsets, 3, NULL, NULL, NULL};
    compare_overlaps(cpu, ocl, &a, &g);
    for (int w = 0; w < NUM_WHICH; ++w) compare_assigner(cpu, ocl, (which)w, &a, &g);
    /* FCOS's INF rule: a GT of area 4e8 alone, then beside one invalid at the points */
    const float pts[] = {5, 5, 5, 5, 300, 300, 300, 300, 10000, 10000, 10000, 10000};
    const float huge[] = {0, 0, 20000, 20000, 0, 0, 20000, 20000, 100, 100, 110, 110};
    int64_t off2[3] = {0, 1, 3};
    aa_anchors pa = test_anchors_1level(pts, 3, &count, &stride);
    aa_gts hg = {huge, off2, 2, NULL, NULL, NULL};
    for (int w = 0; w < FIRST_BOX_ASSIGNER; ++w) compare_assigner(cpu, ocl, (which)w, &pa, &hg);
    aa_context_destroy(cpu), aa_context_destroy(ocl);
}

#if AA_TEST_HAVE_WORKLOAD
/* Real COCO boxes of the standard workloads: coco-atss (all modes) and
 * coco-retina (201,600 anchors), 16 images. */
static void coco(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *ocl = gpu_context(AA_MEMORY_HOST);
    aa_wl_dataset ds;
    aa_wl_error err;
    aa_wl_batch batch;
    if (aa_wl_load(AA_TEST_DATA, AA_WL_FORMAT_CSV, &ds, &err) != AA_WL_OK) fail_msg("%s", err.message);
    assert_int_equal(aa_wl_batch_make(&ds, 0, 16, &batch, &err), AA_WL_OK);
    aa_wl_anchor_set set;
    assert_int_equal(aa_wl_anchor_set_make(AA_WL_ANCHORS_ATSS, 800, 1344, &set, &err), AA_WL_OK);
    compare_overlaps(cpu, ocl, &set.anchors, &batch.gts);
    for (int w = ATSS; w < NUM_WHICH; ++w) compare_assigner(cpu, ocl, (which)w, &set.anchors, &batch.gts);
    compare_primitives(cpu, ocl, 9, &set.anchors, &batch.gts);
    {
        aa_wl_batch crowd_batch; /* images 100.. hold crowd boxes */
        assert_int_equal(aa_wl_batch_make(&ds, 100, 64, &crowd_batch, &err), AA_WL_OK);
        compare_assigner(cpu, ocl, ATSS_IGNORE, &set.anchors, &crowd_batch.gts);
        aa_wl_batch_free(&crowd_batch);
    }
    aa_wl_anchor_set_free(&set);
    assert_int_equal(aa_wl_anchor_set_make(AA_WL_ANCHORS_RETINA, 800, 1344, &set, &err), AA_WL_OK);
    compare_overlaps(cpu, ocl, &set.anchors, &batch.gts);
    for (int w = FIRST_BOX_ASSIGNER; w < ATSS; ++w)
        compare_assigner(cpu, ocl, (which)w, &set.anchors, &batch.gts);
    aa_wl_batch free_later = batch;
    assert_int_equal(aa_wl_batch_make(&ds, 100, 64, &batch, &err), AA_WL_OK); /* crowd boxes */
    compare_assigner(cpu, ocl, MAX_IOU_IGNORE, &set.anchors, &batch.gts);
    aa_wl_batch_free(&batch);
    batch = free_later;
    aa_wl_anchor_set_free(&set);
    assert_int_equal(aa_wl_anchor_set_make(AA_WL_POINTS_FCOS, 800, 1344, &set, &err), AA_WL_OK);
    for (int w = 0; w < FIRST_BOX_ASSIGNER; ++w) compare_assigner(cpu, ocl, (which)w, &set.anchors, &batch.gts);
    aa_wl_batch_free(&batch);
    /* images 100.. hold crowd boxes */
    assert_int_equal(aa_wl_batch_make(&ds, 100, 64, &batch, &err), AA_WL_OK);
    for (int w = 0; w < FIRST_BOX_ASSIGNER; ++w) compare_assigner(cpu, ocl, (which)w, &set.anchors, &batch.gts);
    aa_wl_anchor_set_free(&set);
    aa_wl_batch_free(&batch);
    aa_wl_dataset_free(&ds);
    aa_context_destroy(cpu), aa_context_destroy(ocl);
}
#endif

#if TEST_OPENCL
/* Native memory: cl_mem handles, the output written through a sub-buffer at an
 * offset (the elements before it untouched), on a queue the caller created. */
static void native_buffers_and_queue(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *ocl = gpu_context(AA_MEMORY_NATIVE);
    assert_true(strlen(aa_context_device_name(ocl)) > 0);
    fprintf(stderr, "OpenCL device: %s\n", aa_context_device_name(ocl));
    void *q0 = NULL;
    assert_int_equal(aa_context_get_stream(ocl, &q0), AA_SUCCESS);
    assert_non_null(q0);
    cl_context clctx;
    cl_device_id dev;
    assert_int_equal(clGetCommandQueueInfo((cl_command_queue)q0, CL_QUEUE_CONTEXT, sizeof clctx, &clctx, NULL), CL_SUCCESS);
    assert_int_equal(clGetCommandQueueInfo((cl_command_queue)q0, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL), CL_SUCCESS);
    cl_int e;
    cl_command_queue mine = clCreateCommandQueue(clctx, dev, 0, &e);
    assert_int_equal(e, CL_SUCCESS);
    assert_int_equal(aa_context_set_stream(ocl, mine), AA_SUCCESS);

    enum { A = 300, G = 7 };
    float anchors[A * 4], gts[G * 4], ref[A * G];
    for (int i = 0; i < A; ++i) test_random_box(anchors + 4 * i, 200, 200, 90);
    for (int i = 0; i < G; ++i) test_random_box(gts + 4 * i, 200, 200, 90);
    int64_t count, offsets[3] = {0, 3, G};
    float stride;
    aa_anchors host_a = test_anchors_1level(anchors, A, &count, &stride);
    aa_gts host_g = {gts, offsets, 2, NULL, NULL, NULL};
    assert_int_equal(aa_overlaps(cpu, AA_GIOU, 1e-6f, &host_a, &host_g, ref), AA_SUCCESS);

    cl_mem da = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof anchors, anchors, &e);
    assert_int_equal(e, CL_SUCCESS);
    cl_mem dg = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof gts, gts, &e);
    assert_int_equal(e, CL_SUCCESS);
    cl_uint align_bits = 0;
    clGetDeviceInfo(dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL);
    size_t offset = align_bits / 8 > 0 ? align_bits / 8 : 128;
    size_t total = offset + sizeof ref + 64;
    unsigned char *poison = malloc(total);
    memset(poison, 0xCD, total);
    cl_mem whole = clCreateBuffer(clctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, total, poison, &e);
    assert_int_equal(e, CL_SUCCESS);
    cl_buffer_region region = {offset, sizeof ref};
    cl_mem sub = clCreateSubBuffer(whole, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &e);
    assert_int_equal(e, CL_SUCCESS);

    aa_anchors dev_a = host_a;
    dev_a.boxes = (const float *)(uintptr_t)da;
    aa_gts dev_g = host_g;
    dev_g.boxes = (const float *)(uintptr_t)dg;
    aa_status st = aa_overlaps(ocl, AA_GIOU, 1e-6f, &dev_a, &dev_g, (float *)(uintptr_t)sub);
    if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ocl));
    unsigned char *back = malloc(total);
    assert_int_equal(clEnqueueReadBuffer(mine, whole, CL_TRUE, 0, total, back, 0, NULL, NULL), CL_SUCCESS);
    for (size_t i = 0; i < offset; ++i) assert_int_equal(back[i], 0xCD);
    for (size_t i = offset + sizeof ref; i < total; ++i) assert_int_equal(back[i], 0xCD);
    assert_memory_equal(back + offset, ref, sizeof ref);
    elements_compared += A * G, ++inputs_compared;

    /* FCOS on cl_mem buffers: the kernels read gts.device_offsets */
    {
        float pts[A * 4];
        for (int i = 0; i < A; ++i) {
            float x = (float)(i % 20) * 10 + 5, y = (float)(i / 20) * 10 + 5;
            pts[4 * i] = pts[4 * i + 2] = x, pts[4 * i + 1] = pts[4 * i + 3] = y;
        }
        aa_anchors pa = test_anchors_1level(pts, A, &count, &stride);
        aa_fcos_params fp;
        aa_fcos_params_init(&fp);
        fp.num_regress_ranges = 1, fp.regress_hi[0] = 1e8f;
        test_outputs want;
        test_outputs_alloc(&want, 2, A, 0);
        assert_int_equal(aa_assign_fcos(cpu, &fp, &pa, &host_g, &want.out, NULL, 0), AA_SUCCESS);
        cl_mem dp = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof pts, pts, &e);
        cl_mem doff = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof offsets, offsets, &e);
        cl_mem dix = clCreateBuffer(clctx, CL_MEM_READ_WRITE, 2 * A * 4, NULL, &e);
        cl_mem dov = clCreateBuffer(clctx, CL_MEM_READ_WRITE, 2 * A * 4, NULL, &e);
        assert_int_equal(e, CL_SUCCESS);
        aa_anchors dpa = pa;
        dpa.boxes = (const float *)(uintptr_t)dp;
        aa_assignment dout = {(int32_t *)(uintptr_t)dix, (float *)(uintptr_t)dov, NULL};
        test_outputs t;
        test_outputs_alloc(&t, 2, A, 0);
        ASSERT_FAILS(ocl, aa_assign_fcos(ocl, &fp, &dpa, &dev_g, &dout, NULL, 0), AA_ERR_NULL_POINTER,
                     "gts.device_offsets", 1);
        dev_g.device_offsets = (const int64_t *)(uintptr_t)doff;
        st = aa_assign_fcos(ocl, &fp, &dpa, &dev_g, &dout, NULL, 0);
        if (st != AA_SUCCESS) fail_msg("%s", aa_context_last_error(ocl));
        assert_int_equal(clEnqueueReadBuffer(mine, dix, CL_TRUE, 0, 2 * A * 4, t.gt_index, 0, NULL, NULL), CL_SUCCESS);
        assert_int_equal(clEnqueueReadBuffer(mine, dov, CL_TRUE, 0, 2 * A * 4, t.overlap, 0, NULL, NULL), CL_SUCCESS);
        assert_memory_equal(t.gt_index, want.gt_index, 2 * A * 4);
        assert_memory_equal(t.overlap, want.overlap, 2 * A * 4);
        elements_compared += 2 * A, ++inputs_compared;
        test_outputs_free(&t), test_outputs_free(&want);
        clReleaseMemObject(dp), clReleaseMemObject(doff), clReleaseMemObject(dix), clReleaseMemObject(dov);
    }

    /* a queue of another cl_context is refused */
    cl_context other = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    cl_command_queue foreign = clCreateCommandQueue(other, dev, 0, &e);
    ASSERT_FAILS(ocl, aa_context_set_stream(ocl, foreign), AA_ERR_INVALID_ARGUMENT, "cl_context", 1);
    assert_int_equal(aa_context_set_stream(ocl, NULL), AA_SUCCESS);
    void *q1 = NULL;
    assert_int_equal(aa_context_get_stream(ocl, &q1), AA_SUCCESS);
    assert_ptr_equal(q1, q0);

    clReleaseCommandQueue(foreign), clReleaseContext(other);
    free(poison), free(back);
    clReleaseMemObject(sub), clReleaseMemObject(whole), clReleaseMemObject(da), clReleaseMemObject(dg);
    aa_context_destroy(ocl); /* before its caller queue goes */
    clReleaseCommandQueue(mine);
    aa_context_destroy(cpu);
}

#endif

/* Bad input on a GPU backend: the same checks, nothing written. */
static void bad_input_and_unsupported(void **state)
{
    (void)state;
    aa_context *ocl = gpu_context(AA_MEMORY_HOST);
    const float anchors[] = {0, 0, 10, 10, 5, 5, 8, 8}, gts[] = {0, 0, NAN, 10};
    int64_t count, offsets[2] = {0, 1};
    float stride;
    aa_anchors a = test_anchors_1level(anchors, 2, &count, &stride);
    aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
    float *out = test_guarded_alloc(2, sizeof(float));
    ASSERT_FAILS(ocl, aa_overlaps(ocl, AA_IOU, 1e-6f, &a, &g, out), AA_ERR_INVALID_BOX,
                 "gts.boxes[0] (image 0, GT 0): coordinate 2 is NaN", test_guarded_untouched(out));
    test_outputs t;
    test_outputs_alloc(&t, 1, 2, 0);
    int32_t *cand = test_guarded_alloc(9, sizeof(int32_t));
    ASSERT_FAILS(ocl, aa_topk_nearest(ocl, 9, &a, &g, cand), AA_ERR_INVALID_BOX, "gts.boxes[0]",
                 test_guarded_untouched(cand));
    test_guarded_free(cand);
    ASSERT_FAILS(ocl, aa_assign_atss(ocl, NULL, &a, &g, &t.out, NULL, 0), AA_ERR_INVALID_BOX,
                 "gts.boxes[0]", test_outputs_untouched(&t));
    aa_fcos_params p;
    aa_fcos_params_init(&p);
    p.num_regress_ranges = 1;
    ASSERT_FAILS(ocl, aa_assign_fcos(ocl, &p, &a, &g, &t.out, NULL, 0), AA_ERR_INVALID_BOX,
                 "gts.boxes[0]", test_outputs_untouched(&t));
    test_outputs_free(&t);
    test_guarded_check(out);
    test_guarded_free(out);
    aa_context_destroy(ocl);
}

#if TEST_OPENCL
/* Workspace rules: host-memory mode keeps its own (a caller workspace is refused);
 * native mode takes a cl_mem of the queried size, and refuses a short one. */
static void workspace_rules(void **state)
{
    (void)state;
    aa_context *host = gpu_context(AA_MEMORY_HOST), *native = gpu_context(AA_MEMORY_NATIVE);
    aa_context *cpu = test_cpu_context();
    const float anchors[] = {0, 0, 10, 10, 5, 5, 15, 15, 20, 20, 30, 30}, gts[] = {0, 0, 10, 9};
    int64_t count, offsets[2] = {0, 1};
    float stride;
    aa_anchors a = test_anchors_1level(anchors, 3, &count, &stride);
    aa_gts g = {gts, offsets, 1, NULL, NULL, NULL};
    test_outputs t, want;
    test_outputs_alloc(&t, 1, 3, 0);
    test_outputs_alloc(&want, 1, 3, 0);
    char dummy[16];
    ASSERT_FAILS(host, aa_assign_max_iou(host, NULL, &a, &g, &t.out, dummy, sizeof dummy),
                 AA_ERR_INVALID_ARGUMENT, "workspace: must be NULL", test_outputs_untouched(&t));
    assert_int_equal(aa_context_reserve(host, 1 << 20), AA_SUCCESS);
    assert_int_equal(aa_assign_max_iou(host, NULL, &a, &g, &t.out, NULL, 0), AA_SUCCESS);
    assert_int_equal(aa_assign_max_iou(cpu, NULL, &a, &g, &want.out, NULL, 0), AA_SUCCESS);
    assert_memory_equal(t.gt_index, want.gt_index, 12);

    size_t bytes = 0;
    assert_int_equal(aa_max_iou_workspace_size(native, NULL, &a, &g, &bytes), AA_SUCCESS);
    assert_true(bytes >= 3 * 4 * 2 + 4 + 8);
    void *q;
    cl_context clctx;
    cl_int e;
    assert_int_equal(aa_context_get_stream(native, &q), AA_SUCCESS);
    clGetCommandQueueInfo((cl_command_queue)q, CL_QUEUE_CONTEXT, sizeof clctx, &clctx, NULL);
    cl_mem da = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof anchors, (void *)anchors, &e);
    cl_mem dg = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof gts, (void *)gts, &e);
    cl_mem doff = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof offsets, offsets, &e);
    cl_mem dix = clCreateBuffer(clctx, CL_MEM_READ_WRITE, 12, NULL, &e);
    cl_mem dws = clCreateBuffer(clctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    assert_int_equal(e, CL_SUCCESS);
    aa_anchors da_ = a;
    da_.boxes = (const float *)(uintptr_t)da;
    aa_gts dg_ = g;
    dg_.boxes = (const float *)(uintptr_t)dg, dg_.device_offsets = (const int64_t *)(uintptr_t)doff;
    aa_assignment dout = {(int32_t *)(uintptr_t)dix, NULL, NULL};
    ASSERT_FAILS(native, aa_assign_max_iou(native, NULL, &da_, &dg_, &dout, (void *)(uintptr_t)dws, bytes - 1),
                 AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes", 1);
    assert_int_equal(aa_assign_max_iou(native, NULL, &da_, &dg_, &dout, (void *)(uintptr_t)dws, bytes), AA_SUCCESS);
    int32_t back[3];
    assert_int_equal(clEnqueueReadBuffer((cl_command_queue)q, dix, CL_TRUE, 0, 12, back, 0, NULL, NULL), CL_SUCCESS);
    assert_memory_equal(back, want.gt_index, 12);

    /* FCOS needs no workspace on a GPU backend: the query says 0, a host-mode one is
     * refused like the others' (once it was neither: fuzz_parity's native side) */
    aa_fcos_params fp;
    aa_fcos_params_init(&fp);
    fp.num_regress_ranges = 1, fp.regress_lo[0] = -1.0f, fp.regress_hi[0] = 1e8f;
    test_outputs_poison(&t);
    ASSERT_FAILS(host, aa_assign_fcos(host, &fp, &a, &g, &t.out, dummy, sizeof dummy), AA_ERR_INVALID_ARGUMENT,
                 "workspace: must be NULL", test_outputs_untouched(&t));
    size_t fcos_bytes = 1;
    assert_int_equal(aa_fcos_workspace_size(native, &fp, &a, &g, &fcos_bytes), AA_SUCCESS);
    assert_int_equal(fcos_bytes, 0);
    /* nothing to launch (no anchors) does not excuse a short workspace */
    int64_t no_count = 0;
    aa_anchors none = {(const float *)(uintptr_t)da, 0, 1, &no_count, &stride};
    size_t atss_bytes = 0;
    assert_int_equal(aa_atss_workspace_size(native, NULL, &none, &dg_, &atss_bytes), AA_SUCCESS);
    assert_true(atss_bytes > 0);
    ASSERT_FAILS(native, aa_assign_atss(native, NULL, &none, &dg_, &dout, (void *)(uintptr_t)dws, atss_bytes - 1),
                 AA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes", 1);
    clReleaseMemObject(da), clReleaseMemObject(dg), clReleaseMemObject(doff), clReleaseMemObject(dix);
    clReleaseMemObject(dws);
    test_outputs_free(&t), test_outputs_free(&want);
    aa_context_destroy(host), aa_context_destroy(native), aa_context_destroy(cpu);
}

#endif

#if TEST_CUDA
#define CUDA_OK(call) assert_int_equal((int)(call), (int)cudaSuccess)

/* One AA_MEMORY_NATIVE call of PAA or LADA with a caller workspace, as the loss-aware
 * parity tests make it: captured into a CUDA graph by cuda_graph_replay. */
typedef struct native_head_call {
    int lada; /* else PAA */
    const void *params; /* aa_lada_params or aa_paa_params */
    const aa_anchors *anchors;
    const aa_gts *gts;
    const aa_head_outputs *head;
    const aa_assignment *out; /* device buffers, NUM_IMAGES x num_anchors each */
    void *workspace;
    size_t workspace_bytes;
} native_head_call;

static aa_status native_head_run(aa_context *gpu, const native_head_call *c)
{
    if (c->lada)
        return aa_assign_lada(gpu, c->params, c->anchors, c->gts, c->head, c->out, c->workspace,
                              c->workspace_bytes);
    return aa_assign_paa(gpu, c->params, c->anchors, c->gts, c->head, c->out, c->workspace, c->workspace_bytes);
}

/* The call captured into a CUDA graph on a stream of the test's (no allocation, no
 * host synchronisation may happen inside), replayed twice with every output poisoned
 * before: each replay gives the bytes the uncaptured call gave (want: gt_index,
 * overlap, labels, `bytes` each). The context's stream is restored afterwards. */
static void cuda_graph_replay(aa_context *gpu, const native_head_call *c, const void *const want[3],
                              size_t bytes, const char *what)
{
    void *old = NULL;
    assert_int_equal(aa_context_get_stream(gpu, &old), AA_SUCCESS);
    cudaStream_t stream;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    assert_int_equal(aa_context_set_stream(gpu, stream), AA_SUCCESS);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    aa_status st = native_head_run(gpu, c);
    CUDA_OK(cudaStreamEndCapture(stream, &graph));
    if (st != AA_SUCCESS) fail_msg("%s, captured: %s", what, aa_context_last_error(gpu));
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    void *dev[3] = {c->out->gt_index, c->out->overlap, c->out->labels};
    unsigned char *host = malloc(bytes + 1);
    for (int replay = 0; replay < 2; ++replay) {
        for (int k = 0; k < 3; ++k) CUDA_OK(cudaMemsetAsync(dev[k], 0xCD, bytes, stream));
        CUDA_OK(cudaGraphLaunch(exec, stream));
        CUDA_OK(cudaStreamSynchronize(stream));
        for (int k = 0; k < 3; ++k) {
            CUDA_OK(cudaMemcpy(host, dev[k], bytes, cudaMemcpyDeviceToHost));
            if (memcmp(host, want[k], bytes) != 0)
                fail_msg("%s: graph replay %d: output %d differs from the uncaptured call's", what, replay, k);
        }
        elements_compared += 3 * (int64_t)(bytes / 4);
    }
    free(host);
    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(graph));
    assert_int_equal(aa_context_set_stream(gpu, old), AA_SUCCESS);
    CUDA_OK(cudaStreamDestroy(stream));
}

/* Device memory, a caller stream, the caller's current device left as it was, and
 * a call captured into a CUDA graph and replayed: the replay's outputs equal the
 * reference. */
static void cuda_native_stream_and_graph(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context(), *gpu = gpu_context(AA_MEMORY_NATIVE);
    aa_anchor_params ap;
    aa_anchor_params_init(&ap);
    ap.num_ratios = 1, ap.ratios[0] = 1.0f, ap.octave_base_scale = 8, ap.scales_per_octave = 1;
    int64_t counts[5], n;
    assert_int_equal(aa_anchor_count(cpu, &ap, 256, 320, counts, &n), AA_SUCCESS);
    float *boxes = malloc((size_t)n * 16);
    assert_int_equal(aa_anchor_generate(cpu, &ap, 256, 320, boxes, n), AA_SUCCESS);
    enum { IMAGES = 3 };
    int64_t offsets[IMAGES + 1] = {0, 5, 5, 12};
    float gts[12 * 4];
    for (int k = 0; k < 12; ++k) test_random_box(gts + 4 * k, 320, 256, 120);
    aa_anchors a = {boxes, n, 5, counts, ap.strides};
    aa_gts g = {gts, offsets, IMAGES, NULL, NULL, NULL};
    test_outputs want;
    test_outputs_alloc(&want, IMAGES, n, 0);
    assert_int_equal(aa_assign_atss(cpu, NULL, &a, &g, &want.out, NULL, 0), AA_SUCCESS);

    float *d_boxes, *d_gts, *d_ov;
    int64_t *d_off;
    int32_t *d_ix;
    CUDA_OK(cudaMalloc((void **)&d_boxes, (size_t)n * 16));
    CUDA_OK(cudaMalloc((void **)&d_gts, sizeof gts));
    CUDA_OK(cudaMalloc((void **)&d_off, sizeof offsets));
    CUDA_OK(cudaMalloc((void **)&d_ix, (size_t)(IMAGES * n) * 4));
    CUDA_OK(cudaMalloc((void **)&d_ov, (size_t)(IMAGES * n) * 4));
    CUDA_OK(cudaMemcpy(d_boxes, boxes, (size_t)n * 16, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(d_gts, gts, sizeof gts, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(d_off, offsets, sizeof offsets, cudaMemcpyHostToDevice));
    aa_anchors da = a;
    da.boxes = d_boxes;
    aa_gts dg = g;
    dg.boxes = d_gts, dg.device_offsets = d_off;
    aa_assignment dout = {d_ix, d_ov, NULL};

    cudaStream_t stream;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    assert_int_equal(aa_context_set_stream(gpu, stream), AA_SUCCESS);
    size_t ws_bytes;
    assert_int_equal(aa_atss_workspace_size(gpu, NULL, &da, &dg, &ws_bytes), AA_SUCCESS);
    assert_int_equal(aa_context_reserve(gpu, ws_bytes), AA_SUCCESS); /* no allocation when captured */
    int before = -1, after = -2;
    CUDA_OK(cudaGetDevice(&before));

    /* capture one call into a graph, replay it twice */
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    aa_status st = aa_assign_atss(gpu, NULL, &da, &dg, &dout, NULL, 0);
    CUDA_OK(cudaStreamEndCapture(stream, &graph));
    if (st != AA_SUCCESS) fail_msg("captured call: %s", aa_context_last_error(gpu));
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    test_outputs got;
    test_outputs_alloc(&got, IMAGES, n, 0);
    for (int replay = 0; replay < 2; ++replay) {
        CUDA_OK(cudaMemsetAsync(d_ix, 0xCD, (size_t)(IMAGES * n) * 4, stream)); /* poison */
        CUDA_OK(cudaGraphLaunch(exec, stream));
        CUDA_OK(cudaMemcpyAsync(got.gt_index, d_ix, (size_t)(IMAGES * n) * 4, cudaMemcpyDeviceToHost, stream));
        CUDA_OK(cudaMemcpyAsync(got.overlap, d_ov, (size_t)(IMAGES * n) * 4, cudaMemcpyDeviceToHost, stream));
        CUDA_OK(cudaStreamSynchronize(stream));
        assert_memory_equal(got.gt_index, want.gt_index, (size_t)(IMAGES * n) * 4);
        assert_memory_equal(got.overlap, want.overlap, (size_t)(IMAGES * n) * 4);
    }
    CUDA_OK(cudaGetDevice(&after));
    assert_int_equal(before, after);
    elements_compared += 2 * IMAGES * n, inputs_compared += 2;

    cudaGraphExecDestroy(exec), cudaGraphDestroy(graph);
    aa_context_destroy(gpu);
    cudaStreamDestroy(stream);
    cudaFree(d_boxes), cudaFree(d_gts), cudaFree(d_off), cudaFree(d_ix), cudaFree(d_ov);
    test_outputs_free(&want), test_outputs_free(&got);
    free(boxes);
    aa_context_destroy(cpu);
}
#endif

#include "parity_gmm.h"
#include "parity_paa.h"
#include "parity_lada.h"

static int summary(void **state)
{
    (void)state;
    fprintf(stderr, "%s parity: %lld inputs, %lld elements compared bit for bit, 0 differences\n",
            aa_backend_name(TEST_BACKEND), (long long)inputs_compared, (long long)elements_compared);
    gmm_summary();
    paa_summary();
    lada_summary();
    return 0;
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_batches),
        cmocka_unit_test(random_assigners),
        cmocka_unit_test(adversarial),
        cmocka_unit_test(gmm_random_batches),
        cmocka_unit_test(gmm_edges),
        cmocka_unit_test(gmm_large),
        cmocka_unit_test(gmm_native),
        cmocka_unit_test(paa_random),
        cmocka_unit_test(paa_native),
#if AA_TEST_HAVE_WORKLOAD
        cmocka_unit_test(paa_coco),
#endif
        cmocka_unit_test(lada_random),
        cmocka_unit_test(lada_native),
#if AA_TEST_HAVE_WORKLOAD
        cmocka_unit_test(lada_coco),
#endif
#if AA_TEST_HAVE_WORKLOAD
        cmocka_unit_test(coco),
#endif
#if TEST_OPENCL
        cmocka_unit_test(native_buffers_and_queue),
#endif
        cmocka_unit_test(bad_input_and_unsupported),
#if TEST_OPENCL
        cmocka_unit_test(workspace_rules),
#endif
#if TEST_CUDA
        cmocka_unit_test(cuda_native_stream_and_graph),
#endif
    };
#if !TEST_OPENCL
    aa_context *probe = NULL;
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = TEST_BACKEND;
    aa_status st = aa_context_create(&probe, &o);
    if (st == AA_ERR_NO_DEVICE) { /* no GPU here: a clean skip (CTest SKIP_RETURN_CODE) */
        fprintf(stderr, "skipped: %s\n", aa_context_create_error());
        return 77;
    }
    aa_context_destroy(probe);
#endif
    return cmocka_run_group_tests(tests, NULL, summary);
}
