"""Features, kinematics and tables through the bindings, compared with the
C library's other outputs (toy table, generator sample) and analytic values."""
import gzip
import math
import os

import numpy as np
import pytest

import wrecoil
from wrecoil import events as E
from conftest import SHARED_DATA


def test_features_of_toy_particles_equal_toy_table(w_sample):
    cols, f = w_sample["cols"], w_sample["feats"]
    table = np.column_stack([cols[c] for c in wrecoil.FEATURE_NAMES])
    np.testing.assert_allclose(f.features, table, rtol=2e-6, atol=2e-5)
    np.testing.assert_allclose(f.targets, np.c_[cols["ln_e1"], cols["e2"]], rtol=2e-6, atol=2e-5)
    rec = np.c_[cols["tk_x"], cols["tk_y"], cols["pf_x"], cols["pf_y"], cols["ntnpv_x"],
                cols["ntnpv_y"]]
    np.testing.assert_allclose(f.recoils[:, :6], rec, rtol=2e-6, atol=2e-5)
    assert f.features.dtype == np.float32 and f.features.shape == (2000, 15)
    np.testing.assert_array_equal(f.no_tk, cols["n_tk"] == 0)
    # events are independent of the threads
    again = wrecoil.recoil_features(w_sample["particles"], htrue=w_sample["particles"].truth[:, -2:],
                                    nthreads=1)
    np.testing.assert_array_equal(again.features, f.features)


