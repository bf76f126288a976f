"""The generation stage: a validated run config in, trajectories streamed into the warehouse out.

``make_plan`` works out, per (model, benchmark) run, which (question, sample) pairs this shard
owns and which the warehouse already holds; ``execute`` loads each model once, sends the
remaining samples to the backend batch by batch, and commits every finished batch in one short
``db.writer()`` transaction (model, run, trajectories, ``postprocess.store``), after running
``postprocess.derive`` outside it. Killing the process loses at most the batch in flight;
running the same config again resumes where it stopped and never writes a sample twice.

Every sample has its own seed, derived from (run seed, benchmark, question, sample index), so
a resumed or sharded run draws the same samples as a single uninterrupted one (on backends
that honour per-sample seeds: llamacpp and vllm).
"""
from __future__ import annotations

import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from pipeline.ingest import benchmarks as bench_mod
from pipeline.derive import postprocess
from pipeline.generation.backends import BACKENDS, SamplingParams, get_backend
from pipeline.generation.config import BenchmarkSelection, ConfigError, ModelSpec, RunConfig
from pipeline.ingest.shards import Shard
from warehouse import db, ingest, lookup, textindex
from warehouse.records import Question, Run, Trajectory


def sample_seed(run_seed: int, benchmark: str, question_id: str, sample_idx: int) -> int:
    """The seed of one sample: the same wherever and whenever it is generated."""
    key = f"{run_seed}\x1f{benchmark}\x1f{question_id}\x1f{sample_idx}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") % (2**31 - 1)


def select_questions(sel: BenchmarkSelection, data: bench_mod.BenchmarkData, key: str,
                     path: str = "<config>") -> list[Question]:
    """The questions a benchmark entry of the config selects, in the benchmark's order."""
    qs = data.questions
    if sel.ids:
        known = {q.question_id for q in qs}
        for j, qid in enumerate(sel.ids):
            if qid not in known:
                raise ConfigError(f"{path}: {key}.ids[{j}]: no question {qid!r} in {sel.name}")
        wanted = set(sel.ids)
        qs = [q for q in qs if q.question_id in wanted]
    if sel.tiers:
        tiers = {t.question_id for t in data.tiers if t.scheme == sel.scheme and t.tier in sel.tiers}
        if not any(t.scheme == sel.scheme for t in data.tiers):
            raise ConfigError(f"{path}: {key}.tiers: {sel.name} has no tiers under scheme {sel.scheme!r}")
        qs = [q for q in qs if q.question_id in tiers]
    if sel.categories:
        qs = [q for q in qs if q.category in sel.categories]
    if sel.levels:
        qs = [q for q in qs if q.level in sel.levels]
    if sel.limit:
        qs = qs[:sel.limit]
    if not qs:
        raise ConfigError(f"{path}: {key}: the selection matches no question of {sel.name}")
    return qs



# set by the SIGTERM/SIGINT handler of `generate` (pipeline/commands/generate.py) beside raising KeyboardInterrupt:
# the raise can land inside llama.cpp's ctypes log callback, which prints and drops it, so the loop checks this too
STOP = threading.Event()

@dataclass
class RunPlan:
    spec: ModelSpec
    benchmark: str
    run_id: str
    questions: list[Question]
    owned: int                                   # samples this shard owns
    done: int                                    # of those, already in the warehouse
    todo: list[tuple[Question, int]] = field(default_factory=list)


