"""wrecoil.dask on a distributed.LocalCluster (2 worker processes on
loopback): results equal to the single-process ones, the model rebuilt once
per worker, and a worker killed mid-computation is survived.  Skipped
(visibly) when dask or distributed is missing."""
import os
import pickle

import numpy as np
import pytest

import wrecoil
from conftest import PKG_PARENT, has_symbol

dask = pytest.importorskip("dask", reason="dask not installed: wrecoil.dask not tested")
distributed = pytest.importorskip("distributed",
                                  reason="distributed not installed: wrecoil.dask not tested")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402

import wrecoil.dask as wd  # noqa: E402

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def client():
    # The workers are new processes: they find the package and the library
    # through the environment they inherit.
    env = {"PYTHONPATH": os.pathsep.join([PKG_PARENT] + [p for p in os.environ.get(
               "PYTHONPATH", "").split(os.pathsep) if p]),
           "WRECOIL_LIBRARY": os.environ.get("WRECOIL_LIBRARY") or wrecoil.library_path(),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # loopback only; the dashboard on a free port (":0"), so that several
    # test runs on one machine never fight over the default port 8787
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=":0", host="127.0.0.1",
                                       silence_logs=40)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_workers_load_the_same_library(client):
    paths = client.run(lambda: __import__("wrecoil").library_path())
    assert len(paths) == 2
    assert {os.path.realpath(p) for p in paths.values()} == {os.path.realpath(wrecoil.library_path())}


def test_apply_regressor_and_forest_bit_for_bit(client, regressor, forest, xy):
    X, t = xy
    Xd = da.from_array(X, chunks=(700, 3))
    td = da.from_array(t, chunks=500)              # other chunks: realigned
    wd.clear_cache()
    for method in ("predict", "summary", "mean", "median", "mean_exp"):
        got = wd.apply_regressor(regressor, Xd, method).compute()
        np.testing.assert_array_equal(got, getattr(regressor, method)(X), err_msg=method)
    np.testing.assert_array_equal(wd.apply_regressor(regressor, Xd, "pit", t=td).compute(),
                                  regressor.pit(X, t))
    np.testing.assert_array_equal(wd.apply_regressor(regressor, Xd, "quantile", p=[0.1, 0.9]).compute(),
                                  regressor.quantile(X, [0.1, 0.9]))
    np.testing.assert_array_equal(wd.apply_regressor(regressor, Xd, "quantile", p=0.5).compute(),
                                  regressor.quantile(X, 0.5))
    np.testing.assert_array_equal(wd.apply_forest(forest, Xd).compute(), forest.predict(X))
    # the model went to each worker once and was rebuilt at most once there
    info = client.run(wd.cache_info)
    assert sum(i["hits"] for i in info.values()) > 0
    for i in info.values():
        assert i["builds"] <= 2          # one regressor, one forest (LRU keeps both)
    # a model fitted (and so saved) with threads=2 runs with one C thread per
    # Dask task
    r2 = wrecoil.Regressor(hidden=(8,), epochs=1, threads=2).fit(X[:500], t[:500])
    assert pickle.loads(pickle.dumps(r2)).get_param("threads") == "2"
    np.testing.assert_array_equal(wd.apply_regressor(r2, Xd, "mean").compute(), r2.mean(X))
    threads = client.run(lambda: sorted({m.get_param("threads") for m in
                                         __import__("wrecoil.dask").dask._cache.values()}))
    assert all(v == ["1"] for v in threads.values()), threads
    with pytest.raises(ValueError, match="method"):
        wd.apply_regressor(regressor, Xd, "nope")
    with pytest.raises(ValueError):
        wd.apply_regressor(regressor, Xd[:, :2])
    with pytest.raises(wrecoil.Error) as ei:
        wd.apply_regressor(wrecoil.Regressor(), Xd)
    assert ei.value.code == wrecoil.Status.NOT_FITTED


def test_apply_regressor_to_dataframe(client, regressor, xy):
    X, _ = xy
    pdf = pd.DataFrame(X, columns=["a", "b", "c"])
    pdf["other"] = np.arange(len(X))
    ddf = dd.from_pandas(pdf, npartitions=4)
    out = wd.apply_regressor_df(regressor, ddf, ["a", "b", "c"], "mean").compute()
    np.testing.assert_array_equal(out["mean"].to_numpy(), regressor.mean(X))
    np.testing.assert_array_equal(out["other"].to_numpy(), np.arange(len(X)))
    q = wd.apply_regressor_df(regressor, ddf, ["a", "b", "c"], "quantile", p=[0.2, 0.8],
                              out=["q20", "q80"]).compute()
    np.testing.assert_array_equal(q[["q20", "q80"]].to_numpy(), regressor.quantile(X, [0.2, 0.8]))
    with pytest.raises(ValueError, match="features"):
        wd.apply_regressor_df(regressor, ddf, ["a", "b"])


