/* fuzz/make_seeds.c -- writes the seed corpora of the fuzz targets into
 * fuzz/corpus/<target>/ (run by `make fuzz-seeds`; the output is committed).
 * Small valid models of every kind (as containers, and as raw payloads for
 * the payload mode of fuzz/fuzz.h), CSV tables and parameter strings.
 * Deterministic: the same files on every run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wrecoil.h"
#include "core.h"

static const char *g_root = "fuzz/corpus";

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, wr_last_error());
    exit(1);
}
#define OK(call) do { if ((call) != WR_OK) die(#call); } while (0)

static void put(const char *target, const char *name, uint8_t mode, const void *buf,
                size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_root, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) die(path);
    snprintf(path, sizeof path, "%s/%s/%s", g_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    if (mode != 255) fputc(mode, f);
    if (n && fwrite(buf, 1, n, f) != n) die(path);
    if (fclose(f) != 0) die(path);
}

/* A model goes to its own target twice (container, payload) and to the
 * container target. */
static void put_model(const char *target, const char *name, uint32_t kind, void *buf,
                      size_t n)
{
    char nm[256];
    snprintf(nm, sizeof nm, "%s.wrm", name);
    put(target, nm, 0, buf, n);
    put("container", nm, 255, buf, n);
    void *payload;
    size_t psize;
    uint32_t ver;
    OK(wr__container_unpack(buf, n, kind, 1, &payload, &psize, &ver));
    snprintf(nm, sizeof nm, "%s.payload", name);
    put(target, nm, 1, payload, psize);
    free(payload);
    wr_free(buf);
}

/* n rows of d features and a target y = x0 + 0.5 x1 + noise. */
static void data(size_t n, size_t d, uint64_t seed, float *X, float *y)
{
    wr__rng r;
    wr__rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)wr__rng_normal(&r);
        y[i] = X[i * d] + (d > 1 ? 0.5f * X[i * d + 1] : 0.0f) +
               0.3f * (float)wr__rng_normal(&r);
    }
}

static void forests(void)
{
    enum { N = 300, D = 3 };
    static float X[N * D], y[N];
    data(N, D, 1, X, y);
    const char *variants[][2] = {
        {"shared", "rounds=4 max_leaves=4 min_samples_leaf=10 threads=1 multi=shared"},
        {"independent", "rounds=3 max_leaves=3 min_samples_leaf=10 threads=1 multi=independent"},
        {"deep", "rounds=2 max_leaves=16 max_bins=8 min_samples_leaf=2 threads=1"},
    };
    double levels[3] = {0.1, 0.5, 0.9};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        wr_quantile_forest *f;
        OK(wr_qforest_create(levels, 3, &f));
        OK(wr_qforest_set_params(f, variants[v][1]));
        OK(wr_qforest_fit(f, X, N, D, y, NULL, NULL, 0, NULL, NULL));
        void *buf;
        size_t n;
        OK(wr_qforest_to_bytes(f, &buf, &n));
        put_model("qforest", variants[v][0], WR_KIND_QUANTILE_FOREST, buf, n);
        wr_qforest_free(f);
    }
}

static void regressors(void)
{
    enum { N = 200, D = 2 };
    static float X[N * D], y[N];
    data(N, D, 2, X, y);
    for (size_t i = 0; i < N; i++) y[i] = fmaxf(-3.0f, fminf(3.0f, y[i]));
    const char *variants[][2] = {
        {"gauss", "family=gauss hidden=3 epochs=2 batch_size=64 threads=1"},
        {"gaussexp2", "family=gaussexp2 hidden=4,3 activation=tanh epochs=2 threads=1"},
        {"flat", "family=gaussexp2_flat hidden=2 epochs=1 threads=1"},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        wr_regressor *r;
        OK(wr_regressor_create(&r));
        OK(wr_regressor_set_params(r, variants[v][1]));
        OK(wr_regressor_fit(r, X, N, D, y, NULL, NULL, 0, NULL, NULL));
        void *buf;
        size_t n;
        OK(wr_regressor_to_bytes(r, &buf, &n));
        put_model("regressor", variants[v][0], WR_KIND_REGRESSOR, buf, n);
        wr_regressor_free(r);
    }
}

static void morphers(void)
{
    enum { N = 300 };
    static float zs[N], ys[N * 2], zd[N], yd[N * 2];
    wr__rng r;
    wr__rng_seed(&r, 3, 0);
    for (size_t i = 0; i < N; i++) {
        zs[i] = (float)wr__rng_uniform(&r);
        zd[i] = (float)wr__rng_uniform(&r);
        ys[2 * i] = (float)(1.0 + zs[i] + wr__rng_exponential(&r));
        yd[2 * i] = (float)(1.2 + zd[i] + wr__rng_exponential(&r));
        ys[2 * i + 1] = (float)(0.5 * wr__rng_normal(&r));
        yd[2 * i + 1] = (float)(0.6 * wr__rng_normal(&r));
    }
    double levels[4] = {0.1, 0.4, 0.6, 0.9};
    for (int v = 0; v < 2; v++) {
        wr_morpher *m;
        OK(wr_morpher_create(2, v ? 0 : 1, levels, 4, &m));
        OK(wr_morpher_set_bounds(m, 0, 0.0, INFINITY));
        if (v) OK(wr_morpher_set_bounds(m, 1, -M_PI, M_PI));
        OK(wr_morpher_set_params(m, v ? "threads=1 interpolation=pchip" : "threads=1"));
        OK(wr_morpher_set_forest_params(m, WR_MORPH_BOTH,
                                        "rounds=2 max_leaves=3 min_samples_leaf=20"));
        OK(wr_morpher_fit(m, v ? NULL : zs, ys, NULL, N, v ? NULL : zd, yd, NULL, N));
        void *buf;
        size_t n;
        OK(wr_morpher_to_bytes(m, &buf, &n));
        put_model("morpher", v ? "bounded_k0" : "k1", WR_KIND_MORPHER, buf, n);
        wr_morpher_free(m);
    }
}

