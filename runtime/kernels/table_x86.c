/* The x86-64 kernel tables. */
#include "ukernel.h"

#if defined(__x86_64__)
void pithrt_gemm_f32_avx2(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_f32_avx512(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_f32_avx512_swap(int k, int rows, const float *const *px, const int32_t *off, const float *w, float *c,
                                 int acc);
void pithrt_gemm_f32_avx512_swap_out(int k, int rows, const float *const *px, const int32_t *off, const float *w,
                                     const float *bias, int act, float *y, size_t ldy, int cv, int n);
void pithrt_gemm_f32_avx512_7(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
void pithrt_gemm_f32_avx512_out(int k, const float *a, const float *b, size_t ldb, float *y, size_t ldy,
                                const float *bias, int act, int n);
void pithrt_gemm_s8_avx2(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_gemm_s8_avx512_vnni(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
void pithrt_gemm_s8_avx512_vnni_out(int kgroups, const void *a, const void *b, int8_t *y, size_t ldy,
                                    const pithrt_rq_fold *rq, int neg, int act, int n);
void pithrt_gemm_s8_avx512_vnni_ind(int kgroups, const void *a, const uint8_t *b, const int32_t *boff, int32_t *c,
                                    size_t ldc, int acc);
void pithrt_gemm_s8_avx512_vnni_swap(int kgroups, int rows, const uint8_t *const *px, const int32_t *boff,
                                     const void *w, int32_t *c, int acc);
void pithrt_swap_rows_s32_avx2(const int32_t *c, int npp, int step, int cv, int32_t *rows, size_t ld);
void pithrt_pad_c4_s8(const int8_t *x, int h, int w, int ph, int pw, int st, int hp, int wp, int zx, uint8_t *dst);
void pithrt_pack_b_s8_avx2(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_pack_b_s8_vnni(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
void pithrt_requant_s8_avx2(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch, pithrt_rq_out out,
                             int8_t *y, size_t ldy);
void pithrt_dw_s8_avx2(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
void pithrt_dw_f32_avx2(const float *x, const int32_t *off, const float *w, int taps, float bias, int act,
                        float *y, int n);
void pithrt_requant_s8_avx512(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch,
                              pithrt_rq_out out, int8_t *y, size_t ldy);
int pithrt_dw_s8_avx512_vnni(const int8_t *x, int h, int w, int zx, int ph, int pw, int st, const int8_t *wq, int kh,
                             int kw, int oh, int ow, uint8_t *plane, int32_t *acc);
void pithrt_dw_f32_avx512_rows(const float *x, int h, int w, int ph, int pw, int st, const float *wt, int kh, int kw,
                               float bias, int act, int oh, int ow, float *plane, float *y);
void pithrt_dw_f32_avx512_c16(const float *x, int c, int h, int w, int ph, int pw, int st, const float *wq,
                              const float *bias, int kh, int kw, int act, int oh, int ow, float *buf, float *y);
void pithrt_dw_s8_avx512_vnni_c16(const int8_t *x, int c, int h, int w, int zx, int ph, int pw, int st,
                                  const int8_t *wq, const pithrt_rq16 *rq, pithrt_rq_out out, int kh, int kw, int oh,
                                  int ow, uint8_t *buf, int8_t *y);
float pithrt_dot_f32_avx2(const float *a, const float *b, int n);
int32_t pithrt_dot_s8_avx2(const int8_t *a, const int8_t *b, int n);

void pithrt_quantize_s8_avx2(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act);
void pithrt_add_s8_avx2(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                        size_t n, int act);

void pithrt_maxpool_s8_avx512(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g);
void pithrt_maxpool_s8_avx2(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g);
void pithrt_maxpool_f32_avx2(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g);
void pithrt_add_f32_avx2(const float *a, const float *b, float *y, size_t n, int act);
void pithrt_add_f32_avx512(const float *a, const float *b, float *y, size_t n, int act);
void pithrt_bias_act_f32_avx2(const float *c, int n, float b, int act, float *y);
void pithrt_bias_act_f32_avx512(const float *c, int n, float b, int act, float *y);
void pithrt_pack_b_f32_avx2(const float *base, const int32_t *offs, int k, int n, float *panel);
void pithrt_pack_b_f32_avx512(const float *base, const int32_t *offs, int k, int n, float *panel);

const pithrt_kernels pithrt_kernels_avx2 = {
    .isa = PITHRT_ISA_AVX2,
    .f32_mr = 4, .f32_nr = 16, .f32_ukr = pithrt_gemm_f32_avx2,
    .f32_pack_b = pithrt_pack_b_f32_avx2, .f32_bias_act = pithrt_bias_act_f32_avx2,
    .s8_mr = 4, .s8_nr = 16, .s8_ku = 2, .s8_esize = 2, .s8_b_offset = 0,
    .s8_ukr = pithrt_gemm_s8_avx2, .s8_pack_b = pithrt_pack_b_s8_avx2, .requant = pithrt_requant_s8_avx2,
    .dw_f32 = pithrt_dw_f32_avx2, .dw_s8 = pithrt_dw_s8_avx2,
    .dot_f32 = pithrt_dot_f32_avx2, .dot_s8 = pithrt_dot_s8_avx2,
    .quantize_s8 = pithrt_quantize_s8_avx2, .add_s8 = pithrt_add_s8_avx2, .add_f32 = pithrt_add_f32_avx2,
    .maxpool_s8 = pithrt_maxpool_s8_avx2, .maxpool_f32 = pithrt_maxpool_f32_avx2,
};

const pithrt_kernels pithrt_kernels_avx512 = {
    .isa = PITHRT_ISA_AVX512,
    .f32_mr = 8, .f32_nr = 32, .f32_ukr = pithrt_gemm_f32_avx512, .f32_ukr_out = pithrt_gemm_f32_avx512_out,
    .f32_ukr7 = pithrt_gemm_f32_avx512_7, .f32_ukr_swap = pithrt_gemm_f32_avx512_swap,
    .f32_ukr_swap_out = pithrt_gemm_f32_avx512_swap_out,
    .f32_pack_b = pithrt_pack_b_f32_avx512, .f32_bias_act = pithrt_bias_act_f32_avx512,
    .s8_mr = 8, .s8_nr = 32, .s8_ku = 4, .s8_esize = 1, .s8_b_offset = 128,
    .s8_ukr = pithrt_gemm_s8_avx512_vnni, .s8_pack_b = pithrt_pack_b_s8_vnni,
    .s8_ukr_ind = pithrt_gemm_s8_avx512_vnni_ind, .s8_ukr_out = pithrt_gemm_s8_avx512_vnni_out,
    .s8_pad_c4 = pithrt_pad_c4_s8, .s8_ukr_swap = pithrt_gemm_s8_avx512_vnni_swap,
    .swap_rows = pithrt_swap_rows_s32_avx2, .requant = pithrt_requant_s8_avx512,
    /* (dw_f32 / dw_s8: never reached here, dw_f32_rows and dw_s8_quads take every layer) */
    .dw_f32 = pithrt_dw_f32_avx2, .dw_s8 = pithrt_dw_s8_avx2, .dw_s8_quads = pithrt_dw_s8_avx512_vnni,
    .dw_f32_rows = pithrt_dw_f32_avx512_rows, .dw_f32_c16 = pithrt_dw_f32_avx512_c16,
    .dw_s8_c16 = pithrt_dw_s8_avx512_vnni_c16,
    .dot_f32 = pithrt_dot_f32_avx2, .dot_s8 = pithrt_dot_s8_avx2,
    .quantize_s8 = pithrt_quantize_s8_avx2, .add_s8 = pithrt_add_s8_avx2, .add_f32 = pithrt_add_f32_avx512,
    .maxpool_s8 = pithrt_maxpool_s8_avx512, .maxpool_f32 = pithrt_maxpool_f32_avx2,
};
#endif
