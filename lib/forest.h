/*
 * lib/forest.h -- internals of wr_quantile_forest (not installed).
 *
 *   forest.c        public API: handle, parameters, fit loop, predict
 *   forest_io.c     payload serialisation and validation (docs/forest.md)
 *   forest_bin.c    weighted-quantile feature binning, weighted selection
 *   forest_tree.c   histogram tree growth with vector (multi-level) leaves
 *
 * A model holds G groups of consecutive levels; every group is its own
 * boosted ensemble whose trees carry one leaf value per level of the group.
 * multi=shared is one group with all levels, multi=independent one group
 * per level (docs/forest.md explains the choice).
 */
#ifndef WR_FOREST_INTERNAL_H
#define WR_FOREST_INTERNAL_H

#include "core.h"

#define WR__QF_KIND_VERSION 1u
#define WR__QF_MAX_BINS 255      /* bin indices fit a uint8_t */
#define WR__QF_MAX_LEVELS 255    /* per-row level counts fit a uint8_t */
#define WR__QF_MAX_FEATURES 65535 /* node feature index is a uint16_t */
#define WR__QF_MAX_LEAVES 65536
#define WR__QF_MAX_ROUNDS 1000000

enum { WR__QF_SHARED = 0, WR__QF_INDEPENDENT = 1 };

typedef struct wr__qf_params {
    int64_t rounds, max_leaves, max_depth, min_samples_leaf, max_bins;
    int64_t early_stopping_rounds, seed, threads;
    double learning_rate, min_weight_leaf, l2, subsample, colsample;
    int multi;
} wr__qf_params;

extern const wr__param_table wr__qf_param_table;

/* One tree node, 8 bytes.  Internal (leaf == 0): rows with
 * bin[feature] <= bin go to nodes[child], the others to nodes[child + 1];
 * children always come after their parent, so a walk ends.  Leaf: child
 * is the leaf's row in the value table. */
typedef struct wr__qf_node {
    uint16_t feature;
    uint8_t bin;
    uint8_t leaf;
    int32_t child;
} wr__qf_node;

/* Prediction form of a node (built by wr__qf_compile): leaves loop onto
 * themselves (bin 255 is above every bin), so a walk of exactly `depth`
 * steps needs no branch and blocks of rows advance in lockstep. */
typedef struct wr__qf_cnode {
    uint16_t feature;
    uint8_t bin;
    uint8_t pad; /* 1 on leaves */
    uint32_t next;
} wr__qf_cnode;

typedef struct wr__qf_tree {
    uint32_t n_nodes, n_leaves;
    wr__qf_node *nodes;
    float *values; /* n_leaves x (group width) */
    /* derived for prediction, not serialised */
    uint32_t depth;
    wr__qf_cnode *cnodes;
    uint32_t *leaf_of; /* node -> row of the group's cvals (leaves only) */
} wr__qf_tree;

typedef struct wr__qf_group {
    size_t q0, q1;          /* levels [q0, q1) */
    size_t n_trees, cap;
    wr__qf_tree *trees;
    /* derived for prediction, not serialised: the leaf values of all trees
     * in one table, rows padded with zeros to W floats (a multiple of 4
     * when the width is >= 4) so the accumulation runs in fixed vectors */
    size_t W;
    float *cvals;
} wr__qf_group;

typedef struct wr__qf_model {
    size_t d, Q;
    uint8_t *nbins;   /* d: bins of feature f (1..255) */
    float *edges;     /* d x WR__QF_MAX_BINS: upper edge of bin b (b < nbins-1) */
    double *init;     /* Q initial scores (tau-quantiles of y), non-decreasing */
    size_t n_groups;
    wr__qf_group *groups;
} wr__qf_model;

/* ---------------------------------------------------------- model */
wr__qf_model *wr__qf_model_new(size_t d, size_t Q, size_t n_groups);
void wr__qf_model_free(wr__qf_model *m);
void wr__qf_tree_free(wr__qf_tree *t);
/** Deep copy of the trees, edges and initial scores (not compiled). */
wr__qf_model *wr__qf_model_copy(const wr__qf_model *src);
/** Appends a tree (ownership moves into the group). */
wr_status wr__qf_group_push(wr__qf_group *g, wr__qf_tree *t);
/** Builds the prediction form of every tree (after fit or load). */
wr_status wr__qf_compile(wr__qf_model *m);
/** Keeps only the first `n` trees. */
void wr__qf_group_truncate(wr__qf_group *g, size_t n);

/** Leaf index of a binned row. */
static inline uint32_t wr__qf_leaf(const wr__qf_node *nd, const uint8_t *xb)
{
    uint32_t j = 0;
    while (!nd[j].leaf)
        j = (uint32_t)nd[j].child + (uint32_t)(xb[nd[j].feature] > nd[j].bin);
    return (uint32_t)nd[j].child;
}

/** Bin of x: smallest b with x <= edges[b]; nb - 1 above every edge. */
static inline uint8_t wr__qf_bin1(const float *edges, unsigned nb, float x)
{
    unsigned lo = 0, hi = nb - 1; /* answer in [lo, hi] */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (x <= edges[mid]) hi = mid;
        else lo = mid + 1;
    }
    return (uint8_t)lo;
}

/* ---------------------------------------------------------- binning */
/** Fills m->nbins / m->edges from (a sample of) X by weighted quantiles. */
wr_status wr__qf_make_edges(wr__qf_model *m, const float *X, size_t n,
                            const float *w, int max_bins, uint64_t seed,
                            wr__pool *pool);
/** Bins n rows of X (n x d) into out (n x d). */
void wr__qf_bin_rows(const wr__qf_model *m, const float *X, size_t n,
                     uint8_t *out, wr__pool *pool);
/** Smallest v with sum of weights of values <= v >= tau * total weight
 *  (inverted CDF; w == NULL means unit weights).  Permutes v and w. */
double wr__qf_wquantile(float *v, float *w, size_t m, double tau);
/** Same selection with `acc` weight known to lie below v[0..m) and an
 *  absolute target weight (acc < target <= acc + weight of v). */
double wr__qf_wselect(float *v, float *w, size_t m, double acc, double target);

/* ---------------------------------------------------------- training */
typedef struct wr__qf_trainer wr__qf_trainer;

typedef struct wr__qf_train_data {
    size_t n, d, Q;
    const uint8_t *bins;  /* n x d */
    const float *y, *w;   /* w NULL = unit weights */
    const double *tau;
    float *F;             /* n x Q current scores, updated by each tree */
} wr__qf_train_data;

wr__qf_trainer *wr__qf_trainer_create(const wr__qf_params *p,
                                      const wr__qf_model *m,
                                      const wr__qf_train_data *data,
                                      size_t max_group, wr__pool *pool);
void wr__qf_trainer_free(wr__qf_trainer *t);
/** Grows one tree for levels [q0, q1) from the current scores, adds it to
 *  the training scores and returns it in *out. */
wr_status wr__qf_grow(wr__qf_trainer *t, size_t q0, size_t q1,
                      uint64_t stream, wr__qf_tree *out);

/* ---------------------------------------------------------- payload */
wr_status wr__qf_write(wr__writer *w, const wr__qf_params *p,
                       const double *levels, const wr__qf_model *m);
wr_status wr__qf_read(wr__reader *r, wr__qf_params *p, double **levels,
                      wr__qf_model **m);

#endif /* WR_FOREST_INTERNAL_H */
