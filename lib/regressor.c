/*
 * lib/regressor.c -- wr_regressor: an MLP maps standardised features to the
 * parameters of a pdf of the target; fitted by minibatch Adam on the mean
 * weighted NLL.  docs/regressor.md.
 *
 * Training runs in the standardised target space t' = (t - t_mean)/t_scale
 * (the pdf families are location-scale, so mu = t_mean + t_scale mu',
 * sigma = t_scale sigma', alphas unchanged, NLL = NLL' + ln t_scale).
 *
 * Threads.  A minibatch is split into equal chunks of at most CHUNK_ROWS
 * rows (the split depends on the batch size only).  Each chunk runs its
 * forward pass, NLL gradient and backward pass with single-threaded sgemm
 * calls on one pool thread into its own gradient buffer; the buffers are
 * summed in chunk order.  So results depend on the seed, not on the
 * thread count.  OpenBLAS's own threads cost more than they give at these
 * matrix sizes (measured: 3x slower per epoch with 2 OpenBLAS threads than
 * with 1) and, entered from several of our threads at once, serialise on
 * its server lock; so fit and predict set OpenBLAS to one thread for the
 * duration of the call and restore the previous count afterwards
 * (openblas_set_num_threads is process-wide; when the BLAS is not
 * OpenBLAS nothing is changed).
 */
#include "nn.h"
#include "pdf.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define KIND_VERSION 1u
#define CHUNK_ROWS 128     /* training rows per parallel work item */
#define EVAL_ROWS 256      /* rows per work item in predict/validation */
#define MAX_FEATURES 65536

/* Weak references: present when the BLAS is OpenBLAS, NULL otherwise. */
extern void openblas_set_num_threads(int) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

/* Single-threaded OpenBLAS for the duration of a call; returns the count
 * to restore (0: nothing to restore). */
static int blas_single_begin(void)
{
    if (!openblas_set_num_threads || !openblas_get_num_threads) return 0;
    int prev = openblas_get_num_threads();
    if (prev <= 1) return 0;
    openblas_set_num_threads(1);
    return prev;
}

static void blas_single_end(int prev)
{
    if (prev > 1) openblas_set_num_threads(prev);
}

/* ------------------------------------------------------------ parameters */
typedef struct reg_params {
    int family; /* index into FAMILIES: family id = index + 1 */
    double ped_lo, ped_hi; /* gaussexp2_flat pedestal range (target units) */
    wr__intlist hidden;
    int activation;
    int64_t epochs, batch_size, lr_patience, patience, seed, threads;
    int lr_schedule;
    double lr, lr_min, lr_factor, beta1, beta2, eps, l2;
} reg_params;

enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_PLATEAU };

static const char *const FAMILIES[] = {"gauss", "gaussexp2", "gaussexp2_flat", NULL};
static const char *const ACTS[] = {"relu", "elu", "selu", "tanh", NULL};
static const char *const SCHEDS[] = {"constant", "cosine", "plateau", NULL};

#define P_(name, type, field, lo, hi, def, ch, doc) \
    {name, type, offsetof(reg_params, field), lo, hi, def, ch, doc}
static const wr__param_desc DESC[] = {
    P_("family", WR__P_CHOICE, family, 0, 0, "gaussexp2", FAMILIES, "pdf family"),
    P_("pedestal_lo", WR__P_DOUBLE, ped_lo, -1e300, 1e300, "-3.141592653589793", NULL,
       "gaussexp2_flat: pedestal lower end"),
    P_("pedestal_hi", WR__P_DOUBLE, ped_hi, -1e300, 1e300, "3.141592653589793", NULL,
       "gaussexp2_flat: pedestal upper end"),
    P_("hidden", WR__P_INTLIST, hidden, 1, 65536, "64,64,64", NULL, "hidden layer widths"),
    P_("activation", WR__P_CHOICE, activation, 0, 0, "elu", ACTS, "hidden activation"),
    P_("epochs", WR__P_INT, epochs, 1, 1000000, "50", NULL, "maximum epochs"),
    P_("batch_size", WR__P_INT, batch_size, 1, 1 << 20, "256", NULL, "minibatch rows"),
    P_("learning_rate", WR__P_DOUBLE, lr, 1e-9, 10, "0.002", NULL, "Adam step size"),
    P_("lr_schedule", WR__P_CHOICE, lr_schedule, 0, 0, "cosine", SCHEDS, "rate schedule"),
    P_("lr_min", WR__P_DOUBLE, lr_min, 0, 10, "1e-5", NULL, "final/floor rate"),
    P_("lr_factor", WR__P_DOUBLE, lr_factor, 1e-3, 1, "0.5", NULL, "plateau factor"),
    P_("lr_patience", WR__P_INT, lr_patience, 1, 1000000, "3", NULL, "plateau epochs"),
    P_("adam_beta1", WR__P_DOUBLE, beta1, 0, 0.999999, "0.9", NULL, "Adam beta1"),
    P_("adam_beta2", WR__P_DOUBLE, beta2, 0, 0.99999999, "0.999", NULL, "Adam beta2"),
    P_("adam_eps", WR__P_DOUBLE, eps, 1e-12, 1, "1e-8", NULL, "Adam epsilon"),
    P_("l2", WR__P_DOUBLE, l2, 0, 1e3, "0", NULL, "L2 penalty on weights"),
    P_("patience", WR__P_INT, patience, 0, 1000000, "10", NULL, "early stopping epochs"),
    P_("seed", WR__P_INT, seed, 0, 9.2e18, "1", NULL, "random seed"),
    P_("threads", WR__P_INT, threads, 0, 4096, "1", NULL, "threads (0 = all cores)"),
};
static const wr__param_table TABLE = {"regressor", DESC, sizeof DESC / sizeof DESC[0],
                                      sizeof(reg_params)};

/* ----------------------------------------------------------------- model */
typedef struct model {
    reg_params par; /* the parameters it was fitted with (saved) */
    int family;
    wr__mlp mlp;
    float *theta;
    size_t d;
    float *x_mean, *x_iscale; /* x' = (x - mean) * iscale */
    double t_mean, t_scale;
    int epochs_run, best_epoch;
} model;

