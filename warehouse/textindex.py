"""A full-text index of the responses (tantivy), kept beside the warehouse file as ``<db>.search/``.

Storage only: ``sync`` brings the index up to date with the warehouse (it indexes, by trajectory id,
every trajectory not yet indexed; trajectories are never rewritten, so that is all a write can
change), ``rebuild`` starts it afresh, ``status`` opens it for reading only when it holds exactly
the warehouse's trajectories (count and xor of the ids), and ``candidates`` narrows a substring
search to the responses that can contain the text. The index never decides a hit:
warehouse/search.py checks every candidate with the same SQL condition as the plain scan, so the
results are identical with and without it.

Two fields, without positions (positions were 95% of an index 1.8x the warehouse's size at paper
scale): ``text``, the words: a term is a maximal run of alphanumeric characters (tantivy's simple
tokenizer: Unicode letters and digits), lower-cased; and ``triples``, every three consecutive words
``a b c`` as the term ``b c a`` (the middle word first, so that a lookup starts from a fixed prefix),
lower-cased (``answer is the`` from ``the answer is``; ``be 17 may`` from ``may be $17``), the
first two words as ``w0 w1 `` (no word before them) and the last two ``x y`` as ``y  x``, where a word is a run of anything but ASCII
non-alphanumerics (cut in Python, by the derive workers, so no Unicode table need agree with
Rust's). A phrase of three words or more is the AND of its triples; of two words, the terms that
start with them: adjacency without positions. (Version 3 held pairs: an absent phrase made of very
common pairs, ``Therefore, the answer``, left every response a candidate.)

Why the candidates are a superset of the true hits. The query is cut into its ASCII parts (between
non-ASCII characters, whose class Python and Rust may see differently) and the part with the most
tokens (``[0-9A-Za-z]`` runs) is used. When a response contains the query, a token of that part
bounded on both sides by ASCII non-alphanumerics inside the query is a whole word of the response
(in either field's sense), and consecutive tokens are consecutive words; the part's first token may
be the end of a longer word, its last token the start of one. So the part becomes term patterns:
each three consecutive tokens as a triple (``b c[^ ]* [^ ]*a`` when ``a`` is the first token and
``c`` the last: a pattern that starts with a fixed prefix), two tokens ``a b`` as the triples that
start with them, or, when ``a`` may end a longer word (a suffix pattern would walk the whole
dictionary), as the triples ``b x a`` (``b`` in the middle; ``x`` possibly none), one token as a word
of ``text``. Case: lower-casing maps every character
that DuckDB's ILIKE folds onto an ASCII letter to the same letter, except LATIN CAPITAL LETTER I
WITH DOT ABOVE, which becomes ``i`` + COMBINING DOT ABOVE (the patterns allow it). Tantivy drops
terms over 65,530 bytes: a response that may hold such a word (an alphanumeric run of 16,000+
characters) also gets the term ``LONG_MARK``, and so does a response with a triple over 65,530 bytes
(in ``triples``): such responses are always candidates. A query without an
ASCII token (``$$``, ``\\``, ``=``) cannot be narrowed: the caller scans. Tantivy compiles a
pattern into at most 1,000 states: a word over ``_MAX_WORD`` characters is looked up by its
first (or, for a cut first word, last) ``_MAX_WORD`` characters, a triple by the first ``_MAX_WORD``
characters of ``b c``: every term holding it matches.

Damage. tantivy memory-maps its files: a file truncated under a process that has it mapped kills
that process (SIGBUS). So a reader never maps the index's own files: ``status`` copies the files
the state file lists into a private temporary folder, each checked against the size and CRC-32
the writer recorded there, opens the copy and deletes the folder at once (the mappings outlive
the names): nothing can truncate what is mapped, and a damaged or changed file fails the check
(the caller scans) instead of answering. The copy is reused while the state file is unchanged.
A writer (``sync``) checks the same sums before it reuses an index, and rebuilds a damaged one.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
import zlib
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import duckdb
import numpy as np

from . import db
from .errors import LadderError

INDEX_VERSION = "4"            # bump when the schema, the tokenizer or the state file changes
LONG_MARK = "ladderlongrunmark"       # the term of responses that may hold a term tantivy drops
_LONG_RUN = 16_000                     # characters: 4 bytes each at most, under tantivy's 65,530
_MAX_TERM = 65_530                     # bytes: tantivy drops longer terms
_ASCII_PART = re.compile("[\x00-\x7f]+")
_ASCII_TOKEN = re.compile("[0-9A-Za-z]+")
# the triples field's words: runs of anything but ASCII non-alphanumerics (a non-ASCII character is a
# word character: no Unicode table to agree on), cut in UTF-8 bytes: each such byte becomes a space
_TO_SPACE = bytes(32 if c < 128 and not chr(c).isalnum() else c for c in range(256))
_MAX_WORD = 100                        # characters of a looked-up word or pair (tantivy: 1,000 regex states)
_INDEX_FILE = re.compile(r"meta\.json|[0-9a-f]{32}(\.[0-9a-z]+)+")   # what a state file may list
_STATE, _IDS = "ladder.json", "ids.npy"


class TextIndexError(LadderError):
    """The full-text index cannot be written (its folder is not writable, or it is damaged)."""


def is_index_error(exc: BaseException) -> bool:
    """An error the index may raise, to be answered by a scan or a rebuild: any Exception, and a Rust
    panic inside tantivy (pyo3's PanicException derives from BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def interrupted(exc: BaseException) -> bool:
    """A KeyboardInterrupt that a query turned into an error (DuckDB's InterruptException, or the
    RuntimeError "Query interrupted" its result fetch raises)."""
    return isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "query interrupted" in str(exc).lower())


