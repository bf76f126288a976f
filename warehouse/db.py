"""Connections to the warehouse: one DuckDB file, one writer at a time.

Concurrency design (see README, "Concurrency"): DuckDB lets one process hold a file for
writing, and read-only processes only while no process writes. So nobody holds the file
for long: the pipeline opens a read-write connection per batch (one short transaction)
and closes it; the app opens a read-only connection per query and closes it. Either side
that finds the file locked waits and retries with backoff (``LADDER_LOCK_TIMEOUT``
seconds, default 60) instead of crashing. Every committed write bumps ``data_version``
in ``meta``; the app caches query results keyed by it.
"""
from __future__ import annotations

import os
import random
import re
import time
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

from warehouse import lake
from warehouse.errors import LadderError

SCHEMA_VERSION = "4"
# version 2 dropped the indexes of the big tables (see schema.sql; _migrate_v1 rebuilds them);
# version 3 added the answer timeline (step_answers, trajectory_timelines): schema.sql creates them
# empty in an existing file, and `python -m pipeline annotate --timeline` fills them (too slow for a
# migration, which any reader may trigger); version 4 added the failure modes (trajectory_embeddings,
# failure_clusterings, failure_clusters, cluster_assignments): created empty the same way, filled by
# `python -m pipeline annotate --clusters`
UNINDEXED = ("trajectories", "grades", "steps", "step_annotations", "trajectory_flags")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = REPO_ROOT / "warehouse" / "demo.duckdb"


class WarehouseMissing(LadderError, FileNotFoundError):
    """The warehouse file does not exist yet."""


class WarehouseBusy(LadderError, TimeoutError):
    """Another process kept the warehouse locked for longer than the lock timeout."""


class WarehouseUnreadable(LadderError):
    """The warehouse path is not a DuckDB file of ladder's: an empty or foreign file, a folder."""


def db_path(path: str | os.PathLike | None = None) -> Path:
    """The warehouse path: ``--db`` if given, else ``$LADDER_DB``, else warehouse/demo.duckdb."""
    if path:
        return Path(path)
    env = os.environ.get("LADDER_DB")
    return Path(env) if env else DEFAULT_DB


def exists(path: str | os.PathLike | None = None) -> bool:
    """Whether there is a warehouse to open: a file, a Parquet folder, or a URL (checked on opening)."""
    p = db_path(path)
    return p.exists() or lake.is_lake(p)


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()      # a word: "Corrupt database file: ... in block at location 4096" is no lock
    # "different configuration": this process holds the file open the other way (the app's readers while an
    # upload writes): as transient as another process's lock
    return re.search(r"\block\b", msg) is not None or "conflicting" in msg or "being used by another" in msg \
        or "different configuration" in msg


def _unreadable(p: Path, what: str = "", exc: Exception | None = None) -> WarehouseUnreadable:
    head = f"not a DuckDB warehouse file: {p}{what}"
    if exc is not None and "not a valid DuckDB" not in str(exc):     # corrupt, truncated, unreadable
        head = f"cannot open the warehouse {p} ({str(exc).splitlines()[0]})"
    return WarehouseUnreadable(f"{head}: point --db/LADDER_DB at a warehouse, or remove it to create a new one")


