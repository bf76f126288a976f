"""Failure modes (issue 25), what the first pass left out: clusters kept up to date after an import (the `import`
command and the app's upload) only where a benchmark has them; the failure-mode tables through export-parquet /
import-parquet / merge, and a Parquet folder opened read-only; `report clusters`. Real data: skythought AIME24
traces from ../shared, imported through the real command."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest import APP, open_drop_zone, open_page
from pipeline import cli
from derivation import embed
from warehouse import clusters, db

TRACES = "traces/skythought-aime24"
FIRST = ("Llama-3.1-8B", "Qwen2.5-14B-Instruct", "Qwen2.5-Math-7B", "gemma-2-27b-it", "Sky-T1-math-wrong-5K-14B")
LATER = "Sky-T1-math-wrong-5K-27B"
FIRST_LATER = "Sky-T1-math-correct-5K-14B"


def _import(path, shared, *models: str) -> int:
    return cli.main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(path),
                     "--data-dir", str(shared), *(str(shared / TRACES / f"{m}.jsonl") for m in models)])


def _copy(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    if Path(f"{src}.search").is_dir():
        shutil.copytree(f"{src}.search", f"{dst}.search")
    return dst


def _count(path, sql: str) -> int:
    with db.reader(path) as con:
        return con.execute(sql).fetchall()[0][0]


def _assigned(path, benchmark="aime24") -> list[tuple]:
    with db.reader(path) as con:
        return con.execute("SELECT trajectory_id, cluster_id, round(distance, 9) FROM cluster_assignments "
                           "WHERE benchmark = ? ORDER BY trajectory_id", [benchmark]).fetchall()


@pytest.fixture(scope="module")
def first(shared, tmp_path_factory) -> Path:
    """Five models' AIME24 traces imported (no clusters asked for). Read it, never write to it."""
    path = tmp_path_factory.mktemp("fm_more") / "first.duckdb"
    assert _import(path, shared, *FIRST) == 0
    return path


@pytest.fixture(scope="module")
def clustered(first, tmp_path_factory) -> Path:
    """``first`` after `annotate --clusters`. Read it, never write to it."""
    path = _copy(first, tmp_path_factory.mktemp("fm_more_c") / "clustered.duckdb")
    assert cli.main(["annotate", "--clusters", "--db", str(path)]) == 0
    return path


# --- 1. after an import ----------------------------------------------------------------------------------
def test_a_first_import_embeds_nothing(first, shared, tmp_path, capsys):
    """No benchmark has clusters: the import neither embeds nor clusters (it stays as fast as before)."""
    assert _count(first, "SELECT count(*) FROM trajectory_embeddings") == 0
    assert _count(first, "SELECT count(*) FROM failure_clusterings") == 0
    path = _copy(first, tmp_path / "w.duckdb")
    capsys.readouterr()
    assert _import(path, shared, LATER) == 0
    assert "failure modes" not in capsys.readouterr().out
    assert _count(path, "SELECT count(*) FROM trajectory_embeddings") == 0


def _wrong_unassigned(path) -> int:
    return _count(path, "SELECT count(*) FROM outcomes o WHERE NOT is_correct AND benchmark = 'aime24' AND "
                        "trajectory_id NOT IN (SELECT trajectory_id FROM cluster_assignments)")


