/* tests/test_robustness.c -- hostile model files, crash regressions from
 * fuzzing, "a failed call leaves the handle unchanged", data safety of
 * saves and table writes, extreme but legal inputs, and the bad-input cases
 * of docs/robustness.md that the module tests do not already cover.
 *
 * Hostile payloads are wrapped in a valid container (correct magic and
 * CRCs), so they reach each kind's payload decoder.  In a plain build the
 * hostile-payload tests run under a 512 MB data limit (RLIMIT_DATA): a
 * decoder that trusted a huge count would fail with WR_ERR_NOMEM instead of
 * WR_ERR_FORMAT (or be killed), so the expected WR_ERR_FORMAT proves that
 * counts are checked against the bytes present before anything is
 * allocated. */
#include "testutil.h"

#include "core.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ================================================================ helpers */

static int under_sanitizer_or_valgrind(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 1;
#else
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
    return 1;
#endif
#endif
    const char *pre = getenv("LD_PRELOAD");
    return (getenv("VALGRIND") && *getenv("VALGRIND")) || (pre && strstr(pre, "vgpreload"));
#endif
}

/* Caps the process' data segment (Check runs each test in its own child). */
static void limit_data(size_t bytes)
{
    if (under_sanitizer_or_valgrind()) return;
    struct rlimit rl = {bytes, bytes};
    ck_assert_int_eq(setrlimit(RLIMIT_DATA, &rl), 0);
}

/* A fresh empty directory under /tmp for this test. */
static void temp_dir(char *out, size_t len)
{
    snprintf(out, len, "/tmp/wr_robust_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(out));
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20;
    unsigned char *b = malloc(cap);
    *n = fread(b, 1, cap, f);
    fclose(f);
    return b;
}

static void write_file(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Wraps a payload (a writer's bytes) into a valid container. */
static void pack(uint32_t kind, uint32_t kind_version, wr__writer *w, void **buf, size_t *n)
{
    ck_assert(!w->failed);
    WR_ASSERT_OK(wr__container_pack(kind, kind_version, w->data, w->size, buf, n));
    wr__w_free(w);
}

/* unif(), gauss(): deterministic data from tests/testutil.h */
static void make_xy(size_t n, size_t d, uint64_t seed, float *X, float *y)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) X[i * d + j] = gauss(seed * 1000003u + i * d + j);
        y[i] = X[i * d] + (d > 1 ? 0.5f * X[i * d + 1] : 0.0f) +
               0.3f * gauss(seed * 7919u + 5000000u + i);
    }
}

static int all_finite_f(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}
static int all_finite_d(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static int cancel_at_2(void *u, const char *stage, int64_t step, int64_t total, double a,
                       double b)
{
    (void)u;
    (void)stage;
    (void)total;
    (void)a;
    (void)b;
    return step >= 2;
}

enum { N = 400, D = 3 };

static wr_quantile_forest *small_forest(const float *X, const float *y)
{
    wr_quantile_forest *f;
    static const double lv[3] = {0.1, 0.5, 0.9};
    WR_ASSERT_OK(wr_qforest_create(lv, 3, &f));
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=6 max_leaves=6 min_samples_leaf=10 threads=1"));
    WR_ASSERT_OK(wr_qforest_fit(f, X, N, D, y, NULL, NULL, 0, NULL, NULL));
    return f;
}

static wr_regressor *small_regressor(const float *X, const float *y)
{
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_params(r, "family=gauss hidden=6 epochs=3 batch_size=100 "
                                            "threads=1"));
    WR_ASSERT_OK(wr_regressor_fit(r, X, N, D, y, NULL, NULL, 0, NULL, NULL));
    return r;
}

/* ========================================== fuzz crash regressions */
/* Each file in fuzz/regressions/<target>/ is an input that crashed a fuzz
 * target (fuzz/fuzz.h: byte 0 selects container or payload mode).  They
 * are replayed through the targets by `make check` (tests/sh/fuzz_corpus.sh)
 * too; here each is loaded with the expected error. */
static void *load_fuzz_input(const char *path, uint32_t kind, size_t *n)
{
    size_t raw_n;
    unsigned char *raw = read_file(path, &raw_n);
    ck_assert_msg(raw != NULL, "%s missing", path);
    ck_assert_uint_ge(raw_n, 1);
    void *buf;
    if (raw[0] & 1) {
        WR_ASSERT_OK(wr__container_pack(kind, 1, raw + 1, raw_n - 1, &buf, n));
    } else {
        buf = malloc(raw_n);
        memcpy(buf, raw + 1, raw_n - 1);
        *n = raw_n - 1;
    }
    free(raw);
    return buf;
}

START_TEST(test_regression_forest_scores_beyond_float)
{
    /* fuzz_qforest: a finite initial score of 3.9e43 loaded and predicted
     * +inf.  A model whose init + leaf sums can exceed FLT_MAX is refused. */
    size_t n;
    void *buf = load_fuzz_input("fuzz/regressions/qforest/init-beyond-float-range",
                                WR_KIND_QUANTILE_FOREST, &n);
    wr_quantile_forest *f = NULL;
    WR_ASSERT_FAILS(wr_qforest_from_bytes(buf, n, &f), WR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "float range"));
    ck_assert_ptr_null(f);
    free(buf);
}
END_TEST

START_TEST(test_regression_table_nul_in_header)
{
    /* fuzz_table: a header name with NUL bytes was truncated at the NUL
     * (".10\0\0\0#..." became ".10"), so the reader named a column that
     * does not exist and the writer wrote a header that reads back as data.
     * Control bytes in names are now a format error, and the writer refuses
     * names made only of numbers. */
    size_t raw_n;
    unsigned char *raw = read_file("fuzz/regressions/table/nul-in-header-name", &raw_n);
    ck_assert_ptr_nonnull(raw);
    char path[] = "/tmp/wr_robust_tableXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, raw + 1, raw_n - 1), (ssize_t)(raw_n - 1));
    close(fd);
    wr_table_reader *r = NULL;
    WR_ASSERT_FAILS(wr_table_reader_open(path, &r), WR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "control byte 0x00"));
    ck_assert_ptr_null(r);
    unlink(path);
    free(raw);
    /* fuzz_table: "000,5,<BOM>" has a column named by the three bytes of a
     * UTF-8 byte-order mark; written first in a header, the reader took it
     * for a BOM and saw an empty name.  The writer refuses such names. */
    raw = read_file("fuzz/regressions/table/bom-as-first-name", &raw_n);
    ck_assert_ptr_nonnull(raw);
    snprintf(path, sizeof path, "/tmp/wr_robust_tableXXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, raw + 1, raw_n - 1), (ssize_t)(raw_n - 1));
    close(fd);
    free(raw);
    WR_ASSERT_OK(wr_table_reader_open(path, &r)); /* "000,5,<BOM>": a valid header */
    ck_assert_uint_eq(wr_table_reader_n_columns(r), 3);
    const char *bom[2] = {wr_table_reader_column_name(r, 2), wr_table_reader_column_name(r, 0)};
    ck_assert_str_eq(bom[0], "\xEF\xBB\xBF");
    const char *bom2[1] = {"\xEF\xBB\xBFx"};
    wr_table_writer *bw = NULL;
    WR_ASSERT_FAILS(wr_table_writer_open("/tmp/wr_never.csv", bom, 2, &bw), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open("/tmp/wr_never.csv", bom2, 1, &bw), WR_ERR_INVALID_ARG);
    ck_assert_ptr_null(bw);
    wr_table_reader_close(r);
    unlink(path);
    const char *numeric[2] = {".10", "5551115123125782"};
    const char *tabbed[1] = {"\tx"};
    wr_table_writer *w = NULL;
    WR_ASSERT_FAILS(wr_table_writer_open("/tmp/wr_never.csv", numeric, 2, &w),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open("/tmp/wr_never.csv", tabbed, 1, &w),
                    WR_ERR_INVALID_ARG);
    ck_assert_int_ne(access("/tmp/wr_never.csv", F_OK), 0);
}
END_TEST

