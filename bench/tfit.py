"""bench/tfit.py -- wr_template_fit vs an independent numpy + iminuit reference.

The same analysis on the same inputs, side by side in one run:
  1e6 events of a transverse-mass-like observable (m sin(theta) smeared) with
  generator masses from a Breit-Wigner, 100 bins, 41 mass hypotheses built by
  Breit-Wigner reweighting (running width), pseudo-data = the same events
  reweighted to a true mass and distorted (correlated with the templates),
  fitted with the binned Baker-Cousins likelihood, plus 100 bootstrap
  replicas with Poisson(1) weights per (seed, event id).

libwrecoil runs through bench/tfit_bench.c (raw binary files in, JSON out).
The reference histograms with numpy (np.bincount per hypothesis and replica),
interpolates ln(bin contents) between grid masses with the same cubic
Lagrange rule, and minimises -2 ln L with iminuit (Migrad + Hesse); it draws
the bootstrap weights with a numpy re-implementation of the library's
documented stream (xoshiro256** seeded by splitmix64 from (seed, event id),
Poisson(1) by inversion), so the replicas are the same replicas.

Metrics: speedup_vs_reference (reference wall time / libwrecoil wall time,
all cores for libwrecoil; speedup_1thread with one thread; speedup_cpu_1thread
the ratio of CPU times with one thread, less sensitive to a loaded machine)
and max_abs_diff_mev, the largest |mass difference| over the nominal fit and
every replica.  libwrecoil times include process start and reading the
inputs (median of 3 runs); the reference runs once (it takes ~10 s).

  bench/tfit.py            full benchmark, writes bench/out/tfit.json
  bench/tfit.py --quick    small agreement check (tests/sh/tfit_reference.sh)
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

M0, G0 = 80.385, 2.085
LO, HI = 60.0, 100.0
SEED = 7


# ------------------------------------------------------------------ inputs
def generate(n, seed):
    """Events: generator mass from a Breit-Wigner in s, observable x."""
    rng = np.random.default_rng(seed)
    mg = M0 * G0
    a_lo = np.arctan((60.0 ** 2 - M0 ** 2) / mg)
    a_hi = np.arctan((100.0 ** 2 - M0 ** 2) / mg)
    m = np.sqrt(M0 ** 2 + mg * np.tan(rng.uniform(a_lo, a_hi, n)))
    c = rng.uniform(-1.0, 1.0, n)
    x = m * np.sqrt(1 - c * c) * (1 + 0.02 * rng.standard_normal(n)) \
        + 2.0 * rng.standard_normal(n)
    ids = np.arange(n, dtype=np.uint64) + np.uint64(1000000000)
    return x, m, ids


def bw_den(s, M, G):
    """1 / BW(m; M, G), running width (the library's default)."""
    d = s - M * M
    return d * d + s * s * (G * G / (M * M))


def data_weights(x, m, true_mass, distortion):
    """Pseudo-data: the template events reweighted to true_mass, distorted."""
    s = m * m
    return bw_den(s, M0, G0) / bw_den(s, true_mass, G0) \
        * (1.0 + distortion * (x - 80.0) / 10.0)


# -------------------------------------------------- bootstrap weight stream
U = np.uint64


def _splitmix(x):
    x = x + U(0x9E3779B97F4A7C15)
    z = (x ^ (x >> U(30))) * U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U(27))) * U(0x94D049BB133111EB)
    return x, z ^ (z >> U(31))


def _rotl(v, k):
    return (v << U(k)) | (v >> U(64 - k))


