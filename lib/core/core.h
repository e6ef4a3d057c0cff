/*
 * lib/core/core.h -- internal services shared by every module (not installed).
 *
 *   errors    wr__fail(): set the thread-local message, return the code
 *   checks    argument validation helpers that produce uniform messages
 *   alloc     overflow-checked allocation
 *   rng       seeded, splittable xoshiro256** streams
 *   bytes     little-endian writer/reader with bounds checks (model payloads)
 *   container model file format (docs/format.md): pack/unpack/save/load
 *   params    "key=value" parameter tables with bounds
 *   threads   fixed thread pool, chunked parallel-for, progress helper
 *
 * Internal symbols use the prefix wr__ and are hidden (-fvisibility=hidden).
 */
#ifndef WR_CORE_H
#define WR_CORE_H

#include "wrecoil.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define WR__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WR__PRINTF(a, b)
#endif

/* ------------------------------------------------------------- errors */
/** Sets the thread-local error message (printf format) and returns `code`. */
wr_status wr__fail(wr_status code, const char *fmt, ...) WR__PRINTF(2, 3);
/** Appends context in front of the current message: "<prefix>: <old>". */
void wr__error_prefix(const char *prefix);

/* ------------------------------------------------------------- checks */
/* Each returns WR_OK or fails with WR_ERR_INVALID_ARG naming `fn` and `arg`. */
wr_status wr__check_ptr(const char *fn, const char *arg, const void *p);
wr_status wr__check_finite_f(const char *fn, const char *arg, const float *x,
                             size_t n);
wr_status wr__check_finite_d(const char *fn, const char *arg, const double *x,
                             size_t n);
/** Weights: finite, >= 0, and not all zero. NULL weights are valid (all 1). */
wr_status wr__check_weights(const char *fn, const char *arg, const float *w,
                            size_t n);
/** Strictly increasing levels inside (0, 1). */
wr_status wr__check_levels(const char *fn, const char *arg, const double *tau,
                           size_t n);

/* -------------------------------------------------------------- alloc */
/** *out = a * b; returns false on overflow. */
bool wr__mul_size(size_t a, size_t b, size_t *out);
/** malloc(n * size) with overflow check; on failure sets the error (naming
 *  `what`) and returns NULL.  n == 0 returns a valid 1-byte allocation. */
void *wr__alloc_array(size_t n, size_t size, const char *what);
/** Same, zero-filled. */
void *wr__calloc_array(size_t n, size_t size, const char *what);

/* ---------------------------------------------------------------- rng */
/** xoshiro256** state.  Seeded from (seed, stream) through splitmix64 so
 *  that stream k of seed s is the same whatever the thread count. */
typedef struct wr__rng {
    uint64_t s[4];
} wr__rng;

void wr__rng_seed(wr__rng *r, uint64_t seed, uint64_t stream);
uint64_t wr__rng_u64(wr__rng *r);
/** Uniform in the open interval (0, 1). */
double wr__rng_uniform(wr__rng *r);

static inline uint64_t wr__rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/** One xoshiro256** step on the state s[4] (of a wr__rng, or a copy of
 *  one): what wr__rng_u64 draws, inline for loops that draw per particle
 *  or per bootstrap replica. */
static inline uint64_t wr__rng_step(uint64_t s[4])
{
    const uint64_t result = wr__rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = wr__rotl64(s[3], 45);
    return result;
}

/** The uniform of wr__rng_uniform from a 64-bit draw x: its top 53 bits,
 *  shifted by half an ulp (never 0, never 1). */
static inline double wr__rng_u01(uint64_t x)
{
    return ((double)(x >> 11) + 0.5) * 0x1.0p-53;
}
/** Uniform integer in [0, n). */
uint64_t wr__rng_below(wr__rng *r, uint64_t n);
double wr__rng_normal(wr__rng *r);
double wr__rng_exponential(wr__rng *r);
/** Poisson(mean); exact inversion for small means, PTRD-free normal
 *  approximation with continuity correction for mean > 1000. */
uint32_t wr__rng_poisson(wr__rng *r, double mean);

/* -------------------------------------------------------------- bytes */
/** Growable little-endian buffer for serialising model payloads. */
typedef struct wr__writer {
    unsigned char *data;
    size_t size, cap;
    bool failed; /* sticky: set on allocation failure */
} wr__writer;

