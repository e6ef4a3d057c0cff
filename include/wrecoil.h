/*
 * wrecoil.h -- libwrecoil public API (the manual).
 *
 * libwrecoil brings the machine-learning methods of the LHC W-boson mass
 * analysis to C, C++ and Python: recoil features, a built-in toy simulation,
 * semi-parametric regression (wr_regressor), multi-quantile boosted trees
 * (wr_quantile_forest), k-conditional quantile morphing (wr_morpher) and
 * binned template fits (wr_template_fit).
 *
 * This header is the only public header; it includes the per-module sections
 * in <wrecoil/...>.  Every exported function carries WR_API and the prefix
 * wr_.  Read docs/api.md for the conventions summarised here:
 *
 * Errors.  Every fallible call returns a wr_status.  WR_OK is 0.  On failure
 *   a message naming the argument, file position or value that was wrong is
 *   available from wr_last_error() in the calling thread until the next
 *   failing call in that thread.  A failed call leaves its handle unchanged.
 *
 * Ownership.  Handles are created by wr_<kind>_create/_load and released by
 *   wr_<kind>_free; freeing NULL is a no-op.  Buffers the library allocates
 *   for the caller (wr_<kind>_to_bytes) are released with wr_free().  Arrays
 *   passed in are borrowed for the duration of the call only; the library
 *   never keeps a caller's pointer and never closes a caller's FILE*.
 *
 * Threading.  Distinct handles may be used from distinct threads freely.
 *   On one handle, the calls documented "const" (predict, apply, pdf, get
 *   parameter, save) may run concurrently from many threads once the handle
 *   is fitted; calls that change a handle (set parameter, fit, load into)
 *   must not run concurrently with any other call on that handle.
 *
 * Units and conventions.  GeV and radians; angles are wrapped to (-pi, pi].
 *   Arrays are row-major, C-contiguous; "n x d" means n rows of d values.
 */
#ifndef WRECOIL_H
#define WRECOIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- export */
#if defined(WR_BUILDING_LIBRARY) && defined(__GNUC__)
#  define WR_API __attribute__((visibility("default")))
#else
#  define WR_API
#endif

/* --------------------------------------------------------------- version */
#define WR_VERSION_MAJOR 0
#define WR_VERSION_MINOR 2
#define WR_VERSION_PATCH 0
/** Version as one number: MAJOR*10000 + MINOR*100 + PATCH. */
#define WR_VERSION_NUMBER \
    (WR_VERSION_MAJOR * 10000 + WR_VERSION_MINOR * 100 + WR_VERSION_PATCH)
#define WR_VERSION_STRING "0.2.0"

/** Runtime version of the loaded library, e.g. "0.2.0". Never NULL. */
WR_API const char *wr_version_string(void);
/** Runtime version number (see WR_VERSION_NUMBER). */
WR_API unsigned wr_version_number(void);

/* ---------------------------------------------------------------- status */
/** Result codes.  The numeric values are pinned and never change. */
typedef enum wr_status {
    WR_OK = 0,               /**< success */
    WR_ERR_INVALID_ARG = 1,  /**< NULL, out of range, NaN/Inf, mismatched size */
    WR_ERR_NOMEM = 2,        /**< allocation failed or size overflow */
    WR_ERR_IO = 3,           /**< file could not be opened, read or written */
    WR_ERR_FORMAT = 4,       /**< malformed input file or model (magic, CRC, parse) */
    WR_ERR_NOT_FITTED = 5,   /**< the handle holds no fitted model yet */
    WR_ERR_NUMERICAL = 6,    /**< a computation failed numerically */
    WR_ERR_CANCELLED = 7,    /**< a progress callback asked to stop */
    WR_ERR_UNSUPPORTED = 8,  /**< newer format version, unknown model kind */
    WR_ERR_WRONG_KIND = 9,   /**< model file of another kind than the handle */
    WR_ERR_INTERNAL = 10     /**< a bug in libwrecoil; please report it */
} wr_status;

/** Static English name of a status code ("invalid argument", ...). Never NULL. */
WR_API const char *wr_status_string(wr_status code);

/**
 * Message of the last failure in the calling thread (thread-local), e.g.
 * "wr_forest_fit: argument 'y': NaN at index 17".  Empty string when the
 * thread has seen no failure.  Valid until the next libwrecoil call in this
 * thread.  Never NULL.
 */
WR_API const char *wr_last_error(void);

/** Clears the calling thread's last error message. */
WR_API void wr_clear_error(void);

/** Releases a buffer that libwrecoil allocated for the caller. NULL is a no-op. */
WR_API void wr_free(void *ptr);

/* -------------------------------------------------------------- progress */
/**
 * Progress callback for long operations.  `stage` names the operation
 * ("forest.fit", "regressor.fit", ...), `step` counts from 1 to `total`
 * (total = 0 when unknown), `metric1`/`metric2` are operation-specific
 * (e.g. train and validation loss; NaN when not available).
 * Return 0 to continue, non-zero to cancel: the operation then fails with
 * WR_ERR_CANCELLED and leaves its handle unchanged.  Called from the thread
 * that started the operation.
 */
typedef int (*wr_progress_fn)(void *user_data, const char *stage, int64_t step,
                              int64_t total, double metric1, double metric2);

/* ---------------------------------------------------------- model files */
/** Model kinds stored in the model container (docs/format.md).  Pinned. */
typedef enum wr_model_kind {
    WR_KIND_QUANTILE_FOREST = 1,
    WR_KIND_REGRESSOR = 2,
    WR_KIND_MORPHER = 3,
    WR_KIND_TEMPLATE_FIT = 4,
    WR_KIND_RECOIL_MODEL = 5
} wr_model_kind;

/**
 * Reads the container header of a model held in memory and reports its kind
 * and the payload's format version without decoding the payload (the CRC is
 * verified).  Either output pointer may be NULL.
 */
WR_API wr_status wr_model_inspect(const void *buf, size_t size, int *kind,
                                  uint32_t *kind_version);

/** Same as wr_model_inspect for a model file. */
WR_API wr_status wr_model_inspect_file(const char *path, int *kind,
                                       uint32_t *kind_version);

/** Static name of a model kind ("quantile_forest", ...), "unknown" otherwise. */
WR_API const char *wr_model_kind_name(int kind);

#ifdef __cplusplus
}
#endif

#include "wrecoil/events.h"
#include "wrecoil/toy.h"
#include "wrecoil/forest.h"
#include "wrecoil/regressor.h"
#include "wrecoil/morph.h"
#include "wrecoil/tfit.h"

#endif /* WRECOIL_H */
