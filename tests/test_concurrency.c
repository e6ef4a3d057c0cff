/* tests/test_concurrency.c -- one fitted handle used from many threads at
 * once gives exactly the results of one thread (forest predict, regressor
 * predict, morpher apply, recoil features, toy generation); fits on
 * separate handles run concurrently and give the sequential result; an
 * error in one thread never shows in another thread's wr_last_error().
 * `make check-tsan` runs this file under ThreadSanitizer (its name contains
 * "concurrency"), so the models are small. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

enum { NT = 8, REPEAT = 3 };

/* unif(), gauss(): deterministic data from tests/testutil.h */

static void make_xy(size_t n, size_t d, uint64_t seed, float *X, float *y)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) X[i * d + j] = gauss(seed * 1000003u + i * d + j);
        y[i] = X[i * d] + 0.5f * X[i * d + 1] + 0.3f * gauss(seed * 7919u + 5000000u + i);
    }
}

/* Runs fn(arg, thread index) on NT threads started together. */
typedef struct team {
    pthread_barrier_t go;
    void *(*fn)(void *arg, int tid);
    void *arg;
    void *result[NT];
} team;
typedef struct member {
    team *t;
    int tid;
} member;

static void *member_main(void *v)
{
    member *m = v;
    pthread_barrier_wait(&m->t->go);
    m->t->result[m->tid] = m->t->fn(m->t->arg, m->tid);
    return NULL;
}

static void run_team(team *t)
{
    pthread_t th[NT];
    member mem[NT];
    ck_assert_int_eq(pthread_barrier_init(&t->go, NULL, NT), 0);
    for (int i = 0; i < NT; i++) {
        mem[i] = (member){t, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, member_main, &mem[i]), 0);
    }
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&t->go);
}

/* Each worker returns NULL on success or a malloc'ed message. */
static void check_team(const team *t)
{
    for (int i = 0; i < NT; i++)
        if (t->result[i]) {
            char msg[512];
            snprintf(msg, sizeof msg, "thread %d: %s", i, (char *)t->result[i]);
            for (int j = 0; j < NT; j++) free(t->result[j]);
            ck_abort_msg("%s", msg);
        }
}

static void *fail_msg(const char *what)
{
    char buf[400];
    snprintf(buf, sizeof buf, "%s (%s)", what, wr_last_error());
    return strdup(buf);
}

/* ------------------------------------------------------ forest predict */
enum { FN = 600, FD = 3, FP = 257 };
typedef struct forest_job {
    const wr_quantile_forest *f;
    const float *X;
    const float *ref;
    size_t Q;
} forest_job;

static void *forest_worker(void *v, int tid)
{
    forest_job *j = v;
    float *out = malloc(FP * j->Q * sizeof *out);
    for (int r = 0; r < REPEAT; r++) {
        /* different row windows in different threads: offsets by tid */
        size_t off = (size_t)(tid % 3);
        if (wr_qforest_predict(j->f, j->X + off * FD, FP - off, FD, out) != WR_OK) {
            free(out);
            return fail_msg("predict failed");
        }
        if (memcmp(out, j->ref + off * j->Q, (FP - off) * j->Q * sizeof *out) != 0) {
            free(out);
            return strdup("predictions differ from one thread's");
        }
    }
    free(out);
    return NULL;
}

START_TEST(test_forest_predict_threads)
{
    float *X = malloc(FN * FD * sizeof *X), *y = malloc(FN * sizeof *y);
    make_xy(FN, FD, 1, X, y);
    wr_quantile_forest *f;
    WR_ASSERT_OK(wr_qforest_create(NULL, 0, &f));
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=8 max_leaves=8 min_samples_leaf=10 threads=1"));
    WR_ASSERT_OK(wr_qforest_fit(f, X, FN, FD, y, NULL, NULL, 0, NULL, NULL));
    size_t Q = wr_qforest_n_levels(f);
    /* internal threads too (predict splits large batches) */
    for (int internal = 1; internal <= 2; internal++) {
        char p[32];
        snprintf(p, sizeof p, "threads=%d", internal);
        WR_ASSERT_OK(wr_qforest_set_params(f, p));
        float *ref = malloc(FP * Q * sizeof *ref);
        WR_ASSERT_OK(wr_qforest_predict(f, X, FP, FD, ref));
        forest_job j = {f, X, ref, Q};
        team t = {.fn = forest_worker, .arg = &j};
        run_team(&t);
        check_team(&t);
        free(ref);
    }
    wr_qforest_free(f);
    free(X);
    free(y);
}
END_TEST

/* ---------------------------------------------------- regressor predict */
enum { RN = 400, RD = 2, RP = 300 };
typedef struct reg_job {
    const wr_regressor *r;
    const float *X;
    const double *ref, *ref_cdf;
    const double *t;
    size_t k;
} reg_job;

