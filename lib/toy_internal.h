/* lib/toy_internal.h -- internals of the toy simulation (lib/toy.c: handle,
 * knobs, drivers, densities; lib/toy_gen.c: the event generator and the
 * event sums behind the table's features).  Not installed. */
#ifndef WR_TOY_INTERNAL_H
#define WR_TOY_INTERNAL_H

#include "core.h"

enum { TOY_W = 0, TOY_Z = 1 };

/* Every knob (docs/toy.md).  GeV and rad. */
typedef struct toy_params {
    /* boson */
    double mass, width, mass_min, mass_max;
    double w_plus_frac;
    double pt_scale, pt_p, pt_c, pt_max;   /* Burr XII pT spectrum */
    double y_flat, y_sigma;                /* rapidity plateau + Gaussian edges */
    double quark_dir, a0_scale, z_a4;      /* decay angles */
    /* muons */
    double mu_res, mu_pt_min, mu_eta_max, mll_min, mll_max;
    /* hard recoil: ISR clusters and their fragmentation */
    double kt_remnant, isr_n_extra, isr_pt_extra, isr_eta_sigma, isr_eta_ycorr;
    double frag_n0, frag_nlog, frag_kt, frag_maxang, frag_hier;
    double frac_charged, frac_photon;
    /* soft activity: underlying event (vertex 0) and pileup vertices */
    double ue_dnch, ue_dnph, ue_dnnh, ue_k;
    double pu_mu, pu_dnch, pu_dnph, pu_dnnh, pu_k;
    double soft_a, soft_lambda;
    double gen_min_ch, gen_min_ph, gen_min_nh;
    /* detector */
    double trk_eff, trk_eta_max, trk_pt_min, trk_res_a, trk_res_b;
    double pv_assoc, pu_assoc;
    double nt_eta_max, nt_pt_min;
    double ph_scale, ph_res_stoch, ph_res_const, ph_res_scale, ph_ang;
    double nh_scale, nh_res_stoch, nh_res_const, nh_ang;
    /* execution */
    int64_t chunk;
    int64_t pu_library;
    int64_t pu_library_seed;
} toy_params;

/* Quantile tables: piecewise-linear inverse CDFs with 2^TOY_QBITS bins; the
 * outermost bins are sampled exactly (analytic tails). */
#define TOY_QBITS 10
#define TOY_NQ (1 << TOY_QBITS)
/* exp() on [0, 4) from a table at steps of 1/64 and a 4th-order Taylor
 * polynomial (relative error < 1e-11) */
#define TOY_EXP_STEPS 64
#define TOY_NEXP (4 * TOY_EXP_STEPS)
/* directions: 256 nodes on the circle and a Taylor rotation (exact to
 * rounding) */
#define TOY_NDIR 256

typedef struct toy_derived {
    double normal_q[TOY_NQ + 1];   /* standard normal quantiles at j / NQ */
    double texp[TOY_NEXP + 1];     /* exp(j / TOY_EXP_STEPS), j = 0..NEXP */
    double tcos[TOY_NDIR], tsin[TOY_NDIR]; /* cos, sin of 2 pi j / NDIR */
    double soft_q[3][TOY_NQ + 1];  /* soft pT above gen_min_{ch,ph,nh} */
    double soft_t[3];              /* the thresholds */
    /* mean counts per soft vertex for activity 1 (before the gamma factor):
     * [0] central reconstructed tracks, [1] forward charged (calorimeter
     * only), [2] photons, [3] neutral hadrons; for UE and pileup */
    double ue_n[4], pu_n[4];
    /* the same as one total count and cumulative type fractions */
    double ue_ntot, pu_ntot, ue_cum[3], pu_cum[3];
    /* Burr CDF at pt_max (truncation), BW atan range */
    double pt_smax;                /* survival S(pt_max) */
    double bw_t0, bw_t1;
} toy_derived;

struct wr_toy {
    int process;
    toy_params p;
    toy_derived d;
    wr_progress_fn progress;
    void *progress_user;
};

