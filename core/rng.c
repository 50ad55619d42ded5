// SPDX-License-Identifier: Apache-2.0
// rng.c -- seeded pseudo-random numbers: xoshiro256** with uniform and normal draws.
//
// xoshiro256** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro256starstar.c),
// seeded by expanding a 64-bit seed with splitmix64 (https://prng.di.unimi.it/splitmix64.c).
// Uniform floats take the top 24 bits (doubles the top 53), so they lie in [0, 1)
// exactly. Normals use Box-Muller on two fresh uniforms with no cached spare, so
// the state alone determines the next draw (see rng.h); rng_normal_fill uses both
// outputs of each pair (float Box-Muller), so its stream differs from n rng_normal
// calls but is equally a function of the state.
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(Rng* rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
    // splitmix64 never yields four zero words from one seed, but guard anyway:
    // the all-zero state is xoshiro's only fixed point.
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3])) rng->s[0] = 1;
}

uint64_t rng_next(Rng* rng) {
    uint64_t* s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform(Rng* rng) {
    return (float)(rng_next(rng) >> 40) * 0x1.0p-24f;   // 24 bits -> [0, 1)
}

double rng_uniform_d(Rng* rng) {
    return (double)(rng_next(rng) >> 11) * 0x1.0p-53;   // 53 bits -> [0, 1)
}

float rng_normal(Rng* rng) {
    // Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1] so the log is finite.
    double u1 = 1.0 - rng_uniform_d(rng);
    double u2 = rng_uniform_d(rng);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t rng_below(Rng* rng, uint32_t n) {
    // Lemire's multiply-shift with rejection of the biased low range.
    uint64_t m = (uint64_t)(uint32_t)(rng_next(rng) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t thresh = (uint32_t)(-n) % n;
        while (low < thresh) {
            m = (uint64_t)(uint32_t)(rng_next(rng) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

// Box-Muller in float on both outputs of a pair: one 64-bit draw gives u1 (top 24
// bits) and u2 (the next 24), and (r cos t, r sin t) fills two slots. The uniforms go
// into a small block first so the log / sqrt / sincos loop runs on its own (a quarter
// of the cost of rng_normal per draw, which matters: the learner draws ~200k normals
// per update). The radius is finite because 1 - u1 >= 2^-24, so draws lie within
// +-5.77; a standard normal exceeds that with probability 8e-9.
void rng_normal_fill(Rng* rng, float* out, long n) {
    enum { BLOCK = 128 };
    float u1[BLOCK], u2[BLOCK];
    long i = 0;
    while (n - i >= 2) {
        long pairs = (n - i) / 2;
        if (pairs > BLOCK) pairs = BLOCK;
        for (long p = 0; p < pairs; p++) {
            uint64_t x = rng_next(rng);
            u1[p] = 1.0f - (float)(x >> 40) * 0x1.0p-24f;                // (0, 1]
            u2[p] = (float)((x >> 16) & 0xffffffu) * 0x1.0p-24f;           // [0, 1)
        }
        for (long p = 0; p < pairs; p++) {
            float r = sqrtf(-2.0f * logf(u1[p]));
            float sn, cs;
            sincosf(6.2831853071795865f * u2[p], &sn, &cs);
            out[i + 2 * p] = r * cs;
            out[i + 2 * p + 1] = r * sn;
        }
        i += 2 * pairs;
    }
    if (i < n) out[i] = rng_normal(rng);
}

void rng_uniform_fill(Rng* rng, float* out, long n, float lo, float hi) {
    // Rounding can land lo + (hi-lo)*u on hi itself; pull such draws back inside.
    float below_hi = nextafterf(hi, lo);
    for (long i = 0; i < n; i++) {
        float v = lo + (hi - lo) * rng_uniform(rng);
        out[i] = v < hi ? v : below_hi;
    }
}
