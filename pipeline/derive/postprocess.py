"""What happens to every new trajectory, whichever way it arrived (import or generation).

``derive()`` is pure and CPU-parallel: grades, steps, step annotations, flags and answer timelines for a batch of
trajectories, and the word triples the full-text index holds (``warehouse.textindex.triples``).
``store()`` writes them inside the caller's write transaction and refreshes the per-(run, question)
aggregates. Importers and the generator call both; nothing else writes
derived rows for new trajectories.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass, field
from typing import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from derivation import grade, pool
from derivation import answer_timeline
from derivation.annotators.base import AnnotateInput
from derivation.annotators.rules import RulesAnnotator
from derivation.steps import Segments, segment
from warehouse import db, ingest, stats, textindex
from warehouse import derived as derived_store
from warehouse import timeline_store
from warehouse.records import Grade, Question, StepAnnotation, Trajectory, TrajectoryFlag

MIN_PARALLEL = 16        # below this many trajectories one process is faster than the (warm) pool
DERIVE_TIMELINE = True   # the answer timeline (derivation/answer_timeline.py); bench/bench_import.py --timeline-cost
                         # switches it off in its own process to measure what the timeline adds


STEP_SCHEMA = derived_store.STEP_SCHEMA       # the steps columns, as Arrow types


def step_table(segmented: Sequence[tuple[int, Segments]]) -> pa.Table:
    """(trajectory_id, ``steps.segment()`` result) pairs as one Arrow table with the ``steps``
    columns (a long trajectory has ~400 steps: no per-step Python objects between the segmenter
    and the warehouse)."""
    tids, idx, starts, ends, kinds = [], [], [], [], []
    for tid, seg in segmented:
        n = len(seg.starts)
        tids += [tid] * n
        idx += range(n)
        starts += seg.starts
        ends += seg.ends
        kinds += seg.kinds
    return pa.table([tids, idx, starts, ends, kinds], schema=STEP_SCHEMA)


def timeline_tables(answer_rows: Sequence[tuple], timeline_rows: Sequence[tuple]) -> tuple[pa.Table, pa.Table]:
    """``derivation.answer_timeline.rows()`` tuples as the Arrow tables of ``step_answers`` and
    ``trajectory_timelines``."""
    def table(rows, schema):
        return pa.table([list(c) for c in zip(*rows)] if rows else [[] for _ in schema.names], schema=schema)
    return table(answer_rows, timeline_store.ANSWER_SCHEMA), table(timeline_rows, timeline_store.TIMELINE_SCHEMA)


@dataclass
class Derived:
    grades: list[Grade] = field(default_factory=list)
    steps: pa.Table = field(default_factory=STEP_SCHEMA.empty_table)
    annotations: list[StepAnnotation] = field(default_factory=list)
    flags: list[TrajectoryFlag] = field(default_factory=list)
    answers: pa.Table = field(default_factory=timeline_store.ANSWER_SCHEMA.empty_table)      # step_answers
    timelines: pa.Table = field(default_factory=timeline_store.TIMELINE_SCHEMA.empty_table)  # trajectory_timelines
    triples: dict[int, str] = field(default_factory=dict)  # trajectory id -> its word triples (textindex.triples)

    def only(self, ids: set[int]) -> "Derived":
        """The rows of these trajectories only."""
        keep = pa.array(sorted(ids), pa.int64())
        return Derived([g for g in self.grades if g.trajectory_id in ids],
                       self.steps.filter(pc.is_in(self.steps["trajectory_id"], keep)),
                       [a for a in self.annotations if a.trajectory_id in ids],
                       [f for f in self.flags if f.trajectory_id in ids],
                       self.answers.filter(pc.is_in(self.answers["trajectory_id"], keep)),
                       self.timelines.filter(pc.is_in(self.timelines["trajectory_id"], keep)),
                       {t: p for t, p in self.triples.items() if t in ids})


def _derive_chunk(chunk: list[tuple]) -> Derived:
    """Grade, segment, rules-annotate and derive the answer timeline of (tid, response, finish_reason,
    gold, answer_type, problem) rows, and cut the word triples the full-text index holds (here, in
    parallel, rather than in the process that writes the index)."""
    out = Derived()
    rules = RulesAnnotator()
    segmented = []
    answer_rows: list[tuple] = []
    timeline_rows: list[tuple] = []
    for tid, response, finish, gold, atype, problem in chunk:
        seg = segment(response)
        segmented.append((tid, seg))
        v = grade.grade_response(response, gold, atype, finish) if gold is not None else None
        if v is not None:
            out.grades.append(Grade(tid, grade.GRADER, grade.GRADER_VERSION, v.extracted, v.is_correct, v.reason))
        spans = list(zip(seg.starts, seg.ends))
        cands = None
        if DERIVE_TIMELINE:
            cands = answer_timeline.step_candidates(response, spans)    # the rules' timeline reuses them
            a_rows, t_row = answer_timeline.rows(tid, answer_timeline.timeline(
                response, spans, gold, atype, is_correct=v.is_correct if v else None,
                extracted=v.extracted if v else None, candidates=cands))
            answer_rows += a_rows
            timeline_rows.append(t_row)
        res = rules.annotate_one(AnnotateInput(
            trajectory_id=tid, problem=problem or "", gold=gold or "", response=response,
            steps=[response[a:b].strip() for a, b in spans],
            offsets=spans, kinds=seg.kinds,
            finish_reason=finish, is_correct=v.is_correct if v else None,
            extracted_answer=v.extracted if v else None, answer_type=atype), candidates=cands)
        out.annotations += res.annotations
        out.flags += res.flags
        out.triples[tid] = textindex.triples(response)
    out.steps = step_table(segmented)
    out.answers, out.timelines = timeline_tables(answer_rows, timeline_rows)
    return out


def derive(trajectories: Sequence[Trajectory], questions: Mapping[tuple[str, str], Question],
           answer_types: Mapping[str, str], workers: int | None = None) -> Derived:
    """Grade (``ladder`` grader), segment, rules-annotate and derive the answer timeline
    (``derivation.answer_timeline``) of trajectories, over processes when big.

    ``questions`` maps (benchmark, question_id) to the question (its gold answer); a trajectory
    without one gets steps and flags but no grade. ``answer_types`` maps benchmark -> 'integer'|'math'.
    """
    return derive_submit(trajectories, questions, answer_types, workers).result()


class Pending:
    """Derived rows being computed by the worker pool; ``result()`` waits for them."""

    def __init__(self, futures=None, done: Derived | None = None) -> None:
        self._futures, self._done = futures, done

    def result(self) -> Derived:
        if self._done is None:
            out = Derived()
            tables, answers, timelines = [], [], []
            for fut in self._futures:
                g, st, an, fl, sa, tl, cut = fut.result()
                out.triples.update(cut)
                out.grades += [Grade(*x) for x in g]
                tables.append(st)
                out.annotations += [StepAnnotation(*x) for x in an]
                out.flags += [TrajectoryFlag(*x) for x in fl]
                answers.append(sa)
                timelines.append(tl)
            out.steps = pa.concat_tables(tables)
            out.answers, out.timelines = pa.concat_tables(answers), pa.concat_tables(timelines)
            self._done, self._futures = out, None
        return self._done


PRESTART_BYTES = 1 << 20   # an import of at least this much input starts the pool before parsing its first file


def prestart(workers: int | None = None) -> None:
    """Start the worker pool (the forkserver's imports, each worker's math-verify warm-up) now, in
    the background, so that it overlaps whatever the caller does next (parsing the first file)
    instead of delaying the first ``derive_submit``. Does nothing with one worker."""
    workers = pool.workers_for(workers)
    if workers > 1:
        ex = pool.worker_pool(workers, grade.warm_worker)
        for _ in range(workers):
            ex.submit(int)      # a no-op: each submit starts a worker while fewer than ``workers`` run


def derive_submit(trajectories: Sequence[Trajectory], questions: Mapping[tuple[str, str], Question],
                  answer_types: Mapping[str, str], workers: int | None = None) -> Pending:
    """``derive`` without waiting: the pool works on these while the caller does something else
    (the importer writes the previous file). Small batches are derived at once, in this process."""
    rows = []
    for t in trajectories:
        q = questions.get((t.benchmark, t.question_id))
        rows.append((t.trajectory_id, t.response, t.finish_reason, q.answer if q else None,
                     answer_types.get(t.benchmark, "math"), q.problem if q else ""))
    workers = pool.workers_for(workers)
    if workers == 1 or len(rows) < MIN_PARALLEL:
        return Pending(done=_derive_chunk(rows))
    size = max(8, len(rows) // (workers * 4))
    ex = pool.worker_pool(workers, grade.warm_worker)      # the pool grade.grade_many uses too
    return Pending([ex.submit(_derive_packed, rows[i:i + size]) for i in range(0, len(rows), size)])


def _derive_packed(chunk: list[tuple]) -> tuple[list, pa.Table, list, list, pa.Table, pa.Table, dict]:
    """``_derive_chunk`` with plain tuples for the trip back (dataclasses pickle 4x slower); the
    steps and the timeline travel as their Arrow tables (buffers, not objects)."""
    d = _derive_chunk(chunk)
    return ([astuple(x) for x in d.grades], d.steps, [astuple(x) for x in d.annotations],
            [astuple(x) for x in d.flags], d.answers, d.timelines, d.triples)


def store(con, trajectories: Sequence[Trajectory], derived: Derived, fresh: bool = False) -> None:
    """Write derived rows for these trajectories and refresh their runs' aggregates.

    Call inside the caller's ``db.writer()`` transaction. Sets the active grader to ``ladder``
    when none is set yet. ``fresh``: every one of these trajectories was inserted by this
    transaction, so none has derived rows yet and nothing needs replacing (no delete scans
    over tables that grow with the warehouse: steps has ~100 rows per trajectory).
    """
    ids = [t.trajectory_id for t in trajectories]
    clear = [] if fresh else ids
    if derived.grades:
        if fresh:
            ingest.insert_grades(con, derived.grades)
        else:
            ingest.upsert_grades(con, derived.grades)
        if db.get_meta(con, "active_grader") is None:
            db.set_meta(con, "active_grader", grade.GRADER)
            db.set_meta(con, "active_grader_version", grade.GRADER_VERSION)
    if ids:
        ingest.replace_steps(con, clear, derived.steps)
        ingest.replace_annotations(con, "rules", clear, derived.annotations, derived.flags)
        ingest.replace_timelines(con, clear, derived.answers, derived.timelines)
    stats.refresh_run_stats(con, sorted({t.run_id for t in trajectories}))
