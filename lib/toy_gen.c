/* lib/toy_gen.c -- the toy event generator (docs/toy.md) and the event
 * sums behind the contract features of its table.
 *
 * Speed matters here (>= 1e5 events/s on one core with ~600 particles per
 * event), so the hot loops
 *   - step the core xoshiro256** state inline (wr__rng_step: the same
 *     generator and seeding as wr__rng, without a function call per draw),
 *   - draw soft-particle pT and Gaussian smearing from piecewise-linear
 *     inverse-CDF tables with exact tails (toy_derive),
 *   - keep directions as (cos phi, sin phi) from a table and a Taylor
 *     rotation, so the event table needs no trigonometry per particle,
 *   - draw the number of reconstructed soft tracks directly (a Poisson count
 *     thinned by the efficiency is again Poisson),
 *   - take pileup vertices from a per-call library with per-vertex sums
 *     (pu_lib), so the table adds a vertex without visiting its particles.
 * The table's features come from lib/features.c's wr__event_features on
 * the event's sums; the test checks the table agrees with
 * wr_recoil_features on the same particles. */
#include "toy_internal.h"
#include "features_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------------ rng */

/* One draw (the core generator's step, inline) and a uniform in (0, 1)
 * from it, as wr__rng_u64 and wr__rng_uniform. */
static inline uint64_t rn(wr__rng *r) { return wr__rng_step(r->s); }
static inline double ru(wr__rng *r) { return wr__rng_u01(rn(r)); }

/* Table-driven inverse CDFs sample from 32 random bits: the top TOY_QBITS
 * bits choose the bin, the remaining ones the position inside it. */
#define FRAC32 (32 - TOY_QBITS)
static inline void qbin(uint32_t x, unsigned *j, double *f)
{
    *j = x >> FRAC32;
    *f = (double)(x & ((1u << FRAC32) - 1)) * (1.0 / (double)(1u << FRAC32));
}

/* Standard normal tail beyond x0 > 0 (Marsaglia 1964): exact. */
static double normal_tail(wr__rng *r, double x0)
{
    for (;;) {
        double x = sqrt(x0 * x0 - 2.0 * log(ru(r)));
        if (ru(r) * x < x0) return x;
    }
}

/* Standard normal from 32 random bits `x`: piecewise-linear quantile
 * function between the 2^10 quantiles (|z| < 3.1), the two outer bins
 * sampled exactly (extra draws from r). */
static inline double qnorm(const toy_derived *d, wr__rng *r, uint32_t x)
{
    unsigned j;
    double f;
    qbin(x, &j, &f);
    if (j == 0) return -normal_tail(r, -d->normal_q[1]);
    if (j == TOY_NQ - 1) return normal_tail(r, d->normal_q[TOY_NQ - 1]);
    return d->normal_q[j] + f * (d->normal_q[j + 1] - d->normal_q[j]);
}

static inline double rnorm(const toy_derived *d, wr__rng *r)
{
    return qnorm(d, r, (uint32_t)(rn(r) >> 32));
}

/* Soft-particle pT above threshold `k` (0 charged, 1 photon, 2 neutral
 * hadron) from 32 random bits: Lomax spectrum, table in the bulk, exact in
 * the last bin. */
static inline double qsoft(const wr_toy *t, int k, uint32_t x)
{
    unsigned j;
    double f;
    qbin(x, &j, &f);
    const double *q = t->d.soft_q[k];
    if (j < TOY_NQ - 1) return q[j] + f * (q[j + 1] - q[j]);
    double u = ((double)j + f) / TOY_NQ; /* CDF value in the last bin */
    double lam = t->p.soft_lambda, th = t->d.soft_t[k];
    return (lam + th) * pow(1.0 - u + 0x1.0p-40, -1.0 / t->p.soft_a) - lam;
}

/* exp(x) for x >= 0: table at steps of 1/64 times a Taylor polynomial. */
static inline double fexp(const toy_derived *d, double x)
{
    if (!(x < 4.0)) return exp(x);
    double y = x * TOY_EXP_STEPS;
    int j = (int)y;
    double h = (y - j) * (1.0 / TOY_EXP_STEPS);
    return d->texp[j] * (1.0 + h * (1.0 + h * (0.5 + h * (1.0 / 6.0 + h * (1.0 / 24.0)))));
}

/* Uniform direction in the transverse plane as (cos, sin) from 32 random
 * bits: a table node (top 8 bits) rotated by the remaining angle
 * (< 2 pi / 256) with Taylor series exact to rounding.  Branch-free, no
 * libm call. */
static inline void qdir(const toy_derived *d, uint32_t x, double *c, double *s)
{
    unsigned j = x >> 24;
    double a = (double)(x & 0xffffffu) * (6.283185307179586476925 / 4294967296.0);
    double a2 = a * a;
    double ca = 1.0 - a2 * (0.5 - a2 * (1.0 / 24.0 - a2 * (1.0 / 720.0)));
    double sa = a * (1.0 - a2 * (1.0 / 6.0 - a2 * (1.0 / 120.0 - a2 * (1.0 / 5040.0))));
    *c = d->tcos[j] * ca - d->tsin[j] * sa;
    *s = d->tsin[j] * ca + d->tcos[j] * sa;
}

static inline void rdir(const toy_derived *d, wr__rng *r, double *c, double *s)
{
    qdir(d, (uint32_t)(rn(r) >> 32), c, s);
}

/* Poisson(mu) by inversion from one uniform (O(mu) multiplications, one
 * exp); large means are split into pieces (a sum of Poissons is Poisson). */
static uint32_t rpois(wr__rng *r, double mu)
{
    if (!(mu > 0.0)) return 0;
    if (mu > 200.0) {
        int parts = (int)ceil(mu / 200.0);
        uint32_t k = 0;
        for (int i = 0; i < parts; i++) k += rpois(r, mu / parts);
        return k;
    }
    double u = ru(r), p = exp(-mu), cdf = p;
    uint32_t k = 0;
    while (u > cdf && k < 100000) {
        k++;
        p *= mu / k;
        cdf += p;
        if (p == 0.0 && (double)k > mu) break; /* rounding: cdf stalls below u */
    }
    return k;
}

/* Gamma(shape k, mean 1): Marsaglia & Tsang; k < 1 through Gamma(k+1) U^(1/k). */
static double rgamma1(const toy_derived *d, wr__rng *r, double k)
{
    double boost = 1.0, a = k;
    if (k < 1.0) {
        boost = pow(ru(r), 1.0 / k);
        a = k + 1.0;
    }
    double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double x = rnorm(d, r), v = 1.0 + c * x;
        if (v <= 0.0) continue;
        v = v * v * v;
        double u = ru(r);
        if (log(u) < 0.5 * x * x + dd - dd * v + dd * log(v)) return dd * v * boost / k;
    }
}

/* cos and sin of a small rotation: series below 0.3 rad (error < 1e-9),
 * libm above. */
