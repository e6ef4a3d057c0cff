/* lib/table.c -- CSV and gzip-compressed CSV tables with a header line.
 *
 * One code path for both: zlib's gz* functions read plain files
 * transparently and write plain files in "T" (transparent) mode.  The reader
 * streams: it keeps one buffer of whole lines, parses only the selected
 * columns with a fast exact decimal parser (strtod fallback), and checks
 * every line's field count.  Every problem is an error naming the file, the
 * line and the column; nothing is skipped. */
#include "core.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUF_INIT ((size_t)1 << 18)  /* bytes; grows for longer lines */
#define WRITE_BUF_FLUSH ((size_t)1 << 16)
#define GZ_BUFFER 131072u

/* ============================================================ numbers */

/* Powers of ten exactly representable in double. */
static const double POW10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses a decimal number [+-]digits[.digits][(e|E)[+-]digits] filling
 * exactly [s, e); leading/trailing blanks allowed.  Exactly rounded: the
 * common case (<= 15 significant digits, small exponent) is one exact
 * multiplication or division (Clinger's fast path), the rest goes through
 * strtod.  `e` must be writable (a NUL is put there temporarily).  Returns
 * 0 on success, -1 if not a number, -2 if out of double range. */
static int parse_double(char *s, char *e, double *out)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    char *p = s;
    int neg = 0;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    char *unsigned_start = p;
    uint64_t m = 0;
    int digits = 0, sig = 0, exp10 = 0, dropped = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
        if (sig < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            sig += m != 0;
        } else {
            exp10++;
            dropped |= *p != '0';
        }
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig += m != 0;
                exp10--;
            } else {
                dropped |= *p != '0';
            }
        }
    }
    if (digits == 0) return -1;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, edigits = 0;
        long ev = 0;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        for (; p < e && *p >= '0' && *p <= '9'; p++, edigits++)
            if (ev < 100000) ev = ev * 10 + (*p - '0');
        if (edigits == 0) return -1;
        exp10 += (int)(eneg ? -ev : ev);
    }
    if (p != e) return -1;
    double v;
    if (!dropped && m <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        v = exp10 >= 0 ? (double)m * POW10[exp10] : (double)m / POW10[-exp10];
    } else {
        char saved = *e;
        *e = '\0';
        v = strtod(unsigned_start, NULL);
        *e = saved;
    }
    if (!isfinite(v)) return -2;
    *out = neg ? -v : v;
    return 0;
}

/* ============================================================ names */

typedef struct named {
    const char *name;
    size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Finds a repeated name in O(n log n) (headers can have many columns).
 * Returns WR_OK with *first < *second set when found, *second = n when not,
 * WR_ERR_NOMEM when scratch memory is missing. */
static wr_status find_duplicate(const char *const *names, size_t n,
                                size_t *first, size_t *second)
{
    *second = n;
    named *v = wr__alloc_array(n, sizeof *v, "column name check");
    if (!v) return WR_ERR_NOMEM;
    for (size_t j = 0; j < n; j++) v[j] = (named){names[j], j};
    qsort(v, n, sizeof *v, cmp_named);
    for (size_t j = 1; j < n; j++)
        if (strcmp(v[j - 1].name, v[j].name) == 0 && v[j].index < *second) {
            *first = v[j - 1].index;
            *second = v[j].index;
        }
    free(v);
    return WR_OK;
}

/* ============================================================ reader */

struct wr_table_reader {
    gzFile gz;
    char *path;
    char *buf;            /* lines [pos, len) not yet consumed */
    size_t cap, len, pos;
    int eof;
    int64_t line;         /* number of the last line consumed; header = 1 */
    int64_t rows;         /* data rows delivered */
    size_t ncol;
    char **names;         /* ncol column names */
    int *slot;            /* per column: output slot or -1 */
    size_t nsel;
    wr_status sticky;     /* a failed read makes every later read fail */
    char *sticky_msg;
};

/* Reads more bytes, failing on zlib errors: a truncated gzip stream is
 * reported at EOF as Z_BUF_ERROR, a corrupt one as Z_DATA_ERROR. */
static wr_status fill(wr_table_reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len + 1 >= r->cap) {
        size_t ncap = r->cap * 2;
        char *nb = ncap > r->cap ? realloc(r->buf, ncap) : NULL;
        if (!nb)
            return wr__fail(WR_ERR_NOMEM, "table '%s': line %lld longer than "
                            "memory allows", r->path, (long long)r->line + 1);
        r->buf = nb;
        r->cap = ncap;
    }
    size_t want = r->cap - r->len - 1; /* keep one byte for a terminator */
    if (want > INT_MAX) want = INT_MAX;
    int got = gzread(r->gz, r->buf + r->len, (unsigned)want);
    int err = Z_OK;
    const char *msg = gzerror(r->gz, &err);
    if (got < 0 || (err != Z_OK && err != Z_STREAM_END))
        return wr__fail(WR_ERR_FORMAT, "table '%s': after line %lld: %s (%s)",
                        r->path, (long long)r->line,
                        err == Z_BUF_ERROR ? "truncated gzip data"
                                           : "corrupt or unreadable data",
                        msg ? msg : "zlib error");
    if (got == 0) r->eof = 1;
    r->len += (size_t)got;
    return WR_OK;
}

