// SPDX-License-Identifier: Apache-2.0
// reward_point_mass.c -- an example reward plugin (include/maacd/reward_plugin.h): a 1-D
// point mass, observation [x, v], force in [-1, 1], that should come to rest at x = 1.
//
//   r(s, a, s') = -(x' - 1)^2 - 0.01 a^2      (x' = s'[0])
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
#define ACT_COST 0.01f

static void reward(float* r, const float* s, const float* a, const float* s2, int n) {
    (void)s;
    for (int i = 0; i < n; i++) {
        float e = s2[i * OBS] - TARGET;
        r[i] = -e * e - ACT_COST * a[i * ACT] * a[i * ACT];
    }
}

static void reward_backward(float* ds, float* da, float* ds2, const float* dr, const float* s,
                            const float* a, const float* s2, int n) {
    (void)s;
    (void)ds;   // r does not depend on s: nothing to add
    for (int i = 0; i < n; i++) {
        if (ds2) ds2[i * OBS] += dr[i] * -2.0f * (s2[i * OBS] - TARGET);
        if (da) da[i * ACT] += dr[i] * -2.0f * ACT_COST * a[i * ACT];
    }
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
