"""Two-sample diagnostics for calibrations (pure numpy / scikit-learn).

The question a calibration must answer is whether simulated events are
distinguishable from data events.  The classifier two-sample test answers it
with one number: train a classifier to tell the two samples apart and
measure its ROC AUC on held-out events.  0.5 means indistinguishable; the
test's own noise is measured by running it between two halves of one sample
(the "null").

Morphing changes f(y | z) and never the z marginal, so when the samples
differ in z too, reweight the simulation by w(z) = p_data(z) / p_sim(z)
first (:func:`density_ratio_weights`) and pass those weights as ``w``: the
test then measures the conditional difference only.

This module imports nothing else from wrecoil, so it can be used (and
imported by the benchmarks) without the compiled library.
"""

import numpy as np

__all__ = ["two_sample_auc", "density_ratio_weights"]


def _as_2d(x, name):
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name}: need a non-empty (n, d) array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or Inf")
    return a


def _as_weights(w, n, name):
    if w is None:
        return np.ones(n)
    a = np.asarray(w, dtype=np.float64).reshape(-1)
    if a.shape[0] != n:
        raise ValueError(f"{name}: {a.shape[0]} weights for {n} events")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or not a.sum() > 0:
        raise ValueError(f"{name}: weights must be finite, >= 0 and not all zero")
    return a


def _classifier(seed, max_iter, **kw):
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = dict(max_iter=max_iter, learning_rate=0.1, max_leaf_nodes=31,
                  early_stopping=True, validation_fraction=0.2,
                  n_iter_no_change=10, random_state=seed)
    params.update(kw)
    return HistGradientBoostingClassifier(**params)


def _split(n, test_fraction, rng):
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: int(round(n * test_fraction))]] = True
    return test


def two_sample_auc(sim, data, w=None, w_data=None, test_fraction=0.5,
                   seed=0, max_iter=200, return_error=False, **classifier_kw):
    """Held-out ROC AUC of a classifier separating ``sim`` from ``data``.

    sim, data : (n, d) arrays of the same d columns (e.g. z and y).
    w, w_data : optional non-negative event weights (e.g. w(z) for sim).
    The classes are balanced by total weight (each class sums to the same
    weight), so the AUC does not depend on the sample sizes.  A share
    ``test_fraction`` of each sample is held out; the AUC is the weighted
    ROC AUC on it.  scikit-learn's HistGradientBoostingClassifier with early
    stopping is the classifier (``classifier_kw`` overrides its settings).

    Returns the AUC, or (auc, standard error) with ``return_error``: the
    Hanley-McNeil error with the effective (Kish) numbers of held-out events.
    """
    from sklearn.metrics import roc_auc_score

    a = _as_2d(sim, "sim")
    b = _as_2d(data, "data")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"sim has {a.shape[1]} columns, data {b.shape[1]}")
    wa = _as_weights(w, a.shape[0], "w")
    wb = _as_weights(w_data, b.shape[0], "w_data")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be inside (0, 1)")
    rng = np.random.default_rng(seed)
    x = np.vstack([a, b])
    label = np.r_[np.zeros(len(a)), np.ones(len(b))]
    weight = np.r_[wa / wa.sum(), wb / wb.sum()]
    test = np.r_[_split(len(a), test_fraction, rng), _split(len(b), test_fraction, rng)]
    train = ~test
    clf = _classifier(seed, max_iter, **classifier_kw)
    # rebalance the training part: equal total weight per class
    wt = weight[train].copy()
    lt = label[train]
    for c in (0, 1):
        wt[lt == c] /= wt[lt == c].sum()
    clf.fit(x[train], lt, sample_weight=wt * len(wt) / 2.0)
    score = clf.predict_proba(x[test])[:, 1]
    we = weight[test].copy()
    le = label[test]
    for c in (0, 1):
        we[le == c] /= we[le == c].sum()
    auc = float(roc_auc_score(le, score, sample_weight=we))
    if not return_error:
        return auc
    n0 = _kish(we[le == 0])
    n1 = _kish(we[le == 1])
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc ** 2) + (n0 - 1) * (q2 - auc ** 2)) / (n0 * n1)
    return auc, float(np.sqrt(max(var, 0.0)))


def _kish(w):
    return float(w.sum() ** 2 / np.sum(w * w))


def density_ratio_weights(sim_z, data_z, w=None, w_data=None, folds=2,
                          seed=0, clip=(0.02, 50.0), max_iter=200, **classifier_kw):
    """Weights w(z) = p_data(z) / p_sim(z) for the simulated events.

    A classifier on z alone (classes balanced by total weight) estimates
    c(z) = P(data | z); then w = c / (1 - c), normalised to mean 1 over the
    simulation.  Cross-fitted over ``folds`` folds so no event is weighted by
    a model that saw it; clipped to ``clip`` against extreme ratios.
    Returns an array with one weight per simulated event.
    """
    a = _as_2d(sim_z, "sim_z")
    b = _as_2d(data_z, "data_z")
    wa = _as_weights(w, a.shape[0], "w")
    wb = _as_weights(w_data, b.shape[0], "w_data")
    if folds < 2:
        raise ValueError("folds must be at least 2")
    rng = np.random.default_rng(seed)
    fa = rng.integers(0, folds, len(a))
    fb = rng.integers(0, folds, len(b))
    out = np.empty(len(a))
    for k in range(folds):
        ta, tb = fa != k, fb != k
        x = np.vstack([a[ta], b[tb]])
        label = np.r_[np.zeros(ta.sum()), np.ones(tb.sum())]
        sw = np.r_[wa[ta] / wa[ta].sum(), wb[tb] / wb[tb].sum()] * len(label) / 2.0
        clf = _classifier(seed + k, max_iter, **classifier_kw)
        clf.fit(x, label, sample_weight=sw)
        c = clf.predict_proba(a[fa == k])[:, 1]
        c = np.clip(c, 1e-6, 1 - 1e-6)
        out[fa == k] = c / (1 - c)
    out = np.clip(out / np.average(out, weights=wa), *clip)
    return out / np.average(out, weights=wa)
