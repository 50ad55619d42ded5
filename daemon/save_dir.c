// SPDX-License-Identifier: Apache-2.0
// save_dir.c -- `maacctl save [DIR]` writes only under the checkpoint directory
// (save_dir.h).
//
// The subdirectory is checked through a descriptor of the checkpoint directory
// (mkdirat, then openat with O_NOFOLLOW|O_DIRECTORY), so a symlink planted under
// the name is refused, not followed; the checkpoint files themselves are then
// written with maac_write_atomic (O_EXCL|O_NOFOLLOW temp files).
// Thread: the ctl server thread. Allocation: none.
#include "daemon/save_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 64

static int name_ok(const char* s) {
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

int save_dir_resolve(const char* checkpoint_dir, const char* arg, char* out, size_t cap,
                     MaacErr* reterr) {
    if (!checkpoint_dir || !checkpoint_dir[0])
        return maac_err(reterr, -EINVAL, "no checkpoint directory configured "
                        "([daemon] checkpoint_dir)");
    if (!arg || !arg[0]) {
        if ((size_t)snprintf(out, cap, "%s", checkpoint_dir) >= cap)
            return maac_err(reterr, -ENAMETOOLONG, "checkpoint directory path too long");
        return 0;
    }
    if (!name_ok(arg))
        return maac_err(reterr, -EPERM, "save writes only under the checkpoint directory %s: "
                        "DIR must be one subdirectory name of letters, digits, '.', '_', '-' "
                        "(no '/', no '..'), got '%.64s'", checkpoint_dir, arg);
    int dfd = open(checkpoint_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        return maac_err(reterr, -e, "checkpoint directory %s: %s", checkpoint_dir, strerror(e));
    }
    if (mkdirat(dfd, arg, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        close(dfd);
        return maac_err(reterr, -e, "create %s/%s: %s", checkpoint_dir, arg, strerror(e));
    }
    struct stat st;
    int sfd = openat(dfd, arg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = sfd < 0 ? errno : 0;
    int is_link = sfd < 0 && fstatat(dfd, arg, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    close(dfd);
    if (sfd < 0)
        return maac_err(reterr, e == ELOOP || e == ENOTDIR ? -EPERM : -e, "%s/%s is %s",
                        checkpoint_dir, arg,
                        is_link ? "a symlink (refused: save never follows one)"
                        : e == ENOTDIR ? "not a directory" : strerror(e));
    close(sfd);
    if ((size_t)snprintf(out, cap, "%s/%s", checkpoint_dir, arg) >= cap)
        return maac_err(reterr, -ENAMETOOLONG, "checkpoint path too long");
    return 0;
}
