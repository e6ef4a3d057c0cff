/* tools/demo_calib.c -- demo step 3: calibration with Z events and the W closure. */
#include "demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma weak wr_morpher_free
#pragma weak wr_morpher_save

/* -------------------------------------------------------- reweighting */
static const double ZW_PT[] = {0, 2, 4, 6, 8, 10, 12, 15, 18, 22, 26, 30, 35, 40, 50, 60, 80, 100, 150, INFINITY};
static const double ZW_PL[] = {0, 10, 20, 35, 50, 75, 100, 150, 200, 300, INFINITY};
#define N_ZPT (sizeof ZW_PT / sizeof ZW_PT[0] - 1)
#define N_ZPL (sizeof ZW_PL / sizeof ZW_PL[0] - 1)

static int zbin(const float *z)
{
    int a = 0, b = 0;
    while (a + 1 < (int)N_ZPT && z[0] >= ZW_PT[a + 1]) a++;
    double pl = fabs(z[1]);
    while (b + 1 < (int)N_ZPL && pl >= ZW_PL[b + 1]) b++;
    return a * (int)N_ZPL + b;
}

/* w = p_data(z) / p_sim(z) from 2D histograms in (pT, |pL|), normalised so
 * that the weighted simulation has the data's z marginal. */
static int z_weights(const float *zs, size_t ns, const float *zd, size_t nd, double *w)
{
    double hs[N_ZPT * N_ZPL] = {0}, hd[N_ZPT * N_ZPL] = {0};
    for (size_t i = 0; i < ns; i++) hs[zbin(zs + 2 * i)] += 1;
    for (size_t i = 0; i < nd; i++) hd[zbin(zd + 2 * i)] += 1;
    for (size_t i = 0; i < ns; i++) {
        int b = zbin(zs + 2 * i);
        w[i] = hs[b] > 0 ? (hd[b] / (double)nd) / (hs[b] / (double)ns) : 0.0;
    }
    return 0;
}

/* W sim -> W data at generator level: the toy's densities, or (generator
 * files) histograms of the generator (pT, pL). */
static int gen_weights(demo *d)
{
    size_t n = d->wsim.f.n;
    if (!(d->wgen = malloc(n * sizeof *d->wgen))) return cli_fail("demo", "out of memory");
    if (d->data_dir)
        return z_weights(d->wsim.zgen, n, d->wdata.zgen, d->wdata.f.n, d->wgen);
    double *pt = frame_column("demo", &d->wsim.f, "v_pt"), *pl = frame_column("demo", &d->wsim.f, "v_pz");
    wr_toy *from = NULL, *to = NULL;
    int rc = (!pt || !pl) ? 1 : 0;
    if (!rc && (wr_toy_create("W", "mc", &from) || wr_toy_create("W", "data", &to) ||
                (d->sim_set && wr_toy_set_params(from, d->sim_set)) ||
                (d->data_set && wr_toy_set_params(to, d->data_set)) ||
                wr_toy_gen_weight(from, to, n, pt, pl, d->wgen)))
        rc = cli_fail_wr("demo", "generator-level weights W mc -> W data");
    wr_toy_free(from), wr_toy_free(to);
    free(pt), free(pl);
    return rc;
}

/* ----------------------------------------------------------- fitting */
/* Bias of pseudo-data `data` (recoil hd) fitted with templates of `tpl`
 * (recoil ht, weights wt). shared: the same events (correlated). */
static int bias_fit_r(const demo *d, int is_z, const sample *tpl, const float *ht, const double *wt,
                      const sample *data, const float *hd, int shared, long replicas,
                      fit_result *res)
{
    fit_cfg c;
    fit_cfg_defaults(&c, is_z);
    c.bootstrap = replicas, c.seed = d->seed, c.threads = d->threads;
    mt_sample st, sd = {0};
    wr_template_fit *tf = NULL;
    int rc = mt_sample_make("demo", &tpl->f, ht, wt, 0, &st);
    if (rc) return rc;
    rc = mt_sample_make("demo", &data->f, hd, NULL, shared ? 0 : (uint64_t)1 << 40, &sd);
    if (!rc && !(tf = fit_create("demo", &c))) rc = 1;
    if (!rc) rc = fit_add_templates("demo", tf, &st);
    if (!rc) rc = fit_add_data("demo", tf, 0, &sd, NULL);
    if (!rc) rc = fit_bias("demo", tf, 0, c.ref_mass, res);
    wr_tfit_free(tf);
    mt_sample_free(&st);
    mt_sample_free(&sd);
    return rc;
}

