// SPDX-License-Identifier: Apache-2.0
// plant.c -- PlantModel helpers: initialisation, the termination rule, and the
// finite-difference check of a reward's gradients (used on every plugin at load).
#include "core/plant.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/rng.h"

int plant_init(PlantModel* p, const char* name, int obs_dim, int act_dim, MaacErr* reterr) {
    memset(p, 0, sizeof(*p));
    if (obs_dim < 1 || obs_dim > PLANT_MAX_OBS || act_dim < 1 || act_dim > PLANT_MAX_ACT)
        return maac_err(reterr, -EINVAL, "plant '%s': obs %d / action %d entries (1..%d / 1..%d)",
                        name ? name : "", obs_dim, act_dim, PLANT_MAX_OBS, PLANT_MAX_ACT);
    snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
    p->obs_dim = obs_dim;
    p->act_dim = act_dim;
    for (int j = 0; j < act_dim; j++) {
        p->act_low[j] = -1.0f;
        p->act_high[j] = 1.0f;
    }
    for (int i = 0; i < obs_dim; i++) {
        p->term_min[i] = p->obs_min[i] = -INFINITY;
        p->term_max[i] = p->obs_max[i] = INFINITY;
    }
    p->reward_source = "none";
    return 0;
}

void plant_set_bounds(PlantModel* p, const float* low, const float* high) {
    for (int j = 0; j < p->act_dim; j++) {
        p->act_low[j] = low[j];
        p->act_high[j] = high[j];
        if (p->safe_act[j] < low[j]) p->safe_act[j] = low[j];
        if (p->safe_act[j] > high[j]) p->safe_act[j] = high[j];
    }
}

int plant_has_reward(const PlantModel* p) { return p && p->reward && p->reward_backward; }

int plant_has_termination(const PlantModel* p) { return p && (p->terminated || p->term_rule); }

void plant_terminated(const PlantModel* p, float* done, const float* s2, int B) {
    if (p && p->terminated)
        p->terminated(done, s2, B);
    else
        memset(done, 0, (size_t)B * sizeof(float));
    if (!p || !p->term_rule) return;
    const int S = p->obs_dim;
    for (int b = 0; b < B; b++) {
        const float* s = s2 + (size_t)b * S;
        for (int i = 0; i < S; i++)
            if (s[i] < p->term_min[i] || s[i] > p->term_max[i]) {
                done[b] = 1.0f;
                break;
            }
    }
}

int plant_parse_bounds(const char* text, int n, int is_max, float* out, MaacErr* reterr) {
    const char* q = text;
    for (int i = 0; i < n; i++) {
        while (*q == ' ' || *q == '\t') q++;
        const char* end = q;
        while (*end && *end != ',') end++;
        char tok[48];
        int len = (int)(end - q);
        while (len > 0 && (q[len - 1] == ' ' || q[len - 1] == '\t')) len--;
        if (len == 0 || len >= (int)sizeof(tok))
            return maac_err(reterr, -EINVAL, "entry %d of %d: %s", i, n,
                            *q ? "empty or too long" : "missing (one value per observation entry)");
        memcpy(tok, q, (size_t)len);
        tok[len] = 0;
        float v;
        if (!strcasecmp(tok, "none")) {
            v = is_max ? INFINITY : -INFINITY;
        } else {
            char* e = NULL;
            v = strtof(tok, &e);   // accepts inf / -inf
            if (!e || *e || isnan(v))
                return maac_err(reterr, -EINVAL, "entry %d: '%s' is not a number, inf or none",
                                i, tok);
        }
        out[i] = v;
        q = *end ? end + 1 : end;
        if (i + 1 < n && !*end)
            return maac_err(reterr, -EINVAL, "%d values, want %d (one per observation entry)",
                            i + 1, n);
    }
    while (*q == ' ' || *q == '\t') q++;
    if (*q) return maac_err(reterr, -EINVAL, "more than %d values (one per observation entry)", n);
    return 0;
}

//---- gradient check --------------------------------------------------------------------

