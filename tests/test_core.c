/* tests/test_core.c -- status/error API, version, rng, bytes, params,
 * container round trip and every corruption path, thread pool. */
#include "testutil.h"

#include "core.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(test_version)
{
    ck_assert_str_eq(wr_version_string(), WR_VERSION_STRING);
    ck_assert_uint_eq(wr_version_number(), WR_VERSION_NUMBER);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", WR_VERSION_MAJOR,
             WR_VERSION_MINOR, WR_VERSION_PATCH);
    ck_assert_str_eq(wr_version_string(), expect);
}
END_TEST

START_TEST(test_status_strings)
{
    for (int c = WR_OK; c <= WR_ERR_INTERNAL; c++) {
        const char *s = wr_status_string((wr_status)c);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "unknown status");
    }
    ck_assert_str_eq(wr_status_string((wr_status)999), "unknown status");
    ck_assert_int_eq(WR_ERR_INVALID_ARG, 1);
    ck_assert_int_eq(WR_ERR_INTERNAL, 10);
}
END_TEST

START_TEST(test_last_error)
{
    wr_clear_error();
    ck_assert_str_eq(wr_last_error(), "");
    ck_assert_int_eq(wr__fail(WR_ERR_IO, "file %s line %d", "x.csv", 7), WR_ERR_IO);
    ck_assert_str_eq(wr_last_error(), "file x.csv line 7");
    wr__error_prefix("ctx");
    ck_assert_str_eq(wr_last_error(), "ctx: file x.csv line 7");
    wr_free(NULL);
}
END_TEST

static void *thread_error(void *arg)
{
    (void)arg;
    wr__fail(WR_ERR_NUMERICAL, "from thread");
    return (void *)(strcmp(wr_last_error(), "from thread") == 0 ? (void *)1 : NULL);
}

START_TEST(test_last_error_thread_local)
{
    wr__fail(WR_ERR_IO, "main thread");
    pthread_t t;
    void *ok = NULL;
    pthread_create(&t, NULL, thread_error, NULL);
    pthread_join(t, &ok);
    ck_assert_ptr_nonnull(ok);
    ck_assert_str_eq(wr_last_error(), "main thread");
}
END_TEST

START_TEST(test_checks)
{
    float x[3] = {1, NAN, 2};
    WR_ASSERT_FAILS(wr__check_finite_f("f", "x", x, 3), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "index 1"));
    WR_ASSERT_OK(wr__check_finite_f("f", "x", x, 1));
    double tau[3] = {0.1, 0.5, 0.4};
    WR_ASSERT_FAILS(wr__check_levels("f", "tau", tau, 3), WR_ERR_INVALID_ARG);
    double tau2[2] = {0.0, 0.5};
    WR_ASSERT_FAILS(wr__check_levels("f", "tau", tau2, 2), WR_ERR_INVALID_ARG);
    float w[2] = {0, 0};
    WR_ASSERT_FAILS(wr__check_weights("f", "w", w, 2), WR_ERR_INVALID_ARG);
    float w2[2] = {-1, 2};
    WR_ASSERT_FAILS(wr__check_weights("f", "w", w2, 2), WR_ERR_INVALID_ARG);
    size_t out;
    ck_assert(!wr__mul_size(SIZE_MAX / 2, 3, &out));
    ck_assert(wr__mul_size(1000, 1000, &out) && out == 1000000);
    ck_assert_ptr_null(wr__alloc_array(SIZE_MAX / 2, 4, "big"));
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "overflow"));
}
END_TEST

START_TEST(test_rng)
{
    wr__rng a, b;
    wr__rng_seed(&a, 42, 3);
    wr__rng_seed(&b, 42, 3);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(wr__rng_u64(&a), wr__rng_u64(&b));
    wr__rng_seed(&b, 42, 4);
    ck_assert_uint_ne(wr__rng_u64(&a), wr__rng_u64(&b));
    /* moments of the distributions, 1e5 draws: 5 sigma bounds */
    const int n = 100000;
    double su = 0, sn = 0, sn2 = 0, sp = 0, se = 0;
    for (int i = 0; i < n; i++) {
        double u = wr__rng_uniform(&a);
        ck_assert(u > 0.0 && u < 1.0);
        su += u;
        double g = wr__rng_normal(&a);
        sn += g;
        sn2 += g * g;
        sp += wr__rng_poisson(&a, 3.5);
        se += wr__rng_exponential(&a);
    }
    ck_assert_double_eq_tol(su / n, 0.5, 5 * sqrt(1.0 / 12 / n));
    ck_assert_double_eq_tol(sn / n, 0.0, 5 * sqrt(1.0 / n));
    ck_assert_double_eq_tol(sn2 / n, 1.0, 5 * sqrt(2.0 / n));
    ck_assert_double_eq_tol(sp / n, 3.5, 5 * sqrt(3.5 / n));
    ck_assert_double_eq_tol(se / n, 1.0, 5 * sqrt(1.0 / n));
    double sbig = 0;
    for (int i = 0; i < 2000; i++) sbig += wr__rng_poisson(&a, 200.0);
    ck_assert_double_eq_tol(sbig / 2000, 200.0, 5 * sqrt(200.0 / 2000));
    for (int i = 0; i < 1000; i++) ck_assert_uint_lt(wr__rng_below(&a, 7), 7);
}
END_TEST

