/* lib/forest.c -- wr_quantile_forest public API: handle, parameters, the
 * boosting loop (early stopping, progress, cancellation), prediction and
 * save/load.  docs/forest.md describes the method and the payload. */
#include "forest.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct wr_quantile_forest {
    size_t Q;
    double *levels;
    wr__qf_params params;
    wr_progress_fn progress;
    void *progress_user;
    wr__qf_model *model; /* NULL until fitted */
};

/* ------------------------------------------------------- parameters */

static const char *const multi_choices[] = {"shared", "independent", NULL};

#define P(name, type, field, lo, hi, def, doc) \
    {name, type, offsetof(wr__qf_params, field), lo, hi, def, NULL, doc}
static const wr__param_desc qf_desc[] = {
    P("rounds", WR__P_INT, rounds, 1, WR__QF_MAX_ROUNDS, "100",
      "boosting rounds (the maximum when early stopping)"),
    P("learning_rate", WR__P_DOUBLE, learning_rate, 1e-6, 1, "0.1",
      "shrinkage of every tree"),
    P("max_leaves", WR__P_INT, max_leaves, 2, WR__QF_MAX_LEAVES, "31",
      "leaves per tree (grown best-first)"),
    P("max_depth", WR__P_INT, max_depth, 0, 64, "0", "depth limit, 0 = none"),
    P("min_samples_leaf", WR__P_INT, min_samples_leaf, 1, 1e12, "20",
      "minimum rows per leaf"),
    P("min_weight_leaf", WR__P_DOUBLE, min_weight_leaf, 0, 1e300, "0.001",
      "minimum weight (hessian) per leaf"),
    P("l2", WR__P_DOUBLE, l2, 0, 1e300, "0", "L2 regularisation of the split gain"),
    P("subsample", WR__P_DOUBLE, subsample, 1e-6, 1, "1",
      "fraction of rows drawn for each tree"),
    P("colsample", WR__P_DOUBLE, colsample, 1e-6, 1, "1",
      "fraction of features drawn for each tree"),
    P("max_bins", WR__P_INT, max_bins, 2, WR__QF_MAX_BINS, "255",
      "bins per feature (weighted quantiles)"),
    P("early_stopping_rounds", WR__P_INT, early_stopping_rounds, 0, WR__QF_MAX_ROUNDS,
      "0", "stop after this many rounds without validation gain, 0 = off"),
    P("seed", WR__P_INT, seed, 0, 9007199254740992.0, "0", "random seed"),
    P("threads", WR__P_INT, threads, 0, 1024, "0", "threads, 0 = all cores"),
    {"multi", WR__P_CHOICE, offsetof(wr__qf_params, multi), 0, 0, "shared",
     multi_choices, "levels in one ensemble (shared) or one per level (independent)"},
};
#undef P

const wr__param_table wr__qf_param_table = {
    "forest", qf_desc, sizeof qf_desc / sizeof qf_desc[0], sizeof(wr__qf_params)};

/* ---------------------------------------------------------- handle */

WR_API wr_status wr_qforest_create(const double *levels, size_t n_levels,
                                   wr_quantile_forest **out)
{
    static const double grid[21] = {0.01, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30,
                                    0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65,
                                    0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.99};
    wr_status st = wr__check_ptr("wr_qforest_create", "out", out);
    if (st != WR_OK) return st;
    *out = NULL;
    if (!levels && n_levels == 0) {
        levels = grid;
        n_levels = 21;
    }
    st = wr__check_levels("wr_qforest_create", "levels", levels, n_levels);
    if (st != WR_OK) return st;
    if (n_levels > WR__QF_MAX_LEVELS)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "wr_qforest_create: argument 'n_levels': %zu levels, at "
                        "most %d supported", n_levels, WR__QF_MAX_LEVELS);
    wr_quantile_forest *f = calloc(1, sizeof *f);
    double *lv = wr__alloc_array(n_levels, sizeof *lv, "forest levels");
    if (!f || !lv) {
        free(f);
        free(lv);
        return wr__fail(WR_ERR_NOMEM, "wr_qforest_create: out of memory");
    }
    memcpy(lv, levels, n_levels * sizeof *lv);
    f->Q = n_levels;
    f->levels = lv;
    wr__params_defaults(&wr__qf_param_table, &f->params);
    *out = f;
    return WR_OK;
}

WR_API void wr_qforest_free(wr_quantile_forest *f)
{
    if (!f) return;
    wr__qf_model_free(f->model);
    free(f->levels);
    free(f);
}

WR_API wr_status wr_qforest_set_param(wr_quantile_forest *f, const char *key,
                                      const char *value)
{
    wr_status st = wr__check_ptr("wr_qforest_set_param", "f", f);
    return st ? st : wr__params_set(&wr__qf_param_table, &f->params, key, value);
}

WR_API wr_status wr_qforest_set_param_num(wr_quantile_forest *f,
                                          const char *key, double value)
{
    wr_status st = wr__check_ptr("wr_qforest_set_param_num", "f", f);
    return st ? st : wr__params_set_num(&wr__qf_param_table, &f->params, key, value);
}

