// SPDX-License-Identifier: Apache-2.0
// test_util.h -- tiny assertion helpers shared by the ctest suites.
//
// CHECK(cond, fmt, ...) records a failure with file:line and goes on; a test's
// main returns test_summary(), which prints "N passed, N failed" and exits
// non-zero on any failure.
#ifndef MAAC_TEST_UTIL_H
#define MAAC_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

static int test_n_pass, test_n_fail;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            test_n_pass++;                                                    \
        } else {                                                              \
            test_n_fail++;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol, what)                                           \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s: %.9g vs %.9g (tol %.3g)", \
          (what), (double)(a), (double)(b), (double)(tol))

static inline int test_summary(const char* name) {
    printf("%s: %d passed, %d failed\n", name, test_n_pass, test_n_fail);
    return test_n_fail ? 1 : 0;
}

#endif
