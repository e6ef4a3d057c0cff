/* lib/core/bytes.c -- little-endian writer/reader for model payloads.
 * Every value is encoded little-endian whatever the host, floats by their
 * IEEE-754 bit pattern. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void wr__w_init(wr__writer *w) { memset(w, 0, sizeof *w); }

void wr__w_free(wr__writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

static unsigned char *w_reserve(wr__writer *w, size_t n)
{
    if (w->failed) return NULL;
    if (n > SIZE_MAX - w->size) {
        w->failed = true;
        return NULL;
    }
    if (w->size + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->size + n) {
            if (cap > SIZE_MAX / 2) {
                cap = w->size + n;
                break;
            }
            cap *= 2;
        }
        unsigned char *d = realloc(w->data, cap);
        if (!d) {
            w->failed = true;
            return NULL;
        }
        w->data = d;
        w->cap = cap;
    }
    unsigned char *p = w->data + w->size;
    w->size += n;
    return p;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void wr__w_u8(wr__writer *w, uint8_t v)
{
    unsigned char *p = w_reserve(w, 1);
    if (p) *p = v;
}

void wr__w_u32(wr__writer *w, uint32_t v)
{
    unsigned char *p = w_reserve(w, 4);
    if (p) put_le(p, v, 4);
}

void wr__w_u64(wr__writer *w, uint64_t v)
{
    unsigned char *p = w_reserve(w, 8);
    if (p) put_le(p, v, 8);
}

void wr__w_i64(wr__writer *w, int64_t v) { wr__w_u64(w, (uint64_t)v); }

void wr__w_f32(wr__writer *w, float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    wr__w_u32(w, b);
}

void wr__w_f64(wr__writer *w, double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    wr__w_u64(w, b);
}

/* Room for n elements of esz bytes (NULL, and the writer failed, when the
 * size overflows or memory runs out). */
static unsigned char *w_reserve_array(wr__writer *w, size_t n, size_t esz)
{
    size_t bytes;
    if (!wr__mul_size(n, esz, &bytes)) {
        w->failed = true;
        return NULL;
    }
    return w_reserve(w, bytes);
}

void wr__w_f32s(wr__writer *w, const float *v, size_t n)
{
    unsigned char *p = w_reserve_array(w, n, 4);
    for (size_t i = 0; p && i < n; i++) {
        uint32_t b;
        memcpy(&b, &v[i], 4);
        put_le(p + 4 * i, b, 4);
    }
}

void wr__w_f64s(wr__writer *w, const double *v, size_t n)
{
    unsigned char *p = w_reserve_array(w, n, 8);
    for (size_t i = 0; p && i < n; i++) {
        uint64_t b;
        memcpy(&b, &v[i], 8);
        put_le(p + 8 * i, b, 8);
    }
}

void wr__w_i32s(wr__writer *w, const int32_t *v, size_t n)
{
    unsigned char *p = w_reserve_array(w, n, 4);
    for (size_t i = 0; p && i < n; i++) put_le(p + 4 * i, (uint32_t)v[i], 4);
}

void wr__w_bytes(wr__writer *w, const void *v, size_t n)
{
    unsigned char *p = w_reserve(w, n);
    if (p && n) memcpy(p, v, n);
}

void wr__w_str(wr__writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT32_MAX) {
        w->failed = true;
        return;
    }
    wr__w_u32(w, (uint32_t)n);
    wr__w_bytes(w, s, n);
}

wr_status wr__w_status(const wr__writer *w)
{
    if (w->failed)
        return wr__fail(WR_ERR_NOMEM,
                        "out of memory while serialising a model (%zu bytes)",
                        w->size);
    return WR_OK;
}

void wr__r_init(wr__reader *r, const void *data, size_t size)
{
    r->data = data;
    r->size = data ? size : 0;
    r->pos = 0;
    r->failed = false;
}

static const unsigned char *r_take(wr__reader *r, size_t n)
{
    if (r->failed || n > r->size - r->pos) {
        r->failed = true;
        return NULL;
    }
    const unsigned char *p = r->data + r->pos;
    r->pos += n;
    return p;
}

uint8_t wr__r_u8(wr__reader *r)
{
    const unsigned char *p = r_take(r, 1);
    return p ? *p : 0;
}

uint32_t wr__r_u32(wr__reader *r)
{
    const unsigned char *p = r_take(r, 4);
    return p ? (uint32_t)get_le(p, 4) : 0;
}

uint64_t wr__r_u64(wr__reader *r)
{
    const unsigned char *p = r_take(r, 8);
    return p ? get_le(p, 8) : 0;
}

int64_t wr__r_i64(wr__reader *r) { return (int64_t)wr__r_u64(r); }

float wr__r_f32(wr__reader *r)
{
    uint32_t b = wr__r_u32(r);
    float v;
    memcpy(&v, &b, 4);
    return v;
}

double wr__r_f64(wr__reader *r)
{
    uint64_t b = wr__r_u64(r);
    double v;
    memcpy(&v, &b, 8);
    return v;
}

static const unsigned char *r_take_array(wr__reader *r, size_t n, size_t esz)
{
    size_t bytes;
    if (!wr__mul_size(n, esz, &bytes)) {
        r->failed = true;
        return NULL;
    }
    return r_take(r, bytes);
}

void wr__r_f32s(wr__reader *r, float *v, size_t n)
{
    const unsigned char *p = r_take_array(r, n, 4);
    for (size_t i = 0; i < n; i++) {
        uint32_t b = p ? (uint32_t)get_le(p + 4 * i, 4) : 0;
        memcpy(&v[i], &b, 4);
    }
}

void wr__r_f64s(wr__reader *r, double *v, size_t n)
{
    const unsigned char *p = r_take_array(r, n, 8);
    for (size_t i = 0; i < n; i++) {
        uint64_t b = p ? get_le(p + 8 * i, 8) : 0;
        memcpy(&v[i], &b, 8);
    }
}

void wr__r_i32s(wr__reader *r, int32_t *v, size_t n)
{
    const unsigned char *p = r_take_array(r, n, 4);
    for (size_t i = 0; i < n; i++)
        v[i] = p ? (int32_t)(uint32_t)get_le(p + 4 * i, 4) : 0;
}

void wr__r_bytes(wr__reader *r, void *v, size_t n)
{
    const unsigned char *p = r_take(r, n);
    if (p && n) memcpy(v, p, n);
    else if (n) memset(v, 0, n);
}

char *wr__r_str(wr__reader *r)
{
    uint32_t n = wr__r_u32(r);
    const unsigned char *p = r_take(r, n);
    if (!p) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->failed = true;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

size_t wr__r_count(wr__reader *r, size_t elem_size, size_t max)
{
    uint64_t n = wr__r_u64(r);
    if (r->failed) return 0;
    size_t bytes;
    if (n > max || n > SIZE_MAX ||
        !wr__mul_size((size_t)n, elem_size, &bytes) || bytes > wr__r_left(r)) {
        r->failed = true;
        return 0;
    }
    return (size_t)n;
}

size_t wr__r_left(const wr__reader *r) { return r->size - r->pos; }

wr_status wr__r_status(const wr__reader *r, const char *what, bool expect_end)
{
    if (r->failed)
        return wr__fail(WR_ERR_FORMAT,
                        "%s: payload truncated or inconsistent near byte %zu "
                        "of %zu",
                        what, r->pos, r->size);
    if (expect_end && r->pos != r->size)
        return wr__fail(WR_ERR_FORMAT, "%s: %zu unexpected trailing bytes",
                        what, r->size - r->pos);
    return WR_OK;
}