WR_API wr_status wr_qforest_set_params(wr_quantile_forest *f, const char *kv)
{
    wr_status st = wr__check_ptr("wr_qforest_set_params", "f", f);
    return st ? st : wr__params_parse(&wr__qf_param_table, &f->params, kv);
}

WR_API wr_status wr_qforest_get_param(const wr_quantile_forest *f,
                                      const char *key, char *buf, size_t len)
{
    wr_status st = wr__check_ptr("wr_qforest_get_param", "f", f);
    return st ? st : wr__params_get(&wr__qf_param_table, &f->params, key, buf, len);
}

WR_API wr_status wr_qforest_get_param_num(const wr_quantile_forest *f,
                                          const char *key, double *value)
{
    wr_status st = wr__check_ptr("wr_qforest_get_param_num", "f", f);
    return st ? st : wr__params_get_num(&wr__qf_param_table, &f->params, key, value);
}

WR_API size_t wr_qforest_n_levels(const wr_quantile_forest *f)
{
    return f ? f->Q : 0;
}

WR_API wr_status wr_qforest_levels(const wr_quantile_forest *f, double *levels,
                                   size_t n_levels)
{
    wr_status st = wr__check_ptr("wr_qforest_levels", "f", f);
    if (st == WR_OK) st = wr__check_ptr("wr_qforest_levels", "levels", levels);
    if (st != WR_OK) return st;
    if (n_levels != f->Q)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "wr_qforest_levels: argument 'n_levels': %zu, the model "
                        "has %zu levels", n_levels, f->Q);
    memcpy(levels, f->levels, f->Q * sizeof *levels);
    return WR_OK;
}

WR_API size_t wr_qforest_n_features(const wr_quantile_forest *f)
{
    return f && f->model ? f->model->d : 0;
}

WR_API size_t wr_qforest_n_rounds(const wr_quantile_forest *f)
{
    if (!f || !f->model) return 0;
    size_t r = 0;
    for (size_t g = 0; g < f->model->n_groups; g++)
        if (f->model->groups[g].n_trees > r) r = f->model->groups[g].n_trees;
    return r;
}

WR_API void wr_qforest_set_progress(wr_quantile_forest *f, wr_progress_fn fn,
                                    void *user_data)
{
    if (!f) return;
    f->progress = fn;
    f->progress_user = user_data;
}

/* ------------------------------------------------------------ losses */

static double pinball(double r, double tau) { return r * (tau - (r < 0.0)); }

typedef struct loss_job {
    const float *y, *w, *F;
    const double *tau;
    size_t Q, q0, q1, chunk;
    double *part; /* per chunk: weighted loss */
} loss_job;

static void loss_range(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    loss_job *j = ctx;
    double s = 0.0;
    for (size_t i = b; i < e; i++) {
        double r = 0.0;
        for (size_t q = j->q0; q < j->q1; q++)
            r += pinball((double)j->y[i] - j->F[i * j->Q + q], j->tau[q]);
        s += (j->w ? j->w[i] : 1.0) * r;
    }
    j->part[b / j->chunk] = s;
}

/* Mean weighted pinball loss over rows and levels [q0, q1); per-chunk
 * sums added in chunk order, so it does not depend on the thread count. */
static double mean_loss(wr__pool *pool, const float *y, const float *w,
                        const float *F, size_t n, const double *tau, size_t Q,
                        size_t q0, size_t q1, double wsum, double *part)
{
    const size_t chunk = 16384;
    loss_job j = {y, w, F, tau, Q, q0, q1, chunk, part};
    wr__pool_for(pool, n, chunk, loss_range, &j);
    double s = 0.0;
    for (size_t c = 0; c < (n + chunk - 1) / chunk; c++) s += part[c];
    return s / (wsum * (double)(q1 - q0));
}

/* ------------------------------------------------------------- fit */

typedef struct fit_state {
    const wr_quantile_forest *f;
    wr__qf_params p;
    wr__pool *pool;
    wr__qf_model *m;
    size_t n, nv, d, Q;
    const float *y, *w, *yv, *wv;
    uint8_t *bins, *vbins;
    float *F, *Fv;
    double wsum, wvsum;
    double *part;
    double *best;      /* per group: best validation loss */
    size_t *best_iter; /* per group: trees at the best loss */
    bool *active;
    size_t r0; /* rounds already in the model (continued fit) */
} fit_state;

