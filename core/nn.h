// SPDX-License-Identifier: Apache-2.0
// nn.h -- dense-layer, activation and Gaussian-head kernels with their gradients.
//
// llm.c style: each op is a `_forward` / `_backward` pair of free functions over
// flat float arrays. Argument order: outputs, then inputs, then weights, sizes
// last. Backward takes the d-outputs and the forward's inputs/outputs and ADDS
// (+=) into the d-inputs and d-weights; any d-argument may be NULL to skip it.
// Legend: B rows (batch), C input width, OC output width, D Gaussian dimension.
// Row-major everywhere; a weight is (OC, C) as in torch.nn.Linear.
// Thread: any. Allocates nothing.
#ifndef MAAC_NN_H
#define MAAC_NN_H

typedef enum {
    NN_ACT_LINEAR = 0,  // identity
    NN_ACT_RELU   = 1,  // max(0, x)
    NN_ACT_SWISH  = 2,  // x * sigmoid(x)  (SiLU)
    NN_ACT_TANH   = 3,  // tanh(x)
} NnAct;

// Name of an activation ("linear", "relu", "swish", "tanh").
const char* nn_act_name(NnAct act);
// Parse a name (also accepts "silu" for swish); returns 0 or -EINVAL.
int nn_act_parse(const char* name, NnAct* ret_act);

// ---- dense layer: out = inp @ weight^T + bias ------------------------------
// out (B, OC); inp (B, C); weight (OC, C); bias (OC). cblas_sgemm.
void nn_linear_forward(float* out, const float* inp, const float* weight,
                       const float* bias, int B, int C, int OC);
// dinp (B, C) += dout @ weight; dweight (OC, C) += dout^T @ inp; dbias (OC) += sum_rows dout.
// Nullable: dinp, dweight, dbias.
void nn_linear_backward(float* dinp, float* dweight, float* dbias,
                        const float* dout, const float* inp, const float* weight,
                        int B, int C, int OC);
// Plain-loop reference of the two above (for tests and as a readable spec).
void nn_linear_forward_naive(float* out, const float* inp, const float* weight,
                             const float* bias, int B, int C, int OC);
void nn_linear_backward_naive(float* dinp, float* dweight, float* dbias,
                              const float* dout, const float* inp, const float* weight,
                              int B, int C, int OC);

// ---- elementwise activations ----------------------------------------------
// out[i] = act(inp[i]) for i < n. out may equal inp for LINEAR/RELU/TANH.
void nn_act_forward(float* out, const float* inp, long n, NnAct act);
// dinp[i] += dout[i] * act'(inp[i]); `out` is the forward output (used by tanh).
void nn_act_backward(float* dinp, const float* dout, const float* inp,
                     const float* out, long n, NnAct act);

// softplus: out (n) = log(1 + e^inp), vectorised (no libm call), within a few ulp of
// log1pf(expf()); NaN in gives NaN. out may equal inp.
void nn_softplus_forward(float* out, const float* inp, long n);

// ---- Gaussian head with soft-bounded log-variance (PETS) -------------------
// raw (B, 2D) = [mean | raw_logvar] per row. Per dimension j:
//   logvar = max_logvar[j] - softplus(max_logvar[j] - raw_logvar)
//   logvar = min_logvar[j] + softplus(logvar - min_logvar[j])
// mean (B, D), logvar (B, D); max_logvar, min_logvar (D) are learnable.
void nn_gauss_head_forward(float* mean, float* logvar, const float* raw,
                           const float* max_logvar, const float* min_logvar, int B, int D);
// draw (B, 2D) += ...; dmax_logvar, dmin_logvar (D) += ... Nullable: every d-output, dmean, dlogvar.
void nn_gauss_head_backward(float* draw, float* dmax_logvar, float* dmin_logvar,
                            const float* dmean, const float* dlogvar, const float* raw,
                            const float* max_logvar, const float* min_logvar, int B, int D);

// ---- Gaussian negative log-likelihood (up to constants, PETS/MBPO form) ----
// loss = 1/(B*D) * sum_{b,j} [ (target - mean)^2 * exp(-logvar) + logvar ].
// mean, logvar, target (B, D). Returns the loss.
float nn_gauss_nll_forward(const float* mean, const float* logvar, const float* target,
                           int B, int D);
// dmean, dlogvar (B, D) += dloss * d loss / d(mean, logvar). Nullable: dmean, dlogvar.
void nn_gauss_nll_backward(float* dmean, float* dlogvar, float dloss, const float* mean,
                           const float* logvar, const float* target, int B, int D);

// ---- mean squared error ----------------------------------------------------
// loss = 1/n * sum (pred - target)^2; returns it.
float nn_mse_forward(const float* pred, const float* target, long n);
// dpred += dloss * 2/n * (pred - target).
void nn_mse_backward(float* dpred, float dloss, const float* pred, const float* target, long n);

#endif
