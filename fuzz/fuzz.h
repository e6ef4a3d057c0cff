/* fuzz/fuzz.h -- helpers shared by the libFuzzer targets (fuzz/fuzz_*.c).
 *
 * Every target defines LLVMFuzzerTestOneInput.  Built with clang
 * -fsanitize=fuzzer,address,undefined by `make fuzz`; built with any C
 * compiler and fuzz/standalone.c (a main() that feeds files) by
 * tests/sh/fuzz_corpus.sh, which replays the committed corpora and the
 * regression inputs in `make check`.
 *
 * A target calls FUZZ_REQUIRE(cond) for a property that must hold for every
 * input (e.g. a loaded model predicts monotone quantiles): a violation
 * aborts, which the fuzzer reports as a crash. */
#ifndef WR_FUZZ_H
#define WR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wrecoil.h"
#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REQUIRE(cond)                                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__,  \
                    __LINE__, #cond, wr_last_error());                        \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Model inputs: the first byte selects the mode.
 *   even: the rest is a whole container (magic, header, CRCs, zlib);
 *   odd:  the rest is a raw payload, wrapped here into a valid container of
 *         `kind` (kind version 1), so that mutations reach the payload
 *         decoder instead of dying at the CRC check.
 * Returns a malloc'ed container in *buf (caller frees) or 0 when the
 * input is empty. */
static inline int fuzz_model_bytes(const uint8_t *data, size_t size,
                                   uint32_t kind, void **buf, size_t *n)
{
    if (size < 1) return 0;
    if (data[0] & 1) {
        if (wr__container_pack(kind, 1, data + 1, size - 1, buf, n) != WR_OK)
            return 0;
    } else {
        *buf = malloc(size - 1 ? size - 1 : 1);
        if (!*buf) return 0;
        if (size > 1) memcpy(*buf, data + 1, size - 1);
        *n = size - 1;
    }
    return 1;
}

/* Rows of test inputs for a loaded model: a few fixed, finite values per
 * feature (zero, small, large, negative). */
static inline void fuzz_rows(float *X, size_t n, size_t d)
{
    static const float vals[] = {0.0f, 1.0f, -1.0f, 0.5f, 1e3f, -1e3f, 1e-6f, 3.0f};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            X[i * d + j] = vals[(i * 3 + j) % (sizeof vals / sizeof vals[0])];
}

#endif
