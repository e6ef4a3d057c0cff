/* tests/test_pdf.c -- the pdf families of wr_regressor: normalisation,
 * cdf/quantile inverses, moments against numerical integration, NLL and
 * link gradients against finite differences (core and both tails), large
 * and small alphas, and argument checking. */
#include "testutil.h"

#include "core.h"
#include "pdf.h"

static const double ALPHAS[] = {0.1, 0.3, 1.0, 2.0, 5.0, 12.0, 40.0};
#define N_ALPHAS (sizeof ALPHAS / sizeof ALPHAS[0])

/* Composite Simpson of f(t) * t^pw * (pw==-1 ? e^t) over [a, b]. */
typedef double (*weight_fn)(double t);
static double w_one(double t) { (void)t; return 1.0; }
static double w_t(double t) { return t; }
static double w_exp(double t) { return exp(t); }

static double simpson(const double *p, int family, weight_fn wf, double a,
                      double b, int n)
{
    double h = (b - a) / n, s = 0.0;
    for (int i = 0; i <= n; i++) {
        double t = i == n ? b : a + i * h; /* a + n h may round onto a jump */
        double c = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
        s += c * exp(wr__pdf_logpdf(family, p, t)) * wf(t);
    }
    return s * h / 3.0;
}

/* Integral over the real line, split at the kinks -a1, a2 and cut where
 * the exponential tails are below e^-60 of their start; rate_margin
 * slows the right tail's decay (weight e^t). */
static double integrate(const double *p, weight_fn wf, double rate_margin)
{
    double mu = p[0], s = p[1], a1 = p[2], a2 = p[3];
    double lo = mu - s * (a1 + 60.0 / a1);
    double k1 = mu - s * a1, k2 = mu + s * a2;
    double hi = mu + s * (a2 + 60.0 / (a2 - rate_margin * s));
    return simpson(p, WR_PDF_GAUSSEXP2, wf, lo, k1, 20000) +
           simpson(p, WR_PDF_GAUSSEXP2, wf, k1, k2, 4000) +
           simpson(p, WR_PDF_GAUSSEXP2, wf, k2, hi, 20000);
}

START_TEST(test_normalisation_grid)
{
    for (size_t i = 0; i < N_ALPHAS; i++)
        for (size_t j = 0; j < N_ALPHAS; j++) {
            double p[4] = {0.3, 0.7, ALPHAS[i], ALPHAS[j]};
            double z = integrate(p, w_one, 0.0);
            ck_assert_msg(fabs(z - 1.0) < 1e-7, "a1=%g a2=%g: integral %.12f",
                          p[2], p[3], z);
        }
}
END_TEST

START_TEST(test_large_alpha_is_gauss)
{
    /* a -> inf: I -> sqrt(2 pi); the tail terms underflow to 0 cleanly */
    double pg[2] = {-1.0, 2.0}, pe[4] = {-1.0, 2.0, 60.0, 80.0};
    for (double t = -15; t <= 15; t += 0.37) {
        ck_assert_double_eq_tol(wr__pdf_logpdf(WR_PDF_GAUSS, pg, t),
                                wr__pdf_logpdf(WR_PDF_GAUSSEXP2, pe, t), 1e-12);
        ck_assert_double_eq_tol(wr__pdf_cdf(WR_PDF_GAUSS, pg, t),
                                wr__pdf_cdf(WR_PDF_GAUSSEXP2, pe, t), 1e-14);
    }
    /* far tails: finite log-density, cdf from closed forms, no NaN */
    double p[4] = {0.0, 1.0, 30.0, 30.0};
    double lp = wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p, -1e4);
    ck_assert(isfinite(lp) && lp < -1e5);
    double c = wr__pdf_cdf(WR_PDF_GAUSSEXP2, p, -35.0);
    ck_assert(c > 0.0 && c < 1e-200);
    double g[4];
    double nll = wr__pdf_nll_grad(WR_PDF_GAUSSEXP2, p, 1e3, g);
    ck_assert(isfinite(nll));
    for (int j = 0; j < 4; j++) ck_assert(isfinite(g[j]));
}
END_TEST

