// SPDX-License-Identifier: Apache-2.0
// learner.c -- benchmark of the learner's inner updates at the default sizes: one MAAC
// policy update, one STEVE critic update and a plain SAC update (actor H = 0 + one-step
// critic) for reference, each with its FLOP count (GEMM multiply-adds x 2, as counted by
// maac_actor_flops / steve_flops) and its share of the peak sgemm GFLOP/s measured in the
// same run, next to what sgemm alone reaches at the layer shapes the updates are made of,
// and next to a PyTorch implementation of the same two updates (bench/learner_torch.py,
// Debian's python3-torch) on 1 and 2 threads, run in the same process's rounds.
//
// Usage: bench_learner [options] [threads] [n_paths] [horizon]
//   threads: OpenBLAS threads of maacd's updates (default 1)
//   --rounds R   alternate maacd and PyTorch R times (default 3; figures over all rounds)
//   --reps N     timed repetitions per update and round (default 15, after 2 warm-ups)
//   --no-torch   skip the PyTorch reference
//   --profile actor|critic  only run that update, reps x rounds times (for perf record)
//   --sgemm-only feature-major kernel off (mlp_set_feature_major(0)) in --profile
// MAAC_BENCH_PYTHON names the interpreter (default /usr/bin/python3: Debian's, which
// python3-torch installs into).
// Sizes: obs 17, act 6 (half_cheetah's reward), batch 256, 8 models of 4 x 200 swish,
// 2 x 256 policy (tanh) and twin Q (relu), 5 terminal actions, STEVE H = 2.
// Prints figures only; never asserts on timing.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/adam.h"
#include "core/blas_arch.h"
#include "core/maac.h"
#include "core/steve.h"
#include "tests/plant_util.h"

#ifndef MAAC_SOURCE_DIR
#define MAAC_SOURCE_DIR "."
#endif
#define MAX_SAMPLES 4096

enum { U_ACTOR, U_CRITIC, U_SAC, N_UPD };
enum { IMPL_MAACD, IMPL_SGEMM, IMPL_TORCH1, IMPL_TORCH2, N_IMPL };   // SGEMM: feature-major off

enum { T_WALL, T_CPU, N_CLOCK };   // wall time; the calling thread's CPU time

typedef struct {   // every timed repetition of one (update, implementation), in ms
    double t[MAX_SAMPLES];
    int n;
} Samples;

typedef struct {   // the networks, batch and update objects of the benchmark
    int S, A, B;
    Policy* pi;
    QFunction *q, *qt;
    Ensemble* e;
    MaacDynamics dyn;
    float *s, *s2, *a, *r, *done, *target, *gpi, *gq;
    Adam *opi, *oq;
    MaacActor *ma, *ma0;
    Steve *st, *st0;
} Setup;

static void setup_init(Setup* u, Rng* rng, int horizon, int n_paths) {
    const int S = 17, A = 6, B = 256;
    u->S = S, u->A = A, u->B = B;
    float lo[6], hi[6];
    for (int j = 0; j < A; j++) lo[j] = -1, hi[j] = 1;
    int h256[2] = {256, 256};
    u->pi = policy_create(S, A, 2, h256, NN_ACT_TANH, lo, hi, rng);
    u->q = qf_create(S, A, 2, h256, NN_ACT_RELU, rng);
    u->qt = qf_clone(u->q);
    u->e = ens_create(S, A, 8, 4, 200, NN_ACT_SWISH, 0, rng);
    for (int j = 0; j < S; j++) u->e->target_std[j] = 0.1f;
    const PlantModel* rew = test_builtin_plant("half_cheetah");
    maac_dynamics_ensemble(&u->dyn, u->e);
    u->s = malloc(sizeof(float) * B * S);
    u->s2 = malloc(sizeof(float) * B * S);
    u->a = malloc(sizeof(float) * B * A);
    u->r = malloc(sizeof(float) * B);
    u->done = calloc(B, sizeof(float));
    u->target = malloc(sizeof(float) * B);
    rng_normal_fill(rng, u->s, B * S);
    rng_normal_fill(rng, u->s2, B * S);
    rng_uniform_fill(rng, u->a, B * A, -1, 1);
    rng_normal_fill(rng, u->r, B);
    u->gpi = calloc((size_t)u->pi->net->n_params, sizeof(float));
    u->gq = calloc((size_t)u->q->net->n_params, sizeof(float));
    u->opi = adam_create(u->pi->net->n_params, 3e-4f);
    u->oq = adam_create(u->q->net->n_params, 3e-4f);
    MaacConfig mc = {horizon, n_paths, 5, 0.99f, 1, 0}, mc0 = {0, 1, 1, 0.99f, 1, 0};
    SteveConfig sc = {1, 2, 0.99f, 1, 0}, sc0 = {0, 0, 0.99f, 1, 0};
    u->ma = maac_actor_create(&mc, &u->dyn, rew, u->pi, u->q, B);
    u->ma0 = maac_actor_create(&mc0, &u->dyn, rew, u->pi, u->q, B);
    u->st = steve_create(&sc, &u->dyn, rew, u->pi, u->q, B);
    u->st0 = steve_create(&sc0, &u->dyn, rew, u->pi, u->q, B);
    if (!u->pi || !u->q || !u->qt || !u->e || !u->gpi || !u->gq || !u->opi || !u->oq ||
        !u->ma || !u->ma0 || !u->st || !u->st0) {
        fprintf(stderr, "bench_learner: setup failed\n");
        exit(1);
    }
}

