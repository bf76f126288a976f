"""Idempotent writes of typed records. Call inside ``warehouse.db.writer()``: one transaction.

Every function keys on the table's natural key, so writing the same records twice changes
nothing. Bulk rows travel as columnar Arrow tables built straight from the records.
"""
from __future__ import annotations

import json
import re
from typing import Iterable, Sequence

import duckdb
import pyarrow as pa

from .records import (Benchmark, Grade, Model, Question, ReferenceValue, Run, Step, StepAnnotation,
                      StepAnswer, Tier, Trajectory, TrajectoryFlag, TrajectoryTimeline)

_ARROW_TYPES = {
    "trajectory_id": pa.int64(), "sample_idx": pa.int32(), "n_tokens": pa.int32(),
    "step_idx": pa.int32(), "start_char": pa.int32(), "end_char": pa.int32(),
    "score": pa.float64(), "value": pa.float64(), "is_correct": pa.bool_(),
    "source_correct": pa.bool_(), "year": pa.int32(), "problem_number": pa.int32(),
}


def _table(records: Sequence | pa.Table, columns: Sequence[str]) -> pa.Table:
    """Records to one columnar Arrow table: no per-row dicts (a long trajectory has ~400 steps).
    An Arrow table passes through (its ``columns``)."""
    if isinstance(records, pa.Table):
        return records.select(list(columns))
    return pa.table({c: pa.array([getattr(r, c) for r in records], _ARROW_TYPES.get(c, pa.string()))
                     for c in columns})


