// SPDX-License-Identifier: Apache-2.0
// test_nn.c -- nn.c kernels: sgemm vs naive, and every backward vs central differences.
//
// Each check builds a scalar loss L = sum_i c_i * out_i (random fixed c, summed in
// double), so dL/dout = c is fed to the backward and the result compared with
// finite differences of L (gradcheck.h prints the max relative error).
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn.h"
#include "core/rng.h"
#include "test_util.h"
#include "gradcheck.h"

static Rng rng;

static float* randn(long n, float scale) {
    float* p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) p[i] = scale * rng_normal(&rng);
    return p;
}

static float* zeros(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

static double dot(const float* a, const float* c, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += (double)a[i] * c[i];
    return s;
}

static double max_abs_diff(const float* a, const float* b, long n) {
    double m = 0.0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m) m = d;
    }
    return m;
}

// ==== linear ======================================================================

typedef struct {
    float *out, *inp, *w, *b, *c;
    int B, C, OC;
} LinCtx;

static double lin_loss(void* p) {
    LinCtx* k = p;
    nn_linear_forward(k->out, k->inp, k->w, k->b, k->B, k->C, k->OC);
    return dot(k->out, k->c, (long)k->B * k->OC);
}

static void test_linear(void) {
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 23, 200}, {64, 200, 34}, {5, 256, 12}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int B = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float* inp = randn((long)B * C, 1.0f);
        float* w = randn((long)OC * C, 0.3f);
        float* b = randn(OC, 0.5f);
        float* o1 = zeros((long)B * OC);
        float* o2 = zeros((long)B * OC);
        nn_linear_forward(o1, inp, w, b, B, C, OC);
        nn_linear_forward_naive(o2, inp, w, b, B, C, OC);
        double fd = max_abs_diff(o1, o2, (long)B * OC);
        printf("  linear fwd sgemm vs naive B=%d C=%d OC=%d maxdiff=%.3g\n", B, C, OC, fd);
        CHECK(fd < 1e-4 * sqrt(C), "linear forward sgemm vs naive maxdiff %g", fd);

        float* dout = randn((long)B * OC, 1.0f);
        float* di1 = randn((long)B * C, 1.0f);   // nonzero start: backward must ADD
        float* dw1 = randn((long)OC * C, 1.0f);
        float* db1 = randn(OC, 1.0f);
        float* di2 = malloc(sizeof(float) * B * C);
        float* dw2 = malloc(sizeof(float) * OC * C);
        float* db2 = malloc(sizeof(float) * OC);
        memcpy(di2, di1, sizeof(float) * B * C);
        memcpy(dw2, dw1, sizeof(float) * OC * C);
        memcpy(db2, db1, sizeof(float) * OC);
        nn_linear_backward(di1, dw1, db1, dout, inp, w, B, C, OC);
        nn_linear_backward_naive(di2, dw2, db2, dout, inp, w, B, C, OC);
        double d1 = max_abs_diff(di1, di2, (long)B * C), d2 = max_abs_diff(dw1, dw2, (long)OC * C),
               d3 = max_abs_diff(db1, db2, OC);
        printf("  linear bwd sgemm vs naive maxdiff dinp=%.3g dw=%.3g db=%.3g\n", d1, d2, d3);
        CHECK(d1 < 1e-4 * sqrt(OC) && d2 < 1e-4 * sqrt(B) && d3 < 1e-4 * sqrt(B),
              "linear backward sgemm vs naive %g %g %g", d1, d2, d3);
        free(inp), free(w), free(b), free(o1), free(o2), free(dout);
        free(di1), free(dw1), free(db1), free(di2), free(dw2), free(db2);
    }

    // finite differences of the sgemm path
    LinCtx k = {.B = 4, .C = 6, .OC = 5};
    k.inp = randn(24, 1.0f), k.w = randn(30, 0.5f), k.b = randn(5, 0.5f), k.c = randn(20, 1.0f);
    k.out = zeros(20);
    float *di = zeros(24), *dw = zeros(30), *db = zeros(5);
    nn_linear_backward(di, dw, db, k.c, k.inp, k.w, k.B, k.C, k.OC);
    grad_check("linear dinp", lin_loss, &k, k.inp, di, 24, 1, 1e-2f, 2e-3);
    grad_check("linear dweight", lin_loss, &k, k.w, dw, 30, 1, 1e-2f, 2e-3);
    grad_check("linear dbias", lin_loss, &k, k.b, db, 5, 1, 1e-2f, 2e-3);
    // accumulation: a second call doubles; NULL d-args are skipped
    float *di2 = zeros(24), *db2 = zeros(5);
    nn_linear_backward(di2, NULL, db2, k.c, k.inp, k.w, k.B, k.C, k.OC);
    nn_linear_backward(di2, NULL, db2, k.c, k.inp, k.w, k.B, k.C, k.OC);
    double acc = 0.0;
    for (int i = 0; i < 24; i++) acc = fmax(acc, fabs(di2[i] - 2.0 * di[i]));
    for (int i = 0; i < 5; i++) acc = fmax(acc, fabs(db2[i] - 2.0 * db[i]));
    CHECK(acc < 1e-5, "linear backward accumulates (+=): maxdiff %g", acc);
    // no bias
    float* o = zeros(20);
    nn_linear_forward(o, k.inp, k.w, NULL, k.B, k.C, k.OC);
    nn_linear_forward(k.out, k.inp, k.w, k.b, k.B, k.C, k.OC);
    double nb = 0.0;
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 5; j++) nb = fmax(nb, fabs(o[r * 5 + j] + k.b[j] - k.out[r * 5 + j]));
    CHECK(nb < 1e-5, "linear forward without bias: %g", nb);
    free(k.inp), free(k.w), free(k.b), free(k.c), free(k.out), free(di), free(dw), free(db);
    free(di2), free(db2), free(o);
}

