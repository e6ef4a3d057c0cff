/* lib/morph.c -- wr_morpher: N-dimensional k-conditional quantile morphing
 * (Knothe-Rosenblatt chain of 2N quantile forests).  docs/morph.md.
 *
 * Layout of this file:
 *   coordinates   bounded variables <-> the unbounded "t" coordinate
 *   grid maps     one event's sim/data quantile rows -> u and t' (linear or
 *                 PCHIP between levels, exponential tails outside)
 *   handle        create/free/parameters/bounds
 *   fit           the 2N forests, built aside and swapped in on success
 *   apply         chunked, multi-threaded chain
 *   payload       save/load with the forests' own bytes embedded
 */
#include "core.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MORPH_KIND_VERSION 1u
#define MORPH_MAX_DIM 64
#define MORPH_MAX_LEVELS 4096
/* Events per apply chunk: large enough to amortise a forest predict call,
 * small enough that the per-thread scratch stays in cache. */
#define MORPH_CHUNK 1024
/* Relative floor of the distance to a bound before the log/logit: keeps t
 * finite for values sitting exactly on a bound (|h| = 0, dphi = pi). */
#define MORPH_BOUND_FLOOR 1e-12
/* Inputs may pass a bound by this relative amount (float rounding of pi). */
#define MORPH_BOUND_SLACK 1e-6
/* Minimal spacing of consecutive quantiles, relative to the spread of the
 * forest's training targets: makes F strictly increasing. */
#define MORPH_REL_GAP 1e-7

/* ================================================================ params */
enum { INTERP_LINEAR = 0, INTERP_PCHIP = 1 };

typedef struct mparams {
    int64_t threads;
    int interp;
    double val_frac;
    int64_t seed;
    int data_from_sim;
} mparams;

static const char *const INTERP_NAMES[] = {"linear", "pchip", NULL};
static const char *const DATA_FOREST_NAMES[] = {"separate", "from_sim", NULL};
static const wr__param_desc MDESC[] = {
    {"threads", WR__P_INT, offsetof(mparams, threads), 0, 4096, "0", NULL,
     "threads of fit and apply (0 = all cores)"},
    {"interpolation", WR__P_CHOICE, offsetof(mparams, interp), 0, 0, "linear",
     INTERP_NAMES, "quantile function between levels: linear or pchip"},
    {"validation_fraction", WR__P_DOUBLE, offsetof(mparams, val_frac), 0, 0.5,
     "0", NULL, "share of each sample held out for early stopping"},
    {"seed", WR__P_INT, offsetof(mparams, seed), 0, 9.0e15, "1", NULL,
     "seed of the validation split"},
    {"data_forest", WR__P_CHOICE, offsetof(mparams, data_from_sim), 0, 0, "separate",
     DATA_FOREST_NAMES, "data forests: separate, or from_sim (continue the simulation's)"},
};
static const wr__param_table MTABLE = {"morpher", MDESC,
                                       sizeof MDESC / sizeof MDESC[0],
                                       sizeof(mparams)};

/* ================================================================ types */
/* A fitted model.  Immutable once built, so apply needs no locks. */
typedef struct mfit {
    size_t n_y, n_z, nq;
    double *lo, *hi;               /* bounds at fit time, n_y each */
    wr_quantile_forest **f[2];     /* [0] sim, [1] data; n_y forests each */
    double *gap[2];                /* minimal quantile spacing per forest */
} mfit;

struct wr_morpher {
    size_t n_y, n_z, nq;
    double *levels;
    double *lo, *hi;      /* bounds for the next fit */
    mparams p;
    char *kv[2];          /* forest parameters: [0] sim, [1] data */
    wr_progress_fn progress;
    void *progress_user;
    mfit *fit;
};

/* ========================================================== coordinates */
/* Forests learn a bounded variable in an unbounded coordinate t: log of the
 * distance to a single bound, logit inside an interval.  Quantiles commute
 * with monotone maps, so the quantiles of t are the mapped quantiles of y,
 * and anything computed in t maps back inside the bounds. */
static double floor_of(double lo, double hi)
{
    double s = 1.0;
    if (isfinite(lo) && fabs(lo) > s) s = fabs(lo);
    if (isfinite(hi) && fabs(hi) > s) s = fabs(hi);
    return MORPH_BOUND_FLOOR * s;
}

static double to_t(double y, double lo, double hi)
{
    bool fl = isfinite(lo), fh = isfinite(hi);
    if (!fl && !fh) return y;
    double eps = floor_of(lo, hi);
    if (fl && !fh) return log(fmax(y - lo, eps));
    if (!fl && fh) return -log(fmax(hi - y, eps));
    double a = fmax(y - lo, eps * (hi - lo)), b = fmax(hi - y, eps * (hi - lo));
    return log(a) - log(b);
}

/* Largest float <= hi and smallest float >= lo, so the float result is
 * inside the bounds whatever the rounding. */
static float clamp_float(double y, double lo, double hi)
{
    float f = (float)y;
    if (isfinite(lo) && (double)f < lo) f = nextafterf((float)lo, INFINITY);
    if (isfinite(lo) && (double)f < lo) f = nextafterf(f, INFINITY);
    if (isfinite(hi) && (double)f > hi) f = nextafterf((float)hi, -INFINITY);
    if (isfinite(hi) && (double)f > hi) f = nextafterf(f, -INFINITY);
    if (f > FLT_MAX) f = FLT_MAX;
    if (f < -FLT_MAX) f = -FLT_MAX;
    return f;
}

static float from_t(double t, double lo, double hi)
{
    bool fl = isfinite(lo), fh = isfinite(hi);
    double y;
    if (!fl && !fh) y = t;
    else if (fl && !fh) y = lo + exp(fmin(t, 700.0));
    else if (!fl && fh) y = hi - exp(fmin(-t, 700.0));
    else {
        /* logistic, written to stay accurate at both ends */
        double w = hi - lo;
        y = t >= 0 ? hi - w / (1.0 + exp(fmin(t, 700.0)))
                   : lo + w / (1.0 + exp(fmin(-t, 700.0)));
    }
    return clamp_float(y, lo, hi);
}

/* Checks one value against its bounds (with the float-rounding slack). */
static bool within(double y, double lo, double hi)
{
    double s = MORPH_BOUND_SLACK * floor_of(lo, hi) / MORPH_BOUND_FLOOR;
    return !(y < lo - s) && !(y > hi + s);
}

