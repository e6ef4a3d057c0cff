"""Morpher through the bindings (skipped, visibly, while the loaded
libwrecoil has no wr_morpher)."""
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import wrecoil
from conftest import has_symbol

pytestmark = pytest.mark.skipif(not has_symbol("wr_morpher_create"),
                                reason="wr_morpher not in this libwrecoil yet")


@pytest.fixture(scope="module")
def samples():
    """y | z: a shifted, wider Gaussian and a rescaled exponential in the data."""
    rng = np.random.default_rng(5)
    n = 4000
    z_s = rng.uniform(0, 10, (n, 1)).astype(np.float32)
    z_d = rng.uniform(0, 10, (n, 1)).astype(np.float32)
    y_s = np.c_[rng.exponential(1 + 0.2 * z_s[:, 0]), rng.normal(0.1 * z_s[:, 0], 1.0)]
    y_d = np.c_[1.3 * rng.exponential(1 + 0.2 * z_d[:, 0]), rng.normal(0.1 * z_d[:, 0] + 0.5, 1.3)]
    return z_s, y_s.astype(np.float32), z_d, y_d.astype(np.float32)


@pytest.fixture(scope="module")
def morpher(samples):
    z_s, y_s, z_d, y_d = samples
    m = wrecoil.Morpher(2, 1, bounds=[(0, "inf"), None],
                        forest_params={"rounds": 40, "max_leaves": 8}, threads=1)
    return m.fit(z_s, y_s, z_d, y_d)


def test_morpher_moves_sim_to_data(morpher, samples):
    z_s, y_s, z_d, y_d = samples
    assert morpher.is_fitted and morpher.n_y == 2 and morpher.n_z == 1
    assert morpher.bounds[0] == (0.0, np.inf)
    y2, u = morpher.apply(z_s, y_s, return_u=True)
    assert y2.dtype == np.float32 and y2.shape == y_s.shape and u.dtype == np.float64
    assert np.all(y2[:, 0] >= 0)                                  # the bound holds
    assert np.all((u > 0) & (u < 1))
    # marginal moments move to the data's
    for j in range(2):
        assert abs(y2[:, j].mean() - y_d[:, j].mean()) < 0.35 * abs(y_s[:, j].mean() - y_d[:, j].mean()) + 0.05
        assert abs(y2[:, j].std() - y_d[:, j].std()) < 0.5 * abs(y_s[:, j].std() - y_d[:, j].std()) + 0.05
    # monotone in y_0 at fixed z
    zz = np.full((50, 1), 5.0, np.float32)
    yy = np.c_[np.linspace(0.1, 5, 50), np.zeros(50)].astype(np.float32)
    assert np.all(np.diff(morpher.apply(zz, yy)[:, 0]) > 0)


def test_morpher_data_forest_from_sim(samples):
    """The data forests continue the simulation's: the map still moves the
    simulation to the data, the parameter survives pickling, and between two
    samples of one distribution it stays closer to the identity than
    separate forests."""
    z_s, y_s, z_d, y_d = samples
    m = wrecoil.Morpher(2, 1, bounds=[(0, "inf"), None], data_forest="from_sim",
                        forest_params={"rounds": 40, "max_leaves": 8}, threads=1)
    m.set_forest_params({"rounds": 20, "max_leaves": 4, "min_samples_leaf": 200},
                        direction="data")
    y2 = m.fit(z_s, y_s, z_d, y_d).apply(z_s, y_s)
    assert m.get_params()["data_forest"] == "from_sim"
    for j in range(2):
        assert abs(y2[:, j].mean() - y_d[:, j].mean()) < 0.35 * abs(y_s[:, j].mean() - y_d[:, j].mean()) + 0.05
    assert pickle.loads(pickle.dumps(m)).get_params()["data_forest"] == "from_sim"
    rng = np.random.default_rng(9)
    z_b = rng.uniform(0, 10, (4000, 1)).astype(np.float32)
    y_b = np.c_[rng.exponential(1 + 0.2 * z_b[:, 0]), rng.normal(0.1 * z_b[:, 0], 1.0)].astype(np.float32)
    dist = {}
    for mode in ("separate", "from_sim"):
        mm = wrecoil.Morpher(2, 1, bounds=[(0, "inf"), None], data_forest=mode,
                             forest_params={"rounds": 40, "max_leaves": 8}, threads=1)
        if mode == "from_sim":
            mm.set_forest_params({"rounds": 20, "max_leaves": 4, "min_samples_leaf": 400},
                                 direction="data")
        dist[mode] = np.sqrt(np.mean((mm.fit(z_s, y_s, z_b, y_b).apply(z_s, y_s) - y_s) ** 2, axis=0))
    assert np.all(dist["from_sim"] < 0.6 * dist["separate"]), dist   # measured 0.41, 0.49


