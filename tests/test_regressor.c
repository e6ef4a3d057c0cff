/* tests/test_regressor.c -- wr_regressor: network gradients against finite
 * differences (every weight, both families, targets in both tails, every
 * activation), recovery of a known heteroscedastic law with a flat PIT,
 * save/load round trips, hostile payloads, bad input, cancellation,
 * thread-count independence, and a w_mc check when the samples exist. */
#include "testutil.h"

#include "core.h"
#include "nn.h"
#include "pdf.h"

#include <pthread.h>
#include <unistd.h>

/* ------------------------------------------------ gradient vs finite diff */
/* Loss of a block as in training: sum_i w_i nll(link(raw_i), t_i) / W. */
static double block_loss(const wr__mlp *m, const float *theta, const float *X,
                         size_t rows, const float *t, int family, float *ws,
                         float *dout)
{
    const float *raw = wr__mlp_forward(m, theta, X, rows, ws);
    int k = wr__pdf_nout(family);
    double sum = 0, p[7] = {0, 0, 0, 0, 0, -3.0, 4.0}, dp[7], g[7];
    for (size_t r = 0; r < rows; r++) {
        double w = 1.0 + 0.5 * (double)(r % 3); /* uneven weights */
        wr__pdf_link(family, raw + r * k, p, dp);
        sum += w * wr__pdf_nll_grad(family, p, t[r], g);
        if (dout)
            for (int j = 0; j < k; j++) dout[r * k + j] = (float)(w * g[j] * dp[j]);
    }
    return sum;
}

static void check_net_grad(int family, int act)
{
    enum { D = 3, ROWS = 6 };
    int hidden[2] = {5, 4};
    wr__mlp m;
    WR_ASSERT_OK(wr__mlp_shape(&m, D, hidden, 2, wr__pdf_nout(family), act, "test"));
    float *theta = malloc(m.n_params * sizeof(float));
    float *grad = malloc(m.n_params * sizeof(float));
    float *ws = malloc(wr__mlp_ws_floats(&m, ROWS) * sizeof(float));
    float dout[ROWS * 5], X[ROWS * D];
    wr__rng rng;
    wr__rng_seed(&rng, 7, (uint64_t)(family * 10 + act));
    float bias[5] = {0.0f, 0.0f, -0.5f, 0.3f, -1.0f};
    wr__mlp_init(&m, theta, &rng, 1.0f, bias);
    for (int i = 0; i < ROWS * D; i++) X[i] = (float)(2 * wr__rng_uniform(&rng) - 1);
    /* targets from deep left tail to deep right tail */
    float t[ROWS] = {-9.0f, -2.5f, -0.3f, 0.4f, 2.8f, 11.0f};
    block_loss(&m, theta, X, ROWS, t, family, ws, dout);
    wr__mlp_backward(&m, theta, X, ROWS, ws, dout, grad);
    int bad = 0, skipped = 0;
    for (size_t i = 0; i < m.n_params; i++) {
        float keep = theta[i];
        const float h = 2e-3f;
        theta[i] = keep + h;
        double up = block_loss(&m, theta, X, ROWS, t, family, ws, NULL);
        theta[i] = keep - h;
        double dn = block_loss(&m, theta, X, ROWS, t, family, ws, NULL);
        theta[i] = keep;
        double f0 = block_loss(&m, theta, X, ROWS, t, family, ws, NULL);
        double fd = (up - dn) / ((double)(keep + h) - (double)(keep - h));
        /* relu: a unit crossing its kink inside +-h makes the one-sided
         * slopes disagree; the derivative is not defined there */
        double fwd = (up - f0) / h, bwd = (f0 - dn) / h;
        if (act == WR__ACT_RELU && fabs(fwd - bwd) > 0.02 * (1 + fabs(fd))) {
            skipped++;
            continue;
        }
        /* float forward pass: absolute noise ~1e-3 on losses of O(10) */
        if (fabs(fd - grad[i]) > 2e-3 + 2e-3 * fabs(fd)) {
            if (bad++ < 5)
                fprintf(stderr, "family %d act %s param %zu: analytic %g fd %g\n",
                        family, wr__act_name(act), i, grad[i], fd);
        }
    }
    ck_assert_msg(bad == 0, "family %d act %s: %d gradient mismatches", family,
                  wr__act_name(act), bad);
    ck_assert_msg(skipped * 10 < (int)m.n_params, "%d of %zu relu checks skipped",
                  skipped, m.n_params);
    free(theta);
    free(grad);
    free(ws);
}

START_TEST(test_network_gradient)
{
    for (int family = 1; family <= 3; family++)
        for (int act = WR__ACT_RELU; act <= WR__ACT_TANH; act++)
            check_net_grad(family, act);
}
END_TEST

START_TEST(test_activation_values)
{
    /* one unit, identity weight: the forward pass is the activation */
    static const double zs[] = {-100.0, -30.0, -3.0, -0.6, -0.35, -0.34, -0.2, -1e-3, -1e-6,
                               0.0, 1e-6, 1e-3, 0.34, 0.4, 2.0, 9.0};
    for (int act = WR__ACT_RELU; act <= WR__ACT_TANH; act++) {
        int hidden[1] = {1};
        wr__mlp m;
        WR_ASSERT_OK(wr__mlp_shape(&m, 1, hidden, 1, 1, act, "test"));
        float theta[4] = {1.0f, 0.0f, 1.0f, 0.0f}; /* W1 b1 W2 b2 */
        float ws[64];
        for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
            float x = (float)zs[i];
            double z = zs[i], e;
            switch (act) {
            case WR__ACT_RELU: e = z > 0 ? z : 0; break;
            case WR__ACT_ELU: e = z > 0 ? z : expm1(z); break;
            case WR__ACT_SELU: e = 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * expm1(z)); break;
            default: e = tanh(z);
            }
            float *out = wr__mlp_forward(&m, theta, &x, 1, ws);
            ck_assert_msg(fabs(out[0] - e) < 3e-7 * (1 + fabs(e)) && fabs(out[0] - e) <= 1e-6 * fabs(e) + 1e-9,
                          "%s(%g) = %.9g, expected %.9g", wr__act_name(act), z, out[0], e);
        }
    }
}
END_TEST

