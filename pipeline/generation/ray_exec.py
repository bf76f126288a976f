"""`generate --executor ray`: the plan's remaining samples as a Ray Data dataset, mapped in batches
over model-holding workers, the results streamed back to this process, which alone writes the
warehouse (``runner.Writer``: the same transactions as the local executor).

* CPU backends (llamacpp, transformers): ``map_batches`` with a callable class, ``Generate``: one
  actor per worker loads the model once and runs ``Backend.generate`` on each batch, with each
  sample's own seed (``generate.sample_seed``), so a sample's text is the one the local executor
  draws wherever the backend honours per-sample seeds (llamacpp: yes; transformers: no).
* vLLM: Ray Data's LLM batch processor (``ray.data.llm.build_processor`` over a
  ``vLLMEngineProcessorConfig``): one vLLM engine per worker, each on ``tensor_parallel_size x
  pipeline_parallel_size`` GPUs from the config's ``backend_options``; one request per sample
  with its seed, as the local vllm backend sends them.

Fault tolerance is Ray's: a worker that dies is restarted (``max_restarts``) and its batch is
retried (``max_task_retries``), ``ray.retries`` times each. A batch that arrives twice is written
once (the trajectories' natural keys, ``ingest.insert_trajectories``); a restarted job skips what
is stored (``generate.make_plan``). Imported only on this path (the CLI's ``--help`` never loads Ray).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.data
from ray.data.llm import build_processor, vLLMEngineProcessorConfig
from tqdm import tqdm

from pipeline.generation import runner as gen
from pipeline.generation.backends import SamplingParams, get_backend
from pipeline.generation.backends.vllm_backend import sampling_kwargs
from pipeline.generation.config import ModelSpec, RunConfig
from warehouse.errors import LadderError
from warehouse.records import Trajectory

ROOT = Path(__file__).resolve().parents[2]
CODE = [ROOT / "pipeline", ROOT / "warehouse"]      # what a worker imports of this project (py_modules)
VLLM_DEFAULT_BATCH = 64                              # requests per engine call when the config sets no batch_size


class RayExecError(LadderError):
    """The Ray cluster cannot be reached, or the work failed on it (after Ray's retries)."""


def _last_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def _check_reachable(address: str | None, timeout: float = 10.0) -> None:
    """A HOST:PORT address (the head's GCS) must accept a connection: ray.init would wait on it for good."""
    if not address or address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise RayExecError(f"ray: --address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayExecError(f"ray: cannot reach a cluster at {address}: {exc.strerror or exc} (is `ray start --head` "
                           f"running there, and is the port the head's GCS port, 6379 by default?)") from exc


def connect(address: str | None = None, **init_kwargs) -> bool:
    """Join the cluster at ``address`` (``auto``: the one started with ``ray start`` on this node;
    ``ray://HOST:PORT``: Ray Client), or start a local one (``address`` None and no RAY_ADDRESS).
    On a cluster the project's code travels to the workers (``py_modules``); its libraries must
    be installed on every node. Returns False when Ray was already initialised here (then nothing is changed)."""
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = {"logging_level": logging.WARNING, **init_kwargs}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        kw.setdefault("include_dashboard", False)      # a local cluster: its workers see this process's sys.path
    else:
        kw.setdefault("runtime_env", {"py_modules": [str(p) for p in CODE]})
    _check_reachable(address)
    try:
        ray.init(address=address, **kw)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayExecError(f"ray: cannot reach a cluster at {address or os.environ.get('RAY_ADDRESS') or 'a new local one'}"
                           f": {_last_line(exc)}") from exc
    return True


# ---------------------------------------------------------------- the work and the workers

def work_items(cfg: RunConfig, runs: Sequence[gen.RunPlan]) -> list[dict]:
    """One row per remaining sample of these runs (of one model): its key, chat messages and seed."""
    return [{"run_id": r.run_id, "question_id": q.question_id, "sample_idx": k,
             "messages": json.dumps(cfg.messages(q.problem)),
             "seed": gen.sample_seed(cfg.seed, r.benchmark, q.question_id, k)}
            for r in runs for q, k in r.todo]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Generate:
    """A Ray Data worker: holds one model (loaded once) and generates batches of work items."""

    def __init__(self, backend: str, model: str, options: dict, params: SamplingParams) -> None:
        self.backend = get_backend(backend, model, **options)
        self.params = params
        self.name = worker_name()

    def __call__(self, batch: dict) -> dict:
        prompts = [json.loads(m) for m in batch["messages"]]
        outs = self.backend.generate(prompts, self.params, [int(s) for s in batch["seed"]])
        return {"run_id": list(batch["run_id"]), "question_id": list(batch["question_id"]),
                "sample_idx": [int(k) for k in batch["sample_idx"]],
                "text": [o[0].text for o in outs], "n_tokens": [int(o[0].n_tokens) for o in outs],
                "finish_reason": [o[0].finish_reason for o in outs], "worker": [self.name] * len(outs)}


def default_cpus_per_worker(cfg: RunConfig, spec: ModelSpec) -> float:
    return cfg.ray.cpus_per_worker or float(cfg.options_for(spec).get("n_threads") or 1)


def default_workers(cfg: RunConfig, spec: ModelSpec, resources: dict) -> int:
    """As many workers as the cluster holds: CPUs / cpus_per_worker for the CPU backends, GPUs /
    (tensor x pipeline parallel) vLLM engines."""
    if cfg.ray.workers:
        return cfg.ray.workers
    if cfg.backend == "vllm":
        opts = cfg.options_for(spec)
        per = int(opts.get("tensor_parallel_size", 1)) * int(opts.get("pipeline_parallel_size", 1))
        return max(1, int(resources.get("GPU", 0) // per))
    if cfg.ray.gpus_per_worker:
        return max(1, int(resources.get("GPU", 0) // cfg.ray.gpus_per_worker))
    return max(1, int(resources.get("CPU", 1) // default_cpus_per_worker(cfg, spec)))


def cpu_dataset(cfg: RunConfig, spec: ModelSpec, rows: list[dict], workers: int):
    """The CPU backends: map_batches over ``workers`` actors holding the model."""
    remote: dict[str, Any] = {"max_restarts": cfg.ray.retries, "max_task_retries": cfg.ray.retries}
    if cfg.ray.gpus_per_worker:
        remote["num_gpus"] = cfg.ray.gpus_per_worker
    if cfg.ray.accelerator_type:
        remote["accelerator_type"] = cfg.ray.accelerator_type
    with warnings.catch_warnings():     # Ray 2.60 takes the retries only as (deprecated) ray_remote_args
        warnings.simplefilter("ignore", DeprecationWarning)
        return ray.data.from_items(rows).map_batches(
            Generate, fn_constructor_kwargs={"backend": cfg.backend, "model": spec.model,
                                             "options": cfg.options_for(spec), "params": gen.sampling_params(cfg)},
            batch_size=gen.batch_size(cfg) or len(rows), batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=default_cpus_per_worker(cfg, spec), **remote)


# ---------------------------------------------------------------- vLLM: Ray Data's LLM batch processor

def vllm_processor_kwargs(cfg: RunConfig, spec: ModelSpec, workers: int) -> dict:
    """The ``vLLMEngineProcessorConfig`` of one model: the backend options are vLLM's engine
    arguments (tensor / pipeline parallel among them), prefix caching on unless the config says
    otherwise, one engine per worker (``concurrency``)."""
    engine = dict(cfg.options_for(spec))
    engine.setdefault("enable_prefix_caching", True)
    engine.setdefault("tensor_parallel_size", 1)
    engine.setdefault("pipeline_parallel_size", 1)
    kw = {"model_source": spec.model, "engine_kwargs": engine, "concurrency": workers,
          "batch_size": cfg.batch_size or VLLM_DEFAULT_BATCH}
    if cfg.ray.accelerator_type:
        kw["accelerator_type"] = cfg.ray.accelerator_type
    return kw


def vllm_sampling(cfg: RunConfig, seed: int) -> dict:
    """One request's ``vllm.SamplingParams`` (as the local vllm backend builds it: n=1, the sample's seed)."""
    return sampling_kwargs(gen.sampling_params(cfg), int(seed))


def vllm_finish_reason(n_tokens: int, max_tokens: int) -> str:
    """Ray's vLLM stage returns no finish reason: a completion that used every allowed token was cut."""
    return "length" if n_tokens >= max_tokens else "stop"


def vllm_dataset(cfg: RunConfig, spec: ModelSpec, rows: list[dict], workers: int):
    max_tokens = cfg.max_tokens
    processor = build_processor(
        vLLMEngineProcessorConfig(**vllm_processor_kwargs(cfg, spec, workers)),
        preprocess=lambda row: dict(row, messages=json.loads(row["messages"]),
                                    sampling_params=vllm_sampling(cfg, row["seed"])),
        postprocess=lambda row: {"run_id": row["run_id"], "question_id": row["question_id"],
                                 "sample_idx": int(row["sample_idx"]), "text": row["generated_text"],
                                 "n_tokens": int(row["num_generated_tokens"]),
                                 "finish_reason": vllm_finish_reason(int(row["num_generated_tokens"]), max_tokens),
                                 "worker": worker_name()})     # the postprocessing task (the stage names no engine)
    return processor(ray.data.from_items(rows))


# ---------------------------------------------------------------- the driver

def execute(plan: gen.Plan, *, address: str | None = None, workers: int | None = None, progress: bool = True,
            on_batch: Callable[[list[Trajectory], set[str]], None] | None = None) -> dict:
    """Generate what the plan has left on a Ray cluster; this process writes every batch as it
    arrives. ``workers`` overrides ``ray.workers``; ``on_batch(trajectories, workers)`` is called after
    each commit with the names (host:pid) of the workers that made the batch. Returns counts (and
    ``write_seconds``: the driver's time in the writer, grading included)."""
    cfg = plan.config
    if cfg.backend == "openai":     # the server already spreads the work; a failed request must not be stored
        raise LadderError("--executor ray: the openai backend sends its requests to a server, which spreads them "
                          "itself: run it with --executor local (backend_options: concurrency sets the requests "
                          "in flight)")
    summary = {"generated": 0, "tokens": 0, "batches": 0, "seconds": 0.0, "workers": 0, "write_seconds": 0.0}
    if not plan.remaining:
        return summary
    t0 = time.monotonic()
    started = connect(address)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False               # ours (tqdm) counts what is stored, not what is computed
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)   # "progress bars disabled": we know
    writer = gen.Writer.open(plan)
    seen: set[str] = set()
    bar = tqdm(total=plan.remaining, unit="traj", disable=not progress, dynamic_ncols=True)
    try:
        resources = ray.cluster_resources()
        for spec in cfg.models:
            runs = {r.run_id: r for r in plan.runs if r.spec is spec and r.todo}
            if not runs:
                continue
            n = workers or default_workers(cfg, spec, resources)
            bar.set_description(f"{spec.record.display_name or spec.model_id} ({n} worker(s))")
            records = {rid: gen.run_record(cfg, r) for rid, r in runs.items()}
            questions = {(r.run_id, q.question_id): q for r in runs.values() for q, _ in r.todo}
            rows = work_items(cfg, list(runs.values()))
            build = vllm_dataset if cfg.backend == "vllm" else cpu_dataset
            ds = build(cfg, spec, rows, n)
            try:
                for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                    trajs = [gen.trajectory(cfg, runs[rid], questions[(rid, qid)], int(k), text, int(nt), fr)
                             for rid, qid, k, text, nt, fr in zip(out["run_id"], out["question_id"], out["sample_idx"],
                                                                  out["text"], out["n_tokens"], out["finish_reason"])]
                    if not trajs:
                        continue
                    tw = time.monotonic()
                    writer.write(spec, [records[rid] for rid in sorted({t.run_id for t in trajs})], trajs)
                    summary["write_seconds"] += time.monotonic() - tw
                    names = set(map(str, out["worker"]))
                    seen |= names
                    summary["generated"] += len(trajs)
                    summary["tokens"] += sum(t.n_tokens or 0 for t in trajs)
                    summary["batches"] += 1
                    bar.update(len(trajs))
                    bar.set_postfix(tok_s=f"{summary['tokens'] / max(time.monotonic() - t0, 1e-9):.1f}")
                    if on_batch is not None:
                        on_batch(trajs, names)
            except ray.exceptions.RayError as exc:
                raise RayExecError(f"ray: generating with {spec.model_id} failed: {_last_line(exc)}") from exc
    finally:
        bar.close()
        if started:
            ray.shutdown()
        summary["seconds"] = round(time.monotonic() - t0, 2)
        summary["workers"] = len(seen)
        summary["write_seconds"] = round(summary["write_seconds"], 2)
    return summary
