"""In a real browser (headless /usr/bin/chromium): opening a trajectory at a marked step (the jump's
permalink) selects that step's page and scrolls the step into view; picking another mark in "Jump to
a marked step" does the same."""
from __future__ import annotations

import pytest

from warehouse import db
from warehouse import timeline_store as store

from test_e2e_browser import ART, ARGS, CHROMIUM, _choose, start_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _in_view(pg, anchor: str) -> bool:
    return pg.evaluate("""(id) => { const el = document.getElementById(id); if (!el) return false;
        const r = el.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; }""", anchor)


def test_jump_brings_the_step_into_view(sky14):
    from playwright.sync_api import sync_playwright

    with db.reader(sky14) as con:
        tid = int(store.trajectories(con, question_id="71")["trajectory_id"][0])
    with start_server(sky14) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        # Sky-T1-math-correct-5K-14B, AIME question 71: the gold 294 is first held at step 72 (index 71)
        pg.goto(f"{url}/trajectories?q=71&t={tid}&step=71", wait_until="networkidle")
        pg.wait_for_selector("#step-a-71", timeout=60_000)
        pg.wait_for_function("""() => { const el = document.getElementById('step-a-71');
            const r = el.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; }""",
                             timeout=20_000)
        assert _in_view(pg, "step-a-71")
        assert pg.get_by_text("asserts 294 ✓ gold", exact=False).count() >= 1
        ART.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ART / "timeline_jump_step72.png"))
        strip = pg.locator(".js-plotly-plot").filter(has_text="character offset").first
        strip.scroll_into_view_if_needed()
        strip.screenshot(path=str(ART / "timeline_strip.png"))
        # now jump through the list to step 1320 (index 1319): a later page of the trajectory
        pg.get_by_text("Jump to a marked step", exact=False).first.scroll_into_view_if_needed()
        box = pg.locator("div[data-testid='stSelectbox']").filter(has_text="Jump to a marked step")
        _choose(pg, box, "step 1320", "step 1320 ·")
        pg.wait_for_selector("#step-a-1319", timeout=60_000)
        pg.wait_for_function("""() => { const el = document.getElementById('step-a-1319');
            const r = el.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; }""",
                             timeout=20_000)
        assert _in_view(pg, "step-a-1319")
        pg.screenshot(path=str(ART / "timeline_jump_step1320.png"))
        browser.close()
