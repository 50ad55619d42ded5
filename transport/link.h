// SPDX-License-Identifier: Apache-2.0
// link.h -- ZeroMQ sockets for maacd: plant link, control socket, transition pipes.
//
// Thin, checked helpers over libzmq (no framework): open a socket with the options
// maacd wants (ZMQ_MAXMSGSIZE so oversized messages never reach us, ZMQ_LINGER 0,
// timeouts, high-water marks), send/receive single-frame messages into caller
// buffers, and the ROUTER envelope for the plant link.
//
// Sockets (docs/protocol.md has the full picture):
//   plant link   daemon binds ZMQ_ROUTER (default: sockdir.h); a plant connects
//                ZMQ_DEALER (any mode) or ZMQ_REQ (lock-step only). One msgpack frame
//                per message; a REQ client's empty delimiter frame is kept in the
//                LinkPeer and echoed back so REQ works too.
//   control      daemon binds ZMQ_REP (default: sockdir.h); maacctl connects ZMQ_REQ.
//   transitions  learner binds ZMQ_PULL ("inproc://maacd-learner"); the control thread
//                connects ZMQ_PUSH. fleet: a learner daemon binds ZMQ_ROUTER, robot
//                daemons connect ZMQ_DEALER (transport/fleet_wire.h).
//
// Return values: 0 / byte counts, or negative errno (from zmq_errno): -EAGAIN when a
// non-blocking call would block or a timeout passed, -EMSGSIZE when a received
// message did not fit the buffer (it is consumed), -EPROTO for a malformed envelope.
// Thread: a socket belongs to one thread at a time (ZeroMQ rule); a context is shared.
// Allocation: link_bind/link_connect allocate (zmq_socket); send/recv allocate nothing
// of ours (libzmq allocates message memory for frames over 33 bytes internally; see
// docs/protocol.md section 8).
#ifndef MAAC_LINK_H
#define MAAC_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define LINK_LEARNER_INPROC "inproc://maacd-learner"
#define LINK_MAX_ID 256                 // ZeroMQ routing ids are at most 255 bytes
// Transport-level cap (ZMQ_MAXMSGSIZE): ZeroMQ drops the connection of a peer that
// sends more. Below it, a message longer than the receiver's buffer (the daemon's
// configured max_msg_bytes) is received, consumed and answered "oversized".
#define LINK_HARD_MAX_MSG (1 << 20)

// CURVE settings of one socket (keys as 40-character Z85 text; transport/curve.h
// loads them). server = 1: a CURVE server (secret_key; ZAP domain "maacd"); 0: a
// client (its public_key + secret_key and the server's server_key).
typedef struct {
    int server;
    char public_key[41];
    char secret_key[41];
    char server_key[41];
} LinkCurve;

typedef struct {
    int64_t max_msg_bytes;   // ZMQ_MAXMSGSIZE (-1 = unlimited); peers sending more are
                             // disconnected by ZeroMQ (no reply possible; the monitor sees it)
    int rcvtimeo_ms;         // ZMQ_RCVTIMEO (-1 = block forever) for blocking receives
    int sndtimeo_ms;         // ZMQ_SNDTIMEO (-1 = block forever) for blocking sends
    int linger_ms;           // ZMQ_LINGER on close
    int sndhwm, rcvhwm;      // high-water marks (0 = ZeroMQ default 1000)
    int immediate;           // ZMQ_IMMEDIATE: queue only to completed connections
    int reconnect_ivl_ms;    // ZMQ_RECONNECT_IVL (0 = default 100 ms)
    const LinkCurve* curve;  // CURVE role and keys (NULL = no security mechanism)
} LinkOpts;

#define LINK_MAX_ENV 16                 // extra envelope frame (ZMQ_REQ_CORRELATE's request id)

// The identity of a peer of a ROUTER socket and the envelope to echo back (what
// link_router_send needs). A DEALER plant's message is [id, payload]; a REQ plant's
// is [id, ("request id" with ZMQ_REQ_CORRELATE), "", payload].
typedef struct {
    unsigned char id[LINK_MAX_ID];
    size_t id_len;            // 0 = no peer
    int delim;                // 1 when the peer is a REQ socket (empty delimiter frame)
    unsigned char env[LINK_MAX_ENV];
    size_t env_len;           // 0 = no extra frame before the delimiter
    int has_env;
} LinkPeer;

