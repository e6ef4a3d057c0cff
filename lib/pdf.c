/*
 * lib/pdf.c -- pdf families of wr_regressor and the public wr_pdf_* API.
 *
 * gaussexp2 in the standardised variable u = (t - mu)/sigma has the
 * log-shape g(u) = -u^2/2 on [-a1, a2] and the tangent lines
 * a1^2/2 + a1 u (left), a2^2/2 - a2 u (right), so f = exp(g(u))/(sigma I)
 * with I = sqrt(pi/2)[erf(a1/sqrt2) + erf(a2/sqrt2)] + e^{-a1^2/2}/a1
 * + e^{-a2^2/2}/a2 (the core plus the two tail integrals).  Every term of I
 * is positive and bounded for a >= WR__ALPHA_MIN, so I needs no log-sum
 * trick; the cdf uses erfc() differences in the core (no cancellation of
 * two numbers near 1 for large alphas) and closed log forms in the tails.
 */
#include "pdf.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define SQRT_PI_2 1.25331413731550025121   /* sqrt(pi/2) */
#define SQRT_2PI 2.50662827463100050242    /* sqrt(2 pi) */
#define LN_SQRT_2PI 0.91893853320467274178 /* ln sqrt(2 pi) */
#define INV_SQRT2 0.70710678118654752440

int wr__pdf_nparams(int family)
{
    switch (family) {
    case WR_PDF_GAUSS: return 2;
    case WR_PDF_GAUSSEXP2: return 4;
    case WR_PDF_GAUSSEXP2_FLAT: return 7;
    }
    return 0;
}

int wr__pdf_nout(int family)
{
    return family == WR_PDF_GAUSSEXP2_FLAT ? 5 : wr__pdf_nparams(family);
}

bool wr__pdf_family_valid(int family) { return wr__pdf_nparams(family) > 0; }

const char *wr__pdf_param_problem(int family, const double *p)
{
    int k = wr__pdf_nparams(family);
    for (int j = 0; j < k; j++)
        if (!isfinite(p[j])) return "a parameter is not finite";
    if (!(p[1] > 0.0)) return "sigma is not positive";
    if (k >= 4 && !(p[2] > 0.0 && p[3] > 0.0)) return "an alpha is not positive";
    if (k == 7 && !(p[4] >= 0.0 && p[4] < 1.0)) return "the pedestal fraction is outside [0, 1)";
    if (k == 7 && !(p[5] < p[6])) return "the pedestal range is empty (lo >= hi)";
    return NULL;
}

/* ------------------------------------------------------ normal helpers */
/* Standard normal cdf Phi(x) via erfc (accurate in the lower tail). */
static double norm_cdf(double x) { return 0.5 * erfc(-x * INV_SQRT2); }

double wr__norm_quantile(double p)
{
    /* Wichura (1988), Algorithm AS 241 PPND16. */
    double q = p - 0.5, r, val;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        return q * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r +
                         67265.770927008700853) * r + 45921.953931549871457) * r +
                       13731.693765509461125) * r + 1971.5909503065514427) * r +
                     133.14166789178437745) * r + 3.387132872796366608) /
               (((((((r * 5226.495278852545925 + 28729.085735721942674) * r +
                     39307.89580009271061) * r + 21213.794301586595867) * r +
                   5394.1960214247511077) * r + 687.1870074920579083) * r +
                 42.313330701600911252) * r + 1.0);
    }
    r = q < 0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    if (r <= 5.0) {
        r -= 1.6;
        val = (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r +
                    0.24178072517745061177) * r + 1.27045825245236838258) * r +
                  3.64784832476320460504) * r + 5.7694972214606914055) * r +
                4.6303378461565452959) * r + 1.42343711074968357734) /
              (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r +
                    0.0151986665636164571966) * r + 0.14810397642748007459) * r +
                  0.68976733498510000455) * r + 1.6763848301838038494) * r +
                2.05319162663775882187) * r + 1.0);
    } else {
        r -= 5.0;
        val = (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r +
                    0.0012426609473880784386) * r + 0.026532189526576123093) * r +
                  0.29656057182850489123) * r + 1.7848265399172913358) * r +
                5.4637849111641143699) * r + 6.6579046435011037772) /
              (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r +
                    1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
                  0.0148753612908506148525) * r + 0.13692988092273580531) * r +
                0.59983220655588793769) * r + 1.0);
    }
    return q < 0 ? -val : val;
}

/* ----------------------------------------------------- gaussexp2 pieces */
/* Tail areas (in u) e^{-a^2/2}/a; the core area sqrt(pi/2)(erf + erf). */
static double tail_area(double a) { return exp(-0.5 * a * a) / a; }

