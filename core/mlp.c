// SPDX-License-Identifier: Apache-2.0
// mlp.c -- multilayer perceptrons, optionally a stack of E independent members.
//
// Mlp (constants: shape + one parameter block) and MlpWork (everything a forward
// writes and its backward reads) follow MuJoCo's mjModel/mjData split; the
// kernels are nn.c's. Three batched forward modes share one backward:
//   mlp_forward          member e on its own rows [e*B, (e+1)*B)
//   mlp_forward_shared   every member on the same B input rows (dinp sums members)
//   mlp_forward_grouped  member e on rows [row_off[e], row_off[e+1]), groups may be empty
// and their _mean twins, which for a GAUSS head compute only the mean half of the
// last layer (rows 0..n_out-1 of its weight) straight into the mean buffer.
// Internally all three record, per member, where its input rows start (in_off)
// and where its output rows start (row_off); backward walks the same plan in
// reverse. Each layer of each member is one cblas_sgemm over all its rows; every
// buffer is carved out of one allocation in mlp_work_create, so forward and
// backward never allocate.
//
// mlp_infer1 is the control loop's batch-1 path: plain loops with GCC vector
// extensions (8-float lanes, 4 output rows at a time so each input load feeds
// four FMAs), no BLAS, no allocation. Its summation order differs from sgemm, so
// it agrees with mlp_forward to float rounding, not bit for bit.
#include "core/mlp.h"
#include "core/mlp_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MLP_MAX_WIDTH (1 << 20)   // sanity bound on one layer's width


// ==== shape and parameter layout ================================================

static long weight_offset(const Mlp* m, int l) {   // in floats, within a member
    long off = 0;
    for (int k = 0; k < l; k++) off += (long)m->sizes[k + 1] * (m->sizes[k] + 1);
    return off;
}

static int max_width(const Mlp* m) {
    int w = m->sizes[0];
    for (int l = 1; l <= m->n_layers; l++)
        if (m->sizes[l] > w) w = m->sizes[l];
    return w;
}