START_TEST(test_bytes_roundtrip)
{
    wr__writer w;
    wr__w_init(&w);
    float f[3] = {1.5f, -0.0f, 3e-38f};
    double d[2] = {M_PI, -1e300};
    int32_t i32[2] = {-5, 7};
    wr__w_u32(&w, 0xdeadbeef);
    wr__w_u64(&w, 0x0123456789abcdefull);
    wr__w_f32s(&w, f, 3);
    wr__w_f64s(&w, d, 2);
    wr__w_i32s(&w, i32, 2);
    wr__w_str(&w, "hello");
    WR_ASSERT_OK(wr__w_status(&w));
    ck_assert_uint_eq(w.data[0], 0xef); /* little-endian on every host */

    wr__reader r;
    wr__r_init(&r, w.data, w.size);
    ck_assert_uint_eq(wr__r_u32(&r), 0xdeadbeef);
    ck_assert(wr__r_u64(&r) == 0x0123456789abcdefull);
    float f2[3];
    double d2[2];
    int32_t i2[2];
    wr__r_f32s(&r, f2, 3);
    wr__r_f64s(&r, d2, 2);
    wr__r_i32s(&r, i2, 2);
    ck_assert(memcmp(f, f2, sizeof f) == 0 && memcmp(d, d2, sizeof d) == 0);
    ck_assert(i2[0] == -5 && i2[1] == 7);
    char *s = wr__r_str(&r);
    ck_assert_str_eq(s, "hello");
    free(s);
    WR_ASSERT_OK(wr__r_status(&r, "test", true));
    /* reading past the end fails, sticky */
    (void)wr__r_u32(&r);
    WR_ASSERT_FAILS(wr__r_status(&r, "test", false), WR_ERR_FORMAT);
    /* counts larger than the remaining bytes are refused */
    wr__r_init(&r, w.data, w.size);
    ck_assert_uint_eq(wr__r_count(&r, 8, SIZE_MAX), 0);
    ck_assert(r.failed);
    wr__w_free(&w);
}
END_TEST

typedef struct tparams {
    int64_t rounds;
    double lr;
    int verbose;
    int mode;
    wr__intlist hidden;
} tparams;

static const char *const MODES[] = {"fast", "exact", NULL};
static const wr__param_desc TDESC[] = {
    {"rounds", WR__P_INT, offsetof(tparams, rounds), 1, 100000, "100", NULL, "boosting rounds"},
    {"learning_rate", WR__P_DOUBLE, offsetof(tparams, lr), 1e-6, 1, "0.1", NULL, "step"},
    {"verbose", WR__P_BOOL, offsetof(tparams, verbose), 0, 1, "false", NULL, "talk"},
    {"mode", WR__P_CHOICE, offsetof(tparams, mode), 0, 0, "fast", MODES, "mode"},
    {"hidden", WR__P_INTLIST, offsetof(tparams, hidden), 1, 4096, "64,64,64", NULL, "widths"},
};
static const wr__param_table TTABLE = {"test", TDESC, 5, sizeof(tparams)};

