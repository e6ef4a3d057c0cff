/* tools/recoil.c -- the two-regressor MNPk recoil (ln_e1 and e2s) on tables. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const FEATURES[WR_N_FEATURES] = {
    "h_tk", "phi_tk", "r_ntnpv", "r_m", "r_ltk", "r_lnt", "s_tk", "s_nt", "s_pf",
    "cos_tk_ntnpv", "adphi_tk_ntnpv", "sdphi_tk_pf", "sdphi_tk_ltk", "n_tk", "n_vtx"};

double recoil_sign(double tkx, double tky, double nx, double ny)
{
    if (nx == 0 && ny == 0) return 1.0;
    double d = wr_wrap_angle(atan2(ny, nx) - atan2(tky, tkx));
    return d >= 0 ? 1.0 : -1.0;
}

float *recoil_vectors(const char *cmd, const frame *f, const char *recoil)
{
    char nx[96], ny[96];
    snprintf(nx, sizeof nx, "%s_x", recoil);
    snprintf(ny, sizeof ny, "%s_y", recoil);
    long jx = frame_col(cmd, f, nx, 1), jy = jx < 0 ? -1 : frame_col(cmd, f, ny, 1);
    if (jx < 0 || jy < 0) return NULL;
    float *h = malloc((f->n ? f->n : 1) * 2 * sizeof *h);
    if (!h) {
        cli_fail(cmd, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++) {
        h[2 * i] = (float)f->v[i * f->ncols + (size_t)jx];
        h[2 * i + 1] = (float)f->v[i * f->ncols + (size_t)jy];
    }
    return h;
}

void recoil_train_defaults(recoil_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hidden = "64,64,64";
    o->family = "gaussexp2";
    o->ang_family = "gaussexp2_flat";
    o->activation = "elu";
    o->epochs = 30;
    o->patience = 5;
    o->batch = 256;
    o->threads = 0;
    o->seed = 1;
    o->lr = 0.002;
    o->val_fraction = 0.2;
}

void recoil_model_free(recoil_model *m)
{
    wr_regressor_free(m->mag);
    wr_regressor_free(m->ang);
    m->mag = m->ang = NULL;
}

void recoil_model_paths(const char *prefix, char *mag, char *ang, size_t len)
{
    snprintf(mag, len, "%s.ln_e1.wrm", prefix);
    snprintf(ang, len, "%s.e2s.wrm", prefix);
}

/* PREFIX, or the path of one of its two files. */
static void strip_suffix(const char *prefix, char *out, size_t len)
{
    static const char *const SUF[2] = {".ln_e1.wrm", ".e2s.wrm"};
    snprintf(out, len, "%s", prefix);
    size_t n = strlen(out);
    for (int k = 0; k < 2; k++) {
        size_t m = strlen(SUF[k]);
        if (n > m && !strcmp(out + n - m, SUF[k])) out[n - m] = 0;
    }
}

int recoil_model_load(const char *cmd, const char *prefix_or_file, recoil_model *m)
{
    char pm[4096], pa[4096], prefix[4096];
    strip_suffix(prefix_or_file, prefix, sizeof prefix);
    recoil_model_paths(prefix, pm, pa, sizeof pm);
    m->mag = m->ang = NULL;
    if (wr_regressor_load(pm, &m->mag)) return cli_fail_wr(cmd, "loading '%s'", pm);
    if (wr_regressor_load(pa, &m->ang)) {
        recoil_model_free(m);
        return cli_fail_wr(cmd, "loading '%s'", pa);
    }
    if (wr_regressor_n_features(m->mag) != WR_N_FEATURES ||
        wr_regressor_n_features(m->ang) != WR_N_FEATURES) {
        recoil_model_free(m);
        return cli_fail(cmd, "'%s' is not a recoil model: its regressors do not take "
                        "the %d contract features", prefix, WR_N_FEATURES);
    }
    return 0;
}

int recoil_model_save(const char *cmd, const char *prefix, const recoil_model *m)
{
    char pm[4096], pa[4096];
    recoil_model_paths(prefix, pm, pa, sizeof pm);
    if (wr_regressor_save(m->mag, pm)) return cli_fail_wr(cmd, "saving '%s'", pm);
    if (wr_regressor_save(m->ang, pa)) return cli_fail_wr(cmd, "saving '%s'", pa);
    return 0;
}

