"""TemplateFit: binned template fits of m_W with Breit-Wigner reweighting,
bootstrap replicas and systematic lines (wr_template_fit, docs/tfit.md)."""

import collections
import ctypes

import numpy as np

from . import _lib
from ._lib import HANDLE, STATUS, c_char_p, c_double, c_int, c_size_t, f64p, POINTER
from ._model import Model, as_1d, declare_model

__all__ = ["TemplateFit", "FitResult", "BootstrapResult", "SystResult", "HISTOGRAMS"]

c_uint64 = ctypes.c_uint64
u64p = POINTER(c_uint64)

#: histogram kinds of TemplateFit.histogram (WR_TFIT_*)
HISTOGRAMS = {"template": 0, "template_sumw2": 1, "data": 2, "data_sumw2": 3}

FitResult = collections.namedtuple("FitResult", "mass width bias_mev")
BootstrapResult = collections.namedtuple("BootstrapResult", "replica_mass mean_bias_mev spread_mev")
SystResult = collections.namedtuple("SystResult", "bias_mev bias_err_mev slope slope_err")

_create = _lib.fn("wr_tfit_create", STATUS, [f64p, c_size_t, f64p, c_size_t, POINTER(HANDLE)])
_create_uniform = _lib.fn("wr_tfit_create_uniform", STATUS,
                          [c_size_t, c_double, c_double, c_size_t, c_double, c_double,
                           POINTER(HANDLE)])
_set_mass_grid = _lib.fn("wr_tfit_set_mass_grid", STATUS, [HANDLE, f64p, c_size_t])
_n_masses = _lib.fn("wr_tfit_n_masses", c_size_t, [HANDLE])
_masses = _lib.fn("wr_tfit_masses", STATUS, [HANDLE, f64p, c_size_t])
_dim = _lib.fn("wr_tfit_dim", c_size_t, [HANDLE])
_n_bins = _lib.fn("wr_tfit_n_bins", c_size_t, [HANDLE])
_n_edges = _lib.fn("wr_tfit_n_edges", c_size_t, [HANDLE, c_int])
_edges = _lib.fn("wr_tfit_edges", STATUS, [HANDLE, c_int, f64p, c_size_t])
_bw_weights = _lib.fn("wr_tfit_bw_weights", STATUS, [HANDLE, c_double, f64p, c_size_t, f64p])
_add_templates = _lib.fn("wr_tfit_add_templates", STATUS, [HANDLE, f64p, f64p, f64p, u64p,
                                                           c_size_t])
_add_events = _lib.fn("wr_tfit_add_events", STATUS, [HANDLE, f64p, f64p, f64p, u64p, c_size_t,
                                                     f64p, c_size_t])
_add_data = _lib.fn("wr_tfit_add_data", STATUS, [HANDLE, c_size_t, f64p, f64p, u64p, c_size_t])
_set_data_histogram = _lib.fn("wr_tfit_set_data_histogram", STATUS,
                              [HANDLE, c_size_t, f64p, c_size_t])
_reset = _lib.fn("wr_tfit_reset", None, [HANDLE])
_merge = _lib.fn("wr_tfit_merge", STATUS, [HANDLE, HANDLE])
_histogram = _lib.fn("wr_tfit_histogram", STATUS, [HANDLE, c_int, c_size_t, f64p, c_size_t])
_template_at = _lib.fn("wr_tfit_template_at", STATUS, [HANDLE, c_double, f64p, c_size_t])
_fit = _lib.fn("wr_tfit_fit", STATUS, [HANDLE, c_size_t, c_double, POINTER(c_double),
                                       POINTER(c_double), POINTER(c_double)])
_result = _lib.fn("wr_tfit_result", STATUS, [HANDLE, c_char_p, POINTER(c_double)])
_scan_size = _lib.fn("wr_tfit_scan_size", c_size_t, [HANDLE])
_scan = _lib.fn("wr_tfit_scan", STATUS, [HANDLE, f64p, f64p, c_size_t])
_bootstrap = _lib.fn("wr_tfit_bootstrap", STATUS, [HANDLE, c_size_t, c_double, f64p, c_size_t,
                                                   POINTER(c_double), POINTER(c_double)])
