// SPDX-License-Identifier: Apache-2.0
// maac_sim/main.c -- maac-sim: a MuJoCo plant (sim/sim.h) behind the maacd wire
// protocol, as a separate program. A real robot driver takes its place.
//
// It connects a DEALER socket to the daemon's plant endpoint, says hello (plant
// name, dims, bounds, control period), waits for the welcome and then runs
// episodes (docs/protocol.md):
//   lockstep  send obs, wait for the action with that seq, step, repeat (as fast as
//             the daemon answers);
//   realtime  step at --rate Hz on absolute deadlines with the newest action
//             received (the previous one, or zeros at the start, when none is new),
//             sending each observation as it is produced.
// --mode auto (the default) follows the daemon's welcome.
// If the daemon stops answering for --timeout-ms, or answers "not_ready" (it was
// restarted and does not know us), maac-sim closes the socket, reconnects (a fresh
// identity), says hello again and restarts the episode; it never exits because the
// daemon went away (unless --give-up-s passes). A "busy" answer (another plant holds
// the daemon's session) is retried once a second.
// A tcp endpoint needs CURVE keys (--key, --server-key; transport/curve.h) or
// --insecure. The default endpoint is the daemon's: $MAACD_PLANT, else [plant]
// endpoint of /etc/maacd/maacd.conf, else the default socket directory (sockdir.h).
// Thread: single-threaded. Allocation: start-up only.
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "sim/sim.h"
#include "transport/curve.h"
#include "transport/link.h"
#include "transport/sockdir.h"
#include "transport/wire.h"

typedef enum { MODE_AUTO = -1, MODE_LOCKSTEP = WIRE_MODE_LOCKSTEP, MODE_REALTIME = WIRE_MODE_REALTIME } Mode;

typedef struct {
    const char* plant;
    const char* endpoint;
    Mode mode;
    long episodes;          // 0 = forever
    unsigned long long seed;
    double rate_hz;         // realtime stepping rate (0 = 1/dt)
    int timeout_ms;         // daemon silent this long -> reconnect
    double give_up_s;       // total time without any daemon (0 = never)
    long max_steps;         // cap on episode length (0 = the plant's)
    int quiet;
    const char* key;        // CURVE client secret key file (tcp)
    const char* server_key; // the daemon's CURVE public key file (tcp)
    int insecure;           // tcp without CURVE
} Opts;

