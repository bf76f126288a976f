"""The `judge` annotator through the `openai` backend, against real HTTP servers on 127.0.0.1: the
scripted server (tests/openai_server.py) for bounded concurrency, the raw reply as evidence, failures
and resuming; llama.cpp's own server (slow) for ProcessBench end to end."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from openai_server import ScriptedServer
from pipeline.generation import config
from pipeline.cli import main
from pipeline.derive.processbench import processbench_scores
from test_openai_backend import llama_server  # noqa: F401  (the module-scoped llama.cpp server fixture)
from tiny import SAMPLES
from warehouse import db

JUDGE = """
backend: openai
model: {model}
max_tokens: {max_tokens}
batch_size: {batch}
backend_options: {{base_url: "{url}", concurrency: {concurrency}, timeout_s: {timeout}, max_retries: 1}}
"""
VERDICT = '{"step": 1, "type": "calculation"}'
N_TINY = sum(len(k) for s in SAMPLES.values() for k in s.values())     # 27 trajectories ...
N_EMPTY = sum(k.count("E") for s in SAMPLES.values() for k in s.values())  # ... 2 of them empty: no steps


def judge_config(tmp_path, url, *, concurrency=3, batch=8, max_tokens=64, model="scripted", timeout=30):
    p = tmp_path / "judge.yaml"
    p.write_text(JUDGE.format(url=url, concurrency=concurrency, batch=batch, max_tokens=max_tokens, model=model,
                              timeout=timeout))
    return p


@pytest.fixture
def tiny_copy(tiny_db, tmp_path):
    """A writable copy of the tiny warehouse (27 trajectories, two steps each but the 2 empty ones)."""
    dst = tmp_path / "w" / "tiny.duckdb"
    dst.parent.mkdir()
    shutil.copy(tiny_db, dst)
    search = tiny_db.parent / (tiny_db.name + ".search")
    if search.exists():
        shutil.copytree(search, dst.parent / search.name)
    return dst


def _judged(path) -> dict[int, tuple]:
    """trajectory id -> (step, label, evidence) of the judge's step labels / no_error flags."""
    with db.reader(path) as con:
        rows = con.execute("SELECT trajectory_id, step_idx, label, evidence FROM step_annotations "
                           "WHERE annotator = 'judge' UNION ALL SELECT trajectory_id, -1, flag, detail "
                           "FROM trajectory_flags WHERE annotator = 'judge'").fetchall()
    return {t: (s, label, ev) for t, s, label, ev in rows}


def _key(text: str) -> str | None:
    """Which tiny trajectory a judge prompt is about ('tiny-base, sample 0 of q3'; None: an empty one)."""
    return text.split("Step 0: ", 1)[1].split(". We work", 1)[0] if "Step 0: " in text else None


def test_judge_config_is_validated(tmp_path):
    p = tmp_path / "j.yaml"
    p.write_text("backend: openai\nmodel: m\nbackend_options: {base_url: 'http://h/v1', concurrency: 0}\n")
    with pytest.raises(config.ConfigError, match=r"j\.yaml: backend_options\.concurrency: must be >= 1"):
        config.load_judge(p)
    p.write_text("backend: openai\nmodel: m\nmax_tokenz: 5\nbackend_options: {base_url: 'http://h/v1'}\n")
    with pytest.raises(config.ConfigError, match=r"j\.yaml: max_tokenz: unknown key \(did you mean 'max_tokens'\?\)"):
        config.load_judge(p)
    shipped = config.load_judge(db.REPO_ROOT / "configs" / "judge_openai.yaml")
    assert shipped["backend"] == "openai" and shipped["backend_options"]["base_url"].startswith("http")


