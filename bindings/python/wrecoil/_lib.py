"""Low-level access to libwrecoil through ctypes: the ONE place that loads the
library, declares C functions, maps status codes to exceptions and passes
numpy arrays.  Every module of the package builds on this; nothing else
calls ``ctypes.CDLL``.

Finding the library
-------------------
The first that exists wins (``library_path()`` tells which one was used):

1. ``$WRECOIL_LIBRARY``: the path of ``libwrecoil.so`` (or ``.so.0``), or a
   directory holding it;
2. the build tree: ``<repo>/build/libwrecoil.so`` relative to this package
   (``bindings/python/wrecoil/../../../build``), so ``PYTHONPATH=bindings/python``
   works right after ``make``;
3. the system: ``ctypes.util.find_library("wrecoil")`` (ldconfig,
   ``LD_LIBRARY_PATH``), then ``libwrecoil.so.0`` through the dynamic loader,
   then the ``libdir`` that ``pkg-config wrecoil`` reports.

Declaring a C function (once, at import of the module that uses it)
-------------------------------------------------------------------
::

    from ._lib import fn, STATUS, HANDLE, f32p, f64p, c_size_t, c_int

    _create = fn("wr_qforest_create", STATUS,
                 [f64p, c_size_t, ctypes.POINTER(HANDLE)])
    _n_levels = fn("wr_qforest_n_levels", c_size_t, [HANDLE])
    _free = fn("wr_qforest_free", None, [HANDLE])

``restype=STATUS`` marks a function returning ``wr_status``: the call then
raises :class:`Error` by itself when the status is not ``WR_OK`` (through
ctypes' ``errcheck``, in the calling thread, so ``wr_last_error()`` is the
right message).  A name declared twice must have the same signature.  A
function missing from the loaded library (an older libwrecoil) does not
break the import: calling it raises :class:`Error` with code
``WR_ERR_UNSUPPORTED``.

Passing arrays
--------------
``as_array(a, dtype, ndim=..., shape=..., name=...)`` returns a C-contiguous
ndarray of exactly ``dtype`` (float32, float64, int32, int64, uint8):
the object itself when it already is one (no copy), otherwise converted
once.  Wrong ``ndim`` or ``shape`` (``None`` in ``shape`` matches any
length) raises ``ValueError`` naming the argument.  NaN/Inf are passed
through: the C library decides and reports them.  ``ptr(a)`` gives the
typed pointer for the call (``None`` -> NULL); keep ``a`` referenced until the
call returns (a local variable is enough).  ``empty(shape, dtype)`` makes an
output array.  Example::

    X = as_array(X, np.float32, ndim=2, name="X")
    out = empty((X.shape[0], n_levels), np.float32)
    _predict(self._h, ptr(X), X.shape[0], X.shape[1], ptr(out))

Buffers and strings
-------------------
``take_buffer(void_p, size)`` copies a buffer the library allocated into
``bytes`` and releases it with ``wr_free``; ``cstr(s)`` and ``cpath(p)``
encode text and ``os.PathLike`` arguments.

Handles
-------
:class:`Handle` is the base of every class wrapping an opaque ``wr_*``
handle: it frees the handle exactly once (``close()``, ``with``, or garbage
collection) and raises :class:`Error` on use after close.

Progress callbacks
------------------
``progress(callback)`` wraps a Python ``callback(stage, step, total, m1,
m2)`` as a ``wr_progress_fn``; a callback returning True (or raising)
cancels the C operation; an exception raised inside is re-raised after the
call by ``Progress.reraise()``.
"""

import ctypes
import ctypes.util
import enum
import os
import shutil
import subprocess
import threading
from ctypes import (POINTER, c_char_p, c_double, c_float, c_int, c_int32,
                    c_int64, c_size_t, c_uint, c_uint8, c_uint32, c_void_p)

import numpy as np

__all__ = [
    "Error", "Status", "lib", "library_path", "fn", "STATUS", "HANDLE",
    "f32p", "f64p", "i32p", "i64p", "u8p", "as_array", "ptr", "empty",
    "take_buffer", "cstr", "cpath", "Handle", "progress", "Progress",
    "PROGRESS_FN", "last_error", "c_char_p", "c_double", "c_float", "c_int",
    "c_int32", "c_int64", "c_size_t", "c_uint", "c_uint8", "c_uint32",
    "c_void_p", "POINTER",
]


class Status(enum.IntEnum):
    """``wr_status`` codes (include/wrecoil.h; the values never change)."""
    OK = 0
    INVALID_ARG = 1
    NOMEM = 2
    IO = 3
    FORMAT = 4
    NOT_FITTED = 5
    NUMERICAL = 6
    CANCELLED = 7
    UNSUPPORTED = 8
    WRONG_KIND = 9
    INTERNAL = 10


