// SPDX-License-Identifier: Apache-2.0
// learner_state.c -- the complete learner state for exact resume (kind "learner_state").
//
// learner_state_save writes every field of the Learner that carries over from one
// learner_train_step to the next; learner_state_load builds a learner from the saved
// (resolved) settings and restores them, so that the loaded learner and one that was
// never interrupted, given the same transitions and calls, stay bit-identical. What
// is saved (docs/checkpoint-format.md, "learner_state"):
//   networks  "pi", "qf", "qf_target", "ensemble" (with its input normalisation), and
//             "pi_avg" (the averaged policy) when policy_avg_tau > 0
//   blobs     "config" (learner_config_print text), "act_bounds", "rng" (five
//             xoshiro states), "ens_target" (target mean | std), "elites", the first
//             and second moments of the four Adams ("adam_pi.m", ".v", "adam_q.*",
//             "adam_ens.*", "adam_alpha.*"), and the used slots [0, size) of the five
//             arrays of D_env and D_model in slot order ("d_env.obs", ...): slot order,
//             not age order, because sampling and the model fit index slots.
//   meta      dimensions, Adam step counts, log_alpha, buffer size/head/total/capacity,
//             d_model_k, version, last_fit_step, last_refresh_step, LearnerStats, and
//             up to LEARNER_STATE_MAX_EXTRA caller numbers under "x.<key>".
// Not saved because every step rebuilds it: work buffers, batches, the ensemble
// trainer's data arrays and its `best` snapshot (ens_train seeds it from the
// parameters at its start), the actor's and STEVE's noise buffers.
// Blobs are the host's bytes: little-endian hosts only (a big-endian build refuses).
// Thread: learner (save), any (load). Allocation: save (the config text), load (all).
#include "core/learner.h"
#include "core/learner_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_KIND "learner_state"
#define STATE_VERSION 1

// ---- extra numbers ----------------------------------------------------------------

int learner_state_extra_set(LearnerStateExtra* x, const char* key, double v) {
    for (int i = 0; i < x->n; i++)
        if (strcmp(x->key[i], key) == 0) {
            x->val[i] = v;
            return 0;
        }
    if (x->n >= LEARNER_STATE_MAX_EXTRA || !key[0] || strlen(key) >= sizeof(x->key[0]))
        return -ENOSPC;
    snprintf(x->key[x->n], sizeof(x->key[0]), "%s", key);
    x->val[x->n++] = v;
    return 0;
}

double learner_state_extra_get(const LearnerStateExtra* x, const char* key, double dflt) {
    for (int i = 0; x && i < x->n; i++)
        if (strcmp(x->key[i], key) == 0)
            return x->val[i];
    return dflt;
}

// ---- saving -------------------------------------------------------------------------

static int add_adam(Ckpt* ck, const char* name, const Adam* a) {
    char key[CKPT_NAME_LEN];
    int r;
    snprintf(key, sizeof(key), "%s.m", name);
    if ((r = ckpt_add_blob(ck, key, a->m, (size_t)a->n * sizeof(float))) != 0)
        return r;
    snprintf(key, sizeof(key), "%s.v", name);
    if ((r = ckpt_add_blob(ck, key, a->v, (size_t)a->n * sizeof(float))) != 0)
        return r;
    snprintf(key, sizeof(key), "%s.t", name);
    return ckpt_set_num(ck, key, (double)a->t);
}

// Add a replay buffer's used rows; empty = 1 saves it with no rows (same capacity).
static int add_replay(Ckpt* ck, const char* name, const ReplayBuffer* rb, int empty) {
    const size_t n = empty ? 0 : (size_t)rb->size, S = (size_t)rb->obs_dim,
                 A = (size_t)rb->act_dim;
    const struct {
        const char* part;
        const float* p;
        size_t floats;
    } parts[5] = {{"obs", rb->obs, n * S}, {"act", rb->act, n * A}, {"rew", rb->rew, n},
                  {"next_obs", rb->next_obs, n * S}, {"done", rb->done, n}};
    char key[CKPT_NAME_LEN];
    int r = 0;
    for (int i = 0; i < 5 && r == 0; i++) {
        snprintf(key, sizeof(key), "%s.%s", name, parts[i].part);
        r = ckpt_add_blob(ck, key, parts[i].p, parts[i].floats * sizeof(float));
    }
    const struct {
        const char* what;
        long v;
    } nums[4] = {{"size", (long)n}, {"head", empty ? 0 : rb->head},
                 {"total", empty ? 0 : rb->total_added}, {"capacity", rb->capacity}};
    for (int i = 0; i < 4 && r == 0; i++) {
        snprintf(key, sizeof(key), "%s.%s", name, nums[i].what);
        r = ckpt_set_num(ck, key, (double)nums[i].v);
    }
    return r;
}

