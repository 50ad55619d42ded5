// SPDX-License-Identifier: Apache-2.0
// maacd.c -- the daemon: settings, memory locking, sockets, the first hello, then the
// control thread, the learner thread and the control socket; systemd notifications
// and the watchdog from the main thread; a final checkpoint on the way out.
//
// Start-up order: parse settings -> mlockall (when permitted) -> ZeroMQ context ->
// control socket (maacctl works from here on) -> bind the plant socket -> READY=1 ->
// wait for a plant's hello (it tells the dimensions) -> initial policy (policy_file,
// else checkpoint_dir/policy.ckpt, else a fresh random one) -> learner thread ->
// control thread. The main thread then logs loop events, pings the watchdog while
// the loop is healthy, and publishes STATUS= once a second.
// Thread: main. Allocation: everything at start-up.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "core/blas_arch.h"
#include "daemon/config.h"
#include "daemon/ctl_server.h"
#include "daemon/ctrl.h"
#include "daemon/learner_thread.h"
#include "daemon/maacd.h"
#include "daemon/health_alarm.h"
#include "daemon/notify.h"
#include "daemon/ratelog.h"
#include "daemon/plant_config.h"
#include "daemon/rt.h"
#include "daemon/state_dir.h"
#include "daemon/swap.h"
#include "daemon/watchdog.h"
#include "transport/link.h"
#include "transport/wire.h"

static Maacd* g_daemon;

static void on_signal(int sig) {
    (void)sig;
    if (g_daemon) atomic_store(&g_daemon->stop, 1);
}

static void log_blas_core(void) {
    char line[256];
    blas_arch_describe(line, sizeof line, "");
    maacd_log(LOG_LV_INFO, "%s", line);
}

static void lock_memory(Maacd* d) {
    if (!d->cfg.lock_memory) {
        maacd_log(LOG_LV_INFO, "memory locking off (control.lock_memory = false)");
        return;
    }
    // MCL_FUTURE under a small RLIMIT_MEMLOCK would make later allocations fail; only
    // lock when the limit cannot bite (root or an infinite limit, as the unit sets).
    struct rlimit rl;
    if (geteuid() != 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        maacd_log(LOG_LV_WARNING, "memory not locked: RLIMIT_MEMLOCK is %llu bytes "
                  "(set LimitMEMLOCK=infinity); page faults may add latency (degraded)",
                  (unsigned long long)rl.rlim_cur);
        return;
    }
    int r = rt_lock_memory();
    if (r < 0) {
        maacd_log(LOG_LV_WARNING, "mlockall failed: %s; continuing unlocked (degraded)",
                  strerror(-r));
        return;
    }
    atomic_store(&d->mem_locked, 1);
    maacd_log(LOG_LV_INFO, "memory locked (mlockall MCL_CURRENT|MCL_FUTURE)");
}

