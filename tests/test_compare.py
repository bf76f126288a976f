"""Paired comparisons (analysis.compare, charts.compare_view, `report compare`): against hand computations,
against scipy called directly on the real Sky-T1 step series and on math_cot_100's 8 samples, interval
coverage by simulation, and the degenerate shapes (one sample, no tiers, one common question, disjoint)."""
from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from analysis import compare
from analysis_fixtures import MAJ8, aime_truth, cached, load_qwen_eval
from charts import compare_view as views
from pipeline.cli import main as cli
from warehouse import frames
from warehouse.errors import UsageError
from warehouse.filters import Selection

S21, S140 = "Sky-T1-math-correct-5K-32B-step21", "Sky-T1-math-correct-5K-32B-step140"


def pq_frame(sides: dict[str, dict[str, tuple[int, int]]], tiers=None, cats=None) -> pl.DataFrame:
    """A per_question-shaped frame: key -> question -> (n, c)."""
    rows = [{"key": k, "question_id": q, "tier": (tiers or {}).get(q), "category": (cats or {}).get(q), "n": n, "c": c}
            for k, qs in sides.items() for q, (n, c) in qs.items()]
    return pl.DataFrame(rows, schema={"key": pl.String, "question_id": pl.String, "tier": pl.String,
                                      "category": pl.String, "n": pl.Int64, "c": pl.Int64})


# --- hand computations -------------------------------------------------------------------------------

def test_one_sample_mcnemar_holm_and_flips_by_hand():
    # 8 Medium questions: A right on 1..2, B right on 1..8 -> c = 6 (B only), b = 0; 6 Hard: 1 each way
    a = {**{f"m{i}": (1, int(i <= 2)) for i in range(1, 9)}, **{f"h{i}": (1, int(i == 1)) for i in range(1, 7)}}
    b = {**{f"m{i}": (1, 1) for i in range(1, 9)}, **{f"h{i}": (1, int(i == 2)) for i in range(1, 7)}}
    tiers = {q: "Medium" if q[0] == "m" else "Hard" for q in a}
    p = compare.pair(pq_frame({"A": a, "B": b}, tiers), ["A"], ["B"])
    rows = {r["by"]: r for r in compare.compare(p).to_dicts()}
    assert list(rows) == ["overall", "Medium", "Hard"]               # tiers in TIERS order
    med, hard, all_ = rows["Medium"], rows["Hard"], rows["overall"]
    assert (med["acc_a"], med["acc_b"], med["diff"]) == (0.25, 1.0, 0.75)
    assert med["p_value"] == pytest.approx(2 / 2 ** 6)               # 6 discordant, all one way
    assert hard["p_value"] == 1.0 and hard["diff"] == 0.0             # 1 each way
    # Holm over two tests: sorted p (1/32, 1) -> (2/32, max(2/32, 1))
    assert med["p_holm"] == pytest.approx(2 * 2 / 2 ** 6) and hard["p_holm"] == 1.0
    assert all_["p_value"] == pytest.approx(stats.binomtest(7, 8).pvalue) == all_["p_holm"]
    assert compare.flips(p) == {"a_only": ["h1"], "b_only": [f"m{i}" for i in range(3, 9)] + ["h2"]}
    assert (med["a_only"], med["b_only"], hard["a_only"], hard["b_only"]) == (0, 6, 1, 1)
    # mde: (z_.975 + z_.8) * sqrt(share discordant / Q), floored at 6 questions / Q
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert all_["mde"] == pytest.approx(max(z * math.sqrt((8 / 14) / 14), 6 / 14))
    assert hard["mde"] == pytest.approx(max(z * math.sqrt((2 / 6) / 6), 1.0))


def test_holm_by_hand_and_against_statsmodels():
    p = [0.01, 0.04, 0.03, float("nan"), 0.005]
    want = [0.03, 0.06, 0.06, float("nan"), 0.02]      # m = 4: 4*.005, 3*.01, max(2*.03, .03), max(1*.04, .06)
    np.testing.assert_allclose(compare.holm(p), want)
    multi = pytest.importorskip("statsmodels.stats.multitest")
    np.testing.assert_allclose(compare.holm(p[:3] + p[4:]), multi.multipletests(p[:3] + p[4:], method="holm")[1])