// The settings as INI text (learner_config_print) into *ret_text (malloc'd; the
// caller frees it). 0 or -ENOMEM.
static int config_text(const Learner* l, char** ret_text, size_t* ret_len, MaacErr* reterr) {
    char* text = NULL;
    size_t text_len = 0;
    FILE* mf = open_memstream(&text, &text_len);
    if (!mf)
        return maac_err(reterr, -ENOMEM, "learner state: out of memory");
    learner_config_print(&l->cfg, mf);
    if (fclose(mf) != 0 || !text) {
        free(text);
        return maac_err(reterr, -ENOMEM, "learner state: out of memory");
    }
    *ret_text = text;
    *ret_len = text_len;
    return 0;
}

// Build the state checkpoint; written to path, or (path NULL) encoded into *ret_buf.
static int state_out(const Learner* l, const LearnerStateExtra* extra, int flags,
                     const char* path, char** ret_buf, size_t* ret_len, MaacErr* reterr) {
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return maac_err(reterr, -ENOTSUP, "learner state: little-endian hosts only");
#endif
    char* text = NULL;
    size_t text_len = 0;
    if (config_text(l, &text, &text_len, reterr) != 0)
        return -ENOMEM;
    Ckpt* ck = malloc(sizeof(*ck));
    if (!ck) {
        free(text);
        return maac_err(reterr, -ENOMEM, "learner state: out of memory");
    }
    ckpt_init(ck, STATE_KIND);
    const Rng rngs[5] = {l->rng, l->act_rng, l->actor_rng, l->critic_rng[0], l->critic_rng[1]};
    float bounds[2 * POLICY_MAX_ACT];
    memcpy(bounds, l->act_low, (size_t)l->A * sizeof(float));
    memcpy(bounds + l->A, l->act_high, (size_t)l->A * sizeof(float));
    int32_t elites[ENS_MAX_MEMBERS];
    for (int i = 0; i < ENS_MAX_MEMBERS; i++)
        elites[i] = l->ens->elites[i];
    const Ensemble* e = l->ens;
    const LearnerStats* st = &l->st;
    int r = ckpt_add_net(ck, "pi", l->pi->net);
    if (r == 0) r = ckpt_add_net(ck, "qf", l->qf->net);
    if (r == 0) r = ckpt_add_net(ck, "qf_target", l->qf_targ->net);
    if (r == 0 && l->pi_avg) r = ckpt_add_net(ck, "pi_avg", l->pi_avg->net);
    if (r == 0) r = ckpt_add_net(ck, "ensemble", e->net);
    if (r == 0) r = ckpt_add_blob(ck, "config", text, text_len);
    if (r == 0) r = ckpt_add_blob(ck, "act_bounds", bounds, 2 * (size_t)l->A * sizeof(float));
    if (r == 0) r = ckpt_add_blob(ck, "rng", rngs, sizeof(rngs));
    if (r == 0) r = ckpt_add_blob(ck, "ens_target_mean", e->target_mean, (size_t)e->n_out * 4);
    if (r == 0) r = ckpt_add_blob(ck, "ens_target_std", e->target_std, (size_t)e->n_out * 4);
    if (r == 0) r = ckpt_add_blob(ck, "elites", elites, sizeof(elites));
    if (r == 0) r = add_adam(ck, "adam_pi", l->opt_pi);
    if (r == 0) r = add_adam(ck, "adam_q", l->opt_q);
    if (r == 0) r = add_adam(ck, "adam_ens", ens_trainer_adam(l->ens_tr));
    if (r == 0 && l->alpha.opt) r = add_adam(ck, "adam_alpha", l->alpha.opt);
    const int no_model = (flags & LEARNER_STATE_NO_D_MODEL) != 0;
    if (r == 0) r = add_replay(ck, "d_env", l->d_env, 0);
    if (r == 0) r = add_replay(ck, "d_model", l->d_model, no_model);
    const struct {
        const char* key;
        double v;
    } nums[] = {
        {"state_version", STATE_VERSION}, {"obs_dim", l->S}, {"act_dim", l->A},
        {"n_elites", e->n_elites}, {"log_alpha", l->alpha.log_alpha},
        {"d_model_k", l->d_model_k}, {"version", (double)l->version},
        {"last_fit_step", (double)l->last_fit_step},
        {"last_refresh_step", no_model ? -1.0 : (double)l->last_refresh_step},
        {"env_steps", (double)st->env_steps}, {"updates", (double)st->updates},
        {"train_steps", (double)l->train_steps},
        {"model_fits", st->model_fits}, {"model_refreshes", st->model_refreshes},
        {"rollout_len", st->rollout_len}, {"q_loss", st->q_loss}, {"pi_loss", st->pi_loss},
        {"model_holdout_mse", st->model_holdout_mse}, {"t_model", st->t_model},
        {"t_policy", st->t_policy}, {"t_q", st->t_q}, {"t_rollout", st->t_rollout},
        {"t_updates", st->t_updates},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]) && r == 0; i++)
        r = ckpt_set_num(ck, nums[i].key, nums[i].v);
    for (int i = 0; extra && i < extra->n && r == 0; i++) {
        char key[CKPT_NAME_LEN];
        snprintf(key, sizeof(key), "x.%s", extra->key[i]);
        r = ckpt_set_num(ck, key, extra->val[i]);
    }
    if (r != 0)
        r = maac_err(reterr, r, "learner state: building the checkpoint failed (%d)", r);
    else if (path)
        r = ckpt_write(path, ck, reterr);
    else
        r = ckpt_encode(ck, ret_buf, ret_len, reterr);
    free(ck);   // borrowed networks and blobs: nothing else to free
    free(text);
    return r;
}