def poisson_weights(seed, ids, R):
    """R x n Poisson(1) weights, the library's stream (lib/core/rng.c,
    lib/tfit.c): xoshiro256** seeded from (seed, id); output q gives
    replicas 2q (high 32 bits) and 2q + 1 (low 32 bits); k = #{F_j 2^32 <= v}
    with F the Poisson(1) cdf."""
    F = []
    p = c = 0.36787944117144233
    for k in range(23):
        F.append(np.ceil(c * 2.0 ** 32))
        p /= k + 1
        c += p
    F.append(2.0 ** 70)
    F = np.array(F)
    with np.errstate(over="ignore"):
        x = U(seed) ^ (U(0xD1B54A32D192ED03) * (ids + U(1)))
        x, z = _splitmix(x)
        x = z ^ ids
        s = []
        for _ in range(4):
            x, z = _splitmix(x)
            s.append(z)
        s0, s1, s2, s3 = s
        K = np.empty((R, len(ids)), dtype=np.uint8)
        for q in range(0, R, 2):
            res = _rotl(s1 * U(5), 7) * U(9)
            t = s1 << U(17)
            s2 ^= s0
            s3 ^= s1
            s1 ^= s2
            s0 ^= s3
            s2 ^= t
            s3 = _rotl(s3, 45)
            K[q] = np.searchsorted(F, (res >> U(32)).astype(np.float64), side="right")
            if q + 1 < R:
                lo = (res & U(0xFFFFFFFF)).astype(np.float64)
                K[q + 1] = np.searchsorted(F, lo, side="right")
    return K


# --------------------------------------------------------------- reference
def lagrange(grid, M):
    """(first node, weights) of the library's log-cubic interpolation."""
    H = len(grid)
    i = int(np.searchsorted(grid, M, side="right")) - 1
    i = min(max(i, 0), H - 1)
    if M == grid[i]:
        return i, np.ones(1)
    s = min(max(i - 1, 0), H - 4)
    xs = grid[s:s + 4]
    L = np.ones(4)
    for k in range(4):
        for q in range(4):
            if q != k:
                L[k] *= (M - xs[q]) / (xs[k] - xs[q])
    return s, L


def fit_reference(T, D, grid, Minuit):
    """Minimum and Hesse error of -2 ln L (shape normalisation)."""
    ok = np.all(T > 0, axis=0)
    lnT = np.log(T[:, ok])
    n = D[ok]
    N = n.sum()
    nz = n > 0

    def nll(M):
        s, L = lagrange(grid, M)
        mu = np.exp(L @ lnT[s:s + len(L)])
        m = mu * (N / mu.sum())
        return 2.0 * np.sum(m - n) + 2.0 * np.sum(n[nz] * np.log(n[nz] / m[nz]))

    start = grid[int(np.argmin([nll(g) for g in grid]))]
    mn = Minuit(nll, M=start)
    mn.errordef = 1.0
    mn.limits = (grid[0], grid[-1])
    mn.tol = 1e-6
    mn.migrad()
    mn.hesse()
    return mn.values["M"], mn.errors["M"]


def reference(x, m, wd, ids, grid, nbins, R, seed):
    """The whole analysis with numpy + iminuit; returns masses and widths."""
    from iminuit import Minuit
    edges = np.array([LO + (HI - LO) * i / nbins for i in range(nbins + 1)])
    b = np.searchsorted(edges, x, side="right") - 1
    keep = (b >= 0) & (b < nbins)
    b, m, wd, ids = b[keep], m[keep], wd[keep], ids[keep]
    s = m * m
    den0 = bw_den(s, M0, G0)
    K = poisson_weights(seed, ids, R) if R else None
    H = len(grid)
    T = np.empty((R + 1, H, nbins))
    for h, M in enumerate(grid):
        wh = den0 / bw_den(s, M, G0)
        T[0, h] = np.bincount(b, weights=wh, minlength=nbins)
        for r in range(R):
            T[r + 1, h] = np.bincount(b, weights=K[r] * wh, minlength=nbins)
    D = np.empty((R + 1, nbins))
    D[0] = np.bincount(b, weights=wd, minlength=nbins)
    for r in range(R):
        D[r + 1] = np.bincount(b, weights=K[r] * wd, minlength=nbins)
    fits = [fit_reference(T[r], D[r], grid, Minuit) for r in range(R + 1)]
    return np.array([f[0] for f in fits]), np.array([f[1] for f in fits])