def test_morpher_round_trips_threads_and_in_place(morpher, samples, tmp_path):
    z_s, y_s, _, _ = samples
    ref = morpher.apply(z_s, y_s)
    for other in (wrecoil.Morpher.from_bytes(morpher.to_bytes()), pickle.loads(pickle.dumps(morpher))):
        np.testing.assert_array_equal(other.apply(z_s, y_s), ref)
        assert other.bounds == morpher.bounds
    morpher.save(tmp_path / "m.wrm")
    np.testing.assert_array_equal(wrecoil.load_model(tmp_path / "m.wrm").apply(z_s, y_s), ref)
    parts = np.array_split(np.arange(len(y_s)), 6)
    with ThreadPoolExecutor(3) as ex:
        got = list(ex.map(lambda i: morpher.apply(z_s[i], y_s[i]), parts))
    np.testing.assert_array_equal(np.concatenate(got), ref)
    y = y_s.copy()
    assert morpher.apply(z_s, y, out=y) is y                      # in place
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(morpher.apply(z_s.astype(np.float64), y_s.astype(np.float64)), ref)


def test_morpher_errors(morpher, samples):
    z_s, y_s, z_d, y_d = samples
    with pytest.raises(ValueError, match="y_"):
        morpher.apply(z_s, y_s[:, :1])
    with pytest.raises(ValueError, match="z_"):
        morpher.apply(z_s[:10], y_s)
    bad = y_s[:5].copy()
    bad[0, 0] = -3.0                                               # below the bound 0
    with pytest.raises(wrecoil.Error) as ei:
        morpher.apply(z_s[:5], bad)
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    bad[0, 0] = np.nan
    with pytest.raises(wrecoil.Error):
        morpher.apply(z_s[:5], bad)
    m = wrecoil.Morpher(1, 0)
    with pytest.raises(wrecoil.Error) as ei:
        m.apply(None, np.zeros((3, 1)))
    assert ei.value.code == wrecoil.Status.NOT_FITTED
    with pytest.raises(wrecoil.Error):
        m.set_forest_params({"no_such": 1})
    with pytest.raises(wrecoil.Error):
        m.set_params(interpolation="cubic-spline")
    with pytest.raises(wrecoil.Error):
        wrecoil.Morpher(0, 1)
    with pytest.raises(ValueError, match="bounds"):
        wrecoil.Morpher(2, 1, bounds=[(0, 1)])
    with pytest.raises(ValueError, match="direction"):
        m.set_forest_params("rounds=3", direction="up")
    with pytest.raises(wrecoil.Error):
        m.set_bounds(5, 0, 1)                 # no variable 5
    with pytest.raises(wrecoil.Error):
        m.set_bounds(0, 1, 0)                 # lo > hi


def test_morpher_progress_and_cancel(samples):
    z_s, y_s, z_d, y_d = samples
    m = wrecoil.Morpher(1, 1, forest_params="rounds=5", threads=1)
    stages = []
    m.fit(z_s, y_s[:, 0], z_d, y_d[:, 0], progress=lambda s, *a: stages.append(s))
    assert "morpher.fit" in stages and "forest.fit" in stages
    before = m.apply(z_s, y_s[:, :1])
    with pytest.raises(wrecoil.Error) as ei:
        m.fit(z_s, y_s[:, 0], z_d, y_d[:, 0], progress=lambda s, step, *a: s == "forest.fit" and step == 3)
    assert ei.value.code == wrecoil.Status.CANCELLED
    np.testing.assert_array_equal(m.apply(z_s, y_s[:, :1]), before)
    assert m.get_forest_params("sim") == "rounds=5"


def test_unfitted_morpher_pickles_its_setup():
    m = wrecoil.Morpher(2, 3, levels=[0.1, 0.5, 0.9], bounds=[(0, "inf"), ("-pi", "pi")],
                        interpolation="pchip", threads=1)
    m.set_forest_params({"rounds": 7}, "sim").set_forest_params("max_leaves=4", "data")
    c = pickle.loads(pickle.dumps(m))
    assert not c.is_fitted and (c.n_y, c.n_z) == (2, 3)
    np.testing.assert_array_equal(c.levels, [0.1, 0.5, 0.9])
    assert c.bounds == m.bounds and c.bounds[1] == pytest.approx((-np.pi, np.pi))
    assert c.get_forest_params("sim") == "rounds=7" and c.get_forest_params("data") == "max_leaves=4"
    assert c.get_params() == m.get_params() and c.get_param("interpolation") == "pchip"
