// SPDX-License-Identifier: Apache-2.0
// reward_plugin_bad.c -- test plugins that maacd must refuse (test_reward_plugin.c):
// built twice, with BAD_GRADIENT (dr/ds'[1] is twice what reward says) and with
// BAD_DIMS (declares 3 observation entries for the 2-entry point mass).
#include <stddef.h>

#include "maacd/reward_plugin.h"

#ifdef BAD_DIMS
#define OBS_DECLARED 3
#else
#define OBS_DECLARED 2
#endif

// r = -(x' - 1)^2 - v'^2 ; the gradient below gets d/dv' wrong by a factor 2.
static void reward(float* r, const float* s, const float* a, const float* s2, int n) {
    (void)s;
    (void)a;
    for (int i = 0; i < n; i++) {
        float e = s2[i * 2] - 1.0f, v = s2[i * 2 + 1];
        r[i] = -e * e - v * v;
    }
}

static void reward_backward(float* ds, float* da, float* ds2, const float* dr, const float* s,
                            const float* a, const float* s2, int n) {
    (void)s;
    (void)a;
    (void)ds;
    (void)da;
    for (int i = 0; ds2 && i < n; i++) {
        ds2[i * 2] += dr[i] * -2.0f * (s2[i * 2] - 1.0f);
        ds2[i * 2 + 1] += dr[i] * -4.0f * s2[i * 2 + 1];   // wrong: -2 v'
    }
}

static const MaacdRewardPlugin PLUGIN = {
    .abi_version = MAACD_REWARD_PLUGIN_ABI,
    .struct_size = sizeof(MaacdRewardPlugin),
    .name = "wrong",
    .obs_dim = OBS_DECLARED,
    .act_dim = 1,
    .reward = reward,
    .reward_backward = reward_backward,
};

const MaacdRewardPlugin* maacd_reward_plugin(void) { return &PLUGIN; }
