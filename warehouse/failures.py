"""Failure analysis (the Exh tier by default: ``exh(sel)``; any Selection works).

Reads the ``outcomes`` view (verdicts and extracted answers, never response text), ``trajectory_flags``
and ``step_annotations``.
API (``by`` = "model" or "group"):
- ``exh(sel)``: the same selection restricted to the Exh tier (unless it already names tiers).
- ``wrong_answers(con, sel, top=5)``: question_id, tier, answer, n_samples, n_models, share (of the
  question's wrong answered samples), rank: the most common wrong answers per question.
- ``wrong_answer_concentration(con, sel)``: question_id, tier, n_wrong, n_unanswered, n_distinct,
  top_answer, top_share, top_models (models giving the top answer), n_models_wrong, entropy_bits,
  converged (the top wrong answer comes from >= 2 models): do models converge on the same wrong answer?
- ``strategy_tags(con, sel, annotator="rules")``: strategy, n_correct, n_incorrect, share_correct,
  share_incorrect (shares of all correct / incorrect trajectories carrying the 'strategy:<name>' flag).
- ``step_error_types(con, sel)``: annotator, label, n_annotations, n_trajectories, n_incorrect_trajectories,
  share_of_incorrect.
- ``flag_rates(con, sel, by="model")``: key, n, found_then_lost, truncated (flag or finish_reason
  'length'), found_then_lost_rate, truncated_rate.
- ``length_by_outcome(con, sel, by="model")``: key, is_correct, n, mean_chars, median_chars, mean_tokens.
"""
from __future__ import annotations

from dataclasses import replace

import polars as pl

from warehouse.db import query
from warehouse.filters import Selection
from warehouse.frames import check_by, tier_rank


def exh(sel: Selection) -> Selection:
    return sel if sel.tiers else replace(sel, tiers=("Exh",))


def _outcomes(sel: Selection) -> tuple[str, list]:
    """CTE ``o``: the selected outcomes with tier and group."""
    where, params = sel.where("o")
    return f"""o AS (
        SELECT o.trajectory_id, o.model_id, m."group", o.question_id, o.is_correct, o.answer, o.n_chars,
               o.n_tokens, o.finish_reason, t.tier
        FROM outcomes o LEFT JOIN models m ON m.model_id = o.model_id
        LEFT JOIN question_tiers t ON t.benchmark = o.benchmark AND t.question_id = o.question_id AND t.scheme = ?
        WHERE {where})""", [sel.scheme] + params


def wrong_answers(con, sel: Selection, top: int = 5) -> pl.DataFrame:
    cte, params = _outcomes(sel)
    return query(con, f"""WITH {cte},
        w AS (SELECT question_id, any_value(tier) AS tier, answer, count(*) AS n_samples,
                     count(DISTINCT model_id) AS n_models
              FROM o WHERE NOT is_correct AND answer IS NOT NULL AND answer <> '' GROUP BY question_id, answer)
        SELECT question_id, tier, answer, n_samples, n_models,
               n_samples / sum(n_samples) OVER (PARTITION BY question_id) AS share,
               row_number() OVER (PARTITION BY question_id ORDER BY n_samples DESC, n_models DESC, answer) AS rank
        FROM w QUALIFY rank <= ?
        ORDER BY {tier_rank()}, question_id, rank""", params + [top])


