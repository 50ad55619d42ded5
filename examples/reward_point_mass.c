// SPDX-License-Identifier: Apache-2.0
// reward_point_mass.c -- an example reward plugin (include/maacd/reward_plugin.h): a 1-D
// point mass, observation [x, v], force in [-1, 1], that should come to rest at x = 1.
//
//   r(s, a, s') = -(x' - 1)^2      (x' = s'[0]; the reward examples/point_mass_driver.py
//                                   reports, so the plugin is the plant's exact reward)
//   no termination (episodes end by time limit only)
//
// Build:  cc -O2 -fPIC -shared -I/usr/include -o libreward_point_mass.so reward_point_mass.c
// Use:    maacd: [plant] reward_plugin = /path/libreward_point_mass.so
//         maac:  --reward-plugin /path/libreward_point_mass.so
// The driver examples/point_mass_driver.py reports the same reward on the wire.
#include <stddef.h>

#include "maacd/reward_plugin.h"

#define OBS 2
#define ACT 1
#define TARGET 1.0f

static void reward(float* r, const float* s, const float* a, const float* s2, int n) {
    (void)s;
    (void)a;
    for (int i = 0; i < n; i++) {
        float e = s2[i * OBS] - TARGET;
        r[i] = -e * e;
    }
}

static void reward_backward(float* ds, float* da, float* ds2, const float* dr, const float* s,
                            const float* a, const float* s2, int n) {
    (void)s;
    (void)a;
    (void)ds;   // r depends on neither s nor a: nothing to add to ds, da
    (void)da;
    for (int i = 0; ds2 && i < n; i++) ds2[i * OBS] += dr[i] * -2.0f * (s2[i * OBS] - TARGET);
}

static const MaacdRewardPlugin PLUGIN = {
    .abi_version = MAACD_REWARD_PLUGIN_ABI,
    .struct_size = sizeof(MaacdRewardPlugin),
    .name = "point_mass_reach",
    .obs_dim = OBS,
    .act_dim = ACT,
    .check_range = 2.0f,
    .reward = reward,
    .reward_backward = reward_backward,
    .terminated = NULL,
};

const MaacdRewardPlugin* maacd_reward_plugin(void) { return &PLUGIN; }
