/*
 * wrecoil/forest.h -- wr_quantile_forest: multi-quantile gradient-boosted trees.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_FOREST_H
#define WRECOIL_FOREST_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/forest.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

/**
 * wr_quantile_forest -- conditional quantiles y_tau(x) for many levels tau at
 * once, learned with histogram gradient-boosted trees and the pinball loss
 * rho_tau(r) = r (tau - 1[r < 0]), r = y - f(x).  docs/forest.md.
 *
 * Lifecycle: create -> set parameters -> fit -> predict (const, thread-safe)
 * -> save / to_bytes; load / from_bytes; free.
 */
typedef struct wr_quantile_forest wr_quantile_forest;

/**
 * Creates an unfitted forest for `n_levels` quantile levels `levels`
 * (strictly increasing, inside (0, 1)); the levels are copied.  With
 * levels == NULL and n_levels == 0 the default grid of 21 levels is used:
 * 0.01, 0.05, 0.10, ..., 0.95, 0.99.
 */
WR_API wr_status wr_qforest_create(const double *levels, size_t n_levels,
                                   wr_quantile_forest **out);

/** Frees a forest; NULL is a no-op. */
WR_API void wr_qforest_free(wr_quantile_forest *f);

/** Sets one parameter from its string form (see docs/forest.md for names,
 *  defaults and bounds).  Unchanged on error. */
WR_API wr_status wr_qforest_set_param(wr_quantile_forest *f, const char *key,
                                      const char *value);
/** Applies "key=value key=value ..." all-or-nothing. */
WR_API wr_status wr_qforest_set_params(wr_quantile_forest *f, const char *kv);
/** Reads a parameter in string form into buf[len]. (const) */
WR_API wr_status wr_qforest_get_param(const wr_quantile_forest *f,
                                      const char *key, char *buf, size_t len);
/** Sets a numeric parameter (integer, real, boolean 0/1, or the index of a
 *  choice) without going through a string.  Unchanged on error. */
WR_API wr_status wr_qforest_set_param_num(wr_quantile_forest *f,
                                          const char *key, double value);
/** Reads a numeric parameter (choices as their index). (const) */
WR_API wr_status wr_qforest_get_param_num(const wr_quantile_forest *f,
                                          const char *key, double *value);

/** Number of quantile levels and a copy of them into levels[n_levels]. (const) */
WR_API size_t wr_qforest_n_levels(const wr_quantile_forest *f);
WR_API wr_status wr_qforest_levels(const wr_quantile_forest *f, double *levels,
                                   size_t n_levels);
/** Number of features of the fitted model (0 when not fitted). (const) */
WR_API size_t wr_qforest_n_features(const wr_quantile_forest *f);
/** Boosting rounds kept in the fitted model: `rounds`, or fewer after early
 *  stopping (the largest over levels with multi=independent); 0 when not
 *  fitted. (const) */
WR_API size_t wr_qforest_n_rounds(const wr_quantile_forest *f);

/** Sets a progress callback for fit (stage "forest.fit", step = round,
 *  metric1/metric2 = train/validation mean pinball loss).  NULL removes it. */
WR_API void wr_qforest_set_progress(wr_quantile_forest *f, wr_progress_fn fn,
                                    void *user_data);

/**
 * Fits the model.  X is n x d (row-major float), y has n values, w (optional,
 * NULL = all 1) n non-negative weights.  X_val/y_val/w_val with n_val rows
 * form an optional validation set for early stopping (X_val NULL and
 * n_val 0 for none; without it early_stopping_rounds is ignored).  Fails
 * with WR_ERR_INVALID_ARG on n = 0, d = 0, NaN/Inf in X or y (or the
 * validation set), negative or all-zero weights; WR_ERR_CANCELLED when the
 * progress callback stops it.  On failure the handle keeps its previous
 * model.  The result is the same for any "threads".
 */
WR_API wr_status wr_qforest_fit(wr_quantile_forest *f, const float *X,
                                size_t n, size_t d, const float *y,
                                const float *w, const float *X_val,
                                size_t n_val, const float *y_val,
                                const float *w_val);

/**
 * Continues boosting from a fitted forest (since 0.2.0): f's model becomes a
 * copy of base's trees, feature bins and initial scores followed by f's
 * `rounds` new rounds (with f's other parameters) fitted on (X, y, w), whose
 * scores start from base's predictions.  Use it to learn a sample that
 * differs little from base's training sample: the new trees model only the
 * difference, so base's statistical noise is shared instead of doubled (the
 * morpher's data_forest=from_sim).  base must be fitted with f's levels,
 * f's `multi` and d features (else WR_ERR_NOT_FITTED / WR_ERR_INVALID_ARG);
 * base may be f itself.  Early stopping (a validation set and
 * early_stopping_rounds) removes new trees only.  Other arguments, errors
 * and the unchanged-on-failure rule as wr_qforest_fit; n_rounds() counts
 * base's trees too.
 */
WR_API wr_status wr_qforest_fit_from(wr_quantile_forest *f,
                                     const wr_quantile_forest *base,
                                     const float *X, size_t n, size_t d,
                                     const float *y, const float *w,
                                     const float *X_val, size_t n_val,
                                     const float *y_val, const float *w_val);

/**
 * Predicts every level for n rows of X (n x d, d equal to the fitted d):
 * out is n x n_levels, row-major; each row is non-decreasing (never
 * crossing).  WR_ERR_NOT_FITTED before a fit, WR_ERR_INVALID_ARG for
 * another d or NaN/Inf in X; n = 0 does nothing.  (const, thread-safe on
 * a fitted handle)
 */
WR_API wr_status wr_qforest_predict(const wr_quantile_forest *f,
                                    const float *X, size_t n, size_t d,
                                    float *out);

/** Saves the fitted model to a file (atomically) / into a new buffer that
 *  the caller releases with wr_free(). (const) */
WR_API wr_status wr_qforest_save(const wr_quantile_forest *f, const char *path);
WR_API wr_status wr_qforest_to_bytes(const wr_quantile_forest *f, void **buf,
                                     size_t *size);
/** Loads a model into a new handle. */
WR_API wr_status wr_qforest_load(const char *path, wr_quantile_forest **out);
WR_API wr_status wr_qforest_from_bytes(const void *buf, size_t size,
                                       wr_quantile_forest **out);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_FOREST_H */
