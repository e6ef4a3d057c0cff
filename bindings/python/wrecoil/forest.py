"""QuantileForest: multi-quantile gradient-boosted trees (wr_quantile_forest,
docs/forest.md)."""

import ctypes

import numpy as np

from . import _lib
from ._lib import HANDLE, STATUS, c_size_t, f32p, f64p, POINTER
from ._model import Model, as_1d, as_2d_f32, declare_model, fit_arrays

__all__ = ["QuantileForest", "DEFAULT_LEVELS"]

#: the default grid of 21 levels of wr_qforest_create / wr_morpher_create
DEFAULT_LEVELS = tuple([0.01] + [round(0.05 * i, 2) for i in range(1, 20)] + [0.99])

_create = _lib.fn("wr_qforest_create", STATUS, [f64p, c_size_t, POINTER(HANDLE)])
_n_levels = _lib.fn("wr_qforest_n_levels", c_size_t, [HANDLE])
_levels = _lib.fn("wr_qforest_levels", STATUS, [HANDLE, f64p, c_size_t])
_n_features = _lib.fn("wr_qforest_n_features", c_size_t, [HANDLE])
_n_rounds = _lib.fn("wr_qforest_n_rounds", c_size_t, [HANDLE])
_fit = _lib.fn("wr_qforest_fit", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f32p, f32p,
                                          f32p, c_size_t, f32p, f32p])
_fit_from = _lib.fn("wr_qforest_fit_from", STATUS, [HANDLE, HANDLE, f32p, c_size_t, c_size_t,
                                                    f32p, f32p, f32p, c_size_t, f32p, f32p])
_predict = _lib.fn("wr_qforest_predict", STATUS, [HANDLE, f32p, c_size_t, c_size_t, f32p])


