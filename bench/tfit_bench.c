/* bench/tfit_bench.c -- benchmark driver for wr_template_fit, called by
 * bench/tfit.py (and tests/sh/tfit_reference.sh).
 *
 *   tfit_bench DIR N NBINS LO HI CENTER STEP COUNT REPLICAS SEED THREADS
 *              TRUE_MASS [PARAMS]
 *
 * Reads N events from raw little-endian files in DIR: x.f64 (observable,
 * GeV), m.f64 (generator mass), wd.f64 (pseudo-data weight), id.u64 (event
 * id); streams them in chunks of 100000 into the templates and into data
 * set 0 (same events, weights wd: correlated) with wr_tfit_add_events (one
 * pass, bootstrap weights drawn once), fits, bootstraps, and prints
 * one JSON object: grid, fit, scan, replica masses and timings (seconds). */
#include <wrecoil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *read_file(const char *dir, const char *name, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    void *buf = malloc(bytes ? bytes : 1);
    if (!f || !buf || fread(buf, 1, bytes, f) != bytes) {
        fprintf(stderr, "tfit_bench: cannot read %zu bytes from %s\n", bytes, path);
        exit(2);
    }
    fclose(f);
    return buf;
}

static void check(wr_status st, const char *what)
{
    if (st == WR_OK) return;
    fprintf(stderr, "tfit_bench: %s: %s: %s\n", what, wr_status_string(st),
            wr_last_error());
    exit(1);
}

static void print_array(const char *name, const double *v, size_t n)
{
    printf("\"%s\": [", name);
    for (size_t i = 0; i < n; i++) printf("%s%.17g", i ? ", " : "", v[i]);
    printf("],\n");
}

int main(int argc, char **argv)
{
    if (argc < 13) {
        fprintf(stderr, "usage: tfit_bench DIR N NBINS LO HI CENTER STEP COUNT "
                        "REPLICAS SEED THREADS TRUE_MASS [PARAMS]\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t n = strtoull(argv[2], NULL, 10), nbins = strtoull(argv[3], NULL, 10);
    double lo = atof(argv[4]), hi = atof(argv[5]), true_mass = atof(argv[12]);
    double *x = read_file(dir, "x.f64", n * 8), *m = read_file(dir, "m.f64", n * 8);
    double *wd = read_file(dir, "wd.f64", n * 8);
    uint64_t *id = read_file(dir, "id.u64", n * 8);

    double t0 = now();
    wr_template_fit *tf;
    check(wr_tfit_create_uniform(nbins, lo, hi, 0, 0, 0, &tf), "create");
    char kv[1024];
    snprintf(kv, sizeof kv, "mass_center=%s mass_step=%s mass_count=%s "
             "bootstrap=%s seed=%s threads=%s %s", argv[6], argv[7], argv[8],
             argv[9], argv[10], argv[11], argc > 13 ? argv[13] : "");
    check(wr_tfit_set_params(tf, kv), "set_params");
    const size_t chunk = 100000;
    for (size_t o = 0; o < n; o += chunk) {
        size_t k = n - o < chunk ? n - o : chunk;
        /* templates and pseudo-data from the same events, one pass */
        check(wr_tfit_add_events(tf, x + o, m + o, NULL, id + o, k, wd + o, 1),
              "add_events");
    }
    double t1 = now();
    double mass, width, bias;
    check(wr_tfit_fit(tf, 0, true_mass, &mass, &width, &bias), "fit");
    double t2 = now();
    size_t R = (size_t)atol(argv[9]);
    double *rm = malloc((R ? R : 1) * sizeof *rm), mean = 0, spread = 0;
    if (R >= 2)
        check(wr_tfit_bootstrap(tf, 0, true_mass, rm, R, &mean, &spread), "bootstrap");
    double t3 = now();

    size_t H = wr_tfit_n_masses(tf), ns = wr_tfit_scan_size(tf);
    double *grid = malloc(H * sizeof *grid), *sm = malloc(ns * sizeof *sm),
           *sv = malloc(ns * sizeof *sv);
    check(wr_tfit_masses(tf, grid, H), "masses");
    check(wr_tfit_scan(tf, sm, sv, ns), "scan");
    printf("{\n");
    print_array("grid", grid, H);
    print_array("scan_mass", sm, ns);
    print_array("scan_m2lnl", sv, ns);
    print_array("replica_mass", rm, R >= 2 ? R : 0);
    printf("\"mass\": %.17g, \"width\": %.17g, \"bias_mev\": %.17g,\n", mass,
           width, bias);
    printf("\"boot_mean_bias_mev\": %.17g, \"boot_spread_mev\": %.17g,\n", mean,
           spread);
    printf("\"t_fill\": %.6f, \"t_fit\": %.6f, \"t_bootstrap\": %.6f, "
           "\"t_total\": %.6f\n}\n", t1 - t0, t2 - t1, t3 - t2, t3 - t0);
    wr_tfit_free(tf);
    free(x);
    free(m);
    free(wd);
    free(id);
    free(rm);
    free(grid);
    free(sm);
    free(sv);
    return 0;
}
