/* tests/test_kinematics.c -- wrap, transverse mass, W-like Z, boson from
 * two leptons, recoil y: analytic values, symmetry properties, bad input,
 * and consistency checks on the generator samples. */
#include "testutil.h"

#define PI 3.14159265358979323846
#define MU_MASS 0.1056583755

#define NEAR(a, b, tol) ck_assert_double_eq_tol((double)(a), (double)(b), (tol))

START_TEST(test_wrap)
{
    ck_assert_double_eq(wr_wrap_angle(0.0), 0.0);
    ck_assert_double_eq(wr_wrap_angle(PI), PI);
    ck_assert_double_eq(wr_wrap_angle(-PI), PI); /* (-pi, pi] */
    NEAR(wr_wrap_angle(3 * PI), PI, 1e-12);
    ck_assert_double_gt(wr_wrap_angle(3 * PI), 0);
    NEAR(wr_wrap_angle(-1.5 * PI), 0.5 * PI, 1e-12);
    NEAR(wr_wrap_angle(7.0), 7.0 - 2 * PI, 1e-12);
    NEAR(wr_wrap_angle(-7.0), -7.0 + 2 * PI, 1e-12);
    NEAR(wr_wrap_angle(1e6), remainder(1e6, 2 * PI), 1e-8);
    ck_assert(isnan(wr_wrap_angle(NAN)));
    ck_assert(isnan(wr_wrap_angle(INFINITY)));
}
END_TEST

/* h = -(pt_l + pt_nu) for a lepton and a neutrino given in (pt, phi). */
static void recoil_of(double lpt, double lphi, double npt, double nphi, float *h)
{
    h[0] = (float)-(lpt * cos(lphi) + npt * cos(nphi));
    h[1] = (float)-(lpt * sin(lphi) + npt * sin(nphi));
}

START_TEST(test_transverse_mass)
{
    float lpt[4] = {40, 30, 25, 50}, lphi[4] = {0.3f, 0.0f, -2.0f, 1.0f};
    float h[4 * WR_N_RECOIL] = {0}, mt[4];
    /* back to back at equal pt: MT = 2 pT; general angle; collinear: 0 */
    recoil_of(40, 0.3, 40, 0.3 + PI, h);
    recoil_of(30, 0.0, 50, 2.0, h + WR_N_RECOIL);
    recoil_of(25, -2.0, 10, -2.0, h + 2 * WR_N_RECOIL);
    recoil_of(50, 1.0, 20, 1.0 - PI / 2, h + 3 * WR_N_RECOIL);
    WR_ASSERT_OK(wr_transverse_mass(4, lpt, lphi, h, WR_N_RECOIL, mt));
    NEAR(mt[0], 80, 1e-4);
    NEAR(mt[1], sqrt(2 * 30 * 50 * (1 - cos(2.0))), 1e-4);
    NEAR(mt[2], 0, 2e-3);
    NEAR(mt[3], sqrt(2 * 50 * 20.0), 1e-4);
    /* the same recoils packed with stride 2, read from an offset */
    float packed[8];
    for (int i = 0; i < 4; i++) {
        packed[2 * i] = h[i * WR_N_RECOIL];
        packed[2 * i + 1] = h[i * WR_N_RECOIL + 1];
    }
    float mt2[4];
    WR_ASSERT_OK(wr_transverse_mass(4, lpt, lphi, packed, 2, mt2));
    ck_assert_int_eq(memcmp(mt, mt2, sizeof mt), 0);
    WR_ASSERT_OK(wr_transverse_mass(0, lpt, lphi, packed, 2, mt2));
}
END_TEST

