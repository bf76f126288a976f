"""The one interface every generation backend implements: a batch of prompts in, n completions each out."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence, Union

from warehouse.records import FinishReason

# A prompt is either plain text (sent as is) or chat messages ([{"role": ..., "content": ...}])
# to which the backend applies the model's chat template.
Prompt = Union[str, Sequence[dict]]


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int | None
    finish_reason: FinishReason | None
    error: str | None = None        # set when the request failed for good (server backends): nothing to store


class OptionError(ValueError):
    """A backend option that cannot work (a backend's ``check_options``): the key and why."""

    def __init__(self, key: str, msg: str) -> None:
        super().__init__(f"{key}: {msg}")
        self.key, self.msg = key, msg


class Backend(ABC):
    name: str = "backend"

    def __init__(self, model: str, **options) -> None:
        self.model = model
        self.options = options

    @abstractmethod
    def generate(self, prompts: Sequence[Prompt], params: SamplingParams,
                 seeds: Sequence[int] | None = None) -> list[list[Completion]]:
        """Return, for each prompt in order, ``params.n`` completions.

        ``seeds``: one seed per prompt (the generation stage gives every sample its own, so that
        resumed and sharded runs draw the same samples); None = seeds derived from ``params.seed``.
        A backend that cannot seed each prompt says how it uses them (transformers: the first).
        """

    def close(self) -> None:
        """Release the model (GPU memory, threads)."""
