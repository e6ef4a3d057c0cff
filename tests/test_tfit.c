/* tests/test_tfit.c -- wr_template_fit: Breit-Wigner weights, binning and
 * flow, streaming fill (chunks, threads, merge), shifted-mass closure in
 * 1D and 2D, Poisson-toy pulls, parabola width vs Fisher information,
 * Barlow-Beeston-lite, bootstrap weights and bootstrap error vs the spread
 * over independent samples, systematic slope, save/load, error paths.
 *
 * Events come from a small internal generator (the toy simulation is a
 * separate module): m from a Breit-Wigner in s = m^2 (fixed width, as
 * BW(m; M0, G0) with width=fixed), a transverse-mass-like observable
 * x = m sin(theta) smeared by 2 % and 2 GeV, and y = 2.4 cos(theta). */
#include "testutil.h"

#include "core.h"
#include "tfit_int.h"

#include <unistd.h>

#define M0 80.385
#define G0 2.085

typedef struct sample {
    size_t n;
    double *x2;  /* n x 2: (x, y) */
    double *x1;  /* n: x */
    double *m;
    uint64_t *id;
} sample;

static sample gen(size_t n, uint64_t seed)
{
    sample s = {n, malloc(2 * n * sizeof(double)), malloc(n * sizeof(double)),
                malloc(n * sizeof(double)), malloc(n * sizeof(uint64_t))};
    ck_assert(s.x2 && s.x1 && s.m && s.id);
    wr__rng r;
    wr__rng_seed(&r, seed, 12345);
    const double mg = M0 * G0, lo = atan((60.0 * 60.0 - M0 * M0) / mg),
                 hi = atan((100.0 * 100.0 - M0 * M0) / mg);
    for (size_t i = 0; i < n; i++) {
        double u = lo + (hi - lo) * wr__rng_uniform(&r);
        double m = sqrt(M0 * M0 + mg * tan(u));
        double c = 2.0 * wr__rng_uniform(&r) - 1.0;
        double x = m * sqrt(1.0 - c * c) * (1.0 + 0.02 * wr__rng_normal(&r)) +
                   2.0 * wr__rng_normal(&r);
        s.m[i] = m;
        s.x1[i] = x;
        s.x2[2 * i] = x;
        s.x2[2 * i + 1] = 2.4 * c;
        s.id[i] = seed * 1000000000ull + i;
    }
    return s;
}

static void sample_free(sample *s)
{
    free(s->x2);
    free(s->x1);
    free(s->m);
    free(s->id);
}

/* 1D fit over 60..100 GeV in 40 bins, grid M0 +- 200 MeV in 20 MeV steps. */
static wr_template_fit *make_1d(const char *params)
{
    wr_template_fit *tf = NULL;
    WR_ASSERT_OK(wr_tfit_create_uniform(40, 60.0, 100.0, 0, 0, 0, &tf));
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_center=80.385 mass_step=0.02 "
                                        "mass_count=21 width=fixed threads=2"));
    if (params) WR_ASSERT_OK(wr_tfit_set_params(tf, params));
    return tf;
}

static double *bw_w(const wr_template_fit *tf, const sample *s, double mass)
{
    double *w = malloc(s->n * sizeof *w);
    WR_ASSERT_OK(wr_tfit_bw_weights(tf, mass, s->m, s->n, w));
    return w;
}

/* ------------------------------------------------------------------ BW */
START_TEST(test_bw_weights)
{
    wr_template_fit *tf = make_1d("width=running");
    double m[3] = {70.0, 80.385, 90.0}, w[3];
    WR_ASSERT_OK(wr_tfit_bw_weights(tf, M0, m, 3, w));
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(w[i], 1.0, 1e-15);
    /* analytic running-width ratio for M = 80.5, G unchanged */
    const double M = 80.5;
    WR_ASSERT_OK(wr_tfit_bw_weights(tf, M, m, 3, w));
    for (int i = 0; i < 3; i++) {
        double s = m[i] * m[i];
        double d0 = (s - M0 * M0) * (s - M0 * M0) + s * s * G0 * G0 / (M0 * M0);
        double d1 = (s - M * M) * (s - M * M) + s * s * G0 * G0 / (M * M);
        ck_assert_double_eq_tol(w[i], d0 / d1, 1e-12 * d0 / d1);
    }
    /* fixed width with G scaled as M^3 */
    WR_ASSERT_OK(wr_tfit_set_params(tf, "width=fixed width_scaling=m3"));
    WR_ASSERT_OK(wr_tfit_bw_weights(tf, M, m, 3, w));
    const double G = G0 * pow(M / M0, 3);
    for (int i = 0; i < 3; i++) {
        double s = m[i] * m[i];
        double d0 = (s - M0 * M0) * (s - M0 * M0) + M0 * M0 * G0 * G0;
        double d1 = (s - M * M) * (s - M * M) + M * M * G * G;
        ck_assert_double_eq_tol(w[i], d0 / d1, 1e-12 * d0 / d1);
    }
    /* a heavier hypothesis favours heavier generated masses */
    ck_assert(w[2] > 1.0 && w[0] < 1.0);
    WR_ASSERT_FAILS(wr_tfit_bw_weights(tf, -1.0, m, 3, w), WR_ERR_INVALID_ARG);
    m[1] = 0.0;
    WR_ASSERT_FAILS(wr_tfit_bw_weights(tf, M, m, 3, w), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "m_gen"));
    wr_tfit_free(tf);
}
END_TEST

