"""`--format auto`: each file's format from its content; a folder mixing six formats imports in one command."""
import json
import shutil

import pytest

from import_fixtures import SKY, aime_ids, rows, write_hf_per_generation, write_inspect_log, write_lighteval_details
from pipeline.cli import main
from pipeline.ingest.importers import auto
from warehouse import db
from warehouse.records import normalize_problem

LLAMA = "traces/skythought-aime24/Llama-3.1-8B.jsonl"


@pytest.fixture(scope="module")
def mixed(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    sky = rows(shared, SKY, limit=8)
    ids = aime_ids(shared)
    qids = [ids[normalize_problem(r["question"])] for r in sky]
    shutil.copy(shared / LLAMA, root / "Llama-3.1-8B.jsonl")                                   # qwen-eval
    lm = root / "results" / "sky14b" / "checkpoint-21"
    lm.mkdir(parents=True)
    with open(lm / "samples_aime24_2025-03-01T10-11-12.123456.jsonl", "w", encoding="utf-8") as f:   # lm-eval
        for i, r in enumerate(sky):
            f.write(json.dumps({"doc_id": i, "doc": {"id": qids[i], "problem": r["question"], "answer": r["gt"]},
                                "target": r["gt"], "resps": [r["code"]], "filtered_resps": [[str(r["pred"][0])]],
                                "exact_matches": [int(r["score"][0])]}) + "\n")
    (lm / "results_2025-03-01T10-11-12.123456.json").write_text('{"results": {}}')            # not a trace: passed over
    with open(root / "generic.jsonl", "w", encoding="utf-8") as f:                               # jsonl
        for i, r in enumerate(sky):
            f.write(json.dumps({"model": "generic-model", "question_id": qids[i], "response": r["code"][0],
                                "correct": r["score"][0]}) + "\n")
    write_inspect_log(root / "logs" / "run.eval", sky, [int(q) for q in qids], model="vllm/inspect-model",
                      task="aime24")                                                              # inspect
    write_hf_per_generation(root / "hf.parquet", sky, model="hf-model")                          # hf
    d = root / "details" / "org" / "le-model" / "2025-03-01T10-11-12.123456"
    d.mkdir(parents=True)
    write_lighteval_details(d / "details_lighteval|aime24|0_2025-03-01T10-11-12.123456.parquet", sky)   # lighteval
    (root / "README.md").write_text("notes")
    return root, sky, qids


EXPECTED = {"Llama-3.1-8B": "qwen-eval", "sky14b@checkpoint-21": "lm-eval", "generic-model": "jsonl",
            "vllm/inspect-model": "inspect", "hf-model": "hf", "org/le-model": "lighteval"}


def test_detect_each_file(mixed):
    root, *_ = mixed
    found = {f.relative_to(root).as_posix(): auto.detect(f) for f, _ in auto.files(root)}
    assert found == {"Llama-3.1-8B.jsonl": "qwen-eval", "generic.jsonl": "jsonl", "hf.parquet": "hf",
                     "logs/run.eval": "inspect",
                     "results/sky14b/checkpoint-21/samples_aime24_2025-03-01T10-11-12.123456.jsonl": "lm-eval",
                     "details/org/le-model/2025-03-01T10-11-12.123456/"
                     "details_lighteval|aime24|0_2025-03-01T10-11-12.123456.parquet": "lighteval"}
    assert auto.detect(root / "README.md") is None


@pytest.mark.slow
def test_mixed_folder_imports_in_one_command(shared, mixed, tmp_db, capsys):
    root, sky, qids = mixed
    assert main(["import", "--format", "auto", "--benchmark", "aime24", "--db", str(tmp_db), str(root)]) == 0
    assert capsys.readouterr().out.count(" new trajectories") == 6
    with db.reader(tmp_db) as con:
        fmts = dict(con.execute("SELECT model_id, source_format FROM runs").fetchall())
        verdicts = con.execute("SELECT r.model_id, t.question_id, t.source_correct FROM trajectories t "
                               "JOIN runs r USING (run_id) WHERE r.model_id <> 'Llama-3.1-8B'").fetchall()
        n_llama = con.execute("SELECT count(*) FROM trajectories t JOIN runs r USING (run_id) "
                              "WHERE r.model_id = 'Llama-3.1-8B'").fetchone()[0]
    assert fmts == EXPECTED and n_llama == 30
    want = {q: bool(r["score"][0]) for q, r in zip(qids, sky)}
    for model in set(EXPECTED) - {"Llama-3.1-8B"}:
        assert {q: c for m, q, c in verdicts if m == model} == want, model
    # the same folder again: every file's run is already there
    assert main(["import", "--format", "auto", "--benchmark", "aime24", "--db", str(tmp_db), str(root)]) == 0
    assert capsys.readouterr().out.count(": 0 new trajectories") == 6


def test_unrecognized_candidate_is_a_file_error(shared, tmp_path, tmp_db, capsys):
    (tmp_path / "mystery.jsonl").write_text('{"foo": 1}\n')
    (tmp_path / "notes.json").write_text('{"foo": 1}')
    assert main(["import", "--format", "auto", "--benchmark", "aime24", "--db", str(tmp_db), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'mystery.jsonl'}:0: file: format not recognized" in err and "notes.json" not in err


def test_each_importer_says_how_to_recognise_its_files():
    """`auto` asks the registered importers (their ``detect_*``), in the registry's order; no rules of its own."""
    from pipeline.ingest.importers import IMPORTERS
    assert list(auto.formats()) == [n for n in IMPORTERS.names() if n != "auto"]
    records = {"lm-eval": {"doc": {}, "resps": [["x"]]}, "qwen-eval": {"code": ["x"], "gt": "1"},
               "jsonl": {"response": "x"}, "hf": {"generations": ["x"]}, "lighteval": {"doc": {}, "model_response": {}}}
    assert {fmt: auto.format_of_record(r) for fmt, r in records.items()} == {f: f for f in records}
    assert auto.format_of_record({"response": ["not a string"]}) is None
    assert auto.format_of_record({"code": ["x"], "question": "q", "doc": {}, "resps": []}) == "lm-eval"   # first wins
    assert auto.format_of_columns(["doc", "model_response", "metric"]) == "lighteval"
    assert auto.format_of_columns(["predictions", "metrics", "gold"]) == "lighteval"
    assert auto.format_of_columns(["predictions", "metrics"]) == "hf"             # hf reads any other table
    assert auto.format_of_columns(["problem", "generations"]) == "hf"
