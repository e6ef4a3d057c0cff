/* lib/tfit_fit.c -- wr_template_fit: interpolation of templates between
 * grid masses, the binned Poisson likelihood (Baker-Cousins, optional
 * Barlow-Beeston-lite), the scan, the parabola fit through LAPACKE_dgels,
 * and the bootstrap / systematic drivers (replicas fitted in parallel).
 * docs/tfit.md. */
#include "tfit_int.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- interpolation */
size_t wr__tfit_n_scan(const wr_template_fit *tf)
{
    return (tf->H - 1) * (size_t)tf->p.scan_refine + 1;
}

/* Lagrange weights L[0..nn) on grid nodes j0..j0+nn-1 for mass M inside
 * interval i; `exact` (M is grid node i) gives the node itself, so scans
 * reproduce the filled templates exactly at the grid masses. */
static size_t lagrange(const wr_template_fit *tf, size_t i, double M,
                       bool exact, size_t *j0, double L[4])
{
    if (exact) {
        *j0 = i;
        L[0] = 1.0;
        return 1;
    }
    const size_t H = tf->H;
    size_t nn = tf->p.interp == TF_INTERP_LINEAR ? 2 : (H < 4 ? H : 4);
    size_t half = nn / 2 - 1; /* nodes left of the interval */
    size_t s = i > half ? i - half : 0;
    if (s > H - nn) s = H - nn;
    const double *x = tf->masses + s;
    for (size_t k = 0; k < nn; k++) {
        double l = 1.0;
        for (size_t q = 0; q < nn; q++)
            if (q != k) l *= (M - x[q]) / (x[k] - x[q]);
        L[k] = l;
    }
    *j0 = s;
    return nn;
}

/* Scan point j: scan_refine equal steps per grid interval. */
static size_t scan_point(const wr_template_fit *tf, size_t j, double *M,
                         size_t *j0, double L[4])
{
    const size_t refine = (size_t)tf->p.scan_refine;
    size_t i = j / refine, q = j % refine;
    if (i >= tf->H - 1) {
        i = tf->H - 1;
        q = 0;
    }
    const double *m = tf->masses;
    *M = q == 0 ? m[i] : m[i] + (m[i + 1] - m[i]) * (double)q / (double)refine;
    return lagrange(tf, i, *M, q == 0, j0, L);
}

wr_status wr__tfit_interp(const wr_template_fit *tf, const double *T,
                          double mass, double *out)
{
    const size_t H = tf->H;
    size_t lo = 0, hi = H - 1; /* masses[lo] <= mass < masses[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (mass < tf->masses[mid]) hi = mid;
        else lo = mid;
    }
    bool exact = mass == tf->masses[lo];
    if (mass == tf->masses[H - 1]) {
        lo = H - 1;
        exact = true;
    }
    double L[4];
    size_t j0, nn = lagrange(tf, lo, mass, exact, &j0, L);
    for (size_t b = 0; b < tf->B; b++) {
        const double *t = T + b * H;
        bool pos = true;
        for (size_t h = 0; h < H && pos; h++) pos = t[h] > 0.0;
        double a = 0.0;
        for (size_t k = 0; k < nn && pos; k++) a += L[k] * log(t[j0 + k]);
        /* at a grid mass the filled content itself, not exp(log) */
        out[b] = !pos ? 0.0 : nn == 1 ? t[j0] : exp(a);
    }
    return WR_OK;
}

/* ---------------------------------------------------------------- scratch */
wr_status wr__tfit_scratch_init(const wr_template_fit *tf, tf_scratch *s)
{
    memset(s, 0, sizeof *s);
    size_t BH;
    if (!wr__mul_size(tf->B, tf->H, &BH))
        return wr__fail(WR_ERR_NOMEM, "tfit: bins x masses overflows");
    s->n_scan = wr__tfit_n_scan(tf);
    s->lnT = wr__alloc_array(BH, sizeof(double), "tfit fit scratch");
    s->lnS = tf->p.bb_lite ? wr__alloc_array(BH, sizeof(double), "tfit fit scratch")
                           : NULL;
    s->nv = wr__alloc_array(tf->B, sizeof(double), "tfit fit scratch");
    s->mu = wr__alloc_array(tf->B, sizeof(double), "tfit fit scratch");
    s->rel2 = wr__alloc_array(tf->B, sizeof(double), "tfit fit scratch");
    s->scan_m = wr__alloc_array(s->n_scan, sizeof(double), "tfit scan");
    s->scan_v = wr__alloc_array(s->n_scan, sizeof(double), "tfit scan");
    s->A = wr__alloc_array(s->n_scan, 3 * sizeof(double), "tfit parabola");
    s->b = wr__alloc_array(s->n_scan, sizeof(double), "tfit parabola");
    if (!s->lnT || (tf->p.bb_lite && !s->lnS) || !s->nv || !s->mu ||
        !s->rel2 || !s->scan_m || !s->scan_v || !s->A || !s->b) {
        wr__tfit_scratch_free(s);
        return WR_ERR_NOMEM;
    }
    return WR_OK;
}

