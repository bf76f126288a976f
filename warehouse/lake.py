"""The warehouse as a Parquet lake: a folder of Parquet files plus ``manifest.json``.

``export(con, out, partition)`` writes every table of the warehouse (read from the catalog, so a
table added to schema.sql travels with no change here) as Parquet through DuckDB's ``COPY ... TO
... (FORMAT parquet, PARTITION_BY ...)``, one sub-folder per table::

    DIR/manifest.json
    DIR/questions/benchmark=aime24/data_0.parquet
    DIR/trajectories/benchmark=aime24/model_id=Qwen%2FQwQ-32B/data_0.parquet
    DIR/meta/data_0.parquet                       (a table without those columns: written whole)

Partitioning (``--partition benchmark,model``): a table is cut by the keys it has (``benchmark``,
``model_id``) or reaches through ``run_id`` (runs) or ``trajectory_id`` (trajectories -> runs):
trajectories, grades, steps, step_annotations and trajectory_flags carry the columns of their run,
added to the files (``added_columns`` in the manifest) and dropped again by the readers. Every
file keeps its partition columns (``WRITE_PARTITION_COLUMNS``), so readers need no hive-path
decoding and never guess types from folder names. An empty table is one file with no rows.
``trajectories`` also keeps the source row id (``_rowid``): full-text search scans row-id ranges
(warehouse.search), and the folder's view exposes it as ``rowid``.

``open_lake(path)`` opens the folder read-only: an in-memory DuckDB connection where schema.sql's
tables become views of the same name over ``read_parquet`` (schema.sql's own views, ``outcomes``,
then read them unchanged), so every query of warehouse/ runs as it does on the file. Opening checks
the folder from the Parquet footers only: files readable, row counts as the manifest says, each
file's partition values as its folders name, and no link leading out of the folder (docs/SCALE.md).
``clean_stale(out)``: an export removes the partial folders that killed exports left beside ``out``.
``warehouse.lake_import.merge(path, db_path)`` imports a folder into a warehouse file in one
transaction, idempotently (warehouse.db opens folders through this module, so the import, which
writes through warehouse.db, lives in its own).
A folder may live on object storage (``s3://``, ``gs://``, ...) where DuckDB's httpfs extension
is installed; without it, opening one is a clear error.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb

from .errors import LadderError

MANIFEST = "manifest.json"
FORMAT = "ladder-parquet"
FORMAT_VERSION = 1
PARTITION_KEYS = {"benchmark": "benchmark", "model": "model_id"}   # --partition name -> column
ROWID_TABLES = ("trajectories",)          # tables whose row id a query reads (warehouse.search)
DERIVED = ("run_question_stats",)         # recomputed on import (warehouse.lake_import), never merged
_URL = re.compile(r"^(s3|s3a|gs|gcs|r2|az|azure|abfss|https?|hf):/+", re.IGNORECASE)
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"  # DuckDB's folder name for a NULL partition value
STALE_AFTER = 24 * 3600                   # s: a partial export untouched this long is a dead export's, whoever's
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


class LakeError(LadderError):
    """A Parquet folder that cannot be read: no or a bad manifest, missing files, a newer schema."""


class ReadOnlyWarehouse(LadderError):
    """A writer was pointed at a Parquet folder, which is read-only."""


# --- where a lake is --------------------------------------------------------------------------

def location(path: str | os.PathLike) -> str:
    """The folder as DuckDB reads it: a local path, or a URL (``Path`` folds ``s3://b`` into ``s3:/b``)."""
    text = os.fspath(path)
    m = _URL.match(text)
    return f"{m.group(1).lower()}://{text[m.end():]}" if m else text


def is_remote(path: str | os.PathLike) -> bool:
    return _URL.match(os.fspath(path)) is not None


def is_lake(path: str | os.PathLike) -> bool:
    """A Parquet folder: a URL (only folders live there), or a local folder holding ``manifest.json``."""
    if is_remote(path):
        return True
    p = Path(path)
    return p.is_dir() and (p / MANIFEST).exists()


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET parquet_metadata_cache = true")
    return con


def _remote_ready(con: duckdb.DuckDBPyConnection, root: str) -> None:
    """Load httpfs for a URL, or say plainly why a remote folder cannot be read here."""
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error as exc:
        raise LakeError(
            f"cannot read the Parquet folder {root}: DuckDB's httpfs extension is not available here "
            f"({str(exc).splitlines()[0]}). Run `INSTALL httpfs` once in DuckDB on a machine with network "
            f"access (it cannot be installed offline) and give it the bucket's credentials as a persistent "
            f"DuckDB secret (docs/SCALE.md), or copy the folder to a local disk and point LADDER_DB at the "
            f"copy") from None


# --- the manifest -----------------------------------------------------------------------------

def _bad(where: str, field_name: str, why: str) -> LakeError:
    return LakeError(f"{where}: field {field_name!r} {why}")


def read_manifest(path: str | os.PathLike, con: duckdb.DuckDBPyConnection | None = None,
                  schema_version: str | None = None) -> dict:
    """The folder's manifest, checked: every error names the file and the field. With
    ``schema_version`` (the reader's: warehouse.db.SCHEMA_VERSION), a newer schema is refused."""
    root = location(path)
    where = _join(root, MANIFEST)
    if is_remote(root):
        own = con is None
        con = con or _connection()
        try:
            _remote_ready(con, root)
            try:
                text = con.execute("SELECT content FROM read_text(?)", [where]).fetchall()[0][0]
            except duckdb.Error as exc:
                raise LakeError(f"{where}: cannot read the manifest ({str(exc).splitlines()[0]})") from None
        finally:
            if own:
                con.close()
    else:
        p = Path(root)
        if not p.is_dir():
            raise LakeError(f"{root}: no such folder (a Parquet warehouse is a folder written by "
                            f"`python -m pipeline export-parquet --out DIR`)")
        if not (p / MANIFEST).is_file():
            raise LakeError(f"{where}: no manifest: {root} is not a folder written by "
                            f"`python -m pipeline export-parquet` (or its export did not finish)")
        _inside(p / MANIFEST, p.resolve(), root)
        try:
            text = (p / MANIFEST).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LakeError(f"{where}: cannot read the manifest ({exc})") from None
    try:
        m = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LakeError(f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(m, dict):
        raise LakeError(f"{where}: expected a JSON object, got {type(m).__name__}")
    if m.get("format") != FORMAT:
        raise _bad(where, "format", f"is {m.get('format')!r}, expected {FORMAT!r}")
    if not isinstance(m.get("format_version"), int) or m["format_version"] > FORMAT_VERSION:
        raise _bad(where, "format_version", f"is {m.get('format_version')!r}: this ladder reads version "
                                             f"{FORMAT_VERSION} or older")
    version = m.get("schema_version")
    if not isinstance(version, str) or not version.isdigit():
        raise _bad(where, "schema_version", f"is {version!r}, expected a number as a string, e.g. \"2\"")
    if schema_version is not None and int(version) > int(schema_version):
        raise _bad(where, "schema_version", f"is {version}, newer than this ladder's schema {schema_version}: "
                                            f"update ladder to read or import this folder")
    if not isinstance(m.get("data_version"), str):
        raise _bad(where, "data_version", f"is {m.get('data_version')!r}, expected a string")
    if not isinstance(m.get("export_id"), str) or not m["export_id"]:
        raise _bad(where, "export_id", f"is {m.get('export_id')!r}, expected a non-empty string")
    tables = m.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise _bad(where, "tables", "is missing or empty, expected an object: table -> {rows, columns, ...}")
    for name, t in tables.items():
        f = f"tables.{name}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise _bad(where, f, "is not a table name")
        if not isinstance(t, dict):
            raise _bad(where, f, "expected an object")
        if not isinstance(t.get("rows"), int) or isinstance(t.get("rows"), bool) or t["rows"] < 0:
            raise _bad(where, f + ".rows", f"is {t.get('rows')!r}, expected a row count")
        for key in ("columns", "partition_by", "added_columns"):
            v = t.get(key)
            if not isinstance(v, list) or not all(isinstance(c, str) and re.fullmatch(r"[A-Za-z_]\w*", c) for c in v):
                raise _bad(where, f"{f}.{key}", f"is {v!r}, expected a list of column names")
        if not t["columns"]:
            raise _bad(where, f + ".columns", "is empty")
    return m


# --- export -----------------------------------------------------------------------------------

def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's tables (not views), from the catalog."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' "
        "AND database_name = current_database() ORDER BY table_name").fetchall()]


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database() ORDER BY column_index", [table]).fetchall()]


