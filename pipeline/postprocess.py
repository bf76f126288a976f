"""What happens to every new trajectory, whichever way it arrived (import or generation).

``derive()`` is pure and CPU-parallel: grades, steps, step annotations and flags for a batch of
trajectories. ``store()`` writes them inside the caller's write transaction and refreshes the
per-(run, question) aggregates. Importers and the generator call both; nothing else writes
derived rows for new trajectories.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from warehouse import stats
from warehouse.records import Grade, Question, Step, StepAnnotation, Trajectory, TrajectoryFlag


@dataclass
class Derived:
    grades: list[Grade] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    annotations: list[StepAnnotation] = field(default_factory=list)
    flags: list[TrajectoryFlag] = field(default_factory=list)


def derive(trajectories: Sequence[Trajectory], questions: Mapping[tuple[str, str], Question],
           answer_types: Mapping[str, str], workers: int | None = None) -> Derived:
    """Grade, segment and rules-annotate trajectories (filled in by the grading issue)."""
    return Derived()


def store(con, trajectories: Sequence[Trajectory], derived: Derived) -> None:
    """Write derived rows for these trajectories and refresh their runs' aggregates."""
    stats.refresh_run_stats(con, sorted({t.run_id for t in trajectories}))
