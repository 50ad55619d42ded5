// SPDX-License-Identifier: Apache-2.0
// test_maac_sim.c -- the maac-sim program against a plant server built from transport/
// (tests/fake_plant_server.h): lock-step episodes, the daemon going away mid-episode
// (timeout, reconnect, new hello, the episode restarted), and realtime stepping.
// usage: test_maac_sim PATH/TO/maac-sim
#include "fake_plant_server.h"
#include "sim/sim.h"

extern char** environ;

static char dir[] = "/tmp/maac-test-sim-XXXXXX";
static const char* exe;
static int S, A;

static void run(const char* what, WireMode mode, long outage_after, long forget_after,
                char* extra[], long want_episodes, long want_steps, int want_min_hellos) {
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/%s.sock", dir, what);
    void* ctx = zmq_ctx_new();
    static Fake f;
    memset(&f, 0, sizeof f);
    f.plant_name = "double_integrator";
    f.obs_dim = S;
    f.act_dim = A;
    f.mode = mode;
    f.outage_after_obs = outage_after;
    f.outage_ms = 800;
    f.forget_after_obs = forget_after;
    if (fake_start(&f, ctx, ep, NULL) < 0) {
        CHECK(0, "%s: bind", what);
        return;
    }
    char* argv[32] = {(char*)exe, "--plant", "double_integrator", "--endpoint", ep, "--quiet"};
    int n = 6;
    for (int i = 0; extra[i] && n < 31; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    int st = fake_serve_while(&f, argv);
    CHECK(st == 0, "%s: maac-sim exited %d", what, st);
    CHECK(f.episodes == want_episodes, "%s: episodes %ld, want %ld", what, f.episodes, want_episodes);
    if (want_steps >= 0)
        CHECK(f.steps == want_steps, "%s: steps %ld, want %ld", what, f.steps, want_steps);
    CHECK(f.hellos >= want_min_hellos, "%s: hellos %ld, want >= %d", what, f.hellos, want_min_hellos);
    CHECK(f.byes == 1, "%s: byes %ld", what, f.byes);
    long errs = 0;
    for (int i = 0; codes[i]; i++)
        if (strcmp(codes[i], "not_ready")) errs += f.errors_by_code[i];
    CHECK(errs == 0, "%s: %ld protocol errors from maac-sim", what, errs);
    if (forget_after) CHECK(f.errors_by_code[7] == 1, "%s: not_ready sent %ld times", what,
                            f.errors_by_code[7]);
    if (mode == WIRE_MODE_REALTIME) CHECK(f.rt_actions > 0, "%s: no realtime actions", what);
    printf("%s: hellos %ld episodes %ld steps %ld\n", what, f.hellos, f.episodes, f.steps);
    fake_stop(&f);
    zmq_ctx_term(ctx);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/maac-sim\n", argv[0]);
        return 2;
    }
    exe = argv[1];
    MaacErr e = {{0}};
    SimPlant* p = sim_create("double_integrator", &e);
    if (!p) {
        fprintf(stderr, "sim_create: %s\n", e.msg);
        return 2;
    }
    S = sim_spec(p)->obs_dim;
    A = sim_spec(p)->act_dim;
    sim_free(p);
    if (!mkdtemp(dir)) return 2;
    char* lock[] = {"--episodes", "2", "--max-steps", "30", "--timeout-ms", "5000", NULL};
    run("lockstep", WIRE_MODE_LOCKSTEP, 0, 0, lock, 2, 60, 1);
    // the server vanishes after 10 observations for 800 ms; maac-sim (200 ms timeout)
    // reconnects, says hello again and reruns the interrupted episode
    char* outage[] = {"--episodes", "2", "--max-steps", "30", "--timeout-ms", "200", NULL};
    run("outage", WIRE_MODE_LOCKSTEP, 10, 0, outage, 2, -1, 2);
    // the server forgets the session after 10 observations (a restarted daemon): the
    // next observation gets "not_ready" and maac-sim says hello again at once (its
    // timeout is long, so only the not_ready path can make this finish quickly)
    char* forget[] = {"--episodes", "2", "--max-steps", "30", "--timeout-ms", "30000", NULL};
    run("restart", WIRE_MODE_LOCKSTEP, 0, 10, forget, 2, -1, 2);
    char* rt[] = {"--episodes", "1", "--max-steps", "40", "--rate", "200", "--timeout-ms", "2000", NULL};
    run("realtime", WIRE_MODE_REALTIME, 0, 0, rt, 1, 40, 1);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_maac_sim");
}
