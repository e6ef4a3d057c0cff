"""Benchmark suite `morph`: quality and speed of wr_morpher (issue 13).

1. The built-in toy, Z events, presets "mc" -> "data" (WR_MORPH_BENCH_N
   events a class and sample, default 2e5), z = (pT, pL) of the muon pair,
   y = (|h|, dphi(-pT, h)) of the TK and of the PF recoil, each morphed by
   its own N = 2, k = 2 morpher.  Independent samples for fitting (sim,
   data) and testing (sim, data).
2. The generator Z samples z_mc.csv.gz -> z_data.csv.gz, PF recoil (fit
   and test halves).
Quality: the classifier two-sample test of wrecoil.diagnostics
(HistGradientBoostingClassifier on (z, y), held-out ROC AUC), the
simulation weighted by w(z) = p_data(z)/p_sim(z) from a classifier on z
alone, before and after morphing; the null is the same test between two
halves of the simulation.  Also quantiles of y in bins of pT with errors.
Reference: a chained-quantile morphing in Python (scikit-learn quantile
HistGradientBoostingRegressor per level, same chain, linear interpolation),
fitted and applied on the same toy PF samples in the same run.
"""
import importlib.util
import os
import sys
import tempfile
import time

# scikit-learn's OpenMP threads spin while waiting; on a machine shared with
# other jobs that makes 2 threads ~10x slower than 1.  Passive waiting (set
# before sklearn loads OpenMP) and the thread setting measured below keep
# the reference at its best.  libwrecoil does not use OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# The diagnostics module is pure numpy/scikit-learn; load it by path so the
# benchmark does not depend on the bindings package importing cleanly.
_spec = importlib.util.spec_from_file_location(
    "wr_diagnostics", os.path.join(common.ROOT, "bindings", "python", "wrecoil", "diagnostics.py"))
diag = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diag)

N_TOY = int(float(os.environ.get("WR_MORPH_BENCH_N", "200000")))
THREADS = 2
LEVELS = [0.01] + [round(0.05 * i, 2) for i in range(1, 20)] + [0.99]
BOUNDS = "0:inf,-pi:pi"
# Forest settings shared by libwrecoil and the reference: the forest's
# defaults (100 rounds, 31 leaves, learning rate 0.1, 255 bins).
ROUNDS = int(os.environ.get("WR_MORPH_BENCH_ROUNDS", "100"))
LEAVES, LR, MIN_LEAF = 31, 0.1, 20
FOREST_KV = f"rounds={ROUNDS} max_leaves={LEAVES} learning_rate={LR} min_samples_leaf={MIN_LEAF}"
PT_BINS = [0, 4, 10, 20, 50, np.inf]
TMP = tempfile.mkdtemp(prefix="wr_morph_bench_")


# ------------------------------------------------------------- samples
def zy_from_columns(col):
    """z = (pT, pL) of the reconstructed muon pair, y = (|h|, dphi(-pT, h))
    for the TK and PF recoils (docs/recoil-features.md)."""
    px = col["l_pt"] * np.cos(col["l_phi"]) + col["l2_pt"] * np.cos(col["l2_phi"])
    py = col["l_pt"] * np.sin(col["l_phi"]) + col["l2_pt"] * np.sin(col["l2_phi"])
    pz = col["l_pt"] * np.sinh(col["l_eta"]) + col["l2_pt"] * np.sinh(col["l2_eta"])
    z = np.c_[np.hypot(px, py), pz]
    phi_ref = np.arctan2(-py, -px)
    ys = {}
    for rec in ("tk", "pf"):
        hx, hy = col[rec + "_x"], col[rec + "_y"]
        dphi = np.angle(np.exp(1j * (np.arctan2(hy, hx) - phi_ref)))
        ys[rec] = np.c_[np.hypot(hx, hy), dphi]
    ok = {"tk": col["n_tk"] > 0, "pf": np.ones(len(z), dtype=bool)}
    return z, ys, ok


