/* The x86-64 kernel tables. */
#include "ukernel.h"

#if defined(__x86_64__)
void pithrt_gemm_f32_avx2(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_f32_avx512(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_s8_avx2(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_gemm_s8_avx512_vnni(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_pack_b_s8_avx2(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_pack_b_s8_vnni(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_requant_row_avx2(const int32_t *acc, int n, const pithrt_rq_ch *ch, pithrt_rq_out out, int8_t *y);
void pithrt_dw_s8_avx2(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
void pithrt_dw_f32_avx2(const float *x, const int32_t *off, const float *w, int taps, float bias, int act,
                        float *y, int n);
void pithrt_requant_row_avx512(const int32_t *acc, int n, const pithrt_rq_ch *ch, pithrt_rq_out out, int8_t *y);
void pithrt_dw_s8_avx512(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
void pithrt_dw_f32_avx512(const float *x, const int32_t *off, const float *w, int taps, float bias, int act,
                        float *y, int n);
float pithrt_dot_f32_avx2(const float *a, const float *b, int n);
int32_t pithrt_dot_s8_avx2(const int8_t *a, const int8_t *b, int n);

void pithrt_quantize_s8_avx2(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act);
void pithrt_add_s8_avx2(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                        size_t n, int act);

const pithrt_kernels pithrt_kernels_avx2 = {
    PITHRT_ISA_AVX2, 4, 16, pithrt_gemm_f32_avx2, 4, 16, 2, 2, 0, pithrt_gemm_s8_avx2, pithrt_pack_b_s8_avx2,
    pithrt_requant_row_avx2, pithrt_dw_f32_avx2, pithrt_dw_s8_avx2, pithrt_dot_f32_avx2, pithrt_dot_s8_avx2,
    pithrt_quantize_s8_avx2, pithrt_add_s8_avx2,
};

const pithrt_kernels pithrt_kernels_avx512 = {
    PITHRT_ISA_AVX512, 8, 32, pithrt_gemm_f32_avx512, 8, 32, 4, 1, 128, pithrt_gemm_s8_avx512_vnni,
    pithrt_pack_b_s8_vnni, pithrt_requant_row_avx512, pithrt_dw_f32_avx512, pithrt_dw_s8_avx512, pithrt_dot_f32_avx2,
    pithrt_dot_s8_avx2,
    pithrt_quantize_s8_avx2, pithrt_add_s8_avx2,
};
#endif
