// SPDX-License-Identifier: Apache-2.0
// wire.h -- the maacd wire protocol: msgpack messages to and from fixed-size structs.
//
// Every message is ONE msgpack map with string keys, carrying "v" (protocol
// version, WIRE_VERSION) and "type" ("hello", "welcome", "obs", "action", "error",
// "bye", "transitions", "ctl", "reply"). docs/protocol.md documents each message
// field by field; this file is its C binding.
//
// Decoding is a small hand-rolled msgpack reader over the caller's buffer: no
// allocation, no msgpack_zone, bounded work (every length is checked against the
// bytes left before it is used), strict validation with a clear message in
// reterr. Unknown keys are skipped (forward compatible); a missing required key,
// a wrong value type, an array longer than the struct holds, a non-finite float,
// trailing bytes, or a message larger than WIRE_MAX_MSG are errors.
// Encoding writes into a caller buffer (returns bytes written or -ENOBUFS).
//
// Error codes (negative errno; wire_err_name gives the protocol's name for each):
//   -EBADMSG          "malformed"    not valid msgpack / truncated / trailing bytes
//   -EPROTO           "bad_message"  not a map, missing key, wrong value type, unknown "type"
//   -EPROTONOSUPPORT  "bad_version"  "v" is not WIRE_VERSION
//   -ERANGE           "bad_size"     array length differs from the expected dimension
//                                    (or exceeds WIRE_MAX_OBS / WIRE_MAX_ACT)
//   -EDOM             "nonfinite"    NaN or Inf in obs/reward/action/transition data
//   -EMSGSIZE         "oversized"    message longer than the receiver's limit
//   -ENOBUFS          (encoding only: the output buffer is too small)
// The daemon adds its own protocol-level names ("sequence", "not_ready",
// "wrong_plant", ...) for errors the codec cannot see; see docs/protocol.md.
//
// Thread: any (no shared state). Allocation: none.
#ifndef MAAC_WIRE_H
#define MAAC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define WIRE_VERSION 1
#define WIRE_MAX_OBS 128            // = SIM_MAX_OBS
#define WIRE_MAX_ACT 32             // = SIM_MAX_ACT
#define WIRE_MAX_NAME 64            // plant names, commands, error codes (incl. NUL)
#define WIRE_MAX_TEXT 256           // error text, ctl argument (incl. NUL)
#define WIRE_MAX_MSG (1 << 20)      // hard upper bound on any message we decode (1 MiB)
// Largest encoded obs/action message (all fields, max dims): for stack buffers.
#define WIRE_OBS_BUF (WIRE_MAX_OBS * 9 + 256)
#define WIRE_ACT_BUF (WIRE_MAX_ACT * 9 + 256)

typedef enum {
    WIRE_MSG_NONE = 0,
    WIRE_MSG_HELLO,        // plant -> daemon: who I am
    WIRE_MSG_WELCOME,      // daemon -> plant: accepted, how we will run
    WIRE_MSG_OBS,          // plant -> daemon: one observation
    WIRE_MSG_ACTION,       // daemon -> plant: the action for an observation
    WIRE_MSG_ERROR,        // either way: something was wrong
    WIRE_MSG_BYE,          // plant -> daemon: leaving
    WIRE_MSG_TRANSITIONS,  // control thread / fleet daemon -> learner: a batch
    WIRE_MSG_CTL,          // maacctl -> daemon: a command
    WIRE_MSG_REPLY,        // daemon -> maacctl: answer (free-form map; see wire_reply_*)
    WIRE_MSG_COUNT
} WireMsgType;

typedef enum { WIRE_MODE_LOCKSTEP = 0, WIRE_MODE_REALTIME = 1 } WireMode;

//---- messages ------------------------------------------------------------------
typedef struct {
    char plant[WIRE_MAX_NAME];       // plant name ("hopper", "my_robot", ...)
    int obs_dim, act_dim;            // widths of obs / action
    double dt;                       // the plant's control period (s), > 0
    int has_bounds;                  // 1 when act_low/act_high were sent
    double act_low[WIRE_MAX_ACT];    // (act_dim) optional action bounds
    double act_high[WIRE_MAX_ACT];   // (act_dim)
} WireHello;