static wr_status check_fit_args(const char *fn, const float *X, size_t n, size_t d,
                                const float *y, const float *w,
                                const float *Xv, size_t nv, const float *yv,
                                const float *wv)
{
    wr_status st = wr__check_ptr(fn, "X", X);
    if (!st) st = wr__check_ptr(fn, "y", y);
    if (st) return st;
    if (n == 0) return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n': no rows", fn);
    if (d == 0) return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'd': no features", fn);
    if (d > WR__QF_MAX_FEATURES || n > UINT32_MAX || nv > UINT32_MAX)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: %zu rows x %zu features: at most 2^32-1 rows and "
                        "%d features", fn, n, d, WR__QF_MAX_FEATURES);
    size_t nd;
    if (!wr__mul_size(n, d, &nd))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n': n x d overflows", fn);
    if ((st = wr__check_finite_f(fn, "X", X, nd)) ||
        (st = wr__check_finite_f(fn, "y", y, n)) ||
        (st = wr__check_weights(fn, "w", w, n)))
        return st;
    if (!Xv && nv == 0) return WR_OK;
    if ((st = wr__check_ptr(fn, "X_val", Xv)) || (st = wr__check_ptr(fn, "y_val", yv)))
        return st;
    if (nv == 0) return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_val': no rows", fn);
    if (!wr__mul_size(nv, d, &nd))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_val': overflows", fn);
    if ((st = wr__check_finite_f(fn, "X_val", Xv, nd)) ||
        (st = wr__check_finite_f(fn, "y_val", yv, nv)) ||
        (st = wr__check_weights(fn, "w_val", wv, nv)))
        return st;
    return WR_OK;
}

static void fit_state_free(fit_state *s)
{
    wr__qf_model_free(s->m);
    free(s->bins);
    free(s->vbins);
    free(s->F);
    free(s->Fv);
    free(s->part);
    free(s->best);
    free(s->best_iter);
    free(s->active);
    wr__pool_free(s->pool);
}

static double weight_sum(const float *w, size_t n)
{
    if (!w) return (double)n;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += w[i];
    return s;
}

/* Initial scores: the weighted tau-quantiles of y. */
static wr_status init_scores(fit_state *s)
{
    float *v = wr__alloc_array(s->n, sizeof *v, "forest scratch");
    float *w = s->w ? wr__alloc_array(s->n, sizeof *w, "forest scratch") : NULL;
    if (!v || (s->w && !w)) {
        free(v);
        free(w);
        return WR_ERR_NOMEM;
    }
    for (size_t q = 0; q < s->Q; q++) {
        memcpy(v, s->y, s->n * sizeof *v);
        if (w) memcpy(w, s->w, s->n * sizeof *w);
        s->m->init[q] = (float)wr__qf_wquantile(v, w, s->n, s->f->levels[q]);
    }
    free(v);
    free(w);
    for (size_t i = 0; i < s->n; i++)
        for (size_t q = 0; q < s->Q; q++) s->F[i * s->Q + q] = (float)s->m->init[q];
    for (size_t i = 0; i < s->nv; i++)
        for (size_t q = 0; q < s->Q; q++) s->Fv[i * s->Q + q] = (float)s->m->init[q];
    return WR_OK;
}

/* Buffers of a fit; s->m is set (its groups decide the early-stopping
 * state). */
static wr_status fit_alloc(fit_state *s)
{
    size_t G = s->m->n_groups, nmax = s->n > s->nv ? s->n : s->nv;
    s->bins = wr__alloc_array(s->n, s->d, "forest binned rows");
    s->vbins = wr__alloc_array(s->nv, s->d, "forest binned rows");
    s->F = wr__alloc_array(s->n, s->Q * sizeof(float), "forest scores");
    s->Fv = wr__alloc_array(s->nv, s->Q * sizeof(float), "forest scores");
    s->part = wr__alloc_array(nmax / 16384 + 1, sizeof(double), "forest losses");
    s->best = wr__alloc_array(G, sizeof(double), "forest");
    s->best_iter = wr__calloc_array(G, sizeof(size_t), "forest");
    s->active = wr__alloc_array(G, sizeof(bool), "forest");
    if (!s->bins || !s->vbins || !s->F || !s->Fv || !s->part || !s->best ||
        !s->best_iter || !s->active)
        return WR_ERR_NOMEM;
    for (size_t g = 0; g < G; g++) {
        s->best[g] = INFINITY;
        s->active[g] = true;
    }
    return WR_OK;
}

static wr_status fit_prepare(fit_state *s, const float *X, const float *Xv)
{
    const wr__qf_params *p = &s->p;
    size_t G = p->multi == WR__QF_INDEPENDENT ? s->Q : 1;
    s->pool = wr__pool_create(wr__resolve_threads((int)p->threads));
    s->m = s->pool ? wr__qf_model_new(s->d, s->Q, G) : NULL;
    if (!s->m) return WR_ERR_NOMEM;
    for (size_t g = 0; g < G; g++) {
        s->m->groups[g].q0 = G == 1 ? 0 : g;
        s->m->groups[g].q1 = G == 1 ? s->Q : g + 1;
    }
    wr_status st = fit_alloc(s);
    if (st == WR_OK)
        st = wr__qf_make_edges(s->m, X, s->n, s->w, (int)p->max_bins,
                               (uint64_t)p->seed, s->pool);
    if (st != WR_OK) return st;
    wr__qf_bin_rows(s->m, X, s->n, s->bins, s->pool);
    if (s->nv) wr__qf_bin_rows(s->m, Xv, s->nv, s->vbins, s->pool);
    s->wsum = weight_sum(s->w, s->n);
    s->wvsum = weight_sum(s->wv, s->nv);
    return init_scores(s);
}

