"""Failure modes (issue 25): embedding time per trajectory and clustering time, at demo scale; prints JSON.

    .venv/bin/python bench/bench_clusters.py [--db warehouse/demo.duckdb] [--benchmark aime24] [--n 10000]

Works on a copy of ``--db`` (the demo warehouse by default: real traces, `python -m pipeline demo`):
``embed_warehouse`` over the benchmark (every trajectory on a question with a wrong answer: ms per trajectory,
the model load apart), then ``cluster_warehouse`` (k by silhouette over 2..10 chosen on a 2,000-point sample,
2 k-means++ starts each, naming, storing) over its wrong trajectories. With ``--n``, also ``embed.cluster``
alone on N vectors resampled from the real wrong ones (each plus a little noise: a stand-in for N wrong
trajectories; the issue's target is embedding + clustering 10,000 long-CoT wrong trajectories in < 60 s on 2
cores), and end to end: the stored view texts of N trajectories resampled from the embedded ones, embedded,
combined and clustered (``e2e_*``). Then the time of one import into the clustered benchmark's refresh
(``refresh_clusters`` when nothing is
new: the check every import pays). ``--quality``: the figures of docs/ANALYSIS.md instead (``quality``).
Each time is given as wall seconds (``*_s``) and this process's CPU seconds (``*_cpu_s``, every thread), with the
1-minute load average: on a shared machine the CPU time is the figure to compare.
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


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def quality(src: str) -> dict:
    """Per benchmark of ``src`` (a copy of it is embedded and clustered): for embed.CENTER off and on, k, the
    silhouette (in the space clustered) and the ARI of the clusters against question_id and model_id."""
    from analysis.failure_modes import adjusted_rand
    from warehouse import lookup
    from warehouse.filters import Selection

    out: dict = {"load_1min": os.getloadavg()[0]}
    keep = embed.CENTER
    with tempfile.TemporaryDirectory(prefix="bench-clusters-") as tmp:
        path = Path(tmp) / "w.duckdb"
        shutil.copy(src, path)
        embed_warehouse(path)
        with db.reader(path) as con:
            names = lookup.benchmark_names(con)
        try:
            for name in names:
                for center in (False, True):
                    embed.CENTER = center
                    r = cluster_warehouse(path, name)[0]
                    if not r["k"]:
                        continue
                    with db.reader(path) as con:
                        a = clusters.assignments(con, Selection(name))
                    out.setdefault(name, {})["centered" if center else "raw"] = {
                        "wrong": r["n_trajectories"], "models": a["model_id"].n_unique(), "k": r["k"],
                        "silhouette": r["silhouette"],
                        "ari_question": round(adjusted_rand(a["cluster_id"], a["question_id"]), 3),
                        "ari_model": round(adjusted_rand(a["cluster_id"], a["model_id"]), 3)}
        finally:
            embed.CENTER = keep
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(db.DEFAULT_DB))
    ap.add_argument("--benchmark", default="aime24")
    ap.add_argument("--n", type=int, default=0, help="also cluster N resampled vectors (e.g. 10000)")
    ap.add_argument("--quality", action="store_true", help="only the figures of docs/ANALYSIS.md: per benchmark, "
                    "k, silhouette and the adjusted Rand index of the clusters against the question and the model, "
                    "with and without each question's mean taken out (embed.CENTER)")
    args = ap.parse_args()
    if args.quality:
        return print(json.dumps(quality(args.db), indent=1))
    out: dict = {"cpus": os.cpu_count(), "benchmark": args.benchmark, "load_1min": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-clusters-") as tmp:
        path = Path(tmp) / "w.duckdb"
        shutil.copy(args.db, path)
        with db.writer(path) as con:          # start from no vectors (a copy of a clustered warehouse has some)
            con.execute("DELETE FROM trajectory_embeddings")
        t = time.perf_counter()
        embed._model()
        out["model_load_s"] = round(time.perf_counter() - t, 2)
        with Timer() as t:
            e = embed_warehouse(path, args.benchmark)
        n = max(e["embedded"], 1)
        out.update(embedded=e["embedded"], embed_s=round(t.wall, 2), embed_cpu_s=round(t.cpu, 2),
                   embed_ms_per_trajectory=round(1000 * t.wall / n, 2),
                   embed_cpu_ms_per_trajectory=round(1000 * t.cpu / n, 2))
        with Timer() as t:
            r = cluster_warehouse(path, args.benchmark)[0]
        out.update(wrong=r["n_trajectories"], k=r["k"], silhouette=r.get("silhouette"),
                   cluster_s=round(t.wall, 2), cluster_cpu_s=round(t.cpu, 2))
        with Timer() as t:
            assert refresh_clusters(path, [args.benchmark]) == []
        out.update(refresh_nothing_new_s=round(t.wall, 2), refresh_nothing_new_cpu_s=round(t.cpu, 2))
        if args.n:
            with db.reader(path) as con:
                v = clusters.vectors(con, args.benchmark, embed.version())
            X = np.asarray(v.filter(~v["is_correct"])["vector"].to_list(), dtype=np.float64)
            rng = np.random.default_rng(0)
            Xn = embed._unit(X[rng.integers(len(X), size=args.n)] + 0.02 * rng.normal(size=(args.n, X.shape[1])))
            with Timer() as t:
                c = embed.cluster(Xn)
            out.update({f"cluster_{args.n}_s": round(t.wall, 2), f"cluster_{args.n}_cpu_s": round(t.cpu, 2),
                        f"cluster_{args.n}_k": c.k,
                        f"embed_{args.n}_s_estimate": round(args.n * out["embed_ms_per_trajectory"] / 1000, 1),
                        f"embed_{args.n}_cpu_s_estimate": round(args.n * out["embed_cpu_ms_per_trajectory"] / 1000, 1)})
            # end to end: the stored view texts of N trajectories resampled from the embedded ones (the long-CoT
            # final steps, first-error step and answer), embedded now, combined and clustered
            with db.reader(path) as con:
                rows = db.query(con, "SELECT trajectory_id, view, text FROM trajectory_embeddings "
                                     "WHERE text IS NOT NULL ORDER BY trajectory_id, view").rows()
            per: dict[int, dict[str, str]] = {}
            for tid, view, text in rows:
                per.setdefault(tid, {})[view] = text
            pool = list(per.values())
            views = [pool[i] for i in rng.integers(len(pool), size=args.n)]
            with Timer() as t:
                vecs = embed.embed_views(views)
                Xe = np.asarray([embed.combine(v) for v in vecs], dtype=np.float64)
                c = embed.cluster(Xe)
            out.update({f"e2e_{args.n}_embed_and_cluster_s": round(t.wall, 2),
                        f"e2e_{args.n}_embed_and_cluster_cpu_s": round(t.cpu, 2), f"e2e_{args.n}_k": c.k,
                        f"e2e_{args.n}_characters_embedded": sum(len(s) for v in views for s in v.values())})
        out["load_1min_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