START_TEST(test_cdf_matches_integral)
{
    double p[4] = {0.5, 1.3, 0.7, 1.8};
    double k1 = p[0] - p[1] * p[2], lo = k1 - p[1] * 80.0 / p[2];
    double pts[] = {-6.0, k1 - 0.5, k1, 0.0, 0.5, 1.9, p[0] + p[1] * p[3], 7.0};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double t = pts[i], num;
        if (t <= k1) {
            num = simpson(p, WR_PDF_GAUSSEXP2, w_one, lo, t, 40000);
        } else {
            num = simpson(p, WR_PDF_GAUSSEXP2, w_one, lo, k1, 40000) +
                  simpson(p, WR_PDF_GAUSSEXP2, w_one, k1, t, 4000);
        }
        double c = wr__pdf_cdf(WR_PDF_GAUSSEXP2, p, t);
        ck_assert_msg(fabs(c - num) < 1e-8, "t=%g cdf %.12g numeric %.12g", t, c, num);
    }
}
END_TEST

START_TEST(test_quantile_inverse)
{
    static const double probs[] = {1e-300, 1e-12, 1e-4, 0.01, 0.2, 0.5,
                                   0.7, 0.99, 1 - 1e-9};
    for (int fam = 1; fam <= 2; fam++)
        for (size_t i = 0; i < N_ALPHAS; i++)
            for (size_t j = 0; j < N_ALPHAS; j += 2) {
                double p[4] = {-0.4, 0.9, ALPHAS[i], ALPHAS[j]};
                for (size_t q = 0; q < sizeof probs / sizeof probs[0]; q++) {
                    double t = wr__pdf_quantile(fam, p, probs[q]);
                    ck_assert(isfinite(t));
                    double back = wr__pdf_cdf(fam, p, t);
                    ck_assert_msg(fabs(back - probs[q]) <= 1e-9 * probs[q] + 1e-14,
                                  "fam %d a=(%g,%g) p=%g: cdf(q)=%.15g", fam,
                                  p[2], p[3], probs[q], back);
                }
                for (double t = -8; t <= 8; t += 0.5) {
                    double c = wr__pdf_cdf(fam, p, t);
                    if (c < 1e-300 || c > 1 - 1e-12) continue;
                    double back = wr__pdf_quantile(fam, p, c);
                    /* near cdf = 1 the double c itself carries only
                     * ~1e-16 absolute precision: allow 1e-15 / f(t) */
                    double f = exp(wr__pdf_logpdf(fam, p, t));
                    ck_assert_msg(fabs(back - t) < 1e-7 * (1 + fabs(t)) + 1e-15 / f,
                                  "fam %d a=(%g,%g) t=%g: q(cdf)=%.15g", fam,
                                  p[2], p[3], t, back);
                }
            }
}
END_TEST

