// SPDX-License-Identifier: Apache-2.0
// trainer.c -- the offline training driver shared by `maac train`, bench_train and tests.
//
// Loop per env step: act (uniform random during the learner's init phase, then a
// policy sample), step the plant, hand the transition to the learner (terminated is
// terminal, truncation is not), learner_train_step. Every eval_every steps (and at
// the end) run deterministic evaluation episodes of the deployed policy (the weight
// average with policy_avg_tau > 0, then also the online policy on the same seeds) on a
// separate plant instance, append to OUT/eval.csv, rewrite OUT/timing.csv and write OUT/policy.ckpt,
// OUT/learner.ckpt and OUT/state.ckpt atomically (and OUT/policy_best.ckpt,
// OUT/learner_best.ckpt when the evaluation is the best so far). A stop flag (SIGINT) ends the loop
// after the step in progress, with the same final evaluation-free save.
// Resume (TrainOpts.resume): the learner comes from a state.ckpt (learner_state.h),
// whose caller numbers ("x.*") carry this loop's own counters: episodes, the episode
// seeds used, last and summed returns, evaluations, best evaluation, first solved
// step and the env/eval/total seconds. The interrupted plant episode is not restored:
// the plant starts a new episode with the next unused seed. An episode that has not
// taken a step yet (a save at an episode boundary) leaves its seed unused, so a run
// resumed from there repeats that reset and continues exactly as if never stopped.
// Thread: one thread. Allocation: everything in trainer_run, freed on return.
#include "cli/trainer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/blas_arch.h"
#include "core/learner_preset.h"
#include "sim/plant_builtin.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void train_opts_default(TrainOpts* o) {
    memset(o, 0, sizeof(*o));
    o->steps = 50000;
    o->eval_every = 5000;
    o->eval_episodes = 5;
    o->progress = 1;
    o->progress_every_s = 10.0;
}

int trainer_evaluate(SimPlant* p, const PlantModel* pm, const Policy* pi, const Ensemble* ens, const QFunction* qf,
                     const CemConfig* cem, int episodes, int max_steps, uint64_t seed0,
                     float* ret_mean, float* ret_std, EvalEpisode* per_episode) {
    const SimSpec* sp = sim_spec(p);
    int S = sp->obs_dim, A = sp->act_dim;
    double obs[SIM_MAX_OBS], act[SIM_MAX_ACT];
    float obs_f[SIM_MAX_OBS], act_f[SIM_MAX_ACT];
    float* scratch = malloc((size_t)policy_act1_scratch_floats(pi) * sizeof(float));
    CemWork* cw = NULL;
    PlantModel builtin;
    const PlantModel* rf = pm;
    Rng rng;
    rng_seed(&rng, seed0 ^ 0x5bd1e995ULL);
    int r = 0;
    if (!scratch)
        return -ENOMEM;
    if (ens && qf && cem) {
        if (!rf && sim_plant_model(sp, &builtin, NULL) == 0)
            rf = &builtin;
        int no_reward = !(rf && rf->reward) && !ens->learn_reward;
        cw = no_reward ? NULL : cem_work_create(cem, ens, pi, qf);
        if (!cw) {   // no reward (known or learned), or a CEM config it refuses
            r = (no_reward || cem->n_elites > cem->population || cem->n_elites < 1) ? -EINVAL
                                                                                    : -ENOMEM;
            goto out;
        }
    }
    double sum = 0, sum2 = 0;
    for (int ep = 0; ep < episodes; ep++) {
        if ((r = sim_reset(p, seed0 + (uint64_t)ep, obs)) != 0)
            goto out;
        double ret = 0;
        int t = 0, terminated = 0;
        for (; max_steps <= 0 || t < max_steps; t++) {
            for (int j = 0; j < S; j++)
                obs_f[j] = (float)obs[j];
            int ar = cw ? cem_plan(cem, cw, ens, pi, qf, rf, obs_f, &rng, act_f)
                        : policy_act1(pi, obs_f, NULL, act_f, scratch);
            for (int j = 0; j < A; j++)
                act[j] = ar == 0 ? (double)act_f[j] : 0.5 * (sp->act_low[j] + sp->act_high[j]);
            SimStepResult sr;
            if ((r = sim_step(p, act, obs, &sr)) != 0)
                goto out;
            ret += sr.reward;
            if (sr.terminated || sr.truncated) {
                terminated = sr.terminated;
                t++;
                break;
            }
        }
        if (per_episode)
            per_episode[ep] = (EvalEpisode){ret, t, terminated};
        sum += ret;
        sum2 += ret * ret;
    }
    double mean = episodes > 0 ? sum / episodes : 0.0;
    double var = episodes > 0 ? sum2 / episodes - mean * mean : 0.0;
    *ret_mean = (float)mean;
    if (ret_std)
        *ret_std = (float)sqrt(var > 0 ? var : 0);
out:
    cem_work_free(cw);
    free(scratch);
    return r;
}

