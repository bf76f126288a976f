"""Queries for browsing the warehouse: what is in it, questions, samples, one trajectory, search.

Every function takes an open connection (``warehouse.db.reader()``) and returns a polars
DataFrame (or a dict for one row). Only ``trajectory()`` and ``search()`` read response text;
everything a filter change re-runs reads aggregates (``run_question_stats``) or the ``outcomes``
view without its text. User input only ever travels as query parameters.
"""
from __future__ import annotations

from dataclasses import replace

import polars as pl

from .db import query
from .filters import Selection
from .records import TIERS

def _tier_order(col: str = "tier") -> str:
    return f"CASE {col} " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(TIERS)) + " ELSE 9 END"


# --- what is in the warehouse -------------------------------------------------------------

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
    """Values for the sidebar filters: benchmarks, schemes and tiers, categories, models, groups."""
    benches = [r[0] for r in con.execute("SELECT benchmark FROM benchmarks ORDER BY benchmark = 'aime24' DESC, "
                                         "(SELECT count(*) FROM trajectories t WHERE t.benchmark = "
                                         "benchmarks.benchmark) DESC, benchmark").fetchall()]
    out: dict = {"benchmarks": benches, "schemes": {}, "tiers": {}, "categories": {}, "models": {},
                 "groups": {}}
    for b in benches:
        out["schemes"][b] = [r[0] for r in con.execute(
            "SELECT DISTINCT scheme FROM question_tiers WHERE benchmark = ? ORDER BY scheme = 'paper' DESC, scheme",
            [b]).fetchall()]
        out["tiers"][b] = [r[0] for r in con.execute(
            f"SELECT DISTINCT tier FROM question_tiers WHERE benchmark = ? ORDER BY {_tier_order()}", [b]).fetchall()]
        out["categories"][b] = [r[0] for r in con.execute(
            "SELECT DISTINCT category FROM questions WHERE benchmark = ? AND category IS NOT NULL ORDER BY 1",
            [b]).fetchall()]
        out["models"][b] = [r[0] for r in con.execute(
            "SELECT DISTINCT model_id FROM runs WHERE benchmark = ? ORDER BY 1", [b]).fetchall()]
        out["groups"][b] = [r[0] for r in con.execute(
            'SELECT DISTINCT m."group" FROM models m JOIN runs r USING (model_id) '
            'WHERE r.benchmark = ? AND m."group" IS NOT NULL ORDER BY 1', [b]).fetchall()]
    return out


# --- aggregates for a selection -----------------------------------------------------------

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
        ORDER BY model_id, {_tier_order()}""",
                 params + [sel.benchmark, sel.scheme])


def question_accuracy(con, sel: Selection) -> pl.DataFrame:
    """Per (question, model): accuracy, samples, model group, tier, category."""
    where, params = sel.where("s")
    return query(con, f"""
        SELECT s.question_id, s.model_id, m."group", t.tier, q.category,
               sum(s.n_correct) / sum(s.n) AS accuracy, sum(s.n)::BIGINT AS n
        FROM run_question_stats s
        JOIN models m USING (model_id)
        JOIN questions q ON q.benchmark = s.benchmark AND q.question_id = s.question_id
        LEFT JOIN question_tiers t ON t.benchmark = s.benchmark AND t.question_id = s.question_id
                                  AND t.scheme = ?
        WHERE {where} GROUP BY ALL""", [sel.scheme] + params)


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
        ORDER BY {_tier_order('t.tier')}, a.accuracy DESC NULLS LAST,
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


# --- one trajectory -----------------------------------------------------------------------

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


# Characters of model output, most frequent first (the real traces in ../shared/data/traces, 0.9 M
# characters); any other character is rarer still. Scanning for a needle costs least when the
# needle starts with a rare character: DuckDB's substring search (and ILIKE's matcher) stop at
# every occurrence of the first character before comparing the rest.
_BY_FREQUENCY = " etioras\\nh\nlfcdmu}{1g,bp)(2.w0=x3vy4T:5-6][*98+q7ASkC^DBN_'"


def _rarity(c: str) -> int:
    i = _BY_FREQUENCY.find(c)
    return len(_BY_FREQUENCY) if i < 0 else i


def _caseless(text: str) -> bool:
    """No character of ``text`` changes with case (digits, ``$``, ``=``, spaces ...)."""
    return text.lower() == text.upper()


def search_anchor(text: str, min_len: int = 4) -> str:
    """The suffix of ``text`` that starts at its rarest character (at least ``min_len`` long,
    earliest on ties): every response containing ``text`` contains it, and it is cheap to scan for."""
    last = max(0, len(text) - min_len)
    i = max(range(last + 1), key=lambda i: (_rarity(text[i]), -i))
    return text[i:]


def _caseless_chunk(text: str) -> str | None:
    """The longest run of ``text`` without cased characters (digits, ``$``, ``=`` ...), stripped,
    of 3 characters or more: an all-lower-case query's matches contain it verbatim."""
    runs, cur = [], []
    for c in text + "a":
        if _caseless(c):
            cur.append(c)
        else:
            runs.append("".join(cur).strip())
            cur = []
    best = max(runs, key=len)
    return best if len(best) >= 3 else None


