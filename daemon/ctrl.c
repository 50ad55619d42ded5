// SPDX-License-Identifier: Apache-2.0
// ctrl.c -- the control thread: observation -> policy (or CEM-MPC) -> action ->
// transition, in lock-step or at a fixed rate on absolute deadlines.
//
// See ctrl.h for the two modes and the bad-input rules. Everything the loop touches
// is allocated by ctrl_create; the loop body uses only preallocated buffers, the
// allocation-free wire codec, policy_act1 / cem_plan (allocation-free by contract),
// and ZeroMQ with ZMQ_DONTWAIT. Errors become counters and rt.h ring events;
// ctrl_drain_events logs them from a non-RT thread.
// Thread: control thread (loop, ctrl_step), any thread (stats, commands).
// Allocation: ctrl_create / ctrl_start only.
#include "daemon/ctrl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "daemon/notify.h"

#define RLX memory_order_relaxed
#define MAX_MSGS_PER_TICK 256
#define N_RECENT 10

struct Ctrl {
    DaemonConfig cfg;
    PlantInfo plant;
    int S, A;                       // obs_dim, act_dim
    PlantMode mode;
    int64_t period_ns;              // realtime period
    int64_t stale_ns;               // realtime: older observations are stale
    void* plant_sock;               // ROUTER (owned)
    void* learner_push;             // PUSH to LINK_LEARNER_INPROC (owned)
    SwapSlot* slot;                 // policy publication (borrowed)
    const SimRewardFn* rf;          // for CEM (NULL: no MPC)
    LinkPeer peer;                  // the plant that said hello
    int have_peer;
    // buffers (all preallocated)
    unsigned char* rx;              // (rx_cap) received message
    size_t rx_cap;
    unsigned char* tx;              // (tx_cap) replies
    size_t tx_cap;
    unsigned char* trbuf;           // (tr_cap) one encoded transition
    size_t tr_cap;
    int tr_len;
    unsigned char* held_act;        // (tx_cap) action held back by back-pressure
    int held_len;
    LinkPeer held_peer;
    int held;                       // 1: trbuf + held_act wait for the learner pipe
    WireMsg* msg;                   // decoded message
    float* obs;                     // (S) current observation
    float* prev_obs;                // (S) observation last answered
    float* act;                     // (A) action computed
    float* prev_act;                // (A) action last sent
    float* eps;                     // (A) exploration noise
    float* row;                     // (2S + A + 2) transition row
    float* scratch;                 // (CTRL_SCRATCH_FLOATS) policy_act1 scratch
    float safe[WIRE_MAX_ACT];       // (A) safe action
    Rng rng;
    // episode / sequence state
    int have_seq;
    uint64_t last_seq;
    int have_prev;                  // prev_obs/prev_act answer prev_seq
    uint64_t prev_seq;
    int in_episode;
    int eval_episode;               // this episode is a deterministic evaluation
    long episodes_started;          // for eval_every
    int64_t held_since_ns;          // lock-step: when the held transition was first refused
    int64_t busy_notice_ns;         // last learner_busy notice
    void* episode_log;              // FILE* (main thread's, via drain)
    double ep_return;
    long ep_len;
    double recent[N_RECENT];
    int n_recent, i_recent;
    // realtime: the newest valid observation
    int have_latest;
    uint64_t latest_seq;
    int64_t latest_rx_ns;
    int latest_answered;
    int latest_terminal;
    int last_was_policy;            // realtime: the action being repeated came from the policy
    uint64_t last_version;
    long random_left;               // uniform-random actions still to serve
    // commands
    _Atomic int act_mode;
    _Atomic int explore;
    _Atomic long random_steps_req;  // new value for random_left (-1 = none)
    _Atomic int learner_alive;
    _Atomic int stop;
    pthread_t thread;
    int started;
    // health (one caller)
    uint64_t hc_misses;
    int64_t hc_ns;
    CtrlStats st;
};

static inline void inc(_Atomic uint64_t* a) {
    atomic_store_explicit(a, atomic_load_explicit(a, RLX) + 1, RLX);
}

//==== create / free ===============================================================

