/*
 * lib/nn.c -- dense MLP forward/backward on cblas_sgemm, and Adam.
 *
 * Every layer is one sgemm over the whole block of rows (forward
 * Z = A W^T; backward dW = G^T A and dA = G W) followed by one fused
 * elementwise loop (bias + activation, or activation derivative).  The
 * derivatives are computed from the activations A alone (relu/elu/selu
 * from sign and value, tanh as 1 - A^2), so the forward pass stores one
 * block per layer and no pre-activations.
 *
 * exp() of ELU/SELU/tanh uses a branch-free polynomial (Cephes expf, rel.
 * error ~2e-7) that the compiler vectorises; libm's expm1f is scalar and
 * would cost more than the matrix products at these widths.
 */
#include "nn.h"

/* GCC refuses to if-convert (and so to vectorise) the branch-free
 * activation loops under -ftrapping-math: a float compare might trap.
 * Nothing here relies on floating-point traps.  (Adam's sqrtf stays
 * scalar: -fmath-errno cannot be lifted per function.) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <cblas.h>
#include <math.h>
#include <string.h>

/* The elementwise loops are compiled for AVX-512, AVX2 and baseline x86-64
 * and picked at load time (ifunc), since the library itself is built for
 * the baseline.  With -std=c11 GCC does not contract a*b+c into FMA, and
 * every loop is elementwise (or sums in a fixed order), so all variants
 * give identical results. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(WR_NO_CLONES)
#define SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SIMD_CLONES
#endif

#define SELU_LAMBDA 1.0507009873554804934f
#define SELU_ALPHA 1.6732632423543772848f

const char *wr__act_name(int act)
{
    static const char *const names[] = {"relu", "elu", "selu", "tanh"};
    return act >= 0 && act <= 3 ? names[act] : "unknown";
}

wr_status wr__mlp_shape(wr__mlp *m, int d_in, const int *hidden, int n_hidden,
                        int d_out, int act, const char *fn)
{
    if (d_in < 1 || d_out < 1 || n_hidden < 0 || n_hidden > WR__INTLIST_MAX)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: bad network shape (inputs %d, outputs %d, %d "
                        "hidden layers)", fn, d_in, d_out, n_hidden);
    if (act < WR__ACT_RELU || act > WR__ACT_TANH)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: unknown activation %d", fn, act);
    wr__mlp s;
    memset(&s, 0, sizeof s);
    s.n_layers = n_hidden + 1;
    s.act = act;
    s.size[0] = d_in;
    for (int l = 0; l < n_hidden; l++) {
        if (hidden[l] < 1 || hidden[l] > 1 << 16)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: hidden layer %d has width %d (1..65536)", fn,
                            l, hidden[l]);
        s.size[l + 1] = hidden[l];
    }
    s.size[s.n_layers] = d_out;
    size_t off = 0;
    for (int l = 0; l < s.n_layers; l++) {
        size_t ni = (size_t)s.size[l], no = (size_t)s.size[l + 1];
        s.off_w[l] = off;
        off += no * ni; /* widths <= 65536 and <= 17 layers: no overflow */
        s.off_b[l] = off;
        off += no;
        if (s.size[l + 1] > s.max_width) s.max_width = s.size[l + 1];
    }
    s.n_params = off;
    *m = s;
    return WR_OK;
}

void wr__mlp_init(const wr__mlp *m, float *theta, wr__rng *rng,
                  float out_scale, const float *out_bias)
{
    double gain = (m->act == WR__ACT_RELU || m->act == WR__ACT_ELU) ? 2.0 : 1.0;
    for (int l = 0; l < m->n_layers; l++) {
        size_t ni = (size_t)m->size[l], no = (size_t)m->size[l + 1];
        bool last = l == m->n_layers - 1;
        /* uniform(-h, h) has variance h^2/3 = gain/fan_in */
        double h = sqrt(3.0 * gain / (double)ni) * (last ? out_scale : 1.0);
        float *w = theta + m->off_w[l], *b = theta + m->off_b[l];
        for (size_t i = 0; i < no * ni; i++)
            w[i] = (float)(h * (2.0 * wr__rng_uniform(rng) - 1.0));
        for (size_t i = 0; i < no; i++) b[i] = last && out_bias ? out_bias[i] : 0.0f;
    }
}

size_t wr__mlp_ws_floats(const wr__mlp *m, size_t rows)
{
    size_t per_row = 2 * (size_t)m->max_width;
    for (int l = 1; l <= m->n_layers; l++) per_row += (size_t)m->size[l];
    return per_row * rows;
}

/* Activation block of layer l (1-based) inside ws. */
static float *act_block(const wr__mlp *m, float *ws, size_t rows, int l)
{
    size_t off = 0;
    for (int i = 1; i < l; i++) off += (size_t)m->size[i];
    return ws + off * rows;
}