static void *reg_worker(void *v, int tid)
{
    reg_job *j = v;
    (void)tid;
    double *p = malloc(RP * j->k * sizeof *p), *c = malloc(RP * sizeof *c);
    void *err = NULL;
    for (int r = 0; r < REPEAT && !err; r++) {
        if (wr_regressor_predict(j->r, j->X, RP, RD, p, j->k) != WR_OK ||
            wr_regressor_cdf(j->r, j->X, RP, RD, j->t, 1, c) != WR_OK)
            err = fail_msg("predict failed");
        else if (memcmp(p, j->ref, RP * j->k * sizeof *p) != 0 ||
                 memcmp(c, j->ref_cdf, RP * sizeof *c) != 0)
            err = strdup("parameters differ from one thread's");
    }
    free(p);
    free(c);
    return err;
}

START_TEST(test_regressor_predict_threads)
{
    float *X = malloc(RN * RD * sizeof *X), *y = malloc(RN * sizeof *y);
    make_xy(RN, RD, 2, X, y);
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_params(r, "hidden=8 epochs=2 batch_size=64 threads=1"));
    WR_ASSERT_OK(wr_regressor_fit(r, X, RN, RD, y, NULL, NULL, 0, NULL, NULL));
    size_t k = wr_pdf_n_params(wr_regressor_family(r));
    double *ref = malloc(RP * k * sizeof *ref), *ref_cdf = malloc(RP * sizeof *ref_cdf);
    double *t = malloc(RP * sizeof *t);
    for (size_t i = 0; i < RP; i++) t[i] = y[i];
    WR_ASSERT_OK(wr_regressor_predict(r, X, RP, RD, ref, k));
    WR_ASSERT_OK(wr_regressor_cdf(r, X, RP, RD, t, 1, ref_cdf));
    reg_job j = {r, X, ref, ref_cdf, t, k};
    team tm = {.fn = reg_worker, .arg = &j};
    run_team(&tm);
    check_team(&tm);
    wr_regressor_free(r);
    free(ref);
    free(ref_cdf);
    free(t);
    free(X);
    free(y);
}
END_TEST

/* ------------------------------------------------------- morpher apply */
enum { MN = 500, MP = 200 };
typedef struct morph_job {
    const wr_morpher *m;
    const float *z, *y, *ref;
    const double *ref_u;
} morph_job;

static void *morph_worker(void *v, int tid)
{
    morph_job *j = v;
    float out[MP * 2];
    double u[MP * 2];
    (void)tid;
    for (int r = 0; r < REPEAT; r++) {
        if (wr_morpher_apply(j->m, j->z, j->y, MP, out, u) != WR_OK)
            return fail_msg("apply failed");
        if (memcmp(out, j->ref, sizeof out) != 0 || memcmp(u, j->ref_u, sizeof u) != 0)
            return strdup("morphed values differ from one thread's");
    }
    return NULL;
}

START_TEST(test_morpher_apply_threads)
{
    float *zs = malloc(MN * sizeof *zs), *ys = malloc(2 * MN * sizeof *ys);
    float *zd = malloc(MN * sizeof *zd), *yd = malloc(2 * MN * sizeof *yd);
    for (size_t i = 0; i < MN; i++) {
        zs[i] = unif(10 * i);
        zd[i] = unif(10 * i + 1);
        ys[2 * i] = 1.0f + zs[i] + fabsf(gauss(10 * i + 2));
        yd[2 * i] = 1.3f + zd[i] + fabsf(gauss(10 * i + 3));
        ys[2 * i + 1] = 0.5f * gauss(10 * i + 4);
        yd[2 * i + 1] = 0.7f * gauss(10 * i + 5);
    }
    wr_morpher *m;
    WR_ASSERT_OK(wr_morpher_create(2, 1, NULL, 0, &m));
    WR_ASSERT_OK(wr_morpher_set_bounds(m, 0, 0.0, INFINITY));
    WR_ASSERT_OK(wr_morpher_set_params(m, "threads=1 interpolation=pchip"));
    WR_ASSERT_OK(wr_morpher_set_forest_params(m, WR_MORPH_BOTH,
                                              "rounds=4 max_leaves=4 min_samples_leaf=20"));
    WR_ASSERT_OK(wr_morpher_fit(m, zs, ys, NULL, MN, zd, yd, NULL, MN));
    float ref[MP * 2];
    double ref_u[MP * 2];
    WR_ASSERT_OK(wr_morpher_apply(m, zs, ys, MP, ref, ref_u));
    morph_job j = {m, zs, ys, ref, ref_u};
    team t = {.fn = morph_worker, .arg = &j};
    run_team(&t);
    check_team(&t);
    wr_morpher_free(m);
    free(zs);
    free(ys);
    free(zd);
    free(yd);
}
END_TEST

