/* tools/demo_recoil.c -- demo steps 1 (recoil definition) and 2 (pT-W systematic). */
#include "demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_CLOSURE_BINS 40
#define N_PIT_BINS 20

/* ------------------------------------------------------------ training */
static int train_and_apply(demo *d)
{
    float *X, *tm, *ta;
    size_t *keep, n;
    if (recoil_inputs("demo", &d->wtrain.f, &X, &tm, &ta, &keep, &n)) return 1;
    recoil_train_opts o;
    recoil_train_defaults(&o);
    o.epochs = d->epochs, o.threads = d->threads, o.seed = d->seed;
    int rc = recoil_train("demo", &o, X, tm, ta, n, &d->rm);
    free(X), free(tm), free(ta), free(keep);
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/recoil", d->out);
    if (!rc) rc = recoil_model_save("demo", prefix, &d->rm);
    sample *all[6] = {&d->wtrain, &d->wsim, &d->wdata, &d->zsim, &d->zsim2, &d->zdata};
    for (int k = 0; !rc && k < 6; k++) {
        sample *s = all[k];
        if (!s->f.n) continue;
        if (!(s->h[RC_MNPK] = malloc(s->f.n * 2 * sizeof(float)))) return cli_fail("demo", "out of memory");
        rc = recoil_apply("demo", &d->rm, &s->f, s->h[RC_MNPK], NULL);
    }
    if (!rc) printf("  MNPk recoil applied to every sample; models in %s.{ln_e1,e2s}.wrm\n", prefix);
    return rc;
}

/* ---------------------------------------------------------- resolution */
static double w68(double *x, size_t n)
{
    if (n < 5) return NAN;
    qsort(x, n, sizeof *x, cmp_double);
    double lo = x[(size_t)(0.15865 * (double)(n - 1))], hi = x[(size_t)(0.84135 * (double)(n - 1))];
    return 0.5 * (hi - lo);
}

static double rms(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    return n ? sqrt(s / (double)n) : NAN;
}

static int pt_bin(double pt)
{
    int b = 0;
    while (b + 1 < N_PT_BINS && pt >= PT_EDGES[b + 1]) b++;
    return b;
}

/* Residuals of one recoil on W sim: |h| / R - pT_V with R the projected
 * response of the pT_V bin (mean projection of h on the true recoil
 * direction over the mean pT_V), and dphi. */
static int residuals(const demo *d, int rc, double *mag, double *ang, double *resp)
{
    const sample *s = &d->wsim;
    size_t n = s->f.n;
    float *y = malloc(n * 2 * sizeof *y);
    double num[N_PT_BINS] = {0}, den[N_PT_BINS] = {0};
    if (!y) return cli_fail("demo", "out of memory");
    if (recoil_to_y("demo", n, s->h[rc], s->vgen, y)) {
        free(y);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int b = pt_bin(s->vpt[i]);
        num[b] += y[2 * i] * cos(y[2 * i + 1]);
        den[b] += s->vpt[i];
    }
    for (int b = 0; b < N_PT_BINS; b++) resp[b] = den[b] > 0 && num[b] > 0 ? num[b] / den[b] : 1.0;
    for (size_t i = 0; i < n; i++) {
        mag[i] = y[2 * i] / resp[pt_bin(s->vpt[i])] - s->vpt[i];
        ang[i] = y[2 * i + 1];
    }
    free(y);
    return 0;
}

static void binned_w68(const demo *d, const double *r, double *scratch, double *out)
{
    const sample *s = &d->wsim;
    for (int b = 0; b < N_PT_BINS; b++) {
        size_t m = 0;
        for (size_t i = 0; i < s->f.n; i++)
            if (s->vpt[i] >= PT_EDGES[b] && s->vpt[i] < PT_EDGES[b + 1]) scratch[m++] = r[i];
        out[b] = w68(scratch, m);
    }
}

