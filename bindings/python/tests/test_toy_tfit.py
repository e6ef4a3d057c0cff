"""Toy simulation and TemplateFit through the bindings."""
import pickle

import numpy as np
import pytest

import wrecoil
from wrecoil.toy import table_columns, truth_columns


# ------------------------------------------------------------------- toy
def test_toy_table_windows_and_threads():
    toy = wrecoil.Toy("Z", "data")
    assert toy.process == "Z" and len(table_columns()) == 41 and len(truth_columns()) == 18
    a = toy.table(seed=4, n=300, nthreads=1)
    b = toy.table(seed=4, n=100, first=200, nthreads=2)
    np.testing.assert_array_equal(a[200:], b)          # an event is the same in any window
    np.testing.assert_array_equal(a[:, 0], np.arange(300))
    df = toy.table(seed=4, n=5, as_frame=True)
    assert list(df.columns) == list(table_columns()) and df["q"].iloc[0] == 1
    p = toy.particles(seed=4, n=300, nthreads=2)
    ti = [table_columns().index(c) for c in truth_columns()]
    np.testing.assert_array_equal(p.truth, a[:, ti])
    assert p.offsets.shape == (301,) and p.pt.shape[0] == p.offsets[-1]
    assert np.all(p.vtx[p.charge == 0] == -1) and np.all(p.pt >= 0)
    assert toy.table(seed=4, n=0).shape == (0, 41)


def test_toy_from_python_threads():
    from concurrent.futures import ThreadPoolExecutor
    toy = wrecoil.Toy("W")
    ref = toy.table(seed=6, n=800, nthreads=1)
    with ThreadPoolExecutor(4) as ex:
        parts = list(ex.map(lambda f: toy.table(seed=6, n=100, first=f, nthreads=1),
                            range(0, 800, 100)))
    np.testing.assert_array_equal(np.concatenate(parts), ref)


def test_toy_params_pickle_and_errors():
    toy = wrecoil.Toy("W", mass=80.4)
    assert float(toy.get_param("mass")) == pytest.approx(80.4)
    params = toy.get_params()
    assert params["mass"] == pytest.approx(80.4) and "width" in params
    t2 = pickle.loads(pickle.dumps(toy))
    assert t2.params_string() == toy.params_string()
    np.testing.assert_array_equal(t2.table(seed=9, n=50), toy.table(seed=9, n=50))
    with pytest.raises(wrecoil.Error) as ei:
        toy.set_params(mass=80.5, no_such_knob=3)
    assert ei.value.code == wrecoil.Status.INVALID_ARG and "no_such_knob" in ei.value.message
    assert float(toy.get_param("mass")) == pytest.approx(80.4)      # all or nothing
    with pytest.raises(wrecoil.Error):
        wrecoil.Toy("H")
    with pytest.raises(wrecoil.Error):
        wrecoil.Toy("W", "nope")
    with pytest.raises(ValueError):
        toy.table(seed=-1, n=5)
    with pytest.raises(ValueError):
        toy.table(seed=1, n=-5)
    toy.set_preset("data")
    assert toy.get_params() == wrecoil.Toy("W", "data").get_params()
    toy.close()
    with pytest.raises(wrecoil.Error, match="closed"):
        toy.table(n=5)


def test_toy_progress_and_cancel():
    toy = wrecoil.Toy("W")
    seen = []
    toy.table(seed=1, n=2000, nthreads=1, progress=lambda *a: seen.append(a))
    assert seen and seen[-1][0] == "toy.table" and seen[-1][1] == 2000 and seen[-1][2] == 2000
    with pytest.raises(wrecoil.Error) as ei:
        toy.table(seed=1, n=2000, nthreads=1, progress=lambda *a: True)
    assert ei.value.code == wrecoil.Status.CANCELLED
    with pytest.raises(RuntimeError, match="stop"):
        toy.particles(seed=1, n=2000, nthreads=1,
                      progress=lambda *a: (_ for _ in ()).throw(RuntimeError("stop")))
    assert toy.particles(seed=1, n=3).offsets.shape == (4,)


def test_toy_generator_weights():
    mc, data = wrecoil.Toy("W", "mc"), wrecoil.Toy("W", "data")
    pt = np.array([1.0, 5.0, 20.0, 50.0])
    pl = np.array([0.0, 30.0, -80.0, 10.0])
    w = mc.gen_weight(data, pt, pl)
    np.testing.assert_allclose(w, data.gen_density(pt, pl) / mc.gen_density(pt, pl), rtol=1e-12)
    np.testing.assert_array_equal(mc.gen_weight("data", pt, pl), w)
    with pytest.raises(ValueError):
        mc.gen_density(pt, pl[:2])


