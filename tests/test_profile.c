/* test_profile.c - stage timing (aa_context_profile, aa_context_stages): every call
 * of a GPU backend reports one stage per kernel launch, in launch order, with the
 * kernel's name, a time and its least bytes (host/traffic.h, worked out by hand); the outputs are the same as without profiling; profiling
 * off leaves no stage; the CPU reference refuses (AA_ERR_NOT_SUPPORTED). On OpenCL
 * (PoCL in CI: no device is a failure) and on CUDA where a GPU is present. */
#include "failure_fixture.h"

typedef struct call {
    const char *name;
    aa_status (*run)(aa_context *ctx, outputs *o);
    const char *kernels[8]; /* the launches on this fixture, in order */
    double bytes[8];        /* each launch's least bytes (host/traffic.h), worked out below */
} call;

/* The least bytes on this fixture, by hand from traffic.h's rule: 6 anchors (96 B),
 * 2 images (offsets 24 B, both with GTs), 3 GTs with crowd flags (boxes, flags and
 * offsets: 75 B), 12 rows, all three assignment outputs (144 B), ATSS's topk 9 over
 * 2 levels (candidates 216 B); the EM: 3 segments, 10 points, K = 2, every output. */
static const call calls[] = {
    {"aa_overlaps", run_overlaps, {"aa_overlaps_kernel"}, {96 + 48 + 72}},
    {"aa_assign_max_iou", run_max_iou,
     {"aa_max_iou_anchor_kernel", "aa_max_iou_gt_kernel", "aa_max_iou_assign_kernel"},
     {96 + 75 + 96, 96 + 75 + 48 + 36, 96 + 75 + 48 + 36 + 144}},
    {"aa_assign_atss", run_atss,
     {"aa_atss_prepare_kernel", "aa_atss_topk_kernel", "aa_atss_select_kernel", "aa_atss_assign_kernel"},
     {96 + 75 + 108, 96 + 75 + 12 + 216, 75 + 216, 108 + 144}},
    {"aa_assign_fcos", run_fcos, {"aa_fcos_kernel"}, {96 + 75 + 144}},
    {"aa_gmm_fit", run_gmm, {"aa_gmm_kernel"}, {40 + 32 + 144 + 24 + 24 + 120}},
    {"aa_assign_paa", run_paa,
     {"aa_max_iou_anchor_kernel", "aa_max_iou_gt_kernel", "aa_max_iou_assign_kernel", "aa_paa_copy_kernel",
      "aa_paa_cost_kernel", "aa_paa_init_kernel", "aa_paa_select_kernel"},
     {96 + 75 + 96, 96 + 75 + 48 + 36, 96 + 75 + 48 + 36 + 48, 96, 24 + 96, 48 + 144, 24 + 48}},
    {"aa_assign_lada", run_lada, {"aa_lada_clear_kernel", "aa_lada_select_kernel", "aa_lada_assign_kernel"},
     {96, 96 + 75 + 12, 24 + 96 + 144}},
};
enum { NUM_CALLS = sizeof calls / sizeof calls[0] };

