// SPDX-License-Identifier: Apache-2.0
// test_policy.c -- tanh-Gaussian policy: finite-difference checks of da/dtheta,
// dlogp/dtheta, da/dobs, dlogp/dobs; log-prob against an independent double
// computation and as a normalised density over the scaled action range; log_std
// clipping; batch-1 action vs the batched forward; checkpoint round trip.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/policy.h"
#include "test_util.h"
#include "gradcheck.h"

enum { S = 5, A = 3, B = 7 };
static const float LO[A] = {-1.0f, -2.0f, 0.0f}, HI[A] = {1.0f, 2.0f, 3.0f};

typedef struct {
    Policy* p;
    PolicyWork* w;
    float obs[B * S], eps[B * A], ca[B * A], cl[B];
    int use_a, use_l;
} Ctx;

static double loss(void* vctx) {
    Ctx* c = vctx;
    float a[B * A], lp[B];
    policy_forward(c->p, c->w, a, lp, c->obs, c->eps, B);
    double L = 0;
    for (int i = 0; i < B * A; i++) L += c->use_a ? (double)c->ca[i] * a[i] : 0.0;
    for (int b = 0; b < B; b++) L += c->use_l ? (double)c->cl[b] * lp[b] : 0.0;
    return L;
}

static void analytic(Ctx* c, float* g, float* dobs) {
    loss(c);
    memset(g, 0, (size_t)c->p->net->n_params * sizeof(float));
    memset(dobs, 0, sizeof(float) * B * S);
    policy_backward(c->p, c->w, g, dobs, c->use_a ? c->ca : NULL, c->use_l ? c->cl : NULL);
}

