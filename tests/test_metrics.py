"""Metrics against values computed by hand from the source files."""
from collections import Counter
from math import comb

import numpy as np
import pytest

from analysis_fixtures import BASE, MAJ8, aime_truth, load_qwen_eval
from pipeline.ingest import benchmarks
from analysis import metrics
from warehouse.filters import Selection
from warehouse.frames import per_question, reference_values


def _majority_correct(r):
    votes = Counter(p for p in r["pred"] if p not in (None, ""))
    if not votes:
        return False
    top = max(votes.values())
    winner = sorted(a for a, v in votes.items() if v == top)[0]
    return any(ok for p, ok in zip(r["pred"], r["score"]) if p == winner)


def test_avg_cov_maj_match_the_file(maj8, shared):
    rows = load_qwen_eval(shared / MAJ8)
    avg = np.mean([sum(r["score"]) / len(r["score"]) for r in rows])
    cov = np.mean([any(r["score"]) for r in rows])
    maj = np.mean([_majority_correct(r) for r in rows])
    out = metrics.metrics(per_question(maj8, Selection("math_cot_100")), n_boot=200).row(0, named=True)
    assert out["n_questions"] == 100 and out["n_samples"] == 800
    assert out["avg"] == pytest.approx(avg) and out["cov"] == pytest.approx(cov) and out["maj"] == pytest.approx(maj)
    for m in ("avg", "cov", "maj"):
        assert out[f"{m}_lo"] <= out[m] <= out[f"{m}_hi"]
    assert out["avg_hi"] - out["avg_lo"] > 0.01       # a real interval, not a point


def test_bootstrap_is_seeded(maj8):
    a = metrics.metrics(per_question(maj8, Selection("math_cot_100")), n_boot=300, seed=3)
    b = metrics.metrics(per_question(maj8, Selection("math_cot_100")), n_boot=300, seed=3)
    c = metrics.metrics(per_question(maj8, Selection("math_cot_100")), n_boot=300, seed=4)
    assert a.equals(b) and not a.equals(c)


@pytest.mark.parametrize("n,c,k", [(8, 0, 1), (8, 0, 8), (8, 8, 1), (8, 8, 8), (8, 3, 8), (8, 3, 5), (8, 5, 4),
                                   (1, 1, 1), (1, 0, 1), (100, 1, 1), (1000, 7, 300)])
def test_pass_at_k_closed_form(n, c, k):
    expected = 1 - comb(n - c, k) / comb(n, k)
    assert metrics.pass_at_k_estimate(n, c, k) == pytest.approx(expected, abs=1e-9)


def test_pass_at_k_edges_and_curve(maj8, shared):
    assert metrics.pass_at_k_estimate(8, 0, 8) == 0.0 and metrics.pass_at_k_estimate(8, 8, 1) == 1.0
    assert np.isnan(metrics.pass_at_k_estimate(4, 2, 5))
    rows = load_qwen_eval(shared / MAJ8)
    curve = metrics.pass_at_k(per_question(maj8, Selection("math_cot_100")), n_boot=100)
    assert curve["k"].to_list() == list(range(1, 9))
    for k, p in zip(curve["k"], curve["pass_at_k"]):
        hand = np.mean([1 - comb(8 - sum(r["score"]), k) / comb(8, k) for r in rows])
        assert p == pytest.approx(hand)
    # pass@1 = avg@n and pass@n = cov@n
    m = metrics.metrics(per_question(maj8, Selection("math_cot_100")), n_boot=0).row(0, named=True)
    assert curve["pass_at_k"][0] == pytest.approx(m["avg"]) and curve["pass_at_k"][-1] == pytest.approx(m["cov"])


def test_groups_pool_their_samples_per_tier(aime, shared):
    truth = aime_truth(shared)
    tiers = {t.question_id: t.tier for t in benchmarks.load("aime24", shared).tiers}
    out = metrics.metrics(per_question(aime, Selection("aime24"), "group"), per_tier=True, n_boot=0)
    base = {r["tier"]: r for r in out.filter(key="base").iter_rows(named=True)}
    for tier in ("Easy", "Medium", "Hard", "Exh"):
        qs = [q for q, t in tiers.items() if t == tier]
        per_q = [np.mean([truth[m][q] for m in BASE]) for q in qs]
        assert base[tier]["avg"] == pytest.approx(np.mean(per_q))
        assert base[tier]["cov"] == pytest.approx(np.mean([p > 0 for p in per_q]))
        assert base[tier]["n_samples"] == len(qs) * len(BASE)
    assert out["tier"].to_list()[:4] == ["Easy", "Medium", "Hard", "Exh"]


