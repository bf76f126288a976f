"""qwen-eval importer on the real SkyThought / Qwen2.5-Math traces; idempotence; stats vs the files."""
import json

import pytest

from pipeline.cli import main
from pipeline.ingest.session import ImportSession
from warehouse import db, summary

TABLES = ["benchmarks", "questions", "question_tiers", "models", "runs", "trajectories", "grades", "steps",
          "step_annotations", "trajectory_flags", "run_question_stats", "meta"]


def snapshot(path):
    with db.reader(path) as con:
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


def file_scores(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    return {r["question"]: r["score"] for r in rows}


def test_aime24_and_math500_traces_match_every_question(shared, tmp_db):
    s = ImportSession(tmp_db, shared)
    aime = s.import_path(shared / "traces" / "skythought-aime24", "qwen-eval", "aime24")
    math = s.import_path(shared / "traces" / "skythought-math500" / "gemma-2-27b-it.jsonl", "qwen-eval", "math500")
    assert len(aime) == 19 and all(r.new == 30 and r.unmatched == 0 and r.rejected == 0 for r in aime)
    assert math[0].new == 500 and math[0].unmatched == 0
    llama = next(r for r in aime if r.models == ["Llama-3.1-8B"])
    assert llama.warnings == 20 and all("empty response" in p.message for p in llama.problems)
    with db.reader(tmp_db) as con:
        # idx is not the problems.jsonl order: question 60 (answer 204) must get the Aya problem's response
        row = con.execute("SELECT t.question_id, t.source_pred, r.samples_per_question, r.source_format "
                          "FROM trajectories t JOIN runs r USING (run_id) WHERE r.model_id = "
                          "'Sky-T1-math-correct-5K-14B' AND t.response LIKE '%Aya%' LIMIT 1").fetchone()
        n_models = con.execute("SELECT count(DISTINCT model_id) FROM runs WHERE benchmark='aime24'").fetchone()[0]
    assert row == ("60", "204", 1, "qwen-eval") and n_models == 19


def test_import_twice_changes_nothing(shared, tmp_db):
    f = shared / "traces" / "skythought-aime24" / "Qwen2.5-Math-7B.jsonl"
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 0
    before = snapshot(tmp_db)
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]) == 0
    assert snapshot(tmp_db) == before
    rep = ImportSession(tmp_db, shared).import_path(f, "qwen-eval", "aime24")[0]
    assert (rep.new, rep.duplicates, rep.written) == (0, 30, False)


def _check_against_file(rec, scores):
    """avg/cov from the file's own verdicts; a grader may disagree only where agreement says so."""
    per_q = [sum(map(bool, s)) / len(s) for s in scores.values()]
    exp_avg = sum(per_q) / len(per_q)
    exp_cov = sum(p > 0 for p in per_q) / len(per_q)
    assert rec["n_questions"] == len(scores)
    assert rec["samples_per_question"] == len(next(iter(scores.values())))
    agree = rec["agreement_with_source"]
    slack = 1e-9 if agree is None else (1 - agree) + 1e-9
    assert abs(rec["avg_at_n"] - exp_avg) <= slack
    if agree is None or agree == 1:
        assert abs(rec["cov_at_n"] - exp_cov) <= 1e-9


def test_stats_equal_the_files_own_scores(shared, tmp_db):
    s = ImportSession(tmp_db, shared)
    files = {"Sky-T1-math-correct-5K-32B-step133": shared / "traces/skythought-aime24/Sky-T1-math-correct-5K-32B-step133.jsonl",
             "Qwen2.5-14B-Instruct": shared / "traces/skythought-aime24/Qwen2.5-14B-Instruct.jsonl"}
    for f in files.values():
        s.import_path(f, "qwen-eval", "aime24")
    with db.reader(tmp_db) as con:
        recs = {r["model"]: r for r in summary.summary_records(con, benchmark="aime24")}
    assert set(recs) == set(files)
    for model, f in files.items():
        _check_against_file(recs[model], file_scores(f))
        assert {t: v["n_questions"] for t, v in recs[model]["by_tier"].items()} == \
            {"Easy": 4, "Medium": 10, "Hard": 12, "Exh": 4}


def test_unknown_benchmark_is_created_from_the_file(shared, tmp_db):
    f = shared / "traces" / "qwen25math-maj8" / "math_cot_100.jsonl"
    rep = ImportSession(tmp_db, shared).import_path(f, "qwen-eval", "math_cot_100", model="maj8")[0]
    assert (rep.new, rep.rejected) == (800, 0)
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT answer_type, count(*) FROM benchmarks JOIN questions USING (benchmark) "
                           "WHERE benchmark = 'math_cot_100' GROUP BY 1").fetchall() == [("math", 100)]
        recs = summary.summary_records(con, benchmark="math_cot_100")
    assert recs[0]["by_tier"] == {}
    _check_against_file(recs[0], file_scores(f))
    # a second import of the same file matches the created questions instead of re-creating them
    again = ImportSession(tmp_db, shared).import_path(f, "qwen-eval", "math_cot_100", model="maj8")[0]
    assert (again.new, again.duplicates, again.unmatched) == (0, 800, 0)


