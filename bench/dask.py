"""Benchmark suite `dask`: throughput of applying libwrecoil models with
wrecoil.dask on a distributed.LocalCluster of 1 and 2 worker processes
(one thread each), against the same call in one process.

Workload: W toy events (WR_DASK_BENCH_N, default 200000) turned into the 15
recoil features on the workers (wrecoil.dask.toy_features, persisted in
worker memory), then the regressor's per-event summary (network forward
pass + mode/median/mean/E[exp t] of a gaussexp2 pdf, 64-64-64 ELU MLP)
applied block by block with wrecoil.dask.apply_regressor; the result is
persisted on the workers (not sent back) so the time is the computation
plus Dask's scheduling overhead.  The toy + features step is timed as a
second workload (events generated and featurised per second).

Metrics (bench/out/dask.json):
  events_per_s_inprocess    Regressor.summary in this process, 1 thread
  events_per_s_1worker      apply_regressor on 1 worker
  events_per_s_2workers     apply_regressor on 2 workers
  scaling_2_vs_1            ratio of the two
  toy_features_per_s_1worker / _2workers / toy_scaling_2_vs_1
  cores                     os.cpu_count() (the 2-worker scaling cannot
                            exceed min(2, idle cores))
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
    import wrecoil.dask as wd
except ImportError as e:  # pragma: no cover
    print("bench dask: skipped (%s); apt-get install python3-dask python3-distributed" % e)
    sys.exit(0)

N = int(float(os.environ.get("WR_DASK_BENCH_N", "200000")))
CHUNK = int(float(os.environ.get("WR_DASK_BENCH_CHUNK", "25000")))
TOY_CHUNK = 5000      # ~600 particles an event: 60 MB of particles per toy task
REPEAT = 3


def train_regressor():
    toy = wrecoil.Toy("W", "mc")
    p = toy.particles(seed=99, n=20000, nthreads=2)
    f = wrecoil.recoil_features(p, htrue=p.truth[:, -2:], nthreads=2)
    ok = ~f.no_tk
    reg = wrecoil.Regressor(family="gaussexp2", hidden=(64, 64, 64), epochs=2, threads=2, seed=1)
    reg.fit(f.features[ok], f.targets[ok, 0])
    reg.set_params(threads=1)          # one thread per worker when applying
    return wrecoil.Regressor.from_bytes(reg.to_bytes())


def best_time(fn):
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def on_cluster(n_workers, reg, toy):
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "WRECOIL_LIBRARY": os.environ.get("WRECOIL_LIBRARY") or wrecoil.library_path(),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env)
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(n_workers)

        t0 = time.perf_counter()        # once: the toy is the slow part
        X = wd.toy_features(toy, N, seed=7, chunk=TOY_CHUNK).persist()
        distributed.wait(X)
        t_toy = time.perf_counter() - t0
        X = X.rechunk((CHUNK, X.shape[1])).persist()
        distributed.wait(X)

        def apply():
            # a new key name each time: nothing is reused from the last run
            y = wd.apply_regressor(reg, X, "summary", name="summary-" + uuid.uuid4().hex)
            y = y.persist()
            distributed.wait(y)
            del y

        apply()                            # warm-up: model shipped and rebuilt per worker
        t_apply = best_time(apply)
        # check: the distributed result equals the in-process one on a slice
        Xl = X[:CHUNK].compute()
        got = wd.apply_regressor(reg, X[:CHUNK], "summary").compute()
        assert np.array_equal(got, reg.summary(Xl)), "distributed result differs"
        builds = sum(i["builds"] for i in client.run(wd.cache_info).values())
        return N / t_apply, N / t_toy, builds


def main():
    reg = train_regressor()
    toy = wrecoil.Toy("W", "mc")
    Xl = wrecoil.recoil_features(toy.particles(seed=7, n=min(N, 50000), nthreads=2)).features
    t_in = best_time(lambda: reg.summary(Xl))
    m = {"events": N, "chunk": CHUNK, "cores": os.cpu_count(),
         "events_per_s_inprocess": len(Xl) / t_in}
    r1, toy1, b1 = on_cluster(1, reg, toy)
    r2, toy2, b2 = on_cluster(2, reg, toy)
    m.update(events_per_s_1worker=r1, events_per_s_2workers=r2, scaling_2_vs_1=r2 / r1,
             toy_features_per_s_1worker=toy1, toy_features_per_s_2workers=toy2,
             toy_scaling_2_vs_1=toy2 / toy1, model_builds_1worker=b1, model_builds_2workers=b2)
    common.write("dask", m)


if __name__ == "__main__":
    main()
