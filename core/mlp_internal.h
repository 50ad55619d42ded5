// SPDX-License-Identifier: Apache-2.0
// mlp_internal.h -- MlpWork's layout, shared by mlp.c (plans, sgemm path, backward) and
// mlp_fm.c (the AVX-512 feature-major path). Not part of the API: include mlp.h.
#ifndef MAAC_MLP_INTERNAL_H
#define MAAC_MLP_INTERNAL_H

#include "core/mlp.h"

struct MlpWork {
    int n_members;                   // E of the Mlp this work was made for
    int n_layers;                    // L
    int sizes[MLP_MAX_LAYERS + 1];   // widths (copied, for checks)
    int max_rows;                    // capacity in rows (all members together)
    int rows;                        // output rows of the last forward (0: none yet)
    int in_rows;                     // input rows of the last forward
    int mean_only;                   // 1: the last forward was a _mean one (no backward)
    int fwd_only;                    // 1: mlp_work_create_fwd (full forwards feature-major)
    int keep_fm;                     // 1: mlp_work_create_fast (feature-major, activations kept)
    int fm_last;                     // 1: the last forward kept feature-major activations
    int* row_off;                    // (E+1) output row offsets of the last forward
    int* in_off;                     // (E) input row offset of each member
    float* xn;                       // (max_rows, n_in) normalised input
    float* pre[MLP_MAX_LAYERS];      // (max_rows, sizes[l+1]) layer l pre-activation
    float* post[MLP_MAX_LAYERS];     // (max_rows, sizes[l+1]) act(pre), l < L-1
    float* mean;                     // (max_rows, n_out) GAUSS mean; LINEAR: = pre[L-1]
    float* logvar;                   // (max_rows, n_out) GAUSS only, else NULL
    float* dz;                       // (max_rows, max width) d pre-activation scratch
    float* dh;                       // (max_rows, max width) d post-activation scratch
    float* dxn;                      // (max_rows, n_in) d normalised input scratch
    void* block;                     // the single allocation behind all of the above
    // mlp_work_create_infer only (else 0 / NULL): feature-major buffers of the
    // AVX-512 mean-only path, each member's columns padded to a multiple of 16.
    int tcols;                       // columns of each feature-major buffer
    int* tcol_off;                   // (E+1) column offset of each member's group
    float* tbuf[2];                  // (max width, tcols) ping-pong activations
    void* tblock;                    // allocation behind tbuf
    // mlp_work_create_fast only (else NULL): what the feature-major backward reads,
    // each (width, tcols) with the member column groups of tcol_off.
    float* fxn;                      // (n_in, tcols) normalised input
    float* fpre[MLP_MAX_LAYERS];     // (sizes[l+1], tcols) pre-activation, l < L-1
    float* fpost[MLP_MAX_LAYERS];    // (sizes[l+1], tcols) act(pre), l < L-1
    float *fdz, *fdh;                // (max width, tcols) backward scratch
    void* fblock;                    // allocation behind the above
};

// GAUSS: mean and logvar of every member's rows from the raw last layer (pre[L-1]).
void mlp_gauss_head_rows(const Mlp* m, MlpWork* w);

// The forward of the plan in w (row_off, in_off, rows, in_rows set) on the feature-major
// path: mean-only (full = 0) or every output (full = 1; a GAUSS head's mean and logvar
// through pre[L-1]); a fast work (keep_fm) keeps its activations for mlp_fm_backward and
// sets fm_last. Returns 0, doing nothing, without feature-major buffers or AVX-512.
int mlp_fm_forward(const Mlp* m, MlpWork* w, const float* inp, int full);
// Backward of the last forward when it kept its activations (fm_last): dz (rows,
// sizes[L]) row-major is dL/d(raw last layer); grad and dinp as mlp_backward (+=).
void mlp_fm_backward(const Mlp* m, MlpWork* w, float* grad, float* dinp, const float* dz);
// Allocate a work's fast-path buffers (fxn, fpre, fpost, fdz, fdh). 0 or -1 on OOM.
int mlp_fm_alloc(const Mlp* m, MlpWork* w);

#endif
