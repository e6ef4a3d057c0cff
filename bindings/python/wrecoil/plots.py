"""Figures of the demo report, drawn with matplotlib (optional dependency).

Every function takes numpy arrays (or dicts of them), writes one PNG to
``path`` with the Agg renderer (no display, no pyplot global state, safe in
threads and on batch nodes) and returns ``path``.  Without matplotlib, a
call raises ImportError saying how to install it; ``import wrecoil`` never
needs it.

    pdf_sum             sum of the predicted pdfs vs the observed histogram
    pit_histogram       PIT histogram with the uniform expectation
    resolution_vs_pt    recoil resolution vs pT_V for several estimators
    mt_templates        MT templates of several masses vs pseudo-data
    likelihood_scan     -2 ln L scan with the fitted parabola
    bias_lines          bias vs distortion size with fitted lines
    morphing            marginals and conditional quantiles before/after morphing
"""

import os

import numpy as np

__all__ = ["pdf_sum", "pit_histogram", "resolution_vs_pt", "mt_templates", "likelihood_scan",
           "bias_lines", "morphing"]


def _figure(nrows=1, ncols=1, figsize=(6.4, 4.8), **kw):
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as e:
        raise ImportError("wrecoil.plots needs matplotlib (apt-get install python3-matplotlib, "
                          "or pip install './bindings/python[plots]'): %s" % e) from None
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _save(fig, path, dpi=110):
    path = os.fspath(path)
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path


def _finish(fig, a, path, xlabel, ylabel, title=None):
    """Labels the single panel ``a`` (title only when given), adds its
    legend and saves the figure."""
    a.set_xlabel(xlabel)
    a.set_ylabel(ylabel)
    if title:
        a.set_title(title)
    a.legend()
    return _save(fig, path)


def _finite(a, name):
    a = np.asarray(a, dtype=np.float64)
    if a.size and not np.all(np.isfinite(a)):
        raise ValueError("%s: contains NaN or Inf" % name)
    return a