static inline void rot(const toy_derived *d, double a, double *cd, double *sd)
{
    if (fabs(a) < 0.3) {
        double a2 = a * a;
        *cd = 1.0 - a2 * (0.5 - a2 * (1.0 / 24.0 - a2 / 720.0));
        *sd = a * (1.0 - a2 * (1.0 / 6.0 - a2 * (1.0 / 120.0 - a2 / 5040.0)));
    } else if (fabs(a) < 1e6) { /* the angle in 2^-32 turns, then the table */
        qdir(d, (uint32_t)(int64_t)(a * (4294967296.0 / 6.283185307179586476925)), cd, sd);
    } else {
        *cd = cos(a);
        *sd = sin(a);
    }
}


/* ------------------------------------------------------------- particles */

void toy_event_init(toy_event *e) { memset(e, 0, sizeof *e); }

void toy_event_free(toy_event *e)
{
    if (e->scratch) {
        toy_event_free(e->scratch);
        free(e->scratch);
    }
    pu_lib_free(&e->own);
    free(e->pick);
    free(e->pc);
    free(e->ps);
    free(e->pflip);
    free(e->pt);
    free(e->eta);
    free(e->c);
    free(e->s);
    free(e->charge);
    free(e->vtx);
    free(e->vcount);
    memset(e, 0, sizeof *e);
}

static int grow(toy_event *e)
{
    size_t cap = e->cap ? 2 * e->cap : 1024;
    double *a = realloc(e->pt, cap * sizeof *a);
    if (!a) return -1;
    e->pt = a;
    if (!(a = realloc(e->eta, cap * sizeof *a))) return -1;
    e->eta = a;
    if (!(a = realloc(e->c, cap * sizeof *a))) return -1;
    e->c = a;
    if (!(a = realloc(e->s, cap * sizeof *a))) return -1;
    e->s = a;
    int32_t *b = realloc(e->charge, cap * sizeof *b);
    if (!b) return -1;
    e->charge = b;
    if (!(b = realloc(e->vtx, cap * sizeof *b))) return -1;
    e->vtx = b;
    e->cap = cap;
    return 0;
}

/* Generation state of one event. */
typedef struct gen {
    const wr_toy *t;
    const toy_params *p;
    const toy_derived *d;
    wr__rng r;
    toy_event *e;
    int nomem;
} gen;

static inline void add(gen *g, double pt, double eta, double c, double s,
                       int32_t charge, int32_t vtx)
{
    toy_event *e = g->e;
    if (e->n == e->cap && grow(e)) {
        g->nomem = 1;
        return;
    }
    size_t k = e->n++;
    e->pt[k] = pt;
    e->eta[k] = eta;
    e->c[k] = c;
    e->s[k] = s;
    e->charge[k] = charge;
    e->vtx[k] = vtx;
}

/* A hard-interaction charged particle inside the tracker that the
 * tracking found: pT resolution sqrt(a^2 + (b pT)^2) (normal from the 32
 * bits `xn`), threshold, then charge and vertex association (PV with
 * probability pv_assoc, else a random pileup vertex).  Soft tracks take the
 * branch-free path of soft_tracks(). */
static inline void track(gen *g, double pt, double eta, double c, double s, uint32_t xn)
{
    const toy_params *p = g->p;
    double res = sqrt(p->trk_res_a * p->trk_res_a + p->trk_res_b * p->trk_res_b * pt * pt);
    double ptr = pt * (1.0 + res * qnorm(g->d, &g->r, xn));
    if (!(ptr > p->trk_pt_min)) return;
    uint64_t x = rn(&g->r);
    double u = (double)(uint32_t)x * 0x1.0p-32;
    int32_t charge = (x >> 63) ? 1 : -1;
    int n_pu = g->e->t.n_pu;
    int32_t v = (u < p->pv_assoc || n_pu == 0)
                    ? 0 : 1 + (int32_t)(((x >> 32) & 0x7fffffffu) % (uint32_t)n_pu);
    add(g, ptr, eta, c, s, charge, v);
}

enum { CALO_PH = 0, CALO_NH = 1 };

/* Calorimeter response to a photon (CALO_PH) or hadron (CALO_NH): energy
 * scale, stochastic and constant resolution terms, angular smearing. */
typedef struct calo_resp {
    double scale, stoch, cnst, ang;
} calo_resp;

static inline calo_resp calo_response(const toy_params *p, int type)
{
    if (type == CALO_PH)
        return (calo_resp){p->ph_scale, p->ph_res_stoch * p->ph_res_scale,
                           p->ph_res_const * p->ph_res_scale, p->ph_ang};
    return (calo_resp){p->nh_scale, p->nh_res_stoch, p->nh_res_const, p->nh_ang};
}

/* Calorimeter cluster from a hard-interaction photon or hadron of true
 * (pt, eta, direction (c, s)): energy scale and stochastic + constant
 * resolution (normal from `xn`), angular smearing in eta and phi, then the
 * acceptance and pT threshold on the measured values.  Soft particles take
 * the branch-free path of soft_calo(). */
static void calo(gen *g, int type, double pt, double eta, double c, double s, uint32_t xn)
{
    const toy_params *p = g->p;
    const toy_derived *d = g->d;
    if (!(pt > 0.0)) return; /* e.g. a photon of a pi0 taking no energy */
    double ex = fexp(d, fabs(eta)), ix = 1.0 / ex;
    double ch = 0.5 * (ex + ix), sh = eta < 0.0 ? -0.5 * (ex - ix) : 0.5 * (ex - ix);
    double E = pt * ch;
    const calo_resp cr = calo_response(p, type);
    const double ang = cr.ang;
    double sig = sqrt(cr.stoch * cr.stoch / E + cr.cnst * cr.cnst);
    double Em = E * cr.scale * (1.0 + sig * qnorm(d, &g->r, xn));
    if (!(Em > 0.0)) return;
    uint64_t x = rn(&g->r);
    double de = ang * qnorm(d, &g->r, (uint32_t)x);
    double etam = eta + de;
    if (!(fabs(etam) < p->nt_eta_max)) return;
    /* cosh(eta + de) = cosh(eta) cosh(de) + sinh(eta) sinh(de) */
    double chm;
    if (fabs(de) < 0.3) {
        double d2 = de * de;
        chm = ch * (1.0 + d2 * (0.5 + d2 * (1.0 / 24.0 + d2 / 720.0))) +
              sh * de * (1.0 + d2 * (1.0 / 6.0 + d2 * (1.0 / 120.0 + d2 / 5040.0)));
    } else
        chm = cosh(etam);
    double ptm = Em / chm;
    if (!(ptm > p->nt_pt_min)) return;
    double cd, sd;
    rot(g->d, ang * qnorm(d, &g->r, (uint32_t)(x >> 32)), &cd, &sd);
    add(g, ptm, etam, c * cd - s * sd, s * cd + c * sd, 0, -1);
}

