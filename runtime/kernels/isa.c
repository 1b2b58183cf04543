/* CPU capability detection: cpuid on x86-64 (through the compiler's
 * __builtin_cpu_supports), getauxval(AT_HWCAP) on aarch64 Linux. */
#include <stdlib.h>
#include <string.h>

#include "isa.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static const char *const names[PITHRT_ISA_COUNT] = {"ref", "avx2", "avx512", "neon", "neondot"};

const char *pithrt_isa_name(pithrt_isa isa) { return isa >= 0 && isa < PITHRT_ISA_COUNT ? names[isa] : "?"; }

int pithrt_isa_parse(const char *name)
{
    for (int i = 0; name && i < PITHRT_ISA_COUNT; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

int pithrt_isa_supported(pithrt_isa isa)
{
    switch (isa) {
    case PITHRT_ISA_REF:
        return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case PITHRT_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PITHRT_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
#if defined(__aarch64__)
    case PITHRT_ISA_NEON:
        return 1; /* Advanced SIMD is mandatory in armv8-a */
    case PITHRT_ISA_NEON_DOT:
#if defined(__linux__)
        return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
        return 0;
#endif
#endif
    default:
        return 0;
    }
}

pithrt_isa pithrt_isa_default(void)
{
#ifdef PITHRT_ISA_FORCE
    return PITHRT_ISA_FORCE;
#else
    int env = pithrt_isa_parse(getenv("PITHRT_ISA"));
    if (env >= 0 && pithrt_isa_supported((pithrt_isa)env))
        return (pithrt_isa)env;
    static const pithrt_isa best[] = {PITHRT_ISA_AVX512, PITHRT_ISA_NEON_DOT, PITHRT_ISA_AVX2, PITHRT_ISA_NEON};
    for (size_t i = 0; i < sizeof best / sizeof best[0]; i++)
        if (pithrt_isa_supported(best[i]))
            return best[i];
    return PITHRT_ISA_REF;
#endif
}
