"""`python -m pipeline report html`: one self-contained HTML file (charts.report).

The file is opened from disk in headless Chromium (the system /usr/bin/chromium) with every request that is
not the file itself aborted and counted: every chart must draw (a Plotly graph div with its svg.main-svg and
its data), no request may leave the page, no dialog open, no console error (a CSP violation is one). On the
tiny warehouse, on a one-model warehouse (no groups, no factor, one sample: what cannot be drawn is listed
with its reason) and on the hostile-text warehouse of tests/test_hostile_text.py (every name is a hostile
string: they appear literally, escaped).
"""
from __future__ import annotations

import json
import re

import pytest
import tiny
from tiny import BENCHMARK

from charts import report
from pipeline import cli
from warehouse.filters import Selection

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def write_report(db_path, out, *extra) -> int:
    return cli.main(["report", "html", "--out", str(out), "--db", str(db_path), *extra])


@pytest.fixture(scope="module")
def one_model_db(tmp_path_factory):
    """A warehouse of one model (no group, no --meta, no tiers) with one sample per question."""
    d = tmp_path_factory.mktemp("one_model")
    f = d / "solo.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in tiny.lines("tiny-sft-b")), encoding="utf-8")
    path = d / "w.duckdb"
    assert cli.main(["import", "--format", "jsonl", "--benchmark", "solo", "--data-dir", str(d), "--db", str(path),
                     str(f)]) == 0
    return path


def open_in_browser(path):
    """Open ``path`` from disk with the network cut; what drew and what tried to leave."""
    from playwright.sync_api import sync_playwright

    leaving, dialogs, errors = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()

        def route(r):
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                leaving.append(r.request.url)
                r.abort()

        pg.route("**/*", route)
        pg.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else leaving.append(r.url))
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(path.resolve().as_uri())
        n_divs = pg.locator(".chart").count()
        pg.wait_for_function(
            "n => [...document.querySelectorAll('.chart .js-plotly-plot')].filter(g => g.querySelector("
            "'svg.main-svg') && g._fullData && g._fullData.length > 0).length === n", arg=n_divs, timeout=60_000)
        drawn = pg.evaluate("[...document.querySelectorAll('.chart .js-plotly-plot')].filter(g => "
                            "g.querySelector('svg.main-svg') && g._fullData.length > 0).length")
        svgs = pg.locator("svg.main-svg").count()
        text = pg.inner_text("body")
        cells = pg.eval_on_selector_all("td", "els => els.map(e => e.textContent)")
        scripts = pg.locator("script").count()
        external = pg.evaluate("[...document.querySelectorAll('img,iframe,link,object,embed,audio,video')]"
                               ".map(e => e.outerHTML.slice(0, 200))")
        browser.close()
    return {"divs": n_divs, "drawn": drawn, "svgs": svgs, "leaving": leaving, "dialogs": dialogs, "errors": errors,
            "text": text, "cells": cells, "scripts": scripts, "external": external}


# --- without a browser -----------------------------------------------------------------------------

def test_report_of_tiny_has_every_page_figure_tables_and_provenance(tiny):
    from charts import pages

    rep = report.collect(tiny, Selection(BENCHMARK))
    names = set(rep.figures)
    # every figure of charts.pages.FIGURES is drawn or listed with its reason: none is dropped silently
    for page, figs in pages.FIGURES.items():
        for name in figs:
            assert name in names or any(w == f"{page}: {name}" for w, _ in rep.skipped), (page, name)
    assert {"ladder", "heatmap", "pass_at_k", "scaling_points_sft_size", "migration_sft_size"} <= names
    text = report.render(rep, generated="2026-01-01 00:00 UTC")
    assert "data version" in text and rep.info["data_version"] in text and "tiny-sft-a" in text
    assert text.count("Plotly.newPlot(") == len(rep.figures)
    assert not re.search(r"<script[^>]+src=", text) and "cdn.plot.ly/plotly" not in text
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in text and "Content-Security-Policy" in text


def test_cli_writes_one_file_and_says_so(tiny_db, tmp_path, capsys):
    out = tmp_path / "sub" / "r.html"
    assert write_report(tiny_db, out, "--models", "tiny-base", "tiny-sft-a") == 0
    said = capsys.readouterr().out
    assert str(out) in said and "charts" in said
    text = out.read_text(encoding="utf-8")
    assert "tiny-sft-b" not in text.split("<h2>Filters</h2>", 1)[1]     # the selection is the selection
    assert "--models tiny-base tiny-sft-a" in text


