// SPDX-License-Identifier: Apache-2.0
// test_blas_arch.c -- blas_arch.c: which OpenBLAS core is chosen for which CPU, and the
// re-execution in a real child process: the environment's choice is kept, MAAC_BLAS_AUTO=0
// keeps OpenBLAS's own detection, and where OpenBLAS fell back to generic kernels the
// child comes back on the chosen ones and still computes a correct sgemm.
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/blas_arch.h"
#include "test_util.h"

static const BlasCpu intel_avx512 = {1, 1, 1}, amd_avx512 = {0, 1, 1}, intel_avx2 = {1, 1, 0},
                     old_cpu = {1, 0, 0};

static int same(const char* a, const char* b) {
    return a && b && strcasecmp(a, b) == 0;
}

static void test_choose(void) {
    CHECK(same(blas_arch_choose("Prescott", intel_avx512), "SkylakeX"), "Prescott, Intel AVX-512");
    CHECK(same(blas_arch_choose("PRESCOTT", intel_avx512), "SkylakeX"), "any case");
    CHECK(same(blas_arch_choose("Prescott", intel_avx2), "Haswell"), "Prescott, AVX2 only");
    CHECK(same(blas_arch_choose("Prescott", amd_avx512), "Haswell"), "non-Intel AVX-512 gets AVX2");
    CHECK(same(blas_arch_choose("Nehalem", intel_avx2), "Haswell"), "Nehalem on an AVX2 CPU");
    CHECK(same(blas_arch_choose("Sandybridge", intel_avx2), "Haswell"), "AVX-only core, AVX2 CPU");
    CHECK(blas_arch_choose("Prescott", old_cpu) == NULL, "no AVX2: generic kernels are right");
    CHECK(blas_arch_choose("Haswell", intel_avx512) == NULL, "a correct AVX2 detection stays");
    CHECK(blas_arch_choose("SkylakeX", intel_avx512) == NULL, "SkylakeX stays");
    CHECK(blas_arch_choose("Zen", amd_avx512) == NULL, "Zen stays (no AVX-512 upgrade)");
    CHECK(blas_arch_choose("Cooperlake", intel_avx512) == NULL, "Cooperlake stays");
    CHECK(blas_arch_choose(NULL, intel_avx512) == NULL, "NULL corename");
    CHECK(blas_arch_choose("", intel_avx512) == NULL, "empty corename");
}

// blas_arch_wider: what the CPU could run instead, whoever chose the core.
static void test_wider(void) {
    CHECK(same(blas_arch_wider("Haswell", amd_avx512), "SkylakeX"), "Haswell on AVX-512");
    CHECK(same(blas_arch_wider("zen", amd_avx512), "SkylakeX"), "Zen on AVX-512, any case");
    CHECK(same(blas_arch_wider("Prescott", amd_avx512), "SkylakeX"), "Prescott on AVX-512");
    CHECK(same(blas_arch_wider("Prescott", intel_avx2), "Haswell"), "Prescott on AVX2");
    CHECK(blas_arch_wider("Haswell", intel_avx2) == NULL, "Haswell on AVX2 is the widest");
    CHECK(blas_arch_wider("SkylakeX", intel_avx512) == NULL, "SkylakeX is the widest");
    CHECK(blas_arch_wider("Cooperlake", amd_avx512) == NULL, "Cooperlake is AVX-512");
    CHECK(blas_arch_wider("Prescott", old_cpu) == NULL, "no AVX2: nothing wider");
    CHECK(blas_arch_wider(NULL, intel_avx512) == NULL, "NULL corename");
}

// 0 when a 37x29x41 sgemm matches a double-precision loop to 1e-4 relative.
static int sgemm_ok(void) {
    enum { M = 37, N = 29, K = 41 };
    static float A[M * K], B[K * N], C[M * N];
    for (int i = 0; i < M * K; i++) A[i] = (float)sin(0.37 * i);
    for (int i = 0; i < K * N; i++) B[i] = (float)cos(0.53 * i);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double ref = 0;
            for (int k = 0; k < K; k++) ref += (double)A[i * K + k] * B[k * N + j];
            if (fabs(C[i * N + j] - ref) > 1e-4 * (1.0 + fabs(ref))) return -1;
        }
    return 0;
}

