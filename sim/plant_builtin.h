// SPDX-License-Identifier: Apache-2.0
// plant_builtin.h -- PlantModel values of the built-in plants (the MuJoCo tasks and the
// double integrator): widths, bounds and period from their SimSpec, reward and
// termination from sim/reward.c.
// Thread: any. Allocation: none.
#ifndef MAAC_PLANT_BUILTIN_H
#define MAAC_PLANT_BUILTIN_H

#include "core/plant.h"
#include "sim/sim.h"

// The PlantModel of a sim plant from its spec (reward and termination attached).
// 0 or -EINVAL (widths out of range).
int sim_plant_model(const SimSpec* spec, PlantModel* ret, MaacErr* reterr);
// The PlantModel of a built-in plant by name (creates the plant once to read its spec).
// 0, or -ENOENT / -EINVAL with reterr.
int sim_plant_model_by_name(const char* name, PlantModel* ret, MaacErr* reterr);
// Attach the built-in reward and termination of the plant named p->name when one exists
// with p's widths (a robot that says hello as "hopper" with hopper's layout). 1 when
// attached, 0 when there is none for that name and layout (p unchanged).
int sim_plant_attach_reward(PlantModel* p);

#endif
