"""The derived rows of stored trajectories (grade, steps, rules annotations and flags, answer timeline),
read back whole so that a merge can copy them into another warehouse instead of deriving them again.
Only trajectories whose grade is of the given grader version and whose timeline is of the given
timeline version are returned: the others must be derived anew."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from .records import Grade, StepAnnotation, TrajectoryFlag
from .timeline_store import ANSWER_SCHEMA, TIMELINE_SCHEMA

STEP_SCHEMA = pa.schema([("trajectory_id", pa.int64()), ("step_idx", pa.int32()), ("start_char", pa.int32()),
                         ("end_char", pa.int32()), ("kind", pa.string())])


@dataclass
class Stored:
    ids: set[int] = field(default_factory=set)      # the trajectories whose rows these are
    grades: list[Grade] = field(default_factory=list)
    steps: pa.Table = field(default_factory=STEP_SCHEMA.empty_table)
    annotations: list[StepAnnotation] = field(default_factory=list)
    flags: list[TrajectoryFlag] = field(default_factory=list)
    answers: pa.Table = field(default_factory=ANSWER_SCHEMA.empty_table)
    timelines: pa.Table = field(default_factory=TIMELINE_SCHEMA.empty_table)


def stored_rows(con, trajectory_ids: Sequence[int], grader: str, grader_version: str, timeline_version: str,
                annotator: str = "rules") -> Stored:
    """The derived rows of those of ``trajectory_ids`` that hold a grade of ``grader`` /
    ``grader_version`` and a timeline of ``timeline_version``."""
    if not len(trajectory_ids):
        return Stored()
    con.register("_derived_ask", pa.table({"trajectory_id": pa.array(list(trajectory_ids), pa.int64())}))
    try:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _derived_ids AS
            SELECT a.trajectory_id FROM _derived_ask a
            WHERE EXISTS (SELECT 1 FROM grades g WHERE g.trajectory_id = a.trajectory_id AND g.grader = ?
                          AND g.grader_version = ?)
              AND EXISTS (SELECT 1 FROM trajectory_timelines t WHERE t.trajectory_id = a.trajectory_id
                          AND t.version = ?)""", [grader, grader_version, timeline_version])
    finally:
        con.unregister("_derived_ask")
    try:
        ids = {r[0] for r in con.execute("SELECT trajectory_id FROM _derived_ids").fetchall()}
        if not ids:
            return Stored()

        def rows(sql: str, params: Sequence = ()) -> list[tuple]:
            return con.execute(sql, list(params)).fetchall()

        def table(sql: str, schema: pa.Schema) -> pa.Table:
            return con.sql(sql).to_arrow_table().select(schema.names).cast(schema)

        grades = [Grade(*r) for r in rows(
            "SELECT g.trajectory_id, g.grader, g.grader_version, g.extracted_answer, g.is_correct, g.reason "
            "FROM grades g JOIN _derived_ids USING (trajectory_id) WHERE g.grader = ? AND g.grader_version = ?",
            [grader, grader_version])]
        annotations = [StepAnnotation(*r) for r in rows(
            "SELECT a.trajectory_id, a.step_idx, a.annotator, a.label, a.score, a.evidence "
            "FROM step_annotations a JOIN _derived_ids USING (trajectory_id) WHERE a.annotator = ?", [annotator])]
        flags = [TrajectoryFlag(*r) for r in rows(
            "SELECT f.trajectory_id, f.annotator, f.flag, f.value, f.detail "
            "FROM trajectory_flags f JOIN _derived_ids USING (trajectory_id) WHERE f.annotator = ?", [annotator])]
        steps = table("SELECT s.* FROM steps s JOIN _derived_ids USING (trajectory_id) "
                      "ORDER BY s.trajectory_id, s.step_idx", STEP_SCHEMA)
        answers = table("SELECT a.* FROM step_answers a JOIN _derived_ids USING (trajectory_id) "
                        "ORDER BY a.trajectory_id, a.step_idx", ANSWER_SCHEMA)
        timelines = table("SELECT t.* FROM trajectory_timelines t JOIN _derived_ids USING (trajectory_id)",
                          TIMELINE_SCHEMA)
    finally:
        con.execute("DROP TABLE IF EXISTS _derived_ids")
    return Stored(ids, grades, steps, annotations, flags, answers, timelines)
