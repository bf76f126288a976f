"""`python -m bench.browser --db PATH [--repeat N] [--json]`: what a user feels, measured in a real browser.

Serves the app (`streamlit run app.py` on a free localhost port, LADDER_DB=PATH) and drives headless
Chromium (Playwright, the system /usr/bin/chromium) through a fixed script: open the app, the first visit
to every page of the navigation (and a second one), a filter change on each, a tier and a category
filter, the Figure-1 overlay toggle, a PNG download and a tab change on the Ladder page, a question change, opening a
trajectory, paging it, the jump to a marked step and a search on the Trajectories page.

Each action is timed from the click until Streamlit reports the script run finished and nothing on the
page is stale: a MutationObserver on the app root counts the runs the click started
(``data-test-script-state`` leaving ``notRunning``), and the action is done when that count has moved, the
state is ``notRunning`` again, the status widget ("Running...") is gone, no element is
``data-stale="true"`` and every Plotly chart has drawn its SVG (polled every 25 ms). A download is done
when the browser has the file. Beside the wall time: the server's CPU time (utime + stime of the
`streamlit` process and its children, from /proc) and the 1-minute load average. Every repeat starts a
fresh server and browser session (cold caches: a first visit is a first visit). ``--pause S`` waits S seconds
before each action (a user reading the page; not timed): the app's background warm-up (common.warm_up) then
runs between actions instead of being counted on the next ones.

Pages are found by their navigation links, widgets by their labels and Streamlit's data-testid
attributes; a control a page does not have (e.g. no tiers on this warehouse) gives the row
"skipped: ..." instead of a failure. Timings are wall-clock on whatever machine runs this: read them
beside the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench import appserver

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 180_000          # one action; a 10x warehouse's cold page may take a while
NO_RUN_GRACE_MS = 1500        # an action that starts no script run is done this long after an idle page
SEARCH_TEXT = "the answer"

# Installed before any page script: counts the script runs (the app root's data-test-script-state
# leaving notRunning) and answers whether the page is idle.
_INIT = """
(() => {
  window.__bench = {runs: 0};
  const attach = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) { setTimeout(attach, 10); return; }
    let last = app.getAttribute('data-test-script-state');
    if (last === 'running' || last === 'rerunRequested') window.__bench.runs++;
    new MutationObserver(() => {
      const s = app.getAttribute('data-test-script-state');
      if (s !== last && (s === 'running' || s === 'rerunRequested')) window.__bench.runs++;
      last = s;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  };
  attach();
  window.__benchIdle = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    // a component whose code is still loading (Plotly's chunk, ~1 s on a fresh browser's first page)
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;
    for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]'))
      if (!c.querySelector('.main-svg')) return false;
    return true;
  };
})();
"""
_DONE = """([n0, t0, grace]) => window.__bench && window.__benchIdle() &&
  (window.__bench.runs > n0 || performance.now() - t0 > grace)"""


class Skip(Exception):
    """The control this action needs is not on the page."""


# --- the server -------------------------------------------------------------------------------

@contextmanager
def serve(db: Path, log=lambda m: None):
    """The app (`python -m app_pages.server`, bench.appserver) over warehouse ``db`` on a free port; yields
    (url, pid, seconds to healthy)."""
    with appserver.serve(db) as s:
        log(f"server {s.url} (pid {s.pid}) up in {s.started_s:.1f}s")
        yield s.url, s.pid, s.started_s


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime in seconds) from /proc/PID/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()        # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its living descendants (Kaleido's Chromium)."""
    procs = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))) is not None:
            procs[int(d.name)] = st
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in procs:
            total += procs[p][1]
            todo += [c for c, (ppid, _) in procs.items() if ppid == p]
    return total