START_TEST(test_params)
{
    tparams p;
    wr__params_defaults(&TTABLE, &p);
    ck_assert_int_eq(p.rounds, 100);
    ck_assert_double_eq(p.lr, 0.1);
    ck_assert_int_eq(p.hidden.n, 3);
    WR_ASSERT_OK(wr__params_parse(&TTABLE, &p, "rounds=7 learning_rate=0.5\tmode=exact hidden=8,16"));
    ck_assert_int_eq(p.rounds, 7);
    ck_assert_int_eq(p.mode, 1);
    ck_assert_int_eq(p.hidden.n, 2);
    ck_assert_int_eq(p.hidden.v[1], 16);
    /* all-or-nothing: a bad token leaves every field unchanged */
    WR_ASSERT_FAILS(wr__params_parse(&TTABLE, &p, "rounds=9 learning_rate=2"), WR_ERR_INVALID_ARG);
    ck_assert_int_eq(p.rounds, 7);
    WR_ASSERT_FAILS(wr__params_set(&TTABLE, &p, "nope", "1"), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "known: rounds"));
    WR_ASSERT_FAILS(wr__params_set(&TTABLE, &p, "rounds", "1.5"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr__params_set(&TTABLE, &p, "rounds", "abc"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr__params_set(&TTABLE, &p, "learning_rate", "nan"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr__params_set(&TTABLE, &p, "hidden", "8,,x"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr__params_parse(&TTABLE, &p, "rounds"), WR_ERR_INVALID_ARG);
    char buf[64];
    WR_ASSERT_OK(wr__params_get(&TTABLE, &p, "hidden", buf, sizeof buf));
    ck_assert_str_eq(buf, "8,16");
    WR_ASSERT_FAILS(wr__params_get(&TTABLE, &p, "hidden", buf, 3), WR_ERR_INVALID_ARG);
    double v;
    WR_ASSERT_OK(wr__params_get_num(&TTABLE, &p, "learning_rate", &v));
    ck_assert_double_eq(v, 0.5);
    /* serialise and read back */
    wr__writer w;
    wr__w_init(&w);
    wr__params_write(&w, &TTABLE, &p);
    tparams q;
    wr__reader r;
    wr__r_init(&r, w.data, w.size);
    WR_ASSERT_OK(wr__params_read(&r, &TTABLE, &q));
    ck_assert(q.rounds == p.rounds && q.lr == p.lr && q.mode == p.mode &&
              q.hidden.n == 2 && q.hidden.v[0] == 8);
    wr__w_free(&w);
}
END_TEST

static void make_container(void **buf, size_t *n)
{
    unsigned char payload[1000];
    for (int i = 0; i < 1000; i++) payload[i] = (unsigned char)(i * 7 % 13);
    WR_ASSERT_OK(wr__container_pack(WR_KIND_REGRESSOR, 2, payload, sizeof payload, buf, n));
}

START_TEST(test_container_roundtrip)
{
    void *buf;
    size_t n;
    make_container(&buf, &n);
    int kind;
    uint32_t kv;
    WR_ASSERT_OK(wr_model_inspect(buf, n, &kind, &kv));
    ck_assert_int_eq(kind, WR_KIND_REGRESSOR);
    ck_assert_uint_eq(kv, 2);
    void *payload;
    size_t pn;
    WR_ASSERT_OK(wr__container_unpack(buf, n, WR_KIND_REGRESSOR, 2, &payload, &pn, &kv));
    ck_assert_uint_eq(pn, 1000);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(((unsigned char *)payload)[i], i * 7 % 13);
    free(payload);
    /* file round trip (atomic write) */
    char path[] = "/tmp/wr_test_container_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unsigned char p1[5] = {1, 2, 3, 4, 5};
    WR_ASSERT_OK(wr__container_save_file(path, WR_KIND_MORPHER, 1, p1, 5));
    WR_ASSERT_OK(wr_model_inspect_file(path, &kind, &kv));
    ck_assert_int_eq(kind, WR_KIND_MORPHER);
    WR_ASSERT_OK(wr__container_load_file(path, WR_KIND_MORPHER, 1, &payload, &pn, NULL));
    ck_assert(pn == 5 && memcmp(payload, p1, 5) == 0);
    free(payload);
    unlink(path);
    WR_ASSERT_FAILS(wr__container_load_file(path, WR_KIND_MORPHER, 1, &payload, &pn, NULL), WR_ERR_IO);
    WR_ASSERT_FAILS(wr__container_save_file("/nonexistent-dir/x.wrm", WR_KIND_MORPHER, 1, p1, 5), WR_ERR_IO);
    ck_assert_str_eq(wr_model_kind_name(WR_KIND_QUANTILE_FOREST), "quantile_forest");
    ck_assert_str_eq(wr_model_kind_name(77), "unknown");
    free(buf);
}
END_TEST

START_TEST(test_container_corruption)
{
    void *buf;
    size_t n;
    void *payload = NULL;
    size_t pn;
    make_container(&buf, &n);
    unsigned char *b = buf;
    unsigned char *c = malloc(n);

    /* every truncation length */
    for (size_t len = 0; len < n; len++) {
        wr_status st = wr__container_unpack(b, len, WR_KIND_REGRESSOR, 2, &payload, &pn, NULL);
        ck_assert_msg(st == WR_ERR_FORMAT, "truncated to %zu: %s", len, wr_status_string(st));
        st = wr_model_inspect(b, len, NULL, NULL);
        ck_assert_msg(st == WR_ERR_FORMAT, "inspect, truncated to %zu: %s", len,
                      wr_status_string(st));
        ck_assert(wr_last_error()[0] != '\0');
    }
    /* every single-byte flip is detected (magic, header CRC, zlib, payload CRC) */
    for (size_t i = 0; i < n; i++) {
        memcpy(c, b, n);
        c[i] ^= 0x5a;
        wr_status st = wr__container_unpack(c, n, WR_KIND_REGRESSOR, 2, &payload, &pn, NULL);
        ck_assert_msg(st != WR_OK, "flip at byte %zu not detected", i);
        /* inspect is a full integrity check too (payload CRC included) */
        st = wr_model_inspect(c, n, NULL, NULL);
        ck_assert_msg(st != WR_OK, "inspect: flip at byte %zu not detected", i);
    }
    /* wrong kind */
    WR_ASSERT_FAILS(wr__container_unpack(b, n, WR_KIND_MORPHER, 2, &payload, &pn, NULL), WR_ERR_WRONG_KIND);
    /* newer kind version than supported */
    WR_ASSERT_FAILS(wr__container_unpack(b, n, WR_KIND_REGRESSOR, 1, &payload, &pn, NULL), WR_ERR_UNSUPPORTED);
    /* newer container format, with a valid header CRC */
    memcpy(c, b, n);
    c[8] = 9;
    uint32_t crc = wr__crc32(c, 44);
    for (int i = 0; i < 4; i++) c[44 + i] = (unsigned char)(crc >> (8 * i));
    WR_ASSERT_FAILS(wr__container_unpack(c, n, WR_KIND_REGRESSOR, 2, &payload, &pn, NULL), WR_ERR_UNSUPPORTED);
    /* hostile uncompressed size with a valid header CRC */
    memcpy(c, b, n);
    for (int i = 0; i < 8; i++) c[24 + i] = 0xff;
    crc = wr__crc32(c, 44);
    for (int i = 0; i < 4; i++) c[44 + i] = (unsigned char)(crc >> (8 * i));
    WR_ASSERT_FAILS(wr__container_unpack(c, n, WR_KIND_REGRESSOR, 2, &payload, &pn, NULL), WR_ERR_FORMAT);
    /* trailing garbage */
    unsigned char *big = malloc(n + 3);
    memcpy(big, b, n);
    WR_ASSERT_FAILS(wr__container_unpack(big, n + 3, WR_KIND_REGRESSOR, 2, &payload, &pn, NULL), WR_ERR_FORMAT);
    WR_ASSERT_FAILS(wr_model_inspect(NULL, 10, NULL, NULL), WR_ERR_INVALID_ARG);
    /* header fields that are wrong although the header CRC is right */
    struct {
        size_t off;
        uint32_t value;
        wr_status expect;
    } fields[] = {
        {8, 0, WR_ERR_FORMAT},        /* container version 0 */
        {20, 1, WR_ERR_FORMAT},       /* unknown flags */
        {16, 0, WR_ERR_UNSUPPORTED},  /* kind version 0 */
        {32, 5, WR_ERR_FORMAT},       /* compressed size != bytes present */
        {40, 0xdeadbeef, WR_ERR_FORMAT}, /* payload CRC */
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        memcpy(c, b, n);
        for (int i = 0; i < 4; i++) c[fields[k].off + i] = (unsigned char)(fields[k].value >> (8 * i));
        crc = wr__crc32(c, 44);
        for (int i = 0; i < 4; i++) c[44 + i] = (unsigned char)(crc >> (8 * i));
        wr_status st = wr__container_unpack(c, n, WR_KIND_REGRESSOR, 2, &payload, &pn, NULL);
        ck_assert_msg(st == fields[k].expect, "header field at %zu = %u: %s (%s)", fields[k].off,
                      fields[k].value, wr_status_string(st), wr_last_error());
    }
    free(big);
    free(c);
    free(buf);
}
END_TEST

/* Saving is atomic: a failed save leaves the previous file and no
 * temporary file behind; a successful one replaces the file whole. */
START_TEST(test_atomic_save)
{
    char dir[] = "/tmp/wr_test_atomic_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/model.wrm", dir);
    unsigned char p1[3] = {1, 2, 3}, p2[4] = {9, 8, 7, 6};
    WR_ASSERT_OK(wr__container_save_file(path, WR_KIND_MORPHER, 1, p1, 3));
    WR_ASSERT_OK(wr__container_save_file(path, WR_KIND_MORPHER, 1, p2, 4));
    void *payload;
    size_t pn;
    WR_ASSERT_OK(wr__container_load_file(path, WR_KIND_MORPHER, 1, &payload, &pn, NULL));
    ck_assert(pn == 4 && memcmp(payload, p2, 4) == 0);
    free(payload);
    /* the target is a non-empty directory: the rename fails */
    snprintf(sub, sizeof sub, "%s/busy", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/keep", sub);
    FILE *f = fopen(inner, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    WR_ASSERT_FAILS(wr__container_save_file(sub, WR_KIND_MORPHER, 1, p1, 3), WR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), sub));
    /* nothing but model.wrm and busy/ is left in dir */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 2", dir);
    ck_assert_int_eq(system(cmd), 0);
    WR_ASSERT_OK(wr__container_load_file(path, WR_KIND_MORPHER, 1, &payload, &pn, NULL));
    ck_assert(pn == 4 && memcmp(payload, p2, 4) == 0);
    free(payload);
    /* a truncated file on disk is a format error naming the file */
    void *buf;
    size_t n;
    WR_ASSERT_OK(wr__file_read_all(path, 1 << 20, &buf, &n));
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, n - 1, f), n - 1);
    fclose(f);
    free(buf);
    WR_ASSERT_FAILS(wr__container_load_file(path, WR_KIND_MORPHER, 1, &payload, &pn, NULL),
                    WR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), path));
    WR_ASSERT_FAILS(wr_model_inspect_file(path, NULL, NULL), WR_ERR_FORMAT);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

