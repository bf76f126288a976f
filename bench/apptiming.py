"""Time every page of the app with Streamlit AppTest on $LADDER_DB; print JSON (run in its own process
so that its peak memory is the app's)."""
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


def main() -> int:
    out = {"first_render_s": {}, "filter_change_s": {}, "errors": {}}
    for name in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        t0 = time.perf_counter()
        at.run()  # the default page (overview) with the sidebar: a first render too
        if name != "overview":
            t0 = time.perf_counter()
            at.switch_page(f"app_pages/{name}.py").run()
        out["first_render_s"][name] = round(time.perf_counter() - t0, 3)
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
    sys.exit(main())