// ==== activations =================================================================

typedef struct {
    float *out, *inp, *c;
    long n;
    NnAct act;
} ActCtx;

static double act_loss(void* p) {
    ActCtx* k = p;
    nn_act_forward(k->out, k->inp, k->n, k->act);
    return dot(k->out, k->c, k->n);
}

static void test_act(void) {
    const char* names[] = {"linear", "relu", "swish", "tanh"};
    for (int a = 0; a < 4; a++) {
        NnAct act;
        CHECK(nn_act_parse(names[a], &act) == 0 && (int)act == a, "parse %s", names[a]);
        CHECK(strcmp(nn_act_name(act), names[a]) == 0, "name %d", a);
        ActCtx k = {.n = 64, .act = act};
        k.inp = randn(64, 2.0f);
        for (int i = 0; i < 64; i++)   // keep away from relu's kink
            if (fabsf(k.inp[i]) < 0.05f) k.inp[i] = 0.1f;
        k.out = zeros(64), k.c = randn(64, 1.0f);
        nn_act_forward(k.out, k.inp, k.n, act);
        float* d = zeros(64);
        nn_act_backward(d, k.c, k.inp, k.out, k.n, act);
        char what[64];
        snprintf(what, sizeof what, "act %s", names[a]);
        grad_check(what, act_loss, &k, k.inp, d, 64, 1, 1e-3f, 1e-2);
        // tanh backward without the forward output recomputes it
        if (act == NN_ACT_TANH) {
            float* d2 = zeros(64);
            nn_act_backward(d2, k.c, k.inp, NULL, k.n, act);
            CHECK(max_abs_diff(d, d2, 64) < 1e-6, "tanh backward with out=NULL");
            free(d2);
        }
        {   // in place gives the same values
            float* cp = malloc(sizeof(float) * 64);
            memcpy(cp, k.inp, sizeof(float) * 64);
            nn_act_forward(cp, cp, 64, act);
            nn_act_forward(k.out, k.inp, 64, act);
            CHECK(memcmp(cp, k.out, sizeof(float) * 64) == 0, "%s in place", names[a]);
            free(cp);
        }
        free(k.inp), free(k.out), free(k.c), free(d);
    }
    NnAct act = NN_ACT_LINEAR;
    CHECK(nn_act_parse("silu", &act) == 0 && act == NN_ACT_SWISH, "silu alias");
    CHECK(nn_act_parse("gelu", &act) == -EINVAL, "unknown activation rejected");
    // spot values
    float x[4] = {-1.0f, 0.0f, 2.0f, -200.0f}, y[4];
    nn_act_forward(y, x, 4, NN_ACT_SWISH);
    CHECK_NEAR(y[0], -1.0 / (1.0 + exp(1.0)), 1e-6, "swish(-1)");
    CHECK_NEAR(y[2], 2.0 / (1.0 + exp(-2.0)), 1e-6, "swish(2)");
    CHECK(y[3] == 0.0f && isfinite(y[3]), "swish(-200) = 0");
    nn_act_forward(y, x, 4, NN_ACT_RELU);
    CHECK(y[0] == 0.0f && y[2] == 2.0f, "relu values");
}

