"""The README's screenshots, refreshable: serve a warehouse with `streamlit run app.py` on a free localhost port,
open pages in headless Chromium (Playwright, the system /usr/bin/chromium) and write one PNG per page.

    .venv/bin/python docs/screenshots.py --db warehouse/demo.duckdb --out docs/img
    .venv/bin/python docs/screenshots.py --db W.duckdb --out /tmp/shots --all --full   # every page, whole length

The default shots are the README's (a 1400x1000 viewport, PNG, each ~100-250 KB); ``--all`` shoots every page,
``--full`` the whole page instead of the first screen (for reviewing a warehouse, not for the README).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))         # run as a script: bench/ (the one app server start-up) from the checkout
from bench.appserver import serve     # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# name -> URL path (with its query string), and how far down to scroll first: the README's four
README_SHOTS = {"overview": "", "ladder": "ladder", "coverage": "coverage?b=math_cot_100",
                "trajectories": ("trajectories?b=aime24&q=82", 1180)}
ALL_SHOTS = {"overview": "", "ladder": "ladder", "coverage": "coverage", "failures": "failures",
             "scaling": "scaling", "compare": "compare", "trajectories": "trajectories", "step_errors": "step_errors"}


def idle(page) -> None:
    """Wait until the script run has finished and the charts have drawn."""
    page.wait_for_timeout(300)
    page.locator('[data-test-script-state="notRunning"]').first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)


def shoot(url: str, shots: dict[str, str], out: Path, width: int, height: int, full: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, path in shots.items():
            path, down = path if isinstance(path, tuple) else (path, 0)
            page.goto(f"{url}/{path}")
            page.locator("h1").first.wait_for(timeout=120_000)
            idle(page)
            if down and not full:
                page.evaluate(f"document.querySelector('[data-testid=\"stMain\"]').scrollTop = {down}")
                page.wait_for_timeout(800)
            shots_of = [(name, None)]
            if full:      # every tab too: a reviewer reads the details, not only the first screen
                shots_of += [(f"{name}_tab{i}", i) for i in range(1, page.locator('[role="tab"]').count())]
            for shot, tab in shots_of:
                if tab is not None:
                    page.locator('[role="tab"]').nth(tab).click()
                    idle(page)
                if full:  # the app scrolls inside its main block: grow the window to the block's height
                    tall = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
                    page.set_viewport_size({"width": width, "height": min(max(height, tall), 12_000)})
                    page.wait_for_timeout(1200)
                target = out / f"{shot}.png"
                page.screenshot(path=str(target))
                page.set_viewport_size({"width": width, "height": height})
                written.append(target)
                print(f"{target} ({target.stat().st_size // 1024} KB)")
        browser.close()
    return written


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=REPO / "warehouse" / "demo.duckdb")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--all", action="store_true", help="every page, not only the README's four")
    ap.add_argument("--full", action="store_true", help="the whole page, not the first screen")
    ap.add_argument("--size", default="1400x1000", help="viewport WIDTHxHEIGHT")
    a = ap.parse_args(argv)
    if not a.db.exists():
        raise SystemExit(f"{a.db}: no such warehouse (`python -m pipeline demo` builds the demo)")
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} missing: `make system` installs Debian's chromium")
    w, h = (int(x) for x in a.size.lower().split("x"))
    with serve(a.db, a.port) as s:
        shoot(s.url, ALL_SHOTS if a.all else README_SHOTS, a.out, w, h, a.full)


if __name__ == "__main__":
    main()
