"""The analysis and the warehouse's reads on the tiny warehouse (tests/tiny.py), no ../shared needed.

Every expected value comes from the generated table (``tiny.expected``, ``tiny.accuracies``), computed in
plain Python here or in tiny.py; a few are also written out as numbers worked by hand.
"""
from math import comb

import numpy as np
import pytest

from analysis import coverage, ladder, metrics, scaling
from tiny import BENCHMARK, MODELS, QUESTIONS, SAMPLES, accuracies, answer, expected, keys
from warehouse import inventory
from warehouse.db import query
from warehouse.filters import Selection
from warehouse.frames import factor_table, per_question, reference_values

SEL = Selection(BENCHMARK)
QIDS = sorted(QUESTIONS)
BY = pytest.mark.parametrize("by", ["model", "group"])


def _by_key(df, *cols):
    return {tuple(r[c] for c in cols): r for r in df.iter_rows(named=True)}


def test_the_import_grades_every_sample_as_the_table_says(tiny):
    got = query(tiny, "SELECT model_id, question_id, sample_idx, is_correct, answer FROM outcomes")
    want = {(m, q, i): (k == "R", answer(q, k)) for m, qs in SAMPLES.items() for q, ks in qs.items()
            for i, k in enumerate(ks)}
    assert {(m, q, i): (ok, a) for m, q, i, ok, a in got.iter_rows()} == want


# ---- warehouse.frames.per_question

@BY
def test_per_question_by_model_and_by_group(tiny, by):
    pq = per_question(tiny, SEL, by)
    assert pq.columns == ["key", "question_id", "tier", "category", "n", "c", "maj", "mean_chars"]
    assert pq["tier"].null_count() == pq.height and pq["category"].null_count() == pq.height   # untiered
    want = expected(by)
    assert set(_by_key(pq, "key", "question_id")) == set(want)
    for (key, qid), r in _by_key(pq, "key", "question_id").items():
        e = want[(key, qid)]
        assert (r["n"], r["c"], r["maj"]) == (e["n"], e["c"], float(e["maj"])), (key, qid)
        assert r["mean_chars"] == pytest.approx(e["mean_chars"])


def test_groups_pool_samples_and_vote_together(tiny):
    """sft = tiny-sft-a + tiny-sft-b: q1 is RR + W (2 of 3, the pooled vote is right although tiny-sft-b's
    own is wrong), q2 is WW + R (1 of 3, the vote is wrong although tiny-sft-b's own is right)."""
    g = _by_key(per_question(tiny, SEL, "group"), "key", "question_id")
    assert (g[("sft", "q1")]["n"], g[("sft", "q1")]["c"], g[("sft", "q1")]["maj"]) == (3, 2, 1.0)
    assert (g[("sft", "q2")]["n"], g[("sft", "q2")]["c"], g[("sft", "q2")]["maj"]) == (3, 1, 0.0)
    assert (g[("sft", "q4")]["n"], g[("sft", "q4")]["c"], g[("sft", "q4")]["maj"]) == (3, 2, 1.0)  # "" no vote
    m = _by_key(per_question(tiny, SEL, "model"), "key", "question_id")
    assert m[("tiny-sft-b", "q1")]["maj"] == 0.0 and m[("tiny-sft-b", "q2")]["maj"] == 1.0


def test_selection_narrows_models_and_groups(tiny):
    one = per_question(tiny, Selection(BENCHMARK, models=("tiny-sft-b",)))
    assert set(one["key"]) == {"tiny-sft-b"} and one.height == 4
    sft = per_question(tiny, Selection(BENCHMARK, groups=("sft",)))
    assert set(sft["key"]) == {"tiny-sft-a", "tiny-sft-b"}
    assert per_question(tiny, Selection("no-such-benchmark")).is_empty()


# ---- analysis.metrics

@BY
def test_avg_cov_maj(tiny, by):
    want = expected(by)
    acc = accuracies(by)
    out = _by_key(metrics.metrics(per_question(tiny, SEL, by), n_boot=0), "key")
    assert set(out) == {(k,) for k in keys(by)}
    for key, per_q in acc.items():
        r = out[(key,)]
        assert r["n_questions"] == len(per_q) == 4
        assert r["n_samples"] == sum(want[(key, q)]["n"] for q in per_q)
        assert r["avg"] == pytest.approx(np.mean(list(per_q.values())))
        assert r["cov"] == pytest.approx(np.mean([a > 0 for a in per_q.values()]))
        assert r["maj"] == pytest.approx(np.mean([want[(key, q)]["maj"] for q in per_q]))
        assert np.isnan(r["avg_lo"]) and np.isnan(r["avg_hi"])          # n_boot=0: no interval


