/* test_plan.c - the launch planner shared by the CUDA and OpenCL backends:
 * geometry for small, exact-multiple and huge (past 2^31 elements) sizes. */
#include "common.h"

#include "plan.h"

/* A grid-stride plan covers every element: each index i < elements is visited by
 * exactly one work-item (i mod global) at some stride step. */
static void covers(int64_t elements, const aa_launch *p)
{
    int64_t global = aa__plan_global_x(p);
    assert_true(global > 0);
    assert_true(global >= (elements < global ? elements : global));
    assert_true(p->groups_x <= AA_PLAN_MAX_GROUPS);
    assert_int_equal(p->groups_y, 1);
    /* strides needed, in 64 bits: no wrap */
    int64_t steps = (elements - 1) / global + 1;
    assert_true(steps >= 1 && (steps - 1) * global < elements && steps * global >= elements);
}

static void elementwise(void **state)
{
    (void)state;
    aa_launch p = aa__plan_elementwise(0);
    assert_int_equal(p.groups_x, 0); /* nothing to launch */
    p = aa__plan_elementwise(1);
    assert_int_equal(p.groups_x, 1);
    assert_int_equal(p.local_size, AA_PLAN_LOCAL_SIZE);
    covers(1, &p);
    p = aa__plan_elementwise(256);
    assert_int_equal(p.groups_x, 1);
    p = aa__plan_elementwise(257);
    assert_int_equal(p.groups_x, 2);
    covers(257, &p);
    p = aa__plan_elementwise(201600LL * 120); /* coco-retina overlaps, 16 images */
    covers(201600LL * 120, &p);
    int64_t huge = ((int64_t)1 << 31) + 12345; /* past 2^31 */
    p = aa__plan_elementwise(huge);
    assert_int_equal(p.groups_x, AA_PLAN_MAX_GROUPS);
    covers(huge, &p);
    p = aa__plan_elementwise((int64_t)1 << 40);
    covers((int64_t)1 << 40, &p);
    assert_true(aa__plan_global_x(&p) == (int64_t)AA_PLAN_MAX_GROUPS * AA_PLAN_LOCAL_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elementwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
