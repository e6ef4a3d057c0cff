/* tests/test_morph.c -- wr_morpher: exact maps of Gaussian models (1-D and
 * the 2-D Knothe-Rosenblatt map from Cholesky factors), identity, weights,
 * bounds, monotonicity, the grid maps and tails exactly, threads, save/load
 * round trips, cancellation and every error path. */
#include "testutil.h"

#include "core.h"

#include <pthread.h>
#include <unistd.h>

/* Internal pure-math entry points of lib/morph.c. */
double wr__morph_grid_map(const double *tau, size_t nq, int pchip,
                          const double *qs, const double *qd, double t,
                          double *u);
double wr__morph_to_t(double y, double lo, double hi);
float wr__morph_from_t(double t, double lo, double hi);

/* Small forests keep every test well under a second or two. */
#define FOREST_KV "rounds=60 learning_rate=0.2 max_depth=2 min_samples_leaf=200"

static const double LEVELS[21] = {0.01, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30,
                                  0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65,
                                  0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.99};

static wr_morpher *new_morpher(size_t n_y, size_t n_z)
{
    wr_morpher *m = NULL;
    WR_ASSERT_OK(wr_morpher_create(n_y, n_z, NULL, 0, &m));
    WR_ASSERT_OK(wr_morpher_set_forest_params(m, WR_MORPH_BOTH, FOREST_KV));
    WR_ASSERT_OK(wr_morpher_set_param(m, "threads", "2"));
    return m;
}

/* ------------------------------------------------------------ grid maps */
static void scaled_rows(double *qs, double *qd, double a, double b)
{
    /* qs: standard normal quantiles at LEVELS; qd = a * qs + b */
    static const double z[21] = {-2.326348, -1.644854, -1.281552, -1.036433,
                                 -0.841621, -0.674490, -0.524401, -0.385320,
                                 -0.253347, -0.125661, 0.0, 0.125661,
                                 0.253347, 0.385320, 0.524401, 0.674490,
                                 0.841621, 1.036433, 1.281552, 1.644854,
                                 2.326348};
    for (int i = 0; i < 21; i++) {
        qs[i] = z[i];
        qd[i] = a * z[i] + b;
    }
}

START_TEST(test_grid_map_affine_exact)
{
    /* The map between two quantile rows related by an affine map is that
     * affine map, everywhere: between levels (both interpolations, since
     * both are equivariant) and in both tails (the exponential scales
     * scale with a). */
    double qs[21], qd[21];
    scaled_rows(qs, qd, 2.5, -1.0);
    for (int pchip = 0; pchip < 2; pchip++)
        for (double t = -40.0; t <= 40.0; t += 0.0137) {
            double u;
            double tp = wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, t, &u);
            ck_assert_msg(fabs(tp - (2.5 * t - 1.0)) < 1e-9 * (1 + fabs(t)),
                          "pchip=%d t=%g: %g", pchip, t, tp);
            /* u itself saturates at 1 in double beyond t ~ 14 (1 - u <
             * 1e-16); t' does not, because the tails map t directly */
            ck_assert(u > 0.0 && u <= 1.0);
        }
}
END_TEST

START_TEST(test_grid_map_u_exact)
{
    /* u at the knots is the level; u is continuous and strictly increasing
     * across the knots and into the tails; the tails follow their formula. */
    double qs[21], qd[21];
    scaled_rows(qs, qd, 1.0, 0.0);
    for (int pchip = 0; pchip < 2; pchip++) {
        for (int i = 0; i < 21; i++) {
            double u;
            wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, qs[i], &u);
            ck_assert_double_eq_tol(u, LEVELS[i], 1e-12);
            double ua, ub, e = 1e-9;
            wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, qs[i] - e, &ua);
            wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, qs[i] + e, &ub);
            ck_assert(ua < u && u < ub);
            ck_assert(ub - ua < 1e-6);
        }
        double prev = 0.0;
        for (double t = -30; t <= 12; t += 0.01) {
            double u;
            wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, t, &u);
            ck_assert_msg(u > prev, "pchip=%d t=%g u=%.17g prev=%.17g", pchip, t, u, prev);
            prev = u;
        }
    }
    /* lower tail: b = (q2 - q1)/ln(tau2/tau1), u = tau1 exp((t - q1)/b) */
    double b = (qs[1] - qs[0]) / log(LEVELS[1] / LEVELS[0]), u;
    wr__morph_grid_map(LEVELS, 21, 0, qs, qd, qs[0] - 3.0, &u);
    ck_assert_double_eq_tol(u, 0.01 * exp(-3.0 / b), 1e-15);
    double bh = (qs[20] - qs[19]) / log(0.05 / 0.01);
    wr__morph_grid_map(LEVELS, 21, 0, qs, qd, qs[20] + 2.0, &u);
    ck_assert_double_eq_tol(1.0 - u, 0.01 * exp(-2.0 / bh), 1e-15);
}
END_TEST

START_TEST(test_grid_map_monotone_nonlinear)
{
    /* Unrelated, skewed rows (one with a tiny spacing): T is strictly
     * increasing and continuous (no jump larger than slope bound * step). */
    double qs[21], qd[21];
    for (int i = 0; i < 21; i++) {
        qs[i] = exp(3.0 * LEVELS[i]) + (i == 7 ? 1e-7 : 0);
        qd[i] = i < 10 ? -5.0 + 0.1 * i : -4.0 + i * i * 0.3;
    }
    qs[8] = qs[7] + 1e-7;
    for (int pchip = 0; pchip < 2; pchip++) {
        double prev = -INFINITY, u;
        for (double t = -10; t <= 60; t += 1e-3) {
            double tp = wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, t, &u);
            ck_assert_msg(tp > prev, "pchip=%d t=%g", pchip, t);
            if (isfinite(prev)) ck_assert_msg(tp - prev < 100.0, "jump at t=%g", t);
            prev = tp;
        }
    }
}
END_TEST

