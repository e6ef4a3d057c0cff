/* lib/features.c -- recoil vectors, the 15 regression features and the
 * targets of the analysis contract (docs/events.md), computed from
 * reconstructed particles.
 *
 * Everything is accumulated in double precision per event; only the final
 * values are rounded to float.  The features follow from an event's sums by
 * wr__event_features (lib/features_int.h), which the toy's event table shares.
 * Events are independent, so the batch is split over threads by event with
 * wr__parallel_for; each thread owns a small hash table to count the pileup
 * vertices (n_vtx). */
#include "features_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FN "wr_recoil_features"

/* ------------------------------------------------------------ vertex count */

/* Open-addressing multiset of pileup-vertex ids, cleared per event.  Counts
 * the vertices reaching 2 tracks in one pass, whatever the id range. */
typedef struct vtx_set {
    int32_t *key;   /* 0 = empty (pileup ids are > 0) */
    int32_t *count; /* both sized a power of two >= 2 x largest event */
} vtx_set;

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* Adds one track of vertex `id`; returns 1 when that vertex just reached
 * two tracks (so it counts as reconstructed), else 0. */
static int vtx_set_add(vtx_set *s, size_t mask, int32_t id)
{
    size_t h = ((uint32_t)id * 2654435761u) & mask;
    while (s->key[h] != 0 && s->key[h] != id) h = (h + 1) & mask;
    s->key[h] = id;
    return ++s->count[h] == 2;
}

/* ------------------------------------------------------------- per event */

static void accumulate(wr__event_sums *e, const float *pt, const float *eta,
                       const float *phi, const int32_t *charge,
                       const int32_t *vtx, size_t n, vtx_set *vs)
{
    memset(e, 0, sizeof *e);
    e->n_vtx = 1; /* the primary vertex */
    size_t mask = pow2_at_least(2 * n) - 1;
    memset(vs->key, 0, (mask + 1) * sizeof *vs->key);
    memset(vs->count, 0, (mask + 1) * sizeof *vs->count);
    for (size_t k = 0; k < n; k++) {
        double p = pt[k], f = phi[k];
        double px = p * cos(f), py = p * sin(f);
        e->pf_x += px;
        e->pf_y += py;
        e->pf_sumpt += p;
        if (charge[k] == 0 || vtx[k] != 0) {
            e->np_x += px;
            e->np_y += py;
        }
        if (charge[k] == 0) {
            e->nt_x += px;
            e->nt_y += py;
            e->nt_sumpt += p;
            if (p > e->nt_lead_pt) e->nt_lead_pt = p;
        } else if (vtx[k] == 0) {
            /* pz = pt sinh(eta), |p| = pt cosh(eta) from one exp() */
            double ex = exp(eta[k]);
            double pz = 0.5 * p * (ex - 1.0 / ex);
            double pabs = 0.5 * p * (ex + 1.0 / ex);
            e->tk_x += px;
            e->tk_y += py;
            e->tk_sumpt += p;
            e->tk_pz += pz;
            e->tk_e += wr__pion_energy(pabs);
            if (e->n_tk == 0 || p > e->tk_lead_pt) {
                e->tk_lead_pt = p;
                e->tk_lead_phi = f;
            }
            e->n_tk++;
        } else {
            e->n_vtx += vtx_set_add(vs, mask, vtx[k]);
        }
    }
}

/* dphi(A, B) of the contract: phi_B - phi_A wrapped to (-pi, pi]. */
static double dphi(double phi_a, double phi_b)
{
    return wr__wrap_angle(phi_b - phi_a);
}

/* |sum of pt vectors| / sum of pt, 0 for an empty (or all-zero) set. */
static double collimation(double x, double y, double sumpt)
{
    return sumpt > 0.0 ? hypot(x, y) / sumpt : 0.0;
}

/* ln(a / b) for b > 0; 0 when a == 0, where the log has no finite value
 * (no neutral, or an exactly vanishing NTNPV recoil). */
