// SPDX-License-Identifier: Apache-2.0
// ensemble_train.c -- fitting the dynamics ensemble: bootstrap, Gaussian NLL,
// holdout early stopping and elite selection (MBPO's bnn.py `train`).
//
// ens_train, on every row of D_env (warm start: parameters and Adam moments carry
// over between calls):
//   1. X = concat(s, a), Y = [s' - s | r]; a random permutation puts
//      n_hold = min(N * holdout_frac, max_holdout) rows in the holdout split.
//   2. Input normalisation (mlp_set_input_norm) and target normalisation
//      (per-column mean/std, std < 1e-6 -> 1) from the training split.
//   3. Member m gets its own bootstrap resample: n_train indices drawn with
//      replacement from the training split, reshuffled every epoch.
//   4. Each minibatch stacks all members' rows (M * batch) into ONE mlp_forward
//      and one mlp_backward (one per member group on a team, below), so every
//      sgemm is a member's whole minibatch. Loss
//        L = sum_m mean_{b,j} [ (y - mu)^2 exp(-logvar) + logvar ]
//            + 0.01 * sum_m (sum_j max_logvar_mj - sum_j min_logvar_mj)
//      (PETS/MBPO), AdamW with decoupled weight decay.
//   5. After every epoch (and once before the first, to seed the snapshots with the
//      warm-started parameters) each member's holdout MSE is measured; a member
//      whose MSE improves its best by more than 1% is snapshotted. Training stops
//      after more than `patience` epochs in a row without such an improvement
//      (MBPO's max_epochs_since_update rule), at max_epochs, or at max_seconds.
//   6. Every member is restored to its best snapshot; elites are the n_elites
//      members with the lowest holdout MSE, best first.
// Member groups (ens_trainer_set_workers): members meet only in the shared Adam
// step counter and in sums of their losses, so steps 4 and 5 run per group of
// contiguous members [m0, m1) on a Workers team. A group works on a view of the
// net: a struct copy of the Mlp with n_members = m1 - m0 and params moved to
// member m0 (members' parameters are contiguous, mlp.h), which every mlp_* function
// takes as a whole net; its gradient is the same slice of grad, its Adam update
// adam_step_range over that slice. Per minibatch a group gathers its members' rows,
// runs forward, NLL, backward, the logvar-bound term and its Adam range; the caller
// counts the step (adam_advance) after the join. The bootstrap shuffles, the time
// cap and all sums over members stay on the caller in member order, so a team's
// fit is bit-identical to the serial one (which is the same code with one group).
// Thread: learner (groups: the team's threads, on disjoint members). Allocation:
// ens_trainer_create, ens_trainer_set_workers, and ens_train grows its data
// buffers when D_env has grown (geometric growth, so rarely).
#include "core/ensemble.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/adam.h"

#define ENS_IMPROVE 0.01   // relative holdout improvement that counts (MBPO)

typedef struct {
    int m0, m1;                   // members [m0, m1)
    MlpWork* mw;                  // work for (m1 - m0) * batch rows (t->mw when serial)
    Mlp view;                     // members [m0, m1) of the net (set per ens_train call)
} EnsGroup;

struct EnsTrainer {
    EnsTrainConfig cfg;           // copy of the configuration
    int M, n_in, D;               // members, inputs, targets
    long n_params;                // parameters of the ensemble net
    Mlp shape;                    // copy of the net's shape (pointers cleared)
    Adam* adam;                   // optimiser over the whole block
    float* grad;                  // (n_params)
    float* best;                  // (n_params) best snapshot of each member
    MlpWork* mw;                  // work for M * batch rows (the serial group's)
    Workers* team;                // borrowed; NULL when serial
    int n_groups;                 // P: 1 when serial
    EnsGroup group[ENS_MAX_MEMBERS];
    MlpWork* gmw[ENS_MAX_MEMBERS];   // owned works of groups when P > 1, else NULL
    float member_nll[ENS_MAX_MEMBERS];   // last minibatch's NLL of each member
    float* xb;                    // (M * batch, n_in) minibatch inputs
    float* yb;                    // (M * batch, D) minibatch targets
    float* dmean;                 // (M * batch, D)
    float* dlogvar;               // (M * batch, D)
    long cap;                     // rows the data buffers below can hold
    float* X;                     // (cap, n_in) inputs, permuted: holdout rows first
    float* Y;                     // (cap, D) normalised targets, same order
    int* perm;                    // (cap) permutation of D_env rows
    int* boot;                    // (M, cap) bootstrap indices into the training split
    MaacPoll poll;                // safe-point hook (poll.h)
    int cancelled;                // the hook asked to stop during this ens_train
    int epochs_done;              // epochs finished by the current / last ens_train
};