// Wait for the first hello on the plant socket. 0 with plant/peer filled, or -EINTR
// when asked to stop.
static int wait_for_hello(Maacd* d, void* sock, PlantInfo* plant, LinkPeer* peer) {
    size_t cap = (size_t)d->cfg.max_msg_bytes + 1;
    unsigned char* buf = malloc(cap);
    unsigned char out[1024];
    WireMsg* m = calloc(1, sizeof *m);
    int result = -EINTR;
    if (!buf || !m) {
        result = -ENOMEM;
        goto done;
    }
    int64_t last_ping = 0;
    while (!atomic_load(&d->stop)) {
        int64_t now = rt_now_ns();
        if (now - last_ping > 1000000000LL) {   // healthy while waiting
            notify_watchdog();
            notify_status("waiting for a plant on %s", d->cfg.plant_endpoint);
            last_ping = now;
        }
        if (link_poll_in(sock, 200) <= 0) continue;
        LinkPeer from;
        int n = link_router_recv(sock, &from, buf, cap, ZMQ_DONTWAIT);
        if (n == -EAGAIN) continue;
        if (n < 0) {
            int k = wire_encode_error(out, sizeof out, n == -EMSGSIZE ? "oversized" : "malformed",
                                      "message rejected before hello", -1);
            if (k > 0) (void)link_router_send(sock, &from, out, (size_t)k, ZMQ_DONTWAIT);
            static RateLog rl_rx;   // junk before a hello: one line per second (ratelog.h)
            ratelog_log(&rl_rx, LOG_LV_WARNING, "plant: bad message before hello: %s", strerror(-n));
            continue;
        }
        MaacErr err;
        err.msg[0] = 0;
        int r = wire_decode(buf, (size_t)n, 0, 0, m, &err);
        const char* code = NULL;
        char text[WIRE_MAX_TEXT];
        if (r < 0) {
            code = wire_err_name(r);
            snprintf(text, sizeof text, "%s", err.msg);
        } else if (m->type != WIRE_MSG_HELLO) {
            code = "not_ready";
            snprintf(text, sizeof text, "send a hello first (got '%s')", wire_type_name(m->type));
        } else if (d->cfg.plant[0] && strcmp(d->cfg.plant, m->u.hello.plant)) {
            code = "wrong_plant";
            snprintf(text, sizeof text, "this daemon is configured for plant '%s', not '%s'",
                     d->cfg.plant, m->u.hello.plant);
        } else if (!(m->u.hello.dt > 0)) {
            code = "bad_message";
            snprintf(text, sizeof text, "hello: dt must be > 0");
        }
        if (code) {
            static RateLog rl_bad;
            ratelog_log(&rl_bad, LOG_LV_WARNING, "plant: %s: %s", code, text);
            int k = wire_encode_error(out, sizeof out, code, text, -1);
            if (k > 0) (void)link_router_send(sock, &from, out, (size_t)k, ZMQ_DONTWAIT);
            continue;
        }
        const WireHello* h = &m->u.hello;
        memset(plant, 0, sizeof *plant);
        snprintf(plant->name, sizeof plant->name, "%s", h->plant);
        plant->obs_dim = h->obs_dim;
        plant->act_dim = h->act_dim;
        plant->dt = h->dt;
        for (int j = 0; j < h->act_dim; j++) {
            plant->act_low[j] = h->has_bounds ? (float)h->act_low[j] : -1.0f;
            plant->act_high[j] = h->has_bounds ? (float)h->act_high[j] : 1.0f;
        }
        *peer = from;
        result = 0;
        break;
    }
done:
    free(buf);
    free(m);
    return result;
}

static int send_welcome(Maacd* d, void* sock, const LinkPeer* peer, double rate_hz) {
    unsigned char out[512];
    WireWelcome w = {
        .mode = d->cfg.plant_mode == PLANT_MODE_REALTIME ? WIRE_MODE_REALTIME : WIRE_MODE_LOCKSTEP,
        .rate_hz = rate_hz,
        .policy_version = swap_version(&d->slot),
        .max_msg_bytes = d->cfg.max_msg_bytes,
    };
    int n = wire_encode_welcome(out, sizeof out, &w);
    if (n < 0) return n;
    return link_router_send(sock, peer, out, (size_t)n, ZMQ_DONTWAIT);
}

// The first policy: policy_file, else checkpoint_dir/policy.ckpt, else random init.
// Sets *ret_loaded when it came from a file.
static ServedPolicy* initial_policy(Maacd* d, const PlantInfo* plant, const LearnerConfig* lc,
                                    int* ret_loaded) {
    *ret_loaded = 0;
    ServedPolicy* sp = calloc(1, sizeof *sp);
    if (!sp) return NULL;
    char path[CFG_STR + 32] = "";
    if (d->cfg.policy_file[0]) {
        snprintf(path, sizeof path, "%s", d->cfg.policy_file);
    } else if (d->cfg.checkpoint_dir[0]) {
        snprintf(path, sizeof path, "%.250s/" LT_POLICY_FILE, d->cfg.checkpoint_dir);
        if (access(path, R_OK) != 0) path[0] = 0;
    }
    if (path[0]) {
        MaacErr err;
        err.msg[0] = 0;
        sp->pi = policy_load(path, &err);
        if (sp->pi && served_validate(sp, plant, &err) == 0) {
            maacd_log(LOG_LV_NOTICE, "starting from policy %s (version %llu)", path,
                      (unsigned long long)sp->pi->version);
            *ret_loaded = 1;
            return sp;
        }
        maacd_log(LOG_LV_ERR, "policy %s rejected: %s; starting from a random policy", path,
                  err.msg);
        policy_free(sp->pi);
        sp->pi = NULL;
    }
    Rng rng;
    rng_seed(&rng, d->cfg.seed ^ 0x706f6cULL);
    int hidden[8];
    int nh = lc->policy_hidden > 8 ? 8 : lc->policy_hidden;
    for (int i = 0; i < nh; i++) hidden[i] = lc->policy_width;
    sp->pi = policy_create(plant->obs_dim, plant->act_dim, nh, hidden, lc->policy_act,
                           plant->act_low, plant->act_high, &rng);
    if (!sp->pi) {
        free(sp);
        return NULL;
    }
    snprintf(sp->pi->plant, sizeof sp->pi->plant, "%.47s", plant->name);
    return sp;
}

