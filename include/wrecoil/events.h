/*
 * wrecoil/events.h -- Event model: features, kinematics, toy simulation, tables.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_EVENTS_H
#define WRECOIL_EVENTS_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/events.h>"
#endif
#include <stdio.h> /* FILE, for the table stream calls */
#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================ features */
/* Contract: the analysis' recoil-features.md, restated in docs/events.md. */

/** Number of regression features and their order (contract order). */
#define WR_N_FEATURES 15
enum {
    WR_F_H_TK = 0, WR_F_PHI_TK, WR_F_R_NTNPV, WR_F_R_M, WR_F_R_LTK, WR_F_R_LNT,
    WR_F_S_TK, WR_F_S_NT, WR_F_S_PF, WR_F_COS_TK_NTNPV, WR_F_ADPHI_TK_NTNPV,
    WR_F_SDPHI_TK_PF, WR_F_SDPHI_TK_LTK, WR_F_N_TK, WR_F_N_VTX
};
/** Recoil vectors returned per event, in this order (x, y pairs). */
enum { WR_R_TK_X = 0, WR_R_TK_Y, WR_R_PF_X, WR_R_PF_Y, WR_R_NTNPV_X,
       WR_R_NTNPV_Y, WR_R_NT_X, WR_R_NT_Y, WR_N_RECOIL = 8 };

/**
 * Computes the recoil features of many events from their reconstructed
 * particles (the boson-decay leptons already removed), following the
 * analysis contract (recoil-features.md) exactly; docs/events.md restates it.
 *
 * Particles of event i are indices [offsets[i], offsets[i+1]) of the arrays
 * pt (GeV, finite, >= 0), eta, phi (rad, any finite value), charge
 * (0 = neutral cluster, else a track) and vtx (tracks: 0 = PV, > 0 pileup
 * vertex id; neutrals: -1).  offsets has n_events + 1 entries,
 * non-decreasing, offsets[0] = 0.  Events may be empty.
 *
 * Outputs (each may be NULL when not wanted, except features):
 *   features  n_events x WR_N_FEATURES, contract order
 *   recoils   n_events x WR_N_RECOIL: TK, PF, NTNPV, NT vectors (x, y), GeV
 *   no_tk     n_events flags: 1 where the event has no TK recoil (no track
 *             on the PV, or TK tracks summing to exactly zero); then the
 *             TK-dependent features (0-6 and 9-12) and the targets are 0
 *   targets   n_events x 2: ln_e1, e2 -- requires htrue (n_events x 2, the
 *             true recoil vector = -pT of the boson, x and y, GeV; finite
 *             and non-zero)
 * Logarithms whose argument vanishes (r_lnt without a neutral, r_ntnpv with
 * an exactly zero NTNPV vector) are 0; a zero NTNPV vector takes the TK
 * direction (cos = 1, adphi = 0, s = +1).  Sums are done in double
 * precision; the pion mass 0.13957039 GeV is used for m_TK.
 * `nthreads` <= 0 uses all cores (small batches use fewer threads).
 * Fails with WR_ERR_INVALID_ARG naming the argument and index for NULL
 * inputs, bad offsets, NaN/Inf, negative pt, a track with vtx < 0 or a
 * neutral with vtx != -1; outputs are untouched then.
 * (thread-safe, no handle)
 */
WR_API wr_status wr_recoil_features(size_t n_events, const int64_t *offsets,
                                    const float *pt, const float *eta,
                                    const float *phi, const int32_t *charge,
                                    const int32_t *vtx, const float *htrue,
                                    int nthreads, float *features,
                                    float *recoils, uint8_t *no_tk,
                                    float *targets);

/* ========================================================== kinematics */
/*
 * Batch helpers for the observables of the contract (docs/events.md).  Recoil
 * vectors h are read as (x, y) pairs with a row stride `h_stride` (floats
 * from one event's x to the next, >= 2): 2 for a packed n x 2 array,
 * WR_N_RECOIL to read one vector straight out of wr_recoil_features'
 * `recoils` (pass recoils + WR_R_PF_X for PF).  GeV and radians; inputs
 * must be finite and pt >= 0 (WR_ERR_INVALID_ARG naming the argument and
 * index otherwise).  Thread-safe, no handle.
 */

/** Wraps an angle (rad) to (-pi, pi].  NaN for a non-finite input. */
WR_API double wr_wrap_angle(double a);

/**
 * Transverse mass of n events from the lepton (lep_pt, lep_phi) and the
 * recoil h: MT^2 = 2 (pt_l |pt_l + h| + pt_l^2 + pt_l . h), the neutrino
 * being -(pt_l + h).  Writes mt[0..n-1] (GeV).
 */
WR_API wr_status wr_transverse_mass(size_t n, const float *lep_pt,
                                    const float *lep_phi, const float *h,
                                    size_t h_stride, float *mt);