_syst = _lib.fn("wr_tfit_syst", STATUS, [HANDLE, f64p, c_size_t, c_double, f64p, f64p,
                                         POINTER(c_double), POINTER(c_double)])

_NAN = float("nan")


def _ids(ids, n):
    if ids is None:
        return None
    a = np.asarray(ids)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.floor(a)) or np.any(a < 0):
            raise ValueError("ids: event ids must be non-negative integers")
        a = a.astype(np.uint64)
    elif a.dtype.kind == "i":
        if np.any(a < 0):
            raise ValueError("ids: event ids must be non-negative integers")
    elif a.dtype.kind not in "u":
        raise ValueError("ids: expected integers, got dtype %s" % a.dtype)
    a = np.ascontiguousarray(a, dtype=np.uint64)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError("ids: expected shape (%d,), got %s" % (n, a.shape))
    return a


class TemplateFit(Model):
    """Templates of an observable (1-D or 2-D) for a grid of W masses by
    Breit-Wigner reweighting, fitted to pseudo-data with a binned Poisson
    likelihood (docs/tfit.md).

    >>> tf = TemplateFit(np.linspace(60, 100, 41), bootstrap=50)
    >>> tf.add_templates(mt_sim, m_gen, ids=ev_sim)     # any number of chunks
    >>> tf.add_data(mt_data, ids=ev_data)
    >>> tf.fit(true_mass=80.385)    # FitResult(mass, width, bias_mev)
    >>> tf.bootstrap(true_mass=80.385).spread_mev

    ``edges_x`` (and ``edges_y`` for 2-D) are bin edges; see
    :meth:`uniform` for equal bins.  Keyword arguments are parameters
    (``mass_center``, ``mass_step``, ``mass_count``, ``ref_mass``,
    ``ref_width``, ``width``, ``width_scaling``, ``flow``, ``bootstrap``,
    ``seed``, ``data_sets``, ``bb_lite``, ``norm``, ``interp``,
    ``scan_refine``, ``parabola_window``, ``threads``).  Pickling and
    :meth:`to_bytes` keep the filled histograms; :meth:`merge` adds
    histograms filled elsewhere (e.g. by Dask workers).
    """

    _prefix = "wr_tfit"
    _always_bytes = True    # an empty template fit is saved as well
    _param_names = ("mass_center", "mass_step", "mass_count", "ref_mass", "ref_width", "width",
                    "width_scaling", "flow", "bootstrap", "seed", "data_sets", "bb_lite", "norm",
                    "interp", "scan_refine", "parabola_window", "threads")

    def __init__(self, edges_x, edges_y=None, **params):
        ex = as_1d(edges_x, np.float64, "edges_x")
        ey = None if edges_y is None else as_1d(edges_y, np.float64, "edges_y")
        h = HANDLE()
        _create(_lib.ptr(ex), ex.shape[0], _lib.ptr(ey), 0 if ey is None else ey.shape[0],
                ctypes.byref(h))
        self._set_handle(h)
        self.set_params(params)

    @classmethod
    def uniform(cls, nx, x_lo, x_hi, ny=0, y_lo=0.0, y_hi=0.0, **params):
        """``nx`` equal bins over [x_lo, x_hi) (and ``ny`` over [y_lo, y_hi)
        for 2-D)."""
        h = HANDLE()
        _create_uniform(int(nx), float(x_lo), float(x_hi), int(ny), float(y_lo), float(y_hi),
                        ctypes.byref(h))
        obj = cls._wrap(h)
        obj.set_params(params)
        return obj

    def empty_copy(self):
        """A new handle with the same binning, grid and parameters and
        empty histograms."""
        c = self.from_bytes(self.to_bytes())
        _reset(c._h)
        return c

    # ---------------------------------------------------------- layout
    @property
    def dim(self):
        return int(_dim(self._h))

    @property
    def n_bins(self):
        return int(_n_bins(self._h))

    def edges(self, axis=0):
        """Bin edges of axis 0 (x) or 1 (y)."""
        n = int(_n_edges(self._h, int(axis)))
        out = _lib.empty(n, np.float64)
        if n:
            _edges(self._h, int(axis), _lib.ptr(out), n)
        return out

    @property
    def masses(self):
        """The mass grid (GeV)."""
        n = int(_n_masses(self._h))
        out = _lib.empty(n, np.float64)
        _masses(self._h, _lib.ptr(out), n)
        return out

    def set_mass_grid(self, masses):
        """Explicit grid of >= 3 increasing masses (before any event)."""
        m = as_1d(masses, np.float64, "masses")
        _set_mass_grid(self._h, _lib.ptr(m), m.shape[0])
        return self

    @property
    def is_fitted(self):
        return self.scan_size > 0

    def _repr_extra(self):
        return " dim=%d bins=%d masses=%d" % (self.dim, self.n_bins, int(_n_masses(self._h)))

    # --------------------------------------------------------- filling
    def _x(self, x):
        d = self.dim
        x = _lib.as_array(x, np.float64, name="x")
        if x.ndim == 1 and d == 1:
            return x
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError("x: expected shape (n, %d)%s for a %d-D binning, got %s"
                             % (d, " or (n,)" if d == 1 else "", d, x.shape))
        return x

    def bw_weights(self, mass, m_gen):
        """Breit-Wigner weights that move events generated at the reference
        to the mass ``mass`` (GeV)."""
        m = as_1d(m_gen, np.float64, "m_gen")
        out = _lib.empty(m.shape[0], np.float64)
        _bw_weights(self._h, float(mass), _lib.ptr(m), m.shape[0], _lib.ptr(out))
        return out

    def add_templates(self, x, m_gen, w=None, ids=None):
        """Adds simulated events to the templates of every grid mass:
        ``x`` (n,) or (n, dim), generator masses ``m_gen`` (n,), weights
        ``w`` (n,) or None, event ``ids`` (n,) non-negative integers (needed
        with bootstrap > 0).  Returns ``self``."""
        x = self._x(x)
        n = x.shape[0]
        m = as_1d(m_gen, np.float64, "m_gen", n)
        w = None if w is None else as_1d(w, np.float64, "w", n)
        ids = _ids(ids, n)
        _add_templates(self._h, _lib.ptr(x), _lib.ptr(m), _lib.ptr(w),
                       None if ids is None else ids.ctypes.data_as(u64p), n)
        return self

    def add_events(self, x, m_gen, w=None, ids=None, w_data=None):
        """Adds simulated events to the templates (as :meth:`add_templates`)
        and, in the same pass, to data sets 0..k-1 with the weights
        ``w_data`` (n, k): one column per pseudo-data variant (e.g. BW
        weights to a true mass, or a distortion of each size).  Equivalent to
        add_templates + add_data per set, bins and bootstrap weights
        computed once."""
        x = self._x(x)
        n = x.shape[0]
        m = as_1d(m_gen, np.float64, "m_gen", n)
        w = None if w is None else as_1d(w, np.float64, "w", n)
        ids = _ids(ids, n)
        k = 0
        if w_data is not None:
            w_data = _lib.as_array(w_data, np.float64, name="w_data")
            if w_data.ndim == 1:
                w_data = w_data.reshape(-1, 1)
            if w_data.ndim != 2 or w_data.shape[0] != n:
                raise ValueError("w_data: expected shape (%d, n_sets), got %s" % (n, w_data.shape))
            k = w_data.shape[1]
        _add_events(self._h, _lib.ptr(x), _lib.ptr(m), _lib.ptr(w),
                    None if ids is None else ids.ctypes.data_as(u64p), n,
                    _lib.ptr(w_data) if k else None, k)
        return self

    def add_data(self, x, w=None, ids=None, set=0):
        """Adds pseudo-data events to data set ``set``."""
        x = self._x(x)
        n = x.shape[0]
        w = None if w is None else as_1d(w, np.float64, "w", n)
        ids = _ids(ids, n)
        _add_data(self._h, int(set), _lib.ptr(x), _lib.ptr(w),
                  None if ids is None else ids.ctypes.data_as(u64p), n)
        return self

    def set_data_histogram(self, counts, set=0):
        """Replaces data set ``set`` by a histogram of n_bins contents."""
        c = as_1d(counts, np.float64, "counts", self.n_bins)
        _set_data_histogram(self._h, int(set), _lib.ptr(c), c.shape[0])
        return self

    def reset(self):
        """Empties every histogram and the last fit (parameters kept)."""
        _reset(self._h)
        return self

    def merge(self, other):
        """Adds the histograms of ``other`` (a TemplateFit with the same
        binning, grid and filling parameters, or its bytes)."""
        if not isinstance(other, TemplateFit):
            with TemplateFit.from_bytes(other) as o:
                _merge(self._h, o._h)
            return self
        _merge(self._h, other._h)
        return self

    def histogram(self, what="template", index=0):
        """A filled histogram (n_bins,): ``what`` in "template",
        "template_sumw2" (``index`` = grid mass), "data", "data_sumw2"
        (``index`` = data set)."""
        if isinstance(what, str):
            if what not in HISTOGRAMS:
                raise ValueError("what: one of %s" % ", ".join(HISTOGRAMS))
            code = HISTOGRAMS[what]
        else:
            code = int(what)
        n = self.n_bins
        out = _lib.empty(n, np.float64)
        _histogram(self._h, code, int(index), _lib.ptr(out), n)
        return out

    def templates(self):
        """All templates (n_masses, n_bins)."""
        return np.stack([self.histogram("template", i) for i in range(len(self.masses))])

    def template_at(self, mass):
        """Template interpolated at ``mass`` as in the fit."""
        n = self.n_bins
        out = _lib.empty(n, np.float64)
        _template_at(self._h, float(mass), _lib.ptr(out), n)
        return out

    # ------------------------------------------------------------- fit
    def fit(self, set=0, true_mass=_NAN):
        """Scans -2 ln L over the grid and fits a parabola: FitResult(mass,
        width (GeV), bias_mev = 1000 (mass - true_mass))."""
        m, w, b = c_double(), c_double(), c_double()
        _fit(self._h, int(set), float(true_mass), ctypes.byref(m), ctypes.byref(w),
             ctypes.byref(b))
        return FitResult(m.value, w.value, b.value)

    def result(self, name=None):
        """A value of the last fit ("mass", "width", "bias_mev", "true_mass",
        "m2lnl_min", "norm", "n_bins", "n_parabola", "curvature"), or all of
        them as a dict when ``name`` is None."""
        names = ("mass", "width", "bias_mev", "true_mass", "m2lnl_min", "norm", "n_bins",
                 "n_parabola", "curvature")
        if name is None:
            return {k: self.result(k) for k in names}
        v = c_double()
        _result(self._h, _lib.cstr(name), ctypes.byref(v))
        return v.value

    @property
    def scan_size(self):
        return int(_scan_size(self._h))

    def scan(self):
        """(masses, -2 ln L) of the last scan."""
        n = self.scan_size
        m = _lib.empty(n, np.float64)
        v = _lib.empty(n, np.float64)
        if n:
            _scan(self._h, _lib.ptr(m), _lib.ptr(v), n)
        return m, v

    def bootstrap(self, set=0, true_mass=_NAN, progress=None):
        """Fits every bootstrap replica: BootstrapResult(replica_mass,
        mean_bias_mev, spread_mev).  ``progress(stage, step, total, m1, m2)``
        may cancel."""
        r = int(self.get_param("bootstrap"))
        out = _lib.empty(r, np.float64)
        mb, sp = c_double(), c_double()
        self._run_with_progress(progress, lambda: _bootstrap(
            self._h, int(set), float(true_mass), _lib.ptr(out) if r else None, r,
            ctypes.byref(mb), ctypes.byref(sp)))
        return BootstrapResult(out, mb.value, sp.value)

    def syst(self, eps, true_mass=_NAN, progress=None):
        """Bias line through data sets j = 0..len(eps)-1 holding a
        discrepancy of size eps[j]: SystResult(bias_mev, bias_err_mev,
        slope (MeV per unit eps), slope_err)."""
        e = as_1d(eps, np.float64, "eps")
        n = e.shape[0]
        b = _lib.empty(n, np.float64)
        be = _lib.empty(n, np.float64)
        s, se = c_double(), c_double()
        self._run_with_progress(progress, lambda: _syst(
            self._h, _lib.ptr(e), n, float(true_mass), _lib.ptr(b), _lib.ptr(be),
            ctypes.byref(s), ctypes.byref(se)))
        return SystResult(b, be, s.value, se.value)


declare_model(TemplateFit, 4)