def test_avg_cov_maj_worked_by_hand(tiny):
    out = _by_key(metrics.metrics(per_question(tiny, SEL), n_boot=0), "key")
    # tiny-base: q1 1/4, q2 0/3, q3 3/4, q4 0/4; majority right only on q3
    assert (out[("tiny-base",)]["avg"], out[("tiny-base",)]["cov"], out[("tiny-base",)]["maj"]) == \
        pytest.approx((0.25, 0.5, 0.25))
    # tiny-sft-a: 1, 0, 1, 1/2 (its empty sample on q4 does not vote: the majority is right)
    assert (out[("tiny-sft-a",)]["avg"], out[("tiny-sft-a",)]["cov"], out[("tiny-sft-a",)]["maj"]) == \
        pytest.approx((0.625, 0.75, 0.75))
    assert out[("tiny-base",)]["n_samples"] == 15


def test_bootstrap_intervals_hold_the_point_values(tiny):
    out = metrics.metrics(per_question(tiny, SEL, "group"), n_boot=200, seed=1)
    for r in out.iter_rows(named=True):
        for m in metrics.METRICS:
            assert r[f"{m}_lo"] - 1e-12 <= r[m] <= r[f"{m}_hi"] + 1e-12


@BY
def test_pass_at_k(tiny, by):
    want = expected(by)
    curve = metrics.pass_at_k(per_question(tiny, SEL, by), n_boot=0)
    avg = _by_key(metrics.metrics(per_question(tiny, SEL, by), n_boot=0), "key")
    for key in keys(by):
        rows = curve.filter(key=key)
        kmax = min(want[(key, q)]["n"] for q in QIDS)        # k runs up to every question's n
        assert rows["k"].to_list() == list(range(1, kmax + 1))
        for k, p in zip(rows["k"], rows["pass_at_k"]):
            hand = np.mean([1 - comb(want[(key, q)]["n"] - want[(key, q)]["c"], k) / comb(want[(key, q)]["n"], k)
                            for q in QIDS])
            assert p == pytest.approx(hand)
        assert rows["pass_at_k"][0] == pytest.approx(avg[(key,)]["avg"])          # pass@1 = avg@n
    # tiny-base: its q2 has 3 samples; sft pools 2 + 1 samples on every question
    kmax = {"tiny-base": 3, "tiny-sft-a": 2, "tiny-sft-b": 1} if by == "model" else {"base": 3, "sft": 3}
    assert {key: curve.filter(key=key)["k"].max() for key in kmax} == kmax


@BY
def test_question_order_and_accuracy(tiny, by):
    pq = per_question(tiny, SEL, by)
    want = expected("model")
    pooled = {q: sum(want[(m, q)]["c"] for m in MODELS) / sum(want[(m, q)]["n"] for m in MODELS) for q in QIDS}
    order = sorted(QIDS, key=lambda q: (-pooled[q], q))        # no tiers: easiest first, then id
    assert order == ["q3", "q1", "q4", "q2"]                     # 6/7, 3/7, 2/7, 1/6
    qo = metrics.question_order(pq)
    assert qo["question_id"].to_list() == order and qo["x"].to_list() == [0, 1, 2, 3]
    assert dict(zip(qo["question_id"], qo["difficulty"])) == pytest.approx(pooled)
    qa = metrics.question_accuracy(pq, reference_values(tiny, SEL))
    acc = accuracies(by)
    assert qa.height == sum(len(v) for v in acc.values()) and qa["reference"].null_count() == qa.height
    for r in qa.iter_rows(named=True):
        assert r["accuracy"] == pytest.approx(acc[r["key"]][r["question_id"]])
        assert r["x"] == order.index(r["question_id"])
    for key in acc:                                              # each key's rows in ladder order
        assert qa.filter(key=key)["question_id"].to_list() == order


# ---- analysis.ladder

