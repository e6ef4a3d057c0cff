"""Regressor: semi-parametric MLP regression of a full pdf p(t | x)
(wr_regressor, docs/regressor.md), and the pdf families' functions."""

import ctypes

import numpy as np

from . import _lib
from ._lib import HANDLE, STATUS, c_char_p, c_double, c_int, c_size_t, f32p, f64p, POINTER
from ._model import Model, as_1d, as_2d_f32, declare_model, fit_arrays

__all__ = ["Regressor", "FAMILIES", "pdf_n_params", "pdf_density", "pdf_log_density",
           "pdf_cdf", "pdf_quantile", "pdf_summary", "pdf_nll", "pdf_mixture_cdf",
           "SUMMARY_COLUMNS"]

#: pdf families (wr_pdf_family, pinned values)
FAMILIES = {"gauss": 1, "gaussexp2": 2, "gaussexp2_flat": 3}
#: columns of pdf_summary / Regressor.summary
SUMMARY_COLUMNS = ("mode", "median", "mean", "mean_exp")

_n_params = _lib.fn("wr_pdf_n_params", c_size_t, [c_int])
_family_name = _lib.fn("wr_pdf_family_name", c_char_p, [c_int])
_PDF_SIG = [c_int, f64p, c_size_t, c_size_t, f64p, c_size_t, f64p]
_pdf_density = _lib.fn("wr_pdf_density", STATUS, _PDF_SIG)
_pdf_log_density = _lib.fn("wr_pdf_log_density", STATUS, _PDF_SIG)
_pdf_cdf = _lib.fn("wr_pdf_cdf", STATUS, _PDF_SIG)
_pdf_quantile = _lib.fn("wr_pdf_quantile", STATUS, _PDF_SIG)
_pdf_summary = _lib.fn("wr_pdf_summary", STATUS, [c_int, f64p, c_size_t, c_size_t, f64p])
_pdf_nll = _lib.fn("wr_pdf_nll", STATUS, [c_int, f64p, c_size_t, c_size_t, f64p, f32p,
                                          POINTER(c_double)])
_pdf_mixture_cdf = _lib.fn("wr_pdf_mixture_cdf", STATUS, [c_int, f64p, c_size_t, c_size_t,
                                                          f32p, f64p, c_size_t, f64p])

_create = _lib.fn("wr_regressor_create", STATUS, [POINTER(HANDLE)])
_fit = _lib.fn("wr_regressor_fit", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f32p, f32p,
                                            f32p, c_size_t, f32p, f32p])
_is_fitted = _lib.fn("wr_regressor_is_fitted", c_int, [HANDLE])
_n_features = _lib.fn("wr_regressor_n_features", c_size_t, [HANDLE])
_family = _lib.fn("wr_regressor_family", c_int, [HANDLE])
_fit_info = _lib.fn("wr_regressor_fit_info", STATUS, [HANDLE, POINTER(c_int), POINTER(c_int)])
_predict = _lib.fn("wr_regressor_predict", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f64p,
                                                    c_size_t])
_EV_SIG = [HANDLE, f32p, c_size_t, c_size_t, f64p, c_size_t, f64p]
_r_pdf = _lib.fn("wr_regressor_pdf", STATUS, _EV_SIG)
_r_cdf = _lib.fn("wr_regressor_cdf", STATUS, _EV_SIG)
_r_quantile = _lib.fn("wr_regressor_quantile", STATUS, _EV_SIG)
_r_summary = _lib.fn("wr_regressor_summary", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f64p])
_r_pit = _lib.fn("wr_regressor_pit", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f32p, f64p])
_r_nll = _lib.fn("wr_regressor_nll", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f32p, f32p,
                                              POINTER(c_double)])


def _family_id(family):
    if isinstance(family, str):
        try:
            return FAMILIES[family]
        except KeyError:
            raise ValueError("unknown pdf family %r (one of %s)" % (family, ", ".join(FAMILIES)))
    return int(family)


