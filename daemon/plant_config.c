// SPDX-License-Identifier: Apache-2.0
// plant_config.c -- resolve the served plant's model once at hello (plant_config.h).
#include "daemon/plant_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/notify.h"
#include "sim/plant_builtin.h"
#include "sim/plant_plugin.h"

// The hello's widths, period, bounds and the configured safe action.
static int from_hello(const DaemonConfig* cfg, const PlantInfo* plant, PlantModel* m,
                      MaacErr* reterr) {
    int r = plant_init(m, plant->name, plant->obs_dim, plant->act_dim, reterr);
    if (r) return r;
    m->period = plant->dt;
    for (int j = 0; j < m->act_dim; j++)
        m->safe_act[j] = j < cfg->n_safe_action ? cfg->safe_action[j] : 0.0f;
    plant_set_bounds(m, plant->act_low, plant->act_high);
    return 0;
}

// A "min"/"max" pair of per-entry bound lists ("" = none); *ret_on = 1 when either is set.
static int bounds_pair(const char* key, const char* lo_text, const char* hi_text, int n,
                       float* lo, float* hi, int* ret_on, MaacErr* reterr) {
    MaacErr e = {""};
    int r = 0;
    if (lo_text[0] && (r = plant_parse_bounds(lo_text, n, 0, lo, &e)) != 0)
        return maac_err(reterr, r, "plant.%s_min: %s", key, e.msg);
    if (hi_text[0] && (r = plant_parse_bounds(hi_text, n, 1, hi, &e)) != 0)
        return maac_err(reterr, r, "plant.%s_max: %s", key, e.msg);
    *ret_on = lo_text[0] || hi_text[0];
    return 0;
}

int plant_config_resolve(const DaemonConfig* cfg, PlantInfo* plant, MaacErr* reterr) {
    PlantModel m;
    int r = from_hello(cfg, plant, &m, reterr);
    if (r) return r;
    (void)sim_plant_attach_reward(&m);   // a built-in plant of this name and layout
    if (cfg->reward_plugin[0] && (r = plant_plugin_load(cfg->reward_plugin, &m, reterr)) != 0)
        return r;
    if ((r = bounds_pair("terminate_obs", cfg->terminate_obs_min, cfg->terminate_obs_max,
                         m.obs_dim, m.term_min, m.term_max, &m.term_rule, reterr)) != 0)
        return r;
    if ((r = bounds_pair("obs", cfg->obs_min, cfg->obs_max, m.obs_dim, m.obs_min, m.obs_max,
                         &m.obs_limits, reterr)) != 0)
        return r;
    m.max_act_change = (float)cfg->max_action_change;
    plant->model = m;
    return 0;
}

const PlantModel* plant_config_model(const PlantInfo* plant, PlantModel* tmp) {
    if (plant->model.obs_dim > 0) return &plant->model;
    if (plant_init(tmp, plant->name, plant->obs_dim, plant->act_dim, NULL) == 0)
        plant_set_bounds(tmp, plant->act_low, plant->act_high);
    tmp->period = plant->dt;
    return tmp;
}

void plant_config_describe(const PlantModel* m, char* buf, int cap) {
    snprintf(buf, (size_t)cap, "reward: %s; termination: %s%s%s; safety: %s%s",
             m->reward ? (!strcmp(m->reward_source, "plugin") ? "plugin" : "built-in")
                       : "learned (the models' reward head)",
             m->terminated ? "known" : (m->term_rule ? "" : "none"),
             m->terminated && m->term_rule ? " + " : "", m->term_rule ? "config rule" : "",
             m->obs_limits ? "observation bounds" : "no observation bounds",
             m->max_act_change > 0 ? ", action rate limit" : "");
}

int plant_config_start(const DaemonConfig* cfg, PlantInfo* plant) {
    MaacErr err = {""};
    int r = plant_config_resolve(cfg, plant, &err);
    if (r < 0) {
        maacd_log(LOG_LV_ERR, "plant '%s' refused: %s", plant->name, err.msg);
        return r;
    }
    char line[256];
    plant_config_describe(&plant->model, line, sizeof line);
    maacd_log(LOG_LV_NOTICE, "plant '%s': %s", plant->name, line);
    if (cfg->act_mode == ACT_MODE_MPC && !cfg->learn)
        maacd_log(LOG_LV_WARNING, "[control] mode = mpc without a learner: CEM has no models "
                  "to plan with; the policy is served");
    return 0;
}

int plant_config_learner(const DaemonConfig* cfg, const PlantInfo* plant, LearnerConfig* ret,
                         MaacErr* reterr) {
    learner_config_default(ret, plant->name);
    ret->seed = cfg->seed;
    const char* preset = NULL;
    for (int i = 0; i < cfg->n_learner_set; i++)
        if (!strcmp(cfg->learner_set[i][0], "preset")) preset = cfg->learner_set[i][1];
    const char* why = preset ? "[learner] preset" : "sized to the plant";
    if (!preset)
        preset = learner_config_auto_preset(plant->name, plant->obs_dim, plant->act_dim,
                                            plant->dt);
    int r;
    if (preset && (r = learner_config_preset(ret, preset, reterr)) < 0) return r;
    for (int i = 0; i < cfg->n_learner_set; i++) {
        if (!strcmp(cfg->learner_set[i][0], "preset")) continue;
        r = learner_config_set(ret, cfg->learner_set[i][0], cfg->learner_set[i][1], reterr);
        if (r < 0) return r;
    }
    if ((r = learner_config_check(ret, reterr)) < 0) return r;
    maacd_log(LOG_LV_NOTICE, "learner settings: %s (%s; obs %d, action %d, period %.4g s): "
              "H=%d, %d models of %dx%d, nets %dx%d, %d random steps, %d updates/step, "
              "rollouts of %d; any [learner] key overrides", preset ? preset : "the plant's own",
              preset ? why : "built-in plant", plant->obs_dim, plant->act_dim, plant->dt,
              ret->horizon, ret->n_models, ret->model_hidden, ret->model_width,
              ret->policy_hidden, ret->policy_width, ret->init_random_steps,
              ret->updates_per_step, ret->rollout_batch);
    return 0;
}