def _check_path(p: Path, read_only: bool) -> None:
    """Refuse what DuckDB cannot open as a warehouse before it tries (or fails obscurely)."""
    if p.is_dir():
        raise WarehouseUnreadable(f"{p} is a folder, not a warehouse file: point --db/LADDER_DB at a "
                                  f".duckdb file (a new one is created on the first write)")
    above = next((a for a in p.parents if a.exists()), None)
    if above is not None and not above.is_dir():
        raise WarehouseUnreadable(f"cannot use {p} as the warehouse: {above} is a file, not a folder")
    if read_only and not p.exists():
        raise WarehouseMissing(f"no warehouse at {p}: build one with `python -m pipeline demo` "
                               f"or `python -m pipeline import ...`")
    if p.is_file():
        try:
            with open(p, "rb") as f:
                head = f.read(16)
        except OSError as exc:
            raise WarehouseUnreadable(f"cannot read the warehouse {p}: {exc.strerror or exc}") from exc
        if head.startswith(b"SQLite format 3\0"):      # DuckDB would try to download its sqlite extension
            raise _unreadable(p, " is an SQLite database")
        if not head and read_only:
            raise _unreadable(p, " is empty (0 bytes)")


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False,
            timeout: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting (with backoff) while another process holds its lock. A Parquet
    folder (warehouse.lake: ``export-parquet``) opens read-only, as views; a writer refuses it."""
    p = db_path(path)
    if lake.is_lake(p):
        if not read_only:
            raise lake.ReadOnlyWarehouse(
                f"{lake.location(p)} is a Parquet folder, read-only: write to a .duckdb warehouse file "
                f"(--db/LADDER_DB), and combine folders into one with `python -m pipeline import-parquet DIR --db FILE`")
        return lake.open_lake(p, SCHEMA_VERSION)
    _check_path(p, read_only)
    if not read_only:
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseUnreadable(f"cannot create the folder of the warehouse {p}: {exc.strerror or exc}") from exc
    if timeout is None:
        timeout = float(os.environ.get("LADDER_LOCK_TIMEOUT", "60"))
    deadline = time.monotonic() + timeout
    delay = 0.02
    replaced_empty = False
    while True:
        try:
            con = duckdb.connect(str(p), read_only=read_only)
            break
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                # DuckDB took the lock, then found no database: a 0-byte file (touch, mktemp) holds
                # nothing, so a writer starts a new warehouse in its place
                if not read_only and not replaced_empty and p.is_file() and p.stat().st_size == 0:
                    p.unlink()
                    replaced_empty = True
                    continue
                raise _unreadable(p, exc=exc) from exc
            if time.monotonic() > deadline:    # the other side held the lock all along
                raise WarehouseBusy(f"{p} stayed locked by another process (or a connection of this one) for {timeout:.0f}s") \
                    from exc
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
    con.execute("SET enable_progress_bar = false")   # no progress bars in CLI output or app logs
    if not read_only:
        ensure_schema(con)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    try:        # (information_schema costs 24 ms; every file an import writes opens the warehouse)
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    except duckdb.CatalogException:     # a new warehouse
        rows = []
    version = rows[0][0] if rows else None
    if version == SCHEMA_VERSION:
        return
    sql = resources.files("warehouse").joinpath("schema.sql").read_text()
    con.execute("BEGIN TRANSACTION")
    try:
        if version == "1":
            _migrate_v1(con, sql)
        con.execute(sql)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        con.execute("INSERT OR IGNORE INTO meta VALUES ('data_version', '0')")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _migrate_v1(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Version 1 -> 2: the big tables lose their PRIMARY KEY / UNIQUE indexes (rows kept as they are)."""
    for table in UNINDEXED:
        indexed = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? AND "
                              "constraint_type IN ('PRIMARY KEY', 'UNIQUE')", [table]).fetchall()[0][0]
        if indexed:
            con.execute(f"ALTER TABLE {table} RENAME TO {table}__v1")
    con.execute(sql)                                   # creates the renamed tables afresh
    for table in UNINDEXED:
        old = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                          [f"{table}__v1"]).fetchall()[0][0]
        if old:
            cols = ", ".join(f'"{r[0]}"' for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [f"{table}__v1"]).fetchall())
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {table}__v1")
            con.execute(f"DROP TABLE {table}__v1")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One write transaction on an open read-write connection: everything inside commits together
    (and bumps ``data_version``, which the app's caches key on) or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'data_version'")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def writer(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short write transaction: everything inside commits together or not at all."""
    con = connect(path)
    try:
        with transaction(con):
            yield con
    finally:
        con.close()


@contextmanager
def reader(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit so that writers are never blocked for long. A
    warehouse written by an older version is migrated first (one short write); a Parquet folder
    is read as it is."""
    p = db_path(path)
    con = connect(path, read_only=True)
    if not lake.is_lake(p):
        try:
            rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        except duckdb.CatalogException:          # a DuckDB file some other program wrote
            con.close()
            raise WarehouseUnreadable(f"{p} is a DuckDB file but not a ladder warehouse (no meta table): "
                                      f"point --db/LADDER_DB at a warehouse") from None
        if rows and rows[0][0] != SCHEMA_VERSION:
            con.close()
            connect(path).close()                # ensure_schema migrates, then the file is free again
            con = connect(path, read_only=True)
    try:
        yield con
    except duckdb.Error as exc:
        damaged = lake.read_error(p, exc) if lake.is_lake(p) else None   # a folder's file damaged
        if damaged is None:
            raise
        raise damaged from None
    finally:
        con.close()


def data_version(path: str | os.PathLike | None = None) -> str:
    """Changes on every committed write; '' when the warehouse does not exist."""
    p = db_path(path)
    if lake.is_lake(p):
        return lake.data_version(p)
    if not p.exists():
        return ""
    with reader(p) as con:
        rows = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall()
    return f"{p.resolve()}:{rows[0][0] if rows else ''}"


def get_meta(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open and refuses the next query
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None):
    """Run a parameterized query and return a polars DataFrame (the one way queries return rows)."""
    import polars as pl

    return pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())


def rows_by_id(row_ids: list[int], alias: str = "t") -> tuple[str, list]:
    """The SQL condition (and its parameters) that picks these row ids of a table aliased ``alias``. The
    range goes first: DuckDB pushes a row-id range into the scan and reads only the blocks in it, where
    ``rowid = ANY(?)`` alone is tested on every row of the table (64 rows of 576,000 responses: 2x faster,
    more the closer the rows lie). No ids: a condition no row meets."""
    return (f"{alias}.rowid BETWEEN ? AND ? AND {alias}.rowid = ANY(?)",
            [min(row_ids, default=0), max(row_ids, default=-1), list(row_ids)])
