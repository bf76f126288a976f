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