/* ============================================================ grid maps */
/* One event, one variable: `qs` and `qd` are the Q sim and data quantiles
 * of t at the levels `tau`, sorted and strictly increasing.  Computes
 * u = F_sim(t) and t' = F_data^-1(u).
 *
 * Between levels: the quantile function Q(tau) is interpolated linearly or
 * by PCHIP (Fritsch-Carlson).  Both interpolants of one event share the
 * tau grid, so t in the sim segment [qs_i, qs_i+1] maps into the data
 * segment [qd_i, qd_i+1] at the same position in tau.
 * Tails: F(t) = tau_1 exp((t - q_1)/b_lo) below q_1, and
 * 1 - F(t) = (1 - tau_Q) exp(-(t - q_Q)/b_hi) above q_Q, with b fitted to
 * the two outer quantiles of each side (the exponential through both) and
 * at least tail_floor().
 * With equal levels on both sides, the tail part of T is the linear map
 * t' = qd_1 + (b_lo_d / b_lo_s)(t - qs_1), its slope bounded by
 * tail_slope(): no precision is lost however far out t is. */
typedef struct gridmap {
    const double *tau;
    size_t nq;
    int interp;
} gridmap;

/* A tenth of the scale the row's whole range implies, (q_Q - q_1) over the
 * logit distance of the outer levels: the least tail scale accepted.  A
 * forest can predict the two outer quantiles of one side almost equal
 * where it saw few events (a row spread only to the minimal gap); the
 * exponential through them would then have a scale near 0, and the tail
 * map t' = qd + (b_data / b_sim)(t - qs) a slope of 1e6, throwing events to
 * the bounds (|h| = 0 or FLT_MAX).  Healthy rows are far above the floor
 * (a Gaussian's upper tail 0.42 sigma against 0.05 sigma; ln of a Rayleigh
 * variable, the shortest tail of the recoil magnitude, 0.13 against 0.03),
 * and an affine relation between two rows keeps its exact tails. */
static double tail_floor(const gridmap *g, const double *q)
{
    size_t k = g->nq - 1;
    double a = g->tau[0], b = g->tau[k];
    return 0.1 * (q[k] - q[0]) / log(b * (1.0 - a) / (a * (1.0 - b)));
}

static double tail_lo(const gridmap *g, const double *q)
{
    double b = (q[1] - q[0]) / log(g->tau[1] / g->tau[0]);
    return fmax(b, tail_floor(g, q));
}

static double tail_hi(const gridmap *g, const double *q)
{
    size_t k = g->nq - 1;
    double b = (q[k] - q[k - 1]) / log((1.0 - g->tau[k - 1]) / (1.0 - g->tau[k]));
    return fmax(b, tail_floor(g, q));
}

/* Slope of the map in a tail: the ratio of the data and simulation tail
 * scales, kept within a factor TAIL_SLOPE_RANGE of the row's overall slope
 * (qd_Q - qd_1) / (qs_Q - qs_1).  The tail scales come from two quantiles
 * each, the noisiest of the row; an event far out in a tail moves by the
 * slope times its distance, and in a log coordinate (|h|) a slope of 10
 * made |h| e^10 times larger.  Rows related by an affine map keep their
 * exact tails (the slope equals the overall one). */
#define TAIL_SLOPE_RANGE 2.0
static double tail_slope(const gridmap *g, const double *qs, const double *qd, double slope)
{
    size_t k = g->nq - 1;
    double overall = (qd[k] - qd[0]) / (qs[k] - qs[0]);
    return fmin(fmax(slope, overall / TAIL_SLOPE_RANGE), overall * TAIL_SLOPE_RANGE);
}

/* Fritsch-Carlson slope of Q(tau) at knot k (shape preserving: every
 * secant is positive here, so every slope is positive and at most three
 * times the adjacent secants, which keeps each cubic monotone). */
static double pchip_slope(const gridmap *g, const double *q, size_t k)
{
    const double *x = g->tau;
    size_t n = g->nq;
    if (n == 2) return (q[1] - q[0]) / (x[1] - x[0]);
    if (k == 0 || k == n - 1) {
        size_t a = k == 0 ? 0 : n - 2, b = k == 0 ? 1 : n - 3;
        double h0 = fabs(x[a + 1] - x[a]), h1 = fabs(x[b + 1] - x[b]);
        double d0 = (q[a + 1] - q[a]) / (x[a + 1] - x[a]);
        double d1 = (q[b + 1] - q[b]) / (x[b + 1] - x[b]);
        double d = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
        /* keep the end slope inside [d0/2, 3 d0]: positive (F has a finite
         * density at the end knot) and monotone */
        return fmin(fmax(d, 0.5 * d0), 3.0 * d0);
    }
    double h0 = x[k] - x[k - 1], h1 = x[k + 1] - x[k];
    double d0 = (q[k] - q[k - 1]) / h0, d1 = (q[k + 1] - q[k]) / h1;
    double w1 = 2.0 * h1 + h0, w2 = h1 + 2.0 * h0;
    return (w1 + w2) / (w1 / d0 + w2 / d1);
}

/* Cubic Hermite on segment i at position s in [0, 1] (h = segment width). */
static double hermite(double q0, double q1, double m0, double m1, double h,
                      double s)
{
    double s2 = s * s, s3 = s2 * s;
    return (2 * s3 - 3 * s2 + 1) * q0 + (s3 - 2 * s2 + s) * h * m0 +
           (-2 * s3 + 3 * s2) * q1 + (s3 - s2) * h * m1;
}

static double hermite_d(double q0, double q1, double m0, double m1, double h,
                        double s)
{
    double s2 = s * s;
    return (6 * s2 - 6 * s) * (q0 - q1) + (3 * s2 - 4 * s + 1) * h * m0 +
           (3 * s2 - 2 * s) * h * m1;
}

/* Solves hermite(s) = t for s in [0, 1]: Newton steps kept inside a
 * shrinking bracket (the cubic is monotone, so the bracket always holds
 * the root). */
static double hermite_solve(double q0, double q1, double m0, double m1,
                            double h, double t)
{
    double a = 0.0, b = 1.0, s = (t - q0) / (q1 - q0);
    for (int it = 0; it < 60; it++) {
        double f = hermite(q0, q1, m0, m1, h, s) - t;
        if (f > 0) b = s; else a = s;
        double d = hermite_d(q0, q1, m0, m1, h, s);
        double next = d > 0 ? s - f / d : 0.5 * (a + b);
        if (!(next > a && next < b)) next = 0.5 * (a + b);
        if (fabs(next - s) <= 1e-14) return next;
        s = next;
    }
    return s;
}

/* Index i of the segment [q_i, q_i+1] holding t (q_0 <= t <= q_Q-1). */
static size_t find_segment(const double *q, size_t nq, double t)
{
    size_t a = 0, b = nq - 1; /* invariant: q[a] <= t <= q[b] */
    while (b - a > 1) {
        size_t m = (a + b) / 2;
        if (q[m] <= t) a = m; else b = m;
    }
    return a;
}