/* The same with the demo's bootstrap replicas (the error of every bias). */
static int bias_fit(const demo *d, int is_z, const sample *tpl, const float *ht, const double *wt,
                    const sample *data, const float *hd, int shared, fit_result *res)
{
    return bias_fit_r(d, is_z, tpl, ht, wt, data, hd, shared, d->bootstrap, res);
}

static void print_bias(const char *what, const char *rc, const fit_result *r)
{
    printf("  %-5s %-52s %8.1f +- %5.1f MeV\n", rc, what, r->bias, r->err);
}

/* --------------------------------------------------------- morphing */
static int fit_morph(const demo *d, const sample *sim, const sample *data, int rc_id, int gen_z,
                     const float *ws, const float *wd, const char *label, wr_morpher **m)
{
    size_t ns = sim->f.n, nd = data->f.n < d->n_ztrain ? data->f.n : d->n_ztrain;
    float *ys = malloc(ns * 2 * sizeof *ys), *yd = malloc(nd * 2 * sizeof *yd);
    const float *vs = gen_z ? sim->vgen : sim->vreco, *vd = gen_z ? data->vgen : data->vreco;
    const float *zs = gen_z ? sim->zgen : sim->zreco, *zd = gen_z ? data->zgen : data->zreco;
    char kv[512], dkv[512], mkv[512];
    /* Smooth forests (docs/cli.md, step 3): the simulation forests with 15
     * leaves of >= 400 events, the data side continuing them with a few
     * small trees (data_forest=from_sim), so the map follows the smooth
     * sim/data difference and not the forests' statistical noise. */
    snprintf(kv, sizeof kv, "rounds=%ld max_leaves=15 min_samples_leaf=400 seed=%ld %s", d->rounds,
             d->seed, d->forest_kv ? d->forest_kv : "");
    /* with --morph data_forest=separate the data forests take the
     * simulation's settings (plus --data-forest) */
    if (d->morph_kv && strstr(d->morph_kv, "data_forest=separate"))
        snprintf(dkv, sizeof dkv, "%s", d->data_forest_kv ? d->data_forest_kv : "");
    else
        snprintf(dkv, sizeof dkv, "rounds=%ld max_leaves=8 min_samples_leaf=2000 %s",
                 d->data_rounds, d->data_forest_kv ? d->data_forest_kv : "");
    snprintf(mkv, sizeof mkv, "data_forest=from_sim %s", d->morph_kv ? d->morph_kv : "");
    int rc = (!ys || !yd) ? cli_fail("demo", "out of memory") : 0;
    if (!rc) rc = recoil_to_y("demo", ns, sim->h[rc_id], vs, ys);
    if (!rc) rc = recoil_to_y("demo", nd, data->h[rc_id], vd, yd);
    double t0 = cli_now();
    if (!rc)
        rc = morph_fit("demo", zs, ys, ws, ns, zd, yd, wd, nd, kv, dkv, mkv, d->threads, label, m);
    if (!rc) cli_note("%s: %.1f s", label, cli_now() - t0);
    free(ys), free(yd);
    return rc;
}

/* Uniform in [0, 1) from a xorshift64 state (non-zero): the demo's own
 * reproducible draws (plot sampling, bootstrap weights of the training). */
static double next_uniform(uint64_t *st)
{
    *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
    return (double)(*st >> 11) * 0x1.0p-53;
}

/* Z closure: z-weighted W-like MT fits of Z sim (second sample) against Z
 * data, with the recoil before and after morphing.  Also the plot data. */
