/* tools/cmd_info.c -- `wrecoil info`: describe a model file. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma weak wr_morpher_load
#pragma weak wr_morpher_free
#pragma weak wr_morpher_n_y
#pragma weak wr_morpher_n_z
#pragma weak wr_morpher_n_levels
#pragma weak wr_morpher_levels
#pragma weak wr_morpher_get_bounds
#pragma weak wr_morpher_get_param
#pragma weak wr_morpher_get_forest_params

static void show_param(const char *key, wr_status st, const char *buf)
{
    if (!st) printf("  %-20s %s\n", key, buf);
}

static int info_regressor(const char *path)
{
    wr_regressor *r;
    if (wr_regressor_load(path, &r)) return cli_fail_wr("info", "loading '%s'", path);
    char b[256];
    int ep = 0, best = 0;
    printf("  %-20s %s\n", "pdf family", wr_pdf_family_name(wr_regressor_family(r)));
    printf("  %-20s %zu\n", "features", wr_regressor_n_features(r));
    static const char *const K[] = {"hidden", "activation", "epochs", "batch_size",
                                    "learning_rate", "lr_schedule", "patience", "seed"};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
        show_param(K[i], wr_regressor_get_param(r, K[i], b, sizeof b), b);
    if (!wr_regressor_fit_info(r, &ep, &best) && ep)
        printf("  %-20s %d (best %d)\n", "epochs run", ep, best);
    wr_regressor_free(r);
    return 0;
}

static int info_forest(const char *path)
{
    wr_quantile_forest *f;
    if (wr_qforest_load(path, &f)) return cli_fail_wr("info", "loading '%s'", path);
    size_t nl = wr_qforest_n_levels(f);
    double lv[256];
    printf("  %-20s %zu\n", "features", wr_qforest_n_features(f));
    printf("  %-20s %zu\n", "rounds kept", wr_qforest_n_rounds(f));
    if (nl <= 256 && !wr_qforest_levels(f, lv, nl)) {
        printf("  %-20s %zu:", "quantile levels", nl);
        for (size_t i = 0; i < nl; i++) printf(" %g", lv[i]);
        printf("\n");
    }
    char b[256];
    static const char *const K[] = {"rounds", "max_leaves", "learning_rate", "multi"};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
        show_param(K[i], wr_qforest_get_param(f, K[i], b, sizeof b), b);
    wr_qforest_free(f);
    return 0;
}

static int info_morpher(const char *path)
{
    if (!wr_morpher_load) return cli_fail("info", "this libwrecoil has no wr_morpher to read '%s'", path);
    wr_morpher *m;
    if (wr_morpher_load(path, &m)) return cli_fail_wr("info", "loading '%s'", path);
    printf("  %-20s %zu (y) given %zu (z)\n", "variables", wr_morpher_n_y(m), wr_morpher_n_z(m));
    size_t nl = wr_morpher_n_levels(m);
    double lv[256];
    if (nl <= 256 && !wr_morpher_levels(m, lv, nl)) {
        printf("  %-20s %zu:", "quantile levels", nl);
        for (size_t i = 0; i < nl; i++) printf(" %g", lv[i]);
        printf("\n");
    }
    for (size_t j = 0; j < wr_morpher_n_y(m); j++) {
        double lo, hi;
        if (!wr_morpher_get_bounds(m, j, &lo, &hi)) printf("  bounds of y%-9zu [%g, %g]\n", j, lo, hi);
    }
    char b[1024];
    show_param("interpolation", wr_morpher_get_param(m, "interpolation", b, sizeof b), b);
    show_param("forests (sim)", wr_morpher_get_forest_params(m, WR_MORPH_SIM, b, sizeof b), b);
    show_param("forests (data)", wr_morpher_get_forest_params(m, WR_MORPH_DATA, b, sizeof b), b);
    wr_morpher_free(m);
    return 0;
}

static int info_tfit(const char *path)
{
    wr_template_fit *tf;
    if (wr_tfit_load(path, &tf)) return cli_fail_wr("info", "loading '%s'", path);
    size_t nb = wr_tfit_n_bins(tf), nm = wr_tfit_n_masses(tf);
    printf("  %-20s %zuD, %zu bins\n", "binning", wr_tfit_dim(tf), nb);
    for (int ax = 0; ax < (int)wr_tfit_dim(tf); ax++) {
        size_t ne = wr_tfit_n_edges(tf, ax);
        double *e = malloc(ne * sizeof *e);
        if (e && !wr_tfit_edges(tf, ax, e, ne))
            printf("  axis %d               %zu edges from %g to %g\n", ax, ne, e[0], e[ne - 1]);
        free(e);
    }
    double *ms = malloc((nm ? nm : 1) * sizeof *ms), *h = malloc((nb ? nb : 1) * sizeof *h);
    if (ms && !wr_tfit_masses(tf, ms, nm))
        printf("  %-20s %zu masses, %.4f to %.4f GeV\n", "mass grid", nm, ms[0], ms[nm - 1]);
    double tot = 0;
    if (h && !wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, nm / 2, h, nb)) {
        for (size_t i = 0; i < nb; i++) tot += h[i];
        printf("  %-20s %g (at the central mass)\n", "template sum of w", tot);
    }
    tot = 0;
    if (h && !wr_tfit_histogram(tf, WR_TFIT_DATA, 0, h, nb)) {
        for (size_t i = 0; i < nb; i++) tot += h[i];
        printf("  %-20s %g (data set 0)\n", "data sum of w", tot);
    }
    free(ms), free(h);
    char b[256];
    static const char *const K[] = {"ref_mass", "ref_width", "bootstrap", "data_sets", "norm", "bb_lite"};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
        show_param(K[i], wr_tfit_get_param(tf, K[i], b, sizeof b), b);
    wr_tfit_free(tf);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    const cli_opt opts[] = {
        {"model", OPT_STR, &path, "FILE", "model file (or give it as the argument)"},
    };
    const cli_cmd cmd = {"info", "Describes a libwrecoil model file: kind, format version and the "
                         "kind's\nparameters (regressor, quantile forest, morpher, template fit).",
                         "usage: wrecoil info FILE", NULL, opts, sizeof opts / sizeof opts[0], &path};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (!path) return 2 * cli_fail("info", "name a model file (see wrecoil info --help)");
    int kind = 0;
    uint32_t ver = 0;
    if (wr_model_inspect_file(path, &kind, &ver)) return cli_fail_wr("info", "'%s'", path);
    printf("%s: %s model, payload version %u (libwrecoil %s)\n", path, wr_model_kind_name(kind),
           (unsigned)ver, wr_version_string());
    switch (kind) {
    case WR_KIND_REGRESSOR: return info_regressor(path);
    case WR_KIND_QUANTILE_FOREST: return info_forest(path);
    case WR_KIND_MORPHER: return info_morpher(path);
    case WR_KIND_TEMPLATE_FIT: return info_tfit(path);
    default: return 0;
    }
}
