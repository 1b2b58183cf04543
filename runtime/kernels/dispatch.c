/* Which kernel table an instruction set uses. */
#include "ukernel.h"

const pithrt_kernels *pithrt_kernels_for(pithrt_isa isa)
{
    switch (isa) {
#if defined(__x86_64__)
    case PITHRT_ISA_AVX2:
        return &pithrt_kernels_avx2;
    case PITHRT_ISA_AVX512:
        return &pithrt_kernels_avx512;
#endif
#if defined(__aarch64__)
    case PITHRT_ISA_NEON:
        return &pithrt_kernels_neon;
    case PITHRT_ISA_NEON_DOT:
        return &pithrt_kernels_neon_dot;
#endif
    default:
        return NULL;
    }
}
