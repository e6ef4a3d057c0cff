/* lib/forest_bin.c -- feature binning by weighted quantiles and weighted
 * selection (the leaf and initial quantiles).
 *
 * Every feature is cut once, before boosting, into at most max_bins bins
 * whose edges sit between distinct values, so that training (bin indices)
 * and prediction (raw floats binned with the same edges) agree exactly. */
#include "forest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Edges are computed from at most this many rows (as the peers do): the
 * quantiles of 2e5 rows are good to ~0.2% of a bin, sorting all rows of a
 * large sample would dominate the fit. */
#define EDGE_SAMPLE 200000u

typedef struct vw {
    float v, w;
} vw;

static int cmp_vw(const void *a, const void *b)
{
    float x = ((const vw *)a)->v, y = ((const vw *)b)->v;
    return (x > y) - (x < y);
}

/* A float strictly between a < b, or a itself when none is representable
 * nearer the middle: rows at a bin left, rows at b right. */
static float between(float a, float b)
{
    float e = (float)(0.5 * ((double)a + (double)b));
    return (e >= a && e < b) ? e : a;
}

typedef struct edge_job {
    wr__qf_model *m;
    const float *X, *w;
    size_t n, d;
    const size_t *rows; /* sampled rows or NULL for all */
    size_t ns;
    int max_bins;
    vw **scratch;       /* per thread, ns entries */
} edge_job;

/* Distinct sorted values with summed weights, compacted in place. */
static size_t compact(vw *s, size_t ns)
{
    size_t u = 0;
    for (size_t i = 0; i < ns; i++) {
        if (u > 0 && s[u - 1].v == s[i].v) s[u - 1].w += s[i].w;
        else s[u++] = s[i];
    }
    return u;
}

static void feature_edges(edge_job *j, size_t f, vw *s)
{
    size_t ns = j->ns;
    for (size_t r = 0; r < ns; r++) {
        size_t i = j->rows ? j->rows[r] : r;
        s[r].v = j->X[i * j->d + f];
        s[r].w = j->w ? j->w[i] : 1.0f;
    }
    qsort(s, ns, sizeof *s, cmp_vw);
    size_t u = compact(s, ns);
    float *edges = j->m->edges + f * WR__QF_MAX_BINS;
    unsigned nb = 0;
    if (u <= (size_t)j->max_bins) {
        for (size_t k = 0; k + 1 < u; k++) edges[nb++] = between(s[k].v, s[k + 1].v);
    } else {
        double total = 0.0;
        for (size_t k = 0; k < u; k++) total += s[k].w;
        bool unit = !(total > 0.0); /* sampled rows all of weight 0 */
        if (unit) total = (double)u;
        double cum = 0.0;
        size_t k = 0;
        for (int b = 1; b < j->max_bins; b++) {
            double target = total * b / j->max_bins;
            while (k + 1 < u && cum + (unit ? 1.0 : s[k].w) < target) {
                cum += unit ? 1.0 : s[k].w;
                k++;
            }
            if (k + 1 >= u) break;
            float e = between(s[k].v, s[k + 1].v);
            if (nb == 0 || e > edges[nb - 1]) edges[nb++] = e;
        }
    }
    j->m->nbins[f] = (uint8_t)(nb + 1);
}

static void edge_range(void *ctx, size_t b, size_t e, int tid)
{
    edge_job *j = ctx;
    for (size_t f = b; f < e; f++) feature_edges(j, f, j->scratch[tid]);
}