static double ge2_norm(double a1, double a2)
{
    return SQRT_PI_2 * (erf(a1 * INV_SQRT2) + erf(a2 * INV_SQRT2)) +
           tail_area(a1) + tail_area(a2);
}

double wr__ge2_log_norm(double a1, double a2) { return log(ge2_norm(a1, a2)); }

/* Log-shape g(u) and its derivative g'(u). */
static double ge2_g(double u, double a1, double a2, double *dg)
{
    if (u < -a1) {
        if (dg) *dg = a1;
        return a1 * (0.5 * a1 + u);
    }
    if (u > a2) {
        if (dg) *dg = -a2;
        return a2 * (0.5 * a2 - u);
    }
    if (dg) *dg = -u;
    return -0.5 * u * u;
}

/* Lower cdf F(u) for u <= 0 and upper survival S(u) = 1 - F(u) for u >= 0,
 * each computed without subtracting from 1. */
static double ge2_lower(double u, double a1, double I)
{
    if (u < -a1) return exp(a1 * (0.5 * a1 + u) - log(a1) - log(I));
    /* core left half: tail + sqrt(2 pi)[Phi(u) - Phi(-a1)] */
    return (tail_area(a1) + SQRT_2PI * (norm_cdf(u) - norm_cdf(-a1))) / I;
}

static double ge2_upper(double u, double a2, double I)
{
    if (u > a2) return exp(a2 * (0.5 * a2 - u) - log(a2) - log(I));
    return (tail_area(a2) + SQRT_2PI * (norm_cdf(-u) - norm_cdf(-a2))) / I;
}

static double ge2_cdf_u(double u, double a1, double a2)
{
    double I = ge2_norm(a1, a2);
    return u <= 0 ? ge2_lower(u, a1, I) : 1.0 - ge2_upper(u, a2, I);
}

/* Inverse of ge2_lower on probability p (p <= F(0)). */
static double ge2_lower_inv(double p, double a1, double I)
{
    double pl = tail_area(a1) / I;
    if (p < pl) return (log(p) + log(a1) + log(I)) / a1 - 0.5 * a1;
    double phi = norm_cdf(-a1) + (p * I - tail_area(a1)) / SQRT_2PI;
    if (phi > 0.5) phi = 0.5; /* rounding at u = 0 */
    double u = wr__norm_quantile(phi);
    return u < -a1 ? -a1 : u;
}

static double ge2_quantile_u(double p, double a1, double a2)
{
    double I = ge2_norm(a1, a2);
    double f0 = (tail_area(a1) + SQRT_PI_2 * erf(a1 * INV_SQRT2)) / I;
    if (p <= f0) return ge2_lower_inv(p, a1, I);
    return -ge2_lower_inv(1.0 - p, a2, I); /* mirror: S(u) = F_mirror(-u) */
}

static double ge2_mean_u(double a1, double a2)
{
    /* I E[u] = e^{-a2^2/2}/a2^2 - e^{-a1^2/2}/a1^2 */
    return (tail_area(a2) / a2 - tail_area(a1) / a1) / ge2_norm(a1, a2);
}

static double log_add(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double m = a > b ? a : b;
    return m + log1p(exp(-fabs(a - b)));
}

/* ln E[exp(s u)] for u ~ gaussexp2(a1, a2), s > 0; +inf for s >= a2. */
static double ge2_log_mgf(double s, double a1, double a2)
{
    if (s >= a2) return INFINITY;
    /* core: e^{s^2/2} sqrt(pi/2) [erf((a2-s)/sqrt2) + erf((a1+s)/sqrt2)] */
    double core = 0.5 * s * s + log(SQRT_PI_2) +
                  log(erf((a2 - s) * INV_SQRT2) + erf((a1 + s) * INV_SQRT2));
    double left = -0.5 * a1 * a1 - s * a1 - log(a1 + s);
    double right = -0.5 * a2 * a2 + s * a2 - log(a2 - s);
    return log_add(log_add(core, left), right) - log(ge2_norm(a1, a2));
}

/* ------------------------------------------------- gaussexp2_flat pieces */
/* f(t) = (1 - f) ge2(t) + f [lo <= t <= hi] / (hi - lo): the gaussexp2
 * core plus a flat pedestal of weight f on [lo, hi] (p[4], p[5], p[6]).
 * The core keeps its unbounded support, so f is a pdf on the real line. */
static double ge2_logpdf_t(const double *p, double t)
{
    double u = (t - p[0]) / p[1];
    return ge2_g(u, p[2], p[3], NULL) - log(p[1]) - log(ge2_norm(p[2], p[3]));
}

