/* fuzz/fuzz_container.c -- the model container itself: wr_model_inspect and
 * every kind's from_bytes on raw bytes (magic, header CRC, sizes, zlib
 * stream, payload CRC).  inspect and from_bytes must agree on what is a
 * well-formed container. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int kind = 0;
    uint32_t ver = 0;
    wr_status ist = wr_model_inspect(data, size, &kind, &ver);
    if (ist != WR_OK) FUZZ_REQUIRE(wr_last_error()[0] != '\0');
    FUZZ_REQUIRE(wr_model_kind_name(kind) != NULL);

    wr_quantile_forest *f = NULL;
    wr_regressor *r = NULL;
    wr_morpher *m = NULL;
    wr_template_fit *t = NULL;
    wr_status sf = wr_qforest_from_bytes(data, size, &f);
    wr_status sr = wr_regressor_from_bytes(data, size, &r);
    wr_status sm = wr_morpher_from_bytes(data, size, &m);
    wr_status st = wr_tfit_from_bytes(data, size, &t);
    /* a model that loads passed the container checks inspect makes */
    if (sf == WR_OK) FUZZ_REQUIRE(ist == WR_OK && kind == WR_KIND_QUANTILE_FOREST);
    if (sr == WR_OK) FUZZ_REQUIRE(ist == WR_OK && kind == WR_KIND_REGRESSOR);
    if (sm == WR_OK) FUZZ_REQUIRE(ist == WR_OK && kind == WR_KIND_MORPHER);
    if (st == WR_OK) FUZZ_REQUIRE(ist == WR_OK && kind == WR_KIND_TEMPLATE_FIT);
    /* a well-formed container of kind K is "wrong kind" for the others */
    if (ist == WR_OK && kind != WR_KIND_QUANTILE_FOREST) FUZZ_REQUIRE(sf == WR_ERR_WRONG_KIND);
    if (ist == WR_OK && kind != WR_KIND_REGRESSOR) FUZZ_REQUIRE(sr == WR_ERR_WRONG_KIND);
    wr_qforest_free(f);
    wr_regressor_free(r);
    wr_morpher_free(m);
    wr_tfit_free(t);
    return 0;
}