def pdf_n_params(family):
    """Number of parameters of a family (2 for gauss, 4 for gaussexp2)."""
    return int(_n_params(_family_id(family)))


def _params(family, params):
    fam = _family_id(family)
    k = int(_n_params(fam))
    p = _lib.as_array(params, np.float64, name="params")
    if p.ndim == 1 and k and p.shape[0] == k:
        p = p.reshape(1, k)
    if p.ndim != 2:
        raise ValueError("params: expected (n, k) parameters, got shape %s" % (p.shape,))
    return fam, p


def _points(t, n, name):
    """t as (n, m) float64: (n,) -> one point per event, (m,) broadcast when
    n differs... only (n,) and (n, m) are accepted; returns (array, squeeze)."""
    t = _lib.as_array(t, np.float64, name=name)
    if t.ndim == 1:
        if t.shape[0] != n:
            raise ValueError("%s: %d values for %d events" % (name, t.shape[0], n))
        return t.reshape(n, 1), True
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError("%s: expected shape (%d,) or (%d, m), got %s" % (name, n, n, t.shape))
    return t, False


def _grid(p, n, name):
    """Probabilities or points shared by every event: (m,) -> (n, m)."""
    if np.ndim(p) == 0:
        try:
            return np.full((n, 1), float(p)), True
        except (TypeError, ValueError):
            raise ValueError("%s: expected a number, got %r" % (name, p)) from None
    p = _lib.as_array(p, np.float64, name=name)
    if p.ndim == 1:
        return np.ascontiguousarray(np.broadcast_to(p, (n, p.shape[0]))), False
    if p.ndim != 2 or p.shape[0] != n:
        raise ValueError("%s: expected shape (m,) or (%d, m), got %s" % (name, n, p.shape))
    return p, False


def _pdf_call(cfn, family, params, t, name="t"):
    fam, p = _params(family, params)
    n, k = p.shape
    t, squeeze = _points(t, n, name)
    out = _lib.empty(t.shape, np.float64)
    cfn(fam, _lib.ptr(p), n, k, _lib.ptr(t), t.shape[1], _lib.ptr(out))
    return out[:, 0] if squeeze else out


def pdf_density(family, params, t):
    """Density f(t) per event: ``params`` (n, k), ``t`` (n,) or (n, m)."""
    return _pdf_call(_pdf_density, family, params, t)


def pdf_log_density(family, params, t):
    """ln f(t), computed in log form (finite far into the tails)."""
    return _pdf_call(_pdf_log_density, family, params, t)


def pdf_cdf(family, params, t):
    """F(t) = P(T <= t) per event."""
    return _pdf_call(_pdf_cdf, family, params, t)


def pdf_quantile(family, params, p):
    """F^-1(p) per event, ``p`` (n,) or (n, m) inside (0, 1)."""
    return _pdf_call(_pdf_quantile, family, params, p, "p")


def pdf_summary(family, params):
    """(n, 4): mode, median, mean of t and mean of exp(t) (SUMMARY_COLUMNS)."""
    fam, p = _params(family, params)
    out = _lib.empty((p.shape[0], len(SUMMARY_COLUMNS)), np.float64)
    _pdf_summary(fam, _lib.ptr(p), p.shape[0], p.shape[1], _lib.ptr(out))
    return out


def pdf_nll(family, params, t, w=None):
    """Mean weighted negative log-likelihood of targets t (n,)."""
    fam, p = _params(family, params)
    n = p.shape[0]
    t = as_1d(t, np.float64, "t", n)
    w = None if w is None else as_1d(w, np.float32, "w", n)
    v = c_double()
    _pdf_nll(fam, _lib.ptr(p), n, p.shape[1], _lib.ptr(t), _lib.ptr(w), ctypes.byref(v))
    return v.value


