/* fuzz/fuzz_table.c -- the CSV(.gz) table reader on hostile files, through
 * the path API and the stream API.  The first input byte holds options:
 *   bit 0  gzip-compress the rest before reading (raw gzip bytes reach the
 *          reader anyway: it detects compression by content)
 *   bit 1  read through wr_table_reader_open_stream instead of a path
 *   bit 2  read floats instead of doubles
 *   bits 3-4  rows per read call: 1, 3, 64, 4096
 *   bit 5  select the last and the first column (else all columns)
 *   bit 6  also read the whole file with wr_table_read_double
 * The file lives in a memfd (no disk).  A table that reads without error
 * must round-trip bit for bit through the writer (stream API, same
 * compression). */
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"

#define MAX_CELLS (1u << 20)

static int memfd_with(const void *data, size_t size)
{
    int fd = memfd_create("wr_fuzz_table", 0);
    if (fd < 0) return -1;
    const unsigned char *p = data;
    while (size) {
        ssize_t k = write(fd, p, size);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        p += k;
        size -= (size_t)k;
    }
    return fd;
}

static unsigned char *gzip_bytes(const uint8_t *data, size_t size, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)size) + 64;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    *out_n = z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static wr_table_reader *open_reader(int fd, int stream)
{
    wr_table_reader *r = NULL;
    wr_status st;
    if (stream) {
        int fd2 = dup(fd);
        if (fd2 < 0) return NULL;
        lseek(fd2, 0, SEEK_SET);
        FILE *f = fdopen(fd2, "rb");
        if (!f) {
            close(fd2);
            return NULL;
        }
        st = wr_table_reader_open_stream(f, "fuzz", &r);
        fclose(f);
    } else {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        st = wr_table_reader_open(path, &r);
    }
    if (st != WR_OK) {
        FUZZ_REQUIRE(r == NULL && wr_last_error()[0] != '\0');
        return NULL;
    }
    return r;
}

