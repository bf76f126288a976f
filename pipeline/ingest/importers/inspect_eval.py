"""`inspect`: Inspect AI evaluation logs (``.eval``, or the older ``.json``), read with ``inspect_ai.log``.

Each sample x epoch is one trajectory (``sample_idx = epoch - 1``). The header comes from
``read_eval_log(header_only=True)`` (model, task, generation config). A ``.eval`` log's samples are the
``samples/*.json`` members the archive holds (never the header's ``epochs`` or id list), read one at a
time with ``zipfile`` (bounded by the size each states, at most ``MAX_LINE_BYTES``) and validated as
Inspect's ``EvalSample`` (attachments resolved, events left out): a bad member costs only its sample. An
old ``.json`` log is read whole (``read_eval_log``), up to ``MAX_JSON_LOG_BYTES``.

- question: ``sample.id`` (matched against the benchmark's ids) and the problem text
  (``sample.input``: the string, or the text of its last user message); gold answer ``sample.target``
  (the first one when it is a list).
- response: the output's first choice (else the last assistant message). Its content parts are
  joined in order; reasoning stored apart from the text (``ContentReasoning``) becomes a
  ``<think>...</think>`` block in its place. Redacted reasoning is left out (a warning).
- verdict (``source_correct``): the value of the first scorer in ``sample.scores`` (or the one named by
  ``--columns scorer=NAME``): ``C``/``I``/``N`` (Inspect's CORRECT / INCORRECT / NOANSWER),
  true/false, yes/no, 1/0; partial credit or any other value leaves it unknown (a warning).
  ``Score.answer`` is the source's extracted answer (``source_pred``).
- ``finish_reason``: ``stop`` -> stop, ``max_tokens`` / ``model_length`` -> length; ``n_tokens``: the
  output's ``usage.output_tokens``.
- model: ``eval.model`` (e.g. ``vllm/Qwen/QwQ-32B``), unless ``--model``; run: temperature, top_p,
  max_tokens and seed from ``eval.model_generate_config``; ``runs.config`` keeps the task, its
  version and args, the dataset, the scorer used, the epochs and the whole generate config.

A sample that errored in Inspect, has no model output, is over the size limit, is not JSON or fails
``EvalSample`` validation is rejected (``FILE:N: sample ID epoch E: FIELD: ...``, N = the sample's
position in the archive, 1-based). A log whose status is not ``success`` is
imported with the samples it holds (a warning).
"""
from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

from .base import (_MIB, INT32_MAX, MAX_DEPTH, MAX_LINE_BYTES, ImportContext, _show, clean_text,
                   finite_number, json_depth)

NAME = "inspect"
DESCRIPTION = "Inspect AI evaluation logs (.eval, or .json), read with inspect_ai.log"
COLUMNS_HELP = "scorer=NAME"

_EXCLUDE = {"events", "events_data", "store", "timelines"}
_TRUE = {"c", "correct", "true", "yes", "1"}
_FALSE = {"i", "incorrect", "n", "noanswer", "false", "no", "0"}


def detect_zip(names: set[str]) -> bool:
    """`auto`: a zip archive holding these members is an ``.eval`` log (Inspect's own API reads it)."""
    return "header.json" in names or "_journal/start.json" in names


def detect_json(head: bytes) -> bool:
    """`auto`: a ``.json`` file whose first 64 KiB (an object) are these is a JSON log."""
    return b'"eval"' in head and b'"version"' in head


def files(path: Path) -> list[tuple[Path, str | None]]:
    if path.is_file():
        return [(path, None)]
    return [(f, None) for f in sorted(path.rglob("*.eval"))]


def verdict(value: Any) -> bool | None:
    """An Inspect score value as a verdict: None when it is not a yes/no (partial credit, a dict...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        v = value.strip().lower()
        return True if v in _TRUE else False if v in _FALSE else None
    return None


def _text(content: Any, ctx: ImportContext, line: int, fld: str) -> str:
    """A message's content as one string: text parts and reasoning parts (as <think> blocks) in order."""
    if isinstance(content, str):
        return content
    parts = []
    for c in content or []:
        kind = getattr(c, "type", None)
        if kind == "text":
            parts.append(c.text)
        elif kind == "reasoning":
            if getattr(c, "redacted", False):
                ctx.warn(line, fld, "redacted reasoning left out (only its summary, if any, is kept)")
                if c.summary:
                    parts.append(f"<think>\n{c.summary}\n</think>")
            else:
                parts.append(f"<think>\n{c.reasoning}\n</think>")
    return "\n\n".join(p for p in parts if p)


def _problem_text(inp: Any) -> str | None:
    if isinstance(inp, str):
        return inp
    users = [m for m in inp or [] if getattr(m, "role", None) == "user"]
    return users[-1].text if users else None