static int z_closure(demo *d, int rc_id, const wr_morpher *m, const double *wz, fit_result *before,
                     fit_result *after)
{
    const sample *s = &d->zsim2;
    size_t n = s->f.n;
    float *hm = malloc(n * 2 * sizeof *hm);
    if (!hm) return cli_fail("demo", "out of memory");
    int rc = morph_recoil("demo", m, n, s->h[rc_id], s->vreco, s->zreco, hm);
    if (!rc) rc = bias_fit(d, 1, s, s->h[rc_id], wz, &d->zdata, d->zdata.h[rc_id], d->paired, before);
    if (!rc) rc = bias_fit(d, 1, s, hm, wz, &d->zdata, d->zdata.h[rc_id], d->paired, after);
    /* plot data: the simulation accepted with probability w_z / max w_z */
    float *yb = malloc(n * 2 * sizeof *yb), *ya = malloc(n * 2 * sizeof *ya);
    double *c[5];
    for (int k = 0; k < 5; k++) c[k] = malloc(n * sizeof(double));
    if (!rc && (!yb || !ya || !c[0] || !c[1] || !c[2] || !c[3] || !c[4])) rc = cli_fail("demo", "out of memory");
    if (!rc) rc = recoil_to_y("demo", n, s->h[rc_id], s->vreco, yb) || recoil_to_y("demo", n, hm, s->vreco, ya);
    double wmax = 0;
    for (size_t i = 0; !rc && i < n; i++) wmax = fmax(wmax, wz[i]);
    size_t k = 0;
    uint64_t st = (uint64_t)d->seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; !rc && i < n; i++) {
        if (next_uniform(&st) * wmax >= wz[i]) continue;
        c[0][k] = s->zreco[2 * i], c[1][k] = yb[2 * i], c[2][k] = yb[2 * i + 1];
        c[3][k] = ya[2 * i], c[4][k] = ya[2 * i + 1];
        k++;
    }
    char name[64];
    const char *nm[5] = {"pt", "h_before", "dphi_before", "h_after", "dphi_after"};
    snprintf(name, sizeof name, "morph_%s_sim.csv", RC_NAME[rc_id]);
    if (!rc) rc = demo_csv(d, name, k, 5, nm, (const double *const *)c);
    const sample *zd = &d->zdata;
    for (size_t i = 0; !rc && i < zd->f.n && i < n; i++) {
        float y[2];
        if (recoil_to_y("demo", 1, zd->h[rc_id] + 2 * i, zd->vreco + 2 * i, y)) rc = 1;
        c[0][i] = zd->zreco[2 * i], c[1][i] = y[0], c[2][i] = y[1];
    }
    const char *nd[3] = {"pt", "h", "dphi"};
    snprintf(name, sizeof name, "morph_%s_data.csv", RC_NAME[rc_id]);
    if (!rc) rc = demo_csv(d, name, zd->f.n < n ? zd->f.n : n, 3, nd, (const double *const *)c);
    for (int j = 0; j < 5; j++) free(c[j]);
    free(yb), free(ya), free(hm);
    return rc;
}

/* W closure with a morpher: W sim recoils morphed given the generator z. */
static int morph_w(const demo *d, int rc_id, const wr_morpher *m, float **hm)
{
    const sample *s = &d->wsim;
    *hm = malloc(s->f.n * 2 * sizeof **hm);
    if (!*hm) return cli_fail("demo", "out of memory");
    return morph_recoil("demo", m, s->f.n, s->h[rc_id], s->vgen, s->zgen, *hm);
}

/* Poisson(1) weights of one bootstrap replica of a training sample
 * (inversion of uniforms from the seed). */
static void poisson_weights(uint64_t seed, size_t n, float *w)
{
    uint64_t st = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    const double p0 = exp(-1.0);
    for (size_t i = 0; i < n; i++) {
        double u = next_uniform(&st), p = p0, c = p0;
        int k = 0;
        while (u > c && k < 30) p /= ++k, c += p;
        w[i] = (float)k;
    }
}

/* Statistical error of the calibration itself: the morpher is refitted on
 * Poisson-bootstrap replicas of both Z training samples, applied to W sim
 * and fitted like the nominal one; err[0] / err[1] are the standard
 * deviations of the residual with / without the generator-level
 * reweighting (NaN without replicas).  The event bootstrap of the fits
 * keeps the morpher fixed, so this part adds in quadrature. */
