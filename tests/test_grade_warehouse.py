"""Warehouse drivers: grade / segment / annotate stored trajectories, idempotently; postprocess."""
import json
import subprocess
import sys

from pipeline.ingest import benchmarks
from pipeline.derive import postprocess
from pipeline.derive.annotate import annotate_warehouse, grade_warehouse, segment_warehouse
from warehouse import db, ingest, stats
from warehouse.records import Model, Run, Trajectory


def _load(shared, tmp_db, n_files=2):
    aime = benchmarks.load("aime24", shared)
    by_problem = {q.problem_norm: q for q in aime.questions}
    trajs = []
    from warehouse.records import normalize_problem

    for f in sorted((shared / "traces" / "skythought-aime24").glob("*.jsonl"))[:n_files]:
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            q = by_problem[normalize_problem(r["question"])]
            trajs.append(Trajectory(f.stem, "aime24", q.question_id, 0, r["code"][0],
                                    source_correct=bool(r["score"][0]), source_pred=r["pred"][0]))
    with db.writer(tmp_db) as con:
        benchmarks.install(con, aime)
        for run in sorted({t.run_id for t in trajs}):
            ingest.upsert_model(con, Model(run))
            ingest.upsert_run(con, Run(run, run, "aime24", "imported"))
        ingest.insert_trajectories(con, trajs)
        stats.refresh_run_stats(con)
    return trajs


def _count(tmp_db, sql):
    with db.reader(tmp_db) as con:
        return con.execute(sql).fetchall()


def test_grade_segment_annotate_are_idempotent(shared, tmp_db):
    trajs = _load(shared, tmp_db)
    r1 = grade_warehouse(tmp_db, workers=1)
    assert r1["graded"] == len(trajs) == 60
    assert grade_warehouse(tmp_db, workers=1)["graded"] == 0          # nothing left to grade
    assert grade_warehouse(tmp_db, regrade=True, workers=1)["graded"] == 60
    (agree, n), = _count(tmp_db, "SELECT sum(n_source_agree), sum(n_source) FROM run_question_stats")
    assert n == 60 and agree >= 59
    assert _count(tmp_db, "SELECT value FROM meta WHERE key='active_grader'") == [("ladder",)]
    s1 = segment_warehouse(tmp_db)
    s2 = segment_warehouse(tmp_db)
    assert s1 == s2 and _count(tmp_db, "SELECT count(*) FROM steps")[0][0] == s1["steps"]
    a1 = annotate_warehouse(tmp_db, "rules")
    rows1 = _count(tmp_db, "SELECT * FROM trajectory_flags ORDER BY ALL")
    a2 = annotate_warehouse(tmp_db, "rules")
    assert a1 == a2 and rows1 == _count(tmp_db, "SELECT * FROM trajectory_flags ORDER BY ALL")
    assert _count(tmp_db, "SELECT count(DISTINCT trajectory_id) FROM trajectory_flags WHERE flag='backtracks'")[0][0] == 60


def test_derive_and_store(shared, tmp_db):
    trajs = _load(shared, tmp_db, n_files=1)
    aime = benchmarks.load("aime24", shared)
    qmap = {(q.benchmark, q.question_id): q for q in aime.questions}
    d = postprocess.derive(trajs, qmap, {"aime24": "integer"}, workers=1)
    non_empty = {t.trajectory_id for t in trajs if t.response}      # Llama-3.1-8B left 20 empty
    assert len(d.grades) == 30 and set(d.steps.column("trajectory_id").to_pylist()) == non_empty
    assert sum(g.reason == "no_answer" for g in d.grades) >= 30 - len(non_empty)
    with db.writer(tmp_db) as con:
        postprocess.store(con, trajs, d)
    (graded, flags), = _count(tmp_db, "SELECT count_if(graded), (SELECT count(*) FROM trajectory_flags) FROM outcomes")
    assert graded == 30 and flags == len(d.flags)


def test_grade_cli(shared, tmp_db):
    _load(shared, tmp_db, n_files=1)
    out = subprocess.run([sys.executable, "-m", "pipeline", "grade", "--db", str(tmp_db), "--workers", "1"],
                         capture_output=True, text=True, cwd=db.REPO_ROOT, check=True)
    assert json.loads(out.stdout)["graded"] == 30
    out = subprocess.run([sys.executable, "-m", "pipeline", "annotate", "--annotator", "nope", "--db", str(tmp_db)],
                         capture_output=True, text=True, cwd=db.REPO_ROOT)
    assert out.returncode == 2 and "unknown annotator" in out.stderr
