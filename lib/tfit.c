/* lib/tfit.c -- wr_template_fit: handle, parameters, binning, Breit-Wigner
 * reweighting, streaming fill of templates / pseudo-data and of their
 * bootstrap replicas, histogram read-back, merge and serialisation.
 * The likelihood, scan and fits live in lib/tfit_fit.c.  docs/tfit.md. */
#include "tfit_int.h"

#include <cblas.h>
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ parameters */
static const char *const width_choices[] = {"running", "fixed", NULL};
static const char *const scaling_choices[] = {"none", "m3", NULL};
static const char *const norm_choices[] = {"shape", "free", NULL};
static const char *const interp_choices[] = {"cubic", "linear", NULL};
static const char *const flow_choices[] = {"drop", "fold", NULL};

#define P_(name, type, field, lo, hi, def, ch, doc) \
    {name, type, offsetof(tf_params, field), lo, hi, def, ch, doc}
static const wr__param_desc tf_desc[] = {
    P_("mass_center", WR__P_DOUBLE, mass_center, 1e-3, 1e5, "80.385", NULL,
       "centre of the regular mass grid (GeV)"),
    P_("mass_step", WR__P_DOUBLE, mass_step, 1e-7, 1e3, "0.01", NULL,
       "spacing of the regular mass grid (GeV)"),
    P_("mass_count", WR__P_INT, mass_count, 3, 100001, "41", NULL,
       "number of grid masses"),
    P_("ref_mass", WR__P_DOUBLE, ref_mass, 1e-3, 1e5, "80.385", NULL,
       "generator mass M_0 of the template sample (GeV)"),
    P_("ref_width", WR__P_DOUBLE, ref_width, 1e-6, 1e4, "2.085", NULL,
       "generator width G_0 of the template sample (GeV)"),
    P_("width", WR__P_CHOICE, width_mode, 0, 0, "running", width_choices,
       "Breit-Wigner width: running (s-dependent) or fixed"),
    P_("width_scaling", WR__P_CHOICE, width_scaling, 0, 0, "none",
       scaling_choices, "G_h = G_0 (none) or G_0 (M_h/M_0)^3 (m3)"),
    P_("flow", WR__P_CHOICE, flow, 0, 0, "drop", flow_choices,
       "events outside the binning: drop, or fold into the edge bins"),
    P_("bootstrap", WR__P_INT, bootstrap, 0, 10000, "0", NULL,
       "number of bootstrap replicas filled with the histograms"),
    P_("seed", WR__P_INT, seed, 0, 9007199254740992.0, "1", NULL,
       "seed of the Poisson(1) bootstrap weights"),
    P_("data_sets", WR__P_INT, data_sets, 1, 1024, "1", NULL,
       "number of pseudo-data sets (e.g. one per discrepancy size)"),
    P_("bb_lite", WR__P_BOOL, bb_lite, 0, 1, "0", NULL,
       "Barlow-Beeston-lite treatment of template statistics"),
    P_("norm", WR__P_CHOICE, norm, 0, 0, "shape", norm_choices,
       "normalisation: shape (to the data total) or free (profiled)"),
    P_("interp", WR__P_CHOICE, interp, 0, 0, "cubic", interp_choices,
       "interpolation of ln(bin content) between grid masses"),
    P_("scan_refine", WR__P_INT, scan_refine, 1, 1000, "10", NULL,
       "scan points per grid interval"),
    P_("parabola_window", WR__P_DOUBLE, parabola_window, 1e-3, 1e6, "1", NULL,
       "Delta(-2lnL) window of the parabola fit"),
    P_("threads", WR__P_INT, threads, 0, 1024, "0", NULL,
       "worker threads (0 = all cores)"),
};
#undef P_

static const wr__param_table tf_table = {
    "tfit", tf_desc, sizeof tf_desc / sizeof tf_desc[0], sizeof(tf_params)};

/* Parameters that shape the filled histograms. */
static bool same_filling(const tf_params *a, const tf_params *b)
{
    return a->mass_center == b->mass_center && a->mass_step == b->mass_step &&
           a->mass_count == b->mass_count && a->ref_mass == b->ref_mass &&
           a->ref_width == b->ref_width && a->width_mode == b->width_mode &&
           a->width_scaling == b->width_scaling && a->flow == b->flow &&
           a->bootstrap == b->bootstrap && a->seed == b->seed &&
           a->data_sets == b->data_sets && a->bb_lite == b->bb_lite;
}

/* ------------------------------------------------------------------ grid */
/* Builds the current grid (explicit list or regular) into a new array. */
static wr_status build_grid(const tf_params *p, const double *expl,
                            size_t n_expl, double **out, size_t *n_out)
{
    size_t n = expl ? n_expl : (size_t)p->mass_count;
    double *m = wr__alloc_array(n, sizeof *m, "tfit mass grid");
    if (!m) return WR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        m[i] = expl ? expl[i]
                    : p->mass_center +
                          p->mass_step * ((double)i - 0.5 * (double)(n - 1));
    if (!(m[0] > 0.0)) {
        double lo = m[0];
        free(m);
        return wr__fail(WR_ERR_INVALID_ARG,
                        "tfit: mass grid starts at %g GeV; masses must be > 0 "
                        "(lower mass_step or mass_count)",
                        lo);
    }
    *out = m;
    *n_out = n;
    return WR_OK;
}

/* Applies candidate parameters / explicit grid all-or-nothing. */
static wr_status commit(wr_template_fit *tf, const tf_params *p,
                        double *expl, size_t n_expl)
{
    if (tf->filled && (!same_filling(p, &tf->p) || expl != tf->grid_explicit))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "tfit: the mass grid, reference, width, flow, "
                        "bootstrap, seed, data_sets and bb_lite cannot change "
                        "once events were added (call wr_tfit_reset first)");
    double *m;
    size_t n;
    wr_status st = build_grid(p, expl, n_expl, &m, &n);
    if (st) return st;
    free(tf->masses);
    tf->masses = m;
    tf->H = n;
    if (expl != tf->grid_explicit) free(tf->grid_explicit);
    tf->grid_explicit = expl;
    tf->n_explicit = expl ? n_expl : 0;
    tf->p = *p;
    return WR_OK;
}

static bool is_grid_key(const char *key)
{
    return key && (!strcmp(key, "mass_center") || !strcmp(key, "mass_step") ||
                   !strcmp(key, "mass_count"));
}

wr_status wr_tfit_set_param(wr_template_fit *tf, const char *key,
                            const char *value)
{
    wr_status st = wr__check_ptr("wr_tfit_set_param", "tf", tf);
    if (st) return st;
    tf_params p = tf->p;
    if ((st = wr__params_set(&tf_table, &p, key, value))) return st;
    /* a regular-grid key returns from an explicit list to the regular grid */
    double *expl = is_grid_key(key) ? NULL : tf->grid_explicit;
    return commit(tf, &p, expl, expl ? tf->n_explicit : 0);
}

/* Whether a "k=v k=v" string names a regular-grid key. */
static bool mentions_grid_key(const char *kv)
{
    const char *p = kv;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        size_t n = strcspn(p, "= \t\n");
        char key[32];
        if (n && n < sizeof key) {
            memcpy(key, p, n);
            key[n] = '\0';
            if (is_grid_key(key)) return true;
        }
        p += strcspn(p, " \t\n");
    }
    return false;
}

wr_status wr_tfit_set_params(wr_template_fit *tf, const char *kv)
{
    wr_status st = wr__check_ptr("wr_tfit_set_params", "tf", tf);
    if (st) return st;
    tf_params p = tf->p;
    if ((st = wr__params_parse(&tf_table, &p, kv))) return st;
    double *expl = mentions_grid_key(kv) ? NULL : tf->grid_explicit;
    return commit(tf, &p, expl, expl ? tf->n_explicit : 0);
}

