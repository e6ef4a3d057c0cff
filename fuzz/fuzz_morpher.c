/* fuzz/fuzz_morpher.c -- wr_morpher_from_bytes on hostile models (its
 * forests embedded).  A morpher that loads must morph finite in-range rows
 * into finite values inside the declared bounds, and round-trip through
 * to_bytes bit for bit. */
#include <math.h>

#include "fuzz.h"

/* a value inside [lo, hi] */
static float inside(double lo, double hi, size_t i)
{
    static const double off[] = {0.5, 1.0, 3.0, 0.01};
    double o = off[i % 4];
    if (isfinite(lo) && isfinite(hi)) return (float)(lo + (hi - lo) * (0.1 + 0.2 * (double)(i % 4)));
    if (isfinite(lo)) return (float)(lo + o);
    if (isfinite(hi)) return (float)(hi - o);
    return (float)((i % 2) ? o : -o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = NULL;
    size_t n = 0;
    if (!fuzz_model_bytes(data, size, WR_KIND_MORPHER, &buf, &n)) return 0;
    wr_morpher *m = NULL;
    wr_status st = wr_morpher_from_bytes(buf, n, &m);
    free(buf);
    if (st != WR_OK) {
        FUZZ_REQUIRE(m == NULL && wr_last_error()[0] != '\0');
        return 0;
    }
    FUZZ_REQUIRE(wr_morpher_is_fitted(m));
    size_t ny = wr_morpher_n_y(m), nz = wr_morpher_n_z(m);
    FUZZ_REQUIRE(ny >= 1 && ny + nz <= 64);
    FUZZ_REQUIRE(wr_morpher_set_param(m, "threads", "1") == WR_OK);
    enum { ROWS = 4 };
    float z[ROWS * 64], y[ROWS * 64], y1[ROWS * 64], y2[ROWS * 64];
    double u[ROWS * 64];
    double lo[64], hi[64];
    fuzz_rows(z, ROWS, nz ? nz : 1);
    for (size_t j = 0; j < ny; j++)
        FUZZ_REQUIRE(wr_morpher_get_bounds(m, j, &lo[j], &hi[j]) == WR_OK);
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < ny; j++) y[i * ny + j] = inside(lo[j], hi[j], i + j);
    st = wr_morpher_apply(m, z, y, ROWS, y1, u);
    if (st == WR_OK) {
        for (size_t i = 0; i < ROWS * ny; i++) {
            size_t j = i % ny;
            FUZZ_REQUIRE(isfinite(y1[i]));
            FUZZ_REQUIRE(u[i] > 0.0 && u[i] < 1.0);
            FUZZ_REQUIRE(y1[i] >= lo[j] - 1e-5 * (1 + fabs(lo[j])) &&
                         y1[i] <= hi[j] + 1e-5 * (1 + fabs(hi[j])));
        }
    } else {
        FUZZ_REQUIRE(wr_last_error()[0] != '\0');
    }
    void *b2 = NULL;
    size_t n2 = 0;
    FUZZ_REQUIRE(wr_morpher_to_bytes(m, &b2, &n2) == WR_OK);
    wr_morpher *g = NULL;
    FUZZ_REQUIRE(wr_morpher_from_bytes(b2, n2, &g) == WR_OK);
    wr_free(b2);
    FUZZ_REQUIRE(wr_morpher_set_param(g, "threads", "1") == WR_OK);
    wr_status st2 = wr_morpher_apply(g, z, y, ROWS, y2, NULL);
    FUZZ_REQUIRE(st2 == st);
    if (st == WR_OK) FUZZ_REQUIRE(memcmp(y1, y2, ROWS * ny * sizeof *y1) == 0);
    wr_morpher_free(g);
    wr_morpher_free(m);
    return 0;
}
