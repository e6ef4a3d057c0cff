/* lib/forest_io.c -- the wr_quantile_forest model in memory and its
 * payload (docs/forest.md, "Model payload").  Reading validates every
 * count, index and value before anything is used, so a crafted file can
 * neither read out of bounds nor make a tree walk loop. */
#include "forest.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on counts read from a payload (beyond the bytes-left check). */
#define MAX_TREES_PER_GROUP ((size_t)WR__QF_MAX_ROUNDS)
#define MAX_NODES ((size_t)2 * WR__QF_MAX_LEAVES - 1)

wr__qf_model *wr__qf_model_new(size_t d, size_t Q, size_t n_groups)
{
    wr__qf_model *m = calloc(1, sizeof *m);
    if (!m) {
        wr__fail(WR_ERR_NOMEM, "out of memory (forest model)");
        return NULL;
    }
    m->d = d;
    m->Q = Q;
    m->n_groups = n_groups;
    m->nbins = wr__calloc_array(d, 1, "forest bins");
    m->edges = wr__calloc_array(d, WR__QF_MAX_BINS * sizeof(float), "forest edges");
    m->init = wr__calloc_array(Q, sizeof(double), "forest initial scores");
    m->groups = wr__calloc_array(n_groups, sizeof *m->groups, "forest groups");
    if (!m->nbins || !m->edges || !m->init || !m->groups) {
        wr__qf_model_free(m);
        return NULL;
    }
    return m;
}

void wr__qf_tree_free(wr__qf_tree *t)
{
    if (!t) return;
    free(t->nodes);
    free(t->values);
    free(t->cnodes);
    free(t->leaf_of);
    t->nodes = NULL;
    t->values = NULL;
    t->cnodes = NULL;
    t->leaf_of = NULL;
}

static wr_status compile_tree(wr__qf_tree *t, uint32_t base)
{
    size_t nn = t->n_nodes;
    uint32_t *depth = wr__calloc_array(nn, sizeof *depth, "forest tree");
    free(t->cnodes);
    free(t->leaf_of);
    t->cnodes = wr__alloc_array(nn, sizeof *t->cnodes, "forest tree");
    t->leaf_of = wr__calloc_array(nn, sizeof *t->leaf_of, "forest tree");
    if (!depth || !t->cnodes || !t->leaf_of) {
        free(depth);
        return WR_ERR_NOMEM;
    }
    t->depth = 0;
    for (size_t j = 0; j < nn; j++) { /* children come after parents */
        const wr__qf_node *nd = &t->nodes[j];
        if (nd->leaf) {
            t->cnodes[j] = (wr__qf_cnode){0, 255, 1, (uint32_t)j};
            t->leaf_of[j] = base + (uint32_t)nd->child;
            if (depth[j] > t->depth) t->depth = depth[j];
        } else {
            t->cnodes[j] = (wr__qf_cnode){nd->feature, nd->bin, 0, (uint32_t)nd->child};
            depth[nd->child] = depth[nd->child + 1] = depth[j] + 1;
        }
    }
    free(depth);
    return WR_OK;
}

/* The group's value table: every tree's leaf rows, padded to W floats. */
static wr_status compile_group(wr__qf_group *g)
{
    size_t width = g->q1 - g->q0, rows = 0;
    g->W = width < 4 ? width : (width + 3) / 4 * 4;
    for (size_t k = 0; k < g->n_trees; k++) rows += g->trees[k].n_leaves;
    if (rows > UINT32_MAX) return wr__fail(WR_ERR_NOMEM, "forest: too many leaves");
    free(g->cvals);
    g->cvals = wr__calloc_array(rows ? rows : 1, g->W * sizeof(float), "forest values");
    if (!g->cvals) return WR_ERR_NOMEM;
    rows = 0;
    for (size_t k = 0; k < g->n_trees; k++) {
        const wr__qf_tree *t = &g->trees[k];
        wr_status st = compile_tree(&g->trees[k], (uint32_t)rows);
        if (st != WR_OK) return st;
        for (size_t l = 0; l < t->n_leaves; l++, rows++)
            memcpy(g->cvals + rows * g->W, t->values + l * width, width * sizeof(float));
    }
    return WR_OK;
}

wr_status wr__qf_compile(wr__qf_model *m)
{
    for (size_t g = 0; g < m->n_groups; g++) {
        wr_status st = compile_group(&m->groups[g]);
        if (st != WR_OK) return st;
    }
    return WR_OK;
}

