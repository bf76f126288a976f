"""`hf`: Hugging Face datasets of generations (parquet, Arrow or JSON lines), read with pyarrow (``tables.rows``).

Two layouts, told apart per row by the type of the responses column:
- one row per problem with aligned lists (OpenR1-Math-220k style): ``generations`` (list of K
  responses), ``correctness_math_verify`` (K verdicts), ``finish_reasons`` (K values) -> K
  trajectories, ``sample_idx`` = position in the list;
- one row per generation: the responses column holds a string; ``sample_idx`` from its column, else
  numbered in file order per (model, question).

Columns are found by role, the first present name of each list below; ``--columns
role=name,...`` names them instead (a role named there must exist in the file):

| role | default column names |
|---|---|
| ``id`` | uuid, question_id, unique_id, problem_id, id |
| ``problem`` | problem, question, query, input |
| ``answer`` | answer, gold, gt, ground_truth, target |
| ``responses`` | generations, responses, completions, outputs, generation, response, completion, output |
| ``correct`` | correctness_math_verify, correct, is_correct, correctness, scores, score |
| ``finish_reason`` | finish_reasons, finish_reason |
| ``pred`` | preds, pred, extracted_answers, extracted_answer |
| ``model`` | model, model_name, generator |
| ``sample_idx`` | sample_idx |
| ``n_tokens`` | n_tokens, num_tokens |

Lists that are not as long as the responses list are ignored (a warning). A Hub dataset
(``tables.iter_hub(name)``, where the Hub is reachable) is saved to parquet first and imported as a file.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from warehouse.errors import UsageError

from . import tables
from .base import ImportContext, _show, int_in_range, integral

NAME = "hf"
DESCRIPTION = ("Hugging Face datasets of generations (parquet/arrow/jsonl; OpenR1-Math-220k style or one row per "
               "generation)")

ROLES: dict[str, tuple[str, ...]] = {
    "id": ("uuid", "question_id", "unique_id", "problem_id", "id"),
    "problem": ("problem", "question", "query", "input"),
    "answer": ("answer", "gold", "gt", "ground_truth", "target"),
    "responses": ("generations", "responses", "completions", "outputs", "generation", "response", "completion",
                  "output"),
    "correct": ("correctness_math_verify", "correct", "is_correct", "correctness", "scores", "score"),
    "finish_reason": ("finish_reasons", "finish_reason"),
    "pred": ("preds", "pred", "extracted_answers", "extracted_answer"),
    "model": ("model", "model_name", "generator"),
    "sample_idx": ("sample_idx",),
    "n_tokens": ("n_tokens", "num_tokens"),
}
SUFFIXES = (".parquet", ".arrow", ".jsonl")
COLUMNS_HELP = f"which column holds each role ({', '.join(ROLES)})"
_LIST_KEYS = ("generations", "responses", "completions", "outputs")
_ONE_KEYS = ("generation", "completion", "output")


def detect_columns(cols: set[str]) -> bool:
    """`auto`: any parquet/Arrow file is read as a dataset (registered after the formats that claim some)."""
    return True


def detect_record(r: dict) -> bool:
    """`auto`: the first object of a JSON-lines file holds a responses list, or one response."""
    return any(isinstance(r.get(k), list) for k in _LIST_KEYS) or any(isinstance(r.get(k), str) for k in _ONE_KEYS)


def parse_columns(text: str | None) -> dict[str, str]:
    """``role=name,role=name`` -> {role: name}; UsageError naming the bad item (unknown role, no name)."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        role, sep, name = item.partition("=")
        role, name = role.strip(), name.strip()
        if not sep or not name:
            raise UsageError(f"--columns {item.strip()!r}: expected role=column")
        if role not in ROLES and role != "scorer":
            raise UsageError(f"--columns {role!r}: unknown role (roles: {', '.join(list(ROLES) + ['scorer'])})")
        out[role] = name
    return out


def files(path: Path) -> list[tuple[Path, str | None]]:
    if path.is_file():
        return [(path, None)]
    return [(f, None) for f in sorted(path.rglob("*")) if f.suffix in SUFFIXES and f.is_file()]


