// SPDX-License-Identifier: Apache-2.0
// reward.c -- differentiable r(s, a, s') and termination done(s') for each plant
// (reward.h), in the plants' observation layouts (sim.c, docs/plants.md "Per-task facts").
//
// Exact (equal to the plant's true reward up to float rounding):
//   inverted_pendulum  r = 1
//   reacher            r = -||s[8..10]|| - |a|^2   (v4 measures the distance before
//                      the step, so it is the CURRENT observation's vector)
//   double_integrator  r = -(s^T Q s + a^T R a)
// Approximate (the true reward needs the global x position, which the observation
// omits; docs/plants.md "What the observation gives"). The forward velocity (x_after - x_before)/dt, an average over
// the env step, is replaced by the mean of the observation's x velocity before and
// after the step (trapezoid rule), v = (s[iv] + s2[iv]) / 2:
//   half_cheetah  iv = 8    r = v - 0.1 |a|^2
//   hopper        iv = 5    r = v + 1 - 1e-3 |a|^2      (obs velocities clipped to +-10)
//   walker2d      iv = 8    r = v + 1 - 1e-3 |a|^2      (clipped to +-10)
//   ant           iv = 13   r = v + 1 - 0.5 |a|^2
//   swimmer       iv = 3    r = v - 1e-4 |a|^2
// The control costs and survive bonuses are exact, so the whole error is in v.
// The mean beats the end velocity s2[iv] on every plant; RMS errors of the reward
// measured on random-action rollouts (tests/test_sim_reward.c prints them):
//   plant         end velocity   mean    (RMS of the true reward)
//   half_cheetah  0.29           0.19    (0.83)
//   hopper        0.049          0.0041  (0.94)
//   walker2d      0.14           0.015   (0.57)
//   ant           0.21           0.083   (1.66)
//   swimmer       0.10           0.017   (0.35)
// (For half_cheetah, semi-implicit Euler, the true velocity is the mean of the 5
// post-substep velocities, docs/plants.md; the endpoints are all the obs offers.)
//   inverted_double_pendulum: r = 10 - 0.01 x^2 - (z - 2)^2 - 1e-3 w1^2 - 5e-3 w2^2
//   with the tip (x, z) from s2 (x = s2[0] + 0.6 sin q1 + 0.6 sin(q1 + q2),
//   z = 0.6 cos q1 + 0.6 cos(q1 + q2), sin/cos of the sum expanded from s2[1..4])
//   and w = s2[6..7]. The plant reads the tip one substep late and uses unclipped
//   velocities, so this is a close approximation (and so is its termination z <= 1).
// Terminations follow the MBPO-style static functions of docs/plants.md "What the observation gives".
//
// Gradients: reward_backward adds dr * dr/d(s, a, s') into ds, da, ds2 (any may be
// NULL). Forward-velocity terms give a constant gradient on the velocity entry.
#include "sim/reward.h"

#include <math.h>
#include <string.h>

#include "sim/double_integrator.h"

// r (B) -= w |a|^2 ; da += dr * (-2 w a)
static void ctrl_cost_forward(float* r, const float* a, float w, int B, int A) {
    for (int b = 0; b < B; b++) {
        float s = 0.0f;
        for (int i = 0; i < A; i++) s += a[b * A + i] * a[b * A + i];
        r[b] -= w * s;
    }
}
static void ctrl_cost_backward(float* da, const float* dr, const float* a, float w, int B, int A) {
    if (!da) return;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < A; i++) da[b * A + i] += dr[b] * (-2.0f * w * a[b * A + i]);
}

static int finite_row(const float* x, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static void never_done(float* done, const float* s2, int B) { memset(done, 0, sizeof(float) * B); }

/* ======================= Forward-velocity locomotion ===================== */
// r = wv * (c0 * s[iv] + c1 * s2[iv]) + alive - wc |a|^2

typedef struct {
    int obs_dim, act_dim, iv;   // iv: observation index of the x velocity
    float c0, c1;               // weights of s[iv] and s2[iv]
    float alive, wc;            // survive bonus, control-cost weight
} Loco;

static const Loco loco_cheetah = {17, 6, 8, 0.5f, 0.5f, 0.0f, 0.1f};
static const Loco loco_hopper = {11, 3, 5, 0.5f, 0.5f, 1.0f, 1e-3f};
static const Loco loco_walker = {17, 6, 8, 0.5f, 0.5f, 1.0f, 1e-3f};
static const Loco loco_ant = {27, 8, 13, 0.5f, 0.5f, 1.0f, 0.5f};
static const Loco loco_swimmer = {8, 2, 3, 0.5f, 0.5f, 0.0f, 1e-4f};

static void loco_forward(const Loco* L, float* r, const float* s, const float* a,
                         const float* s2, int B) {
    const int O = L->obs_dim;
    for (int b = 0; b < B; b++) r[b] = L->c0 * s[b * O + L->iv] + L->c1 * s2[b * O + L->iv] + L->alive;
    ctrl_cost_forward(r, a, L->wc, B, L->act_dim);
}
static void loco_backward(const Loco* L, float* ds, float* da, float* ds2, const float* dr,
                          const float* a, int B) {
    const int O = L->obs_dim;
    for (int b = 0; b < B; b++) {
        if (ds) ds[b * O + L->iv] += dr[b] * L->c0;
        if (ds2) ds2[b * O + L->iv] += dr[b] * L->c1;
    }
    ctrl_cost_backward(da, dr, a, L->wc, B, L->act_dim);
}

#define LOCO_FNS(tag, L)                                                                   \
    static void tag##_reward(float* r, const float* s, const float* a, const float* s2,    \
                             int B) {                                                      \
        loco_forward(&(L), r, s, a, s2, B);                                                \
    }                                                                                      \
    static void tag##_reward_backward(float* ds, float* da, float* ds2, const float* dr,   \
                                      const float* s, const float* a, const float* s2,     \
                                      int B) {                                             \
        loco_backward(&(L), ds, da, ds2, dr, a, B);                                        \
    }