/* Next line in [*s, *e) without its "\n" or "\r\n"; *s = NULL at the end. */
static wr_status next_line(wr_table_reader *r, char **s, char **e)
{
    size_t scanned = r->pos;
    for (;;) {
        char *nl = memchr(r->buf + scanned, '\n', r->len - scanned);
        if (nl || (r->eof && r->len > r->pos)) {
            char *start = r->buf + r->pos, *end = nl ? nl : r->buf + r->len;
            r->pos = nl ? (size_t)(nl - r->buf) + 1 : r->len;
            if (end > start && end[-1] == '\r') end--;
            r->line++;
            *s = start;
            *e = end;
            return WR_OK;
        }
        if (r->eof) {
            *s = *e = NULL;
            return WR_OK;
        }
        size_t consumed = r->pos;
        scanned = r->len;
        wr_status st = fill(r);
        if (st) return st;
        scanned -= consumed; /* fill() moved the data to the front */
    }
}

/* Field [s, e) of a line: up to the next comma or the line end. */
static char *field_end(char *s, char *line_end)
{
    char *c = memchr(s, ',', (size_t)(line_end - s));
    return c ? c : line_end;
}

static void trim(char **s, char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

static wr_status header_error(wr_table_reader *r, const char *what)
{
    return wr__fail(WR_ERR_FORMAT, "table '%s': line 1: %s", r->path, what);
}

/* Splits the header into column names; rejects empty and duplicate names
 * and a first line made of numbers (a file without a header). */
static wr_status parse_header(wr_table_reader *r, char *s, char *e)
{
    if (e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3; /* UTF-8 BOM */
    size_t n = 1, numeric = 0;
    for (char *c = s; c < e; c++) n += *c == ',';
    r->names = wr__calloc_array(n, sizeof *r->names, "table column names");
    r->slot = wr__alloc_array(n, sizeof *r->slot, "table column map");
    if (!r->names || !r->slot) return WR_ERR_NOMEM;
    r->ncol = n;
    for (size_t j = 0; j < n; j++) {
        char *fe = field_end(s, e), *a = s, *b = fe;
        double v;
        trim(&a, &b);
        if (a == b) {
            char msg[96];
            snprintf(msg, sizeof msg, "column %zu has an empty name", j + 1);
            return header_error(r, msg);
        }
        for (const char *c = a; c < b; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                /* NUL would truncate the name; other control bytes make
                 * names that cannot be written back */
                char msg[96];
                snprintf(msg, sizeof msg, "column %zu: control byte 0x%02x in the name",
                         j + 1, (unsigned)(unsigned char)*c);
                return header_error(r, msg);
            }
        numeric += parse_double(a, b, &v) == 0;
        r->names[j] = strndup(a, (size_t)(b - a));
        if (!r->names[j]) return wr__fail(WR_ERR_NOMEM, "out of memory reading a header");
        r->slot[j] = (int)j;
        s = fe + 1;
    }
    if (numeric == n) return header_error(r, "no header (the first line holds numbers)");
    size_t i = 0, k = 0;
    wr_status st = find_duplicate((const char *const *)r->names, n, &i, &k);
    if (st) return st;
    if (k < n)
        return wr__fail(WR_ERR_FORMAT, "table '%s': line 1, column %zu: "
                        "duplicate column name '%s' (also column %zu)",
                        r->path, k + 1, r->names[k], i + 1);
    r->nsel = n;
    return WR_OK;
}

WR_API void wr_table_reader_close(wr_table_reader *r)
{
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    for (size_t j = 0; r->names && j < r->ncol; j++) free(r->names[j]);
    free(r->names);
    free(r->slot);
    free(r->buf);
    free(r->path);
    free(r->sticky_msg);
    free(r);
}

/* Opens `path`, or reads from `fd` (then `path` only names it in messages;
 * the descriptor is owned and closed by the reader), and parses the header. */
static wr_status reader_init(wr_table_reader *r, const char *path, int fd)
{
    r->path = strdup(path);
    r->cap = READ_BUF_INIT;
    r->buf = malloc(r->cap);
    if (!r->path || !r->buf) {
        if (fd >= 0) close(fd);
        return wr__fail(WR_ERR_NOMEM, "out of memory opening a table");
    }
    errno = 0;
    r->gz = fd >= 0 ? gzdopen(fd, "rb") : gzopen(path, "rb");
    if (!r->gz) {
        if (fd >= 0) close(fd);
        return wr__fail(WR_ERR_IO, "table '%s': cannot open for reading: %s", path,
                        errno ? strerror(errno) : "zlib could not open it");
    }
    gzbuffer(r->gz, GZ_BUFFER);
    char *s, *e;
    wr_status st = next_line(r, &s, &e);
    if (st) return st;
    if (!s) return wr__fail(WR_ERR_FORMAT, "table '%s': empty file, no header line", path);
    return parse_header(r, s, e);
}

static wr_status reader_open(const char *fn, const char *path, int fd,
                             wr_table_reader **out)
{
    wr_table_reader *r = calloc(1, sizeof *r);
    if (!r) {
        if (fd >= 0) close(fd);
        return wr__fail(WR_ERR_NOMEM, "%s: out of memory", fn);
    }
    wr_status st = reader_init(r, path, fd);
    if (st) {
        wr_table_reader_close(r);
        return st;
    }
    *out = r;
    return WR_OK;
}

WR_API wr_status wr_table_reader_open(const char *path, wr_table_reader **out)
{
    static const char *FN_ = "wr_table_reader_open";
    wr_status st;
    if ((st = wr__check_ptr(FN_, "out", out)) || (st = wr__check_ptr(FN_, "path", path)))
        return st;
    *out = NULL;
    return reader_open(FN_, path, -1, out);
}

/* A duplicate of the stream's descriptor, so that closing the table never
 * closes the caller's FILE*. */
static wr_status dup_stream(const char *fn, FILE *f, const char *name, int *fd)
{
    *fd = fileno(f);
    if (*fd >= 0) *fd = dup(*fd);
    if (*fd < 0)
        return wr__fail(WR_ERR_IO, "%s: stream '%s' has no usable file "
                        "descriptor: %s", fn, name, strerror(errno));
    return WR_OK;
}

WR_API wr_status wr_table_reader_open_stream(FILE *f, const char *name,
                                             wr_table_reader **out)
{
    static const char *FN_ = "wr_table_reader_open_stream";
    wr_status st;
    int fd = -1;
    if ((st = wr__check_ptr(FN_, "out", out)) || (st = wr__check_ptr(FN_, "f", f)))
        return st;
    *out = NULL;
    if (!name) name = "<stream>";
    if ((st = dup_stream(FN_, f, name, &fd))) return st;
    return reader_open(FN_, name, fd, out);
}

WR_API size_t wr_table_reader_n_columns(const wr_table_reader *r)
{
    return r ? r->ncol : 0;
}

WR_API const char *wr_table_reader_column_name(const wr_table_reader *r,
                                               size_t j)
{
    return r && j < r->ncol ? r->names[j] : NULL;
}

static wr_status find_column(const wr_table_reader *r, const char *fn,
                             const char *name, size_t *index)
{
    for (size_t j = 0; j < r->ncol; j++)
        if (strcmp(r->names[j], name) == 0) {
            *index = j;
            return WR_OK;
        }
    return wr__fail(WR_ERR_FORMAT, "%s: table '%s' has no column '%s'", fn,
                    r->path, name);
}

WR_API wr_status wr_table_reader_find(const wr_table_reader *r,
                                      const char *name, size_t *index)
{
    wr_status st;
    if ((st = wr__check_ptr("wr_table_reader_find", "r", r)) ||
        (st = wr__check_ptr("wr_table_reader_find", "name", name)) ||
        (st = wr__check_ptr("wr_table_reader_find", "index", index)))
        return st;
    return find_column(r, "wr_table_reader_find", name, index);
}

WR_API wr_status wr_table_reader_select(wr_table_reader *r,
                                        const char *const *names, size_t n)
{
    static const char *FN_ = "wr_table_reader_select";
    wr_status st;
    if ((st = wr__check_ptr(FN_, "r", r)) || (st = wr__check_ptr(FN_, "names", names)))
        return st;
    if (n == 0) return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n' is 0", FN_);
    int *slot = wr__alloc_array(r->ncol, sizeof *slot, "table column map");
    if (!slot) return WR_ERR_NOMEM;
    for (size_t j = 0; j < r->ncol; j++) slot[j] = -1;
    for (size_t k = 0; k < n && !st; k++) {
        size_t j = 0;
        if (!names[k])
            st = wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'names[%zu]' is NULL", FN_, k);
        else if (!(st = find_column(r, FN_, names[k], &j)) && slot[j] >= 0)
            st = wr__fail(WR_ERR_INVALID_ARG, "%s: column '%s' selected twice "
                          "(names[%d] and names[%zu])", FN_, names[k], slot[j], k);
        else if (!st)
            slot[j] = (int)k;
    }
    if (st) {
        free(slot);
        return st;
    }
    free(r->slot);
    r->slot = slot;
    r->nsel = n;
    return WR_OK;
}

WR_API size_t wr_table_reader_n_selected(const wr_table_reader *r)
{
    return r ? r->nsel : 0;
}

WR_API int64_t wr_table_reader_rows_read(const wr_table_reader *r)
{
    return r ? r->rows : 0;
}

/* Output of one parsed value: float or double array. */
typedef struct sink {
    float *f;
    double *d;
} sink;

static wr_status cell_error(const wr_table_reader *r, size_t j, char *s, char *e,
                            const char *what)
{
    trim(&s, &e);
    int shown = e - s > 40 ? 40 : (int)(e - s);
    if (s == e)
        return wr__fail(WR_ERR_FORMAT, "table '%s': line %lld, column %zu ('%s'): "
                        "empty field", r->path, (long long)r->line, j + 1, r->names[j]);
    return wr__fail(WR_ERR_FORMAT, "table '%s': line %lld, column %zu ('%s'): %s: '%.*s'",
                    r->path, (long long)r->line, j + 1, r->names[j], what, shown, s);
}

static wr_status count_error(const wr_table_reader *r, size_t nfields)
{
    if (nfields > r->ncol)
        return wr__fail(WR_ERR_FORMAT, "table '%s': line %lld, column %zu: extra "
                        "field (the header has %zu columns)", r->path,
                        (long long)r->line, r->ncol + 1, r->ncol);
    return wr__fail(WR_ERR_FORMAT, "table '%s': line %lld, column %zu ('%s'): "
                    "missing (the line has %zu fields, the header %zu)", r->path,
                    (long long)r->line, nfields + 1, r->names[nfields], nfields,
                    r->ncol);
}

/* Parses one data line into row `row` of the sink. */
static wr_status parse_row(const wr_table_reader *r, char *s, char *e,
                           sink out, size_t row)
{
    if (s == e && r->ncol > 1)
        return wr__fail(WR_ERR_FORMAT, "table '%s': line %lld: empty line",
                        r->path, (long long)r->line);
    size_t j = 0;
    for (;; j++) {
        char *fe = field_end(s, e);
        if (j >= r->ncol) return count_error(r, j + 1);
        int k = r->slot[j];
        if (k >= 0) {
            double v = 0;
            int rc = parse_double(s, fe, &v);
            if (rc == -2 || (rc == 0 && out.f && fabs(v) > FLT_MAX))
                return cell_error(r, j, s, fe, out.f ? "out of float range"
                                                      : "out of double range");
            if (rc) return cell_error(r, j, s, fe, "not a number");
            if (out.f) out.f[row * r->nsel + (size_t)k] = (float)v;
            else out.d[row * r->nsel + (size_t)k] = v;
        }
        if (fe == e) break;
        s = fe + 1;
    }
    if (j + 1 != r->ncol) return count_error(r, j + 1);
    return WR_OK;
}

static wr_status remember(wr_table_reader *r, wr_status st)
{
    r->sticky = st;
    free(r->sticky_msg);
    r->sticky_msg = strdup(wr_last_error());
    return st;
}

static wr_status read_rows(wr_table_reader *r, const char *fn, sink out,
                           size_t max_rows, size_t *n_rows)
{
    wr_status st;
    if ((st = wr__check_ptr(fn, "r", r)) || (st = wr__check_ptr(fn, "n_rows", n_rows)) ||
        (st = wr__check_ptr(fn, "out", out.f ? (void *)out.f : (void *)out.d)))
        return st;
    *n_rows = 0;
    if (r->sticky)
        return wr__fail(r->sticky, "%s: an earlier read failed: %s", fn,
                        r->sticky_msg ? r->sticky_msg : "");
    size_t n = 0;
    while (n < max_rows) {
        char *s, *e;
        if ((st = next_line(r, &s, &e))) break;
        if (!s) break;
        if ((st = parse_row(r, s, e, out, n))) break;
        n++;
    }
    *n_rows = n;
    r->rows += (int64_t)n;
    return st ? remember(r, st) : WR_OK;
}

WR_API wr_status wr_table_reader_read_float(wr_table_reader *r, float *out,
                                            size_t max_rows, size_t *n_rows)
{
    sink s = {out, NULL};
    if (!out) return wr__check_ptr("wr_table_reader_read_float", "out", out);
    return read_rows(r, "wr_table_reader_read_float", s, max_rows, n_rows);
}

WR_API wr_status wr_table_reader_read_double(wr_table_reader *r, double *out,
                                             size_t max_rows, size_t *n_rows)
{
    sink s = {NULL, out};
    if (!out) return wr__check_ptr("wr_table_reader_read_double", "out", out);
    return read_rows(r, "wr_table_reader_read_double", s, max_rows, n_rows);
}

/* ------------------------------------------------------- read everything */

/* Reads all rows of the selected columns into one growing array. */
static wr_status read_all(const char *fn, const char *path,
                          const char *const *names, size_t n_names,
                          size_t elem, void **out, size_t *n_rows)
{
    wr_status st;
    if ((st = wr__check_ptr(fn, "out", out)) || (st = wr__check_ptr(fn, "n_rows", n_rows)))
        return st;
    *out = NULL;
    *n_rows = 0;
    wr_table_reader *r = NULL;
    if ((st = wr_table_reader_open(path, &r))) return st;
    if ((st = wr_table_reader_select(r, names, n_names))) {
        wr_table_reader_close(r);
        return st;
    }
    size_t cap = 0, n = 0, got = 0, row_bytes = n_names * elem;
    unsigned char *data = NULL;
    do {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096, bytes;
            unsigned char *nd = wr__mul_size(ncap, row_bytes, &bytes) ? realloc(data, bytes) : NULL;
            if (!nd) {
                st = wr__fail(WR_ERR_NOMEM, "%s: out of memory after %zu rows of '%s'",
                              fn, n, path);
                break;
            }
            data = nd;
            cap = ncap;
        }
        sink s = {elem == sizeof(float) ? (float *)(void *)(data + n * row_bytes) : NULL,
                  elem == sizeof(double) ? (double *)(void *)(data + n * row_bytes) : NULL};
        st = read_rows(r, fn, s, cap - n, &got);
        n += got;
    } while (!st && got > 0);
    wr_table_reader_close(r);
    if (st) {
        free(data);
        return st;
    }
    *out = data;
    *n_rows = n;
    return WR_OK;
}

WR_API wr_status wr_table_read_float(const char *path, const char *const *names,
                                     size_t n_names, float **out, size_t *n_rows)
{
    return read_all("wr_table_read_float", path, names, n_names, sizeof(float),
                    (void **)out, n_rows);
}

WR_API wr_status wr_table_read_double(const char *path, const char *const *names,
                                      size_t n_names, double **out, size_t *n_rows)
{
    return read_all("wr_table_read_double", path, names, n_names, sizeof(double),
                    (void **)out, n_rows);
}

/* ============================================================ writer */

struct wr_table_writer {
    gzFile gz;
    char *path;
    char *tmp;        /* temporary file renamed to `path` by a good close;
                       * NULL when writing straight to a non-regular file */
    int sync_fd;      /* duplicate of the file's descriptor, for fsync */
    size_t ncol;
    char *buf;
    size_t len, cap;
    int64_t rows;
    wr_status sticky; /* a failed write makes the writer unusable */
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static wr_status writer_flush(wr_table_writer *w)
{
    if (w->len == 0) return WR_OK;
    int put = gzwrite(w->gz, w->buf, (unsigned)w->len);
    if (put <= 0 || (size_t)put != w->len) {
        int err = 0;
        const char *msg = gzerror(w->gz, &err);
        w->sticky = WR_ERR_IO;
        return wr__fail(WR_ERR_IO, "table '%s': write failed after %lld rows: %s",
                        w->path, (long long)w->rows,
                        err == Z_ERRNO ? strerror(errno) : (msg ? msg : "zlib error"));
    }
    w->len = 0;
    return WR_OK;
}

/* Room for `n` more bytes in the buffer (flushing first if needed). */
static wr_status writer_reserve(wr_table_writer *w, size_t n)
{
    if (w->len + n <= w->cap) return WR_OK;
    wr_status st = writer_flush(w);
    if (st || n <= w->cap) return st;
    char *nb = realloc(w->buf, n);
    if (!nb) return wr__fail(WR_ERR_NOMEM, "out of memory writing '%s'", w->path);
    w->buf = nb;
    w->cap = n;
    return WR_OK;
}

static wr_status writer_header(wr_table_writer *w, const char *const *names)
{
    for (size_t j = 0; j < w->ncol; j++) {
        size_t n = strlen(names[j]);
        wr_status st = writer_reserve(w, n + 1);
        if (st) return st;
        memcpy(w->buf + w->len, names[j], n);
        w->len += n;
        w->buf[w->len++] = j + 1 < w->ncol ? ',' : '\n';
    }
    return WR_OK;
}

static int has_control_byte(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

/* Column names must be non-empty, unique, without ',', quotes, control
 * bytes, outer blanks or a leading UTF-8 byte-order mark, and not all
 * numbers, so the file reads back as written (the reader trims blanks,
 * drops a BOM at the start of the file and takes a line of numbers for
 * data). */
static wr_status check_names(const char *fn, const char *const *names, size_t n)
{
    size_t numeric = 0;
    for (size_t j = 0; j < n; j++) {
        if (!names[j])
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'names[%zu]' is NULL", fn, j);
        size_t len = strlen(names[j]);
        if (!len || strpbrk(names[j], ",\"") || has_control_byte(names[j]) ||
            names[j][0] == ' ' || names[j][len - 1] == ' ' ||
            strncmp(names[j], "\xEF\xBB\xBF", 3) == 0)
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'names[%zu]' = '%s': "
                            "a column name must be non-empty, without commas, "
                            "quotes, line breaks, control bytes, outer blanks or "
                            "a leading byte-order mark", fn, j, names[j]);
        char *copy = strdup(names[j]);
        double v;
        if (!copy) return wr__fail(WR_ERR_NOMEM, "%s: out of memory", fn);
        numeric += parse_double(copy, copy + len, &v) == 0;
        free(copy);
    }
    if (n && numeric == n)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: every column name is a number "
                        "(the file would read as having no header)", fn);
    size_t i = 0, k = 0;
    wr_status st = find_duplicate(names, n, &i, &k);
    if (st) return st;
    if (k < n)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: column name '%s' repeated "
                        "(names[%zu] and names[%zu])", fn, names[k], i, k);
    return WR_OK;
}

