/* tools/demo.h -- internal state of `wrecoil demo`. */
#ifndef WRECOIL_DEMO_H
#define WRECOIL_DEMO_H

#include "analysis.h"

enum { RC_TK = 0, RC_PF, RC_MNPK, RC_N };
extern const char *const RC_NAME[RC_N];
extern const char *const RC_LABEL[RC_N];

/* One event sample: its table, recoils and boson vectors. */
typedef struct {
    const char *label;
    frame f;
    float *h[RC_N];     /* recoil vectors n x 2 (mnpk after step 1) */
    float *vgen, *zgen; /* generator boson pT vector and z = (pT, pL) */
    float *vreco, *zreco; /* Z only: from the two muons */
    double *vpt;        /* generator pT_V */
    int is_z;
} sample;

#define N_PT_BINS 5
extern const double PT_EDGES[N_PT_BINS + 1];

/* A row of the summary table: value and error for TK and MNPk. */
typedef struct {
    const char *key, *label, *unit;
    double v[2], e[2]; /* [0] TK, [1] MNPk; NaN when not measured */
    int have;
} summary_row;

enum {
    S_RES_MAG, S_RES_ANG, S_PTW, S_Z_BEFORE, S_Z_AFTER, S_W_BEFORE, S_W_BEFORE_NORW,
    S_W_AFTER, S_W_AFTER_NORW, S_IDENTITY, S_GENZ, S_N
};

typedef struct {
    /* options */
    long events, seed, threads, epochs, rounds, data_rounds, bootstrap, z_train, calib_replicas;
    const char *out, *data_dir, *morph_kv, *forest_kv, *data_forest_kv, *sim_set, *data_set;
    int no_report;
    /* sizes */
    size_t n_train, n_wsim, n_wdata, n_zsim, n_zdata;
    size_t n_zsim2, n_ztrain; /* Z closure sample; Z data rows used to train the morpher */
    /* samples */
    sample wtrain, wsim, wdata, zsim, zsim2, zdata;
    int have_wdata, have_morph;
    int paired; /* toy: W data / Z data share the random streams of W sim / Z sim (2nd) */
    double *wgen; /* W sim -> W data generator-level weights (n_wsim) */
    recoil_model rm;
    json res, plots;
    summary_row sum[S_N];
    char notes[8][256];
    int n_notes;
    double t0;
} demo;

void sample_free(sample *s);
/* Step 0: the samples (toy or --data-dir). */
int demo_samples(demo *d);
/* Step 1: recoil definition. */
int demo_recoil(demo *d);
/* Step 2: pT-W systematic. */
int demo_ptw(demo *d);
/* Step 3: calibration with Z events. */
int demo_calib(demo *d);
/* Steps 4-5: table, results.json, report. */
int demo_report(demo *d);

void demo_note(demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void demo_step(const demo *d, const char *title);
/* Writes a CSV of k columns (col-major arrays of n doubles) to OUT/name. */
int demo_csv(const demo *d, const char *name, size_t n, size_t k, const char *const *names,
             const double *const *cols);
void sum_set(demo *d, int row, int rc, double v, double e);

#endif