static int calib_replicas(demo *d, int rc_id, double err[2])
{
    long K = d->calib_replicas;
    err[0] = err[1] = NAN;
    if (K < 2) return 0;
    size_t ns = d->zsim.f.n, nd = d->zdata.f.n < d->n_ztrain ? d->zdata.f.n : d->n_ztrain;
    float *ws = malloc(ns * sizeof *ws + 1), *wd = malloc(nd * sizeof *wd + 1);
    double *b = malloc(2 * (size_t)K * sizeof *b);
    int rc = (!ws || !wd || !b) ? cli_fail("demo", "out of memory") : 0;
    for (long r = 0; !rc && r < K; r++) {
        char label[64];
        snprintf(label, sizeof label, "morpher %s replica %ld/%ld", RC_LABEL[rc_id], r + 1, K);
        uint64_t base = ((uint64_t)d->seed << 20) + (uint64_t)(2 * rc_id * K + 2 * r);
        poisson_weights(base, ns, ws);
        poisson_weights(base + 1, nd, wd);
        wr_morpher *m = NULL;
        float *hm = NULL;
        fit_result f0, f1;
        rc = fit_morph(d, &d->zsim, &d->zdata, rc_id, 0, ws, wd, label, &m);
        if (!rc) rc = morph_w(d, rc_id, m, &hm);
        if (!rc) rc = bias_fit_r(d, 0, &d->wsim, hm, d->wgen, &d->wdata, d->wdata.h[rc_id], d->paired, 0, &f0);
        if (!rc) rc = bias_fit_r(d, 0, &d->wsim, hm, NULL, &d->wdata, d->wdata.h[rc_id], d->paired, 0, &f1);
        if (!rc) b[2 * r] = f0.bias, b[2 * r + 1] = f1.bias;
        if (m) wr_morpher_free(m);
        free(hm);
    }
    for (int j = 0; !rc && j < 2; j++) {
        double mean = 0, ss = 0;
        for (long r = 0; r < K; r++) mean += b[2 * r + j] / (double)K;
        for (long r = 0; r < K; r++) ss += (b[2 * r + j] - mean) * (b[2 * r + j] - mean);
        err[j] = sqrt(ss / (double)(K - 1));
    }
    free(ws), free(wd), free(b);
    return rc;
}

static int w_closure(demo *d, int rc_id, const float *hm, int slot)
{
    fit_result r[4];
    double ce[2];
    const sample *s = &d->wsim, *wd = &d->wdata;
    int rc = bias_fit(d, 0, s, s->h[rc_id], d->wgen, wd, wd->h[rc_id], d->paired, &r[0]);
    if (!rc) rc = bias_fit(d, 0, s, s->h[rc_id], NULL, wd, wd->h[rc_id], d->paired, &r[1]);
    if (!rc) rc = bias_fit(d, 0, s, hm, d->wgen, wd, wd->h[rc_id], d->paired, &r[2]);
    if (!rc) rc = bias_fit(d, 0, s, hm, NULL, wd, wd->h[rc_id], d->paired, &r[3]);
    if (!rc) rc = calib_replicas(d, rc_id, ce);
    if (rc) return rc;
    static const char *const K[4] = {"before", "before_no_reweight", "after", "after_no_reweight"};
    static const char *const L[4] = {
        "W sim vs W data, before correction (gen. reweighted)", "  same without reweighting (incl. pT-W part)",
        "W sim vs W data, after correction (gen. reweighted)", "  same without reweighting (incl. pT-W part)"};
    static const int S[4] = {S_W_BEFORE, S_W_BEFORE_NORW, S_W_AFTER, S_W_AFTER_NORW};
    r[2].calib = ce[0], r[3].calib = ce[1];
    json_obj(&d->res, RC_NAME[rc_id]);
    for (int k = 0; k < 4; k++) {
        fit_json(&d->res, K[k], &r[k]);
        print_bias(L[k], RC_LABEL[rc_id], &r[k]);
        if (isfinite(r[k].calib))
            printf("  %-5s   %-52s +- %5.1f MeV (total +- %.1f)\n", "",
                   "calibration statistics (Z training replicas)", r[k].calib,
                   fit_total_err(&r[k]));
        sum_set(d, S[k], slot, r[k].bias, fit_total_err(&r[k]));
    }
    json_end_obj(&d->res);
    return 0;
}

/* ------------------------------------------------------------ driver */
static int calib_one(demo *d, int rc_id, int slot, const double *wz, wr_morpher **keep)
{
    char label[64], path[4096];
    snprintf(label, sizeof label, "morpher %s Z sim->data", RC_LABEL[rc_id]);
    wr_morpher *m = NULL;
    fit_result zb, za;
    int rc = fit_morph(d, &d->zsim, &d->zdata, rc_id, 0, NULL, NULL, label, &m);
    snprintf(path, sizeof path, "%s/morph_%s.wrm", d->out, RC_NAME[rc_id]);
    if (!rc && wr_morpher_save(m, path)) rc = cli_fail_wr("demo", "saving '%s'", path);
    if (!rc) rc = z_closure(d, rc_id, m, wz, &zb, &za);
    if (!rc) {
        json_obj(&d->res, RC_NAME[rc_id]);
        fit_json(&d->res, "before", &zb);
        fit_json(&d->res, "after", &za);
        json_end_obj(&d->res);
        print_bias("Z (W-like): z-weighted sim - data, before morphing", RC_LABEL[rc_id], &zb);
        print_bias("Z (W-like): z-weighted sim - data, after morphing", RC_LABEL[rc_id], &za);
        sum_set(d, S_Z_BEFORE, slot, zb.bias, zb.err);
        sum_set(d, S_Z_AFTER, slot, za.bias, za.err);
    }
    if (rc && m) wr_morpher_free(m);
    else *keep = m;
    return rc;
}

