// SPDX-License-Identifier: Apache-2.0
// maac.c -- the `maac` command: train a policy offline on a simulated plant, evaluate one.
//
//   maac train --plant half_cheetah --steps 50000 --seed 0 --out runs/hc0
//              [--config FILE] [--eval-every N] [--eval-episodes N] [--<setting> VALUE]...
//   maac train --resume runs/hc0 --steps 100000 [--out DIR] [--eval-every N]
//              [--eval-episodes N] [--max-steps N] [--threads N] [--quiet]
//   maac eval  --policy FILE [--plant P] [--episodes N] [--seed S]
//              [--mpc --learner FILE] [--quiet]   per-episode lines, then the summary
//   maac config --plant P          print the resolved default settings (INI)
//   maac bench fig2 [--seeds N]    Figure 2 as CSV (fig2.h)
//
// Settings: every LearnerConfig field by name (learner_config_set), as a flag
// (`--real-ratio 0.1`, `--horizon 0`, `--cem.population 200`) or as `key = value`
// in an INI file (section [learner], or [cem] for CEM keys). Flags override the
// file; the file overrides the preset (--algo maac|sac|mbpo|steve, learner_preset.h),
// which overrides the plant's defaults. Ablation shortcuts: --sac (H = 0, the
// ablation; the SAC baseline is --algo sac), --no-steve, --single-sample (K = 1 path,
// 1 terminal action), --real-only, --no-entropy, --mpc, --learned-reward; the paper's
// multi-path estimator is --n-paths K. SIGINT/SIGTERM stop training after the current step; the policy,
// learner and state checkpoints are then written as usual. --resume DIR continues
// from DIR/state.ckpt (written at every evaluation and at the end or interruption)
// with the saved settings: any setting flag is refused there, except --threads, which
// changes only the speed.
// Thread: main only.
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fig2.h"
#include "cli/trainer.h"
#include "core/blas_arch.h"
#include "core/learner_preset.h"
#include "sim/plant_builtin.h"
#include "sim/plant_plugin.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE* f) {
    fprintf(f,
            "usage:\n"
            "  maac train --plant P [--steps N] [--seed S] [--out DIR] [--config FILE]\n"
            "             [--eval-every N] [--eval-episodes N] [--quiet] [--<setting> VALUE]...\n"
            "             [--algo maac|sac|mbpo|steve]  baselines as presets of the learner\n"
            "             ablations: --sac (H=0) --no-steve --single-sample (1 path, 1 terminal\n"
            "                        action) --n-paths K --real-only\n"
            "                        --no-entropy --mpc --learned-reward (--known-reward 1: the\n"
            "                        plant's reward even where it is approximate)\n"
            "  maac train --resume DIR [--steps N] [--out DIR2] [--eval-every N]\n"
            "             [--eval-episodes N] [--max-steps N] [--threads N] [--quiet]\n"
            "             continue DIR/state.ckpt (saved at every evaluation and on exit or\n"
            "             Ctrl-C) to N total env steps with the saved settings and, unless\n"
            "             given, the saved evaluation schedule; --threads only changes the\n"
            "             speed (a run's results do not depend on its thread count)\n"
            "  maac eval  --policy FILE [--plant P] [--episodes N] [--seed S] [--max-steps N]\n"
            "             [--mpc --learner FILE] [--quiet]\n"
            "             one line per episode (not with --quiet), then mean, std, min, max\n"
            "  maac config --plant P [--config FILE] [--<setting> VALUE]...\n"
            "--preset small|locomotion: the settings of small plants or of the MuJoCo\n"
            "locomotion plants (docs/training.md), applied before every other setting\n"
            "--algo maac|sac|mbpo|steve: the baselines and ablations as presets of the one\n"
            "learner (docs/training.md), applied after --preset, before every other setting\n"
            "the plant's task (train and eval; INI section [plant]): --reward-plugin FILE.so\n"
            "(include/maacd/reward_plugin.h; its gradients are checked at load),\n"
            "--terminate-obs-min / --terminate-obs-max LIST (episodes end where an observation\n"
            "entry leaves its bounds: \"0.7, -inf, none\"; docs/robots.md)\n"
            "  maac bench fig2 [--seeds N] [--hmax H] [--out FILE.csv]   the paper's Figure 2:\n"
            "             gradient L1 error vs H, true and learned dynamics (docs/results.md)\n"
            "settings are the fields printed by `maac config` (e.g. --horizon 4 --lr-q 3e-4\n"
            "--rollout-schedule 20,100,1,15 --cem.population 400).\n");
}