def test_filters_combine_tier_category_model(aime, shared):
    truth = aime_truth(shared)
    ref = benchmarks.load("aime24", shared)
    tiers = {t.question_id: t.tier for t in ref.tiers}
    cats = {q.question_id: q.category for q in ref.questions}
    models = ("Qwen2.5-14B-Instruct", "Sky-T1-math-correct-5K-32B-step140")
    sel = Selection("aime24", tiers=("Medium", "Hard"), categories=("Geometry",), models=models)
    out = metrics.metrics(per_question(aime, sel), n_boot=0)
    qs = [q for q in tiers if tiers[q] in ("Medium", "Hard") and cats[q] == "Geometry"]
    assert sorted(out["key"]) == sorted(models)
    for r in out.iter_rows(named=True):
        assert r["n_questions"] == len(qs)
        assert r["avg"] == pytest.approx(np.mean([truth[r["key"]][q] for q in qs]))


def test_question_accuracy_orders_by_tier_then_difficulty_with_reference(aime, shared):
    qa = metrics.question_accuracy(per_question(aime, Selection("aime24"), "group"),
                                  reference_values(aime, Selection("aime24")))
    base = qa.filter(key="base").sort("x")
    assert base.height == 30 and base["x"].to_list() == list(range(30))
    rank = {"Easy": 0, "Medium": 1, "Hard": 2, "Exh": 3}
    keyed = [(rank[t], -d) for t, d in zip(base["tier"], base["difficulty"])]
    assert keyed == sorted(keyed)
    ref = {r["id"]: float(r["fig1_base_avg8"]) for r in __import__("csv").DictReader(
        open(shared / "aime24" / "paper_reference.csv"))}
    assert dict(zip(base["question_id"], base["reference"])) == ref
    assert qa.filter(key="step_series")["reference"].null_count() == 30


def test_bootstrap_does_not_depend_on_row_order(aime):
    pq = per_question(aime, Selection("aime24"), "group")
    shuffled = pq.sample(fraction=1.0, shuffle=True, seed=7)
    a = metrics.metrics(pq, per_tier=True, n_boot=200, seed=1)
    assert a.equals(metrics.metrics(shuffled, per_tier=True, n_boot=200, seed=1))


def test_block_stats_percentiles_by_hand():
    values = np.random.default_rng(0).random((10, 2))
    mean, lo, hi = metrics.block_stats(values, [10], 400, np.random.default_rng(3))
    w = np.random.default_rng(3).multinomial(10, np.full(10, 0.1), size=400) / 10
    boot = np.sort(w @ values, axis=0)
    assert np.array_equal(lo[0], boot[9]) and np.array_equal(hi[0], boot[390])   # floor(.025*399), ceil(.975*399)
    assert np.array_equal(mean[0], [values[:, 0].mean(), values[:, 1].mean()])


def test_block_stats_is_bootstrap_many_vectorised():
    sizes = [4, 12, 4, 7, 12, 1]
    values = np.random.default_rng(0).random((sum(sizes), 3))
    blocks = np.split(values, np.cumsum(sizes)[:-1])
    lo, hi = metrics.bootstrap_many(blocks, 500, np.random.default_rng(9))
    mean, lo2, hi2 = metrics.block_stats(values, sizes, 500, np.random.default_rng(9))
    assert np.array_equal(np.array(lo), lo2) and np.array_equal(np.array(hi), hi2)
    assert np.array_equal(mean, [[b[:, i].mean() for i in range(3)] for b in blocks])
    mean, lo, hi = metrics.block_stats(values, sizes, 0, np.random.default_rng(9))
    assert np.isnan(lo).all() and np.isnan(hi).all() and mean.shape == (6, 3)