def pdf_mixture_cdf(family, params, grid, w=None):
    """Cdf of the weighted mixture of the n event pdfs at the points
    ``grid`` (m,): the "sum of predicted pdfs"; ``np.diff`` of it times the
    number of events gives expected histogram contents."""
    fam, p = _params(family, params)
    n = p.shape[0]
    g = as_1d(grid, np.float64, "grid")
    w = None if w is None else as_1d(w, np.float32, "w", n)
    out = _lib.empty(g.shape[0], np.float64)
    _pdf_mixture_cdf(fam, _lib.ptr(p), n, p.shape[1], _lib.ptr(w), _lib.ptr(g), g.shape[0],
                     _lib.ptr(out))
    return out


class Regressor(Model):
    """Per event, the full pdf p(t | x) of a target t given features x: an
    MLP maps x to the parameters of a pdf family (docs/regressor.md).

    >>> r = Regressor(family="gaussexp2", hidden=(64, 64), epochs=30)
    >>> r.fit(X, t, eval_set=(X_val, t_val))
    >>> r.predict(X_test)      # (n, k) pdf parameters, float64
    >>> r.mean(X_test), r.quantile(X_test, [0.16, 0.5, 0.84]), r.pit(X_test, t_test)

    Keyword arguments are parameters: ``family`` (gauss, gaussexp2,
    gaussexp2_flat), ``pedestal_lo``, ``pedestal_hi``, ``hidden``,
    ``activation``, ``epochs``, ``batch_size``, ``learning_rate``,
    ``lr_schedule``, ``lr_min``, ``lr_factor``, ``lr_patience``,
    ``adam_beta1``, ``adam_beta2``, ``adam_eps``, ``l2``, ``patience``,
    ``seed``, ``threads``.  Every prediction method is thread-safe on a
    fitted model.
    """

    _prefix = "wr_regressor"
    _param_names = ("family", "pedestal_lo", "pedestal_hi", "hidden", "activation", "epochs",
                    "batch_size", "learning_rate",
                    "lr_schedule", "lr_min", "lr_factor", "lr_patience", "adam_beta1",
                    "adam_beta2", "adam_eps", "l2", "patience", "seed", "threads")

    def __init__(self, **params):
        h = HANDLE()
        _create(ctypes.byref(h))
        self._set_handle(h)
        self.set_params(params)

    @property
    def is_fitted(self):
        return bool(_is_fitted(self._h))

    @property
    def n_features(self):
        return int(_n_features(self._h))

    @property
    def family(self):
        """Name of the fitted pdf family ("gauss", "gaussexp2"); None before fit."""
        f = _family(self._h)
        return _family_name(f).decode() if f else None

    @property
    def n_params(self):
        """Pdf parameters per event (k) of the fitted family."""
        return int(_n_params(_family(self._h)))

    @property
    def fit_info(self):
        """(epochs_run, best_epoch) of the last fit ((0, 0) after a load)."""
        a, b = c_int(), c_int()
        _fit_info(self._h, ctypes.byref(a), ctypes.byref(b))
        return a.value, b.value

    def _repr_extra(self):
        return " family=%s features=%d" % (self.family, self.n_features)

    def fit(self, X, t, sample_weight=None, eval_set=None, progress=None):
        """Fits the network by minimising the weighted mean NLL.
        ``X`` (n, d), ``t`` (n,), ``sample_weight`` (n,) or None,
        ``eval_set=(X_val, t_val[, w_val])`` (early stopping, plateau
        schedule).  ``progress``: ``callback(stage, epoch, epochs,
        train_nll, val_nll)``; returning True or raising cancels (the model
        is unchanged, the exception propagates).  Returns ``self``."""
        X, n, d, t, w, Xv, nv, tv, wv = fit_arrays(X, t, sample_weight, eval_set, "t")
        self._run_with_progress(progress, lambda: _fit(
            self._h, _lib.ptr(X), n, d, _lib.ptr(t), _lib.ptr(w),
            _lib.ptr(Xv), nv, _lib.ptr(tv), _lib.ptr(wv)))
        return self

    def _X(self, X):
        return as_2d_f32(X, d=self.n_features or None)

    def predict(self, X):
        """Pdf parameters (n, k) float64 in the units of t (feed them to the
        ``pdf_*`` functions with ``family=self.family``)."""
        h = self._h
        X = self._X(X)
        k = self.n_params
        out = _lib.empty((X.shape[0], k), np.float64)
        _predict(h, _lib.ptr(X), X.shape[0], X.shape[1], _lib.ptr(out), k)
        return out

    def _points_call(self, cfn, X, t, name, shared):
        h = self._h
        X = self._X(X)
        n = X.shape[0]
        if shared:
            t, squeeze = _grid(t, n, name)
        else:
            t, squeeze = _points(t, n, name)
        out = _lib.empty(t.shape, np.float64)
        cfn(h, _lib.ptr(X), n, X.shape[1], _lib.ptr(t), t.shape[1], _lib.ptr(out))
        return out[:, 0] if squeeze else out

    def pdf(self, X, t):
        """Density at ``t``: (n,) one point per event -> (n,); (n, m) -> (n, m)."""
        return self._points_call(_r_pdf, X, t, "t", False)

    def cdf(self, X, t):
        """Cdf at ``t`` ((n,) or (n, m), as :meth:`pdf`)."""
        return self._points_call(_r_cdf, X, t, "t", False)

    def quantile(self, X, p):
        """Quantiles at probabilities ``p``: a scalar -> (n,); (m,) shared by
        every event -> (n, m); (n, m) per event."""
        return self._points_call(_r_quantile, X, p, "p", True)

    def summary(self, X):
        """(n, 4): mode, median, mean of t and mean of exp(t)."""
        h = self._h
        X = self._X(X)
        out = _lib.empty((X.shape[0], len(SUMMARY_COLUMNS)), np.float64)
        _r_summary(h, _lib.ptr(X), X.shape[0], X.shape[1], _lib.ptr(out))
        return out

    def mean(self, X):
        """E[t | x] (n,)."""
        return self.summary(X)[:, 2]

    def median(self, X):
        return self.summary(X)[:, 1]

    def mode(self, X):
        return self.summary(X)[:, 0]

    def mean_exp(self, X):
        """E[exp(t) | x]: the expected magnitude ratio when t is a log-ratio."""
        return self.summary(X)[:, 3]

    def pit(self, X, t_true):
        """Probability integral transform F(t_true | x) (n,): uniform on
        (0, 1) for a calibrated model."""
        h = self._h
        X = self._X(X)
        t = as_1d(t_true, np.float32, "t_true", X.shape[0])
        out = _lib.empty(X.shape[0], np.float64)
        _r_pit(h, _lib.ptr(X), X.shape[0], X.shape[1], _lib.ptr(t), _lib.ptr(out))
        return out

    def nll(self, X, t, sample_weight=None):
        """Mean weighted negative log-likelihood of ``t``."""
        h = self._h
        X = self._X(X)
        t = as_1d(t, np.float32, "t", X.shape[0])
        w = None if sample_weight is None else as_1d(sample_weight, np.float32, "sample_weight",
                                                     X.shape[0])
        v = c_double()
        _r_nll(h, _lib.ptr(X), X.shape[0], X.shape[1], _lib.ptr(t), _lib.ptr(w), ctypes.byref(v))
        return v.value

    def score(self, X, t, sample_weight=None):
        """Minus the mean NLL (larger is better, scikit-learn convention)."""
        return -self.nll(X, t, sample_weight)

    def mixture_cdf(self, X, grid, sample_weight=None):
        """Cdf of the sum of the predicted pdfs at ``grid`` (see
        :func:`pdf_mixture_cdf`)."""
        return pdf_mixture_cdf(self.family, self.predict(X), grid, sample_weight)


declare_model(Regressor, 2)
