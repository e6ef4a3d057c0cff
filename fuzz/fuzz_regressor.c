/* fuzz/fuzz_regressor.c -- wr_regressor_from_bytes on hostile models.  A
 * model that loads must answer predict for finite rows with WR_OK and no
 * NaN, or WR_ERR_NUMERICAL when the (hostile) network overflows; summary
 * must terminate; the model round-trips through to_bytes bit for bit. */
#include <math.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = NULL;
    size_t n = 0;
    if (!fuzz_model_bytes(data, size, WR_KIND_REGRESSOR, &buf, &n)) return 0;
    wr_regressor *r = NULL;
    wr_status st = wr_regressor_from_bytes(buf, n, &r);
    free(buf);
    if (st != WR_OK) {
        FUZZ_REQUIRE(r == NULL && wr_last_error()[0] != '\0');
        return 0;
    }
    FUZZ_REQUIRE(wr_regressor_is_fitted(r));
    size_t d = wr_regressor_n_features(r);
    size_t k = wr_pdf_n_params(wr_regressor_family(r));
    FUZZ_REQUIRE(d >= 1 && k >= 2);
    FUZZ_REQUIRE(wr_regressor_set_param(r, "threads", "1") == WR_OK);
    enum { ROWS = 3 };
    float *X = malloc(ROWS * d * sizeof *X);
    double *p = malloc(ROWS * k * sizeof *p), *p2 = malloc(ROWS * k * sizeof *p);
    double s[ROWS * WR_SUMMARY_COUNT];
    FUZZ_REQUIRE(X && p && p2);
    fuzz_rows(X, ROWS, d);
    /* a wild network may overflow: then predict says so (never NaN with OK) */
    wr_status pst = wr_regressor_predict(r, X, ROWS, d, p, k);
    FUZZ_REQUIRE(pst == WR_OK || pst == WR_ERR_NUMERICAL);
    if (pst == WR_OK)
        for (size_t i = 0; i < ROWS * k; i++) FUZZ_REQUIRE(!isnan(p[i]));
    FUZZ_REQUIRE(wr_regressor_predict(r, X, ROWS, d, p2, k + 1) == WR_ERR_INVALID_ARG);
    wr_regressor_summary(r, X, ROWS, d, s); /* may fail on a wild network */
    void *b2 = NULL;
    size_t n2 = 0;
    FUZZ_REQUIRE(wr_regressor_to_bytes(r, &b2, &n2) == WR_OK);
    wr_regressor *g = NULL;
    FUZZ_REQUIRE(wr_regressor_from_bytes(b2, n2, &g) == WR_OK);
    wr_free(b2);
    FUZZ_REQUIRE(wr_regressor_set_param(g, "threads", "1") == WR_OK);
    FUZZ_REQUIRE(wr_regressor_predict(g, X, ROWS, d, p2, k) == pst);
    if (pst == WR_OK) FUZZ_REQUIRE(memcmp(p, p2, ROWS * k * sizeof *p) == 0);
    wr_regressor_free(g);
    wr_regressor_free(r);
    free(X);
    free(p);
    free(p2);
    return 0;
}