struct wr_regressor {
    reg_params par;
    wr_progress_fn progress;
    void *progress_user;
    model *fit; /* NULL until fitted */
};

static void model_free(model *m)
{
    if (!m) return;
    free(m->theta);
    free(m->x_mean);
    free(m->x_iscale);
    free(m);
}

static model *model_alloc(size_t d, size_t n_params)
{
    model *m = calloc(1, sizeof *m);
    if (!m) {
        wr__fail(WR_ERR_NOMEM, "out of memory allocating a regressor model");
        return NULL;
    }
    m->d = d;
    m->theta = wr__alloc_array(n_params, sizeof(float), "network parameters");
    m->x_mean = wr__alloc_array(d, sizeof(float), "feature means");
    m->x_iscale = wr__alloc_array(d, sizeof(float), "feature scales");
    if (!m->theta || !m->x_mean || !m->x_iscale) {
        model_free(m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------- lifecycle */
WR_API wr_status wr_regressor_create(wr_regressor **out)
{
    wr_status st = wr__check_ptr("wr_regressor_create", "out", out);
    if (st) return st;
    *out = NULL;
    wr_regressor *r = calloc(1, sizeof *r);
    if (!r) return wr__fail(WR_ERR_NOMEM, "wr_regressor_create: out of memory");
    wr__params_defaults(&TABLE, &r->par);
    *out = r;
    return WR_OK;
}

WR_API void wr_regressor_free(wr_regressor *r)
{
    if (!r) return;
    model_free(r->fit);
    free(r);
}

WR_API wr_status wr_regressor_set_param(wr_regressor *r, const char *key,
                                        const char *value)
{
    wr_status st = wr__check_ptr("wr_regressor_set_param", "r", r);
    if (!st) st = wr__check_ptr("wr_regressor_set_param", "key", key);
    if (st) return st;
    return wr__params_set(&TABLE, &r->par, key, value);
}

WR_API wr_status wr_regressor_set_params(wr_regressor *r, const char *kv)
{
    wr_status st = wr__check_ptr("wr_regressor_set_params", "r", r);
    if (!st) st = wr__check_ptr("wr_regressor_set_params", "kv", kv);
    if (st) return st;
    return wr__params_parse(&TABLE, &r->par, kv);
}

WR_API wr_status wr_regressor_get_param(const wr_regressor *r, const char *key,
                                        char *buf, size_t len)
{
    wr_status st = wr__check_ptr("wr_regressor_get_param", "r", r);
    if (!st) st = wr__check_ptr("wr_regressor_get_param", "key", key);
    if (!st) st = wr__check_ptr("wr_regressor_get_param", "buf", buf);
    if (st) return st;
    return wr__params_get(&TABLE, &r->par, key, buf, len);
}

WR_API void wr_regressor_set_progress(wr_regressor *r, wr_progress_fn fn,
                                      void *user_data)
{
    if (!r) return;
    r->progress = fn;
    r->progress_user = user_data;
}

WR_API int wr_regressor_is_fitted(const wr_regressor *r) { return r && r->fit; }
WR_API size_t wr_regressor_n_features(const wr_regressor *r)
{
    return r && r->fit ? r->fit->d : 0;
}
WR_API int wr_regressor_family(const wr_regressor *r)
{
    return r && r->fit ? r->fit->family : 0;
}

WR_API wr_status wr_regressor_fit_info(const wr_regressor *r, int *epochs_run,
                                       int *best_epoch)
{
    wr_status st = wr__check_ptr("wr_regressor_fit_info", "r", r);
    if (st) return st;
    if (epochs_run) *epochs_run = r->fit ? r->fit->epochs_run : 0;
    if (best_epoch) *best_epoch = r->fit ? r->fit->best_epoch : 0;
    return WR_OK;
}

/* ------------------------------------------------------- NLL of a block */
/* The fixed parameters (gaussexp2_flat's pedestal range) in standardised
 * target units. */
static void fixed_params_std(const model *m, double *p)
{
    if (m->family != WR_PDF_GAUSSEXP2_FLAT) return;
    p[5] = (m->par.ped_lo - m->t_mean) / m->t_scale;
    p[6] = (m->par.ped_hi - m->t_mean) / m->t_scale;
}

/* raw: rows x nout network outputs (standardised target space).  Returns
 * sum_i w_i nll_i; with draw != NULL also writes d(wscale * that)/draw. */
static double block_nll(const model *m, const float *raw, size_t rows,
                        const float *t, const float *w, double wscale,
                        float *draw)
{
    int family = m->family, k = wr__pdf_nout(family);
    double sum = 0.0, p[WR__PDF_MAX_PARAMS], dp[WR__PDF_MAX_PARAMS],
           g[WR__PDF_MAX_PARAMS];
    fixed_params_std(m, p);
    for (size_t r = 0; r < rows; r++) {
        double wi = w ? w[r] : 1.0;
        wr__pdf_link(family, raw + r * (size_t)k, p, dp);
        double nll = wr__pdf_nll_grad(family, p, t[r], g);
        sum += wi * nll;
        if (!draw) continue;
        for (int j = 0; j < k; j++)
            draw[r * (size_t)k + (size_t)j] = (float)(g[j] * dp[j] * wi * wscale);
    }
    return sum;
}

/* Standardises rows of X into xs (rows x d). */
static void standardise(const model *m, const float *X, size_t rows, float *xs)
{
    size_t d = m->d;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++)
            xs[r * d + j] = (X[r * d + j] - m->x_mean[j]) * m->x_iscale[j];
}

/* ------------------------------------------------------ batched forward */
/* Raw network output for blocks of EVAL_ROWS rows, in parallel; each
 * thread has its own scratch (tid-indexed), so predict is re-entrant. */
typedef struct eval_ctx {
    const model *m;
    const float *theta;
    const float *X;      /* raw features (standardised on the fly) or */
    bool pre_std;        /* already standardised rows */
    size_t n;
    float **scratch;     /* per tid: xs block + mlp workspace */
    /* output: either params in t units, or the NLL per block */
    double *params;
    const float *t, *w;
    double *block_sum;
} eval_ctx;

static void eval_blocks(void *vctx, size_t begin, size_t end, int tid)
{
    eval_ctx *c = vctx;
    const model *m = c->m;
    int k = wr__pdf_nparams(m->family), nout = wr__pdf_nout(m->family);
    float *xs = c->scratch[tid], *ws = xs + EVAL_ROWS * m->d;
    for (size_t b = begin; b < end; b++) {
        size_t r0 = b * EVAL_ROWS, rows = c->n - r0 < EVAL_ROWS ? c->n - r0 : EVAL_ROWS;
        const float *in = c->X + r0 * m->d;
        if (!c->pre_std) {
            standardise(m, in, rows, xs);
            in = xs;
        }
        const float *raw = wr__mlp_forward(&m->mlp, c->theta, in, rows, ws);
        if (c->block_sum) {
            c->block_sum[b] = block_nll(m, raw, rows, c->t + r0,
                                        c->w ? c->w + r0 : NULL, 0.0, NULL);
            continue;
        }
        /* links as wr__pdf_link, with softplus vectorised over the block
         * in float (libm's log1p/exp per value cost ~12% of predict) */
        float *sp = ws + wr__mlp_ws_floats(&m->mlp, EVAL_ROWS);
        wr__softplus_f(raw, sp, rows * (size_t)nout);
        for (size_t r = 0; r < rows; r++) {
            double *o = c->params + (r0 + r) * (size_t)k;
            const float *q = raw + r * (size_t)nout, *spr = sp + r * (size_t)nout;
            o[0] = m->t_mean + m->t_scale * (double)q[0];
            o[1] = m->t_scale * (WR__SIGMA_MIN + (double)spr[1]);
            for (int j = 2; j < nout && j < 4; j++) o[j] = WR__ALPHA_MIN + (double)spr[j];
            if (k == 7) {
                o[4] = WR__FRAC_MAX / (1.0 + exp(-(double)q[4]));
                o[5] = m->par.ped_lo;
                o[6] = m->par.ped_hi;
            }
        }
    }
}

/* Runs eval_blocks over n rows with `threads` threads (own scratch). */
static wr_status eval_run(eval_ctx *c, int threads)
{
    size_t nblocks = (c->n + EVAL_ROWS - 1) / EVAL_ROWS;
    int nt = wr__resolve_threads(threads);
    if ((size_t)nt > nblocks) nt = nblocks ? (int)nblocks : 1;
    size_t per = EVAL_ROWS * c->m->d + wr__mlp_ws_floats(&c->m->mlp, EVAL_ROWS) +
                 EVAL_ROWS * WR__PDF_MAX_PARAMS; /* softplus block */
    float **scratch = wr__calloc_array((size_t)nt, sizeof *scratch, "scratch");
    if (!scratch) return WR_ERR_NOMEM;
    wr_status st = WR_OK;
    for (int i = 0; i < nt && !st; i++)
        if (!(scratch[i] = wr__alloc_array(per, sizeof(float), "scratch"))) st = WR_ERR_NOMEM;
    if (!st) {
        int blas = blas_single_begin();
        c->scratch = scratch;
        wr__parallel_for(nt, nblocks, 1, eval_blocks, c);
        blas_single_end(blas);
    }
    for (int i = 0; i < nt; i++) free(scratch[i]);
    free(scratch);
    return st;
}

/* ----------------------------------------------------------------- fit */
typedef struct slot {
    float *x, *t, *w, *dout, *ws, *grad;
    double loss;
} slot;

typedef struct train {
    const model *m;
    const wr__mlp *mlp;
    size_t d;
    const float *xs, *ts, *w; /* standardised training data */
    const size_t *perm;
    size_t batch0, batch_rows, chunk_rows;
    double wscale;
    const float *theta;
    slot *slots;
} train;

static void train_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    train *T = vctx;
    for (size_t c = begin; c < end; c++) {
        slot *s = &T->slots[c];
        size_t r0 = c * T->chunk_rows;
        size_t rows = T->batch_rows - r0 < T->chunk_rows ? T->batch_rows - r0 : T->chunk_rows;
        for (size_t r = 0; r < rows; r++) {
            size_t i = T->perm[T->batch0 + r0 + r];
            memcpy(s->x + r * T->d, T->xs + i * T->d, T->d * sizeof(float));
            s->t[r] = T->ts[i];
            if (T->w) s->w[r] = T->w[i];
        }
        float *raw = wr__mlp_forward(T->mlp, T->theta, s->x, rows, s->ws);
        s->loss = block_nll(T->m, raw, rows, s->t, T->w ? s->w : NULL,
                            T->wscale, s->dout);
        wr__mlp_backward(T->mlp, T->theta, s->x, rows, s->ws, s->dout, s->grad);
    }
}

/* Everything fit allocates, freed in one place. */
typedef struct fit_state {
    model *m;
    float *xs, *ts, *xv, *tv, *best;
    size_t *perm;
    slot *slots;
    size_t n_slots;
    wr__adam adam;
    wr__pool *pool;
} fit_state;

static void fit_state_free(fit_state *S)
{
    model_free(S->m);
    free(S->xs);
    free(S->ts);
    free(S->xv);
    free(S->tv);
    free(S->best);
    free(S->perm);
    for (size_t i = 0; S->slots && i < S->n_slots; i++) {
        free(S->slots[i].x);
        free(S->slots[i].t);
        free(S->slots[i].w);
        free(S->slots[i].dout);
        free(S->slots[i].ws);
        free(S->slots[i].grad);
    }
    free(S->slots);
    free(S->adam.mom1);
    free(S->adam.mom2);
    wr__pool_free(S->pool);
}

static wr_status check_data(const char *fn, const char *xn, const float *X,
                            const char *tn, const float *t, const char *wn,
                            const float *w, size_t n, size_t d)
{
    size_t nd;
    if (!wr__mul_size(n, d, &nd))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: n * d overflows", fn);
    wr_status st = wr__check_ptr(fn, xn, X);
    if (!st) st = wr__check_ptr(fn, tn, t);
    if (!st) st = wr__check_finite_f(fn, xn, X, nd);
    if (st) return st;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(t[i]))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument '%s': target %g at index %zu is outside "
                            "what the pdf family supports (finite values)",
                            fn, tn, (double)t[i], i);
    return wr__check_weights(fn, wn, w, n);
}