def test_an_import_into_a_clustered_benchmark_clusters_again_past_the_share(clustered, shared, tmp_path, capsys,
                                                                           monkeypatch):
    """More new wrong trajectories than RECLUSTER_SHARE: every wrong trajectory is embedded and clustered again,
    the line says why, and the clustering equals a fresh `annotate --clusters` of the same warehouse. Importing the
    same file again writes and prints nothing."""
    monkeypatch.setattr(embed, "RECLUSTER_SHARE", 0.0)
    path = _copy(clustered, tmp_path / "w.duckdb")
    before = _count(path, "SELECT count(*) FROM cluster_assignments")
    capsys.readouterr()
    assert _import(path, shared, LATER) == 0
    out = capsys.readouterr().out
    wrong = _count(path, "SELECT count(*) FROM outcomes WHERE benchmark = 'aime24' AND NOT is_correct")
    assert wrong > before
    assert re.search(rf"failure modes of aime24 updated: \d+ trajectories embedded, {wrong} wrong trajectories in "
                     r"\d+ clusters; clustered again \(\d+% new since the last clustering\)", out), out
    assert _wrong_unassigned(path) == 0
    assert _count(path, "SELECT count(*) - count(DISTINCT trajectory_id) FROM cluster_assignments") == 0
    with db.reader(path) as con:
        assert clusters.current(con, "aime24", embed.version()) and clusters.clustered(con, "aime24") == wrong
    fresh = _copy(path, tmp_path / "fresh.duckdb")
    assert cli.main(["annotate", "--clusters", "--db", str(fresh)]) == 0
    assert _assigned(fresh) == _assigned(path)
    capsys.readouterr()
    assert _import(path, shared, LATER) == 0
    assert "failure modes" not in capsys.readouterr().out


def test_an_import_of_a_few_assigns_them_to_the_nearest_centre(clustered, shared, tmp_path, capsys, monkeypatch):
    """Fewer new wrong trajectories than RECLUSTER_SHARE: the stored clusters stay (ids, labels, representatives,
    the old assignments), each new one joins the cluster whose centre (its members' mean vector) is nearest, the
    sizes follow, and the line says so. The share counts from the last full clustering: a second import that takes
    the total past it clusters again."""
    monkeypatch.setattr(embed, "RECLUSTER_SHARE", 0.9)
    path = _copy(clustered, tmp_path / "w.duckdb")
    old = dict((t, c) for t, c, _ in _assigned(path))
    with db.reader(path) as con:
        labels = clusters.clusters(con, "aime24").select("cluster_id", "label", "terms", "examples")
        seen = clusters.clustered(con, "aime24")
    capsys.readouterr()
    assert _import(path, shared, LATER) == 0
    out = capsys.readouterr().out
    wrong = _count(path, "SELECT count(*) FROM outcomes WHERE benchmark = 'aime24' AND NOT is_correct")
    added = wrong - len(old)
    assert added > 0 and re.search(
        rf"failure modes of aime24 updated: \d+ trajectories embedded, {wrong} wrong trajectories in \d+ "
        rf"clusters; {added} new assigned to the nearest centre \({100 * added / seen:.0f}% new since the last "
        r"clustering; clustered again above 90%\)", out), out
    now = {t: c for t, c, _ in _assigned(path)}
    assert {t: now[t] for t in old} == old and _wrong_unassigned(path) == 0 and len(now) == wrong
    with db.reader(path) as con:
        assert clusters.clusters(con, "aime24").select("cluster_id", "label", "terms", "examples").equals(labels)
        assert clusters.clustered(con, "aime24") == seen and clusters.current(con, "aime24", embed.version())
        assert clusters.clustering(con, "aime24")["n_trajectories"] == wrong
        sizes = dict(con.execute("SELECT cluster_id, size FROM failure_clusters WHERE benchmark = 'aime24'").fetchall())
        vec = clusters.vectors(con, "aime24", embed.version())
    assert sizes == {j: sum(c == j for c in now.values()) for j in sizes}
    wrong_vec = vec.filter(~vec["is_correct"])
    X = np.asarray(wrong_vec["vector"].to_list())
    if embed.CENTER:                            # the points k-means sees: each minus its question's mean
        X = embed.center(X, wrong_vec["question_id"].to_list(), np.asarray(vec["vector"].to_list()),
                         vec["question_id"].to_list())
    ids = wrong_vec["trajectory_id"].to_list()
    C = np.array([X[[i for i, t in enumerate(ids) if old.get(t) == j]].mean(axis=0) for j in sorted(sizes)])
    for i, t in enumerate(ids):                 # the nearest centre, recomputed here by the textbook formula
        if t not in old:
            assert now[t] == int(np.argmin(((C - X[i]) ** 2).sum(axis=1)))
    monkeypatch.setattr(embed, "RECLUSTER_SHARE", 0.05)
    assert _import(path, shared, FIRST_LATER) == 0
    assert "clustered again" in capsys.readouterr().out