def test_features_of_generator_sample():
    parts = os.path.join(SHARED_DATA, "w_mc_particles.csv.gz")
    events = os.path.join(SHARED_DATA, "w_mc.csv.gz")
    if not (os.path.exists(parts) and os.path.exists(events)):
        pytest.skip("shared generator samples not found (WR_SHARED_DATA)")
    p = wrecoil.read_table(parts, ["ev", "pt", "eta", "phi", "charge", "vtx"])
    with wrecoil.TableReader(events, ["ev", "htrue_x", "htrue_y"] + list(wrecoil.FEATURE_NAMES)
                             + ["ln_e1", "e2"]) as r:
        ev_table = r.read(500)
    ev = p[:, 0].astype(np.int64)
    n = 500
    assert ev.min() == 0 and ev.max() == n - 1 and np.all(np.diff(ev) >= 0)
    offsets = np.searchsorted(ev, np.arange(n + 1)).astype(np.int64)
    f = wrecoil.recoil_features(offsets, p[:, 1], p[:, 2], p[:, 3], p[:, 4].astype(np.int32),
                                p[:, 5].astype(np.int32), htrue=ev_table[:, 1:3])
    np.testing.assert_array_equal(ev_table[:, 0], np.arange(n))
    np.testing.assert_allclose(f.features, ev_table[:, 3:18], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(f.targets, ev_table[:, 18:20], rtol=1e-4, atol=1e-4)


def test_features_bad_input(w_sample):
    p = w_sample["particles"]
    bad = p.pt.copy()
    bad[5] = np.nan
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.recoil_features(p.offsets, bad, p.eta, p.phi, p.charge, p.vtx)
    assert ei.value.code == wrecoil.Status.INVALID_ARG and "pt" in ei.value.message
    neg = p.pt.copy()
    neg[0] = -1
    with pytest.raises(wrecoil.Error, match="pt"):
        wrecoil.recoil_features(p.offsets, neg, p.eta, p.phi, p.charge, p.vtx)
    with pytest.raises(ValueError, match="offsets"):   # beyond the particles: caught in Python
        wrecoil.recoil_features(p.offsets[:3] * 0 + [0, 1, len(p.pt) + 5], p.pt, p.eta, p.phi,
                                p.charge, p.vtx)
    bad_off = p.offsets[:4].copy()
    bad_off[1], bad_off[2] = bad_off[2], bad_off[1]
    with pytest.raises(wrecoil.Error, match="offsets"):
        wrecoil.recoil_features(bad_off, p.pt, p.eta, p.phi, p.charge, p.vtx)
    with pytest.raises(ValueError, match="eta"):
        wrecoil.recoil_features(p.offsets, p.pt, p.eta[:-1], p.phi, p.charge, p.vtx)
    with pytest.raises(ValueError, match="charge"):
        wrecoil.recoil_features(p.offsets, p.pt, p.eta, p.phi, p.charge + 0.5, p.vtx)
    with pytest.raises(ValueError, match="htrue"):
        wrecoil.recoil_features(p.offsets, p.pt, p.eta, p.phi, p.charge, p.vtx,
                                htrue=np.zeros((3, 2)))
    # float64 / int64 / non-contiguous inputs are converted once: same result
    n = 50
    m = int(p.offsets[n])
    ref = wrecoil.recoil_features(p.offsets[:n + 1], p.pt[:m], p.eta[:m], p.phi[:m], p.charge[:m],
                                  p.vtx[:m])
    big = np.zeros((m, 2), np.float64)
    big[:, 0] = p.pt[:m]
    got = wrecoil.recoil_features(list(p.offsets[:n + 1]), big[:, 0], p.eta[:m].astype(np.float64),
                                  p.phi[:m], p.charge[:m].astype(np.int64), p.vtx[:m])
    np.testing.assert_array_equal(got.features, ref.features)
    empty = wrecoil.recoil_features([0], [], [], [], [], [])
    assert empty.features.shape == (0, 15)


def test_transverse_mass_analytic():
    # h = 0: the neutrino balances the lepton, MT = 2 pt
    mt = wrecoil.transverse_mass([40.0, 30.0], [0.3, -2.0], np.zeros((2, 2)))
    np.testing.assert_allclose(mt, [80.0, 60.0], rtol=1e-6)
    # MT^2 = 2 (pt |pt + h| + pt^2 + pt.h) for an arbitrary recoil
    rng = np.random.default_rng(1)
    pt = rng.uniform(25, 50, 100)
    phi = rng.uniform(-np.pi, np.pi, 100)
    h = rng.normal(0, 10, (100, 2))
    l = np.c_[pt * np.cos(phi), pt * np.sin(phi)]
    ref = np.sqrt(2 * (pt * np.hypot(*(l + h).T) + pt ** 2 + (l * h).sum(1)))
    np.testing.assert_allclose(wrecoil.transverse_mass(pt, phi, h), ref, rtol=1e-5)


def test_strided_recoil_views_are_not_copied_and_agree(w_sample):
    rec = w_sample["feats"].recoils
    cols = w_sample["cols"]
    view = rec[:, 2:4]          # PF recoil: row stride 8 floats, passed as is
    assert not view.flags.c_contiguous
    a = wrecoil.transverse_mass(cols["l_pt"], cols["l_phi"], view)
    b = wrecoil.transverse_mass(cols["l_pt"], cols["l_phi"], np.ascontiguousarray(view))
    np.testing.assert_array_equal(a, b)
    rev = rec[::-1, 2:4]        # negative stride: converted
    c = wrecoil.transverse_mass(cols["l_pt"][::-1], cols["l_phi"][::-1], rev)
    np.testing.assert_array_equal(c, a[::-1])


def test_recoil_y_and_boson():
    v = np.array([[10.0, 0.0], [0.0, -5.0], [3.0, 4.0]])
    y = wrecoil.recoil_y(-v, v)      # the generator recoil h = -pT_V gives (pT_V, 0)
    np.testing.assert_allclose(y, [[10, 0], [5, 0], [5, 0]], atol=1e-6)
    y = wrecoil.recoil_y(v, v)       # h along +pT_V: dphi = pi
    np.testing.assert_allclose(np.abs(y[:, 1]), np.pi, atol=1e-6)
    b = wrecoil.boson_from_leptons([[40.0, 40.0]], [[0.0, 0.0]], [[0.0, np.pi]], 0.0, 0.0)
    np.testing.assert_allclose(b[0], [0.0, 0.0, b[0, 2], 80.0], atol=1e-4)
    b = wrecoil.boson_from_leptons([[30.0, 20.0]], [[0.5, -0.3]], [[0.1, 2.0]])
    px = 30 * np.cos(0.1) + 20 * np.cos(2.0)
    py = 30 * np.sin(0.1) + 20 * np.sin(2.0)
    pz = 30 * np.sinh(0.5) + 20 * np.sinh(-0.3)
    m = E.MUON_MASS
    e = np.sqrt((30 * np.cosh(0.5)) ** 2 + m * m) + np.sqrt((20 * np.cosh(-0.3)) ** 2 + m * m)
    np.testing.assert_allclose(b[0], [np.hypot(px, py), pz, np.arctan2(py, px),
                                      np.sqrt(e * e - px * px - py * py - pz * pz)], rtol=1e-5)
    with pytest.raises(ValueError, match="pt"):
        wrecoil.boson_from_leptons([1.0, 2.0], [0, 0], [0, 0])


def test_wlike_z():
    pt = np.array([[40.0, 35.0]])
    eta = np.zeros((1, 2))
    phi = np.array([[0.0, 3.0]])
    q = np.array([[-1, 1]])
    r = wrecoil.wlike_z(pt, eta, phi, q, h=np.zeros((1, 2)), lepton_charge=1)
    np.testing.assert_allclose(r.lepton[0], [35.0, 0.0, 3.0], atol=1e-5)
    np.testing.assert_allclose(r.neutrino[0], [40.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(r.mt, [70.0], rtol=1e-6)
    assert wrecoil.wlike_z(pt, eta, phi, q).mt is None
    with pytest.raises(wrecoil.Error):
        wrecoil.wlike_z(pt, eta, phi, np.array([[1, 1]]))


def test_kinematics_reject_nan():
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.transverse_mass([40.0, np.nan], [0.0, 0.0], np.zeros((2, 2)))
    assert ei.value.code == wrecoil.Status.INVALID_ARG
    with pytest.raises(ValueError, match="h"):
        wrecoil.transverse_mass([40.0], [0.0], np.zeros((2, 2)))


def test_wrap_angle():
    assert wrecoil.wrap_angle(np.pi) == pytest.approx(np.pi)
    assert wrecoil.wrap_angle(-np.pi) == pytest.approx(np.pi)
    assert wrecoil.wrap_angle(3 * np.pi / 2) == pytest.approx(-np.pi / 2)
    np.testing.assert_allclose(wrecoil.wrap_angle([7.0, -7.0]), [7 - 2 * np.pi, -7 + 2 * np.pi])
    assert math.isnan(wrecoil.wrap_angle(np.inf))


def test_table_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    d64 = rng.normal(size=(1000, 3)) * 1e3
    for name in ("t.csv", "t.csv.gz"):
        path = tmp_path / name
        wrecoil.write_table(path, d64, ["a", "b", "c"])
        back = wrecoil.read_table(path)
        np.testing.assert_array_equal(back, d64)          # bit for bit
        np.testing.assert_array_equal(wrecoil.read_table(path, ["c", "a"]), d64[:, [2, 0]])
        f32 = wrecoil.read_table(path, "b", dtype=np.float32)
        assert f32.dtype == np.float32 and f32.shape == (1000, 1)
        with wrecoil.TableReader(path, ["b"]) as r:
            assert r.columns == ["a", "b", "c"] and r.find("c") == 2
            chunks = list(r.chunks(300))
            assert [c.shape[0] for c in chunks] == [300, 300, 300, 100] and r.rows_read == 1000
        np.testing.assert_array_equal(np.concatenate(chunks)[:, 0], d64[:, 1])
    assert gzip.open(tmp_path / "t.csv.gz").readline() == b"a,b,c\n"
    f32 = rng.normal(size=(10, 2)).astype(np.float32)
    with wrecoil.TableWriter(tmp_path / "f.csv", ["x", "y"]) as w:
        w.write(f32[:5]).write(f32[5:])
    np.testing.assert_array_equal(wrecoil.read_table(tmp_path / "f.csv", dtype=np.float32), f32)
    df = wrecoil.read_table(tmp_path / "f.csv", as_frame=True)
    assert list(df.columns) == ["x", "y"]
    wrecoil.write_table(tmp_path / "g.csv", {"u": [1, 2], "v": [3.5, 4.5]})
    np.testing.assert_array_equal(wrecoil.read_table(tmp_path / "g.csv"), [[1, 3.5], [2, 4.5]])


def test_table_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.read_table(p)
    assert ei.value.code == wrecoil.Status.FORMAT and "line 3" in ei.value.message
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.read_table(p, ["nope"])
    assert ei.value.code == wrecoil.Status.FORMAT and "nope" in ei.value.message
    with pytest.raises(wrecoil.Error) as ei:
        wrecoil.read_table(tmp_path / "missing.csv")
    assert ei.value.code == wrecoil.Status.IO
    (tmp_path / "n.csv").write_text("old\n")
    with pytest.raises(wrecoil.Error, match="non-finite"):
        wrecoil.write_table(tmp_path / "n.csv", np.array([[1.0], [np.nan]]), ["a"])
    assert (tmp_path / "n.csv").read_text() == "old\n"
    with wrecoil.TableWriter(tmp_path / "n2.csv", ["a"]) as w:
        with pytest.raises(wrecoil.Error) as ei:
            w.write(np.array([[1.0], [np.inf]]))     # nothing of the call is written
        assert ei.value.code == wrecoil.Status.INVALID_ARG
        w.write(np.array([[2.0]]))
    np.testing.assert_array_equal(wrecoil.read_table(tmp_path / "n2.csv"), [[2.0]])
    with pytest.raises(wrecoil.Error):
        wrecoil.write_table(tmp_path / "dup.csv", np.zeros((1, 2)), ["a", "a"])
    w = wrecoil.TableWriter(tmp_path / "c.csv", ["a"])
    w.close()
    with pytest.raises(wrecoil.Error, match="closed"):
        w.write([[1.0]])
    with pytest.raises(ValueError):
        wrecoil.TableWriter(tmp_path / "d.csv", ["a", "b"]).write(np.zeros((2, 3)))
    r = wrecoil.TableReader(tmp_path / "c.csv")
    r.close()
    r.close()
    with pytest.raises(wrecoil.Error, match="closed"):
        r.read(10)