/* A charged particle of the hard interaction: a track inside the tracker
 * (efficiency), a hadron cluster in the calorimeter-only ring, else lost. */
static void hard_charged(gen *g, double pt, double eta, double c, double s)
{
    const toy_params *p = g->p;
    double ae = fabs(eta);
    uint64_t x = rn(&g->r);
    if (ae < p->trk_eta_max) {
        if ((double)(uint32_t)x * 0x1.0p-32 < p->trk_eff)
            track(g, pt, eta, c, s, (uint32_t)(x >> 32));
    } else if (ae < p->nt_eta_max) {
        calo(g, CALO_NH, pt, eta, c, s, (uint32_t)(x >> 32));
    }
}

/* Room for `more` particles, so the branch-free loops below can write
 * without a capacity check. */
static int reserve(gen *g, size_t more)
{
    while (g->e->n + more > g->e->cap)
        if (grow(g->e)) {
            g->nomem = 1;
            return -1;
        }
    return 0;
}

/* Soft tracks of one vertex: n tracks found in the tracker (the count
 * already includes the efficiency).  Branch-free: every candidate is
 * written and kept by advancing the count only when it passes. */
static void soft_tracks(gen *g, int id, uint32_t n)
{
    const toy_params *p = g->p;
    const toy_derived *d = g->d;
    toy_event *e = g->e;
    const double ra2 = p->trk_res_a * p->trk_res_a, rb2 = p->trk_res_b * p->trk_res_b;
    const double te = p->trk_eta_max, ptmin = p->trk_pt_min;
    const uint32_t assoc = p->pu_assoc >= 1.0 ? 0xffffffffu : (uint32_t)(p->pu_assoc * 4294967296.0);
    const int n_pu = e->t.n_pu;
    size_t k = e->n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t xa = rn(&g->r), xb = rn(&g->r), xc = rn(&g->r);
        double pt = qsoft(g->t, 0, (uint32_t)(xa >> 32));
        double ptr = pt * (1.0 + sqrt(ra2 + rb2 * pt * pt) * qnorm(d, &g->r, (uint32_t)xa));
        double c, s;
        qdir(d, (uint32_t)(xc >> 32), &c, &s);
        uint32_t lo = (uint32_t)xb;
        int32_t v;
        if (id > 0)
            v = lo < assoc ? id : 0;
        else /* underlying event: hard-interaction association */
            v = ((double)lo * 0x1.0p-32 < p->pv_assoc || n_pu == 0)
                    ? 0 : 1 + (int32_t)((uint32_t)xc % (uint32_t)n_pu);
        e->pt[k] = ptr;
        e->eta[k] = ((double)(xb >> 32) * 0x1.0p-31 - 1.0) * te;
        e->c[k] = c;
        e->s[k] = s;
        e->charge[k] = (int32_t)((xc >> 31) & 2) - 1;
        e->vtx[k] = v;
        k += ptr > ptmin;
    }
    e->n = k;
}

/* Soft calorimeter clusters of one species: photons (type CALO_PH) or
 * hadrons (CALO_NH) flat in eta within |eta| in [eta0, eta1).  Same
 * response as calo(), branch-free. */
static void soft_calo(gen *g, int type, int spec, double eta0, double eta1, uint32_t n)
{
    const toy_params *p = g->p;
    const toy_derived *d = g->d;
    toy_event *e = g->e;
    const calo_resp cr = calo_response(p, type);
    const double scale = cr.scale, ang = cr.ang;
    const double stoch2 = cr.stoch * cr.stoch, cnst2 = cr.cnst * cr.cnst;
    const double ne = p->nt_eta_max, ptmin = p->nt_pt_min, span = eta1 - eta0;
    size_t k = e->n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t xa = rn(&g->r), xb = rn(&g->r), xc = rn(&g->r);
        double pt = qsoft(g->t, spec, (uint32_t)(xa >> 32));
        /* |eta| uniform in [eta0, eta1), sign from the top bit */
        double ae = eta0 + span * (double)((xb >> 32) & 0x7fffffffu) * 0x1.0p-31;
        double eta = (xb >> 63) ? -ae : ae;
        double ex = fexp(d, ae), ix = 1.0 / ex;
        double ch = 0.5 * (ex + ix), sh = 0.5 * (ex - ix);
        sh = eta < 0.0 ? -sh : sh;
        double E = pt * ch;
        /* sigma_E = sqrt(s^2 E + c^2 E^2) */
        double Em = scale * (E + sqrt(stoch2 * E + cnst2 * E * E) * qnorm(d, &g->r, (uint32_t)xa));
        double de = ang * qnorm(d, &g->r, (uint32_t)xb);
        double d2 = de * de;
        double chm = fabs(de) < 0.3
                         ? ch * (1.0 + d2 * (0.5 + d2 * (1.0 / 24.0 + d2 / 720.0))) +
                               sh * de * (1.0 + d2 * (1.0 / 6.0 + d2 * (1.0 / 120.0 + d2 / 5040.0)))
                         : cosh(eta + de);
        double etam = eta + de;
        double c, s, cd, sd;
        qdir(d, (uint32_t)(xc >> 32), &c, &s);
        rot(g->d, ang * qnorm(d, &g->r, (uint32_t)xc), &cd, &sd);
        double ptm = Em / chm;
        e->pt[k] = ptm;
        e->eta[k] = etam;
        e->c[k] = c * cd - s * sd;
        e->s[k] = s * cd + c * sd;
        e->charge[k] = 0;
        e->vtx[k] = -1;
        k += (ptm > ptmin) & (fabs(etam) < ne);
    }
    e->n = k;
}

/* Soft activity of one vertex (0 = underlying event of the hard
 * interaction, k > 0 = pileup vertex k): a gamma-distributed activity
 * factor (negative-binomial multiplicities), flat in eta, Lomax pT.  The
 * four species counts are independent Poisson numbers (drawn as one total
 * and a multinomial split, the same thing); each species then runs its own
 * branch-free loop. */
static void soft_vertex(gen *g, int id, double ntot, const double *cum, double k)
{
    const toy_params *p = g->p;
    double act = rgamma1(g->d, &g->r, k);
    uint32_t n = rpois(&g->r, act * ntot), cnt[4] = {0, 0, 0, 0};
    uint32_t c0 = (uint32_t)fmin(cum[0] * 4294967296.0, 4294967295.0);
    uint32_t c1 = (uint32_t)fmin(cum[1] * 4294967296.0, 4294967295.0);
    uint32_t c2 = (uint32_t)fmin(cum[2] * 4294967296.0, 4294967295.0);
    for (uint32_t i = 0; i < n; i += 2) {
        uint64_t x = rn(&g->r);
        uint32_t u = (uint32_t)x, v = (uint32_t)(x >> 32);
        cnt[(u >= c0) + (u >= c1) + (u >= c2)]++;
        if (i + 1 < n) cnt[(v >= c0) + (v >= c1) + (v >= c2)]++;
    }
    if (reserve(g, n)) return;
    const double te = p->trk_eta_max, ne = p->nt_eta_max;
    soft_tracks(g, id, cnt[0]);
    if (ne > te) soft_calo(g, CALO_NH, 2, te, ne, cnt[1]);
    soft_calo(g, CALO_PH, 1, 0.0, ne, cnt[2]);
    soft_calo(g, CALO_NH, 2, 0.0, ne, cnt[3]);
}

