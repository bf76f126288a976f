"""The warehouse core: schema, idempotent writes, transactions, and the lock protocol."""
import subprocess
import sys
import time

import pytest

from pipeline import benchmarks
from warehouse import db, ingest, stats
from warehouse.records import Model, Run, Trajectory


def _traj(i, correct=True):
    return Trajectory("r1", "aime24", "60", i, f"answer is \\boxed{{{204 if correct else 1}}}",
                      source_correct=correct, source_pred="204" if correct else "1")


def test_benchmarks_load_from_shared(shared, tmp_db):
    with db.writer(tmp_db) as con:
        benchmarks.install(con, benchmarks.load("aime24", shared))
        benchmarks.install(con, benchmarks.load("math500", shared))
    with db.reader(tmp_db) as con:
        q = db.query(con, "SELECT * FROM questions WHERE benchmark = 'aime24' AND question_id = '60'").row(0, named=True)
        tiers = dict(con.execute("SELECT tier, count(*) FROM question_tiers WHERE scheme='paper' GROUP BY 1").fetchall())
        n_math = con.execute("SELECT count(*) FROM questions WHERE benchmark='math500'").fetchone()[0]
    assert q["answer"] == "204" and q["contest"] == "I" and q["problem_number"] == 1 and q["category"] == "Algebra"
    assert tiers == {"Easy": 4, "Medium": 10, "Hard": 12, "Exh": 4}
    assert n_math == 500


def test_writes_are_idempotent(tmp_db):
    for _ in range(2):
        with db.writer(tmp_db) as con:
            ingest.upsert_model(con, Model("m", family="qwen", meta={"a": 1}))
            ingest.upsert_run(con, Run("r1", "m", "aime24", "imported"))
            ingest.insert_trajectories(con, [_traj(i, i < 3) for i in range(8)])
            stats.refresh_run_stats(con)
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT count(*) FROM trajectories").fetchone()[0] == 8
        assert con.execute("SELECT n, n_correct, majority_answer FROM run_question_stats").fetchone() == (8, 3, "1")


def test_failed_transaction_leaves_nothing(tmp_db):
    with db.writer(tmp_db) as con:
        ingest.upsert_model(con, Model("m"))
    with pytest.raises(RuntimeError):
        with db.writer(tmp_db) as con:
            ingest.insert_trajectories(con, [_traj(0)])
            raise RuntimeError("boom")
    with db.reader(tmp_db) as con:
        assert con.execute("SELECT count(*) FROM trajectories").fetchone()[0] == 0


def test_reader_waits_for_writer_instead_of_crashing(tmp_db):
    with db.writer(tmp_db) as con:
        ingest.upsert_model(con, Model("m"))
    holder = subprocess.Popen([sys.executable, "-c",
                               "import time, sys; from warehouse import db\n"
                               f"with db.writer({str(tmp_db)!r}) as c:\n"
                               "    print('locked', flush=True); time.sleep(1.5)\n"],
                              stdout=subprocess.PIPE, text=True, cwd=str(db.REPO_ROOT))
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.monotonic()
    version = db.data_version(tmp_db)   # blocks on the lock, then succeeds
    holder.wait()
    assert time.monotonic() - t0 > 0.3
    assert version.endswith(":2")


def test_missing_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(db.WarehouseMissing, match="python -m pipeline demo"):
        with db.reader(tmp_path / "nope.duckdb"):
            pass
