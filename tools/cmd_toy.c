/* tools/cmd_toy.c -- `wrecoil toy` and `wrecoil features`. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 65536 /* events per table chunk */
#define PCHUNK 2048 /* events per particle chunk (~300k particles) */

/* ------------------------------------------------------------------ toy */
typedef struct {
    const char *process, *preset, *set, *out, *particles;
    long events, seed, first, threads;
} toy_args;

static int toy_particles(const char *cmd, const wr_toy *toy, const toy_args *a,
                         wr_table_writer *w)
{
    size_t n = (size_t)a->events;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < PCHUNK ? n - done : PCHUNK;
        int64_t *off = malloc((k + 1) * sizeof *off);
        float *pt = NULL, *eta = NULL, *phi = NULL;
        int32_t *q = NULL, *vtx = NULL;
        if (!off) return cli_fail(cmd, "out of memory");
        if (wr_toy_particles(toy, (uint64_t)a->seed, a->first + (int64_t)done, k,
                             (int)a->threads, off, &pt, &eta, &phi, &q, &vtx, NULL)) {
            free(off);
            return cli_fail_wr(cmd, "generating particles");
        }
        size_t np = (size_t)off[k];
        /* floats (7-9 digits) keep the file small; event numbers stay exact
         * in a float below 2^24, doubles beyond */
        int dbl = a->first + (int64_t)n > (1 << 24);
        size_t es = dbl ? sizeof(double) : sizeof(float);
        void *rows = malloc((np ? np : 1) * 6 * es);
        int rc = rows ? 0 : cli_fail(cmd, "out of memory");
        for (size_t e = 0; !rc && e < k; e++)
            for (int64_t p = off[e]; p < off[e + 1]; p++) {
                double r[6] = {(double)(a->first + (int64_t)(done + e)), pt[p], eta[p], phi[p],
                               q[p], vtx[p]};
                for (int c = 0; c < 6; c++) {
                    if (dbl) ((double *)rows)[(size_t)p * 6 + (size_t)c] = r[c];
                    else ((float *)rows)[(size_t)p * 6 + (size_t)c] = (float)r[c];
                }
            }
        wr_status st = WR_OK;
        if (!rc && np)
            st = dbl ? wr_table_writer_write_double(w, rows, np) : wr_table_writer_write_float(w, rows, np);
        if (st) rc = cli_fail_wr(cmd, "writing '%s'", a->particles);
        free(rows), free(off);
        wr_free(pt), wr_free(eta), wr_free(phi), wr_free(q), wr_free(vtx);
        if (rc) return rc;
        done += k;
        cli_progress("toy particles", "toy", (int64_t)done, (int64_t)n, NAN, NAN);
    }
    return 0;
}

static int toy_table(const char *cmd, const wr_toy *toy, const toy_args *a, wr_table_writer *w)
{
    size_t nc = wr_toy_table_ncols(), n = (size_t)a->events;
    double *buf = malloc(CHUNK * nc * sizeof *buf);
    if (!buf) return cli_fail(cmd, "out of memory");
    for (size_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        if (wr_toy_table(toy, (uint64_t)a->seed, a->first + (int64_t)done, k,
                         (int)a->threads, buf)) {
            free(buf);
            return cli_fail_wr(cmd, "generating events");
        }
        if (wr_table_writer_write_double(w, buf, k)) {
            free(buf);
            return cli_fail_wr(cmd, "writing '%s'", a->out);
        }
        done += k;
        cli_progress("toy events", "toy", (int64_t)done, (int64_t)n, NAN, NAN);
    }
    free(buf);
    return 0;
}

static int toy_write(const char *cmd, const wr_toy *toy, const toy_args *a)
{
    size_t nc = wr_toy_table_ncols();
    const char *names[64];
    for (size_t j = 0; j < nc && j < 64; j++) names[j] = wr_toy_table_colname(j);
    wr_table_writer *w = NULL;
    if (wr_table_writer_open(a->out, names, nc, &w))
        return cli_fail_wr(cmd, "cannot write '%s'", a->out);
    int rc = toy_table(cmd, toy, a, w);
    if (wr_table_writer_close(w) && !rc) rc = cli_fail_wr(cmd, "closing '%s'", a->out);
    if (rc || !a->particles) return rc;
    static const char *const PN[6] = {"ev", "pt", "eta", "phi", "charge", "vtx"};
    if (wr_table_writer_open(a->particles, PN, 6, &w))
        return cli_fail_wr(cmd, "cannot write '%s'", a->particles);
    rc = toy_particles(cmd, toy, a, w);
    if (wr_table_writer_close(w) && !rc) rc = cli_fail_wr(cmd, "closing '%s'", a->particles);
    return rc;
}