/* -------------------------------------------------------- pileup library */

void pu_lib_free(pu_lib *l)
{
    free(l->off);
    free(l->npv);
    free(l->nown);
    free(l->agg);
    free(l->pt);
    free(l->eta);
    free(l->c);
    free(l->s);
    free(l->charge);
    memset(l, 0, sizeof *l);
}

#define REALLOC(ptr, n) \
    do { \
        void *q_ = realloc((ptr), (n) * sizeof *(ptr)); \
        if (!q_) return -1; \
        (ptr) = q_; \
    } while (0)

static int lib_reserve(pu_lib *l, size_t np_more)
{
    if (l->nv + 2 > l->vcap) {
        size_t cap = l->vcap ? 2 * l->vcap : 64;
        REALLOC(l->off, cap + 1);
        REALLOC(l->npv, cap);
        REALLOC(l->nown, cap);
        REALLOC(l->agg, cap * LA_N);
        l->vcap = cap;
        if (l->nv == 0) l->off[0] = 0;
    }
    if (l->np + np_more > l->pcap) {
        size_t cap = l->pcap ? l->pcap : 1024;
        while (cap < l->np + np_more) cap *= 2;
        REALLOC(l->pt, cap);
        REALLOC(l->eta, cap);
        REALLOC(l->c, cap);
        REALLOC(l->s, cap);
        REALLOC(l->charge, cap);
        l->pcap = cap;
    }
    return 0;
}

/* Appends the particles of one generated vertex (tracks on vtx 0 = PV or
 * their own vertex, neutrals) with its sums; PV tracks first. */
static int lib_append(pu_lib *l, const toy_event *v)
{
    if (lib_reserve(l, v->n)) return -1;
    size_t o = l->np;
    int32_t npv = 0, nown = 0;
    double *a = l->agg + l->nv * LA_N;
    memset(a, 0, LA_N * sizeof *a);
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < v->n; k++) {
            int pv = v->charge[k] != 0 && v->vtx[k] == 0;
            if (pv != (pass == 0)) continue;
            l->pt[o] = v->pt[k];
            l->eta[o] = v->eta[k];
            l->c[o] = v->c[k];
            l->s[o] = v->s[k];
            l->charge[o] = v->charge[k];
            o++;
            double p = v->pt[k], px = p * v->c[k], py = p * v->s[k];
            a[LA_PF_X] += px;
            a[LA_PF_Y] += py;
            a[LA_PF_SUM] += p;
            if (pv) {
                npv++;
                continue;
            }
            a[LA_NP_X] += px;
            a[LA_NP_Y] += py;
            if (v->charge[k] != 0) {
                nown++;
            } else {
                a[LA_NT_X] += px;
                a[LA_NT_Y] += py;
                a[LA_NT_SUM] += p;
                if (p > a[LA_NT_LEAD]) a[LA_NT_LEAD] = p;
            }
        }
    l->npv[l->nv] = npv;
    l->nown[l->nv] = nown;
    l->np = o;
    l->off[++l->nv] = (int64_t)o;
    return 0;
}

static void soft_vertex(gen *g, int id, double ntot, const double *cum, double k);

/* One pileup vertex from the stream r into the library. */
static int lib_vertex(const wr_toy *toy, wr__rng *r, toy_event *scratch, pu_lib *l)
{
    gen g = {toy, &toy->p, &toy->d, *r, scratch, 0};
    scratch->n = 0;
    scratch->t.n_pu = 0;
    soft_vertex(&g, 1, toy->d.pu_ntot, toy->d.pu_cum, toy->p.pu_k);
    *r = g.r;
    if (g.nomem) return -1;
    return lib_append(l, scratch);
}

/* Library vertex v comes from stream 2^63 + v of the seed, apart from the
 * event streams (< 2^53), so the library does not depend on how its
 * building is split over threads. */
typedef struct lib_job {
    const wr_toy *toy;
    uint64_t seed;
    size_t per;   /* vertices per part */
    pu_lib *parts;
    int *fail;
} lib_job;

static void lib_range(void *ctx, size_t begin, size_t end, int tid)
{
    lib_job *j = ctx;
    size_t part = begin / j->per;
    toy_event scratch;
    toy_event_init(&scratch);
    (void)tid;
    for (size_t v = begin; v < end; v++) {
        wr__rng r;
        wr__rng_seed(&r, j->seed, ((uint64_t)1 << 63) + (uint64_t)v);
        if (lib_vertex(j->toy, &r, &scratch, &j->parts[part])) {
            j->fail[part] = 1;
            break;
        }
    }
    toy_event_free(&scratch);
}

/* Concatenates the parts (in order) into one library. */
static int lib_concat(pu_lib *l, const pu_lib *parts, size_t nparts)
{
    size_t nv = 0, np = 0;
    for (size_t k = 0; k < nparts; k++) nv += parts[k].nv, np += parts[k].np;
    memset(l, 0, sizeof *l);
    if (lib_reserve(l, np)) return -1;
    REALLOC(l->off, nv + 1);
    REALLOC(l->npv, nv + 1);
    REALLOC(l->nown, nv + 1);
    REALLOC(l->agg, (nv + 1) * LA_N);
    l->vcap = nv + 1;
    l->off[0] = 0;
    for (size_t k = 0; k < nparts; k++) {
        const pu_lib *q = &parts[k];
        memcpy(l->npv + l->nv, q->npv, q->nv * sizeof *q->npv);
        memcpy(l->nown + l->nv, q->nown, q->nv * sizeof *q->nown);
        memcpy(l->agg + l->nv * LA_N, q->agg, q->nv * LA_N * sizeof *q->agg);
        memcpy(l->pt + l->np, q->pt, q->np * sizeof *q->pt);
        memcpy(l->eta + l->np, q->eta, q->np * sizeof *q->eta);
        memcpy(l->c + l->np, q->c, q->np * sizeof *q->c);
        memcpy(l->s + l->np, q->s, q->np * sizeof *q->s);
        memcpy(l->charge + l->np, q->charge, q->np * sizeof *q->charge);
        for (size_t v = 0; v < q->nv; v++)
            l->off[l->nv + v + 1] = q->off[v + 1] + (int64_t)l->np;
        l->nv += q->nv;
        l->np += q->np;
    }
    return 0;
}

