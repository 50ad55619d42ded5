// SPDX-License-Identifier: Apache-2.0
// test_plant_safety.c -- the served plant's model in maacd (daemon/plant_config.c) and
// its safety limits in the control loop (daemon/ctrl.c), driven through ctrl_step in
// lock-step over inproc sockets:
//  - plant_config_resolve: built-in reward by name and layout, none for another name,
//    the termination rule and the safety bounds from [plant], bad lists refused;
//  - plant_config_learner: an unknown small plant gets the small preset, [learner]
//    preset and other keys override it;
//  - observations outside [plant] obs_min/obs_max get the safe action and count a fault;
//  - every computed action is clamped into the bounds (counted) and moves at most
//    max_action_change per tick (counted);
//  - MPC on a plant with only a learned reward plans: CEM (with the models' reward head)
//    answers, and its actions differ from the policy's.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "daemon/ctrl.h"
#include "daemon/plant_config.h"
#include "test_util.h"

#define S 2
#define A 1

typedef struct {
    void* z;
    void* router;
    void* dealer;
    void* pull;
    SwapSlot slot;
    Ctrl* c;
    WireMsg m;
    uint64_t seq;
} Rig;

static PlantInfo point_mass_info(const char* name) {
    PlantInfo p = {.obs_dim = S, .act_dim = A, .dt = 0.05};
    snprintf(p.name, sizeof p.name, "%s", name);
    p.act_low[0] = -1;
    p.act_high[0] = 1;
    return p;
}

// A policy whose action bounds are bound x the plant's (wider: clamping must act).
static ServedPolicy* make_policy(float bound, int with_mpc, int learn_reward) {
    Rng rng;
    rng_seed(&rng, 5);
    int h[2] = {16, 16};
    float lo[A] = {-bound}, hi[A] = {bound};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(S, A, 2, h, NN_ACT_TANH, lo, hi, &rng);
    // large output weights: actions swing across the whole range from obs to obs
    for (long i = 0; i < sp->pi->net->n_params; i++) sp->pi->net->params[i] *= 4.0f;
    if (with_mpc) {
        sp->ens = ens_create(S, A, 2, 1, 16, NN_ACT_SWISH, learn_reward, &rng);
        sp->qf = qf_create(S, A, 2, h, NN_ACT_RELU, &rng);
        cem_config_default(&sp->cem_cfg);
        sp->cem_cfg.population = 32;
        sp->cem_cfg.n_elites = 4;
        sp->cem_cfg.iterations = 2;
        sp->cem_cfg.horizon = 3;
        sp->cem = cem_work_create(&sp->cem_cfg, sp->ens, sp->pi, sp->qf);
    }
    return sp;
}

static int rig_open(Rig* r, DaemonConfig* cfg, PlantInfo* plant, ServedPolicy* sp) {
    memset(r, 0, sizeof *r);
    MaacErr err = {""};
    r->z = zmq_ctx_new();
    r->router = link_bind(r->z, ZMQ_ROUTER, "inproc://safety-plant", NULL, &err);
    r->pull = link_bind(r->z, ZMQ_PULL, LINK_LEARNER_INPROC, NULL, &err);
    r->dealer = link_connect(r->z, ZMQ_DEALER, "inproc://safety-plant", NULL, &err);
    CHECK(plant_config_resolve(cfg, plant, &err) == 0, "resolve: %s", err.msg);
    swap_init(&r->slot, served_free, served_stamp);
    swap_publish(&r->slot, sp, 0, NULL);
    r->c = ctrl_create(cfg, plant, r->z, r->router, NULL, &r->slot, &err);
    CHECK(r->c != NULL, "ctrl_create: %s", err.msg);
    if (!r->c) return -1;
    ctrl_set_explore(r->c, 0, 0);   // deterministic policy actions
    unsigned char buf[1024], rbuf[4096];
    WireHello h = {.obs_dim = S, .act_dim = A, .dt = 0.05};
    snprintf(h.plant, sizeof h.plant, "%s", plant->name);
    link_send(r->dealer, buf, wire_encode_hello(buf, sizeof buf, &h), 0);
    ctrl_step(r->c, rt_now_ns());
    int n = link_recv(r->dealer, rbuf, sizeof rbuf, 0);
    CHECK(n > 0 && wire_decode(rbuf, n, 0, 0, &r->m, NULL) == 0 &&
              r->m.type == WIRE_MSG_WELCOME, "welcome");
    return 0;
}

