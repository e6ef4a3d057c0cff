/* lib/kinematics.c -- transverse mass, the W-like Z, the boson from two
 * leptons, the recoil observables y and angle wrapping (docs/events.md).
 * Batch functions over arrays; double precision inside, float outputs. */
#include "core.h"

#include <math.h>
#include <stdlib.h>

/* Recoil vectors may sit inside wider rows (e.g. the TK or PF pair of
 * wr_recoil_features' `recoils`), so they are read with a row stride. */
static wr_status check_stride(const char *fn, const char *arg, size_t stride)
{
    if (stride >= 2) return WR_OK;
    return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s' is %zu, must be >= 2 "
                    "(floats from one (x, y) row to the next)", fn, arg, stride);
}

/* Finite check of n rows (x, y) read with a stride. */
static wr_status check_xy(const char *fn, const char *arg, const float *v,
                          size_t n, size_t stride)
{
    if (!v) return wr__check_ptr(fn, arg, v);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i * stride]) || !isfinite(v[i * stride + 1]))
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': NaN or Inf "
                            "in row %zu", fn, arg, i);
    return WR_OK;
}

/* n events of `width` values each must be addressable: an n whose product
 * overflows size_t is refused before anything is read. */
static wr_status check_rows(const char *fn, size_t n, size_t width)
{
    size_t total;
    if (!wr__mul_size(n, width, &total))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' (%zu) times %zu "
                        "values per event overflows", fn, n, width);
    return WR_OK;
}

/* pT >= 0 and finite. */
static wr_status check_pt(const char *fn, const char *arg, const float *pt, size_t n)
{
    wr_status st = wr__check_finite_f(fn, arg, pt, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++)
        if (pt[i] < 0.0f)
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': negative "
                            "(%g) at index %zu", fn, arg, (double)pt[i], i);
    return WR_OK;
}

WR_API double wr_wrap_angle(double a)
{
    return isfinite(a) ? wr__wrap_angle(a) : NAN;
}

/* MT^2 = 2 (pt_l |pt_l + h| + pt_l^2 + pt_l . h), i.e. 2 pt_l pt_nu (1 -
 * cos) with the neutrino -(pt_l + h); rounding can make it a hair below 0. */
static double mt_of(double pt, double phi, double hx, double hy)
{
    double lx = pt * cos(phi), ly = pt * sin(phi);
    double mt2 = 2.0 * (pt * hypot(lx + hx, ly + hy) + pt * pt + lx * hx + ly * hy);
    return sqrt(mt2 > 0.0 ? mt2 : 0.0);
}

WR_API wr_status wr_transverse_mass(size_t n, const float *lep_pt,
                                    const float *lep_phi, const float *h,
                                    size_t h_stride, float *mt)
{
    static const char *FN = "wr_transverse_mass";
    wr_status st;
    if ((st = wr__check_ptr(FN, "mt", mt)) || (st = check_stride(FN, "h_stride", h_stride)) ||
        (st = check_rows(FN, n, h_stride)) || (st = check_pt(FN, "lep_pt", lep_pt, n)) ||
        (st = wr__check_finite_f(FN, "lep_phi", lep_phi, n)) ||
        (st = check_xy(FN, "h", h, n, h_stride)))
        return st;
    for (size_t i = 0; i < n; i++)
        mt[i] = (float)mt_of(lep_pt[i], lep_phi[i], h[i * h_stride], h[i * h_stride + 1]);
    return WR_OK;
}

/* Two muons per event: charges +1 and -1. */
static wr_status check_muon_pair(const char *fn, const int32_t *q, size_t n)
{
    if (!q) return wr__check_ptr(fn, "mu_charge", q);
    for (size_t i = 0; i < n; i++)
        if (abs(q[2 * i]) != 1 || q[2 * i] + q[2 * i + 1] != 0)
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'mu_charge': event "
                            "%zu has charges (%d, %d); need one +1 and one -1",
                            fn, i, (int)q[2 * i], (int)q[2 * i + 1]);
    return WR_OK;
}