wr_status wr_tfit_get_param(const wr_template_fit *tf, const char *key,
                            char *buf, size_t len)
{
    wr_status st = wr__check_ptr("wr_tfit_get_param", "tf", tf);
    if (!st) st = wr__check_ptr("wr_tfit_get_param", "buf", buf);
    if (st) return st;
    return wr__params_get(&tf_table, &tf->p, key, buf, len);
}

wr_status wr_tfit_set_mass_grid(wr_template_fit *tf, const double *masses,
                                size_t n)
{
    const char *fn = "wr_tfit_set_mass_grid";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = wr__check_ptr(fn, "masses", masses);
    if (!st) st = wr__check_finite_d(fn, "masses", masses, n);
    if (st) return st;
    if (n < 3)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n': %zu masses, "
                        "need at least 3", fn, n);
    for (size_t i = 0; i < n; i++)
        if (masses[i] <= 0.0 || (i && masses[i] <= masses[i - 1]))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument 'masses': value %g at index %zu is "
                            "not positive and strictly increasing",
                            fn, masses[i], i);
    double *copy = wr__alloc_array(n, sizeof *copy, "tfit mass grid");
    if (!copy) return WR_ERR_NOMEM;
    memcpy(copy, masses, n * sizeof *copy);
    st = commit(tf, &tf->p, copy, n);
    if (st) free(copy);
    return st;
}

size_t wr_tfit_n_masses(const wr_template_fit *tf) { return tf ? tf->H : 0; }

wr_status wr_tfit_masses(const wr_template_fit *tf, double *out, size_t n)
{
    wr_status st = wr__check_ptr("wr_tfit_masses", "tf", tf);
    if (!st) st = wr__check_ptr("wr_tfit_masses", "out", out);
    if (st) return st;
    if (n != tf->H)
        return wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_masses: argument 'n' is "
                        "%zu, the grid has %zu masses", n, tf->H);
    memcpy(out, tf->masses, n * sizeof *out);
    return WR_OK;
}

/* --------------------------------------------------------------- binning */
static wr_status check_edges(const char *fn, const char *arg, const double *e,
                             size_t n)
{
    wr_status st = wr__check_ptr(fn, arg, e);
    if (st) return st;
    if (n < 2 || n > ((size_t)1 << 24))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': %zu edges, "
                        "need 2 .. 16777216", fn, arg, n);
    if ((st = wr__check_finite_d(fn, arg, e, n))) return st;
    for (size_t i = 1; i < n; i++)
        if (!(e[i] > e[i - 1]))
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': edges "
                            "not strictly increasing at index %zu", fn, arg, i);
    return WR_OK;
}

void wr_tfit_free(wr_template_fit *tf)
{
    if (!tf) return;
    free(tf->edges[0]);
    free(tf->edges[1]);
    free(tf->grid_explicit);
    free(tf->masses);
    free(tf->T);
    free(tf->T2);
    free(tf->D);
    free(tf->D2);
    free(tf->scan_m);
    free(tf->scan_v);
    free(tf);
}

static wr_status create_checked(const double *ex, size_t nx, const double *ey,
                                size_t ny, wr_template_fit **out)
{
    wr_template_fit *tf = calloc(1, sizeof *tf);
    if (!tf) return wr__fail(WR_ERR_NOMEM, "tfit: out of memory");
    wr__params_defaults(&tf_table, &tf->p);
    tf->dim = ey ? 2 : 1;
    tf->nb[0] = nx - 1;
    tf->nb[1] = ey ? ny - 1 : 1;
    wr_status st = WR_OK;
    if (!wr__mul_size(tf->nb[0], tf->nb[1], &tf->B) || tf->B > ((size_t)1 << 26))
        st = wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_create: too many bins");
    tf->edges[0] = st ? NULL : wr__alloc_array(nx, sizeof(double), "edges");
    tf->edges[1] = ey && !st ? wr__alloc_array(ny, sizeof(double), "edges") : NULL;
    if (!st && (!tf->edges[0] || (ey && !tf->edges[1]))) st = WR_ERR_NOMEM;
    if (!st) {
        memcpy(tf->edges[0], ex, nx * sizeof(double));
        if (ey) memcpy(tf->edges[1], ey, ny * sizeof(double));
        st = build_grid(&tf->p, NULL, 0, &tf->masses, &tf->H);
    }
    if (st) {
        wr_tfit_free(tf);
        return st;
    }
    *out = tf;
    return WR_OK;
}

wr_status wr_tfit_create(const double *edges_x, size_t n_edges_x,
                         const double *edges_y, size_t n_edges_y,
                         wr_template_fit **out)
{
    const char *fn = "wr_tfit_create";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (st) return st;
    *out = NULL;
    if ((st = check_edges(fn, "edges_x", edges_x, n_edges_x))) return st;
    if (edges_y || n_edges_y)
        if ((st = check_edges(fn, "edges_y", edges_y, n_edges_y))) return st;
    return create_checked(edges_x, n_edges_x, edges_y, n_edges_y, out);
}

static double *uniform_edges(size_t n, double lo, double hi)
{
    double *e = wr__alloc_array(n + 1, sizeof *e, "edges");
    if (e)
        for (size_t i = 0; i <= n; i++) e[i] = lo + (hi - lo) * (double)i / (double)n;
    return e;
}

wr_status wr_tfit_create_uniform(size_t nx, double x_lo, double x_hi,
                                 size_t ny, double y_lo, double y_hi,
                                 wr_template_fit **out)
{
    const char *fn = "wr_tfit_create_uniform";
    wr_status st = wr__check_ptr(fn, "out", out);
    if (st) return st;
    *out = NULL;
    if (nx < 1 || nx > ((size_t)1 << 24) || ny > ((size_t)1 << 24))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'nx'/'ny': %zu x %zu "
                        "bins, need nx >= 1", fn, nx, ny);
    if (!isfinite(x_lo) || !isfinite(x_hi) || !(x_hi > x_lo))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'x_lo'/'x_hi': "
                        "[%g, %g) is not a finite non-empty range", fn, x_lo, x_hi);
    if (ny && (!isfinite(y_lo) || !isfinite(y_hi) || !(y_hi > y_lo)))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'y_lo'/'y_hi': "
                        "[%g, %g) is not a finite non-empty range", fn, y_lo, y_hi);
    double *ex = uniform_edges(nx, x_lo, x_hi);
    double *ey = ny ? uniform_edges(ny, y_lo, y_hi) : NULL;
    if (!ex || (ny && !ey)) st = WR_ERR_NOMEM;
    if (!st) st = check_edges(fn, "edges_x", ex, nx + 1); /* rounding */
    if (!st && ey) st = check_edges(fn, "edges_y", ey, ny + 1);
    if (!st) st = create_checked(ex, nx + 1, ey, ny ? ny + 1 : 0, out);
    free(ex);
    free(ey);
    return st;
}

size_t wr_tfit_dim(const wr_template_fit *tf) { return tf ? tf->dim : 0; }
size_t wr_tfit_n_bins(const wr_template_fit *tf) { return tf ? tf->B : 0; }

size_t wr_tfit_n_edges(const wr_template_fit *tf, int axis)
{
    if (!tf || axis < 0 || axis >= (int)tf->dim) return 0;
    return tf->nb[axis] + 1;
}

