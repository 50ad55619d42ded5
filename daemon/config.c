// SPDX-License-Identifier: Apache-2.0
// config.c -- maacd's settings: one table of `section.key`, the INI file, the flags.
//
// The table below is the single source of truth: config_set parses a value by the
// entry's type and range, the INI handler and the flags both go through it, and
// config_dump writes every entry back out. Unknown keys are errors (a typo in a
// robot's config should not be silently ignored).
// Thread: main thread. Allocation: none.
#include "daemon/config.h"

#include "core/ckpt.h"
#include "core/learner.h"
#include "transport/link.h"
#include "transport/sockdir.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { T_INT, T_DOUBLE, T_BOOL, T_STR, T_FLOATS, T_PMODE, T_AMODE, T_U64, T_LONG } Type;

typedef struct {
    const char* section;
    const char* key;
    Type type;
    size_t off;      // offsetof in DaemonConfig
    size_t size;     // bytes (strings)
    double lo, hi;   // range for numbers
} Entry;

#define E(sec, k, t, field, lo, hi) \
    {sec, k, t, offsetof(DaemonConfig, field), sizeof(((DaemonConfig*)0)->field), lo, hi}

static const Entry TABLE[] = {
    E("plant", "name", T_STR, plant, 0, 0),
    E("plant", "endpoint", T_STR, plant_endpoint, 0, 0),
    E("plant", "mode", T_PMODE, plant_mode, 0, 0),
    E("plant", "rate_hz", T_DOUBLE, rate_hz, 0, 100000),
    E("plant", "stale_ms", T_DOUBLE, stale_ms, 0, 1e6),
    E("plant", "safe_action", T_FLOATS, safe_action, -1e6, 1e6),
    E("plant", "max_msg_bytes", T_LONG, max_msg_bytes, 64, 1 << 24),
    E("plant", "allow_takeover", T_BOOL, allow_takeover, 0, 1),
    E("plant", "reward_plugin", T_STR, reward_plugin, 0, 0),
    E("plant", "terminate_obs_min", T_STR, terminate_obs_min, 0, 0),
    E("plant", "terminate_obs_max", T_STR, terminate_obs_max, 0, 0),
    E("plant", "obs_min", T_STR, obs_min, 0, 0),
    E("plant", "obs_max", T_STR, obs_max, 0, 0),
    E("plant", "max_action_change", T_DOUBLE, max_action_change, 0, 1e9),
    E("control", "cpu", T_INT, cpu, -1, 4095),
    E("control", "priority", T_INT, priority, 0, 99),
    E("control", "lock_memory", T_BOOL, lock_memory, 0, 1),
    E("control", "mode", T_AMODE, act_mode, 0, 0),
    E("control", "explore", T_BOOL, explore, 0, 1),
    E("control", "watchdog_miss_limit", T_INT, watchdog_miss_limit, 0, 1000000),
    E("control", "eval_every", T_INT, eval_every, 0, 1000000),
    E("learner", "enabled", T_BOOL, learn, 0, 1),
    E("learner", "seed", T_U64, seed, 0, 0),
    E("learner", "publish_every", T_INT, publish_every, 1, 10000000),
    E("learner", "warmup_updates", T_LONG, warmup_updates, 0, 1e9),
    E("learner", "fleet_bind", T_STR, fleet_bind, 0, 0),
    E("learner", "fleet_connect", T_STR, fleet_connect, 0, 0),
    E("fleet", "name", T_STR, fleet_name, 0, 0),
    E("fleet", "buffer_s", T_DOUBLE, fleet_buffer_s, 0.1, 86400),
    E("fleet", "lost_after_s", T_DOUBLE, fleet_lost_after_s, 0.1, 3600),
    E("daemon", "control_endpoint", T_STR, control_endpoint, 0, 0),
    E("daemon", "checkpoint_dir", T_STR, checkpoint_dir, 0, 0),
    E("daemon", "policy_file", T_STR, policy_file, 0, 0),
    E("daemon", "checkpoint_every_s", T_DOUBLE, checkpoint_every_s, 0, 1e9),
    E("daemon", "verbose", T_BOOL, verbose, 0, 1),
    E("daemon", "swap_max_bytes", T_LONG, swap_max_bytes, 1024, CKPT_MAX_FILE_BYTES),
    E("daemon", "swap_max_params", T_LONG, swap_max_params, 1, 1L << 28),
    E("daemon", "swap_max_memory_mb", T_DOUBLE, swap_max_memory_mb, 0.01, 4096),
    E("daemon", "swap_time_fraction", T_DOUBLE, swap_time_fraction, 1e-9, 1),
    E("control", "alarm_safe_share", T_DOUBLE, alarm_safe_share, 0, 1),
    E("control", "alarm_drops", T_LONG, alarm_drops, 0, 1L << 40),
    E("security", "secret_key", T_STR, secret_key, 0, 0),
    E("security", "allowed_keys", T_STR, allowed_keys, 0, 0),
    E("security", "fleet_server_key", T_STR, fleet_server_key, 0, 0),
    E("security", "insecure", T_BOOL, insecure, 0, 1),
    E("security", "socket_group", T_STR, socket_group, 0, 0),
};
#define N_TABLE ((int)(sizeof TABLE / sizeof TABLE[0]))