def wrong_answer_concentration(con, sel: Selection) -> pl.DataFrame:
    cte, params = _outcomes(sel)
    return query(con, f"""WITH {cte},
        wrong AS (SELECT * FROM o WHERE NOT is_correct),
        w0 AS (SELECT question_id, answer, count(*) AS c, count(DISTINCT model_id) AS models
               FROM wrong WHERE answer IS NOT NULL AND answer <> '' GROUP BY ALL),
        w AS (SELECT *, row_number() OVER (PARTITION BY question_id ORDER BY c DESC, models DESC, answer) AS rk
              FROM w0),
        tot AS (SELECT question_id, sum(c) AS answered FROM w GROUP BY ALL),
        ent AS (SELECT w.question_id, count(*) AS n_distinct,
                       -sum((c / answered) * log2(c / answered)) AS entropy_bits,
                       any_value(answer) FILTER (WHERE rk = 1) AS top_answer,
                       max(c) AS top_c
                FROM w JOIN tot USING (question_id) GROUP BY ALL),
        q AS (SELECT question_id, any_value(tier) AS tier, count(*) AS n_wrong,
                     count(*) FILTER (WHERE answer IS NULL OR answer = '') AS n_unanswered,
                     count(DISTINCT model_id) AS n_models_wrong
              FROM wrong GROUP BY ALL)
        SELECT q.question_id, q.tier, q.n_wrong, q.n_unanswered, coalesce(e.n_distinct, 0) AS n_distinct,
               e.top_answer, e.top_c / tot.answered AS top_share,
               coalesce(w.models, 0) AS top_models, q.n_models_wrong,
               coalesce(e.entropy_bits, 0) + 0.0 AS entropy_bits, coalesce(w.models, 0) >= 2 AS converged
        FROM q LEFT JOIN ent e USING (question_id) LEFT JOIN tot USING (question_id)
        LEFT JOIN w ON w.question_id = q.question_id AND w.rk = 1
        ORDER BY {tier_rank('q.tier')}, q.question_id""", params)


def strategy_tags(con, sel: Selection, annotator: str = "rules") -> pl.DataFrame:
    cte, params = _outcomes(sel)
    return query(con, f"""WITH {cte},
        tot AS (SELECT count(*) FILTER (WHERE is_correct) AS nc, count(*) FILTER (WHERE NOT is_correct) AS ni FROM o),
        tags AS (SELECT substr(f.flag, 10) AS strategy, o.is_correct
                 FROM trajectory_flags f JOIN o USING (trajectory_id)
                 WHERE f.annotator = ? AND starts_with(f.flag, 'strategy:'))
        SELECT strategy, count(*) FILTER (WHERE is_correct) AS n_correct, count(*) FILTER (WHERE NOT is_correct) AS n_incorrect,
               count(*) FILTER (WHERE is_correct) / nullif(any_value(tot.nc), 0) AS share_correct,
               count(*) FILTER (WHERE NOT is_correct) / nullif(any_value(tot.ni), 0) AS share_incorrect
        FROM tags, tot GROUP BY strategy ORDER BY n_correct + n_incorrect DESC, strategy""", params + [annotator])


def step_error_types(con, sel: Selection) -> pl.DataFrame:
    cte, params = _outcomes(sel)
    return query(con, f"""WITH {cte},
        ni AS (SELECT count(*) FILTER (WHERE NOT is_correct) AS ni FROM o)
        SELECT a.annotator, a.label, count(*) AS n_annotations,
               count(DISTINCT a.trajectory_id) AS n_trajectories,
               count(DISTINCT a.trajectory_id) FILTER (WHERE NOT o.is_correct) AS n_incorrect_trajectories,
               count(DISTINCT a.trajectory_id) FILTER (WHERE NOT o.is_correct) / nullif(any_value(ni.ni), 0)
                   AS share_of_incorrect
        FROM step_annotations a JOIN o USING (trajectory_id), ni
        GROUP BY a.annotator, a.label ORDER BY a.annotator, n_annotations DESC, a.label""", params)