def memory_mb(pid: int) -> dict:
    """The server's resident memory now and its peak (VmRSS, VmHWM), MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        for key, name in (("VmRSS:", "rss_mb"), ("VmHWM:", "peak_rss_mb")):
            if line.startswith(key):
                out[name] = round(int(line.split()[1]) / 1024, 1)
    return out


# --- finding controls ---------------------------------------------------------------------------

def _widget(scope, testid: str, label: str, exact: bool = True):
    """The first widget of this kind whose label is ``label`` (exact, or a prefix with exact=False)."""
    page = getattr(scope, "page", scope)       # an inner locator of filter(has=) starts from the page
    lab = page.locator('[data-testid="stWidgetLabel"]')
    lab = lab.get_by_text(label, exact=True) if exact else lab.get_by_text(re.compile("^" + re.escape(label)))
    loc = scope.locator(f'[data-testid="{testid}"]').filter(has=lab)
    if loc.count() == 0:
        raise Skip(f"no {testid} labelled {label!r}")
    return loc.first


def _first_widget(scope, testid: str, labels: list[str], exact: bool = True):
    for label in labels:
        try:
            return _widget(scope, testid, label, exact), label
        except Skip:
            pass
    raise Skip(f"no {testid} labelled " + " or ".join(repr(x) for x in labels))


def _options(page):
    """The open list's real options (not "Select all", not the "No results" line)."""
    opts = page.locator('[role="listbox"] [role="option"]')
    try:
        opts.first.wait_for(timeout=10_000)
    except Exception as exc:     # noqa: BLE001 -- an empty list: nothing to pick
        raise Skip("the list has no options") from exc
    return opts.filter(has_not_text=re.compile(r"^(Select all|No results)$"))


def _open_list(box) -> None:
    """Open a selectbox's or multiselect's list (a combobox since Streamlit 1.5x; BaseWeb before)."""
    for sel in ('[role="combobox"]', '[data-baseweb="select"]'):
        el = box.locator(sel)
        if el.count():
            if el.first.is_disabled():
                raise Skip("not on this page (the control is disabled: nothing to choose)")
            el.first.click()
            return
    raise Skip("the control has no list to open")


def pick_option(page, box, index: int):
    """Open a selectbox; returns (the click on its option ``index`` (the last when shorter, the next one
    when that is the value shown already: picking it would change nothing), the option's text)."""
    field = box.locator('[role="combobox"]')
    current = field.first.input_value() if field.count() else None
    _open_list(box)
    opts = _options(page)
    texts = [t.strip() for t in opts.all_inner_texts()]
    if not texts or texts == [current]:
        page.keyboard.press("Escape")
        raise Skip("not on this page (only one option to choose)")
    i = min(index, len(texts) - 1)
    if texts[i] == current:
        i = (i + 1) % len(texts)
    return opts.nth(i).click, texts[i]


def toggle_multiselect(page, box, want: str | None = None):
    """A filter change: (the click that clears the multiselect when it holds a value, else adds ``want``
    or its first option, what it does)."""
    if box.locator("input").count() and box.locator("input").first.is_disabled():
        raise Skip("not on this page (the filter is disabled: nothing to choose)")
    clear = box.get_by_role("button", name="Clear all")
    if box.locator('[data-tag], [data-testid="stMultiSelectTag"]').count() and clear.count():
        return clear.first.click, "cleared"
    _open_list(box)
    opts = _options(page)
    texts = [t.strip() for t in opts.all_inner_texts()]
    if not texts:
        page.keyboard.press("Escape")
        raise Skip("not on this page (nothing to choose)")
    i = texts.index(want) if want in texts else 0
    opt = opts.nth(i)

    def click():
        opt.click()
        page.keyboard.press("Escape")     # close the list, as a user does
    return click, f"added {texts[i]}"


# --- timing ---------------------------------------------------------------------------------------

