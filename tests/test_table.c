/* tests/test_table.c -- CSV / CSV.gz tables: round trips (plain and gzip,
 * float and double, bit for bit), chunked reads across buffer boundaries,
 * column selection, exact number parsing, every malformed-input case, write
 * errors, and the read speed on the generator sample. */
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* A per-process temporary path (tests may run in parallel). */
static const char *tmp_path(const char *name)
{
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "/tmp/wr_test_table_%ld_%s", (long)getpid(), name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_gz_text(const char *path, const char *text)
{
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzputs(g, text), (int)strlen(text));
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static const char *NAMES3[] = {"a", "b", "c"};

/* Writes rows of awkward floats/doubles and reads them back exactly. */
static void roundtrip(const char *path, int use_double)
{
    enum { R = 5000, C = 3 };
    float *f = malloc(R * C * sizeof *f), *fb = malloc(R * C * sizeof *fb);
    double *d = malloc(R * C * sizeof *d), *db = malloc(R * C * sizeof *db);
    srand(5);
    for (int i = 0; i < R * C; i++) {
        double u = (double)rand() / RAND_MAX - 0.5;
        double v = i % 7 == 0 ? (double)(rand() % 100) : u * pow(10.0, rand() % 60 - 30);
        if (i == 1) v = 3.4e38;
        if (i == 2) v = -1.17549435e-38;
        d[i] = v;
        f[i] = (float)v;
    }
    wr_table_writer *w = NULL;
    WR_ASSERT_OK(wr_table_writer_open(path, NAMES3, C, &w));
    if (use_double) {
        WR_ASSERT_OK(wr_table_writer_write_double(w, d, 1234));
        WR_ASSERT_OK(wr_table_writer_write_double(w, d + 1234 * C, R - 1234));
    } else {
        WR_ASSERT_OK(wr_table_writer_write_float(w, f, 1));
        WR_ASSERT_OK(wr_table_writer_write_float(w, f + C, R - 1));
    }
    WR_ASSERT_OK(wr_table_writer_close(w));
    size_t n = 0;
    if (use_double) {
        double *all = NULL;
        WR_ASSERT_OK(wr_table_read_double(path, NAMES3, C, &all, &n));
        ck_assert_uint_eq(n, R);
        ck_assert_int_eq(memcmp(all, d, R * C * sizeof *d), 0);
        wr_free(all);
    } else {
        float *all = NULL;
        WR_ASSERT_OK(wr_table_read_float(path, NAMES3, C, &all, &n));
        ck_assert_uint_eq(n, R);
        ck_assert_int_eq(memcmp(all, f, R * C * sizeof *f), 0);
        wr_free(all);
    }
    (void)fb;
    (void)db;
    free(f); free(fb); free(d); free(db);
}

static int starts_gzip(const char *path)
{
    unsigned char m[2] = {0, 0};
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    size_t got = fread(m, 1, 2, fp);
    fclose(fp);
    return got == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

START_TEST(test_roundtrip_plain_and_gz)
{
    const char *plain = tmp_path("rt.csv"), *gz = tmp_path("rt.csv.gz");
    for (int dbl = 0; dbl < 2; dbl++) {
        roundtrip(plain, dbl);
        roundtrip(gz, dbl);
    }
    ck_assert(!starts_gzip(plain));
    ck_assert(starts_gzip(gz));
    /* the plain file is readable text with the header first */
    FILE *fp = fopen(plain, "r");
    char line[64];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    fclose(fp);
    ck_assert_str_eq(line, "a,b,c\n");
    unlink(plain);
    unlink(gz);
}
END_TEST

/* Reads of every chunk size give the same rows, across the reader's
 * internal buffer boundaries (the file is several buffers long). */
START_TEST(test_chunks)
{
    enum { R = 30011 };
    const char *path = tmp_path("chunks.csv.gz");
    const char *names[] = {"row", "x", "y", "z"};
    double *rows = malloc(R * 4 * sizeof *rows);
    for (int i = 0; i < R; i++) {
        rows[4 * i] = i;
        rows[4 * i + 1] = sin(i) * 1e3;
        rows[4 * i + 2] = 1.0 / (i + 1);
        rows[4 * i + 3] = -i * 0.125;
    }
    wr_table_writer *w = NULL;
    WR_ASSERT_OK(wr_table_writer_open(path, names, 4, &w));
    WR_ASSERT_OK(wr_table_writer_write_double(w, rows, R));
    WR_ASSERT_OK(wr_table_writer_close(w));
    size_t chunks[] = {1, 7, 4096, 50000};
    double *buf = malloc(50000 * 4 * sizeof *buf);
    for (int c = 0; c < 4; c++) {
        wr_table_reader *r = NULL;
        WR_ASSERT_OK(wr_table_reader_open(path, &r));
        ck_assert_uint_eq(wr_table_reader_n_columns(r), 4);
        ck_assert_str_eq(wr_table_reader_column_name(r, 3), "z");
        ck_assert_ptr_null(wr_table_reader_column_name(r, 4));
        size_t total = 0, got = 0;
        do {
            WR_ASSERT_OK(wr_table_reader_read_double(r, buf, chunks[c], &got));
            ck_assert_uint_le(got, chunks[c]);
            if (got > 0)
                ck_assert_int_eq(memcmp(buf, rows + 4 * total, got * 4 * sizeof *buf), 0);
            total += got;
        } while (got > 0);
        ck_assert_uint_eq(total, R);
        ck_assert_int_eq(wr_table_reader_rows_read(r), R);
        /* reading past the end keeps returning 0 rows */
        WR_ASSERT_OK(wr_table_reader_read_double(r, buf, 10, &got));
        ck_assert_uint_eq(got, 0);
        wr_table_reader_close(r);
    }
    unlink(path);
    free(rows);
    free(buf);
}
END_TEST

/* One line longer than the reader's initial buffer (256 KiB). */
START_TEST(test_long_line)
{
    enum { C = 70000 };
    const char *path = tmp_path("wide.csv");
    FILE *fp = fopen(path, "w");
    for (int j = 0; j < C; j++) fprintf(fp, "c%d%c", j, j + 1 < C ? ',' : '\n');
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < C; j++) fprintf(fp, "%d.5%c", j + i, j + 1 < C ? ',' : '\n');
    fclose(fp);
    wr_table_reader *r = NULL;
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    ck_assert_uint_eq(wr_table_reader_n_columns(r), C);
    float *buf = malloc(2 * C * sizeof *buf);
    size_t got = 0;
    WR_ASSERT_OK(wr_table_reader_read_float(r, buf, 2, &got));
    ck_assert_uint_eq(got, 2);
    ck_assert_float_eq(buf[C - 1], C - 1 + 0.5f);
    ck_assert_float_eq(buf[2 * C - 1], C + 0.5f);
    wr_table_reader_close(r);
    free(buf);
    unlink(path);
}
END_TEST

START_TEST(test_select)
{
    const char *path = tmp_path("sel.csv");
    write_text(path, "ev, pt ,eta,phi\r\n1,2,3,4\r\n5,6,7,8\r\n9,10,11,12");
    wr_table_reader *r = NULL;
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    size_t idx = 99;
    WR_ASSERT_OK(wr_table_reader_find(r, "pt", &idx)); /* blanks trimmed */
    ck_assert_uint_eq(idx, 1);
    WR_ASSERT_FAILS(wr_table_reader_find(r, "mass", &idx), WR_ERR_FORMAT);
    const char *sel[] = {"phi", "ev"};
    WR_ASSERT_OK(wr_table_reader_select(r, sel, 2));
    ck_assert_uint_eq(wr_table_reader_n_selected(r), 2);
    const char *missing[] = {"phi", "mass"}, *twice[] = {"ev", "ev"};
    WR_ASSERT_FAILS(wr_table_reader_select(r, missing, 2), WR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'mass'"));
    ck_assert_ptr_nonnull(strstr(wr_last_error(), path));
    WR_ASSERT_FAILS(wr_table_reader_select(r, twice, 2), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_reader_select(r, sel, 0), WR_ERR_INVALID_ARG);
    ck_assert_uint_eq(wr_table_reader_n_selected(r), 2); /* unchanged */
    float buf[6];
    size_t got = 0;
    WR_ASSERT_OK(wr_table_reader_read_float(r, buf, 1, &got));
    ck_assert_uint_eq(got, 1);
    ck_assert_float_eq(buf[0], 4);
    ck_assert_float_eq(buf[1], 1);
    const char *one[] = {"eta"};
    WR_ASSERT_OK(wr_table_reader_select(r, one, 1)); /* between reads */
    WR_ASSERT_OK(wr_table_reader_read_float(r, buf, 6, &got));
    ck_assert_uint_eq(got, 2); /* last line without a newline is read */
    ck_assert_float_eq(buf[0], 7);
    ck_assert_float_eq(buf[1], 11);
    wr_table_reader_close(r);
    unlink(path);
}
END_TEST

/* The fast decimal path agrees with strtod on every value. */
START_TEST(test_number_parsing)
{
    enum { N = 20000 };
    const char *path = tmp_path("num.csv");
    FILE *fp = fopen(path, "w");
    fputs("\xEF\xBB\xBFx\n", fp); /* with a UTF-8 byte order mark */
    static char text[N][40];
    srand(9);
    for (int i = 0; i < N; i++) {
        double v = ((double)rand() / RAND_MAX - 0.5) * pow(10.0, rand() % 40 - 20);
        const char *fmt[] = {"%.17g", "%.6e", "%.3f", "%.0f", "%+.12E", "%.20f"};
        snprintf(text[i], sizeof text[i], fmt[i % 6], v);
        fprintf(fp, " %s\t\n", text[i]);
    }
    fputs("0.1\n-0\n.5\n5.\n1e22\n1e23\n123456789012345678901234567890\n"
          "0.000000000000000000000000000001234\n4.9e-324\n", fp);
    fclose(fp);
    double *v = NULL;
    size_t n = 0;
    const char *x[] = {"x"};
    WR_ASSERT_OK(wr_table_read_double(path, x, 1, &v, &n));
    ck_assert_uint_eq(n, N + 9);
    for (int i = 0; i < N; i++)
        ck_assert_msg(v[i] == strtod(text[i], NULL), "'%s' read as %.17g", text[i], v[i]);
    ck_assert(v[N] == 0.1);
    ck_assert(v[N + 1] == 0.0 && signbit(v[N + 1]));
    ck_assert(v[N + 2] == 0.5 && v[N + 3] == 5.0);
    ck_assert(v[N + 4] == 1e22 && v[N + 5] == 1e23);
    ck_assert(v[N + 6] == 123456789012345678901234567890.0);
    ck_assert(v[N + 7] == 1.234e-30);
    ck_assert(v[N + 8] == 4.9e-324);
    wr_free(v);
    unlink(path);
}
END_TEST

/* Expects reading `text` (column "b" or all) to fail with WR_ERR_FORMAT and
 * a message containing every fragment. */
static void expect_bad(const char *text, int gz, const char *f1, const char *f2)
{
    const char *path = tmp_path(gz ? "bad.csv.gz" : "bad.csv");
    if (gz) write_gz_text(path, text);
    else write_text(path, text);
    float *out = NULL;
    size_t n = 7;
    const char *b[] = {"b"};
    WR_ASSERT_FAILS(wr_table_read_float(path, b, 1, &out, &n), WR_ERR_FORMAT);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(n, 0);
    const char *msg = wr_last_error();
    ck_assert_msg(strstr(msg, path) != NULL, "no file name in '%s'", msg);
    ck_assert_msg(!f1 || strstr(msg, f1), "'%s' lacks '%s'", msg, f1);
    ck_assert_msg(!f2 || strstr(msg, f2), "'%s' lacks '%s'", msg, f2);
    unlink(path);
}

START_TEST(test_malformed)
{
    for (int gz = 0; gz < 2; gz++) {
        expect_bad("a,b,c\n1,2,3\n4,5\n", gz, "line 3, column 3 ('c')", "missing");
        expect_bad("a,b,c\n1,2,3\n4,5,6,7\n", gz, "line 3, column 4", "extra field");
        expect_bad("a,b,c\n1,2,3\n4,,6\n", gz, "line 3, column 2 ('b')", "empty field");
        expect_bad("a,b,c\n1,2,3\n4, ,6\n", gz, "line 3, column 2", "empty field");
        expect_bad("a,b,c\n1,abc,3\n", gz, "line 2, column 2 ('b')", "not a number: 'abc'");
        const char *junk[] = {"1.2.3", "1e", "nan", "inf", "0x10", "--1", "1 2", "+", "."};
        for (int k = 0; k < 9; k++) {
            char text[64];
            snprintf(text, sizeof text, "a,b\n1,2\n3,%s\n", junk[k]);
            expect_bad(text, gz, "line 3, column 2", "not a number");
        }
        expect_bad("a,b,c\n1,2,3\n\n4,5,6\n", gz, "line 3", "empty line");
        expect_bad("a,b,c\n1,1e39,3\n", gz, "line 2, column 2", "out of float range");
        expect_bad("a,c\n1,2\n", gz, "no column 'b'", NULL);
        expect_bad("", gz, "empty file", NULL);
        expect_bad("1,2,3\n4,5,6\n", gz, "line 1", "no header");
        expect_bad("a,,b\n1,2,3\n", gz, "line 1", "column 2 has an empty name");
        expect_bad("a,b,a\n1,2,3\n", gz, "line 1, column 3", "duplicate column name 'a'");
    }
    /* an out-of-range double, and a non-number in an unselected column is
     * not read (only counted) */
    const char *path = tmp_path("range.csv");
    write_text(path, "a,b\n1e400,2\nxyz,3\n");
    double *d = NULL;
    size_t n = 0;
    const char *a[] = {"a"}, *b[] = {"b"};
    WR_ASSERT_FAILS(wr_table_read_double(path, a, 1, &d, &n), WR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "out of double range"));
    WR_ASSERT_OK(wr_table_read_double(path, b, 1, &d, &n));
    ck_assert_uint_eq(n, 2);
    wr_free(d);
    unlink(path);
}
END_TEST

/* The rows before a bad line are delivered; the error then sticks. */
START_TEST(test_error_sticks)
{
    const char *path = tmp_path("sticky.csv");
    write_text(path, "a,b\n1,2\n3,4\n5,x\n7,8\n");
    wr_table_reader *r = NULL;
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    float buf[20];
    size_t got = 0;
    WR_ASSERT_FAILS(wr_table_reader_read_float(r, buf, 10, &got), WR_ERR_FORMAT);
    ck_assert_uint_eq(got, 2);
    ck_assert_float_eq(buf[3], 4);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "line 4, column 2 ('b')"));
    WR_ASSERT_FAILS(wr_table_reader_read_float(r, buf, 10, &got), WR_ERR_FORMAT);
    ck_assert_uint_eq(got, 0);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "earlier read failed"));
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "line 4"));
    wr_table_reader_close(r);
    unlink(path);
}
END_TEST