START_TEST(test_softplus_block)
{
    /* the vectorised float softplus of the prediction links vs libm */
    enum { N = 4001 };
    float x[N], out[N];
    for (int i = 0; i < N; i++) x[i] = -100.0f + 0.05f * (float)i;
    wr__softplus_f(x, out, N);
    for (int i = 0; i < N; i++) {
        double e = x[i] > 0 ? x[i] + log1p(exp(-(double)x[i])) : log1p(exp((double)x[i]));
        ck_assert_msg(fabs(out[i] - e) <= 4e-7 * e + 2e-38, "softplus(%g) = %.9g, expected %.9g",
                      x[i], out[i], e);
    }
}
END_TEST

/* ----------------------------------------------- synthetic recovery */
static double true_mu(double x0, double x1) { return sin(2 * x0) + 0.5 * x1; }
static double true_sigma(double x0, double x1) { return 0.3 + 0.2 * (x0 + 1) + 0.1 * x1 * x1; }

/* n rows of x ~ U(-1,1)^2, t ~ family(mu(x), sigma(x), 1.0, 2.0). */
static void synth(int family, size_t n, uint64_t seed, float *X, float *t)
{
    wr__rng rng;
    wr__rng_seed(&rng, seed, 0);
    for (size_t i = 0; i < n; i++) {
        double x0 = 2 * wr__rng_uniform(&rng) - 1, x1 = 2 * wr__rng_uniform(&rng) - 1;
        double p[4] = {true_mu(x0, x1), true_sigma(x0, x1), 1.0, 2.0};
        X[2 * i] = (float)x0;
        X[2 * i + 1] = (float)x1;
        t[i] = (float)wr__pdf_quantile(family, p, wr__rng_uniform(&rng));
    }
}

/* chi2 of a 10-bin PIT histogram against flat. */
static double pit_chi2(const double *pit, size_t n)
{
    double h[10] = {0};
    for (size_t i = 0; i < n; i++) {
        int b = (int)(pit[i] * 10);
        h[b < 0 ? 0 : b > 9 ? 9 : b] += 1;
    }
    double e = (double)n / 10, chi2 = 0;
    for (int b = 0; b < 10; b++) chi2 += (h[b] - e) * (h[b] - e) / e;
    return chi2;
}

static void recover(int family, const char *extra, double tol_mu, double tol_sigma)
{
    enum { N = 20000, NV = 4000, NT = 4000 };
    float *X = malloc(N * 2 * sizeof(float)), *t = malloc(N * sizeof(float));
    float *Xv = malloc(NV * 2 * sizeof(float)), *tv = malloc(NV * sizeof(float));
    float *Xt = malloc(NT * 2 * sizeof(float)), *tt = malloc(NT * sizeof(float));
    synth(family, N, 11, X, t);
    synth(family, NV, 12, Xv, tv);
    synth(family, NT, 13, Xt, tt);
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_param(r, "family", wr_pdf_family_name(family)));
    WR_ASSERT_OK(wr_regressor_set_params(r, "hidden=32,32 epochs=60 batch_size=256 learning_rate=0.005 patience=10"));
    if (extra) WR_ASSERT_OK(wr_regressor_set_params(r, extra));
    WR_ASSERT_OK(wr_regressor_fit(r, X, N, 2, t, NULL, Xv, NV, tv, NULL));
    size_t k = wr_pdf_n_params(family);
    double *par = malloc(NT * k * sizeof(double)), *pit = malloc(NT * sizeof(double));
    WR_ASSERT_OK(wr_regressor_predict(r, Xt, NT, 2, par, k));
    double se_mu = 0, se_s = 0;
    for (size_t i = 0; i < NT; i++) {
        double mu = true_mu(Xt[2 * i], Xt[2 * i + 1]), s = true_sigma(Xt[2 * i], Xt[2 * i + 1]);
        se_mu += (par[i * k] - mu) * (par[i * k] - mu) / (s * s);
        se_s += (par[i * k + 1] / s - 1) * (par[i * k + 1] / s - 1);
    }
    double rms_mu = sqrt(se_mu / NT), rms_s = sqrt(se_s / NT);
    WR_ASSERT_OK(wr_regressor_pit(r, Xt, NT, 2, tt, pit));
    double chi2 = pit_chi2(pit, NT);
    fprintf(stderr, "recover %s: rms(mu - mu_true)/sigma = %.4f, rms(sigma/sigma_true - 1) = %.4f, "
            "PIT chi2/9 = %.2f\n", wr_pdf_family_name(family), rms_mu, rms_s, chi2 / 9);
    ck_assert_msg(rms_mu < tol_mu, "mu not recovered: %g", rms_mu);
    ck_assert_msg(rms_s < tol_sigma, "sigma not recovered: %g", rms_s);
    /* 9 dof: P(chi2 > 27.9) = 0.001 */
    ck_assert_msg(chi2 < 27.9, "PIT not flat: chi2 %g / 9", chi2);
    if (family == WR_PDF_GAUSSEXP2) {
        /* alphas 1 and 2 inform only the tails: check the mean over events */
        double a1 = 0, a2 = 0;
        for (size_t i = 0; i < NT; i++) {
            a1 += par[i * k + 2] / NT;
            a2 += par[i * k + 3] / NT;
        }
        fprintf(stderr, "recover gaussexp2: mean alpha1 %.3f (1), alpha2 %.3f (2)\n", a1, a2);
        ck_assert_msg(fabs(a1 - 1.0) < 0.25 && fabs(a2 - 2.0) < 0.6, "alphas %g %g", a1, a2);
    }
    /* NLL of the fit close to the NLL of the true law */
    double nll, nll_true = 0;
    WR_ASSERT_OK(wr_regressor_nll(r, Xt, NT, 2, tt, NULL, &nll));
    for (size_t i = 0; i < NT; i++) {
        double p[4] = {true_mu(Xt[2 * i], Xt[2 * i + 1]), true_sigma(Xt[2 * i], Xt[2 * i + 1]), 1.0, 2.0};
        nll_true -= wr__pdf_logpdf(family, p, tt[i]) / NT;
    }
    ck_assert_msg(nll < nll_true + 0.03, "NLL %g vs true %g", nll, nll_true);
    wr_regressor_free(r);
    free(X); free(t); free(Xv); free(tv); free(Xt); free(tt); free(par); free(pit);
}

