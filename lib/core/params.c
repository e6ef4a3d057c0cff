/* lib/core/params.c -- parameter tables: "key=value" strings with bounds.
 * Every module describes its parameters once in a wr__param_desc table;
 * setting, getting, parsing, formatting, defaults and serialisation all
 * come from that one description. */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wr__param_desc *find(const wr__param_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->desc[i].name, key) == 0) return &t->desc[i];
    return NULL;
}

static wr_status unknown_key(const wr__param_table *t, const char *key)
{
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < t->n && used + 2 < sizeof names; i++) {
        int k = snprintf(names + used, sizeof names - used, "%s%s",
                         i ? ", " : "", t->desc[i].name);
        if (k < 0) break;
        used += (size_t)k;
    }
    return wr__fail(WR_ERR_INVALID_ARG,
                    "%s: unknown parameter '%s' (known: %s)", t->owner, key,
                    names);
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE) return false;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return false;
    *out = v;
    return true;
}

static wr_status set_value(const wr__param_table *t, const wr__param_desc *d,
                           void *obj, const char *value)
{
    char *field = (char *)obj + d->offset;
    double v = 0.0;
    if (!value)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: parameter '%s': value is NULL",
                        t->owner, d->name);
    switch (d->type) {
    case WR__P_BOOL:
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
            *(int *)field = 0;
        else
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': '%s' is not a boolean "
                            "(0/1/true/false)",
                            t->owner, d->name, value);
        return WR_OK;
    case WR__P_CHOICE:
        for (int i = 0; d->choices[i]; i++)
            if (!strcmp(d->choices[i], value)) {
                *(int *)field = i;
                return WR_OK;
            }
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: parameter '%s': '%s' is not one of the choices",
                        t->owner, d->name, value);
    case WR__P_INTLIST: {
        wr__intlist l = {0, {0}};
        const char *p = value;
        while (*p) {
            char *end;
            errno = 0;
            long x = strtol(p, &end, 10);
            if (end == p || errno || x < d->lo || x > d->hi || l.n >= WR__INTLIST_MAX)
                return wr__fail(WR_ERR_INVALID_ARG,
                                "%s: parameter '%s': '%s' is not a list of at "
                                "most %d integers in [%g, %g]",
                                t->owner, d->name, value, WR__INTLIST_MAX,
                                d->lo, d->hi);
            l.v[l.n++] = (int)x;
            p = end;
            if (*p == ',') p++;
            else if (*p)
                return wr__fail(WR_ERR_INVALID_ARG,
                                "%s: parameter '%s': unexpected '%c' in '%s'",
                                t->owner, d->name, *p, value);
        }
        if (l.n == 0 && d->lo > 0)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': empty list", t->owner, d->name);
        *(wr__intlist *)field = l;
        return WR_OK;
    }
    case WR__P_INT:
    case WR__P_DOUBLE:
        if (!parse_double(value, &v) || !isfinite(v))
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': '%s' is not a finite number",
                            t->owner, d->name, value);
        return wr__params_set_num(t, obj, d->name, v);
    }
    return wr__fail(WR_ERR_INTERNAL, "%s: bad parameter table", t->owner);
}

void wr__params_defaults(const wr__param_table *t, void *obj)
{
    memset(obj, 0, t->struct_size);
    for (size_t i = 0; i < t->n; i++) set_value(t, &t->desc[i], obj, t->desc[i].def);
}

wr_status wr__params_set(const wr__param_table *t, void *obj, const char *key,
                         const char *value)
{
    if (!key) return wr__fail(WR_ERR_INVALID_ARG, "%s: parameter name is NULL", t->owner);
    const wr__param_desc *d = find(t, key);
    if (!d) return unknown_key(t, key);
    return set_value(t, d, obj, value);
}

wr_status wr__params_set_num(const wr__param_table *t, void *obj,
                             const char *key, double v)
{
    if (!key) return wr__fail(WR_ERR_INVALID_ARG, "%s: parameter name is NULL", t->owner);
    const wr__param_desc *d = find(t, key);
    if (!d) return unknown_key(t, key);
    char *field = (char *)obj + d->offset;
    if (!isfinite(v))
        return wr__fail(WR_ERR_INVALID_ARG, "%s: parameter '%s': value is not finite",
                        t->owner, d->name);
    switch (d->type) {
    case WR__P_INT:
        if (v != floor(v) || v < d->lo || v > d->hi)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': %g is not an integer in [%g, %g]",
                            t->owner, d->name, v, d->lo, d->hi);
        *(int64_t *)field = (int64_t)v;
        return WR_OK;
    case WR__P_DOUBLE:
        if (v < d->lo || v > d->hi)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': %g is outside [%g, %g]",
                            t->owner, d->name, v, d->lo, d->hi);
        *(double *)field = v;
        return WR_OK;
    case WR__P_BOOL:
        if (v != 0.0 && v != 1.0)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': %g is not 0 or 1", t->owner,
                            d->name, v);
        *(int *)field = (int)v;
        return WR_OK;
    case WR__P_CHOICE: {
        int n = 0;
        while (d->choices[n]) n++;
        if (v != floor(v) || v < 0 || v >= n)
            return wr__fail(WR_ERR_INVALID_ARG,
                            "%s: parameter '%s': choice index %g outside [0, %d)",
                            t->owner, d->name, v, n);
        *(int *)field = (int)v;
        return WR_OK;
    }
    case WR__P_INTLIST:
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: parameter '%s' is a list; set it as a string",
                        t->owner, d->name);
    }
    return wr__fail(WR_ERR_INTERNAL, "%s: bad parameter table", t->owner);
}