Ctrl* ctrl_create(const DaemonConfig* cfg, const PlantInfo* plant, void* zctx, void* plant_sock,
                  const LinkPeer* peer, SwapSlot* slot, MaacErr* reterr) {
    if (plant->obs_dim < 1 || plant->obs_dim > WIRE_MAX_OBS || plant->act_dim < 1 ||
        plant->act_dim > WIRE_MAX_ACT) {
        maac_err(reterr, -EINVAL, "plant dims %d/%d out of range", plant->obs_dim, plant->act_dim);
        return NULL;
    }
    Ctrl* c = calloc(1, sizeof *c);
    if (!c) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    c->plant = *plant;
    c->S = plant->obs_dim;
    c->A = plant->act_dim;
    c->mode = cfg->plant_mode;
    double hz = cfg->rate_hz > 0 ? cfg->rate_hz : (plant->dt > 0 ? 1.0 / plant->dt : 100.0);
    c->period_ns = (int64_t)(1e9 / hz);
    if (c->period_ns < 10000) c->period_ns = 10000;
    int64_t stale = (int64_t)(cfg->stale_ms * 1e6);
    if (stale <= 0) {
        stale = 2 * c->period_ns;
        int64_t plant2 = (int64_t)(2e9 * plant->dt);
        if (plant2 > stale) stale = plant2;
    }
    c->stale_ns = stale;
    c->slot = slot;
    c->rf = sim_reward_fn(plant->name);
    if (peer && peer->id_len) {
        c->peer = *peer;
        c->have_peer = 1;
    }
    c->rx_cap = (size_t)cfg->max_msg_bytes + 1;   // one more byte: "longer than max"
    c->tx_cap = WIRE_OBS_BUF + 2 * WIRE_MAX_TEXT + 1024;
    c->tr_cap = wire_transitions_size(c->S, c->A, 1, "local");
    int row_floats = 2 * c->S + c->A + 2;
    c->rx = malloc(c->rx_cap);
    c->tx = malloc(c->tx_cap);
    c->held_act = malloc(c->tx_cap);
    c->trbuf = malloc(c->tr_cap);
    c->msg = calloc(1, sizeof *c->msg);
    c->obs = calloc(c->S, sizeof(float));
    c->prev_obs = calloc(c->S, sizeof(float));
    c->act = calloc(c->A, sizeof(float));
    c->prev_act = calloc(c->A, sizeof(float));
    c->eps = calloc(c->A, sizeof(float));
    c->row = calloc(row_floats, sizeof(float));
    c->scratch = calloc(CTRL_SCRATCH_FLOATS, sizeof(float));
    if (!c->rx || !c->tx || !c->held_act || !c->trbuf || !c->msg || !c->obs || !c->prev_obs ||
        !c->act || !c->prev_act || !c->eps || !c->row || !c->scratch) {
        maac_err(reterr, -ENOMEM, "out of memory");
        goto fail;
    }
    // safe action: configured values, else zeros; clamped into the bounds either way
    for (int j = 0; j < c->A; j++) {
        float v = j < cfg->n_safe_action ? cfg->safe_action[j] : 0.0f;
        if (v < plant->act_low[j]) v = plant->act_low[j];
        if (v > plant->act_high[j]) v = plant->act_high[j];
        c->safe[j] = v;
    }
    rng_seed(&c->rng, cfg->seed ^ 0x6374726cULL);
    LinkOpts o;
    link_opts_default(&o);
    // lock-step: a short pipe so the simulator waits for the learner (back-pressure);
    // realtime: a deep one so a slow learner costs dropped transitions, not ticks.
    o.sndhwm = c->mode == PLANT_MODE_LOCKSTEP ? 8 : 10000;
    o.max_msg_bytes = -1;
    c->learner_push = link_connect(zctx, ZMQ_PUSH, LINK_LEARNER_INPROC, &o, reterr);
    if (!c->learner_push) goto fail;
    c->plant_sock = plant_sock;
    atomic_init(&c->act_mode, cfg->act_mode);
    atomic_init(&c->explore, cfg->explore);
    atomic_init(&c->random_steps_req, -1);
    atomic_init(&c->learner_alive, 0);
    atomic_init(&c->stop, 0);
    rt_hist_reset(&c->st.jitter);
    rt_hist_reset(&c->st.compute);
    rt_ring_reset(&c->st.events);
    atomic_store(&c->st.best_return, -INFINITY);
    atomic_store(&c->st.eval_return, NAN);
    atomic_store(&c->st.heartbeat_ns, rt_now_ns());
    return c;
fail:
    c->plant_sock = NULL;   // still the caller's
    ctrl_free(c);
    return NULL;
}

void ctrl_free(Ctrl* c) {
    if (!c) return;
    link_close(c->learner_push);
    link_close(c->plant_sock);
    free(c->rx);
    free(c->tx);
    free(c->held_act);
    free(c->trbuf);
    free(c->msg);
    free(c->obs);
    free(c->prev_obs);
    free(c->act);
    free(c->prev_act);
    free(c->eps);
    free(c->row);
    free(c->scratch);
    free(c);
}