def index_dir(path: str | os.PathLike | None = None) -> Path:
    """The index's folder: ``<warehouse file>.search``."""
    p = db.db_path(path)
    return p.with_name(p.name + ".search")


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("tid", indexed=True, fast=True)
    sb.add_text_field("text", tokenizer_name="ladder", index_option="basic")
    sb.add_text_field("triples", tokenizer_name="ladder_triples", index_option="basic")
    return sb.build()


def _register(ix) -> None:
    import tantivy

    ix.register_tokenizer("ladder", tantivy.TextAnalyzerBuilder(
        tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase()).build())
    ix.register_tokenizer("ladder_triples", tantivy.TextAnalyzerBuilder(
        tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase()).build())


def triples(text: str) -> str:
    """What the ``triples`` field indexes, one term a line (no word holds a newline): every three
    consecutive words ``a b c`` of a response once, as ``b c a`` (``answer is the`` from ``the answer
    is``; ``be 17 may`` from ``may be $17``), ``w0 w1 `` (the first two words: nothing before them)
    and ``y  x`` (the last two, ``x y``: nothing after them), plus ``LONG_MARK`` when a term is too
    long for tantivy (which drops it). Cut where the
    responses are derived, in the worker processes (``postprocess``), and handed to ``sync`` as one
    string. In bytes, as translate and split run at C speed: ~0.9 ms of CPU per 40,000 characters."""
    w = text.encode().translate(_TO_SPACE).split()
    s = set(zip(w[1:], w[2:], w))
    if len(w) >= 2:
        s.add((w[0], w[1], b""))
        s.add((w[-1], b"", w[-2]))
    terms = list(map(b" ".join, s))
    if terms and max(map(len, terms)) > _MAX_TERM:
        terms.append(LONG_MARK.encode())
    return b"\n".join(terms).decode()


def _triples(text: str) -> list[str]:
    """``triples`` as a list (the field's values)."""
    return _split(triples(text))


def _split(cut: str) -> list[str]:
    return cut.split("\n") if cut else []


