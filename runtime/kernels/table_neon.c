/* The aarch64 kernel tables: the dot-product set differs from the plain one
 * in the int8 GEMM (SDOT instead of SMLAL, so its panels are packed by four
 * bytes instead of widened) and the int8 dot product. */
#include "ukernel.h"

#if defined(__aarch64__)
void pithrt_gemm_f32_neon(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_s8_neon(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_gemm_s8_neon_dot(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_pack_b_s8_neon(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_pack_b_s8_neon_dot(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_requant_row_neon(const int32_t *acc, int n, const pithrt_rq_ch *ch, pithrt_rq_out out, int8_t *y);
void pithrt_dw_s8_neon(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
void pithrt_dw_f32_neon(const float *x, const int32_t *off, const float *w, int taps, float bias, int act,
                        float *y, int n);
float pithrt_dot_f32_neon(const float *a, const float *b, int n);
int32_t pithrt_dot_s8_neon(const int8_t *a, const int8_t *b, int n);
int32_t pithrt_dot_s8_neon_dot(const int8_t *a, const int8_t *b, int n);

void pithrt_quantize_s8_neon(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act);
void pithrt_add_s8_neon(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                        size_t n, int act);

const pithrt_kernels pithrt_kernels_neon = {
    PITHRT_ISA_NEON, 8, 8, pithrt_gemm_f32_neon, 8, 8, 1, 2, 0, pithrt_gemm_s8_neon, pithrt_pack_b_s8_neon,
    pithrt_requant_row_neon, pithrt_dw_f32_neon, pithrt_dw_s8_neon, pithrt_dot_f32_neon, pithrt_dot_s8_neon,
    pithrt_quantize_s8_neon, pithrt_add_s8_neon,
};

const pithrt_kernels pithrt_kernels_neon_dot = {
    PITHRT_ISA_NEON_DOT, 8, 8, pithrt_gemm_f32_neon, 8, 8, 4, 1, 0, pithrt_gemm_s8_neon_dot,
    pithrt_pack_b_s8_neon_dot, pithrt_requant_row_neon, pithrt_dw_f32_neon, pithrt_dw_s8_neon, pithrt_dot_f32_neon,
    pithrt_dot_s8_neon_dot,
    pithrt_quantize_s8_neon, pithrt_add_s8_neon,
};
#endif
