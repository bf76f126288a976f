"""Typed records: the rows the pipeline produces and the warehouse stores.

Pipeline stages are plain functions over these dataclasses; ``warehouse.ingest`` writes them and
``Record.from_row`` reads them back. These dataclasses are the one Python declaration of the
tables' columns (``TABLE`` names each one's table in schema.sql; tests/test_records.py checks
that the two agree): whatever else needs the columns or their types (config validation, the
importers' checks) derives them from here (``columns()``, ``field_types()``).
"""
from __future__ import annotations

import hashlib
import json
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, Mapping, TypeVar

from warehouse.errors import UsageError

TIERS = ("Easy", "Medium", "Hard", "Exh")
TIER_RANK = {t: i for i, t in enumerate(TIERS)}      # a tier's place in TIERS; any other tier (or none): len(TIERS)


def tier_rank(tier: object) -> int:
    """A tier's place in the one tier order (``TIERS``), other tiers and none after them."""
    return TIER_RANK.get(tier, len(TIERS)) if isinstance(tier, str) else len(TIERS)

GradeReason = Literal["correct", "mismatch", "no_answer", "truncated"]
GRADE_REASONS: tuple[GradeReason, ...] = typing.get_args(GradeReason)
FinishReason = Literal["stop", "length"]       # None: unknown
FINISH_REASONS: tuple[FinishReason, ...] = typing.get_args(FinishReason)


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


R = TypeVar("R", bound="Record")


def _base_type(hint: Any) -> type:
    """The Python type a field holds when set: ``int | None`` -> int, ``dict[str, Any]`` -> dict,
    ``Literal['a', 'b']`` -> str."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return type(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return _base_type(next(a for a in typing.get_args(hint) if a is not type(None)))
    return origin or hint


class Record:
    """Mixin: the table's columns (``columns()``, ``field_types()``), a record as a row
    (``as_row()``) and back (``from_row()``)."""

    TABLE: ClassVar[str]

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

    @classmethod
    def field_types(cls) -> dict[str, type]:
        """Column -> the Python type its value has when not None (str, int, float, bool, dict)."""
        found = cls.__dict__.get("_field_types")
        if found is None:
            hints = typing.get_type_hints(cls)
            found = {c: _base_type(hints[c]) for c in cls.columns()}
            setattr(cls, "_field_types", found)
        return found

    @classmethod
    def nullable(cls) -> set[str]:
        """The columns that may be None."""
        hints = typing.get_type_hints(cls)
        return {c for c in cls.columns() if type(None) in typing.get_args(hints[c])}

    @classmethod
    def from_row(cls: type[R], row: Mapping[str, Any]) -> R:
        """The record of a table row (a mapping holding at least its columns; others are ignored);
        JSON columns (dict fields) are decoded, NULL as an empty dict."""
        kw = {c: row[c] for c in cls.columns()}
        for c, typ in cls.field_types().items():
            if typ is dict and not isinstance(kw[c], dict):
                kw[c] = json.loads(kw[c] or "{}")
        return cls(**kw)


@dataclass
class Benchmark(Record):
    TABLE: ClassVar[str] = "benchmarks"

    benchmark: str
    description: str | None = None
    answer_type: str = "math"            # 'integer' | 'math'
    source: str | None = None


@dataclass
class Question(Record):
    TABLE: ClassVar[str] = "questions"

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
    TABLE: ClassVar[str] = "question_tiers"

    benchmark: str
    question_id: str
    scheme: str
    tier: str
    detail: str | None = None


@dataclass
class ReferenceValue(Record):
    TABLE: ClassVar[str] = "reference_values"

    benchmark: str
    question_id: str
    source: str
    group: str
    metric: str
    value: float | None


INT32_MAX = 2**31 - 1      # DuckDB INTEGER
INT64_MAX = 2**63 - 1      # DuckDB BIGINT
# the numeric model columns: (smallest, largest), the range of their schema.sql column; sizes and
# steps are non-negative and params_b finite (a NaN or negative size breaks the Scaling page's fits)
MODEL_RANGES = {"params_b": (0.0, None), "sft_size": (0, INT64_MAX), "seed": (-INT32_MAX - 1, INT32_MAX),
                "train_step": (0, INT32_MAX)}
# the numeric model factors a scaling or migration view runs along, in the order lists show them
NUMERIC_FACTORS = ("sft_size", "train_step", "params_b")


def model_value(column: str, text: str) -> Any:
    """A models column's value from text (``--meta k=v``, ``models set``); raises ValueError naming
    the column when a numeric factor is not a number in its range."""
    if column not in MODEL_RANGES:
        return text
    conv = Model.field_types()[column]
    lo, hi = MODEL_RANGES[column]
    try:
        v = conv(text)
    except ValueError:
        raise UsageError(f"{column} must be {conv.__name__}, got {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo:g}" if hi is None else f"from {lo} to {hi}"
        raise UsageError(f"{column} must be a finite number {rng}, got {text!r}")
    return v


@dataclass
class Model(Record):
    TABLE: ClassVar[str] = "models"

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
    TABLE: ClassVar[str] = "runs"

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
    TABLE: ClassVar[str] = "trajectories"

    run_id: str
    benchmark: str
    question_id: str
    sample_idx: int
    response: str
    prompt: str | None = None
    n_tokens: int | None = None
    finish_reason: FinishReason | None = None      # None: unknown
    source_correct: bool | None = None
    source_pred: str | None = None

    @property
    def trajectory_id(self) -> int:
        return trajectory_key(self.run_id, self.question_id, self.sample_idx)


@dataclass
class Grade(Record):
    TABLE: ClassVar[str] = "grades"

    trajectory_id: int
    grader: str
    grader_version: str
    extracted_answer: str | None
    is_correct: bool
    reason: GradeReason


@dataclass
class Step(Record):
    TABLE: ClassVar[str] = "steps"

    trajectory_id: int
    step_idx: int
    start_char: int
    end_char: int
    kind: str | None = None


@dataclass
class StepAnnotation(Record):
    TABLE: ClassVar[str] = "step_annotations"

    trajectory_id: int
    step_idx: int
    annotator: str
    label: str
    score: float | None = None
    evidence: str | None = None


@dataclass
class TrajectoryFlag(Record):
    TABLE: ClassVar[str] = "trajectory_flags"

    trajectory_id: int
    annotator: str
    flag: str
    value: float | None = None
    detail: str | None = None


@dataclass
class StepAnswer(Record):
    """The candidate answer one step asserts (derivation/answer_timeline.py); only steps that assert one."""
    TABLE: ClassVar[str] = "step_answers"

    trajectory_id: int
    step_idx: int
    answer: str
    source: str                    # derivation.answer_timeline.SOURCES
    is_gold: bool | None = None    # None: no gold answer known
    changed: bool = False          # differs from the trajectory's previous candidate


@dataclass
class TrajectoryTimeline(Record):
    """Per-trajectory facts of the answer timeline (derivation/answer_timeline.py)."""
    TABLE: ClassVar[str] = "trajectory_timelines"

    trajectory_id: int
    version: str                   # derivation.answer_timeline.version()
    n_candidates: int
    answer_changes: int
    n_distinct: int
    first_gold_step: int | None = None
    last_gold_step: int | None = None
    first_gold_char: int | None = None
    last_gold_char: int | None = None



@dataclass
class TrajectoryEmbedding(Record):
    """One view of a trajectory as a vector (derivation/embed.py): 'final' | 'error' | 'answer' | 'combined'."""
    TABLE: ClassVar[str] = "trajectory_embeddings"

    trajectory_id: int
    view: str
    embedder: str
    version: str                   # derivation.embed.version()
    params: dict[str, Any] | None
    text: str | None
    vector: list[float]


@dataclass
class FailureClustering(Record):
    """The stored clustering of a benchmark's wrong trajectories (k = 0: too few to group)."""
    TABLE: ClassVar[str] = "failure_clusterings"

    benchmark: str
    version: str                   # derivation.embed.cluster_version()
    embed_version: str
    seed: int
    k: int
    silhouette: float | None
    n_trajectories: int
    scores: dict[str, Any] | None