/**
 * W-like Z: in each of n Z -> mu mu events the muon of charge
 * `lepton_charge` (+1 or -1) stays the lepton and the other plays the
 * neutrino.  mu_pt, mu_eta, mu_phi, mu_charge are n x 2 (the two muons of
 * event i at [2i] and [2i+1]); the charges of a pair must be +1 and -1.
 * The recoil h is the one of wr_recoil_features, both muons already
 * removed: the neutrino muon is thus left out of the lepton and of the
 * recoil, and -(pt_l + h) estimates it.  Outputs, each may be NULL:
 *   lepton    n x 3: pt, eta, phi of the muon kept as the lepton
 *   neutrino  n x 2: px, py of the muon playing the neutrino (the truth
 *             that -(pt_l + h) estimates)
 *   mt        n: transverse mass of the lepton and h (needs h)
 */
WR_API wr_status wr_wlike_z(size_t n, const float *mu_pt, const float *mu_eta,
                            const float *mu_phi, const int32_t *mu_charge,
                            const float *h, size_t h_stride, int lepton_charge,
                            float *lepton, float *neutrino, float *mt);

/** Columns of wr_boson_from_leptons' output rows. */
enum { WR_V_PT = 0, WR_V_PL, WR_V_PHI, WR_V_M, WR_N_BOSON = 4 };

/**
 * The boson of n two-lepton events: pt, eta, phi are n x 2 (leptons of
 * event i at [2i], [2i+1]), mass1/mass2 the lepton masses (GeV, e.g.
 * 0.1056583755 for muons, 0 for a neutrino).  Writes boson (n x
 * WR_N_BOSON): transverse momentum pT_V, longitudinal momentum pL_V (= pz),
 * azimuth phi_V and invariant mass m_V.
 */
WR_API wr_status wr_boson_from_leptons(size_t n, const float *pt,
                                       const float *eta, const float *phi,
                                       double mass1, double mass2,
                                       float *boson);

/**
 * The recoil observables y of any recoil definition h given the boson's
 * transverse momentum vector v = pT_V (x, y; stride v_stride): y (n x 2) =
 * (|h|, dphi(-pT_V direction, h)) with dphi(A, B) = wrap(phi_B - phi_A).
 * For pT_V = 0 the direction of -pT_V is taken as pi.  Since h_true =
 * -pT_V, the generator's recoil gives y = (pT_V, 0).
 */
WR_API wr_status wr_recoil_y(size_t n, const float *h, size_t h_stride,
                             const float *v, size_t v_stride, float *y);

/* ============================================================== tables */
/*
 * CSV tables with a header line of column names, plain or gzip-compressed
 * (one code path through zlib: a name ending in ".gz" is written
 * compressed; reading detects compression by content).  Fields are decimal
 * numbers ([+-]digits[.digits][e[+-]digits], blanks around them allowed),
 * separated by ',' without quoting; lines end in "\n" or "\r\n".  Malformed
 * input -- a line with too few or too many fields, an empty field, a value
 * that is not a finite number, no header, a requested column missing,
 * truncated or corrupt gzip data -- fails with WR_ERR_FORMAT and a message
 * naming the file, the line (the header is line 1) and the column; no line
 * is ever skipped.  Only selected columns are converted; the other fields
 * of a line are counted, not parsed.  A caller's FILE* (the _stream calls)
 * is never closed.  A handle is used by one thread at a time.
 */

/** A streaming reader of one table file; memory stays bounded by a chunk. */
typedef struct wr_table_reader wr_table_reader;

/**
 * Opens `path` (CSV or CSV.gz) and reads its header.  All columns are
 * selected initially.  Fails with WR_ERR_IO when the file cannot be opened,
 * WR_ERR_FORMAT when it is empty, the header has an empty or duplicate name,
 * or the first line holds only numbers (no header).
 */
WR_API wr_status wr_table_reader_open(const char *path, wr_table_reader **out);

/**
 * Same as wr_table_reader_open, reading the stream `f` (e.g. stdin; plain
 * or gzip) from its current file position.  `name` names it in messages
 * (NULL: "<stream>").  The reader uses a duplicate of f's file descriptor:
 * closing the reader never closes `f`.  Data already buffered inside `f`
 * by earlier stdio reads is not seen, so pass a stream not read from yet.
 */
WR_API wr_status wr_table_reader_open_stream(FILE *f, const char *name,
                                             wr_table_reader **out);

/** Closes the file and frees the reader.  NULL is a no-op. */
WR_API void wr_table_reader_close(wr_table_reader *r);

/** Number of columns in the header (0 for NULL). */
WR_API size_t wr_table_reader_n_columns(const wr_table_reader *r);