int cmd_toy(int argc, char **argv)
{
    toy_args a = {"W", "mc", NULL, NULL, NULL, 10000, 1, 0, 0};
    const cli_opt opts[] = {
        {"process", OPT_STR, &a.process, "W|Z", "boson process [W]"},
        {"preset", OPT_STR, &a.preset, "mc|data", "knob preset: simulation or data-like [mc]"},
        {"set", OPT_STR, &a.set, "\"K=V ...\"", "change toy knobs (docs/toy.md)"},
        {"events", OPT_INT, &a.events, "N", "number of events [10000]"},
        {"seed", OPT_INT, &a.seed, "S", "random seed [1]"},
        {"first", OPT_INT, &a.first, "I", "first event number (windows of one seed) [0]"},
        {"threads", OPT_INT, &a.threads, "T", "threads, 0 = all cores [0]"},
        {"out", OPT_STR, &a.out, "FILE", "event table (.csv or .csv.gz; required)"},
        {"particles", OPT_STR, &a.particles, "FILE",
         "also write the reconstructed particles (ev, pt, eta, phi, charge, vtx)"},
    };
    const cli_cmd cmd = {"toy", "Generates toy W -> mu nu or Z -> mu mu events: the event table "
                         "has the\ncolumns of the generator samples (truth, muons, recoils, the "
                         "15 features, targets).",
                         "usage: wrecoil toy --out FILE [options]", NULL, opts,
                         sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need("toy", "out", a.out)) return 2;
    if (a.events < 1 || a.first < 0 || a.seed < 0)
        return 2 * cli_fail("toy", "--events must be >= 1, --first and --seed >= 0");
    wr_toy *toy = NULL;
    if (wr_toy_create(a.process, a.preset, &toy)) return cli_fail_wr("toy", "creating the toy");
    if (a.set && wr_toy_set_params(toy, a.set)) {
        wr_toy_free(toy);
        return cli_fail_wr("toy", "--set '%s'", a.set);
    }
    double t0 = cli_now();
    r = toy_write("toy", toy, &a);
    wr_toy_free(toy);
    if (!r)
        cli_note("toy: %ld %s (%s) events -> %s in %.1f s", a.events, a.process, a.preset,
                 a.out, cli_now() - t0);
    return r;
}

/* ------------------------------------------------------------- features */
typedef struct {
    size_t n;        /* events */
    int64_t *off;    /* n + 1 */
    double *ev;      /* event numbers */
    float *pt, *eta, *phi, *htrue;
    int32_t *q, *vtx;
} particle_set;

static void pset_free(particle_set *p)
{
    free(p->off), free(p->ev), free(p->pt), free(p->eta), free(p->phi), free(p->htrue);
    free(p->q), free(p->vtx);
}

/* Groups the particle rows (contiguous per ev) into events. */
static int pset_group(const char *cmd, const frame *pf, particle_set *p)
{
    long c[6];
    static const char *const PN[6] = {"ev", "pt", "eta", "phi", "charge", "vtx"};
    for (int k = 0; k < 6; k++)
        if ((c[k] = frame_col(cmd, pf, PN[k], 1)) < 0) return 1;
    size_t n = pf->n, ne = 0, m = n ? n : 1;
    p->pt = malloc(m * sizeof(float)), p->eta = malloc(m * sizeof(float));
    p->phi = malloc(m * sizeof(float)), p->q = malloc(m * sizeof(int32_t));
    p->vtx = malloc(m * sizeof(int32_t)), p->off = malloc((m + 1) * sizeof(int64_t));
    p->ev = malloc(m * sizeof(double));
    if (!p->pt || !p->eta || !p->phi || !p->q || !p->vtx || !p->off || !p->ev)
        return cli_fail(cmd, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const double *r = pf->v + i * pf->ncols;
        if (!i || r[c[0]] != p->ev[ne - 1]) {
            p->off[ne] = (int64_t)i;
            p->ev[ne++] = r[c[0]];
        }
        p->pt[i] = (float)r[c[1]], p->eta[i] = (float)r[c[2]], p->phi[i] = (float)r[c[3]];
        p->q[i] = (int32_t)r[c[4]], p->vtx[i] = (int32_t)r[c[5]];
    }
    p->off[ne] = (int64_t)n;
    p->n = ne;
    for (size_t e = 1; e < ne; e++)
        if (!(p->ev[e] > p->ev[e - 1]))
            return cli_fail(cmd, "particles of event %.0f are not contiguous or events are "
                            "not in increasing order (line %lld)", p->ev[e],
                            (long long)p->off[e] + 2);
    return 0;
}

/* Re-indexes the particle groups to the event list of `events` (ev,
 * htrue_x, htrue_y): events without particles become empty. */
