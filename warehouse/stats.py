"""Per-(run, question) aggregates under the active grader, kept up to date on every write.

Pages and metrics read ``run_question_stats`` and never rescan trajectory text.
"""
from __future__ import annotations

from typing import Sequence

import pyarrow as pa

_REFRESH = """
INSERT INTO run_question_stats
WITH o AS (
    SELECT * FROM outcomes WHERE run_id IN (SELECT run_id FROM _stat_runs)
),
votes AS (
    SELECT run_id, question_id, answer, count(*) AS c, bool_or(is_correct) AS ok
    FROM o WHERE answer IS NOT NULL AND answer <> ''
    GROUP BY ALL
),
maj AS (
    SELECT run_id, question_id, arg_max(answer, c * 1e6 - rank_in) AS majority_answer,
           arg_max(ok, c * 1e6 - rank_in) AS majority_correct
    FROM (SELECT *, row_number() OVER (PARTITION BY run_id, question_id ORDER BY answer) AS rank_in FROM votes)
    GROUP BY ALL
)
SELECT o.run_id, any_value(o.benchmark), o.question_id, any_value(o.model_id),
       count(*)::INTEGER, count_if(o.is_correct)::INTEGER,
       count_if(o.answer IS NOT NULL AND o.answer <> '')::INTEGER,
       any_value(m.majority_answer), coalesce(any_value(m.majority_correct), false),
       avg(o.n_chars), avg(o.n_tokens),
       count_if(o.source_correct IS NOT NULL AND o.graded AND o.is_correct = o.source_correct)::INTEGER,
       count_if(o.source_correct IS NOT NULL AND o.graded)::INTEGER
FROM o LEFT JOIN maj m USING (run_id, question_id)
GROUP BY o.run_id, o.question_id
"""


def refresh_run_stats(con, run_ids: Sequence[str] | None = None) -> None:
    """Recompute the aggregates of these runs (all runs when None). Call inside a write transaction."""
    if run_ids is None:
        run_ids = [r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()]
    if not run_ids:
        return
    con.register("_stat_runs", pa.table({"run_id": pa.array(list(run_ids), pa.string())}))
    try:
        con.execute("DELETE FROM run_question_stats WHERE run_id IN (SELECT run_id FROM _stat_runs)")
        con.execute(_REFRESH)
    finally:
        con.unregister("_stat_runs")
