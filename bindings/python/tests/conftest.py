"""Shared fixtures of the binding tests: small toy samples and small fitted
models, built once per session (the whole suite stays fast)."""
import os
import sys

import numpy as np
import pytest

PKG_PARENT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if PKG_PARENT not in sys.path:
    sys.path.insert(0, PKG_PARENT)

import wrecoil  # noqa: E402

ROOT = os.path.abspath(os.path.join(PKG_PARENT, "..", ".."))
SHARED_DATA = os.environ.get("WR_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))


def pytest_configure(config):
    config.addinivalue_line("markers", "dask: needs dask + distributed and starts a "
                            "LocalCluster (deselect with -m 'not dask')")


def has_symbol(name):
    return hasattr(wrecoil._lib.lib, name)


@pytest.fixture(scope="session")
def w_sample():
    """2000 W toy events: the event table (as a dict of columns), the
    particles, and the features computed from the particles."""
    toy = wrecoil.Toy("W", "mc")
    tab = toy.table(seed=11, n=2000, nthreads=2)
    cols = {c: tab[:, i] for i, c in enumerate(wrecoil.toy.table_columns())}
    parts = toy.particles(seed=11, n=2000, nthreads=2)
    feats = wrecoil.recoil_features(parts, htrue=parts.truth[:, -2:], nthreads=2)
    toy.close()
    return {"table": tab, "cols": cols, "particles": parts, "feats": feats}


@pytest.fixture(scope="session")
def xy():
    """A regression problem with a known answer: t = x0 + (0.5 + 0.5 |x1|) e."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 3)).astype(np.float32)
    t = (X[:, 0] + (0.5 + 0.5 * np.abs(X[:, 1])) * rng.normal(size=3000)).astype(np.float32)
    return X, t


@pytest.fixture(scope="session")
def forest(xy):
    X, t = xy
    return wrecoil.QuantileForest(levels=[0.1, 0.5, 0.9], rounds=30, max_leaves=8,
                                  threads=1, seed=3).fit(X, t)


@pytest.fixture(scope="session")
def regressor(xy):
    X, t = xy
    return wrecoil.Regressor(family="gauss", hidden=(16, 16), epochs=8, batch_size=128,
                             learning_rate=0.01, threads=1, seed=2).fit(X, t)