// ---- settings: defaults < INI file < flags ----------------------------------------

// The plant's task options ([plant] in the INI file, or flags).
typedef struct {
    char reward_plugin[1024];       // --reward-plugin / reward_plugin: a plugin .so
    char term_min[1024], term_max[1024];   // --terminate-obs-min/max: the termination rule
} PlantOpts;

typedef struct {
    LearnerConfig* cfg;
    const char* path;
    int err;
    MaacErr me;
    PlantOpts* po;
} IniCtx;

// A [plant] key or its flag (without "--", dashes or underscores). 1 handled, 0 not a
// plant option, -EINVAL too long.
static int plant_opt(PlantOpts* po, const char* key, const char* value) {
    char k[64];
    snprintf(k, sizeof(k), "%s", key);
    for (char* q = k; *q; q++)
        if (*q == '-') *q = '_';
    char* dst = !strcmp(k, "reward_plugin")       ? po->reward_plugin
                : !strcmp(k, "terminate_obs_min") ? po->term_min
                : !strcmp(k, "terminate_obs_max") ? po->term_max
                                                  : NULL;
    if (!dst) return 0;
    if (strlen(value) >= sizeof(po->reward_plugin)) return -EINVAL;
    snprintf(dst, sizeof(po->reward_plugin), "%s", value);
    return 1;
}

static int ini_cb(void* user, const char* section, const char* name, const char* value) {
    IniCtx* c = user;
    char key[128];
    if (strcmp(section, "cem") == 0)
        snprintf(key, sizeof(key), "cem.%s", name);
    else
        snprintf(key, sizeof(key), "%s", name);
    if (strcmp(key, "plant") == 0)
        return 1;   // handled by the first pass
    if (strcmp(section, "plant") == 0) {
        int r = plant_opt(c->po, name, value);
        if (r == 1) return 1;
        maac_err(&c->me, -EINVAL, "[plant] %s: %s", name, r ? "value too long" : "unknown key");
        c->err = -EINVAL;
        return 0;
    }
    if (learner_config_set(c->cfg, key, value, &c->me) != 0) {
        c->err = -EINVAL;
        return 0;
    }
    return 1;
}

static int ini_plant_cb(void* user, const char* section, const char* name, const char* value) {
    (void)section;
    if (strcmp(name, "plant") == 0)
        snprintf((char*)user, 48, "%s", value);
    return 1;
}

// Flags that are ablation shortcuts: name -> (setting, value).
static const char* const SHORTCUTS[][3] = {
    {"--sac", "horizon", "0"},          {"--no-steve", "steve", "0"},
    {"--single-sample", "n_paths", "1"}, {"--real-only", "real_only", "1"},
    {"--no-entropy", "no_entropy", "1"}, {"--mpc", "mpc_eval", "1"},
    {"--learned-reward", "known_reward", "0"},
    {"--single-sample", "terminal_actions", "1"},   // one path and one terminal action
};
#define N_SHORTCUTS ((int)(sizeof(SHORTCUTS) / sizeof(SHORTCUTS[0])))