static void tfits(void)
{
    enum { N = 400 };
    static double x[N * 2], mg[N], w[N];
    static uint64_t ids[N];
    wr__rng r;
    wr__rng_seed(&r, 4, 0);
    for (size_t i = 0; i < N; i++) {
        mg[i] = 80.385 + 2.0 * wr__rng_normal(&r);
        x[2 * i] = mg[i] * (0.7 + 0.3 * wr__rng_uniform(&r));
        x[2 * i + 1] = wr__rng_uniform(&r);
        w[i] = 1.0;
        ids[i] = i;
    }
    for (int v = 0; v < 2; v++) {
        wr_template_fit *tf;
        if (v == 0) OK(wr_tfit_create_uniform(6, 55.0, 82.0, 0, 0, 0, &tf));
        else OK(wr_tfit_create_uniform(3, 55.0, 82.0, 2, 0.0, 1.0, &tf));
        OK(wr_tfit_set_params(tf, v ? "mass_count=5 mass_step=0.1 bootstrap=2 threads=1 "
                                      "flow=fold data_sets=2"
                                    : "mass_count=3 mass_step=0.5 threads=1"));
        size_t dim = wr_tfit_dim(tf);
        static double xx[N * 2];
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < dim; j++) xx[i * dim + j] = x[i * 2 + j];
        OK(wr_tfit_add_templates(tf, xx, mg, w, ids, N));
        OK(wr_tfit_add_data(tf, 0, xx, NULL, ids, N / 2));
        void *buf;
        size_t n;
        OK(wr_tfit_to_bytes(tf, &buf, &n));
        put_model("tfit", v ? "twod_bootstrap" : "oned", WR_KIND_TEMPLATE_FIT, buf, n);
        wr_tfit_free(tf);
    }
}

static void tables(void)
{
    static const struct { const char *name; uint8_t opt; const char *text; } t[] = {
        {"plain", 0, "a,b,c\n1,2,3\n4.5,-6e-3,7\n"},
        {"crlf_gz", 1 | 8, "x, y\r\n 1.25 ,2\r\n3,4\r\n"},
        {"stream_float", 2 | 4 | 16, "ev,q,v_pt\n0,1,12.5\n1,-1,3.25e1\n2,1,1e-40\n"},
        {"select_all", 32 | 64 | 24, "p,q\n+1.,.5\n-0,1e308\n"},
        {"bad_field", 0, "a,b\n1,\n"},
        {"too_many", 2, "a,b\n1,2,3\n"},
        {"no_header", 0, "1,2\n3,4\n"},
        {"huge", 4, "a\n1e39\n"},
        {"long_digits", 0, "a\n0.1000000000000000055511151231257827021181583404541015625\n"},
        {"no_newline", 64, "a,b\n1,2"},
        {"dup_header", 0, "a,a\n1,2\n"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        put("table", t[i].name, t[i].opt, t[i].text, strlen(t[i].text));
    /* a real generator sample, gzip-compressed as it ships */
    FILE *f = fopen("tests/data/w_mc_particles_4ev.csv.gz", "rb");
    if (f) {
        static unsigned char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        put("table", "particles_gz", 0, buf, n);
    }
}

static void params(void)
{
    static const struct { const char *name; uint8_t sel; const char *s; } p[] = {
        {"qf", 0, "rounds=20 max_leaves=8 learning_rate=0.05 multi=independent"},
        {"qf_one", 8, "subsample\n0.5"},
        {"reg", 1, "family=gauss hidden=16,8 activation=relu lr_schedule=plateau"},
        {"reg_one", 9, "hidden\n64,64,64"},
        {"morph", 2, "interpolation=pchip validation_fraction=0.2 seed=7"},
        {"morph_forest", 3, "rounds=50 max_leaves=15"},
        {"tf", 4, "mass_count=11 mass_step=0.02 bb_lite=yes norm=free\tinterp=linear"},
        {"tf_one", 12, "width\nfixed"},
        {"toy", 5, "mass=80.4 mass_min=60 mass_max=100"},
        {"bad_value", 0, "rounds=1e99"},
        {"bad_key", 1, "nope=1"},
        {"dup_key", 4, "seed=1 seed=2"},
        {"nan", 1, "learning_rate=nan"},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        put("params", p[i].name, p[i].sel, p[i].s, strlen(p[i].s));
    /* every knob of the toy, as its own string form */
    wr_toy *toy;
    OK(wr_toy_create("Z", "data", &toy));
    char *s;
    OK(wr_toy_params_string(toy, &s));
    put("params", "toy_all", 5, s, strlen(s));
    wr_free(s);
    wr_toy_free(toy);
}

int main(int argc, char **argv)
{
    if (argc > 1) g_root = argv[1];
    if (mkdir(g_root, 0777) != 0 && errno != EEXIST) die(g_root);
    forests();
    regressors();
    morphers();
    tfits();
    tables();
    params();
    return 0;
}