void wr__qf_group_truncate(wr__qf_group *g, size_t n)
{
    while (g->n_trees > n) wr__qf_tree_free(&g->trees[--g->n_trees]);
    free(g->cvals); /* stale: wr__qf_compile rebuilds it */
    g->cvals = NULL;
}

void wr__qf_model_free(wr__qf_model *m)
{
    if (!m) return;
    for (size_t g = 0; m->groups && g < m->n_groups; g++) {
        wr__qf_group_truncate(&m->groups[g], 0);
        free(m->groups[g].trees);
    }
    free(m->groups);
    free(m->nbins);
    free(m->edges);
    free(m->init);
    free(m);
}

static void *dup_bytes(const void *src, size_t n, size_t size, const char *what)
{
    void *d = wr__alloc_array(n ? n : 1, size, what);
    if (d && n) memcpy(d, src, n * size);
    return d;
}

wr__qf_model *wr__qf_model_copy(const wr__qf_model *src)
{
    wr__qf_model *m = wr__qf_model_new(src->d, src->Q, src->n_groups);
    if (!m) return NULL;
    memcpy(m->nbins, src->nbins, src->d);
    memcpy(m->edges, src->edges, src->d * WR__QF_MAX_BINS * sizeof(float));
    memcpy(m->init, src->init, src->Q * sizeof(double));
    for (size_t g = 0; g < src->n_groups; g++) {
        const wr__qf_group *sg = &src->groups[g];
        wr__qf_group *dg = &m->groups[g];
        size_t width = sg->q1 - sg->q0;
        dg->q0 = sg->q0;
        dg->q1 = sg->q1;
        for (size_t k = 0; k < sg->n_trees; k++) {
            const wr__qf_tree *st = &sg->trees[k];
            wr__qf_tree t = {st->n_nodes, st->n_leaves, NULL, NULL, 0, NULL, NULL};
            t.nodes = dup_bytes(st->nodes, st->n_nodes, sizeof *t.nodes, "forest tree");
            t.values = dup_bytes(st->values, (size_t)st->n_leaves * width, sizeof(float),
                                 "forest tree");
            if (!t.nodes || !t.values || wr__qf_group_push(dg, &t) != WR_OK) {
                wr__qf_tree_free(&t);
                wr__qf_model_free(m);
                return NULL;
            }
        }
    }
    return m;
}

wr_status wr__qf_group_push(wr__qf_group *g, wr__qf_tree *t)
{
    if (g->n_trees == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        size_t bytes;
        if (!wr__mul_size(cap, sizeof *g->trees, &bytes))
            return wr__fail(WR_ERR_NOMEM, "too many trees");
        wr__qf_tree *nt = realloc(g->trees, bytes);
        if (!nt) return wr__fail(WR_ERR_NOMEM, "out of memory (forest trees)");
        g->trees = nt;
        g->cap = cap;
    }
    g->trees[g->n_trees++] = *t;
    memset(t, 0, sizeof *t);
    return WR_OK;
}

/* ------------------------------------------------------------ write */

static void write_tree(wr__writer *w, const wr__qf_tree *t, size_t width)
{
    wr__w_u64(w, t->n_nodes);
    for (uint32_t j = 0; j < t->n_nodes; j++) {
        const wr__qf_node *nd = &t->nodes[j];
        wr__w_u32(w, nd->feature);
        wr__w_u8(w, nd->bin);
        wr__w_u8(w, nd->leaf);
        wr__w_u32(w, (uint32_t)nd->child);
    }
    wr__w_u64(w, t->n_leaves);
    wr__w_f32s(w, t->values, (size_t)t->n_leaves * width);
}

wr_status wr__qf_write(wr__writer *w, const wr__qf_params *p,
                       const double *levels, const wr__qf_model *m)
{
    wr__params_write(w, &wr__qf_param_table, p);
    wr__w_u64(w, m->Q);
    wr__w_f64s(w, levels, m->Q);
    wr__w_u64(w, m->d);
    for (size_t f = 0; f < m->d; f++) {
        wr__w_u8(w, m->nbins[f]);
        wr__w_f32s(w, m->edges + f * WR__QF_MAX_BINS, m->nbins[f] - 1u);
    }
    wr__w_f64s(w, m->init, m->Q);
    wr__w_u64(w, m->n_groups);
    for (size_t g = 0; g < m->n_groups; g++) {
        const wr__qf_group *gr = &m->groups[g];
        wr__w_u64(w, gr->q0);
        wr__w_u64(w, gr->q1);
        wr__w_u64(w, gr->n_trees);
        for (size_t k = 0; k < gr->n_trees; k++)
            write_tree(w, &gr->trees[k], gr->q1 - gr->q0);
    }
    return wr__w_status(w);
}

