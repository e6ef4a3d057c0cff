/* bench/forest_bench.c -- times wr_qforest_fit and wr_qforest_predict on
 * raw float32 files written by bench/forest.py.
 *
 *   forest_bench X_train y_train n_train X_test n_test d levels params pred_out
 *
 * levels: comma-separated quantile levels; params: "k=v k=v" for
 * wr_qforest_set_params.  Writes the n_test x Q predictions (float32) to
 * pred_out and prints "fit_seconds S", "predict_seconds S", "rounds R". */
#include <wrecoil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *read_floats(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    float *v = malloc(n * sizeof *v);
    if (!f || !v || fread(v, sizeof *v, n, f) != n) {
        fprintf(stderr, "forest_bench: cannot read %zu floats from %s\n", n, path);
        exit(2);
    }
    fclose(f);
    return v;
}

static size_t parse_levels(const char *s, double *lv, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char *end;
        lv[n++] = strtod(s, &end);
        s = *end == ',' ? end + 1 : end;
        if (end == s && *s) break;
    }
    return n;
}

static void die(const char *what)
{
    fprintf(stderr, "forest_bench: %s: %s\n", what, wr_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: %s X_train y_train n_train X_test n_test d levels "
                        "params pred_out\n", argv[0]);
        return 2;
    }
    size_t n = strtoul(argv[3], NULL, 10), nt = strtoul(argv[5], NULL, 10);
    size_t d = strtoul(argv[6], NULL, 10);
    double lv[256];
    size_t Q = parse_levels(argv[7], lv, 256);
    float *X = read_floats(argv[1], n * d), *y = read_floats(argv[2], n);
    float *Xt = read_floats(argv[4], nt * d);
    float *P = malloc(nt * Q * sizeof *P);
    wr_quantile_forest *f = NULL;
    if (wr_qforest_create(lv, Q, &f) != WR_OK) die("create");
    if (wr_qforest_set_params(f, argv[8]) != WR_OK) die("params");
    double t0 = now();
    if (wr_qforest_fit(f, X, n, d, y, NULL, NULL, 0, NULL, NULL) != WR_OK) die("fit");
    double t1 = now();
    if (wr_qforest_predict(f, Xt, nt, d, P) != WR_OK) die("predict");
    double t2 = now();
    FILE *o = fopen(argv[9], "wb");
    if (!o || fwrite(P, sizeof *P, nt * Q, o) != nt * Q) {
        fprintf(stderr, "forest_bench: cannot write %s\n", argv[9]);
        return 1;
    }
    fclose(o);
    printf("fit_seconds %.6f\npredict_seconds %.6f\nrounds %zu\n", t1 - t0, t2 - t1,
           wr_qforest_n_rounds(f));
    wr_qforest_free(f);
    free(X);
    free(y);
    free(Xt);
    free(P);
    return 0;
}
