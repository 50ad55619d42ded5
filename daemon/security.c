// SPDX-License-Identifier: Apache-2.0
// security.c -- CURVE keys, the ZAP handler and the ipc socket directory for maacd
// (security.h).
//
// The rules live in three small steps: sec_check_config (pure: is every network
// endpoint covered by keys or an explicit insecure = true?), sec_start (load the
// keys, start the ZAP handler), and sec_bind / sec_connect (apply them per socket).
// Thread: see security.h. Allocation: sec_start.
#include "daemon/security.h"

#include <errno.h>
#include <string.h>

#include "daemon/notify.h"
#include "transport/sockdir.h"

// The endpoints maacd binds (servers) and the one it connects to (fleet_connect).
typedef struct {
    const char* key;   // setting name, for messages
    const char* ep;
    int server;
} SecEndpoint;

static int endpoints(const DaemonConfig* c, SecEndpoint* out) {
    int n = 0;
    out[n++] = (SecEndpoint){"plant.endpoint", c->plant_endpoint, 1};
    out[n++] = (SecEndpoint){"daemon.control_endpoint", c->control_endpoint, 1};
    if (c->fleet_bind[0]) out[n++] = (SecEndpoint){"learner.fleet_bind", c->fleet_bind, 1};
    if (c->fleet_connect[0])
        out[n++] = (SecEndpoint){"learner.fleet_connect", c->fleet_connect, 0};
    return n;
}

// 1 when the settings give this endpoint CURVE keys.
static int has_keys(const DaemonConfig* c, const SecEndpoint* e) {
    if (!c->secret_key[0]) return 0;
    return e->server ? c->allowed_keys[0] != 0 : c->fleet_server_key[0] != 0;
}

int sec_check_config(const DaemonConfig* c, MaacErr* reterr) {
    SecEndpoint e[4];
    int n = endpoints(c, e);
    for (int i = 0; i < n; i++) {
        if (!curve_endpoint_is_network(e[i].ep) || has_keys(c, &e[i]) || c->insecure) continue;
        return maac_err(reterr, -EINVAL,
                        "%s = %s is a network endpoint without CURVE keys: set [security] "
                        "secret_key and %s (maacctl keygen), or [security] insecure = true",
                        e[i].key, e[i].ep, e[i].server ? "allowed_keys" : "fleet_server_key");
    }
    return 0;
}

static void zap_log(void* user, const char* line) {
    (void)user;
    maacd_log(LOG_LV_WARNING, "%s", line);
}

// Say loudly which network endpoints run without authentication.
static void warn_insecure(const DaemonConfig* c) {
    SecEndpoint e[4];
    int n = endpoints(c, e);
    for (int i = 0; i < n; i++)
        if (curve_endpoint_is_network(e[i].ep) && !has_keys(c, &e[i]))
            maacd_log(LOG_LV_WARNING,
                      "SECURITY WARNING: %s = %s runs WITHOUT authentication or encryption "
                      "([security] insecure = true): anyone who reaches it can %s",
                      e[i].key, e[i].ep,
                      e[i].server ? "drive the plant session, stop the daemon or feed the "
                                    "learner" : "read this daemon's transitions");
}

int sec_start(SecKeys* k, const DaemonConfig* c, void* zctx, MaacErr* reterr) {
    memset(k, 0, sizeof *k);
    warn_insecure(c);
    if (!c->secret_key[0]) return 0;
    int r = curve_load_secret(c->secret_key, &k->server, reterr);
    if (r < 0) return r;
    k->server.server = 1;
    k->have_server = 1;
    if (c->fleet_server_key[0]) {
        k->fleet_client = k->server;
        k->fleet_client.server = 0;
        r = curve_load_public(c->fleet_server_key, k->fleet_client.server_key, reterr);
        if (r < 0) goto fail;
        k->have_fleet_client = 1;
    }
    if (c->allowed_keys[0]) {
        k->allowed = curve_allowed_load(c->allowed_keys, reterr);
        if (!k->allowed) {
            r = -EINVAL;
            goto fail;
        }
        k->zap = curve_zap_start(zctx, k->allowed, zap_log, NULL, reterr);
        if (!k->zap) {
            r = -EINVAL;
            goto fail;
        }
        maacd_log(LOG_LV_INFO, "CURVE: %d client key%s allowed (%s); server public key %s",
                  k->allowed->n, k->allowed->n == 1 ? "" : "s", c->allowed_keys,
                  k->server.public_key);
    }
    return 0;
fail:
    sec_stop(k);
    return r < 0 ? r : -EINVAL;
}

void sec_stop(SecKeys* k) {
    if (!k) return;
    curve_zap_stop(k->zap);
    curve_allowed_free(k->allowed);
    memset(k, 0, sizeof *k);   // the secret key too
}

uint64_t sec_accepted(const SecKeys* k) { return k ? curve_zap_accepted(k->zap) : 0; }
uint64_t sec_refused(const SecKeys* k) { return k ? curve_zap_refused(k->zap) : 0; }

void* sec_bind(const DaemonConfig* c, void* zctx, int type, const char* endpoint,
               const LinkOpts* opts, MaacErr* reterr) {
    LinkOpts o;
    if (opts) o = *opts;
    else link_opts_default(&o);
    const SecKeys* k = c->keys;
    if (curve_endpoint_is_network(endpoint)) {
        if (k && k->have_server && k->zap) o.curve = &k->server;
        else if (!c->insecure) {   // sec_check_config lets nothing else through
            maac_err(reterr, -EPERM, "%s: no CURVE keys loaded", endpoint);
            return NULL;
        }
    } else if (sockdir_check(endpoint, reterr) < 0) {
        return NULL;
    }
    void* s = link_bind(zctx, type, endpoint, &o, reterr);
    MaacErr e2;
    if (s && sockdir_restrict(endpoint, c->socket_group, &e2) < 0)
        maacd_log(LOG_LV_WARNING, "%s (the socket is reachable by its owner only)", e2.msg);
    return s;
}

void* sec_connect(const DaemonConfig* c, void* zctx, int type, const char* endpoint,
                  const LinkOpts* opts, MaacErr* reterr) {
    LinkOpts o;
    if (opts) o = *opts;
    else link_opts_default(&o);
    const SecKeys* k = c->keys;
    if (curve_endpoint_is_network(endpoint)) {
        if (k && k->have_fleet_client) o.curve = &k->fleet_client;
        else if (!c->insecure) {
            maac_err(reterr, -EPERM, "%s: no CURVE keys loaded", endpoint);
            return NULL;
        }
    }
    return link_connect(zctx, type, endpoint, &o, reterr);
}