/* A constructed Z: mu+ and mu- with a recoil balancing them exactly. */
START_TEST(test_wlike_z)
{
    /* event 0: mu+ first; event 1: the same muons with mu- first */
    float pt[4] = {40, 35, 35, 40}, eta[4] = {0.5f, -1.0f, -1.0f, 0.5f};
    float phi[4] = {1.0f, 3.5f, 3.5f, 1.0f};
    int32_t q[4] = {1, -1, -1, 1};
    float h[4];
    recoil_of(40, 1.0, 35, 3.5, h);
    recoil_of(40, 1.0, 35, 3.5, h + 2);
    float lep[6], nu[4], mt[2];
    WR_ASSERT_OK(wr_wlike_z(2, pt, eta, phi, q, h, 2, +1, lep, nu, mt));
    double want_mt = sqrt(2 * 40 * 35 * (1 - cos(2.5)));
    for (int i = 0; i < 2; i++) {
        ck_assert_float_eq(lep[3 * i], 40);
        ck_assert_float_eq(lep[3 * i + 1], 0.5f);
        NEAR(lep[3 * i + 2], 1.0, 1e-6);
        NEAR(nu[2 * i], 35 * cos(3.5), 1e-5);
        NEAR(nu[2 * i + 1], 35 * sin(3.5), 1e-5);
        NEAR(mt[i], want_mt, 1e-4);
        /* -(pt_l + h) estimates the neutrino muon: exact for this recoil */
        double lx = 40 * cos(1.0), ly = 40 * sin(1.0);
        NEAR(-(lx + h[2 * i]), nu[2 * i], 1e-4);
        NEAR(-(ly + h[2 * i + 1]), nu[2 * i + 1], 1e-4);
    }
    /* the other charge stays the lepton: roles swap, MT is symmetric */
    WR_ASSERT_OK(wr_wlike_z(2, pt, eta, phi, q, h, 2, -1, lep, nu, mt));
    ck_assert_float_eq(lep[0], 35);
    ck_assert_float_eq(lep[1], -1.0f);
    NEAR(lep[2], 3.5 - 2 * PI, 1e-6); /* wrapped */
    NEAR(nu[0], 40 * cos(1.0), 1e-5);
    NEAR(mt[0], want_mt, 1e-4);
    /* outputs are optional; h is needed only for mt */
    WR_ASSERT_OK(wr_wlike_z(2, pt, eta, phi, q, NULL, 0, 1, lep, NULL, NULL));
    WR_ASSERT_FAILS(wr_wlike_z(2, pt, eta, phi, q, NULL, 2, 1, NULL, NULL, mt),
                    WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_wlike_z(2, pt, eta, phi, q, h, 2, 0, lep, nu, mt),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "lepton_charge"));
    int32_t same[4] = {1, 1, -1, 1}, two[4] = {1, -1, 2, -2};
    WR_ASSERT_FAILS(wr_wlike_z(2, pt, eta, phi, same, h, 2, 1, lep, nu, mt),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "event 0"));
    WR_ASSERT_FAILS(wr_wlike_z(2, pt, eta, phi, two, h, 2, 1, lep, nu, mt),
                    WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "event 1"));
}
END_TEST

