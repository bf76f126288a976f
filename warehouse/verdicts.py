"""Each annotator's first-error verdict per trajectory (what ``analysis.agreement`` compares).

An annotator "judged" a trajectory when it wrote anything for it (a step label or a trajectory
flag: the ``rules`` annotator always writes its ``backtracks`` flag, the judge a ``first_error``
label or a ``no_error`` flag, the PRM its step scores). Its verdict is the lowest step carrying
a ``first_error`` or ``first_error:<type>`` label, else -1 (no error); null where it could not
tell: the judge's ``judge_unparseable`` flag, a trajectory without steps, and ``rules`` on an
ungraded trajectory (its first error follows the grade).
"""
from __future__ import annotations

import polars as pl

from warehouse.db import query
from warehouse.filters import Selection


def first_errors(con, sel: Selection) -> pl.DataFrame:
    """trajectory_id, annotator, first_error (step, -1 = no error, null = unknown), n_steps,
    is_correct: one row per selected trajectory and annotator that judged it."""
    where, params = sel.where("o")
    # steps per trajectory: for most of the warehouse, counting every trajectory's steps and joining
    # costs half of picking the selection's steps first (50 M steps at 576,000 trajectories)
    picked, total = query(con, f"SELECT (SELECT coalesce(sum(o.n), 0) FROM run_question_stats o WHERE {where}), "
                               "(SELECT count(*) FROM trajectories)", params).row(0)
    mine = "" if 3 * picked >= total else "WHERE trajectory_id IN (SELECT trajectory_id FROM o)"
    return query(con, f"""
        WITH o AS (SELECT o.trajectory_id, o.is_correct FROM outcomes o WHERE {where}),
        judged AS (
            SELECT DISTINCT trajectory_id, annotator FROM step_annotations WHERE trajectory_id IN (SELECT trajectory_id FROM o)
            UNION
            SELECT DISTINCT trajectory_id, annotator FROM trajectory_flags WHERE trajectory_id IN (SELECT trajectory_id FROM o)),
        fe AS (
            SELECT trajectory_id, annotator, min(step_idx) AS step FROM step_annotations
            WHERE (label = 'first_error' OR starts_with(label, 'first_error:'))
              AND trajectory_id IN (SELECT trajectory_id FROM o)
            GROUP BY ALL),
        unknown AS (
            SELECT DISTINCT trajectory_id, annotator FROM trajectory_flags
            WHERE flag = 'judge_unparseable' AND trajectory_id IN (SELECT trajectory_id FROM o)),
        ns AS (
            SELECT trajectory_id, count(*) AS n_steps FROM steps {mine} GROUP BY ALL)
        SELECT j.trajectory_id, j.annotator,
               CASE WHEN u.trajectory_id IS NOT NULL THEN NULL
                    WHEN fe.step IS NOT NULL THEN fe.step
                    WHEN coalesce(ns.n_steps, 0) = 0 THEN NULL
                    WHEN j.annotator = 'rules' AND o.is_correct IS NULL THEN NULL
                    ELSE -1 END::INTEGER AS first_error,
               coalesce(ns.n_steps, 0)::INTEGER AS n_steps, o.is_correct
        FROM judged j JOIN o USING (trajectory_id)
        LEFT JOIN fe ON fe.trajectory_id = j.trajectory_id AND fe.annotator = j.annotator
        LEFT JOIN unknown u ON u.trajectory_id = j.trajectory_id AND u.annotator = j.annotator
        LEFT JOIN ns ON ns.trajectory_id = j.trajectory_id
        ORDER BY j.trajectory_id, j.annotator""", params)
