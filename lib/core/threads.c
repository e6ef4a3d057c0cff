/* lib/core/threads.c -- a small fixed thread pool and a chunked
 * parallel-for.  Work items are handed out in fixed chunks through an atomic
 * counter, so the split of the work (and anything computed per chunk) does
 * not depend on how many threads take part. */
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct wr__pool {
    int nthreads;          /* including the calling thread */
    pthread_t *workers;    /* nthreads - 1 */
    pthread_mutex_t mu;
    pthread_cond_t start_cv, done_cv;
    uint64_t generation;   /* bumped for each job */
    int running;           /* workers still busy on the current job */
    bool quit;
    /* current job */
    wr__range_fn fn;
    void *ctx;
    size_t n, chunk;
    atomic_size_t next;
};

int wr__resolve_threads(int requested)
{
    if (requested > 0) return requested;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void run_chunks(wr__pool *p, int tid)
{
    for (;;) {
        size_t begin = atomic_fetch_add(&p->next, p->chunk);
        if (begin >= p->n) break;
        size_t end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        p->fn(p->ctx, begin, end, tid);
    }
}

typedef struct worker_arg {
    wr__pool *pool;
    int tid;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    wr__pool *p = a.pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->start_cv, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p, a.tid);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

wr__pool *wr__pool_create(int nthreads)
{
    if (nthreads < 1) nthreads = 1;
    wr__pool *p = calloc(1, sizeof *p);
    if (!p) {
        wr__fail(WR_ERR_NOMEM, "out of memory creating a thread pool");
        return NULL;
    }
    p->nthreads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (nthreads > 1) {
        p->workers = calloc((size_t)nthreads - 1, sizeof *p->workers);
        if (!p->workers) {
            wr__pool_free(p);
            wr__fail(WR_ERR_NOMEM, "out of memory creating a thread pool");
            return NULL;
        }
        for (int i = 1; i < nthreads; i++) {
            worker_arg *a = malloc(sizeof *a);
            if (!a) break;
            a->pool = p;
            a->tid = i;
            if (pthread_create(&p->workers[i - 1], NULL, worker_main, a) != 0) {
                free(a);
                break; /* run with the threads we got */
            }
            p->nthreads++;
        }
    }
    return p;
}

void wr__pool_free(wr__pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->workers);
    free(p);
}

int wr__pool_threads(const wr__pool *p) { return p ? p->nthreads : 1; }

static size_t auto_chunk(size_t n, int nthreads)
{
    size_t c = n / ((size_t)nthreads * 8);
    return c < 1 ? 1 : c;
}

void wr__pool_for(wr__pool *p, size_t n, size_t chunk, wr__range_fn fn,
                  void *ctx)
{
    if (n == 0) return;
    int nt = p ? p->nthreads : 1;
    if (chunk == 0) chunk = auto_chunk(n, nt);
    if (nt == 1 || n <= chunk) {
        for (size_t b = 0; b < n; b += chunk) fn(ctx, b, b + chunk < n ? b + chunk : n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    atomic_store(&p->next, 0);
    p->running = p->nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->running > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void wr__parallel_for(int nthreads, size_t n, size_t chunk, wr__range_fn fn,
                      void *ctx)
{
    if (chunk == 0) chunk = auto_chunk(n, nthreads < 1 ? 1 : nthreads);
    size_t nchunks = (n + chunk - 1) / (chunk ? chunk : 1);
    if (nthreads > 1 && (size_t)nthreads > nchunks) nthreads = (int)nchunks;
    wr__pool *p = nthreads > 1 ? wr__pool_create(nthreads) : NULL;
    wr__pool_for(p, n, chunk, fn, ctx);
    wr__pool_free(p);
}