/* Closes the gz stream (if open) and frees; an unfinished temporary file
 * is removed, so a failed writer leaves any previous `path` untouched. */
static void writer_free(wr_table_writer *w)
{
    if (w->gz) gzclose(w->gz);
    if (w->sync_fd >= 0) close(w->sync_fd);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->buf);
    free(w->path);
    free(w);
}

/* Starts the gz stream on `fd` (owned from here on). */
static wr_status writer_start(wr_table_writer *w, int fd, int gzip)
{
    w->gz = gzdopen(fd, gzip ? "wb6" : "wbT");
    if (!w->gz) {
        close(fd);
        return wr__fail(WR_ERR_NOMEM, "table '%s': zlib could not start a stream", w->path);
    }
    gzbuffer(w->gz, GZ_BUFFER);
    return WR_OK;
}

/* New paths and regular files are written to a temporary file in the same
 * directory and renamed over `path` on close, like model files; symbolic
 * links, devices and pipes (/dev/stdout...) are written directly, so that
 * the link itself is never replaced. */
static int write_in_place(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
}

static wr_status writer_create(wr_table_writer *w)
{
    int fd;
    errno = 0;
    if (write_in_place(w->path)) {
        fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    } else {
        size_t n = strlen(w->path);
        w->tmp = malloc(n + 8);
        if (!w->tmp) return wr__fail(WR_ERR_NOMEM, "out of memory opening '%s'", w->path);
        memcpy(w->tmp, w->path, n);
        memcpy(w->tmp + n, ".XXXXXX", 8);
        fd = mkostemp(w->tmp, O_CLOEXEC);
        if (fd < 0) {
            free(w->tmp);
            w->tmp = NULL;
        } else {
            fchmod(fd, 0644); /* mkstemp makes 0600; a table is no secret */
            w->sync_fd = dup(fd);
        }
    }
    if (fd < 0)
        return wr__fail(WR_ERR_IO, "table '%s': cannot open for writing: %s",
                        w->path, strerror(errno));
    return writer_start(w, fd, ends_with(w->path, ".gz"));
}