/* Raw scores (initial scores plus every tree, in tree order as during the
 * fit) of binned rows under a model. */
typedef struct score_job {
    const wr__qf_model *m;
    const uint8_t *bins;
    float *F;
} score_job;

static void score_range(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    const score_job *j = ctx;
    const wr__qf_model *m = j->m;
    for (size_t i = b; i < e; i++) {
        float *F = j->F + i * m->Q;
        const uint8_t *xb = j->bins + i * m->d;
        for (size_t q = 0; q < m->Q; q++) F[q] = (float)m->init[q];
        for (size_t g = 0; g < m->n_groups; g++) {
            const wr__qf_group *gr = &m->groups[g];
            size_t width = gr->q1 - gr->q0;
            for (size_t k = 0; k < gr->n_trees; k++) {
                const wr__qf_tree *t = &gr->trees[k];
                const float *v = t->values + (size_t)wr__qf_leaf(t->nodes, xb) * width;
                for (size_t q = 0; q < width; q++) F[gr->q0 + q] += v[q];
            }
        }
    }
}

/* A continued fit: the base model's trees, edges and initial scores, the
 * rows scored by them; early stopping can only remove the new trees. */
static wr_status fit_prepare_from(fit_state *s, const wr__qf_model *base,
                                  const float *X, const float *Xv)
{
    s->pool = wr__pool_create(wr__resolve_threads((int)s->p.threads));
    s->m = s->pool ? wr__qf_model_copy(base) : NULL;
    if (!s->m) return WR_ERR_NOMEM;
    wr_status st = fit_alloc(s);
    if (st != WR_OK) return st;
    wr__qf_bin_rows(s->m, X, s->n, s->bins, s->pool);
    if (s->nv) wr__qf_bin_rows(s->m, Xv, s->nv, s->vbins, s->pool);
    s->wsum = weight_sum(s->w, s->n);
    s->wvsum = weight_sum(s->wv, s->nv);
    score_job j = {s->m, s->bins, s->F};
    wr__pool_for(s->pool, s->n, 4096, score_range, &j);
    score_job jv = {s->m, s->vbins, s->Fv};
    if (s->nv) wr__pool_for(s->pool, s->nv, 4096, score_range, &jv);
    for (size_t g = 0; g < s->m->n_groups; g++) {
        const wr__qf_group *gr = &s->m->groups[g];
        s->best_iter[g] = gr->n_trees;
        if (gr->n_trees > s->r0) s->r0 = gr->n_trees;
        if (s->nv)
            s->best[g] = mean_loss(s->pool, s->yv, s->wv, s->Fv, s->nv, s->f->levels,
                                   s->Q, gr->q0, gr->q1, s->wvsum, s->part);
    }
    return WR_OK;
}

typedef struct val_job {
    fit_state *s;
    const wr__qf_tree *tree;
    size_t q0, q1;
} val_job;

static void val_range(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    val_job *j = ctx;
    fit_state *s = j->s;
    size_t width = j->q1 - j->q0;
    for (size_t i = b; i < e; i++) {
        uint32_t leaf = wr__qf_leaf(j->tree->nodes, s->vbins + i * s->d);
        const float *v = j->tree->values + (size_t)leaf * width;
        float *F = s->Fv + i * s->Q + j->q0;
        for (size_t q = 0; q < width; q++) F[q] += v[q];
    }
}

/* One round for group g: grow, record, update validation scores and the
 * early-stopping state. */
static wr_status fit_group_round(fit_state *s, wr__qf_trainer *tr, size_t g,
                                 size_t round)
{
    wr__qf_group *gr = &s->m->groups[g];
    wr__qf_tree tree;
    uint64_t stream = 1 + (uint64_t)(s->r0 + round) * s->m->n_groups + g;
    wr_status st = wr__qf_grow(tr, gr->q0, gr->q1, stream, &tree);
    if (st == WR_OK) st = wr__qf_group_push(gr, &tree);
    if (st != WR_OK) {
        wr__qf_tree_free(&tree);
        return st;
    }
    if (s->nv == 0) return WR_OK;
    val_job j = {s, &gr->trees[gr->n_trees - 1], gr->q0, gr->q1};
    wr__pool_for(s->pool, s->nv, 8192, val_range, &j);
    double loss = mean_loss(s->pool, s->yv, s->wv, s->Fv, s->nv,
                            s->f->levels, s->Q, gr->q0, gr->q1, s->wvsum, s->part);
    if (loss < s->best[g]) {
        s->best[g] = loss;
        s->best_iter[g] = gr->n_trees;
    } else if (s->p.early_stopping_rounds > 0 &&
               gr->n_trees - s->best_iter[g] >= (size_t)s->p.early_stopping_rounds) {
        s->active[g] = false;
    }
    return WR_OK;
}

