"""Issue 12: a bad value rejects (or is ignored with a warning on) just its line, named `file:line: field`;
every good line and every later file is kept; a failed import leaves the warehouse as it was.
Real files written here, the real import path, a real DuckDB file."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.cli import main
from warehouse import db

from test_import_qwen_eval import snapshot

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIG = 2**31


def rec(aime_problems, i, sample=0, **kw):
    q = aime_problems[i]
    r = {"model": "m1", "question_id": str(q["id"]), "sample_idx": sample,
         "response": f"so \\boxed{{{int(q['answer'])}}}", "correct": True}
    r.update(kw)
    return r


def write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines) + b"\n")
    return path


def rows(path, sql, params=None):
    with db.reader(path) as con:
        return con.execute(sql, params or []).fetchall()


def problems(err, path):
    """(line, field, severity) of every problem printed for this file."""
    out = []
    for line in err.splitlines():
        sev, _, rest = line.partition(": ")
        if rest.startswith(f"{path}:"):
            ln, fld = rest[len(str(path)) + 1:].split(": ")[:2]
            out.append((int(ln), fld, sev))
    return out


def test_integers_beyond_their_columns_reject_only_their_line(shared, aime_problems, tmp_path, tmp_db, capsys):
    """sample_idx / n_tokens are INTEGER columns: 2^31 used to fail the file's write and stop the import."""
    bad = write(tmp_path / "a" / "bad.jsonl", [
        rec(aime_problems, 0),
        rec(aime_problems, 1, sample=BIG),                          # 2 rejected
        rec(aime_problems, 2, n_tokens=BIG),                        # 3 kept, n_tokens ignored
        rec(aime_problems, 3, sample=2**63),                        # 4 rejected
        rec(aime_problems, 4, n_tokens=2**64),                      # 5 kept
        rec(aime_problems, 5, sample=BIG - 1, n_tokens=BIG - 1),    # 6 kept: the largest INTEGER
        b'{"model": "m1", "question_id": "66", "response": "r", "sample_idx": ' + b"9" * 5000 + b"}",  # 7
        rec(aime_problems, 7),
    ])
    later = write(tmp_path / "b" / "later.jsonl", [rec(aime_problems, i, model="m2") for i in range(3)])
    rc = main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), "--data-dir",
               str(shared), str(bad), str(later)])
    err = capsys.readouterr().err
    assert rc == 1
    assert problems(err, bad) == [(2, "sample_idx", "error"), (3, "n_tokens", "warning"),
                                  (4, "sample_idx", "error"), (5, "n_tokens", "warning"),
                                  (7, "line", "error")]
    assert f"{bad}:2: sample_idx: expected a non-negative integer (at most {BIG - 1}), got {BIG}" in err
    got = rows(tmp_db, "SELECT r.model_id, t.question_id, t.sample_idx, t.n_tokens FROM trajectories t "
                       "JOIN runs r USING (run_id) ORDER BY 1, 2")
    assert got == [("m1", "60", 0, None), ("m1", "62", 0, None), ("m1", "64", 0, None),
                   ("m1", "65", BIG - 1, BIG - 1), ("m1", "67", 0, None),
                   ("m2", "60", 0, None), ("m2", "61", 0, None), ("m2", "62", 0, None)]
    # a file of nothing but such lines writes nothing at all
    before = snapshot(tmp_db)
    only_bad = write(tmp_path / "c" / "only_bad.jsonl", [rec(aime_problems, 1, sample=BIG), rec(aime_problems, 2, sample=-1)])
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(only_bad)]) == 1
    assert snapshot(tmp_db) == before


def test_lone_surrogates_are_replaced_and_warned(shared, aime_problems, tmp_path, tmp_db, capsys):
    """JSON may escape half a surrogate pair; such a str cannot be encoded as UTF-8 (the write failed)."""
    f = write(tmp_path / "s.jsonl", [
        rec(aime_problems, 0),
        json.dumps(rec(aime_problems, 1, response="half \ud800 a pair", pred="x\udfff")).encode(),   # 2: escaped by dumps
        json.dumps(rec(aime_problems, 2, response="a real pair \U0001F600")).encode(),               # 3: no warning
        json.dumps(rec(aime_problems, 3, model="m\udc80")).encode(),                                  # 4: model name
    ])
    assert b"\\ud800" in f.read_bytes()
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 0
    err = capsys.readouterr().err
    assert problems(err, f) == [(2, "response", "warning"), (2, "pred", "warning"), (4, "model", "warning")]
    assert f"{f}:2: response: lone surrogate escapes (not valid Unicode) replaced by U+FFFD" in err
    got = dict(rows(tmp_db, "SELECT question_id, response || ' ' || coalesce(source_pred, '') FROM trajectories"))
    assert got["61"] == "half \ufffd a pair x\ufffd" and got["62"].startswith("a real pair \U0001F600")
    assert rows(tmp_db, "SELECT model_id FROM models ORDER BY 1") == [("m1",), ("m\ufffd",)]