/* Degenerate outer quantiles: a simulation row whose two upper (lower)
 * outer quantiles are almost equal against a healthy data row.  The tail
 * scale floor and the tail slope bound (within a factor 2 of the row's
 * overall slope) keep the map of far tail values bounded; the row's
 * interior is unchanged.  Without them the slope was ~1e6. */
START_TEST(test_grid_map_degenerate_tails)
{
    double qs[21], qd[21];
    scaled_rows(qs, qd, 1.0, 0.0);
    qs[20] = qs[19] + 1e-7; /* upper pair collapsed in the simulation */
    qs[0] = qs[1] - 1e-7;   /* and the lower one */
    double overall = (qd[20] - qd[0]) / (qs[20] - qs[0]);
    for (int pchip = 0; pchip < 2; pchip++) {
        double u;
        for (double d = 0.01; d < 20; d *= 1.7) {
            double hi = wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, qs[20] + d, &u);
            double lo = wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, qs[0] - d, &u);
            ck_assert_msg(hi - qd[20] <= 2.0 * overall * d * (1 + 1e-12) && hi > qd[20],
                          "pchip=%d upper tail at +%g: %g", pchip, d, hi - qd[20]);
            ck_assert_msg(qd[0] - lo <= 2.0 * overall * d * (1 + 1e-12) && lo < qd[0],
                          "pchip=%d lower tail at -%g: %g", pchip, d, qd[0] - lo);
        }
        /* the interior still maps the knots onto each other */
        double mid = wr__morph_grid_map(LEVELS, 21, pchip, qs, qd, qs[10], &u);
        ck_assert_double_eq_tol(mid, qd[10], 1e-9);
    }
}
END_TEST

START_TEST(test_coordinates)
{
    const double pi = M_PI;
    /* round trips and the mapping of the bounds themselves */
    double y[] = {0.0, 1e-9, 0.5, 3.0, 100.0};
    for (int i = 0; i < 5; i++) {
        double t = wr__morph_to_t(y[i], 0.0, INFINITY);
        ck_assert(isfinite(t));
        float back = wr__morph_from_t(t, 0.0, INFINITY);
        ck_assert(back >= 0.0f);
        if (y[i] > 1e-6) ck_assert_double_eq_tol(back, y[i], 1e-6 * y[i]);
    }
    double a[] = {-pi, -3.0, -0.1, 0.0, 0.2, 3.1, pi};
    for (int i = 0; i < 7; i++) {
        double t = wr__morph_to_t(a[i], -pi, pi);
        ck_assert(isfinite(t));
        float back = wr__morph_from_t(t, -pi, pi);
        ck_assert((double)back >= -pi && (double)back <= pi);
        ck_assert_double_eq_tol(back, a[i], 1e-6);
    }
    /* any t maps inside the bounds, including +-inf-like values */
    double ts[] = {-1e300, -800, -30, 0, 30, 800, 1e300};
    for (int i = 0; i < 7; i++) {
        float v = wr__morph_from_t(ts[i], -pi, pi);
        ck_assert((double)v >= -pi && (double)v <= pi);
        v = wr__morph_from_t(ts[i], 0.0, INFINITY);
        ck_assert(v >= 0.0f && isfinite(v));
        v = wr__morph_from_t(ts[i], -INFINITY, 2.0);
        ck_assert(v <= 2.0f && isfinite(v));
    }
    ck_assert_double_eq(wr__morph_to_t(1.25, -INFINITY, INFINITY), 1.25);
}
END_TEST

/* --------------------------------------------------------- sample makers */
typedef struct gauss1 {
    double a, s1, b, c, s2;
} gauss1;

static void make_1d(wr__rng *r, size_t n, double a, double c, double s,
                    float *z, float *y)
{
    for (size_t i = 0; i < n; i++) {
        z[i] = (float)(2.0 * wr__rng_uniform(r));
        y[i] = (float)(a * z[i] + c + s * wr__rng_normal(r));
    }
}

static double rms_1d(const wr_morpher *m, const gauss1 *g, wr__rng *r, size_t n)
{
    float *z = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)),
          *yp = malloc(n * sizeof(float));
    make_1d(r, n, g->a, 0.0, g->s1, z, y);
    WR_ASSERT_OK(wr_morpher_apply(m, z, y, n, yp, NULL));
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double exact = g->b * z[i] + g->c + g->s2 / g->s1 * (y[i] - g->a * z[i]);
        ss += (yp[i] - exact) * (yp[i] - exact);
    }
    free(z);
    free(y);
    free(yp);
    return sqrt(ss / n);
}

/* N = 1, k = 1: sim y|z ~ N(a z, s1), data y|z ~ N(b z + c, s2); the exact
 * map is T(y, z) = b z + c + (s2/s1)(y - a z). */
START_TEST(test_gauss_1d)
{
    const size_t n = 20000;
    gauss1 g = {1.0, 1.0, 1.5, 0.5, 0.7};
    wr__rng r;
    wr__rng_seed(&r, 11, 0);
    float *zs = malloc(n * sizeof(float)), *ys = malloc(n * sizeof(float));
    float *zd = malloc(n * sizeof(float)), *yd = malloc(n * sizeof(float));
    make_1d(&r, n, g.a, 0.0, g.s1, zs, ys);
    make_1d(&r, n, g.b, g.c, g.s2, zd, yd);
    wr_morpher *m = new_morpher(1, 1);
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    double rms = rms_1d(m, &g, &r, 5000);
    /* bound 0.13 s2 (measured 0.087 s2): the forests' quantile noise and
     * piecewise-constant steps with 2e4 events dominate; a map with the
     * wrong scale s2/s1 or offset is off by more than 0.3 s2 */
    ck_assert_msg(rms < 0.13 * g.s2, "RMS %g vs bound %g", rms, 0.13 * g.s2);
    WR_ASSERT_OK(wr_morpher_set_param(m, "interpolation", "pchip"));
    double rms_p = rms_1d(m, &g, &r, 5000);
    ck_assert_msg(rms_p < 0.13 * g.s2, "PCHIP RMS %g", rms_p);
    wr_morpher_free(m);
    free(zs);
    free(ys);
    free(zd);
    free(yd);
}
END_TEST

