"""Plot helpers write PNG files (skipped without matplotlib)."""
import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib not installed: plot helpers not tested")
from wrecoil import plots  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(p):
    with open(p, "rb") as f:
        return f.read(8) == PNG


def test_all_figures(tmp_path, regressor, xy):
    X, t = xy
    rng = np.random.default_rng(0)
    edges = np.linspace(-5, 5, 31)
    files = [
        plots.pdf_sum(tmp_path / "a" / "sum.png", edges, t, regressor.mixture_cdf(X, edges)),
        plots.pdf_sum(tmp_path / "sum2.png", edges, t, np.histogram(t, edges)[0] * 1.0),
        plots.pit_histogram(tmp_path / "pit.png", {"model": regressor.pit(X, t),
                                                   "uniform": rng.random(3000)}),
        plots.resolution_vs_pt(tmp_path / "res.png", rng.uniform(0, 50, 3000),
                               {"TK": rng.normal(0, 3, 3000), "model": rng.normal(0, 2, 3000)},
                               bins=[0, 10, 20, 30, 50]),
        plots.mt_templates(tmp_path / "mt.png", np.linspace(50, 110, 31),
                           {80.285: np.arange(30.0), 80.385: np.arange(30.0) + 1,
                            80.485: np.arange(30.0) + 2}, data=np.arange(30.0) * 2),
        plots.likelihood_scan(tmp_path / "scan.png", np.linspace(80, 81, 21),
                              (np.linspace(80, 81, 21) - 80.4) ** 2 / 0.1 ** 2 + 3.0,
                              mass=80.4, width=0.1, true_mass=80.385),
        plots.bias_lines(tmp_path / "bias.png", [-0.1, 0, 0.1],
                         {"MT": ([-10.0, 0.0, 11.0], [2.0, 2.0, 2.0]), "pT": [5.0, 0.0, -4.0]}),
        plots.morphing(tmp_path / "morph.png", rng.normal(size=(2000, 2)),
                       rng.normal(0.1, 1, size=(2000, 2)), rng.normal(0.1, 1, size=(1500, 2)),
                       names=["|h|", "dphi"], z=(rng.uniform(0, 10, 2000), rng.uniform(0, 10, 1500)),
                       z_bins=[0, 2, 5, 10], z_name="pT"),
    ]
    for f in files:
        assert is_png(f), f


def test_plot_input_errors(tmp_path):
    with pytest.raises(ValueError, match="predicted"):
        plots.pdf_sum(tmp_path / "x.png", [0, 1, 2], [0.5], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="pit"):
        plots.pit_histogram(tmp_path / "x.png", [0.5, 1.5])
    with pytest.raises(ValueError, match="NaN"):
        plots.likelihood_scan(tmp_path / "x.png", [1.0, 2.0], [np.nan, 1.0])
    with pytest.raises(ValueError, match="templates"):
        plots.mt_templates(tmp_path / "x.png", [0, 1, 2], {80.0: [1.0]})
    assert not (tmp_path / "x.png").exists()