def parse_partition(text: str | None) -> list[str]:
    """``"benchmark,model"`` -> the partition keys, checked."""
    keys = [k.strip() for k in (text or "").split(",") if k.strip()]
    bad = [k for k in keys if k not in PARTITION_KEYS]
    if bad:
        raise LakeError(f"--partition {text!r}: unknown key {bad[0]!r}; choose from {', '.join(PARTITION_KEYS)}")
    return list(dict.fromkeys(keys))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plan(con, table: str, cols: list[str], keys: list[str], rows: int) -> tuple[str, list[str], list[str]]:
    """The SELECT that feeds ``table``'s COPY, its partition columns, and the columns it adds (outer
    joins: a row whose run is not stored still travels, in a ``...=NULL`` partition)."""
    select = [f"x.{_q(c)}" for c in cols]
    if table in ROWID_TABLES:
        select.append("x.rowid AS _rowid")
    wanted = [PARTITION_KEYS[k] for k in keys] if rows else []
    joins, part, added = "", [], []
    have = set(cols)
    for c in wanted:
        if c in have:
            part.append(c)
        elif "run_id" in have and "runs" != table:
            joins = " LEFT JOIN runs r ON r.run_id = x.run_id"
            part.append(c)
            added.append(c)
        elif "trajectory_id" in have and table != "trajectories":
            joins = (" LEFT JOIN (SELECT t.trajectory_id, r.benchmark, r.model_id FROM trajectories t "
                     "JOIN runs r ON r.run_id = t.run_id) r ON r.trajectory_id = x.trajectory_id")
            part.append(c)
            added.append(c)
    select += [f"r.{_q(c)}" for c in added]
    order = " ORDER BY x.rowid" if table in ROWID_TABLES else ""
    return f"SELECT {', '.join(select)} FROM {_q(table)} x{joins}{order}", part, added