int learner_state_save_ex(const Learner* l, const LearnerStateExtra* extra, const char* path,
                          MaacErr* reterr) {
    return state_out(l, extra, 0, path, NULL, NULL, reterr);
}

int learner_state_encode(const Learner* l, const LearnerStateExtra* extra, int flags,
                         char** ret_buf, size_t* ret_len, MaacErr* reterr) {
    return state_out(l, extra, flags, NULL, ret_buf, ret_len, reterr);
}

int learner_state_save(const Learner* l, const char* path, MaacErr* reterr) {
    return learner_state_save_ex(l, NULL, path, reterr);
}

// ---- loading ------------------------------------------------------------------------

// Parse the "key = value" lines of a learner_config_print text into cfg; the result
// must print back to exactly the same text (every field present, nothing lost).
static int parse_config(const char* text, size_t len, LearnerConfig* cfg, MaacErr* reterr) {
    if (len == 0 || len > 65536 || memchr(text, '\0', len))
        return maac_err(reterr, -EINVAL, "bad config text");
    char* buf = malloc(len + 1);
    if (!buf)
        return maac_err(reterr, -ENOMEM, "out of memory");
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(cfg, 0, sizeof(*cfg));
    learner_config_default(cfg, "");
    int r = 0;
    for (char* line = buf; r == 0 && line && *line;) {
        char* nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char* eq = strstr(line, " = ");
        if (!eq) {
            r = maac_err(reterr, -EINVAL, "config line without ' = ': '%.40s'", line);
            break;
        }
        *eq = '\0';
        MaacErr me = {""};
        if (learner_config_set(cfg, line, eq + 3, &me) != 0)
            r = maac_err(reterr, -EINVAL, "config: %s", me.msg);
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    if (r != 0)
        return r;
    char* back = NULL;
    size_t back_len = 0;
    FILE* mf = open_memstream(&back, &back_len);
    if (!mf)
        return maac_err(reterr, -ENOMEM, "out of memory");
    learner_config_print(cfg, mf);
    fclose(mf);
    if (!back || back_len != len || memcmp(back, text, len) != 0)
        r = maac_err(reterr, -EINVAL, "saved settings differ from this build's (missing or "
                                      "extra fields)");
    free(back);
    return r;
}

static int get_long(const Ckpt* ck, const char* key, long lo, long hi, long* ret,
                    MaacErr* reterr) {
    double v;
    if (ckpt_get_num(ck, key, &v) != 0)
        return maac_err(reterr, -EINVAL, "missing number '%s'", key);
    if (!(v >= (double)lo && v <= (double)hi) || v != (double)(long)v)
        return maac_err(reterr, -EINVAL, "'%s' = %g out of [%ld, %ld]", key, v, lo, hi);
    *ret = (long)v;
    return 0;
}

static int get_dbl(const Ckpt* ck, const char* key, double* ret, MaacErr* reterr) {
    if (ckpt_get_num(ck, key, ret) != 0)
        return maac_err(reterr, -EINVAL, "missing number '%s'", key);
    return 0;
}

static const void* get_blob(const Ckpt* ck, const char* key, size_t want, MaacErr* reterr) {
    size_t len = 0;
    const void* p = ckpt_blob(ck, key, &len);
    if (!p) {
        maac_err(reterr, -EINVAL, "missing blob '%s'", key);
        return NULL;
    }
    if (len != want) {
        maac_err(reterr, -EINVAL, "blob '%s' has %zu bytes, want %zu", key, len, want);
        return NULL;
    }
    return p;
}

static int restore_net(const Ckpt* ck, const char* name, Mlp* dst, MaacErr* reterr) {
    const Mlp* src = ckpt_net(ck, name);
    if (!src)
        return maac_err(reterr, -EINVAL, "missing network '%s'", name);
    if (!mlp_same_shape(dst, src))
        return maac_err(reterr, -EINVAL, "network '%s' does not match the saved settings", name);
    mlp_copy(dst, src);
    return 0;
}

static int restore_adam(const Ckpt* ck, const char* name, Adam* a, MaacErr* reterr) {
    char key[CKPT_NAME_LEN];
    long t = 0;
    snprintf(key, sizeof(key), "%s.t", name);
    int r = get_long(ck, key, 0, 1L << 52, &t, reterr);
    if (r != 0)
        return r;
    const size_t bytes = (size_t)a->n * sizeof(float);
    snprintf(key, sizeof(key), "%s.m", name);
    const void* m = get_blob(ck, key, bytes, reterr);
    snprintf(key, sizeof(key), "%s.v", name);
    const void* v = m ? get_blob(ck, key, bytes, reterr) : NULL;
    if (!m || !v)
        return -EINVAL;
    memcpy(a->m, m, bytes);
    memcpy(a->v, v, bytes);
    a->t = t;
    return 0;
}

// Restore a replay buffer; *rbp is replaced by one of the saved capacity when that
// differs and may_resize (D_model, sized by its k). 0 or -errno.
static int restore_replay(const Ckpt* ck, const char* name, ReplayBuffer** rbp, long want_cap,
                          MaacErr* reterr) {
    char key[CKPT_NAME_LEN];
    long size = 0, head = 0, total = 0, cap = 0;
    int r;
#define NUM(what, lo, hi, dst)                                             \
    snprintf(key, sizeof(key), "%s." what, name);                          \
    if ((r = get_long(ck, key, lo, hi, dst, reterr)) != 0)                 \
        return r;
    NUM("capacity", 1, 1L << 31, &cap);
    NUM("size", 0, cap, &size);
    NUM("head", 0, cap - 1, &head);
    NUM("total", size, 1L << 52, &total);
#undef NUM
    if (cap != want_cap)
        return maac_err(reterr, -EINVAL, "%s capacity %ld, the saved settings give %ld", name,
                        cap, want_cap);
    if (size < cap && head != size)
        return maac_err(reterr, -EINVAL, "%s: head %ld with %ld of %ld rows held", name, head,
                        size, cap);
    ReplayBuffer* rb = *rbp;
    if (rb->capacity != cap) {
        ReplayBuffer* nb = replay_create(cap, rb->obs_dim, rb->act_dim);
        if (!nb)
            return maac_err(reterr, -ENOMEM, "out of memory for %s (%ld rows)", name, cap);
        replay_free(rb);
        *rbp = rb = nb;
    }
    const size_t n = (size_t)size, S = (size_t)rb->obs_dim, A = (size_t)rb->act_dim;
    const struct {
        const char* part;
        float* p;
        size_t floats;
    } parts[5] = {{"obs", rb->obs, n * S}, {"act", rb->act, n * A}, {"rew", rb->rew, n},
                  {"next_obs", rb->next_obs, n * S}, {"done", rb->done, n}};
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "%s.%s", name, parts[i].part);
        const void* p = get_blob(ck, key, parts[i].floats * sizeof(float), reterr);
        if (!p)
            return -EINVAL;
        memcpy(parts[i].p, p, parts[i].floats * sizeof(float));
    }
    rb->size = size;
    rb->head = head;
    rb->total_added = total;
    return 0;
}

