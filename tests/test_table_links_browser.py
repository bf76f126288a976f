"""A table row that names a question, on any page, opens it in Trajectories when selected (common.table): in real
Chromium over `streamlit run`, on a small imported warehouse whose question ids are numbers (1, 2, 10)."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from test_e2e_browser import ARGS, CHROMIUM, _idle, start_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BENCH = "links"
# question -> (gold, each model's answers): every question has wrong answers, two models share some
ANSWERS = {"1": ("5", {"m-a": ["5", "6"], "m-b": ["6", "6"]}),
           "2": ("7", {"m-a": ["8", "7"], "m-b": ["8", "9"]}),
           "10": ("3", {"m-a": ["4", "4"], "m-b": ["4", "3"]})}


def build(folder):
    from pipeline.cli import main

    path = folder / "links.duckdb"
    for model in ("m-a", "m-b"):
        f = folder / f"{model}.jsonl"
        f.write_text("".join(json.dumps({"model": model, "question_id": q, "problem": f"Problem {q}: compute it.",
                                         "answer": gold, "sample_idx": i,
                                         "response": f"Working on it.\n\nSo the answer is $\\boxed{{{a}}}$."}) + "\n"
                             for q, (gold, by) in ANSWERS.items() for i, a in enumerate(by[model])),
                     encoding="utf-8")
        assert main(["import", "--format", "jsonl", "--benchmark", BENCH, "--data-dir", str(folder),
                     "--db", str(path), str(f)]) == 0
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    path = build(tmp_path_factory.mktemp("links"))
    with start_server(path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg, url
        browser.close()


def _param(pg, key: str) -> str | None:
    return urllib.parse.parse_qs(urllib.parse.urlparse(pg.url).query).get(key, [None])[0]


def test_a_row_selected_on_exh_failures_opens_that_question(served):
    pg, url = served
    # Trajectories first, on question 1: its picker state must not outlive the page and shadow the row's question
    pg.goto(f"{url}/trajectories?b={BENCH}&q=1")
    pg.get_by_role("heading", name="Trajectories").first.wait_for(timeout=60_000)
    _idle(pg)
    pg.goto(f"{url}/failures?b={BENCH}")
    pg.get_by_role("heading", name="What goes wrong on the hardest questions").first.wait_for(timeout=60_000)
    _idle(pg)
    table = pg.locator("[class*='st-key-open_wrong_answer_concentration_'] [data-testid='stDataFrame']").first
    table.scroll_into_view_if_needed()
    _idle(pg)
    box = table.bounding_box()
    # rows in the one question order, numeric ids numerically: 1, 2, 10 (the third data row is question 10)
    pg.mouse.click(box["x"] + 15, box["y"] + 35 * 3 + 17)            # the third row's selection box
    pg.wait_for_function("() => location.pathname.endsWith('/trajectories')", timeout=30_000)
    pg.get_by_role("heading", name="Trajectories").first.wait_for(timeout=60_000)
    _idle(pg)
    assert _param(pg, "q") == "10" and _param(pg, "b") == BENCH
    assert _param(pg, "t") is not None                        # an opened trajectory: the permalink names it
    assert pg.get_by_text("Problem 10 — gold answer: 3").count() == 1          # the page shows question 10
    assert pg.get_by_text("Problem 1 — gold answer").count() == 0
