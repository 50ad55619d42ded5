// SPDX-License-Identifier: Apache-2.0
// trainer.h -- the offline training driver: one plant, one learner, evaluations, files.
//
// What `maac train`, bench_train and the learning tests share: a SimPlant to collect
// on, a second SimPlant for deterministic evaluation episodes, the learner, the
// progress line, OUT/eval.csv, OUT/timing.csv, OUT/policy.ckpt, OUT/policy_best.ckpt
// (the policy of the best evaluation so far), OUT/learner.ckpt and OUT/state.ckpt (the
// complete learner state for `maac train --resume`).
// Thread: one thread. Allocation: trainer_run (everything, freed before it returns).
#ifndef MAAC_TRAINER_H
#define MAAC_TRAINER_H

#include <signal.h>

#include "core/learner.h"
#include "core/plant.h"
#include "sim/sim.h"

typedef struct {
    long steps;                 // env steps to train for
    int eval_every;             // env steps between evaluations (0 = only at the end)
    int eval_episodes;          // deterministic episodes per evaluation
    int eval_max_steps;         // cap on steps per evaluation episode (0 = plant's limit)
    const char* out_dir;        // where files go (NULL = no files)
    int progress;               // 1: progress line on stderr
    double progress_every_s;    // seconds between progress lines (10)
    float stop_at_return;       // stop once an evaluation mean reaches it (0 = never)
    int stop_on_eval_nan;       // (unused, reserved)
    volatile sig_atomic_t* stop;// set asynchronously (SIGINT) to stop cleanly. Nullable.
    const char* resume;         // a state.ckpt to continue from (NULL = a fresh run): the
                                // learner and its settings come from it (cfg is ignored),
                                // the step count, episode seeds, evaluation counters and
                                // time totals continue; the plant starts a new episode;
                                // OUT/eval.csv is appended to (rows past the saved step,
                                // from a run killed after an evaluation, are dropped);
                                // eval_every, eval_episodes and eval_max_steps < 0 take
                                // the saved run's values (its evaluation schedule)
    int threads;                // resume: > 0 replaces the saved run's thread count
                                // (the run's results do not depend on it); 0 keeps it
    const PlantModel* plant;    // the plant's model (reward, termination) as the program
                                // resolved it (built-in + plugin + rules); NULL: the
                                // built-in model of cfg's plant (required with resume)
} TrainOpts;

typedef struct {
    long env_steps;             // steps done
    long episodes;              // training episodes finished
    float last_return;          // return of the last finished training episode
    int n_evals;                // evaluations done
    float eval_mean, eval_std;  // last evaluation
    float best_eval;            // best evaluation mean
    long first_solved_step;     // env steps at the first eval >= stop_at_return (-1 none)
    double t_env, t_eval, t_total;   // seconds: plant stepping + acting, evaluation, all
    LearnerStats ls;            // the learner's counters and time breakdown
    double sum_returns;         // sum of training-episode returns (determinism test)
    long start_step;            // env steps already done when this call began (resume)
    LearnerConfig cfg;          // the settings trained with (the saved ones on resume)
} TrainResult;

// Defaults: eval_every 5000, eval_episodes 5, progress on every 10 s.
void train_opts_default(TrainOpts* o);
// Train cfg's plant for o->steps env steps. 0 or -errno (reterr filled). Nullable: ret.
int trainer_run(const LearnerConfig* cfg, const TrainOpts* o, TrainResult* ret,
                MaacErr* reterr);

// One evaluation episode.
typedef struct {
    double ret;                 // undiscounted return
    int steps;                  // env steps taken
    int terminated;             // ended by the plant's health check (not a time limit)
} EvalEpisode;

// Deterministic evaluation: `episodes` episodes of pi (tanh(mu)) on plant p, reset
// with seeds seed0 + i; with ens/qf/cem non-NULL, act by CEM-MPC instead, scoring with
// pm's reward, else the ensemble's learned reward head (-EINVAL when neither). Mean
// and std of the returns; each episode's result in per_episode[i] when given (room for
// `episodes`). 0 or -errno. Nullable: pm (the built-in model of p), ens, qf, cem,
// ret_std, per_episode.
int trainer_evaluate(SimPlant* p, const PlantModel* pm, const Policy* pi, const Ensemble* ens, const QFunction* qf,
                     const CemConfig* cem, int episodes, int max_steps, uint64_t seed0,
                     float* ret_mean, float* ret_std, EvalEpisode* per_episode);

#endif