/* ------------------------------------------------------------- binning */
START_TEST(test_binning_flow)
{
    double e[4] = {0.0, 1.0, 3.0, 6.0};
    wr_template_fit *tf;
    WR_ASSERT_OK(wr_tfit_create(e, 4, NULL, 0, &tf));
    ck_assert_uint_eq(wr_tfit_n_bins(tf), 3);
    ck_assert_uint_eq(wr_tfit_dim(tf), 1);
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_count=3 data_sets=2"));
    /* values on the edges go to the bin above; 6 is overflow */
    double x[7] = {-1.0, 0.0, 0.999, 1.0, 2.9, 3.0, 6.0};
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, x, NULL, NULL, 7));
    double h[3];
    WR_ASSERT_OK(wr_tfit_histogram(tf, WR_TFIT_DATA, 0, h, 3));
    ck_assert_double_eq(h[0], 2.0);
    ck_assert_double_eq(h[1], 2.0);
    ck_assert_double_eq(h[2], 1.0);
    wr_tfit_reset(tf);
    WR_ASSERT_OK(wr_tfit_set_param(tf, "flow", "fold"));
    double w[7] = {1, 2, 3, 4, 5, 6, 7};
    WR_ASSERT_OK(wr_tfit_add_data(tf, 1, x, w, NULL, 7));
    WR_ASSERT_OK(wr_tfit_histogram(tf, WR_TFIT_DATA, 1, h, 3));
    ck_assert_double_eq(h[0], 1 + 2 + 3);
    ck_assert_double_eq(h[1], 4 + 5);
    ck_assert_double_eq(h[2], 6 + 7);
    WR_ASSERT_OK(wr_tfit_histogram(tf, WR_TFIT_DATA_SUMW2, 1, h, 3));
    ck_assert_double_eq(h[2], 36 + 49);
    wr_tfit_free(tf);

    /* 2D: flattened index ix * ny + iy */
    WR_ASSERT_OK(wr_tfit_create_uniform(2, 0.0, 2.0, 3, 0.0, 3.0, &tf));
    ck_assert_uint_eq(wr_tfit_n_bins(tf), 6);
    ck_assert_uint_eq(wr_tfit_n_edges(tf, 1), 4);
    double ey[4];
    WR_ASSERT_OK(wr_tfit_edges(tf, 1, ey, 4));
    ck_assert_double_eq(ey[3], 3.0);
    double xy[6] = {1.5, 2.5, 0.5, 0.5, 1.5, 5.0};
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, xy, NULL, NULL, 3));
    double h6[6];
    WR_ASSERT_OK(wr_tfit_histogram(tf, WR_TFIT_DATA, 0, h6, 6));
    ck_assert_double_eq(h6[1 * 3 + 2], 1.0);
    ck_assert_double_eq(h6[0], 1.0);
    double tot = 0;
    for (int b = 0; b < 6; b++) tot += h6[b];
    ck_assert_double_eq(tot, 2.0); /* (1.5, 5.0) is y overflow: dropped */
    wr_tfit_free(tf);
}
END_TEST

/* The interpolated template at an off-grid mass vs the template filled at
 * that mass (explicit grid containing it), 20 MeV grid steps: log-cubic
 * within 1e-7 (measured 2e-9), log-linear within 2e-5 (measured 4e-6),
 * relative per bin; exact at grid masses. */
START_TEST(test_interpolation)
{
    sample s = gen(50000, 5);
    const double mt = 80.3993;
    wr_template_fit *a = make_1d(NULL), *b = make_1d(NULL);
    double g[3] = {80.3, mt, 80.5};
    WR_ASSERT_OK(wr_tfit_set_mass_grid(b, g, 3));
    WR_ASSERT_OK(wr_tfit_add_templates(a, s.x1, s.m, NULL, NULL, s.n));
    WR_ASSERT_OK(wr_tfit_add_templates(b, s.x1, s.m, NULL, NULL, s.n));
    double ta[40], tb[40], th[40];
    WR_ASSERT_OK(wr_tfit_histogram(b, WR_TFIT_TEMPLATE, 1, tb, 40));
    WR_ASSERT_OK(wr_tfit_template_at(a, mt, ta, 40));
    double worst = 0;
    for (int i = 0; i < 40; i++)
        if (tb[i] > 0) worst = fmax(worst, fabs(ta[i] / tb[i] - 1.0));
    ck_assert_msg(worst < 1e-7, "cubic: worst relative difference %g", worst);
    WR_ASSERT_OK(wr_tfit_set_param(a, "interp", "linear"));
    WR_ASSERT_OK(wr_tfit_template_at(a, mt, ta, 40));
    worst = 0;
    for (int i = 0; i < 40; i++)
        if (tb[i] > 0) worst = fmax(worst, fabs(ta[i] / tb[i] - 1.0));
    ck_assert_msg(worst < 2e-5, "linear: worst relative difference %g", worst);
    double grid[21];
    WR_ASSERT_OK(wr_tfit_masses(a, grid, 21));
    WR_ASSERT_OK(wr_tfit_template_at(a, grid[12], ta, 40));
    WR_ASSERT_OK(wr_tfit_histogram(a, WR_TFIT_TEMPLATE, 12, th, 40));
    ck_assert(memcmp(ta, th, sizeof ta) == 0);
    wr_tfit_free(a);
    wr_tfit_free(b);
    sample_free(&s);
}
END_TEST

/* ------------------------------------------------------------- closure */
/* Pseudo-data = the template sample reweighted to M_true. */
static void closure(const char *params, int dim, double dm)
{
    sample s = gen(100000, 7);
    wr_template_fit *tf;
    if (dim == 2)
        WR_ASSERT_OK(wr_tfit_create_uniform(20, 60.0, 100.0, 4, -2.4, 2.4, &tf));
    else
        WR_ASSERT_OK(wr_tfit_create_uniform(40, 60.0, 100.0, 0, 0, 0, &tf));
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_center=80.385 mass_step=0.02 "
                                        "mass_count=21 threads=2"));
    WR_ASSERT_OK(wr_tfit_set_params(tf, params));
    const double *x = dim == 2 ? s.x2 : s.x1;
    WR_ASSERT_OK(wr_tfit_add_templates(tf, x, s.m, NULL, s.id, s.n));
    const double mt = M0 + dm;
    double *w = bw_w(tf, &s, mt);
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, x, w, s.id, s.n));
    double mass, width, bias;
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, mt, &mass, &width, &bias));
    ck_assert_msg(width > 0.003 && width < 0.1, "width %g GeV", width);
    ck_assert_msg(fabs(mass - mt) < 0.02 * width, "%s dim %d: fitted %.6f, "
                  "true %.6f, width %.6f", params, dim, mass, mt, width);
    ck_assert_double_eq_tol(bias, 1000.0 * (mass - mt), 1e-9);
    double v;
    WR_ASSERT_OK(wr_tfit_result(tf, "n_bins", &v));
    ck_assert(v >= 0.7 * (double)wr_tfit_n_bins(tf) && v <= wr_tfit_n_bins(tf));
    WR_ASSERT_OK(wr_tfit_result(tf, "norm", &v));
    ck_assert(fabs(v - 1.0) < 0.05); /* same events, weights near 1 */
    /* the scan: 10 points per interval, minimum near the fit */
    size_t ns = wr_tfit_scan_size(tf);
    ck_assert_uint_eq(ns, 20 * 10 + 1);
    double *sm = malloc(ns * sizeof *sm), *sv = malloc(ns * sizeof *sv);
    WR_ASSERT_OK(wr_tfit_scan(tf, sm, sv, ns));
    ck_assert_double_eq_tol(sm[0], M0 - 0.2, 1e-12);
    ck_assert_double_eq_tol(sm[ns - 1], M0 + 0.2, 1e-12);
    size_t jmin = 0;
    for (size_t j = 1; j < ns; j++)
        if (sv[j] < sv[jmin]) jmin = j;
    ck_assert(fabs(sm[jmin] - mass) <= 0.002 + 1e-12);
    free(sm);
    free(sv);
    free(w);
    wr_tfit_free(tf);
    sample_free(&s);
}

