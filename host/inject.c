/* inject.c - the test-only runtime-call failure injection (inject.h). */
#include "inject.h"

#include <string.h>

#if defined(_MSC_VER)
#define AA_THREAD_LOCAL __declspec(thread)
#else
#define AA_THREAD_LOCAL __thread
#endif

/* Per thread: calls of each kind since the last arming, the armed kind, the index
 * of its call that fails (-1: none) and the error it returns. */
static AA_THREAD_LOCAL int64_t calls[AA__INJECT_NUM_KINDS];
static AA_THREAD_LOCAL int armed_kind;
static AA_THREAD_LOCAL int64_t fail_at = -1;
static AA_THREAD_LOCAL int fail_error;
static AA_THREAD_LOCAL char build_log[4096];

int aa__inject_error(aa__inject_kind kind)
{
    if ((int)kind < 0 || kind >= AA__INJECT_NUM_KINDS) return 0;
    int64_t n = calls[kind]++;
    if (fail_at >= 0 && (int)kind == armed_kind && n == fail_at) {
        fail_at = -1; /* once */
        return fail_error;
    }
    return 0;
}

const char *aa__inject_build_log(void)
{
    return build_log;
}

void aa__test_fail_runtime_call(aa__inject_kind kind, int64_t after, int error)
{
    memset(calls, 0, sizeof calls);
    armed_kind = (int)kind;
    fail_at = after >= 0 && error != 0 ? after : -1;
    fail_error = error;
}

int64_t aa__test_runtime_calls(aa__inject_kind kind)
{
    return (int)kind >= 0 && kind < AA__INJECT_NUM_KINDS ? calls[kind] : -1;
}

void aa__test_build_log(const char *log)
{
    size_t n = log ? strlen(log) : 0;
    if (n >= sizeof build_log) n = sizeof build_log - 1;
    if (n) memcpy(build_log, log, n);
    build_log[n] = '\0';
}