wr_status pu_lib_build(const wr_toy *toy, uint64_t seed, wr__pool *pool, pu_lib *l)
{
    memset(l, 0, sizeof *l);
    size_t nv = (size_t)toy->p.pu_library;
    if (nv == 0) return WR_OK;
    /* one part per thread and work item; a single part needs no copy */
    size_t nparts = pool ? (size_t)wr__pool_threads(pool) * 4 : 1;
    if (nparts > nv) nparts = nv;
    size_t per = (nv + nparts - 1) / nparts;
    nparts = (nv + per - 1) / per;
    pu_lib *parts = calloc(nparts, sizeof *parts);
    int *fail = calloc(nparts, sizeof *fail);
    int bad = !parts || !fail;
    if (!bad) {
        lib_job j = {toy, seed, per, parts, fail};
        wr__pool_for(pool, nv, per, lib_range, &j);
        for (size_t k = 0; k < nparts; k++) bad |= fail[k];
        if (!bad && nparts == 1) {
            *l = parts[0];
            memset(&parts[0], 0, sizeof parts[0]);
        } else if (!bad && lib_concat(l, parts, nparts)) {
            pu_lib_free(l);
            bad = 1;
        }
    }
    for (size_t k = 0; parts && k < nparts; k++) pu_lib_free(&parts[k]);
    free(parts);
    free(fail);
    if (bad) return wr__fail(WR_ERR_NOMEM, "toy: out of memory for the pileup library");
    return WR_OK;
}

/* The pileup of an event: n_pu vertices, either picked from the library
 * (random vertex, rotation in phi, mirror in eta) or generated afresh into
 * the event's own library (pu_library = 0). */
static int pileup(gen *g, const pu_lib *lib)
{
    toy_event *e = g->e;
    int n_pu = e->t.n_pu;
    if ((size_t)n_pu > e->pkcap) {
        size_t cap = (size_t)n_pu + 64;
        REALLOC(e->pick, cap);
        REALLOC(e->pc, cap);
        REALLOC(e->ps, cap);
        REALLOC(e->pflip, cap);
        e->pkcap = cap;
    }
    if (lib) {
        e->lib = lib;
        for (int j = 0; j < n_pu; j++) {
            uint64_t x = rn(&g->r);
            e->pick[j] = (uint32_t)(((x >> 33) * (uint64_t)lib->nv) >> 31);
            e->pflip[j] = (uint8_t)((x >> 32) & 1u);
            qdir(g->d, (uint32_t)x, &e->pc[j], &e->ps[j]);
        }
        return 0;
    }
    if (!e->scratch) {
        e->scratch = calloc(1, sizeof *e->scratch);
        if (!e->scratch) return -1;
    }
    e->own.nv = e->own.np = 0;
    for (int j = 0; j < n_pu; j++) {
        if (lib_vertex(g->t, &g->r, e->scratch, &e->own)) return -1;
        e->pick[j] = (uint32_t)j;
        e->pc[j] = 1.0;
        e->ps[j] = 0.0;
        e->pflip[j] = 0;
    }
    e->lib = &e->own;
    return 0;
}

size_t toy_event_nparticles(const toy_event *e)
{
    size_t n = e->n;
    for (int j = 0; j < e->t.n_pu; j++) {
        uint32_t v = e->pick[j];
        n += (size_t)(e->lib->off[v + 1] - e->lib->off[v]);
    }
    return n;
}

void toy_event_particles(const toy_event *e, float *pt, float *eta, float *phi,
                         int32_t *charge, int32_t *vtx)
{
    size_t o = 0;
    for (size_t k = 0; k < e->n; k++, o++) {
        pt[o] = (float)e->pt[k];
        eta[o] = (float)e->eta[k];
        phi[o] = (float)atan2(e->s[k], e->c[k]);
        charge[o] = e->charge[k];
        vtx[o] = e->vtx[k];
    }
    const pu_lib *l = e->lib;
    for (int j = 0; j < e->t.n_pu; j++) {
        uint32_t v = e->pick[j];
        double c = e->pc[j], s = e->ps[j], f = e->pflip[j] ? -1.0 : 1.0;
        int64_t a = l->off[v], b = l->off[v + 1];
        for (int64_t k = a; k < b; k++, o++) {
            pt[o] = (float)l->pt[k];
            eta[o] = (float)(f * l->eta[k]);
            phi[o] = (float)atan2(l->s[k] * c + l->c[k] * s, l->c[k] * c - l->s[k] * s);
            charge[o] = l->charge[k];
            vtx[o] = k < a + l->npv[v] ? 0 : (l->charge[k] ? j + 1 : -1);
        }
    }
}

#define MAX_FRAG 512

/* Fragments an ISR cluster of transverse momentum pc along (c, s) at
 * pseudorapidity eta_c into particles: multiplicity 1 + Poisson(n0 +
 * nlog ln(1 + pc)), momentum shares from normalised powers of exponentials,
 * angular spread kt / p around the axis (capped), particle species by
 * fractions. */
static void fragment(gen *g, double pc, double c, double s, double eta_c)
{
    const toy_params *p = g->p;
    double w[MAX_FRAG], sum = 0.0;
    uint32_t nf = 1 + rpois(&g->r, p->frag_n0 + p->frag_nlog * log1p(pc));
    if (nf > MAX_FRAG) nf = MAX_FRAG; /* mean is ~25 at 1 TeV */
    for (uint32_t i = 0; i < nf; i++) {
        double x = -log(ru(&g->r));
        /* the common shapes without pow() */
        w[i] = p->frag_hier == 1.0 ? x : p->frag_hier == 1.5 ? x * sqrt(x)
             : p->frag_hier == 2.0 ? x * x : pow(x, p->frag_hier);
        sum += w[i];
    }
    for (uint32_t i = 0; i < nf; i++) {
        double pt = pc * w[i] / sum;
        if (!(pt > 0.0)) continue;
        double ang = p->frag_kt / pt;
        if (ang > p->frag_maxang) ang = p->frag_maxang;
        double eta = eta_c + ang * rnorm(g->d, &g->r);
        double cd, sd;
        rot(g->d, ang * rnorm(g->d, &g->r), &cd, &sd);
        double cc = c * cd - s * sd, ss = s * cd + c * sd;
        double u = ru(&g->r);
        if (u < p->frac_charged)
            hard_charged(g, pt, eta, cc, ss);
        else if (fabs(eta) >= p->nt_eta_max)
            continue;
        else if (u < p->frac_charged + p->frac_photon) {
            /* a pi0: two photons sharing its pT (flat energy sharing,
             * collinear at this resolution) */
            uint64_t x = rn(&g->r);
            double z = (double)(uint32_t)x * 0x1.0p-32;
            calo(g, CALO_PH, z * pt, eta, cc, ss, (uint32_t)(x >> 32));
            calo(g, CALO_PH, (1.0 - z) * pt, eta, cc, ss, (uint32_t)(rn(&g->r) >> 32));
        } else
            calo(g, CALO_NH, pt, eta, cc, ss, (uint32_t)(rn(&g->r) >> 32));
    }
}

/* ----------------------------------------------------------------- boson */

/* Lab momentum of a massless particle of rest-frame momentum q (|q| = E*)
 * for a boson moving with momentum P (energy E, mass m). */
