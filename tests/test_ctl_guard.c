// SPDX-License-Identifier: Apache-2.0
// test_ctl_guard.c -- control commands that cannot be steered (issue 33):
//   save    writes only under the checkpoint directory: absolute paths, "..", slashes
//           and a symlinked subdirectory are refused; a plain subdirectory name works;
//   swap    of a FIFO is refused at once (the ctl thread never blocks in open); files
//           over swap_max_bytes, policies over swap_max_params / swap_max_memory_mb and
//           policies whose timed trial inference does not fit swap_time_fraction of
//           the period are refused with the running policy untouched;
//   pinned  after a swap the loop serves the swapped policy's deterministic output
//           (exploration off), labelled with its version, until resume.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon/ctl_server.h"
#include "daemon/ctrl.h"
#include "daemon/maacd.h"
#include "test_util.h"

#define S 4
#define A 2

static char dir[200], ckdir[240];
static Maacd d;   // the ctl server's view
static void* z;
static void* router;
static void* dealer;
static PlantInfo plant;
static unsigned char buf[8192], rbuf[65536];

static ServedPolicy* make_policy(uint64_t seed, int hidden_w) {
    Rng rng;
    rng_seed(&rng, seed);
    int hidden[2] = {hidden_w, hidden_w};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(S, A, 2, hidden, NN_ACT_TANH, plant.act_low, plant.act_high, &rng);
    snprintf(sp->pi->plant, sizeof sp->pi->plant, "%.47s", plant.name);
    return sp;
}

static int ctl(const char* cmd, const char* arg, char* text, size_t cap) {
    unsigned char req[1024], rep[65536];
    int n = wire_encode_ctl(req, sizeof req, cmd, arg);
    int m = ctl_handle(&d, req, (size_t)n, rep, sizeof rep);
    int ok = 0;
    wire_get_bool(rep, (size_t)m, "ok", &ok);
    wire_to_text(rep, (size_t)m, text, cap);
    return ok;
}

static void setup(void) {
    memset(&d, 0, sizeof d);
    config_default(&d.cfg);
    snprintf(d.cfg.checkpoint_dir, sizeof d.cfg.checkpoint_dir, "%.255s", ckdir);
    d.cfg.explore = 1;
    swap_init(&d.slot, served_free, served_stamp);
    snprintf(plant.name, sizeof plant.name, "inverted_pendulum");
    plant.obs_dim = S;
    plant.act_dim = A;
    plant.dt = 0.01;
    for (int j = 0; j < A; j++) plant.act_low[j] = -2, plant.act_high[j] = 2;
    swap_publish(&d.slot, make_policy(3, 16), 0, NULL);
    MaacErr err = {""};
    z = zmq_ctx_new();
    router = link_bind(z, ZMQ_ROUTER, "inproc://guard", NULL, &err);
    dealer = link_connect(z, ZMQ_DEALER, "inproc://guard", NULL, &err);
    Ctrl* c = ctrl_create(&d.cfg, &plant, z, router, NULL, &d.slot, &err);
    CHECK(c != NULL, "ctrl_create: %s", err.msg);
    ctrl_set_explore(c, 1, 1000000);   // uniform-random actions first, as a fresh learner does
    atomic_store(&d.ctrl, c);
}

static void teardown(void) {
    ctrl_free(atomic_load(&d.ctrl));
    swap_done(&d.slot);
    link_close(dealer);
    zmq_ctx_term(z);
}

static void test_save_only_under_checkpoint_dir(void) {
    char text[8192], victim_dir[700], link[700], p[800];
    snprintf(victim_dir, sizeof victim_dir, "%s/elsewhere", dir);
    mkdir(victim_dir, 0700);
    static const char* const bad[] = {"/etc", "..", "../elsewhere", "sub/dir", ".",
                                      "a\\b", "x y", "\xff\xfe"};
    for (int i = 0; i < 8; i++) {
        CHECK(!ctl("save", bad[i], text, sizeof text) && strstr(text, "save_refused"),
              "save '%s' refused: %s", bad[i], text);
    }
    snprintf(link, sizeof link, "%s/linked", ckdir);
    CHECK(symlink(victim_dir, link) == 0, "symlink");
    CHECK(!ctl("save", "linked", text, sizeof text) && strstr(text, "symlink"),
          "symlinked subdirectory refused: %s", text);
    snprintf(p, sizeof p, "%s/policy.ckpt", victim_dir);
    CHECK(access(p, F_OK) != 0, "nothing written through the symlink");
    CHECK(ctl("save", "run1", text, sizeof text), "save run1: %s", text);
    snprintf(p, sizeof p, "%s/run1/policy.ckpt", ckdir);
    CHECK(access(p, F_OK) == 0, "written under the checkpoint directory");
    CHECK(ctl("save", "", text, sizeof text), "save: %s", text);
    snprintf(p, sizeof p, "%s/policy.ckpt", ckdir);
    CHECK(access(p, F_OK) == 0, "written in the checkpoint directory");
    unlink(link);
    rmdir(victim_dir);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: swap of a FIFO blocked the control-socket thread\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
}