void wr__tfit_scratch_free(tf_scratch *s)
{
    free(s->lnT);
    free(s->lnS);
    free(s->nv);
    free(s->mu);
    free(s->rel2);
    free(s->scan_m);
    free(s->scan_v);
    free(s->A);
    free(s->b);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- likelihood */
/* Barlow-Beeston-lite factor: minimises 2 (beta m - n ln beta) +
 * (beta - 1)^2 / s2, the positive root of beta^2 + (m s2 - 1) beta - n s2,
 * in the form that avoids cancellation. */
static inline double bb_beta(double m, double n, double s2)
{
    double q = m * s2 - 1.0, disc = sqrt(q * q + 4.0 * n * s2);
    return q >= 0.0 ? 2.0 * n * s2 / (q + disc) : 0.5 * (disc - q);
}

/* Baker-Cousins term 2 (m - n + n ln(n/m)). */
static inline double bc_term(double m, double n)
{
    return 2.0 * (m - n + (n > 0.0 ? n * log(n / m) : 0.0));
}

typedef struct lnl_in {
    size_t nb, H, j0, nn;
    const double *L;
    double N, nlogn; /* sum n, sum n ln n over the bins of the fit */
    bool bb, free_norm;
} lnl_in;

/* -2 ln L at one interpolated mass; *nu_out receives the normalisation. */
static double eval_point(const tf_scratch *s, const lnl_in *in, double *nu_out)
{
    double total = 0.0, na = 0.0;
    for (size_t u = 0; u < in->nb; u++) {
        const double *lt = s->lnT + u * in->H + in->j0;
        double a = 0.0;
        for (size_t k = 0; k < in->nn; k++) a += in->L[k] * lt[k];
        s->mu[u] = exp(a);
        total += s->mu[u];
        na += s->nv[u] * a;
        if (in->bb) {
            const double *ls = s->lnS + u * in->H + in->j0;
            double c = 0.0;
            for (size_t k = 0; k < in->nn; k++) c += in->L[k] * ls[k];
            s->rel2[u] = exp(c - 2.0 * a); /* (sum w^2) / T^2 */
        }
    }
    double nu = in->N / total, v = 0.0;
    if (!in->bb) {
        /* sum 2 (mu - n + n ln(n / mu)) with ln mu = ln nu + a: no log per
         * bin (sum mu = N by construction of nu) */
        *nu_out = nu;
        return 2.0 * (nu * total - in->N) +
               2.0 * (in->nlogn - in->N * log(nu) - na);
    }
    /* free normalisation with BB: coordinate descent between nu (closed
     * form N / sum beta mu) and the betas; each step lowers -2 ln L */
    for (int it = 0; in->free_norm && it < 100; it++) {
        double sbm = 0.0;
        for (size_t u = 0; u < in->nb; u++)
            sbm += bb_beta(nu * s->mu[u], s->nv[u], s->rel2[u]) * s->mu[u];
        double nu2 = in->N / sbm;
        bool done = fabs(nu2 - nu) <= 1e-12 * nu;
        nu = nu2;
        if (done) break;
    }
    for (size_t u = 0; u < in->nb; u++) {
        double m = nu * s->mu[u], s2 = s->rel2[u];
        double beta = bb_beta(m, s->nv[u], s2);
        v += bc_term(beta * m, s->nv[u]) + (beta - 1.0) * (beta - 1.0) / s2;
    }
    *nu_out = nu;
    return v;
}

/* Bins in the fit (template positive at every grid mass; with BB also its
 * sum w^2) with their logs; returns the number of bins or 0 with msg. */
static size_t select_bins(const wr_template_fit *tf, const tf_view *v,
                          tf_scratch *s, double *N, double *nlogn,
                          wr_status *st, char *msg, size_t len)
{
    const size_t H = tf->H;
    size_t nb = 0;
    *N = *nlogn = 0.0;
    for (size_t b = 0; b < tf->B; b++) {
        const double *t = v->T + b * H, *t2 = v->T2 ? v->T2 + b * H : NULL;
        bool ok = true;
        for (size_t h = 0; h < H && ok; h++)
            ok = t[h] > 0.0 && (!t2 || t2[h] > 0.0);
        if (!ok) continue;
        if (!(v->n[b] >= 0.0)) {
            snprintf(msg, len, "data bin %zu has negative content %g", b, v->n[b]);
            *st = WR_ERR_INVALID_ARG;
            return 0;
        }
        for (size_t h = 0; h < H; h++) {
            s->lnT[nb * H + h] = log(t[h]);
            if (t2) s->lnS[nb * H + h] = log(t2[h]);
        }
        s->nv[nb++] = v->n[b];
        *N += v->n[b];
        if (v->n[b] > 0.0) *nlogn += v->n[b] * log(v->n[b]);
    }
    if (nb == 0) {
        snprintf(msg, len, "no bin has a positive template at every grid mass");
        *st = WR_ERR_NUMERICAL;
        return 0;
    }
    if (!(*N > 0.0)) {
        snprintf(msg, len, "the data are empty in the %zu bins of the fit", nb);
        *st = WR_ERR_NUMERICAL;
        return 0;
    }
    *st = WR_OK;
    return nb;
}

/* --------------------------------------------------------------- parabola */
/* Least-squares parabola c0 + c1 u + c2 u^2, u = (M - M[jmin]) / h, through
 * scan points lo..hi (LAPACKE_dgels); false when not convex. */
static bool lsq_parabola(tf_scratch *s, size_t lo, size_t hi, size_t jmin,
                         double c[3], double *h_out)
{
    const double *M = s->scan_m, *v = s->scan_v;
    const size_t m = hi - lo + 1;
    const double h = fmax(M[hi] - M[jmin], M[jmin] - M[lo]);
    for (size_t r = 0; r < m; r++) {
        double u = (M[lo + r] - M[jmin]) / h;
        s->A[r] = 1.0;
        s->A[m + r] = u;
        s->A[2 * m + r] = u * u;
        s->b[r] = v[lo + r] - v[jmin];
    }
    lapack_int info = LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', (lapack_int)m, 3, 1,
                                    s->A, (lapack_int)m, s->b, (lapack_int)m);
    for (int k = 0; k < 3; k++) c[k] = s->b[k];
    *h_out = h;
    return info == 0 && c[2] > 0.0 && h > 0.0;
}