START_TEST(test_moments)
{
    for (size_t i = 0; i < N_ALPHAS; i++)
        for (size_t j = 0; j < N_ALPHAS; j++) {
            double p[4] = {0.2, 0.6, ALPHAS[i], ALPHAS[j]};
            double mean = integrate(p, w_t, 0.0);
            ck_assert_msg(fabs(wr__pdf_mean(WR_PDF_GAUSSEXP2, p) - mean) < 1e-7 * (1 + fabs(mean)),
                          "a=(%g,%g): mean %.12g numeric %.12g", p[2], p[3],
                          wr__pdf_mean(WR_PDF_GAUSSEXP2, p), mean);
            double lme = wr__pdf_log_mean_exp(WR_PDF_GAUSSEXP2, p);
            if (p[1] >= p[3]) {
                ck_assert(isinf(lme) && lme > 0); /* tail exp(-a2 u) too slow */
                continue;
            }
            if (p[3] - p[1] < 0.2) continue; /* integral needs a huge range */
            double me = integrate(p, w_exp, 1.0);
            ck_assert_msg(fabs(exp(lme) / me - 1.0) < 1e-6, "a=(%g,%g): E[e^t] %.12g numeric %.12g",
                          p[2], p[3], exp(lme), me);
        }
    /* summary: mode is the maximum, median has cdf 1/2, gauss closed forms */
    double p[4] = {0.2, 0.6, 0.8, 3.0}, out[4];
    WR_ASSERT_OK(wr_pdf_summary(WR_PDF_GAUSSEXP2, p, 1, 4, out));
    ck_assert_double_eq_tol(wr__pdf_cdf(WR_PDF_GAUSSEXP2, p, out[WR_SUMMARY_MEDIAN]), 0.5, 1e-12);
    double f0 = wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p, out[WR_SUMMARY_MODE]);
    ck_assert(f0 > wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p, out[WR_SUMMARY_MODE] + 1e-3));
    ck_assert(f0 > wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p, out[WR_SUMMARY_MODE] - 1e-3));
    double pg[2] = {0.3, 0.4};
    WR_ASSERT_OK(wr_pdf_summary(WR_PDF_GAUSS, pg, 1, 2, out));
    ck_assert_double_eq_tol(out[WR_SUMMARY_MEDIAN], 0.3, 1e-14);
    ck_assert_double_eq_tol(out[WR_SUMMARY_MEAN_EXP], exp(0.3 + 0.08), 1e-14);
}
END_TEST

/* Central differences of the NLL wrt each parameter. */
static void check_nll_grad(int family, const double *p0, double t)
{
    int k = wr__pdf_nparams(family);
    double g[4], p[4];
    wr__pdf_nll_grad(family, p0, t, g);
    ck_assert_double_eq_tol(wr__pdf_nll_grad(family, p0, t, g),
                            -wr__pdf_logpdf(family, p0, t), 1e-12);
    for (int j = 0; j < k; j++) {
        double h = 1e-6 * (fabs(p0[j]) + 1e-2);
        memcpy(p, p0, (size_t)k * sizeof *p);
        p[j] = p0[j] + h;
        double up = -wr__pdf_logpdf(family, p, t);
        p[j] = p0[j] - h;
        double dn = -wr__pdf_logpdf(family, p, t);
        double fd = (up - dn) / (2 * h);
        ck_assert_msg(fabs(fd - g[j]) < 1e-6 * (1 + fabs(fd)),
                      "family %d param %d t=%g: analytic %.10g fd %.10g", family,
                      j, t, g[j], fd);
    }
}

START_TEST(test_nll_gradient)
{
    double pg[2] = {0.3, 0.8};
    for (double t = -5; t <= 5; t += 0.7) check_nll_grad(WR_PDF_GAUSS, pg, t);
    static const double sets[][4] = {{0.3, 0.8, 1.1, 0.6}, {-1.0, 2.0, 0.15, 3.0},
                                     {0.0, 0.5, 4.0, 0.2}, {0.0, 1.0, 9.0, 9.0}};
    for (size_t s = 0; s < 4; s++) {
        const double *p = sets[s];
        /* u in the left tail, the core, the right tail */
        double us[] = {-p[2] - 3.0, -p[2] - 0.01, -0.5 * p[2], 0.0, 0.5 * p[3],
                       p[3] + 0.01, p[3] + 5.0};
        for (size_t i = 0; i < 7; i++)
            check_nll_grad(WR_PDF_GAUSSEXP2, p, p[0] + p[1] * us[i]);
    }
}
END_TEST