/* The map of one event: t (sim) -> t' (data) and u. */
static double grid_map(const gridmap *g, const double *qs, const double *qd,
                       double t, double *u)
{
    size_t k = g->nq - 1;
    if (t < qs[0]) {
        double bs = tail_lo(g, qs), z = (t - qs[0]) / bs;
        /* far out the tail u would round to 0 (or 1 below): keep it
         * inside the open interval the API promises */
        *u = fmax(g->tau[0] * exp(z), DBL_MIN);
        return qd[0] + tail_slope(g, qs, qd, tail_lo(g, qd) / bs) * (t - qs[0]);
    }
    if (t > qs[k]) {
        double bs = tail_hi(g, qs), z = (t - qs[k]) / bs;
        *u = fmin(1.0 - (1.0 - g->tau[k]) * exp(-z), 1.0 - DBL_EPSILON / 2);
        return qd[k] + tail_slope(g, qs, qd, tail_hi(g, qd) / bs) * (t - qs[k]);
    }
    size_t i = find_segment(qs, g->nq, t);
    double h = g->tau[i + 1] - g->tau[i];
    double s;
    if (g->interp == INTERP_PCHIP) {
        double ms0 = pchip_slope(g, qs, i), ms1 = pchip_slope(g, qs, i + 1);
        s = hermite_solve(qs[i], qs[i + 1], ms0, ms1, h, t);
        double md0 = pchip_slope(g, qd, i), md1 = pchip_slope(g, qd, i + 1);
        *u = g->tau[i] + s * h;
        return hermite(qd[i], qd[i + 1], md0, md1, h, s);
    }
    s = (t - qs[i]) / (qs[i + 1] - qs[i]);
    *u = g->tau[i] + s * h;
    return qd[i] + s * (qd[i + 1] - qd[i]);
}

/* Entry points of the pure-math parts for tests/test_morph.c (hidden from
 * the shared library by -fvisibility=hidden, reachable in the static one). */
double wr__morph_grid_map(const double *tau, size_t nq, int pchip,
                          const double *qs, const double *qd, double t,
                          double *u);
double wr__morph_grid_map(const double *tau, size_t nq, int pchip,
                          const double *qs, const double *qd, double t,
                          double *u)
{
    gridmap g = {tau, nq, pchip ? INTERP_PCHIP : INTERP_LINEAR};
    return grid_map(&g, qs, qd, t, u);
}

double wr__morph_to_t(double y, double lo, double hi);
double wr__morph_to_t(double y, double lo, double hi) { return to_t(y, lo, hi); }
float wr__morph_from_t(double t, double lo, double hi);
float wr__morph_from_t(double t, double lo, double hi) { return from_t(t, lo, hi); }

/* Sorts a predicted row (insertion sort: rows arrive sorted or nearly) and
 * spreads it to a strictly increasing one with spacing >= gap. */
static void prepare_row(const float *in, double *out, size_t nq, double gap)
{
    for (size_t i = 0; i < nq; i++) {
        double v = in[i];
        size_t j = i;
        while (j > 0 && out[j - 1] > v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    for (size_t i = 1; i < nq; i++)
        if (out[i] < out[i - 1] + gap) out[i] = out[i - 1] + gap;
}

/* ================================================================ handle */
static void mfit_free(mfit *f)
{
    if (!f) return;
    for (int d = 0; d < 2; d++) {
        if (f->f[d])
            for (size_t j = 0; j < f->n_y; j++) wr_qforest_free(f->f[d][j]);
        free(f->f[d]);
        free(f->gap[d]);
    }
    free(f->lo);
    free(f->hi);
    free(f);
}

static mfit *mfit_new(size_t n_y, size_t n_z, size_t nq)
{
    mfit *f = calloc(1, sizeof *f);
    if (!f) {
        wr__fail(WR_ERR_NOMEM, "wr_morpher: out of memory");
        return NULL;
    }
    f->n_y = n_y;
    f->n_z = n_z;
    f->nq = nq;
    f->lo = wr__alloc_array(n_y, sizeof(double), "morpher bounds");
    f->hi = wr__alloc_array(n_y, sizeof(double), "morpher bounds");
    for (int d = 0; d < 2; d++) {
        f->f[d] = wr__calloc_array(n_y, sizeof(wr_quantile_forest *), "forests");
        f->gap[d] = wr__calloc_array(n_y, sizeof(double), "forest gaps");
    }
    if (!f->lo || !f->hi || !f->f[0] || !f->f[1] || !f->gap[0] || !f->gap[1]) {
        mfit_free(f);
        return NULL;
    }
    return f;
}

WR_API void wr_morpher_free(wr_morpher *m)
{
    if (!m) return;
    mfit_free(m->fit);
    free(m->levels);
    free(m->lo);
    free(m->hi);
    free(m->kv[0]);
    free(m->kv[1]);
    free(m);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    else wr__fail(WR_ERR_NOMEM, "wr_morpher: out of memory copying a string");
    return c;
}

static const double DEFAULT_LEVELS[21] = {
    0.01, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50,
    0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.99};

static wr_status check_dims(const char *fn, size_t n_y, size_t n_z,
                            const double *levels, size_t nq)
{
    if (n_y < 1)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'n_y': must be at least 1", fn);
    if (n_z > MORPH_MAX_DIM || n_y > MORPH_MAX_DIM - n_z)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: arguments 'n_y' + 'n_z': %zu + %zu exceeds %d",
                        fn, n_y, n_z, MORPH_MAX_DIM);
    if (!levels && nq == 0) return WR_OK;
    if (nq < 2 || nq > MORPH_MAX_LEVELS)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'n_levels': %zu, need 2 to %d levels",
                        fn, nq, MORPH_MAX_LEVELS);
    return wr__check_levels(fn, "levels", levels, nq);
}

static wr_morpher *morpher_alloc(size_t n_y, size_t n_z, const double *levels,
                                 size_t nq)
{
    wr_morpher *m = calloc(1, sizeof *m);
    if (!m) {
        wr__fail(WR_ERR_NOMEM, "wr_morpher_create: out of memory");
        return NULL;
    }
    m->n_y = n_y;
    m->n_z = n_z;
    m->nq = nq;
    wr__params_defaults(&MTABLE, &m->p);
    m->levels = wr__alloc_array(nq, sizeof(double), "morpher levels");
    m->lo = wr__alloc_array(n_y, sizeof(double), "morpher bounds");
    m->hi = wr__alloc_array(n_y, sizeof(double), "morpher bounds");
    m->kv[0] = dup_str("");
    m->kv[1] = dup_str("");
    if (!m->levels || !m->lo || !m->hi || !m->kv[0] || !m->kv[1]) {
        wr_morpher_free(m);
        return NULL;
    }
    memcpy(m->levels, levels, nq * sizeof(double));
    for (size_t j = 0; j < n_y; j++) {
        m->lo[j] = -INFINITY;
        m->hi[j] = INFINITY;
    }
    return m;
}