/* Sim y|z ~ N(a z, 1.5) reweighted by N(a z, 1)/N(a z, 1.5) is N(a z, 1):
 * the exact map uses s1 = 1 only if the weights are used. */
START_TEST(test_weights)
{
    const size_t n = 30000;
    gauss1 g = {1.0, 1.0, 1.0, 0.3, 0.8};
    wr__rng r;
    wr__rng_seed(&r, 12, 0);
    float *zs = malloc(n * sizeof(float)), *ys = malloc(n * sizeof(float));
    float *ws = malloc(n * sizeof(float));
    float *zd = malloc(n * sizeof(float)), *yd = malloc(n * sizeof(float));
    make_1d(&r, n, g.a, 0.0, 1.5, zs, ys);
    for (size_t i = 0; i < n; i++) {
        double e = ys[i] - g.a * zs[i];
        ws[i] = (float)(1.5 * exp(-0.5 * e * e + 0.5 * e * e / 2.25));
    }
    make_1d(&r, n, g.b, g.c, g.s2, zd, yd);
    wr_morpher *m = new_morpher(1, 1);
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, ws, n, zd, yd, NULL, n));
    double rms = rms_1d(m, &g, &r, 5000);
    ck_assert_msg(rms < 0.13 * g.s2, "weighted RMS %g", rms); /* measured 0.07 */
    /* without the weights the map is the one for s1 = 1.5: far off */
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    double rms_nw = rms_1d(m, &g, &r, 5000);
    ck_assert_msg(rms_nw > 2 * rms, "unweighted RMS %g vs weighted %g", rms_nw, rms);
    wr_morpher_free(m);
    free(zs);
    free(ys);
    free(ws);
    free(zd);
    free(yd);
}
END_TEST

/* ---------------------------------------------------------- 2-D, k = 2 */
typedef struct gauss2 {
    double A[2][2], mu[2], L[2][2]; /* y = A z + mu + L e, L lower */
} gauss2;

static void make_2d(wr__rng *r, const gauss2 *g, size_t n, float *z, float *y)
{
    for (size_t i = 0; i < n; i++) {
        double z0 = 2 * wr__rng_uniform(r) - 1, z1 = 2 * wr__rng_uniform(r) - 1;
        double e0 = wr__rng_normal(r), e1 = wr__rng_normal(r);
        z[2 * i] = (float)z0;
        z[2 * i + 1] = (float)z1;
        for (int j = 0; j < 2; j++)
            y[2 * i + j] = (float)(g->A[j][0] * z0 + g->A[j][1] * z1 + g->mu[j] +
                                   g->L[j][0] * e0 + g->L[j][1] * e1);
    }
}

/* The Knothe-Rosenblatt map between N(m_s, L_s L_s^T) and N(m_d, L_d L_d^T)
 * is y' = m_d + L_d L_s^-1 (y - m_s): lower-triangular with positive
 * diagonal, hence increasing in y_j given y_<j, and it pushes one onto the
 * other. */
static void kr_exact(const gauss2 *s, const gauss2 *d, const float *z,
                     const float *y, double *out)
{
    double e[2], r[2];
    for (int j = 0; j < 2; j++)
        r[j] = y[j] - (s->A[j][0] * z[0] + s->A[j][1] * z[1] + s->mu[j]);
    e[0] = r[0] / s->L[0][0];
    e[1] = (r[1] - s->L[1][0] * e[0]) / s->L[1][1];
    for (int j = 0; j < 2; j++)
        out[j] = d->A[j][0] * z[0] + d->A[j][1] * z[1] + d->mu[j] +
                 d->L[j][0] * e[0] + d->L[j][1] * e[1];
}

START_TEST(test_kr_2d)
{
    const size_t n = 20000, nt = 4000;
    gauss2 s = {{{1.0, 0.5}, {-0.5, 1.0}}, {0.0, 1.0}, {{1.0, 0.0}, {0.6, 0.8}}};
    gauss2 d = {{{1.3, 0.2}, {-0.2, 0.7}}, {0.4, 0.5}, {{0.8, 0.0}, {-0.3, 0.5}}};
    wr__rng r;
    wr__rng_seed(&r, 13, 0);
    float *zs = malloc(2 * n * sizeof(float)), *ys = malloc(2 * n * sizeof(float));
    float *zd = malloc(2 * n * sizeof(float)), *yd = malloc(2 * n * sizeof(float));
    make_2d(&r, &s, n, zs, ys);
    make_2d(&r, &d, n, zd, yd);
    wr_morpher *m = new_morpher(2, 2);
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    float *zt = malloc(2 * nt * sizeof(float)), *yt = malloc(2 * nt * sizeof(float));
    float *yp = malloc(2 * nt * sizeof(float));
    double *u = malloc(2 * nt * sizeof(double));
    make_2d(&r, &s, nt, zt, yt);
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, yp, u));
    double ss[2] = {0, 0}, umean[2] = {0, 0};
    for (size_t i = 0; i < nt; i++) {
        double ex[2];
        kr_exact(&s, &d, zt + 2 * i, yt + 2 * i, ex);
        for (int j = 0; j < 2; j++) {
            ss[j] += (yp[2 * i + j] - ex[j]) * (yp[2 * i + j] - ex[j]);
            ck_assert(u[2 * i + j] > 0 && u[2 * i + j] < 1);
            umean[j] += u[2 * i + j] / nt;
        }
    }
    /* data sds of y|z: 0.8 and sqrt(0.09 + 0.25) = 0.583.  Bounds 0.16 and
     * 0.26 sd (measured 0.10 and 0.17: the second forest learns from three
     * inputs); a chain that fed the data forest the original y_1 instead
     * of the morphed one would be off by about 0.3 sd in y_2 */
    double sd[2] = {0.8, sqrt(0.34)}, bound[2] = {0.16, 0.26};
    for (int j = 0; j < 2; j++) {
        double rms = sqrt(ss[j] / nt);
        ck_assert_msg(rms < bound[j] * sd[j], "variable %d: RMS %g vs bound %g", j,
                      rms, bound[j] * sd[j]);
        /* u is uniform on the simulation: mean 1/2 within 5 sigma */
        ck_assert_double_eq_tol(umean[j], 0.5, 5 * sqrt(1.0 / 12 / nt) + 0.01);
    }
    /* in place (y_out == y) gives the same */
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, yt, NULL));
    ck_assert(memcmp(yt, yp, 2 * nt * sizeof(float)) == 0);
    wr_morpher_free(m);
    free(zs); free(ys); free(zd); free(yd);
    free(zt); free(yt); free(yp); free(u);
}
END_TEST

