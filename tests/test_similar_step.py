"""Failure modes (issue 25): "more like this" for a chosen step on the Trajectories page. The step is embedded
now (derivation.embed) and compared with the stored first-error-step and final-steps vectors
(warehouse.clusters.nearest_to_vector). Real data: a copy of the demo warehouse after `annotate --clusters`;
one real trace file imported (one model, nothing embedded: a notice)."""
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest import open_page

from app_pages import common
from derivation import embed
from pipeline import cli
from warehouse import clusters, db, trajectory



@pytest.fixture(scope="module")
def clustered(app_db, tmp_path_factory):
    """A copy of the demo warehouse after `annotate --clusters --benchmark aime24`."""
    path = tmp_path_factory.mktemp("step") / "demo.duckdb"
    shutil.copy(app_db, path)
    if Path(f"{app_db}.search").is_dir():
        shutil.copytree(f"{app_db}.search", f"{path}.search")
    assert cli.main(["annotate", "--clusters", "--benchmark", "aime24", "--db", str(path)]) == 0
    return path


def _error_view(path):
    """A wrong trajectory with a stored first-error-step view: (trajectory_id, question_id, its vector)."""
    with db.reader(path) as con:
        return con.execute("""
            SELECT e.trajectory_id, o.question_id, e.vector FROM trajectory_embeddings e JOIN outcomes o USING
            (trajectory_id) WHERE e.view = 'error' AND o.benchmark = 'aime24' AND NOT o.is_correct
            ORDER BY e.trajectory_id LIMIT 1""").fetchall()[0]


def test_nearest_to_vector_equals_a_direct_recount(clustered):
    tid, qid, vec = _error_view(clustered)
    v = embed.version()
    with db.reader(clustered) as con:
        near = clusters.nearest_to_vector(con, vec, "aime24", v, 10)
        rows = con.execute("""SELECT e.trajectory_id, e.vector FROM trajectory_embeddings e JOIN outcomes o USING
                              (trajectory_id) WHERE o.benchmark = 'aime24' AND e.version = ?
                              AND e.view IN ('error', 'final')""", [v]).fetchall()
        without = clusters.nearest_to_vector(con, vec, "aime24", v, 10, exclude=tid)
        mine = clusters.nearest_to_vector(con, vec, "aime24", v, 50, question_id=qid)
    # the trajectory whose error step it is comes first (its own view: similarity 1), once
    assert near["trajectory_id"][0] == tid and near["view"][0] == "error"
    assert near["similarity"][0] == pytest.approx(1.0, abs=1e-5)
    assert near["trajectory_id"].n_unique() == near.height == 10
    assert near["similarity"].is_sorted(descending=True)
    # a recount in numpy: each trajectory's best cosine over its error and final views
    q = np.asarray(vec, dtype=np.float64)
    best: dict[int, float] = {}
    for t, x in rows:
        x = np.asarray(x, dtype=np.float64)
        if np.linalg.norm(x) > 0:
            best[t] = max(best.get(t, -2.0), float(x @ q / np.linalg.norm(x) / np.linalg.norm(q)))
    top = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert near["similarity"].to_list() == pytest.approx([s for _, s in top], abs=1e-5)
    assert tid not in without["trajectory_id"].to_list() and without.height == 10
    assert set(mine["question_id"]) == {qid} and 0 < mine.height <= 50


def _app(monkeypatch, path, **params) -> AppTest:
    return open_page(monkeypatch, path, "app_pages/trajectories.py", timeout=180, **params)


def test_pick_a_step_lists_the_nearest_trajectories(clustered, monkeypatch):
    tid, qid, _ = _error_view(clustered)
    at = _app(monkeypatch, clustered, b="aime24", q=qid, t=str(tid))
    assert "More like this" in [h.value for h in at.subheader]
    pick = at.selectbox(key=f"traj_more_step_{tid}")
    assert pick.value is None and len(pick.options) > 2
    with db.reader(clustered) as con:
        steps = trajectory.steps(con, tid)
        t = trajectory.trajectory(con, tid)
    error = next(r["step_idx"] for r in steps.iter_rows(named=True)
                 if any(x.startswith("first_error") for x in r["labels"] or []))
    assert "suspected first error" in pick.options[error + 1]
    n_tables = len(at.dataframe)
    pick.set_value(error).run()
    assert not at.exception, [e.value for e in at.exception]
    s = steps.row(error, named=True)
    body = t["response"][s["start_char"]:s["end_char"]].strip()[:embed.PARAMS["max_chars"]]
    assert common.rich(body) in [m.value for m in at.markdown]        # the step's text, only through rich()
    assert len(at.dataframe) == n_tables + 1
    table = at.dataframe[-1].value
    assert len(table) == 10 and list(table["similarity"]) == sorted(table["similarity"], reverse=True)
    assert set(table["matched"]) <= {"its first-error step", "its final steps"}
    assert any(f"read most like step {error + 1}" in c.value for c in at.caption)
    # only this question: every row is of it
    at.toggle(key="traj_more_same").set_value(True).run()
    assert not at.exception
    assert set(at.dataframe[-1].value["question"]) == {qid}


def test_nothing_embedded_is_a_notice(sky14, monkeypatch):
    """One model, one file, no `annotate --clusters`: one notice, no step picker, no table."""
    with db.reader(sky14) as con:
        tid, qid = con.execute("SELECT trajectory_id, question_id FROM outcomes ORDER BY trajectory_id "
                               "LIMIT 1").fetchall()[0]
    at = _app(monkeypatch, sky14, q=qid, t=str(tid))
    assert "More like this" in [h.value for h in at.subheader]
    assert any("not embedded" in i.value and "annotate --clusters" in i.value for i in at.info)
    assert not [s for s in at.selectbox if str(s.key).startswith("traj_more_step_")]


def test_vectors_of_another_embedding_are_a_notice(clustered, monkeypatch):
    """Stored vectors of other embedding parameters: a step is not compared with them (a notice says how)."""
    tid, qid, _ = _error_view(clustered)
    monkeypatch.setitem(embed.PARAMS, "final_steps", embed.PARAMS["final_steps"] + 1)
    at = _app(monkeypatch, clustered, b="aime24", q=qid, t=str(tid))
    assert any("another embedding" in i.value for i in at.info)
    assert not [s for s in at.selectbox if str(s.key).startswith("traj_more_step_")]