typedef struct sum_ctx {
    const double *x;
    double partial[1024];
} sum_ctx;

static void sum_chunk(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    sum_ctx *s = ctx;
    double acc = 0;
    for (size_t i = begin; i < end; i++) acc += s->x[i];
    s->partial[begin / 100] = acc;
}

START_TEST(test_pool)
{
    enum { N = 100000 };
    double *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = i * 0.5;
    double expect = 0.5 * (double)N * (N - 1) / 2;
    double results[3];
    int threads[3] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
        sum_ctx s = {x, {0}};
        wr__pool *p = wr__pool_create(threads[k]);
        ck_assert_int_eq(wr__pool_threads(p), threads[k]);
        for (int rep = 0; rep < 50; rep++) wr__pool_for(p, N, 100, sum_chunk, &s);
        wr__pool_free(p);
        double tot = 0;
        for (int i = 0; i < N / 100; i++) tot += s.partial[i];
        results[k] = tot;
        ck_assert_double_eq_tol(tot, expect, 1e-6 * expect);
    }
    /* per-chunk results do not depend on the thread count */
    ck_assert(results[0] == results[1] && results[1] == results[2]);
    sum_ctx s = {x, {0}};
    wr__parallel_for(3, N, 100, sum_chunk, &s);
    double tot = 0;
    for (int i = 0; i < N / 100; i++) tot += s.partial[i];
    ck_assert(tot == results[0]);
    ck_assert_int_ge(wr__resolve_threads(0), 1);
    free(x);
}
END_TEST

