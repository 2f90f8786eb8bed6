/* paa_rule.h - PAA's selection rule re-derived independently of the library's
 * selection (own top-k and sort; the library's aa_gmm_fit only for the mixture), one
 * image at a time: what tests/paa_common.h's paa_check_rule asserts and what
 * tests/fuzz/fuzz_parity.c compares against. Plain C, no test framework. Where the
 * library has params.separation (AA_PAA_SEPARATE_ORIGINAL), the rule follows it. */
#ifndef AA_TEST_PAA_RULE_H
#define AA_TEST_PAA_RULE_H

#include "anchorassign.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct paa_cand {
    float cost;
    int32_t anchor;
} paa_cand;

static inline int paa_cand_order(const void *x, const void *y)
{
    const paa_cand *a = x, *b = y;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    return (a->anchor > b->anchor) - (a->anchor < b->anchor);
}

/* Scratch for paa_rule_image, sized for one image's anchors. */
typedef struct paa_rule_scratch {
    paa_cand *all, *cand;
    int32_t *labels;
    float *points;
    double *density;
} paa_rule_scratch;

static inline int paa_rule_scratch_alloc(paa_rule_scratch *s, int64_t num_anchors)
{
    size_t n = (size_t)(num_anchors > 0 ? num_anchors : 1);
    s->all = malloc(n * sizeof *s->all), s->cand = malloc(n * sizeof *s->cand);
    s->labels = malloc(n * sizeof *s->labels), s->points = malloc(n * sizeof *s->points);
    s->density = malloc(n * sizeof *s->density);
    return s->all && s->cand && s->labels && s->points && s->density;
}

static inline void paa_rule_scratch_free(paa_rule_scratch *s)
{
    free(s->all), free(s->cand), free(s->labels), free(s->points), free(s->density);
}

/* expect[k] for the anchors of image i, from its pre-assignment row `pi` and costs `ci`:
 * per GT, per level the topk lowest (cost, index) of its pre-assigned anchors, all
 * sorted, aa_gmm_fit on them (on ctx), then component 0 up to its highest log density
 * (first on ties; an ill-defined mixture has labels -1, hence none; the original
 * separation: every candidate up to it, all when none is in component 0); fewer than
 * two candidates: none, or the single one with single_candidate_positive. Ignored
 * anchors stay AA_IGNORED, the rest AA_NEGATIVE. skip_nonfinite: a GT with a
 * non-finite cost among its anchors gets no positive (the GPU backends' rule; the CPU
 * refuses such costs). Returns aa_gmm_fit's status (AA_SUCCESS when every fit ran). */
static inline aa_status paa_rule_image(aa_context *ctx, const aa_paa_params *p, const aa_anchors *a,
                                       const aa_gts *g, int32_t i, const int32_t *pi, const float *ci,
                                       int skip_nonfinite, paa_rule_scratch *s, int32_t *expect)
{
    int64_t A = a->num_anchors;
    for (int64_t k = 0; k < A; ++k) expect[k] = pi[k] == AA_IGNORED ? AA_IGNORED : AA_NEGATIVE;
    int32_t num_gts = (int32_t)(g->offsets[i + 1] - g->offsets[i]);
    for (int32_t gt = 0; gt < num_gts; ++gt) {
        int spoilt = 0;
        for (int64_t k = 0; skip_nonfinite && k < A; ++k) spoilt |= pi[k] == gt && !isfinite(ci[k]);
        if (spoilt) continue;
        int64_t n = 0, begin = 0;
        for (int32_t l = 0; l < a->num_levels; ++l) {
            int64_t m = 0;
            for (int64_t k = begin; k < begin + a->level_counts[l]; ++k)
                if (pi[k] == gt) s->all[m].cost = ci[k], s->all[m].anchor = (int32_t)k, ++m;
            qsort(s->all, (size_t)m, sizeof *s->all, paa_cand_order);
            for (int64_t j = 0; j < m && j < p->topk; ++j) s->cand[n++] = s->all[j];
            begin += a->level_counts[l];
        }
        qsort(s->cand, (size_t)n, sizeof *s->cand, paa_cand_order);
        if (n == 1 && p->single_candidate_positive) expect[s->cand[0].anchor] = gt;
        if (n < 2) continue;
        for (int64_t j = 0; j < n; ++j) s->points[j] = s->cand[j].cost;
        int64_t off[2] = {0, n};
        aa_gmm_segments sg = {s->points, off, 1, NULL};
        aa_gmm_result r;
        memset(&r, 0, sizeof r);
        r.labels = s->labels, r.log_density = s->density;
        aa_status st = aa_gmm_fit(ctx, &p->gmm, &sg, &r, NULL, 0);
        if (st != AA_SUCCESS) return st;
        int64_t best = -1;
        for (int64_t j = 0; j < n; ++j)
            if (s->labels[j] == 0 && (best < 0 || s->density[j] > s->density[best])) best = j;
        int prefix = 0; /* the original code's separation: every candidate up to best */
#ifdef AA_PAA_SEPARATE_ORIGINAL
        prefix = p->separation == AA_PAA_SEPARATE_ORIGINAL;
        if (prefix && best < 0 && s->labels[0] >= 0) best = n - 1; /* no component 0: all */
#endif
        for (int64_t j = 0; j <= best; ++j)
            if (s->labels[j] == 0 || prefix) expect[s->cand[j].anchor] = gt;
    }
    return AA_SUCCESS;
}

#endif
