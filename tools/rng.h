/* rng.h - the deterministic draws of the synthetic workloads: splitmix64 (Steele,
 * Lea, Flood 2014), uniforms from the top 53 bits, normals as Irwin-Hall sums of 4
 * uniforms. Only +, -, *, /: the same bits on every machine. */
#ifndef AA_WL_RNG_H
#define AA_WL_RNG_H

#include <stdint.h>

typedef struct synth_rng {
    uint64_t state;
} synth_rng;

static inline uint64_t synth_next(synth_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) from the top 53 bits: exact in double. */
static inline double synth_uniform(synth_rng *r)
{
    return (double)(synth_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double synth_range(synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * synth_uniform(r);
}

/* Approximately N(0, 1): the Irwin-Hall sum of 4 uniforms, centred and scaled to unit
 * variance (sqrt(3)), hence within +-2 sqrt(3); no libm call. */
static inline double synth_normal(synth_rng *r)
{
    double s = synth_uniform(r) + synth_uniform(r) + synth_uniform(r) + synth_uniform(r);
    return (s - 2.0) * 1.7320508075688772;
}

#endif