typedef struct {
    WireMode mode;                   // lockstep | realtime
    double rate_hz;                  // control rate the daemon runs at
    uint64_t policy_version;         // version being served (0 = none yet)
    int64_t max_msg_bytes;           // the daemon rejects longer messages
} WireWelcome;

typedef struct {
    uint64_t seq;                    // plant's sequence number, +1 per observation
    int64_t t_ns;                    // plant's timestamp (ns, CLOCK_REALTIME)
    int obs_dim;                     // entries in obs
    double obs[WIRE_MAX_OBS];        // (obs_dim) observation
    double reward;                   // reward of the transition that led here
    int terminated;                  // obs is terminal (episode ends, bootstrap 0)
    int truncated;                   // episode cut by a time limit (not terminal)
    int first;                       // first obs of an episode (reward is ignored)
} WireObs;

typedef struct {
    uint64_t seq;                    // seq of the observation this answers
    int act_dim;                     // entries in action
    double action[WIRE_MAX_ACT];     // (act_dim) action to apply
    uint64_t policy_version;         // version of the policy that made it (0 = safe action)
    int safe;                        // 1 when this is the configured safe action
} WireAction;

typedef struct {
    char code[WIRE_MAX_NAME];        // "malformed", "bad_size", "sequence", ... (docs/protocol.md)
    char msg[WIRE_MAX_TEXT];         // human-readable detail
    int has_seq;                     // 1 when seq refers to an observation
    uint64_t seq;
} WireError;

// A batch of n transitions as float32 rows, zero-copy: `data` points INTO the
// decoded buffer (valid while it is) and may be unaligned; read rows with
// wire_transitions_row. Row layout (row_floats = 2*obs_dim + act_dim + 2):
// [s (obs_dim), a (act_dim), r, s2 (obs_dim), terminated (0 or 1)].
typedef struct {
    int obs_dim, act_dim;
    int n;                           // rows
    const unsigned char* data;       // (n, row_floats) little-endian float32, unaligned
    char source[WIRE_MAX_NAME];      // sender's name ("" if not given)
} WireTransitions;

// maacctl commands. arg: swap -> policy file path, mode -> "policy"|"mpc"; else "".
typedef struct {
    char cmd[WIRE_MAX_NAME];         // "status","stats","swap","save","pause","resume","mode"
    char arg[WIRE_MAX_TEXT];
} WireCtl;

// Any decoded message. `type` says which member is valid.
typedef struct {
    WireMsgType type;
    union {
        WireHello hello;
        WireWelcome welcome;
        WireObs obs;
        WireAction action;
        WireError error;
        WireTransitions tr;
        WireCtl ctl;
    } u;
} WireMsg;

//---- names ---------------------------------------------------------------------
// "hello", "obs", ... for a type ("?" if out of range).
const char* wire_type_name(WireMsgType t);
// The protocol's error code name for a negative errno from this module
// ("malformed", "bad_message", "bad_version", "bad_size", "nonfinite", "oversized"),
// or "error" for anything else.
const char* wire_err_name(int code);

//---- decode --------------------------------------------------------------------
// Decode one message of len bytes. obs_dim / act_dim (0 = any up to the maximum)
// are the widths the caller expects: an obs with a different width, or an action
// with a different width, or transitions with different widths are -ERANGE.
// Returns 0, or a negative errno above with reterr filled. On failure ret->type is
// the message type if it could be read -- also from a message damaged after its
// "type" key, e.g. truncated -- (else WIRE_MSG_NONE) and, for obs/action,
// ret->u.obs.seq / ret->u.action.seq is the seq if it was read (else 0) so an error
// reply and a safe action can name the observation. Nullable: reterr.
int wire_decode(const void* buf, size_t len, int obs_dim, int act_dim, WireMsg* ret,
                MaacErr* reterr);
