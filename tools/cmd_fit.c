/* tools/cmd_fit.c -- `wrecoil fit-mass` and `wrecoil syst`. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *recoil, *process, *range, *out, *save;
    long nbins, bootstrap, seed, mass_count, threads;
    double mass_step, true_mass;
} fit_args;

#define FIT_OPTS(a)                                                                         \
    {"recoil", OPT_STR, &(a).recoil, "NAME", "recoil columns NAME_x, NAME_y (tk, pf, mnpk, ...) [tk]"}, \
    {"process", OPT_STR, &(a).process, "W|Z", "W, or Z as W-like (mass 91.1876 GeV) [W]"},   \
    {"bins", OPT_INT, &(a).nbins, "N", "MT bins [50]"},                                     \
    {"range", OPT_STR, &(a).range, "LO:HI", "MT range, GeV [50:100 for W, 60:110 for Z]"},     \
    {"bootstrap", OPT_INT, &(a).bootstrap, "R", "bootstrap replicas for the errors [50]"},   \
    {"seed", OPT_INT, &(a).seed, "S", "bootstrap seed [1]"},                                 \
    {"mass-step", OPT_DBL, &(a).mass_step, "GEV", "mass grid step [0.03]"},                  \
    {"mass-count", OPT_INT, &(a).mass_count, "N", "mass grid points [101]"},                  \
    {"threads", OPT_INT, &(a).threads, "T", "threads, 0 = all cores [0]"},                   \
    {"out", OPT_STR, &(a).out, "FILE", "results as JSON [stdout]"}

static int make_cfg(const char *cmd, const fit_args *a, fit_cfg *c)
{
    int z = !strcmp(a->process, "Z");
    if (!z && strcmp(a->process, "W")) return cli_fail(cmd, "--process must be W or Z");
    fit_cfg_defaults(c, z);
    if (a->range && parse_range(a->range, &c->lo, &c->hi))
        return cli_fail(cmd, "--range '%s' is not LO:HI with LO < HI", a->range);
    if (a->nbins) c->nbins = a->nbins;
    if (a->mass_count) c->mass_count = a->mass_count;
    if (a->mass_step > 0) c->mass_step = a->mass_step;
    c->bootstrap = a->bootstrap;
    c->seed = a->seed;
    c->threads = a->threads;
    return 0;
}

/* Reads a sample: table, recoil, optional weight column. */
static int load_sample(const char *cmd, const char *path, const char *recoil, const char *wcol,
                       uint64_t id_off, frame *f, mt_sample *s)
{
    if (frame_read(cmd, path, f)) return 1;
    float *h = recoil_vectors(cmd, f, recoil);
    double *w = NULL;
    int rc = h ? 0 : 1;
    if (!rc && wcol && !(w = frame_column(cmd, f, wcol))) rc = 1;
    if (!rc) rc = mt_sample_make(cmd, f, h, w, id_off, s);
    free(h), free(w);
    return rc;
}

static void write_scan(json *j, const wr_template_fit *tf)
{
    size_t n = wr_tfit_scan_size(tf);
    double *m = malloc((n ? n : 1) * sizeof *m), *l = malloc((n ? n : 1) * sizeof *l);
    if (m && l && !wr_tfit_scan(tf, m, l, n)) {
        json_nums(j, "scan_mass_gev", m, n);
        json_nums(j, "scan_m2lnl", l, n);
    }
    free(m), free(l);
}

int cmd_fit_mass(int argc, char **argv)
{
    fit_args a = {"tk", "W", NULL, "-", NULL, 0, 50, 1, 0, 0, 0, NAN};
    const char *tpl = NULL, *data = NULL, *tw = NULL, *dw = NULL;
    const cli_opt opts[] = {
        {"templates", OPT_STR, &tpl, "FILE", "simulated events for the templates (required)"},
        {"data", OPT_STR, &data, "FILE", "pseudo-data events (required)"},
        {"weights", OPT_STR, &tw, "COL", "weight column of the templates [none]"},
        {"data-weights", OPT_STR, &dw, "COL", "weight column of the pseudo-data [none]"},
        {"true-mass", OPT_DBL, &a.true_mass, "GEV", "mass of the pseudo-data [reference mass]"},
        {"save", OPT_STR, &a.save, "FILE", "save the filled template fit (model file)"},
        FIT_OPTS(a),
    };
    const cli_cmd cmd = {
        "fit-mass",
        "Fits the boson mass of a pseudo-data sample with MT templates of a simulated\n"
        "sample (Breit-Wigner reweighted over the mass grid) and reports the bias\n"
        "in MeV with its bootstrap error. The same file as templates and data keeps\n"
        "the events' correlation (shared bootstrap weights).",
        "usage: wrecoil fit-mass --templates FILE --data FILE [options]", NULL, opts,
        sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need(cmd.name, "templates", tpl) || cli_need(cmd.name, "data", data)) return 2;
    fit_cfg c;
    if (make_cfg(cmd.name, &a, &c)) return 2;
    if (isnan(a.true_mass)) a.true_mass = c.ref_mass;
    uint64_t off = strcmp(tpl, data) ? (uint64_t)1 << 40 : 0;
    frame ft = {0}, fd = {0};
    mt_sample st = {0}, sd = {0};
    wr_template_fit *tf = NULL;
    fit_result res;
    r = load_sample(cmd.name, tpl, a.recoil, tw, 0, &ft, &st);
    if (!r) r = load_sample(cmd.name, data, a.recoil, dw, off, &fd, &sd);
    if (!r && !(tf = fit_create(cmd.name, &c))) r = 1;
    if (!r) r = fit_add_templates(cmd.name, tf, &st);
    if (!r) r = fit_add_data(cmd.name, tf, 0, &sd, NULL);
    if (!r) r = fit_bias(cmd.name, tf, 0, a.true_mass, &res);
    if (!r) {
        json j;
        json_init(&j);
        json_obj(&j, NULL);
        json_str(&j, "recoil", a.recoil);
        json_int(&j, "n_templates", (long long)st.n);
        json_int(&j, "n_data", (long long)sd.n);
        json_num(&j, "true_mass_gev", a.true_mass);
        fit_json(&j, "fit", &res);
        write_scan(&j, tf);
        json_end_obj(&j);
        r = json_write(cmd.name, &j, a.out);
        json_free(&j);
        fprintf(stderr, "fit-mass (%s): bias %.1f +- %.1f MeV (stat. width %.1f MeV)\n",
                a.recoil, res.bias, res.err, 1000 * res.width);
    }
    if (!r && a.save && wr_tfit_save(tf, a.save)) r = cli_fail_wr(cmd.name, "saving '%s'", a.save);
    wr_tfit_free(tf);
    mt_sample_free(&st), mt_sample_free(&sd);
    frame_free(&ft), frame_free(&fd);
    return r;
}

