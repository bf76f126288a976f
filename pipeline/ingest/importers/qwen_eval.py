"""`qwen-eval`: output of the Qwen2.5-Math / SkyThought evaluation harness, one question per line.

Fields: ``idx``, ``question``, ``gt`` (gold answer), ``code`` (list of the K responses), ``pred``
(list: the harness's extracted answers), ``score`` (list: its verdicts); optional ``solution``,
``level``, ``prompt``. ``idx`` is the row in the harness's own dataset, not the benchmark's id:
questions are matched on their text. The model name defaults to the file stem.
"""
from __future__ import annotations

from pathlib import Path

from .base import ImportContext, read_json_lines

NAME = "qwen-eval"
DESCRIPTION = "Qwen2.5-Math / SkyThought evaluation output (idx, question, gt, code[], pred[], score[])"


def detect_record(r: dict) -> bool:
    """`auto`: the first object of a JSON-lines file is one of ours."""
    return "code" in r and ("question" in r or "gt" in r)


def _list(ctx: ImportContext, line: int, r: dict, key: str, k: int) -> list | None:
    v = r.get(key)
    if v is None:
        return None
    if not isinstance(v, list):
        v = [v]
    if len(v) != k:
        ctx.warn(line, key, f"has {len(v)} entries for {k} responses; ignored")
        return None
    return v


def parse(path: Path, ctx: ImportContext) -> None:
    ctx.default_model = ctx.default_model or path.stem
    for line, r in read_json_lines(path, ctx.problems):
        ctx.n_lines += 1
        question = r.get("question", r.get("problem"))
        if not isinstance(question, str) or not question.strip():
            ctx.error(line, "question", "missing or not a string")
            continue
        code = r.get("code")
        if isinstance(code, str):
            code = [code]
        if not isinstance(code, list) or not code:
            ctx.error(line, "code", "missing or not a non-empty list of responses")
            continue
        gt = r.get("gt", r.get("answer"))
        idx, level = r.get("idx"), r.get("level")
        if isinstance(level, int) and not isinstance(level, bool):
            level = str(level)
        qid = ctx.question(line, None, question, gt, new_id=idx, solution=r.get("solution"), level=level)
        if qid is None:
            continue
        preds = _list(ctx, line, r, "pred", len(code))
        scores = _list(ctx, line, r, "score", len(code))
        for i, resp in enumerate(code):
            ctx.add(line, qid, i, resp, fld=f"code[{i}]", prompt=r.get("prompt"),
                    source_correct=scores[i] if scores else None,
                    source_pred=preds[i] if preds else None)