class Error(Exception):
    """A libwrecoil call failed.

    Attributes: ``code`` (int, a :class:`Status` value when known),
    ``status`` (the C name, e.g. ``"WR_ERR_INVALID_ARG"``), ``message``
    (``wr_last_error()`` of the failing call, naming the bad argument,
    value or file position).
    """

    __module__ = "wrecoil"  # shown as wrecoil.Error in tracebacks

    def __init__(self, code, message=""):
        self.code = int(code)
        try:
            self.status = "WR_ERR_" + Status(self.code).name if self.code else "WR_OK"
        except ValueError:
            self.status = "WR_STATUS_%d" % self.code
        self.message = message
        super().__init__("%s: %s" % (self.status, message) if message else self.status)

    def __reduce__(self):
        return (self.__class__, (self.code, self.message))


# ---------------------------------------------------------------- loading
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_BUILD_TREE = os.path.normpath(os.path.join(_PKG_DIR, "..", "..", "..", "build"))
_NAMES = ("libwrecoil.so", "libwrecoil.so.0")


def _candidates():
    env = os.environ.get("WRECOIL_LIBRARY")
    if env:
        if os.path.isdir(env):
            yield from (os.path.join(env, n) for n in _NAMES)
        else:
            yield env
        return  # an explicit choice is never silently replaced by another library
    yield from (os.path.join(_BUILD_TREE, n) for n in _NAMES)
    found = ctypes.util.find_library("wrecoil")
    if found:
        yield found
    yield "libwrecoil.so.0"
    if shutil.which("pkg-config"):
        try:
            libdir = subprocess.run(["pkg-config", "--variable=libdir", "wrecoil"],
                                    capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            libdir = ""
        if libdir:
            yield from (os.path.join(libdir, n) for n in _NAMES)


def _load():
    tried = []
    for cand in _candidates():
        if os.sep in cand and not os.path.exists(cand):
            tried.append(cand + " (missing)")
            continue
        try:
            return ctypes.CDLL(cand), cand
        except OSError as e:
            tried.append("%s (%s)" % (cand, e))
    raise ImportError(
        "libwrecoil not found; build it with `make`, install it, or set "
        "WRECOIL_LIBRARY to the path of libwrecoil.so. Tried: " + "; ".join(tried))


lib, _path = _load()


def library_path():
    """Path (or loader name) of the libwrecoil that was loaded."""
    return getattr(lib, "_name", _path) or _path


# ------------------------------------------------------------ declarations
class _StatusType:
    """Marker restype: the function returns wr_status and raises on error."""


STATUS = _StatusType()

#: an opaque handle (wr_quantile_forest *, ...)
HANDLE = c_void_p
f32p = POINTER(c_float)
f64p = POINTER(c_double)
i32p = POINTER(c_int32)
i64p = POINTER(c_int64)
u8p = POINTER(c_uint8)

_last_error = lib.wr_last_error
_last_error.restype = c_char_p
_last_error.argtypes = []


def last_error():
    """``wr_last_error()`` of the calling thread, as str."""
    return _last_error().decode("utf-8", "replace")


def _errcheck(result, func, args):
    if result != 0:
        raise Error(result, last_error())
    return result


_declared = {}
_declared_lock = threading.Lock()


def fn(name, restype, argtypes):
    """Declares the C function ``name`` once and returns it, callable.

    ``restype``: a ctypes type, ``None`` for void, or ``STATUS`` for a
    function returning ``wr_status`` (it then raises :class:`Error`).
    ``argtypes``: list of ctypes types.  Declaring the same name again with
    the same signature returns the same object; with another signature it
    raises ``TypeError`` (two modules disagreeing about the C API is a bug).
    """
    sig = (id(restype) if restype is STATUS else restype, tuple(argtypes))
    with _declared_lock:
        if name in _declared:
            prev_sig, f = _declared[name]
            if prev_sig != sig:
                raise TypeError("%s declared twice with different signatures" % name)
            return f
        try:
            f = getattr(lib, name)
        except AttributeError:
            def f(*args, _name=name):
                raise Error(Status.UNSUPPORTED,
                            "%s is not in %s (libwrecoil %s); the library is older "
                            "than these bindings" % (_name, library_path(), version()))
        else:
            if restype is STATUS:
                f.restype = c_int
                f.errcheck = _errcheck
            else:
                f.restype = restype
            f.argtypes = list(argtypes)
        _declared[name] = (sig, f)
        return f


# ------------------------------------------------------------------ arrays
_CTYPE = {
    np.dtype(np.float32): c_float,
    np.dtype(np.float64): c_double,
    np.dtype(np.int32): c_int32,
    np.dtype(np.int64): c_int64,
    np.dtype(np.uint8): c_uint8,
}


def as_array(a, dtype, ndim=None, shape=None, name="array"):
    """``a`` as a C-contiguous ndarray of ``dtype``, copied only if needed.

    ``ndim``: required number of dimensions; ``shape``: required shape, a
    tuple whose ``None`` entries match any length.  Raises ``ValueError``
    naming ``name`` on a mismatch, or when ``a`` cannot be converted (e.g.
    strings); ``TypeError`` for an unsupported ``dtype``.
    """
    dt = np.dtype(dtype)
    if dt not in _CTYPE:
        raise TypeError("as_array: unsupported dtype %s" % dt)
    if not (isinstance(a, np.ndarray) and a.dtype == dt and a.flags.c_contiguous):
        try:
            with np.errstate(invalid="ignore"):
                if isinstance(a, np.ndarray) and a.dtype.kind in "fc" and dt.kind in "iu":
                    raise ValueError("floating-point values where integers are expected")
                a = np.ascontiguousarray(a, dtype=dt)
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError("%s: cannot be converted to a %s array (%s)" % (name, dt, e)) from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError("%s: expected %d dimension(s), got %d (shape %s)"
                         % (name, ndim, a.ndim, a.shape))
    if shape is not None:
        if a.ndim != len(shape) or any(s is not None and s != g for s, g in zip(shape, a.shape)):
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
            raise ValueError("%s: expected shape %s, got %s" % (name, want, a.shape))
    return a


def ptr(a):
    """Typed ctypes pointer to the data of an array from :func:`as_array`
    (``None`` gives NULL).  The array must stay referenced during the call."""
    if a is None:
        return None
    try:
        ct = _CTYPE[a.dtype]
    except (KeyError, AttributeError):
        raise TypeError("ptr: expects an ndarray from as_array(), got %r" % type(a)) from None
    if not a.flags.c_contiguous:
        raise ValueError("ptr: array is not C-contiguous")
    return a.ctypes.data_as(POINTER(ct))


def empty(shape, dtype):
    """A new C-contiguous output array."""
    return np.empty(shape, dtype=np.dtype(dtype), order="C")


# ------------------------------------------------------- buffers, strings
_wr_free = fn("wr_free", None, [c_void_p])


def take_buffer(p, size):
    """Copies ``size`` bytes from a buffer the library allocated (``c_void_p``
    or int address) into ``bytes`` and releases it with ``wr_free``."""
    addr = p.value if isinstance(p, c_void_p) else p
    size = size.value if isinstance(size, c_size_t) else int(size)
    if not addr:
        return b""
    try:
        return ctypes.string_at(addr, size)
    finally:
        _wr_free(addr)


def cstr(s):
    """Text argument -> bytes (UTF-8); bytes pass through; None -> NULL."""
    if s is None or isinstance(s, bytes):
        return s
    if not isinstance(s, str):
        raise TypeError("expected str, got %s" % type(s).__name__)
    if "\0" in s:
        raise ValueError("string argument contains a NUL character")
    return s.encode("utf-8")


def cpath(p):
    """``str``/``bytes``/``os.PathLike`` file name -> bytes for the C call."""
    b = os.fsencode(os.fspath(p))
    if b"\0" in b:
        raise ValueError("path contains a NUL character")
    return b


# ----------------------------------------------------------------- handles
class Handle:
    """Base of the classes that own one opaque libwrecoil handle.

    A subclass binds itself to its C prefix once, after its definition::

        class QuantileForest(Handle):
            ...
        QuantileForest._bind_c("wr_qforest")

    which declares ``<prefix>_free``, ``_save``, ``_load``, ``_to_bytes``,
    ``_from_bytes``, ``_set_param``, ``_set_params`` and ``_get_param`` with
    the signatures every handle kind shares (docs/api.md), and gives the
    subclass: ``close()`` / ``with`` / garbage collection (frees exactly
    once), ``save(path)``, ``to_bytes()``, ``load(path)`` and
    ``from_bytes(data)`` (class methods), pickling through the model
    container, ``set_params("k=v k=v")`` or ``set_params(k=v, ...)`` and
    ``get_param(key)``.  ``self._h`` is the raw handle for C calls; it
    raises :class:`Error` once the object is closed.  Objects made by
    ``load``/``from_bytes``/unpickling do not run ``__init__``; they call
    ``self._after_load()``, which a subclass overrides to set up Python-side
    state.
    """

    _free_fn = None
    _c = None  # the shared functions, from _bind_c
    _hv = None

    @classmethod
    def _bind_c(cls, prefix):
        vpp = POINTER(c_void_p)
        cls._free_fn = staticmethod(fn(prefix + "_free", None, [HANDLE]))
        cls._c = {
            "save": fn(prefix + "_save", STATUS, [HANDLE, c_char_p]),
            "load": fn(prefix + "_load", STATUS, [c_char_p, vpp]),
            "to_bytes": fn(prefix + "_to_bytes", STATUS, [HANDLE, vpp, POINTER(c_size_t)]),
            "from_bytes": fn(prefix + "_from_bytes", STATUS, [c_void_p, c_size_t, vpp]),
            "set_param": fn(prefix + "_set_param", STATUS, [HANDLE, c_char_p, c_char_p]),
            "set_params": fn(prefix + "_set_params", STATUS, [HANDLE, c_char_p]),
            "get_param": fn(prefix + "_get_param", STATUS, [HANDLE, c_char_p, c_char_p, c_size_t]),
        }

    def _set_handle(self, h):
        self._hv = h.value if isinstance(h, c_void_p) else h

    @property
    def _h(self):
        if not self._hv:
            raise Error(Status.INVALID_ARG, "%s is closed" % type(self).__name__)
        return self._hv

    @property
    def closed(self):
        return not self._hv

    def close(self):
        """Releases the C handle now; further use raises :class:`Error`."""
        h, self._hv = self._hv, None
        if h and self._free_fn is not None:
            self._free_fn(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- parameters ("key=value" strings, docs/api.md)
    def set_params(self, kv=None, **params):
        """Sets parameters all-or-nothing, from ``"k=v k=v"`` and/or keywords
        (``True``/``False`` become ``1``/``0``, lists ``a,b,c``)."""
        parts = [kv] if kv else []
        for k, v in params.items():
            if isinstance(v, bool):
                v = int(v)
            elif isinstance(v, (list, tuple)):
                v = ",".join(str(x) for x in v)
            parts.append("%s=%s" % (k, v))
        if parts:
            self._c["set_params"](self._h, cstr(" ".join(parts)))
        return self

    def get_param(self, key):
        """Current value of a parameter, in its string form."""
        size = 256
        while True:
            buf = ctypes.create_string_buffer(size)
            try:
                self._c["get_param"](self._h, cstr(key), buf, size)
                return buf.value.decode()
            except Error as e:
                # a value longer than the buffer is an error; grow and retry
                # (wr__params_get: "buffer of N bytes too small")
                if e.code != Status.INVALID_ARG or "too small" not in e.message or size >= 1 << 20:
                    raise
                size *= 16

    # -- persistence (the model container, docs/format.md)
    def to_bytes(self):
        """The fitted model as ``bytes`` (a model container)."""
        buf, n = c_void_p(), c_size_t()
        self._c["to_bytes"](self._h, ctypes.byref(buf), ctypes.byref(n))
        return take_buffer(buf, n)

    def save(self, path):
        """Saves the fitted model to ``path`` (atomically)."""
        self._c["save"](self._h, cpath(path))

    @classmethod
    def _wrap(cls, h):
        obj = cls.__new__(cls)
        obj._set_handle(h)
        obj._after_load()
        return obj

    def _after_load(self):
        pass

    @classmethod
    def from_bytes(cls, data):
        """A new object from :meth:`to_bytes` output (any bytes-like)."""
        data = data if isinstance(data, bytes) else memoryview(data).cast("B").tobytes()
        h = c_void_p()
        cls._c["from_bytes"](data, len(data), ctypes.byref(h))
        return cls._wrap(h)

    @classmethod
    def load(cls, path):
        """A new object from a model file."""
        h = c_void_p()
        cls._c["load"](cpath(path), ctypes.byref(h))
        return cls._wrap(h)

    def __reduce__(self):
        return (_unpickle_handle, (type(self), self.to_bytes()))


def _unpickle_handle(cls, data):
    return cls.from_bytes(data)


# ---------------------------------------------------------------- progress
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_char_p, c_int64, c_int64, c_double, c_double)


class Progress:
    """A Python progress callback as a ``wr_progress_fn``.

    Pass ``p.c_fn`` (and ``None`` as user data) to the C setter; keep ``p``
    alive while the C side may call it.  After the C call, ``p.reraise()``
    re-raises an exception the callback raised (the C call then failed with
    WR_ERR_CANCELLED, which this exception replaces).
    """

    def __init__(self, callback):
        self.callback = callback
        self.exc = None

        def _c(user, stage, step, total, m1, m2):
            try:
                stop = callback(stage.decode() if stage else "", step, total, m1, m2)
                return 1 if stop else 0
            except BaseException as e:  # never unwind through C
                self.exc = e
                return 1

        self.c_fn = PROGRESS_FN(_c) if callback is not None else PROGRESS_FN()

    def reraise(self):
        if self.exc is not None:
            e, self.exc = self.exc, None
            raise e


def progress(callback):
    """Shorthand for :class:`Progress`."""
    return Progress(callback)


# ----------------------------------------------------------------- version
_version_string = fn("wr_version_string", c_char_p, [])
_version_number = fn("wr_version_number", c_uint, [])


def version():
    """Runtime version of the loaded libwrecoil, e.g. ``"0.2.0"``."""
    return _version_string().decode()
