// SPDX-License-Identifier: Apache-2.0
// fig2.c -- Figure 2 of the paper: gradient error against H on the double integrator,
// with the true and with learned dynamics (fig2.h).
//
// The set-up is test_di_gradient's (which checks it): a linear policy a = K s written
// as the tanh-Gaussian policy with a huge action scale and a tiny clipped std; a twin Q
// regressed on closed-form Q^K values (so it has error); start states every H+1 steps
// along the true closed-loop trajectory with weight gamma^t, under which the estimate
// equals dJ/dK for every H when Q = Q^K. The true-dynamics curve then shows the Q
// error only. The learned-dynamics curve uses the same Q, the same start states and
// the same noise, with the model replaced by a linear model [A B] fitted by least
// squares to model_rows transitions whose next states carry Gaussian noise
// (model_noise): its error enters every imagined step, so it grows with H while the Q
// error's weight falls. H = 0 uses no model: both curves start at the same value.
#include "cli/fig2.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/adam.h"
#include "core/maac.h"
#include "sim/double_integrator.h"
#include "sim/plant_builtin.h"

enum { NS = 2, NA = 1, NX = NS + NA };
static const double KPOL[NS] = {-3.0, -2.0};

void fig2_config_default(Fig2Config* c) {
    c->seed = 0;
    c->hmax = 10;
    c->n_start = 512;
    c->q_steps = 3000;
    c->model_rows = 64;
    c->model_noise = 0.02;
}

static void closed_loop(const DiModel* m, double* s) {
    double a = KPOL[0] * s[0] + KPOL[1] * s[1], s2[NS];
    for (int i = 0; i < NS; i++)
        s2[i] = m->A[i * NS] * s[0] + m->A[i * NS + 1] * s[1] + m->B[i] * a;
    memcpy(s, s2, sizeof s2);
}

// n start states ~ N(mu0, Sigma0), moment-matched (sample mean and covariance exact).
static void start_states(const DiModel* m, Rng* rng, double* s0, int n) {
    double mu[NS] = {0, 0}, C[3] = {0, 0, 0};
    for (int b = 0; b < n; b++)
        for (int i = 0; i < NS; i++)
            s0[b * NS + i] = rng_normal(rng), mu[i] += s0[b * NS + i] / n;
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < NS; i++)
            s0[b * NS + i] -= mu[i];
        C[0] += s0[b * NS] * s0[b * NS] / n;
        C[1] += s0[b * NS] * s0[b * NS + 1] / n;
        C[2] += s0[b * NS + 1] * s0[b * NS + 1] / n;
    }
    double l00 = sqrt(C[0]), l10 = C[1] / l00, l11 = sqrt(C[2] - l10 * l10);
    double S00 = sqrt(m->Sigma0[0]), S10 = m->Sigma0[2] / S00;
    double S11 = sqrt(m->Sigma0[3] - S10 * S10);
    for (int b = 0; b < n; b++) {
        double w0 = s0[b * NS] / l00, w1 = (s0[b * NS + 1] - l10 * w0) / l11;
        s0[b * NS] = m->mu0[0] + S00 * w0;
        s0[b * NS + 1] = m->mu0[1] + S10 * w0 + S11 * w1;
    }
}

// Steps until gamma^t |s_t|^2 < 1e-9 |s_0|^2 along the closed loop.
static int trajectory_length(const DiModel* m) {
    double s[NS] = {1.5, 1.5}, n0 = 4.5, disc = 1;
    int T = 0;
    while (disc * (s[0] * s[0] + s[1] * s[1]) > 1e-9 * n0 && T < 20000) {
        closed_loop(m, s);
        disc *= m->gamma;
        T++;
    }
    return T;
}

