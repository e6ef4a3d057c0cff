/*
 * tools/cli.h -- internal helpers of the `wrecoil` command (not installed).
 * The command links the shared library and uses only the public API.
 */
#ifndef WRECOIL_CLI_H
#define WRECOIL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <wrecoil.h>

/* ------------------------------------------------------------- options */
typedef enum { OPT_STR, OPT_INT, OPT_DBL, OPT_FLAG } opt_type;

typedef struct {
    const char *name;  /* long name without "--" */
    opt_type type;
    void *ptr;         /* const char **, long *, double *, int * */
    const char *arg;   /* metavariable in the help ("N", "FILE"), NULL for flags */
    const char *help;
} cli_opt;

typedef struct {
    const char *name;     /* subcommand */
    const char *summary;  /* one line */
    const char *usage;    /* "wrecoil toy [options]" */
    const char *details;  /* paragraph after the options, may be NULL */
    const cli_opt *opts;
    size_t n_opts;
    const char **pos;     /* receives one positional argument, or NULL */
} cli_cmd;

/* Parses argv[1..] against cmd's options.  Returns 0 to continue, 1 when
 * --help was printed (exit 0), -1 on an error (message printed; exit 2). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv);
void cli_help(const cli_cmd *cmd, FILE *f);

/* Prints "wrecoil CMD: message" on stderr; returns 1 (the exit status). */
int cli_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, appending ": <wr_last_error()>". */
int cli_fail_wr(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks a required option is set. */
int cli_need(const char *cmd, const char *opt, const char *value);

/* ------------------------------------------------------------ progress */
/* A progress bar on stderr (redrawn on a terminal, a line every 25 %
 * otherwise).  Use as the wr_progress_fn of the library calls. */
extern int cli_quiet;
int cli_progress(void *label, const char *stage, int64_t step, int64_t total,
                 double m1, double m2);
/* Prints a status line "  message" on stderr unless --quiet. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double cli_now(void);

/* -------------------------------------------------------------- tables */
/* A table held in memory: n rows of ncols doubles, row-major. */
typedef struct {
    size_t n, ncols;
    char **names;
    double *v;
} frame;

void frame_free(frame *f);
/* Reads every column of a CSV/CSV.gz file ("-" = stdin). */
int frame_read(const char *cmd, const char *path, frame *f);
/* Column index of `name`, or -1 (a message is printed when `need`). */
long frame_col(const char *cmd, const frame *f, const char *name, int need);
/* Copies column `name` into a new array of n doubles (NULL + message when
 * missing or out of memory). */
double *frame_column(const char *cmd, const frame *f, const char *name);
/* Appends columns (values col-major: k arrays of n doubles). */
int frame_append(const char *cmd, frame *f, size_t k, const char *const *names,
                 double *const *cols);
/* Writes the frame ("-" = stdout; ".gz" compresses). */
int frame_write(const char *cmd, const char *path, const frame *f);
/* Builds a frame owning a copy of names (values taken over). */
int frame_make(frame *f, size_t n, size_t ncols, const char *const *names,
               double *values);

/* ------------------------------------------------------------ recoils */
/* The recoil columns of an event table: "tk" -> tk_x, tk_y; "mnpk" ->
 * mnpk_x, mnpk_y; any NAME -> NAME_x, NAME_y.  Returns n x 2 floats. */
float *recoil_vectors(const char *cmd, const frame *f, const char *recoil);
/* sign s of the contract: sign(dphi(TK, NTNPV)), +1 at zero */
double recoil_sign(double tkx, double tky, double nx, double ny);

/* ------------------------------------------------------ recoil model */
/* The two-regressor MNPk recoil: ln_e1 (magnitude) and e2s (sign-aligned
 * angle) regressors on the 15 contract features. */
typedef struct {
    wr_regressor *mag, *ang;
} recoil_model;

typedef struct {
    const char *hidden, *family, *ang_family, *activation;
    long epochs, patience, batch, threads, seed;
    double lr, val_fraction;
    const char *label;  /* progress label prefix */
} recoil_train_opts;

void recoil_train_defaults(recoil_train_opts *o);
void recoil_model_free(recoil_model *m);
/* Paths of the two regressors of a model prefix (buf of len bytes). */
void recoil_model_paths(const char *prefix, char *mag, char *ang, size_t len);
int recoil_model_load(const char *cmd, const char *prefix, recoil_model *m);
int recoil_model_save(const char *cmd, const char *prefix, const recoil_model *m);
/* Features (n x 15 floats) and targets (ln_e1, e2s) of the events of a
 * table that have a TK recoil (n_tk > 0); *keep receives row indices. */
int recoil_inputs(const char *cmd, const frame *f, float **X, float **t_mag,
                  float **t_ang, size_t **keep, size_t *n_keep);
/* Trains both regressors; prints their validation NLL. */
int recoil_train(const char *cmd, const recoil_train_opts *o, const float *X,
                 const float *t_mag, const float *t_ang, size_t n,
                 recoil_model *m);
/* MNPk recoil vectors (n x 2 floats) of every row of a table: h_tk times
 * exp(median ln_e1) at angle phi_tk + s median(e2s); rows without a TK
 * track get (0, 0).  Optional med (n x 2 doubles) gets the two medians. */
int recoil_apply(const char *cmd, const recoil_model *m, const frame *f,
                 float *h, double *med);

/* ---------------------------------------------------------------- json */
/* A tiny JSON writer into a growing string. */
typedef struct {
    char *s;
    size_t len, cap;
    int need_comma[64];
    int depth;
    int oom;
} json;

void json_init(json *j);
void json_free(json *j);
void json_obj(json *j, const char *key);   /* key NULL inside arrays / top */
void json_arr(json *j, const char *key);
void json_end_obj(json *j);
void json_end_arr(json *j);
void json_num(json *j, const char *key, double v); /* NaN/Inf -> null */
void json_int(json *j, const char *key, long long v);
void json_str(json *j, const char *key, const char *v);
void json_bool(json *j, const char *key, int v);
void json_nums(json *j, const char *key, const double *v, size_t n);
int json_write(const char *cmd, const json *j, const char *path);

/* ---------------------------------------------------------- small math */
int cmp_double(const void *a, const void *b);
/* Weighted quantile of x (n values, w NULL = 1) at probability p; sorts a
 * scratch copy. NaN when empty. */
double wquantile(const double *x, const double *w, size_t n, double p);
/* Parses "a,b,c" into up to max doubles; returns the count or -1. */
long parse_list(const char *s, double *out, long max);
/* Parses "lo:hi" */
int parse_range(const char *s, double *lo, double *hi);

/* -------------------------------------------------------- subcommands */
int cmd_toy(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_train_recoil(int argc, char **argv);
int cmd_apply_recoil(int argc, char **argv);
int cmd_train_morph(int argc, char **argv);
int cmd_apply_morph(int argc, char **argv);
int cmd_fit_mass(int argc, char **argv);
int cmd_syst(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
