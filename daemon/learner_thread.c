// SPDX-License-Identifier: Apache-2.0
// learner_thread.c -- maacd's learner thread (see learner_thread.h).
//
// The loop: take in transitions (realtime: all waiting; lock-step: one row when the
// previous one is trained on), run train steps while fewer have run than env steps
// were taken in, publish every publish_every train steps that updated, serve state
// requests. The learner's poll hook (lt_poll) runs at its safe points: it ends the
// work in progress on stop, takes in waiting transitions (realtime), serves state
// requests and refreshes the status, so none of these waits for a model fit.
// Status fields live under a mutex that only non-RT threads take (never the
// control thread).
// Thread: learner thread + callers of lt_*. Allocation: learner's, snapshots.
#include "daemon/learner_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "daemon/notify.h"
#include "daemon/plant_config.h"
#include "daemon/fleet_learner.h"
#include "daemon/rt.h"
#include "daemon/saver.h"
#include "daemon/security.h"
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
    void* fleet_pull;           // robots' rows from the fleet thread (nullable)
    Learner* l;
    int lockstep;               // one row per train step (maac train's schedule)
    unsigned char* rx;          // receive buffer
    size_t rx_cap;
    WireMsg* msg;               // the transitions message in hand
    int row_next, row_n;        // its rows [row_next, row_n) not yet taken in
    int row_fleet;              // 1: it came from the fleet socket
    float *s, *a, *s2;          // one row
    pthread_t thread;
    int started;
    _Atomic int stop;
    _Atomic int paused;
    _Atomic int adopt;          // take the served policy's weights at the next step
    _Atomic int adopt_on_resume;   // a swap pinned the served policy: adopt it on resume
    long trained_steps;         // env steps whose train step has run (or was skipped paused)
    long updates_at_publish;    // learner updates at the last publication
    long since_publish;         // train steps since then
    long learn_start_steps;     // env steps when learning began in this process
    long learn_start_updates;   // updates then
    int consecutive_errors;
    int64_t newest_ns;          // when the newest row in D_env was taken in
    int64_t trained_upto_ns;    // newest_ns when the current/last train step began
    int64_t published_ns;       // last publication (0 none)
    int64_t interleave_next_ns; // realtime: no interleaved updates before this time
    // start-up (lt_set_start)
    char resume_path[CFG_STR + 64];
    Policy* start_policy;
    long warmup_updates;
    // state requests (guarded by lock)
    Saver* saver;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t state_req;         // requests posted
    uint64_t state_served;      // requests the learner has encoded (or refused)
    char state_path[CFG_STR + 64];
    uint64_t state_ticket;      // saver ticket of the last served request (0 none)
    int state_result;           // its encoding result
    char state_err[MAAC_ERR_LEN];
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

//---- life cycle -------------------------------------------------------------------

static int bind_sockets(LearnerThread* t, const DaemonConfig* cfg, MaacErr* reterr) {
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = (int64_t)t->rx_cap;
    // lock-step: a short pipe, so the simulator feels the learner (back-pressure);
    // realtime: a deep one (with the control thread's send queue, minutes of rows at
    // 1 kHz) that the learner drains at every safe point.
    o.rcvhwm = t->lockstep ? 8 : 100000;
    t->pull = link_bind(t->zctx, ZMQ_PULL, LINK_LEARNER_INPROC, &o, reterr);
    if (!t->pull) return -EINVAL;
    if (cfg->fleet_bind[0]) {   // daemon/fleet_learner.c forwards the robots' rows here
        o.rcvhwm = 100000;
        t->fleet_pull = link_bind(t->zctx, ZMQ_PULL, LINK_FLEET_INPROC, &o, reterr);
        if (!t->fleet_pull) return -EINVAL;
    }
    return 0;
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
    // a fleet learner takes rows from many robots: realtime ingestion whatever its own plant
    t->lockstep = cfg->plant_mode == PLANT_MODE_LOCKSTEP && !cfg->fleet_bind[0];
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->rx_cap = wire_transitions_size(plant->obs_dim, plant->act_dim, 4096, "fleet-sender-name-") +
                4096;
    t->rx = malloc(t->rx_cap);
    t->msg = calloc(1, sizeof *t->msg);
    t->s = calloc(plant->obs_dim, sizeof(float));
    t->s2 = calloc(plant->obs_dim, sizeof(float));
    t->a = calloc(plant->act_dim, sizeof(float));
    t->saver = saver_create();
    if (!t->rx || !t->msg || !t->s || !t->s2 || !t->a || !t->saver) {
        maac_err(reterr, -ENOMEM, "out of memory");
        goto fail;
    }
    if (bind_sockets(t, cfg, reterr) < 0) goto fail;
    atomic_init(&t->stop, 0);
    atomic_init(&t->paused, 0);
    atomic_init(&t->adopt, 0);
    atomic_init(&t->adopt_on_resume, 0);
    t->st.state = cfg->learn ? LT_STARTING : LT_DISABLED;
    t->st.policy_age_s = -1;
    return t;
fail:
    lt_free(t);
    return NULL;
}