static int syst_run(const char *cmd, const frame *f, const mt_sample *s, const fit_cfg *c,
                    const double *eps, long ne, double cap, json *j)
{
    double *fv = malloc((f->n ? f->n : 1) * sizeof *fv), *wj = malloc((f->n ? f->n : 1) * sizeof *wj);
    double bias[64], err[64], slope = NAN, slope_err = NAN;
    wr_template_fit *tf = fit_create(cmd, c);
    int rc = (!fv || !wj) ? cli_fail(cmd, "out of memory") : !tf;
    if (!rc) rc = pt_distortion(cmd, f, cap, fv);
    if (!rc) rc = fit_add_templates(cmd, tf, s);
    for (long k = 0; !rc && k < ne; k++) {
        for (size_t i = 0; i < f->n; i++) {
            wj[i] = 1.0 + eps[k] * fv[i];
            if (wj[i] < 0) wj[i] = 0;
        }
        rc = fit_add_data(cmd, tf, (size_t)k, s, wj);
    }
    wr_tfit_set_progress(tf, cli_progress, "syst bootstrap");
    if (!rc && wr_tfit_syst(tf, eps, (size_t)ne, c->ref_mass, bias, err, &slope, &slope_err))
        rc = cli_fail_wr(cmd, "bias per unit distortion");
    if (!rc) {
        json_nums(j, "eps", eps, (size_t)ne);
        json_nums(j, "bias_mev", bias, (size_t)ne);
        json_nums(j, "bias_err_mev", err, (size_t)ne);
        json_num(j, "slope_mev", slope);
        json_num(j, "slope_err_mev", slope_err);
        fprintf(stderr, "syst: %.1f +- %.1f MeV per unit distortion\n", slope, slope_err);
    }
    wr_tfit_free(tf);
    free(fv), free(wj);
    return rc;
}

int cmd_syst(int argc, char **argv)
{
    fit_args a = {"tk", "W", NULL, "-", NULL, 0, 50, 1, 0, 0, 0, NAN};
    const char *in = NULL, *eps_s = "-0.2,-0.1,0,0.1,0.2";
    double cap = 50, eps[64];
    const cli_opt opts[] = {
        {"in", OPT_STR, &in, "FILE", "simulated events: templates and (reweighted) pseudo-data (required)"},
        {"eps", OPT_STR, &eps_s, "E,E,..", "distortion sizes [-0.2,-0.1,0,0.1,0.2]"},
        {"pt-cap", OPT_DBL, &cap, "GEV", "pT_V above which the distortion stays flat [50]"},
        FIT_OPTS(a),
    };
    const cli_cmd cmd = {
        "syst",
        "Bias on the mass per unit discrepancy: the pseudo-data are the simulated events\n"
        "reweighted by 1 + eps f(pT_V), f = min(pT_V, cap)/<min(pT_V, cap)> - 1 (a tilt\n"
        "of the pT_V spectrum), fitted with the undistorted templates for every eps;\n"
        "slope and errors from a line through the biases in every bootstrap replica.",
        "usage: wrecoil syst --in FILE [options]", NULL, opts, sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need(cmd.name, "in", in)) return 2;
    long ne = parse_list(eps_s, eps, 64);
    if (ne < 2) return 2 * cli_fail(cmd.name, "--eps needs 2 to 64 comma-separated numbers");
    if (!(cap > 0)) return 2 * cli_fail(cmd.name, "--pt-cap must be positive");
    fit_cfg c;
    if (make_cfg(cmd.name, &a, &c)) return 2;
    c.data_sets = ne;
    frame f = {0};
    mt_sample s = {0};
    r = load_sample(cmd.name, in, a.recoil, NULL, 0, &f, &s);
    json j;
    json_init(&j);
    json_obj(&j, NULL);
    json_str(&j, "recoil", a.recoil);
    json_int(&j, "n_events", (long long)f.n);
    json_num(&j, "pt_cap_gev", cap);
    if (!r) r = syst_run(cmd.name, &f, &s, &c, eps, ne, cap, &j);
    json_end_obj(&j);
    if (!r) r = json_write(cmd.name, &j, a.out);
    json_free(&j);
    mt_sample_free(&s);
    frame_free(&f);
    return r;
}
