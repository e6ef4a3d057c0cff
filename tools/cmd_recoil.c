/* tools/cmd_recoil.c -- `wrecoil train-recoil` and `wrecoil apply-recoil`. */
#include "cli.h"

#include <stdlib.h>

int cmd_train_recoil(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    long max_events = 0;
    recoil_train_opts o;
    recoil_train_defaults(&o);
    const cli_opt opts[] = {
        {"in", OPT_STR, &in, "FILE", "training events: the 15 features, tk/ntnpv vectors, "
         "ln_e1, e2 (e.g. from wrecoil toy; required)"},
        {"out", OPT_STR, &out, "PREFIX", "writes PREFIX.ln_e1.wrm and PREFIX.e2s.wrm (required)"},
        {"max-events", OPT_INT, &max_events, "N", "use only the first N events [all]"},
        {"epochs", OPT_INT, &o.epochs, "N", "maximum epochs [30]"},
        {"patience", OPT_INT, &o.patience, "N", "early-stopping patience in epochs [5]"},
        {"hidden", OPT_STR, &o.hidden, "W,W,..", "hidden layer widths [64,64,64]"},
        {"family", OPT_STR, &o.family, "NAME", "pdf family of ln_e1: gauss|gaussexp2 [gaussexp2]"},
        {"angle-family", OPT_STR, &o.ang_family, "NAME",
         "pdf family of e2s: gauss|gaussexp2|gaussexp2_flat (pedestal on [-pi, pi]) [gaussexp2_flat]"},
        {"activation", OPT_STR, &o.activation, "NAME", "relu|elu|selu|tanh [elu]"},
        {"batch", OPT_INT, &o.batch, "N", "minibatch size [256]"},
        {"lr", OPT_DBL, &o.lr, "X", "Adam learning rate [0.002]"},
        {"val-fraction", OPT_DBL, &o.val_fraction, "F",
         "last fraction of the events used for validation and early stopping [0.2]"},
        {"seed", OPT_INT, &o.seed, "S", "initialisation and shuffling seed [1]"},
        {"threads", OPT_INT, &o.threads, "T", "threads, 0 = all cores [0]"},
    };
    const cli_cmd cmd = {
        "train-recoil",
        "Trains the MNPk recoil: two semi-parametric regressors on the 15 contract\n"
        "features, one for the magnitude target ln_e1 = ln(|h_true| / h_tk) and one for\n"
        "the sign-aligned angle target e2s = s * e2 (docs/cli.md). Events without a TK\n"
        "track are left out.",
        "usage: wrecoil train-recoil --in FILE --out PREFIX [options]", NULL, opts,
        sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need(cmd.name, "in", in) || cli_need(cmd.name, "out", out)) return 2;
    if (!(o.val_fraction >= 0 && o.val_fraction < 0.9))
        return 2 * cli_fail(cmd.name, "--val-fraction must be in [0, 0.9)");
    frame f;
    if (frame_read(cmd.name, in, &f)) return 1;
    if (max_events > 0 && (size_t)max_events < f.n) f.n = (size_t)max_events;
    float *X, *tm, *ta;
    size_t *keep, n;
    recoil_model m = {0};
    r = recoil_inputs(cmd.name, &f, &X, &tm, &ta, &keep, &n);
    if (!r) {
        cli_note("train-recoil: %zu of %zu events have a TK recoil", n, f.n);
        r = recoil_train(cmd.name, &o, X, tm, ta, n, &m);
        if (!r) r = recoil_model_save(cmd.name, out, &m);
        if (!r) printf("wrote %s.ln_e1.wrm and %s.e2s.wrm\n", out, out);
        free(X), free(tm), free(ta), free(keep);
    }
    recoil_model_free(&m);
    frame_free(&f);
    return r;
}

int cmd_apply_recoil(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *model = NULL;
    const cli_opt opts[] = {
        {"in", OPT_STR, &in, "FILE", "events with the 15 features and tk/ntnpv vectors (required)"},
        {"model", OPT_STR, &model, "PREFIX", "model of train-recoil: PREFIX or one of its two "
         ".wrm files (required)"},
        {"out", OPT_STR, &out, "FILE", "output: the input columns plus mnpk_x, mnpk_y, "
         "ln_e1_med, e2s_med (required)"},
    };
    const cli_cmd cmd = {
        "apply-recoil",
        "Adds the MNPk recoil vector to every event: magnitude h_tk exp(median ln_e1),\n"
        "angle phi_tk + s median(e2s); (0, 0) for events without a TK track.",
        "usage: wrecoil apply-recoil --in FILE --model PREFIX --out FILE", NULL, opts,
        sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need(cmd.name, "in", in) || cli_need(cmd.name, "model", model) ||
        cli_need(cmd.name, "out", out))
        return 2;
    recoil_model m;
    if (recoil_model_load(cmd.name, model, &m)) return 1;
    frame f;
    if (frame_read(cmd.name, in, &f)) {
        recoil_model_free(&m);
        return 1;
    }
    size_t n = f.n ? f.n : 1;
    float *h = malloc(n * 2 * sizeof *h);
    double *med = malloc(n * 2 * sizeof *med);
    double *cols[4];
    for (int k = 0; k < 4; k++) cols[k] = malloc(n * sizeof(double));
    r = (!h || !med || !cols[0] || !cols[1] || !cols[2] || !cols[3])
            ? cli_fail(cmd.name, "out of memory") : 0;
    if (!r) r = recoil_apply(cmd.name, &m, &f, h, med);
    for (size_t i = 0; !r && i < f.n; i++) {
        cols[0][i] = h[2 * i], cols[1][i] = h[2 * i + 1];
        cols[2][i] = med[2 * i], cols[3][i] = med[2 * i + 1];
    }
    static const char *const NAMES[4] = {"mnpk_x", "mnpk_y", "ln_e1_med", "e2s_med"};
    if (!r) r = frame_append(cmd.name, &f, 4, NAMES, cols);
    if (!r) r = frame_write(cmd.name, out, &f);
    if (!r) cli_note("apply-recoil: %zu events -> %s", f.n, out);
    free(h), free(med);
    for (int k = 0; k < 4; k++) free(cols[k]);
    frame_free(&f);
    recoil_model_free(&m);
    return r;
}
