/* tools/demo.c -- `wrecoil demo`: options, sizes, samples, the steps. */
#include "demo.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const RC_NAME[RC_N] = {"tk", "pf", "mnpk"};
const char *const RC_LABEL[RC_N] = {"TK", "PF", "MNPk"};
const double PT_EDGES[N_PT_BINS + 1] = {0, 4, 10, 20, 50, INFINITY};

void demo_note(demo *d, const char *fmt, ...)
{
    va_list ap;
    char buf[256];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("  NOTE: %s\n", buf);
    if (d->n_notes < 8) snprintf(d->notes[d->n_notes++], sizeof d->notes[0], "%s", buf);
}

void demo_step(const demo *d, const char *title)
{
    printf("\n== %s  [%.0f s]\n", title, cli_now() - d->t0);
    fflush(stdout);
}

void sum_set(demo *d, int row, int rc, double v, double e)
{
    d->sum[row].v[rc] = v;
    d->sum[row].e[rc] = e;
    d->sum[row].have = 1;
}

int demo_csv(const demo *d, const char *name, size_t n, size_t k, const char *const *names,
             const double *const *cols)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/plotdata/%s", d->out, name);
    double *v = malloc((n ? n : 1) * k * sizeof *v);
    if (!v) return cli_fail("demo", "out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++) v[i * k + j] = isfinite(cols[j][i]) ? cols[j][i] : 0.0;
    frame f;
    if (frame_make(&f, n, k, names, v)) {
        free(v);
        return cli_fail("demo", "out of memory");
    }
    int rc = frame_write("demo", path, &f);
    frame_free(&f);
    return rc;
}

