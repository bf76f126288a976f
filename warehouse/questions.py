"""Questions of a selection: per-tier accuracy per model, the question list (sorted by tier, then
accuracy), one question with its gold answer and tier, and the models x samples grid of a question
(verdicts and extracted answers, no response text)."""
from __future__ import annotations

import polars as pl

from .db import query
from .filters import Selection

from .frames import tier_rank


def tier_accuracy(con, sel: Selection) -> pl.DataFrame:
    """Per model and tier: questions, samples, avg accuracy (mean of per-question accuracy)."""
    where, params = sel.where("s")
    return query(con, f"""
        WITH q AS (
            SELECT s.model_id, s.question_id, sum(s.n_correct) / sum(s.n) AS acc, sum(s.n) AS n
            FROM run_question_stats s WHERE {where} GROUP BY ALL)
        SELECT * FROM (
            SELECT q.model_id, coalesce(t.tier, '(none)') AS tier, count(*) AS questions,
                   sum(q.n)::BIGINT AS samples, avg(q.acc) AS accuracy
            FROM q LEFT JOIN question_tiers t
              ON t.benchmark = ? AND t.question_id = q.question_id AND t.scheme = ?
            GROUP BY ALL)
        ORDER BY model_id, {tier_rank()}""",
                 params + [sel.benchmark, sel.scheme])


def questions(con, sel: Selection) -> pl.DataFrame:
    """The questions of a selection, sorted by tier then by accuracy (easiest first)."""
    where, params = sel.where("s")
    return query(con, f"""
        WITH acc AS (
            SELECT s.question_id, sum(s.n_correct) / sum(s.n) AS accuracy, sum(s.n)::BIGINT AS samples
            FROM run_question_stats s WHERE {where} GROUP BY ALL)
        SELECT q.question_id, t.tier, q.category, q.level, a.accuracy, coalesce(a.samples, 0) AS samples,
               left(q.problem, 120) AS problem
        FROM questions q
        LEFT JOIN question_tiers t ON t.benchmark = q.benchmark AND t.question_id = q.question_id AND t.scheme = ?
        LEFT JOIN acc a ON a.question_id = q.question_id
        WHERE q.benchmark = ?
          AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], t.tier))
          AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], q.category))
        ORDER BY {tier_rank('t.tier')}, a.accuracy DESC NULLS LAST,
                 try_cast(q.question_id AS INTEGER) NULLS LAST, q.question_id""",
                 params + [sel.scheme, sel.benchmark, list(sel.tiers), list(sel.tiers),
                           list(sel.categories), list(sel.categories)])


def question(con, benchmark: str, question_id: str, scheme: str = "paper") -> dict | None:
    """One question with its gold answer and tier."""
    df = query(con, """
        SELECT q.*, t.tier FROM questions q
        LEFT JOIN question_tiers t ON t.benchmark = q.benchmark AND t.question_id = q.question_id AND t.scheme = ?
        WHERE q.benchmark = ? AND q.question_id = ?""", [scheme, benchmark, question_id])
    return df.row(0, named=True) if df.height else None


def sample_grid(con, sel: Selection, question_id: str) -> pl.DataFrame:
    """Models × samples of one question: verdict, extracted answer, length (no response text)."""
    where, params = sel.where("o")
    return query(con, f"""
        SELECT o.model_id, o.run_id, o.sample_idx, o.trajectory_id, o.is_correct, o.answer, o.reason,
               o.n_chars, o.n_tokens, o.finish_reason
        FROM outcomes o WHERE {where} AND o.question_id = ?
        ORDER BY o.model_id, o.run_id, o.sample_idx""", params + [question_id])


