"""What happens to every new trajectory, whichever way it arrived (import or generation).

``derive()`` is pure and CPU-parallel: grades, steps, step annotations and flags for a batch of
trajectories. ``store()`` writes them inside the caller's write transaction and refreshes the
per-(run, question) aggregates. Importers and the generator call both; nothing else writes
derived rows for new trajectories.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from warehouse import db, ingest, stats
from warehouse.records import Grade, Question, Step, StepAnnotation, Trajectory, TrajectoryFlag

MIN_PARALLEL = 16        # below this many trajectories one process is faster than the (warm) pool


@dataclass
class Derived:
    grades: list[Grade] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    annotations: list[StepAnnotation] = field(default_factory=list)
    flags: list[TrajectoryFlag] = field(default_factory=list)

    def extend(self, other: "Derived") -> None:
        self.grades += other.grades
        self.steps += other.steps
        self.annotations += other.annotations
        self.flags += other.flags


def _derive_chunk(chunk: list[tuple]) -> Derived:
    """Grade, segment and rules-annotate (tid, response, finish_reason, gold, answer_type, problem) rows."""
    from pipeline import grade
    from pipeline.annotators.base import AnnotateInput
    from pipeline.annotators.rules import RulesAnnotator
    from pipeline.steps import split_steps

    out = Derived()
    rules = RulesAnnotator()
    for tid, response, finish, gold, atype, problem in chunk:
        spans = split_steps(response)
        out.steps += [Step(tid, i, s.start_char, s.end_char, s.kind) for i, s in enumerate(spans)]
        v = grade.grade_response(response, gold, atype, finish) if gold is not None else None
        if v is not None:
            out.grades.append(Grade(tid, grade.GRADER, grade.GRADER_VERSION, v.extracted, v.is_correct, v.reason))
        res = rules.annotate_one(AnnotateInput(
            trajectory_id=tid, problem=problem or "", gold=gold or "", response=response,
            steps=[response[s.start_char:s.end_char].strip() for s in spans],
            offsets=[(s.start_char, s.end_char) for s in spans], kinds=[s.kind for s in spans],
            finish_reason=finish, is_correct=v.is_correct if v else None,
            extracted_answer=v.extracted if v else None, answer_type=atype))
        out.annotations += res.annotations
        out.flags += res.flags
    return out


def derive(trajectories: Sequence[Trajectory], questions: Mapping[tuple[str, str], Question],
           answer_types: Mapping[str, str], workers: int | None = None) -> Derived:
    """Grade (``ladder`` grader), segment and rules-annotate trajectories, over processes when big.

    ``questions`` maps (benchmark, question_id) to the question (its gold answer); a trajectory
    without one gets steps and flags but no grade. ``answer_types`` maps benchmark -> 'integer'|'math'.
    """
    rows = []
    for t in trajectories:
        q = questions.get((t.benchmark, t.question_id))
        rows.append((t.trajectory_id, t.response, t.finish_reason, q.answer if q else None,
                     answer_types.get(t.benchmark, "math"), q.problem if q else ""))
    workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    if workers == 1 or len(rows) < MIN_PARALLEL:
        return _derive_chunk(rows)
    size = max(8, len(rows) // (workers * 4))
    chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
    out = Derived()
    for g, st, an, fl in _pool(workers).map(_derive_packed, chunks):
        out.grades += [Grade(*x) for x in g]
        out.steps += [Step(*x) for x in st]
        out.annotations += [StepAnnotation(*x) for x in an]
        out.flags += [TrajectoryFlag(*x) for x in fl]
    return out


def _derive_packed(chunk: list[tuple]) -> tuple[list, list, list, list]:
    """``_derive_chunk`` with plain tuples for the trip back (dataclasses pickle 4x slower)."""
    from dataclasses import astuple

    d = _derive_chunk(chunk)
    return ([astuple(x) for x in d.grades], [(s.trajectory_id, s.step_idx, s.start_char, s.end_char, s.kind)
                                              for s in d.steps],
            [astuple(x) for x in d.annotations], [astuple(x) for x in d.flags])


_POOLS: dict = {}


def _warm() -> None:
    """Pool initializer: import math-verify and its LaTeX parser once per worker, not per batch."""
    from pipeline import grade

    grade.answers_match("\\sqrt{2}", "\\frac{1}{2}")


def _pool(workers: int):
    """A process pool kept for the life of this process (imports and generation call derive per batch)."""
    if workers not in _POOLS:
        import atexit
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ex = ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver"), initializer=_warm)
        atexit.register(ex.shutdown, cancel_futures=True)
        _POOLS[workers] = ex
    return _POOLS[workers]


def store(con, trajectories: Sequence[Trajectory], derived: Derived) -> None:
    """Write derived rows for these trajectories and refresh their runs' aggregates.

    Call inside the caller's ``db.writer()`` transaction. Sets the active grader to ``ladder``
    when none is set yet.
    """
    from pipeline import grade

    ids = [t.trajectory_id for t in trajectories]
    if derived.grades:
        ingest.upsert_grades(con, derived.grades)
        if db.get_meta(con, "active_grader") is None:
            db.set_meta(con, "active_grader", grade.GRADER)
            db.set_meta(con, "active_grader_version", grade.GRADER_VERSION)
    if ids:
        ingest.replace_steps(con, ids, derived.steps)
        ingest.replace_annotations(con, "rules", ids, derived.annotations, derived.flags)
    stats.refresh_run_stats(con, sorted({t.run_id for t in trajectories}))
