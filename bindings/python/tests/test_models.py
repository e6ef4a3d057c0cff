"""QuantileForest and Regressor through the bindings: fit/predict against
known answers and the C library's own functions, persistence (bytes,
pickle, files, a second handle), error mapping, bad input, progress
callbacks, closed handles and threads."""
import copy
import math
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import wrecoil


# ---------------------------------------------------------------- forest
def test_forest_fit_predict(forest, xy):
    X, t = xy
    q = forest.predict(X)
    assert q.shape == (3000, 3) and q.dtype == np.float32
    assert np.all(np.diff(q, axis=1) >= 0)                       # never crossing
    cover = [(t <= q[:, j]).mean() for j in range(3)]
    np.testing.assert_allclose(cover, [0.1, 0.5, 0.9], atol=0.04)  # calibrated on training data
    np.testing.assert_array_equal(forest.levels, [0.1, 0.5, 0.9])
    assert forest.n_features == 3 and forest.n_rounds == 30 and forest.is_fitted
    assert forest.get_params()["max_leaves"] == 8
    np.testing.assert_array_equal(forest.predict_level(X[:10], 0.5), q[:10, 1])
    # the pinball loss: by hand, and the fit lowers it compared with constant quantiles
    r = t[:, None].astype(np.float64) - q
    by_hand = np.mean(r * (np.array([0.1, 0.5, 0.9]) - (r < 0)))
    assert forest.pinball_loss(X, t) == pytest.approx(by_hand, rel=1e-12)
    rc = t[:, None] - np.quantile(t, [0.1, 0.5, 0.9])[None, :]
    assert forest.pinball_loss(X, t) < 0.9 * np.mean(rc * (np.array([0.1, 0.5, 0.9]) - (rc < 0)))
    assert forest.score(X, t, sample_weight=np.ones(len(t))) == pytest.approx(-by_hand, rel=1e-12)
    with pytest.raises(ValueError, match="levels"):
        forest.predict_level(X[:10], 0.3)
    assert "QuantileForest" in repr(forest)


def test_forest_fit_from_continues_and_checks_base(forest, xy):
    X, t = xy
    # 30 rounds from scratch == 20 rounds continued by 10 (same bins, streams, sums)
    kw = dict(levels=[0.1, 0.5, 0.9], max_leaves=8, threads=1, seed=3)
    base = wrecoil.QuantileForest(rounds=20, **kw).fit(X, t)
    more = wrecoil.QuantileForest(rounds=10, **kw).fit_from(base, X, t)
    assert more.n_rounds == 30 and base.n_rounds == 20
    np.testing.assert_array_equal(more.predict(X), forest.predict(X))
    # a shifted sample: a few shallow rounds learn the shift on top of base
    kw2 = dict(rounds=20, max_depth=1, learning_rate=0.5, **kw)
    same = wrecoil.QuantileForest(**kw2).fit_from(base, X, t)
    shifted = wrecoil.QuantileForest(**kw2).fit_from(base, X, t + 1.0)
    np.testing.assert_allclose(np.median(shifted.predict(X) - same.predict(X), axis=0),
                               1.0, atol=0.05)
    with pytest.raises(TypeError):
        wrecoil.QuantileForest(**kw).fit_from("base", X, t)
    with pytest.raises(wrecoil.Error, match="WR_ERR_NOT_FITTED"):
        wrecoil.QuantileForest(**kw).fit_from(wrecoil.QuantileForest(**kw), X, t)
    with pytest.raises(wrecoil.Error, match="WR_ERR_INVALID_ARG.*levels"):
        wrecoil.QuantileForest(levels=[0.2, 0.8]).fit_from(base, X, t)
    with pytest.raises(wrecoil.Error, match="WR_ERR_INVALID_ARG.*features"):
        wrecoil.QuantileForest(**kw).fit_from(base, X[:, :2], t)


def test_forest_default_levels():
    with wrecoil.QuantileForest() as f:
        np.testing.assert_allclose(f.levels, wrecoil.forest.DEFAULT_LEVELS)
        assert not f.is_fitted
        with pytest.raises(wrecoil.Error) as ei:
            f.predict(np.zeros((2, 3), np.float32))
        assert ei.value.code == wrecoil.Status.NOT_FITTED
        with pytest.raises(wrecoil.Error) as ei:
            f.to_bytes()
        assert ei.value.code == wrecoil.Status.NOT_FITTED