WR_API wr_status wr_morpher_create(size_t n_y, size_t n_z,
                                   const double *levels, size_t n_levels,
                                   wr_morpher **out)
{
    static const char *fn = "wr_morpher_create";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (st == WR_OK) st = check_dims(fn, n_y, n_z, levels, n_levels);
    if (st != WR_OK) return st;
    if (!levels && n_levels == 0) {
        levels = DEFAULT_LEVELS;
        n_levels = sizeof DEFAULT_LEVELS / sizeof DEFAULT_LEVELS[0];
    }
    wr_morpher *m = morpher_alloc(n_y, n_z, levels, n_levels);
    if (!m) return WR_ERR_NOMEM;
    *out = m;
    return WR_OK;
}

WR_API size_t wr_morpher_n_y(const wr_morpher *m) { return m ? m->n_y : 0; }
WR_API size_t wr_morpher_n_z(const wr_morpher *m) { return m ? m->n_z : 0; }
WR_API size_t wr_morpher_n_levels(const wr_morpher *m) { return m ? m->nq : 0; }
WR_API int wr_morpher_is_fitted(const wr_morpher *m) { return m && m->fit; }

WR_API wr_status wr_morpher_levels(const wr_morpher *m, double *levels,
                                   size_t n_levels)
{
    static const char *fn = "wr_morpher_levels";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "levels", levels);
    if (st != WR_OK) return st;
    if (n_levels != m->nq)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'n_levels': %zu, the morpher has %zu",
                        fn, n_levels, m->nq);
    memcpy(levels, m->levels, n_levels * sizeof(double));
    return WR_OK;
}

WR_API wr_status wr_morpher_set_bounds(wr_morpher *m, size_t j, double lo,
                                       double hi)
{
    static const char *fn = "wr_morpher_set_bounds";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st != WR_OK) return st;
    if (j >= m->n_y)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'j': %zu, the morpher has %zu variables",
                        fn, j, m->n_y);
    if (isnan(lo) || isnan(hi) || lo == INFINITY || hi == -INFINITY ||
        !(lo < hi))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: arguments 'lo', 'hi': [%g, %g] is not a range "
                        "(need lo < hi, lo < +inf, hi > -inf)",
                        fn, lo, hi);
    m->lo[j] = lo;
    m->hi[j] = hi;
    return WR_OK;
}

WR_API wr_status wr_morpher_get_bounds(const wr_morpher *m, size_t j,
                                       double *lo, double *hi)
{
    static const char *fn = "wr_morpher_get_bounds";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st != WR_OK) return st;
    if (j >= m->n_y)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'j': %zu, the morpher has %zu variables",
                        fn, j, m->n_y);
    const double *l = m->fit ? m->fit->lo : m->lo;
    const double *h = m->fit ? m->fit->hi : m->hi;
    if (lo) *lo = l[j];
    if (hi) *hi = h[j];
    return WR_OK;
}

WR_API wr_status wr_morpher_set_param(wr_morpher *m, const char *key,
                                      const char *value)
{
    static const char *fn = "wr_morpher_set_param";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "key", key);
    if (st != WR_OK) return st;
    return wr__params_set(&MTABLE, &m->p, key, value);
}

WR_API wr_status wr_morpher_set_params(wr_morpher *m, const char *kv)
{
    static const char *fn = "wr_morpher_set_params";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "kv", kv);
    if (st != WR_OK) return st;
    return wr__params_parse(&MTABLE, &m->p, kv);
}

WR_API wr_status wr_morpher_get_param(const wr_morpher *m, const char *key,
                                      char *buf, size_t len)
{
    static const char *fn = "wr_morpher_get_param";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "key", key);
    if (st == WR_OK) st = wr__check_ptr(fn, "buf", buf);
    if (st != WR_OK) return st;
    return wr__params_get(&MTABLE, &m->p, key, buf, len);
}

/* Creates a forest with the morpher's levels and threads, then applies the
 * user's string: the one place forest parameters are interpreted, used
 * both to validate at set time and to build at fit time. */
static wr_status make_forest(const wr_morpher *m, const char *kv,
                             int64_t threads, wr_quantile_forest **out)
{
    wr_quantile_forest *f = NULL;
    wr_status st = wr_qforest_create(m->levels, m->nq, &f);
    if (st != WR_OK) return st;
    char tbuf[32];
    snprintf(tbuf, sizeof tbuf, "%lld", (long long)threads);
    st = wr_qforest_set_param(f, "threads", tbuf);
    if (st == WR_OK) st = wr_qforest_set_params(f, kv);
    if (st != WR_OK) {
        wr_qforest_free(f);
        return st;
    }
    *out = f;
    return WR_OK;
}

WR_API wr_status wr_morpher_set_forest_params(wr_morpher *m, int direction,
                                              const char *kv)
{
    static const char *fn = "wr_morpher_set_forest_params";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "kv", kv);
    if (st != WR_OK) return st;
    if (direction < WR_MORPH_SIM || direction > WR_MORPH_BOTH)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'direction': %d is not WR_MORPH_SIM, "
                        "WR_MORPH_DATA or WR_MORPH_BOTH",
                        fn, direction);
    wr_quantile_forest *probe = NULL;
    st = make_forest(m, kv, m->p.threads, &probe);
    if (st != WR_OK) {
        wr__error_prefix(fn);
        return st;
    }
    wr_qforest_free(probe);
    char *c[2] = {NULL, NULL};
    for (int d = 0; d < 2; d++)
        if ((direction >> d) & 1) {
            c[d] = dup_str(kv);
            if (!c[d]) {
                free(c[0]);
                return WR_ERR_NOMEM;
            }
        }
    for (int d = 0; d < 2; d++)
        if (c[d]) {
            free(m->kv[d]);
            m->kv[d] = c[d];
        }
    return WR_OK;
}

WR_API wr_status wr_morpher_get_forest_params(const wr_morpher *m,
                                              int direction, char *buf,
                                              size_t len)
{
    static const char *fn = "wr_morpher_get_forest_params";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "buf", buf);
    if (st != WR_OK) return st;
    if (direction != WR_MORPH_SIM && direction != WR_MORPH_DATA)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'direction': %d is not WR_MORPH_SIM or "
                        "WR_MORPH_DATA",
                        fn, direction);
    const char *s = m->kv[direction - 1];
    if (strlen(s) + 1 > len)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'len': %zu bytes, need %zu", fn, len,
                        strlen(s) + 1);
    memcpy(buf, s, strlen(s) + 1);
    return WR_OK;
}

