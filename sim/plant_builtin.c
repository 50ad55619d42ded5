// SPDX-License-Identifier: Apache-2.0
// plant_builtin.c -- PlantModel values for the built-in plants (see plant_builtin.h).
#include "sim/plant_builtin.h"

#include <errno.h>

#include "sim/reward.h"

int sim_plant_attach_reward(PlantModel* p) {
    const SimRewardFn* f = sim_reward_fn(p->name);
    if (!f || f->obs_dim != p->obs_dim || f->act_dim != p->act_dim) return 0;
    p->exact = f->exact;
    p->reward = f->reward;
    p->reward_backward = f->reward_backward;
    p->terminated = f->terminated;
    p->reward_source = "builtin";
    return 1;
}

int sim_plant_model(const SimSpec* spec, PlantModel* ret, MaacErr* reterr) {
    int r = plant_init(ret, spec->name, spec->obs_dim, spec->act_dim, reterr);
    if (r) return r;
    ret->period = spec->control_dt;
    float lo[PLANT_MAX_ACT], hi[PLANT_MAX_ACT];
    for (int j = 0; j < spec->act_dim; j++) {
        lo[j] = (float)spec->act_low[j];
        hi[j] = (float)spec->act_high[j];
    }
    plant_set_bounds(ret, lo, hi);
    (void)sim_plant_attach_reward(ret);
    return 0;
}

int sim_plant_model_by_name(const char* name, PlantModel* ret, MaacErr* reterr) {
    SimPlant* sp = sim_create(name, reterr);
    if (!sp) return -ENOENT;
    int r = sim_plant_model(sim_spec(sp), ret, reterr);
    sim_free(sp);
    return r;
}