/* Extends [lo, hi] around the minimum to at least `want` points. */
static void widen(const double *v, size_t n, size_t want, size_t *lo, size_t *hi)
{
    while (*hi - *lo + 1 < want) {
        bool can_lo = *lo > 0, can_hi = *hi + 1 < n;
        if (can_lo && (!can_hi || v[*lo - 1] <= v[*hi + 1])) (*lo)--;
        else if (can_hi) (*hi)++;
        else break;
    }
}

/* The mass is the vertex of the parabola through the 5 scan points around
 * the scan minimum (so the asymmetry of -2lnL over a wide window does not
 * shift it); the width 1/sqrt(a) comes from the parabola through the
 * contiguous points within parabola_window of the minimum (at least 5). */
static wr_status parabola(const wr_template_fit *tf, tf_scratch *s,
                          size_t jmin, tf_result *res, char *msg, size_t len)
{
    const double *M = s->scan_m, *v = s->scan_v;
    const size_t n = s->n_scan;
    const double vmin = v[jmin], window = tf->p.parabola_window;
    size_t lo = jmin, hi = jmin;
    while (lo > 0 && v[lo - 1] - vmin <= window) lo--;
    while (hi + 1 < n && v[hi + 1] - vmin <= window) hi++;
    widen(v, n, 5, &lo, &hi);
    size_t llo = jmin, lhi = jmin;
    widen(v, n, 5, &llo, &lhi);
    double cw[3], cm[3], hw, hm;
    if (lhi - llo < 2 || !lsq_parabola(s, lo, hi, jmin, cw, &hw) ||
        !lsq_parabola(s, llo, lhi, jmin, cm, &hm)) {
        snprintf(msg, len, "-2lnL is not convex near its minimum at M = %.6f "
                 "GeV (%zu points); widen the grid or parabola_window",
                 M[jmin], hi - lo + 1);
        return WR_ERR_NUMERICAL;
    }
    res->mass = M[jmin] - cm[1] * hm / (2.0 * cm[2]);
    res->m2lnl_min = vmin + cm[0] - cm[1] * cm[1] / (4.0 * cm[2]);
    res->curvature = cw[2] / (hw * hw);
    res->width = hw / sqrt(cw[2]);
    res->n_parabola = (int)(hi - lo + 1);
    if (!(res->mass >= M[0] && res->mass <= M[n - 1])) {
        snprintf(msg, len, "parabola minimum %.6f GeV is outside the grid "
                 "[%.6f, %.6f]", res->mass, M[0], M[n - 1]);
        return WR_ERR_NUMERICAL;
    }
    return WR_OK;
}

