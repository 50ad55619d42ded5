// SPDX-License-Identifier: Apache-2.0
// test_plant.c -- core/plant.h: bound lists, the termination rule (alone and with a
// termination function), the finite-difference gradient check (built-in rewards pass,
// a perturbed gradient fails, naming the entry), the built-in models, and the rule at
// work in the learner's rollouts (D_model rows beyond the bounds are terminal).
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/learner.h"
#include "plant_util.h"
#include "test_util.h"

static void test_parse_bounds(void) {
    float b[3];
    MaacErr me = {""};
    CHECK(plant_parse_bounds("0.7, -inf, none", 3, 0, b, &me) == 0, "parse: %s", me.msg);
    CHECK(b[0] == 0.7f && isinf(b[1]) && b[1] < 0 && isinf(b[2]) && b[2] < 0, "min values");
    CHECK(plant_parse_bounds("1,inf,none", 3, 1, b, &me) == 0 && b[0] == 1.0f && isinf(b[2]) &&
              b[2] > 0, "max values");
    CHECK(plant_parse_bounds("1, 2", 3, 0, b, &me) == -EINVAL && strstr(me.msg, "2 values"),
          "too few: %s", me.msg);
    CHECK(plant_parse_bounds("1,2,3,4", 3, 0, b, &me) == -EINVAL && strstr(me.msg, "more than"),
          "too many: %s", me.msg);
    CHECK(plant_parse_bounds("1,x,3", 3, 0, b, &me) == -EINVAL && strstr(me.msg, "entry 1"),
          "not a number: %s", me.msg);
    CHECK(plant_parse_bounds("1,nan,3", 3, 0, b, &me) == -EINVAL, "nan refused");
}

static void done_if_first_negative(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) done[b] = s2[b * 2] < 0 ? 1.0f : 0.0f;
}

static void test_rule(void) {
    PlantModel p;
    CHECK(plant_init(&p, "t", 2, 1, NULL) == 0, "init");
    float s2[8] = {0.5f, 0.0f, 0.5f, 3.0f, -1.0f, 0.0f, 0.69f, 0.0f}, done[4];
    CHECK(!plant_has_termination(&p), "nothing ends episodes by default");
    plant_terminated(&p, done, s2, 4);
    CHECK(done[0] == 0 && done[1] == 0 && done[2] == 0 && done[3] == 0, "no rule: never");
    p.term_rule = 1;
    p.term_max[1] = 2.0f;   // |v| rule: v > 2 ends
    plant_terminated(&p, done, s2, 4);
    CHECK(done[0] == 0 && done[1] == 1 && done[2] == 0 && done[3] == 0, "rule on obs[1]");
    p.terminated = done_if_first_negative;
    CHECK(plant_has_termination(&p), "function + rule");
    plant_terminated(&p, done, s2, 4);
    CHECK(done[0] == 0 && done[1] == 1 && done[2] == 1 && done[3] == 0, "function OR rule");
}

static void test_gradient_check(void) {
    const char* names[] = {"double_integrator", "inverted_pendulum", "hopper", "reacher"};
    for (int i = 0; i < 4; i++) {
        const PlantModel* p = test_builtin_plant(names[i]);
        CHECK(p->reward && p->obs_dim > 0, "%s built-in reward", names[i]);
        MaacErr me = {""};
        CHECK(plant_check_gradients(p, 8, 1.0f, 11, &me) == 0, "%s: %s", names[i], me.msg);
    }
    CHECK(test_builtin_plant("hopper")->period > 0 && test_builtin_plant("hopper")->terminated,
          "hopper: period and termination");
    CHECK(!test_builtin_plant("half_cheetah")->exact, "half_cheetah's reward is approximate");
}

// The double integrator's reward with its gradient scaled by 1.5 on a.
static void (*di_bwd)(float*, float*, float*, const float*, const float*, const float*,
                      const float*, int);
static void bad_bwd(float* ds, float* da, float* ds2, const float* dr, const float* s,
                    const float* a, const float* s2, int B) {
    float tmp[64] = {0};
    di_bwd(ds, tmp, ds2, dr, s, a, s2, B);
    for (int i = 0; i < B && da; i++) da[i] += 1.5f * tmp[i];
}

static void test_gradient_check_fails(void) {
    PlantModel p = *test_builtin_plant("double_integrator");
    di_bwd = p.reward_backward;
    p.reward_backward = bad_bwd;
    MaacErr me = {""};
    CHECK(plant_check_gradients(&p, 8, 1.0f, 11, &me) == -EINVAL && strstr(me.msg, "dr/da[0]"),
          "a wrong dr/da is caught: '%s'", me.msg);
}

