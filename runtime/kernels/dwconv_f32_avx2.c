/* Depthwise conv, fp32, AVX2 + FMA, one channel over its padded plane:
 * eight outputs per step; stride 2 gathers the even columns from two loads. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static inline __m256 even8(const float *p)
{
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}

__attribute__((target("avx2,fma"))) void pithrt_dw_f32_avx2(const float *xp, int pw, const float *w, int k, int s,
                                                             float bias, int act, float *y, int oh, int ow)
{
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.0f);
    for (int i = 0; i < oh; i++) {
        float *yr = y + (size_t)i * ow;
        int j = 0;
        for (; j + 8 <= ow; j += 8) {
            __m256 a = _mm256_set1_ps(bias);
            for (int u = 0; u < k; u++) {
                const float *r = xp + (size_t)(i * s + u) * pw + j * s;
                for (int v = 0; v < k; v++) {
                    __m256 x = s == 1 ? _mm256_loadu_ps(r + v) : even8(r + v);
                    a = _mm256_fmadd_ps(x, _mm256_set1_ps(w[u * k + v]), a);
                }
            }
            if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
                a = _mm256_max_ps(a, zero);
            if (act == PITHRT_ACT_RELU6)
                a = _mm256_min_ps(a, six);
            _mm256_storeu_ps(yr + j, a);
            if (act == PITHRT_ACT_HARDSWISH)
                for (int q = 0; q < 8; q++)
                    yr[j + q] = pithrt_apply_act(yr[j + q], act);
        }
        for (; j < ow; j++) {
            float a = bias;
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++)
                    a += w[u * k + v] * xp[(size_t)(i * s + u) * pw + j * s + v];
            yr[j] = pithrt_apply_act(a, act);
        }
    }
}
#endif
