// SPDX-License-Identifier: Apache-2.0
// learner_thread.c -- maacd's learner thread (see learner_thread.h).
//
// The loop: poll the PULL sockets (100 ms, so stop/save requests are seen), take
// every waiting transitions message, add each row and run one train step per row
// unless paused, publish every publish_every steps, serve save requests. Status
// fields live under a mutex that only non-RT threads take (never the control thread).
// Thread: learner thread + callers of lt_*. Allocation: learner's, snapshots.
#include "daemon/learner_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "daemon/notify.h"
#include "daemon/plant_config.h"
#include "transport/link.h"
#include "transport/wire.h"

#define MAX_CONSECUTIVE_ERRORS 50

struct LearnerThread {
    DaemonConfig cfg;
    LearnerConfig lc;
    PlantInfo plant;
    void* zctx;
    SwapSlot* slot;
    Ctrl* ctrl;
    void* pull;                 // inproc PULL
    void* fleet_pull;           // tcp PULL (nullable)
    void* fleet_push;           // PUSH to another learner (nullable)
    Learner* l;
    unsigned char* rx;          // receive buffer
    size_t rx_cap;
    WireMsg* msg;
    float *s, *a, *s2;          // one row
    pthread_t thread;
    int started;
    _Atomic int stop;
    _Atomic int paused;
    long since_publish;
    int consecutive_errors;
    // save request (guarded by lock)
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int save_req;               // 1 requested, 2 done
    char save_dir[CFG_STR];
    int save_result;
    char save_err[MAAC_ERR_LEN];
    uint64_t save_gen;
    LtStatus st;                // guarded by lock
};

const char* lt_state_name(LtState s) {
    switch (s) {
    case LT_STARTING: return "starting";
    case LT_RUNNING: return "running";
    case LT_FAILED: return "failed";
    case LT_DISABLED: return "disabled";
    case LT_STOPPED: return "stopped";
    }
    return "?";
}

int lt_resolve_config(const DaemonConfig* cfg, const char* plant, LearnerConfig* ret,
                      MaacErr* reterr) {
    learner_config_default(ret, plant);
    ret->seed = cfg->seed;
    for (int i = 0; i < cfg->n_learner_set; i++) {
        int r = learner_config_set(ret, cfg->learner_set[i][0], cfg->learner_set[i][1], reterr);
        if (r < 0) return r;
    }
    return learner_config_check(ret, reterr);
}

LearnerThread* lt_create(const DaemonConfig* cfg, const LearnerConfig* lc, const PlantInfo* plant,
                         void* zctx, SwapSlot* slot, Ctrl* ctrl, MaacErr* reterr) {
    LearnerThread* t = calloc(1, sizeof *t);
    if (!t) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    t->lc = *lc;
    t->plant = *plant;
    t->zctx = zctx;
    t->slot = slot;
    t->ctrl = ctrl;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->rx_cap = wire_transitions_size(plant->obs_dim, plant->act_dim, 4096, "fleet-sender-name-") +
                4096;
    t->rx = malloc(t->rx_cap);
    t->msg = calloc(1, sizeof *t->msg);
    t->s = calloc(plant->obs_dim, sizeof(float));
    t->s2 = calloc(plant->obs_dim, sizeof(float));
    t->a = calloc(plant->act_dim, sizeof(float));
    if (!t->rx || !t->msg || !t->s || !t->s2 || !t->a) {
        maac_err(reterr, -ENOMEM, "out of memory");
        goto fail;
    }
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = (int64_t)t->rx_cap;
    o.rcvhwm = cfg->plant_mode == PLANT_MODE_LOCKSTEP ? 8 : 10000;
    t->pull = link_bind(zctx, ZMQ_PULL, LINK_LEARNER_INPROC, &o, reterr);
    if (!t->pull) goto fail;
    if (cfg->fleet_bind[0]) {
        o.rcvhwm = 10000;
        t->fleet_pull = link_bind(zctx, ZMQ_PULL, cfg->fleet_bind, &o, reterr);
        if (!t->fleet_pull) goto fail;
    }
    if (cfg->fleet_connect[0]) {
        o.sndhwm = 10000;
        t->fleet_push = link_connect(zctx, ZMQ_PUSH, cfg->fleet_connect, &o, reterr);
        if (!t->fleet_push) goto fail;
    }
    atomic_init(&t->stop, 0);
    atomic_init(&t->paused, 0);
    t->st.state = cfg->learn ? LT_STARTING : LT_DISABLED;
    return t;
fail:
    lt_free(t);
    return NULL;
}