// The networks: policy, Q functions, ensemble, averaged policy. 0 or -errno.
static int restore_nets(Learner* l, const Ckpt* ck, MaacErr* reterr) {
    int r;
    if ((r = restore_net(ck, "pi", l->pi->net, reterr)) != 0 ||
        (r = restore_net(ck, "qf", l->qf->net, reterr)) != 0 ||
        (r = restore_net(ck, "qf_target", l->qf_targ->net, reterr)) != 0 ||
        (r = restore_net(ck, "ensemble", l->ens->net, reterr)) != 0 ||
        (l->pi_avg && (r = restore_net(ck, "pi_avg", l->pi_avg->net, reterr)) != 0))
        return r;
    return 0;
}

// The ensemble's target scaling and elites, and the random streams: all checked
// before any is set. 0 or -errno.
static int restore_ens_rngs(Learner* l, const Ckpt* ck, MaacErr* reterr) {
    int r;
    long v = 0;
    const Ensemble* e = l->ens;
    const size_t tb = (size_t)e->n_out * sizeof(float);
    const void* tm = get_blob(ck, "ens_target_mean", tb, reterr);
    const void* ts = tm ? get_blob(ck, "ens_target_std", tb, reterr) : NULL;
    const int32_t* el = ts ? get_blob(ck, "elites", ENS_MAX_MEMBERS * sizeof(int32_t), reterr)
                           : NULL;
    const void* rngs = el ? get_blob(ck, "rng", 5 * sizeof(Rng), reterr) : NULL;
    if (!rngs)
        return -EINVAL;
    const int M = e->net->n_members;
    if ((r = get_long(ck, "n_elites", 1, M, &v, reterr)) != 0)
        return r;
    for (int i = 0; i < M; i++)
        if (el[i] < 0 || el[i] >= M)
            return maac_err(reterr, -EINVAL, "elite %d = %d out of [0, %d)", i, (int)el[i], M);
    memcpy(l->ens->target_mean, tm, tb);
    memcpy(l->ens->target_std, ts, tb);
    l->ens->n_elites = (int)v;
    for (int i = 0; i < ENS_MAX_MEMBERS; i++)
        l->ens->elites[i] = el[i];
    Rng rs[5];
    memcpy(rs, rngs, sizeof(rs));
    l->rng = rs[0];
    l->act_rng = rs[1];
    l->actor_rng = rs[2];
    l->critic_rng[0] = rs[3];
    l->critic_rng[1] = rs[4];
    return 0;
}