static int feature_cols(const char *cmd, const frame *f, long *cols)
{
    for (int k = 0; k < WR_N_FEATURES; k++)
        if ((cols[k] = frame_col(cmd, f, FEATURES[k], 1)) < 0) return 1;
    return 0;
}

/* X (n x 15) of every row; the sign s of each row into s (may be NULL). */
static int table_features(const char *cmd, const frame *f, float *X, double *s)
{
    long c[WR_N_FEATURES], v[4];
    static const char *const VEC[4] = {"tk_x", "tk_y", "ntnpv_x", "ntnpv_y"};
    if (feature_cols(cmd, f, c)) return 1;
    for (int k = 0; s && k < 4; k++)
        if ((v[k] = frame_col(cmd, f, VEC[k], 1)) < 0) return 1;
    for (size_t i = 0; i < f->n; i++) {
        const double *row = f->v + i * f->ncols;
        for (int k = 0; k < WR_N_FEATURES; k++) X[i * WR_N_FEATURES + (size_t)k] = (float)row[c[k]];
        if (s) s[i] = recoil_sign(row[v[0]], row[v[1]], row[v[2]], row[v[3]]);
    }
    return 0;
}

int recoil_inputs(const char *cmd, const frame *f, float **X, float **t_mag,
                  float **t_ang, size_t **keep, size_t *n_keep)
{
    size_t n = f->n ? f->n : 1;
    float *Xa = malloc(n * WR_N_FEATURES * sizeof *Xa);
    double *s = malloc(n * sizeof *s);
    *X = NULL, *t_mag = *t_ang = NULL, *keep = NULL, *n_keep = 0;
    float *tm = malloc(n * sizeof *tm), *ta = malloc(n * sizeof *ta);
    size_t *kp = malloc(n * sizeof *kp);
    long jl = frame_col(cmd, f, "ln_e1", 1), je = jl < 0 ? -1 : frame_col(cmd, f, "e2", 1);
    int rc = (!Xa || !s || !tm || !ta || !kp) ? cli_fail(cmd, "out of memory") : 0;
    if (!rc && (jl < 0 || je < 0)) rc = 1;
    if (!rc) rc = table_features(cmd, f, Xa, s);
    size_t m = 0;
    for (size_t i = 0; !rc && i < f->n; i++) {
        const double *row = f->v + i * f->ncols;
        if (Xa[i * WR_N_FEATURES + WR_F_N_TK] <= 0) continue; /* no TK recoil */
        memmove(Xa + m * WR_N_FEATURES, Xa + i * WR_N_FEATURES, WR_N_FEATURES * sizeof *Xa);
        tm[m] = (float)row[jl];
        ta[m] = (float)(s[i] * row[je]);
        kp[m++] = i;
    }
    free(s);
    if (rc) {
        free(Xa), free(tm), free(ta), free(kp);
        return rc;
    }
    *X = Xa, *t_mag = tm, *t_ang = ta, *keep = kp, *n_keep = m;
    return 0;
}

