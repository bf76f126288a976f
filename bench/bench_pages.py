"""How fast the dashboard is: every page cold (empty cache) and warm, a filter change, and chart export.

    .venv/bin/python bench/bench_pages.py [--db PATH]     (default: build the demo warehouse in a temp dir)

Prints seconds per page (Streamlit AppTest, in-process: the server's own render time, no browser),
and the Kaleido export times (first image starts the one warm Chromium).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAGES = ["overview", "ladder", "coverage", "failures", "scaling", "trajectories", "step_errors"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="warehouse to use (default: build the demo warehouse into a temp dir)")
    args = ap.parse_args()
    if args.db:
        path = Path(args.db)
    else:
        from pipeline.ingest import demo

        path = Path(tempfile.mkdtemp()) / "demo.duckdb"
        t = time.perf_counter()
        demo.build(path, None, workers=1)
        print(f"demo warehouse built in {time.perf_counter() - t:.1f}s")
    os.environ["LADDER_DB"] = str(path)

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.run()
    print(f"{'page':<14}{'cold s':>8}{'warm s':>8}{'charts':>8}")
    for p in PAGES:
        times = []
        for _ in range(2):
            t = time.perf_counter()
            at.switch_page(f"app_pages/{p}.py").run()
            times.append(time.perf_counter() - t)
            assert not at.exception, (p, [e.value for e in at.exception])
        print(f"{p:<14}{times[0]:>8.2f}{times[1]:>8.2f}{len(at.get('plotly_chart')):>8}")
    at.switch_page("app_pages/ladder.py").run()
    for tiers in (["Hard", "Exh"], ["Easy"], []):
        t = time.perf_counter()
        at.multiselect(key="f_tiers").set_value(tiers).run()
        print(f"ladder, filter tiers={tiers or 'all'}: {time.perf_counter() - t:.2f}s")

    import charts
    from charts import export
    from analysis import metrics
    from warehouse import db, frames
    from warehouse.filters import Selection

    with db.reader(path) as con:
        sel = Selection("aime24")
        acc = metrics.question_accuracy(frames.per_question(con, sel), frames.reference_values(con, sel))
        fig = charts.ladder_figure(acc, series="key")
    for label, fmt in (("png (starts Chromium)", "png"), ("png", "png"), ("svg", "svg"), ("pdf", "pdf"),
                       ("html", "html")):
        t = time.perf_counter()
        n = len(export.figure_bytes(fig, fmt))
        print(f"export ladder {label:<22}{time.perf_counter() - t:>6.2f}s {n / 1024:>8.0f} KiB")
    t = time.perf_counter()
    for _ in range(5):
        export.figure_bytes(fig, "png")
    print(f"export ladder png, mean of 5 warm: {(time.perf_counter() - t) / 5:.2f}s")
    export.stop_server()


if __name__ == "__main__":
    main()
