/*
 * wrecoil/tfit.h -- wr_template_fit: binned template fits of m_W.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_TFIT_H
#define WRECOIL_TFIT_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/tfit.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

/**
 * wr_template_fit -- turns a data/simulation discrepancy into a bias on m_W.
 * Templates of an observable (MT, lepton pT; 1D or 2D) are filled for a grid
 * of mass hypotheses M_h by Breit-Wigner reweighting of the generator mass,
 * pseudo-data are fitted with a binned Poisson likelihood scanned over the
 * grid, and the bias and its bootstrap uncertainty are reported in MeV.
 * docs/tfit.md has the formulas.
 *
 * Breit-Wigner reweighting.  An event generated with mass m (GeV) at the
 * reference (M_0, G_0) gets, for hypothesis (M_h, G_h), the weight
 *     w_h = w * BW(m; M_h, G_h) / BW(m; M_0, G_0)
 *     BW(m; M, G) = 1 / ((m^2 - M^2)^2 + m^4 G^2 / M^2)   (width=running)
 *     BW(m; M, G) = 1 / ((m^2 - M^2)^2 + M^2 G^2)         (width=fixed)
 * with G_h = G_0 (width_scaling=none) or G_0 (M_h / M_0)^3 (=m3).
 *
 * Likelihood.  Bin contents T_b(M) between grid points are interpolated in
 * ln T_b (cubic Lagrange through the 4 nearest grid points, or linear).
 * The prediction mu_b = nu T_b(M), nu = N_data / sum_b T_b(M) (norm=shape,
 * and norm=free without Barlow-Beeston: the profiled free normalisation
 * equals it), and
 *     -2 ln L(M) = 2 sum_b [mu_b - n_b + n_b ln(n_b / mu_b)]   (Baker-Cousins)
 * With bb_lite=1 every bin gets a factor beta_b on mu_b with a Gaussian
 * constraint (beta_b - 1)^2 / s_b^2, s_b^2 = sum w^2 / T_b^2 (template
 * statistics), profiled in closed form; with norm=free nu is then profiled
 * jointly.  Bins whose template is not positive at every grid mass are
 * left out of the fit (data included).
 *
 * Scan and fit.  -2 ln L is evaluated at scan_refine points per grid
 * interval.  Least-squares parabolas (LAPACK dgels): the mass M^ is the
 * vertex of the one through the 5 scan points around the scan minimum; the
 * statistical width 1/sqrt(a) comes from the one, a (M - M^)^2 + c, through
 * the contiguous points within parabola_window of the minimum (the
 * Delta(-2 ln L) = 1 half width); the bias is 1000 (M^ - M_true) MeV.
 *
 * Bootstrap.  With bootstrap=R > 0 every event filled (templates and data)
 * is also added to R replica histograms with Poisson(1) weights k_r drawn
 * from the stream (seed, event id): events that appear in the templates and
 * in the pseudo-data with the same id get the same k_r, so their
 * correlation is kept.  Replicas are filled while streaming: no event is
 * stored.  The spread (standard deviation) of the replica fits is the
 * uncertainty of the bias.
 *
 * Parameters (wr_tfit_set_param; docs/tfit.md):
 *   mass_center=80.385 mass_step=0.01 mass_count=41   regular grid (GeV)
 *   ref_mass=80.385 ref_width=2.085                   generator M_0, G_0 (GeV)
 *   width=running|fixed  width_scaling=none|m3
 *   flow=drop|fold      events outside the binning: dropped, or added to
 *                       the first / last bin of that axis
 *   bootstrap=0         replicas R (0..10000); seed=1; data_sets=1 (1..1024)
 *   bb_lite=0           Barlow-Beeston-lite
 *   norm=shape|free  interp=cubic|linear  scan_refine=10 (1..1000)
 *   parabola_window=1   Delta(-2 ln L) window of the parabola fit
 *   threads=0           worker threads (0 = all cores)
 * The grid, reference, width options, flow, bootstrap, seed, data_sets and
 * bb_lite shape the filled histograms: they cannot change once events were
 * added (wr_tfit_reset() empties the handle).  The others may change at any
 * time and act at the next fit.
 *
 * Lifecycle: create (binning) -> set parameters -> add_templates /
 * add_data / add_events (any number of chunks) -> fit / bootstrap / syst
 * -> read back histograms and scan; save / to_bytes keep the filled
 * histograms.  Calls marked (const) may run concurrently on one handle.
 */
typedef struct wr_template_fit wr_template_fit;

/** Histogram kinds for wr_tfit_histogram(). Pinned. */
enum {
    WR_TFIT_TEMPLATE = 0,       /**< template sum of weights, index = grid mass */
    WR_TFIT_TEMPLATE_SUMW2 = 1, /**< template sum of squared weights */
    WR_TFIT_DATA = 2,           /**< pseudo-data sum of weights, index = data set */
    WR_TFIT_DATA_SUMW2 = 3      /**< pseudo-data sum of squared weights */
};

