// SPDX-License-Identifier: Apache-2.0
// test_sim_models.c -- the project's MJCF files against the reference task models.
//
// For every MuJoCo plant: load sim/models/<name>.xml (MAAC_MODEL_DIR) and the
// reference tests/data/gym_models/<name>.xml (MAAC_REF_MODEL_DIR) with mj_loadXML and
// check that they are the same physical system: sizes (nq, nv, nu, nbody, ngeom),
// timestep, integrator, gravity, fluid, qpos0, body masses and inertias, joint and
// dof parameters, geom contact parameters, actuator gears and ctrl ranges. Then run
// both from the same perturbed initial state under the same random action sequence
// (200 env steps of frame_skip substeps) and compare qpos/qvel. Also checks that
// the embedded copy (models_xml.c) equals the files, and that the embedded and the
// file-loaded plant give identical rollouts.
// A missing reference folder is a FAILURE, not a skip.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mujoco/mujoco.h>

#include "core/rng.h"
#include "sim/models_xml.h"
#include "sim/sim.h"
#include "test_util.h"

static const struct {
    const char* name;
    int frame_skip;
} plants[] = {
    {"half_cheetah", 5}, {"hopper", 4}, {"walker2d", 4}, {"ant", 5},
    {"inverted_pendulum", 2}, {"inverted_double_pendulum", 5}, {"reacher", 2}, {"swimmer", 4},
};
#define NPLANTS ((int)(sizeof plants / sizeof plants[0]))

static mjModel* load(const char* dir, const char* name) {
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.xml", dir, name);
    mjModel* m = mj_loadXML(path, NULL, err, sizeof err);
    CHECK(m != NULL, "load %s: %s", path, err);
    if (m && err[0]) printf("  warning loading %s: %s\n", path, err);
    return m;
}

static double maxdiff(const mjtNum* a, const mjtNum* b, int n) {
    double d = 0.0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}


// Same physical model: sizes and every parameter that enters the dynamics.
static void compare_facts(const char* name, const mjModel* a, const mjModel* r) {
    CHECK(a->nq == r->nq && a->nv == r->nv && a->nu == r->nu, "%s sizes nq %d/%d nv %d/%d nu %d/%d",
          name, a->nq, r->nq, a->nv, r->nv, a->nu, r->nu);
    CHECK(a->nbody == r->nbody && a->njnt == r->njnt && a->ngeom == r->ngeom && a->nsite == r->nsite,
          "%s counts body %d/%d jnt %d/%d geom %d/%d site %d/%d", name, a->nbody, r->nbody,
          a->njnt, r->njnt, a->ngeom, r->ngeom, a->nsite, r->nsite);
    if (a->nq != r->nq || a->nv != r->nv || a->nu != r->nu || a->nbody != r->nbody ||
        a->njnt != r->njnt || a->ngeom != r->ngeom)
        return;
    const double tol = 1e-12;
    CHECK(a->opt.timestep == r->opt.timestep, "%s timestep %g vs %g", name, a->opt.timestep, r->opt.timestep);
    CHECK(a->opt.integrator == r->opt.integrator, "%s integrator", name);
    CHECK(maxdiff(a->opt.gravity, r->opt.gravity, 3) <= tol, "%s gravity", name);
    CHECK(a->opt.density == r->opt.density && a->opt.viscosity == r->opt.viscosity, "%s fluid", name);
    CHECK(maxdiff(a->qpos0, r->qpos0, a->nq) <= tol, "%s qpos0", name);
#define NUM(field, n) CHECK(maxdiff(a->field, r->field, (n)) <= 1e-9, "%s " #field " differs by %g", \
                            name, maxdiff(a->field, r->field, (n)))
#define INT(field, n) CHECK(!memcmp(a->field, r->field, (n) * sizeof a->field[0]), "%s " #field " differs", name)
    NUM(body_mass, a->nbody);
    NUM(body_inertia, 3 * a->nbody);
    NUM(body_pos, 3 * a->nbody);
    NUM(body_quat, 4 * a->nbody);
    NUM(body_ipos, 3 * a->nbody);
    INT(body_parentid, a->nbody);
    INT(jnt_type, a->njnt);
    INT(jnt_bodyid, a->njnt);
    INT(jnt_limited, a->njnt);
    NUM(jnt_range, 2 * a->njnt);
    NUM(jnt_pos, 3 * a->njnt);
    NUM(jnt_axis, 3 * a->njnt);
    NUM(jnt_stiffness, a->njnt);
    NUM(jnt_margin, a->njnt);
    NUM(jnt_solref, mjNREF * a->njnt);
    NUM(jnt_solimp, mjNIMP * a->njnt);
    NUM(dof_armature, a->nv);
    NUM(dof_damping, a->nv);
    NUM(dof_frictionloss, a->nv);
    INT(geom_type, a->ngeom);
    INT(geom_bodyid, a->ngeom);
    INT(geom_contype, a->ngeom);
    INT(geom_conaffinity, a->ngeom);
    INT(geom_condim, a->ngeom);
    NUM(geom_friction, 3 * a->ngeom);
    NUM(geom_margin, a->ngeom);
    NUM(geom_gap, a->ngeom);
    NUM(geom_solref, mjNREF * a->ngeom);
    NUM(geom_solimp, mjNIMP * a->ngeom);
    NUM(geom_solmix, a->ngeom);
    NUM(geom_pos, 3 * a->ngeom);
    NUM(geom_quat, 4 * a->ngeom);
    INT(actuator_trnid, 2 * a->nu);
    INT(actuator_ctrllimited, a->nu);
    NUM(actuator_gear, 6 * a->nu);
    NUM(actuator_ctrlrange, 2 * a->nu);
    NUM(actuator_gainprm, mjNGAIN * a->nu);
    NUM(actuator_biasprm, mjNBIAS * a->nu);
    // geom sizes: planes only set their visual extent, compare the rest exactly
    for (int g = 0; g < a->ngeom; g++)
        if (a->geom_type[g] != mjGEOM_PLANE)
            CHECK(maxdiff(a->geom_size + 3 * g, r->geom_size + 3 * g, 3) <= 1e-9, "%s geom %d size", name, g);
    if (a->nsite == r->nsite) NUM(site_pos, 3 * a->nsite);
