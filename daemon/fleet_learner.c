// SPDX-License-Identifier: Apache-2.0
// fleet_learner.c -- the learner daemon's fleet thread: robots' rows in (each once,
// in order), policies out to every robot (fleet_learner.h).
//
// The loop: wait up to 10 ms on the ROUTER; handle each message (hello: register /
// refresh the robot, ack, send the current policy if it serves another; rows: take
// the new ones, forward, ack); then broadcast when the slot's version changed.
// Lag samples (publish -> served) are kept in rings of LAG_SAMPLES and summarised
// when the status is read.
// Thread: the fleet thread; status under a mutex. Allocation: create, policy encoding.
#include "daemon/fleet_learner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "core/ckpt.h"
#include "core/rng.h"
#include "daemon/notify.h"
#include "daemon/ratelog.h"
#include "daemon/rt.h"
#include "daemon/security.h"
#include "transport/fleet_wire.h"
#include "transport/link.h"

#define MAX_MSG_ROWS 4096             // rows in one fleet_rows message at most
#define REWIND_GAP_NS 200000000LL     // ask a robot to resend at most this often
#define POLICY_RESEND_NS 2000000000LL // resend the policy to a robot serving another
#define LAG_SAMPLES 4096

typedef struct {
    FleetRobotInfo info;
    LinkPeer peer;
    int64_t seen_ns, rewind_ns, policy_ns;
    uint64_t policy_sent_version;
    int reached;                      // served >= pending version (this publication)
} Robot;

typedef struct {
    double v[LAG_SAMPLES];
    uint64_t n;
} LagRing;

struct FleetLearner {
    DaemonConfig cfg;
    PlantInfo plant;
    void* zctx;
    SwapSlot* slot;
    _Atomic uint64_t skip_version;
    _Atomic int armed;                // broadcasting (0 until the initial policy is in)
    _Atomic int plant_known;          // f->plant is valid (set once, by the fleet thread)
    void* router;
    void* push;                       // to the learner thread (LINK_FLEET_INPROC)
    Robot robots[FLEET_MAX_ROBOTS];
    int n_robots;
    unsigned char* rx;
    size_t rx_cap;
    WireMsg* msg;
    float* rows;                      // (MAX_MSG_ROWS, row floats): re-encoding a tail
    unsigned char* trbuf;
    size_t tr_cap;
    unsigned char* pol;               // the encoded fleet_policy message of pol_version
    size_t pol_len;
    uint64_t pol_version;
    int64_t pol_ns;                   // when it was broadcast
    int pending_robots;               // robots seen at its publication, not yet serving it
    uint64_t id;
    LagRing lag, lag_all;
    pthread_t thread;
    int started;
    _Atomic int stop;
    pthread_mutex_t lock;
    FleetLearnerStatus st;            // counters (guarded by lock); robots copied on read
};

static RateLog rl_bad, rl_refused;

#define LOCKED(f, stmt)                  \
    do {                                 \
        pthread_mutex_lock(&(f)->lock);  \
        stmt;                            \
        pthread_mutex_unlock(&(f)->lock); \
    } while (0)

static void bad(FleetLearner* f, const char* why) {
    LOCKED(f, f->st.bad_messages++);
    ratelog_log(&rl_bad, LOG_LV_WARNING, "fleet: bad message from a robot: %s", why);
}

//---- lag --------------------------------------------------------------------------

static void lag_add(FleetLearner* f, LagRing* r, double ms) {
    LOCKED(f, r->v[r->n % LAG_SAMPLES] = ms; r->n++);
}