def test_forest_round_trips(forest, xy, tmp_path):
    X, _ = xy
    ref = forest.predict(X)
    data = forest.to_bytes()
    assert wrecoil.inspect_model(data).kind_name == "quantile_forest"
    with wrecoil.QuantileForest.from_bytes(data) as second:       # a second C handle
        np.testing.assert_array_equal(second.predict(X), ref)
        assert second.to_bytes() == data
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(forest)).predict(X), ref)
    np.testing.assert_array_equal(copy.deepcopy(forest).predict(X), ref)
    forest.save(tmp_path / "f.wrm")
    np.testing.assert_array_equal(wrecoil.QuantileForest.load(tmp_path / "f.wrm").predict(X), ref)
    np.testing.assert_array_equal(wrecoil.load_model(tmp_path / "f.wrm").predict(X), ref)
    assert isinstance(wrecoil.load_model(data), wrecoil.QuantileForest)


def test_corrupt_and_wrong_kind_bytes(forest, regressor):
    data = forest.to_bytes()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x40
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.QuantileForest.from_bytes(bytes(bad))
    assert ei.value.code == wrecoil.Status.FORMAT
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.QuantileForest.from_bytes(data[:40])
    assert ei.value.code == wrecoil.Status.FORMAT
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.Regressor.from_bytes(data)
    assert ei.value.code == wrecoil.Status.WRONG_KIND
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.QuantileForest.load("/nonexistent/dir/f.wrm")
    assert ei.value.code == wrecoil.Status.IO and "/nonexistent/dir/f.wrm" in ei.value.message


def test_forest_input_conversion_and_bad_input(forest, xy):
    X, _ = xy
    ref = forest.predict(X[:100])
    np.testing.assert_array_equal(forest.predict(X[:100].astype(np.float64)), ref)
    np.testing.assert_array_equal(forest.predict(np.asfortranarray(X[:100])), ref)
    wide = np.zeros((100, 6), np.float32)
    wide[:, ::2] = X[:100]
    np.testing.assert_array_equal(forest.predict(wide[:, ::2]), ref)      # non-contiguous view
    np.testing.assert_array_equal(forest.predict(X[:100].tolist()), ref)
    out = np.empty((100, 3), np.float32)
    assert forest.predict(X[:100], out=out) is out
    with pytest.raises(ValueError, match="out"):
        forest.predict(X[:100], out=np.empty((100, 3)))
    with pytest.raises(ValueError, match="3 columns"):
        forest.predict(X[:, :2])
    with pytest.raises(ValueError, match="dimensions"):
        forest.predict(X[0])
    with pytest.raises(ValueError, match="X"):
        forest.predict([["a", "b", "c"]])
    assert forest.predict(np.zeros((0, 3), np.float32)).shape == (0, 3)
    # NaN in prediction input: a clear answer either way, never a crash
    Xn = X[:5].copy()
    Xn[2, 1] = np.nan
    try:
        q = forest.predict(Xn)
        assert q.shape == (5, 3)
    except wrecoil.Error as e:
        assert e.code == wrecoil.Status.INVALID_ARG


def test_forest_fit_errors_leave_model(xy):
    X, t = xy
    f = wrecoil.QuantileForest(levels=[0.5], rounds=5, threads=1)
    with pytest.raises(ValueError, match="y"):
        f.fit(X, t[:-1])
    tn = t.copy()
    tn[17] = np.nan
    with pytest.raises(wrecoil.Error) as ei:
        f.fit(X, tn)
    assert ei.value.code == wrecoil.Status.INVALID_ARG and "17" in ei.value.message
    with pytest.raises(wrecoil.Error) as ei:
        f.fit(X, t, sample_weight=-np.ones(len(t)))
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    assert not f.is_fitted
    with pytest.raises(ValueError, match="eval_set"):
        f.fit(X, t, eval_set=(X,))


def test_params_mapping():
    f = wrecoil.QuantileForest(levels=[0.2, 0.8], rounds=7, learning_rate=0.25, multi="independent")
    assert f.get_param("rounds") == "7"
    assert f.get_params()["learning_rate"] == 0.25 and f.get_params()["multi"] == "independent"
    f.set_params({"max_depth": 3}, subsample=0.5)
    assert f.get_params()["max_depth"] == 3 and f.get_params()["subsample"] == 0.5
    with pytest.raises(wrecoil.Error) as ei:
        f.set_params(rounds=3, no_such_key=1)          # all or nothing
    assert ei.value.code == wrecoil.Status.INVALID_ARG and "no_such_key" in ei.value.message
    assert f.get_param("rounds") == "7"
    with pytest.raises(wrecoil.Error):
        f.set_params(rounds=0)
    with pytest.raises(wrecoil.Error):
        f.set_params(rounds="many")
    with pytest.raises(ValueError):
        f.set_params(rounds="1 2")
    with pytest.raises(TypeError):
        f.set_params(rounds=object())
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.QuantileForest(levels=[0.5, 0.2])
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    r = wrecoil.Regressor(hidden=[8, 4], family="gauss", l2=1e-4)
    assert r.get_param("hidden") == "8,4" and r.get_params()["family"] == "gauss"
    assert wrecoil._model.format_params(a=True, b=(1, 2.5), c=float("inf")) == "a=1 b=1,2.5 c=inf"


