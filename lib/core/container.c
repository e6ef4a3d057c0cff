/* lib/core/container.c -- the model container (docs/format.md).
 *
 * Layout, all integers little-endian:
 *   0  magic   8 bytes  89 57 52 43 0D 0A 1A 0A  ("\x89WRC\r\n\x1a\n")
 *   8  u32     container format version (1)
 *  12  u32     model kind (wr_model_kind)
 *  16  u32     kind version (the payload's own format version)
 *  20  u32     flags (0: payload zlib-compressed)
 *  24  u64     payload size, uncompressed
 *  32  u64     payload size, compressed (bytes after the header)
 *  40  u32     CRC-32 of the uncompressed payload
 *  44  u32     CRC-32 of header bytes 0..43
 *  48  ...     zlib stream
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const unsigned char MAGIC[8] = {0x89, 'W', 'R', 'C', '\r', '\n', 0x1a, '\n'};

uint32_t wr__crc32(const void *buf, size_t size)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = buf;
    while (size > 0) {
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        crc = crc32(crc, p, chunk);
        p += chunk;
        size -= chunk;
    }
    return (uint32_t)crc;
}

WR_API const char *wr_model_kind_name(int kind)
{
    switch (kind) {
    case WR_KIND_QUANTILE_FOREST: return "quantile_forest";
    case WR_KIND_REGRESSOR: return "regressor";
    case WR_KIND_MORPHER: return "morpher";
    case WR_KIND_TEMPLATE_FIT: return "template_fit";
    case WR_KIND_RECOIL_MODEL: return "recoil_model";
    }
    return "unknown";
}

wr_status wr__container_pack(uint32_t kind, uint32_t kind_version,
                             const void *payload, size_t size, void **out,
                             size_t *out_size)
{
    if (size > WR__CONTAINER_MAX_PAYLOAD || size > ULONG_MAX)
        return wr__fail(WR_ERR_INVALID_ARG, "model payload too large (%zu bytes)",
                        size);
    uLong bound = compressBound((uLong)size);
    unsigned char *buf = wr__alloc_array((size_t)bound + WR__CONTAINER_HEADER_SIZE,
                                         1, "model container");
    if (!buf) return WR_ERR_NOMEM;
    uLongf clen = bound;
    if (compress2(buf + WR__CONTAINER_HEADER_SIZE, &clen, payload ? payload : (const void *)"",
                  (uLong)size, 6) != Z_OK) {
        free(buf);
        return wr__fail(WR_ERR_INTERNAL, "zlib compression of a model failed");
    }
    wr__writer w;
    wr__w_init(&w);
    wr__w_bytes(&w, MAGIC, 8);
    wr__w_u32(&w, WR__CONTAINER_FORMAT_VERSION);
    wr__w_u32(&w, kind);
    wr__w_u32(&w, kind_version);
    wr__w_u32(&w, 0);
    wr__w_u64(&w, size);
    wr__w_u64(&w, clen);
    wr__w_u32(&w, wr__crc32(payload, size));
    if (w.failed) {
        wr__w_free(&w);
        free(buf);
        return wr__fail(WR_ERR_NOMEM, "out of memory writing a model header");
    }
    wr__w_u32(&w, wr__crc32(w.data, 44));
    memcpy(buf, w.data, WR__CONTAINER_HEADER_SIZE);
    wr__w_free(&w);
    *out = buf;
    *out_size = WR__CONTAINER_HEADER_SIZE + (size_t)clen;
    return WR_OK;
}

typedef struct header {
    uint32_t format_version, kind, kind_version, flags;
    uint64_t size, csize;
    uint32_t crc;
} header;

static wr_status read_header(const void *buf, size_t size, header *h)
{
    if (!buf) return wr__fail(WR_ERR_INVALID_ARG, "model buffer is NULL");
    if (size < 8 || memcmp(buf, MAGIC, 8) != 0)
        return wr__fail(WR_ERR_FORMAT,
                        "not a libwrecoil model (bad magic at byte 0)");
    if (size < WR__CONTAINER_HEADER_SIZE)
        return wr__fail(WR_ERR_FORMAT,
                        "model truncated: %zu bytes, the header alone has %d",
                        size, WR__CONTAINER_HEADER_SIZE);
    wr__reader r;
    wr__r_init(&r, (const unsigned char *)buf + 8, WR__CONTAINER_HEADER_SIZE - 8);
    h->format_version = wr__r_u32(&r);
    h->kind = wr__r_u32(&r);
    h->kind_version = wr__r_u32(&r);
    h->flags = wr__r_u32(&r);
    h->size = wr__r_u64(&r);
    h->csize = wr__r_u64(&r);
    h->crc = wr__r_u32(&r);
    uint32_t hcrc = wr__r_u32(&r);
    if (hcrc != wr__crc32(buf, 44))
        return wr__fail(WR_ERR_FORMAT, "model header CRC mismatch (byte 44)");
    if (h->format_version > WR__CONTAINER_FORMAT_VERSION)
        return wr__fail(WR_ERR_UNSUPPORTED,
                        "model container format version %u is newer than this "
                        "library supports (%u); upgrade libwrecoil",
                        h->format_version, WR__CONTAINER_FORMAT_VERSION);
    if (h->format_version == 0 || h->flags != 0)
        return wr__fail(WR_ERR_FORMAT,
                        "model header has invalid version %u or flags %u",
                        h->format_version, h->flags);
    if (h->csize != size - WR__CONTAINER_HEADER_SIZE)
        return wr__fail(WR_ERR_FORMAT,
                        "model truncated or padded: header announces %llu "
                        "payload bytes, %zu present",
                        (unsigned long long)h->csize,
                        size - WR__CONTAINER_HEADER_SIZE);
    /* zlib cannot expand more than ~1032:1; a larger claim is hostile */
    if (h->size > WR__CONTAINER_MAX_PAYLOAD || h->size > h->csize * 1100 + 64)
        return wr__fail(WR_ERR_FORMAT,
                        "model header announces an implausible payload size "
                        "%llu",
                        (unsigned long long)h->size);
    return WR_OK;
}