# ---------------------------------------------------------- template fit
@pytest.fixture(scope="module")
def w_mt():
    """MT (PF recoil), generator mass and event id of 30000 W toy events."""
    toy = wrecoil.Toy("W", "mc")
    tab = toy.table(seed=21, n=30000, nthreads=2)
    c = {k: tab[:, i] for i, k in enumerate(table_columns())}
    mt = wrecoil.transverse_mass(c["l_pt"], c["l_phi"], np.c_[c["pf_x"], c["pf_y"]])
    return mt.astype(np.float64), c["v_m"], c["ev"].astype(np.uint64)


def make_tf(**kw):
    p = dict(mass_step=0.1, mass_count=31, bootstrap=8, threads=1)
    p.update(kw)
    return wrecoil.TemplateFit(np.linspace(50, 110, 31), **p)


def test_template_fit_closure(w_mt):
    mt, m, ev = w_mt
    tf = make_tf()
    assert tf.dim == 1 and tf.n_bins == 30 and len(tf.masses) == 31
    tf.add_templates(mt[:20000], m[:20000], ids=ev[:20000])
    tf.add_data(mt[20000:], ids=ev[20000:])
    r = tf.fit(true_mass=80.385)
    assert abs(r.mass - 80.385) < 2.0 and 0.05 < r.width < 1.5
    assert r.bias_mev == pytest.approx(1000 * (r.mass - 80.385))
    res = tf.result()
    assert res["mass"] == r.mass and res["n_bins"] > 5
    sm, sv = tf.scan()
    assert sm.shape == sv.shape and sm.shape[0] == tf.scan_size > 0
    # the parabola minimum is at the scan minimum within a grid step
    assert abs(sm[np.argmin(sv)] - r.mass) < 0.1
    b = tf.bootstrap(true_mass=80.385)
    assert b.replica_mass.shape == (8,) and b.spread_mev > 0
    inside = (mt[20000:] >= 50) & (mt[20000:] < 110)
    assert tf.histogram("data").sum() == pytest.approx(inside.sum())
    # the central template is the plain histogram of the templates (BW weight 1 at M_0)
    i0 = int(np.argmin(np.abs(tf.masses - 80.385)))
    np.testing.assert_allclose(tf.histogram("template", i0),
                               np.histogram(mt[:20000], bins=tf.edges())[0], rtol=1e-9)
    np.testing.assert_allclose(tf.template_at(tf.masses[i0]), tf.histogram("template", i0), rtol=1e-9)
    np.testing.assert_allclose(tf.bw_weights(80.385, [80.0, 81.0]), [1.0, 1.0], rtol=1e-12)
    # exact closure: a template as the data set is fitted at its own mass
    for i in (10, 20):
        tf.set_data_histogram(tf.histogram("template", i))
        assert tf.fit(true_mass=tf.masses[i]).bias_mev == pytest.approx(0, abs=1.0)
    with pytest.raises(ValueError, match="counts"):
        tf.set_data_histogram(np.ones(3))
    with pytest.raises(ValueError, match="what"):
        tf.histogram("nonsense")
    with pytest.raises(wrecoil.Error):
        tf.histogram("template", 999)        # index beyond the grid: checked by C


def test_template_fit_merge_and_round_trips(w_mt, tmp_path):
    mt, m, ev = w_mt
    full = make_tf().add_templates(mt, m, ids=ev)
    a = make_tf().add_templates(mt[:12345], m[:12345], ids=ev[:12345])
    b = make_tf().add_templates(mt[12345:], m[12345:], ids=ev[12345:])
    a.merge(b)
    np.testing.assert_allclose(a.templates(), full.templates(), rtol=1e-12)
    a.merge(make_tf().to_bytes())                   # bytes are accepted as well
    c = pickle.loads(pickle.dumps(full))
    np.testing.assert_array_equal(c.templates(), full.templates())
    full.save(tmp_path / "tf.wrm")
    d = wrecoil.load_model(tmp_path / "tf.wrm")
    assert isinstance(d, wrecoil.TemplateFit)
    np.testing.assert_array_equal(d.histogram("template_sumw2", 3), full.histogram("template_sumw2", 3))
    e = full.empty_copy()
    assert e.templates().sum() == 0 and e.get_params() == full.get_params()
    with pytest.raises(wrecoil.Error):
        a.merge(wrecoil.TemplateFit(np.linspace(50, 110, 11)))    # other binning