// Regress a twin Q (2 x 64 tanh) on Q^K values of closed-loop states with exploratory
// actions; the scale is folded into the last layer. Relative RMS error into *rel.
static QFunction* learn_q(const DiModel* m, const double* P, const double* s0, int n_start,
                          int steps, Rng* rng, double* rel) {
    enum { NB = 256 };
    int hid[2] = {64, 64};
    QFunction* q = qf_create(NS, NA, 2, hid, NN_ACT_TANH, rng);
    float* g = q ? calloc((size_t)q->net->n_params, sizeof(float)) : NULL;
    QfWork* w = q ? qf_work_create(q, NB) : NULL;
    Adam* opt = q ? adam_create(q->net->n_params, 3e-3f) : NULL;
    if (!q || !g || !w || !opt) {
        free(g), qf_work_free(w), adam_free(opt), qf_free(q);
        return NULL;
    }
    double qscale = 0;
    for (int i = 0; i < 1000; i++) {
        const double* s = s0 + (i % n_start) * NS;
        double a = KPOL[0] * s[0] + KPOL[1] * s[1];
        double v = di_q_value(m, P, s, &a, NULL, NULL);
        qscale += v * v / 1000;
    }
    qscale = sqrt(qscale);
    float xs[NB * NS], xa[NB * NA], ys[NB], qo[2 * NB], dq[2 * NB];
    for (int it = 0; it < steps; it++) {
        for (int b = 0; b < NB; b++) {
            double s[NS] = {m->mu0[0] + 0.5 * rng_normal(rng), 0.5 * rng_normal(rng)};
            int k = (int)rng_below(rng, 120);
            while (k-- > 0)
                closed_loop(m, s);
            double a = KPOL[0] * s[0] + KPOL[1] * s[1] + 0.3 * rng_normal(rng);
            xs[b * NS] = (float)s[0], xs[b * NS + 1] = (float)s[1], xa[b] = (float)a;
            ys[b] = (float)(di_q_value(m, P, s, &a, NULL, NULL) / qscale);
        }
        qf_forward(q, w, qo, xs, xa, NB);
        for (int j = 0; j < 2; j++)
            for (int b = 0; b < NB; b++)
                dq[j * NB + b] = (qo[j * NB + b] - ys[b]) / NB;
        memset(g, 0, sizeof(float) * (size_t)q->net->n_params);
        qf_backward(q, w, g, NULL, NULL, dq);
        adam_step(opt, q->net->params, g);
    }
    double mse = 0;
    for (int b = 0; b < NB; b++)
        mse += (qo[b] - ys[b]) * (qo[b] - ys[b]) / NB;
    *rel = sqrt(mse);
    for (int j = 0; j < 2; j++) {
        int L = q->net->n_layers;
        float* W = mlp_weight(q->net, j, L - 1);
        for (int i = 0; i < q->net->sizes[L - 1]; i++)
            W[i] *= (float)qscale;
        mlp_bias(q->net, j, L - 1)[0] *= (float)qscale;
    }
    free(g), qf_work_free(w), adam_free(opt);
    return q;
}

// Least-squares [A B] from `rows` transitions (s from rho_0 run along the closed loop,
// a = K s + exploration, s' = A s + B a + noise). Returns max |entry error|.
static double fit_model(const DiModel* m, int rows, double noise, Rng* rng, float* Af,
                        float* Bf) {
    double G[NX * NX] = {0}, R[NX * NS] = {0};
    for (int n = 0; n < rows; n++) {
        double s[NS] = {m->mu0[0] + 0.5 * rng_normal(rng), 0.5 * rng_normal(rng)};
        int k = (int)rng_below(rng, 60);
        while (k-- > 0)
            closed_loop(m, s);
        double a = KPOL[0] * s[0] + KPOL[1] * s[1] + 0.5 * rng_normal(rng);
        double x[NX] = {s[0], s[1], a}, y[NS];
        di_step(m, y, s, &a);
        for (int i = 0; i < NS; i++)
            y[i] += noise * rng_normal(rng);
        for (int i = 0; i < NX; i++) {
            for (int j = 0; j < NX; j++)
                G[i * NX + j] += x[i] * x[j];
            for (int j = 0; j < NS; j++)
                R[i * NS + j] += x[i] * y[j];
        }
    }
    // Solve G W = R (3 x 3, Gauss-Jordan with partial pivoting); W = [A B]^T.
    for (int c = 0; c < NX; c++) {
        int p = c;
        for (int r = c + 1; r < NX; r++)
            if (fabs(G[r * NX + c]) > fabs(G[p * NX + c]))
                p = r;
        for (int j = 0; j < NX; j++) {
            double t = G[c * NX + j]; G[c * NX + j] = G[p * NX + j]; G[p * NX + j] = t;
        }
        for (int j = 0; j < NS; j++) {
            double t = R[c * NS + j]; R[c * NS + j] = R[p * NS + j]; R[p * NS + j] = t;
        }
        for (int r = 0; r < NX; r++) {
            if (r == c)
                continue;
            double f = G[r * NX + c] / G[c * NX + c];
            for (int j = 0; j < NX; j++)
                G[r * NX + j] -= f * G[c * NX + j];
            for (int j = 0; j < NS; j++)
                R[r * NS + j] -= f * R[c * NS + j];
        }
    }
    double worst = 0;
    for (int i = 0; i < NS; i++) {   // row i of [A B] = column i of W
        for (int j = 0; j < NS; j++) {
            Af[i * NS + j] = (float)(R[j * NS + i] / G[j * NX + j]);
            worst = fmax(worst, fabs(Af[i * NS + j] - m->A[i * NS + j]));
        }
        Bf[i] = (float)(R[NS * NS + i] / G[NS * NX + NS]);
        worst = fmax(worst, fabs(Bf[i] - m->B[i]));
    }
    return worst;
}

