/* head_loss.c - see head_loss.h. Moved here from paa_ref.c unchanged so that PAA and
 * LADA share one copy of the arithmetic. */
#include "head_loss.h"

#include <math.h>
#include <string.h>

static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
    float v;
    if (exponent == 0) v = ldexpf((float)mantissa, -24);                 /* subnormal */
    else if (exponent == 31) v = mantissa ? NAN : INFINITY;
    else v = ldexpf((float)(mantissa | 1024), exponent - 25);
    return sign ? -v : v;
}

static float bfloat_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

double aa__ref_head_value(const void *array, aa_dtype dtype, int64_t i)
{
    switch (dtype) {
    case AA_FLOAT16: return half_to_float(((const uint16_t *)array)[i]);
    case AA_BFLOAT16: return bfloat_to_float(((const uint16_t *)array)[i]);
    default: return ((const float *)array)[i];
    }
}

double aa__ref_giou(const double *a, const double *b, double eps)
{
    double area_a = (a[2] - a[0]) * (a[3] - a[1]);
    double area_b = (b[2] - b[0]) * (b[3] - b[1]);
    double w = fmax(fmin(a[2], b[2]) - fmax(a[0], b[0]), 0.0);
    double h = fmax(fmin(a[3], b[3]) - fmax(a[1], b[1]), 0.0);
    double overlap = w * h;
    double uni = fmax(area_a + area_b - overlap, eps);
    double ew = fmax(fmax(a[2], b[2]) - fmin(a[0], b[0]), 0.0);
    double eh = fmax(fmax(a[3], b[3]) - fmin(a[1], b[1]), 0.0);
    double enclose = fmax(ew * eh, eps);
    return overlap / uni - (enclose - uni) / enclose;
}

void aa__ref_delta2bbox(const float *means, const float *stds, float wh_ratio_clip,
                        const float *anchor, const double *d, double *box)
{
    double max_ratio = fabs(log((double)wh_ratio_clip));
    double dx = d[0] * stds[0] + means[0];
    double dy = d[1] * stds[1] + means[1];
    double dw = d[2] * stds[2] + means[2];
    double dh = d[3] * stds[3] + means[3];
    double px = ((double)anchor[0] + anchor[2]) * 0.5, py = ((double)anchor[1] + anchor[3]) * 0.5;
    double pw = (double)anchor[2] - anchor[0], ph = (double)anchor[3] - anchor[1];
    dw = fmin(fmax(dw, -max_ratio), max_ratio);
    dh = fmin(fmax(dh, -max_ratio), max_ratio);
    double gx = px + pw * dx, gy = py + ph * dy;
    double gw = pw * exp(dw), gh = ph * exp(dh);
    box[0] = gx - gw * 0.5;
    box[1] = gy - gh * 0.5;
    box[2] = gx + gw * 0.5;
    box[3] = gy + gh * 0.5;
}

double aa__ref_focal(double x, int is_target, double alpha, double gamma)
{
    double t = is_target ? 1.0 : 0.0;
    double prob = 1.0 / (1.0 + exp(-x));
    double pt = (1.0 - prob) * t + prob * (1.0 - t);
    double weight = (alpha * t + (1.0 - alpha) * (1.0 - t)) * pow(pt, gamma);
    double bce = fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
    return bce * weight;
}
