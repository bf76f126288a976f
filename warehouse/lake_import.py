"""Import a Parquet folder (warehouse.lake) into a warehouse file: one transaction, natural keys,
idempotent; run_question_stats recomputed for the runs that gained rows; a benchmark's failure-mode
clustering travels whole or not at all (``CLUSTERING``). See docs/SCALE.md."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import db, lookup, textindex
from .lake import (
    DERIVED,
    MANIFEST,
    LakeError,
    _join,
    _q,
    _schema_sql,
    columns,
    is_remote,
    location,
    open_lake,
    read_manifest,
    tables,
)
from .stats import refresh_run_stats

META_LOCAL = ("schema_version", "data_version")   # meta keys that belong to one warehouse file
# a benchmark's stored failure modes (warehouse.clusters): taken whole from the folder where the warehouse has
# none for that benchmark, else the warehouse's are kept; `import-parquet` then clusters again a benchmark whose
# wrong trajectories are no longer the ones clustered (pipeline.derive.annotate.refresh_clusters)
CLUSTERING = ("failure_clusterings", "failure_clusters", "cluster_assignments")


_KEY_COMMENT = re.compile(r"--\s*key:\s*(\([^)]*\)|\w+)[^\n]*\n\s*CREATE TABLE IF NOT EXISTS\s+(\w+)", re.IGNORECASE)


def natural_keys(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Each table's natural key: its PRIMARY KEY / UNIQUE constraint, or, for the big unindexed
    tables, the ``-- key: ...`` comment above it in schema.sql (the key their writers keep)."""
    keys: dict[str, list[str]] = {}
    for key, table in _KEY_COMMENT.findall(_schema_sql()):
        keys[table] = [c.strip().strip('"') for c in key.strip("()").split(",") if c.strip()]
    for table, cols in con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND database_name = current_database() "
            "ORDER BY constraint_type = 'UNIQUE'").fetchall():
        keys.setdefault(table, list(cols))
    return keys


@dataclass
class MergeResult:
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)   # table -> (rows read, rows new)
    refreshed_runs: int = 0

    @property
    def rows_new(self) -> int:
        return sum(new for _, new in self.tables.values())


class _NothingNew(Exception):
    pass