/**
 * Creates an empty template fit with bin edges (strictly increasing,
 * finite, at least 2 per axis; copied).  1D: edges_y == NULL and
 * n_edges_y == 0.  2D (e.g. lepton pT x eta): the flattened bin index is
 * ix * ny + iy.  Bins are half-open [e_i, e_i+1).
 */
WR_API wr_status wr_tfit_create(const double *edges_x, size_t n_edges_x,
                                const double *edges_y, size_t n_edges_y,
                                wr_template_fit **out);

/** Same with nx (ny) equal bins over [x_lo, x_hi) ([y_lo, y_hi)); edge i is
 *  lo + (hi - lo) * i / n.  ny == 0 makes a 1D binning (y_lo, y_hi unused). */
WR_API wr_status wr_tfit_create_uniform(size_t nx, double x_lo, double x_hi,
                                        size_t ny, double y_lo, double y_hi,
                                        wr_template_fit **out);

/** Frees a template fit; NULL is a no-op. */
WR_API void wr_tfit_free(wr_template_fit *tf);

/** Sets one parameter from its string form.  Unchanged on error. */
WR_API wr_status wr_tfit_set_param(wr_template_fit *tf, const char *key,
                                   const char *value);
/** Applies "key=value key=value ..." all-or-nothing. */
WR_API wr_status wr_tfit_set_params(wr_template_fit *tf, const char *kv);
/** Reads a parameter in string form into buf[len]. (const) */
WR_API wr_status wr_tfit_get_param(const wr_template_fit *tf, const char *key,
                                   char *buf, size_t len);

/** Replaces the regular grid by an explicit list of n >= 3 strictly
 *  increasing positive masses (GeV; copied).  Setting mass_center,
 *  mass_step or mass_count afterwards returns to the regular grid.  Fails
 *  once events were added. */
WR_API wr_status wr_tfit_set_mass_grid(wr_template_fit *tf,
                                       const double *masses, size_t n);
/** Number of grid masses, and a copy of them into out[n]. (const) */
WR_API size_t wr_tfit_n_masses(const wr_template_fit *tf);
WR_API wr_status wr_tfit_masses(const wr_template_fit *tf, double *out,
                                size_t n);

/** Dimension of the binning (1 or 2), total number of bins, number of
 *  edges of axis 0 (x) or 1 (y; 0 in 1D), and a copy of them. (const) */
WR_API size_t wr_tfit_dim(const wr_template_fit *tf);
WR_API size_t wr_tfit_n_bins(const wr_template_fit *tf);
WR_API size_t wr_tfit_n_edges(const wr_template_fit *tf, int axis);
WR_API wr_status wr_tfit_edges(const wr_template_fit *tf, int axis,
                               double *out, size_t n);

/** Sets a progress callback for wr_tfit_bootstrap (stage "tfit.bootstrap")
 *  and wr_tfit_syst ("tfit.syst"); step counts replicas.  NULL removes it. */
WR_API void wr_tfit_set_progress(wr_template_fit *tf, wr_progress_fn fn,
                                 void *user_data);

/**
 * Breit-Wigner weights BW(m; M, G(M)) / BW(m; M_0, G_0) (see above) for n
 * generator masses m_gen (GeV, > 0) to a target mass `mass`, with the
 * handle's reference and width options: the weights that make pseudo-data
 * at another mass out of the template sample. (const)
 */
WR_API wr_status wr_tfit_bw_weights(const wr_template_fit *tf, double mass,
                                    const double *m_gen, size_t n,
                                    double *w_out);

/**
 * Adds a chunk of n simulated events to the templates of every grid mass.
 * x: n x dim observable values (row-major, GeV); m_gen: generator masses
 * (GeV, > 0); w: event weights (finite; NULL = all 1); ids: event ids
 * (NULL allowed only with bootstrap=0), the key of the bootstrap weights.
 * Histograms are additive: chunks may come in any number.
 */
WR_API wr_status wr_tfit_add_templates(wr_template_fit *tf, const double *x,
                                       const double *m_gen, const double *w,
                                       const uint64_t *ids, size_t n);

/** Adds a chunk of n pseudo-data events to data set `set` (< data_sets);
 *  x, w, ids as in wr_tfit_add_templates.  Use the template ids for events
 *  shared with the templates and ids never used there for independent
 *  events: equal ids share their bootstrap weights. */
WR_API wr_status wr_tfit_add_data(wr_template_fit *tf, size_t set,
                                  const double *x, const double *w,
                                  const uint64_t *ids, size_t n);

/**
 * Adds a chunk of n simulated events to the templates (weights w, as
 * wr_tfit_add_templates) and, when n_sets > 0, the same events to data sets
 * 0 .. n_sets-1 with weights w_data (n x n_sets, row-major: one column per
 * pseudo-data variant, e.g. reweighted to a true mass, or distorted by a
 * discrepancy of each size).  One pass: bins and bootstrap weights are
 * computed once.  Equivalent to add_templates + add_data per set.
 */
WR_API wr_status wr_tfit_add_events(wr_template_fit *tf, const double *x,
                                    const double *m_gen, const double *w,
                                    const uint64_t *ids, size_t n,
                                    const double *w_data, size_t n_sets);