void lt_free(LearnerThread* t) {
    if (!t) return;
    link_close(t->pull);
    link_close(t->fleet_pull);
    link_close(t->fleet_push);
    learner_free(t->l);
    free(t->rx);
    free(t->msg);
    free(t->s);
    free(t->s2);
    free(t->a);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}

static void fail(LearnerThread* t, const char* why) {
    maacd_log(LOG_LV_ERR, "learner failed: %s; the control loop keeps serving policy v%llu",
              why, (unsigned long long)swap_version(t->slot));
    pthread_mutex_lock(&t->lock);
    t->st.state = LT_FAILED;
    t->st.failures++;
    snprintf(t->st.error, sizeof t->st.error, "%.250s", why);
    pthread_mutex_unlock(&t->lock);
    if (t->ctrl) ctrl_set_learner_alive(t->ctrl, 0);
}

//---- publication ------------------------------------------------------------------

static void publish(LearnerThread* t) {
    ServedPolicy* sp = calloc(1, sizeof *sp);
    MaacErr err;
    err.msg[0] = 0;
    if (!sp) goto bad;
    sp->pi = learner_snapshot_policy(t->l);
    if (!sp->pi) {
        snprintf(err.msg, sizeof err.msg, "snapshot: out of memory");
        goto bad;
    }
    snprintf(sp->pi->plant, sizeof sp->pi->plant, "%.47s", t->plant.name);
    if (t->ctrl && ctrl_act_mode(t->ctrl) == ACT_MODE_MPC) {
        // frozen copies for CEM on the control thread (its own work, preallocated here)
        sp->cem_cfg = learner_config(t->l)->cem;
        sp->ens = ens_clone(learner_ensemble(t->l));
        sp->qf = qf_clone(learner_qf(t->l));
        if (sp->ens && sp->qf) sp->cem = cem_work_create(&sp->cem_cfg, sp->ens, sp->pi, sp->qf);
        if (!sp->cem) {
            ens_free(sp->ens);
            qf_free(sp->qf);
            sp->ens = NULL;
            sp->qf = NULL;
        }
    }
    if (served_validate(sp, &t->plant, &err) < 0) goto bad;
    uint64_t v = 0;
    int r = swap_publish_unless(t->slot, sp, sp->pi->version, &t->paused, &v);
    if (r == -ECANCELED) {   // paused (a swapped-in policy is pinned) meanwhile
        served_free(sp);
        return;
    }
    if (r < 0) {
        snprintf(err.msg, sizeof err.msg, "publish: %s", strerror(-r));
        goto bad;
    }
    pthread_mutex_lock(&t->lock);
    t->st.published++;
    t->st.last_published_version = v;
    pthread_mutex_unlock(&t->lock);
    return;
bad:
    served_free(sp);
    pthread_mutex_lock(&t->lock);
    t->st.publish_errors++;
    pthread_mutex_unlock(&t->lock);
    maacd_log(LOG_LV_WARNING, "learner: policy not published: %s", err.msg);
}

//---- checkpoints ------------------------------------------------------------------

static int save_served_fn(void* obj, void* arg) {
    void** a = arg;
    const ServedPolicy* sp = obj;
    if (!sp || !sp->pi) return maac_err(a[1], -ENOENT, "no policy is being served");
    return policy_save(sp->pi, a[0], a[1]);
}

int lt_save_served(SwapSlot* slot, const char* path, MaacErr* reterr) {
    void* a[2] = {(void*)path, reterr};
    return swap_with_current(slot, save_served_fn, a);
}