wr_status wr_tfit_edges(const wr_template_fit *tf, int axis, double *out,
                        size_t n)
{
    wr_status st = wr__check_ptr("wr_tfit_edges", "tf", tf);
    if (!st) st = wr__check_ptr("wr_tfit_edges", "out", out);
    if (st) return st;
    if (axis < 0 || axis >= (int)tf->dim)
        return wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_edges: argument 'axis' "
                        "is %d, the binning has %zu axes", axis, tf->dim);
    if (n != tf->nb[axis] + 1)
        return wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_edges: argument 'n' is "
                        "%zu, axis %d has %zu edges", n, axis, tf->nb[axis] + 1);
    memcpy(out, tf->edges[axis], n * sizeof *out);
    return WR_OK;
}

/* Index of x on one axis: i with e[i] <= x < e[i+1]; outside: -1 (drop) or
 * the edge bin (fold). */
static long axis_bin(const double *e, size_t nb, int flow, double x)
{
    if (x < e[0]) return flow == TF_FLOW_FOLD ? 0 : -1;
    if (x >= e[nb]) return flow == TF_FLOW_FOLD ? (long)nb - 1 : -1;
    size_t lo = 0, hi = nb; /* e[lo] <= x < e[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (x < e[mid]) hi = mid;
        else lo = mid;
    }
    return (long)lo;
}

static long event_bin(const wr_template_fit *tf, const double *x)
{
    long ix = axis_bin(tf->edges[0], tf->nb[0], tf->p.flow, x[0]);
    if (ix < 0 || tf->dim == 1) return ix;
    long iy = axis_bin(tf->edges[1], tf->nb[1], tf->p.flow, x[1]);
    return iy < 0 ? -1 : ix * (long)tf->nb[1] + iy;
}

/* ---------------------------------------------------------- Breit-Wigner */
/* Denominator of BW(m; M, G) (its inverse) as a function of s = m^2. */
typedef struct bw_hyp {
    double M2, c; /* running: c = G^2 / M^2 (times s^2); fixed: c = M^2 G^2 */
} bw_hyp;

static bw_hyp bw_make(const tf_params *p, double M)
{
    double G = p->ref_width;
    if (p->width_scaling == TF_SCALE_M3) {
        double r = M / p->ref_mass;
        G *= r * r * r;
    }
    bw_hyp h = {M * M, 0.0};
    h.c = p->width_mode == TF_WIDTH_RUNNING ? G * G / (M * M) : M * M * G * G;
    return h;
}

static double bw_den(const tf_params *p, bw_hyp h, double s)
{
    double d = s - h.M2;
    return d * d + (p->width_mode == TF_WIDTH_RUNNING ? s * s * h.c : h.c);
}

static wr_status check_masses(const char *fn, const double *m, size_t n)
{
    wr_status st = wr__check_ptr(fn, "m_gen", m);
    if (st) return st;
    for (size_t i = 0; i < n; i++)
        if (!(m[i] > 0.0) || !isfinite(m[i]))
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'm_gen': value "
                            "%g at index %zu is not a finite positive mass",
                            fn, m[i], i);
    return WR_OK;
}

wr_status wr_tfit_bw_weights(const wr_template_fit *tf, double mass,
                             const double *m_gen, size_t n, double *w_out)
{
    const char *fn = "wr_tfit_bw_weights";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = wr__check_ptr(fn, "w_out", w_out);
    if (!st) st = check_masses(fn, m_gen, n);
    if (st) return st;
    if (!(mass > 0.0) || !isfinite(mass))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'mass' is %g, not a "
                        "finite positive mass", fn, mass);
    bw_hyp h0 = bw_make(&tf->p, tf->p.ref_mass), h = bw_make(&tf->p, mass);
    for (size_t i = 0; i < n; i++) {
        double s = m_gen[i] * m_gen[i];
        w_out[i] = bw_den(&tf->p, h0, s) / bw_den(&tf->p, h, s);
    }
    return WR_OK;
}

/* --------------------------------------------------------------- storage */
static bool size3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    return wr__mul_size(a, b, &ab) && wr__mul_size(ab, c, out);
}

static void free_storage(wr_template_fit *tf)
{
    free(tf->T);
    free(tf->T2);
    free(tf->D);
    free(tf->D2);
    tf->T = tf->T2 = tf->D = tf->D2 = NULL;
    tf->filled = false;
}

/* Allocates the zeroed histograms for the current parameters. */
static wr_status ensure_storage(wr_template_fit *tf)
{
    if (tf->filled) return WR_OK;
    size_t R = (size_t)tf->p.bootstrap, S = (size_t)tf->p.data_sets;
    bool bb = tf->p.bb_lite != 0;
    /* the matrix products address a bin row with an int stride */
    if ((double)tf->B * (double)tf->H > 2147483647.0)
        return wr__fail(WR_ERR_INVALID_ARG, "tfit: %zu bins x %zu masses is "
                        "too large (at most 2^31 - 1)", tf->B, tf->H);
    size_t nT, nT2, nD, nD2;
    if (!size3(R + 1, tf->B, tf->H, &nT) ||
        !size3(bb ? R + 1 : 1, tf->B, tf->H, &nT2) ||
        !size3(S, R + 1, tf->B, &nD) || !wr__mul_size(S, tf->B, &nD2))
        return wr__fail(WR_ERR_NOMEM, "tfit: histogram size overflows "
                        "(bootstrap x bins x masses)");
    tf->T = wr__calloc_array(nT, sizeof(double), "tfit templates");
    tf->T2 = wr__calloc_array(nT2, sizeof(double), "tfit template sumw2");
    tf->D = wr__calloc_array(nD, sizeof(double), "tfit data");
    tf->D2 = wr__calloc_array(nD2, sizeof(double), "tfit data sumw2");
    if (!tf->T || !tf->T2 || !tf->D || !tf->D2) {
        free_storage(tf);
        return WR_ERR_NOMEM;
    }
    tf->R = R;
    tf->S = S;
    tf->bb_stored = bb;
    tf->filled = true;
    return WR_OK;
}

const double *wr__tfit_slot_T(const wr_template_fit *tf, size_t slot)
{
    return tf->T + slot * tf->B * tf->H;
}

const double *wr__tfit_slot_T2(const wr_template_fit *tf, size_t slot)
{
    if (slot && !tf->bb_stored) return NULL;
    return tf->T2 + slot * tf->B * tf->H;
}

const double *wr__tfit_slot_D(const wr_template_fit *tf, size_t set,
                              size_t slot)
{
    return tf->D + (set * (tf->R + 1) + slot) * tf->B;
}

/* ------------------------------------------------------------------ fill */
/* Events are processed in blocks.  Templates: the events of a block are
 * sorted by bin (stable), each gets its row of reweighted weights
 * (one per grid mass) and its row of bootstrap weights (1 for the nominal
 * slot, then k_1..k_R), and every bin is one matrix product
 *     T[slot][bin][mass] += sum_events K[event][slot] W[event][mass]
 * (cblas_dgemm, split so that each call stays below OpenBLAS's own
 * threading threshold: the parallelism is ours, over bins, and each bin is
 * always summed by the same calls, whatever the thread count).  Data: one
 * weight per event, scattered per slot. */
#define TF_KMAX 24
#define TF_GEMM_WORK 200000.0
#define TF_GEMV_WORK ((size_t)8000)

/* Poisson(1) cdf as integer thresholds on 32-bit uniforms v (each 64-bit
 * xoshiro output gives two: its high half for replica 2q, its low half for
 * replica 2q + 1): k = #{j : v >= t_j}, t_j = ceil(F_j 2^32), i.e. v 2^-32
 * >= F_j exactly; the resolution 2^-32 only truncates k at 12 (P(k > 12)
 * = 6e-11).  Reproducible outside the library (bench/tfit.py). */
