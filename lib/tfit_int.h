/* lib/tfit_int.h -- internals of wr_template_fit shared by lib/tfit.c
 * (handle, parameters, binning, filling, serialisation) and lib/tfit_fit.c
 * (likelihood, scan, parabola, bootstrap, systematics).  Not installed. */
#ifndef WR_TFIT_INT_H
#define WR_TFIT_INT_H

#include "core.h"

enum { TF_WIDTH_RUNNING = 0, TF_WIDTH_FIXED = 1 };
enum { TF_SCALE_NONE = 0, TF_SCALE_M3 = 1 };
enum { TF_NORM_SHAPE = 0, TF_NORM_FREE = 1 };
enum { TF_INTERP_CUBIC = 0, TF_INTERP_LINEAR = 1 };
enum { TF_FLOW_DROP = 0, TF_FLOW_FOLD = 1 };

typedef struct tf_params {
    double mass_center, mass_step;
    int64_t mass_count;
    double ref_mass, ref_width;
    int width_mode, width_scaling, flow;
    int64_t bootstrap, seed, data_sets;
    int bb_lite;
    int norm, interp;
    int64_t scan_refine;
    double parabola_window;
    int64_t threads;
} tf_params;

/** Result of one fit (nominal or replica). */
typedef struct tf_result {
    double mass, width, curvature, m2lnl_min, norm;
    int n_bins, n_parabola;
} tf_result;

struct wr_template_fit {
    tf_params p;
    /* binning */
    size_t dim, nb[2], B;
    double *edges[2];
    /* grid */
    double *grid_explicit; /* NULL: regular grid from the parameters */
    size_t n_explicit;
    double *masses; /* current grid, H values */
    size_t H;
    /* filled histograms (allocated at the first fill) */
    bool filled;
    size_t R, S;    /* replicas and data sets the storage was made for */
    bool bb_stored; /* replica sum w^2 stored */
    double *T;      /* [R+1][B][H] template sum w; slot 0 nominal */
    double *T2;     /* [bb_stored ? R+1 : 1][B][H] template sum w^2 */
    double *D;      /* [S][R+1][B] data sum w */
    double *D2;     /* [S][B] data sum w^2 (nominal) */
    /* last fit */
    bool has_fit;
    tf_result last;
    double last_true_mass;
    double *scan_m, *scan_v;
    size_t n_scan;
    wr_progress_fn progress;
    void *progress_user;
};

/* ---- fitting inputs: one template slot and one data histogram */
typedef struct tf_view {
    const double *T;  /* B x H */
    const double *T2; /* B x H or NULL (no BB) */
    const double *n;  /* B */
} tf_view;

/** Per-thread scratch for fits (sizes depend on B, H and scan points). */
typedef struct tf_scratch {
    double *lnT, *lnS; /* B x H (lnS only with BB) */
    double *nv;        /* data contents of the bins in the fit */
    double *mu, *rel2; /* B */
    double *scan_m, *scan_v;
    double *A, *b;     /* parabola least squares, n_scan x 3 and n_scan */
    size_t n_scan;
} tf_scratch;

/* lib/tfit.c */
/** The inlined bootstrap generator (same stream as wr__rng_u64). */
uint64_t wr__tfit_stream_u64(wr__rng *g);
const double *wr__tfit_slot_T(const wr_template_fit *tf, size_t slot);
const double *wr__tfit_slot_T2(const wr_template_fit *tf, size_t slot);
const double *wr__tfit_slot_D(const wr_template_fit *tf, size_t set,
                              size_t slot);

/* lib/tfit_fit.c */
size_t wr__tfit_n_scan(const wr_template_fit *tf);
wr_status wr__tfit_scratch_init(const wr_template_fit *tf, tf_scratch *s);
void wr__tfit_scratch_free(tf_scratch *s);
/** Fits one (template slot, data) view; on failure fills msg[len] and
 *  returns the status without touching the thread-local error (may run in
 *  a worker thread). */
wr_status wr__tfit_fit_view(const wr_template_fit *tf, const tf_view *v,
                            tf_scratch *s, tf_result *res, char *msg,
                            size_t len);
/** Interpolated template at `mass` (bins with a non-positive grid content
 *  are 0). */
wr_status wr__tfit_interp(const wr_template_fit *tf, const double *T,
                          double mass, double *out);

#endif