void ens_train_config_default(EnsTrainConfig* cfg) {
    cfg->max_epochs = 200;
    cfg->batch = 256;
    cfg->holdout_frac = 0.2f;
    cfg->max_holdout = 5000;
    cfg->patience = 5;
    cfg->lr = 1e-3f;
    cfg->weight_decay = 5e-5f;
    cfg->n_elites = 0;
    cfg->max_seconds = 0.0;
}

EnsTrainer* ens_trainer_create(const Ensemble* e, const EnsTrainConfig* cfg) {
    if (cfg->batch < 1 || cfg->max_epochs < 0 || cfg->patience < 0 ||
        e->net->n_members > ENS_MAX_MEMBERS)
        return NULL;
    EnsTrainer* t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cfg = *cfg;
    t->M = e->net->n_members;
    t->n_in = e->net->n_in;
    t->D = e->n_out;
    t->n_params = e->net->n_params;
    t->shape = *e->net;
    t->shape.params = t->shape.in_mean = t->shape.in_std = NULL;
    size_t R = (size_t)t->M * (size_t)cfg->batch;
    t->adam = adam_create(t->n_params, cfg->lr);
    t->grad = malloc(sizeof(float) * (size_t)t->n_params);
    t->best = malloc(sizeof(float) * (size_t)t->n_params);
    t->mw = mlp_work_create(e->net, (int)R);
    t->xb = malloc(sizeof(float) * R * (size_t)t->n_in);
    t->yb = malloc(sizeof(float) * R * (size_t)t->D);
    t->dmean = malloc(sizeof(float) * R * (size_t)t->D);
    t->dlogvar = malloc(sizeof(float) * R * (size_t)t->D);
    if (!t->adam || !t->grad || !t->best || !t->mw || !t->xb || !t->yb || !t->dmean ||
        !t->dlogvar) {
        ens_trainer_free(t);
        return NULL;
    }
    t->adam->weight_decay = cfg->weight_decay;
    t->n_groups = 1;
    t->group[0].m0 = 0;
    t->group[0].m1 = t->M;
    t->group[0].mw = t->mw;
    return t;
}

int ens_trainer_set_workers(EnsTrainer* t, Workers* w) {
    const int M = t->M, n = workers_count(w);
    const int P = n < M ? n : M;
    MlpWork* gmw[ENS_MAX_MEMBERS] = {0};
    int bound[ENS_MAX_MEMBERS + 1];
    for (int g = 0; g <= P; g++) bound[g] = (int)((long)g * M / P);   // sizes differ by <= 1
    for (int g = 0; g < P && P > 1; g++) {
        Mlp shape = t->shape;   // mlp_work_create reads only the shape and n_members
        shape.n_members = bound[g + 1] - bound[g];
        gmw[g] = mlp_work_create(&shape, shape.n_members * t->cfg.batch);
        if (!gmw[g]) {
            for (int k = 0; k < g; k++) mlp_work_free(gmw[k]);
            return -ENOMEM;
        }
    }
    for (int g = 0; g < ENS_MAX_MEMBERS; g++) {
        mlp_work_free(t->gmw[g]);
        t->gmw[g] = gmw[g];
    }
    t->team = P > 1 ? w : NULL;
    t->n_groups = P;
    for (int g = 0; g < P; g++) {
        t->group[g].m0 = bound[g];
        t->group[g].m1 = bound[g + 1];
        t->group[g].mw = P > 1 ? gmw[g] : t->mw;
    }
    return 0;
}