def toy_sample(preset, n, seed):
    path = os.path.join(TMP, f"toy_{preset}_{seed}.f64")
    _, out = common.run([common.driver("morph_bench"), "toy", "process=Z", f"preset={preset}",
                         f"n={n}", f"seed={seed}", f"out={path}", f"threads={THREADS}"])
    cols = dict(line.split("=", 1) for line in out.split())["cols"].split(",")
    table = np.fromfile(path, dtype=np.float64).reshape(n, len(cols))
    os.remove(path)
    return zy_from_columns({c: table[:, i] for i, c in enumerate(cols)})


def generator_sample(name):
    import pandas as pd
    df = pd.read_csv(os.path.join(common.SHARED_DATA, name))
    return zy_from_columns({c: df[c].to_numpy(np.float64) for c in df.columns})


# ------------------------------------------------------------ morphing
def f32file(name, a):
    path = os.path.join(TMP, name)
    np.ascontiguousarray(a, dtype=np.float32).tofile(path)
    return path


LAST_RUN = {}  # every "key=value" the driver printed in its last run


def wrecoil_morph(sim, data, apply_zy, repeat=1, params="", alt=None):
    """Fits with libwrecoil's C driver; returns (y', fit s, apply s), and
    with `alt` ("k=v" apply-time parameters) also y' of the same model
    applied with them."""
    (zs, ys), (zd, yd), (za, ya) = sim, data, apply_zy
    out = os.path.join(TMP, "out_y.f32")
    args = [common.driver("morph_bench"), "fit-apply", "ny=2", "nz=2",
            f"sim_z={f32file('zs', zs)}", f"sim_y={f32file('ys', ys)}", f"n_sim={len(zs)}",
            f"data_z={f32file('zd', zd)}", f"data_y={f32file('yd', yd)}", f"n_data={len(zd)}",
            f"apply_z={f32file('za', za)}", f"apply_y={f32file('ya', ya)}", f"n_apply={len(za)}",
            f"out_y={out}", f"bounds={BOUNDS}", f"repeat={repeat}", f"forest={FOREST_KV}",
            f"params=threads={THREADS} {params}"]
    alt_out = os.path.join(TMP, "alt_out_y.f32")
    if alt:
        args += [f"alt_params={alt}", f"alt_out_y={alt_out}"]
    _, text = common.run(args)
    res = {k: float(v) for k, v in (line.split("=", 1) for line in text.split())}
    y = np.fromfile(out, dtype=np.float32).reshape(len(za), 2).astype(np.float64)
    LAST_RUN.clear()
    LAST_RUN.update(res)
    if alt:
        y_alt = np.fromfile(alt_out, dtype=np.float32).reshape(len(za), 2).astype(np.float64)
        return y, res["fit_s"], res["apply_s"], y_alt, res["alt_apply_s"]
    return y, res["fit_s"], res["apply_s"]


