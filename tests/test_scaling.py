"""Scaling: fits recover known parameters; points match the real training-step series."""
from collections import defaultdict

import numpy as np
import pytest

from analysis_fixtures import aime_model, aime_truth
from pipeline.ingest import benchmarks
from analysis import scaling
from warehouse.filters import Selection
from warehouse.frames import factor_table, per_question


def _inputs(con, sel):
    """What the Scaling page fetches: per-question counts by model and the models' factors."""
    return per_question(con, sel), factor_table(con, sel, scaling.NUMERIC_FACTORS + scaling.CATEGORICAL_FACTORS)


def test_log_fit_recovers_slope_per_doubling():
    rng = np.random.default_rng(1)
    x = np.array([100, 300, 1000, 3000, 10000, 20000, 114000, 1000000], float)
    y = 0.05 + 0.045 * np.log(x) + rng.normal(0, 0.002, len(x))
    f = scaling.fit_log(x, y)
    assert f["b"] == pytest.approx(0.045, abs=0.002) and f["a"] == pytest.approx(0.05, abs=0.02)
    assert f["slope_per_doubling"] == pytest.approx(f["b"] * np.log(2)) and f["r2"] > 0.99


def test_saturating_fit_recovers_the_plateau():
    x = np.array([100, 200, 500, 1000, 2000, 5000, 10000, 20000], float)
    y = 0.65 - (0.65 - 0.1) * np.exp(-0.0004 * x)
    f = scaling.fit_saturating(x, y)
    assert f["c"] == pytest.approx(0.65, abs=1e-4) and f["a"] == pytest.approx(0.1, abs=1e-3)
    assert f["b"] == pytest.approx(0.0004, rel=1e-3)
    noisy = y + np.random.default_rng(2).normal(0, 0.01, len(x))
    assert scaling.fit_saturating(x, noisy)["c"] == pytest.approx(0.65, abs=0.04)


def test_factors_listed_from_the_models_table(aime):
    pq, fac = _inputs(aime, Selection("aime24"))
    num = scaling.numeric_factors(fac)
    assert dict(zip(num["factor"], num["n_values"])) == {"train_step": 11, "params_b": 5}
    cat = scaling.categorical_factors(fac)
    assert cat["factor"].to_list() == ["sft_category"]
    with pytest.raises(ValueError, match="factor"):
        scaling.points(pq, fac, "seed; DROP TABLE models")


def test_points_pool_models_sharing_a_value(aime, shared):
    truth = aime_truth(shared)
    tiers = {t.question_id: t.tier for t in benchmarks.load("aime24", shared).tiers}
    by_x = defaultdict(list)
    for m in truth:
        if aime_model(m).params_b is not None:
            by_x[float(aime_model(m).params_b)].append(m)
    pts = scaling.points(*_inputs(aime, Selection("aime24")), "params_b", n_boot=0)
    for r in pts.iter_rows(named=True):
        qs = [q for q in tiers if tiers[q] == r["tier"]]
        per_q = [np.mean([truth[m][q] for m in by_x[r["x"]]]) for q in qs]
        assert r["n_models"] == len(by_x[r["x"]])
        assert r["avg"] == pytest.approx(np.mean(per_q)) and r["cov"] == pytest.approx(np.mean([p > 0 for p in per_q]))


def test_fits_and_bands_on_the_training_step_series(aime):
    sel = Selection("aime24", groups=("step_series",))
    fits = scaling.fits(*_inputs(aime, sel), "train_step", n_boot=100)
    assert set(zip(fits["tier"], fits["fit"])) == {(t, f) for t in ("Easy", "Medium", "Hard", "Exh")
                                                   for f in ("log", "saturating")}
    assert (fits["n_points"] == 11).all()
    med = fits.filter(tier="Medium", fit="log").row(0, named=True)
    assert med["lo"] <= med["slope_per_doubling"] <= med["hi"]
    bands = scaling.bands(*_inputs(aime, sel), "train_step", n_boot=100, grid=20)
    assert bands.height == 4 * 2 * 20 and (bands["lo"] <= bands["hi"] + 1e-12).all()
    assert bands["x"].min() == pytest.approx(21) and bands["x"].max() == pytest.approx(140)


def test_categorical_ablation(aime, shared):
    truth = aime_truth(shared)
    out = scaling.ablation(*_inputs(aime, Selection("aime24")), "sft_category", per_tier=False, n_boot=0)
    wrong = [m for m in truth if aime_model(m).sft_category == "math-wrong"]
    row = out.filter(value="math-wrong").row(0, named=True)
    assert row["n_models"] == 2
    assert row["avg"] == pytest.approx(np.mean([truth[m][q] for m in wrong for q in truth[m]]))
