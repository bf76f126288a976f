"""The answer timeline in the warehouse: its Arrow schemas and its named, parameterized reads.

Tables ``step_answers`` (the candidate answer of each step that asserts one) and
``trajectory_timelines`` (one row per trajectory whose timeline was derived); see schema.sql and
``derivation/answer_timeline.py`` (which computes them; ``ingest.replace_timelines`` writes them, inside
``db.writer()``; this module only reads).

- ``step_answers(con, trajectory_id)``, ``summary(con, trajectory_id)``: one trajectory.
- ``trajectories(con, model_id, benchmark, question_id, sample_idx)``: the trajectories the CLI prints.
- ``for_cli(con, trajectory_ids)``, ``summaries(con, trajectory_ids)``: their steps joined with their
  candidates, and their timeline rows, for the JSON output.
- ``coverage(con)``: how many trajectories have a timeline, and at which versions.
- ``per_trajectory(con, sel)``: the frame the aggregates read (analysis/timeline.py): one row per
  selected trajectory with its verdict, length, tier, model, group, train_step and timeline facts.
"""
from __future__ import annotations

from typing import Sequence

import polars as pl
import pyarrow as pa

from .db import query
from .filters import Selection
from .lookup import ids_table
from .records import StepAnswer, TrajectoryTimeline

ANSWER_SCHEMA = pa.schema([("trajectory_id", pa.int64()), ("step_idx", pa.int32()), ("answer", pa.string()),
                           ("source", pa.string()), ("is_gold", pa.bool_()), ("changed", pa.bool_())])
TIMELINE_SCHEMA = pa.schema([("trajectory_id", pa.int64()), ("version", pa.string()), ("n_candidates", pa.int32()),
                             ("answer_changes", pa.int32()), ("n_distinct", pa.int32()),
                             ("first_gold_step", pa.int32()), ("last_gold_step", pa.int32()),
                             ("first_gold_char", pa.int32()), ("last_gold_char", pa.int32())])
assert ANSWER_SCHEMA.names == StepAnswer.columns() and TIMELINE_SCHEMA.names == TrajectoryTimeline.columns()


def step_answers(con, trajectory_id: int) -> pl.DataFrame:
    """step_idx, answer, source, is_gold, changed of one trajectory's steps that assert an answer."""
    return query(con, "SELECT step_idx, answer, source, is_gold, changed FROM step_answers "
                      "WHERE trajectory_id = ? ORDER BY step_idx", [int(trajectory_id)])


def summary(con, trajectory_id: int) -> dict | None:
    """The trajectory_timelines row of one trajectory, None when its timeline was never derived."""
    df = query(con, "SELECT * FROM trajectory_timelines WHERE trajectory_id = ?", [int(trajectory_id)])
    return df.row(0, named=True) if df.height else None


def trajectories(con, model_id: str | None = None, benchmark: str | None = None, question_id: str | None = None,
                 sample_idx: int | None = None) -> pl.DataFrame:
    """trajectory_id, model_id, benchmark, question_id, sample_idx, is_correct, answer, n_chars of the
    trajectories matching every given filter, in (model, benchmark, question, sample) order."""
    conds, params = ["true"], []
    for col, val in (("model_id", model_id), ("benchmark", benchmark), ("question_id", question_id),
                     ("sample_idx", sample_idx)):
        if val is not None:
            conds.append(f"o.{col} = ?")
            params.append(val)
    return query(con, f"""
        SELECT o.trajectory_id, o.model_id, o.benchmark, o.question_id, o.sample_idx, o.is_correct, o.answer,
               o.n_chars
        FROM outcomes o WHERE {' AND '.join(conds)}
        ORDER BY o.model_id, o.benchmark, try_cast(o.question_id AS BIGINT) NULLS LAST, o.question_id,
                 o.sample_idx""", params)


