"""Grader agreement with the harness verdicts in ../shared/data/traces, and grading speed.

    .venv/bin/python bench/bench_grade.py [--data-dir DIR] [--workers N] [--quiet]
Prints every disagreement (model, question, gold, harness pred, our extraction) and the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from derivation import grade  # noqa: E402


def load(root: Path):
    """(model, idx, gold, answer_type, response, harness pred, harness score) per sample.

    The gold comes from the question table (the traces' ``gt`` is the harness's normalised copy,
    which mangles some answers, e.g. '(a+5)(b+2)' -> '(+5)(b+2)'); matched on problem text.
    """
    from warehouse.records import normalize_problem

    gold = {}
    for line in open(root / "math500" / "test.jsonl", encoding="utf-8"):
        q = json.loads(line)
        gold[normalize_problem(q["problem"])] = q["answer"]
    rows = []
    for f in sorted((root / "traces").glob("*/*.jsonl")):
        atype = "integer" if "aime" in f.parent.name else "math"
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            for code, pred, score in zip(r["code"], r["pred"], r["score"]):
                gt = gold.get(normalize_problem(r["question"]), str(r["gt"])) if atype == "math" else str(r["gt"])
                rows.append((f"{f.parent.name}/{f.stem}", str(r.get("idx")), gt, atype, code, pred, score))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    rows = load(Path(a.data_dir))
    items = [(code, gt, atype, None) for _, _, gt, atype, code, _, _ in rows]
    t0 = time.perf_counter()
    verdicts = grade.grade_many(items, workers=a.workers)
    dt = time.perf_counter() - t0
    dis = [(r, v) for r, v in zip(rows, verdicts) if v.is_correct != bool(r[6])]
    if not a.quiet:
        for (model, idx, gt, _, code, pred, score), v in dis:
            print(f"DISAGREE {model} idx={idx} gold={gt!r} harness_pred={pred!r} harness={score} "
                  f"ours={v.extracted!r} ({v.reason}) tail={code[-120:]!r}")
    n = len(rows)
    chars = sum(len(r[4]) for r in rows) / n
    workers = a.workers or os.cpu_count()
    print(f"trajectories: {n}  mean chars: {chars:,.0f}")
    print(f"agreement with harness: {1 - len(dis) / n:.4%} ({len(dis)} disagreements)")
    print(f"throughput: {n / dt:,.0f} traj/s on {workers} workers = {n / dt / workers:,.0f} traj/s per core "
          f"(cold caches, incl. pool start-up)")
    # speed on the ~40k-char AIME responses: one core, then every core (fresh caches each time)
    aime = [it for r, it in zip(rows, items) if r[0].startswith("skythought-aime24")]
    grade.answers_match("1", "\\frac{1}{2}")  # import math-verify/sympy outside the timing
    for w in (1, workers):
        grade.answers_match.cache_clear(); grade._parse.cache_clear()
        t0 = time.perf_counter()
        grade.grade_many(aime, workers=w, min_parallel=1)
        dt = time.perf_counter() - t0
        print(f"AIME responses (n={len(aime)}, mean {sum(len(x[0]) for x in aime) / len(aime):,.0f} chars), "
              f"{w} worker(s): {len(aime) / dt:,.0f} traj/s = {len(aime) / dt / w:,.0f} per core"
              + (" (pool reused from above: its workers' verdict caches are warm)" if w > 1 else " (cold caches)"))


if __name__ == "__main__":
    main()
