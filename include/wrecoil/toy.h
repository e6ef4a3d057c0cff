/*
 * wrecoil/toy.h -- wr_toy: built-in W and Z toy simulation.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_TOY_H
#define WRECOIL_TOY_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/toy.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

/**
 * wr_toy -- a fast parametric simulation of pp -> W -> mu nu and
 * pp -> Z -> mu mu events with a hadronic recoil made of particles
 * (collimated ISR, underlying event, Poisson pileup) seen through a detector
 * model that produces the particle types of docs/recoil-features.md.
 * The model, every knob and the presets are described in docs/toy.md.
 *
 * Reproducibility: event number `ev` of a given seed is generated from its
 * own random stream (seed, ev), so an event is the same whatever the number
 * of threads, the chunking, or the [first, first + n) window it is asked in.
 * Events are accepted events: each one is drawn again from its stream until
 * the muon selection passes.
 *
 * Lifecycle: create -> (set parameters) -> generate (const, thread-safe)
 * -> free.
 */
typedef struct wr_toy wr_toy;

/**
 * Creates a toy for `process` "W" (W -> mu nu, both charges) or "Z"
 * (Z -> mu mu) with the knobs of `preset` "mc" (the simulation) or "data"
 * (plays real data: other underlying event, pileup, detector response and a
 * softer boson pT spectrum).  NULL preset means "mc".
 */
WR_API wr_status wr_toy_create(const char *process, const char *preset,
                               wr_toy **out);

/** Frees a toy; NULL is a no-op. */
WR_API void wr_toy_free(wr_toy *toy);

/** Process of the toy: "W" or "Z". Never NULL for a valid handle. (const) */
WR_API const char *wr_toy_process(const wr_toy *toy);

/** Resets every knob to the values of `preset` ("mc" or "data") for the
 *  toy's process.  Unchanged on error. */
WR_API wr_status wr_toy_set_preset(wr_toy *toy, const char *preset);

/** Sets one knob from its string form (names, units, defaults and bounds in
 *  docs/toy.md).  Combinations are checked too (e.g. mass_min < mass <
 *  mass_max); the handle is unchanged on error. */
WR_API wr_status wr_toy_set_param(wr_toy *toy, const char *key,
                                  const char *value);
/** Applies "key=value key=value ..." all-or-nothing. */
WR_API wr_status wr_toy_set_params(wr_toy *toy, const char *kv);
/** Reads one knob in string form into buf[len]. (const) */
WR_API wr_status wr_toy_get_param(const wr_toy *toy, const char *key,
                                  char *buf, size_t len);
/** Reads one knob as a number. (const) */
WR_API wr_status wr_toy_get_param_num(const wr_toy *toy, const char *key,
                                      double *value);
/** Every knob as one "key=value key=value ..." string in a new buffer that
 *  the caller releases with wr_free(); it can be fed back to
 *  wr_toy_set_params. (const) */
WR_API wr_status wr_toy_params_string(const wr_toy *toy, char **out);

/** Sets a progress callback for the generators (stage "toy.table" or
 *  "toy.particles", step = events done, total = events asked).  NULL
 *  removes it. */
WR_API void wr_toy_set_progress(wr_toy *toy, wr_progress_fn fn,
                                void *user_data);

/* ------------------------------------------------------ event-level table */

/** Number of columns of the event-level table (41), the same columns in the
 *  same order as the generator samples' event files. */
WR_API size_t wr_toy_table_ncols(void);
/** Name of table column i ("ev", "q", "v_pt", ..., the 15 features by
 *  contract name, "ln_e1", "e2"); NULL when i is out of range. */
WR_API const char *wr_toy_table_colname(size_t i);
/** Index of the table column called `name`, or -1. */
WR_API int wr_toy_table_colindex(const char *name);

