// SPDX-License-Identifier: Apache-2.0
// fleet_robot.c -- a robot daemon's fleet thread: rows out with acknowledgements,
// policies in with the checks of a local swap (fleet_robot.h).
//
// Rows are numbered from 0 at start (seq). The ring holds [acked, rows); rows
// [acked, sent) are on the wire. The loop: wait up to 10 ms on the pipe (while the
// ring has room) and the learner; take in acks / policies; take in rows; send what
// the window allows; then the timers (heartbeat hello once a second and whenever the
// served version changes, resend after 1 s without progress, lost after
// lost_after_s).
// Thread: the fleet thread; status under a mutex. Allocation: create, policy decode.
#include "daemon/fleet_robot.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "core/ckpt.h"
#include "core/rng.h"
#include "daemon/notify.h"
#include "daemon/ratelog.h"
#include "daemon/rt.h"
#include "daemon/security.h"
#include "daemon/swap_cost.h"
#include "transport/fleet_wire.h"
#include "transport/link.h"

#define BATCH_ROWS 256            // rows per fleet_rows message
#define WINDOW_ROWS 4096          // rows on the wire before an ack
#define RESEND_NS 1000000000LL    // no ack progress this long: resend from acked
#define HELLO_NS 1000000000LL     // heartbeat
#define POLICY_RX_MAX (8 << 20)   // largest policy message taken (bytes)
#define LINK_RX_MAX (64 << 20)    // larger: ZeroMQ drops the connection (memory cap)

struct FleetRobot {
    DaemonConfig cfg;
    PlantInfo plant;
    void* zctx;
    SwapSlot* slot;
    Ctrl* ctrl;
    void* pull;                   // inproc PULL (the control thread's rows)
    void* dealer;                 // to the learner
    int S, A, rf;                 // dims, floats per row
    float* ring;                  // (cap, rf)
    uint64_t cap;
    uint64_t rows, sent, acked;   // seq counters
    uint64_t boot;                // this process's id at the learner
    unsigned char* rx;            // from the learner
    size_t rx_cap;
    unsigned char* in;            // from the pipe
    size_t in_cap;
    WireMsg* msg;
    unsigned char* trbuf;         // one transitions message of up to BATCH_ROWS
    size_t tr_cap;
    unsigned char* tx;            // one fleet message
    size_t tx_cap;
    int64_t start_ns, heard_ns, progress_ns, hello_ns;
    int lost_announced;           // the ALARM line for this silence was logged
    uint64_t reported_served;     // served version in the last hello
    long ok_params;               // parameter count whose cost check passed (-1 none)
    uint64_t applied_slot_version;   // slot version of the last learner policy published
    uint64_t applied_learner_version, prev_learner_version;   // its learner version, the one before
    uint64_t applied_learner_id;     // the learner process it came from
    pthread_t thread;
    int started;
    _Atomic int stop;
    pthread_mutex_t lock;
    FleetRobotStatus st;          // guarded by lock
};

static RateLog rl_bad;

//---- status -----------------------------------------------------------------------

#define LOCKED(r, stmt)                  \
    do {                                 \
        pthread_mutex_lock(&(r)->lock);  \
        stmt;                            \
        pthread_mutex_unlock(&(r)->lock); \
    } while (0)

static void bad(FleetRobot* r, const char* what, const char* why) {
    LOCKED(r, r->st.bad_messages++);
    ratelog_log(&rl_bad, LOG_LV_WARNING, "fleet: bad %s: %s", what, why);
}

void fleet_robot_status(FleetRobot* r, FleetRobotStatus* ret) {
    pthread_mutex_lock(&r->lock);
    *ret = r->st;
    pthread_mutex_unlock(&r->lock);
}

const char* fleet_robot_line(FleetRobot* r, char* buf, int cap) {
    FleetRobotStatus s;
    fleet_robot_status(r, &s);
    if (s.connected)
        snprintf(buf, (size_t)cap, "fleet: learner connected, its policy v%llu, %llu rows held",
                 (unsigned long long)s.learner_version, (unsigned long long)s.buffered);
    else
        snprintf(buf, (size_t)cap, "fleet: LEARNER LOST (%s %.0f s), serving last policy "
                 "(learner's v%llu), %llu of %llu rows held%s", s.ever ? "unheard" : "never heard,",
                 s.silent_s, (unsigned long long)s.learner_version,
                 (unsigned long long)s.buffered, (unsigned long long)s.buffer_rows,
                 s.full ? " (FULL)" : "");
    return buf;
}