/* ================================================ hostile payloads */
/* Forest payload (docs/forest.md): params str, u64 Q, f64 levels[Q], u64 d,
 * per feature (u8 nbins, f32 edges[nbins-1]), f64 init[Q], u64 G, per group
 * (u64 q0, u64 q1, u64 n_trees, trees), tree = (u64 n_nodes, nodes
 * (u32 feature, u8 bin, u8 leaf, u32 child), u64 n_leaves, f32 values). */
enum {
    FP_VALID,
    F_HUGE_Q,
    F_HUGE_D,
    F_HUGE_G,
    F_HUGE_TREES,
    F_HUGE_NODES,
    F_HUGE_LEAVES,
    F_BACK_EDGE, /* node 1 points back to node 0: a cycle */
    F_SELF_LOOP,
    F_LEAF_INDEX,
    F_NAN_INIT,
    F_TRAILING
};

static void forest_payload(int variant, void **buf, size_t *n)
{
    wr__writer w;
    wr__w_init(&w);
    wr__w_str(&w, "");
    wr__w_u64(&w, variant == F_HUGE_Q ? (1ull << 61) : 2);
    wr__w_f64(&w, 0.25);
    wr__w_f64(&w, 0.75);
    wr__w_u64(&w, variant == F_HUGE_D ? (1ull << 40) : 1);
    wr__w_u8(&w, 3); /* 3 bins: edges 0, 1 */
    wr__w_f32(&w, 0.0f);
    wr__w_f32(&w, 1.0f);
    wr__w_f64(&w, variant == F_NAN_INIT ? NAN : -1.0);
    wr__w_f64(&w, 1.0);
    wr__w_u64(&w, variant == F_HUGE_G ? (1ull << 50) : 1);
    wr__w_u64(&w, 0);
    wr__w_u64(&w, 2);
    wr__w_u64(&w, variant == F_HUGE_TREES ? (1ull << 40) : 1);
    /* tree: 0 internal -> (1, 2); 1 internal -> (3, 4); 2, 3, 4 leaves */
    wr__w_u64(&w, variant == F_HUGE_NODES ? (1ull << 33) : 5);
    wr__w_u32(&w, 0);
    wr__w_u8(&w, 0);
    wr__w_u8(&w, 0);
    wr__w_u32(&w, variant == F_SELF_LOOP ? 0 : 1);
    wr__w_u32(&w, 0);
    wr__w_u8(&w, 1);
    wr__w_u8(&w, 0);
    wr__w_u32(&w, variant == F_BACK_EDGE ? 0 : 3);
    for (uint32_t l = 0; l < 3; l++) {
        wr__w_u32(&w, 0);
        wr__w_u8(&w, 0);
        wr__w_u8(&w, 1);
        wr__w_u32(&w, variant == F_LEAF_INDEX && l == 2 ? 7 : l);
    }
    wr__w_u64(&w, variant == F_HUGE_LEAVES ? (1ull << 62) : 3);
    for (int v = 0; v < 6; v++) wr__w_f32(&w, 0.1f * (float)v);
    if (variant == F_TRAILING) wr__w_u8(&w, 0);
    pack(WR_KIND_QUANTILE_FOREST, 1, &w, buf, n);
}

START_TEST(test_hostile_forest)
{
    limit_data((size_t)512 << 20);
    void *buf;
    size_t n;
    wr_quantile_forest *f = NULL;
    forest_payload(FP_VALID, &buf, &n);
    WR_ASSERT_OK(wr_qforest_from_bytes(buf, n, &f)); /* the builder is right */
    float x[3] = {-1.0f, 0.5f, 2.0f}, out[6];
    WR_ASSERT_OK(wr_qforest_predict(f, x, 3, 1, out));
    ck_assert(all_finite_f(out, 6));
    wr_qforest_free(f);
    free(buf);
    for (int v = F_HUGE_Q; v <= F_TRAILING; v++) {
        forest_payload(v, &buf, &n);
        f = (wr_quantile_forest *)&n;
        wr_clear_error();
        wr_status st = wr_qforest_from_bytes(buf, n, &f);
        ck_assert_msg(st == WR_ERR_FORMAT, "variant %d: %s: %s", v, wr_status_string(st),
                      wr_last_error());
        ck_assert_ptr_null(f);
        free(buf);
    }
}
END_TEST

/* Regressor payload (docs/regressor.md): params str, u32 family, u32
 * activation, u32 L, u32 size[0..L], f32 x_mean[d], x_iscale[d], f64
 * t_mean, t_scale, u32 epochs, best, u64 n_params, f32 theta. */
enum { RP_VALID, R_WIDE, R_LAYERS, R_HUGE_D, R_NPARAMS, R_SCALE0, R_NAN_THETA, R_FAMILY };

static void regressor_payload(int variant, void **buf, size_t *n)
{
    wr__writer w;
    wr__w_init(&w);
    wr__w_str(&w, "family=gauss activation=elu hidden=2");
    wr__w_u32(&w, variant == R_FAMILY ? 9 : 1);
    wr__w_u32(&w, 1);
    if (variant == R_WIDE) {
        /* 16 hidden layers of 65536: 6.9e10 weights, 275 GB */
        wr__w_u32(&w, 17);
        wr__w_u32(&w, 1);
        for (int l = 0; l < 16; l++) wr__w_u32(&w, 65536);
        wr__w_u32(&w, 2);
    } else if (variant == R_LAYERS) {
        wr__w_u32(&w, 1000000000u);
    } else {
        wr__w_u32(&w, 2);
        wr__w_u32(&w, variant == R_HUGE_D ? 65536 : 1);
        wr__w_u32(&w, 2);
        wr__w_u32(&w, 2);
    }
    /* d = 1, hidden 2, out 2: W1 2x1 + b1 2 + W2 2x2 + b2 2 = 10 */
    wr__w_f32(&w, 0.0f);
    wr__w_f32(&w, 1.0f);
    wr__w_f64(&w, 0.0);
    wr__w_f64(&w, variant == R_SCALE0 ? 0.0 : 1.0);
    wr__w_u32(&w, 1);
    wr__w_u32(&w, 1);
    wr__w_u64(&w, variant == R_NPARAMS ? 11 : 10);
    for (int i = 0; i < 10; i++) wr__w_f32(&w, variant == R_NAN_THETA && i == 4 ? NAN : 0.1f);
    pack(WR_KIND_REGRESSOR, 1, &w, buf, n);
}

START_TEST(test_hostile_regressor)
{
    limit_data((size_t)512 << 20);
    void *buf;
    size_t n;
    wr_regressor *r = NULL;
    regressor_payload(RP_VALID, &buf, &n);
    WR_ASSERT_OK(wr_regressor_from_bytes(buf, n, &r));
    float x[2] = {0.5f, -3.0f};
    double p[4];
    WR_ASSERT_OK(wr_regressor_predict(r, x, 2, 1, p, 2));
    ck_assert(all_finite_d(p, 4) && p[1] > 0 && p[3] > 0);
    wr_regressor_free(r);
    free(buf);
    for (int v = R_WIDE; v <= R_FAMILY; v++) {
        regressor_payload(v, &buf, &n);
        wr_clear_error();
        wr_status st = wr_regressor_from_bytes(buf, n, &r);
        ck_assert_msg(st == WR_ERR_FORMAT, "variant %d: %s: %s", v, wr_status_string(st),
                      wr_last_error());
        ck_assert_ptr_null(r);
        free(buf);
    }
}
END_TEST

/* Morpher payload (docs/morph.md): u32 n_y, u32 n_z, u64 n_levels, f64
 * levels, str params, str forest params x2, f64 lo/hi[n_y], u8 fitted,
 * f64 lo/hi[n_y], then 2 n_y times (f64 gap, u64 size, forest bytes). */
enum { M_HUGE_LEVELS, M_HUGE_NY, M_HUGE_FOREST, M_FOREST_GARBAGE, M_LOHI, M_NOT_FITTED };

