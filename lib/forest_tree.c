/* lib/forest_tree.c -- growing one histogram tree with vector leaves.
 *
 * Gradients.  For level q the pinball gradient of row i is
 *   g_iq = w_i (1[y_i < F_iq] - tau_q)
 * and the hessian is taken as w_i (constant, as the peers do).  Within a
 * group the scores F_i. are non-decreasing in q (sorted leaf vectors, see
 * below), so the levels with a negative residual are a suffix: with
 * k_i = #{q : F_iq <= y_i} they are exactly q >= k_i.  A histogram cell
 * (feature, bin) therefore only needs the weight per value of k (Qg + 1
 * counters) and a row count; the negative weight of level q is the prefix
 * sum over k <= q.  One increment per row and feature serves all levels.
 *
 * Weights are accumulated as integers (fixed point, scale 2^e, exact for
 * unit weights), so histograms, their subtraction and the parallel
 * reduction are exact and the model does not depend on the thread count.
 *
 * Leaves.  The split gain is the sum over the group's levels of the usual
 * G^2 / (H + l2) gains.  Leaf values are then re-estimated as the weighted
 * tau_q-quantile of the residuals y - F_q of the leaf's rows, times the
 * learning rate, and then rearranged (see rearrange()) so that the scores
 * of every row of the leaf stay non-decreasing in q. */
#include "forest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NBIN 256
/* Below this many (row x feature) cells a histogram is built by one
 * thread: waking the pool costs more than it saves. */
#define PAR_HIST_CELLS 131072
/* Rows of a node are scattered over the row arrays (in increasing order);
 * fetching the row PF_DIST ahead hides most of the cache misses. */
#define PF_DIST 16
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif
/* Rows per chunk of the parallel partition, and the node size from which
 * the partition runs in parallel. */
#define PART_CHUNK 16384
#define PAR_PART_ROWS (4 * PART_CHUNK)
/* Per-thread scratch for the leaf quantiles (floats). */
#define QSCRATCH ((size_t)1 << 23)

typedef struct open_leaf {
    size_t start, end;   /* rows idx[start, end) */
    int node, depth;
    uint64_t *hist;      /* NULL once final */
    double gain;         /* best split gain, <= 0: none */
    int fi, bin;         /* best split: chosen-feature index, bin */
} open_leaf;

struct wr__qf_trainer {
    const wr__qf_params *p;
    const wr__qf_model *m;
    wr__qf_train_data D;
    wr__pool *pool;
    int nt;
    uint64_t *wfix;      /* fixed-point weights, NULL for unit weights */
    double inv_scale;    /* 1 / fixed-point scale */
    uint8_t *k;          /* per row: #levels of the group with F <= y */
    bool k_valid;        /* k is up to date for every row, for group k_q0 */
    size_t k_q0;
    uint32_t *idx, *tmp; /* row indices of the tree, partition scratch */
    size_t *part;        /* 2 x chunks: parallel partition offsets */
    size_t max_group, hsize_max;
    uint64_t **thist;    /* per thread histogram */
    bool *used;          /* per thread: histogram touched in this build */
    uint64_t **hbuf;     /* free list of leaf histograms */
    size_t n_hbuf, cap_hbuf;
    float **qv, **qw;    /* per thread quantile scratch (values, weights) */
    size_t qcap;
    /* current tree */
    size_t q0, Qg, S;    /* group, width, cell stride (Qg + 2) */
    int nf;
    int *feats;          /* chosen features */
    size_t *hoff;        /* histogram offset of chosen feature fi */
    size_t hsize;
    open_leaf *leaves;
    int n_leaves;
    wr__qf_node *nodes;
    int n_nodes;
};

/* ------------------------------------------------------------ setup */

static wr_status fixed_weights(wr__qf_trainer *t)
{
    if (!t->D.w) {
        t->inv_scale = 1.0;
        return WR_OK;
    }
    double total = 0.0;
    for (size_t i = 0; i < t->D.n; i++) total += t->D.w[i];
    /* Largest power of two keeping the total below 2^62 (with room for the
     * rounding of every weight): exact for weights that are multiples of
     * 2^-e, and tiny weights keep their resolution. */
    int e = 0;
    frexp(ldexp(1.0, 62) / (total * 1.0000001), &e);
    e -= 1;
    double scale = ldexp(1.0, e);
    t->wfix = wr__alloc_array(t->D.n, sizeof *t->wfix, "forest weights");
    if (!t->wfix) return WR_ERR_NOMEM;
    for (size_t i = 0; i < t->D.n; i++) t->wfix[i] = (uint64_t)llround(t->D.w[i] * scale);
    t->inv_scale = 1.0 / scale;
    return WR_OK;
}