// The Adam states and the entropy coefficient. 0 or -errno.
static int restore_optimisers(Learner* l, const Ckpt* ck, MaacErr* reterr) {
    int r;
    double d = 0;
    if ((r = restore_adam(ck, "adam_pi", l->opt_pi, reterr)) != 0 ||
        (r = restore_adam(ck, "adam_q", l->opt_q, reterr)) != 0 ||
        (r = restore_adam(ck, "adam_ens", ens_trainer_adam(l->ens_tr), reterr)) != 0 ||
        (l->alpha.opt && (r = restore_adam(ck, "adam_alpha", l->alpha.opt, reterr)) != 0))
        return r;
    if ((r = get_dbl(ck, "log_alpha", &d, reterr)) != 0)
        return r;
    l->alpha.log_alpha = (float)d;
    return 0;
}

// D_env and D_model (sized for the saved rollout length). 0 or -errno.
static int restore_buffers(Learner* l, const Ckpt* ck, MaacErr* reterr) {
    int r;
    long k = 0;
    if ((r = get_long(ck, "d_model_k", 1, 1 << 20, &k, reterr)) != 0)
        return r;
    if ((r = restore_replay(ck, "d_env", &l->d_env, l->d_env->capacity, reterr)) != 0 ||
        (r = restore_replay(ck, "d_model", &l->d_model, learner_model_capacity(&l->cfg, (int)k),
                            reterr)) != 0)
        return r;
    l->d_model_k = (int)k;
    return 0;
}

