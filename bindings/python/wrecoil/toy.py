"""Toy: the built-in W and Z toy simulation (wr_toy, docs/toy.md)."""

import collections
import ctypes

import numpy as np

from . import _lib
from ._lib import (HANDLE, STATUS, POINTER, c_char_p, c_int, c_int64, c_size_t, c_void_p,
                   f64p, i64p)
from ._model import format_params, parse_value

__all__ = ["Toy", "Particles", "table_columns", "truth_columns"]

Particles = collections.namedtuple("Particles", "offsets pt eta phi charge vtx truth")
Particles.__doc__ = """Particle-level events: particles of event i are
[offsets[i], offsets[i+1]) of pt, eta, phi (float32), charge, vtx (int32);
truth (n, len(truth_columns())) float64.  Feed to wrecoil.recoil_features."""

_create = _lib.fn("wr_toy_create", STATUS, [c_char_p, c_char_p, POINTER(HANDLE)])
_free = _lib.fn("wr_toy_free", None, [HANDLE])
_process = _lib.fn("wr_toy_process", c_char_p, [HANDLE])
_set_preset = _lib.fn("wr_toy_set_preset", STATUS, [HANDLE, c_char_p])
_set_params = _lib.fn("wr_toy_set_params", STATUS, [HANDLE, c_char_p])
_get_param = _lib.fn("wr_toy_get_param", STATUS, [HANDLE, c_char_p, c_char_p, c_size_t])
_params_string = _lib.fn("wr_toy_params_string", STATUS, [HANDLE, POINTER(c_void_p)])
_set_progress = _lib.fn("wr_toy_set_progress", None, [HANDLE, _lib.PROGRESS_FN, c_void_p])
_table_ncols = _lib.fn("wr_toy_table_ncols", c_size_t, [])
_table_colname = _lib.fn("wr_toy_table_colname", c_char_p, [c_size_t])
_truth_ncols = _lib.fn("wr_toy_truth_ncols", c_size_t, [])
_truth_colname = _lib.fn("wr_toy_truth_colname", c_char_p, [c_size_t])
_table = _lib.fn("wr_toy_table", STATUS, [HANDLE, ctypes.c_uint64, c_int64, c_size_t, c_int,
                                          f64p])
_particles = _lib.fn("wr_toy_particles", STATUS,
                     [HANDLE, ctypes.c_uint64, c_int64, c_size_t, c_int, i64p,
                      POINTER(c_void_p), POINTER(c_void_p), POINTER(c_void_p), POINTER(c_void_p),
                      POINTER(c_void_p), f64p])
_gen_density = _lib.fn("wr_toy_gen_density", STATUS, [HANDLE, c_size_t, f64p, f64p, f64p])
_gen_weight = _lib.fn("wr_toy_gen_weight", STATUS, [HANDLE, HANDLE, c_size_t, f64p, f64p, f64p])
_gen_weight_preset = _lib.fn("wr_toy_gen_weight_preset", STATUS,
                             [HANDLE, c_char_p, c_size_t, f64p, f64p, f64p])


def table_columns():
    """Names of the 41 columns of Toy.table (same as the generator samples)."""
    return tuple(_table_colname(i).decode() for i in range(_table_ncols()))


def truth_columns():
    """Names of the 18 truth columns of Toy.particles."""
    return tuple(_truth_colname(i).decode() for i in range(_truth_ncols()))


from .events import take_array as _take  # noqa: E402


def _take_array(p, n, dtype):
    return _take(p, (n,), dtype)


def _check_seed(seed, first, n):
    seed, first, n = int(seed), int(first), int(n)
    if not 0 <= seed < 2 ** 64:
        raise ValueError("seed: must be in [0, 2**64)")
    if n < 0:
        raise ValueError("n: must be >= 0")
    if first < 0:
        raise ValueError("first: must be >= 0")
    return seed, first, n


