"""lm-eval `--log_samples` files laid out as the paper's results/<model>/<checkpoint>/ folders.

No lm-eval file ships in shared/, so the fixture writes realistic ones: each AIME24 problem row as
`doc`, and as its 8 repeats the real responses of 8 SkyThought 32B checkpoints with their verdicts.
"""
import json

import pytest

from pipeline.cli import main
from pipeline.ingest.importers import lm_eval
from pipeline.ingest.session import ImportSession
from warehouse import db, summary
from warehouse.records import normalize_problem

STEPS = (21, 35, 49, 63, 70, 84, 98, 105)
FILE = "samples_aime24_nofigures_agg8_2025-03-01T10-11-12.123456.jsonl"


@pytest.fixture(scope="module")
def results(shared, tmp_path_factory):
    problems = [json.loads(line) for line in open(shared / "aime24/problems.jsonl", encoding="utf-8")]
    by_text = {}
    for s in STEPS:
        for line in open(shared / f"traces/skythought-aime24/Sky-T1-math-correct-5K-32B-step{s}.jsonl", encoding="utf-8"):
            r = json.loads(line)
            by_text.setdefault(normalize_problem(r["question"]), []).append(r)
    root = tmp_path_factory.mktemp("results")
    layouts = {  # folder -> (style of arguments, metric key, rotate responses by)
        "sky32b/checkpoint-21": ("new", "exact_matches", 0),
        "sky32b/checkpoint-35": ("old", "exact_match", 1),
        "s1.1-32B/simplescaling__s1.1-32B": ("new", "exact_matches", 2),
    }
    expected = {}
    for folder, (style, metric, rot) in layouts.items():
        d = root / folder
        d.mkdir(parents=True)
        lines, correct = [], 0
        for i, p in enumerate(problems):
            reps = by_text[normalize_problem(p["problem"])]
            reps = reps[rot:] + reps[:rot]
            prompt = f"<|im_start|>user\n{p['problem']}<|im_end|>\n<|im_start|>assistant\n"
            kwargs = {"until": [], "do_sample": True, "temperature": 1.0, "max_gen_toks": 32768}
            args = {"gen_args_0": {"arg_0": prompt, "arg_1": kwargs}} if style == "new" else [[prompt, kwargs]]
            scores = [int(r["score"][0]) for r in reps]
            correct += sum(scores)
            lines.append(json.dumps({
                "doc_id": i, "doc": p, "target": p["answer"], "arguments": args,
                "resps": [[r["code"][0] for r in reps]], "filtered_resps": [[str(r["pred"][0]) for r in reps]],
                "filter": "none", "metrics": [metric], metric: scores}))
        (d / FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        expected[folder.replace("/", "@")] = correct / (30 * 8)
    return root, expected


def test_folder_layout_names_models_and_imports_every_repeat(shared, results, tmp_db):
    root, expected = results
    assert sorted(name for _, name in lm_eval.files(root)) == sorted(expected)
    reps = ImportSession(tmp_db, shared).import_path(root, "lm-eval", "aime24")
    assert all(r.new == 240 and r.rejected == 0 and r.unmatched == 0 for r in reps) and len(reps) == 3
    with db.reader(tmp_db) as con:
        runs = con.execute("SELECT model_id, samples_per_question, temperature, max_tokens, "
                           "config->>'lm_eval_task', source_format FROM runs ORDER BY 1").fetchall()
        steps = dict(con.execute("SELECT model_id, train_step FROM models").fetchall())
        prompt = con.execute("SELECT prompt FROM trajectories WHERE question_id = '60' LIMIT 1").fetchall()[0][0]
        recs = {r["model"]: r for r in summary.summary_records(con, benchmark="aime24")}
    assert runs[0] == ("s1.1-32B@simplescaling__s1.1-32B", 8, 1.0, 32768, "aime24_nofigures_agg8", "lm-eval")
    assert steps == {"s1.1-32B@simplescaling__s1.1-32B": None, "sky32b@checkpoint-21": 21, "sky32b@checkpoint-35": 35}
    assert prompt.startswith("<|im_start|>user\nEvery morning Aya")
    for model, exp in expected.items():
        r = recs[model]
        assert (r["n_questions"], r["samples_per_question"]) == (30, 8)
        agree = r["agreement_with_source"]
        assert abs(r["avg_at_n"] - exp) <= (1e-9 if agree is None else 1 - agree + 1e-9)


def test_single_file_takes_its_folder_name_and_source_verdicts(shared, results, tmp_db):
    root, expected = results
    f = root / "sky32b" / "checkpoint-35" / FILE
    assert main(["import", "--format", "lm-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 0
    with db.reader(tmp_db) as con:
        rows = con.execute("SELECT DISTINCT r.model_id FROM runs r").fetchall()
        n_src = con.execute("SELECT count(*), count(source_correct), count(source_pred), "
                            "avg(source_correct::INT) FROM trajectories").fetchall()[0]
    assert rows == [("checkpoint-35",)]
    assert n_src[:3] == (240, 240, 240) and abs(n_src[3] - expected["sky32b@checkpoint-35"]) < 1e-9


def test_mean_exact_match_is_not_spread_over_repeats(shared, tmp_path, tmp_db):
    p = json.loads(open(shared / "aime24/problems.jsonl", encoding="utf-8").readline())
    rows = [{"doc_id": 0, "doc": p, "resps": [["a", "b", "c", "d"]], "exact_match": 0.25},
            {"doc_id": 1, "doc": {"id": 61}, "resps": [["a", "b"]], "exact_match": 0.0},
            {"doc_id": 2, "doc": {"title": "no id, no text"}, "resps": [["a"]]},
            {"doc_id": 3, "doc": {"id": 62}, "resps": "not a list"}]
    f = tmp_path / "m" / FILE
    f.parent.mkdir()
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    rep = ImportSession(tmp_db, shared).import_path(f, "lm-eval", "aime24")[0]
    assert [(p.line, p.field) for p in rep.problems] == [(3, "doc"), (4, "resps")]
    with db.reader(tmp_db) as con:
        got = con.execute("SELECT question_id, sample_idx, source_correct FROM trajectories ORDER BY 1, 2").fetchall()
    assert got == [("60", i, None) for i in range(4)] + [("61", 0, False), ("61", 1, False)]
