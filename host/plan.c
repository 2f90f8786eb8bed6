/* plan.c - launch planning shared by the CUDA and OpenCL backends. */
#include "plan.h"

aa_launch aa__plan_elementwise(int64_t elements)
{
    aa_launch p = {0, 1, AA_PLAN_LOCAL_SIZE, 0};
    if (elements <= 0) {
        p.groups_x = 0;
        return p;
    }
    int64_t groups = (elements - 1) / AA_PLAN_LOCAL_SIZE + 1;
    p.groups_x = groups < AA_PLAN_MAX_GROUPS ? groups : AA_PLAN_MAX_GROUPS;
    return p;
}

int64_t aa__plan_global_x(const aa_launch *plan)
{
    return plan->groups_x * plan->local_size;
}
