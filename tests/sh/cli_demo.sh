#!/bin/sh
# tests/sh/cli_demo.sh -- runs a small `wrecoil demo` and asserts the physics
# from results.json (not the printed text):
#   - the MNPk recoil resolves |h| better than TK;
#   - the z-weighted Z sim/data difference (W-like MT fit, MeV) falls after
#     morphing;
#   - the W closure bias after correction (generator-level reweighting) is
#     compatible with zero within 2 errors (W events and the calibration's
#     own statistics) while the bias before is not;
#   - every bias is finite and has a positive bootstrap error.
# CLI_DEMO_EVENTS overrides the size (default 160000: 1-2 minutes on 2 cores).
BUILD=${BUILD:-build}
W="$PWD/$BUILD/wrecoil"
PY=/usr/bin/python3
N=${CLI_DEMO_EVENTS:-160000}
[ -x "$W" ] || { echo "cli_demo: $W missing (run make)"; exit 1; }
$PY -c 'import json' 2>/dev/null || PY=python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1



if ! "$W" demo --events "$N" --epochs 20 --bootstrap 40 --out "$T/demo" --threads 2 --no-report \
     --quiet > "$T/demo.txt" 2>&1; then
  cat "$T/demo.txt"
  echo "cli_demo: FAIL: wrecoil demo failed"
  exit 1
fi
grep -A 14 "== Summary" "$T/demo.txt"
$PY - "$T/demo/results.json" <<'EOF'
import json, math, sys
r = json.load(open(sys.argv[1]))
bad = []
def check(ok, what):
    print("  %-4s %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        bad.append(what)

res = r["recoil"]["resolution"]
check(res["mnpk"]["mag_w68_all_gev"] < res["tk"]["mag_w68_all_gev"],
      "MNPk |h| resolution %.2f GeV better than TK %.2f GeV"
      % (res["mnpk"]["mag_w68_all_gev"], res["tk"]["mag_w68_all_gev"]))

cal = r["calibration"]
check(cal["available"], "calibration step available (wr_morpher)")
if cal["available"]:
    fits = []
    for rc in ("tk", "mnpk"):
        z = cal["z_closure"][rc]
        fits += [z["before"], z["after"]]
        check(abs(z["after"]["bias_mev"]) < abs(z["before"]["bias_mev"]),
              "%s: z-weighted Z sim/data difference falls after morphing (%.1f -> %.1f MeV)"
              % (rc, z["before"]["bias_mev"], z["after"]["bias_mev"]))
    wc = cal["w_closure"]
    check(wc["available"], "W closure available")
    for rc in ("tk", "mnpk"):
        b, a = wc[rc]["before"], wc[rc]["after"]
        fits += [b, a, wc[rc]["before_no_reweight"], wc[rc]["after_no_reweight"]]
        check(abs(b["bias_mev"]) > 2 * b["err_mev"],
              "%s: W bias before correction %.1f +- %.1f MeV is not compatible with 0"
              % (rc, b["bias_mev"], b["err_mev"]))
        # the residual's error: W events (bootstrap) and, in quadrature, the
        # statistics of the Z samples the morpher learned from (replicas)
        ea = a.get("total_err_mev", a["err_mev"])
        check("calib_err_mev" in a and a["calib_err_mev"] > 0,
              "%s: calibration statistical error %.1f MeV from the Z training replicas"
              % (rc, a.get("calib_err_mev", float("nan"))))
        check(abs(a["bias_mev"]) < 2 * ea,
              "%s: W bias after correction %.1f +- %.1f MeV is compatible with 0 (2 errors)"
              % (rc, a["bias_mev"], ea))
    for f in fits:
        check(math.isfinite(f["bias_mev"]) and f["err_mev"] is not None and f["err_mev"] > 0,
              "bias %s finite with a bootstrap error %s" % (f["bias_mev"], f["err_mev"]))
p = r["ptw_syst"]
for rc in ("tk", "mnpk"):
    check(math.isfinite(p[rc]["slope_mev"]) and p[rc]["slope_err_mev"] > 0,
          "%s: pT-W systematic %.1f +- %.1f MeV" % (rc, p[rc]["slope_mev"], p[rc]["slope_err_mev"]))
sys.exit(1 if bad else 0)
EOF
st=$?
[ $st -eq 0 ] && echo "cli_demo: physics checks passed" || echo "cli_demo: FAIL"
exit $st