static void status_line(Maacd* d, Ctrl* c, LearnerThread* lt) {
    CtrlStats* st = ctrl_stats(c);
    RtHistSummary j;
    rt_hist_summary(&st->jitter, &j);
    LtStatus s;
    memset(&s, 0, sizeof s);
    if (lt) lt_status(lt, &s);
    char fleet[256] = "";
    FleetRobot* fr = atomic_load(&d->fleet_robot);
    if (fr) fleet_robot_line(fr, fleet, sizeof fleet);
    notify_status("policy v%llu, %llu ticks, %llu misses, jitter p99 %.1f us, %llu episodes, "
                  "return %.1f (mean10 %.1f), learner %s%s%s%s%s%s",
                  (unsigned long long)atomic_load(&st->policy_version),
                  (unsigned long long)atomic_load(&st->ticks),
                  (unsigned long long)atomic_load(&st->misses), j.p99_ns * 1e-3,
                  (unsigned long long)atomic_load(&st->episodes), atomic_load(&st->last_return),
                  atomic_load(&st->mean_return),
                  lt ? lt_state_name(s.state) : fr ? "remote" : "off", s.paused ? " (paused)" : "",
                  fleet[0] ? "; " : "", fleet, d->alarm_text[0] ? "; ALARM: " : "", d->alarm_text);
}

// The state directory: resolved (never "none" by default), created, checked, and
// cleared of temp files that interrupted saves left. 0 or -1 (logged).
static int prepare_state_dir(Maacd* d) {
    MaacErr err;
    err.msg[0] = 0;
    char* dir = d->cfg.checkpoint_dir;
    if (!strcmp(dir, "none")) {
        maacd_log(LOG_LV_WARNING, "checkpoint_dir = none: nothing is saved; a stop or crash "
                  "loses what was learned");
        dir[0] = 0;
        return 0;
    }
    if (state_dir_default(dir, CFG_STR, &err) < 0 || state_dir_prepare(dir, &err) < 0) {
        maacd_log(LOG_LV_ERR, "%s", err.msg);
        return -1;
    }
    int n = state_dir_clean_temps(dir);
    maacd_log(LOG_LV_INFO, "state directory %s%s", dir,
              n ? " (removed temp files of interrupted saves)" : "");
    return 0;
}

// Start the learner thread: resume from the saved state when there is one, else a
// fresh learner (from the loaded policy's weights when one was loaded).
static LearnerThread* start_learner(Maacd* d, const LearnerConfig* lc, const PlantInfo* plant,
                                    Ctrl* c, const Policy* served, int loaded) {
    MaacErr err;
    err.msg[0] = 0;
    LearnerThread* lt = lt_create(&d->cfg, lc, plant, d->zctx, &d->slot, c, &err);
    if (!lt) {
        maacd_log(LOG_LV_ERR, "learner thread: %s; serving without learning", err.msg);
        return NULL;
    }
    char path[CFG_STR + 64] = "";
    if (d->cfg.checkpoint_dir[0] && !d->cfg.policy_file[0]) {
        snprintf(path, sizeof path, "%.250s/" LT_STATE_FILE, d->cfg.checkpoint_dir);
        if (access(path, R_OK) != 0) path[0] = 0;
    }
    lt_set_start(lt, path, loaded ? served : NULL, d->cfg.warmup_updates);
    ctrl_set_learner_alive(c, 1);   // the pipe is bound: rows queue while it starts
    if (lt_start(lt) < 0) {
        maacd_log(LOG_LV_ERR, "learner thread did not start; serving without learning");
        ctrl_set_learner_alive(c, 0);
        lt_free(lt);
        return NULL;
    }
    return lt;
}

