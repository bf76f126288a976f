"""Scale-out: split a run's work across machines with ``--shard i/N``, then merge the outputs.

Shard ``i`` of ``N`` (0-based) owns the samples whose hash of (model, benchmark, question,
sample) is ``i`` modulo ``N``: deterministic, independent of the question order, and stable
when samples or questions are added. Each shard writes its own DuckDB warehouse file (the same
schema, so it can be resumed and even browsed on its own); ``merge()`` ingests shard files
into one warehouse idempotently (natural keys; trajectories already there are skipped) and stores the
new ones' derived rows: copied from the shard when it derived them with the same grader and timeline
versions (no grading, segmenting or annotating again), else from ``postprocess.derive``. Failure modes
(warehouse.clusters) are not copied: a benchmark of the warehouse that has them is embedded and clustered
again over the merged trajectories (``pipeline.derive.annotate.refresh_clusters``).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pyarrow as pa

from pipeline.ingest import benchmarks
from derivation import grade
from pipeline.derive import postprocess
from pipeline.derive.annotate import refresh_clusters
from derivation import answer_timeline
from warehouse import db, derived, ingest, lookup, textindex
from warehouse.errors import NotFound, UsageError
from warehouse.records import Benchmark, Model, Question, ReferenceValue, Run, Tier, Trajectory

MERGE_CHUNK = 1000          # trajectories per write transaction


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, model_id: str, benchmark: str, question_id: str, sample_idx: int) -> bool:
        key = f"{model_id}\x1f{benchmark}\x1f{question_id}\x1f{sample_idx}".encode()
        h = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")
        return h % self.count == self.index


def parse_shard(text: str) -> Shard:
    """``"i/N"`` with 0 <= i < N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise UsageError(f"--shard {text!r}: expected i/N, e.g. 0/4 (shards are numbered 0..N-1)")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or i >= n:
        raise UsageError(f"--shard {text!r}: need 0 <= i < N (shards are numbered 0..N-1)")
    return Shard(i, n)


def shard_db_path(out_dir: str | os.PathLike, name: str, shard: Shard | None) -> Path:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    suffix = f".shard-{shard.index}-of-{shard.count}" if shard else ""
    return Path(out_dir) / f"{stem}{suffix}.duckdb"


@dataclass
class MergeResult:
    files: int = 0
    runs: int = 0
    trajectories_seen: int = 0
    trajectories_new: int = 0
    derived_copied: int = 0      # new trajectories whose grade, steps, annotations and timeline were copied
    benchmarks: set = field(default_factory=set)
    clusters: list = field(default_factory=list)    # pipeline.derive.annotate.refresh_clusters' result


def _read_shard(path: Path) -> dict:
    if not path.is_file():
        raise NotFound(f"{path}: no such shard file")
    try:
        with db.reader(path) as con:
            if not {"runs", "trajectories", "models", "questions"} <= lookup.tables(con):
                raise UsageError(f"{path}: not a ladder warehouse (no runs/trajectories tables)")
            return {"benchmarks": lookup.records(con, Benchmark), "questions": lookup.records(con, Question),
                    "tiers": lookup.records(con, Tier), "references": lookup.records(con, ReferenceValue),
                    "models": lookup.records(con, Model), "runs": lookup.records(con, Run),
                    "trajectories": lookup.records(con, Trajectory)}
    except Exception as exc:
        if isinstance(exc, (ValueError, FileNotFoundError)):
            raise
        raise UsageError(f"{path}: cannot read as a DuckDB warehouse: {exc}") from exc


def _combined(a: postprocess.Derived, b: postprocess.Derived) -> postprocess.Derived:
    def cat(x: pa.Table, y: pa.Table) -> pa.Table:
        return pa.concat_tables([x, y.select(x.schema.names).cast(x.schema)])
    return postprocess.Derived(a.grades + b.grades, cat(a.steps, b.steps), a.annotations + b.annotations,
                               a.flags + b.flags, cat(a.answers, b.answers), cat(a.timelines, b.timelines))


def merge(paths: Sequence[str | os.PathLike], db_path: str | os.PathLike | None = None) -> MergeResult:
    """Ingest shard warehouses into ``db_path``; running it twice adds nothing."""
    res = MergeResult()
    for p in paths:
        shard = _read_shard(Path(p))
        res.files += 1
        with db.writer(db_path) as con:
            for b in shard["benchmarks"]:
                benchmarks.install(con, benchmarks.BenchmarkData(
                    b, [q for q in shard["questions"] if q.benchmark == b.benchmark],
                    [t for t in shard["tiers"] if t.benchmark == b.benchmark],
                    [r for r in shard["references"] if r.benchmark == b.benchmark]))
            for m in shard["models"]:
                ingest.upsert_model(con, m)
            for r in shard["runs"]:
                res.runs += ingest.upsert_run(con, r)
            have = lookup.trajectory_ids(con, [r.run_id for r in shard["runs"]])
        trajs = shard["trajectories"]
        res.trajectories_seen += len(trajs)
        new = [t for t in trajs if t.trajectory_id not in have]
        questions = {(q.benchmark, q.question_id): q for q in shard["questions"]}
        answer_types = {b.benchmark: b.answer_type for b in shard["benchmarks"]}
        # what the shard derived already (same grader and timeline versions) is copied, not derived again
        with db.reader(Path(p)) as scon:
            stored = derived.stored_rows(scon, [t.trajectory_id for t in new], grade.GRADER, grade.GRADER_VERSION,
                                         answer_timeline.version())
        res.derived_copied += len(stored.ids)
        copied = postprocess.Derived(stored.grades, stored.steps, stored.annotations, stored.flags,
                                     stored.answers, stored.timelines)
        # one connection for the shard's chunks (a transaction each): closing checkpoints, ~0.3 s a time
        con = db.connect(db_path) if new else None
        try:
            if con is not None:
                ingest.set_checkpoint_threshold(con, "256MB")
            for i in range(0, len(new), MERGE_CHUNK):
                chunk = new[i:i + MERGE_CHUNK]
                derived_rows = copied.only({t.trajectory_id for t in chunk})
                rest = [t for t in chunk if t.trajectory_id not in stored.ids]
                if rest:
                    derived_rows = _combined(derived_rows, postprocess.derive(rest, questions, answer_types))
                with db.transaction(con):
                    inserted = ingest.insert_trajectories(con, chunk)
                    res.trajectories_new += inserted
                    postprocess.store(con, chunk, derived_rows, fresh=inserted == len(chunk))
        finally:
            if con is not None:
                con.close()
        textindex.follow(db_path)              # the full-text index follows each merged shard
        res.benchmarks |= {b.benchmark for b in shard["benchmarks"]}
    if res.trajectories_new:       # failure modes are not copied: a benchmark that has them is embedded and
        res.clusters = refresh_clusters(db_path, sorted(res.benchmarks))      # clustered again
    return res