@dataclass
class Plan:
    config: RunConfig
    db: Path
    shard: Shard | None
    runs: list[RunPlan]
    data: dict[str, bench_mod.BenchmarkData]

    @property
    def owned(self) -> int:
        return sum(r.owned for r in self.runs)

    @property
    def done(self) -> int:
        return sum(r.done for r in self.runs)

    @property
    def remaining(self) -> int:
        return sum(len(r.todo) for r in self.runs)

    def describe(self) -> str:
        c = self.config
        lines = [f"config {c.path} ({c.name}): backend {c.backend}, {len(c.models)} model(s), "
                 f"{c.samples} sample(s)/question, temperature {c.temperature}, top_p {c.top_p}, "
                 f"max_tokens {c.max_tokens}, seed {c.seed}",
                 f"warehouse {self.db}" + (f", shard {self.shard}" if self.shard else ""),
                 f"{'run':<58} {'questions':>9} {'samples':>8} {'stored':>8} {'remaining':>9}"]
        for r in self.runs:
            lines.append(f"{r.run_id[:58]:<58} {len(r.questions):>9} {r.owned:>8} {r.done:>8} {len(r.todo):>9}")
        lines.append(f"total: {self.owned} generations, {self.done} already stored, {self.remaining} remaining; "
                     f"at most {self.remaining * c.max_tokens:,} new tokens")
        return "\n".join(lines)


def _stored(db_path: Path, run_ids: list[str]) -> set[tuple[str, str, int]]:
    if not db_path.exists():
        return set()
    with db.reader(db_path) as con:
        if "trajectories" not in lookup.tables(con):
            return set()
        return lookup.stored_samples(con, run_ids)


def make_plan(cfg: RunConfig, db_path: str | Path | None = None, shard: Shard | None = None,
              data_root: Path | None = None) -> Plan:
    """What to generate and what is already there. Loads no model."""
    path = db.db_path(db_path)
    if data_root is None:
        data_root = bench_mod.data_dir()
    data = {}
    for b in cfg.benchmarks:
        if b.name not in data:
            data[b.name] = bench_mod.load(b.name, data_root)
    selected: dict[str, list[Question]] = {}
    for i, b in enumerate(cfg.benchmarks):
        qs = select_questions(b, data[b.name], f"benchmarks[{i}]", cfg.path)
        have = {q.question_id for q in selected.get(b.name, [])}
        selected.setdefault(b.name, []).extend(q for q in qs if q.question_id not in have)
    runs = [RunPlan(spec, name, cfg.run_id(spec, name), qs, 0, 0)
            for spec in cfg.models for name, qs in selected.items()]
    stored = _stored(path, [r.run_id for r in runs])
    for r in runs:
        for q in r.questions:
            for k in range(cfg.samples):
                if shard and not shard.owns(r.spec.model_id, r.benchmark, q.question_id, k):
                    continue
                r.owned += 1
                if (r.run_id, q.question_id, k) in stored:
                    r.done += 1
                else:
                    r.todo.append((q, k))
    return Plan(cfg, path, shard, runs, data)


@dataclass
class Writer:
    """The one write path of generation, shared by the executors (local, Ray): the question tables
    installed once, then every finished batch derived outside any transaction and committed in one
    short ``db.writer()`` transaction (model, runs, trajectories, ``postprocess.store``). The
    trajectories' natural keys make a batch written twice (a retried Ray task) a no-op."""
    plan: Plan
    questions: dict = field(default_factory=dict)
    answer_types: dict = field(default_factory=dict)

    @classmethod
    def open(cls, plan: Plan) -> "Writer":
        with db.writer(plan.db) as con:        # question tables first: runs and stats join on them
            for name in sorted({r.benchmark for r in plan.runs if r.todo}):
                bench_mod.install(con, plan.data[name])
        questions = {(q.benchmark, q.question_id): q for d in plan.data.values() for q in d.questions}
        return cls(plan, questions, {name: d.benchmark.answer_type for name, d in plan.data.items()})

    def write(self, spec: ModelSpec, runs: list[Run], trajs: list[Trajectory]) -> int:
        """Commit one batch of one model's trajectories (of any of its runs); returns how many were new."""
        derived = postprocess.derive(trajs, self.questions, self.answer_types)
        with db.writer(self.plan.db) as con:
            ingest.upsert_model(con, spec.record)
            for run in runs:
                ingest.upsert_run(con, run)
            inserted = ingest.insert_trajectories(con, trajs)
            postprocess.store(con, trajs, derived, fresh=inserted == len(trajs))
        textindex.follow(self.plan.db)         # the full-text index follows every committed batch
        return inserted