// The child: choose, maybe re-execute, then report what runs, and the describe line.
static int child_main(char** argv) {
    blas_arch_auto(argv);
    const char* from = blas_arch_replaced();
    char line[256];
    blas_arch_describe(line, sizeof line, "");
    printf("core=%s from=%s sgemm=%s\n%s\n", blas_arch_core(), from ? from : "-",
           sgemm_ok() == 0 ? "ok" : "wrong", line);
    return 0;
}

typedef struct {
    char core[64], from[64], sgemm[16], line[256];
} ChildReport;

static int run_child(const char* env, ChildReport* rep) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE -u MAAC_BLAS_AUTO -u MAAC_BLAS_AUTO_FROM %s "
             "/proc/%d/exe --child", env, (int)getpid());
    FILE* p = popen(cmd, "r");
    if (!p) return -1;
    int n = fscanf(p, "core=%63s from=%63s sgemm=%15s ", rep->core, rep->from, rep->sgemm);
    int got_line = fgets(rep->line, sizeof rep->line, p) != NULL;
    int st = pclose(p);
    rep->line[strcspn(rep->line, "\n")] = 0;
    return (n == 3 && got_line && st == 0) ? 0 : -1;
}

static void test_reexec(void) {
    ChildReport own, autod, kept;
    CHECK(run_child("MAAC_BLAS_AUTO=0", &own) == 0, "child with MAAC_BLAS_AUTO=0 ran");
    CHECK(strcmp(own.from, "-") == 0, "MAAC_BLAS_AUTO=0 replaced nothing (from %s)", own.from);
    CHECK(strcmp(own.sgemm, "ok") == 0, "sgemm on OpenBLAS's own core %s", own.core);

    CHECK(run_child("", &autod) == 0, "child with the automatic choice ran");
    const char* want = blas_arch_choose(own.core, blas_arch_cpu());
    printf("OpenBLAS detects %s here; automatic choice: %s; child runs %s\n", own.core,
           want ? want : "(none)", autod.core);
    if (want) {
        CHECK(same(autod.core, want), "re-executed on %s, runs %s", want, autod.core);
        CHECK(same(autod.from, own.core), "reports the replaced core %s (got %s)", own.core,
              autod.from);
    } else {
        CHECK(same(autod.core, own.core), "no choice: stays on %s (runs %s)", own.core, autod.core);
        CHECK(strcmp(autod.from, "-") == 0, "no choice: nothing replaced (from %s)", autod.from);
    }
    CHECK(strcmp(autod.sgemm, "ok") == 0, "sgemm on the automatic core %s", autod.core);

    // The environment's core stands even where the automatic rule would replace it:
    // Prescott (SSE3, runs on every x86-64 CPU) is the very core it upgrades.
    CHECK(run_child("OPENBLAS_CORETYPE=Prescott", &kept) == 0, "child with Prescott forced ran");
    CHECK(same(kept.core, "Prescott"), "OPENBLAS_CORETYPE=Prescott kept (runs %s)", kept.core);
    CHECK(strcmp(kept.from, "-") == 0, "forced core: nothing replaced (from %s)", kept.from);
    CHECK(strcmp(kept.sgemm, "ok") == 0, "sgemm on Prescott");
    // ... and the start-up line says when the environment's core is narrower than the CPU.
    const char* wider = blas_arch_wider("Prescott", blas_arch_cpu());
    printf("forced Prescott: %s\n", kept.line);
    if (wider) {
        char want_hint[96];
        snprintf(want_hint, sizeof want_hint, "also runs the wider %s kernels", wider);
        CHECK(strstr(kept.line, "OPENBLAS_CORETYPE=Prescott from the environment") &&
                  strstr(kept.line, want_hint),
              "the line names the environment's core and %s: %s", wider, kept.line);
    } else {
        CHECK(strcmp(kept.line, "OpenBLAS core: Prescott") == 0, "no wider core: plain line: %s",
              kept.line);
    }
    CHECK(strstr(own.line, "from the environment") == NULL, "no environment core, no note: %s",
          own.line);
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return child_main(argv);
    test_choose();
    test_wider();
#if defined(__x86_64__)
    test_reexec();
#endif
    return test_summary("test_blas_arch");
}