static float **alloc_per_thread(int nt, size_t n, const char *what)
{
    float **a = calloc((size_t)nt, sizeof *a);
    if (!a) return NULL;
    for (int i = 0; i < nt; i++) {
        a[i] = wr__alloc_array(n, sizeof(float), what);
        if (!a[i]) {
            for (int k = 0; k < i; k++) free(a[k]);
            free(a);
            return NULL;
        }
    }
    return a;
}

static void free_per_thread(void **a, int nt)
{
    if (!a) return;
    for (int i = 0; i < nt; i++) free(a[i]);
    free(a);
}

static wr_status alloc_trainer(wr__qf_trainer *t)
{
    size_t n = t->D.n, d = t->D.d, L = (size_t)t->p->max_leaves;
    size_t bins_total = 0;
    for (size_t f = 0; f < d; f++) bins_total += t->m->nbins[f];
    if (!wr__mul_size(bins_total, t->max_group + 2, &t->hsize_max) ||
        t->hsize_max > ((size_t)1 << 27))
        return wr__fail(WR_ERR_NOMEM,
                        "forest: histograms of %zu features x %zu levels too "
                        "large; use fewer levels or multi=independent",
                        d, t->max_group);
    t->k = wr__alloc_array(n, 1, "forest row levels");
    t->idx = wr__alloc_array(n, sizeof *t->idx, "forest rows");
    t->tmp = wr__alloc_array(n, sizeof *t->tmp, "forest rows");
    t->part = wr__alloc_array(2 * (n / PART_CHUNK + 1), sizeof *t->part, "forest rows");
    t->feats = wr__alloc_array(d, sizeof *t->feats, "forest features");
    t->hoff = wr__alloc_array(d, sizeof *t->hoff, "forest features");
    t->leaves = wr__alloc_array(L, sizeof *t->leaves, "forest leaves");
    t->nodes = wr__alloc_array(2 * L, sizeof *t->nodes, "forest nodes");
    t->hbuf = wr__calloc_array(L + 1, sizeof *t->hbuf, "forest histograms");
    t->thist = wr__calloc_array((size_t)t->nt, sizeof *t->thist, "forest histograms");
    t->used = wr__calloc_array((size_t)t->nt, sizeof *t->used, "forest histograms");
    if (!t->used || !t->part || !t->k || !t->idx || !t->tmp || !t->feats || !t->hoff || !t->leaves ||
        !t->nodes || !t->hbuf || !t->thist)
        return WR_ERR_NOMEM;
    t->cap_hbuf = L + 1;
    for (int i = 0; i < t->nt; i++) {
        t->thist[i] = wr__alloc_array(t->hsize_max, sizeof(uint64_t), "forest histograms");
        if (!t->thist[i]) return WR_ERR_NOMEM;
    }
    size_t full = n * t->max_group;
    t->qcap = full / t->max_group == n && full < QSCRATCH ? full : QSCRATCH;
    if (t->qcap < n) t->qcap = n; /* one level of the largest leaf */
    t->qv = alloc_per_thread(t->nt, t->qcap, "forest quantile scratch");
    if (!t->qv) return wr__fail(WR_ERR_NOMEM, "out of memory (forest scratch)");
    if (t->D.w) {
        t->qw = alloc_per_thread(t->nt, t->qcap, "forest quantile scratch");
        if (!t->qw)
            return wr__fail(WR_ERR_NOMEM, "out of memory (forest scratch)");
    }
    return WR_OK;
}

wr__qf_trainer *wr__qf_trainer_create(const wr__qf_params *p,
                                      const wr__qf_model *m,
                                      const wr__qf_train_data *data,
                                      size_t max_group, wr__pool *pool)
{
    wr__qf_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        wr__fail(WR_ERR_NOMEM, "out of memory (forest trainer)");
        return NULL;
    }
    t->p = p;
    t->m = m;
    t->D = *data;
    t->pool = pool;
    t->nt = wr__pool_threads(pool);
    t->max_group = max_group;
    if (fixed_weights(t) != WR_OK || alloc_trainer(t) != WR_OK) {
        wr__qf_trainer_free(t);
        return NULL;
    }
    return t;
}

void wr__qf_trainer_free(wr__qf_trainer *t)
{
    if (!t) return;
    free(t->wfix);
    free(t->used);
    free(t->k);
    free(t->idx);
    free(t->tmp);
    free(t->part);
    free(t->feats);
    free(t->hoff);
    free(t->leaves);
    free(t->nodes);
    if (t->hbuf)
        for (size_t i = 0; i < t->n_hbuf; i++) free(t->hbuf[i]);
    free(t->hbuf);
    free_per_thread((void **)t->thist, t->thist ? t->nt : 0);
    free_per_thread((void **)t->qv, t->nt);
    free_per_thread((void **)t->qw, t->nt);
    free(t);
}