/* ------------------------------------------------------------- read */

static wr_status bad(const char *what, size_t a, size_t b)
{
    return wr__fail(WR_ERR_FORMAT, "forest payload: %s (%zu, %zu)", what, a, b);
}

static wr_status read_edges(wr__reader *r, wr__qf_model *m)
{
    for (size_t f = 0; f < m->d; f++) {
        unsigned nb = wr__r_u8(r);
        if (r->failed) break;
        if (nb < 1 || nb > WR__QF_MAX_BINS) return bad("bin count out of range", f, nb);
        float *e = m->edges + f * WR__QF_MAX_BINS;
        wr__r_f32s(r, e, nb - 1u);
        for (unsigned b = 0; b + 1 < nb && !r->failed; b++)
            if (!isfinite(e[b]) || (b > 0 && !(e[b] > e[b - 1])))
                return bad("bin edges not finite and increasing", f, b);
        m->nbins[f] = (uint8_t)nb;
    }
    return wr__r_status(r, "forest bin edges", false);
}

static wr_status check_node(const wr__qf_model *m, const wr__qf_node *nd,
                            size_t j, size_t n_nodes, size_t n_leaves)
{
    if (nd->leaf > 1) return bad("node flag not 0/1", j, nd->leaf);
    if (nd->leaf) {
        if (nd->child < 0 || (size_t)nd->child >= n_leaves)
            return bad("leaf value index out of range", j, (size_t)nd->child);
        return WR_OK;
    }
    if (nd->feature >= m->d) return bad("node feature out of range", j, nd->feature);
    if (nd->bin + 1u >= m->nbins[nd->feature]) return bad("node bin out of range", j, nd->bin);
    /* children after the parent: every walk moves forward and ends */
    if (nd->child <= 0 || (size_t)nd->child <= j || (size_t)nd->child + 1 >= n_nodes)
        return bad("node child index out of range", j, (size_t)nd->child);
    return WR_OK;
}

static wr_status read_tree(wr__reader *r, const wr__qf_model *m, size_t width,
                           wr__qf_tree *t)
{
    memset(t, 0, sizeof *t);
    size_t nn = wr__r_count(r, 10, MAX_NODES);
    if (r->failed || nn == 0) return bad("node count", nn, MAX_NODES);
    t->nodes = wr__alloc_array(nn, sizeof *t->nodes, "forest tree");
    if (!t->nodes) return WR_ERR_NOMEM;
    t->n_nodes = (uint32_t)nn;
    for (size_t j = 0; j < nn; j++) {
        uint32_t feat = wr__r_u32(r);
        t->nodes[j].bin = wr__r_u8(r);
        t->nodes[j].leaf = wr__r_u8(r);
        t->nodes[j].child = (int32_t)wr__r_u32(r);
        if (feat > WR__QF_MAX_FEATURES) return bad("node feature out of range", j, feat);
        t->nodes[j].feature = (uint16_t)feat;
    }
    size_t nl = wr__r_count(r, width * sizeof(float), (nn + 1) / 2);
    if (r->failed || nl == 0) return bad("leaf count", nl, nn);
    for (size_t j = 0; j < nn; j++) {
        wr_status st = check_node(m, &t->nodes[j], j, nn, nl);
        if (st != WR_OK) return st;
    }
    t->n_leaves = (uint32_t)nl;
    t->values = wr__alloc_array(nl * width, sizeof(float), "forest tree");
    if (!t->values) return WR_ERR_NOMEM;
    wr__r_f32s(r, t->values, nl * width);
    for (size_t v = 0; v < nl * width; v++)
        if (!isfinite(t->values[v])) return bad("leaf value not finite", v, 0);
    return wr__r_status(r, "forest tree", false);
}