static double log_ratio(double a, double b)
{
    return a > 0.0 ? log(a / b) : 0.0;
}

int wr__event_features(const wr__event_sums *e, const double *htrue, double *f)
{
    memset(f, 0, (WR_N_FEATURES + (htrue ? 2 : 0)) * sizeof *f);
    f[WR_F_S_NT] = collimation(e->nt_x, e->nt_y, e->nt_sumpt);
    f[WR_F_S_PF] = collimation(e->pf_x, e->pf_y, e->pf_sumpt);
    f[WR_F_N_TK] = (double)e->n_tk;
    f[WR_F_N_VTX] = (double)e->n_vtx;
    double h_tk = hypot(e->tk_x, e->tk_y);
    if (!(h_tk > 0.0)) return 0; /* no TK recoil: TK-dependent values stay 0 */
    double phi_tk = atan2(e->tk_y, e->tk_x);
    double h_ntnpv = hypot(e->np_x, e->np_y);
    /* A vanishing NTNPV vector has no direction: take TK's, so that
     * cos = 1, adphi = 0 and s = +1 (and rotations change nothing). */
    double phi_ntnpv = h_ntnpv > 0.0 ? atan2(e->np_y, e->np_x) : phi_tk;
    double phi_pf = atan2(e->pf_y, e->pf_x);
    double m2 = e->tk_e * e->tk_e -
                (e->tk_x * e->tk_x + e->tk_y * e->tk_y + e->tk_pz * e->tk_pz);
    double m_tk = sqrt(m2 > 0.0 ? m2 : 0.0);
    double d_ntnpv = dphi(phi_tk, phi_ntnpv);
    double s = d_ntnpv >= 0.0 ? 1.0 : -1.0;
    f[WR_F_H_TK] = h_tk;
    f[WR_F_PHI_TK] = phi_tk;
    f[WR_F_R_NTNPV] = log_ratio(h_ntnpv, h_tk);
    f[WR_F_R_M] = log_ratio(m_tk, h_tk);
    f[WR_F_R_LTK] = log_ratio(e->tk_lead_pt, h_tk);
    f[WR_F_R_LNT] = log_ratio(e->nt_lead_pt, h_tk);
    f[WR_F_S_TK] = collimation(e->tk_x, e->tk_y, e->tk_sumpt);
    f[WR_F_COS_TK_NTNPV] = cos(d_ntnpv);
    f[WR_F_ADPHI_TK_NTNPV] = fabs(d_ntnpv);
    f[WR_F_SDPHI_TK_PF] = s * dphi(phi_tk, phi_pf);
    f[WR_F_SDPHI_TK_LTK] = s * dphi(phi_tk, wr__wrap_angle(e->tk_lead_phi));
    if (htrue) {
        f[WR_N_FEATURES] = log(hypot(htrue[0], htrue[1]) / h_tk);
        f[WR_N_FEATURES + 1] = dphi(phi_tk, atan2(htrue[1], htrue[0]));
    }
    return 1;
}

static void event_recoils(const wr__event_sums *e, float *r)
{
    r[WR_R_TK_X] = (float)e->tk_x;
    r[WR_R_TK_Y] = (float)e->tk_y;
    r[WR_R_PF_X] = (float)e->pf_x;
    r[WR_R_PF_Y] = (float)e->pf_y;
    r[WR_R_NTNPV_X] = (float)e->np_x;
    r[WR_R_NTNPV_Y] = (float)e->np_y;
    r[WR_R_NT_X] = (float)e->nt_x;
    r[WR_R_NT_Y] = (float)e->nt_y;
}

/* ------------------------------------------------------------ the batch */

typedef struct job {
    const int64_t *offsets;
    const float *pt, *eta, *phi, *htrue;
    const int32_t *charge, *vtx;
    float *features, *recoils, *targets;
    uint8_t *no_tk;
    vtx_set *sets; /* one per thread */
} job;