static int resolution(demo *d)
{
    size_t n = d->wsim.f.n;
    double *mag[RC_N], *ang[RC_N], *scr = malloc(n * sizeof *scr);
    int rc = scr ? 0 : cli_fail("demo", "out of memory");
    for (int r = 0; r < RC_N; r++) mag[r] = malloc(n * sizeof(double)), ang[r] = malloc(n * sizeof(double));
    double resp[RC_N][N_PT_BINS];
    for (int r = 0; !rc && r < RC_N; r++)
        rc = (!mag[r] || !ang[r]) ? cli_fail("demo", "out of memory")
                                  : residuals(d, r, mag[r], ang[r], resp[r]);
    if (!rc) {
        json_obj(&d->res, "resolution");
        json_nums(&d->res, "pt_edges_gev", PT_EDGES, N_PT_BINS);
        printf("  resolution on W sim (%zu events): half 68%% widths of |h|/R - pT_V (R: projected "
               "response of the bin) and of dphi, bins of pT_V [0,4,10,20,50,inf):\n", n);
        for (int r = 0; r < RC_N; r++) {
            double bm[N_PT_BINS], ba[N_PT_BINS], mrms = rms(mag[r], n), arms = rms(ang[r], n);
            binned_w68(d, mag[r], scr, bm);
            binned_w68(d, ang[r], scr, ba);
            memcpy(scr, mag[r], n * sizeof *scr);
            double am = w68(scr, n);
            memcpy(scr, ang[r], n * sizeof *scr);
            double aa = w68(scr, n);
            json_obj(&d->res, RC_NAME[r]);
            json_nums(&d->res, "response", resp[r], N_PT_BINS);
            json_nums(&d->res, "mag_w68_gev", bm, N_PT_BINS);
            json_nums(&d->res, "ang_w68_rad", ba, N_PT_BINS);
            json_num(&d->res, "mag_w68_all_gev", am);
            json_num(&d->res, "ang_w68_all_rad", aa);
            json_num(&d->res, "mag_rms_all_gev", mrms);
            json_num(&d->res, "ang_rms_all_rad", arms);
            json_end_obj(&d->res);
            printf("    %-5s R: %4.2f %4.2f %4.2f %4.2f %4.2f  |h|/R-pT_V: %5.2f %5.2f %5.2f %5.2f "
                   "%5.2f GeV (all %.2f)  dphi: %4.2f %4.2f %4.2f %4.2f %4.2f rad (all %.2f)\n",
                   RC_LABEL[r], resp[r][0], resp[r][1], resp[r][2], resp[r][3], resp[r][4], bm[0],
                   bm[1], bm[2], bm[3], bm[4], am, ba[0], ba[1], ba[2], ba[3], ba[4], aa);
            if (r != RC_PF) sum_set(d, S_RES_MAG, r == RC_TK ? 0 : 1, am, NAN);
            if (r != RC_PF) sum_set(d, S_RES_ANG, r == RC_TK ? 0 : 1, aa, NAN);
        }
        json_end_obj(&d->res);
        const char *names[7] = {"pt", "mag_tk", "mag_pf", "mag_mnpk", "ang_tk", "ang_pf", "ang_mnpk"};
        const double *cols[7] = {d->wsim.vpt, mag[0], mag[1], mag[2], ang[0], ang[1], ang[2]};
        rc = demo_csv(d, "resolution.csv", n, 7, names, cols);
    }
    for (int r = 0; r < RC_N; r++) free(mag[r]), free(ang[r]);
    free(scr);
    return rc;
}