/* Common part of the two open calls; `f` NULL means the file `path`. */
static wr_status writer_open(const char *fn, const char *path, FILE *f, int gzip,
                             const char *const *names, size_t n_columns,
                             wr_table_writer **out)
{
    wr_status st;
    if ((st = wr__check_ptr(fn, "names", names))) return st;
    if (n_columns == 0) return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_columns' is 0", fn);
    if ((st = check_names(fn, names, n_columns))) return st;
    wr_table_writer *w = calloc(1, sizeof *w);
    if (!w) return wr__fail(WR_ERR_NOMEM, "out of memory opening '%s'", path);
    w->sync_fd = -1;
    w->ncol = n_columns;
    w->cap = WRITE_BUF_FLUSH;
    w->path = strdup(path);
    w->buf = malloc(w->cap);
    if (!w->path || !w->buf)
        st = wr__fail(WR_ERR_NOMEM, "out of memory opening '%s'", path);
    if (!st && !f) st = writer_create(w);
    if (!st && f) {
        int fd = -1;
        fflush(f); /* what the caller wrote through f comes first */
        if (!(st = dup_stream(fn, f, path, &fd))) st = writer_start(w, fd, gzip);
    }
    if (!st) st = writer_header(w, names);
    if (st) {
        writer_free(w);
        return st;
    }
    *out = w;
    return WR_OK;
}