static void run_events(void *ctx, size_t begin, size_t end, int tid)
{
    const job *j = ctx;
    vtx_set *vs = &j->sets[tid];
    for (size_t i = begin; i < end; i++) {
        size_t a = (size_t)j->offsets[i], n = (size_t)(j->offsets[i + 1] - j->offsets[i]);
        wr__event_sums e;
        accumulate(&e, j->pt + a, j->eta + a, j->phi + a, j->charge + a,
                   j->vtx + a, n, vs);
        double ht[2], f[WR_N_FEATURES + 2];
        if (j->targets) ht[0] = j->htrue[2 * i], ht[1] = j->htrue[2 * i + 1];
        int tk = wr__event_features(&e, j->targets ? ht : NULL, f);
        for (int k = 0; k < WR_N_FEATURES; k++)
            j->features[i * WR_N_FEATURES + k] = (float)f[k];
        if (j->recoils) event_recoils(&e, j->recoils + i * WR_N_RECOIL);
        if (j->no_tk) j->no_tk[i] = !tk;
        if (j->targets) {
            j->targets[2 * i] = (float)f[WR_N_FEATURES];
            j->targets[2 * i + 1] = (float)f[WR_N_FEATURES + 1];
        }
    }
}

/* Offsets: start at 0, non-decreasing.  Reports the largest event. */
static wr_status check_offsets(const int64_t *offsets, size_t n_events,
                               size_t *max_event)
{
    if (offsets[0] != 0)
        return wr__fail(WR_ERR_INVALID_ARG,
                        FN ": argument 'offsets': offsets[0] = %lld, must be 0",
                        (long long)offsets[0]);
    *max_event = 0;
    for (size_t i = 0; i < n_events; i++) {
        if (offsets[i + 1] < offsets[i])
            return wr__fail(WR_ERR_INVALID_ARG,
                            FN ": argument 'offsets': decreasing at index %zu "
                            "(%lld after %lld)", i + 1,
                            (long long)offsets[i + 1], (long long)offsets[i]);
        size_t n = (size_t)(offsets[i + 1] - offsets[i]);
        if (n > *max_event) *max_event = n;
    }
    return WR_OK;
}

/* Particle arrays: finite, pt >= 0, tracks on a vertex >= 0, neutrals on -1. */
static wr_status check_particles(const float *pt, const float *eta,
                                 const float *phi, const int32_t *charge,
                                 const int32_t *vtx, size_t n)
{
    wr_status st;
    if ((st = wr__check_finite_f(FN, "pt", pt, n)) ||
        (st = wr__check_finite_f(FN, "eta", eta, n)) ||
        (st = wr__check_finite_f(FN, "phi", phi, n)))
        return st;
    for (size_t k = 0; k < n; k++) {
        if (pt[k] < 0.0f)
            return wr__fail(WR_ERR_INVALID_ARG,
                            FN ": argument 'pt': negative (%g) at index %zu",
                            (double)pt[k], k);
        if (charge[k] != 0 && vtx[k] < 0)
            return wr__fail(WR_ERR_INVALID_ARG,
                            FN ": argument 'vtx': track (charge %d) with vertex "
                            "%d at index %zu; tracks need vtx >= 0",
                            (int)charge[k], (int)vtx[k], k);
        if (charge[k] == 0 && vtx[k] != -1)
            return wr__fail(WR_ERR_INVALID_ARG,
                            FN ": argument 'vtx': neutral with vertex %d at "
                            "index %zu; neutrals need vtx = -1",
                            (int)vtx[k], k);
    }
    return WR_OK;
}