START_TEST(test_closure_1d)
{
    closure("width=fixed", 1, 0.063);
    closure("width=running width_scaling=m3", 1, -0.091);
    closure("interp=linear norm=free", 1, 0.031);
}
END_TEST

START_TEST(test_closure_2d)
{
    closure("width=fixed", 2, 0.047);
    closure("bb_lite=1", 2, -0.033);
}
END_TEST

/* --------------------------------------------------- toys and Fisher */
/* Templates from 300k events; Asimov expectation of n_data events at mt. */
static wr_template_fit *toy_templates(double *expect, double mt, double n_data)
{
    sample s = gen(300000, 11);
    wr_template_fit *tf = make_1d(NULL);
    WR_ASSERT_OK(wr_tfit_add_templates(tf, s.x1, s.m, NULL, NULL, s.n));
    size_t B = wr_tfit_n_bins(tf);
    WR_ASSERT_OK(wr_tfit_template_at(tf, mt, expect, B));
    double tot = 0;
    for (size_t b = 0; b < B; b++) tot += expect[b];
    for (size_t b = 0; b < B; b++) expect[b] *= n_data / tot;
    sample_free(&s);
    return tf;
}

START_TEST(test_pulls)
{
    const double mt = 80.417, nd = 20000;
    double mu[40], n[40];
    wr_template_fit *tf = toy_templates(mu, mt, nd);
    wr__rng r;
    wr__rng_seed(&r, 99, 0);
    const int ntoy = 1000;
    double sp = 0, sp2 = 0;
    for (int t = 0; t < ntoy; t++) {
        for (int b = 0; b < 40; b++) n[b] = wr__rng_poisson(&r, mu[b]);
        WR_ASSERT_OK(wr_tfit_set_data_histogram(tf, 0, n, 40));
        double mass, width;
        WR_ASSERT_OK(wr_tfit_fit(tf, 0, mt, &mass, &width, NULL));
        double p = (mass - mt) / width;
        sp += p;
        sp2 += p * p;
    }
    double mean = sp / ntoy, sd = sqrt(sp2 / ntoy - mean * mean);
    /* 3 sigma: mean +- 3/sqrt(n), width +- 3/sqrt(2n) */
    ck_assert_msg(fabs(mean) < 3.0 / sqrt(ntoy), "pull mean %g", mean);
    ck_assert_msg(fabs(sd - 1.0) < 3.0 / sqrt(2.0 * ntoy), "pull width %g", sd);
    wr_tfit_free(tf);
}
END_TEST

START_TEST(test_fisher_width)
{
    const double mt = 80.372, nd = 50000;
    double mu[40], up[40], dn[40];
    wr_template_fit *tf = toy_templates(mu, mt, nd);
    WR_ASSERT_OK(wr_tfit_set_data_histogram(tf, 0, mu, 40));
    double mass, width;
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, mt, &mass, &width, NULL));
    ck_assert_msg(fabs(mass - mt) < 1e-3 * width, "Asimov fit %.7f vs %.7f",
                  mass, mt);
    /* shape (multinomial) Fisher information N sum (dp/dM)^2 / p */
    const double d = 0.002;
    WR_ASSERT_OK(wr_tfit_template_at(tf, mt + d, up, 40));
    WR_ASSERT_OK(wr_tfit_template_at(tf, mt - d, dn, 40));
    double tu = 0, td = 0, info = 0;
    for (int b = 0; b < 40; b++) {
        tu += up[b];
        td += dn[b];
    }
    for (int b = 0; b < 40; b++) {
        double dp = (up[b] / tu - dn[b] / td) / (2 * d), p = mu[b] / nd;
        if (p > 0) info += nd * dp * dp / p;
    }
    double sigma_f = 1.0 / sqrt(info);
    ck_assert_msg(fabs(width / sigma_f - 1.0) < 0.01, "parabola width %.6f, "
                  "Fisher %.6f", width, sigma_f);
    /* without Barlow-Beeston, free normalisation profiles to the shape fit */
    double m2, w2;
    WR_ASSERT_OK(wr_tfit_set_param(tf, "norm", "free"));
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, mt, &m2, &w2, NULL));
    ck_assert_double_eq_tol(m2, mass, 1e-9);
    ck_assert_double_eq_tol(w2, width, 1e-9);
    wr_tfit_free(tf);
}
END_TEST

/* Template statistics: independent template and data samples of the same
 * size; Barlow-Beeston-lite widens the width towards sqrt(1 + Nd/Nt). */
