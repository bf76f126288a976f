"""Import rate of the real traces (trajectories/s, MB/s) and the demo build time.

    .venv/bin/python bench/bench_import.py [--data-dir D]

Each figure is measured on a fresh warehouse in a temporary folder; includes postprocess.derive()
(grading/segmenting/annotation) as it is wired at the time of the run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import benchmarks, demo  # noqa: E402
from pipeline.importing import ImportSession  # noqa: E402

SETS = [("skythought-aime24", "aime24"), ("skythought-math500", "math500"),
        ("qwen25math-maj8/math_cot_100.jsonl", "math_cot_100")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir")
    args = ap.parse_args()
    root = benchmarks.data_dir(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        for rel, bench in SETS:
            path = root / "traces" / rel
            size = sum(f.stat().st_size for f in ([path] if path.is_file() else path.rglob("*.jsonl")))
            s = ImportSession(Path(tmp) / f"{bench}.duckdb", root)
            s._load_index(bench)          # question table loading is not part of the rate
            t0 = time.perf_counter()
            reps = s.import_path(path, "qwen-eval", bench)
            dt = time.perf_counter() - t0
            n = sum(r.new for r in reps)
            print(f"import {rel}: {len(reps)} files, {n} trajectories, {size / 1e6:.1f} MB in {dt:.2f}s "
                  f"= {n / dt:.0f} trajectories/s, {size / 1e6 / dt:.1f} MB/s")
        rep = demo.build(Path(tmp) / "demo.duckdb", root)
        print(f"demo build: {len(rep.files)} files, {rep.trajectories} trajectories in {rep.seconds:.1f}s")


if __name__ == "__main__":
    main()