/* Truth of one generated event (table columns that do not depend on the
 * recoil reconstruction). */
typedef struct toy_truth {
    double q, v_pt, v_phi, v_pz, v_m;
    double lgen_pt, lgen_eta, lgen_phi;
    double l_pt, l_eta, l_phi, l2_pt, l2_eta, l2_phi;
    int n_pu;
} toy_truth;

/* A library of pileup vertices (docs/toy.md, "pileup library"): the
 * particles of each vertex, tracks associated to the PV stored first, and
 * per-vertex sums so the event table can add a vertex without visiting its
 * particles.  Events pick vertices at random and rotate them in phi (and
 * mirror them in eta), as the generator samples draw pileup from a
 * library of minimum-bias events. */
enum { LA_PF_X, LA_PF_Y, LA_PF_SUM, LA_NP_X, LA_NP_Y, LA_NT_X, LA_NT_Y,
       LA_NT_SUM, LA_NT_LEAD, LA_N };
typedef struct pu_lib {
    size_t nv, np, vcap, pcap;
    int64_t *off;   /* nv + 1 particle offsets */
    int32_t *npv;   /* tracks associated to the PV (the first of the vertex) */
    int32_t *nown;  /* tracks associated to the vertex itself */
    double *agg;    /* nv x LA_N sums */
    double *pt, *eta, *c, *s;
    int32_t *charge;
} pu_lib;

void pu_lib_free(pu_lib *l);
/* Builds the library of toy->p.pu_library vertices for `seed`, spread over
 * `pool` (NULL: the calling thread).  Sets the error message on failure. */
wr_status pu_lib_build(const wr_toy *toy, uint64_t seed, wr__pool *pool, pu_lib *l);

/* Particles of one event, struct of arrays; the direction is kept as
 * (cos phi, sin phi) so that the table path needs no trigonometry. */
typedef struct toy_event {
    toy_truth t;
    size_t n, cap;
    double *pt, *eta, *c, *s;
    int32_t *charge, *vtx;
    int32_t *vcount; /* scratch: tracks per pileup vertex (n_vtx) */
    size_t vcap;
    /* pileup: vertex j = 1..n_pu is library vertex pick[j-1] rotated by
     * (pc, ps) in phi and mirrored in eta when pflip */
    const pu_lib *lib;
    uint32_t *pick;
    double *pc, *ps;
    uint8_t *pflip;
    size_t pkcap;
    pu_lib own;                 /* pu_library = 0: this event's vertices */
    struct toy_event *scratch;  /* particles of one vertex while building */
} toy_event;

void toy_event_init(toy_event *e);
void toy_event_free(toy_event *e);

/* Generates event `ev` of `seed`.  Returns WR_OK, WR_ERR_NOMEM, or
 * WR_ERR_INVALID_ARG when the selection rejected TOY_MAX_TRIES draws in a
 * row (knobs that select nothing).  Sets no error message (worker threads);
 * the caller does. */
#define TOY_MAX_TRIES 100000
wr_status toy_generate(const wr_toy *toy, const pu_lib *lib, uint64_t seed,
                       int64_t ev, toy_event *e);

/* Table row of a generated event (wr_toy_table_ncols() doubles). */
void toy_event_row(const wr_toy *toy, const toy_event *e, int64_t ev, double *row);
/* Number of particles of event e with its pileup expanded, and writing
 * them (floats, phi from atan2) to arrays with room for that many: the hard
 * interaction first, then pileup vertices 1..n_pu (PV tracks first). */
size_t toy_event_nparticles(const toy_event *e);
void toy_event_particles(const toy_event *e, float *pt, float *eta, float *phi,
                         int32_t *charge, int32_t *vtx);
/* Truth row (wr_toy_truth_ncols() doubles). */
void toy_truth_row(const toy_event *e, int64_t ev, double *row);

/* Derived tables from the knobs (normal_q and texp are filled once at
 * creation by toy_fixed_tables). */
void toy_fixed_tables(toy_derived *d);
void toy_derive(const toy_params *p, toy_derived *d);

#endif
