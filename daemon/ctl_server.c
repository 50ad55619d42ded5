// SPDX-License-Identifier: Apache-2.0
// ctl_server.c -- maacctl's control socket: status, stats, swap, save, pause/resume,
// mode, stop (see ctl_server.h).
//
// Replies are built as key/value pairs into a body buffer first (so the map header
// can carry the count), then framed with wire_w_reply_begin. Policy files are loaded
// and validated here, off the control thread; only a fully validated ServedPolicy is
// published, so a corrupt file can never reach the loop.
// Thread: the ctl server thread. Allocation: yes (never on the control thread).
#include "daemon/ctl_server.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/blas_arch.h"
#include "daemon/notify.h"
#include "daemon/save_dir.h"
#include "daemon/swap_cost.h"
#include "transport/link.h"
#include "transport/utf8.h"
#include "transport/wire.h"

#define BODY_CAP 16384

struct CtlServer {
    Maacd* d;
    void* sock;
    pthread_t thread;
    _Atomic int stop;
};

//---- reply building ----------------------------------------------------------------

typedef struct {
    WireWriter w;
    unsigned char buf[BODY_CAP];
    uint32_t n;
} Kv;

static void kv_init(Kv* k) {
    wire_w_init(&k->w, k->buf, sizeof k->buf);
    k->n = 0;
}
static void kv_str(Kv* k, const char* key, const char* v) {
    wire_w_str(&k->w, key);
    if (utf8_valid(v)) {
        wire_w_str(&k->w, v);
    } else {   // text that quotes a request (a command, a path): never echo invalid UTF-8
        size_t cap = strlen(v) + 1;
        char* clean = malloc(cap);
        if (clean) utf8_copy(clean, cap, v);
        wire_w_str(&k->w, clean ? clean : "?");
        free(clean);
    }
    k->n++;
}
static void kv_uint(Kv* k, const char* key, uint64_t v) {
    wire_w_str(&k->w, key);
    wire_w_uint(&k->w, v);
    k->n++;
}
static void kv_int(Kv* k, const char* key, int64_t v) {
    wire_w_str(&k->w, key);
    wire_w_int(&k->w, v);
    k->n++;
}
static void kv_double(Kv* k, const char* key, double v) {
    wire_w_str(&k->w, key);
    if (isfinite(v)) wire_w_double(&k->w, v);
    else wire_w_nil(&k->w);   // JSON has no NaN/Inf
    k->n++;
}
static void kv_bool(Kv* k, const char* key, int v) {
    wire_w_str(&k->w, key);
    wire_w_bool(&k->w, v);
    k->n++;
}

static int kv_finish(Kv* k, int ok, void* out, size_t cap) {
    int body = wire_w_finish(&k->w);
    if (body < 0) return body;
    WireWriter w;
    wire_w_init(&w, out, cap);
    wire_w_reply_begin(&w, ok, k->n);
    int head = wire_w_finish(&w);
    if (head < 0 || (size_t)head + (size_t)body > cap) return -ENOBUFS;
    memcpy((unsigned char*)out + head, k->buf, (size_t)body);
    return head + body;
}

