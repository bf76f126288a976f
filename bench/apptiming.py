"""Time every page of the app with Streamlit AppTest on $LADDER_DB; print JSON (run in its own process
so that its peak memory is the app's). `python bench/apptiming.py [PAGE ...]` times only those pages.

A page's first render is measured as a served app's first session sees it: Streamlit's runtime
already started (``_start_runtime``, reported as ``streamlit_start_s``), our modules imported by the
page itself (the first page pays for what it imports first, e.g. scipy through charts.pages)."""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "ladder", "coverage", "failures", "scaling", "trajectories", "step_errors"]


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux carries the parent's peak across the
    fork + exec that started us, so a parent that had just imported 57,600 trajectories showed."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _errors(at) -> list[str]:
    """Exceptions, and errors the page boundary caught (shown as a short message)."""
    from app_pages.common import FAILED

    return [str(e.value) for e in at.exception] + [e.value for e in at.error if FAILED in e.value]


_COMPONENTS = None


def _start_runtime() -> float:
    """Start Streamlit's runtime once before timing pages. A served app does this at server start
    (``streamlit run``), before any session: it reads every installed package's metadata looking for
    components (~0.5-1.5 s here). AppTest does it on the first run of every AppTest, so it landed in
    the Overview's "first render" (measured 4.3 s at paper scale). Each page's AppTest is given the
    components found here (``_app``), as a server's sessions share its runtime."""
    global _COMPONENTS
    t0 = time.perf_counter()
    at = AppTest.from_string("import streamlit as st\nst.write('warm')", default_timeout=300)
    at.run()
    _COMPONENTS = at._bidi_component_manager      # private: what AppTest.run() keeps per instance
    return round(time.perf_counter() - t0, 3)


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at._bidi_component_manager = _COMPONENTS
    return at


def main(pages: list[str] | None = None) -> int:
    # CPU seconds of this process too: on a shared, busy machine wall time varies 2x between runs
    out = {"first_render_s": {}, "first_render_cpu_s": {}, "filter_change_s": {}, "errors": {}}
    out["streamlit_start_s"] = _start_runtime()
    for name in pages or PAGES:
        at = _app()
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()  # the default page (overview) with the sidebar: a first render too
        if name != "overview":
            t0, c0 = time.perf_counter(), time.process_time()
            at.switch_page(f"app_pages/{name}.py").run()
        out["first_render_s"][name] = round(time.perf_counter() - t0, 3)
        out["first_render_cpu_s"][name] = round(time.process_time() - c0, 3)
        if _errors(at):
            out["errors"][name] = _errors(at)
            continue
        tiers = at.multiselect(key="f_tiers")
        opts = [o for o in tiers.options if o in ("Hard", "Exh")] or list(tiers.options)[:1]
        t0 = time.perf_counter()
        tiers.set_value(opts).run()
        out["filter_change_s"][name] = round(time.perf_counter() - t0, 3)
        if _errors(at):
            out["errors"][name] = _errors(at)
    out["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))       # optional page names: time only these
