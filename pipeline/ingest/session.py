"""The import stage: real trajectory files -> records -> the warehouse, one transaction per file.

``ImportSession(db, data_dir).import_path(path, fmt, benchmark, ...)`` expands folders, parses each
file with its importer (``pipeline.ingest.importers``), matches questions, derives grades/steps/annotations
for the trajectories not yet stored (``pipeline.derive.postprocess.derive``, before the write
transaction), then writes the benchmark (when missing), models, runs, trajectories and derived rows
in one ``warehouse.db.transaction()`` (the connection is held across files: see
``ImportSession.HOLD_S``). Run ids depend only on (model, benchmark, format, file sha256),
so importing a file again writes nothing. With ``strict`` a file with any rejected line is not
written at all.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from pipeline.ingest import benchmarks
from pipeline.derive import postprocess
from pipeline.ingest.importers import IMPORTERS
from pipeline.ingest.importers.base import (MODEL_FACTOR_COLUMNS, ImportContext, Problem, QuestionIndex, display_path,
                                     has_surrogates, model_from_meta, sha256_file)
from warehouse import db, ingest, lookup, textindex
from warehouse.errors import LadderError, NotFound, UsageError
from warehouse.records import Model


@dataclass
class FileReport:
    path: Path
    models: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    lines: int = 0
    samples: int = 0              # valid samples found in the file
    new: int = 0                  # trajectories written now
    duplicates: int = 0           # already in the warehouse: skipped
    rejected: int = 0             # lines with at least one error
    unmatched: int = 0            # lines whose question is not in the benchmark
    warnings: int = 0
    written: bool = False
    aborted: bool = False         # --strict and something was rejected: nothing written
    failed: bool = False          # the file could not be read or written: nothing written (see problems)
    models_updated: list[str] = field(default_factory=list)   # stored models whose --meta changed them
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and not self.aborted and not self.failed

    def summary(self) -> str:
        who = ", ".join(self.models) or "-"
        s = (f"{display_path(self.path)}: {who}: {self.new} new trajectories, {self.duplicates} duplicates "
             f"skipped, {self.rejected} lines rejected ({self.unmatched} unmatched questions), "
             f"{self.warnings} warnings")
        if self.models_updated and self.written:
            s += f", model metadata updated ({', '.join(self.models_updated)})"
        return s + (" -- strict: file NOT imported" if self.aborted else "") + \
            (" -- file NOT imported" if self.failed else "")

    def fail(self, message: str) -> "FileReport":
        """The file as a whole could not be imported (nothing of it is written)."""
        self.problems.append(Problem(display_path(self.path), 0, "file", message))
        self.failed, self.written, self.new, self.models_updated = True, False, 0, []
        return self


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def expand(path: Path, fmt: str) -> list[tuple[Path, str | None]]:
    """The files behind a path, each with the model name its location implies (None: the importer decides).
    Only regular files are read (a device such as /dev/zero or a FIFO would never end): anything
    else is a ValueError; folders whose name matches the pattern are passed over."""
    imp = IMPORTERS.get(fmt)
    if not path.exists():
        raise NotFound(f"{display_path(path)}: no such file or folder")
    if not path.is_dir() and not path.is_file():
        raise UsageError(f"{display_path(path)}: not a regular file or a folder")
    if hasattr(imp, "files"):
        found = imp.files(path)
    elif path.is_dir():
        found = [(f, None) for f in sorted(path.rglob("*.jsonl"))]
    else:
        found = [(path, None)]
    for f, _ in found:
        if not f.is_file() and not f.is_dir():
            raise UsageError(f"{display_path(f)}: not a regular file")
    return [(f, m) for f, m in found if f.is_file()]


class ImportSession:
    """Imports files into one warehouse, caching each benchmark's question table between files."""

    def __init__(self, db_path=None, data_dir=None) -> None:
        self.db_path = db.db_path(db_path)
        self.data_dir = benchmarks.data_dir(data_dir)  # --data-dir, $LADDER_DATA_DIR or ../shared/data
        self._index: dict[str, QuestionIndex | None] = {}
        self._pending: dict[str, benchmarks.BenchmarkData] = {}
        self._runs: set[str] | None = None     # run ids known to be stored
        self._written: set[str] = set()        # run ids this session wrote
        self._con = None                       # the writer connection held across files
        self._opened = 0.0
        self._docs: textindex.Docs = {}        # written, not yet indexed: id -> (response, word triples)
        self._unsynced = False                 # written since the last complete sync of the index
        self._indexer: ThreadPoolExecutor | None = None     # the index's background syncs, one at a time
        self._indexing: Future | None = None

    # -- the warehouse --------------------------------------------------------------------------
    # Each file is one transaction, but the connection stays open across files for up to HOLD_S
    # seconds: closing it checkpoints, and a checkpoint after every file re-compresses the
    # table's last row group each time (measured: 240-row files of 40,000-character responses
    # cost 1.4 ms per trajectory closed one by one, 0.5 ms closed every 10 files). Readers (the
    # app) wait for the lock at most that long; a killed import loses nothing committed (the WAL
    # is replayed on the next open). Each release hands the files written to the full-text index,
    # which a background thread adds (from memory, with the triples the workers cut) while the next
    # files are imported; the end of the import waits for it and completes the index.
    HOLD_S = 10.0
    WAL_CHECKPOINT = "256MB"

    @contextmanager
    def _transaction(self):
        if self._con is None:
            self._con = db.connect(self.db_path)
            ingest.set_checkpoint_threshold(self._con, self.WAL_CHECKPOINT)
            self._opened = time.monotonic()
        with db.transaction(self._con) as con:
            yield con
        if time.monotonic() - self._opened > self.HOLD_S:
            self._release()

    def _release(self) -> None:
        """Checkpoint and release the warehouse between files; the index follows in the background,
        from the responses held (``textindex.sync`` with ``ids``: it never opens the warehouse, which
        this process writes on meanwhile)."""
        con, self._con = self._con, None
        ids = textindex.warehouse_ids(con)
        con.close()
        self._unsynced = True
        docs, self._docs = self._docs, {}
        self._wait_indexing()                  # one at a time: at most two batches of responses held
        if self._indexer is None:
            self._indexer = ThreadPoolExecutor(1, thread_name_prefix="ladder-textindex")
        self._indexing = self._indexer.submit(textindex.follow, self.db_path, docs=docs, ids=ids)

    def _wait_indexing(self) -> None:
        if self._indexing is not None:
            fut, self._indexing = self._indexing, None
            fut.result()                       # follow reports its own failures (a warning)

    @contextmanager
    def _read(self):
        """The held writer connection between transactions, else a short reader."""
        if self._con is not None:
            yield self._con
        else:
            with db.reader(self.db_path) as con:
                yield con

    def close(self) -> None:
        """Checkpoint and release the warehouse (import_path does it when done), then bring the
        full-text index up to date with every committed file (after any background sync)."""
        if self._con is not None:
            con, self._con = self._con, None
            con.close()
            self._unsynced = True
        try:
            self._wait_indexing()
        finally:
            if self._indexer is not None:
                self._indexer.shutdown()
                self._indexer = None
        if self._unsynced:
            docs, self._docs, self._unsynced = self._docs, {}, False
            textindex.follow(self.db_path, docs=docs)     # reads back whatever docs lack

    # -- benchmarks -----------------------------------------------------------------------------
    def _load_index(self, name: str) -> QuestionIndex | None:
        """The benchmark's questions: from the warehouse, else its loader; None = create it from the file."""
        if name in self._index:
            return self._index[name]
        index = None
        if self.db_path.exists():
            with self._read() as con:
                answer_type = lookup.benchmark_answer_type(con, name)
                if answer_type is not None:
                    index = QuestionIndex(name, lookup.questions(con, name), answer_type)
        if index is None and name in benchmarks.LOADERS:
            data = benchmarks.load(name, self.data_dir)
            self._pending[name] = data
            index = QuestionIndex(name, data.questions, data.benchmark.answer_type)
        self._index[name] = index
        return index

    def _existing_ids(self, run_ids: Sequence[str]) -> set[int]:
        """Trajectory ids already stored for these runs (no query when none of the runs is stored)."""
        if not self.db_path.exists():
            return set()
        if self._runs is None:
            with self._read() as con:
                self._runs = lookup.run_ids(con)
        if not self._runs.intersection(run_ids):
            return set()
        with self._read() as con:
            return lookup.trajectory_ids(con, run_ids)

    # -- files ----------------------------------------------------------------------------------
    def import_path(self, path: str | Path, fmt: str, benchmark: str, *, model: str | None = None,
                    meta: Mapping[str, str] | None = None, strict: bool = False,
                    models: Sequence[Model] = (), workers: int | None = None,
                    on_report: Callable[[FileReport], None] | None = None,
                    columns: Mapping[str, str] | None = None) -> list[FileReport]:
        """Import every file behind ``path``, one transaction per file. Pipelined: while one file
        is written, the worker pool already grades and annotates the next one. ``on_report`` is
        called with each file's report as soon as that file is done. ``fmt`` may be ``auto`` (each
        file's format detected from its content); ``models`` (e.g. a manifest) set the metadata of
        the file's models of those names; ``columns`` maps roles to column names (``hf``)."""
        check_args(benchmark, model, meta)
        reports: list[FileReport] = []

        def write(p: _Prepared) -> None:
            reports.append(self._write(p))
            if on_report is not None:
                on_report(reports[-1])

        waiting: _Prepared | None = None
        try:
            files = expand(Path(path), fmt)
            if sum(_size(f) for f, _ in files) >= postprocess.PRESTART_BYTES:
                postprocess.prestart(workers)      # the pool warms up while the first file is parsed
            for f, dm in files:
                if waiting is not None and not self._settled(benchmark):
                    write(waiting)                             # the first file creates the benchmark
                    waiting = None
                prepared = self._prepare(f, fmt, benchmark, model=model, default_model=dm, meta=meta,
                                         strict=strict, models=models, workers=workers, columns=columns)
                if waiting is not None:
                    write(waiting)
                waiting = prepared
            if waiting is not None:
                write(waiting)
        finally:
            self.close()
        return reports

    def _settled(self, benchmark: str) -> bool:
        """The benchmark's questions are known (stored, or from its loader): files can be prepared ahead."""
        return self._index.get(benchmark) is not None

    def _prepare(self, path: Path, fmt: str, benchmark: str, *, model: str | None,
                 default_model: str | None, meta: Mapping[str, str] | None, strict: bool,
                 models: Sequence[Model], workers: int | None,
                 columns: Mapping[str, str] | None = None) -> "_Prepared":
        """Parse a file, drop what is stored already and start deriving the rest (not waited for)."""
        imp = IMPORTERS.get(fmt)
        index = self._load_index(benchmark)
        try:
            ctx = ImportContext(path=Path(path), benchmark=benchmark, fmt=fmt, sha256=sha256_file(path),
                                index=index, model=model, default_model=default_model, meta=dict(meta or {}),
                                columns=dict(columns or {}))
            imp.parse(Path(path), ctx)
        except OSError as exc:       # unreadable (permissions, I/O error): this file only
            rep = FileReport(Path(path)).fail(f"cannot be read: {exc.strerror or exc}")
            return _Prepared(rep, None, benchmark, models)
        ctx.finish()
        rep = FileReport(Path(path), sorted(ctx.models), sorted(r.run_id for r in ctx.runs.values()),
                         ctx.n_lines, len(ctx.trajectories), rejected=ctx.rejected, unmatched=ctx.unmatched,
                         warnings=sum(p.severity == "warning" for p in ctx.problems), problems=ctx.problems)
        prepared = _Prepared(rep, ctx, benchmark, models)
        if strict and rep.rejected:
            rep.aborted = True
            return prepared
        existing = self._existing_ids(rep.runs)
        prepared.new = [t for t in ctx.trajectories if t.trajectory_id not in existing]
        rep.duplicates = len(ctx.trajectories) - len(prepared.new)
        prepared.meta_models = [model_from_meta(m, ctx.meta) for m in ctx.models] + \
            [m for m in models if m.model_id in ctx.models]
        rep.models_updated = self._changed_models(prepared.meta_models)
        created = ctx.created_benchmark()
        if not prepared.new and self._pending.get(benchmark) is None and created is None:
            return prepared
        qmap = {(benchmark, t.question_id): ctx.index.by_id[t.question_id] for t in prepared.new}
        prepared.derived = postprocess.derive_submit(
            prepared.new, qmap, {benchmark: ctx.index.answer_type if not created else created.answer_type},
            workers=workers)
        return prepared

    def _changed_models(self, records: Sequence[Model]) -> list[str]:
        """The stored models that these records (what --meta sets) would change."""
        records = [m for m in records if m.meta or any(getattr(m, c) is not None for c in MODEL_FACTOR_COLUMNS)]
        if not records or not self.db_path.exists():
            return []
        with self._read() as con:
            stored = {old.model_id: old for old in lookup.models(con, [m.model_id for m in records])}
        changed = set()
        for m in records:
            old = stored.get(m.model_id)
            if old is None:
                continue
            if any(getattr(m, c) is not None and getattr(m, c) != getattr(old, c) for c in MODEL_FACTOR_COLUMNS) or \
                    any(old.meta.get(k) != v for k, v in m.meta.items()):
                changed.add(m.model_id)
        return sorted(changed)

    def _write(self, p: "_Prepared") -> FileReport:
        """Wait for a prepared file's derived rows and write everything in one transaction. A file
        that cannot be written is rolled back and reported (line 0); the next files go on."""
        rep, ctx, benchmark = p.rep, p.ctx, p.benchmark
        if p.derived is None and not rep.models_updated:
            return rep
        try:
            self._write_one(p)
        except (LadderError, KeyboardInterrupt):    # the warehouse itself (busy, unreadable): stop, one line
            raise
        except Exception as exc:     # a value the importer let through: this file only, rolled back
            return rep.fail(f"not written ({type(exc).__name__}: {str(exc)[:300]})")
        rep.written = True
        self._written.update(rep.runs)
        if self._runs is not None:
            self._runs.update(rep.runs)
        self._pending.pop(benchmark, None)
        created = ctx.created_benchmark()
        if created is not None:
            ctx.index.answer_type = created.answer_type
            self._index[benchmark] = ctx.index
        return rep

    def _write_one(self, p: "_Prepared") -> None:
        rep, ctx, benchmark = p.rep, p.ctx, p.benchmark
        if p.derived is None:        # nothing new: only the models' metadata changes
            with self._transaction() as con:
                for m in p.meta_models:
                    ingest.upsert_model(con, m)
            return
        derived = p.derived.result()
        new = p.new
        if self._written.intersection(rep.runs):
            # a run written since this file was prepared (the same file twice): skip what it wrote
            existing = self._existing_ids(rep.runs)
            if existing:
                new = [t for t in new if t.trajectory_id not in existing]
                rep.duplicates = len(ctx.trajectories) - len(new)
                derived = derived.only({t.trajectory_id for t in new})
        pending = self._pending.get(benchmark)
        created = ctx.created_benchmark()
        with self._transaction() as con:
            if pending is not None:
                benchmarks.install(con, pending)
            if created is not None:
                ingest.upsert_benchmark(con, created)
                ingest.upsert_questions(con, ctx.new_questions)
            for m in ctx.models.values():
                ingest.upsert_model(con, m)
            for m in p.models:
                if m.model_id in ctx.models:
                    ingest.upsert_model(con, m)
            for r in ctx.runs.values():
                ingest.upsert_run(con, r)
            rep.new = ingest.insert_trajectories(con, new)
            postprocess.store(con, new, derived, fresh=rep.new == len(new))
            # for the index once committed (a sync indexes only what the warehouse holds)
            self._docs.update((t.trajectory_id, (t.response, derived.triples[t.trajectory_id]))
                              for t in new if t.trajectory_id in derived.triples)


