// SPDX-License-Identifier: Apache-2.0
// test_sim_plants.c -- the plant API (sim.h) against an independent reading of the
// task specification (docs/plants.md) run on the REFERENCE models.
//
// For each MuJoCo plant the test re-implements one env step from that specification on the
// reference MJCF (MAAC_REF_MODEL_DIR): ctrl = action, mj_step x frame_skip,
// mj_rnePostConstraint, observation layout, reward terms (forward displacement
// over dt, Cartesian reads with their one-substep lag, Reacher's pre-step
// distance), health check. Starting from the plant's reset state it steps both
// with the same random actions and compares obs, reward and termination.
// It also checks the static specs, seeded-reset determinism and reset noise,
// truncation, and that bad actions (NaN, Inf, wrong length) are rejected with
// -EINVAL and leave the state untouched.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mujoco/mujoco.h>

#include "core/rng.h"
#include "sim/sim.h"
#include "test_util.h"

typedef struct {
    const char* name;
    int obs_dim, act_dim, frame_skip, max_steps;
    double dt, act_hi;
} Expect;

static const Expect expects[] = {
    {"half_cheetah", 17, 6, 5, 1000, 0.05, 1},
    {"hopper", 11, 3, 4, 1000, 0.008, 1},
    {"walker2d", 17, 6, 4, 1000, 0.008, 1},
    {"ant", 27, 8, 5, 1000, 0.05, 1},
    {"inverted_pendulum", 4, 1, 2, 1000, 0.04, 3},
    {"inverted_double_pendulum", 11, 1, 5, 1000, 0.05, 1},
    {"reacher", 11, 2, 2, 50, 0.02, 1},
    {"swimmer", 8, 2, 4, 1000, 0.04, 1},
    {"double_integrator", 2, 1, 1, 200, 0.05, 5},
};
#define NEXP ((int)(sizeof expects / sizeof expects[0]))

/* ---------------- reference step, written from docs/plants.md -------------- */

static double clipd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static void ref_obs(const char* n, const mjModel* m, const mjData* d, double* o) {
    int k = 0;
    if (!strcmp(n, "half_cheetah") || !strcmp(n, "hopper") || !strcmp(n, "walker2d")) {
        const double c = !strcmp(n, "half_cheetah") ? INFINITY : 10.0;
        for (int i = 1; i < m->nq; i++) o[k++] = d->qpos[i];
        for (int i = 0; i < m->nv; i++) o[k++] = clipd(d->qvel[i], -c, c);
    } else if (!strcmp(n, "ant") || !strcmp(n, "swimmer")) {
        for (int i = 2; i < m->nq; i++) o[k++] = d->qpos[i];
        for (int i = 0; i < m->nv; i++) o[k++] = d->qvel[i];
    } else if (!strcmp(n, "inverted_pendulum")) {
        o[0] = d->qpos[0], o[1] = d->qpos[1], o[2] = d->qvel[0], o[3] = d->qvel[1];
    } else if (!strcmp(n, "inverted_double_pendulum")) {
        o[k++] = d->qpos[0];
        for (int i = 1; i < 3; i++) o[k++] = sin(d->qpos[i]);
        for (int i = 1; i < 3; i++) o[k++] = cos(d->qpos[i]);
        for (int i = 0; i < 3; i++) o[k++] = clipd(d->qvel[i], -10, 10);
        for (int i = 0; i < 3; i++) o[k++] = clipd(d->qfrc_constraint[i], -10, 10);
    } else if (!strcmp(n, "reacher")) {
        const int f = mj_name2id(m, mjOBJ_BODY, "fingertip"), t = mj_name2id(m, mjOBJ_BODY, "target");
        o[k++] = cos(d->qpos[0]), o[k++] = cos(d->qpos[1]);
        o[k++] = sin(d->qpos[0]), o[k++] = sin(d->qpos[1]);
        o[k++] = d->qpos[2], o[k++] = d->qpos[3];
        o[k++] = d->qvel[0], o[k++] = d->qvel[1];
        for (int i = 0; i < 3; i++) o[k++] = d->xpos[3 * f + i] - d->xpos[3 * t + i];
    }
}