wr_status wr__tfit_fit_view(const wr_template_fit *tf, const tf_view *v,
                            tf_scratch *s, tf_result *res, char *msg,
                            size_t len)
{
    wr_status st;
    double N, nlogn;
    size_t nb = select_bins(tf, v, s, &N, &nlogn, &st, msg, len);
    if (st) return st;
    double L[4], nu_min = NAN;
    lnl_in in = {.nb = nb, .H = tf->H, .L = L, .N = N, .nlogn = nlogn,
                 .bb = v->T2 != NULL,
                 .free_norm = tf->p.norm == TF_NORM_FREE};
    size_t jmin = 0;
    for (size_t j = 0; j < s->n_scan; j++) {
        double nu;
        in.nn = scan_point(tf, j, &s->scan_m[j], &in.j0, L);
        s->scan_v[j] = eval_point(s, &in, &nu);
        if (!isfinite(s->scan_v[j])) {
            snprintf(msg, len, "-2lnL is not finite at M = %.6f GeV", s->scan_m[j]);
            return WR_ERR_NUMERICAL;
        }
        if (j == 0 || s->scan_v[j] < s->scan_v[jmin]) {
            jmin = j;
            nu_min = nu;
        }
    }
    if (jmin == 0 || jmin == s->n_scan - 1) {
        snprintf(msg, len, "the minimum of -2lnL is at the edge of the mass "
                 "grid (M = %.6f GeV); widen or move the grid", s->scan_m[jmin]);
        return WR_ERR_NUMERICAL;
    }
    res->norm = nu_min;
    res->n_bins = (int)nb;
    return parabola(tf, s, jmin, res, msg, len);
}

/* -------------------------------------------------------------------- fit */
static double set_total(const wr_template_fit *tf, size_t set, size_t slot)
{
    const double *d = wr__tfit_slot_D(tf, set, slot);
    double t = 0.0;
    for (size_t b = 0; b < tf->B; b++) t += fabs(d[b]);
    return t;
}

/* Common argument checks of the fitting calls. */
static wr_status check_fit_args(const char *fn, const wr_template_fit *tf,
                                size_t n_sets, double true_mass)
{
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (st) return st;
    if (isinf(true_mass))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'true_mass' is "
                        "infinite (NaN means unknown)", fn);
    if (n_sets > (size_t)tf->p.data_sets)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: data set %zu does not exist "
                        "(data_sets=%lld)", fn, n_sets - 1,
                        (long long)tf->p.data_sets);
    if (!tf->filled)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: no events were added", fn);
    double t = 0.0;
    for (size_t i = 0; i < tf->B * tf->H; i++) t += fabs(tf->T[i]);
    if (!(t > 0.0))
        return wr__fail(WR_ERR_NOT_FITTED, "%s: no template events were "
                        "added (or all fell outside the binning)", fn);
    return WR_OK;
}

static wr_status check_set(const char *fn, const wr_template_fit *tf,
                           size_t set)
{
    if (!(set_total(tf, set, 0) > 0.0))
        return wr__fail(WR_ERR_NOT_FITTED, "%s: data set %zu is empty", fn, set);
    return WR_OK;
}

static tf_view make_view(const wr_template_fit *tf, size_t set, size_t slot)
{
    tf_view v = {wr__tfit_slot_T(tf, slot),
                 tf->p.bb_lite ? wr__tfit_slot_T2(tf, slot) : NULL,
                 wr__tfit_slot_D(tf, set, slot)};
    return v;
}