def _prompt(sample) -> Any:
    """The messages sent before the model's answer: one user message as its text, else [{role, content}]."""
    msgs = []
    for m in sample.messages or []:
        if m.role == "assistant":
            break
        msgs.append(m)
    if not msgs:
        return sample.input if isinstance(sample.input, str) else None
    if len(msgs) == 1 and msgs[0].role == "user":
        return msgs[0].text
    return [{"role": m.role, "content": m.text} for m in msgs]


def _response_message(sample):
    out = sample.output
    if out is not None and out.choices:
        return out.choices[0].message, out.choices[0].stop_reason
    for m in reversed(sample.messages or []):
        if m.role == "assistant":
            return m, None
    return None, None


_HEADER_ONLY_NOT_READ = ("samples/", "_journal/summaries/", "summaries.json")   # members a header read skips
MAX_JSON_LOG_BYTES = 16 * MAX_LINE_BYTES    # an old ``.json`` log is read whole (memory ~10x its size)


def _where(member: str) -> str:
    """``sample ID epoch E`` from a member name ``samples/{id}_epoch_{e}.json`` (read before the sample is)."""
    sid, sep, epoch = member[len("samples/"):-len(".json")].rpartition("_epoch_")
    return clean_text(f"sample {sid} epoch {epoch}" if sep else f"sample {member}")


def _invalid(exc: Exception) -> tuple[str, str]:
    """(field, message) of a sample that could not be read: the first pydantic error's location, else 'sample'."""
    from pydantic import ValidationError
    if isinstance(exc, ValidationError) and exc.errors():
        errs = exc.errors()
        locs = [e["loc"] for e in errs]       # a union's alternatives: one error each, under a common field
        common = next((locs[0][:k] for k in range(len(locs[0]), 0, -1) if all(x[:k] == locs[0][:k] for x in locs)),
                      locs[0])
        loc = clean_text(".".join(str(x) for x in common)) or "sample"
        more = f" (and {len(errs) - 1} more errors)" if len(errs) > 1 else ""
        return loc, f"{clean_text(errs[0]['msg'])[:200]} (got {_show(errs[0].get('input'))}){more}"
    if isinstance(exc, json.JSONDecodeError):
        return "sample", f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "sample", f"JSON nested over {MAX_DEPTH} levels deep"
    return "sample", f"unreadable ({type(exc).__name__}: {clean_text(str(exc))[:200]})"


def _read_member(z, info) -> Any:
    """One sample member as an ``EvalSample`` (Inspect's own model, attachments resolved): read with
    ``zipfile``, which never inflates past the size the archive declares (Inspect's reader would)."""
    from inspect_ai.log import EvalSample, resolve_sample_attachments
    data = json.loads(z.read(info))
    if isinstance(data, dict):
        if json_depth(data) > MAX_DEPTH:
            raise RecursionError
        for k in _EXCLUDE:
            data.pop(k, None)
    return resolve_sample_attachments(EvalSample.model_validate(data), True)


def _zip_samples(z, ctx: ImportContext) -> Iterator[tuple[int, Any]]:
    """(position, sample or None) for each ``samples/*.json`` member the archive holds, in archive order:
    the header's ``epochs`` and sample id list size nothing. A member over ``MAX_LINE_BYTES``
    uncompressed is an error without being read; one that is not JSON or fails Inspect's ``EvalSample``
    validation is an error naming its field (None: the others are still read)."""
    members = {i.filename: i for i in z.infolist()                  # a re-logged sample: the last one
               if i.filename.startswith("samples/") and i.filename.endswith(".json")}
    for n, info in enumerate(members.values(), 1):
        where = _where(info.filename)
        if info.file_size > MAX_LINE_BYTES:
            ctx.error(n, where, f"{clean_text(info.filename)} is {info.file_size / _MIB:.1f} MiB uncompressed, "
                      f"over the {MAX_LINE_BYTES / _MIB:.0f} MiB limit; skipped unread")
            yield n, None
            continue
        try:
            sample = _read_member(z, info)
        except OSError:
            raise
        except Exception as exc:
            fld, msg = _invalid(exc)
            ctx.error(n, f"{where}: {fld}", msg)
            sample = None
        yield n, sample


def _open(path: Path, ctx: ImportContext, stack) -> tuple[Any, Iterator[tuple[int, Any]]] | None:
    """The log's header (``read_eval_log(header_only=True)`` on the open archive, once the members it reads
    are checked for size) and its samples; None (an error) when it cannot be read. An old ``.json`` log
    is read whole (``read_eval_log``), so its size is bounded by ``MAX_JSON_LOG_BYTES``."""
    from inspect_ai.log import read_eval_log
    if not zipfile.is_zipfile(path):
        size = path.stat().st_size
        if size > MAX_JSON_LOG_BYTES:
            ctx.error(0, "file", f"a JSON log of {size / _MIB:.0f} MiB, over the {MAX_JSON_LOG_BYTES / _MIB:.0f} "
                      "MiB limit (it is read whole): convert it with `inspect log convert --to eval`")
            return None
        log = read_eval_log(str(path), resolve_attachments=True)
        return log, enumerate(log.samples or [], 1)
    z = stack.enter_context(zipfile.ZipFile(path))
    for info in z.infolist():
        if not info.filename.startswith(_HEADER_ONLY_NOT_READ) and info.file_size > MAX_LINE_BYTES:
            ctx.error(0, "file", f"{clean_text(info.filename)} is {info.file_size / _MIB:.1f} MiB uncompressed, "
                      f"over the {MAX_LINE_BYTES / _MIB:.0f} MiB limit; not read")
            return None
    with open(path, "rb") as f:
        return read_eval_log(f, header_only=True), _zip_samples(z, ctx)