static int pset_join(const char *cmd, const frame *events, particle_set *p)
{
    long ce = frame_col(cmd, events, "ev", 1), cx = frame_col(cmd, events, "htrue_x", 1),
         cy = frame_col(cmd, events, "htrue_y", 1);
    if (ce < 0 || cx < 0 || cy < 0) return 1;
    size_t n = events->n, m = n ? n : 1;
    int64_t *off = malloc((m + 1) * sizeof *off);
    double *ev = malloc(m * sizeof *ev);
    p->htrue = malloc(m * 2 * sizeof(float));
    if (!off || !ev || !p->htrue) {
        free(off), free(ev);
        return cli_fail(cmd, "out of memory");
    }
    /* particle groups must be a subsequence of the (increasing) event list */
    size_t g = 0;
    int64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const double *r = events->v + i * events->ncols;
        ev[i] = r[ce];
        p->htrue[2 * i] = (float)r[cx], p->htrue[2 * i + 1] = (float)r[cy];
        off[i] = pos;
        if (g < p->n && p->ev[g] == ev[i]) pos = p->off[++g];
    }
    off[n] = pos;
    int rc = 0;
    if (g != p->n)
        rc = cli_fail(cmd, "particles of event %.0f have no row in the events table (both "
                      "must list events in the same increasing order)", p->ev[g]);
    free(p->off), free(p->ev);
    p->off = off, p->ev = ev, p->n = n;
    return rc;
}

static int features_write(const char *cmd, const particle_set *p, long threads, const char *out)
{
    size_t n = p->n, m = n ? n : 1, nt = p->htrue ? 2 : 0;
    float *F = malloc(m * WR_N_FEATURES * sizeof *F), *R = malloc(m * WR_N_RECOIL * sizeof *R);
    float *T = malloc(m * 2 * sizeof *T);
    uint8_t *no = malloc(m);
    size_t nc = 1 + WR_N_RECOIL + WR_N_FEATURES + 1 + nt;
    double *rows = malloc(m * nc * sizeof *rows);
    int rc = (!F || !R || !T || !no || !rows) ? cli_fail(cmd, "out of memory") : 0;
    if (!rc && wr_recoil_features(n, p->off, p->pt, p->eta, p->phi, p->q, p->vtx, p->htrue,
                                  (int)threads, F, R, no, p->htrue ? T : NULL))
        rc = cli_fail_wr(cmd, "computing the features");
    for (size_t i = 0; !rc && i < n; i++) {
        double *r = rows + i * nc;
        size_t k = 0;
        r[k++] = p->ev[i];
        for (int j = 0; j < WR_N_RECOIL; j++) r[k++] = R[i * WR_N_RECOIL + (size_t)j];
        for (int j = 0; j < WR_N_FEATURES; j++) r[k++] = F[i * WR_N_FEATURES + (size_t)j];
        r[k++] = no[i];
        if (nt) r[k++] = T[2 * i], r[k++] = T[2 * i + 1];
    }
    static const char *const NAMES[] = {
        "ev", "tk_x", "tk_y", "pf_x", "pf_y", "ntnpv_x", "ntnpv_y", "nt_x", "nt_y",
        "h_tk", "phi_tk", "r_ntnpv", "r_m", "r_ltk", "r_lnt", "s_tk", "s_nt", "s_pf",
        "cos_tk_ntnpv", "adphi_tk_ntnpv", "sdphi_tk_pf", "sdphi_tk_ltk", "n_tk", "n_vtx",
        "no_tk", "ln_e1", "e2"};
    frame f;
    if (!rc && frame_make(&f, n, nc, NAMES, rows)) rc = cli_fail(cmd, "out of memory");
    else if (!rc) {
        rows = NULL;
        rc = frame_write(cmd, out, &f);
        frame_free(&f);
    }
    free(F), free(R), free(T), free(no), free(rows);
    return rc;
}

int cmd_features(int argc, char **argv)
{
    const char *particles = NULL, *events = NULL, *out = NULL;
    long threads = 0;
    const cli_opt opts[] = {
        {"particles", OPT_STR, &particles, "FILE",
         "particle table: ev, pt, eta, phi, charge, vtx (rows of one event contiguous, "
         "events in increasing ev; required)"},
        {"events", OPT_STR, &events, "FILE",
         "event table with ev, htrue_x, htrue_y: adds the targets ln_e1, e2 and keeps "
         "events without particles"},
        {"out", OPT_STR, &out, "FILE", "output table (required)"},
        {"threads", OPT_INT, &threads, "T", "threads, 0 = all cores [0]"},
    };
    const cli_cmd cmd = {"features", "Computes the TK, PF, NTNPV and NT recoils, the 15 contract "
                         "features, the\nno-TK flag and (with --events) the targets of every event.",
                         "usage: wrecoil features --particles FILE --out FILE [--events FILE]",
                         NULL, opts, sizeof opts / sizeof opts[0], NULL};
    int r = cli_parse(&cmd, argc, argv);
    if (r) return r < 0 ? 2 : 0;
    if (cli_need("features", "particles", particles) || cli_need("features", "out", out)) return 2;
    frame pf, ef = {0};
    if (frame_read("features", particles, &pf)) return 1;
    particle_set p = {0};
    r = pset_group("features", &pf, &p);
    frame_free(&pf);
    if (!r && events) r = frame_read("features", events, &ef);
    if (!r && events) r = pset_join("features", &ef, &p);
    frame_free(&ef);
    if (!r) r = features_write("features", &p, threads, out);
    if (!r) cli_note("features: %zu events -> %s", p.n, out);
    pset_free(&p);
    return r;
}