static const char* find_opt(int argc, char** argv, const char* name) {
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

typedef struct {
    long steps;
    int eval_every, eval_episodes, eval_max_steps, quiet, episodes;
    const char* out;
    const char* policy;
    const char* learner;
    int mpc;
    int threads;    // --resume --threads N (0: the saved count)
    PlantOpts po;   // the plant's task options
} CliOpts;

// The plant: --plant, else plant = in the --config file, else dflt_plant. 0 or
// -EINVAL (message printed).
static int resolve_plant(int argc, char** argv, const char* dflt_plant, char plant[48]) {
    if (dflt_plant)
        snprintf(plant, 48, "%s", dflt_plant);
    const char* config = find_opt(argc, argv, "--config");
    const char* pl = find_opt(argc, argv, "--plant");
    if (config && !pl && ini_parse(config, ini_plant_cb, plant) < 0) {
        fprintf(stderr, "maac: cannot read %s\n", config);
        return -EINVAL;
    }
    if (pl)
        snprintf(plant, 48, "%s", pl);
    if (!plant[0]) {
        fprintf(stderr, "maac: --plant is required\n");
        return -EINVAL;
    }
    return 0;
}

// --preset, then --algo, then the --config file over cfg. 0 or -EINVAL (message
// printed).
static int apply_presets_and_file(int argc, char** argv, LearnerConfig* cfg, CliOpts* o) {
    const char* config = find_opt(argc, argv, "--config");
    const char* preset = find_opt(argc, argv, "--preset");
    const char* algo = find_opt(argc, argv, "--algo");
    MaacErr pe = {""};
    if (preset && learner_config_preset(cfg, preset, &pe) != 0) {
        fprintf(stderr, "maac: --preset: %s\n", pe.msg);
        return -EINVAL;
    }
    if (algo && learner_config_algo_preset(cfg, algo, &pe) != 0) {
        fprintf(stderr, "maac: %s\n", pe.msg);
        return -EINVAL;
    }
    if (config) {
        IniCtx c = {cfg, config, 0, {""}, &o->po};
        int lr = ini_parse(config, ini_cb, &c);
        if (lr != 0 || c.err) {
            fprintf(stderr, "maac: %s:%d: %s\n", config, lr, c.me.msg[0] ? c.me.msg : "parse error");
            return -EINVAL;
        }
    }
    return 0;
}

// An ablation shortcut flag applied to cfg (every SHORTCUTS row of that name). 1 when
// a is one, else 0.
static int apply_shortcut(const char* a, LearnerConfig* cfg, CliOpts* o) {
    int sc = -1;
    for (int k = 0; k < N_SHORTCUTS; k++)
        if (strcmp(a, SHORTCUTS[k][0]) == 0) {
            sc = k;
            (void)learner_config_set(cfg, SHORTCUTS[k][1], SHORTCUTS[k][2], NULL);
            if (strcmp(SHORTCUTS[k][1], "mpc_eval") == 0)
                o->mpc = 1;
        }
    return sc >= 0;
}

// One "--name VALUE" flag: an option of o, a plant option, or a setting of cfg. 0 or
// -EINVAL (message printed).
static int apply_flag(const char* a, const char* v, LearnerConfig* cfg, CliOpts* o) {
    if (strcmp(a, "--config") == 0 || strcmp(a, "--plant") == 0 ||
        strcmp(a, "--preset") == 0 || strcmp(a, "--algo") == 0) {
        if (strcmp(a, "--plant") == 0)
            snprintf(cfg->plant, sizeof(cfg->plant), "%s", v);
    } else if (strcmp(a, "--steps") == 0) {
        o->steps = strtol(v, NULL, 10);
    } else if (strcmp(a, "--eval-every") == 0) {
        o->eval_every = atoi(v);
    } else if (strcmp(a, "--eval-episodes") == 0) {
        o->eval_episodes = atoi(v);
    } else if (strcmp(a, "--episodes") == 0) {
        o->episodes = atoi(v);
    } else if (strcmp(a, "--max-steps") == 0) {
        o->eval_max_steps = atoi(v);
    } else if (strcmp(a, "--out") == 0) {
        o->out = v;
    } else if (strcmp(a, "--policy") == 0) {
        o->policy = v;
    } else if (strcmp(a, "--learner") == 0) {
        o->learner = v;
    } else if (plant_opt(&o->po, a + 2, v) != 0) {
        if (strlen(v) >= sizeof(o->po.reward_plugin)) {
            fprintf(stderr, "maac: %s: value too long\n", a);
            return -EINVAL;
        }
    } else {
        MaacErr me = {""};
        if (learner_config_set(cfg, a + 2, v, &me) != 0) {
            fprintf(stderr, "maac: %s: %s\n", a, me.msg);
            return -EINVAL;
        }
    }
    return 0;
}

// The command line's flags (argv[2..]) over cfg and o, in order. 0 or -EINVAL (message
// printed).
static int apply_flags(int argc, char** argv, LearnerConfig* cfg, CliOpts* o) {
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (apply_shortcut(a, cfg, o))
            continue;
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || !v) {
            fprintf(stderr, "maac: unexpected argument '%s'\n", a);
            return -EINVAL;
        }
        i++;
        if (apply_flag(a, v, cfg, o) != 0)
            return -EINVAL;
    }
    return 0;
}

