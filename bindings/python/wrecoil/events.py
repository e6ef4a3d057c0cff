"""Event model: recoil features, kinematics and CSV(.gz) tables
(wrecoil/events.h, docs/recoil-features.md)."""

import collections
import ctypes

import numpy as np

from . import _lib
from ._lib import (HANDLE, STATUS, POINTER, c_char_p, c_double, c_int, c_int64, c_size_t,
                   c_void_p, f32p, f64p, i32p, i64p, u8p)

__all__ = ["FEATURE_NAMES", "RECOIL_NAMES", "BOSON_COLUMNS", "MUON_MASS", "RecoilFeatures",
           "WlikeZ", "recoil_features", "wrap_angle", "transverse_mass", "wlike_z",
           "boson_from_leptons", "recoil_y", "read_table", "write_table", "table_columns",
           "TableReader", "TableWriter"]

#: the 15 regression features in contract order (docs/recoil-features.md)
FEATURE_NAMES = ("h_tk", "phi_tk", "r_ntnpv", "r_m", "r_ltk", "r_lnt", "s_tk", "s_nt", "s_pf",
                 "cos_tk_ntnpv", "adphi_tk_ntnpv", "sdphi_tk_pf", "sdphi_tk_ltk", "n_tk", "n_vtx")
#: columns of the recoils output: TK, PF, NTNPV, NT vectors
RECOIL_NAMES = ("tk_x", "tk_y", "pf_x", "pf_y", "ntnpv_x", "ntnpv_y", "nt_x", "nt_y")
#: columns of boson_from_leptons
BOSON_COLUMNS = ("pt", "pl", "phi", "m")
MUON_MASS = 0.1056583755

RecoilFeatures = collections.namedtuple("RecoilFeatures", "features recoils no_tk targets")
WlikeZ = collections.namedtuple("WlikeZ", "lepton neutrino mt")

_features = _lib.fn("wr_recoil_features", STATUS,
                    [c_size_t, i64p, f32p, f32p, f32p, i32p, i32p, f32p, c_int, f32p, f32p, u8p,
                     f32p])
_wrap_angle = _lib.fn("wr_wrap_angle", c_double, [c_double])
_transverse_mass = _lib.fn("wr_transverse_mass", STATUS,
                           [c_size_t, f32p, f32p, f32p, c_size_t, f32p])
_wlike_z = _lib.fn("wr_wlike_z", STATUS, [c_size_t, f32p, f32p, f32p, i32p, f32p, c_size_t, c_int,
                                          f32p, f32p, f32p])
_boson = _lib.fn("wr_boson_from_leptons", STATUS, [c_size_t, f32p, f32p, f32p, c_double,
                                                   c_double, f32p])
_recoil_y = _lib.fn("wr_recoil_y", STATUS, [c_size_t, f32p, c_size_t, f32p, c_size_t, f32p])


def _vec(a, dtype, name, n=None):
    a = _lib.as_array(a, dtype, ndim=1, name=name)
    if n is not None and a.shape[0] != n:
        raise ValueError("%s: %d values, expected %d" % (name, a.shape[0], n))
    return a


def recoil_features(offsets, pt=None, eta=None, phi=None, charge=None, vtx=None, htrue=None,
                    nthreads=0):
    """The 15 recoil features of many events from their particles.

    Particles of event i are ``[offsets[i], offsets[i+1])`` of ``pt``,
    ``eta``, ``phi`` (float32), ``charge`` and ``vtx`` (int32).  The first
    argument may instead be a :class:`wrecoil.toy.Particles` (from
    ``Toy.particles``).  ``htrue`` (n, 2): the true recoil, giving the
    targets.  Returns RecoilFeatures(features (n, 15) float32, recoils
    (n, 8) float32 (RECOIL_NAMES), no_tk (n,) bool, targets (n, 2) float32
    (ln_e1, e2) or None).
    """
    if pt is None and hasattr(offsets, "offsets"):
        p = offsets
        offsets, pt, eta, phi, charge, vtx = p.offsets, p.pt, p.eta, p.phi, p.charge, p.vtx
    off = _vec(offsets, np.int64, "offsets")
    if off.shape[0] < 1:
        raise ValueError("offsets: needs n_events + 1 entries (at least 1)")
    n = off.shape[0] - 1
    pt = _vec(pt, np.float32, "pt")
    m = pt.shape[0]
    if int(off[-1]) > m:
        raise ValueError("offsets: last offset %d beyond the %d particles" % (off[-1], m))
    eta = _vec(eta, np.float32, "eta", m)
    phi = _vec(phi, np.float32, "phi", m)
    charge = _vec(charge, np.int32, "charge", m)
    vtx = _vec(vtx, np.int32, "vtx", m)
    ht = None if htrue is None else _lib.as_array(htrue, np.float32, shape=(n, 2), name="htrue")
    feats = _lib.empty((n, len(FEATURE_NAMES)), np.float32)
    rec = _lib.empty((n, len(RECOIL_NAMES)), np.float32)
    no_tk = _lib.empty(n, np.uint8)
    tg = None if ht is None else _lib.empty((n, 2), np.float32)
    _features(n, _lib.ptr(off), _lib.ptr(pt), _lib.ptr(eta), _lib.ptr(phi), _lib.ptr(charge),
              _lib.ptr(vtx), _lib.ptr(ht), int(nthreads), _lib.ptr(feats), _lib.ptr(rec),
              _lib.ptr(no_tk), _lib.ptr(tg))
    return RecoilFeatures(feats, rec, no_tk.astype(bool), tg)