Adam* ens_trainer_adam(const EnsTrainer* t) { return t->adam; }

int ens_trainer_epochs(const EnsTrainer* t) { return t->epochs_done; }

void ens_trainer_set_poll(EnsTrainer* t, MaacPollFn fn, void* arg) {
    t->poll.fn = fn;
    t->poll.arg = arg;
}

void ens_trainer_free(EnsTrainer* t) {
    if (!t) return;
    adam_free(t->adam);
    free(t->grad);
    free(t->best);
    mlp_work_free(t->mw);
    for (int g = 0; g < ENS_MAX_MEMBERS; g++) mlp_work_free(t->gmw[g]);
    free(t->xb);
    free(t->yb);
    free(t->dmean);
    free(t->dlogvar);
    free(t->X);
    free(t->Y);
    free(t->perm);
    free(t->boot);
    free(t);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Make room for n rows of data. 0 or -ENOMEM (old buffers kept).
static int reserve(EnsTrainer* t, long n) {
    if (n <= t->cap) return 0;
    long cap = t->cap > 0 ? t->cap : 1024;
    while (cap < n) cap *= 2;
    float* X = realloc(t->X, sizeof(float) * (size_t)cap * (size_t)t->n_in);
    if (X) t->X = X;
    float* Y = realloc(t->Y, sizeof(float) * (size_t)cap * (size_t)t->D);
    if (Y) t->Y = Y;
    int* perm = realloc(t->perm, sizeof(int) * (size_t)cap);
    if (perm) t->perm = perm;
    int* boot = realloc(t->boot, sizeof(int) * (size_t)cap * (size_t)t->M);
    if (boot) t->boot = boot;
    if (!X || !Y || !perm || !boot) return -ENOMEM;
    t->cap = cap;
    return 0;
}

static void shuffle(int* v, long n, Rng* rng) {   // Fisher-Yates
    for (long i = n - 1; i > 0; i--) {
        long j = (long)rng_below(rng, (uint32_t)(i + 1));
        int tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
}

// Point every group's view at its members of net (cheap struct copies; done per
// ens_train call, so the trainer keeps no pointer into an Ensemble).
static void set_views(EnsTrainer* t, const Mlp* net) {
    for (int g = 0; g < t->n_groups; g++) {
        EnsGroup* gr = &t->group[g];
        gr->view = *net;
        gr->view.n_members = gr->m1 - gr->m0;
        gr->view.params = net->params + (size_t)gr->m0 * net->n_member_params;
        gr->view.n_params = (long)gr->view.n_members * net->n_member_params;
    }
}

// What one run of the groups reads: the data rows and, for a training minibatch,
// its position. Each group writes only its own members' rows, slices and sums.
typedef struct {
    EnsTrainer* t;
    long n_hold, n_train;   // split sizes
    long b0;                // training: first bootstrap position of the minibatch
    int B;                  // training: rows per member in this minibatch
    double* mse;            // holdout: (M) outputs
    double* nll;
} EnsJob;

// Holdout MSE and NLL of group g's members on rows [0, n_hold) of X/Y.
static void holdout_part(void* arg, int g) {
    const EnsJob* job = arg;
    EnsTrainer* t = job->t;
    if (g >= t->n_groups) return;
    const EnsGroup* gr = &t->group[g];
    const int D = t->D, n_in = t->n_in, chunk = t->cfg.batch, m0 = gr->m0, m1 = gr->m1;
    const long n = job->n_hold;
    double* mse = job->mse;
    double* nll = job->nll;
    for (int m = m0; m < m1; m++) mse[m] = nll[m] = 0.0;
    for (long r0 = 0; r0 < n; r0 += chunk) {
        int B = (int)(n - r0 < chunk ? n - r0 : chunk);
        mlp_forward_shared(&gr->view, gr->mw, t->X + (size_t)r0 * n_in, B);
        const float* mu = mlp_work_out(gr->mw);
        const float* lv = mlp_work_logvar(gr->mw);
        for (int m = m0; m < m1; m++) {
            double se = 0.0, nl = 0.0;
            for (int b = 0; b < B; b++) {
                const float* y = t->Y + (size_t)(r0 + b) * D;
                const float* mp = mu + ((size_t)(m - m0) * B + b) * D;
                const float* lp = lv + ((size_t)(m - m0) * B + b) * D;
                for (int j = 0; j < D; j++) {
                    double d = (double)y[j] - mp[j];
                    se += d * d;
                    nl += d * d * exp(-(double)lp[j]) + lp[j];
                }
            }
            mse[m] += se;
            nll[m] += nl;
        }
    }
    for (int m = m0; m < m1; m++) {
        mse[m] /= (double)n * D;
        nll[m] /= (double)n * D;
    }
}

// Run part(job, g) for every group: on the team, or directly when serial.
static void run_groups(EnsTrainer* t, WorkersFn part, EnsJob* job) {
    if (t->team)
        workers_run(t->team, part, job);
    else
        part(job, 0);
}

// Holdout MSE and NLL of every member on rows [0, n) of X/Y (normalised targets).
static void holdout_losses(EnsTrainer* t, long n, double* mse, double* nll) {
    EnsJob job = {.t = t, .n_hold = n, .mse = mse, .nll = nll};
    run_groups(t, holdout_part, &job);
}

// One minibatch of group g's members: rows [m*B, (m+1)*B) of xb/yb/dmean/dlogvar
// belong to member m, as in one stacked forward of the whole net.
static void batch_part(void* arg, int g) {
    const EnsJob* job = arg;
    EnsTrainer* t = job->t;
    if (g >= t->n_groups) return;
    EnsGroup* gr = &t->group[g];
    const Mlp* view = &gr->view;
    const int D = t->D, n_in = t->n_in, B = job->B, m0 = gr->m0, m1 = gr->m1;
    const long n_train = job->n_train, n_hold = job->n_hold;
    // Gather member m's rows into block [m*B, (m+1)*B).
    for (int m = m0; m < m1; m++) {
        const int* idx = t->boot + (size_t)m * n_train + job->b0;
        for (int b = 0; b < B; b++) {
            size_t src = (size_t)(n_hold + idx[b]), dst = (size_t)m * B + b;
            memcpy(t->xb + dst * n_in, t->X + src * n_in, sizeof(float) * (size_t)n_in);
            memcpy(t->yb + dst * D, t->Y + src * D, sizeof(float) * (size_t)D);
        }
    }
    const size_t r0 = (size_t)m0 * B, rows = (size_t)(m1 - m0) * B;
    float* dmean = t->dmean + r0 * D;
    float* dlogvar = t->dlogvar + r0 * D;
    const float* yb = t->yb + r0 * D;
    mlp_forward(view, gr->mw, t->xb + r0 * n_in, B);
    const float* mu = mlp_work_out(gr->mw);
    const float* lv = mlp_work_logvar(gr->mw);
    memset(dmean, 0, sizeof(float) * rows * D);
    memset(dlogvar, 0, sizeof(float) * rows * D);
    for (int m = m0; m < m1; m++) {   // loss = sum over members of each member's mean NLL
        size_t o = (size_t)(m - m0) * B * D;
        t->member_nll[m] = nn_gauss_nll_forward(mu + o, lv + o, yb + o, B, D);
        nn_gauss_nll_backward(dmean + o, dlogvar + o, 1.0f, mu + o, lv + o, yb + o, B, D);
    }
    const long p0 = (long)m0 * view->n_member_params;   // the group's slice of the block
    float* grad = t->grad + p0;
    mlp_zero_grad(view, grad);
    mlp_backward(view, gr->mw, grad, NULL, dmean, dlogvar);
    // + 0.01 * (sum max_logvar - sum min_logvar)
    for (int k = 0; k < m1 - m0; k++) {
        long omax = mlp_max_logvar(view, k) - view->params;
        long omin = mlp_min_logvar(view, k) - view->params;
        for (int j = 0; j < D; j++) {
            grad[omax + j] += 0.01f;
            grad[omin + j] -= 0.01f;
        }
    }
    // view->params - p0 is the whole block: Adam indexes its moments by block position.
    adam_step_range(t->adam, view->params - p0, t->grad, p0, p0 + view->n_params);
}

// One epoch over every member's bootstrap resample. Returns the mean training
// NLL per member and batch; *stop set when the time cap ran out mid-epoch.
static double train_epoch(EnsTrainer* t, long n_hold, long n_train, Rng* rng, double t_end,
                          int* stop) {
    const int M = t->M, batch = t->cfg.batch;
    for (int m = 0; m < M; m++) shuffle(t->boot + (size_t)m * n_train, n_train, rng);
    double sum_nll = 0.0;
    long n_batches = 0;
    EnsJob job = {.t = t, .n_hold = n_hold, .n_train = n_train};
    for (long b0 = 0; b0 < n_train; b0 += batch) {
        job.b0 = b0;
        job.B = (int)(n_train - b0 < batch ? n_train - b0 : batch);
        run_groups(t, batch_part, &job);
        adam_advance(t->adam);
        for (int m = 0; m < M; m++) sum_nll += t->member_nll[m];
        n_batches++;
        if ((n_batches & 15) == 0 && ((t_end > 0.0 && now_s() > t_end) ||
                                      (t->cancelled = maac_poll(&t->poll) != 0))) {
            *stop = 1;
            break;
        }
    }
    return n_batches ? sum_nll / ((double)n_batches * M) : 0.0;
}

int ens_train(Ensemble* e, EnsTrainer* t, const ReplayBuffer* d_env, Rng* rng,
              EnsTrainStats* ret) {
    const double t0 = now_s();
    const EnsTrainConfig* cfg = &t->cfg;
    const int M = t->M, D = t->D, n_in = t->n_in, S = e->obs_dim, A = e->act_dim;
    if (e->net->n_params != t->n_params || e->n_out != D || n_in != S + A ||
        d_env->obs_dim != S || d_env->act_dim != A)
        return -EINVAL;
    const long N = d_env->size;
    long n_hold = (long)((double)N * cfg->holdout_frac);
    if (n_hold > cfg->max_holdout) n_hold = cfg->max_holdout;
    if (cfg->holdout_frac > 0.0f && n_hold < 1) n_hold = 1;
    const long n_train = N - n_hold;
    if (N < 2 || n_train < 1 || N > 0x7fffffffL) return -EINVAL;
    int r = reserve(t, N);
    if (r < 0) return r;

    // 1. Data in permuted order: rows [0, n_hold) holdout, [n_hold, N) training.
    for (long i = 0; i < N; i++) t->perm[i] = (int)i;
    shuffle(t->perm, N, rng);
    for (long i = 0; i < N; i++) {
        float* x = t->X + (size_t)i * n_in;
        float* y = t->Y + (size_t)i * D;
        long k = t->perm[i];   // a storage slot: slots [0, size) are exactly the rows held
        const float* so = d_env->obs + (size_t)k * S;
        const float* s2o = d_env->next_obs + (size_t)k * S;
        memcpy(x, so, sizeof(float) * (size_t)S);
        memcpy(x + S, d_env->act + (size_t)k * A, sizeof(float) * (size_t)A);
        for (int j = 0; j < S; j++) y[j] = s2o[j] - so[j];
        if (e->learn_reward) y[S] = d_env->rew[k];
    }

    // 2. Normalisation from the training split.
    mlp_set_input_norm(e->net, t->X + (size_t)n_hold * n_in, n_train);
    for (int j = 0; j < D; j++) {
        double sum = 0.0, sq = 0.0;
        for (long i = n_hold; i < N; i++) sum += t->Y[(size_t)i * D + j];
        double mu = sum / (double)n_train;
        for (long i = n_hold; i < N; i++) {
            double d = t->Y[(size_t)i * D + j] - mu;
            sq += d * d;
        }
        double sd = sqrt(sq / (double)n_train);
        e->target_mean[j] = (float)mu;
        e->target_std[j] = (sd < 1e-6 || !isfinite(sd)) ? 1.0f : (float)sd;
    }
    for (long i = 0; i < N; i++)
        for (int j = 0; j < D; j++) {
            float* y = t->Y + (size_t)i * D + j;
            *y = (*y - e->target_mean[j]) / e->target_std[j];
        }

    // 3. Bootstrap resamples of the training split (indices relative to n_hold).
    for (int m = 0; m < M; m++)
        for (long i = 0; i < n_train; i++)
            t->boot[(size_t)m * n_train + i] = (int)rng_below(rng, (uint32_t)n_train);

    // 4-5. Epochs with holdout early stopping; snapshots seeded before epoch 1.
    double mse[ENS_MAX_MEMBERS], nll[ENS_MAX_MEMBERS];
    double best_mse[ENS_MAX_MEMBERS], best_nll[ENS_MAX_MEMBERS];
    const long np_m = e->net->n_member_params;
    memcpy(t->best, e->net->params, sizeof(float) * (size_t)t->n_params);
    set_views(t, e->net);
    if (n_hold > 0) {
        holdout_losses(t, n_hold, best_mse, best_nll);
    } else {
        for (int m = 0; m < M; m++) best_mse[m] = best_nll[m] = INFINITY;
    }
    const double t_end = cfg->max_seconds > 0.0 ? t0 + cfg->max_seconds : 0.0;
    int epochs = 0, since_update = 0, stop = 0;
    t->cancelled = 0;
    t->epochs_done = 0;
    double train_nll = 0.0;
    while (epochs < cfg->max_epochs && !stop) {
        train_nll = train_epoch(t, n_hold, n_train, rng, t_end, &stop);
        t->epochs_done = ++epochs;
        if (n_hold == 0) {   // no holdout: keep the latest parameters, no early stop
            memcpy(t->best, e->net->params, sizeof(float) * (size_t)t->n_params);
            for (int m = 0; m < M; m++) best_mse[m] = best_nll[m] = train_nll;
            continue;
        }
        holdout_losses(t, n_hold, mse, nll);
        int updated = 0;
        for (int m = 0; m < M; m++) {
            double improve = (best_mse[m] - mse[m]) / fabs(best_mse[m] > 0.0 ? best_mse[m] : 1.0);
            if (improve > ENS_IMPROVE || !isfinite(best_mse[m])) {
                if (!isfinite(mse[m])) continue;
                best_mse[m] = mse[m];
                best_nll[m] = nll[m];
                memcpy(t->best + (size_t)m * np_m, e->net->params + (size_t)m * np_m,
                       sizeof(float) * (size_t)np_m);
                updated = 1;
            }
        }
        since_update = updated ? 0 : since_update + 1;
        if (since_update > cfg->patience) break;
        if (t_end > 0.0 && now_s() > t_end) break;
        if ((t->cancelled = maac_poll(&t->poll) != 0)) break;
    }

    // 6. Best snapshot of every member; elites by holdout MSE (insertion sort, stable).
    memcpy(e->net->params, t->best, sizeof(float) * (size_t)t->n_params);
    int order[ENS_MAX_MEMBERS];
    for (int m = 0; m < M; m++) {
        int k = m;
        while (k > 0 && best_mse[order[k - 1]] > best_mse[m]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = m;
    }
    int ne = cfg->n_elites > 0 && cfg->n_elites < M ? cfg->n_elites : M;
    e->n_elites = ne;
    double sm = 0.0, sn = 0.0;
    for (int i = 0; i < ne; i++) {
        e->elites[i] = order[i];
        sm += best_mse[order[i]];
        sn += best_nll[order[i]];
    }
    if (ret) {
        ret->epochs = epochs;
        ret->train_nll = (float)train_nll;
        ret->holdout_mse = (float)(sm / ne);
        ret->holdout_nll = (float)(sn / ne);
        ret->seconds = now_s() - t0;
    }
    return t->cancelled ? -ECANCELED : 0;
}