static void poisson1_thresholds(uint64_t t[TF_KMAX])
{
    double p = 0.36787944117144233; /* exp(-1), correctly rounded */
    double c = p;
    for (int k = 0; k < TF_KMAX - 1; k++) {
        t[k] = (uint64_t)ceil(c * 0x1.0p32);
        p /= (double)(k + 1);
        c += p;
    }
    t[TF_KMAX - 1] = UINT64_MAX; /* never reached: caps k */
}

static inline unsigned poisson1(const uint64_t t[TF_KMAX], uint64_t v)
{
    /* branch-free for k < 4 (98 % of draws), loop for the tail */
    unsigned k = (unsigned)(v >= t[0]) + (v >= t[1]) + (v >= t[2]) + (v >= t[3]);
    if (k == 4)
        while (v >= t[k]) k++;
    return k;
}

#define TF_HI(u) ((u) >> 32)
#define TF_LO(u) ((u) & 0xffffffffu)

typedef struct fill_ctx {
    const wr_template_fit *tf;
    const double *x, *m, *w; /* observables, generator masses, weights */
    const uint64_t *ids;
    const double *wd;        /* data weights, n x wd_stride (NULL: all 1) */
    size_t wd_stride, set0, n_sets, set; /* data sets set0 .. +n_sets */
    size_t base, nblk, H, R;
    bool templates, bb;
    const double *hM2, *hC; /* per grid mass: M^2 and the width term c */
    uint64_t thr[TF_KMAX];
    long *bin, *pos;      /* per event of the block */
    size_t *cnt, *off;    /* per bin (counting sort; NULL for huge binnings) */
    uint64_t *keys;       /* (bin, event) keys of the other sort */
    size_t *run_bin, *run_off, *run_cnt, n_runs; /* non-empty bins */
    double *wr, *wr2;     /* rows of H weights (templates: sorted order) */
    double *Kd, *Kd2;     /* templates: sorted rows of R+1 bootstrap weights */
    uint8_t *K;           /* rows of R bootstrap weights (block order) */
    size_t kc;            /* events per matrix product */
    double *dw, *dw2;     /* data weight and its square per event */
    double *dst, *dst2_nom, *dst2_rep; /* templates */
    size_t stride;        /* between slots of dst / dst2_rep */
} fill_ctx;

static void fill_bins(void *vctx, size_t begin, size_t end, int tid)
{
    fill_ctx *c = vctx;
    for (size_t e = begin; e < end; e++)
        c->bin[e] = event_bin(c->tf, c->x + (c->base + e) * c->tf->dim);
    (void)tid;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void add_run(fill_ctx *c, size_t bin, size_t off)
{
    c->run_bin[c->n_runs] = bin;
    c->run_off[c->n_runs] = off;
    c->run_cnt[c->n_runs++] = 0;
}

/* Stable sort of the block's events by bin into runs of one bin: counting
 * sort when the bins are few compared with the block, else a sort of
 * (bin, event) keys (huge 2D binnings). */
static void fill_sort(fill_ctx *c)
{
    const size_t B = c->tf->B;
    c->n_runs = 0;
    if (c->cnt) {
        memset(c->cnt, 0, B * sizeof *c->cnt);
        for (size_t e = 0; e < c->nblk; e++)
            if (c->bin[e] >= 0) c->cnt[c->bin[e]]++;
        size_t o = 0;
        for (size_t b = 0; b < B; b++) {
            if (c->cnt[b]) {
                add_run(c, b, o);
                c->run_cnt[c->n_runs - 1] = c->cnt[b];
            }
            c->off[b] = o;
            o += c->cnt[b];
        }
        for (size_t e = 0; e < c->nblk; e++) {
            long b = c->bin[e];
            c->pos[e] = b < 0 ? -1 : (long)c->off[b]++;
        }
        return;
    }
    size_t m = 0;
    for (size_t e = 0; e < c->nblk; e++) {
        c->pos[e] = -1;
        if (c->bin[e] >= 0) c->keys[m++] = ((uint64_t)c->bin[e] << 32) | e;
    }
    qsort(c->keys, m, sizeof *c->keys, cmp_u64);
    for (size_t p = 0; p < m; p++) {
        size_t b = (size_t)(c->keys[p] >> 32), e = (size_t)(c->keys[p] & 0xffffffffu);
        if (p == 0 || b != c->run_bin[c->n_runs - 1]) add_run(c, b, p);
        c->run_cnt[c->n_runs - 1]++;
        c->pos[e] = (long)p;
    }
}

/* The bootstrap draws R numbers per event (1e8 in the benchmark) with the
 * core generator stepped inline (wr__rng_step) on copies of wr__rng states;
 * tests/test_tfit.c checks the stream equals wr__rng_u64's. */
uint64_t wr__tfit_stream_u64(wr__rng *g) { return wr__rng_step(g->s); }

/* The R bootstrap weights (bytes) of g <= 4 events of the block; four
 * streams are interleaved so that the CPU overlaps their dependency
 * chains (the draws dominate the fill otherwise). */
static void draw_group(const fill_ctx *c, const size_t *ev, size_t g)
{
    uint64_t st[4][4];
    uint8_t *out[4];
    const size_t R = c->R;
    for (size_t j = 0; j < g; j++) {
        wr__rng r;
        wr__rng_seed(&r, (uint64_t)c->tf->p.seed, c->ids[c->base + ev[j]]);
        memcpy(st[j], r.s, sizeof r.s);
        out[j] = c->K + ev[j] * R;
    }
    const uint64_t *t = c->thr;
    size_t r = 0;
    if (g == 4) {
        for (; r + 1 < R; r += 2) {
            uint64_t u0 = wr__rng_step(st[0]), u1 = wr__rng_step(st[1]),
                     u2 = wr__rng_step(st[2]), u3 = wr__rng_step(st[3]);
            out[0][r] = (uint8_t)poisson1(t, TF_HI(u0));
            out[0][r + 1] = (uint8_t)poisson1(t, TF_LO(u0));
            out[1][r] = (uint8_t)poisson1(t, TF_HI(u1));
            out[1][r + 1] = (uint8_t)poisson1(t, TF_LO(u1));
            out[2][r] = (uint8_t)poisson1(t, TF_HI(u2));
            out[2][r + 1] = (uint8_t)poisson1(t, TF_LO(u2));
            out[3][r] = (uint8_t)poisson1(t, TF_HI(u3));
            out[3][r + 1] = (uint8_t)poisson1(t, TF_LO(u3));
        }
    }
    for (size_t j = 0; j < g; j++) {
        size_t q = r;
        for (; q + 1 < R; q += 2) {
            uint64_t u = wr__rng_step(st[j]);
            out[j][q] = (uint8_t)poisson1(t, TF_HI(u));
            out[j][q + 1] = (uint8_t)poisson1(t, TF_LO(u));
        }
        if (q < R) out[j][q] = (uint8_t)poisson1(t, TF_HI(wr__rng_step(st[j])));
    }
}

/* Bootstrap weights of the block's events inside the binning. */
static void fill_draws(void *vctx, size_t begin, size_t end, int tid)
{
    fill_ctx *c = vctx;
    size_t ev[4], g = 0;
    for (size_t e = begin; e < end; e++) {
        if (c->bin[e] < 0) continue;
        ev[g++] = e;
        if (g == 4) {
            draw_group(c, ev, g);
            g = 0;
        }
    }
    if (g) draw_group(c, ev, g);
    (void)tid;
}

/* Template rows at the sorted positions: Breit-Wigner weights and the
 * bootstrap weights of the stream (seed, event id). */
/* row[h] = d0 / den_h(s), den_h = (s - M_h^2)^2 + s2 c_h with s2 = s^2
 * (running width) or 1 (fixed; the product by 1 is exact): the same
 * operations as bw_den, two masses per SSE2 division where available. */
static void bw_row(const double *hM2, const double *hC, size_t H, double s,
                   double s2, double d0, double *row)
{
    size_t h = 0;
#if defined(__SSE2__)
    const __m128d vs = _mm_set1_pd(s), vs2 = _mm_set1_pd(s2), vd0 = _mm_set1_pd(d0);
    for (; h + 2 <= H; h += 2) {
        __m128d d = _mm_sub_pd(vs, _mm_loadu_pd(hM2 + h));
        __m128d den = _mm_add_pd(_mm_mul_pd(d, d), _mm_mul_pd(vs2, _mm_loadu_pd(hC + h)));
        _mm_storeu_pd(row + h, _mm_div_pd(vd0, den));
    }
#endif
    for (; h < H; h++) {
        double d = s - hM2[h];
        row[h] = d0 / (d * d + s2 * hC[h]);
    }
}

/* dst[r] = (double)src[r]: the bootstrap weights as matrix entries. */
static void u8_to_f64(const uint8_t *src, double *dst, size_t n)
{
    size_t r = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; r + 8 <= n; r += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(src + r));
        __m128i w = _mm_unpacklo_epi8(b, zero);
        __m128i lo = _mm_unpacklo_epi16(w, zero), hi = _mm_unpackhi_epi16(w, zero);
        _mm_storeu_pd(dst + r, _mm_cvtepi32_pd(lo));
        _mm_storeu_pd(dst + r + 2, _mm_cvtepi32_pd(_mm_srli_si128(lo, 8)));
        _mm_storeu_pd(dst + r + 4, _mm_cvtepi32_pd(hi));
        _mm_storeu_pd(dst + r + 6, _mm_cvtepi32_pd(_mm_srli_si128(hi, 8)));
    }