/* data_forest=from_sim: the data forests continue the simulation's, so the
 * map depends on the learned difference only.  Fits s -> d from 20000
 * events each and returns the RMS of the morphed values against the exact
 * Knothe-Rosenblatt map per variable. */
static void kr_rms(const gauss2 *s, const gauss2 *d, uint64_t seed, int from_sim,
                   double rms[2])
{
    const size_t n = 20000, nt = 4000;
    wr__rng r;
    wr__rng_seed(&r, seed, 0);
    float *zs = malloc(2 * n * sizeof(float)), *ys = malloc(2 * n * sizeof(float));
    float *zd = malloc(2 * n * sizeof(float)), *yd = malloc(2 * n * sizeof(float));
    float *zt = malloc(2 * nt * sizeof(float)), *yt = malloc(2 * nt * sizeof(float));
    float *yp = malloc(2 * nt * sizeof(float)), *yq = malloc(2 * nt * sizeof(float));
    make_2d(&r, s, n, zs, ys);
    make_2d(&r, d, n, zd, yd);
    make_2d(&r, s, nt, zt, yt);
    wr_morpher *m = new_morpher(2, 2);
    if (from_sim) {
        WR_ASSERT_OK(wr_morpher_set_param(m, "data_forest", "from_sim"));
        WR_ASSERT_OK(wr_morpher_set_forest_params(
            m, WR_MORPH_DATA, "rounds=40 learning_rate=0.2 max_depth=2 min_samples_leaf=1000"));
    }
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, yp, NULL));
    double ss[2] = {0, 0};
    for (size_t i = 0; i < nt; i++) {
        double ex[2];
        kr_exact(s, d, zt + 2 * i, yt + 2 * i, ex);
        for (int j = 0; j < 2; j++) ss[j] += (yp[2 * i + j] - ex[j]) * (yp[2 * i + j] - ex[j]);
    }
    for (int j = 0; j < 2; j++) rms[j] = sqrt(ss[j] / nt);
    /* the parameter and the continued forests survive a round trip */
    void *buf = NULL;
    size_t size = 0;
    wr_morpher *m2 = NULL;
    char val[32];
    WR_ASSERT_OK(wr_morpher_to_bytes(m, &buf, &size));
    WR_ASSERT_OK(wr_morpher_from_bytes(buf, size, &m2));
    WR_ASSERT_OK(wr_morpher_get_param(m2, "data_forest", val, sizeof val));
    ck_assert_str_eq(val, from_sim ? "from_sim" : "separate");
    WR_ASSERT_OK(wr_morpher_apply(m2, zt, yt, nt, yq, NULL));
    ck_assert(memcmp(yp, yq, 2 * nt * sizeof(float)) == 0);
    wr_free(buf);
    wr_morpher_free(m2);
    wr_morpher_free(m);
    free(zs); free(ys); free(zd); free(yd); free(zt); free(yt); free(yp); free(yq);
}

/* A moderate difference (the calibration case: shifts, 10 % scales, a
 * changed correlation) with continued data forests: the data side has only
 * 40 shallow rounds with leaves of >= 1000 events, and the map is closer to
 * the exact one than with separate forests in both variables. */
START_TEST(test_from_sim_kr_2d)
{
    gauss2 s = {{{1.0, 0.5}, {-0.5, 1.0}}, {0.0, 1.0}, {{1.0, 0.0}, {0.6, 0.8}}};
    gauss2 d = {{{1.1, 0.5}, {-0.4, 0.9}}, {0.2, 1.2}, {{0.9, 0.0}, {0.45, 0.75}}};
    double sep[2], cont[2];
    kr_rms(&s, &d, 15, 0, sep);
    kr_rms(&s, &d, 15, 1, cont);
    if (getenv("WR_TEST_VERBOSE"))
        fprintf(stderr, "KR rms: separate %g %g, from_sim %g %g\n", sep[0], sep[1], cont[0],
                cont[1]);
    for (int j = 0; j < 2; j++)
        ck_assert_msg(cont[j] < 0.8 * sep[j], "variable %d: from_sim %g vs separate %g", j,
                      cont[j], sep[j]);
}
END_TEST

/* Two independent samples of one distribution: the separate map scatters
 * events by the noise of both forests, the continued one by the noise of
 * the small difference model only; required: at most 0.65 times the RMS
 * distance to the identity in both variables. */
START_TEST(test_from_sim_identity_noise)
{
    gauss2 s = {{{1.0, 0.5}, {-0.5, 1.0}}, {0.0, 1.0}, {{1.0, 0.0}, {0.6, 0.8}}};
    double sep[2], cont[2];
    kr_rms(&s, &s, 16, 0, sep);
    kr_rms(&s, &s, 16, 1, cont);
    if (getenv("WR_TEST_VERBOSE"))
        fprintf(stderr, "identity rms: separate %g %g, from_sim %g %g\n", sep[0], sep[1],
                cont[0], cont[1]);
    for (int j = 0; j < 2; j++)
        ck_assert_msg(cont[j] < 0.65 * sep[j], "variable %d: from_sim %g vs separate %g", j,
                      cont[j], sep[j]);
}
END_TEST