/* Decompresses the payload after a valid header and checks its CRC.  Shared
 * by unpack and inspect so that inspecting a model is a full integrity
 * check, not only a look at the header. */
static wr_status decode_payload(const void *buf, const header *h,
                                unsigned char **payload)
{
    unsigned char *out = wr__alloc_array((size_t)h->size, 1, "model payload");
    if (!out) return WR_ERR_NOMEM;
    uLongf dlen = (uLongf)h->size;
    int zr = uncompress(out, &dlen, (const unsigned char *)buf + WR__CONTAINER_HEADER_SIZE,
                        (uLong)h->csize);
    if (zr != Z_OK || dlen != h->size) {
        free(out);
        return wr__fail(WR_ERR_FORMAT,
                        "model payload is corrupted (zlib: %s)",
                        zr == Z_OK ? "size mismatch" : zError(zr));
    }
    if (wr__crc32(out, (size_t)h->size) != h->crc) {
        free(out);
        return wr__fail(WR_ERR_FORMAT,
                        "model payload CRC mismatch (header byte 40)");
    }
    *payload = out;
    return WR_OK;
}

WR_API wr_status wr_model_inspect(const void *buf, size_t size, int *kind,
                                  uint32_t *kind_version)
{
    header h;
    wr_status st = read_header(buf, size, &h);
    if (st != WR_OK) return st;
    unsigned char *payload;
    st = decode_payload(buf, &h, &payload);
    if (st != WR_OK) return st;
    free(payload);
    if (kind) *kind = (int)h.kind;
    if (kind_version) *kind_version = h.kind_version;
    return WR_OK;
}

WR_API wr_status wr_model_inspect_file(const char *path, int *kind,
                                       uint32_t *kind_version)
{
    void *buf;
    size_t size;
    wr_status st = wr__file_read_all(path, (size_t)WR__CONTAINER_MAX_PAYLOAD, &buf, &size);
    if (st != WR_OK) return st;
    st = wr_model_inspect(buf, size, kind, kind_version);
    free(buf);
    if (st != WR_OK) wr__error_prefix(path);
    return st;
}