static int do_save(LearnerThread* t, const char* dir, MaacErr* err) {
    char path[CFG_STR + 32];
    snprintf(path, sizeof path, "%s/policy.ckpt", dir);
    int r = lt_save_served(t->slot, path, err);
    if (r < 0) return r;
    if (t->l) {
        snprintf(path, sizeof path, "%s/learner.ckpt", dir);
        r = learner_save(t->l, path, err);
    }
    return r;
}

static void serve_save(LearnerThread* t) {
    pthread_mutex_lock(&t->lock);
    if (t->save_req != 1) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    char dir[CFG_STR];
    snprintf(dir, sizeof dir, "%s", t->save_dir);
    pthread_mutex_unlock(&t->lock);
    MaacErr err;
    err.msg[0] = 0;
    int r = do_save(t, dir, &err);
    pthread_mutex_lock(&t->lock);
    t->save_result = r;
    snprintf(t->save_err, sizeof t->save_err, "%s", err.msg);
    t->save_req = 2;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

int lt_save(LearnerThread* t, const char* dir, int timeout_ms, MaacErr* reterr) {
    if (!dir || !dir[0]) return maac_err(reterr, -EINVAL, "no checkpoint directory configured");
    pthread_mutex_lock(&t->lock);
    if (!t->started) {   // thread not running: save here
        pthread_mutex_unlock(&t->lock);
        return do_save(t, dir, reterr);
    }
    while (t->save_req == 1) pthread_cond_wait(&t->cond, &t->lock);
    snprintf(t->save_dir, sizeof t->save_dir, "%s", dir);
    t->save_req = 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int r = 0;
    while (t->save_req == 1 && r == 0) r = pthread_cond_timedwait(&t->cond, &t->lock, &until);
    if (t->save_req != 2) {
        pthread_mutex_unlock(&t->lock);
        return maac_err(reterr, -ETIMEDOUT, "the learner thread did not save within %d ms",
                        timeout_ms);
    }
    t->save_req = 0;
    int res = t->save_result;
    if (res < 0) maac_err(reterr, res, "%s", t->save_err);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    return res;
}

//---- the loop ---------------------------------------------------------------------

static void handle_rows(LearnerThread* t, const WireTransitions* tr, int fleet) {
    int training = t->l && t->st.state == LT_RUNNING;
    for (int i = 0; i < tr->n; i++) {
        float r, term;
        wire_transitions_row(tr, i, t->s, t->a, &r, t->s2, &term);
        pthread_mutex_lock(&t->lock);
        t->st.received++;
        if (fleet) t->st.fleet_received++;
        pthread_mutex_unlock(&t->lock);
        if (!training) continue;
        learner_add_transition(t->l, t->s, t->a, r, t->s2, term > 0.5f);
        if (atomic_load(&t->paused)) continue;
        int rc = learner_train_step(t->l);
        pthread_mutex_lock(&t->lock);
        t->st.train_steps++;
        if (rc < 0) t->st.train_errors++;
        pthread_mutex_unlock(&t->lock);
        if (rc < 0) {
            if (++t->consecutive_errors == 1)
                maacd_log(LOG_LV_WARNING, "learner: train step failed: %s", strerror(-rc));
            if (t->consecutive_errors >= MAX_CONSECUTIVE_ERRORS) {
                char why[128];
                snprintf(why, sizeof why, "%d train steps failed in a row (%s)",
                         t->consecutive_errors, strerror(-rc));
                fail(t, why);
                training = 0;
            }
            continue;
        }
        t->consecutive_errors = 0;
        if (++t->since_publish >= t->cfg.publish_every) {
            t->since_publish = 0;
            publish(t);
        }
    }
}

static void drain(LearnerThread* t, void* sock, int fleet) {
    for (int k = 0; k < 64; k++) {
        int n = link_recv(sock, t->rx, t->rx_cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) return;
        if (n < 0) {
            pthread_mutex_lock(&t->lock);
            t->st.bad_messages++;
            pthread_mutex_unlock(&t->lock);
            continue;
        }
        MaacErr err;
        int r = wire_decode(t->rx, (size_t)n, t->plant.obs_dim, t->plant.act_dim, t->msg, &err);
        if (r < 0 || t->msg->type != WIRE_MSG_TRANSITIONS) {
            pthread_mutex_lock(&t->lock);
            uint64_t nb = ++t->st.bad_messages;
            pthread_mutex_unlock(&t->lock);
            if (nb <= 10)
                maacd_log(LOG_LV_WARNING, "learner: bad %s transitions message: %s",
                          fleet ? "fleet" : "local", r < 0 ? err.msg : "not transitions");
            continue;
        }
        if (!fleet && t->fleet_push) (void)link_send(t->fleet_push, t->rx, (size_t)n, ZMQ_DONTWAIT);
        handle_rows(t, &t->msg->u.tr, fleet);
    }
}

static void* lt_main(void* arg) {
    LearnerThread* t = arg;
    if (t->st.state == LT_STARTING) {
        MaacErr err;
        err.msg[0] = 0;
        PlantModel tmp;
        t->l = learner_create(&t->lc, plant_config_model(&t->plant, &tmp), &err);
        if (!t->l) {
            char why[256];
            snprintf(why, sizeof why, "learner_create: %.200s", err.msg[0] ? err.msg : "failed");
            fail(t, why);
        } else {
            pthread_mutex_lock(&t->lock);
            t->st.state = LT_RUNNING;
            pthread_mutex_unlock(&t->lock);
            maacd_log(LOG_LV_NOTICE, "learner running (%s: H=%d, %d models, %d updates/step, "
                      "%d random steps)", t->lc.plant, t->lc.horizon, t->lc.n_models,
                      t->lc.updates_per_step, t->lc.init_random_steps);
            if (t->ctrl) ctrl_set_learner_alive(t->ctrl, 1);
        }
    }
    zmq_pollitem_t items[2] = {{t->pull, 0, ZMQ_POLLIN, 0}, {t->fleet_pull, 0, ZMQ_POLLIN, 0}};
    int n_items = t->fleet_pull ? 2 : 1;
    while (!atomic_load(&t->stop)) {
        int r = zmq_poll(items, n_items, 100);
        if (r > 0) {
            if (items[0].revents & ZMQ_POLLIN) drain(t, t->pull, 0);
            if (n_items > 1 && (items[1].revents & ZMQ_POLLIN)) drain(t, t->fleet_pull, 1);
        }
        serve_save(t);
        if (t->l) {
            pthread_mutex_lock(&t->lock);
            learner_stats(t->l, &t->st.ls);
            t->st.have_stats = 1;
            t->st.paused = atomic_load(&t->paused);
            pthread_mutex_unlock(&t->lock);
        }
    }
    serve_save(t);
    if (t->ctrl) ctrl_set_learner_alive(t->ctrl, 0);
    return NULL;
}

int lt_start(LearnerThread* t) {
    int r = pthread_create(&t->thread, NULL, lt_main, t);
    if (r) return -r;
    pthread_mutex_lock(&t->lock);
    t->started = 1;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void lt_stop(LearnerThread* t) {
    if (!t || !t->started) return;
    atomic_store(&t->stop, 1);
    pthread_join(t->thread, NULL);
    pthread_mutex_lock(&t->lock);
    t->started = 0;
    if (t->st.state == LT_RUNNING) t->st.state = LT_STOPPED;
    pthread_mutex_unlock(&t->lock);
}

void lt_set_paused(LearnerThread* t, int paused) {
    atomic_store(&t->paused, paused);
    pthread_mutex_lock(&t->lock);
    t->st.paused = paused;
    pthread_mutex_unlock(&t->lock);
}

void lt_status(LearnerThread* t, LtStatus* ret) {
    pthread_mutex_lock(&t->lock);
    *ret = t->st;
    pthread_mutex_unlock(&t->lock);
}