def export(con: duckdb.DuckDBPyConnection, out: str | os.PathLike, partition: list[str] | None = None,
           overwrite: bool = False, source: str = "") -> dict:
    """Write every table of the warehouse open on ``con`` into the folder ``out`` (written beside it
    and renamed into place, so a reader never sees half an export); returns the manifest."""
    def get_meta(con, key: str) -> str | None:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    out = Path(out)
    keys = list(partition or [])
    if out.exists():
        if not out.is_dir():
            raise LakeError(f"--out {out}: a file is in the way (expected a folder)")
        if any(out.iterdir()) and not (overwrite and (out / MANIFEST).is_file()):
            raise LakeError(f"--out {out}: the folder is not empty" +
                            ("" if not (out / MANIFEST).is_file() else
                             " (an earlier export: pass --overwrite to replace it)"))
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = out.with_name(f".{out.name}.partial-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        manifest: dict[str, Any] = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "schema_version": get_meta(con, "schema_version") or "",
            "data_version": get_meta(con, "data_version") or "0",
            "grader": {"name": get_meta(con, "active_grader"), "version": get_meta(con, "active_grader_version")},
            "export_id": uuid.uuid4().hex,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source": source,
            "partition": keys,
            "tables": {},
        }
        for table in tables(con):
            cols = columns(con, table)
            rows = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchall()[0][0]
            sql, part, added = _plan(con, table, cols, keys, rows)
            dest = tmp / table
            if part:
                con.execute(f"COPY ({sql}) TO ? (FORMAT parquet, PARTITION_BY ({', '.join(map(_q, part))}), "
                            f"WRITE_PARTITION_COLUMNS true)", [str(dest)])
            else:
                dest.mkdir()
                con.execute(f"COPY ({sql}) TO ? (FORMAT parquet)", [str(dest / "data_0.parquet")])
            manifest["tables"][table] = {"rows": int(rows), "columns": cols, "partition_by": part,
                                         "added_columns": added}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def clean_stale(out: str | os.PathLike) -> list[Path]:
    """Remove what killed exports to ``out`` left beside it: ``.NAME.partial-HOST-PID-ID`` folders
    (and ``.NAME.old-...``, once ``out`` is in place) whose export is dead: written on this host by
    a process that is gone, or, whoever wrote them (another host, a pid reused, an older ladder's
    ``.NAME.partial-ID``), untouched for ``STALE_AFTER``. A running export's folder is kept, so two
    exports may run at once. Returns the folders removed."""
    out = Path(out)
    pattern = re.compile(re.escape(f".{out.name}.") + r"(partial|old)-(?:([A-Za-z0-9]+)-(\d+)-)?[0-9a-f]{8}")
    if not out.parent.is_dir():
        return []
    gone = []
    for p in out.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m is None or p.is_symlink() or not p.is_dir() or (m.group(1) == "old" and not out.is_dir()):
            continue            # (an old export with no new one in place: killed mid-swap, kept to recover)
        dead = m.group(2) == _HOST and not _alive(int(m.group(3)))
        if dead or time.time() - _last_touched(p) > STALE_AFTER:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # another user's process
        return True
    return True


