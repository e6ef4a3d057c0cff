/* tools/analysis.h -- MT template fits and recoil observables shared by
 * fit-mass, syst, the morph commands and the demo. */
#ifndef WRECOIL_ANALYSIS_H
#define WRECOIL_ANALYSIS_H

#include "cli.h"

/* Template-fit configuration: MT binning, mass grid, bootstrap. */
typedef struct {
    long nbins;
    double lo, hi;           /* MT range (GeV) */
    double ref_mass, ref_width;
    double mass_step;        /* GeV */
    long mass_count;
    long bootstrap;          /* replicas (0: none) */
    long seed;
    long data_sets;
    long threads;
} fit_cfg;

/* W: 80.385 / 2.085; Z (W-like): 91.1876 / 2.4952.  MT 50-100 (W) or
 * 60-110 GeV (Z) in 1 GeV bins, +-1.5 GeV grid in 30 MeV steps, 50 replicas. */
void fit_cfg_defaults(fit_cfg *c, int z);

/* An event sample entering a fit. */
typedef struct {
    size_t n;
    double *mt, *mgen, *w; /* w NULL = all 1 */
    uint64_t *id;
} mt_sample;

void mt_sample_free(mt_sample *s);
/* Builds a sample from an event table and recoil vectors h (n x 2): MT of
 * the muon l (l_pt, l_phi) and h, generator mass v_m, ids from ev plus
 * id_offset, weights w (copied; NULL = 1). */
int mt_sample_make(const char *cmd, const frame *f, const float *h, const double *w,
                   uint64_t id_offset, mt_sample *s);

wr_template_fit *fit_create(const char *cmd, const fit_cfg *c);
int fit_add_templates(const char *cmd, wr_template_fit *tf, const mt_sample *s);
/* Adds the sample as data set `set` with its weights times extra (NULL = 1). */
int fit_add_data(const char *cmd, wr_template_fit *tf, size_t set, const mt_sample *s,
                 const double *extra);

typedef struct {
    double bias, err, mass, width; /* MeV, MeV, GeV, GeV */
    double calib; /* MeV: statistical error of a calibration applied to the
                     templates (NaN: none), added in quadrature to err */
} fit_result;

/* sqrt(err^2 + calib^2), or err without a calibration error. */
double fit_total_err(const fit_result *r);

/* Fits data set `set` against the true mass; err from the bootstrap (NaN
 * without replicas). */
int fit_bias(const char *cmd, wr_template_fit *tf, size_t set, double true_mass,
             fit_result *r);
void fit_json(json *j, const char *key, const fit_result *r);

/* The y = (|h|, dphi) of recoils h (n x 2) against the boson pT vectors v
 * (n x 2); and back: h from y and v. */
int recoil_to_y(const char *cmd, size_t n, const float *h, const float *v, float *y);
void y_to_recoil(size_t n, const float *y, const float *v, float *h);
/* Boson pT vectors: "gen" from v_pt, v_phi; "reco" from the two muons
 * (l_*, l2_*) of a Z.  zout (n x 2, may be NULL) receives z = (pT, pL). */
int boson_vectors(const char *cmd, const frame *f, const char *which, float *v, float *zout);

/* Distortion of the pT_V spectrum: f(pT) = min(pT, cap)/<min(pT, cap)> - 1
 * (the mean over the sample), so that weights 1 + eps f keep the sum. */
int pt_distortion(const char *cmd, const frame *f, double cap, double *fv);

/* ------------------------------------------------------------ morphing */
/* 1 when the loaded libwrecoil provides wr_morpher (weak references). */
int morph_available(void);
/* Fits a morpher of y = (|h|, dphi) given z = (pT, pL): bounds |h| >= 0 and
 * dphi in [-pi, pi]; events with |h| = 0 (no recoil) are left out.
 * forest_kv: forest parameters; data_forest_kv: more parameters of the data
 * side (NULL); morph_kv: more morpher parameters (NULL). */
int morph_fit(const char *cmd, const float *zs, const float *ys, const float *ws, size_t ns,
              const float *zd, const float *yd, const float *wd, size_t nd,
              const char *forest_kv, const char *data_forest_kv, const char *morph_kv,
              long threads, const char *label, wr_morpher **out);
/* Morphs recoils h (n x 2) given boson vectors v and z: hout (n x 2);
 * events with |h| = 0 stay (0, 0). */
int morph_recoil(const char *cmd, const wr_morpher *m, size_t n, const float *h,
                 const float *v, const float *z, float *hout);

#endif