def check_args(benchmark: str, model: str | None = None, meta: Mapping[str, str] | None = None) -> None:
    """Before any file is read: --benchmark and --model are names (not blank, valid UTF-8) and
    --meta's values fit their columns (ValueError naming the bad one)."""
    for opt, v in (("--benchmark", benchmark), ("--model", model)):
        if v is None and opt == "--model":
            continue
        if not isinstance(v, str) or not v.strip():
            raise UsageError(f"{opt} must not be blank")
        if has_surrogates(v):
            raise UsageError(f"{opt} {display_path(v)!r}: not valid UTF-8")
    model_from_meta("-", meta)


@dataclass
class _Prepared:
    """A parsed file waiting to be written, its derived rows (possibly still being computed) with it."""
    rep: FileReport
    ctx: ImportContext
    benchmark: str
    models: Sequence[Model]
    new: list = field(default_factory=list)
    meta_models: list = field(default_factory=list)    # what --meta (and ``models``) set on the file's models
    derived: "postprocess.Pending | None" = None


def parse_meta(items: Sequence[str] | None, what: str = "--meta") -> dict[str, str]:
    """``k=v`` strings -> dict; raises ValueError naming the bad item."""
    out = {}
    for it in items or ():
        k, sep, v = it.partition("=")
        if not sep or not k.strip():
            raise UsageError(f"{what} {display_path(it)!r}: expected key=value")
        if has_surrogates(it):
            raise UsageError(f"{what} {display_path(it)!r}: not valid UTF-8")
        out[k.strip()] = v.strip()
    return out


__all__ = ["FileReport", "IMPORTERS", "ImportSession", "check_args", "expand", "parse_meta"]
