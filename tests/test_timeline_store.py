"""The answer timeline in the warehouse: derived on import, re-derived by `annotate --timeline`
(idempotent, versioned), migrated into version-2 files, and printed by the `timeline` command."""
from __future__ import annotations

import json

import duckdb
import pytest

from derivation import answer_timeline as T
from pipeline.cli import main
from pipeline.ingest.session import ImportSession
from warehouse import db
from warehouse import timeline_store as store


@pytest.fixture(scope="module")
def sky14(shared, tmp_path_factory):
    """Sky-T1-math-correct-5K-14B on AIME 2024 (30 trajectories), imported for real."""
    path = tmp_path_factory.mktemp("tl") / "sky14.duckdb"
    f = shared / "traces" / "skythought-aime24" / "Sky-T1-math-correct-5K-14B.jsonl"
    ImportSession(path, shared).import_path(f, "qwen-eval", "aime24")
    return path


def _tid(path, question_id: str) -> int:
    with db.reader(path) as con:
        return int(store.trajectories(con, question_id=question_id)["trajectory_id"][0])


def test_import_derives_the_timeline(sky14):
    with db.reader(sky14) as con:
        cov = store.coverage(con)
        assert cov["trajectories"] == cov["with_timeline"] == 30
        assert cov["versions"] == {T.version(): 30}
        tid = _tid(sky14, "71")         # hand-read in test_timeline: gold 294 first held at step 71
        s = store.summary(con, tid)
        assert (s["first_gold_step"], s["last_gold_step"]) == (71, 1319)
        ans = store.step_answers(con, tid)
        assert ans.filter(ans["step_idx"] == 71)["is_gold"].to_list() == [True]
        keys = con.execute("SELECT count(*) FROM (SELECT trajectory_id, step_idx FROM step_answers "
                           "GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
        assert keys == 0


def test_annotate_timeline_is_idempotent_and_migrates_version_2(sky14, tmp_path, capsys):
    path = tmp_path / "v2.duckdb"
    path.write_bytes(sky14.read_bytes())
    with db.reader(path) as con:
        before = con.execute("SELECT * FROM step_answers ORDER BY ALL").fetchall()
    con = duckdb.connect(str(path))     # what a version-2 file looks like: no timeline tables
    con.execute("DROP TABLE step_answers; DROP TABLE trajectory_timelines")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with db.reader(path) as con:        # migrated on opening: the tables exist, empty
        assert db.get_meta(con, "schema_version") == db.SCHEMA_VERSION
        assert store.coverage(con)["with_timeline"] == 0
    assert main(["annotate", "--timeline", "--db", str(path)]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["timelines"] == 30 and first["version"] == T.version()
    assert main(["annotate", "--timeline", "--db", str(path)]) == 0      # up to date: nothing to do
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["timelines"] == 0
    with db.reader(path) as con:
        assert con.execute("SELECT * FROM step_answers ORDER BY ALL").fetchall() == before


def test_timeline_cli_one_question(sky14, capsys):
    assert main(["timeline", "--model", "Sky-T1-math-correct-5K-14B", "--question", "71", "--json",
                 "--db", str(sky14)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    obj = json.loads(out[0])
    assert set(obj) == {"trajectory_id", "is_correct", "final_answer", "first_gold_step", "last_gold_step",
                        "answer_changes", "steps"}
    assert obj["trajectory_id"] == _tid(sky14, "71") and obj["is_correct"] is False and obj["final_answer"] == "15"
    assert (obj["first_gold_step"], obj["last_gold_step"]) == (71, 1319)
    assert isinstance(obj["answer_changes"], int) and obj["answer_changes"] > 0
    st = obj["steps"]
    assert [s["step_idx"] for s in st] == list(range(len(st)))
    assert all(set(s) == {"step_idx", "start_char", "end_char", "answer", "is_gold"} for s in st)
    assert st[71]["answer"] == "294" and st[71]["is_gold"] is True
    assert st[0]["answer"] is None and st[0]["is_gold"] is None
    assert all(a["end_char"] == b["start_char"] for a, b in zip(st, st[1:]))


def test_timeline_cli_json_lines_and_errors(sky14, capsys):
    assert main(["timeline", "--json", "--db", str(sky14)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 30
    objs = [json.loads(x) for x in lines]
    assert sum(o["first_gold_step"] is not None for o in objs) == 7
    # a question without the model's trajectory, an unknown model: one clear line, status 2
    assert main(["timeline", "--model", "nope", "--question", "71", "--json", "--db", str(sky14)]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["timeline", "--model", "Sky-T1-math-correct-5K-14B", "--question", "71", "--sample", "3",
                 "--json", "--db", str(sky14)]) == 2
    assert "sample" in capsys.readouterr().err


def test_a_trajectory_without_a_stored_timeline_is_derived_as_import_stores_it(sky14, tmp_path, capsys):
    """One home for "the stored timeline, else derive it now" (``charts.answer_view.derive_timeline``): the
    `timeline` command and the page's step answers give on a file without timelines what they read off
    the stored ones; with no stored steps either, the trajectory is segmented now, as import does."""
    from charts import answer_view as answers

    tid = _tid(sky14, "71")
    args = ["timeline", "--model", "Sky-T1-math-correct-5K-14B", "--question", "71", "--json"]
    assert main(args + ["--db", str(sky14)]) == 0
    stored = json.loads(capsys.readouterr().out)
    with db.reader(sky14) as con:
        stored_answers = answers.step_answers(con, tid)
    path = tmp_path / "old.duckdb"
    path.write_bytes(sky14.read_bytes())
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM step_answers; DELETE FROM trajectory_timelines")
    con.close()
    assert main(args + ["--db", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == stored
    with db.reader(path) as con:
        assert answers.step_answers(con, tid).equals(stored_answers)
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM steps")
    con.close()
    with db.reader(path) as con:
        assert answers.step_answers(con, tid).equals(stored_answers)
        assert answers.derive_timeline(con, -1) is None