static void* alloc_floats(long n) {   // 64-byte aligned, zeroed
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    void* p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

Mlp* mlp_create(int n_members, int n_layers, const int* sizes, NnAct hidden_act,
                MlpHead head) {
    if (n_members < 1 || n_members > 4096 || n_layers < 1 || n_layers > MLP_MAX_LAYERS ||
        !sizes)
        return NULL;
    if ((int)hidden_act < 0 || hidden_act > NN_ACT_TANH) return NULL;
    if (head != MLP_HEAD_LINEAR && head != MLP_HEAD_GAUSS) return NULL;
    for (int l = 0; l <= n_layers; l++)
        if (sizes[l] < 1 || sizes[l] > MLP_MAX_WIDTH) return NULL;
    if (head == MLP_HEAD_GAUSS && sizes[n_layers] % 2) return NULL;

    Mlp* m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_members = n_members;
    m->n_layers = n_layers;
    for (int l = 0; l <= n_layers; l++) m->sizes[l] = sizes[l];
    m->hidden_act = hidden_act;
    m->head = head;
    m->n_in = sizes[0];
    m->n_out = head == MLP_HEAD_GAUSS ? sizes[n_layers] / 2 : sizes[n_layers];
    m->n_member_params = weight_offset(m, n_layers) + (head == MLP_HEAD_GAUSS ? 2L * m->n_out : 0);
    m->n_params = (long)n_members * m->n_member_params;
    m->params = alloc_floats(m->n_params);
    m->in_mean = alloc_floats(m->n_in);
    m->in_std = alloc_floats(m->n_in);
    if (!m->params || !m->in_mean || !m->in_std) {
        mlp_free(m);
        return NULL;
    }
    for (int i = 0; i < m->n_in; i++) m->in_std[i] = 1.0f;
    return m;
}

void mlp_free(Mlp* m) {
    if (!m) return;
    free(m->params);
    free(m->in_mean);
    free(m->in_std);
    free(m);
}

Mlp* mlp_clone(const Mlp* m) {
    Mlp* c = mlp_create(m->n_members, m->n_layers, m->sizes, m->hidden_act, m->head);
    if (c) mlp_copy(c, m);
    return c;
}

void mlp_copy(Mlp* dst, const Mlp* src) {
    assert(mlp_same_shape(dst, src));
    memcpy(dst->params, src->params, sizeof(float) * (size_t)src->n_params);
    memcpy(dst->in_mean, src->in_mean, sizeof(float) * (size_t)src->n_in);
    memcpy(dst->in_std, src->in_std, sizeof(float) * (size_t)src->n_in);
}

int mlp_same_shape(const Mlp* a, const Mlp* b) {
    if (a->n_members != b->n_members || a->n_layers != b->n_layers ||
        a->hidden_act != b->hidden_act || a->head != b->head)
        return 0;
    for (int l = 0; l <= a->n_layers; l++)
        if (a->sizes[l] != b->sizes[l]) return 0;
    return 1;
}

float* mlp_weight(const Mlp* m, int e, int l) {
    return m->params + (long)e * m->n_member_params + weight_offset(m, l);
}

float* mlp_bias(const Mlp* m, int e, int l) {
    return mlp_weight(m, e, l) + (long)m->sizes[l + 1] * m->sizes[l];
}

float* mlp_max_logvar(const Mlp* m, int e) {
    if (m->head != MLP_HEAD_GAUSS) return NULL;
    return m->params + (long)e * m->n_member_params + weight_offset(m, m->n_layers);
}

float* mlp_min_logvar(const Mlp* m, int e) {
    float* mx = mlp_max_logvar(m, e);
    return mx ? mx + m->n_out : NULL;
}

void mlp_init(Mlp* m, Rng* rng) {
    for (int e = 0; e < m->n_members; e++) {
        for (int l = 0; l < m->n_layers; l++) {
            int C = m->sizes[l], OC = m->sizes[l + 1];
            float bound = 1.0f / sqrtf((float)C);
            rng_uniform_fill(rng, mlp_weight(m, e, l), (long)OC * C, -bound, bound);
            memset(mlp_bias(m, e, l), 0, sizeof(float) * OC);
        }
        if (m->head == MLP_HEAD_GAUSS) {
            float* mx = mlp_max_logvar(m, e);
            float* mn = mlp_min_logvar(m, e);
            for (int j = 0; j < m->n_out; j++) {
                mx[j] = 0.5f;
                mn[j] = -10.0f;
            }
        }
    }
}

void mlp_set_input_norm(Mlp* m, const float* x, long N) {
    for (int i = 0; i < m->n_in; i++) {
        double sum = 0.0, sq = 0.0;
        for (long r = 0; r < N; r++) sum += x[r * m->n_in + i];
        double mu = N > 0 ? sum / (double)N : 0.0;
        for (long r = 0; r < N; r++) {
            double d = x[r * m->n_in + i] - mu;
            sq += d * d;
        }
        double sd = N > 0 ? sqrt(sq / (double)N) : 1.0;
        m->in_mean[i] = (float)mu;
        m->in_std[i] = (sd < 1e-6 || !isfinite(sd)) ? 1.0f : (float)sd;
    }
}

void mlp_zero_grad(const Mlp* m, float* grad) {
    memset(grad, 0, sizeof(float) * (size_t)m->n_params);
}

// ==== work ======================================================================

MlpWork* mlp_work_create(const Mlp* m, int max_rows) {
    if (max_rows < 1) return NULL;
    int L = m->n_layers, E = m->n_members, n_in = m->n_in;
    long R = max_rows, mw = max_width(m);
    // Count floats, each array rounded up to 16 floats (64 bytes).
#define ROUND16(n) (((long)(n) + 15) & ~15L)
    long total = ROUND16(R * n_in) * 2 + ROUND16(R * mw) * 2;
    for (int l = 0; l < L; l++) total += ROUND16(R * m->sizes[l + 1]) * (l < L - 1 ? 2 : 1);
    if (m->head == MLP_HEAD_GAUSS) total += ROUND16(R * m->n_out) * 2;
    MlpWork* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->block = alloc_floats(total);
    w->row_off = calloc((size_t)E + 1, sizeof(int));
    w->in_off = calloc((size_t)E, sizeof(int));
    if (!w->block || !w->row_off || !w->in_off) {
        mlp_work_free(w);
        return NULL;
    }
    float* p = w->block;
#define TAKE(n) (p += ROUND16(n), p - ROUND16(n))
    w->xn = TAKE(R * n_in);
    w->dxn = TAKE(R * n_in);
    w->dz = TAKE(R * mw);
    w->dh = TAKE(R * mw);
    for (int l = 0; l < L; l++) {
        w->pre[l] = TAKE(R * m->sizes[l + 1]);
        w->post[l] = l < L - 1 ? TAKE(R * m->sizes[l + 1]) : NULL;
    }
    if (m->head == MLP_HEAD_GAUSS) {
        w->mean = TAKE(R * m->n_out);
        w->logvar = TAKE(R * m->n_out);
    } else {
        w->mean = w->pre[L - 1];
        w->logvar = NULL;
    }
#undef TAKE
#undef ROUND16
    w->n_members = E;
    w->n_layers = L;
    for (int l = 0; l <= L; l++) w->sizes[l] = m->sizes[l];
    w->max_rows = max_rows;
    return w;
}

MlpWork* mlp_work_create_infer(const Mlp* m, int max_rows) {
    MlpWork* w = mlp_work_create(m, max_rows);
    if (!w) return NULL;
    long E = m->n_members, mw = max_width(m);
    long tcols = (((long)max_rows + 15) & ~15L) + 16 * E;
    if (tcols > (1L << 30) / (mw > 0 ? mw : 1)) {   // keep index arithmetic in int range
        mlp_work_free(w);
        return NULL;
    }
    w->tcols = (int)tcols;
    w->tcol_off = calloc((size_t)E + 1, sizeof(int));
    w->tblock = alloc_floats(2 * mw * tcols);
    if (!w->tcol_off || !w->tblock) {
        mlp_work_free(w);
        return NULL;
    }
    w->tbuf[0] = w->tblock;
    w->tbuf[1] = w->tbuf[0] + mw * tcols;
    return w;
}

MlpWork* mlp_work_create_fwd(const Mlp* m, int max_rows) {
    MlpWork* w = mlp_work_create_infer(m, max_rows);
    if (w) w->fwd_only = 1;
    return w;
}

MlpWork* mlp_work_create_fast(const Mlp* m, int max_rows) {
    MlpWork* w = mlp_work_create_infer(m, max_rows);
    if (!w) return NULL;
    w->keep_fm = 1;
    if (mlp_fm_alloc(m, w) != 0) {
        mlp_work_free(w);
        return NULL;
    }
    return w;
}

void mlp_work_free(MlpWork* w) {
    if (!w) return;
    free(w->tblock);
    free(w->fblock);
    free(w->tcol_off);
    free(w->block);
    free(w->row_off);
    free(w->in_off);
    free(w);
}

float* mlp_work_out(const MlpWork* w) { return w->mean; }
float* mlp_work_logvar(const MlpWork* w) { return w->logvar; }
int mlp_work_rows(const MlpWork* w) { return w->rows; }

// ==== batched forward ===========================================================

static void check_work(const Mlp* m, const MlpWork* w) {
    (void)m;
    (void)w;
    assert(w->n_members == m->n_members && w->n_layers == m->n_layers);
    for (int l = 0; l <= m->n_layers; l++) assert(w->sizes[l] == m->sizes[l]);
}

// Run the plan already stored in w->row_off / w->in_off / w->in_rows. mean_only
// (GAUSS): the last layer computes only its first n_out outputs, into w->mean.

static void forward_plan(const Mlp* m, MlpWork* w, const float* inp, int mean_only) {
    int L = m->n_layers, E = m->n_members, n_in = m->n_in;
    w->fm_last = 0;
    if ((mean_only || w->fwd_only || w->keep_fm) && mlp_fm_forward(m, w, inp, !mean_only)) {
        w->mean_only = mean_only || !w->keep_fm;   // backward only with the activations kept
        return;
    }
    mean_only = mean_only && m->head == MLP_HEAD_GAUSS;
    w->mean_only = mean_only;
    // x_n = (x - in_mean) / in_std
    for (int r = 0; r < w->in_rows; r++) {
        const float* x = inp + (long)r * n_in;
        float* xn = w->xn + (long)r * n_in;
        for (int i = 0; i < n_in; i++) xn[i] = (x[i] - m->in_mean[i]) / m->in_std[i];
    }
    for (int l = 0; l < L; l++) {
        int C = m->sizes[l], OC = m->sizes[l + 1];
        int head_mean = mean_only && l == L - 1;   // first n_out rows of W into w->mean
        int oc = head_mean ? m->n_out : OC;
        float* out = head_mean ? w->mean : w->pre[l];
        for (int e = 0; e < E; e++) {
            int off = w->row_off[e], cnt = w->row_off[e + 1] - off;
            if (cnt <= 0) continue;
            const float* in = l == 0 ? w->xn + (long)w->in_off[e] * C
                                     : w->post[l - 1] + (long)off * C;
            nn_linear_forward(out + (long)off * oc, in, mlp_weight(m, e, l),
                              mlp_bias(m, e, l), cnt, C, oc);
        }
        if (l < L - 1) nn_act_forward(w->post[l], w->pre[l], (long)w->rows * OC, m->hidden_act);
    }
    if (m->head == MLP_HEAD_GAUSS && !mean_only) mlp_gauss_head_rows(m, w);
}

// GAUSS: mean and logvar of every member's rows from the raw last layer (pre[L-1]).
void mlp_gauss_head_rows(const Mlp* m, MlpWork* w) {
    int L = m->n_layers, D = m->n_out;
    for (int e = 0; e < m->n_members; e++) {
        int off = w->row_off[e], cnt = w->row_off[e + 1] - off;
        if (cnt <= 0) continue;
        nn_gauss_head_forward(w->mean + (long)off * D, w->logvar + (long)off * D,
                              w->pre[L - 1] + (long)off * 2 * D, mlp_max_logvar(m, e),
                              mlp_min_logvar(m, e), cnt, D);
    }
}

static void forward_own(const Mlp* m, MlpWork* w, const float* inp, int B, int mean_only) {
    check_work(m, w);
    int E = m->n_members;
    assert(B >= 0 && (long)E * B <= w->max_rows);
    for (int e = 0; e <= E; e++) w->row_off[e] = e * B;
    for (int e = 0; e < E; e++) w->in_off[e] = e * B;
    w->rows = w->in_rows = E * B;
    forward_plan(m, w, inp, mean_only);
}

static void forward_shared(const Mlp* m, MlpWork* w, const float* inp, int B, int mean_only) {
    check_work(m, w);
    int E = m->n_members;
    assert(B >= 0 && (long)E * B <= w->max_rows);
    for (int e = 0; e <= E; e++) w->row_off[e] = e * B;
    for (int e = 0; e < E; e++) w->in_off[e] = 0;
    w->rows = E * B;
    w->in_rows = B;
    forward_plan(m, w, inp, mean_only);
}

static void forward_grouped(const Mlp* m, MlpWork* w, const float* inp, const int* row_off,
                            int mean_only) {
    check_work(m, w);
    int E = m->n_members;
    assert(row_off[0] == 0 && row_off[E] <= w->max_rows);
    for (int e = 0; e <= E; e++) {
        assert(e == 0 || row_off[e] >= row_off[e - 1]);
        w->row_off[e] = row_off[e];
    }
    for (int e = 0; e < E; e++) w->in_off[e] = row_off[e];
    w->rows = w->in_rows = row_off[E];
    forward_plan(m, w, inp, mean_only);
}

void mlp_forward(const Mlp* m, MlpWork* w, const float* inp, int B) {
    forward_own(m, w, inp, B, 0);
}
void mlp_forward_shared(const Mlp* m, MlpWork* w, const float* inp, int B) {
    forward_shared(m, w, inp, B, 0);
}
void mlp_forward_grouped(const Mlp* m, MlpWork* w, const float* inp, const int* row_off) {
    forward_grouped(m, w, inp, row_off, 0);
}
void mlp_forward_mean(const Mlp* m, MlpWork* w, const float* inp, int B) {
    forward_own(m, w, inp, B, 1);
}
void mlp_forward_shared_mean(const Mlp* m, MlpWork* w, const float* inp, int B) {
    forward_shared(m, w, inp, B, 1);
}
void mlp_forward_grouped_mean(const Mlp* m, MlpWork* w, const float* inp, const int* row_off) {
    forward_grouped(m, w, inp, row_off, 1);
}

// ==== backward ==================================================================

void mlp_backward(const Mlp* m, MlpWork* w, float* grad, float* dinp,
                  const float* dout, const float* dlogvar) {
    check_work(m, w);
    assert(!w->mean_only);   // a _mean (or feature-major) forward keeps no activations
    assert(!w->fwd_only);    // forward-only work (mlp_work_create_fwd)
    int L = m->n_layers, E = m->n_members, n_in = m->n_in;
    long rows = w->rows;
    if (rows <= 0) return;
    int top = m->sizes[L];
    float* dz = w->dz;   // d pre-activation of the current layer (rows, OC)
    float* dh = w->dh;   // d post-activation of the layer below (rows, C)

    // d raw output of the last layer
    if (m->head == MLP_HEAD_GAUSS) {
        int D = m->n_out;
        memset(dz, 0, sizeof(float) * (size_t)(rows * top));
        for (int e = 0; e < E; e++) {
            int off = w->row_off[e], cnt = w->row_off[e + 1] - off;
            if (cnt <= 0) continue;
            float* gmax = grad ? grad + (mlp_max_logvar(m, e) - m->params) : NULL;
            float* gmin = grad ? grad + (mlp_min_logvar(m, e) - m->params) : NULL;
            nn_gauss_head_backward(dz + (long)off * top, gmax, gmin,
                                   dout ? dout + (long)off * D : NULL,
                                   dlogvar ? dlogvar + (long)off * D : NULL,
                                   w->pre[L - 1] + (long)off * top, mlp_max_logvar(m, e),
                                   mlp_min_logvar(m, e), cnt, D);
        }
    } else if (dout) {
        memcpy(dz, dout, sizeof(float) * (size_t)(rows * top));
    } else {
        memset(dz, 0, sizeof(float) * (size_t)(rows * top));
    }
    if (w->fm_last) {   // the forward kept feature-major activations (mlp_fm.c)
        mlp_fm_backward(m, w, grad, dinp, dz);
        return;
    }

    for (int l = L - 1; l >= 0; l--) {
        int C = m->sizes[l], OC = m->sizes[l + 1];
        float* din_base = NULL;
        if (l > 0) {
            din_base = dh;
            memset(dh, 0, sizeof(float) * (size_t)(rows * C));
        } else if (dinp) {
            din_base = w->dxn;
            memset(w->dxn, 0, sizeof(float) * (size_t)w->in_rows * C);
        }
        if (!grad && !din_base) break;   // nothing below needs this gradient
        for (int e = 0; e < E; e++) {
            int off = w->row_off[e], cnt = w->row_off[e + 1] - off;
            if (cnt <= 0) continue;
            long in_row = l == 0 ? w->in_off[e] : off;
            const float* in = l == 0 ? w->xn + in_row * C : w->post[l - 1] + in_row * C;
            float* gw = grad ? grad + (mlp_weight(m, e, l) - m->params) : NULL;
            float* gb = grad ? grad + (mlp_bias(m, e, l) - m->params) : NULL;
            nn_linear_backward(din_base ? din_base + in_row * C : NULL, gw, gb,
                               dz + (long)off * OC, in, mlp_weight(m, e, l), cnt, C, OC);
        }
        if (l > 0) {   // through the hidden activation of layer l-1
            memset(dz, 0, sizeof(float) * (size_t)(rows * C));
            nn_act_backward(dz, dh, w->pre[l - 1], w->post[l - 1], rows * C, m->hidden_act);
        }
    }

    if (dinp) {   // x_n = (x - mean) / std  =>  dx += dx_n / std
        for (int r = 0; r < w->in_rows; r++) {
            float* dx = dinp + (long)r * n_in;
            const float* dxn = w->dxn + (long)r * n_in;
            for (int i = 0; i < n_in; i++) dx[i] += dxn[i] / m->in_std[i];
        }
    }
}

// ==== batch-1 inference =========================================================

typedef float v8f __attribute__((vector_size(32)));

// These helpers are static and inlined, so the "AVX vector passed without AVX"
// ABI note GCC gives in builds without -march=native does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

static inline v8f load8(const float* p) {
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float hsum8(v8f v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// y (OC) = W (OC, C) x (C) + b, plain loops: four rows at a time, 8 lanes each.
static void matvec(float* y, const float* W, const float* b, const float* x, int C, int OC) {
    int C8 = C & ~7;
    int o = 0;
    for (; o + 4 <= OC; o += 4) {
        const float* w0 = W + (long)o * C;
        const float* w1 = w0 + C;
        const float* w2 = w1 + C;
        const float* w3 = w2 + C;
        v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int i = 0; i < C8; i += 8) {
            v8f xv = load8(x + i);
            a0 += load8(w0 + i) * xv;
            a1 += load8(w1 + i) * xv;
            a2 += load8(w2 + i) * xv;
            a3 += load8(w3 + i) * xv;
        }
        float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
        for (int i = C8; i < C; i++) {
            s0 += w0[i] * x[i];
            s1 += w1[i] * x[i];
            s2 += w2[i] * x[i];
            s3 += w3[i] * x[i];
        }
        y[o] = s0 + b[o];
        y[o + 1] = s1 + b[o + 1];
        y[o + 2] = s2 + b[o + 2];
        y[o + 3] = s3 + b[o + 3];
    }
    for (; o < OC; o++) {
        const float* w0 = W + (long)o * C;
        v8f a0 = {0};
        for (int i = 0; i < C8; i += 8) a0 += load8(w0 + i) * load8(x + i);
        float s0 = hsum8(a0);
        for (int i = C8; i < C; i++) s0 += w0[i] * x[i];
        y[o] = s0 + b[o];
    }
}

long mlp_infer1_scratch_floats(const Mlp* m) {
    return m->n_in + 2L * max_width(m);
}

void mlp_infer1(const Mlp* m, int e, const float* x, float* y, float* ret_logvar,
                float* scratch) {
    int L = m->n_layers, n_in = m->n_in, mw = max_width(m);
    float* xn = scratch;
    float* h[2] = {scratch + n_in, scratch + n_in + mw};
    for (int i = 0; i < n_in; i++) xn[i] = (x[i] - m->in_mean[i]) / m->in_std[i];
    const float* in = xn;
    for (int l = 0; l < L; l++) {
        float* out = h[l & 1];
        matvec(out, mlp_weight(m, e, l), mlp_bias(m, e, l), in, m->sizes[l], m->sizes[l + 1]);
        if (l < L - 1) nn_act_forward(out, out, m->sizes[l + 1], m->hidden_act);
        in = out;
    }
    if (m->head == MLP_HEAD_GAUSS) {
        int D = m->n_out;
        if (ret_logvar)   // writes the mean (first D raw outputs) into y as well
            nn_gauss_head_forward(y, ret_logvar, in, mlp_max_logvar(m, e), mlp_min_logvar(m, e),
                                  1, D);
        else
            memcpy(y, in, sizeof(float) * D);
    } else {
        memcpy(y, in, sizeof(float) * m->n_out);
    }
}