START_TEST(test_bb_lite)
{
    sample st = gen(60000, 21), sd = gen(60000, 22);
    double widths[2], masses[2];
    for (int bb = 0; bb < 2; bb++) {
        wr_template_fit *tf = make_1d(bb ? "bb_lite=1" : "bb_lite=0");
        WR_ASSERT_OK(wr_tfit_add_templates(tf, st.x1, st.m, NULL, NULL, st.n));
        WR_ASSERT_OK(wr_tfit_add_data(tf, 0, sd.x1, NULL, NULL, sd.n));
        WR_ASSERT_OK(wr_tfit_fit(tf, 0, M0, &masses[bb], &widths[bb], NULL));
        if (bb) {
            double mf, wf;
            WR_ASSERT_OK(wr_tfit_set_param(tf, "norm", "free"));
            WR_ASSERT_OK(wr_tfit_fit(tf, 0, M0, &mf, &wf, NULL));
            /* with BB the normalisation is a genuine extra parameter:
             * the result is close to the shape fit but not identical */
            ck_assert(fabs(mf - masses[1]) < 0.1 * widths[1]);
            ck_assert(fabs(wf / widths[1] - 1.0) < 0.05);
        }
        wr_tfit_free(tf);
    }
    double ratio = widths[1] / widths[0];
    ck_assert_msg(ratio > 1.25 && ratio < 1.6, "BB width ratio %g "
                  "(expected ~sqrt(2))", ratio);
    sample_free(&st);
    sample_free(&sd);
}
END_TEST

/* --------------------------------------------------- fill mechanics */
START_TEST(test_chunks_threads_merge)
{
    sample s = gen(30000, 31);
    const char *pp = "bootstrap=5 bb_lite=1 data_sets=2";
    wr_template_fit *a = make_1d(pp), *b = make_1d(pp), *c = make_1d(pp),
                    *d = make_1d(pp);
    WR_ASSERT_OK(wr_tfit_set_param(a, "threads", "1"));
    WR_ASSERT_OK(wr_tfit_add_templates(a, s.x1, s.m, NULL, s.id, s.n));
    WR_ASSERT_OK(wr_tfit_add_data(a, 1, s.x1, NULL, s.id, s.n));
    /* 7 uneven chunks, 2 threads */
    size_t cut[8] = {0, 1, 1000, 4097, 9000, 20000, 29999, 30000};
    for (int k = 0; k < 7; k++) {
        size_t o = cut[k], n = cut[k + 1] - cut[k];
        WR_ASSERT_OK(wr_tfit_add_templates(b, s.x1 + o, s.m + o, NULL, s.id + o, n));
        WR_ASSERT_OK(wr_tfit_add_data(b, 1, s.x1 + o, NULL, s.id + o, n));
    }
    /* two halves in two handles, merged */
    WR_ASSERT_OK(wr_tfit_add_templates(c, s.x1, s.m, NULL, s.id, 15000));
    WR_ASSERT_OK(wr_tfit_add_templates(d, s.x1 + 15000, s.m + 15000, NULL,
                                       s.id + 15000, 15000));
    WR_ASSERT_OK(wr_tfit_add_data(d, 1, s.x1, NULL, s.id, s.n));
    WR_ASSERT_OK(wr_tfit_merge(c, d));
    /* one chunk with 1 or 2 threads: identical sums; other chunkings and
     * the merge: the same up to rounding */
    wr_template_fit *f = make_1d(pp);
    WR_ASSERT_OK(wr_tfit_add_templates(f, s.x1, s.m, NULL, s.id, s.n));
    WR_ASSERT_OK(wr_tfit_add_data(f, 1, s.x1, NULL, s.id, s.n));
    size_t nT = 6 * 40 * 21, nD = 2 * 6 * 40;
    ck_assert(memcmp(a->T, f->T, nT * sizeof(double)) == 0);
    ck_assert(memcmp(a->T2, f->T2, nT * sizeof(double)) == 0);
    ck_assert(memcmp(a->D, f->D, nD * sizeof(double)) == 0);
    for (size_t i = 0; i < nT; i++) {
        ck_assert(fabs(a->T[i] - b->T[i]) <= 1e-12 * fabs(a->T[i]));
        ck_assert(fabs(a->T2[i] - b->T2[i]) <= 1e-12 * fabs(a->T2[i]));
        ck_assert(fabs(a->T[i] - c->T[i]) <= 1e-12 * fabs(a->T[i]));
    }
    for (size_t i = 0; i < nD; i++) {
        ck_assert(a->D[i] == b->D[i]);
        ck_assert(fabs(a->D[i] - c->D[i]) <= 1e-12 * fabs(a->D[i]));
    }
    wr_tfit_free(f);
    /* shared ids: a replica of the data sees the same Poisson weights as the
     * templates (data with unit weight equals the template at M0 ... only
     * through the weights k; compare the replica totals) */
    double ta = 0, da = 0;
    for (size_t bb = 0; bb < 40; bb++) {
        ta += a->T[3 * 40 * 21 + bb * 21 + 10] ; /* replica 3, M0 */
        da += a->D[(1 * 6 + 3) * 40 + bb];
    }
    ck_assert_double_eq_tol(ta, da, 1e-9 * da);
    WR_ASSERT_FAILS(wr_tfit_merge(c, c), WR_ERR_INVALID_ARG);
    wr_template_fit *e = make_1d("bootstrap=4");
    WR_ASSERT_FAILS(wr_tfit_merge(e, a), WR_ERR_INVALID_ARG);
    wr_tfit_free(a);
    wr_tfit_free(b);
    wr_tfit_free(c);
    wr_tfit_free(d);
    wr_tfit_free(e);
    sample_free(&s);
}
END_TEST

/* A fine 2D binning (more bins than events: the fill sorts by keys instead
 * of counting): the template at M0 (weights exactly 1) and every replica
 * agree with counts made here and with the data filled from the same ids. */
START_TEST(test_fine_binning)
{
    sample s = gen(20000, 35);
    wr_template_fit *tf;
    WR_ASSERT_OK(wr_tfit_create_uniform(500, 60.0, 100.0, 400, -2.4, 2.4, &tf));
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_step=0.02 mass_count=21 "
                                        "bootstrap=3 threads=2"));
    WR_ASSERT_OK(wr_tfit_add_events(tf, s.x2, s.m, NULL, s.id, s.n, NULL, 0));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, s.x2, NULL, s.id, s.n));
    const size_t B = 200000;
    double *cnt = calloc(B, sizeof *cnt), *h = malloc(B * sizeof *h);
    for (size_t i = 0; i < s.n; i++) {
        double x = s.x2[2 * i], y = s.x2[2 * i + 1];
        if (x < 60.0 || x >= 100.0) continue;
        size_t ix = (size_t)((x - 60.0) / 0.08), iy = (size_t)((y + 2.4) / 0.012);
        if (ix > 499) ix = 499;
        if (iy > 399) iy = 399;
        cnt[ix * 400 + iy] += 1.0;
    }
    WR_ASSERT_OK(wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, 10, h, B));
    double tot = 0, diff = 0;
    for (size_t b = 0; b < B; b++) {
        tot += h[b];
        diff += fabs(h[b] - cnt[b]);
    }
    /* the float index may differ from the edge comparison on an edge:
     * allow a handful of events to move to a neighbour */
    ck_assert_msg(diff <= 4.0, "moved %g of %g events", diff / 2, tot);
    for (size_t r = 0; r <= 3; r++) {
        const double *t = wr__tfit_slot_T(tf, r), *d = wr__tfit_slot_D(tf, 0, r);
        for (size_t b = 0; b < B; b++) ck_assert(t[b * 21 + 10] == d[b]);
    }
    free(cnt);
    free(h);
    wr_tfit_free(tf);
    sample_free(&s);
}
END_TEST