START_TEST(test_recover_gauss) { recover(WR_PDF_GAUSS, NULL, 0.12, 0.10); }
END_TEST
START_TEST(test_recover_gaussexp2) { recover(WR_PDF_GAUSSEXP2, "activation=tanh", 0.12, 0.12); }
END_TEST

START_TEST(test_recover_flat)
{
    /* t = pedestal on [-pi, pi] with fraction 0.25 + 0.2 x0, else
     * gaussexp2(mu(x), 0.4 sigma(x), 1, 2) (kept inside the range) */
    enum { N = 16000, NV = 4000, NT = 4000, NALL = N + NV + NT };
    const double PI = 3.14159265358979323846;
    float *X = malloc(NALL * 2 * sizeof(float)), *t = malloc(NALL * sizeof(float));
    wr__rng rng;
    wr__rng_seed(&rng, 21, 0);
    for (size_t i = 0; i < NALL; i++) {
        double x0 = 2 * wr__rng_uniform(&rng) - 1, x1 = 2 * wr__rng_uniform(&rng) - 1, v;
        double p[4] = {0.5 * true_mu(x0, x1), 0.4 * true_sigma(x0, x1), 1.0, 2.0};
        if (wr__rng_uniform(&rng) < 0.25 + 0.2 * x0) {
            v = PI * (2 * wr__rng_uniform(&rng) - 1);
        } else {
            do v = wr__pdf_quantile(WR_PDF_GAUSSEXP2, p, wr__rng_uniform(&rng));
            while (fabs(v) > PI);
        }
        X[2 * i] = (float)x0;
        X[2 * i + 1] = (float)x1;
        t[i] = (float)v;
    }
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_params(r, "family=gaussexp2_flat hidden=32,32 epochs=40 "
                                            "learning_rate=0.005 patience=8"));
    WR_ASSERT_OK(wr_regressor_fit(r, X, N, 2, t, NULL, X + 2 * N, NV, t + N, NULL));
    const float *Xt = X + 2 * (N + NV), *tt = t + N + NV;
    double *par = malloc(NT * 7 * sizeof(double)), *pit = malloc(NT * sizeof(double));
    WR_ASSERT_OK(wr_regressor_predict(r, Xt, NT, 2, par, 7));
    double se_f = 0, se_mu = 0;
    for (size_t i = 0; i < NT; i++) {
        double f = 0.25 + 0.2 * Xt[2 * i], mu = 0.5 * true_mu(Xt[2 * i], Xt[2 * i + 1]);
        se_f += (par[i * 7 + 4] - f) * (par[i * 7 + 4] - f) / NT;
        se_mu += (par[i * 7] - mu) * (par[i * 7] - mu) / NT;
        ck_assert(par[i * 7 + 5] == -3.141592653589793 && par[i * 7 + 6] == 3.141592653589793);
    }
    WR_ASSERT_OK(wr_regressor_pit(r, Xt, NT, 2, tt, pit));
    double chi2 = pit_chi2(pit, NT);
    fprintf(stderr, "recover gaussexp2_flat: rms(frac - true) = %.4f, rms(mu - true) = %.4f, "
            "PIT chi2/9 = %.2f\n", sqrt(se_f), sqrt(se_mu), chi2 / 9);
    ck_assert_msg(sqrt(se_f) < 0.06, "pedestal fraction not recovered: %g", sqrt(se_f));
    ck_assert_msg(sqrt(se_mu) < 0.08, "mu not recovered: %g", sqrt(se_mu));
    ck_assert_msg(chi2 < 27.9, "PIT not flat: chi2 %g / 9", chi2);
    /* targets outside the pedestal range are refused */
    float tbad[4] = {0, 1, 3.5f, 0};
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, 4, 2, tbad, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "index 2"));
    WR_ASSERT_OK(wr_regressor_set_params(r, "pedestal_lo=1 pedestal_hi=1"));
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, 4, 2, t, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "pedestal"));
    /* a saved flat model whose pedestal range is empty is refused */
    {
        void *b, *payload, *packed;
        size_t bs, ps, pks;
        uint32_t ver;
        WR_ASSERT_OK(wr_regressor_to_bytes(r, &b, &bs));
        WR_ASSERT_OK(wr__container_unpack(b, bs, WR_KIND_REGRESSOR, 1, &payload, &ps, &ver));
        char *hit = memmem(payload, ps, "pedestal_lo=-", 13);
        ck_assert_ptr_nonnull(hit);
        hit[12] = '+'; /* lo = +pi = hi */
        WR_ASSERT_OK(wr__container_pack(WR_KIND_REGRESSOR, 1, payload, ps, &packed, &pks));
        wr_regressor *q = NULL;
        WR_ASSERT_FAILS(wr_regressor_from_bytes(packed, pks, &q), WR_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(wr_last_error(), "pedestal"));
        ck_assert_ptr_null(q);
        free(payload);
        free(packed);
        wr_free(b);
    }
    /* the fitted model survived both failures */
    double *p2 = malloc(NT * 7 * sizeof(double));
    WR_ASSERT_OK(wr_regressor_predict(r, Xt, NT, 2, p2, 7));
    ck_assert(memcmp(p2, par, NT * 7 * sizeof(double)) == 0);
    free(p2);
    wr_regressor_free(r);
    free(X); free(t); free(par); free(pit);
}
END_TEST

