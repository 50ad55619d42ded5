// SPDX-License-Identifier: Apache-2.0
// rng.h -- seeded pseudo-random numbers: xoshiro256** with uniform and normal draws.
//
// State lives in an explicit struct (SQLite random.c style), never a global, so a
// seed reproduces every draw bit for bit. Seeding expands the 64-bit seed with
// splitmix64. Normal draws use Box-Muller on two uniforms (no cached spare, so the
// state alone determines the next draw).
// Thread: any, one Rng per thread. Allocates nothing.
#ifndef MAAC_RNG_H
#define MAAC_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];   // xoshiro256** state
} Rng;

// Seed the generator; the same seed gives the same stream.
void rng_seed(Rng* rng, uint64_t seed);

// Next raw 64-bit value.
uint64_t rng_next(Rng* rng);

// Uniform float in [0, 1).
float rng_uniform(Rng* rng);

// Uniform double in [0, 1).
double rng_uniform_d(Rng* rng);

// Standard normal float N(0, 1).
float rng_normal(Rng* rng);

// Uniform integer in [0, n), n > 0 (unbiased).
uint32_t rng_below(Rng* rng, uint32_t n);

// Fill out[0..n) with standard normal draws (float Box-Muller on pairs: a different
// stream from n rng_normal calls, and ~4x faster; |draw| <= 5.77).
void rng_normal_fill(Rng* rng, float* out, long n);

// Fill out[0..n) with uniform draws in [lo, hi).
void rng_uniform_fill(Rng* rng, float* out, long n, float lo, float hi);

#endif
