"""End to end: the app (`python -m app_pages.server`: `streamlit run app.py`) on a free localhost port, driven
by headless Chromium (Playwright, the system /usr/bin/chromium — never a downloaded browser) through every page:
apply a filter, open a trajectory, export a chart. Screenshots go to artifacts/ (gitignored)."""
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.appserver import free_port as _free_port, serve     # noqa: F401 (_free_port: the browser tests')

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parent.parent
ART = REPO / "artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGES = {"": "Overview", "ladder": "The ladder", "coverage": "Coverage vs accuracy",
         "failures": "What goes wrong on the hardest questions", "scaling": "Scaling", "trajectories": "Trajectories",
         "step_errors": "Step errors", "compare": "Compare"}


@contextmanager
def start_server(db):
    """The app (bench.appserver) on a free localhost port over warehouse ``db``; yields its URL."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: `make system` installs Debian's chromium")
    ART.mkdir(parents=True, exist_ok=True)
    with serve(db, timeout_s=60) as s:
        yield s.url


@pytest.fixture(scope="module")
def server(app_db):
    with start_server(app_db) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ART.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        pg = ctx.new_page()
        yield pg
        browser.close()


def _idle(page) -> None:
    """Wait until the script run has finished and the page has settled."""
    page.wait_for_timeout(300)
    page.locator('[data-test-script-state="notRunning"]').first.wait_for(timeout=90_000)
    page.wait_for_timeout(500)


def _choose(page, box, typed: str, option: str | None = None) -> None:
    """Type ``typed`` into selectbox ``box``'s filter and choose the option that starts with ``option``
    (default: ``typed``) once the filtered list shows it. Pressing Enter right after typing races the
    list's filtering on a loaded machine: Enter may then take the option highlighted before the filter
    (the current one), and the pick is silently lost."""
    field = box.locator("input").first
    field.click()
    field.fill(typed)
    page.locator('[role="listbox"] [role="option"]').filter(
        has_text=re.compile("^" + re.escape(option or typed))).first.click(timeout=30_000)


def _open(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    _idle(page)


def test_every_page(page, server):
    for path, title in PAGES.items():
        _open(page, f"{server}/{path}", title)
        assert page.locator('[data-testid="stException"]').count() == 0, path
        assert page.get_by_text("Page not found").count() == 0, path
        page.screenshot(path=str(ART / f"{path or 'overview'}.png"), full_page=False)


def test_filter_in_url_and_sidebar(page, server):
    _open(page, f"{server}/ladder?tiers=Hard,Exh", "The ladder")
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("Hard").count() >= 1 and sidebar.get_by_text("Exh").count() >= 1
    # change a filter in the UI: the URL follows
    sidebar.locator('[data-testid="stMultiSelect"]').nth(2).click()   # Model groups
    page.get_by_role("option", name="base", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_url("**groups=base**", timeout=30_000)
    _idle(page)
    page.screenshot(path=str(ART / "ladder_filtered.png"))


def test_open_trajectory_and_search(page, server):
    _open(page, f"{server}/trajectories?q=60", "Trajectories")
    page.get_by_text("gold answer").first.wait_for(timeout=30_000)
    assert page.get_by_text("204").count() >= 1
    assert "t=" in page.url            # the open trajectory is in the permalink
    page.screenshot(path=str(ART / "trajectory.png"), full_page=False)


def _download_button(page, fmt: str):
    """The first chart's ``fmt`` button, in its "Download" menu (a popover) opened first when closed."""
    btn = page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name=fmt, exact=True)
    if btn.count() == 0 or not btn.first.is_visible():
        page.locator('[data-testid="stMain"] [data-testid="stPopover"]').filter(has_text="Download") \
            .first.get_by_role("button").first.click()
        btn.first.wait_for(state="visible", timeout=30_000)
    return btn.first


def test_export_a_chart(page, server):
    _open(page, f"{server}/ladder", "The ladder")
    with page.expect_download(timeout=90_000) as dl:
        _download_button(page, "SVG").click()
    data = Path(dl.value.path()).read_bytes()
    assert data.lstrip().startswith(b"<svg") and dl.value.suggested_filename == "ladder.svg"
    with page.expect_download(timeout=90_000) as dl:
        _download_button(page, "PNG").click()
    assert Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_aborted_page_loads_never_keep_the_warehouse_locked(app_db, tmp_path, page):
    """Navigating away while a page is still drawing (cold caches) stops its script run; the run's
    connection must still be closed, so an import right after gets the write lock at once."""
    import shutil

    from warehouse import db

    path = tmp_path / "w.duckdb"
    shutil.copy(app_db, path)
    with start_server(path) as url:
        pg = page.context.browser.new_page()        # the module's browser (one Playwright per process)
        for i, heavy in enumerate(["ladder", "coverage", "failures", "trajectories?q=62", "step_errors"]):
            pg.goto(f"{url}/{heavy}?tiers=Hard&b=aime24")
            pg.wait_for_timeout(300 + 150 * i)           # cut the run off while it queries
            pg.goto(f"{url}/scaling?b=math_cot_100")
        _idle(pg)
        start = time.monotonic()
        con = db.connect(path, timeout=10)               # raises WarehouseBusy if the app kept the lock
        con.close()
        waited = time.monotonic() - start
        pg.close()
    assert waited < 5, f"the writer waited {waited:.1f}s for the app's lock"
