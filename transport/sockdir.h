// SPDX-License-Identifier: Apache-2.0
// sockdir.h -- where maacd's local (ipc) sockets live, and the checks that keep that
// directory ours.
//
// ipc sockets carry no keys: the file system is their access control. So the
// directory holding them must belong to the daemon, or another local user could
// replace plant.sock with a socket of their own (a fake daemon whose "actions" a
// restarted robot driver would apply). The default directory, the same for the
// daemon and its clients (maac-sim, maacctl, examples/maac_client.py):
//   $RUNTIME_DIRECTORY              set by systemd for RuntimeDirectory=maacd (/run/maacd)
//   /run/maacd                      when running as root
//   $XDG_RUNTIME_DIR/maacd          a user's own runtime directory (pam_systemd)
//   /tmp/maacd-UID                  last resort (checked like the others)
// Before binding, the daemon checks the directory of each ipc endpoint it binds
// (sockdir_check): a real directory (not a symlink) owned by our effective uid and not
// writable by group or others, inside a parent that is ours or root's and not open
// to others without the sticky bit. Anything else is refused with a message, never
// used. After binding, each socket is made 0660 and given the group `maacd` when that
// group exists (sockdir_restrict), so drivers running as members of the group can
// connect; the directory gets the group too, with g+x.
// Thread: any (start-up). Allocation: none.
#ifndef MAAC_SOCKDIR_H
#define MAAC_SOCKDIR_H

#include <stddef.h>

#include "core/err.h"

#define SOCKDIR_GROUP "maacd"   // default group of the ipc sockets

// The default socket directory (see above) into buf. 0 or -ENAMETOOLONG.
int sockdir_default(char* buf, size_t cap);
// "ipc://" + the default directory + "/" + file ("plant.sock", "control.sock").
// 0 or -ENAMETOOLONG.
int sockdir_default_endpoint(const char* file, char* buf, size_t cap);
// For an ipc:// endpoint with a path (other endpoints: 0 at once): create its
// directory when missing (mode 0750, parents 0755), then check it as described
// above. 0, or -EPERM / -ENOTDIR / -errno with reterr saying what is wrong.
int sockdir_check(const char* endpoint, MaacErr* reterr);
// After bind: chmod 0660 the socket file of an ipc endpoint and, when group (may be
// NULL or "") names an existing group, give the socket and its directory that group
// (the directory also gets g+x). 0 or -errno with reterr (the caller warns; the
// socket stays usable by its owner).
int sockdir_restrict(const char* endpoint, const char* group, MaacErr* reterr);

#endif