void config_default(DaemonConfig* c) {
    memset(c, 0, sizeof *c);
    (void)sockdir_default_endpoint("plant.sock", c->plant_endpoint, sizeof c->plant_endpoint);
    c->plant_mode = PLANT_MODE_LOCKSTEP;
    c->rate_hz = 0;
    c->stale_ms = 0;
    c->max_msg_bytes = 65536;
    c->cpu = -1;
    c->priority = 80;
    c->lock_memory = 1;
    c->act_mode = ACT_MODE_POLICY;
    c->explore = 1;
    c->watchdog_miss_limit = 100;
    c->eval_every = 5;
    c->learn = 1;
    c->seed = 1;
    c->publish_every = 250;
    (void)sockdir_default_endpoint("control.sock", c->control_endpoint,
                                   sizeof c->control_endpoint);
    c->checkpoint_every_s = 600;
    c->warmup_updates = 2000;
    c->fleet_buffer_s = 60;
    c->fleet_lost_after_s = 3;
    c->swap_max_bytes = 64L << 20;
    c->swap_max_params = 4L << 20;
    c->swap_max_memory_mb = 64;
    c->swap_time_fraction = 0.25;
    c->alarm_safe_share = 0.2;
    c->alarm_drops = 1000;
    snprintf(c->socket_group, sizeof c->socket_group, "%s", SOCKDIR_GROUP);
}

static const Entry* find(const char* section, const char* key) {
    for (int i = 0; i < N_TABLE; i++)
        if (!strcmp(TABLE[i].section, section) && !strcmp(TABLE[i].key, key)) return &TABLE[i];
    return NULL;
}

static int parse_bool(const char* v, int* ret) {
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on")) {
        *ret = 1;
        return 0;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off")) {
        *ret = 0;
        return 0;
    }
    return -EINVAL;
}