wr_status wr__container_unpack(const void *buf, size_t size,
                               uint32_t expected_kind,
                               uint32_t max_kind_version, void **payload,
                               size_t *payload_size, uint32_t *kind_version)
{
    header h;
    wr_status st = read_header(buf, size, &h);
    if (st != WR_OK) return st;
    if (h.kind != expected_kind)
        return wr__fail(WR_ERR_WRONG_KIND,
                        "model holds a %s (kind %u), expected a %s",
                        wr_model_kind_name((int)h.kind), h.kind,
                        wr_model_kind_name((int)expected_kind));
    if (h.kind_version > max_kind_version || h.kind_version == 0)
        return wr__fail(WR_ERR_UNSUPPORTED,
                        "%s payload version %u is not supported (this library "
                        "reads 1..%u)",
                        wr_model_kind_name((int)h.kind), h.kind_version,
                        max_kind_version);
    unsigned char *out;
    st = decode_payload(buf, &h, &out);
    if (st != WR_OK) return st;
    *payload = out;
    *payload_size = (size_t)h.size;
    if (kind_version) *kind_version = h.kind_version;
    return WR_OK;
}

wr_status wr__file_read_all(const char *path, size_t max, void **buf,
                            size_t *size)
{
    if (!path) return wr__fail(WR_ERR_INVALID_ARG, "file path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return wr__fail(WR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    unsigned char *data = malloc(cap);
    if (!data) {
        fclose(f);
        return wr__fail(WR_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(data);
                fclose(f);
                return wr__fail(WR_ERR_FORMAT, "%s: file larger than %zu bytes",
                                path, max);
            }
            size_t ncap = cap > max / 2 ? max : cap * 2;
            unsigned char *d = realloc(data, ncap);
            if (!d) {
                free(data);
                fclose(f);
                return wr__fail(WR_ERR_NOMEM, "%s: out of memory", path);
            }
            data = d;
            cap = ncap;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(data);
        return wr__fail(WR_ERR_IO, "%s: read error", path);
    }
    *buf = data;
    *size = n;
    return WR_OK;
}

wr_status wr__file_write_atomic(const char *path, const void *buf, size_t size)
{
    if (!path) return wr__fail(WR_ERR_INVALID_ARG, "file path is NULL");
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp) return wr__fail(WR_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        wr_status st = wr__fail(WR_ERR_IO, "%s: cannot create a temporary file: %s",
                                path, strerror(errno));
        free(tmp);
        return st;
    }
    const unsigned char *p = buf;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            wr_status st = wr__fail(WR_ERR_IO, "%s: write failed: %s", path,
                                    w < 0 ? strerror(errno) : "no progress");
            close(fd);
            unlink(tmp);
            free(tmp);
            return st;
        }
        p += w;
        left -= (size_t)w;
    }
    /* Files from mkstemp are 0600; models are ordinary files. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        wr_status st = wr__fail(WR_ERR_IO, "%s: cannot flush to disk: %s", path,
                                strerror(errno));
        unlink(tmp);
        free(tmp);
        return st;
    }
    if (rename(tmp, path) != 0) {
        wr_status st = wr__fail(WR_ERR_IO, "%s: cannot rename into place: %s",
                                path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return WR_OK;
}

wr_status wr__container_save_file(const char *path, uint32_t kind,
                                  uint32_t kind_version, const void *payload,
                                  size_t size)
{
    void *buf;
    size_t n;
    wr_status st = wr__container_pack(kind, kind_version, payload, size, &buf, &n);
    if (st != WR_OK) return st;
    st = wr__file_write_atomic(path, buf, n);
    free(buf);
    return st;
}

wr_status wr__container_load_file(const char *path, uint32_t expected_kind,
                                  uint32_t max_kind_version, void **payload,
                                  size_t *payload_size, uint32_t *kind_version)
{
    void *buf;
    size_t size;
    wr_status st = wr__file_read_all(path, (size_t)WR__CONTAINER_MAX_PAYLOAD, &buf, &size);
    if (st != WR_OK) return st;
    st = wr__container_unpack(buf, size, expected_kind, max_kind_version, payload,
                              payload_size, kind_version);
    free(buf);
    if (st != WR_OK) wr__error_prefix(path);
    return st;
}
