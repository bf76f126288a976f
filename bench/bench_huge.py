"""A huge response on the Trajectories page: server time to open it (AppTest, the same script run a
browser triggers) and to turn to its last page of steps, for responses of 1, 5 and 16 MiB (the
import line limit). Prints JSON: size, steps, import seconds, first render, last page.

    python -m bench.bench_huge [--sizes 1,5,16]
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for s in args.sizes.split(","):
            print(json.dumps(one(float(s), Path(d))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