#endif
    for (; r < n; r++) dst[r] = (double)src[r];
}

static void fill_template_rows(void *vctx, size_t begin, size_t end, int tid)
{
    fill_ctx *c = vctx;
    const wr_template_fit *tf = c->tf;
    const size_t H = c->H, R1 = c->R + 1;
    const bw_hyp h0 = bw_make(&tf->p, tf->p.ref_mass);
    const bool running = tf->p.width_mode == TF_WIDTH_RUNNING;
    for (size_t e = begin; e < end; e++) {
        if (c->pos[e] < 0) continue;
        size_t i = c->base + e, p = (size_t)c->pos[e];
        double s = c->m[i] * c->m[i];
        double d0 = (c->w ? c->w[i] : 1.0) * bw_den(&tf->p, h0, s);
        double *row = c->wr + p * H;
        bw_row(c->hM2, c->hC, H, s, running ? s * s : 1.0, d0, row);
        if (c->bb)
            for (size_t h = 0; h < H; h++) c->wr2[p * H + h] = row[h] * row[h];
        /* bootstrap weights as a matrix row: 1 for the nominal slot */
        double *kd = c->Kd + p * R1, *kd2 = c->bb ? c->Kd2 + p * R1 : NULL;
        kd[0] = 1.0;
        u8_to_f64(c->K + e * c->R, kd + 1, c->R);
        if (kd2)
            for (size_t r = 0; r <= c->R; r++) kd2[r] = kd[r] * kd[r];
    }
    (void)tid;
}

static void gemm_add(const fill_ctx *c, const double *K, const double *W,
                     size_t n, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(c->R + 1),
                (int)c->H, (int)n, 1.0, K, (int)(c->R + 1), W, (int)c->H, 1.0,
                C, (int)c->stride);
}

static void fill_template_bins(void *vctx, size_t begin, size_t end, int tid)
{
    fill_ctx *c = vctx;
    const size_t H = c->H, R1 = c->R + 1;
    for (size_t r = begin; r < end; r++) {
        size_t b = c->run_bin[r], o = c->run_off[r], n = c->run_cnt[r];
        for (size_t q = 0; q < n; q += c->kc) {
            size_t k = n - q < c->kc ? n - q : c->kc;
            gemm_add(c, c->Kd + (o + q) * R1, c->wr + (o + q) * H, k,
                     c->dst + b * H);
            if (c->bb)
                gemm_add(c, c->Kd2 + (o + q) * R1, c->wr2 + (o + q) * H, k,
                         c->dst2_rep + b * H);
        }
        if (!c->bb) { /* nominal sum of w^2 only */
            double *row2 = c->dst2_nom + b * H;
            for (size_t p = o; p < o + n; p++)
                for (size_t h = 0; h < H; h++)
                    row2[h] += c->wr[p * H + h] * c->wr[p * H + h];
        }
    }
    (void)tid;
}

/* Data: weight of the current set and its square per event of the binning,
 * at row e of the block, or (`sorted`) at the event's place in bin order. */
static void data_weights(fill_ctx *c, size_t begin, size_t end, bool sorted)
{
    for (size_t e = begin; e < end; e++) {
        long at = sorted ? c->pos[e] : c->bin[e] < 0 ? -1 : (long)e;
        if (at < 0) continue;
        size_t i = c->base + e;
        double w = c->wd ? c->wd[i * c->wd_stride + (c->set - c->set0)] : 1.0;
        c->dw[at] = w;
        c->dw2[at] = w * w;
    }
}

static void fill_data_rows(void *vctx, size_t begin, size_t end, int tid)
{
    data_weights(vctx, begin, end, false);
    (void)tid;
}

/* Data filled with the templates (wr_tfit_add_events): the events are
 * already sorted by bin with their bootstrap rows, so every bin is one
 * matrix-vector product D[slot][bin] += sum_events K[event][slot] w[event]
 * (chunks below OpenBLAS's threading threshold, as for the templates). */
static void fill_data_sorted_rows(void *vctx, size_t begin, size_t end, int tid)
{
    data_weights(vctx, begin, end, true);
    (void)tid;
}

static void fill_data_runs(void *vctx, size_t begin, size_t end, int tid)
{
    fill_ctx *c = vctx;
    const wr_template_fit *tf = c->tf;
    const size_t R1 = c->R + 1, B = tf->B;
    double *D = tf->D + c->set * R1 * B, *D2 = tf->D2 + c->set * B;
    size_t kv = TF_GEMV_WORK / R1 ? TF_GEMV_WORK / R1 : 1;
    for (size_t r = begin; r < end; r++) {
        size_t b = c->run_bin[r], o = c->run_off[r], n = c->run_cnt[r];
        for (size_t q = 0; q < n; q += kv) {
            size_t k = n - q < kv ? n - q : kv;
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)k, (int)R1, 1.0,
                        c->Kd + (o + q) * R1, (int)R1, c->dw + o + q, 1, 1.0,
                        D + b, (int)B);
        }
        for (size_t p = o; p < o + n; p++) D2[b] += c->dw2[p];
    }
    (void)tid;
}

/* Data, per range of slots (each slot owned by one thread, events added
 * in order, so the sums do not depend on the thread count). */
static void fill_data_slots(void *vctx, size_t begin, size_t end, int tid)
{
    fill_ctx *c = vctx;
    const wr_template_fit *tf = c->tf;
    const size_t R = c->R, B = tf->B;
    double *D = tf->D + c->set * (R + 1) * B, *D2 = tf->D2 + c->set * B;
    for (size_t e = 0; e < c->nblk; e++) {
        long b = c->bin[e];
        if (b < 0) continue;
        const double w = c->dw[e];
        const uint8_t *k = c->K + e * R;
        double *d = D + (size_t)b;
        size_t s = begin;
        if (s == 0) d[s++ * B] += w;
        for (; s < end; s++) d[s * B] += (double)k[s - 1] * w; /* + 0 is exact */
        if (begin == 0) D2[b] += c->dw2[e];
    }
    (void)tid;
}