static bool in_pedestal(const double *p, double t) { return t >= p[5] && t <= p[6]; }

/* ln of the pedestal density at t (-inf outside [lo, hi] or for f = 0) */
static double flat_log_ped(const double *p, double t)
{
    return in_pedestal(p, t) && p[4] > 0 ? log(p[4]) - log(p[6] - p[5]) : -INFINITY;
}

static double flat_logpdf(const double *p, double t)
{
    return log_add(log1p(-p[4]) + ge2_logpdf_t(p, t), flat_log_ped(p, t));
}

static double flat_cdf(const double *p, double t)
{
    double c = (t - p[5]) / (p[6] - p[5]);
    c = c < 0 ? 0 : c > 1 ? 1 : c;
    return (1.0 - p[4]) * ge2_cdf_u((t - p[0]) / p[1], p[2], p[3]) + p[4] * c;
}

/* The cdf is continuous and strictly increasing (the core has full
 * support): bisection inside a bracket [a, b] with F(a) <= prob <= F(b):
 * a = min(lo, Q_core(prob)), b = max(hi, Q_core(prob)). */
static double flat_quantile(const double *p, double prob)
{
    double q = p[0] + p[1] * ge2_quantile_u(prob, p[2], p[3]);
    double a = q < p[5] ? q : p[5], b = q > p[6] ? q : p[6];
    for (int it = 0; it < 200 && b - a > 1e-15 * (fabs(a) + fabs(b)) + 1e-300; it++) {
        double mid = 0.5 * (a + b);
        if (mid <= a || mid >= b) break;
        if (flat_cdf(p, mid) < prob) a = mid;
        else b = mid;
    }
    return 0.5 * (a + b);
}

/* Mode: mu when it lies on the pedestal; else the better of mu and the
 * pedestal edge nearest to it. */
static double flat_mode(const double *p)
{
    double mu = p[0], edge = mu < p[5] ? p[5] : mu > p[6] ? p[6] : mu;
    if (edge == mu) return mu;
    return flat_logpdf(p, edge) > flat_logpdf(p, mu) ? edge : mu;
}

/* NLL gradient: the core's gradient times its responsibility; d/df from
 * the two densities.  The range (lo, hi) is fixed: zero gradient. */
static double flat_nll_grad(const double *p, double t, double *g, double *gcore)
{
    double lf = flat_logpdf(p, t), lcore = ge2_logpdf_t(p, t);
    double resp = exp(log1p(-p[4]) + lcore - lf);
    for (int j = 0; j < 4; j++) g[j] = resp * gcore[j];
    double ped = in_pedestal(p, t) ? exp(-log(p[6] - p[5]) - lf) : 0.0;
    g[4] = exp(lcore - lf) - ped; /* -d ln f/d frac = (core - pedestal)/f */
    g[5] = g[6] = 0.0;
    return -lf;
}

/* ------------------------------------------------------------- families */
double wr__pdf_logpdf(int family, const double *p, double t)
{
    double u = (t - p[0]) / p[1];
    if (family == WR_PDF_GAUSS) return -0.5 * u * u - log(p[1]) - LN_SQRT_2PI;
    if (family == WR_PDF_GAUSSEXP2_FLAT) return flat_logpdf(p, t);
    return ge2_logpdf_t(p, t);
}

double wr__pdf_cdf(int family, const double *p, double t)
{
    double u = (t - p[0]) / p[1];
    if (family == WR_PDF_GAUSS) return norm_cdf(u);
    if (family == WR_PDF_GAUSSEXP2_FLAT) return flat_cdf(p, t);
    return ge2_cdf_u(u, p[2], p[3]);
}

double wr__pdf_quantile(int family, const double *p, double prob)
{
    if (family == WR_PDF_GAUSSEXP2_FLAT) return flat_quantile(p, prob);
    double u = family == WR_PDF_GAUSS ? wr__norm_quantile(prob)
                                      : ge2_quantile_u(prob, p[2], p[3]);
    return p[0] + p[1] * u;
}

double wr__pdf_mode(int family, const double *p)
{
    return family == WR_PDF_GAUSSEXP2_FLAT ? flat_mode(p) : p[0];
}

double wr__pdf_mean(int family, const double *p)
{
    if (family == WR_PDF_GAUSS) return p[0];
    double core = p[0] + p[1] * ge2_mean_u(p[2], p[3]);
    if (family == WR_PDF_GAUSSEXP2) return core;
    return (1.0 - p[4]) * core + p[4] * 0.5 * (p[5] + p[6]);
}

