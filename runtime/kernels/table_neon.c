/* The aarch64 kernel tables: the dot-product set differs from the plain one
 * in the int8 GEMM (SDOT instead of SMLAL, so its panels are packed by four
 * bytes instead of widened) and the int8 dot product. */
#include "ukernel.h"

#if defined(__aarch64__)
void pithrt_gemm_f32_neon(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_f32_neon_out(int k, const float *a, const float *b, size_t ldb, float *y, size_t ldy,
                              const float *bias, int act, int n);
void pithrt_gemm_s8_neon(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_gemm_s8_neon_dot(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_pack_b_s8_neon(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_gemm_s8_neon_dot_ind(int kgroups, const void *a, const uint8_t *b, const int32_t *boff, int32_t *c,
                                 size_t ldc, int acc);
void pithrt_pad_c4_s8_neon(const int8_t *x, int h, int w, int ph, int pw, int st, int hp, int wp, int zx,
                           uint8_t *dst);
void pithrt_pack_b_s8_neon_dot(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_requant_s8_neon(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch, pithrt_rq_out out,
                             int8_t *y, size_t ldy);
void pithrt_dw_s8_neon(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
void pithrt_dw_f32_neon(const float *x, const int32_t *off, const float *w, int taps, float bias, int act,
                        float *y, int n);
float pithrt_dot_f32_neon(const float *a, const float *b, int n);
int32_t pithrt_dot_s8_neon(const int8_t *a, const int8_t *b, int n);
int32_t pithrt_dot_s8_neon_dot(const int8_t *a, const int8_t *b, int n);

void pithrt_quantize_s8_neon(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act);
void pithrt_add_s8_neon(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                        size_t n, int act);

void pithrt_add_f32_neon(const float *a, const float *b, float *y, size_t n, int act);
void pithrt_bias_act_f32_neon(const float *c, int n, float b, int act, float *y);
void pithrt_pack_b_f32_neon(const float *base, const int32_t *offs, int k, int n, float *panel);

const pithrt_kernels pithrt_kernels_neon = {
    .isa = PITHRT_ISA_NEON,
    .f32_mr = 8, .f32_nr = 8, .f32_ukr = pithrt_gemm_f32_neon, .f32_ukr_out = pithrt_gemm_f32_neon_out,
    .f32_pack_b = pithrt_pack_b_f32_neon, .f32_bias_act = pithrt_bias_act_f32_neon,
    .s8_mr = 8, .s8_nr = 8, .s8_ku = 1, .s8_esize = 2, .s8_b_offset = 0,
    .s8_ukr = pithrt_gemm_s8_neon, .s8_pack_b = pithrt_pack_b_s8_neon, .requant = pithrt_requant_s8_neon,
    .dw_f32 = pithrt_dw_f32_neon, .dw_s8 = pithrt_dw_s8_neon,
    .dot_f32 = pithrt_dot_f32_neon, .dot_s8 = pithrt_dot_s8_neon,
    .quantize_s8 = pithrt_quantize_s8_neon, .add_s8 = pithrt_add_s8_neon, .add_f32 = pithrt_add_f32_neon,
    .maxpool_s8 = pithrt_maxpool_s8_c, .maxpool_f32 = pithrt_maxpool_f32_c,
};

const pithrt_kernels pithrt_kernels_neon_dot = {
    .isa = PITHRT_ISA_NEON_DOT,
    .f32_mr = 8, .f32_nr = 8, .f32_ukr = pithrt_gemm_f32_neon, .f32_ukr_out = pithrt_gemm_f32_neon_out,
    .f32_pack_b = pithrt_pack_b_f32_neon, .f32_bias_act = pithrt_bias_act_f32_neon,
    .s8_mr = 8, .s8_nr = 8, .s8_ku = 4, .s8_esize = 1, .s8_b_offset = 0,
    .s8_ukr = pithrt_gemm_s8_neon_dot, .s8_pack_b = pithrt_pack_b_s8_neon_dot,
    .s8_ukr_ind = pithrt_gemm_s8_neon_dot_ind, .s8_pad_c4 = pithrt_pad_c4_s8_neon,
    .requant = pithrt_requant_s8_neon,
    .dw_f32 = pithrt_dw_f32_neon, .dw_s8 = pithrt_dw_s8_neon,
    .dot_f32 = pithrt_dot_f32_neon, .dot_s8 = pithrt_dot_s8_neon_dot,
    .quantize_s8 = pithrt_quantize_s8_neon, .add_s8 = pithrt_add_s8_neon, .add_f32 = pithrt_add_f32_neon,
    .maxpool_s8 = pithrt_maxpool_s8_c, .maxpool_f32 = pithrt_maxpool_f32_c,
};
#endif
