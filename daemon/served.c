// SPDX-License-Identifier: Apache-2.0
// served.c -- the object the control thread serves (ServedPolicy, ctrl.h): freeing,
// version stamping, and validation before publication.
//
// served_validate is what stands between a policy file (or a learner snapshot) and
// the control loop: sizes, bounds, the plant recorded in the file, scratch within the
// loop's preallocation, and one trial inference for finite outputs.
// Thread: publishers (learner thread, ctl server), never the control thread.
// Allocation: served_validate (trial scratch); served_free frees.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctrl.h"

void served_free(void* p) {
    ServedPolicy* sp = p;
    if (!sp) return;
    cem_work_free(sp->cem);
    qf_free(sp->qf);
    ens_free(sp->ens);
    policy_free(sp->pi);
    free(sp);
}

void served_stamp(void* p, uint64_t version) {
    ServedPolicy* sp = p;
    sp->version = version;
    if (sp->pi) sp->pi->version = version;
}

int served_validate(const ServedPolicy* sp, const PlantInfo* plant, MaacErr* reterr) {
    const Policy* p = sp ? sp->pi : NULL;
    if (!p) return maac_err(reterr, -EINVAL, "no policy");
    if (p->obs_dim != plant->obs_dim || p->act_dim != plant->act_dim)
        return maac_err(reterr, -EINVAL, "policy is obs %d / action %d, plant '%s' is %d / %d",
                        p->obs_dim, p->act_dim, plant->name, plant->obs_dim, plant->act_dim);
    if (p->plant[0] && strcmp(p->plant, plant->name))
        return maac_err(reterr, -EINVAL, "policy was trained on '%s', this plant is '%s'",
                        p->plant, plant->name);
    for (int j = 0; j < p->act_dim; j++)
        if (fabsf(p->act_low[j] - plant->act_low[j]) > 1e-4f * (1 + fabsf(plant->act_low[j])) ||
            fabsf(p->act_high[j] - plant->act_high[j]) > 1e-4f * (1 + fabsf(plant->act_high[j])))
            return maac_err(reterr, -EINVAL,
                            "policy action bounds [%g, %g] differ from the plant's [%g, %g] (dim %d)",
                            p->act_low[j], p->act_high[j], plant->act_low[j], plant->act_high[j], j);
    long need = policy_act1_scratch_floats(p);
    if (need < 0 || need > CTRL_SCRATCH_FLOATS)
        return maac_err(reterr, -EINVAL, "policy too large for the control thread (%ld floats of "
                        "scratch, max %ld)", need, CTRL_SCRATCH_FLOATS);
    // one trial inference: finite weights give finite actions (this thread's own scratch)
    float* scratch = calloc((size_t)need + 1, sizeof(float));
    float obs[WIRE_MAX_OBS] = {0}, act[WIRE_MAX_ACT];
    if (!scratch) return maac_err(reterr, -ENOMEM, "out of memory");
    int r = policy_act1(p, obs, NULL, act, scratch);
    free(scratch);
    for (int j = 0; r == 0 && j < p->act_dim; j++)
        if (!isfinite(act[j])) r = -EDOM;
    if (r < 0) return maac_err(reterr, -EINVAL, "policy gives non-finite actions");
    return 0;
}
