// SPDX-License-Identifier: Apache-2.0
// sim.h -- the plant interface: MuJoCo tasks equal to Gymnasium's v4 MuJoCo
// environments (docs/plants.md) and the double integrator, behind one API.
//
// A SimPlant is one running environment (model + data + episode counters).
// Observations and actions are doubles at this boundary (MuJoCo's precision);
// the learner converts to float. sim_step never steps a bad action: a NaN/Inf
// entry returns -EINVAL and leaves the state untouched.
// Thread: one SimPlant per thread. Allocation: sim_create only.
#ifndef MAAC_SIM_H
#define MAAC_SIM_H

#include <stdint.h>

#include "core/err.h"

#define SIM_MAX_OBS 128
#define SIM_MAX_ACT 32

typedef struct {
    const char* name;          // "half_cheetah", "hopper", ..., "double_integrator"
    int obs_dim;               // observation width
    int act_dim;               // action width
    double control_dt;         // seconds per env step (timestep * frame_skip)
    int frame_skip;            // physics substeps per env step (1 for analytic plants)
    int max_episode_steps;     // TimeLimit truncation (1000, Reacher 50)
    double act_low[SIM_MAX_ACT];   // action bounds (actuator ctrlrange)
    double act_high[SIM_MAX_ACT];
} SimSpec;

typedef struct {
    double reward;      // the task's true reward for this transition
    int terminated;     // health check failed on the post-step state
    int truncated;      // episode reached max_episode_steps (not a terminal state)
} SimStepResult;

typedef struct SimPlant SimPlant;

// Names of every plant, NULL-terminated.
const char* const* sim_plant_names(void);
// Create a plant by name. Returns NULL with reterr filled on unknown name or load failure.
// Nullable: reterr.
SimPlant* sim_create(const char* name, MaacErr* reterr);
// Free. Nullable: p.
void sim_free(SimPlant* p);
// Static description of the plant.
const SimSpec* sim_spec(const SimPlant* p);
// Start an episode from the task's reset distribution drawn with seed; writes obs (obs_dim).
int sim_reset(SimPlant* p, uint64_t seed, double* obs);
// Apply action (act_dim) for one env step; writes obs (obs_dim) and ret.
// Returns 0, or -EINVAL (wrong values: NaN/Inf) without stepping.
int sim_step(SimPlant* p, const double* action, double* obs, SimStepResult* ret);
// Steps taken in the current episode.
int sim_episode_steps(const SimPlant* p);

//---- Additions (sim.c) ----

// sim_step with the caller's action length: -EINVAL (nothing stepped) when
// act_len != act_dim or an entry is NaN/Inf. For actions that arrive from outside
// (wire messages) whose length is not known to match.
int sim_step_checked(SimPlant* p, const double* action, int act_len, double* obs,
                     SimStepResult* ret);

// The MuJoCo model and data behind a plant, for tests, benchmarks and tools that
// set a state directly (write qpos/qvel, then mj_forward). NULL for analytic plants
// (double_integrator).
struct mjModel_;
struct mjData_;
const struct mjModel_* sim_mj_model(const SimPlant* p);
struct mjData_* sim_mj_data(SimPlant* p);

// Recompute the observation of the current state (after a direct state write).
int sim_observe(SimPlant* p, double* obs);

#endif