def _resolve(ctx: ImportContext, keys: set[str]) -> dict[str, str] | None:
    """role -> column for this file; None (reported) when a named column is missing or there is no response column."""
    cols = {}
    for role, names in ROLES.items():
        if role in ctx.columns:
            if ctx.columns[role] not in keys:
                ctx.error(1, ctx.columns[role], f"--columns {role}={ctx.columns[role]}: no such column "
                          f"(columns: {', '.join(sorted(keys))[:300]})")
                return None
            cols[role] = ctx.columns[role]
        else:
            found = next((n for n in names if n in keys), None)
            if found is not None:
                cols[role] = found
    if "responses" not in cols:
        ctx.error(1, "responses", f"no response column (looked for {', '.join(ROLES['responses'])}; "
                  "name it with --columns responses=NAME)")
        return None
    if "problem" not in cols and "id" not in cols:
        ctx.error(1, "problem", "no problem or id column (name one with --columns problem=NAME or id=NAME)")
        return None
    return cols


def _aligned(ctx: ImportContext, line: int, r: dict, col: str | None, k: int) -> list:
    v = r.get(col) if col else None
    if v is None:
        return [None] * k
    if not isinstance(v, list):
        return [v] * k if k == 1 else [None] * k
    if len(v) != k:
        ctx.warn(line, col, f"has {len(v)} entries for {k} responses; ignored")
        return [None] * k
    return v


def parse(path: Path, ctx: ImportContext) -> None:
    ctx.default_model = ctx.default_model or path.stem
    cols: dict[str, str] | None = None
    next_idx: Counter = Counter()
    for line, r in tables.rows(path, ctx.problems):
        ctx.n_lines += 1
        if cols is None:
            cols = _resolve(ctx, set(r))
            if cols is None:
                return
            ctx.run_config["hf_columns"] = dict(cols)
        _row(ctx, line, r, cols, next_idx)


def _row(ctx: ImportContext, line: int, r: dict, cols: dict[str, str], next_idx: Counter) -> None:
    g = cols.get
    resp = r.get(g("responses"))
    if resp is None:
        ctx.error(line, g("responses"), "missing")
        return
    if not isinstance(resp, (str, list)):
        ctx.error(line, g("responses"), f"expected a string or a list of strings, got {_show(resp)}")
        return
    if isinstance(resp, list) and not resp:
        ctx.error(line, g("responses"), "empty list of responses")
        return
    model = r.get(g("model")) if g("model") else None
    if model is not None and (not isinstance(model, str) or not model.strip()):
        ctx.error(line, g("model"), f"expected a non-empty string, got {_show(model)}")
        return
    sid = r.get(g("id")) if g("id") else None
    problem = r.get(g("problem")) if g("problem") else None
    if sid is None and problem is None:
        ctx.error(line, g("problem") or g("id"), "missing: the row has no problem text and no id")
        return
    qid = ctx.question(line, sid, problem, r.get(g("answer")) if g("answer") else None,
                       solution=r.get("solution") if isinstance(r.get("solution"), str) else None)
    if qid is None:
        return
    if isinstance(resp, str):          # one row per generation
        key = (ctx.model or model, qid)
        idx = integral(r.get(g("sample_idx"))) if g("sample_idx") else None
        if idx is None:
            idx = next_idx[key]
        if int_in_range(idx):
            next_idx[key] = max(next_idx[key], idx + 1)
        ctx.add(line, qid, idx, resp, fld=g("responses"), model=model, prompt=None,
                n_tokens=r.get(g("n_tokens")) if g("n_tokens") else None,
                finish_reason=_finish(r.get(g("finish_reason")) if g("finish_reason") else None),
                source_correct=_correct(r.get(g("correct")) if g("correct") else None),
                source_pred=r.get(g("pred")) if g("pred") else None)
        return
    k = len(resp)
    correct = _aligned(ctx, line, r, g("correct"), k)
    finish = _aligned(ctx, line, r, g("finish_reason"), k)
    preds = _aligned(ctx, line, r, g("pred"), k)
    ntok = _aligned(ctx, line, r, g("n_tokens"), k)
    for i, text in enumerate(resp):
        ctx.add(line, qid, i, text, fld=f"{g('responses')}[{i}]", model=model, n_tokens=ntok[i],
                finish_reason=_finish(finish[i]), source_correct=_correct(correct[i]), source_pred=preds[i])


def _finish(v: Any) -> Any:
    """OpenR1 writes 'stop' / 'length'; vLLM-style 'eos' and 'max_tokens' are the same thing."""
    return {"eos": "stop", "max_tokens": "length"}.get(v, v) if isinstance(v, str) else v


def _correct(v: Any) -> Any:
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    return v