/* gaussexp2_flat: the pedestal range must be valid and hold every target. */
static wr_status check_family_targets(const char *fn, const reg_params *P, int family,
                                      const char *tn, const float *t, size_t n)
{
    if (family != WR_PDF_GAUSSEXP2_FLAT) return WR_OK;
    if (!(P->ped_lo < P->ped_hi))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: parameters 'pedestal_lo' (%g) and "
                        "'pedestal_hi' (%g): empty range", fn, P->ped_lo, P->ped_hi);
    for (size_t i = 0; i < n; i++)
        if (!(t[i] >= P->ped_lo && t[i] <= P->ped_hi))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument '%s': target %g at index %zu is outside what "
                            "the pdf family supports (gaussexp2_flat: [pedestal_lo, "
                            "pedestal_hi] = [%g, %g])", fn, tn, (double)t[i], i,
                            P->ped_lo, P->ped_hi);
    return WR_OK;
}

/* Weighted mean and 1/std of each feature, mean and std of the target. */
static void fit_standardisation(model *m, const float *X, const float *t,
                                const float *w, size_t n)
{
    size_t d = m->d;
    double sw = 0.0, st = 0.0, st2 = 0.0;
    for (size_t i = 0; i < n; i++) sw += w ? w[i] : 1.0;
    for (size_t i = 0; i < n; i++) st += (w ? w[i] : 1.0) * t[i];
    double tm = st / sw;
    for (size_t i = 0; i < n; i++) st2 += (w ? w[i] : 1.0) * (t[i] - tm) * (t[i] - tm);
    m->t_mean = tm;
    m->t_scale = st2 > 0 ? sqrt(st2 / sw) : 1.0;
    for (size_t j = 0; j < d; j++) {
        double s = 0.0, s2 = 0.0;
        for (size_t i = 0; i < n; i++) s += (w ? w[i] : 1.0) * X[i * d + j];
        double mean = s / sw;
        for (size_t i = 0; i < n; i++) {
            double dx = X[i * d + j] - mean;
            s2 += (w ? w[i] : 1.0) * dx * dx;
        }
        double sd = sqrt(s2 / sw);
        m->x_mean[j] = (float)mean;
        /* a constant feature carries nothing: leave it at 0 */
        m->x_iscale[j] = sd > 1e-30 && isfinite(1.0 / sd) ? (float)(1.0 / sd) : 1.0f;
    }
}

