"""Coverage vs accuracy against hand computations from the trace files."""
from collections import defaultdict

import numpy as np
import pytest

from analysis_fixtures import MAJ8, aime_model, aime_truth, cached, load_qwen_eval
from pipeline.ingest import benchmarks
from analysis import coverage, metrics
from warehouse import db
from warehouse.filters import Selection
from warehouse.frames import per_question


def _group_acc(shared):
    truth = aime_truth(shared)
    acc = defaultdict(lambda: defaultdict(list))
    for m, row in truth.items():
        for q, v in row.items():
            acc[aime_model(m).group][q].append(v)
    return {g: {q: np.mean(v) for q, v in qs.items()} for g, qs in acc.items()}


def test_gap_and_unstable_counts_per_group_and_tier(aime, shared):
    acc = _group_acc(shared)
    tiers = {t.question_id: t.tier for t in benchmarks.load("aime24", shared).tiers}
    out = coverage.potential_vs_stability(per_question(aime, Selection("aime24"), "group"), n_boot=200)
    assert out.height == 3 * 4
    for r in out.iter_rows(named=True):
        a = [acc[r["key"]][q] for q in tiers if tiers[q] == r["tier"]]
        assert r["gap"] == pytest.approx(np.mean([x > 0 for x in a]) - np.mean(a))
        assert r["unstable"] == sum(0 < x < 1 for x in a)
        assert r["never"] + r["always"] + r["unstable"] == len(a)
        assert r["gap_lo"] - 1e-12 <= r["gap"] <= r["gap_hi"] + 1e-12


def test_single_model_multi_sample_gap(shared):
    rows = load_qwen_eval(shared / MAJ8)
    with db.reader(cached("maj8", shared)) as con:
        r = coverage.potential_vs_stability(per_question(con, Selection("math_cot_100")), per_tier=False,
                                            n_boot=0).row(0, named=True)
    assert r["unstable"] == sum(0 < sum(x["score"]) < 8 for x in rows) == 10
    assert r["gap"] == pytest.approx(np.mean([any(x["score"]) - sum(x["score"]) / 8 for x in rows]))


def test_compare_to_reference(aime, shared):
    acc = _group_acc(shared)
    out = coverage.compare_to_reference(per_question(aime, Selection("aime24"), "group"), "step_series")
    row = out.filter(key="sft_5k").row(0, named=True)
    cov = lambda g: np.mean([v > 0 for v in acc[g].values()])  # noqa: E731
    avg = lambda g: np.mean(list(acc[g].values()))  # noqa: E731
    assert row["cov_diff"] == pytest.approx(cov("sft_5k") - cov("step_series"))
    assert row["avg_lag"] == pytest.approx(100 * (avg("step_series") - avg("sft_5k")))
    assert "step_series" in row["summary"] and "points" in row["summary"]
    same = out.filter(key="step_series").row(0, named=True)
    assert same["summary"] == "step_series covers as many questions as step_series while avg@n is equal"
    with pytest.raises(ValueError, match="nope"):
        coverage.compare_to_reference(per_question(aime, Selection("aime24"), "group"), "nope")


def test_pass_at_k_curves_per_group(aime):
    c = metrics.pass_at_k(per_question(aime, Selection("aime24"), "group"), n_boot=50)
    base = c.filter(key="base")
    assert base["k"].to_list() == [1, 2, 3, 4] and base["pass_at_k"].is_sorted()


def test_unstable_questions(shared):
    rows = load_qwen_eval(shared / MAJ8)
    with db.reader(cached("maj8", shared)) as con:
        u = coverage.unstable_questions(per_question(con, Selection("math_cot_100")))
    assert sorted(u["question_id"]) == sorted(str(r["idx"]) for r in rows if 0 < sum(r["score"]) < 8)
    assert u.columns == ["key", "question_id", "tier", "n", "c", "accuracy"]
    assert u["accuracy"].to_list() == [c / n for c, n in zip(u["c"], u["n"])]


def test_report_is_the_separate_functions_on_one_frame(aime):
    from polars.testing import assert_frame_equal

    sel = Selection("aime24", tiers=("Hard", "Exh"))
    pq = per_question(aime, sel, "group")
    r = coverage.report(pq, n_boot=100, pass_boot=50, seed=2)
    same = lambda a, b: assert_frame_equal(a, b, check_exact=True)  # noqa: E731
    same(r["overall"], coverage.potential_vs_stability(pq, False, n_boot=0, seed=2))
    same(r["per_tier"], coverage.potential_vs_stability(pq, True, n_boot=100, seed=2))
    same(r["pass_at_k"], metrics.pass_at_k(pq, n_boot=50, seed=2))
    same(r["unstable"], coverage.unstable_questions(pq))