def test_the_upload_updates_the_clusters_too(clustered, shared, tmp_path, monkeypatch):
    path = _copy(clustered, tmp_path / "w.duckdb")
    monkeypatch.setenv("LADDER_DB", str(path))
    monkeypatch.setenv("LADDER_DATA_DIR", str(shared))
    at = AppTest.from_file(APP, default_timeout=180)
    open_drop_zone(at.run())
    data = (shared / TRACES / f"{LATER}.jsonl").read_bytes()
    at.file_uploader(key="overview_files").set_value((f"{LATER}.jsonl", data, "application/json"))
    at.selectbox(key="overview_fmt").set_value("qwen-eval")
    at.selectbox(key="overview_bench").set_value("aime24")
    at.run()
    at.button(key="overview_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    infos = [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", e.value) for e in at.info]
    assert any(s.startswith("failure modes of aime24 updated: ") for s in infos), infos
    assert _count(path, "SELECT count(*) FROM outcomes o WHERE NOT is_correct AND benchmark = 'aime24' AND "
                        "trajectory_id NOT IN (SELECT trajectory_id FROM cluster_assignments)") == 0


# --- 2. export-parquet / import-parquet / merge ---------------------------------------------------------
FM_TABLES = {
    "trajectory_embeddings": "SELECT trajectory_id, view, version, text, vector FROM trajectory_embeddings",
    "failure_clusterings": "SELECT * FROM failure_clusterings",
    "failure_clusters": "SELECT * FROM failure_clusters",
    "cluster_assignments": "SELECT * FROM cluster_assignments"}


def _rows(path, table: str) -> list[tuple]:
    con = db.connect(path, read_only=True)
    try:
        return sorted(con.execute(FM_TABLES[table]).fetchall(), key=repr)
    finally:
        con.close()


