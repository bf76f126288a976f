"""The warehouse as a Parquet folder: export, open, query and import times, and sizes.

    .venv/bin/python bench/bench_parquet.py [--db PATH] [--repeat 3]
        (default: build the demo warehouse in a temp dir)

Prints: the file's size; for each partitioning (none; benchmark,model) the export time, the
folder's size and file count, the time to open the folder (first: manifest + views; then: the
manifest and a cursor on the views, what the app pays per page run), a few page queries
on the file and on the folder (best of --repeat), and the import of the folder into a new file
(first time, and again: nothing new).
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


def _size(p: Path) -> tuple[int, int]:
    files = [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else [p]
    return sum(f.stat().st_size for f in files), len(files)


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="warehouse file (default: build the demo warehouse into a temp dir)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    if args.db:
        path = Path(args.db)
    else:
        from pipeline.ingest import demo

        path = tmp / "demo.duckdb"
        t = time.perf_counter()
        demo.build(path, None, workers=1)
        print(f"demo warehouse built in {time.perf_counter() - t:.1f}s")

    from charts import pages
    from warehouse import db, lake, lake_import, search
    from warehouse.filters import Selection

    with db.reader(path) as con:
        n = con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0]
        bench = con.execute("SELECT benchmark FROM runs GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    size, _ = _size(path)
    print(f"file {path}: {size / 1e6:.1f} MB, {n} trajectories; queries on benchmark {bench!r}; "
          f"{os.cpu_count()} CPUs")
    sel = Selection(bench)
    queries = {"ladder_report": lambda c: pages.ladder_report(c, sel),
               "coverage_report": lambda c: pages.coverage_report(c, sel),
               "search 'Wait'": lambda c: search.search(c, sel, "Wait"),
               "search 'answer is'": lambda c: search.search(c, sel, "answer is")}
    with db.reader(path) as con:
        file_ms = {k: 1000 * _best(lambda q=q: q(con), args.repeat) for k, q in queries.items()}
    for part in ("", "benchmark,model"):
        out = tmp / f"lake-{part.replace(',', '-') or 'whole'}"
        t = time.perf_counter()
        with db.reader(path) as con:
            lake.export(con, out, lake.parse_partition(part))
        export_s = time.perf_counter() - t
        fsize, nfiles = _size(out)
        t = time.perf_counter()
        lake.open_lake(out, db.SCHEMA_VERSION).close()
        first_ms = 1000 * (time.perf_counter() - t)
        open_ms = 1000 * _best(lambda out=out: lake.open_lake(out, db.SCHEMA_VERSION).close(), args.repeat)
        print(f"\n--partition {part or '(none)'}: export {export_s:.2f}s, {fsize / 1e6:.1f} MB in {nfiles} files, "
              f"open {first_ms:.0f} ms (views built), then {open_ms:.1f} ms (a cursor on them)")
        with db.reader(out) as con:
            for k, q in queries.items():
                ms = 1000 * _best(lambda q=q: q(con), args.repeat)
                print(f"  {k:20s} file {file_ms[k]:8.1f} ms   folder {ms:8.1f} ms")
        target = tmp / f"import-{out.name}.duckdb"
        t = time.perf_counter()
        res = lake_import.merge(out, target)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = lake_import.merge(out, target)
        second = time.perf_counter() - t
        with db.reader(target) as con:
            got = con.execute("SELECT count(*) FROM trajectories").fetchall()[0][0]
        print(f"  import into a new file: {first:.2f}s ({res.rows_new} rows, {got} trajectories); "
              f"again: {second:.2f}s ({again.rows_new} rows)")


if __name__ == "__main__":
    main()
