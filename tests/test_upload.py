"""Import in the browser (app_pages/upload.py on Get started and Overview), through Streamlit's AppTest.

A real trace file from ../shared/data/traces is dropped on the Get started page of a missing warehouse: it is
imported through ImportSession (the same rows as `python -m pipeline import` writes), and the app moves on to
the Overview with the new counts. A bad file shows its file/line/field problems and leaves the warehouse
unchanged; a file above the upload limit and a busy warehouse get a clear message and write nothing; the
untrusted file name is shown literally. The Overview's report button builds the selection's HTML report.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from apptest import APP, open_drop_zone
from pipeline import cli
from warehouse import db, inventory

GEMMA = "traces/skythought-aime24/gemma-2-27b-it.jsonl"


def _app(monkeypatch, path, data_dir=None) -> AppTest:
    monkeypatch.setenv("LADDER_DB", str(path))
    if data_dir is not None:
        monkeypatch.setenv("LADDER_DATA_DIR", str(data_dir))
    return AppTest.from_file(APP, default_timeout=180)


def _counts(path) -> dict:
    with db.reader(path) as con:
        return {**inventory.counts(con), "version": db.get_meta(con, "data_version")}


def _drop(at, key: str, files, fmt: str, bench: str, **fields) -> AppTest:
    if key == "overview":
        open_drop_zone(at)
    at.file_uploader(key=f"{key}_files").set_value(files)
    at.selectbox(key=f"{key}_fmt").set_value(fmt)
    at.selectbox(key=f"{key}_bench").set_value(bench)
    for name, value in fields.items():
        at.text_input(key=f"{key}_{name}").set_value(value)
    at.run()                # the browser reruns the page on every change: the button is enabled by the files
    return at.button(key=f"{key}_go").click().run()


def _texts(at, kind) -> list[str]:
    """The messages of one kind as the user reads them (plain() backslash-escapes every punctuation mark)."""
    return [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", e.value) for e in getattr(at, kind)]


@pytest.fixture
def tiny_copy(tiny_db, tmp_path):
    p = tmp_path / "w.duckdb"
    shutil.copy(tiny_db, p)
    return p


def test_a_real_trace_file_dropped_on_get_started_is_imported(shared, tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    at = _app(monkeypatch, path, shared)
    at.run()
    assert at.title[0].value == "ladder — get started" and not at.exception
    data = (shared / GEMMA).read_bytes()
    _drop(at, "start", ("gemma-2-27b-it.jsonl", data, "application/json"), "qwen-eval", "aime24")
    assert not at.exception, [e.value for e in at.exception]
    # the page refreshed: the warehouse is no longer empty, so the app shows the Overview and its counts
    assert at.title[0].value == "Overview"
    got = _counts(path)
    assert got["trajectories"] == 30 and got["models"] == 1
    assert {m.label: m.value for m in at.metric}["trajectories"] == "30"
    assert any("gemma-2-27b-it.jsonl: gemma-2-27b-it: 30 new trajectories" in s for s in _texts(at, "success"))
    # the same rows as the command line writes from the same file
    ref = tmp_path / "cli.duckdb"
    assert cli.main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--db", str(ref),
                     "--data-dir", str(shared), str(shared / GEMMA)]) == 0
    with db.reader(path) as a, db.reader(ref) as b:
        q = "SELECT run_id, question_id, sample_idx, is_correct FROM outcomes ORDER BY ALL"
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
    # dropped again on the Overview: nothing new, nothing written
    version = got["version"]
    _drop(at, "overview", ("gemma-2-27b-it.jsonl", data, "application/json"), "qwen-eval", "aime24")
    assert any("0 new trajectories, 30 duplicates skipped" in s for s in _texts(at, "success"))
    assert _counts(path)["version"] == version


def test_a_bad_file_shows_its_problems_and_writes_nothing(tiny_copy, monkeypatch):
    before = _counts(tiny_copy)
    at = _app(monkeypatch, tiny_copy)
    at.run()
    assert at.title[0].value == "Overview"
    bad = b'{"question_id": "q1", "response": 5}\nnot json\n{"model": "m", "question_id": 7}\n'
    name = "bad![x](http://127.0.0.1:9/x.png).jsonl"
    _drop(at, "overview", (name, bad, "application/json"), "jsonl", "tiny", model="m")
    assert not at.exception, [e.value for e in at.exception]
    problems = at.dataframe[-1].value
    assert set(problems.columns) >= {"file", "line", "field", "message"}
    assert set(problems["line"]) == {1, 2, 3} and set(problems["file"]) == {name}
    assert all(problems["field"].str.len() > 0) and (problems["severity"] == "error").all()
    assert any("3 lines rejected" in w for w in _texts(at, "warning"))
    # the untrusted file name is shown literally (plain(): no image syntax survives)
    raw = [e.value for e in at.warning]
    assert all("![" not in w for w in raw) and any("bad\\!\\[x\\]" in w for w in raw)
    assert _counts(tiny_copy) == before


def test_strict_with_one_bad_line_writes_nothing(tiny_copy, monkeypatch):
    import tiny

    before = _counts(tiny_copy)
    rows = tiny.lines("tiny-sft-b")
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"model": "tiny-sft-b", "question_id": "q9"}\n'
    at = _app(monkeypatch, tiny_copy)
    open_drop_zone(at.run())
    at.checkbox(key="overview_strict").check()
    _drop(at, "overview", ("more.jsonl", text.encode(), "application/json"), "jsonl", "tiny",
          model="tiny-new", meta="group=new, sft_size=5")
    assert any("strict: file NOT imported" in w for w in _texts(at, "warning"))
    assert _counts(tiny_copy) == before


def test_above_the_upload_limit_is_refused_with_a_message(tiny_copy, monkeypatch):
    before = _counts(tiny_copy)
    old = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 1)
    try:
        at = _app(monkeypatch, tiny_copy)
        at.run()
        _drop(at, "overview", ("big.jsonl", b"x" * (2**20 + 10), "application/json"), "jsonl", "tiny")
    finally:
        st_config.set_option("server.maxUploadSize", old)
    assert any("Above the upload limit of 1 MB: big.jsonl (1.0 MB)" in e for e in _texts(at, "error"))
    assert _counts(tiny_copy) == before


def test_bad_options_are_refused_before_any_file(tiny_copy, monkeypatch):
    at = _app(monkeypatch, tiny_copy)
    at.run()
    _drop(at, "overview", ("f.jsonl", b"{}\n", "application/json"), "jsonl", "tiny", meta="sft_size=-3")
    assert any("sft_size" in e for e in _texts(at, "error"))


def test_a_busy_warehouse_is_a_clear_message(tiny_copy, monkeypatch):
    import tiny

    before = _counts(tiny_copy)
    at = _app(monkeypatch, tiny_copy)
    at.run()            # the page's queries are cached now: the next run needs no connection until the import
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(tiny_copy)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("LADDER_LOCK_TIMEOUT", "1")
        text = "".join(json.dumps(r) + "\n" for r in tiny.lines("tiny-sft-b"))
        t0 = time.monotonic()
        _drop(at, "overview", ("x.jsonl", text.encode(), "application/json"), "jsonl", "tiny", model="other")
        assert time.monotonic() - t0 < 60
    finally:
        holder.kill()
        holder.wait()
    assert any("The warehouse is busy" in e for e in _texts(at, "error")), _texts(at, "error")
    assert _counts(tiny_copy) == before


def test_overviews_drop_zone_is_drawn_only_once_opened(tiny_db, monkeypatch):
    """Closed, "Import trace files" sends no widget (a browser's first page then loads no file-uploader code);
    opened, the page reruns with the drop zone, its options and the Import button."""
    at = _app(monkeypatch, tiny_db).run()
    assert not at.exception
    assert any(e.label == "Import trace files" for e in at.expander)
    assert not at.get("file_uploader") and not at.text_input and not at.checkbox
    open_drop_zone(at)
    assert not at.exception
    assert [u.proto.label for u in at.get("file_uploader")] == ["Trace files"]
    assert at.button(key="overview_go").proto.disabled          # no file yet


def test_overview_report_button_builds_the_selection_report(tiny_db, monkeypatch):
    from charts import report
    from warehouse.filters import Selection

    at = _app(monkeypatch, tiny_db).run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(lbl.startswith("Download this selection's report") for lbl in labels), labels
    html = report.file_bytes(tiny_db, Selection("tiny", models=("tiny-base",))).decode()
    assert html.startswith("<!DOCTYPE html>") and "--models tiny-base" in html


def test_a_reader_held_in_this_process_is_waited_for_then_reported(tiny_copy, monkeypatch):
    """DuckDB refuses a writer while this process holds the file read-only (another page of the app reading):
    the writer waits for it like another process's lock (db.connect), then says the warehouse is busy; nothing
    is written."""
    import duckdb
    import tiny

    before = _counts(tiny_copy)
    monkeypatch.setenv("LADDER_LOCK_TIMEOUT", "0.5")
    at = _app(monkeypatch, tiny_copy)
    at.run()
    held = duckdb.connect(str(tiny_copy), read_only=True)
    try:
        text = "".join(json.dumps(r) + "\n" for r in tiny.lines("tiny-sft-b"))
        _drop(at, "overview", ("x.jsonl", text.encode(), "application/json"), "jsonl", "tiny", model="other")
    finally:
        held.close()
    assert any("The warehouse is busy" in e and "or a connection of this one" in e for e in _texts(at, "error"))
    assert _counts(tiny_copy) == before


@pytest.mark.slow
@pytest.mark.browser
def test_in_the_browser_drop_a_real_file_then_download_the_report(shared, tmp_path, monkeypatch):
    """`streamlit run app.py` in Chromium: a real trace file dropped on Get started lands in the warehouse and the
    Overview shows its counts; the report button downloads the HTML file."""
    from playwright.sync_api import sync_playwright
    from test_e2e_browser import ARGS, CHROMIUM, _idle, start_server

    path = tmp_path / "w.duckdb"
    trace = tmp_path / "gemma-2-27b-it.jsonl"
    shutil.copy(shared / GEMMA, trace)
    monkeypatch.setenv("LADDER_DATA_DIR", str(shared))     # the server inherits it
    with start_server(path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
        pg.goto(url)
        pg.get_by_role("heading", name="ladder — get started").wait_for(timeout=60_000)
        _idle(pg)
        pg.locator('input[type="file"]').first.set_input_files(str(trace))
        _idle(pg)
        pg.get_by_role("button", name="Import").click()
        pg.get_by_role("heading", name="Overview").first.wait_for(timeout=120_000)
        _idle(pg)
        assert pg.get_by_text("30 new trajectories").count() >= 1
        assert _counts(path)["trajectories"] == 30
        with pg.expect_download(timeout=120_000) as dl:
            pg.get_by_role("button", name="Download this selection's report").click()
        html = Path(dl.value.path()).read_text(encoding="utf-8")
        browser.close()
    assert html.startswith("<!DOCTYPE html>") and "gemma-2-27b-it" in html and "Plotly.newPlot(" in html


def test_several_files_at_once_each_reported(tiny_copy, monkeypatch):
    """One drop, two files: the good one is written (the counts change), the bad one is reported line by line."""
    import tiny

    before = _counts(tiny_copy)
    rows = [{**r, "model": "tiny-new"} for r in tiny.lines("tiny-sft-b")]
    good = "".join(json.dumps(r) + "\n" for r in rows).encode()
    at = _app(monkeypatch, tiny_copy)
    at.run()
    _drop(at, "overview", [("good.jsonl", good, "application/json"), ("bad.jsonl", b"[1]\n", "application/json")],
          "jsonl", "tiny")
    assert not at.exception, [e.value for e in at.exception]
    after = _counts(tiny_copy)
    assert after["trajectories"] == before["trajectories"] + len(rows) and after["models"] == before["models"] + 1
    assert {m.label: m.value for m in at.metric}["trajectories"] == str(after["trajectories"])
    assert any(s.startswith("good.jsonl: tiny-new: 4 new trajectories") for s in _texts(at, "success"))
    assert any(s.startswith("bad.jsonl: ") and "1 lines rejected" in s for s in _texts(at, "warning"))
    assert list(at.dataframe[-1].value["file"]) == ["bad.jsonl"]


def test_an_lm_eval_file_without_a_model_name_is_refused(shared, tmp_path, monkeypatch):
    """lm-eval samples name their model by their folders; an upload's folder is a temporary number, so the model
    name must be typed (else the run would be stored under '0'). Given, the same file imports."""
    problems = [json.loads(line) for line in open(shared / "aime24/problems.jsonl", encoding="utf-8")][:3]
    from warehouse.records import normalize_problem

    traces = {normalize_problem(json.loads(line)["question"]): json.loads(line)
              for line in open(shared / GEMMA, encoding="utf-8")}
    lines = []
    for i, p in enumerate(problems):
        r = traces[normalize_problem(p["problem"])]
        lines.append(json.dumps({"doc_id": i, "doc": p, "target": p["answer"], "resps": [[r["code"][0]]],
                                 "exact_match": int(r["score"][0])}))
    data = ("samples_aime24_2025-01-01.jsonl", ("\n".join(lines) + "\n").encode(), "application/json")
    path = tmp_path / "w.duckdb"
    with db.writer(path):
        pass
    at = _app(monkeypatch, path, shared)
    at.run()
    key = "overview" if at.title and at.title[0].value == "Overview" else "start"
    _drop(at, key, data, "auto", "aime24")
    assert any("does not name its model" in w for w in _texts(at, "warning") + _texts(at, "error"))
    with db.reader(path) as con:
        assert con.execute("SELECT count(*) FROM trajectories").fetchone()[0] == 0
    _drop(at, key, data, "auto", "aime24", model="gemma-lm-eval")
    with db.reader(path) as con:
        assert con.execute("SELECT DISTINCT model_id FROM runs").fetchall() == [("gemma-lm-eval",)]