/* One pass over templates and two pseudo-data variants equals the
 * separate calls (templates bit for bit, data to rounding). */
START_TEST(test_add_events)
{
    sample s = gen(20000, 33);
    const char *pp = "bootstrap=7 data_sets=3";
    wr_template_fit *a = make_1d(pp), *b = make_1d(pp);
    double *wd = malloc(2 * s.n * sizeof *wd), *w1 = bw_w(a, &s, M0 + 0.05);
    for (size_t i = 0; i < s.n; i++) {
        wd[2 * i] = w1[i];
        wd[2 * i + 1] = 1.0 + 0.01 * (s.x1[i] - 80.0);
    }
    WR_ASSERT_OK(wr_tfit_add_events(a, s.x1, s.m, NULL, s.id, 12345, wd, 2));
    WR_ASSERT_OK(wr_tfit_add_events(a, s.x1 + 12345, s.m + 12345, NULL,
                                    s.id + 12345, s.n - 12345, wd + 2 * 12345, 2));
    WR_ASSERT_OK(wr_tfit_add_templates(b, s.x1, s.m, NULL, s.id, 12345));
    WR_ASSERT_OK(wr_tfit_add_templates(b, s.x1 + 12345, s.m + 12345, NULL,
                                       s.id + 12345, s.n - 12345));
    double *col = malloc(s.n * sizeof *col);
    for (int j = 0; j < 2; j++) {
        for (size_t i = 0; i < s.n; i++) col[i] = wd[2 * i + j];
        WR_ASSERT_OK(wr_tfit_add_data(b, (size_t)j, s.x1, col, s.id, 12345));
        WR_ASSERT_OK(wr_tfit_add_data(b, (size_t)j, s.x1 + 12345, col + 12345,
                                      s.id + 12345, s.n - 12345));
    }
    /* templates: the same computation; data: a matrix-vector product per
     * bin instead of a scatter, the same sums up to rounding */
    ck_assert(memcmp(a->T, b->T, 8 * 40 * 21 * sizeof(double)) == 0);
    ck_assert(memcmp(a->T2, b->T2, 40 * 21 * sizeof(double)) == 0);
    for (size_t i = 0; i < 3 * 8 * 40; i++)
        ck_assert(fabs(a->D[i] - b->D[i]) <= 1e-12 * fabs(b->D[i]));
    for (size_t i = 0; i < 3 * 40; i++)
        ck_assert(fabs(a->D2[i] - b->D2[i]) <= 1e-12 * fabs(b->D2[i]));
    double dsum = 0;
    for (size_t i = 0; i < 40; i++) dsum += a->D[2 * 8 * 40 + i];
    ck_assert(dsum == 0.0); /* set 2 untouched */
    double m0, m1;
    WR_ASSERT_OK(wr_tfit_fit(a, 0, M0 + 0.05, &m0, NULL, NULL));
    WR_ASSERT_OK(wr_tfit_fit(b, 0, M0 + 0.05, &m1, NULL, NULL));
    ck_assert(fabs(m0 - m1) < 1e-9 && fabs(m0 - (M0 + 0.05)) < 0.001);
    /* errors: more sets than data_sets, NULL weights, NaN */
    WR_ASSERT_FAILS(wr_tfit_add_events(a, s.x1, s.m, NULL, s.id, 10, wd, 4),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_add_events(a, s.x1, s.m, NULL, s.id, 10, NULL, 1),
                    WR_ERR_INVALID_ARG);
    wd[7] = NAN;
    WR_ASSERT_FAILS(wr_tfit_add_events(a, s.x1, s.m, NULL, s.id, 10, wd, 2),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "w_data"));
    for (size_t i = 0; i < 3 * 8 * 40; i++) /* unchanged by the failures */
        ck_assert(fabs(a->D[i] - b->D[i]) <= 1e-12 * fabs(b->D[i]));
    wr_tfit_free(a);
    wr_tfit_free(b);
    free(wd);
    free(w1);
    free(col);
    sample_free(&s);
}
END_TEST

/* The replica weights are Poisson(1): totals over N unit events have mean N
 * and variance N over replicas. */
START_TEST(test_bootstrap_weights)
{
    const size_t n = 20000, R = 400;
    double *x = malloc(n * sizeof *x);
    uint64_t *id = malloc(n * sizeof *id);
    for (size_t i = 0; i < n; i++) {
        x[i] = 70.0 + 20.0 * (double)i / (double)n;
        id[i] = 77 + 3 * i;
    }
    wr_template_fit *tf = make_1d("bootstrap=400 seed=5");
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, x, NULL, id, n));
    double s1 = 0, s2 = 0;
    for (size_t r = 1; r <= R; r++) {
        const double *d = wr__tfit_slot_D(tf, 0, r);
        double t = 0;
        for (int b = 0; b < 40; b++) t += d[b];
        s1 += t;
        s2 += t * t;
    }
    double mean = s1 / R, var = s2 / R - mean * mean;
    ck_assert_msg(fabs(mean / n - 1.0) < 4.0 * sqrt(1.0 / (n * (double)R)),
                  "mean %g", mean);
    ck_assert_msg(fabs(var / n - 1.0) < 4.0 * sqrt(2.0 / R), "var %g", var / n);
    /* another seed gives other replicas, the same seed the same ones */
    wr_template_fit *t2 = make_1d("bootstrap=400 seed=6"),
                    *t3 = make_1d("bootstrap=400 seed=5 threads=1");
    WR_ASSERT_OK(wr_tfit_add_data(t2, 0, x, NULL, id, n));
    WR_ASSERT_OK(wr_tfit_add_data(t3, 0, x, NULL, id, n));
    ck_assert(memcmp(tf->D, t3->D, 401 * 40 * sizeof(double)) == 0);
    ck_assert(memcmp(tf->D + 40, t2->D + 40, 400 * 40 * sizeof(double)) != 0);
    wr_tfit_free(tf);
    wr_tfit_free(t2);
    wr_tfit_free(t3);
    free(x);
    free(id);
    /* the inlined generator of the fill is the core xoshiro stream */
    wr__rng g1, g2;
    wr__rng_seed(&g1, 5, 123456789);
    wr__rng_seed(&g2, 5, 123456789);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(wr__tfit_stream_u64(&g1), wr__rng_u64(&g2));
}
END_TEST

