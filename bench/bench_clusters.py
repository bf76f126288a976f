"""Failure modes (issue 25): embedding time per trajectory and clustering time, at demo scale; prints JSON.

    .venv/bin/python bench/bench_clusters.py [--db warehouse/demo.duckdb] [--benchmark aime24] [--n 10000]

Works on a copy of ``--db`` (the demo warehouse by default: real traces, `python -m pipeline demo`):
``embed_warehouse`` over the benchmark (every trajectory on a question with a wrong answer: ms per trajectory,
the model load apart), then ``cluster_warehouse`` (k by silhouette over 2..12, 4 starts each, naming, storing)
over its wrong trajectories. With ``--n``, also ``embed.cluster`` alone on N vectors resampled from the real
wrong ones (each plus a little noise: a stand-in for N wrong trajectories; the issue's target is embedding +
clustering 10,000 long-CoT wrong trajectories in < 60 s on 2 cores). Then the time of one import into the
clustered benchmark's refresh (``refresh_clusters`` when nothing is new: the check every import pays).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from derivation import embed  # noqa: E402
from pipeline.derive.annotate import cluster_warehouse, embed_warehouse, refresh_clusters  # noqa: E402
from warehouse import clusters, db  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(db.DEFAULT_DB))
    ap.add_argument("--benchmark", default="aime24")
    ap.add_argument("--n", type=int, default=0, help="also cluster N resampled vectors (e.g. 10000)")
    args = ap.parse_args()
    out: dict = {"cpus": os.cpu_count(), "benchmark": args.benchmark}
    with tempfile.TemporaryDirectory(prefix="bench-clusters-") as tmp:
        path = Path(tmp) / "w.duckdb"
        shutil.copy(args.db, path)
        with db.writer(path) as con:          # start from no vectors (a copy of a clustered warehouse has some)
            con.execute("DELETE FROM trajectory_embeddings")
        t = time.perf_counter()
        embed._model()
        out["model_load_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        e = embed_warehouse(path, args.benchmark)
        s = time.perf_counter() - t
        out.update(embedded=e["embedded"], embed_s=round(s, 2),
                   embed_ms_per_trajectory=round(1000 * s / max(e["embedded"], 1), 2))
        t = time.perf_counter()
        r = cluster_warehouse(path, args.benchmark)[0]
        out.update(wrong=r["n_trajectories"], k=r["k"], silhouette=r.get("silhouette"),
                   cluster_s=round(time.perf_counter() - t, 2))
        t = time.perf_counter()
        assert refresh_clusters(path, [args.benchmark]) == []
        out["refresh_nothing_new_s"] = round(time.perf_counter() - t, 2)
        if args.n:
            with db.reader(path) as con:
                v = clusters.vectors(con, args.benchmark, embed.version())
            X = np.asarray(v.filter(~v["is_correct"])["vector"].to_list(), dtype=np.float64)
            rng = np.random.default_rng(0)
            Xn = embed._unit(X[rng.integers(len(X), size=args.n)] + 0.02 * rng.normal(size=(args.n, X.shape[1])))
            t = time.perf_counter()
            c = embed.cluster(Xn)
            out[f"cluster_{args.n}_s"] = round(time.perf_counter() - t, 2)
            out[f"cluster_{args.n}_k"] = c.k
            out[f"embed_{args.n}_s_estimate"] = round(args.n * out["embed_ms_per_trajectory"] / 1000, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