/* ------------------------------------------- toy generation and features */
enum { TE = 24 };
typedef struct toy_job {
    const wr_toy *toy;
    const double *ref_table;
    size_t ncols;
    const int64_t *offsets;
    const float *pt, *eta, *phi;
    const int32_t *charge, *vtx;
    const float *ref_features;
} toy_job;

static void *toy_worker(void *v, int tid)
{
    toy_job *j = v;
    (void)tid;
    double *tab = malloc(TE * j->ncols * sizeof *tab);
    float feat[TE * WR_N_FEATURES];
    void *err = NULL;
    for (int r = 0; r < REPEAT && !err; r++) {
        if (wr_toy_table(j->toy, 42, 100, TE, 1, tab) != WR_OK)
            err = fail_msg("wr_toy_table failed");
        else if (memcmp(tab, j->ref_table, TE * j->ncols * sizeof *tab) != 0)
            err = strdup("toy table differs from one thread's");
        else if (wr_recoil_features(TE, j->offsets, j->pt, j->eta, j->phi, j->charge, j->vtx,
                                    NULL, 1, feat, NULL, NULL, NULL) != WR_OK)
            err = fail_msg("wr_recoil_features failed");
        else if (memcmp(feat, j->ref_features, sizeof feat) != 0)
            err = strdup("features differ from one thread's");
    }
    free(tab);
    return err;
}

START_TEST(test_toy_and_features_threads)
{
    wr_toy *toy;
    WR_ASSERT_OK(wr_toy_create("W", "mc", &toy));
    size_t nc = wr_toy_table_ncols();
    double *ref = malloc(TE * nc * sizeof *ref);
    WR_ASSERT_OK(wr_toy_table(toy, 42, 100, TE, 1, ref));
    int64_t offsets[TE + 1];
    float *pt, *eta, *phi;
    int32_t *charge, *vtx;
    WR_ASSERT_OK(wr_toy_particles(toy, 42, 100, TE, 1, offsets, &pt, &eta, &phi, &charge,
                                  &vtx, NULL));
    float feat[TE * WR_N_FEATURES];
    WR_ASSERT_OK(wr_recoil_features(TE, offsets, pt, eta, phi, charge, vtx, NULL, 1, feat,
                                    NULL, NULL, NULL));
    toy_job j = {toy, ref, nc, offsets, pt, eta, phi, charge, vtx, feat};
    team t = {.fn = toy_worker, .arg = &j};
    run_team(&t);
    check_team(&t);
    wr_free(pt);
    wr_free(eta);
    wr_free(phi);
    wr_free(charge);
    wr_free(vtx);
    free(ref);
    wr_toy_free(toy);
}
END_TEST

/* ------------------------------------------ fits on separate handles */
typedef struct fit_job {
    const float *X, *y;
    const void *ref_forest, *ref_reg;
    size_t ref_forest_n, ref_reg_n;
} fit_job;

static wr_status fit_forest(const float *X, const float *y, void **buf, size_t *n)
{
    wr_quantile_forest *f;
    wr_status st = wr_qforest_create(NULL, 0, &f);
    if (st) return st;
    st = wr_qforest_set_params(f, "rounds=5 max_leaves=6 min_samples_leaf=10 threads=1 "
                                  "subsample=0.8 seed=3");
    if (!st) st = wr_qforest_fit(f, X, FN, FD, y, NULL, NULL, 0, NULL, NULL);
    if (!st) st = wr_qforest_to_bytes(f, buf, n);
    wr_qforest_free(f);
    return st;
}

static wr_status fit_reg(const float *X, const float *y, void **buf, size_t *n)
{
    wr_regressor *r;
    wr_status st = wr_regressor_create(&r);
    if (st) return st;
    st = wr_regressor_set_params(r, "family=gauss hidden=6 epochs=2 batch_size=100 threads=1");
    if (!st) st = wr_regressor_fit(r, X, FN, FD, y, NULL, NULL, 0, NULL, NULL);
    if (!st) st = wr_regressor_to_bytes(r, buf, n);
    wr_regressor_free(r);
    return st;
}

