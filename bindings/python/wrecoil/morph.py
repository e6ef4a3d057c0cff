"""Morpher: k-conditional quantile morphing of simulation to data
(wr_morpher, docs/morph.md)."""

import ctypes
import math

import numpy as np

from . import _lib
from ._lib import HANDLE, STATUS, POINTER, c_char_p, c_double, c_int, c_size_t, f32p, f64p
from ._model import Model, as_1d, declare_model, format_params

__all__ = ["Morpher", "SIM", "DATA", "BOTH"]

#: forest directions of Morpher.set_forest_params
SIM, DATA, BOTH = 1, 2, 3
_DIRECTIONS = {"sim": SIM, "data": DATA, "both": BOTH}

_create = _lib.fn("wr_morpher_create", STATUS, [c_size_t, c_size_t, f64p, c_size_t,
                                                POINTER(HANDLE)])
_n_y = _lib.fn("wr_morpher_n_y", c_size_t, [HANDLE])
_n_z = _lib.fn("wr_morpher_n_z", c_size_t, [HANDLE])
_n_levels = _lib.fn("wr_morpher_n_levels", c_size_t, [HANDLE])
_levels = _lib.fn("wr_morpher_levels", STATUS, [HANDLE, f64p, c_size_t])
_is_fitted = _lib.fn("wr_morpher_is_fitted", c_int, [HANDLE])
_set_bounds = _lib.fn("wr_morpher_set_bounds", STATUS, [HANDLE, c_size_t, c_double, c_double])
_get_bounds = _lib.fn("wr_morpher_get_bounds", STATUS, [HANDLE, c_size_t, POINTER(c_double),
                                                        POINTER(c_double)])
_set_forest_params = _lib.fn("wr_morpher_set_forest_params", STATUS, [HANDLE, c_int, c_char_p])
_get_forest_params = _lib.fn("wr_morpher_get_forest_params", STATUS,
                             [HANDLE, c_int, c_char_p, c_size_t])
_fit = _lib.fn("wr_morpher_fit", STATUS, [HANDLE, f32p, f32p, f32p, c_size_t, f32p, f32p, f32p,
                                          c_size_t])
_apply = _lib.fn("wr_morpher_apply", STATUS, [HANDLE, f32p, f32p, c_size_t, f32p, f64p])


def _direction(d):
    if isinstance(d, str):
        try:
            return _DIRECTIONS[d]
        except KeyError:
            raise ValueError("direction: one of sim, data, both") from None
    return int(d)


def _bound(v):
    if isinstance(v, str):
        s = v.strip().lower().replace(" ", "")
        table = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "pi": math.pi,
                 "+pi": math.pi, "-pi": -math.pi}
        if s in table:
            return table[s]
        return float(s)
    return float(v)


