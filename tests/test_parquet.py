"""The warehouse as a Parquet folder (warehouse.lake): export-parquet, LADDER_DB=DIR read-only, import-parquet.

On the tiny warehouse: the round trip keeps every table's rows and types (partitioned or not); the
queries and page views give the same frames on the folder as on the file; two warehouses exported
and imported into a third give their union, and importing again writes nothing; bad folders are
refused naming the file and the field; writers refuse a folder. On the demo warehouse (slow):
every page of the app shows the same figures, tables and metrics on the folder as on the file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.cli import main
from warehouse import db, lake, lake_import
from warehouse.filters import Selection


def _export(src: Path, out: Path, partition: str = "") -> Path:
    argv = ["export-parquet", "--db", str(src), "--out", str(out)] + (["--partition", partition] if partition else [])
    assert main(argv) == 0
    return out


def _rows(con, table: str) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in lake.columns(con, table) or _view_columns(con, table))
    return sorted(con.execute(f"SELECT {cols} FROM {table}").fetchall(), key=repr)


def _view_columns(con, table: str) -> list[str]:
    return [c for c in con.sql(f"SELECT * FROM {table} LIMIT 0").columns if c != "rowid"]


def _snapshot(path, skip_meta: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every table's rows (sorted), read through db.reader: a file or a folder alike."""
    with db.reader(path) as con:
        names = [r[0] for r in con.execute("SELECT name FROM (SELECT table_name AS name FROM duckdb_tables() "
                                           "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal) "
                                           "WHERE name <> 'outcomes' ORDER BY 1").fetchall()]
        out = {}
        for t in names:
            cols = ", ".join(f'"{c}"' for c in _view_columns(con, t))
            rows = con.execute(f"SELECT {cols} FROM {t}").fetchall()
            if t == "meta":
                rows = [r for r in rows if r[0] not in skip_meta]
            out[t] = sorted(rows, key=repr)
        return out


@pytest.mark.parametrize("partition", ["", "benchmark,model", "model"])
def test_round_trip_keeps_every_row_and_type(tiny_db, tmp_path, partition):
    out = _export(tiny_db, tmp_path / "lake", partition)
    m = json.loads((out / "manifest.json").read_text())
    assert m["partition"] == [p for p in partition.split(",") if p]
    assert m["grader"]["name"] == "ladder" and m["schema_version"] == db.SCHEMA_VERSION
    file, folder = _snapshot(tiny_db), _snapshot(out)
    assert folder == file
    assert {t: len(rows) for t, rows in file.items() if t in m["tables"]} == \
           {t: info["rows"] for t, info in m["tables"].items()}
    with db.reader(tiny_db) as a, db.reader(out) as b:
        for t in m["tables"]:
            types = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position"
            assert [r for r in b.execute(types, [t]).fetchall() if r[0] != "rowid"] == a.execute(types, [t]).fetchall(), t
    if partition == "benchmark,model":     # the big tables carry their run's benchmark and model (dropped on read)
        assert m["tables"]["grades"]["partition_by"] == ["benchmark", "model_id"]
        assert m["tables"]["grades"]["added_columns"] == ["benchmark", "model_id"]
        assert m["tables"]["trajectories"]["added_columns"] == ["model_id"]
        assert m["tables"]["meta"]["partition_by"] == [] and (out / "meta" / "data_0.parquet").is_file()
        assert (out / "trajectories" / "benchmark=tiny" / "model_id=tiny-sft-a").is_dir()
        assert m["tables"]["models"]["partition_by"] == ["model_id"]
    if partition == "model":
        assert m["tables"]["questions"]["partition_by"] == []