int main(void) {
    Rng rng;
    rng_seed(&rng, 7);
    int hid[2] = {16, 16};
    Ctx c = {0};
    c.p = policy_create(S, A, 2, hid, NN_ACT_TANH, LO, HI, &rng);
    c.w = policy_work_create(c.p, 64);
    CHECK(c.p && c.w, "create");
    rng_normal_fill(&rng, c.obs, B * S);
    rng_normal_fill(&rng, c.eps, B * A);
    rng_normal_fill(&rng, c.ca, B * A);
    rng_normal_fill(&rng, c.cl, B);
    long np = c.p->net->n_params;
    float* g = calloc((size_t)np, sizeof(float));
    float dobs[B * S];
    const char* names[2] = {"a", "logp"};
    for (int mode = 0; mode < 2; mode++) {
        c.use_a = mode == 0;
        c.use_l = mode == 1;
        char what[64];
        analytic(&c, g, dobs);
        snprintf(what, sizeof what, "d%s/dtheta", names[mode]);
        grad_check(what, loss, &c, c.p->net->params, g, np, 7, 1e-2f, 2e-2);
        snprintf(what, sizeof what, "d%s/dobs", names[mode]);
        grad_check(what, loss, &c, c.obs, dobs, B * S, 1, 1e-2f, 2e-2);
    }

    // log-prob against an independent double computation.
    {
        float a[B * A], lp[B];
        policy_forward(c.p, c.w, a, lp, c.obs, c.eps, B);
        float out[2 * A];
        float* scratch = malloc((size_t)policy_act1_scratch_floats(c.p) * sizeof(float));
        double maxerr = 0;
        for (int b = 0; b < B; b++) {
            mlp_infer1(c.p->net, 0, c.obs + b * S, out, NULL, scratch);
            double L = 0;
            for (int j = 0; j < A; j++) {
                double ls = out[A + j];
                if (ls < -20) ls = -20;
                if (ls > 2) ls = 2;
                double sd = exp(ls), u = out[j] + sd * c.eps[b * A + j], y = tanh(u);
                double sc = 0.5 * (HI[j] - LO[j]);
                double mu = out[j];
                L += -0.5 * ((u - mu) / sd) * ((u - mu) / sd) - log(sd) - 0.5 * log(2 * M_PI) -
                     log(1 - y * y + 1e-6) - log(sc);
                double aa = 0.5 * (HI[j] + LO[j]) + sc * y;
                if (fabs(aa - a[b * A + j]) > maxerr) maxerr = fabs(aa - a[b * A + j]);
            }
            if (fabs(L - lp[b]) > maxerr) maxerr = fabs(L - lp[b]);
        }
        CHECK(maxerr < 1e-4, "log-prob/action vs double reference: max err %g", maxerr);
        // batch-1 path agrees with the batched forward (with and without noise).
        double e1 = 0;
        for (int b = 0; b < B; b++) {
            float a1[A], a0[A], ad[B * A];
            CHECK(policy_act1(c.p, c.obs + b * S, c.eps + b * A, a1, scratch) == 0, "act1");
            for (int j = 0; j < A; j++) e1 = fmax(e1, fabs(a1[j] - a[b * A + j]));
            policy_act1(c.p, c.obs + b * S, NULL, a0, scratch);
            policy_forward(c.p, c.w, ad, NULL, c.obs, NULL, B);
            for (int j = 0; j < A; j++) e1 = fmax(e1, fabs(a0[j] - ad[b * A + j]));
            for (int j = 0; j < A; j++)
                CHECK(a0[j] >= LO[j] && a0[j] <= HI[j], "action inside bounds");
        }
        CHECK(e1 < 1e-5, "act1 vs forward: %g", e1);
        float bad[S], a1[A] = {42, 42, 42};
        memcpy(bad, c.obs, sizeof bad);
        bad[2] = NAN;
        CHECK(policy_act1(c.p, bad, NULL, a1, scratch) == -EINVAL && a1[0] == 42, "NaN obs");
        free(scratch);
    }

    // exp(logp) is a density over the scaled action: integrate over a grid of eps
    // for one observation (A = 1, range [-0.5, 3.5]).
    {
        float lo1 = -0.5f, hi1 = 3.5f;
        Policy* p1 = policy_create(S, 1, 1, hid, NN_ACT_TANH, &lo1, &hi1, &rng);
        enum { G = 4001 };
        PolicyWork* w1 = policy_work_create(p1, G);
        float* obs = malloc(sizeof(float) * G * S);
        float* eps = malloc(sizeof(float) * G);
        float* a = malloc(sizeof(float) * G);
        float* lp = malloc(sizeof(float) * G);
        for (int i = 0; i < G; i++) {
            memcpy(obs + i * S, c.obs, sizeof(float) * S);
            eps[i] = -8.0f + 16.0f * i / (G - 1);
        }
        policy_forward(p1, w1, a, lp, obs, eps, G);
        double mass = 0;
        for (int i = 0; i + 1 < G; i++)
            mass += 0.5 * (exp(lp[i]) + exp(lp[i + 1])) * (a[i + 1] - a[i]);
        CHECK_NEAR(mass, 1.0, 2e-3, "integral of pi(a|s) over the action range");
        policy_work_free(w1);
        policy_free(p1);
        free(obs), free(eps), free(a), free(lp);
    }

    // log_std clipping: outputs far above 2 give std = e^2 and no log_std gradient.
    {
        Policy* pc = policy_clone(c.p);
        PolicyWork* wc = policy_work_create(pc, B);
        float* bias = mlp_bias(pc->net, 0, pc->net->n_layers - 1);
        for (int j = 0; j < A; j++) bias[A + j] = 50.0f;
        float a[B * A], lp[B], lp2[B];
        policy_forward(pc, wc, a, lp, c.obs, c.eps, B);
        bias[A] += 1.0f;
        policy_forward(pc, wc, a, lp2, c.obs, c.eps, B);
        CHECK(lp[0] == lp2[0], "log-prob constant in a clipped log_std");
        float* gc = calloc((size_t)np, sizeof(float));
        policy_backward(pc, wc, gc, NULL, c.ca, c.cl);
        long boff = mlp_bias(pc->net, 0, pc->net->n_layers - 1) - pc->net->params;
        CHECK(gc[boff + A] == 0.0f && gc[boff] != 0.0f, "no gradient through the clipped log_std");
        free(gc);
        policy_work_free(wc);
        policy_free(pc);
    }

    // checkpoint round trip.
    {
        char path[] = "/tmp/test_policy_XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        c.p->version = 12;
        snprintf(c.p->plant, sizeof c.p->plant, "hopper");
        MaacErr err = {{0}};
        CHECK(policy_save(c.p, path, &err) == 0, "save: %s", err.msg);
        Policy* q = policy_load(path, &err);
        CHECK(q != NULL, "load: %s", err.msg);
        if (q) {
            CHECK(q->obs_dim == S && q->act_dim == A && q->version == 12 &&
                      strcmp(q->plant, "hopper") == 0, "meta");
            CHECK(memcmp(q->net->params, c.p->net->params, (size_t)np * sizeof(float)) == 0,
                  "params");
            CHECK(memcmp(q->act_low, LO, sizeof LO) == 0 && memcmp(q->act_high, HI, sizeof HI) == 0,
                  "bounds");
            policy_free(q);
        }
        FILE* f = fopen(path, "r+b");   // corrupt one byte: must be rejected
        fseek(f, 40, SEEK_SET);
        int ch = fgetc(f);
        fseek(f, 40, SEEK_SET);
        fputc(ch ^ 0x5a, f);
        fclose(f);
        q = policy_load(path, &err);
        CHECK(q == NULL && err.msg[0], "corrupted file rejected");
        policy_free(q);
        CHECK(policy_load("/nonexistent/p.ckpt", &err) == NULL, "missing file");
        unlink(path);
    }
    free(g);
    policy_work_free(c.w);
    policy_free(c.p);
    return test_summary("test_policy");
}