static uint64_t *take_hist(wr__qf_trainer *t)
{
    if (t->n_hbuf > 0) return t->hbuf[--t->n_hbuf];
    return wr__alloc_array(t->hsize_max, sizeof(uint64_t), "forest histogram");
}

static void give_hist(wr__qf_trainer *t, uint64_t *h)
{
    if (!h) return;
    if (t->n_hbuf < t->cap_hbuf) t->hbuf[t->n_hbuf++] = h;
    else free(h);
}

/* ------------------------------------------------------- row levels */

typedef struct k_job {
    wr__qf_trainer *t;
} k_job;

static inline uint8_t row_k(const float *F, float y, size_t Qg)
{
    unsigned c = 0;
    for (size_t q = 0; q < Qg; q++) c += F[q] <= y;
    return (uint8_t)c;
}

static void k_range(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    wr__qf_trainer *t = ((k_job *)ctx)->t;
    size_t Q = t->D.Q;
    for (size_t j = b; j < e; j++) {
        size_t i = t->idx[j];
        if (j + PF_DIST < e) PREFETCH(t->D.F + (size_t)t->idx[j + PF_DIST] * Q + t->q0);
        t->k[i] = row_k(t->D.F + i * Q + t->q0, t->D.y[i], t->Qg);
    }
}

/* --------------------------------------------------------- histogram */

typedef struct hist_job {
    wr__qf_trainer *t;
    const uint32_t *rows;
    bool *used;          /* per thread: buffer touched */
} hist_job;

static void hist_rows(wr__qf_trainer *t, const uint32_t *rows, size_t b,
                      size_t e, uint64_t *h)
{
    size_t d = t->D.d, S = t->S, cnt = S - 1;
    int nf = t->nf;
    const int *feats = t->feats;
    const size_t *hoff = t->hoff;
    const uint8_t *bins = t->D.bins, *kk = t->k;
    for (size_t j = b; j < e; j++) {
        size_t i = rows[j];
        if (j + PF_DIST < e) {
            PREFETCH(bins + (size_t)rows[j + PF_DIST] * d);
            PREFETCH(kk + rows[j + PF_DIST]);
        }
        const uint8_t *xb = bins + i * d;
        size_t k = kk[i];
        uint64_t wf = t->wfix ? t->wfix[i] : 1u;
        for (int fi = 0; fi < nf; fi++) {
            uint64_t *c = h + hoff[fi] + (size_t)xb[feats[fi]] * S;
            c[k] += wf;
            c[cnt] += 1u;
        }
    }
}

static void hist_range(void *ctx, size_t b, size_t e, int tid)
{
    hist_job *j = ctx;
    uint64_t *h = j->t->thist[tid];
    if (!j->used[tid]) {
        memset(h, 0, j->t->hsize * sizeof *h);
        j->used[tid] = true;
    }
    hist_rows(j->t, j->rows, b, e, h);
}

static void build_hist(wr__qf_trainer *t, size_t start, size_t end,
                       uint64_t *h)
{
    size_t m = end - start;
    memset(h, 0, t->hsize * sizeof *h);
    if (t->nt == 1 || m * (size_t)t->nf < PAR_HIST_CELLS) {
        hist_rows(t, t->idx + start, 0, m, h);
        return;
    }
    bool *used = t->used;
    int nt = t->nt;
    memset(used, 0, (size_t)nt * sizeof *used);
    hist_job j = {t, t->idx + start, used};
    wr__pool_for(t->pool, m, 4096, hist_range, &j);
    /* integer sums: the reduction order cannot change the result */
    for (int k = 0; k < nt; k++) {
        if (!used[k]) continue;
        const uint64_t *s = t->thist[k];
        for (size_t c = 0; c < t->hsize; c++) h[c] += s[c];
    }
}

/* ------------------------------------------------------------ splits */

typedef struct split_eval {
    double H, parent;    /* node weight, parent term */
    uint64_t cnt;
    uint64_t tot[WR__QF_MAX_LEVELS + 2];
} split_eval;

/* Sum over levels of G_q^2 / (H + l2) with G_q = Wneg_q - tau_q H, from
 * per-k weights `cell` (fixed point); `sub` (optional) is subtracted. */
static double level_term(const wr__qf_trainer *t, const uint64_t *cell,
                         const uint64_t *sub, double H)
{
    double den = H + t->p->l2;
    if (!(den > 0.0)) return 0.0;
    const double *tau = t->D.tau + t->q0;
    uint64_t cum = 0;
    double s = 0.0;
    for (size_t q = 0; q < t->Qg; q++) {
        cum += sub ? cell[q] - sub[q] : cell[q];
        double G = (double)cum * t->inv_scale - tau[q] * H;
        s += G * G;
    }
    return s / den;
}

