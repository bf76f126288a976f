"""Small real warehouses for the analysis tests, built from ../shared/data.

- ``load_qwen_eval(path)``: rows of a Qwen2.5-Math-eval jsonl file (question, gt, code, pred, score lists).
- ``build_maj8(db, shared)``: benchmark ``math_cot_100`` (the 100 MATH problems of
  traces/qwen25math-maj8/math_cot_100.jsonl as questions, ids = ``idx``), one model ``qwen25-math-7b``
  with 8 samples per question; ``source_correct`` from ``score``, ``source_pred`` from ``pred``.
- ``build_aime(db, shared)``: aime24 (questions, paper tiers, Figure 1 reference values) plus the 19
  skythought models, one greedy sample per question each, grouped as in ``AIME_MODELS``.
This is a tiny loader of its own (the real importers live in pipeline/importers).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline import benchmarks
from warehouse import db, ingest, stats
from warehouse.records import Benchmark, Model, Question, Run, Trajectory, normalize_problem

MAJ8 = "traces/qwen25math-maj8/math_cot_100.jsonl"
AIME_DIR = "traces/skythought-aime24"
BASE = ("Qwen2.5-14B-Instruct", "Qwen2.5-Math-7B", "gemma-2-27b-it", "Llama-3.1-8B")
PARAMS = {"Qwen2.5-14B-Instruct": 14, "Qwen2.5-Math-7B": 7, "gemma-2-27b-it": 27, "Llama-3.1-8B": 8}


def load_qwen_eval(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _trajectories(rows, run_id, benchmark, qid_of) -> list[Trajectory]:
    out = []
    for r in rows:
        qid = qid_of(r)
        for i, (text, pred, ok) in enumerate(zip(r["code"], r["pred"], r["score"])):
            out.append(Trajectory(run_id, benchmark, qid, i, text or "", source_correct=bool(ok),
                                  source_pred=None if pred is None else str(pred)))
    return out


def build_maj8(path: Path, shared: Path) -> Path:
    rows = load_qwen_eval(shared / MAJ8)
    with db.writer(path) as con:
        ingest.upsert_benchmark(con, Benchmark("math_cot_100", "100 MATH problems, 8 samples", "math"))
        ingest.upsert_questions(con, [Question("math_cot_100", str(r["idx"]), r["question"], str(r["gt"]),
                                               level=r.get("level")) for r in rows])
        ingest.upsert_model(con, Model("qwen25-math-7b", group="base", params_b=7))
        ingest.upsert_run(con, Run("maj8", "qwen25-math-7b", "math_cot_100", "imported", samples_per_question=8))
        ingest.insert_trajectories(con, _trajectories(rows, "maj8", "math_cot_100", lambda r: str(r["idx"])))
        stats.refresh_run_stats(con)
    return path


_STEP = re.compile(r"-step(\d+)$")


def aime_model(name: str) -> Model:
    """The model record the fixture gives each skythought file."""
    if name in BASE:
        return Model(name, group="base", params_b=PARAMS[name])
    m = _STEP.search(name)
    if m:
        return Model(name, group="step_series", params_b=32, sft_size=5000, train_step=int(m.group(1)),
                     sft_category="math-correct")
    size = int(re.search(r"(\d+)B$", name).group(1))
    return Model(name, group="sft_5k", params_b=size, sft_size=5000,
                 sft_category="math-correct" if "correct" in name else "math-wrong")


def build_aime(path: Path, shared: Path, models: list[str] | None = None) -> Path:
    data = benchmarks.load("aime24", shared)
    by_text = {q.problem_norm: q.question_id for q in data.questions}
    by_answer = {int(q.answer): q.question_id for q in data.questions}

    def qid_of(r):
        return by_text.get(normalize_problem(r["question"])) or by_answer[int(r["gt"])]

    files = sorted((shared / AIME_DIR).glob("*.jsonl"))
    with db.writer(path) as con:
        benchmarks.install(con, data)
        for f in files:
            name = f.stem
            if models is not None and name not in models:
                continue
            ingest.upsert_model(con, aime_model(name))
            run_id = f"sky-{name}"
            ingest.upsert_run(con, Run(run_id, name, "aime24", "imported", source_file=str(f),
                                       samples_per_question=1))
            ingest.insert_trajectories(con, _trajectories(load_qwen_eval(f), run_id, "aime24", qid_of))
        stats.refresh_run_stats(con)
    return path


def aime_truth(shared: Path) -> dict[str, dict[str, bool]]:
    """{model: {question_id: correct}} straight from the skythought files (for hand computations)."""
    data = benchmarks.load("aime24", shared)
    by_text = {q.problem_norm: q.question_id for q in data.questions}
    by_answer = {int(q.answer): q.question_id for q in data.questions}
    out = {}
    for f in sorted((shared / AIME_DIR).glob("*.jsonl")):
        out[f.stem] = {by_text.get(normalize_problem(r["question"])) or by_answer[int(r["gt"])]: bool(r["score"][0])
                       for r in load_qwen_eval(f)}
    return out


_BUILT: dict[str, Path] = {}


def cached(name: str, shared: Path) -> Path:
    """A warehouse built once per test process ('maj8' or 'aime'); tests open it read-only."""
    if name not in _BUILT:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix=f"ladder-{name}-")) / "w.duckdb"
        _BUILT[name] = (build_maj8 if name == "maj8" else build_aime)(path, shared)
    return _BUILT[name]