def test_judge_through_a_server_is_bounded_keeps_evidence_and_resumes(tiny_copy, tmp_path, capsys):
    with ScriptedServer() as srv:
        srv.default = ("say", VERDICT, 0.05)
        srv.script("tiny-base, sample 0 of q3", "500", "500")      # fails for good (2 attempts), then heals
        cfg = judge_config(tmp_path, srv.url)
        argv = ["annotate", "--annotator", "judge", "--config", str(cfg), "--db", str(tiny_copy)]
        assert main(argv) == 0
        out, err = capsys.readouterr()
        first = json.loads(out.strip().splitlines()[-1])
        assert first == {"annotator": "judge", "trajectories": N_TINY, "step_labels": N_TINY - 1,
                         "flags": N_EMPTY, "failed": 1}
        assert err.count("request failed for good: HTTP 500: internal error (2 attempt(s))") == 1
        assert srv.max_inflight <= 3                                    # concurrency: 3
        judged = _judged(tiny_copy)
        assert len(judged) == N_TINY - 1
        verdicts = [v for v in judged.values() if v[1] != "judge_unparseable"]       # (no step 1 in an empty one)
        assert len(verdicts) == N_TINY - 1 - N_EMPTY
        assert set(verdicts) == {(1, "first_error:calculation", VERDICT)}             # the raw reply as evidence
        # rerun: only the one that failed is sent again
        n = len(srv.completions())
        assert main(argv) == 0
        again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert again == {"annotator": "judge", "trajectories": 1, "step_labels": 1, "flags": 0}
        assert [_key(r["body"]["messages"][-1]["content"]) for r in srv.completions()[n:]] == \
            ["tiny-base, sample 0 of q3"]
        assert len(_judged(tiny_copy)) == N_TINY
        # --redo judges everything again and replaces (no duplicates)
        srv.default = ("say", '{"step": -1}')
        n = len(srv.completions())
        assert main(argv + ["--redo"]) == 0
        capsys.readouterr()
        assert len(srv.completions()) - n == N_TINY
    assert set(_judged(tiny_copy).values()) == {(-1, "no_error", '{"step": -1}')}


def test_eval_annotator_scores_the_judge_on_processbench_through_a_server(shared, tmp_path, capsys):
    items = json.loads((shared / "step-labels" / "processbench" / "gsm8k.json").read_text())
    picked = items[:4] + [it for it in items if it["label"] == -1][:2]
    labels_file = tmp_path / "pb.json"
    labels_file.write_text(json.dumps(picked))
    with ScriptedServer() as srv:
        # the judge is right on the first three, wrong on the fourth, right on the fifth (no error) ...
        for it, step in zip(picked, [it["label"] for it in picked[:3]] + [0, -1]):
            srv.script(it["problem"].strip()[:200], ("say", json.dumps({"step": step})))
        srv.script(picked[5]["problem"].strip()[:200], *["500"] * 4)    # ... and one request fails for good
        picked_preds = [it["label"] for it in picked[:3]] + [0, -1, None]
        assert main(["eval-annotator", "--annotator", "judge", "--labels", str(labels_file),
                     "--config", str(judge_config(tmp_path, srv.url))]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = processbench_scores([it["label"] for it in picked], picked_preds)
    assert {k: res[k] for k in expected} == expected and res["failed"] == 1
    assert res["agreement"]["n_unknown"] == 1


@pytest.mark.slow
def test_killed_judge_run_resumes_without_judging_twice(tiny_copy, tmp_path):
    with ScriptedServer() as srv:
        srv.default = ("say", VERDICT, 0.3)
        cfg = judge_config(tmp_path, srv.url, concurrency=2, batch=2)
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "annotate", "--annotator", "judge", "--config",
                                 str(cfg), "--db", str(tiny_copy)], cwd=str(db.REPO_ROOT),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if len(_judged(tiny_copy)) >= 4:
                    break
            except Exception:              # the writer holds the lock
                pass
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-500:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = len(_judged(tiny_copy))
        assert 4 <= done < N_TINY
        n = len(srv.completions())
        srv.default = ("say", VERDICT)
        assert main(["annotate", "--annotator", "judge", "--config", str(cfg), "--db", str(tiny_copy)]) == 0
        resent = [_key(r["body"]["messages"][-1]["content"]) for r in srv.completions()[n:]]
    assert len(resent) == len(set(resent)) == N_TINY - done
    assert len(_judged(tiny_copy)) == N_TINY


@pytest.mark.slow
def test_judge_through_the_llama_cpp_server_end_to_end(llama_server, shared, tiny_copy, tmp_path, capsys):  # noqa: F811
    # llama.cpp's Python server answers one request at a time: a long ProcessBench prompt takes a while
    cfg = judge_config(tmp_path, llama_server, concurrency=2, batch=4, max_tokens=24, timeout=600)
    assert main(["eval-annotator", "--annotator", "judge", "--labels",
                 str(shared / "step-labels" / "processbench" / "gsm8k.json"), "--limit", "1",
                 "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    res = json.loads(out.strip().splitlines()[-1])
    assert res["n"] == 1 and "failed" not in res and 0 <= res["f1"] <= 1, err
    assert main(["annotate", "--annotator", "judge", "--config", str(cfg), "--db", str(tiny_copy),
                 "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["trajectories"] == 2 and "failed" not in out
    judged = _judged(tiny_copy)
    assert len(judged) == 2 and all(ev for _, _, ev in judged.values())     # the model's raw reply kept
