// SPDX-License-Identifier: Apache-2.0
// test_safe_files.c -- files an attacker could steer (issue 33): the atomic writer
// refuses a planted symlink or file at its temp path and cleans up on failure, stale
// temp files of dead writers are removed, checkpoint readers refuse FIFOs without
// blocking and honour a size cap, a policy "version" outside [0, 2^53] is refused,
// and NaN / huge learner settings are refused instead of cast.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/learner.h"
#include "core/policy.h"
#include "test_util.h"

static char dir[512];

static void path_in(char* out, size_t cap, const char* name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

static int file_is(const char* path, const char* want) {
    char buf[256] = {0};
    FILE* f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static void write_text(const char* path, const char* text) {
    FILE* f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_symlink_at_temp(void) {
    char victim[600], target[600], tmp[700];
    path_in(victim, sizeof victim, "victim");
    path_in(target, sizeof target, "out.ckpt");
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", target, (long)getpid());
    write_text(victim, "precious");
    // the attack: a symlink at the temp path the writer will use
    CHECK(symlink(victim, tmp) == 0, "symlink: %s", strerror(errno));
    MaacErr err = {{0}};
    int r = maac_write_atomic(target, "evil", 4, &err);
    CHECK(r == -EEXIST, "planted symlink refused (r = %d, %s)", r, err.msg);
    CHECK(file_is(victim, "precious"), "symlink target untouched");
    CHECK(access(target, F_OK) != 0, "nothing written at the target");
    struct stat st;
    CHECK(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode), "the planted link is left alone");
    unlink(tmp);
    // a leftover regular temp file of our own pid (a crash of an earlier life) is replaced
    write_text(tmp, "stale");
    r = maac_write_atomic(target, "good", 4, &err);
    CHECK(r == 0, "own stale temp replaced: %s", err.msg);
    CHECK(file_is(target, "good"), "written");
    CHECK(access(tmp, F_OK) != 0, "no temp file left");
    unlink(target);
    unlink(victim);
}

static void test_cleanup_on_failure(void) {
    // rename over a non-empty folder fails after the temp file was written
    char sub[600], inner[700], tmp[700];
    path_in(sub, sizeof sub, "adir");
    snprintf(inner, sizeof inner, "%s/x", sub);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", sub, (long)getpid());
    CHECK(mkdir(sub, 0700) == 0, "mkdir");
    write_text(inner, "x");
    MaacErr err = {{0}};
    int r = maac_write_atomic(sub, "data", 4, &err);
    CHECK(r < 0 && strstr(err.msg, "rename"), "rename failure reported (%d, %s)", r, err.msg);
    CHECK(access(tmp, F_OK) != 0, "temp file removed after the failure");
    unlink(inner);
    rmdir(sub);
}

static void test_stale_tmp(void) {
    // a pid that is certainly dead: a child that exited and was reaped
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char dead[700], alive[700], other[600], link[700], victim[600];
    snprintf(dead, sizeof dead, "%s/policy.ckpt.tmp-%ld", dir, (long)child);
    snprintf(alive, sizeof alive, "%s/policy.ckpt.tmp-%ld", dir, (long)getppid());
    path_in(other, sizeof other, "notes.tmp-abc");
    path_in(victim, sizeof victim, "victim2");
    snprintf(link, sizeof link, "%s/learner.ckpt.tmp-%ld", dir, (long)child);
    write_text(dead, "partial");
    write_text(alive, "in progress");
    write_text(other, "keep");
    write_text(victim, "keep");
    CHECK(symlink(victim, link) == 0, "symlink");
    MaacErr err = {{0}};
    int n = maac_clean_stale_tmp(dir, &err);
    CHECK(n == 1, "one stale temp removed (got %d, %s)", n, err.msg);
    CHECK(access(dead, F_OK) != 0, "dead writer's temp removed");
    CHECK(access(alive, F_OK) == 0, "a running writer's temp kept");
    CHECK(access(other, F_OK) == 0, "other names kept");
    struct stat st;
    CHECK(lstat(link, &st) == 0 && file_is(victim, "keep"), "symlinks never followed or removed");
    CHECK(maac_clean_stale_tmp("/nonexistent/dir", &err) == -ENOENT, "missing folder reported");
    unlink(alive);
    unlink(other);
    unlink(link);
    unlink(victim);
}

static void alarm_handler(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: reading a FIFO blocked\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
}

static void test_fifo_and_cap(void) {
    char fifo[600];
    path_in(fifo, sizeof fifo, "pipe.ckpt");
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    signal(SIGALRM, alarm_handler);
    alarm(5);   // a blocking open() would hang here forever
    MaacErr err = {{0}};
    Policy* p = policy_load(fifo, &err);
    CHECK(p == NULL && strstr(err.msg, "not a regular file"), "FIFO refused: %s", err.msg);
    alarm(0);
    unlink(fifo);

    Rng rng;
    rng_seed(&rng, 3);
    int hidden[1] = {64};
    float lo[2] = {-1, -1}, hi[2] = {1, 1};
    Policy* pi = policy_create(5, 2, 1, hidden, NN_ACT_RELU, lo, hi, &rng);
    char path[600];
    path_in(path, sizeof path, "pi.ckpt");
    CHECK(policy_save(pi, path, &err) == 0, "save: %s", err.msg);
    struct stat st;
    stat(path, &st);
    p = policy_load_max(path, (long)st.st_size - 1, &err);
    CHECK(p == NULL && strstr(err.msg, "exceeds"), "file over the cap refused: %s", err.msg);
    p = policy_load_max(path, (long)st.st_size, &err);
    CHECK(p != NULL, "file at the cap read: %s", err.msg);
    policy_free(p);

    // a symlink to a regular policy file is followed (documented)
    char lnk[600];
    path_in(lnk, sizeof lnk, "current.ckpt");
    CHECK(symlink(path, lnk) == 0, "symlink");
    p = policy_load(lnk, &err);
    CHECK(p != NULL, "symlink to a regular file read: %s", err.msg);
    policy_free(p);
    unlink(lnk);

    // versions a float64 cannot carry into uint64_t are refused, not cast (UB before)
    static const double bad[] = {1e30, -1.0, 0.5, 18446744073709551616.0, NAN};
    for (int i = 0; i < 5; i++) {
        Ckpt* c = malloc(sizeof *c);
        ckpt_init(c, "policy");
        policy_to_ckpt(pi, c);
        ckpt_set_num(c, "version", bad[i]);
        CHECK(ckpt_write(path, c, &err) == 0, "write: %s", err.msg);
        free(c);
        p = policy_load(path, &err);
        CHECK(p == NULL && strstr(err.msg, "version"), "version %g refused: %s", bad[i], err.msg);
        policy_free(p);
    }
    pi->version = 9007199254740992ULL;   // 2^53 is the largest accepted
    CHECK(policy_save(pi, path, &err) == 0, "save");
    p = policy_load(path, &err);
    CHECK(p && p->version == 9007199254740992ULL, "version 2^53 read back: %s", err.msg);
    policy_free(p);
    policy_free(pi);
    unlink(path);
}

static void test_learner_settings(void) {
    LearnerConfig c;
    learner_config_default(&c, "hopper");
    MaacErr err = {{0}};
    static const char* const bad_long[] = {"nan", "1e300", "-1e300", "inf", "9.3e18", "2.5"};
    for (int i = 0; i < 6; i++) {
        long before = c.env_capacity;
        CHECK(learner_config_set(&c, "env_capacity", bad_long[i], &err) < 0,
              "env_capacity=%s refused", bad_long[i]);
        CHECK(c.env_capacity == before, "unchanged");
    }
    CHECK(learner_config_set(&c, "env_capacity", "1e6", &err) == 0 && c.env_capacity == 1000000,
          "1e6 accepted");
    CHECK(learner_config_set(&c, "gamma", "nan", &err) < 0, "gamma=nan refused");
    CHECK(learner_config_set(&c, "gamma", "inf", &err) < 0, "gamma=inf refused");
    CHECK(learner_config_set(&c, "gamma", "0.98", &err) == 0, "gamma=0.98 accepted");
}

int main(void) {
    const char* base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/maac_safe_XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_symlink_at_temp();
    test_cleanup_on_failure();
    test_stale_tmp();
    test_fifo_and_cap();
    test_learner_settings();
    rmdir(dir);
    return test_summary("test_safe_files");
}
