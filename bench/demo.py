"""bench/demo.py -- `make bench SUITE=demo`: runs `wrecoil demo` with its
default sizes (the README's `make demo`) and writes bench/out/demo.json with
the numbers of the summary table (TK and MNPk, value and bootstrap error),
the pT-W ratio, the sample sizes and the run time (wall clock of the whole
command, and of the analysis before the report).

Environment: DEMO_BENCH_EVENTS (--events, default: the demo's default),
DEMO_BENCH_THREADS (--threads, default 0 = all cores).
"""
import json
import math
import os
import sys
import time

from common import BUILD, OUT, run, write


def main():
    exe = os.path.join(BUILD, "wrecoil")
    if not os.path.exists(exe):
        print("bench demo: %s is missing (make)" % exe)
        return 1
    out = os.path.join(OUT, "demo-run")
    cmd = [exe, "demo", "--out", out, "--threads", os.environ.get("DEMO_BENCH_THREADS", "0")]
    if os.environ.get("DEMO_BENCH_EVENTS"):
        cmd += ["--events", os.environ["DEMO_BENCH_EVENTS"]]
    t0 = time.perf_counter()
    _, text = run(cmd)
    wall = time.perf_counter() - t0
    print(text[text.find("== Summary"):] if "== Summary" in text else text)
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    m = {"wall_seconds": wall, "analysis_seconds": res["run_seconds"]}
    for k, v in res["sizes"].items():
        m["size_" + k] = v
    for row in res["summary"]:
        for rc in ("tk", "mnpk"):
            for suffix in ("", "_err"):
                v = row.get(rc + suffix)
                if v is not None and math.isfinite(v):
                    m["%s_%s%s" % (row["key"], rc, suffix)] = v
    # the W residual's error parts: W events (bootstrap) and the calibration
    # (Z-training replicas); the summary's w_after errors are their sum in
    # quadrature
    wc = res.get("calibration", {}).get("w_closure", {})
    for rc in ("tk", "mnpk"):
        for key in ("after", "after_no_reweight"):
            fit = wc.get(rc, {}).get(key, {})
            for src, dst in (("err_mev", "event_err"), ("calib_err_mev", "calib_err")):
                v = fit.get(src)
                if v is not None and math.isfinite(v):
                    m["w_%s_%s_%s" % (key, rc, dst)] = v
    p = res["ptw_syst"]
    m["ptw_ratio_tk_mnpk"] = p["ratio_tk_mnpk"]
    m["ptw_ratio_err"] = p["ratio_err"]
    write("demo", m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