START_TEST(test_link)
{
    for (int fam = 1; fam <= 2; fam++) {
        int k = wr__pdf_nparams(fam);
        float raws[][4] = {{0.3f, -40.0f, -40.0f, 50.0f}, {-2.0f, 0.0f, 1.5f, -3.0f}};
        for (int s = 0; s < 2; s++) {
            double p[4], dp[4], pu[4], pd[4];
            wr__pdf_link(fam, raws[s], p, dp);
            ck_assert(p[1] >= WR__SIGMA_MIN);
            if (k == 4) ck_assert(p[2] >= WR__ALPHA_MIN && p[3] >= WR__ALPHA_MIN);
            ck_assert_ptr_null(wr__pdf_param_problem(fam, p));
            for (int j = 0; j < k; j++) {
                float ru[4], rd[4];
                memcpy(ru, raws[s], sizeof ru);
                memcpy(rd, raws[s], sizeof rd);
                ru[j] += 1e-2f;
                rd[j] -= 1e-2f;
                wr__pdf_link(fam, ru, pu, NULL);
                wr__pdf_link(fam, rd, pd, NULL);
                double fd = (pu[j] - pd[j]) / ((double)ru[j] - (double)rd[j]);
                ck_assert_msg(fabs(fd - dp[j]) < 1e-4, "link %d/%d: %g vs %g", fam, j, fd, dp[j]);
            }
        }
    }
}
END_TEST

START_TEST(test_norm_quantile)
{
    for (double p = 1e-300; p < 0.5; p *= 7.3) {
        double x = wr__norm_quantile(p);
        /* relative error in Phi is ~x^2 times that in x */
        ck_assert_msg(fabs(0.5 * erfc(-x / sqrt(2.0)) / p - 1) < 1e-15 * (2 + x * x), "p=%g", p);
        if (p > 1e-15) /* 1 - p is exact enough */
            ck_assert_double_eq_tol(wr__norm_quantile(1 - p), -x, 1e-15 / (p * 1e-8) * (1 + fabs(x)));
    }
    ck_assert_double_eq(wr__norm_quantile(0.5), 0.0);
}
END_TEST

START_TEST(test_public_api_and_errors)
{
    ck_assert_uint_eq(wr_pdf_n_params(WR_PDF_GAUSS), 2);
    ck_assert_uint_eq(wr_pdf_n_params(WR_PDF_GAUSSEXP2), 4);
    ck_assert_uint_eq(wr_pdf_n_params(0), 0);
    ck_assert_str_eq(wr_pdf_family_name(WR_PDF_GAUSSEXP2), "gaussexp2");
    ck_assert_str_eq(wr_pdf_family_name(99), "unknown");
    double p[8] = {0, 1, 1, 2, 1, 2, 0.5, 0.5}, t[4] = {0.1, -3, 2, 9}, out[4];
    WR_ASSERT_OK(wr_pdf_density(WR_PDF_GAUSSEXP2, p, 2, 4, t, 2, out));
    ck_assert_double_eq_tol(out[1], exp(wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p, -3)), 1e-15);
    ck_assert_double_eq_tol(out[3], exp(wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p + 4, 9)), 1e-15);
    WR_ASSERT_OK(wr_pdf_log_density(WR_PDF_GAUSSEXP2, p, 2, 4, t, 2, out));
    ck_assert_double_eq_tol(out[2], wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p + 4, 2), 1e-15);
    /* family / parameter mismatch */
    WR_ASSERT_FAILS(wr_pdf_cdf(WR_PDF_GAUSSEXP2, p, 2, 2, t, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "mismatch"));
    WR_ASSERT_FAILS(wr_pdf_cdf(7, p, 2, 4, t, 1, out), WR_ERR_INVALID_ARG);
    /* sigma <= 0, alpha <= 0, NaN parameters */
    double bad[4] = {0, -1, 1, 1};
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSSEXP2, bad, 1, 4, t, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "sigma"));
    bad[1] = 1;
    bad[3] = 0;
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSSEXP2, bad, 1, 4, t, 1, out), WR_ERR_INVALID_ARG);
    bad[3] = NAN;
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSSEXP2, bad, 1, 4, t, 1, out), WR_ERR_INVALID_ARG);
    /* targets outside the support (non-finite), probabilities outside (0,1) */
    double tn[1] = {INFINITY}, pr[1] = {1.0};
    WR_ASSERT_FAILS(wr_pdf_cdf(WR_PDF_GAUSS, p, 1, 2, tn, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'t'"));
    WR_ASSERT_FAILS(wr_pdf_quantile(WR_PDF_GAUSS, p, 1, 2, pr, 1, out), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSS, NULL, 1, 2, t, 1, out), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSS, p, 1, 2, t, 1, NULL), WR_ERR_INVALID_ARG);
    double nll;
    float wz[2] = {0, 0};
    WR_ASSERT_FAILS(wr_pdf_nll(WR_PDF_GAUSS, p, 2, 2, t, wz, &nll), WR_ERR_INVALID_ARG);
    /* n = 0 is a valid empty call */
    WR_ASSERT_OK(wr_pdf_cdf(WR_PDF_GAUSS, NULL, 0, 2, NULL, 1, NULL));
}
END_TEST