class Bench:
    def __init__(self, page, pid: int, log, pause: float = 0.0):
        self.page, self.pid, self.log, self.pause = page, pid, log, pause
        self.rows: dict[str, dict] = {}

    def _record(self, name: str, **row) -> None:
        r = self.rows.setdefault(name, {"action": name, "wall_s": [], "cpu_s": [], "load1": [], "notes": []})
        for k in ("wall_s", "cpu_s", "load1"):
            if k in row:
                r[k].append(row[k])
        if row.get("note") and row["note"] not in r["notes"]:
            r["notes"].append(row["note"])

    def wait_idle(self, n0: int, t0_js: float, timeout_ms: int = TIMEOUT_MS) -> None:
        self.page.wait_for_function(_DONE, arg=[n0, t0_js, NO_RUN_GRACE_MS], polling=25, timeout=timeout_ms)

    def act(self, name: str, fn, download: bool = False) -> None:
        """``fn(page)`` finds the control and prepares the action (opens a list, types a text: not timed) and
        returns ``(click, note)``; ``click()`` (a click or a key press) is timed until the run it started has
        finished drawing (or, with ``download``, until the file has arrived)."""
        page = self.page
        try:
            self.settle()
            if self.pause:
                time.sleep(self.pause)        # a user reads the page before the next click (not timed)
            click, note = fn(page)
            n0, t0_js = page.evaluate("() => [window.__bench.runs, performance.now()]")
            c0, t0 = cpu_seconds(self.pid), time.perf_counter()
            if download:
                with page.expect_download(timeout=TIMEOUT_MS) as dl:
                    click()
                dl.value.path()                       # the file has arrived
            else:
                click()
                self.wait_idle(n0, t0_js)
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(self.pid) - c0
            runs = page.evaluate("() => window.__bench.runs") - n0
            if not download and runs == 0:     # nothing changed: not a timing of anything
                raise Skip(f"the action started no script run ({note or 'nothing picked'})")
            errors = page.locator('[data-testid="stException"]').count()
            if errors:
                note = ((note or "") + f"; {errors} exception(s) on the page").lstrip("; ")
            self._record(name, wall_s=round(wall, 3), cpu_s=round(cpu, 3), load1=round(os.getloadavg()[0], 2),
                         note=note)
            self.log(f"  {name}: {wall:.2f}s (server CPU {cpu:.2f}s){' - ' + note if note else ''}")
        except Skip as why:
            self._record(name, note=f"skipped: {why}")
            self.log(f"  {name}: skipped: {why}")
        except Exception as exc:    # noqa: BLE001 -- a broken action is reported, the others still run
            msg = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            self._record(name, note=msg)
            self.log(f"  {name}: {msg}")
            try:
                self.settle()
            except Exception:        # noqa: BLE001
                pass

    def settle(self) -> None:
        """Wait until the page is idle (not timed): the previous action's leftovers do not count."""
        self.page.wait_for_function("() => window.__bench && window.__benchIdle()", polling=25, timeout=TIMEOUT_MS)


