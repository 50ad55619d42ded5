// SPDX-License-Identifier: Apache-2.0
// swap_cost.c -- a swapped-in policy must fit the control loop: parameter and memory
// caps, then SWAP_COST_TRIALS timed calls of the served path (swap_cost.h).
// Thread: the ctl server thread. Allocation: trial scratch and timings (freed).
#include "daemon/swap_cost.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "daemon/rt.h"

double swap_cost_bytes(const Policy* p) {
    const Mlp* n = p->net;
    return (double)sizeof *p + (double)sizeof *n +
           ((double)n->n_params + 2.0 * n->n_in) * sizeof(float);
}

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return (x > y) - (x < y);
}

// Time SWAP_COST_TRIALS calls of policy_act1; p50 / p99 in ns. 0 or -ENOMEM.
static int time_trials(const Policy* p, double* ret_p50, double* ret_p99) {
    long need = policy_act1_scratch_floats(p);
    int S = p->obs_dim, A = p->act_dim;
    float* scratch = malloc(((size_t)need + 1) * sizeof(float));
    float* obs = malloc((size_t)SWAP_COST_TRIALS * (size_t)S * sizeof(float));
    float* eps = malloc((size_t)SWAP_COST_TRIALS * (size_t)A * sizeof(float));
    int64_t* t = malloc(SWAP_COST_TRIALS * sizeof(int64_t));
    float act[POLICY_MAX_ACT];
    int r = -ENOMEM;
    if (scratch && obs && eps && t) {
        Rng rng;
        rng_seed(&rng, 33);
        for (long i = 0; i < (long)SWAP_COST_TRIALS * S; i++) obs[i] = rng_normal(&rng);
        for (long i = 0; i < (long)SWAP_COST_TRIALS * A; i++) eps[i] = rng_normal(&rng);
        for (int i = 0; i < 5; i++) (void)policy_act1(p, obs, eps, act, scratch);   // warm caches
        for (int i = 0; i < SWAP_COST_TRIALS; i++) {
            int64_t t0 = rt_now_ns();
            (void)policy_act1(p, obs + (size_t)i * S, eps + (size_t)i * A, act, scratch);
            t[i] = rt_now_ns() - t0;
        }
        qsort(t, SWAP_COST_TRIALS, sizeof *t, cmp_i64);
        *ret_p50 = (double)t[SWAP_COST_TRIALS / 2];
        *ret_p99 = (double)t[(SWAP_COST_TRIALS * 99) / 100];
        r = 0;
    }
    free(scratch);
    free(obs);
    free(eps);
    free(t);
    return r;
}

int swap_cost_check(const Policy* p, const SwapLimits* lim, SwapCost* ret, MaacErr* reterr) {
    SwapCost c;
    memset(&c, 0, sizeof c);
    c.params = p->net->n_params;
    c.memory_mb = swap_cost_bytes(p) / (1024.0 * 1024.0);
    c.budget_us = lim->time_fraction * lim->period_s * 1e6;
    if (ret) *ret = c;
    if (c.params > lim->max_params)
        return maac_err(reterr, -E2BIG, "policy has %ld parameters, more than the %ld allowed "
                        "([daemon] swap_max_params)", c.params, lim->max_params);
    if (c.memory_mb > lim->max_memory_mb)
        return maac_err(reterr, -E2BIG, "policy needs %.3g MiB, more than the %.3g MiB allowed "
                        "([daemon] swap_max_memory_mb)", c.memory_mb, lim->max_memory_mb);
    // best of SWAP_COST_ROUNDS rounds: a policy that is slow is slow in every round,
    // while a busy machine's preemptions land in some rounds and not others
    double p50 = 0, p99 = 0;
    for (int round = 0; round < SWAP_COST_ROUNDS; round++) {
        double a, b;
        if (time_trials(p, &a, &b) < 0) return maac_err(reterr, -ENOMEM, "out of memory");
        if (round == 0 || b < p99) p50 = a, p99 = b;
    }
    c.p50_us = p50 * 1e-3;
    c.p99_us = p99 * 1e-3;
    if (ret) *ret = c;
    if (c.p99_us > c.budget_us)
        return maac_err(reterr, -ETIME, "policy too slow for the control loop: p99 inference "
                        "%.1f us over %d trials, budget %.1f us (%.3g of the %.3g ms period; "
                        "[daemon] swap_time_fraction)", c.p99_us, SWAP_COST_TRIALS, c.budget_us,
                        lim->time_fraction, lim->period_s * 1e3);
    return 0;
}