START_TEST(test_nll_and_mixture)
{
    double p[8] = {0, 1, 1, 2, 1, 0.5, 0.4, 3}, t[2] = {0.3, 2.5}, nll;
    float w[2] = {1.0f, 3.0f};
    WR_ASSERT_OK(wr_pdf_nll(WR_PDF_GAUSSEXP2, p, 2, 4, t, w, &nll));
    double expect = -(1 * wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p, 0.3) +
                      3 * wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p + 4, 2.5)) / 4;
    ck_assert_double_eq_tol(nll, expect, 1e-14);
    double grid[3] = {-1, 0.5, 4}, mix[3];
    WR_ASSERT_OK(wr_pdf_mixture_cdf(WR_PDF_GAUSSEXP2, p, 2, 4, w, grid, 3, mix));
    for (int j = 0; j < 3; j++) {
        double e = (wr__pdf_cdf(WR_PDF_GAUSSEXP2, p, grid[j]) +
                    3 * wr__pdf_cdf(WR_PDF_GAUSSEXP2, p + 4, grid[j])) / 4;
        ck_assert_double_eq_tol(mix[j], e, 1e-15);
    }
    ck_assert(mix[0] < mix[1] && mix[1] < mix[2]);
}
END_TEST

/* ------------------------------------------------------ gaussexp2_flat */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Simpson strictly inside (a, b): the pedestal makes the density jump at
 * lo and hi, so the end points take the one-sided limits. */
static double simpson_open(const double *p, weight_fn wf, double a, double b)
{
    return simpson(p, WR_PDF_GAUSSEXP2_FLAT, wf, nextafter(a, b), nextafter(b, a), 20000);
}

/* Integral over the real line of f * wf, split at every kink. */
static double integrate_flat(const double *p, weight_fn wf, double rate_margin)
{
    double mu = p[0], s = p[1], a1 = p[2], a2 = p[3];
    double pts[6] = {mu - s * (a1 + 60.0 / a1), mu - s * a1, mu + s * a2,
                     mu + s * (a2 + 60.0 / (a2 - rate_margin * s)), p[5], p[6]};
    qsort(pts, 6, sizeof pts[0], cmp_double);
    double sum = 0;
    for (int i = 0; i < 5; i++)
        if (pts[i + 1] > pts[i])
            sum += simpson_open(p, wf, pts[i], pts[i + 1]);
    return sum;
}

static const double FLAT_SETS[][7] = {
    {0.2, 0.6, 1.0, 2.0, 0.3, -3.14159, 3.14159},   /* core inside the pedestal */
    {-1.0, 0.3, 0.4, 5.0, 0.8, -1.0, 2.5},         /* mu at the lower edge */
    {4.0, 1.5, 3.0, 0.5, 0.05, -2.0, 1.0},         /* core mostly outside */
    {0.0, 1.0, 2.0, 2.0, 0.0, -1.0, 1.0},          /* no pedestal */
};
#define N_FLAT (sizeof FLAT_SETS / sizeof FLAT_SETS[0])