/* ------------------------------------------------------------- closure */
/* Sum of the predicted pdfs vs the observed histogram of t, and the PIT. */
static int closure_one(demo *d, const wr_regressor *reg, const char *name, const float *X,
                       const float *t, size_t n, double *pit)
{
    int fam = wr_regressor_family(reg);
    size_t k = wr_pdf_n_params(fam);
    double *par = malloc(n * k * sizeof *par), *tv = malloc(n * sizeof *tv);
    double edges[N_CLOSURE_BINS + 1], cdf[N_CLOSURE_BINS + 1], obs[N_CLOSURE_BINS] = {0};
    double expv[N_CLOSURE_BINS], pitc[N_PIT_BINS] = {0};
    if (!par || !tv) {
        free(par), free(tv);
        return cli_fail("demo", "out of memory");
    }
    for (size_t i = 0; i < n; i++) tv[i] = t[i];
    double lo = wquantile(tv, NULL, n, 0.005), hi = wquantile(tv, NULL, n, 0.995);
    for (int b = 0; b <= N_CLOSURE_BINS; b++) edges[b] = lo + (hi - lo) * b / N_CLOSURE_BINS;
    int rc = 0;
    if (wr_regressor_predict(reg, X, n, WR_N_FEATURES, par, k) ||
        wr_pdf_mixture_cdf(fam, par, n, k, NULL, edges, N_CLOSURE_BINS + 1, cdf) ||
        wr_regressor_pit(reg, X, n, WR_N_FEATURES, t, pit))
        rc = cli_fail_wr("demo", "closure of %s", name);
    double chi2 = 0, pchi2 = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        int b = (int)floor((tv[i] - lo) / (hi - lo) * N_CLOSURE_BINS);
        if (b >= 0 && b < N_CLOSURE_BINS) obs[b] += 1;
        int p = (int)(pit[i] * N_PIT_BINS);
        pitc[p < 0 ? 0 : p >= N_PIT_BINS ? N_PIT_BINS - 1 : p] += 1;
    }
    for (int b = 0; b < N_CLOSURE_BINS; b++) {
        expv[b] = (double)n * (cdf[b + 1] - cdf[b]);
        if (expv[b] > 0) chi2 += (obs[b] - expv[b]) * (obs[b] - expv[b]) / expv[b];
    }
    for (int b = 0; b < N_PIT_BINS; b++) {
        double e = (double)n / N_PIT_BINS;
        pchi2 += (pitc[b] - e) * (pitc[b] - e) / e;
    }
    if (!rc) {
        json_obj(&d->res, name);
        json_int(&d->res, "n_events", (long long)n);
        json_num(&d->res, "pdf_sum_chi2_ndf", chi2 / N_CLOSURE_BINS);
        json_num(&d->res, "pit_chi2_ndf", pchi2 / (N_PIT_BINS - 1));
        json_end_obj(&d->res);
        json_obj(&d->plots, name);
        json_nums(&d->plots, "edges", edges, N_CLOSURE_BINS + 1);
        json_nums(&d->plots, "mixture_cdf", cdf, N_CLOSURE_BINS + 1);
        json_nums(&d->plots, "observed", obs, N_CLOSURE_BINS);
        json_nums(&d->plots, "expected", expv, N_CLOSURE_BINS);
        json_end_obj(&d->plots);
        printf("  sum-of-pdfs closure %-6s chi2/ndf %.2f (ndf %d); PIT flatness chi2/ndf %.2f "
               "(%zu W sim events)\n", name, chi2 / N_CLOSURE_BINS, N_CLOSURE_BINS,
               pchi2 / (N_PIT_BINS - 1), n);
    }
    free(par), free(tv);
    return rc;
}