def _last_touched(folder: Path) -> float:
    newest = folder.lstat().st_mtime
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            try:
                newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
            except OSError:
                pass
    return newest


# --- read -------------------------------------------------------------------------------------

def _schema_sql() -> str:
    return resources.files("warehouse").joinpath("schema.sql").read_text()


_OPEN: dict[str, tuple[str, duckdb.DuckDBPyConnection]] = {}    # folder -> (export id, its views)
_OPEN_LOCK = threading.Lock()


def open_lake(path: str | os.PathLike, schema_version: str) -> duckdb.DuckDBPyConnection:
    """The folder as a read-only warehouse: a connection whose tables are views over its Parquet
    files (schema.sql's tables and views, so every query runs unchanged). A folder of a schema newer
    than ``schema_version`` (the reader's) is refused. The views are built once per export and
    process (~100 ms); each call reads the manifest and returns a new cursor on them (~1 ms), which
    the caller closes: the app opens one per page run."""
    root = location(path)
    with _OPEN_LOCK:
        cached = _OPEN.get(root)
        if cached is not None:
            m = read_manifest(root, cached[1] if is_remote(root) else None, schema_version)
            if m["export_id"] == cached[0]:
                return _cursor(cached[1])
        con = _build(root, schema_version)
        _OPEN[root] = (_export_id(con), con)   # an earlier export's cursors keep their own database
        return _cursor(con)


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    cur = con.cursor()
    cur.execute("SET enable_progress_bar = false")
    return cur


def _export_id(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT value FROM _lake WHERE key = 'export_id'").fetchall()[0][0]


def _build(root: str, schema_version: str) -> duckdb.DuckDBPyConnection:
    con = _connection()
    try:
        if is_remote(root):
            _remote_ready(con, root)
        m = read_manifest(root, con, schema_version)
        con.execute(_schema_sql())
        con.execute("CREATE TEMP TABLE _lake (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO _lake VALUES ('export_id', ?)", [m["export_id"]])
        catalog: dict[str, list[tuple[str, str]]] = {}
        for table, col, typ in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
                "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE NOT temporary) "
                "ORDER BY table_name, column_index").fetchall():
            catalog.setdefault(table, []).append((col, typ))
        for table, cols in catalog.items():
            info = m["tables"].get(table)
            if info is None:                 # a table newer than the folder: stays empty
                continue
            theirs = set(info["columns"])
            exprs = [_q(c) if c in theirs else f"CAST(NULL AS {t}) AS {_q(c)}" for c, t in cols]
            if table in ROWID_TABLES:
                exprs.append("_rowid AS rowid")
            con.execute(f"DROP TABLE {_q(table)}")
            files = _table_files(con, root, table)
            if not files:
                raise LakeError(f"{_join(root, table)}: cannot read the Parquet files of table {table!r} "
                                f"listed in {MANIFEST} (no .parquet file in its folder)")
            _check_files(con, root, table, info, files)
            try:
                rel = con.read_parquet(files, hive_partitioning=False)
            except duckdb.Error as exc:
                raise LakeError(f"{_join(root, table)}: cannot read the Parquet files of table {table!r} "
                                f"listed in {MANIFEST} ({str(exc).splitlines()[0]})") from None
            missing = [c for c, _ in cols if c in theirs and c not in rel.columns]
            if missing:
                raise LakeError(f"{_join(root, table)}: the files lack column {missing[0]!r} that "
                                f"{MANIFEST} lists for table {table!r}")
            rel.project(", ".join(exprs)).create_view(table)
        return con
    except BaseException:
        con.close()
        raise


def _inside(p: Path, base: Path, root: str) -> None:
    """Refuse a path of the folder that leads out of it (a symbolic link, or a link above it)."""
    real = p.resolve()
    if real != base and base not in real.parents:
        raise LakeError(f"{p}: a link to {real}, outside the Parquet folder {root}: a folder's files must "
                        f"lie inside it (copy the file in, or export again)")


