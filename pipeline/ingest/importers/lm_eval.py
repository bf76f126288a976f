"""`lm-eval`: EleutherAI lm-evaluation-harness ``--log_samples`` output (the paper's own format).

Files are ``samples_<task>_<date>.jsonl``, one document per line: ``doc_id``, ``doc`` (the dataset
row), ``arguments`` (the prompt and generation settings), ``resps`` (one list per request holding
the K repeated responses, e.g. ``[[r1, ..., r8]]``), ``filtered_resps``, ``target`` and metric keys:
``exact_matches`` (one 0/1 per repeat) or ``exact_match`` (one value per repeat, or a mean).

A folder is searched recursively for ``samples_*.jsonl``. The model name comes from the folders
between the given folder and the file: ``<model>/<checkpoint>/samples_*.jsonl`` gives
``<model>@<checkpoint>`` (the paper's ``results/<model>/<checkpoint>/`` layout), one folder gives
``<model>``, a file directly inside gives the given folder's name, and a file named on its own gives
its parent folder's name. ``--model`` overrides all of them.
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import INT32_MAX, ImportContext, _show, clean_text, finite_number, read_json_lines

NAME = "lm-eval"
DESCRIPTION = "lm-evaluation-harness --log_samples files (samples_<task>_<date>.jsonl), or folders of them"


def detect_record(r: dict) -> bool:
    """`auto`: the first object of a JSON-lines file is one of ours."""
    return "doc" in r and "resps" in r

_FILE = re.compile(r"^samples_(?P<task>.+?)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl$")
_STEP = re.compile(r"(?:checkpoint|step|ckpt)[-_]?(\d+)$", re.I)
_TEXT_KEYS = ("problem", "question", "Problem", "Question", "input")
_ID_KEYS = ("id", "unique_id", "ID", "question_id")
_ANSWER_KEYS = ("answer", "Answer", "target")


def files(path: Path) -> list[tuple[Path, str]]:
    """The samples files under ``path`` with the model name each one implies."""
    if path.is_file():
        return [(path, path.resolve().parent.name)]
    out = []
    for f in sorted(path.rglob("samples_*.jsonl")):
        parts = f.relative_to(path).parent.parts
        if len(parts) >= 2:
            name = f"{parts[-2]}@{parts[-1]}"
        elif parts:
            name = parts[0]
        else:
            name = path.resolve().name
        out.append((f, name))
    return out


def task_of(path: Path) -> str | None:
    m = _FILE.match(path.name)
    return m.group("task") if m else None


def train_step(model_name: str) -> int | None:
    m = _STEP.search(model_name)
    return int(m.group(1)) if m else None


def _prompt_and_kwargs(arguments) -> tuple[str | None, dict]:
    """arguments is {'gen_args_0': {'arg_0': prompt, 'arg_1': kwargs}} (new) or [[prompt, kwargs]] (old)."""
    first = None
    if isinstance(arguments, dict) and arguments:
        first = next(iter(arguments.values()))
        if isinstance(first, dict):
            first = [first.get("arg_0"), first.get("arg_1")]
    elif isinstance(arguments, list) and arguments:
        first = arguments[0]
    if not isinstance(first, (list, tuple)) or not first:
        return None, {}
    prompt = first[0] if isinstance(first[0], str) else None
    kwargs = first[1] if len(first) > 1 and isinstance(first[1], dict) else {}
    return prompt, kwargs


def _verdicts(r: dict, k: int) -> list[bool | None]:
    for key in ("exact_matches", "exact_match"):
        v = r.get(key)
        if isinstance(v, list) and len(v) == k and all(isinstance(x, (int, float)) for x in v):
            return [bool(x >= 0.5) for x in v]
        if isinstance(v, (int, float)):
            if k == 1 or v in (0, 1):      # a mean of K repeats is per-sample only when 0 or 1
                return [bool(v >= 0.5)] * k
            return [None] * k
    return [None] * k


def _preds(r: dict, k: int) -> list[str | None]:
    fr = r.get("filtered_resps")
    if isinstance(fr, list) and len(fr) == 1 and isinstance(fr[0], list):
        fr = fr[0]
    if isinstance(fr, list) and len(fr) == k and all(isinstance(x, str) for x in fr):
        return list(fr)
    return [None] * k


def parse(path: Path, ctx: ImportContext) -> None:
    ctx.default_model = ctx.default_model or path.resolve().parent.name
    task = task_of(path)
    if task:
        ctx.run_config.setdefault("lm_eval_task", clean_text(task))
    step = train_step(ctx.model or ctx.default_model)
    if step is not None and step > INT32_MAX:
        ctx.warn(0, "train_step", f"{step} from the model name is over {INT32_MAX}; ignored")
        step = None
    kwargs_line = 0
    for line, r in read_json_lines(path, ctx.problems):
        ctx.n_lines += 1
        doc = r.get("doc")
        if not isinstance(doc, dict):
            ctx.error(line, "doc", "missing or not an object")
            continue
        resps = r.get("resps")
        if not isinstance(resps, list) or not resps:
            ctx.error(line, "resps", "missing or not a non-empty list")
            continue
        samples = resps[0] if isinstance(resps[0], list) else resps
        if not samples:
            ctx.error(line, "resps", "no responses")
            continue
        text = next((doc[k] for k in _TEXT_KEYS if isinstance(doc.get(k), str)), None)
        sid = next((doc[k] for k in _ID_KEYS if doc.get(k) is not None), None)
        answer = next((doc[k] for k in _ANSWER_KEYS if doc.get(k) is not None), r.get("target"))
        if sid is None and text is None:
            ctx.error(line, "doc", "has no id and no problem text to match a question")
            continue
        qid = ctx.question(line, sid, text, answer, new_id=sid if sid is not None else r.get("doc_id"),
                           solution=doc.get("solution") if isinstance(doc.get("solution"), str) else None)
        if qid is None:
            continue
        prompt, kwargs = _prompt_and_kwargs(r.get("arguments"))
        if kwargs and not kwargs_line:
            kwargs_line = line
            ctx.run_config.setdefault("gen_kwargs", kwargs)
        verdicts, preds = _verdicts(r, len(samples)), _preds(r, len(samples))
        for i, resp in enumerate(samples):
            ctx.add(line, qid, i, resp, fld=f"resps[0][{i}]", prompt=prompt,
                    source_correct=verdicts[i], source_pred=preds[i])
    gk = ctx.run_config.get("gen_kwargs") or {}
    temperature, top_p = _num(ctx, kwargs_line, gk, "temperature"), _num(ctx, kwargs_line, gk, "top_p")
    mt_key = "max_gen_toks" if "max_gen_toks" in gk else "max_tokens"
    max_tokens = _num(ctx, kwargs_line, gk, mt_key)
    if max_tokens is not None and not (max_tokens.is_integer() and 0 <= max_tokens <= INT32_MAX):
        ctx.warn(kwargs_line, mt_key, f"expected an integer from 0 to {INT32_MAX}, got {_show(gk[mt_key])}; ignored")
        max_tokens = None
    for run in ctx.runs.values():
        run.config = dict(ctx.run_config)
        run.temperature, run.top_p = temperature, top_p
        run.max_tokens = None if max_tokens is None else int(max_tokens)
    if step is not None:
        for m in ctx.models.values():
            m.train_step = m.train_step if m.train_step is not None else step


def _num(ctx: ImportContext, line: int, gen_kwargs: dict, key: str) -> float | None:
    """A generation setting as a finite float; a value that is not one is reported and ignored."""
    v = gen_kwargs.get(key)
    if v is None:
        return None
    f = finite_number(v)
    if f is None:
        ctx.warn(line, key, f"expected a finite number, got {_show(v)}; ignored")
    return f
