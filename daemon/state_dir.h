// SPDX-License-Identifier: Apache-2.0
// state_dir.h -- where maacd keeps its learner state, policy and episode log.
//
// The checkpoint directory is never "none" by default (docs/daemon.md "State"):
//   1. [daemon] checkpoint_dir / --checkpoint-dir when set;
//   2. under systemd, $STATE_DIRECTORY (the unit's StateDirectory=maacd: /var/lib/maacd);
//   3. otherwise $XDG_STATE_HOME/maacd, else $HOME/.local/state/maacd.
// It is created (mode 0700, parents as needed) and must be a directory owned by the
// daemon's user that no one else can write to. At start, temp files that saves of a
// process no longer running left behind (NAME.tmp-PID) are removed.
// Thread: main, at start-up. Allocation: none.
#ifndef MAAC_STATE_DIR_H
#define MAAC_STATE_DIR_H

#include <stddef.h>

#include "core/err.h"

// Resolve the default into dir (cap bytes) when dir is "". 0 or -ENOENT (no HOME).
int state_dir_default(char* dir, size_t cap, MaacErr* reterr);
// Create dir (and parents) if missing; check it is ours and not writable by others.
// 0 or -errno with reterr.
int state_dir_prepare(const char* dir, MaacErr* reterr);
// Remove NAME.tmp-PID files whose process is gone. Returns how many were removed.
int state_dir_clean_temps(const char* dir);

#endif