static void setup_free(Setup* u) {
    maac_actor_free(u->ma), maac_actor_free(u->ma0), steve_free(u->st), steve_free(u->st0);
    adam_free(u->opi), adam_free(u->oq);
    free(u->gpi), free(u->gq), free(u->s), free(u->s2), free(u->a), free(u->r);
    free(u->done), free(u->target);
    ens_free(u->e), qf_free(u->q), qf_free(u->qt), policy_free(u->pi);
}

static void actor_update(Setup* u, MaacActor* ma, Rng* rng) {
    maac_actor_draw(ma, rng, u->B);
    memset(u->gpi, 0, sizeof(float) * (size_t)u->pi->net->n_params);
    maac_actor_forward(ma, u->pi, u->q, u->s, u->B, 0.1f);
    maac_actor_backward(ma, u->pi, u->q, u->gpi, NULL);
    adam_step(u->opi, u->pi->net->params, u->gpi);
}

static void critic_update(Setup* u, Steve* st, Rng* rng) {
    steve_draw(st, rng, u->B);
    steve_targets(st, u->pi, u->qt, 0.1f, u->s, u->a, u->r, u->s2, u->done, u->B, u->target,
                  NULL, NULL);
    memset(u->gq, 0, sizeof(float) * (size_t)u->q->net->n_params);
    steve_critic_loss(st, u->q, u->s, u->a, u->target, u->B, u->gq);
    adam_step(u->oq, u->q->net->params, u->gq);
    nn_polyak_update(u->qt->net->params, u->q->net->params, u->q->net->n_params, 5e-3f);
}

static void run_update(Setup* u, int which, Rng* rng) {
    if (which == U_ACTOR) actor_update(u, u->ma, rng);
    if (which == U_CRITIC) critic_update(u, u->st, rng);
    if (which == U_SAC) critic_update(u, u->st0, rng), actor_update(u, u->ma0, rng);
}

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// reps timed repetitions (after 2 warm-ups) appended to wall and cpu (ms).
static void time_update(Setup* u, int which, Rng* rng, int reps, Samples* wall, Samples* cpu) {
    for (int i = -2; i < reps; i++) {
        double t0 = bench_now_s(), c0 = thread_cpu_s();
        run_update(u, which, rng);
        double dt = (bench_now_s() - t0) * 1e3, dc = (thread_cpu_s() - c0) * 1e3;
        if (i >= 0 && wall->n < MAX_SAMPLES) wall->t[wall->n++] = dt;
        if (i >= 0 && cpu->n < MAX_SAMPLES) cpu->t[cpu->n++] = dc;
    }
}