def test_tiers_too_small_to_test_are_left_out_of_the_holm_family():
    a = {**{f"e{i}": (1, 1) for i in range(4)}, **{f"m{i}": (1, 0) for i in range(8)}}
    b = {**{f"e{i}": (1, 0) for i in range(4)}, **{f"m{i}": (1, 1) for i in range(8)}}
    tiers = {q: "Easy" if q[0] == "e" else "Medium" for q in a}
    rows = {r["by"]: r for r in compare.compare(compare.pair(pq_frame({"A": a, "B": b}, tiers), ["A"], ["B"])).to_dicts()}
    assert rows["Easy"]["mde"] is None                              # 4 questions: even 4/4 gives p = 0.125
    assert rows["Medium"]["p_holm"] == rows["Medium"]["p_value"] == pytest.approx(2 / 2 ** 8)
    assert rows["Easy"]["p_holm"] == rows["Easy"]["p_value"] == pytest.approx(0.125)


# --- degenerate shapes -------------------------------------------------------------------------------

def test_no_tiers_gives_only_the_overall_row_and_categories_when_asked():
    a, b = {"1": (1, 1), "2": (1, 0), "3": (1, 0)}, {"1": (1, 1), "2": (1, 1), "3": (1, 0)}
    p = compare.pair(pq_frame({"A": a, "B": b}), ["A"], ["B"])
    assert compare.compare(p)["by"].to_list() == ["overall"]
    assert compare.compare(p, "category")["by"].to_list() == ["overall"]
    pc = compare.pair(pq_frame({"A": a, "B": b}, cats={"1": "Algebra", "2": "Geometry"}), ["A"], ["B"])
    assert compare.compare(pc, "category")["by"].to_list() == ["overall", "Algebra", "Geometry", "(no category)"]


def test_one_common_question():
    p = compare.pair(pq_frame({"A": {"1": (1, 0), "2": (1, 1)}, "B": {"1": (1, 1), "9": (1, 0)}}), ["A"], ["B"])
    (r,) = compare.compare(p).to_dicts()
    assert (r["n_questions"], r["diff"], r["p_value"], r["ci_lo"], r["ci_hi"], r["mde"]) == (1, 1.0, 1.0, None, None, None)
    # several samples: the permutation path, with one question that differs (scipy refuses one observation)
    p = compare.pair(pq_frame({"A": {"1": (4, 1), "2": (4, 2)}, "B": {"1": (4, 3), "2": (4, 2)}}), ["A"], ["B"])
    (r,) = compare.compare(p).to_dicts()
    assert (r["n_questions"], r["test"], r["p_value"]) == (2, "permutation", 1.0)
    assert compare.permutation_p(np.array([0.5])) == compare.permutation_p(np.array([0.0, -0.25])) == 1.0


def test_disjoint_overlapping_and_missing_sides_are_clear_errors():
    pq = pq_frame({"A": {"1": (1, 1)}, "B": {"2": (1, 0)}})
    with pytest.raises(UsageError, match=r"answered no common question \(A: 1 questions, B: 1\)"):
        compare.pair(pq, ["A"], ["B"])
    with pytest.raises(UsageError, match="must not share a model"):
        compare.pair(pq, ["A", "B"], ["B"])
    with pytest.raises(UsageError, match="C has no samples"):
        compare.pair(pq, ["A"], ["C"], "A", "C")
    with pytest.raises(UsageError, match="--by"):
        compare.compare(compare.pair(pq_frame({"A": {"1": (1, 1)}, "B": {"1": (1, 0)}}), ["A"], ["B"]), "model")


def test_results_repeat():
    a = {str(i): (4, i % 5) for i in range(40)}
    b = {str(i): (4, (i * 3) % 5) for i in range(40)}
    p = compare.pair(pq_frame({"A": a, "B": b}), ["A"], ["B"])
    assert compare.compare(p).equals(compare.compare(p))


