// SPDX-License-Identifier: Apache-2.0
// plant_config.h -- the served plant's model (core/plant.h), resolved once when the plant
// says hello: widths, bounds and period from the hello; the built-in reward of a plant
// of that name and layout; the [plant] reward plugin; the termination rule; the safe
// action and the safety limits. Also the learner settings sized to the plant (preset).
// Thread: main thread at start-up. Allocation: none (a plugin is dlopen'ed).
#ifndef MAAC_DAEMON_PLANT_CONFIG_H
#define MAAC_DAEMON_PLANT_CONFIG_H

#include "core/learner.h"
#include "daemon/config.h"
#include "daemon/ctrl.h"

// Resolve plant->model from the hello fields of plant and the configuration. 0, or
// -errno with reterr (a plugin refused, a bound list of the wrong length): the daemon
// then refuses to serve the plant.
int plant_config_resolve(const DaemonConfig* cfg, PlantInfo* plant, MaacErr* reterr);
// The plant's model: plant->model when resolved, else one built from the hello fields
// into *tmp (no reward or termination known). Returns the one to use.
const PlantModel* plant_config_model(const PlantInfo* plant, PlantModel* tmp);
// plant_config_resolve and log what is known of the plant's task (notice) or why it
// is refused (error). 0 or -errno.
int plant_config_start(const DaemonConfig* cfg, PlantInfo* plant);
// The learner's settings for the plant: its defaults, then the preset ([learner] preset,
// else learner_config_auto_preset for a plant without tuned defaults), then the seed and
// the other [learner] keys; logs the preset and the main sizes. 0 or -EINVAL with reterr.
int plant_config_learner(const DaemonConfig* cfg, const PlantInfo* plant, LearnerConfig* ret,
                         MaacErr* reterr);
// One line saying what the learner knows of the plant's task, for the log.
void plant_config_describe(const PlantModel* m, char* buf, int cap);

#endif