def wrap_angle(a):
    """Wraps angles (rad) to (-pi, pi]; NaN for non-finite input.  Scalars
    and arrays (float64 result)."""
    if np.ndim(a) == 0:
        return float(_wrap_angle(float(a)))
    arr = np.asarray(a, dtype=np.float64)
    out = np.array([_wrap_angle(float(v)) for v in arr.ravel()], dtype=np.float64)
    return out.reshape(arr.shape)


def _pairs(h, n, name):
    """Recoil vectors (n, 2) as (pointer-able array, row stride in floats).
    A float32 view with unit column step (e.g. ``recoils[:, 2:4]``) is
    passed without a copy, with its row stride."""
    if (isinstance(h, np.ndarray) and h.dtype == np.float32 and h.ndim == 2 and h.shape == (n, 2)
            and h.strides[1] == 4 and h.strides[0] >= 8 and h.strides[0] % 4 == 0):
        return h, h.strides[0] // 4
    h = _lib.as_array(h, np.float32, shape=(n, 2), name=name)
    return h, 2


def _pairs_ptr(h):
    return ctypes.cast(ctypes.c_void_p(h.ctypes.data), f32p)


def transverse_mass(lep_pt, lep_phi, h):
    """MT of the lepton (pt, phi) and the recoil ``h`` (n, 2) (GeV)."""
    lp = _vec(lep_pt, np.float32, "lep_pt")
    n = lp.shape[0]
    lf = _vec(lep_phi, np.float32, "lep_phi", n)
    h, stride = _pairs(h, n, "h")
    out = _lib.empty(n, np.float32)
    _transverse_mass(n, _lib.ptr(lp), _lib.ptr(lf), _pairs_ptr(h), stride, _lib.ptr(out))
    return out


def wlike_z(mu_pt, mu_eta, mu_phi, mu_charge, h=None, lepton_charge=1):
    """W-like Z: the muon of ``lepton_charge`` stays the lepton, the other
    plays the neutrino.  Muon arrays are (n, 2).  Returns WlikeZ(lepton
    (n, 3) pt/eta/phi, neutrino (n, 2) px/py, mt (n,) or None without h)."""
    pt = _lib.as_array(mu_pt, np.float32, ndim=2, shape=(None, 2), name="mu_pt")
    n = pt.shape[0]
    eta = _lib.as_array(mu_eta, np.float32, shape=(n, 2), name="mu_eta")
    phi = _lib.as_array(mu_phi, np.float32, shape=(n, 2), name="mu_phi")
    q = _lib.as_array(mu_charge, np.int32, shape=(n, 2), name="mu_charge")
    lep = _lib.empty((n, 3), np.float32)
    nu = _lib.empty((n, 2), np.float32)
    mt = None
    hp, stride = None, 2
    if h is not None:
        h, stride = _pairs(h, n, "h")
        hp = _pairs_ptr(h)
        mt = _lib.empty(n, np.float32)
    _wlike_z(n, _lib.ptr(pt), _lib.ptr(eta), _lib.ptr(phi), _lib.ptr(q), hp, stride,
             int(lepton_charge), _lib.ptr(lep), _lib.ptr(nu), _lib.ptr(mt))
    return WlikeZ(lep, nu, mt)


def boson_from_leptons(pt, eta, phi, mass1=MUON_MASS, mass2=MUON_MASS):
    """The boson of two-lepton events (arrays (n, 2)): (n, 4) float32 with
    BOSON_COLUMNS pT_V, pL_V, phi_V, m_V."""
    pt = _lib.as_array(pt, np.float32, ndim=2, shape=(None, 2), name="pt")
    n = pt.shape[0]
    eta = _lib.as_array(eta, np.float32, shape=(n, 2), name="eta")
    phi = _lib.as_array(phi, np.float32, shape=(n, 2), name="phi")
    out = _lib.empty((n, len(BOSON_COLUMNS)), np.float32)
    _boson(n, _lib.ptr(pt), _lib.ptr(eta), _lib.ptr(phi), float(mass1), float(mass2),
           _lib.ptr(out))
    return out


