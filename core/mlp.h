// SPDX-License-Identifier: Apache-2.0
// mlp.h -- multilayer perceptrons, optionally a stack of E independent members.
//
// An Mlp is constants: sizes, activations, and ONE contiguous parameter block
// (MuJoCo's mjModel). An MlpWork holds everything one forward pass writes and its
// backward reads (mjData): the normalised input and each layer's pre- and
// post-activation, for up to `max_rows` rows. To chain a network H times in one
// differentiable computation (policy and model across H imagined steps) use one
// MlpWork per step. Gradients live in a caller-owned float block of n_params
// floats with the same layout as params, so Adam/Polyak/clipping are flat loops.
//
// Members: n_members = E stacks E independent networks of identical shape (the
// dynamics ensemble, the twin Q-functions) so they share one block and one
// optimiser. Member e's parameters are params[e * n_member_params ...].
// Member parameter layout, layer l = 0..L-1 in order:
//   W_l (sizes[l+1], sizes[l]) row-major, then b_l (sizes[l+1]);
//   then, for MLP_HEAD_GAUSS only: max_logvar (n_out), min_logvar (n_out).
// Inputs are normalised before layer 0: x_n = (x - in_mean) / in_std (shared by
// all members; identity until set). Hidden layers use hidden_act; the last layer
// is linear. A GAUSS head splits the last layer's 2*n_out outputs into mean and a
// soft-bounded logvar (nn_gauss_head_forward).
//
// Thread: an Mlp is read-only during forward/backward and may be shared by
// threads; an MlpWork belongs to one thread. mlp_infer1 is the control loop's
// path: no allocation, no BLAS call (no OpenBLAS thread wake-ups), plain loops.
// Allocation: only the _create/_clone functions.
#ifndef MAAC_MLP_H
#define MAAC_MLP_H

#include "core/nn.h"
#include "core/rng.h"

#define MLP_MAX_LAYERS 8

typedef enum {
    MLP_HEAD_LINEAR = 0,   // output = last layer (n_out = sizes[L])
    MLP_HEAD_GAUSS  = 1,   // sizes[L] = 2*n_out -> mean (n_out), bounded logvar (n_out)
} MlpHead;

typedef struct {
    int n_members;                   // E: stacked independent networks (>= 1)
    int n_layers;                    // L: linear layers (1..MLP_MAX_LAYERS)
    int sizes[MLP_MAX_LAYERS + 1];   // widths; sizes[0] = n_in, sizes[L] = last layer width
    NnAct hidden_act;                // activation after layers 0..L-2
    MlpHead head;                    // LINEAR or GAUSS
    int n_in;                        // sizes[0]
    int n_out;                       // sizes[L] (LINEAR) or sizes[L]/2 (GAUSS)
    long n_member_params;            // floats per member
    long n_params;                   // E * n_member_params
    float* params;                   // (E, n_member_params), owned
    float* in_mean;                  // (n_in) input normalisation mean, owned, init 0
    float* in_std;                   // (n_in) input normalisation std, owned, init 1
} Mlp;

typedef struct MlpWork MlpWork;

// Create a network with zeroed parameters. sizes has n_layers+1 entries.
// For GAUSS, sizes[n_layers] must be even. Returns NULL on bad sizes or OOM.
Mlp* mlp_create(int n_members, int n_layers, const int* sizes, NnAct hidden_act,
                MlpHead head);
// Free a network. Nullable: m.
void mlp_free(Mlp* m);
// Deep copy (params and normalisation). Returns NULL on OOM.
Mlp* mlp_clone(const Mlp* m);
// Copy params and normalisation from src to dst of identical shape.
void mlp_copy(Mlp* dst, const Mlp* src);
// 1 when a and b have identical shape (members, sizes, activation, head).
int mlp_same_shape(const Mlp* a, const Mlp* b);
// Initialise parameters: weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch's
// default), biases 0; GAUSS max_logvar = 0.5, min_logvar = -10 (PETS).
void mlp_init(Mlp* m, Rng* rng);
// Pointer to member e's weight / bias of layer l (views into params).
float* mlp_weight(const Mlp* m, int e, int l);
float* mlp_bias(const Mlp* m, int e, int l);
// Pointer to member e's max_logvar / min_logvar (GAUSS only, else NULL).
float* mlp_max_logvar(const Mlp* m, int e);
float* mlp_min_logvar(const Mlp* m, int e);
// Set input normalisation from data x (N, n_in): per-column mean and std;
// columns with std < 1e-6 get std 1.
void mlp_set_input_norm(Mlp* m, const float* x, long N);