void wr__w_init(wr__writer *w);
void wr__w_free(wr__writer *w);
void wr__w_u8(wr__writer *w, uint8_t v);
void wr__w_u32(wr__writer *w, uint32_t v);
void wr__w_u64(wr__writer *w, uint64_t v);
void wr__w_i64(wr__writer *w, int64_t v);
void wr__w_f32(wr__writer *w, float v);
void wr__w_f64(wr__writer *w, double v);
void wr__w_f32s(wr__writer *w, const float *v, size_t n);
void wr__w_f64s(wr__writer *w, const double *v, size_t n);
void wr__w_i32s(wr__writer *w, const int32_t *v, size_t n);
void wr__w_bytes(wr__writer *w, const void *v, size_t n);
/** Length-prefixed string (u32 length, bytes, no terminator). */
void wr__w_str(wr__writer *w, const char *s);
/** WR_OK or WR_ERR_NOMEM (with message) if any write failed. */
wr_status wr__w_status(const wr__writer *w);

/** Bounds-checked reader.  Any read past the end sets `failed` and returns
 *  zeros; check wr__r_status() once after a group of reads. */
typedef struct wr__reader {
    const unsigned char *data;
    size_t size, pos;
    bool failed;
} wr__reader;

void wr__r_init(wr__reader *r, const void *data, size_t size);
uint8_t wr__r_u8(wr__reader *r);
uint32_t wr__r_u32(wr__reader *r);
uint64_t wr__r_u64(wr__reader *r);
int64_t wr__r_i64(wr__reader *r);
float wr__r_f32(wr__reader *r);
double wr__r_f64(wr__reader *r);
void wr__r_f32s(wr__reader *r, float *v, size_t n);
void wr__r_f64s(wr__reader *r, double *v, size_t n);
void wr__r_i32s(wr__reader *r, int32_t *v, size_t n);
void wr__r_bytes(wr__reader *r, void *v, size_t n);
/** Reads a length-prefixed string into a new malloc'ed, NUL-terminated
 *  buffer (NULL on failure). */
char *wr__r_str(wr__reader *r);
/** Reads a u64 count and checks that count * elem_size bytes remain, so a
 *  hostile file cannot make the caller allocate without bound.  Returns 0
 *  and sets failed when it does not fit or exceeds `max`. */
size_t wr__r_count(wr__reader *r, size_t elem_size, size_t max);
/** Bytes left to read. */
size_t wr__r_left(const wr__reader *r);
/** WR_OK, or WR_ERR_FORMAT naming `what` if a read failed or (when
 *  `expect_end`) bytes are left over. */
wr_status wr__r_status(const wr__reader *r, const char *what, bool expect_end);

/* ---------------------------------------------------------- container */
/* docs/format.md.  Kinds are wr_model_kind values. */
#define WR__CONTAINER_HEADER_SIZE 48
#define WR__CONTAINER_FORMAT_VERSION 1u
/** Largest payload accepted when loading (bytes, uncompressed). */
#define WR__CONTAINER_MAX_PAYLOAD ((uint64_t)1 << 34)

/** Compresses `payload` into a new container buffer (*out, malloc'ed). */
wr_status wr__container_pack(uint32_t kind, uint32_t kind_version,
                             const void *payload, size_t size, void **out,
                             size_t *out_size);
/** Validates and decompresses a container.  Fails with WR_ERR_FORMAT (bad
 *  magic, truncated, CRC), WR_ERR_UNSUPPORTED (newer format or kind version
 *  than `max_kind_version`) or WR_ERR_WRONG_KIND.  *payload is malloc'ed. */
wr_status wr__container_unpack(const void *buf, size_t size,
                               uint32_t expected_kind,
                               uint32_t max_kind_version, void **payload,
                               size_t *payload_size, uint32_t *kind_version);
/** Writes a buffer to `path` atomically: temporary file in the same
 *  directory, fsync, rename.  A failure leaves an existing file untouched. */
wr_status wr__file_write_atomic(const char *path, const void *buf, size_t size);
/** Reads a whole file (at most `max` bytes) into a new malloc'ed buffer. */
wr_status wr__file_read_all(const char *path, size_t max, void **buf,
                            size_t *size);
/** pack + write_atomic. */
wr_status wr__container_save_file(const char *path, uint32_t kind,
                                  uint32_t kind_version, const void *payload,
                                  size_t size);
/** read_all + unpack. */
wr_status wr__container_load_file(const char *path, uint32_t expected_kind,
                                  uint32_t max_kind_version, void **payload,
                                  size_t *payload_size,
                                  uint32_t *kind_version);
/** CRC-32 (zlib's polynomial). */
uint32_t wr__crc32(const void *buf, size_t size);

/* ------------------------------------------------------------- params */
typedef enum wr__param_type {
    WR__P_INT,     /* int64_t field, bounds [lo, hi] */
    WR__P_DOUBLE,  /* double field, bounds [lo, hi], finite */
    WR__P_BOOL,    /* int field, 0/1; accepts 0/1/true/false/yes/no */
    WR__P_CHOICE,  /* int field, index into `choices` (NULL-terminated) */
    WR__P_INTLIST  /* wr__intlist field: "64,64,64", each in [lo, hi] */
} wr__param_type;