static int reply_err(void* out, size_t cap, const char* code, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int reply_err(void* out, size_t cap, const char* code, const char* fmt, ...) {
    char msg[WIRE_MAX_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Kv* k = malloc(sizeof *k);
    if (!k) return -ENOMEM;
    kv_init(k);
    kv_str(k, "error", code);
    kv_str(k, "msg", msg);
    int n = kv_finish(k, 0, out, cap);
    free(k);
    return n;
}

//---- status / stats ----------------------------------------------------------------

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static uint64_t total_errors(const CtrlStats* st) {
    return LD(st->err_malformed) + LD(st->err_bad_message) + LD(st->err_bad_version) +
           LD(st->err_bad_size) + LD(st->err_nonfinite) + LD(st->err_oversized) +
           LD(st->err_sequence) + LD(st->err_wrong_type) + LD(st->err_not_ready) +
           LD(st->err_wrong_plant) + LD(st->err_policy) + LD(st->err_busy);
}

// full = 0: the status essentials; 1: leave out what add_stats reports in more detail
// (the latency figures), so no key appears twice in one map.
static void add_status(Maacd* d, Kv* k, int full) {
    Ctrl* c = atomic_load(&d->ctrl);
    LearnerThread* lt = atomic_load(&d->lt);
    kv_str(k, "state", c ? "running" : "waiting_for_plant");
    kv_str(k, "plant", d->plant_name);
    kv_str(k, "mode", d->cfg.plant_mode == PLANT_MODE_REALTIME ? "realtime" : "lockstep");
    kv_double(k, "uptime_s", (double)(rt_now_ns() - d->start_ns) * 1e-9);
    kv_uint(k, "policy_version", swap_version(&d->slot));
    if (c) {
        CtrlStats* st = ctrl_stats(c);
        kv_str(k, "act_mode", ctrl_act_mode(c) == ACT_MODE_MPC ? "mpc" : "policy");
        kv_double(k, "rate_hz", ctrl_rate_hz(c));
        kv_uint(k, "served_version", LD(st->policy_version));
        kv_uint(k, "ticks", LD(st->ticks));
        kv_uint(k, "misses", LD(st->misses));
        kv_uint(k, "episodes", LD(st->episodes));
        kv_uint(k, "env_steps", LD(st->env_steps));
        kv_double(k, "last_return", LD(st->last_return));
        kv_double(k, "mean_return", LD(st->mean_return));
        kv_double(k, "best_return", LD(st->episodes) ? LD(st->best_return) : 0.0);
        kv_double(k, "eval_return", LD(st->eval_return));
        kv_uint(k, "safe_actions", LD(st->safe_actions));
        kv_uint(k, "errors", total_errors(st));
        kv_bool(k, "alarm", atomic_load(&d->alarm_flags) != 0);
        if (!full) {
            RtHistSummary j;
            rt_hist_summary(&st->jitter, &j);
            // nil (no samples) in lock-step, which has no deadlines to be late for
            double none = j.count ? 0.0 : NAN;
            kv_double(k, "jitter_p50_us", j.p50_ns * 1e-3 + none);
            kv_double(k, "jitter_p99_us", j.p99_ns * 1e-3 + none);
            kv_double(k, "jitter_max_us", j.max_ns * 1e-3 + none);
            RtHistSummary w;
            rt_hist_summary(&st->compute, &w);
            kv_double(k, "tick_p99_us", w.p99_ns * 1e-3);
        }
    }
    if (lt) {
        LtStatus s;
        lt_status(lt, &s);
        kv_str(k, "learner", lt_state_name(s.state));
        kv_bool(k, "paused", s.paused);
        kv_uint(k, "updates", s.have_stats ? (uint64_t)s.ls.updates : 0);
        kv_double(k, "updates_per_step", s.updates_per_step);
        kv_uint(k, "published", s.published);
    } else {
        kv_str(k, "learner", d->cfg.learn ? (c ? "failed" : "not_started") : "disabled");
    }
}

static void hist_kv(Kv* k, const char* prefix, const RtHist* h) {
    RtHistSummary s;
    rt_hist_summary(h, &s);
    char key[64];
    snprintf(key, sizeof key, "%s_count", prefix);
    kv_uint(k, key, s.count);
    snprintf(key, sizeof key, "%s_min_us", prefix);
    kv_double(k, key, s.min_ns * 1e-3);
    snprintf(key, sizeof key, "%s_mean_us", prefix);
    kv_double(k, key, s.mean_ns * 1e-3);
    snprintf(key, sizeof key, "%s_p50_us", prefix);
    kv_double(k, key, s.p50_ns * 1e-3);
    snprintf(key, sizeof key, "%s_p99_us", prefix);
    kv_double(k, key, s.p99_ns * 1e-3);
    snprintf(key, sizeof key, "%s_p999_us", prefix);
    kv_double(k, key, s.p999_ns * 1e-3);
    snprintf(key, sizeof key, "%s_max_us", prefix);
    kv_double(k, key, s.max_ns * 1e-3);
}

// Fleet figures (daemon/fleet_robot.h, fleet_learner.h): the robot's link, or the
// learner's per-robot table as an array of maps under "fleet_robots".
static void add_fleet_robot(Kv* k, FleetRobot* fr) {
    FleetRobotStatus s;
    fleet_robot_status(fr, &s);
    kv_str(k, "fleet_role", "robot");
    kv_str(k, "fleet_name", s.name);
    kv_bool(k, "fleet_connected", s.connected);
    kv_double(k, "fleet_learner_silent_s", s.silent_s >= 0 ? s.silent_s : NAN);
    kv_uint(k, "fleet_rows", s.rows);
    kv_uint(k, "fleet_sent", s.sent);
    kv_uint(k, "fleet_acked", s.acked);
    kv_uint(k, "fleet_resent", s.resent);
    kv_uint(k, "fleet_buffered", s.buffered);
    kv_uint(k, "fleet_buffer_rows", s.buffer_rows);
    kv_double(k, "fleet_buffer_s", s.buffer_s);
    kv_bool(k, "fleet_buffer_is_full", s.full);
    kv_uint(k, "fleet_buffer_full", s.buffer_full);
    kv_uint(k, "fleet_bad_messages", s.bad_messages);
    kv_uint(k, "fleet_policies_received", s.policies_received);
    kv_uint(k, "fleet_policies_applied", s.policies_applied);
    kv_uint(k, "fleet_policies_rejected", s.policies_rejected);
    kv_str(k, "fleet_last_reject", s.last_reject);
    kv_uint(k, "fleet_learner_version", s.learner_version);
    kv_uint(k, "fleet_learner_id", s.learner_id);
    kv_uint(k, "fleet_learner_restarts", s.learner_restarts);
    kv_uint(k, "fleet_lost_events", s.lost_events);
}

static void robot_map(WireWriter* w, const FleetRobotInfo* r) {
    wire_w_map(w, 12);
    wire_w_str(w, "name"); wire_w_str(w, utf8_valid(r->name) ? r->name : "?");
    wire_w_str(w, "received"); wire_w_uint(w, r->received);
    wire_w_str(w, "first_seq"); wire_w_uint(w, r->first_seq);
    wire_w_str(w, "next_seq"); wire_w_uint(w, r->next_seq);
    wire_w_str(w, "duplicates"); wire_w_uint(w, r->duplicates);
    wire_w_str(w, "rewinds"); wire_w_uint(w, r->rewinds);
    wire_w_str(w, "robot_rows"); wire_w_uint(w, r->robot_rows);
    wire_w_str(w, "served_version"); wire_w_uint(w, r->served);
    wire_w_str(w, "restarts"); wire_w_uint(w, r->restarts);
    wire_w_str(w, "policies_sent"); wire_w_uint(w, r->policies_sent);
    wire_w_str(w, "last_seen_s"); wire_w_double(w, r->last_seen_s);
    wire_w_str(w, "lag_ms"); wire_w_double(w, r->lag_ms);
}

static void add_fleet_learner(Kv* k, FleetLearner* fl) {
    FleetLearnerStatus* s = malloc(sizeof *s);
    if (!s) return;
    fleet_learner_status(fl, s);
    kv_str(k, "fleet_role", "learner");
    kv_uint(k, "fleet_learner_id", s->learner_id);
    kv_uint(k, "fleet_n_robots", (uint64_t)s->n_robots);
    kv_uint(k, "fleet_rows_in", s->rows_in);
    kv_uint(k, "fleet_not_forwarded", s->not_forwarded);
    kv_uint(k, "fleet_bad_messages", s->bad_messages);
    kv_uint(k, "fleet_robots_refused", s->robots_refused);
    kv_uint(k, "fleet_broadcasts", s->broadcasts);
    kv_uint(k, "fleet_version", s->version);
    kv_uint(k, "fleet_policy_bytes", s->policy_bytes);
    kv_uint(k, "fleet_lag_n", s->lag_n);
    kv_double(k, "fleet_lag_p50_ms", s->lag_p50_ms);
    kv_double(k, "fleet_lag_p99_ms", s->lag_p99_ms);
    kv_double(k, "fleet_lag_max_ms", s->lag_max_ms);
    kv_uint(k, "fleet_lag_all_n", s->lag_all_n);
    kv_double(k, "fleet_lag_all_p50_ms", s->lag_all_p50_ms);
    kv_double(k, "fleet_lag_all_p99_ms", s->lag_all_p99_ms);
    kv_double(k, "fleet_lag_all_max_ms", s->lag_all_max_ms);
    wire_w_str(&k->w, "fleet_robots");
    wire_w_array(&k->w, (uint32_t)s->n_robots);
    for (int i = 0; i < s->n_robots; i++) robot_map(&k->w, &s->robots[i]);
    k->n++;
    free(s);
}

// The daemon's own counters: memory, BLAS core, swaps, requests, alarms, security.
static void add_daemon_counters(Maacd* d, Kv* k) {
    kv_bool(k, "memory_locked", atomic_load(&d->mem_locked));
    kv_str(k, "blas_core", blas_arch_core());
    kv_bool(k, "blas_core_auto", blas_arch_replaced() != NULL);
    kv_uint(k, "swaps_ok", atomic_load(&d->swaps_ok));
    kv_uint(k, "swaps_rejected", atomic_load(&d->swaps_rejected));
    kv_uint(k, "ctl_requests", atomic_load(&d->ctl_requests));
    kv_uint(k, "ctl_errors", atomic_load(&d->ctl_errors));
    int af = atomic_load(&d->alarm_flags);
    kv_bool(k, "alarm_safe_share_raised", (af & 1) != 0);
    kv_bool(k, "alarm_drops_raised", (af & 2) != 0);
    kv_double(k, "alarm_window_safe_share", atomic_load(&d->alarm_safe_share));
    kv_uint(k, "alarm_window_drops", atomic_load(&d->alarm_window_drops));
    kv_uint(k, "auth_accepted", sec_accepted(&d->sec));
    kv_uint(k, "auth_refused", sec_refused(&d->sec));
}

// The control loop's counters and its jitter and compute histograms.
static void add_loop_stats(Kv* k, Ctrl* c) {
    CtrlStats* st = ctrl_stats(c);
#define U(name) kv_uint(k, #name, LD(st->name))
    U(obs_in); U(actions_out); U(transitions); U(transitions_dropped);
    U(err_malformed); U(err_bad_message); U(err_bad_version); U(err_bad_size);
    U(err_nonfinite); U(err_oversized); U(err_sequence); U(err_wrong_type);
    U(err_send); U(err_policy); U(err_not_ready); U(err_wrong_plant);
    U(stale); U(disconnects); U(hellos); U(last_episode_len); U(err_busy); U(takeovers);
    U(obs_faults); U(actions_clamped); U(actions_rate_limited);
    U(eval_episodes); U(busy_notices);
#undef U
    kv_uint(k, "policy_swaps_seen", (uint64_t)LD(st->policy_swaps_seen));
    kv_uint(k, "events_dropped", LD(st->events.dropped));
    hist_kv(k, "jitter", &st->jitter);
    hist_kv(k, "compute", &st->compute);
}

// The learner's training statistics (once it has some).
static void add_learner_stats(Kv* k, const LearnerStats* ls) {
    kv_int(k, "lt_env_steps", ls->env_steps);
    kv_int(k, "lt_updates", ls->updates);
    kv_int(k, "lt_interleaved_updates", ls->interleaved_updates);
    kv_int(k, "lt_model_fits", ls->model_fits);
    kv_int(k, "lt_model_refreshes", ls->model_refreshes);
    kv_int(k, "lt_rollout_len", ls->rollout_len);
    kv_double(k, "lt_alpha", ls->alpha);
    kv_double(k, "lt_q_loss", ls->q_loss);
    kv_double(k, "lt_pi_loss", ls->pi_loss);
    kv_double(k, "lt_model_holdout_mse", ls->model_holdout_mse);
    kv_double(k, "lt_t_model_s", ls->t_model);
    kv_double(k, "lt_t_policy_s", ls->t_policy);
    kv_double(k, "lt_t_q_s", ls->t_q);
    kv_double(k, "lt_t_updates_s", ls->t_updates);
    kv_double(k, "lt_t_rollout_s", ls->t_rollout);
}

// The learner thread: its intake, progress, phase, saves and errors (lt_*).
static void add_lt_stats(Kv* k, LearnerThread* lt, Ctrl* c) {
    LtStatus s;
    lt_status(lt, &s);
    kv_uint(k, "lt_received", s.received);
    kv_uint(k, "lt_fleet_received", s.fleet_received);
    kv_uint(k, "lt_ingested", s.ingested);
    uint64_t pushed = c ? LD(ctrl_stats(c)->transitions) : 0;
    kv_uint(k, "lt_backlog", pushed > s.local_received ? pushed - s.local_received : 0);
    kv_int(k, "lt_trained_steps", s.trained_steps);
    kv_double(k, "lt_updates_per_step", s.updates_per_step);
    kv_double(k, "lt_data_age_s", s.newest_trained_age_s >= 0 ? s.newest_trained_age_s : NAN);
    kv_double(k, "lt_policy_age_s", s.policy_age_s >= 0 ? s.policy_age_s : NAN);
    kv_str(k, "lt_phase", learner_phase_name(s.phase));
    kv_double(k, "lt_phase_s", s.phase_s);
    kv_int(k, "lt_fit_epochs", s.fit_epochs);
    kv_bool(k, "lt_actor_held", s.actor_held);
    kv_bool(k, "lt_resumed", s.resumed);
    kv_uint(k, "lt_saves_ok", s.saves_ok);
    kv_uint(k, "lt_saves_failed", s.saves_failed);
    kv_uint(k, "lt_bad_messages", s.bad_messages);
    kv_uint(k, "lt_train_steps", s.train_steps);
    kv_uint(k, "lt_train_errors", s.train_errors);
    kv_uint(k, "lt_failures", s.failures);
    kv_uint(k, "lt_publish_errors", s.publish_errors);
    kv_str(k, "lt_error", s.error);
    if (s.have_stats) add_learner_stats(k, &s.ls);
}

static void add_stats(Maacd* d, Kv* k) {
    add_status(d, k, 1);
    Ctrl* c = atomic_load(&d->ctrl);
    add_daemon_counters(d, k);
    if (c) add_loop_stats(k, c);
    FleetRobot* fr = atomic_load(&d->fleet_robot);
    FleetLearner* fl = atomic_load(&d->fleet_learner);
    if (fr) add_fleet_robot(k, fr);
    if (fl) add_fleet_learner(k, fl);
    LearnerThread* lt = atomic_load(&d->lt);
    if (lt) add_lt_stats(k, lt, c);
    char cfgtext[4096];
    config_dump(&d->cfg, cfgtext, sizeof cfgtext);
    kv_str(k, "config", cfgtext);
}

//---- swap ----------------------------------------------------------------------------

// Cost limits from the settings, the period from the loop's rate (swap_cost.h).
static int swap_check(Maacd* d, Ctrl* c, const Policy* p, SwapCost* cost, MaacErr* err) {
    SwapLimits lim = {
        .max_params = d->cfg.swap_max_params,
        .max_memory_mb = d->cfg.swap_max_memory_mb,
        .time_fraction = d->cfg.swap_time_fraction,
        .period_s = 1.0 / ctrl_rate_hz(c),
    };
    return swap_cost_check(p, &lim, cost, err);
}

static int do_swap(Maacd* d, const char* path, uint64_t* ret_version, SwapCost* cost,
                   MaacErr* err) {
    Ctrl* c = atomic_load(&d->ctrl);
    if (!c) return maac_err(err, -EAGAIN, "no plant connected yet (dimensions unknown)");
    ServedPolicy* sp = calloc(1, sizeof *sp);
    if (!sp) return maac_err(err, -ENOMEM, "out of memory");
    // regular files only, opened without blocking, at most swap_max_bytes (ckpt_read_max)
    sp->pi = policy_load_max(path, d->cfg.swap_max_bytes, err);
    if (!sp->pi) {
        served_free(sp);
        return -EINVAL;
    }
    int r = served_validate(sp, ctrl_plant(c), err);
    if (r == 0) r = swap_check(d, c, sp->pi, cost, err);
    if (r < 0) {
        served_free(sp);
        return r;
    }
    // served as documented: deterministic (exploration off) until `maacctl resume`
    LearnerThread* lt0 = atomic_load(&d->lt);
    int explore_before = 0;
    if (lt0) {
        LtStatus s0;
        lt_status(lt0, &s0);
        explore_before = !s0.paused && d->cfg.learn && d->cfg.explore;
    }
    ctrl_set_explore(c, 0, -1);
    // pin it: the learner would otherwise replace it with its next snapshot
    LearnerThread* lt = atomic_load(&d->lt);
    int was_paused = 0;
    if (lt) {
        LtStatus s;
        lt_status(lt, &s);
        was_paused = s.paused;
        lt_set_paused(lt, 1);   // before publishing, so no snapshot can slip in after it
        lt_adopt_served(lt);    // on resume the learner continues from this policy
    }
    r = swap_publish(&d->slot, sp, sp->pi->version, ret_version);
    if (r < 0) {
        if (lt) lt_set_paused(lt, was_paused);
        ctrl_set_explore(c, explore_before, -1);
        served_free(sp);
        return maac_err(err, r, "publish failed: %s", strerror(-r));
    }
    return 0;
}

//---- dispatch --------------------------------------------------------------------------

// One decoded request: the daemon, the loop and learner as the request found them,
// the reply being built and where it is framed.
typedef struct {
    Maacd* d;
    Ctrl* c;             // NULL until a plant said hello
    LearnerThread* lt;   // NULL when not learning
    Kv* k;
    MaacErr* err;
    void* out;
    size_t cap;
} Req;

// swap FILE: load, validate, pin and publish (do_swap). The reply's length.
static int cmd_swap(Req* q, const char* arg) {
    Maacd* d = q->d;
    Kv* k = q->k;
    uint64_t v = 0;
    SwapCost cost;
    memset(&cost, 0, sizeof cost);
    int r = do_swap(d, arg, &v, &cost, q->err);
    if (r < 0) {
        atomic_fetch_add(&d->swaps_rejected, 1);
        maacd_log(LOG_LV_WARNING, "swap %s rejected: %s (still serving v%llu)", arg, q->err->msg,
                  (unsigned long long)swap_version(&d->slot));
        return reply_err(q->out, q->cap, "swap_rejected", "%s", q->err->msg);
    }
    atomic_fetch_add(&d->swaps_ok, 1);
    maacd_log(LOG_LV_NOTICE, "swapped in %s as policy v%llu%s", arg,
              (unsigned long long)v, q->lt ? " (learning paused until resume)" : "");
    kv_uint(k, "policy_version", v);
    kv_bool(k, "learning_paused", q->lt != NULL);
    kv_bool(k, "explore", 0);
    kv_uint(k, "params", (uint64_t)cost.params);
    kv_double(k, "infer_p99_us", cost.p99_us);
    kv_double(k, "budget_us", cost.budget_us);
    return kv_finish(k, 1, q->out, q->cap);
}

// Save into dir: the learner's state (sets *pending while it is still being written),
// else the served policy. 0 or -errno with q->err.
static int save_into(Req* q, const char* dir, int* pending) {
    int r = 0;
    if (q->lt) {   // answered within ~2 s whatever the learner does (learner_thread.h)
        r = lt_save(q->lt, dir, 1800, q->err);
        if (r == -EINPROGRESS) *pending = 1, r = 0;
    } else {
        char path[CFG_STR + 32];
        snprintf(path, sizeof path, "%s/policy.ckpt", dir);
        r = lt_save_served(&q->d->slot, path, q->err);
    }
    return r;
}

// save [DIR]: checkpoints into DIR (checked by save_dir_resolve) or checkpoint_dir.
// The reply's length.
static int cmd_save(Req* q, const char* arg) {
    Maacd* d = q->d;
    char dir[CFG_STR];
    int pending = 0, r;
    int refused = save_dir_resolve(d->cfg.checkpoint_dir, arg, dir, sizeof dir, q->err) < 0;
    if (refused) {
        r = -EPERM;
        atomic_fetch_add(&d->ctl_errors, 1);
        maacd_log(LOG_LV_WARNING, "save refused: %s", q->err->msg);
    } else {
        r = save_into(q, dir, &pending);
    }
    if (r < 0)
        return reply_err(q->out, q->cap, refused ? "save_refused" : "save_failed", "%s",
                         q->err->msg);
    maacd_log(LOG_LV_NOTICE, "checkpoint saved in %s%s", dir,
              pending ? " (learner state still being written)" : "");
    kv_str(q->k, "dir", dir);
    kv_bool(q->k, "state_pending", pending);
    kv_uint(q->k, "policy_version", swap_version(&d->slot));
    return kv_finish(q->k, 1, q->out, q->cap);
}

// pause (p = 1) or resume (p = 0) learning. The reply's length.
static int cmd_pause(Req* q, int p) {
    Maacd* d = q->d;
    if (!q->lt)
        return reply_err(q->out, q->cap, "no_learner", "learning is %s",
                         d->cfg.learn ? "not running" : "disabled");
    lt_set_paused(q->lt, p);
    if (q->c) ctrl_set_explore(q->c, p ? 0 : d->cfg.explore, -1);
    maacd_log(LOG_LV_NOTICE, "learning %s", p ? "paused" : "resumed");
    kv_bool(q->k, "paused", p);
    return kv_finish(q->k, 1, q->out, q->cap);
}

// Why CEM-MPC cannot run here: the reply's length, or 0 when it can.
static int mpc_refused(Req* q) {
    Maacd* d = q->d;
    LearnerThread* lt = q->lt;
    LtStatus lts;
    if (lt) lt_status(lt, &lts);
    if (d->cfg.fleet_connect[0])
        return reply_err(q->out, q->cap, "mpc_unavailable", "a fleet robot serves the learner's "
                         "policy only: CEM-MPC would need the learner's model ensemble and Q "
                         "(megabytes per publication), which are not broadcast (docs/daemon.md "
                         "\"Fleet\")");
    if (!lt || lts.state == LT_FAILED || lts.state == LT_DISABLED)
        // CEM plans with the learner's models and the plant's reward or their reward head
        return reply_err(q->out, q->cap, "mpc_unavailable", "CEM-MPC needs the learner's models "
                         "and reward; the learner is %s", !lt ? (d->cfg.learn ? "not running"
                         : "disabled ([learner] enabled = false)") : lt_state_name(lts.state));
    return 0;
}

// mode policy|mpc: how the loop computes actions. The reply's length.
static int cmd_mode(Req* q, const char* arg) {
    ActMode am;
    if (!strcmp(arg, "policy")) am = ACT_MODE_POLICY;
    else if (!strcmp(arg, "mpc")) am = ACT_MODE_MPC;
    else return reply_err(q->out, q->cap, "bad_argument", "mode must be policy or mpc, not '%s'",
                          arg);
    if (!q->c) return reply_err(q->out, q->cap, "not_ready", "no plant connected yet");
    if (am == ACT_MODE_MPC) {
        int n = mpc_refused(q);
        if (n) return n;
    }
    ctrl_set_act_mode(q->c, am);
    maacd_log(LOG_LV_NOTICE, "action mode: %s", arg);
    kv_str(q->k, "act_mode", arg);
    kv_str(q->k, "note", am == ACT_MODE_MPC ? "CEM-MPC takes effect with the next published "
                                              "policy (it needs frozen models)" : "");
    return kv_finish(q->k, 1, q->out, q->cap);
}

// The command's handler. The reply's length (or < 0 when it does not fit).
static int dispatch(Req* q, const char* cmd, const char* arg) {
    Maacd* d = q->d;
    if (!strcmp(cmd, "status")) {
        add_status(d, q->k, 0);
        return kv_finish(q->k, 1, q->out, q->cap);
    }
    if (!strcmp(cmd, "stats")) {
        add_stats(d, q->k);
        return kv_finish(q->k, 1, q->out, q->cap);
    }
    if (!strcmp(cmd, "swap")) return cmd_swap(q, arg);
    if (!strcmp(cmd, "save")) return cmd_save(q, arg);
    if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) return cmd_pause(q, !strcmp(cmd, "pause"));
    if (!strcmp(cmd, "mode")) return cmd_mode(q, arg);
    if (!strcmp(cmd, "stop")) {
        atomic_store(&d->stop, 1);
        kv_str(q->k, "note", "stopping");
        return kv_finish(q->k, 1, q->out, q->cap);
    }
    atomic_fetch_add(&d->ctl_errors, 1);
    return reply_err(q->out, q->cap, "unknown_command",
                     "unknown command '%s' (status, stats, swap, save, pause, resume, mode, stop)",
                     cmd);
}

int ctl_handle(Maacd* d, const void* req, size_t req_len, void* out, size_t cap) {
    atomic_fetch_add(&d->ctl_requests, 1);
    WireMsg* m = calloc(1, sizeof *m);
    Kv* k = malloc(sizeof *k);
    int n;
    if (!m || !k) {
        free(m);
        free(k);
        return reply_err(out, cap, "nomem", "out of memory");
    }
    kv_init(k);
    MaacErr err;
    err.msg[0] = 0;
    int r = wire_decode(req, req_len, 0, 0, m, &err);
    if (r < 0 || m->type != WIRE_MSG_CTL) {
        atomic_fetch_add(&d->ctl_errors, 1);
        n = reply_err(out, cap, r < 0 ? wire_err_name(r) : "wrong_type", "%s",
                      r < 0 ? err.msg : "expected a ctl message");
    } else {
        Req q = {.d = d, .k = k, .err = &err, .out = out, .cap = cap};
        q.c = atomic_load(&d->ctrl);
        q.lt = atomic_load(&d->lt);
        n = dispatch(&q, m->u.ctl.cmd, m->u.ctl.arg);
    }
    free(m);
    free(k);
    return n;
}

//---- the thread -----------------------------------------------------------------------

static void* ctl_main(void* arg) {
    CtlServer* s = arg;
    size_t cap = 1 << 16;
    unsigned char* req = malloc(cap);
    unsigned char* rep = malloc(cap);
    while (req && rep && !atomic_load(&s->stop)) {
        int r = link_poll_in(s->sock, 100);
        if (r <= 0) continue;
        int n = link_recv(s->sock, req, cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) continue;
        int m;
        if (n < 0) {
            atomic_fetch_add(&s->d->ctl_errors, 1);
            m = reply_err(rep, cap, n == -EMSGSIZE ? "oversized" : "error", "receive failed: %s",
                          strerror(-n));
        } else {
            m = ctl_handle(s->d, req, (size_t)n, rep, cap);
        }
        if (m < 0) m = reply_err(rep, cap, "error", "reply too large");
        (void)link_send(s->sock, rep, (size_t)(m > 0 ? m : 0), 0);   // REP must answer
    }
    free(req);
    free(rep);
    return NULL;
}

CtlServer* ctl_server_start(Maacd* d, MaacErr* reterr) {
    CtlServer* s = calloc(1, sizeof *s);
    if (!s) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    s->d = d;
    LinkOpts o;
    link_opts_default(&o);
    o.sndtimeo_ms = 1000;
    s->sock = sec_bind(&d->cfg, d->zctx, ZMQ_REP, d->cfg.control_endpoint, &o, reterr);
    if (!s->sock) {
        free(s);
        return NULL;
    }
    atomic_init(&s->stop, 0);
    int r = pthread_create(&s->thread, NULL, ctl_main, s);
    if (r) {
        link_close(s->sock);
        free(s);
        maac_err(reterr, -r, "pthread_create: %s", strerror(r));
        return NULL;
    }
    return s;
}

void ctl_server_stop(CtlServer* s) {
    if (!s) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    link_close(s->sock);
    free(s);
}