def test_closed_handle_raises(xy):
    X, t = xy
    f = wrecoil.QuantileForest(levels=[0.5], rounds=3, threads=1).fit(X[:200], t[:200])
    f.close()
    f.close()
    assert f.closed and "closed" in repr(f)
    for call in (lambda: f.predict(X), lambda: f.to_bytes(), lambda: f.levels,
                 lambda: f.fit(X, t), lambda: pickle.dumps(f), lambda: f.set_params(rounds=2)):
        with pytest.raises(wrecoil.Error, match="closed"):
            call()
    with wrecoil.Regressor() as r:
        pass
    with pytest.raises(wrecoil.Error, match="closed"):
        r.predict(X)


def test_progress_callback_and_cancel(xy):
    X, t = xy
    seen = []
    f = wrecoil.QuantileForest(levels=[0.5], rounds=6, threads=1)
    f.fit(X, t, eval_set=(X[:500], t[:500]),
          progress=lambda stage, step, total, m1, m2: seen.append((stage, step, total, m1, m2)))
    assert [s[1] for s in seen] == list(range(1, 7)) and all(s[0] == "forest.fit" for s in seen)
    assert all(s[2] == 6 and s[3] > 0 and s[4] > 0 for s in seen)
    before = f.predict(X)
    f.set_params(rounds=20)
    with pytest.raises(wrecoil.Error) as ei:
        f.fit(X, t, progress=lambda stage, step, *a: step >= 3)     # True cancels
    assert ei.value.code == wrecoil.Status.CANCELLED
    np.testing.assert_array_equal(f.predict(X), before)            # previous model kept
    assert f.n_rounds == 6

    class Stop(Exception):
        pass

    def boom(stage, step, *a):
        if step == 2:
            raise Stop("from the callback")

    with pytest.raises(Stop):
        f.fit(X, t, progress=boom)
    np.testing.assert_array_equal(f.predict(X), before)
    f.fit(X[:300], t[:300])                                       # callback removed
    assert f.n_rounds == 20


def test_float32_contiguous_inputs_are_not_copied(xy):
    X, t = xy
    assert wrecoil._model.as_2d_f32(X) is X
    assert wrecoil._model.as_1d(t, np.float32, "t") is t
    assert wrecoil._model.as_2d_f32(X.astype(np.float64)) is not X


def test_threads_share_one_handle(forest, regressor, xy):
    X, _ = xy
    parts = np.array_split(X, 8)
    ref_f = [forest.predict(p) for p in parts]
    ref_r = [regressor.summary(p) for p in parts]
    with ThreadPoolExecutor(4) as ex:
        got_f = list(ex.map(forest.predict, parts * 3))
        got_r = list(ex.map(regressor.summary, parts * 3))
    for i, g in enumerate(got_f):
        np.testing.assert_array_equal(g, ref_f[i % 8])
    for i, g in enumerate(got_r):
        np.testing.assert_array_equal(g, ref_r[i % 8])