/* h_true must be finite and non-zero: ln_e1 = ln(|h_true| / h_tk). */
static wr_status check_htrue(const float *htrue, size_t n_events)
{
    wr_status st = wr__check_finite_f(FN, "htrue", htrue, 2 * n_events);
    if (st) return st;
    for (size_t i = 0; i < n_events; i++)
        if (htrue[2 * i] == 0.0f && htrue[2 * i + 1] == 0.0f)
            return wr__fail(WR_ERR_INVALID_ARG,
                            FN ": argument 'htrue': zero vector at event %zu "
                            "(ln_e1 undefined)", i);
    return WR_OK;
}

static wr_status check_args(size_t n_events, const int64_t *offsets,
                            const float *pt, const float *eta, const float *phi,
                            const int32_t *charge, const int32_t *vtx,
                            const float *htrue, float *features, float *targets,
                            size_t *max_event)
{
    wr_status st;
    if ((st = wr__check_ptr(FN, "offsets", offsets)) ||
        (st = wr__check_ptr(FN, "features", features)) ||
        (st = check_offsets(offsets, n_events, max_event)))
        return st;
    size_t n = (size_t)offsets[n_events];
    if ((st = wr__check_ptr(FN, "pt", pt)) || (st = wr__check_ptr(FN, "eta", eta)) ||
        (st = wr__check_ptr(FN, "phi", phi)) ||
        (st = wr__check_ptr(FN, "charge", charge)) ||
        (st = wr__check_ptr(FN, "vtx", vtx)) ||
        (st = check_particles(pt, eta, phi, charge, vtx, n)))
        return st;
    if (targets) {
        if ((st = wr__check_ptr(FN, "htrue (required with targets)", htrue)) ||
            (st = check_htrue(htrue, n_events)))
            return st;
    }
    return WR_OK;
}

static void free_sets(vtx_set *sets, int n)
{
    if (!sets) return;
    for (int t = 0; t < n; t++) {
        free(sets[t].key);
        free(sets[t].count);
    }
    free(sets);
}

static vtx_set *alloc_sets(int n, size_t max_event)
{
    vtx_set *sets = wr__calloc_array((size_t)n, sizeof *sets, FN " scratch");
    if (!sets) return NULL;
    size_t cap = pow2_at_least(2 * max_event);
    for (int t = 0; t < n; t++) {
        sets[t].key = wr__alloc_array(cap, sizeof(int32_t), FN " scratch");
        sets[t].count = wr__alloc_array(cap, sizeof(int32_t), FN " scratch");
        if (!sets[t].key || !sets[t].count) {
            free_sets(sets, n);
            return NULL;
        }
    }
    return sets;
}

/* Threads worth starting: one per ~20000 particles, so that small batches
 * do not pay for thread creation. */
static int useful_threads(int requested, size_t n_events, size_t n_particles)
{
    int nt = wr__resolve_threads(requested);
    size_t by_work = n_particles / 20000 + 1;
    if ((size_t)nt > by_work) nt = (int)by_work;
    if ((size_t)nt > n_events) nt = n_events ? (int)n_events : 1;
    return nt;
}

WR_API wr_status wr_recoil_features(size_t n_events, const int64_t *offsets,
                                    const float *pt, const float *eta,
                                    const float *phi, const int32_t *charge,
                                    const int32_t *vtx, const float *htrue,
                                    int nthreads, float *features,
                                    float *recoils, uint8_t *no_tk,
                                    float *targets)
{
    size_t max_event = 0;
    wr_status st = check_args(n_events, offsets, pt, eta, phi, charge, vtx,
                              htrue, features, targets, &max_event);
    if (st) return st;
    if (n_events == 0) return WR_OK;
    int nt = useful_threads(nthreads, n_events, (size_t)offsets[n_events]);
    vtx_set *sets = alloc_sets(nt, max_event);
    if (!sets) return WR_ERR_NOMEM;
    job j = {offsets, pt, eta, phi, htrue, charge, vtx,
             features, recoils, targets, no_tk, sets};
    wr__parallel_for(nt, n_events, 0, run_events, &j);
    free_sets(sets, nt);
    return WR_OK;
}