void sample_free(sample *s)
{
    frame_free(&s->f);
    for (int r = 0; r < RC_N; r++) free(s->h[r]);
    free(s->vgen), free(s->zgen), free(s->vreco), free(s->zreco), free(s->vpt);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- samples */
static int toy_frame(const char *process, const char *preset, const char *set, uint64_t seed,
                     size_t n, long threads, const char *label, frame *f)
{
    wr_toy *toy = NULL;
    size_t nc = wr_toy_table_ncols();
    const char *names[64];
    for (size_t j = 0; j < nc && j < 64; j++) names[j] = wr_toy_table_colname(j);
    double *v = malloc(n * nc * sizeof *v);
    if (!v) return cli_fail("demo", "out of memory");
    if (wr_toy_create(process, preset, &toy) || (set && wr_toy_set_params(toy, set))) {
        free(v);
        wr_toy_free(toy);
        return cli_fail_wr("demo", "toy %s %s%s%s", process, preset, set ? " with " : "",
                           set ? set : "");
    }
    wr_toy_set_progress(toy, cli_progress, (void *)label);
    wr_status st = wr_toy_table(toy, seed, 0, n, (int)threads, v);
    wr_toy_free(toy);
    if (st) {
        free(v);
        return cli_fail_wr("demo", "generating %s", label);
    }
    if (frame_make(f, n, nc, names, v)) {
        free(v);
        return cli_fail("demo", "out of memory");
    }
    return 0;
}

/* Keeps rows [lo, hi) of a frame read from a file into `out`. */
static int frame_slice(const frame *in, size_t lo, size_t hi, frame *out)
{
    size_t n = hi - lo;
    double *v = malloc((n ? n : 1) * in->ncols * sizeof *v);
    if (!v) return cli_fail("demo", "out of memory");
    memcpy(v, in->v + lo * in->ncols, n * in->ncols * sizeof *v);
    if (frame_make(out, n, in->ncols, (const char *const *)in->names, v)) {
        free(v);
        return cli_fail("demo", "out of memory");
    }
    return 0;
}

static int sample_vectors(sample *s)
{
    size_t m = s->f.n ? s->f.n : 1;
    s->vgen = malloc(m * 2 * sizeof(float)), s->zgen = malloc(m * 2 * sizeof(float));
    if (!s->vgen || !s->zgen) return cli_fail("demo", "out of memory");
    if (boson_vectors("demo", &s->f, "gen", s->vgen, s->zgen)) return 1;
    if (!(s->vpt = frame_column("demo", &s->f, "v_pt"))) return 1;
    if (!(s->h[RC_TK] = recoil_vectors("demo", &s->f, "tk"))) return 1;
    if (!(s->h[RC_PF] = recoil_vectors("demo", &s->f, "pf"))) return 1;
    if (!s->is_z) return 0;
    s->vreco = malloc(m * 2 * sizeof(float)), s->zreco = malloc(m * 2 * sizeof(float));
    if (!s->vreco || !s->zreco) return cli_fail("demo", "out of memory");
    return boson_vectors("demo", &s->f, "reco", s->vreco, s->zreco);
}

static int toy_samples(demo *d)
{
    uint64_t s = (uint64_t)d->seed * 16;
    struct {
        sample *smp;
        const char *proc, *preset, *label;
        size_t n;
    } T[] = {
        {&d->wtrain, "W", "mc", "W sim (training)", d->n_train},
        {&d->wsim, "W", "mc", "W sim", d->n_wsim},
        {&d->wdata, "W", "data", "W data", d->n_wdata},
        {&d->zsim, "Z", "mc", "Z sim", d->n_zsim},
        {&d->zsim2, "Z", "mc", "Z sim (second sample)", d->n_zsim2},
        {&d->zdata, "Z", "data", "Z data", d->n_zdata},
    };
    /* W data replays the random streams of W sim and Z data those of the
     * second Z sim sample (same seed and event numbers, other knobs): the
     * pairs are correlated event by event and their shared event ids keep
     * that correlation in the bootstrap. */
    static const uint64_t SEED_OF[6] = {0, 1, 1, 2, 3, 3};
    d->paired = 1;
    for (size_t k = 0; k < sizeof T / sizeof T[0]; k++) {
        T[k].smp->label = T[k].label;
        T[k].smp->is_z = T[k].proc[0] == 'Z';
        const char *set = !strcmp(T[k].preset, "data") ? d->data_set : d->sim_set;
        if (toy_frame(T[k].proc, T[k].preset, set, s + SEED_OF[k], T[k].n, d->threads, T[k].label,
                      &T[k].smp->f))
            return 1;
        if (sample_vectors(T[k].smp)) return 1;
    }
    d->have_wdata = 1;
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* --data-dir: w_mc (first part trains, the rest is W sim), z_mc (two
 * halves), z_data, and w_data.csv.gz when present. */
static int dir_samples(demo *d)
{
    char p[4096];
    frame wmc, zmc;
    snprintf(p, sizeof p, "%s/w_mc.csv.gz", d->data_dir);
    cli_note("reading %s", p);
    if (frame_read("demo", p, &wmc)) return 1;
    snprintf(p, sizeof p, "%s/z_mc.csv.gz", d->data_dir);
    cli_note("reading %s", p);
    if (frame_read("demo", p, &zmc)) {
        frame_free(&wmc);
        return 1;
    }
    size_t nt = wmc.n * 2 / 5, nz = zmc.n / 2;
    int rc = frame_slice(&wmc, 0, nt, &d->wtrain.f) || frame_slice(&wmc, nt, wmc.n, &d->wsim.f) ||
             frame_slice(&zmc, 0, nz, &d->zsim.f) || frame_slice(&zmc, nz, zmc.n, &d->zsim2.f);
    frame_free(&wmc), frame_free(&zmc);
    snprintf(p, sizeof p, "%s/z_data.csv.gz", d->data_dir);
    cli_note("reading %s", p);
    if (!rc) rc = frame_read("demo", p, &d->zdata.f);
    snprintf(p, sizeof p, "%s/w_data.csv.gz", d->data_dir);
    d->have_wdata = file_exists(p);
    if (!rc && d->have_wdata) rc = frame_read("demo", p, &d->wdata.f);
    if (rc) return 1;
    sample *all[6] = {&d->wtrain, &d->wsim, &d->zsim, &d->zsim2, &d->zdata, &d->wdata};
    const char *lab[6] = {"W sim (training)", "W sim", "Z sim", "Z sim (second half)", "Z data", "W data"};
    for (int k = 0; k < 6; k++) {
        all[k]->label = lab[k];
        all[k]->is_z = k >= 2 && k <= 4;
        if ((k < 5 || d->have_wdata) && sample_vectors(all[k])) return 1;
    }
    d->n_train = d->wtrain.f.n, d->n_wsim = d->wsim.f.n, d->n_zsim = d->zsim.f.n;
    d->n_zdata = d->zdata.f.n, d->n_wdata = d->wdata.f.n, d->n_zsim2 = d->zsim2.f.n;
    d->n_ztrain = d->n_zdata;
    if (!d->have_wdata)
        demo_note(d, "%s has no w_data.csv.gz: the W closure (step 3) is not available", d->data_dir);
    return 0;
}

int demo_samples(demo *d)
{
    demo_step(d, d->data_dir ? "Samples (generator files)" : "Samples (built-in toy)");
    if (d->data_dir ? dir_samples(d) : toy_samples(d)) return 1;
    printf("  sizes: W training %zu, W sim %zu, W data %zu; Z sim %zu (morpher training), Z sim "
           "%zu (closure), Z data %zu (first %zu train the morpher)\n", d->n_train, d->n_wsim,
           d->n_wdata, d->n_zsim, d->zsim2.f.n, d->n_zdata, d->n_ztrain);
    if (d->paired)
        printf("  W data and Z data replay the random streams of W sim and of the second Z sim "
               "sample with the data knobs (paired samples, correlated in the bootstrap)\n");
    return 0;
}

/* ---------------------------------------------------------------- main */
static void demo_free(demo *d)
{
    sample *all[6] = {&d->wtrain, &d->wsim, &d->wdata, &d->zsim, &d->zsim2, &d->zdata};
    for (int k = 0; k < 6; k++) sample_free(all[k]);
    free(d->wgen);
    recoil_model_free(&d->rm);
    json_free(&d->res), json_free(&d->plots);
}

static void sizes_from_events(demo *d)
{
    size_t n = (size_t)d->events;
    d->n_wsim = n;
    d->n_wdata = n;
    d->n_train = n / 8;
    d->n_zsim = d->z_train > 0 ? (size_t)d->z_train : n / 8;
    d->n_ztrain = d->n_zsim;
    d->n_zsim2 = 3 * n / 4;
    d->n_zdata = 3 * n / 4 > d->n_ztrain ? 3 * n / 4 : d->n_ztrain;
}

static int make_dirs(const char *out)
{
    char p[4096];
    if (mkdir(out, 0777) && errno != EEXIST) return cli_fail("demo", "cannot create '%s'", out);
    snprintf(p, sizeof p, "%s/plotdata", out);
    if (mkdir(p, 0777) && errno != EEXIST) return cli_fail("demo", "cannot create '%s'", p);
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    demo d;
    memset(&d, 0, sizeof d);
    d.events = 400000, d.seed = 1, d.threads = 0, d.epochs = 30, d.rounds = 100, d.data_rounds = 30;
    d.bootstrap = 50, d.calib_replicas = 6, d.out = "demo-out";
    for (int k = 0; k < S_N; k++)
        d.sum[k].v[0] = d.sum[k].v[1] = d.sum[k].e[0] = d.sum[k].e[1] = NAN;
    const cli_opt opts[] = {
        {"events", OPT_INT, &d.events, "N",
         "W sim and W data events; W training and Z morpher samples get N/8, the Z "
         "closure samples (sim, data) 3N/4 [400000]"},
        {"seed", OPT_INT, &d.seed, "S", "seed of the toy samples [1]"},
        {"threads", OPT_INT, &d.threads, "T", "threads, 0 = all cores [0]"},
        {"out", OPT_STR, &d.out, "DIR", "output directory [demo-out]"},
        {"data-dir", OPT_STR, &d.data_dir, "DIR",
         "run on generator samples w_mc, z_mc, z_data (+ w_data if present) instead of the toy"},
        {"epochs", OPT_INT, &d.epochs, "N", "maximum epochs of the recoil regressors [30]"},
        {"rounds", OPT_INT, &d.rounds, "N", "boosting rounds of the simulation's morphing forests [100]"},
        {"data-rounds", OPT_INT, &d.data_rounds, "N",
         "rounds the data forests add to the simulation's (data_forest=from_sim) [30]"},
        {"morph", OPT_STR, &d.morph_kv, "\"K=V ..\"",
         "morpher parameters, e.g. interpolation=pchip (docs/morph.md)"},
        {"forest", OPT_STR, &d.forest_kv, "\"K=V ..\"",
         "more parameters of the morphing forests (docs/forest.md)"},
        {"data-forest", OPT_STR, &d.data_forest_kv, "\"K=V ..\"",
         "parameters of the data-side forests only, after --forest"},
        {"sim-set", OPT_STR, &d.sim_set, "\"K=V ..\"", "toy knobs changed in the simulation samples"},
        {"data-set", OPT_STR, &d.data_set, "\"K=V ..\"",
         "toy knobs changed in the data samples (e.g. another detector response)"},
        {"z-train", OPT_INT, &d.z_train, "N",
         "Z sim and Z data events that train the morpher [N/8]"},
        {"bootstrap", OPT_INT, &d.bootstrap, "R", "bootstrap replicas of every bias [50]"},
        {"calib-replicas", OPT_INT, &d.calib_replicas, "K",
         "morphers refitted on bootstrap replicas of the Z training samples: the "
         "calibration's statistical error of the W residual (0 = off) [6]"},
        {"no-report", OPT_FLAG, &d.no_report, NULL, "skip the plots (results.json and the table only)"},
    };
    const cli_cmd cmd = {
        "demo",
        "Runs the W-mass recoil study end to end: (1) the MNPk recoil vs TK and PF,\n"
        "(2) the pT-W systematic for TK and MNPk, (3) the calibration with Z events\n"
        "(quantile morphing) and its closure on W, then (4) a summary table\n"
        "(terminal and OUT/results.json) and (5) plots with OUT/report.html.",
        "usage: wrecoil demo [options]",
        "Default sizes run in about 2 minutes on 2 cores (more on a busy machine); docs/cli.md describes the\n"
        "method and every number of results.json.",
        opts, sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (d.events < 16000) return 2 * cli_fail("demo", "--events must be at least 16000");
    if (d.bootstrap < 2 || d.epochs < 1 || d.rounds < 1 || d.data_rounds < 1 || d.calib_replicas < 0 ||
        d.calib_replicas == 1)
        return 2 * cli_fail("demo", "--bootstrap >= 2, --epochs >= 1, --rounds and --data-rounds >= 1 and "
                                    "--calib-replicas 0 or >= 2 needed");
    if (make_dirs(d.out)) return 1;
    d.t0 = cli_now();
    sizes_from_events(&d);
    json_init(&d.res), json_init(&d.plots);
    json_obj(&d.res, NULL), json_obj(&d.plots, NULL);
    printf("wrecoil demo (libwrecoil %s): %s, seed %ld, output in %s/\n", wr_version_string(),
           d.data_dir ? d.data_dir : "built-in toy", d.seed, d.out);
    r = demo_samples(&d);
    if (!r) r = demo_recoil(&d);
    if (!r) r = demo_ptw(&d);
    if (!r) r = demo_calib(&d);
    if (!r) r = demo_report(&d);
    demo_free(&d);
    return r;
}
