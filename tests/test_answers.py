"""Answer classes (analysis.answers, frames.final_answers, `report answers`): on the maj8 set against a hand
computation from the source file, and on a small constructed warehouse (equivalent spellings, a wrong answer
two models share as the majority)."""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.answers import NO_ANSWER, answer_classes, keyed, maj_at_k_exact, shared_delusions
from analysis_fixtures import MAJ8, load_qwen_eval
from pipeline.cli import main
from derivation.grade import answers_match, integer_value
from warehouse import frames
from warehouse.filters import Selection

KEYS = {"question_id", "tier", "n_samples", "n_correct", "entropy_bits", "majority_answer", "majority_is_gold",
        "confidently_wrong", "pass_at_k", "maj_at_k", "avg_at_k", "intervals", "classes"}


def grader(answer_type: str = "math"):
    return lambda a, b: answers_match(a, b, answer_type)


# ---- maj8: the harness's verdicts (the fixture's active grader is "source": answer = pred, verdict = score)

@pytest.fixture(scope="module")
def maj8_classes(maj8):
    fa = frames.final_answers(maj8, Selection("math_cot_100"))
    return fa, {r["question_id"]: r for r in answer_classes(fa, grader())}


def _strict_top(counts: Counter):
    (top, n), *rest = counts.most_common()
    return top if not rest or rest[0][1] < n else None


def _hand(row: dict) -> dict:
    """Everything from the file's pred and score lists alone (classes: equal strings), maj@k by enumeration."""
    pred, score = row["pred"], row["score"]
    n, c = len(pred), sum(score)
    counts = Counter(pred)
    gold = {p for p, s in zip(pred, score) if s}
    top = _strict_top(counts)
    maj = {}
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        maj[str(k)] = sum(_strict_top(Counter(pred[i] for i in s)) in gold for s in subsets) / len(subsets)
    return {"n": n, "c": c, "sizes": sorted(counts.values(), reverse=True), "top": top,
            "top_gold": top in gold, "maj": maj,
            "entropy": -sum(v / n * math.log2(v / n) for v in counts.values()),
            # pass@k by brute force: the share of the k-subsets holding at least one correct sample
            "pass": {str(k): sum(any(score[i] for i in sub) for sub in itertools.combinations(range(n), k))
                     / math.comb(n, k) for k in range(1, n + 1)}}


# idx with split votes whose distinct spellings are distinct values: 6 (gold 3/8 wins 3 of 8), 17 (a 4-4 tie),
# 28, 70 (a wrong 19 wins 5-3), 92, 98 (gold "50,625", spelled 50625)
@pytest.mark.parametrize("idx", [0, 3, 6, 17, 28, 70, 92, 98])
def test_maj8_matches_the_source_file(shared, maj8_classes, idx):
    rows = {str(r["idx"]): r for r in load_qwen_eval(shared / MAJ8)}
    row, got = rows[str(idx)], maj8_classes[1][str(idx)]
    h = _hand(row)
    assert set(got) == KEYS
    assert (got["n_samples"], got["n_correct"]) == (h["n"], h["c"])
    assert sorted((cl["n"] for cl in got["classes"]), reverse=True) == h["sizes"]
    assert got["majority_answer"] == h["top"]
    assert got["majority_is_gold"] == (h["top"] is not None and h["top_gold"])
    assert got["confidently_wrong"] == (h["top"] is not None and not h["top_gold"])
    assert got["entropy_bits"] == pytest.approx(h["entropy"])
    assert got["pass_at_k"] == pytest.approx(h["pass"])
    assert got["maj_at_k"] == pytest.approx(h["maj"])
    assert got["avg_at_k"] == pytest.approx({k: h["c"] / h["n"] for k in h["pass"]})
    for cl in got["classes"]:                      # a class is gold exactly when the file scored its answer right
        assert cl["is_gold"] == any(s for p, s in zip(row["pred"], row["score"]) if p == cl["answer"])
        assert cl["models"] == ["qwen25-math-7b"]


def test_maj8_named_cases(maj8_classes):
    q = maj8_classes[1]
    assert q["6"]["majority_answer"] == "\\frac{3}{8}" and q["6"]["majority_is_gold"]
    assert q["17"]["majority_answer"] is None and not q["17"]["confidently_wrong"]      # 4-4 tie
    assert q["70"]["majority_answer"] == "19" and q["70"]["confidently_wrong"]
    assert [cl["answer"] for cl in q["70"]["classes"]] == ["19", "31"]