double wr__pdf_log_mean_exp(int family, const double *p)
{
    if (family == WR_PDF_GAUSS) return p[0] + 0.5 * p[1] * p[1];
    double core = p[0] + ge2_log_mgf(p[1], p[2], p[3]);
    if (family == WR_PDF_GAUSSEXP2) return core;
    /* pedestal: E[e^t] = (e^hi - e^lo)/(hi - lo), in logs */
    double ped = p[4] > 0 ? log(p[4]) + p[6] + log(-expm1(p[5] - p[6])) - log(p[6] - p[5])
                          : -INFINITY;
    return log_add(log1p(-p[4]) + core, ped);
}

double wr__pdf_nll_grad(int family, const double *p, double t, double *g)
{
    double s = p[1], u = (t - p[0]) / s, dg;
    if (family == WR_PDF_GAUSS) {
        g[0] = -u / s;
        g[1] = (1.0 - u * u) / s;
        return 0.5 * u * u + log(s) + LN_SQRT_2PI;
    }
    double a1 = p[2], a2 = p[3];
    double I = ge2_norm(a1, a2);
    double gu = ge2_g(u, a1, a2, &dg);
    /* d(-g)/dmu = g'/s, d(-g)/ds = g' u/s; d ln I/da = -e^{-a^2/2}/(a^2 I) */
    g[0] = dg / s;
    g[1] = (dg * u + 1.0) / s;
    g[2] = -tail_area(a1) / (a1 * I) - (u < -a1 ? a1 + u : 0.0);
    g[3] = -tail_area(a2) / (a2 * I) - (u > a2 ? a2 - u : 0.0);
    if (family == WR_PDF_GAUSSEXP2_FLAT) {
        double gcore[4] = {g[0], g[1], g[2], g[3]};
        return flat_nll_grad(p, t, g, gcore);
    }
    return -gu + log(s) + log(I);
}

/* softplus(x) = ln(1 + e^x) without overflow; its derivative is the
 * logistic function. */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double logistic(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

void wr__pdf_link(int family, const float *raw, double *p, double *dp)
{
    int k = wr__pdf_nout(family);
    p[0] = raw[0];
    if (dp) dp[0] = 1.0;
    for (int j = 1; j < k && j < 4; j++) {
        double x = raw[j];
        p[j] = (j == 1 ? WR__SIGMA_MIN : WR__ALPHA_MIN) + softplus(x);
        if (dp) dp[j] = logistic(x);
    }
    if (k == 5) { /* pedestal fraction */
        double l = logistic(raw[4]);
        p[4] = WR__FRAC_MAX * l;
        if (dp) dp[4] = WR__FRAC_MAX * l * (1.0 - l);
    }
}

/* ------------------------------------------------------------ public API */
WR_API size_t wr_pdf_n_params(int family) { return (size_t)wr__pdf_nparams(family); }

WR_API const char *wr_pdf_family_name(int family)
{
    switch (family) {
    case WR_PDF_GAUSS: return "gauss";
    case WR_PDF_GAUSSEXP2: return "gaussexp2";
    case WR_PDF_GAUSSEXP2_FLAT: return "gaussexp2_flat";
    }
    return "unknown";
}

/* Validates family, k and every parameter row. */
static wr_status check_params(const char *fn, int family, const double *params,
                              size_t n, size_t k)
{
    if (!wr__pdf_family_valid(family))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'family': unknown pdf family %d", fn,
                        family);
    if (k != (size_t)wr__pdf_nparams(family))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: family/parameter mismatch: family '%s' has %d "
                        "parameters, argument 'k' is %zu",
                        fn, wr_pdf_family_name(family), wr__pdf_nparams(family), k);
    size_t nk;
    if (!wr__mul_size(n, k, &nk))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n': n * k overflows", fn);
    if (n == 0) return WR_OK;
    wr_status st = wr__check_ptr(fn, "params", params);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        const char *why = wr__pdf_param_problem(family, params + i * k);
        if (why)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument 'params': row %zu: %s", fn, i, why);
    }
    return WR_OK;
}

static wr_status check_points(const char *fn, const char *arg, const double *t,
                              size_t n, size_t m, bool probs, const double *out)
{
    size_t nm;
    if (!wr__mul_size(n, m, &nm))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: n * m overflows", fn);
    if (nm == 0) return WR_OK;
    wr_status st = wr__check_ptr(fn, arg, t);
    if (!st) st = wr__check_ptr(fn, "out", out);
    if (st) return st;
    for (size_t i = 0; i < nm; i++) {
        if (probs ? !(t[i] > 0.0 && t[i] < 1.0) : !isfinite(t[i]))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument '%s': value %g at index %zu is %s", fn,
                            arg, t[i], i,
                            probs ? "not a probability inside (0, 1)"
                                  : "not finite (the family supports finite "
                                    "targets only)");
    }
    return WR_OK;
}

