// SPDX-License-Identifier: Apache-2.0
// test_config.c -- daemon/config.c: defaults, INI parsing, flags overriding the file,
// learner settings passed through, and clear errors for bad input.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "test_util.h"

static void test_config_defaults_run_without_a_file(void) {
    DaemonConfig c;
    config_default(&c);
    CHECK(c.plant_mode == PLANT_MODE_LOCKSTEP, "lockstep default");
    CHECK(c.learn == 1 && c.act_mode == ACT_MODE_POLICY, "learning, policy");
    CHECK(strstr(c.plant_endpoint, "ipc://") == c.plant_endpoint, "ipc plant endpoint");
    CHECK(c.max_msg_bytes == 65536, "max msg");
    char buf[8192];
    int n = config_dump(&c, buf, sizeof buf);
    CHECK(n > 100 && strstr(buf, "[plant]") && strstr(buf, "mode = lockstep"), "dump:\n%s", buf);
}

static void test_config_ini_and_learner_passthrough(void) {
    DaemonConfig c;
    config_default(&c);
    MaacErr err = {""};
    const char* ini =
        "[plant]\nname = hopper\nmode = realtime\nrate_hz = 1000\nsafe_action = 0.5, -0.25,0\n"
        "[control]\ncpu = 2\npriority = 90\nmode = mpc\n"
        "[learner]\nseed = 7\nhorizon = 3\nupdates_per_step = 4\npublish_every = 10\n"
        "[daemon]\ncheckpoint_dir = /tmp/x\n";
    CHECK(config_load_string(&c, ini, &err) == 0, "load: %s", err.msg);
    CHECK(!strcmp(c.plant, "hopper") && c.plant_mode == PLANT_MODE_REALTIME, "plant");
    CHECK(c.rate_hz == 1000 && c.cpu == 2 && c.priority == 90 && c.act_mode == ACT_MODE_MPC, "nums");
    CHECK(c.n_safe_action == 3 && c.safe_action[0] == 0.5f && c.safe_action[1] == -0.25f, "safe");
    CHECK(c.seed == 7 && c.publish_every == 10, "learner own keys");
    CHECK(c.n_learner_set == 2 && !strcmp(c.learner_set[0][0], "horizon") &&
              !strcmp(c.learner_set[1][1], "4"), "learner passthrough");
    CHECK(!strcmp(c.checkpoint_dir, "/tmp/x"), "dir");
}

static void test_config_flags_override_file(void) {
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    FILE* f = fdopen(fd, "w");
    fprintf(f, "[plant]\nrate_hz = 50\nmode = realtime\n[learner]\nenabled = true\n");
    fclose(f);
    DaemonConfig c;
    config_default(&c);
    MaacErr err = {""};
    int help = 0;
    // the flag comes BEFORE --config on the command line and still wins
    char* argv[] = {"maacd", "--rate", "200", "--config", path, "--no-learn",
                    "--set", "learner.batch=64", "--mode", "lockstep", NULL};
    CHECK(config_parse_args(&c, 10, argv, &help, &err) == 0, "args: %s", err.msg);
    CHECK(c.rate_hz == 200, "flag overrides file: %g", c.rate_hz);
    CHECK(c.learn == 0 && c.plant_mode == PLANT_MODE_LOCKSTEP && !help, "flags");
    CHECK(c.n_learner_set == 1 && !strcmp(c.learner_set[0][1], "64"), "--set learner.batch");
    unlink(path);
    char* argv2[] = {"maacd", "--help", NULL};
    CHECK(config_parse_args(&c, 2, argv2, &help, &err) == 0 && help, "help");
}

static void test_config_rejects_bad_input_clearly(void) {
    DaemonConfig c;
    config_default(&c);
    MaacErr err = {""};
    CHECK(config_load_string(&c, "[plant]\nrate_hz = fast\n", &err) < 0 &&
              strstr(err.msg, "line 2") && strstr(err.msg, "rate_hz"), "bad number: %s", err.msg);
    CHECK(config_load_string(&c, "[plant]\nbogus = 1\n", &err) < 0 && strstr(err.msg, "bogus"),
          "unknown key: %s", err.msg);
    CHECK(config_load_string(&c, "[learner]\nhorizon = abc\n", &err) < 0 &&
              strstr(err.msg, "horizon"), "bad learner value: %s", err.msg);
    CHECK(config_load_string(&c, "[learner]\nno_such_thing = 1\n", &err) < 0, "unknown learner key");
    CHECK(config_load_string(&c, "[plant]\nmode = sometimes\n", &err) < 0, "bad mode");
    CHECK(config_load_string(&c, "[control]\npriority = 120\n", &err) < 0, "out of range");
    CHECK(config_load_string(&c, "[plant]\nsafe_action = 1,,2\n", &err) < 0, "bad list: %s",
          err.msg);
    CHECK(config_load_string(&c, "this is not ini\n", &err) < 0, "syntax: %s", err.msg);
    CHECK(config_load_file(&c, "/nonexistent/maacd.conf", &err) < 0 && strstr(err.msg, "cannot open"),
          "missing file: %s", err.msg);
    int help;
    char* argv[] = {"maacd", "--frobnicate", NULL};
    CHECK(config_parse_args(&c, 2, argv, &help, &err) < 0 && strstr(err.msg, "frobnicate"),
          "unknown flag");
    char* argv2[] = {"maacd", "--set", "nodot=1", NULL};
    CHECK(config_parse_args(&c, 3, argv2, &help, &err) < 0, "bad --set");
    // the shipped default config parses
    const char* shipped = getenv("MAACD_CONF");
    if (shipped) {
        DaemonConfig d;
        config_default(&d);
        CHECK(config_load_file(&d, shipped, &err) == 0, "units/maacd.conf: %s", err.msg);
    }
}

int main(void) {
    test_config_defaults_run_without_a_file();
    test_config_ini_and_learner_passthrough();
    test_config_flags_override_file();
    test_config_rejects_bad_input_clearly();
    return test_summary("test_config");
}
