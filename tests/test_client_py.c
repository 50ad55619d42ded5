// SPDX-License-Identifier: Apache-2.0
// test_client_py.c -- examples/maac_client.py (pure python3-zmq + python3-msgpack)
// against a small lock-step plant server written with transport/ (wire + link), so the
// Python client and the C codec are checked against each other without the daemon.
//
// The fake server follows docs/protocol.md for one lock-step plant: hello -> welcome,
// obs -> action with the same seq, bad input -> error reply (+ safe action for an
// observation), out-of-order seq -> "sequence", oversized -> "oversized", and answers
// control-socket requests. It runs the client twice: `plant --check-errors --episodes 2`
// and `ctl status`, and checks exit codes and what it saw. usage: test_client_py SCRIPT
#include "fake_plant_server.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s examples/maac_client.py\n", argv[0]);
        return 2;
    }
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("test_client_py: /usr/bin/python3 missing, skipped\n");
        return 0;
    }
    char dir[] = "/tmp/maac-test-client-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char plant_ep[128], ctl_ep[128];
    snprintf(plant_ep, sizeof plant_ep, "ipc://%s/plant.sock", dir);
    snprintf(ctl_ep, sizeof ctl_ep, "ipc://%s/control.sock", dir);
    void* ctx = zmq_ctx_new();
    static Fake f = {.plant_name = "toy_pendulum", .obs_dim = 3, .act_dim = 1,
                     .mode = WIRE_MODE_LOCKSTEP};
    if (fake_start(&f, ctx, plant_ep, ctl_ep) < 0) return 2;
    char* plant_argv[] = {"/usr/bin/python3", argv[1], "plant", "--endpoint", plant_ep,
                          "--episodes", "2", "--max-steps", "50", "--check-errors", "--timeout-ms",
                          "10000", NULL};
    int st = fake_serve_while(&f, plant_argv);
    CHECK(st == 0, "maac_client.py plant exited %d", st);
    CHECK(f.hellos == 1 && f.byes == 1, "hellos %ld byes %ld", f.hellos, f.byes);
    // 2 episodes of 50 steps + the check episode (2 valid steps and a truncating obs)
    CHECK(f.episodes == 3, "episodes %ld", f.episodes);
    CHECK(f.steps == 100 + 2, "steps %ld", f.steps);
    for (int i = 0; codes[i]; i++) {
        long want = !strcmp(codes[i], "nonfinite") ? 2 : !strcmp(codes[i], "bad_message") ? 3
                  : !strcmp(codes[i], "not_ready") ? 0 : 1;
        CHECK(f.errors_by_code[i] == want, "error code %s sent %ld times, expected %ld", codes[i],
              f.errors_by_code[i], want);
    }
    char* ctl_argv[] = {"/usr/bin/python3", argv[1], "ctl", "status", "--endpoint", ctl_ep,
                        NULL};
    st = fake_serve_while(&f, ctl_argv);
    CHECK(st == 0 && f.ctl_requests == 1, "maac_client.py ctl status exited %d (%ld requests)", st,
          f.ctl_requests);
    fake_stop(&f);
    // realtime: the server announces realtime and streams actions; the client steps at
    // the announced rate (20 Hz) with the newest action
    snprintf(plant_ep, sizeof plant_ep, "ipc://%s/plant-rt.sock", dir);
    static Fake g = {.plant_name = "toy_pendulum", .obs_dim = 3, .act_dim = 1,
                     .mode = WIRE_MODE_REALTIME};
    if (fake_start(&g, ctx, plant_ep, NULL) < 0) return 2;
    char* rt_argv[] = {"/usr/bin/python3", argv[1], "plant", "--endpoint", plant_ep,
                       "--episodes", "1", "--max-steps", "20", "--timeout-ms", "5000", NULL};
    st = fake_serve_while(&g, rt_argv);
    CHECK(st == 0, "maac_client.py realtime exited %d", st);
    CHECK(g.episodes == 1 && g.steps == 20 && g.rt_actions > 0 && g.byes == 1,
          "realtime: episodes %ld steps %ld actions %ld byes %ld", g.episodes, g.steps,
          g.rt_actions, g.byes);
    fake_stop(&g);
    zmq_ctx_term(ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_client_py");
}
