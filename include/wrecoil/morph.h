/*
 * wrecoil/morph.h -- wr_morpher: k-conditional quantile morphing.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_MORPH_H
#define WRECOIL_MORPH_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/morph.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

/**
 * wr_morpher -- calibrates simulation to data: learns y' = T(y, z) such that
 * the morphed simulated y' given z follows the data's distribution of y
 * given z, for an N-dimensional y conditional on k variables z.
 * docs/morph.md.
 *
 * Method (Knothe-Rosenblatt chain).  For j = 1..N
 *   u_j  = F_sim (y_j  | z, y_1 .. y_{j-1})    on the ORIGINAL simulated values
 *   y'_j = F_data^-1(u_j | z, y'_1 .. y'_{j-1}) on the already MORPHED values
 * where F_sim and F_data are conditional distributions learned by 2N
 * wr_quantile_forest models (N on the simulation, N on the data), sorted
 * per event, interpolated monotonically between the quantile levels and
 * extended by exponential tails beyond the extreme levels, so that T is
 * continuous and strictly increasing in y_j.
 *
 * Lifecycle: create -> set bounds / parameters -> fit -> apply (const,
 * thread-safe) -> save / to_bytes; load / from_bytes; free.
 */
typedef struct wr_morpher wr_morpher;

/** Forest directions, for wr_morpher_set_forest_params(). */
enum {
    WR_MORPH_SIM = 1,  /**< the N forests learned on the simulation */
    WR_MORPH_DATA = 2, /**< the N forests learned on the data */
    WR_MORPH_BOTH = 3  /**< both directions */
};

/**
 * Creates an unfitted morpher for `n_y` morphed variables (N >= 1)
 * conditional on `n_z` variables (k >= 0), with `n_levels` quantile levels
 * `levels` (strictly increasing inside (0, 1), at least 2; copied).  With
 * levels == NULL and n_levels == 0 the default grid of 21 levels 0.01,
 * 0.05, 0.10, ..., 0.95, 0.99 is used.  n_y + n_z is at most 64.
 */
WR_API wr_status wr_morpher_create(size_t n_y, size_t n_z,
                                   const double *levels, size_t n_levels,
                                   wr_morpher **out);

/** Frees a morpher and its forests; NULL is a no-op. */
WR_API void wr_morpher_free(wr_morpher *m);

/** Dimensions N and k, and the number of quantile levels. (const) */
WR_API size_t wr_morpher_n_y(const wr_morpher *m);
WR_API size_t wr_morpher_n_z(const wr_morpher *m);
WR_API size_t wr_morpher_n_levels(const wr_morpher *m);
/** Copies the quantile levels into levels[n_levels] (n_levels must equal
 *  wr_morpher_n_levels()). (const) */
WR_API wr_status wr_morpher_levels(const wr_morpher *m, double *levels,
                                   size_t n_levels);
/** 1 when the morpher holds a fitted model, 0 otherwise (also for NULL). */
WR_API int wr_morpher_is_fitted(const wr_morpher *m);

/**
 * Declares the range of variable j (0-based, < N): lo <= y_j <= hi.  Either
 * end may be infinite (-INFINITY / INFINITY, the default: unbounded); a
 * magnitude |h| is (0, INFINITY), an angle (-M_PI, M_PI).  The forests of a
 * bounded variable learn it in an unbounded coordinate (log distance to
 * the bound, or logit inside an interval) so that every morphed value lies
 * within [lo, hi].  Input values may exceed a bound by float rounding
 * (relative 1e-6); farther out they are an error in fit and apply.  Takes
 * effect at the next fit; a fitted model keeps the bounds it was fitted
 * with (and saves them).
 */
WR_API wr_status wr_morpher_set_bounds(wr_morpher *m, size_t j, double lo,
                                       double hi);
/** Bounds of variable j: those of the fitted model when fitted, otherwise
 *  those set for the next fit.  Either pointer may be NULL. (const) */
WR_API wr_status wr_morpher_get_bounds(const wr_morpher *m, size_t j,
                                       double *lo, double *hi);