static void node_totals(const wr__qf_trainer *t, const uint64_t *h,
                        split_eval *ev)
{
    size_t S = t->S;
    unsigned nb = t->m->nbins[t->feats[0]];
    memset(ev->tot, 0, S * sizeof ev->tot[0]);
    for (unsigned b = 0; b < nb; b++)
        for (size_t k = 0; k < S; k++) ev->tot[k] += h[b * S + k];
    uint64_t wsum = 0;
    for (size_t k = 0; k + 1 < S; k++) wsum += ev->tot[k];
    ev->H = (double)wsum * t->inv_scale;
    ev->cnt = ev->tot[S - 1];
    ev->parent = level_term(t, ev->tot, NULL, ev->H);
}

static void best_split(wr__qf_trainer *t, open_leaf *L)
{
    const wr__qf_params *p = t->p;
    L->gain = 0.0;
    size_t m = L->end - L->start;
    if (m < 2 * (size_t)p->min_samples_leaf) return;
    if (p->max_depth > 0 && L->depth >= p->max_depth) return;
    split_eval ev;
    node_totals(t, L->hist, &ev);
    size_t S = t->S;
    uint64_t left[WR__QF_MAX_LEVELS + 2];
    for (int fi = 0; fi < t->nf; fi++) {
        const uint64_t *h = L->hist + t->hoff[fi];
        unsigned nb = t->m->nbins[t->feats[fi]];
        memset(left, 0, S * sizeof left[0]);
        uint64_t lw = 0;
        for (unsigned b = 0; b + 1 < nb; b++) {
            const uint64_t *c = h + (size_t)b * S;
            for (size_t k = 0; k + 1 < S; k++) {
                left[k] += c[k];
                lw += c[k];
            }
            left[S - 1] += c[S - 1];
            uint64_t lc = left[S - 1], rc = ev.cnt - lc;
            if (lc < (uint64_t)p->min_samples_leaf) continue;
            if (rc < (uint64_t)p->min_samples_leaf) break;
            double HL = (double)lw * t->inv_scale, HR = ev.H - HL;
            if (HL < p->min_weight_leaf) continue;
            if (HR < p->min_weight_leaf) break;
            double g = level_term(t, left, NULL, HL) +
                       level_term(t, ev.tot, left, HR) - ev.parent;
            if (g > L->gain) {
                L->gain = g;
                L->fi = fi;
                L->bin = (int)b;
            }
        }
    }
}

/* ---------------------------------------------------------- partition */

/* Stable partition of idx[start, end) by bin <= split; returns the
 * boundary.  Stability keeps row order increasing (cache friendly). */
static size_t partition_seq(wr__qf_trainer *t, const open_leaf *L)
{
    size_t d = t->D.d, f = (size_t)t->feats[L->fi];
    uint8_t split = (uint8_t)L->bin;
    const uint8_t *bins = t->D.bins;
    uint32_t *idx = t->idx, *tmp = t->tmp;
    size_t wl = L->start, nr = 0;
    for (size_t j = L->start; j < L->end; j++) {
        uint32_t i = idx[j];
        if (bins[(size_t)i * d + f] <= split) idx[wl++] = i;
        else tmp[nr++] = i;
    }
    memcpy(idx + wl, tmp, nr * sizeof *tmp);
    return wl;
}

/* Large nodes: the same stable partition in fixed chunks -- count the
 * left rows of each chunk, then every chunk scatters to its own offsets
 * (identical result, any thread count). */

typedef struct part_job {
    wr__qf_trainer *t;
    const open_leaf *L;
    size_t *left;  /* per chunk: left rows, then left write offset */
    size_t *right; /* per chunk: right write offset */
} part_job;

static void part_count(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    part_job *j = ctx;
    wr__qf_trainer *t = j->t;
    size_t d = t->D.d, f = (size_t)t->feats[j->L->fi], s = j->L->start, c = 0;
    uint8_t split = (uint8_t)j->L->bin;
    for (size_t r = b; r < e; r++) c += t->D.bins[(size_t)t->idx[s + r] * d + f] <= split;
    j->left[b / PART_CHUNK] = c;
}

static void part_scatter(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    part_job *j = ctx;
    wr__qf_trainer *t = j->t;
    size_t d = t->D.d, f = (size_t)t->feats[j->L->fi], s = j->L->start;
    size_t wl = j->left[b / PART_CHUNK], wr = j->right[b / PART_CHUNK];
    uint8_t split = (uint8_t)j->L->bin;
    for (size_t r = b; r < e; r++) {
        uint32_t i = t->idx[s + r];
        if (t->D.bins[(size_t)i * d + f] <= split) t->tmp[wl++] = i;
        else t->tmp[wr++] = i;
    }
}