// ==== Gaussian head ===============================================================

typedef struct {
    float *mean, *logvar, *raw, *mx, *mn, *cm, *cl;
    int B, D;
} HeadCtx;

static double head_loss(void* p) {
    HeadCtx* k = p;
    nn_gauss_head_forward(k->mean, k->logvar, k->raw, k->mx, k->mn, k->B, k->D);
    long n = (long)k->B * k->D;
    return dot(k->mean, k->cm, n) + dot(k->logvar, k->cl, n);
}

static void test_gauss_head(void) {
    HeadCtx k = {.B = 6, .D = 4};
    long n = 24;
    k.raw = randn(2 * n, 1.0f);
    // spread raw logvars over both soft bounds: from far below min to above max
    for (int b = 0; b < k.B; b++)
        for (int j = 0; j < k.D; j++) k.raw[b * 2 * k.D + k.D + j] = -14.0f + 3.3f * (b * k.D + j) / 4.0f;
    k.mx = zeros(k.D), k.mn = zeros(k.D);
    for (int j = 0; j < k.D; j++) k.mx[j] = 0.5f - 0.2f * j, k.mn[j] = -10.0f + 0.5f * j;
    k.mean = zeros(n), k.logvar = zeros(n), k.cm = randn(n, 1.0f), k.cl = randn(n, 1.0f);
    float *draw = zeros(2 * n), *dmx = zeros(k.D), *dmn = zeros(k.D);
    nn_gauss_head_forward(k.mean, k.logvar, k.raw, k.mx, k.mn, k.B, k.D);
    int inside = 1;
    for (int b = 0; b < k.B; b++)
        for (int j = 0; j < k.D; j++) {
            float lv = k.logvar[b * k.D + j];
            if (!(lv > k.mn[j] && lv < k.mx[j])) inside = 0;
        }
    CHECK(inside, "gauss head logvar strictly inside (min, max)");
    nn_gauss_head_backward(draw, dmx, dmn, k.cm, k.cl, k.raw, k.mx, k.mn, k.B, k.D);
    grad_check("gauss_head draw", head_loss, &k, k.raw, draw, 2 * n, 1, 1e-2f, 1e-2);
    grad_check("gauss_head dmax_logvar", head_loss, &k, k.mx, dmx, k.D, 1, 1e-2f, 1e-2);
    grad_check("gauss_head dmin_logvar", head_loss, &k, k.mn, dmn, k.D, 1, 1e-2f, 1e-2);
    // extreme raw values stay finite and bounded
    float raw2[4] = {0.0f, 0.0f, 1e30f, -1e30f}, mean2[2], lv2[2], mx2[2] = {0.5f, 0.5f},
          mn2[2] = {-10.0f, -10.0f};
    nn_gauss_head_forward(mean2, lv2, raw2, mx2, mn2, 1, 2);
    CHECK(isfinite(lv2[0]) && isfinite(lv2[1]) && fabsf(lv2[0] - 0.5f) < 1e-4f &&
              fabsf(lv2[1] + 10.0f) < 1e-4f,
          "extreme raw logvar saturates at the bounds: %g %g", lv2[0], lv2[1]);
    float draw2[4] = {0}, dmx2[2] = {0}, dmn2[2] = {0}, g2[2] = {1.0f, 1.0f};
    nn_gauss_head_backward(draw2, dmx2, dmn2, NULL, g2, raw2, mx2, mn2, 1, 2);
    CHECK(isfinite(draw2[2]) && isfinite(draw2[3]) && fabsf(dmx2[0] - 1.0f) < 1e-4f &&
              fabsf(dmn2[1] - 1.0f) < 1e-4f,
          "saturated head passes the gradient to the bound: %g %g", dmx2[0], dmn2[1]);
    free(k.raw), free(k.mx), free(k.mn), free(k.mean), free(k.logvar), free(k.cm), free(k.cl);
    free(draw), free(dmx), free(dmn);
}