static wr_status read_groups(wr__reader *r, wr__qf_model *m)
{
    size_t next = 0;
    for (size_t g = 0; g < m->n_groups; g++) {
        wr__qf_group *gr = &m->groups[g];
        size_t q0 = (size_t)wr__r_u64(r), q1 = (size_t)wr__r_u64(r);
        if (r->failed) break;
        if (q0 != next || q1 <= q0 || q1 > m->Q) return bad("group levels", q0, q1);
        next = q1;
        gr->q0 = q0;
        gr->q1 = q1;
        size_t nt = wr__r_count(r, 18, MAX_TREES_PER_GROUP);
        if (r->failed) break;
        for (size_t k = 0; k < nt; k++) {
            wr__qf_tree t;
            wr_status st = read_tree(r, m, q1 - q0, &t);
            if (st == WR_OK) st = wr__qf_group_push(gr, &t);
            if (st != WR_OK) {
                wr__qf_tree_free(&t);
                return st;
            }
        }
    }
    if (!r->failed && next != m->Q) return bad("groups do not cover the levels", next, m->Q);
    return wr__r_status(r, "forest groups", false);
}

/* Predictions are init + the sum of one leaf per tree, accumulated in double
 * and returned as float: a model whose worst case leaves the float range
 * (a finite init or leaf sum beyond FLT_MAX) would predict infinities, so
 * it is refused at load time. */
static wr_status check_score_range(const wr__qf_model *m)
{
    for (size_t g = 0; g < m->n_groups; g++) {
        const wr__qf_group *gr = &m->groups[g];
        size_t width = gr->q1 - gr->q0;
        for (size_t q = gr->q0; q < gr->q1; q++) {
            double bound = fabs(m->init[q]);
            for (size_t k = 0; k < gr->n_trees && bound <= FLT_MAX; k++) {
                const wr__qf_tree *t = &gr->trees[k];
                float mx = 0.0f;
                for (uint32_t l = 0; l < t->n_leaves; l++) {
                    float v = fabsf(t->values[(size_t)l * width + (q - gr->q0)]);
                    if (v > mx) mx = v;
                }
                bound += mx;
            }
            if (!(bound <= FLT_MAX))
                return bad("scores can leave the float range at level", q, g);
        }
    }
    return WR_OK;
}

static wr_status read_header(wr__reader *r, wr__qf_params *p, double **levels,
                             size_t *Q, size_t *d)
{
    wr_status st = wr__params_read(r, &wr__qf_param_table, p);
    if (st != WR_OK) return st;
    *Q = wr__r_count(r, sizeof(double), WR__QF_MAX_LEVELS);
    if (r->failed || *Q == 0) return bad("level count", *Q, WR__QF_MAX_LEVELS);
    *levels = wr__alloc_array(*Q, sizeof(double), "forest levels");
    if (!*levels) return WR_ERR_NOMEM;
    wr__r_f64s(r, *levels, *Q);
    if (wr__check_levels("forest payload", "levels", *levels, *Q) != WR_OK)
        return WR_ERR_FORMAT;
    *d = wr__r_count(r, 1, WR__QF_MAX_FEATURES);
    if (r->failed || *d == 0) return bad("feature count", *d, WR__QF_MAX_FEATURES);
    return WR_OK;
}

wr_status wr__qf_read(wr__reader *r, wr__qf_params *p, double **levels,
                      wr__qf_model **out)
{
    size_t Q = 0, d = 0;
    *levels = NULL;
    *out = NULL;
    wr_status st = read_header(r, p, levels, &Q, &d);
    wr__qf_model *m = NULL;
    if (st == WR_OK) {
        /* the group count is read after the edges; allocate groups then */
        m = wr__qf_model_new(d, Q, 0);
        st = m ? read_edges(r, m) : WR_ERR_NOMEM;
    }
    if (st == WR_OK) {
        wr__r_f64s(r, m->init, Q);
        for (size_t q = 0; q < Q && !r->failed; q++)
            if (!isfinite(m->init[q])) st = bad("initial score not finite", q, 0);
    }
    if (st == WR_OK) {
        size_t G = wr__r_count(r, 24, Q);
        if (r->failed || G == 0) st = bad("group count", G, Q);
        else {
            free(m->groups);
            m->groups = wr__calloc_array(G, sizeof *m->groups, "forest groups");
            m->n_groups = m->groups ? G : 0;
            st = m->groups ? read_groups(r, m) : WR_ERR_NOMEM;
        }
    }
    if (st == WR_OK) st = wr__r_status(r, "forest payload", true);
    if (st == WR_OK) st = check_score_range(m);
    if (st == WR_OK) st = wr__qf_compile(m);
    if (st != WR_OK) {
        wr__qf_model_free(m);
        free(*levels);
        *levels = NULL;
        return st == WR_ERR_NOMEM ? st : WR_ERR_FORMAT;
    }
    *out = m;
    return WR_OK;
}