wr_status wr_tfit_fit(wr_template_fit *tf, size_t set, double true_mass,
                      double *mass, double *width, double *bias_mev)
{
    const char *fn = "wr_tfit_fit";
    wr_status st = check_fit_args(fn, tf, set + 1, true_mass);
    if (!st) st = check_set(fn, tf, set);
    if (st) return st;
    tf_scratch s;
    if ((st = wr__tfit_scratch_init(tf, &s))) return st;
    tf_view v = make_view(tf, set, 0);
    tf_result res;
    char msg[256];
    st = wr__tfit_fit_view(tf, &v, &s, &res, msg, sizeof msg);
    if (st) {
        wr__tfit_scratch_free(&s);
        return wr__fail(st, "%s: data set %zu: %s", fn, set, msg);
    }
    /* keep the scan: hand the scratch arrays over to the handle */
    free(tf->scan_m);
    free(tf->scan_v);
    tf->scan_m = s.scan_m;
    tf->scan_v = s.scan_v;
    tf->n_scan = s.n_scan;
    s.scan_m = s.scan_v = NULL;
    wr__tfit_scratch_free(&s);
    tf->last = res;
    tf->last_true_mass = true_mass;
    tf->has_fit = true;
    if (mass) *mass = res.mass;
    if (width) *width = res.width;
    if (bias_mev) *bias_mev = 1000.0 * (res.mass - true_mass);
    return WR_OK;
}

wr_status wr_tfit_result(const wr_template_fit *tf, const char *name,
                         double *value)
{
    const char *fn = "wr_tfit_result";
    wr_status st = wr__check_ptr(fn, "tf", tf);
    if (!st) st = wr__check_ptr(fn, "name", name);
    if (!st) st = wr__check_ptr(fn, "value", value);
    if (st) return st;
    if (!tf->has_fit)
        return wr__fail(WR_ERR_NOT_FITTED, "%s: no fit was run", fn);
    const tf_result *r = &tf->last;
    if (!strcmp(name, "mass")) *value = r->mass;
    else if (!strcmp(name, "width")) *value = r->width;
    else if (!strcmp(name, "bias_mev")) *value = 1000.0 * (r->mass - tf->last_true_mass);
    else if (!strcmp(name, "true_mass")) *value = tf->last_true_mass;
    else if (!strcmp(name, "m2lnl_min")) *value = r->m2lnl_min;
    else if (!strcmp(name, "norm")) *value = r->norm;
    else if (!strcmp(name, "n_bins")) *value = r->n_bins;
    else if (!strcmp(name, "n_parabola")) *value = r->n_parabola;
    else if (!strcmp(name, "curvature")) *value = r->curvature;
    else
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'name': unknown "
                        "result '%s' (mass, width, bias_mev, true_mass, "
                        "m2lnl_min, norm, n_bins, n_parabola, curvature)",
                        fn, name);
    return WR_OK;
}

size_t wr_tfit_scan_size(const wr_template_fit *tf)
{
    return tf && tf->has_fit ? tf->n_scan : 0;
}

wr_status wr_tfit_scan(const wr_template_fit *tf, double *mass, double *m2lnl,
                       size_t n)
{
    wr_status st = wr__check_ptr("wr_tfit_scan", "tf", tf);
    if (st) return st;
    if (!tf->has_fit)
        return wr__fail(WR_ERR_NOT_FITTED, "wr_tfit_scan: no fit was run");
    if (n != tf->n_scan)
        return wr__fail(WR_ERR_INVALID_ARG, "wr_tfit_scan: argument 'n' is "
                        "%zu, the scan has %zu points", n, tf->n_scan);
    if (mass) memcpy(mass, tf->scan_m, n * sizeof *mass);
    if (m2lnl) memcpy(m2lnl, tf->scan_v, n * sizeof *m2lnl);
    return WR_OK;
}

/* ---------------------------------------------------------------- replicas */
typedef struct rep_ctx {
    const wr_template_fit *tf;
    size_t set0, n_sets; /* data sets fitted in every replica */
    size_t first;      /* first replica of the batch (1-based slot) */
    tf_scratch *scr;   /* one per thread */
    tf_result *res;    /* [replica][set] */
    wr_status *st;
} rep_ctx;