//==== replies ======================================================================

static void send_to(Ctrl* c, const LinkPeer* to, const void* buf, int len) {
    if (len <= 0) return;
    int r = link_router_send(c->plant_sock, to, buf, (size_t)len, ZMQ_DONTWAIT);
    if (r < 0) {
        inc(&c->st.err_send);
        rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_SEND_FAIL, r,
                     0);
        if (r == -EHOSTUNREACH && c->have_peer && link_peer_equal(to, &c->peer)) {
            // the plant is gone without a bye
            if (c->in_episode) inc(&c->st.disconnects);
            c->have_peer = 0;
            c->in_episode = 0;
            c->have_prev = 0;
            c->have_latest = 0;
        }
    }
}

static void reply_error(Ctrl* c, const LinkPeer* to, const char* code, const char* text,
                        int64_t seq) {
    int n = wire_encode_error(c->tx, c->tx_cap, code, text, seq);
    send_to(c, to, c->tx, n);
}

// Encode an action message for seq into buf. Returns its length (> 0) or -errno.
static int encode_action(Ctrl* c, void* buf, uint64_t seq, const float* act, uint64_t version,
                         int safe) {
    WireAction* a = &c->msg->u.action;   // the decoded message is no longer needed
    a->seq = seq;
    a->act_dim = c->A;
    for (int j = 0; j < c->A; j++) a->action[j] = act[j];
    a->policy_version = safe ? 0 : version;
    a->safe = safe;
    return wire_encode_action(buf, c->tx_cap, a);
}

static void send_safe(Ctrl* c, const LinkPeer* to, uint64_t seq) {
    int n = encode_action(c, c->tx, seq, c->safe, 0, 1);
    if (n > 0) {
        send_to(c, to, c->tx, n);
        inc(&c->st.actions_out);
        inc(&c->st.safe_actions);
    }
}

//==== policy ======================================================================

// Compute the action for c->obs into c->act. Returns 1 when it is a policy action,
// 0 when the safe action was used.
static int compute_action(Ctrl* c, const ServedPolicy* sp) {
    if (!sp || !sp->pi) {
        memcpy(c->act, c->safe, sizeof(float) * c->A);
        return 0;
    }
    int r;
    if (atomic_load_explicit(&c->act_mode, RLX) == ACT_MODE_MPC && sp->cem && c->rf) {
        r = cem_plan(&sp->cem_cfg, sp->cem, sp->ens, sp->pi, sp->qf, c->rf, c->obs, &c->rng,
                     c->act);
    } else if (atomic_load_explicit(&c->explore, RLX) && c->random_left > 0 &&
               !c->eval_episode) {
        for (int j = 0; j < c->A; j++)
            c->act[j] = c->plant.act_low[j] +
                        rng_uniform(&c->rng) * (c->plant.act_high[j] - c->plant.act_low[j]);
        c->random_left--;
        r = 0;
    } else if (atomic_load_explicit(&c->explore, RLX) && !c->eval_episode) {
        rng_normal_fill(&c->rng, c->eps, c->A);
        r = policy_act1(sp->pi, c->obs, c->eps, c->act, c->scratch);
    } else {
        r = policy_act1(sp->pi, c->obs, NULL, c->act, c->scratch);
    }
    for (int j = 0; r == 0 && j < c->A; j++)
        if (!isfinite(c->act[j])) r = -EDOM;
    if (r < 0) {
        inc(&c->st.err_policy);
        rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_POLICY_FAIL,
                     r, 0);
        memcpy(c->act, c->safe, sizeof(float) * c->A);
        return 0;
    }
    return 1;
}

// Push the transition in c->row to the learner. 0 sent / not wanted, -EAGAIN pipe full.
static int push_transition(Ctrl* c) {
    if (!atomic_load_explicit(&c->learner_alive, RLX)) return 0;
    c->tr_len = wire_encode_transitions(c->trbuf, c->tr_cap, c->S, c->A, 1, c->row, "local");
    if (c->tr_len <= 0) return 0;
    int r = link_send(c->learner_push, c->trbuf, (size_t)c->tr_len, ZMQ_DONTWAIT);
    if (r == 0) {
        inc(&c->st.transitions);
        return 0;
    }
    if (r == -EAGAIN && c->mode == PLANT_MODE_LOCKSTEP) return -EAGAIN;
    inc(&c->st.transitions_dropped);
    return 0;
}

//==== observations ==================================================================

