/* alloc.h - the library's one place for allocations: host memory through
 * aa__malloc / aa__calloc / aa__free, and a check that the GPU backends make before
 * each device buffer they create (clCreateBuffer, cudaMalloc), so that a test can
 * make any allocation of a call fail and see the call's real error path run.
 *
 * The test hook: aa__test_fail_allocations and aa__test_allocation_attempts are
 * exported from the shared library (default visibility, like the AA_API functions;
 * the rest of the library is hidden) under an aa__ name that is declared only
 * here, not in the public header: they are not part of the API and may change.
 * Tests reach them by adding host/ to their include path (tests/CMakeLists.txt,
 * test_alloc_failure). The state is per thread: arming it affects only the
 * allocations made by the calling thread, which are all of a call's (the library
 * starts no threads). */
#ifndef AA_ALLOC_H
#define AA_ALLOC_H

#include "anchorassign.h" /* AA_API */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* malloc / calloc / free, each attempt counted by the hook (and failed when it says
 * so: NULL, as the C library would). */
void *aa__malloc(size_t bytes);
void *aa__calloc(size_t count, size_t size);
void aa__free(void *ptr);

/* For a device allocation: counts one attempt and returns nonzero when the hook
 * makes this one fail. The caller then takes its runtime's out-of-memory path
 * (CL_MEM_OBJECT_ALLOCATION_FAILURE, cudaErrorMemoryAllocation) without calling
 * the runtime. */
int aa__alloc_should_fail(void);

/* Test only. after >= 0: of the allocation attempts made by this thread from now
 * on, the first `after` succeed, attempt number after + 1 fails, and every later
 * one succeeds again (one failure per arming). after < 0 (-1): no failure.
 * Either way the attempt counter restarts at 0. */
AA_API void aa__test_fail_allocations(int64_t after);

/* Test only: the allocation attempts (host and device) this thread has made since
 * the last aa__test_fail_allocations; more than `after` means the failure was
 * injected. */
AA_API int64_t aa__test_allocation_attempts(void);

#ifdef __cplusplus
}
#endif

#endif