# -------------------------------------------------------------------- main
def run_driver(driver, d, n, nbins, R, threads, true_mass, center, step, count):
    cmd = [driver, d, str(n), str(nbins), repr(LO), repr(HI), repr(center),
           repr(step), str(count), str(R), str(SEED), str(threads),
           repr(true_mass)]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    t = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    res = json.loads(out)
    res["cpu"] = cpu
    return t, res


def median_run(reps, *a):
    runs = sorted((run_driver(*a) for _ in range(reps)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="small agreement check; no bench/out/tfit.json")
    ap.add_argument("--driver", default=common.driver("tfit_bench"))
    args = ap.parse_args()
    try:
        from iminuit import Minuit  # noqa: F401
    except ImportError:
        print("SKIPPED: tfit reference needs iminuit in", sys.executable)
        return 77 if args.quick else 1
    if args.quick:
        n, nbins, count, step, R = 40000, 40, 21, 0.02, 8
    else:
        n, nbins, count, step, R = 1000000, 100, 41, 0.01, 100
    true_mass, distortion = M0 + 0.023, 0.005
    x, m, ids = generate(n, 2024)
    wd = data_weights(x, m, true_mass, distortion)
    with tempfile.TemporaryDirectory() as d:
        for name, arr in (("x.f64", x), ("m.f64", m), ("wd.f64", wd),
                          ("id.u64", ids)):
            arr.astype(arr.dtype.newbyteorder("<")).tofile(os.path.join(d, name))
        args_c = (n, nbins, R)
        reps = 1 if args.quick else 3  # median of 3: the machine is shared
        t_c, c = median_run(reps, args.driver, d, *args_c, 0, true_mass, M0,
                            step, count)
        t_c1, c1 = median_run(reps, args.driver, d, *args_c, 1, true_mass, M0,
                              step, count)
    grid = np.array(c["grid"])
    t0, c0 = time.perf_counter(), time.process_time()
    ref_mass, ref_err = reference(x, m, wd, ids, grid, nbins, R, SEED)
    t_ref, cpu_ref = time.perf_counter() - t0, time.process_time() - c0

    c_mass = np.array([c["mass"]] + c["replica_mass"])
    diff = np.abs(c_mass - ref_mass) * 1000.0
    same_threads = c["replica_mass"] == c1["replica_mass"] and c["mass"] == c1["mass"]
    ref_spread = float(np.std(ref_mass[1:] * 1000.0, ddof=1)) if R > 1 else 0.0
    metrics = {
        "n_events": n, "n_bins": nbins, "n_hypotheses": count, "n_replicas": R,
        "time_libwrecoil_s": t_c, "time_libwrecoil_1thread_s": t_c1,
        "time_reference_s": t_ref,
        "speedup_vs_reference": t_ref / t_c,
        "speedup_1thread": t_ref / t_c1,
        "cpu_libwrecoil_1thread_s": c1["cpu"], "cpu_reference_s": cpu_ref,
        "speedup_cpu_1thread": cpu_ref / c1["cpu"],
        "libwrecoil_fill_s": c["t_fill"], "libwrecoil_fit_s": c["t_fit"],
        "libwrecoil_bootstrap_s": c["t_bootstrap"],
        "max_abs_diff_mev": float(diff.max()),
        "nominal_diff_mev": float(diff[0]),
        "bias_mev": c["bias_mev"],
        "bias_reference_mev": (ref_mass[0] - true_mass) * 1000.0,
        "width_mev": c["width"] * 1000.0,
        "width_rel_diff_vs_hesse": c["width"] / ref_err[0] - 1.0,
        "boot_spread_mev": c["boot_spread_mev"],
        "boot_spread_reference_mev": ref_spread,
        "thread_count_independent": 1.0 if same_threads else 0.0,
    }
    if args.quick:
        for k in sorted(metrics):
            print(f"  {k:<28} {metrics[k]:.6g}")
    else:
        common.write("tfit", metrics)
    ok = metrics["max_abs_diff_mev"] < 0.1 and same_threads
    if not ok:
        print("FAIL: libwrecoil and the numpy/iminuit reference disagree "
              f"(max |diff| {metrics['max_abs_diff_mev']:.4g} MeV, "
              f"thread-count independent: {same_threads})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
