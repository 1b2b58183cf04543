/* Instruction sets the runtime has kernels for, and which one this CPU runs.
 * The reference kernels (PITHRT_ISA_REF) run everywhere and are the
 * specification; every other set must give the same int8 bytes and the same
 * floats within 1e-5 relative. */
#ifndef PITHRT_ISA_H
#define PITHRT_ISA_H

typedef enum pithrt_isa {
    PITHRT_ISA_REF = 0,     /* plain C reference kernels */
    PITHRT_ISA_AVX2,        /* x86-64: AVX2 + FMA */
    PITHRT_ISA_AVX512,      /* x86-64: AVX-512 F/BW/VL + VNNI (Ice Lake, Zen 4 and later) */
    PITHRT_ISA_NEON,        /* aarch64: armv8.0 NEON (int8 by SMLAL), e.g. Cortex-A53, A72 */
    PITHRT_ISA_NEON_DOT,    /* aarch64: armv8.2 NEON + dot product (int8 by SDOT), e.g. Cortex-A55, A76 */
    PITHRT_ISA_COUNT
} pithrt_isa;

const char *pithrt_isa_name(pithrt_isa isa);
/* "ref", "avx2", "avx512", "neon", "neondot"; -1 if none of them */
int pithrt_isa_parse(const char *name);
/* 1 if this CPU can run the set (and this build contains it) */
int pithrt_isa_supported(pithrt_isa isa);
/* The set a model loads with: the build's PITHRT_ISA_FORCE if defined, else the
 * environment's PITHRT_ISA if this CPU supports it, else the fastest supported. */
pithrt_isa pithrt_isa_default(void);

#endif
