// SPDX-License-Identifier: Apache-2.0
// test_mlp.c -- mlp.c: layout, init, the three forward modes, backward vs finite
// differences (parameters and inputs, LINEAR and GAUSS heads, E > 1, input
// normalisation set), a chain of two networks, and mlp_infer1 vs mlp_forward.
#include <stdlib.h>
#include <string.h>

#include "core/mlp.h"
#include "core/rng.h"
#include "test_util.h"
#include "gradcheck.h"

static Rng rng;

static float* randn(long n, float scale, float shift) {
    float* p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) p[i] = shift + scale * rng_normal(&rng);
    return p;
}

static float* zeros(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

static double dot(const float* a, const float* c, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += (double)a[i] * c[i];
    return s;
}

// Random non-trivial input normalisation: fit it to data with mean 2, std 3.
static void set_norm(Mlp* m) {
    float* data = randn(64L * m->n_in, 3.0f, 2.0f);
    mlp_set_input_norm(m, data, 64);
    free(data);
}

// ==== layout, init, normalisation ===================================================

static void test_layout(void) {
    int sizes[4] = {5, 7, 9, 6};
    Mlp* m = mlp_create(3, 3, sizes, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    CHECK(m != NULL, "create");
    long per = 7 * 5 + 7 + 9 * 7 + 9 + 6 * 9 + 6 + 2 * 3;
    CHECK(m->n_member_params == per && m->n_params == 3 * per, "n_params %ld", m->n_params);
    CHECK(m->n_in == 5 && m->n_out == 3, "n_in/n_out");
    CHECK(mlp_weight(m, 0, 0) == m->params, "W0 at 0");
    CHECK(mlp_bias(m, 0, 0) == m->params + 35, "b0 after W0");
    CHECK(mlp_weight(m, 0, 1) == m->params + 42, "W1 after b0");
    CHECK(mlp_weight(m, 2, 0) == m->params + 2 * per, "member 2 offset");
    CHECK(mlp_max_logvar(m, 1) == m->params + per + per - 6, "max_logvar at member end - 2D");
    CHECK(mlp_min_logvar(m, 1) == m->params + 2 * per - 3, "min_logvar last");
    for (int i = 0; i < 5; i++) CHECK(m->in_mean[i] == 0.0f && m->in_std[i] == 1.0f, "norm identity");

    Rng r1, r2;
    rng_seed(&r1, 5), rng_seed(&r2, 5);
    mlp_init(m, &r1);
    Mlp* m2 = mlp_create(3, 3, sizes, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    mlp_init(m2, &r2);
    CHECK(memcmp(m->params, m2->params, sizeof(float) * m->n_params) == 0, "init deterministic");
    int ok = 1;
    for (int e = 0; e < 3; e++)
        for (int l = 0; l < 3; l++) {
            float bound = 1.0f / sqrtf((float)sizes[l]);
            for (long i = 0; i < (long)sizes[l] * sizes[l + 1]; i++)
                if (fabsf(mlp_weight(m, e, l)[i]) > bound) ok = 0;
            for (int i = 0; i < sizes[l + 1]; i++)
                if (mlp_bias(m, e, l)[i] != 0.0f) ok = 0;
        }
    for (int j = 0; j < 3; j++)
        if (mlp_max_logvar(m, 2)[j] != 0.5f || mlp_min_logvar(m, 2)[j] != -10.0f) ok = 0;
    CHECK(ok, "init ranges: |W| <= 1/sqrt(fan_in), b = 0, logvar bounds 0.5/-10");

    // clone / copy / same_shape
    Mlp* c = mlp_clone(m);
    CHECK(c && mlp_same_shape(c, m), "clone same shape");
    CHECK(memcmp(c->params, m->params, sizeof(float) * m->n_params) == 0, "clone params");
    int sizes2[4] = {5, 7, 9, 4};
    Mlp* o = mlp_create(3, 3, sizes2, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    CHECK(!mlp_same_shape(o, m), "different shape detected");
    set_norm(m2);
    mlp_copy(c, m2);
    CHECK(memcmp(c->params, m2->params, sizeof(float) * m->n_params) == 0 &&
              memcmp(c->in_std, m2->in_std, sizeof(float) * 5) == 0,
          "copy params and normalisation");

    // bad shapes rejected
    int odd[3] = {4, 8, 5};
    CHECK(mlp_create(1, 2, odd, NN_ACT_TANH, MLP_HEAD_GAUSS) == NULL, "odd GAUSS width rejected");
    int zero[3] = {4, 0, 5};
    CHECK(mlp_create(1, 2, zero, NN_ACT_TANH, MLP_HEAD_LINEAR) == NULL, "zero width rejected");
    CHECK(mlp_create(0, 2, odd, NN_ACT_TANH, MLP_HEAD_LINEAR) == NULL, "0 members rejected");
    CHECK(mlp_create(1, 0, odd, NN_ACT_TANH, MLP_HEAD_LINEAR) == NULL, "0 layers rejected");

    // set_input_norm: per-column mean and population std; constant column -> std 1
    float x[4 * 3] = {1, 5, 2, 3, 5, 2, 5, 5, 2, 7, 5, 2};
    int s3[2] = {3, 2};
    Mlp* n = mlp_create(1, 1, s3, NN_ACT_LINEAR, MLP_HEAD_LINEAR);
    mlp_set_input_norm(n, x, 4);
    CHECK_NEAR(n->in_mean[0], 4.0, 1e-6, "mean col 0");
    CHECK_NEAR(n->in_std[0], sqrt(5.0), 1e-6, "std col 0");
    CHECK(n->in_mean[1] == 5.0f && n->in_std[1] == 1.0f, "constant column std 1");

    mlp_free(m), mlp_free(m2), mlp_free(c), mlp_free(o), mlp_free(n);
}

// ==== gradients of one network =======================================================

enum { MODE_FORWARD, MODE_SHARED, MODE_GROUPED };

typedef struct {
    Mlp* m;
    MlpWork* w;
    int mode, B;
    const int* row_off;
    float *inp, *cm, *cl;   // inp; loss coefficients for mean and logvar (rows, n_out)
} NetCtx;

static int ctx_rows(const NetCtx* k) {
    return k->mode == MODE_GROUPED ? k->row_off[k->m->n_members] : k->m->n_members * k->B;
}

static void ctx_forward(NetCtx* k) {
    if (k->mode == MODE_FORWARD) mlp_forward(k->m, k->w, k->inp, k->B);
    else if (k->mode == MODE_SHARED) mlp_forward_shared(k->m, k->w, k->inp, k->B);
    else mlp_forward_grouped(k->m, k->w, k->inp, k->row_off);
}

static double net_loss(void* p) {
    NetCtx* k = p;
    ctx_forward(k);
    long n = (long)ctx_rows(k) * k->m->n_out;
    double L = dot(mlp_work_out(k->w), k->cm, n);
    if (k->m->head == MLP_HEAD_GAUSS) L += dot(mlp_work_logvar(k->w), k->cl, n);
    return L;
}

static void check_net(const char* name, int E, MlpHead head, NnAct act, int mode) {
    int sizes[4] = {5, 12, 10, head == MLP_HEAD_GAUSS ? 6 : 3};
    Mlp* m = mlp_create(E, 3, sizes, act, head);
    mlp_init(m, &rng);
    set_norm(m);
    if (head == MLP_HEAD_GAUSS)   // logvar bounds close to typical outputs so both softplus terms matter
        for (int e = 0; e < E; e++)
            for (int j = 0; j < m->n_out; j++) mlp_max_logvar(m, e)[j] = 0.3f, mlp_min_logvar(m, e)[j] = -0.5f;
    int B = 4;
    int row_off[4] = {0, 3, 3, 7};   // grouped (E = 3): member 1 gets no rows
    NetCtx k = {.m = m, .mode = mode, .B = B, .row_off = row_off};
    if (mode == MODE_GROUPED) row_off[E] = E == 3 ? 7 : 5;
    if (mode == MODE_GROUPED && E != 3) row_off[1] = E == 1 ? 5 : row_off[1];
    int rows = ctx_rows(&k);
    int in_rows = mode == MODE_SHARED ? B : rows;
    k.w = mlp_work_create(m, rows);
    k.inp = randn((long)in_rows * m->n_in, 3.0f, 2.0f);
    k.cm = randn((long)rows * m->n_out, 1.0f, 0.0f);
    k.cl = randn((long)rows * m->n_out, 1.0f, 0.0f);

    float* grad = zeros(m->n_params);
    float* dinp = zeros((long)in_rows * m->n_in);
    ctx_forward(&k);
    float* cm_copy = malloc(sizeof(float) * rows * m->n_out);
    memcpy(cm_copy, k.cm, sizeof(float) * rows * m->n_out);
    mlp_backward(m, k.w, grad, dinp, k.cm, head == MLP_HEAD_GAUSS ? k.cl : NULL);
    CHECK(memcmp(cm_copy, k.cm, sizeof(float) * rows * m->n_out) == 0, "%s: dout unchanged", name);
    char what[96];
    snprintf(what, sizeof what, "%s dparams", name);
    grad_check(what, net_loss, &k, m->params, grad, m->n_params, 1, 1e-2f, 3e-2);
    snprintf(what, sizeof what, "%s dinp", name);
    grad_check(what, net_loss, &k, k.inp, dinp, (long)in_rows * m->n_in, 1, 5e-2f, 3e-2);

    // grad = NULL still gives the same dinp; a second backward accumulates
    float* dinp2 = zeros((long)in_rows * m->n_in);
    ctx_forward(&k);
    mlp_backward(m, k.w, NULL, dinp2, k.cm, head == MLP_HEAD_GAUSS ? k.cl : NULL);
    mlp_backward(m, k.w, NULL, dinp2, k.cm, head == MLP_HEAD_GAUSS ? k.cl : NULL);
    double acc = 0.0;
    for (long i = 0; i < (long)in_rows * m->n_in; i++) acc = fmax(acc, fabs(dinp2[i] - 2.0 * dinp[i]));
    CHECK(acc < 1e-4, "%s: dinp without grad, accumulated twice: %g", name, acc);

    free(grad), free(dinp), free(dinp2), free(cm_copy), free(k.inp), free(k.cm), free(k.cl);
    mlp_work_free(k.w);
    mlp_free(m);
}

static void test_grads(void) {
    check_net("E1 linear tanh forward", 1, MLP_HEAD_LINEAR, NN_ACT_TANH, MODE_FORWARD);
    check_net("E1 gauss swish forward", 1, MLP_HEAD_GAUSS, NN_ACT_SWISH, MODE_FORWARD);
    check_net("E3 linear swish forward", 3, MLP_HEAD_LINEAR, NN_ACT_SWISH, MODE_FORWARD);
    check_net("E3 gauss swish forward", 3, MLP_HEAD_GAUSS, NN_ACT_SWISH, MODE_FORWARD);
    check_net("E3 linear tanh shared", 3, MLP_HEAD_LINEAR, NN_ACT_TANH, MODE_SHARED);
    check_net("E3 gauss swish shared", 3, MLP_HEAD_GAUSS, NN_ACT_SWISH, MODE_SHARED);
    check_net("E3 linear swish grouped(empty)", 3, MLP_HEAD_LINEAR, NN_ACT_SWISH, MODE_GROUPED);
    check_net("E3 gauss tanh grouped(empty)", 3, MLP_HEAD_GAUSS, NN_ACT_TANH, MODE_GROUPED);
    check_net("E2 gauss linear-act forward", 2, MLP_HEAD_GAUSS, NN_ACT_LINEAR, MODE_FORWARD);
}

// ==== chain of two networks: out = g(f(x)) ==========================================

typedef struct {
    Mlp *f, *g;
    MlpWork *wf, *wg;
    float *x, *cm, *cl;
    int B;
} ChainCtx;

static double chain_loss(void* p) {
    ChainCtx* k = p;
    mlp_forward(k->f, k->wf, k->x, k->B);
    mlp_forward_shared(k->g, k->wg, mlp_work_out(k->wf), k->B);   // g has 2 members on f's output
    long n = (long)k->g->n_members * k->B * k->g->n_out;
    return dot(mlp_work_out(k->wg), k->cm, n) + dot(mlp_work_logvar(k->wg), k->cl, n);
}

static void test_chain(void) {
    int fs[3] = {4, 9, 5}, gs[4] = {5, 8, 7, 6};
    ChainCtx k = {.B = 3};
    k.f = mlp_create(1, 2, fs, NN_ACT_TANH, MLP_HEAD_LINEAR);
    k.g = mlp_create(2, 3, gs, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    mlp_init(k.f, &rng), mlp_init(k.g, &rng);
    set_norm(k.f), set_norm(k.g);
    for (int e = 0; e < 2; e++)
        for (int j = 0; j < 3; j++) mlp_max_logvar(k.g, e)[j] = 0.2f, mlp_min_logvar(k.g, e)[j] = -0.3f;
    k.wf = mlp_work_create(k.f, k.B), k.wg = mlp_work_create(k.g, 2 * k.B);
    k.x = randn(k.B * 4, 3.0f, 2.0f);
    k.cm = randn(2 * k.B * 3, 1.0f, 0.0f), k.cl = randn(2 * k.B * 3, 1.0f, 0.0f);

    float *gf = zeros(k.f->n_params), *gg = zeros(k.g->n_params);
    float *dy = zeros(k.B * 5), *dx = zeros(k.B * 4);
    chain_loss(&k);
    mlp_backward(k.g, k.wg, gg, dy, k.cm, k.cl);   // dL/dy, y = f(x), summed over g's members
    mlp_backward(k.f, k.wf, gf, dx, dy, NULL);
    grad_check("chain g(f(x)) dx", chain_loss, &k, k.x, dx, k.B * 4, 1, 5e-2f, 3e-2);
    grad_check("chain g(f(x)) df_params", chain_loss, &k, k.f->params, gf, k.f->n_params, 1, 1e-2f, 3e-2);
    grad_check("chain g(f(x)) dg_params", chain_loss, &k, k.g->params, gg, k.g->n_params, 1, 1e-2f, 3e-2);
    free(gf), free(gg), free(dy), free(dx), free(k.x), free(k.cm), free(k.cl);
    mlp_work_free(k.wf), mlp_work_free(k.wg), mlp_free(k.f), mlp_free(k.g);
}

// ==== modes agree; infer1 agrees with forward ========================================

static double rel_diff(const float* a, const float* b, long n) {
    double m = 0.0, s = 0.0;
    for (long i = 0; i < n; i++) {
        m = fmax(m, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return m / (s + 1e-30);
}

static void test_modes_and_infer1(void) {
    int sizes[4] = {17, 256, 256, 24};
    const int E = 3, B = 7;
    Mlp* m = mlp_create(E, 3, sizes, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    mlp_init(m, &rng);
    set_norm(m);
    MlpWork* w = mlp_work_create(m, E * B);
    float* x = randn((long)B * 17, 3.0f, 2.0f);
    float* tiled = malloc(sizeof(float) * E * B * 17);
    for (int e = 0; e < E; e++) memcpy(tiled + (long)e * B * 17, x, sizeof(float) * B * 17);
    long n = (long)E * B * 12;
    float *o1 = malloc(sizeof(float) * n), *l1 = malloc(sizeof(float) * n);
    mlp_forward(m, w, tiled, B);
    CHECK(mlp_work_rows(w) == E * B, "rows");
    memcpy(o1, mlp_work_out(w), sizeof(float) * n), memcpy(l1, mlp_work_logvar(w), sizeof(float) * n);
    mlp_forward_shared(m, w, x, B);
    CHECK(memcmp(o1, mlp_work_out(w), sizeof(float) * n) == 0 &&
              memcmp(l1, mlp_work_logvar(w), sizeof(float) * n) == 0,
          "shared == forward on tiled input (bitwise)");
    int ro[4] = {0, B, 2 * B, 3 * B};
    mlp_forward_grouped(m, w, tiled, ro);
    CHECK(memcmp(o1, mlp_work_out(w), sizeof(float) * n) == 0, "grouped == forward (bitwise)");

    // infer1 for every member and row
    long ns = mlp_infer1_scratch_floats(m);
    float* scratch = malloc(sizeof(float) * ns);
    float y[12], lv[12], y2[12];
    double worst = 0.0, worst_lv = 0.0;
    for (int e = 0; e < E; e++)
        for (int b = 0; b < B; b++) {
            mlp_infer1(m, e, x + b * 17, y, lv, scratch);
            mlp_infer1(m, e, x + b * 17, y2, NULL, scratch);
            worst = fmax(worst, rel_diff(y, o1 + ((long)e * B + b) * 12, 12));
            worst_lv = fmax(worst_lv, rel_diff(lv, l1 + ((long)e * B + b) * 12, 12));
            CHECK(memcmp(y, y2, sizeof y) == 0, "infer1 mean independent of ret_logvar");
        }
    printf("  infer1 vs forward (17-256-256-24 gauss, E=3): max rel diff mean %.3g logvar %.3g\n",
           worst, worst_lv);
    CHECK(worst < 1e-5 && worst_lv < 1e-5, "infer1 == forward row: %g %g", worst, worst_lv);

    // grouped with an empty group and uneven groups vs infer1; odd widths hit the tail loops
    int s2[3] = {13, 37, 5};
    Mlp* m2 = mlp_create(3, 2, s2, NN_ACT_TANH, MLP_HEAD_LINEAR);
    mlp_init(m2, &rng);
    set_norm(m2);
    MlpWork* w2 = mlp_work_create(m2, 9);
    float* x2 = randn(9 * 13, 3.0f, 2.0f);
    int ro2[4] = {0, 0, 4, 9};
    mlp_forward_grouped(m2, w2, x2, ro2);
    float* s2buf = malloc(sizeof(float) * mlp_infer1_scratch_floats(m2));
    worst = 0.0;
    for (int e = 0; e < 3; e++)
        for (int r = ro2[e]; r < ro2[e + 1]; r++) {
            float yy[5];
            mlp_infer1(m2, e, x2 + r * 13, yy, NULL, s2buf);
            worst = fmax(worst, rel_diff(yy, mlp_work_out(w2) + r * 5, 5));
        }
    printf("  infer1 vs grouped (13-37-5 tanh, groups 0/4/5): max rel diff %.3g\n", worst);
    CHECK(worst < 1e-5, "grouped rows == infer1 of their member: %g", worst);

    free(x), free(tiled), free(o1), free(l1), free(scratch), free(x2), free(s2buf);
    mlp_work_free(w), mlp_work_free(w2), mlp_free(m), mlp_free(m2);
}

// The _mean forwards: same mean as the full forwards (a narrower last-layer sgemm,
// the same dot products), in all three modes, with uneven and empty groups; LINEAR
// heads are unchanged bit for bit; a full forward after a _mean one is unaffected.
static void test_mean_only(void) {
    int sizes[4] = {23, 64, 48, 36};
    const int E = 4, B = 29, D = 18;
    Mlp* m = mlp_create(E, 3, sizes, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    mlp_init(m, &rng);
    set_norm(m);
    MlpWork* w = mlp_work_create(m, E * B);
    float* x = randn((long)E * B * 23, 2.0f, 0.5f);
    long n = (long)E * B * D;
    float *mu = malloc(sizeof(float) * n), *lv = malloc(sizeof(float) * n);
    double worst = 0.0;
    for (int mode = 0; mode < 3; mode++) {
        int ro[5] = {0, 0, 31, 31 + 40, E * B};   // empty, uneven groups (grouped mode)
        if (mode == 0) mlp_forward(m, w, x, B);
        if (mode == 1) mlp_forward_shared(m, w, x, B);
        if (mode == 2) mlp_forward_grouped(m, w, x, ro);
        int rows = mlp_work_rows(w);
        memcpy(mu, mlp_work_out(w), sizeof(float) * (size_t)rows * D);
        memcpy(lv, mlp_work_logvar(w), sizeof(float) * (size_t)rows * D);
        if (mode == 0) mlp_forward_mean(m, w, x, B);
        if (mode == 1) mlp_forward_shared_mean(m, w, x, B);
        if (mode == 2) mlp_forward_grouped_mean(m, w, x, ro);
        CHECK(mlp_work_rows(w) == rows, "mean-only rows (mode %d)", mode);
        double d = rel_diff(mlp_work_out(w), mu, (long)rows * D);
        worst = fmax(worst, d);
        CHECK(d < 1e-6, "mean-only mean == full mean (mode %d): %g", mode, d);
        // the full forward again: same mean and logvar as before
        if (mode == 0) mlp_forward(m, w, x, B);
        if (mode == 1) mlp_forward_shared(m, w, x, B);
        if (mode == 2) mlp_forward_grouped(m, w, x, ro);
        CHECK(memcmp(mlp_work_out(w), mu, sizeof(float) * (size_t)rows * D) == 0 &&
                  memcmp(mlp_work_logvar(w), lv, sizeof(float) * (size_t)rows * D) == 0,
              "full forward after a mean-only one (mode %d)", mode);
    }
    printf("  mean-only forward vs full forward mean (23-64-48-36 gauss, E=4): max rel diff %.3g\n",
           worst);
    // a trained-looking mean: check a few entries actually differ from zero
    CHECK(fabs(mu[0]) > 0.0 && fabs(mu[n / 2]) > 0.0, "mean not trivially zero");

    int s2[3] = {13, 37, 5};
    Mlp* m2 = mlp_create(2, 2, s2, NN_ACT_TANH, MLP_HEAD_LINEAR);
    mlp_init(m2, &rng);
    MlpWork* w2 = mlp_work_create(m2, 2 * 11);
    float* x2 = randn(2 * 11 * 13, 1.0f, 0.0f);
    float o2[2 * 11 * 5];
    mlp_forward(m2, w2, x2, 11);
    memcpy(o2, mlp_work_out(w2), sizeof o2);
    mlp_forward_mean(m2, w2, x2, 11);
    CHECK(memcmp(o2, mlp_work_out(w2), sizeof o2) == 0, "LINEAR head: mean-only == forward");
    free(x), free(mu), free(lv), free(x2);
    mlp_work_free(w), mlp_work_free(w2), mlp_free(m), mlp_free(m2);
}

// mlp_work_create_infer: the _mean forwards on the feature-major (AVX-512 where the
// CPU has it) path agree with the full sgemm forwards to float rounding: GAUSS and
// LINEAR heads, odd widths (W row tails, 16-column padding), B = 1, uneven and
// empty groups, shared input; a full forward on such a work still works.
static void check_infer(const char* name, int E, int L, const int* sizes, NnAct act,
                        MlpHead head, int B) {
    Mlp* m = mlp_create(E, L, sizes, act, head);
    mlp_init(m, &rng);
    for (long i = 0; i < m->n_params; i++) m->params[i] += 0.01f * (float)((i % 7) - 3);
    set_norm(m);
    int D = m->n_out, n_in = m->n_in;
    MlpWork* wf = mlp_work_create(m, E * B);
    MlpWork* wi = mlp_work_create_infer(m, E * B);
    MlpWork* wd = mlp_work_create_fwd(m, E * B);
    CHECK(wf && wi && wd, "%s: works", name);
    float* x = randn((long)E * B * n_in, 2.0f, 0.3f);
    long n = (long)E * B * D;
    float* ref = malloc(sizeof(float) * n);
    double worst = 0.0, worst_fwd = 0.0;
    for (int mode = 0; mode < 3; mode++) {
        int ro[17];   // grouped: uneven groups (B + e rows), member 1 empty, the last the rest
        ro[0] = 0;
        for (int e = 0; e < E; e++) ro[e + 1] = e == 1 ? ro[e] : (e == E - 1 ? E * B : ro[e] + B + e);
        if (ro[E - 1] > E * B) ro[E - 1] = E * B;
        for (int e = 1; e < E; e++)
            if (ro[e] > ro[E]) ro[e] = ro[E];
        if (mode == 0) mlp_forward(m, wf, x, B), mlp_forward_mean(m, wi, x, B);
        if (mode == 1) mlp_forward_shared(m, wf, x, B), mlp_forward_shared_mean(m, wi, x, B);
        if (mode == 2) mlp_forward_grouped(m, wf, x, ro), mlp_forward_grouped_mean(m, wi, x, ro);
        int rows = mlp_work_rows(wf);
        CHECK(mlp_work_rows(wi) == rows, "%s: rows (mode %d)", name, mode);
        memcpy(ref, mlp_work_out(wf), sizeof(float) * (size_t)rows * D);
        double d = rel_diff(mlp_work_out(wi), ref, (long)rows * D);
        worst = fmax(worst, d);
        CHECK(d < 1e-5, "%s: infer mean == forward mean (mode %d): %g", name, mode, d);
        // the same work, full forward: bitwise the plain work's result
        if (mode == 0) mlp_forward(m, wi, x, B);
        if (mode == 1) mlp_forward_shared(m, wi, x, B);
        if (mode == 2) mlp_forward_grouped(m, wi, x, ro);
        CHECK(memcmp(mlp_work_out(wi), ref, sizeof(float) * (size_t)rows * D) == 0,
              "%s: full forward on an infer work (mode %d)", name, mode);
        // forward-only work: the full forward (mean and logvar) to float rounding
        if (mode == 0) mlp_forward(m, wd, x, B);
        if (mode == 1) mlp_forward_shared(m, wd, x, B);
        if (mode == 2) mlp_forward_grouped(m, wd, x, ro);
        CHECK(mlp_work_rows(wd) == rows, "%s: fwd-work rows (mode %d)", name, mode);
        d = rel_diff(mlp_work_out(wd), ref, (long)rows * D);
        if (head == MLP_HEAD_GAUSS)
            d = fmax(d, rel_diff(mlp_work_logvar(wd), mlp_work_logvar(wf), (long)rows * D));
        worst_fwd = fmax(worst_fwd, d);
        CHECK(d < 1e-5, "%s: fwd-work forward == forward (mode %d): %g", name, mode, d);
    }
    printf("  fwd-work full forward vs sgemm forward (%s, B=%d): max rel diff %.3g\n", name, B,
           worst_fwd);
    printf("  infer-work mean-only vs sgemm forward (%s, B=%d): max rel diff %.3g\n", name, B,
           worst);
    free(x), free(ref);
    mlp_work_free(wf), mlp_work_free(wi), mlp_work_free(wd), mlp_free(m);
}

static void test_infer_work(void) {
    int a[6] = {23, 200, 200, 200, 200, 36};   // the dynamics model
    check_infer("23-4x200-36 swish gauss E=3", 3, 5, a, NN_ACT_SWISH, MLP_HEAD_GAUSS, 70);
    int b[4] = {17, 256, 256, 12};             // the policy
    check_infer("17-256-256-12 relu linear E=1", 1, 3, b, NN_ACT_RELU, MLP_HEAD_LINEAR, 45);
    int c[4] = {23, 256, 256, 1};              // the twin Qs
    check_infer("23-256-256-1 relu linear E=2", 2, 3, c, NN_ACT_RELU, MLP_HEAD_LINEAR, 33);
    int d[3] = {5, 13, 6};                     // odd widths everywhere, tanh
    check_infer("5-13-6 tanh gauss E=4", 4, 2, d, NN_ACT_TANH, MLP_HEAD_GAUSS, 1);
    check_infer("5-13-6 tanh gauss E=4", 4, 2, d, NN_ACT_TANH, MLP_HEAD_GAUSS, 17);
}

// mlp_work_create_fast: forward AND backward on the feature-major path (where the CPU
// has AVX-512) agree with a plain work's to float rounding: outputs, parameter gradient
// and input gradient, GAUSS (dmean and dlogvar) and LINEAR heads, all three modes with
// uneven and empty groups, odd widths; then a mean-only forward on the same work.
static void check_fast(const char* name, int E, int L, const int* sizes, NnAct act,
                       MlpHead head, int B) {
    Mlp* m = mlp_create(E, L, sizes, act, head);
    mlp_init(m, &rng);
    for (long i = 0; i < m->n_params; i++) m->params[i] += 0.01f * (float)((i % 7) - 3);
    set_norm(m);
    int D = m->n_out, n_in = m->n_in;
    MlpWork* wp = mlp_work_create(m, E * B);
    MlpWork* wf = mlp_work_create_fast(m, E * B);
    CHECK(wp && wf, "%s: works", name);
    long n = (long)E * B * D, ni = (long)E * B * n_in;
    float* x = randn(ni, 2.0f, 0.3f);
    float* dout = randn(n, 1.0f, 0.0f);
    float* dlv = randn(n, 0.5f, 0.0f);
    float *gp = calloc((size_t)m->n_params, sizeof(float)), *gf = calloc((size_t)m->n_params, sizeof(float));
    float *dxp = calloc((size_t)ni, sizeof(float)), *dxf = calloc((size_t)ni, sizeof(float));
    double worst_o = 0, worst_g = 0, worst_x = 0;
    for (int mode = 0; mode < 3; mode++) {
        int ro[17];
        ro[0] = 0;
        for (int e = 0; e < E; e++) ro[e + 1] = e == 1 ? ro[e] : (e == E - 1 ? E * B : ro[e] + B + e);
        for (int e = 1; e < E; e++)
            if (ro[e] > ro[E]) ro[e] = ro[E];
        MlpWork* ws[2] = {wp, wf};
        for (int k = 0; k < 2; k++) {
            if (mode == 0) mlp_forward(m, ws[k], x, B);
            if (mode == 1) mlp_forward_shared(m, ws[k], x, B);
            if (mode == 2) mlp_forward_grouped(m, ws[k], x, ro);
        }
        int rows = mlp_work_rows(wp);
        worst_o = fmax(worst_o, rel_diff(mlp_work_out(wf), mlp_work_out(wp), (long)rows * D));
        memset(gp, 0, sizeof(float) * (size_t)m->n_params);
        memset(gf, 0, sizeof(float) * (size_t)m->n_params);
        memset(dxp, 0, sizeof(float) * (size_t)ni);
        memset(dxf, 0, sizeof(float) * (size_t)ni);
        const float* lv = head == MLP_HEAD_GAUSS ? dlv : NULL;
        mlp_backward(m, wp, gp, dxp, dout, lv);
        mlp_backward(m, wf, gf, dxf, dout, lv);
        worst_g = fmax(worst_g, rel_diff(gf, gp, m->n_params));
        worst_x = fmax(worst_x, rel_diff(dxf, dxp, mode == 1 ? (long)B * n_in : (long)rows * n_in));
    }
    printf("  fast work vs plain (%s, B=%d): max rel diff out %.3g grad %.3g dinp %.3g\n", name,
           B, worst_o, worst_g, worst_x);
    CHECK(worst_o < 1e-5 && worst_g < 1e-4 && worst_x < 1e-4, "%s: fast == plain: %g %g %g",
          name, worst_o, worst_g, worst_x);
    mlp_forward_mean(m, wf, x, B);   // a mean-only forward on a fast work still works
    mlp_forward(m, wp, x, B);
    CHECK(rel_diff(mlp_work_out(wf), mlp_work_out(wp), (long)E * B * D) < 1e-5,
          "%s: mean-only on a fast work", name);
    free(x), free(dout), free(dlv), free(gp), free(gf), free(dxp), free(dxf);
    mlp_work_free(wp), mlp_work_free(wf), mlp_free(m);
}

static void test_fast_work(void) {
    int a[6] = {23, 200, 200, 200, 200, 34};   // the dynamics model
    check_fast("23-4x200-34 swish gauss E=3", 3, 5, a, NN_ACT_SWISH, MLP_HEAD_GAUSS, 37);
    int b[4] = {17, 256, 256, 12};             // the policy
    check_fast("17-256-256-12 tanh linear E=1", 1, 3, b, NN_ACT_TANH, MLP_HEAD_LINEAR, 45);
    int c[4] = {23, 256, 256, 1};              // the twin Qs
    check_fast("23-256-256-1 relu linear E=2", 2, 3, c, NN_ACT_RELU, MLP_HEAD_LINEAR, 33);
    int d[3] = {5, 13, 6};                     // odd widths, one row
    check_fast("5-13-6 swish gauss E=4", 4, 2, d, NN_ACT_SWISH, MLP_HEAD_GAUSS, 1);
    mlp_set_feature_major(0);   // the sgemm fallback of a fast work (CPUs without AVX-512)
    check_fast("23-4x200-34 swish gauss E=3, sgemm path", 3, 5, a, NN_ACT_SWISH,
               MLP_HEAD_GAUSS, 37);
    mlp_set_feature_major(1);
}

int main(void) {
    rng_seed(&rng, 2024);
    test_layout();
    test_grads();
    test_chain();
    test_modes_and_infer1();
    test_mean_only();
    test_infer_work();
    test_fast_work();
    return test_summary("test_mlp");
}