static wr_status report(fit_state *s, size_t round)
{
    if (!s->f->progress) return WR_OK;
    double tl = mean_loss(s->pool, s->y, s->w, s->F, s->n, s->f->levels, s->Q,
                          0, s->Q, s->wsum, s->part);
    double vl = s->nv ? mean_loss(s->pool, s->yv, s->wv, s->Fv, s->nv, s->f->levels,
                                  s->Q, 0, s->Q, s->wvsum, s->part)
                      : NAN;
    return wr__progress(s->f->progress, s->f->progress_user, "forest.fit",
                        (int64_t)round, s->p.rounds, tl, vl);
}

static wr_status fit_rounds(fit_state *s)
{
    size_t G = s->m->n_groups, width = G == 1 ? s->Q : 1;
    wr__qf_train_data D = {s->n, s->d, s->Q, s->bins, s->y, s->w, s->f->levels, s->F};
    wr__qf_trainer *tr = wr__qf_trainer_create(&s->p, s->m, &D, width, s->pool);
    if (!tr) return WR_ERR_NOMEM;
    wr_status st = WR_OK;
    for (size_t r = 0; r < (size_t)s->p.rounds && st == WR_OK; r++) {
        bool any = false;
        for (size_t g = 0; g < G && st == WR_OK; g++) {
            if (!s->active[g]) continue;
            st = fit_group_round(s, tr, g, r);
            any = true;
        }
        if (st == WR_OK) st = report(s, r + 1);
        if (!any) break;
    }
    wr__qf_trainer_free(tr);
    if (st == WR_OK && s->nv > 0 && s->p.early_stopping_rounds > 0)
        for (size_t g = 0; g < G; g++)
            wr__qf_group_truncate(&s->m->groups[g], s->best_iter[g]);
    return st;
}

/* A fit from scratch (base NULL) or continued from a base model; the new
 * model replaces f's only on success. */
static wr_status fit_run(const char *fn, wr_quantile_forest *f, const wr__qf_model *base,
                         const float *X, size_t n, size_t d, const float *y,
                         const float *w, const float *X_val, size_t n_val,
                         const float *y_val, const float *w_val)
{
    fit_state s;
    memset(&s, 0, sizeof s);
    s.f = f;
    s.p = f->params;
    s.n = n;
    s.nv = X_val ? n_val : 0;
    s.d = d;
    s.Q = f->Q;
    s.y = y;
    s.w = w;
    s.yv = y_val;
    s.wv = w_val;
    wr_status st = base ? fit_prepare_from(&s, base, X, X_val) : fit_prepare(&s, X, X_val);
    if (st == WR_OK) st = fit_rounds(&s);
    if (st == WR_OK) st = wr__qf_compile(s.m);
    if (st == WR_OK) { /* swap the new model in only on success */
        wr__qf_model_free(f->model);
        f->model = s.m;
        s.m = NULL;
    } else if (st != WR_ERR_CANCELLED) {
        wr__error_prefix(fn);
    }
    fit_state_free(&s);
    return st;
}

WR_API wr_status wr_qforest_fit(wr_quantile_forest *f, const float *X,
                                size_t n, size_t d, const float *y,
                                const float *w, const float *X_val,
                                size_t n_val, const float *y_val,
                                const float *w_val)
{
    wr_status st = wr__check_ptr("wr_qforest_fit", "f", f);
    if (st == WR_OK) st = check_fit_args("wr_qforest_fit", X, n, d, y, w, X_val, n_val, y_val, w_val);
    if (st != WR_OK) return st;
    return fit_run("wr_qforest_fit", f, NULL, X, n, d, y, w, X_val, n_val, y_val, w_val);
}

/* The base must be fitted, with f's levels, f's grouping and d features. */
static wr_status check_base(const wr_quantile_forest *f, const wr_quantile_forest *base,
                            size_t d)
{
    const char *fn = "wr_qforest_fit_from";
    if (!base->model)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: argument 'base': not fitted", fn);
    if (base->Q != f->Q || memcmp(base->levels, f->levels, f->Q * sizeof *f->levels))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'base': other quantile levels", fn);
    if (base->model->d != d)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'd': %zu, the base has %zu features",
                        fn, d, base->model->d);
    size_t G = f->params.multi == WR__QF_INDEPENDENT ? f->Q : 1;
    if (base->model->n_groups != G)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'base': another 'multi' (%s)", fn,
                        G == 1 ? "independent" : "shared");
    return WR_OK;
}

WR_API wr_status wr_qforest_fit_from(wr_quantile_forest *f, const wr_quantile_forest *base,
                                     const float *X, size_t n, size_t d, const float *y,
                                     const float *w, const float *X_val, size_t n_val,
                                     const float *y_val, const float *w_val)
{
    const char *fn = "wr_qforest_fit_from";
    wr_status st = wr__check_ptr(fn, "f", f);
    if (st == WR_OK) st = wr__check_ptr(fn, "base", base);
    if (st == WR_OK) st = check_fit_args(fn, X, n, d, y, w, X_val, n_val, y_val, w_val);
    if (st == WR_OK) st = check_base(f, base, d);
    if (st != WR_OK) return st;
    return fit_run(fn, f, base->model, X, n, d, y, w, X_val, n_val, y_val, w_val);
}