static void end_episode(Ctrl* c) {
    inc(&c->st.episodes);
    atomic_store_explicit(&c->st.last_return, c->ep_return, RLX);
    atomic_store_explicit(&c->st.last_episode_len, (uint64_t)c->ep_len, RLX);
    if (c->ep_return > atomic_load_explicit(&c->st.best_return, RLX))
        atomic_store_explicit(&c->st.best_return, c->ep_return, RLX);
    c->recent[c->i_recent] = c->ep_return;
    c->i_recent = (c->i_recent + 1) % N_RECENT;
    if (c->n_recent < N_RECENT) c->n_recent++;
    double sum = 0;
    for (int i = 0; i < c->n_recent; i++) sum += c->recent[i];
    atomic_store_explicit(&c->st.mean_return, sum / c->n_recent, RLX);
    if (c->eval_episode) {
        atomic_store_explicit(&c->st.eval_return, c->ep_return, RLX);
        inc(&c->st.eval_episodes);
    }
    rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.env_steps, RLX),
                 c->eval_episode ? CTRL_EV_EVAL_EPISODE : CTRL_EV_EPISODE, (int32_t)c->ep_len,
                 c->ep_return);
    c->in_episode = 0;
    c->have_prev = 0;
}

// Answer observation seq (in c->obs) now; returns 1 when an action was sent or held.
static int answer(Ctrl* c, const ServedPolicy* sp, const LinkPeer* to, uint64_t seq,
                  int terminal) {
    int is_policy = compute_action(c, sp);
    uint64_t version = sp ? sp->version : 0;
    int n = encode_action(c, c->held_act, seq, c->act, version, !is_policy);
    if (n <= 0) return 0;
    if (!terminal) {
        memcpy(c->prev_obs, c->obs, sizeof(float) * c->S);
        memcpy(c->prev_act, c->act, sizeof(float) * c->A);
        c->have_prev = 1;
        c->prev_seq = seq;
    }
    if (c->held) {   // the transition is waiting for the pipe: hold the reply too
        c->held_len = n;
        c->held_peer = *to;
        return 1;
    }
    send_to(c, to, c->held_act, n);
    inc(&c->st.actions_out);
    if (!is_policy) inc(&c->st.safe_actions);
    inc(&c->st.ticks);
    return 1;
}

static void on_obs(Ctrl* c, const ServedPolicy* sp, const LinkPeer* from, const WireObs* o,
                   int64_t now) {
    uint64_t tick = atomic_load_explicit(&c->st.ticks, RLX);
    if (!c->have_peer || !link_peer_equal(from, &c->peer)) {
        inc(&c->st.err_not_ready);
        reply_error(c, from, "not_ready", "send a hello first", (int64_t)o->seq);
        return;
    }
    if (c->have_seq && o->seq <= c->last_seq) {
        inc(&c->st.err_sequence);
        rt_ring_push(&c->st.events, tick, CTRL_EV_SEQ, 1, (double)o->seq);
        char text[128];
        snprintf(text, sizeof text, "seq %llu is not after %llu", (unsigned long long)o->seq,
                 (unsigned long long)c->last_seq);
        reply_error(c, from, "sequence", text, (int64_t)o->seq);
        if (c->mode == PLANT_MODE_LOCKSTEP) send_safe(c, from, o->seq);
        return;
    }
    if (c->have_seq && o->seq != c->last_seq + 1 && !o->first) {
        rt_ring_push(&c->st.events, tick, CTRL_EV_SEQ, 2, (double)o->seq);
        c->have_prev = 0;   // a gap: the transition chain is broken
    }
    c->have_seq = 1;
    c->last_seq = o->seq;
    inc(&c->st.obs_in);
    for (int i = 0; i < c->S; i++) c->obs[i] = (float)o->obs[i];
    if (o->first || !c->in_episode) {
        c->in_episode = 1;
        c->ep_return = 0;
        c->ep_len = 0;
        // every eval_every-th episode after the random phase: deterministic (exploring
        // daemons only; its transitions are still learned from)
        c->episodes_started++;
        c->eval_episode = c->cfg.eval_every > 0 && atomic_load_explicit(&c->explore, RLX) &&
                          c->random_left == 0 && c->episodes_started % c->cfg.eval_every == 0;
        if (o->first) c->have_prev = 0;
    }
    if (!o->first) {
        c->ep_return += o->reward;
        c->ep_len++;
        inc(&c->st.env_steps);
        if (c->have_prev && c->prev_seq + 1 == o->seq) {
            // row = [s, a, r, s2, terminated]
            float* p = c->row;
            memcpy(p, c->prev_obs, sizeof(float) * c->S);
            p += c->S;
            memcpy(p, c->prev_act, sizeof(float) * c->A);
            p += c->A;
            *p++ = (float)o->reward;
            memcpy(p, c->obs, sizeof(float) * c->S);
            p += c->S;
            *p = o->terminated ? 1.0f : 0.0f;
            if (push_transition(c) == -EAGAIN) {
                c->held = 1;
                c->held_since_ns = rt_now_ns();
            }
        }
    }
    int terminal = o->terminated || o->truncated;
    if (terminal) end_episode(c);
    if (c->mode == PLANT_MODE_LOCKSTEP) {
        answer(c, sp, from, o->seq, terminal);
    } else {
        c->have_latest = 1;
        c->latest_seq = o->seq;
        c->latest_rx_ns = now;
        c->latest_answered = 0;
        c->latest_terminal = terminal;
    }
}