static size_t partition(wr__qf_trainer *t, const open_leaf *L)
{
    size_t m = L->end - L->start;
    if (t->nt == 1 || m < PAR_PART_ROWS) return partition_seq(t, L);
    size_t nc = (m + PART_CHUNK - 1) / PART_CHUNK;
    part_job j = {t, L, t->part, t->part + nc};
    wr__pool_for(t->pool, m, PART_CHUNK, part_count, &j);
    size_t nl = 0;
    for (size_t c = 0; c < nc; c++) nl += j.left[c];
    size_t lpos = L->start, rpos = L->start + nl;
    for (size_t c = 0; c < nc; c++) {
        size_t size = c + 1 < nc ? PART_CHUNK : m - c * PART_CHUNK;
        size_t cl = j.left[c];
        j.left[c] = lpos;
        j.right[c] = rpos;
        lpos += cl;
        rpos += size - cl;
    }
    wr__pool_for(t->pool, m, PART_CHUNK, part_scatter, &j);
    memcpy(t->idx + L->start, t->tmp + L->start, m * sizeof *t->idx);
    return L->start + nl;
}

/* ----------------------------------------------------------- growing */

static void sample_rows(wr__qf_trainer *t, wr__rng *rng, size_t *m)
{
    size_t n = t->D.n, c = 0;
    if (t->p->subsample >= 1.0) {
        for (size_t i = 0; i < n; i++) t->idx[i] = (uint32_t)i;
        *m = n;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (wr__rng_uniform(rng) < t->p->subsample) t->idx[c++] = (uint32_t)i;
    if (c == 0) t->idx[c++] = (uint32_t)wr__rng_below(rng, n);
    *m = c;
}

static void choose_features(wr__qf_trainer *t, wr__rng *rng)
{
    size_t d = t->D.d;
    size_t nf = (size_t)llround(t->p->colsample * (double)d);
    if (nf < 1) nf = 1;
    if (nf > d) nf = d;
    for (size_t f = 0; f < d; f++) t->feats[f] = (int)f;
    if (nf < d) { /* partial Fisher-Yates, then ascending order */
        for (size_t a = 0; a < nf; a++) {
            size_t b = a + (size_t)wr__rng_below(rng, d - a);
            int x = t->feats[a];
            t->feats[a] = t->feats[b];
            t->feats[b] = x;
        }
        for (size_t a = 1; a < nf; a++)
            for (size_t b = a; b > 0 && t->feats[b - 1] > t->feats[b]; b--) {
                int x = t->feats[b];
                t->feats[b] = t->feats[b - 1];
                t->feats[b - 1] = x;
            }
    }
    t->nf = (int)nf;
    size_t off = 0;
    for (size_t fi = 0; fi < nf; fi++) {
        t->hoff[fi] = off;
        off += (size_t)t->m->nbins[t->feats[fi]] * t->S;
    }
    t->hsize = off;
}

static int pick_leaf(const wr__qf_trainer *t)
{
    int best = -1;
    for (int l = 0; l < t->n_leaves; l++)
        if (t->leaves[l].hist && t->leaves[l].gain > 0.0 &&
            (best < 0 || t->leaves[l].gain > t->leaves[best].gain))
            best = l;
    return best;
}

static void finish_leaf(wr__qf_trainer *t, open_leaf *L)
{
    if (L->gain <= 0.0) {
        give_hist(t, L->hist);
        L->hist = NULL;
    }
}

/* Splits leaf l into itself (left child) and a new leaf (right child). */
static wr_status split_leaf(wr__qf_trainer *t, int l)
{
    open_leaf *P = &t->leaves[l];
    size_t mid = partition(t, P);
    int c = t->n_nodes;
    t->nodes[P->node] = (wr__qf_node){(uint16_t)t->feats[P->fi],
                                      (uint8_t)P->bin, 0, c};
    t->n_nodes += 2;
    open_leaf Lf = {P->start, mid, c, P->depth + 1, NULL, 0.0, 0, 0};
    open_leaf Rt = {mid, P->end, c + 1, P->depth + 1, NULL, 0.0, 0, 0};
    open_leaf *small = (mid - P->start <= P->end - mid) ? &Lf : &Rt;
    open_leaf *large = small == &Lf ? &Rt : &Lf;
    uint64_t *ph = P->hist;
    small->hist = take_hist(t);
    if (!small->hist) return WR_ERR_NOMEM;
    build_hist(t, small->start, small->end, small->hist);
    for (size_t c2 = 0; c2 < t->hsize; c2++) ph[c2] -= small->hist[c2];
    large->hist = ph; /* subtraction trick: parent - small */
    best_split(t, &Lf);
    best_split(t, &Rt);
    t->leaves[l] = Lf;
    t->leaves[t->n_leaves++] = Rt;
    finish_leaf(t, &t->leaves[l]);
    finish_leaf(t, &t->leaves[t->n_leaves - 1]);
    return WR_OK;
}

static wr_status grow_structure(wr__qf_trainer *t, size_t m)
{
    t->n_nodes = 1;
    t->n_leaves = 1;
    open_leaf *R = &t->leaves[0];
    *R = (open_leaf){0, m, 0, 0, take_hist(t), 0.0, 0, 0};
    if (!R->hist) return WR_ERR_NOMEM;
    k_job kj = {t};
    if (t->k_valid && t->k_q0 == t->q0) {
        /* the previous tree's score update left k current */
    } else if (t->nt > 1 && m * (size_t)t->D.Q > PAR_HIST_CELLS) {
        wr__pool_for(t->pool, m, 8192, k_range, &kj);
    } else {
        k_range(&kj, 0, m, 0);
    }
    build_hist(t, 0, m, R->hist);
    best_split(t, R);
    finish_leaf(t, R);
    wr_status st = WR_OK;
    while (st == WR_OK && t->n_leaves < t->p->max_leaves) {
        int l = pick_leaf(t);
        if (l < 0) break;
        st = split_leaf(t, l);
    }
    for (int l = 0; l < t->n_leaves; l++) {
        give_hist(t, t->leaves[l].hist);
        t->leaves[l].hist = NULL;
    }
    return st;
}

/* ------------------------------------------------------ leaf values */

typedef struct leaf_job {
    wr__qf_trainer *t;
    float *values; /* n_leaves x Qg */
} leaf_job;

static void sort_doubles(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
            double x = v[k];
            v[k] = v[k - 1];
            v[k - 1] = x;
        }
}