def parse(path: Path, ctx: ImportContext) -> None:
    with contextlib.ExitStack() as stack:
        try:
            opened = _open(path, ctx, stack)
        except OSError:
            raise
        except Exception as exc:      # not a log, or one Inspect cannot read: the whole file
            ctx.error(0, "file", f"not a readable Inspect log ({type(exc).__name__}: {clean_text(str(exc))[:200]})")
            return
        if opened is None:
            return
        header, samples = opened
        spec = header.eval
        if header.status != "success":
            ctx.warn(0, "status", f"log status is {header.status!r}: the samples it holds are imported")
        ctx.default_model = ctx.default_model or clean_text(spec.model or "") or path.stem
        want_scorer = ctx.columns.get("scorer")
        scorer_used: str | None = None
        n = 0
        try:
            for n, sample in samples:
                ctx.n_lines += 1
                if sample is not None:
                    scorer_used = _one(ctx, n, sample, spec, want_scorer) or scorer_used
        except OSError:
            raise
        except Exception as exc:      # a damaged archive part-way: keep what was read
            ctx.error(n + 1, "file", f"Inspect could not read further samples ({type(exc).__name__}: "
                      f"{clean_text(str(exc))[:200]})")
    if n == 0:
        ctx.error(0, "file", "the log holds no samples")
    gc = spec.model_generate_config
    config = {"inspect_task": clean_text(spec.task), "inspect_task_version": spec.task_version,
              "inspect_task_args": spec.task_args or {}, "dataset": spec.dataset.name,
              "epochs": spec.config.epochs, "scorer": scorer_used,
              "generate_config": gc.model_dump(exclude_none=True) if gc is not None else {}}
    config = json.loads(json.dumps(config, default=str, ensure_ascii=False))
    temperature = finite_number(gc.temperature) if gc is not None else None
    top_p = finite_number(gc.top_p) if gc is not None else None
    max_tokens = gc.max_tokens if gc is not None else None
    if max_tokens is not None and not (isinstance(max_tokens, int) and 0 <= max_tokens <= INT32_MAX):
        ctx.warn(0, "max_tokens", f"expected an integer from 0 to {INT32_MAX}, got {_show(max_tokens)}; ignored")
        max_tokens = None
    seed = gc.seed if gc is not None and isinstance(gc.seed, int) and abs(gc.seed) <= INT32_MAX else None
    for run in ctx.runs.values():
        run.config = {**ctx.run_config, **config}
        run.temperature, run.top_p, run.max_tokens, run.seed = temperature, top_p, max_tokens, seed


def _one(ctx: ImportContext, n: int, sample, spec, want_scorer: str | None) -> str | None:
    """One sample x epoch -> a trajectory; returns the scorer whose value was used."""
    where = f"sample {clean_text(str(sample.id))} epoch {sample.epoch}"
    if sample.error is not None:
        ctx.error(n, where, f"errored in Inspect: {clean_text(str(sample.error.message))[:200]}")
        return None
    msg, stop = _response_message(sample)
    if msg is None:
        ctx.error(n, f"{where}: output", "no model output")
        return None
    target = sample.target
    if isinstance(target, list):
        target = target[0] if target else None
    problem = _problem_text(sample.input)
    qid = ctx.question(n, sample.id, problem, target)
    if qid is None:
        return None
    response = _text(msg.content, ctx, n, f"{where}: output")
    scorer, correct, pred = None, None, None
    scores = sample.scores or {}
    if want_scorer is not None and want_scorer not in scores and scores:
        ctx.warn(n, f"{where}: scores", f"no scorer {want_scorer!r} (has {', '.join(scores)}); verdict unknown")
    elif scores:
        scorer = want_scorer or next(iter(scores))
        s = scores[scorer]
        correct = verdict(s.value)
        if correct is None:
            ctx.warn(n, f"{where}: scores.{scorer}", f"value {_show(s.value)} is not correct/incorrect; "
                     "verdict left unknown")
        pred = s.answer
    usage = sample.output.usage if sample.output is not None else None
    finish = {"stop": "stop", "max_tokens": "length", "model_length": "length"}.get(stop or "")
    ctx.add(n, qid, sample.epoch - 1 if isinstance(sample.epoch, int) else sample.epoch, response,
            fld=f"{where}: output", model=clean_text(spec.model) if spec.model else None,
            prompt=_prompt(sample), n_tokens=usage.output_tokens if usage is not None else None,
            finish_reason=finish, source_correct=correct, source_pred=pred)
    return scorer
