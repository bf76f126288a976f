"""Inspect AI `.eval` logs written with inspect_ai's own log API from the real traces import to the same
per-question verdicts as the trace files, reasoning joined to the text in order."""
import json

import pytest

from import_fixtures import MAJ8, SKY, aime_ids, rows, source_verdicts, split_thought, write_inspect_log
from pipeline.cli import main
from pipeline.ingest.importers import inspect_eval
from pipeline.ingest.session import ImportSession
from warehouse import db
from warehouse.records import normalize_problem


@pytest.fixture(scope="module")
def logs(shared, tmp_path_factory):
    d = tmp_path_factory.mktemp("inspect")
    sky = rows(shared, SKY)
    ids = aime_ids(shared)
    sky_ids = [int(ids[normalize_problem(r["question"])]) for r in sky]      # Inspect ids may be integers
    maj = rows(shared, MAJ8, limit=12)
    return {
        "sky": (write_inspect_log(d / "sky.eval", sky, sky_ids, model="vllm/Sky-T1-math-correct-5K-14B",
                                  task="aime24"), sky),
        "maj": (write_inspect_log(d / "maj.eval", maj, [f"m{r['idx']}" for r in maj], model="hf/Qwen2.5-Math-7B",
                                  task="math_cot", epochs=8, reasoning=False, numeric_scores=True), maj),
        "bad": write_inspect_log(d / "bad.eval", sky[:6], sky_ids[:6], model="vllm/broken", task="aime24",
                                 status="error", broken={1: "error", 2: "partial", 3: "no_output"}),
    }


def _trajectories(path):
    with db.reader(path) as con:
        return con.execute("SELECT r.model_id, t.question_id, t.sample_idx, t.source_correct, t.source_pred, "
                           "t.response, t.finish_reason, t.n_tokens, t.prompt FROM trajectories t "
                           "JOIN runs r USING (run_id)").fetchall()


def test_aime_log_matches_source_verdicts_and_joins_reasoning(shared, logs, tmp_db):
    path, sky = logs["sky"]
    reps = ImportSession(tmp_db, shared).import_path(path, "inspect", "aime24")
    assert [(r.new, r.rejected, r.unmatched) for r in reps] == [(30, 0, 0)]
    ids = aime_ids(shared)
    want = source_verdicts(sky, lambda r: ids[normalize_problem(r["question"])])
    got = _trajectories(tmp_db)
    assert {(q, i): c for _, q, i, c, *_ in got} == want
    by_q = {t[1]: t for t in got}
    for r in sky:
        t = by_q[ids[normalize_problem(r["question"])]]
        thought, text = split_thought(r["code"][0])
        assert t[0] == "vllm/Sky-T1-math-correct-5K-14B"
        assert t[5] == (f"<think>\n{thought}\n</think>\n\n{text}" if thought else r["code"][0])
        assert t[4] == str(r["pred"][0]) and t[6] == "stop" and t[7] == len(r["code"][0]) // 4
        assert json.loads(t[8]) == [{"role": "system", "content": "Please reason step by step."},
                                    {"role": "user", "content": r["question"]}]
    n_split = sum(bool(split_thought(r["code"][0])[0]) for r in sky)     # responses with a closed thought
    assert n_split >= 5 and sum(t[5].startswith("<think>\n") for t in got) == n_split
    with db.reader(tmp_db) as con:
        run = con.execute("SELECT temperature, top_p, max_tokens, seed, source_format, config->>'inspect_task', "
                          "config->>'scorer', samples_per_question FROM runs").fetchall()
    assert run == [(0.0, 0.95, 32768, 1234, "inspect", "aime24", "match", 1)]
    again = ImportSession(tmp_db, shared).import_path(path, "inspect", "aime24")
    assert (again[0].new, again[0].duplicates) == (0, 30)


def test_epochs_are_samples_and_numeric_scores_are_verdicts(shared, logs, tmp_db):
    path, maj = logs["maj"]
    assert main(["import", "--format", "inspect", "--benchmark", "maj_inspect", "--db", str(tmp_db), str(path)]) == 0
    got = _trajectories(tmp_db)
    assert len(got) == 12 * 8
    assert {(q, i): c for _, q, i, c, *_ in got} == source_verdicts(maj, lambda r: f"m{r['idx']}")
    assert {t[5] for t in got if t[1] == f"m{maj[0]['idx']}"} == set(maj[0]["code"])
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT samples_per_question, temperature FROM runs").fetchall() == [(8, 0.7)]
        gold = dict(con.execute("SELECT question_id, answer FROM questions").fetchall())
    assert gold == {f"m{r['idx']}": str(r["gt"]) for r in maj}


