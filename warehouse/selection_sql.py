"""Shared SQL for the analysis modules: per-(key, question) pooled counts over ``run_question_stats``.

``per_question(con, sel, by)`` -> polars DataFrame, one row per (key, question_id):
    key (model_id or models."group"), question_id, tier (under ``sel.scheme``; null if untiered),
    category, n (samples, summed over the key's runs), c (correct), maj (share of the key's runs whose
    majority answer is correct; for groups, the pooled vote over every sample of the group), mean_chars.
Groups POOL their samples: a group's accuracy on a question is total correct / total samples.
``tier_rank(col)`` orders tiers Easy < Medium < Hard < Exh (others after).
"""
from __future__ import annotations

from warehouse.db import query
from warehouse.filters import Selection

BY = ("model", "group")


def tier_rank(col: str = "tier") -> str:
    """SQL expression ranking a tier column (a fixed column name, never user text)."""
    return f"CASE {col} WHEN 'Easy' THEN 0 WHEN 'Medium' THEN 1 WHEN 'Hard' THEN 2 WHEN 'Exh' THEN 3 ELSE 4 END"


def check_by(by: str) -> str:
    if by not in BY:
        raise ValueError(f"by must be one of {BY}, not {by!r}")
    return 's.model_id' if by == "model" else 'm."group"'


def per_question_sql(sel: Selection, by: str = "model") -> tuple[str, list]:
    """The SQL (and parameters) behind ``per_question``; usable as a CTE."""
    key = check_by(by)
    where, params = sel.where("s")
    group_filter = ' AND m."group" IS NOT NULL' if by == "group" else ""
    maj = "avg(base.majority_correct::INTEGER)"
    maj_cte, maj_join, maj_params = "", "", []
    if by == "group":
        # pooled majority vote over every sample of the group (ties: the first answer in sort order)
        ow, op = sel.where("o")
        maj_cte = f""", votes AS (
            SELECT m."group" AS key, o.question_id, o.answer, count(*) AS v, bool_or(o.is_correct) AS ok
            FROM outcomes o JOIN models m ON m.model_id = o.model_id
            WHERE {ow} AND m."group" IS NOT NULL AND o.answer IS NOT NULL AND o.answer <> ''
            GROUP BY ALL
        ), gmaj AS (
            SELECT key, question_id, arg_max(ok, v * 1e6 - r) AS ok
            FROM (SELECT *, row_number() OVER (PARTITION BY key, question_id ORDER BY answer) AS r FROM votes)
            GROUP BY ALL
        )"""
        maj_params = op
        maj = "coalesce(any_value(g.ok), false)::DOUBLE"
        maj_join = "LEFT JOIN gmaj g ON g.key = base.key AND g.question_id = base.question_id"
    sql = f"""
    WITH base AS (
        SELECT {key} AS key, s.question_id, s.n, s.n_correct, s.majority_correct, s.mean_chars
        FROM run_question_stats s LEFT JOIN models m ON m.model_id = s.model_id
        WHERE {where}{group_filter}
    ){maj_cte}
    SELECT base.key, base.question_id, any_value(t.tier) AS tier, any_value(q.category) AS category,
           sum(base.n)::BIGINT AS n, sum(base.n_correct)::BIGINT AS c,
           {maj} AS maj,
           sum(base.mean_chars * base.n) / sum(base.n) AS mean_chars
    FROM base
    LEFT JOIN question_tiers t ON t.benchmark = ? AND t.question_id = base.question_id AND t.scheme = ?
    LEFT JOIN questions q ON q.benchmark = ? AND q.question_id = base.question_id
    {maj_join}
    GROUP BY base.key, base.question_id
    ORDER BY base.key, base.question_id
    """
    return sql, params + maj_params + [sel.benchmark, sel.scheme, sel.benchmark]


def per_question(con, sel: Selection, by: str = "model"):
    sql, params = per_question_sql(sel, by)
    return query(con, sql, params)