static void morpher_payload(int variant, void **buf, size_t *n)
{
    wr__writer w;
    wr__w_init(&w);
    wr__w_u32(&w, variant == M_HUGE_NY ? 0x7fffffffu : 1);
    wr__w_u32(&w, 0);
    wr__w_u64(&w, variant == M_HUGE_LEVELS ? (1ull << 60) : 2);
    wr__w_f64(&w, 0.25);
    wr__w_f64(&w, 0.75);
    wr__w_str(&w, "");
    wr__w_str(&w, "");
    wr__w_str(&w, "");
    wr__w_f64(&w, variant == M_LOHI ? 5.0 : -INFINITY);
    wr__w_f64(&w, variant == M_LOHI ? 1.0 : INFINITY);
    wr__w_u8(&w, variant == M_NOT_FITTED ? 2 : 1);
    wr__w_f64(&w, -INFINITY);
    wr__w_f64(&w, INFINITY);
    for (int k = 0; k < 2; k++) {
        wr__w_f64(&w, 1e-7);
        wr__w_u64(&w, variant == M_HUGE_FOREST ? (1ull << 62) : 8);
        wr__w_bytes(&w, "garbage!", 8);
    }
    (void)M_FOREST_GARBAGE; /* the 8 bytes above are never a forest */
    pack(WR_KIND_MORPHER, 1, &w, buf, n);
}

START_TEST(test_hostile_morpher)
{
    limit_data((size_t)512 << 20);
    for (int v = M_HUGE_LEVELS; v <= M_NOT_FITTED; v++) {
        void *buf;
        size_t n;
        wr_morpher *m = NULL;
        morpher_payload(v, &buf, &n);
        wr_clear_error();
        wr_status st = wr_morpher_from_bytes(buf, n, &m);
        ck_assert_msg(st == WR_ERR_FORMAT, "variant %d: %s: %s", v, wr_status_string(st),
                      wr_last_error());
        ck_assert_ptr_null(m);
        free(buf);
    }
}
END_TEST

/* Template fit payload: params str, u64 n_explicit, f64 grid[n_explicit],
 * u64 dim, per axis (u64 n_edges, f64 edges), u8 filled, histograms. */
enum { T_HUGE_GRID, T_HUGE_DIM, T_HUGE_EDGES, T_HUGE_HISTOGRAMS, T_BAD_EDGES, T_NAN_CONTENT };

static void tfit_payload(int variant, void **buf, size_t *n)
{
    wr__writer w;
    wr__w_init(&w);
    wr__w_str(&w, variant == T_HUGE_HISTOGRAMS ? "mass_count=100001 bootstrap=10000 data_sets=1024"
                                               : "mass_count=3");
    wr__w_u64(&w, variant == T_HUGE_GRID ? (1ull << 60) : 0);
    wr__w_u64(&w, variant == T_HUGE_DIM ? (1ull << 40) : 1);
    wr__w_u64(&w, variant == T_HUGE_EDGES ? (1ull << 61) : 3);
    wr__w_f64(&w, 0.0);
    wr__w_f64(&w, variant == T_BAD_EDGES ? -1.0 : 1.0);
    wr__w_f64(&w, 2.0);
    wr__w_u8(&w, 1);
    /* 2 bins x 3 masses: T, T2, D, D2 */
    for (int i = 0; i < 6 + 6 + 2 + 2; i++)
        wr__w_f64(&w, variant == T_NAN_CONTENT && i == 3 ? NAN : 1.0);
    pack(WR_KIND_TEMPLATE_FIT, 1, &w, buf, n);
}

START_TEST(test_hostile_tfit)
{
    limit_data((size_t)512 << 20);
    for (int v = T_HUGE_GRID; v <= T_NAN_CONTENT; v++) {
        void *buf;
        size_t n;
        wr_template_fit *tf = NULL;
        tfit_payload(v, &buf, &n);
        wr_clear_error();
        wr_status st = wr_tfit_from_bytes(buf, n, &tf);
        ck_assert_msg(st == WR_ERR_FORMAT, "variant %d: %s: %s", v, wr_status_string(st),
                      wr_last_error());
        ck_assert_ptr_null(tf);
        free(buf);
    }
}
END_TEST

/* Newer versions and wrong kinds through every kind's loader. */
START_TEST(test_versions_and_kinds)
{
    float *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
    make_xy(N, D, 1, X, y);
    wr_quantile_forest *f = small_forest(X, y);
    void *buf;
    size_t n;
    WR_ASSERT_OK(wr_qforest_to_bytes(f, &buf, &n));
    void *payload;
    size_t psize;
    uint32_t ver;
    WR_ASSERT_OK(wr__container_unpack(buf, n, WR_KIND_QUANTILE_FOREST, 1, &payload, &psize,
                                      &ver));
    /* kind version 2 of every kind: unsupported, with an upgrade hint */
    for (uint32_t kind = 1; kind <= 4; kind++) {
        void *b2;
        size_t n2;
        WR_ASSERT_OK(wr__container_pack(kind, 2, payload, psize, &b2, &n2));
        wr_quantile_forest *qf = NULL;
        wr_regressor *r = NULL;
        wr_morpher *m = NULL;
        wr_template_fit *tf = NULL;
        wr_status st = kind == 1 ? wr_qforest_from_bytes(b2, n2, &qf)
                       : kind == 2 ? wr_regressor_from_bytes(b2, n2, &r)
                       : kind == 3 ? wr_morpher_from_bytes(b2, n2, &m)
                                   : wr_tfit_from_bytes(b2, n2, &tf);
        ck_assert_msg(st == WR_ERR_UNSUPPORTED, "kind %u: %s", kind, wr_last_error());
        ck_assert(!qf && !r && !m && !tf);
        int k = 0;
        uint32_t kv = 0;
        WR_ASSERT_OK(wr_model_inspect(b2, n2, &k, &kv)); /* inspect reads any kind */
        ck_assert_int_eq(k, (int)kind);
        ck_assert_uint_eq(kv, 2);
        free(b2);
    }
    /* a forest is the wrong kind for the other loaders */
    wr_regressor *r = NULL;
    wr_morpher *m = NULL;
    wr_template_fit *tf = NULL;
    WR_ASSERT_FAILS(wr_regressor_from_bytes(buf, n, &r), WR_ERR_WRONG_KIND);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "quantile_forest"));
    WR_ASSERT_FAILS(wr_morpher_from_bytes(buf, n, &m), WR_ERR_WRONG_KIND);
    WR_ASSERT_FAILS(wr_tfit_from_bytes(buf, n, &tf), WR_ERR_WRONG_KIND);
    /* the same through files */
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/forest.wrm", dir);
    WR_ASSERT_OK(wr_qforest_save(f, path));
    WR_ASSERT_FAILS(wr_regressor_load(path, &r), WR_ERR_WRONG_KIND);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), path)); /* messages name the file */
    WR_ASSERT_FAILS(wr_morpher_load(path, &m), WR_ERR_WRONG_KIND);
    WR_ASSERT_FAILS(wr_tfit_load(path, &tf), WR_ERR_WRONG_KIND);
    /* truncated file, empty file, a directory, a missing file */
    write_file(path, buf, n / 2);
    wr_quantile_forest *g = NULL;
    WR_ASSERT_FAILS(wr_qforest_load(path, &g), WR_ERR_FORMAT);
    write_file(path, buf, 0);
    WR_ASSERT_FAILS(wr_qforest_load(path, &g), WR_ERR_FORMAT);
    WR_ASSERT_FAILS(wr_qforest_load(dir, &g), WR_ERR_IO);
    unlink(path);
    WR_ASSERT_FAILS(wr_qforest_load(path, &g), WR_ERR_IO);
    WR_ASSERT_FAILS(wr_model_inspect_file(path, NULL, NULL), WR_ERR_IO);
    ck_assert_ptr_null(g);
    remove_dir(dir);
    free(payload);
    wr_free(buf);
    wr_qforest_free(f);
    free(X);
    free(y);
}
END_TEST