def recoil_y(h, v):
    """y = (|h|, dphi(-pT_V, h)) (n, 2) of recoils ``h`` (n, 2) given the
    boson's transverse momentum vectors ``v`` (n, 2)."""
    h = np.asarray(h) if not isinstance(h, np.ndarray) else h
    n = h.shape[0] if h.ndim == 2 else -1
    if n < 0:
        raise ValueError("h: expected shape (n, 2), got %s" % (h.shape,))
    h, hs = _pairs(h, n, "h")
    v, vs = _pairs(v, n, "v")
    out = _lib.empty((n, 2), np.float32)
    _recoil_y(n, _pairs_ptr(h), hs, _pairs_ptr(v), vs, _lib.ptr(out))
    return out


# ================================================================ tables
_r_open = _lib.fn("wr_table_reader_open", STATUS, [c_char_p, POINTER(HANDLE)])
_r_close = _lib.fn("wr_table_reader_close", None, [HANDLE])
_r_ncols = _lib.fn("wr_table_reader_n_columns", c_size_t, [HANDLE])
_r_colname = _lib.fn("wr_table_reader_column_name", c_char_p, [HANDLE, c_size_t])
_r_find = _lib.fn("wr_table_reader_find", STATUS, [HANDLE, c_char_p, POINTER(c_size_t)])
_r_select = _lib.fn("wr_table_reader_select", STATUS, [HANDLE, POINTER(c_char_p), c_size_t])
_r_nsel = _lib.fn("wr_table_reader_n_selected", c_size_t, [HANDLE])
_r_read_f = _lib.fn("wr_table_reader_read_float", STATUS, [HANDLE, f32p, c_size_t,
                                                           POINTER(c_size_t)])
_r_read_d = _lib.fn("wr_table_reader_read_double", STATUS, [HANDLE, f64p, c_size_t,
                                                            POINTER(c_size_t)])
_r_rows = _lib.fn("wr_table_reader_rows_read", c_int64, [HANDLE])
_t_read_f = _lib.fn("wr_table_read_float", STATUS, [c_char_p, POINTER(c_char_p), c_size_t,
                                                    POINTER(c_void_p), POINTER(c_size_t)])
_t_read_d = _lib.fn("wr_table_read_double", STATUS, [c_char_p, POINTER(c_char_p), c_size_t,
                                                     POINTER(c_void_p), POINTER(c_size_t)])
_w_open = _lib.fn("wr_table_writer_open", STATUS, [c_char_p, POINTER(c_char_p), c_size_t,
                                                   POINTER(HANDLE)])
_w_write_f = _lib.fn("wr_table_writer_write_float", STATUS, [HANDLE, f32p, c_size_t])
_w_write_d = _lib.fn("wr_table_writer_write_double", STATUS, [HANDLE, f64p, c_size_t])
_w_close = _lib.fn("wr_table_writer_close", STATUS, [HANDLE])


def take_array(p, shape, dtype):
    """Moves a buffer the library allocated (c_void_p or address) into a
    new numpy array of ``shape`` and ``dtype`` (one copy) and releases it
    with wr_free."""
    addr = p.value if isinstance(p, c_void_p) else p
    try:
        out = np.empty(shape, dtype=dtype)
    except MemoryError:
        _lib._wr_free(addr)
        if isinstance(p, c_void_p):
            p.value = None
        raise
    try:
        if out.nbytes:
            if not addr:
                raise _lib.Error(_lib.Status.INTERNAL, "NULL buffer for %d bytes" % out.nbytes)
            ctypes.memmove(out.ctypes.data, addr, out.nbytes)
    finally:
        if addr:
            _lib._wr_free(addr)
            if isinstance(p, c_void_p):
                p.value = None      # released: never freed twice
    return out


def _names_array(names):
    if isinstance(names, str):
        names = [names]
    enc = [_lib.cstr(str(s)) for s in names]
    return (c_char_p * max(1, len(enc)))(*enc), len(enc)


def _dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError("dtype: float32 or float64, got %s" % dt)
    return dt