typedef struct {
    float s[PLANT_MAX_OBS], a[PLANT_MAX_ACT], s2[PLANT_MAX_OBS];
} Point;

static float reward_at(const PlantModel* p, const Point* x) {
    float r = 0.0f;
    p->reward(&r, x->s, x->a, x->s2, 1);
    return r;
}

// Compare one entry's analytic gradient g with the central difference of r at *v.
static int check_entry(const PlantModel* p, Point* x, float* v, float g, float r0,
                       const char* what, int idx, int point, MaacErr* reterr) {
    float x0 = *v;
    float h = 1e-3f * fmaxf(1.0f, fabsf(x0));
    *v = x0 + h;
    float rp = reward_at(p, x);
    *v = x0 - h;
    float rm = reward_at(p, x);
    *v = x0;
    double num = ((double)rp - (double)rm) / (2.0 * h);
    double tol = 0.02 * fmax(fabs(g), fabs(num)) + 1e-3 * (1.0 + fabs(r0));
    if (!isfinite(g) || fabs(g - num) > tol)
        return maac_err(reterr, -EINVAL, "reward gradient %s[%d] wrong at sample point %d: "
                        "reward_backward gives %.6g, central finite difference %.6g",
                        what, idx, point, (double)g, num);
    return 0;
}

static int check_point(const PlantModel* p, Point* x, int point, MaacErr* reterr) {
    const int S = p->obs_dim, A = p->act_dim;
    float r0 = reward_at(p, x);
    if (!isfinite(r0))
        return maac_err(reterr, -EINVAL, "reward not finite (%g) at sample point %d",
                        (double)r0, point);
    float ds[PLANT_MAX_OBS], da[PLANT_MAX_ACT], ds2[PLANT_MAX_OBS], dr = 1.0f;
    for (int i = 0; i < S; i++) ds[i] = ds2[i] = 1.0f;   // accumulate: must add to these
    for (int j = 0; j < A; j++) da[j] = 1.0f;
    p->reward_backward(ds, da, ds2, &dr, x->s, x->a, x->s2, 1);
    int r;
    for (int j = 0; j < A; j++)
        if ((r = check_entry(p, x, &x->a[j], da[j] - 1.0f, r0, "dr/da", j, point, reterr)))
            return r;
    for (int i = 0; i < S; i++)
        if ((r = check_entry(p, x, &x->s2[i], ds2[i] - 1.0f, r0, "dr/ds'", i, point, reterr)))
            return r;
    for (int i = 0; i < S; i++)
        if ((r = check_entry(p, x, &x->s[i], ds[i] - 1.0f, r0, "dr/ds", i, point, reterr)))
            return r;
    if (p->terminated) {
        float d = -1.0f;
        p->terminated(&d, x->s2, 1);
        if (d != 0.0f && d != 1.0f)
            return maac_err(reterr, -EINVAL, "terminated gives %g at sample point %d, want 0 or 1",
                            (double)d, point);
    }
    return 0;
}

int plant_check_gradients(const PlantModel* p, int n_points, float state_range, uint64_t seed,
                          MaacErr* reterr) {
    if (!p->reward || !p->reward_backward)
        return maac_err(reterr, -EINVAL, "no reward%s to check",
                        p->reward ? " gradient (reward_backward)" : "");
    Rng rng;
    rng_seed(&rng, seed);
    Point x;
    for (int k = 0; k < n_points; k++) {
        rng_uniform_fill(&rng, x.s, p->obs_dim, -state_range, state_range);
        rng_uniform_fill(&rng, x.s2, p->obs_dim, -state_range, state_range);
        for (int j = 0; j < p->act_dim; j++) {
            float lo = p->act_low[j], hi = p->act_high[j], m = 0.02f * (hi - lo);
            x.a[j] = lo + m + rng_uniform(&rng) * (hi - lo - 2.0f * m);
        }
        int r = check_point(p, &x, k, reterr);
        if (r) return r;
    }
    return 0;
}
