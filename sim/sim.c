// SPDX-License-Identifier: Apache-2.0
// sim.c -- the plants of sim.h: MuJoCo ports of Gymnasium's v4 MuJoCo tasks and
// the double integrator.
//
// Each MuJoCo task is a row of `tasks[]`: its model, frame skip, episode length,
// reset noise, observation, reward and health check, written from the task
// descriptions in docs/plants.md. One env step (docs/plants.md "One env step") is: check the
// action, write it to ctrl unchanged (MuJoCo clamps to ctrlrange inside the
// physics; the control cost uses the raw action), mj_step x frame_skip, one
// mj_rnePostConstraint, then observation, reward, termination, truncation.
// Quantities the standard tasks read from Cartesian arrays (Ant's torso xpos,
// Reacher's fingertip/target xpos, InvertedDoublePendulum's tip site_xpos) are
// read right after the mj_step loop, with their one-substep lag, as Gymnasium does.
//
// Models: the MJCF text is compiled into the library (models_xml.c, generated
// from sim/models/*.xml) and loaded through a MuJoCo virtual file system, so the
// daemon needs no data directory. When the environment variable MAAC_MODEL_DIR is
// set (non-empty), <dir>/<name>.xml is loaded from disk instead (tests do this).
//
// Thread: one SimPlant per thread; sim_create may run concurrently (model loading
// is serialised by a mutex).
//
// The double integrator (double_integrator.h) is the analytic plant: obs = state,
// reward r(s, a) on the pre-step state, frame_skip 1.
#include "sim/sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mujoco/mujoco.h>

#include "core/rng.h"
#include "sim/double_integrator.h"
#include "sim/models_xml.h"

typedef struct SimTask SimTask;

struct SimPlant {
    const SimTask* task;
    SimSpec spec;
    mjModel* m;             // NULL for the double integrator
    mjData* d;
    int steps;              // env steps in this episode
    int fwd_body;           // Ant: torso body id; Reacher: fingertip body id
    int target_body;        // Reacher: target body id
    int tip_site;           // InvertedDoublePendulum: "tip" site id
    DiModel di;             // double integrator model
    double di_s[DI_MAX_N];  // double integrator state (n)
};

// Row of the task table. `before` returns the quantity the reward needs from the
// pre-step state (forward position, or Reacher's distance); reward gets it back.
struct SimTask {
    const char* name;
    int obs_dim;
    int frame_skip;
    int max_steps;
    void (*reset)(SimPlant* p, Rng* rng);
    double (*before)(const SimPlant* p);
    void (*observe)(const SimPlant* p, double* obs);
    double (*reward)(const SimPlant* p, const double* a, double before);
    int (*terminated)(const SimPlant* p);
};

/* ============================ Helpers =================================== */

static double uniform(Rng* rng, double lo, double hi) {
    return lo + (hi - lo) * rng_uniform_d(rng);
}