class Morpher(Model):
    """Learns y' = T(y, z) so that morphed simulated y given z follows the
    data's y given z (a Knothe-Rosenblatt chain of 2N quantile forests).

    >>> m = Morpher(n_y=2, n_z=2, bounds=[(0, np.inf), (-np.pi, np.pi)],
    ...             forest_params={"rounds": 200})
    >>> m.fit(z_sim, y_sim, z_data, y_data)
    >>> y_morphed = m.apply(z_sim_test, y_sim_test)        # (n, N) float32

    ``levels``: quantile levels (None = default 21).  ``bounds``: per y
    variable (lo, hi), infinite ends allowed (strings "inf", "pi" too).
    ``forest_params``: forest parameters (dict or "k=v ..." string) for both
    directions.  Other keyword arguments are morpher parameters
    (``threads``, ``interpolation``, ``validation_fraction``, ``seed``,
    ``data_forest``: "separate" or "from_sim", the data forests continuing
    the simulation's; their own parameters then describe the learned
    difference: ``set_forest_params(..., direction="data")``).
    ``apply`` is thread-safe on a fitted morpher.
    """

    _prefix = "wr_morpher"
    _param_names = ("threads", "interpolation", "validation_fraction", "seed", "data_forest")

    def __init__(self, n_y, n_z, levels=None, bounds=None, forest_params=None, **params):
        h = HANDLE()
        if levels is None:
            _create(int(n_y), int(n_z), None, 0, ctypes.byref(h))
        else:
            lv = as_1d(levels, np.float64, "levels")
            _create(int(n_y), int(n_z), _lib.ptr(lv), lv.shape[0], ctypes.byref(h))
        self._set_handle(h)
        self.set_params(params)
        if bounds is not None:
            if len(bounds) != self.n_y:
                raise ValueError("bounds: %d pairs for n_y=%d" % (len(bounds), self.n_y))
            for j, b in enumerate(bounds):
                if b is not None:
                    self.set_bounds(j, *b)
        if forest_params is not None:
            self.set_forest_params(forest_params, BOTH)

    @property
    def n_y(self):
        return int(_n_y(self._h))

    @property
    def n_z(self):
        return int(_n_z(self._h))

    @property
    def levels(self):
        n = int(_n_levels(self._h))
        out = _lib.empty(n, np.float64)
        _levels(self._h, _lib.ptr(out), n)
        return out

    @property
    def is_fitted(self):
        return bool(_is_fitted(self._h))

    def _init_args(self):
        return (self.n_y, self.n_z, self.levels.tolist())

    def _extra_state(self):
        return {"bounds": self.bounds, "sim": self.get_forest_params(SIM),
                "data": self.get_forest_params(DATA)}

    def _restore_extra(self, extra):
        for j, b in enumerate(extra["bounds"]):
            self.set_bounds(j, *b)
        self.set_forest_params(extra["sim"], SIM)
        self.set_forest_params(extra["data"], DATA)

    def _repr_extra(self):
        return " n_y=%d n_z=%d fitted=%s" % (self.n_y, self.n_z, self.is_fitted)

    def set_bounds(self, j, lo=-math.inf, hi=math.inf):
        """Range lo <= y_j <= hi of variable ``j`` (for the next fit)."""
        _set_bounds(self._h, int(j), _bound(lo), _bound(hi))
        return self

    def get_bounds(self, j):
        lo, hi = c_double(), c_double()
        _get_bounds(self._h, int(j), ctypes.byref(lo), ctypes.byref(hi))
        return lo.value, hi.value

    @property
    def bounds(self):
        return [self.get_bounds(j) for j in range(self.n_y)]

    def set_forest_params(self, params=None, direction=BOTH, **kw):
        """Forest parameters for the forests of ``direction`` ("sim",
        "data", "both" or SIM/DATA/BOTH) at the next fit; replaces the
        previous string ("" / {} restores the defaults)."""
        d = _direction(direction)
        s = params if isinstance(params, str) else format_params(params, **kw)
        _set_forest_params(self._h, d, _lib.cstr(s))
        return self

    def get_forest_params(self, direction=SIM):
        d = _direction(direction)
        size = 1024
        while True:
            buf = ctypes.create_string_buffer(size)
            try:
                _get_forest_params(self._h, d, buf, size)
                return buf.value.decode()
            except _lib.Error:
                if size >= 1 << 20:
                    raise
                size *= 16

    def _zy(self, z, y, n_name, allow_none_z=True):
        k, N = self.n_z, self.n_y
        y = _lib.as_array(y, np.float32, name="y_" + n_name)
        if y.ndim == 1 and N == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != N:
            raise ValueError("y_%s: expected shape (n, %d), got %s" % (n_name, N, y.shape))
        n = y.shape[0]
        if k == 0 and z is None:
            return None, y, n
        z = _lib.as_array(z, np.float32, name="z_" + n_name)
        if z.ndim == 1 and k == 1:
            z = z.reshape(-1, 1)
        if z.ndim != 2 or z.shape != (n, k):
            raise ValueError("z_%s: expected shape (%d, %d), got %s" % (n_name, n, k, z.shape))
        return z, y, n

    def fit(self, z_sim, y_sim, z_data, y_data, w_sim=None, w_data=None, progress=None):
        """Fits the 2N forests on the simulation (z_sim (n, k), y_sim (n, N))
        and the data.  ``progress(stage, step, total, m1, m2)`` receives
        "morpher.fit" and the forests' "forest.fit" calls; returning True or
        raising cancels (the previous model is kept).  Returns ``self``."""
        zs, ys, ns = self._zy(z_sim, y_sim, "sim")
        zd, yd, nd = self._zy(z_data, y_data, "data")
        ws = None if w_sim is None else as_1d(w_sim, np.float32, "w_sim", ns)
        wd = None if w_data is None else as_1d(w_data, np.float32, "w_data", nd)
        self._run_with_progress(progress, lambda: _fit(
            self._h, _lib.ptr(zs), _lib.ptr(ys), _lib.ptr(ws), ns,
            _lib.ptr(zd), _lib.ptr(yd), _lib.ptr(wd), nd))
        return self

    def apply(self, z, y, return_u=False, out=None):
        """Morphs simulated events: y' (n, N) float32.  With
        ``return_u=True`` returns (y', u) with u_j = F_sim(y_j | z, y_<j)
        (float64, uniform on the simulation for a good model).  ``out``:
        float32 (n, N) C-contiguous array to write into (may be ``y``
        itself when y is float32 C-contiguous)."""
        h = self._h
        z, y, n = self._zy(z, y, "")
        if out is None:
            out = _lib.empty(y.shape, np.float32)
        elif not (isinstance(out, np.ndarray) and out.dtype == np.float32
                  and out.flags.c_contiguous and out.shape == y.shape):
            raise ValueError("out: expected a C-contiguous float32 array of shape %s" % (y.shape,))
        u = _lib.empty(y.shape, np.float64) if return_u else None
        _apply(h, _lib.ptr(z), _lib.ptr(y), n, _lib.ptr(out), _lib.ptr(u))
        return (out, u) if return_u else out

    transform = apply


declare_model(Morpher, 3)
