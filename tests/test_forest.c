/* tests/test_forest.c -- wr_quantile_forest: analytic conditional quantiles,
 * coverage, non-crossing, save/load, weights vs duplicated rows, thread
 * count independence, concurrent predict, early stopping, progress and
 * cancellation, every bad-input path and hostile payloads. */
#include "testutil.h"

#include "core.h"
#include "forest.h"

#include <pthread.h>
#include <unistd.h>

/* y | x ~ Normal(a(x), s(x)), x uniform in [0, 1]^2. */
static double mean_a(const float *x) { return 2.0 * x[0] + sin(3.0 * x[1]); }
static double sd_s(const float *x) { return 0.3 + 0.7 * x[0]; }

static void make_normal(size_t n, uint64_t seed, float *X, float *y)
{
    wr__rng r;
    wr__rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = (float)wr__rng_uniform(&r);
        X[2 * i + 1] = (float)wr__rng_uniform(&r);
        y[i] = (float)(mean_a(X + 2 * i) + sd_s(X + 2 * i) * wr__rng_normal(&r));
    }
}

/* Standard normal quantile (Acklam's rational approximation, |err| < 1e-8). */
static double norm_ppf(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    double q, r;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -norm_ppf(1 - p);
    q = p - 0.5;
    r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

static const double LV[5] = {0.05, 0.25, 0.5, 0.75, 0.95};

static wr_quantile_forest *fit_normal(const char *params, size_t n)
{
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    make_normal(n, 11, X, y);
    wr_quantile_forest *f = NULL;
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
    WR_ASSERT_OK(wr_qforest_set_params(f, params));
    WR_ASSERT_OK(wr_qforest_fit(f, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    free(X);
    free(y);
    return f;
}

/* The centres of an ng x ng grid of cells on [0, 1]^2, row-major pairs. */
static void unit_grid(size_t ng, float *grid)
{
    for (size_t a = 0; a < ng; a++)
        for (size_t b = 0; b < ng; b++) {
            grid[2 * (a * ng + b)] = (float)((a + 0.5) / ng);
            grid[2 * (a * ng + b) + 1] = (float)((b + 0.5) / ng);
        }
}

/* Predicted quantiles vs the analytic ones on a grid, and coverage of
 * fresh data.  Tolerances (stated in docs/forest.md): mean absolute error
 * below 0.10 (the noise s is 0.3..1.0; 20000 rows), coverage within 0.015
 * of tau (4 standard errors of 20000 fresh rows at tau = 0.5; the tails
 * get the same absolute room for the model finite-sample bias). */
static void check_analytic(const char *params)
{
    const size_t n = 20000, ng = 30;
    wr_quantile_forest *f = fit_normal(params, n);
    float grid[30 * 30 * 2], pred[30 * 30 * 5];
    unit_grid(ng, grid);
    WR_ASSERT_OK(wr_qforest_predict(f, grid, ng * ng, 2, pred));
    for (size_t q = 0; q < 5; q++) {
        double err = 0.0;
        for (size_t i = 0; i < ng * ng; i++) {
            double truth = mean_a(grid + 2 * i) + sd_s(grid + 2 * i) * norm_ppf(LV[q]);
            err += fabs(pred[i * 5 + q] - truth);
        }
        err /= (double)(ng * ng);
        if (getenv("WR_TEST_VERBOSE")) fprintf(stderr, "%s: tau %g err %g\n", params, LV[q], err);
        ck_assert_msg(err < 0.10, "%s: level %g: mean |error| %g", params, LV[q], err);
    }
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    float *P = malloc(n * 5 * sizeof *P);
    make_normal(n, 99, X, y);
    WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, P));
    for (size_t q = 0; q < 5; q++) {
        size_t below = 0;
        for (size_t i = 0; i < n; i++) below += y[i] <= P[i * 5 + q];
        double cov = (double)below / (double)n;
        if (getenv("WR_TEST_VERBOSE")) fprintf(stderr, "%s: tau %g cov %g\n", params, LV[q], cov);
        ck_assert_msg(fabs(cov - LV[q]) < 0.015, "%s: level %g: coverage %g", params,
                      LV[q], cov);
    }
    free(X);
    free(y);
    free(P);
    wr_qforest_free(f);
}

START_TEST(test_analytic_shared)
{
    check_analytic("rounds=150 max_leaves=15 learning_rate=0.1 threads=2");
}
END_TEST

START_TEST(test_analytic_independent)
{
    check_analytic("rounds=150 max_leaves=15 multi=independent threads=2 subsample=0.8 "
                   "colsample=1");
}
END_TEST

static bool rows_sorted(const float *P, size_t n, size_t Q)
{
    for (size_t i = 0; i < n; i++)
        for (size_t q = 1; q < Q; q++)
            if (!(P[i * Q + q - 1] <= P[i * Q + q])) return false;
    return true;
}

/* Adversarial: levels 1e-4 apart, tiny leaves, a jumpy target and one-row
 * leaves; independent ensembles would cross without rearrangement. */
START_TEST(test_non_crossing)
{
    const size_t n = 3000, Q = 6;
    const double lv[6] = {0.4999, 0.5, 0.5001, 0.5002, 0.9, 0.9001};
    float *X = malloc(n * 3 * sizeof *X), *y = malloc(n * sizeof *y);
    wr__rng r;
    wr__rng_seed(&r, 5, 0);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) X[3 * i + k] = (float)wr__rng_uniform(&r);
        y[i] = (float)(((i * 7919) % 13) * (X[3 * i] > 0.5f ? 1.0 : -1.0) +
                       wr__rng_exponential(&r) * 10.0);
    }
    const char *modes[2] = {"multi=shared", "multi=independent"};
    float *P = malloc(n * Q * sizeof *P);
    for (int mo = 0; mo < 2; mo++) {
        wr_quantile_forest *f = NULL;
        WR_ASSERT_OK(wr_qforest_create(lv, Q, &f));
        WR_ASSERT_OK(wr_qforest_set_params(f, modes[mo]));
        WR_ASSERT_OK(wr_qforest_set_params(
            f, "rounds=40 max_leaves=64 min_samples_leaf=1 learning_rate=1 "
               "subsample=0.5 colsample=0.5"));
        WR_ASSERT_OK(wr_qforest_fit(f, X, n, 3, y, NULL, NULL, 0, NULL, NULL));
        WR_ASSERT_OK(wr_qforest_predict(f, X, n, 3, P));
        ck_assert_msg(rows_sorted(P, n, Q), "%s: crossing predictions", modes[mo]);
        for (size_t i = 0; i < n; i++) X[3 * i + 1] = -X[3 * i + 1] * 100.0f; /* outside */
        WR_ASSERT_OK(wr_qforest_predict(f, X, n, 3, P));
        ck_assert(rows_sorted(P, n, Q));
        for (size_t i = 0; i < n; i++) X[3 * i + 1] = -X[3 * i + 1] / 100.0f;
        wr_qforest_free(f);
    }
    free(P);
    free(X);
    free(y);
}
END_TEST

