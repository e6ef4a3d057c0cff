/* lib/toy_gen.c -- the toy event generator (docs/toy.md) and the inline
 * computation of the contract features from its particles.
 *
 * Speed matters here (>= 1e5 events/s on one core with ~600 particles per
 * event), so the hot loops
 *   - step the core xoshiro256** state inline (same generator and seeding
 *     as wr__rng, only without a function call per draw),
 *   - draw soft-particle pT and Gaussian smearing from piecewise-linear
 *     inverse-CDF tables with exact tails (toy_derive),
 *   - keep directions as (cos phi, sin phi) drawn by the polar method, so
 *     the event table needs no trigonometry per particle,
 *   - draw the number of reconstructed soft tracks directly (a Poisson count
 *     thinned by the efficiency is again Poisson).
 * The feature code mirrors lib/features.c definition by definition; the
 * test checks both agree on the same particles. */
#include "toy_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;
static const double PION_MASS = 0.13957039; /* as lib/features.c */

/* ------------------------------------------------------------------ rng */

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* One xoshiro256** step on the core state (identical to wr__rng_u64). */
static inline uint64_t rn(wr__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in (0, 1) from 53 bits. */
static inline double ru(wr__rng *r) { return ((double)(rn(r) >> 11) + 0.5) * 0x1.0p-53; }

/* Two uniforms in [0, 1) from the two 32-bit halves of one draw (used for
 * accept/reject decisions and positions where 32 bits are plenty). */
static inline void ru2(wr__rng *r, double *a, double *b)
{
    uint64_t x = rn(r);
    *a = (double)(uint32_t)x * 0x1.0p-32;
    *b = (double)(x >> 32) * 0x1.0p-32;
}

/* Sample of a table-driven inverse CDF: the top TOY_QBITS bits choose the
 * bin, the next 42 bits the position inside it. */
#define FRAC_BITS 42
static inline void qbin(uint64_t x, unsigned *j, double *f)
{
    *j = (unsigned)(x >> (64 - TOY_QBITS));
    *f = (double)((x >> 11) & ((1ull << FRAC_BITS) - 1)) * 0x1.0p-42;
}

/* Standard normal tail beyond x0 > 0 (Marsaglia 1964): exact. */
static double normal_tail(wr__rng *r, double x0)
{
    for (;;) {
        double x = sqrt(x0 * x0 - 2.0 * log(ru(r)));
        if (ru(r) * x < x0) return x;
    }
}

/* Standard normal: piecewise-linear quantile function between the 2^11
 * quantiles (|x| < 3.3), exact tails beyond. */
static inline double rnorm(const toy_derived *d, wr__rng *r)
{
    unsigned j;
    double f;
    qbin(rn(r), &j, &f);
    if (j == 0) return -normal_tail(r, -d->normal_q[1]);
    if (j == TOY_NQ - 1) return normal_tail(r, d->normal_q[TOY_NQ - 1]);
    return d->normal_q[j] + f * (d->normal_q[j + 1] - d->normal_q[j]);
}

/* Soft-particle pT above threshold `k` (0 charged, 1 photon, 2 neutral
 * hadron): Lomax spectrum, table in the bulk, exact in the last bin. */
static inline double rsoft(const wr_toy *t, wr__rng *r, int k)
{
    unsigned j;
    double f;
    qbin(rn(r), &j, &f);
    const double *q = t->d.soft_q[k];
    if (j < TOY_NQ - 1) return q[j] + f * (q[j + 1] - q[j]);
    double u = ((double)j + f) / TOY_NQ; /* CDF value in the last bin */
    double lam = t->p.soft_lambda, th = t->d.soft_t[k];
    return (lam + th) * pow(1.0 - u + 0x1.0p-60, -1.0 / t->p.soft_a) - lam;
}

/* Uniform direction in the transverse plane as (cos, sin): polar method on
 * a point uniform in the unit disc (angle doubled), no trigonometry. */
static inline void rdir(wr__rng *r, double *c, double *s)
{
    for (;;) {
        uint64_t x = rn(r);
        double u = (double)(int32_t)(uint32_t)x * 0x1.0p-31;
        double v = (double)(int32_t)(uint32_t)(x >> 32) * 0x1.0p-31;
        double q = u * u + v * v;
        if (q < 1.0 && q > 1e-20) {
            double inv = 1.0 / q;
            *c = (u * u - v * v) * inv;
            *s = 2.0 * u * v * inv;
            return;
        }
    }
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
static inline void rot(double a, double *cd, double *sd)
{
    if (fabs(a) < 0.3) {
        double a2 = a * a;
        *cd = 1.0 - a2 * (0.5 - a2 * (1.0 / 24.0 - a2 / 720.0));
        *sd = a * (1.0 - a2 * (1.0 / 6.0 - a2 * (1.0 / 120.0 - a2 / 5040.0)));
    } else {
        *cd = cos(a);
        *sd = sin(a);
    }
}

static inline double cosh_fast(double eta)
{
    double e = exp(eta);
    return 0.5 * (e + 1.0 / e);
}

/* ------------------------------------------------------------- particles */

void toy_event_init(toy_event *e) { memset(e, 0, sizeof *e); }

void toy_event_free(toy_event *e)
{
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

/* A track candidate that passed acceptance and efficiency: pT resolution
 * sqrt(a^2 + (b pT)^2), threshold, then vertex association.  `origin` is 0
 * for the hard interaction, k > 0 for pileup vertex k. */
static inline void track(gen *g, double pt, double eta, double c, double s,
                         int origin)
{
    const toy_params *p = g->p;
    double res = sqrt(p->trk_res_a * p->trk_res_a + p->trk_res_b * p->trk_res_b * pt * pt);
    double ptr = pt * (1.0 + res * rnorm(g->d, &g->r));
    if (!(ptr > p->trk_pt_min)) return;
    uint64_t x = rn(&g->r);
    double u = (double)(uint32_t)x * 0x1.0p-32;
    int32_t charge = (x >> 63) ? 1 : -1;
    int32_t v;
    int n_pu = g->e->t.n_pu;
    if (origin == 0)
        v = (u < p->pv_assoc || n_pu == 0)
                ? 0 : 1 + (int32_t)(((x >> 32) & 0x7fffffffu) % (uint32_t)n_pu);
    else
        v = u < p->pu_assoc ? origin : 0;
    add(g, ptr, eta, c, s, charge, v);
}

enum { CALO_PH = 0, CALO_NH = 1 };

/* Calorimeter cluster from a photon or a hadron of true (pt, eta, dir):
 * energy scale and stochastic + constant resolution, angular smearing in
 * eta and phi, then the acceptance and pT threshold on measured values. */
static void calo(gen *g, int type, double pt, double eta, double c, double s)
{
    const toy_params *p = g->p;
    double ch = cosh_fast(eta), E = pt * ch;
    double scale, stoch, cnst, ang;
    if (type == CALO_PH) {
        scale = p->ph_scale;
        stoch = p->ph_res_stoch * p->ph_res_scale;
        cnst = p->ph_res_const * p->ph_res_scale;
        ang = p->ph_ang;
    } else {
        scale = p->nh_scale;
        stoch = p->nh_res_stoch;
        cnst = p->nh_res_const;
        ang = p->nh_ang;
    }
    double sig = sqrt(stoch * stoch / E + cnst * cnst);
    double Em = E * scale * (1.0 + sig * rnorm(g->d, &g->r));
    if (!(Em > 0.0)) return;
    double etam = eta + ang * rnorm(g->d, &g->r);
    if (!(fabs(etam) < p->nt_eta_max)) return;
    double ptm = Em / (etam == eta ? ch : cosh_fast(etam));
    if (!(ptm > p->nt_pt_min)) return;
    double cd, sd;
    rot(ang * rnorm(g->d, &g->r), &cd, &sd);
    add(g, ptm, etam, c * cd - s * sd, s * cd + c * sd, 0, -1);
}

/* A charged particle of the hard interaction: a track inside the tracker
 * (efficiency), a hadron cluster in the calorimeter-only ring, else lost. */
static void hard_charged(gen *g, double pt, double eta, double c, double s)
{
    const toy_params *p = g->p;
    double ae = fabs(eta);
    if (ae < p->trk_eta_max) {
        if (ru(&g->r) < p->trk_eff) track(g, pt, eta, c, s, 0);
    } else if (ae < p->nt_eta_max) {
        calo(g, CALO_NH, pt, eta, c, s);
    }
}

/* Soft activity of one vertex (0 = underlying event of the hard
 * interaction, k > 0 = pileup vertex k): a gamma-distributed activity
 * factor (negative-binomial multiplicities), flat in eta, Lomax pT. */
static void soft_vertex(gen *g, int id, const double *n, double k)
{
    const toy_params *p = g->p;
    double act = rgamma1(g->d, &g->r, k);
    uint32_t ntk = rpois(&g->r, act * n[0]);
    uint32_t nfw = rpois(&g->r, act * n[1]);
    uint32_t nph = rpois(&g->r, act * n[2]);
    uint32_t nnh = rpois(&g->r, act * n[3]);
    const double te = p->trk_eta_max, ne = p->nt_eta_max;
    for (uint32_t i = 0; i < ntk; i++) {
        double pt = rsoft(g->t, &g->r, 0), c, s, u = ru(&g->r);
        rdir(&g->r, &c, &s);
        track(g, pt, (2.0 * u - 1.0) * te, c, s, id);
    }
    for (uint32_t i = 0; i < nfw; i++) {
        double pt = rsoft(g->t, &g->r, 2), c, s, u = ru(&g->r);
        rdir(&g->r, &c, &s);
        double a = te + (ne - te) * fabs(2.0 * u - 1.0);
        calo(g, CALO_NH, pt, u < 0.5 ? -a : a, c, s);
    }
    for (uint32_t i = 0; i < nph; i++) {
        double pt = rsoft(g->t, &g->r, 1), c, s, u = ru(&g->r);
        rdir(&g->r, &c, &s);
        calo(g, CALO_PH, pt, (2.0 * u - 1.0) * ne, c, s);
    }
    for (uint32_t i = 0; i < nnh; i++) {
        double pt = rsoft(g->t, &g->r, 2), c, s, u = ru(&g->r);
        rdir(&g->r, &c, &s);
        calo(g, CALO_NH, pt, (2.0 * u - 1.0) * ne, c, s);
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
        w[i] = p->frag_hier == 1.0 ? x : pow(x, p->frag_hier);
        sum += w[i];
    }
    for (uint32_t i = 0; i < nf; i++) {
        double pt = pc * w[i] / sum;
        if (!(pt > 0.0)) continue;
        double ang = p->frag_kt / pt;
        if (ang > p->frag_maxang) ang = p->frag_maxang;
        double eta = eta_c + ang * rnorm(g->d, &g->r);
        double cd, sd;
        rot(ang * rnorm(g->d, &g->r), &cd, &sd);
        double cc = c * cd - s * sd, ss = s * cd + c * sd;
        double u = ru(&g->r);
        if (u < p->frac_charged)
            hard_charged(g, pt, eta, cc, ss);
        else if (u < p->frac_charged + p->frac_photon) {
            if (fabs(eta) < p->nt_eta_max) calo(g, CALO_PH, pt, eta, cc, ss);
        } else if (fabs(eta) < p->nt_eta_max)
            calo(g, CALO_NH, pt, eta, cc, ss);
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
    rdir(r, &b->c, &b->s);
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
    double A4 = sq * a4q;
    double bound = 2.0 + 0.5 * fabs(A0) + fabs(A4), ct;
    for (;;) {
        ct = 2.0 * ru(r) - 1.0;
        double f = 1.0 + ct * ct + 0.5 * A0 * (1.0 - 3.0 * ct * ct) + A4 * ct;
        if (ru(r) * bound < f) break;
    }
    double st = sqrt(fmax(0.0, 1.0 - ct * ct)), cph, sph;
    rdir(r, &cph, &sph);
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

wr_status toy_generate(const wr_toy *toy, uint64_t seed, int64_t ev, toy_event *e)
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
     * so that the clusters sum to h_true = -pT(boson) */
    double hx = -b.pt * b.c, hy = -b.pt * b.s;
    uint32_t nx = rpois(&g.r, p->isr_n_extra);
    double mx = hx, my = hy;
    for (uint32_t i = 0; i < nx; i++) {
        double k = p->isr_pt_extra * -log(ru(&g.r)), c, s;
        rdir(&g.r, &c, &s);
        mx -= k * c;
        my -= k * s;
        fragment(&g, k, c, s, p->isr_eta_ycorr * b.y + p->isr_eta_sigma * rnorm(g.d, &g.r));
    }
    double pm = hypot(mx, my);
    if (pm > 0.0)
        fragment(&g, pm, mx / pm, my / pm,
                 p->isr_eta_ycorr * b.y + p->isr_eta_sigma * rnorm(g.d, &g.r));
    soft_vertex(&g, 0, toy->d.ue_n, p->ue_k);
    for (int v = 1; v <= t->n_pu; v++) soft_vertex(&g, v, toy->d.pu_n, p->pu_k);
    return g.nomem ? WR_ERR_NOMEM : WR_OK;
}

/* ------------------------------------------------------- features inline */

static double dphi(double a, double b) { return wr__wrap_angle(b - a); }

static double collimation(double x, double y, double sumpt)
{
    return sumpt > 0.0 ? hypot(x, y) / sumpt : 0.0;
}

static double log_ratio(double a, double b) { return a > 0.0 ? log(a / b) : 0.0; }

void toy_truth_row(const toy_event *e, int64_t ev, double *row)
{
    const toy_truth *t = &e->t;
    double r[18] = {(double)ev, t->q, t->v_pt, t->v_phi, t->v_pz, t->v_m,
                    t->lgen_pt, t->lgen_eta, t->lgen_phi, t->l_pt, t->l_eta,
                    t->l_phi, t->l2_pt, t->l2_eta, t->l2_phi, (double)t->n_pu,
                    -t->v_pt * cos(t->v_phi), -t->v_pt * sin(t->v_phi)};
    memcpy(row, r, sizeof r);
}

/* The table row: truth, recoil vectors, the contract features exactly as
 * lib/features.c defines them (including its conventions for empty sets),
 * and the targets. */
void toy_event_row(const toy_event *e, int64_t ev, double *row)
{
    double tk_x = 0, tk_y = 0, tk_sum = 0, lead = 0, lead_c = 1, lead_s = 0;
    double tk_e = 0, tk_pz = 0;
    double pf_x = 0, pf_y = 0, pf_sum = 0, np_x = 0, np_y = 0;
    double nt_x = 0, nt_y = 0, nt_sum = 0, nt_lead = 0;
    int64_t n_tk = 0, n_vtx = 1;
    int32_t *vc = e->vcount;
    memset(vc, 0, ((size_t)e->t.n_pu + 1) * sizeof *vc);
    for (size_t k = 0; k < e->n; k++) {
        double p = e->pt[k], px = p * e->c[k], py = p * e->s[k];
        pf_x += px;
        pf_y += py;
        pf_sum += p;
        if (e->charge[k] == 0 || e->vtx[k] != 0) {
            np_x += px;
            np_y += py;
        }
        if (e->charge[k] == 0) {
            nt_x += px;
            nt_y += py;
            nt_sum += p;
            if (p > nt_lead) nt_lead = p;
        } else if (e->vtx[k] == 0) {
            double ex = exp(e->eta[k]);
            double pz = 0.5 * p * (ex - 1.0 / ex), pabs = 0.5 * p * (ex + 1.0 / ex);
            tk_x += px;
            tk_y += py;
            tk_sum += p;
            tk_pz += pz;
            tk_e += sqrt(pabs * pabs + PION_MASS * PION_MASS);
            if (n_tk == 0 || p > lead) {
                lead = p;
                lead_c = e->c[k];
                lead_s = e->s[k];
            }
            n_tk++;
        } else if (++vc[e->vtx[k]] == 2)
            n_vtx++;
    }
    toy_truth_row(e, ev, row);
    double htx = row[16], hty = row[17];
    double *o = row + 16;
    o[0] = tk_x, o[1] = tk_y, o[2] = pf_x, o[3] = pf_y, o[4] = np_x, o[5] = np_y;
    o[6] = htx, o[7] = hty;
    double *f = row + 24;
    memset(f, 0, (WR_N_FEATURES + 2) * sizeof *f);
    f[WR_F_S_NT] = collimation(nt_x, nt_y, nt_sum);
    f[WR_F_S_PF] = collimation(pf_x, pf_y, pf_sum);
    f[WR_F_N_TK] = (double)n_tk;
    f[WR_F_N_VTX] = (double)n_vtx;
    double h_tk = hypot(tk_x, tk_y);
    if (!(h_tk > 0.0)) return;
    double phi_tk = atan2(tk_y, tk_x);
    double h_np = hypot(np_x, np_y);
    double phi_np = h_np > 0.0 ? atan2(np_y, np_x) : phi_tk;
    double phi_pf = atan2(pf_y, pf_x);
    double m2 = tk_e * tk_e - (tk_x * tk_x + tk_y * tk_y + tk_pz * tk_pz);
    double m_tk = sqrt(m2 > 0.0 ? m2 : 0.0);
    double d_np = dphi(phi_tk, phi_np);
    double sgn = d_np >= 0.0 ? 1.0 : -1.0;
    f[WR_F_H_TK] = h_tk;
    f[WR_F_PHI_TK] = phi_tk;
    f[WR_F_R_NTNPV] = log_ratio(h_np, h_tk);
    f[WR_F_R_M] = log_ratio(m_tk, h_tk);
    f[WR_F_R_LTK] = log_ratio(lead, h_tk);
    f[WR_F_R_LNT] = log_ratio(nt_lead, h_tk);
    f[WR_F_S_TK] = collimation(tk_x, tk_y, tk_sum);
    f[WR_F_COS_TK_NTNPV] = cos(d_np);
    f[WR_F_ADPHI_TK_NTNPV] = fabs(d_np);
    f[WR_F_SDPHI_TK_PF] = sgn * dphi(phi_tk, phi_pf);
    f[WR_F_SDPHI_TK_LTK] = sgn * dphi(phi_tk, atan2(lead_s, lead_c));
    f[WR_N_FEATURES] = log(hypot(htx, hty) / h_tk);
    f[WR_N_FEATURES + 1] = dphi(phi_tk, atan2(hty, htx));
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

void toy_normal_table(double *q)
{
    q[0] = -INFINITY;
    q[TOY_NQ] = INFINITY;
    for (int j = 1; j < TOY_NQ; j++) q[j] = normal_quantile((double)j / TOY_NQ);
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
    d->pt_smax = pow(1.0 + pow(p->pt_max / p->pt_scale, p->pt_p), -p->pt_c);
    double mg = p->mass * p->width, m2 = p->mass * p->mass;
    d->bw_t0 = atan((p->mass_min * p->mass_min - m2) / mg);
    d->bw_t1 = atan((p->mass_max * p->mass_max - m2) / mg);
}