@dataclass
class FailureCluster(Record):
    TABLE: ClassVar[str] = "failure_clusters"

    benchmark: str
    cluster_id: int
    label: str
    terms: list[str]
    size: int
    examples: list[int]


@dataclass
class ClusterAssignment(Record):
    TABLE: ClassVar[str] = "cluster_assignments"

    benchmark: str
    trajectory_id: int
    cluster_id: int
    distance: float | None = None

# --- what an annotation is: a verified finding or a judgement --------------------------------------
# The one classification of step labels and trajectory flags, used by the pages, the CLI and the
# agreement views. A *verified* finding is a fact anyone can re-check from the text: an arithmetic claim
# that evaluates otherwise, the gold answer reached or lost (graded), answer changes, truncation, a
# repetition loop. A *judgement* is an annotator's opinion (the rules first-error heuristic, the LLM
# judge, the PRM): shown with its annotator and score, never as an established error. Anything else
# (backtrack markers, strategy tags, counts) is a *marker*.
AnnotationKind = Literal["verified", "judgement", "marker"]
VERIFIED_LABELS = frozenset({"arithmetic_slip", "gold_reached", "gold_lost", "answer_changed"})
VERIFIED_FLAGS = frozenset({"found_then_lost", "answer_flip", "truncated", "repetition_loop"})
JUDGING_ANNOTATORS = frozenset({"judge", "prm"})      # every label of theirs is a judgement


def is_first_error(label: str) -> bool:
    """A predicted first error: the label ``first_error`` or ``first_error:<type>``."""
    return label == "first_error" or label.startswith("first_error:")


def annotation_kind(annotator: str, label: str) -> AnnotationKind:
    """Whether a step label (or trajectory flag) of ``annotator`` is a verified finding, a judgement
    or a marker. A first-error prediction is a judgement whoever made it; the rules' verified labels
    are facts; every label of an LLM judge or a PRM is a judgement."""
    if is_first_error(label):
        return "judgement"
    if annotator in JUDGING_ANNOTATORS:
        return "judgement"
    if label in VERIFIED_LABELS or label in VERIFIED_FLAGS:
        return "verified"
    return "marker"
