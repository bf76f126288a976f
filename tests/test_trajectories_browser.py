"""The Trajectories page in real Chromium (headless /usr/bin/chromium over `streamlit run`), on the warehouse of
tests/test_trajectories_reading.py: the response's every non-math character is visible as written and the raw
view's text equals the stored string; three questions picked in a row are each honoured; a search hit, a grid
cell and an answer-class row each open their trajectory when selected."""
from __future__ import annotations

import re
import urllib.parse

import pytest

from test_e2e_browser import ART, ARGS, CHROMIUM, _choose, _idle, start_server
from test_trajectories_reading import FIDELITY, MATH, build, tid_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    path = build(tmp_path_factory.mktemp("reading"))
    with start_server(path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg, url, path
        browser.close()


def _go(pg, url: str) -> None:
    pg.goto(url)
    pg.get_by_role("heading", name="Trajectories").first.wait_for(timeout=60_000)
    _idle(pg)


def _param(pg, key: str) -> str | None:
    return urllib.parse.parse_qs(urllib.parse.urlparse(pg.url).query).get(key, [None])[0]


def _wait_t(pg, tid: int) -> None:
    """Until the URL names trajectory ``tid`` and the run that opened it has ended."""
    pg.wait_for_function("(t) => new URLSearchParams(location.search).get('t') === t", arg=str(tid), timeout=30_000)
    _idle(pg)


def _flat(s: str) -> str:
    return " ".join(s.replace("\u00a0", " ").split())


def _click_cell(pg, table, row: int, x: float) -> None:
    """Click a data row (0-based, under the header) of a st.dataframe at horizontal offset ``x``."""
    box = table.bounding_box()
    pg.mouse.click(box["x"] + x, box["y"] + 35 * (row + 1) + 17)
    _idle(pg)


def test_every_character_is_shown_and_the_raw_text_is_the_source(served):
    pg, url, path = served
    _go(pg, f"{url}/trajectories?b=reading&q=q1&t={tid_of(path, 'q1', 'm-a', 0)}")
    main = pg.locator('[data-testid="stMain"]')
    shown = _flat(main.inner_text())
    text = FIDELITY
    for m in MATH:
        text = text.replace(m, "\n")
    for line in text.split("\n"):
        if line.strip():
            assert _flat(line) in shown, line                         # every non-math character, as written
    assert main.locator(".katex").count() >= len(MATH)               # the math is rendered
    ART.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ART / "trajectory_fidelity.png"), full_page=True)
    pg.get_by_text("Raw text", exact=False).first.click()
    _idle(pg)
    raw = main.locator('[data-testid="stCode"] code').first.inner_text()
    assert raw.rstrip("\n") == FIDELITY
    pg.screenshot(path=str(ART / "trajectory_raw.png"), full_page=True)


def test_three_questions_picked_in_a_row_are_each_honoured(served):
    pg, url, _ = served
    _go(pg, f"{url}/trajectories?b=reading&q=q2")
    for qid in ("q4", "q3", "q1"):
        box = pg.locator("[data-testid='stSelectbox']").filter(has_text="Question (sorted")
        _choose(pg, box, qid, f"{qid} ·")
        pg.wait_for_url(re.compile(rf"[?&]q={qid}(&|$)"), timeout=30_000)        # the URL moves mid-run:
        pg.get_by_text(f"Problem {qid} — gold answer", exact=False).first.wait_for(timeout=30_000)
        _idle(pg)                                                               # then the run ends
        assert pg.get_by_text(f"Problem {qid} — gold answer", exact=False).count() == 1, qid
        assert _param(pg, "q") == qid


def test_a_search_hit_a_grid_cell_and_a_class_row_open_their_trajectory(served):
    pg, url, path = served
    _go(pg, f"{url}/trajectories?b=reading&q=q2&s=" + urllib.parse.quote("not bold"))
    hits = pg.locator(".st-key-traj_hits_0 [data-testid='stDataFrame']")
    _click_cell(pg, hits, 0, 15)                                       # the row's selection box
    _wait_t(pg, tid_of(path, "q1", "m-a", 0))
    assert _param(pg, "q") == "q1"
    assert pg.get_by_text("snake_case_name", exact=False).count() >= 1
    # the grid: m-b's sample 0 (row 1, the second column)
    grid = pg.locator("[class*='st-key-traj_grid_q1_'] [data-testid='stDataFrame']")
    model_w = pg.locator("[class*='st-key-traj_grid_q1_'] [data-testid='stDataFrame']").bounding_box()["width"]
    _click_cell(pg, grid, 1, model_w * 0.35)
    _wait_t(pg, tid_of(path, "q1", "m-b", 0))
    # the answer class "7" (the second class): its one sample, m-a's sample 1
    _choose(pg, pg.locator(".st-key-traj_class_q1"), "2. 7")
    _idle(pg)
    rows = pg.locator("[class*='st-key-traj_class_q1_1_'] [data-testid='stDataFrame']")
    rows.scroll_into_view_if_needed()
    _click_cell(pg, rows, 0, 15)
    _wait_t(pg, tid_of(path, "q1", "m-a", 1))
    pg.screenshot(path=str(ART / "trajectory_opened_by_row.png"), full_page=False)
