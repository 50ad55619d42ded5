// SPDX-License-Identifier: Apache-2.0
// train.c -- bench_train: train on a plant and print the return and time per 1000 steps.
//
//   bench_train PLANT STEPS [--seed S] [--compare-sac] [--eval-every N] [--<setting> V]...
//
// Prints the final deterministic evaluation return and the wall time per 1,000 env
// steps split like the paper's Table 1 (model training, policy optimisation, Q
// learning, model rollouts, env). --compare-sac also trains the H = 0 ablation
// (SAC's actor with the same networks, data and critic) for the same steps and seed
// and prints both. A benchmark: prints figures, asserts nothing.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/trainer.h"
#include "core/blas_arch.h"

static void report(const char* name, const TrainResult* tr) {
    const LearnerStats* s = &tr->ls;
    double k = tr->env_steps > 0 ? 1000.0 / (double)tr->env_steps : 0;
    printf("%-6s steps %ld  eval return %.1f +- %.1f  best %.1f  episodes %ld  last train return "
           "%.1f\n",
           name, tr->env_steps, (double)tr->eval_mean, (double)tr->eval_std, (double)tr->best_eval,
           tr->episodes, (double)tr->last_return);
    printf("%-6s s/1000 steps: total %.2f | model training %.2f  policy optimisation %.2f  "
           "Q learning %.2f (updates wall %.2f)  model rollouts %.2f  env %.2f  eval %.2f\n",
           name, tr->t_total * k, s->t_model * k, s->t_policy * k, s->t_q * k,
           s->t_updates * k, s->t_rollout * k, tr->t_env * k, tr->t_eval * k);
    fflush(stdout);
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd and maac would run (core/blas_arch.h)
    char blas_line[256];
    blas_arch_describe(blas_line, sizeof blas_line, "");
    puts(blas_line);
    if (argc < 3) {
        fprintf(stderr, "usage: bench_train PLANT STEPS [--seed S] [--compare-sac] "
                        "[--eval-every N] [--eval-episodes N] [--<setting> VALUE]...\n");
        return 2;
    }
    LearnerConfig cfg;
    learner_config_default(&cfg, argv[1]);
    TrainOpts o;
    train_opts_default(&o);
    o.steps = strtol(argv[2], NULL, 10);
    o.eval_every = 0;
    o.eval_episodes = 5;
    o.progress_every_s = 30;
    int compare = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--compare-sac") == 0) {
            compare = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--eval-every") == 0) {
            o.eval_every = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--eval-episodes") == 0) {
            o.eval_episodes = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--out") == 0) {
            o.out_dir = argv[++i];
        } else if (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
            MaacErr me = {""};
            if (learner_config_set(&cfg, argv[i] + 2, argv[i + 1], &me) != 0) {
                fprintf(stderr, "bench_train: %s\n", me.msg);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "bench_train: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    printf("bench_train %s %ld steps seed %llu: H %d, %d updates/step, batch %d, %d models %dx%d, "
           "real ratio %.2f, rollout batch %d\n",
           cfg.plant, o.steps, (unsigned long long)cfg.seed, cfg.horizon, cfg.updates_per_step,
           cfg.batch, cfg.n_models, cfg.model_hidden, cfg.model_width, (double)cfg.real_ratio,
           cfg.rollout_batch);
    TrainResult tr;
    MaacErr me = {""};
    if (trainer_run(&cfg, &o, &tr, &me) != 0) {
        fprintf(stderr, "bench_train: %s\n", me.msg);
        return 1;
    }
    report("MAAC", &tr);
    if (compare) {
        cfg.horizon = 0;
        const char* out = o.out_dir;
        o.out_dir = NULL;
        (void)out;
        TrainResult ts;
        if (trainer_run(&cfg, &o, &ts, &me) != 0) {
            fprintf(stderr, "bench_train: %s\n", me.msg);
            return 1;
        }
        report("SAC", &ts);
        printf("MAAC vs SAC (H = 0) after %ld steps: %.1f vs %.1f\n", o.steps,
               (double)tr.eval_mean, (double)ts.eval_mean);
    }
    return 0;
}