static int closure(demo *d)
{
    float *X, *tm, *ta;
    size_t *keep, n;
    if (recoil_inputs("demo", &d->wsim.f, &X, &tm, &ta, &keep, &n)) return 1;
    double *pm = malloc((n ? n : 1) * sizeof *pm), *pa = malloc((n ? n : 1) * sizeof *pa),
           *c0 = malloc((n ? n : 1) * sizeof *c0), *c1 = malloc((n ? n : 1) * sizeof *c1);
    int rc = (!pm || !pa || !c0 || !c1) ? cli_fail("demo", "out of memory") : 0;
    if (!rc) {
        json_obj(&d->res, "closure");
        json_obj(&d->plots, "closure");
        rc = closure_one(d, d->rm.mag, "ln_e1", X, tm, n, pm);
        if (!rc) rc = closure_one(d, d->rm.ang, "e2s", X, ta, n, pa);
        json_end_obj(&d->res);
        json_end_obj(&d->plots);
    }
    for (size_t i = 0; !rc && i < n; i++) c0[i] = tm[i], c1[i] = ta[i];
    const char *names[4] = {"ln_e1", "e2s", "pit_ln_e1", "pit_e2s"};
    const double *cols[4] = {c0, c1, pm, pa};
    if (!rc) rc = demo_csv(d, "targets.csv", n, 4, names, cols);
    free(X), free(tm), free(ta), free(keep), free(pm), free(pa), free(c0), free(c1);
    return rc;
}

int demo_recoil(demo *d)
{
    demo_step(d, "Step 1: recoil definition (MNPk = ln_e1 and e2s regressors on W sim)");
    json_obj(&d->res, "recoil");
    int rc = train_and_apply(d);
    if (!rc) rc = resolution(d);
    if (!rc) rc = closure(d);
    json_end_obj(&d->res);
    return rc;
}

/* ------------------------------------------------------------- pT-W */
#define N_EPS 5
static const double EPS[N_EPS] = {-0.2, -0.1, 0.0, 0.1, 0.2};
#define PT_CAP 50.0

static void mt_plot(demo *d, wr_template_fit *tf, const fit_cfg *c)
{
    size_t nb = wr_tfit_n_bins(tf), nm = wr_tfit_n_masses(tf);
    double *h = malloc(nb * sizeof *h), *ms = malloc(nm * sizeof *ms), edges[512];
    if (!h || !ms || nb + 1 > 512 || wr_tfit_masses(tf, ms, nm) || wr_tfit_edges(tf, 0, edges, nb + 1)) {
        free(h), free(ms);
        return;
    }
    json_nums(&d->plots, "edges", edges, nb + 1);
    size_t idx[3] = {0, nm / 2, nm - 1};
    json_arr(&d->plots, "templates");
    for (int k = 0; k < 3; k++) {
        if (wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, idx[k], h, nb)) continue;
        json_obj(&d->plots, NULL);
        json_num(&d->plots, "mass", ms[idx[k]]);
        json_nums(&d->plots, "counts", h, nb);
        json_end_obj(&d->plots);
    }
    json_end_arr(&d->plots);
    if (!wr_tfit_histogram(tf, WR_TFIT_DATA, N_EPS - 1, h, nb)) json_nums(&d->plots, "data", h, nb);
    json_num(&d->plots, "data_eps", EPS[N_EPS - 1]);
    fit_result fr;
    if (!wr_tfit_fit(tf, N_EPS - 1, c->ref_mass, &fr.mass, &fr.width, &fr.bias)) {
        size_t ns = wr_tfit_scan_size(tf);
        double *sm = malloc(ns * sizeof *sm), *sl = malloc(ns * sizeof *sl);
        if (sm && sl && !wr_tfit_scan(tf, sm, sl, ns)) {
            json_nums(&d->plots, "scan_mass", sm, ns);
            json_nums(&d->plots, "scan_m2lnl", sl, ns);
            json_num(&d->plots, "fit_mass", fr.mass);
            json_num(&d->plots, "fit_width", fr.width);
            json_num(&d->plots, "true_mass", c->ref_mass);
        }
        free(sm), free(sl);
    }
    free(h), free(ms);
}

