// SPDX-License-Identifier: Apache-2.0
// sim.c (bench) -- plant env steps per second, and the wrapper's overhead over
// bare MuJoCo calls in the same run.
//
// For each MuJoCo plant: the same pre-drawn action sequence is run from the same
// reset state (a) through sim_step and (b) as bare calls on a second mjData of
// the same model: ctrl = action, mj_step x frame_skip, mj_rnePostConstraint —
// the physics an env step cannot avoid. Both follow the identical trajectory (no
// resets on termination), so the difference is the wrapper: action check,
// observation, reward, termination. Rounds alternate (a)/(b) and the best round
// of each counts, to damp noise from other processes. Goal: overhead <= 5%.
// Usage: bench_sim [steps_per_round (default 2000)] [rounds (default 5)]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mujoco/mujoco.h>

#include "core/rng.h"
#include "sim/sim.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char** argv) {
    const int steps = argc > 1 ? atoi(argv[1]) : 2000;
    const int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (steps <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_sim [steps_per_round] [rounds]\n");
        return 2;
    }
    printf("bench_sim: %d env steps per round, best of %d rounds\n", steps, rounds);
    printf("%-26s %12s %12s %10s %12s\n", "plant", "plant st/s", "bare st/s", "overhead", "substeps/s");
    for (const char* const* name = sim_plant_names(); *name; name++) {
        MaacErr err = {""};
        SimPlant* p = sim_create(*name, &err);
        if (!p) {
            fprintf(stderr, "%s: %s\n", *name, err.msg);
            return 1;
        }
        const SimSpec* s = sim_spec(p);
        double* acts = malloc(sizeof(double) * steps * s->act_dim);
        Rng rng;
        rng_seed(&rng, 1);
        for (int i = 0; i < steps * s->act_dim; i++) {
            const int k = i % s->act_dim;
            acts[i] = s->act_low[k] + (s->act_high[k] - s->act_low[k]) * rng_uniform_d(&rng);
        }
        double obs[SIM_MAX_OBS];
        SimStepResult res;
        double best_plant = INFINITY, best_bare = INFINITY;
        const mjModel* m = sim_mj_model(p);
        mjData* d = m ? mj_makeData(m) : NULL;
        double checksum = 0.0;
        for (int r = 0; r < rounds; r++) {
            sim_reset(p, 7, obs);
            double t0 = now();
            for (int t = 0; t < steps; t++) {
                sim_step(p, acts + t * s->act_dim, obs, &res);
                checksum += res.reward;
            }
            best_plant = fmin(best_plant, now() - t0);
            if (!d) continue;
            sim_reset(p, 7, obs);   // same start state for the bare run
            const mjData* pd = sim_mj_data(p);
            mj_resetData(m, d);
            memcpy(d->qpos, pd->qpos, sizeof(double) * m->nq);
            memcpy(d->qvel, pd->qvel, sizeof(double) * m->nv);
            mj_forward(m, d);
            t0 = now();
            for (int t = 0; t < steps; t++) {
                memcpy(d->ctrl, acts + t * s->act_dim, sizeof(double) * m->nu);
                for (int k = 0; k < s->frame_skip; k++) mj_step(m, d);
                mj_rnePostConstraint(m, d);
            }
            best_bare = fmin(best_bare, now() - t0);
            checksum += d->qpos[0];
        }
        const double plant_rate = steps / best_plant;
        if (d) {
            const double bare_rate = steps / best_bare;
            printf("%-26s %12.0f %12.0f %9.2f%% %12.0f\n", *name, plant_rate, bare_rate,
                   100.0 * (best_plant / best_bare - 1.0), bare_rate * s->frame_skip);
            mj_deleteData(d);
        } else {
            printf("%-26s %12.0f %12s %10s %12s\n", *name, plant_rate, "-", "-", "-");
        }
        if (!isfinite(checksum)) printf("  (non-finite checksum)\n");
        free(acts);
        sim_free(p);
    }
    return 0;
}
