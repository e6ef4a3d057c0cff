/* tools/demo_report.c -- demo steps 4-5: summary table, results.json, report. */
#include "demo.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
    const char *key, *label, *unit;
} ROWS[S_N] = {
    {"resolution_mag", "recoil |h|/R - pT_V resolution (half 68% width)", "GeV"},
    {"resolution_angle", "recoil angle resolution (half 68% width)", "rad"},
    {"ptw_syst", "pT-W systematic: bias per unit distortion", "MeV"},
    {"z_before", "Z W-like, z-weighted sim - data, before morphing", "MeV"},
    {"z_after", "Z W-like, z-weighted sim - data, after morphing", "MeV"},
    {"w_before", "W bias before correction (gen. reweighted)", "MeV"},
    {"w_before_no_reweight", "W bias before, no reweighting (incl. pT-W)", "MeV"},
    {"w_after", "W residual after correction (gen. reweighted)", "MeV"},
    {"w_after_no_reweight", "W residual after, no reweighting (incl. pT-W)", "MeV"},
    {"identity", "closure: Z sim->sim morpher on W (identity)", "MeV"},
    {"gen_level_z", "closure: W residual with a gen-level-z morpher", "MeV"},
};

static void cell(char *buf, size_t len, double v, double e)
{
    if (!isfinite(v)) snprintf(buf, len, "%s", "n/a");
    else if (!isfinite(e)) snprintf(buf, len, "%.3g", v);
    else snprintf(buf, len, "%.1f +- %.1f", v, e);
}

static void ratio_cell(char *buf, size_t len, const summary_row *r)
{
    double a = r->v[0], b = r->v[1];
    if (!isfinite(a) || !isfinite(b) || b == 0) {
        snprintf(buf, len, "%s", "");
        return;
    }
    double q = a / b;
    if (isfinite(r->e[0]) && isfinite(r->e[1]) && a != 0)
        snprintf(buf, len, "%.2f +- %.2f", q, fabs(q) * sqrt(pow(r->e[0] / a, 2) + pow(r->e[1] / b, 2)));
    else
        snprintf(buf, len, "%.2f", q);
}

static void print_table(const demo *d)
{
    printf("\n== Summary (TK vs MNPk; errors: bootstrap, %ld replicas", d->bootstrap);
    if (d->calib_replicas >= 2)
        printf("; W residuals after correction also the calibration's statistics, %ld "
               "replicas", d->calib_replicas);
    printf(")\n");
    printf("  %-50s %-5s %16s %16s %14s\n", "", "", "TK", "MNPk", "TK / MNPk");
    for (int k = 0; k < S_N; k++) {
        const summary_row *r = &d->sum[k];
        char a[48], b[48], q[48];
        cell(a, sizeof a, r->v[0], r->e[0]);
        cell(b, sizeof b, r->v[1], r->e[1]);
        ratio_cell(q, sizeof q, r);
        if (!r->have) snprintf(a, sizeof a, "n/a"), snprintf(b, sizeof b, "n/a"), q[0] = 0;
        printf("  %-50s %-5s %16s %16s %14s\n", ROWS[k].label, ROWS[k].unit, a, b,
               k <= S_PTW ? q : "");
    }
}

/* Bootstrap error over the size of the effects the table compares. */
static const int EFFECT_ROWS[3] = {S_PTW, S_W_BEFORE, S_Z_BEFORE};

static void print_precision(const demo *d)
{
    printf("  bootstrap error / effect (target <= 1/3):");
    for (int k = 0; k < 3; k++) {
        const summary_row *r = &d->sum[EFFECT_ROWS[k]];
        if (!r->have) continue;
        printf("  %s %.2f (TK), %.2f (MNPk)", ROWS[EFFECT_ROWS[k]].key, r->e[0] / fabs(r->v[0]),
               r->e[1] / fabs(r->v[1]));
    }
    printf("\n");
}

static void summary_json(demo *d)
{
    json *j = &d->res;
    json_obj(j, "error_over_effect");
    for (int k = 0; k < 3; k++) {
        const summary_row *r = &d->sum[EFFECT_ROWS[k]];
        if (!r->have) continue;
        double q[2] = {r->e[0] / fabs(r->v[0]), r->e[1] / fabs(r->v[1])};
        json_nums(j, ROWS[EFFECT_ROWS[k]].key, q, 2);
    }
    json_end_obj(j);
    json_arr(j, "summary");
    for (int k = 0; k < S_N; k++) {
        const summary_row *r = &d->sum[k];
        json_obj(j, NULL);
        json_str(j, "key", ROWS[k].key);
        json_str(j, "label", ROWS[k].label);
        json_str(j, "unit", ROWS[k].unit);
        json_num(j, "tk", r->have ? r->v[0] : NAN);
        json_num(j, "tk_err", r->have ? r->e[0] : NAN);
        json_num(j, "mnpk", r->have ? r->v[1] : NAN);
        json_num(j, "mnpk_err", r->have ? r->e[1] : NAN);
        json_end_obj(j);
    }
    json_end_arr(j);
    json_obj(j, "sizes");
    json_int(j, "w_train", (long long)d->n_train);
    json_int(j, "w_sim", (long long)d->wsim.f.n);
    json_int(j, "w_data", (long long)d->wdata.f.n);
    json_int(j, "z_sim", (long long)d->zsim.f.n);
    json_int(j, "z_sim_second", (long long)d->zsim2.f.n);
    json_int(j, "z_data", (long long)d->zdata.f.n);
    json_int(j, "bootstrap", d->bootstrap);
    json_int(j, "calib_replicas", d->calib_replicas);
    json_int(j, "epochs_max", d->epochs);
    json_int(j, "forest_rounds", d->rounds);
    json_int(j, "data_forest_rounds", d->data_rounds);
    json_end_obj(j);
    json_str(j, "source", d->data_dir ? d->data_dir : "toy");
    json_int(j, "seed", d->seed);
    json_str(j, "libwrecoil", wr_version_string());
    json_arr(j, "notes");
    for (int k = 0; k < d->n_notes; k++) json_str(j, NULL, d->notes[k]);
    json_end_arr(j);
}