def _quote(cols: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def _insert(con: duckdb.DuckDBPyConnection, table: str, records: Sequence, columns: Sequence[str],
            conflict: str | None = "DO NOTHING", computed: dict[str, str] | None = None,
            new_only: str | None = None) -> int:
    """Bulk insert of the records' ``columns`` plus ``computed`` columns (name -> SQL expression
    over them); returns the number of rows inserted or updated. ``conflict=None``: a plain insert
    (the big tables have no index to conflict on: see schema.sql); ``new_only=COLUMN``: only the
    rows whose COLUMN value the table does not hold yet (an anti-join)."""
    if (records.num_rows if isinstance(records, pa.Table) else len(records)) == 0:
        return 0
    computed = computed or {}
    con.register("_ingest_batch", _table(records, columns))
    try:
        target = _quote([*columns, *computed])
        select = ", ".join([_quote(columns), *computed.values()])
        tail = f" WHERE {new_only} NOT IN (SELECT {new_only} FROM {table})" if new_only else ""
        tail += f" ON CONFLICT {conflict}" if conflict else ""
        res = con.execute(f"INSERT INTO {table} ({target}) SELECT {select} FROM _ingest_batch{tail}").fetchall()
        return int(res[0][0]) if res else 0
    finally:
        con.unregister("_ingest_batch")


def _update_all(columns: Sequence[str], keys: Sequence[str], keep_existing: bool = False) -> str:
    sets = []
    for c in columns:
        if c in keys:
            continue
        sets.append(f'"{c}" = coalesce(excluded."{c}", "{c}")' if keep_existing else f'"{c}" = excluded."{c}"')
    return f"({_quote(keys)}) DO UPDATE SET " + ", ".join(sets)


_SIZE = re.compile(r"\d+(?:\.\d+)?\s*[KMGT]?i?B", re.I)


def set_checkpoint_threshold(con, size: str) -> None:
    """How much WAL this connection lets grow before DuckDB checkpoints (e.g. ``"256MB"``): a bulk
    writer holding its connection across transactions sets it high (see ``ImportSession.HOLD_S``)."""
    if not _SIZE.fullmatch(size):          # SET takes no parameters: only a size is formatted in
        raise ValueError(f"checkpoint threshold {size!r}: expected a size such as '256MB'")
    con.execute(f"SET checkpoint_threshold = '{size}'")


def upsert_benchmark(con, b: Benchmark) -> None:
    con.execute("INSERT INTO benchmarks (benchmark, description, answer_type, source) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (benchmark) DO UPDATE SET description = coalesce(excluded.description, description), "
                "answer_type = excluded.answer_type, source = coalesce(excluded.source, source)",
                [b.benchmark, b.description, b.answer_type, b.source])


def upsert_questions(con, questions: Sequence[Question]) -> int:
    cols = Question.columns()
    return _insert(con, "questions", questions, cols,
                   _update_all(cols, ["benchmark", "question_id"], keep_existing=True))


def upsert_tiers(con, tiers: Sequence[Tier]) -> int:
    cols = Tier.columns()
    return _insert(con, "question_tiers", tiers, cols,
                   _update_all(cols, ["benchmark", "question_id", "scheme"]))


def replace_tier_scheme(con, benchmark: str, scheme: str, tiers: Sequence[Tier]) -> int:
    con.execute("DELETE FROM question_tiers WHERE benchmark = ? AND scheme = ?", [benchmark, scheme])
    return upsert_tiers(con, tiers)


def upsert_reference_values(con, values: Sequence[ReferenceValue]) -> int:
    cols = ReferenceValue.columns()
    return _insert(con, "reference_values", values, cols,
                   _update_all(cols, ["benchmark", "question_id", "source", "group", "metric"]))


def upsert_model(con, m: Model) -> None:
    """Insert a model, or fill in / update the fields this record sets (None keeps the old value)."""
    row = m.as_row()
    row["meta"] = json.dumps(m.meta or {}, sort_keys=True)
    cols = Model.columns()
    sets = ", ".join(f'"{c}" = coalesce(excluded."{c}", models."{c}")' for c in cols
                     if c not in ("model_id", "meta"))
    con.execute(f"INSERT INTO models ({_quote(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                f"ON CONFLICT (model_id) DO UPDATE SET {sets}, "
                f"meta = CAST(json_merge_patch(coalesce(models.meta, '{{}}'), excluded.meta) AS JSON)",
                [row[c] for c in cols])


def upsert_run(con, r: Run) -> bool:
    """Insert a run; an existing run (same id) is kept as it is. Returns True when new."""
    row = r.as_row()
    row["config"] = json.dumps(r.config or {}, sort_keys=True)
    cols = Run.columns()
    res = con.execute(f"INSERT INTO runs ({_quote(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                      f"ON CONFLICT (run_id) DO NOTHING", [row[c] for c in cols]).fetchall()
    return bool(res and res[0][0])


_TRAJ_COLS = ["trajectory_id", "run_id", "benchmark", "question_id", "sample_idx", "prompt", "response",
              "n_tokens", "finish_reason", "source_correct", "source_pred"]


def insert_trajectories(con, trajectories: Sequence[Trajectory]) -> int:
    """Insert trajectories not yet stored (by trajectory_id; the first of repeats in the batch);
    returns how many were new."""
    seen: set[int] = set()
    unique = [t for t in trajectories if not (t.trajectory_id in seen or seen.add(t.trajectory_id))]
    return _insert(con, "trajectories", unique, _TRAJ_COLS, conflict=None, new_only="trajectory_id",
                   computed={"n_chars": "length(response)"})


def insert_grades(con, grades: Sequence[Grade]) -> int:
    """Insert grades of trajectories that have none yet (written in this transaction)."""
    return _insert(con, "grades", grades, Grade.columns(), conflict=None)


def upsert_grades(con, grades: Sequence[Grade]) -> int:
    """Insert grades, replacing any with the same (trajectory, grader, grader version)."""
    if not grades:
        return 0
    last = {(g.trajectory_id, g.grader, g.grader_version): g for g in grades}   # the last of repeats
    keys = pa.table({"trajectory_id": pa.array([k[0] for k in last], pa.int64()),
                     "grader": [k[1] for k in last], "grader_version": [k[2] for k in last]})
    con.register("_ingest_keys", keys)
    try:
        con.execute("DELETE FROM grades USING _ingest_keys k WHERE grades.trajectory_id = k.trajectory_id "
                    "AND grades.grader = k.grader AND grades.grader_version = k.grader_version")
    finally:
        con.unregister("_ingest_keys")
    return _insert(con, "grades", list(last.values()), Grade.columns(), conflict=None)


def replace_for(con, table: str, trajectory_ids: Sequence[int], records: Sequence, columns: Sequence[str],
                extra_where: str = "", extra_params: Sequence = ()) -> int:
    """Delete the rows of ``table`` of these trajectories (narrowed by ``extra_where``), then insert ``records``
    (records or an Arrow table with ``columns``): the one per-trajectory replace every derived table uses."""
    if trajectory_ids:
        ids = pa.table({"trajectory_id": pa.array(list(trajectory_ids), pa.int64())})  # noqa: F841
        con.register("_ingest_ids", ids)
        try:
            con.execute(f"DELETE FROM {table} WHERE trajectory_id IN (SELECT trajectory_id FROM _ingest_ids)"
                        + extra_where, list(extra_params))
        finally:
            con.unregister("_ingest_ids")
    return _insert(con, table, records, columns, conflict=None)


def replace_steps(con, trajectory_ids: Sequence[int], steps: Sequence[Step] | pa.Table) -> int:
    """Replace the steps of these trajectories (idempotent re-segmentation): Step records, or an
    Arrow table with the same columns. With no ``trajectory_ids`` nothing is deleted first."""
    return replace_for(con, "steps", trajectory_ids, steps, Step.columns())


def replace_timelines(con, trajectory_ids: Sequence[int], answers: pa.Table, timelines: pa.Table) -> int:
    """Replace the answer timelines of these trajectories (``step_answers`` and ``trajectory_timelines``
    rows as Arrow tables, see warehouse/timeline_store.py). With no ``trajectory_ids`` nothing is deleted first."""
    n = replace_for(con, "step_answers", trajectory_ids, answers, StepAnswer.columns())
    replace_for(con, "trajectory_timelines", trajectory_ids, timelines, TrajectoryTimeline.columns())
    return n


def replace_annotations(con, annotator: str, trajectory_ids: Sequence[int],
                        annotations: Sequence[StepAnnotation], flags: Sequence[TrajectoryFlag] = ()) -> int:
    """Replace one annotator's step annotations and trajectory flags for these trajectories."""
    n = replace_for(con, "step_annotations", trajectory_ids, annotations,
                    StepAnnotation.columns(), " AND annotator = ?", [annotator])
    replace_for(con, "trajectory_flags", trajectory_ids, flags,
                TrajectoryFlag.columns(), " AND annotator = ?", [annotator])
    return n