int config_set(DaemonConfig* c, const char* section, const char* key, const char* value,
               MaacErr* reterr) {
    const Entry* e = find(section, key);
    if (!e && !strcmp(section, "learner")) {
        // a LearnerConfig field: check key and value against a scratch config now
        LearnerConfig lc;
        learner_config_default(&lc, "hopper");
        int r = learner_config_set(&lc, key, value, reterr);
        if (r < 0) {
            char inner[MAAC_ERR_LEN];
            snprintf(inner, sizeof inner, "%s", reterr ? reterr->msg : "");
            return maac_err(reterr, r, "learner.%s: %s", key, inner);
        }
        int i;
        for (i = 0; i < c->n_learner_set; i++)
            if (!strcmp(c->learner_set[i][0], key)) break;
        if (i == CFG_MAX_LEARNER_SET)
            return maac_err(reterr, -ENOSPC, "learner.%s: too many learner settings", key);
        if (strlen(key) >= 64 || strlen(value) >= 64)
            return maac_err(reterr, -EINVAL, "learner.%s: value too long", key);
        snprintf(c->learner_set[i][0], 64, "%s", key);
        snprintf(c->learner_set[i][1], 64, "%s", value);
        if (i == c->n_learner_set) c->n_learner_set++;
        return 0;
    }
    if (!e) return maac_err(reterr, -ENOENT, "unknown setting %s.%s", section, key);
    char* p = (char*)c + e->off;
    char* end = NULL;
    errno = 0;
    switch (e->type) {
    case T_INT: case T_LONG: {
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < e->lo || v > e->hi)
            return maac_err(reterr, -EINVAL, "%s.%s: '%s' is not an integer in [%.0f, %.0f]",
                            section, key, value, e->lo, e->hi);
        if (e->type == T_INT) *(int*)p = (int)v;
        else *(long*)p = v;
        return 0;
    }
    case T_U64: {
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-')
            return maac_err(reterr, -EINVAL, "%s.%s: '%s' is not an unsigned integer", section,
                            key, value);
        *(unsigned long long*)p = v;
        return 0;
    }
    case T_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v) || v < e->lo || v > e->hi)
            return maac_err(reterr, -EINVAL, "%s.%s: '%s' is not a number in [%g, %g]", section,
                            key, value, e->lo, e->hi);
        *(double*)p = v;
        return 0;
    }
    case T_BOOL: {
        int v;
        if (parse_bool(value, &v) < 0)
            return maac_err(reterr, -EINVAL, "%s.%s: '%s' is not a boolean (true/false)", section,
                            key, value);
        *(int*)p = v;
        return 0;
    }
    case T_STR:
        if (strlen(value) >= e->size)
            return maac_err(reterr, -EINVAL, "%s.%s: value too long (max %zu)", section, key,
                            e->size - 1);
        snprintf(p, e->size, "%s", value);
        return 0;
    case T_PMODE:
        if (!strcasecmp(value, "lockstep") || !strcasecmp(value, "lock-step"))
            c->plant_mode = PLANT_MODE_LOCKSTEP;
        else if (!strcasecmp(value, "realtime") || !strcasecmp(value, "real-time"))
            c->plant_mode = PLANT_MODE_REALTIME;
        else
            return maac_err(reterr, -EINVAL, "%s.%s: '%s' is not lockstep|realtime", section, key,
                            value);
        return 0;
    case T_AMODE:
        if (!strcasecmp(value, "policy")) c->act_mode = ACT_MODE_POLICY;
        else if (!strcasecmp(value, "mpc")) c->act_mode = ACT_MODE_MPC;
        else
            return maac_err(reterr, -EINVAL, "%s.%s: '%s' is not policy|mpc", section, key,
                            value);
        return 0;
    case T_FLOATS: {
        float tmp[CFG_MAX_ACT];
        int n = 0;
        const char* s = value;
        while (*s) {
            while (*s == ' ' || *s == '\t') s++;
            if (!*s) break;
            if (n == CFG_MAX_ACT)
                return maac_err(reterr, -EINVAL, "%s.%s: more than %d values", section, key,
                                CFG_MAX_ACT);
            errno = 0;
            double v = strtod(s, &end);
            if (errno || end == s || !isfinite(v) || v < e->lo || v > e->hi)
                return maac_err(reterr, -EINVAL, "%s.%s: bad number at '%s'", section, key, s);
            tmp[n++] = (float)v;
            s = end;
            while (*s == ' ' || *s == '\t') s++;
            if (*s == ',') s++;
            else if (*s)
                return maac_err(reterr, -EINVAL, "%s.%s: expected ',' at '%s'", section, key, s);
        }
        memcpy(c->safe_action, tmp, sizeof(float) * n);
        c->n_safe_action = n;
        return 0;
    }
    }
    return -EINVAL;
}