WR_API void wr_morpher_set_progress(wr_morpher *m, wr_progress_fn fn,
                                    void *user_data)
{
    if (!m) return;
    m->progress = fn;
    m->progress_user = fn ? user_data : NULL;
}

/* =================================================================== fit */
/* Validates one sample of fit or apply: pointers, finiteness, bounds. */
static wr_status check_sample(const char *fn, const char *zname,
                              const char *yname, const float *z,
                              const float *y, size_t n, size_t n_z,
                              size_t n_y, const double *lo, const double *hi)
{
    size_t nz, ny;
    if (!wr__mul_size(n, n_z, &nz) || !wr__mul_size(n, n_y, &ny))
        return wr__fail(WR_ERR_NOMEM, "%s: %zu events overflow the size", fn, n);
    wr_status st = n_z ? wr__check_ptr(fn, zname, z) : WR_OK;
    if (st == WR_OK) st = wr__check_ptr(fn, yname, y);
    if (st == WR_OK && n_z) st = wr__check_finite_f(fn, zname, z, nz);
    if (st == WR_OK) st = wr__check_finite_f(fn, yname, y, ny);
    if (st != WR_OK) return st;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n_y; j++)
            if (!within(y[i * n_y + j], lo[j], hi[j]))
                return wr__fail(WR_ERR_INVALID_ARG,
                                "%s: argument '%s': value %g at row %zu, "
                                "variable %zu is outside the bounds [%g, %g]",
                                fn, yname, (double)y[i * n_y + j], i, j,
                                lo[j], hi[j]);
    return WR_OK;
}

/* One sample prepared for its N forests: all rows as (z, t_1..t_N), split
 * into a training and a validation part. */
typedef struct msample {
    float *xt, *xv;      /* n x (k+N) rows, training and validation */
    float *wt, *wv;      /* weights or NULL */
    size_t nt, nv;
} msample;

static void msample_free(msample *s)
{
    free(s->xt);
    free(s->xv);
    free(s->wt);
    free(s->wv);
}

static wr_status msample_build(const wr_morpher *m, const float *z,
                               const float *y, const float *w, size_t n,
                               uint64_t stream, msample *s)
{
    size_t dim = m->n_z + m->n_y;
    memset(s, 0, sizeof *s);
    s->xt = wr__alloc_array(n, dim * sizeof(float), "morpher sample");
    s->xv = wr__alloc_array(n, dim * sizeof(float), "morpher sample");
    s->wt = wr__alloc_array(n, sizeof(float), "morpher weights");
    s->wv = wr__alloc_array(n, sizeof(float), "morpher weights");
    if (!s->xt || !s->xv || !s->wt || !s->wv) {
        msample_free(s);
        return WR_ERR_NOMEM;
    }
    wr__rng rng;
    wr__rng_seed(&rng, (uint64_t)m->p.seed, stream);
    for (size_t i = 0; i < n; i++) {
        bool val = m->p.val_frac > 0 && wr__rng_uniform(&rng) < m->p.val_frac;
        size_t r = val ? s->nv++ : s->nt++;
        float *row = (val ? s->xv : s->xt) + r * dim;
        for (size_t c = 0; c < m->n_z; c++) row[c] = z[i * m->n_z + c];
        for (size_t j = 0; j < m->n_y; j++)
            row[m->n_z + j] = (float)to_t(y[i * m->n_y + j], m->lo[j], m->hi[j]);
        (val ? s->wv : s->wt)[r] = w ? w[i] : 1.0f;
    }
    return WR_OK;
}

/* Number of forest features for variable j: (z, y_<j), or one constant
 * column when there is nothing to condition on (k = 0, j = 0), so the
 * forest learns the marginal quantiles. */
static size_t forest_dim(size_t n_z, size_t j) { return n_z + j ? n_z + j : 1; }

/* Copies columns [0, d) of the rows (zeros when d = 0) and column d as the
 * target. */
static void pack_columns(const float *x, size_t n, size_t dim, size_t d,
                         float *xp, float *yp)
{
    for (size_t i = 0; i < n; i++) {
        if (d) memcpy(xp + i * d, x + i * dim, d * sizeof(float));
        else xp[i] = 0.0f;
        yp[i] = x[i * dim + d];
    }
}

/* Minimal spacing of the forest's quantiles: relative to the spread of its
 * training targets, so it is scale-free and far below any resolution. */
static double target_gap(const float *y, size_t n)
{
    double a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        a = fmin(a, y[i]);
        b = fmax(b, y[i]);
    }
    double spread = b - a;
    if (!(spread > 0)) spread = 1.0 + fabs(a);
    return MORPH_REL_GAP * spread;
}

typedef struct fitjob {
    const wr_morpher *m;
    const msample *s;
    int dir;
    size_t j;
    int64_t threads;
    const wr_quantile_forest *base; /* data_forest=from_sim: the sim forest */
} fitjob;

static wr_status fit_one(const fitjob *job, wr_quantile_forest **out,
                         double *gap)
{
    const wr_morpher *m = job->m;
    const msample *s = job->s;
    size_t dim = m->n_z + m->n_y, d = m->n_z + job->j;
    size_t df = forest_dim(m->n_z, job->j);
    float *xp = wr__alloc_array(s->nt, df * sizeof(float), "forest inputs");
    float *yp = wr__alloc_array(s->nt, sizeof(float), "forest targets");
    float *xvp = wr__alloc_array(s->nv, df * sizeof(float), "forest inputs");
    float *yvp = wr__alloc_array(s->nv, sizeof(float), "forest targets");
    wr_quantile_forest *f = NULL;
    wr_status st = xp && yp && xvp && yvp ? WR_OK : WR_ERR_NOMEM;
    if (st == WR_OK) st = make_forest(m, m->kv[job->dir], job->threads, &f);
    if (st == WR_OK) {
        pack_columns(s->xt, s->nt, dim, d, xp, yp);
        pack_columns(s->xv, s->nv, dim, d, xvp, yvp);
        wr_qforest_set_progress(f, m->progress, m->progress_user);
        st = job->base
                 ? wr_qforest_fit_from(f, job->base, xp, s->nt, df, yp, s->wt,
                                       s->nv ? xvp : NULL, s->nv, s->nv ? yvp : NULL,
                                       s->nv ? s->wv : NULL)
                 : wr_qforest_fit(f, xp, s->nt, df, yp, s->wt, s->nv ? xvp : NULL,
                                  s->nv, s->nv ? yvp : NULL, s->nv ? s->wv : NULL);
        wr_qforest_set_progress(f, NULL, NULL);
        /* apply runs the forests inside its own threads: one each */
        if (st == WR_OK) st = wr_qforest_set_param(f, "threads", "1");
        *gap = target_gap(yp, s->nt);
    }
    free(xp);
    free(yp);
    free(xvp);
    free(yvp);
    if (st != WR_OK) {
        wr_qforest_free(f);
        return st;
    }
    *out = f;
    return WR_OK;
}