/** Replaces data set `set` by a histogram of n_bins (= wr_tfit_n_bins)
 *  finite non-negative contents, e.g. another sample or a Poisson toy; its
 *  sum of squared weights is set to the contents.  Bootstrap replicas see
 *  the same fixed histogram (events added later are bootstrapped). */
WR_API wr_status wr_tfit_set_data_histogram(wr_template_fit *tf, size_t set,
                                            const double *counts,
                                            size_t n_bins);

/** Empties every histogram and the last fit; parameters are kept. */
WR_API void wr_tfit_reset(wr_template_fit *tf);

/** Adds the histograms of `other` (same binning, grid and filling
 *  parameters, e.g. filled in another process) into tf. */
WR_API wr_status wr_tfit_merge(wr_template_fit *tf,
                               const wr_template_fit *other);

/** Copies a filled histogram into out[n_bins]: `what` is WR_TFIT_*,
 *  `index` the grid mass (templates) or the data set (data).  Zeros
 *  before anything was filled. (const) */
WR_API wr_status wr_tfit_histogram(const wr_template_fit *tf, int what,
                                   size_t index, double *out, size_t n_bins);

/** The template at any mass inside the grid, interpolated as in the fit
 *  (bins left out of the fit are 0). (const) */
WR_API wr_status wr_tfit_template_at(const wr_template_fit *tf, double mass,
                                     double *out, size_t n_bins);

/**
 * Fits data set `set`: scan, parabola, and (each pointer may be NULL) the
 * fitted mass (GeV), statistical width (GeV) and bias 1000 (mass -
 * true_mass) in MeV (true_mass: the mass of the pseudo-data, GeV; NaN when
 * unknown gives a NaN bias).  Keeps the scan and the result in the handle.
 * Fails with WR_ERR_NUMERICAL when the minimum is at the edge of the grid
 * or the scan is not convex there.
 */
WR_API wr_status wr_tfit_fit(wr_template_fit *tf, size_t set,
                             double true_mass, double *mass, double *width,
                             double *bias_mev);

/**
 * A value of the last wr_tfit_fit: "mass", "width" (GeV), "bias_mev",
 * "true_mass", "m2lnl_min" (parabola minimum of -2 ln L), "norm" (nu at the
 * scan minimum), "n_bins" (bins in the fit), "n_parabola" (scan points in
 * the parabola), "curvature" (a, 1/GeV^2). (const)
 */
WR_API wr_status wr_tfit_result(const wr_template_fit *tf, const char *name,
                                double *value);

/** Number of points of the last scan, and a copy of the masses (GeV) and
 *  -2 ln L values (either array may be NULL). (const) */
WR_API size_t wr_tfit_scan_size(const wr_template_fit *tf);
WR_API wr_status wr_tfit_scan(const wr_template_fit *tf, double *mass,
                              double *m2lnl, size_t n);

/**
 * Fits data set `set` in every bootstrap replica (multi-threaded).
 * replica_mass[n_replicas] (n_replicas = bootstrap; may be NULL with
 * n_replicas 0) receives the fitted masses (GeV); mean_bias_mev the mean of
 * 1000 (mass_r - true_mass); spread_mev their standard deviation (n - 1),
 * the statistical uncertainty of the bias.  Either output may be NULL.
 * Needs bootstrap >= 2.  Does not change the last fit.
 */
WR_API wr_status wr_tfit_bootstrap(wr_template_fit *tf, size_t set,
                                   double true_mass, double *replica_mass,
                                   size_t n_replicas, double *mean_bias_mev,
                                   double *spread_mev);

/**
 * Systematic helper: data set j (j < n_eps) holds the pseudo-data with a
 * discrepancy of size eps[j] (e.g. the same events with weights
 * 1 + eps_j f(event)).  Fills bias_mev[j] = 1000 (mass_j - true_mass), and
 * slope (MeV per unit eps) from a least-squares line through (eps_j,
 * bias_j) (n_eps >= 2, eps not all equal).  With bootstrap >= 2 the same
 * is done in every replica: bias_err_mev[j] and slope_err are the spreads;
 * otherwise they are NaN.  Any output may be NULL.
 */
WR_API wr_status wr_tfit_syst(wr_template_fit *tf, const double *eps,
                              size_t n_eps, double true_mass,
                              double *bias_mev, double *bias_err_mev,
                              double *slope, double *slope_err);

/** Saves the handle (parameters, binning, grid and filled histograms)
 *  atomically / into a new buffer released with wr_free(). (const) */
WR_API wr_status wr_tfit_save(const wr_template_fit *tf, const char *path);
WR_API wr_status wr_tfit_to_bytes(const wr_template_fit *tf, void **buf,
                                  size_t *size);
/** Loads a saved template fit into a new handle. */
WR_API wr_status wr_tfit_load(const char *path, wr_template_fit **out);
WR_API wr_status wr_tfit_from_bytes(const void *buf, size_t size,
                                    wr_template_fit **out);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_TFIT_H */