static int train_one(const char *cmd, const recoil_train_opts *o, const char *target,
                     const char *family, const float *X, const float *t, size_t n,
                     wr_regressor **out)
{
    char kv[512], label[64];
    /* the pedestal of an angle: [-pi, pi] widened to hold (float) pi */
    snprintf(kv, sizeof kv,
             "family=%s hidden=%s activation=%s epochs=%ld patience=%ld batch_size=%ld "
             "learning_rate=%g threads=%ld seed=%ld%s",
             family, o->hidden, o->activation, o->epochs, o->patience, o->batch, o->lr,
             o->threads, o->seed,
             strcmp(family, "gaussexp2_flat") ? "" : " pedestal_lo=-3.1416 pedestal_hi=3.1416");
    wr_regressor *r = NULL;
    if (wr_regressor_create(&r) || wr_regressor_set_params(r, kv)) {
        wr_regressor_free(r);
        return cli_fail_wr(cmd, "regressor parameters '%s'", kv);
    }
    size_t n_val = (size_t)(o->val_fraction * (double)n);
    if (n - n_val < 100) {
        wr_regressor_free(r);
        return cli_fail(cmd, "too few training events with a TK recoil (%zu)", n - n_val);
    }
    size_t n_tr = n - n_val; /* the last rows validate (events are unordered) */
    snprintf(label, sizeof label, "%sfit %s", o->label ? o->label : "", target);
    wr_regressor_set_progress(r, cli_progress, label);
    double t0 = cli_now();
    if (wr_regressor_fit(r, X, n_tr, WR_N_FEATURES, t, NULL, n_val ? X + n_tr * WR_N_FEATURES : NULL,
                         n_val, n_val ? t + n_tr : NULL, NULL)) {
        wr_regressor_free(r);
        return cli_fail_wr(cmd, "training the %s regressor", target);
    }
    wr_regressor_set_progress(r, NULL, NULL);
    int ep = 0, best = 0;
    double nll = NAN;
    wr_regressor_fit_info(r, &ep, &best);
    if (n_val) wr_regressor_nll(r, X + n_tr * WR_N_FEATURES, n_val, WR_N_FEATURES, t + n_tr, NULL, &nll);
    cli_note("%s: %zu training + %zu validation events, %d epochs (best %d), "
             "validation NLL %.4f, %.1f s", target, n_tr, n_val, ep, best, nll, cli_now() - t0);
    *out = r;
    return 0;
}

int recoil_train(const char *cmd, const recoil_train_opts *o, const float *X,
                 const float *t_mag, const float *t_ang, size_t n, recoil_model *m)
{
    m->mag = m->ang = NULL;
    if (train_one(cmd, o, "ln_e1", o->family, X, t_mag, n, &m->mag)) return 1;
    if (train_one(cmd, o, "e2s", o->ang_family, X, t_ang, n, &m->ang)) {
        recoil_model_free(m);
        return 1;
    }
    return 0;
}

static int medians(const char *cmd, const wr_regressor *r, const float *X, size_t n,
                   double *med)
{
    double *sum = malloc((n ? n : 1) * WR_SUMMARY_COUNT * sizeof *sum);
    if (!sum) return cli_fail(cmd, "out of memory");
    if (wr_regressor_summary(r, X, n, WR_N_FEATURES, sum)) {
        free(sum);
        return cli_fail_wr(cmd, "regressor prediction");
    }
    for (size_t i = 0; i < n; i++) med[i] = sum[i * WR_SUMMARY_COUNT + WR_SUMMARY_MEDIAN];
    free(sum);
    return 0;
}

int recoil_apply(const char *cmd, const recoil_model *m, const frame *f, float *h,
                 double *med)
{
    size_t n = f->n ? f->n : 1;
    float *X = malloc(n * WR_N_FEATURES * sizeof *X);
    double *s = malloc(n * sizeof *s), *mm = malloc(n * sizeof *mm),
           *ma = malloc(n * sizeof *ma);
    int rc = (!X || !s || !mm || !ma) ? cli_fail(cmd, "out of memory") : 0;
    if (!rc) rc = table_features(cmd, f, X, s);
    if (!rc) rc = medians(cmd, m->mag, X, f->n, mm);
    if (!rc) rc = medians(cmd, m->ang, X, f->n, ma);
    for (size_t i = 0; !rc && i < f->n; i++) {
        const float *x = X + i * WR_N_FEATURES;
        if (x[WR_F_N_TK] <= 0 || x[WR_F_H_TK] <= 0) {
            h[2 * i] = h[2 * i + 1] = 0.0f;
        } else {
            double mag = x[WR_F_H_TK] * exp(mm[i]);
            double phi = x[WR_F_PHI_TK] + s[i] * ma[i];
            h[2 * i] = (float)(mag * cos(phi));
            h[2 * i + 1] = (float)(mag * sin(phi));
        }
        if (med) med[2 * i] = mm[i], med[2 * i + 1] = ma[i];
    }
    free(X), free(s), free(mm), free(ma);
    return rc;
}