/* ----------------------------------------------------- elementwise math */
/* Range reduction shared by the two exponentials below: for x <= 0,
 * e^x = 2^n (1 + q) with |r| <= ln2/2 and q = e^r - 1 from a degree-7
 * polynomial; returns 2^n and stores q. */
static inline float exp_neg_parts(float x, float *q)
{
    x = x < -87.0f ? -87.0f : x;
    const float shifter = 12582912.0f; /* 1.5 * 2^23: round to nearest */
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    *q = p * r * r + r;
    /* 2^n from the bits of t = 1.5 * 2^23 + n (no float-to-int
     * conversion, unsigned shifts: defined even for NaN input) */
    union { float f; uint32_t u; } tb, s;
    tb.f = t;
    s.u = (tb.u - 0x4B400000u + 127u) << 23;
    return s.f;
}

/* e^x - 1 for x <= 0, branch-free (Cephes expf, rel. error ~2e-7):
 * x = n ln2 + r with |r| <= ln2/2, q = e^r - 1 = r + r^2 P(r), and
 * e^x - 1 = 2^n q + (2^n - 1).  Near 0 (n = 0) this is q itself, so there
 * is no cancellation; below -87 it returns -1 (x is clamped). */
static inline float fast_expm1_neg(float x)
{
    float q;
    float s = exp_neg_parts(x, &q);
    return s * q + (s - 1.0f);
}

/* e^x for x <= 0 (same reduction, 2^n (1 + q)): full relative accuracy
 * where e^x - 1 + 1 would round away small values; ~1.6e-38 below -87. */
static inline float fast_exp_neg(float x)
{
    float q;
    float s = exp_neg_parts(x, &q);
    return s * (q + 1.0f);
}

static inline float fast_tanh(float z)
{
    /* tanh z = sign(z) (1 - e) / (1 + e) = -sign(z) em / (2 + em),
     * e = e^{-2|z|}, em = e - 1 (accurate near 0, see above) */
    float a = z < 0 ? -z : z;
    float em = fast_expm1_neg(-2.0f * a);
    float t = -em / (2.0f + em);
    return z < 0 ? -t : t;
}

/* Z += b on every row, then the activation over the whole block as one
 * long loop: per-row loops of 64 elements spent much of their time in
 * loop set-up and remainder handling. */
SIMD_CLONES
static void bias_act(float *A, size_t rows, size_t no, const float *b, int act,
                     bool linear)
{
    for (size_t r = 0; r < rows; r++) {
        float *a = A + r * no;
#pragma omp simd
        for (size_t j = 0; j < no; j++) a[j] += b[j];
    }
    if (linear) return;
    size_t n = rows * no;
    switch (act) {
    case WR__ACT_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) A[i] = A[i] > 0 ? A[i] : 0.0f;
        break;
    case WR__ACT_ELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float z = A[i];
            float e = fast_expm1_neg(z < 0 ? z : 0.0f);
            A[i] = z > 0 ? z : e;
        }
        break;
    case WR__ACT_SELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float z = A[i];
            float e = SELU_ALPHA * fast_expm1_neg(z < 0 ? z : 0.0f);
            A[i] = SELU_LAMBDA * (z > 0 ? z : e);
        }
        break;
    default:
#pragma omp simd
        for (size_t i = 0; i < n; i++) A[i] = fast_tanh(A[i]);
    }
}

/* ln(1 + y) for y in [0, 1]: with s = y/(2 + y), ln(1 + y) = 2 atanh(s),
 * s < 1/3, odd series to s^11 (rel. error < 1e-7); no cancellation for
 * small y. */
static inline float log1p_unit(float y)
{
    float s = y / (2.0f + y), s2 = s * s;
    float q = 1.0f / 11;
    q = q * s2 + 1.0f / 9;
    q = q * s2 + 1.0f / 7;
    q = q * s2 + 1.0f / 5;
    q = q * s2 + 1.0f / 3;
    q = q * s2 + 1.0f;
    return 2.0f * s * q;
}

/* The clones are static: GCC gives the ifunc resolver of an extern
 * target_clones function default visibility, which would export it. */
SIMD_CLONES
static void softplus_f(const float *x, float *out, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        float y = fast_exp_neg(-a); /* e^{-|x|} in (0, 1] */
        out[i] = (x[i] > 0 ? x[i] : 0.0f) + log1p_unit(y);
    }
}

void wr__softplus_f(const float *x, float *out, size_t n) { softplus_f(x, out, n); }