static int cancel_at_3(void *u, const char *stage, int64_t step, int64_t total, double a, double b)
{
    (void)stage; (void)total; (void)a; (void)b;
    *(int *)u += 1;
    return step >= 3;
}

START_TEST(test_progress)
{
    int calls = 0;
    WR_ASSERT_OK(wr__progress(cancel_at_3, &calls, "x", 1, 5, 0, 0));
    WR_ASSERT_FAILS(wr__progress(cancel_at_3, &calls, "x", 3, 5, 0, 0), WR_ERR_CANCELLED);
    ck_assert_int_eq(calls, 2);
    WR_ASSERT_OK(wr__progress(NULL, NULL, "x", 3, 5, 0, 0));
}
END_TEST

START_TEST(test_wrap)
{
    ck_assert_double_eq_tol(wr__wrap_angle(3 * M_PI), M_PI, 1e-12);
    ck_assert_double_eq_tol(wr__wrap_angle(-M_PI), M_PI, 1e-12);
    ck_assert_double_eq_tol(wr__wrap_angle(-3 * M_PI / 2), M_PI / 2, 1e-12);
    ck_assert_double_eq(wr__wrap_angle(0.25), 0.25);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_last_error);
    tcase_add_test(tc, test_last_error_thread_local);
    tcase_add_test(tc, test_checks);
    tcase_add_test(tc, test_rng);
    tcase_add_test(tc, test_bytes_roundtrip);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_container_roundtrip);
    tcase_add_test(tc, test_container_corruption);
    tcase_add_test(tc, test_atomic_save);
    tcase_add_test(tc, test_pool);
    tcase_add_test(tc, test_progress);
    tcase_add_test(tc, test_wrap);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(core_suite)