/* Standardised copies of X (n x d) and t. */
static wr_status standardised_copy(const model *m, const float *X,
                                   const float *t, size_t n, float **xs,
                                   float **ts)
{
    *xs = wr__alloc_array(n * m->d, sizeof(float), "standardised features");
    *ts = wr__alloc_array(n, sizeof(float), "standardised targets");
    if (!*xs || !*ts) return WR_ERR_NOMEM;
    standardise(m, X, n, *xs);
    for (size_t i = 0; i < n; i++)
        (*ts)[i] = (float)((t[i] - m->t_mean) / m->t_scale);
    return WR_OK;
}

static wr_status alloc_slots(fit_state *S, size_t n_slots, size_t rows, size_t d,
                             int k, bool weighted)
{
    const wr__mlp *mlp = &S->m->mlp;
    S->slots = wr__calloc_array(n_slots, sizeof(slot), "training slots");
    if (!S->slots) return WR_ERR_NOMEM;
    S->n_slots = n_slots;
    for (size_t i = 0; i < n_slots; i++) {
        slot *s = &S->slots[i];
        s->x = wr__alloc_array(rows * d, sizeof(float), "batch features");
        s->t = wr__alloc_array(rows, sizeof(float), "batch targets");
        s->w = weighted ? wr__alloc_array(rows, sizeof(float), "batch weights") : NULL;
        s->dout = wr__alloc_array(rows * (size_t)k, sizeof(float), "output gradient");
        s->ws = wr__alloc_array(wr__mlp_ws_floats(mlp, rows), sizeof(float), "workspace");
        s->grad = wr__alloc_array(mlp->n_params, sizeof(float), "gradient");
        if (!s->x || !s->t || (weighted && !s->w) || !s->dout || !s->ws || !s->grad)
            return WR_ERR_NOMEM;
    }
    return WR_OK;
}

/* Initial output biases: mu' = 0, sigma' = 1, alphas = 2 (in standardised
 * units), i.e. the inverse links of those values. */
static void initial_out_bias(int family, float *b)
{
    b[0] = 0.0f;
    b[1] = (float)log(expm1(1.0 - WR__SIGMA_MIN));
    for (int j = 2; j < wr__pdf_nout(family) && j < 4; j++)
        b[j] = (float)log(expm1(2.0 - WR__ALPHA_MIN));
    if (family == WR_PDF_GAUSSEXP2_FLAT) { /* pedestal fraction 0.1 */
        double l = 0.1 / WR__FRAC_MAX;
        b[4] = (float)log(l / (1.0 - l));
    }
}

static double schedule_lr(const reg_params *P, int64_t epoch, double plateau_lr)
{
    if (P->lr_schedule == SCHED_CONSTANT) return P->lr;
    if (P->lr_schedule == SCHED_PLATEAU) return plateau_lr;
    double lo = P->lr_min < P->lr ? P->lr_min : P->lr;
    double f = P->epochs > 1 ? (double)epoch / (double)(P->epochs - 1) : 0.0;
    return lo + 0.5 * (P->lr - lo) * (1.0 + cos(3.14159265358979323846 * f));
}

/* Mean NLL of standardised rows (in standardised units). */
static wr_status nll_std(const model *m, const float *theta, const float *xs,
                         const float *ts, const float *w, size_t n, int threads,
                         double *out)
{
    size_t nblocks = (n + EVAL_ROWS - 1) / EVAL_ROWS;
    double *bs = wr__alloc_array(nblocks, sizeof(double), "validation sums");
    if (!bs) return WR_ERR_NOMEM;
    eval_ctx c = {.m = m, .theta = theta, .X = xs, .pre_std = true, .n = n,
                  .t = ts, .w = w, .block_sum = bs};
    wr_status st = eval_run(&c, threads);
    double s = 0.0, sw = 0.0;
    for (size_t b = 0; b < nblocks; b++) s += bs[b];
    for (size_t i = 0; i < n; i++) sw += w ? w[i] : 1.0;
    free(bs);
    *out = s / sw;
    return st;
}