START_TEST(test_identity)
{
    const size_t n = 20000, nt = 4000;
    gauss2 s = {{{1.0, 0.5}, {-0.5, 1.0}}, {0.0, 1.0}, {{1.0, 0.0}, {0.6, 0.8}}};
    wr__rng r;
    wr__rng_seed(&r, 14, 0);
    float *zs = malloc(2 * n * sizeof(float)), *ys = malloc(2 * n * sizeof(float));
    float *zd = malloc(2 * n * sizeof(float)), *yd = malloc(2 * n * sizeof(float));
    make_2d(&r, &s, n, zs, ys);
    make_2d(&r, &s, n, zd, yd);
    wr_morpher *m = new_morpher(2, 2);
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    float *zt = malloc(2 * nt * sizeof(float)), *yt = malloc(2 * nt * sizeof(float));
    float *yp = malloc(2 * nt * sizeof(float));
    make_2d(&r, &s, nt, zt, yt);
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, yp, NULL));
    double ss[2] = {0, 0};
    for (size_t i = 0; i < 2 * nt; i++) ss[i % 2] += (yp[i] - yt[i]) * (yp[i] - yt[i]);
    /* conditional sds 1 and 0.8; bounds 0.16 and 0.25 (measured 0.11 and
     * 0.16: two forests fitted on independent samples) */
    ck_assert_msg(sqrt(ss[0] / nt) < 0.16, "RMS %g", sqrt(ss[0] / nt));
    ck_assert_msg(sqrt(ss[1] / nt) < 0.25, "RMS %g", sqrt(ss[1] / nt));
    wr_morpher_free(m);
    free(zs); free(ys); free(zd); free(yd); free(zt); free(yt); free(yp);
}
END_TEST

/* ---------------------------------------------------- bounds, monotone */
/* y = (|h|, dphi): |h| ~ z * response * lognormal, dphi ~ wrapped normal
 * whose width falls with z. */
static void make_recoil(wr__rng *r, size_t n, double resp, double width,
                        float *z, float *y)
{
    for (size_t i = 0; i < n; i++) {
        double pt = 1.0 + 30.0 * wr__rng_uniform(r);
        z[i] = (float)pt;
        y[2 * i] = (float)(resp * pt * exp(0.4 * wr__rng_normal(r)));
        if (i % 50 == 0) y[2 * i] = 0.0f; /* an atom on the bound */
        double a = wr__wrap_angle(width / sqrt(pt) * wr__rng_normal(r));
        if (i % 97 == 0) a = M_PI;
        y[2 * i + 1] = (float)a;
    }
}

static wr_morpher *fit_recoil(wr__rng *r, size_t n)
{
    float *zs = malloc(n * sizeof(float)), *ys = malloc(2 * n * sizeof(float));
    float *zd = malloc(n * sizeof(float)), *yd = malloc(2 * n * sizeof(float));
    make_recoil(r, n, 0.6, 2.0, zs, ys);
    make_recoil(r, n, 0.8, 3.0, zd, yd);
    wr_morpher *m = new_morpher(2, 1);
    WR_ASSERT_OK(wr_morpher_set_bounds(m, 0, 0.0, INFINITY));
    WR_ASSERT_OK(wr_morpher_set_bounds(m, 1, -M_PI, M_PI));
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    free(zs); free(ys); free(zd); free(yd);
    return m;
}

START_TEST(test_bounds)
{
    wr__rng r;
    wr__rng_seed(&r, 15, 0);
    wr_morpher *m = fit_recoil(&r, 10000);
    double lo, hi;
    WR_ASSERT_OK(wr_morpher_get_bounds(m, 1, &lo, &hi));
    ck_assert(lo == -M_PI && hi == M_PI);
    const size_t nt = 5000;
    float *zt = malloc(nt * sizeof(float)), *yt = malloc(2 * nt * sizeof(float));
    float *yp = malloc(2 * nt * sizeof(float));
    make_recoil(&r, nt, 0.6, 2.0, zt, yt);
    /* extremes: on the bounds and far out */
    yt[0] = 0.0f; yt[1] = (float)M_PI;
    yt[2] = 1e6f; yt[3] = (float)-M_PI;
    yt[4] = 1e-30f; yt[5] = 3.1415925f;
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, yp, NULL));
    double mean0 = 0, mean1 = 0;
    for (size_t i = 0; i < nt; i++) {
        ck_assert_msg(yp[2 * i] >= 0.0f && isfinite(yp[2 * i]), "row %zu: %g", i, yp[2 * i]);
        ck_assert_msg((double)yp[2 * i + 1] >= -M_PI && (double)yp[2 * i + 1] <= M_PI,
                      "row %zu: %.9g", i, yp[2 * i + 1]);
        mean0 += (yp[2 * i] / (yt[2 * i] + 1e-3 * zt[i])) / nt;
        mean1 += fabs(yp[2 * i + 1]) - fabs(yt[2 * i + 1]);
    }
    /* the data response is 0.8/0.6 of the simulation's, its angle wider */
    ck_assert_msg(mean0 > 1.15 && mean0 < 1.55, "response ratio %g", mean0);
    ck_assert_msg(mean1 > 0, "angle did not widen");
    /* out of bounds input is refused */
    yt[1] = 3.3f;
    WR_ASSERT_FAILS(wr_morpher_apply(m, zt, yt, nt, yp, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "outside the bounds"));
    wr_morpher_free(m);
    free(zt); free(yt); free(yp);
}
END_TEST