class ReferenceMorpher:
    """Chained quantile morphing in Python, the way analyses write it:
    one scikit-learn quantile model per level and variable and direction,
    the same chain as libwrecoil (sim models on original values, data
    models on morphed ones), per-event sorted quantiles, linear
    interpolation in tau and linear extrapolation of the outer segments.
    Bounds: the same log / logit coordinates as libwrecoil."""

    def __init__(self, levels):
        self.levels = np.asarray(levels)

    @staticmethod
    def to_t(y):
        h = np.log(np.maximum(y[:, 0], 1e-12))
        a = (y[:, 1] + np.pi) / (2 * np.pi)
        a = np.clip(a, 1e-12, 1 - 1e-12)
        return np.c_[h, np.log(a) - np.log1p(-a)]

    @staticmethod
    def from_t(t):
        return np.c_[np.exp(t[:, 0]), -np.pi + 2 * np.pi / (1 + np.exp(-t[:, 1]))]

    def _models(self, z, t):
        from sklearn.ensemble import HistGradientBoostingRegressor
        out = []
        for j in range(t.shape[1]):
            x = np.c_[z, t[:, :j]]
            per = []
            for tau in self.levels:
                m = HistGradientBoostingRegressor(
                    loss="quantile", quantile=float(tau), max_iter=ROUNDS, learning_rate=LR,
                    max_leaf_nodes=LEAVES, min_samples_leaf=MIN_LEAF, max_bins=255,
                    early_stopping=False, random_state=0)
                per.append(m.fit(x, t[:, j]))
            out.append(per)
        return out

    def fit(self, zs, ys, zd, yd):
        self.sim = self._models(zs, self.to_t(ys))
        self.data = self._models(zd, self.to_t(yd))
        return self

    @staticmethod
    def _predict(models, x):
        return np.sort(np.column_stack([m.predict(x) for m in models]), axis=1)

    def apply(self, z, y):
        ts = self.to_t(y)
        td = np.empty_like(ts)
        for j in range(ts.shape[1]):
            qs = self._predict(self.sim[j], np.c_[z, ts[:, :j]])
            qd = self._predict(self.data[j], np.c_[z, td[:, :j]])
            td[:, j] = self._map(qs, qd, ts[:, j])
        return self.from_t(td)

    def _map(self, qs, qd, t):
        """u = F_sim(t) then F_data^-1(u), both linear in tau; outside the
        extreme levels the outer segments are extended linearly."""
        tau = self.levels
        k = np.clip((qs <= t[:, None]).sum(axis=1) - 1, 0, len(tau) - 2)
        r = np.arange(len(t))
        frac = (t - qs[r, k]) / np.maximum(qs[r, k + 1] - qs[r, k], 1e-12)
        inside = (t >= qs[:, 0]) & (t <= qs[:, -1])
        frac = np.where(inside, np.clip(frac, 0, 1), frac)
        return qd[r, k] + frac * (qd[r, k + 1] - qd[r, k])