static wr_status fit_all(const wr_morpher *m, const msample s[2], mfit *fit)
{
    int64_t total = 2 * (int64_t)m->n_y, done = 0;
    wr_status st = wr__progress(m->progress, m->progress_user, "morpher.fit",
                                0, total, NAN, NAN);
    for (int dir = 0; dir < 2 && st == WR_OK; dir++)
        for (size_t j = 0; j < m->n_y && st == WR_OK; j++) {
            /* sim forests first: with data_forest=from_sim each data forest
             * continues the simulation forest of its variable */
            const wr_quantile_forest *base = dir && m->p.data_from_sim ? fit->f[0][j] : NULL;
            fitjob job = {m, &s[dir], dir, j, m->p.threads, base};
            st = fit_one(&job, &fit->f[dir][j], &fit->gap[dir][j]);
            if (st != WR_OK) {
                char ctx[96];
                snprintf(ctx, sizeof ctx, "wr_morpher_fit: %s forest of variable %zu",
                         dir ? "data" : "simulation", j);
                if (st != WR_ERR_CANCELLED) wr__error_prefix(ctx);
                break;
            }
            st = wr__progress(m->progress, m->progress_user, "morpher.fit",
                              ++done, total, NAN, NAN);
        }
    return st;
}

WR_API wr_status wr_morpher_fit(wr_morpher *m, const float *z_sim,
                                const float *y_sim, const float *w_sim,
                                size_t n_sim, const float *z_data,
                                const float *y_data, const float *w_data,
                                size_t n_data)
{
    static const char *fn = "wr_morpher_fit";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st != WR_OK) return st;
    if (n_sim == 0 || n_data == 0)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': no events", fn,
                        n_sim == 0 ? "n_sim" : "n_data");
    st = check_sample(fn, "z_sim", "y_sim", z_sim, y_sim, n_sim, m->n_z,
                      m->n_y, m->lo, m->hi);
    if (st == WR_OK) st = wr__check_weights(fn, "w_sim", w_sim, n_sim);
    if (st == WR_OK)
        st = check_sample(fn, "z_data", "y_data", z_data, y_data, n_data,
                          m->n_z, m->n_y, m->lo, m->hi);
    if (st == WR_OK) st = wr__check_weights(fn, "w_data", w_data, n_data);
    if (st != WR_OK) return st;

    mfit *fit = mfit_new(m->n_y, m->n_z, m->nq);
    if (!fit) return WR_ERR_NOMEM;
    memcpy(fit->lo, m->lo, m->n_y * sizeof(double));
    memcpy(fit->hi, m->hi, m->n_y * sizeof(double));
    msample s[2];
    st = msample_build(m, z_sim, y_sim, w_sim, n_sim, 0, &s[0]);
    if (st == WR_OK) {
        st = msample_build(m, z_data, y_data, w_data, n_data, 1, &s[1]);
        if (st != WR_OK) msample_free(&s[0]);
    }
    if (st == WR_OK) {
        if (s[0].nt == 0 || s[1].nt == 0)
            st = wr__fail(WR_ERR_INVALID_ARG,
                          "%s: parameter 'validation_fraction': no training "
                          "events left in the %s sample",
                          fn, s[0].nt == 0 ? "simulation" : "data");
        if (st == WR_OK) st = fit_all(m, s, fit);
        msample_free(&s[0]);
        msample_free(&s[1]);
    }
    if (st != WR_OK) {
        mfit_free(fit);
        return st;
    }
    mfit_free(m->fit);
    m->fit = fit;
    return WR_OK;
}

/* ================================================================= apply */
typedef struct apply_ctx {
    const mfit *fit;
    gridmap g;
    const float *z, *y;
    float *y_out;
    double *u_out;
    /* per-thread scratch, index tid */
    float **xs, **xd, **qf;
    double **qs, **qd, **ts, **td;
    /* first failure inside a worker, re-raised in the calling thread */
    atomic_int failed;
    pthread_mutex_t mu;
    wr_status err;
    char msg[512];
} apply_ctx;

/* Packs (z, t_1..t_j-1) of the chunk's events into x (row width k + j). */
static void pack_inputs(const apply_ctx *c, size_t b, size_t nc, size_t j,
                        const double *t, float *x)
{
    size_t k = c->fit->n_z, ny = c->fit->n_y, d = forest_dim(k, j);
    for (size_t i = 0; i < nc; i++) {
        float *row = x + i * d;
        row[0] = 0.0f; /* the constant column when k + j = 0 */
        for (size_t a = 0; a < k; a++) row[a] = c->z[(b + i) * k + a];
        for (size_t a = 0; a < j; a++) row[k + a] = (float)t[i * ny + a];
    }
}

static wr_status predict_rows(const wr_quantile_forest *f, const float *x,
                              size_t nc, size_t d, float *qf, double *q,
                              size_t nq, double gap)
{
    wr_status st = wr_qforest_predict(f, x, nc, d, qf);
    if (st != WR_OK) return st;
    for (size_t i = 0; i < nc; i++) prepare_row(qf + i * nq, q + i * nq, nq, gap);
    return WR_OK;
}

/* The chain on one chunk: sim forests see the original t, data forests the
 * morphed t' of the earlier variables. */
static wr_status apply_chunk(apply_ctx *c, size_t b, size_t nc, int tid)
{
    const mfit *fit = c->fit;
    size_t ny = fit->n_y, nq = fit->nq;
    double *ts = c->ts[tid], *td = c->td[tid];
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < ny; j++)
            ts[i * ny + j] = to_t(c->y[(b + i) * ny + j], fit->lo[j], fit->hi[j]);
    for (size_t j = 0; j < ny; j++) {
        size_t d = forest_dim(fit->n_z, j);
        pack_inputs(c, b, nc, j, ts, c->xs[tid]);
        pack_inputs(c, b, nc, j, td, c->xd[tid]);
        wr_status st = predict_rows(fit->f[0][j], c->xs[tid], nc, d, c->qf[tid],
                                    c->qs[tid], nq, fit->gap[0][j]);
        if (st == WR_OK)
            st = predict_rows(fit->f[1][j], c->xd[tid], nc, d, c->qf[tid],
                              c->qd[tid], nq, fit->gap[1][j]);
        if (st != WR_OK) return st;
        for (size_t i = 0; i < nc; i++) {
            double u;
            td[i * ny + j] = grid_map(&c->g, c->qs[tid] + i * nq,
                                      c->qd[tid] + i * nq, ts[i * ny + j], &u);
            if (c->u_out) c->u_out[(b + i) * ny + j] = u;
        }
    }
    /* written last: y_out may alias y */
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < ny; j++)
            c->y_out[(b + i) * ny + j] = from_t(td[i * ny + j], fit->lo[j], fit->hi[j]);
    return WR_OK;
}