/* ------------------------------------------------------- small fitted model */
static wr_regressor *small_fit(const char *extra, size_t *n_out, float **X_out, float **t_out)
{
    enum { N = 1000 };
    float *X = malloc(N * 2 * sizeof(float)), *t = malloc(N * sizeof(float));
    synth(WR_PDF_GAUSSEXP2, N, 5, X, t);
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_params(r, "hidden=8,8 epochs=3 batch_size=300"));
    if (extra) WR_ASSERT_OK(wr_regressor_set_params(r, extra));
    WR_ASSERT_OK(wr_regressor_fit(r, X, N, 2, t, NULL, NULL, 0, NULL, NULL));
    if (n_out) *n_out = N;
    if (X_out) *X_out = X; else free(X);
    if (t_out) *t_out = t; else free(t);
    return r;
}

START_TEST(test_roundtrip)
{
    float *X, *t;
    size_t n;
    wr_regressor *r = small_fit(NULL, &n, &X, &t);
    void *b1, *b2;
    size_t s1, s2;
    WR_ASSERT_OK(wr_regressor_to_bytes(r, &b1, &s1));
    wr_regressor *q;
    WR_ASSERT_OK(wr_regressor_from_bytes(b1, s1, &q));
    WR_ASSERT_OK(wr_regressor_to_bytes(q, &b2, &s2));
    ck_assert_uint_eq(s1, s2);
    ck_assert(memcmp(b1, b2, s1) == 0);
    double *p1 = malloc(n * 4 * sizeof(double)), *p2 = malloc(n * 4 * sizeof(double));
    WR_ASSERT_OK(wr_regressor_predict(r, X, n, 2, p1, 4));
    WR_ASSERT_OK(wr_regressor_predict(q, X, n, 2, p2, 4));
    ck_assert(memcmp(p1, p2, n * 4 * sizeof(double)) == 0);
    /* file round trip */
    char path[] = "/tmp/wr_regressor_testXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    WR_ASSERT_OK(wr_regressor_save(r, path));
    wr_regressor *f;
    WR_ASSERT_OK(wr_regressor_load(path, &f));
    WR_ASSERT_OK(wr_regressor_predict(f, X, n, 2, p2, 4));
    ck_assert(memcmp(p1, p2, n * 4 * sizeof(double)) == 0);
    int kind;
    uint32_t ver;
    WR_ASSERT_OK(wr_model_inspect_file(path, &kind, &ver));
    ck_assert_int_eq(kind, WR_KIND_REGRESSOR);
    char buf[64];
    WR_ASSERT_OK(wr_regressor_get_param(f, "hidden", buf, sizeof buf));
    ck_assert_str_eq(buf, "8,8");
    ck_assert_int_eq(wr_regressor_family(f), WR_PDF_GAUSSEXP2);
    /* parameters set after the fit do not change the saved model */
    WR_ASSERT_OK(wr_regressor_set_params(r, "family=gauss hidden=3"));
    void *b3;
    size_t s3;
    WR_ASSERT_OK(wr_regressor_to_bytes(r, &b3, &s3));
    ck_assert(s3 == s1 && memcmp(b1, b3, s1) == 0);
    wr_free(b3);
    ck_assert_int_eq(wr_regressor_family(r), WR_PDF_GAUSSEXP2);
    ck_assert_uint_eq(wr_regressor_n_features(f), 2);
    remove(path);
    /* derived outputs agree with the pdf API on the parameters predicted
     * by a call of the same size (a row's last bits may depend on the
     * batch, e.g. OpenBLAS kernels under valgrind's CPU) */
    double sum[4 * 4], med[4], half[4] = {0.5, 0.5, 0.5, 0.5}, sm[4 * 4];
    WR_ASSERT_OK(wr_regressor_predict(r, X, 4, 2, p1, 4));
    WR_ASSERT_OK(wr_regressor_summary(r, X, 4, 2, sum));
    WR_ASSERT_OK(wr_regressor_quantile(r, X, 4, 2, half, 1, med));
    WR_ASSERT_OK(wr_pdf_summary(WR_PDF_GAUSSEXP2, p1, 4, 4, sm));
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq(sum[i * 4 + WR_SUMMARY_MEDIAN], med[i]);
        ck_assert_double_eq(sum[i * 4 + WR_SUMMARY_MEAN_EXP], sm[i * 4 + WR_SUMMARY_MEAN_EXP]);
        ck_assert_double_eq(sum[i * 4 + WR_SUMMARY_MODE], p1[i * 4]);
    }
    double tt[4] = {-1, 0, 1, 2}, c[4], dens[4];
    WR_ASSERT_OK(wr_regressor_cdf(r, X, 4, 2, tt, 1, c));
    WR_ASSERT_OK(wr_regressor_pdf(r, X, 4, 2, tt, 1, dens));
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq_tol(c[i], wr__pdf_cdf(WR_PDF_GAUSSEXP2, p1 + 4 * i, tt[i]), 1e-15);
        ck_assert_double_eq_tol(dens[i], exp(wr__pdf_logpdf(WR_PDF_GAUSSEXP2, p1 + 4 * i, tt[i])), 1e-15);
    }
    wr_free(b1);
    wr_free(b2);
    free(p1); free(p2); free(X); free(t);
    wr_regressor_free(r);
    wr_regressor_free(q);
    wr_regressor_free(f);
}
END_TEST