WR_API wr_status wr_table_writer_open(const char *path,
                                      const char *const *names, size_t n_columns,
                                      wr_table_writer **out)
{
    static const char *FN_ = "wr_table_writer_open";
    wr_status st;
    if ((st = wr__check_ptr(FN_, "out", out)) || (st = wr__check_ptr(FN_, "path", path)))
        return st;
    *out = NULL;
    return writer_open(FN_, path, NULL, 0, names, n_columns, out);
}

WR_API wr_status wr_table_writer_open_stream(FILE *f, const char *name, int gzip,
                                             const char *const *names,
                                             size_t n_columns,
                                             wr_table_writer **out)
{
    static const char *FN_ = "wr_table_writer_open_stream";
    wr_status st;
    if ((st = wr__check_ptr(FN_, "out", out)) || (st = wr__check_ptr(FN_, "f", f)))
        return st;
    *out = NULL;
    return writer_open(FN_, name ? name : "<stream>", f, gzip != 0, names,
                       n_columns, out);
}

/* Shortest of 7 or 9 significant digits that reads back as the same float
 * (9 always does); the same with 15 or 17 digits for doubles. */
static int format_value(char *dst, size_t room, double v, int is_float)
{
    int n = snprintf(dst, room, "%.*g", is_float ? 7 : 15, v);
    int same = is_float ? strtof(dst, NULL) == (float)v : strtod(dst, NULL) == v;
    if (!same) n = snprintf(dst, room, "%.*g", is_float ? 9 : 17, v);
    return n;
}