static void on_hello(Ctrl* c, const LinkPeer* from, const WireHello* h) {
    char text[WIRE_MAX_TEXT];
    const char* code = NULL;
    if (h->obs_dim != c->S || h->act_dim != c->A) {
        code = "bad_size";
        snprintf(text, sizeof text, "this daemon runs %s with obs %d / action %d, got %d / %d",
                 c->plant.name, c->S, c->A, h->obs_dim, h->act_dim);
    } else if (strcmp(h->plant, c->plant.name)) {
        code = "wrong_plant";
        snprintf(text, sizeof text, "this daemon runs plant '%s', not '%s'", c->plant.name,
                 h->plant);
    }
    if (code) {
        inc(&c->st.err_wrong_plant);
        rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_HELLO,
                     -EINVAL, 0);
        reply_error(c, from, code, text, -1);
        return;
    }
    if (c->have_peer && c->in_episode) inc(&c->st.disconnects);   // replaced mid-episode
    c->peer = *from;
    c->have_peer = 1;
    c->have_seq = 0;
    c->have_prev = 0;
    c->in_episode = 0;
    c->have_latest = 0;
    inc(&c->st.hellos);
    rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_HELLO, 0, 0);
    WireWelcome w = {
        .mode = c->mode == PLANT_MODE_REALTIME ? WIRE_MODE_REALTIME : WIRE_MODE_LOCKSTEP,
        .rate_hz = 1e9 / (double)c->period_ns,
        .policy_version = c->last_version,
        .max_msg_bytes = c->cfg.max_msg_bytes,
    };
    int n = wire_encode_welcome(c->tx, c->tx_cap, &w);
    send_to(c, from, c->tx, n);
}

static void on_message(Ctrl* c, const ServedPolicy* sp, const LinkPeer* from, int len,
                       int64_t now) {
    MaacErr err;
    err.msg[0] = 0;
    int r = wire_decode(c->rx, (size_t)len, c->S, c->A, c->msg, &err);
    if (r < 0) {
        switch (r) {
        case -EBADMSG: inc(&c->st.err_malformed); break;
        case -EPROTONOSUPPORT: inc(&c->st.err_bad_version); break;
        case -ERANGE: inc(&c->st.err_bad_size); break;
        case -EDOM: inc(&c->st.err_nonfinite); break;
        case -EMSGSIZE: inc(&c->st.err_oversized); break;
        default: inc(&c->st.err_bad_message); break;
        }
        rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_BAD_MSG, r,
                     c->msg->type);
        int is_obs = c->msg->type == WIRE_MSG_OBS;
        uint64_t seq = is_obs ? c->msg->u.obs.seq : 0;
        reply_error(c, from, wire_err_name(r), err.msg, is_obs && seq ? (int64_t)seq : -1);
        if (is_obs) {
            c->have_prev = 0;   // the plant moved on without a usable observation
            if (c->mode == PLANT_MODE_LOCKSTEP) send_safe(c, from, seq);
        }
        return;
    }
    switch (c->msg->type) {
    case WIRE_MSG_OBS: on_obs(c, sp, from, &c->msg->u.obs, now); break;
    case WIRE_MSG_HELLO: on_hello(c, from, &c->msg->u.hello); break;
    case WIRE_MSG_BYE:
        if (c->have_peer && link_peer_equal(from, &c->peer)) {
            int mid = c->in_episode;
            if (mid) inc(&c->st.disconnects);
            rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_BYE,
                         mid, 0);
            c->have_peer = 0;
            c->in_episode = 0;
            c->have_prev = 0;
            c->have_latest = 0;
        }
        break;
    default: {
        inc(&c->st.err_wrong_type);
        char text[96];
        snprintf(text, sizeof text, "a plant may not send '%s' messages",
                 wire_type_name(c->msg->type));
        rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_BAD_MSG, 0,
                     c->msg->type);
        reply_error(c, from, "wrong_type", text, -1);
        break;
    }
    }
}