/* Unpacks a model, lets `edit` corrupt the payload, repacks, loads. */
typedef void (*edit_fn)(unsigned char *p, size_t *size);
static wr_status load_edited(const void *buf, size_t size, edit_fn edit)
{
    void *payload;
    size_t psize;
    uint32_t ver;
    WR_ASSERT_OK(wr__container_unpack(buf, size, WR_KIND_REGRESSOR, 1, &payload, &psize, &ver));
    unsigned char *p = realloc(payload, psize + 64);
    edit(p, &psize);
    void *packed;
    size_t ps;
    WR_ASSERT_OK(wr__container_pack(WR_KIND_REGRESSOR, 1, p, psize, &packed, &ps));
    free(p);
    wr_regressor *q = NULL;
    wr_status st = wr_regressor_from_bytes(packed, ps, &q);
    ck_assert_ptr_null(q);
    free(packed);
    return st;
}

/* offset of the u32 family field: after the parameter string */
static size_t shape_off(const unsigned char *p)
{
    uint32_t len = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    return 4 + len;
}
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void edit_family(unsigned char *p, size_t *n) { (void)n; put_u32(p + shape_off(p), 9); }
static void edit_act(unsigned char *p, size_t *n) { (void)n; put_u32(p + shape_off(p) + 4, 77); }
static void edit_layers(unsigned char *p, size_t *n) { (void)n; put_u32(p + shape_off(p) + 8, 4000000000u); }
static void edit_width(unsigned char *p, size_t *n) { (void)n; put_u32(p + shape_off(p) + 16, 0); }
/* two hidden layers of 65536: a 17 GB network the payload cannot hold */
static void edit_huge(unsigned char *p, size_t *n)
{
    (void)n;
    put_u32(p + shape_off(p) + 16, 65536);
    put_u32(p + shape_off(p) + 20, 65536);
}
static void edit_outputs(unsigned char *p, size_t *n) { (void)n; put_u32(p + shape_off(p) + 12 + 4 * 3, 2); }
static void edit_truncate(unsigned char *p, size_t *n) { (void)p; *n -= 5; }
static void edit_extend(unsigned char *p, size_t *n) { p[*n] = 0; *n += 1; }
static void edit_nan(unsigned char *p, size_t *n) { memset(p + *n - 4, 0xff, 4); }
static void edit_count(unsigned char *p, size_t *n)
{
    /* n_params sits right before the theta floats: 8 bytes before the last
     * n_params * 4 bytes; with hidden 8,8: 2*8+8 + 8*8+8 + 8*4+4 = 132 */
    size_t off = *n - 132 * 4 - 8;
    put_u32(p + off, 0xffffffffu);
    put_u32(p + off + 4, 0xffffffffu);
}
static void edit_params(unsigned char *p, size_t *n)
{
    (void)n;
    memcpy(p + 4, "zzzzzz", 6); /* unknown parameter name */
}

START_TEST(test_hostile_payloads)
{
    wr_regressor *r = small_fit(NULL, NULL, NULL, NULL);
    void *b;
    size_t s;
    WR_ASSERT_OK(wr_regressor_to_bytes(r, &b, &s));
    edit_fn edits[] = {edit_family, edit_act, edit_layers, edit_width, edit_huge, edit_outputs,
                       edit_truncate, edit_extend, edit_nan, edit_count, edit_params};
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        wr_status st = load_edited(b, s, edits[i]);
        ck_assert_msg(st == WR_ERR_FORMAT, "edit %zu: %s (%s)", i, wr_status_string(st), wr_last_error());
    }
    /* raw byte damage: caught by the container (CRC, truncation) */
    wr_regressor *q = NULL;
    unsigned char *c = malloc(s);
    memcpy(c, b, s);
    c[s / 2] ^= 0x10;
    ck_assert_int_ne(wr_regressor_from_bytes(c, s, &q), WR_OK);
    ck_assert_ptr_null(q);
    WR_ASSERT_FAILS(wr_regressor_from_bytes(b, s - 3, &q), WR_ERR_FORMAT);
    WR_ASSERT_FAILS(wr_regressor_from_bytes(b, 10, &q), WR_ERR_FORMAT);
    WR_ASSERT_FAILS(wr_regressor_load("/nonexistent/model.wrm", &q), WR_ERR_IO);
    free(c);
    wr_free(b);
    wr_regressor_free(r);
}
END_TEST