static wr_quantile_forest *small_fit(const char *params, const float *w,
                                     float **Xo, float **yo, size_t *no)
{
    const size_t n = 2000;
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    make_normal(n, 3, X, y);
    wr_quantile_forest *f = NULL;
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=20 max_leaves=8"));
    WR_ASSERT_OK(wr_qforest_set_params(f, params));
    WR_ASSERT_OK(wr_qforest_fit(f, X, n, 2, y, w, NULL, 0, NULL, NULL));
    if (Xo) {
        *Xo = X;
        *yo = y;
        *no = n;
    } else {
        free(X);
        free(y);
    }
    return f;
}

START_TEST(test_save_load)
{
    float *X, *y;
    size_t n;
    wr_quantile_forest *f = small_fit("multi=shared subsample=0.7", NULL, &X, &y, &n);
    float *P1 = malloc(n * 5 * sizeof *P1), *P2 = malloc(n * 5 * sizeof *P2);
    WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, P1));
    void *buf = NULL;
    size_t size = 0;
    WR_ASSERT_OK(wr_qforest_to_bytes(f, &buf, &size));
    wr_quantile_forest *g = NULL;
    WR_ASSERT_OK(wr_qforest_from_bytes(buf, size, &g));
    WR_ASSERT_OK(wr_qforest_predict(g, X, n, 2, P2));
    ck_assert(memcmp(P1, P2, n * 5 * sizeof *P1) == 0);
    char val[64];
    WR_ASSERT_OK(wr_qforest_get_param(g, "subsample", val, sizeof val));
    ck_assert_str_eq(val, "0.69999999999999996");
    ck_assert_uint_eq(wr_qforest_n_features(g), 2);
    ck_assert_uint_eq(wr_qforest_n_rounds(g), 20);
    double lv[5];
    WR_ASSERT_OK(wr_qforest_levels(g, lv, 5));
    ck_assert(memcmp(lv, LV, sizeof lv) == 0);
    int kind = 0;
    WR_ASSERT_OK(wr_model_inspect(buf, size, &kind, NULL));
    ck_assert_int_eq(kind, WR_KIND_QUANTILE_FOREST);
    /* file round trip */
    char path[] = "/tmp/wr_forest_testXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    WR_ASSERT_OK(wr_qforest_save(f, path));
    wr_quantile_forest *h = NULL;
    WR_ASSERT_OK(wr_qforest_load(path, &h));
    memset(P2, 0, n * 5 * sizeof *P2);
    WR_ASSERT_OK(wr_qforest_predict(h, X, n, 2, P2));
    ck_assert(memcmp(P1, P2, n * 5 * sizeof *P1) == 0);
    remove(path);
    wr_qforest_free(h);
    WR_ASSERT_FAILS(wr_qforest_load(path, &h), WR_ERR_IO);
    ck_assert_ptr_null(h);
    wr_free(buf);
    wr_qforest_free(f);
    wr_qforest_free(g);
    free(P1);
    free(P2);
    free(X);
    free(y);
}
END_TEST

/* Weights 2 must give exactly the model of duplicated rows: histograms
 * hold exact fixed-point weights and the leaf quantile is the inverted
 * CDF, which is invariant under duplication. */
