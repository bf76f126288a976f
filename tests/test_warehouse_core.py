"""The warehouse core: schema, idempotent writes, transactions, and the lock protocol."""
import subprocess
import sys
import time

import pytest

from pipeline.ingest import benchmarks
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


KEYS = {"trajectories": ["trajectory_id"], "grades": ["trajectory_id", "grader", "grader_version"],
        "steps": ["trajectory_id", "step_idx"], "step_annotations": ["trajectory_id", "step_idx", "annotator", "label"],
        "trajectory_flags": ["trajectory_id", "annotator", "flag"]}


def duplicate_keys(con) -> dict[str, int]:
    """Rows sharing a key, per big table (they have no index: the writers keep the keys)."""
    out = {}
    for table, key in KEYS.items():
        cols = ", ".join(key)
        out[table] = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL "
                                 f"HAVING count(*) > 1)").fetchall()[0][0]
    return out


def test_writers_keep_the_keys_of_the_unindexed_tables(shared, tmp_db):
    """Import, re-import, re-grade and re-annotate: every key of the big tables stays unique."""
    from pipeline.cli import main
    from pipeline.ingest.session import ImportSession

    f = shared / "traces" / "skythought-aime24" / "gemma-2-27b-it.jsonl"
    ImportSession(tmp_db, shared).import_path(f, "qwen-eval", "aime24")
    with db.writer(tmp_db) as con:       # the same trajectories again, one repeated inside the batch
        rows = db.query(con, "SELECT * FROM trajectories").to_dicts()
        again = [Trajectory(**{k: r[k] for k in ingest._TRAJ_COLS if k != "trajectory_id"}) for r in rows]
        assert ingest.insert_trajectories(con, again + again[:1]) == 0
    assert ImportSession(tmp_db, shared).import_path(f, "qwen-eval", "aime24")[0].new == 0
    assert main(["grade", "--regrade", "--db", str(tmp_db)]) == 0
    assert main(["annotate", "--annotator", "rules", "--db", str(tmp_db)]) == 0
    with db.reader(tmp_db) as con:
        assert duplicate_keys(con) == dict.fromkeys(KEYS, 0)
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in KEYS}
    assert counts["trajectories"] == 30 and counts["grades"] == 30 and counts["steps"] > 30 * 5


V1_BIG_TABLES = """
CREATE TABLE trajectories (trajectory_id BIGINT PRIMARY KEY, run_id VARCHAR NOT NULL, benchmark VARCHAR NOT NULL,
    question_id VARCHAR NOT NULL, sample_idx INTEGER NOT NULL, prompt VARCHAR, response VARCHAR NOT NULL,
    n_chars INTEGER NOT NULL, n_tokens INTEGER, finish_reason VARCHAR, source_correct BOOLEAN, source_pred VARCHAR,
    UNIQUE (run_id, question_id, sample_idx));
CREATE TABLE grades (trajectory_id BIGINT NOT NULL, grader VARCHAR NOT NULL, grader_version VARCHAR NOT NULL,
    extracted_answer VARCHAR, is_correct BOOLEAN NOT NULL, reason VARCHAR NOT NULL,
    graded_at TIMESTAMP DEFAULT current_timestamp, PRIMARY KEY (trajectory_id, grader, grader_version));
CREATE TABLE steps (trajectory_id BIGINT NOT NULL, step_idx INTEGER NOT NULL, start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL, kind VARCHAR, PRIMARY KEY (trajectory_id, step_idx));
CREATE TABLE step_annotations (trajectory_id BIGINT NOT NULL, step_idx INTEGER NOT NULL, annotator VARCHAR NOT NULL,
    label VARCHAR NOT NULL, score DOUBLE, evidence VARCHAR, PRIMARY KEY (trajectory_id, step_idx, annotator, label));
CREATE TABLE trajectory_flags (trajectory_id BIGINT NOT NULL, annotator VARCHAR NOT NULL, flag VARCHAR NOT NULL,
    value DOUBLE, detail VARCHAR, PRIMARY KEY (trajectory_id, annotator, flag));
"""


def test_a_version_1_warehouse_is_migrated_in_place(tmp_db):
    """Version 1 indexed the big tables; opening it for writing drops the indexes and keeps every row."""
    import duckdb

    con = duckdb.connect(str(tmp_db))
    con.execute(V1_BIG_TABLES)
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('data_version', '7')")
    con.execute("INSERT INTO trajectories VALUES (1, 'r1', 'aime24', '60', 0, NULL, 'X', 1, NULL, 'stop', NULL, NULL)")
    con.execute("INSERT INTO grades VALUES (1, 'ladder', '1', '204', true, 'correct', DEFAULT)")
    con.execute("INSERT INTO steps VALUES (1, 0, 0, 1, 'paragraph')")
    con.execute("INSERT INTO trajectory_flags VALUES (1, 'rules', 'backtracks', 0, NULL)")
    con.close()
    with db.writer(tmp_db) as con:
        assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE constraint_type IN "
                           "('PRIMARY KEY', 'UNIQUE') AND list_contains(?, table_name)",
                           [list(KEYS)]).fetchall()[0][0] == 0
        assert db.get_meta(con, "schema_version") == db.SCHEMA_VERSION and db.get_meta(con, "data_version") == "7"
        assert con.execute("SELECT response FROM trajectories").fetchall() == [("X",)]
        assert con.execute("SELECT count(*) FROM grades").fetchall()[0][0] == 1
        assert con.execute("SELECT kind FROM steps").fetchall() == [("paragraph",)]
        ingest.insert_trajectories(con, [_traj(0)])             # writes work on the migrated tables


def test_a_reader_brings_an_old_warehouse_up_to_date(tmp_db):
    """The app only reads; a warehouse from an older version is migrated when it is first opened."""
    import duckdb

    con = duckdb.connect(str(tmp_db))
    con.execute(V1_BIG_TABLES)
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('data_version', '3')")
    con.execute("INSERT INTO trajectories VALUES (1, 'r1', 'aime24', '60', 0, NULL, 'x', 1, NULL, 'stop', NULL, NULL)")
    con.close()
    with db.reader(tmp_db) as con:
        assert db.get_meta(con, "schema_version") == db.SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'trajectories' "
                           "AND constraint_type = 'PRIMARY KEY'").fetchall()[0][0] == 0
        assert con.execute("SELECT response FROM trajectories").fetchall() == [("x",)]
