/* lib/core/status.c -- status codes, thread-local last error, argument
 * checks, overflow-checked allocation, version. */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WR__ERRMSG_SIZE 1024

/* The only per-thread state of the library: the last error message. */
static _Thread_local char last_error[WR__ERRMSG_SIZE];

WR_API const char *wr_version_string(void) { return WR_VERSION_STRING; }

WR_API unsigned wr_version_number(void) { return WR_VERSION_NUMBER; }

WR_API const char *wr_status_string(wr_status code)
{
    switch (code) {
    case WR_OK: return "ok";
    case WR_ERR_INVALID_ARG: return "invalid argument";
    case WR_ERR_NOMEM: return "out of memory";
    case WR_ERR_IO: return "input/output error";
    case WR_ERR_FORMAT: return "bad format";
    case WR_ERR_NOT_FITTED: return "model not fitted";
    case WR_ERR_NUMERICAL: return "numerical failure";
    case WR_ERR_CANCELLED: return "cancelled";
    case WR_ERR_UNSUPPORTED: return "unsupported";
    case WR_ERR_WRONG_KIND: return "wrong model kind";
    case WR_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

WR_API const char *wr_last_error(void) { return last_error; }

WR_API void wr_clear_error(void) { last_error[0] = '\0'; }

WR_API void wr_free(void *ptr) { free(ptr); }

wr_status wr__fail(wr_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

void wr__error_prefix(const char *prefix)
{
    char old[WR__ERRMSG_SIZE];
    memcpy(old, last_error, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof last_error - 3) n = sizeof last_error - 3;
    memcpy(last_error, prefix, n);
    memcpy(last_error + n, ": ", 2);
    size_t room = sizeof last_error - n - 3;
    size_t m = strnlen(old, room);
    memcpy(last_error + n + 2, old, m);
    last_error[n + 2 + m] = '\0';
}

wr_status wr__check_ptr(const char *fn, const char *arg, const void *p)
{
    if (p) return WR_OK;
    return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s' is NULL", fn, arg);
}

/* The message for the non-finite value v at index i of argument `arg`. */
static wr_status not_finite(const char *fn, const char *arg, double v, size_t i)
{
    return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': %s at index %zu",
                    fn, arg, isnan(v) ? "NaN" : "Inf", i);
}

wr_status wr__check_finite_f(const char *fn, const char *arg, const float *x,
                             size_t n)
{
    if (!x) return wr__check_ptr(fn, arg, x);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return not_finite(fn, arg, x[i], i);
    return WR_OK;
}

wr_status wr__check_finite_d(const char *fn, const char *arg, const double *x,
                             size_t n)
{
    if (!x) return wr__check_ptr(fn, arg, x);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return not_finite(fn, arg, x[i], i);
    return WR_OK;
}

wr_status wr__check_weights(const char *fn, const char *arg, const float *w,
                            size_t n)
{
    if (!w) return WR_OK;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(w[i]) || w[i] < 0.0f)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument '%s': weight %g at index %zu is not "
                            "a finite non-negative number",
                            fn, arg, (double)w[i], i);
        sum += w[i];
    }
    if (!(sum > 0.0))
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: argument '%s': all weights are zero", fn, arg);
    return WR_OK;
}

wr_status wr__check_levels(const char *fn, const char *arg, const double *tau,
                           size_t n)
{
    if (!tau) return wr__check_ptr(fn, arg, tau);
    if (n == 0)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument '%s': no levels", fn,
                        arg);
    for (size_t i = 0; i < n; i++) {
        if (!(tau[i] > 0.0 && tau[i] < 1.0))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument '%s': level %g at index %zu is "
                            "outside (0, 1)",
                            fn, arg, tau[i], i);
        if (i > 0 && !(tau[i] > tau[i - 1]))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: argument '%s': levels not strictly "
                            "increasing at index %zu (%g after %g)",
                            fn, arg, i, tau[i], tau[i - 1]);
    }
    return WR_OK;
}

bool wr__mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b) return false;
    *out = a * b;
    return true;
}

/* malloc (or, with `zero`, calloc) of n x size bytes, failing with a
 * message naming `what`. */
static void *alloc_array(size_t n, size_t size, const char *what, bool zero)
{
    size_t bytes;
    if (!wr__mul_size(n, size, &bytes)) {
        wr__fail(WR_ERR_NOMEM, "size overflow allocating %s (%zu x %zu bytes)",
                 what, n, size);
        return NULL;
    }
    size_t m = bytes ? bytes : 1;
    void *p = zero ? calloc(m, 1) : malloc(m);
    if (!p)
        wr__fail(WR_ERR_NOMEM, "out of memory allocating %s (%zu bytes)", what,
                 bytes);
    return p;
}

void *wr__alloc_array(size_t n, size_t size, const char *what)
{
    return alloc_array(n, size, what, false);
}

void *wr__calloc_array(size_t n, size_t size, const char *what)
{
    return alloc_array(n, size, what, true);
}

wr_status wr__progress(wr_progress_fn fn, void *user, const char *stage,
                       int64_t step, int64_t total, double m1, double m2)
{
    if (fn && fn(user, stage, step, total, m1, m2) != 0)
        return wr__fail(WR_ERR_CANCELLED,
                        "%s: cancelled by the progress callback at step %lld",
                        stage, (long long)step);
    return WR_OK;
}
