/*
 * wrecoil/regressor.h -- wr_regressor: semi-parametric MLP regression.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_REGRESSOR_H
#define WRECOIL_REGRESSOR_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/regressor.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ pdfs */
/**
 * Pdf families of the semi-parametric regression (docs/regressor.md).
 * Parameters are given per event as a row of wr_pdf_n_params(family)
 * doubles, in the units of the target t:
 *
 *   WR_PDF_GAUSS      (mu, sigma):                 normal, sigma > 0.
 *   WR_PDF_GAUSSEXP2  (mu, sigma, alpha1, alpha2): Gaussian core with
 *       exponential tails on both sides; with u = (t - mu) / sigma,
 *       f ∝ exp(-u^2/2)                for -alpha1 <= u <= alpha2,
 *           exp(alpha1^2/2 + alpha1 u) for u < -alpha1,
 *           exp(alpha2^2/2 - alpha2 u) for u > alpha2,
 *       continuous with a continuous first derivative; sigma, alpha1,
 *       alpha2 > 0.  Normalisation: sigma * I with
 *       I = sqrt(pi/2) [erf(alpha1/sqrt2) + erf(alpha2/sqrt2)]
 *           + exp(-alpha1^2/2)/alpha1 + exp(-alpha2^2/2)/alpha2.
 *   WR_PDF_GAUSSEXP2_FLAT (mu, sigma, alpha1, alpha2, frac, lo, hi):
 *       (1 - frac) gaussexp2(mu, sigma, alpha1, alpha2)
 *       + frac * uniform on [lo, hi]; 0 <= frac < 1, lo < hi.  For a
 *       bounded target with a flat pedestal (an angle on (-pi, pi] that
 *       sometimes carries no information).  The regressor learns frac and
 *       fixes (lo, hi) from its parameters pedestal_lo/pedestal_hi.
 *
 * All families give a density on the whole real line and accept every
 * finite t (the regressor accepts gaussexp2_flat targets only inside
 * [lo, hi]).  The values are pinned.
 */
typedef enum wr_pdf_family {
    WR_PDF_GAUSS = 1,
    WR_PDF_GAUSSEXP2 = 2,
    WR_PDF_GAUSSEXP2_FLAT = 3
} wr_pdf_family;

/** Columns of the summary statistics (wr_pdf_summary): the mode, median
 *  and mean of t and the mean of exp(t).  Pinned. */
enum {
    WR_SUMMARY_MODE = 0,
    WR_SUMMARY_MEDIAN = 1,
    WR_SUMMARY_MEAN = 2,
    WR_SUMMARY_MEAN_EXP = 3,
    WR_SUMMARY_COUNT = 4
};

/** Number of parameters of a family (2, 4 or 7); 0 for an unknown family. */
WR_API size_t wr_pdf_n_params(int family);

/** Static name of a family ("gauss", "gaussexp2", "gaussexp2_flat");
 *  "unknown" otherwise. */
WR_API const char *wr_pdf_family_name(int family);

/**
 * Density f(t) for n events.  params is n x k (k must equal
 * wr_pdf_n_params(family), else WR_ERR_INVALID_ARG "family/parameter
 * mismatch"), t is n x m (m points per event), out is n x m.  Parameters
 * must be finite with sigma and alphas > 0; t must be finite.
 */
WR_API wr_status wr_pdf_density(int family, const double *params, size_t n,
                                size_t k, const double *t, size_t m,
                                double *out);

/** Natural log of the density, same layout as wr_pdf_density; computed
 *  directly in log form, so finite far into the tails. */
WR_API wr_status wr_pdf_log_density(int family, const double *params,
                                    size_t n, size_t k, const double *t,
                                    size_t m, double *out);

/** Cumulative distribution F(t) = P(T <= t), same layout as wr_pdf_density. */
WR_API wr_status wr_pdf_cdf(int family, const double *params, size_t n,
                            size_t k, const double *t, size_t m, double *out);

/** Quantile (inverse cdf) at probabilities p (n x m, each inside (0, 1)):
 *  out = F^-1(p).  Same layout as wr_pdf_density. */
WR_API wr_status wr_pdf_quantile(int family, const double *params, size_t n,
                                 size_t k, const double *p, size_t m,
                                 double *out);

