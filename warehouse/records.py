"""Typed records: the rows the pipeline produces and the warehouse stores.

Pipeline stages are plain functions over these dataclasses; ``warehouse.ingest`` writes them.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any

TIERS = ("Easy", "Medium", "Hard", "Exh")


def trajectory_key(run_id: str, question_id: str, sample_idx: int) -> int:
    """Deterministic signed 64-bit id of a trajectory: the same sample always gets the same id."""
    h = hashlib.blake2b(f"{run_id}\x1f{question_id}\x1f{sample_idx}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big", signed=True)


_WS = re.compile(r"\s+")
_MATH_DELIMS = re.compile(r"[$\\{}]")


def normalize_problem(text: str) -> str:
    """Normalized problem text for matching imported records to a question table."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    t = _MATH_DELIMS.sub("", t)
    t = t.replace("dfrac", "frac").replace("tfrac", "frac")
    return _WS.sub(" ", t).strip()


class Record:
    """Mixin: ``as_row()`` in the column order of the table."""

    def as_row(self) -> dict[str, Any]:
        # a shallow dict: records are flat (dict fields are serialized by the writer), and
        # dataclasses.asdict's deep copy dominated bulk writes
        return {name: getattr(self, name) for name in self.columns()}

    @classmethod
    def columns(cls) -> list[str]:
        cols = cls.__dict__.get("_columns")
        if cols is None:
            cols = [f.name for f in fields(cls)]  # type: ignore[arg-type]
            setattr(cls, "_columns", cols)
        return cols


@dataclass
class Benchmark(Record):
    benchmark: str
    description: str | None = None
    answer_type: str = "math"            # 'integer' | 'math'
    source: str | None = None


@dataclass
class Question(Record):
    benchmark: str
    question_id: str
    problem: str
    answer: str
    solution: str | None = None
    category: str | None = None
    level: str | None = None
    year: int | None = None
    contest: str | None = None
    problem_number: int | None = None
    problem_norm: str = ""

    def __post_init__(self) -> None:
        if not self.problem_norm:
            self.problem_norm = normalize_problem(self.problem)


@dataclass
class Tier(Record):
    benchmark: str
    question_id: str
    scheme: str
    tier: str
    detail: str | None = None


@dataclass
class ReferenceValue(Record):
    benchmark: str
    question_id: str
    source: str
    group: str
    metric: str
    value: float | None


MODEL_FACTORS = ("params_b", "sft_size", "sft_category", "trajectory_length", "trajectory_style",
                 "seed", "train_step")
INT32_MAX = 2**31 - 1      # DuckDB INTEGER
INT64_MAX = 2**63 - 1      # DuckDB BIGINT
# the numeric model columns: (type, smallest, largest), the range of their schema.sql column; sizes and
# steps are non-negative and params_b finite (a NaN or negative size breaks the Scaling page's fits)
MODEL_NUMERIC = {"params_b": (float, 0.0, None), "sft_size": (int, 0, INT64_MAX),
                 "seed": (int, -INT32_MAX - 1, INT32_MAX), "train_step": (int, 0, INT32_MAX)}


def model_value(column: str, text: str) -> Any:
    """A models column's value from text (``--meta k=v``, ``models set``); raises ValueError naming
    the column when a numeric factor is not a number in its range."""
    if column not in MODEL_NUMERIC:
        return text
    conv, lo, hi = MODEL_NUMERIC[column]
    try:
        v = conv(text)
    except ValueError:
        raise ValueError(f"{column} must be {conv.__name__}, got {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo:g}" if hi is None else f"from {lo} to {hi}"
        raise ValueError(f"{column} must be a finite number {rng}, got {text!r}")
    return v


@dataclass
class Model(Record):
    model_id: str
    display_name: str | None = None
    family: str | None = None
    base_model: str | None = None
    params_b: float | None = None
    sft_size: int | None = None
    sft_category: str | None = None
    trajectory_length: str | None = None
    trajectory_style: str | None = None
    seed: int | None = None
    train_step: int | None = None
    group: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run(Record):
    run_id: str
    model_id: str
    benchmark: str
    source: str                           # 'generated' | 'imported'
    source_format: str | None = None
    source_file: str | None = None
    source_sha256: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    prompt_template: str | None = None
    samples_per_question: int | None = None
    tool_version: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trajectory(Record):
    run_id: str
    benchmark: str
    question_id: str
    sample_idx: int
    response: str
    prompt: str | None = None
    n_tokens: int | None = None
    finish_reason: str | None = None      # 'stop' | 'length' | None
    source_correct: bool | None = None
    source_pred: str | None = None

    @property
    def trajectory_id(self) -> int:
        return trajectory_key(self.run_id, self.question_id, self.sample_idx)


@dataclass
class Grade(Record):
    trajectory_id: int
    grader: str
    grader_version: str
    extracted_answer: str | None
    is_correct: bool
    reason: str                           # 'correct' | 'mismatch' | 'no_answer' | 'truncated'


@dataclass
class Step(Record):
    trajectory_id: int
    step_idx: int
    start_char: int
    end_char: int
    kind: str | None = None


@dataclass
class StepAnnotation(Record):
    trajectory_id: int
    step_idx: int
    annotator: str
    label: str
    score: float | None = None
    evidence: str | None = None


@dataclass
class TrajectoryFlag(Record):
    trajectory_id: int
    annotator: str
    flag: str
    value: float | None = None
    detail: str | None = None