// The block-chained MAAC estimate of dJ/dK for horizon H on dynamics dyn (fig2.c top).
static int estimate(const DiModel* m, const MaacDynamics* dyn, const Policy* pi,
                    const QFunction* q, const double* s0, int n, int T, int H, float c,
                    unsigned long long seed, double* g) {
    PlantModel rew;   // the double integrator's reward and its gradients
    MaacErr me = {""};
    if (sim_plant_model_by_name("double_integrator", &rew, &me) != 0) return -EINVAL;
    MaacConfig cfg = {H, 1, 1, (float)m->gamma, 1, 0};
    MaacActor* ma = maac_actor_create(&cfg, dyn, &rew, pi, q, n);
    double* st = malloc((size_t)n * NS * sizeof(double));
    float* sb = malloc((size_t)n * NS * sizeof(float));
    float* grad = calloc((size_t)pi->net->n_params, sizeof(float));
    if (!ma || !st || !sb || !grad) {
        maac_actor_free(ma), free(st), free(sb), free(grad);
        return -ENOMEM;
    }
    Rng rng;
    rng_seed(&rng, seed);
    memcpy(st, s0, (size_t)n * NS * sizeof(double));
    double disc = 1;
    g[0] = g[1] = 0;
    for (int t = 0; t < T; t += H + 1) {
        for (int i = 0; i < n * NS; i++)
            sb[i] = (float)st[i];
        maac_actor_draw(ma, &rng, n);
        memset(grad, 0, sizeof(float) * (size_t)pi->net->n_params);
        maac_actor_forward(ma, pi, q, sb, n, 0.0f);
        maac_actor_backward(ma, pi, q, grad, NULL);
        for (int i = 0; i < NS; i++)
            g[i] += disc * -grad[i] / c;   // W row 0 = mu
        for (int k = 0; k <= H; k++) {
            for (int b = 0; b < n; b++)
                closed_loop(m, st + b * NS);
            disc *= m->gamma;
        }
    }
    maac_actor_free(ma), free(st), free(sb), free(grad);
    return 0;
}

int fig2_run(const Fig2Config* c, Fig2Result* ret, MaacErr* reterr) {
    if (c->hmax < 0 || c->hmax > FIG2_HMAX || c->n_start < 8 || c->q_steps < 1 ||
        c->model_rows < NX || !(c->model_noise >= 0))
        return maac_err(reterr, -EINVAL, "fig2: bad settings");
    memset(ret, 0, sizeof(*ret));
    DiModel m;
    di_default(&m);
    double J, dJdK[NS], P[NS * NS], Sig[NS * NS];
    if (di_return_grad(&m, KPOL, &J, dJdK, P, Sig) != 0)
        return maac_err(reterr, -EDOM, "fig2: the policy gain does not stabilise");
    ret->grad_l1 = fabs(dJdK[0]) + fabs(dJdK[1]);
    Rng rng;
    rng_seed(&rng, 2024 + c->seed);
    double* s0 = malloc((size_t)c->n_start * NS * sizeof(double));
    if (!s0)
        return maac_err(reterr, -ENOMEM, "out of memory");
    start_states(&m, &rng, s0, c->n_start);
    int T = trajectory_length(&m);
    QFunction* q = learn_q(&m, P, s0, c->n_start, c->q_steps, &rng, &ret->q_rel_rms);
    const float scale = 1000.0f;
    float lo[NA] = {-scale}, hi[NA] = {scale};
    Policy* pi = q ? policy_create(NS, NA, 0, NULL, NN_ACT_LINEAR, lo, hi, NULL) : NULL;
    if (!pi) {
        qf_free(q), free(s0);
        return maac_err(reterr, -ENOMEM, "out of memory");
    }
    float* Wp = mlp_weight(pi->net, 0, 0);
    Wp[0] = (float)(KPOL[0] / scale), Wp[1] = (float)(KPOL[1] / scale), Wp[2] = 0, Wp[3] = 0;
    mlp_bias(pi->net, 0, 0)[0] = 0, mlp_bias(pi->net, 0, 0)[1] = -25.0f;
    float At[NS * NS], Bt[NS * NA], Al[NS * NS], Bl[NS * NA];
    for (int i = 0; i < NS * NS; i++)
        At[i] = (float)m.A[i];
    for (int i = 0; i < NS * NA; i++)
        Bt[i] = (float)m.B[i];
    ret->model_err = fit_model(&m, c->model_rows, c->model_noise, &rng, Al, Bl);
    MaacLinearModel lt = {NS, NA, At, Bt}, ll = {NS, NA, Al, Bl};
    MaacDynamics dt, dl;
    maac_dynamics_linear(&dt, &lt);
    maac_dynamics_linear(&dl, &ll);
    int r = 0;
    for (int H = 0; H <= c->hmax && r == 0; H++) {
        double g[NS];
        unsigned long long ns = c->seed * 1000003ULL + (unsigned long long)H;
        if ((r = estimate(&m, &dt, pi, q, s0, c->n_start, T, H, scale, ns, g)) != 0)
            break;
        ret->err_true[H] = fabs(g[0] - dJdK[0]) + fabs(g[1] - dJdK[1]);
        if ((r = estimate(&m, &dl, pi, q, s0, c->n_start, T, H, scale, ns, g)) != 0)
            break;
        ret->err_learned[H] = fabs(g[0] - dJdK[0]) + fabs(g[1] - dJdK[1]);
    }
    policy_free(pi);
    qf_free(q);
    free(s0);
    return r ? maac_err(reterr, r, "out of memory") : 0;
}