/* Copies the first `keep` bytes of src to dst, optionally flipping one. */
static long copy_cut(const char *src, const char *dst, long keep, long flip)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    rewind(in);
    if (keep < 0) keep = size;
    for (long i = 0; i < keep; i++) {
        int c = fgetc(in);
        fputc(i == flip ? c ^ 0x55 : c, out);
    }
    fclose(in);
    fclose(out);
    return size;
}

START_TEST(test_truncated_and_corrupt_gzip)
{
    const char *good = tmp_path("good.csv.gz"), *bad = tmp_path("cut.csv.gz");
    enum { R = 20000 };
    float *rows = malloc(R * 3 * sizeof *rows);
    for (int i = 0; i < R * 3; i++) rows[i] = (float)sin(i);
    wr_table_writer *w = NULL;
    WR_ASSERT_OK(wr_table_writer_open(good, NAMES3, 3, &w));
    WR_ASSERT_OK(wr_table_writer_write_float(w, rows, R));
    WR_ASSERT_OK(wr_table_writer_close(w));
    float *out = NULL;
    size_t n = 0;
    long size = copy_cut(good, bad, -1, -1);
    long cuts[] = {size / 2, size - 4, 15};
    for (int k = 0; k < 3; k++) {
        copy_cut(good, bad, cuts[k], -1);
        WR_ASSERT_FAILS(wr_table_read_float(bad, NAMES3, 3, &out, &n), WR_ERR_FORMAT);
        ck_assert_msg(strstr(wr_last_error(), "truncated") || strstr(wr_last_error(), "corrupt"),
                      "%s", wr_last_error());
        ck_assert_ptr_nonnull(strstr(wr_last_error(), bad));
    }
    copy_cut(good, bad, -1, size / 2); /* a flipped byte: data or CRC error */
    WR_ASSERT_FAILS(wr_table_read_float(bad, NAMES3, 3, &out, &n), WR_ERR_FORMAT);
    copy_cut(good, bad, -1, size - 6); /* in the CRC-32 of the trailer */
    WR_ASSERT_FAILS(wr_table_read_float(bad, NAMES3, 3, &out, &n), WR_ERR_FORMAT);
    unlink(good);
    unlink(bad);
    free(rows);
}
END_TEST