// Resolve settings; fills cfg and o. 0 or -EINVAL (message printed).
static int parse(int argc, char** argv, LearnerConfig* cfg, CliOpts* o, const char* dflt_plant) {
    char plant[48] = "";
    if (resolve_plant(argc, argv, dflt_plant, plant) != 0)
        return -EINVAL;
    learner_config_default(cfg, plant);
    memset(o, 0, sizeof(*o));
    // defaults < --preset < --algo < INI < flags
    if (apply_presets_and_file(argc, argv, cfg, o) != 0)
        return -EINVAL;
    o->steps = 50000;
    o->eval_every = 5000;
    o->eval_episodes = 5;
    o->episodes = 10;
    if (apply_flags(argc, argv, cfg, o) != 0)
        return -EINVAL;
    MaacErr me = {""};
    if (learner_config_check(cfg, &me) != 0) {
        fprintf(stderr, "maac: %s\n", me.msg);
        return -EINVAL;
    }
    return 0;
}

// ---- commands ------------------------------------------------------------------------

// `maac train --resume DIR`: only the run-length, evaluation and output options; the
// settings are the saved ones. 0 or -EINVAL (message printed).
static int parse_resume(int argc, char** argv, CliOpts* o, const char** ret_dir) {
    static const char* const ok[] = {"--resume", "--steps", "--eval-every", "--eval-episodes",
                                     "--max-steps", "--out", "--threads"};
    memset(o, 0, sizeof(*o));
    o->steps = 50000;
    o->eval_every = -1;      // < 0: the saved run's evaluation schedule (trainer_run)
    o->eval_episodes = -1;
    o->eval_max_steps = -1;
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (i + 1 < argc && strncmp(a, "--", 2) == 0 && plant_opt(&o->po, a + 2, argv[i + 1]) == 1) {
            i++;   // the plant's task options are given again on resume (not saved)
            continue;
        }
        int k = 0;
        while (k < (int)(sizeof(ok) / sizeof(ok[0])) && strcmp(a, ok[k]) != 0)
            k++;
        if (k == (int)(sizeof(ok) / sizeof(ok[0])) || i + 1 >= argc) {
            fprintf(stderr, "maac: --resume continues with the saved settings: '%s' is not "
                            "allowed (only --steps, --eval-every, --eval-episodes, --max-steps, "
                            "--out, --threads, --quiet, and the plant's --reward-plugin, --terminate-obs-min/max)\n", a);
            return -EINVAL;
        }
        const char* v = argv[++i];
        switch (k) {
        case 0: *ret_dir = v; break;
        case 1: o->steps = strtol(v, NULL, 10); break;
        case 2: o->eval_every = atoi(v); break;
        case 3: o->eval_episodes = atoi(v); break;
        case 4: o->eval_max_steps = atoi(v); break;
        case 5: o->out = v; break;
        default:
            o->threads = atoi(v);
            if (o->threads < 1) {
                fprintf(stderr, "maac: --threads wants a count >= 1, got '%s'\n", v);
                return -EINVAL;
            }
            break;
        }
    }
    if (!o->out)
        o->out = *ret_dir;   // continue in place
    return 0;
}

// The plant's model, built once: the built-in plant's, then the reward plugin and the
// termination rule of the options. 0 or -errno (message printed).
static int build_plant(const char* name, const PlantOpts* po, PlantModel* ret) {
    MaacErr me = {""};
    int r = sim_plant_model_by_name(name, ret, &me);
    if (r == 0 && po->reward_plugin[0])
        r = plant_plugin_load(po->reward_plugin, ret, &me);
    if (r == 0 && po->term_min[0])
        r = plant_parse_bounds(po->term_min, ret->obs_dim, 0, ret->term_min, &me);
    if (r == 0 && po->term_max[0])
        r = plant_parse_bounds(po->term_max, ret->obs_dim, 1, ret->term_max, &me);
    ret->term_rule = po->term_min[0] || po->term_max[0];
    if (r != 0)
        fprintf(stderr, "maac: plant %s: %s\n", name, me.msg);
    else if (po->reward_plugin[0] || ret->term_rule)
        fprintf(stderr, "maac: plant %s: reward %s, termination %s%s\n", name,
                ret->reward_source, ret->terminated ? "function" : "",
                ret->term_rule ? (ret->terminated ? " + rule" : "rule")
                               : (ret->terminated ? "" : "none"));
    return r;
}

// The plant a run directory was trained on (its config.ini). 0 or -EINVAL.
static int run_dir_plant(const char* dir, char* ret, size_t n) {
    char path[4096];
    ret[0] = 0;
    if (snprintf(path, sizeof(path), "%s/config.ini", dir) >= (int)sizeof(path) ||
        ini_parse(path, ini_plant_cb, ret) < 0 || !ret[0]) {
        fprintf(stderr, "maac: --resume: no plant in %s\n", path);
        return -EINVAL;
    }
    (void)n;
    return 0;
}