// ---- batched forward / backward ---------------------------------------------
// Create work for up to max_rows rows in total (over all members). NULL on OOM.
MlpWork* mlp_work_create(const Mlp* m, int max_rows);
// Work as mlp_work_create plus feature-major buffers (2 x max width x (max_rows +
// 16 n_members) floats) with which the _mean forwards below run on a register-
// blocked AVX-512 kernel instead of sgemm when the CPU has AVX-512 (a 400-row
// 4 x 200 model forward: 0.45 ms vs 0.85 ms on OpenBLAS 0.3.21, which runs its AVX2
// kernels on Zen 5; docs/cem.md). Other forwards and mlp_backward on such a work
// behave as on a plain one. NULL on OOM.
MlpWork* mlp_work_create_infer(const Mlp* m, int max_rows);
// Forward-only work: as mlp_work_create_infer, and the FULL forwards (mlp_forward,
// _shared, _grouped; a GAUSS head's mean and logvar) run on the same feature-major
// kernel when the CPU has AVX-512, for inference that never backpropagates (the STEVE
// targets: ~2x the rate of OpenBLAS's AVX2 sgemm at these shapes, no packing of the
// weights, no padding of the narrow first layers). Outputs agree with a plain work's
// to float rounding (sequential sums over k, bias first); the layer activations are
// not kept, and mlp_backward must never follow a forward on such a work. NULL on OOM.
MlpWork* mlp_work_create_fwd(const Mlp* m, int max_rows);
// Work as mlp_work_create_fwd whose full forwards also keep every layer's activations
// (row-major, transposed out of the feature-major kernel), so mlp_backward works as on
// a plain work (its sgemms unchanged): the learner's actor. NULL on OOM.
MlpWork* mlp_work_create_fast(const Mlp* m, int max_rows);
// Free work. Nullable: w.
void mlp_work_free(MlpWork* w);
// Process-wide switch of the feature-major kernel (default 1): 0 runs every forward of
// every work through the sgemm path, as on a CPU without AVX-512 (benchmarks compare
// the two in one run; tests). Thread: any (relaxed atomic; set it between updates).
void mlp_set_feature_major(int on);

// Each member e on its own B rows: inp (E*B, n_in), member e reads rows [e*B, (e+1)*B).
// Output (E*B, n_out) in mlp_work_out(w). Requires E*B <= max_rows.
void mlp_forward(const Mlp* m, MlpWork* w, const float* inp, int B);
// Every member on the same B rows: inp (B, n_in). Output (E*B, n_out), member-major.
// Requires E*B <= max_rows.
void mlp_forward_shared(const Mlp* m, MlpWork* w, const float* inp, int B);
// Member e on rows [row_off[e], row_off[e+1]) of inp (N, n_in), N = row_off[E].
// Output (N, n_out), same row order. Empty groups are allowed.
void mlp_forward_grouped(const Mlp* m, MlpWork* w, const float* inp, const int* row_off);

// Mean-only variants of the three forwards, for inference that never backpropagates
// (CEM-MPC scores candidates with the members' mean predictions): a GAUSS head
// computes only the first n_out columns of the last layer (the mean) and skips the
// log-variance and its soft bounds. Only mlp_work_out is valid afterwards (logvar
// and the layer activations are stale) and mlp_backward must not follow. The output
// equals the full forward's to float rounding (the same dot products; a narrower
// sgemm, or the AVX-512 kernel on an mlp_work_create_infer work).
void mlp_forward_mean(const Mlp* m, MlpWork* w, const float* inp, int B);
void mlp_forward_shared_mean(const Mlp* m, MlpWork* w, const float* inp, int B);
void mlp_forward_grouped_mean(const Mlp* m, MlpWork* w, const float* inp, const int* row_off);

// Backward of the last forward made with w. dout (rows, n_out) is dL/d(output)
// (dL/d mean for GAUSS); dlogvar (rows, n_out) is dL/d logvar (GAUSS only).
// Adds into grad (n_params, params layout) and dinp (shape of that forward's inp:
// (B, n_in) for shared, which sums over members). Nullable: grad, dinp, dlogvar.
// Does not modify dout. Uses w's internal scratch.
void mlp_backward(const Mlp* m, MlpWork* w, float* grad, float* dinp,
                  const float* dout, const float* dlogvar);

// Output of the last forward: (rows, n_out); the mean for GAUSS.
float* mlp_work_out(const MlpWork* w);
// Log-variance of the last forward (rows, n_out); NULL unless GAUSS.
float* mlp_work_logvar(const MlpWork* w);
// Rows of the last forward.
int mlp_work_rows(const MlpWork* w);

// Zero a gradient block of m->n_params floats.
void mlp_zero_grad(const Mlp* m, float* grad);

// ---- batch-1 inference (control loop) ---------------------------------------
// Floats of scratch mlp_infer1 needs.
long mlp_infer1_scratch_floats(const Mlp* m);
// y (n_out; mean for GAUSS) = member e of m at x (n_in). With ret_logvar (n_out)
// for GAUSS. Plain loops, no allocation, no BLAS. Nullable: ret_logvar.
void mlp_infer1(const Mlp* m, int e, const float* x, float* y, float* ret_logvar,
                float* scratch);

#endif