static void periodic_checkpoint(Maacd* d, LearnerThread* lt) {
    if (!d->cfg.checkpoint_dir[0]) return;
    MaacErr err;
    err.msg[0] = 0;
    char path[CFG_STR + 32];
    int r;
    if (lt) {
        r = lt_save(lt, d->cfg.checkpoint_dir, 0, &err);   // the state: in the background
    } else {
        snprintf(path, sizeof path, "%.250s/" LT_POLICY_FILE, d->cfg.checkpoint_dir);
        r = lt_save_served(&d->slot, path, &err);
    }
    if (r < 0 && r != -EINPROGRESS) maacd_log(LOG_LV_WARNING, "periodic checkpoint: %s", err.msg);
}

// The final checkpoint (the learner thread has stopped). 0 or -errno (logged).
static int final_checkpoint(Maacd* d, LearnerThread* lt) {
    if (!d->cfg.checkpoint_dir[0]) return 0;
    MaacErr err;
    err.msg[0] = 0;
    char path[CFG_STR + 32];
    int r;
    if (lt) {
        r = lt_save(lt, d->cfg.checkpoint_dir, 60000, &err);
    } else {
        snprintf(path, sizeof path, "%.250s/" LT_POLICY_FILE, d->cfg.checkpoint_dir);
        r = lt_save_served(&d->slot, path, &err);
    }
    if (r < 0) {
        maacd_log(LOG_LV_ERR, "final checkpoint failed: %s", err.msg);
        return r;
    }
    maacd_log(LOG_LV_NOTICE, "final checkpoint written to %s (policy v%llu%s)",
              d->cfg.checkpoint_dir, (unsigned long long)swap_version(&d->slot),
              lt ? ", learner state" : "");
    return 0;
}

// episodes.csv in the state directory: one row per finished episode (ctrl.h).
static void open_episode_log(Maacd* d, Ctrl* c) {
    if (!d->cfg.checkpoint_dir[0]) return;
    char path[CFG_STR + 32];
    snprintf(path, sizeof path, "%.250s/episodes.csv", d->cfg.checkpoint_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE* f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        maacd_log(LOG_LV_WARNING, "episode log %s: %s", path, strerror(errno));
        return;
    }
    if (ftell(f) == 0) fprintf(f, "%s\n", CTRL_EPISODE_CSV_HEADER);
    fflush(f);
    d->episodes_csv = f;
    ctrl_set_episode_log(c, f);
}

static void progress_line(Ctrl* c, LearnerThread* lt) {
    CtrlStats* st = ctrl_stats(c);
    LtStatus s;
    memset(&s, 0, sizeof s);
    if (lt) lt_status(lt, &s);
    uint64_t pushed = atomic_load(&st->transitions);
    long backlog = (long)(pushed - (s.local_received < pushed ? s.local_received : pushed));
    char learner[200] = "learner off";
    if (lt && s.have_stats)
        snprintf(learner, sizeof learner, "%lld updates (%.2f/step), backlog %ld, data age "
                 "%.1f s, %s %.0f s%s%s", (long long)s.ls.updates, s.updates_per_step, backlog,
                 s.newest_trained_age_s, learner_phase_name(s.phase), s.phase_s,
                 s.phase == LEARNER_FIT ? " (epochs done: see stats)" : "",
                 s.paused ? ", paused" : "");
    else if (lt)
        snprintf(learner, sizeof learner, "learner %s", lt_state_name(s.state));
    maacd_log(LOG_LV_INFO, "progress: %llu episodes, %llu env steps, return %.1f (mean10 "
              "%.1f, eval %.1f), policy v%llu, %s, %llu misses, %llu safe, %llu dropped",
              (unsigned long long)atomic_load(&st->episodes),
              (unsigned long long)atomic_load(&st->env_steps), atomic_load(&st->last_return),
              atomic_load(&st->mean_return), atomic_load(&st->eval_return),
              (unsigned long long)atomic_load(&st->policy_version), learner,
              (unsigned long long)atomic_load(&st->misses),
              (unsigned long long)atomic_load(&st->safe_actions),
              (unsigned long long)atomic_load(&st->transitions_dropped));
}