@pytest.fixture(scope="module")
def folder(clustered, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fm_more_lake") / "lake"
    assert cli.main(["export-parquet", "--db", str(clustered), "--out", str(out),
                     "--partition", "benchmark,model"]) == 0
    return out


def test_export_parquet_carries_the_failure_mode_tables(clustered, folder):
    for table in FM_TABLES:
        assert _rows(folder, table) == _rows(clustered, table), table
    assert json.loads((folder / "manifest.json").read_text())["tables"]["cluster_assignments"]["rows"] > 0


def test_a_folder_opened_read_only_shows_failure_modes_and_more_like_this(folder, monkeypatch):
    con = db.connect(folder, read_only=True)
    try:
        found = clusters.clusters(con, "aime24")
        tid = int(found["examples"][0][0])
        qid = con.execute("SELECT question_id FROM outcomes WHERE trajectory_id = ?", [tid]).fetchall()[0][0]
        near = clusters.neighbours(con, tid, 10, False)
    finally:
        con.close()
    # an empty response's zero vector has no direction: it is never "like" anything (its NaN sorted first)
    assert near.height == 10 and not near["similarity"].is_nan().any()
    at = open_page(monkeypatch, folder, "app_pages/failures.py", timeout=180, b="aime24")
    assert "Failure modes" in [h.value for h in at.subheader]
    assert len(at.selectbox(key="fail_fm_pick").options) == len(found)
    at = open_page(monkeypatch, folder, "app_pages/trajectories.py", timeout=180, b="aime24", q=qid, t=str(tid))
    assert "More like this" in [h.value for h in at.subheader]
    at.toggle(key="traj_more_same").set_value(True).run()
    assert not at.exception


def test_a_folder_exported_before_the_failure_modes_opens_with_a_notice(folder, tmp_path, monkeypatch):
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    m = json.loads((old / "manifest.json").read_text())
    for table in FM_TABLES:
        del m["tables"][table]
        shutil.rmtree(old / table)
    m["schema_version"] = "3"
    (old / "manifest.json").write_text(json.dumps(m))
    at = open_page(monkeypatch, old, "app_pages/failures.py", timeout=180, b="aime24")
    assert any("No failure modes stored" in i.value for i in at.info)
    assert any("annotate --clusters --benchmark" in c.value for c in at.code)      # the command, copyable
    with db.reader(old) as con:
        tid, qid = con.execute("SELECT trajectory_id, question_id FROM outcomes WHERE NOT is_correct "
                               "ORDER BY trajectory_id LIMIT 1").fetchall()[0]
    at = open_page(monkeypatch, old, "app_pages/trajectories.py", timeout=180, b="aime24", q=qid, t=str(tid))
    assert any("trajectories are not embedded" in i.value for i in at.info)


@pytest.fixture
def later(shared, tmp_path) -> Path:
    """Another warehouse: the LATER model alone, clustered on its own."""
    path = tmp_path / "later.duckdb"
    assert _import(path, shared, LATER) == 0
    assert cli.main(["annotate", "--clusters", "--db", str(path)]) == 0
    return path


def test_import_parquet_into_an_empty_warehouse_takes_the_clusters_whole(folder, tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    capsys.readouterr()
    assert cli.main(["import-parquet", str(folder), "--db", str(path)]) == 0
    assert "failure modes" not in capsys.readouterr().out        # current as they came: nothing to redo
    for table in FM_TABLES:
        assert _rows(path, table) == _rows(folder, table), table


def test_import_parquet_keeps_a_clustering_whole_then_clusters_again(folder, later, tmp_path, capsys):
    """The warehouse's own clustering is not mixed with the folder's (cluster 3 of one is not cluster 3 of the
    other); the command then clusters the union again, as a fresh `annotate --clusters` would."""
    from warehouse import lake_import

    mixed = _copy(later, tmp_path / "mixed.duckdb")
    lake_import.merge(folder, mixed)
    for table in ("failure_clusterings", "failure_clusters", "cluster_assignments"):
        assert _rows(mixed, table) == _rows(later, table), table
    capsys.readouterr()
    assert cli.main(["import-parquet", str(folder), "--db", str(later)]) == 0
    assert "failure modes of aime24 updated" in capsys.readouterr().out
    fresh = _copy(later, tmp_path / "fresh.duckdb")
    assert cli.main(["annotate", "--clusters", "--db", str(fresh)]) == 0
    assert _assigned(later) == _assigned(fresh)
    assert _count(later, "SELECT count(*) FROM outcomes WHERE NOT is_correct") == len(_assigned(later))


def test_merge_clusters_the_merged_trajectories_again(clustered, shared, tmp_path, capsys):
    """`merge` copies no failure-mode rows from a shard: the target's clustered benchmark is embedded and
    clustered again over the merged trajectories."""
    shard = tmp_path / "shard.duckdb"
    assert _import(shard, shared, LATER) == 0
    path = _copy(clustered, tmp_path / "w.duckdb")
    capsys.readouterr()
    assert cli.main(["merge", str(shard), "--db", str(path)]) == 0
    assert re.search(r"^failure modes of aime24 updated: \d+ trajectories embedded, .*; (clustered again|\d+ new "
                     r"assigned to the nearest centre)", capsys.readouterr().out, re.M)
    with db.reader(path) as con:
        assert clusters.current(con, "aime24", embed.version())
    assert _count(path, "SELECT count(*) FROM outcomes WHERE NOT is_correct") == len(_assigned(path))


# --- 3. report clusters ---------------------------------------------------------------------------------
def _report(capsys, path, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main(["report", "clusters", "--benchmark", "aime24", "--db", str(path), *args])
    o = capsys.readouterr()
    return rc, o.out, o.err


def test_report_clusters_json_assigns_every_wrong_trajectory_once(clustered, capsys):
    rc, out, _ = _report(capsys, clustered, "--format", "json")
    rep = json.loads(out)
    assert rc == 0 and rep["embedding"] == {"model": embed.EMBEDDER, "version": embed.version()}
    with db.reader(clustered) as con:
        wrong = sorted(r[0] for r in con.execute(
            "SELECT trajectory_id FROM outcomes WHERE benchmark = 'aime24' AND NOT is_correct").fetchall())
        stored = clusters.clusters(con, "aime24")
    assert sorted(a["trajectory_id"] for a in rep["assignments"]) == wrong == [t for t, _, _ in _assigned(clustered)]
    assert rep["n_trajectories"] == len(wrong) and rep["k"] == len(rep["clusters"]) == stored.height
    for c, s in zip(rep["clusters"], stored.iter_rows(named=True)):
        assert (c["cluster_id"], c["label"], c["terms"], c["examples"]) == \
            (s["cluster_id"], s["label"], list(s["terms"]), list(s["examples"]))
        assert c["size"] == sum(a["cluster_id"] == c["cluster_id"] for a in rep["assignments"]) == s["size"]
        assert sum(v["n"] for v in c["by_tier"].values()) == c["size"] == sum(v["n"] for v in c["by_model"].values())
        assert sum(v["n"] for v in c["by_tier"].values()) == c["size"]
        assert len(c["top_answers"]) <= 3 and set(c["examples"]) <= set(wrong)
    assert sum(c["share"] for c in rep["clusters"]) == pytest.approx(1, abs=1e-3)


def test_report_clusters_cut_by_tiers_and_models_and_csv(clustered, capsys):
    rc, out, _ = _report(capsys, clustered, "--tiers", "Exh", "--models", FIRST[0], FIRST[1])
    rep = json.loads(out)
    assert rc == 0 and rep["n_trajectories"] == len(rep["assignments"]) > 0
    with db.reader(clustered) as con:
        n = con.execute("SELECT count(*) FROM outcomes o JOIN question_tiers t USING (benchmark, question_id) "
                        "WHERE o.benchmark = 'aime24' AND NOT is_correct AND t.scheme = 'paper' AND t.tier = 'Exh' "
                        "AND list_contains(?, model_id)", [list(FIRST[:2])]).fetchall()[0][0]
    assert rep["n_trajectories"] == n
    assert all(set(c["by_tier"]) == {"Exh"} and set(c["by_model"]) <= set(FIRST[:2]) for c in rep["clusters"])
    rc, out, _ = _report(capsys, clustered, "--format", "csv")
    lines = out.strip().splitlines()
    assert rc == 0 and lines[0].startswith("cluster_id,label,size,share,size_all,by_tier")
    assert len(lines) == 1 + json.loads(_report(capsys, clustered)[1])["k"]


def test_report_clusters_errors_are_one_line(first, clustered, capsys):
    rc, _, err = _report(capsys, first)
    assert rc == 2 and "no failure modes stored for 'aime24'" in err and "annotate --clusters" in err
    rc, _, err = _report(capsys, clustered, "--tiers", "Nope")
    assert rc == 2 and "--tiers 'Nope'" in err and "Easy, Medium, Hard, Exh" in err
    rc, _, err = _report(capsys, clustered, "--models", "nobody")
    assert rc == 2 and "nobody" in err


# --- 4. the bench ------------------------------------------------------------------------------------------
def test_bench_clusters_prints_its_figures(clustered):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, str(root / "bench" / "bench_clusters.py"), "--db", str(clustered),
                        "--n", "300"], capture_output=True, text=True, timeout=300, cwd=root)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout)
    assert got["embedded"] > 0 and got["embed_ms_per_trajectory"] > 0 and got["cluster_s"] > 0
    assert got["wrong"] == len(_assigned(clustered)) and got["cluster_300_k"] >= 2
    assert got["e2e_300_embed_and_cluster_s"] > 0 and got["e2e_300_k"] >= 2 and got["e2e_300_characters_embedded"] > 0