def for_cli(con, trajectory_ids: Sequence[int]) -> pl.DataFrame:
    """Every step of these trajectories with its candidate (null where none): trajectory_id, step_idx,
    start_char, end_char, answer, is_gold."""
    with ids_table(con, trajectory_ids):
        return query(con, """
            SELECT s.trajectory_id, s.step_idx, s.start_char, s.end_char, a.answer, a.is_gold
            FROM steps s
            LEFT JOIN step_answers a USING (trajectory_id, step_idx)
            WHERE s.trajectory_id IN (SELECT trajectory_id FROM _ids)
            ORDER BY s.trajectory_id, s.step_idx""")


def summaries(con, trajectory_ids: Sequence[int]) -> dict[int, dict]:
    """trajectory_id -> its trajectory_timelines row, for those of these trajectories that have one."""
    with ids_table(con, trajectory_ids):
        df = query(con, "SELECT * FROM trajectory_timelines WHERE trajectory_id IN (SELECT trajectory_id FROM _ids)")
    return {r["trajectory_id"]: r for r in df.iter_rows(named=True)}


def coverage(con) -> dict:
    """trajectories (stored), with_timeline, and versions: {version: trajectories}."""
    n = con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0]
    rows = con.execute("SELECT version, count(*) FROM trajectory_timelines GROUP BY 1 ORDER BY 1").fetchall()
    return {"trajectories": n, "with_timeline": sum(c for _, c in rows), "versions": dict(rows)}


def per_trajectory(con, sel: Selection) -> pl.DataFrame:
    """One row per selected trajectory that has a timeline: trajectory_id, model_id, group, train_step,
    question_id, tier (under ``sel.scheme``; null if untiered), is_correct, n_chars, n_tokens, n_candidates,
    answer_changes, n_distinct, first_gold_step, last_gold_step, first_gold_char, last_gold_char."""
    where, params = sel.where("o")
    return query(con, f"""
        SELECT o.trajectory_id, o.model_id, m."group" AS "group", m.train_step, o.question_id, t.tier,
               o.is_correct, o.n_chars, o.n_tokens, tl.n_candidates, tl.answer_changes, tl.n_distinct,
               tl.first_gold_step, tl.last_gold_step, tl.first_gold_char, tl.last_gold_char
        FROM outcomes o
        JOIN trajectory_timelines tl USING (trajectory_id)
        LEFT JOIN models m ON m.model_id = o.model_id
        LEFT JOIN question_tiers t ON t.benchmark = o.benchmark AND t.question_id = o.question_id AND t.scheme = ?
        WHERE {where}
        ORDER BY o.model_id, o.question_id, o.sample_idx""", [sel.scheme] + params)


def to_derive(con, version: str, *, limit: int, after: int | None = None, every: bool = False) -> list[dict]:
    """One page (keyset on trajectory_id, ``after`` = the last id of the previous page) of stored
    trajectories whose timeline is missing or at another ``version`` (``every``: all of them):
    trajectory_id, response, gold (None without a question), answer_type, is_correct and answer (the
    final verdict and extracted answer under the active grader)."""
    sql = """
        SELECT t.trajectory_id, t.response, q.answer AS gold, coalesce(b.answer_type, 'math') AS answer_type,
               o.is_correct, o.answer
        FROM trajectories t
        JOIN outcomes o USING (trajectory_id)
        LEFT JOIN questions q ON q.benchmark = t.benchmark AND q.question_id = t.question_id
        LEFT JOIN benchmarks b ON b.benchmark = t.benchmark
        WHERE true"""
    params: list = []
    if not every:
        sql += (" AND NOT EXISTS (SELECT 1 FROM trajectory_timelines tl WHERE tl.trajectory_id = t.trajectory_id "
                "AND tl.version = ?)")
        params.append(version)
    if after is not None:
        sql += " AND t.trajectory_id > ?"
        params.append(int(after))
    return query(con, sql + " ORDER BY t.trajectory_id LIMIT ?", params + [int(limit)]).to_dicts()
