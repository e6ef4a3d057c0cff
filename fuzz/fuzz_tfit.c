/* fuzz/fuzz_tfit.c -- wr_tfit_from_bytes on hostile template fits.  A
 * handle that loads must report consistent sizes, hold finite histograms
 * (sums of squared weights >= 0), copy them out, fit
 * (or fail with a message) when small enough, and round-trip through
 * to_bytes bit for bit. */
#include <math.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = NULL;
    size_t n = 0;
    if (!fuzz_model_bytes(data, size, WR_KIND_TEMPLATE_FIT, &buf, &n)) return 0;
    wr_template_fit *tf = NULL;
    wr_status st = wr_tfit_from_bytes(buf, n, &tf);
    free(buf);
    if (st != WR_OK) {
        FUZZ_REQUIRE(tf == NULL && wr_last_error()[0] != '\0');
        return 0;
    }
    size_t dim = wr_tfit_dim(tf), nb = wr_tfit_n_bins(tf), nm = wr_tfit_n_masses(tf);
    size_t nx = wr_tfit_n_edges(tf, 0), ny = wr_tfit_n_edges(tf, 1);
    FUZZ_REQUIRE(dim == 1 || dim == 2);
    FUZZ_REQUIRE(nx >= 2 && nb == (nx - 1) * (dim == 2 ? ny - 1 : 1));
    FUZZ_REQUIRE(nm >= 3);
    FUZZ_REQUIRE(wr_tfit_set_param(tf, "threads", "1") == WR_OK);
    double *h = malloc(nb * sizeof *h), *h2 = malloc(nb * sizeof *h);
    double *masses = malloc(nm * sizeof *masses);
    FUZZ_REQUIRE(h && h2 && masses);
    FUZZ_REQUIRE(wr_tfit_masses(tf, masses, nm) == WR_OK);
    for (size_t i = 1; i < nm; i++) FUZZ_REQUIRE(masses[i] > masses[i - 1]);
    /* every loaded histogram is finite, sums of squared weights >= 0 */
    for (int what = WR_TFIT_TEMPLATE; what <= WR_TFIT_DATA_SUMW2; what++) {
        size_t lim = what <= WR_TFIT_TEMPLATE_SUMW2 ? nm : 1;
        for (size_t i = 0; i < lim && nb * lim <= 100000; i++) {
            FUZZ_REQUIRE(wr_tfit_histogram(tf, what, i, h, nb) == WR_OK);
            for (size_t b = 0; b < nb; b++) {
                FUZZ_REQUIRE(isfinite(h[b]));
                if (what == WR_TFIT_TEMPLATE_SUMW2 || what == WR_TFIT_DATA_SUMW2)
                    FUZZ_REQUIRE(h[b] >= 0.0);
            }
        }
    }
    FUZZ_REQUIRE(wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, nm - 1, h, nb) == WR_OK);
    FUZZ_REQUIRE(wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, nm, h, nb) == WR_ERR_INVALID_ARG);
    FUZZ_REQUIRE(wr_tfit_histogram(tf, WR_TFIT_DATA, 0, h, nb) == WR_OK);
    FUZZ_REQUIRE(wr_tfit_template_at(tf, masses[nm / 2], h, nb) == WR_OK ||
                 wr_last_error()[0] != '\0');
    double mass = NAN, width = NAN, bias = NAN;
    if (nb * nm <= 20000) {
        st = wr_tfit_fit(tf, 0, masses[nm / 2], &mass, &width, &bias);
        if (st == WR_OK)
            FUZZ_REQUIRE(isfinite(mass) && mass >= masses[0] && mass <= masses[nm - 1]);
        else
            FUZZ_REQUIRE(wr_last_error()[0] != '\0');
    }
    void *b2 = NULL;
    size_t n2 = 0;
    FUZZ_REQUIRE(wr_tfit_to_bytes(tf, &b2, &n2) == WR_OK);
    wr_template_fit *g = NULL;
    FUZZ_REQUIRE(wr_tfit_from_bytes(b2, n2, &g) == WR_OK);
    wr_free(b2);
    FUZZ_REQUIRE(wr_tfit_n_bins(g) == nb && wr_tfit_n_masses(g) == nm);
    FUZZ_REQUIRE(wr_tfit_histogram(tf, WR_TFIT_TEMPLATE, 0, h, nb) == WR_OK);
    FUZZ_REQUIRE(wr_tfit_histogram(g, WR_TFIT_TEMPLATE, 0, h2, nb) == WR_OK);
    FUZZ_REQUIRE(memcmp(h, h2, nb * sizeof *h) == 0);
    wr_tfit_free(g);
    wr_tfit_free(tf);
    free(h);
    free(h2);
    free(masses);
    return 0;
}