/**
 * Summary statistics per event: out is n x WR_SUMMARY_COUNT with the mode,
 * median, mean of t and the mean of exp(t) (the expected magnitude ratio
 * when t is a log-ratio, h = h_tk * E[exp(t)]).  For gaussexp2 E[exp(t)]
 * is +inf when sigma >= alpha2 (the right tail then decays no faster than
 * exp(-t)); it is +inf, too, when it overflows a double.
 */
WR_API wr_status wr_pdf_summary(int family, const double *params, size_t n,
                                size_t k, double *out);

/**
 * Mean (weighted) negative log-likelihood of targets t[n] under per-event
 * parameters: *nll = sum_i w_i (-ln f_i(t_i)) / sum_i w_i.  w may be NULL
 * (all 1).
 */
WR_API wr_status wr_pdf_nll(int family, const double *params, size_t n,
                            size_t k, const double *t, const float *w,
                            double *nll);

/**
 * Weighted mixture of the n event pdfs ("summed predicted pdfs"): its cdf
 * at m grid points, out[j] = sum_i w_i F_i(grid[j]) / sum_i w_i.  Bin
 * contents of a histogram follow from differences of neighbouring points.
 * w may be NULL (all 1).
 */
WR_API wr_status wr_pdf_mixture_cdf(int family, const double *params,
                                    size_t n, size_t k, const float *w,
                                    const double *grid, size_t m, double *out);

/* =========================================================== regressor */
/**
 * wr_regressor -- per event, the full pdf p(t | x) of a target t given
 * features x: an MLP maps standardised x to the parameters of a pdf family,
 * trained by minimising the mean weighted negative log-likelihood with
 * Adam.  docs/regressor.md has the model, the link functions, the
 * parameters and the payload format.
 *
 * Lifecycle: create -> set parameters -> fit -> predict (const,
 * thread-safe) -> save / to_bytes; load / from_bytes; free.
 *
 * Parameters (set before fit, "key=value"; defaults in brackets):
 *   family         gauss | gaussexp2 | gaussexp2_flat         [gaussexp2]
 *   pedestal_lo, pedestal_hi  gaussexp2_flat's pedestal range
 *                  (targets must lie inside)           [-3.14159.., 3.14159..]
 *   hidden         hidden layer widths, "64,64,64"            [64,64,64]
 *   activation     relu | elu | selu | tanh                   [elu]
 *   epochs         maximum number of epochs                   [50]
 *   batch_size     minibatch rows                             [256]
 *   learning_rate  Adam step                                  [0.002]
 *   lr_schedule    constant | cosine | plateau                [cosine]
 *   lr_min         final rate of cosine / floor of plateau    [1e-5]
 *   lr_factor      plateau: multiply the rate by this         [0.5]
 *   lr_patience    plateau: epochs without improvement        [3]
 *   adam_beta1, adam_beta2, adam_eps                 [0.9, 0.999, 1e-8]
 *   l2             L2 penalty on weights (not biases)         [0]
 *   patience       early stopping: epochs without a better
 *                  validation NLL before stopping (0 = off);
 *                  the best epoch's weights are kept          [10]
 *   seed           initialisation and shuffling               [1]
 *   threads        worker threads for fit and predict,
 *                  0 = all cores                              [1]
 */
typedef struct wr_regressor wr_regressor;

/** Creates an unfitted regressor with default parameters. */
WR_API wr_status wr_regressor_create(wr_regressor **out);

/** Frees a regressor; NULL is a no-op. */
WR_API void wr_regressor_free(wr_regressor *r);

/** Sets one parameter from its string form.  Unchanged on error.  On a
 *  fitted handle the new values apply to the next fit, except `threads`,
 *  which predict uses at once; the fitted model keeps (and saves) the
 *  parameters it was fitted with, and loading restores those. */
WR_API wr_status wr_regressor_set_param(wr_regressor *r, const char *key,
                                        const char *value);
/** Applies "key=value key=value ..." all-or-nothing. */
WR_API wr_status wr_regressor_set_params(wr_regressor *r, const char *kv);
/** Reads a parameter in string form into buf[len]. (const) */
WR_API wr_status wr_regressor_get_param(const wr_regressor *r,
                                        const char *key, char *buf,
                                        size_t len);