def test_a_file_name_that_is_not_utf8(shared, aime_problems, tmp_path, tmp_db, capsys):
    """The model name and run source come from the file name; its undecodable bytes become U+FFFD."""
    f = write(tmp_path / os.fsdecode(b"run\xff.jsonl"), [{k: v for k, v in rec(aime_problems, 0).items() if k != "model"}])
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 0
    assert "run\ufffd: 1 new trajectories" in capsys.readouterr().out
    assert rows(tmp_db, "SELECT model_id, source_file FROM runs") == [("run\ufffd", str(tmp_path / "run\ufffd.jsonl"))]


def test_deeply_nested_json_is_one_bad_line(shared, aime_problems, tmp_path, tmp_db, capsys):
    """json.loads raises RecursionError past ~1000 levels (it stopped the import); 101+ levels are refused too."""
    deep = b'{"model": "m1", "question_id": "61", "response": "r", "prompt": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    mid = b'{"model": "m1", "question_id": "62", "response": "r", "prompt": ' + b"[" * 150 + b"]" * 150 + b"}"
    f = write(tmp_path / "d.jsonl", [rec(aime_problems, 0), deep, mid, rec(aime_problems, 3)])
    later = write(tmp_path / "e.jsonl", [rec(aime_problems, 4, model="m2")])
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(f), str(later)]) == 1
    err = capsys.readouterr().err
    assert f"{f}:2: line: JSON nested over 100 levels deep" in err
    assert f"{f}:3: line: JSON nested over 100 levels deep" in err
    assert rows(tmp_db, "SELECT question_id FROM trajectories ORDER BY 1") == [("60",), ("63",), ("64",)]


def _lm_eval_file(path, aime_problems, kwargs):
    lines = []
    for i, p in enumerate(aime_problems[:3]):
        lines.append({"doc_id": i, "doc": p, "target": p["answer"],
                      "arguments": {"gen_args_0": {"arg_0": p["problem"], "arg_1": kwargs}},
                      "resps": [[f"\\boxed{{{int(p['answer'])}}}"]], "filtered_resps": [[str(p["answer"])]],
                      "exact_match": 1})
    # json.dumps writes Infinity and NaN as lm-eval's Python json.dump would
    return write(path, lines)