def test_queries_and_page_views_are_the_same_on_the_folder(tiny_db, tmp_path):
    from charts import pages
    from warehouse import failures, frames, inventory, questions, search, trajectory

    out = _export(tiny_db, tmp_path / "lake", "benchmark,model")
    sel = Selection("tiny")
    with db.reader(tiny_db) as con:
        tid = con.execute("SELECT min(trajectory_id) FROM trajectories").fetchall()[0][0]
    calls = [(inventory.counts,), (inventory.info,), (inventory.benchmarks,), (inventory.models,),
             (inventory.runs,), (inventory.options,), (questions.tier_accuracy, sel), (questions.questions, sel),
             (questions.question, "tiny", "q1"), (questions.sample_grid, sel, "q2"),
             (trajectory.trajectory, tid), (trajectory.steps, tid), (trajectory.annotations, tid), (trajectory.flags, tid),
             (failures.wrong_answers, sel), (failures.strategy_tags, sel), (failures.flag_rates, sel),
             (failures.length_by_outcome, sel), (frames.per_question, sel), (frames.final_answers, sel),
             (frames.question_rates, sel), (search.search, sel, "boxed"), (search.search, sel, "Boxed"),
             (pages.ladder_report, sel), (pages.coverage_report, sel), (pages.scaling_factors, sel)]
    results = {}
    for path in (tiny_db, out):
        with db.reader(path) as con:
            results[path] = [fn(con, *args) for fn, *args in calls]
    for (fn, *_), a, b in zip(calls, results[tiny_db], results[out]):
        _same(a, b, fn.__name__)
    assert results[out][21].height > 0       # the search found something (row ids of the folder)


def _same(a, b, what: str) -> None:
    if isinstance(a, pl.DataFrame):
        assert a.equals(b, null_equal=True), what
    elif isinstance(a, (tuple, list)) and a and isinstance(a[0], pl.DataFrame):
        for x, y in zip(a, b):
            _same(x, y, what)
    elif isinstance(a, dict) and a and all(isinstance(v, pl.DataFrame) for v in a.values()):
        assert a.keys() == b.keys(), what
        for k in a:
            _same(a[k], b[k], f"{what}[{k}]")
    else:
        assert a == b, what


def test_read_only_commands_print_the_same_on_the_folder(tiny_db, tmp_path, capsys):
    out = _export(tiny_db, tmp_path / "lake")
    capsys.readouterr()
    for argv in (["stats"], ["models", "list"]):
        outputs = []
        for path in (tiny_db, out):
            assert main([*argv, "--db", str(path)]) == 0
            outputs.append(capsys.readouterr().out)
        assert outputs[0] == outputs[1] and outputs[0].strip(), argv


def test_writers_refuse_a_folder(tiny_db, tmp_path, capsys, monkeypatch):
    out = _export(tiny_db, tmp_path / "lake")
    with pytest.raises(lake.ReadOnlyWarehouse, match="Parquet folder, read-only"), db.writer(out):
        pass
    monkeypatch.setenv("LADDER_DB", str(out))
    assert main(["models", "set", "tiny-base", "group=x"]) == 2
    assert "is a Parquet folder, read-only" in capsys.readouterr().err
    assert main(["import-parquet", str(out), "--db", str(out)]) == 2
    # a folder without a manifest stays what it was: not a warehouse
    (tmp_path / "plain").mkdir()
    with pytest.raises(db.WarehouseUnreadable, match="is a folder"), db.reader(tmp_path / "plain"):
        pass


