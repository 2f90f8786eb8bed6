/* alloc.c - allocation wrappers and the test-only failure injection (alloc.h). */
#include "alloc.h"

#include <stdlib.h>

#if defined(_MSC_VER)
#define AA_THREAD_LOCAL __declspec(thread)
#else
#define AA_THREAD_LOCAL __thread
#endif

/* Per thread: attempts since the last arming, and the attempt index that fails
 * (-1: none). */
static AA_THREAD_LOCAL int64_t attempts;
static AA_THREAD_LOCAL int64_t fail_at = -1;

int aa__alloc_should_fail(void)
{
    int64_t n = attempts++;
    if (fail_at >= 0 && n == fail_at) {
        fail_at = -1; /* once */
        return 1;
    }
    return 0;
}

void *aa__malloc(size_t bytes)
{
    return aa__alloc_should_fail() ? NULL : malloc(bytes);
}

void *aa__calloc(size_t count, size_t size)
{
    return aa__alloc_should_fail() ? NULL : calloc(count, size);
}

void aa__free(void *ptr)
{
    free(ptr);
}

void aa__test_fail_allocations(int64_t after)
{
    attempts = 0;
    fail_at = after >= 0 ? after : -1;
}

int64_t aa__test_allocation_attempts(void)
{
    return attempts;
}