wr_status wr__qf_make_edges(wr__qf_model *m, const float *X, size_t n,
                            const float *w, int max_bins, uint64_t seed,
                            wr__pool *pool)
{
    int nt = wr__pool_threads(pool);
    edge_job j = {m, X, w, n, m->d, NULL, n, max_bins, NULL};
    size_t *rows = NULL;
    if (n > EDGE_SAMPLE) {
        rows = wr__alloc_array(EDGE_SAMPLE, sizeof *rows, "forest bin sample");
        if (!rows) return WR_ERR_NOMEM;
        wr__rng rng;
        wr__rng_seed(&rng, seed, 0);
        for (size_t r = 0; r < EDGE_SAMPLE; r++) rows[r] = (size_t)wr__rng_below(&rng, n);
        j.rows = rows;
        j.ns = EDGE_SAMPLE;
    }
    vw **scratch = calloc((size_t)nt, sizeof *scratch);
    wr_status st = scratch ? WR_OK : wr__fail(WR_ERR_NOMEM, "out of memory binning features");
    for (int t = 0; t < nt && st == WR_OK; t++) {
        scratch[t] = wr__alloc_array(j.ns, sizeof(vw), "forest bin scratch");
        if (!scratch[t]) st = WR_ERR_NOMEM;
    }
    if (st == WR_OK) {
        j.scratch = scratch;
        wr__pool_for(pool, m->d, 1, edge_range, &j);
    }
    for (int t = 0; scratch && t < nt; t++) free(scratch[t]);
    free(scratch);
    free(rows);
    return st;
}

typedef struct bin_job {
    const wr__qf_model *m;
    const float *X;
    uint8_t *out;
} bin_job;

static void bin_range(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    bin_job *j = ctx;
    size_t d = j->m->d;
    for (size_t i = b; i < e; i++)
        for (size_t f = 0; f < d; f++)
            j->out[i * d + f] = wr__qf_bin1(j->m->edges + f * WR__QF_MAX_BINS,
                                            j->m->nbins[f], j->X[i * d + f]);
}

void wr__qf_bin_rows(const wr__qf_model *m, const float *X, size_t n,
                     uint8_t *out, wr__pool *pool)
{
    bin_job j = {m, X, out};
    wr__pool_for(pool, n, 8192, bin_range, &j);
}

static void swap2(float *v, float *w, size_t a, size_t b)
{
    float t = v[a];
    v[a] = v[b];
    v[b] = t;
    if (w) {
        t = w[a];
        w[a] = w[b];
        w[b] = t;
    }
}

static float median3(float a, float b, float c)
{
    if (a > b) { float t = a; a = b; b = t; }
    if (b > c) b = c;
    return a > b ? a : b;
}

/* Final scan of a small range: insertion sort, then accumulate. */
static double small_select(float *v, float *w, size_t lo, size_t hi,
                           double acc, double target, double fallback)
{
    for (size_t i = lo + 1; i < hi; i++)
        for (size_t k = i; k > lo && v[k - 1] > v[k]; k--) swap2(v, w, k - 1, k);
    for (size_t i = lo; i < hi; i++) {
        acc += w ? (double)w[i] : 1.0;
        if (acc >= target) return v[i];
    }
    return hi > lo ? v[hi - 1] : fallback;
}

double wr__qf_wselect(float *v, float *w, size_t m, double acc, double target)
{
    if (m == 0) return 0.0;
    /* Invariant: weight of the values known to lie below [lo, hi) is acc,
     * and acc < target, so the answer lies in [lo, hi). */
    size_t lo = 0, hi = m;
    double fallback = v[m - 1];
    while (hi - lo > 24) {
        float p = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
        size_t lt = lo, i = lo, gt = hi;
        double wl = 0.0, we = 0.0;
        while (i < gt) { /* three-way partition: < p | == p | > p */
            if (v[i] < p) {
                wl += w ? (double)w[i] : 1.0;
                swap2(v, w, i++, lt++);
            } else if (v[i] > p) {
                swap2(v, w, i, --gt);
            } else {
                we += w ? (double)w[i] : 1.0;
                i++;
            }
        }
        fallback = p;
        if (acc + wl >= target) hi = lt;
        else if (acc + wl + we >= target) return p;
        else {
            acc += wl + we;
            lo = gt;
        }
    }
    return small_select(v, w, lo, hi, acc, target, fallback);
}

double wr__qf_wquantile(float *v, float *w, size_t m, double tau)
{
    if (m == 0) return 0.0;
    double total = 0.0;
    if (w) for (size_t i = 0; i < m; i++) total += w[i];
    else total = (double)m;
    if (!(total > 0.0)) return 0.0;
    return wr__qf_wselect(v, w, m, 0.0, tau * total);
}