START_TEST(test_weights_vs_duplicates)
{
    const size_t n = 1500;
    float *X = malloc(2 * n * 2 * sizeof *X), *y = malloc(2 * n * sizeof *y);
    float *w = malloc(n * sizeof *w);
    make_normal(n, 21, X, y);
    memcpy(X + 2 * n, X, 2 * n * sizeof *X);
    memcpy(y + n, y, n * sizeof *y);
    for (size_t i = 0; i < n; i++) w[i] = 2.0f;
    const char *modes[2] = {"multi=shared", "multi=independent"};
    float *P1 = malloc(n * 5 * sizeof *P1), *P2 = malloc(n * 5 * sizeof *P2);
    for (int mo = 0; mo < 2; mo++) {
        wr_quantile_forest *a = NULL, *b = NULL;
        WR_ASSERT_OK(wr_qforest_create(LV, 5, &a));
        WR_ASSERT_OK(wr_qforest_create(LV, 5, &b));
        const char *p = "rounds=25 max_leaves=12 min_samples_leaf=1 l2=0.5";
        WR_ASSERT_OK(wr_qforest_set_params(a, p));
        WR_ASSERT_OK(wr_qforest_set_params(b, p));
        WR_ASSERT_OK(wr_qforest_set_params(a, modes[mo]));
        WR_ASSERT_OK(wr_qforest_set_params(b, modes[mo]));
        WR_ASSERT_OK(wr_qforest_fit(a, X, n, 2, y, w, NULL, 0, NULL, NULL));
        WR_ASSERT_OK(wr_qforest_fit(b, X, 2 * n, 2, y, NULL, NULL, 0, NULL, NULL));
        WR_ASSERT_OK(wr_qforest_predict(a, X, n, 2, P1));
        WR_ASSERT_OK(wr_qforest_predict(b, X, n, 2, P2));
        ck_assert_msg(memcmp(P1, P2, n * 5 * sizeof *P1) == 0, "%s", modes[mo]);
        /* and weights do matter: unit weights on the first half differ */
        wr_qforest_free(a);
        wr_qforest_free(b);
    }
    free(P1);
    free(P2);
    free(X);
    free(y);
    free(w);
}
END_TEST

/* Chunked work with integer histograms: same model for 1 and 3 threads. */
START_TEST(test_thread_count_independent)
{
    const size_t n = 40000;
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    float *w = malloc(n * sizeof *w);
    make_normal(n, 8, X, y);
    for (size_t i = 0; i < n; i++) w[i] = 0.5f + (float)(i % 7) * 0.25f;
    float *P1 = malloc(n * 5 * sizeof *P1), *P2 = malloc(n * 5 * sizeof *P2);
    const char *threads[2] = {"threads=1", "threads=3"};
    for (int t = 0; t < 2; t++) {
        wr_quantile_forest *f = NULL;
        WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
        WR_ASSERT_OK(wr_qforest_set_params(
            f, "rounds=10 max_leaves=31 subsample=0.6 colsample=0.5 seed=7"));
        WR_ASSERT_OK(wr_qforest_set_params(f, threads[t]));
        WR_ASSERT_OK(wr_qforest_fit(f, X, n, 2, y, w, X, 5000, y, NULL));
        WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, t ? P2 : P1));
        wr_qforest_free(f);
    }
    ck_assert(memcmp(P1, P2, n * 5 * sizeof *P1) == 0);
    free(P1);
    free(P2);
    free(X);
    free(y);
    free(w);
}
END_TEST

typedef struct pred_arg {
    const wr_quantile_forest *f;
    const float *X;
    size_t n;
    const float *expect;
    int ok;
} pred_arg;

static void *pred_thread(void *v)
{
    pred_arg *a = v;
    float *P = malloc(a->n * 5 * sizeof *P);
    a->ok = 1;
    for (int rep = 0; rep < 3; rep++) {
        if (wr_qforest_predict(a->f, a->X, a->n, 2, P) != WR_OK ||
            memcmp(P, a->expect, a->n * 5 * sizeof *P) != 0)
            a->ok = 0;
    }
    free(P);
    return NULL;
}

START_TEST(test_concurrent_predict)
{
    float *X, *y;
    size_t n;
    wr_quantile_forest *f = small_fit("threads=2", NULL, &X, &y, &n);
    float *P = malloc(n * 5 * sizeof *P);
    WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, P));
    pthread_t th[4];
    pred_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (pred_arg){f, X, n, P, 0};
        pthread_create(&th[i], NULL, pred_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert(args[i].ok);
    }
    /* one row at a time gives the same as a block */
    float one[5];
    for (size_t i = 0; i < 50; i++) {
        WR_ASSERT_OK(wr_qforest_predict(f, X + 2 * i, 1, 2, one));
        ck_assert(memcmp(one, P + 5 * i, sizeof one) == 0);
    }
    free(P);
    free(X);
    free(y);
    wr_qforest_free(f);
}
END_TEST

typedef struct prog_log {
    int calls, cancel_at;
    int64_t last_step;
    bool monotone, finite;
} prog_log;

static int progress_cb(void *user, const char *stage, int64_t step, int64_t total,
                       double m1, double m2)
{
    prog_log *l = user;
    l->calls++;
    if (step != l->last_step + 1 || strcmp(stage, "forest.fit") != 0 || total != 30)
        l->monotone = false;
    if (!isfinite(m1) || !isfinite(m2)) l->finite = false;
    l->last_step = step;
    return l->cancel_at > 0 && step >= l->cancel_at;
}

