"""A huge response on the Trajectories page: server time to open it (AppTest, the same script run a
browser triggers) and to turn to its last page of steps, for responses of 1, 5 and 16 MiB (the
import line limit). Prints JSON: size, steps, import seconds, first render, last page. First, a
200,000-character trajectory with a full answer-timeline strip (target: opens in < 300 ms of server
time): its open times and the time to jump to its last marked step.

    python -m bench.bench_huge [--sizes 1,5,16] [--timeline 200000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARA = "We compute the next term of the sequence and check it against the previous one.\n\n"


def timeline_text(n_chars: int) -> str:
    """A response of about ``n_chars`` that fills the answer-timeline strip: paragraphs, a "Wait" every
    10th, a conclusion every 25th (some stating the gold 204, most not), a boxed answer at the end."""
    out, k, size = [], 0, 0
    while size < n_chars:
        k += 1
        para = (f"Wait, let me check step {k} again.\n\n" if k % 10 == 0 else
                f"So the total is {204 if k % 100 == 0 else k}.\n\n" if k % 25 == 0 else PARA)
        out.append(para)
        size += len(para)
    return "".join(out) + "So the answer is \\boxed{204}."


def timeline_one(n_chars: int, folder: Path) -> dict:
    """A ~``n_chars`` trajectory with a full strip: server time to open it, and to jump to its last
    marked step (the jump selects that step's page and renders its anchor)."""
    from streamlit.testing.v1 import AppTest

    from pipeline import cli
    from warehouse import db

    response = timeline_text(n_chars)
    path, store = folder / f"tl{n_chars}.jsonl", folder / f"tl{n_chars}.duckdb"
    path.write_text(json.dumps({"model": "long", "question_id": "60", "response": response}) + "\n")
    assert cli.main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(store), str(path)]) == 0
    with db.reader(store) as con:
        steps = con.execute("SELECT count(*) FROM steps").fetchall()[0][0]
        answers = con.execute("SELECT count(*) FROM step_answers").fetchall()[0][0]
    os.environ["LADDER_DB"] = str(store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["q"] = "60"
    at.run()
    times = []
    for _ in range(3):                    # the first open warms the caches of the process: report each
        t0 = time.perf_counter()
        at.switch_page("app_pages/trajectories.py").run()
        times.append(round(time.perf_counter() - t0, 3))
        at.switch_page("app_pages/overview.py").run()
    at.switch_page("app_pages/trajectories.py").run()
    jump = next(s for s in at.selectbox if s.label.startswith("Jump to a marked step"))
    t0 = time.perf_counter()
    jump.set_value(jump.options[-1]).run()
    jumped = time.perf_counter() - t0
    return {"chars": len(response), "steps": steps, "step_answers": answers, "marks": len(jump.options) - 1,
            "open_s": times, "jump_to_last_mark_s": round(jumped, 3),
            "errors": [str(e.value) for e in at.exception] + [e.value for e in at.error]}


def one(size_mib: float, folder: Path) -> dict:
    from streamlit.testing.v1 import AppTest

    from pipeline import cli
    from warehouse import db

    # a JSON line must fit the 16 MiB limit: leave room for the other fields
    n = int((size_mib * 2**20 - 2048) // len(json.dumps(PARA)))
    response = PARA * n + "So the answer is \\boxed{204}."
    path, store = folder / f"huge{size_mib}.jsonl", folder / f"huge{size_mib}.duckdb"
    path.write_text(json.dumps({"model": "huge", "question_id": "60", "response": response}) + "\n")
    t0 = time.perf_counter()
    assert cli.main(["import", "--format", "jsonl", "--benchmark", "aime24", "--db", str(store), str(path)]) == 0
    imported = time.perf_counter() - t0
    with db.reader(store) as con:
        steps = con.execute("SELECT count(*) FROM steps").fetchall()[0][0]
    os.environ["LADDER_DB"] = str(store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["q"] = "60"
    at.run()
    t0 = time.perf_counter()
    at.switch_page("app_pages/trajectories.py").run()
    first = time.perf_counter() - t0
    pager = at.number_input[0]
    t0 = time.perf_counter()
    pager.set_value(pager.max).run()
    last = time.perf_counter() - t0
    return {"size_mib": size_mib, "chars": len(response), "steps": steps, "import_s": round(imported, 2),
            "first_render_s": round(first, 3), "last_page_s": round(last, 3),
            "errors": [str(e.value) for e in at.exception] + [e.value for e in at.error]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,5,16", help="response sizes in MiB")
    ap.add_argument("--timeline", default="200000",
                    help="sizes in characters of trajectories with a full answer-timeline strip ('' for none)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for c in filter(None, args.timeline.split(",")):
            print(json.dumps(timeline_one(int(c), Path(d))), flush=True)
        for s in filter(None, args.sizes.split(",")):
            print(json.dumps(one(float(s), Path(d))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
