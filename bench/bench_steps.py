"""Segmentation speed on the real ~40k-char AIME trajectories in ../shared/data/traces.

    .venv/bin/python bench/bench_steps.py
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.steps import split_steps  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "traces" / "skythought-aime24"


def main() -> None:
    texts = [c for f in sorted(ROOT.glob("*.jsonl")) for line in open(f, encoding="utf-8")
             for c in json.loads(line)["code"]]
    t0 = time.perf_counter()
    steps = [split_steps(t) for t in texts]
    dt = time.perf_counter() - t0
    n_steps = sum(map(len, steps))
    print(f"trajectories: {len(texts)}  mean chars: {sum(map(len, texts)) / len(texts):,.0f}  "
          f"mean steps: {n_steps / len(texts):.1f}")
    print(f"segmentation: {len(texts) / dt:,.0f} traj/s on one core")
    kinds: dict[str, int] = {}
    for ss in steps:
        for s in ss:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
    print("kinds:", dict(sorted(kinds.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