static void boost_to_lab(const double P[3], double E, double m, const double q[3],
                         double out[3])
{
    double qE = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    double Pq = P[0] * q[0] + P[1] * q[1] + P[2] * q[2];
    /* p = q + P (Pq / (m (E + m)) + qE / m) */
    double k = Pq / (m * (E + m)) + qE / m;
    for (int i = 0; i < 3; i++) out[i] = q[i] + k * P[i];
}

/* Rest-frame momentum of a massless lab momentum q (energy |q|). */
static void boost_to_rest(const double P[3], double E, double m, const double q[3],
                          double out[3])
{
    double qE = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    double Pq = P[0] * q[0] + P[1] * q[1] + P[2] * q[2];
    double k = Pq / (m * (E + m)) - qE / m;
    for (int i = 0; i < 3; i++) out[i] = q[i] + k * P[i];
}

static void unit(double v[3])
{
    double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (n > 0.0)
        for (int i = 0; i < 3; i++) v[i] /= n;
}

static void pt_eta_phi(const double v[3], double *pt, double *eta, double *phi)
{
    *pt = hypot(v[0], v[1]);
    *eta = asinh(v[2] / *pt);
    *phi = atan2(v[1], v[0]);
}

typedef struct boson {
    double m, pt, c, s, y, pz, E;
    double l1[3], l2[3]; /* l1: W charged lepton / Z mu-; l2: nu / Z mu+ */
    int q;                /* W: charge of l1 */
} boson;

/* Boson mass (relativistic Breit-Wigner in s, truncated), pT (truncated
 * Burr XII), azimuth, rapidity (plateau with Gaussian edges), then the
 * decay in the Collins-Soper frame:
 *   dN/dcos ~ 1 + cos^2 + A0/2 (1 - 3 cos^2) + A4 cos,
 * A0 = a0_scale pT^2 / (pT^2 + m^2) (LO q qbar -> V g), A4 = -+2 (V-A, W+-)
 * or z_a4 (Z), signed by the side the quark came from. */
static void gen_boson(gen *g, boson *b)
{
    const toy_params *p = g->p;
    const toy_derived *d = g->d;
    wr__rng *r = &g->r;
    double t = d->bw_t0 + (d->bw_t1 - d->bw_t0) * ru(r);
    double s2 = p->mass * p->mass + p->mass * p->width * tan(t);
    b->m = sqrt(s2);
    double S = d->pt_smax + (1.0 - d->pt_smax) * ru(r);
    b->pt = p->pt_scale * pow(pow(S, -1.0 / p->pt_c) - 1.0, 1.0 / p->pt_p);
    rdir(d, r, &b->c, &b->s);
    double norm = 2.0 * p->y_flat + sqrt(2.0 * PI) * p->y_sigma;
    double u = ru(r) * norm;
    if (u < 2.0 * p->y_flat)
        b->y = u - p->y_flat;
    else {
        double a = p->y_flat + p->y_sigma * fabs(rnorm(d, r));
        b->y = ru(r) < 0.5 ? -a : a;
    }
    double mt = sqrt(b->m * b->m + b->pt * b->pt);
    b->pz = mt * sinh(b->y);
    b->E = mt * cosh(b->y);
    double P[3] = {b->pt * b->c, b->pt * b->s, b->pz};

    /* Collins-Soper axes in the rest frame */
    double ba[3] = {0, 0, 1}, bb[3] = {0, 0, -1}, ua[3], ub[3], z[3], x[3], yv[3];
    boost_to_rest(P, b->E, b->m, ba, ua);
    boost_to_rest(P, b->E, b->m, bb, ub);
    unit(ua);
    unit(ub);
    for (int i = 0; i < 3; i++) {
        z[i] = ua[i] - ub[i];
        x[i] = -(ua[i] + ub[i]);
    }
    unit(z);
    double xn = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    if (xn < 1e-12) { /* pT -> 0: any transverse x */
        x[0] = b->c;
        x[1] = b->s;
        x[2] = 0.0;
    } else
        for (int i = 0; i < 3; i++) x[i] /= xn;
    yv[0] = z[1] * x[2] - z[2] * x[1];
    yv[1] = z[2] * x[0] - z[0] * x[2];
    yv[2] = z[0] * x[1] - z[1] * x[0];

    double a4q;
    if (g->t->process == TOY_W) {
        b->q = ru(r) < p->w_plus_frac ? 1 : -1;
        a4q = b->q > 0 ? -2.0 : 2.0;
    } else {
        b->q = -1; /* l1 is the mu- */
        a4q = p->z_a4;
    }
    /* the quark comes from the +z beam with probability (1 + dir tanh y)/2 */
    double sq = ru(r) < 0.5 * (1.0 + p->quark_dir * tanh(b->y)) ? 1.0 : -1.0;
    double A0 = p->a0_scale * b->pt * b->pt / (b->pt * b->pt + s2);
    double A4 = sq * a4q * (1.0 - A0); /* (1 - A0): stays positive */
    double bound = 2.0 + 0.5 * fabs(A0) + fabs(A4), ct;
    for (;;) {
        ct = 2.0 * ru(r) - 1.0;
        double f = 1.0 + ct * ct + 0.5 * A0 * (1.0 - 3.0 * ct * ct) + A4 * ct;
        if (ru(r) * bound < f) break;
    }
    double st = sqrt(fmax(0.0, 1.0 - ct * ct)), cph, sph;
    rdir(d, r, &cph, &sph);
    double q[3], mq[3];
    for (int i = 0; i < 3; i++) {
        q[i] = 0.5 * b->m * (st * cph * x[i] + st * sph * yv[i] + ct * z[i]);
        mq[i] = -q[i];
    }
    boost_to_lab(P, b->E, b->m, q, b->l1);
    boost_to_lab(P, b->E, b->m, mq, b->l2);
}

typedef struct muon {
    double pt, eta, phi, rpt;
} muon;

static void reco_muon(gen *g, const double v[3], muon *mu)
{
    pt_eta_phi(v, &mu->pt, &mu->eta, &mu->phi);
    mu->rpt = mu->pt * (1.0 + g->p->mu_res * rnorm(g->d, &g->r));
}

static int mu_ok(const toy_params *p, const muon *mu)
{
    return mu->rpt > p->mu_pt_min && fabs(mu->eta) < p->mu_eta_max;
}

