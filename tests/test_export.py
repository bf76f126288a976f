"""Chart and table export: real PNG/SVG/PDF from the system Chromium (marked `browser`), HTML, CSV, Parquet, zip,
CLI."""
import io
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import polars as pl
import pytest

import charts
from charts import export
from analysis import metrics
from warehouse import db, frames, inventory
from warehouse.filters import Selection


@pytest.fixture(scope="module")
def ladder(app_db):
    with db.reader(app_db) as con:
        sel = Selection("aime24", groups=("base",))
        acc = metrics.question_accuracy(frames.per_question(con, sel), frames.reference_values(con, sel))
    return charts.ladder_figure(acc, series="key")


def _check(fmt: str, data: bytes) -> None:
    if fmt == "png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    elif fmt == "svg":
        assert ET.fromstring(data).tag.endswith("svg")
    elif fmt == "pdf":
        assert data[:5] == b"%PDF-"
    elif fmt == "html":
        assert b"<html" in data[:500].lower() and b"plotly" in data


@pytest.mark.parametrize("fmt", [pytest.param(f, marks=pytest.mark.browser) for f in export.IMAGE_FORMATS] + ["html"])
def test_figure_formats(ladder, fmt):
    _check(fmt, export.figure_bytes(ladder, fmt))


@pytest.mark.browser         # an SVG through Kaleido's Chromium
def test_tables_and_zip(ladder, app_db):
    with db.reader(app_db) as con:
        steps_like = inventory.runs(con, "aime24").with_columns(pl.lit(["a", "b"]).alias("labels"))
    assert pl.read_parquet(io.BytesIO(export.table_bytes(steps_like, "parquet"))).equals(steps_like)
    csv = pl.read_csv(io.BytesIO(export.table_bytes(steps_like, "csv")))
    assert csv.height == steps_like.height and csv["labels"][0] == "['a', 'b']"
    z = zipfile.ZipFile(io.BytesIO(export.zip_bytes({"the ladder": ladder}, ("svg", "html"), {"runs": steps_like})))
    assert sorted(z.namelist()) == ["runs.csv", "runs.parquet", "the_ladder.html", "the_ladder.svg"]
    _check("svg", z.read("the_ladder.svg"))
    with pytest.raises(export.ExportError, match="unknown chart format"):
        export.figure_bytes(ladder, "gif")


@pytest.mark.browser
def test_export_charts_command(app_db, tmp_path):
    out = tmp_path / "figs"
    r = subprocess.run([sys.executable, "-m", "pipeline", "export-charts", "--out", str(out), "--format", "png,svg",
                        "--db", str(app_db)], capture_output=True, text=True, cwd=str(db.REPO_ROOT), timeout=300)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert "ladder.png" in names and "ladder.svg" in names and "heatmap.png" in names
    assert "migration_train_step.svg" in names and "rasch_difficulty.png" in names   # every page's charts
    for p in out.iterdir():
        _check(p.suffix[1:], p.read_bytes())
    bad = subprocess.run([sys.executable, "-m", "pipeline", "export-charts", "--out", str(out), "--format", "gif",
                          "--db", str(app_db)], capture_output=True, text=True, cwd=str(db.REPO_ROOT), timeout=120)
    assert bad.returncode == 2 and "gif" in bad.stderr


@pytest.mark.browser
def test_warm_starts_the_browser_in_the_background(ladder):
    """``warm`` (the app calls it on its first chart) starts Kaleido's Chromium and loads its page off the
    caller's thread, once; the next export only renders, and its bytes are a valid PNG."""
    export.stop_server()
    thread = export.warm()
    assert thread is not None
    thread.join(timeout=120)
    assert export._started and export.warm() is None          # once per process
    _check("png", export.figure_bytes(ladder, "png"))
    export.stop_server()


@pytest.mark.slow
@pytest.mark.browser
def test_app_server_warms_the_export_browser_before_the_first_download(tiny_db):
    """A real `streamlit run`: once the first page has run, the server starts Kaleido's Chromium on its own (a
    child process appears before any download), so the first PNG download only renders; its bytes are a PNG."""
    import time
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(db.REPO_ROOT))
    from bench import appserver, browser

    def chromium_children(pid: int) -> list[int]:
        kids, todo = [], [pid]
        while todo:
            p = todo.pop()
            for t in Path(f"/proc/{p}/task").iterdir():
                for c in (t / "children").read_text().split():
                    todo.append(int(c))
                    if "chrom" in Path(f"/proc/{c}/comm").read_text():
                        kids.append(int(c))
        return kids

    with appserver.serve(tiny_db) as served, sync_playwright() as p:
        url, pid = served.url, served.pid
        assert chromium_children(pid) == []
        b = p.chromium.launch(executable_path=browser.CHROMIUM, args=browser.ARGS)
        page = b.new_context(accept_downloads=True).new_page()
        page.add_init_script(browser._INIT)
        page.goto(url + "/ladder")
        page.wait_for_function("() => window.__bench && window.__bench.runs > 0 && window.__benchIdle()",
                               timeout=180_000)
        deadline = time.monotonic() + 120
        while not chromium_children(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert chromium_children(pid), "the server did not start the export browser"
        png = browser._png_button(page)
        with page.expect_download(timeout=120_000) as dl:
            png.click()
        _check("png", Path(dl.value.path()).read_bytes())
        b.close()