// Only the type of a message (cheap peek: reads keys until "type"). WIRE_MSG_NONE if
// it cannot be determined.
WireMsgType wire_peek_type(const void* buf, size_t len);
// Copy transition row i into s (obs_dim), a (act_dim), r, s2 (obs_dim), terminated.
// Nullable: any output.
void wire_transitions_row(const WireTransitions* t, int i, float* s, float* a, float* r,
                          float* s2, float* terminated);

//---- encode (each returns bytes written, or -ENOBUFS / -EINVAL) -----------------
int wire_encode_hello(void* buf, size_t cap, const WireHello* m);
int wire_encode_welcome(void* buf, size_t cap, const WireWelcome* m);
int wire_encode_obs(void* buf, size_t cap, const WireObs* m);
int wire_encode_action(void* buf, size_t cap, const WireAction* m);
// seq < 0: no "seq" key.
int wire_encode_error(void* buf, size_t cap, const char* code, const char* msg, int64_t seq);
int wire_encode_bye(void* buf, size_t cap);
int wire_encode_ctl(void* buf, size_t cap, const char* cmd, const char* arg);
// Bytes needed for a transitions message of n rows (upper bound).
size_t wire_transitions_size(int obs_dim, int act_dim, int n, const char* source);
// rows (n, 2*obs_dim + act_dim + 2) float32 in the row layout above. Nullable: source.
int wire_encode_transitions(void* buf, size_t cap, int obs_dim, int act_dim, int n,
                            const float* rows, const char* source);

//---- free-form writer (ctl replies, anything else) ------------------------------
// A bounded msgpack writer into a caller buffer. Calls after an overflow do nothing;
// wire_w_finish returns the length or -ENOBUFS.
typedef struct {
    unsigned char* p;   // buffer start
    size_t cap, len;
    int overflow;
} WireWriter;

void wire_w_init(WireWriter* w, void* buf, size_t cap);
int wire_w_finish(const WireWriter* w);
void wire_w_map(WireWriter* w, uint32_t n);
void wire_w_array(WireWriter* w, uint32_t n);
void wire_w_str(WireWriter* w, const char* s);             // Nullable: s (writes nil)
void wire_w_strn(WireWriter* w, const char* s, size_t n);
void wire_w_int(WireWriter* w, int64_t v);
void wire_w_uint(WireWriter* w, uint64_t v);
void wire_w_double(WireWriter* w, double v);
void wire_w_float(WireWriter* w, float v);
void wire_w_bool(WireWriter* w, int v);
void wire_w_nil(WireWriter* w);
void wire_w_bin(WireWriter* w, const void* data, size_t n);
// Start a reply map: writes the map header for n_extra + 3 entries and the
// "v", "type": "reply", "ok" pairs; the caller writes n_extra key/value pairs.
void wire_w_reply_begin(WireWriter* w, int ok, uint32_t n_extra);

//---- free-form reader (ctl replies in maacctl, tests) ----------------------------
// Render any msgpack value as one line of JSON-like text into out (NUL-terminated,
// truncated to cap). Returns 0, or -EBADMSG for invalid msgpack.
int wire_to_text(const void* buf, size_t len, char* out, size_t cap);
// Look up a top-level key of a map message: fills *ret_off/*ret_len with the span of
// its value inside buf. 0, -ENOENT if absent, -EBADMSG / -EPROTO if not a valid map.
int wire_find_key(const void* buf, size_t len, const char* key, size_t* ret_off,
                  size_t* ret_len);
// Read a top-level key's value as a bool / integer / double / string. 0 or -errno.
int wire_get_bool(const void* buf, size_t len, const char* key, int* ret);
int wire_get_int(const void* buf, size_t len, const char* key, int64_t* ret);
int wire_get_double(const void* buf, size_t len, const char* key, double* ret);
int wire_get_str(const void* buf, size_t len, const char* key, char* out, size_t cap);
// A top-level bin value: *ret points into buf (valid while it is). 0 or -errno.
int wire_get_bin(const void* buf, size_t len, const char* key, const unsigned char** ret,
                 size_t* ret_len);

#endif