typedef struct {
    long episodes, steps, actions, safe_actions, errors, stale_actions, reconnects;
    long busy_notices;      // lock-step: learner_busy notices from the daemon
    double return_sum, last_return;
    uint64_t last_policy_version;
} Totals;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static int64_t now_ns(int clk) {
    struct timespec t;
    clock_gettime(clk, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int conf_endpoint(void* user, const char* section, const char* key, const char* value) {
    if (!strcmp(section, "plant") && !strcmp(key, "endpoint")) snprintf(user, 256, "%s", value);
    return 1;
}

// $MAACD_PLANT, else /etc/maacd/maacd.conf's [plant] endpoint, else the default directory.
static const char* default_endpoint(void) {
    static char ep[512];
    const char* env = getenv("MAACD_PLANT");
    if (env && env[0]) return env;
    if (ini_parse("/etc/maacd/maacd.conf", conf_endpoint, ep) >= 0 && ep[0]) return ep;
    if (sockdir_default_endpoint("plant.sock", ep, sizeof ep) < 0) ep[0] = 0;
    return ep;
}

static void usage(const char* argv0) {
    fprintf(stderr,
            "usage: %s [--plant NAME] [--endpoint EP] [--mode auto|lockstep|realtime]\n"
            "          [--episodes N] [--seed S] [--rate HZ] [--timeout-ms MS]\n"
            "          [--give-up-s S] [--max-steps N] [--quiet]\n"
            "          [--key CLIENT.key --server-key SERVER.pub | --insecure]\n"
            "  --plant      plant to simulate (default double_integrator):",
            argv0);
    for (const char* const* n = sim_plant_names(); *n; n++) fprintf(stderr, " %s", *n);
    fprintf(stderr,
            "\n  --endpoint   the daemon's plant endpoint (default %s)\n"
            "  --mode       auto: follow the daemon's welcome (default)\n"
            "  --episodes   episodes to run, 0 = until stopped (default 1)\n"
            "  --seed       episode k resets with seed + k (default 0)\n"
            "  --rate       realtime stepping rate in Hz (default 1/dt of the plant)\n"
            "  --timeout-ms daemon silent this long: reconnect (default 5000)\n"
            "  --give-up-s  exit with status 2 after this long without a daemon (default 0: never)\n"
            "  --max-steps  truncate episodes after N steps (default: the plant's limit)\n"
            "  --key        CURVE client secret key for a tcp endpoint (default $MAACD_KEY)\n"
            "  --server-key the daemon's CURVE public key (default $MAACD_SERVER_KEY)\n"
            "  --insecure   talk to a tcp endpoint without CURVE\n",
            default_endpoint());
}

static int parse_args(Opts* o, int argc, char** argv) {
    static const struct option lo[] = {
        {"plant", required_argument, 0, 'p'},    {"endpoint", required_argument, 0, 'e'},
        {"mode", required_argument, 0, 'm'},     {"episodes", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},     {"rate", required_argument, 0, 'r'},
        {"timeout-ms", required_argument, 0, 't'}, {"give-up-s", required_argument, 0, 'g'},
        {"max-steps", required_argument, 0, 'x'}, {"quiet", no_argument, 0, 'q'},
        {"key", required_argument, 0, 'k'},      {"server-key", required_argument, 0, 'K'},
        {"insecure", no_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    *o = (Opts){.plant = "double_integrator", .endpoint = default_endpoint(),
                .mode = MODE_AUTO, .episodes = 1, .timeout_ms = 5000,
                .key = getenv("MAACD_KEY"), .server_key = getenv("MAACD_SERVER_KEY")};
    int c;
    char* end;
    while ((c = getopt_long(argc, argv, "p:e:m:n:s:r:t:g:x:qh", lo, NULL)) != -1) {
        errno = 0;
        switch (c) {
        case 'p': o->plant = optarg; break;
        case 'e': o->endpoint = optarg; break;
        case 'm':
            if (!strcmp(optarg, "auto")) o->mode = MODE_AUTO;
            else if (!strcmp(optarg, "lockstep")) o->mode = MODE_LOCKSTEP;
            else if (!strcmp(optarg, "realtime")) o->mode = MODE_REALTIME;
            else { fprintf(stderr, "maac-sim: --mode must be auto, lockstep or realtime\n"); return -1; }
            break;
        case 'n': o->episodes = strtol(optarg, &end, 10); if (*end || o->episodes < 0) goto bad; break;
        case 's': o->seed = strtoull(optarg, &end, 10); if (*end) goto bad; break;
        case 'r': o->rate_hz = strtod(optarg, &end); if (*end || !(o->rate_hz >= 0)) goto bad; break;
        case 't': o->timeout_ms = (int)strtol(optarg, &end, 10); if (*end || o->timeout_ms <= 0) goto bad; break;
        case 'g': o->give_up_s = strtod(optarg, &end); if (*end || !(o->give_up_s >= 0)) goto bad; break;
        case 'x': o->max_steps = strtol(optarg, &end, 10); if (*end || o->max_steps < 0) goto bad; break;
        case 'q': o->quiet = 1; break;
        case 'k': o->key = optarg; break;
        case 'K': o->server_key = optarg; break;
        case 'I': o->insecure = 1; break;
        case 'h': usage(argv[0]); exit(0);
        default: usage(argv[0]); return -1;
        }
        if (errno) goto bad;
        continue;
    bad:
        fprintf(stderr, "maac-sim: bad value '%s' for option -%c (see --help)\n", optarg, c);
        return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "maac-sim: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

//---- the session ---------------------------------------------------------------------

typedef struct {
    const Opts* o;
    SimPlant* p;
    const SimSpec* spec;
    void* ctx;
    void* sock;
    Mode mode;              // effective mode of this session
    double rate_hz;
    uint64_t seq;           // next observation's seq
    unsigned char tx[WIRE_OBS_BUF], rx[8192];
    WireMsg msg;
    Totals t;
    int64_t last_heard_ns;  // CLOCK_MONOTONIC of the last message from the daemon
    int session_lost;       // the daemon answered "not_ready": it forgot us (restarted)
} Sim;

static void logf_(const Sim* s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const Sim* s, const char* fmt, ...) {
    if (s->o->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "maac-sim: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int sim_connect(Sim* s) {
    MaacErr err = {{0}};
    LinkOpts lo;
    link_opts_default(&lo);
    lo.linger_ms = 0;
    static LinkCurve curve;
    int rc = curve_client_setup(s->o->endpoint, s->o->key, s->o->server_key, s->o->insecure,
                                &curve, &err);
    if (rc < 0) {
        fprintf(stderr, "maac-sim: %s\n", err.msg);
        return -1;
    }
    lo.curve = rc ? &curve : NULL;
    link_close(s->sock);
    s->sock = link_connect(s->ctx, ZMQ_DEALER, s->o->endpoint, &lo, &err);
    if (!s->sock) {
        fprintf(stderr, "maac-sim: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int send_msg(Sim* s, int n) {
    if (n <= 0) return n ? n : -EINVAL;
    return link_send(s->sock, s->tx, (size_t)n, ZMQ_DONTWAIT);
}

// Receive and decode one message, waiting at most timeout_ms. 1 got one (s->msg),
// 0 timeout, < 0 error (a bad message from the daemon is reported and skipped: 0).
static int recv_msg(Sim* s, int timeout_ms) {
    int r = link_poll_in(s->sock, timeout_ms);
    if (r <= 0) return r;
    int n = link_recv(s->sock, s->rx, sizeof s->rx, ZMQ_DONTWAIT);
    if (n == -EAGAIN) return 0;
    if (n < 0) {
        s->t.errors++;
        logf_(s, "receive failed: %s", strerror(-n));
        return 0;
    }
    s->last_heard_ns = now_ns(CLOCK_MONOTONIC);
    MaacErr err = {{0}};
    r = wire_decode(s->rx, (size_t)n, 0, s->spec->act_dim, &s->msg, &err);
    if (r < 0) {
        s->t.errors++;
        logf_(s, "bad message from the daemon (%s): %s", wire_err_name(r), err.msg);
        return 0;
    }
    if (s->msg.type == WIRE_MSG_ERROR && !strcmp(s->msg.u.error.code, "learner_busy")) {
        // lock-step: the daemon holds our action while its learner catches up
        if (s->t.busy_notices++ % 30 == 0)
            logf_(s, "daemon: %s (waiting)", s->msg.u.error.msg);
        return 1;
    }
    if (s->msg.type == WIRE_MSG_ERROR) {
        s->t.errors++;
        logf_(s, "daemon error %s: %s", s->msg.u.error.code, s->msg.u.error.msg);
        if (!strcmp(s->msg.u.error.code, "not_ready")) s->session_lost = 1;
    }
    return 1;
}

// hello -> welcome. 0, or -ETIMEDOUT / -ECONNREFUSED (rejected).
static int handshake(Sim* s) {
    s->session_lost = 0;
    WireHello h = {.obs_dim = s->spec->obs_dim, .act_dim = s->spec->act_dim,
                   .dt = s->spec->control_dt, .has_bounds = 1};
    snprintf(h.plant, sizeof h.plant, "%s", s->spec->name);
    for (int j = 0; j < h.act_dim; j++) {
        h.act_low[j] = s->spec->act_low[j];
        h.act_high[j] = s->spec->act_high[j];
    }
    int r = send_msg(s, wire_encode_hello(s->tx, sizeof s->tx, &h));
    if (r < 0 && r != -EAGAIN) return r;
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)s->o->timeout_ms * 1000000;
    while (!g_stop) {
        int left = (int)((deadline - now_ns(CLOCK_MONOTONIC)) / 1000000);
        if (left <= 0) return -ETIMEDOUT;
        r = recv_msg(s, left > 200 ? 200 : left);
        if (r < 0) return r;
        if (r == 0) continue;
        if (s->msg.type == WIRE_MSG_WELCOME) {
            const WireWelcome* w = &s->msg.u.welcome;
            s->mode = s->o->mode == MODE_AUTO ? (Mode)w->mode : s->o->mode;
            s->rate_hz = s->o->rate_hz > 0 ? s->o->rate_hz : 1.0 / s->spec->control_dt;
            logf_(s, "connected to %s: daemon %s at %.1f Hz, policy v%llu; stepping %s",
                  s->o->endpoint, w->mode == WIRE_MODE_REALTIME ? "realtime" : "lockstep",
                  w->rate_hz, (unsigned long long)w->policy_version,
                  s->mode == MODE_REALTIME ? "realtime" : "lockstep");
            return 0;
        }
        if (s->msg.type == WIRE_MSG_ERROR)
            return !strcmp(s->msg.u.error.code, "busy") ? -EBUSY : -ECONNREFUSED;
    }
    return -EINTR;
}

static void apply_bounds(const SimSpec* sp, const WireAction* a, double* act) {
    for (int j = 0; j < sp->act_dim; j++) {
        double v = a->action[j];
        act[j] = v < sp->act_low[j] ? sp->act_low[j] : v > sp->act_high[j] ? sp->act_high[j] : v;
    }
}

static int send_obs(Sim* s, const double* obs, double reward, const SimStepResult* ret, int first) {
    WireObs o = {.seq = s->seq++, .t_ns = now_ns(CLOCK_REALTIME), .obs_dim = s->spec->obs_dim,
                 .reward = reward, .first = first,
                 .terminated = ret ? ret->terminated : 0, .truncated = ret ? ret->truncated : 0};
    memcpy(o.obs, obs, sizeof(double) * (size_t)o.obs_dim);
    int r = send_msg(s, wire_encode_obs(s->tx, sizeof s->tx, &o));
    return r == -EAGAIN ? 0 : r;   // a full queue: the daemon is gone; the timeout notices
}

// Wait for the action answering seq (lockstep). 1 got it in *ret, 0 timeout, -EINTR.
static int wait_action(Sim* s, uint64_t seq, WireAction* ret) {
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)s->o->timeout_ms * 1000000;
    while (!g_stop) {
        int left = (int)((deadline - now_ns(CLOCK_MONOTONIC)) / 1000000);
        if (left <= 0) return 0;
        int r = recv_msg(s, left > 200 ? 200 : left);
        if (r < 0) return r;
        if (s->session_lost) return 0;
        if (r == 1 && s->msg.type == WIRE_MSG_ERROR &&
            !strcmp(s->msg.u.error.code, "learner_busy")) {
            deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)s->o->timeout_ms * 1000000;
            continue;   // alive and busy: the silence timeout starts again
        }
        if (r == 0 || s->msg.type != WIRE_MSG_ACTION) continue;
        if (s->msg.u.action.seq != seq) {   // a late answer to an earlier observation
            s->t.stale_actions++;
            continue;
        }
        *ret = s->msg.u.action;
        return 1;
    }
    return -EINTR;
}

// One episode. 1 finished, 0 the daemon went silent (reconnect), -EINTR stop.
static int run_episode(Sim* s, uint64_t seed) {
    const SimSpec* sp = s->spec;
    double obs[SIM_MAX_OBS], act[SIM_MAX_ACT] = {0};
    WireAction a;
    SimStepResult ret = {0};
    double ep_return = 0;
    long steps = 0;
    long limit = s->o->max_steps > 0 ? s->o->max_steps : sp->max_episode_steps;
    if (sim_reset(s->p, seed, obs) < 0) return -EIO;
    // start from zeros clamped into the bounds (the safe default) until told otherwise
    for (int j = 0; j < sp->act_dim; j++)
        act[j] = 0 < sp->act_low[j] ? sp->act_low[j] : 0 > sp->act_high[j] ? sp->act_high[j] : 0;
    int r = send_obs(s, obs, 0, NULL, 1);
    if (r < 0) return 0;
    int64_t period = (int64_t)(1e9 / s->rate_hz);
    int64_t next = now_ns(CLOCK_MONOTONIC) + period;
    for (;;) {
        if (g_stop) return -EINTR;
        if (s->mode == MODE_LOCKSTEP) {
            r = wait_action(s, s->seq - 1, &a);
            if (r <= 0) return r;
            s->t.actions++;
            if (a.safe) s->t.safe_actions++;
            s->t.last_policy_version = a.policy_version;
            if (ret.terminated || ret.truncated) break;   // the answer to the last obs
            apply_bounds(sp, &a, act);
        } else {
            // realtime: sleep to the deadline, then take the newest action received
            struct timespec ts = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !g_stop) {}
            next += period;
            int64_t now = now_ns(CLOCK_MONOTONIC);
            if (next < now) next = now + period;   // overrun: skip, do not burst
            while ((r = recv_msg(s, 0)) > 0) {
                if (s->msg.type != WIRE_MSG_ACTION) continue;
                s->t.actions++;
                if (s->msg.u.action.safe) s->t.safe_actions++;
                s->t.last_policy_version = s->msg.u.action.policy_version;
                apply_bounds(sp, &s->msg.u.action, act);
            }
            if (r < 0) return r;
            if (s->session_lost) return 0;
            if (ret.terminated || ret.truncated) break;
            if (now - s->last_heard_ns > (int64_t)s->o->timeout_ms * 1000000) return 0;
        }
        r = sim_step(s->p, act, obs, &ret);
        if (r < 0) return r;
        steps++;
        if (steps >= limit) ret.truncated = 1;
        ep_return += ret.reward;
        s->t.steps++;
        if (send_obs(s, obs, ret.reward, &ret, 0) < 0) return 0;
    }
    s->t.episodes++;
    s->t.return_sum += ep_return;
    s->t.last_return = ep_return;
    logf_(s, "episode %ld: return %.3f, %ld steps, policy v%llu", s->t.episodes, ep_return,
          steps, (unsigned long long)s->t.last_policy_version);
    return 1;
}

// After a hello that failed with r (not -EINTR): wait (busy), give up, or reconnect.
// 0 to try again, 1 to stop with *status.
static int after_failed_hello(Sim* s, int r, int64_t last_ok, int* status) {
    const Opts* o = s->o;
    if (r == -ECONNREFUSED) {
        fprintf(stderr, "maac-sim: the daemon rejected the hello\n");
        *status = 1;
        return 1;
    }
    if (r == -EBUSY) {   // another plant holds the session: wait, try again
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        if (o->give_up_s <= 0 || (now_ns(CLOCK_MONOTONIC) - last_ok) * 1e-9 <= o->give_up_s)
            return 0;
    }
    if (o->give_up_s > 0 && (now_ns(CLOCK_MONOTONIC) - last_ok) * 1e-9 > o->give_up_s) {
        fprintf(stderr, "maac-sim: no daemon at %s for %.0f s, giving up\n", o->endpoint,
                o->give_up_s);
        *status = 2;
        return 1;
    }
    logf_(s, "no answer from %s; reconnecting", o->endpoint);
    s->t.reconnects++;
    if (sim_connect(s) < 0) {
        *status = 1;
        return 1;
    }
    return 0;
}

// The daemon went silent mid-episode, or restarted: reconnect. 0 to go on, 1 to stop
// with *status.
static int after_silence(Sim* s, int* connected, int* status) {
    if (s->session_lost) logf_(s, "the daemon lost our session; saying hello again");
    else logf_(s, "daemon silent for %d ms mid-episode; reconnecting", s->o->timeout_ms);
    s->t.reconnects++;
    *connected = 0;
    if (sim_connect(s) < 0) {
        *status = 1;
        return 1;
    }
    return 0;
}

// Episodes until stopped, --episodes are done, or a failure: hello (again) whenever
// not connected. The exit status; *connected says whether the session is up.
static int serve(Sim* s, int64_t t0, int* connected) {
    const Opts* o = s->o;
    int status = 0;
    int64_t last_ok = t0;
    while (!g_stop && (o->episodes == 0 || s->t.episodes < o->episodes)) {
        if (!*connected) {
            int r = handshake(s);
            if (r == -EINTR) break;
            if (r < 0) {
                if (after_failed_hello(s, r, last_ok, &status)) break;
                continue;
            }
            *connected = 1;
            last_ok = now_ns(CLOCK_MONOTONIC);
        }
        int r = run_episode(s, o->seed + (uint64_t)s->t.episodes);
        if (r == -EINTR) break;
        if (r < 0 && r != -ETIMEDOUT) {
            fprintf(stderr, "maac-sim: %s\n", strerror(-r));
            status = 1;
            break;
        }
        if (r == 0) {
            if (after_silence(s, connected, &status)) break;
            continue;
        }
        last_ok = now_ns(CLOCK_MONOTONIC);
    }
    return status;
}

// A bye when connected, then the summary line.
static void finish(Sim* s, int connected, int64_t t0) {
    if (s->sock && connected) {
        (void)send_msg(s, wire_encode_bye(s->tx, sizeof s->tx));
        (void)link_poll_in(s->sock, 0);
    }
    double secs = (now_ns(CLOCK_MONOTONIC) - t0) * 1e-9;
    printf("maac-sim: plant %s episodes %ld steps %ld mean_return %.4f last_return %.4f "
           "actions %ld safe_actions %ld errors %ld reconnects %ld policy_version %llu "
           "steps_per_s %.1f\n",
           s->spec->name, s->t.episodes, s->t.steps,
           s->t.episodes ? s->t.return_sum / (double)s->t.episodes : 0.0, s->t.last_return,
           s->t.actions, s->t.safe_actions, s->t.errors, s->t.reconnects,
           (unsigned long long)s->t.last_policy_version, secs > 0 ? (double)s->t.steps / secs : 0.0);
    fflush(stdout);
}

int main(int argc, char** argv) {
    Opts o;
    if (parse_args(&o, argc, argv) < 0) return 1;
    MaacErr err = {{0}};
    static Sim s;
    s.o = &o;
    s.p = sim_create(o.plant, &err);
    if (!s.p) {
        fprintf(stderr, "maac-sim: plant '%s': %s\n", o.plant, err.msg);
        return 1;
    }
    s.spec = sim_spec(s.p);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    s.ctx = zmq_ctx_new();
    int status = 1;
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    s.last_heard_ns = t0;
    if (sim_connect(&s) >= 0) {
        int connected = 0;
        status = serve(&s, t0, &connected);
        finish(&s, connected, t0);
    }
    if (s.sock) {
        // a bye must get out before the socket closes
        int linger = 200;
        zmq_setsockopt(s.sock, ZMQ_LINGER, &linger, sizeof linger);
    }
    link_close(s.sock);
    zmq_ctx_term(s.ctx);
    sim_free(s.p);
    return status;
}