static wr_status write_rows(wr_table_writer *w, const char *fn, const float *f,
                            const double *d, size_t n_rows)
{
    wr_status st;
    if ((st = wr__check_ptr(fn, "w", w)) ||
        (st = wr__check_ptr(fn, "rows", f ? (const void *)f : (const void *)d)))
        return st;
    if (w->sticky)
        return wr__fail(w->sticky, "%s: table '%s': an earlier write failed", fn, w->path);
    size_t total;
    if (!wr__mul_size(n_rows, w->ncol, &total))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'n_rows' too large", fn);
    for (size_t i = 0; i < total; i++)  /* all or nothing */
        if (!isfinite(f ? (double)f[i] : d[i]))
            return wr__fail(WR_ERR_INVALID_ARG, "%s: argument 'rows': non-finite "
                            "value at row %zu, column %zu ('%s' row %lld)", fn,
                            i / w->ncol, i % w->ncol + 1, w->path,
                            (long long)(w->rows + (int64_t)(i / w->ncol)) + 1);
    for (size_t i = 0; i < total; i++) {
        if ((st = writer_reserve(w, 32))) return st;
        w->len += (size_t)format_value(w->buf + w->len, 32, f ? (double)f[i] : d[i], f != NULL);
        w->buf[w->len++] = (i + 1) % w->ncol ? ',' : '\n';
        if ((i + 1) % w->ncol == 0) w->rows++;
    }
    return WR_OK;
}