// One run of the PyTorch reference; its "actor|critic <threads> wall|cpu ms..." lines
// appended to sm[clock][update][impl]. Returns 0, or -1 when it printed nothing usable.
static int run_torch(Samples sm[N_CLOCK][N_UPD][N_IMPL], int reps, int horizon, int n_paths,
                     char* version, size_t vlen) {
    const char* py = getenv("MAAC_BENCH_PYTHON");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s/bench/learner_torch.py --threads 1,2 --reps %d "
             "--horizon %d --paths %d 2>&1", py && *py ? py : "/usr/bin/python3",
             MAAC_SOURCE_DIR, reps, horizon, n_paths);
    FILE* f = popen(cmd, "r");
    if (!f) return -1;
    static char line[1 << 16];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        char* tok = strtok(line, " \n");
        if (!tok) continue;
        if (strcmp(tok, "torch") == 0) {
            char* v = strtok(NULL, " \n");
            snprintf(version, vlen, "%s", v ? v : "?");
            continue;
        }
        int upd = strcmp(tok, "actor") == 0 ? U_ACTOR : strcmp(tok, "critic") == 0 ? U_CRITIC : -1;
        char* th = strtok(NULL, " \n");
        char* clk = strtok(NULL, " \n");
        if (upd < 0 || !th || !clk) continue;
        int impl = atoi(th) == 1 ? IMPL_TORCH1 : atoi(th) == 2 ? IMPL_TORCH2 : -1;
        int c = strcmp(clk, "wall") == 0 ? T_WALL : strcmp(clk, "cpu") == 0 ? T_CPU : -1;
        if (impl < 0 || c < 0) continue;
        Samples* s = &sm[c][upd][impl];
        for (char* x; (x = strtok(NULL, " \n")) && s->n < MAX_SAMPLES;) s->t[s->n++] = atof(x);
        got = 1;
    }
    int rc = pclose(f);
    return got && rc == 0 ? 0 : -1;
}

static double med(Samples* s) { return s->n ? bench_median(s->t, s->n) : 0.0; }
static double mn(Samples* s) { return s->n ? (bench_median(s->t, s->n), s->t[0]) : 0.0; }