class QuantileForest(Model):
    """Conditional quantiles y_tau(x) for many levels tau at once, learned by
    histogram gradient-boosted trees with the pinball loss.

    >>> f = QuantileForest(levels=[0.1, 0.5, 0.9], rounds=200, max_leaves=15)
    >>> f.fit(X, y).predict(X_test)          # (n, 3) float32, non-crossing

    ``levels``: strictly increasing inside (0, 1); None = the default 21
    levels (:data:`DEFAULT_LEVELS`).  Other keyword arguments are
    parameters (``rounds``, ``learning_rate``, ``max_leaves``, ``max_depth``,
    ``min_samples_leaf``, ``min_weight_leaf``, ``l2``, ``subsample``,
    ``colsample``, ``max_bins``, ``early_stopping_rounds``, ``seed``,
    ``threads``, ``multi``), see docs/forest.md.

    ``predict`` may run from many threads at once on a fitted forest (the
    C call releases the GIL).  Pickle, :meth:`to_bytes` and :meth:`save`
    store the fitted model.
    """

    _prefix = "wr_qforest"
    _param_names = ("rounds", "learning_rate", "max_leaves", "max_depth", "min_samples_leaf",
                    "min_weight_leaf", "l2", "subsample", "colsample", "max_bins",
                    "early_stopping_rounds", "seed", "threads", "multi")

    def __init__(self, levels=None, **params):
        h = HANDLE()
        if levels is None:
            _create(None, 0, ctypes.byref(h))
        else:
            lv = _lib.as_array(levels, np.float64, ndim=1, name="levels")
            _create(_lib.ptr(lv), lv.shape[0], ctypes.byref(h))
        self._set_handle(h)
        self.set_params(params)

    # --------------------------------------------------------- properties
    @property
    def levels(self):
        """The quantile levels (float64 array)."""
        n = _n_levels(self._h)
        out = _lib.empty(n, np.float64)
        _levels(self._h, _lib.ptr(out), n)
        return out

    @property
    def n_levels(self):
        return int(_n_levels(self._h))

    @property
    def n_features(self):
        """Features of the fitted model (0 before fit)."""
        return int(_n_features(self._h))

    @property
    def n_rounds(self):
        """Boosting rounds kept (after early stopping); 0 before fit."""
        return int(_n_rounds(self._h))

    @property
    def is_fitted(self):
        return self.n_rounds > 0

    def _init_args(self):
        return (self.levels.tolist(),)

    def _repr_extra(self):
        return " levels=%d features=%d rounds=%d" % (self.n_levels, self.n_features,
                                                      self.n_rounds)

    # ------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, eval_set=None, progress=None):
        """Fits the forest.  ``X`` (n, d), ``y`` (n,), ``sample_weight``
        (n,) >= 0 or None; ``eval_set=(X_val, y_val[, w_val])`` for early
        stopping (parameter ``early_stopping_rounds``).  ``progress``:
        ``callback(stage, step, total, train_loss, val_loss)``, called every
        boosting round; returning True (or raising) cancels the fit, which
        then raises and keeps the previous model.  Returns ``self``."""
        X, n, d, y, w, Xv, nv, yv, wv = fit_arrays(X, y, sample_weight, eval_set, "y")
        self._run_with_progress(progress, lambda: _fit(
            self._h, _lib.ptr(X), n, d, _lib.ptr(y), _lib.ptr(w),
            _lib.ptr(Xv), nv, _lib.ptr(yv), _lib.ptr(wv)))
        return self

    def fit_from(self, base, X, y, sample_weight=None, eval_set=None, progress=None):
        """Continues boosting from the fitted forest ``base``: this forest
        becomes base's trees plus its own ``rounds`` new rounds fitted on
        (X, y), starting from base's predictions (``base`` may be ``self``).
        For a sample that differs little from base's training sample: the
        new trees model the difference.  base needs the same levels,
        ``multi`` and number of features.  Arguments as :meth:`fit`; returns
        ``self``."""
        if not isinstance(base, QuantileForest):
            raise TypeError("base: expected a QuantileForest")
        X, n, d, y, w, Xv, nv, yv, wv = fit_arrays(X, y, sample_weight, eval_set, "y")
        self._run_with_progress(progress, lambda: _fit_from(
            self._h, base._h, _lib.ptr(X), n, d, _lib.ptr(y), _lib.ptr(w),
            _lib.ptr(Xv), nv, _lib.ptr(yv), _lib.ptr(wv)))
        return self

    def predict(self, X, out=None):
        """Quantiles of every level: (n, n_levels) float32, each row
        non-decreasing.  ``X`` (n, d) is passed without a copy when it is
        float32 and C-contiguous.  ``out``: optional float32 C-contiguous
        (n, n_levels) array to write into."""
        h = self._h
        X = as_2d_f32(X, d=self.n_features or None)
        n = X.shape[0]
        k = self.n_levels
        if out is None:
            out = _lib.empty((n, k), np.float32)
        elif not (isinstance(out, np.ndarray) and out.dtype == np.float32
                  and out.flags.c_contiguous and out.shape == (n, k)):
            raise ValueError("out: expected a C-contiguous float32 array of shape (%d, %d)"
                             % (n, k))
        _predict(h, _lib.ptr(X), n, X.shape[1], _lib.ptr(out))
        return out

    def pinball_loss(self, X, y, sample_weight=None):
        """Mean (weighted) pinball loss rho_tau(y - q_tau(x)) over the rows
        and the levels: the loss the forest minimises."""
        q = self.predict(X).astype(np.float64)
        y = as_1d(y, np.float64, "y", q.shape[0])
        tau = self.levels
        r = y[:, None] - q
        loss = (r * (tau[None, :] - (r < 0))).mean(axis=1)
        if sample_weight is None:
            return float(loss.mean())
        w = as_1d(sample_weight, np.float64, "sample_weight", q.shape[0])
        return float(np.sum(w * loss) / np.sum(w))

    def score(self, X, y, sample_weight=None):
        """Minus the mean pinball loss (larger is better, scikit-learn
        convention)."""
        return -self.pinball_loss(X, y, sample_weight)

    def predict_level(self, X, tau):
        """Quantile of one of the fitted levels ``tau`` (n,)."""
        lv = self.levels
        i = np.flatnonzero(np.isclose(lv, tau, rtol=0, atol=1e-12))
        if i.size == 0:
            raise ValueError("tau=%r is not one of the fitted levels %s" % (tau, lv.tolist()))
        return self.predict(X)[:, int(i[0])]


declare_model(QuantileForest, 1)