@pytest.mark.parametrize("extra, says", [
    (["--benchmark", "nope"], "--benchmark 'nope' is not in the warehouse: known are tiny"),
    (["--models", "tiny-base", "ghost"], "--models: not in tiny: ghost"),
    (["--groups", "ghost"], "--groups: not in tiny: ghost; known are base, sft"),
    (["--tiers", "Easy"], "--tiers: tiny has no tiers"),
    (["--scheme", "auto"], "--scheme 'auto': tiny has no tiers under it"),
    (["--threshold", "1.5"], "--threshold 1.5"),
])
def test_cli_errors_are_one_line(tiny_db, tmp_path, capsys, extra, says):
    out = tmp_path / "r.html"
    assert write_report(tiny_db, out, *extra) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_cli_errors_on_paths(tiny_db, tmp_path, capsys):
    assert write_report(tiny_db, tmp_path) == 2
    assert "is a folder" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert write_report(tiny_db, blocker / "r.html") == 2
    assert f"{blocker} is a file, not a folder" in capsys.readouterr().err
    assert write_report(tmp_path / "none.duckdb", tmp_path / "r.html") == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert write_report(tiny_db, tmp_path / "r.html", "--by", "group", "--models", "tiny-base") == 0
    runs = (tmp_path / "r.html").read_text(encoding="utf-8").split("<h3>runs</h3>", 1)[1]
    assert "tiny-base" in runs and "tiny-sft-a" not in runs     # the provenance is the selection's runs


def test_one_model_warehouse_says_what_is_not_drawn(one_model_db, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert write_report(one_model_db, out, "--by", "group") == 2
    assert "no model of solo has a group" in capsys.readouterr().err
    assert write_report(one_model_db, out) == 0
    text = out.read_text(encoding="utf-8")
    assert "Not drawn" in text and "pass@k curves need more than one sample per question" in text
    assert "vary in no model factor" in text and "has a tier" in text


# --- in the browser, network cut ---------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("which", ["tiny", "one_model"])
def test_every_chart_draws_offline(which, tiny_db, one_model_db, tmp_path):
    out = tmp_path / f"{which}.html"
    assert write_report(tiny_db if which == "tiny" else one_model_db, out) == 0
    r = open_in_browser(out)
    assert r["divs"] >= (9 if which == "tiny" else 4)
    assert r["drawn"] == r["divs"] and r["svgs"] >= r["divs"]
    assert r["leaving"] == [] and r["dialogs"] == [] and r["errors"] == []
    assert r["external"] == []


@pytest.mark.slow
@pytest.mark.browser
def test_hostile_names_are_shown_literally_and_fetch_nothing(hostile, tracker, tmp_path):
    from test_hostile_text import _Recorder

    path, bench, _ = hostile
    out = tmp_path / "hostile.html"
    assert write_report(path, out, "--by", "group") == 0
    text = out.read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=\"http" not in text and "<iframe" not in text
    r = open_in_browser(out)
    assert r["drawn"] == r["divs"] >= 4
    assert r["leaving"] == [] and r["dialogs"] == [] and r["errors"] == [] and r["external"] == []
    assert _Recorder.hits == []
    # the hostile strings are there, as text: the benchmark name in the filters, model names in table cells
    assert bench in r["text"]
    assert "<b>model</b>" in r["cells"] and any("![m](http://" in c for c in r["cells"])
    assert r["scripts"] == 2 + r["divs"]       # plotly's config, plotly.js, one per chart: no script from data


# the hostile warehouse and the tracker server of tests/test_hostile_text.py
from test_hostile_text import hostile, tracker  # noqa: E402,F401,F811


def test_figures_added_to_the_pages_list_appear_without_a_change_here(tiny, monkeypatch):
    """charts.pages.FIGURES is the one list: a figure another change adds there is drawn in the report, and a
    page without a view is listed under Not drawn."""
    from charts import figures, pages

    extra = dict(pages.FIGURES)
    extra["ladder"] = {**pages.FIGURES["ladder"], "keys_bar": lambda v, **_: figures.bar_figure(
        v["accuracy"].group_by("key").agg(acc=pages.pl.col("accuracy").mean()), "key", "acc", title="mean")}
    extra["newpage"] = {"something": lambda v, **_: None}
    monkeypatch.setattr(pages, "FIGURES", extra)
    rep = report.collect(tiny, Selection(BENCHMARK))
    assert "keys_bar" in rep.figures
    assert ("newpage: something", "its page has no view in charts.pages.VIEWS") in rep.skipped
    assert report.render(rep).count("Plotly.newPlot(") == len(rep.figures)