static void *fit_worker(void *v, int tid)
{
    fit_job *j = v;
    void *buf = NULL;
    size_t n = 0;
    /* half the threads fit forests, half regressors, each its own handle */
    if (tid % 2 == 0) {
        if (fit_forest(j->X, j->y, &buf, &n) != WR_OK) return fail_msg("forest fit failed");
        int same = n == j->ref_forest_n && memcmp(buf, j->ref_forest, n) == 0;
        wr_free(buf);
        return same ? NULL : strdup("concurrent forest fit differs from the sequential one");
    }
    if (fit_reg(j->X, j->y, &buf, &n) != WR_OK) return fail_msg("regressor fit failed");
    int same = n == j->ref_reg_n && memcmp(buf, j->ref_reg, n) == 0;
    wr_free(buf);
    return same ? NULL : strdup("concurrent regressor fit differs from the sequential one");
}

START_TEST(test_fits_on_separate_handles)
{
    float *X = malloc(FN * FD * sizeof *X), *y = malloc(FN * sizeof *y);
    make_xy(FN, FD, 3, X, y);
    void *rf, *rr;
    size_t nf, nr;
    WR_ASSERT_OK(fit_forest(X, y, &rf, &nf));
    WR_ASSERT_OK(fit_reg(X, y, &rr, &nr));
    fit_job j = {X, y, rf, rr, nf, nr};
    team t = {.fn = fit_worker, .arg = &j};
    run_team(&t);
    check_team(&t);
    wr_free(rf);
    wr_free(rr);
    free(X);
    free(y);
}
END_TEST

/* -------------------------------------------- thread-local last error */
typedef struct err_job {
    const wr_quantile_forest *f; /* fitted, 3 features */
    pthread_barrier_t *step;
} err_job;

static void *err_worker(void *v, int tid)
{
    err_job *j = v;
    float X[FD] = {0, 0, 0}, out[64];
    char want[64];
    wr_quantile_forest *own = NULL;
    if (wr_qforest_create(NULL, 0, &own) != WR_OK) return fail_msg("create failed");
    void *err = NULL;
    wr_clear_error();
    for (int round = 0; round < 20; round++) {
        /* odd threads fail with their own message, even threads succeed;
         * all threads check after everyone acted in this round */
        if (tid % 2) {
            snprintf(want, sizeof want, "zz-thread-%d-round-%d", tid, round);
            if (wr_qforest_set_param(own, want, "1") == WR_OK && !err)
                err = strdup("bad key accepted");
        } else if (wr_qforest_predict(j->f, X, 1, FD, out) != WR_OK && !err) {
            err = fail_msg("predict failed");
        }
        pthread_barrier_wait(j->step);
        const char *e = wr_last_error();
        if (err) {
        } else if (tid % 2 == 0 && e[0] != '\0') {
            char buf[300];
            snprintf(buf, sizeof buf, "a succeeding thread sees an error: %s", e);
            err = strdup(buf);
        } else if (tid % 2 && !strstr(e, want)) {
            char buf[300];
            snprintf(buf, sizeof buf, "own message lost: expected '%s' in '%s'", want, e);
            err = strdup(buf);
        }
        pthread_barrier_wait(j->step);
        wr_clear_error();
        /* a thread that failed keeps meeting the others at the barriers */
    }
    wr_qforest_free(own);
    if (err) return err;
    /* a failure in this thread, checked while others keep failing */
    if (wr_qforest_predict(j->f, X, 1, FD + 1, out) != WR_ERR_INVALID_ARG)
        return strdup("wrong d accepted");
    if (!strstr(wr_last_error(), "'d'") && !strstr(wr_last_error(), " d "))
        return fail_msg("message does not name d");
    return NULL;
}

START_TEST(test_last_error_thread_local)
{
    float *X = malloc(FN * FD * sizeof *X), *y = malloc(FN * sizeof *y);
    make_xy(FN, FD, 4, X, y);
    wr_quantile_forest *f;
    WR_ASSERT_OK(wr_qforest_create(NULL, 0, &f));
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=2 max_leaves=4 threads=1"));
    WR_ASSERT_OK(wr_qforest_fit(f, X, FN, FD, y, NULL, NULL, 0, NULL, NULL));
    pthread_barrier_t step;
    ck_assert_int_eq(pthread_barrier_init(&step, NULL, NT), 0);
    err_job j = {f, &step};
    team t = {.fn = err_worker, .arg = &j};
    wr_clear_error();
    run_team(&t);
    pthread_barrier_destroy(&step);
    check_team(&t);
    /* the main thread saw none of it */
    ck_assert_str_eq(wr_last_error(), "");
    wr_qforest_free(f);
    free(X);
    free(y);
}
END_TEST

static Suite *concurrency_suite(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("one handle, many threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_forest_predict_threads);
    tcase_add_test(tc, test_regressor_predict_threads);
    tcase_add_test(tc, test_morpher_apply_threads);
    tcase_add_test(tc, test_toy_and_features_threads);
    tcase_add_test(tc, test_fits_on_separate_handles);
    tcase_add_test(tc, test_last_error_thread_local);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(concurrency_suite)
