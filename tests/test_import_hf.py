"""Hugging Face datasets of generations written with `datasets` from the real traces (OpenR1-Math-220k layout:
one row per problem with aligned lists; one row per generation; parquet, Arrow, JSON lines) import to
the same per-question verdicts as the trace files."""
import json

import pytest

from import_fixtures import MAJ8, SKY, aime_ids, rows, source_verdicts, write_hf_per_generation, write_hf_per_problem
from pipeline.cli import main
from pipeline.ingest.importers.hf import parse_columns
from pipeline.ingest.session import ImportSession
from warehouse import db
from warehouse.errors import UsageError
from warehouse.records import normalize_problem


@pytest.fixture(scope="module")
def maj(shared):
    return rows(shared, MAJ8, limit=10)


@pytest.fixture(scope="module")
def sky(shared):
    return rows(shared, SKY)


def _got(path):
    with db.reader(path) as con:
        return con.execute("SELECT r.model_id, t.question_id, t.sample_idx, t.source_correct, t.source_pred, "
                           "t.finish_reason, t.response FROM trajectories t JOIN runs r USING (run_id)").fetchall()


def test_per_problem_lists_openr1_layout(shared, maj, tmp_path, tmp_db):
    f = write_hf_per_problem(tmp_path / "train-00000-of-00001.parquet", maj)
    reps = ImportSession(tmp_db, shared).import_path(f, "hf", "maj_hf", model="Qwen2.5-Math-7B")
    assert [(r.new, r.rejected, r.warnings) for r in reps] == [(80, 0, 0)]
    got = _got(tmp_db)
    assert {(q, i): c for _, q, i, c, *_ in got} == source_verdicts(maj, lambda r: f"q{r['idx']}")
    assert {t[5] for t in got} == {"stop"} and {t[0] for t in got} == {"Qwen2.5-Math-7B"}
    assert {t[6] for t in got if t[1] == f"q{maj[3]['idx']}" and t[2] == 5} == {maj[3]["code"][5]}
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT samples_per_question, config->'hf_columns'->>'correct' FROM runs").fetchall() == \
            [(8, "correctness_math_verify")]


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_one_row_per_generation_into_a_known_benchmark(shared, sky, tmp_path, tmp_db, suffix):
    f = write_hf_per_generation(tmp_path / f"gen{suffix}", sky, model="Sky-T1-math-correct-5K-14B")
    rep = ImportSession(tmp_db, shared).import_path(f, "hf", "aime24")[0]
    assert (rep.new, rep.rejected, rep.unmatched) == (30, 0, 0)
    ids = aime_ids(shared)
    got = _got(tmp_db)
    assert {(q, i): c for _, q, i, c, *_ in got} == source_verdicts(sky, lambda r: ids[normalize_problem(r["question"])])
    assert {t[1]: t[4] for t in got} == {ids[normalize_problem(r["question"])]: str(r["pred"][0]) for r in sky}


def test_columns_name_other_layouts(shared, maj, tmp_path, tmp_db, capsys):
    names = {"problem": "question_text", "answer": "final", "id": "qid", "responses": "samples", "correct": "ok"}
    f = write_hf_per_problem(tmp_path / "renamed.parquet", maj, names=names)
    cols = "problem=question_text,answer=final,responses=samples,correct=ok,id=qid"
    assert main(["import", "--format", "hf", "--benchmark", "maj_cols", "--columns", cols, "--db", str(tmp_db),
                 str(f)]) == 0
    assert {(q, i): c for _, q, i, c, *_ in _got(tmp_db)} == source_verdicts(maj, lambda r: f"q{r['idx']}")
    # a role the file does not have: one error naming the column; an unknown role: a usage error
    assert main(["import", "--format", "hf", "--benchmark", "maj_cols", "--columns", "responses=nope",
                 "--db", str(tmp_db), str(f)]) == 1
    assert f"{f}:1: nope: --columns responses=nope: no such column" in capsys.readouterr().err
    assert main(["import", "--format", "hf", "--benchmark", "maj_cols", "--columns", "answr=final",
                 "--db", str(tmp_db), str(f)]) == 2
    assert "--columns 'answr': unknown role" in capsys.readouterr().err
    with pytest.raises(UsageError, match="expected role=column"):
        parse_columns("problem")


def test_malformed_rows_keep_the_good_ones(shared, maj, tmp_path, tmp_db):
    good = [{"problem": r["question"], "answer": str(r["gt"]), "generations": r["code"],
             "correctness_math_verify": r["score"]} for r in maj[:4]]
    bad_len = dict(good[1], correctness_math_verify=[True, False])       # verdicts not aligned: ignored
    no_resp = {"problem": maj[4]["question"], "answer": "1"}                # no responses: rejected
    wrong = dict(good[2], generations=[1, "ok"])                            # a non-string response
    lines = [json.dumps(good[0]), "{not json", json.dumps(bad_len), json.dumps(no_resp), json.dumps(wrong),
             json.dumps(good[3])]
    f = tmp_path / "openr1.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep = ImportSession(tmp_db, shared).import_path(f, "hf", "maj_bad")[0]
    msgs = [str(p) for p in rep.problems]
    assert f"{f}:2: line: malformed JSON: Expecting property name enclosed in double quotes at column 2" in msgs
    assert f"{f}:3: correctness_math_verify: has 2 entries for 8 responses; ignored" in msgs
    assert f"{f}:4: generations: missing" in msgs
    assert f"{f}:5: generations[0]: expected a string response, got int" in msgs
    assert rep.new == 8 + 8 + 1 + 8 and rep.rejected == 3
    got = _got(tmp_db)
    assert sum(t[3] is None for t in got) == 8 + 1      # the misaligned rows' verdicts only (2 lists for 8)


def test_not_a_table_is_one_file_error(shared, tmp_path, tmp_db):
    f = tmp_path / "broken.parquet"
    f.write_bytes(b"PAR1" + b"\x00" * 64)
    rep = ImportSession(tmp_db, shared).import_path(f, "hf", "x")[0]
    assert rep.samples == 0 and str(rep.problems[0]).startswith(f"{f}:0: file: cannot be read as parquet")
