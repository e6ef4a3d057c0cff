/* tests/test_core_threads.c -- concurrency of the core services: the thread
 * pool under repeated jobs, pools used from several threads at once, the
 * thread-local last error, and read-only container calls on one shared
 * buffer from many threads.  `make check-tsan` runs this file under
 * ThreadSanitizer (its name contains "threads"). */
#include "testutil.h"

#include "core.h"

#include <pthread.h>

enum { NT = 8 };

/* --------------------------------------------------- pool, many jobs */
typedef struct chunk_ctx {
    const uint32_t *x;
    size_t n;
    size_t chunk;
    uint64_t *per_chunk; /* one slot per chunk */
    _Atomic uint64_t calls;
} chunk_ctx;

static void chunk_sum(void *vctx, size_t begin, size_t end, int tid)
{
    chunk_ctx *c = vctx;
    (void)tid;
    uint64_t acc = 0;
    for (size_t i = begin; i < end; i++) acc += c->x[i];
    c->per_chunk[begin / c->chunk] = acc;
    c->calls++;
}

START_TEST(test_pool_many_jobs)
{
    enum { N = 10000, CHUNK = 64, NCHUNK = (N + CHUNK - 1) / CHUNK };
    uint32_t *x = malloc(N * sizeof *x);
    uint64_t expect = 0;
    for (int i = 0; i < N; i++) expect += x[i] = (uint32_t)(i * 2654435761u >> 7);
    wr__pool *p = wr__pool_create(4);
    ck_assert_ptr_nonnull(p);
    /* Many short jobs in a row stress the start/done handshake between the
     * caller and the workers (a lost wake-up would hang here). */
    for (int job = 0; job < 300; job++) {
        uint64_t per_chunk[NCHUNK];
        memset(per_chunk, 0, sizeof per_chunk);
        chunk_ctx c = {x, N, CHUNK, per_chunk, 0};
        size_t n = (size_t)(job % 7 == 0 ? 1 : N - job); /* includes tiny jobs */
        wr__pool_for(p, n, CHUNK, chunk_sum, &c);
        uint64_t got = 0, want = 0;
        for (size_t k = 0; k < (n + CHUNK - 1) / CHUNK; k++) got += per_chunk[k];
        for (size_t i = 0; i < n; i++) want += x[i];
        ck_assert_uint_eq(got, want);
        ck_assert_uint_eq(c.calls, (n + CHUNK - 1) / CHUNK);
    }
    wr__pool_free(p);
    /* chunk results do not depend on the thread count */
    uint64_t ref[NCHUNK];
    for (int nt = 1; nt <= NT; nt++) {
        uint64_t per_chunk[NCHUNK];
        chunk_ctx c = {x, N, CHUNK, per_chunk, 0};
        wr__parallel_for(nt, N, CHUNK, chunk_sum, &c);
        if (nt == 1) memcpy(ref, per_chunk, sizeof ref);
        ck_assert_mem_eq(ref, per_chunk, sizeof ref);
    }
    uint64_t total = 0;
    for (int k = 0; k < NCHUNK; k++) total += ref[k];
    ck_assert_uint_eq(total, expect);
    free(x);
}
END_TEST

/* ------------------------------------ independent pools in many threads */
typedef struct pool_user {
    const uint32_t *x;
    size_t n;
    uint64_t result;
} pool_user;

static void *use_own_pool(void *arg)
{
    pool_user *u = arg;
    enum { CHUNK = 100 };
    size_t nchunk = (u->n + CHUNK - 1) / CHUNK;
    uint64_t *per_chunk = calloc(nchunk, sizeof *per_chunk);
    chunk_ctx c = {u->x, u->n, CHUNK, per_chunk, 0};
    wr__pool *p = wr__pool_create(3);
    for (int rep = 0; rep < 20; rep++) wr__pool_for(p, u->n, CHUNK, chunk_sum, &c);
    wr__pool_free(p);
    uint64_t s = 0;
    for (size_t k = 0; k < nchunk; k++) s += per_chunk[k];
    u->result = s;
    free(per_chunk);
    return NULL;
}