WR_API wr_status wr_wlike_z(size_t n, const float *mu_pt, const float *mu_eta,
                            const float *mu_phi, const int32_t *mu_charge,
                            const float *h, size_t h_stride, int lepton_charge,
                            float *lepton, float *neutrino, float *mt)
{
    static const char *FN = "wr_wlike_z";
    wr_status st;
    if (lepton_charge != 1 && lepton_charge != -1)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'lepton_charge' is %d, "
                        "must be +1 or -1", FN, lepton_charge);
    if ((st = check_rows(FN, n, 4)) || (mt && (st = check_rows(FN, n, h_stride))) ||
        (st = check_pt(FN, "mu_pt", mu_pt, 2 * n)) ||
        (st = wr__check_finite_f(FN, "mu_eta", mu_eta, 2 * n)) ||
        (st = wr__check_finite_f(FN, "mu_phi", mu_phi, 2 * n)) ||
        (st = check_muon_pair(FN, mu_charge, n)))
        return st;
    if (mt && ((st = check_stride(FN, "h_stride", h_stride)) ||
               (st = check_xy(FN, "h (required with mt)", h, n, h_stride))))
        return st;
    for (size_t i = 0; i < n; i++) {
        size_t l = 2 * i + (mu_charge[2 * i] == lepton_charge ? 0 : 1);
        size_t v = 4 * i + 1 - l; /* the other muon of the pair */
        if (lepton) {
            lepton[3 * i] = mu_pt[l];
            lepton[3 * i + 1] = mu_eta[l];
            lepton[3 * i + 2] = (float)wr__wrap_angle(mu_phi[l]);
        }
        if (neutrino) {
            neutrino[2 * i] = (float)(mu_pt[v] * cos((double)mu_phi[v]));
            neutrino[2 * i + 1] = (float)(mu_pt[v] * sin((double)mu_phi[v]));
        }
        if (mt) mt[i] = (float)mt_of(mu_pt[l], mu_phi[l], h[i * h_stride], h[i * h_stride + 1]);
    }
    return WR_OK;
}

WR_API wr_status wr_boson_from_leptons(size_t n, const float *pt,
                                       const float *eta, const float *phi,
                                       double mass1, double mass2,
                                       float *boson)
{
    static const char *FN = "wr_boson_from_leptons";
    wr_status st;
    if (!(mass1 >= 0.0 && mass2 >= 0.0 && isfinite(mass1) && isfinite(mass2)))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: arguments 'mass1', 'mass2' "
                        "(%g, %g) must be finite and >= 0", FN, mass1, mass2);
    if ((st = wr__check_ptr(FN, "boson", boson)) || (st = check_rows(FN, n, WR_N_BOSON)) ||
        (st = check_pt(FN, "pt", pt, 2 * n)) ||
        (st = wr__check_finite_f(FN, "eta", eta, 2 * n)) ||
        (st = wr__check_finite_f(FN, "phi", phi, 2 * n)))
        return st;
    const double m[2] = {mass1, mass2};
    for (size_t i = 0; i < n; i++) {
        double px = 0, py = 0, pz = 0, e = 0;
        for (int k = 0; k < 2; k++) {
            double p = pt[2 * i + k], f = phi[2 * i + k], ex = exp(eta[2 * i + k]);
            double z = 0.5 * p * (ex - 1.0 / ex), pabs = 0.5 * p * (ex + 1.0 / ex);
            px += p * cos(f);
            py += p * sin(f);
            pz += z;
            e += sqrt(pabs * pabs + m[k] * m[k]);
        }
        double m2 = e * e - (px * px + py * py + pz * pz);
        float *b = boson + WR_N_BOSON * i;
        b[WR_V_PT] = (float)hypot(px, py);
        b[WR_V_PL] = (float)pz;
        b[WR_V_PHI] = (float)atan2(py, px);
        b[WR_V_M] = (float)sqrt(m2 > 0.0 ? m2 : 0.0);
    }
    return WR_OK;
}

WR_API wr_status wr_recoil_y(size_t n, const float *h, size_t h_stride,
                             const float *v, size_t v_stride, float *y)
{
    static const char *FN = "wr_recoil_y";
    wr_status st;
    if ((st = wr__check_ptr(FN, "y", y)) || (st = check_stride(FN, "h_stride", h_stride)) ||
        (st = check_stride(FN, "v_stride", v_stride)) || (st = check_rows(FN, n, h_stride)) ||
        (st = check_rows(FN, n, v_stride)) || (st = check_xy(FN, "h", h, n, h_stride)) || (st = check_xy(FN, "v", v, n, v_stride)))
        return st;
    for (size_t i = 0; i < n; i++) {
        double hx = h[i * h_stride], hy = h[i * h_stride + 1];
        /* -pT_V points along phi_V + pi (written so that pT_V = 0 gives pi,
         * not the -pi that atan2(-0., -0.) would) */
        double phi_target = atan2((double)v[i * v_stride + 1], (double)v[i * v_stride]) + M_PI;
        y[2 * i] = (float)hypot(hx, hy);
        y[2 * i + 1] = (float)wr__wrap_angle(atan2(hy, hx) - phi_target);
    }
    return WR_OK;
}
