"""Segmentation speed on the real ~40k-char AIME trajectories in ../shared/data/traces.

    .venv/bin/python bench/bench_steps.py
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from derivation.steps import segment, split_steps  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "traces" / "skythought-aime24"


def main() -> None:
    texts = [c for f in sorted(ROOT.glob("*.jsonl")) for line in open(f, encoding="utf-8")
             for c in json.loads(line)["code"]]
    rates = {}
    for name, fn in (("segment", segment), ("split_steps", split_steps)):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for t in texts:
                fn(t)
            times.append(time.perf_counter() - t0)
        rates[name] = len(texts) / statistics.median(times)
    steps = [segment(t) for t in texts]
    n_steps = sum(len(s.starts) for s in steps)
    print(f"trajectories: {len(texts)}  mean chars: {sum(map(len, texts)) / len(texts):,.0f}  "
          f"mean steps: {n_steps / len(texts):.1f}")
    print(f"segmentation (median of 5 passes, one core): segment() {rates['segment']:,.0f} traj/s "
          f"(the pipeline's path: offsets as columns); split_steps() {rates['split_steps']:,.0f} traj/s "
          f"(the same plus one Span tuple per step)")
    kinds: dict[str, int] = {}
    for s in steps:
        for k in s.kinds:
            kinds[k] = kinds.get(k, 0) + 1
    print("kinds:", dict(sorted(kinds.items(), key=lambda kv: -kv[1])))

if __name__ == "__main__":
    main()