LOCO_FNS(cheetah, loco_cheetah)
LOCO_FNS(hopper, loco_hopper)
LOCO_FNS(walker, loco_walker)
LOCO_FNS(ant, loco_ant)
LOCO_FNS(swimmer, loco_swimmer)

// Hopper: healthy iff finite, |s2[1:]| < 100, z > 0.7, |angle| < 0.2.
static void hopper_done(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float* o = s2 + b * 11;
        int ok = finite_row(o, 11) && o[0] > 0.7f && fabsf(o[1]) < 0.2f;
        for (int i = 1; ok && i < 11; i++) ok = fabsf(o[i]) < 100.0f;
        done[b] = ok ? 0.0f : 1.0f;
    }
}
// Walker2d: healthy iff 0.8 < z < 2 and -1 < angle < 1.
static void walker_done(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float z = s2[b * 17], ang = s2[b * 17 + 1];
        done[b] = (z > 0.8f && z < 2.0f && ang > -1.0f && ang < 1.0f) ? 0.0f : 1.0f;
    }
}
// Ant: healthy iff finite and 0.2 <= z <= 1.
static void ant_done(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float* o = s2 + b * 27;
        done[b] = (finite_row(o, 27) && o[0] >= 0.2f && o[0] <= 1.0f) ? 0.0f : 1.0f;
    }
}

/* ======================= InvertedPendulum =============================== */

static void ip_reward(float* r, const float* s, const float* a, const float* s2, int B) {
    for (int b = 0; b < B; b++) r[b] = 1.0f;
}
static void ip_reward_backward(float* ds, float* da, float* ds2, const float* dr,
                               const float* s, const float* a, const float* s2, int B) {}
static void ip_done(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float* o = s2 + b * 4;
        done[b] = (finite_row(o, 4) && fabsf(o[1]) <= 0.2f) ? 0.0f : 1.0f;
    }
}

/* ======================= InvertedDoublePendulum ========================= */
// s2 = [x, sin q1, sin q2, cos q1, cos q2, w0, w1, w2, f0, f1, f2]
// sin(q1+q2) = s1 c2 + c1 s2 ; cos(q1+q2) = c1 c2 - s1 s2
// xt = x + 0.6 s1 + 0.6 (s1 c2 + c1 s2) ; zt = 0.6 c1 + 0.6 (c1 c2 - s1 s2)
// r = 10 - 0.01 xt^2 - (zt - 2)^2 - 1e-3 w1^2 - 5e-3 w2^2

static void idp_reward(float* r, const float* s, const float* a, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float* o = s2 + b * 11;
        const float x = o[0], s1 = o[1], sn2 = o[2], c1 = o[3], c2 = o[4], w1 = o[6], w2 = o[7];
        const float xt = x + 0.6f * s1 + 0.6f * (s1 * c2 + c1 * sn2);
        const float zt = 0.6f * c1 + 0.6f * (c1 * c2 - s1 * sn2);
        r[b] = 10.0f - 0.01f * xt * xt - (zt - 2.0f) * (zt - 2.0f) - 1e-3f * w1 * w1 - 5e-3f * w2 * w2;
    }
}
static void idp_reward_backward(float* ds, float* da, float* ds2, const float* dr,
                                const float* s, const float* a, const float* s2, int B) {
    if (!ds2) return;
    for (int b = 0; b < B; b++) {
        const float* o = s2 + b * 11;
        float* g = ds2 + b * 11;
        const float x = o[0], s1 = o[1], sn2 = o[2], c1 = o[3], c2 = o[4], w1 = o[6], w2 = o[7];
        const float xt = x + 0.6f * s1 + 0.6f * (s1 * c2 + c1 * sn2);
        const float zt = 0.6f * c1 + 0.6f * (c1 * c2 - s1 * sn2);
        const float dxt = dr[b] * (-0.02f * xt);          // dr/dxt
        const float dzt = dr[b] * (-2.0f * (zt - 2.0f));  // dr/dzt
        g[0] += dxt;
        g[1] += dxt * (0.6f + 0.6f * c2) + dzt * (-0.6f * sn2);
        g[2] += dxt * (0.6f * c1) + dzt * (-0.6f * s1);
        g[3] += dxt * (0.6f * sn2) + dzt * (0.6f + 0.6f * c2);
        g[4] += dxt * (0.6f * s1) + dzt * (0.6f * c1);
        g[6] += dr[b] * (-2e-3f * w1);
        g[7] += dr[b] * (-1e-2f * w2);
    }
}
static void idp_done(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float* o = s2 + b * 11;
        const float zt = 0.6f * o[3] + 0.6f * (o[3] * o[4] - o[1] * o[2]);
        done[b] = zt <= 1.0f ? 1.0f : 0.0f;
    }
}

