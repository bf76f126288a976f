"""Reads the pipeline needs: what is stored already, and records read back.

Each function is one named, parameterized query over an open connection (a reader, or the
writer inside its transaction) returning records or plain Python values; the pipeline holds no
SQL of its own. Rows become records only through ``Record.from_row``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence, TypeVar

import duckdb
import pyarrow as pa

from .records import Model, Question, Record

R = TypeVar("R", bound=Record)


def dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of a parameterized query as dicts (column -> value), for the warehouse's own modules."""
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _select(cls: type[Record]) -> str:
    return ", ".join(f'"{c}"' for c in cls.columns())


# --- what the warehouse holds -------------------------------------------------------------------
def tables(con) -> set[str]:
    """The names of the tables (and views) in the warehouse."""
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def benchmark_names(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT benchmark FROM benchmarks ORDER BY 1").fetchall()]


def benchmark_answer_type(con, benchmark: str) -> str | None:
    """The benchmark's answer type ('integer' | 'math'); None when the benchmark is not stored."""
    found = con.execute("SELECT answer_type FROM benchmarks WHERE benchmark = ?", [benchmark]).fetchall()
    return found[0][0] if found else None


def question_count(con, benchmark: str) -> int:
    return int(con.execute("SELECT count(*) FROM questions WHERE benchmark = ?", [benchmark]).fetchall()[0][0])


def run_ids(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}


def trajectory_ids(con, runs: Sequence[str]) -> set[int]:
    """The ids of the trajectories stored for these runs."""
    return {r[0] for r in con.execute("SELECT trajectory_id FROM trajectories WHERE list_contains(?, run_id)",
                                      [list(runs)]).fetchall()}


def stored_samples(con, runs: Sequence[str]) -> set[tuple[str, str, int]]:
    """(run_id, question_id, sample_idx) of every trajectory stored for these runs."""
    rows = con.execute("SELECT run_id, question_id, sample_idx FROM trajectories WHERE list_contains(?, run_id)",
                       [list(runs)]).fetchall()
    return {(r, q, int(i)) for r, q, i in rows}


def has_model(con, model_id: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM models WHERE model_id = ?", [model_id]).fetchall()[0][0])


# --- records read back --------------------------------------------------------------------------
def records(con, cls: type[R]) -> list[R]:
    """Every row of the record type's table (``cls.TABLE``), as records."""
    return [cls.from_row(r) for r in dicts(con, f"SELECT {_select(cls)} FROM {cls.TABLE}")]


def questions(con, benchmark: str) -> list[Question]:
    """A benchmark's question table."""
    return [Question.from_row(r) for r in dicts(
        con, f"SELECT {_select(Question)} FROM questions WHERE benchmark = ?", [benchmark])]


def models(con, model_ids: Sequence[str] | None = None) -> list[Model]:
    """The stored models (only these, when ``model_ids`` is given), by model id."""
    where, params = ("WHERE list_contains(?, model_id) ", [list(model_ids)]) if model_ids is not None else ("", [])
    return [Model.from_row(r) for r in dicts(
        con, f"SELECT {_select(Model)} FROM models {where}ORDER BY model_id", params)]


# --- trajectories for the warehouse-level drivers (grade, segment, annotate) --------------------
def trajectories_to_process(con, *, limit: int, after: int | None = None,
                            ungraded_by: tuple[str, str] | None = None,
                            unannotated_by: str | None = None) -> list[dict[str, Any]]:
    """One page of stored trajectories in trajectory_id order, keyset-paginated (``after``: the last
    id of the previous page): trajectory_id, run_id, benchmark, question_id, response,
    finish_reason, problem, gold (None without a question) and answer_type ('math' by default).
    ``ungraded_by=(grader, version)``: only trajectories that grader version has not graded;
    ``unannotated_by=annotator``: only those it wrote nothing for (no step label, no flag)."""
    sql = """
    SELECT t.trajectory_id, t.run_id, t.benchmark, t.question_id, t.response, t.finish_reason,
           q.problem, q.answer AS gold, coalesce(b.answer_type, 'math') AS answer_type
    FROM trajectories t
    LEFT JOIN questions q USING (benchmark, question_id)
    LEFT JOIN benchmarks b USING (benchmark)
    WHERE true
    """
    params: list[Any] = []
    if ungraded_by is not None:
        sql += (" AND NOT EXISTS (SELECT 1 FROM grades g WHERE g.trajectory_id = t.trajectory_id "
                "AND g.grader = ? AND g.grader_version = ?)")
        params += list(ungraded_by)
    if unannotated_by is not None:
        sql += (" AND NOT EXISTS (SELECT 1 FROM step_annotations a WHERE a.trajectory_id = t.trajectory_id "
                "AND a.annotator = ?) AND NOT EXISTS (SELECT 1 FROM trajectory_flags f "
                "WHERE f.trajectory_id = t.trajectory_id AND f.annotator = ?)")
        params += [unannotated_by, unannotated_by]
    if after is not None:
        sql += " AND t.trajectory_id > ?"
        params.append(after)
    return dicts(con, sql + " ORDER BY t.trajectory_id LIMIT ?", params + [limit])


@contextmanager
def ids_table(con, trajectory_ids: Sequence[int]) -> Iterator[None]:
    """These trajectory ids registered as the table ``_ids`` (one column, trajectory_id) while inside."""
    con.register("_ids", pa.table({"trajectory_id": pa.array(list(trajectory_ids), pa.int64())}))
    try:
        yield
    finally:
        con.unregister("_ids")


def _with_ids(con, trajectory_ids: Sequence[int], sql: str) -> list[dict[str, Any]]:
    """``sql`` over the registered table ``_ids`` of these trajectory ids."""
    with ids_table(con, trajectory_ids):
        return dicts(con, sql)


def steps_of(con, trajectory_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The stored steps of these trajectories (trajectory_id, step_idx, start_char, end_char,
    kind), in order."""
    return _with_ids(con, trajectory_ids, "SELECT trajectory_id, step_idx, start_char, end_char, kind FROM steps "
                                          "WHERE trajectory_id IN (SELECT trajectory_id FROM _ids) ORDER BY 1, 2")


def outcomes_of(con, trajectory_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The verdicts of these trajectories under the active grader (trajectory_id, is_correct, answer)."""
    return _with_ids(con, trajectory_ids, "SELECT trajectory_id, is_correct, answer FROM outcomes "
                                          "WHERE trajectory_id IN (SELECT trajectory_id FROM _ids)")