/* ============================================ failed calls change nothing */
START_TEST(test_forest_unchanged_after_errors)
{
    float *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
    make_xy(N, D, 2, X, y);
    wr_quantile_forest *f = small_forest(X, y);
    float before[30 * 3], after[30 * 3];
    WR_ASSERT_OK(wr_qforest_predict(f, X, 30, D, before));
    char p0[64], p1[64];
    WR_ASSERT_OK(wr_qforest_get_param(f, "rounds", p0, sizeof p0));
    /* a failing fit: NaN target in the last row */
    y[N - 1] = NAN;
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, N, D, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    y[N - 1] = 0.0f;
    /* a cancelled fit (other data, other d) */
    wr_qforest_set_progress(f, cancel_at_2, NULL);
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, N / 2, 2 * D, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_CANCELLED);
    wr_qforest_set_progress(f, NULL, NULL);
    /* set_params: all-or-nothing */
    WR_ASSERT_FAILS(wr_qforest_set_params(f, "rounds=77 max_leaves=1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param_num(f, "rounds", NAN), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "rounds", "12abc"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "rounds", ""), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "rounds", "1e400"), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_qforest_get_param(f, "rounds", p1, sizeof p1));
    ck_assert_str_eq(p0, p1);
    /* get_param into a too small buffer */
    char tiny[2];
    WR_ASSERT_FAILS(wr_qforest_get_param(f, "learning_rate", tiny, sizeof tiny),
                    WR_ERR_INVALID_ARG);
    ck_assert_uint_eq(wr_qforest_n_features(f), D);
    WR_ASSERT_OK(wr_qforest_predict(f, X, 30, D, after));
    ck_assert_mem_eq(before, after, sizeof before);
    wr_qforest_free(f);
    free(X);
    free(y);
}
END_TEST

START_TEST(test_regressor_unchanged_after_errors)
{
    float *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
    make_xy(N, D, 3, X, y);
    wr_regressor *r = small_regressor(X, y);
    double before[30 * 2], after[30 * 2];
    WR_ASSERT_OK(wr_regressor_predict(r, X, 30, D, before, 2));
    char e0[32], e1[32];
    WR_ASSERT_OK(wr_regressor_get_param(r, "epochs", e0, sizeof e0));
    float keep = X[5];
    X[5] = INFINITY;
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, N, D, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    X[5] = keep;
    wr_regressor_set_progress(r, cancel_at_2, NULL);
    WR_ASSERT_OK(wr_regressor_set_params(r, "family=gaussexp2 hidden=4 epochs=5"));
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, N, D, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_CANCELLED);
    wr_regressor_set_progress(r, NULL, NULL);
    WR_ASSERT_OK(wr_regressor_get_param(r, "epochs", e1, sizeof e1));
    ck_assert_str_eq(e1, "5");
    WR_ASSERT_FAILS(wr_regressor_set_params(r, "epochs=9 batch_size=0"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "hidden", "8,,8"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "hidden", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_regressor_get_param(r, "epochs", e1, sizeof e1));
    ck_assert_str_eq(e1, "5");
    (void)e0;
    /* the fitted model is the gauss one of before, k = 2 */
    ck_assert_int_eq(wr_regressor_family(r), WR_PDF_GAUSS);
    WR_ASSERT_OK(wr_regressor_predict(r, X, 30, D, after, 2));
    ck_assert_mem_eq(before, after, sizeof before);
    wr_regressor_free(r);
    free(X);
    free(y);
}
END_TEST

START_TEST(test_morpher_unchanged_after_errors)
{
    enum { MN = 300 };
    float *z = malloc(MN * sizeof *z), *ys = malloc(MN * sizeof *ys), *yd = malloc(MN * sizeof *yd);
    for (size_t i = 0; i < MN; i++) {
        z[i] = unif(3 * i);
        ys[i] = 1.0f + z[i] + fabsf(gauss(3 * i + 1));
        yd[i] = 1.2f + z[i] + fabsf(gauss(3 * i + 2));
    }
    wr_morpher *m;
    WR_ASSERT_OK(wr_morpher_create(1, 1, NULL, 0, &m));
    WR_ASSERT_OK(wr_morpher_set_bounds(m, 0, 0.0, INFINITY));
    WR_ASSERT_OK(wr_morpher_set_params(m, "threads=1"));
    WR_ASSERT_OK(wr_morpher_set_forest_params(m, WR_MORPH_BOTH, "rounds=3 max_leaves=4"));
    WR_ASSERT_OK(wr_morpher_fit(m, z, ys, NULL, MN, z, yd, NULL, MN));
    float before[50], after[50];
    WR_ASSERT_OK(wr_morpher_apply(m, z, ys, 50, before, NULL));
    char fp0[256], fp1[256];
    WR_ASSERT_OK(wr_morpher_get_forest_params(m, WR_MORPH_SIM, fp0, sizeof fp0));
    /* data below the lower bound: the fit fails */
    yd[7] = -1.0f;
    WR_ASSERT_FAILS(wr_morpher_fit(m, z, ys, NULL, MN, z, yd, NULL, MN), WR_ERR_INVALID_ARG);
    yd[7] = 1.0f;
    /* cancelled after the first forests */
    wr_morpher_set_progress(m, cancel_at_2, NULL);
    WR_ASSERT_FAILS(wr_morpher_fit(m, z, ys, NULL, MN, z, yd, NULL, MN), WR_ERR_CANCELLED);
    wr_morpher_set_progress(m, NULL, NULL);
    WR_ASSERT_FAILS(wr_morpher_set_forest_params(m, WR_MORPH_SIM, "rounds=5 bogus=1"),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_forest_params(m, 7, "rounds=5"), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_morpher_get_forest_params(m, WR_MORPH_SIM, fp1, sizeof fp1));
    ck_assert_str_eq(fp0, fp1);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 0, 1.0, 1.0), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 0, NAN, 1.0), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_bounds(m, 1, 0.0, 1.0), WR_ERR_INVALID_ARG);
    double lo, hi;
    WR_ASSERT_OK(wr_morpher_get_bounds(m, 0, &lo, &hi));
    ck_assert(lo == 0.0 && hi == INFINITY);
    WR_ASSERT_FAILS(wr_morpher_set_params(m, "threads=2 interpolation=cubic"),
                    WR_ERR_INVALID_ARG);
    /* apply with a value far below the bound fails, touching nothing */
    float yin[50];
    memcpy(yin, ys, sizeof yin);
    yin[49] = -5.0f;
    float out[50];
    memset(out, 0x5a, sizeof out);
    WR_ASSERT_FAILS(wr_morpher_apply(m, z, yin, 50, out, NULL), WR_ERR_INVALID_ARG);
    for (int i = 0; i < 50; i++) {
        float pat;
        memset(&pat, 0x5a, sizeof pat);
        ck_assert_msg(memcmp(&out[i], &pat, sizeof pat) == 0, "output %d written by a failed apply", i);
    }
    WR_ASSERT_OK(wr_morpher_apply(m, z, ys, 50, after, NULL));
    ck_assert_mem_eq(before, after, sizeof before);
    wr_morpher_free(m);
    free(z);
    free(ys);
    free(yd);
}
END_TEST

