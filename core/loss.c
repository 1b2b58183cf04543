#include "loss.h"

#include <math.h>
#include <stddef.h>

double pith_softmax_cross_entropy(const float *logits, const int *labels, int n, int k,
                                  float label_smoothing, float *grad)
{
    double total = 0.0;
    const double eps = label_smoothing, off = eps / k, on = 1.0 - eps + off;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        if (labels[i] < 0 || labels[i] >= k)
            return NAN;
        /* Subtract the max so exp never overflows. */
        float zmax = z[0];
        for (int j = 1; j < k; j++)
            zmax = z[j] > zmax ? z[j] : zmax;
        double sum = 0.0;
        for (int j = 0; j < k; j++)
            sum += exp((double)z[j] - zmax);
        double log_sum = log(sum);
        double li = 0.0;
        for (int j = 0; j < k; j++) {
            double logp = (double)z[j] - zmax - log_sum;
            double q = j == labels[i] ? on : off;
            if (q != 0.0)
                li -= q * logp;
            if (grad)
                grad[(size_t)i * k + j] = (float)((exp(logp) - q) / n);
        }
        total += li;
    }
    return total / n;
}

double pith_mse(const float *y, const float *target, int n, int d, float *grad)
{
    const size_t m = (size_t)n * d;
    double total = 0.0;
    for (size_t i = 0; i < m; i++) {
        double e = (double)y[i] - target[i];
        total += e * e;
        if (grad)
            grad[i] = (float)(2.0 * e / (double)m);
    }
    return total / (double)m;
}