def _fingerprint(con) -> tuple[int, int]:
    """(number of trajectories, xor of their ids): what the index must hold."""
    n, x = con.execute("SELECT count(*), coalesce(bit_xor(trajectory_id), 0) FROM trajectories").fetchall()[0]
    return int(n), int(x)


def _read_state(d: Path) -> dict | None:
    try:
        state = json.loads((d / _STATE).read_text())
    except (OSError, ValueError):
        return None
    return state if state.get("version") == INDEX_VERSION else None


def _checked(path: Path, size: int, crc: int) -> bytes:
    """The bytes of an index file, read (never mapped), when they are the ``size`` bytes of CRC-32 ``crc``
    the state file lists; else TextIndexError naming the file."""
    if not _INDEX_FILE.fullmatch(path.name):
        raise TextIndexError(f"{path}: not a file of the full-text index")
    try:
        with open(path, "rb") as f:
            data = f.read(size + 1)
    except OSError as exc:
        raise TextIndexError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) != size or zlib.crc32(data) != crc:
        raise TextIndexError(f"{path}: damaged ({len(data):,} bytes, CRC-32 {zlib.crc32(data):08x}; "
                             f"written: {size:,} bytes, {crc:08x})")
    return data


def _manifest(d: Path, known: dict | None = None) -> dict[str, list[int]]:
    """meta.json and the files of the segments it lists: name -> [size, CRC-32]. Sums of the files
    ``known`` lists with the same size are kept (``known`` was checked; tantivy never rewrites a file)."""
    meta = (d / "meta.json").read_bytes()
    segments = {s["segment_id"].replace("-", "") for s in json.loads(meta)["segments"]}
    files = {"meta.json": [len(meta), zlib.crc32(meta)]}
    for f in sorted(os.scandir(d), key=lambda f: f.name):
        if f.name.split(".")[0] in segments and _INDEX_FILE.fullmatch(f.name):
            size = f.stat().st_size
            old = (known or {}).get(f.name)
            files[f.name] = old if old and old[0] == size else [size, zlib.crc32((d / f.name).read_bytes())]
    return files


def _write_state(d: Path, ids: np.ndarray, files: dict[str, list[int]]) -> None:
    ids = np.sort(ids.astype(np.int64))
    tmp = d / (_IDS + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, ids)
    os.replace(tmp, d / _IDS)
    state = {"version": INDEX_VERSION, "count": len(ids), "xor": int(np.bitwise_xor.reduce(ids)) if len(ids) else 0,
             "files": files}
    tmp = d / (_STATE + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, d / _STATE)


def _open(d: Path):
    import tantivy

    ix = tantivy.Index.open(str(d))
    _register(ix)
    return ix


@contextmanager
def _locked(d: Path) -> Iterator[None]:
    """One writer of the index at a time (processes wait for each other)."""
    lock = d.with_name(d.name + ".lock")
    try:
        f = open(lock, "a")
    except OSError as exc:
        raise TextIndexError(f"{lock}: cannot write the full-text index's lock file ({exc.strerror})") from None
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class SyncReport:
    indexed: int           # trajectories added by this call
    total: int             # trajectories in the index now
    rebuilt: bool          # started afresh (missing, stale, another version, damaged, or asked)


def _usable(d: Path, ids: np.ndarray) -> tuple[np.ndarray, dict] | None:
    """The ids an existing index holds and its files (``_manifest``), when it is this version, its
    files are the ones written, it is consistent and holds only trajectories the warehouse has;
    else None (rebuild)."""
    state = _read_state(d)
    if state is None or not (d / _IDS).exists():
        return None
    try:
        for name, (size, crc) in state["files"].items():
            _checked(d / name, size, crc)
        indexed = np.load(d / _IDS)
        if len(indexed) != state["count"] or _open(d).searcher().num_docs != len(indexed):
            return None
    except BaseException as exc:        # a damaged or foreign folder: rebuilt
        if not is_index_error(exc):
            raise
        return None
    return (indexed, state["files"]) if np.isin(indexed, ids, assume_unique=True).all() else None