# --- real data: the Sky-T1 step series (one greedy sample) ------------------------------------------------

def test_step21_vs_step140_against_the_files_and_scipy(shared):
    truth = aime_truth(shared)
    with open(shared / "aime24" / "paper_reference.csv", encoding="utf-8") as f:
        ref = {r["id"]: r["paper_tier"] for r in csv.DictReader(f)}
    from warehouse import db
    with db.reader(cached("aime", shared)) as con:
        v = views.view(con, Selection("aime24"), "model", S21, S140)
    a, b = truth[S21], truth[S140]
    rows = {r["by"]: r for r in v["rows"].to_dicts()}
    assert v["paired"].height == 30
    for t in ["overall", "Easy", "Medium", "Hard", "Exh"]:
        qs = [q for q in a if t == "overall" or ref.get(q) == t]
        bo = sum(a[q] and not b[q] for q in qs)
        co = sum(b[q] and not a[q] for q in qs)
        r = rows[t]
        assert r["n_questions"] == len(qs)
        assert r["diff"] == pytest.approx((co - bo) / len(qs))
        assert r["acc_a"] == pytest.approx(sum(a[q] for q in qs) / len(qs))
        assert r["p_value"] == pytest.approx(stats.binomtest(co, bo + co, 0.5).pvalue if bo + co else 1.0)
        assert r["test"] == "mcnemar"
        try:
            from statsmodels.stats.contingency_tables import mcnemar
        except ImportError:
            continue
        both = sum(a[q] and b[q] for q in qs)
        assert r["p_value"] == pytest.approx(mcnemar([[both, bo], [co, len(qs) - both - bo - co]], exact=True).pvalue)
    assert compare.flips(v["paired"]) == {"a_only": sorted([q for q in a if a[q] and not b[q]], key=_order(v)),
                                          "b_only": sorted([q for q in a if b[q] and not a[q]], key=_order(v))}


def _order(v):
    ids = v["paired"]["question_id"].to_list()
    return ids.index