// The learner's rollouts end where the rule says: D_model rows whose s' leaves the
// bounds are terminal, the others not.
static void test_rule_in_rollouts(void) {
    PlantModel p;
    CHECK(plant_init(&p, "rule_pm", 2, 1, NULL) == 0, "init");
    p.term_rule = 1;
    p.term_min[0] = -0.05f;
    p.term_max[0] = 0.05f;
    LearnerConfig c;
    learner_config_default(&c, "rule_pm");
    c.init_random_steps = 100;
    c.model_train_freq = 100;
    c.rollout_batch = 200;
    c.rollout_schedule[2] = c.rollout_schedule[3] = 3;
    c.model_max_epochs = 3;
    c.n_models = 2;
    c.n_elites = 1;
    c.model_hidden = 1;
    c.model_width = c.policy_width = c.q_width = 16;
    c.batch = 32;
    c.horizon = 1;
    c.threads = 1;
    MaacErr me = {""};
    Learner* l = learner_create(&c, &p, &me);
    CHECK(l != NULL, "learner_create: %s", me.msg);
    if (!l) return;
    float s[2] = {0, 0}, a[1], s2[2];
    for (int t = 0; t < 120; t++) {
        learner_act(l, s, 0, a);
        s2[1] = s[1] + 0.05f * a[0];
        s2[0] = s[0] + 0.05f * s2[1];
        int term = s2[0] < -0.05f || s2[0] > 0.05f;
        learner_add_transition(l, s, a, -s2[0] * s2[0], s2, term);
        CHECK(learner_train_step(l) == 0, "step");
        if (term || t % 40 == 39) s[0] = s[1] = 0;
        else memcpy(s, s2, sizeof s);
    }
    const ReplayBuffer* dm = learner_model_buffer(l);
    long n_done = 0, wrong = 0;
    for (long i = 0; i < dm->size; i++) {
        float x[2], d;
        replay_get(dm, i, NULL, NULL, NULL, x, &d);
        int out = x[0] < -0.05f || x[0] > 0.05f;
        n_done += d != 0;
        wrong += (d != 0) != out;
    }
    printf("rule in rollouts: %ld D_model rows, %ld terminal, %ld disagree\n", dm->size, n_done,
           wrong);
    CHECK(dm->size > 0 && n_done > 0 && n_done < dm->size, "some rows terminal, some not");
    CHECK(wrong == 0, "terminal exactly where s' leaves the bounds (%ld disagree)", wrong);
    learner_free(l);
}

// The settings as text (what config.ini holds).
static void config_text(const LearnerConfig* c, char* buf, size_t cap) {
    FILE* f = fmemopen(buf, cap, "w");
    learner_config_print(c, f);
    fclose(f);
}

static int same_settings(const LearnerConfig* a, const LearnerConfig* b) {
    static char ta[8192], tb[8192];
    config_text(a, ta, sizeof ta);
    config_text(b, tb, sizeof tb);
    return strcmp(ta, tb) == 0;
}

static void test_presets(void) {
    CHECK(learner_config_auto_preset("hopper", 11, 3, 0.008) == NULL, "tuned plant: its own");
    CHECK(!strcmp(learner_config_auto_preset("my_arm", 2, 1, 0.05), "small"), "point mass");
    CHECK(!strcmp(learner_config_auto_preset("my_arm", 16, 2, 0.002), "small"), "16/2 fast");
    CHECK(!strcmp(learner_config_auto_preset("my_arm", 11, 3, 0.008), "locomotion"),
          "hopper-sized at 125 Hz");
    CHECK(!strcmp(learner_config_auto_preset("my_arm", 11, 3, 0.05), "small"),
          "hopper-sized at 20 Hz");
    CHECK(!strcmp(learner_config_auto_preset("my_dog", 40, 12, 0.02), "locomotion"), "big");
    // "small" is the small plants' settings, "locomotion" the unnamed defaults.
    LearnerConfig a, b;
    learner_config_default(&a, "inverted_pendulum");
    learner_config_default(&b, "my_arm");
    b.seed = 9;
    MaacErr me = {""};
    CHECK(learner_config_preset(&b, "small", &me) == 0, "small: %s", me.msg);
    snprintf(a.plant, sizeof a.plant, "my_arm");
    a.seed = 9;
    CHECK(same_settings(&a, &b), "small = inverted_pendulum's settings");
    learner_config_default(&a, "");
    learner_config_default(&b, "inverted_pendulum");
    CHECK(learner_config_set(&b, "preset", "locomotion", &me) == 0, "set preset: %s", me.msg);
    snprintf(a.plant, sizeof a.plant, "inverted_pendulum");
    CHECK(same_settings(&a, &b) && b.n_models == 8 && b.init_random_steps == 5000,
          "locomotion = the locomotion defaults");
    CHECK(learner_config_preset(&b, "huge", &me) == -EINVAL && strstr(me.msg, "small"),
          "unknown preset: %s", me.msg);
}

int main(void) {
    test_presets();
    test_parse_bounds();
    test_rule();
    test_gradient_check();
    test_gradient_check_fails();
    test_rule_in_rollouts();
    return test_summary("test_plant");
}