static void shuffle(size_t *perm, size_t n, wr__rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)wr__rng_below(rng, i);
        size_t tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
}

/* One epoch of minibatch Adam; returns the weighted mean training NLL
 * (standardised units) in *loss. */
static void run_epoch(fit_state *S, train *T, const reg_params *P, size_t n,
                      const float *w, double lr, double *loss)
{
    model *m = S->m;
    size_t B = (size_t)P->batch_size < n ? (size_t)P->batch_size : n;
    double total = 0.0, total_w = 0.0;
    for (size_t b0 = 0; b0 < n; b0 += B) {
        size_t rows = n - b0 < B ? n - b0 : B;
        double bw = 0.0;
        for (size_t r = 0; w && r < rows; r++) bw += w[S->perm[b0 + r]];
        if (!w) bw = (double)rows;
        if (!(bw > 0)) continue; /* an all-zero-weight batch has no gradient */
        size_t nch = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
        T->batch0 = b0;
        T->batch_rows = rows;
        T->chunk_rows = (rows + nch - 1) / nch; /* equal chunks */
        T->wscale = 1.0 / bw;
        T->theta = m->theta;
        wr__pool_for(S->pool, nch, 1, train_chunk, T);
        float *g = S->slots[0].grad;
        for (size_t c = 1; c < nch; c++) {
            const float *gc = S->slots[c].grad;
            for (size_t i = 0; i < m->mlp.n_params; i++) g[i] += gc[i];
        }
        for (size_t c = 0; c < nch; c++) total += S->slots[c].loss;
        total_w += bw;
        wr__adam_step(&m->mlp, &S->adam, m->theta, g, lr, P->l2);
    }
    *loss = total / total_w;
}

/* Validates arguments and builds the initial model and buffers. */
static wr_status fit_setup(const wr_regressor *r, fit_state *S, const float *X,
                           size_t n, size_t d, const float *t, const float *w,
                           const float *X_val, size_t n_val,
                           const float *t_val, const float *w_val)
{
    const char *fn = "wr_regressor_fit";
    const reg_params *P = &r->par;
    wr_status st = check_data(fn, "X", X, "t", t, "w", w, n, d);
    if (st) return st;
    if (n < 2) return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' is %zu (need >= 2 rows)", fn, n);
    if (d < 1 || d > MAX_FEATURES)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'd' is %zu (1..%d)", fn, d, MAX_FEATURES);
    if ((X_val == NULL) != (n_val == 0))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: arguments 'X_val' and 'n_val' "
                        "disagree (give both or neither)", fn);
    if (n_val && (st = check_data(fn, "X_val", X_val, "t_val", t_val, "w_val", w_val, n_val, d)))
        return st;
    int family = P->family + 1, k = wr__pdf_nout(family);
    if ((st = check_family_targets(fn, P, family, "t", t, n)) ||
        (n_val && (st = check_family_targets(fn, P, family, "t_val", t_val, n_val))))
        return st;
    wr__mlp mlp;
    if ((st = wr__mlp_shape(&mlp, (int)d, P->hidden.v, P->hidden.n, k, P->activation, fn)))
        return st;
    if (!(S->m = model_alloc(d, mlp.n_params))) return WR_ERR_NOMEM;
    model *m = S->m;
    m->par = *P;
    m->family = family;
    m->mlp = mlp;
    fit_standardisation(m, X, t, w, n);
    wr__rng rng;
    wr__rng_seed(&rng, (uint64_t)P->seed, 0);
    float out_bias[WR__PDF_MAX_PARAMS];
    initial_out_bias(family, out_bias);
    wr__mlp_init(&mlp, m->theta, &rng, 0.1f, out_bias);
    if ((st = standardised_copy(m, X, t, n, &S->xs, &S->ts))) return st;
    if (n_val && (st = standardised_copy(m, X_val, t_val, n_val, &S->xv, &S->tv))) return st;
    size_t B = (size_t)P->batch_size < n ? (size_t)P->batch_size : n;
    size_t nch = (B + CHUNK_ROWS - 1) / CHUNK_ROWS;
    /* a shorter last batch may use fewer, longer chunks (up to CHUNK_ROWS
     * rows) than a full one: size the slots for that */
    size_t slot_rows = B < CHUNK_ROWS ? B : CHUNK_ROWS;
    if ((st = alloc_slots(S, nch, slot_rows, d, k, w != NULL))) return st;
    S->perm = wr__alloc_array(n, sizeof(size_t), "permutation");
    S->best = wr__alloc_array(mlp.n_params, sizeof(float), "best weights");
    S->adam.mom1 = wr__calloc_array(mlp.n_params, sizeof(float), "Adam moments");
    S->adam.mom2 = wr__calloc_array(mlp.n_params, sizeof(float), "Adam moments");
    if (!S->perm || !S->best || !S->adam.mom1 || !S->adam.mom2) return WR_ERR_NOMEM;
    S->adam.beta1 = P->beta1;
    S->adam.beta2 = P->beta2;
    S->adam.eps = P->eps;
    for (size_t i = 0; i < n; i++) S->perm[i] = i;
    int nt = wr__resolve_threads((int)P->threads);
    if ((size_t)nt > nch) nt = (int)nch;
    if (!(S->pool = wr__pool_create(nt))) return WR_ERR_NOMEM;
    return WR_OK;
}

/* Early-stopping bookkeeping after an epoch; returns true to stop. */
typedef struct stopper {
    double best, plateau_best, lr;
    int64_t since_best, since_plateau;
} stopper;

static bool after_epoch(fit_state *S, stopper *E, const reg_params *P,
                        int64_t epoch, double monitor, bool have_val)
{
    model *m = S->m;
    if (monitor < E->best) {
        E->best = monitor;
        E->since_best = 0;
        m->best_epoch = (int)epoch + 1;
        memcpy(S->best, m->theta, m->mlp.n_params * sizeof(float));
    } else {
        E->since_best++;
    }
    if (monitor < E->plateau_best) {
        E->plateau_best = monitor;
        E->since_plateau = 0;
    } else if (++E->since_plateau >= P->lr_patience) {
        E->lr = fmax(P->lr_min, E->lr * P->lr_factor);
        E->since_plateau = 0;
    }
    return have_val && P->patience > 0 && E->since_best >= P->patience;
}