def _solved(mode):
    """keys x questions (MODELS x QIDS order) solved under ``mode``, from the table."""
    acc = accuracies("model")
    return np.array([[acc[m][q] > 0 if mode == "any" else acc[m][q] > 0.5 for q in QIDS] for m in MODELS], int)


def _guttman(X):
    """Guttman errors, reproducibility, pair errors and Loevinger's H straight from their definitions."""
    N, Q = X.shape
    rate = X.mean(axis=0)
    cols = sorted(range(Q), key=lambda j: -rate[j])            # easiest first, ties in column order
    Xs, p = X[:, cols], rate[cols]
    errors = sum(int(Xs[i, j] != (j < Xs[i].sum())) for i in range(N) for j in range(Q))
    observed = sum(1 for i in range(N) for a in range(Q) for b in range(a + 1, Q) if not Xs[i, a] and Xs[i, b])
    exp = N * sum((1 - p[a]) * p[b] for a in range(Q) for b in range(a + 1, Q))
    return errors, 1 - errors / (N * Q), observed, 1 - observed / exp


@pytest.mark.parametrize("mode", ["any", "threshold"])
def test_solved_matrix(tiny, mode):
    m = ladder.solved_matrix(per_question(tiny, SEL), solved=mode)
    X = _solved(mode)
    assert m.height == len(MODELS) * len(QIDS)
    assert {(k, q): s for k, q, s in m.select("key", "question_id", "solved").iter_rows()} == \
        {(k, q): bool(X[i, j]) for i, k in enumerate(MODELS) for j, q in enumerate(QIDS)}
    assert m.filter(q_rank=0)["question_id"][0] == "q3"          # solved by every model, both rules


def test_threshold_is_strictly_above_one_half(tiny):
    m = _by_key(ladder.solved_matrix(per_question(tiny, SEL), solved="threshold"), "key", "question_id")
    assert m[("tiny-sft-a", "q4")]["accuracy"] == 0.5 and not m[("tiny-sft-a", "q4")]["solved"]
    assert m[("tiny-base", "q3")]["accuracy"] == 0.75 and m[("tiny-base", "q3")]["solved"]


def test_scalogram_on_the_known_matrix(tiny):
    X = _solved("any")
    # columns q1..q4; solve rates 2/3, 1/3, 1, 2/3
    assert X.tolist() == [[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 1, 1]]
    errors, rep, observed, h = _guttman(X)
    s = ladder.scalogram(per_question(tiny, SEL), solved="any").row(0, named=True)
    assert (s["n_keys"], s["n_questions"]) == (3, 4)
    assert s["guttman_errors"] == errors == 2                    # tiny-sft-b: 1 0 1 1 against 1 1 1 0
    assert s["reproducibility"] == pytest.approx(rep) == pytest.approx(5 / 6)
    assert s["observed_pair_errors"] == observed == 2
    assert s["expected_pair_errors"] == pytest.approx(4 / 3)
    assert s["loevinger_h"] == pytest.approx(h) == pytest.approx(-0.5)
    assert ladder.guttman_stats(X)["guttman_errors"] == 2


def test_violations_on_the_known_matrix(tiny):
    X = _solved("any")
    rate = X.mean(axis=0)
    hand = {(m, QIDS[e], QIDS[h]) for i, m in enumerate(MODELS) for e in range(4) for h in range(4)
            if rate[e] > rate[h] and not X[i, e] and X[i, h]}
    # tiny-sft-b fails q1 (rate 2/3) and solves q2 (1/3); tiny-base failing q4 while solving q1 is no
    # violation: both have rate 2/3 (strictly easier only)
    assert hand == {("tiny-sft-b", "q1", "q2")}
    v = ladder.violations(per_question(tiny, SEL), solved="any")
    assert set(v.select("key", "easier_question", "harder_question").iter_rows()) == hand
    assert v["gap"].to_list() == pytest.approx([1 / 3])
    assert ladder.violations(per_question(tiny, SEL, "group"), solved="any").is_empty()   # base and sft nest


# ---- analysis.coverage