/* --------------------------------------------------------------- errors */
static int cancel_at_2(void *u, const char *stage, int64_t step, int64_t total,
                       double m1, double m2)
{
    int *calls = u;
    ck_assert_str_eq(stage, "regressor.fit");
    ck_assert(isfinite(m1));
    ck_assert(isfinite(m2));
    ck_assert_int_eq(step, *calls + 1);
    ck_assert_int_gt(total, 0);
    return ++*calls >= 2;
}

START_TEST(test_bad_input)
{
    float X[8] = {0, 1, 2, 3, 4, 5, 6, 7}, t[4] = {0, 1, 2, 3};
    double out[16];
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_FAILS(wr_regressor_predict(r, X, 4, 2, out, 4), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_regressor_to_bytes(r, (void **)&out, (size_t *)&t), WR_ERR_NOT_FITTED);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "family", "poisson"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "activation", "gelu"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "hidden", "64,0"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "learning_rate", "-1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_param(r, "nope", "1"), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_set_params(r, "epochs=5 batch_size=0"), WR_ERR_INVALID_ARG);
    char buf[32];
    WR_ASSERT_OK(wr_regressor_get_param(r, "epochs", buf, sizeof buf));
    ck_assert_str_eq(buf, "50"); /* all-or-nothing */
    float tn[4] = {0, NAN, 2, 3};
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, 4, 2, tn, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'t'"));
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "index 1"));
    float Xn[8] = {0, 1, 2, INFINITY, 4, 5, 6, 7};
    WR_ASSERT_FAILS(wr_regressor_fit(r, Xn, 4, 2, t, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    float wneg[4] = {1, -1, 1, 1};
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, 4, 2, t, wneg, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, 4, 2, t, NULL, X, 0, t, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_fit(r, X, 1, 2, t, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_fit(r, NULL, 4, 2, t, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_fit(NULL, X, 4, 2, t, NULL, NULL, 0, NULL, NULL), WR_ERR_INVALID_ARG);
    ck_assert(!wr_regressor_is_fitted(r));
    wr_regressor_free(r);

    float *Xs, *ts;
    size_t n;
    r = small_fit(NULL, &n, &Xs, &ts);
    /* family/parameter mismatch, feature count, NaN features, probabilities */
    WR_ASSERT_FAILS(wr_regressor_predict(r, Xs, 4, 2, out, 2), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "mismatch"));
    WR_ASSERT_FAILS(wr_regressor_predict(r, Xs, 4, 3, out, 4), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_predict(r, Xn, 4, 2, out, 4), WR_ERR_INVALID_ARG);
    double pbad[2] = {0.5, 0.0}, tinf[2] = {0.0, INFINITY};
    WR_ASSERT_FAILS(wr_regressor_quantile(r, Xs, 2, 2, pbad, 1, out), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "wr_regressor_quantile"));
    WR_ASSERT_FAILS(wr_regressor_cdf(r, Xs, 2, 2, tinf, 1, out), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_regressor_pit(r, Xs, 4, 2, tn, out), WR_ERR_INVALID_ARG);
    double nll;
    WR_ASSERT_FAILS(wr_regressor_nll(r, Xs, 0, 2, ts, NULL, &nll), WR_ERR_INVALID_ARG);
    /* finite but absurd features overflow the network: a clear error */
    float Xhuge[4] = {1e38f, -1e38f, 3e38f, 3e38f};
    WR_ASSERT_FAILS(wr_regressor_predict(r, Xhuge, 2, 2, out, 4), WR_ERR_NUMERICAL);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "row"));

    /* cancellation: the handle keeps its previous model, byte for byte */
    void *before, *after;
    size_t sb, sa;
    WR_ASSERT_OK(wr_regressor_to_bytes(r, &before, &sb));
    int calls = 0;
    wr_regressor_set_progress(r, cancel_at_2, &calls);
    WR_ASSERT_OK(wr_regressor_set_params(r, "hidden=4 epochs=10 seed=99"));
    WR_ASSERT_FAILS(wr_regressor_fit(r, Xs, n, 2, ts, NULL, Xs, 100, ts, NULL), WR_ERR_CANCELLED);
    ck_assert_int_eq(calls, 2);
    wr_regressor_set_params(r, "hidden=8,8 epochs=3 seed=1");
    WR_ASSERT_OK(wr_regressor_to_bytes(r, &after, &sa));
    ck_assert_uint_eq(sa, sb);
    ck_assert(memcmp(before, after, sa) == 0);
    /* divergence is reported, not hidden */
    wr_regressor_set_progress(r, NULL, NULL);
    wr_free(before);
    wr_free(after);
    free(Xs); free(ts);
    wr_regressor_free(r);
}
END_TEST

