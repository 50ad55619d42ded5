/* SPDX-License-Identifier: Apache-2.0 */
/* maacd/reward_plugin.h -- the C ABI of a reward and termination plugin for maacd and maac.
 *
 * A plugin is a shared object that tells the learner the task of a robot: the reward
 * r(s, a, s') with its gradients and, optionally, when an episode ends. The learner
 * then imagines with the true reward instead of learning it (docs/robots.md), and
 * CEM-MPC plans with it. Load it with
 *     maacd:  [plant] reward_plugin = /path/libmyreward.so
 *     maac:   maac train --reward-plugin /path/libmyreward.so ...
 * It exports one function, maacd_reward_plugin(), returning a table that lives as long
 * as the process (the object is never unloaded). At load the table is checked: ABI
 * version, widths equal to the plant's, and reward_backward against central finite
 * differences of reward at random points (states in [-check_range, check_range],
 * actions inside the plant's bounds); a plugin that fails is refused with the entry,
 * point and both values in the message.
 *
 * Conventions (all functions are batched over n rows and must be pure and thread-safe:
 * the learner calls them from several threads, the control loop from its real-time
 * thread, so no allocation, locks or I/O):
 *   s, s2: (n, obs_dim) row-major observations before / after the step, float32
 *   a:     (n, act_dim) actions, float32, inside the plant's action bounds
 *   reward:          r[i] = r(s_i, a_i, s2_i)
 *   reward_backward: ACCUMULATE: ds[i,:] += dr[i] * dr/ds, da[i,:] += dr[i] * dr/da,
 *                    ds2[i,:] += dr[i] * dr/ds'. Any of ds, da, ds2 may be NULL (skip it).
 *   terminated:      done[i] = 1.0f if s2_i is terminal (the robot fell), else 0.0f;
 *                    NULL when episodes only end by time limit.
 * Build: cc -O2 -fPIC -shared -o libmyreward.so myreward.c  (examples/reward_point_mass.c)
 */
#ifndef MAACD_REWARD_PLUGIN_H
#define MAACD_REWARD_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAACD_REWARD_PLUGIN_ABI 1
#define MAACD_REWARD_PLUGIN_SYMBOL "maacd_reward_plugin"

typedef struct MaacdRewardPlugin {
    uint32_t abi_version;   /* MAACD_REWARD_PLUGIN_ABI */
    uint32_t struct_size;   /* sizeof(MaacdRewardPlugin) as the plugin was built */
    const char* name;       /* for messages ("point_mass_reach") */
    int32_t obs_dim;        /* layout the functions expect; must equal the plant's */
    int32_t act_dim;
    float check_range;      /* |state| range of the load-time gradient check (0: 1.0) */
    void (*reward)(float* r, const float* s, const float* a, const float* s2, int n);
    void (*reward_backward)(float* ds, float* da, float* ds2, const float* dr,
                            const float* s, const float* a, const float* s2, int n);
    void (*terminated)(float* done, const float* s2, int n);   /* nullable */
} MaacdRewardPlugin;

/* The one symbol a plugin exports. */
const MaacdRewardPlugin* maacd_reward_plugin(void);

#ifdef __cplusplus
}
#endif

#endif