START_TEST(test_progress_cancel)
{
    float *X, *y;
    size_t n;
    wr_quantile_forest *f = small_fit("rounds=30", NULL, &X, &y, &n);
    float *P1 = malloc(n * 5 * sizeof *P1), *P2 = malloc(n * 5 * sizeof *P2);
    WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, P1));
    prog_log log = {0, 0, 0, true, true};
    wr_qforest_set_progress(f, progress_cb, &log);
    WR_ASSERT_OK(wr_qforest_fit(f, X, n, 2, y, NULL, X, 500, y, NULL));
    ck_assert_int_eq(log.calls, 30);
    ck_assert(log.monotone && log.finite);
    WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, P1));
    /* cancelled refit with other parameters: the model stays as it was */
    prog_log log2 = {0, 3, 0, true, true};
    wr_qforest_set_progress(f, progress_cb, &log2);
    WR_ASSERT_OK(wr_qforest_set_params(f, "max_leaves=4"));
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_CANCELLED);
    ck_assert_int_eq(log2.calls, 3);
    WR_ASSERT_OK(wr_qforest_predict(f, X, n, 2, P2));
    ck_assert(memcmp(P1, P2, n * 5 * sizeof *P1) == 0);
    ck_assert_uint_eq(wr_qforest_n_rounds(f), 30);
    free(P1);
    free(P2);
    free(X);
    free(y);
    wr_qforest_free(f);
}
END_TEST

/* Pure noise: validation loss stops improving early. */
START_TEST(test_early_stopping)
{
    const size_t n = 4000;
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    wr__rng r;
    wr__rng_seed(&r, 17, 0);
    for (size_t i = 0; i < 2 * n; i++) X[i] = (float)wr__rng_uniform(&r);
    for (size_t i = 0; i < n; i++) y[i] = (float)wr__rng_normal(&r);
    const char *modes[2] = {"multi=shared", "multi=independent"};
    for (int mo = 0; mo < 2; mo++) {
        wr_quantile_forest *f = NULL;
        WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
        WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=300 learning_rate=0.5 "
                                              "early_stopping_rounds=5 min_samples_leaf=5"));
        WR_ASSERT_OK(wr_qforest_set_params(f, modes[mo]));
        WR_ASSERT_OK(wr_qforest_fit(f, X, n / 2, 2, y, NULL, X + n, n / 2, y + n / 2, NULL));
        size_t kept = wr_qforest_n_rounds(f);
        ck_assert_msg(kept < 100, "%s: %zu rounds kept", modes[mo], kept);
        wr_qforest_free(f);
    }
    free(X);
    free(y);
}
END_TEST

START_TEST(test_params_and_levels)
{
    wr_quantile_forest *f = NULL;
    WR_ASSERT_OK(wr_qforest_create(NULL, 0, &f));
    ck_assert_uint_eq(wr_qforest_n_levels(f), 21);
    double lv[21];
    WR_ASSERT_OK(wr_qforest_levels(f, lv, 21));
    ck_assert_double_eq(lv[0], 0.01);
    ck_assert_double_eq(lv[10], 0.5);
    ck_assert_double_eq(lv[20], 0.99);
    WR_ASSERT_FAILS(wr_qforest_levels(f, lv, 20), WR_ERR_INVALID_ARG);
    char buf[64];
    WR_ASSERT_OK(wr_qforest_get_param(f, "rounds", buf, sizeof buf));
    ck_assert_str_eq(buf, "100");
    WR_ASSERT_OK(wr_qforest_set_param(f, "max_leaves", "63"));
    double v = 0;
    WR_ASSERT_OK(wr_qforest_get_param_num(f, "max_leaves", &v));
    ck_assert_double_eq(v, 63);
    WR_ASSERT_OK(wr_qforest_set_param_num(f, "learning_rate", 0.25));
    WR_ASSERT_OK(wr_qforest_get_param(f, "learning_rate", buf, sizeof buf));
    ck_assert_str_eq(buf, "0.25");
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "max_bins", "256"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "nonsense", "1"), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "nonsense"));
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "subsample", "0"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "multi", "both"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_params(f, "rounds=5 max_depth=-1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_qforest_get_param(f, "rounds", buf, sizeof buf));
    ck_assert_str_eq(buf, "100"); /* all-or-nothing */
    WR_ASSERT_FAILS(wr_qforest_set_param_num(f, "rounds", 1.5), WR_ERR_INVALID_ARG);
    wr_qforest_free(f);
    wr_qforest_free(NULL);
}
END_TEST