START_TEST(test_boson_from_leptons)
{
    /* Z at rest: back-to-back muons at eta 0 */
    float pt[2] = {45, 45}, eta[2] = {0, 0}, phi[2] = {0.7f, (float)(0.7 - PI)};
    float b[WR_N_BOSON];
    WR_ASSERT_OK(wr_boson_from_leptons(1, pt, eta, phi, MU_MASS, MU_MASS, b));
    NEAR(b[WR_V_PT], 0, 1e-4);
    NEAR(b[WR_V_PL], 0, 1e-5);
    NEAR(b[WR_V_M], 2 * sqrt(45 * 45 + MU_MASS * MU_MASS), 1e-4);
    /* a general pair, against an independent 4-vector sum */
    float pt2[2] = {38, 27}, eta2[2] = {1.3f, -0.4f}, phi2[2] = {0.2f, 2.4f};
    WR_ASSERT_OK(wr_boson_from_leptons(1, pt2, eta2, phi2, MU_MASS, 0.0, b));
    double px = 38 * cos(0.2f) + 27 * cos(2.4f), py = 38 * sin(0.2f) + 27 * sin(2.4f);
    double pz = 38 * sinh(1.3f) + 27 * sinh(-0.4f);
    double e = sqrt(pow(38 * cosh(1.3f), 2) + MU_MASS * MU_MASS) + 27 * cosh(-0.4f);
    NEAR(b[WR_V_PT], hypot(px, py), 1e-4);
    NEAR(b[WR_V_PL], pz, 1e-4);
    NEAR(b[WR_V_PHI], atan2(py, px), 1e-6);
    NEAR(b[WR_V_M], sqrt(e * e - px * px - py * py - pz * pz), 1e-4);
    /* massless leptons: shifting both eta by d is a boost along z, so
     * pT and m stay and pL -> pL cosh d + E sinh d */
    const double d = 0.8;
    float eta3[2] = {(float)(1.3f + d), (float)(-0.4f + d)}, b0[WR_N_BOSON], b1[WR_N_BOSON];
    WR_ASSERT_OK(wr_boson_from_leptons(1, pt2, eta2, phi2, 0, 0, b0));
    WR_ASSERT_OK(wr_boson_from_leptons(1, pt2, eta3, phi2, 0, 0, b1));
    double e0 = 38 * cosh(1.3f) + 27 * cosh(-0.4f);
    NEAR(b1[WR_V_PT], b0[WR_V_PT], 1e-4);
    NEAR(b1[WR_V_M], b0[WR_V_M], 1e-3);
    NEAR(b1[WR_V_PL], b0[WR_V_PL] * cosh(d) + e0 * sinh(d), 2e-3);
    WR_ASSERT_FAILS(wr_boson_from_leptons(1, pt2, eta2, phi2, -1, 0, b), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_boson_from_leptons(1, pt2, eta2, phi2, NAN, 0, b), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_boson_from_leptons(1, pt2, eta2, phi2, 0, 0, NULL), WR_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_recoil_y)
{
    /* v = pT_V; h: the true recoil, perpendicular, along +pT_V */
    float v[8] = {10, 0, 3, -4, 10, 0, 0, 0};
    float h[8] = {-10, 0, -3, 4, 0, 5, 2, 0};
    float y[8];
    WR_ASSERT_OK(wr_recoil_y(4, h, 2, v, 2, y));
    NEAR(y[0], 10, 1e-6);
    NEAR(y[1], 0, 1e-7);
    NEAR(y[2], 5, 1e-6);
    NEAR(y[3], 0, 1e-7);
    NEAR(y[4], 5, 1e-6);
    NEAR(y[5], -PI / 2, 1e-6); /* -pT_V points to pi, h to pi/2 */
    NEAR(y[6], 2, 1e-6);       /* pT_V = 0: direction pi; h along 0 */
    ck_assert_double_gt(y[7], 3.14159); /* pi, not -pi */
    /* rotating h and v together changes nothing */
    float hr[8], vr[8], yr[8];
    const double a = 2.2;
    for (int i = 0; i < 4; i++) {
        hr[2 * i] = (float)(h[2 * i] * cos(a) - h[2 * i + 1] * sin(a));
        hr[2 * i + 1] = (float)(h[2 * i] * sin(a) + h[2 * i + 1] * cos(a));
        vr[2 * i] = (float)(v[2 * i] * cos(a) - v[2 * i + 1] * sin(a));
        vr[2 * i + 1] = (float)(v[2 * i] * sin(a) + v[2 * i + 1] * cos(a));
    }
    WR_ASSERT_OK(wr_recoil_y(3, hr, 2, vr, 2, yr));
    for (int k = 0; k < 6; k++) NEAR(yr[k], y[k], 1e-5);
}
END_TEST

START_TEST(test_bad_input)
{
    float pt[2] = {10, 20}, phi[2] = {0, 1}, h[4] = {1, 2, 3, 4}, mt[2];
    const wr_status E = WR_ERR_INVALID_ARG;
    WR_ASSERT_FAILS(wr_transverse_mass(2, NULL, phi, h, 2, mt), E);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "lep_pt"));
    WR_ASSERT_FAILS(wr_transverse_mass(2, pt, phi, h, 2, NULL), E);
    WR_ASSERT_FAILS(wr_transverse_mass(2, pt, phi, h, 1, mt), E);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "h_stride"));
    float bad_h[4] = {1, 2, NAN, 4};
    WR_ASSERT_FAILS(wr_transverse_mass(2, pt, phi, bad_h, 2, mt), E);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "row 1"));
    float neg[2] = {10, -1};
    WR_ASSERT_FAILS(wr_transverse_mass(2, neg, phi, h, 2, mt), E);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "index 1"));
    float y[4];
    WR_ASSERT_FAILS(wr_recoil_y(2, h, 2, NULL, 2, y), E);
    WR_ASSERT_FAILS(wr_recoil_y(2, h, 2, h, 0, y), E);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "v_stride"));
}
END_TEST

/* ------------------------------------------------------ generator samples */