static wr_status fit_loop(const wr_regressor *r, fit_state *S, size_t n,
                          const float *w, size_t n_val, const float *w_val)
{
    const reg_params *P = &r->par;
    model *m = S->m;
    train T = {.m = m, .mlp = &m->mlp, .d = m->d, .xs = S->xs, .ts = S->ts, .w = w, .perm = S->perm,
               .slots = S->slots};
    wr__rng rng;
    wr__rng_seed(&rng, (uint64_t)P->seed, 1);
    stopper E = {INFINITY, INFINITY, P->lr, 0, 0};
    double ln_scale = log(m->t_scale);
    int nt = wr__pool_threads(S->pool);
    for (int64_t e = 0; e < P->epochs; e++) {
        shuffle(S->perm, n, &rng);
        double loss, vloss = NAN;
        run_epoch(S, &T, P, n, w, schedule_lr(P, e, E.lr), &loss);
        if (n_val) {
            wr_status st = nll_std(m, m->theta, S->xv, S->tv, w_val, n_val, nt, &vloss);
            if (st) return st;
        }
        m->epochs_run = (int)e + 1;
        if (!isfinite(loss) || (n_val && !isfinite(vloss)))
            return wr__fail(WR_ERR_NUMERICAL,
                            "wr_regressor_fit: the NLL diverged at epoch %lld "
                            "(try a smaller learning_rate)", (long long)e + 1);
        bool stop = after_epoch(S, &E, P, e, n_val ? vloss : loss, n_val > 0);
        wr_status st = wr__progress(r->progress, r->progress_user, "regressor.fit",
                                    e + 1, P->epochs, loss + ln_scale,
                                    n_val ? vloss + ln_scale : NAN);
        if (st) return st;
        if (stop) break;
    }
    if (n_val) /* keep the weights of the best validation epoch */
        memcpy(m->theta, S->best, m->mlp.n_params * sizeof(float));
    else
        m->best_epoch = m->epochs_run;
    return WR_OK;
}

WR_API wr_status wr_regressor_fit(wr_regressor *r, const float *X, size_t n,
                                  size_t d, const float *t, const float *w,
                                  const float *X_val, size_t n_val,
                                  const float *t_val, const float *w_val)
{
    wr_status st = wr__check_ptr("wr_regressor_fit", "r", r);
    if (st) return st;
    fit_state S;
    memset(&S, 0, sizeof S);
    int blas = blas_single_begin();
    st = fit_setup(r, &S, X, n, d, t, w, X_val, n_val, t_val, w_val);
    if (!st) st = fit_loop(r, &S, n, w, n_val, w_val);
    blas_single_end(blas);
    if (!st) { /* swap the new model in */
        model_free(r->fit);
        r->fit = S.m;
        S.m = NULL;
    }
    fit_state_free(&S);
    return st;
}

/* -------------------------------------------------------------- predict */
static wr_status check_predict(const char *fn, const wr_regressor *r,
                               const float *X, size_t n, size_t d)
{
    wr_status st = wr__check_ptr(fn, "r", r);
    if (st) return st;
    if (!r->fit) return wr__fail(WR_ERR_NOT_FITTED, "%s: the regressor is not fitted", fn);
    if (d != r->fit->d)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'd' is %zu, the model "
                        "was fitted with %zu features", fn, d, r->fit->d);
    size_t nd;
    if (!wr__mul_size(n, d, &nd)) return wr__fail(WR_ERR_INVALID_ARG, "%s: n * d overflows", fn);
    if (n == 0) return WR_OK;
    if ((st = wr__check_ptr(fn, "X", X))) return st;
    return wr__check_finite_f(fn, "X", X, nd);
}

static wr_status predict_params(const char *fn, const wr_regressor *r,
                                const float *X, size_t n, size_t d,
                                double *params)
{
    if (n == 0) return WR_OK;
    eval_ctx c = {.m = r->fit, .theta = r->fit->theta, .X = X, .n = n, .params = params};
    wr_status st = eval_run(&c, (int)r->par.threads);
    if (st) {
        wr__error_prefix(fn);
        return st;
    }
    /* finite inputs can still overflow the network (features many orders
     * of magnitude outside the training range): report, do not return inf */
    size_t k = wr_pdf_n_params(r->fit->family);
    for (size_t i = 0; i < n * k; i++)
        if (!isfinite(params[i]))
            return wr__fail(WR_ERR_NUMERICAL, "%s: row %zu of 'X' gives non-finite pdf "
                            "parameters (features far outside the training range?)",
                            fn, i / k);
    return WR_OK;
}

WR_API wr_status wr_regressor_predict(const wr_regressor *r, const float *X,
                                      size_t n, size_t d, double *params,
                                      size_t k)
{
    const char *fn = "wr_regressor_predict";
    wr_status st = check_predict(fn, r, X, n, d);
    if (st) return st;
    if (k != wr_pdf_n_params(r->fit->family))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: family/parameter mismatch: "
                        "family '%s' has %zu parameters, argument 'k' is %zu", fn,
                        wr_pdf_family_name(r->fit->family),
                        wr_pdf_n_params(r->fit->family), k);
    if (n && (st = wr__check_ptr(fn, "params", params))) return st;
    return predict_params(fn, r, X, n, d, params);
}