def reference_threads(sim):
    """The reference's faster thread setting (1 or 2), from one model."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits
    t = ReferenceMorpher.to_t(sim[1])[:, 0]
    best = (np.inf, 1)
    for th in (1, 2):
        with threadpool_limits(th):
            t0 = time.perf_counter()
            HistGradientBoostingRegressor(
                loss="quantile", quantile=0.5, max_iter=ROUNDS, learning_rate=LR,
                max_leaf_nodes=LEAVES, min_samples_leaf=MIN_LEAF, early_stopping=False,
                random_state=0).fit(sim[0], t)
            dt = time.perf_counter() - t0
        print(f"reference: one model with {th} thread(s): {dt:.2f} s")
        best = min(best, (dt, th))
    return best[1]


def reference_morph(sim, data, apply_zy):
    from threadpoolctl import threadpool_limits
    threads = reference_threads(sim)
    ref = ReferenceMorpher(LEVELS)
    with threadpool_limits(threads):
        t0 = time.perf_counter()
        ref.fit(sim[0], sim[1], data[0], data[1])
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        y = ref.apply(*apply_zy)
        t_apply = time.perf_counter() - t0
    print(f"reference ({threads} thread(s)): fit {t_fit:.1f} s, apply {t_apply:.2f} s")
    return y, t_fit, t_apply, threads


# ------------------------------------------------------------- quality
def aucs(sim_test, data_test, morphed, seed=0):
    """z-weighted two-sample AUCs: before, after each morphing, null; each
    with its Hanley-McNeil standard error under out[name + "_err"]."""
    zs, ys = sim_test
    zd, yd = data_test
    w = diag.density_ratio_weights(zs, zd, seed=seed)
    out = {}
    out["z_only"], out["z_only_err"] = diag.two_sample_auc(zs, zd, seed=seed, return_error=True)
    samples = {"before": ys, **morphed}
    for name, y in samples.items():
        out[name], out[name + "_err"] = diag.two_sample_auc(
            np.c_[zs, y], np.c_[zd, yd], w=w, seed=seed, return_error=True)
    half = np.random.default_rng(seed + 1).permutation(len(zs))
    a, b = half[: len(zs) // 2], half[len(zs) // 2:]
    out["null"], out["null_err"] = diag.two_sample_auc(
        np.c_[zs, ys][a], np.c_[zs, ys][b], w=w[a], w_data=w[b], seed=seed, return_error=True)
    return out, w


def wquantile(x, w, p):
    o = np.argsort(x)
    c = np.cumsum(w[o])
    c = (c - 0.5 * w[o]) / c[-1]
    return np.interp(p, c, x[o])


def _quantile_rows(label, sel_s, sel_d, sim_test, data_test, w, morphed, pulls):
    """Prints one row per variable (quantiles 0.1/0.5/0.9 with errors) for
    the selected events and appends the pulls to `pulls`."""
    ys, yd = sim_test[1], data_test[1]
    for j, name in enumerate(["|h|", "dphi"]):
        row = []
        for p in (0.1, 0.5, 0.9):
            q, e = {}, {}
            for key, (y, ww) in {"data": (yd[sel_d, j], np.ones(sel_d.sum())),
                                 "before": (ys[sel_s, j], w[sel_s]),
                                 "after": (morphed[sel_s, j], w[sel_s])}.items():
                neff = ww.sum() ** 2 / np.sum(ww * ww)
                q[key] = wquantile(y, ww, p)
                d = 0.05
                slope = (wquantile(y, ww, min(p + d, 0.999)) - wquantile(y, ww, max(p - d, 0.001))) / (2 * d)
                e[key] = slope * np.sqrt(p * (1 - p) / neff)
            pull = {k: (q[k] - q["data"]) / np.hypot(e[k], e["data"]) for k in ("before", "after")}
            for k in pull:
                pulls[k].append(pull[k])
            row.append(f"q{int(p * 100)}: {q['data']:.3f}+-{e['data']:.3f} | {q['before']:.3f} "
                       f"({pull['before']:+.1f}) | {q['after']:.3f} ({pull['after']:+.1f})")
        print(f"  {label} {name:>5}: " + "; ".join(row))


def quantile_table(title, sim_test, data_test, w, morphed):
    """Quantiles 0.1/0.5/0.9 of each y, marginal and in bins of pT: data,
    simulation (z-weighted) before and after; error from the quantile's
    asymptotic variance with Kish's effective size.  Returns RMS pulls
    (conditional: "before"/"after"; marginal: "marginal_before"/...)."""
    zs, zd = sim_test[0], data_test[0]
    pulls = {"before": [], "after": []}
    marginal = {"before": [], "after": []}
    print(f"--- quantiles of y ({title}): data | sim before | sim after (pull)")
    _quantile_rows("all pT     ", np.ones(len(zs), bool), np.ones(len(zd), bool),
                   sim_test, data_test, w, morphed, marginal)
    for lo, hi in zip(PT_BINS[:-1], PT_BINS[1:]):
        ms, md = (zs[:, 0] >= lo) & (zs[:, 0] < hi), (zd[:, 0] >= lo) & (zd[:, 0] < hi)
        _quantile_rows(f"pT [{lo}, {hi})", ms, md, sim_test, data_test, w, morphed, pulls)
    rms = {k: float(np.sqrt(np.mean(np.square(v)))) for k, v in pulls.items()}
    rms.update({"marginal_" + k: float(np.sqrt(np.mean(np.square(v)))) for k, v in marginal.items()})
    print(f"  RMS pull in pT bins: before {rms['before']:.2f}, after {rms['after']:.2f}; "
          f"marginal: before {rms['marginal_before']:.2f}, after {rms['marginal_after']:.2f}")
    return rms


# ----------------------------------------------------------------- main
def toy_suite(metrics):
    n = N_TOY
    print(f"toy: {n} events a sample (mc fit, data fit, mc test, data test)")
    sims = toy_sample("mc", n, 101)
    datas = toy_sample("data", n, 202)
    simt = toy_sample("mc", n, 303)
    datat = toy_sample("data", n, 404)
    for rec in ("pf", "tk"):
        sel = lambda s: (s[0][s[2][rec]], s[1][rec][s[2][rec]])  # noqa: E731
        fit_s, fit_d, test_s, test_d = sel(sims), sel(datas), sel(simt), sel(datat)
        y_wr, t_fit, t_apply, y_pchip, _ = wrecoil_morph(fit_s, fit_d, test_s,
                                                         alt="interpolation=pchip")
        print(f"libwrecoil {rec.upper()} ({THREADS} threads): fit {t_fit:.1f} s, apply {t_apply:.2f} s")
        morphed = {"after": y_wr, "after_pchip": y_pchip}
        if rec == "pf":
            y_ref, r_fit, r_apply, r_threads = reference_morph(fit_s, fit_d, test_s)
            metrics["reference_threads"] = r_threads
            morphed["after_reference"] = y_ref
            metrics["fit_s"] = t_fit
            metrics["apply_s"] = t_apply
            metrics["fit_s_reference"] = r_fit
            metrics["apply_s_reference"] = r_apply
            metrics["fit_speedup_vs_reference"] = r_fit / t_fit
            metrics["apply_speedup_vs_reference"] = r_apply / t_apply
        a, w = aucs(test_s, test_d, morphed)
        sfx = "" if rec == "pf" else "_tk"
        metrics["auc_z_only" + sfx] = a["z_only"]
        metrics["auc_before" + sfx] = a["before"]
        metrics["auc_after" + sfx] = a["after"]
        metrics["auc_after_pchip" + sfx] = a["after_pchip"]
        metrics["auc_null" + sfx] = a["null"]
        for k in ("before", "after", "null"):
            metrics[f"auc_{k}_err" + sfx] = a[k + "_err"]
        if rec == "pf":
            metrics["auc_after_reference"] = a["after_reference"]
        pulls = quantile_table(f"toy, {rec.upper()}", test_s, test_d, w, y_wr)
        metrics["quantile_rms_pull_before" + sfx] = pulls["before"]
        metrics["quantile_rms_pull_after" + sfx] = pulls["after"]
        metrics["quantile_rms_pull_marginal_before" + sfx] = pulls["marginal_before"]
        metrics["quantile_rms_pull_marginal_after" + sfx] = pulls["marginal_after"]
        print(f"toy {rec.upper()}: AUC z-only {a['z_only']:.4f}, before {a['before']:.4f}, "
              f"after {a['after']:.4f} (PCHIP {a['after_pchip']:.4f}), null {a['null']:.4f}"
              + (f", reference {a['after_reference']:.4f}" if rec == "pf" else ""))
    # apply throughput: 1e6 events on 2 threads, best of 3
    test_s = (simt[0], simt[1]["pf"])
    reps = int(np.ceil(1e6 / len(test_s[0])))
    big = (np.tile(test_s[0], (reps, 1))[:1000000], np.tile(test_s[1], (reps, 1))[:1000000])
    load = os.getloadavg()[0]
    _, _, t_big, _, t_one = wrecoil_morph((sims[0], sims[1]["pf"]), (datas[0], datas[1]["pf"]), big,
                                          repeat=3, alt="threads=1")
    metrics["apply_events_per_s"] = len(big[0]) / t_big
    metrics["apply_events_per_s_1thread"] = len(big[0]) / t_one
    metrics["load_average_during_apply"] = (load + os.getloadavg()[0]) / 2
    # load-independent: events per CPU second (all threads of the process)
    metrics["apply_events_per_cpu_s"] = len(big[0]) / LAST_RUN["apply_cpu_s"]
    metrics["apply_events_per_cpu_s_1thread"] = len(big[0]) / LAST_RUN["alt_apply_cpu_s"]
    print(f"apply throughput, 1e6 events: {len(big[0]) / t_big:.0f}/s on {THREADS} threads (best of 3), "
          f"{len(big[0]) / t_one:.0f}/s on 1 thread; load average {metrics['load_average_during_apply']:.1f} "
          f"on {os.cpu_count()} cores; per CPU second {metrics['apply_events_per_cpu_s']:.0f} (2 threads), "
          f"{metrics['apply_events_per_cpu_s_1thread']:.0f} (1 thread)")


def generator_suite(metrics):
    if not os.path.exists(os.path.join(common.SHARED_DATA, "z_mc.csv.gz")):
        print("generator samples not found: skipping")
        return
    zm, ym, okm = generator_sample("z_mc.csv.gz")
    zd, yd, okd = generator_sample("z_data.csv.gz")
    rng = np.random.default_rng(7)
    fm = rng.random(len(zm)) < 0.5
    fd = rng.random(len(zd)) < 0.5
    sim_fit, sim_test = (zm[fm], ym["pf"][fm]), (zm[~fm], ym["pf"][~fm])
    data_fit, data_test = (zd[fd], yd["pf"][fd]), (zd[~fd], yd["pf"][~fd])
    print(f"generator: fit {len(sim_fit[0])} mc / {len(data_fit[0])} data, "
          f"test {len(sim_test[0])} / {len(data_test[0])}")
    y_wr, t_fit, t_apply = wrecoil_morph(sim_fit, data_fit, sim_test)
    a, w = aucs(sim_test, data_test, {"after": y_wr})
    metrics["auc_z_only_generator"] = a["z_only"]
    metrics["auc_before_generator"] = a["before"]
    metrics["auc_after_generator"] = a["after"]
    metrics["auc_null_generator"] = a["null"]
    for k in ("before", "after", "null"):
        metrics[f"auc_{k}_err_generator"] = a[k + "_err"]
    pulls = quantile_table("generator Z, PF", sim_test, data_test, w, y_wr)
    metrics["quantile_rms_pull_before_generator"] = pulls["before"]
    metrics["quantile_rms_pull_after_generator"] = pulls["after"]
    metrics["quantile_rms_pull_marginal_before_generator"] = pulls["marginal_before"]
    metrics["quantile_rms_pull_marginal_after_generator"] = pulls["marginal_after"]
    print(f"generator PF: AUC z-only {a['z_only']:.4f}, before {a['before']:.4f}, "
          f"after {a['after']:.4f}, null {a['null']:.4f}")


def main():
    metrics = {}
    t0 = time.perf_counter()
    if os.environ.get("WR_MORPH_BENCH_GENERATOR", "1") != "0":
        generator_suite(metrics)
    toy_suite(metrics)
    metrics["bench_wall_s"] = time.perf_counter() - t0
    common.write("morph", metrics)
    ok = True
    checks = [
        ("auc_before - auc_null >= 0.02", metrics["auc_before"] - metrics["auc_null"] >= 0.02),
        ("auc_after - auc_null <= 0.005", metrics["auc_after"] - metrics["auc_null"] <= 0.005),
        ("auc_after <= auc_after_reference", metrics["auc_after"] <= metrics["auc_after_reference"] + 1e-9),
        ("fit_speedup_vs_reference >= 5", metrics["fit_speedup_vs_reference"] >= 5),
        ("apply_speedup_vs_reference >= 20", metrics["apply_speedup_vs_reference"] >= 20),
        ("apply_events_per_s >= 2e5", metrics["apply_events_per_s"] >= 2e5),
    ]
    if "auc_after_generator" in metrics:
        checks.append(("generator auc_after - auc_null <= 0.005",
                       metrics["auc_after_generator"] - metrics["auc_null_generator"] <= 0.005))
    for name, passed in checks:
        print(f"  target {name}: {'met' if passed else 'NOT met'}")
        ok = ok and passed
    return 0


if __name__ == "__main__":
    sys.exit(main())
