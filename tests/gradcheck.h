// SPDX-License-Identifier: Apache-2.0
// gradcheck.h -- central-difference gradient checks for the core test suites.
//
// grad_check(what, loss, ctx, x, analytic, n, stride, h, rtol) perturbs x[i] by
// +-h (i = 0, stride, 2*stride, ...), evaluates loss(ctx) (a double) on each side
// and compares (L+ - L-) / (x+ - x-) with analytic[i]. It prints the largest
// elementwise relative error and the norm ratio ||a - n|| / ||n|| and records one
// CHECK for each: every element must satisfy |a - n| <= rtol * (|n| + floor),
// floor = 1e-2 * max|n| (so rounding noise on tiny entries does not count), and
// the norm ratio must be below rtol. A wrong sign or a missing term gives errors of
// order 1, far above any rtol used (<= 2e-2). Include after test_util.h.
#ifndef MAAC_GRADCHECK_H
#define MAAC_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef double (*GcLoss)(void* ctx);

static inline double grad_check(const char* what, GcLoss loss, void* ctx, float* x,
                                const float* analytic, long n, long stride, float h,
                                double rtol) {
    if (stride < 1) stride = 1;
    double max_n = 0.0;
    long cnt = (n + stride - 1) / stride;
    double* num = (double*)calloc((size_t)(cnt > 0 ? cnt : 1), sizeof(double));
    long k = 0;
    for (long i = 0; i < n; i += stride, k++) {
        float save = x[i];
        float xp = save + h, xm = save - h;
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = save;
        num[k] = (lp - lm) / ((double)xp - (double)xm);
        if (fabs(num[k]) > max_n) max_n = fabs(num[k]);
    }
    double floor_ = 1e-2 * max_n + 1e-12;
    double max_rel = 0.0, diff2 = 0.0, num2 = 0.0;
    long worst = -1;
    k = 0;
    for (long i = 0; i < n; i += stride, k++) {
        double a = analytic[i], d = fabs(a - num[k]);
        double rel = d / (fabs(num[k]) + floor_);
        if (rel > max_rel) {
            max_rel = rel;
            worst = i;
        }
        diff2 += d * d;
        num2 += num[k] * num[k];
    }
    double norm_rel = sqrt(diff2) / (sqrt(num2) + 1e-12);
    printf("  gradcheck %-40s n=%-5ld max_rel_err=%.3e norm_rel_err=%.3e max|g|=%.3g\n", what, cnt,
           max_rel, norm_rel, max_n);
    CHECK(max_rel <= rtol, "%s: max rel err %.3e at %ld (analytic %.6g)", what, max_rel, worst,
          worst >= 0 ? (double)analytic[worst] : 0.0);
    CHECK(norm_rel <= rtol, "%s: norm rel err %.3e", what, norm_rel);
    CHECK(max_n > 0.0, "%s: numeric gradient is all zero (test is vacuous)", what);
    free(num);
    return max_rel;
}

#endif