static int ptw_one(demo *d, int rc_id, double *slope, double *err)
{
    const sample *s = &d->wsim;
    fit_cfg c;
    fit_cfg_defaults(&c, 0);
    c.bootstrap = d->bootstrap, c.seed = d->seed, c.threads = d->threads, c.data_sets = N_EPS;
    mt_sample ms;
    size_t n = s->f.n;
    double *fv = malloc(n * sizeof *fv), *w = malloc(n * sizeof *w), bias[N_EPS], be[N_EPS];
    wr_template_fit *tf = NULL;
    int rc = (!fv || !w) ? cli_fail("demo", "out of memory") : 0;
    if (!rc) rc = mt_sample_make("demo", &s->f, s->h[rc_id], NULL, 0, &ms);
    else memset(&ms, 0, sizeof ms);
    if (!rc) rc = pt_distortion("demo", &s->f, PT_CAP, fv);
    if (!rc && !(tf = fit_create("demo", &c))) rc = 1;
    if (!rc) rc = fit_add_templates("demo", tf, &ms);
    for (int k = 0; !rc && k < N_EPS; k++) {
        for (size_t i = 0; i < n; i++) w[i] = fmax(0.0, 1.0 + EPS[k] * fv[i]);
        rc = fit_add_data("demo", tf, (size_t)k, &ms, w);
    }
    if (!rc && wr_tfit_syst(tf, EPS, N_EPS, c.ref_mass, bias, be, slope, err))
        rc = cli_fail_wr("demo", "pT-W systematic (%s)", RC_LABEL[rc_id]);
    if (!rc) {
        json_obj(&d->res, RC_NAME[rc_id]);
        json_nums(&d->res, "bias_mev", bias, N_EPS);
        json_nums(&d->res, "bias_err_mev", be, N_EPS);
        json_num(&d->res, "slope_mev", *slope);
        json_num(&d->res, "slope_err_mev", *err);
        json_end_obj(&d->res);
        json_obj(&d->plots, RC_NAME[rc_id]);
        json_nums(&d->plots, "bias_mev", bias, N_EPS);
        json_nums(&d->plots, "bias_err_mev", be, N_EPS);
        mt_plot(d, tf, &c);
        json_end_obj(&d->plots);
        printf("  %-5s bias per unit distortion %7.1f +- %.1f MeV  (biases at eps = -0.2..0.2:"
               " %.1f %.1f %.1f %.1f %.1f MeV)\n", RC_LABEL[rc_id], *slope, *err, bias[0], bias[1],
               bias[2], bias[3], bias[4]);
    }
    wr_tfit_free(tf);
    mt_sample_free(&ms);
    free(fv), free(w);
    return rc;
}

int demo_ptw(demo *d)
{
    demo_step(d, "Step 2: pT-W systematic (pT_V spectrum distorted by 1 + eps f(pT_V), MT fits)");
    printf("  f = min(pT_V, %.0f)/<min(pT_V, %.0f)> - 1; W sim %zu events as templates and, "
           "reweighted, as pseudo-data; %ld bootstrap replicas\n", PT_CAP, PT_CAP, d->wsim.f.n,
           d->bootstrap);
    json_obj(&d->res, "ptw_syst");
    json_obj(&d->plots, "ptw_syst");
    json_nums(&d->res, "eps", EPS, N_EPS);
    json_nums(&d->plots, "eps", EPS, N_EPS);
    json_num(&d->res, "pt_cap_gev", PT_CAP);
    double s[2], e[2];
    int rc = ptw_one(d, RC_TK, &s[0], &e[0]);
    if (!rc) rc = ptw_one(d, RC_MNPK, &s[1], &e[1]);
    if (!rc) {
        double ratio = s[0] / s[1];
        double rerr = fabs(ratio) * sqrt(pow(e[0] / s[0], 2) + pow(e[1] / s[1], 2));
        json_num(&d->res, "ratio_tk_mnpk", ratio);
        json_num(&d->res, "ratio_err", rerr);
        printf("  ratio TK / MNPk = %.2f +- %.2f\n", ratio, rerr);
        sum_set(d, S_PTW, 0, s[0], e[0]);
        sum_set(d, S_PTW, 1, s[1], e[1]);
    }
    json_end_obj(&d->res);
    json_end_obj(&d->plots);
    return rc;
}
