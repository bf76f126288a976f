"""Import rate of the real traces (trajectories/s, MB/s) and the demo build time.

    .venv/bin/python bench/bench_import.py [--data-dir D] [--timeline-only | --timeline-cost | --pool-start]

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

from pipeline.ingest import benchmarks, demo  # noqa: E402
from pipeline.ingest.session import ImportSession  # noqa: E402

SETS = [("skythought-aime24", "aime24"), ("skythought-math500", "math500"),
        ("qwen25math-maj8/math_cot_100.jsonl", "math_cot_100")]


def timeline_share(root: Path, limit: int = 240) -> None:
    """CPU of the answer timeline (derivation/answer_timeline.py) against the rest of the derivation (segment,
    grade, rules) on the same real trajectories, in one process: what the timeline adds to an import."""
    import json

    from derivation import grade, steps
    from derivation import answer_timeline
    from derivation.annotators.base import AnnotateInput
    from derivation.annotators.rules import RulesAnnotator

    rows = []
    for f in sorted((root / "traces" / "skythought-aime24").glob("*.jsonl")):
        rows += [(r["code"][0], str(r["gt"])) for r in map(json.loads, open(f, encoding="utf-8"))]
    rows = rows[:limit]
    grade.warm_worker()
    rules = RulesAnnotator()
    base = tl = 0.0
    for resp, gold in rows:
        t0 = time.perf_counter()
        seg = steps.segment(resp)
        v = grade.grade_response(resp, gold, "integer")
        spans = list(zip(seg.starts, seg.ends))
        rules.annotate_one(AnnotateInput(0, "", gold, resp, [resp[a:b].strip() for a, b in spans], spans, seg.kinds,
                                         None, v.is_correct, v.extracted, "integer"))
        t1 = time.perf_counter()
        answer_timeline.rows(0, answer_timeline.timeline(resp, spans, gold, "integer", is_correct=v.is_correct))
        t2 = time.perf_counter()
        base, tl = base + t1 - t0, tl + t2 - t1
    n = len(rows)
    print(f"derive on {n} AIME trajectories: segment+grade+rules {1000 * base / n:.2f} ms/trajectory, "
          f"answer timeline {1000 * tl / n:.2f} ms/trajectory (+{100 * tl / base:.0f}% of the derivation)")


def _cost_child(on: bool, root: Path) -> None:
    """One measurement in a fresh process (no cache warmed by an earlier run): CPU-ms per trajectory."""
    import json
    import resource

    from derivation import grade
    from pipeline.derive import postprocess

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    postprocess.DERIVE_TIMELINE = on
    grade.warm_worker()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rel, bench in SETS[:2]:
            s = ImportSession(Path(tmp) / f"{bench}.duckdb", root)
            s._load_index(bench)
            c0 = cpu()
            reps = s.import_path(root / "traces" / rel, "qwen-eval", bench, workers=1)
            out[rel] = 1000 * (cpu() - c0) / max(1, sum(r.new for r in reps))
    print(json.dumps(out))


def timeline_cost(root: Path, rounds: int = 4) -> None:
    """CPU time per imported trajectory with and without the answer timeline, alternating, each in a
    fresh process deriving without the pool (so that every thread's CPU time is counted, DuckDB's
    writes too): wall-clock rates vary by a third between identical runs on a busy machine."""
    import json
    import subprocess

    got: dict[tuple[str, bool], list[float]] = {}
    for _ in range(rounds):
        for on in (False, True):
            res = subprocess.run([sys.executable, __file__, "--data-dir", str(root), "--cost-child", str(int(on))],
                                 capture_output=True, text=True, check=True)
            for rel, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
                got.setdefault((rel, on), []).append(v)
    for rel, _ in SETS[:2]:
        off, on = sorted(got[(rel, False)]), sorted(got[(rel, True)])
        m_off, m_on = (off[(len(off) - 1) // 2] + off[len(off) // 2]) / 2, (on[(len(on) - 1) // 2] + on[len(on) // 2]) / 2
        print(f"import {rel}: {m_off:.2f} CPU-ms/trajectory without the timeline, {m_on:.2f} with "
              f"(medians of {rounds} fresh processes each): throughput -{100 * (1 - m_off / m_on):.1f}%")


def _pool_child(preload: bool) -> None:
    """Seconds from nothing to a pool whose every worker has derived an (empty) chunk, in this fresh process."""
    from derivation import grade, pool
    from pipeline.derive import postprocess

    if not preload:
        pool.PRELOAD = ()
    t0 = time.perf_counter()
    ex = pool.worker_pool(2, grade.warm_worker)
    list(ex.map(postprocess._derive_packed, [[], []]))
    print(f"{time.perf_counter() - t0:.3f}")


def pool_start(rounds: int = 3) -> None:
    """The worker pool's start-up (forkserver, imports, math-verify warm-up) with the forkserver
    preloading the workers' modules (derivation/pool.py PRELOAD) and without, alternating fresh processes:
    a fixed cost of every import, large next to a small one (960 trajectories derive in ~1 s on 2 cores)."""
    import subprocess

    got: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for on in (False, True):
            res = subprocess.run([sys.executable, __file__, "--pool-child", str(int(on))],
                                 capture_output=True, text=True, check=True)
            got[on].append(float(res.stdout.strip().splitlines()[-1]))
    for on in (False, True):
        v = sorted(got[on])
        print(f"pool start-up, {'with' if on else 'without'} the forkserver preload: median {v[len(v) // 2]:.2f}s "
              f"(min {v[0]:.2f}s, {rounds} fresh processes)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir")
    ap.add_argument("--timeline-only", action="store_true", help="only the timeline's share of the derivation")
    ap.add_argument("--timeline-cost", action="store_true",
                    help="only the import's CPU time per trajectory with and without the timeline")
    ap.add_argument("--cost-child", choices=("0", "1"), help=argparse.SUPPRESS)
    ap.add_argument("--pool-start", action="store_true", help="only the worker pool's start-up time")
    ap.add_argument("--pool-child", choices=("0", "1"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pool_child is not None:
        _pool_child(args.pool_child == "1")
        return
    if args.pool_start:
        pool_start()
        return
    root = benchmarks.data_dir(args.data_dir)
    if args.cost_child is not None:
        _cost_child(args.cost_child == "1", root)
        return
    if args.timeline_cost:
        timeline_cost(root)
        return
    timeline_share(root)
    if args.timeline_only:
        return
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