/* Bootstrap error of a correlated bias (templates and pseudo-data from the
 * same events, pseudo-data distorted by 1 + 0.02 (x - 80)/10) vs the spread
 * of that bias over independent samples. */
static double distorted_bias(uint64_t seed, double *boot, double *boot_uncorr)
{
    sample s = gen(20000, seed);
    double *w = malloc(s.n * sizeof *w);
    uint64_t *id2 = malloc(s.n * sizeof *id2);
    for (size_t i = 0; i < s.n; i++) {
        w[i] = 1.0 + 0.02 * (s.x1[i] - 80.0) / 10.0;
        id2[i] = s.id[i] + 500000000ull; /* other ids: no correlation */
    }
    wr_template_fit *tf = make_1d("bootstrap=50 data_sets=2 seed=3 "
                                  "mass_step=0.05");
    WR_ASSERT_OK(wr_tfit_add_templates(tf, s.x1, s.m, NULL, s.id, s.n));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, s.x1, w, s.id, s.n));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 1, s.x1, w, id2, s.n));
    double bias, mean;
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, M0, NULL, NULL, &bias));
    WR_ASSERT_OK(wr_tfit_bootstrap(tf, 0, M0, NULL, 0, &mean, boot));
    if (boot_uncorr)
        WR_ASSERT_OK(wr_tfit_bootstrap(tf, 1, M0, NULL, 0, &mean, boot_uncorr));
    wr_tfit_free(tf);
    free(w);
    free(id2);
    sample_free(&s);
    return bias;
}

START_TEST(test_bootstrap_vs_samples)
{
    const int K = 60;
    double sb = 0, sb2 = 0, sboot = 0, unc = 0;
    for (int k = 0; k < K; k++) {
        double boot, bu;
        double b = distorted_bias(100 + (uint64_t)k, &boot, k < 5 ? &bu : NULL);
        sb += b;
        sb2 += b * b;
        sboot += boot;
        if (k < 5) unc += bu / boot;
    }
    double mean = sb / K, spread = sqrt((sb2 - K * mean * mean) / (K - 1));
    double boot = sboot / K;
    /* relative uncertainty of a standard deviation from K samples */
    double tol = 3.0 / sqrt(2.0 * (K - 1));
    ck_assert_msg(fabs(boot / spread - 1.0) < tol, "bootstrap %.3f MeV vs "
                  "spread over samples %.3f MeV (bias %.2f MeV)", boot, spread,
                  mean);
    /* without the shared ids the correlation is lost: a much larger error */
    ck_assert_msg(unc / 5 > 2.0, "uncorrelated/correlated bootstrap %g", unc / 5);
}
END_TEST

START_TEST(test_syst_and_progress)
{
    sample s = gen(40000, 41);
    wr_template_fit *tf = make_1d("bootstrap=20 data_sets=5");
    double eps[5] = {-2, -1, 0, 1, 2};
    /* discrepancy eps: a mass shift of 10 MeV per unit; all five variants
     * and the templates in one pass */
    double *W = malloc(5 * s.n * sizeof *W);
    for (int j = 0; j < 5; j++) {
        double *w = bw_w(tf, &s, M0 + 0.010 * eps[j]);
        for (size_t i = 0; i < s.n; i++) W[5 * i + (size_t)j] = w[i];
        free(w);
    }
    WR_ASSERT_OK(wr_tfit_add_events(tf, s.x1, s.m, NULL, s.id, s.n, W, 5));
    free(W);
    double bias[5], err[5], slope, slope_err;
    WR_ASSERT_OK(wr_tfit_syst(tf, eps, 5, M0, bias, err, &slope, &slope_err));
    ck_assert_msg(fabs(slope - 10.0) < 0.05, "slope %g MeV per unit", slope);
    for (int j = 0; j < 5; j++) {
        ck_assert_msg(fabs(bias[j] - 10.0 * eps[j]) < 0.1, "bias %g", bias[j]);
        ck_assert(err[j] >= 0 && err[j] < 1.0);
    }
    ck_assert(slope_err >= 0 && slope_err < 0.2);
    /* the bootstrap replicas and the progress callback */
    double rm[20], mean, spread;
    WR_ASSERT_OK(wr_tfit_bootstrap(tf, 4, M0 + 0.02, rm, 20, &mean, &spread));
    for (int r = 0; r < 20; r++) ck_assert(fabs(rm[r] - (M0 + 0.02)) < 0.002);
    WR_ASSERT_FAILS(wr_tfit_syst(tf, eps, 1, M0, bias, err, &slope, &slope_err),
                    WR_ERR_INVALID_ARG);
    wr_tfit_free(tf);
    sample_free(&s);
}
END_TEST

static int count_progress(void *user, const char *stage, int64_t step,
                          int64_t total, double m1, double m2)
{
    int *n = user;
    (*n)++;
    ck_assert_str_eq(stage, "tfit.bootstrap");
    ck_assert(step >= 1 && step <= total && total == 30);
    (void)m1;
    (void)m2;
    return *n >= 2; /* cancel at the second report */
}