/* ======================= Reacher ======================================== */
// r = -||s[8..10]|| - |a|^2 ; d||v||/dv = v / ||v|| (0 at v = 0)

static void reacher_reward(float* r, const float* s, const float* a, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        const float* v = s + b * 11 + 8;
        r[b] = -sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    }
    ctrl_cost_forward(r, a, 1.0f, B, 2);
}
static void reacher_reward_backward(float* ds, float* da, float* ds2, const float* dr,
                                    const float* s, const float* a, const float* s2, int B) {
    if (ds)
        for (int b = 0; b < B; b++) {
            const float* v = s + b * 11 + 8;
            const float n = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            if (n > 0.0f)
                for (int i = 0; i < 3; i++) ds[b * 11 + 8 + i] += dr[b] * (-v[i] / n);
        }
    ctrl_cost_backward(da, dr, a, 1.0f, B, 2);
}

/* ======================= Double integrator ============================== */
// r = -(s^T Q s + a^T R a) on the pre-step state (double_integrator.h defaults).

static void di_reward(float* r, const float* s, const float* a, const float* s2, int B) {
    DiModel m;
    di_default(&m);
    for (int b = 0; b < B; b++) {
        double sd[DI_MAX_N], ad[DI_MAX_M], nx[DI_MAX_N];
        for (int i = 0; i < m.n; i++) sd[i] = s[b * m.n + i];
        for (int i = 0; i < m.m; i++) ad[i] = a[b * m.m + i];
        r[b] = (float)di_step(&m, nx, sd, ad);
    }
}
static void di_reward_bwd(float* ds, float* da, float* ds2, const float* dr,
                          const float* s, const float* a, const float* s2, int B) {
    DiModel m;
    di_default(&m);
    for (int b = 0; b < B; b++) {
        double sd[DI_MAX_N], ad[DI_MAX_M], gs[DI_MAX_N] = {0}, ga[DI_MAX_M] = {0};
        for (int i = 0; i < m.n; i++) sd[i] = s[b * m.n + i];
        for (int i = 0; i < m.m; i++) ad[i] = a[b * m.m + i];
        di_reward_backward(&m, gs, ga, dr[b], sd, ad);
        if (ds)
            for (int i = 0; i < m.n; i++) ds[b * m.n + i] += (float)gs[i];
        if (da)
            for (int i = 0; i < m.m; i++) da[b * m.m + i] += (float)ga[i];
    }
}

/* ======================= Table ========================================== */

static const SimRewardFn reward_fns[] = {
    {"half_cheetah", 17, 6, 0, cheetah_reward, cheetah_reward_backward, never_done},
    {"hopper", 11, 3, 0, hopper_reward, hopper_reward_backward, hopper_done},
    {"walker2d", 17, 6, 0, walker_reward, walker_reward_backward, walker_done},
    {"ant", 27, 8, 0, ant_reward, ant_reward_backward, ant_done},
    {"inverted_pendulum", 4, 1, 1, ip_reward, ip_reward_backward, ip_done},
    {"inverted_double_pendulum", 11, 1, 0, idp_reward, idp_reward_backward, idp_done},
    {"reacher", 11, 2, 1, reacher_reward, reacher_reward_backward, never_done},
    {"swimmer", 8, 2, 0, swimmer_reward, swimmer_reward_backward, never_done},
    {"double_integrator", 2, 1, 1, di_reward, di_reward_bwd, never_done},
};

const SimRewardFn* sim_reward_fn(const char* plant) {
    if (!plant) return NULL;
    for (unsigned i = 0; i < sizeof reward_fns / sizeof reward_fns[0]; i++)
        if (!strcmp(reward_fns[i].plant, plant)) return &reward_fns[i];
    return NULL;
}