static void apply_range(void *ctx, size_t begin, size_t end, int tid)
{
    apply_ctx *c = ctx;
    if (atomic_load(&c->failed)) return;
    wr_status st = apply_chunk(c, begin, end - begin, tid);
    if (st == WR_OK) return;
    pthread_mutex_lock(&c->mu);
    if (!atomic_load(&c->failed)) {
        c->err = st;
        snprintf(c->msg, sizeof c->msg, "%s", wr_last_error());
        atomic_store(&c->failed, 1);
    }
    pthread_mutex_unlock(&c->mu);
}

static void scratch_free(apply_ctx *c, int nt)
{
    void **arrays[] = {(void **)c->xs, (void **)c->xd, (void **)c->qf,
                       (void **)c->qs, (void **)c->qd, (void **)c->ts,
                       (void **)c->td};
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        if (!arrays[a]) continue;
        for (int t = 0; t < nt; t++) free(arrays[a][t]);
        free(arrays[a]);
    }
}

static wr_status scratch_alloc(apply_ctx *c, int nt)
{
    const mfit *f = c->fit;
    size_t xw = f->n_z + f->n_y, C = MORPH_CHUNK;
    void ***arrays[] = {(void ***)&c->xs, (void ***)&c->xd, (void ***)&c->qf,
                        (void ***)&c->qs, (void ***)&c->qd, (void ***)&c->ts,
                        (void ***)&c->td};
    size_t elems[] = {C * xw, C * xw, C * f->nq, C * f->nq, C * f->nq,
                      C * f->n_y, C * f->n_y};
    size_t esize[] = {sizeof(float), sizeof(float), sizeof(float),
                      sizeof(double), sizeof(double), sizeof(double),
                      sizeof(double)};
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        *arrays[a] = wr__calloc_array((size_t)nt, sizeof(void *), "apply scratch");
        if (!*arrays[a]) return WR_ERR_NOMEM;
        for (int t = 0; t < nt; t++) {
            (*arrays[a])[t] = wr__alloc_array(elems[a], esize[a], "apply scratch");
            if (!(*arrays[a])[t]) return WR_ERR_NOMEM;
        }
    }
    return WR_OK;
}

WR_API wr_status wr_morpher_apply(const wr_morpher *m, const float *z,
                                  const float *y, size_t n, float *y_out,
                                  double *u_out)
{
    static const char *fn = "wr_morpher_apply";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st != WR_OK) return st;
    if (!m->fit)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: the morpher is not fitted", fn);
    if (n == 0) return WR_OK;
    st = wr__check_ptr(fn, "y_out", y_out);
    if (st == WR_OK)
        st = check_sample(fn, "z", "y", z, y, n, m->n_z, m->n_y, m->fit->lo,
                          m->fit->hi);
    if (st != WR_OK) return st;

    int nt = wr__resolve_threads((int)m->p.threads);
    size_t nchunks = (n + MORPH_CHUNK - 1) / MORPH_CHUNK;
    if ((size_t)nt > nchunks) nt = (int)nchunks;
    apply_ctx c;
    memset(&c, 0, sizeof c);
    c.fit = m->fit;
    c.g = (gridmap){m->levels, m->nq, m->p.interp};
    c.z = z;
    c.y = y;
    c.y_out = y_out;
    c.u_out = u_out;
    atomic_init(&c.failed, 0);
    pthread_mutex_init(&c.mu, NULL);
    st = scratch_alloc(&c, nt);
    if (st == WR_OK) {
        wr__parallel_for(nt, n, MORPH_CHUNK, apply_range, &c);
        if (atomic_load(&c.failed)) st = wr__fail(c.err, "%s: %s", fn, c.msg);
    }
    scratch_free(&c, nt);
    pthread_mutex_destroy(&c.mu);
    return st;
}

/* =============================================================== payload */
/* Payload, kind version 1 (little-endian, docs/morph.md):
 *   u32 n_y, u32 n_z, u64 n_levels, f64 levels[n_levels]
 *   str parameters ("k=v ..."), str forest params sim, str forest params data
 *   f64 lo[n_y], f64 hi[n_y]           bounds for the next fit
 *   u8 fitted; if 1:
 *     f64 lo[n_y], f64 hi[n_y]         bounds of the fitted model
 *     for dir in (sim, data), j in 0..n_y-1:
 *       f64 gap, u64 size, size bytes  (a wr_qforest_to_bytes container) */
static void write_forest(wr__writer *w, const wr_quantile_forest *f,
                         double gap, wr_status *st)
{
    void *buf = NULL;
    size_t size = 0;
    if (*st != WR_OK) return;
    *st = wr_qforest_to_bytes(f, &buf, &size);
    if (*st != WR_OK) return;
    wr__w_f64(w, gap);
    wr__w_u64(w, size);
    wr__w_bytes(w, buf, size);
    wr_free(buf);
}

static wr_status write_payload(const wr_morpher *m, wr__writer *w)
{
    wr__w_u32(w, (uint32_t)m->n_y);
    wr__w_u32(w, (uint32_t)m->n_z);
    wr__w_u64(w, m->nq);
    wr__w_f64s(w, m->levels, m->nq);
    wr__params_write(w, &MTABLE, &m->p);
    wr__w_str(w, m->kv[0]);
    wr__w_str(w, m->kv[1]);
    wr__w_f64s(w, m->lo, m->n_y);
    wr__w_f64s(w, m->hi, m->n_y);
    wr__w_u8(w, 1);
    wr__w_f64s(w, m->fit->lo, m->n_y);
    wr__w_f64s(w, m->fit->hi, m->n_y);
    wr_status st = WR_OK;
    for (int d = 0; d < 2; d++)
        for (size_t j = 0; j < m->n_y; j++)
            write_forest(w, m->fit->f[d][j], m->fit->gap[d][j], &st);
    return st != WR_OK ? st : wr__w_status(w);
}

WR_API wr_status wr_morpher_to_bytes(const wr_morpher *m, void **buf,
                                     size_t *size)
{
    static const char *fn = "wr_morpher_to_bytes";
    wr_status st = wr__check_ptr(fn, "m", m);
    if (st == WR_OK) st = wr__check_ptr(fn, "buf", buf);
    if (st == WR_OK) st = wr__check_ptr(fn, "size", size);
    if (st != WR_OK) return st;
    if (!m->fit)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: the morpher is not fitted", fn);
    wr__writer w;
    wr__w_init(&w);
    st = write_payload(m, &w);
    if (st == WR_OK)
        st = wr__container_pack(WR_KIND_MORPHER, MORPH_KIND_VERSION, w.data,
                                w.size, buf, size);
    wr__w_free(&w);
    return st;
}