// ---- `maac bench fig2` ------------------------------------------------------------

static void fig2_usage(void) {
    fprintf(stderr, "usage: maac bench fig2 [--seeds N] [--hmax H] [--out FILE.csv]\n"
                    "                       [--n-start N] [--q-steps N] [--model-rows N]\n"
                    "                       [--model-noise SIGMA]\n"
                    "CSV (stdout without --out): dynamics,seed,H,l1_error,rel_error\n");
}

// argv[0] is "fig2". 0, 1 (a run failed) or 2 (usage).
int fig2_main(int argc, char** argv) {
    Fig2Config c;
    fig2_config_default(&c);
    int seeds = 3;
    const char* out = NULL;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        char* end = NULL;
        if (!v || strncmp(a, "--", 2) != 0) {
            fig2_usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--out") == 0) {
            out = v;
            continue;
        }
        double x = strtod(v, &end);
        if (end == v || *end || !(x >= 0)) {
            fprintf(stderr, "maac: bad value '%s' for %s\n", v, a);
            return 2;
        }
        if (strcmp(a, "--seeds") == 0) seeds = (int)x;
        else if (strcmp(a, "--hmax") == 0) c.hmax = (int)x;
        else if (strcmp(a, "--n-start") == 0) c.n_start = (int)x;
        else if (strcmp(a, "--q-steps") == 0) c.q_steps = (int)x;
        else if (strcmp(a, "--model-rows") == 0) c.model_rows = (int)x;
        else if (strcmp(a, "--model-noise") == 0) c.model_noise = x;
        else {
            fig2_usage();
            return 2;
        }
    }
    if (seeds < 1 || seeds > 1000) {
        fprintf(stderr, "maac: --seeds must be in [1, 1000]\n");
        return 2;
    }
    FILE* f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "maac: cannot write %s\n", out);
        return 1;
    }
    fprintf(f, "dynamics,seed,H,l1_error,rel_error\n");
    double mt[FIG2_HMAX + 1] = {0}, ml[FIG2_HMAX + 1] = {0};
    int rc = 0;
    for (int s = 0; s < seeds && rc == 0; s++) {
        Fig2Result r = {{0}, {0}, 0, 0, 0};
        MaacErr me = {""};
        c.seed = (unsigned long long)s;
        if (fig2_run(&c, &r, &me) != 0) {
            fprintf(stderr, "maac: %s\n", me.msg);
            rc = 1;
            break;
        }
        fprintf(stderr, "seed %d: learned Q relative RMS error %.3g, learned model max entry "
                        "error %.3g\n", s, r.q_rel_rms, r.model_err);
        for (int H = 0; H <= c.hmax; H++) {
            fprintf(f, "true,%d,%d,%.6g,%.6g\n", s, H, r.err_true[H], r.err_true[H] / r.grad_l1);
            fprintf(f, "learned,%d,%d,%.6g,%.6g\n", s, H, r.err_learned[H],
                    r.err_learned[H] / r.grad_l1);
            mt[H] += r.err_true[H] / seeds;
            ml[H] += r.err_learned[H] / seeds;
        }
    }
    if (rc == 0) {
        fprintf(stderr, "  H   L1 true   L1 learned   (mean of %d seeds)\n", seeds);
        for (int H = 0; H <= c.hmax; H++)
            fprintf(stderr, " %2d  %8.4f  %10.4f\n", H, mt[H], ml[H]);
    }
    if (out && fclose(f) != 0) {
        fprintf(stderr, "maac: writing %s failed\n", out);
        rc = 1;
    }
    return rc;
}
