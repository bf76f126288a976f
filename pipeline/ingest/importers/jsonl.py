"""`jsonl`: the generic format, one trajectory per line (documented in docs/IMPORT.md).

Required: ``response`` (string) and ``question_id`` or ``problem``. Optional: ``model`` (else
``--model``, else the file stem), ``sample_idx`` (else numbered in file order per model and
question), ``prompt``, ``n_tokens``, ``finish_reason`` ('stop' | 'length'), ``correct`` (the
source's verdict), ``pred`` (the source's extracted answer), ``answer`` (gold; needed, with
``problem``, when the benchmark is created from the file).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .base import ImportContext, int_in_range, read_json_lines

NAME = "jsonl"
DESCRIPTION = "generic: one trajectory per line {model, question_id|problem, sample_idx, response, ...}"


def detect_record(r: dict) -> bool:
    """`auto`: the first object of a JSON-lines file is one of ours."""
    return "response" in r and isinstance(r["response"], str)


def parse(path: Path, ctx: ImportContext) -> None:
    ctx.default_model = ctx.default_model or path.stem
    next_idx: Counter = Counter()
    for line, r in read_json_lines(path, ctx.problems):
        ctx.n_lines += 1
        if "response" not in r:
            ctx.error(line, "response", "missing")
            continue
        model = r.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            ctx.error(line, "model", f"expected a non-empty string, got {model!r}")
            continue
        qid_in, problem = r.get("question_id"), r.get("problem")
        if qid_in is None and problem is None:
            ctx.error(line, "question_id", "missing: give question_id or problem")
            continue
        qid = ctx.question(line, qid_in, problem, r.get("answer"))   # checks their types
        if qid is None:
            continue
        key = (ctx.model or model, qid)
        idx = r.get("sample_idx")
        if idx is None:
            idx = next_idx[key]
        if int_in_range(idx):
            next_idx[key] = max(next_idx[key], idx + 1)
        ctx.add(line, qid, idx, r["response"], model=model, prompt=r.get("prompt"),
                n_tokens=r.get("n_tokens"), finish_reason=r.get("finish_reason"),
                source_correct=r.get("correct"), source_pred=r.get("pred"))
