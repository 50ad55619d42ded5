// SPDX-License-Identifier: Apache-2.0
// plant_plugin.c -- reward/termination plugins: dlopen, checks, attach (plant_plugin.h).
#include "sim/plant_plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "maacd/reward_plugin.h"

#define CHECK_POINTS 16
#define CHECK_SEED 0x706c7567696eULL

// Check the table against the plant: version, size, widths, functions present.
static int check_table(const MaacdRewardPlugin* t, const PlantModel* p, const char* path,
                       MaacErr* reterr) {
    if (t->abi_version != MAACD_REWARD_PLUGIN_ABI)
        return maac_err(reterr, -EPROTO, "reward plugin %s: ABI version %u, this build reads %d",
                        path, (unsigned)t->abi_version, MAACD_REWARD_PLUGIN_ABI);
    if (t->struct_size < sizeof(MaacdRewardPlugin))
        return maac_err(reterr, -EPROTO, "reward plugin %s: table of %u bytes, want %zu",
                        path, (unsigned)t->struct_size, sizeof(MaacdRewardPlugin));
    if (t->obs_dim != p->obs_dim || t->act_dim != p->act_dim)
        return maac_err(reterr, -EINVAL, "reward plugin %s: written for obs %d / action %d "
                        "entries, the plant '%s' has %d / %d", path, (int)t->obs_dim,
                        (int)t->act_dim, p->name, p->obs_dim, p->act_dim);
    if (!t->reward || !t->reward_backward)
        return maac_err(reterr, -EINVAL, "reward plugin %s: %s is NULL", path,
                        t->reward ? "reward_backward" : "reward");
    return 0;
}

int plant_plugin_load(const char* path, PlantModel* p, MaacErr* reterr) {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = dlerror();
        return maac_err(reterr, -ENOENT, "reward plugin: %s", e ? e : path);
    }
    const MaacdRewardPlugin* (*get)(void) = NULL;
    *(void**)&get = dlsym(h, MAACD_REWARD_PLUGIN_SYMBOL);
    const MaacdRewardPlugin* t = get ? get() : NULL;
    int r;
    if (!t) {
        r = maac_err(reterr, -EINVAL, "reward plugin %s: no %s() (or it returned NULL)", path,
                     MAACD_REWARD_PLUGIN_SYMBOL);
        goto fail;
    }
    if ((r = check_table(t, p, path, reterr)) != 0)
        goto fail;
    PlantModel m = *p;
    m.exact = 1;   // the plugin defines the task
    m.reward = t->reward;
    m.reward_backward = t->reward_backward;
    m.terminated = t->terminated;
    m.reward_source = "plugin";
    MaacErr ge = {""};
    float range = t->check_range > 0 ? t->check_range : 1.0f;
    if ((r = plant_check_gradients(&m, CHECK_POINTS, range, CHECK_SEED, &ge)) != 0) {
        r = maac_err(reterr, r, "reward plugin %s (%s) refused: %s", path,
                     t->name ? t->name : "?", ge.msg);
        goto fail;
    }
    *p = m;
    return 0;   // h stays open: p's function pointers point into it
fail:
    dlclose(h);
    return r;
}
