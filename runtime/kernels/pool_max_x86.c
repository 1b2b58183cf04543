/* Max pooling, pool_max_body.h compiled for AVX2 (signed byte and float
 * maxima in one instruction each; baseline x86-64 has neither). */
#include "pool_max_body.h"

#if defined(__x86_64__)
PITHRT_MAXPOOL(__attribute__((target("avx2"))), pithrt_maxpool_s8_avx2, int8_t, -128)
PITHRT_MAXPOOL(__attribute__((target("avx2"))), pithrt_maxpool_f32_avx2, float, -INFINITY)
#endif