def test_add_events_equals_templates_plus_data(w_mt):
    mt, m, ev = w_mt
    n = 5000
    wd = np.c_[np.ones(n), 1 + 0.01 * (mt[:n] - 80) / 10, make_tf().bw_weights(80.5, m[:n])]
    a = make_tf(data_sets=3).add_events(mt[:n], m[:n], ids=ev[:n], w_data=wd)
    b = make_tf(data_sets=3).add_templates(mt[:n], m[:n], ids=ev[:n])
    for j in range(3):
        b.add_data(mt[:n], w=wd[:, j], ids=ev[:n], set=j)
    np.testing.assert_allclose(a.templates(), b.templates(), rtol=1e-12)
    for j in range(3):
        np.testing.assert_allclose(a.histogram("data", j), b.histogram("data", j), rtol=1e-12)
        np.testing.assert_allclose(a.histogram("data_sumw2", j), b.histogram("data_sumw2", j),
                                   rtol=1e-12)
    np.testing.assert_allclose(a.bootstrap(set=2).replica_mass, b.bootstrap(set=2).replica_mass,
                               rtol=1e-9)
    with pytest.raises(ValueError, match="w_data"):
        a.add_events(mt[:n], m[:n], ids=ev[:n], w_data=np.ones((n - 1, 3)))
    with pytest.raises(wrecoil.Error):
        a.add_events(mt[:n], m[:n], ids=ev[:n], w_data=np.ones((n, 4)))    # 4 > data_sets


def test_template_fit_2d_syst_and_errors(w_mt):
    mt, m, ev = w_mt
    tf = wrecoil.TemplateFit.uniform(12, 50, 110, 2, -1, 1, mass_step=0.2, mass_count=41,
                                     data_sets=3, threads=1)
    assert tf.dim == 2 and tf.n_bins == 24 and tf.edges(1).shape == (3,)
    side = np.where(ev % 2 == 0, -0.5, 0.5)
    x = np.c_[mt, side]
    tf.add_templates(x[:20000], m[:20000])
    eps = [-0.01, 0.0, 0.01]
    for j, e in enumerate(eps):
        tf.add_data(x[20000:], w=1 + e * (mt[20000:] - 80) / 10, set=j)
    s = tf.syst(eps, true_mass=80.385)
    assert s.bias_mev.shape == (3,) and np.isnan(s.slope_err) and s.slope != 0
    with pytest.raises(ValueError, match="x"):
        tf.add_templates(mt, m)                           # 1-D x for a 2-D binning
    with pytest.raises(ValueError, match="m_gen"):
        tf.add_templates(x[:10], m[:5])
    with pytest.raises(ValueError, match="ids"):
        tf.add_templates(x[:2], m[:2], ids=[-1, 2])
    with pytest.raises(wrecoil.Error) as ei:
        tf.add_data(x[:2], set=5)
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    with pytest.raises(wrecoil.Error):
        tf.add_templates(x[:2], [80.0, np.nan])
    with pytest.raises(wrecoil.Error):
        tf.set_params(mass_count=11)                     # events were added
    with pytest.raises(wrecoil.Error):
        wrecoil.TemplateFit([1.0, 1.0])
    empty = make_tf(bootstrap=0)
    with pytest.raises(wrecoil.Error):
        empty.fit()
    with pytest.raises(wrecoil.Error):
        make_tf(bootstrap=0).add_templates(mt[:100], m[:100]).add_data(mt[:100]).bootstrap()


def test_template_fit_bootstrap_progress(w_mt):
    mt, m, ev = w_mt
    tf = make_tf(bootstrap=6)
    tf.add_templates(mt[:20000], m[:20000], ids=ev[:20000]).add_data(mt[20000:], ids=ev[20000:])
    seen = []
    tf.bootstrap(true_mass=80.385, progress=lambda *a: seen.append(a))
    assert seen and seen[0][0] == "tfit.bootstrap"
    with pytest.raises(wrecoil.Error) as ei:
        tf.bootstrap(progress=lambda *a: True)
    assert ei.value.code == wrecoil.Status.CANCELLED
