"""Common machinery of the model classes (QuantileForest, Regressor,
Morpher, TemplateFit): parameters as keyword arguments, progress callbacks,
save/load, to_bytes/from_bytes and pickling through the model container.

Each subclass names its C prefix (``_prefix = "wr_qforest"``) and calls
:func:`declare_model` once at import; the C functions
``<prefix>_set_params``, ``_get_param``, ``_save``, ``_to_bytes``, ``_load``,
``_from_bytes``, ``_free`` and ``_set_progress`` are then declared through
``wrecoil._lib.fn`` (each exactly once).
"""

import ctypes
import math
import numbers
import os

import numpy as np

from . import _lib
from ._lib import (HANDLE, STATUS, Error, Status, c_char_p, c_size_t, c_void_p,
                   POINTER)

__all__ = ["Model", "declare_model", "format_params", "parse_value"]


def _format_value(key, v):
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return "1" if v else "0"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        v = float(v)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(_format_value(key, x) for x in v)
    if isinstance(v, str):
        return v
    raise TypeError("parameter %r: unsupported value type %s" % (key, type(v).__name__))


def format_params(params=None, **kw):
    """``{"rounds": 200, "hidden": (64, 64)}`` -> ``"rounds=200 hidden=64,64"``.

    Booleans become 1/0, sequences comma-separated lists, floats their
    shortest round-tripping form.  Keys and values must not contain blanks,
    ``=`` or NUL (``ValueError``)."""
    items = dict(params or {})
    items.update(kw)
    out = []
    for k, v in items.items():
        if not isinstance(k, str) or not k or any(c in k for c in " \t\n=\0"):
            raise ValueError("bad parameter name %r" % (k,))
        s = _format_value(k, v)
        if not s or any(c in s for c in " \t\n=\0"):
            raise ValueError("parameter %r: bad value %r" % (k, s))
        out.append("%s=%s" % (k, s))
    return " ".join(out)


def parse_value(s):
    """A parameter read back from C: int, float, or the string itself."""
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def declare_model(cls, kind, const_getter=True):
    """Declares the C functions shared by every model handle of ``cls``."""
    p = cls._prefix
    cls._kind = kind
    cls._free_fn = staticmethod(_lib.fn(p + "_free", None, [HANDLE]))
    cls._c_set_params = staticmethod(_lib.fn(p + "_set_params", STATUS, [HANDLE, c_char_p]))
    cls._c_get_param = staticmethod(_lib.fn(p + "_get_param", STATUS,
                                            [HANDLE, c_char_p, c_char_p, c_size_t]))
    cls._c_save = staticmethod(_lib.fn(p + "_save", STATUS, [HANDLE, c_char_p]))
    cls._c_to_bytes = staticmethod(_lib.fn(p + "_to_bytes", STATUS,
                                           [HANDLE, POINTER(c_void_p), POINTER(c_size_t)]))
    cls._c_load = staticmethod(_lib.fn(p + "_load", STATUS, [c_char_p, POINTER(HANDLE)]))
    cls._c_from_bytes = staticmethod(_lib.fn(p + "_from_bytes", STATUS,
                                             [c_void_p, c_size_t, POINTER(HANDLE)]))
    cls._c_set_progress = staticmethod(_lib.fn(p + "_set_progress", None,
                                               [HANDLE, _lib.PROGRESS_FN, c_void_p]))
    return cls


def _rebuild(cls, data):
    return cls.from_bytes(data)


def _rebuild_unfitted(cls, args, params, extra):
    obj = cls(*args)
    if params:
        obj._c_set_params(obj._h, params.encode())
    obj._restore_extra(extra)
    return obj


