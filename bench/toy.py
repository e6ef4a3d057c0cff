"""bench/toy.py -- the built-in toy simulation (wr_toy).

Speed: build/bench/toy_bench (C, links the shared library) generates the
event-level table of W "mc" events on one thread; events_per_s is per
second of CPU time (one core), events_per_s_wall per elapsed second (the
machine may be shared).  Also the particle-level output and the toy with
fresh pileup vertices per event (pu_library=0) for comparison.

Realism: 100000 events each of W "mc", Z "mc" and Z "data" through ctypes,
with the figures of the generator samples' README (../shared/data/README.md)
side by side: mean/median pT_V, pT_V fractions and the projected TK and PF
responses in the pT_V bins [0,4,10,20,50,inf), mean n_vtx and n_tk, RMS of
ln_e1 and e2.  Keys: <sample>.<figure> (toy) and <sample>.<figure>.ref
(generator sample).
"""
import ctypes
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

EDGES = [0.0, 4.0, 10.0, 20.0, 50.0, np.inf]
FIG_NAMES = ["mean_pt", "median_pt"] + [f"frac{k}" for k in range(5)] + \
    [f"resp_tk{k}" for k in range(5)] + [f"resp_pf{k}" for k in range(5)] + \
    ["n_vtx", "n_tk", "rms_ln_e1", "rms_e2"]
# The generator samples' README table (100000 / 80000 / 100000 events).
REF = {
    "w_mc": [21.0, 12.8, 0.14, 0.26, 0.25, 0.25, 0.09, 0.23, 0.32, 0.38, 0.43, 0.48,
             0.37, 0.52, 0.60, 0.72, 0.81, 24.5, 47.7, 0.946, 1.308],
    "z_mc": [21.4, 12.9, 0.14, 0.26, 0.26, 0.25, 0.09, 0.23, 0.33, 0.39, 0.44, 0.48,
             0.35, 0.50, 0.60, 0.73, 0.81, 24.4, 47.7, 0.930, 1.298],
    "z_data": [20.0, 11.7, 0.16, 0.29, 0.25, 0.23, 0.08, 0.29, 0.30, 0.38, 0.42, 0.48,
               0.47, 0.49, 0.60, 0.69, 0.81, 27.1, 50.5, 0.949, 1.345],
}


def load_library():
    path = os.environ.get("WRECOIL_LIBRARY", os.path.join(common.BUILD, "libwrecoil.so"))
    lib = ctypes.CDLL(path)
    lib.wr_last_error.restype = ctypes.c_char_p
    lib.wr_toy_table_colname.restype = ctypes.c_char_p
    lib.wr_toy_table_ncols.restype = ctypes.c_size_t
    lib.wr_toy_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.wr_toy_table.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t,
                                 ctypes.c_int, ctypes.c_void_p]
    lib.wr_toy_free.argtypes = [ctypes.c_void_p]
    return lib


def toy_table(lib, process, preset, n, seed):
    h = ctypes.c_void_p()
    if lib.wr_toy_create(process.encode(), preset.encode(), ctypes.byref(h)):
        raise RuntimeError(lib.wr_last_error().decode())
    nc = lib.wr_toy_table_ncols()
    out = np.empty((n, nc))
    st = lib.wr_toy_table(h, seed, 0, n, 0, out.ctypes.data_as(ctypes.c_void_p))
    lib.wr_toy_free(h)
    if st:
        raise RuntimeError(lib.wr_last_error().decode())
    return {lib.wr_toy_table_colname(i).decode(): out[:, i] for i in range(nc)}


def figures(t):
    pt = t["v_pt"]
    hx, hy = t["htrue_x"], t["htrue_y"]
    h = np.hypot(hx, hy)
    ux, uy = hx / h, hy / h
    f = [pt.mean(), np.median(pt)]
    b = np.digitize(pt, EDGES) - 1
    f += [np.mean(b == k) for k in range(5)]
    for r in ("tk", "pf"):
        for k in range(5):
            m = b == k
            f.append((t[r + "_x"][m] * ux[m] + t[r + "_y"][m] * uy[m]).sum() / h[m].sum())
    f += [t["n_vtx"].mean(), t["n_tk"].mean(), t["ln_e1"].std(), t["e2"].std()]
    return dict(zip(FIG_NAMES, f))


def driver_metrics(args):
    _, out = common.run([common.driver("toy_bench")] + args)
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def main():
    m = {}
    d = driver_metrics(["W", "mc", "300000", "1"])
    m["events_per_s"] = d["events_per_s"]
    m["events_per_s_wall"] = d["events_per_s_wall"]
    d = driver_metrics(["Z", "mc", "200000", "1"])
    m["z.events_per_s"] = d["events_per_s"]
    d = driver_metrics(["W", "mc", "50000", "1", "particles"])
    m["particles.events_per_s"] = d["events_per_s"]
    d = driver_metrics(["W", "mc", "30000", "1", "table", "pu_library=0"])
    m["fresh_pileup.events_per_s"] = d["events_per_s"]
    lib = load_library()
    for sample, (process, preset) in {"w_mc": ("W", "mc"), "z_mc": ("Z", "mc"),
                                      "z_data": ("Z", "data")}.items():
        f = figures(toy_table(lib, process, preset, 100000, 2026))
        for name, ref in zip(FIG_NAMES, REF[sample]):
            m[f"{sample}.{name}"] = f[name]
            m[f"{sample}.{name}.ref"] = ref
    common.write("toy", m)


if __name__ == "__main__":
    main()
