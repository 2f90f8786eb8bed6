/* gmm_common.h - what the Gaussian-mixture tests share: every output of
 * aa_gmm_fit in guarded, poisoned buffers, and a fit that checks it succeeded. */
#ifndef AA_TEST_GMM_COMMON_H
#define AA_TEST_GMM_COMMON_H

#include "common.h"

#include <math.h>

typedef struct gmm_outputs {
    int64_t num_segments, num_points;
    int k;
    aa_gmm_result r;
} gmm_outputs;

static inline void gmm_outputs_alloc(gmm_outputs *o, int64_t num_segments, int64_t num_points, int k)
{
    /* at least one element each, so that every buffer is a real guarded one */
    size_t s = (size_t)(num_segments ? num_segments : 1), n = (size_t)(num_points ? num_points : 1);
    o->num_segments = num_segments, o->num_points = num_points, o->k = k;
    o->r.weights = test_guarded_alloc(s * (size_t)k, sizeof(double));
    o->r.means = test_guarded_alloc(s * (size_t)k, sizeof(double));
    o->r.variances = test_guarded_alloc(s * (size_t)k, sizeof(double));
    o->r.lower_bound = test_guarded_alloc(s, sizeof(double));
    o->r.iterations = test_guarded_alloc(s, sizeof(int32_t));
    o->r.status = test_guarded_alloc(s, sizeof(int32_t));
    o->r.labels = test_guarded_alloc(n, sizeof(int32_t));
    o->r.log_density = test_guarded_alloc(n, sizeof(double));
}

#define GMM_EACH_BUFFER(o, X)                                                                     \
    X((o)->r.weights), X((o)->r.means), X((o)->r.variances), X((o)->r.lower_bound),               \
        X((o)->r.iterations), X((o)->r.status), X((o)->r.labels), X((o)->r.log_density)

static inline void gmm_outputs_poison(gmm_outputs *o) { GMM_EACH_BUFFER(o, test_guarded_poison); }
static inline void gmm_outputs_free(gmm_outputs *o) { GMM_EACH_BUFFER(o, test_guarded_free); }

static inline int gmm_outputs_untouched(gmm_outputs *o)
{
    aa_gmm_result *r = &o->r;
    GMM_EACH_BUFFER(o, test_guarded_check);
    return test_guarded_untouched(r->weights) && test_guarded_untouched(r->means) &&
           test_guarded_untouched(r->variances) && test_guarded_untouched(r->lower_bound) &&
           test_guarded_untouched(r->iterations) && test_guarded_untouched(r->status) &&
           test_guarded_untouched(r->labels) && test_guarded_untouched(r->log_density);
}

static inline int gmm_poisoned(const void *p, size_t size)
{
    static const unsigned char poison[8] = {0xCD, 0xCD, 0xCD, 0xCD, 0xCD, 0xCD, 0xCD, 0xCD};
    return memcmp(p, poison, size) == 0;
}

/* Every element written (none still holds the poison) and the guards intact. */
static inline void gmm_outputs_check_written(gmm_outputs *o)
{
    aa_gmm_result *r = &o->r;
    GMM_EACH_BUFFER(o, test_guarded_check);
    for (int64_t j = 0; j < o->num_segments * o->k; ++j) {
        assert_false(gmm_poisoned(&r->weights[j], 8));
        assert_false(gmm_poisoned(&r->means[j], 8));
        assert_false(gmm_poisoned(&r->variances[j], 8));
    }
    for (int64_t s = 0; s < o->num_segments; ++s) {
        assert_false(gmm_poisoned(&r->lower_bound[s], 8));
        assert_false(gmm_poisoned(&r->iterations[s], 4));
        assert_false(gmm_poisoned(&r->status[s], 4));
    }
    for (int64_t i = 0; i < o->num_points; ++i) {
        assert_false(gmm_poisoned(&r->labels[i], 4));
        assert_false(gmm_poisoned(&r->log_density[i], 8));
    }
}

/* A fit that must succeed; poisons first and checks every output was written. */
static inline void gmm_fit_ok(aa_context *ctx, const aa_gmm_params *p, const float *points,
                              const int64_t *offsets, int64_t num_segments, gmm_outputs *o)
{
    aa_gmm_segments sg = {points, offsets, num_segments, NULL};
    gmm_outputs_poison(o);
    aa_status st = aa_gmm_fit(ctx, p, &sg, &o->r, NULL, 0);
    if (st != AA_SUCCESS) fail_msg("aa_gmm_fit: %s: %s", aa_status_string(st), aa_context_last_error(ctx));
    gmm_outputs_check_written(o);
}

#endif
