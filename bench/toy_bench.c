/* bench/toy_bench.c -- throughput of the toy simulation's event table.
 *
 *   toy_bench [process] [preset] [n_events] [threads] [mode] [knobs]
 *
 * Generates n_events (default 200000) of the given process ("W") and preset
 * ("mc") into the event-level table in blocks of 50000 rows (so memory stays
 * bounded), best of three runs, and prints one line per metric:
 *   events_per_s       events per second of CPU time of the process (with
 *                      one thread: per second of one core, whatever else
 *                      runs on the machine)
 *   events_per_s_wall  events per second of elapsed time
 * mode "particles" times wr_toy_particles instead of wr_toy_table; `knobs`
 * ("k=v k=v") is applied with wr_toy_set_params. */
#include <wrecoil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *process = argc > 1 ? argv[1] : "W";
    const char *preset = argc > 2 ? argv[2] : "mc";
    size_t n = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : 200000;
    int threads = argc > 4 ? atoi(argv[4]) : 1;
    int particles = argc > 5 && !strcmp(argv[5], "particles");
    const char *knobs = argc > 6 ? argv[6] : NULL;
    const size_t block = 50000;
    wr_toy *toy = NULL;
    if (wr_toy_create(process, preset, &toy) || (knobs && wr_toy_set_params(toy, knobs))) {
        fprintf(stderr, "toy_bench: %s\n", wr_last_error());
        return 1;
    }
    size_t ncol = wr_toy_table_ncols();
    double *out = malloc(block * ncol * sizeof *out);
    int64_t *offsets = malloc((block + 1) * sizeof *offsets);
    if (!out || !offsets) return 1;
    double best = 1e300, best_wall = 1e300, checksum = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
        for (size_t b = 0; b < n; b += block) {
            size_t m = n - b < block ? n - b : block;
            wr_status st;
            if (particles) {
                float *pt, *eta, *phi;
                int32_t *ch, *vx;
                st = wr_toy_particles(toy, 42, (int64_t)b, m, threads, offsets, &pt,
                                      &eta, &phi, &ch, &vx, NULL);
                if (!st) {
                    checksum += pt[0];
                    wr_free(pt), wr_free(eta), wr_free(phi), wr_free(ch), wr_free(vx);
                }
            } else {
                st = wr_toy_table(toy, 42, (int64_t)b, m, threads, out);
                checksum += out[2];
            }
            if (st) {
                fprintf(stderr, "toy_bench: %s\n", wr_last_error());
                return 1;
            }
        }
        double dt = now(CLOCK_PROCESS_CPUTIME_ID) - t0, dw = now(CLOCK_MONOTONIC) - w0;
        if (dt < best) best = dt;
        if (dw < best_wall) best_wall = dw;
    }
    printf("events_per_s %.1f\n", (double)n / best);
    printf("events_per_s_wall %.1f\n", (double)n / best_wall);
    printf("cpu_seconds %.4f\n", best);
    printf("checksum %.6g\n", checksum);
    free(out);
    free(offsets);
    wr_toy_free(toy);
    return 0;
}
