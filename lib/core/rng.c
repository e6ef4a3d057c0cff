/* lib/core/rng.c -- xoshiro256** (Blackman & Vigna) seeded via splitmix64.
 * Streams: (seed, stream) -> independent state, so work split into chunks
 * draws the same numbers whatever the number of threads. */
#include "core.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void wr__rng_seed(wr__rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (0xD1B54A32D192ED03ull * (stream + 1));
    /* mix the stream in twice so nearby (seed, stream) pairs decorrelate */
    x = splitmix64(&x) ^ stream;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t wr__rng_u64(wr__rng *r) { return wr__rng_step(r->s); }

double wr__rng_uniform(wr__rng *r) { return wr__rng_u01(wr__rng_step(r->s)); }

uint64_t wr__rng_below(wr__rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* Lemire's nearly divisionless method */
    __uint128_t m = (__uint128_t)wr__rng_u64(r) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            m = (__uint128_t)wr__rng_u64(r) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double wr__rng_normal(wr__rng *r)
{
    /* Marsaglia polar method; one value per call keeps the stream simple */
    double u, v, s;
    do {
        u = 2.0 * wr__rng_uniform(r) - 1.0;
        v = 2.0 * wr__rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double wr__rng_exponential(wr__rng *r) { return -log(wr__rng_uniform(r)); }

uint32_t wr__rng_poisson(wr__rng *r, double mean)
{
    if (!(mean > 0.0)) return 0;
    if (mean < 30.0) {
        /* multiplication method: exact, cost O(mean) */
        const double limit = exp(-mean);
        double p = wr__rng_uniform(r);
        uint32_t k = 0;
        while (p > limit) {
            p *= wr__rng_uniform(r);
            k++;
        }
        return k;
    }
    /* split into chunks of mean < 30 (sum of Poissons is Poisson): exact */
    if (mean <= 1000.0) {
        uint32_t k = 0;
        int parts = (int)ceil(mean / 25.0);
        for (int i = 0; i < parts; i++) k += wr__rng_poisson(r, mean / parts);
        return k;
    }
    double x = floor(mean + sqrt(mean) * wr__rng_normal(r) + 0.5);
    return x < 0.0 ? 0u : (uint32_t)x;
}