# ------------------------------------------------------------- regressor
def test_regressor_learns_and_helpers_agree(regressor, xy):
    X, t = xy
    assert regressor.is_fitted and regressor.family == "gauss" and regressor.n_params == 2
    p = regressor.predict(X)
    assert p.shape == (3000, 2) and p.dtype == np.float64 and np.all(p[:, 1] > 0)
    # the mean follows x0, the width grows with |x1|
    assert np.corrcoef(p[:, 0], X[:, 0])[0, 1] > 0.9
    assert np.corrcoef(p[:, 1], np.abs(X[:, 1]))[0, 1] > 0.5
    # helpers == the pdf functions of the C library on the predicted parameters
    s = regressor.summary(X)
    np.testing.assert_array_equal(s, wrecoil.pdf_summary("gauss", p))
    np.testing.assert_array_equal(regressor.mean(X), s[:, 2])
    np.testing.assert_array_equal(regressor.median(X), s[:, 1])
    np.testing.assert_array_equal(regressor.mode(X), s[:, 0])
    np.testing.assert_allclose(s[:, 2], p[:, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(regressor.mean_exp(X), np.exp(p[:, 0] + p[:, 1] ** 2 / 2), rtol=1e-9)
    tt = np.c_[t, t + 1.0]
    np.testing.assert_allclose(regressor.pdf(X, tt), wrecoil.pdf_density("gauss", p, tt), rtol=1e-12)
    np.testing.assert_allclose(regressor.cdf(X, t), wrecoil.pdf_cdf("gauss", p, t), rtol=1e-12)
    # analytic Gaussian
    z = (tt - p[:, :1]) / p[:, 1:]
    np.testing.assert_allclose(regressor.pdf(X, tt), np.exp(-z * z / 2) / (p[:, 1:] * math.sqrt(2 * math.pi)),
                               rtol=1e-9)
    q = regressor.quantile(X, [0.16, 0.5, 0.84])
    assert q.shape == (3000, 3)
    np.testing.assert_allclose(q[:, 1], p[:, 0], atol=1e-9)
    np.testing.assert_allclose(regressor.cdf(X, q), np.broadcast_to([0.16, 0.5, 0.84], q.shape),
                               atol=1e-9)
    np.testing.assert_array_equal(regressor.quantile(X, 0.5), q[:, 1])
    pit = regressor.pit(X, t)
    np.testing.assert_allclose(pit, wrecoil.pdf_cdf("gauss", p, t.astype(np.float64)), rtol=1e-6, atol=1e-7)
    hist = np.histogram(pit, bins=10, range=(0, 1))[0] / len(pit)
    assert np.all(np.abs(hist - 0.1) < 0.04)                        # calibrated
    nll = regressor.nll(X, t)
    assert nll == pytest.approx(wrecoil.pdf_nll("gauss", p, t), rel=1e-6)
    assert regressor.score(X, t) == -nll
    grid = np.linspace(-6, 6, 25)
    mix = regressor.mixture_cdf(X, grid)
    np.testing.assert_allclose(mix, wrecoil.pdf_cdf("gauss", p, np.broadcast_to(grid, (3000, 25))).mean(0),
                               rtol=1e-9, atol=1e-12)
    epochs, best = regressor.fit_info
    assert 1 <= best <= epochs <= 8


def test_pdf_functions_analytic():
    p = np.array([[0.0, 1.0, 1.5, 2.0], [1.0, 0.5, 1.0, 1.0]])
    t = np.array([[-3.0, 0.0, 3.0], [0.0, 1.0, 2.0]])
    d = wrecoil.pdf_density("gaussexp2", p, t)
    # continuity of the tails: normalised density from the closed form
    a1, a2 = p[:, 2:3], p[:, 3:4]
    I = np.sqrt(np.pi / 2) * (np.vectorize(math.erf)(a1 / np.sqrt(2)) + np.vectorize(math.erf)(a2 / np.sqrt(2))) \
        + np.exp(-a1 ** 2 / 2) / a1 + np.exp(-a2 ** 2 / 2) / a2
    u = (t - p[:, :1]) / p[:, 1:2]
    f = np.where(u < -a1, np.exp(a1 ** 2 / 2 + a1 * u), np.where(u > a2, np.exp(a2 ** 2 / 2 - a2 * u),
                                                                  np.exp(-u * u / 2)))
    np.testing.assert_allclose(d, f / (p[:, 1:2] * I), rtol=1e-10)
    np.testing.assert_allclose(wrecoil.pdf_log_density("gaussexp2", p, t), np.log(d), rtol=1e-10)
    probs = np.array([[0.1, 0.5, 0.9], [0.01, 0.5, 0.99]])
    q = wrecoil.pdf_quantile("gaussexp2", p, probs)
    np.testing.assert_allclose(wrecoil.pdf_cdf("gaussexp2", p, q), probs, atol=1e-10)
    assert wrecoil.pdf_n_params("gauss") == 2 and wrecoil.pdf_n_params(2) == 4
    with pytest.raises(wrecoil.Error, match="mismatch"):
        wrecoil.pdf_density("gauss", p, t)
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.pdf_density("gauss", [[0.0, -1.0]], [0.0])
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    with pytest.raises(ValueError, match="family"):
        wrecoil.pdf_density("cauchy", p, t)
    with pytest.raises(ValueError, match="t"):
        wrecoil.pdf_density("gaussexp2", p, t[:1])
    # one event given as a flat parameter row
    np.testing.assert_allclose(wrecoil.pdf_cdf("gauss", [0.0, 1.0], [0.0]), [0.5])


@pytest.mark.skipif(wrecoil.pdf_n_params(3) != 7, reason="no gaussexp2_flat in this libwrecoil")
def test_pdf_gaussexp2_flat_is_the_documented_mixture():
    ge = np.array([[0.2, 0.8, 1.2, 1.7], [-0.5, 0.3, 2.0, 0.9]])
    flat = np.c_[ge, [0.25, 0.0], [-np.pi, -np.pi], [np.pi, np.pi]]
    t = np.array([[-4.0, -1.0, 0.0, 2.5, 3.0], [-3.0, -0.5, 0.1, 1.0, 4.0]])
    inside = (t >= -np.pi) & (t <= np.pi)
    ref = (1 - flat[:, 4:5]) * wrecoil.pdf_density("gaussexp2", ge, t) + \
        flat[:, 4:5] * inside / (2 * np.pi)
    np.testing.assert_allclose(wrecoil.pdf_density("gaussexp2_flat", flat, t), ref, rtol=1e-10)
    p = np.array([[0.05, 0.5, 0.95]] * 2)
    q = wrecoil.pdf_quantile("gaussexp2_flat", flat, p)
    np.testing.assert_allclose(wrecoil.pdf_cdf("gaussexp2_flat", flat, q), p, atol=1e-9)
    r = wrecoil.Regressor(family="gaussexp2_flat", pedestal_lo=-1, pedestal_hi=1)
    assert r.get_params()["pedestal_lo"] == -1 and r.get_params()["family"] == "gaussexp2_flat"


def test_regressor_round_trips(regressor, xy, tmp_path):
    X, t = xy
    ref = regressor.predict(X)
    data = regressor.to_bytes()
    assert wrecoil.inspect_model(data).kind == 2
    r2 = wrecoil.Regressor.from_bytes(data)
    np.testing.assert_array_equal(r2.predict(X), ref)
    assert r2.get_params() == regressor.get_params() and r2.family == "gauss"
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(regressor)).predict(X), ref)
    regressor.save(str(tmp_path / "r.wrm"))
    np.testing.assert_array_equal(wrecoil.load_model(str(tmp_path / "r.wrm")).pit(X, t),
                                  regressor.pit(X, t))


