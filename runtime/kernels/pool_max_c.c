/* Max pooling, portable C (pool_max_body.h explains the method). */
#include "pool_max_body.h"

PITHRT_MAXPOOL(, pithrt_maxpool_s8_c, int8_t, -128)
PITHRT_MAXPOOL(, pithrt_maxpool_f32_c, float, -INFINITY)
