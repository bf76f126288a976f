"""`lighteval`: Hugging Face lighteval ``--save-details`` parquet files, read with pyarrow (``tables.rows``).

Files are ``{output_dir}/details/{model_name}/{timestamp}/details_{task}_{timestamp}.parquet``, one
row per document. Two column layouts (from lighteval's source and docs):

- lighteval >= 0.10 (``logging/info_loggers.py``: ``Detail(doc, model_response, metric)``), three
  struct columns: ``doc`` (``tasks.requests.Doc``: ``query``, ``choices``, ``gold_index``, ``id``,
  ``original_query``, ``specific``, ``task_name``, ...), ``model_response``
  (``models.model_output.ModelResponse``: ``input``, ``text`` (the K generations),
  ``text_post_processed``, ``reasonings`` (K, or empty), ``output_tokens``, ``logprobs``, ...) and
  ``metric`` (metric name -> value for the document).
- older lighteval, flat columns: ``example``, ``instruction``, ``full_prompt``, ``predictions`` (the
  generations), ``gold`` (list), ``choices``, ``gold_index``, ``metrics`` (dict), ``specifics``,
  ``num_effective_few_shots``, ``cont_tokens``, ...

Mapping: the gold answer is ``choices[gold_index]`` (else ``gold[0]``); the problem text is
``original_query`` (else ``query`` / ``example``). lighteval's ``doc.id`` is its own row number, so
questions of a known benchmark are matched on text: the normalized text itself, else the one
benchmark problem contained in the (prompt-templated) query; ids name new questions only when the
benchmark is created from the file. Reasoning kept apart (``reasonings[i]``) joins the response as a
``<think>`` block before the text. The verdict: the metric named by ``--columns correct=NAME``, else
the first of ``extractive_match``, ``math_pass@1:1_samples``, ``pass@1``, ``qem``, ``em``,
``exact_match``, ``acc``; lighteval scores a document, not a generation, so its value is every
generation's verdict only when it is 0 or 1 (a mean such as 0.375 over K generations leaves them
unknown). The task (from the file name) is kept in ``runs.config.lighteval_task``; the model name
comes from the folders between ``details/`` and the timestamp folder (``org/model``), else the
folder above the file's folder.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from warehouse.records import normalize_problem

from . import tables
from .base import ImportContext, _show, clean_text, finite_number

NAME = "lighteval"
DESCRIPTION = "lighteval --save-details parquet files (details_<task>_<timestamp>.parquet), or folders of them"
COLUMNS_HELP = "correct=METRIC"

METRICS = ("extractive_match", "math_pass@1:1_samples", "pass@1", "qem", "em", "exact_match", "acc")
_FILE = re.compile(r"^details_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.parquet$")


def detect_columns(cols: set[str]) -> bool:
    """`auto`: a parquet/Arrow file with these column names is a details file (either layout)."""
    return {"doc", "model_response"} <= cols or {"predictions", "metrics"} <= cols and \
        bool({"example", "full_prompt", "gold"} & cols)


def detect_record(r: dict) -> bool:
    """`auto`: the first object of a JSON-lines file is one of ours."""
    return {"doc", "model_response"} <= set(r)


def files(path: Path) -> list[tuple[Path, str | None]]:
    if path.is_file():
        return [(path, model_of(path))]
    return [(f, model_of(f)) for f in sorted(path.rglob("details_*.parquet")) if f.is_file()]


def model_of(path: Path) -> str:
    parts = path.resolve().parts
    if "details" in parts[:-2]:
        i = len(parts) - 1 - parts[::-1].index("details")
        name = "/".join(parts[i + 1:-2])
        if name:
            return name
    return path.resolve().parent.parent.name or path.stem


def task_of(path: Path) -> str | None:
    m = _FILE.match(path.name)
    return m.group("task") if m else None


class _Contained:
    """The benchmark's one problem whose normalized text lies inside a normalized query (None when 0 or 2+)."""

    def __init__(self, ctx: ImportContext) -> None:
        self.items = [(q.problem_norm or normalize_problem(q.problem), qid) for qid, q in ctx.index.by_id.items()]

    def find(self, text: str) -> str | None:
        norm = normalize_problem(text)
        hits = {qid for p, qid in self.items if p and p in norm}
        return next(iter(hits)) if len(hits) == 1 else None


def _as_dict(v: Any) -> dict:
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return {}
        return v if isinstance(v, dict) else {}
    return {}


