"""Agreement between observed group accuracies and the paper's Figure 1 values."""
import csv

import numpy as np
import pytest
from scipy import stats

from analysis_fixtures import BASE, aime_truth
from analysis import calibration, metrics
from warehouse.filters import Selection
from warehouse.frames import per_question, reference_values


def _agreement(con, sel, **kw):
    """Per question: the groups' pooled accuracy against the paper's values (what the Ladder page compares)."""
    refs = reference_values(con, sel)
    return calibration.reference_agreement(refs, metrics.question_accuracy(per_question(con, sel, "group"), refs), **kw)


def test_base_group_against_figure1(aime, shared):
    truth = aime_truth(shared)
    with open(shared / "aime24" / "paper_reference.csv", newline="") as f:
        ref = {r["id"]: float(r["fig1_base_avg8"]) for r in csv.DictReader(f)}
    obs = {q: np.mean([truth[m][q] for m in BASE]) for q in ref}
    per_q = _agreement(aime, Selection("aime24"))
    assert set(per_q["group"]) == {"base"}          # only groups present on both sides
    got = {q: (o, r) for q, o, r in per_q.select("question_id", "observed", "reference").iter_rows()}
    assert got == {q: (pytest.approx(obs[q]), ref[q]) for q in ref}
    s = calibration.agreement_summary(per_q).row(0, named=True)
    o, r = np.array([obs[q] for q in sorted(ref)]), np.array([ref[q] for q in sorted(ref)])
    assert s["n_questions"] == 30 and s["mae"] == pytest.approx(np.abs(o - r).mean())
    assert s["pearson"] == pytest.approx(stats.pearsonr(o, r)[0]) and s["pearson"] > 0.3
    assert s["bias"] == pytest.approx((o - r).mean())


def test_mapping_and_tier_filter(aime):
    sel = Selection("aime24", tiers=("Medium",))
    per_q = _agreement(aime, sel, mapping={"small_sft": "sft_5k", "large": "step_series"})
    assert set(per_q["group"]) == {"small_sft", "large"} and set(per_q["tier"]) == {"Medium"}
    assert per_q.height == 20
    summ = calibration.agreement_summary(_agreement(aime, sel, mapping={"small_sft": "sft_5k"}))
    assert summ["key"].to_list() == ["sft_5k"] and summ["n_questions"][0] == 10