static wr_status check_chunk(const char *fn, const wr_template_fit *tf,
                             const double *x, const double *w,
                             const uint64_t *ids, size_t n)
{
    if (n > ((size_t)1 << 40))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' is too large", fn);
    wr_status st = wr__check_ptr(fn, "x", x);
    if (!st) st = wr__check_finite_d(fn, "x", x, n * tf->dim);
    if (!st && w) st = wr__check_finite_d(fn, "w", w, n);
    if (st) return st;
    if (!ids && tf->p.bootstrap > 0)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'ids' is NULL but "
                        "bootstrap=%lld needs event ids", fn,
                        (long long)tf->p.bootstrap);
    return WR_OK;
}

static void fill_scratch_free(fill_ctx *c)
{
    free(c->bin);
    free(c->pos);
    free(c->cnt);
    free(c->off);
    free(c->keys);
    free(c->run_bin);
    free(c->run_off);
    free(c->run_cnt);
    free(c->wr);
    free(c->wr2);
    free(c->Kd);
    free(c->Kd2);
    free(c->K);
    free(c->dw);
    free(c->dw2);
}

static wr_status fill_scratch(fill_ctx *c, size_t blk)
{
    const size_t H = c->H, R1 = c->R + 1, B = c->tf->B;
    const char *what = "tfit fill scratch";
    c->bin = wr__alloc_array(blk, sizeof(long), what);
    c->pos = wr__alloc_array(blk, sizeof(long), what);
    bool counting = B <= 16 * blk;
    c->cnt = counting ? wr__alloc_array(B, sizeof(size_t), what) : NULL;
    c->off = counting ? wr__alloc_array(B, sizeof(size_t), what) : NULL;
    c->keys = counting ? NULL : wr__alloc_array(blk, sizeof(uint64_t), what);
    c->run_bin = wr__alloc_array(blk, sizeof(size_t), what);
    c->run_off = wr__alloc_array(blk, sizeof(size_t), what);
    c->run_cnt = wr__alloc_array(blk, sizeof(size_t), what);
    c->wr = wr__alloc_array(blk * H, sizeof(double), what);
    c->wr2 = wr__alloc_array(blk * H, sizeof(double), what);
    c->Kd = c->templates ? wr__alloc_array(blk * R1, sizeof(double), what) : NULL;
    c->Kd2 = c->templates && c->bb ? wr__alloc_array(blk * R1, sizeof(double), what)
                                   : NULL;
    c->K = wr__alloc_array(blk * (c->R ? c->R : 1), 1, what);
    c->dw = wr__alloc_array(blk, sizeof(double), what);
    c->dw2 = wr__alloc_array(blk, sizeof(double), what);
    bool ok = c->bin && c->pos && (counting ? c->cnt && c->off : c->keys != NULL) &&
              c->run_bin && c->run_off && c->run_cnt && c->wr && c->wr2 &&
              c->K && c->dw && c->dw2 &&
              (!c->templates || (c->Kd && (!c->bb || c->Kd2)));
    if (ok) return WR_OK;
    fill_scratch_free(c);
    return WR_ERR_NOMEM;
}

/* Runs the fill steps block by block. */
static wr_status fill_run(fill_ctx *c, size_t n)
{
    const wr_template_fit *tf = c->tf;
    c->R = tf->R;
    /* block: ~16 MB of weight rows at most, 256 .. 8192 events */
    size_t per_event = 8 * (c->H * 2 + 2 * (c->R + 1)) + 16;
    size_t blk = ((size_t)16 << 20) / per_event;
    blk = blk < 256 ? 256 : blk > 8192 ? 8192 : blk;
    if (n < blk) blk = n ? n : 1;
    double kc = TF_GEMM_WORK / ((double)(c->R + 1) * (double)c->H);
    c->kc = kc < 1.0 ? 1 : (size_t)kc;
    wr_status st = fill_scratch(c, blk);
    if (st) return st;
    wr__pool *pool = NULL;
    int nt = wr__resolve_threads((int)tf->p.threads);
    double work = (double)n * (double)c->H * (double)(c->R + 1);
    if (nt > 1 && work > 2e5) pool = wr__pool_create(nt);
    poisson1_thresholds(c->thr);
    for (size_t base = 0; base < n; base += blk) {
        c->base = base;
        c->nblk = n - base < blk ? n - base : blk;
        wr__pool_for(pool, c->nblk, 512, fill_bins, c);
        if (c->R) wr__pool_for(pool, c->nblk, 256, fill_draws, c);
        if (c->templates) {
            fill_sort(c);
            wr__pool_for(pool, c->nblk, 256, fill_template_rows, c);
            wr__pool_for(pool, c->n_runs, 1, fill_template_bins, c);
            for (c->set = c->set0; c->set < c->set0 + c->n_sets; c->set++) {
                wr__pool_for(pool, c->nblk, 256, fill_data_sorted_rows, c);
                wr__pool_for(pool, c->n_runs, 1, fill_data_runs, c);
            }
            continue;
        }
        for (c->set = c->set0; c->set < c->set0 + c->n_sets; c->set++) {
            wr__pool_for(pool, c->nblk, 256, fill_data_rows, c);
            wr__pool_for(pool, c->R + 1, 16, fill_data_slots, c);
        }
    }
    wr__pool_free(pool);
    fill_scratch_free(c);
    return WR_OK;
}

/* Fills templates (when m_gen) and data sets set0 .. set0+n_sets-1 with
 * weights wd (n x n_sets; NULL: all 1) in one pass: the bins and the
 * bootstrap weights are computed once for both. */
static wr_status fill(wr_template_fit *tf, const double *x, const double *m_gen,
                      const double *w, const uint64_t *ids, size_t n,
                      const double *wd, size_t set0, size_t n_sets)
{
    double *hyp = NULL; /* M_h^2 then c_h of every grid mass */
    if (m_gen) {
        hyp = wr__alloc_array(2 * tf->H, sizeof *hyp, "tfit hypotheses");
        if (!hyp) return WR_ERR_NOMEM;
        for (size_t h = 0; h < tf->H; h++) {
            bw_hyp b = bw_make(&tf->p, tf->masses[h]);
            hyp[h] = b.M2;
            hyp[tf->H + h] = b.c;
        }
    }
    bool was_filled = tf->filled;
    wr_status st = ensure_storage(tf);
    if (!st) {
        fill_ctx c = {.tf = tf, .x = x, .m = m_gen, .w = w, .ids = ids,
                      .wd = wd, .wd_stride = n_sets, .set0 = set0,
                      .n_sets = n_sets, .H = m_gen ? tf->H : 1,
                      .templates = m_gen != NULL, .bb = tf->bb_stored,
                      .hM2 = hyp, .hC = hyp ? hyp + tf->H : NULL,
                      .dst = tf->T, .dst2_nom = tf->T2,
                      .dst2_rep = tf->bb_stored ? tf->T2 : NULL,
                      .stride = tf->B * tf->H};
        st = fill_run(&c, n);
        if (st && !was_filled) free_storage(tf);
    }
    free(hyp);
    return st;
}