/** Name of column `j` (0-based), owned by the reader; NULL when out of range. */
WR_API const char *wr_table_reader_column_name(const wr_table_reader *r,
                                               size_t j);

/** Index of the column called `name`; WR_ERR_FORMAT when there is none. */
WR_API wr_status wr_table_reader_find(const wr_table_reader *r,
                                      const char *name, size_t *index);

/**
 * Selects the columns that reads deliver, in the order given: row k of a
 * read holds names[0..n-1].  A name missing from the header is
 * WR_ERR_FORMAT, a name given twice WR_ERR_INVALID_ARG (the selection is
 * unchanged on error).  May be called between reads.
 */
WR_API wr_status wr_table_reader_select(wr_table_reader *r,
                                        const char *const *names, size_t n);

/** Number of selected columns (the row width of reads). */
WR_API size_t wr_table_reader_n_selected(const wr_table_reader *r);

/**
 * Reads up to `max_rows` rows of the selected columns into `out`
 * (max_rows x n_selected, row-major).  *n_rows receives the rows read: 0
 * at the end of the file.  On a malformed line it fails (WR_ERR_FORMAT,
 * naming file, line, column) with the rows before it in `out` and counted
 * in *n_rows; every later read fails the same way.  Values beyond the
 * float range are errors, not infinities.
 */
WR_API wr_status wr_table_reader_read_float(wr_table_reader *r, float *out,
                                            size_t max_rows, size_t *n_rows);

/** Same as wr_table_reader_read_float, in double precision (exactly
 *  rounded decimal conversion). */
WR_API wr_status wr_table_reader_read_double(wr_table_reader *r, double *out,
                                             size_t max_rows, size_t *n_rows);

/** Data rows delivered so far. */
WR_API int64_t wr_table_reader_rows_read(const wr_table_reader *r);

/**
 * Reads the columns `names[0..n_names-1]` of every row of `path` into a new
 * array *out (n_rows x n_names, row-major), to be released with wr_free().
 * Errors as for the reader; *out is NULL on failure.
 */
WR_API wr_status wr_table_read_float(const char *path, const char *const *names,
                                     size_t n_names, float **out,
                                     size_t *n_rows);

/** Same as wr_table_read_float in double precision. */
WR_API wr_status wr_table_read_double(const char *path,
                                      const char *const *names, size_t n_names,
                                      double **out, size_t *n_rows);

/** A writer of one table file. */
typedef struct wr_table_writer wr_table_writer;

/**
 * Starts writing the table `path` and writes the header line.  The rows go
 * to a temporary file in the same directory that wr_table_writer_close()
 * renames over `path`, so an existing file is replaced only by a complete
 * one (symbolic links, devices and pipes such as /dev/stdout are written
 * directly).  The
 * file is gzip-compressed when `path` ends in ".gz".  Column names must be
 * non-empty and unique, without commas, quotes, line breaks or outer
 * blanks (WR_ERR_INVALID_ARG otherwise).  WR_ERR_IO when the file cannot be
 * created.
 */
WR_API wr_status wr_table_writer_open(const char *path,
                                      const char *const *names,
                                      size_t n_columns, wr_table_writer **out);

/**
 * Same as wr_table_writer_open, writing to the stream `f` (e.g. stdout)
 * after flushing it; gzip-compressed when `gzip` is non-zero.  `name`
 * names it in messages (NULL: "<stream>").  The writer uses a duplicate of
 * f's file descriptor: wr_table_writer_close() flushes the table but never
 * closes `f`.  There is no temporary file: the rows go straight out.
 */
WR_API wr_status wr_table_writer_open_stream(FILE *f, const char *name,
                                             int gzip,
                                             const char *const *names,
                                             size_t n_columns,
                                             wr_table_writer **out);

/**
 * Appends `n_rows` rows (n_rows x n_columns, row-major).  Floats are
 * written with the fewest of 7 or 9 significant digits that read back
 * exactly, doubles with 15 or 17, so a table round-trips bit for bit.
 * Non-finite values are WR_ERR_INVALID_ARG (nothing of the call is
 * written); a failed write is WR_ERR_IO and makes the writer unusable.
 */
WR_API wr_status wr_table_writer_write_float(wr_table_writer *w,
                                             const float *rows, size_t n_rows);

/** Same as wr_table_writer_write_float for doubles. */
WR_API wr_status wr_table_writer_write_double(wr_table_writer *w,
                                              const double *rows,
                                              size_t n_rows);

/**
 * Flushes, syncs and closes the file, moves it into place, and frees the
 * writer (always, even on error).  Returns WR_ERR_IO when any write, the
 * close or the rename failed (disk full...): then the temporary file is
 * removed and `path` is left as it was.  NULL is a no-op.
 */
WR_API wr_status wr_table_writer_close(wr_table_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_EVENTS_H */
