"""Small real warehouses for the analysis tests, built from ../shared/data through the real import
path (``python -m pipeline import``, run in-process by ``pipeline.cli.main``).

- ``load_qwen_eval(path)``: rows of a Qwen2.5-Math-eval jsonl file (question, gt, code, pred, score lists).
- ``build_maj8(db, shared)``: benchmark ``math_cot_100`` created from
  traces/qwen25math-maj8/math_cot_100.jsonl (the 100 MATH problems as questions, ids = ``idx``), one model
  ``qwen25-math-7b`` (group ``base``, 7B) with 8 samples per question.
- ``build_aime(db, shared)``: aime24 (questions, paper tiers and Figure 1 reference values, installed by
  the import from the data dir) plus the 19 skythought models, one greedy sample per question each, with
  the metadata of ``aime_model`` (groups ``base``, ``sft_5k``, ``step_series``) given as ``--meta``.

Both warehouses make the harness's verdicts (``score``, ``pred``) the active outcomes: the import grades
every response with our grader, but the expected values the tests compare against are computed by hand
from the files' ``score`` lists (``aime_truth``, ``load_qwen_eval``), independent of our code, so the
fixtures activate a grader name with no grades (``SOURCE_GRADER``) and the ``outcomes`` view falls back
to the source verdicts (see warehouse/schema.sql). Our grader disagrees with the harness on 2 of these
1,370 samples (maj8 question 72 sample 7, Sky-T1-math-wrong-5K-14B on question 67).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pipeline.ingest import benchmarks
from pipeline.cli import main as cli
from warehouse import db, stats
from warehouse.records import Model, normalize_problem

MAJ8 = "traces/qwen25math-maj8/math_cot_100.jsonl"
AIME_DIR = "traces/skythought-aime24"
BASE = ("Qwen2.5-14B-Instruct", "Qwen2.5-Math-7B", "gemma-2-27b-it", "Llama-3.1-8B")
PARAMS = {"Qwen2.5-14B-Instruct": 14, "Qwen2.5-Math-7B": 7, "gemma-2-27b-it": 27, "Llama-3.1-8B": 8}
SOURCE_GRADER = "source"       # no grades carry this name: outcomes are the harness's verdicts
META_COLUMNS = ("group", "params_b", "sft_size", "train_step", "sft_category")


def load_qwen_eval(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _import(db_path: Path, shared: Path, path: Path, benchmark: str, *options: str) -> None:
    """``python -m pipeline import --format qwen-eval`` on one file, in this process."""
    argv = ["import", "--format", "qwen-eval", "--benchmark", benchmark, "--db", str(db_path),
            "--data-dir", str(shared), *options, str(path)]
    rc = cli(argv)
    if rc != 0:
        raise RuntimeError(f"import failed (status {rc}): {' '.join(argv)}")


def _use_source_verdicts(db_path: Path) -> None:
    """Make the harness's verdicts the active outcomes and recompute the per-question aggregates."""
    with db.writer(db_path) as con:
        db.set_meta(con, "active_grader", SOURCE_GRADER)
        db.set_meta(con, "active_grader_version", "-")
        stats.refresh_run_stats(con)


def meta_options(m: Model) -> list[str]:
    """The ``--meta KEY=VALUE`` options that give an imported model ``m``'s metadata."""
    out = []
    for k in META_COLUMNS:
        v = getattr(m, k)
        if v is not None:
            out += ["--meta", f"{k}={v}"]
    return out


def build_maj8(path: Path, shared: Path) -> Path:
    _import(path, shared, shared / MAJ8, "math_cot_100", "--model", "qwen25-math-7b",
            *meta_options(Model("qwen25-math-7b", group="base", params_b=7)))
    _use_source_verdicts(path)
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


def aime_run_id(f: Path) -> str:
    """The run id the import gives a skythought file (docs/IMPORT.md: model/benchmark/format/sha256[:12])."""
    return f"{f.stem}/aime24/qwen-eval/{hashlib.sha256(f.read_bytes()).hexdigest()[:12]}"


def build_aime(path: Path, shared: Path, models: list[str] | None = None) -> Path:
    for f in sorted((shared / AIME_DIR).glob("*.jsonl")):
        if models is None or f.stem in models:
            _import(path, shared, f, "aime24", *meta_options(aime_model(f.stem)))
    _use_source_verdicts(path)
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