static int cmp_d(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static void lag_summary(const LagRing* r, uint64_t* n, double* p50, double* p99, double* mx) {
    static double tmp[LAG_SAMPLES];   // callers hold f->lock
    int k = r->n < LAG_SAMPLES ? (int)r->n : LAG_SAMPLES;
    *n = r->n;
    *p50 = *p99 = *mx = 0;
    if (!k) return;
    memcpy(tmp, r->v, (size_t)k * sizeof(double));
    qsort(tmp, (size_t)k, sizeof(double), cmp_d);
    *p50 = tmp[(k - 1) / 2];
    *p99 = tmp[(int)((k - 1) * 0.99)];
    *mx = tmp[k - 1];
}

// A robot reports the version it serves: a lag sample when it reached the pending one.
static void note_served(FleetLearner* f, Robot* rb, uint64_t served, int64_t now) {
    LOCKED(f, rb->info.served = served);
    if (!f->pol_version || rb->reached || served < f->pol_version) return;
    rb->reached = 1;
    double ms = 1e-6 * (double)(now - f->pol_ns);
    LOCKED(f, rb->info.lag_ms = ms);
    lag_add(f, &f->lag, ms);
    if (--f->pending_robots == 0) lag_add(f, &f->lag_all, ms);
}

//---- robots -----------------------------------------------------------------------

static void send_to(FleetLearner* f, Robot* rb, const void* buf, int n) {
    if (n > 0) (void)link_router_send(f->router, &rb->peer, buf, (size_t)n, ZMQ_DONTWAIT);
}

static void ack(FleetLearner* f, Robot* rb, int rewind) {
    unsigned char out[128];
    send_to(f, rb, out, fleet_encode_ack(out, sizeof out, f->id, rb->info.next_seq, rewind,
                                         f->pol_version));
}

static void send_policy(FleetLearner* f, Robot* rb, int64_t now) {
    if (!f->pol_version) return;
    send_to(f, rb, f->pol, (int)f->pol_len);
    rb->policy_sent_version = f->pol_version;
    rb->policy_ns = now;
    LOCKED(f, rb->info.policies_sent++);
}

// The robot named in a hello / rows message: found, restarted (new boot: its rows
// count from 0 again) or new (from the first row it still holds). NULL: refused.
static Robot* robot_for(FleetLearner* f, const FleetMsg* m, const LinkPeer* peer, int* ret_new) {
    *ret_new = 0;
    Robot* rb = NULL;
    for (int i = 0; i < f->n_robots && !rb; i++)
        if (!strcmp(f->robots[i].info.name, m->robot)) rb = &f->robots[i];
    if (!rb) {
        if (f->n_robots == FLEET_MAX_ROBOTS) {
            LOCKED(f, f->st.robots_refused++);
            ratelog_log(&rl_refused, LOG_LV_WARNING, "fleet: robot '%s' refused: %d robots "
                        "already", m->robot, FLEET_MAX_ROBOTS);
            return NULL;
        }
        rb = &f->robots[f->n_robots];
        memset(rb, 0, sizeof *rb);
        snprintf(rb->info.name, sizeof rb->info.name, "%s", m->robot);
        LOCKED(f, f->n_robots++);
        maacd_log(LOG_LV_NOTICE, "fleet: robot '%s' joined (rows from %llu)", m->robot,
                  (unsigned long long)m->acked);
    } else if (rb->info.boot == m->boot) {
        rb->peer = *peer;
        return rb;
    } else {
        maacd_log(LOG_LV_NOTICE, "fleet: robot '%s' restarted (rows from %llu)", m->robot,
                  (unsigned long long)m->acked);
        LOCKED(f, rb->info.restarts++);
    }
    LOCKED(f, rb->info.boot = m->boot; rb->info.first_seq = rb->info.next_seq = m->acked;
           rb->info.served = 0);
    rb->peer = *peer;
    rb->reached = 1;   // not counted in the pending publication's lag
    rb->policy_sent_version = 0;
    *ret_new = 1;
    return rb;
}

// A learner with no plant of its own: the first robot's hello describes it.
static void adopt_plant(FleetLearner* f, const FleetMsg* m) {
    PlantInfo* p = &f->plant;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", m->plant);
    p->obs_dim = m->obs_dim;
    p->act_dim = m->act_dim;
    p->dt = m->dt;
    for (int j = 0; j < m->act_dim; j++) {
        p->act_low[j] = (float)m->act_low[j];
        p->act_high[j] = (float)m->act_high[j];
    }
    atomic_store(&f->plant_known, 1);
    maacd_log(LOG_LV_NOTICE, "fleet: plant '%s' (obs %d, action %d, dt %.4f s) as robot '%s' "
              "describes it", p->name, p->obs_dim, p->act_dim, p->dt, m->robot);
}

static void on_hello(FleetLearner* f, const FleetMsg* m, const LinkPeer* peer, int64_t now) {
    if (!atomic_load(&f->plant_known) && (!f->cfg.plant[0] || !strcmp(f->cfg.plant, m->plant)))
        adopt_plant(f, m);   // ([plant] name, when set, is the only plant taken)
    if (strcmp(m->plant, f->plant.name) || m->obs_dim != f->plant.obs_dim ||
        m->act_dim != f->plant.act_dim) {
        LOCKED(f, f->st.robots_refused++);
        ratelog_log(&rl_refused, LOG_LV_WARNING, "fleet: robot '%s' refused: plant '%s' obs %d "
                    "/ action %d, this learner's is '%s' %d / %d", m->robot, m->plant, m->obs_dim,
                    m->act_dim, f->plant.name, f->plant.obs_dim, f->plant.act_dim);
        return;
    }
    int fresh;
    Robot* rb = robot_for(f, m, peer, &fresh);
    if (!rb) return;
    rb->seen_ns = now;
    LOCKED(f, rb->info.robot_rows = m->rows);
    note_served(f, rb, m->served, now);
    ack(f, rb, fresh);
    if (m->served != f->pol_version &&
        (rb->policy_sent_version != f->pol_version || now - rb->policy_ns > POLICY_RESEND_NS))
        send_policy(f, rb, now);
}

// Forward rows [skip, n) of the decoded message (all of it unchanged when skip = 0).
static int forward(FleetLearner* f, const FleetMsg* m, const WireTransitions* t, int skip) {
    if (skip == 0) return link_send(f->push, m->tr, m->tr_len, ZMQ_DONTWAIT);
    int rf = 2 * f->plant.obs_dim + f->plant.act_dim + 2, S = f->plant.obs_dim, A = f->plant.act_dim;
    for (int i = skip; i < t->n; i++) {
        float* row = f->rows + (size_t)(i - skip) * (size_t)rf;
        wire_transitions_row(t, i, row, row + S, row + S + A, row + S + A + 1, row + 2 * S + A + 1);
    }
    int k = wire_encode_transitions(f->trbuf, f->tr_cap, S, A, t->n - skip, f->rows, t->source);
    return k < 0 ? k : link_send(f->push, f->trbuf, (size_t)k, ZMQ_DONTWAIT);
}

static void on_rows(FleetLearner* f, const FleetMsg* m, const LinkPeer* peer, int64_t now) {
    if (!atomic_load(&f->plant_known)) return;   // not acked: resent after its hello
    int fresh;
    Robot* rb = robot_for(f, m, peer, &fresh);
    if (!rb) return;
    rb->seen_ns = now;
    note_served(f, rb, m->served, now);
    if (m->seq > rb->info.next_seq) {   // rows before these never arrived: go back
        if (now - rb->rewind_ns > REWIND_GAP_NS) {
            rb->rewind_ns = now;
            LOCKED(f, rb->info.rewinds++);
            ack(f, rb, 1);
        }
        return;
    }
    MaacErr err;
    if (wire_decode(m->tr, m->tr_len, f->plant.obs_dim, f->plant.act_dim, f->msg, &err) < 0 ||
        f->msg->type != WIRE_MSG_TRANSITIONS || f->msg->u.tr.n > MAX_MSG_ROWS) {
        bad(f, err.msg);
        return;
    }
    const WireTransitions* t = &f->msg->u.tr;
    uint64_t skip = rb->info.next_seq - m->seq;
    if (skip >= (uint64_t)t->n) {   // all seen already
        LOCKED(f, rb->info.duplicates += (uint64_t)t->n);
        ack(f, rb, 0);
        return;
    }
    if (forward(f, m, t, (int)skip) < 0) {   // the learner's pipe is full: not acked
        LOCKED(f, f->st.not_forwarded += (uint64_t)t->n - skip);
        return;
    }
    uint64_t took = (uint64_t)t->n - skip;
    LOCKED(f, rb->info.next_seq += took; rb->info.received += took;
           rb->info.duplicates += skip; f->st.rows_in += took);
    ack(f, rb, 0);
}

static void take_messages(FleetLearner* f, int64_t now) {
    for (int budget = 0; budget < 1000; budget++) {
        LinkPeer peer;
        int n = link_router_recv(f->router, &peer, f->rx, f->rx_cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) return;
        FleetMsg m;
        MaacErr err;
        if (n < 0 || fleet_decode(f->rx, (size_t)n, &m, &err) < 0) {
            bad(f, n < 0 ? strerror(-n) : err.msg);
            continue;
        }
        if (m.type == FLEET_HELLO) on_hello(f, &m, &peer, now);
        else if (m.type == FLEET_ROWS) on_rows(f, &m, &peer, now);
        else bad(f, "not a hello or rows");
    }
}

//---- broadcast --------------------------------------------------------------------

static int encode_fn(void* obj, void* arg) {
    FleetLearner* f = arg;
    const ServedPolicy* sp = obj;
    if (!sp || !sp->pi) return -ENOENT;
    Ckpt* ck = calloc(1, sizeof *ck);
    if (!ck) return -ENOMEM;
    ckpt_init(ck, "policy");
    char* buf = NULL;
    size_t len = 0;
    MaacErr err;
    int rc = policy_to_ckpt(sp->pi, ck);
    if (rc == 0) rc = ckpt_encode(ck, &buf, &len, &err);
    free(ck);   // networks are borrowed
    if (rc < 0) return rc;
    unsigned char* out = malloc(len + 256);
    int n = out ? fleet_encode_policy(out, len + 256, f->id, sp->version, buf, len) : -ENOMEM;
    free(buf);
    if (n < 0) {
        free(out);
        return n;
    }
    free(f->pol);
    f->pol = out;
    f->pol_len = (size_t)n;
    f->pol_version = sp->version;
    return 0;
}

static void broadcast(FleetLearner* f, int64_t now) {
    uint64_t v = swap_version(f->slot);
    if (!atomic_load(&f->armed) || v == f->pol_version || v == atomic_load(&f->skip_version))
        return;
    int rc = swap_with_current(f->slot, encode_fn, f);
    if (rc < 0) {
        maacd_log(LOG_LV_WARNING, "fleet: policy v%llu not broadcast: %s",
                  (unsigned long long)v, strerror(-rc));
        atomic_store(&f->skip_version, v);   // not again
        return;
    }
    f->pol_ns = now;
    f->pending_robots = 0;
    for (int i = 0; i < f->n_robots; i++) {
        Robot* rb = &f->robots[i];
        rb->reached = 1;
        if (now - rb->seen_ns > 10000000000LL) continue;   // gone: it asks when back
        rb->reached = 0;
        f->pending_robots++;
        send_policy(f, rb, now);
    }
    LOCKED(f, f->st.broadcasts++; f->st.version = f->pol_version; f->st.policy_bytes = f->pol_len);
}

static void* fl_main(void* arg) {
    FleetLearner* f = arg;
    zmq_pollitem_t item = {f->router, 0, ZMQ_POLLIN, 0};
    while (!atomic_load(&f->stop)) {
        (void)zmq_poll(&item, 1, 10);
        int64_t now = rt_now_ns();
        broadcast(f, now);
        take_messages(f, now);
    }
    return NULL;
}

//---- status and life cycle ----------------------------------------------------------

void fleet_learner_status(FleetLearner* f, FleetLearnerStatus* ret) {
    int64_t now = rt_now_ns();
    pthread_mutex_lock(&f->lock);
    *ret = f->st;
    ret->learner_id = f->id;
    ret->n_robots = f->n_robots;
    for (int i = 0; i < f->n_robots; i++) {
        ret->robots[i] = f->robots[i].info;
        ret->robots[i].last_seen_s = 1e-9 * (double)(now - f->robots[i].seen_ns);
    }
    lag_summary(&f->lag, &ret->lag_n, &ret->lag_p50_ms, &ret->lag_p99_ms, &ret->lag_max_ms);
    lag_summary(&f->lag_all, &ret->lag_all_n, &ret->lag_all_p50_ms, &ret->lag_all_p99_ms,
                &ret->lag_all_max_ms);
    pthread_mutex_unlock(&f->lock);
}

static void free_learner(FleetLearner* f) {
    link_close(f->router);
    link_close(f->push);
    free(f->rx);
    free(f->msg);
    free(f->rows);
    free(f->trbuf);
    free(f->pol);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static int open_sockets(FleetLearner* f, MaacErr* err) {
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = (int64_t)f->rx_cap;
    o.sndhwm = 1000;
    o.rcvhwm = 1000;
    f->router = sec_bind(&f->cfg, f->zctx, ZMQ_ROUTER, f->cfg.fleet_bind, &o, err);
    if (!f->router) return -EINVAL;
    link_opts_default(&o);
    o.sndhwm = 1000;   // messages of up to MAX_MSG_ROWS rows
    f->push = link_connect(f->zctx, ZMQ_PUSH, LINK_FLEET_INPROC, &o, err);
    return f->push ? 0 : -EINVAL;
}

FleetLearner* fleet_learner_start(const DaemonConfig* cfg, const PlantInfo* plant, void* zctx,
                                  SwapSlot* slot, uint64_t skip_version, MaacErr* reterr) {
    FleetLearner* f = calloc(1, sizeof *f);
    if (!f) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    PlantInfo any = {.obs_dim = WIRE_MAX_OBS, .act_dim = WIRE_MAX_ACT};   // buffers' sizes
    if (plant) f->plant = *plant;
    else plant = &any;
    f->zctx = zctx;
    f->slot = slot;
    atomic_init(&f->skip_version, skip_version);
    atomic_init(&f->armed, f->plant.obs_dim > 0);
    atomic_init(&f->plant_known, f->plant.obs_dim > 0);
    Rng g;
    rng_seed(&g, (uint64_t)rt_now_ns() ^ ((uint64_t)getpid() << 40));
    f->id = rng_next(&g) >> 2;
    pthread_mutex_init(&f->lock, NULL);
    atomic_init(&f->stop, 0);
    int rf = 2 * plant->obs_dim + plant->act_dim + 2;
    f->tr_cap = wire_transitions_size(plant->obs_dim, plant->act_dim, MAX_MSG_ROWS, "") + 256;
    f->rx_cap = f->tr_cap + 2 * WIRE_MAX_NAME + FLEET_ROWS_OVERHEAD;
    f->rx = malloc(f->rx_cap);
    f->msg = calloc(1, sizeof *f->msg);
    f->rows = malloc((size_t)MAX_MSG_ROWS * (size_t)rf * sizeof(float));
    f->trbuf = malloc(f->tr_cap);
    if (!f->rx || !f->msg || !f->rows || !f->trbuf) {
        maac_err(reterr, -ENOMEM, "out of memory");
        goto fail;
    }
    if (open_sockets(f, reterr) < 0) goto fail;
    if (pthread_create(&f->thread, NULL, fl_main, f) != 0) {
        maac_err(reterr, -EAGAIN, "cannot start the fleet thread");
        goto fail;
    }
    f->started = 1;
    maacd_log(LOG_LV_NOTICE, "fleet: learner takes robots' rows and broadcasts its policies on "
              "%s", cfg->fleet_bind);
    return f;
fail:
    free_learner(f);
    return NULL;
}

int fleet_learner_wait_plant(FleetLearner* f, const _Atomic int* stop, PlantInfo* ret) {
    int64_t last = 0;
    while (!atomic_load(stop)) {
        if (atomic_load(&f->plant_known)) {
            *ret = f->plant;   // written once, before plant_known
            return 0;
        }
        int64_t now = rt_now_ns();
        if (now - last > 1000000000LL) {   // healthy while waiting
            notify_watchdog();
            notify_status("waiting for a robot on %s to describe the plant", f->cfg.fleet_bind);
            last = now;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -EINTR;
}

void fleet_learner_arm(FleetLearner* f, uint64_t skip_version) {
    atomic_store(&f->skip_version, skip_version);
    atomic_store(&f->armed, 1);
}

void fleet_learner_stop(FleetLearner* f) {
    if (!f) return;
    if (f->started) {
        atomic_store(&f->stop, 1);
        pthread_join(f->thread, NULL);
    }
    free_learner(f);
}