/**
 * Generates events [first, first + n) of `seed` and fills `out`
 * (n x wr_toy_table_ncols() doubles, row-major) with the event-level table:
 *   ev        event number (first + row)
 *   q         charge of the muon `l` (W: +-1; Z: +1, `l` is the mu+)
 *   v_pt, v_phi, v_pz, v_m   generator boson pT, phi, pz, mass (GeV, rad)
 *   lgen_pt, lgen_eta, lgen_phi  generator muon `l`
 *   l_pt, l_eta, l_phi       reconstructed muon `l` (pT smeared)
 *   l2_pt, l2_eta, l2_phi    reconstructed mu- of a Z (0 for W)
 *   n_pu      number of pileup interactions
 *   tk_x, tk_y, pf_x, pf_y, ntnpv_x, ntnpv_y   recoil vectors (GeV)
 *   htrue_x, htrue_y         true recoil = -pT of the boson (GeV)
 *   the 15 features (contract order), ln_e1, e2 (0 without a TK track).
 * The features are those wr_recoil_features computes from the particles
 * wr_toy_particles returns for the same events (to float rounding).
 * Pileup vertices are drawn from a library of `pu_library` vertices built
 * from `seed` at each call (a few ms; docs/toy.md).  Memory use is one
 * event per thread plus that library, whatever n.  `nthreads` <= 0 uses
 * all cores.  On failure (including cancellation by the progress callback)
 * the contents of `out` are unspecified.  (const, thread-safe)
 */
WR_API wr_status wr_toy_table(const wr_toy *toy, uint64_t seed, int64_t first,
                              size_t n, int nthreads, double *out);

/* -------------------------------------------------------- particle level */

/** Number of truth columns returned by wr_toy_particles (18): the table
 *  columns that do not depend on the recoil reconstruction: ev, q, v_pt,
 *  v_phi, v_pz, v_m, lgen_pt, lgen_eta, lgen_phi, l_pt, l_eta, l_phi, l2_pt,
 *  l2_eta, l2_phi, n_pu, htrue_x, htrue_y. */
WR_API size_t wr_toy_truth_ncols(void);
/** Name of truth column i; NULL when out of range. */
WR_API const char *wr_toy_truth_colname(size_t i);

/**
 * Generates events [first, first + n) of `seed` (the same events as
 * wr_toy_table) at particle level: the reconstructed particles of every
 * event, the boson-decay muons removed, as wr_recoil_features takes them.
 * Particles of event i are [offsets[i], offsets[i+1]) of the arrays
 *   pt (GeV), eta, phi (rad), charge (+-1 track, 0 neutral cluster),
 *   vtx (0 primary vertex, k > 0 pileup vertex k, -1 neutral).
 * `offsets` (n + 1 entries) is the caller's; the five arrays are allocated
 * by the library and released by the caller with wr_free() (on failure they
 * are set to NULL).  `truth` (n x wr_toy_truth_ncols(), or NULL) receives
 * the truth columns.  `nthreads` <= 0 uses all cores.  (const, thread-safe)
 */
WR_API wr_status wr_toy_particles(const wr_toy *toy, uint64_t seed,
                                  int64_t first, size_t n, int nthreads,
                                  int64_t *offsets, float **pt, float **eta,
                                  float **phi, int32_t **charge,
                                  int32_t **vtx, double *truth);

/* ------------------------------------------------ generator-level density */

/**
 * Generator-level density p(pT, pL) of the boson transverse and
 * longitudinal momentum (GeV) implied by the toy's knobs, before the muon
 * selection, normalised to 1 over the plane (units GeV^-2): the pT
 * spectrum times the rapidity distribution, integrated over the
 * Breit-Wigner mass (docs/toy.md).  Zero outside the generated range.
 * (const, thread-safe)
 */
WR_API wr_status wr_toy_gen_density(const wr_toy *toy, size_t n,
                                    const double *pt, const double *pl,
                                    double *p);

/**
 * Per-event generator-level weight w = p_to(pT, pL) / p_from(pT, pL) that
 * reweights bosons generated by `from` to the spectrum of `to` (same
 * process).  E.g. from = W "mc", to = W "data".  Where p_from is 0 the
 * weight is 0.  The muon selection acts in the same way on both (given the
 * boson and identical decay knobs), so the weight applies to selected
 * events as well.  (const, thread-safe)
 */
WR_API wr_status wr_toy_gen_weight(const wr_toy *from, const wr_toy *to,
                                   size_t n, const double *pt,
                                   const double *pl, double *w);

/** Same as wr_toy_gen_weight with `to` = the preset `to_preset` ("mc" or
 *  "data") of the process of `from`. (const, thread-safe) */
WR_API wr_status wr_toy_gen_weight_preset(const wr_toy *from,
                                          const char *to_preset, size_t n,
                                          const double *pt, const double *pl,
                                          double *w);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_TOY_H */