static void print_table(const char* title, Samples sm[N_UPD][N_IMPL], const double* flops,
                        double peak, int horizon, int n_paths) {
    static const char* name[N_UPD] = {"MAAC actor", "STEVE critic (H=2, M=8)",
                                      "SAC update (critic + actor)"};
    printf("\n%s, ms per update, median (min) over every repetition of every round:\n", title);
    printf("%-28s %17s %6s | %17s %6s | %17s %17s | %6s %6s\n", "update", "maacd", "%peak",
           "maacd sgemm-only", "%peak", "PyTorch 1 thread", "PyTorch 2 threads", "PT1/m",
           "PT2/m");
    for (int u = 0; u < N_UPD; u++) {
        char what[64];
        if (u == U_ACTOR)
            snprintf(what, sizeof what, "MAAC actor (H=%d, K=%d)", horizon, n_paths);
        else
            snprintf(what, sizeof what, "%s", name[u]);
        printf("%-28s", what);
        for (int i = 0; i < N_IMPL; i++) {
            Samples* x = &sm[u][i];
            if (x->n)
                printf(" %8.2f (%6.2f)", med(x), mn(x));
            else
                printf(" %17s", "-");
            if (i <= IMPL_SGEMM)
                printf(" %5.1f%% |", x->n ? 100.0 * flops[u] / med(x) * 1e-6 / peak : 0.0);
        }
        double m = med(&sm[u][IMPL_MAACD]);
        for (int i = IMPL_TORCH1; i <= IMPL_TORCH2; i++) {
            if (sm[u][i].n)
                printf(" %5.2fx", med(&sm[u][i]) / m);
            else
                printf(" %6s", "-");
        }
        printf("\n");
    }
    printf("(%%peak: GEMM FLOPs / median time / peak sgemm; PTn/m: PyTorch n threads' median\n"
           " over maacd's, > 1 = maacd faster; sgemm-only: mlp_set_feature_major(0), every\n"
           " layer through OpenBLAS as before the feature-major path, same run)\n");
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd and maac would run (core/blas_arch.h)
    int pos[3] = {1, 1, 4}, npos = 0, rounds = 3, reps = 15, torch = 1, profile = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-torch") == 0) torch = 0;
        else if (strcmp(argv[i], "--sgemm-only") == 0) mlp_set_feature_major(0);
        else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
            profile = strcmp(argv[++i], "critic") == 0 ? U_CRITIC : U_ACTOR;
        else if (npos < 3) pos[npos++] = atoi(argv[i]);
    }
    int threads = pos[0] > 0 ? pos[0] : 1, n_paths = pos[1], horizon = pos[2];
    if (rounds < 1) rounds = 1;
    if (reps < 1 || reps * rounds > MAX_SAMPLES) reps = 15;
    openblas_set_num_threads(threads);
    Rng rng;
    rng_seed(&rng, 1);
    Setup u;
    setup_init(&u, &rng, horizon, n_paths);
    static Samples sm[N_CLOCK][N_UPD][N_IMPL];
    if (profile >= 0) {   // the update alone, for perf record
        Samples* w = &sm[T_WALL][profile][0];
        Samples* c = &sm[T_CPU][profile][0];
        for (int r = 0; r < rounds; r++) time_update(&u, profile, &rng, reps, w, c);
        printf("%s: wall median %.2f min %.2f ms, thread CPU median %.2f min %.2f ms over %d\n",
               profile == U_ACTOR ? "actor" : "critic", med(w), mn(w), med(c), mn(c), w->n);
        setup_free(&u);
        return 0;
    }
    char blas_line[256];
    blas_arch_describe(blas_line, sizeof blas_line, "");
    puts(blas_line);
    double peak = bench_peak_sgemm(&rng, 1);
    printf("peak sgemm: %.1f GFLOP/s (%d thread%s)\n", peak, threads, threads == 1 ? "" : "s");
    // What OpenBLAS itself reaches at the layer shapes these updates are made of (rows x
    // out x in, nn_linear_forward's layout): the practical ceiling for the ratios below.
    static const int shape[][3] = {{256, 256, 256}, {1280, 256, 256}, {256, 200, 200},
                                   {32, 200, 200}, {256, 256, 23}};
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
        double g = bench_sgemm_gflops(&rng, shape[i][0], shape[i][1], shape[i][2], 0.2);
        printf("layer sgemm %4dx%dx%-3d     %6.1f GFLOP/s  %5.1f%% of peak\n", shape[i][0],
               shape[i][1], shape[i][2], g, 100.0 * g / peak);
    }
    double flops[N_UPD] = {maac_actor_flops(u.ma, u.B), steve_flops(u.st, u.B),
                           steve_flops(u.st0, u.B) + maac_actor_flops(u.ma0, u.B)};
    char version[64] = "";
    for (int r = 0; r < rounds; r++) {   // maacd and PyTorch alternate: same machine state
        for (int w = 0; w < N_UPD; w++) {
            mlp_set_feature_major(0);
            time_update(&u, w, &rng, reps, &sm[T_WALL][w][IMPL_SGEMM], &sm[T_CPU][w][IMPL_SGEMM]);
            mlp_set_feature_major(1);
            time_update(&u, w, &rng, reps, &sm[T_WALL][w][IMPL_MAACD], &sm[T_CPU][w][IMPL_MAACD]);
        }
        if (torch && run_torch(sm, reps, horizon, n_paths, version, sizeof version) != 0) {
            printf("PyTorch reference: not available (needs python3-torch: "
                   "packaging/install-deps.sh --bench)\n");
            torch = 0;
        }
    }
    printf("%d rounds x %d repetitions; maacd %d OpenBLAS thread%s; PyTorch %s\n", rounds, reps,
           threads, threads == 1 ? "" : "s", version[0] ? version : "not run");
    print_table("Wall time", sm[T_WALL], flops, peak, horizon, n_paths);
    if (threads == 1) {   // 1 thread: the calling thread's CPU time is all of the work
        for (int w = 0; w < N_UPD; w++) sm[T_CPU][w][IMPL_TORCH2].n = 0;   // 2 threads: n/a
        print_table("Thread CPU time (robust on a shared machine; PyTorch 2 threads: n/a)",
                    sm[T_CPU], flops, peak, horizon, n_paths);
    }
    setup_free(&u);
    return 0;
}