typedef struct {
    DaemonConfig* c;
    MaacErr* reterr;
    int err;
} IniCtx;

static int on_ini(void* user, const char* section, const char* name, const char* value) {
    IniCtx* x = user;
    if (x->err) return 0;
    int r = config_set(x->c, section, name, value, x->reterr);
    if (r < 0) {
        x->err = r;
        return 0;
    }
    return 1;
}

static int ini_result(IniCtx* x, int r, const char* what, MaacErr* reterr) {
    if (r == -1) return maac_err(reterr, -ENOENT, "%s: cannot open", what);
    if (r == -2) return maac_err(reterr, -ENOMEM, "%s: out of memory", what);
    if (r > 0) {
        char inner[MAAC_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", reterr ? reterr->msg : "");
        if (x->err)
            return maac_err(reterr, x->err, "%s line %d: %s", what, r, inner);
        return maac_err(reterr, -EINVAL, "%s line %d: syntax error", what, r);
    }
    return 0;
}

int config_load_file(DaemonConfig* c, const char* path, MaacErr* reterr) {
    IniCtx x = {c, reterr, 0};
    int r = ini_parse(path, on_ini, &x);
    return ini_result(&x, r, path, reterr);
}

int config_load_string(DaemonConfig* c, const char* text, MaacErr* reterr) {
    IniCtx x = {c, reterr, 0};
    int r = ini_parse_string(text, on_ini, &x);
    return ini_result(&x, r, "config", reterr);
}

// Named flags and the setting each one maps to ("" = a boolean flag with fixed value).
static const struct {
    const char* flag;
    const char* section;
    const char* key;
    const char* fixed;   // value for argument-less flags
    const char* help;
} FLAGS[] = {
    {"--plant", "plant", "name", NULL, "NAME      expected plant (default: whatever connects)"},
    {"--plant-endpoint", "plant", "endpoint", NULL, "EP  ZeroMQ endpoint to bind for the plant"},
    {"--mode", "plant", "mode", NULL, "lockstep|realtime"},
    {"--rate", "plant", "rate_hz", NULL, "HZ         control rate (0 = the plant's period)"},
    {"--safe-action", "plant", "safe_action", NULL, "A,B,..  action served without a valid obs"},
    {"--act-mode", "control", "mode", NULL, "policy|mpc"},
    {"--cpu", "control", "cpu", NULL, "N           pin the control thread to CPU N"},
    {"--priority", "control", "priority", NULL, "P      SCHED_FIFO priority (0 = none)"},
    {"--no-mlock", "control", "lock_memory", "0", "      do not mlockall"},
    {"--no-learn", "learner", "enabled", "0", "      serve the policy without learning"},
    {"--seed", "learner", "seed", NULL, "N          random seed"},
    {"--control-endpoint", "daemon", "control_endpoint", NULL, "EP  maacctl socket"},
    {"--checkpoint-dir", "daemon", "checkpoint_dir", NULL, "DIR  checkpoints"},
    {"--policy", "daemon", "policy_file", NULL, "FILE     start from this policy"},
    {"--verbose", "daemon", "verbose", "1", "        debug log lines"},
};
#define N_FLAGS ((int)(sizeof FLAGS / sizeof FLAGS[0]))

void config_usage(const char* argv0) {
    fprintf(stderr, "usage: %s [--config FILE] [flags] [--set section.key=value ...]\n", argv0);
    fprintf(stderr, "  --config FILE      INI file (default: none; see maacd(8))\n");
    for (int i = 0; i < N_FLAGS; i++) fprintf(stderr, "  %s %s\n", FLAGS[i].flag, FLAGS[i].help);
    fprintf(stderr, "  --set S.K=V        any setting of the config file\n");
    fprintf(stderr, "  --help             this text\n");
}

static int apply_set(DaemonConfig* c, const char* arg, MaacErr* reterr) {
    char buf[512];
    if (strlen(arg) >= sizeof buf) return maac_err(reterr, -EINVAL, "--set: too long");
    snprintf(buf, sizeof buf, "%s", arg);
    char* eq = strchr(buf, '=');
    char* dot = strchr(buf, '.');
    if (!eq || !dot || dot > eq)
        return maac_err(reterr, -EINVAL, "--set expects section.key=value, got '%s'", arg);
    *eq = 0;
    *dot = 0;
    return config_set(c, buf, dot + 1, eq + 1, reterr);
}

int config_parse_args(DaemonConfig* c, int argc, char** argv, int* ret_help, MaacErr* reterr) {
    *ret_help = 0;
    // pass 1: the config file, so flags override it whatever their order
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) return maac_err(reterr, -EINVAL, "--config needs a file");
            int r = config_load_file(c, argv[i + 1], reterr);
            if (r < 0) return r;
            i++;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *ret_help = 1;
            return 0;
        }
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strcmp(a, "--set")) {
            if (i + 1 >= argc) return maac_err(reterr, -EINVAL, "--set needs section.key=value");
            int r = apply_set(c, argv[++i], reterr);
            if (r < 0) return r;
            continue;
        }
        int found = 0;
        for (int f = 0; f < N_FLAGS; f++) {
            if (strcmp(a, FLAGS[f].flag)) continue;
            found = 1;
            const char* v = FLAGS[f].fixed;
            if (!v) {
                if (i + 1 >= argc) return maac_err(reterr, -EINVAL, "%s needs a value", a);
                v = argv[++i];
            }
            int r = config_set(c, FLAGS[f].section, FLAGS[f].key, v, reterr);
            if (r < 0) return r;
            break;
        }
        if (!found) return maac_err(reterr, -EINVAL, "unknown argument '%s' (see --help)", a);
    }
    return 0;
}