#undef NUM
#undef INT
}

// Same initial state, same actions, 200 env steps: compare the trajectories.
static void compare_rollout(const char* name, int frame_skip, const mjModel* a, const mjModel* r) {
    if (a->nq != r->nq || a->nv != r->nv || a->nu != r->nu) return;
    mjData* da = mj_makeData(a);
    mjData* dr = mj_makeData(r);
    Rng rng;
    rng_seed(&rng, 1234);
    for (int i = 0; i < a->nq; i++) da->qpos[i] = dr->qpos[i] = a->qpos0[i] + 0.05 * (2 * rng_uniform_d(&rng) - 1);
    for (int i = 0; i < a->nv; i++) da->qvel[i] = dr->qvel[i] = 0.05 * (2 * rng_uniform_d(&rng) - 1);
    mj_forward(a, da);
    mj_forward(r, dr);
    double dq = 0.0, dv = 0.0, scale = 0.0;
    for (int t = 0; t < 200; t++) {
        for (int i = 0; i < a->nu; i++) da->ctrl[i] = dr->ctrl[i] = 2 * rng_uniform_d(&rng) - 1;
        for (int k = 0; k < frame_skip; k++) {
            mj_step(a, da);
            mj_step(r, dr);
        }
        dq = fmax(dq, maxdiff(da->qpos, dr->qpos, a->nq));
        dv = fmax(dv, maxdiff(da->qvel, dr->qvel, a->nv));
        for (int i = 0; i < a->nv; i++) scale = fmax(scale, fabs(dr->qvel[i]));
    }
    printf("  %-26s 200 steps: max|dqpos| %.3g max|dqvel| %.3g (max|qvel| %.3g)\n", name, dq, dv, scale);
    CHECK(dq <= 1e-6 && dv <= 1e-5, "%s trajectory differs from the reference: qpos %g qvel %g", name, dq, dv);
    mj_deleteData(da);
    mj_deleteData(dr);
}

// The embedded copy equals the file (regenerate with sim/models/embed.py).
static void compare_embedded(const char* dir, const char* name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.xml", dir, name);
    FILE* f = fopen(path, "rb");
    CHECK(f != NULL, "open %s", path);
    if (!f) return;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char* emb = sim_model_xml(name);
    CHECK(emb && !strcmp(emb, buf), "%s: embedded MJCF differs from %s (run sim/models/embed.py)", name, path);
}

// The plant built from the embedded text and from the file behave identically.
static void compare_embedded_plant(const char* name) {
    const char* dir = getenv("MAAC_MODEL_DIR");
    char* saved = dir ? strdup(dir) : NULL;
    MaacErr err = {""};
    SimPlant* pf = sim_create(name, &err);
    CHECK(pf != NULL, "%s from file: %s", name, err.msg);
    unsetenv("MAAC_MODEL_DIR");
    SimPlant* pe = sim_create(name, &err);
    CHECK(pe != NULL, "%s embedded: %s", name, err.msg);
    if (saved) setenv("MAAC_MODEL_DIR", saved, 1);
    free(saved);
    if (pf && pe) {
        double of[SIM_MAX_OBS], oe[SIM_MAX_OBS], a[SIM_MAX_ACT] = {0};
        SimStepResult rf, re;
        const SimSpec* s = sim_spec(pf);
        sim_reset(pf, 7, of);
        sim_reset(pe, 7, oe);
        int same = !memcmp(of, oe, sizeof(double) * s->obs_dim);
        for (int t = 0; t < 20; t++) {
            for (int i = 0; i < s->act_dim; i++) a[i] = sin(0.3 * t + i);
            sim_step(pf, a, of, &rf);
            sim_step(pe, a, oe, &re);
            same &= !memcmp(of, oe, sizeof(double) * s->obs_dim) && rf.reward == re.reward;
        }
        CHECK(same, "%s: embedded and file plants differ", name);
    }
    sim_free(pf);
    sim_free(pe);
}

int main(void) {
    const char* mine = getenv("MAAC_MODEL_DIR");
    const char* ref = getenv("MAAC_REF_MODEL_DIR");
    CHECK(mine && mine[0], "MAAC_MODEL_DIR is not set");
    CHECK(ref && ref[0], "MAAC_REF_MODEL_DIR is not set (the reference models are required)");
    if (!mine || !ref) return test_summary("test_sim_models");
    for (int i = 0; i < NPLANTS; i++) {
        const char* name = plants[i].name;
        mjModel* a = load(mine, name);
        mjModel* r = load(ref, name);   // fails loudly when the reference folder is missing
        if (a && r) {
            compare_facts(name, a, r);
            compare_rollout(name, plants[i].frame_skip, a, r);
        }
        if (a) mj_deleteModel(a);
        if (r) mj_deleteModel(r);
        compare_embedded(mine, name);
        compare_embedded_plant(name);
    }
    return test_summary("test_sim_models");
}