/* ---------------------------------------------------------- predict */

#define PRED_BLOCK 128 /* rows walked together through a tree */
#define PRED_TREES 16  /* trees walked before their leaf rows are summed */

typedef struct pred_job {
    const wr__qf_model *m;
    const float *X;
    float *out;
    size_t AQ;      /* accumulator row: the groups' padded widths W */
    uint8_t **xb;   /* per thread: PRED_BLOCK x d */
    double **acc;   /* per thread: PRED_BLOCK x AQ */
    uint32_t **off; /* per thread: PRED_TREES x PRED_BLOCK value rows */
} pred_job;

static void sort_row(float *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
            float x = v[k];
            v[k] = v[k - 1];
            v[k - 1] = x;
        }
}

/* Value rows (in g->cvals) of trees [t0, t0 + nt) for nr rows.  Tree-major:
 * the tree stays in L1.  Rows walk in groups of 8 held in registers, all
 * eight branch-free in lockstep so their loads overlap, until all eight
 * sit on leaves (which loop onto themselves) or `depth` steps are done. */
#define WALK_STEP(i)                                                          \
    do {                                                                      \
        wr__qf_cnode c_ = cn[p##i];                                           \
        p##i = c_.next + (uint32_t)(x[(i) * d + c_.feature] > c_.bin);        \
        all &= c_.pad;                                                        \
    } while (0)

static void walk_trees(const wr__qf_group *g, size_t t0, size_t nt,
                       const uint8_t *xb, size_t d, size_t nr, uint32_t *off)
{
    for (size_t k = 0; k < nt; k++) {
        const wr__qf_tree *tr = &g->trees[t0 + k];
        const wr__qf_cnode *cn = tr->cnodes;
        const uint32_t *leaf_of = tr->leaf_of;
        uint32_t *pos = off + k * PRED_BLOCK;
        size_t r = 0;
        for (; r + 8 <= nr; r += 8) {
            const uint8_t *x = xb + r * d;
            uint32_t p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0;
            for (uint32_t s = 0; s < tr->depth; s++) {
                unsigned all = 1;
                WALK_STEP(0);
                WALK_STEP(1);
                WALK_STEP(2);
                WALK_STEP(3);
                WALK_STEP(4);
                WALK_STEP(5);
                WALK_STEP(6);
                WALK_STEP(7);
                if (all) break;
            }
            pos[r] = leaf_of[p0];
            pos[r + 1] = leaf_of[p1];
            pos[r + 2] = leaf_of[p2];
            pos[r + 3] = leaf_of[p3];
            pos[r + 4] = leaf_of[p4];
            pos[r + 5] = leaf_of[p5];
            pos[r + 6] = leaf_of[p6];
            pos[r + 7] = leaf_of[p7];
        }
        for (; r < nr; r++) {
            uint32_t p = 0;
            for (uint32_t s = 0; s < tr->depth; s++) {
                wr__qf_cnode c = cn[p];
                p = c.next + (uint32_t)(xb[r * d + c.feature] > c.bin);
            }
            pos[r] = leaf_of[p];
        }
    }
}

/* a[0..L) += the nt trees' leaf values of row r (columns [0, L) of the
 * value rows at v), in tree order.  The partial sums stay in registers;
 * every level is summed tree by tree exactly as by a plain loop, so the
 * result does not depend on the blocking or the thread count. */
#if defined(__SSE2__)
#include <emmintrin.h>
static inline void acc8(double *restrict a, const float *restrict v, size_t W,
                        const uint32_t *off, size_t nt, size_t r)
{
    __m128d s0 = _mm_loadu_pd(a), s1 = _mm_loadu_pd(a + 2);
    __m128d s2 = _mm_loadu_pd(a + 4), s3 = _mm_loadu_pd(a + 6);
    for (size_t k = 0; k < nt; k++) {
        const float *x = v + (size_t)off[k * PRED_BLOCK + r] * W;
        __m128 x0 = _mm_loadu_ps(x), x1 = _mm_loadu_ps(x + 4);
        s0 = _mm_add_pd(s0, _mm_cvtps_pd(x0));
        s1 = _mm_add_pd(s1, _mm_cvtps_pd(_mm_movehl_ps(x0, x0)));
        s2 = _mm_add_pd(s2, _mm_cvtps_pd(x1));
        s3 = _mm_add_pd(s3, _mm_cvtps_pd(_mm_movehl_ps(x1, x1)));
    }
    _mm_storeu_pd(a, s0);
    _mm_storeu_pd(a + 2, s1);
    _mm_storeu_pd(a + 4, s2);
    _mm_storeu_pd(a + 6, s3);
}

static inline void acc4(double *restrict a, const float *restrict v, size_t W,
                        const uint32_t *off, size_t nt, size_t r)
{
    __m128d s0 = _mm_loadu_pd(a), s1 = _mm_loadu_pd(a + 2);
    for (size_t k = 0; k < nt; k++) {
        const float *x = v + (size_t)off[k * PRED_BLOCK + r] * W;
        __m128 x0 = _mm_loadu_ps(x);
        s0 = _mm_add_pd(s0, _mm_cvtps_pd(x0));
        s1 = _mm_add_pd(s1, _mm_cvtps_pd(_mm_movehl_ps(x0, x0)));
    }
    _mm_storeu_pd(a, s0);
    _mm_storeu_pd(a + 2, s1);
}
#else
#define ACC_KERNEL(name, L)                                                   \
    static inline void name(double *restrict a, const float *restrict v,      \
                            size_t W, const uint32_t *off, size_t nt, size_t r) \
    {                                                                         \
        double s[L];                                                          \
        for (int l = 0; l < L; l++) s[l] = a[l];                              \
        for (size_t k = 0; k < nt; k++) {                                     \
            const float *x = v + (size_t)off[k * PRED_BLOCK + r] * W;         \
            _Pragma("omp simd")                                               \
            for (int l = 0; l < L; l++) s[l] += (double)x[l];                 \
        }                                                                     \
        for (int l = 0; l < L; l++) a[l] = s[l];                              \
    }
ACC_KERNEL(acc8, 8)
ACC_KERNEL(acc4, 4)
#endif

static void pred_group(const wr__qf_group *g, const uint8_t *xb, size_t d,
                       size_t nr, double *acc, size_t AQ, uint32_t *off)
{
    size_t W = g->W;
    for (size_t t0 = 0; t0 < g->n_trees; t0 += PRED_TREES) {
        size_t nt = g->n_trees - t0 < PRED_TREES ? g->n_trees - t0 : PRED_TREES;
        walk_trees(g, t0, nt, xb, d, nr, off);
        for (size_t r = 0; r < nr; r++) {
            double *a = acc + r * AQ;
            size_t c = 0;
            for (; c + 8 <= W; c += 8) acc8(a + c, g->cvals + c, W, off, nt, r);
            for (; c + 4 <= W; c += 4) acc4(a + c, g->cvals + c, W, off, nt, r);
            for (; c < W; c++) /* W < 4: one or a few levels */
                for (size_t k = 0; k < nt; k++)
                    a[c] += g->cvals[(size_t)off[k * PRED_BLOCK + r] * W + c];
        }
    }
}

static void pred_range(void *ctx, size_t b, size_t e, int tid)
{
    pred_job *j = ctx;
    const wr__qf_model *m = j->m;
    size_t d = m->d, Q = m->Q, AQ = j->AQ, nr = e - b;
    uint8_t *xb = j->xb[tid];
    double *acc = j->acc[tid];
    wr__qf_bin_rows(m, j->X + b * d, nr, xb, NULL);
    for (size_t r = 0; r < nr; r++) {
        double *a = acc + r * AQ;
        for (size_t g = 0; g < m->n_groups; g++) {
            const wr__qf_group *gr = &m->groups[g];
            size_t width = gr->q1 - gr->q0;
            for (size_t l = 0; l < gr->W; l++) a[l] = l < width ? m->init[gr->q0 + l] : 0.0;
            a += gr->W;
        }
    }
    size_t a0 = 0;
    for (size_t g = 0; g < m->n_groups; g++) {
        pred_group(&m->groups[g], xb, d, nr, acc + a0, AQ, j->off[tid]);
        a0 += m->groups[g].W;
    }
    for (size_t r = 0; r < nr; r++) {
        float *o = j->out + (b + r) * Q;
        const double *a = acc + r * AQ;
        for (size_t g = 0; g < m->n_groups; g++) {
            const wr__qf_group *gr = &m->groups[g];
            for (size_t q = gr->q0; q < gr->q1; q++) o[q] = (float)a[q - gr->q0];
            a += gr->W;
        }
        sort_row(o, Q); /* rearrangement: a no-op unless levels crossed */
    }
}

WR_API wr_status wr_qforest_predict(const wr_quantile_forest *f,
                                    const float *X, size_t n, size_t d,
                                    float *out)
{
    const char *fn = "wr_qforest_predict";
    wr_status st = wr__check_ptr(fn, "f", f);
    if (st) return st;
    if (!f->model)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: the forest is not fitted", fn);
    if (d != f->model->d)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument 'd': %zu features, the model was fitted "
                        "with %zu", fn, d, f->model->d);
    if (n == 0) return WR_OK;
    size_t nd, nq;
    if (!wr__mul_size(n, d, &nd) || !wr__mul_size(n, f->Q, &nq))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n': size overflows", fn);
    if ((st = wr__check_ptr(fn, "X", X)) || (st = wr__check_ptr(fn, "out", out)) ||
        (st = wr__check_finite_f(fn, "X", X, nd)))
        return st;
    int nt = wr__resolve_threads((int)f->params.threads);
    if (n < 4 * PRED_BLOCK) nt = 1; /* threads cost more than they save */
    size_t nblocks = (n + PRED_BLOCK - 1) / PRED_BLOCK;
    if ((size_t)nt > nblocks) nt = (int)nblocks;
    size_t AQ = 0;
    for (size_t g = 0; g < f->model->n_groups; g++) AQ += f->model->groups[g].W;
    pred_job j = {f->model, X, out, AQ, calloc((size_t)nt, sizeof(uint8_t *)),
                  calloc((size_t)nt, sizeof(double *)), calloc((size_t)nt, sizeof(uint32_t *))};
    st = j.xb && j.acc && j.off ? WR_OK : wr__fail(WR_ERR_NOMEM, "%s: out of memory", fn);
    for (int t = 0; t < nt && st == WR_OK; t++) {
        j.xb[t] = wr__alloc_array(PRED_BLOCK, d, "forest predict scratch");
        j.acc[t] = wr__alloc_array(PRED_BLOCK, AQ * sizeof(double), "forest predict scratch");
        j.off[t] = wr__alloc_array(PRED_TREES * PRED_BLOCK, sizeof(uint32_t),
                                   "forest predict scratch");
        if (!j.xb[t] || !j.acc[t] || !j.off[t]) st = WR_ERR_NOMEM;
    }
    if (st == WR_OK) wr__parallel_for(nt, n, PRED_BLOCK, pred_range, &j);
    for (int t = 0; t < nt; t++) {
        if (j.xb) free(j.xb[t]);
        if (j.acc) free(j.acc[t]);
        if (j.off) free(j.off[t]);
    }
    free(j.xb);
    free(j.acc);
    free(j.off);
    return st;
}