// ---- output files ----------------------------------------------------------------

static int out_path(char* buf, size_t n, const char* dir, const char* name) {
    int w = snprintf(buf, n, "%s/%s", dir, name);
    return (w < 0 || (size_t)w >= n) ? -ENAMETOOLONG : 0;
}

static void write_timing(const char* dir, const TrainResult* tr) {
    char path[4096], buf[2048];
    if (out_path(path, sizeof(path), dir, "timing.csv") != 0)
        return;
    const LearnerStats* s = &tr->ls;
    double per_k = tr->env_steps > 0 ? 1000.0 / (double)tr->env_steps : 0;
    int n = snprintf(buf, sizeof(buf),
                     "part,seconds,seconds_per_1000_env_steps\n"
                     "model_training,%.3f,%.3f\n"
                     "policy_optimisation,%.3f,%.3f\n"
                     "q_learning,%.3f,%.3f\n"
                     "updates_wall,%.3f,%.3f\n"
                     "model_rollouts,%.3f,%.3f\n"
                     "env,%.3f,%.3f\n"
                     "evaluation,%.3f,%.3f\n"
                     "total,%.3f,%.3f\n",
                     s->t_model, s->t_model * per_k, s->t_policy, s->t_policy * per_k, s->t_q,
                     s->t_q * per_k, s->t_updates, s->t_updates * per_k, s->t_rollout, s->t_rollout * per_k, tr->t_env,
                     tr->t_env * per_k, tr->t_eval, tr->t_eval * per_k, tr->t_total,
                     tr->t_total * per_k);
    if (n > 0 && (size_t)n < sizeof(buf))
        (void)maac_write_atomic(path, buf, (size_t)n, NULL);
}

// The loop's own counters and its evaluation schedule, saved with the learner state.
// Reset seeds consumed so far: the next seed is ep_seed, but an episode that has not
// taken a step yet (a save at an episode boundary) leaves its seed to the resumed run.
static uint64_t episode_seeds_used(uint64_t ep_seed, uint64_t ep_seed0, long ep_steps) {
    return ep_seed - ep_seed0 - (ep_steps == 0);
}

static void trainer_extra(const TrainResult* tr, const TrainOpts* o, uint64_t seeds_used,
                          LearnerStateExtra* x) {
    memset(x, 0, sizeof(*x));
    learner_state_extra_set(x, "eval_every", o->eval_every);
    learner_state_extra_set(x, "eval_episodes", o->eval_episodes);
    learner_state_extra_set(x, "eval_max_steps", o->eval_max_steps);
    learner_state_extra_set(x, "episodes", (double)tr->episodes);
    learner_state_extra_set(x, "episode_seeds_used", (double)seeds_used);
    learner_state_extra_set(x, "last_return", tr->last_return);
    learner_state_extra_set(x, "sum_returns", tr->sum_returns);
    learner_state_extra_set(x, "n_evals", tr->n_evals);
    learner_state_extra_set(x, "best_eval", tr->best_eval);
    learner_state_extra_set(x, "eval_mean", tr->eval_mean);
    learner_state_extra_set(x, "eval_std", tr->eval_std);
    learner_state_extra_set(x, "first_solved_step", (double)tr->first_solved_step);
    learner_state_extra_set(x, "t_env", tr->t_env);
    learner_state_extra_set(x, "t_eval", tr->t_eval);
    learner_state_extra_set(x, "t_total", tr->t_total);
}

