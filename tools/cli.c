/* tools/cli.c -- options, progress bars, messages, math helpers. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_quiet = 0;

/* ------------------------------------------------------------- options */
void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "%s\n\n%s\n\nOptions:\n", cmd->usage, cmd->summary);
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const cli_opt *o = &cmd->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(f, "  %-24s %s\n", left, o->help);
    }
    fprintf(f, "  %-24s %s\n", "--quiet", "no progress bars or notes on stderr");
    fprintf(f, "  %-24s %s\n", "--help", "this help");
    if (cmd->details) fprintf(f, "\n%s\n", cmd->details);
}

static int set_value(const cli_cmd *cmd, const cli_opt *o, const char *v)
{
    char *end;
    errno = 0;
    if (o->type == OPT_STR) {
        *(const char **)o->ptr = v;
    } else if (o->type == OPT_INT) {
        long x = strtol(v, &end, 10);
        if (end == v || *end || errno)
            return -cli_fail(cmd->name, "--%s: '%s' is not an integer", o->name, v);
        *(long *)o->ptr = x;
    } else if (o->type == OPT_DBL) {
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x))
            return -cli_fail(cmd->name, "--%s: '%s' is not a number", o->name, v);
        *(double *)o->ptr = x;
    }
    return 0;
}

static const cli_opt *find_opt(const cli_cmd *cmd, const char *name, size_t len)
{
    for (size_t i = 0; i < cmd->n_opts; i++)
        if (strlen(cmd->opts[i].name) == len && !strncmp(cmd->opts[i].name, name, len))
            return &cmd->opts[i];
    return NULL;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_help(cmd, stdout);
            return 1;
        }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            cli_quiet = 1;
            continue;
        }
        if (strncmp(a, "--", 2) && cmd->pos && !*cmd->pos) {
            *cmd->pos = a;
            continue;
        }
        if (strncmp(a, "--", 2)) {
            cli_fail(cmd->name, "unexpected argument '%s' (see wrecoil %s --help)", a,
                     cmd->name);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = find_opt(cmd, name, len);
        if (!o) {
            cli_fail(cmd->name, "unknown option '%.*s' (see wrecoil %s --help)",
                     (int)len + 2, a, cmd->name);
            return -1;
        }
        if (o->type == OPT_FLAG) {
            if (eq) {
                cli_fail(cmd->name, "--%s takes no value", o->name);
                return -1;
            }
            *(int *)o->ptr = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            cli_fail(cmd->name, "--%s needs a value (%s)", o->name, o->arg);
            return -1;
        }
        if (set_value(cmd, o, v)) return -1;
    }
    return 0;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "\nwrecoil %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_wr(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cli_fail(cmd, "%s: %s", msg, wr_last_error());
}

int cli_need(const char *cmd, const char *opt, const char *value)
{
    if (value && *value) return 0;
    return cli_fail(cmd, "--%s is required (see wrecoil %s --help)", opt, cmd);
}

/* ------------------------------------------------------------ progress */
double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_note(const char *fmt, ...)
{
    if (cli_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_progress(void *label, const char *stage, int64_t step, int64_t total,
                 double m1, double m2)
{
    static int last_quarter = -1;
    static double last_draw = 0;
    static const char *last_label = NULL;
    if (cli_quiet) return 0;
    const char *lab = label ? (const char *)label : stage;
    if (lab != last_label) last_quarter = -1, last_label = lab;
    int tty = isatty(2);
    double frac = total > 0 ? (double)step / (double)total : 0.0;
    if (frac > 1) frac = 1;
    if (!tty) {
        int q = (int)(frac * 4);
        if (total <= 0 || q == last_quarter) return 0;
        last_quarter = q;
        fprintf(stderr, "  %-28s %3.0f%%\n", lab, 100 * frac);
        return 0;
    }
    double now = cli_now();
    if (step != total && now - last_draw < 0.1) return 0;
    last_draw = now;
    char bar[31];
    int filled = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
    bar[30] = 0;
    char extra[64] = "";
    if (isfinite(m1) && isfinite(m2))
        snprintf(extra, sizeof extra, "  %.4g / %.4g", m1, m2);
    else if (isfinite(m1))
        snprintf(extra, sizeof extra, "  %.4g", m1);
    if (total > 0)
        fprintf(stderr, "\r  %-28s [%s] %lld/%lld%s\033[K", lab, bar, (long long)step,
                (long long)total, extra);
    else
        fprintf(stderr, "\r  %-28s %lld%s\033[K", lab, (long long)step, extra);
    if (total > 0 && step >= total) fputc('\n', stderr);
    return 0;
}

/* ---------------------------------------------------------------- math */
int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double x, w;
} xw;

static int cmp_xw(const void *a, const void *b)
{
    return cmp_double(&((const xw *)a)->x, &((const xw *)b)->x);
}

double wquantile(const double *x, const double *w, size_t n, double p)
{
    if (!n) return NAN;
    xw *s = malloc(n * sizeof *s);
    if (!s) return NAN;
    double tot = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].x = x[i];
        s[i].w = w ? w[i] : 1.0;
        tot += s[i].w;
    }
    qsort(s, n, sizeof *s, cmp_xw);
    double target = p * tot, acc = 0, r = s[n - 1].x;
    for (size_t i = 0; i < n; i++) {
        acc += s[i].w;
        if (acc >= target) {
            r = s[i].x;
            break;
        }
    }
    free(s);
    return r;
}

long parse_list(const char *s, double *out, long max)
{
    long k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || k >= max) return -1;
        out[k++] = v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return k;
}

int parse_range(const char *s, double *lo, double *hi)
{
    char *end;
    errno = 0;
    *lo = strtod(s, &end);
    if (end == s || *end != ':' || errno) return -1;
    const char *p = end + 1;
    *hi = strtod(p, &end);
    if (end == p || *end || errno || !(*lo < *hi) || !isfinite(*lo) || !isfinite(*hi))
        return -1;
    return 0;
}