Docs = Mapping[int, tuple[str, str]]     # trajectory id -> (its response, ``triples(response)``)


def sync(path: str | os.PathLike | None = None, *, rebuild: bool = False, batch: int = 2048,
         con=None, docs: Docs | None = None, ids: np.ndarray | None = None) -> SyncReport:
    """Index every trajectory of the warehouse not yet indexed (all of them when the index is
    missing, of another version, damaged, or holds trajectories the warehouse lacks). ``con``: an
    open connection to read the warehouse through; else short readers, one per batch of
    ``batch`` responses, so that a long (re)build never keeps a writer waiting for long.
    ``docs``: responses the caller holds (an importer: the files it just wrote), indexed as they
    are instead of read back, with the triples its workers cut. ``ids``: every trajectory id of the
    warehouse, from a caller that holds the warehouse open for writing (the importer's background
    sync): the warehouse is not read at all and only ``docs`` are indexed; the next sync without
    ``ids`` reads what they lacked."""
    d = index_dir(path)

    def reading():
        return nullcontext(con) if con is not None else db.reader(path)
    if ids is None:
        with reading() as c:                   # a missing warehouse fails here, before any lock file
            ids = warehouse_ids(c)
    else:
        reading = None
    with _locked(d):
        return _sync(d, reading, np.asarray(ids, dtype=np.int64), rebuild, batch, docs or {})


def warehouse_ids(con) -> np.ndarray:
    """Every trajectory id of the warehouse (what the index must hold)."""
    return np.asarray(con.execute("SELECT trajectory_id FROM trajectories").fetchnumpy()["trajectory_id"],
                      dtype=np.int64)


def _sync(d: Path, reading, ids: np.ndarray, rebuild: bool, batch: int, docs: Docs) -> SyncReport:
    import tantivy

    usable = None if rebuild else _usable(d, ids)
    fresh = usable is None
    indexed, files = usable or (None, None)
    try:
        if fresh:
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            ix = tantivy.Index(_schema(), path=str(d), reuse=False)
            _register(ix)
            indexed = np.empty(0, np.int64)
        else:
            ix = _open(d)
    except OSError as exc:
        raise TextIndexError(f"{d}: cannot write the full-text index ({exc.strerror})") from None
    new = np.setdiff1d(ids, indexed, assume_unique=True)
    held = np.fromiter((t for t in new.tolist() if t in docs), np.int64) if docs else new[:0]
    rest = np.setdiff1d(new, held, assume_unique=True) if reading is not None else new[:0]
    new = np.concatenate([held, rest])            # what this call indexes
    if len(new) == 0:
        if fresh:
            _write_state(d, indexed, _manifest(d))
        return SyncReport(0, len(indexed), fresh)
    rowids = []
    if len(rest):
        with reading() as c:
            rowids = _rowids(c, rest, everything=len(rest) == len(ids))
    # every core for a big batch (tantivy: 15 MB of heap a thread at least); 100,000 responses or more get a
    # larger budget, for fewer and larger segments to merge (the 10x rebuild: peak RSS 1.0 GB; not timed
    # against 128 MB)
    big = len(new) >= 1000
    heap = 512_000_000 if len(new) >= 100_000 else 128_000_000 if big else 32_000_000
    writer = ix.writer(heap_size=heap, num_threads=0 if big else 1)

    def add(tid: int, text: str, cut: list[str]) -> None:
        writer.add_document(tantivy.Document(tid=tid, text=[text, LONG_MARK] if _may_hold_long_run(text) else text,
                                             triples=cut))
    try:
        for tid in held.tolist():
            text, cut = docs[tid]
            add(tid, text, _split(cut))
        for i in range(0, len(rowids), batch):
            with reading() as c:
                rows = _responses(c, rowids[i:i + batch])
            for tid, text in rows:
                add(tid, text, _triples(text))
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    _write_state(d, np.concatenate([indexed, new]), _manifest(d, files))
    return SyncReport(len(new), len(indexed) + len(new), fresh)