//==== the tick ======================================================================

int ctrl_flush(Ctrl* c) {
    if (!c->held) return 0;
    if (!atomic_load_explicit(&c->learner_alive, RLX)) {
        inc(&c->st.transitions_dropped);
    } else {
        int r = link_send(c->learner_push, c->trbuf, (size_t)c->tr_len, ZMQ_DONTWAIT);
        if (r == -EAGAIN) return 1;
        if (r == 0) inc(&c->st.transitions);
        else inc(&c->st.transitions_dropped);
    }
    c->held = 0;
    if (c->held_len > 0) {
        send_to(c, &c->held_peer, c->held_act, c->held_len);
        inc(&c->st.actions_out);
        inc(&c->st.ticks);
        c->held_len = 0;
    }
    return 0;
}

int ctrl_step(Ctrl* c, int64_t now_ns) {
    uint64_t sent0 = atomic_load_explicit(&c->st.actions_out, RLX);
    // the policy for this tick (a new publication is picked up here, and only here)
    const ServedPolicy* sp = swap_acquire(c->slot);
    uint64_t version = sp ? sp->version : 0;
    if (version != c->last_version) {
        c->last_version = version;
        atomic_store_explicit(&c->st.policy_version, version, RLX);
        atomic_fetch_add_explicit(&c->st.policy_swaps_seen, 1, RLX);
        rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_POLICY, 0,
                     (double)version);
    }
    long rq = atomic_exchange_explicit(&c->random_steps_req, -1, RLX);
    if (rq >= 0) c->random_left = rq;
    if (c->held && ctrl_flush(c)) return 0;   // the learner pipe is still full
    for (int i = 0; i < MAX_MSGS_PER_TICK; i++) {
        LinkPeer from;
        int r = link_router_recv(c->plant_sock, &from, c->rx, c->rx_cap, ZMQ_DONTWAIT);
        if (r == -EAGAIN) break;
        if (r == -EMSGSIZE || (r > 0 && (size_t)r > (size_t)c->cfg.max_msg_bytes)) {
            inc(&c->st.err_oversized);
            rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_BAD_MSG,
                         -EMSGSIZE, 0);
            char text[96];
            snprintf(text, sizeof text, "message longer than %ld bytes", c->cfg.max_msg_bytes);
            reply_error(c, &from, "oversized", text, -1);
            continue;
        }
        if (r < 0) {
            inc(&c->st.err_malformed);
            rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX), CTRL_EV_BAD_MSG,
                         r, 0);
            continue;
        }
        on_message(c, sp, &from, r, now_ns);
        if (c->held) break;   // back-pressure: read nothing more until the pipe drains
    }
    if (c->mode == PLANT_MODE_REALTIME) {
        inc(&c->st.ticks);
        if (c->have_peer) {
            if (!c->have_latest || now_ns - c->latest_rx_ns > c->stale_ns) {
                // stale or missing observation: the safe action
                inc(&c->st.stale);
                send_safe(c, &c->peer, c->have_latest ? c->latest_seq : 0);
            } else if (!c->latest_answered) {
                c->latest_answered = 1;
                // c->obs holds the newest observation (each valid obs overwrote it)
                int is_policy = compute_action(c, sp);
                c->last_was_policy = is_policy;
                int n = encode_action(c, c->tx, c->latest_seq, c->act, version, !is_policy);
                if (n > 0) {
                    send_to(c, &c->peer, c->tx, n);
                    inc(&c->st.actions_out);
                    if (!is_policy) inc(&c->st.safe_actions);
                }
                if (!c->latest_terminal) {
                    memcpy(c->prev_obs, c->obs, sizeof(float) * c->S);
                    memcpy(c->prev_act, c->act, sizeof(float) * c->A);
                    c->have_prev = 1;
                    c->prev_seq = c->latest_seq;
                }
            } else {
                // fresh and answered: repeat that action (c->act still holds it)
                int n = encode_action(c, c->tx, c->latest_seq, c->act, version,
                                      !c->last_was_policy);
                if (n > 0) {
                    send_to(c, &c->peer, c->tx, n);
                    inc(&c->st.actions_out);
                    if (!c->last_was_policy) inc(&c->st.safe_actions);
                }
            }
        }
    }
    return (int)(atomic_load_explicit(&c->st.actions_out, RLX) - sent0);
}

//==== the thread ====================================================================