wr_status toy_generate(const wr_toy *toy, const pu_lib *lib, uint64_t seed,
                       int64_t ev, toy_event *e)
{
    gen g = {toy, &toy->p, &toy->d, {{0}}, e, 0};
    const toy_params *p = &toy->p;
    wr__rng_seed(&g.r, seed, (uint64_t)ev);
    toy_truth *t = &e->t;
    memset(t, 0, sizeof *t);
    e->n = 0;
    boson b;
    int ok = 0;
    for (int tries = 0; tries < TOY_MAX_TRIES && !ok; tries++) {
        gen_boson(&g, &b);
        muon m1, m2;
        reco_muon(&g, b.l1, &m1);
        if (toy->process == TOY_W) {
            ok = mu_ok(p, &m1);
            if (ok) {
                t->q = b.q;
                t->lgen_pt = m1.pt, t->lgen_eta = m1.eta, t->lgen_phi = m1.phi;
                t->l_pt = m1.rpt, t->l_eta = m1.eta, t->l_phi = m1.phi;
            }
        } else {
            reco_muon(&g, b.l2, &m2);
            ok = mu_ok(p, &m1) && mu_ok(p, &m2);
            if (ok) {
                double m2ll = 2.0 * m1.rpt * m2.rpt *
                              (cosh(m1.eta - m2.eta) - cos(m1.phi - m2.phi));
                ok = m2ll > p->mll_min * p->mll_min && m2ll < p->mll_max * p->mll_max;
            }
            if (ok) { /* l = mu+ (b.l2), l2 = mu- (b.l1) */
                t->q = 1;
                t->lgen_pt = m2.pt, t->lgen_eta = m2.eta, t->lgen_phi = m2.phi;
                t->l_pt = m2.rpt, t->l_eta = m2.eta, t->l_phi = m2.phi;
                t->l2_pt = m1.rpt, t->l2_eta = m1.eta, t->l2_phi = m1.phi;
            }
        }
    }
    if (!ok) return WR_ERR_INVALID_ARG;
    t->v_pt = b.pt;
    t->v_phi = atan2(b.s, b.c);
    t->v_pz = b.pz;
    t->v_m = b.m;
    t->n_pu = (int)rpois(&g.r, p->pu_mu);
    if ((size_t)t->n_pu + 1 > e->vcap) {
        size_t cap = (size_t)t->n_pu + 64;
        int32_t *vc = realloc(e->vcount, cap * sizeof *vc);
        if (!vc) return WR_ERR_NOMEM;
        e->vcount = vc;
        e->vcap = cap;
    }

    /* hard recoil: extra soft emissions, the main cluster balances the rest
     * so that clusters and remnants sum to h_true = -pT(boson) */
    double hx = -b.pt * b.c, hy = -b.pt * b.s;
    /* The forward beam remnants (outside the detector) balance the
     * primordial kT k ~ N(0, kt_remnant^2) per component.  Given the boson
     * pT (= k + ISR), k has mean beta pT and spread sqrt(1 - beta)
     * kt_remnant, beta = 2 kt^2 / (2 kt^2 + pT^2): the remnants take most
     * of a soft recoil and little of a hard one. */
    double kt2 = 2.0 * p->kt_remnant * p->kt_remnant;
    double beta = kt2 > 0.0 ? kt2 / (kt2 + b.pt * b.pt) : 0.0;
    double spread = p->kt_remnant * sqrt(1.0 - beta);
    double mx = (1.0 - beta) * hx - spread * rnorm(g.d, &g.r);
    double my = (1.0 - beta) * hy - spread * rnorm(g.d, &g.r);
    uint32_t nx = rpois(&g.r, p->isr_n_extra);
    for (uint32_t i = 0; i < nx; i++) {
        double k = p->isr_pt_extra * -log(ru(&g.r)), c, s;
        rdir(g.d, &g.r, &c, &s);
        mx -= k * c;
        my -= k * s;
        fragment(&g, k, c, s, p->isr_eta_ycorr * b.y + p->isr_eta_sigma * rnorm(g.d, &g.r));
    }
    double pm = hypot(mx, my);
    if (pm > 0.0)
        fragment(&g, pm, mx / pm, my / pm,
                 p->isr_eta_ycorr * b.y + p->isr_eta_sigma * rnorm(g.d, &g.r));
    soft_vertex(&g, 0, toy->d.ue_ntot, toy->d.ue_cum, p->ue_k);
    if (pileup(&g, p->pu_library > 0 ? lib : NULL)) g.nomem = 1;
    return g.nomem ? WR_ERR_NOMEM : WR_OK;
}

/* ------------------------------------------------------------ table row */

void toy_truth_row(const toy_event *e, int64_t ev, double *row)
{
    const toy_truth *t = &e->t;
    double r[18] = {(double)ev, t->q, t->v_pt, t->v_phi, t->v_pz, t->v_m,
                    t->lgen_pt, t->lgen_eta, t->lgen_phi, t->l_pt, t->l_eta,
                    t->l_phi, t->l2_pt, t->l2_eta, t->l2_phi, (double)t->n_pu,
                    -t->v_pt * cos(t->v_phi), -t->v_pt * sin(t->v_phi)};
    memcpy(row, r, sizeof r);
}

/* The table row: truth, recoil vectors, the contract features and the
 * targets.  The event's sums are accumulated here (hard particles
 * branch-free, pileup vertices from their library sums); the features
 * follow from them by wr__event_features, as in wr_recoil_features. */