def test_export_refuses_a_non_empty_folder_and_overwrites_an_export(tiny_db, tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert main(["export-parquet", "--db", str(tiny_db), "--out", str(tmp_path / "busy")]) == 2
    assert "not empty" in capsys.readouterr().err and (tmp_path / "busy" / "notes.txt").exists()
    out = _export(tiny_db, tmp_path / "lake")
    first = json.loads((out / "manifest.json").read_text())["export_id"]
    assert main(["export-parquet", "--db", str(tiny_db), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export-parquet", "--db", str(tiny_db), "--out", str(out), "--overwrite", "--partition", "model"]) == 0
    assert json.loads((out / "manifest.json").read_text())["export_id"] != first
    assert db.data_version(out).endswith(":" + db.data_version(tiny_db).rsplit(":", 1)[1])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no partial/old folders left
    assert main(["export-parquet", "--db", str(tiny_db), "--out", str(tmp_path / "x"), "--partition", "tier"]) == 2
    assert "unknown key 'tier'" in capsys.readouterr().err


def _without_model(src: Path, dest: Path, model: str) -> Path:
    """A copy of the warehouse without one model's runs (and everything hanging off them)."""
    shutil.copy(src, dest)
    con = duckdb.connect(str(dest))
    ids = "(SELECT trajectory_id FROM trajectories WHERE run_id IN (SELECT run_id FROM runs WHERE model_id = ?))"
    for t in [r[0] for r in con.execute("SELECT DISTINCT table_name FROM duckdb_columns() WHERE "
                                        "column_name = 'trajectory_id' AND table_name <> 'trajectories' "
                                        "AND table_name IN (SELECT table_name FROM duckdb_tables())").fetchall()]:
        con.execute(f"DELETE FROM {t} WHERE trajectory_id IN {ids}", [model])
    con.execute("DELETE FROM trajectories WHERE run_id IN (SELECT run_id FROM runs WHERE model_id = ?)", [model])
    for t in ("run_question_stats", "runs", "models"):
        con.execute(f"DELETE FROM {t} WHERE model_id = ?", [model])
    con.close()
    return dest


def test_two_warehouses_imported_into_a_third_give_the_union(tiny_db, tmp_path, capsys):
    a = _export(_without_model(tiny_db, tmp_path / "a.duckdb", "tiny-base"), tmp_path / "a", "benchmark,model")
    b = _export(_without_model(tiny_db, tmp_path / "b.duckdb", "tiny-sft-b"), tmp_path / "b")
    target = tmp_path / "team.duckdb"
    assert main(["import-parquet", str(a), "--db", str(target)]) == 0
    assert main(["import-parquet", str(b), "--db", str(target)]) == 0
    assert "stats refreshed for 1 run(s)" in capsys.readouterr().out     # b added tiny-base's run only
    local = ("data_version", "schema_version")
    union = _snapshot(target, skip_meta=local)
    assert union == _snapshot(tiny_db, skip_meta=local)
    version = db.data_version(target)
    for folder in (a, b):                      # again: nothing is written, the version stays
        assert main(["import-parquet", str(folder), "--db", str(target)]) == 0
        assert "0 new rows (nothing new)" in capsys.readouterr().out
    assert db.data_version(target) == version
    assert _snapshot(target, skip_meta=local) == union
    # the stats the import recomputed are the ones the writers computed
    with db.reader(target) as x, db.reader(tiny_db) as y:
        assert _rows(x, "run_question_stats") == _rows(y, "run_question_stats")


def test_a_failed_import_leaves_the_warehouse_as_it_was(tiny_db, tmp_path):
    out = _export(tiny_db, tmp_path / "lake")
    # trajectory_flags (merged after trajectories) holds the right row count but a value that is no number
    flags = out / "trajectory_flags" / "data_0.parquet"
    con = duckdb.connect()
    n = con.execute("SELECT count(*) FROM read_parquet(?)", [str(flags)]).fetchall()[0][0]
    con.execute("COPY (SELECT trajectory_id, annotator, flag, 'not a number' AS value, detail FROM read_parquet(?)) "
                "TO ? (FORMAT parquet)", [str(flags), str(tmp_path / "f.parquet")])
    con.close()
    shutil.move(tmp_path / "f.parquet", flags)
    target = tmp_path / "t.duckdb"
    with db.writer(target) as w:
        w.execute("INSERT INTO meta VALUES ('note', 'mine')")
    before, version = _snapshot(target), db.data_version(target)
    with pytest.raises(lake.LakeError, match=r"lake/trajectory_flags: cannot import table 'trajectory_flags' \(.*"
                                             r"not a number.*\): nothing was imported"):
        lake_import.merge(out, target)
    assert _snapshot(target) == before and db.data_version(target) == version
    assert n > 0


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


@pytest.mark.parametrize("damage, message", [
    ("no manifest", r"manifest.json: no manifest"),
    ("not json", r"manifest.json: not valid JSON \(line 1, column 2"),
    ("newer schema", r"manifest.json: field 'schema_version' is 99, newer than this ladder's schema"),
    ("bad rows", r"manifest.json: field 'tables.grades.rows' is 'many', expected a row count"),
    ("no tables", r"manifest.json: field 'tables' is missing or empty"),
    ("lost file", r"lake/steps: 0 rows in the Parquet files, but manifest.json field 'tables.steps.rows' says \d+"),
    ("no files", r"lake/runs: cannot read the Parquet files of table 'runs'"),
])
def test_a_bad_folder_is_refused_naming_the_file_and_field(tiny_db, tmp_path, capsys, damage, message):
    out = _export(tiny_db, tmp_path / "lake")
    m = _manifest(out)
    if damage == "no manifest":
        (out / "manifest.json").unlink()
        (out / "x").mkdir()            # a folder, still: is_lake needs the manifest, import names it
    elif damage == "not json":
        (out / "manifest.json").write_text("{oops")
    elif damage == "newer schema":
        m["schema_version"] = "99"
    elif damage == "bad rows":
        m["tables"]["grades"]["rows"] = "many"
    elif damage == "no tables":
        del m["tables"]
    elif damage == "lost file":
        con = duckdb.connect()
        con.execute("COPY (SELECT * FROM read_parquet(?) LIMIT 0) TO ? (FORMAT parquet)",
                    [str(out / "steps" / "data_0.parquet"), str(tmp_path / "e.parquet")])
        con.close()
        shutil.move(tmp_path / "e.parquet", out / "steps" / "data_0.parquet")
    elif damage == "no files":
        shutil.rmtree(out / "runs")
    if damage in ("newer schema", "bad rows", "no tables"):
        (out / "manifest.json").write_text(json.dumps(m))
    assert main(["import-parquet", str(out), "--db", str(tmp_path / "t.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    import re
    assert re.search(message, err), err
    if damage not in ("no manifest", "lost file"):     # the app and read-only commands say the same
        assert main(["stats", "--db", str(out)]) == 2
        assert re.search(message, capsys.readouterr().err)


def test_an_object_storage_folder_without_httpfs_says_so(monkeypatch, capsys):
    probe = duckdb.connect()
    try:
        probe.execute("LOAD httpfs")
        pytest.skip("httpfs is installed here: the remote path is usable")
    except duckdb.Error:
        pass
    finally:
        probe.close()
    monkeypatch.setenv("LADDER_DB", "s3://team-bucket/ladder")
    assert db.exists() and lake.is_lake(db.db_path())
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert "s3://team-bucket/ladder" in err and "httpfs extension is not available" in err and "offline" in err


@pytest.mark.slow
def test_every_page_shows_the_same_figures_on_the_folder(app_db, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    pages = ["app_pages/overview.py", "app_pages/ladder.py", "app_pages/coverage.py", "app_pages/failures.py",
             "app_pages/scaling.py", "app_pages/trajectories.py", "app_pages/step_errors.py"]
    out = _export(app_db, tmp_path / "lake", "benchmark,model")

    def page_content(path, page, bench):
        monkeypatch.setenv("LADDER_DB", str(path))
        at = AppTest.from_file(app, default_timeout=180)
        at.query_params["b"] = bench
        at.run()
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        frames = [c.value.to_json(orient="split", date_format="iso") for c in at.dataframe]
        metrics = [(m.label, m.value) for m in at.metric]
        return figures, frames, metrics

    for bench in ("aime24", "math_cot_100"):
        for page in pages:
            file, folder = page_content(app_db, page, bench), page_content(out, page, bench)
            assert folder == file, (page, bench)
            if page in ("app_pages/ladder.py", "app_pages/coverage.py"):
                assert file[0] and file[1], (page, bench)      # the comparison saw figures and tables


def test_a_replaced_export_is_read_afresh(tiny_db, tmp_path):
    """The views are built once per export and process: an export replaced in place is seen at once."""
    out = _export(tiny_db, tmp_path / "lake")
    with db.reader(out) as con:
        assert con.execute("SELECT count(DISTINCT model_id) FROM runs").fetchall() == [(3,)]
    smaller = _without_model(tiny_db, tmp_path / "s.duckdb", "tiny-base")
    assert main(["export-parquet", "--db", str(smaller), "--out", str(out), "--overwrite"]) == 0
    with db.reader(out) as con:
        assert con.execute("SELECT count(DISTINCT model_id) FROM runs").fetchall() == [(2,)]
        assert con.execute("SELECT count(*) FROM outcomes WHERE model_id = 'tiny-base'").fetchall() == [(0,)]


def test_the_index_follows_an_import(tiny_db, tmp_path):
    from warehouse import search, textindex

    out = _export(tiny_db, tmp_path / "lake")
    target = tmp_path / "t.duckdb"
    with db.writer(target) as w:
        w.execute("INSERT INTO meta VALUES ('note', 'mine')")
    textindex.sync(target)                     # an index of the empty warehouse
    assert main(["import-parquet", str(out), "--db", str(target)]) == 0
    with db.reader(target) as con:
        st = textindex.status(con)
        assert st.fresh and st.index.searcher().num_docs == con.execute(
            "SELECT count(*) FROM trajectories").fetchall()[0][0] > 0
        sel = Selection("tiny")
        got = search.find(con, sel, "sample 1 of q3", 100)
        assert got.mode == "index" and not got.hits.is_empty()
        assert got.hits.equals(search.find(con, sel, "sample 1 of q3", 100, use_index=False).hits)