// Standard normal in double precision (Box-Muller on two fresh uniforms).
static double normal(Rng* rng) {
    double u1 = 1.0 - rng_uniform_d(rng);   // (0, 1]
    double u2 = rng_uniform_d(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double clip(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static double sumsq(const double* a, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += a[i] * a[i];
    return s;
}

static int all_finite(const double* x, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static double dt(const SimPlant* p) { return p->spec.control_dt; }

// qpos = qpos0 + U(-c, c); qvel = U(-c, c)  (Hopper, Walker2d, Swimmer, InvertedPendulum)
static void reset_uniform(SimPlant* p, Rng* rng, double c) {
    const mjModel* m = p->m;
    for (int i = 0; i < m->nq; i++) p->d->qpos[i] = m->qpos0[i] + uniform(rng, -c, c);
    for (int i = 0; i < m->nv; i++) p->d->qvel[i] = uniform(rng, -c, c);
}

// qpos = qpos0 + U(-c, c); qvel = c N(0, 1)  (HalfCheetah, Ant, InvertedDoublePendulum)
static void reset_uniform_normal(SimPlant* p, Rng* rng, double c) {
    const mjModel* m = p->m;
    for (int i = 0; i < m->nq; i++) p->d->qpos[i] = m->qpos0[i] + uniform(rng, -c, c);
    for (int i = 0; i < m->nv; i++) p->d->qvel[i] = c * normal(rng);
}

// obs = qpos[skip..nq), then qvel (clipped to +-vclip when vclip > 0).
static void observe_qpos_qvel(const SimPlant* p, double* obs, int skip, double vclip) {
    const mjModel* m = p->m;
    const mjData* d = p->d;
    int k = 0;
    for (int i = skip; i < m->nq; i++) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; i++) obs[k++] = vclip > 0 ? clip(d->qvel[i], -vclip, vclip) : d->qvel[i];
}

static double before_qpos0(const SimPlant* p) { return p->d->qpos[0]; }

static int never(const SimPlant* p) { return 0; }

/* ============================ HalfCheetah =============================== */

static void cheetah_reset(SimPlant* p, Rng* rng) { reset_uniform_normal(p, rng, 0.1); }
static void cheetah_observe(const SimPlant* p, double* obs) { observe_qpos_qvel(p, obs, 1, 0); }
static double cheetah_reward(const SimPlant* p, const double* a, double x0) {
    return (p->d->qpos[0] - x0) / dt(p) - 0.1 * sumsq(a, 6);
}

/* ============================ Hopper ==================================== */

static void hopper_reset(SimPlant* p, Rng* rng) { reset_uniform(p, rng, 5e-3); }
static void hopper_observe(const SimPlant* p, double* obs) { observe_qpos_qvel(p, obs, 1, 10.0); }
// v4: the healthy reward (1) is paid on every step, the terminating one included.
static double hopper_reward(const SimPlant* p, const double* a, double x0) {
    return (p->d->qpos[0] - x0) / dt(p) + 1.0 - 1e-3 * sumsq(a, 3);
}
static int hopper_terminated(const SimPlant* p) {
    const double* q = p->d->qpos;
    const double* v = p->d->qvel;
    for (int i = 2; i < 6; i++)
        if (!(fabs(q[i]) < 100.0)) return 1;
    for (int i = 0; i < 6; i++)
        if (!(fabs(v[i]) < 100.0)) return 1;
    return !(q[1] > 0.7 && fabs(q[2]) < 0.2);
}

/* ============================ Walker2d ================================== */

static void walker_observe(const SimPlant* p, double* obs) { observe_qpos_qvel(p, obs, 1, 10.0); }
static double walker_reward(const SimPlant* p, const double* a, double x0) {
    return (p->d->qpos[0] - x0) / dt(p) + 1.0 - 1e-3 * sumsq(a, 6);
}
static int walker_terminated(const SimPlant* p) {
    const double z = p->d->qpos[1], ang = p->d->qpos[2];
    return !(z > 0.8 && z < 2.0 && ang > -1.0 && ang < 1.0);
}

/* ============================ Ant ======================================= */

static void ant_reset(SimPlant* p, Rng* rng) { reset_uniform_normal(p, rng, 0.1); }
static void ant_observe(const SimPlant* p, double* obs) { observe_qpos_qvel(p, obs, 2, 0); }
// Forward position: torso xpos x as left by the last substep (one-substep lag).
static double ant_before(const SimPlant* p) { return p->d->xpos[3 * p->fwd_body]; }
static double ant_reward(const SimPlant* p, const double* a, double x0) {
    return (ant_before(p) - x0) / dt(p) + 1.0 - 0.5 * sumsq(a, 8);
}
static int ant_terminated(const SimPlant* p) {
    const mjModel* m = p->m;
    const double z = p->d->qpos[2];
    if (!all_finite(p->d->qpos, m->nq) || !all_finite(p->d->qvel, m->nv)) return 1;
    return !(z >= 0.2 && z <= 1.0);
}

/* ============================ InvertedPendulum ========================== */

static void ip_reset(SimPlant* p, Rng* rng) { reset_uniform(p, rng, 0.01); }
static void ip_observe(const SimPlant* p, double* obs) { observe_qpos_qvel(p, obs, 0, 0); }
static double ip_reward(const SimPlant* p, const double* a, double unused) { return 1.0; }
static int ip_terminated(const SimPlant* p) {
    double obs[4];
    ip_observe(p, obs);
    return !(all_finite(obs, 4) && fabs(obs[1]) <= 0.2);
}

/* ============================ InvertedDoublePendulum ==================== */

static void idp_reset(SimPlant* p, Rng* rng) { reset_uniform_normal(p, rng, 0.1); }
static void idp_observe(const SimPlant* p, double* obs) {
    const mjData* d = p->d;
    obs[0] = d->qpos[0];
    obs[1] = sin(d->qpos[1]);
    obs[2] = sin(d->qpos[2]);
    obs[3] = cos(d->qpos[1]);
    obs[4] = cos(d->qpos[2]);
    for (int i = 0; i < 3; i++) obs[5 + i] = clip(d->qvel[i], -10.0, 10.0);
    for (int i = 0; i < 3; i++) obs[8 + i] = clip(d->qfrc_constraint[i], -10.0, 10.0);
}
// 10 - (0.01 x_tip^2 + (z_tip - 2)^2) - (1e-3 qvel1^2 + 5e-3 qvel2^2), tip from site_xpos.
static double idp_reward(const SimPlant* p, const double* a, double unused) {
    const double* tip = p->d->site_xpos + 3 * p->tip_site;
    const double v1 = p->d->qvel[1], v2 = p->d->qvel[2];
    return 10.0 - (0.01 * tip[0] * tip[0] + (tip[2] - 2.0) * (tip[2] - 2.0))
           - (1e-3 * v1 * v1 + 5e-3 * v2 * v2);
}
static int idp_terminated(const SimPlant* p) { return p->d->site_xpos[3 * p->tip_site + 2] <= 1.0; }

/* ============================ Reacher =================================== */

static void reacher_reset(SimPlant* p, Rng* rng) {
    const mjModel* m = p->m;
    mjData* d = p->d;
    for (int i = 0; i < m->nq; i++) d->qpos[i] = m->qpos0[i] + uniform(rng, -0.1, 0.1);
    double gx, gy;
    do {   // target uniform in the disc of radius 0.2 (rejection from the square)
        gx = uniform(rng, -0.2, 0.2);
        gy = uniform(rng, -0.2, 0.2);
    } while (!(hypot(gx, gy) < 0.2));
    d->qpos[2] = gx;
    d->qpos[3] = gy;
    for (int i = 0; i < m->nv; i++) d->qvel[i] = uniform(rng, -0.005, 0.005);
    d->qvel[2] = d->qvel[3] = 0.0;
}
static void reacher_vec(const SimPlant* p, double* v) {
    const double* f = p->d->xpos + 3 * p->fwd_body;
    const double* t = p->d->xpos + 3 * p->target_body;
    for (int i = 0; i < 3; i++) v[i] = f[i] - t[i];
}
static void reacher_observe(const SimPlant* p, double* obs) {
    const mjData* d = p->d;
    obs[0] = cos(d->qpos[0]);
    obs[1] = cos(d->qpos[1]);
    obs[2] = sin(d->qpos[0]);
    obs[3] = sin(d->qpos[1]);
    obs[4] = d->qpos[2];
    obs[5] = d->qpos[3];
    obs[6] = d->qvel[0];
    obs[7] = d->qvel[1];
    reacher_vec(p, obs + 8);
}
// v4 measures the fingertip-target distance before the physics step.
static double reacher_before(const SimPlant* p) {
    double v[3];
    reacher_vec(p, v);
    return sqrt(sumsq(v, 3));
}
static double reacher_reward(const SimPlant* p, const double* a, double dist) {
    return -dist - sumsq(a, 2);
}

/* ============================ Swimmer =================================== */

static void swimmer_reset(SimPlant* p, Rng* rng) { reset_uniform(p, rng, 0.1); }
static void swimmer_observe(const SimPlant* p, double* obs) { observe_qpos_qvel(p, obs, 2, 0); }
static double swimmer_reward(const SimPlant* p, const double* a, double x0) {
    return (p->d->qpos[0] - x0) / dt(p) - 1e-4 * sumsq(a, 2);
}

/* ============================ Task table ================================ */

static const SimTask tasks[] = {
    {"half_cheetah", 17, 5, 1000, cheetah_reset, before_qpos0, cheetah_observe, cheetah_reward, never},
    {"hopper", 11, 4, 1000, hopper_reset, before_qpos0, hopper_observe, hopper_reward, hopper_terminated},
    {"walker2d", 17, 4, 1000, hopper_reset, before_qpos0, walker_observe, walker_reward, walker_terminated},
    {"ant", 27, 5, 1000, ant_reset, ant_before, ant_observe, ant_reward, ant_terminated},
    {"inverted_pendulum", 4, 2, 1000, ip_reset, NULL, ip_observe, ip_reward, ip_terminated},
    {"inverted_double_pendulum", 11, 5, 1000, idp_reset, NULL, idp_observe, idp_reward, idp_terminated},
    {"reacher", 11, 2, 50, reacher_reset, reacher_before, reacher_observe, reacher_reward, never},
    {"swimmer", 8, 4, 1000, swimmer_reset, before_qpos0, swimmer_observe, swimmer_reward, never},
    {"double_integrator", 2, 1, 200, NULL, NULL, NULL, NULL, NULL},   // analytic, below
};
#define NTASKS ((int)(sizeof tasks / sizeof tasks[0]))

static const char* const plant_names[] = {
    "half_cheetah", "hopper", "walker2d", "ant", "inverted_pendulum",
    "inverted_double_pendulum", "reacher", "swimmer", "double_integrator", NULL,
};

const char* const* sim_plant_names(void) { return plant_names; }

static int is_di(const SimPlant* p) { return p->m == NULL; }

/* ============================ Loading =================================== */

// MuJoCo 2.2 documents no thread safety for its XML compiler; plants may be
// created from several threads (control thread, learner), so loads are serialised.
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

// Load the MJCF of `name`: from $MAAC_MODEL_DIR/<name>.xml when set, else from the
// embedded copy through a one-file VFS. Call with load_lock held.
static mjModel* load_model(const char* name, MaacErr* reterr) {
    char err[512] = "";
    char path[1024];
    mjModel* m = NULL;
    const char* dir = getenv("MAAC_MODEL_DIR");
    if (dir && dir[0]) {
        snprintf(path, sizeof path, "%s/%s.xml", dir, name);
        m = mj_loadXML(path, NULL, err, sizeof err);
        if (!m) maac_err(reterr, -ENOENT, "sim: cannot load %s: %s", path, err);
        return m;
    }
    const char* xml = sim_model_xml(name);
    if (!xml) {
        maac_err(reterr, -ENOENT, "sim: no embedded model %s", name);
        return NULL;
    }
    mjVFS* vfs = malloc(sizeof *vfs);   // ~2 MB of name slots: not for the stack
    if (!vfs) {
        maac_err(reterr, -ENOMEM, "sim: out of memory");
        return NULL;
    }
    mj_defaultVFS(vfs);
    snprintf(path, sizeof path, "%s.xml", name);
    const int len = (int)strlen(xml);
    if (mj_makeEmptyFileVFS(vfs, path, len) == 0) {
        int i = mj_findFileVFS(vfs, path);
        memcpy(vfs->filedata[i], xml, len);
        m = mj_loadXML(path, vfs, err, sizeof err);
        if (!m) maac_err(reterr, -EINVAL, "sim: cannot load embedded %s: %s", name, err);
    } else {
        maac_err(reterr, -ENOMEM, "sim: VFS full");
    }
    mj_deleteVFS(vfs);
    free(vfs);
    return m;
}

/* ============================ API ======================================= */

SimPlant* sim_create(const char* name, MaacErr* reterr) {
    const SimTask* task = NULL;
    for (int i = 0; name && i < NTASKS; i++)
        if (!strcmp(tasks[i].name, name)) task = &tasks[i];
    if (!task) {
        maac_err(reterr, -ENOENT, "sim: unknown plant '%s'", name ? name : "(null)");
        return NULL;
    }
    SimPlant* p = calloc(1, sizeof *p);
    if (!p) {
        maac_err(reterr, -ENOMEM, "sim: out of memory");
        return NULL;
    }
    p->task = task;
    SimSpec* s = &p->spec;
    s->name = task->name;
    s->obs_dim = task->obs_dim;
    s->frame_skip = task->frame_skip;
    s->max_episode_steps = task->max_steps;
    if (!strcmp(name, "double_integrator")) {
        di_default(&p->di);
        s->act_dim = p->di.m;
        s->control_dt = p->di.dt;
        for (int i = 0; i < s->act_dim; i++) {   // informational: the plant never clamps
            s->act_low[i] = -5.0;
            s->act_high[i] = 5.0;
        }
        memcpy(p->di_s, p->di.mu0, sizeof p->di_s);
        return p;
    }
    pthread_mutex_lock(&load_lock);
    p->m = load_model(name, reterr);
    pthread_mutex_unlock(&load_lock);
    if (!p->m) goto fail;
    p->d = mj_makeData(p->m);
    if (!p->d) {
        maac_err(reterr, -ENOMEM, "sim: mj_makeData failed");
        goto fail;
    }
    const mjModel* m = p->m;
    s->act_dim = m->nu;
    s->control_dt = m->opt.timestep * task->frame_skip;
    if (m->nu > SIM_MAX_ACT) {
        maac_err(reterr, -EINVAL, "sim: %s has %d actuators (max %d)", name, m->nu, SIM_MAX_ACT);
        goto fail;
    }
    for (int i = 0; i < m->nu; i++) {
        s->act_low[i] = m->actuator_ctrlrange[2 * i];
        s->act_high[i] = m->actuator_ctrlrange[2 * i + 1];
    }
    p->fwd_body = p->target_body = p->tip_site = -1;
    if (!strcmp(name, "ant")) p->fwd_body = mj_name2id(m, mjOBJ_BODY, "torso");
    if (!strcmp(name, "reacher")) {
        p->fwd_body = mj_name2id(m, mjOBJ_BODY, "fingertip");
        p->target_body = mj_name2id(m, mjOBJ_BODY, "target");
        if (p->target_body < 0) goto missing;
    }
    if (!strcmp(name, "inverted_double_pendulum")) {
        p->tip_site = mj_name2id(m, mjOBJ_SITE, "tip");
        if (p->tip_site < 0) goto missing;
    }
    if ((!strcmp(name, "ant") || !strcmp(name, "reacher")) && p->fwd_body < 0) goto missing;
    mj_forward(p->m, p->d);
    return p;
missing:
    maac_err(reterr, -EINVAL, "sim: model %s lacks a body/site the task reads", name);
fail:
    sim_free(p);
    return NULL;
}

void sim_free(SimPlant* p) {
    if (!p) return;
    if (p->d) mj_deleteData(p->d);
    if (p->m) mj_deleteModel(p->m);
    free(p);
}

const SimSpec* sim_spec(const SimPlant* p) { return &p->spec; }

int sim_episode_steps(const SimPlant* p) { return p->steps; }

const struct mjModel_* sim_mj_model(const SimPlant* p) { return p->m; }

struct mjData_* sim_mj_data(SimPlant* p) { return p->d; }

int sim_observe(SimPlant* p, double* obs) {
    if (is_di(p)) {
        memcpy(obs, p->di_s, sizeof(double) * p->di.n);
        return 0;
    }
    p->task->observe(p, obs);
    return 0;
}

int sim_reset(SimPlant* p, uint64_t seed, double* obs) {
    Rng rng;
    rng_seed(&rng, seed);
    p->steps = 0;
    if (is_di(p)) {
        // s0 = mu0 + L z, L L^T = Sigma0 (Cholesky; Sigma0 PSD), z ~ N(0, I)
        const DiModel* m = &p->di;
        const int n = m->n;
        double L[DI_MAX_N * DI_MAX_N] = {0}, z[DI_MAX_N];
        for (int j = 0; j < n; j++) {
            double dsum = m->Sigma0[j * n + j];
            for (int k = 0; k < j; k++) dsum -= L[j * n + k] * L[j * n + k];
            L[j * n + j] = dsum > 0 ? sqrt(dsum) : 0.0;
            for (int i = j + 1; i < n; i++) {
                double v = m->Sigma0[i * n + j];
                for (int k = 0; k < j; k++) v -= L[i * n + k] * L[j * n + k];
                L[i * n + j] = L[j * n + j] > 0 ? v / L[j * n + j] : 0.0;
            }
        }
        for (int i = 0; i < n; i++) z[i] = normal(&rng);
        for (int i = 0; i < n; i++) {
            double v = m->mu0[i];
            for (int k = 0; k <= i; k++) v += L[i * n + k] * z[k];
            p->di_s[i] = v;
        }
        return sim_observe(p, obs);
    }
    mj_resetData(p->m, p->d);
    p->task->reset(p, &rng);
    mj_forward(p->m, p->d);
    return sim_observe(p, obs);
}

int sim_step(SimPlant* p, const double* action, double* obs, SimStepResult* ret) {
    const SimSpec* s = &p->spec;
    if (!all_finite(action, s->act_dim)) return -EINVAL;
    if (is_di(p)) {
        ret->reward = di_step(&p->di, p->di_s, p->di_s, action);
        ret->terminated = 0;
    } else {
        const SimTask* t = p->task;
        mjModel* m = p->m;
        mjData* d = p->d;
        const double before = t->before ? t->before(p) : 0.0;
        for (int i = 0; i < m->nu; i++) d->ctrl[i] = action[i];
        for (int k = 0; k < s->frame_skip; k++) mj_step(m, d);
        mj_rnePostConstraint(m, d);
        ret->reward = t->reward(p, action, before);
        ret->terminated = t->terminated(p);
    }
    p->steps++;
    ret->truncated = p->steps >= s->max_episode_steps;
    return sim_observe(p, obs);
}

int sim_step_checked(SimPlant* p, const double* action, int act_len, double* obs,
                     SimStepResult* ret) {
    if (!p || !action || !obs || !ret || act_len != p->spec.act_dim) return -EINVAL;
    return sim_step(p, action, obs, ret);
}
