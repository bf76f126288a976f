"""One trajectory: its response, verdict, extracted and gold answer; its steps (character spans) with
their annotations; its flags. The only module besides ``search`` that reads response text."""
from __future__ import annotations

import polars as pl

from .db import query



def trajectory(con, trajectory_id: int) -> dict | None:
    """One trajectory with its response, verdict, extracted answer, model and gold answer."""
    df = query(con, """
        SELECT o.trajectory_id, o.run_id, o.model_id, o.benchmark, o.question_id, o.sample_idx,
               o.is_correct, o.answer, o.reason, o.graded, o.n_chars, o.n_tokens, o.finish_reason,
               o.source_correct, o.source_pred, t.response, q.answer AS gold, q.problem
        FROM outcomes o JOIN trajectories t USING (trajectory_id)
        JOIN questions q ON q.benchmark = o.benchmark AND q.question_id = o.question_id
        WHERE o.trajectory_id = ?""", [int(trajectory_id)])
    return df.row(0, named=True) if df.height else None


def steps(con, trajectory_id: int) -> pl.DataFrame:
    """The steps of a trajectory (char spans) with their annotations collected per step."""
    return query(con, """
        SELECT s.step_idx, s.start_char, s.end_char, s.kind,
               list(a.label ORDER BY a.annotator, a.label) FILTER (WHERE a.label IS NOT NULL) AS labels,
               list(a.annotator || ': ' || coalesce(a.evidence, '') ORDER BY a.annotator, a.label)
                   FILTER (WHERE a.label IS NOT NULL) AS evidence
        FROM steps s LEFT JOIN step_annotations a USING (trajectory_id, step_idx)
        WHERE s.trajectory_id = ? GROUP BY ALL ORDER BY s.step_idx""", [int(trajectory_id)])


def annotations(con, trajectory_id: int) -> pl.DataFrame:
    return query(con, "SELECT step_idx, annotator, label, score, evidence FROM step_annotations "
                      "WHERE trajectory_id = ? ORDER BY step_idx, annotator, label", [int(trajectory_id)])


def flags(con, trajectory_id: int) -> pl.DataFrame:
    return query(con, "SELECT annotator, flag, value, detail FROM trajectory_flags "
                      "WHERE trajectory_id = ? ORDER BY annotator, flag", [int(trajectory_id)])

