"""Rows of table files (parquet, Arrow, JSON lines) for the `hf` and `lighteval` importers, read with the
``datasets`` library and numbered from 1 (the ``line`` of a problem is the row).

Parquet and Arrow files (including the ``data-*.arrow`` files of a ``save_to_disk`` folder) are
streamed (``load_dataset(..., streaming=True)``: one batch in memory, no cache copy of the file);
JSON lines go through ``base.read_json_lines``, so a malformed line is one problem and the rest of
the file is read. A file ``datasets`` cannot read is one problem at row 0;
one that breaks part-way keeps the rows read before.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .base import Problem, clean_text, display_path, read_json_lines

PARQUET_MAGIC = b"PAR1"
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"    # an Arrow IPC stream's continuation marker


def table_kind(head: bytes) -> str | None:
    """'parquet' | 'arrow' | None, from a file's first bytes (at least 6)."""
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(ARROW_FILE_MAGIC) or head[:4] == ARROW_STREAM_MAGIC:
        return "arrow"
    return None


def kind(path: Path) -> str | None:
    """'parquet' | 'arrow' | 'json' | None, from the content (JSON lines: from the suffix)."""
    with open(path, "rb") as f:
        head = f.read(8)
    return table_kind(head) or ("json" if path.suffix in (".jsonl", ".json", ".ndjson") else None)


def rows(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    """(row number from 1, row as a dict) for every row of the table at ``path``."""
    k = kind(path)
    p = display_path(path)
    if k == "json":
        yield from read_json_lines(path, problems)
        return
    if k is None:
        problems.append(Problem(p, 0, "file", "not a parquet, Arrow or JSON-lines file"))
        return
    import datasets
    datasets.disable_progress_bars()
    n = 0
    try:
        ds = datasets.load_dataset(k, data_files=str(path), split="train", streaming=True)
        for r in ds:
            n += 1
            yield n, r
    except OSError:
        raise
    except Exception as exc:       # not readable by datasets/pyarrow, or damaged part-way
        problems.append(Problem(p, n + 1 if n else 0, "file",
                                f"cannot be read as {k} ({type(exc).__name__}: {clean_text(str(exc))[:200]})"))
        return
    if n == 0:
        problems.append(Problem(p, 0, "file", "empty table: no rows"))


def iter_hub(name: str, split: str = "train", config: str | None = None) -> Iterator[dict]:
    """Rows of a dataset on the Hugging Face Hub (streamed), where the Hub is reachable; save them
    with ``datasets.Dataset.from_generator`` / ``to_parquet`` and import the file. Not reachable from
    CI, so untested there."""
    import datasets
    yield from datasets.load_dataset(name, config, split=split, streaming=True)