// On resume, an option < 0 takes the saved run's value (train_opts_default's where the
// state predates saving them).
static void resume_schedule(TrainOpts* o, const LearnerStateExtra* x) {
    TrainOpts d;
    train_opts_default(&d);
    if (o->eval_every < 0)
        o->eval_every = (int)learner_state_extra_get(x, "eval_every", d.eval_every);
    if (o->eval_episodes < 0)
        o->eval_episodes = (int)learner_state_extra_get(x, "eval_episodes", d.eval_episodes);
    if (o->eval_max_steps < 0)
        o->eval_max_steps = (int)learner_state_extra_get(x, "eval_max_steps", d.eval_max_steps);
}

// DIR/name <- the learner's current policy, in the daemon's policy format.
static int save_policy(const char* dir, const char* name, Learner* l, MaacErr* reterr) {
    char path[4096];
    int r;
    if ((r = out_path(path, sizeof(path), dir, name)) != 0)
        return maac_err(reterr, r, "output path too long");
    Policy* snap = learner_snapshot_policy(l);
    if (!snap)
        return maac_err(reterr, -ENOMEM, "out of memory");
    r = policy_save(snap, path, reterr);
    policy_free(snap);
    return r;
}

// The policy (what maacd loads) and the learner (what `maac eval --mpc` plans with)
// under the given names: the last ones, or those of the best evaluation so far, so
// neither is lost when a later evaluation is worse.
static int save_policy_learner(const char* dir, const char* policy_name, const char* learner_name,
                               Learner* l, MaacErr* reterr) {
    char path[4096];
    int r;
    if ((r = save_policy(dir, policy_name, l, reterr)) != 0)
        return r;
    if ((r = out_path(path, sizeof(path), dir, learner_name)) != 0)
        return maac_err(reterr, r, "output path too long");
    return learner_save(l, path, reterr);
}

static int save_all(const char* dir, Learner* l, const LearnerStateExtra* x, MaacErr* reterr) {
    char path[4096];
    int r;
    if ((r = save_policy_learner(dir, "policy.ckpt", "learner.ckpt", l, reterr)) != 0)
        return r;
    if ((r = out_path(path, sizeof(path), dir, "state.ckpt")) != 0)
        return maac_err(reterr, r, "output path too long");
    // Not fatal: a state over the checkpoint size limit (large D_model, e.g. long
    // rollouts on a big plant) or a full disk only costs the resume point.
    MaacErr se = {""};
    if (learner_state_save_ex(l, x, path, &se) != 0)
        fprintf(stderr, "maac: warning: state.ckpt not written (%s); --resume would "
                        "continue from the previous one, if any\n", se.msg);
    return 0;
}

// Keep the header and the rows of OUT/eval.csv at or before env step `upto` (a run
// killed between an evaluation row and the state save leaves a row the resumed run
// will write again). 0 or -errno; a missing file is fine.
static int trim_eval_csv(const char* path, long upto, MaacErr* reterr) {
    FILE* f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : maac_err(reterr, -errno, "open %s: %s", path, strerror(errno));
    char* out = NULL;
    size_t out_len = 0;
    FILE* mf = open_memstream(&out, &out_len);
    char line[1024];
    int first = 1, dropped = 0;
    while (mf && fgets(line, sizeof(line), f)) {
        char* end;
        long step = strtol(line, &end, 10);
        if (first || end == line || *end != ',' || step <= upto)
            fputs(line, mf);
        else
            dropped = 1;
        first = 0;
    }
    fclose(f);
    if (!mf)
        return maac_err(reterr, -ENOMEM, "out of memory");
    fclose(mf);
    int r = dropped ? maac_write_atomic(path, out, out_len, reterr) : 0;
    free(out);
    return r;
}

static void fmt_hms(char* buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7)
        s = 0;
    long t = (long)s;
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

// ---- the loop ----------------------------------------------------------------------