// The version, the schedule's step marks and the statistics. 0 or -errno.
static int restore_counters(Learner* l, const Ckpt* ck, MaacErr* reterr) {
    int r;
    long v = 0;
    double d = 0;
    LearnerStats* st = &l->st;
    long lim = 1L << 52;
    if ((r = get_long(ck, "version", 0, lim, &v, reterr)) != 0)
        return r;
    l->version = (uint64_t)v;
    if ((r = get_long(ck, "last_fit_step", -1, lim, &l->last_fit_step, reterr)) != 0 ||
        (r = get_long(ck, "last_refresh_step", -1, lim, &l->last_refresh_step, reterr)) != 0 ||
        (r = get_long(ck, "env_steps", 0, lim, &st->env_steps, reterr)) != 0 ||
        (r = get_long(ck, "updates", 0, lim, &st->updates, reterr)) != 0)
        return r;
    double tsn = 0;   // absent in states saved before train_steps existed: every step trained
    l->train_steps = ckpt_get_num(ck, "train_steps", &tsn) == 0 && tsn >= 0 && tsn <= (double)lim
                         ? (long)tsn : st->env_steps;
    const char* ints[3] = {"model_fits", "model_refreshes", "rollout_len"};
    int* idst[3] = {&st->model_fits, &st->model_refreshes, &st->rollout_len};
    for (int i = 0; i < 3; i++) {
        if ((r = get_long(ck, ints[i], 0, 0x7fffffffL, &v, reterr)) != 0)
            return r;
        *idst[i] = (int)v;
    }
    const char* fl[3] = {"q_loss", "pi_loss", "model_holdout_mse"};
    float* fdst[3] = {&st->q_loss, &st->pi_loss, &st->model_holdout_mse};
    for (int i = 0; i < 3; i++) {
        if ((r = get_dbl(ck, fl[i], &d, reterr)) != 0)
            return r;
        *fdst[i] = (float)d;
    }
    const char* tn[5] = {"t_model", "t_policy", "t_q", "t_rollout", "t_updates"};
    double* tdst[5] = {&st->t_model, &st->t_policy, &st->t_q, &st->t_rollout, &st->t_updates};
    for (int i = 0; i < 5; i++)
        if ((r = get_dbl(ck, tn[i], tdst[i], reterr)) != 0)
            return r;
    return 0;
}

// Restore everything but the settings into l (created from them). 0 or -errno.
static int restore(Learner* l, const Ckpt* ck, MaacErr* reterr) {
    int r;
    if ((r = restore_nets(l, ck, reterr)) != 0 || (r = restore_ens_rngs(l, ck, reterr)) != 0 ||
        (r = restore_optimisers(l, ck, reterr)) != 0 ||
        (r = restore_buffers(l, ck, reterr)) != 0 || (r = restore_counters(l, ck, reterr)) != 0)
        return r;
    l->st.alpha = maac_alpha_value(&l->alpha);
    return 0;
}

// The kind and format version of a state checkpoint. 0 or -errno with me.
static int check_header(const Ckpt* ck, MaacErr* me) {
    if (strcmp(ck->kind, STATE_KIND) != 0)
        return maac_err(me, -EINVAL, "checkpoint kind '%s', want '%s' (a state.ckpt from `maac "
                                     "train`)", ck->kind, STATE_KIND);
    long ver = 0;
    int r;
    if ((r = get_long(ck, "state_version", 0, 1L << 30, &ver, me)) != 0)
        return r;
    if (ver != STATE_VERSION)
        return maac_err(me, -EPROTO, "learner state version %ld, this build reads %d", ver,
                        STATE_VERSION);
    return 0;
}