START_TEST(test_tfit_unchanged_after_errors)
{
    enum { TN = 2000 };
    double *x = malloc(TN * sizeof *x), *mg = malloc(TN * sizeof *mg);
    uint64_t *ids = malloc(TN * sizeof *ids);
    for (size_t i = 0; i < TN; i++) {
        mg[i] = 80.385 + 2.0 * gauss(i);
        x[i] = 60.0 + 20.0 * unif(7 * i) + 0.3 * (mg[i] - 80.385);
        ids[i] = i;
    }
    wr_template_fit *tf;
    WR_ASSERT_OK(wr_tfit_create_uniform(10, 60.0, 80.0, 0, 0, 0, &tf));
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_count=5 mass_step=0.5 threads=1 bootstrap=2"));
    WR_ASSERT_OK(wr_tfit_add_templates(tf, x, mg, NULL, ids, TN));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, x, NULL, ids, TN / 2));
    double mass, width, bias;
    WR_ASSERT_OK(wr_tfit_fit(tf, 0, 80.385, &mass, &width, &bias));
    void *b0, *b1;
    size_t n0, n1;
    WR_ASSERT_OK(wr_tfit_to_bytes(tf, &b0, &n0));
    /* a chunk with a bad value at its end adds nothing */
    x[TN - 1] = NAN;
    WR_ASSERT_FAILS(wr_tfit_add_templates(tf, x, mg, NULL, ids, TN), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_add_events(tf, x, mg, NULL, ids, TN, NULL, 0), WR_ERR_INVALID_ARG);
    x[TN - 1] = 70.0;
    mg[TN - 1] = -1.0;
    WR_ASSERT_FAILS(wr_tfit_add_templates(tf, x, mg, NULL, ids, TN), WR_ERR_INVALID_ARG);
    mg[TN - 1] = 80.0;
    WR_ASSERT_FAILS(wr_tfit_add_data(tf, 3, x, NULL, ids, TN), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_add_data(tf, 0, x, NULL, NULL, TN), WR_ERR_INVALID_ARG); /* ids */
    double w = NAN;
    WR_ASSERT_FAILS(wr_tfit_add_data(tf, 0, x, &w, ids, 1), WR_ERR_INVALID_ARG);
    /* filling parameters cannot change once filled */
    WR_ASSERT_FAILS(wr_tfit_set_param(tf, "mass_count", "7"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_params(tf, "scan_refine=5 bootstrap=3"), WR_ERR_INVALID_ARG);
    double grid[3] = {80.0, 80.5, 81.0};
    WR_ASSERT_FAILS(wr_tfit_set_mass_grid(tf, grid, 3), WR_ERR_INVALID_ARG);
    double counts[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -1};
    WR_ASSERT_FAILS(wr_tfit_set_data_histogram(tf, 0, counts, 10), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_data_histogram(tf, 0, counts, 9), WR_ERR_INVALID_ARG);
    /* a failing fit (data set out of range) keeps the last fit */
    WR_ASSERT_FAILS(wr_tfit_fit(tf, 5, 80.385, NULL, NULL, NULL), WR_ERR_INVALID_ARG);
    double m2;
    WR_ASSERT_OK(wr_tfit_result(tf, "mass", &m2));
    ck_assert(m2 == mass);
    WR_ASSERT_OK(wr_tfit_to_bytes(tf, &b1, &n1));
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(b0, b1, n0);
    wr_free(b0);
    wr_free(b1);
    wr_tfit_free(tf);
    free(x);
    free(mg);
    free(ids);
}
END_TEST

