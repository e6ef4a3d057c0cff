/* tools/analysis.c -- MT template fits and recoil observables. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MUON_MASS 0.1056583755

void fit_cfg_defaults(fit_cfg *c, int z)
{
    memset(c, 0, sizeof *c);
    c->nbins = 50;
    c->lo = z ? 60 : 50;
    c->hi = z ? 110 : 100;
    c->ref_mass = z ? 91.1876 : 80.385;
    c->ref_width = z ? 2.4952 : 2.085;
    c->mass_step = 0.03;
    c->mass_count = 101;
    c->bootstrap = 50;
    c->seed = 1;
    c->data_sets = 1;
    c->threads = 0;
}

void mt_sample_free(mt_sample *s)
{
    free(s->mt), free(s->mgen), free(s->w), free(s->id);
    memset(s, 0, sizeof *s);
}

int mt_sample_make(const char *cmd, const frame *f, const float *h, const double *w,
                   uint64_t id_offset, mt_sample *s)
{
    memset(s, 0, sizeof *s);
    size_t n = f->n, m = n ? n : 1;
    long cpt = frame_col(cmd, f, "l_pt", 1), cph = cpt < 0 ? -1 : frame_col(cmd, f, "l_phi", 1),
         cm = cph < 0 ? -1 : frame_col(cmd, f, "v_m", 1), ce = cm < 0 ? -1 : frame_col(cmd, f, "ev", 1);
    if (ce < 0) return 1;
    float *lpt = malloc(m * sizeof *lpt), *lph = malloc(m * sizeof *lph), *mt = malloc(m * sizeof *mt);
    s->mt = malloc(m * sizeof *s->mt), s->mgen = malloc(m * sizeof *s->mgen);
    s->id = malloc(m * sizeof *s->id), s->w = w ? malloc(m * sizeof *s->w) : NULL;
    int rc = (!lpt || !lph || !mt || !s->mt || !s->mgen || !s->id || (w && !s->w))
                 ? cli_fail(cmd, "out of memory") : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const double *r = f->v + i * f->ncols;
        lpt[i] = (float)r[cpt], lph[i] = (float)r[cph];
        s->mgen[i] = r[cm];
        s->id[i] = (uint64_t)r[ce] + id_offset;
        if (w) s->w[i] = w[i];
    }
    if (!rc && wr_transverse_mass(n, lpt, lph, h, 2, mt)) rc = cli_fail_wr(cmd, "transverse mass");
    for (size_t i = 0; !rc && i < n; i++) s->mt[i] = mt[i];
    s->n = n;
    free(lpt), free(lph), free(mt);
    if (rc) mt_sample_free(s);
    return rc;
}

wr_template_fit *fit_create(const char *cmd, const fit_cfg *c)
{
    wr_template_fit *tf = NULL;
    char kv[512];
    snprintf(kv, sizeof kv,
             "mass_center=%.6f mass_step=%.6f mass_count=%ld ref_mass=%.6f ref_width=%.6f "
             "bootstrap=%ld seed=%ld data_sets=%ld threads=%ld",
             c->ref_mass, c->mass_step, c->mass_count, c->ref_mass, c->ref_width, c->bootstrap,
             c->seed, c->data_sets, c->threads);
    if (wr_tfit_create_uniform((size_t)c->nbins, c->lo, c->hi, 0, 0, 0, &tf) ||
        wr_tfit_set_params(tf, kv)) {
        cli_fail_wr(cmd, "template fit (%s)", kv);
        wr_tfit_free(tf);
        return NULL;
    }
    return tf;
}

int fit_add_templates(const char *cmd, wr_template_fit *tf, const mt_sample *s)
{
    if (wr_tfit_add_templates(tf, s->mt, s->mgen, s->w, s->id, s->n))
        return cli_fail_wr(cmd, "filling templates");
    return 0;
}

int fit_add_data(const char *cmd, wr_template_fit *tf, size_t set, const mt_sample *s,
                 const double *extra)
{
    double *w = NULL;
    if (extra) {
        w = malloc((s->n ? s->n : 1) * sizeof *w);
        if (!w) return cli_fail(cmd, "out of memory");
        for (size_t i = 0; i < s->n; i++) w[i] = (s->w ? s->w[i] : 1.0) * extra[i];
    }
    wr_status st = wr_tfit_add_data(tf, set, s->mt, w ? w : s->w, s->id, s->n);
    free(w);
    if (st) return cli_fail_wr(cmd, "filling pseudo-data");
    return 0;
}

int fit_bias(const char *cmd, wr_template_fit *tf, size_t set, double true_mass, fit_result *r)
{
    r->bias = r->err = r->mass = r->width = r->calib = NAN;
    if (wr_tfit_fit(tf, set, true_mass, &r->mass, &r->width, &r->bias))
        return cli_fail_wr(cmd, "template fit");
    char b[32];
    long R = 0;
    if (!wr_tfit_get_param(tf, "bootstrap", b, sizeof b)) R = strtol(b, NULL, 10);
    if (R >= 2 && wr_tfit_bootstrap(tf, set, true_mass, NULL, 0, NULL, &r->err))
        return cli_fail_wr(cmd, "bootstrap of the template fit");
    return 0;
}

double fit_total_err(const fit_result *r)
{
    return isfinite(r->calib) ? sqrt(r->err * r->err + r->calib * r->calib) : r->err;
}

void fit_json(json *j, const char *key, const fit_result *r)
{
    json_obj(j, key);
    json_num(j, "bias_mev", r->bias);
    json_num(j, "err_mev", r->err);
    json_num(j, "mass_gev", r->mass);
    json_num(j, "stat_width_mev", 1000 * r->width);
    if (isfinite(r->calib)) {
        json_num(j, "calib_err_mev", r->calib);
        json_num(j, "total_err_mev", fit_total_err(r));
    }
    json_end_obj(j);
}

int recoil_to_y(const char *cmd, size_t n, const float *h, const float *v, float *y)
{
    if (wr_recoil_y(n, h, 2, v, 2, y)) return cli_fail_wr(cmd, "recoil observables y");
    return 0;
}

void y_to_recoil(size_t n, const float *y, const float *v, float *h)
{
    for (size_t i = 0; i < n; i++) {
        double vx = v[2 * i], vy = v[2 * i + 1];
        double ref = (vx == 0 && vy == 0) ? M_PI : atan2(-vy, -vx);
        double phi = ref + y[2 * i + 1];
        h[2 * i] = (float)(y[2 * i] * cos(phi));
        h[2 * i + 1] = (float)(y[2 * i] * sin(phi));
    }
}

static int reco_boson(const char *cmd, const frame *f, float *v, float *z)
{
    static const char *const C[6] = {"l_pt", "l2_pt", "l_eta", "l2_eta", "l_phi", "l2_phi"};
    long c[6];
    for (int k = 0; k < 6; k++)
        if ((c[k] = frame_col(cmd, f, C[k], 1)) < 0) return 1;
    size_t n = f->n, m = n ? n : 1;
    float *pt = malloc(m * 2 * sizeof *pt), *eta = malloc(m * 2 * sizeof *eta),
          *phi = malloc(m * 2 * sizeof *phi), *b = malloc(m * WR_N_BOSON * sizeof *b);
    int rc = (!pt || !eta || !phi || !b) ? cli_fail(cmd, "out of memory") : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const double *r = f->v + i * f->ncols;
        if (r[c[1]] <= 0) {
            rc = cli_fail(cmd, "event row %zu has no second muon (l2_pt = 0): "
                          "z from the muons needs Z events (use --z gen for W)", i + 1);
            break;
        }
        for (int k = 0; k < 2; k++) {
            pt[2 * i + (size_t)k] = (float)r[c[k]];
            eta[2 * i + (size_t)k] = (float)r[c[2 + k]];
            phi[2 * i + (size_t)k] = (float)r[c[4 + k]];
        }
    }
    if (!rc && wr_boson_from_leptons(n, pt, eta, phi, MUON_MASS, MUON_MASS, b))
        rc = cli_fail_wr(cmd, "boson from the muons");
    for (size_t i = 0; !rc && i < n; i++) {
        const float *bb = b + i * WR_N_BOSON;
        v[2 * i] = (float)(bb[WR_V_PT] * cos(bb[WR_V_PHI]));
        v[2 * i + 1] = (float)(bb[WR_V_PT] * sin(bb[WR_V_PHI]));
        if (z) z[2 * i] = bb[WR_V_PT], z[2 * i + 1] = bb[WR_V_PL];
    }
    free(pt), free(eta), free(phi), free(b);
    return rc;
}

int boson_vectors(const char *cmd, const frame *f, const char *which, float *v, float *z)
{
    if (!strcmp(which, "reco")) return reco_boson(cmd, f, v, z);
    if (strcmp(which, "gen"))
        return cli_fail(cmd, "boson level '%s' is not gen or reco", which);
    long cp = frame_col(cmd, f, "v_pt", 1), cf = cp < 0 ? -1 : frame_col(cmd, f, "v_phi", 1),
         cz = cf < 0 ? -1 : frame_col(cmd, f, "v_pz", 1);
    if (cz < 0) return 1;
    for (size_t i = 0; i < f->n; i++) {
        const double *r = f->v + i * f->ncols;
        v[2 * i] = (float)(r[cp] * cos(r[cf]));
        v[2 * i + 1] = (float)(r[cp] * sin(r[cf]));
        if (z) z[2 * i] = (float)r[cp], z[2 * i + 1] = (float)r[cz];
    }
    return 0;
}

int pt_distortion(const char *cmd, const frame *f, double cap, double *fv)
{
    long cp = frame_col(cmd, f, "v_pt", 1);
    if (cp < 0) return 1;
    double sum = 0;
    for (size_t i = 0; i < f->n; i++) {
        double p = f->v[i * f->ncols + (size_t)cp];
        fv[i] = p < cap ? p : cap;
        sum += fv[i];
    }
    double mean = f->n ? sum / (double)f->n : 1.0;
    if (!(mean > 0)) return cli_fail(cmd, "pT_V distortion: mean pT is zero");
    for (size_t i = 0; i < f->n; i++) fv[i] = fv[i] / mean - 1.0;
    return 0;
}