def _nav_links(page) -> list[tuple[str, str]]:
    """(title, href path) of every page in the sidebar navigation, in order."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    out = []
    for i in range(links.count()):
        a = links.nth(i)
        href = (a.get_attribute("href") or "").split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        named = a.locator("span[label]")          # the title; the link's text also holds the icon's name
        title = named.first.get_attribute("label") if named.count() else a.inner_text().strip().splitlines()[-1]
        out.append((title, href))
    return out


def _main(page):
    return page.locator('[data-testid="stMain"]')


def _sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def _visit(title: str):
    """The action: click the navigation link of the page titled ``title``."""
    def click(pg):
        link = pg.locator('[data-testid="stSidebarNavLink"]').filter(has=pg.locator(f'span[label="{title}"]'))
        if link.count() == 0:
            raise Skip(f"not on this page (no navigation link {title!r})")
        return link.first.click, None
    return click


def _find_page(nav: list[tuple[str, str]], path: str, titles: tuple[str, ...]) -> str | None:
    for title, href in nav:
        if href == path or title in titles:
            return title
    return None


def run_once(db: Path, browser, log, second_visits: bool = True, skip: tuple[str, ...] = (),
             pause: float = 0.0) -> tuple[dict, dict]:
    """One pass of the script on a fresh server and browser context; returns (rows by action, server info)."""
    with serve(db, log) as (url, pid, started):
        ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        ctx.add_init_script(_INIT)
        page = ctx.new_page()
        page.set_default_timeout(20_000)          # finding and clicking a control; waits have their own
        b = Bench(page, pid, log, pause)
        try:
            def open_app(pg):
                pg.goto(url)
                pg.locator('[data-testid="stApp"]').wait_for(timeout=TIMEOUT_MS)
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            open_app(page)
            page.wait_for_function("() => window.__bench && window.__bench.runs > 0 && window.__benchIdle()",
                                   polling=25, timeout=TIMEOUT_MS)
            b._record("open the app (first page)", wall_s=round(time.perf_counter() - t0, 3),
                      cpu_s=round(cpu_seconds(pid) - c0, 3), load1=round(os.getloadavg()[0], 2))
            log(f"  open the app: {b.rows['open the app (first page)']['wall_s'][-1]:.2f}s")
            nav = _nav_links(page)
            if not nav:
                b._record("visit pages", note="skipped: no navigation links (a warehouse without data?)")
                return b.rows, {"server_start_s": round(started, 2), **memory_mb(pid)}
            for title, _ in nav[1:] + nav[:1]:              # every page once, the first one last
                if title in skip:
                    b._record(f"visit {title}", note="skipped: --skip-page")
                    continue
                b.act(f"visit {title}", _visit(title))
                b.act(f"filter change on {title}", lambda pg: toggle_multiselect(pg, _first_widget(
                    _sidebar(pg), "stMultiSelect", ["Model groups", "Models"])[0]))
            if second_visits:
                for title, _ in nav[1:] + nav[:1]:          # from the first page, which is open now
                    if title in skip:
                        continue
                    b.act(f"second visit {title}", _visit(title))
            ladder = _find_page(nav, "ladder", ("Ladder", "The ladder"))
            if ladder is None:
                for n in ("tier filter", "category filter", "category filter cleared", "tier filter cleared",
                          "overlay toggle (Figure 1)", "PNG download", "tab change"):
                    b._record(n, note="skipped: not on this page (no Ladder page)")
            else:
                b.act(f"visit {ladder} (again)", _visit(ladder))
                tiers = (lambda pg: toggle_multiselect(pg, _widget(_sidebar(pg), "stMultiSelect", "Tiers"), "Hard"))
                cats = (lambda pg: toggle_multiselect(pg, _widget(_sidebar(pg), "stMultiSelect", "Categories")))
                b.act("tier filter", tiers)
                b.act("category filter", cats)
                b.act("category filter cleared", cats)       # the pages after see every question again
                b.act("tier filter cleared", tiers)
                b.act("overlay toggle (Figure 1)", _overlay_toggle)
                try:
                    png = _png_button(page)
                    b.act("PNG download", lambda pg: (png.click, None), download=True)
                except Skip as why:
                    b._record("PNG download", note=f"skipped: {why}")
                b.act("tab change", _second_tab)
            traj = _find_page(nav, "trajectories", ("Trajectories",))
            names = ("question change", "open a trajectory", "next page of steps", "jump to a marked step",
                     "search")
            if traj is None:
                for n in names:
                    b._record(n, note="skipped: not on this page (no Trajectories page)")
            else:
                b.act(f"visit {traj} (again)", _visit(traj))
                b.act("question change", lambda pg: pick_option(pg, _first_widget(
                    _main(pg), "stSelectbox", ["Question"], exact=False)[0], 1))
                b.act("open a trajectory", lambda pg: pick_option(pg, _first_widget(
                    _main(pg), "stSelectbox", ["Open a trajectory", "Trajectory"], exact=False)[0], 1))
                b.act("next page of steps", _next_page)
                b.act("jump to a marked step", lambda pg: pick_option(pg, _first_widget(
                    _main(pg), "stSelectbox", ["Jump to a marked step", "Jump to"], exact=False)[0], 1))
                b.act("search", _search)
            info = {"server_start_s": round(started, 2), **memory_mb(pid)}
        finally:
            ctx.close()
    return b.rows, info


def _overlay_toggle(pg):
    scope = _main(pg)
    box = scope.locator('[data-testid="stCheckbox"]').filter(has_text=re.compile("Figure 1|paper"))
    if box.count() == 0:
        raise Skip("not on this page (no Figure-1 overlay toggle)")
    return box.first.locator("label").first.click, None


def _second_tab(pg):
    """The action: open the page's second tab (tabs are lazy, app_pages.common.tabs: opening one reruns the page)."""
    tabs = _main(pg).get_by_role("tab")
    if tabs.count() < 2:
        raise Skip("not on this page (no tabs)")
    return tabs.nth(1).click, tabs.nth(1).inner_text().strip()


def _png_button(pg):
    """The first chart's PNG download button, opening its "Download" menu (a popover) when it has one:
    opening the menu starts no script run and is not timed."""
    btn = pg.locator('[data-testid="stDownloadButton"]').get_by_role("button", name="PNG", exact=True)
    if btn.count() == 0 or not btn.first.is_visible():
        menu = _main(pg).locator('[data-testid="stPopover"]').filter(has_text="Download")
        if menu.count() == 0:
            raise Skip("not on this page (no PNG download button or Download menu)")
        menu.first.get_by_role("button").first.click()
        btn = pg.locator('[data-testid="stDownloadButton"]').get_by_role("button", name="PNG", exact=True)
        try:
            btn.first.wait_for(state="visible", timeout=10_000)
        except Exception as exc:    # noqa: BLE001
            raise Skip("not on this page (the Download menu holds no PNG button)") from exc
    return btn.first


def _next_page(pg):
    box, _ = _first_widget(_main(pg), "stNumberInput", ["Page"], exact=False)
    up = box.locator('[data-testid="stNumberInputStepUp"]')
    if up.count() == 0:
        raise Skip("no step-up button on the pager")
    return up.first.click, None