START_TEST(test_toy_and_table_unchanged_after_errors)
{
    wr_toy *toy;
    WR_ASSERT_OK(wr_toy_create("W", "mc", &toy));
    char *s0, *s1;
    WR_ASSERT_OK(wr_toy_params_string(toy, &s0));
    WR_ASSERT_FAILS(wr_toy_set_params(toy, "mass=85 mass_max=70"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_toy_set_param(toy, "mass", "nan"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_toy_set_param(toy, "no_such_knob", "1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_toy_set_preset(toy, "bogus"), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_toy_params_string(toy, &s1));
    ck_assert_str_eq(s0, s1);
    wr_free(s0);
    wr_free(s1);
    wr_toy_free(toy);
    wr_toy *bad = (wr_toy *)&s0;
    WR_ASSERT_FAILS(wr_toy_create("X", "mc", &bad), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_toy_create("W", "nope", &bad), WR_ERR_INVALID_ARG);

    /* a table reader's selection survives a failing select */
    char path[] = "/tmp/wr_robust_selXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "a,b,c\n1,2,3\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    wr_table_reader *r;
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    const char *sel[2] = {"c", "a"}, *missing[2] = {"b", "zz"}, *twice[2] = {"b", "b"};
    WR_ASSERT_OK(wr_table_reader_select(r, sel, 2));
    WR_ASSERT_FAILS(wr_table_reader_select(r, missing, 2), WR_ERR_FORMAT);
    WR_ASSERT_FAILS(wr_table_reader_select(r, twice, 2), WR_ERR_INVALID_ARG);
    ck_assert_uint_eq(wr_table_reader_n_selected(r), 2);
    double row[2];
    size_t got;
    WR_ASSERT_OK(wr_table_reader_read_double(r, row, 1, &got));
    ck_assert_uint_eq(got, 1);
    ck_assert(row[0] == 3.0 && row[1] == 1.0);
    wr_table_reader_close(r);
    unlink(path);
}
END_TEST

/* ======================================================== data safety */
static void big_and_small_forest(void **small, size_t *ns, wr_quantile_forest **big)
{
    float *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
    make_xy(N, D, 5, X, y);
    wr_quantile_forest *f = small_forest(X, y);
    WR_ASSERT_OK(wr_qforest_to_bytes(f, small, ns));
    wr_qforest_free(f);
    WR_ASSERT_OK(wr_qforest_create(NULL, 0, big));
    WR_ASSERT_OK(wr_qforest_set_params(*big, "rounds=40 max_leaves=31 min_samples_leaf=2 "
                                             "threads=1"));
    WR_ASSERT_OK(wr_qforest_fit(*big, X, N, D, y, NULL, NULL, 0, NULL, NULL));
    free(X);
    free(y);
}

START_TEST(test_atomic_save_full_disk)
{
    /* A full disk is simulated with RLIMIT_FSIZE: writes past the limit
     * fail with EFBIG (SIGXFSZ ignored).  The old model must survive whole
     * and no temporary file may remain. */
    char dir[64], path[128], csv[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.wrm", dir);
    snprintf(csv, sizeof csv, "%s/table.csv.gz", dir);
    void *small;
    size_t ns;
    wr_quantile_forest *big;
    big_and_small_forest(&small, &ns, &big);
    write_file(path, small, ns);
    const char *cols[2] = {"x", "y"};
    wr_table_writer *w;
    WR_ASSERT_OK(wr_table_writer_open(csv, cols, 2, &w));
    double row[2] = {1.5, 2.5};
    WR_ASSERT_OK(wr_table_writer_write_double(w, row, 1));
    WR_ASSERT_OK(wr_table_writer_close(w));
    size_t csv_n;
    void *csv_old = read_file(csv, &csv_n);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {ns + 64, RLIM_INFINITY};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    void *bb;
    size_t nb;
    WR_ASSERT_OK(wr_qforest_to_bytes(big, &bb, &nb));
    ck_assert_uint_gt(nb, ns + 64);
    WR_ASSERT_FAILS(wr_qforest_save(big, path), WR_ERR_IO);
    /* CSV: a table larger than the limit */
    WR_ASSERT_OK(wr_table_writer_open(csv, cols, 2, &w));
    double *rows = malloc(20000 * 2 * sizeof *rows);
    for (size_t i = 0; i < 40000; i++) rows[i] = unif(i) * 1e6;
    wr_status st = wr_table_writer_write_double(w, rows, 20000);
    wr_status cst = wr_table_writer_close(w);
    ck_assert_msg(st == WR_ERR_IO || cst == WR_ERR_IO, "a failed table write went unreported");
    free(rows);

    size_t n_now;
    void *now = read_file(path, &n_now);
    ck_assert_uint_eq(n_now, ns);
    ck_assert_mem_eq(now, small, ns);
    free(now);
    now = read_file(csv, &n_now);
    ck_assert_uint_eq(n_now, csv_n);
    ck_assert_mem_eq(now, csv_old, csv_n);
    free(now);
    ck_assert_uint_eq(dir_entries(dir), 2); /* no temporary left */
    /* the old model still loads */
    wr_quantile_forest *g;
    WR_ASSERT_OK(wr_qforest_load(path, &g));
    wr_qforest_free(g);
    rl.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
    free(csv_old);
    wr_free(bb);
    wr_free(small);
    wr_qforest_free(big);
    remove_dir(dir);
}
END_TEST

START_TEST(test_unwritable_paths)
{
    float *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
    make_xy(N, D, 6, X, y);
    wr_quantile_forest *f = small_forest(X, y);
    wr_regressor *r = small_regressor(X, y);
    wr_template_fit *tf;
    WR_ASSERT_OK(wr_tfit_create_uniform(4, 0.0, 1.0, 0, 0, 0, &tf));
    char dir[64], sub[128], file[128];
    temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/plain", dir);
    write_file(file, "x", 1);
    const char *bad[3];
    char p0[160], p1[160];
    snprintf(p0, sizeof p0, "%s/missing/model.wrm", dir); /* no such directory */
    snprintf(p1, sizeof p1, "%s/plain/model.wrm", dir);   /* parent is a file */
    bad[0] = p0;
    bad[1] = p1;
    bad[2] = dir; /* the path is a directory */
    for (int i = 0; i < 3; i++) {
        WR_ASSERT_FAILS(wr_qforest_save(f, bad[i]), WR_ERR_IO);
        ck_assert_ptr_nonnull(strstr(wr_last_error(), bad[i]));
        WR_ASSERT_FAILS(wr_regressor_save(r, bad[i]), WR_ERR_IO);
        WR_ASSERT_FAILS(wr_tfit_save(tf, bad[i]), WR_ERR_IO);
        const char *cols[1] = {"a"};
        wr_table_writer *w = NULL;
        wr_status st = wr_table_writer_open(bad[i], cols, 1, &w);
        if (st == WR_OK) st = wr_table_writer_close(w);
        ck_assert_msg(st == WR_ERR_IO, "table to %s: %s", bad[i], wr_status_string(st));
    }
    struct stat sb;
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    ck_assert_uint_eq(dir_entries(dir), 1);
    snprintf(sub, sizeof sub, "%s", dir);
    remove_dir(sub);
    wr_qforest_free(f);
    wr_regressor_free(r);
    wr_tfit_free(tf);
    free(X);
    free(y);
}
END_TEST

START_TEST(test_csv_write_errors_dev_full)
{
    const char *cols[2] = {"a", "b"};
    double rows[2 * 5000];
    for (int i = 0; i < 10000; i++) rows[i] = i * 0.25;
    for (int gz = 0; gz < 2; gz++) {
        /* by path (plain only: a device is written in place; a ".gz"
         * name under /dev would create a file there) */
        if (!gz) {
            wr_table_writer *w = NULL;
            wr_status st = wr_table_writer_open("/dev/full", cols, 2, &w);
            ck_assert_msg(st == WR_OK || st == WR_ERR_IO, "%s", wr_last_error());
            if (st == WR_OK) {
                st = wr_table_writer_write_double(w, rows, 5000);
                wr_status cst = wr_table_writer_close(w);
                ck_assert_msg(st == WR_ERR_IO || cst == WR_ERR_IO,
                              "writing /dev/full reported success");
            }
        }
        /* by stream */
        FILE *f = fopen("/dev/full", "w");
        ck_assert_ptr_nonnull(f);
        wr_table_writer *w = NULL;
        wr_status st = wr_table_writer_open_stream(f, "full", gz, cols, 2, &w);
        if (st == WR_OK) {
            st = wr_table_writer_write_double(w, rows, 5000);
            wr_status cst = wr_table_writer_close(w);
            ck_assert_msg(st == WR_ERR_IO || cst == WR_ERR_IO,
                          "writing to a full stream reported success (gz=%d)", gz);
        } else {
            ck_assert_int_eq(st, WR_ERR_IO);
        }
        fclose(f);
    }
}
END_TEST

/* ============================================ extreme but legal inputs */
START_TEST(test_features_extreme_pt)
{
    /* event 0: soft particles (pt 1e-6 .. 1e-30), event 1: 1e4 GeV tracks,
     * event 2: two tracks that cancel exactly (no TK recoil), event 3: one
     * neutral only, event 4: empty */
    int64_t off[6] = {0, 3, 6, 8, 9, 9};
    float pt[9] = {1e-6f, 1e-30f, 3e-20f, 1e4f, 9999.0f, 1e4f, 5.0f, 5.0f, 1e-3f};
    float eta[9] = {0, 1, -1, 2.4f, -2.4f, 0, 0.5f, 0.5f, 0};
    float phi[9] = {0, 1, 2, 0.1f, 3.0f, -1.5f, 0.3f, 0.3f + 3.14159265f, 1};
    int32_t ch[9] = {1, -1, 0, 1, 1, -1, 1, -1, 0};
    int32_t vtx[9] = {0, 0, -1, 0, 0, 0, 0, 0, -1};
    float htrue[10] = {1e-3f, 0, 5e3f, -5e3f, 1, 1, 0.5f, 0.5f, 1, 0};
    float feat[5 * WR_N_FEATURES], rec[5 * WR_N_RECOIL], tgt[10];
    uint8_t no_tk[5];
    WR_ASSERT_OK(wr_recoil_features(5, off, pt, eta, phi, ch, vtx, htrue, 1, feat, rec, no_tk,
                                    tgt));
    ck_assert(all_finite_f(feat, sizeof feat / sizeof feat[0]));
    ck_assert(all_finite_f(rec, sizeof rec / sizeof rec[0]));
    ck_assert(all_finite_f(tgt, 10));
    ck_assert_int_eq(no_tk[0], 0);
    ck_assert_int_eq(no_tk[1], 0);
    ck_assert_int_eq(no_tk[3], 1);
    ck_assert_int_eq(no_tk[4], 1);
    /* transverse mass and recoil observables at the extremes */
    float lpt[4] = {0.0f, 1e-30f, 1e4f, 40.0f}, lphi[4] = {0, 1, 2, 3};
    float h[8] = {0, 0, 1e-30f, 0, 1e4f, -1e4f, 0, 0}, mt[4], yv[8];
    WR_ASSERT_OK(wr_transverse_mass(4, lpt, lphi, h, 2, mt));
    ck_assert(all_finite_f(mt, 4));
    ck_assert(mt[0] == 0.0f && mt[3] >= 0.0f);
    WR_ASSERT_OK(wr_recoil_y(4, h, 2, h, 2, yv));
    ck_assert(all_finite_f(yv, 8));
    /* bad inputs */
    WR_ASSERT_FAILS(wr_transverse_mass(4, lpt, lphi, h, 1, mt), WR_ERR_INVALID_ARG);
    lpt[1] = -1.0f;
    WR_ASSERT_FAILS(wr_transverse_mass(4, lpt, lphi, h, 2, mt), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "lep_pt"));
}
END_TEST

START_TEST(test_forest_degenerate_samples)
{
    /* constant features, one distinct target, fewer rows than a leaf */
    float X[7 * 2], y[7];
    for (int i = 0; i < 7; i++) {
        X[2 * i] = 3.0f;
        X[2 * i + 1] = -1.0f;
        y[i] = 2.5f;
    }
    wr_quantile_forest *f;
    WR_ASSERT_OK(wr_qforest_create(NULL, 0, &f));
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=5 min_samples_leaf=20 threads=1"));
    WR_ASSERT_OK(wr_qforest_fit(f, X, 7, 2, y, NULL, NULL, 0, NULL, NULL));
    size_t Q = wr_qforest_n_levels(f);
    float out[3 * 21], xq[6] = {3, -1, -1e30f, 1e30f, 0, 0};
    WR_ASSERT_OK(wr_qforest_predict(f, xq, 3, 2, out));
    for (size_t i = 0; i < 3 * Q; i++) ck_assert_float_eq(out[i], 2.5f);
    /* one row */
    WR_ASSERT_OK(wr_qforest_fit(f, X, 1, 2, y, NULL, NULL, 0, NULL, NULL));
    WR_ASSERT_OK(wr_qforest_predict(f, xq, 3, 2, out));
    for (size_t i = 0; i < 3 * Q; i++) ck_assert_float_eq(out[i], 2.5f);
    /* huge but finite targets and features */
    float Xb[200], yb[100];
    for (int i = 0; i < 100; i++) {
        Xb[2 * i] = (float)i * 1e36f;
        Xb[2 * i + 1] = (float)(i % 7);
        yb[i] = (float)(i - 50) * 1e36f;
    }
    WR_ASSERT_OK(wr_qforest_set_params(f, "min_samples_leaf=5"));
    wr_status st = wr_qforest_fit(f, Xb, 100, 2, yb, NULL, NULL, 0, NULL, NULL);
    if (st == WR_OK) {
        WR_ASSERT_OK(wr_qforest_predict(f, Xb, 3, 2, out));
        ck_assert_msg(all_finite_f(out, 3 * Q), "predictions of huge targets not finite");
    } else {
        ck_assert_int_eq(st, WR_ERR_NUMERICAL);
    }
    wr_qforest_free(f);
}
END_TEST

START_TEST(test_regressor_degenerate_samples)
{
    enum { RN = 200 };
    float X[RN * 2], t[RN];
    for (int i = 0; i < RN; i++) {
        X[2 * i] = 1.0f; /* constant feature */
        X[2 * i + 1] = gauss((uint64_t)i);
        t[i] = 0.5f * X[2 * i + 1] + 0.1f * gauss(1000u + (uint64_t)i);
    }
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_params(r, "family=gauss hidden=4 epochs=3 batch_size=50 threads=1"));
    WR_ASSERT_OK(wr_regressor_fit(r, X, RN, 2, t, NULL, NULL, 0, NULL, NULL));
    double p[3 * 2];
    /* extreme but finite features at predict time */
    float xq[6] = {1.0f, 0.0f, 1e30f, -1e30f, -3e38f, 3e38f};
    wr_status st = wr_regressor_predict(r, xq, 3, 2, p, 2);
    if (st == WR_OK) {
        for (int i = 0; i < 3; i++)
            ck_assert_msg(!isnan(p[2 * i]) && !isnan(p[2 * i + 1]) && p[2 * i + 1] > 0,
                          "row %d: NaN parameters (%g, %g) without an error", i, p[2 * i],
                          p[2 * i + 1]);
    } else {
        ck_assert_int_eq(st, WR_ERR_NUMERICAL);
    }
    /* one distinct target value: a clear error or a finite model */
    for (int i = 0; i < RN; i++) t[i] = 1.25f;
    wr_regressor *c;
    WR_ASSERT_OK(wr_regressor_create(&c));
    WR_ASSERT_OK(wr_regressor_set_params(c, "family=gauss hidden=4 epochs=2 threads=1"));
    st = wr_regressor_fit(c, X, RN, 2, t, NULL, NULL, 0, NULL, NULL);
    if (st == WR_OK) {
        WR_ASSERT_OK(wr_regressor_predict(c, X, 3, 2, p, 2));
        ck_assert(all_finite_d(p, 6));
    } else {
        ck_assert_msg(st == WR_ERR_INVALID_ARG || st == WR_ERR_NUMERICAL, "%s",
                      wr_last_error());
        ck_assert(wr_last_error()[0] != '\0');
    }
    /* fewer rows than a batch, one row */
    st = wr_regressor_fit(c, X, 1, 2, t, NULL, NULL, 0, NULL, NULL);
    ck_assert_msg(st == WR_OK || st == WR_ERR_INVALID_ARG || st == WR_ERR_NUMERICAL, "%s",
                  wr_last_error());
    wr_regressor_free(c);
    wr_regressor_free(r);
}
END_TEST

START_TEST(test_morpher_degenerate_and_extreme)
{
    enum { MN = 200 };
    float z[MN], ys[MN], yd[MN];
    for (int i = 0; i < MN; i++) {
        z[i] = 0.5f; /* constant condition */
        ys[i] = 2.0f + fabsf(gauss((uint64_t)i));
        yd[i] = 3.0f; /* one distinct data value */
    }
    wr_morpher *m;
    WR_ASSERT_OK(wr_morpher_create(1, 1, NULL, 0, &m));
    WR_ASSERT_OK(wr_morpher_set_bounds(m, 0, 0.0, INFINITY));
    WR_ASSERT_OK(wr_morpher_set_params(m, "threads=1"));
    WR_ASSERT_OK(wr_morpher_set_forest_params(m, WR_MORPH_BOTH, "rounds=3 max_leaves=4"));
    wr_status st = wr_morpher_fit(m, z, ys, NULL, MN, z, yd, NULL, MN);
    if (st == WR_OK) {
        float yq[4] = {0.0f, 1e-30f, 2.5f, 3e38f}, zq[4] = {0.5f, -1e30f, 1e30f, 0.5f}, out[4];
        double u[4];
        st = wr_morpher_apply(m, zq, yq, 4, out, u);
        ck_assert_msg(st == WR_OK, "%s", wr_last_error());
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(isfinite(out[i]) && out[i] >= 0.0f, "row %d: %g", i, out[i]);
            ck_assert_msg(u[i] > 0.0 && u[i] < 1.0, "row %d: y %g -> u = %.17g", i, yq[i], u[i]);
        }
    } else {
        ck_assert(wr_last_error()[0] != '\0');
    }
    wr_morpher_free(m);
}
END_TEST

START_TEST(test_tfit_degenerate)
{
    wr_template_fit *tf;
    WR_ASSERT_OK(wr_tfit_create_uniform(5, 0.0, 1.0, 0, 0, 0, &tf));
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_count=5 threads=1"));
    /* nothing filled */
    WR_ASSERT_FAILS(wr_tfit_fit(tf, 0, 80.385, NULL, NULL, NULL), WR_ERR_NOT_FITTED);
    /* every event outside the binning (flow=drop): no usable bin */
    double x[3] = {5, 6, 7}, mg[3] = {80, 81, 82};
    WR_ASSERT_OK(wr_tfit_add_templates(tf, x, mg, NULL, NULL, 3));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, x, NULL, NULL, 3));
    double mass = 0.0, rm[2], mean, spread;
    wr_status st = wr_tfit_fit(tf, 0, 80.385, &mass, NULL, NULL);
    ck_assert_msg(st == WR_ERR_NOT_FITTED || st == WR_ERR_NUMERICAL,
                  "fit without any usable bin: %s (mass %g)", wr_status_string(st), mass);
    ck_assert(wr_last_error()[0] != '\0');
    wr_tfit_free(tf);
    /* filled, but bootstrap needs replicas and syst two different eps */
    WR_ASSERT_OK(wr_tfit_create_uniform(5, 60.0, 90.0, 0, 0, 0, &tf));
    WR_ASSERT_OK(wr_tfit_set_params(tf, "mass_count=5 threads=1"));
    double xs[50], ms[50];
    for (int i = 0; i < 50; i++) {
        xs[i] = 60.0 + 0.6 * i;
        ms[i] = 78.0 + 0.1 * i;
    }
    WR_ASSERT_OK(wr_tfit_add_templates(tf, xs, ms, NULL, NULL, 50));
    WR_ASSERT_OK(wr_tfit_add_data(tf, 0, xs, NULL, NULL, 50));
    WR_ASSERT_FAILS(wr_tfit_bootstrap(tf, 0, 80.385, rm, 2, &mean, &spread), WR_ERR_INVALID_ARG);
    double eps[2] = {0.1, 0.1};
    WR_ASSERT_FAILS(wr_tfit_syst(tf, eps, 2, 80.385, NULL, NULL, NULL, NULL), WR_ERR_INVALID_ARG);
    wr_tfit_free(tf);
    /* bad binnings */
    double e_bad[3] = {0, 1, 1}, e_nan[2] = {0, NAN};
    WR_ASSERT_FAILS(wr_tfit_create(e_bad, 3, NULL, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create(e_nan, 2, NULL, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create(e_bad, 1, NULL, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create_uniform(0, 0, 1, 0, 0, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create_uniform(4, 1, 0, 0, 0, 0, &tf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_create_uniform(SIZE_MAX / 4, 0, 1, SIZE_MAX / 4, 0, 1, &tf),
                    WR_ERR_INVALID_ARG);
}
END_TEST

/* =================================================== size overflow */
START_TEST(test_size_overflow)
{
    /* n * d that overflows size_t where every array is n x something:
     * refused before any read or allocation */
    float *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y);
    make_xy(N, D, 7, X, y);
    wr_quantile_forest *f = small_forest(X, y);
    wr_regressor *r = small_regressor(X, y);
    size_t huge = SIZE_MAX / 2 + 1;
    float out[16];
    double pd[16];
    for (int i = 0; i < 16; i++) pd[i] = 1.0; /* valid (mu, sigma) rows */
    WR_ASSERT_FAILS(wr_qforest_predict(f, X, huge, D, out), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_fit(f, X, huge, 4, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    /* d mismatching the fitted model comes first for predict */
    WR_ASSERT_FAILS(wr_regressor_predict(r, X, huge, 4, pd, 2), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_predict(r, X, huge, D, pd, 2), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, huge, 4, y, NULL, NULL, 0, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    /* n * d fits but n * m does not: refused before X is read */
    size_t quarter = SIZE_MAX / 4 + 1;
    WR_ASSERT_FAILS(wr_regressor_pdf(r, X, quarter, D, pd, 4, pd), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_quantile(r, X, quarter, D, pd, 4, pd), WR_ERR_INVALID_ARG);
    /* the pdfs read n x k parameters: an overflowing n is refused before
     * the first row is read (it used to walk the rows off the array) */
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSS, pd, huge, 2, pd, 4, pd), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_pdf_density(WR_PDF_GAUSS, pd, huge / 2, 2, pd, 4, pd), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_pdf_summary(WR_PDF_GAUSS, pd, huge, 2, pd), WR_ERR_INVALID_ARG);
    double nll;
    WR_ASSERT_FAILS(wr_pdf_nll(WR_PDF_GAUSS, pd, huge, 2, pd, NULL, &nll), WR_ERR_INVALID_ARG);
    wr_toy *toy;
    WR_ASSERT_OK(wr_toy_create("Z", "mc", &toy));
    double *tab = malloc(64 * sizeof *tab);
    WR_ASSERT_FAILS(wr_toy_table(toy, 1, 0, huge, 1, tab), WR_ERR_INVALID_ARG);
    free(tab);
    /* (functions whose arrays have n entries, e.g. offsets or pt, read them
     * as the contract says: an overflow check only makes sense where an
     * array is n x d) */
    /* kinematics: n x 2 leptons, n x stride recoils (an n of 2^63 used to
     * wrap 2 n to 0, skip the checks and walk off the arrays) */
    float lep[8], kin[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int32_t q[2] = {1, -1};
    WR_ASSERT_FAILS(wr_boson_from_leptons(huge, kin, kin, kin, 0.1, 0.1, lep), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_wlike_z(huge, kin, kin, kin, q, kin, 2, 1, lep, NULL, NULL),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_transverse_mass(huge / 2, kin, kin, kin, 4, lep), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_recoil_y(huge / 2, kin, 2, kin, 8, lep), WR_ERR_INVALID_ARG);
    wr_morpher *m = NULL;
    WR_ASSERT_FAILS(wr_morpher_create(SIZE_MAX, 2, NULL, 0, &m), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_create(40, 30, NULL, 0, &m), WR_ERR_INVALID_ARG); /* > 64 */
    WR_ASSERT_FAILS(wr_morpher_create(0, 1, NULL, 0, &m), WR_ERR_INVALID_ARG);
    double one[1] = {0.5}, unsorted[3] = {0.1, 0.7, 0.3};
    WR_ASSERT_FAILS(wr_morpher_create(1, 1, one, 1, &m), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_create(1, 1, unsorted, 3, &m), WR_ERR_INVALID_ARG);
    ck_assert_ptr_null(m);
    wr_toy_free(toy);
    wr_qforest_free(f);
    wr_regressor_free(r);
    free(X);
    free(y);
}
END_TEST

/* ============================================================= NULLs */
START_TEST(test_null_handles)
{
    /* every accessor takes NULL without crashing; every fallible call
     * reports it */
    float x[4] = {0};
    double d[4] = {0};
    char buf[16];
    void *b = NULL;
    size_t n = 0;
    wr_qforest_free(NULL);
    wr_regressor_free(NULL);
    wr_morpher_free(NULL);
    wr_tfit_free(NULL);
    wr_toy_free(NULL);
    wr_table_reader_close(NULL);
    ck_assert_int_eq(wr_table_writer_close(NULL), WR_OK);
    wr_free(NULL);
    ck_assert_uint_eq(wr_qforest_n_levels(NULL), 0);
    ck_assert_uint_eq(wr_qforest_n_features(NULL), 0);
    ck_assert_uint_eq(wr_regressor_n_features(NULL), 0);
    ck_assert_int_eq(wr_regressor_is_fitted(NULL), 0);
    ck_assert_int_eq(wr_morpher_is_fitted(NULL), 0);
    ck_assert_uint_eq(wr_morpher_n_y(NULL), 0);
    ck_assert_uint_eq(wr_table_reader_n_columns(NULL), 0);
    WR_ASSERT_FAILS(wr_qforest_predict(NULL, x, 1, 1, x), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_params(NULL, "rounds=1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_get_param(NULL, "rounds", buf, sizeof buf), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_to_bytes(NULL, &b, &n), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_predict(NULL, x, 1, 1, d, 2), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_params(NULL, "epochs=1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_save(NULL, "/tmp/x"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_apply(NULL, x, x, 1, x, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_morpher_set_params(NULL, "threads=1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_fit(NULL, 0, 80, NULL, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_tfit_set_params(NULL, "seed=1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_toy_table(NULL, 1, 0, 1, 1, d), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_toy_set_params(NULL, "mass=80"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_model_inspect(NULL, 10, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_from_bytes(NULL, 10, (wr_quantile_forest **)&b),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_load(NULL, (wr_regressor **)&b), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_load("/tmp/x", NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_reader_open(NULL, (wr_table_reader **)&b), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_reader_open_stream(NULL, "s", (wr_table_reader **)&b),
                    WR_ERR_INVALID_ARG);
    /* parameter strings: NULL key/value/string */
    wr_quantile_forest *f;
    WR_ASSERT_OK(wr_qforest_create(NULL, 0, &f));
    WR_ASSERT_FAILS(wr_qforest_set_param(f, NULL, "1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_param(f, "rounds", NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_params(f, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_params(f, "rounds"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_qforest_set_params(f, "=5"), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_qforest_set_params(f, "rounds=5 rounds=6")); /* the last one wins */
    char v[16];
    WR_ASSERT_OK(wr_qforest_get_param(f, "rounds", v, sizeof v));
    ck_assert_str_eq(v, "6");
    WR_ASSERT_OK(wr_qforest_set_params(f, "")); /* nothing to set */
    WR_ASSERT_OK(wr_qforest_set_params(f, " \t\n"));
    wr_qforest_free(f);
}
END_TEST

static Suite *robustness_suite(void)
{
    Suite *s = suite_create("robustness");
    TCase *tc = tcase_create("fuzz regressions");
    tcase_add_test(tc, test_regression_forest_scores_beyond_float);
    tcase_add_test(tc, test_regression_table_nul_in_header);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile model files");
    tcase_add_test(tc, test_hostile_forest);
    tcase_add_test(tc, test_hostile_regressor);
    tcase_add_test(tc, test_hostile_morpher);
    tcase_add_test(tc, test_hostile_tfit);
    tcase_add_test(tc, test_versions_and_kinds);
    suite_add_tcase(s, tc);
    tc = tcase_create("failed calls change nothing");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_forest_unchanged_after_errors);
    tcase_add_test(tc, test_regressor_unchanged_after_errors);
    tcase_add_test(tc, test_morpher_unchanged_after_errors);
    tcase_add_test(tc, test_tfit_unchanged_after_errors);
    tcase_add_test(tc, test_toy_and_table_unchanged_after_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("data safety");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_atomic_save_full_disk);
    tcase_add_test(tc, test_unwritable_paths);
    tcase_add_test(tc, test_csv_write_errors_dev_full);
    suite_add_tcase(s, tc);
    tc = tcase_create("extreme inputs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_features_extreme_pt);
    tcase_add_test(tc, test_forest_degenerate_samples);
    tcase_add_test(tc, test_regressor_degenerate_samples);
    tcase_add_test(tc, test_morpher_degenerate_and_extreme);
    tcase_add_test(tc, test_tfit_degenerate);
    tcase_add_test(tc, test_size_overflow);
    tcase_add_test(tc, test_null_handles);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(robustness_suite)
