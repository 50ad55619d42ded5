// SPDX-License-Identifier: Apache-2.0
// plant_plugin.h -- load a reward/termination plugin (include/maacd/reward_plugin.h) into
// a PlantModel: dlopen, ABI and width checks, the finite-difference gradient check.
// Thread: start-up. Allocation: dlopen (the object stays loaded for the process).
#ifndef MAAC_PLANT_PLUGIN_H
#define MAAC_PLANT_PLUGIN_H

#include "core/plant.h"

// Load the plugin at path and make it p's reward and termination (replacing any
// built-in ones; p's widths and action bounds must be set). Refused (p unchanged) when
// the object cannot be loaded, lacks maacd_reward_plugin, has another ABI version or
// widths, or its gradients disagree with finite differences. 0 or -errno with reterr.
int plant_plugin_load(const char* path, PlantModel* p, MaacErr* reterr);

#endif