class TableReader(_lib.Handle):
    """Streaming reader of a CSV(.gz) table; memory bounded by a chunk.

    >>> with TableReader("w_mc.csv.gz", columns=["l_pt", "l_phi"]) as r:
    ...     for chunk in r.chunks(100000):     # (rows, 2) float64 arrays
    ...         ...
    """

    _free_fn = staticmethod(_r_close)

    def __init__(self, path, columns=None, dtype=np.float64):
        h = HANDLE()
        _r_open(_lib.cpath(path), ctypes.byref(h))
        self._set_handle(h)
        self.dtype = _dtype(dtype)
        if columns is not None:
            self.select(columns)

    @property
    def columns(self):
        """Every column name of the header."""
        h = self._h
        return [_r_colname(h, j).decode() for j in range(_r_ncols(h))]

    def find(self, name):
        """Index of column ``name`` (wrecoil.Error WR_ERR_FORMAT if missing)."""
        i = c_size_t()
        _r_find(self._h, _lib.cstr(name), ctypes.byref(i))
        return i.value

    def select(self, columns):
        """Selects the columns (in this order) that reads deliver."""
        arr, n = _names_array(columns)
        _r_select(self._h, arr, n)
        self._selected = [c if isinstance(c, str) else str(c) for c in
                          ([columns] if isinstance(columns, str) else columns)]
        return self

    @property
    def n_selected(self):
        return int(_r_nsel(self._h))

    @property
    def rows_read(self):
        return int(_r_rows(self._h))

    def read(self, max_rows):
        """Up to ``max_rows`` rows (rows, n_selected); 0 rows at the end."""
        h = self._h
        max_rows = int(max_rows)
        if max_rows < 1:
            raise ValueError("max_rows: must be >= 1")
        out = _lib.empty((max_rows, self.n_selected), self.dtype)
        got = c_size_t()
        fn = _r_read_f if self.dtype == np.float32 else _r_read_d
        fn(h, _lib.ptr(out), max_rows, ctypes.byref(got))
        return out[:got.value]

    def chunks(self, rows=65536):
        """Iterates over chunks of ``rows`` rows until the end."""
        while True:
            c = self.read(rows)
            if c.shape[0] == 0:
                return
            yield c


def table_columns(path):
    """Column names of the header of a table file."""
    with TableReader(path) as r:
        return r.columns


def read_table(path, columns=None, dtype=np.float64, as_frame=False):
    """Reads the ``columns`` (default: all) of every row of a CSV(.gz)
    table: (rows, len(columns)) array of ``dtype``, or a pandas DataFrame
    with ``as_frame=True``.  Malformed input raises wrecoil.Error
    (WR_ERR_FORMAT) naming file, line and column."""
    dt = _dtype(dtype)
    if columns is None:
        columns = table_columns(path)
    elif isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    arr, n = _names_array(columns)
    buf = c_void_p()
    rows = c_size_t()
    fn = _t_read_f if dt == np.float32 else _t_read_d
    fn(_lib.cpath(path), arr, n, ctypes.byref(buf), ctypes.byref(rows))
    out = take_array(buf, (rows.value, n), dt)
    if as_frame:
        import pandas as pd
        return pd.DataFrame(out, columns=columns)
    return out


class TableWriter(_lib.Handle):
    """Writer of a CSV(.gz) table; the file appears complete at close()
    (written to a temporary file and renamed)."""

    _free_fn = None

    def __init__(self, path, columns):
        arr, n = _names_array(columns)
        h = HANDLE()
        _w_open(_lib.cpath(path), arr, n, ctypes.byref(h))
        self._set_handle(h)
        self.n_columns = n

    def write(self, rows):
        """Appends rows (n, n_columns); float32 or float64 (others -> float64)."""
        h = self._h
        a = rows if isinstance(rows, np.ndarray) and rows.dtype == np.float32 else None
        if a is not None:
            a = _lib.as_array(a, np.float32, shape=(None, self.n_columns), name="rows")
            _w_write_f(h, _lib.ptr(a), a.shape[0])
        else:
            a = _lib.as_array(rows, np.float64, name="rows")
            if a.ndim == 1 and self.n_columns == 1:
                a = a.reshape(-1, 1)
            a = _lib.as_array(a, np.float64, shape=(None, self.n_columns), name="rows")
            _w_write_d(h, _lib.ptr(a), a.shape[0])
        return self

    def close(self):
        """Flushes and moves the file into place; raises wrecoil.Error
        (WR_ERR_IO) when anything failed (``path`` is then unchanged)."""
        h, self._hv = self._hv, None
        if h:
            _w_close(h)


def write_table(path, data, columns=None):
    """Writes a table: ``data`` is a 2-D array with ``columns`` names, or a
    pandas DataFrame / dict of equal-length columns."""
    if columns is None:
        if hasattr(data, "columns"):
            columns = [str(c) for c in data.columns]
            data = data.to_numpy(np.float64)
        elif isinstance(data, dict):
            columns = list(data)
            data = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in columns])
        else:
            raise ValueError("columns: needed for a plain array")
    data = np.asarray(data)
    if data.dtype.kind in "fc" and not np.all(np.isfinite(data)):
        bad = np.argwhere(~np.isfinite(data))[0]
        # checked before the file is opened: an existing file stays as it was
        raise _lib.Error(_lib.Status.INVALID_ARG,
                         "write_table: argument 'data': non-finite value at row %d, column %d"
                         % (bad[0], bad[-1]))
    with TableWriter(path, columns) as w:
        w.write(data)