// One env step on (m, d); returns the reward, writes obs and *term.
static double ref_step(const char* n, int fs, const mjModel* m, mjData* d, const double* a,
                       double* obs, int* term) {
    const double dt = m->opt.timestep * fs;
    double asq = 0.0;
    for (int i = 0; i < m->nu; i++) asq += a[i] * a[i];
    const int torso = mj_name2id(m, mjOBJ_BODY, "torso");
    double x0 = d->qpos[0];
    if (!strcmp(n, "ant")) x0 = d->xpos[3 * torso];
    double dist0 = 0.0;
    if (!strcmp(n, "reacher")) {
        double o[11];
        ref_obs(n, m, d, o);
        dist0 = sqrt(o[8] * o[8] + o[9] * o[9] + o[10] * o[10]);
    }
    for (int i = 0; i < m->nu; i++) d->ctrl[i] = a[i];
    for (int k = 0; k < fs; k++) mj_step(m, d);
    mj_rnePostConstraint(m, d);
    ref_obs(n, m, d, obs);
    const double* q = d->qpos;
    const double* v = d->qvel;
    *term = 0;
    if (!strcmp(n, "half_cheetah")) return (q[0] - x0) / dt - 0.1 * asq;
    if (!strcmp(n, "swimmer")) return (q[0] - x0) / dt - 1e-4 * asq;
    if (!strcmp(n, "hopper")) {
        int ok = q[1] > 0.7 && fabs(q[2]) < 0.2;
        for (int i = 2; i < 6; i++) ok = ok && fabs(q[i]) < 100;
        for (int i = 0; i < 6; i++) ok = ok && fabs(v[i]) < 100;
        *term = !ok;
        return (q[0] - x0) / dt + 1.0 - 1e-3 * asq;
    }
    if (!strcmp(n, "walker2d")) {
        *term = !(q[1] > 0.8 && q[1] < 2.0 && q[2] > -1.0 && q[2] < 1.0);
        return (q[0] - x0) / dt + 1.0 - 1e-3 * asq;
    }
    if (!strcmp(n, "ant")) {
        int ok = q[2] >= 0.2 && q[2] <= 1.0;
        for (int i = 0; i < m->nq; i++) ok = ok && isfinite(q[i]);
        for (int i = 0; i < m->nv; i++) ok = ok && isfinite(v[i]);
        *term = !ok;
        return (d->xpos[3 * torso] - x0) / dt + 1.0 - 0.5 * asq;
    }
    if (!strcmp(n, "inverted_pendulum")) {
        *term = !(isfinite(obs[0]) && isfinite(obs[1]) && isfinite(obs[2]) && isfinite(obs[3]) &&
                  fabs(obs[1]) <= 0.2);
        return 1.0;
    }
    if (!strcmp(n, "inverted_double_pendulum")) {
        const double* tip = d->site_xpos + 3 * mj_name2id(m, mjOBJ_SITE, "tip");
        *term = tip[2] <= 1.0;
        return 10.0 - 0.01 * tip[0] * tip[0] - (tip[2] - 2) * (tip[2] - 2) - 1e-3 * v[1] * v[1] -
               5e-3 * v[2] * v[2];
    }
    if (!strcmp(n, "reacher")) return -dist0 - asq;
    return NAN;
}

static void check_against_reference(const char* refdir, const Expect* e) {
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.xml", refdir, e->name);
    mjModel* m = mj_loadXML(path, NULL, err, sizeof err);
    CHECK(m != NULL, "load reference %s: %s", path, err);
    SimPlant* p = sim_create(e->name, NULL);
    CHECK(p != NULL, "create %s", e->name);
    if (!m || !p) {
        if (m) mj_deleteModel(m);
        sim_free(p);
        return;
    }
    mjData* d = mj_makeData(m);
    const mjModel* pm = sim_mj_model(p);
    mjData* pd = sim_mj_data(p);
    Rng rng;
    rng_seed(&rng, 99);
    double o[SIM_MAX_OBS], ro[SIM_MAX_OBS], a[SIM_MAX_ACT];
    double dobs = 0.0, drew = 0.0;
    int dterm = 0, steps = 0;
    for (int ep = 0; ep < 3; ep++) {
        sim_reset(p, 500 + ep, o);
        mj_resetData(m, d);
        memcpy(d->qpos, pd->qpos, sizeof(double) * pm->nq);
        memcpy(d->qvel, pd->qvel, sizeof(double) * pm->nv);
        mj_forward(m, d);
        ref_obs(e->name, m, d, ro);
        for (int i = 0; i < e->obs_dim; i++) dobs = fmax(dobs, fabs(o[i] - ro[i]));
        for (int t = 0; t < 150; t++) {
            for (int i = 0; i < e->act_dim; i++) a[i] = e->act_hi * (2.4 * rng_uniform_d(&rng) - 1.2);
            SimStepResult res;
            int term;
            CHECK(sim_step(p, a, o, &res) == 0, "%s step", e->name);
            const double r = ref_step(e->name, e->frame_skip, m, d, a, ro, &term);
            for (int i = 0; i < e->obs_dim; i++) dobs = fmax(dobs, fabs(o[i] - ro[i]));
            drew = fmax(drew, fabs(res.reward - r) / (1.0 + fabs(r)));
            dterm += term != res.terminated;
            steps++;
            if (term) break;
        }
    }
    printf("  %-26s %d steps vs reference: max|dobs| %.3g max rel|dr| %.3g term mismatches %d\n",
           e->name, steps, dobs, drew, dterm);
    CHECK(dobs <= 1e-6 && drew <= 1e-6 && dterm == 0, "%s differs from the reference task", e->name);
    mj_deleteData(d);
    mj_deleteModel(m);
    sim_free(p);
}