/* ------------------------------------------------------- save / load */

WR_API wr_status wr_qforest_to_bytes(const wr_quantile_forest *f, void **buf,
                                     size_t *size)
{
    const char *fn = "wr_qforest_to_bytes";
    wr_status st = wr__check_ptr(fn, "f", f);
    if (!st) st = wr__check_ptr(fn, "buf", buf);
    if (!st) st = wr__check_ptr(fn, "size", size);
    if (st) return st;
    if (!f->model) return wr__fail(WR_ERR_NOT_FITTED, "%s: the forest is not fitted", fn);
    wr__writer w;
    wr__w_init(&w);
    st = wr__qf_write(&w, &f->params, f->levels, f->model);
    if (st == WR_OK)
        st = wr__container_pack(WR_KIND_QUANTILE_FOREST, WR__QF_KIND_VERSION, w.data,
                                w.size, buf, size);
    wr__w_free(&w);
    return st;
}

WR_API wr_status wr_qforest_save(const wr_quantile_forest *f, const char *path)
{
    const char *fn = "wr_qforest_save";
    wr_status st = wr__check_ptr(fn, "f", f);
    if (!st) st = wr__check_ptr(fn, "path", path);
    if (st) return st;
    if (!f->model) return wr__fail(WR_ERR_NOT_FITTED, "%s: the forest is not fitted", fn);
    wr__writer w;
    wr__w_init(&w);
    st = wr__qf_write(&w, &f->params, f->levels, f->model);
    if (st == WR_OK)
        st = wr__container_save_file(path, WR_KIND_QUANTILE_FOREST, WR__QF_KIND_VERSION,
                                     w.data, w.size);
    wr__w_free(&w);
    return st;
}