START_TEST(test_monotone_grid)
{
    wr__rng r;
    wr__rng_seed(&r, 16, 0);
    wr_morpher *m = fit_recoil(&r, 10000);
    /* for several z and y_1, T_2 strictly increasing along a grid in y_2;
     * for several z, T_1 increasing in y_1 */
    const size_t ng = 2001;
    float *z = malloc(ng * sizeof(float)), *y = malloc(2 * ng * sizeof(float));
    float *yp = malloc(2 * ng * sizeof(float));
    for (int interp = 0; interp < 2; interp++) {
        WR_ASSERT_OK(wr_morpher_set_param(m, "interpolation", interp ? "pchip" : "linear"));
        for (int zi = 0; zi < 4; zi++) {
            for (size_t i = 0; i < ng; i++) {
                z[i] = 2.0f + 8.0f * zi;
                y[2 * i] = (float)(60.0 * i / (ng - 1));              /* |h| grid */
                y[2 * i + 1] = (float)(-3.1 + 6.2 * i / (ng - 1));    /* angle grid */
            }
            WR_ASSERT_OK(wr_morpher_apply(m, z, y, ng, yp, NULL));
            for (size_t i = 1; i < ng; i++)
                ck_assert_msg(yp[2 * i] > yp[2 * i - 2], "T1 not increasing at %zu", i);
            /* T2 with y_1 held fixed */
            for (size_t i = 0; i < ng; i++) y[2 * i] = 0.5f * z[i];
            WR_ASSERT_OK(wr_morpher_apply(m, z, y, ng, yp, NULL));
            for (size_t i = 1; i < ng; i++)
                ck_assert_msg(yp[2 * i + 1] > yp[2 * i - 1],
                              "T2 not increasing at %zu: %.9g %.9g", i,
                              yp[2 * i - 1], yp[2 * i + 1]);
        }
    }
    wr_morpher_free(m);
    free(z); free(y); free(yp);
}
END_TEST

/* ---------------------------------------------- threads, save and load */
typedef struct apply_arg {
    const wr_morpher *m;
    const float *z, *y;
    size_t n;
    float *out;
    wr_status st;
} apply_arg;

static void *apply_thread(void *p)
{
    apply_arg *a = p;
    a->st = wr_morpher_apply(a->m, a->z, a->y, a->n, a->out, NULL);
    return NULL;
}

