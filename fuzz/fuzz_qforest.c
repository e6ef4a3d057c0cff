/* fuzz/fuzz_qforest.c -- wr_qforest_from_bytes on hostile models.  A model
 * that loads must predict non-decreasing, finite quantiles for finite rows
 * and survive a to_bytes/from_bytes round trip bit for bit. */
#include <math.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = NULL;
    size_t n = 0;
    if (!fuzz_model_bytes(data, size, WR_KIND_QUANTILE_FOREST, &buf, &n)) return 0;
    wr_quantile_forest *f = NULL;
    wr_status st = wr_qforest_from_bytes(buf, n, &f);
    free(buf);
    if (st != WR_OK) {
        FUZZ_REQUIRE(f == NULL && wr_last_error()[0] != '\0');
        return 0;
    }
    size_t d = wr_qforest_n_features(f), Q = wr_qforest_n_levels(f);
    FUZZ_REQUIRE(d >= 1 && Q >= 1);
    enum { ROWS = 4 };
    float *X = malloc(ROWS * d * sizeof *X);
    float *out = malloc(ROWS * Q * sizeof *out), *out2 = malloc(ROWS * Q * sizeof *out);
    FUZZ_REQUIRE(X && out && out2);
    fuzz_rows(X, ROWS, d);
    wr_qforest_set_param(f, "threads", "1");
    st = wr_qforest_predict(f, X, ROWS, d, out);
    FUZZ_REQUIRE(st == WR_OK);
    for (size_t i = 0; i < ROWS; i++)
        for (size_t q = 0; q < Q; q++) {
            FUZZ_REQUIRE(isfinite(out[i * Q + q]));
            if (q) FUZZ_REQUIRE(out[i * Q + q] >= out[i * Q + q - 1]);
        }
    /* wrong width is an error, never a read past X */
    FUZZ_REQUIRE(wr_qforest_predict(f, X, ROWS, d + 1, out2) == WR_ERR_INVALID_ARG);
    void *b2 = NULL;
    size_t n2 = 0;
    FUZZ_REQUIRE(wr_qforest_to_bytes(f, &b2, &n2) == WR_OK);
    wr_quantile_forest *g = NULL;
    FUZZ_REQUIRE(wr_qforest_from_bytes(b2, n2, &g) == WR_OK);
    wr_free(b2);
    wr_qforest_set_param(g, "threads", "1");
    FUZZ_REQUIRE(wr_qforest_predict(g, X, ROWS, d, out2) == WR_OK);
    FUZZ_REQUIRE(memcmp(out, out2, ROWS * Q * sizeof *out) == 0);
    wr_qforest_free(g);
    wr_qforest_free(f);
    free(X);
    free(out);
    free(out2);
    return 0;
}