START_TEST(test_progress_cancel)
{
    sample s = gen(5000, 51);
    wr_template_fit *tf = make_1d("bootstrap=30 threads=1");
    WR_ASSERT_OK(wr_tfit_add_templates(tf, s.x1, s.m, NULL, s.id, s.n));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, s.x1, NULL, s.id, s.n));
    int n = 0;
    wr_tfit_set_progress(tf, count_progress, &n);
    double spread = -1;
    WR_ASSERT_FAILS(wr_tfit_bootstrap(tf, 0, M0, NULL, 0, NULL, &spread),
                    WR_ERR_CANCELLED);
    ck_assert_int_eq(n, 2);
    ck_assert_double_eq(spread, -1); /* untouched */
    wr_tfit_set_progress(tf, NULL, NULL);
    WR_ASSERT_OK(wr_tfit_bootstrap(tf, 0, M0, NULL, 0, NULL, &spread));
    /* data = templates in every replica: the fits agree to parabola accuracy */
    ck_assert_msg(spread < 0.01, "spread %g MeV", spread);
    wr_tfit_free(tf);
    sample_free(&s);
}
END_TEST

/* ---------------------------------------------------------- save/load */
START_TEST(test_save_load)
{
    sample s = gen(20000, 61);
    wr_template_fit *tf = make_1d("bootstrap=3 bb_lite=1 norm=free");
    double grid[5] = {80.2, 80.3, 80.38, 80.45, 80.6};
    WR_ASSERT_OK(wr_tfit_set_mass_grid(tf, grid, 5));
    WR_ASSERT_OK(wr_tfit_add_templates(tf, s.x1, s.m, NULL, s.id, s.n));
    double *w = bw_w(tf, &s, 80.41);
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, s.x1, w, s.id, s.n));
    double m1, w1;
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, 80.41, &m1, &w1, NULL));
    ck_assert(fabs(m1 - 80.41) < 0.05 * w1);
    void *buf;
    size_t size;
    WR_ASSERT_OK(wr_tfit_to_bytes(tf, &buf, &size));
    int kind;
    WR_ASSERT_OK(wr_model_inspect(buf, size, &kind, NULL));
    ck_assert_int_eq(kind, WR_KIND_TEMPLATE_FIT);
    wr_template_fit *t2;
    WR_ASSERT_OK(wr_tfit_from_bytes(buf, size, &t2));
    ck_assert_uint_eq(wr_tfit_n_masses(t2), 5);
    double g2[5];
    WR_ASSERT_OK(wr_tfit_masses(t2, g2, 5));
    ck_assert(memcmp(grid, g2, sizeof grid) == 0);
    /* a regular-grid key returns to the regular grid (only while empty) */
    WR_ASSERT_FAILS(wr_tfit_set_params(t2, "mass_count=41"), WR_ERR_INVALID_ARG);
    wr_template_fit *t5 = make_1d(NULL);
    WR_ASSERT_OK(wr_tfit_set_mass_grid(t5, grid, 5));
    WR_ASSERT_OK(wr_tfit_set_params(t5, "norm=free"));
    ck_assert_uint_eq(wr_tfit_n_masses(t5), 5);
    WR_ASSERT_OK(wr_tfit_set_params(t5, "mass_count=21"));
    ck_assert_uint_eq(wr_tfit_n_masses(t5), 21);
    wr_tfit_free(t5);
    char val[64];
    WR_ASSERT_OK(wr_tfit_get_param(t2, "norm", val, sizeof val));
    ck_assert_str_eq(val, "free");
    double m2, w2;
    WR_ASSERT_OK(wr_tfit_fit(t2, 0, 80.41, &m2, &w2, NULL));
    ck_assert(m1 == m2 && w1 == w2);
    double rm1[3], rm2[3];
    WR_ASSERT_OK(wr_tfit_bootstrap(tf, 0, 80.41, rm1, 3, NULL, NULL));
    WR_ASSERT_OK(wr_tfit_bootstrap(t2, 0, 80.41, rm2, 3, NULL, NULL));
    ck_assert(memcmp(rm1, rm2, sizeof rm1) == 0);
    /* the file route, then corruptions */
    char path[] = "/tmp/wr_tfit_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    WR_ASSERT_OK(wr_tfit_save(tf, path));
    wr_template_fit *t3;
    WR_ASSERT_OK(wr_tfit_load(path, &t3));
    ck_assert(memcmp(t3->T, tf->T, 4 * 40 * 5 * sizeof(double)) == 0);
    remove(path);
    unsigned char *bad = malloc(size);
    memcpy(bad, buf, size);
    bad[size / 2] ^= 0x55;
    wr_template_fit *t4 = (wr_template_fit *)1;
    WR_ASSERT_FAILS(wr_tfit_from_bytes(bad, size, &t4), WR_ERR_FORMAT);
    ck_assert_ptr_null(t4);
    WR_ASSERT_FAILS(wr_tfit_from_bytes(buf, size / 2, &t4), WR_ERR_FORMAT);
    free(bad);
    wr_free(buf);
    /* an unfilled handle round-trips too */
    wr_template_fit *e = make_1d(NULL);
    WR_ASSERT_OK(wr_tfit_to_bytes(e, &buf, &size));
    WR_ASSERT_OK(wr_tfit_from_bytes(buf, size, &t4));
    ck_assert_uint_eq(wr_tfit_n_masses(t4), 21);
    WR_ASSERT_FAILS(wr_tfit_fit(t4, 0, M0, NULL, NULL, NULL), WR_ERR_NOT_FITTED);
    wr_free(buf);
    wr_tfit_free(e);
    wr_tfit_free(t4);
    wr_tfit_free(t3);
    wr_tfit_free(t2);
    wr_tfit_free(tf);
    free(w);
    sample_free(&s);
}
END_TEST