wr_status wr_tfit_add_templates(wr_template_fit *tf, const double *x,
                                const double *m_gen, const double *w,
                                const uint64_t *ids, size_t n)
{
    const char *fn = "wr_tfit_add_templates";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = check_chunk(fn, tf, x, w, ids, n);
    if (!st) st = check_masses(fn, m_gen, n);
    if (st) return st;
    return fill(tf, x, m_gen, w, ids, n, NULL, 0, 0);
}

wr_status wr_tfit_add_data(wr_template_fit *tf, size_t set, const double *x,
                           const double *w, const uint64_t *ids, size_t n)
{
    const char *fn = "wr_tfit_add_data";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = check_chunk(fn, tf, x, w, ids, n);
    if (st) return st;
    if (set >= (size_t)tf->p.data_sets)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'set' is %zu, "
                        "data_sets=%lld", fn, set, (long long)tf->p.data_sets);
    return fill(tf, x, NULL, NULL, ids, n, w, set, 1);
}

wr_status wr_tfit_add_events(wr_template_fit *tf, const double *x,
                             const double *m_gen, const double *w,
                             const uint64_t *ids, size_t n,
                             const double *w_data, size_t n_sets)
{
    const char *fn = "wr_tfit_add_events";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = check_chunk(fn, tf, x, w, ids, n);
    if (!st) st = check_masses(fn, m_gen, n);
    if (st) return st;
    if (n_sets > (size_t)tf->p.data_sets || (n_sets && !w_data))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_sets' is %zu "
                        "(data_sets=%lld, w_data %s)", fn, n_sets,
                        (long long)tf->p.data_sets, w_data ? "given" : "NULL");
    if (n_sets && (st = wr__check_finite_d(fn, "w_data", w_data, n * n_sets)))
        return st;
    return fill(tf, x, m_gen, w, ids, n, w_data, 0, n_sets);
}

wr_status wr_tfit_set_data_histogram(wr_template_fit *tf, size_t set,
                                     const double *counts, size_t n_bins)
{
    const char *fn = "wr_tfit_set_data_histogram";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = wr__check_ptr(fn, "counts", counts);
    if (st) return st;
    if (set >= (size_t)tf->p.data_sets)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'set' is %zu, "
                        "data_sets=%lld", fn, set, (long long)tf->p.data_sets);
    if (n_bins != tf->B)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_bins' is %zu, "
                        "the binning has %zu bins", fn, n_bins, tf->B);
    for (size_t b = 0; b < n_bins; b++)
        if (!(counts[b] >= 0.0) || !isfinite(counts[b]))
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'counts': value "
                            "%g at index %zu is not finite and >= 0",
                            fn, counts[b], b);
    if ((st = ensure_storage(tf))) return st;
    for (size_t s = 0; s <= tf->R; s++)
        memcpy(tf->D + (set * (tf->R + 1) + s) * tf->B, counts,
               n_bins * sizeof *counts);
    memcpy(tf->D2 + set * tf->B, counts, n_bins * sizeof *counts);
    return WR_OK;
}

void wr_tfit_reset(wr_template_fit *tf)
{
    if (!tf) return;
    free_storage(tf);
    free(tf->scan_m);
    free(tf->scan_v);
    tf->scan_m = tf->scan_v = NULL;
    tf->n_scan = 0;
    tf->has_fit = false;
}

/* ------------------------------------------------------------- read back */
wr_status wr_tfit_histogram(const wr_template_fit *tf, int what, size_t index,
                            double *out, size_t n_bins)
{
    const char *fn = "wr_tfit_histogram";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = wr__check_ptr(fn, "out", out);
    if (st) return st;
    if (n_bins != tf->B)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_bins' is %zu, "
                        "the binning has %zu bins", fn, n_bins, tf->B);
    bool tmpl = what == WR_TFIT_TEMPLATE || what == WR_TFIT_TEMPLATE_SUMW2;
    if (!tmpl && what != WR_TFIT_DATA && what != WR_TFIT_DATA_SUMW2)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'what' is %d, not a "
                        "WR_TFIT_* histogram kind", fn, what);
    size_t lim = tmpl ? tf->H : (size_t)tf->p.data_sets;
    if (index >= lim)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'index' is %zu, "
                        "must be < %zu", fn, index, lim);
    if (!tf->filled) {
        memset(out, 0, n_bins * sizeof *out);
        return WR_OK;
    }
    for (size_t b = 0; b < n_bins; b++) {
        switch (what) {
        case WR_TFIT_TEMPLATE: out[b] = tf->T[b * tf->H + index]; break;
        case WR_TFIT_TEMPLATE_SUMW2: out[b] = tf->T2[b * tf->H + index]; break;
        case WR_TFIT_DATA: out[b] = wr__tfit_slot_D(tf, index, 0)[b]; break;
        default: out[b] = tf->D2[index * tf->B + b]; break;
        }
    }
    return WR_OK;
}

wr_status wr_tfit_template_at(const wr_template_fit *tf, double mass,
                              double *out, size_t n_bins)
{
    const char *fn = "wr_tfit_template_at";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = wr__check_ptr(fn, "out", out);
    if (st) return st;
    if (n_bins != tf->B)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_bins' is %zu, "
                        "the binning has %zu bins", fn, n_bins, tf->B);
    if (!(mass >= tf->masses[0] && mass <= tf->masses[tf->H - 1]))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'mass' %g is outside "
                        "the grid [%g, %g]", fn, mass, tf->masses[0],
                        tf->masses[tf->H - 1]);
    if (!tf->filled)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: no template events added", fn);
    return wr__tfit_interp(tf, tf->T, mass, out);
}

/* ----------------------------------------------------------------- merge */
static bool same_layout(const wr_template_fit *a, const wr_template_fit *b)
{
    if (a->dim != b->dim || a->B != b->B || a->H != b->H) return false;
    for (size_t ax = 0; ax < a->dim; ax++)
        if (a->nb[ax] != b->nb[ax] ||
            memcmp(a->edges[ax], b->edges[ax], (a->nb[ax] + 1) * sizeof(double)))
            return false;
    return !memcmp(a->masses, b->masses, a->H * sizeof(double)) &&
           same_filling(&a->p, &b->p);
}

static void add_into(double *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

wr_status wr_tfit_merge(wr_template_fit *tf, const wr_template_fit *other)
{
    wr_status st = wr__check_ptr("wr_tfit_merge", "tf", tf);
    if (!st) st = wr__check_ptr("wr_tfit_merge", "other", other);
    if (st) return st;
    if (tf == other)
        return wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_merge: 'other' is 'tf'");
    if (!same_layout(tf, other))
        return wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_merge: argument 'other' "
                        "has another binning, mass grid or filling parameters");
    if (!other->filled) return WR_OK;
    if ((st = ensure_storage(tf))) return st;
    size_t nT = (tf->R + 1) * tf->B * tf->H;
    add_into(tf->T, other->T, nT);
    add_into(tf->T2, other->T2, (tf->bb_stored ? tf->R + 1 : 1) * tf->B * tf->H);
    add_into(tf->D, other->D, tf->S * (tf->R + 1) * tf->B);
    add_into(tf->D2, other->D2, tf->S * tf->B);
    return WR_OK;
}

void wr_tfit_set_progress(wr_template_fit *tf, wr_progress_fn fn,
                          void *user_data)
{
    if (!tf) return;
    tf->progress = fn;
    tf->progress_user = user_data;
}

/* ------------------------------------------------------- serialisation */
#define TF_KIND_VERSION 1u

