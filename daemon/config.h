// SPDX-License-Identifier: Apache-2.0
// config.h -- maacd's settings: defaults, the INI file (libinih), command-line flags.
//
// Every setting is `section.key` in one table (config.c): the INI file sets them,
// (any other [learner] key is a LearnerConfig field, checked with learner_config_set
// and applied over the plant's defaults when the learner starts),
// then `--set section.key=value` and the named flags (maacd --help) override them.
// The defaults let maacd run with no file at all: lock-step, ipc endpoints in the
// default socket directory (transport/sockdir.h: /run/maacd under systemd or as root,
// else $XDG_RUNTIME_DIR/maacd), the plant's own control period, learning on.
// Thread: main thread at start-up (the ctl server reads a copy). Allocation: none.
#ifndef MAAC_DAEMON_CONFIG_H
#define MAAC_DAEMON_CONFIG_H

#include "core/err.h"

#define CFG_STR 256
#define CFG_LIST 2048
#define CFG_MAX_ACT 32
#define CFG_MAX_LEARNER_SET 64

typedef enum { PLANT_MODE_LOCKSTEP = 0, PLANT_MODE_REALTIME = 1 } PlantMode;
typedef enum { ACT_MODE_POLICY = 0, ACT_MODE_MPC = 1 } ActMode;

typedef struct {
    // [plant]
    char plant[64];                  // expected plant name ("" = accept the hello's)
    char plant_endpoint[CFG_STR];    // where maacd binds the plant socket
    PlantMode plant_mode;            // lockstep | realtime
    double rate_hz;                  // control rate (0 = the plant's own period)
    double stale_ms;                 // realtime: an observation older than this is stale (0 = 2 periods)
    int n_safe_action;               // entries in safe_action (0 = all zeros, clamped to bounds)
    float safe_action[CFG_MAX_ACT];  // (n_safe_action) the action served when no valid obs
    long max_msg_bytes;              // larger messages are rejected (oversized)
    int allow_takeover;              // 1: a second plant's hello replaces a live one
    // [plant] task and safety (daemon/plant_config.c, docs/robots.md)
    char reward_plugin[CFG_STR];     // "" or a reward/termination plugin (.so)
    char terminate_obs_min[CFG_LIST];   // "" or per-entry bounds: imagined and real episodes
    char terminate_obs_max[CFG_LIST];   // end where obs leaves them ("0.7, -inf, ...")
    char obs_min[CFG_LIST];          // "" or per-entry bounds: an observation outside
    char obs_max[CFG_LIST];          // them gets the safe action and counts a fault
    double max_action_change;        // max |a_t - a_(t-1)| per entry per tick (0 = none)
    // [control]
    int cpu;                         // pin the control thread (-1 = no pinning)
    int priority;                    // SCHED_FIFO priority (0 = stay SCHED_OTHER)
    int lock_memory;                 // mlockall
    ActMode act_mode;                // policy | mpc
    int explore;                     // 1: sample the stochastic policy while learning
    int watchdog_miss_limit;         // misses per second above which the loop is unhealthy
    int eval_every;                  // every Nth episode is deterministic (0 = never)
    // [learner]
    int learn;                       // run the learner thread
    unsigned long long seed;         // everything random derives from it
    int publish_every;               // train steps between policy publications
    long warmup_updates;             // critic-only updates before a loaded / swapped-in
                                     // policy is trained on (its critic learns first)
    int n_learner_set;               // other [learner] keys, passed to learner_config_set
    char learner_set[CFG_MAX_LEARNER_SET][2][64];   // (n_learner_set) key, value
    char fleet_bind[CFG_STR];        // "" or tcp endpoint where other daemons push transitions
    char fleet_connect[CFG_STR];     // "" or a learner daemon's fleet endpoint: this daemon
                                     // is then a robot (daemon/fleet_robot.h)
    // [fleet] (docs/daemon.md "Fleet")
    char fleet_name[64];             // this robot's name at the learner ("" = host name)
    double fleet_buffer_s;           // robot: rows held for a learner outage, in seconds
                                     // of the control rate
    double fleet_lost_after_s;       // robot: the learner is lost after this long unheard
    // [daemon]
    char control_endpoint[CFG_STR];  // maacctl's socket
    char checkpoint_dir[CFG_STR];    // state: checkpoints, episodes.csv ("" = the default,
                                     // state_dir.h)
    char policy_file[CFG_STR];       // "" or a policy to start from
    double checkpoint_every_s;       // periodic checkpoint (600; 0 = only on save/exit)
    int verbose;                     // 1: debug log lines
    // [daemon] limits on `maacctl swap` (issue 33; docs/daemon.md "Swapping a policy")
    long swap_max_bytes;             // policy files larger than this are refused unread
    long swap_max_params;            // policies with more parameters are refused
    double swap_max_memory_mb;       // ... or needing more memory (params, norms, structs)
    double swap_time_fraction;       // p99 trial inference must fit this share of the period
    // [control] alarms over the last minute (0 = off)
    double alarm_safe_share;         // share of actions that were the safe action
    long alarm_drops;                // transitions dropped + deadline misses
    // [security] (daemon/security.h, docs/daemon.md "Security")
    char secret_key[CFG_STR];        // CURVE secret key file of this daemon
    char allowed_keys[CFG_STR];      // client public keys: a directory of *.pub or a list file
    char fleet_server_key[CFG_STR];  // public key file of the daemon fleet_connect reaches
    int insecure;                    // 1: network endpoints without CURVE (loudly)
    char socket_group[64];           // group given to the ipc sockets (if it exists)
    const struct SecKeys* keys;      // loaded by maacd at start (NULL: none); not a setting
} DaemonConfig;

// Fill the defaults.
void config_default(DaemonConfig* c);
// Set one `section.key` from text. 0 or -EINVAL/-ENOENT with reterr.
int config_set(DaemonConfig* c, const char* section, const char* key, const char* value,
               MaacErr* reterr);
// Apply an INI file. 0 or -errno with reterr naming the line.
int config_load_file(DaemonConfig* c, const char* path, MaacErr* reterr);
// Apply INI text (tests). 0 or -errno with reterr.
int config_load_string(DaemonConfig* c, const char* text, MaacErr* reterr);
// Parse the command line: --config FILE first (applied before the other flags),
// then the flags in order. Sets *ret_help when --help was given. 0 or -EINVAL.
int config_parse_args(DaemonConfig* c, int argc, char** argv, int* ret_help, MaacErr* reterr);
// Write the current settings as INI text into buf (for `maacctl stats` / docs).
int config_dump(const DaemonConfig* c, char* buf, int cap);
// Print the flag list.
void config_usage(const char* argv0);

#endif
