/* half_bits.h - float16 and bfloat16 bits for the tests, written here rather than
 * taken from the library's converter, so that agreement with it means something. */
#ifndef AA_TEST_HALF_BITS_H
#define AA_TEST_HALF_BITS_H

#include "common.h" /* cmocka's assertions */

#include <math.h>
#include <stdint.h>
#include <string.h>

/* IEEE binary16 bits of a float that binary16 holds exactly (asserted). */
static inline uint16_t exact_half(float v)
{
    uint16_t sign = signbit(v) ? 0x8000u : 0;
    double a = fabs((double)v);
    if (a == 0.0) return sign;
    int e;
    double m = frexp(a, &e); /* a = m 2^e, m in [0.5, 1) */
    if (e - 1 < -14) {       /* subnormal: a multiple of 2^-24 */
        double q = ldexp(a, 24);
        assert_true(q == floor(q));
        return sign | (uint16_t)q;
    }
    double q = ldexp(m, 11);
    assert_true(q == floor(q) && e + 14 < 31);
    return sign | (uint16_t)(((e + 14) << 10) | ((int)q - 1024));
}

/* bfloat16 bits of a float whose low 16 bits are zero (asserted). */
static inline uint16_t exact_bfloat(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    assert_int_equal(bits & 0xffffu, 0);
    return (uint16_t)(bits >> 16);
}

/* float16 bits -> float. */
static inline float half_bits_to_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : ldexpf((float)(m + 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

#endif
