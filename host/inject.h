/* inject.h - test-only failure injection for the GPU runtime calls the backends
 * check, the sibling of the allocation hook (alloc.h): a test makes the (n+1)-th
 * checked call of one kind fail with an error code of its choice, and the backend
 * takes its real error path without calling the runtime.
 *
 * The OpenCL backend (host/opencl/ocl_backend.c) asks aa__inject_error before each
 * call of these kinds and, when it answers nonzero, uses that value as the call's
 * cl_int result:
 *   AA__INJECT_BUILD   clBuildProgram (at context creation; the fake build log
 *                      below stands for the compiler's)
 *   AA__INJECT_LAUNCH  clEnqueueNDRangeKernel
 *   AA__INJECT_WRITE   clEnqueueWriteBuffer (the uploads of AA_MEMORY_HOST)
 *   AA__INJECT_READ    clEnqueueReadBuffer (the results of AA_MEMORY_HOST)
 *   AA__INJECT_FINISH  clFinish, checked (the wait for the results)
 *   AA__INJECT_ARG     clSetKernelArg (every argument of every launch)
 * The CUDA backend (host/cuda/cuda_backend.cu, CUDA_RUN) asks the same for its own
 * calls, the value taken as a cudaError_t: LAUNCH the launch check (cudaGetLastError
 * after a kernel launch, which has run), WRITE and READ cudaMemcpyAsync host to device
 * and device to host (AA_MEMORY_HOST), FINISH cudaStreamSynchronize (the wait for the
 * results); BUILD and ARG are never asked (nvcc builds the kernels, a launch takes its
 * arguments at once).
 * Calls made only on a failure path or at destruction (a clFinish whose error is
 * ignored) are neither counted nor failed.
 *
 * As with alloc.h: aa__test_fail_runtime_call, aa__test_runtime_calls and
 * aa__test_build_log are exported from the shared library under an aa__ name that
 * is declared only here, not in the public header: they are not part of the API
 * and may change. Tests reach them by adding host/ to their include path
 * (tests/CMakeLists.txt, test_opencl_failures). The state is per thread. */
#ifndef AA_INJECT_H
#define AA_INJECT_H

#include "anchorassign.h" /* AA_API */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aa__inject_kind {
    AA__INJECT_BUILD = 0,
    AA__INJECT_LAUNCH = 1,
    AA__INJECT_WRITE = 2,
    AA__INJECT_READ = 3,
    AA__INJECT_FINISH = 4,
    AA__INJECT_ARG = 5,
    AA__INJECT_NUM_KINDS = 6
} aa__inject_kind;

/* Counts one call of `kind` and returns the error to simulate for it, 0 (CL_SUCCESS,
 * cudaSuccess) to make the real call. */
int aa__inject_error(aa__inject_kind kind);

/* The fake build log of an injected AA__INJECT_BUILD failure ("" if none was set). */
const char *aa__inject_build_log(void);

/* Test only. after >= 0: of the calls of `kind` this thread makes from now on, the
 * first `after` run, call number after + 1 returns `error` without running, and
 * every later one runs again (one failure per arming). after < 0: no failure.
 * Either way every kind's call counter restarts at 0. */
AA_API void aa__test_fail_runtime_call(aa__inject_kind kind, int64_t after, int error);

/* Test only: the calls of `kind` this thread has made (or had failed) since the last
 * aa__test_fail_runtime_call. */
AA_API int64_t aa__test_runtime_calls(aa__inject_kind kind);

/* Test only: the build log an injected build failure reports (copied; NULL: none). */
AA_API void aa__test_build_log(const char *log);

#ifdef __cplusplus
}
#endif

#endif
