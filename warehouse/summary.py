"""One summary row per (benchmark, model): the `stats` command and the app's overview read this.

Computed from ``run_question_stats`` (so under the active grader, with the source harness's verdicts
standing in for ungraded trajectories). Several runs of one model on one benchmark are pooled per
question. ``by_tier`` uses the ``paper`` tier scheme where the benchmark has one.
"""
from __future__ import annotations

import polars as pl

from .db import query
from .records import tier_rank

_PER_MODEL = """
WITH q AS (
    SELECT benchmark, model_id, question_id, sum(n) AS n, sum(n_correct) AS n_correct,
           sum(n_source_agree) AS agree, sum(n_source) AS n_source
    FROM run_question_stats
    WHERE (?::VARCHAR IS NULL OR benchmark = ?)
    GROUP BY ALL
), j AS (
    SELECT q.*, coalesce(t.tier, '') AS tier
    FROM q LEFT JOIN question_tiers t
      ON t.benchmark = q.benchmark AND t.question_id = q.question_id AND t.scheme = ?
)
SELECT benchmark, model_id AS model, tier,
       count(*)::BIGINT AS n_questions, mode(n)::BIGINT AS samples_per_question,
       avg(n_correct / n) AS avg_at_n, avg((n_correct > 0)::INTEGER) AS cov_at_n,
       sum(agree)::BIGINT AS n_source_agree, sum(n_source)::BIGINT AS n_source
FROM j
GROUP BY GROUPING SETS ((benchmark, model_id), (benchmark, model_id, tier))
"""


def model_summary(con, *, benchmark: str | None = None, scheme: str = "paper") -> pl.DataFrame:
    """Rows (benchmark, model, tier, n_questions, samples_per_question, avg_at_n, cov_at_n,
    n_source_agree, n_source); tier '' is the whole benchmark, other rows one tier each."""
    df = query(con, _PER_MODEL, [benchmark, benchmark, scheme])
    # GROUPING SETS gives NULL tier for the overall row and '' for questions without a tier
    return df.with_columns(pl.col("tier").fill_null("*")).sort(["benchmark", "model", "tier"])


def summary_records(con, *, benchmark: str | None = None, scheme: str = "paper") -> list[dict]:
    """One dict per (benchmark, model): benchmark, model, n_questions, samples_per_question, avg_at_n,
    cov_at_n, agreement_with_source (None when nothing is graded or no source verdicts), by_tier."""
    df = model_summary(con, benchmark=benchmark, scheme=scheme)
    out: dict[tuple[str, str], dict] = {}
    for r in df.filter(pl.col("tier") == "*").iter_rows(named=True):
        out[(r["benchmark"], r["model"])] = {
            "benchmark": r["benchmark"], "model": r["model"], "n_questions": r["n_questions"],
            "samples_per_question": r["samples_per_question"], "avg_at_n": r["avg_at_n"],
            "cov_at_n": r["cov_at_n"],
            "agreement_with_source": (r["n_source_agree"] / r["n_source"]) if r["n_source"] else None,
            "by_tier": {},
        }
    for r in df.filter((pl.col("tier") != "*") & (pl.col("tier") != "")).iter_rows(named=True):
        out[(r["benchmark"], r["model"])]["by_tier"][r["tier"]] = {
            "n_questions": r["n_questions"], "avg_at_n": r["avg_at_n"], "cov_at_n": r["cov_at_n"]}
    for rec in out.values():
        rec["by_tier"] = dict(sorted(rec["by_tier"].items(), key=lambda kv: (tier_rank(kv[0]), kv[0])))
    return [out[k] for k in sorted(out)]