START_TEST(test_pools_in_parallel)
{
    enum { N = 5000 };
    uint32_t *x = malloc(N * sizeof *x);
    uint64_t expect = 0;
    for (int i = 0; i < N; i++) expect += x[i] = (uint32_t)i * 3u + 1u;
    pthread_t th[4];
    pool_user u[4];
    for (int t = 0; t < 4; t++) {
        u[t] = (pool_user){x, N, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, use_own_pool, &u[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        ck_assert_uint_eq(u[t].result, expect);
    }
    free(x);
}
END_TEST

/* ------------------------------------------- thread-local last error */
typedef struct err_arg {
    int id;
    int mismatches;
} err_arg;

static void *fail_repeatedly(void *arg)
{
    err_arg *a = arg;
    char want[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(want, sizeof want, "thread %d failure %d", a->id, i);
        wr__fail(WR_ERR_NUMERICAL, "thread %d failure %d", a->id, i);
        if (strcmp(wr_last_error(), want) != 0) a->mismatches++;
        /* a real failing public call from this thread too */
        if (wr_model_inspect(NULL, 0, NULL, NULL) != WR_ERR_INVALID_ARG ||
            strstr(wr_last_error(), "NULL") == NULL)
            a->mismatches++;
    }
    return NULL;
}

START_TEST(test_errors_do_not_leak_between_threads)
{
    wr__fail(WR_ERR_IO, "main thread message");
    pthread_t th[NT];
    err_arg a[NT];
    for (int t = 0; t < NT; t++) {
        a[t] = (err_arg){t, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, fail_repeatedly, &a[t]), 0);
    }
    for (int t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(a[t].mismatches, 0);
    }
    ck_assert_str_eq(wr_last_error(), "main thread message");
}
END_TEST

/* ------------------------------- read-only container calls, shared buffer */
typedef struct shared_model {
    const void *buf;
    size_t n;
    const unsigned char *payload;
    size_t payload_n;
    int failures;
} shared_model;

static void *read_model(void *arg)
{
    shared_model *m = arg;
    for (int i = 0; i < 50; i++) {
        int kind = 0;
        uint32_t kv = 0;
        if (wr_model_inspect(m->buf, m->n, &kind, &kv) != WR_OK ||
            kind != WR_KIND_QUANTILE_FOREST || kv != 3)
            m->failures++;
        void *out = NULL;
        size_t on = 0;
        if (wr__container_unpack(m->buf, m->n, WR_KIND_QUANTILE_FOREST, 3, &out,
                                 &on, NULL) != WR_OK ||
            on != m->payload_n || memcmp(out, m->payload, on) != 0)
            m->failures++;
        free(out);
    }
    return NULL;
}

START_TEST(test_shared_model_buffer)
{
    enum { P = 20000 };
    unsigned char *payload = malloc(P);
    wr__rng r;
    wr__rng_seed(&r, 42, 0);
    for (int i = 0; i < P; i++) payload[i] = (unsigned char)(wr__rng_below(&r, 17));
    void *buf;
    size_t n;
    WR_ASSERT_OK(wr__container_pack(WR_KIND_QUANTILE_FOREST, 3, payload, P, &buf, &n));
    pthread_t th[NT];
    shared_model m[NT];
    for (int t = 0; t < NT; t++) {
        m[t] = (shared_model){buf, n, payload, P, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, read_model, &m[t]), 0);
    }
    for (int t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(m[t].failures, 0);
    }
    free(buf);
    free(payload);
}
END_TEST

/* ------------------------------------- rng streams, one per thread */
typedef struct rng_arg {
    uint64_t stream;
    uint64_t out[16];
} rng_arg;

static void *draw_stream(void *arg)
{
    rng_arg *a = arg;
    wr__rng r;
    wr__rng_seed(&r, 2026, a->stream);
    for (int i = 0; i < 16; i++) a->out[i] = wr__rng_u64(&r);
    return NULL;
}

START_TEST(test_rng_streams_across_threads)
{
    pthread_t th[NT];
    rng_arg a[NT];
    for (int t = 0; t < NT; t++) {
        a[t].stream = (uint64_t)t;
        ck_assert_int_eq(pthread_create(&th[t], NULL, draw_stream, &a[t]), 0);
    }
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    /* stream k drawn in a thread equals stream k drawn serially */
    for (int t = 0; t < NT; t++) {
        wr__rng r;
        wr__rng_seed(&r, 2026, (uint64_t)t);
        for (int i = 0; i < 16; i++) ck_assert_uint_eq(a[t].out[i], wr__rng_u64(&r));
        if (t > 0) ck_assert(a[t].out[0] != a[t - 1].out[0]);
    }
}
END_TEST

static Suite *core_threads_suite(void)
{
    Suite *s = suite_create("core_threads");
    TCase *tc = tcase_create("threads");
    /* ThreadSanitizer slows these down by an order of magnitude. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pool_many_jobs);
    tcase_add_test(tc, test_pools_in_parallel);
    tcase_add_test(tc, test_errors_do_not_leak_between_threads);
    tcase_add_test(tc, test_shared_model_buffer);
    tcase_add_test(tc, test_rng_streams_across_threads);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(core_threads_suite)
