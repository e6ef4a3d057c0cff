/*
 * bench/regressor_bench.c -- C driver of bench/regressor.py (links the
 * shared library, as users do).  Data come as raw little-endian float32
 * files written by numpy's tofile(); results are printed as one JSON line.
 *
 *   regressor_bench sgemm THREADS
 *       cblas_sgemm GFLOP/s: 2048^3 with THREADS OpenBLAS threads, and the
 *       training shapes (128 x 64 x 64) on one thread.
 *   regressor_bench train DIR N D NV "PARAMS" MODEL
 *       fits on DIR/X.f32 (N x D), DIR/t.f32, validation DIR/Xv.f32,
 *       DIR/tv.f32 (NV rows); saves MODEL; prints fit seconds, epochs,
 *       per-epoch seconds and NLLs.
 *   regressor_bench predict MODEL XFILE N D REPS [THREADS]
 *       best-of-REPS wall time of wr_regressor_predict over N rows.
 *   regressor_bench eval MODEL XFILE N D TFILE EDGES M OUTPREFIX
 *       writes OUTPREFIX.params/.summary/.pit (float64) and .mixcdf (the
 *       mixture cdf at the M float64 EDGES).
 */
#include <wrecoil.h>

#include <cblas.h>
#include <math.h>
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

static void die(const char *what)
{
    fprintf(stderr, "regressor_bench: %s: %s\n", what, wr_last_error());
    exit(1);
}

static void *read_file(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "regressor_bench: cannot open %s\n", path);
        exit(1);
    }
    void *p = malloc(bytes ? bytes : 1);
    if (!p || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "regressor_bench: short read %s\n", path);
        exit(1);
    }
    fclose(f);
    return p;
}

static void write_file(const char *prefix, const char *ext, const void *p, size_t bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s.%s", prefix, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "regressor_bench: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static double sgemm_gflops(int m, int n, int k, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(a); free(b); free(c);
    return 2.0 * m * n * k / best * 1e-9;
}

static int cmd_sgemm(int argc, char **argv)
{
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    openblas_set_num_threads(threads);
    double big = sgemm_gflops(2048, 2048, 2048, 5);
    openblas_set_num_threads(1);
    double one = sgemm_gflops(2048, 2048, 2048, 3);
    double small = 0;
    { /* many calls of the training shape, one thread */
        double t0 = now();
        int reps = 20000;
        float *a = calloc(128 * 64, 4), *b = calloc(64 * 64, 4), *c = calloc(128 * 64, 4);
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 128, 64, 64, 1.0f, a, 64, b, 64, 0.0f, c, 64);
        small = 2.0 * 128 * 64 * 64 * reps / (now() - t0) * 1e-9;
        free(a); free(b); free(c);
    }
    printf("{\"sgemm_%dthreads_gflops\": %.3f, \"sgemm_1thread_gflops\": %.3f, "
           "\"sgemm_128x64x64_1thread_gflops\": %.3f}\n", threads, big, one, small);
    return 0;
}

typedef struct epoch_log {
    double t0, last;
    int epochs;
    double train_nll, val_nll;
} epoch_log;

static int on_epoch(void *u, const char *stage, int64_t step, int64_t total,
                    double m1, double m2)
{
    epoch_log *e = u;
    e->last = now();
    e->epochs = (int)step;
    e->train_nll = m1;
    e->val_nll = m2;
    if (getenv("REGRESSOR_BENCH_VERBOSE"))
        fprintf(stderr, "  epoch %lld/%lld train %.5f val %.5f  %.2fs\n", (long long)step,
                (long long)total, m1, m2, e->last - e->t0);
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    if (argc < 8) return 2;
    const char *dir = argv[2];
    size_t n = strtoull(argv[3], NULL, 10), d = strtoull(argv[4], NULL, 10),
           nv = strtoull(argv[5], NULL, 10);
    char path[1024];
    snprintf(path, sizeof path, "%s/X.f32", dir);
    float *X = read_file(path, n * d * 4);
    snprintf(path, sizeof path, "%s/t.f32", dir);
    float *t = read_file(path, n * 4);
    snprintf(path, sizeof path, "%s/Xv.f32", dir);
    float *Xv = read_file(path, nv * d * 4);
    snprintf(path, sizeof path, "%s/tv.f32", dir);
    float *tv = read_file(path, nv * 4);
    wr_regressor *r;
    if (wr_regressor_create(&r) || wr_regressor_set_params(r, argv[6])) die("params");
    epoch_log log = {0};
    wr_regressor_set_progress(r, on_epoch, &log);
    log.t0 = now();
    if (wr_regressor_fit(r, X, n, d, t, NULL, Xv, nv, tv, NULL)) die("fit");
    double secs = now() - log.t0;
    double val_nll;
    if (wr_regressor_nll(r, Xv, nv, d, tv, NULL, &val_nll)) die("nll");
    int ran, best;
    wr_regressor_fit_info(r, &ran, &best);
    if (wr_regressor_save(r, argv[7])) die("save");
    printf("{\"fit_seconds\": %.4f, \"epochs\": %d, \"best_epoch\": %d, "
           "\"epoch_seconds\": %.5f, \"val_nll\": %.6f, \"last_train_nll\": %.6f}\n",
           secs, ran, best, secs / ran, val_nll, log.train_nll);
    wr_regressor_free(r);
    free(X); free(t); free(Xv); free(tv);
    return 0;
}