def test_broken_samples_are_reported_and_the_rest_kept(shared, logs, tmp_db, capsys):
    code = main(["import", "--format", "inspect", "--benchmark", "aime24", "--db", str(tmp_db), str(logs["bad"])])
    assert code == 1
    err = capsys.readouterr().err
    path = str(logs["bad"])
    assert f"warning: {path}:0: status: log status is 'error'" in err
    assert f"error: {path}:2: sample " in err and "errored in Inspect: RuntimeError: the model server went away" in err
    assert f"error: {path}:4: sample " in err and ": output: no model output" in err
    assert f"warning: {path}:3: sample " in err and "scores.match: value 'P' is not correct/incorrect" in err
    got = _trajectories(tmp_db)
    assert len(got) == 4 and sum(t[3] is None for t in got) == 1


def test_not_a_log_is_one_file_error(shared, tmp_path, tmp_db):
    f = tmp_path / "junk.eval"
    f.write_bytes(b"PK\x03\x04 not really a zip")
    rep = ImportSession(tmp_db, shared).import_path(f, "inspect", "aime24")[0]
    assert rep.samples == 0 and rep.rejected == 1
    assert str(rep.problems[0]).startswith(f"{f}:0: file: not a readable Inspect log")


def test_score_values():
    assert [inspect_eval.verdict(v) for v in ("C", "I", "N", "P", 1, 0.0, 0.5, True, "yes", {"a": 1})] == \
        [True, False, False, None, True, False, None, True, True, None]


_TASK = r'''
import json, sys
from inspect_ai import Task, eval as run_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ContentReasoning, ContentText, ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import match
from inspect_ai.solver import generate

rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")][:6]
outs = []
for r in rows:                          # the mock model replays the real responses, thought kept apart
    thought, _, text = r["code"][0].partition("<|end_of_thought|>")
    o = ModelOutput.from_content(model="mockllm/model",
                                 content=[ContentReasoning(reasoning=thought), ContentText(text=text)])
    o.usage = ModelUsage(input_tokens=10, output_tokens=20, total_tokens=30)    # else it counts with tiktoken (network)
    outs.append(o)
task = Task(dataset=MemoryDataset([Sample(id=i, input=r["question"], target=str(r["gt"])) for i, r in enumerate(rows)]),
            solver=[generate()], scorer=match(numeric=True))
log, = run_eval(task, model=get_model("mockllm/model", custom_outputs=outs), log_dir=sys.argv[2], display="none",
                max_samples=1)
print(log.status)
'''


@pytest.mark.slow
def test_a_real_offline_inspect_eval_imports_with_its_scores(shared, tmp_path, tmp_db):
    """A real Inspect evaluation (mockllm replaying six real responses, the `match` scorer) writes the log."""
    import subprocess
    import sys

    from inspect_ai.log import read_eval_log

    script = tmp_path / "task.py"
    script.write_text(_TASK)
    out = subprocess.run([sys.executable, str(script), str(shared / SKY), str(tmp_path / "logs")],
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "success", out.stderr[-2000:]
    log_file, = (tmp_path / "logs").glob("*.eval")
    scored = {int(s.id): s.scores["match"] for s in read_eval_log(str(log_file)).samples}
    rep = ImportSession(tmp_db, shared).import_path(log_file, "auto", "aime24")[0]
    assert (rep.new, rep.rejected) == (6, 0)
    sky = rows(shared, SKY, limit=6)
    ids = aime_ids(shared)
    got = {q: (c, p, r) for _, q, _i, c, p, r, *_ in _trajectories(tmp_db)}
    for i, r in enumerate(sky):
        c, p, resp = got[ids[normalize_problem(r["question"])]]
        assert c == (scored[i].value == "C") and p == scored[i].answer
        thought, _, text = r["code"][0].partition("<|end_of_thought|>")
        assert resp == "\n\n".join(x for x in (f"<think>\n{thought}\n</think>", text) if x)   # empty text: no part
    # on these six, Inspect's match scorer agrees with the SkyThought harness's verdicts
    assert [got[ids[normalize_problem(r["question"])]][0] for r in sky] == [bool(r["score"][0]) for r in sky]


def test_a_log_cut_short_imports_the_samples_it_holds(shared, tmp_path, tmp_db):
    sky = rows(shared, SKY, limit=4)
    ids = aime_ids(shared)
    listed = [int(ids[normalize_problem(r["question"])]) for r in sky] + [88, 89]   # two samples never written
    f = write_inspect_log(tmp_path / "cut.eval", sky, listed, model="vllm/cut", task="aime24", status="cancelled")
    rep = ImportSession(tmp_db, shared).import_path(f, "inspect", "aime24")[0]
    assert (rep.new, rep.rejected) == (4, 0)
    assert [str(p) for p in rep.problems] == [f"{f}:0: status: log status is 'cancelled': the samples it holds are imported"]