static void rep_task(void *vctx, size_t begin, size_t end, int tid)
{
    rep_ctx *c = vctx;
    char msg[256];
    for (size_t i = begin; i < end; i++) {
        size_t slot = c->first + i;
        for (size_t j = 0; j < c->n_sets; j++) {
            size_t k = (slot - 1) * c->n_sets + j;
            tf_view v = make_view(c->tf, c->set0 + j, slot);
            c->st[k] = wr__tfit_fit_view(c->tf, &v, &c->scr[tid], &c->res[k],
                                         msg, sizeof msg);
        }
    }
}

/* Fits data sets set0..set0+n_sets-1 in replicas 1..R into
 * res[(r-1) n_sets + j], in batches between progress reports. */
static wr_status run_replicas(wr_template_fit *tf, size_t set0, size_t n_sets,
                              const char *stage, tf_result *res)
{
    const size_t R = tf->R;
    int nt = wr__resolve_threads((int)tf->p.threads);
    if ((size_t)nt > R) nt = (int)R;
    tf_scratch *scr = calloc((size_t)nt, sizeof *scr);
    wr_status *sts = wr__calloc_array(R * n_sets, sizeof *sts, "tfit replicas");
    wr_status st = scr && sts ? WR_OK : wr__fail(WR_ERR_NOMEM, "%s: out of memory", stage);
    for (int t = 0; !st && t < nt; t++) st = wr__tfit_scratch_init(tf, &scr[t]);
    wr__pool *pool = !st && nt > 1 ? wr__pool_create(nt) : NULL;
    rep_ctx c = {tf, set0, n_sets, 1, scr, res, sts};
    size_t batch = (size_t)(8 * nt);
    for (size_t done = 0; !st && done < R; done += batch) {
        size_t nb = R - done < batch ? R - done : batch;
        c.first = 1 + done;
        wr__pool_for(pool, nb, 1, rep_task, &c);
        st = wr__progress(tf->progress, tf->progress_user, stage,
                          (int64_t)(done + nb), (int64_t)R, NAN, NAN);
    }
    wr__pool_free(pool);
    for (size_t k = 0; !st && k < R * n_sets; k++) {
        if (!sts[k]) continue;
        /* rerun the first failure here: deterministic, gives the message */
        char msg[256];
        tf_view v = make_view(tf, set0 + k % n_sets, 1 + k / n_sets);
        tf_result r;
        st = wr__tfit_fit_view(tf, &v, &scr[0], &r, msg, sizeof msg);
        st = wr__fail(st ? st : WR_ERR_INTERNAL, "%s: replica %zu, data set "
                      "%zu: %s", stage, 1 + k / n_sets, set0 + k % n_sets, msg);
    }
    for (int t = 0; scr && t < nt; t++) wr__tfit_scratch_free(&scr[t]);
    free(scr);
    free(sts);
    return st;
}

static void mean_sd(const double *x, size_t n, double *mean, double *sd)
{
    double m = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) q += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (double)(n - 1)) : NAN;
}

wr_status wr_tfit_bootstrap(wr_template_fit *tf, size_t set, double true_mass,
                            double *replica_mass, size_t n_replicas,
                            double *mean_bias_mev, double *spread_mev)
{
    const char *fn = "wr_tfit_bootstrap";
    wr_status st = check_fit_args(fn, tf, set + 1, true_mass);
    if (!st) st = check_set(fn, tf, set);
    if (st) return st;
    if (tf->R < 2)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: bootstrap=%zu replicas were "
                        "filled, need at least 2 (set bootstrap before adding "
                        "events)", fn, tf->R);
    if (replica_mass && n_replicas != tf->R)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_replicas' is %zu, "
                        "bootstrap=%zu", fn, n_replicas, tf->R);
    for (size_t r = 1; r <= tf->R; r++)
        if (!(set_total(tf, set, r) > 0.0))
            return wr__fail(WR_ERR_NUMERICAL, "%s: data set %zu is empty in "
                            "replica %zu", fn, set, r);
    tf_result *res = wr__alloc_array(tf->R, sizeof *res, "tfit replicas");
    double *bias = wr__alloc_array(tf->R, sizeof *bias, "tfit replicas");
    if (!res || !bias) st = WR_ERR_NOMEM;
    if (!st) st = run_replicas(tf, set, 1, "tfit.bootstrap", res);
    if (!st) {
        for (size_t r = 0; r < tf->R; r++) {
            double m = res[r].mass;
            if (replica_mass) replica_mass[r] = m;
            bias[r] = 1000.0 * (m - true_mass);
        }
        double mean, sd;
        mean_sd(bias, tf->R, &mean, &sd);
        if (mean_bias_mev) *mean_bias_mev = mean;
        if (spread_mev) *spread_mev = sd;
    }
    free(res);
    free(bias);
    return st;
}

