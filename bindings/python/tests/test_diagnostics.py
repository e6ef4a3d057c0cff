"""wrecoil.diagnostics: the classifier two-sample test and z-reweighting.

Analytic expectations: for two unit Gaussians whose means differ by delta
the optimal classifier's AUC is Phi(delta / sqrt(2)); identical samples give
0.5 within the test's own error; the density ratio of N(mu, 1) to N(0, 1) is
exp(mu z - mu^2 / 2).
"""
import math

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from wrecoil import diagnostics  # noqa: E402


def _phi(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_auc_of_shifted_gaussians_matches_analytic():
    rng = np.random.default_rng(1)
    delta = 0.5
    a = rng.normal(0.0, 1.0, (20000, 1))
    b = rng.normal(delta, 1.0, (20000, 1))
    auc, err = diagnostics.two_sample_auc(a, b, seed=3, return_error=True)
    expect = _phi(delta / math.sqrt(2.0))
    assert 0.0 < err < 0.01
    assert abs(auc - expect) < 4 * err + 0.005


def test_auc_of_identical_distributions_is_one_half():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(10000, 2))
    b = rng.normal(size=(10000, 2))
    auc, err = diagnostics.two_sample_auc(a, b, seed=4, return_error=True)
    assert abs(auc - 0.5) < 4 * err


def test_z_weights_remove_a_marginal_difference():
    # sim and data differ only in z; y | z is the same: weighting the
    # simulation by w(z) must bring the (z, y) AUC back to 0.5.
    rng = np.random.default_rng(5)
    n = 20000
    zs = rng.normal(0.0, 1.0, n)
    zd = rng.normal(0.4, 1.0, n)
    sim = np.c_[zs, zs + rng.normal(size=n)]
    data = np.c_[zd, zd + rng.normal(size=n)]
    before, err_b = diagnostics.two_sample_auc(sim, data, seed=6, return_error=True)
    w = diagnostics.density_ratio_weights(zs, zd, seed=7)
    assert w.shape == (n,)
    assert abs(np.mean(w) - 1.0) < 1e-9
    exact = np.exp(0.4 * zs - 0.08)
    exact /= exact.mean()
    core = np.abs(zs) < 1.5
    assert np.median(np.abs(w[core] / exact[core] - 1.0)) < 0.15
    after, err_a = diagnostics.two_sample_auc(sim, data, w=w, seed=6, return_error=True)
    assert before - 0.5 > 5 * err_b
    assert abs(after - 0.5) < 4 * err_a + 0.01


def test_bad_input_is_rejected():
    a = np.zeros((10, 2))
    with pytest.raises(ValueError):
        diagnostics.two_sample_auc(a, np.zeros((10, 3)))
    with pytest.raises(ValueError):
        diagnostics.two_sample_auc(np.full((10, 2), np.nan), a)
    with pytest.raises(ValueError):
        diagnostics.two_sample_auc(a, a, w=-np.ones(10))
    with pytest.raises(ValueError):
        diagnostics.two_sample_auc(a, a, test_fraction=1.0)
    with pytest.raises(ValueError):
        diagnostics.density_ratio_weights(a, a, folds=1)