/* --------------------------------------------------------- error paths */
START_TEST(test_errors)
{
    wr_template_fit *tf = NULL;
    double e_bad[3] = {0, 2, 1}, e_nan[2] = {0, NAN}, e[3] = {0, 1, 2};
    WR_ASSERT_FAILS(wr_tfit_create(e_bad, 3, NULL, 0, &tf), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "edges_x"));
    WR_ASSERT_FAILS(wr_tfit_create(e_nan, 2, NULL, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create(e, 1, NULL, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create(e, 3, e_bad, 3, &tf), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "edges_y"));
    WR_ASSERT_FAILS(wr_tfit_create(e, 3, NULL, 0, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create_uniform(0, 0, 1, 0, 0, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create_uniform(4, 1, 1, 0, 0, 0, &tf), WR_ERR_INVALID_ARG);
    ck_assert_ptr_null(tf);

    tf = make_1d("bootstrap=2");
    /* parameters: unknown, out of range, bad choice; unchanged on error */
    WR_ASSERT_FAILS(wr_tfit_set_param(tf, "nope", "1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_param(tf, "mass_count", "2"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_param(tf, "norm", "maybe"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_params(tf, "mass_step=5 mass_count=41"),
                    WR_ERR_INVALID_ARG); /* grid below 0 GeV */
    ck_assert_uint_eq(wr_tfit_n_masses(tf), 21);
    double g[3] = {80, 79, 81};
    WR_ASSERT_FAILS(wr_tfit_set_mass_grid(tf, g, 3), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_mass_grid(tf, g, 2), WR_ERR_INVALID_ARG);

    /* nothing filled yet */
    WR_ASSERT_FAILS(wr_tfit_fit(tf, 0, M0, NULL, NULL, NULL), WR_ERR_NOT_FITTED);
    double r;
    WR_ASSERT_FAILS(wr_tfit_result(tf, "mass", &r), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_tfit_scan(tf, NULL, NULL, 0), WR_ERR_NOT_FITTED);

    sample s = gen(5000, 71);
    /* chunk checks: no change on failure */
    WR_ASSERT_FAILS(wr_tfit_add_templates(tf, s.x1, s.m, NULL, NULL, s.n),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "ids"));
    double keep = s.x1[17];
    s.x1[17] = NAN;
    WR_ASSERT_FAILS(wr_tfit_add_templates(tf, s.x1, s.m, NULL, s.id, s.n),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "index 17"));
    s.x1[17] = keep;
    s.m[3] = -1.0;
    WR_ASSERT_FAILS(wr_tfit_add_templates(tf, s.x1, s.m, NULL, s.id, s.n),
                    WR_ERR_INVALID_ARG);
    s.m[3] = M0;
    ck_assert(!tf->filled);
    WR_ASSERT_FAILS(wr_tfit_add_data(tf, 1, s.x1, NULL, s.id, s.n),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "set"));

    WR_ASSERT_OK(wr_tfit_add_templates(tf, s.x1, s.m, NULL, s.id, s.n));
    /* data set still empty */
    WR_ASSERT_FAILS(wr_tfit_fit(tf, 0, M0, NULL, NULL, NULL), WR_ERR_NOT_FITTED);
    /* filling parameters are frozen now; fit parameters are not */
    WR_ASSERT_FAILS(wr_tfit_set_param(tf, "mass_step", "0.03"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_param(tf, "bootstrap", "3"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_mass_grid(tf, e, 3), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_tfit_set_param(tf, "scan_refine", "5"));
    char val[32];
    WR_ASSERT_OK(wr_tfit_get_param(tf, "mass_step", val, sizeof val));
    ck_assert_str_eq(val, "0.02");

    /* pseudo-data far outside the grid: minimum at the edge */
    double *w = bw_w(tf, &s, M0 + 1.5);
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, s.x1, w, s.id, s.n));
    WR_ASSERT_FAILS(wr_tfit_fit(tf, 0, M0, NULL, NULL, NULL), WR_ERR_NUMERICAL);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "edge"));
    WR_ASSERT_FAILS(wr_tfit_bootstrap(tf, 0, M0, NULL, 0, NULL, NULL),
                    WR_ERR_NUMERICAL);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "replica"));
    WR_ASSERT_FAILS(wr_tfit_result(tf, "mass", &r), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_tfit_fit(tf, 0, INFINITY, NULL, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    double h[40] = {0}; /* set_data_histogram below reads it (valgrind) */
    WR_ASSERT_FAILS(wr_tfit_histogram(tf, WR_TFIT_DATA, 0, h, 39), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_histogram(tf, 9, 0, h, 40), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, 21, h, 40),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_template_at(tf, 90.0, h, 40), WR_ERR_INVALID_ARG);
    h[5] = -1;
    WR_ASSERT_FAILS(wr_tfit_set_data_histogram(tf, 0, h, 40), WR_ERR_INVALID_ARG);
    double bad_rm[3];
    WR_ASSERT_FAILS(wr_tfit_bootstrap(tf, 0, M0, bad_rm, 3, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    double eps[2] = {1, 1};
    WR_ASSERT_FAILS(wr_tfit_syst(tf, eps, 2, M0, NULL, NULL, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_result(tf, "mass", NULL), WR_ERR_INVALID_ARG);

    /* a successful fit, then unknown result names */
    wr_tfit_reset(tf);
    WR_ASSERT_OK(wr_tfit_set_param(tf, "bootstrap", "0"));
    WR_ASSERT_OK(wr_tfit_add_templates(tf, s.x1, s.m, NULL, NULL, s.n));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, s.x1, NULL, NULL, s.n));
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, NAN, NULL, NULL, NULL));
    WR_ASSERT_FAILS(wr_tfit_result(tf, "massive", &r), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_tfit_result(tf, "bias_mev", &r));
    ck_assert(isnan(r));
    WR_ASSERT_FAILS(wr_tfit_bootstrap(tf, 0, M0, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_scan(tf, NULL, NULL, 3), WR_ERR_INVALID_ARG);
    wr_tfit_free(tf);
    wr_tfit_free(NULL);
    free(w);
    sample_free(&s);
}
END_TEST

static Suite *tfit_suite(void)
{
    Suite *s = suite_create("tfit");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bw_weights);
    tcase_add_test(tc, test_binning_flow);
    tcase_add_test(tc, test_interpolation);
    tcase_add_test(tc, test_closure_1d);
    tcase_add_test(tc, test_closure_2d);
    tcase_add_test(tc, test_pulls);
    tcase_add_test(tc, test_fisher_width);
    tcase_add_test(tc, test_bb_lite);
    tcase_add_test(tc, test_chunks_threads_merge);
    tcase_add_test(tc, test_add_events);
    tcase_add_test(tc, test_fine_binning);
    tcase_add_test(tc, test_bootstrap_weights);
    tcase_add_test(tc, test_bootstrap_vs_samples);
    tcase_add_test(tc, test_syst_and_progress);
    tcase_add_test(tc, test_progress_cancel);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(tfit_suite)
