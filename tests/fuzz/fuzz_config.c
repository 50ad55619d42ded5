// SPDX-License-Identifier: Apache-2.0
// fuzz_config.c -- libFuzzer target: maacd's settings (daemon/config.c: the INI file
// through libinih, [learner] pass-through) and learner_config_set on each
// "key=value" line, as `--set` and `maac` flags reach it; the resolved learner
// settings are then checked (learner_config_check) and printed.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/learner.h"
#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return 0;
    char* text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    static DaemonConfig dc;
    config_default(&dc);
    (void)config_load_string(&dc, text, NULL);
    char dump[8192];
    config_dump(&dc, dump, sizeof dump);
    LearnerConfig lc;
    learner_config_default(&lc, "hopper");
    for (int i = 0; i < dc.n_learner_set; i++)
        (void)learner_config_set(&lc, dc.learner_set[i][0], dc.learner_set[i][1], NULL);
    char* save = NULL;
    for (char* line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char* eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        (void)learner_config_set(&lc, line, eq + 1, NULL);
        char section[64], key[64];
        if (sscanf(line, "%63[^.].%63s", section, key) == 2)
            (void)config_set(&dc, section, key, eq + 1, NULL);
    }
    (void)learner_config_check(&lc, NULL);
    FILE* devnull = fopen("/dev/null", "w");
    if (devnull) {
        learner_config_print(&lc, devnull);
        fclose(devnull);
    }
    free(text);
    return 0;
}
