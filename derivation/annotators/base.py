"""The one interface every step-error annotator implements.

An annotator reads a batch of graded, segmented trajectories and returns, for each, step labels
(``StepAnnotation``), trajectory flags (``TrajectoryFlag``) and its verdict on the earliest wrong
step (``first_error``: a step index, or -1 for "no error", or None when it cannot tell).
Every annotator that predicts a first error also records it as a step label starting with
``first_error`` (``first_error`` or ``first_error:<type>``) so that the warehouse holds it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

from warehouse.records import StepAnnotation, TrajectoryFlag

ERROR_TYPES = ("calculation", "logic", "misreading", "wrong_strategy", "unjustified_claim", "incomplete")


@dataclass
class AnnotateInput:
    trajectory_id: int
    problem: str
    gold: str
    response: str
    steps: list[str]                          # the text of each step
    offsets: list[tuple[int, int]] = field(default_factory=list)   # (start_char, end_char) per step
    kinds: list[str] | None = None            # the segmenter's kind per step, when known
    finish_reason: str | None = None
    is_correct: bool | None = None            # the grade, when known
    extracted_answer: str | None = None
    answer_type: str = "math"


@dataclass
class AnnotationResult:
    trajectory_id: int
    annotations: list[StepAnnotation] = field(default_factory=list)
    flags: list[TrajectoryFlag] = field(default_factory=list)
    first_error: int | None = None            # earliest wrong step; -1 = none; None = cannot tell
    skipped: bool = False                     # not judged (a request that failed for good): nothing to write


class Annotator(ABC):
    name: str = "annotator"

    @abstractmethod
    def annotate(self, items: Sequence[AnnotateInput]) -> list[AnnotationResult]:
        """One result per input, in order."""

    def close(self) -> None:
        """Release models / backends."""