static void test_swap_refusals(void) {
    char text[8192], path[700];
    uint64_t v0 = swap_version(&d.slot);
    snprintf(path, sizeof path, "%s/fifo.ckpt", dir);
    CHECK(mkfifo(path, 0600) == 0, "mkfifo");
    signal(SIGALRM, on_alarm);
    alarm(5);
    CHECK(!ctl("swap", path, text, sizeof text) && strstr(text, "regular file"),
          "FIFO refused: %s", text);
    alarm(0);
    unlink(path);
    MaacErr err = {""};
    snprintf(path, sizeof path, "%s/big.ckpt", dir);
    ServedPolicy* sp = make_policy(5, 64);
    CHECK(policy_save(sp->pi, path, &err) == 0, "save: %s", err.msg);
    long params = sp->pi->net->n_params;
    served_free(sp);
    struct stat st;
    stat(path, &st);
    d.cfg.swap_max_bytes = (long)st.st_size - 1;
    CHECK(!ctl("swap", path, text, sizeof text) && strstr(text, "exceeds"),
          "file over swap_max_bytes refused: %s", text);
    d.cfg.swap_max_bytes = 64L << 20;
    d.cfg.swap_max_params = params - 1;
    CHECK(!ctl("swap", path, text, sizeof text) && strstr(text, "swap_max_params"),
          "policy over swap_max_params refused: %s", text);
    d.cfg.swap_max_params = params;
    d.cfg.swap_max_memory_mb = 0.01;
    CHECK(!ctl("swap", path, text, sizeof text) && strstr(text, "swap_max_memory_mb"),
          "policy over swap_max_memory_mb refused: %s", text);
    d.cfg.swap_max_memory_mb = 64;
    // 1e-6 of a 10 ms period is 10 ns: no inference fits, so the timed check must refuse
    d.cfg.swap_time_fraction = 1e-6;
    CHECK(!ctl("swap", path, text, sizeof text) && strstr(text, "too slow") &&
              strstr(text, "p99"), "too slow refused: %s", text);
    CHECK(swap_version(&d.slot) == v0 && atomic_load(&d.swaps_rejected) == 5,
          "served policy untouched by every refusal");
    d.cfg.swap_time_fraction = 0.25;
    unlink(path);
}

static int recv_action(WireMsg* m) {
    (void)link_poll_in(dealer, 200);
    int n;
    int got = 0;
    while ((n = link_recv(dealer, rbuf, sizeof rbuf, ZMQ_DONTWAIT)) > 0) {
        if (wire_decode(rbuf, (size_t)n, 0, 0, m, NULL) == 0 && m->type == WIRE_MSG_ACTION)
            got = 1;
        if (got) break;
    }
    return got;
}

static int step_obs(uint64_t seq, const double* o, WireMsg* m) {
    WireObs w;
    memset(&w, 0, sizeof w);
    w.seq = seq;
    w.obs_dim = S;
    w.first = seq == 1;
    for (int i = 0; i < S; i++) w.obs[i] = o[i];
    link_send(dealer, buf, (size_t)wire_encode_obs(buf, sizeof buf, &w), 0);
    (void)link_poll_in(router, 200);
    ctrl_step(atomic_load(&d.ctrl), rt_now_ns());
    return recv_action(m);
}

static void test_pinned_swap_is_deterministic(void) {
    char text[8192], path[700];
    MaacErr err = {""};
    WireHello h = {.obs_dim = S, .act_dim = A, .dt = 0.01};
    snprintf(h.plant, sizeof h.plant, "%s", plant.name);
    link_send(dealer, buf, (size_t)wire_encode_hello(buf, sizeof buf, &h), 0);
    (void)link_poll_in(router, 200);
    ctrl_step(atomic_load(&d.ctrl), rt_now_ns());
    WireMsg* m = calloc(1, sizeof *m);
    (void)recv_action(m);   // the welcome
    ServedPolicy* sp = make_policy(77, 16);
    sp->pi->version = 50;
    snprintf(path, sizeof path, "%s/pinned.ckpt", dir);
    CHECK(policy_save(sp->pi, path, &err) == 0, "save: %s", err.msg);
    float scratch[4096], want[A], obs_f[S];
    double o[S];
    uint64_t seq = 1;
    // before the swap: exploring (uniform-random actions) -- they differ from the policy's
    int differ = 0;
    for (int t = 0; t < 20; t++, seq++) {
        for (int i = 0; i < S; i++) o[i] = 0.1 * i + 0.05 * t, obs_f[i] = (float)o[i];
        CHECK(step_obs(seq, o, m), "action before swap");
        policy_act1(sp->pi, obs_f, NULL, want, scratch);
        for (int j = 0; j < A; j++) differ += fabs(m->u.action.action[j] - want[j]) > 1e-4;
    }
    CHECK(differ > 0, "exploration on before the swap (%d differing outputs)", differ);
    CHECK(ctl("swap", path, text, sizeof text), "swap: %s", text);
    CHECK(strstr(text, "\"explore\": false") && strstr(text, "infer_p99_us"),
          "reply says exploration off and the measured cost: %s", text);
    int same = 0, labelled = 0, n = 300;
    for (int t = 0; t < n; t++, seq++) {
        for (int i = 0; i < S; i++) o[i] = 0.3 * sin(0.1 * t + i), obs_f[i] = (float)o[i];
        if (!step_obs(seq, o, m)) continue;
        policy_act1(sp->pi, obs_f, NULL, want, scratch);
        int ok = !m->u.action.safe;
        for (int j = 0; j < A; j++) ok &= fabs(m->u.action.action[j] - want[j]) <= 1e-5;
        same += ok;
        labelled += m->u.action.policy_version == 50;
    }
    CHECK(same == n && labelled == n, "after the swap %d of %d actions are the swapped policy's "
          "deterministic output, %d labelled v50", same, n, labelled);
    served_free(sp);
    free(m);
    unlink(path);
}

int main(void) {
    const char* base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/maac_guard_XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", dir);
    mkdir(ckdir, 0700);
    setup();
    test_save_only_under_checkpoint_dir();
    test_swap_refusals();
    test_pinned_swap_is_deterministic();
    teardown();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    (void)!system(cmd);
    return test_summary("test_ctl_guard");
}
