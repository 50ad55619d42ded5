// SPDX-License-Identifier: Apache-2.0
// blas_arch.h -- pick OpenBLAS's kernels where its own CPU detection gives up.
//
// OpenBLAS chooses its kernels (its "core type") once, when the library is loaded.
// Releases before 0.3.25, Debian 12's 0.3.21 among them, fall back to their generic
// SSE3 kernels ("Prescott") on an Intel CPU whose model number they do not know,
// even when it has AVX2 or AVX-512 (OpenBLAS issue 4267, fixed upstream by choosing
// from the CPU's feature bits, as this file does). On such a machine every sgemm of
// the learner runs 2.5-5x slower than it could: measured on a 2-core Sapphire Rapids
// guest, 32 GFLOP/s against 82 (Haswell kernels) and 154 (SkylakeX kernels).
//
// blas_arch_auto() is called first thing in main() by the programs that do heavy
// BLAS work (maacd, maac, the benchmarks). When OPENBLAS_CORETYPE is unset and
// OpenBLAS has fallen back to an SSE-only core on a CPU with AVX2 + FMA, it sets
// OPENBLAS_CORETYPE (SkylakeX on an Intel CPU with AVX-512 F/CD/BW/DQ/VL, else
// Haswell) and re-executes the program, so the library loads again with those
// kernels. It never overrides a core type the environment chose, never touches a
// detection OpenBLAS got right, and does nothing with MAAC_BLAS_AUTO=0.
//
// Thread: blas_arch_auto before any other thread of the program exists (it may
// exec). Allocation: none.
#ifndef MAAC_BLAS_ARCH_H
#define MAAC_BLAS_ARCH_H

#include <stddef.h>

// What the CPU can run, from cpuid.
typedef struct {
    int intel;    // GenuineIntel
    int avx2;     // AVX2 and FMA3
    int avx512;   // AVX-512 F, CD, BW, DQ and VL (what OpenBLAS's SkylakeX kernels use)
} BlasCpu;

// This CPU's features (from the compiler's cpuid support).
BlasCpu blas_arch_cpu(void);

// The core type to ask for, or NULL to leave OpenBLAS's choice alone: non-NULL only
// when `corename` (openblas_get_corename(), any case) is one of OpenBLAS's SSE-only
// cores and `cpu` has AVX2 + FMA. Pure. Nullable: corename (gives NULL).
const char* blas_arch_choose(const char* corename, BlasCpu cpu);

// A core with wider kernels than `corename` that `cpu` runs, whoever chose corename:
// "SkylakeX" for an SSE-only or AVX2-only core on a CPU with AVX-512, "Haswell" for an
// SSE-only core on a CPU with AVX2 + FMA only; else NULL. Pure. Nullable: corename.
const char* blas_arch_wider(const char* corename, BlasCpu cpu);

// The core OpenBLAS is running now (openblas_get_corename()).
const char* blas_arch_core(void);

// Where blas_arch_auto chose the running core: the core OpenBLAS had detected
// ("Prescott"); NULL when the core is OpenBLAS's or the environment's own choice.
const char* blas_arch_replaced(void);

// One line, "<prefix>OpenBLAS core: SkylakeX (chosen for this CPU; OpenBLAS detected
// Prescott; OPENBLAS_CORETYPE overrides)" or "<prefix>OpenBLAS core: Haswell", into
// buf (n bytes, no newline). Where the environment's OPENBLAS_CORETYPE holds the
// program on narrower kernels than the CPU runs (blas_arch_wider), the line says so:
// "OpenBLAS core: Haswell (OPENBLAS_CORETYPE=Haswell from the environment; this CPU
// also runs the wider SkylakeX kernels, faster for the learner)". Nullable: prefix.
void blas_arch_describe(char* buf, size_t n, const char* prefix);

// Re-execute the program with a better OPENBLAS_CORETYPE when blas_arch_choose says so
// (see the top of this file). Returns only when nothing is to be done or the exec
// failed (then the program runs on as it is, slower); argv must be main's.
void blas_arch_auto(char** argv);

#endif