static int cmd_predict(int argc, char **argv)
{
    if (argc < 7) return 2;
    wr_regressor *r;
    if (wr_regressor_load(argv[2], &r)) die("load");
    size_t n = strtoull(argv[4], NULL, 10), d = strtoull(argv[5], NULL, 10);
    int reps = atoi(argv[6]);
    if (argc > 7 && wr_regressor_set_param(r, "threads", argv[7])) die("threads");
    float *X = read_file(argv[3], n * d * 4);
    size_t k = wr_pdf_n_params(wr_regressor_family(r));
    double *p = malloc(n * k * sizeof(double)), best = 1e30;
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        if (wr_regressor_predict(r, X, n, d, p, k)) die("predict");
        double s = now() - t0;
        if (s < best) best = s;
    }
    printf("{\"predict_seconds\": %.6f, \"rows\": %zu}\n", best, n);
    wr_regressor_free(r);
    free(X); free(p);
    return 0;
}

static int cmd_eval(int argc, char **argv)
{
    if (argc < 10) return 2;
    wr_regressor *r;
    if (wr_regressor_load(argv[2], &r)) die("load");
    size_t n = strtoull(argv[4], NULL, 10), d = strtoull(argv[5], NULL, 10),
           m = strtoull(argv[8], NULL, 10);
    float *X = read_file(argv[3], n * d * 4), *t = read_file(argv[6], n * 4);
    double *edges = read_file(argv[7], m * 8);
    int fam = wr_regressor_family(r);
    size_t k = wr_pdf_n_params(fam);
    double *p = malloc(n * k * 8), *s = malloc(n * WR_SUMMARY_COUNT * 8), *pit = malloc(n * 8),
           *mix = malloc(m * 8);
    if (wr_regressor_predict(r, X, n, d, p, k)) die("predict");
    if (wr_pdf_summary(fam, p, n, k, s)) die("summary");
    if (wr_regressor_pit(r, X, n, d, t, pit)) die("pit");
    if (wr_pdf_mixture_cdf(fam, p, n, k, NULL, edges, m, mix)) die("mixture");
    const char *pre = argv[9];
    write_file(pre, "params", p, n * k * 8);
    write_file(pre, "summary", s, n * WR_SUMMARY_COUNT * 8);
    write_file(pre, "pit", pit, n * 8);
    write_file(pre, "mixcdf", mix, m * 8);
    printf("{\"rows\": %zu, \"k\": %zu}\n", n, k);
    wr_regressor_free(r);
    free(X); free(t); free(edges); free(p); free(s); free(pit); free(mix);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc >= 2 && !strcmp(argv[1], "sgemm")) rc = cmd_sgemm(argc, argv);
    else if (argc >= 2 && !strcmp(argv[1], "train")) rc = cmd_train(argc, argv);
    else if (argc >= 2 && !strcmp(argv[1], "predict")) rc = cmd_predict(argc, argv);
    else if (argc >= 2 && !strcmp(argv[1], "eval")) rc = cmd_eval(argc, argv);
    if (rc == 2) fprintf(stderr, "usage: see the comment at the top of bench/regressor_bench.c\n");
    return rc;
}
