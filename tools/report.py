#!/usr/bin/env python3
"""tools/report.py OUT -- figures and report.html of `wrecoil demo`.

Reads OUT/results.json, OUT/plotdata/plots.json and the per-event CSV files
of OUT/plotdata/ that `wrecoil demo` wrote, draws the figures with the
Python bindings' wrecoil.plots (matplotlib, Agg) into OUT/*.png and writes
OUT/report.html with the summary table.  Exit status 3 when numpy,
matplotlib or the bindings are missing (the demo then writes the report
without figures and says why).
"""
import html
import json
import math
import os
import sys


def load_csv(path):
    import numpy as np
    with open(path) as f:
        names = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {n: data[:, i] for i, n in enumerate(names)}


def fmt(v, e=None):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if e is None:
        return "%.3g" % v
    return "%.1f &plusmn; %.1f" % (v, e)


def figures(out, plots, res):
    """Draws every figure; returns a list of (file, caption)."""
    import numpy as np
    from wrecoil import plots as P
    figs = []

    def add(name, caption, fn, *a, **kw):
        path = os.path.join(out, name)
        fn(path, *a, **kw)
        figs.append((name, caption))

    pd = os.path.join(out, "plotdata")
    t = load_csv(os.path.join(pd, "targets.csv"))
    for key, label in (("ln_e1", "ln_e1 = ln(|h_true| / h_TK)"), ("e2s", "e2s = s * e2 (rad)")):
        c = plots["closure"][key]
        chi = res["recoil"]["closure"][key]["pdf_sum_chi2_ndf"]
        add("pdf_sum_%s.png" % key, "Sum of the predicted pdfs vs the observed %s on W sim "
            "(chi2/ndf %.2f)." % (key, chi), P.pdf_sum, np.array(c["edges"]), t[key],
            np.array(c["mixture_cdf"]), xlabel=label, title="sum of pdfs: %s" % key)
    add("pit.png", "PIT histograms of the two regressors on W sim (flat for calibrated pdfs).",
        P.pit_histogram, {"ln_e1": t["pit_ln_e1"], "e2s": t["pit_e2s"]}, title="PIT")

    r = load_csv(os.path.join(pd, "resolution.csv"))
    bins = np.array([0, 4, 10, 20, 50, 100])
    add("resolution_mag.png", "Recoil magnitude resolution vs pT_V on W sim: half 68% width of "
        "|h|/R - pT_V, R the projected response of the bin (pT_V > 100 GeV not drawn).", P.resolution_vs_pt, r["pt"],
        {"TK": r["mag_tk"], "PF": r["mag_pf"], "MNPk": r["mag_mnpk"]}, bins,
        ylabel="|h|/R - pT_V: half 68% width (GeV)", title="recoil magnitude")
    add("resolution_angle.png", "Recoil angle resolution (half 68% width of dphi) vs pT_V.",
        P.resolution_vs_pt, r["pt"],
        {"TK": r["ang_tk"], "PF": r["ang_pf"], "MNPk": r["ang_mnpk"]}, bins,
        ylabel="dphi(-pT_V, h): half 68% width (rad)", title="recoil angle")

    ptw = plots["ptw_syst"]
    eps = np.array(ptw["eps"])
    lines = {}
    for rc, lab in (("tk", "TK"), ("mnpk", "MNPk")):
        p = ptw[rc]
        lines[lab] = (np.array(p["bias_mev"]), np.array(p["bias_err_mev"]))
        tpl = {t_["mass"]: np.array(t_["counts"]) for t_ in p["templates"]}
        add("mt_templates_%s.png" % rc, "MT templates (%s recoil) at three masses vs the pseudo-data "
            "with the pT_V distortion eps = %g." % (lab, p["data_eps"]), P.mt_templates,
            np.array(p["edges"]), tpl, np.array(p["data"]), title="MT with the %s recoil" % lab)
        if "scan_mass" in p:
            sm, sl = np.array(p["scan_mass"]), np.array(p["scan_m2lnl"])
            near = sl - sl.min() < 16  # the region of the parabola (4 sigma)
            add("scan_%s.png" % rc, "Likelihood scan near its minimum and the fitted parabola "
                "(%s, pseudo-data with eps = %g)." % (lab, p["data_eps"]),
                P.likelihood_scan, sm[near], sl[near],
                mass=p["fit_mass"], width=p["fit_width"], true_mass=p["true_mass"],
                title="likelihood scan, %s, eps = %g" % (lab, p["data_eps"]))
    add("bias_vs_distortion.png", "Bias on M_W vs the size of the pT_V distortion, TK and MNPk "
        "(bootstrap errors).", P.bias_lines, eps, lines, title="pT-W systematic")

    for rc, lab in (("tk", "TK"), ("mnpk", "MNPk")):
        fs, fd = os.path.join(pd, "morph_%s_sim.csv" % rc), os.path.join(pd, "morph_%s_data.csv" % rc)
        if not (os.path.exists(fs) and os.path.exists(fd)):
            continue
        s, d = load_csv(fs), load_csv(fd)
        before = np.c_[s["h_before"], s["dphi_before"]]
        after = np.c_[s["h_after"], s["dphi_after"]]
        target = np.c_[d["h"], d["dphi"]]
        add("morph_%s.png" % rc, "Z events, %s recoil: marginals and conditional quantiles "
            "(16, 50, 84%%) in bins of pT_V of the simulation before and after morphing and of "
            "the data; the simulation is sampled with the z weights (data's z marginal)." % lab,
            P.morphing, before, after, target, names=["|h| (GeV)", "dphi (rad)"],
            z=(s["pt"], d["pt"]), z_bins=np.array([0, 4, 8, 12, 16, 20, 30, 40, 60]),
            z_name="pT_V from the muons (GeV)", title="morphing, %s recoil" % lab)
    return figs