static wr_status from_payload(const void *payload, size_t size,
                              wr_quantile_forest **out)
{
    wr__reader r;
    wr__r_init(&r, payload, size);
    wr_quantile_forest *f = calloc(1, sizeof *f);
    if (!f) return wr__fail(WR_ERR_NOMEM, "out of memory (forest)");
    wr_status st = wr__qf_read(&r, &f->params, &f->levels, &f->model);
    if (st != WR_OK) {
        free(f);
        return st;
    }
    f->Q = f->model->Q;
    *out = f;
    return WR_OK;
}

WR_API wr_status wr_qforest_from_bytes(const void *buf, size_t size,
                                       wr_quantile_forest **out)
{
    const char *fn = "wr_qforest_from_bytes";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (!st) st = wr__check_ptr(fn, "buf", buf);
    if (st) return st;
    *out = NULL;
    void *payload = NULL;
    size_t psize = 0;
    uint32_t ver = 0;
    st = wr__container_unpack(buf, size, WR_KIND_QUANTILE_FOREST, WR__QF_KIND_VERSION,
                              &payload, &psize, &ver);
    if (st == WR_OK) st = from_payload(payload, psize, out);
    free(payload);
    if (st != WR_OK) wr__error_prefix(fn);
    return st;
}

WR_API wr_status wr_qforest_load(const char *path, wr_quantile_forest **out)
{
    const char *fn = "wr_qforest_load";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (!st) st = wr__check_ptr(fn, "path", path);
    if (st) return st;
    *out = NULL;
    void *payload = NULL;
    size_t psize = 0;
    uint32_t ver = 0;
    st = wr__container_load_file(path, WR_KIND_QUANTILE_FOREST, WR__QF_KIND_VERSION,
                                 &payload, &psize, &ver);
    if (st == WR_OK) st = from_payload(payload, psize, out);
    free(payload);
    if (st != WR_OK) wr__error_prefix(fn);
    return st;
}