//---- sockets ---------------------------------------------------------------------
// Defaults: max_msg_bytes LINK_HARD_MAX_MSG, timeouts -1, linger 0, hwm 0, immediate 0,
// no CURVE.
void link_opts_default(LinkOpts* o);
// Make the directory of an ipc:// endpoint (mkdir -p, mode 0755); a no-op for other
// transports. 0 or -errno with reterr.
int link_endpoint_prepare(const char* endpoint, MaacErr* reterr);
// Create a socket of zmq type, apply opts, bind it to endpoint (preparing ipc dirs).
// Returns the socket or NULL with reterr (e.g. "bind tcp://...: Address already in use").
// Nullable: opts (defaults), reterr.
void* link_bind(void* ctx, int type, const char* endpoint, const LinkOpts* opts,
                MaacErr* reterr);
// Create a socket of zmq type, apply opts, connect it to endpoint. NULL with reterr.
void* link_connect(void* ctx, int type, const char* endpoint, const LinkOpts* opts,
                   MaacErr* reterr);
// Close a socket (linger as set). Nullable: sock.
void link_close(void* sock);

//---- single-frame messages -------------------------------------------------------
// Send len bytes as one frame. flags: 0 or ZMQ_DONTWAIT. 0 or -errno.
int link_send(void* sock, const void* buf, size_t len, int flags);
// Receive one message (all frames consumed; only the last one is kept, the content
// of a DEALER/REQ/REP/PULL message) into buf. Returns its length, or -EMSGSIZE (too big
// for cap; consumed), -EAGAIN (nothing / timeout), other -errno.
int link_recv(void* sock, void* buf, size_t cap, int flags);
// Wait until sock is readable, at most timeout_ms (-1 = forever, 0 = poll).
// 1 readable, 0 timeout, -errno.
int link_poll_in(void* sock, int timeout_ms);

//---- ROUTER side (plant link) ---------------------------------------------------
// Receive one message from a ROUTER socket: fills ret_peer and buf. Returns the
// payload length, -EAGAIN, -EMSGSIZE (payload > cap; consumed, ret_peer filled),
// -EPROTO (bad envelope: missing or extra frames; consumed, ret_peer filled if read).
int link_router_recv(void* sock, LinkPeer* ret_peer, void* buf, size_t cap, int flags);
// Send one payload to peer through a ROUTER socket (re-adding REQ's delimiter).
// -EHOSTUNREACH when the peer is gone (ZMQ_ROUTER_MANDATORY is set by link_bind for
// ROUTER sockets), -EAGAIN when it would block. 0 or -errno.
int link_router_send(void* sock, const LinkPeer* peer, const void* buf, size_t len,
                     int flags);
// 1 when a and b are the same peer.
int link_peer_equal(const LinkPeer* a, const LinkPeer* b);

//---- request/reply in one call (maacctl, tests) ---------------------------------
// Send req on a REQ socket and wait for the reply (timeout_ms; -1 forever).
// Returns reply length or -errno (-EAGAIN on timeout). REQ sockets made by
// link_connect are ZMQ_REQ_RELAXED + ZMQ_REQ_CORRELATE, so after a timeout the
// socket can send the next request (a late reply to the old one is discarded).
int link_request(void* sock, const void* req, size_t req_len, void* reply, size_t cap,
                 int timeout_ms);

//---- connection events (plant connects / disconnects) ----------------------------
// Start monitoring sock for ZMQ_EVENT_ACCEPTED | CONNECTED | DISCONNECTED |
// HANDSHAKE_FAILED_*: returns a PAIR socket to read events from (close it with
// link_close before sock). name must be unique per context ("plant" ->
// inproc://maac-monitor-plant). NULL with reterr.
void* link_monitor_open(void* ctx, void* sock, const char* name, MaacErr* reterr);
// Read one event without blocking: 1 with *ret_event (ZMQ_EVENT_*) and the peer
// address in addr (cap bytes, may be ""), 0 when none is pending, -errno.
// Nullable: addr.
int link_monitor_read(void* mon, int* ret_event, char* addr, size_t cap);
// "accepted", "disconnected", ... for a ZMQ_EVENT_* value.
const char* link_event_name(int event);

#endif