/* Closure studies with MNPk: Z-to-W identity (sim vs sim morpher applied
 * to W must change nothing) and generator-level z. */
static int closure_studies(demo *d)
{
    wr_morpher *m = NULL;
    float *hm = NULL;
    fit_result r;
    json_obj(&d->res, "closure_studies");
    int rc = fit_morph(d, &d->zsim, &d->zsim2, RC_MNPK, 0, NULL, NULL, "morpher MNPk Z sim->sim", &m);
    if (!rc) rc = morph_w(d, RC_MNPK, m, &hm);
    if (!rc) rc = bias_fit(d, 0, &d->wsim, hm, NULL, &d->wsim, d->wsim.h[RC_MNPK], 1, &r);
    if (!rc) {
        fit_json(&d->res, "identity_z_to_w", &r);
        print_bias("identity: Z sim->sim morpher on W, morphed vs not", "MNPk", &r);
        sum_set(d, S_IDENTITY, 1, r.bias, r.err);
    }
    if (m) wr_morpher_free(m);
    free(hm), m = NULL, hm = NULL;
    if (!rc && d->have_wdata) {
        rc = fit_morph(d, &d->zsim, &d->zdata, RC_MNPK, 1, NULL, NULL, "morpher MNPk gen-level z", &m);
        if (!rc) rc = morph_w(d, RC_MNPK, m, &hm);
        if (!rc) rc = bias_fit(d, 0, &d->wsim, hm, d->wgen, &d->wdata, d->wdata.h[RC_MNPK], d->paired, &r);
        if (!rc) {
            fit_json(&d->res, "after_gen_level_z", &r);
            print_bias("W after correction, morpher with generator-level z", "MNPk", &r);
            sum_set(d, S_GENZ, 1, r.bias, r.err);
        }
        if (m) wr_morpher_free(m);
        free(hm);
    }
    json_end_obj(&d->res);
    return rc;
}

static int calib_all(demo *d)
{
    size_t n = d->zsim2.f.n;
    double *wz = malloc(n * sizeof *wz);
    if (!wz) return cli_fail("demo", "out of memory");
    z_weights(d->zsim2.zreco, n, d->zdata.zreco, d->zdata.f.n, wz);
    int rc = d->have_wdata ? gen_weights(d) : 0;
    wr_morpher *m[2] = {NULL, NULL};
    json_obj(&d->res, "z_closure");
    for (int k = 0; !rc && k < 2; k++) rc = calib_one(d, k ? RC_MNPK : RC_TK, k, wz, &m[k]);
    json_end_obj(&d->res);
    json_obj(&d->res, "w_closure");
    json_bool(&d->res, "available", d->have_wdata);
    for (int k = 0; !rc && d->have_wdata && k < 2; k++) {
        float *hm = NULL;
        int id = k ? RC_MNPK : RC_TK;
        rc = morph_w(d, id, m[k], &hm);
        if (!rc) rc = w_closure(d, id, hm, k);
        free(hm);
    }
    json_end_obj(&d->res);
    for (int k = 0; k < 2; k++)
        if (m[k]) wr_morpher_free(m[k]);
    if (!rc) rc = closure_studies(d);
    free(wz);
    return rc;
}

int demo_calib(demo *d)
{
    demo_step(d, "Step 3: calibration with Z events (morphing y = (|h|, dphi) given z = (pT, pL))");
    json_obj(&d->res, "calibration");
    d->have_morph = morph_available();
    json_bool(&d->res, "available", d->have_morph);
    int rc = 0;
    if (!d->have_morph) {
        demo_note(d, "step 3 not available: this libwrecoil (%s) has no wr_morpher yet", wr_version_string());
    } else {
        printf("  morpher trained on Z sim (%zu) vs Z data (first %zu), z from the muons; Z closure "
               "on the second Z sim sample (%zu) weighted to the data's z vs Z data (%zu); simulation "
               "forests %ld rounds, data forests continue them by %ld (data_forest=from_sim)\n",
               d->zsim.f.n, d->n_ztrain, d->zsim2.f.n, d->zdata.f.n, d->rounds, d->data_rounds);
        rc = calib_all(d);
    }
    json_end_obj(&d->res);
    return rc;
}