// Lock-step, the transition held for over a second (a model fit): tell the plant,
// once a second, that its action is coming, so it neither times out nor guesses.
static void notice_busy(Ctrl* c, int64_t now) {
    if (now - c->held_since_ns < 1000000000LL || now - c->busy_notice_ns < 1000000000LL) return;
    c->busy_notice_ns = now;
    char text[96];
    snprintf(text, sizeof text, "lock-step: the learner is busy for %.0f s; the action follows",
             1e-9 * (double)(now - c->held_since_ns));
    reply_error(c, &c->held_peer, "learner_busy", text, -1);
    inc(&c->st.busy_notices);
}

static void* ctrl_main(void* arg) {
    Ctrl* c = arg;
    if (c->cfg.cpu >= 0) {
        int r = rt_set_affinity(c->cfg.cpu);
        if (r < 0)
            maacd_log(LOG_LV_WARNING, "control thread: cannot pin to CPU %d: %s, ignoring",
                      c->cfg.cpu, strerror(-r));
    }
    if (c->cfg.priority > 0) {
        int r = rt_set_fifo(c->cfg.priority);
        if (r < 0)
            maacd_log(LOG_LV_WARNING,
                      "control thread: SCHED_FIFO %d refused: %s; running SCHED_OTHER (degraded)",
                      c->cfg.priority, strerror(-r));
    }
    rt_prefault_stack(256 * 1024);
    if (c->mode == PLANT_MODE_REALTIME) {
        // warm-up tick before the schedule starts: first-use costs (the plant's hello,
        // the first sends on fresh pipes, the policy's first touch) stay out of it
        ctrl_step(c, rt_now_ns());
        int64_t next = rt_now_ns() + c->period_ns;
        while (!atomic_load_explicit(&c->stop, RLX)) {
            int r = rt_sleep_until(next);
            int64_t wake = rt_now_ns();
            atomic_store_explicit(&c->st.heartbeat_ns, wake, RLX);
            if (r == 0) rt_hist_add(&c->st.jitter, wake - next);
            ctrl_step(c, wake);
            int64_t done = rt_now_ns();
            rt_hist_add(&c->st.compute, done - wake);
            next += c->period_ns;
            if (done > next) {   // overrun: skip whole periods (cyclictest)
                int64_t skipped = (done - next) / c->period_ns + 1;
                next += skipped * c->period_ns;
                atomic_store_explicit(&c->st.misses,
                                      atomic_load_explicit(&c->st.misses, RLX) + (uint64_t)skipped,
                                      RLX);
                rt_ring_push(&c->st.events, atomic_load_explicit(&c->st.ticks, RLX),
                             CTRL_EV_OVERRUN, (int32_t)skipped, 0);
            }
        }
    } else {
        while (!atomic_load_explicit(&c->stop, RLX)) {
            int64_t now = rt_now_ns();
            atomic_store_explicit(&c->st.heartbeat_ns, now, RLX);
            if (c->held) {
                if (ctrl_flush(c)) {
                    notice_busy(c, now);
                    (void)rt_sleep_until(now + 100000);   // 100 us: the learner catches up
                    continue;
                }
            }
            // lock-step's pacing wait (its clock_nanosleep): the loop sleeps until the
            // plant's next observation, waking every 50 ms for stop and the heartbeat
            int r = link_poll_in(c->plant_sock, 50);
            if (r <= 0) {
                // idle: still pick up a new policy so the served version is current
                if (r == 0) ctrl_step(c, rt_now_ns());
                continue;
            }
            int64_t t0 = rt_now_ns();
            ctrl_step(c, t0);
            rt_hist_add(&c->st.compute, rt_now_ns() - t0);
        }
    }
    swap_release(c->slot);
    if (c->cfg.priority > 0) (void)rt_set_other();
    return NULL;
}

int ctrl_start(Ctrl* c) {
    atomic_store(&c->stop, 0);
    int r = pthread_create(&c->thread, NULL, ctrl_main, c);
    if (r) return -r;
    c->started = 1;
    return 0;
}

void ctrl_stop(Ctrl* c) {
    if (!c || !c->started) return;
    atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    c->started = 0;
}

//==== accessors =====================================================================

CtrlStats* ctrl_stats(Ctrl* c) { return &c->st; }
const PlantInfo* ctrl_plant(const Ctrl* c) { return &c->plant; }
const float* ctrl_safe_action(const Ctrl* c) { return c->safe; }
void ctrl_set_act_mode(Ctrl* c, ActMode m) { atomic_store(&c->act_mode, (int)m); }
ActMode ctrl_act_mode(const Ctrl* c) { return (ActMode)atomic_load(&((Ctrl*)c)->act_mode); }
void ctrl_set_learner_alive(Ctrl* c, int alive) { atomic_store(&c->learner_alive, alive); }