// Fleet roles (docs/daemon.md "Fleet"): fleet_connect makes this daemon a robot,
// which runs no learner of its own; fleet_bind a learner. One daemon is not both.
// 0 or -EINVAL with err.
static int fleet_role(Maacd* d, MaacErr* err) {
    DaemonConfig* cfg = &d->cfg;
    if (!strcmp(cfg->plant_endpoint, "none")) {   // a learner with no plant of its own
        if (!cfg->fleet_bind[0])
            return maac_err(err, -EINVAL, "plant.endpoint = none needs learner.fleet_bind (a "
                            "fleet learner takes the plant's description from its robots)");
        d->no_plant = 1;   // an idle inproc plant socket keeps the loop's machinery as is
        snprintf(cfg->plant_endpoint, sizeof cfg->plant_endpoint, "inproc://maacd-no-plant");
    }
    if (cfg->fleet_connect[0] && cfg->fleet_bind[0])
        return maac_err(err, -EINVAL, "learner.fleet_connect (a robot) and learner.fleet_bind "
                        "(a learner) are both set: a daemon is one or the other");
    if (cfg->fleet_bind[0] && !cfg->learn)
        return maac_err(err, -EINVAL, "learner.fleet_bind needs the learner ([learner] enabled "
                        "= true): robots' rows would have no one to take them");
    if (cfg->fleet_connect[0] && cfg->learn) {
        cfg->learn = 0;
        maacd_log(LOG_LV_NOTICE, "fleet robot: no local learner; the learner at %s trains on "
                  "this robot's transitions and sends its policies", cfg->fleet_connect);
    }
    return 0;
}

// Start the fleet thread of this daemon's role (after the control loop and learner).
static void start_fleet(Maacd* d, Ctrl* c, const PlantInfo* plant, const LearnerConfig* lc,
                        int loaded, uint64_t initial_version) {
    MaacErr err;
    err.msg[0] = 0;
    if (d->cfg.fleet_connect[0]) {
        ctrl_set_explore(c, d->cfg.explore, loaded ? 0 : lc->init_random_steps);
        FleetRobot* fr = fleet_robot_start(&d->cfg, d->zctx, &d->slot, c, &err);
        if (!fr) maacd_log(LOG_LV_ERR, "fleet robot: %s; serving without a learner", err.msg);
        atomic_store(&d->fleet_robot, fr);
    } else if (atomic_load(&d->fleet_learner)) {   // started early (no plant of its own)
        fleet_learner_arm(atomic_load(&d->fleet_learner), loaded ? 0 : initial_version);
    } else if (d->cfg.fleet_bind[0]) {
        FleetLearner* fl = fleet_learner_start(&d->cfg, plant, d->zctx, &d->slot,
                                               loaded ? 0 : initial_version, &err);
        if (!fl) maacd_log(LOG_LV_ERR, "fleet learner: %s; no robots served", err.msg);
        atomic_store(&d->fleet_learner, fl);
    }
}

// The plant: a hello on the plant socket, or (plant endpoint none) the description of
// the first robot of the fleet, taken by the fleet thread started here. 0 or -errno.
static int wait_for_plant(Maacd* d, void* sock, PlantInfo* plant, LinkPeer* peer) {
    if (!d->no_plant) return wait_for_hello(d, sock, plant, peer);
    memset(peer, 0, sizeof *peer);
    MaacErr err;
    err.msg[0] = 0;
    FleetLearner* fl = fleet_learner_start(&d->cfg, NULL, d->zctx, &d->slot, 0, &err);
    if (!fl) {
        maacd_log(LOG_LV_ERR, "fleet learner: %s", err.msg);
        return -EINVAL;
    }
    atomic_store(&d->fleet_learner, fl);
    return fleet_learner_wait_plant(fl, &d->stop, plant);
}

