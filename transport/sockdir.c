// SPDX-License-Identifier: Apache-2.0
// sockdir.c -- the default ipc socket directory and its ownership checks (sockdir.h).
//
// Checks work on an opened descriptor (open O_DIRECTORY|O_NOFOLLOW, then fstat), so a
// symlink is never followed and the object checked is the object used.
// Thread: any. Allocation: none.
#include "transport/sockdir.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sockdir_default(char* buf, size_t cap) {
    const char* rd = getenv("RUNTIME_DIRECTORY");
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (rd && rd[0] == '/')   // systemd may list several, ':'-separated: the first
        n = snprintf(buf, cap, "%.*s", (int)strcspn(rd, ":"), rd);
    else if (geteuid() == 0)
        n = snprintf(buf, cap, "/run/maacd");
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/maacd", xdg);
    else
        n = snprintf(buf, cap, "/tmp/maacd-%u", (unsigned)geteuid());
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int sockdir_default_endpoint(const char* file, char* buf, size_t cap) {
    char dir[512];
    if (sockdir_default(dir, sizeof dir) < 0) return -ENAMETOOLONG;
    int n = snprintf(buf, cap, "ipc://%s/%s", dir, file);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

// The socket path of an ipc endpoint with a file-system path; NULL for any other.
static const char* ipc_path(const char* ep) {
    if (strncmp(ep, "ipc://", 6) || ep[6] == '@' || !ep[6]) return NULL;
    return ep + 6;
}

// Split path into its directory (into dir). 0, or -EINVAL when it has none.
static int dir_of(const char* path, char* dir, size_t cap) {
    const char* slash = strrchr(path, '/');
    if (!slash) return -EINVAL;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap) return -ENAMETOOLONG;
    memcpy(dir, path, n);
    dir[n] = 0;
    return 0;
}

// mkdir -p: parents 0755, the last one 0750. 0 or -errno with reterr.
static int make_dirs(char* dir, MaacErr* reterr) {
    for (char* q = dir + 1;; q++) {
        if (*q != '/' && *q) continue;
        char c = *q;
        *q = 0;
        if (mkdir(dir, c ? 0755 : 0750) < 0 && errno != EEXIST) {
            int e = errno;
            maac_err(reterr, -e, "socket directory: mkdir %s: %s", dir, strerror(e));
            *q = c;
            return -e;
        }
        *q = c;
        if (!c) return 0;
    }
}

static int refuse(MaacErr* reterr, const char* dir, const char* what) {
    return maac_err(reterr, -EPERM,
                    "socket directory %s %s: refusing it (another user could replace the "
                    "sockets; see maacd(8))",
                    dir, what);
}

// The directory itself: ours, a directory, not writable by group or others.
static int check_dir(const char* dir, MaacErr* reterr) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP || e == ENOTDIR) return refuse(reterr, dir, "is not a directory (a symlink?)");
        return maac_err(reterr, -e, "socket directory %s: %s", dir, strerror(e));
    }
    struct stat st;
    int r = fstat(fd, &st);
    close(fd);
    if (r < 0) return maac_err(reterr, -errno, "socket directory %s: %s", dir, strerror(errno));
    char what[160];
    if (st.st_uid != geteuid()) {
        snprintf(what, sizeof what, "is owned by uid %u, not by this daemon (uid %u)",
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return refuse(reterr, dir, what);
    }
    if (st.st_mode & 022) {
        snprintf(what, sizeof what, "is writable by %s (mode %04o)",
                 st.st_mode & 002 ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
        return refuse(reterr, dir, what);
    }
    return 0;
}

// Its parent: ours or root's, and not open to others unless sticky (as /tmp is).
static int check_parent(const char* dir, MaacErr* reterr) {
    char parent[512];
    if (dir_of(dir, parent, sizeof parent) < 0) return 0;   // "/" has none
    struct stat st;
    if (stat(parent, &st) < 0)
        return maac_err(reterr, -errno, "socket directory parent %s: %s", parent, strerror(errno));
    char what[320];
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(what, sizeof what, "is inside %.150s, owned by uid %u (not us or root)", parent,
                 (unsigned)st.st_uid);
        return refuse(reterr, dir, what);
    }
    if ((st.st_mode & 002) && !(st.st_mode & S_ISVTX)) {
        snprintf(what, sizeof what, "is inside %.120s, writable by everyone without the sticky bit",
                 parent);
        return refuse(reterr, dir, what);
    }
    return 0;
}

int sockdir_check(const char* endpoint, MaacErr* reterr) {
    const char* path = ipc_path(endpoint);
    if (!path) return 0;
    char dir[512];
    if (dir_of(path, dir, sizeof dir) < 0)
        return maac_err(reterr, -EINVAL, "%s: an ipc path must be absolute", endpoint);
    if (path[0] != '/')
        return maac_err(reterr, -EINVAL, "%s: an ipc path must be absolute", endpoint);
    int r = make_dirs(dir, reterr);
    if (r == 0) r = check_dir(dir, reterr);
    if (r == 0) r = check_parent(dir, reterr);
    return r;
}

int sockdir_restrict(const char* endpoint, const char* group, MaacErr* reterr) {
    const char* path = ipc_path(endpoint);
    if (!path) return 0;
    if (chmod(path, 0660) < 0)
        return maac_err(reterr, -errno, "chmod 0660 %s: %s", path, strerror(errno));
    if (!group || !group[0]) return 0;
    struct group* g = getgrnam(group);
    if (!g) return 0;   // no such group: owner-only access
    char dir[512];
    struct stat st;
    if (lchown(path, (uid_t)-1, g->gr_gid) < 0)
        return maac_err(reterr, -errno, "chgrp %s %s: %s", group, path, strerror(errno));
    if (dir_of(path, dir, sizeof dir) == 0 && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == geteuid()) {
        if (st.st_gid != g->gr_gid && lchown(dir, (uid_t)-1, g->gr_gid) < 0)
            return maac_err(reterr, -errno, "chgrp %s %s: %s", group, dir, strerror(errno));
        if (!(st.st_mode & 010) && chmod(dir, (st.st_mode & 07777) | 010) < 0)
            return maac_err(reterr, -errno, "chmod g+x %s: %s", dir, strerror(errno));
    }
    return 0;
}