def _search(pg):
    box, _ = _first_widget(_main(pg), "stTextInput", ["Text to find", "Search"], exact=False)
    field = box.locator("input").first
    field.fill(SEARCH_TEXT)
    return (lambda: field.press("Enter")), f"{SEARCH_TEXT!r}"


# --- the report -----------------------------------------------------------------------------------

def summarize(passes: list[dict]) -> list[dict]:
    """Merge the passes' rows (in first-seen order): median and max of wall and server CPU time."""
    merged: dict[str, dict] = {}
    for rows in passes:
        for name, r in rows.items():
            m = merged.setdefault(name, {"action": name, "wall_s": [], "cpu_s": [], "load1": [], "notes": []})
            for k in ("wall_s", "cpu_s", "load1"):
                m[k] += r[k]
            m["notes"] += [n for n in r["notes"] if n not in m["notes"]]
    out = []
    for m in merged.values():
        w, c = m["wall_s"], m["cpu_s"]
        out.append({"action": m["action"], "n": len(w),
                    "median_s": round(statistics.median(w), 3) if w else None, "max_s": max(w) if w else None,
                    "cpu_median_s": round(statistics.median(c), 3) if c else None, "cpu_max_s": max(c) if c else None,
                    "load1": m["load1"], "wall_all_s": w, "note": "; ".join(m["notes"])})
    return out


def table(result: dict) -> str:
    head = (f"{result['db']}: {result['repeat']} pass(es), fresh server each"
            + (f", {result['pause_s']} s pause before each action" if result.get("pause_s") else "")
            + f"; {result['cpus']} CPUs; load average "
            f"{result['load_before']} before, {result['load_after']} after; server start "
            f"{result['server_start_s']} s; server RSS {result.get('server_rss_mb')} MB (peak "
            f"{result.get('server_peak_rss_mb')} MB)")
    lines = [head, "", "| action | n | median s | max s | server CPU s (median) | load1 | note |",
             "|---|---|---|---|---|---|---|"]
    for r in result["actions"]:
        f = (lambda v: "—" if v is None else f"{v:.2f}")
        load = "—" if not r["load1"] else f"{min(r['load1']):.1f}–{max(r['load1']):.1f}"
        lines.append(f"| {r['action']} | {r['n']} | {f(r['median_s'])} | {f(r['max_s'])} | {f(r['cpu_median_s'])} "
                     f"| {load} | {r['note']} |")
    return "\n".join(lines)


def run(db: Path, repeat: int = 3, second_visits: bool = True, log=lambda m: None, skip: tuple[str, ...] = (),
        pause: float = 0.0) -> dict:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} missing: `make system` installs Debian's chromium")
    load_before = [round(x, 2) for x in os.getloadavg()]
    passes, infos = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for i in range(repeat):
                log(f"pass {i + 1}/{repeat}")
                rows, info = run_once(db, browser, log, second_visits, skip, pause)
                passes.append(rows)
                infos.append(info)
        finally:
            browser.close()
    return {"db": str(db), "repeat": repeat, "pause_s": pause, "cpus": os.cpu_count(), "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "server_start_s": statistics.median(i["server_start_s"] for i in infos),
            "server_rss_mb": max(i.get("rss_mb", 0) for i in infos),
            "server_peak_rss_mb": max(i.get("peak_rss_mb", 0) for i in infos),
            "actions": summarize(passes)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path, help="the warehouse (a .duckdb file or a Parquet folder)")
    ap.add_argument("--repeat", type=int, default=3, help="passes, each on a fresh server (default 3)")
    ap.add_argument("--no-second-visits", action="store_true", help="skip the second visit to every page")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--skip-page", action="append", default=[], metavar="TITLE",
                    help="do not visit this page (one that takes minutes at this scale); repeatable")
    ap.add_argument("--pause", type=float, default=0.0, metavar="S",
                    help="seconds a user reads the page before each action (not timed; default 0: back to back). "
                         "The app warms what later pages need in the background: with 0 that work lands on the "
                         "next actions' server CPU, as it would for a user who clicks at once")
    args = ap.parse_args(argv)
    if not args.db.exists():
        print(f"error: {args.db}: no such warehouse", file=sys.stderr)
        return 2
    res = run(args.db.resolve(), args.repeat, not args.no_second_visits,
              log=lambda m: print(m, file=sys.stderr, flush=True), skip=tuple(args.skip_page), pause=args.pause)
    print(json.dumps(res) if args.json else table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