static int cmd_train(int argc, char** argv) {
    LearnerConfig cfg;
    CliOpts co;
    const char* resume_dir = NULL;
    char state_path[4096];
    int resume = find_opt(argc, argv, "--resume") != NULL;
    if (resume) {
        if (parse_resume(argc, argv, &co, &resume_dir) != 0)
            return 2;
        if (snprintf(state_path, sizeof(state_path), "%s/state.ckpt", resume_dir) >=
            (int)sizeof(state_path)) {
            fprintf(stderr, "maac: --resume path too long\n");
            return 2;
        }
        memset(&cfg, 0, sizeof(cfg));
    } else if (parse(argc, argv, &cfg, &co, NULL) != 0) {
        return 2;
    }
    TrainOpts o;
    train_opts_default(&o);
    o.steps = co.steps;
    o.eval_every = co.eval_every;
    o.eval_episodes = co.eval_episodes;
    o.eval_max_steps = co.eval_max_steps;
    o.out_dir = co.out;
    o.progress = !co.quiet;
    o.stop = &g_stop;
    o.resume = resume ? state_path : NULL;
    o.threads = resume ? co.threads : 0;
    char plant_name[48];
    PlantModel pm;
    if (resume && run_dir_plant(resume_dir, plant_name, sizeof(plant_name)) != 0)
        return 2;
    if (build_plant(resume ? plant_name : cfg.plant, &co.po, &pm) != 0)
        return 2;
    o.plant = &pm;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    TrainResult tr;
    MaacErr me = {""};
    int r = trainer_run(&cfg, &o, &tr, &me);
    if (r != 0) {
        fprintf(stderr, "maac: train failed: %s\n", me.msg[0] ? me.msg : strerror(-r));
        return 1;
    }
    cfg = tr.cfg;
    if (resume)
        printf("resumed %s at env step %ld\n", state_path, tr.start_step);
    const LearnerStats* s = &tr.ls;
    if (tr.n_evals > 0)
        printf("plant %s  steps %ld  episodes %ld  eval return %.1f +- %.1f (best %.1f)\n",
               cfg.plant, tr.env_steps, tr.episodes, (double)tr.eval_mean, (double)tr.eval_std,
               (double)tr.best_eval);
    else
        printf("plant %s  steps %ld  episodes %ld  (no evaluation yet)\n", cfg.plant,
               tr.env_steps, tr.episodes);
    printf("time %.1f s: model %.1f  policy %.1f  Q %.1f (updates wall %.1f)  rollouts %.1f  "
           "env %.1f  eval %.1f\n",
           tr.t_total, s->t_model, s->t_policy, s->t_q, s->t_updates, s->t_rollout, tr.t_env,
           tr.t_eval);
    if (g_stop)
        printf("interrupted after %ld env steps; %s\n", tr.env_steps,
               co.out ? "checkpoints saved" : "nothing saved (no --out)");
    return 0;
}

// eval's settings: the plant defaults to the one the policy was trained on. 0, or 2
// (message printed).
static int eval_settings(int argc, char** argv, LearnerConfig* cfg, CliOpts* co) {
    char dflt[CKPT_NAME_LEN] = "";
    const char* ppath = find_opt(argc, argv, "--policy");
    if (!find_opt(argc, argv, "--plant") && ppath) {   // the plant the policy was trained on
        Policy* p0 = policy_load(ppath, NULL);
        if (p0)
            snprintf(dflt, sizeof(dflt), "%s", p0->plant);
        policy_free(p0);
    }
    if (parse(argc, argv, cfg, co, dflt[0] ? dflt : NULL) != 0)
        return 2;
    if (co->episodes < 1 || co->eval_max_steps < 0) {
        fprintf(stderr, "maac: --episodes must be >= 1 and --max-steps >= 0\n");
        return 2;
    }
    return 0;
}

// What eval acts with: the learner's policy, Q and ensemble (--mpc), else the policy.
// 0, or the exit status (message printed): 2 a missing file option, 1 a bad file.
static int eval_load(const CliOpts* co, Policy** pi, QFunction** qf, Ensemble** ens) {
    MaacErr me = {""};
    if (co->mpc) {
        if (!co->learner) {
            fprintf(stderr, "maac: --mpc needs --learner FILE (OUT/learner.ckpt)\n");
            return 2;
        }
        if (learner_ckpt_load(co->learner, pi, qf, ens, &me) != 0) {
            fprintf(stderr, "maac: %s\n", me.msg);
            return 1;
        }
        return 0;
    }
    const char* path = co->policy ? co->policy : co->learner;
    if (!path) {
        fprintf(stderr, "maac: eval needs --policy FILE\n");
        return 2;
    }
    *pi = policy_load(path, &me);
    if (!*pi) {
        fprintf(stderr, "maac: %s\n", me.msg);
        return 1;
    }
    return 0;
}

