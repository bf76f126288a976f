"""`auto`: the format of each file is read from its content, so a folder of mixed files imports in one command.

Detection (``detect(path)``) looks at a few bytes or the first record, never the file name alone:

- a zip archive holding ``header.json`` or ``_journal/start.json``: an Inspect AI ``.eval`` log (`inspect`);
  a ``.json`` file whose first bytes are an object with ``"version"`` and ``"eval"`` keys: an Inspect
  JSON log (`inspect`);
- a parquet file (``PAR1``) or an Arrow file / stream: its column names (the schema only is read):
  ``doc`` + ``model_response`` (lighteval >= 0.10) or ``predictions`` + ``metrics`` (older lighteval)
  -> `lighteval`; anything else -> `hf`;
- a JSON-lines file: the keys of its first JSON object: ``doc`` + ``resps`` -> `lm-eval`; ``code`` with
  ``question`` or ``gt`` -> `qwen-eval`; ``response`` -> `jsonl`; a list of ``generations`` /
  ``responses`` / ``completions`` / ``outputs``, or ``generation`` etc. -> `hf`.

A folder is walked recursively: files ending in ``.jsonl``, ``.parquet``, ``.arrow``, ``.eval`` or
``.json`` are detected; an undetected ``.json`` (e.g. lm-eval's ``results_*.json``) is passed over,
any other undetected candidate is imported as a file-level error ("format not recognized").
lm-eval files keep the model names their folders give (see `lm-eval`); each file's run records the
detected format.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from . import hf, inspect_eval, jsonl, lighteval, lm_eval, qwen_eval, tables
from .base import ImportContext

NAME = "auto"
DESCRIPTION = "detect each file's format from its content (a folder may mix formats)"

SUFFIXES = (".jsonl", ".parquet", ".arrow", ".eval", ".json")
# the formats detect() can name (pipeline.importers registers them; importing it here would be a cycle)
FORMATS = {m.NAME: m for m in (qwen_eval, lm_eval, jsonl, inspect_eval, hf, lighteval)}
_PEEK = 1 << 16
_HF_LIST_KEYS = ("generations", "responses", "completions", "outputs")
_HF_ONE_KEYS = ("generation", "completion", "output")


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


def format_of_columns(cols: list[str] | set[str]) -> str:
    cols = set(cols)
    if {"doc", "model_response"} <= cols or {"predictions", "metrics"} <= cols and \
            ({"example", "full_prompt", "gold"} & cols):
        return "lighteval"
    return "hf"


def format_of_record(r: dict) -> str | None:
    if "doc" in r and "resps" in r:
        return "lm-eval"
    if "code" in r and ("question" in r or "gt" in r):
        return "qwen-eval"
    if "response" in r and isinstance(r["response"], str):
        return "jsonl"
    if any(isinstance(r.get(k), list) for k in _HF_LIST_KEYS) or any(isinstance(r.get(k), str) for k in _HF_ONE_KEYS):
        return "hf"
    if {"doc", "model_response"} <= set(r):
        return "lighteval"
    return None


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
        return "inspect" if "header.json" in names or "_journal/start.json" in names else None
    if (table := tables.table_kind(head)) is not None:
        cols = _columns(path, table)
        return None if cols is None else format_of_columns(cols)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if path.suffix == ".json" and text.startswith(b"{"):
        if b'"eval"' in head and b'"version"' in head:
            return "inspect"
        return None
    obj = _first_object(path)
    return None if obj is None else format_of_record(obj)


def files(path: Path) -> list[tuple[Path, str | None]]:
    """The candidate files under ``path`` (a file given on its own is always a candidate); lm-eval
    files found in a folder carry the model name their folders imply."""
    if path.is_file():
        return [(path, None)]
    lm_names = dict(lm_eval.files(path))
    out = []
    for f in sorted(path.rglob("*")):
        if f.suffix not in SUFFIXES or not f.is_file():
            continue
        fmt = _detect_safe(f)
        if fmt is None and f.suffix == ".json":
            continue
        out.append((f, lm_names.get(f) if fmt == "lm-eval" else None))
    return out


def _detect_safe(path: Path) -> str | None:
    try:
        return detect(path)
    except OSError:
        return None


def parse(path: Path, ctx: ImportContext) -> None:
    fmt = detect(path)
    if fmt not in FORMATS:
        ctx.error(0, "file", f"format not recognized (looked for: {', '.join(FORMATS)}); give --format")
        return
    ctx.fmt = fmt               # the run records the detected format (and its id includes it)
    FORMATS[fmt].parse(path, ctx)


__all__ = ["detect", "files", "parse", "format_of_record", "format_of_columns"]