def follow(path: str | os.PathLike | None = None, con=None, docs: Docs | None = None,
           ids: np.ndarray | None = None) -> SyncReport | None:
    """``sync`` after a committed write (import, generate, merge): the data is stored whatever
    happens here, so a failure to index is one line on stderr, not an error (readers see a
    stale index and scan; ``python -m pipeline reindex`` repairs it). ``con``: a connection the
    caller holds open on the warehouse (DuckDB refuses a second one with other settings);
    ``docs``, ``ids``: see ``sync``."""
    try:
        return sync(path, con=con, docs=docs, ids=ids)
    except BaseException as exc:     # the write succeeded; the index is only behind (a tantivy panic too)
        if interrupted(exc):         # Ctrl-C or SIGTERM during a query of the sync: the user's stop, not ours
            raise KeyboardInterrupt from exc
        if not is_index_error(exc):
            raise
        print(f"warning: full-text index not updated ({type(exc).__name__}: {str(exc)[:200]}); "
              f"searches scan until `python -m pipeline reindex`", file=sys.stderr)
        return None


def rebuild(path: str | os.PathLike | None = None) -> SyncReport:
    return sync(path, rebuild=True)


def _rowids(con, new: np.ndarray, everything: bool) -> list[int]:
    """The row ids of these trajectories, in order (responses are read back by row id: a join on
    trajectory_id would decompress every response in the warehouse)."""
    if everything:
        return [r[0] for r in con.execute("SELECT rowid FROM trajectories ORDER BY rowid").fetchall()]
    import pyarrow as pa

    con.register("_textindex_new", pa.table({"trajectory_id": new}))
    try:
        return [r[0] for r in con.execute(
            "SELECT rowid FROM trajectories WHERE trajectory_id IN (SELECT trajectory_id FROM _textindex_new) "
            "ORDER BY rowid").fetchall()]
    finally:
        con.unregister("_textindex_new")


def _responses(con, rowids: list[int]) -> list[tuple[int, str]]:
    """(trajectory_id, response) of these rows (sorted row ids)."""
    if rowids[-1] - rowids[0] + 1 == len(rowids):     # rows written together (an import's): a range, cheaper
        return con.execute("SELECT trajectory_id, response FROM trajectories WHERE rowid >= ? AND rowid <= ?",
                           [rowids[0], rowids[-1]]).fetchall()
    rows, params = db.rows_by_id(rowids)
    return con.execute(f"SELECT trajectory_id, response FROM trajectories t WHERE {rows}", params).fetchall()


# ---- reading ---------------------------------------------------------------------------------

_OPEN: dict[str, tuple[str, object]] = {}      # index folder -> (its state, the Index of a private copy)


@dataclass
class Status:
    fresh: bool
    reason: str            # why the index is not used ('' when fresh)
    index: object = None