static void format_value(const wr__param_desc *d, const void *obj, char *buf,
                         size_t len)
{
    const char *field = (const char *)obj + d->offset;
    switch (d->type) {
    case WR__P_INT: snprintf(buf, len, "%lld", (long long)*(const int64_t *)field); return;
    case WR__P_DOUBLE: snprintf(buf, len, "%.17g", *(const double *)field); return;
    case WR__P_BOOL: snprintf(buf, len, "%d", *(const int *)field); return;
    case WR__P_CHOICE: snprintf(buf, len, "%s", d->choices[*(const int *)field]); return;
    case WR__P_INTLIST: {
        const wr__intlist *l = (const wr__intlist *)field;
        size_t used = 0;
        buf[0] = '\0';
        for (int i = 0; i < l->n && used < len; i++) {
            int k = snprintf(buf + used, len - used, "%s%d", i ? "," : "", l->v[i]);
            if (k < 0) break;
            used += (size_t)k;
        }
        return;
    }
    }
}

wr_status wr__params_get(const wr__param_table *t, const void *obj,
                         const char *key, char *buf, size_t len)
{
    if (!key || !buf || len == 0)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: get parameter: NULL key or buffer",
                        t->owner);
    const wr__param_desc *d = find(t, key);
    if (!d) return unknown_key(t, key);
    char tmp[256];
    format_value(d, obj, tmp, sizeof tmp);
    if (strlen(tmp) >= len)
        return wr__fail(WR_ERR_INVALID_ARG,
                        "%s: parameter '%s': buffer of %zu bytes too small",
                        t->owner, key, len);
    memcpy(buf, tmp, strlen(tmp) + 1);
    return WR_OK;
}

wr_status wr__params_get_num(const wr__param_table *t, const void *obj,
                             const char *key, double *value)
{
    if (!key || !value)
        return wr__fail(WR_ERR_INVALID_ARG, "%s: get parameter: NULL argument",
                        t->owner);
    const wr__param_desc *d = find(t, key);
    if (!d) return unknown_key(t, key);
    const char *field = (const char *)obj + d->offset;
    switch (d->type) {
    case WR__P_INT: *value = (double)*(const int64_t *)field; return WR_OK;
    case WR__P_DOUBLE: *value = *(const double *)field; return WR_OK;
    case WR__P_BOOL:
    case WR__P_CHOICE: *value = *(const int *)field; return WR_OK;
    case WR__P_INTLIST: break;
    }
    return wr__fail(WR_ERR_INVALID_ARG,
                    "%s: parameter '%s' is a list; read it as a string",
                    t->owner, key);
}

wr_status wr__params_parse(const wr__param_table *t, void *obj, const char *kv)
{
    if (!kv) return wr__fail(WR_ERR_INVALID_ARG, "%s: parameter string is NULL", t->owner);
    void *copy = malloc(t->struct_size);
    char *s = strdup(kv);
    if (!copy || !s) {
        free(copy);
        free(s);
        return wr__fail(WR_ERR_NOMEM, "out of memory");
    }
    memcpy(copy, obj, t->struct_size);
    wr_status st = WR_OK;
    char *save = NULL;
    for (char *tok = strtok_r(s, " \t\r\n", &save); tok && st == WR_OK;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) {
            st = wr__fail(WR_ERR_INVALID_ARG,
                          "%s: '%s' is not of the form key=value", t->owner, tok);
            break;
        }
        *eq = '\0';
        st = wr__params_set(t, copy, tok, eq + 1);
    }
    if (st == WR_OK) memcpy(obj, copy, t->struct_size);
    free(copy);
    free(s);
    return st;
}

char *wr__params_format(const wr__param_table *t, const void *obj)
{
    wr__writer w;
    wr__w_init(&w);
    for (size_t i = 0; i < t->n; i++) {
        char tmp[256];
        format_value(&t->desc[i], obj, tmp, sizeof tmp);
        if (i) wr__w_u8(&w, ' ');
        wr__w_bytes(&w, t->desc[i].name, strlen(t->desc[i].name));
        wr__w_u8(&w, '=');
        wr__w_bytes(&w, tmp, strlen(tmp));
    }
    wr__w_u8(&w, '\0');
    if (w.failed) {
        wr__w_free(&w);
        wr__fail(WR_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return (char *)w.data;
}

void wr__params_write(wr__writer *w, const wr__param_table *t, const void *obj)
{
    char *s = wr__params_format(t, obj);
    if (!s) {
        w->failed = true;
        return;
    }
    wr__w_str(w, s);
    free(s);
}

wr_status wr__params_read(wr__reader *r, const wr__param_table *t, void *obj)
{
    char *s = wr__r_str(r);
    if (!s) return wr__r_status(r, t->owner, false);
    wr__params_defaults(t, obj);
    wr_status st = wr__params_parse(t, obj, s);
    free(s);
    if (st != WR_OK) {
        wr__error_prefix("model parameters");
        return WR_ERR_FORMAT;
    }
    return WR_OK;
}
