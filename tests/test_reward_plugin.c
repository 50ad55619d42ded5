// SPDX-License-Identifier: Apache-2.0
// test_reward_plugin.c -- reward plugins (include/maacd/reward_plugin.h, sim/plant_plugin.c):
// the example plugin loads and passes the load-time gradient check; a plugin with a wrong
// gradient, one with the wrong widths and a missing file are refused with messages that
// name the problem; the learner imagines with the plugin's reward (every D_model row's
// reward is the plugin's r(s, a, s'), which the learned reward head does not give).
// Usage: test_reward_plugin GOOD.so BAD_GRADIENT.so BAD_DIMS.so
#include <math.h>
#include <string.h>

#include "core/learner.h"
#include "sim/plant_plugin.h"
#include "test_util.h"

static void point_mass(PlantModel* pm) {
    CHECK(plant_init(pm, "point_mass", 2, 1, NULL) == 0, "plant_init");
}

static void test_loads(const char* path) {
    PlantModel pm;
    point_mass(&pm);
    MaacErr me = {""};
    CHECK(plant_plugin_load(path, &pm, &me) == 0, "example plugin refused: %s", me.msg);
    CHECK(pm.reward && pm.reward_backward && !pm.terminated && pm.exact == 1,
          "functions attached (reward, gradient, no termination)");
    CHECK(!strcmp(pm.reward_source, "plugin"), "source %s", pm.reward_source);
    float s[2] = {0, 0}, a[1] = {0.5f}, s2[2] = {0.5f, 0.3f}, r = 0;
    pm.reward(&r, s, a, s2, 1);
    CHECK_NEAR(r, -0.25f, 1e-7, "r = -(x'-1)^2");
    CHECK(plant_check_gradients(&pm, 64, 3.0f, 7, &me) == 0, "gradients: %s", me.msg);
}

static void expect_refused(const char* path, const char* want1, const char* want2) {
    PlantModel pm;
    point_mass(&pm);
    MaacErr me = {""};
    int r = plant_plugin_load(path, &pm, &me);
    CHECK(r < 0, "%s accepted", path);
    CHECK(strstr(me.msg, want1) && strstr(me.msg, want2), "message '%s' lacks '%s' / '%s'",
          me.msg, want1, want2);
    CHECK(pm.reward == NULL && pm.reward_backward == NULL, "plant changed by a refused plugin");
    printf("refused as expected: %s\n", me.msg);
}

// Point-mass dynamics (dt 0.05): x' = x + dt v, v' = v + dt a.
static void pm_step(const float* s, const float* a, float* s2) {
    s2[1] = s[1] + 0.05f * a[0];
    s2[0] = s[0] + 0.05f * s2[1];
}

static Learner* small_learner(const PlantModel* pm) {
    LearnerConfig c;
    learner_config_default(&c, pm->name);
    c.seed = 3;
    c.init_random_steps = 100;
    c.model_train_freq = 100;
    c.rollout_batch = 100;
    c.model_max_epochs = 3;
    c.n_models = 2;
    c.n_elites = 1;
    c.model_hidden = 1;
    c.model_width = c.policy_width = c.q_width = 16;
    c.updates_per_step = 1;
    c.batch = 32;
    c.horizon = 1;
    c.threads = 1;
    MaacErr me = {""};
    Learner* l = learner_create(&c, pm, &me);
    CHECK(l != NULL, "learner_create: %s", me.msg);
    return l;
}

// Run 200 env steps; return the largest |D_model reward - plugin reward| over D_model
// (or -1 when D_model stayed empty).
static double imagined_reward_error(const PlantModel* pm, const PlantModel* plugin) {
    Learner* l = small_learner(pm);
    if (!l) return -1;
    float s[2] = {0, 0}, a[1], s2[2];
    for (int t = 0; t < 200; t++) {
        learner_act(l, s, 0, a);
        pm_step(s, a, s2);
        float r;
        plugin->reward(&r, s, a, s2, 1);
        learner_add_transition(l, s, a, r, s2, 0);
        CHECK(learner_train_step(l) == 0, "train step %d", t);
        if (t % 50 == 49) s[0] = s[1] = 0;   // a new episode
        else memcpy(s, s2, sizeof s);
    }
    const ReplayBuffer* dm = learner_model_buffer(l);
    double worst = dm->size > 0 ? 0 : -1;
    for (long i = 0; i < dm->size; i++) {
        float ms[2], ma[1], mr, ms2[2], want;
        replay_get(dm, i, ms, ma, &mr, ms2, NULL);
        plugin->reward(&want, ms, ma, ms2, 1);
        worst = fmax(worst, fabs((double)mr - (double)want));
    }
    CHECK(learner_ensemble(l)->learn_reward == !pm->reward, "reward head only without plugin");
    learner_free(l);
    return worst;
}

static void test_learner_uses_plugin(const char* path) {
    PlantModel plugin, learned;
    point_mass(&plugin);
    point_mass(&learned);
    CHECK(plant_plugin_load(path, &plugin, NULL) == 0, "load");
    double e_plugin = imagined_reward_error(&plugin, &plugin);
    double e_learned = imagined_reward_error(&learned, &plugin);
    printf("D_model reward vs plugin: with plugin %.3g, with the learned head %.3g\n", e_plugin,
           e_learned);
    CHECK(e_plugin == 0.0, "imagined rewards are the plugin's exactly (max error %g)", e_plugin);
    CHECK(e_learned > 1e-3, "the learned head differs (max error %g): the check can fail",
          e_learned);
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s GOOD.so BAD_GRADIENT.so BAD_DIMS.so\n", argv[0]);
        return 2;
    }
    test_loads(argv[1]);
    expect_refused(argv[2], "dr/ds'[1]", "finite difference");
    expect_refused(argv[3], "obs 3", "the plant 'point_mass' has 2");
    expect_refused("/nonexistent/libnothing.so", "reward plugin", "nonexistent");
    test_learner_uses_plugin(argv[1]);
    return test_summary("test_reward_plugin");
}
