/* tests/testutil.h -- shared helpers for the Check test programs.
 * Each tests/test_<module>.c defines `Suite *module_suite(void)` and ends with
 * WR_TEST_MAIN(module_suite). */
#ifndef WR_TESTUTIL_H
#define WR_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wrecoil.h"

/* Assert a call returns WR_OK, printing wr_last_error() otherwise. */
#define WR_ASSERT_OK(call)                                                    \
    do {                                                                      \
        wr_status st_ = (call);                                               \
        ck_assert_msg(st_ == WR_OK, "%s -> %s: %s", #call,                    \
                      wr_status_string(st_), wr_last_error());                \
    } while (0)

/* Assert a call fails with `code` and leaves a non-empty message. */
#define WR_ASSERT_FAILS(call, code)                                           \
    do {                                                                      \
        wr_clear_error();                                                     \
        wr_status st_ = (call);                                               \
        ck_assert_msg(st_ == (code), "%s -> %s (expected %s): %s", #call,     \
                      wr_status_string(st_), wr_status_string(code),          \
                      wr_last_error());                                       \
        ck_assert_msg(wr_last_error()[0] != '\0', "%s: empty error message",  \
                      #call);                                                 \
    } while (0)

/* Directory of the generator samples, or NULL when absent (tests skip). */
static inline const char *wr_test_shared_data(void)
{
    const char *env = getenv("WR_SHARED_DATA");
    static const char *candidates[] = {"../shared/data", "../../shared/data", NULL};
    if (env && *env) return env;
    for (int i = 0; candidates[i]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/README.md", candidates[i]);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            return candidates[i];
        }
    }
    return NULL;
}

/* Deterministic pseudo-random data for tests, independent of the library's
 * own RNG: unif(i) in [0, 1) and gauss(i) ~ N(0, 1), pure functions of i. */
static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
static inline float unif(uint64_t i) { return (float)((mix(i) >> 11) * 0x1.0p-53); }
static inline float gauss(uint64_t i)
{
    float u1 = unif(2 * i) + 1e-7f, u2 = unif(2 * i + 1);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

#define WR_TEST_MAIN(suite_fn)                                                \
    int main(void)                                                            \
    {                                                                         \
        SRunner *sr = srunner_create(suite_fn());                             \
        srunner_run_all(sr, CK_NORMAL);                                       \
        int failed = srunner_ntests_failed(sr);                               \
        srunner_free(sr);                                                     \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                     \
    }

#endif