typedef double (*point_fn)(int family, const double *p, double x);

static double density_point(int family, const double *p, double t)
{
    return exp(wr__pdf_logpdf(family, p, t));
}

static wr_status eval_points(const char *fn, point_fn f, bool probs, int family,
                             const double *params, size_t n, size_t k,
                             const double *x, size_t m, double *out)
{
    size_t nm;
    if (!wr__mul_size(n, m, &nm)) /* before reading any row */
        return wr__fail(WR_ERR_INVALID_ARG, "%s: n * m overflows", fn);
    wr_status st = check_params(fn, family, params, n, k);
    if (!st) st = check_points(fn, probs ? "p" : "t", x, n, m, probs, out);
    if (st) return st;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            out[i * m + j] = f(family, params + i * k, x[i * m + j]);
    return WR_OK;
}

WR_API wr_status wr_pdf_density(int family, const double *params, size_t n,
                                size_t k, const double *t, size_t m, double *out)
{
    return eval_points("wr_pdf_density", density_point, false, family, params,
                       n, k, t, m, out);
}

WR_API wr_status wr_pdf_log_density(int family, const double *params,
                                    size_t n, size_t k, const double *t,
                                    size_t m, double *out)
{
    return eval_points("wr_pdf_log_density", wr__pdf_logpdf, false, family,
                       params, n, k, t, m, out);
}

WR_API wr_status wr_pdf_cdf(int family, const double *params, size_t n,
                            size_t k, const double *t, size_t m, double *out)
{
    return eval_points("wr_pdf_cdf", wr__pdf_cdf, false, family, params, n, k,
                       t, m, out);
}

WR_API wr_status wr_pdf_quantile(int family, const double *params, size_t n,
                                 size_t k, const double *p, size_t m,
                                 double *out)
{
    return eval_points("wr_pdf_quantile", wr__pdf_quantile, true, family,
                       params, n, k, p, m, out);
}

WR_API wr_status wr_pdf_summary(int family, const double *params, size_t n,
                                size_t k, double *out)
{
    wr_status st = check_params("wr_pdf_summary", family, params, n, k);
    if (!st && n) st = wr__check_ptr("wr_pdf_summary", "out", out);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        const double *p = params + i * k;
        double *o = out + i * WR_SUMMARY_COUNT;
        o[WR_SUMMARY_MODE] = wr__pdf_mode(family, p);
        o[WR_SUMMARY_MEDIAN] = wr__pdf_quantile(family, p, 0.5);
        o[WR_SUMMARY_MEAN] = wr__pdf_mean(family, p);
        o[WR_SUMMARY_MEAN_EXP] = exp(wr__pdf_log_mean_exp(family, p));
    }
    return WR_OK;
}

WR_API wr_status wr_pdf_nll(int family, const double *params, size_t n,
                            size_t k, const double *t, const float *w,
                            double *nll)
{
    const char *fn = "wr_pdf_nll";
    wr_status st = check_params(fn, family, params, n, k);
    if (!st) st = wr__check_ptr(fn, "nll", nll);
    if (!st && n == 0) st = wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' is 0", fn);
    if (!st) st = check_points(fn, "t", t, n, 1, false, nll);
    if (!st) st = wr__check_weights(fn, "w", w, n);
    if (st) return st;
    double sw = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0.0) continue;
        s += wi * -wr__pdf_logpdf(family, params + i * k, t[i]);
        sw += wi;
    }
    *nll = s / sw;
    return WR_OK;
}

WR_API wr_status wr_pdf_mixture_cdf(int family, const double *params,
                                    size_t n, size_t k, const float *w,
                                    const double *grid, size_t m, double *out)
{
    const char *fn = "wr_pdf_mixture_cdf";
    wr_status st = check_params(fn, family, params, n, k);
    if (!st && n == 0) st = wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' is 0", fn);
    if (!st) st = check_points(fn, "grid", grid, 1, m, false, out);
    if (!st) st = wr__check_weights(fn, "w", w, n);
    if (st) return st;
    double sw = 0.0;
    for (size_t j = 0; j < m; j++) out[j] = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0.0) continue;
        sw += wi;
        for (size_t j = 0; j < m; j++)
            out[j] += wi * wr__pdf_cdf(family, params + i * k, grid[j]);
    }
    for (size_t j = 0; j < m; j++) out[j] /= sw;
    return WR_OK;
}