static inline void min_gaps(const float *F, size_t Qg, float *gap)
{
    for (size_t q = 0; q + 1 < Qg; q++) {
        float g = F[q + 1] - F[q];
        gap[q] = g < gap[q] ? g : gap[q];
    }
}

/* Smallest gaps F_q+1 - F_q over the leaf's rows (gap[] starts at +inf). */
static void leaf_gaps(const wr__qf_trainer *t, const uint32_t *rows, size_t m,
                      float *gap)
{
    size_t Q = t->D.Q;
    for (size_t j = 0; j < m; j++) {
        if (j + PF_DIST < m) PREFETCH(t->D.F + (size_t)rows[j + PF_DIST] * Q + t->q0);
        min_gaps(t->D.F + (size_t)rows[j] * Q + t->q0, t->Qg, gap);
    }
}

/* Rearrangement of the leaf vector that keeps every row of the leaf
 * ordered: F_q + v_q <= F_q+1 + v_q+1 for all rows holds iff
 * u_q = v_q + c_q is non-decreasing, with c_q the running sum of the
 * smallest gaps F_q+1 - F_q over the leaf's rows, so u is sorted.
 * Sorting v itself would be wrong: it would swap a correction that
 * narrows the spread (lower level up, upper level down) into one that
 * widens it. */
static void rearrange(size_t Qg, const float *gap, const double *v, float *out)
{
    double c[WR__QF_MAX_LEVELS], u[WR__QF_MAX_LEVELS];
    c[0] = 0.0;
    for (size_t q = 0; q + 1 < Qg; q++) c[q + 1] = c[q] + (gap[q] > 0.0f ? gap[q] : 0.0f);
    for (size_t q = 0; q < Qg; q++) u[q] = v[q] + c[q];
    sort_doubles(u, Qg);
    for (size_t q = 0; q < Qg; q++) out[q] = (float)(u[q] - c[q]);
}

/* Residual quantile of one level by gathering all the leaf's residuals and
 * selecting (used for small leaves and as the fallback). */
static double gather_select(wr__qf_trainer *t, const uint32_t *rows, size_t m,
                            size_t q, int tid)
{
    float *v = t->qv[tid], *w = t->qw ? t->qw[tid] : NULL;
    for (size_t j = 0; j < m; j++) {
        size_t i = rows[j];
        if (j + PF_DIST < m) PREFETCH(t->D.F + (size_t)rows[j + PF_DIST] * t->D.Q + t->q0 + q);
        v[j] = t->D.y[i] - t->D.F[i * t->D.Q + t->q0 + q];
        if (w) w[j] = t->D.w[i];
    }
    return wr__qf_wquantile(v, w, m, t->D.tau[t->q0 + q]);
}

