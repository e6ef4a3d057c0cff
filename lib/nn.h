/*
 * lib/nn.h -- internal: a dense MLP whose forward and backward passes are
 * cblas_sgemm calls over a block of rows, plus Adam.
 *
 * Layout.  Layer l (1..L) maps size[l-1] inputs to size[l] outputs with
 * weights W_l (size[l] x size[l-1], row-major, as torch.nn.Linear) and a
 * bias b_l; all parameters live in one float vector theta (W_1, b_1, W_2,
 * ...), so a gradient, an Adam moment or a saved model is one array.
 * Hidden layers apply the activation; the last layer is linear.
 */
#ifndef WR_NN_H
#define WR_NN_H

#include "core.h"

#define WR__MLP_MAX_LAYERS (WR__INTLIST_MAX + 1)

typedef enum wr__act {
    WR__ACT_RELU = 0,
    WR__ACT_ELU = 1,
    WR__ACT_SELU = 2,
    WR__ACT_TANH = 3
} wr__act;

typedef struct wr__mlp {
    int n_layers;                      /* weight layers L */
    int size[WR__MLP_MAX_LAYERS + 1];  /* size[0] inputs ... size[L] outputs */
    int act;                           /* wr__act */
    size_t n_params;
    size_t off_w[WR__MLP_MAX_LAYERS], off_b[WR__MLP_MAX_LAYERS];
    int max_width;                     /* largest size[l], l >= 1 */
} wr__mlp;

/** Describes the shape; fails (naming `fn`) on bad sizes or overflow. */
wr_status wr__mlp_shape(wr__mlp *m, int d_in, const int *hidden, int n_hidden,
                        int d_out, int act, const char *fn);

/** Random initialisation: uniform weights with variance gain/fan_in
 *  (gain 2 for relu/elu, 1 for selu/tanh), zero biases; the output layer is
 *  scaled by `out_scale` so the initial pdf follows `out_bias`. */
void wr__mlp_init(const wr__mlp *m, float *theta, wr__rng *rng,
                  float out_scale, const float *out_bias);

/** Floats of workspace forward+backward need for `rows` rows. */
size_t wr__mlp_ws_floats(const wr__mlp *m, size_t rows);

/** Forward pass for X (rows x size[0]); activations are kept in ws for the
 *  backward pass.  Returns the output block (rows x size[L]) inside ws. */
float *wr__mlp_forward(const wr__mlp *m, const float *theta, const float *X,
                       size_t rows, float *ws);

/** Backward pass after wr__mlp_forward on the same ws: given dL/dout
 *  (rows x size[L]; overwritten), writes dL/dtheta into grad (n_params,
 *  overwritten). */
void wr__mlp_backward(const wr__mlp *m, const float *theta, const float *X,
                      size_t rows, float *ws, float *dout, float *grad);

/** Adam state and one step.  l2 adds l2 * w to the gradient of weights
 *  (not biases). */
typedef struct wr__adam {
    float *mom1, *mom2;
    double beta1, beta2, eps;
    int64_t step;
} wr__adam;

void wr__adam_step(const wr__mlp *m, wr__adam *a, float *theta,
                   const float *grad, double lr, double l2);

/** softplus(x) = ln(1 + e^x) over n floats, vectorised (relative error
 *  ~3e-7); for the links of large prediction batches. */
void wr__softplus_f(const float *x, float *out, size_t n);

/** Static name of an activation. */
const char *wr__act_name(int act);

#endif /* WR_NN_H */