START_TEST(test_threads_and_roundtrip)
{
    wr__rng r;
    wr__rng_seed(&r, 17, 0);
    wr_morpher *m = fit_recoil(&r, 8000);
    WR_ASSERT_OK(wr_morpher_set_param(m, "interpolation", "pchip"));
    const size_t nt = 7000;
    float *zt = malloc(nt * sizeof(float)), *yt = malloc(2 * nt * sizeof(float));
    float *a = malloc(2 * nt * sizeof(float)), *b = malloc(2 * nt * sizeof(float));
    float *c = malloc(2 * nt * sizeof(float));
    make_recoil(&r, nt, 0.6, 2.0, zt, yt);
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, a, NULL));
    WR_ASSERT_OK(wr_morpher_set_param(m, "threads", "1"));
    WR_ASSERT_OK(wr_morpher_apply(m, zt, yt, nt, b, NULL));
    ck_assert(memcmp(a, b, 2 * nt * sizeof(float)) == 0);
    /* concurrent calls on one handle */
    apply_arg args[2] = {{m, zt, yt, nt, b, WR_ERR_INTERNAL}, {m, zt, yt, nt, c, WR_ERR_INTERNAL}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, apply_thread, &args[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    ck_assert(args[0].st == WR_OK && args[1].st == WR_OK);
    ck_assert(memcmp(a, b, 2 * nt * sizeof(float)) == 0);
    ck_assert(memcmp(a, c, 2 * nt * sizeof(float)) == 0);

    /* bytes round trip: bit-identical, parameters and bounds kept */
    void *buf = NULL;
    size_t size = 0;
    WR_ASSERT_OK(wr_morpher_to_bytes(m, &buf, &size));
    int kind = 0;
    WR_ASSERT_OK(wr_model_inspect(buf, size, &kind, NULL));
    ck_assert_int_eq(kind, WR_KIND_MORPHER);
    wr_morpher *m2 = NULL;
    WR_ASSERT_OK(wr_morpher_from_bytes(buf, size, &m2));
    ck_assert_uint_eq(wr_morpher_n_y(m2), 2);
    ck_assert_uint_eq(wr_morpher_n_z(m2), 1);
    ck_assert(wr_morpher_is_fitted(m2));
    char val[256];
    WR_ASSERT_OK(wr_morpher_get_param(m2, "interpolation", val, sizeof val));
    ck_assert_str_eq(val, "pchip");
    WR_ASSERT_OK(wr_morpher_get_forest_params(m2, WR_MORPH_DATA, val, sizeof val));
    ck_assert_str_eq(val, FOREST_KV);
    double lo, hi;
    WR_ASSERT_OK(wr_morpher_get_bounds(m2, 0, &lo, &hi));
    ck_assert(lo == 0.0 && hi == INFINITY);
    WR_ASSERT_OK(wr_morpher_apply(m2, zt, yt, nt, c, NULL));
    ck_assert(memcmp(a, c, 2 * nt * sizeof(float)) == 0);
    wr_morpher_free(m2);

    /* every truncation is a clean error */
    for (size_t cut = 0; cut < size; cut += 1 + size / 97) {
        m2 = NULL;
        ck_assert(wr_morpher_from_bytes(buf, cut, &m2) != WR_OK);
        ck_assert_ptr_null(m2);
    }
    wr_free(buf);

    /* file round trip */
    char path[] = "/tmp/test_morph_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    WR_ASSERT_OK(wr_morpher_save(m, path));
    WR_ASSERT_OK(wr_morpher_load(path, &m2));
    WR_ASSERT_OK(wr_morpher_apply(m2, zt, yt, nt, c, NULL));
    ck_assert(memcmp(a, c, 2 * nt * sizeof(float)) == 0);
    wr_morpher_free(m2);
    unlink(path);
    WR_ASSERT_FAILS(wr_morpher_load(path, &m2), WR_ERR_IO);
    wr_morpher_free(m);
    free(zt); free(yt); free(a); free(b); free(c);
}
END_TEST

/* Repacks a modified payload and checks the load fails as a format error. */
static void expect_bad_payload(const unsigned char *payload, size_t size,
                               const char *what)
{
    void *buf = NULL;
    size_t bsize = 0;
    WR_ASSERT_OK(wr__container_pack(WR_KIND_MORPHER, 1, payload, size, &buf, &bsize));
    wr_morpher *m = NULL;
    wr_clear_error();
    wr_status st = wr_morpher_from_bytes(buf, bsize, &m);
    ck_assert_msg(st == WR_ERR_FORMAT, "%s: %s (%s)", what, wr_status_string(st),
                  wr_last_error());
    ck_assert_ptr_null(m);
    wr_free(buf);
}

/* Payloads that pass the container's CRC but lie: every lie is caught. */
START_TEST(test_hostile_payload)
{
    wr__rng r;
    wr__rng_seed(&r, 21, 0);
    wr_morpher *m = fit_recoil(&r, 3000);
    void *buf = NULL, *payload = NULL;
    size_t size = 0, psize = 0;
    WR_ASSERT_OK(wr_morpher_to_bytes(m, &buf, &size));
    WR_ASSERT_OK(wr__container_unpack(buf, size, WR_KIND_MORPHER, 1, &payload, &psize, NULL));
    unsigned char *p = malloc(psize + 1), *orig = payload;
    /* the unmodified payload loads */
    memcpy(p, orig, psize);
    void *ok = NULL;
    size_t oksize = 0;
    WR_ASSERT_OK(wr__container_pack(WR_KIND_MORPHER, 1, p, psize, &ok, &oksize));
    wr_morpher *m2 = NULL;
    WR_ASSERT_OK(wr_morpher_from_bytes(ok, oksize, &m2));
    wr_morpher_free(m2);
    wr_free(ok);
    /* n_z claims 2 conditioning variables: the embedded forests have the
     * input counts of n_z = 1 and do not fit the chain */
    memcpy(p, orig, psize);
    p[4] = 2;
    expect_bad_payload(p, psize, "n_z");
    /* n_y = 0 */
    memcpy(p, orig, psize);
    p[0] = 0;
    expect_bad_payload(p, psize, "n_y");
    /* a level count far beyond the bytes left */
    memcpy(p, orig, psize);
    p[8 + 6] = 0x7f;
    expect_bad_payload(p, psize, "n_levels");
    /* levels no longer increasing: 0.05 -> 0.5 */
    memcpy(p, orig, psize);
    double half = 0.5;
    memcpy(p + 16 + 8, &half, 8); /* little-endian hosts only, as CI */
    expect_bad_payload(p, psize, "levels");
    /* one byte too many, one too few */
    memcpy(p, orig, psize);
    p[psize] = 0;
    expect_bad_payload(p, psize + 1, "trailing byte");
    expect_bad_payload(p, psize - 1, "truncated");
    free(p);
    free(payload);
    wr_free(buf);
    wr_morpher_free(m);
}
END_TEST

/* ------------------------------------------------- errors, cancellation */
typedef struct prog {
    int morph_calls, forest_calls, cancel_at;
    int64_t last_step, last_total;
} prog;

static int on_progress(void *u, const char *stage, int64_t step, int64_t total,
                       double m1, double m2)
{
    prog *p = u;
    if (!strcmp(stage, "morpher.fit")) {
        p->morph_calls++;
        p->last_step = step;
        p->last_total = total;
        if (p->cancel_at >= 0 && step == p->cancel_at) return 1;
    } else {
        p->forest_calls++;
    }
    return 0;
}

START_TEST(test_progress_and_cancel)
{
    const size_t n = 3000;
    wr__rng r;
    wr__rng_seed(&r, 18, 0);
    float *zs = malloc(n * sizeof(float)), *ys = malloc(n * sizeof(float));
    float *zd = malloc(n * sizeof(float)), *yd = malloc(n * sizeof(float));
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    make_1d(&r, n, 1.0, 0.0, 1.0, zs, ys);
    make_1d(&r, n, 1.2, 0.5, 0.5, zd, yd);
    wr_morpher *m = new_morpher(1, 1);
    prog p = {0, 0, -1, 0, 0};
    wr_morpher_set_progress(m, on_progress, &p);
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    ck_assert_int_eq(p.morph_calls, 3);
    ck_assert_int_eq(p.last_step, 2);
    ck_assert_int_eq(p.last_total, 2);
    WR_ASSERT_OK(wr_morpher_apply(m, zs, ys, n, a, NULL));
    /* cancelled after the first forest: the previous model stays */
    p.cancel_at = 1;
    WR_ASSERT_FAILS(wr_morpher_fit(m, zd, yd, NULL, n, zs, ys, NULL, n), WR_ERR_CANCELLED);
    WR_ASSERT_OK(wr_morpher_apply(m, zs, ys, n, b, NULL));
    ck_assert(memcmp(a, b, n * sizeof(float)) == 0);
    wr_morpher_set_progress(m, NULL, NULL);
    /* a validation split for early stopping works */
    WR_ASSERT_OK(wr_morpher_set_param(m, "validation_fraction", "0.2"));
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, n, zd, yd, NULL, n));
    wr_morpher_free(m);
    free(zs); free(ys); free(zd); free(yd); free(a); free(b);
}
END_TEST