/**
 * Sets a morpher parameter from its string form (docs/morph.md):
 *   threads              threads of fit and apply; 0 = all cores (default 0)
 *   interpolation        "linear" (default) or "pchip": interpolation of
 *                        the quantile function between levels; read at
 *                        apply time, so it can change after fit
 *   validation_fraction  share of each sample held out for the forests'
 *                        early stopping, in [0, 0.5] (default 0: none)
 *   seed                 seed of the validation split (default 1)
 * Unchanged on error.
 */
WR_API wr_status wr_morpher_set_param(wr_morpher *m, const char *key,
                                      const char *value);
/** Applies "key=value key=value ..." all-or-nothing. */
WR_API wr_status wr_morpher_set_params(wr_morpher *m, const char *kv);
/** Reads a morpher parameter in string form into buf[len]. (const) */
WR_API wr_status wr_morpher_get_param(const wr_morpher *m, const char *key,
                                      char *buf, size_t len);

/**
 * Sets the wr_quantile_forest parameters ("key=value ...", the names of
 * wr_qforest_set_params, e.g. "rounds=200 max_leaves=31") used for the
 * forests of `direction` (WR_MORPH_SIM, WR_MORPH_DATA or WR_MORPH_BOTH) at
 * the next fit.  Replaces the previous string of that direction; "" restores
 * the forest defaults.  Validated now: an unknown key or a bad value fails
 * and leaves the morpher unchanged.  The forests' "threads" defaults to the
 * morpher's "threads" unless given here.
 */
WR_API wr_status wr_morpher_set_forest_params(wr_morpher *m, int direction,
                                              const char *kv);
/** Copies the forest parameter string of WR_MORPH_SIM or WR_MORPH_DATA into
 *  buf[len] (truncation is an error). (const) */
WR_API wr_status wr_morpher_get_forest_params(const wr_morpher *m,
                                              int direction, char *buf,
                                              size_t len);

/**
 * Sets a progress callback for fit.  It is called with stage "morpher.fit"
 * and step = number of forests done (0..2N, total 2N), and it is also
 * passed on to each forest, so the forests' "forest.fit" calls (step =
 * boosting round) arrive in between.  Non-zero cancels the fit.  NULL
 * removes it.
 */
WR_API void wr_morpher_set_progress(wr_morpher *m, wr_progress_fn fn,
                                    void *user_data);

/**
 * Fits the 2N forests.  z_sim is n_sim x k, y_sim n_sim x N (row-major
 * float), w_sim optional n_sim non-negative weights (NULL = all 1); the same
 * for the data sample.  k = 0 allows z_sim / z_data NULL.  The forests are
 * fitted one after the other, each with the configured threads, simulation
 * first.  On failure (including cancellation) the handle keeps its previous
 * model.
 */
WR_API wr_status wr_morpher_fit(wr_morpher *m, const float *z_sim,
                                const float *y_sim, const float *w_sim,
                                size_t n_sim, const float *z_data,
                                const float *y_data, const float *w_data,
                                size_t n_data);

/**
 * Morphs n simulated events: z is n x k, y n x N; writes y' (n x N) into
 * y_out, which may equal y (in place).  u_out, when not NULL, receives the
 * intermediate n x N values u_j = F_sim(y_j | z, y_<j) in (0, 1) (double,
 * because float cannot resolve 1 - 1e-8): uniform on the simulation when
 * the model is right, a diagnostic.  n = 0 is a no-op.  Uses the
 * "threads" parameter.  (const, thread-safe on a fitted handle)
 */
WR_API wr_status wr_morpher_apply(const wr_morpher *m, const float *z,
                                  const float *y, size_t n, float *y_out,
                                  double *u_out);

/** Saves the fitted morpher (model kind WR_KIND_MORPHER, its forests
 *  embedded) to a file atomically / into a new buffer the caller releases
 *  with wr_free(). (const) */
WR_API wr_status wr_morpher_save(const wr_morpher *m, const char *path);
WR_API wr_status wr_morpher_to_bytes(const wr_morpher *m, void **buf,
                                     size_t *size);
/** Loads a morpher into a new handle (parameters, bounds, forest parameter
 *  strings and the fitted forests). */
WR_API wr_status wr_morpher_load(const char *path, wr_morpher **out);
WR_API wr_status wr_morpher_from_bytes(const void *buf, size_t size,
                                       wr_morpher **out);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_MORPH_H */