/* report.html without figures (the Python report replaces it). */
static int html_table(const demo *d, const char *why)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", d->out);
    FILE *f = fopen(path, "w");
    if (!f) return cli_fail("demo", "cannot write '%s'", path);
    fprintf(f, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>wrecoil demo</title>"
               "</head><body><h1>wrecoil demo: W-mass recoil study</h1>\n"
               "<p><b>Figures not drawn:</b> %s. The numbers are in results.json.</p>\n"
               "<table border=\"1\" cellpadding=\"4\"><tr><th></th><th>unit</th><th>TK</th>"
               "<th>MNPk</th></tr>\n", why);
    for (int k = 0; k < S_N; k++) {
        char a[48], b[48];
        cell(a, sizeof a, d->sum[k].v[0], d->sum[k].e[0]);
        cell(b, sizeof b, d->sum[k].v[1], d->sum[k].e[1]);
        fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", ROWS[k].label,
                ROWS[k].unit, d->sum[k].have ? a : "n/a", d->sum[k].have ? b : "n/a");
    }
    for (int k = 0; k < d->n_notes; k++) fprintf(f, "<p>Note: %s</p>\n", d->notes[k]);
    fprintf(f, "</body></html>\n");
    return fclose(f) ? cli_fail("demo", "writing '%s' failed", path) : 0;
}

/* Directory of the running executable (build/ in the source tree). */
static int exe_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *s = strrchr(buf, '/');
    if (!s) return -1;
    *s = 0;
    return 0;
}

static const char *find_python(void)
{
    const char *p = getenv("WRECOIL_PYTHON");
    if (p && *p) return p;
    if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
    return "python3";
}

/* Runs tools/report.py; returns 0 when it drew the figures. */
static int run_python_report(const demo *d, char *why, size_t len)
{
    char dir[PATH_MAX], script[PATH_MAX + 64], cmd[3 * PATH_MAX + 512];
    const char *env = getenv("WRECOIL_REPORT_SCRIPT");
    if (exe_dir(dir, sizeof dir)) {
        snprintf(why, len, "the location of the wrecoil program is unknown");
        return 1;
    }
    snprintf(script, sizeof script, "%s", env && *env ? env : "");
    if (!*script) snprintf(script, sizeof script, "%s/../tools/report.py", dir);
    if (access(script, R_OK)) {
        snprintf(why, len, "the report script tools/report.py is missing");
        return 1;
    }
    snprintf(cmd, sizeof cmd,
             "PYTHONPATH='%s/../bindings/python'${PYTHONPATH:+:$PYTHONPATH} "
             "WRECOIL_LIBRARY='%s/libwrecoil.so' '%s' '%s' '%s'",
             dir, dir, find_python(), script, d->out);
    int st = system(cmd);
    if (st != 0) {
        snprintf(why, len, "%s tools/report.py failed (exit status %d; Python 3 with numpy and "
                 "matplotlib is needed: apt-get install python3-matplotlib)", find_python(),
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return 1;
    }
    return 0;
}

int demo_report(demo *d)
{
    double secs = cli_now() - d->t0;
    print_table(d);
    print_precision(d);
    summary_json(d);
    json_num(&d->res, "run_seconds", secs);
    json_end_obj(&d->res);
    json_end_obj(&d->plots);
    char path[4096];
    snprintf(path, sizeof path, "%s/results.json", d->out);
    if (json_write("demo", &d->res, path)) return 1;
    snprintf(path, sizeof path, "%s/plotdata/plots.json", d->out);
    if (json_write("demo", &d->plots, path)) return 1;
    printf("\n  results: %s/results.json (%.0f s)\n", d->out, secs);
    char why[1024] = "";
    if (d->no_report) snprintf(why, sizeof why, "--no-report was given");
    if (d->no_report || run_python_report(d, why, sizeof why)) {
        printf("  report: %s/report.html without figures (%s)\n", d->out, why);
        return html_table(d, why);
    }
    printf("  report: %s/report.html with the figures in %s/*.png\n", d->out, d->out);
    return 0;
}
