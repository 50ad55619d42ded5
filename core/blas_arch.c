// SPDX-License-Identifier: Apache-2.0
// blas_arch.c -- choose OpenBLAS's kernels from the CPU's features where OpenBLAS fell
// back to its generic ones (see blas_arch.h for why), by re-executing the program
// with OPENBLAS_CORETYPE set.
// Thread: see blas_arch.h. Allocation: none.
#include "core/blas_arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

char* openblas_get_corename(void);   // OpenBLAS extension (declared in its cblas.h)

// Set in the environment of the re-executed program: the core OpenBLAS had detected.
#define BLAS_ARCH_FROM_ENV "MAAC_BLAS_AUTO_FROM"

// OpenBLAS's x86-64 cores whose kernels use no AVX2: what its detection falls back to
// ("Prescott" for an unknown Intel model) or a core older than the CPU it runs on.
static const char* const sse_only_cores[] = {
    "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge",
    "Opteron", "Opteron_SSE3", "Barcelona", "Bobcat", "Nano", "Katmai", "Coppermine",
    "Northwood", "Banias", "Unknown",
};

// Its x86-64 cores with AVX2 kernels but no AVX-512 ones.
static const char* const avx2_only_cores[] = {
    "Haswell", "Zen", "Skylake", "Broadwell", "Excavator", "Steamroller", "Piledriver",
    "Bulldozer",
};

BlasCpu blas_arch_cpu(void) {
    BlasCpu cpu = {0, 0, 0};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    cpu.intel = __builtin_cpu_is("intel");
    cpu.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                 __builtin_cpu_supports("avx512vl");
#endif
    return cpu;
}

static int in_list(const char* corename, const char* const* list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(corename, list[i]) == 0) return 1;
    return 0;
}

static int is_sse_only_core(const char* corename) {
    return in_list(corename, sse_only_cores, sizeof sse_only_cores / sizeof sse_only_cores[0]);
}

static int is_avx2_only_core(const char* corename) {
    return in_list(corename, avx2_only_cores, sizeof avx2_only_cores / sizeof avx2_only_cores[0]);
}

const char* blas_arch_wider(const char* corename, BlasCpu cpu) {
    if (!corename || !cpu.avx2) return NULL;
    if (cpu.avx512 && (is_sse_only_core(corename) || is_avx2_only_core(corename)))
        return "SkylakeX";
    if (is_sse_only_core(corename)) return "Haswell";
    return NULL;
}

const char* blas_arch_choose(const char* corename, BlasCpu cpu) {
    if (!corename || !is_sse_only_core(corename) || !cpu.avx2) return NULL;
    // SkylakeX is what OpenBLAS itself picks for an AVX-512 Intel CPU it knows; on
    // other vendors' AVX-512 parts old releases have had wrong-result bugs, so those
    // get the AVX2 kernels every x86-64 CPU with AVX2 + FMA runs correctly.
    if (cpu.intel && cpu.avx512) return "SkylakeX";
    return "Haswell";
}

const char* blas_arch_core(void) {
    const char* name = openblas_get_corename();
    return name ? name : "unknown";
}

const char* blas_arch_replaced(void) {
    const char* from = getenv(BLAS_ARCH_FROM_ENV);
    const char* chosen = getenv("OPENBLAS_CORETYPE");
    return (from && from[0] && chosen && chosen[0]) ? from : NULL;
}

void blas_arch_describe(char* buf, size_t n, const char* prefix) {
    const char* from = blas_arch_replaced();
    const char* env_core = getenv("OPENBLAS_CORETYPE");
    const char* wider = blas_arch_wider(blas_arch_core(), blas_arch_cpu());
    if (!prefix) prefix = "";
    if (from)
        snprintf(buf, n, "%sOpenBLAS core: %s (chosen for this CPU; OpenBLAS detected %s; "
                 "OPENBLAS_CORETYPE overrides)", prefix, blas_arch_core(), from);
    else if (env_core && env_core[0] && wider)
        snprintf(buf, n, "%sOpenBLAS core: %s (OPENBLAS_CORETYPE=%s from the environment; "
                 "this CPU also runs the wider %s kernels, faster for the learner)", prefix,
                 blas_arch_core(), env_core, wider);
    else
        snprintf(buf, n, "%sOpenBLAS core: %s", prefix, blas_arch_core());
}

void blas_arch_auto(char** argv) {
    const char* off = getenv("MAAC_BLAS_AUTO");
    if (off && strcmp(off, "0") == 0) return;
    const char* env_core = getenv("OPENBLAS_CORETYPE");
    if (env_core && env_core[0]) return;   // the environment's choice stands
    const char* detected = blas_arch_core();
    const char* choice = blas_arch_choose(detected, blas_arch_cpu());
    if (!choice || !argv || !argv[0]) return;
    char from[64];
    snprintf(from, sizeof from, "%s", detected);
    if (setenv("OPENBLAS_CORETYPE", choice, 1) != 0 || setenv(BLAS_ARCH_FROM_ENV, from, 1) != 0)
        return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    // exec failed (no /proc?): run on with the kernels already loaded, and make sure
    // nothing later claims the choice took effect.
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(BLAS_ARCH_FROM_ENV);
    fprintf(stderr, "note: OpenBLAS runs its generic %s kernels; "
                    "set OPENBLAS_CORETYPE=%s for faster learning\n", from, choice);
}