#if AA_TEST_HAVE_OPENCL || AA_TEST_HAVE_CUDA
static void check_backend(aa_backend backend)
{
    aa_context *ctx = test_gpu_context(backend, AA_MEMORY_HOST);
    const aa_stage_time *stages = NULL;
    int count = -1;
    for (int c = 0; c < NUM_CALLS; ++c) {
        /* without profiling: the reference bytes, no stage */
        snapshot plain;
        outputs_poison(&outs);
        test_ok(ctx, calls[c].run(ctx, &outs), calls[c].name);
        snapshot_take(&outs, &plain);
        assert_int_equal(aa_context_stages(ctx, &stages, &count), AA_SUCCESS);
        assert_int_equal(count, 0);

        test_ok(ctx, aa_context_profile(ctx, 1), "aa_context_profile(1)");
        outputs_poison(&outs);
        test_ok(ctx, calls[c].run(ctx, &outs), calls[c].name);
        snapshot_assert_equal(&outs, &plain, calls[c].name);
        assert_int_equal(aa_context_stages(ctx, &stages, &count), AA_SUCCESS);
        int want = 0;
        while (want < 8 && calls[c].kernels[want]) ++want;
        if (count != want) fail_msg("%s: %d stages, expected %d", calls[c].name, count, want);
        for (int k = 0; k < count; ++k) {
            if (verbose())
                fprintf(stderr, "%s %s: stage %d %s %.3f ms %.0f B\n", aa_backend_name(backend),
                        calls[c].name, k, stages[k].kernel, stages[k].ms, stages[k].bytes);
            assert_string_equal(stages[k].kernel, calls[c].kernels[k]);
            if (stages[k].bytes != calls[c].bytes[k])
                fail_msg("%s stage %d (%s): %.0f bytes, expected %.0f", calls[c].name, k,
                         stages[k].kernel, stages[k].bytes, calls[c].bytes[k]);
            if (!(stages[k].ms >= 0.0 && stages[k].ms < 60e3))
                fail_msg("%s stage %d: %g ms", calls[c].name, k, stages[k].ms);
        }
        /* a second call replaces the stages, it does not append */
        outputs_poison(&outs);
        test_ok(ctx, calls[c].run(ctx, &outs), calls[c].name);
        assert_int_equal(aa_context_stages(ctx, &stages, &count), AA_SUCCESS);
        assert_int_equal(count, want);

        test_ok(ctx, aa_context_profile(ctx, 0), "aa_context_profile(0)");
        assert_int_equal(aa_context_stages(ctx, &stages, &count), AA_SUCCESS);
        assert_int_equal(count, 0);
    }
    /* a call refused before it reaches the device keeps the last call's stages */
    test_ok(ctx, aa_context_profile(ctx, 1), "aa_context_profile(1)");
    test_ok(ctx, run_atss(ctx, &outs), "aa_assign_atss");
    assert_int_equal(aa_assign_atss(ctx, &fx.atss, &fx.a, &fx.g, NULL, NULL, 0), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_context_stages(ctx, &stages, &count), AA_SUCCESS);
    assert_int_equal(count, 4);
    assert_string_equal(stages[0].kernel, "aa_atss_prepare_kernel");
    assert_int_equal(aa_context_stages(ctx, NULL, &count), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_context_stages(ctx, &stages, NULL), AA_ERR_NULL_POINTER);
    aa_context_destroy(ctx);
}
#endif

static void cpu_refuses(void **state)
{
    (void)state;
    aa_context *cpu = test_cpu_context();
    assert_int_equal(aa_context_profile(cpu, 1), AA_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(aa_context_last_error(cpu), "aa_context_profile"));
    const aa_stage_time *stages;
    int count;
    assert_int_equal(aa_context_stages(cpu, &stages, &count), AA_ERR_NOT_SUPPORTED);
    assert_int_equal(aa_context_profile(NULL, 1), AA_ERR_NULL_POINTER);
    aa_context_destroy(cpu);
}

#if AA_TEST_HAVE_OPENCL
static void opencl(void **state)
{
    (void)state;
    check_backend(AA_BACKEND_OPENCL);
}
#endif

#if AA_TEST_HAVE_CUDA
static void cuda(void **state)
{
    (void)state;
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = AA_BACKEND_CUDA;
    aa_context *probe = NULL;
    if (aa_context_create(&probe, &o) == AA_ERR_NO_DEVICE) {
        fprintf(stderr, "cuda: skipped (%s)\n", aa_context_create_error());
        skip();
    }
    aa_context_destroy(probe);
    check_backend(AA_BACKEND_CUDA);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_refuses),
#if AA_TEST_HAVE_OPENCL
        cmocka_unit_test(opencl),
#endif
#if AA_TEST_HAVE_CUDA
        cmocka_unit_test(cuda),
#endif
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