def write_html(out, res, figs, why=None):
    rows = []
    for r in res.get("summary", []):
        rows.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            html.escape(r["label"]), r["unit"], fmt(r["tk"], r["tk_err"] if r["unit"] == "MeV" else None),
            fmt(r["mnpk"], r["mnpk_err"] if r["unit"] == "MeV" else None)))
    sizes = ", ".join("%s %s" % (k, v) for k, v in res.get("sizes", {}).items())
    ptw = res.get("ptw_syst", {})
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>wrecoil demo</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "td,th{padding:3px 8px;border-bottom:1px solid #ccc}"
             "figure{display:inline-block;width:48%;margin:0 0 1em 0;vertical-align:top}"
             "img{width:100%}</style></head><body>",
             "<h1>wrecoil demo: recoil calibration for the W-mass measurement</h1>",
             "<p>Source: %s, seed %s, libwrecoil %s; sizes: %s; run time %.0f s.</p>" % (
                 html.escape(str(res.get("source"))), res.get("seed"), res.get("libwrecoil"),
                 html.escape(sizes), res.get("run_seconds", float("nan"))),
             "<h2>Summary (TK vs MNPk)</h2><table><tr><th></th><th>unit</th><th>TK</th>"
             "<th>MNPk</th></tr>", "\n".join(rows), "</table>"]
    if "ratio_tk_mnpk" in ptw:
        parts.append("<p>pT-W systematic ratio TK / MNPk = %.2f &plusmn; %.2f.</p>"
                     % (ptw["ratio_tk_mnpk"], ptw["ratio_err"]))
    wc = res.get("calibration", {}).get("w_closure", {})
    calib = [(lab, wc[rc]["after"]) for rc, lab in (("tk", "TK"), ("mnpk", "MNPk"))
             if "calib_err_mev" in wc.get(rc, {}).get("after", {})]
    if calib:
        parts.append("<p>Errors: bootstrap of the events; the W residuals after correction add in "
                     "quadrature the calibration's own statistics (the morpher refitted on %s "
                     "bootstrap replicas of the Z training samples): %s.</p>" % (
                         res.get("sizes", {}).get("calib_replicas", "?"),
                         ", ".join("%s %.1f &plusmn; %.1f (events) &plusmn; %.1f (calibration) MeV"
                                   % (lab, a["bias_mev"], a["err_mev"], a["calib_err_mev"])
                                   for lab, a in calib)))
    for n in res.get("notes", []):
        parts.append("<p><b>Note:</b> %s</p>" % html.escape(n))
    if why:
        parts.append("<p><b>Figures not drawn:</b> %s</p>" % html.escape(why))
    parts.append("<h2>Figures</h2>")
    for name, cap in figs:
        parts.append("<figure><img src='%s'><figcaption>%s</figcaption></figure>" % (name, html.escape(cap)))
    parts.append("<p>Every number comes from results.json; docs/cli.md describes the method.</p>"
                 "</body></html>")
    with open(os.path.join(out, "report.html"), "w") as f:
        f.write("\n".join(parts))


def main():
    if len(sys.argv) != 2:
        print("usage: report.py OUT", file=sys.stderr)
        return 2
    out = sys.argv[1]
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    with open(os.path.join(out, "plotdata", "plots.json")) as f:
        plots = json.load(f)
    try:
        import numpy  # noqa: F401
        import matplotlib  # noqa: F401
        import wrecoil.plots  # noqa: F401
    except ImportError as e:
        print("report.py: %s" % e, file=sys.stderr)
        return 3
    figs = figures(out, plots, res)
    write_html(out, res, figs)
    print("  report: %d figures" % len(figs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
