/*
 * examples/c/example.c -- a short tour of libwrecoil's C API.
 *
 *   cc example.c $(pkg-config --cflags --libs wrecoil) -o example
 *   ./example [model-file]
 *
 * 1. checks that the header and the loaded library agree on the version;
 * 2. computes the recoil features and regression targets of two hand-made
 *    W events (wr_recoil_features);
 * 3. writes a model file by hand, following docs/format.md only (zlib
 *    "stored" blocks and a CRC-32 written here, without zlib), and lets the
 *    library inspect it -- the format is specified well enough to be
 *    produced without the library;
 * 4. corrupts that model in the ways a file can go bad (wrong magic,
 *    truncation, a flipped payload byte, a newer container version) and shows
 *    that each is reported as an error with a message, never a crash;
 * 5. passes a bad argument to see the error convention at work.
 *
 * Exits 0 when everything behaved as documented, 1 otherwise.
 */
#include <wrecoil.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char *what)
{
    printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
    if (!ok) failures++;
}

/* ------------------------------------------------- 1. versions */
static void versions(void)
{
    printf("libwrecoil %s (header %s)\n", wr_version_string(), WR_VERSION_STRING);
    /* Same major version = same ABI (docs/abi.md); a newer minor is fine. */
    expect(wr_version_number() / 10000 == WR_VERSION_NUMBER / 10000 &&
               wr_version_number() >= WR_VERSION_NUMBER,
           "runtime library is ABI-compatible with the header");
}

/* ------------------------------------------- 2. recoil features */
static void features(void)
{
    printf("\nrecoil features of two W events\n");
    /* Event 0: three tracks from the primary vertex, one from a pileup
     * vertex, two neutral clusters.  Event 1: no primary-vertex track. */
    const int64_t offsets[3] = {0, 6, 8};
    const float pt[8] = {12.0f, 5.5f, 2.0f, 1.2f, 8.0f, 3.0f, 4.0f, 2.5f};
    const float eta[8] = {0.3f, -0.8f, 1.1f, 0.2f, -1.5f, 2.2f, 0.5f, -0.4f};
    const float phi[8] = {0.4f, 0.9f, -2.5f, 1.7f, 0.2f, -1.0f, 2.8f, 2.6f};
    const int32_t charge[8] = {1, -1, 1, -1, 0, 0, 0, 1};
    const int32_t vtx[8] = {0, 0, 0, 3, -1, -1, -1, 2};
    /* true recoil = -pT of the W, GeV */
    const float htrue[4] = {21.0f, 9.0f, -3.0f, 1.5f};
    float f[2 * WR_N_FEATURES], rec[2 * WR_N_RECOIL], tgt[4];
    uint8_t no_tk[2];
    wr_status st = wr_recoil_features(2, offsets, pt, eta, phi, charge, vtx, htrue,
                                      1, f, rec, no_tk, tgt);
    expect(st == WR_OK, "wr_recoil_features succeeds");
    if (st != WR_OK) {
        printf("    %s: %s\n", wr_status_string(st), wr_last_error());
        return;
    }
    for (int i = 0; i < 2; i++) {
        const float *fi = f + i * WR_N_FEATURES;
        printf("  event %d: h_tk %.3f GeV  phi_tk %+.3f  n_tk %.0f  n_vtx %.0f  "
               "no_tk %d  ln_e1 %+.3f  e2 %+.3f\n",
               i, fi[WR_F_H_TK], fi[WR_F_PHI_TK], fi[WR_F_N_TK], fi[WR_F_N_VTX],
               no_tk[i], tgt[2 * i], tgt[2 * i + 1]);
    }
    /* h_TK of event 0 is the vector sum of its three PV tracks. */
    double hx = 0, hy = 0;
    for (int k = 0; k < 3; k++) {
        hx += pt[k] * cos(phi[k]);
        hy += pt[k] * sin(phi[k]);
    }
    expect(fabs(f[WR_F_H_TK] - hypot(hx, hy)) < 1e-3 * hypot(hx, hy),
           "h_tk equals |sum of PV track pT vectors|");
    expect(f[WR_F_N_TK] == 3.0f, "event 0 has three TK tracks");
    expect(no_tk[0] == 0 && no_tk[1] == 1, "event 1 is flagged: no TK track");
}

/* ------------------------------------ 3. a model written by hand */
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* CRC-32, polynomial 0xEDB88320 (the zlib/PNG CRC), bit by bit. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

/* A model container (docs/format.md) around `payload`, compressed as one
 * zlib stream of "stored" deflate blocks.  Returns a malloc'ed buffer. */