def _row_fields(r: dict) -> dict:
    """The fields of one row, whichever layout it has."""
    if "doc" in r and "model_response" in r:
        doc, mr = _as_dict(r["doc"]), _as_dict(r["model_response"])
        gold = None
        choices, gi = doc.get("choices"), doc.get("gold_index")
        if isinstance(gi, list):
            gi = gi[0] if gi else None
        if isinstance(choices, list) and isinstance(gi, int) and 0 <= gi < len(choices):
            gold = choices[gi]
        return {"text": doc.get("original_query") or doc.get("query"), "id": doc.get("id") or None,
                "gold": gold, "responses": mr.get("text"), "reasonings": mr.get("reasonings") or [],
                "prompt": mr.get("input") or doc.get("full_prompt"), "tokens": mr.get("output_tokens") or [],
                "metrics": _as_dict(r.get("metric")), "where": ("doc", "model_response.text", "metric")}
    gold = r.get("gold")
    choices, gi = r.get("choices"), r.get("gold_index")
    if isinstance(gi, list):
        gi = gi[0] if gi else None
    if isinstance(choices, list) and choices and isinstance(gi, int) and 0 <= gi < len(choices):
        gold = choices[gi]
    elif isinstance(gold, list):
        gold = gold[0] if gold else None
    preds = r.get("predictions")
    return {"text": r.get("example"), "id": None, "gold": gold, "responses": preds, "reasonings": [],
            "prompt": r.get("full_prompt"), "tokens": r.get("cont_tokens") or [],
            "metrics": _as_dict(r.get("metrics")), "where": ("example", "predictions", "metrics")}


def parse(path: Path, ctx: ImportContext) -> None:
    ctx.default_model = ctx.default_model or model_of(path)
    task = task_of(path)
    if task:
        ctx.run_config.setdefault("lighteval_task", clean_text(task))
    contained = None if ctx.creating else _Contained(ctx)
    want = ctx.columns.get("correct")
    used: str | None = None
    for line, r in tables.rows(path, ctx.problems):
        ctx.n_lines += 1
        if not ({"doc", "model_response"} <= set(r) or "predictions" in r):
            ctx.error(line, "row", "neither the doc/model_response columns (lighteval >= 0.10) nor "
                      "predictions (older lighteval)")
            return
        f = _row_fields(r)
        doc_f, resp_f, metric_f = f["where"]
        text, responses = f["text"], f["responses"]
        if isinstance(responses, str):
            responses = [responses]
        if not isinstance(responses, list) or not responses:
            ctx.error(line, resp_f, f"missing or not a non-empty list of generations, got {_show(responses)}")
            continue
        if not isinstance(text, str) or not text.strip():
            ctx.error(line, doc_f, "no query text to match a question")
            continue
        if ctx.creating:
            qid = ctx.question(line, None, text, f["gold"], new_id=f["id"])
        else:
            sid = ctx.index.match(None, text) or contained.find(text)
            if sid is None:
                ctx.error(line, "question", f"no question of benchmark {ctx.benchmark!r} matches this "
                          "row's query (nor is exactly one of its problems contained in it)")
                ctx.unmatched += 1
                continue
            qid = ctx.question(line, sid, None, f["gold"])
        if qid is None:
            continue
        metric = want if want is not None else next((m for m in METRICS if m in f["metrics"]), None)
        if want is not None and want not in f["metrics"]:
            ctx.warn(line, metric_f, f"no metric {want!r} (has {', '.join(map(str, f['metrics']))}); verdict unknown")
        used = metric if metric in f["metrics"] else used
        value = finite_number(f["metrics"].get(metric)) if metric else None
        verdict = None if value not in (0.0, 1.0) else value == 1.0
        k = len(responses)
        reasonings = f["reasonings"] if isinstance(f["reasonings"], list) and len(f["reasonings"]) == k else [None] * k
        tokens = f["tokens"] if isinstance(f["tokens"], list) and len(f["tokens"]) == k else [None] * k
        for i, resp in enumerate(responses):
            if isinstance(resp, str) and isinstance(reasonings[i], str) and reasonings[i].strip():
                resp = f"<think>\n{reasonings[i]}\n</think>\n\n{resp}"
            ntok = len(tokens[i]) if isinstance(tokens[i], list) and tokens[i] else None
            ctx.add(line, qid, i, resp, fld=f"{resp_f}[{i}]", prompt=f["prompt"], n_tokens=ntok,
                    source_correct=verdict)
    if used:
        ctx.run_config["lighteval_metric"] = used
    for run in ctx.runs.values():
        run.config = dict(ctx.run_config)
