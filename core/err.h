// SPDX-License-Identifier: Apache-2.0
// err.h -- MaacErr, the optional human-readable error detail filled on failure.
//
// Fallible functions return 0 or a negative errno; where a person needs to know
// more (config line, checkpoint field, message parse) they also take an optional
// trailing `MaacErr* reterr`, filled only on failure (anet style).
// Thread: any. Allocates nothing.
#ifndef MAAC_ERR_H
#define MAAC_ERR_H

#define MAAC_ERR_LEN 256

typedef struct {
    char msg[MAAC_ERR_LEN];   // NUL-terminated message, "" when unset
} MaacErr;

// Format a message into reterr (no-op when reterr is NULL). Returns `code` so
// callers can write `return maac_err(reterr, -EINVAL, "bad %s", x);`.
// Nullable: reterr.
int maac_err(MaacErr* reterr, int code, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
