// SPDX-License-Identifier: Apache-2.0
// save_dir.h -- where `maacctl save [DIR]` may write: only under the configured
// checkpoint directory.
//
// DIR is "" (the checkpoint directory itself) or one relative name of letters,
// digits, '.', '_' and '-' (not "." or ".."): a subdirectory, created 0750 when
// missing. Anything else (absolute paths, "..", slashes, a name that is a symlink or
// not a directory) is refused, so a client of the control socket cannot make the
// daemon write elsewhere.
// Thread: the ctl server thread. Allocation: none.
#ifndef MAAC_SAVE_DIR_H
#define MAAC_SAVE_DIR_H

#include <stddef.h>

#include "core/err.h"

// Resolve arg against checkpoint_dir into out (cap bytes). 0 or -EINVAL/-EPERM/-errno
// with reterr saying why.
int save_dir_resolve(const char* checkpoint_dir, const char* arg, char* out, size_t cap,
                     MaacErr* reterr);

#endif