// The saved settings into cfg (threads > 0 replaces the saved count), and the plant
// into pm: plant (it must have the saved dimensions), else the saved one by name;
// with the saved action bounds. 0 or -errno with me.
static int saved_setup(const Ckpt* ck, const PlantModel* plant, int threads, LearnerConfig* cfg,
                       PlantModel* pm, MaacErr* me) {
    long S = 0, A = 0;
    int r;
    size_t text_len = 0;
    const char* text = ckpt_blob(ck, "config", &text_len);
    if (!text)
        return maac_err(me, -EINVAL, "missing blob 'config'");
    if ((r = parse_config(text, text_len, cfg, me)) != 0 ||
        (r = get_long(ck, "obs_dim", 1, 1 << 16, &S, me)) != 0 ||
        (r = get_long(ck, "act_dim", 1, POLICY_MAX_ACT, &A, me)) != 0)
        return r;
    if (threads > 0)
        cfg->threads = threads;   // learner_create checks the range
    const float* bounds = get_blob(ck, "act_bounds", 2 * (size_t)A * sizeof(float), me);
    if (!bounds)
        return -EINVAL;
    if (plant && (plant->obs_dim != S || plant->act_dim != A))
        return maac_err(me, -EINVAL, "saved for obs %ld / action %ld entries, the plant '%s' has "
                        "%d / %d", S, A, plant->name, plant->obs_dim, plant->act_dim);
    if (plant)
        *pm = *plant;
    else if ((r = plant_init(pm, cfg->plant, (int)S, (int)A, me)) != 0)
        return r;
    // the saved bounds are the ones the policy was built with
    plant_set_bounds(pm, bounds, bounds + A);
    return 0;
}

// The caller's extra numbers (meta "x.KEY") into ret_extra.
static void read_extra(const Ckpt* ck, LearnerStateExtra* ret_extra) {
    memset(ret_extra, 0, sizeof(*ret_extra));
    for (int i = 0; i < ck->n_meta; i++)
        if (!ck->meta[i].is_str && strncmp(ck->meta[i].key, "x.", 2) == 0)
            (void)learner_state_extra_set(ret_extra, ck->meta[i].key + 2, ck->meta[i].num);
}

Learner* learner_state_load_ex(const char* path, const PlantModel* plant, int threads,
                               LearnerStateExtra* ret_extra, MaacErr* reterr) {
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    maac_err(reterr, -ENOTSUP, "learner state: little-endian hosts only");
    return NULL;
#endif
    Ckpt* ck = malloc(sizeof(*ck));
    LearnerConfig* cfg = malloc(sizeof(*cfg));
    Learner* l = NULL;
    MaacErr me = {""};
    int r;
    if (!ck || !cfg) {
        free(ck);
        free(cfg);
        maac_err(reterr, -ENOMEM, "learner state: out of memory");
        return NULL;
    }
    if ((r = ckpt_read(path, ck, reterr)) != 0)
        goto out_read;
    PlantModel pm;
    if ((r = check_header(ck, &me)) != 0 || (r = saved_setup(ck, plant, threads, cfg, &pm, &me)) != 0)
        goto out;
    l = learner_create(cfg, &pm, &me);
    if (!l) {
        r = -EINVAL;
        goto out;
    }
    if ((r = restore(l, ck, &me)) != 0)
        goto out;
    if (ret_extra)
        read_extra(ck, ret_extra);
out:
    if (r != 0)
        maac_err(reterr, r, "%s: %s", path, me.msg);
out_read:
    if (r != 0) {
        learner_free(l);
        l = NULL;
    }
    ckpt_done(ck);
    free(ck);
    free(cfg);
    return l;
}

Learner* learner_state_load(const char* path, const PlantModel* plant, MaacErr* reterr) {
    return learner_state_load_ex(path, plant, 0, NULL, reterr);
}