/* Predicts parameters into a new array (for the derived outputs). */
static wr_status params_for(const char *fn, const wr_regressor *r,
                            const float *X, size_t n, size_t d, double **out)
{
    *out = NULL;
    wr_status st = check_predict(fn, r, X, n, d);
    if (st) return st;
    size_t k = wr_pdf_n_params(r->fit->family);
    size_t nk;
    if (!wr__mul_size(n, k, &nk)) return wr__fail(WR_ERR_INVALID_ARG, "%s: n too large", fn);
    if (!(*out = wr__alloc_array(nk, sizeof(double), "pdf parameters"))) return WR_ERR_NOMEM;
    st = predict_params(fn, r, X, n, d, *out);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

typedef wr_status (*points_api)(int, const double *, size_t, size_t,
                                const double *, size_t, double *);

/* Runs a wr_pdf_* point function on the predicted parameters; its error
 * messages are re-attributed to the regressor function. */
static wr_status via_params(const char *fn, points_api f, const wr_regressor *r,
                            const float *X, size_t n, size_t d, const double *x,
                            size_t m, double *out)
{
    size_t nm;
    if (!wr__mul_size(n, m, &nm)) /* before any row of X is read */
        return wr__fail(WR_ERR_INVALID_ARG, "%s: n * m overflows", fn);
    double *params;
    wr_status st = params_for(fn, r, X, n, d, &params);
    if (st) return st;
    st = f(r->fit->family, params, n, wr_pdf_n_params(r->fit->family), x, m, out);
    if (st) wr__error_prefix(fn);
    free(params);
    return st;
}

WR_API wr_status wr_regressor_pdf(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const double *t,
                                  size_t m, double *out)
{
    return via_params("wr_regressor_pdf", wr_pdf_density, r, X, n, d, t, m, out);
}

WR_API wr_status wr_regressor_cdf(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const double *t,
                                  size_t m, double *out)
{
    return via_params("wr_regressor_cdf", wr_pdf_cdf, r, X, n, d, t, m, out);
}

WR_API wr_status wr_regressor_quantile(const wr_regressor *r, const float *X,
                                       size_t n, size_t d, const double *p,
                                       size_t m, double *out)
{
    return via_params("wr_regressor_quantile", wr_pdf_quantile, r, X, n, d, p, m, out);
}

WR_API wr_status wr_regressor_summary(const wr_regressor *r, const float *X,
                                      size_t n, size_t d, double *out)
{
    const char *fn = "wr_regressor_summary";
    double *params;
    wr_status st = params_for(fn, r, X, n, d, &params);
    if (st) return st;
    st = wr_pdf_summary(r->fit->family, params, n, wr_pdf_n_params(r->fit->family), out);
    if (st) wr__error_prefix(fn);
    free(params);
    return st;
}

/* Copies float targets to double, checking they are finite. */
static wr_status targets_double(const char *fn, const char *arg, const float *t,
                                size_t n, double **out)
{
    *out = NULL;
    wr_status st = n ? wr__check_ptr(fn, arg, t) : WR_OK;
    if (st) return st;
    if (!(*out = wr__alloc_array(n, sizeof(double), "targets"))) return WR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i])) {
            free(*out);
            *out = NULL;
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': target %g at "
                            "index %zu is outside what the pdf family supports "
                            "(finite values)", fn, arg, (double)t[i], i);
        }
        (*out)[i] = t[i];
    }
    return WR_OK;
}

WR_API wr_status wr_regressor_pit(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const float *t_true,
                                  double *out)
{
    const char *fn = "wr_regressor_pit";
    double *td;
    wr_status st = check_predict(fn, r, X, n, d);
    if (!st) st = targets_double(fn, "t_true", t_true, n, &td);
    if (st) return st;
    st = via_params(fn, wr_pdf_cdf, r, X, n, d, td, 1, out);
    free(td);
    return st;
}

WR_API wr_status wr_regressor_nll(const wr_regressor *r, const float *X,
                                  size_t n, size_t d, const float *t,
                                  const float *w, double *nll)
{
    const char *fn = "wr_regressor_nll";
    double *td, *params = NULL;
    wr_status st = check_predict(fn, r, X, n, d);
    if (!st && n == 0) st = wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' is 0", fn);
    if (st) return st;
    if ((st = targets_double(fn, "t", t, n, &td))) return st;
    st = params_for(fn, r, X, n, d, &params);
    if (!st) {
        st = wr_pdf_nll(r->fit->family, params, n, wr_pdf_n_params(r->fit->family), td, w, nll);
        if (st) wr__error_prefix(fn);
    }
    free(params);
    free(td);
    return st;
}

/* ------------------------------------------------------------- payload */
/* Payload (kind version 1), little-endian:
 *   str  parameters "k=v ..." (those of the fit; loaded as the handle's)
 *   u32  family, u32 activation, u32 L (weight layers), u32 size[L + 1]
 *   f32  x_mean[d], f32 x_iscale[d]     (d = size[0])
 *   f64  t_mean, f64 t_scale
 *   u32  epochs_run, u32 best_epoch
 *   u64  n_params, f32 theta[n_params]  (layout of lib/nn.h)            */
static wr_status to_payload(const wr_regressor *r, wr__writer *w)
{
    const model *m = r->fit;
    wr__params_write(w, &TABLE, &m->par);
    wr__w_u32(w, (uint32_t)m->family);
    wr__w_u32(w, (uint32_t)m->mlp.act);
    wr__w_u32(w, (uint32_t)m->mlp.n_layers);
    for (int l = 0; l <= m->mlp.n_layers; l++) wr__w_u32(w, (uint32_t)m->mlp.size[l]);
    wr__w_f32s(w, m->x_mean, m->d);
    wr__w_f32s(w, m->x_iscale, m->d);
    wr__w_f64(w, m->t_mean);
    wr__w_f64(w, m->t_scale);
    wr__w_u32(w, (uint32_t)m->epochs_run);
    wr__w_u32(w, (uint32_t)m->best_epoch);
    wr__w_u64(w, m->mlp.n_params);
    wr__w_f32s(w, m->theta, m->mlp.n_params);
    return wr__w_status(w);
}

WR_API wr_status wr_regressor_to_bytes(const wr_regressor *r, void **buf,
                                       size_t *size)
{
    const char *fn = "wr_regressor_to_bytes";
    wr_status st = wr__check_ptr(fn, "r", r);
    if (!st) st = wr__check_ptr(fn, "buf", buf);
    if (!st) st = wr__check_ptr(fn, "size", size);
    if (st) return st;
    if (!r->fit) return wr__fail(WR_ERR_NOT_FITTED, "%s: the regressor is not fitted", fn);
    wr__writer w;
    wr__w_init(&w);
    st = to_payload(r, &w);
    if (!st) st = wr__container_pack(WR_KIND_REGRESSOR, KIND_VERSION, w.data, w.size, buf, size);
    wr__w_free(&w);
    return st;
}