START_TEST(test_threads_and_early_stop)
{
    /* chunks depend on the batch only: 1 and 2 threads give the same
     * model; the payloads differ only in the stored "threads=" value */
    void *b1, *b2;
    size_t s1, s2;
    wr_regressor *r1 = small_fit("threads=1 batch_size=256", NULL, NULL, NULL);
    wr_regressor *r2 = small_fit("threads=2 batch_size=256", NULL, NULL, NULL);
    WR_ASSERT_OK(wr_regressor_to_bytes(r1, &b1, &s1));
    WR_ASSERT_OK(wr_regressor_to_bytes(r2, &b2, &s2));
    void *q1, *q2;
    size_t ps1, ps2;
    uint32_t ver;
    WR_ASSERT_OK(wr__container_unpack(b1, s1, WR_KIND_REGRESSOR, 1, &q1, &ps1, &ver));
    WR_ASSERT_OK(wr__container_unpack(b2, s2, WR_KIND_REGRESSOR, 1, &q2, &ps2, &ver));
    ck_assert_uint_eq(ps1, ps2);
    size_t off = shape_off(q1);
    ck_assert_msg(memcmp((char *)q1 + off, (char *)q2 + off, ps1 - off) == 0,
                  "threads=1 and threads=2 give different networks");
    ck_assert(memcmp(q1, q2, off) != 0); /* the parameter strings differ */
    free(q1);
    free(q2);
    wr_free(b1);
    wr_free(b2);
    wr_regressor_free(r1);
    wr_regressor_free(r2);
    /* a short last batch (920 = 4 x 200 + 120) is split into fewer but
     * longer chunks than a full one (2 x 100 vs 1 x 120); weights too */
    {
        float *Xo, *to;
        size_t no;
        wr_regressor *ro = small_fit("batch_size=200 threads=2", &no, &Xo, &to);
        float *wo = malloc(920 * sizeof(float));
        for (int i = 0; i < 920; i++) wo[i] = 0.5f + (float)(i % 4);
        WR_ASSERT_OK(wr_regressor_fit(ro, Xo, 920, 2, to, wo, NULL, 0, NULL, NULL));
        WR_ASSERT_OK(wr_regressor_set_param(ro, "batch_size", "1000"));
        WR_ASSERT_OK(wr_regressor_fit(ro, Xo, 920, 2, to, NULL, NULL, 0, NULL, NULL));
        free(wo); free(Xo); free(to);
        wr_regressor_free(ro);
    }
    /* predict from several threads is the same as from one */
    float *X, *t;
    size_t n;
    wr_regressor *r = small_fit("threads=3", &n, &X, &t);
    double *p1 = malloc(n * 4 * sizeof(double)), *p2 = malloc(n * 4 * sizeof(double));
    WR_ASSERT_OK(wr_regressor_predict(r, X, n, 2, p1, 4));
    WR_ASSERT_OK(wr_regressor_set_param(r, "threads", "1"));
    WR_ASSERT_OK(wr_regressor_predict(r, X, n, 2, p2, 4));
    ck_assert(memcmp(p1, p2, n * 4 * sizeof(double)) == 0);
    /* early stopping on a validation set that cannot improve: labels are
     * shuffled noise, so the best epoch comes early and training stops */
    WR_ASSERT_OK(wr_regressor_set_params(r, "epochs=200 patience=2 hidden=16 learning_rate=0.05"));
    float *tv = malloc(200 * sizeof(float));
    for (int i = 0; i < 200; i++) tv[i] = t[(i * 7919) % n] * 3.0f + 5.0f;
    WR_ASSERT_OK(wr_regressor_fit(r, X, n, 2, t, NULL, X + 400, 200, tv, NULL));
    int ran, best;
    WR_ASSERT_OK(wr_regressor_fit_info(r, &ran, &best));
    ck_assert_int_lt(ran, 200);
    ck_assert_int_eq(ran, best + 2);
    free(tv); free(p1); free(p2); free(X); free(t);
    wr_regressor_free(r);
}
END_TEST

/* ------------------------------------------------------ concurrent predict */
typedef struct conc_arg {
    const wr_regressor *r;
    const float *X;
    size_t n;
    double *out;
    wr_status st;
} conc_arg;

static void *conc_predict(void *v)
{
    conc_arg *a = v;
    for (int rep = 0; rep < 5 && a->st == WR_OK; rep++)
        a->st = wr_regressor_predict(a->r, a->X, a->n, 2, a->out, 4);
    return NULL;
}

START_TEST(test_concurrent_predict)
{
    /* predict is const: four threads on one handle (each also splitting
     * its rows over 2 pool threads) give the single-threaded answer */
    float *X, *t;
    size_t n;
    wr_regressor *r = small_fit("threads=2", &n, &X, &t);
    double *ref = malloc(n * 4 * sizeof(double));
    WR_ASSERT_OK(wr_regressor_predict(r, X, n, 2, ref, 4));
    enum { NT = 4 };
    pthread_t th[NT];
    conc_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (conc_arg){r, X, n, malloc(n * 4 * sizeof(double)), WR_OK};
        ck_assert_int_eq(pthread_create(&th[i], NULL, conc_predict, &args[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].st, WR_OK);
        ck_assert(memcmp(args[i].out, ref, n * 4 * sizeof(double)) == 0);
        free(args[i].out);
    }
    free(ref); free(X); free(t);
    wr_regressor_free(r);
}
END_TEST

/* ------------------------------------------------------------- w_mc */
/* The 15 features and the magnitude target of the generator sample: a
 * small network must beat the target's marginal pdf, close on the target
 * histogram and give a better |h| than the track recoil. */
