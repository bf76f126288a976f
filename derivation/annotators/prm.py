"""``prm``: a process reward model in the Qwen2.5-Math-PRM convention.

The steps are joined with the ``<extra_0>`` separator (one after each step) inside the chat
template; the model's reward head gives two logits at every token, and the positive-class
probability at each separator token is that step's score. The first step scoring under
``threshold`` is the first error (-1 when none). Loading goes through transformers
(``AutoModel`` with ``trust_remote_code``, as the Qwen PRM ships its own head); no PRM weights
exist offline, so tests exercise the formatting and scoring logic on ProcessBench items.
"""
from __future__ import annotations

import math
from typing import Sequence

from warehouse.errors import ModelLoadError, UsageError
from warehouse.records import StepAnnotation

from .base import AnnotateInput, AnnotationResult, Annotator

NAME = "prm"
SEP = "<extra_0>"
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
DEFAULT_MODEL = "Qwen/Qwen2.5-Math-PRM-7B"


def format_messages(problem: str, steps: Sequence[str], system: str = SYSTEM) -> list[dict]:
    """Chat messages in the Qwen2.5-Math-PRM convention: every step followed by ``<extra_0>``."""
    body = "".join(s.strip().replace(SEP, "") + SEP for s in steps)
    return [{"role": "system", "content": system}, {"role": "user", "content": problem},
            {"role": "assistant", "content": body}]


def positive_probs(logits: Sequence[Sequence[float]], token_ids: Sequence[int], sep_id: int) -> list[float]:
    """Softmax positive-class probability at every separator token (one per step, in order).

    ``logits``: per token, [negative, positive] logits of the reward head.
    """
    out = []
    for tok, pair in zip(token_ids, logits):
        if tok == sep_id:
            neg, pos = float(pair[0]), float(pair[1])
            m = max(neg, pos)
            out.append(math.exp(pos - m) / (math.exp(neg - m) + math.exp(pos - m)))
    return out


def first_error(probs: Sequence[float], threshold: float = 0.5) -> int:
    """Index of the first step whose probability is under ``threshold``; -1 when none."""
    return next((i for i, p in enumerate(probs) if p < threshold), -1)


class PRMAnnotator(Annotator):
    name = NAME

    def __init__(self, model: str = DEFAULT_MODEL, threshold: float = 0.5, device: str | None = None,
                 backend: str = "transformers", max_steps: int = 200, **_: object) -> None:
        if backend not in ("transformers",):
            raise UsageError(f"prm: backend {backend!r} is not supported (use transformers)")
        self.model_name, self.threshold, self.device = model, threshold, device
        self.max_steps = max_steps
        self._model = self._tok = None

    def load(self, model=None, tokenizer=None) -> None:
        """Load the PRM (or take an already built model/tokenizer, e.g. a tiny test model)."""
        if model is not None:
            self._model, self._tok = model, tokenizer
            return
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._tok = AutoTokenizer.from_pretrained(self.model_name, trust_remote_code=True)
            self._model = AutoModel.from_pretrained(
                self.model_name, trust_remote_code=True,
                torch_dtype=torch.bfloat16 if device == "cuda" else torch.float32).to(device).eval()
        except (OSError, ImportError, ValueError) as exc:   # no such file or hub id, a missing library
            raise ModelLoadError(f"prm: cannot load {self.model_name}: {exc}") from exc

    def score(self, problem: str, steps: Sequence[str]) -> list[float]:
        """Positive-class probability per step."""
        import torch

        if self._model is None:
            self.load()
        steps = list(steps)[: self.max_steps]
        text = self._tok.apply_chat_template(format_messages(problem, steps), tokenize=False,
                                             add_generation_prompt=False)
        ids = self._tok(text, return_tensors="pt")["input_ids"].to(self._model.device)
        sep_id = self._tok.convert_tokens_to_ids(SEP)
        with torch.no_grad():
            out = self._model(input_ids=ids)
        logits = out[0] if isinstance(out, (tuple, list)) else getattr(out, "logits", out)
        return positive_probs(logits[0].float().tolist(), ids[0].tolist(), sep_id)

    def annotate(self, items: Sequence[AnnotateInput]) -> list[AnnotationResult]:
        results = []
        for it in items:
            probs = self.score(it.problem, it.steps)
            res = AnnotationResult(it.trajectory_id, first_error=first_error(probs, self.threshold))
            for i, p in enumerate(probs):
                res.annotations.append(StepAnnotation(it.trajectory_id, i, NAME, "prm_score", p))
            if res.first_error is not None and res.first_error >= 0:
                res.annotations.append(StepAnnotation(it.trajectory_id, res.first_error, NAME, "first_error",
                                                      probs[res.first_error], f"p < {self.threshold}"))
            results.append(res)
        return results

    def close(self) -> None:
        self._model = self._tok = None