def test_report_compare_json_and_csv(shared, capsys):
    path = cached("aime", shared)
    capsys.readouterr()                                      # the fixture's import, when this test builds it
    assert cli(["report", "compare", "--db", str(path), "--benchmark", "aime24", "--a", S21, "--b", S140]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["a", "b", "benchmark", "n_questions", "rows", "flips"]
    assert (out["a"], out["b"], out["benchmark"], out["n_questions"]) == (S21, S140, "aime24", 30)
    assert [list(r) for r in out["rows"]] == [list(compare.ROW_COLUMNS)] * 5
    assert [r["by"] for r in out["rows"]] == ["overall", "Easy", "Medium", "Hard", "Exh"]
    assert set(out["flips"]) == {"a_only", "b_only"}
    assert cli(["report", "compare", "--db", str(path), "--benchmark", "aime24", "--a", S21, "--b", S140,
                "--by", "category", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(compare.ROW_COLUMNS) and lines[1].startswith("overall,30,")
    assert cli(["report", "compare", "--db", str(path), "--benchmark", "aime24", "--a", S21, "--b", S21]) == 2
    assert cli(["report", "compare", "--db", str(path), "--benchmark", "aime24", "--a", S21, "--b", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--a and --b are the same" in err and "--b" in err.splitlines()[1] and "nope" in err.splitlines()[1]


def test_groups_and_pair_trajectories_on_real_data(shared):
    from warehouse import db
    truth = aime_truth(shared)
    with db.reader(cached("aime", shared)) as con:
        sel = Selection("aime24")
        v = views.view(con, sel, "group", "base", "step_series")
        pairs = views.pair_trajectories(con, sel, "model", S21, S140)
        fa = frames.final_answers(con, Selection("aime24", models=(S21, S140)))
    base = [m for m in truth if m in ("Qwen2.5-14B-Instruct", "Qwen2.5-Math-7B", "gemma-2-27b-it", "Llama-3.1-8B")]
    steps = [m for m in truth if "-step" in m]
    d = [sum(truth[m][q] for m in steps) / len(steps) - sum(truth[m][q] for m in base) / len(base) for q in truth[S21]]
    overall = v["rows"].row(0, named=True)
    assert overall["test"] == "permutation" and overall["diff"] == pytest.approx(np.mean(d))
    by_t = {r["trajectory_id"]: r for r in fa.iter_rows(named=True)}
    assert pairs.height == 30
    for r in pairs.iter_rows(named=True):          # each side's sample agrees with its verdict on the question
        ta, tb = by_t[r["t_a"]], by_t[r["t_b"]]
        assert (ta["model_id"], tb["model_id"], ta["question_id"], tb["question_id"]) == (S21, S140, r["question_id"],
                                                                                            r["question_id"])
        assert ta["is_correct"] == truth[S21][r["question_id"]] and tb["is_correct"] == truth[S140][r["question_id"]]


# --- real data: math_cot_100, 8 samples per question -------------------------------------------------

def test_eight_samples_split_in_two_against_an_exact_sign_flip(shared):
    recs = load_qwen_eval(shared / MAJ8)
    a = {str(r["idx"]): (4, sum(map(bool, r["score"][:4]))) for r in recs}
    b = {str(r["idx"]): (4, sum(map(bool, r["score"][4:]))) for r in recs}
    p = compare.pair(pq_frame({"A": a, "B": b}), ["A"], ["B"])
    d = np.array([(b[q][1] - a[q][1]) / 4 for q in a])
    (r,) = compare.compare(p).to_dicts()
    assert r["n_questions"] == 100 and r["diff"] == pytest.approx(d.mean()) and r["test"] == "permutation"
    ref = stats.permutation_test((d[d != 0],), np.mean, permutation_type="samples", n_resamples=9999,
                                 rng=np.random.default_rng(7)).pvalue
    assert abs(r["p_value"] - ref) < 0.03                  # both Monte Carlo (seeds differ)
    # exactly, by hand, on the first 12 questions that differ: every one of the 2^12 sign patterns
    sub = d[d != 0][:12]
    obs = abs(sub.mean())
    null = [abs(np.dot(s, np.abs(sub)) / len(sub)) for s in itertools.product((-1, 1), repeat=len(sub))]
    exact = np.mean(np.array(null) >= obs - 1e-12)
    assert compare.permutation_p(sub) == pytest.approx(exact)


# --- interval coverage by simulation -------------------------------------------------------------------

@pytest.mark.parametrize("q,n", [(30, 1), (100, 1), (30, 4), (100, 8)])
def test_interval_covers_a_known_difference_about_95_percent(q, n):
    """Questions drawn from a population (difficulty ~ Beta(1, 1.5)); B's chance is A's + 0.1 (capped at 1);
    the true difference is the population mean. 400 replicates: coverage within 0.92-0.98 (the binomial SE
    of 400 draws at 0.95 is 0.011). Fewer questions with one sample each (say 10) cover far less: with few
    discordant questions the bootstrap distribution is degenerate, the exact test is what to read there."""
    rng = np.random.default_rng(1)
    big = rng.beta(1, 1.5, 10 ** 6)
    truth = np.mean(np.clip(big + 0.1, 0, 1) - big)
    hits = 0
    for rep in range(400):
        th = rng.beta(1, 1.5, q)
        u = rng.random((q, n))
        ca = (u < th[:, None]).sum(1)                     # one sample: A and B correlated (one uniform)
        cb = ((rng.random((q, n)) if n > 1 else u) < np.clip(th + 0.1, 0, 1)[:, None]).sum(1)
        pq = pl.concat([pl.DataFrame({"key": k, "question_id": [str(i) for i in range(q)], "tier": None,
                                      "category": None, "n": n, "c": c}, schema_overrides={"tier": pl.String,
                                                                                          "category": pl.String})
                        for k, c in (("A", ca), ("B", cb))])
        lo, hi = compare._bootstrap(compare.pair(pq, ["A"], ["B"]), 1000, rep, 0.95)   # what row() reports
        hits += lo <= truth <= hi
    assert 0.92 <= hits / 400 <= 0.98