/* Bracketing: quantiles of a fixed stride sample of 512 rows give, for
 * each level, an interval [lo, hi] that holds the answer with high
 * probability (+-3 sigma of the sample quantile).  One pass over the leaf
 * then adds up the weight below lo and keeps only the residuals inside;
 * the exact selection runs on those few.  If the answer falls outside (or
 * the buffer overflows) the level is recomputed by gather_select, so the
 * result is always the exact quantile. */
#ifndef BRACKET_MIN_ROWS
#define BRACKET_MIN_ROWS 4096
#endif
#define BRACKET_SAMPLE 512

typedef struct bracket {
    float lo, hi;
    double below, midw;
    size_t cnt;
} bracket;

static void bracket_bounds(const wr__qf_trainer *t, const uint32_t *rows,
                           size_t m, bracket *b)
{
    float sv[BRACKET_SAMPLE], sw[BRACKET_SAMPLE], cv[BRACKET_SAMPLE], cw[BRACKET_SAMPLE];
    for (size_t q = 0; q < t->Qg; q++) {
        for (size_t j = 0; j < BRACKET_SAMPLE; j++) {
            size_t i = rows[j * m / BRACKET_SAMPLE];
            sv[j] = t->D.y[i] - t->D.F[i * t->D.Q + t->q0 + q];
            sw[j] = t->D.w ? t->D.w[i] : 1.0f;
        }
        double tau = t->D.tau[t->q0 + q];
        double delta = 3.0 * sqrt(tau * (1.0 - tau) / BRACKET_SAMPLE) + 2.0 / BRACKET_SAMPLE;
        b[q] = (bracket){-INFINITY, INFINITY, 0.0, 0.0, 0};
        if (tau - delta > 0.0) {
            memcpy(cv, sv, sizeof cv);
            memcpy(cw, sw, sizeof cw);
            b[q].lo = (float)wr__qf_wquantile(cv, cw, BRACKET_SAMPLE, tau - delta);
        }
        if (tau + delta < 1.0) {
            memcpy(cv, sv, sizeof cv);
            memcpy(cw, sw, sizeof cw);
            b[q].hi = (float)wr__qf_wquantile(cv, cw, BRACKET_SAMPLE, tau + delta);
        }
    }
}

/* Returns the leaf's total weight; fills the brackets' sums and buffers
 * and the smallest level gaps (for rearrange). */
static double bracket_pass(const wr__qf_trainer *t, const uint32_t *rows,
                           size_t m, bracket *b, float *mv, float *mw, size_t cap,
                           float *gap)
{
    size_t Q = t->D.Q, Qg = t->Qg;
    double W = 0.0;
    for (size_t j = 0; j < m; j++) {
        size_t i = rows[j];
        if (j + PF_DIST < m) PREFETCH(t->D.F + (size_t)rows[j + PF_DIST] * Q + t->q0);
        const float *F = t->D.F + i * Q + t->q0;
        min_gaps(F, Qg, gap);
        float y = t->D.y[i], wi = t->D.w ? t->D.w[i] : 1.0f;
        W += wi;
        for (size_t q = 0; q < Qg; q++) {
            float r = y - F[q];
            if (r < b[q].lo) {
                b[q].below += wi;
            } else if (r <= b[q].hi) {
                size_t c = b[q].cnt++;
                if (c < cap) {
                    mv[q * cap + c] = r;
                    if (mw) mw[q * cap + c] = wi;
                }
                b[q].midw += wi;
            }
        }
    }
    return W;
}

static void leaf_value(wr__qf_trainer *t, int l, float *out, int tid)
{
    const open_leaf *L = &t->leaves[l];
    size_t m = L->end - L->start, Qg = t->Qg;
    const uint32_t *rows = t->idx + L->start;
    double val[WR__QF_MAX_LEVELS];
    bool done[WR__QF_MAX_LEVELS] = {false}, have_gaps = false;
    float gap[WR__QF_MAX_LEVELS];
    for (size_t q = 0; q < Qg; q++) gap[q] = INFINITY;
    size_t cap = t->qcap / Qg;
    if (m >= BRACKET_MIN_ROWS && cap >= m / 4) {
        bracket b[WR__QF_MAX_LEVELS];
        bracket_bounds(t, rows, m, b);
        float *mv = t->qv[tid], *mw = t->qw ? t->qw[tid] : NULL;
        double W = bracket_pass(t, rows, m, b, mv, mw, cap, gap);
        have_gaps = true;
        for (size_t q = 0; q < Qg && W > 0.0; q++) {
            double target = t->D.tau[t->q0 + q] * W;
            if (b[q].cnt > cap || !(b[q].below < target) ||
                !(b[q].below + b[q].midw >= target))
                continue;
            val[q] = wr__qf_wselect(mv + q * cap, mw ? mw + q * cap : NULL, b[q].cnt,
                                    b[q].below, target);
            done[q] = true;
        }
    }
    for (size_t q = 0; q < Qg; q++)
        if (!done[q]) val[q] = gather_select(t, rows, m, q, tid);
    for (size_t q = 0; q < Qg; q++) val[q] *= t->p->learning_rate;
    if (Qg == 1) {
        out[0] = (float)val[0];
        return;
    }
    if (!have_gaps) leaf_gaps(t, rows, m, gap);
    rearrange(Qg, gap, val, out);
}