def test_lm_eval_run_settings_out_of_range_are_ignored_with_a_warning(shared, aime_problems, tmp_path, tmp_db, capsys):
    """max_gen_toks Infinity (int() raised OverflowError) or >= 2^31 (INTEGER), a non-finite temperature,
    and a checkpoint number beyond INTEGER in the folder name: warned, the run keeps the rest."""
    name = "samples_aime24_2025-03-01T10-11-12.123456.jsonl"
    root = tmp_path / "results"
    inf = _lm_eval_file(root / "a" / "checkpoint-99999999999" / name, aime_problems,
                        {"max_gen_toks": float("inf"), "temperature": float("nan"), "top_p": 0.95})
    big = _lm_eval_file(root / "b" / "checkpoint-7" / name, aime_problems, {"max_gen_toks": BIG, "temperature": 0.6})
    assert main(["import", "--format", "lm-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(root)]) == 0
    err = capsys.readouterr().err
    assert problems(err, inf) == [(0, "train_step", "warning"), (1, "temperature", "warning"),
                                  (1, "max_gen_toks", "warning")]
    assert problems(err, big) == [(1, "max_gen_toks", "warning")]
    got = rows(tmp_db, "SELECT r.model_id, r.max_tokens, r.temperature, r.top_p, m.train_step, "
                       "count(t.trajectory_id) FROM runs r JOIN models m USING (model_id) "
                       "JOIN trajectories t USING (run_id) GROUP BY ALL ORDER BY 1")
    assert got == [("a@checkpoint-99999999999", None, None, 0.95, None, 3), ("b@checkpoint-7", None, 0.6, None, 7, 3)]


def test_mistyped_question_fields_when_the_benchmark_is_created(shared, tmp_path, tmp_db, capsys):
    """solution as an object could not be stored (the write failed); a gold answer must be a string or number."""
    f = write(tmp_path / "new.jsonl", [
        {"idx": 1, "question": "What is 1+1?", "gt": "2", "code": ["\\boxed{2}"], "solution": {"steps": [1]}},
        {"idx": 2, "question": "What is 2+2?", "gt": {"value": 4}, "code": ["\\boxed{4}"]},
        {"idx": {"a": 1}, "question": "What is 3+3?", "gt": "6", "code": ["\\boxed{6}"]},
        {"idx": 4, "question": "What is 4+4?", "gt": 8, "code": ["\\boxed{8}"], "level": [1]},
    ])
    assert main(["import", "--format", "qwen-eval", "--benchmark", "toy", "--db", str(tmp_db), str(f)]) == 1
    err = capsys.readouterr().err
    assert problems(err, f) == [(1, "solution", "warning"), (2, "answer", "error"), (3, "question_id", "error"),
                                (4, "level", "warning")]
    assert rows(tmp_db, "SELECT question_id, answer, solution, level FROM questions ORDER BY 1") == [
        ("1", "2", None, None), ("4", "8", None, None)]


def test_an_id_never_matches_a_different_problem(shared, aime_problems, tmp_path, tmp_db, capsys):
    """jsonl attached a record to question 60 by id whatever its problem text; created ids 1 and "1"
    with different problems were stored under one question. qwen-eval already refused the latter."""
    f = write(tmp_path / "ids.jsonl", [
        rec(aime_problems, 0, problem=aime_problems[0]["problem"]),                    # id and text agree
        rec(aime_problems, 0, sample=1, problem=aime_problems[1]["problem"]),          # 2: id 60, text of 61
        rec(aime_problems, 2, problem=aime_problems[2]["problem"].upper()),            # normalized text agrees
    ])
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 1
    err = capsys.readouterr().err
    assert f"{f}:2: question: question id '60' of benchmark 'aime24' is a different problem" in err
    assert rows(tmp_db, "SELECT question_id, sample_idx FROM trajectories ORDER BY 1") == [("60", 0), ("62", 0)]
    new = write(tmp_path / "new.jsonl", [
        {"question_id": 1, "problem": "What is 1+1?", "answer": "2", "response": "\\boxed{2}"},
        {"question_id": "1", "problem": "What is 5+5?", "answer": "10", "response": "\\boxed{10}"},
        {"question_id": "1", "problem": "What is 1+1?", "answer": "2", "response": "\\boxed{3}"},
    ])
    assert main(["import", "--format", "jsonl", "--benchmark", "toy", "--db", str(tmp_db), str(new)]) == 1
    err = capsys.readouterr().err
    assert problems(err, new) == [(2, "question", "error")]
    assert rows(tmp_db, "SELECT question_id, problem FROM questions WHERE benchmark = 'toy'") == [("1", "What is 1+1?")]
    assert rows(tmp_db, "SELECT sample_idx FROM trajectories WHERE benchmark = 'toy' ORDER BY 1") == [(0,), (1,)]


def _model(path, model):
    with db.reader(path) as con:
        return db.query(con, "SELECT * FROM models WHERE model_id = ?", [model]).to_dicts()[0]


def test_meta_updates_the_model_on_reimport_and_models_set(shared, tmp_path, tmp_db, capsys):
    """--meta on an already imported file was silently ignored; `models set` sets metadata directly."""
    f = shared / "traces" / "skythought-aime24" / "gemma-2-27b-it.jsonl"
    args = ["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]
    assert main(args + ["--meta", "family=gemma"]) == 0
    capsys.readouterr()
    v0 = db.data_version(tmp_db)
    n = rows(tmp_db, "SELECT count(*) FROM trajectories")
    assert main(args + ["--meta", "params_b=27", "--meta", "group=base", "--meta", "note=hi"]) == 0
    out = capsys.readouterr().out
    assert "0 new trajectories, 30 duplicates skipped" in out and "model metadata updated (gemma-2-27b-it)" in out
    m = _model(tmp_db, "gemma-2-27b-it")
    assert (m["params_b"], m["group"], m["family"], json.loads(m["meta"])) == (27.0, "base", "gemma", {"note": "hi"})
    v1 = db.data_version(tmp_db)
    assert v1 != v0 and rows(tmp_db, "SELECT count(*) FROM trajectories") == n
    # the same --meta again changes nothing, writes nothing and says nothing about metadata
    assert main(args + ["--meta", "params_b=27"]) == 0
    assert "metadata" not in capsys.readouterr().out and db.data_version(tmp_db) == v1

    assert main(["models", "set", "gemma-2-27b-it", "params_b=27.2", "sft_size=5000", "note=there",
                 "--db", str(tmp_db)]) == 0
    m = _model(tmp_db, "gemma-2-27b-it")
    assert (m["params_b"], m["sft_size"], m["group"], json.loads(m["meta"])) == (27.2, 5000, "base", {"note": "there"})
    v2 = db.data_version(tmp_db)
    assert v2 != v1
    capsys.readouterr()
    for bad, msg in [(["nope", "a=b"], "models set: 'nope' not in the warehouse"), (["gemma-2-27b-it", "params_b=nan"], "params_b"),
                     (["gemma-2-27b-it", "oops"], "expected key=value")]:
        assert main(["models", "set", *bad, "--db", str(tmp_db)]) == 2
        assert msg in capsys.readouterr().err
    assert db.data_version(tmp_db) == v2
    assert main(["models", "list", "--db", str(tmp_db)]) == 0
    assert "gemma-2-27b-it family=gemma params_b=27.2 sft_size=5000 group=base note=there" in capsys.readouterr().out


@pytest.mark.parametrize("item", ["params_b=nan", "params_b=inf", "params_b=-1", "params_b=1e400", "sft_size=-5",
                                  f"train_step={BIG}", "train_step=-1", f"seed={BIG}", "sft_size=1.5"])
def test_model_factors_are_checked_at_the_door(shared, tmp_db, capsys, item):
    """params_b=nan was stored and later crashed the Scaling page."""
    f = shared / "traces" / "skythought-aime24" / "gemma-2-27b-it.jsonl"
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db),
                 "--meta", item, str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    key = item.split("=")[0]
    assert len(err) == 1 and err[0].startswith(f"error: --meta {item}: {key} must be")
    assert not tmp_db.exists()


def test_bom_blank_model_and_json_pred(shared, aime_problems, tmp_path, tmp_db, capsys):
    f = write(tmp_path / "bom.jsonl", [b"\xef\xbb\xbf" + json.dumps(rec(aime_problems, 0, pred={"a": [1, 2]})).encode(),
                                       rec(aime_problems, 1, pred=["12", 3]), rec(aime_problems, 2, pred=7)])
    assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 0
    assert capsys.readouterr().err == ""
    assert rows(tmp_db, "SELECT question_id, source_pred FROM trajectories ORDER BY 1") == [
        ("60", '{"a": [1, 2]}'), ("61", '["12", 3]'), ("62", "7")]
    for blank in ["", " ", "\t"]:
        assert main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db),
                     "--model", blank, str(f)]) == 2
        assert "--model must not be blank" in capsys.readouterr().err


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_a_device_or_fifo_is_refused_before_reading(aime_problems, tmp_path, tmp_db):
    """/dev/zero was hashed forever; a FIFO blocks on open."""
    r = _cli("import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), "/dev/zero")
    assert r.returncode == 2 and "error: /dev/zero: not a regular file or a folder" in r.stderr
    folder = tmp_path / "f"
    write(folder / "good.jsonl", [rec(aime_problems, 0)])
    os.mkfifo(folder / "pipe.jsonl")
    r = _cli("import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(tmp_db), str(folder))
    assert r.returncode == 2 and f"{folder / 'pipe.jsonl'}: not a regular file" in r.stderr
    assert not tmp_db.exists()


def _descendants(root: int) -> set[int]:
    """Live (not zombie) processes below ``root``, from /proc/*/stat."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
            if state != "Z":
                parent[int(d)] = int(ppid)
    found, frontier = set(), {root}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in found}
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for p in pids:
        try:
            if open(f"/proc/{p}/stat").read().split(") ")[-1][0] != "Z":
                out.add(p)
        except OSError:
            pass
    return out


def test_kill_9_of_an_import_leaves_no_worker_behind(shared, tmp_path, tmp_db):
    """The pool's workers (and the forkserver and resource tracker) outlived a killed import, re-parented to PID 1."""
    r = _cli("benchmarks", "aime24", "--db", str(tmp_db), "--data-dir", str(shared))
    assert r.returncode == 0, r.stderr
    p = subprocess.Popen([sys.executable, "-m", "pipeline", "import", "--format", "qwen-eval", "--benchmark",
                          "aime24", "--db", str(tmp_db), "--data-dir", str(shared),
                          str(shared / "traces" / "skythought-aime24")],
                         cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(p.pid)) < 3 and time.monotonic() < deadline:   # forkserver, tracker, workers
            time.sleep(0.05)
        time.sleep(1.0)                                      # the workers are busy grading
        below = _descendants(p.pid)
        assert len(below) >= 3, "the import finished or never started its pool"
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    deadline = time.monotonic() + 10
    while _alive(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _alive(below)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind by the killed import: {sorted(left)}"
