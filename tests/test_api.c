/* test_api.c - version, status strings, backends and the context life cycle. */
#include "common.h"

static void version(void **state)
{
    (void)state;
    assert_int_equal(aa_version_number(), AA_VERSION_NUMBER);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", AA_VERSION_MAJOR, AA_VERSION_MINOR, AA_VERSION_PATCH);
    assert_string_equal(aa_version_string(), expected);
}

static void status_strings(void **state)
{
    (void)state;
    /* stable values */
    assert_int_equal(AA_SUCCESS, 0);
    assert_int_equal(AA_ERR_INVALID_BOX, 3);
    assert_int_equal(AA_ERR_INTERNAL, 10);
    for (int s = AA_SUCCESS; s <= AA_ERR_INTERNAL; ++s) {
        const char *text = aa_status_string((aa_status)s);
        assert_non_null(text);
        assert_true(strncmp(text, "AA_", 3) == 0);
        for (int o = AA_SUCCESS; o < s; ++o) assert_string_not_equal(text, aa_status_string((aa_status)o));
    }
    assert_string_equal(aa_status_string((aa_status)99), "unknown aa_status value");
    assert_string_equal(aa_backend_name(AA_BACKEND_CPU), "cpu");
    assert_string_equal(aa_backend_name(AA_BACKEND_OPENCL), "opencl");
}

static aa_status create(aa_backend backend, aa_context **ctx)
{
    aa_context_options o;
    aa_context_options_init(&o);
    o.backend = backend;
    return aa_context_create(ctx, &o);
}

/* CPU and AUTO give the reference (on a machine without GPUs); CUDA and OpenCL as
 * the build has them. */
static void backends(void **state)
{
    (void)state;
    aa_context *ctx = (aa_context *)1;
    assert_int_equal(create(AA_BACKEND_CPU, &ctx), AA_SUCCESS);
    assert_int_equal(aa_context_backend(ctx), AA_BACKEND_CPU);
    assert_string_equal(aa_context_device_name(ctx), "CPU reference");
    assert_string_equal(aa_context_last_error(ctx), "");
    assert_string_equal(aa_context_create_error(), "");
    aa_context_destroy(ctx);
    /* AUTO: an OpenCL GPU where there is one, else the reference (CI: PoCL is a CPU
     * device, so the reference) */
    assert_int_equal(create(AA_BACKEND_AUTO, &ctx), AA_SUCCESS);
    assert_true(aa_context_backend(ctx) == AA_BACKEND_CPU || aa_context_backend(ctx) == AA_BACKEND_OPENCL);
    fprintf(stderr, "AUTO chose %s (%s)\n", aa_backend_name(aa_context_backend(ctx)), aa_context_device_name(ctx));
    aa_context_destroy(ctx);
    assert_int_equal(aa_context_create(&ctx, NULL), AA_SUCCESS);
    assert_true(aa_context_backend(ctx) == AA_BACKEND_CPU || aa_context_backend(ctx) == AA_BACKEND_OPENCL);
    aa_context_destroy(ctx);
    ctx = (aa_context *)1;
#if AA_TEST_HAVE_CUDA /* a device, or a clean "no device" with the runtime's reason */
    aa_status cst = create(AA_BACKEND_CUDA, &ctx);
    if (cst == AA_SUCCESS) {
        assert_int_equal(aa_context_backend(ctx), AA_BACKEND_CUDA);
        aa_context_destroy(ctx);
    } else {
        assert_int_equal(cst, AA_ERR_NO_DEVICE);
        assert_null(ctx);
        assert_non_null(strstr(aa_context_create_error(), "CUDA"));
    }
#else
    assert_int_equal(create(AA_BACKEND_CUDA, &ctx), AA_ERR_NOT_SUPPORTED);
    assert_null(ctx);
    assert_non_null(strstr(aa_context_create_error(), "cuda"));
#endif
#if AA_TEST_HAVE_OPENCL /* its own tests are in test_opencl.c */
    assert_int_equal(create(AA_BACKEND_OPENCL, &ctx), AA_SUCCESS);
    assert_int_equal(aa_context_backend(ctx), AA_BACKEND_OPENCL);
    aa_context_destroy(ctx);
#else
    assert_int_equal(create(AA_BACKEND_OPENCL, &ctx), AA_ERR_NOT_SUPPORTED);
    assert_null(ctx);
    assert_non_null(strstr(aa_context_create_error(), "opencl"));
#endif
    assert_int_equal(create((aa_backend)42, &ctx), AA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(aa_context_create_error(), "options.backend"));
    assert_int_equal(aa_context_create(NULL, NULL), AA_ERR_NULL_POINTER);
    aa_context_options o;
    aa_context_options_init(&o);
    o.struct_size = 0;
    assert_int_equal(aa_context_create(&ctx, &o), AA_ERR_INVALID_ARGUMENT);
    aa_context_options_init(&o);
    o.device = -1;
    assert_int_equal(aa_context_create(&ctx, &o), AA_ERR_INVALID_ARGUMENT);
    aa_context_destroy(NULL); /* no-op */
}

static void streams_errors_workspace(void **state)
{
    (void)state;
    aa_context *ctx = test_cpu_context();
    void *stream = (void *)1;
    assert_int_equal(aa_context_get_stream(ctx, &stream), AA_SUCCESS);
    assert_null(stream);
    assert_int_equal(aa_context_set_stream(ctx, NULL), AA_SUCCESS);
    assert_int_equal(aa_context_set_stream(ctx, (void *)16), AA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(aa_context_last_error(ctx), "stream"));
    assert_int_equal(aa_context_reserve(ctx, 1 << 20), AA_SUCCESS);
    assert_int_equal(aa_context_reserve(NULL, 1), AA_ERR_NULL_POINTER);
    assert_int_equal(aa_context_reserve(ctx, SIZE_MAX), AA_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(aa_context_last_error(ctx), "workspace"));
    /* the context stays usable after a failed reservation */
    const float box[4] = {0, 0, 4, 4};
    int64_t count, offsets[2] = {0, 1};
    float stride, iou = -1;
    aa_anchors a = test_anchors_1level(box, 1, &count, &stride);
    aa_gts g = {box, offsets, 1, NULL, NULL, NULL};
    assert_int_equal(aa_overlaps(ctx, AA_IOU, 1e-6f, &a, &g, &iou), AA_SUCCESS);
    assert_true(iou == 1.0f);
    aa_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version),
        cmocka_unit_test(status_strings),
        cmocka_unit_test(backends),
        cmocka_unit_test(streams_errors_workspace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