/* Reads the first `max` rows of `cols` from a shared sample; NULL if absent. */
static float *read_sample(const char *file, const char *const *cols, size_t nc,
                          size_t max, size_t *n)
{
    const char *dir = wr_test_shared_data();
    if (!dir) {
        printf("SKIPPED sample check on %s: no shared data\n", file);
        return NULL;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    wr_table_reader *r = NULL;
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    WR_ASSERT_OK(wr_table_reader_select(r, cols, nc));
    float *buf = malloc(max * nc * sizeof *buf);
    WR_ASSERT_OK(wr_table_reader_read_float(r, buf, max, n));
    wr_table_reader_close(r);
    return buf;
}

/* Z sample: the muon pair's mass lies in the selection window 60-120 GeV,
 * pT(mu mu) follows the boson, h_true gives y = (pT_V, 0), and in the
 * W-like view -(pt_l + h_true) lands near the neutrino muon. */
START_TEST(test_z_sample)
{
    const char *cols[] = {"l_pt", "l2_pt", "l_eta", "l2_eta", "l_phi", "l2_phi",
                          "htrue_x", "htrue_y", "v_pt", "v_phi"};
    size_t n = 0;
    float *t = read_sample("z_mc.csv.gz", cols, 10, 20000, &n);
    if (!t) return;
    ck_assert_uint_eq(n, 20000);
    float *pt = malloc(n * 2 * 4), *eta = malloc(n * 2 * 4), *phi = malloc(n * 2 * 4);
    float *h = malloc(n * 2 * 4), *v = malloc(n * 2 * 4), *b = malloc(n * WR_N_BOSON * 4);
    float *y = malloc(n * 2 * 4), *nu = malloc(n * 2 * 4), *lep = malloc(n * 3 * 4);
    int32_t *q = malloc(n * 2 * 4);
    for (size_t i = 0; i < n; i++) {
        const float *r = t + 10 * i;
        for (int k = 0; k < 2; k++) {
            pt[2 * i + k] = r[k];
            eta[2 * i + k] = r[2 + k];
            phi[2 * i + k] = r[4 + k];
        }
        q[2 * i] = 1; /* l is the mu+, l2 the mu- */
        q[2 * i + 1] = -1;
        h[2 * i] = r[6];
        h[2 * i + 1] = r[7];
        v[2 * i] = (float)(r[8] * cos(r[9]));
        v[2 * i + 1] = (float)(r[8] * sin(r[9]));
    }
    WR_ASSERT_OK(wr_boson_from_leptons(n, pt, eta, phi, MU_MASS, MU_MASS, b));
    WR_ASSERT_OK(wr_recoil_y(n, h, 2, v, 2, y));
    WR_ASSERT_OK(wr_wlike_z(n, pt, eta, phi, q, h, 2, +1, lep, nu, NULL));
    size_t close_pt = 0, close_nu = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(b[WR_N_BOSON * i + WR_V_M] > 60 - 1e-3 &&
                      b[WR_N_BOSON * i + WR_V_M] < 120 + 1e-3,
                      "row %zu: m = %g", i, b[WR_N_BOSON * i + WR_V_M]);
        NEAR(y[2 * i], t[10 * i + 8], 1e-4 * fmax(1, t[10 * i + 8]));
        NEAR(y[2 * i + 1], 0, 1e-4);
        close_pt += fabs(b[WR_N_BOSON * i + WR_V_PT] - t[10 * i + 8]) < 2.0;
        double ex = -(lep[3 * i] * cos(lep[3 * i + 2]) + h[2 * i]);
        double ey = -(lep[3 * i] * sin(lep[3 * i + 2]) + h[2 * i + 1]);
        close_nu += hypot(ex - nu[2 * i], ey - nu[2 * i + 1]) < 2.0;
    }
    printf("z_mc: %.3f of pT(mu mu) within 2 GeV of pT_V, %.3f of -(pt_l + h_true) "
           "within 2 GeV of the neutrino muon\n", (double)close_pt / n, (double)close_nu / n);
    ck_assert_double_gt((double)close_pt / n, 0.85);
    ck_assert_double_gt((double)close_nu / n, 0.85);
    free(t); free(pt); free(eta); free(phi); free(h); free(v); free(b);
    free(y); free(nu); free(lep); free(q);
}
END_TEST

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* W sample: MT of the generator muon and the true recoil has its Jacobian
 * edge at m_W: MT / m_V piles up just below 1 and hardly exceeds it. */
START_TEST(test_w_sample_mt)
{
    const char *cols[] = {"lgen_pt", "lgen_phi", "htrue_x", "htrue_y", "v_m"};
    size_t n = 0;
    float *t = read_sample("w_mc.csv.gz", cols, 5, 20000, &n);
    if (!t) return;
    float *lpt = malloc(n * 4), *lphi = malloc(n * 4), *mt = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        lpt[i] = t[5 * i];
        lphi[i] = t[5 * i + 1];
    }
    WR_ASSERT_OK(wr_transverse_mass(n, lpt, lphi, t + 2, 5, mt));
    size_t above = 0;
    for (size_t i = 0; i < n; i++) {
        above += mt[i] > 1.001 * t[5 * i + 4];
        mt[i] /= t[5 * i + 4];
    }
    qsort(mt, n, sizeof *mt, cmp_float);
    double median = mt[n / 2], p90 = mt[n * 9 / 10];
    printf("w_mc: MT/m_V median %.3f, 90%% %.4f, above 1.001: %zu of %zu\n",
           median, p90, above, n);
    ck_assert_double_gt(median, 0.8);
    ck_assert_double_lt(median, 0.95);
    ck_assert_double_gt(p90, 0.98);
    ck_assert_double_lt(p90, 1.0);
    ck_assert_double_lt((double)above / n, 0.01);
    free(t); free(lpt); free(lphi); free(mt);
}
END_TEST

static Suite *kinematics_suite(void)
{
    Suite *s = suite_create("kinematics");
    TCase *tc = tcase_create("kinematics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_wrap);
    tcase_add_test(tc, test_transverse_mass);
    tcase_add_test(tc, test_wlike_z);
    tcase_add_test(tc, test_boson_from_leptons);
    tcase_add_test(tc, test_recoil_y);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_z_sample);
    tcase_add_test(tc, test_w_sample_mt);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(kinematics_suite)
