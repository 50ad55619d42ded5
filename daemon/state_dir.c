// SPDX-License-Identifier: Apache-2.0
// state_dir.c -- the daemon's state directory: default, creation, checks, clean-up
// (see state_dir.h).
// Thread: main. Allocation: opendir's.
#include "daemon/state_dir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int state_dir_default(char* dir, size_t cap, MaacErr* reterr) {
    if (dir[0]) return 0;
    const char* sd = getenv("STATE_DIRECTORY");   // systemd: colon-separated list
    if (sd && sd[0]) {
        size_t n = strcspn(sd, ":");
        snprintf(dir, cap, "%.*s", (int)n, sd);
        return 0;
    }
    const char* xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/') {
        snprintf(dir, cap, "%s/maacd", xdg);
        return 0;
    }
    const char* home = getenv("HOME");
    if (home && home[0] == '/') {
        snprintf(dir, cap, "%s/.local/state/maacd", home);
        return 0;
    }
    return maac_err(reterr, -ENOENT, "no state directory: set [daemon] checkpoint_dir "
                    "(no STATE_DIRECTORY, XDG_STATE_HOME or HOME)");
}

// mkdir -p with mode 0700 for the directories it creates.
static int mkdirs(const char* dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char* s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0700) < 0 && errno != EEXIST) return -errno;
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST) return -errno;
    return 0;
}

int state_dir_prepare(const char* dir, MaacErr* reterr) {
    int r = mkdirs(dir);
    if (r < 0) return maac_err(reterr, r, "state directory %s: %s", dir, strerror(-r));
    struct stat st;
    if (lstat(dir, &st) < 0)
        return maac_err(reterr, -errno, "state directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return maac_err(reterr, -ENOTDIR, "state directory %s is not a directory (a symlink?)",
                        dir);
    if (st.st_uid != geteuid())
        return maac_err(reterr, -EPERM, "state directory %s belongs to uid %u, not to this "
                        "daemon (uid %u)", dir, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return maac_err(reterr, -EPERM, "state directory %s is writable by group or others "
                        "(mode %04o)", dir, (unsigned)(st.st_mode & 07777));
    return 0;
}

int state_dir_clean_temps(const char* dir) {
    DIR* d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent* e;
    while ((e = readdir(d))) {
        const char* t = strstr(e->d_name, ".tmp-");
        if (!t) continue;
        char* end = NULL;
        long pid = strtol(t + 5, &end, 10);
        if (!end || *end || pid <= 0) continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM) continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) removed++;
    }
    closedir(d);
    return removed;
}