void ctrl_set_explore(Ctrl* c, int explore, long random_steps) {
    atomic_store(&c->explore, explore);
    if (random_steps >= 0) atomic_store(&c->random_steps_req, random_steps);
}

double ctrl_rate_hz(const Ctrl* c) {
    return 1e9 / (double)c->period_ns;
}

int ctrl_healthy(Ctrl* c, int64_t now_ns) {
    int64_t hb = atomic_load_explicit(&c->st.heartbeat_ns, RLX);
    // the loop wakes at least every period (realtime) or every 50 ms poll (lock-step)
    int64_t limit = c->mode == PLANT_MODE_REALTIME ? 100 * c->period_ns : 2000000000LL;
    if (limit < 500000000LL) limit = 500000000LL;
    if (now_ns - hb > limit) return 0;
    uint64_t misses = atomic_load_explicit(&c->st.misses, RLX);
    int ok = 1;
    if (c->hc_ns) {
        double secs = (double)(now_ns - c->hc_ns) * 1e-9;
        if (secs > 0 && (double)(misses - c->hc_misses) / secs > c->cfg.watchdog_miss_limit)
            ok = 0;
    }
    c->hc_ns = now_ns;
    c->hc_misses = misses;
    return ok;
}

void ctrl_set_episode_log(Ctrl* c, void* f) { c->episode_log = f; }

static void log_episode(Ctrl* c, const RtEvent* e) {
    FILE* f = c->episode_log;
    if (!f) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "%.3f,%llu,%.6g,%d,%llu,%d\n", (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec,
            (unsigned long long)e->tick, e->value, e->arg,
            (unsigned long long)atomic_load(&c->st.policy_version),
            e->code == CTRL_EV_EVAL_EPISODE);
    fflush(f);
}

void ctrl_drain_events(Ctrl* c) {
    RtEvent e;
    while (rt_ring_pop(&c->st.events, &e)) {
        switch (e.code) {
        case CTRL_EV_BAD_MSG:
            if ((int)e.value == WIRE_MSG_NONE)
                maacd_log(LOG_LV_WARNING, "plant: unreadable message rejected (%s), tick %llu",
                          wire_err_name(e.arg), (unsigned long long)e.tick);
            else
                maacd_log(LOG_LV_WARNING, "plant: %s message rejected (%s), tick %llu",
                          wire_type_name((WireMsgType)(int)e.value),
                          e.arg ? wire_err_name(e.arg) : "wrong_type", (unsigned long long)e.tick);
            break;
        case CTRL_EV_SEQ:
            maacd_log(LOG_LV_WARNING, "plant: sequence %s at seq %.0f",
                      e.arg == 1 ? "out of order (rejected)" : "gap (transition chain restarted)",
                      e.value);
            break;
        case CTRL_EV_EPISODE:
        case CTRL_EV_EVAL_EPISODE:
            maacd_log(LOG_LV_DEBUG, "%s done: return %.2f, %d steps",
                      e.code == CTRL_EV_EPISODE ? "episode" : "evaluation episode", e.value, e.arg);
            log_episode(c, &e);
            break;
        case CTRL_EV_HELLO:
            if (e.arg) maacd_log(LOG_LV_WARNING, "plant: hello rejected (wrong plant or sizes)");
            else maacd_log(LOG_LV_NOTICE, "plant connected (%s)", c->plant.name);
            break;
        case CTRL_EV_BYE:
            maacd_log(e.arg ? LOG_LV_WARNING : LOG_LV_NOTICE, "plant disconnected%s",
                      e.arg ? " mid-episode" : "");
            break;
        case CTRL_EV_POLICY:
            maacd_log(LOG_LV_INFO, "serving policy version %.0f from tick %llu", e.value,
                      (unsigned long long)e.tick);
            break;
        case CTRL_EV_SEND_FAIL:
            maacd_log(LOG_LV_WARNING, "plant: send failed: %s", strerror(-e.arg));
            break;
        case CTRL_EV_POLICY_FAIL:
            maacd_log(LOG_LV_WARNING, "policy failed (%s): safe action served",
                      strerror(-e.arg));
            break;
        case CTRL_EV_OVERRUN:
            maacd_log(LOG_LV_WARNING, "control loop overrun at tick %llu: %d period(s) missed",
                      (unsigned long long)e.tick, e.arg);
            break;
        default: break;
        }
    }
    uint64_t dropped = atomic_exchange(&c->st.events.dropped, 0);
    if (dropped) maacd_log(LOG_LV_WARNING, "%llu loop events not logged (ring full)",
                           (unsigned long long)dropped);
}