START_TEST(test_bad_inputs)
{
    const double bad_order[3] = {0.1, 0.5, 0.3}, bad_range[2] = {0.0, 0.5};
    const double bad_one[1] = {1.0};
    wr_quantile_forest *f = NULL;
    WR_ASSERT_FAILS(wr_qforest_create(bad_order, 3, &f), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "levels"));
    WR_ASSERT_FAILS(wr_qforest_create(bad_range, 2, &f), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_create(bad_one, 1, &f), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_create(LV, 0, &f), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_create(LV, 5, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
    float X[40], y[20], w[20], P[100];
    for (int i = 0; i < 20; i++) {
        X[2 * i] = (float)i;
        X[2 * i + 1] = (float)(i % 3);
        y[i] = (float)i;
        w[i] = 1.0f;
    }
    WR_ASSERT_FAILS(wr_qforest_predict(f, X, 20, 2, P), WR_ERR_NOT_FITTED);
    void *buf;
    size_t size;
    WR_ASSERT_FAILS(wr_qforest_to_bytes(f, &buf, &size), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_qforest_save(f, "/tmp/never"), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 0, 2, y, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 0, y, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit(f, NULL, 20, 2, y, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, NULL, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    X[7] = NAN;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'X'"));
    X[7] = INFINITY;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    X[7] = 3.0f;
    y[4] = NAN;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'y'"));
    y[4] = 4.0f;
    w[3] = -1.0f;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, w, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'w'"));
    for (int i = 0; i < 20; i++) w[i] = 0.0f;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, w, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "zero"));
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, NULL, X, 0, y, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 20, 2, y, NULL, X, 5, NULL, NULL), WR_ERR_INVALID_ARG);
    y[2] = NAN;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, 10, 2, y + 10, NULL, X, 5, y, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "y_val"));
    y[2] = 2.0f;
    ck_assert_uint_eq(wr_qforest_n_features(f), 0);
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=3 min_samples_leaf=2"));
    WR_ASSERT_OK(wr_qforest_fit(f, X, 20, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_FAILS(wr_qforest_predict(f, X, 10, 3, P), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'d'"));
    WR_ASSERT_FAILS(wr_qforest_predict(f, X, 10, 2, NULL), WR_ERR_INVALID_ARG);
    X[0] = NAN;
    WR_ASSERT_FAILS(wr_qforest_predict(f, X, 10, 2, P), WR_ERR_INVALID_ARG);
    X[0] = 0.0f;
    WR_ASSERT_OK(wr_qforest_predict(f, X, 0, 2, P)); /* nothing to do */
    wr_quantile_forest *g = f;
    WR_ASSERT_FAILS(wr_qforest_from_bytes("garbage", 7, &g), WR_ERR_FORMAT);
    ck_assert_ptr_null(g);
    wr_qforest_free(f);
}
END_TEST

/* Degenerate but valid inputs: one row, constant features, constant y,
 * tiny weights; the model must fit and predict sensibly. */
START_TEST(test_degenerate_inputs)
{
    wr_quantile_forest *f = NULL;
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
    float x1[2] = {1.0f, 2.0f}, y1[1] = {3.5f}, P[5 * 200];
    WR_ASSERT_OK(wr_qforest_fit(f, x1, 1, 2, y1, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_predict(f, x1, 1, 2, P));
    for (int q = 0; q < 5; q++) ck_assert_float_eq(P[q], 3.5f);
    float X[400], y[200], w[200];
    for (int i = 0; i < 200; i++) {
        X[2 * i] = 7.0f;                /* constant feature */
        X[2 * i + 1] = (float)(i % 10); /* informative */
        y[i] = (float)(i % 10) * 2.0f;  /* deterministic in x1 */
        w[i] = 1e-30f;                  /* tiny but valid weights */
    }
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=60 learning_rate=0.5 min_samples_leaf=5 "
                                          "min_weight_leaf=0"));
    WR_ASSERT_OK(wr_qforest_fit(f, X, 200, 2, y, w, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_predict(f, X, 200, 2, P));
    for (int i = 0; i < 200; i++) /* every level recovers y exactly */
        for (int q = 0; q < 5; q++) ck_assert_float_eq_tol(P[5 * i + q], y[i], 1e-3);
    for (int i = 0; i < 200; i++) y[i] = 1.25f; /* constant target */
    WR_ASSERT_OK(wr_qforest_fit(f, X, 200, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_predict(f, X, 200, 2, P));
    for (int i = 0; i < 5 * 200; i++) ck_assert_float_eq(P[i], 1.25f);
    wr_qforest_free(f);
}
END_TEST

/* ----------------------------------------------------- hostile payloads */

/* A valid hand-made model: d = 2, Q = 2, one group, one tree
 * node0: x1 <= bin 1 ? node1 : node2; node1 leaf 0; node2 leaf 1. */
typedef struct toy_model {
    wr__qf_model *m;
    wr__qf_node nodes[3];
    float values[4];
    double levels[2];
    wr__qf_params p;
} toy_model;

static void toy_init(toy_model *t)
{
    t->m = wr__qf_model_new(2, 2, 1);
    t->levels[0] = 0.25;
    t->levels[1] = 0.75;
    for (int f = 0; f < 2; f++) {
        t->m->nbins[f] = 4;
        for (int b = 0; b < 3; b++) t->m->edges[f * WR__QF_MAX_BINS + b] = (float)b;
    }
    t->m->init[0] = -1.0;
    t->m->init[1] = 1.0;
    t->nodes[0] = (wr__qf_node){1, 1, 0, 1};
    t->nodes[1] = (wr__qf_node){0, 0, 1, 0};
    t->nodes[2] = (wr__qf_node){0, 0, 1, 1};
    const float v[4] = {-0.5f, -0.25f, 0.25f, 0.5f};
    memcpy(t->values, v, sizeof v);
    wr__params_defaults(&wr__qf_param_table, &t->p);
    wr__qf_group *g = &t->m->groups[0];
    g->q0 = 0;
    g->q1 = 2;
    g->trees = malloc(sizeof *g->trees);
    g->cap = 1;
    g->n_trees = 1;
    g->trees[0].n_nodes = 3;
    g->trees[0].n_leaves = 2;
    g->trees[0].nodes = t->nodes;
    g->trees[0].values = t->values;
}

static void toy_done(toy_model *t)
{
    t->m->groups[0].n_trees = 0; /* nodes and values are the test's */
    wr__qf_model_free(t->m);
}

static wr_status toy_load(toy_model *t, wr_quantile_forest **out)
{
    wr__writer w;
    wr__w_init(&w);
    ck_assert_int_eq(wr__qf_write(&w, &t->p, t->levels, t->m), WR_OK);
    void *buf = NULL;
    size_t size = 0;
    ck_assert_int_eq(wr__container_pack(WR_KIND_QUANTILE_FOREST, WR__QF_KIND_VERSION,
                                        w.data, w.size, &buf, &size), WR_OK);
    wr__w_free(&w);
    *out = NULL;
    wr_status st = wr_qforest_from_bytes(buf, size, out);
    free(buf);
    return st;
}

START_TEST(test_hostile_payloads)
{
    toy_model t;
    toy_init(&t);
    wr_quantile_forest *f = NULL;
    WR_ASSERT_OK(toy_load(&t, &f));
    float x[4] = {0.0f, 0.5f, 0.0f, 2.5f}, P[4];
    WR_ASSERT_OK(wr_qforest_predict(f, x, 2, 2, P));
    ck_assert_float_eq(P[0], -1.5f); /* x1 = 0.5 <= edge 1: leaf 0 */
    ck_assert_float_eq(P[1], 0.75f);
    ck_assert_float_eq(P[2], -0.75f); /* x1 = 2.5: bin 3 > 1: leaf 1 */
    ck_assert_float_eq(P[3], 1.5f);
    wr_qforest_free(f);
    /* Each corruption alone must be rejected. */
    struct { int field; int32_t value; } cases[] = {
        {0, 0},  /* root child points to itself: a loop */
        {0, 2},  /* child + 1 past the end */
        {0, -5}, /* negative child */
        {1, 2},  /* feature out of range */
        {2, 3},  /* bin at the last bin (no right side) */
        {3, 2},  /* leaf value index out of range */
        {4, 7},  /* leaf flag not 0/1 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        wr__qf_node save[3];
        memcpy(save, t.nodes, sizeof save);
        switch (cases[c].field) {
        case 0: t.nodes[0].child = cases[c].value; break;
        case 1: t.nodes[0].feature = (uint16_t)cases[c].value; break;
        case 2: t.nodes[0].bin = (uint8_t)cases[c].value; break;
        case 3: t.nodes[2].child = cases[c].value; break;
        case 4: t.nodes[1].leaf = (uint8_t)cases[c].value; break;
        }
        WR_ASSERT_FAILS(toy_load(&t, &f), WR_ERR_FORMAT);
        ck_assert_ptr_null(f);
        memcpy(t.nodes, save, sizeof save);
    }
    t.values[2] = NAN;
    WR_ASSERT_FAILS(toy_load(&t, &f), WR_ERR_FORMAT);
    t.values[2] = 0.25f;
    t.m->edges[WR__QF_MAX_BINS + 2] = 0.5f; /* not increasing */
    WR_ASSERT_FAILS(toy_load(&t, &f), WR_ERR_FORMAT);
    t.m->edges[WR__QF_MAX_BINS + 2] = 2.0f;
    t.m->groups[0].q1 = 1; /* groups miss level 1 */
    WR_ASSERT_FAILS(toy_load(&t, &f), WR_ERR_FORMAT);
    t.m->groups[0].q1 = 2;
    t.levels[1] = 0.2; /* unsorted levels */
    WR_ASSERT_FAILS(toy_load(&t, &f), WR_ERR_FORMAT);
    t.levels[1] = 0.75;
    WR_ASSERT_OK(toy_load(&t, &f));
    wr_qforest_free(f);
    /* Every truncation and every single-byte change of the payload
     * (re-packed with a valid CRC) loads or fails cleanly. */
    wr__writer w;
    wr__w_init(&w);
    WR_ASSERT_OK(wr__qf_write(&w, &t.p, t.levels, t.m));
    for (size_t cut = 0; cut < w.size; cut++) {
        void *buf;
        size_t size;
        WR_ASSERT_OK(wr__container_pack(WR_KIND_QUANTILE_FOREST, 1, w.data, cut, &buf, &size));
        ck_assert_int_eq(wr_qforest_from_bytes(buf, size, &f), WR_ERR_FORMAT);
        free(buf);
    }
    unsigned char *copy = malloc(w.size);
    for (size_t pos = 0; pos < w.size; pos++) {
        for (int delta = 1; delta < 256; delta += 37) {
            memcpy(copy, w.data, w.size);
            copy[pos] = (unsigned char)(copy[pos] + delta);
            void *buf;
            size_t size;
            WR_ASSERT_OK(wr__container_pack(WR_KIND_QUANTILE_FOREST, 1, copy, w.size, &buf, &size));
            f = NULL;
            wr_status st = wr_qforest_from_bytes(buf, size, &f);
            if (st == WR_OK) { /* a harmless change: the model must work */
                ck_assert_int_eq(wr_qforest_predict(f, x, 2, 2, P), WR_OK);
                wr_qforest_free(f);
            } else {
                ck_assert_int_eq(st, WR_ERR_FORMAT);
            }
            free(buf);
        }
    }
    free(copy);
    wr__w_free(&w);
    /* another kind's container */
    void *buf;
    size_t size;
    WR_ASSERT_OK(wr__container_pack(WR_KIND_REGRESSOR, 1, "x", 1, &buf, &size));
    WR_ASSERT_FAILS(wr_qforest_from_bytes(buf, size, &f), WR_ERR_WRONG_KIND);
    free(buf);
    toy_done(&t);
}
END_TEST

/* Binning and selection helpers against brute force. */
/* Continued fit: 20 rounds then 10 more on the same rows equals 30 rounds
 * from scratch (same bins, same random streams, scores summed in the same
 * order), for both groupings and with row subsampling. */
static void check_continue_equals_scratch(const char *params)
{
    const size_t n = 4000, nt = 500;
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    float *Xt = malloc(nt * 2 * sizeof *Xt), *yt = malloc(nt * sizeof *yt);
    float *p1 = malloc(nt * 5 * sizeof *p1), *p2 = malloc(nt * 5 * sizeof *p2);
    make_normal(n, 21, X, y);
    make_normal(nt, 22, Xt, yt);
    wr_quantile_forest *full = NULL, *base = NULL, *more = NULL;
    char kv[256];
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &full));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &base));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &more));
    snprintf(kv, sizeof kv, "%s rounds=30", params);
    WR_ASSERT_OK(wr_qforest_set_params(full, kv));
    snprintf(kv, sizeof kv, "%s rounds=20", params);
    WR_ASSERT_OK(wr_qforest_set_params(base, kv));
    snprintf(kv, sizeof kv, "%s rounds=10", params);
    WR_ASSERT_OK(wr_qforest_set_params(more, kv));
    WR_ASSERT_OK(wr_qforest_fit(full, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_fit(base, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_fit_from(more, base, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    ck_assert_uint_eq(wr_qforest_n_rounds(more), 30);
    WR_ASSERT_OK(wr_qforest_predict(full, Xt, nt, 2, p1));
    WR_ASSERT_OK(wr_qforest_predict(more, Xt, nt, 2, p2));
    ck_assert_msg(memcmp(p1, p2, nt * 5 * sizeof *p1) == 0, "%s: continued != scratch", params);
    /* continuing a forest from itself appends to its own trees */
    WR_ASSERT_OK(wr_qforest_fit_from(base, base, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    ck_assert_uint_eq(wr_qforest_n_rounds(base), 40);
    wr_qforest_free(full);
    wr_qforest_free(base);
    wr_qforest_free(more);
    free(X), free(y), free(Xt), free(yt), free(p1), free(p2);
}

START_TEST(test_fit_from_equals_scratch)
{
    check_continue_equals_scratch("multi=shared");
    check_continue_equals_scratch("multi=independent");
    check_continue_equals_scratch("multi=shared subsample=0.7 colsample=0.5 seed=5");
}
END_TEST

/* A sample that differs from the base's by a shift c(x) = 0.3 + 0.4 x0:
 * a few continued rounds learn the shift (the continued quantiles minus the
 * base's match c within 0.05 on a grid), and the difference is far less
 * noisy than that of a separate fit of the shifted sample (the base's
 * statistical noise is shared, not doubled). */
START_TEST(test_fit_from_learns_difference)
{
    const size_t n = 20000, ng = 20;
    float *X = malloc(n * 2 * sizeof *X), *y = malloc(n * sizeof *y);
    float *X2 = malloc(n * 2 * sizeof *X2), *y2 = malloc(n * sizeof *y2);
    make_normal(n, 31, X, y);
    make_normal(n, 32, X2, y2);
    for (size_t i = 0; i < n; i++) y2[i] += 0.3f + 0.4f * X2[2 * i];
    wr_quantile_forest *base = NULL, *cont = NULL, *sep = NULL;
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &base));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &cont));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &sep));
    WR_ASSERT_OK(wr_qforest_set_params(base, "rounds=150"));
    WR_ASSERT_OK(wr_qforest_set_params(sep, "rounds=150"));
    WR_ASSERT_OK(wr_qforest_set_params(cont, "rounds=40 max_leaves=4 min_samples_leaf=1000"));
    WR_ASSERT_OK(wr_qforest_fit(base, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_fit(sep, X2, n, 2, y2, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_fit_from(cont, base, X2, n, 2, y2, NULL, NULL, 0, NULL, NULL));
    float grid[20 * 20 * 2], pb[20 * 20 * 5], pc[20 * 20 * 5], ps[20 * 20 * 5];
    unit_grid(ng, grid);
    WR_ASSERT_OK(wr_qforest_predict(base, grid, ng * ng, 2, pb));
    WR_ASSERT_OK(wr_qforest_predict(cont, grid, ng * ng, 2, pc));
    WR_ASSERT_OK(wr_qforest_predict(sep, grid, ng * ng, 2, ps));
    double ec = 0, es = 0;
    for (size_t i = 0; i < ng * ng; i++)
        for (size_t q = 1; q < 4; q++) { /* central levels */
            double c = 0.3 + 0.4 * grid[2 * i];
            ec += pow(pc[i * 5 + q] - pb[i * 5 + q] - c, 2);
            es += pow(ps[i * 5 + q] - pb[i * 5 + q] - c, 2);
        }
    ec = sqrt(ec / (3.0 * ng * ng));
    es = sqrt(es / (3.0 * ng * ng));
    if (getenv("WR_TEST_VERBOSE")) fprintf(stderr, "difference rms: continued %g separate %g\n", ec, es);
    ck_assert_msg(ec < 0.05, "continued difference rms %g", ec);
    ck_assert_msg(ec < 0.6 * es, "continued %g vs separate %g", ec, es);
    wr_qforest_free(base);
    wr_qforest_free(cont);
    wr_qforest_free(sep);
    free(X), free(y), free(X2), free(y2);
}
END_TEST

/* Bad bases fail with a message and leave f's model unchanged; early
 * stopping never removes the base's trees. */
START_TEST(test_fit_from_bad_base)
{
    const size_t n = 2000;
    float *X = malloc(n * 3 * sizeof *X), *y = malloc(n * sizeof *y);
    make_normal(n, 41, X, y);
    static const double L3[3] = {0.1, 0.5, 0.9};
    wr_quantile_forest *base = NULL, *f = NULL, *unfit = NULL, *other = NULL, *ind = NULL;
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &base));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &f));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &unfit));
    WR_ASSERT_OK(wr_qforest_create(L3, 3, &other));
    WR_ASSERT_OK(wr_qforest_create(LV, 5, &ind));
    WR_ASSERT_OK(wr_qforest_set_params(base, "rounds=20"));
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=5"));
    WR_ASSERT_OK(wr_qforest_set_params(other, "rounds=5"));
    WR_ASSERT_OK(wr_qforest_set_params(ind, "rounds=5 multi=independent"));
    WR_ASSERT_OK(wr_qforest_fit(base, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_fit(f, X, n, 2, y, NULL, NULL, 0, NULL, NULL));
    float p0[5], p1[5];
    WR_ASSERT_OK(wr_qforest_predict(f, X, 1, 2, p0));
    WR_ASSERT_FAILS(wr_qforest_fit_from(f, NULL, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit_from(NULL, base, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit_from(f, unfit, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_qforest_fit_from(other, base, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit_from(f, base, X, n / 2, 3, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit_from(ind, base, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    y[7] = NAN;
    WR_ASSERT_FAILS(wr_qforest_fit_from(f, base, X, n, 2, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    y[7] = 0.0f;
    WR_ASSERT_OK(wr_qforest_predict(f, X, 1, 2, p1));
    ck_assert(memcmp(p0, p1, sizeof p0) == 0);
    ck_assert_uint_eq(wr_qforest_n_rounds(f), 5);
    /* validation rows from another distribution: no new round helps, and
     * early stopping keeps exactly the base's 20 trees */
    float *yv = malloc(n * sizeof *yv);
    for (size_t i = 0; i < n; i++) yv[i] = y[i] + 5.0f * (X[2 * i] > 0.5f ? 1.0f : -1.0f);
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=30 early_stopping_rounds=3 learning_rate=1"));
    WR_ASSERT_OK(wr_qforest_fit_from(f, base, X, n, 2, y, NULL, X, n, yv, NULL));
    ck_assert_uint_ge(wr_qforest_n_rounds(f), 20);
    ck_assert_uint_lt(wr_qforest_n_rounds(f), 50);
    free(yv);
    wr_qforest_free(base);
    wr_qforest_free(f);
    wr_qforest_free(unfit);
    wr_qforest_free(other);
    wr_qforest_free(ind);
    free(X), free(y);
}
END_TEST

START_TEST(test_quantile_helper)
{
    float v[101], w[101], v2[101], w2[101];
    wr__rng r;
    wr__rng_seed(&r, 2, 0);
    for (int rep = 0; rep < 200; rep++) {
        size_t m = 1 + (size_t)wr__rng_below(&r, 100);
        for (size_t i = 0; i < m; i++) {
            v[i] = (float)wr__rng_below(&r, 20); /* many ties */
            w[i] = (float)wr__rng_below(&r, 4);
        }
        w[0] = 1.0f;
        double tau = wr__rng_uniform(&r), total = 0.0;
        for (size_t i = 0; i < m; i++) total += w[i];
        /* brute force: smallest v with cumulative weight >= tau * total */
        double expect = INFINITY;
        for (size_t i = 0; i < m; i++) {
            double cw = 0.0;
            for (size_t k = 0; k < m; k++) cw += v[k] <= v[i] ? w[k] : 0.0;
            if (cw >= tau * total && v[i] < expect) expect = v[i];
        }
        memcpy(v2, v, m * sizeof *v);
        memcpy(w2, w, m * sizeof *w);
        ck_assert_double_eq(wr__qf_wquantile(v2, w2, m, tau), expect);
    }
    float e[WR__QF_MAX_BINS] = {1.0f, 2.0f, 3.0f};
    ck_assert_uint_eq(wr__qf_bin1(e, 4, 0.5f), 0);
    ck_assert_uint_eq(wr__qf_bin1(e, 4, 1.0f), 0);
    ck_assert_uint_eq(wr__qf_bin1(e, 4, 1.5f), 1);
    ck_assert_uint_eq(wr__qf_bin1(e, 4, 3.0f), 2);
    ck_assert_uint_eq(wr__qf_bin1(e, 4, 30.0f), 3);
    ck_assert_uint_eq(wr__qf_bin1(e, 1, 30.0f), 0);
}
END_TEST

static Suite *forest_suite(void)
{
    Suite *s = suite_create("forest");
    TCase *tc = tcase_create("forest");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_quantile_helper);
    tcase_add_test(tc, test_params_and_levels);
    tcase_add_test(tc, test_bad_inputs);
    tcase_add_test(tc, test_hostile_payloads);
    tcase_add_test(tc, test_degenerate_inputs);
    tcase_add_test(tc, test_analytic_shared);
    tcase_add_test(tc, test_analytic_independent);
    tcase_add_test(tc, test_non_crossing);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_weights_vs_duplicates);
    tcase_add_test(tc, test_thread_count_independent);
    tcase_add_test(tc, test_concurrent_predict);
    tcase_add_test(tc, test_progress_cancel);
    tcase_add_test(tc, test_early_stopping);
    tcase_add_test(tc, test_fit_from_equals_scratch);
    tcase_add_test(tc, test_fit_from_learns_difference);
    tcase_add_test(tc, test_fit_from_bad_base);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(forest_suite)
