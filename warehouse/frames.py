"""The frames the analysis reads: one fetch per view, each a named, parameterized query.

``analysis/`` holds the statistics as pure functions over these frames (no connections); a page or a
command fetches with a function here and hands the frame on.

- ``per_question(con, sel, by)``: one row per (key, question_id): key (model_id or models."group"),
  question_id, tier (under ``sel.scheme``; null if untiered), category, n (samples, summed over the key's
  runs), c (correct), maj (share of the key's runs whose majority answer is correct; for groups, the
  pooled vote over every sample of the group), mean_chars. Groups POOL their samples: a group's accuracy
  on a question is total correct / total samples.
- ``reference_values(con, sel, source)``: question_id, group, metric, value, tier (e.g. the paper's Figure 1).
- ``factor_table(con, sel, factors)``: model_id and the given model factor columns of the selected models
  (a non-finite number is null).
- ``question_rates(con, sel)``: question_id, solve_rate, n (every selected sample pooled).
- ``final_answers(con, sel)``: one row per sample: trajectory_id, model_id, question_id, sample_idx, answer,
  is_correct (under the active grader), gold, tier (for ``analysis.answers``).
- ``tier_rank(col)``: SQL ranking a tier column by ``records.TIER_RANK`` (other tiers after).
"""
from __future__ import annotations

from warehouse.db import query
from warehouse.errors import UsageError
from warehouse.filters import Selection
from warehouse.records import NUMERIC_FACTORS, TIER_RANK, TIERS, Model

BY = ("model", "group")
_FACTOR_COLUMNS = tuple(c for c in Model.columns() if c not in ("model_id", "meta"))


def tier_rank(col: str = "tier") -> str:
    """SQL expression ranking a tier column (a fixed column name, never user text): ``records.TIER_RANK``."""
    return f"CASE {col} " + " ".join(f"WHEN '{t}' THEN {i}" for t, i in TIER_RANK.items()) + f" ELSE {len(TIERS)} END"


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


def reference_values(con, sel: Selection, source: str = "paper_fig1"):
    """Reference values (e.g. the paper's Figure 1 avg@8 per group) for the selected questions."""
    where, params = Selection(sel.benchmark, sel.scheme, sel.tiers, sel.categories).where("r")   # questions only
    return query(con, f"""
        SELECT r.question_id, r."group", r.metric, r.value, t.tier
        FROM reference_values r
        LEFT JOIN question_tiers t ON t.benchmark = r.benchmark AND t.question_id = r.question_id AND t.scheme = ?
        WHERE r.source = ? AND {where}
        ORDER BY {tier_rank('t.tier')}, r.question_id, r."group"
    """, [sel.scheme, source] + params)


def factor_table(con, sel: Selection, factors: tuple[str, ...]):
    """model_id and the ``factors`` columns (names from a fixed list, never user text) of the selected models;
    a non-finite number (stored before import checked --meta) is no value."""
    bad = [f for f in factors if f not in _FACTOR_COLUMNS]
    if bad:                               # the names go into the SQL: only the models table's own columns
        raise UsageError(f"not a model factor: {', '.join(map(repr, bad))} (one of {', '.join(_FACTOR_COLUMNS)})")
    where, params = sel.where("s")
    cols = ", ".join(f'CASE WHEN isfinite(m."{f}") THEN m."{f}" END AS "{f}"' if f in NUMERIC_FACTORS else f'm."{f}"'
                     for f in factors)
    return query(con, f"""SELECT DISTINCT m.model_id, {cols} FROM models m
                          WHERE m.model_id IN (SELECT s.model_id FROM run_question_stats s WHERE {where})""", params)


def question_rates(con, sel: Selection):
    """question_id, solve_rate, n: every selected sample of a question pooled."""
    where, params = sel.where("s")
    return query(con, f"""
        SELECT question_id, sum(n_correct)::DOUBLE / sum(n) AS solve_rate, sum(n)::BIGINT AS n
        FROM run_question_stats s WHERE {where} GROUP BY question_id ORDER BY question_id
    """, params)


def final_answers(con, sel: Selection, question_id: str | None = None):
    """One row per selected sample (of ``question_id`` only, when given): trajectory_id, model_id,
    question_id, sample_idx, answer (the final answer extracted under the active grader, the source
    harness's when ungraded; may be null or empty), is_correct (the active verdict), gold (questions.answer)
    and tier (under ``sel.scheme``; null if untiered). Ordered by question, model, sample. What
    ``analysis.answers`` reads."""
    where, params = sel.where("o")
    if question_id is not None:
        where, params = f"{where} AND o.question_id = ?", params + [question_id]
    return query(con, f"""
        SELECT o.trajectory_id, o.model_id, o.question_id, o.sample_idx, o.answer, o.is_correct,
               q.answer AS gold, t.tier
        FROM outcomes o
        LEFT JOIN questions q ON q.benchmark = o.benchmark AND q.question_id = o.question_id
        LEFT JOIN question_tiers t ON t.benchmark = o.benchmark AND t.question_id = o.question_id AND t.scheme = ?
        WHERE {where}
        ORDER BY o.question_id, o.model_id, o.sample_idx, o.trajectory_id
    """, [sel.scheme] + params)