// ==== NLL and MSE ===================================================================

typedef struct {
    float *mean, *logvar, *target;
    int B, D;
} NllCtx;

static double nll_loss(void* p) {
    NllCtx* k = p;
    return nn_gauss_nll_forward(k->mean, k->logvar, k->target, k->B, k->D);
}

static double mse_loss(void* p) {
    NllCtx* k = p;
    return nn_mse_forward(k->mean, k->target, (long)k->B * k->D);
}

static void test_losses(void) {
    NllCtx k = {.B = 5, .D = 3};
    long n = 15;
    k.mean = randn(n, 1.0f), k.logvar = randn(n, 1.0f), k.target = randn(n, 1.0f);
    double ref = 0.0;
    for (long i = 0; i < n; i++) {
        double d = (double)k.target[i] - k.mean[i];
        ref += d * d * exp(-(double)k.logvar[i]) + k.logvar[i];
    }
    CHECK_NEAR(nll_loss(&k), ref / n, 1e-5, "nll value");
    float *dm = zeros(n), *dl = zeros(n);
    nn_gauss_nll_backward(dm, dl, 1.0f, k.mean, k.logvar, k.target, k.B, k.D);
    // a float loss of size ~1 has rounding ~1e-7; h = 1e-2 keeps FD noise ~1e-5
    grad_check("gauss_nll dmean", nll_loss, &k, k.mean, dm, n, 1, 1e-2f, 1e-2);
    grad_check("gauss_nll dlogvar", nll_loss, &k, k.logvar, dl, n, 1, 1e-2f, 1e-2);
    // dloss scales
    float* dm3 = zeros(n);
    nn_gauss_nll_backward(dm3, NULL, 3.0f, k.mean, k.logvar, k.target, k.B, k.D);
    double sc = 0.0;
    for (long i = 0; i < n; i++) sc = fmax(sc, fabs(dm3[i] - 3.0 * dm[i]));
    CHECK(sc < 1e-6, "nll dloss scaling %g", sc);

    double mref = 0.0;
    for (long i = 0; i < n; i++) mref += ((double)k.mean[i] - k.target[i]) * ((double)k.mean[i] - k.target[i]);
    CHECK_NEAR(mse_loss(&k), mref / n, 1e-5, "mse value");
    float* dp = zeros(n);
    nn_mse_backward(dp, 1.0f, k.mean, k.target, n);
    grad_check("mse dpred", mse_loss, &k, k.mean, dp, n, 1, 1e-2f, 1e-2);
    free(k.mean), free(k.logvar), free(k.target), free(dm), free(dl), free(dm3), free(dp);
}

// ==== the vectorisable exp and tanh behind swish/tanh ===============================

void nn_fast_exp_test(float* out, const float* inp, long n);   // nn.c test hooks
void nn_fast_tanh_test(float* out, const float* inp, long n);
void nn_softplus_libm_test(float* out, const float* inp, long n);

