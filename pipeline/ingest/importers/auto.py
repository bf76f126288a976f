"""`auto`: the format of each file is read from its content, so a folder of mixed files imports in one command.

Detection (``detect(path)``) looks at a few bytes or the first record, never the file name alone. The
container is read here; which format it holds, each importer says (``pipeline.ingest.importers``: the first
module, in the registry's order, whose detector accepts):

- a zip archive: its member names (``detect_zip``; Inspect's ``.eval`` logs);
- a ``.json`` file whose first bytes are an object: those bytes (``detect_json``; Inspect's JSON logs);
- a parquet file (``PAR1``) or an Arrow file / stream: its column names, the schema only is read
  (``detect_columns``; `lighteval`, else `hf`, which reads any table);
- a JSON-lines file: its first JSON object (``detect_record``; `lm-eval`, `qwen-eval`, `jsonl`,
  `lighteval`, `hf`).

A folder is walked recursively: files ending in ``.jsonl``, ``.parquet``, ``.arrow``, ``.eval`` or
``.json`` are detected; an undetected ``.json`` (e.g. lm-eval's ``results_*.json``) is passed over,
any other undetected candidate is imported as a file-level error ("format not recognized").
A file found in a folder keeps the model name its format's ``files()`` gives it (lm-eval's folder names,
see `lm-eval`); each file's run records the detected format.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from pipeline.ingest.importers import IMPORTERS

from . import tables
from .base import ImportContext

NAME = "auto"
DESCRIPTION = "detect each file's format from its content (a folder may mix formats)"

SUFFIXES = (".jsonl", ".parquet", ".arrow", ".eval", ".json")
_PEEK = 1 << 16


def formats() -> dict:
    """The formats `auto` can name: format name -> importer module, in the registry's (detection) order."""
    mods = {n: IMPORTERS.get(n) for n in IMPORTERS.names() if n != NAME}
    return {n: m for n, m in mods.items()
            if any(hasattr(m, f"detect_{kind}") for kind in ("zip", "json", "columns", "record"))}


def _first(kind: str, sample) -> str | None:
    """The first format whose ``detect_<kind>(sample)`` accepts ``sample``."""
    return next((n for n, m in formats().items() if (fn := getattr(m, f"detect_{kind}", None)) and fn(sample)),
                None)


def _first_object(path: Path) -> dict | None:
    """The first JSON object of a JSON-lines file (lines up to 64 MiB; blank or bad lines skipped, 20 at most)."""
    tried = 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            tried += 1
            try:
                obj = json.loads(raw.lstrip(b"\xef\xbb\xbf").decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                obj = None
            if isinstance(obj, dict):
                return obj
            if tried >= 20:
                return None
    return None


def _columns(path: Path, kind: str) -> list[str] | None:
    """The column names of a 'parquet' or 'arrow' file (``tables.table_kind``); None when it cannot be read."""
    import pyarrow as pa              # with datasets: heavy, loaded only for a table file
    import pyarrow.parquet as pq
    try:
        if kind == "parquet":
            return list(pq.read_schema(path).names)
        with pa.memory_map(str(path)) as src:
            try:
                return list(pa.ipc.open_file(src).schema.names)
            except pa.ArrowInvalid:
                src.seek(0)
                return list(pa.ipc.open_stream(src).schema.names)
    except (pa.ArrowException, OSError, ValueError):
        return None


def format_of_columns(cols: list[str] | set[str]) -> str | None:
    return _first("columns", set(cols))


def format_of_record(r: dict) -> str | None:
    return _first("record", r)


def detect(path: Path) -> str | None:
    """The import format of one file, from its content; None when it is none of them."""
    with open(path, "rb") as f:
        head = f.read(_PEEK)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:      # only the listing: Inspect's own API reads the log
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        return _first("zip", names)
    if (table := tables.table_kind(head)) is not None:
        cols = _columns(path, table)
        return None if cols is None else format_of_columns(cols)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if path.suffix == ".json" and text.startswith(b"{"):
        return _first("json", head)
    obj = _first_object(path)
    return None if obj is None else format_of_record(obj)


def files(path: Path) -> list[tuple[Path, str | None]]:
    """The candidate files under ``path`` (a file given on its own is always a candidate); a file found in a
    folder carries the model name its format's ``files(path)`` gives it (lm-eval: the folders' names)."""
    if path.is_file():
        return [(path, None)]
    names: dict[str, dict] = {}         # format -> {file: model name} of its files(path), read once
    mods = formats()
    out = []
    for f in sorted(path.rglob("*")):
        if f.suffix not in SUFFIXES or not f.is_file():
            continue
        fmt = _detect_safe(f)
        if fmt is None and f.suffix == ".json":
            continue
        if fmt in mods and fmt not in names:
            names[fmt] = dict(mods[fmt].files(path)) if hasattr(mods[fmt], "files") else {}
        out.append((f, names.get(fmt, {}).get(f)))
    return out


def _detect_safe(path: Path) -> str | None:
    try:
        return detect(path)
    except OSError:
        return None


def parse(path: Path, ctx: ImportContext) -> None:
    fmt = detect(path)
    mods = formats()
    if fmt not in mods:
        ctx.error(0, "file", f"format not recognized (looked for: {', '.join(mods)}); give --format")
        return
    ctx.fmt = fmt               # the run records the detected format (and its id includes it)
    mods[fmt].parse(path, ctx)


__all__ = ["detect", "files", "formats", "parse", "format_of_record", "format_of_columns"]