def _table_files(con: duckdb.DuckDBPyConnection, root: str, table: str) -> list[str]:
    """The Parquet files under the table's folder, sorted; locally, a link (to a file or a folder,
    the table's folder included) that leads out of the folder is refused; links within it are
    followed, each folder once."""
    top = _join(root, table)
    if is_remote(root):
        return [r[0] for r in con.execute("SELECT file FROM glob(?) ORDER BY file",
                                          [_join(top, "**", "*.parquet")]).fetchall()]
    base = Path(root).resolve()
    if os.path.islink(top):
        _inside(Path(top), base, root)
    found: list[str] = []
    seen = {os.path.realpath(top)}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        for name in list(dirnames):
            sub = os.path.join(dirpath, name)
            if os.path.islink(sub):
                _inside(Path(sub), base, root)
                if os.path.realpath(sub) in seen:     # a folder walked already (a link back up)
                    dirnames.remove(name)
                seen.add(os.path.realpath(sub))
        for name in filenames:
            if name.endswith(".parquet"):
                f = os.path.join(dirpath, name)
                if os.path.islink(f):
                    _inside(Path(f), base, root)
                found.append(f)
    return sorted(found)


def _check_files(con: duckdb.DuckDBPyConnection, root: str, table: str, info: dict, files: list[str]) -> None:
    """From the Parquet footers only (cheap; cached): every file is readable, the table holds the
    rows the manifest says, and each file of a partitioned table holds the partition values its
    folder names (row-group statistics), so a moved or swapped file is not read under another model."""
    try:
        counts = con.execute("SELECT file_name, num_rows FROM parquet_file_metadata(?)", [files]).fetchall()
    except duckdb.Error as exc:
        for f in files:                   # name the damaged file
            try:
                con.execute("SELECT num_rows FROM parquet_file_metadata(?)", [f]).fetchall()
            except duckdb.Error as one:
                raise LakeError(f"{f}: not a readable Parquet file of table {table!r} "
                                f"({str(one).splitlines()[0]}): the folder is damaged, export it again") from None
        raise LakeError(f"{_join(root, table)}: cannot read the Parquet files of table {table!r} "
                        f"listed in {MANIFEST} ({str(exc).splitlines()[0]})") from None
    n = sum(rows for _, rows in counts)
    if n != info["rows"]:
        raise LakeError(f"{_join(root, table)}: {n} rows in the Parquet files, but {MANIFEST} field "
                        f"'tables.{table}.rows' says {info['rows']}: the folder is incomplete or altered")
    part = info["partition_by"]
    if not part:
        return
    named: dict[str, dict[str, str | None]] = {}       # file -> column -> value its folders name
    for f in files:
        for seg in f[len(_join(root, table)) + 1:].split("/")[:-1]:
            col, eq, value = seg.partition("=")
            if eq and col in part:
                named.setdefault(f, {})[col] = None if value == HIVE_NULL else unquote(value)
    for f, col, lo, hi, nulls, values in con.execute(
            "SELECT file_name, path_in_schema, stats_min_value, stats_max_value, stats_null_count, num_values "
            "FROM parquet_metadata(?) WHERE list_contains(?, path_in_schema)", [files, part]).fetchall():
        if col not in named.get(f, {}):
            continue
        want = named[f][col]
        if want is None:
            bad = nulls is not None and nulls != values
        else:
            bad = bool(nulls) or (lo is not None and (lo, hi) != (want, want))
        if bad:
            held = "NULL" if lo is None else repr(lo) if lo == hi else f"{lo!r} to {hi!r}"
            raise LakeError(f"{f}: holds {col} {held}, but its folder says {col}="
                            f"{'NULL' if want is None else repr(want)}: a file was moved or swapped (its rows "
                            f"would be read under another {col}); export the folder again")


def read_error(path: str | os.PathLike, exc: Exception) -> LakeError | None:
    """A DuckDB error raised by a query on the folder that says a file is damaged beyond what the
    footer checks of opening see (a corrupt page): one line naming the folder and DuckDB's reason.
    None for any other error (a bug in a query keeps its traceback)."""
    if isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)) or type(exc) is duckdb.Error:
        why = (str(exc).splitlines() or [""])[0].strip(" :") or type(exc).__name__
        return LakeError(f"{location(path)}: cannot read the Parquet folder ({why}): a file is damaged, "
                         f"export the folder again")
    return None


def data_version(path: str | os.PathLike) -> str:
    """A folder's version: its path and export id (a new export is a new version)."""
    m = read_manifest(path)
    return f"{location(path)}:{m['export_id']}:{m['data_version']}"