START_TEST(test_flat_normalisation_cdf_quantile)
{
    for (size_t i = 0; i < N_FLAT; i++) {
        const double *p = FLAT_SETS[i];
        ck_assert_ptr_null(wr__pdf_param_problem(WR_PDF_GAUSSEXP2_FLAT, p));
        double z = integrate_flat(p, w_one, 0.0);
        ck_assert_msg(fabs(z - 1.0) < 1e-7, "set %zu: integral %.12f", i, z);
        /* cdf = integral of the density up to t */
        double ts[] = {p[5] - 0.3, p[5], 0.5 * (p[5] + p[6]), p[6], p[6] + 0.7};
        for (int j = 0; j < 5; j++) {
            double lo = p[0] - p[1] * (p[2] + 60.0 / p[2]) - 10, num = 0;
            double brk[5] = {p[0] - p[1] * p[2], p[0] + p[1] * p[3], p[5], p[6], ts[j]};
            qsort(brk, 5, sizeof brk[0], cmp_double);
            double a = lo;
            for (int b = 0; b < 5 && brk[b] <= ts[j]; b++) {
                if (brk[b] > a) num += simpson_open(p, w_one, a, brk[b]);
                a = brk[b] > a ? brk[b] : a;
            }
            double c = wr__pdf_cdf(WR_PDF_GAUSSEXP2_FLAT, p, ts[j]);
            ck_assert_msg(fabs(c - num) < 1e-7, "set %zu t=%g: cdf %.10g numeric %.10g", i,
                          ts[j], c, num);
        }
        static const double probs[] = {1e-10, 0.01, 0.3, 0.5, 0.77, 0.999, 1 - 1e-9};
        for (int j = 0; j < 7; j++) {
            double q = wr__pdf_quantile(WR_PDF_GAUSSEXP2_FLAT, p, probs[j]);
            double back = wr__pdf_cdf(WR_PDF_GAUSSEXP2_FLAT, p, q);
            ck_assert_msg(fabs(back - probs[j]) < 1e-12 + 1e-9 * probs[j],
                          "set %zu p=%g: cdf(q)=%.15g", i, probs[j], back);
        }
    }
}
END_TEST

START_TEST(test_flat_moments_and_mode)
{
    for (size_t i = 0; i < N_FLAT; i++) {
        const double *p = FLAT_SETS[i];
        double mean = integrate_flat(p, w_t, 0.0);
        ck_assert_msg(fabs(wr__pdf_mean(WR_PDF_GAUSSEXP2_FLAT, p) - mean) < 1e-7 * (1 + fabs(mean)),
                      "set %zu: mean %.12g numeric %.12g", i,
                      wr__pdf_mean(WR_PDF_GAUSSEXP2_FLAT, p), mean);
        double lme = wr__pdf_log_mean_exp(WR_PDF_GAUSSEXP2_FLAT, p);
        if (p[1] >= p[3]) {
            ck_assert(isinf(lme) && lme > 0);
            continue;
        }
        double me = integrate_flat(p, w_exp, 1.0);
        ck_assert_msg(fabs(exp(lme) / me - 1) < 1e-6, "set %zu: E[e^t] %.12g numeric %.12g",
                      i, exp(lme), me);
        /* the mode is the largest density on a fine grid */
        double mode = wr__pdf_mode(WR_PDF_GAUSSEXP2_FLAT, p), fm = wr__pdf_logpdf(WR_PDF_GAUSSEXP2_FLAT, p, mode);
        for (double t = -10; t <= 10; t += 1e-3)
            ck_assert_msg(wr__pdf_logpdf(WR_PDF_GAUSSEXP2_FLAT, p, t) <= fm + 1e-12,
                          "set %zu: density at %g above the mode %g", i, t, mode);
    }
}
END_TEST