def test_maj8_frame_is_the_source_verdicts(shared, maj8_classes):
    fa = maj8_classes[0]
    rows = {str(r["idx"]): r for r in load_qwen_eval(shared / MAJ8)}
    assert fa.height == sum(len(r["pred"]) for r in rows.values())
    for r in fa.filter(fa["question_id"].is_in(["6", "98"])).to_dicts():
        src = rows[r["question_id"]]
        assert r["answer"] == src["pred"][r["sample_idx"]]
        assert r["is_correct"] == src["score"][r["sample_idx"]]
        assert r["gold"] == src["gt"]


def test_pass_at_k_ends(maj8_classes):
    recs = list(maj8_classes[1].values())
    assert [r["question_id"] for r in recs] == sorted((r["question_id"] for r in recs), key=int)
    for r in recs:
        n, c = r["n_samples"], r["n_correct"]
        assert r["pass_at_k"]["1"] == pytest.approx(c / n)
        assert r["pass_at_k"][str(n)] == (1.0 if c > 0 else 0.0)
        assert list(r["pass_at_k"]) == [str(k) for k in range(1, n + 1)] == list(r["maj_at_k"])
        assert r["maj_at_k"][str(n)] == pytest.approx(float(r["majority_is_gold"]))
        gold_votes = sum(cl["n"] for cl in r["classes"] if cl["is_gold"])
        assert r["maj_at_k"]["1"] == pytest.approx(gold_votes / n)
        assert r["entropy_bits"] >= 0


def test_maj_at_k_exact_against_enumeration():
    for gold, wrong, abstain in [([3], [2, 2], 1), ([2, 1], [3], 0), ([], [2, 1], 2), ([1], [1], 0), ([4], [], 3)]:
        labels = [("g", i) for i, g in enumerate(gold) for _ in range(g)] + \
                 [("w", i) for i, w in enumerate(wrong) for _ in range(w)] + [None] * abstain
        got = maj_at_k_exact(gold, wrong, abstain)
        for k in range(1, len(labels) + 1):
            subsets = list(itertools.combinations(labels, k))
            want = 0
            for s in subsets:
                votes = Counter(x for x in s if x is not None)
                top = _strict_top(votes) if votes else None
                want += top is not None and top[0] == "g"
            assert got[k] == pytest.approx(want / len(subsets)), (gold, wrong, abstain, k)


# ---- a constructed warehouse: equivalent spellings; a wrong answer two models share as the majority

QUESTIONS = {"half": ("What is one divided by two?", "\\frac{1}{2}"),
             "seven": ("What is three plus four?", "7")}