def pdf_sum(path, edges, observed, predicted, xlabel="t", title=None, weights=None):
    """Observed histogram vs the sum of the per-event predicted pdfs.

    ``edges`` (m+1,); ``observed``: the raw observed values (histogrammed
    here, with ``weights``); ``predicted``: the mixture cdf at the edges
    ((m+1,), e.g. ``Regressor.mixture_cdf(X, edges)``, scaled to the number
    of events) or expected counts per bin ((m,)).  A ratio panel is drawn
    below."""
    edges = _finite(edges, "edges")
    obs, _ = np.histogram(_finite(observed, "observed"), bins=edges, weights=weights)
    pred = _finite(predicted, "predicted")
    total = obs.sum() if weights is None else np.sum(weights)
    if pred.shape == edges.shape:
        exp = np.diff(pred) * (len(np.asarray(observed)) if weights is None else total)
    elif pred.shape == (edges.shape[0] - 1,):
        exp = pred
    else:
        raise ValueError("predicted: expected %d cdf values or %d counts, got %s"
                         % (edges.shape[0], edges.shape[0] - 1, pred.shape))
    fig, ax = _figure(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    centers = 0.5 * (edges[1:] + edges[:-1])
    ax[0, 0].stairs(exp, edges, label="sum of predicted pdfs", color="C0", linewidth=1.5)
    ax[0, 0].errorbar(centers, obs, yerr=np.sqrt(np.maximum(obs, 0)), fmt="o", ms=3, color="k",
                      label="observed")
    ax[0, 0].set_ylabel("events / bin")
    ax[0, 0].legend()
    if title:
        ax[0, 0].set_title(title)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(exp > 0, obs / exp, np.nan)
        err = np.where(exp > 0, np.sqrt(np.maximum(obs, 0)) / exp, np.nan)
    ax[1, 0].errorbar(centers, ratio, yerr=err, fmt="o", ms=3, color="k")
    ax[1, 0].axhline(1.0, color="C0")
    ax[1, 0].set_ylabel("obs / pred")
    ax[1, 0].set_xlabel(xlabel)
    return _save(fig, path)


def pit_histogram(path, pit, bins=20, title="PIT", labels=None):
    """Histogram(s) of PIT values with the uniform expectation and its
    +-1 sigma band.  ``pit``: an array, or a dict label -> array."""
    sets = pit if isinstance(pit, dict) else {labels or "PIT": pit}
    fig, ax = _figure()
    a = ax[0, 0]
    edges = np.linspace(0, 1, int(bins) + 1)
    n = None
    for i, (lab, v) in enumerate(sets.items()):
        v = _finite(v, "pit")
        if v.size and (v.min() < 0 or v.max() > 1):
            raise ValueError("pit: values must lie in [0, 1]")
        h, _ = np.histogram(v, bins=edges)
        n = len(v)
        a.stairs(h / max(n, 1) * bins, edges, label=lab, color="C%d" % i, linewidth=1.5)
    if n:
        sig = np.sqrt(n / bins * (1 - 1 / bins)) / (n / bins)
        a.fill_between([0, 1], 1 - sig, 1 + sig, color="0.85", label="uniform +-1 sigma")
    a.axhline(1.0, color="0.4", linestyle="--")
    a.set_xlabel("PIT = F(t_true | x)")
    a.set_ylabel("density")
    a.set_xlim(0, 1)
    a.set_title(title)
    a.legend()
    return _save(fig, path)


def _robust_width(v):
    if v.size < 5:
        return np.nan
    q16, q84 = np.percentile(v, [15.865, 84.135])
    return 0.5 * (q84 - q16)


def resolution_vs_pt(path, pt, residuals, bins, ylabel="resolution (GeV)",
                     xlabel="pT_V (GeV)", title=None):
    """Resolution (half the 68% interval of the residuals) in bins of pT_V
    for several estimators: ``residuals`` dict label -> (n,) array of
    estimate - truth; ``pt`` (n,) the boson pT; ``bins`` the edges.
    Statistical errors from the bin content (width / sqrt(2 n))."""
    pt = _finite(pt, "pt")
    bins = _finite(bins, "bins")
    centers = 0.5 * (bins[1:] + bins[:-1])
    idx = np.digitize(pt, bins) - 1
    fig, ax = _figure()
    a = ax[0, 0]
    for i, (lab, r) in enumerate(residuals.items()):
        r = _finite(r, "residuals[%r]" % lab)
        if r.shape != pt.shape:
            raise ValueError("residuals[%r]: %d values for %d events" % (lab, r.size, pt.size))
        w = np.array([_robust_width(r[idx == b]) for b in range(len(centers))])
        cnt = np.array([np.sum(idx == b) for b in range(len(centers))])
        a.errorbar(centers, w, yerr=w / np.sqrt(2 * np.maximum(cnt, 1)), fmt="o-", ms=3,
                   label=lab, color="C%d" % i)
    return _finish(fig, a, path, xlabel, ylabel, title)


def mt_templates(path, edges, templates, data=None, xlabel="MT (GeV)", title=None,
                 normalise=True):
    """Templates of several masses vs pseudo-data.  ``templates`` dict mass
    (GeV) -> counts (m,); ``data`` counts (m,) or None.  With
    ``normalise`` the templates are scaled to the data's total.  A ratio
    panel shows template / central template."""
    edges = _finite(edges, "edges")
    m = edges.shape[0] - 1
    fig, ax = _figure(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    items = sorted((float(k), _finite(v, "templates")) for k, v in templates.items())
    for k, v in items:
        if v.shape != (m,):
            raise ValueError("templates[%s]: expected %d bins, got %s" % (k, m, v.shape))
    total = np.sum(data) if data is not None else None
    ref = items[len(items) // 2][1]
    ref = ref * (total / ref.sum()) if normalise and total and ref.sum() > 0 else ref
    for i, (k, v) in enumerate(items):
        vv = v * (total / v.sum()) if normalise and total and v.sum() > 0 else v
        ax[0, 0].stairs(vv, edges, label="M = %.3f GeV" % k, color="C%d" % i)
        with np.errstate(divide="ignore", invalid="ignore"):
            ax[1, 0].stairs(np.where(ref > 0, vv / ref, np.nan), edges, color="C%d" % i)
    if data is not None:
        d = _finite(data, "data")
        if d.shape != (m,):
            raise ValueError("data: expected %d bins, got %s" % (m, d.shape))
        c = 0.5 * (edges[1:] + edges[:-1])
        ax[0, 0].errorbar(c, d, yerr=np.sqrt(np.maximum(d, 0)), fmt="o", ms=3, color="k",
                          label="pseudo-data")
        with np.errstate(divide="ignore", invalid="ignore"):
            ax[1, 0].errorbar(c, np.where(ref > 0, d / ref, np.nan),
                              yerr=np.where(ref > 0, np.sqrt(np.maximum(d, 0)) / ref, np.nan),
                              fmt="o", ms=2, color="k")
    ax[0, 0].set_ylabel("events / bin")
    ax[0, 0].legend(fontsize="small")
    if title:
        ax[0, 0].set_title(title)
    ax[1, 0].set_ylabel("/ central")
    ax[1, 0].set_xlabel(xlabel)
    return _save(fig, path)


def likelihood_scan(path, masses, m2lnl, mass=None, width=None, true_mass=None,
                    title="likelihood scan"):
    """Delta(-2 ln L) vs the mass hypothesis, with the parabola
    (M - mass)^2 / width^2 of the fit when ``mass`` and ``width`` are
    given (e.g. from TemplateFit.fit and TemplateFit.scan)."""
    masses = _finite(masses, "masses")
    v = _finite(m2lnl, "m2lnl")
    if masses.shape != v.shape or masses.size == 0:
        raise ValueError("masses, m2lnl: equal non-empty lengths needed")
    vmin = v.min()
    fig, ax = _figure()
    a = ax[0, 0]
    a.plot(masses, v - vmin, "o", ms=3, color="k", label="scan")
    if mass is not None and width is not None and width > 0:
        g = np.linspace(masses.min(), masses.max(), 400)
        par = (g - mass) ** 2 / width ** 2
        sel = par <= max(4 * (v - vmin).max(), 9)
        a.plot(g[sel], par[sel], color="C0",
               label="parabola: M = %.4f +- %.4f GeV" % (mass, width))
        a.axhline(1.0, color="0.6", linestyle=":")
        a.axvline(mass, color="C0", linestyle=":")
    if true_mass is not None:
        a.axvline(true_mass, color="C3", linestyle="--", label="true mass")
    a.set_xlabel("M_W hypothesis (GeV)")
    a.set_ylabel("Delta(-2 ln L)")
    a.set_title(title)
    a.legend()
    return _save(fig, path)


def bias_lines(path, eps, lines, xlabel="distortion size eps", ylabel="bias on M_W (MeV)",
               title=None):
    """Bias vs distortion size: ``lines`` dict label -> bias (n,) or
    (bias, errors); a least-squares line is fitted per label and its slope
    shown in the legend."""
    eps = _finite(eps, "eps")
    fig, ax = _figure()
    a = ax[0, 0]
    g = np.linspace(eps.min(), eps.max(), 50)
    for i, (lab, val) in enumerate(lines.items()):
        if isinstance(val, tuple):
            b, e = _finite(val[0], "bias"), val[1]
            e = None if e is None else np.asarray(e, dtype=np.float64)
        else:
            b, e = _finite(val, "bias"), None
        if b.shape != eps.shape:
            raise ValueError("lines[%r]: %d values for %d eps" % (lab, b.size, eps.size))
        if e is not None and not np.all(np.isfinite(e)):
            e = None
        slope, icpt = np.polyfit(eps, b, 1) if eps.size >= 2 else (np.nan, np.nan)
        a.errorbar(eps, b, yerr=e, fmt="o", ms=4, color="C%d" % i)
        a.plot(g, slope * g + icpt, color="C%d" % i, label="%s: %.3g MeV / unit" % (lab, slope))
    a.axhline(0, color="0.6", linewidth=0.8)
    return _finish(fig, a, path, xlabel, ylabel, title)


def morphing(path, before, after, target, names=None, z=None, z_bins=None, z_name="z",
             quantiles=(0.16, 0.5, 0.84), bins=50, title=None):
    """Morphing before/after: top row, the marginal of each y variable for
    the simulation before and after morphing and for the data; bottom row
    (when ``z`` is given as a pair (z_sim, z_data) of (n,) conditioning
    values with ``z_bins``), the conditional quantiles of each y in bins of z.
    ``before``, ``after``: (n_sim, N); ``target``: (n_data, N)."""
    before = _finite(before, "before")
    after = _finite(after, "after")
    target = _finite(target, "target")
    if before.ndim == 1:
        before, after, target = before[:, None], after[:, None], target[:, None]
    N = before.shape[1]
    if after.shape != before.shape or target.ndim != 2 or target.shape[1] != N:
        raise ValueError("before/after: same shape (n, N); target: (m, N)")
    names = list(names) if names is not None else ["y%d" % j for j in range(N)]
    rows = 2 if z is not None else 1
    fig, ax = _figure(rows, N, figsize=(4.2 * N, 3.6 * rows))
    for j in range(N):
        lo, hi = np.percentile(np.r_[before[:, j], target[:, j]], [0.5, 99.5])
        e = np.linspace(lo, hi, int(bins) + 1)
        for v, lab, st in ((before[:, j], "sim", dict(color="C1", linestyle="--")),
                           (after[:, j], "sim morphed", dict(color="C0")),
                           (target[:, j], "data", dict(color="k"))):
            h, _ = np.histogram(v, bins=e, density=True)
            ax[0, j].stairs(h, e, label=lab, **st)
        ax[0, j].set_xlabel(names[j])
        ax[0, j].legend(fontsize="small")
    if z is not None:
        z_sim, z_data = (_finite(z[0], "z_sim"), _finite(z[1], "z_data"))
        if z_sim.shape[0] != before.shape[0] or z_data.shape[0] != target.shape[0]:
            raise ValueError("z: (z_sim, z_data) with the rows of before and target")
        zb = _finite(z_bins, "z_bins")
        c = 0.5 * (zb[1:] + zb[:-1])
        isim = np.digitize(z_sim, zb) - 1
        idat = np.digitize(z_data, zb) - 1
        for j in range(N):
            for v, ix, lab, st in ((before[:, j], isim, "sim", dict(color="C1", linestyle="--")),
                                   (after[:, j], isim, "sim morphed", dict(color="C0")),
                                   (target[:, j], idat, "data", dict(color="k", marker="o",
                                                                      ms=3, linestyle=""))):
                q = np.array([np.quantile(v[ix == b], quantiles) if np.sum(ix == b) > 10
                              else np.full(len(quantiles), np.nan) for b in range(len(c))])
                for k in range(len(quantiles)):
                    ax[1, j].plot(c, q[:, k], label=lab if k == 0 else None, **st)
            ax[1, j].set_xlabel(z_name)
            ax[1, j].set_ylabel("quantiles %s of %s" % (", ".join("%g" % q for q in quantiles),
                                                        names[j]))
            ax[1, j].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