def run_record(cfg: RunConfig, r: RunPlan) -> Run:
    """The warehouse row of a planned run."""
    return Run(r.run_id, r.spec.model_id, r.benchmark, "generated", source_format=cfg.backend,
               temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
               seed=cfg.seed, prompt_template=cfg.prompt_template,
               samples_per_question=cfg.samples, config=cfg.as_dict())


def sampling_params(cfg: RunConfig) -> SamplingParams:
    return SamplingParams(n=1, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                          seed=cfg.seed, stop=cfg.stop)


def batch_size(cfg: RunConfig) -> int | None:
    """Samples per committed batch: the config's, else the backend's default (None: all of a run at once)."""
    return cfg.batch_size or getattr(BACKENDS.get(cfg.backend), "default_batch_size", None)


def trajectory(cfg: RunConfig, r: RunPlan, q: Question, k: int, text: str, n_tokens: int | None,
               finish_reason: str | None) -> Trajectory:
    return Trajectory(r.run_id, r.benchmark, q.question_id, k, response=text, prompt=cfg.render(q.problem),
                      n_tokens=n_tokens, finish_reason=finish_reason)


def execute(plan: Plan, *, progress: bool = True,
            backend_factory: Callable = get_backend) -> dict:
    """Generate everything the plan has left, committing batch by batch. Returns counts."""
    cfg = plan.config
    summary = {"generated": 0, "tokens": 0, "batches": 0, "seconds": 0.0, "failed": 0}
    if not plan.remaining:
        return summary
    writer = Writer.open(plan)
    params = sampling_params(cfg)
    size = batch_size(cfg)
    t0 = time.monotonic()
    bar = tqdm(total=plan.remaining, unit="traj", disable=not progress, dynamic_ncols=True)
    try:
        for spec in cfg.models:
            runs = [r for r in plan.runs if r.spec is spec and r.todo]
            if not runs:
                continue
            bar.set_description(spec.record.display_name or spec.model_id)
            backend = backend_factory(cfg.backend, spec.model, **cfg.options_for(spec))
            try:
                for r in runs:
                    run = run_record(cfg, r)
                    step = size or len(r.todo)
                    for i in range(0, len(r.todo), step):
                        batch = r.todo[i:i + step]
                        prompts = [cfg.messages(q.problem) for q, _ in batch]
                        seeds = [sample_seed(cfg.seed, r.benchmark, q.question_id, k) for q, k in batch]
                        outs = backend.generate(prompts, params, seeds)
                        if STOP.is_set():   # a stop that a C callback swallowed (ctypes ignores its exceptions)
                            raise KeyboardInterrupt
                        for (q, k), o in zip(batch, outs):
                            if o[0].error:          # a server request that failed for good: nothing stored
                                summary["failed"] += 1
                                bar.write(f"generate: {r.run_id}: question {q.question_id} sample {k}: failed "
                                          f"for good: {o[0].error}", file=sys.stderr)
                        trajs = [trajectory(cfg, r, q, k, o[0].text, o[0].n_tokens, o[0].finish_reason)
                                 for (q, k), o in zip(batch, outs) if not o[0].error]
                        if trajs:
                            writer.write(spec, [run], trajs)
                        summary["generated"] += len(trajs)
                        summary["tokens"] += sum(t.n_tokens or 0 for t in trajs)
                        summary["batches"] += 1
                        bar.update(len(trajs))
                        elapsed = max(time.monotonic() - t0, 1e-9)
                        bar.set_postfix(tok_s=f"{summary['tokens'] / elapsed:.1f}")
            finally:
                backend.close()
    finally:
        bar.close()
        summary["seconds"] = round(time.monotonic() - t0, 2)
    if summary["failed"]:
        print(f"generate: {summary['failed']} sample(s) failed for good and were not stored; run the same "
              f"command again to retry only those", file=sys.stderr)
    return summary
