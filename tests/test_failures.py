"""Failure analysis on real AIME24 traces; flags are derived from the real text in the test itself."""
import math
import re
from collections import Counter, defaultdict

import pytest

from analysis_fixtures import AIME_DIR, aime_model, aime_run_id, build_aime, cached, load_qwen_eval
from pipeline.ingest import benchmarks
from warehouse import db, failures, ingest
from warehouse.filters import Selection
from warehouse.records import StepAnnotation, TrajectoryFlag, normalize_problem, trajectory_key

MODELS = ["Qwen2.5-14B-Instruct", "Sky-T1-math-correct-5K-14B", "Sky-T1-math-wrong-5K-27B",
          "Sky-T1-math-correct-5K-32B-step140"]


def _samples(shared, models=None):
    data = benchmarks.load("aime24", shared)
    by_text = {q.problem_norm: q for q in data.questions}
    by_answer = {int(q.answer): q for q in data.questions}
    out = []
    for f in sorted((shared / AIME_DIR).glob("*.jsonl")):
        if models and f.stem not in models:
            continue
        for r in load_qwen_eval(f):
            q = by_text.get(normalize_problem(r["question"])) or by_answer[int(r["gt"])]
            out.append(dict(model=f.stem, qid=q.question_id, gold=str(int(q.answer)), text=r["code"][0] or "",
                            pred=r["pred"][0], ok=bool(r["score"][0]), tid=trajectory_key(aime_run_id(f), q.question_id, 0)))
    return out


def test_wrong_answers_and_convergence_on_exh(shared):
    tiers = {t.question_id: t.tier for t in benchmarks.load("aime24", shared).tiers}
    samples = [s for s in _samples(shared) if tiers[s["qid"]] == "Exh" and not s["ok"]]
    with db.reader(cached("aime", shared)) as con:
        conc = failures.wrong_answer_concentration(con, failures.exh(Selection("aime24")))
        top = failures.wrong_answers(con, failures.exh(Selection("aime24")), top=1)
    assert sorted(conc["question_id"]) == sorted(q for q, t in tiers.items() if t == "Exh")
    for r in conc.iter_rows(named=True):
        wrong = [s for s in samples if s["qid"] == r["question_id"]]
        answered = Counter(s["pred"] for s in wrong if s["pred"] not in (None, ""))
        total = sum(answered.values())
        assert r["n_wrong"] == len(wrong) and r["n_distinct"] == len(answered)
        assert r["entropy_bits"] == pytest.approx(-sum(c / total * math.log2(c / total) for c in answered.values()))
        assert r["top_share"] == pytest.approx(max(answered.values()) / total)
        assert answered[r["top_answer"]] == max(answered.values())
        models_top = {s["model"] for s in wrong if s["pred"] == r["top_answer"]}
        assert r["top_models"] == len(models_top) and r["converged"] == (len(models_top) >= 2)
    assert dict(zip(top["question_id"], top["answer"])) == dict(zip(conc["question_id"], conc["top_answer"]))


@pytest.fixture(scope="module")
def flagged(shared, tmp_path_factory):
    path = build_aime(tmp_path_factory.mktemp("fail") / "w.duckdb", shared, models=MODELS)
    samples = _samples(shared, MODELS)
    flags, notes = [], []
    for s in samples:
        if "case" in s["text"].lower():
            flags.append(TrajectoryFlag(s["tid"], "rules", "strategy:casework"))
        if not s["ok"] and re.search(rf"\b{s['gold']}\b", s["text"]):
            flags.append(TrajectoryFlag(s["tid"], "rules", "found_then_lost"))
        if len(s["text"]) > 20000:
            notes.append(StepAnnotation(s["tid"], 0, "rules", "long_response"))
    with db.writer(path) as con:
        ingest.replace_annotations(con, "rules", [s["tid"] for s in samples], notes, flags)
    return path, samples


def test_strategy_steps_flags_and_length(flagged):
    path, samples = flagged
    sel = Selection("aime24")
    with db.reader(path) as con:
        strat = failures.strategy_tags(con, sel).row(0, named=True)
        steps = failures.step_error_types(con, sel).row(0, named=True)
        rates = {r["key"]: r for r in failures.flag_rates(con, sel).iter_rows(named=True)}
        lengths = failures.length_by_outcome(con, sel, by="group")
    case = [s for s in samples if "case" in s["text"].lower()]
    n_ok, n_bad = sum(s["ok"] for s in samples), sum(not s["ok"] for s in samples)
    assert strat["strategy"] == "casework" and strat["n_correct"] == sum(s["ok"] for s in case)
    assert strat["share_incorrect"] == pytest.approx(sum(not s["ok"] for s in case) / n_bad)
    assert strat["share_correct"] == pytest.approx(sum(s["ok"] for s in case) / n_ok)
    long_ = [s for s in samples if len(s["text"]) > 20000]
    assert steps["label"] == "long_response" and steps["n_trajectories"] == len(long_)
    assert steps["share_of_incorrect"] == pytest.approx(sum(not s["ok"] for s in long_) / n_bad)
    for m in MODELS:
        ftl = [s for s in samples if s["model"] == m and not s["ok"] and re.search(rf"\b{s['gold']}\b", s["text"])]
        assert rates[m]["found_then_lost"] == len(ftl) and rates[m]["n"] == 30 and rates[m]["truncated"] == 0
    by = defaultdict(list)
    for s in samples:
        by[(aime_model(s["model"]).group, s["ok"])].append(len(s["text"]))
    for r in lengths.iter_rows(named=True):
        assert r["mean_chars"] == pytest.approx(sum(by[(r["key"], r["is_correct"])]) / r["n"])
