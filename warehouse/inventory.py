"""What is in the warehouse: counts, benchmarks, models, runs (provenance), and the values the sidebar
filters offer. Every function takes an open connection and returns a polars DataFrame or a dict."""
from __future__ import annotations

import polars as pl

from . import tier_store
from .db import query
from .frames import tier_rank


def counts(con) -> dict[str, int]:
    """Row counts of the main tables."""
    tables = ["benchmarks", "questions", "models", "runs", "trajectories", "grades", "steps",
              "step_annotations", "trajectory_flags"]
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


def is_empty(con) -> bool:
    """True when the warehouse has no trajectories yet."""
    return con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0] == 0


def info(con) -> dict[str, str | None]:
    """Schema and data version and the active grader."""
    keys = ("schema_version", "data_version", "active_grader", "active_grader_version")
    meta = dict(con.execute("SELECT key, value FROM meta WHERE list_contains(?, key)", [list(keys)]).fetchall())
    return {k: meta.get(k) for k in keys}


def benchmarks(con) -> pl.DataFrame:
    return query(con, """
        SELECT b.benchmark, b.description, b.answer_type, b.source,
               (SELECT count(*) FROM questions q WHERE q.benchmark = b.benchmark) AS questions,
               (SELECT count(DISTINCT model_id) FROM runs r WHERE r.benchmark = b.benchmark) AS models,
               (SELECT count(*) FROM runs r WHERE r.benchmark = b.benchmark) AS runs,
               (SELECT count(*) FROM trajectories t WHERE t.benchmark = b.benchmark) AS trajectories
        FROM benchmarks b ORDER BY b.benchmark""")


def models(con, benchmark: str | None = None) -> pl.DataFrame:
    return query(con, """
        SELECT m.model_id, m.display_name, m."group", m.family, m.base_model, m.params_b, m.sft_size,
               m.sft_category, m.trajectory_length, m.trajectory_style, m.seed, m.train_step,
               count(DISTINCT r.run_id) AS runs, coalesce(sum(s.n), 0)::BIGINT AS trajectories
        FROM models m
        LEFT JOIN runs r ON r.model_id = m.model_id AND (? IS NULL OR r.benchmark = ?)
        LEFT JOIN run_question_stats s ON s.run_id = r.run_id
        GROUP BY ALL HAVING ? IS NULL OR count(r.run_id) > 0
        ORDER BY m."group" NULLS LAST, m.model_id""", [benchmark, benchmark, benchmark])


def runs(con, benchmark: str | None = None) -> pl.DataFrame:
    """Every run: where it came from (source, format, file) and how it was sampled."""
    return query(con, """
        SELECT r.run_id, r.model_id, r.benchmark, r.source, r.source_format, r.source_file,
               r.temperature, r.top_p, r.max_tokens, r.samples_per_question, r.tool_version,
               r.created_at, coalesce(sum(s.n), 0)::BIGINT AS trajectories,
               count(s.question_id) AS questions
        FROM runs r LEFT JOIN run_question_stats s USING (run_id)
        WHERE ? IS NULL OR r.benchmark = ?
        GROUP BY ALL ORDER BY r.benchmark, r.model_id, r.run_id""", [benchmark, benchmark])


def options(con) -> dict:
    """Values for the sidebar filters: benchmarks, schemes and tiers, categories, models, groups (and how many
    models each group holds)."""
    benches = [r[0] for r in con.execute("SELECT benchmark FROM benchmarks ORDER BY benchmark = 'aime24' DESC, "
                                         "(SELECT count(*) FROM trajectories t WHERE t.benchmark = "
                                         "benchmarks.benchmark) DESC, benchmark").fetchall()]
    out: dict = {"benchmarks": benches, "schemes": {}, "tiers": {}, "categories": {}, "models": {},
                 "groups": {}, "group_sizes": {}}
    for b in benches:
        out["schemes"][b] = tier_store.schemes(con, b)
        out["tiers"][b] = [r[0] for r in con.execute(
            f"SELECT DISTINCT tier FROM question_tiers WHERE benchmark = ? ORDER BY {tier_rank()}", [b]).fetchall()]
        out["categories"][b] = [r[0] for r in con.execute(
            "SELECT DISTINCT category FROM questions WHERE benchmark = ? AND category IS NOT NULL ORDER BY 1",
            [b]).fetchall()]
        out["models"][b] = [r[0] for r in con.execute(
            "SELECT DISTINCT model_id FROM runs WHERE benchmark = ? ORDER BY 1", [b]).fetchall()]
        out["groups"][b] = [r[0] for r in con.execute(
            'SELECT DISTINCT m."group" FROM models m JOIN runs r USING (model_id) '
            'WHERE r.benchmark = ? AND m."group" IS NOT NULL ORDER BY 1', [b]).fetchall()]
        out["group_sizes"][b] = dict(con.execute(
            'SELECT m."group", count(DISTINCT m.model_id) FROM models m JOIN runs r USING (model_id) '
            'WHERE r.benchmark = ? AND m."group" IS NOT NULL GROUP BY 1', [b]).fetchall())
    return out