/* Adds leaf l's vector to the scores of its rows and recomputes their k
 * for the next tree. */
static void update_leaf(wr__qf_trainer *t, size_t l, const float *v)
{
    const open_leaf *L = &t->leaves[l];
    size_t Q = t->D.Q, Qg = t->Qg;
    for (size_t r = L->start; r < L->end; r++) {
        size_t i = t->idx[r];
        if (r + PF_DIST < L->end) PREFETCH(t->D.F + (size_t)t->idx[r + PF_DIST] * Q + t->q0);
        float *F = t->D.F + i * Q + t->q0;
        for (size_t q = 0; q < Qg; q++) F[q] += v[q];
        t->k[i] = row_k(F, t->D.y[i], Qg);
    }
}

/* One task per leaf: its values, then (without subsampling, when the
 * leaves' rows are all the rows) the update of its rows, which touches
 * nothing another leaf reads. */
static void leaf_range(void *ctx, size_t b, size_t e, int tid)
{
    leaf_job *j = ctx;
    wr__qf_trainer *t = j->t;
    for (size_t l = b; l < e; l++) {
        float *v = j->values + l * t->Qg;
        leaf_value(t, (int)l, v, tid);
        if (t->p->subsample >= 1.0) update_leaf(t, l, v);
    }
}

typedef struct apply_job {
    wr__qf_trainer *t;
    const wr__qf_tree *tree;
} apply_job;

/* Subsampled trees: every row (sampled or not) moves by its leaf. */
static void apply_range(void *ctx, size_t b, size_t e, int tid)
{
    (void)tid;
    apply_job *j = ctx;
    wr__qf_trainer *t = j->t;
    for (size_t i = b; i < e; i++) {
        uint32_t leaf = wr__qf_leaf(j->tree->nodes, t->D.bins + i * t->D.d);
        const float *v = j->tree->values + (size_t)leaf * t->Qg;
        float *F = t->D.F + i * t->D.Q + t->q0;
        for (size_t q = 0; q < t->Qg; q++) F[q] += v[q];
        t->k[i] = row_k(F, t->D.y[i], t->Qg);
    }
}

static wr_status make_tree(wr__qf_trainer *t, wr__qf_tree *out)
{
    out->n_nodes = (uint32_t)t->n_nodes;
    out->n_leaves = (uint32_t)t->n_leaves;
    out->nodes = wr__alloc_array((size_t)t->n_nodes, sizeof *out->nodes, "forest tree");
    out->values = wr__alloc_array((size_t)t->n_leaves * t->Qg, sizeof(float), "forest tree");
    if (!out->nodes || !out->values) {
        wr__qf_tree_free(out);
        return WR_ERR_NOMEM;
    }
    memcpy(out->nodes, t->nodes, (size_t)t->n_nodes * sizeof *out->nodes);
    for (int l = 0; l < t->n_leaves; l++)
        out->nodes[t->leaves[l].node] = (wr__qf_node){0, 0, 1, l};
    leaf_job j = {t, out->values};
    wr__pool_for(t->pool, (size_t)t->n_leaves, 1, leaf_range, &j);
    if (t->p->subsample < 1.0) {
        apply_job aj = {t, out};
        wr__pool_for(t->pool, t->D.n, 8192, apply_range, &aj);
    }
    t->k_valid = true; /* every row was updated and its k recomputed */
    t->k_q0 = t->q0;
    return WR_OK;
}

wr_status wr__qf_grow(wr__qf_trainer *t, size_t q0, size_t q1,
                      uint64_t stream, wr__qf_tree *out)
{
    memset(out, 0, sizeof *out);
    t->q0 = q0;
    t->Qg = q1 - q0;
    t->S = t->Qg + 2;
    wr__rng rng;
    wr__rng_seed(&rng, (uint64_t)t->p->seed, stream);
    size_t m = 0;
    sample_rows(t, &rng, &m);
    choose_features(t, &rng);
    wr_status st = grow_structure(t, m);
    if (st != WR_OK) return st;
    return make_tree(t, out);
}
