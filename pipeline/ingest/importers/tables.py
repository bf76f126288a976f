"""Rows of table files (parquet, Arrow, JSON lines) for the `hf` and `lighteval` importers, numbered from 1
(the ``line`` of a problem is the row).

Parquet and Arrow files (including the ``data-*.arrow`` files of a ``save_to_disk`` folder) are read with
pyarrow a batch at a time: parquet row group by row group, in batches of rows sized from the row group's
uncompressed size in the file's metadata so that a batch holds about ``MAX_LINE_BYTES`` (a row group of
a few huge rows is read one row at a time). Each row's size in bytes (its strings, lists and structs) is
measured on the Arrow batch before anything becomes a Python object: a row over ``MAX_LINE_BYTES`` (the
JSON-lines limit) is one problem naming the row and its largest column, and is skipped. So memory stays
near the largest row, whatever the file's compression ratio. JSON lines go through
``base.read_json_lines``, so a malformed line is one problem and the rest of the file is read. A file
pyarrow cannot read, or whose columns repeat a name, is one problem at row 0; one that breaks part-way
keeps the rows read before.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .base import MAX_LINE_BYTES, Problem, clean_text, display_path, read_json_lines

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


def rows(path: Path, problems: list[Problem], max_row_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict]]:
    """(row number from 1, row as a dict) for every row of the table at ``path``; a row over ``max_row_bytes``
    is one problem (naming its largest column) and is skipped."""
    k = kind(path)
    p = display_path(path)
    if k == "json":
        yield from read_json_lines(path, problems, max_row_bytes)
        return
    if k is None:
        problems.append(Problem(p, 0, "file", "not a parquet, Arrow or JSON-lines file"))
        return
    n = 0
    try:
        for batch in _batches(path, k, max_row_bytes):
            if n == 0:
                names = batch.schema.names
                dup = next((c for c in names if names.count(c) > 1), None)
                if dup is not None:
                    problems.append(Problem(p, 0, clean_text(dup), "column name given twice; the file is not read"))
                    return
            sizes = {c: _row_bytes(batch.column(i)) for i, c in enumerate(batch.schema.names)}
            total = sum(sizes.values()) if sizes else [0] * batch.num_rows
            start = acc = 0          # rows become Python objects a slice of about max_row_bytes at a time
            for i in range(batch.num_rows + 1):
                t = int(total[i]) if i < batch.num_rows else 0
                if i == batch.num_rows or t > max_row_bytes or (acc + t > max_row_bytes and i > start):
                    for m, r in enumerate(batch.slice(start, i - start).to_pylist()):
                        yield n + start + m + 1, r
                    start, acc = i, 0
                if i < batch.num_rows and t > max_row_bytes:
                    big = max(sizes, key=lambda c: sizes[c][i])
                    problems.append(Problem(p, n + i + 1, clean_text(big),
                                            f"row is {t / _MIB:.1f} MiB ({sizes[big][i] / _MIB:.1f} MiB in this "
                                            f"column), over the {max_row_bytes / _MIB:.0f} MiB limit; skipped"))
                    start = i + 1
                else:
                    acc += t
            n += batch.num_rows
    except OSError:
        raise
    except Exception as exc:       # not readable by pyarrow, or damaged part-way
        problems.append(Problem(p, n + 1 if n else 0, "file",
                                f"cannot be read as {k} ({type(exc).__name__}: {clean_text(str(exc))[:200]})"))
        return
    finally:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()    # huge skipped rows: give their memory back for the writer
    if n == 0:
        problems.append(Problem(p, 0, "file", "empty table: no rows"))


_MIB = 1024 * 1024


def _batches(path: Path, k: str, max_bytes: int) -> Iterator:
    """The record batches of a parquet or Arrow file, each of about ``max_bytes`` in the file's encoding (at
    least one row). Dictionary-encoded parquet strings are read as dictionaries: a value repeated by many rows
    is held once, as in the file, until ``rows`` converts a few rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    if k == "parquet":
        md = pq.ParquetFile(path).metadata
        groups = [md.row_group(g) for g in range(md.num_row_groups)]
        dict_cols = sorted({rg.column(c).path_in_schema for rg in groups for c in range(rg.num_columns)
                            if rg.column(c).physical_type == "BYTE_ARRAY" and rg.column(c).has_dictionary_page})
        f = pq.ParquetFile(path, metadata=md, read_dictionary=dict_cols)
        for g, rg in enumerate(groups):
            size = sum(rg.column(c).total_uncompressed_size for c in range(rg.num_columns))
            per = max(1, min(rg.num_rows, max_bytes * rg.num_rows // max(size, 1)))
            yield from f.iter_batches(batch_size=per, row_groups=[g])
        return
    with pa.memory_map(str(path)) as src:
        try:
            r = pa.ipc.open_file(src)
            batches = (r.get_batch(i) for i in range(r.num_record_batches))
        except pa.ArrowInvalid:
            src.seek(0)
            batches = iter(pa.ipc.open_stream(src))
        yield from batches        # memory-mapped (uncompressed): a batch's values are not copied


def _row_bytes(arr) -> "np.ndarray":
    """The bytes each row of an Arrow array holds (strings and binaries by length, lists and structs summed over
    their items, fixed-width values by width), read from lengths and offsets: nothing is copied or converted.
    A type not measured here (a union, run-end encoding) counts its whole array's buffers for every row."""
    import pyarrow as pa
    import pyarrow.compute as pc
    t, n = arr.type, len(arr)
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
    if isinstance(t, pa.ExtensionType):
        return _row_bytes(arr.storage)
    if pa.types.is_dictionary(t):
        if not len(arr.dictionary):
            return np.zeros(n, np.int64)
        out = _row_bytes(arr.dictionary)[arr.indices.fill_null(0).to_numpy(zero_copy_only=False)]
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pc.binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    elif pa.types.is_string_view(t) or pa.types.is_binary_view(t):    # 16-byte views, the length first
        views = np.frombuffer(arr.buffers()[1], np.int32).reshape(-1, 4)
        out = views[arr.offset:arr.offset + n, 0].astype(np.int64)
    elif pa.types.is_fixed_size_list(t):
        k = t.list_size
        out = _row_bytes(arr.values.slice(arr.offset * k, n * k)).reshape(n, k).sum(axis=1) if k else \
            np.zeros(n, np.int64)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t) or \
            pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        offsets = arr.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
            starts, ends = offsets, offsets + arr.sizes.to_numpy(zero_copy_only=False)
        else:
            starts, ends = offsets[:-1], offsets[1:]
        lo, hi = (int(starts.min()), int(ends.max())) if n else (0, 0)
        cum = np.concatenate([[0], np.cumsum(_row_bytes(arr.values.slice(lo, hi - lo)))])
        out = cum[ends - lo] - cum[starts - lo]
    elif pa.types.is_struct(t):
        out = np.zeros(n, np.int64)
        for f in arr.flatten():
            out += _row_bytes(f)
    elif t.num_fields == 0 and t.id != pa.null().id:
        try:
            return np.full(n, max(1, t.bit_width // 8), np.int64)
        except ValueError:
            out = np.full(n, arr.get_total_buffer_size(), np.int64)
    else:
        out = np.full(n, arr.get_total_buffer_size() if t.num_fields else 0, np.int64)
    if valid is not None:
        out[~valid] = 0
    return out


def iter_hub(name: str, split: str = "train", config: str | None = None) -> Iterator[dict]:
    """Rows of a dataset on the Hugging Face Hub (streamed), where the Hub is reachable; save them
    with ``datasets.Dataset.from_generator`` / ``to_parquet`` and import the file. Not reachable from
    CI, so untested there."""
    import datasets
    yield from datasets.load_dataset(name, config, split=split, streaming=True)