static void test_fast_math(void) {
    enum { N = 200001 };
    float* x = malloc(sizeof(float) * N);
    float* y = malloc(sizeof(float) * N);
    for (long i = 0; i < N; i++) x[i] = -87.0f + 175.0f * (float)i / (N - 1);   // [-87, 88]
    nn_fast_exp_test(y, x, N);
    double worst = 0.0;
    for (long i = 0; i < N; i++) worst = fmax(worst, fabs(y[i] - exp((double)x[i])) / exp((double)x[i]));
    printf("  fast_expf on [-87, 88]: max rel err %.3g\n", worst);
    CHECK(worst < 1e-6, "fast_expf rel err %g", worst);
    float spec[5] = {-1000.0f, -88.0f, 0.0f, 100.0f, NAN}, ys[5];
    nn_fast_exp_test(ys, spec, 5);
    CHECK(ys[0] == 0.0f && ys[1] == 0.0f && ys[2] == 1.0f && isinf(ys[3]) && isnan(ys[4]),
          "fast_expf specials: %g %g %g %g %g", ys[0], ys[1], ys[2], ys[3], ys[4]);
    for (long i = 0; i < N; i++) x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    nn_fast_tanh_test(y, x, N);
    double wa = 0.0, wr = 0.0;
    for (long i = 0; i < N; i++) {
        double t = tanh((double)x[i]);
        wa = fmax(wa, fabs(y[i] - t));
        if (fabs(t) > 1e-30) wr = fmax(wr, fabs(y[i] - t) / fabs(t));
    }
    printf("  fast_tanhf on [-20, 20]: max abs err %.3g, max rel err %.3g\n", wa, wr);
    CHECK(wa < 3e-7 && wr < 1e-6, "fast_tanhf err abs %g rel %g", wa, wr);
    // softplus: against the double-precision log1p(exp(x)) and the libm float form
    // it replaced; the whole range including the far tails (e^x, x).
    for (long i = 0; i < N; i++) x[i] = -100.0f + 200.0f * (float)i / (N - 1);
    float* yl = malloc(sizeof(float) * N);
    nn_softplus_forward(y, x, N);
    nn_softplus_libm_test(yl, x, N);
    double sr = 0.0, sl = 0.0, sa = 0.0;
    for (long i = 0; i < N; i++) {
        double xd = x[i];
        double t = xd > 0.0 ? xd + log1p(exp(-xd)) : log1p(exp(xd));
        if (t < 1e-37) {   // below e^-85: flushed to 0 like fast_expf (libm: denormals)
            sa = fmax(sa, fabs(y[i] - t));
            continue;
        }
        sr = fmax(sr, fabs(y[i] - t) / t);
        sl = fmax(sl, fabs((double)yl[i] - t) / t);
    }
    printf("  softplus on [-100, 100]: max rel err %.3g (libm form %.3g), "
           "below 1e-37 max abs err %.3g\n", sr, sl, sa);
    CHECK(sr < 1e-6 && sa < 1e-37, "nn_softplus_forward rel err %g abs err %g", sr, sa);
    float sp[6] = {-1000.0f, -88.0f, 0.0f, 1e-8f, 1000.0f, NAN}, so[6];
    nn_softplus_forward(so, sp, 6);
    CHECK(so[0] == 0.0f && so[1] >= 0.0f && so[1] < 1e-37f &&
              fabsf(so[2] - 0.69314718f) < 1e-7f && fabsf(so[3] - 0.69314719f) < 1e-7f &&
              so[4] == 1000.0f && isnan(so[5]),
          "softplus specials: %g %g %g %g %g %g", so[0], so[1], so[2], so[3], so[4], so[5]);
    free(yl);
    free(x), free(y);
}

int main(void) {
    test_fast_math();
    rng_seed(&rng, 1234);
    test_linear();
    test_act();
    test_gauss_head();
    test_losses();
    return test_summary("test_nn");
}