START_TEST(test_errors)
{
    wr_morpher *m = NULL;
    double bad[3] = {0.1, 0.5, 0.3};
    WR_ASSERT_FAILS(wr_morpher_create(0, 1, NULL, 0, &m), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "n_y"));
    WR_ASSERT_FAILS(wr_morpher_create(1, 1, bad, 3, &m), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "levels"));
    WR_ASSERT_FAILS(wr_morpher_create(1, 1, LEVELS, 1, &m), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_create(40, 40, NULL, 0, &m), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_create(1, 1, NULL, 0, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_null(m);
    WR_ASSERT_OK(wr_morpher_create(1, 1, LEVELS + 1, 19, &m));
    ck_assert_uint_eq(wr_morpher_n_levels(m), 19);
    double lv[19];
    WR_ASSERT_OK(wr_morpher_levels(m, lv, 19));
    ck_assert(lv[0] == 0.05 && lv[18] == 0.95);
    WR_ASSERT_FAILS(wr_morpher_levels(m, lv, 18), WR_ERR_INVALID_ARG);

    float z[4] = {0, 1, 2, 3}, y[4] = {0, 1, 2, 3}, out[4];
    WR_ASSERT_FAILS(wr_morpher_apply(m, z, y, 4, out, NULL), WR_ERR_NOT_FITTED);
    void *buf;
    size_t size;
    WR_ASSERT_FAILS(wr_morpher_to_bytes(m, &buf, &size), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 1, 0, 1), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 0, 1, 1), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 0, NAN, 1), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 0, INFINITY, INFINITY), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_param(m, "nope", "1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_param(m, "validation_fraction", "0.9"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_params(m, "threads=1 interpolation=cubic"), WR_ERR_INVALID_ARG);
    char val[64];
    WR_ASSERT_OK(wr_morpher_get_param(m, "threads", val, sizeof val));
    ck_assert_str_eq(val, "0");
    WR_ASSERT_OK(wr_morpher_set_forest_params(m, WR_MORPH_SIM, "rounds=7"));
    WR_ASSERT_FAILS(wr_morpher_set_forest_params(m, WR_MORPH_SIM, "bogus=1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_forest_params(m, 0, "rounds=7"), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_morpher_get_forest_params(m, WR_MORPH_SIM, val, sizeof val));
    ck_assert_str_eq(val, "rounds=7");
    WR_ASSERT_OK(wr_morpher_get_forest_params(m, WR_MORPH_DATA, val, sizeof val));
    ck_assert_str_eq(val, "");
    WR_ASSERT_FAILS(wr_morpher_get_forest_params(m, WR_MORPH_SIM, val, 3), WR_ERR_INVALID_ARG);

    /* fit: sizes, NULLs, NaN, weights */
    const size_t n = 2000;
    wr__rng r;
    wr__rng_seed(&r, 19, 0);
    float *zs = malloc(n * sizeof(float)), *ys = malloc(n * sizeof(float));
    float *w = malloc(n * sizeof(float));
    make_1d(&r, n, 1.0, 0.0, 1.0, zs, ys);
    for (size_t i = 0; i < n; i++) w[i] = 1.0f;
    WR_ASSERT_FAILS(wr_morpher_fit(m, zs, ys, NULL, 0, zs, ys, NULL, n), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_fit(m, NULL, ys, NULL, n, zs, ys, NULL, n), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "z_sim"));
    ys[17] = NAN;
    WR_ASSERT_FAILS(wr_morpher_fit(m, zs, ys, NULL, n, zs, ys, NULL, n), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "y_sim"));
    ys[17] = 0.5f;
    w[3] = -1.0f;
    WR_ASSERT_FAILS(wr_morpher_fit(m, zs, ys, NULL, n, zs, ys, w, n), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "w_data"));
    ck_assert(!wr_morpher_is_fitted(m));
    w[3] = 1.0f;
    WR_ASSERT_OK(wr_morpher_set_forest_params(m, WR_MORPH_BOTH, FOREST_KV));
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, w, n, zs, ys, NULL, n));
    ck_assert(wr_morpher_is_fitted(m));
    /* apply errors */
    WR_ASSERT_FAILS(wr_morpher_apply(m, z, y, 4, NULL, NULL), WR_ERR_INVALID_ARG);
    z[2] = INFINITY;
    WR_ASSERT_FAILS(wr_morpher_apply(m, z, y, 4, out, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'z'"));
    WR_ASSERT_OK(wr_morpher_apply(m, z, y, 0, out, NULL));
    /* a morpher's bytes are not a forest's and vice versa */
    WR_ASSERT_OK(wr_morpher_to_bytes(m, &buf, &size));
    wr_quantile_forest *f = NULL;
    WR_ASSERT_FAILS(wr_qforest_from_bytes(buf, size, &f), WR_ERR_WRONG_KIND);
    ((unsigned char *)buf)[size / 2] ^= 0x10;
    wr_morpher *m2 = NULL;
    WR_ASSERT_FAILS(wr_morpher_from_bytes(buf, size, &m2), WR_ERR_FORMAT);
    wr_free(buf);
    WR_ASSERT_FAILS(wr_morpher_from_bytes(NULL, 10, &m2), WR_ERR_INVALID_ARG);
    wr_morpher_free(m);
    wr_morpher_free(NULL);
    free(zs); free(ys); free(w);
}
END_TEST

/* k = 0: no conditioning, the forests learn marginal quantiles. */
START_TEST(test_unconditional)
{
    const size_t n = 10000;
    wr__rng r;
    wr__rng_seed(&r, 20, 0);
    float *ys = malloc(n * sizeof(float)), *yd = malloc(n * sizeof(float));
    float *yp = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        ys[i] = (float)wr__rng_normal(&r);
        yd[i] = (float)(2.0 + 0.5 * wr__rng_normal(&r));
    }
    wr_morpher *m = new_morpher(1, 0);
    WR_ASSERT_OK(wr_morpher_fit(m, NULL, ys, NULL, n, NULL, yd, NULL, n));
    WR_ASSERT_OK(wr_morpher_apply(m, NULL, ys, n, yp, NULL));
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += pow(yp[i] - (2.0 + 0.5 * ys[i]), 2);
    ck_assert_msg(sqrt(ss / n) < 0.05 * 0.5, "RMS %g", sqrt(ss / n));
    wr_morpher_free(m);
    free(ys); free(yd); free(yp);
}
END_TEST

static Suite *morph_suite(void)
{
    Suite *s = suite_create("morph");
    TCase *tc = tcase_create("morph");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_grid_map_affine_exact);
    tcase_add_test(tc, test_grid_map_u_exact);
    tcase_add_test(tc, test_grid_map_monotone_nonlinear);
    tcase_add_test(tc, test_grid_map_degenerate_tails);
    tcase_add_test(tc, test_coordinates);
    tcase_add_test(tc, test_gauss_1d);
    tcase_add_test(tc, test_weights);
    tcase_add_test(tc, test_kr_2d);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_from_sim_kr_2d);
    tcase_add_test(tc, test_from_sim_identity_noise);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_monotone_grid);
    tcase_add_test(tc, test_threads_and_roundtrip);
    tcase_add_test(tc, test_hostile_payload);
    tcase_add_test(tc, test_progress_and_cancel);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_unconditional);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(morph_suite)
