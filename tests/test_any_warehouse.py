"""Every page works on every shape of warehouse a user's own import produces.

Hypothesis draws a warehouse shape (benchmark with or without tiers, one or several models, with or
without groups and scaling factors, one or several samples, questions without trajectories, empty
responses, non-integer answers, all right or all wrong), writes it as small trace files in the
formats we read (jsonl, qwen-eval, lm-eval), imports them through the real `python -m pipeline import`, and
renders every page with Streamlit's AppTest. It asserts that no page raises or shows the page
boundary's error, and that what the Ladder and Coverage pages show agrees with a recomputation from
the generated files.

CI runs a fixed seed and a bounded number of examples; ``LADDER_HYPOTHESIS_PROFILE=deep`` explores more.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app_pages.common import FAILED
from pipeline import cli
from tests.test_presentation import check_presentation

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
PAGES = ["app_pages/overview.py", "app_pages/ladder.py", "app_pages/coverage.py", "app_pages/failures.py",
         "app_pages/scaling.py", "app_pages/trajectories.py", "app_pages/step_errors.py", "app_pages/compare.py"]

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("deep", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# answers the grader decides without doubt, written as the model would box them
INT_ANSWERS = ["7", "25", "204", "0", "999"]
MATH_ANSWERS = ["\\frac{3}{4}", "2\\sqrt{2}", "x+1", "\\pi", "-5"]


@dataclass
class Shape:
    benchmark: str                       # "aime24" (paper tiers) or a benchmark created from the files
    questions: list[tuple[str, str, str]]   # (id, problem, gold)
    models: list[dict]                   # {"name", "group", "size", "fmt", "samples": {qid: [bool|None]}}
    tiered: str = "none"                 # created benchmark: "none", "some" (a tier for some questions)
    expected: dict = field(default_factory=dict)


def _wrong(gold: str) -> str:
    return "998" if gold != "998" else "997"


@st.composite
def shapes(draw) -> Shape:
    aime = draw(st.booleans())
    if aime:
        from pipeline.ingest import benchmarks

        qs = benchmarks.load("aime24", REPO.parent / "shared" / "data").questions
        picked = draw(st.lists(st.sampled_from(range(len(qs))), min_size=1, max_size=5, unique=True))
        questions = [(qs[i].question_id, qs[i].problem, qs[i].answer) for i in picked]
        bench = "aime24"
    else:
        n = draw(st.integers(1, 5))
        integer = draw(st.booleans())
        golds = draw(st.lists(st.sampled_from(INT_ANSWERS if integer else MATH_ANSWERS + INT_ANSWERS),
                              min_size=n, max_size=n))
        questions = [(f"q{i}", f"Problem number {i}: compute the quantity asked for, case {i}.", g)
                     for i, g in enumerate(golds)]
        bench = "user_bench"
    n_models = draw(st.integers(1, 4))
    samples = draw(st.integers(1, 4))
    grouped = draw(st.sampled_from(["none", "some", "all"]))
    sized = draw(st.booleans())
    outcome = draw(st.sampled_from(["mixed", "all_right", "all_wrong"]))
    models = []
    for m in range(n_models):
        if m == 0 and not aime:   # the first file creates the benchmark: it names every question
            asked = [q[0] for q in questions]
        else:
            asked = draw(st.lists(st.sampled_from([q[0] for q in questions]), min_size=1, unique=True))
        per = {}
        for qid in asked:
            k = samples if draw(st.booleans()) else draw(st.integers(1, samples))
            if outcome == "mixed":
                per[qid] = draw(st.lists(st.sampled_from([True, False, None]), min_size=k, max_size=k))
            else:
                per[qid] = [outcome == "all_right"] * k
        group = None if grouped == "none" or (grouped == "some" and m % 2) else f"g{m % 2}"
        models.append({"name": f"user-model-{m}", "group": group, "size": 2 ** (m + 1) if sized else None,
                       "fmt": draw(st.sampled_from(["jsonl", "qwen-eval", "lm-eval"])), "samples": per})
    tiered = "none" if aime else draw(st.sampled_from(["none", "some"]))
    return Shape(bench, questions, models, tiered)


def _response(qid: str, gold: str, verdict: bool | None, s: int) -> str:
    """``None``: an empty response (a real outcome; graded wrong)."""
    if verdict is None:
        return ""
    ans = gold if verdict else _wrong(gold)
    return f"Sample {s} of {qid}. Working through it step by step.\n\nSo the answer is $\\boxed{{{ans}}}$."


def write_files(shape: Shape, folder: Path) -> list[list[str]]:
    """One trace file per model; returns the import command lines (one model's meta per command)."""
    qmap = {q[0]: q for q in shape.questions}
    commands = []
    for m in shape.models:
        path = folder / f"{m['name']}.jsonl"
        lines = []
        if m["fmt"] == "jsonl":
            for qid, verdicts in m["samples"].items():
                _, problem, gold = qmap[qid]
                for s, v in enumerate(verdicts):
                    rec = {"model": m["name"], "sample_idx": s, "response": _response(qid, gold, v, s)}
                    if shape.benchmark == "aime24":
                        rec["question_id"] = qid
                    else:
                        rec.update(question_id=qid, problem=problem, answer=gold)
                    lines.append(rec)
        elif m["fmt"] == "qwen-eval":
            for qid, verdicts in m["samples"].items():
                _, problem, gold = qmap[qid]
                lines.append({"idx": qid, "question": problem, "gt": gold,
                              "code": [_response(qid, gold, v, s) for s, v in enumerate(verdicts)]})
        else:   # lm-eval --log_samples: one document per line, its K repeats in resps[0]
            path = folder / m["name"] / "samples_user_task_2026-11-29T00-00-00.000000.jsonl"
            path.parent.mkdir()
            for d, (qid, verdicts) in enumerate(m["samples"].items()):
                _, problem, gold = qmap[qid]
                lines.append({"doc_id": d, "doc": {"id": qid, "problem": problem, "answer": gold}, "target": gold,
                              "resps": [[_response(qid, gold, v, s) for s, v in enumerate(verdicts)]],
                              "arguments": {"gen_args_0": {"arg_0": problem, "arg_1": {"temperature": 1.0}}}})
        path.write_text("".join(json.dumps(r) + "\n" for r in lines))
        cmd = ["import", "--format", m["fmt"], "--benchmark", shape.benchmark, "--model", m["name"], str(path)]
        if m["group"]:
            cmd += ["--meta", f"group={m['group']}"]
        if m["size"]:
            cmd += ["--meta", f"sft_size={m['size']}"]
        commands.append(cmd)
    return commands


def expected(shape: Shape) -> dict[str, dict[str, float]]:
    """model -> question -> accuracy, straight from the generated verdicts (empty responses are wrong)."""
    return {m["name"]: {q: sum(bool(v) for v in vs) / len(vs) for q, vs in m["samples"].items()}
            for m in shape.models}


def build(shape: Shape, folder: Path) -> Path:
    db = folder / "w.duckdb"
    for cmd in write_files(shape, folder):
        assert cli.main(cmd + ["--db", str(db), "--data-dir", str(REPO.parent / "shared" / "data")]) == 0, cmd
    if shape.tiered == "some":   # tiers for the first question only, through the tiers module's writer
        import polars as pl

        from warehouse import db as wdb, tier_store as tiers
        with wdb.writer(db) as con:
            tiers.store_scheme(con, shape.benchmark, "paper",
                               pl.DataFrame({"question_id": [shape.questions[0][0]], "tier": ["Hard"]}))
    return db


def page_errors(at) -> list[str]:
    return [str(e.value) for e in at.exception] + [e.value for e in at.error if FAILED in e.value]


def render_all(db: Path, monkeypatch) -> dict:
    """Every page, every radio option; returns what the Ladder and Coverage pages showed (by model)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LADDER_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    seen = {}
    for page in PAGES:
        at.switch_page(page).run()
        assert not page_errors(at), (page, page_errors(at))
        assert at.title and at.title[0].value != "ladder — get started", page
        check_presentation(at, page)
        for radio in at.radio:
            for opt in radio.options:
                radio.set_value(opt).run()
                assert not page_errors(at), (page, radio.key, opt, page_errors(at))
                check_presentation(at, page)
        if page.endswith("ladder.py"):
            at.radio(key="ladder_by").set_value("model").run()
            seen["ladder"] = {df.value.attrs.get("name"): df.value for df in at.dataframe}
            seen["ladder_tables"] = [df.value for df in at.dataframe]
        if page.endswith("coverage.py"):
            at.radio(key="cov_by").set_value("model").run()
            seen["coverage_charts"] = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
            seen["coverage_tables"] = [df.value for df in at.dataframe]
            seen["coverage_notices"] = " ".join(e.value for e in at.info)
    return seen


def check_agreement(shape: Shape, seen: dict) -> None:
    want = expected(shape)
    acc = next(df for df in seen["ladder_tables"] if {"key", "question_id", "accuracy"} <= set(df.columns))
    got = {(r.key, str(r.question_id)): r.accuracy for r in acc.itertuples()}
    assert got == pytest.approx({(m, q): a for m, qs in want.items() for q, a in qs.items()}), "ladder table"
    one_sample = all(len(vs) == 1 for m in shape.models for vs in m["samples"].values())
    if one_sample:        # cov@n = avg@n: no scatter on the diagonal, a notice and the accuracy table instead
        assert "One sample per question" in seen["coverage_notices"]
        table = next(df for df in seen["coverage_tables"] if {"key", "avg"} <= set(df.columns))
        points = {r.key: (r.avg, r.avg) for r in table.itertuples()}
    elif not any("Potential" in c["layout"]["title"]["text"] for c in seen["coverage_charts"]):
        # every key at one point: a notice instead of the chart, and the expected values agree it is flat
        assert "every value is" in seen["coverage_notices"]
        assert len({(sum(qs.values()) / len(qs), sum(a > 0 for a in qs.values()) / len(qs))
                    for qs in want.values()}) == 1
        return
    else:
        scatter = next(c for c in seen["coverage_charts"] if "Potential" in c["layout"]["title"]["text"])
        points = {}
        for trace in scatter["data"]:
            for name, x, y in zip(trace.get("text") or [], trace.get("x") or [], trace.get("y") or []):
                points[name] = (x, y)
    for m, qs in want.items():
        avg = sum(qs.values()) / len(qs)
        cov = sum(a > 0 for a in qs.values()) / len(qs)
        assert points[m] == pytest.approx((avg, cov)), m


@pytest.mark.slow
@pytest.mark.data                   # aime24 shapes and --data-dir read ../shared/data
@settings(settings.get_profile(os.environ.get("LADDER_HYPOTHESIS_PROFILE", "ci")))
@given(shape=shapes())
def test_every_page_on_any_warehouse(shape, monkeypatch):
    with tempfile.TemporaryDirectory() as d:
        db = build(shape, Path(d))
        seen = render_all(db, monkeypatch)
        check_agreement(shape, seen)


@pytest.mark.slow
def test_every_page_with_a_thousand_models(tmp_path, monkeypatch):
    """A lab's warehouse: 1,000 models (two of them grouped and sized, set after the import), 3 questions,
    2 samples each."""
    shape = Shape("user_bench", [(f"q{i}", f"Problem {i}: what is {i} + {i}?", str(2 * i)) for i in range(3)], [])
    lines = []
    for m in range(1000):
        samples = {f"q{i}": [(m + i + s) % 3 != 0 for s in range(2)] for i in range(3)}
        shape.models.append({"name": f"m{m:04d}", "samples": samples})
        for qid, verdicts in samples.items():
            _, problem, gold = next(q for q in shape.questions if q[0] == qid)
            lines += [{"model": f"m{m:04d}", "question_id": qid, "problem": problem, "answer": gold, "sample_idx": s,
                       "response": _response(qid, gold, v, s)} for s, v in enumerate(verdicts)]
    f = tmp_path / "many.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in lines))
    db = tmp_path / "w.duckdb"
    assert cli.main(["import", "--format", "jsonl", "--benchmark", "user_bench", str(f), "--db", str(db)]) == 0
    assert cli.main(["models", "set", "m0001", "group=g1", "sft_size=100", "--db", str(db)]) == 0
    assert cli.main(["models", "set", "m0002", "group=g1", "sft_size=1000", "--db", str(db)]) == 0
    seen = render_all(db, monkeypatch)
    check_agreement(shape, seen)