def status(con) -> Status:
    """Whether the index beside the connection's warehouse holds exactly its trajectories."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    if not rows or not rows[0][0]:
        return Status(False, "an in-memory warehouse has no full-text index")
    d = index_dir(rows[0][0])
    state = _read_state(d)
    if state is None:
        return Status(False, "the full-text index is of another version (python -m pipeline reindex rebuilds it)"
                      if (d / _STATE).exists() else "no full-text index (python -m pipeline reindex builds it)")
    if (state["count"], state["xor"]) != _fingerprint(con):
        return Status(False, "the full-text index is out of date (python -m pipeline reindex)")
    key = json.dumps(state, sort_keys=True)
    cached = _OPEN.get(str(d))
    if cached and cached[0] == key:            # a private copy: nothing outside can change it
        return Status(True, "", cached[1])
    try:
        ix = _private_copy(d, state["files"])
        n = ix.searcher().num_docs
    except BaseException as exc:       # damaged, or being written: the scan still answers
        if not is_index_error(exc):
            raise
        why = str(exc) if isinstance(exc, TextIndexError) else type(exc).__name__
        return Status(False, f"the full-text index cannot be read ({why}; python -m pipeline reindex rebuilds it)")
    if n != state["count"]:
        return Status(False, "the full-text index does not hold what its state file says "
                             "(python -m pipeline reindex rebuilds it)")
    _OPEN[str(d)] = (key, ix)
    return Status(True, "", ix)


def _private_copy(d: Path, files: dict[str, list[int]]):
    """The index of folder ``d``, opened from a private copy of ``files`` (each checked against its
    size and CRC-32) whose folder is deleted as soon as it is open: tantivy maps files no other
    process can reach, so no truncation can SIGBUS this one."""
    tmp = Path(tempfile.mkdtemp(prefix="ladder-search-"))
    try:
        for name, (size, crc) in files.items():
            (tmp / name).write_bytes(_checked(d / name, size, crc))
        ix = _open(tmp)
        ix.config_reader("Manual")       # no thread watching a folder about to go; reopened on a new state
        return ix
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _query_part(text: str):
    """The ASCII part of ``text`` with the most tokens (then the longest ones) and its tokens; None
    when there is none."""
    best = None
    for part in _ASCII_PART.finditer(text):
        toks = list(_ASCII_TOKEN.finditer(part.group()))
        key = (len(toks), sum(len(m.group()) for m in toks))
        if toks and (best is None or key > best[0]):
            best = (key, part.group(), toks)
    return None if best is None else best[1:]


def _fold(word: str, ignore_case: bool) -> str:
    w = word.lower()
    return w.replace("i", "i\u0307?") if ignore_case else w      # DuckDB folds 'İ' to 'i'; the index holds 'i̇'


def query_words(text: str, ignore_case: bool) -> list[str] | None:
    """The words of ``text`` as term patterns (tantivy regular expressions, matched against whole
    terms of the ``text`` field) that every response containing ``text`` matches; None when
    ``text`` has no ASCII token; [] when only a response marked ``LONG_MARK`` can contain it. With
    ``ignore_case`` the match is DuckDB's ILIKE (``text`` has no upper-case letter), else a
    case-sensitive substring."""
    found = _query_part(text)
    if found is None:
        return None
    part, toks = found
    if any(len(m.group()) >= _MAX_TERM for m in toks):
        return []
    words = []
    for k, m in enumerate(toks):
        w = m.group()
        head = k == 0 and m.start() == 0                   # may be the end of a longer word
        tail = k == len(toks) - 1 and m.end() == len(part)  # may be the start of one
        if len(w) > _MAX_WORD:      # a part of it: every term that holds the word matches
            w, tail = (w[-_MAX_WORD:], tail) if head and not tail else (w[:_MAX_WORD], True)
        words.append((".*" if head else "") + _fold(w, ignore_case) + (".*" if tail else ""))
    return words


def query_terms(text: str, ignore_case: bool) -> list[tuple[str, str]] | None:
    """(field, term pattern) that every response containing ``text`` matches, all of them: each
    three consecutive tokens ``a b c`` of the query part (``query_words``) as one term of the
    ``triples`` field, ``b c a`` (``c[^ ]*`` when ``c`` may start a longer word, ``[^ ]*a`` when ``a``
    may end one); two tokens ``a b`` as the triples that start with ``a b``, or, when ``a`` may end a
    longer word (a suffix pattern would walk the whole dictionary), as the triples ``b x [^ ]*a``
    (``b`` in the middle, any word or none after it; even a one-character ``b`` prefix walks the
    dictionary in 20-60 ms at 10x scale, where the words' conjunction ``.*a`` AND ``b.*`` would leave
    an absent ``so so`` every response to scan: 1.7 s at paper scale); else the tokens as words of the
    ``text`` field. None: ``text`` cannot be narrowed; []: only a response marked ``LONG_MARK`` can
    contain it."""
    words = query_words(text, ignore_case)
    if not words:
        return words
    part, toks = _query_part(text)
    t = [m.group() for m in toks]
    head, tail = toks[0].start() == 0, toks[-1].end() == len(part)
    if len(t) >= 3:
        return [("triples", _triple(t[k], t[k + 1], t[k + 2], head and k == 0, tail and k + 3 == len(t), ignore_case))
                for k in range(len(t) - 2)]
    if len(t) == 2 and not head:
        return [("triples", _triple(None, t[0], t[1], False, tail, ignore_case))]
    if len(t) == 2 and len(t[0]) + len(t[1]) < _MAX_WORD:
        b = _fold(t[1], ignore_case) + ("[^ ]*" if tail else "")
        return [("triples", b + " [^ ]* [^ ]*" + _fold(t[0], ignore_case))]
    return [("text", w) for w in words]


def _triple(a: str | None, b: str, c: str, head: bool, tail: bool, ignore_case: bool) -> str:
    """The pattern of the ``triples`` terms ``b c a`` of the words ``a b c`` (``a`` None: any word or
    none before ``b c``; ``head``: ``a`` may end a longer word, ``tail``: ``c`` may start one). Over
    ``_MAX_WORD`` characters: every term that starts with the first ``_MAX_WORD`` of ``b c``."""
    key = b + " " + c
    if len(key) + len(a or "") > _MAX_WORD:
        return _fold(key[:_MAX_WORD], ignore_case) + ".*"
    first = "[^ ]*" if a is None else ("[^ ]*" if head else "") + _fold(a, ignore_case)
    return _fold(key, ignore_case) + ("[^ ]*" if tail else "") + " " + first


def _may_hold_long_run(text: str) -> bool:
    """Whether ``text`` may hold an alphanumeric run that tantivy would drop (16,000+ characters
    can be 65,530+ bytes). Such a run holds no space or newline and covers a whole aligned block
    of 8,000 characters: when every block has one, there is none (microseconds, no tokenizing)."""
    if len(text) < _LONG_RUN:
        return False
    step = _LONG_RUN // 2
    if all(" " in text[i:i + step] or "\n" in text[i:i + step] for i in range(0, len(text), step)):
        return False
    return max(map(len, text.split()), default=0) >= _LONG_RUN


def _long(schema):
    """The responses marked ``LONG_MARK``: one of their words or triples may be a term tantivy dropped."""
    import tantivy

    return tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(schema, field, LONG_MARK))
                                        for field in ("text", "triples")])


def candidates(ix, terms: list[tuple[str, str]], most: int | None = None) -> np.ndarray | None:
    """Ids of the trajectories whose response matches every term of ``terms`` (see
    ``query_terms``), plus those marked ``LONG_MARK``; None when more than ``most`` match (counted,
    not collected: collecting and ordering 500,000 ids costs more than the caller's other way)."""
    import tantivy

    schema = ix.schema
    searcher = ix.searcher()
    n = searcher.num_docs
    if n == 0:
        return np.empty(0, np.int64)
    if not terms:
        q = tantivy.Query.empty_query()         # only a dropped term can hold the text
    else:
        q = tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.regex_query(schema, field, pattern))
                                         for field, pattern in terms])
    q = tantivy.Query.boolean_query([(tantivy.Occur.Should, q), (tantivy.Occur.Should, _long(schema))])
    if most is not None and searcher.search(q, limit=1, count=True).count > most:
        return None
    hits = searcher.search(q, limit=n, count=False, order_by_field="tid").hits
    return np.fromiter((h[0] for h in hits), np.int64, len(hits))