def test_apply_forest_to_dataframe(client, forest, xy):
    X, _ = xy
    ddf = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=3)
    out = wd.apply_forest_df(forest, ddf, ["a", "b", "c"]).compute()
    assert list(out.columns) == ["a", "b", "c", "q0.1", "q0.5", "q0.9"]
    np.testing.assert_array_equal(out[["q0.1", "q0.5", "q0.9"]].to_numpy(), forest.predict(X))
    with pytest.raises(ValueError, match="out"):
        wd.apply_forest_df(forest, ddf, ["a", "b", "c"], out=["x"])


def test_toy_and_features_on_workers(client):
    toy = wrecoil.Toy("W", "mc")
    tab = wd.toy_table(toy, 2500, seed=17, chunk=600)
    assert tab.shape == (2500, 41) and tab.numblocks[0] == 5
    tab = tab.persist()
    distributed.wait(tab)
    holders = {w for ws in client.who_has(tab).values() for w in ws}
    assert len(holders) == 2                    # generated on both workers
    np.testing.assert_array_equal(tab.compute(), toy.table(seed=17, n=2500, nthreads=1))
    f = wd.toy_features(toy, 2500, seed=17, chunk=600, targets=True).compute()
    p = toy.particles(seed=17, n=2500, nthreads=1)
    ref = wrecoil.recoil_features(p, htrue=p.truth[:, -2:], nthreads=1)
    np.testing.assert_array_equal(f[:, :15], ref.features)
    np.testing.assert_array_equal(f[:, 15:], ref.targets)


def test_features_of_a_particle_dataframe(client):
    toy = wrecoil.Toy("Z", "mc")
    p = toy.particles(seed=5, n=400, nthreads=1)
    n_per = np.diff(p.offsets)
    ev = np.repeat(np.arange(400), n_per)
    htrue = np.repeat(p.truth[:, -2:], n_per, axis=0)
    pdf = pd.DataFrame({"pt": p.pt, "eta": p.eta, "phi": p.phi, "charge": p.charge,
                        "vtx": p.vtx, "hx": htrue[:, 0], "hy": htrue[:, 1]},
                       index=pd.Index(ev, name="ev"))
    ddf = dd.from_pandas(pdf, npartitions=5)        # sorted index: events are never split
    assert ddf.npartitions > 1
    out = wd.recoil_features_df(ddf, event=None, htrue=["hx", "hy"]).compute()
    have = np.flatnonzero(n_per > 0)                # events without particles do not appear
    np.testing.assert_array_equal(out.index.to_numpy(), have)
    ref = wrecoil.recoil_features(p, htrue=p.truth[:, -2:])
    np.testing.assert_array_equal(out[list(wrecoil.FEATURE_NAMES)].to_numpy(), ref.features[have])
    np.testing.assert_array_equal(out[["ln_e1", "e2"]].to_numpy(), ref.targets[have])
    np.testing.assert_array_equal(out["no_tk"].to_numpy(), ref.no_tk[have])
    # the event id as a column works too
    out2 = wd.recoil_features_df(ddf.reset_index(), event="ev").compute()
    np.testing.assert_array_equal(out2[list(wrecoil.FEATURE_NAMES)].to_numpy(), ref.features[have])


@pytest.fixture(scope="module")
def mt_sample():
    toy = wrecoil.Toy("W", "mc")
    tab = toy.table(seed=31, n=24000, nthreads=2)
    c = {k: tab[:, i] for i, k in enumerate(wrecoil.toy.table_columns())}
    mt = wrecoil.transverse_mass(c["l_pt"], c["l_phi"], np.c_[c["pf_x"], c["pf_y"]])
    return mt.astype(np.float64), c["v_m"], c["ev"].astype(np.int64)


def new_tf():
    return wrecoil.TemplateFit(np.linspace(50, 110, 31), mass_step=0.1, mass_count=41,
                               bootstrap=6, threads=1)