def test_wrong_benchmark_reports_unmatched_and_exit_status(shared, tmp_db, capsys):
    f = shared / "traces" / "qwen25math-maj8" / "math_cot_100.jsonl"
    rc = main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(f)])
    out = capsys.readouterr()
    assert rc == 1
    assert "100 lines rejected (100 unmatched questions)" in out.out
    assert f"{f}:1: question: no question of benchmark 'aime24' matches" in out.err


@pytest.mark.parametrize("meta,err", [(["params_b=x"], "params_b must be float"), (["oops"], "expected key=value")])
def test_bad_meta_is_a_clear_error(shared, tmp_db, capsys, meta, err):
    f = shared / "traces" / "skythought-aime24" / "gemma-2-27b-it.jsonl"
    args = ["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), str(f)]
    for m in meta:
        args += ["--meta", m]
    assert main(args) == 2
    assert err in capsys.readouterr().err


def test_meta_sets_model_columns(shared, tmp_db):
    f = shared / "traces" / "skythought-aime24" / "gemma-2-27b-it.jsonl"
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(tmp_db), "--model", "g27",
                 "--meta", "params_b=27", "--meta", "group=base", "--meta", "note=hello", str(f)]) == 0
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT params_b, \"group\", meta->>'note' FROM models WHERE model_id='g27'").fetchone() \
            == (27.0, "base", "hello")


def test_pipelined_folder_import_equals_one_file_at_a_time(shared, tmp_path):
    """A folder is imported pipelined (the pool grades file i+1 while file i is written); the
    result is the same as importing each file on its own, and a file seen twice writes nothing new."""
    src = shared / "traces" / "skythought-aime24"
    folder = tmp_path / "traces"
    files = [folder / "1" / "Llama-3.1-8B.jsonl", folder / "2" / "Llama-3.1-8B.jsonl",   # the same file twice
             folder / "3" / "gemma-2-27b-it.jsonl"]
    for f in files:
        f.parent.mkdir(parents=True)
        f.write_bytes((src / f.name).read_bytes())
    piped = ImportSession(tmp_path / "piped.duckdb", shared).import_path(folder, "qwen-eval", "aime24", workers=2)
    assert [(r.new, r.duplicates) for r in piped] == [(30, 0), (0, 30), (30, 0)]
    one = tmp_path / "one.duckdb"
    for f in files:
        ImportSession(one, shared).import_path(f, "qwen-eval", "aime24", workers=1)
    import re

    def rows(path):      # without the creation timestamps
        return {t: sorted(re.sub(r"datetime\.datetime\([^)]*\)", "ts", r) for r in v) for t, v in snapshot(path).items()}

    a, b = rows(tmp_path / "piped.duckdb"), rows(one)
    for table in TABLES:
        if table != "meta":            # data_version counts commits, which differ
            assert a[table] == b[table], table


def test_an_import_holds_the_warehouse_for_a_bounded_time_and_releases_it(tmp_path, shared):
    """The writer connection is kept across files (a checkpoint per file cost 1.4 ms per
    trajectory), but for HOLD_S seconds at most, and it is always released at the end: a
    reader (the app) can open the warehouse between windows and after the import."""
    folder = shared / "traces" / "skythought-aime24"
    held = ImportSession(tmp_path / "held.duckdb", shared)
    held.HOLD_S = 3600
    open_after_file = []
    reps = held.import_path(folder, "qwen-eval", "aime24", workers=1,
                            on_report=lambda r: open_after_file.append(held._con is not None))
    assert len(reps) > 2 and all(open_after_file) and held._con is None    # held, then released
    brief = ImportSession(tmp_path / "brief.duckdb", shared)
    brief.HOLD_S = 0
    readable = []

    def read(rep):
        with db.reader(brief.db_path) as con:      # fails while this process holds the writer
            readable.append(con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0])

    brief.import_path(folder, "qwen-eval", "aime24", workers=1, on_report=read)
    assert readable == [30 * i for i in range(1, len(reps) + 1)]
    with db.reader(held.db_path) as a, db.reader(brief.db_path) as b:
        assert a.execute("SELECT count(*) FROM trajectories").fetchall() == b.execute(
            "SELECT count(*) FROM trajectories").fetchall() == [(30 * len(reps),)]