static wr_status tf_serialise(const wr_template_fit *tf, wr__writer *w)
{
    wr__params_write(w, &tf_table, &tf->p);
    wr__w_u64(w, tf->n_explicit);
    if (tf->grid_explicit) wr__w_f64s(w, tf->grid_explicit, tf->n_explicit);
    wr__w_u64(w, tf->dim);
    for (size_t ax = 0; ax < tf->dim; ax++) {
        wr__w_u64(w, tf->nb[ax] + 1);
        wr__w_f64s(w, tf->edges[ax], tf->nb[ax] + 1);
    }
    wr__w_u8(w, tf->filled);
    if (tf->filled) {
        wr__w_f64s(w, tf->T, (tf->R + 1) * tf->B * tf->H);
        wr__w_f64s(w, tf->T2, (tf->bb_stored ? tf->R + 1 : 1) * tf->B * tf->H);
        wr__w_f64s(w, tf->D, tf->S * (tf->R + 1) * tf->B);
        wr__w_f64s(w, tf->D2, tf->S * tf->B);
    }
    return wr__w_status(w);
}

wr_status wr_tfit_to_bytes(const wr_template_fit *tf, void **buf, size_t *size)
{
    wr_status st = wr__check_ptr("wr_tfit_to_bytes", "tf", tf);
    if (!st) st = wr__check_ptr("wr_tfit_to_bytes", "buf", buf);
    if (!st) st = wr__check_ptr("wr_tfit_to_bytes", "size", size);
    if (st) return st;
    wr__writer w;
    wr__w_init(&w);
    st = tf_serialise(tf, &w);
    if (!st)
        st = wr__container_pack(WR_KIND_TEMPLATE_FIT, TF_KIND_VERSION, w.data,
                                w.size, buf, size);
    wr__w_free(&w);
    return st;
}

wr_status wr_tfit_save(const wr_template_fit *tf, const char *path)
{
    wr_status st = wr__check_ptr("wr_tfit_save", "tf", tf);
    if (!st) st = wr__check_ptr("wr_tfit_save", "path", path);
    if (st) return st;
    wr__writer w;
    wr__w_init(&w);
    st = tf_serialise(tf, &w);
    if (!st)
        st = wr__container_save_file(path, WR_KIND_TEMPLATE_FIT,
                                     TF_KIND_VERSION, w.data, w.size);
    wr__w_free(&w);
    return st;
}

/* Reads the binning and parameters, then the histograms. */
static wr_status tf_read_layout(wr__reader *r, wr_template_fit **out)
{
    tf_params p;
    wr__params_defaults(&tf_table, &p);
    wr_status st = wr__params_read(r, &tf_table, &p);
    if (st) return st;
    size_t ne = wr__r_count(r, sizeof(double), 100001);
    double *expl = ne ? wr__alloc_array(ne, sizeof *expl, "grid") : NULL;
    if (ne && !expl) return WR_ERR_NOMEM;
    if (expl) wr__r_f64s(r, expl, ne);
    uint64_t dim = wr__r_u64(r);
    double *e[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    for (uint64_t ax = 0; ax < dim && ax < 2; ax++) {
        n[ax] = wr__r_count(r, sizeof(double), (size_t)1 << 24);
        e[ax] = wr__alloc_array(n[ax], sizeof(double), "edges");
        if (e[ax]) wr__r_f64s(r, e[ax], n[ax]);
    }
    st = wr__r_status(r, "tfit payload", false);
    if (!st && (dim < 1 || dim > 2))
        st = wr__fail(WR_ERR_FORMAT, "tfit payload: dimension %llu",
                      (unsigned long long)dim);
    if (!st) st = wr_tfit_create(e[0], n[0], e[1], n[1], out);
    if (!st) st = commit(*out, &p, NULL, 0);
    if (!st && expl) st = wr_tfit_set_mass_grid(*out, expl, ne);
    if (st && st != WR_ERR_NOMEM) st = WR_ERR_FORMAT; /* message kept */
    free(expl);
    free(e[0]);
    free(e[1]);
    return st;
}

/* Loaded histograms: finite contents (weights may be negative), sums of
 * squared weights >= 0; a NaN would otherwise reach every fit silently. */
static wr_status check_histograms(const wr_template_fit *tf)
{
    const struct {
        const double *v;
        size_t n;
        bool sumw2;
        const char *what;
    } h[4] = {
        {tf->T, (tf->R + 1) * tf->B * tf->H, false, "template"},
        {tf->T2, (tf->bb_stored ? tf->R + 1 : 1) * tf->B * tf->H, true, "template sumw2"},
        {tf->D, tf->S * (tf->R + 1) * tf->B, false, "data"},
        {tf->D2, tf->S * tf->B, true, "data sumw2"},
    };
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < h[k].n; i++)
            if (!isfinite(h[k].v[i]) || (h[k].sumw2 && h[k].v[i] < 0.0))
                return wr__fail(WR_ERR_FORMAT, "tfit payload: %s histogram "
                                "value %g at index %zu is not %s", h[k].what,
                                h[k].v[i], i,
                                h[k].sumw2 ? "finite and >= 0" : "finite");
    return WR_OK;
}

static wr_status tf_deserialise(const void *payload, size_t size,
                                wr_template_fit **out)
{
    wr__reader r;
    wr__r_init(&r, payload, size);
    wr_template_fit *tf = NULL;
    wr_status st = tf_read_layout(&r, &tf);
    if (st) {
        wr_tfit_free(tf);
        return st;
    }
    if (wr__r_u8(&r)) {
        /* check the sizes against the payload before allocating them */
        double need = 8.0 * (double)tf->B * ((double)(tf->p.bootstrap + 1) *
                      ((double)tf->H * (tf->p.bb_lite ? 2.0 : 1.0) +
                       (double)tf->p.data_sets) + (double)tf->p.data_sets +
                      (tf->p.bb_lite ? 0.0 : (double)tf->H));
        if (need > (double)wr__r_left(&r))
            st = wr__fail(WR_ERR_FORMAT, "tfit payload: histograms truncated");
        if (!st && !(st = ensure_storage(tf))) {
            wr__r_f64s(&r, tf->T, (tf->R + 1) * tf->B * tf->H);
            wr__r_f64s(&r, tf->T2, (tf->bb_stored ? tf->R + 1 : 1) * tf->B * tf->H);
            wr__r_f64s(&r, tf->D, tf->S * (tf->R + 1) * tf->B);
            wr__r_f64s(&r, tf->D2, tf->S * tf->B);
            st = check_histograms(tf);
        }
    }
    if (!st) st = wr__r_status(&r, "tfit payload", true);
    if (st) {
        wr_tfit_free(tf);
        return st;
    }
    *out = tf;
    return WR_OK;
}

wr_status wr_tfit_from_bytes(const void *buf, size_t size,
                             wr_template_fit **out)
{
    wr_status st = wr__check_ptr("wr_tfit_from_bytes", "out", out);
    if (!st) st = wr__check_ptr("wr_tfit_from_bytes", "buf", buf);
    if (st) return st;
    *out = NULL;
    void *payload;
    size_t psize;
    st = wr__container_unpack(buf, size, WR_KIND_TEMPLATE_FIT, TF_KIND_VERSION,
                              &payload, &psize, NULL);
    if (st) return st;
    st = tf_deserialise(payload, psize, out);
    free(payload);
    return st;
}

wr_status wr_tfit_load(const char *path, wr_template_fit **out)
{
    wr_status st = wr__check_ptr("wr_tfit_load", "out", out);
    if (!st) st = wr__check_ptr("wr_tfit_load", "path", path);
    if (st) return st;
    *out = NULL;
    void *payload;
    size_t psize;
    st = wr__container_load_file(path, WR_KIND_TEMPLATE_FIT, TF_KIND_VERSION,
                                 &payload, &psize, NULL);
    if (st) return st;
    st = tf_deserialise(payload, psize, out);
    free(payload);
    return st;
}
