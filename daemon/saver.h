// SPDX-License-Identifier: Apache-2.0
// saver.h -- a background writer: encoded checkpoints are handed over and written
// atomically (maac_write_atomic) on the saver's own thread.
//
// The learner encodes its state into memory at a safe point (fast) and hands the
// bytes over; the disk I/O (up to hundreds of MB with fsync) happens here, so neither
// the learner nor a requester (main, the control socket) waits for the disk longer
// than it chooses to. One write runs at a time and one more waits; a newer submission
// replaces the waiting one (the newer state supersedes it), and its ticket then
// completes with the newer write.
// Thread: saver_* from any non-RT thread. Allocation: takes ownership of the buffers.
#ifndef MAAC_SAVER_H
#define MAAC_SAVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct Saver Saver;

// Start the writer thread. NULL on failure.
Saver* saver_create(void);
// Finish the write in progress and the waiting one, then stop. Nullable: s.
void saver_free(Saver* s);
// Hand over buf (malloc'd, len bytes; owned by the saver from here on) to be written
// to path. Returns the ticket to wait on (> 0), or 0 when buf could not be taken
// (buf freed).
uint64_t saver_submit(Saver* s, const char* path, char* buf, size_t len);
// Wait up to timeout_ms (0: do not wait) for ticket. 0 written (or failed: *ret_result
// and reterr say which), -ETIMEDOUT still in progress.
int saver_wait(Saver* s, uint64_t ticket, int timeout_ms, int* ret_result, MaacErr* reterr);
// Writes done, and failed.
void saver_counts(Saver* s, uint64_t* ret_written, uint64_t* ret_failed);

#endif
