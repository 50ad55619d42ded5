// SPDX-License-Identifier: Apache-2.0
// fuzz_ckpt.c -- libFuzzer target: the checkpoint readers (core/ckpt.c ckpt_decode,
// policy_from_ckpt, and the file readers policy_load / learner_ckpt_load through an
// in-memory file). Anything accepted must encode and decode again.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/ensemble.h"
#include "core/learner.h"
#include "core/policy.h"
#include "core/qf.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void from_file(const uint8_t* data, size_t size) {
    int fd = memfd_create("fuzz_ckpt", 0);
    if (fd < 0) return;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        policy_free(policy_load(path, NULL));
        Policy* pi = NULL;
        QFunction* qf = NULL;
        Ensemble* ens = NULL;
        if (learner_ckpt_load(path, &pi, &qf, &ens, NULL) == 0) {
            policy_free(pi);
            qf_free(qf);
            ens_free(ens);
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Ckpt c, c2;
    if (ckpt_decode(data, size, &c, NULL) == 0) {
        Policy* p = policy_from_ckpt(&c, NULL);
        policy_free(p);
        char* buf = NULL;
        size_t len = 0;
        if (ckpt_encode(&c, &buf, &len, NULL) == 0) {
            if (ckpt_decode(buf, len, &c2, NULL) != 0) abort();   // must round-trip
            ckpt_done(&c2);
            free(buf);
        }
        ckpt_done(&c);
        from_file(data, size);   // only the files that decode are worth the syscalls
    }
    return 0;
}