static void rig_close(Rig* r) {
    ctrl_free(r->c);
    swap_release(&r->slot);
    swap_done(&r->slot);
    zmq_close(r->dealer);
    zmq_close(r->pull);
    zmq_ctx_term(r->z);
}

// Send obs, step, return the action (and whether it was the safe action).
static float step(Rig* r, float x, float v, int* ret_safe) {
    unsigned char buf[1024], rbuf[4096];
    WireObs o;
    memset(&o, 0, sizeof o);
    o.obs_dim = S;
    o.seq = ++r->seq;
    o.first = r->seq == 1;
    o.obs[0] = x;
    o.obs[1] = v;
    link_send(r->dealer, buf, wire_encode_obs(buf, sizeof buf, &o), 0);
    ctrl_step(r->c, rt_now_ns());
    float a = NAN;
    int n;
    while ((n = link_recv(r->dealer, rbuf, sizeof rbuf, ZMQ_DONTWAIT)) > 0)
        if (wire_decode(rbuf, n, 0, A, &r->m, NULL) == 0 && r->m.type == WIRE_MSG_ACTION) {
            a = (float)r->m.u.action.action[0];
            *ret_safe = r->m.u.action.safe;
        }
    while (zmq_recv(r->pull, rbuf, sizeof rbuf, ZMQ_DONTWAIT) >= 0) {}
    return a;
}

static void test_resolve(void) {
    DaemonConfig cfg;
    config_default(&cfg);
    MaacErr err = {""};
    PlantInfo p = point_mass_info("double_integrator");   // the built-in's name and layout
    CHECK(plant_config_resolve(&cfg, &p, &err) == 0 && p.model.reward && p.model.exact,
          "built-in reward attached: %s", err.msg);
    p = point_mass_info("my_arm");
    CHECK(plant_config_resolve(&cfg, &p, &err) == 0 && !p.model.reward &&
              !plant_has_termination(&p.model) && !p.model.obs_limits, "unknown: nothing known");
    CHECK(p.model.period == 0.05 && p.model.act_high[0] == 1.0f, "period and bounds");
    snprintf(cfg.terminate_obs_max, sizeof cfg.terminate_obs_max, "2, none");
    snprintf(cfg.obs_min, sizeof cfg.obs_min, "-5, -10");
    cfg.max_action_change = 0.1;
    CHECK(plant_config_resolve(&cfg, &p, &err) == 0 && p.model.term_rule &&
              p.model.term_max[0] == 2.0f && isinf(p.model.term_max[1]) && p.model.obs_limits &&
              p.model.obs_min[1] == -10.0f && isinf(p.model.obs_max[0]) &&
              p.model.max_act_change == 0.1f, "rule and limits: %s", err.msg);
    snprintf(cfg.terminate_obs_min, sizeof cfg.terminate_obs_min, "1, 2, 3");
    CHECK(plant_config_resolve(&cfg, &p, &err) == -EINVAL &&
              strstr(err.msg, "terminate_obs_min"), "a list of the wrong length: %s", err.msg);
    config_default(&cfg);
    snprintf(cfg.reward_plugin, sizeof cfg.reward_plugin, "/nonexistent/plugin.so");
    CHECK(plant_config_resolve(&cfg, &p, &err) < 0 && strstr(err.msg, "plugin"),
          "a missing plugin refuses the plant: %s", err.msg);
}

static void test_learner_settings(void) {
    DaemonConfig cfg;
    config_default(&cfg);
    MaacErr err = {""};
    PlantInfo p = point_mass_info("my_arm");
    LearnerConfig lc;
    CHECK(plant_config_learner(&cfg, &p, &lc, &err) == 0, "learner settings: %s", err.msg);
    CHECK(lc.n_models == 4 && lc.init_random_steps == 500 && lc.policy_width == 64,
          "small preset for a 2/1 plant (%d models, %d random)", lc.n_models,
          lc.init_random_steps);
    CHECK(config_set(&cfg, "learner", "init_random_steps", "300", &err) == 0 &&
              config_set(&cfg, "learner", "preset", "locomotion", &err) == 0,
          "set: %s", err.msg);
    CHECK(plant_config_learner(&cfg, &p, &lc, &err) == 0 && lc.n_models == 8 &&
              lc.init_random_steps == 300, "preset first, keys override (%d models, %d random)",
          lc.n_models, lc.init_random_steps);
    CHECK(config_set(&cfg, "learner", "preset", "huge", &err) < 0, "bad preset refused");
}

