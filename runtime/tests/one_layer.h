/* pithrt-test's models (not part of the runtime): random one-layer models
 * made with the format's own writer, and the random numbers they are drawn
 * from (seeded by pt_seed, the same sequence on every target). */
#ifndef PITHRT_TEST_ONE_LAYER_H
#define PITHRT_TEST_ONE_LAYER_H

#include <stddef.h>
#include <stdint.h>

typedef struct layer {
    int fc, s8, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, act, wdtype;
    int zx, qmin, qmax, zy;
    int other; /* 1: max pool, 2: add (int8: two quantizations of the input) */
} layer;

void pt_seed(uint64_t seed);
uint32_t pt_rnd(void);
int pt_rint_in(int lo, int hi);
float pt_rfloat(float lo, float hi);
/* A one-line description of L, for failure messages. */
void pt_describe(const layer *L, char *s, size_t n);
/* The .pith file of L in a malloc'd buffer (NULL on failure). */
uint8_t *pt_build(const layer *L, size_t *len);
/* Case i of the sweep: kinds cycle through conv, depthwise, 1x1, fc, pools and adds. */
void pt_random_layer(layer *L, int i);

#endif