START_TEST(test_flat_gradient_and_errors)
{
    for (size_t i = 0; i < N_FLAT; i++) {
        const double *p = FLAT_SETS[i];
        double ts[] = {p[0] - p[1] * (p[2] + 2), p[5] + 1e-3, 0.5 * (p[5] + p[6]), p[0],
                       p[6] - 1e-3, p[6] + 0.4, p[0] + p[1] * (p[3] + 3)};
        for (int j = 0; j < 7; j++) {
            double g[7], q[7];
            double nll = wr__pdf_nll_grad(WR_PDF_GAUSSEXP2_FLAT, p, ts[j], g);
            ck_assert_double_eq_tol(nll, -wr__pdf_logpdf(WR_PDF_GAUSSEXP2_FLAT, p, ts[j]), 1e-12);
            for (int k = 0; k < 5; k++) {
                if (k == 4 && p[4] == 0) continue; /* one-sided at frac = 0 */
                double h = 1e-6 * (fabs(p[k]) + 1e-2);
                memcpy(q, p, sizeof q);
                q[k] = p[k] + h;
                double up = -wr__pdf_logpdf(WR_PDF_GAUSSEXP2_FLAT, q, ts[j]);
                q[k] = p[k] - h;
                double dn = -wr__pdf_logpdf(WR_PDF_GAUSSEXP2_FLAT, q, ts[j]);
                double fd = (up - dn) / (2 * h);
                ck_assert_msg(fabs(fd - g[k]) < 1e-6 * (1 + fabs(fd)),
                              "set %zu t=%g param %d: analytic %.10g fd %.10g", i, ts[j], k,
                              g[k], fd);
            }
            ck_assert(g[5] == 0 && g[6] == 0);
        }
    }
    /* links: fraction in [0, 0.999), fixed range left to the caller */
    float raw[5] = {0, 0, 0, 0, 40.0f};
    double p[7], dp[7];
    wr__pdf_link(WR_PDF_GAUSSEXP2_FLAT, raw, p, dp);
    ck_assert(p[4] <= WR__FRAC_MAX && p[4] > 0.99);
    ck_assert_int_eq(wr__pdf_nout(WR_PDF_GAUSSEXP2_FLAT), 5);
    /* bad parameters */
    double bad[7] = {0, 1, 1, 1, 1.0, -1, 1}, t[1] = {0}, out[1];
    WR_ASSERT_FAILS(wr_pdf_cdf(WR_PDF_GAUSSEXP2_FLAT, bad, 1, 7, t, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "fraction"));
    bad[4] = 0.5;
    bad[6] = -1;
    WR_ASSERT_FAILS(wr_pdf_cdf(WR_PDF_GAUSSEXP2_FLAT, bad, 1, 7, t, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "range"));
    WR_ASSERT_FAILS(wr_pdf_cdf(WR_PDF_GAUSSEXP2_FLAT, bad, 1, 4, t, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_str_eq(wr_pdf_family_name(WR_PDF_GAUSSEXP2_FLAT), "gaussexp2_flat");
    ck_assert_uint_eq(wr_pdf_n_params(WR_PDF_GAUSSEXP2_FLAT), 7);
}
END_TEST

static Suite *pdf_suite(void)
{
    Suite *s = suite_create("pdf");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_normalisation_grid);
    tcase_add_test(tc, test_large_alpha_is_gauss);
    tcase_add_test(tc, test_cdf_matches_integral);
    tcase_add_test(tc, test_quantile_inverse);
    tcase_add_test(tc, test_moments);
    tcase_add_test(tc, test_nll_gradient);
    tcase_add_test(tc, test_link);
    tcase_add_test(tc, test_norm_quantile);
    tcase_add_test(tc, test_public_api_and_errors);
    tcase_add_test(tc, test_nll_and_mixture);
    tcase_add_test(tc, test_flat_normalisation_cdf_quantile);
    tcase_add_test(tc, test_flat_moments_and_mode);
    tcase_add_test(tc, test_flat_gradient_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(pdf_suite)