// Realtime with a SCHED_FIFO control thread: ZeroMQ's I/O thread carries the plant's
// observations on ipc and tcp, so it gets SCHED_FIFO one below the control thread;
// at SCHED_OTHER a loaded machine delays observations past the stale time. Set only
// when the process may (a probe on this thread first: libzmq aborts when it may not),
// before the first socket starts the I/O thread.
static void io_thread_priority(Maacd* d) {
    int prio = d->cfg.priority - 1;
    if (d->cfg.priority <= 0 || d->cfg.plant_mode != PLANT_MODE_REALTIME) return;
    if (prio < 1) prio = 1;
    if (rt_set_fifo(prio) != 0) {
        maacd_log(LOG_LV_INFO, "ZeroMQ I/O thread stays SCHED_OTHER (SCHED_FIFO not permitted)");
        return;
    }
    (void)rt_set_other();
    if (zmq_ctx_set(d->zctx, ZMQ_THREAD_SCHED_POLICY, SCHED_FIFO) != 0 ||
        zmq_ctx_set(d->zctx, ZMQ_THREAD_PRIORITY, prio) != 0)
        maacd_log(LOG_LV_WARNING, "ZeroMQ I/O thread priority not set: %s",
                  zmq_strerror(zmq_errno()));
}

// What main starts after the ZeroMQ context, stopped in reverse by shut_down. A NULL
// member was not started (or, for plant_sock, is owned by the control loop).
typedef struct {
    void* plant_sock;
    CtlServer* ctl;
    Ctrl* c;
    LearnerThread* lt;
    Watchdog* wd;
} Run;

// Settings from the command line and the file, then the fleet role and the security
// check. -1 to go on, else the exit status (2 on a bad setting, 0 after --help).
static int settings(Maacd* d, int argc, char** argv, MaacErr* err) {
    config_default(&d->cfg);
    int help = 0;
    if (config_parse_args(&d->cfg, argc, argv, &help, err) < 0) {
        fprintf(stderr, "maacd: %s\n", err->msg);
        return 2;
    }
    if (help) {
        config_usage(argv[0]);
        return 0;
    }
    notify_init(d->cfg.verbose);
    if (fleet_role(d, err) < 0 ||   // (plant endpoint none -> inproc, before the check)
        sec_check_config(&d->cfg, err) < 0) {   // before anything listens
        fprintf(stderr, "maacd: %s\n", err->msg);
        return 2;
    }
    return -1;
}