#define WR__INTLIST_MAX 16
typedef struct wr__intlist {
    int n;
    int v[WR__INTLIST_MAX];
} wr__intlist;

typedef struct wr__param_desc {
    const char *name;
    wr__param_type type;
    size_t offset;             /* offsetof(params struct, field) */
    double lo, hi;             /* bounds (inclusive) for INT/DOUBLE/INTLIST */
    const char *def;           /* default, in string form */
    const char *const *choices;/* for WR__P_CHOICE */
    const char *doc;           /* one line for --help and docs */
} wr__param_desc;

typedef struct wr__param_table {
    const char *owner; /* "forest", used in messages */
    const wr__param_desc *desc;
    size_t n;
    size_t struct_size;
} wr__param_table;

/** Fills every field of `obj` with its default. */
void wr__params_defaults(const wr__param_table *t, void *obj);
/** Sets one parameter from its string form (validated; obj unchanged on error). */
wr_status wr__params_set(const wr__param_table *t, void *obj, const char *key,
                         const char *value);
/** Sets a numeric parameter (INT, DOUBLE, BOOL, CHOICE by index). */
wr_status wr__params_set_num(const wr__param_table *t, void *obj,
                             const char *key, double value);
/** Reads a parameter in string form into buf (truncation is an error). */
wr_status wr__params_get(const wr__param_table *t, const void *obj,
                         const char *key, char *buf, size_t len);
/** Reads a numeric parameter. */
wr_status wr__params_get_num(const wr__param_table *t, const void *obj,
                             const char *key, double *value);
/** Applies "k1=v1 k2=v2" (space, comma-free separators: spaces, tabs or
 *  newlines) all-or-nothing: on error `obj` is unchanged. */
wr_status wr__params_parse(const wr__param_table *t, void *obj,
                           const char *kv);
/** Writes every parameter as one "k=v k=v" string (malloc'ed). */
char *wr__params_format(const wr__param_table *t, const void *obj);
/** Serialise parameters into a payload as their string form, so a model
 *  written by an older version stays readable when parameters are added. */
void wr__params_write(wr__writer *w, const wr__param_table *t, const void *obj);
/** Read what wr__params_write wrote; unknown keys are a format error. */
wr_status wr__params_read(wr__reader *r, const wr__param_table *t, void *obj);

/* ------------------------------------------------------------ threads */
/** Resolves a user thread count: <= 0 means "all cores". Always >= 1. */
int wr__resolve_threads(int requested);

/** Work function of a parallel-for: process items [begin, end).  `tid` is
 *  in [0, nthreads) and identifies per-thread scratch space. */
typedef void (*wr__range_fn)(void *ctx, size_t begin, size_t end, int tid);

/** A fixed pool of worker threads owned by one operation (e.g. one fit).
 *  Not shared between handles, so no global state. */
typedef struct wr__pool wr__pool;

/** Creates a pool of `nthreads` (>= 1; 1 means run in the caller). */
wr__pool *wr__pool_create(int nthreads);
void wr__pool_free(wr__pool *p);
int wr__pool_threads(const wr__pool *p);
/** Runs fn over [0, n) in chunks of `chunk` items (0 = automatic),
 *  distributed dynamically over the pool's threads plus the caller;
 *  returns when all are done.  Chunk boundaries depend only on n and chunk,
 *  never on the thread count, so per-chunk results are reproducible. */
void wr__pool_for(wr__pool *p, size_t n, size_t chunk, wr__range_fn fn,
                  void *ctx);
/** One-shot parallel-for without a persistent pool. */
void wr__parallel_for(int nthreads, size_t n, size_t chunk, wr__range_fn fn,
                      void *ctx);

/** Calls a progress callback (if any); returns WR_ERR_CANCELLED with a
 *  message when it asks to stop, else WR_OK. */
wr_status wr__progress(wr_progress_fn fn, void *user, const char *stage,
                       int64_t step, int64_t total, double m1, double m2);

/* --------------------------------------------------------------- misc */
static inline double wr__wrap_angle(double a)
{
    /* to (-pi, pi] */
    const double pi = 3.14159265358979323846, twopi = 2.0 * pi;
    if (a > pi || a <= -pi) {
        a = a - twopi * __builtin_floor((a + pi) / twopi);
        if (a <= -pi) a += twopi;
        if (a > pi) a -= twopi;
    }
    return a;
}

#endif /* WR_CORE_H */