/* Reads every row of the selected columns (doubles, or floats widened). */
static wr_status read_rows(wr_table_reader *r, int as_float, size_t chunk,
                           double **vals, size_t *n_rows)
{
    size_t w = wr_table_reader_n_selected(r);
    size_t cap = 0, n = 0;
    double *all = NULL;
    double *dbuf = malloc(chunk * (w ? w : 1) * sizeof *dbuf);
    float *fbuf = malloc(chunk * (w ? w : 1) * sizeof *fbuf);
    FUZZ_REQUIRE(dbuf && fbuf);
    wr_status st = WR_OK;
    for (;;) {
        size_t got = 99999999;
        st = as_float ? wr_table_reader_read_float(r, fbuf, chunk, &got)
                      : wr_table_reader_read_double(r, dbuf, chunk, &got);
        FUZZ_REQUIRE(got <= chunk);
        if (got == 0 || (n + got) * w > MAX_CELLS) break;
        if (n + got > cap) {
            cap = 2 * (n + got);
            all = realloc(all, cap * (w ? w : 1) * sizeof *all);
            FUZZ_REQUIRE(all);
        }
        for (size_t i = 0; i < got * w; i++) {
            double v = as_float ? (double)fbuf[i] : dbuf[i];
            FUZZ_REQUIRE(isfinite(v));
            all[n * w + i] = v;
        }
        n += got;
        if (st != WR_OK) break;
    }
    if (st != WR_OK) {
        FUZZ_REQUIRE(wr_last_error()[0] != '\0');
        /* a failed reader keeps failing */
        size_t got = 1;
        wr_status st2 = wr_table_reader_read_double(r, dbuf, chunk, &got);
        FUZZ_REQUIRE(st2 == st && got == 0);
    }
    free(dbuf);
    free(fbuf);
    *vals = all;
    *n_rows = n;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned opt = data[0];
    static const size_t chunks[4] = {1, 3, 64, 4096};
    size_t chunk = chunks[(opt >> 3) & 3];
    int gz = opt & 1, stream = (opt >> 1) & 1, as_float = (opt >> 2) & 1;
    const uint8_t *body = data + 1;
    size_t body_n = size - 1;
    unsigned char *zbuf = NULL;
    if (gz) {
        zbuf = gzip_bytes(body, body_n, &body_n);
        if (!zbuf) return 0;
        body = zbuf;
    }
    int fd = memfd_with(body, body_n);
    free(zbuf);
    if (fd < 0) return 0;

    wr_table_reader *r = open_reader(fd, stream);
    if (!r) {
        close(fd);
        return 0;
    }
    size_t nc = wr_table_reader_n_columns(r);
    FUZZ_REQUIRE(nc >= 1);
    FUZZ_REQUIRE(wr_table_reader_column_name(r, nc) == NULL);
    const char *names[2] = {wr_table_reader_column_name(r, nc - 1),
                            wr_table_reader_column_name(r, 0)};
    FUZZ_REQUIRE(names[0] && names[1]);
    size_t idx = 0;
    FUZZ_REQUIRE(wr_table_reader_find(r, names[0], &idx) == WR_OK && idx == nc - 1);
    if (opt & 32) {
        wr_status st = wr_table_reader_select(r, names, nc > 1 ? 2 : 1);
        FUZZ_REQUIRE(st == WR_OK);
        FUZZ_REQUIRE(wr_table_reader_n_selected(r) == (nc > 1 ? 2u : 1u));
    }
    size_t w = wr_table_reader_n_selected(r);
    double *vals = NULL;
    size_t n = 0;
    wr_status st = read_rows(r, as_float, chunk, &vals, &n);
    FUZZ_REQUIRE(wr_table_reader_rows_read(r) >= (int64_t)n);

    if (st == WR_OK && n * w <= MAX_CELLS) {
        /* round trip through the writer into another memfd */
        const char **sel = malloc(w * sizeof *sel);
        FUZZ_REQUIRE(sel);
        for (size_t j = 0; j < w; j++)
            sel[j] = (opt & 32) ? names[j] : wr_table_reader_column_name(r, j);
        int fd2 = memfd_create("wr_fuzz_out", 0);
        FILE *f = fd2 >= 0 ? fdopen(fd2, "wb") : NULL;
        wr_table_writer *tw = NULL;
        if (f && wr_table_writer_open_stream(f, "out", gz, sel, w, &tw) == WR_OK) {
            wr_status ws = n ? wr_table_writer_write_double(tw, vals, n) : WR_OK;
            FUZZ_REQUIRE(ws == WR_OK);
            FUZZ_REQUIRE(wr_table_writer_close(tw) == WR_OK);
            wr_table_reader *r2 = open_reader(fd2, 1);
            FUZZ_REQUIRE(r2 != NULL);
            FUZZ_REQUIRE(wr_table_reader_n_columns(r2) == w);
            double *v2 = NULL;
            size_t n2 = 0;
            FUZZ_REQUIRE(read_rows(r2, 0, 4096, &v2, &n2) == WR_OK);
            FUZZ_REQUIRE(n2 == n);
            FUZZ_REQUIRE(n == 0 || memcmp(vals, v2, n * w * sizeof *vals) == 0);
            free(v2);
            wr_table_reader_close(r2);
        }
        if (f) fclose(f);
        else if (fd2 >= 0) close(fd2);
        free(sel);
    }
    free(vals);

    if (opt & 64) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        double *all = NULL;
        size_t rows = 0;
        wr_status st2 = wr_table_read_double(path, names, 1, &all, &rows);
        if (st2 == WR_OK) FUZZ_REQUIRE(all != NULL);
        else FUZZ_REQUIRE(all == NULL && wr_last_error()[0] != '\0');
        wr_free(all);
    }
    wr_table_reader_close(r);
    close(fd);
    return 0;
}
