/* tools/frame.c -- in-memory tables (CSV/CSV.gz through the library) and JSON. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void frame_free(frame *f)
{
    if (!f) return;
    for (size_t j = 0; f->names && j < f->ncols; j++) free(f->names[j]);
    free(f->names);
    free(f->v);
    memset(f, 0, sizeof *f);
}

static char **copy_names(size_t k, const char *const *names)
{
    char **out = calloc(k ? k : 1, sizeof *out);
    if (!out) return NULL;
    for (size_t j = 0; j < k; j++) {
        out[j] = strdup(names[j]);
        if (!out[j]) {
            for (size_t i = 0; i < j; i++) free(out[i]);
            free(out);
            return NULL;
        }
    }
    return out;
}

int frame_make(frame *f, size_t n, size_t ncols, const char *const *names, double *values)
{
    memset(f, 0, sizeof *f);
    f->names = copy_names(ncols, names);
    if (!f->names) return 1;
    f->n = n;
    f->ncols = ncols;
    f->v = values;
    return 0;
}

static int read_rows(const char *cmd, wr_table_reader *r, const char *path, frame *f)
{
    size_t cap = 4096, k = f->ncols;
    f->v = malloc(cap * k * sizeof *f->v);
    if (!f->v) return cli_fail(cmd, "%s: out of memory", path);
    for (;;) {
        if (cap - f->n < 4096) {
            double *nv = realloc(f->v, 2 * cap * k * sizeof *nv);
            if (!nv) return cli_fail(cmd, "%s: out of memory", path);
            f->v = nv;
            cap *= 2;
        }
        size_t got = 0;
        if (wr_table_reader_read_double(r, f->v + f->n * k, cap - f->n, &got))
            return cli_fail_wr(cmd, "reading %s", path);
        if (!got) break;
        f->n += got;
    }
    return 0;
}

int frame_read(const char *cmd, const char *path, frame *f)
{
    memset(f, 0, sizeof *f);
    wr_table_reader *r = NULL;
    wr_status st = strcmp(path, "-") ? wr_table_reader_open(path, &r)
                                     : wr_table_reader_open_stream(stdin, "<stdin>", &r);
    if (st) return cli_fail_wr(cmd, "cannot read table '%s'", path);
    f->ncols = wr_table_reader_n_columns(r);
    f->names = calloc(f->ncols, sizeof *f->names);
    int rc = f->names ? 0 : cli_fail(cmd, "out of memory");
    for (size_t j = 0; !rc && j < f->ncols; j++)
        if (!(f->names[j] = strdup(wr_table_reader_column_name(r, j))))
            rc = cli_fail(cmd, "out of memory");
    if (!rc) rc = read_rows(cmd, r, path, f);
    wr_table_reader_close(r);
    if (rc) frame_free(f);
    return rc;
}

long frame_col(const char *cmd, const frame *f, const char *name, int need)
{
    for (size_t j = 0; j < f->ncols; j++)
        if (!strcmp(f->names[j], name)) return (long)j;
    if (need) cli_fail(cmd, "the input table has no column '%s'", name);
    return -1;
}

double *frame_column(const char *cmd, const frame *f, const char *name)
{
    long j = frame_col(cmd, f, name, 1);
    if (j < 0) return NULL;
    double *c = malloc((f->n ? f->n : 1) * sizeof *c);
    if (!c) {
        cli_fail(cmd, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++) c[i] = f->v[i * f->ncols + (size_t)j];
    return c;
}

int frame_append(const char *cmd, frame *f, size_t k, const char *const *names,
                 double *const *cols)
{
    size_t nc = f->ncols + k;
    double *v = malloc((f->n ? f->n : 1) * nc * sizeof *v);
    char **nn = realloc(f->names, nc * sizeof *nn);
    if (!v || !nn) {
        free(v);
        if (nn) f->names = nn;
        return cli_fail(cmd, "out of memory");
    }
    f->names = nn;
    for (size_t j = 0; j < k; j++) {
        long old = frame_col(cmd, f, names[j], 0);
        if (old >= 0) {
            free(v);
            return cli_fail(cmd, "column '%s' exists already in the input", names[j]);
        }
        f->names[f->ncols + j] = strdup(names[j]);
    }
    for (size_t i = 0; i < f->n; i++) {
        memcpy(v + i * nc, f->v + i * f->ncols, f->ncols * sizeof *v);
        for (size_t j = 0; j < k; j++) v[i * nc + f->ncols + j] = cols[j][i];
    }
    free(f->v);
    f->v = v;
    f->ncols = nc;
    return 0;
}

int frame_write(const char *cmd, const char *path, const frame *f)
{
    wr_table_writer *w = NULL;
    size_t len = strlen(path);
    int gz = len > 3 && !strcmp(path + len - 3, ".gz");
    wr_status st = strcmp(path, "-")
        ? wr_table_writer_open(path, (const char *const *)f->names, f->ncols, &w)
        : wr_table_writer_open_stream(stdout, "<stdout>", gz,
                                      (const char *const *)f->names, f->ncols, &w);
    if (st) return cli_fail_wr(cmd, "cannot write '%s'", path);
    if (f->n && wr_table_writer_write_double(w, f->v, f->n)) {
        cli_fail_wr(cmd, "writing '%s'", path);
        wr_table_writer_close(w);
        return 1;
    }
    if (wr_table_writer_close(w)) return cli_fail_wr(cmd, "closing '%s'", path);
    return 0;
}

/* ---------------------------------------------------------------- json */
static void json_put(json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_put(json *j, const char *fmt, ...)
{
    if (j->oom) return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int m = vsnprintf(j->s + j->len, j->cap - j->len, fmt, ap);
        va_end(ap);
        if (m < 0) {
            j->oom = 1;
            return;
        }
        if ((size_t)m < j->cap - j->len) {
            j->len += (size_t)m;
            return;
        }
        size_t nc = 2 * j->cap + (size_t)m + 64;
        char *ns = realloc(j->s, nc);
        if (!ns) {
            j->oom = 1;
            return;
        }
        j->s = ns;
        j->cap = nc;
    }
}

