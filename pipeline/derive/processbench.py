"""ProcessBench: score an annotator's first-error predictions against human step labels.

``eval_annotator(name, labels_path)`` loads ProcessBench items (``load_processbench``), turns
them into annotator inputs (``processbench_inputs``: the steps as given, the grade from
``final_answer_correct``), runs the annotator and scores its ``first_error`` per item
(``processbench_scores``), with the agreement statistics the Step errors page shows for two
annotators (``analysis.agreement``: the labels as annotator A) and the same scores for the
trivial baseline (``middle_step_baseline``: the middle step when the final answer is wrong).
Used by ``python -m pipeline eval-annotator``; reads and writes no warehouse.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from analysis import agreement
from derivation import grade as grader
from derivation.annotators import AnnotateInput, get_annotator
from warehouse.errors import NotFound, UsageError


def load_processbench(path: str | os.PathLike, limit: int | None = None) -> list[dict]:
    """ProcessBench items (``steps``, ``label``, ``final_answer_correct``); clear errors on bad input."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"{p}: no such file") from None
    except OSError as exc:               # a folder, no permission
        raise UsageError(f"{p}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{p}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise UsageError(f"{p}: expected a JSON list of items")
    for k, item in enumerate(data):
        for fld, typ in (("steps", list), ("label", int), ("final_answer_correct", bool), ("problem", str)):
            if not isinstance(item.get(fld) if isinstance(item, dict) else None, typ):
                raise UsageError(f"{p}: item {k} (id {item.get('id') if isinstance(item, dict) else '?'}): "
                                 f"field {fld!r} missing or not {typ.__name__}")
        if not -1 <= item["label"] < len(item["steps"]):
            raise UsageError(f"{p}: item {k} (id {item.get('id')}): field 'label' {item['label']} "
                             f"is outside -1..{len(item['steps']) - 1}")
    return data[:limit] if limit is not None else data


def processbench_inputs(items: Sequence[dict]) -> list[AnnotateInput]:
    """AnnotateInputs for ProcessBench items: steps joined by blank lines, the grade from
    ``final_answer_correct`` (no gold answer is given)."""
    out = []
    for k, it in enumerate(items):
        steps = [str(s) for s in it["steps"]]
        text, offsets, pos = "", [], 0
        for s in steps:
            offsets.append((pos, pos + len(s)))
            text += s + "\n\n"
            pos += len(s) + 2
        out.append(AnnotateInput(trajectory_id=k, problem=it["problem"], gold="", response=text.rstrip(),
                                 steps=steps, offsets=offsets, finish_reason="stop",
                                 is_correct=bool(it["final_answer_correct"]),
                                 extracted_answer=grader.extract_answer(text)))
    return out


def processbench_scores(labels: Sequence[int], preds: Sequence[int | None]) -> dict:
    """ProcessBench: accuracy on erroneous samples (exact first-error index), on correct samples
    (predicts -1), and their harmonic mean. An unknown prediction (None) counts as wrong."""
    err = [(l, p) for l, p in zip(labels, preds) if l != -1]
    cor = [(l, p) for l, p in zip(labels, preds) if l == -1]
    error_acc = sum(p == l for l, p in err) / len(err) if err else 0.0
    correct_acc = sum(p == -1 for _, p in cor) / len(cor) if cor else 0.0
    f1 = 2 * error_acc * correct_acc / (error_acc + correct_acc) if error_acc + correct_acc else 0.0
    return {"n": len(labels), "error_acc": round(error_acc, 4), "correct_acc": round(correct_acc, 4),
            "f1": round(f1, 4)}


def middle_step_baseline(items: Sequence[dict]) -> list[int]:
    """The trivial first-error rule: -1 when the final answer is correct, else the middle step."""
    return [-1 if it["final_answer_correct"] else len(it["steps"]) // 2 for it in items]


def label_agreement(labels: Sequence[int], preds: Sequence[int | None]) -> dict:
    """``analysis.agreement.agreement`` of the labels (A) and the predictions (B) on the items the
    annotator could judge (``n_unknown``: predictions that were None)."""
    known = [(l, p) for l, p in zip(labels, preds) if p is not None]
    return {**agreement.agreement([l for l, _ in known], [p for _, p in known]),
            "n_unknown": len(labels) - len(known)}


def eval_annotator(annotator: str, labels_path, limit: int | None = None, **opts) -> dict:
    """{n, error_acc, correct_acc, f1, agreement: {...}, baseline: {n, error_acc, correct_acc, f1}}."""
    items = load_processbench(labels_path, limit)
    ann = get_annotator(annotator, **opts)
    try:
        results = ann.annotate(processbench_inputs(items))
    finally:
        ann.close()
    labels, preds = [it["label"] for it in items], [r.first_error for r in results]
    failed = sum(r.skipped for r in results)        # requests that failed for good: counted as unknown
    return {**processbench_scores(labels, preds), "agreement": label_agreement(labels, preds),
            "baseline": processbench_scores(labels, middle_step_baseline(items)),
            **({"failed": failed} if failed else {})}
