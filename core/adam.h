// SPDX-License-Identifier: Apache-2.0
// adam.h -- Adam/AdamW optimiser, Polyak averaging and gradient-norm clipping.
//
// Flat loops over a parameter block and a gradient block of the same layout
// (llm.c's AdamW). Adam (Kingma & Ba 2015) with bias correction:
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   m_hat = m / (1-b1^t); v_hat = v / (1-b2^t);
//   p -= lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p)   (decoupled, AdamW)
// Thread: learner. Allocation: adam_create only.
#ifndef MAAC_ADAM_H
#define MAAC_ADAM_H

typedef struct {
    long n;              // parameters
    long t;              // steps taken
    float lr;            // learning rate
    float beta1, beta2;  // moment decay (0.9, 0.999)
    float eps;           // 1e-8
    float weight_decay;  // decoupled weight decay (0 = plain Adam)
    float* m;            // (n) first moment, owned
    float* v;            // (n) second moment, owned
} Adam;

// Create an optimiser for n parameters with learning rate lr and default betas.
// Returns NULL on OOM.
Adam* adam_create(long n, float lr);
// Free. Nullable: a.
void adam_free(Adam* a);
// Reset moments and step count.
void adam_reset(Adam* a);
// One update of params (n) from grad (n).
void adam_step(Adam* a, float* params, const float* grad);
// The same update on elements [i0, i1) only, with the bias correction of step t + 1,
// and without counting the step: parts of one block may be stepped by different
// threads at once (disjoint ranges), then adam_advance counts the step once.
// adam_step(a, p, g) == adam_step_range(a, p, g, 0, n) then adam_advance(a).
void adam_step_range(const Adam* a, float* params, const float* grad, long i0, long i1);
void adam_advance(Adam* a);

// target = (1 - tau) * target + tau * source, over n floats.
void nn_polyak_update(float* target, const float* source, long n, float tau);
// Scale grad so its L2 norm is at most max_norm; returns the norm before clipping.
float nn_clip_grad_norm(float* grad, long n, float max_norm);

#endif
