/* tools/cmd_morph.c -- `wrecoil train-morph` and `wrecoil apply-morph`. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* wr_morpher may be missing from an older libwrecoil: referenced weakly,
 * the command then reports morphing as not available instead of failing
 * to start. */
#pragma weak wr_morpher_create
#pragma weak wr_morpher_free
#pragma weak wr_morpher_set_bounds
#pragma weak wr_morpher_set_params
#pragma weak wr_morpher_set_forest_params
#pragma weak wr_morpher_set_progress
#pragma weak wr_morpher_fit
#pragma weak wr_morpher_apply
#pragma weak wr_morpher_save
#pragma weak wr_morpher_load

int morph_available(void)
{
    return wr_morpher_create && wr_morpher_fit && wr_morpher_apply && wr_morpher_load;
}

/* Copies the rows with |h| > 0. */
static size_t keep_rows(const float *z, const float *y, const float *w, size_t n, float *zo,
                        float *yo, float *wo)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(y[2 * i] > 0)) continue;
        zo[2 * m] = z[2 * i], zo[2 * m + 1] = z[2 * i + 1];
        yo[2 * m] = y[2 * i], yo[2 * m + 1] = y[2 * i + 1];
        if (w) wo[m] = w[i];
        m++;
    }
    return m;
}

int morph_fit(const char *cmd, const float *zs, const float *ys, const float *ws, size_t ns,
              const float *zd, const float *yd, const float *wd, size_t nd,
              const char *forest_kv, const char *data_forest_kv, const char *morph_kv,
              long threads, const char *label, wr_morpher **out)
{
    *out = NULL;
    if (!morph_available())
        return cli_fail(cmd, "quantile morphing is not available: this libwrecoil (%s) has no "
                        "wr_morpher", wr_version_string());
    size_t mx = (ns > nd ? ns : nd) + 1;
    float *z1 = malloc(mx * 2 * sizeof *z1), *y1 = malloc(mx * 2 * sizeof *y1),
          *z2 = malloc(mx * 2 * sizeof *z2), *y2 = malloc(mx * 2 * sizeof *y2),
          *w1 = malloc(mx * sizeof *w1), *w2 = malloc(mx * sizeof *w2);
    wr_morpher *m = NULL;
    char kv[512], dkv[1024];
    snprintf(kv, sizeof kv, "threads=%ld %s", threads, morph_kv ? morph_kv : "");
    snprintf(dkv, sizeof dkv, "%s %s", forest_kv ? forest_kv : "", data_forest_kv ? data_forest_kv : "");
    int rc = (!z1 || !y1 || !z2 || !y2 || !w1 || !w2) ? cli_fail(cmd, "out of memory") : 0;
    if (!rc && (wr_morpher_create(2, 2, NULL, 0, &m) || wr_morpher_set_bounds(m, 0, 0.0, INFINITY) ||
                wr_morpher_set_bounds(m, 1, -M_PI, M_PI) || wr_morpher_set_params(m, kv) ||
                wr_morpher_set_forest_params(m, WR_MORPH_SIM, forest_kv ? forest_kv : "") ||
                wr_morpher_set_forest_params(m, WR_MORPH_DATA, dkv)))
        rc = cli_fail_wr(cmd, "morpher parameters ('%s', forest: '%s', data forests: '%s')", kv,
                         forest_kv ? forest_kv : "", dkv);
    size_t n1 = 0, n2 = 0;
    if (!rc) {
        n1 = keep_rows(zs, ys, ws, ns, z1, y1, w1);
        n2 = keep_rows(zd, yd, wd, nd, z2, y2, w2);
        wr_morpher_set_progress(m, cli_progress, (void *)label);
        if (wr_morpher_fit(m, z1, y1, ws ? w1 : NULL, n1, z2, y2, wd ? w2 : NULL, n2))
            rc = cli_fail_wr(cmd, "fitting the morpher");
        wr_morpher_set_progress(m, NULL, NULL);
    }
    free(z1), free(y1), free(z2), free(y2), free(w1), free(w2);
    if (rc) {
        if (m) wr_morpher_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int morph_recoil(const char *cmd, const wr_morpher *m, size_t n, const float *h, const float *v,
                 const float *z, float *hout)
{
    size_t mx = n ? n : 1;
    float *y = malloc(mx * 2 * sizeof *y), *yk = malloc(mx * 2 * sizeof *yk),
          *zk = malloc(mx * 2 * sizeof *zk), *vk = malloc(mx * 2 * sizeof *vk),
          *hk = malloc(mx * 2 * sizeof *hk);
    size_t *idx = malloc(mx * sizeof *idx);
    int rc = (!y || !yk || !zk || !vk || !hk || !idx) ? cli_fail(cmd, "out of memory") : 0;
    if (!rc) rc = recoil_to_y(cmd, n, h, v, y);
    size_t k = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        hout[2 * i] = hout[2 * i + 1] = 0.0f;
        if (!(y[2 * i] > 0)) continue;
        memcpy(yk + 2 * k, y + 2 * i, 2 * sizeof *y);
        memcpy(zk + 2 * k, z + 2 * i, 2 * sizeof *z);
        memcpy(vk + 2 * k, v + 2 * i, 2 * sizeof *v);
        idx[k++] = i;
    }
    if (!rc && wr_morpher_apply(m, zk, yk, k, yk, NULL)) rc = cli_fail_wr(cmd, "applying the morpher");
    if (!rc) y_to_recoil(k, yk, vk, hk);
    for (size_t j = 0; !rc && j < k; j++)
        hout[2 * idx[j]] = hk[2 * j], hout[2 * idx[j] + 1] = hk[2 * j + 1];
    free(y), free(yk), free(zk), free(vk), free(hk), free(idx);
    return rc;
}

/* z, v and y of a table for one recoil definition. */
static int table_zy(const char *cmd, const frame *f, const char *recoil, const char *level,
                    float **z, float **v, float **y, float **h)
{
    size_t m = f->n ? f->n : 1;
    *z = malloc(m * 2 * sizeof **z), *v = malloc(m * 2 * sizeof **v), *y = malloc(m * 2 * sizeof **y);
    *h = recoil_vectors(cmd, f, recoil);
    if (!*h) return 1;
    if (!*z || !*v || !*y) return cli_fail(cmd, "out of memory");
    if (boson_vectors(cmd, f, level, *v, *z)) return 1;
    return recoil_to_y(cmd, f->n, *h, *v, *y);
}

/* Column `name` of a table as n floats (NULL + message when missing or out
 * of memory). */
static float *weight_column(const char *cmd, const frame *f, const char *name)
{
    double *c = frame_column(cmd, f, name);
    float *w = c ? malloc(f->n * sizeof *w + 1) : NULL;
    if (c && !w) cli_fail(cmd, "out of memory");
    for (size_t i = 0; w && i < f->n; i++) w[i] = (float)c[i];
    free(c);
    return w;
}

int cmd_train_morph(int argc, char **argv)
{
    const char *sim = NULL, *data = NULL, *recoil = "tk", *level = "reco", *out = NULL,
               *forest = NULL, *dforest = NULL, *sw = NULL, *dw = NULL, *mkv = NULL;
    long rounds = 100, leaves = 31, threads = 0;
    const cli_opt opts[] = {
        {"sim", OPT_STR, &sim, "FILE", "simulated events (required)"},
        {"data", OPT_STR, &data, "FILE", "data events (required)"},
        {"recoil", OPT_STR, &recoil, "NAME", "recoil columns NAME_x, NAME_y [tk]"},
        {"z", OPT_STR, &level, "reco|gen", "z = (pT, pL) from the two muons (Z) or the generator [reco]"},
        {"out", OPT_STR, &out, "FILE", "morpher model file (required)"},
        {"rounds", OPT_INT, &rounds, "N", "boosting rounds of each forest [100]"},
        {"max-leaves", OPT_INT, &leaves, "N", "leaves per tree [31]"},
        {"forest", OPT_STR, &forest, "\"K=V ..\"", "more forest parameters (docs/forest.md)"},
        {"data-forest", OPT_STR, &dforest, "\"K=V ..\"", "forest parameters of the data side only, after --forest"},
        {"morph", OPT_STR, &mkv, "\"K=V ..\"", "morpher parameters, e.g. interpolation=pchip (docs/morph.md)"},
        {"sim-weights", OPT_STR, &sw, "COL", "weight column of the simulation"},
        {"data-weights", OPT_STR, &dw, "COL", "weight column of the data"},
        {"threads", OPT_INT, &threads, "T", "threads, 0 = all cores [0]"},
    };
    const cli_cmd cmd = {
        "train-morph",
        "Learns the quantile morphing y' = T(y, z) of the recoil observables\n"
        "y = (|h|, dphi(-pT_V, h)) given z = (pT_V, pL_V) that maps the simulation onto\n"
        "the data (4 quantile forests, docs/morph.md). Events with |h| = 0 are left out.",
        "usage: wrecoil train-morph --sim FILE --data FILE --out FILE [options]", NULL, opts,
        sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need(cmd.name, "sim", sim) || cli_need(cmd.name, "data", data) ||
        cli_need(cmd.name, "out", out))
        return 2;
    char kv[1024];
    snprintf(kv, sizeof kv, "rounds=%ld max_leaves=%ld %s", rounds, leaves, forest ? forest : "");
    frame fs = {0}, fd = {0};
    float *zs = NULL, *vs = NULL, *ys = NULL, *hs = NULL, *zd = NULL, *vd = NULL, *yd = NULL,
          *hd = NULL, *ws = NULL, *wd = NULL;
    wr_morpher *m = NULL;
    r = frame_read(cmd.name, sim, &fs) || frame_read(cmd.name, data, &fd);
    if (!r) r = table_zy(cmd.name, &fs, recoil, level, &zs, &vs, &ys, &hs);
    if (!r) r = table_zy(cmd.name, &fd, recoil, level, &zd, &vd, &yd, &hd);
    if (!r && sw && !(ws = weight_column(cmd.name, &fs, sw))) r = 1;
    if (!r && dw && !(wd = weight_column(cmd.name, &fd, dw))) r = 1;
    if (!r) r = morph_fit(cmd.name, zs, ys, ws, fs.n, zd, yd, wd, fd.n, kv, dforest, mkv, threads,
                          "morpher fit", &m);
    if (!r && wr_morpher_save(m, out)) r = cli_fail_wr(cmd.name, "saving '%s'", out);
    if (!r) printf("wrote %s\n", out);
    if (m) wr_morpher_free(m);
    free(zs), free(vs), free(ys), free(hs), free(zd), free(vd), free(yd), free(hd), free(ws), free(wd);
    frame_free(&fs), frame_free(&fd);
    return r;
}

int cmd_apply_morph(int argc, char **argv)
{
    const char *in = NULL, *model = NULL, *recoil = "tk", *level = "gen", *out = NULL, *as = NULL;
    const cli_opt opts[] = {
        {"in", OPT_STR, &in, "FILE", "simulated events to correct (required)"},
        {"model", OPT_STR, &model, "FILE", "morpher of train-morph (required)"},
        {"recoil", OPT_STR, &recoil, "NAME", "recoil columns NAME_x, NAME_y [tk]"},
        {"z", OPT_STR, &level, "gen|reco", "z of the events: generator (W) or the muons (Z) [gen]"},
        {"as", OPT_STR, &as, "NAME", "name of the morphed recoil columns [NAME_morph]"},
        {"out", OPT_STR, &out, "FILE", "output: the input plus AS_x, AS_y (required)"},
    };
    const cli_cmd cmd = {
        "apply-morph",
        "Morphs the recoil of simulated events: y = (|h|, dphi) -> T(y, z), and writes\n"
        "the corrected recoil vectors. Events with |h| = 0 keep (0, 0).",
        "usage: wrecoil apply-morph --in FILE --model FILE --out FILE [options]", NULL, opts,
        sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need(cmd.name, "in", in) || cli_need(cmd.name, "model", model) ||
        cli_need(cmd.name, "out", out))
        return 2;
    if (!morph_available())
        return cli_fail(cmd.name, "quantile morphing is not available in this libwrecoil");
    wr_morpher *m = NULL;
    if (wr_morpher_load(model, &m)) return cli_fail_wr(cmd.name, "loading '%s'", model);
    frame f = {0};
    float *z = NULL, *v = NULL, *y = NULL, *h = NULL, *ho = NULL;
    double *cols[2] = {NULL, NULL};
    r = frame_read(cmd.name, in, &f);
    if (!r) r = table_zy(cmd.name, &f, recoil, level, &z, &v, &y, &h);
    size_t n = f.n ? f.n : 1;
    if (!r && (!(ho = malloc(n * 2 * sizeof *ho)) || !(cols[0] = malloc(n * sizeof(double))) ||
               !(cols[1] = malloc(n * sizeof(double)))))
        r = cli_fail(cmd.name, "out of memory");
    if (!r) r = morph_recoil(cmd.name, m, f.n, h, v, z, ho);
    for (size_t i = 0; !r && i < f.n; i++) cols[0][i] = ho[2 * i], cols[1][i] = ho[2 * i + 1];
    char nx[96], ny[96];
    snprintf(nx, sizeof nx, "%s_x", as ? as : recoil);
    snprintf(ny, sizeof ny, "%s_y", as ? as : recoil);
    if (!as) {
        snprintf(nx, sizeof nx, "%s_morph_x", recoil);
        snprintf(ny, sizeof ny, "%s_morph_y", recoil);
    }
    const char *names[2] = {nx, ny};
    if (!r) r = frame_append(cmd.name, &f, 2, names, cols);
    if (!r) r = frame_write(cmd.name, out, &f);
    if (!r) cli_note("apply-morph: %zu events -> %s (%s, %s)", f.n, out, nx, ny);
    wr_morpher_free(m);
    free(z), free(v), free(y), free(h), free(ho), free(cols[0]), free(cols[1]);
    frame_free(&f);
    return r;
}