WR_API wr_status wr_morpher_save(const wr_morpher *m, const char *path)
{
    static const char *fn = "wr_morpher_save";
    wr_status st = wr__check_ptr(fn, "path", path);
    void *buf = NULL;
    size_t size = 0;
    if (st == WR_OK) st = wr_morpher_to_bytes(m, &buf, &size);
    if (st == WR_OK) st = wr__file_write_atomic(path, buf, size);
    free(buf);
    return st;
}

/* Reads one embedded forest and checks it fits its place in the chain. */
static wr_status read_forest(wr__reader *r, const wr_morpher *m, size_t d,
                             wr_quantile_forest **out, double *gap)
{
    *gap = wr__r_f64(r);
    size_t size = wr__r_count(r, 1, SIZE_MAX);
    wr_status st = wr__r_status(r, "morpher forest", false);
    if (st != WR_OK) return st;
    wr_quantile_forest *f = NULL;
    st = wr_qforest_from_bytes(r->data + r->pos, size, &f);
    if (st != WR_OK) return st == WR_ERR_NOMEM ? st : WR_ERR_FORMAT;
    r->pos += size;
    double lv[MORPH_MAX_LEVELS];
    bool ok = wr_qforest_n_features(f) == d && wr_qforest_n_levels(f) == m->nq &&
              wr_qforest_levels(f, lv, m->nq) == WR_OK &&
              memcmp(lv, m->levels, m->nq * sizeof(double)) == 0 &&
              isfinite(*gap) && *gap > 0;
    if (!ok) {
        wr_qforest_free(f);
        return wr__fail(WR_ERR_FORMAT,
                        "morpher payload: an embedded forest does not match "
                        "the morpher (features, levels or gap)");
    }
    *out = f;
    return WR_OK;
}

static wr_status read_bounds(wr__reader *r, double *lo, double *hi, size_t n)
{
    wr__r_f64s(r, lo, n);
    wr__r_f64s(r, hi, n);
    wr_status st = wr__r_status(r, "morpher bounds", false);
    if (st != WR_OK) return st;
    for (size_t j = 0; j < n; j++)
        if (isnan(lo[j]) || isnan(hi[j]) || !(lo[j] < hi[j]) ||
            lo[j] == INFINITY || hi[j] == -INFINITY)
            return wr__fail(WR_ERR_FORMAT, "morpher payload: bad bounds of variable %zu", j);
    return WR_OK;
}

static wr_status read_header(wr__reader *r, wr_morpher **out)
{
    size_t n_y = wr__r_u32(r), n_z = wr__r_u32(r);
    size_t nq = wr__r_count(r, sizeof(double), MORPH_MAX_LEVELS);
    double lv[MORPH_MAX_LEVELS];
    wr__r_f64s(r, lv, nq);
    wr_status st = wr__r_status(r, "morpher header", false);
    if (st != WR_OK) return st;
    if (check_dims("morpher payload", n_y, n_z, lv, nq) != WR_OK)
        return WR_ERR_FORMAT;
    *out = morpher_alloc(n_y, n_z, lv, nq);
    return *out ? WR_OK : WR_ERR_NOMEM;
}

static wr_status read_strings(wr__reader *r, wr_morpher *m)
{
    wr_status st = wr__params_read(r, &MTABLE, &m->p);
    if (st != WR_OK) return st;
    for (int d = 0; d < 2; d++) {
        char *s = wr__r_str(r);
        if (!s) return wr__r_status(r, "morpher forest parameters", false);
        free(m->kv[d]);
        m->kv[d] = s;
    }
    return WR_OK;
}

static wr_status read_payload(wr__reader *r, wr_morpher **out)
{
    wr_morpher *m = NULL;
    wr_status st = read_header(r, &m);
    if (st == WR_OK) st = read_strings(r, m);
    if (st == WR_OK) st = read_bounds(r, m->lo, m->hi, m->n_y);
    if (st == WR_OK && wr__r_u8(r) != 1)
        st = wr__fail(WR_ERR_FORMAT, "morpher payload: model is not fitted");
    mfit *fit = st == WR_OK ? mfit_new(m->n_y, m->n_z, m->nq) : NULL;
    if (st == WR_OK && !fit) st = WR_ERR_NOMEM;
    if (st == WR_OK) st = read_bounds(r, fit->lo, fit->hi, m->n_y);
    for (int d = 0; d < 2 && st == WR_OK; d++)
        for (size_t j = 0; j < m->n_y && st == WR_OK; j++)
            st = read_forest(r, m, forest_dim(m->n_z, j), &fit->f[d][j], &fit->gap[d][j]);
    if (st == WR_OK) st = wr__r_status(r, "morpher payload", true);
    if (st != WR_OK) {
        mfit_free(fit);
        wr_morpher_free(m);
        return st;
    }
    m->fit = fit;
    *out = m;
    return WR_OK;
}

WR_API wr_status wr_morpher_from_bytes(const void *buf, size_t size,
                                       wr_morpher **out)
{
    static const char *fn = "wr_morpher_from_bytes";
    wr_status st = wr__check_ptr(fn, "buf", buf);
    if (st == WR_OK) st = wr__check_ptr(fn, "out", out);
    if (st != WR_OK) return st;
    void *payload = NULL;
    size_t psize = 0;
    st = wr__container_unpack(buf, size, WR_KIND_MORPHER, MORPH_KIND_VERSION,
                              &payload, &psize, NULL);
    if (st != WR_OK) return st;
    wr__reader r;
    wr__r_init(&r, payload, psize);
    wr_morpher *m = NULL;
    st = read_payload(&r, &m);
    free(payload);
    if (st != WR_OK) {
        wr__error_prefix(fn);
        return st;
    }
    *out = m;
    return WR_OK;
}

WR_API wr_status wr_morpher_load(const char *path, wr_morpher **out)
{
    static const char *fn = "wr_morpher_load";
    wr_status st = wr__check_ptr(fn, "path", path);
    if (st == WR_OK) st = wr__check_ptr(fn, "out", out);
    if (st != WR_OK) return st;
    void *buf = NULL;
    size_t size = 0;
    st = wr__file_read_all(path, (size_t)WR__CONTAINER_MAX_PAYLOAD, &buf, &size);
    if (st == WR_OK) st = wr_morpher_from_bytes(buf, size, out);
    free(buf);
    return st;
}