/* D *= act'(A), elementwise over n values. */
SIMD_CLONES
static void act_grad(float *D, const float *A, size_t n, int act)
{
    switch (act) {
    case WR__ACT_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) D[i] = A[i] > 0 ? D[i] : 0.0f;
        break;
    case WR__ACT_ELU: /* z <= 0: e^z = A + 1 */
#pragma omp simd
        for (size_t i = 0; i < n; i++) D[i] *= A[i] > 0 ? 1.0f : A[i] + 1.0f;
        break;
    case WR__ACT_SELU: /* z <= 0: lambda alpha e^z = A + lambda alpha */
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            D[i] *= A[i] > 0 ? SELU_LAMBDA : A[i] + SELU_LAMBDA * SELU_ALPHA;
        break;
    default:
#pragma omp simd
        for (size_t i = 0; i < n; i++) D[i] *= 1.0f - A[i] * A[i];
    }
}

/* ------------------------------------------------------ forward/backward */
float *wr__mlp_forward(const wr__mlp *m, const float *theta, const float *X,
                       size_t rows, float *ws)
{
    const float *in = X;
    float *A = ws;
    for (int l = 0; l < m->n_layers; l++) {
        int ni = m->size[l], no = m->size[l + 1];
        A = act_block(m, ws, rows, l + 1);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, no, ni,
                    1.0f, in, ni, theta + m->off_w[l], ni, 0.0f, A, no);
        bias_act(A, rows, (size_t)no, theta + m->off_b[l], m->act,
                 l == m->n_layers - 1);
        in = A;
    }
    return A;
}

SIMD_CLONES
static void column_sums(const float *G, size_t rows, size_t no, float *out)
{
    memset(out, 0, no * sizeof *out);
    for (size_t r = 0; r < rows; r++) {
        const float *g = G + r * no;
#pragma omp simd
        for (size_t j = 0; j < no; j++) out[j] += g[j];
    }
}

void wr__mlp_backward(const wr__mlp *m, const float *theta, const float *X,
                      size_t rows, float *ws, float *dout, float *grad)
{
    size_t acts = 0;
    for (int l = 1; l <= m->n_layers; l++) acts += (size_t)m->size[l];
    float *buf[2] = {ws + acts * rows, ws + (acts + (size_t)m->max_width) * rows};
    float *G = dout;
    int which = 0;
    for (int l = m->n_layers - 1; l >= 0; l--) {
        int ni = m->size[l], no = m->size[l + 1];
        const float *Ain = l == 0 ? X : act_block(m, ws, rows, l);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, (int)rows,
                    1.0f, G, no, Ain, ni, 0.0f, grad + m->off_w[l], ni);
        column_sums(G, rows, (size_t)no, grad + m->off_b[l]);
        if (l == 0) break;
        float *D = buf[which];
        which ^= 1;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, ni, no,
                    1.0f, G, no, theta + m->off_w[l], ni, 0.0f, D, ni);
        act_grad(D, Ain, rows * (size_t)ni, m->act);
        G = D;
    }
}

/* ----------------------------------------------------------------- Adam */
SIMD_CLONES
static void adam_update(float *th, float *m1, float *m2, const float *g, size_t n,
                        float b1, float b2, float step, float isb2, float eps,
                        float decay)
{
    /* no "omp simd" here: sqrtf may set errno (-fmath-errno), which keeps
     * this loop scalar, and Clang turns a failed simd request into an error */
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + decay * th[i];
        m1[i] = b1 * m1[i] + (1.0f - b1) * gi;
        m2[i] = b2 * m2[i] + (1.0f - b2) * gi * gi;
        th[i] -= step * m1[i] / (__builtin_sqrtf(m2[i]) * isb2 + eps);
    }
}

void wr__adam_step(const wr__mlp *m, wr__adam *a, float *theta,
                   const float *grad, double lr, double l2)
{
    a->step++;
    /* torch.optim.Adam: theta -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
    double bc1 = 1.0 - pow(a->beta1, (double)a->step);
    double bc2 = 1.0 - pow(a->beta2, (double)a->step);
    const float b1 = (float)a->beta1, b2 = (float)a->beta2;
    const float step = (float)(lr / bc1), isb2 = (float)(1.0 / sqrt(bc2));
    const float eps = (float)a->eps;
    for (int l = 0; l < m->n_layers; l++) {
        size_t nw = (size_t)m->size[l] * (size_t)m->size[l + 1];
        size_t nb = (size_t)m->size[l + 1];
        size_t off = m->off_w[l];
        for (int part = 0; part < 2; part++) {
            const float decay = part == 0 ? (float)l2 : 0.0f; /* weights only */
            size_t n = part == 0 ? nw : nb;
            adam_update(theta + off, a->mom1 + off, a->mom2 + off, grad + off, n,
                        b1, b2, step, isb2, eps, decay);
            off += n;
        }
    }
}
