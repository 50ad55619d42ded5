// SPDX-License-Identifier: Apache-2.0
// learner_ckpt.c -- full learner checkpoints: policy, twin Qs, target Qs, ensemble.
//
// A checkpoint of kind "learner" (ckpt.h format) with the networks
//   "policy"      the deployed policy (learner_deploy_policy: the weight average when
//                 policy_avg_tau > 0; policy_to_ckpt, so policy_load-compatible fields too)
//   "qf"          twin Qs; "qf_target" their target copies
//   "ensemble"    the dynamics ensemble (input normalisation inside the Mlp)
//   "ens_target_norm"  a 1-layer placeholder net whose in_mean / in_std hold the
//                 ensemble's target normalisation (target_mean, target_std)
// and metadata obs_dim, act_dim, plant, env_steps, learn_reward, n_elites,
// elites ("0,3,1,..."), alpha. This is what `maac eval --mpc` needs to plan with CEM;
// optimiser moments and replay buffers are not saved (no exact resume).
// Thread: learner (save), any (load). Allocation: the loaded objects.
#include "core/learner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int learner_save(const Learner* l, const char* path, MaacErr* reterr) {
    const Policy* pi = learner_deploy_policy(l);
    const QFunction* qf = learner_qf(l);
    const QFunction* qt = learner_qf_target(l);
    const Ensemble* e = learner_ensemble(l);
    const LearnerConfig* c = learner_config(l);
    LearnerStats st;
    learner_stats(l, &st);
    int sizes[2] = {e->n_out, 1};
    Mlp* norm = mlp_create(1, 1, sizes, NN_ACT_LINEAR, MLP_HEAD_LINEAR);
    if (!norm)
        return maac_err(reterr, -ENOMEM, "out of memory");
    memcpy(norm->in_mean, e->target_mean, (size_t)e->n_out * sizeof(float));
    memcpy(norm->in_std, e->target_std, (size_t)e->n_out * sizeof(float));
    Ckpt ck;
    ckpt_init(&ck, "learner");
    char elites[CKPT_STR_LEN] = "";
    size_t used = 0;
    for (int i = 0; i < e->n_elites && used + 8 < sizeof(elites); i++)
        used += (size_t)snprintf(elites + used, sizeof(elites) - used, i ? ",%d" : "%d",
                                 e->elites[i]);
    int r = policy_to_ckpt(pi, &ck);
    if (r == 0) r = ckpt_add_net(&ck, "qf", qf->net);
    if (r == 0) r = ckpt_add_net(&ck, "qf_target", qt->net);
    if (r == 0) r = ckpt_add_net(&ck, "ensemble", e->net);
    if (r == 0) r = ckpt_add_net(&ck, "ens_target_norm", norm);
    if (r == 0) r = ckpt_set_str(&ck, "kind_detail", "maac learner (policy, qf, ensemble)");
    if (r == 0) r = ckpt_set_num(&ck, "learn_reward", e->learn_reward);
    if (r == 0) r = ckpt_set_num(&ck, "n_elites", e->n_elites);
    if (r == 0) r = ckpt_set_str(&ck, "elites", elites);
    if (r == 0) r = ckpt_set_num(&ck, "env_steps", (double)st.env_steps);
    if (r == 0) r = ckpt_set_num(&ck, "alpha", st.alpha);
    if (r == 0) r = ckpt_set_str(&ck, "learner_plant", c->plant);
    if (r != 0) {
        mlp_free(norm);
        return maac_err(reterr, r, "building the learner checkpoint failed (%d)", r);
    }
    r = ckpt_write(path, &ck, reterr);
    mlp_free(norm);
    return r;
}

// Hidden widths of an Mlp (n_layers - 1 of them) into hidden; returns their count.
static int hidden_of(const Mlp* m, int* hidden) {
    for (int i = 0; i + 1 < m->n_layers; i++)
        hidden[i] = m->sizes[i + 1];
    return m->n_layers - 1;
}

int learner_ckpt_load(const char* path, Policy** ret_pi, QFunction** ret_qf,
                      Ensemble** ret_ens, MaacErr* reterr) {
    Ckpt ck;
    int r = ckpt_read(path, &ck, reterr);
    if (r != 0)
        return r;
    Policy* pi = NULL;
    QFunction* qf = NULL;
    Ensemble* ens = NULL;
    Rng rng;
    rng_seed(&rng, 0);
    int hidden[MLP_MAX_LAYERS];
    if (strcmp(ck.kind, "learner") != 0) {
        r = maac_err(reterr, -EINVAL, "%s: checkpoint kind '%s', want 'learner'", path, ck.kind);
        goto out;
    }
    pi = policy_from_ckpt(&ck, reterr);
    if (!pi) {
        r = -EINVAL;
        goto out;
    }
    const Mlp* qn = ckpt_net(&ck, "qf");
    const Mlp* en = ckpt_net(&ck, "ensemble");
    const Mlp* nn = ckpt_net(&ck, "ens_target_norm");
    double learn_reward = 0, n_elites = 0;
    const char* elites = "";
    if (!qn || !en || !nn || ckpt_get_num(&ck, "learn_reward", &learn_reward) ||
        ckpt_get_num(&ck, "n_elites", &n_elites) || ckpt_get_str(&ck, "elites", &elites)) {
        r = maac_err(reterr, -EINVAL, "%s: learner checkpoint lacks qf/ensemble fields", path);
        goto out;
    }
    int S = pi->obs_dim, A = pi->act_dim;
    int nh = hidden_of(qn, hidden);
    qf = qf_create(S, A, nh, hidden, qn->hidden_act, &rng);
    if (!qf || !mlp_same_shape(qf->net, qn)) {
        r = maac_err(reterr, -EINVAL, "%s: qf network has an unexpected shape", path);
        goto out;
    }
    mlp_copy(qf->net, qn);
    nh = hidden_of(en, hidden);
    ens = ens_create(S, A, en->n_members, nh, nh > 0 ? hidden[0] : 1, en->hidden_act,
                     learn_reward != 0, &rng);
    if (!ens || !mlp_same_shape(ens->net, en) || nn->n_in != ens->n_out) {
        r = maac_err(reterr, -EINVAL, "%s: ensemble network has an unexpected shape", path);
        goto out;
    }
    mlp_copy(ens->net, en);
    memcpy(ens->target_mean, nn->in_mean, (size_t)ens->n_out * sizeof(float));
    memcpy(ens->target_std, nn->in_std, (size_t)ens->n_out * sizeof(float));
    ens->n_elites = 0;
    for (const char* p = elites; *p && ens->n_elites < ENS_MAX_MEMBERS;) {
        char* end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= en->n_members) {
            r = maac_err(reterr, -EINVAL, "%s: bad elites list '%s'", path, elites);
            goto out;
        }
        ens->elites[ens->n_elites++] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    if (ens->n_elites < 1 || ens->n_elites != (int)n_elites) {
        r = maac_err(reterr, -EINVAL, "%s: bad elites list '%s'", path, elites);
        goto out;
    }
    *ret_pi = pi;
    *ret_qf = qf;
    *ret_ens = ens;
    pi = NULL;
    qf = NULL;
    ens = NULL;
    r = 0;
out:
    policy_free(pi);
    qf_free(qf);
    ens_free(ens);
    ckpt_done(&ck);
    return r;
}