def flag_rates(con, sel: Selection, by: str = "model") -> pl.DataFrame:
    key = "o.model_id" if check_by(by) == "s.model_id" else 'o."group"'
    cte, params = _outcomes(sel)
    return query(con, f"""WITH {cte},
        f AS (SELECT trajectory_id, bool_or(flag = 'found_then_lost') AS ftl, bool_or(flag = 'truncated') AS tr
              FROM trajectory_flags WHERE trajectory_id IN (SELECT trajectory_id FROM o) GROUP BY ALL)
        SELECT {key} AS key, count(*) AS n, count(*) FILTER (WHERE f.ftl) AS found_then_lost,
               count(*) FILTER (WHERE coalesce(f.tr, false) OR o.finish_reason = 'length') AS truncated,
               count(*) FILTER (WHERE f.ftl) / count(*) AS found_then_lost_rate,
               count(*) FILTER (WHERE coalesce(f.tr, false) OR o.finish_reason = 'length') / count(*) AS truncated_rate
        FROM o LEFT JOIN f USING (trajectory_id) WHERE {key} IS NOT NULL
        GROUP BY ALL ORDER BY key""", params)


def length_by_outcome(con, sel: Selection, by: str = "model") -> pl.DataFrame:
    key = "model_id" if check_by(by) == "s.model_id" else '"group"'
    cte, params = _outcomes(sel)
    return query(con, f"""WITH {cte}
        SELECT {key} AS key, is_correct, count(*) AS n, avg(n_chars) AS mean_chars,
               median(n_chars)::DOUBLE AS median_chars, avg(n_tokens) AS mean_tokens
        FROM o WHERE {key} IS NOT NULL GROUP BY ALL ORDER BY key, is_correct""", params)


# --- step-error labels and flags, counted

_BY = {"tier": "t.tier", "category": "q.category", "model": "o.model_id", "group": 'm."group"'}


def step_error_counts(con, sel: Selection, by: str = "tier") -> pl.DataFrame:
    """Step annotation labels counted per ``by`` (tier|category|model|group): label, by, steps, trajectories."""
    return _taxonomy(con, sel, by, "step_annotations", "label",
                     "count(*) AS steps, count(DISTINCT x.trajectory_id) AS trajectories")


def flag_counts(con, sel: Selection, by: str = "tier") -> pl.DataFrame:
    """Trajectory flags counted per ``by`` (tier|category|model|group): flag, by, trajectories."""
    # a trajectory has a flag once per annotator (the table's key): count(*) counts trajectories
    return _taxonomy(con, sel, by, "trajectory_flags", "flag", "count(*) AS trajectories")


def _taxonomy(con, sel: Selection, by: str, table: str, col: str, aggs: str) -> pl.DataFrame:
    if by not in _BY:
        raise ValueError(f"by must be one of {', '.join(_BY)}, not {by!r}")
    where, params = sel.where("o")
    return query(con, f"""
        SELECT x.{col}, coalesce(CAST({_BY[by]} AS VARCHAR), '(none)') AS "{by}", x.annotator, {aggs},
               count_if(NOT o.is_correct)::BIGINT AS in_wrong
        FROM {table} x JOIN outcomes o USING (trajectory_id)
        JOIN questions q ON q.benchmark = o.benchmark AND q.question_id = o.question_id
        JOIN models m ON m.model_id = o.model_id
        LEFT JOIN question_tiers t ON t.benchmark = o.benchmark AND t.question_id = o.question_id AND t.scheme = ?
        WHERE {where} GROUP BY ALL ORDER BY 1, 2""", [sel.scheme] + params)


def flagged(con, sel: Selection, flag: str, limit: int = 100) -> pl.DataFrame:
    """Trajectories carrying a flag (e.g. 'found_then_lost'), for links into the trajectory view."""
    where, params = sel.where("o")
    return query(con, f"""
        SELECT o.trajectory_id, o.model_id, o.question_id, o.sample_idx, o.is_correct, o.answer,
               f.annotator, f.value, f.detail
        FROM trajectory_flags f JOIN outcomes o USING (trajectory_id)
        WHERE {where} AND f.flag = ?
        ORDER BY try_cast(o.question_id AS INTEGER) NULLS LAST, o.question_id, o.model_id, o.sample_idx
        LIMIT ?""", params + [flag, int(limit)])