static void install_signals(Maacd* d) {
    g_daemon = d;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void hold_cpu_latency(Maacd* d) {
    if (d->cfg.priority <= 0 || d->cfg.plant_mode != PLANT_MODE_REALTIME) return;
    // keep CPUs out of deep idle states while we run (cyclictest does the same)
    int fd = rt_hold_cpu_dma_latency();
    if (fd < 0)
        maacd_log(LOG_LV_INFO, "/dev/cpu_dma_latency not held (%s), ignoring", strerror(-fd));
}

// Security, the control socket, then the plant socket; READY=1 once all listen.
// 0 or -1 (logged).
static int open_sockets(Maacd* d, Run* r, MaacErr* err) {
    if (sec_start(&d->sec, &d->cfg, d->zctx, err) < 0) {
        maacd_log(LOG_LV_ERR, "security: %s", err->msg);
        return -1;
    }
    d->cfg.keys = &d->sec;
    r->ctl = ctl_server_start(d, err);
    if (!r->ctl) {
        maacd_log(LOG_LV_ERR, "control socket: %s", err->msg);
        return -1;
    }
    LinkOpts o;
    link_opts_default(&o);
    // hard cap against memory abuse; the configured max_msg_bytes is enforced by the
    // loop itself so an oversized message gets an error reply and a count
    o.max_msg_bytes = WIRE_MAX_MSG;
    o.sndhwm = 1000;
    r->plant_sock = sec_bind(&d->cfg, d->zctx, ZMQ_ROUTER, d->cfg.plant_endpoint, &o, err);
    if (!r->plant_sock) {
        maacd_log(LOG_LV_ERR, "plant socket: %s", err->msg);
        return -1;
    }
    maacd_log(LOG_LV_NOTICE, "maacd %s listening: plant %s (%s), control %s", "0.1.0",
              d->cfg.plant_endpoint,
              d->cfg.plant_mode == PLANT_MODE_REALTIME ? "realtime" : "lockstep",
              d->cfg.control_endpoint);
    notify_ready();
    return 0;
}

// The plant said hello: name it, log it, and apply its [plant.NAME] settings.
// 0 or -1.
static int accept_plant(Maacd* d, PlantInfo* plant) {
    snprintf(d->plant_name, sizeof d->plant_name, "%s", plant->name);
    maacd_log(LOG_LV_NOTICE, "plant '%s' said hello: obs %d, action %d, dt %.4f s", plant->name,
              plant->obs_dim, plant->act_dim, plant->dt);
    if (d->cfg.n_safe_action && d->cfg.n_safe_action != plant->act_dim)
        maacd_log(LOG_LV_WARNING, "plant.safe_action has %d values, the plant %d; missing "
                  "entries are 0 (clamped into the bounds)", d->cfg.n_safe_action, plant->act_dim);
    if (plant_config_start(&d->cfg, plant) < 0) return -1;
    return 0;
}

// The learner's settings for this plant, or the defaults with learning off.
static void learner_settings(Maacd* d, const PlantInfo* plant, LearnerConfig* lc,
                             MaacErr* err) {
    if (plant_config_learner(&d->cfg, plant, lc, err) < 0) {
        maacd_log(LOG_LV_ERR, "learner settings: %s; learning off", err->msg);
        d->cfg.learn = 0;
        learner_config_default(lc, plant->name);
    }
}

// The first policy into the slot. It, or NULL (logged; nothing published).
static ServedPolicy* publish_initial(Maacd* d, const PlantInfo* plant, const LearnerConfig* lc,
                                     int* loaded, uint64_t* v0) {
    ServedPolicy* sp = initial_policy(d, plant, lc, loaded);
    if (!sp || swap_publish(&d->slot, sp, sp->pi->version, v0) < 0) {
        maacd_log(LOG_LV_ERR, "cannot create the initial policy");
        served_free(sp);
        return NULL;
    }
    return sp;
}

// The welcome, then the control loop (it takes the plant socket). 0 or -1 (logged).
static int start_loop(Maacd* d, Run* r, const PlantInfo* plant, const LinkPeer* peer,
                      const LearnerConfig* lc, int loaded, MaacErr* err) {
    double rate = d->cfg.rate_hz > 0 ? d->cfg.rate_hz : 1.0 / plant->dt;
    if (!d->no_plant && send_welcome(d, r->plant_sock, peer, rate) < 0)
        maacd_log(LOG_LV_WARNING, "plant: welcome not sent");
    r->c = ctrl_create(&d->cfg, plant, d->zctx, r->plant_sock, peer, &d->slot, err);
    if (!r->c) {
        maacd_log(LOG_LV_ERR, "control thread: %s", err->msg);
        return -1;
    }
    r->plant_sock = NULL;   // owned by c
    ctrl_set_explore(r->c, d->cfg.learn && d->cfg.explore, loaded ? 0 : lc->init_random_steps);
    // the loop first: actions (the safe one until a policy answers) from the first
    // tick after the welcome, while the learner allocates or loads its state
    if (ctrl_start(r->c) < 0) {
        maacd_log(LOG_LV_ERR, "cannot start the control thread");
        return -1;
    }
    atomic_store(&d->ctrl, r->c);
    return 0;
}

// Serve the plant: the initial policy, the loop, the watchdog, the learner, the fleet
// thread and the episode log. 0 or -1 (logged).
static int start_serving(Maacd* d, Run* r, const PlantInfo* plant, const LinkPeer* peer,
                         MaacErr* err) {
    LearnerConfig lc;
    learner_settings(d, plant, &lc, err);
    int loaded = 0;
    uint64_t v0 = 0;
    ServedPolicy* sp = publish_initial(d, plant, &lc, &loaded, &v0);
    if (!sp) return -1;
    if (start_loop(d, r, plant, peer, &lc, loaded, err) < 0) return -1;
    r->wd = watchdog_start(r->c);
    if (!r->wd) maacd_log(LOG_LV_WARNING, "watchdog thread did not start");
    if (d->cfg.learn) r->lt = start_learner(d, &lc, plant, r->c, sp->pi, loaded);
    atomic_store(&d->lt, r->lt);
    start_fleet(d, r->c, plant, &lc, loaded, v0);
    open_episode_log(d, r->c);
    return 0;
}

// The main thread while serving: loop events, STATUS= and the health alarm once a
// second, a progress line every 10 s, periodic checkpoints; until asked to stop.
static void supervise(Maacd* d, Ctrl* c, LearnerThread* lt) {
    int64_t last_status = 0, last_ckpt = rt_now_ns(), last_progress = rt_now_ns();
    static HealthAlarm ha;
    health_alarm_init(&ha, d->cfg.alarm_safe_share, d->cfg.alarm_drops);
    while (!atomic_load(&d->stop)) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ctrl_drain_events(c);
        int64_t now = rt_now_ns();
        if (now - last_status >= 1000000000LL) {
            health_alarm_poll(&ha, d, c);
            status_line(d, c, lt);
            last_status = now;
        }
        if (now - last_progress >= 10000000000LL) {   // a progress line every 10 s
            progress_line(c, lt);
            last_progress = now;
        }
        if (d->cfg.checkpoint_every_s > 0 &&
            (double)(now - last_ckpt) * 1e-9 >= d->cfg.checkpoint_every_s) {
            periodic_checkpoint(d, lt);
            last_ckpt = now;
        }
    }
}

