/* lib/features_int.h -- the per-event part of the contract features
 * (docs/events.md), shared by wr_recoil_features (lib/features.c, from
 * particle arrays) and the toy's event table (lib/toy_gen.c, from its
 * own particles and pileup-vertex sums).  Each caller accumulates the sums
 * of an event its own way; the features follow from the sums by
 * wr__event_features alone.  Not installed. */
#ifndef WR_FEATURES_INT_H
#define WR_FEATURES_INT_H

#include "core.h"

#include <math.h>

/* Charged-pion mass (GeV, PDG): the mass hypothesis for every track in m_TK. */
#define WR__PION_MASS 0.13957039

/* Energy of a PV track of momentum |p| = pabs under the pion hypothesis. */
static inline double wr__pion_energy(double pabs)
{
    return sqrt(pabs * pabs + WR__PION_MASS * WR__PION_MASS);
}

/* Sums of one event, accumulated in double.  TK: tracks on the primary
 * vertex (their 4-vector is (tk_e; tk_x, tk_y, tk_pz)); PF: every particle;
 * NTNPV (np): every particle but the PV tracks, summed directly (no PF - TK
 * cancellation); NT: neutrals.  tk_lead_phi is any angle of the leading
 * PV track (wrapped here); n_vtx counts the primary vertex. */
typedef struct wr__event_sums {
    double tk_x, tk_y, tk_sumpt, tk_pz, tk_e, tk_lead_pt, tk_lead_phi;
    double pf_x, pf_y, pf_sumpt;
    double np_x, np_y;
    double nt_x, nt_y, nt_sumpt, nt_lead_pt;
    int64_t n_tk, n_vtx;
} wr__event_sums;

/* The WR_N_FEATURES features of an event (contract order) into out[0..14]
 * and, when `htrue` (the true recoil x, y; non-zero) is given, the targets
 * ln_e1 = ln(|h_true| / h_tk) and e2 = dphi(TK, h_true) into out[15], out[16].
 * Without a TK recoil (no PV track, or an exact cancellation) the
 * TK-dependent features and the targets are 0 and it returns 0 (the event
 * is flagged no_tk); else 1. */
int wr__event_features(const wr__event_sums *s, const double *htrue, double *out);

#endif