SAMPLES = {   # model -> question -> boxed answers ("" = an empty response)
    "m-a": {"half": ["\\frac{1}{2}", "0.5"], "seven": ["8", "8", "7"]},
    "m-b": {"half": ["\\dfrac{1}{2}"], "seven": ["8", "8"]},
    "m-c": {"half": ["3", ""], "seven": ["7"]},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("answers")
    db = folder / "w.duckdb"
    for model, qs in SAMPLES.items():
        lines = []
        for qid, answers in qs.items():
            problem, gold = QUESTIONS[qid]
            for i, a in enumerate(answers):
                text = f"We compute it.\n\nThe final answer is $\\boxed{{{a}}}$." if a else ""
                lines.append({"model": model, "question_id": qid, "problem": problem, "answer": gold,
                              "sample_idx": i, "response": text})
        f = folder / f"{model}.jsonl"
        f.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        assert main(["import", "--format", "jsonl", "--benchmark", "mini", "--data-dir", str(folder),
                     "--db", str(db), str(f)]) == 0
    return db


@pytest.fixture(scope="module")
def mini(built):
    from warehouse import db

    with db.reader(built) as con:
        fa = frames.final_answers(con, Selection("mini"))
    return {r["question_id"]: r for r in answer_classes(fa, grader())}


def test_equivalent_spellings_are_one_class(mini):
    half = mini["half"]
    classes = {cl["answer"]: cl for cl in half["classes"]}
    assert half["n_samples"] == 5 and half["n_correct"] == 3
    gold = [cl for cl in half["classes"] if cl["is_gold"]]
    assert len(gold) == 1 and gold[0]["n"] == 3 and gold[0]["models"] == ["m-a", "m-b"]
    assert gold[0]["answer"] in {"\\frac{1}{2}", "0.5", "\\dfrac{1}{2}"}
    assert classes[NO_ANSWER]["n"] == 1 and not classes[NO_ANSWER]["is_gold"]
    assert classes["3"]["n"] == 1 and half["majority_is_gold"]
    # by string equality they would be three classes: the grader decides
    plain = answer_classes(
        pl.DataFrame([{"model_id": "m", "question_id": "1", "sample_idx": i, "answer": a,
                                         "is_correct": True} for i, a in enumerate(["\\frac{1}{2}", "0.5"])]),
        lambda a, b: a == b)
    assert len(plain[0]["classes"]) == 2


def test_confidently_wrong_and_shared_delusions(mini):
    seven = mini["seven"]
    assert seven["majority_answer"] == "8" and seven["confidently_wrong"] and not seven["majority_is_gold"]
    assert [(cl["answer"], cl["n"], cl["is_gold"], cl["models"]) for cl in seven["classes"]] == \
           [("8", 4, False, ["m-a", "m-b"]), ("7", 2, True, ["m-a", "m-c"])]
    assert shared_delusions(list(mini.values())) == [("seven", "8", ["m-a", "m-b"])]
    assert not mini["half"]["confidently_wrong"]


def test_cli_json_and_csv(built, capsys):
    assert main(["report", "answers", "--benchmark", "mini", "--format", "json", "--db", str(built)]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert [r["question_id"] for r in recs] == ["half", "seven"]
    assert all(set(r) == KEYS for r in recs)
    assert list(recs[1]["pass_at_k"]) == ["1", "2", "3", "4", "5", "6"]
    assert main(["report", "answers", "--benchmark", "mini", "--models", "m-c", "--format", "csv",
                 "--db", str(built)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["question_id"] for r in rows] == ["half", "seven"]
    assert {"pass@1", "pass@n", "maj@n", "classes", "entropy_bits", "confidently_wrong"} <= set(rows[0])
    assert rows[1]["n_samples"] == "1" and rows[1]["pass@n"] == "1.0"
    assert json.loads(rows[1]["classes"]) == [{"answer": "7", "n": 1, "is_gold": True, "models": ["m-c"]}]


@pytest.mark.parametrize("argv, message", [
    (["--benchmark", "nope"], "not in the warehouse"),
    (["--benchmark", "mini", "--models", "nobody"], "nobody"),
    (["--benchmark", "mini", "--scheme", "nope"], "--scheme 'nope': mini has no tiers under it"),   # was: exit 0, tiers null
])
def test_cli_errors(built, capsys, argv, message):
    assert main(["report", "answers", *argv, "--db", str(built)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_maj8_classes_against_math_verify_directly(shared, maj8_classes):
    """Every question of the real 8-sample set: the class sizes equal a greedy grouping of the file's
    predictions made with math-verify itself (parse + verify, no project code)."""
    from math_verify import parse, verify

    parsed = {}

    def same(a, b):
        pa = parsed.setdefault(a, parse(f"${a}$"))
        pb = parsed.setdefault(b, parse(f"${b}$"))
        return a == b or bool(verify(pa, pb))

    differ = []
    for row in load_qwen_eval(shared / MAJ8):
        heads, sizes = [], []
        for pred in row["pred"]:
            i = next((j for j, h in enumerate(heads) if pred and h and same(h, pred)), None)
            if i is None:
                heads.append(pred)
                sizes.append(1)
            else:
                sizes[i] += 1
        ours = sorted((cl["n"] for cl in maj8_classes[1][str(row["idx"])]["classes"]), reverse=True)
        if ours != sorted(sizes, reverse=True):
            differ.append((row["idx"], ours, sorted(sizes, reverse=True)))
    assert not differ, differ


def test_intervals_hold_the_estimates(maj8_classes):
    from scipy import stats

    for r in maj8_classes[1].values():
        n, c = r["n_samples"], r["n_correct"]
        lo, hi = r["intervals"]["avg"]
        assert lo <= c / n <= hi and (lo == 0) == (c == 0) and (hi == 1) == (c == n)
        ivs = r["intervals"]["pass_at_k"]
        assert ivs["1"] == pytest.approx([lo, hi])          # pass@1 is the per-sample accuracy
        los, his = [ivs[str(k)][0] for k in range(1, n + 1)], [ivs[str(k)][1] for k in range(1, n + 1)]
        assert los == sorted(los) and his == sorted(his) and 0 <= los[0] and his[-1] <= 1   # rises with k
    r = maj8_classes[1]["17"]                       # 4 of 8: Beta(4.5, 4.5), symmetric around 0.5
    lo, hi = r["intervals"]["avg"]
    assert lo == pytest.approx(stats.beta.ppf(0.025, 4.5, 4.5)) and lo + hi == pytest.approx(1.0)


def test_maj_intervals_bootstrap_small_questions_only(maj8_classes):
    from analysis import answers

    r = maj8_classes[1]["70"]                       # a wrong 19 wins 5-3: maj@8 = 0
    ivs = r["intervals"]["maj_at_k"]
    assert list(ivs) == [str(k) for k in range(1, 9)] and all(0 <= lo <= hi <= 1 for lo, hi in ivs.values())
    assert ivs["8"][0] == 0.0 and ivs["8"][1] > 0  # resamples where the gold 31 wins exist
    assert answers._maj_intervals([40], [30], 0) == {}               # 70 samples: too many to recompute
    assert answers._maj_intervals([5], [3], 0) == answers._maj_intervals([5], [3], 0)   # seeded


# ---- the fast maj@k (issue 24): the binomial factor of the untruncated classes pulled out of the sum over x,
# checked bit for bit against the plain per-x product (the previous implementation) on real class sizes

def _maj_at_k_plain(gold: list[int], wrong: list[int], abstain: int = 0) -> dict[int, float]:
    """maj@k the direct way: for every gold class and x, the product of every other class's truncated
    (1+t)^o times (1+t)^abstain; the reference the fast path must equal exactly."""
    classes = list(gold) + list(wrong)
    n = sum(classes) + abstain
    ways = [0] * (n + 1)
    for gi, g in enumerate(gold):
        for x in range(1, g + 1):
            poly = [math.comb(abstain, y) for y in range(abstain + 1)]
            for o in classes[:gi] + classes[gi + 1:]:
                q = [math.comb(o, y) for y in range(min(o, x - 1) + 1)]
                out = [0] * min(len(poly) + len(q) - 1, n - x + 1)
                for i, a in enumerate(poly):
                    for j, b in enumerate(q[:len(out) - i]):
                        out[i + j] += a * b
                poly = out
            for rest, w in enumerate(poly):
                ways[x + rest] += math.comb(g, x) * w
    return {k: ways[k] / math.comb(n, k) for k in range(1, n + 1)}


def _profiles(recs: list[dict]) -> list[tuple[list[int], list[int], int]]:
    return [([cl["n"] for cl in r["classes"] if cl["is_gold"]],
             [cl["n"] for cl in r["classes"] if not cl["is_gold"] and cl["answer"] != NO_ANSWER],
             sum(cl["n"] for cl in r["classes"] if cl["answer"] == NO_ANSWER)) for r in recs]


def test_fast_maj_at_k_equals_the_plain_product_on_real_answer_classes(maj8_classes, aime):
    aime_recs = answer_classes(frames.final_answers(aime, Selection("aime24")), grader())
    profiles = _profiles(list(maj8_classes[1].values())) + _profiles(aime_recs)
    assert len(profiles) == 130 and any(len(g) + len(w) >= 5 for g, w, _ in profiles)
    # the same shapes grown (paper scale pools ~2,000 samples a question): many x share one untruncated factor
    profiles += [([g * 7 for g in gold], [w * 7 for w in wrong], a * 3) for gold, wrong, a in profiles[::9]]
    for gold, wrong, abstain in profiles:
        fast, plain = maj_at_k_exact(gold, wrong, abstain), _maj_at_k_plain(gold, wrong, abstain)
        assert list(fast) == list(plain) and [v.hex() for v in fast.values()] == [v.hex() for v in plain.values()], \
            (gold, wrong, abstain)


def test_interval_quantiles_are_scipy_stats_beta_ppf_exactly():
    """``_intervals`` takes the beta quantile from scipy.special (scipy.stats costs the page ~0.5 s to import):
    the same floats as scipy.stats.beta.ppf, every (n, c) up to 100 samples and some at paper scale."""
    from scipy import stats

    from analysis.answers import _intervals

    a = (1 - 0.95) / 2                  # as _intervals computes it (0.025000000000000022)
    for n in list(range(1, 101)) + [300, 1920, 19200]:
        cs = list(range(n + 1)) if n <= 100 else sorted({0, 1, 2, n - 1, n, *range(0, n, n // 15)})
        los = stats.beta.ppf(a, [c + 0.5 for c in cs], [n - c + 0.5 for c in cs]).tolist()
        his = stats.beta.ppf(1 - a, [c + 0.5 for c in cs], [n - c + 0.5 for c in cs]).tolist()
        for c, lo, hi in zip(cs, los, his):
            assert _intervals(n, c)["avg"] == [0.0 if c == 0 else lo, 1.0 if c == n else hi], (n, c)


def test_summary_records_equal_the_full_ones_where_they_overlap(maj8_classes):
    """The page's summary (maj@1 and maj@n without the polynomials; pass@k and avg@k at both ends) equals the full
    record at both ends on every real 8-sample question, and the rest of each record is the same."""
    fa, full = maj8_classes
    summary = {r["question_id"]: r for r in answer_classes(fa, grader(), summary=True)}
    assert summary.keys() == full.keys()
    for q, f in full.items():
        s, n = summary[q], str(f["n_samples"])
        assert s["maj_at_k"] == {"1": f["maj_at_k"]["1"], n: f["maj_at_k"][n]}, q
        assert s["maj_at_k"][n] == float(f["majority_is_gold"])
        assert s["intervals"]["maj_at_k"] == {}
        ends = ("1", n)                         # pass@k, avg@k and their intervals: both ends only
        for field in ("pass_at_k", "avg_at_k"):
            assert s[field] == {k: f[field][k] for k in ends}, (q, field)
        assert s["intervals"]["pass_at_k"] == {k: f["intervals"]["pass_at_k"][k] for k in ends}
        assert s["intervals"]["avg"] == f["intervals"]["avg"]
        per_k = ("maj_at_k", "pass_at_k", "avg_at_k", "intervals")
        assert {k: v for k, v in s.items() if k not in per_k} == {k: v for k, v in f.items() if k not in per_k}


# ---- the grader's integers looked up by value (charts.answer_view.same_answer: answers.keyed)

def _keyed_grader(answer_type: str = "math"):
    return keyed(grader(answer_type), integer_value)


def test_keyed_classes_equal_the_graders_on_real_answers(maj8, aime):
    """Looking integers up by value gives exactly the classes the grader gives pair by pair, on the real AIME
    answers of 19 models and on maj8's (fractions, expressions, empty answers), and asks it far less."""
    for con, sel in ((aime, Selection("aime24")), (maj8, Selection("math_cot_100"))):
        fa = frames.final_answers(con, sel)
        calls = Counter()

        def counted(key):
            def same(a, b):
                calls[key] += 1
                return answers_match(a, b)
            return same
        plain = answer_classes(fa, counted("plain"))
        fast = answer_classes(fa, keyed(counted("keyed"), integer_value))
        assert fast == plain
        assert calls["keyed"] < calls["plain"], calls
    assert any(len(r["classes"]) > 3 for r in plain)


_SPELLINGS = ["25", "025", "$25$", "25.0", "\\frac{50}{2}", "24", "10{,}080", "10080", "10,080", "x+1", "1+x",
              "\\sqrt{4}", "2", "2.0", "\\frac{1}{2}", "0.5", "", "  ", None, "-3", "+3", "3", "\\text{3}", "1e3"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SPELLINGS), max_size=40))
def test_keyed_classes_equal_the_graders_on_any_order_of_spellings(spellings):
    """Any order of equal-by-value, equal-by-math-verify and unequal spellings: the same classes (the greedy
    first-head rule: a keyed spelling still joins an earlier unkeyed head it matches, ``\\frac{50}{2}``)."""
    rows = [{"model_id": f"m{i % 3}", "question_id": "1", "sample_idx": i, "answer": a, "is_correct": a in ("25", "025")}
            for i, a in enumerate(spellings)]
    if not rows:
        return
    fa = pl.DataFrame(rows, schema={"model_id": pl.Utf8, "question_id": pl.Utf8, "sample_idx": pl.Int64,
                                    "answer": pl.Utf8, "is_correct": pl.Boolean})
    assert answer_classes(fa, _keyed_grader()) == answer_classes(fa, grader())