/* ---------------- API behaviour ----------------------------------------- */

static void check_spec(const Expect* e) {
    MaacErr err = {""};
    SimPlant* p = sim_create(e->name, &err);
    CHECK(p != NULL, "create %s: %s", e->name, err.msg);
    if (!p) return;
    const SimSpec* s = sim_spec(p);
    CHECK(!strcmp(s->name, e->name), "%s name", e->name);
    CHECK(s->obs_dim == e->obs_dim && s->act_dim == e->act_dim, "%s dims %d %d", e->name, s->obs_dim, s->act_dim);
    CHECK(s->frame_skip == e->frame_skip && s->max_episode_steps == e->max_steps, "%s frame_skip/len", e->name);
    CHECK_NEAR(s->control_dt, e->dt, 1e-12, e->name);
    for (int i = 0; i < s->act_dim; i++)
        CHECK(s->act_low[i] == -e->act_hi && s->act_high[i] == e->act_hi, "%s bounds %d", e->name, i);

    // seeded reset: same seed same obs, another seed another obs
    double o1[SIM_MAX_OBS], o2[SIM_MAX_OBS], o3[SIM_MAX_OBS];
    sim_reset(p, 42, o1);
    sim_reset(p, 42, o2);
    sim_reset(p, 43, o3);
    CHECK(!memcmp(o1, o2, sizeof(double) * s->obs_dim), "%s reset not deterministic", e->name);
    CHECK(memcmp(o1, o3, sizeof(double) * s->obs_dim) != 0, "%s reset ignores the seed", e->name);

    // bad actions: rejected, nothing stepped
    double a[SIM_MAX_ACT] = {0}, o[SIM_MAX_OBS];
    SimStepResult r;
    CHECK(sim_step(p, a, o, &r) == 0, "%s good step", e->name);
    const int steps = sim_episode_steps(p);
    double before[SIM_MAX_OBS], after[SIM_MAX_OBS];
    sim_observe(p, before);
    const double bad[3] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        a[s->act_dim - 1] = bad[k];
        CHECK(sim_step(p, a, o, &r) == -EINVAL, "%s accepted a non-finite action", e->name);
        CHECK(sim_step_checked(p, a, s->act_dim, o, &r) == -EINVAL, "%s checked accepted non-finite", e->name);
    }
    a[s->act_dim - 1] = 0.0;
    CHECK(sim_step_checked(p, a, s->act_dim + 1, o, &r) == -EINVAL, "%s accepted a long action", e->name);
    CHECK(sim_step_checked(p, a, s->act_dim - 1, o, &r) == -EINVAL, "%s accepted a short action", e->name);
    CHECK(sim_step_checked(p, a, 0, o, &r) == -EINVAL, "%s accepted an empty action", e->name);
    sim_observe(p, after);
    CHECK(!memcmp(before, after, sizeof(double) * s->obs_dim) && sim_episode_steps(p) == steps,
          "%s a rejected action changed the state", e->name);
    CHECK(sim_step_checked(p, a, s->act_dim, o, &r) == 0, "%s checked good step", e->name);

    // truncation exactly at max_episode_steps (zero actions; ignore termination)
    sim_reset(p, 1, o);
    int trunc_at = -1;
    for (int t = 1; t <= s->max_episode_steps; t++) {
        sim_step(p, a, o, &r);
        if (r.truncated && trunc_at < 0) trunc_at = t;
    }
    CHECK(trunc_at == s->max_episode_steps, "%s truncated at %d", e->name, trunc_at);
    sim_free(p);
}

