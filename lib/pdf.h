/*
 * lib/pdf.h -- internal: the pdf families of wr_regressor (gauss,
 * gaussexp2), their link functions and the NLL with its gradient.
 * All in double precision; parameters p = (mu, sigma[, alpha1, alpha2]).
 * docs/regressor.md derives every formula used here.
 */
#ifndef WR_PDF_H
#define WR_PDF_H

#include "core.h"

#define WR__PDF_MAX_PARAMS 7

/* Link functions (raw network output -> parameter), in the standardised
 * target units the network is trained in:
 *   mu    = raw0
 *   sigma = WR__SIGMA_MIN + softplus(raw1)
 *   alpha = WR__ALPHA_MIN + softplus(raw)      (gaussexp2: raw2, raw3)
 * The floors keep sigma and the alphas away from 0, where the NLL has no
 * minimum (sigma -> 0) or the tail integral exp(-a^2/2)/a blows up. */
#define WR__SIGMA_MIN 1e-3
#define WR__ALPHA_MIN 0.1
/* gaussexp2_flat: pedestal fraction = WR__FRAC_MAX * logistic(raw4), so the
 * core never vanishes (the cdf stays strictly increasing). */
#define WR__FRAC_MAX 0.999

/** Parameters per row: 2, 4, 7 or 0 for an unknown family. */
int wr__pdf_nparams(int family);
/** Network outputs (learned parameters): 2, 4, 5; gaussexp2_flat's
 *  pedestal range (lo, hi) is fixed, not learned. */
int wr__pdf_nout(int family);
bool wr__pdf_family_valid(int family);

/** Checks one parameter row: finite, sigma/alphas > 0.  Returns a static
 *  description of the problem or NULL when valid. */
const char *wr__pdf_param_problem(int family, const double *p);

double wr__pdf_logpdf(int family, const double *p, double t);
double wr__pdf_cdf(int family, const double *p, double t);
/** prob must lie in (0, 1). */
double wr__pdf_quantile(int family, const double *p, double prob);
double wr__pdf_mode(int family, const double *p);
double wr__pdf_mean(int family, const double *p);
/** ln E[exp(t)]; +inf when it diverges (gaussexp2 with sigma >= alpha2). */
double wr__pdf_log_mean_exp(int family, const double *p);

/** NLL -ln f(t) and its gradient g[k] wrt p. */
double wr__pdf_nll_grad(int family, const double *p, double t, double *g);

/** Links: raw[nout] -> p[nout] and the diagonal Jacobian dp[j]/draw[j]
 *  (dp may be NULL).  For gaussexp2_flat the caller fills p[5], p[6]
 *  (the pedestal range). */
void wr__pdf_link(int family, const float *raw, double *p, double *dp);

/** Standard normal quantile (Wichura AS 241, relative error ~1e-16). */
double wr__norm_quantile(double p);

/** ln of the gaussexp2 normalisation integral I(alpha1, alpha2). */
double wr__ge2_log_norm(double a1, double a2);

#endif /* WR_PDF_H */