START_TEST(test_w_mc)
{
    const char *dir = wr_test_shared_data();
    char path[600];
    if (dir) snprintf(path, sizeof path, "%s/w_mc.csv.gz", dir);
    FILE *probe = dir ? fopen(path, "rb") : NULL;
    if (!probe) {
        fprintf(stderr, "test_w_mc: SKIPPED (no shared data w_mc.csv.gz)\n");
        return;
    }
    fclose(probe);
    static const char *const cols[] = {
        "h_tk", "phi_tk", "r_ntnpv", "r_m", "r_ltk", "r_lnt", "s_tk", "s_nt", "s_pf",
        "cos_tk_ntnpv", "adphi_tk_ntnpv", "sdphi_tk_pf", "sdphi_tk_ltk", "n_tk", "n_vtx",
        "ln_e1", "htrue_x", "htrue_y"};
    enum { NC = 18, D = 15, NMAX = 30000, NTR = 20000 };
    wr_table_reader *tr;
    WR_ASSERT_OK(wr_table_reader_open(path, &tr));
    WR_ASSERT_OK(wr_table_reader_select(tr, cols, NC));
    float *raw = malloc(sizeof(float) * NMAX * NC);
    size_t got;
    WR_ASSERT_OK(wr_table_reader_read_float(tr, raw, NMAX, &got));
    wr_table_reader_close(tr);
    ck_assert_uint_eq(got, NMAX);
    float *X = malloc(sizeof(float) * NMAX * D), *t = malloc(sizeof(float) * NMAX);
    double *htrue = malloc(sizeof(double) * NMAX), *htk = malloc(sizeof(double) * NMAX);
    size_t n = 0;
    for (size_t i = 0; i < got; i++) {
        const float *row = raw + i * NC;
        if (row[13] == 0) continue; /* n_tk == 0: no track recoil */
        memcpy(X + n * D, row, D * sizeof(float));
        t[n] = row[15];
        htk[n] = row[0];
        htrue[n] = hypot(row[16], row[17]);
        n++;
    }
    size_t nte = n - NTR;
    wr_regressor *r;
    WR_ASSERT_OK(wr_regressor_create(&r));
    WR_ASSERT_OK(wr_regressor_set_params(r, "hidden=32,32 epochs=8 batch_size=256 learning_rate=0.003"));
    WR_ASSERT_OK(wr_regressor_fit(r, X, NTR, D, t, NULL, NULL, 0, NULL, NULL));
    const float *Xte = X + NTR * D, *tte = t + NTR;
    double *par = malloc(sizeof(double) * nte * 4), *sum = malloc(sizeof(double) * nte * 4);
    WR_ASSERT_OK(wr_regressor_predict(r, Xte, nte, D, par, 4));
    WR_ASSERT_OK(wr_regressor_summary(r, Xte, nte, D, sum));
    /* marginal pdf: the training mean and RMS as a Gaussian */
    double m = 0, v = 0, nll, nll_marg = 0;
    for (size_t i = 0; i < NTR; i++) m += t[i] / (double)NTR;
    for (size_t i = 0; i < NTR; i++) v += (t[i] - m) * (t[i] - m) / (double)NTR;
    for (size_t i = 0; i < nte; i++)
        nll_marg += (0.5 * (tte[i] - m) * (tte[i] - m) / v + 0.5 * log(2 * M_PI * v)) / (double)nte;
    WR_ASSERT_OK(wr_regressor_nll(r, Xte, nte, D, tte, NULL, &nll));
    /* closure: 20 bins between the 1% and 99% points of the test targets */
    enum { NB = 20 };
    double edges[NB + 1], mix[NB + 1], lo = -2.3, hi = 2.8, obs[NB] = {0}, chi2 = 0;
    for (int j = 0; j <= NB; j++) edges[j] = lo + (hi - lo) * j / NB;
    WR_ASSERT_OK(wr_pdf_mixture_cdf(WR_PDF_GAUSSEXP2, par, nte, 4, NULL, edges, NB + 1, mix));
    for (size_t i = 0; i < nte; i++) {
        int b = (int)floor((tte[i] - lo) / (hi - lo) * NB);
        if (b >= 0 && b < NB) obs[b] += 1;
    }
    for (int j = 0; j < NB; j++) {
        double e = (double)nte * (mix[j + 1] - mix[j]);
        chi2 += (obs[j] - e) * (obs[j] - e) / e;
    }
    /* |h| resolution: h_tk vs h_tk E[exp(ln_e1)] */
    double rms_tk = 0, rms_wr = 0;
    size_t nfin = 0;
    for (size_t i = 0; i < nte; i++) {
        double me = sum[i * 4 + WR_SUMMARY_MEAN_EXP];
        if (!isfinite(me)) continue;
        double h = htk[NTR + i] * me, ht = htrue[NTR + i];
        rms_tk += (htk[NTR + i] - ht) * (htk[NTR + i] - ht);
        rms_wr += (h - ht) * (h - ht);
        nfin++;
    }
    rms_tk = sqrt(rms_tk / nfin);
    rms_wr = sqrt(rms_wr / nfin);
    fprintf(stderr, "test_w_mc: %zu test events: NLL %.4f (marginal %.4f), closure chi2/ndf "
            "%.2f, RMS(|h| - |h_true|) %.2f GeV (track recoil %.2f GeV), %zu of %zu with "
            "finite E[exp]\n", nte, nll, nll_marg, chi2 / NB, rms_wr, rms_tk, nfin, nte);
    ck_assert_msg(nll < nll_marg - 0.1, "NLL %g vs marginal %g", nll, nll_marg);
    ck_assert_msg(chi2 / NB < 10, "closure chi2/ndf %g", chi2 / NB);
    ck_assert_msg(nfin > nte * 0.99, "E[exp] infinite too often");
    ck_assert_msg(rms_wr < 0.85 * rms_tk, "resolution %g vs track %g", rms_wr, rms_tk);
    wr_regressor_free(r);
    free(raw); free(X); free(t); free(htrue); free(htk); free(par); free(sum);
}
END_TEST

static Suite *regressor_suite(void)
{
    Suite *s = suite_create("regressor");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_network_gradient);
    tcase_add_test(tc, test_activation_values);
    tcase_add_test(tc, test_softplus_block);
    tcase_add_test(tc, test_recover_gauss);
    tcase_add_test(tc, test_recover_gaussexp2);
    tcase_add_test(tc, test_recover_flat);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_hostile_payloads);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_threads_and_early_stop);
    tcase_add_test(tc, test_concurrent_predict);
    tcase_add_test(tc, test_w_mc);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(regressor_suite)
