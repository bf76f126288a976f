"""Parse rate of the other harnesses' formats (issue 16): the real MATH-500 traces rewritten as an Inspect AI
``.eval`` log, an hf parquet and a lighteval details parquet (tests/import_fixtures.py), parsed only
(no grading, no warehouse). Also the two ways of reading an ``.eval`` log's samples with inspect_ai.

    .venv/bin/python bench/bench_import_formats.py [--data-dir D] [--n 2000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from import_fixtures import write_hf_per_generation, write_inspect_log, write_lighteval_details  # noqa: E402
from pipeline.ingest import benchmarks  # noqa: E402
from pipeline.ingest.importers import IMPORTERS  # noqa: E402
from pipeline.ingest.importers.base import ImportContext, sha256_file  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir")
    ap.add_argument("--n", type=int, default=2000, help="responses (the 5 MATH-500 trace files hold 2,500)")
    args = ap.parse_args()
    root = benchmarks.data_dir(args.data_dir)
    rows = [json.loads(line) for f in sorted((root / "traces/skythought-math500").glob("*.jsonl"))
            for line in open(f, encoding="utf-8")][:args.n]
    import datasets  # noqa: F401  (imported before timing: ~2 s, once per process)
    import inspect_ai.log as ilog
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        ids = list(range(len(rows)))            # one sample per response: distinct questions
        for r, i in zip(rows, ids):             # (the 5 models answer the same 500: tag each copy)
            r["question"] = f"[{i}] {r['question']}"
        files = {"inspect": write_inspect_log(d / "m.eval", rows, ids, model="m", task="math500"),
                 "hf": write_hf_per_generation(d / "m.parquet", rows, model="m"),
                 "lighteval": write_lighteval_details(d / "details_m_2025-01-01T00-00-00.000000.parquet", rows)}
        for fmt, f in files.items():
            t = time.perf_counter()
            ctx = ImportContext(path=f, benchmark="bench", fmt=fmt, sha256=sha256_file(f), index=None)
            IMPORTERS.get(fmt).parse(f, ctx)
            dt = time.perf_counter() - t
            print(f"{fmt:10s} {f.stat().st_size / 1e6:6.1f} MB  {len(ctx.trajectories):5d} trajectories  "
                  f"{dt:6.2f} s  {len(ctx.trajectories) / dt:7.0f}/s")
        f = str(files["inspect"])
        t = time.perf_counter()
        n = sum(1 for _ in ilog.read_eval_log_samples(f, all_samples_required=False, resolve_attachments=True,
                                                      exclude_fields={"events", "store", "timelines"}))
        print(f"inspect_ai read_eval_log_samples (one archive open per sample): {n} samples "
              f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