def test_regressor_bad_input(regressor, xy):
    X, t = xy
    with pytest.raises(ValueError, match="3 columns"):
        regressor.predict(X[:, :1])
    with pytest.raises(ValueError, match="t_true"):
        regressor.pit(X, t[:10])
    with pytest.raises(ValueError, match="p"):
        regressor.quantile(X[:4], np.zeros((3, 2)))
    with pytest.raises(wrecoil.Error) as ei:
        regressor.quantile(X[:4], [0.5, 1.5])
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    tn = t[:10].copy()
    tn[3] = np.nan
    with pytest.raises(wrecoil.Error):
        regressor.nll(X[:10], tn)
    r = wrecoil.Regressor(epochs=1)
    with pytest.raises(wrecoil.Error) as ei:
        r.predict(X)
    assert ei.value.code == wrecoil.Status.NOT_FITTED
    with pytest.raises(wrecoil.Error):
        r.fit(X, np.full(len(t), np.inf, np.float32))
    assert not r.is_fitted and r.family is None


def test_regressor_progress(xy):
    X, t = xy
    seen = []
    r = wrecoil.Regressor(family="gauss", hidden=(8,), epochs=3, threads=1)
    r.fit(X[:500], t[:500], eval_set=(X[500:800], t[500:800]),
          progress=lambda *a: seen.append(a))
    assert [s[1] for s in seen] == [1, 2, 3] and seen[0][0] == "regressor.fit" and seen[0][2] == 3
    assert all(np.isfinite(s[3]) and np.isfinite(s[4]) for s in seen)
    with pytest.raises(ZeroDivisionError):
        r.fit(X[:500], t[:500], progress=lambda *a: 1 / 0)
    assert r.fit_info[0] == 3


def test_unfitted_models_pickle_with_their_parameters(xy):
    X, t = xy
    f = wrecoil.QuantileForest(levels=[0.25, 0.75], rounds=4, max_leaves=5, threads=1)
    g = pickle.loads(pickle.dumps(f))
    assert not g.is_fitted and g.get_params() == f.get_params()
    np.testing.assert_array_equal(g.levels, [0.25, 0.75])
    np.testing.assert_array_equal(g.fit(X, t).predict(X), f.fit(X, t).predict(X))
    r = wrecoil.Regressor(hidden=(5,), family="gauss", epochs=2)
    r2 = copy.deepcopy(r)
    assert r2.get_params() == r.get_params() and not r2.is_fitted