def search_condition(text: str) -> tuple[str, str, list]:
    """SQL condition over ``t.response`` for a full-text search, the position expression for its
    snippet, and the condition's parameters. Literal: ``%``, ``_`` and ``\\`` are plain characters.

    Smart case, as in ripgrep: a query with an upper-case letter matches case-sensitively (a
    substring scan); an all-lower-case query ignores case (ILIKE). Cheaper necessary conditions
    run first, each only on the rows the previous one kept: the query's caseless part (``$17$``
    in ``so the answer is $17$``), then the suffix that starts at its rarest character.
    """
    anchor = search_anchor(text)
    if any(c.isupper() for c in text) or _caseless(text):      # nothing to fold
        needles = [anchor, text] if anchor != text else [text]
        return " AND ".join(["contains(t.response, ?)"] * len(needles)), "strpos(t.response, ?)", needles
    wildcards = "%" in text or "_" in text
    chunk = _caseless_chunk(text)
    checks = []                                    # (condition, parameter), cheapest first
    for needle in dict.fromkeys(x for x in (chunk and search_anchor(chunk, 3), anchor) if x and x != text):
        if _caseless(needle):
            checks.append(("contains(t.response, ?)", needle))
        elif not ("%" in needle or "_" in needle):
            checks.append(("t.response ILIKE ?", "%" + needle + "%"))
    # LIKE's wildcards in the query: match lower-cased text instead (rare; an ESCAPE clause would
    # take ILIKE off its fast path, 2.4x slower)
    checks.append(("contains(lower(t.response), ?)", text) if wildcards else ("t.response ILIKE ?", "%" + text + "%"))
    return " AND ".join(c for c, _ in checks), "strpos(lower(t.response), ?)", [p for _, p in checks]


SCAN_MIN_ROWS = 2048       # rows per range at least (one DuckDB vector)


def _scan_ranges(con, sel: Selection) -> list[tuple[int, int]]:
    """Row-id ranges of ``trajectories`` that hold every row of the selection's runs (its
    benchmark, models and groups; tiers and categories are left to the caller's filter), cut
    so that a scan of them runs on every DuckDB thread.

    Two reasons. DuckDB gives a table scan one thread per 122,880 rows: a paper-size study
    (57,600 responses of ~40,000 characters, 2.3 GB of text) would be read by one core; each
    range becomes a branch of a UNION ALL and the branches run in parallel (2 per thread, as row
    groups differ in size). And a run's rows are written together, so a search within a few
    models reads only their rows: a row-id range skips the rest unread, a run_id filter would not.
    """
    k = 2 * int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    rwhere, rparams = replace(sel, tiers=(), categories=()).where("r")
    spans = con.execute(f"""
        SELECT min(t.rowid), max(t.rowid) + 1 FROM trajectories t
        WHERE t.run_id IN (SELECT run_id FROM runs r WHERE {rwhere})
        GROUP BY t.run_id ORDER BY 1""", rparams).fetchall()
    merged: list[list[int]] = []
    for lo, hi in spans:                       # runs written one after another: one span
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    while len(merged) > k:                     # at most k spans: close the smallest gap
        i = min(range(len(merged) - 1), key=lambda i: merged[i + 1][0] - merged[i][1])
        merged[i:i + 2] = [[merged[i][0], merged[i + 1][1]]]
    size = max(SCAN_MIN_ROWS, -(-sum(hi - lo for lo, hi in merged) // k))
    return [(a, min(a + size, hi)) for lo, hi in merged for a in range(lo, hi, size)]


def search(con, sel: Selection, text: str, limit: int = 50) -> pl.DataFrame:
    """Responses that contain ``text`` (smart case: see ``search_condition``), with a snippet:
    the first ``limit`` in (model, question, sample) order."""
    if not text or not text.strip():
        return pl.DataFrame()
    where, params = sel.where("o")
    cond, pos, cparams = search_condition(text)
    ranges = _scan_ranges(con, sel)
    if not ranges:
        return pl.DataFrame()
    scan = " UNION ALL ".join(
        f"SELECT t.rowid AS row_id, t.trajectory_id FROM trajectories t "
        f"WHERE t.rowid >= ? AND t.rowid < ? AND {cond}" for _ in ranges)
    hits = query(con, f"""
        WITH found AS ({scan})
        SELECT o.trajectory_id, o.model_id, o.question_id, o.sample_idx, o.is_correct, f.row_id
        FROM outcomes o JOIN found f USING (trajectory_id)
        WHERE {where}
        ORDER BY o.model_id, try_cast(o.question_id AS INTEGER) NULLS LAST, o.question_id, o.sample_idx
        LIMIT ?""", [x for lo, hi in ranges for x in (lo, hi, *cparams)] + params + [int(limit)])
    # the snippets are read by row id: a join on trajectory_id would decompress every response
    # again (~1 s), a row-id lookup only the blocks that hold these rows
    snippets = query(con, f"""
        SELECT t.rowid AS row_id, substr(t.response, greatest({pos} - 80, 1), 160 + length(?)) AS snippet
        FROM trajectories t WHERE t.rowid = ANY(?)""", [text, text, hits["row_id"].to_list()])
    return hits.join(snippets, on="row_id", how="left", maintain_order="left").drop("row_id")


# --- step errors --------------------------------------------------------------------------

_BY = {"tier": "t.tier", "category": "q.category", "model": "o.model_id", "group": 'm."group"'}


def step_error_counts(con, sel: Selection, by: str = "tier") -> pl.DataFrame:
    """Step annotation labels counted per ``by`` (tier|category|model|group): label, by, steps, trajectories."""
    return _taxonomy(con, sel, by, "step_annotations", "label",
                     "count(*) AS steps, count(DISTINCT x.trajectory_id) AS trajectories")


def flag_counts(con, sel: Selection, by: str = "tier") -> pl.DataFrame:
    """Trajectory flags counted per ``by`` (tier|category|model|group): flag, by, trajectories."""
    return _taxonomy(con, sel, by, "trajectory_flags", "flag", "count(DISTINCT x.trajectory_id) AS trajectories")


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