class Model(_lib.Handle):
    """Base of the model classes.  Subclasses define ``_prefix``,
    ``_param_names`` (the documented parameter keys, for :meth:`get_params`)
    and ``is_fitted``."""

    _prefix = None
    _kind = None
    _param_names = ()

    # ------------------------------------------------------------ params
    def set_params(self, params=None, **kw):
        """Sets parameters, all or nothing: ``m.set_params(rounds=200)`` or
        ``m.set_params({"rounds": 200})``.  Values may be numbers, booleans,
        strings or sequences (comma lists).  An unknown key or a bad value
        raises :class:`wrecoil.Error` (``WR_ERR_INVALID_ARG``) and changes
        nothing.  Returns ``self``."""
        s = format_params(params, **kw)
        if s:
            self._c_set_params(self._h, s.encode())
        return self

    def get_param(self, key):
        """One parameter as the C library formats it (a string)."""
        key = _lib.cstr(key)
        size = 512
        while True:
            buf = ctypes.create_string_buffer(size)
            try:
                self._c_get_param(self._h, key, buf, size)
                return buf.value.decode()
            except Error as e:
                if size < (1 << 20) and ("small" in e.message or "trunc" in e.message
                                         or "buffer" in e.message):
                    size *= 16
                    continue
                raise

    def _param_items(self):
        """(key, string value) of the documented parameters this library
        knows (an older library may lack some)."""
        out = []
        for k in self._param_names:
            try:
                out.append((k, self.get_param(k)))
            except Error as e:
                if e.code != Status.INVALID_ARG:
                    raise
        return out

    def get_params(self, deep=True):
        """The documented parameters as a dict (numbers parsed)."""
        return {k: parse_value(v) for k, v in self._param_items()}

    # --------------------------------------------------------- progress
    def _run_with_progress(self, callback, call):
        """Runs ``call()`` with ``callback`` installed as the handle's C
        progress callback; removes it afterwards and re-raises an exception
        the callback raised."""
        if callback is None:
            return call()
        prog = _lib.progress(callback)  # keeps the CFUNCTYPE alive during the call
        self._c_set_progress(self._h, prog.c_fn, None)
        try:
            try:
                result = call()
            finally:
                if not self.closed:
                    self._c_set_progress(self._h, _lib.PROGRESS_FN(), None)
        except Error as e:
            if e.code == Status.CANCELLED and prog.exc is not None:
                prog.reraise()
            raise
        prog.reraise()
        return result

    # ------------------------------------------------------- persistence
    def to_bytes(self):
        """The model as ``bytes`` in the model container format
        (docs/format.md), e.g. to ship it to another process."""
        buf = c_void_p()
        size = c_size_t()
        self._c_to_bytes(self._h, ctypes.byref(buf), ctypes.byref(size))
        return _lib.take_buffer(buf, size)

    @classmethod
    def from_bytes(cls, data):
        """A new object from :meth:`to_bytes` output (or any bytes-like
        object).  Corrupt data raises :class:`wrecoil.Error`
        (``WR_ERR_FORMAT``), another model kind ``WR_ERR_WRONG_KIND``."""
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B").tobytes()
        h = HANDLE()
        cls._c_from_bytes(data, len(data), ctypes.byref(h))
        return cls._wrap(h)

    def save(self, path):
        """Saves the model to ``path`` (written atomically)."""
        self._c_save(self._h, _lib.cpath(path))

    @classmethod
    def load(cls, path):
        """Loads a model saved with :meth:`save` into a new object."""
        h = HANDLE()
        cls._c_load(_lib.cpath(path), ctypes.byref(h))
        return cls._wrap(h)

    def __reduce__(self):
        # Pickling goes through the model container: the bytes carry the
        # parameters and the fitted model.  An unfitted model (which the
        # container cannot hold) pickles as its constructor arguments and
        # parameters.
        if self._always_bytes or self.is_fitted:
            return (_rebuild, (self.__class__, self.to_bytes()))
        params = " ".join("%s=%s" % kv for kv in self._param_items())
        return (_rebuild_unfitted, (self.__class__, self._init_args(), params,
                                    self._extra_state()))

    _always_bytes = False

    def _init_args(self):
        return ()

    def _extra_state(self):
        return None

    def _restore_extra(self, extra):
        pass

    def __copy__(self):
        # a new C handle (two Python objects never share one)
        f, args = self.__reduce__()
        return f(*args)

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __repr__(self):
        if self.closed:
            return "<%s (closed)>" % type(self).__name__
        return "<%s%s>" % (type(self).__name__, self._repr_extra())

    def _repr_extra(self):
        return ""


def check_rows(name, a, n):
    if a.shape[0] != n:
        raise ValueError("%s: %d rows, expected %d" % (name, a.shape[0], n))


def as_2d_f32(X, name="X", d=None):
    """Feature matrix: 2-D float32 C-contiguous (a 1-D array is one column
    only when d == 1)."""
    X = _lib.as_array(X, np.float32, name=name)
    if X.ndim == 1 and d == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ValueError("%s: expected 2 dimensions (n, d), got shape %s" % (name, X.shape))
    if d is not None and X.shape[1] != d:
        raise ValueError("%s: expected %d columns, got %d" % (name, d, X.shape[1]))
    return X


def as_1d(a, dtype, name, n=None):
    a = _lib.as_array(a, dtype, ndim=1, name=name)
    if n is not None:
        check_rows(name, a, n)
    return a


def split_eval_set(eval_set):
    """``(X_val, y_val)`` or ``(X_val, y_val, w_val)`` or None."""
    if eval_set is None:
        return None, None, None
    if not isinstance(eval_set, (tuple, list)) or len(eval_set) not in (2, 3):
        raise ValueError("eval_set: expected (X_val, y_val) or (X_val, y_val, w_val)")
    return (tuple(eval_set) + (None,))[:3]


def fit_arrays(X, y, sample_weight, eval_set, y_name):
    """Checked fit inputs of a supervised model: features ``X`` (n, d),
    target ``y`` (n,) named ``y_name``, weights (n,) or None and the
    optional ``eval_set``.  Returns ``(X, n, d, y, w, X_val, n_val, y_val,
    w_val)``: float32 arrays (None where absent), n_val 0 without eval_set."""
    X = as_2d_f32(X)
    n, d = X.shape
    y = as_1d(y, np.float32, y_name, n)
    w = None if sample_weight is None else as_1d(sample_weight, np.float32, "sample_weight", n)
    Xv, yv, wv = split_eval_set(eval_set)
    nv = 0
    if Xv is not None:
        Xv = as_2d_f32(Xv, "X_val", d)
        nv = Xv.shape[0]
        yv = as_1d(yv, np.float32, y_name + "_val", nv)
        wv = None if wv is None else as_1d(wv, np.float32, "w_val", nv)
    return X, n, d, y, w, Xv, nv, yv, wv


def fspath_ok(p):
    return isinstance(p, (str, bytes, os.PathLike))