void lt_set_start(LearnerThread* t, const char* resume_path, const Policy* start_policy,
                  long warmup_updates) {
    snprintf(t->resume_path, sizeof t->resume_path, "%s", resume_path ? resume_path : "");
    policy_free(t->start_policy);
    t->start_policy = start_policy ? policy_clone(start_policy) : NULL;
    t->warmup_updates = warmup_updates;
}

void lt_free(LearnerThread* t) {
    if (!t) return;
    link_close(t->pull);
    link_close(t->fleet_pull);
    saver_free(t->saver);   // finishes a write in progress
    learner_free(t->l);
    policy_free(t->start_policy);
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
    t->published_ns = rt_now_ns();
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

// After a train step: publish every publish_every steps (in realtime also when the
// last publication is 10 s old), when the policy changed.
static void maybe_publish(LearnerThread* t) {
    int due = ++t->since_publish >= t->cfg.publish_every ||
              (!t->lockstep && rt_now_ns() - t->published_ns > 10000000000LL);
    if (!due) return;
    LearnerStats ls;
    learner_stats(t->l, &ls);
    if (ls.updates == t->updates_at_publish || learner_actor_held(t->l)) return;
    t->since_publish = 0;
    t->updates_at_publish = ls.updates;
    publish(t);
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

// Encode the learner state and hand it to the saver. 0 or -errno with err.
static int encode_state(LearnerThread* t, const char* path, uint64_t* ret_ticket,
                        MaacErr* err) {
    *ret_ticket = 0;
    if (!t->l) return maac_err(err, -ENOENT, "no learner state (learner %s)",
                               lt_state_name(t->st.state));
    char* buf = NULL;
    size_t len = 0;
    LearnerStateExtra x;
    memset(&x, 0, sizeof x);
    (void)learner_state_extra_set(&x, "paused", atomic_load(&t->paused));
    (void)learner_state_extra_set(&x, "pinned", atomic_load(&t->adopt_on_resume));
    int r = learner_state_encode(t->l, &x, LEARNER_STATE_NO_D_MODEL, &buf, &len, err);
    if (r < 0) return r;
    *ret_ticket = saver_submit(t->saver, path, buf, len);
    return *ret_ticket ? 0 : maac_err(err, -ENOMEM, "saver refused the state");
}

// Learner thread: serve a posted state request (at a safe point).
static void serve_state(LearnerThread* t) {
    pthread_mutex_lock(&t->lock);
    if (t->state_served == t->state_req) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    uint64_t req = t->state_req;
    char path[sizeof t->state_path];
    snprintf(path, sizeof path, "%s", t->state_path);
    pthread_mutex_unlock(&t->lock);
    MaacErr err;
    err.msg[0] = 0;
    uint64_t ticket = 0;
    int r = encode_state(t, path, &ticket, &err);
    pthread_mutex_lock(&t->lock);
    t->state_served = req;
    t->state_ticket = ticket;
    t->state_result = r;
    snprintf(t->state_err, sizeof t->state_err, "%s", err.msg);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

// Post a state request and wait (until `until`) for the learner to encode it.
// 0 with *ret_ticket, -ETIMEDOUT, or -errno with reterr.
static int request_state(LearnerThread* t, const char* path, const struct timespec* until,
                         uint64_t* ret_ticket, MaacErr* reterr) {
    pthread_mutex_lock(&t->lock);
    if (!t->started) {   // no thread: the caller owns the learner now
        pthread_mutex_unlock(&t->lock);
        return encode_state(t, path, ret_ticket, reterr);
    }
    snprintf(t->state_path, sizeof t->state_path, "%s", path);
    uint64_t mine = ++t->state_req;
    int r = 0;
    while (t->state_served < mine && r == 0) r = pthread_cond_timedwait(&t->cond, &t->lock, until);
    if (t->state_served < mine) {
        pthread_mutex_unlock(&t->lock);
        return -ETIMEDOUT;
    }
    *ret_ticket = t->state_ticket;
    int res = t->state_result;
    if (res < 0) maac_err(reterr, res, "%s", t->state_err);
    pthread_mutex_unlock(&t->lock);
    return res;
}

static int ms_left(const struct timespec* until) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long ms = (long)(until->tv_sec - now.tv_sec) * 1000 + (until->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? (int)ms : 0;
}

int lt_save(LearnerThread* t, const char* dir, int timeout_ms, MaacErr* reterr) {
    if (!dir || !dir[0]) return maac_err(reterr, -EINVAL, "no checkpoint directory configured");
    struct timespec until;
    rt_deadline_in(&until, timeout_ms);
    char path[CFG_STR + 64];
    snprintf(path, sizeof path, "%.250s/" LT_POLICY_FILE, dir);
    int r = lt_save_served(t->slot, path, reterr);
    if (r < 0) return r;
    snprintf(path, sizeof path, "%.250s/" LT_STATE_FILE, dir);
    uint64_t ticket = 0;
    r = request_state(t, path, &until, &ticket, reterr);
    if (r == -ETIMEDOUT)
        return maac_err(reterr, -EINPROGRESS, "policy saved; the learner state is saved at "
                        "the learner's next safe point");
    if (r == -ENOENT) return 0;   // no learner (failed / disabled): the policy is all there is
    if (r < 0) return r;
    int res = 0;
    if (saver_wait(t->saver, ticket, ms_left(&until), &res, reterr) == -ETIMEDOUT)
        return maac_err(reterr, -EINPROGRESS, "policy saved; the learner state is being "
                        "written in the background");
    if (res >= 0) {
        pthread_mutex_lock(&t->lock);
        t->st.saves_ok++;
        pthread_mutex_unlock(&t->lock);
    }
    return res;
}

//---- taking in transitions --------------------------------------------------------

static void count_bad(LearnerThread* t, int fleet, const char* why) {
    pthread_mutex_lock(&t->lock);
    uint64_t nb = ++t->st.bad_messages;
    pthread_mutex_unlock(&t->lock);
    if (nb <= 10 || (nb & (nb - 1)) == 0)   // the first ten, then at powers of two
        maacd_log(LOG_LV_WARNING, "learner: bad %s transitions message (%llu so far): %s",
                  fleet ? "fleet" : "local", (unsigned long long)nb, why);
}

// Receive one transitions message into t->msg. 1 got one, 0 none waiting.
static int recv_one(LearnerThread* t, void* sock, int fleet) {
    for (;;) {
        int n = link_recv(sock, t->rx, t->rx_cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) return 0;
        if (n < 0) {
            count_bad(t, fleet, strerror(-n));
            continue;
        }
        MaacErr err;
        int r = wire_decode(t->rx, (size_t)n, t->plant.obs_dim, t->plant.act_dim, t->msg, &err);
        if (r < 0 || t->msg->type != WIRE_MSG_TRANSITIONS) {
            count_bad(t, fleet, r < 0 ? err.msg : "not transitions");
            continue;
        }
        t->row_next = 0;
        t->row_n = t->msg->u.tr.n;
        t->row_fleet = fleet;
        pthread_mutex_lock(&t->lock);
        t->st.received += (uint64_t)t->row_n;
        if (fleet) t->st.fleet_received += (uint64_t)t->row_n;
        else t->st.local_received += (uint64_t)t->row_n;
        pthread_mutex_unlock(&t->lock);
        return 1;
    }
}

// Take in up to max_rows rows (from the message in hand, then the sockets). Returns
// the rows added to D_env.
static long take_in(LearnerThread* t, long max_rows) {
    long added = 0;
    while (added < max_rows) {
        if (t->row_next >= t->row_n && !recv_one(t, t->pull, 0) &&
            !(t->fleet_pull && recv_one(t, t->fleet_pull, 1)))
            break;
        if (t->row_next >= t->row_n) continue;
        float r, term;
        wire_transitions_row(&t->msg->u.tr, t->row_next++, t->s, t->a, &r, t->s2, &term);
        if (!t->l || t->st.state != LT_RUNNING) continue;   // not learning: drained only
        learner_add_transition(t->l, t->s, t->a, r, t->s2, term > 0.5f);
        added++;
    }
    if (added > 0) {
        t->newest_ns = rt_now_ns();
        pthread_mutex_lock(&t->lock);
        t->st.ingested += (uint64_t)added;
        pthread_mutex_unlock(&t->lock);
    }
    return added;
}

//---- status -----------------------------------------------------------------------

static void refresh_status(LearnerThread* t) {
    if (!t->l) return;
    int64_t now = rt_now_ns();
    double since = 0;
    int epochs = 0;
    LearnerPhase ph = learner_phase(t->l, &since, &epochs);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now_s = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    pthread_mutex_lock(&t->lock);
    learner_stats(t->l, &t->st.ls);
    t->st.have_stats = 1;
    t->st.paused = atomic_load(&t->paused);
    t->st.trained_steps = t->trained_steps;
    long steps = t->st.ls.env_steps - t->learn_start_steps;
    t->st.updates_per_step = steps > 0 ? (double)(t->st.ls.updates - t->learn_start_updates) /
                                             (double)steps : 0.0;
    t->st.newest_trained_age_s = t->trained_upto_ns ? 1e-9 * (double)(now - t->trained_upto_ns)
                                                    : -1.0;
    t->st.policy_age_s = t->published_ns ? 1e-9 * (double)(now - t->published_ns) : -1.0;
    t->st.phase = ph;
    t->st.phase_s = ph == LEARNER_IDLE ? 0.0 : now_s - since;
    t->st.fit_epochs = epochs;
    t->st.actor_held = learner_actor_held(t->l);
    pthread_mutex_unlock(&t->lock);
}

void lt_status(LearnerThread* t, LtStatus* ret) {
    pthread_mutex_lock(&t->lock);
    *ret = t->st;
    pthread_mutex_unlock(&t->lock);
    uint64_t ok = 0, failed = 0;
    saver_counts(t->saver, &ok, &failed);
    ret->saves_ok = ok;
    ret->saves_failed = failed;
}

//---- the learner's safe points ----------------------------------------------------

// Realtime: inside a model fit or D_model refresh, one train step's worth of updates
// (learner_interleave_updates) at most every max(0.25 s, the last burst's duration),
// so learning and publication go on during long fits and the fit keeps at least half
// the time. Lock-step never interleaves (maac train's algorithm).
static void interleave(LearnerThread* t) {
    int64_t now = rt_now_ns();
    if (t->lockstep || atomic_load(&t->paused) || now < t->interleave_next_ns) return;
    int n = learner_interleave_updates(t->l, t->lc.updates_per_step);
    int64_t end = rt_now_ns();
    int64_t gap = end - now > 250000000LL ? end - now : 250000000LL;
    t->interleave_next_ns = end + gap;
    if (n < 0) {
        if (++t->consecutive_errors == 1)
            maacd_log(LOG_LV_WARNING, "learner: update during a model fit failed: %s",
                      strerror(-n));
        return;
    }
    if (n == 0) return;
    t->trained_upto_ns = t->newest_ns;
    int mpc = t->ctrl && ctrl_act_mode(t->ctrl) == ACT_MODE_MPC;   // CEM wants fitted models
    if (!mpc && end - t->published_ns > 10000000000LL && !learner_actor_held(t->l)) {
        LearnerStats ls;
        learner_stats(t->l, &ls);
        if (ls.updates != t->updates_at_publish) {
            t->since_publish = 0;
            t->updates_at_publish = ls.updates;
            publish(t);
        }
    }
}

// Poll hook (core/poll.h): runs between updates, model-fit minibatches and rollout
// chunks. Non-zero ends the train step in progress (stop).
static int lt_poll(void* arg) {
    LearnerThread* t = arg;
    if (atomic_load(&t->stop)) return 1;
    if (!t->lockstep) {
        take_in(t, 1L << 30);
        interleave(t);
    }
    serve_state(t);
    refresh_status(t);
    return 0;
}

//---- start-up ---------------------------------------------------------------------

// Resume from the saved state when it fits the plant. NULL when none or refused.
static Learner* try_resume(LearnerThread* t) {
    if (!t->resume_path[0]) return NULL;
    MaacErr err;
    err.msg[0] = 0;
    LearnerStateExtra x;
    PlantModel tmp;
    Learner* l = learner_state_load_ex(t->resume_path, plant_config_model(&t->plant, &tmp),
                                       t->lc.threads, &x, &err);
    if (!l) {
        maacd_log(LOG_LV_ERR, "learner state %s not resumed: %s; starting a fresh learner",
                  t->resume_path, err.msg);
        return NULL;
    }
    const Policy* p = learner_policy(l);
    if (p->obs_dim != t->plant.obs_dim || p->act_dim != t->plant.act_dim) {
        maacd_log(LOG_LV_ERR, "learner state %s is for obs %d / action %d, the plant has %d / %d;"
                  " starting a fresh learner", t->resume_path, p->obs_dim, p->act_dim,
                  t->plant.obs_dim, t->plant.act_dim);
        learner_free(l);
        return NULL;
    }
    LearnerStats ls;
    learner_stats(l, &ls);
    int paused = learner_state_extra_get(&x, "paused", 0) != 0;
    int pinned = learner_state_extra_get(&x, "pinned", 0) != 0;
    maacd_log(LOG_LV_NOTICE, "learner resumed from %s: %ld env steps, %ld updates, %d model "
              "fits (D_model is rebuilt at the first step)%s", t->resume_path, ls.env_steps,
              ls.updates, ls.model_fits,
              pinned ? "; a swapped-in policy is pinned: learning stays paused until resume"
                     : paused ? "; learning stays paused until resume" : "");
    lt_set_paused(t, paused || pinned);
    atomic_store(&t->adopt_on_resume, pinned);
    return l;
}

static Learner* create_fresh(LearnerThread* t) {
    MaacErr err;
    err.msg[0] = 0;
    PlantModel tmp;
    Learner* l = learner_create(&t->lc, plant_config_model(&t->plant, &tmp), &err);
    if (!l) {
        char why[256];
        snprintf(why, sizeof why, "learner_create: %.200s", err.msg[0] ? err.msg : "failed");
        fail(t, why);
        return NULL;
    }
    if (t->start_policy) {
        if (learner_start_from_policy(l, t->start_policy, t->warmup_updates, &err) == 0)
            maacd_log(LOG_LV_NOTICE, "learner starts from the loaded policy v%llu (actor held "
                      "for %ld critic updates)", (unsigned long long)t->start_policy->version,
                      t->warmup_updates);
        else
            maacd_log(LOG_LV_WARNING, "learner cannot start from the loaded policy: %s; it "
                      "trains its own and publishes only after updates", err.msg);
    }
    return l;
}

static void start_learner(LearnerThread* t) {
    Learner* l = try_resume(t);
    int resumed = l != NULL;
    if (!l) l = create_fresh(t);
    if (!l) return;
    learner_set_poll(l, lt_poll, t);
    LearnerStats ls;
    learner_stats(l, &ls);
    t->l = l;
    t->trained_steps = ls.env_steps;
    t->learn_start_steps = ls.env_steps;
    t->learn_start_updates = ls.updates;
    t->updates_at_publish = ls.updates;
    long random_left = t->lc.init_random_steps - ls.env_steps;
    // (paused: a pinned swap or a paused state: its deterministic actions stay as they are)
    if (t->ctrl && atomic_load(&t->paused))
        ctrl_set_explore(t->ctrl, 0, -1);
    else if (t->ctrl && (resumed || t->start_policy))
        ctrl_set_explore(t->ctrl, t->cfg.explore, resumed && random_left > 0 ? random_left : 0);
    pthread_mutex_lock(&t->lock);
    t->st.state = LT_RUNNING;
    t->st.resumed = resumed;
    pthread_mutex_unlock(&t->lock);
    maacd_log(LOG_LV_NOTICE, "learner running (%s: H=%d, %d models, %d updates/step, "
              "%d random steps, %s)", t->lc.plant, t->lc.horizon, t->lc.n_models,
              t->lc.updates_per_step, t->lc.init_random_steps,
              t->lockstep ? "lock-step: one train step per env step"
                          : "realtime: ingestion decoupled from updates");
    if (t->ctrl) ctrl_set_learner_alive(t->ctrl, 1);
}

//---- the loop ---------------------------------------------------------------------

// Take the served policy's weights after a swap (lt_adopt_served).
static void adopt_served(LearnerThread* t) {
    const ServedPolicy* sp = swap_acquire(t->slot);
    MaacErr err;
    err.msg[0] = 0;
    if (sp && sp->pi &&
        learner_start_from_policy(t->l, sp->pi, t->warmup_updates, &err) == 0)
        maacd_log(LOG_LV_NOTICE, "learner continues from the served policy v%llu",
                  (unsigned long long)sp->pi->version);
    else
        maacd_log(LOG_LV_WARNING, "learner keeps its own policy: %s",
                  err.msg[0] ? err.msg : "no policy served");
    swap_release(t->slot);
}

// One train step for the oldest untrained env step. Returns 0, or -ECANCELED (stop).
static int train_one(LearnerThread* t) {
    t->trained_upto_ns = t->newest_ns;
    int rc = learner_train_step(t->l);
    if (rc == -ECANCELED) return rc;
    t->trained_steps++;
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
        }
        return 0;
    }
    t->consecutive_errors = 0;
    maybe_publish(t);
    return 0;
}

// One pass of the loop: take in, train what is owed. 1 when it did work.
static int step(LearnerThread* t) {
    int running = t->l && t->st.state == LT_RUNNING;
    if (!running) return take_in(t, 1L << 30) > 0;
    LearnerStats ls;
    learner_stats(t->l, &ls);
    int owed = t->trained_steps < ls.env_steps;
    long got = take_in(t, t->lockstep ? (owed ? 0 : 1) : 1L << 30);
    learner_stats(t->l, &ls);
    if (atomic_load(&t->paused)) {   // rows taken in while paused owe no train step
        t->trained_steps = ls.env_steps;
        return got > 0;
    }
    if (atomic_exchange(&t->adopt, 0)) adopt_served(t);
    if (t->trained_steps >= ls.env_steps) return got > 0;
    if (train_one(t) == -ECANCELED) return 0;
    return 1;
}

static void* lt_main(void* arg) {
    LearnerThread* t = arg;
    if (t->st.state == LT_STARTING) start_learner(t);
    refresh_status(t);
    zmq_pollitem_t items[2] = {{t->pull, 0, ZMQ_POLLIN, 0}, {t->fleet_pull, 0, ZMQ_POLLIN, 0}};
    int n_items = t->fleet_pull ? 2 : 1;
    while (!atomic_load(&t->stop)) {
        int busy = step(t);
        serve_state(t);
        refresh_status(t);
        if (!busy && !atomic_load(&t->stop) && t->row_next >= t->row_n)
            (void)zmq_poll(items, n_items, 50);   // idle: wait for rows (or stop / save)
    }
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
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    int started = t->started;
    pthread_mutex_unlock(&t->lock);
    if (!started) return;
    atomic_store(&t->stop, 1);
    pthread_join(t->thread, NULL);
    pthread_mutex_lock(&t->lock);
    t->started = 0;
    if (t->st.state == LT_RUNNING) t->st.state = LT_STOPPED;
    pthread_mutex_unlock(&t->lock);
    serve_state(t);   // a request posted as it stopped is served here
}

void lt_set_paused(LearnerThread* t, int paused) {
    if (!paused && atomic_exchange(&t->adopt_on_resume, 0)) atomic_store(&t->adopt, 1);
    atomic_store(&t->paused, paused);
    pthread_mutex_lock(&t->lock);
    t->st.paused = paused;
    pthread_mutex_unlock(&t->lock);
}

void lt_adopt_served(LearnerThread* t) { atomic_store(&t->adopt_on_resume, 1); }