void json_init(json *j)
{
    memset(j, 0, sizeof *j);
    j->cap = 256;
    j->s = malloc(j->cap);
    if (!j->s) j->oom = 1;
    else j->s[0] = 0;
}

void json_free(json *j)
{
    free(j->s);
    memset(j, 0, sizeof *j);
}

static void json_key(json *j, const char *key)
{
    if (j->need_comma[j->depth]) json_put(j, ",");
    json_put(j, "\n%*s", 2 * j->depth, "");
    j->need_comma[j->depth] = 1;
    if (key) json_put(j, "\"%s\": ", key);
}

void json_obj(json *j, const char *key)
{
    if (j->depth || j->len) json_key(j, key);
    json_put(j, "{");
    if (j->depth < 63) j->depth++;
    j->need_comma[j->depth] = 0;
}

void json_arr(json *j, const char *key)
{
    json_key(j, key);
    json_put(j, "[");
    if (j->depth < 63) j->depth++;
    j->need_comma[j->depth] = 0;
}

void json_end_obj(json *j)
{
    if (j->depth) j->depth--;
    json_put(j, "\n%*s}", 2 * j->depth, "");
}

void json_end_arr(json *j)
{
    if (j->depth) j->depth--;
    json_put(j, "]");
}

static void json_val(json *j, double v)
{
    if (isfinite(v)) json_put(j, "%.10g", v);
    else json_put(j, "null");
}

void json_num(json *j, const char *key, double v)
{
    json_key(j, key);
    json_val(j, v);
}

void json_int(json *j, const char *key, long long v)
{
    json_key(j, key);
    json_put(j, "%lld", v);
}

void json_str(json *j, const char *key, const char *v)
{
    json_key(j, key);
    json_put(j, "\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') json_put(j, "\\%c", *p);
        else if ((unsigned char)*p < 0x20) json_put(j, "\\u%04x", (unsigned char)*p);
        else json_put(j, "%c", *p);
    }
    json_put(j, "\"");
}

void json_bool(json *j, const char *key, int v)
{
    json_key(j, key);
    json_put(j, v ? "true" : "false");
}

void json_nums(json *j, const char *key, const double *v, size_t n)
{
    json_key(j, key);
    json_put(j, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) json_put(j, ", ");
        json_val(j, v[i]);
    }
    json_put(j, "]");
}

int json_write(const char *cmd, const json *j, const char *path)
{
    if (j->oom) return cli_fail(cmd, "out of memory while writing JSON");
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) return cli_fail(cmd, "cannot write '%s'", path);
    int bad = fputs(j->s, f) < 0 || fputc('\n', f) < 0;
    if (f != stdout) bad |= fclose(f) != 0;
    else bad |= fflush(f) != 0;
    if (bad) return cli_fail(cmd, "writing '%s' failed", path);
    return 0;
}