int config_dump(const DaemonConfig* c, char* buf, int cap) {
    int n = 0;
    const char* sec = "";
    for (int i = 0; i < N_TABLE && n < cap; i++) {
        const Entry* e = &TABLE[i];
        const char* p = (const char*)c + e->off;
        if (strcmp(sec, e->section)) {
            n += snprintf(buf + n, cap - n, "%s[%s]\n", n ? "\n" : "", e->section);
            sec = e->section;
            if (n >= cap) break;
        }
        n += snprintf(buf + n, cap - n, "%s = ", e->key);
        if (n >= cap) break;
        switch (e->type) {
        case T_INT: n += snprintf(buf + n, cap - n, "%d", *(const int*)p); break;
        case T_LONG: n += snprintf(buf + n, cap - n, "%ld", *(const long*)p); break;
        case T_U64: n += snprintf(buf + n, cap - n, "%llu", *(const unsigned long long*)p); break;
        case T_DOUBLE: n += snprintf(buf + n, cap - n, "%g", *(const double*)p); break;
        case T_BOOL: n += snprintf(buf + n, cap - n, "%s", *(const int*)p ? "true" : "false"); break;
        case T_STR: n += snprintf(buf + n, cap - n, "%s", p); break;
        case T_PMODE:
            n += snprintf(buf + n, cap - n, "%s",
                          c->plant_mode == PLANT_MODE_REALTIME ? "realtime" : "lockstep");
            break;
        case T_AMODE:
            n += snprintf(buf + n, cap - n, "%s", c->act_mode == ACT_MODE_MPC ? "mpc" : "policy");
            break;
        case T_FLOATS:
            for (int j = 0; j < c->n_safe_action && n < cap; j++)
                n += snprintf(buf + n, cap - n, "%s%g", j ? "," : "", c->safe_action[j]);
            break;
        }
        if (n < cap) n += snprintf(buf + n, cap - n, "\n");
        if (!strcmp(e->section, "learner") && !strcmp(e->key, "fleet_connect"))
            for (int j = 0; j < c->n_learner_set && n < cap; j++)
                n += snprintf(buf + n, cap - n, "%s = %s\n", c->learner_set[j][0],
                              c->learner_set[j][1]);
    }
    if (n >= cap) n = cap - 1;
    return n;
}