// Everything after the ZeroMQ context: sockets, the plant's hello, serving until
// asked to stop. The exit status: 0 (served, or stopped before a plant came) or 1;
// what was started is left in r for shut_down.
static int run(Maacd* d, Run* r, MaacErr* err) {
    if (open_sockets(d, r, err) < 0) return 1;
    PlantInfo plant;
    LinkPeer peer;
    int waited = wait_for_plant(d, r->plant_sock, &plant, &peer);
    if (waited < 0 && waited != -EINTR) return 1;   // (logged)
    if (waited < 0) {
        maacd_log(LOG_LV_NOTICE, "stopped before a plant connected");
        notify_stopping();
        return 0;   // stopped while waiting
    }
    if (accept_plant(d, &plant) < 0) return 1;
    if (start_serving(d, r, &plant, &peer, err) < 0) return 1;
    supervise(d, r->c, r->lt);
    maacd_log(LOG_LV_NOTICE, "stopping");
    notify_stopping();
    return 0;
}

// Stop and free what run started, in order, and the context. The exit status: rc, or
// MAACD_EXIT_CHECKPOINT when rc was 0 and the final checkpoint failed.
static int shut_down(Maacd* d, Run* r, int rc) {
    // the learner first: its train step is abandoned at the next safe point (bounded),
    // then the final checkpoint is written here while the loop still serves
    if (r->lt) lt_stop(r->lt);
    // a lost checkpoint is a failure the supervisor must see (maacd(8): exit 3)
    if (atomic_load(&d->ctrl) && final_checkpoint(d, r->lt) < 0 && rc == 0)
        rc = MAACD_EXIT_CHECKPOINT;
    ctl_server_stop(r->ctl);
    // the fleet threads (they use the loop, the slot and the learner's pipe)
    fleet_robot_stop(atomic_exchange(&d->fleet_robot, NULL));
    fleet_learner_stop(atomic_exchange(&d->fleet_learner, NULL));
    watchdog_stop(r->wd);
    if (r->c) ctrl_stop(r->c);
    if (r->c) ctrl_drain_events(r->c);
    if (d->episodes_csv) fclose(d->episodes_csv);
    atomic_store(&d->ctrl, NULL);
    atomic_store(&d->lt, NULL);
    lt_free(r->lt);
    ctrl_free(r->c);
    link_close(r->plant_sock);
    swap_done(&d->slot);
    sec_stop(&d->sec);
    zmq_ctx_term(d->zctx);
    return rc;
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // may re-execute with OPENBLAS_CORETYPE set (blas_arch.h)
    static Maacd daemon;   // large (the slot); static keeps it off the stack
    Maacd* d = &daemon;
    MaacErr err;
    err.msg[0] = 0;
    int rc = settings(d, argc, argv, &err);
    if (rc >= 0) return rc;
    log_blas_core();
    d->start_ns = rt_now_ns();
    install_signals(d);
    lock_memory(d);
    hold_cpu_latency(d);
    if (prepare_state_dir(d) < 0) return 1;
    d->zctx = zmq_ctx_new();
    if (!d->zctx || swap_init(&d->slot, served_free, served_stamp) < 0) {
        maacd_log(LOG_LV_ERR, "cannot create the ZeroMQ context");
        return 1;
    }
    io_thread_priority(d);
    Run r = {0};
    rc = run(d, &r, &err);
    return shut_down(d, &r, rc);
}