START_TEST(test_writer_errors)
{
    wr_table_writer *w = NULL;
    const char *path = tmp_path("w.csv");
    const char *comma[] = {"a,b"}, *empty[] = {""}, *dup[] = {"x", "x"}, *nul[] = {NULL};
    const char *quote[] = {"a\"b"}, *blank[] = {" a"};
    WR_ASSERT_FAILS(wr_table_writer_open(path, comma, 1, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(path, empty, 1, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(path, dup, 2, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(path, nul, 1, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(path, quote, 1, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(path, blank, 1, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(path, NAMES3, 0, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open(NULL, NAMES3, 3, &w), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_writer_open("/nonexistent-dir/x.csv", NAMES3, 3, &w), WR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "/nonexistent-dir/x.csv"));
    ck_assert_ptr_null(w);
    /* non-finite values: the whole call is refused, nothing written */
    WR_ASSERT_OK(wr_table_writer_open(path, NAMES3, 3, &w));
    float good[3] = {1, 2, 3}, bad[6] = {1, 2, 3, 4, NAN, 6};
    WR_ASSERT_OK(wr_table_writer_write_float(w, good, 1));
    WR_ASSERT_FAILS(wr_table_writer_write_float(w, bad, 2), WR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "row 1, column 2"));
    WR_ASSERT_FAILS(wr_table_writer_write_float(w, NULL, 2), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_table_writer_close(w));
    float *all = NULL;
    size_t n = 0;
    WR_ASSERT_OK(wr_table_read_float(path, NAMES3, 3, &all, &n));
    ck_assert_uint_eq(n, 1);
    wr_free(all);
    unlink(path);
    WR_ASSERT_OK(wr_table_writer_close(NULL));
    /* a full disk is reported, at the latest by close */
    if (access("/dev/full", W_OK) == 0) {
        static float many[30000];
        wr_status st = WR_OK;
        WR_ASSERT_OK(wr_table_writer_open("/dev/full", NAMES3, 3, &w));
        for (int k = 0; k < 20 && st == WR_OK; k++)
            st = wr_table_writer_write_float(w, many, 10000);
        wr_status st2 = wr_table_writer_close(w);
        ck_assert_msg(st == WR_ERR_IO || st2 == WR_ERR_IO, "write to /dev/full not reported");
        ck_assert_ptr_nonnull(strstr(wr_last_error(), "/dev/full"));
    }
}
END_TEST

/* A table replaces an existing file only when closed successfully, through
 * a temporary file in the same directory that does not stay behind. */
START_TEST(test_writer_atomic)
{
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/wr_test_table_%ld_atomic", (long)getpid());
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    write_text(path, "old\n1\n");
    wr_table_writer *w = NULL;
    WR_ASSERT_OK(wr_table_writer_open(path, NAMES3, 3, &w));
    float row[3] = {1, 2, 3};
    WR_ASSERT_OK(wr_table_writer_write_float(w, row, 1));
    wr_table_reader *r = NULL;
    WR_ASSERT_OK(wr_table_reader_open(path, &r)); /* still the old file */
    ck_assert_str_eq(wr_table_reader_column_name(r, 0), "old");
    wr_table_reader_close(r);
    WR_ASSERT_OK(wr_table_writer_close(w));
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    ck_assert_uint_eq(wr_table_reader_n_columns(r), 3);
    wr_table_reader_close(r);
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) entries += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(entries, 1);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Tables through a caller's FILE*: written and read back, and the stream
 * stays open and usable afterwards (the library closes only its dup). */
START_TEST(test_streams)
{
    for (int gz = 0; gz < 2; gz++) {
        FILE *f = tmpfile();
        ck_assert_ptr_nonnull(f);
        fputs("", f);
        wr_table_writer *w = NULL;
        double rows[6] = {1.5, -2, 3e-7, 4, 5, 6.25};
        WR_ASSERT_OK(wr_table_writer_open_stream(f, "tmp", gz, NAMES3, 3, &w));
        WR_ASSERT_OK(wr_table_writer_write_double(w, rows, 2));
        WR_ASSERT_OK(wr_table_writer_close(w));
        ck_assert_int_ge(fileno(f), 0);
        unsigned char magic[2]; /* pread: leaves f's buffer and offset alone */
        ck_assert_int_eq(pread(fileno(f), magic, 2, 0), 2);
        ck_assert_int_eq(magic[0] == 0x1f && magic[1] == 0x8b, gz);
        ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0); /* f still open */
        wr_table_reader *r = NULL;
        WR_ASSERT_OK(wr_table_reader_open_stream(f, NULL, &r));
        double back[6];
        size_t n = 0;
        WR_ASSERT_OK(wr_table_reader_read_double(r, back, 10, &n));
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(memcmp(back, rows, sizeof rows), 0);
        wr_table_reader_close(r);
        ck_assert_int_eq(fclose(f), 0); /* ours to close, exactly once */
    }
    /* a stream in a bad state: named in the message */
    wr_table_reader *r = NULL;
    FILE *empty = tmpfile();
    WR_ASSERT_FAILS(wr_table_reader_open_stream(empty, "stdin", &r), WR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "'stdin'"));
    fclose(empty);
    WR_ASSERT_FAILS(wr_table_reader_open_stream(NULL, "x", &r), WR_ERR_INVALID_ARG);
}
END_TEST

/* Writing through a symbolic link updates its target and keeps the link. */
START_TEST(test_writer_symlink)
{
    const char *target = tmp_path("target.csv"), *link = tmp_path("link.csv");
    write_text(target, "old\n1\n");
    unlink(link);
    ck_assert_int_eq(symlink(target, link), 0);
    wr_table_writer *w = NULL;
    float row[3] = {1, 2, 3};
    WR_ASSERT_OK(wr_table_writer_open(link, NAMES3, 3, &w));
    WR_ASSERT_OK(wr_table_writer_write_float(w, row, 1));
    WR_ASSERT_OK(wr_table_writer_close(w));
    struct stat sb;
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    float *all = NULL;
    size_t n = 0;
    WR_ASSERT_OK(wr_table_read_float(target, NAMES3, 3, &all, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_float_eq(all[2], 3);
    wr_free(all);
    unlink(link);
    unlink(target);
}
END_TEST

START_TEST(test_reader_errors)
{
    wr_table_reader *r = (wr_table_reader *)1;
    WR_ASSERT_FAILS(wr_table_reader_open("/nonexistent-dir/x.csv", &r), WR_ERR_IO);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(wr_last_error(), "/nonexistent-dir/x.csv"));
    WR_ASSERT_FAILS(wr_table_reader_open(NULL, &r), WR_ERR_INVALID_ARG);
    WR_ASSERT_FAILS(wr_table_reader_open("x", NULL), WR_ERR_INVALID_ARG);
    size_t n;
    float f;
    WR_ASSERT_FAILS(wr_table_reader_read_float(NULL, &f, 1, &n), WR_ERR_INVALID_ARG);
    ck_assert_uint_eq(wr_table_reader_n_columns(NULL), 0);
    wr_table_reader_close(NULL);
    const char *path = tmp_path("h.csv");
    write_text(path, "a,b\n");
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    WR_ASSERT_FAILS(wr_table_reader_read_float(r, NULL, 1, &n), WR_ERR_INVALID_ARG);
    WR_ASSERT_OK(wr_table_reader_read_float(r, &f, 1, &n)); /* header only */
    ck_assert_uint_eq(n, 0);
    wr_table_reader_close(r);
    unlink(path);
}
END_TEST

/* Reading the 15 MB w_mc.csv.gz (100k rows x 41 columns) is fast. */
START_TEST(test_speed_generator_file)
{
    const char *dir = wr_test_shared_data();
    if (!dir) {
        printf("SKIPPED test_speed_generator_file: no shared data\n");
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/w_mc.csv.gz", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wr_table_reader *r = NULL;
    WR_ASSERT_OK(wr_table_reader_open(path, &r));
    size_t nc = wr_table_reader_n_columns(r), got = 0, total = 0;
    ck_assert_uint_eq(nc, 41);
    float *buf = malloc(8192 * nc * sizeof *buf);
    double v_pt_sum = 0;
    size_t j = 0;
    WR_ASSERT_OK(wr_table_reader_find(r, "v_pt", &j));
    do {
        WR_ASSERT_OK(wr_table_reader_read_float(r, buf, 8192, &got));
        for (size_t i = 0; i < got; i++) v_pt_sum += buf[i * nc + j];
        total += got;
    } while (got > 0);
    wr_table_reader_close(r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("read %s: %zu rows x %zu columns in %.3f s\n", path, total, nc, s);
    ck_assert_uint_eq(total, 100000);
    ck_assert_double_eq_tol(v_pt_sum / total, 21.0, 0.05); /* README: mean pT_V 21.0 */
    ck_assert_double_lt(s, 6.0); /* ~0.3 s measured; generous for sanitizers */
    free(buf);
}
END_TEST

static Suite *table_suite(void)
{
    Suite *s = suite_create("table");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip_plain_and_gz);
    tcase_add_test(tc, test_chunks);
    tcase_add_test(tc, test_long_line);
    tcase_add_test(tc, test_select);
    tcase_add_test(tc, test_number_parsing);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_error_sticks);
    tcase_add_test(tc, test_truncated_and_corrupt_gzip);
    tcase_add_test(tc, test_writer_errors);
    tcase_add_test(tc, test_writer_atomic);
    tcase_add_test(tc, test_streams);
    tcase_add_test(tc, test_writer_symlink);
    tcase_add_test(tc, test_reader_errors);
    tcase_add_test(tc, test_speed_generator_file);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(table_suite)