int trainer_run(const LearnerConfig* cfg, const TrainOpts* opts, TrainResult* ret,
                MaacErr* reterr) {
    TrainOpts oo = *opts;
    const TrainOpts* o = &oo;
    TrainResult tr;
    memset(&tr, 0, sizeof(tr));
    tr.first_solved_step = -1;
    tr.best_eval = -INFINITY;
    SimPlant* plant = NULL;
    SimPlant* eplant = NULL;
    Learner* l = NULL;
    FILE* evf = NULL;
    int r = 0;
    double t_start = now_s();
    LearnerStateExtra x = {0};
    if (o->resume && !o->plant) {
        r = maac_err(reterr, -EINVAL, "resume: the plant's model is required (TrainOpts.plant)");
        goto out;
    }
    if (o->resume) {
        l = learner_state_load_ex(o->resume, o->plant, o->threads, &x, reterr);
        if (!l) {
            r = -EINVAL;
            goto out;
        }
        cfg = learner_config(l);
        // Continue the loop's own counters (time totals: t_start moves back).
        tr.start_step = learner_env_buffer(l)->total_added;
        tr.episodes = (long)learner_state_extra_get(&x, "episodes", 0);
        tr.last_return = (float)learner_state_extra_get(&x, "last_return", NAN);
        tr.sum_returns = learner_state_extra_get(&x, "sum_returns", 0);
        tr.n_evals = (int)learner_state_extra_get(&x, "n_evals", 0);
        tr.best_eval = (float)learner_state_extra_get(&x, "best_eval", -INFINITY);
        tr.eval_mean = (float)learner_state_extra_get(&x, "eval_mean", 0);   // the last
        tr.eval_std = (float)learner_state_extra_get(&x, "eval_std", 0);     // evaluation
        tr.first_solved_step = (long)learner_state_extra_get(&x, "first_solved_step", -1);
        tr.t_env = learner_state_extra_get(&x, "t_env", 0);
        tr.t_eval = learner_state_extra_get(&x, "t_eval", 0);
        t_start -= learner_state_extra_get(&x, "t_total", 0);
        resume_schedule(&oo, &x);
    }
    if (oo.eval_every < 0 || oo.eval_episodes < 1 || oo.eval_max_steps < 0) {
        r = maac_err(reterr, -EINVAL, "bad evaluation schedule (every %d, episodes %d, "
                                      "max steps %d)", oo.eval_every, oo.eval_episodes,
                     oo.eval_max_steps);
        goto out;
    }
    tr.cfg = *cfg;
    plant = sim_create(cfg->plant, reterr);
    eplant = plant ? sim_create(cfg->plant, reterr) : NULL;
    if (!plant || !eplant) {
        r = -EINVAL;
        goto out;
    }
    const SimSpec* sp = sim_spec(plant);
    int S = sp->obs_dim, A = sp->act_dim;
    PlantModel builtin;
    if (!l && !o->plant && (r = sim_plant_model(sp, &builtin, reterr)) != 0)
        goto out;
    if (!l)
        l = learner_create(cfg, o->plant ? o->plant : &builtin, reterr);
    if (!l) {
        r = -EINVAL;
        goto out;
    }
    if (learner_env_buffer(l)->obs_dim != S || learner_env_buffer(l)->act_dim != A) {
        r = maac_err(reterr, -EINVAL, "%s: saved for obs %d act %d, plant %s has obs %d act %d",
                     o->resume, learner_env_buffer(l)->obs_dim, learner_env_buffer(l)->act_dim,
                     cfg->plant, S, A);
        goto out;
    }
    if (o->out_dir) {
        char path[4096];
        if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
            r = maac_err(reterr, -errno, "mkdir %s: %s", o->out_dir, strerror(errno));
            goto out;
        }
        if (out_path(path, sizeof(path), o->out_dir, "config.ini") == 0) {
            FILE* cf = fopen(path, "w");
            if (cf) {
                fprintf(cf, "# maac train: resolved settings\n");
                char blas_line[256];
                blas_arch_describe(blas_line, sizeof blas_line, "# ");
                fprintf(cf, "%s\n", blas_line);
                fprintf(cf, "# algo: %s (the preset these settings amount to, --algo)\n",
                        learner_config_algo(learner_config(l)));
                fprintf(cf, "[learner]\n");
                learner_config_print(learner_config(l), cf);
                fclose(cf);
            }
        }
        if ((r = out_path(path, sizeof(path), o->out_dir, "eval.csv")) != 0)
            goto out;
        if (o->resume && (r = trim_eval_csv(path, tr.start_step, reterr)) != 0)
            goto out;
        evf = fopen(path, o->resume ? "a" : "w");
        if (!evf) {
            r = maac_err(reterr, -errno, "open %s: %s", path, strerror(errno));
            goto out;
        }
        if (ftell(evf) == 0)
            fprintf(evf, "env_steps,eval_return_mean,eval_return_std,episodes,"
                         "last_train_return,wall_s,alpha,q_loss,pi_loss,model_holdout_mse,"
                         "rollout_len,online_eval_mean,online_eval_std\n");
        fflush(evf);
    }

    double obs[SIM_MAX_OBS], obs2[SIM_MAX_OBS], act[SIM_MAX_ACT];
    float s_f[SIM_MAX_OBS], s2_f[SIM_MAX_OBS], a_f[SIM_MAX_ACT];
    const uint64_t ep_seed0 = cfg->seed * 1000003ULL;
    uint64_t ep_seed = ep_seed0 + (uint64_t)learner_state_extra_get(&x, "episode_seeds_used", 0);
    if ((r = sim_reset(plant, ep_seed++, obs)) != 0)
        goto out;
    long ep_steps = 0;   // steps of the current training episode (0: its seed is unused)
    if (o->progress) {
        char blas_line[256];
        blas_arch_describe(blas_line, sizeof blas_line, "[maac] ");
        fprintf(stderr, "%s\n", blas_line);
    }
    double ep_ret = 0, last_progress = now_s();
    long last_progress_step = tr.start_step;
    float last_ret = tr.last_return;
    uint64_t eval_seed = cfg->seed * 7919ULL + 1000000007ULL;
    tr.env_steps = tr.start_step;
    for (long step = tr.start_step; step < o->steps; step++) {
        if (o->stop && *o->stop)
            break;
        double t0 = now_s();
        for (int j = 0; j < S; j++)
            s_f[j] = (float)obs[j];
        learner_act(l, s_f, 0, a_f);
        for (int j = 0; j < A; j++)
            act[j] = a_f[j];
        SimStepResult sres;
        if ((r = sim_step(plant, act, obs2, &sres)) != 0) {
            maac_err(reterr, r, "sim_step failed at env step %ld", step);
            goto out;
        }
        for (int j = 0; j < S; j++)
            s2_f[j] = (float)obs2[j];
        learner_add_transition(l, s_f, a_f, (float)sres.reward, s2_f, sres.terminated);
        ep_ret += sres.reward;
        ep_steps++;
        if (sres.terminated || sres.truncated) {
            ep_steps = 0;
            tr.episodes++;
            tr.last_return = last_ret = (float)ep_ret;
            tr.sum_returns += ep_ret;
            ep_ret = 0;
            if ((r = sim_reset(plant, ep_seed++, obs)) != 0)
                goto out;
        } else {
            memcpy(obs, obs2, (size_t)S * sizeof(double));
        }
        tr.t_env += now_s() - t0;
        if ((r = learner_train_step(l)) != 0) {
            maac_err(reterr, r, "learner_train_step failed at env step %ld (%d)", step, r);
            goto out;
        }
        tr.env_steps = step + 1;
        int last = step + 1 == o->steps;
        if ((o->eval_every > 0 && tr.env_steps % o->eval_every == 0) || last) {
            double te = now_s();
            float mean = 0, sd = 0;
            const LearnerConfig* lc = learner_config(l);
            r = trainer_evaluate(eplant, learner_plant(l), learner_deploy_policy(l),
                                 lc->mpc_eval ? learner_ensemble(l) : NULL,
                                 lc->mpc_eval ? learner_qf(l) : NULL,
                                 lc->mpc_eval ? &lc->cem : NULL, o->eval_episodes,
                                 o->eval_max_steps, eval_seed, &mean, &sd, NULL);
            // With weight averaging, the online policy on the same episode seeds too:
            // the two differ only in the averaging (it never feeds back into training).
            float on_mean = NAN, on_sd = NAN;
            if (r == 0 && learner_deploy_policy(l) != learner_policy(l))
                r = trainer_evaluate(eplant, NULL, learner_policy(l), NULL, NULL, NULL,
                                     o->eval_episodes, o->eval_max_steps, eval_seed, &on_mean,
                                     &on_sd, NULL);
            if (r != 0) {
                maac_err(reterr, r, "evaluation failed (%d)", r);
                goto out;
            }
            tr.t_eval += now_s() - te;
            tr.n_evals++;
            tr.eval_mean = mean;
            tr.eval_std = sd;
            if (mean > tr.best_eval) {
                tr.best_eval = mean;
                if (o->out_dir && (r = save_policy_learner(o->out_dir, "policy_best.ckpt",
                                                         "learner_best.ckpt", l, reterr)) != 0)
                    goto out;
            }
            learner_stats(l, &tr.ls);
            if (evf) {
                fprintf(evf, "%ld,%.3f,%.3f,%ld,%.3f,%.1f,%.5g,%.5g,%.5g,%.5g,%d", tr.env_steps,
                        (double)mean, (double)sd, tr.episodes, (double)last_ret,
                        now_s() - t_start, (double)tr.ls.alpha, (double)tr.ls.q_loss,
                        (double)tr.ls.pi_loss, (double)tr.ls.model_holdout_mse,
                        tr.ls.rollout_len);
                if (isfinite(on_mean))
                    fprintf(evf, ",%.3f,%.3f\n", (double)on_mean, (double)on_sd);
                else
                    fprintf(evf, ",,\n");
                fflush(evf);
            }
            if (o->out_dir) {
                tr.t_total = now_s() - t_start;
                write_timing(o->out_dir, &tr);
                trainer_extra(&tr, o, episode_seeds_used(ep_seed, ep_seed0, ep_steps), &x);
                if ((r = save_all(o->out_dir, l, &x, reterr)) != 0)
                    goto out;
            }
            if (o->stop_at_return != 0 && mean >= o->stop_at_return) {
                if (tr.first_solved_step < 0)
                    tr.first_solved_step = tr.env_steps;
                break;
            }
        }
        double now = now_s();
        if (o->progress && (now - last_progress >= o->progress_every_s || last)) {
            // Time left from the rate since the last line (the random phase is much
            // faster than learning, so the overall average would mislead).
            double dt = now - last_progress;
            double sps = dt > 0 ? (double)(tr.env_steps - last_progress_step) / dt : 0;
            char left[32];
            fmt_hms(left, sizeof(left), sps > 0 ? (double)(o->steps - tr.env_steps) / sps : 0);
            last_progress_step = tr.env_steps;
            learner_stats(l, &tr.ls);
            fprintf(stderr,
                    "[maac] steps %ld/%ld  episodes %ld  last return %.1f  eval %.1f  "
                    "%.1f steps/s  left %s  (alpha %.3g, q %.3g, k %d)\n",
                    tr.env_steps, o->steps, tr.episodes, (double)last_ret,
                    tr.n_evals ? (double)tr.eval_mean : NAN, sps, left, (double)tr.ls.alpha,
                    (double)tr.ls.q_loss, tr.ls.rollout_len);
            last_progress = now;
        }
    }
    learner_stats(l, &tr.ls);
    tr.t_total = now_s() - t_start;
    if (o->out_dir) {
        write_timing(o->out_dir, &tr);
        trainer_extra(&tr, o, episode_seeds_used(ep_seed, ep_seed0, ep_steps), &x);
        r = save_all(o->out_dir, l, &x, reterr);
    }
out:
    if (evf)
        fclose(evf);
    if (l && r == 0)
        learner_stats(l, &tr.ls);
    tr.t_total = now_s() - t_start;
    learner_free(l);
    sim_free(plant);
    sim_free(eplant);
    if (ret)
        *ret = tr;
    return r;
}