// One line per episode (unless --quiet), then the summary.
static void eval_report(const LearnerConfig* cfg, const CliOpts* co, const EvalEpisode* eps,
                        float mean, float sd) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < co->episodes; i++) {
        if (!co->quiet)
            printf("episode %d  return %.2f  steps %d%s\n", i, eps[i].ret, eps[i].steps,
                   eps[i].terminated ? "  (terminated)" : "");
        lo = eps[i].ret < lo ? eps[i].ret : lo;
        hi = eps[i].ret > hi ? eps[i].ret : hi;
    }
    printf("plant %s  episodes %d  %s  return %.2f +- %.2f  (min %.2f, max %.2f)\n", cfg->plant,
           co->episodes, co->mpc ? "cem-mpc" : "policy", (double)mean, (double)sd, lo, hi);
}

// The evaluation episodes on the simulated plant, and the report. 0 or 1 (message
// printed).
static int eval_run(const LearnerConfig* cfg, const CliOpts* co, const Policy* pi,
                    const QFunction* qf, const Ensemble* ens) {
    MaacErr me = {""};
    SimPlant* p = sim_create(cfg->plant, &me);
    EvalEpisode* eps = NULL;
    int rc = 1;
    if (!p) {
        fprintf(stderr, "maac: %s\n", me.msg);
        goto out;
    }
    if (sim_spec(p)->obs_dim != pi->obs_dim || sim_spec(p)->act_dim != pi->act_dim) {
        fprintf(stderr, "maac: policy is for obs %d act %d, plant %s has obs %d act %d\n",
                pi->obs_dim, pi->act_dim, cfg->plant, sim_spec(p)->obs_dim, sim_spec(p)->act_dim);
        goto out;
    }
    float mean = 0, sd = 0;
    eps = calloc((size_t)co->episodes, sizeof(*eps));
    if (!eps) {
        fprintf(stderr, "maac: out of memory\n");
        goto out;
    }
    PlantModel pm;
    if (build_plant(cfg->plant, &co->po, &pm) != 0)
        goto out;
    int r = trainer_evaluate(p, &pm, pi, co->mpc ? ens : NULL, co->mpc ? qf : NULL,
                             co->mpc ? &cfg->cem : NULL, co->episodes, co->eval_max_steps,
                             cfg->seed * 7919ULL + 1000000007ULL, &mean, &sd, eps);
    if (r != 0) {
        fprintf(stderr, "maac: evaluation failed: %s\n", strerror(-r));
        goto out;
    }
    eval_report(cfg, co, eps, mean, sd);
    rc = 0;
out:
    free(eps);
    sim_free(p);
    return rc;
}

static int cmd_eval(int argc, char** argv) {
    LearnerConfig cfg;
    CliOpts co;
    int rc = eval_settings(argc, argv, &cfg, &co);
    if (rc != 0)
        return rc;
    Policy* pi = NULL;
    QFunction* qf = NULL;
    Ensemble* ens = NULL;
    rc = eval_load(&co, &pi, &qf, &ens);
    if (rc != 0)
        return rc;
    rc = eval_run(&cfg, &co, pi, qf, ens);
    policy_free(pi);
    qf_free(qf);
    ens_free(ens);
    return rc;
}

static int cmd_config(int argc, char** argv) {
    LearnerConfig cfg;
    CliOpts co;
    if (parse(argc, argv, &cfg, &co, NULL) != 0)
        return 2;
    printf("[learner]\n");
    learner_config_print(&cfg, stdout);
    return 0;
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // may re-execute with OPENBLAS_CORETYPE set (blas_arch.h)
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "train") == 0)
        return cmd_train(argc, argv);
    if (strcmp(argv[1], "eval") == 0)
        return cmd_eval(argc, argv);
    if (strcmp(argv[1], "config") == 0)
        return cmd_config(argc, argv);
    if (strcmp(argv[1], "bench") == 0 && argc > 2 && strcmp(argv[2], "fig2") == 0)
        return fig2_main(argc - 2, argv + 2);
    fprintf(stderr, "maac: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