class Toy(_lib.Handle):
    """Fast parametric simulation of W -> mu nu and Z -> mu mu events with a
    particle-level hadronic recoil (docs/toy.md).

    >>> toy = Toy("W", "mc", mean_pileup=30)
    >>> t = toy.table(seed=1, n=10000)            # (n, 41) float64
    >>> p = toy.particles(seed=1, n=100)          # Particles for recoil_features

    Event ``ev`` of a ``seed`` is the same whatever the threads or the
    window [first, first + n) it is generated in.  A Toy pickles as its
    process and knobs (so it can be shipped to Dask workers).
    """

    _free_fn = staticmethod(_free)

    def __init__(self, process="W", preset="mc", **params):
        h = HANDLE()
        _create(_lib.cstr(process), _lib.cstr(preset), ctypes.byref(h))
        self._set_handle(h)
        self.set_params(params)

    def __reduce__(self):
        return (_rebuild_toy, (self.process, self.params_string()))

    def __repr__(self):
        return "<Toy %s>" % (self.process if not self.closed else "(closed)")

    @property
    def process(self):
        return _process(self._h).decode()

    def set_preset(self, preset):
        """Resets every knob to the preset "mc" or "data"."""
        _set_preset(self._h, _lib.cstr(preset))
        return self

    def set_params(self, params=None, **kw):
        """Sets knobs all or nothing (names in docs/toy.md)."""
        s = format_params(params, **kw)
        if s:
            _set_params(self._h, s.encode())
        return self

    def get_param(self, key):
        buf = ctypes.create_string_buffer(512)
        _get_param(self._h, _lib.cstr(key), buf, 512)
        return buf.value.decode()

    def params_string(self):
        """Every knob as "key=value ..." (feeds set_params back)."""
        p = c_void_p()
        _params_string(self._h, ctypes.byref(p))
        addr = p.value
        try:
            return ctypes.string_at(addr).decode() if addr else ""
        finally:
            _lib._wr_free(addr)

    def get_params(self):
        """Every knob as a dict (numbers parsed)."""
        out = {}
        for item in self.params_string().split():
            k, _, v = item.partition("=")
            out[k] = parse_value(v)
        return out

    def _with_progress(self, progress, call):
        if progress is None:
            return call()
        prog = _lib.progress(progress)
        _set_progress(self._h, prog.c_fn, None)
        try:
            try:
                result = call()
            finally:
                if not self.closed:
                    _set_progress(self._h, _lib.PROGRESS_FN(), None)
        except _lib.Error as e:
            if e.code == _lib.Status.CANCELLED and prog.exc is not None:
                prog.reraise()
            raise
        prog.reraise()
        return result

    def table(self, seed=1, n=1000, first=0, nthreads=0, as_frame=False, progress=None):
        """Events [first, first + n) of ``seed`` as the event-level table:
        (n, 41) float64 with :func:`table_columns` (a pandas DataFrame with
        ``as_frame=True``).  ``progress(stage, done, total, m1, m2)`` may
        cancel by returning True."""
        seed, first, n = _check_seed(seed, first, n)
        h = self._h
        out = _lib.empty((n, int(_table_ncols())), np.float64)
        self._with_progress(progress, lambda: _table(h, seed, first, n, int(nthreads),
                                                     _lib.ptr(out)))
        if as_frame:
            import pandas as pd
            return pd.DataFrame(out, columns=list(table_columns()))
        return out

    def particles(self, seed=1, n=100, first=0, nthreads=0, progress=None):
        """The same events at particle level: a :class:`Particles`."""
        seed, first, n = _check_seed(seed, first, n)
        h = self._h
        off = _lib.empty(n + 1, np.int64)
        truth = _lib.empty((n, int(_truth_ncols())), np.float64)
        ptrs = [c_void_p() for _ in range(5)]
        try:
            self._with_progress(progress, lambda: _particles(
                h, seed, first, n, int(nthreads), _lib.ptr(off),
                *[ctypes.byref(p) for p in ptrs], _lib.ptr(truth)))
        except BaseException:
            for p in ptrs:
                _lib._wr_free(p.value)
            raise
        m = int(off[-1])
        try:
            pt, eta, phi = [_take_array(p, m, np.float32) for p in ptrs[:3]]
            charge, vtx = [_take_array(p, m, np.int32) for p in ptrs[3:]]
        finally:
            for p in ptrs:          # whatever was not taken yet (after a MemoryError)
                if p.value:
                    _lib._wr_free(p.value)
                    p.value = None
        return Particles(off, pt, eta, phi, charge, vtx, truth)

    def gen_density(self, pt, pl):
        """Generator-level density p(pT, pL) (GeV^-2)."""
        pt = _lib.as_array(pt, np.float64, ndim=1, name="pt")
        pl = _lib.as_array(pl, np.float64, shape=pt.shape, name="pl")
        out = _lib.empty(pt.shape[0], np.float64)
        _gen_density(self._h, pt.shape[0], _lib.ptr(pt), _lib.ptr(pl), _lib.ptr(out))
        return out

    def gen_weight(self, to, pt, pl):
        """Weights p_to / p_self of bosons (pT, pL): ``to`` is another Toy of
        the same process or a preset name ("mc", "data")."""
        pt = _lib.as_array(pt, np.float64, ndim=1, name="pt")
        pl = _lib.as_array(pl, np.float64, shape=pt.shape, name="pl")
        out = _lib.empty(pt.shape[0], np.float64)
        if isinstance(to, Toy):
            _gen_weight(self._h, to._h, pt.shape[0], _lib.ptr(pt), _lib.ptr(pl), _lib.ptr(out))
        else:
            _gen_weight_preset(self._h, _lib.cstr(to), pt.shape[0], _lib.ptr(pt), _lib.ptr(pl),
                               _lib.ptr(out))
        return out


def _rebuild_toy(process, params):
    t = Toy(process)
    if params:
        _set_params(t._h, params.encode())
    return t
