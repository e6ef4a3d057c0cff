"""Benchmark suite `dask`: throughput of applying libwrecoil models with
wrecoil.dask on a distributed.LocalCluster of 1 and 2 worker processes
(one thread each), against the same call in one process.

Workload: W toy events (WR_DASK_BENCH_N, default 50000) turned into the 15
recoil features on the workers (wrecoil.dask.toy_features, persisted in
worker memory, the blocks repeated 40 times: 2M rows), then the
regressor's per-event summary (network forward pass + mode, median, mean
and E[exp t] of a gaussexp2 pdf; 64-64-64 ELU MLP) applied block by block
with wrecoil.dask.apply_regressor.  The result is persisted on the workers
(not sent back): the time is the computation plus Dask's scheduling.  The
toy + features step is timed as a second workload.  Both clusters run side
by side and the timings alternate (best of WR_DASK_BENCH_REPEAT=5 each),
so that the load of a shared machine hits both settings alike.

Metrics (bench/out/dask.json):
  events_per_s_inprocess    Regressor.summary in this process, 1 thread
  events_per_s_1worker      apply_regressor on 1 worker
  events_per_s_2workers     apply_regressor on 2 workers
  scaling_2_vs_1            ratio of the two
  toy_features_per_s_1worker / _2workers / toy_scaling_2_vs_1
  model_builds_*            C handles rebuilt on the workers (1 per worker)
  cpu_reference_scaling_2_vs_1  the same ratio for plain numpy tasks run at
                            the same moments: what the machine allows
  cores, load_average_1min  the 2-worker scaling cannot exceed the idle
                            cores of a shared machine
"""
import importlib.util
import os
import sys
import time
import uuid

import numpy as np

# This file is called dask.py: its directory must not be on sys.path, or
# `import dask` would import this file (in the workers too, which inherit
# sys.path).  common.py is loaded by path instead.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _HERE]
_spec = importlib.util.spec_from_file_location("wr_bench_common", os.path.join(_HERE, "common.py"))
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)

import wrecoil  # noqa: E402

try:
    import dask  # noqa: F401
    import distributed
    import dask.array as da
    import wrecoil.dask as wd
except ImportError as e:  # pragma: no cover
    print("bench dask: skipped (%s); apt-get install python3-dask python3-distributed" % e)
    sys.exit(0)

N_TOY = int(float(os.environ.get("WR_DASK_BENCH_N", "50000")))
TILES = 40            # applied: the toy features repeated (2M rows, ~1 s a run)
CHUNK = int(float(os.environ.get("WR_DASK_BENCH_CHUNK", "25000")))
TOY_CHUNK = 5000      # ~600 particles an event: 60 MB of particles per toy task
REPEAT = int(os.environ.get("WR_DASK_BENCH_REPEAT", "5"))


def train_regressor():
    toy = wrecoil.Toy("W", "mc")
    p = toy.particles(seed=99, n=20000, nthreads=2)
    f = wrecoil.recoil_features(p, htrue=p.truth[:, -2:], nthreads=2)
    ok = ~f.no_tk
    reg = wrecoil.Regressor(family="gaussexp2", hidden=(64, 64, 64), epochs=2, threads=2, seed=1)
    reg.fit(f.features[ok], f.targets[ok, 0])
    # the model keeps threads=2 from its fit; apply_regressor(threads=1)
    # gives each Dask task one C thread, the in-process baseline gets 1 too
    reg = wrecoil.Regressor.from_bytes(reg.to_bytes())
    reg.set_params(threads=1)
    return reg


def _burn(i):
    """~0.2 s of single-threaded numpy work: the CPU reference."""
    a = np.arange(1_000_000, dtype=np.float64) + i
    s = 0.0
    for _ in range(20):
        s += float(np.sin(a).sum())
    return s


def wait(client, collection):
    """Waits until a persisted collection is in the workers' memory (on
    this client: distributed.wait() only knows the default client)."""
    from distributed.client import _wait
    client.sync(_wait, distributed.futures_of(collection))


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "WRECOIL_LIBRARY": os.environ.get("WRECOIL_LIBRARY") or wrecoil.library_path(),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env)
    reg = train_regressor()
    toy = wrecoil.Toy("W", "mc")
    kw = dict(threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1",
              silence_logs=40)
    # Both clusters live side by side and the measurements alternate, best
    # of REPEAT each: the machine is shared, and alternating spreads its
    # load changes over both settings instead of biasing one.
    with distributed.LocalCluster(n_workers=1, **kw) as c1, \
            distributed.LocalCluster(n_workers=2, **kw) as c2, \
            distributed.Client(c1, set_as_default=False) as cl1, \
            distributed.Client(c2, set_as_default=False) as cl2:
        cl1.wait_for_workers(1, timeout=180)
        cl2.wait_for_workers(2, timeout=180)
        clients = {1: cl1, 2: cl2}
        X, t_toy = {}, {1: [], 2: []}
        for rnd in range(2):
            for k, cl in clients.items():
                def gen():
                    X[k] = cl.persist(wd.toy_features(toy, N_TOY, seed=7 + rnd, chunk=TOY_CHUNK))
                    wait(cl, X[k])
                t_toy[k].append(timed(gen))
        for k, cl in clients.items():
            Xk = da.concatenate([X[k].rechunk((CHUNK, X[k].shape[1]))] * TILES)
            X[k] = cl.persist(Xk)
            wait(cl, X[k])
        n_apply = X[1].shape[0]

        def apply(k):
            # a new key name each time: nothing is reused from the last run
            y = clients[k].persist(wd.apply_regressor(reg, X[k], "summary",
                                                      name="summary-" + uuid.uuid4().hex))
            wait(clients[k], y)
            del y

        Xl = clients[1].compute(X[1][:CHUNK]).result()
        def burn(k):
            clients[k].gather(clients[k].map(_burn, range(8), pure=False))

        t_apply, t_in, t_ref = {1: [], 2: []}, [], {1: [], 2: []}
        for k in clients:
            apply(k)                       # warm-up: model shipped and rebuilt per worker
            burn(k)
        for _ in range(REPEAT):
            for k in clients:
                t_apply[k].append(timed(lambda: apply(k)))
                t_ref[k].append(timed(lambda: burn(k)))
            t_in.append(timed(lambda: reg.summary(Xl)) * (n_apply / len(Xl)))
        # check: the distributed result equals the in-process one
        for k, cl in clients.items():     # X[1] and X[2] hold the same events
            got = cl.compute(wd.apply_regressor(reg, X[k][:CHUNK], "summary")).result()
            assert np.array_equal(got, reg.summary(Xl)), "distributed result differs"
        builds = {k: sum(i["builds"] for i in cl.run(wd.cache_info).values())
                  for k, cl in clients.items()}
    r1, r2 = n_apply / min(t_apply[1]), n_apply / min(t_apply[2])
    g1, g2 = N_TOY / min(t_toy[1]), N_TOY / min(t_toy[2])
    common.write("dask", {
        "events_applied": n_apply, "chunk": CHUNK, "cores": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "events_per_s_inprocess": n_apply / min(t_in),
        "events_per_s_1worker": r1, "events_per_s_2workers": r2, "scaling_2_vs_1": r2 / r1,
        "toy_events": N_TOY, "toy_features_per_s_1worker": g1,
        "toy_features_per_s_2workers": g2, "toy_scaling_2_vs_1": g2 / g1,
        "model_builds_1worker": builds[1], "model_builds_2workers": builds[2],
        "cpu_reference_scaling_2_vs_1": min(t_ref[1]) / min(t_ref[2])})


if __name__ == "__main__":
    main()