/** Sets a progress callback for fit: stage "regressor.fit", step = epoch,
 *  total = epochs, metric1 = mean training NLL of the epoch, metric2 =
 *  validation NLL (NaN without a validation set).  NULL removes it. */
WR_API void wr_regressor_set_progress(wr_regressor *r, wr_progress_fn fn,
                                      void *user_data);

/**
 * Fits the model.  X is n x d (row-major float), t has n finite targets,
 * w (optional, NULL = all 1) n non-negative weights.  X_val/t_val/w_val
 * with n_val rows form an optional validation set (X_val NULL and n_val 0
 * for none) used for early stopping, the plateau schedule and the
 * reported validation NLL.  NLLs are in the units of t.  On failure
 * (including cancellation) the handle keeps its previous model.
 */
WR_API wr_status wr_regressor_fit(wr_regressor *r, const float *X, size_t n,
                                  size_t d, const float *t, const float *w,
                                  const float *X_val, size_t n_val,
                                  const float *t_val, const float *w_val);

/** 1 when the handle holds a fitted model. (const) */
WR_API int wr_regressor_is_fitted(const wr_regressor *r);
/** Number of features of the fitted model (0 when not fitted). (const) */
WR_API size_t wr_regressor_n_features(const wr_regressor *r);
/** Family of the fitted model (wr_pdf_family; 0 when not fitted). (const) */
WR_API int wr_regressor_family(const wr_regressor *r);
/** Number of epochs run by the last fit and the epoch (1-based) whose
 *  weights were kept (0, 0 when not fitted or loaded). (const) */
WR_API wr_status wr_regressor_fit_info(const wr_regressor *r, int *epochs_run,
                                       int *best_epoch);

/**
 * The pdf parameters for n events: params is n x k, k =
 * wr_pdf_n_params(wr_regressor_family(r)), in the units of t (feed them to
 * the wr_pdf_* functions).  X is n x d with d the fitted feature count.
 * WR_ERR_NUMERICAL (naming the row) if finite but absurd features
 * overflow the network.  (const, thread-safe on a fitted handle)
 */
WR_API wr_status wr_regressor_predict(const wr_regressor *r, const float *X,
                                      size_t n, size_t d, double *params,
                                      size_t k);

/** Density at m points per event: t is n x m, out n x m. (const) */
WR_API wr_status wr_regressor_pdf(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const double *t,
                                  size_t m, double *out);
/** Cdf at m points per event: t is n x m, out n x m. (const) */
WR_API wr_status wr_regressor_cdf(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const double *t,
                                  size_t m, double *out);
/** Quantiles at m probabilities per event (n x m in (0, 1)). (const) */
WR_API wr_status wr_regressor_quantile(const wr_regressor *r, const float *X,
                                       size_t n, size_t d, const double *p,
                                       size_t m, double *out);
/** Mode, median, mean of t and mean of exp(t): out is n x
 *  WR_SUMMARY_COUNT (see wr_pdf_summary). (const) */
WR_API wr_status wr_regressor_summary(const wr_regressor *r, const float *X,
                                      size_t n, size_t d, double *out);
/** Probability integral transform out[i] = F(t_true[i] | x_i); uniform on
 *  (0, 1) for a calibrated model. (const) */
WR_API wr_status wr_regressor_pit(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const float *t_true,
                                  double *out);
/** Mean weighted NLL of targets t (units of t); w may be NULL. (const) */
WR_API wr_status wr_regressor_nll(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const float *t,
                                  const float *w, double *nll);

/** Saves the fitted model to a file (atomically) / into a new buffer that
 *  the caller releases with wr_free(). (const) */
WR_API wr_status wr_regressor_save(const wr_regressor *r, const char *path);
WR_API wr_status wr_regressor_to_bytes(const wr_regressor *r, void **buf,
                                       size_t *size);
/** Loads a model into a new handle. */
WR_API wr_status wr_regressor_load(const char *path, wr_regressor **out);
WR_API wr_status wr_regressor_from_bytes(const void *buf, size_t size,
                                         wr_regressor **out);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_REGRESSOR_H */