WR_API wr_status wr_table_writer_write_float(wr_table_writer *w,
                                             const float *rows, size_t n_rows)
{
    if (!rows) return wr__check_ptr("wr_table_writer_write_float", "rows", rows);
    return write_rows(w, "wr_table_writer_write_float", rows, NULL, n_rows);
}

WR_API wr_status wr_table_writer_write_double(wr_table_writer *w,
                                              const double *rows, size_t n_rows)
{
    if (!rows) return wr__check_ptr("wr_table_writer_write_double", "rows", rows);
    return write_rows(w, "wr_table_writer_write_double", NULL, rows, n_rows);
}

/* Flushes and closes the stream, syncs the file and moves it into place. */
static wr_status writer_finish(wr_table_writer *w)
{
    wr_status st = w->sticky ? wr__fail(w->sticky, "table '%s': an earlier write "
                                        "failed; nothing was written", w->path)
                             : writer_flush(w);
    int rc = gzclose(w->gz);
    w->gz = NULL;
    if (!st && rc != Z_OK)
        st = wr__fail(WR_ERR_IO, "table '%s': closing failed: %s", w->path,
                      rc == Z_ERRNO ? strerror(errno) : "zlib error");
    if (!st && w->tmp && w->sync_fd >= 0 && fsync(w->sync_fd) != 0)
        st = wr__fail(WR_ERR_IO, "table '%s': fsync failed: %s", w->path, strerror(errno));
    if (!st && w->tmp) {
        if (rename(w->tmp, w->path) != 0)
            st = wr__fail(WR_ERR_IO, "table '%s': cannot rename the temporary "
                          "file into place: %s", w->path, strerror(errno));
        else {
            free(w->tmp);
            w->tmp = NULL;
        }
    }
    return st;
}

WR_API wr_status wr_table_writer_close(wr_table_writer *w)
{
    if (!w) return WR_OK;
    wr_status st = writer_finish(w);
    writer_free(w);
    return st;
}