// Reset noise: range and spread of qpos - qpos0 and qvel over many seeds.
static void check_reset_noise(const char* name, double c, double cv, int vel_normal) {
    SimPlant* p = sim_create(name, NULL);
    CHECK(p != NULL, "create %s", name);
    if (!p) return;
    const mjModel* m = sim_mj_model(p);
    const mjData* d = sim_mj_data(p);
    double o[SIM_MAX_OBS], maxq = 0.0, sq = 0.0, sv = 0.0;
    long nq = 0, nv = 0;
    for (int s = 0; s < 400; s++) {
        sim_reset(p, 10000 + s, o);
        for (int i = 0; i < m->nq; i++) {
            if (!strcmp(name, "reacher") && i >= 2) continue;
            // the free joint's quaternion is renormalised by mj_forward after the noise
            if (!strcmp(name, "ant") && i >= 3 && i < 7) continue;
            const double e = d->qpos[i] - m->qpos0[i];
            maxq = fmax(maxq, fabs(e));
            sq += e * e;
            nq++;
        }
        for (int i = 0; i < m->nv; i++) {
            if (!strcmp(name, "reacher") && i >= 2) {
                CHECK(d->qvel[i] == 0.0, "reacher target qvel");
                continue;
            }
            sv += d->qvel[i] * d->qvel[i];
            nv++;
        }
        if (!strcmp(name, "reacher")) CHECK(hypot(d->qpos[2], d->qpos[3]) < 0.2, "reacher goal radius");
    }
    const double sdq = sqrt(sq / nq), sdv = sqrt(sv / nv);
    const double sdv_expect = vel_normal ? cv : cv / sqrt(3.0);
    CHECK(maxq <= c && maxq > 0.9 * c, "%s qpos noise range %g vs %g", name, maxq, c);
    CHECK(fabs(sdq - c / sqrt(3.0)) < 0.1 * c, "%s qpos noise sd %g", name, sdq);
    CHECK(fabs(sdv - sdv_expect) < 0.1 * sdv_expect, "%s qvel noise sd %g vs %g", name, sdv, sdv_expect);
    sim_free(p);
}

int main(void) {
    const char* ref = getenv("MAAC_REF_MODEL_DIR");
    CHECK(ref && ref[0], "MAAC_REF_MODEL_DIR is not set (the reference models are required)");
    for (int i = 0; i < NEXP; i++) check_spec(&expects[i]);
    for (int i = 0; ref && i < NEXP - 1; i++) check_against_reference(ref, &expects[i]);
    check_reset_noise("half_cheetah", 0.1, 0.1, 1);
    check_reset_noise("hopper", 5e-3, 5e-3, 0);
    check_reset_noise("walker2d", 5e-3, 5e-3, 0);
    check_reset_noise("ant", 0.1, 0.1, 1);
    check_reset_noise("inverted_pendulum", 0.01, 0.01, 0);
    check_reset_noise("inverted_double_pendulum", 0.1, 0.1, 1);
    check_reset_noise("swimmer", 0.1, 0.1, 0);
    check_reset_noise("reacher", 0.1, 0.005, 0);   // arm only; target drawn in the disc
    {
        SimPlant* p = sim_create("reacher", NULL);
        double o[SIM_MAX_OBS];
        double maxv = 0.0;
        for (int s = 0; p && s < 200; s++) {
            sim_reset(p, s, o);
            maxv = fmax(maxv, fmax(fabs(o[6]), fabs(o[7])));
        }
        CHECK(maxv <= 0.005 && maxv > 0.004, "reacher arm qvel noise %g", maxv);
        sim_free(p);
    }
    MaacErr err = {""};
    CHECK(sim_create("no_such_plant", &err) == NULL && err.msg[0], "unknown plant");
    int n = 0;
    for (const char* const* s = sim_plant_names(); *s; s++) n++;
    CHECK(n == NEXP, "plant names %d", n);
    sim_free(NULL);
    return test_summary("test_sim_plants");
}