/* Least-squares slope of y against x. */
static double ls_slope(const double *x, const double *y, size_t n, size_t stride)
{
    double mx = 0.0, my = 0.0, sxy = 0.0, sxx = 0.0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i * stride];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i * stride] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
    }
    return sxy / sxx;
}

static wr_status syst_checks(const char *fn, const wr_template_fit *tf,
                             const double *eps, size_t n_eps)
{
    wr_status st = wr__check_ptr(fn, "eps", eps);
    if (!st) st = wr__check_finite_d(fn, "eps", eps, n_eps);
    if (st) return st;
    bool differ = false;
    for (size_t j = 1; j < n_eps; j++) differ |= eps[j] != eps[0];
    if (n_eps < 2 || !differ)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'eps': need at least "
                        "2 different sizes (got %zu values)", fn, n_eps);
    for (size_t j = 0; j < n_eps; j++)
        if ((st = check_set(fn, tf, j))) return st;
    return WR_OK;
}

/* Nominal fits of sets 0..n_eps-1 (slot 0) into mass[j]. */
static wr_status syst_nominal(const wr_template_fit *tf, size_t n_eps,
                              double *mass)
{
    tf_scratch s;
    wr_status st = wr__tfit_scratch_init(tf, &s);
    for (size_t j = 0; !st && j < n_eps; j++) {
        tf_view v = make_view(tf, j, 0);
        tf_result r;
        char msg[256];
        st = wr__tfit_fit_view(tf, &v, &s, &r, msg, sizeof msg);
        if (st) st = wr__fail(st, "wr_tfit_syst: data set %zu: %s", j, msg);
        mass[j] = r.mass;
    }
    wr__tfit_scratch_free(&s);
    return st;
}

wr_status wr_tfit_syst(wr_template_fit *tf, const double *eps, size_t n_eps,
                       double true_mass, double *bias_mev,
                       double *bias_err_mev, double *slope, double *slope_err)
{
    const char *fn = "wr_tfit_syst";
    wr_status st = check_fit_args(fn, tf, n_eps, true_mass);
    if (!st) st = syst_checks(fn, tf, eps, n_eps);
    if (st) return st;
    const size_t R = tf->R >= 2 ? tf->R : 0;
    double *mass = wr__alloc_array(n_eps, sizeof *mass, "tfit syst");
    double *rm = wr__alloc_array(R * n_eps + 1, sizeof *rm, "tfit syst");
    double *col = wr__alloc_array(R + 1, sizeof *col, "tfit syst");
    tf_result *res = wr__alloc_array(R * n_eps + 1, sizeof *res, "tfit syst");
    if (!mass || !rm || !col || !res) st = WR_ERR_NOMEM;
    if (!st) st = syst_nominal(tf, n_eps, mass);
    if (!st && R) st = run_replicas(tf, 0, n_eps, "tfit.syst", res);
    if (!st) {
        for (size_t k = 0; k < R * n_eps; k++) rm[k] = 1000.0 * res[k].mass;
        double mean;
        for (size_t j = 0; j < n_eps; j++) {
            if (bias_mev) bias_mev[j] = 1000.0 * (mass[j] - true_mass);
            for (size_t r = 0; r < R; r++) col[r] = rm[r * n_eps + j];
            if (bias_err_mev) {
                if (R) mean_sd(col, R, &mean, &bias_err_mev[j]);
                else bias_err_mev[j] = NAN;
            }
            mass[j] *= 1000.0;
        }
        if (slope) *slope = ls_slope(eps, mass, n_eps, 1);
        for (size_t r = 0; r < R; r++) col[r] = ls_slope(eps, rm + r * n_eps, n_eps, 1);
        if (slope_err) {
            if (R) mean_sd(col, R, &mean, slope_err);
            else *slope_err = NAN;
        }
    }
    free(mass);
    free(rm);
    free(col);
    free(res);
    return st;
}
