/*
 * wrecoil/events.h -- Event model: features, kinematics, toy simulation, tables.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_EVENTS_H
#define WRECOIL_EVENTS_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/events.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================ features */
/* Contract: docs/recoil-features.md (copied from the analysis' contract). */

/** Number of regression features and their order (contract order). */
#define WR_N_FEATURES 15
enum {
    WR_F_H_TK = 0, WR_F_PHI_TK, WR_F_R_NTNPV, WR_F_R_M, WR_F_R_LTK, WR_F_R_LNT,
    WR_F_S_TK, WR_F_S_NT, WR_F_S_PF, WR_F_COS_TK_NTNPV, WR_F_ADPHI_TK_NTNPV,
    WR_F_SDPHI_TK_PF, WR_F_SDPHI_TK_LTK, WR_F_N_TK, WR_F_N_VTX
};
/** Recoil vectors returned per event, in this order (x, y pairs). */
enum { WR_R_TK_X = 0, WR_R_TK_Y, WR_R_PF_X, WR_R_PF_Y, WR_R_NTNPV_X,
       WR_R_NTNPV_Y, WR_R_NT_X, WR_R_NT_Y, WR_N_RECOIL = 8 };

/**
 * Computes the recoil features of many events from their reconstructed
 * particles (the boson-decay leptons already removed), following the
 * contract docs/recoil-features.md exactly (summary in docs/events.md).
 *
 * Particles of event i are indices [offsets[i], offsets[i+1]) of the arrays
 * pt (GeV, finite, >= 0), eta, phi (rad, any finite value), charge
 * (0 = neutral cluster, else a track) and vtx (tracks: 0 = PV, > 0 pileup
 * vertex id; neutrals: -1).  offsets has n_events + 1 entries,
 * non-decreasing, offsets[0] = 0.  Events may be empty.
 *
 * Outputs (each may be NULL when not wanted, except features):
 *   features  n_events x WR_N_FEATURES, contract order
 *   recoils   n_events x WR_N_RECOIL: TK, PF, NTNPV, NT vectors (x, y), GeV
 *   no_tk     n_events flags: 1 where the event has no TK recoil (no track
 *             on the PV, or TK tracks summing to exactly zero); then the
 *             TK-dependent features (0-6 and 9-12) and the targets are 0
 *   targets   n_events x 2: ln_e1, e2 -- requires htrue (n_events x 2, the
 *             true recoil vector = -pT of the boson, x and y, GeV; finite
 *             and non-zero)
 * Logarithms whose argument vanishes (r_lnt without a neutral, r_ntnpv with
 * an exactly zero NTNPV vector) are 0; a zero NTNPV vector takes the TK
 * direction (cos = 1, adphi = 0, s = +1).  Sums are done in double
 * precision; the pion mass 0.13957039 GeV is used for m_TK.
 * `nthreads` <= 0 uses all cores (small batches use fewer threads).
 * Fails with WR_ERR_INVALID_ARG naming the argument and index for NULL
 * inputs, bad offsets, NaN/Inf, negative pt, a track with vtx < 0 or a
 * neutral with vtx != -1; outputs are untouched then.
 * (thread-safe, no handle)
 */
WR_API wr_status wr_recoil_features(size_t n_events, const int64_t *offsets,
                                    const float *pt, const float *eta,
                                    const float *phi, const int32_t *charge,
                                    const int32_t *vtx, const float *htrue,
                                    int nthreads, float *features,
                                    float *recoils, uint8_t *no_tk,
                                    float *targets);

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_EVENTS_H */