static unsigned char *make_model(uint32_t kind, uint32_t kind_version,
                                 const unsigned char *payload, size_t n,
                                 size_t *out_n)
{
    size_t nblocks = n / 65535 + 1;
    size_t zn = 2 + n + 5 * nblocks + 4;
    unsigned char *b = calloc(48 + zn, 1);
    if (!b) return NULL;
    unsigned char *z = b + 48;
    size_t o = 0;
    z[o++] = 0x78; /* deflate, 32K window */
    z[o++] = 0x01; /* no dictionary, check bits: 0x7801 % 31 == 0 */
    size_t left = n, pos = 0;
    do {
        size_t len = left > 65535 ? 65535 : left;
        z[o++] = left == len ? 1 : 0; /* BFINAL, BTYPE = 00 (stored) */
        z[o++] = (unsigned char)len;
        z[o++] = (unsigned char)(len >> 8);
        z[o++] = (unsigned char)~len;
        z[o++] = (unsigned char)(~len >> 8);
        memcpy(z + o, payload + pos, len);
        o += len;
        pos += len;
        left -= len;
    } while (left > 0);
    uint32_t a = 1, s = 0; /* Adler-32 of the payload, big-endian */
    for (size_t i = 0; i < n; i++) {
        a = (a + payload[i]) % 65521u;
        s = (s + a) % 65521u;
    }
    uint32_t adler = (s << 16) | a;
    for (int i = 3; i >= 0; i--) z[o++] = (unsigned char)(adler >> (8 * i));

    static const unsigned char magic[8] = {0x89, 'W', 'R', 'C', '\r', '\n', 0x1a, '\n'};
    memcpy(b, magic, 8);
    put32(b + 8, 1);            /* container format version */
    put32(b + 12, kind);        /* model kind */
    put32(b + 16, kind_version);/* payload format version */
    put32(b + 20, 0);           /* flags */
    put64(b + 24, n);           /* payload size */
    put64(b + 32, o);           /* compressed size */
    put32(b + 40, crc32_of(payload, n));
    put32(b + 44, crc32_of(b, 44));
    *out_n = 48 + o;
    return b;
}

static void show_error(wr_status st)
{
    printf("      -> %s: %s\n", wr_status_string(st), wr_last_error());
}

static unsigned char *model = NULL;
static size_t model_n = 0;

static void container(const char *path)
{
    printf("\na model file written by hand from docs/format.md\n");
    const char text[] = "payload of a template fit, written by examples/c/example.c";
    model = make_model(WR_KIND_TEMPLATE_FIT, 1, (const unsigned char *)text,
                       sizeof text, &model_n);
    if (!model) {
        expect(0, "allocate the model");
        return;
    }
    FILE *f = fopen(path, "wb");
    int written = f && fwrite(model, 1, model_n, f) == model_n;
    if (f) written = (fclose(f) == 0) && written;
    expect(written, "model file written");
    int kind = 0;
    uint32_t kind_version = 0;
    wr_status st = wr_model_inspect_file(path, &kind, &kind_version);
    if (st != WR_OK) show_error(st);
    printf("  %s: %zu bytes, kind %d (%s), payload version %u\n", path, model_n,
           kind, wr_model_kind_name(kind), kind_version);
    expect(st == WR_OK && kind == WR_KIND_TEMPLATE_FIT && kind_version == 1,
           "wr_model_inspect_file reads it back");
    remove(path);
}

/* ----------------------------------------- 4. corrupted models */
static void corruptions(void)
{
    if (!model) return;
    printf("\ncorrupted models are errors, not crashes\n");
    unsigned char *c = malloc(model_n);
    if (!c) return;
    wr_status st;

    memcpy(c, model, model_n);
    c[1] = 'X';
    st = wr_model_inspect(c, model_n, NULL, NULL);
    expect(st == WR_ERR_FORMAT, "wrong magic");
    show_error(st);

    st = wr_model_inspect(model, model_n - 7, NULL, NULL);
    expect(st == WR_ERR_FORMAT, "truncated by 7 bytes");
    show_error(st);

    memcpy(c, model, model_n);
    c[model_n - 10] ^= 0x20; /* one bit of the stored payload */
    st = wr_model_inspect(c, model_n, NULL, NULL);
    expect(st == WR_ERR_FORMAT, "one payload bit flipped");
    show_error(st);

    memcpy(c, model, model_n);
    put32(c + 8, 2); /* a container version from the future, valid header CRC */
    put32(c + 44, crc32_of(c, 44));
    st = wr_model_inspect(c, model_n, NULL, NULL);
    expect(st == WR_ERR_UNSUPPORTED, "newer container format version");
    show_error(st);

    st = wr_model_inspect_file("/nonexistent/model.wrm", NULL, NULL);
    expect(st == WR_ERR_IO, "missing file");
    show_error(st);
    free(c);
}

/* ------------------------------------------- 5. bad arguments */
static void bad_arguments(void)
{
    printf("\nthe error convention\n");
    const int64_t offsets[2] = {0, 1};
    const float pt[1] = {NAN}, eta[1] = {0}, phi[1] = {0};
    const int32_t charge[1] = {1}, vtx[1] = {0};
    float feat[WR_N_FEATURES];
    wr_status st = wr_recoil_features(1, offsets, pt, eta, phi, charge, vtx, NULL, 1,
                                      feat, NULL, NULL, NULL);
    expect(st == WR_ERR_INVALID_ARG && strstr(wr_last_error(), "pt") != NULL,
           "a NaN pt is refused and the message names the argument");
    show_error(st);
    st = wr_recoil_features(1, NULL, pt, eta, phi, charge, vtx, NULL, 1, feat, NULL,
                            NULL, NULL);
    expect(st == WR_ERR_INVALID_ARG, "a NULL array is refused");
    show_error(st);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "wrecoil-example.wrm";
    versions();
    features();
    container(path);
    corruptions();
    bad_arguments();
    free(model);
    printf("\n%s\n", failures ? "example: FAILED" : "example: all checks passed");
    return failures ? 1 : 0;
}