void toy_event_row(const wr_toy *toy, const toy_event *e, int64_t ev, double *row)
{
    const toy_derived *e_d = &toy->d;
    double tk_x = 0, tk_y = 0, tk_sum = 0, lead = 0, lead_c = 1, lead_s = 0;
    double tk_e = 0, tk_pz = 0;
    double pf_x = 0, pf_y = 0, pf_sum = 0, np_x = 0, np_y = 0;
    double nt_x = 0, nt_y = 0, nt_sum = 0, nt_lead = 0;
    int64_t n_tk = 0, n_vtx = 1;
    int32_t *vc = e->vcount;
    memset(vc, 0, ((size_t)e->t.n_pu + 1) * sizeof *vc);
    /* hard particles, branch-free: species masks as 0/1 factors; slot 0 of
     * vc collects what is not a pileup-associated track */
    vc[0] = 0;
    for (size_t k = 0; k < e->n; k++) {
        double p = e->pt[k], px = p * e->c[k], py = p * e->s[k];
        int32_t ch = e->charge[k], vx = e->vtx[k];
        double nt = ch == 0, tk = (ch != 0) & (vx == 0), np = 1.0 - tk;
        pf_x += px;
        pf_y += py;
        pf_sum += p;
        np_x += np * px;
        np_y += np * py;
        nt_x += nt * px;
        nt_y += nt * py;
        nt_sum += nt * p;
        nt_lead = fmax(nt_lead, nt * p);
        double ea = e->eta[k], ex = fexp(e_d, fabs(ea)), ix = 1.0 / ex;
        double sh = 0.5 * p * (ex - ix), pabs = 0.5 * p * (ex + ix);
        tk_x += tk * px;
        tk_y += tk * py;
        tk_sum += tk * p;
        tk_pz += tk * (ea < 0.0 ? -sh : sh);
        tk_e += tk * wr__pion_energy(pabs);
        int better = (tk != 0.0) & ((n_tk == 0) | (p > lead));
        lead = better ? p : lead;
        lead_c = better ? e->c[k] : lead_c;
        lead_s = better ? e->s[k] : lead_s;
        n_tk += tk != 0.0;
        vc[((ch != 0) & (vx > 0)) ? vx : 0]++;
    }
    /* pileup vertices: their sums rotated, their PV tracks one by one (in
     * the order wr_toy_particles lists them) */
    const pu_lib *l = e->lib;
    for (int j = 0; j < e->t.n_pu; j++) {
        uint32_t v = e->pick[j];
        double c = e->pc[j], s = e->ps[j], f = e->pflip[j] ? -1.0 : 1.0;
        const double *a = l->agg + (size_t)v * LA_N;
        pf_x += a[LA_PF_X] * c - a[LA_PF_Y] * s;
        pf_y += a[LA_PF_X] * s + a[LA_PF_Y] * c;
        pf_sum += a[LA_PF_SUM];
        np_x += a[LA_NP_X] * c - a[LA_NP_Y] * s;
        np_y += a[LA_NP_X] * s + a[LA_NP_Y] * c;
        nt_x += a[LA_NT_X] * c - a[LA_NT_Y] * s;
        nt_y += a[LA_NT_X] * s + a[LA_NT_Y] * c;
        nt_sum += a[LA_NT_SUM];
        if (a[LA_NT_LEAD] > nt_lead) nt_lead = a[LA_NT_LEAD];
        vc[j + 1] += l->nown[v];
        int64_t k0 = l->off[v], k1 = k0 + l->npv[v];
        for (int64_t k = k0; k < k1; k++) {
            double p = l->pt[k], cc = l->c[k] * c - l->s[k] * s, ss = l->s[k] * c + l->c[k] * s;
            double ea = f * l->eta[k], ex = fexp(e_d, fabs(ea)), ix = 1.0 / ex;
            double pz = 0.5 * p * (ea < 0.0 ? ix - ex : ex - ix), pabs = 0.5 * p * (ex + ix);
            tk_x += p * cc;
            tk_y += p * ss;
            tk_sum += p;
            tk_pz += pz;
            tk_e += wr__pion_energy(pabs);
            if (n_tk == 0 || p > lead) {
                lead = p;
                lead_c = cc;
                lead_s = ss;
            }
            n_tk++;
        }
    }
    for (int j = 1; j <= e->t.n_pu; j++) n_vtx += vc[j] >= 2;
    const wr__event_sums sums = {
        .tk_x = tk_x, .tk_y = tk_y, .tk_sumpt = tk_sum, .tk_pz = tk_pz, .tk_e = tk_e,
        .tk_lead_pt = lead, .tk_lead_phi = atan2(lead_s, lead_c),
        .pf_x = pf_x, .pf_y = pf_y, .pf_sumpt = pf_sum, .np_x = np_x, .np_y = np_y,
        .nt_x = nt_x, .nt_y = nt_y, .nt_sumpt = nt_sum, .nt_lead_pt = nt_lead,
        .n_tk = n_tk, .n_vtx = n_vtx};
    toy_truth_row(e, ev, row);
    double *o = row + 16;
    double htrue[2] = {o[0], o[1]}; /* the last two truth columns */
    o[0] = tk_x, o[1] = tk_y, o[2] = pf_x, o[3] = pf_y, o[4] = np_x, o[5] = np_y;
    o[6] = htrue[0], o[7] = htrue[1];
    wr__event_features(&sums, htrue, row + 24);
}

/* ------------------------------------------------------------ derived */

/* Standard normal quantile by bisection on erfc (done once per handle:
 * 2048 x 64 evaluations). */
static double normal_quantile(double u)
{
    double lo = -40.0, hi = 40.0;
    for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < u) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

void toy_fixed_tables(toy_derived *d)
{
    double *q = d->normal_q;
    q[0] = -INFINITY;
    q[TOY_NQ] = INFINITY;
    for (int j = 1; j < TOY_NQ; j++) q[j] = normal_quantile((double)j / TOY_NQ);
    for (int j = 0; j <= TOY_NEXP; j++) d->texp[j] = exp((double)j / TOY_EXP_STEPS);
    for (int j = 0; j < TOY_NDIR; j++) {
        d->tcos[j] = cos(2.0 * PI * j / TOY_NDIR);
        d->tsin[j] = sin(2.0 * PI * j / TOY_NDIR);
    }
}

/* Soft spectrum: S(pt) = (1 + pt / lambda)^-a.  Relative number above t
 * compared with above 0.5 GeV (the reference of the density knobs). */
static double soft_rel(const toy_params *p, double t)
{
    return pow((p->soft_lambda + t) / (p->soft_lambda + 0.5), -p->soft_a);
}

static void vertex_counts(const toy_params *p, double dnch, double dnph,
                          double dnnh, double *n)
{
    double te = p->trk_eta_max, ne = p->nt_eta_max;
    n[0] = dnch * 2.0 * te * p->trk_eff * soft_rel(p, p->gen_min_ch);
    n[1] = ne > te ? dnch * 2.0 * (ne - te) * soft_rel(p, p->gen_min_nh) : 0.0;
    n[2] = dnph * 2.0 * ne * soft_rel(p, p->gen_min_ph);
    n[3] = dnnh * 2.0 * ne * soft_rel(p, p->gen_min_nh);
}

static void cumulate(const double *n, double *tot, double *cum)
{
    *tot = n[0] + n[1] + n[2] + n[3];
    double acc = 0.0;
    for (int i = 0; i < 3; i++) {
        acc += n[i];
        cum[i] = *tot > 0.0 ? acc / *tot : 0.0;
    }
}

void toy_derive(const toy_params *p, toy_derived *d)
{
    d->soft_t[0] = p->gen_min_ch;
    d->soft_t[1] = p->gen_min_ph;
    d->soft_t[2] = p->gen_min_nh;
    for (int k = 0; k < 3; k++) {
        double th = d->soft_t[k], lam = p->soft_lambda;
        for (int j = 0; j < TOY_NQ; j++)
            d->soft_q[k][j] = (lam + th) * pow(1.0 - (double)j / TOY_NQ, -1.0 / p->soft_a) - lam;
        d->soft_q[k][TOY_NQ] = INFINITY; /* the last bin is sampled exactly */
    }
    vertex_counts(p, p->ue_dnch, p->ue_dnph, p->ue_dnnh, d->ue_n);
    vertex_counts(p, p->pu_dnch, p->pu_dnph, p->pu_dnnh, d->pu_n);
    cumulate(d->ue_n, &d->ue_ntot, d->ue_cum);
    cumulate(d->pu_n, &d->pu_ntot, d->pu_cum);
    d->pt_smax = pow(1.0 + pow(p->pt_max / p->pt_scale, p->pt_p), -p->pt_c);
    double mg = p->mass * p->width, m2 = p->mass * p->mass;
    d->bw_t0 = atan((p->mass_min * p->mass_min - m2) / mg);
    d->bw_t1 = atan((p->mass_max * p->mass_max - m2) / mg);
}