static void test_obs_fault(void) {
    DaemonConfig cfg;
    config_default(&cfg);
    snprintf(cfg.obs_max, sizeof cfg.obs_max, "1.5, none");
    cfg.safe_action[0] = 0.25f;
    cfg.n_safe_action = 1;
    PlantInfo p = point_mass_info("my_arm");
    Rig r;
    if (rig_open(&r, &cfg, &p, make_policy(1.0f, 0, 0)) < 0) return;
    int safe = 0, n_safe = 0, n_fault_obs = 0;
    for (int t = 0; t < 100; t++) {
        float x = (t % 10 == 3) ? 2.0f + t : 0.1f * (float)(t % 7);
        n_fault_obs += x > 1.5f;
        float a = step(&r, x, 50.0f, &safe);   // v = 50 is inside (no bound on obs[1])
        if (x > 1.5f) {
            CHECK(safe && a == 0.25f, "fault obs %d: the safe action (%g, safe %d)", t, a, safe);
        }
        n_safe += safe;
    }
    CtrlStats* st = ctrl_stats(r.c);
    CHECK(atomic_load(&st->obs_faults) == (uint64_t)n_fault_obs && n_fault_obs == 10,
          "faults counted: %llu of %d", (unsigned long long)atomic_load(&st->obs_faults),
          n_fault_obs);
    CHECK(n_safe == n_fault_obs, "only the faulty observations got the safe action (%d)", n_safe);
    rig_close(&r);
}

static void test_clamp_and_rate_limit(void) {
    DaemonConfig cfg;
    config_default(&cfg);
    cfg.max_action_change = 0.05;
    PlantInfo p = point_mass_info("my_arm");
    Rig r;
    if (rig_open(&r, &cfg, &p, make_policy(3.0f, 0, 0)) < 0) return;
    int safe = 0, worst_ok = 1;
    float prev = NAN, lo = 1e9f, hi = -1e9f;
    for (int t = 0; t < 200; t++) {
        float a = step(&r, (float)sin(0.3 * t) * 3.0f, (float)cos(0.7 * t) * 3.0f, &safe);
        CHECK(!safe, "policy action");
        if (!isnan(prev) && fabsf(a - prev) > 0.05f + 1e-6f) worst_ok = 0;
        prev = a;
        lo = fminf(lo, a);
        hi = fmaxf(hi, a);
    }
    CHECK(worst_ok, "every action within 0.05 of the previous one");
    CHECK(lo >= -1.0f && hi <= 1.0f, "inside the plant's bounds [%g, %g]", lo, hi);
    CtrlStats* st = ctrl_stats(r.c);
    printf("clamped %llu, rate limited %llu of 200\n",
           (unsigned long long)atomic_load(&st->actions_clamped),
           (unsigned long long)atomic_load(&st->actions_rate_limited));
    CHECK(atomic_load(&st->actions_rate_limited) > 20, "rate limit acted and was counted");
    CHECK(atomic_load(&st->actions_clamped) > 0, "clamping acted and was counted");
    rig_close(&r);
}

// With only a learned reward (no plugin, unknown name) MPC plans with the models' reward
// head: actions differ from the policy's on the same observations.
static void test_mpc_learned_reward(void) {
    DaemonConfig cfg;
    config_default(&cfg);
    PlantInfo p = point_mass_info("my_arm");
    Rig rp, rm;
    if (rig_open(&rp, &cfg, &p, make_policy(1.0f, 1, 1)) < 0) return;
    p = point_mass_info("my_arm");
    if (rig_open(&rm, &cfg, &p, make_policy(1.0f, 1, 1)) < 0) return;
    ctrl_set_act_mode(rm.c, ACT_MODE_MPC);
    int safe_p = 0, safe_m = 0, differ = 0;
    for (int t = 0; t < 30; t++) {
        float x = (float)sin(0.5 * t), v = (float)cos(0.3 * t);
        float ap = step(&rp, x, v, &safe_p), am = step(&rm, x, v, &safe_m);
        CHECK(!safe_p && !safe_m && fabsf(am) <= 1.0f, "both answer (mpc %g)", am);
        differ += fabsf(ap - am) > 1e-4f;
    }
    CHECK(differ > 20, "CEM's actions differ from the policy's (%d of 30)", differ);
    CHECK(atomic_load(&ctrl_stats(rm.c)->err_policy) == 0, "no CEM failure");
    rig_close(&rp);
    rig_close(&rm);
}

int main(void) {
    test_resolve();
    test_learner_settings();
    test_obs_fault();
    test_clamp_and_rate_limit();
    test_mpc_learned_reward();
    return test_summary("test_plant_safety");
}