@BY
def test_gap_and_unstable(tiny, by):
    acc = accuracies(by)
    out = _by_key(coverage.potential_vs_stability(per_question(tiny, SEL, by), per_tier=False, n_boot=0), "key")
    assert set(out) == {(k,) for k in acc}
    for key, per_q in acc.items():
        a = list(per_q.values())
        r = out[(key,)]
        assert r["gap"] == pytest.approx(np.mean([x > 0 for x in a]) - np.mean(a))
        assert (r["unstable"], r["never"], r["always"]) == \
            (sum(0 < x < 1 for x in a), sum(x == 0 for x in a), sum(x == 1 for x in a))
    assert (out[("sft",)] if by == "group" else out[("tiny-sft-b",)])["gap"] == \
        pytest.approx(1 / 3 if by == "group" else 0.0)           # sft: cov 1, avg 2/3; tiny-sft-b: 1 sample each


def test_untiered_benchmark_is_one_block_per_key(tiny):
    out = coverage.potential_vs_stability(per_question(tiny, SEL), per_tier=True, n_boot=0)
    assert out.height == len(MODELS) and out["tier"].null_count() == len(MODELS)


@BY
def test_unstable_questions(tiny, by):
    acc = accuracies(by)
    u = coverage.unstable_questions(per_question(tiny, SEL, by))
    assert set(u.select("key", "question_id").iter_rows()) == \
        {(k, q) for k, per_q in acc.items() for q, a in per_q.items() if 0 < a < 1}
    assert u["accuracy"].to_list() == pytest.approx([c / n for c, n in zip(u["c"], u["n"])])


# ---- analysis.scaling

def test_points_pool_the_models_sharing_an_sft_size(tiny):
    pq = per_question(tiny, SEL)
    fac = factor_table(tiny, SEL, scaling.NUMERIC_FACTORS + scaling.CATEGORICAL_FACTORS)
    assert dict(zip(fac["model_id"], fac["sft_size"])) == {m: s for m, (_, s) in MODELS.items()}
    num = scaling.numeric_factors(fac)
    assert num.filter(factor="sft_size").select("n_models", "n_values").row(0) == (3, 2)
    want = expected("model")
    by_x: dict[float, list[str]] = {}
    for m, (_, size) in MODELS.items():
        by_x.setdefault(float(size), []).append(m)
    pts = scaling.points(pq, fac, "sft_size", per_tier=False, n_boot=0)
    assert pts["x"].to_list() == [0.0, 1000.0]
    for r in pts.iter_rows(named=True):
        models = by_x[r["x"]]
        per_q = [sum(want[(m, q)]["c"] for m in models) / sum(want[(m, q)]["n"] for m in models) for q in QIDS]
        assert r["n_models"] == len(models)
        assert r["avg"] == pytest.approx(np.mean(per_q)) and r["cov"] == pytest.approx(np.mean([p > 0 for p in per_q]))
    # x = 1000 pools the sft group's samples: the same avg and cov as the group
    grp = _by_key(metrics.metrics(per_question(tiny, SEL, "group"), n_boot=0), "key")[("sft",)]
    top = pts.filter(x=1000.0).row(0, named=True)
    assert (top["avg"], top["cov"]) == pytest.approx((grp["avg"], grp["cov"]))
    with pytest.raises(ValueError, match="factor"):
        scaling.points(pq, fac, "group")


# ---- warehouse.inventory

def test_inventory_options(tiny):
    assert inventory.options(tiny) == {
        "benchmarks": [BENCHMARK], "schemes": {BENCHMARK: []}, "tiers": {BENCHMARK: []},
        "categories": {BENCHMARK: []}, "models": {BENCHMARK: sorted(MODELS)},
        "groups": {BENCHMARK: sorted({g for g, _ in MODELS.values()})},
        "group_sizes": {BENCHMARK: {g: sum(1 for h, _ in MODELS.values() if h == g) for g, _ in MODELS.values()}}}


def test_inventory_counts_and_models(tiny):
    n = sum(len(ks) for qs in SAMPLES.values() for ks in qs.values())
    c = inventory.counts(tiny)
    assert (c["benchmarks"], c["questions"], c["models"], c["runs"], c["trajectories"], c["grades"]) == \
        (1, 4, 3, 3, n, n)
    ms = inventory.models(tiny, BENCHMARK)
    assert {r["model_id"]: (r["group"], r["sft_size"], r["trajectories"]) for r in ms.iter_rows(named=True)} == \
        {m: (g, s, sum(map(len, SAMPLES[m].values()))) for m, (g, s) in MODELS.items()}