def check_required(m: dict, root: str) -> None:
    """Every column the warehouse requires (NOT NULL, no default) of a table the folder holds is in
    the manifest: an import would otherwise fill it with NULL and fail half-way."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(_schema_sql())
        required = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT is_nullable AND column_default IS NULL "
            "AND schema_name = 'main' ORDER BY table_name, column_index").fetchall()
    finally:
        con.close()
    for table, col in required:
        info = m["tables"].get(table)
        if info is not None and table not in DERIVED and col not in info["columns"]:
            raise LakeError(f"{_join(root, MANIFEST)}: table {table!r} lacks column {col!r} (field "
                            f"'tables.{table}.columns'), which the warehouse requires (NOT NULL): the folder "
                            f"is altered or was not written by export-parquet")


def merge(path: str | os.PathLike, db_path: str | os.PathLike | None = None) -> MergeResult:
    """Import the Parquet folder ``path`` into the warehouse file ``db_path`` in one transaction:
    each row whose natural key the warehouse does not hold yet is added, a stored row is kept as it
    is (so importing twice writes nothing, and the data_version is bumped only when rows were added);
    meta keys the warehouse lacks (the active grader) are taken; run_question_stats is recomputed
    for the runs that gained trajectories or grades; the full-text index follows the committed rows.
    A failure leaves the warehouse as it was."""
    root = location(path)
    if not is_remote(root) and db.db_path(db_path).resolve() == Path(root).resolve():
        raise LakeError(f"{root} is both the folder and the target")
    src = open_lake(root, db.SCHEMA_VERSION)
    # rows travel as Arrow batches: 64-bit string offsets, or a batch holding over 2 GiB of text (57,600
    # responses of 40,000 characters) fails ("maximum total string size for regular string buffers")
    src.execute("SET arrow_large_buffer_size = true")
    res = MergeResult()
    try:
        m = read_manifest(root, src, db.SCHEMA_VERSION)     # (open_lake checked the files' row counts)
        check_required(m, root)
        con = db.connect(db_path)
        try:
            keys = natural_keys(con)
            try:
                with db.transaction(con):
                    touched = _merge_into(con, src, m, keys, res, root)
                    if not res.rows_new:
                        raise _NothingNew
                    if touched is None:
                        refresh_run_stats(con)
                        res.refreshed_runs = len(lookup.run_ids(con))
                    elif touched:
                        refresh_run_stats(con, sorted(touched))
                        res.refreshed_runs = len(touched)
            except _NothingNew:
                pass
        finally:
            con.close()
    finally:
        src.close()
    if res.rows_new:
        textindex.follow(db_path)              # the full-text index follows the committed rows
    return res


def _merge_into(con, src, m: dict, keys: dict[str, list[str]], res: MergeResult, root: str) -> set[str] | None:
    """Every table's new rows; returns the runs whose stats need a refresh (None: all of them). A row
    the warehouse refuses (a value of another type, a NULL where one is required) fails the import
    with one line naming the table (the caller's transaction is rolled back)."""
    ours = tables(con)
    clustered = ([r[0] for r in con.execute("SELECT benchmark FROM failure_clusterings").fetchall()]
                 if "failure_clusterings" in ours else [])
    touched: set[str] = set()
    refresh_all = False
    for table in ours:
        if table in DERIVED or table not in m["tables"]:
            continue
        cols = [c for c in columns(con, table) if c in m["tables"][table]["columns"]]
        sel = ", ".join(map(_q, cols))
        where, params = "", []
        if table == "meta":
            where, params = " WHERE key NOT IN (" + ", ".join("?" for _ in META_LOCAL) + ")", list(META_LOCAL)
        elif table in CLUSTERING:       # a benchmark's clustering is one whole: the warehouse's own one is kept
            where, params = " WHERE NOT list_contains(?, benchmark)", [clustered]
        try:
            n_src = src.execute(f"SELECT count(*) FROM {_q(table)}{where}", params).fetchall()[0][0]
            batches = src.sql(f"SELECT {sel} FROM {_q(table)}{where}", params=params or None).to_arrow_reader()
            key = [c for c in keys.get(table, []) if c in cols] or cols
            match = " AND ".join(f"x.{_q(c)} IS NOT DISTINCT FROM s.{_q(c)}" for c in key)
            con.register("_lake_rows", batches)
            try:
                # rows new to the warehouse; within the folder the first of rows sharing a key
                new_rows = (f"SELECT {sel} FROM _lake_rows s WHERE NOT EXISTS "
                            f"(SELECT 1 FROM {_q(table)} x WHERE {match})")
                con.execute(f"CREATE TEMP TABLE _lake_new AS SELECT * FROM ({new_rows}) "
                            f"QUALIFY row_number() OVER (PARTITION BY {', '.join(map(_q, key))}) = 1")
            finally:
                con.unregister("_lake_rows")
            n_new = con.execute("SELECT count(*) FROM _lake_new").fetchall()[0][0]
            if n_new:
                con.execute(f"INSERT INTO {_q(table)} ({sel}) SELECT {sel} FROM _lake_new")
                if table == "trajectories":
                    touched |= {r[0] for r in con.execute("SELECT DISTINCT run_id FROM _lake_new").fetchall()}
                elif table == "grades":
                    touched |= {r[0] for r in con.execute(
                        "SELECT DISTINCT t.run_id FROM trajectories t JOIN _lake_new g USING (trajectory_id)").fetchall()}
                elif table == "meta":
                    refresh_all |= bool(con.execute(
                        "SELECT count(*) FROM _lake_new WHERE key LIKE 'active_grader%'").fetchall()[0][0])
            con.execute("DROP TABLE _lake_new")    # (on an error the rollback drops it)
        except duckdb.Error as exc:
            raise LakeError(f"{_join(root, table)}: cannot import table {table!r} ({str(exc).splitlines()[0]}): "
                            f"nothing was imported") from None
        res.tables[table] = (int(n_src), int(n_new))
    return None if refresh_all else touched