def test_templates_per_partition_summed(client, mt_sample):
    mt, m, ev = mt_sample
    ref = new_tf().add_templates(mt[:16000], m[:16000], ids=ev[:16000])
    ref.add_data(mt[16000:], ids=ev[16000:])
    r_ref = ref.fit(true_mass=80.385)
    b_ref = ref.bootstrap(true_mass=80.385)

    tf = new_tf()
    mtd = da.from_array(mt, chunks=3000)
    md = da.from_array(m, chunks=3000)
    evd = da.from_array(ev, chunks=5000)            # other chunks: realigned to x
    assert wd.fill_templates(tf, mtd[:16000], md[:16000], ids=evd[:16000], split_every=3) is tf
    wd.fill_data(tf, mtd[16000:], ids=evd[16000:])
    np.testing.assert_allclose(tf.templates(), ref.templates(), rtol=1e-12)
    np.testing.assert_allclose(tf.histogram("data"), ref.histogram("data"), rtol=1e-12)
    r = tf.fit(true_mass=80.385)
    np.testing.assert_allclose(r, r_ref, rtol=1e-9)
    b = tf.bootstrap(true_mass=80.385)
    np.testing.assert_allclose(b.replica_mass, b_ref.replica_mass, rtol=1e-9)

    # from a dataframe, and the one-call fit
    df = dd.from_pandas(pd.DataFrame({"mt": mt, "m": m, "ev": ev}), npartitions=4)
    tf2 = new_tf()
    wd.fill_templates_df(tf2, df.loc[:15999], "mt", "m", ids="ev")
    wd.fill_data_df(tf2, df.loc[16000:], "mt", ids="ev")
    np.testing.assert_allclose(tf2.fit(true_mass=80.385), r_ref, rtol=1e-9)
    res, boot = wd.template_fit(new_tf(), (mtd[:16000], md[:16000], None, evd[:16000]),
                                (mtd[16000:], None, evd[16000:]), true_mass=80.385, bootstrap=True)
    np.testing.assert_allclose(res, r_ref, rtol=1e-9)
    np.testing.assert_allclose(boot.replica_mass, b_ref.replica_mass, rtol=1e-9)
    with pytest.raises(ValueError, match="m_gen"):
        wd.fill_templates(new_tf(), mtd, md[:100])
    # templates and two pseudo-data variants in one pass per partition
    w2 = np.c_[np.ones(len(mt)), new_tf().bw_weights(80.45, m)]
    ref3 = wrecoil.TemplateFit(np.linspace(50, 110, 31), mass_step=0.1, mass_count=41,
                               bootstrap=6, data_sets=2, threads=1)
    tf3 = ref3.empty_copy()
    ref3.add_events(mt, m, ids=ev, w_data=w2)
    wd.fill_events(tf3, mtd, md, ids=evd, w_data=da.from_array(w2, chunks=(7000, 2)))
    for j in range(2):
        np.testing.assert_allclose(tf3.histogram("data", j), ref3.histogram("data", j), rtol=1e-12)
    np.testing.assert_allclose(tf3.templates(), ref3.templates(), rtol=1e-12)


def test_worker_errors_reach_the_client(client, regressor, xy):
    X, _ = xy
    bad = X.copy()
    bad[1234, 1] = np.nan
    Xd = da.from_array(bad, chunks=(1000, 3))
    with pytest.raises(wrecoil.Error) as ei:
        wd.apply_regressor(regressor, Xd, "mean").compute()
    assert ei.value.code == wrecoil.Status.INVALID_ARG and "NaN" in ei.value.message
    # the other blocks are fine
    np.testing.assert_array_equal(wd.apply_regressor(regressor, Xd[:1000], "mean").compute(),
                                  regressor.mean(X[:1000]))


@pytest.mark.skipif(not has_symbol("wr_morpher_create"), reason="wr_morpher not in this libwrecoil yet")
def test_apply_morpher(client):
    rng = np.random.default_rng(4)
    z_s, z_d = rng.uniform(0, 10, (3000, 1)), rng.uniform(0, 10, (3000, 1))
    y_s = np.c_[rng.exponential(1 + 0.2 * z_s[:, 0]), rng.normal(0, 1, 3000)]
    y_d = np.c_[rng.exponential(1.2 + 0.2 * z_d[:, 0]), rng.normal(0.2, 1.1, 3000)]
    m = wrecoil.Morpher(2, 1, bounds=[(0, np.inf), None], forest_params={"rounds": 20},
                        threads=1).fit(z_s, y_s, z_d, y_d)
    ref, u_ref = m.apply(z_s, y_s, return_u=True)
    zd = da.from_array(z_s.astype(np.float32), chunks=(700, 1))
    yd = da.from_array(y_s.astype(np.float32), chunks=(900, 2))
    np.testing.assert_array_equal(wd.apply_morpher(m, zd, yd).compute(), ref)
    yo, u = wd.apply_morpher(m, zd, yd, return_u=True)
    np.testing.assert_array_equal(yo.compute(), ref)
    np.testing.assert_array_equal(u.compute(), u_ref)
    df = dd.from_pandas(pd.DataFrame({"z": z_s[:, 0], "a": y_s[:, 0], "b": y_s[:, 1]}),
                        npartitions=3)
    out = wd.apply_morpher_df(m, df, ["z"], ["a", "b"]).compute()
    np.testing.assert_array_equal(out[["a_morphed", "b_morphed"]].to_numpy(), ref)


def test_worker_killed_mid_computation_is_retried(client, regressor, xy, tmp_path):
    """A task kills its own worker process once (marker file): Dask
    reschedules its tasks on the restarted/other worker; the result is
    complete and equal."""
    X, _ = xy
    marker = str(tmp_path / "killed-once")
    pids_before = set(client.run(os.getpid).values())

    def kill_once(block, marker=marker):
        import os as _os
        if not _os.path.exists(marker):
            open(marker, "w").close()
            _os._exit(1)                     # the worker process dies right here
        return block

    Xd = da.from_array(X, chunks=(300, 3)).map_blocks(kill_once, dtype=np.float32,
                                                      meta=np.empty((0, 0), np.float32))
    got = wd.apply_regressor(regressor, Xd, "summary").compute()
    assert os.path.exists(marker)            # the kill did happen
    np.testing.assert_array_equal(got, regressor.summary(X))
    client.wait_for_workers(2, timeout=120)
    pids_after = set(client.run(os.getpid).values())
    assert len(pids_after) == 2 and pids_after != pids_before      # one worker was replaced
    assert os.getpid() not in pids_before | pids_after