//---- sending ----------------------------------------------------------------------

// The learner's version of the policy the loop served on its last tick (0: none of
// the learner's yet). The loop picks up a publication at its next tick.
static uint64_t served_now(FleetRobot* r) {
    if (!r->applied_slot_version) return 0;
    uint64_t ticked = atomic_load(&ctrl_stats(r->ctrl)->policy_version);
    return ticked >= r->applied_slot_version ? r->applied_learner_version : r->prev_learner_version;
}

static void send_hello(FleetRobot* r, int64_t now) {
    uint64_t served = served_now(r);
    int n = fleet_encode_hello(r->tx, r->tx_cap, r->st.name, r->boot, r->plant.name, r->S, r->A,
                               r->plant.dt, r->plant.act_low, r->plant.act_high, served,
                               r->acked, r->rows);
    if (n > 0 && link_send(r->dealer, r->tx, (size_t)n, ZMQ_DONTWAIT) == 0) {
        r->reported_served = served;
        r->hello_ns = now;
    }
}

// Send rows [sent, ...) as the window allows. ZMQ_IMMEDIATE: nothing is queued while
// no learner is connected (link_send -EAGAIN), so rows stay in the ring.
static void send_rows(FleetRobot* r) {
    while (r->sent < r->rows && r->sent - r->acked < WINDOW_ROWS) {
        uint64_t idx = r->sent % r->cap;
        uint64_t n = r->rows - r->sent;
        if (n > BATCH_ROWS) n = BATCH_ROWS;
        if (n > r->cap - idx) n = r->cap - idx;   // contiguous in the ring
        int k = wire_encode_transitions(r->trbuf, r->tr_cap, r->S, r->A, (int)n,
                                        r->ring + idx * (uint64_t)r->rf, r->st.name);
        if (k < 0) return;
        int m = fleet_encode_rows(r->tx, r->tx_cap, r->st.name, r->boot, r->sent, r->acked,
                                  served_now(r), r->trbuf, (size_t)k);
        if (m < 0 || link_send(r->dealer, r->tx, (size_t)m, ZMQ_DONTWAIT) < 0) return;
        r->sent += n;
        LOCKED(r, r->st.sent += n);
    }
}

//---- rows from the control thread -------------------------------------------------

// Take in what the pipe holds while the ring has room.
static void take_rows(FleetRobot* r) {
    while (r->rows - r->acked < r->cap) {
        int n = link_recv(r->pull, r->in, r->in_cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) return;
        MaacErr err;
        if (n < 0 || wire_decode(r->in, (size_t)n, r->S, r->A, r->msg, &err) < 0 ||
            r->msg->type != WIRE_MSG_TRANSITIONS) {
            bad(r, "row from the control thread", n < 0 ? strerror(-n) : err.msg);
            continue;
        }
        const WireTransitions* t = &r->msg->u.tr;
        for (int i = 0; i < t->n; i++) {   // the loop sends one row per message
            float* row = r->ring + (r->rows % r->cap) * (uint64_t)r->rf;
            wire_transitions_row(t, i, row, row + r->S, row + r->S + r->A,
                                 row + r->S + r->A + 1, row + 2 * r->S + r->A + 1);
            r->rows++;
        }
    }
}

//---- policies from the learner ----------------------------------------------------

// The checks of `maacctl swap` (served_validate, then swap_cost_check once per shape).
static int check_policy(FleetRobot* r, ServedPolicy* sp, MaacErr* err) {
    int rc = served_validate(sp, &r->plant, err);
    if (rc < 0) return rc;
    long params = (long)(swap_cost_bytes(sp->pi) / sizeof(float));
    if (params == r->ok_params) return 0;   // same shape, same cost: timed already
    SwapLimits lim = {
        .max_params = r->cfg.swap_max_params,
        .max_memory_mb = r->cfg.swap_max_memory_mb,
        .time_fraction = r->cfg.swap_time_fraction,
        .period_s = 1.0 / ctrl_rate_hz(r->ctrl),
    };
    rc = swap_cost_check(sp->pi, &lim, NULL, err);
    if (rc == 0) r->ok_params = params;
    return rc;
}