WR_API wr_status wr_regressor_save(const wr_regressor *r, const char *path)
{
    const char *fn = "wr_regressor_save";
    wr_status st = wr__check_ptr(fn, "r", r);
    if (!st) st = wr__check_ptr(fn, "path", path);
    if (st) return st;
    if (!r->fit) return wr__fail(WR_ERR_NOT_FITTED, "%s: the regressor is not fitted", fn);
    wr__writer w;
    wr__w_init(&w);
    st = to_payload(r, &w);
    if (!st) st = wr__container_save_file(path, WR_KIND_REGRESSOR, KIND_VERSION, w.data, w.size);
    wr__w_free(&w);
    return st;
}

static wr_status bad_payload(const char *what)
{
    return wr__fail(WR_ERR_FORMAT, "regressor payload: %s", what);
}

/* Reads and checks the network shape. */
static wr_status read_shape(wr__reader *rd, wr__mlp *mlp, int *family)
{
    uint32_t fam = wr__r_u32(rd), act = wr__r_u32(rd), L = wr__r_u32(rd);
    wr_status st = wr__r_status(rd, "regressor payload", false);
    if (st) return st;
    if (!wr__pdf_family_valid((int)fam)) return bad_payload("unknown pdf family");
    if (act > WR__ACT_TANH) return bad_payload("unknown activation");
    if (L < 1 || L > WR__MLP_MAX_LAYERS) return bad_payload("bad layer count");
    uint32_t size[WR__MLP_MAX_LAYERS + 1];
    for (uint32_t l = 0; l <= L; l++) size[l] = wr__r_u32(rd);
    if ((st = wr__r_status(rd, "regressor payload", false))) return st;
    int hidden[WR__MLP_MAX_LAYERS];
    for (uint32_t l = 1; l < L; l++) {
        if (size[l] < 1 || size[l] > 65536) return bad_payload("bad layer width");
        hidden[l - 1] = (int)size[l];
    }
    if (size[0] < 1 || size[0] > MAX_FEATURES) return bad_payload("bad feature count");
    if (size[L] != (uint32_t)wr__pdf_nout((int)fam))
        return bad_payload("family/parameter mismatch in the output layer");
    if (wr__mlp_shape(mlp, (int)size[0], hidden, (int)L - 1, (int)size[L], (int)act,
                      "regressor payload"))
        return bad_payload("bad network shape");
    *family = (int)fam;
    return WR_OK;
}

static bool all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

static wr_status from_payload(const void *data, size_t size, wr_regressor *r)
{
    wr__reader rd;
    wr__r_init(&rd, data, size);
    wr_status st = wr__params_read(&rd, &TABLE, &r->par);
    if (st) return st;
    wr__mlp mlp;
    int family = 0;
    if ((st = read_shape(&rd, &mlp, &family))) return st;
    size_t d = (size_t)mlp.size[0];
    /* everything left is fixed by the shape: check it is all there before
     * allocating from a (possibly hostile) shape */
    size_t need = (2 * d + mlp.n_params) * sizeof(float) + 2 * 8 + 2 * 4 + 8;
    if (wr__r_left(&rd) < need) return bad_payload("truncated (less data than the network shape needs)");
    model *m = model_alloc(d, mlp.n_params);
    if (!m) return WR_ERR_NOMEM;
    m->par = r->par;
    if (m->par.family + 1 != family || m->par.activation != mlp.act) {
        model_free(m);
        return bad_payload("parameters disagree with the network (family, activation)");
    }
    if (family == WR_PDF_GAUSSEXP2_FLAT && !(m->par.ped_lo < m->par.ped_hi)) {
        model_free(m);
        return bad_payload("empty pedestal range (pedestal_lo >= pedestal_hi)");
    }
    m->family = family;
    m->mlp = mlp;
    wr__r_f32s(&rd, m->x_mean, d);
    wr__r_f32s(&rd, m->x_iscale, d);
    m->t_mean = wr__r_f64(&rd);
    m->t_scale = wr__r_f64(&rd);
    m->epochs_run = (int)(wr__r_u32(&rd) & 0x7fffffff);
    m->best_epoch = (int)(wr__r_u32(&rd) & 0x7fffffff);
    uint64_t np = wr__r_u64(&rd);
    if (!rd.failed && np != mlp.n_params) {
        model_free(m);
        return bad_payload("parameter count does not match the network shape");
    }
    wr__r_f32s(&rd, m->theta, mlp.n_params);
    st = wr__r_status(&rd, "regressor payload", true);
    if (!st && !(all_finite(m->x_mean, d) && all_finite(m->x_iscale, d) &&
                 all_finite(m->theta, mlp.n_params) && isfinite(m->t_mean) &&
                 isfinite(m->t_scale) && m->t_scale > 0))
        st = bad_payload("non-finite or non-positive values");
    if (st) {
        model_free(m);
        return st;
    }
    r->fit = m;
    return WR_OK;
}

/* A new handle from a decompressed payload; takes ownership of payload. */
static wr_status handle_from_payload(void *payload, size_t psize,
                                     wr_regressor **out)
{
    wr_regressor *r;
    wr_status st = wr_regressor_create(&r);
    if (!st) {
        st = from_payload(payload, psize, r);
        if (st) wr_regressor_free(r);
        else *out = r;
    }
    free(payload);
    return st;
}

WR_API wr_status wr_regressor_from_bytes(const void *buf, size_t size,
                                         wr_regressor **out)
{
    const char *fn = "wr_regressor_from_bytes";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (!st) st = wr__check_ptr(fn, "buf", buf);
    if (st) return st;
    *out = NULL;
    void *payload;
    size_t psize;
    uint32_t ver;
    st = wr__container_unpack(buf, size, WR_KIND_REGRESSOR, KIND_VERSION, &payload,
                              &psize, &ver);
    if (st) return st;
    return handle_from_payload(payload, psize, out);
}

WR_API wr_status wr_regressor_load(const char *path, wr_regressor **out)
{
    const char *fn = "wr_regressor_load";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (!st) st = wr__check_ptr(fn, "path", path);
    if (st) return st;
    *out = NULL;
    void *payload;
    size_t psize;
    uint32_t ver;
    st = wr__container_load_file(path, WR_KIND_REGRESSOR, KIND_VERSION, &payload,
                                 &psize, &ver);
    if (st) return st;
    return handle_from_payload(payload, psize, out);
}