static ServedPolicy* decode_policy(const FleetMsg* m, MaacErr* err) {
    Ckpt* ck = calloc(1, sizeof *ck);
    ServedPolicy* sp = calloc(1, sizeof *sp);
    if (!ck || !sp) {
        maac_err(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (ckpt_decode(m->policy, m->policy_len, ck, err) < 0) goto fail;
    sp->pi = policy_from_ckpt(ck, err);
    ckpt_done(ck);
    if (!sp->pi) goto fail;
    free(ck);
    return sp;
fail:
    free(ck);
    served_free(sp);
    return NULL;
}

static void reject(FleetRobot* r, uint64_t version, const char* why) {
    LOCKED(r, r->st.policies_rejected++;
           snprintf(r->st.last_reject, sizeof r->st.last_reject, "v%llu: %.180s",
                    (unsigned long long)version, why));
    maacd_log(LOG_LV_WARNING, "fleet: learner's policy v%llu refused: %s; still serving v%llu",
              (unsigned long long)version, why, (unsigned long long)swap_version(r->slot));
}

static void apply_policy(FleetRobot* r, const FleetMsg* m) {
    LOCKED(r, r->st.policies_received++);
    if (m->learner == r->applied_learner_id && m->version <= r->applied_learner_version)
        return;   // have it (or a newer one) from this learner process
    MaacErr err;
    err.msg[0] = 0;
    ServedPolicy* sp = decode_policy(m, &err);
    if (!sp || check_policy(r, sp, &err) < 0) {
        reject(r, m->version, err.msg);
        served_free(sp);
        return;
    }
    uint64_t v = 0;
    int rc = swap_publish(r->slot, sp, m->version, &v);
    if (rc < 0) {
        served_free(sp);
        reject(r, m->version, strerror(-rc));
        return;
    }
    if (v != m->version)
        maacd_log(LOG_LV_NOTICE, "fleet: the learner's policy v%llu is served as v%llu (this "
                  "daemon had served a later version)", (unsigned long long)m->version,
                  (unsigned long long)v);
    r->prev_learner_version = served_now(r);
    r->applied_slot_version = v;
    r->applied_learner_version = m->version;
    r->applied_learner_id = m->learner;
    LOCKED(r, r->st.policies_applied++; r->st.learner_version = m->version);
}

//---- messages from the learner ----------------------------------------------------

static void heard(FleetRobot* r, uint64_t learner, int64_t now) {
    FleetRobotStatus s;
    fleet_robot_status(r, &s);
    if (!s.ever || r->lost_announced)
        maacd_log(LOG_LV_NOTICE, "fleet: learner %s %s", r->cfg.fleet_connect,
                  s.ever ? "heard again" : "connected");
    if (s.learner_id && learner != s.learner_id)
        maacd_log(LOG_LV_NOTICE, "fleet: the learner restarted; rows from %llu are sent again "
                  "as it asks", (unsigned long long)r->acked);
    r->heard_ns = now;
    r->lost_announced = 0;
    LOCKED(r, r->st.connected = 1; r->st.ever = 1;
           if (r->st.learner_id && learner != r->st.learner_id) r->st.learner_restarts++;
           r->st.learner_id = learner);
}

static void on_ack(FleetRobot* r, const FleetMsg* m, int64_t now) {
    if (m->next > r->rows || m->next < r->acked) {   // not a row we hold (an old ack)
        if (m->next > r->rows) bad(r, "ack", "acknowledges rows never sent");
        return;
    }
    if (m->next > r->acked) {
        r->acked = m->next;
        r->progress_ns = now;
    }
    if (r->sent < r->acked) r->sent = r->acked;
    if (m->rewind && r->sent > m->next) {
        LOCKED(r, r->st.resent += r->sent - m->next);
        r->sent = m->next;
    }
}

static void take_learner(FleetRobot* r, int64_t now) {
    for (;;) {
        int n = link_recv(r->dealer, r->rx, r->rx_cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) return;
        FleetMsg m;
        MaacErr err;
        if (n == -EMSGSIZE) {   // consumed: a policy too large for this robot
            snprintf(err.msg, sizeof err.msg, "a message of more than %zu bytes (a policy "
                     "larger than [daemon] swap_max_bytes or 8 MiB)", r->rx_cap);
            reject(r, 0, err.msg);
            continue;
        }
        if (n < 0 || fleet_decode(r->rx, (size_t)n, &m, &err) < 0) {
            bad(r, "message from the learner", n < 0 ? strerror(-n) : err.msg);
            continue;
        }
        if (m.type != FLEET_ACK && m.type != FLEET_POLICY) {
            bad(r, "message from the learner", "not an ack or a policy");
            continue;
        }
        heard(r, m.learner, now);
        if (m.type == FLEET_ACK) on_ack(r, &m, now);
        else apply_policy(r, &m);
    }
}

//---- timers -----------------------------------------------------------------------

static void check_lost(FleetRobot* r, int64_t now) {
    FleetRobotStatus s;
    fleet_robot_status(r, &s);
    double silent = 1e-9 * (double)(now - (r->heard_ns ? r->heard_ns : r->start_ns));
    int lost = silent > r->cfg.fleet_lost_after_s;
    if (lost && !r->lost_announced) {
        r->lost_announced = 1;
        maacd_log(LOG_LV_ERR, "ALARM: fleet: learner %s %s for %.1f s; serving the last policy "
                  "(v%llu, the learner's v%llu); holding %llu rows (room for %llu = %.0f s)",
                  r->cfg.fleet_connect, s.ever ? "unheard" : "not reached", silent,
                  (unsigned long long)swap_version(r->slot), (unsigned long long)s.learner_version,
                  (unsigned long long)(r->rows - r->acked), (unsigned long long)r->cap,
                  s.buffer_s);
        LOCKED(r, r->st.lost_events++);
    }
    int full = r->rows - r->acked >= r->cap;
    if (full && !s.full)
        maacd_log(LOG_LV_ERR, "ALARM: fleet: row buffer full (%llu rows = %.0f s): %s",
                  (unsigned long long)r->cap, s.buffer_s,
                  r->cfg.plant_mode == PLANT_MODE_REALTIME
                      ? "the loop drops transitions (counted in transitions_dropped)"
                      : "the lock-step plant waits until the learner takes rows");
    LOCKED(r, r->st.silent_s = r->heard_ns ? silent : -1.0; r->st.connected = !lost && r->heard_ns;
           if (full && !r->st.full) r->st.buffer_full++; r->st.full = full;
           r->st.rows = r->rows; r->st.acked = r->acked; r->st.buffered = r->rows - r->acked);
}

static void timers(FleetRobot* r, int64_t now) {
    if (now - r->hello_ns >= HELLO_NS || served_now(r) != r->reported_served) send_hello(r, now);
    if (r->sent == r->acked) r->progress_ns = now;   // nothing on the wire: no timeout
    if (now - r->progress_ns > RESEND_NS) {
        LOCKED(r, r->st.resent += r->sent - r->acked);
        r->sent = r->acked;   // go back: the learner takes each row once
        r->progress_ns = now;
    }
    check_lost(r, now);
}

static void* fr_main(void* arg) {
    FleetRobot* r = arg;
    zmq_pollitem_t items[2] = {{r->dealer, 0, ZMQ_POLLIN, 0}, {r->pull, 0, ZMQ_POLLIN, 0}};
    while (!atomic_load(&r->stop)) {
        int room = r->rows - r->acked < r->cap;
        (void)zmq_poll(items, room ? 2 : 1, 10);
        int64_t now = rt_now_ns();
        take_learner(r, now);
        take_rows(r);
        send_rows(r);
        timers(r, now);
    }
    return NULL;
}

//---- life cycle -------------------------------------------------------------------

static uint64_t random_id(void) {
    uint64_t x = (uint64_t)rt_now_ns() ^ ((uint64_t)getpid() << 32);
    Rng g;
    rng_seed(&g, x);
    return rng_next(&g) >> 2;   // fits msgpack's int64 readers
}

static int open_sockets(FleetRobot* r, MaacErr* err) {
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = (int64_t)r->in_cap;
    o.rcvhwm = r->cfg.plant_mode == PLANT_MODE_LOCKSTEP ? 8 : 100000;
    r->pull = link_bind(r->zctx, ZMQ_PULL, LINK_LEARNER_INPROC, &o, err);
    if (!r->pull) return -EINVAL;
    link_opts_default(&o);
    o.max_msg_bytes = LINK_RX_MAX;   // a larger policy than rx_cap is refused, not fatal
    o.immediate = 1;   // rows wait in the ring, not in a queue to no one
    o.sndhwm = 64;
    o.rcvhwm = 64;
    r->dealer = sec_connect(&r->cfg, r->zctx, ZMQ_DEALER, r->cfg.fleet_connect, &o, err);
    return r->dealer ? 0 : -EINVAL;
}

static int alloc_buffers(FleetRobot* r) {
    double rate = ctrl_rate_hz(r->ctrl);
    double rows = r->cfg.fleet_buffer_s * rate;
    r->cap = rows < 1024 ? 1024 : (uint64_t)rows;
    r->rf = 2 * r->S + r->A + 2;
    r->ring = malloc(r->cap * (uint64_t)r->rf * sizeof(float));
    r->in_cap = wire_transitions_size(r->S, r->A, 4, "local") + 256;
    r->in = malloc(r->in_cap);
    r->tr_cap = wire_transitions_size(r->S, r->A, BATCH_ROWS, r->st.name);
    r->trbuf = malloc(r->tr_cap);
    r->tx_cap = r->tr_cap + FLEET_ROWS_OVERHEAD;
    r->tx = malloc(r->tx_cap);
    long pmax = r->cfg.swap_max_bytes < POLICY_RX_MAX ? r->cfg.swap_max_bytes : POLICY_RX_MAX;
    r->rx_cap = (size_t)pmax + 4096;
    r->rx = malloc(r->rx_cap);
    r->msg = calloc(1, sizeof *r->msg);
    r->st.buffer_rows = r->cap;
    r->st.buffer_s = (double)r->cap / rate;
    return r->ring && r->in && r->trbuf && r->tx && r->rx && r->msg ? 0 : -ENOMEM;
}

static void free_robot(FleetRobot* r) {
    link_close(r->pull);
    link_close(r->dealer);
    free(r->ring);
    free(r->in);
    free(r->trbuf);
    free(r->tx);
    free(r->rx);
    free(r->msg);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void robot_name(const DaemonConfig* cfg, char* out, size_t cap) {
    if (cfg->fleet_name[0]) {
        snprintf(out, cap, "%s", cfg->fleet_name);
        return;
    }
    char host[64] = "robot";
    (void)gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(out, cap, "%s", host);
}

FleetRobot* fleet_robot_start(const DaemonConfig* cfg, void* zctx, SwapSlot* slot, Ctrl* ctrl,
                              MaacErr* reterr) {
    FleetRobot* r = calloc(1, sizeof *r);
    if (!r) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->plant = *ctrl_plant(ctrl);
    r->zctx = zctx;
    r->slot = slot;
    r->ctrl = ctrl;
    r->S = r->plant.obs_dim;
    r->A = r->plant.act_dim;
    r->boot = random_id();
    r->ok_params = -1;
    r->st.silent_s = -1;
    robot_name(cfg, r->st.name, sizeof r->st.name);
    pthread_mutex_init(&r->lock, NULL);
    atomic_init(&r->stop, 0);
    if (alloc_buffers(r) < 0) {
        maac_err(reterr, -ENOMEM, "out of memory (fleet row buffer of %llu rows)",
                 (unsigned long long)r->cap);
        goto fail;
    }
    if (open_sockets(r, reterr) < 0) goto fail;
    r->start_ns = r->progress_ns = r->hello_ns = rt_now_ns();
    r->hello_ns -= HELLO_NS;   // the first hello at once
    ctrl_set_learner_alive(ctrl, 1);
    if (pthread_create(&r->thread, NULL, fr_main, r) != 0) {
        ctrl_set_learner_alive(ctrl, 0);
        maac_err(reterr, -EAGAIN, "cannot start the fleet thread");
        goto fail;
    }
    r->started = 1;
    maacd_log(LOG_LV_NOTICE, "fleet: robot '%s' forwards every transition to the learner at %s "
              "and serves its policies; row buffer %llu rows (%.0f s at %.0f Hz)", r->st.name,
              cfg->fleet_connect, (unsigned long long)r->cap, r->st.buffer_s,
              ctrl_rate_hz(ctrl));
    return r;
fail:
    free_robot(r);
    return NULL;
}

void fleet_robot_stop(FleetRobot* r) {
    if (!r) return;
    if (r->started) {
        atomic_store(&r->stop, 1);
        pthread_join(r->thread, NULL);
        ctrl_set_learner_alive(r->ctrl, 0);
    }
    FleetRobotStatus s;
    fleet_robot_status(r, &s);
    if (r->rows > r->acked)
        maacd_log(LOG_LV_WARNING, "fleet: stopping with %llu rows the learner has not "
                  "acknowledged (they are not saved)", (unsigned long long)(r->rows - r->acked));
    free_robot(r);
}
