"""Failure modes (issue 25): honest quality figures of the clusters; prints them (``--json``: one JSON object).

    .venv/bin/python bench/bench_cluster_quality.py --db COPY.duckdb [--processbench PATH] [--boot 5] [--json]

``--db``: a warehouse with stored embeddings (a copy of the demo after ``python -m pipeline annotate --clusters
--db COPY``; this script only reads it). ``--processbench``: ProcessBench's math split (../shared), embedded here
offline with ``derivation.embed``'s public functions: the steps as given, the ``rules`` annotator's first error
as the error view (what an import would store; never the human label), the extracted answer.

Per set of wrong trajectories (each demo benchmark; ProcessBench's items with a labelled error), clustered as
``cluster_warehouse`` does (``embed.cluster``: k by silhouette, seed 0), raw and centred per question
(``embed.center``; ProcessBench has ~1 trajectory per problem, so only raw):
- stability: adjusted Rand index between the clusterings of ``--boot`` bootstrap resamples (each pair on the
  points both drew; k chosen again each time) and between 4 seeds at the chosen k;
- silhouette, beside a null: the same k on the vectors with each coordinate shuffled across trajectories;
- a check against labels nobody tuned to: normalised mutual information of clusters × label, beside the NMI
  of ``--perms`` permutations of the label (p: share of permutations at least as high) and chi-square's p;
  ProcessBench: first error early vs late (labelled step / steps below or above the median), final answer
  right vs wrong, long vs short (steps, the confound), generator; demo: question and model (also as ARI).
Also all trajectories (right and wrong) of each set clustered together: does right vs wrong separate?
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.stats import chi2_contingency  # noqa: E402

from analysis.failure_modes import adjusted_rand  # noqa: E402
from derivation import embed  # noqa: E402
from warehouse import clusters, db, lookup  # noqa: E402
from warehouse.filters import Selection  # noqa: E402

PB = Path(__file__).resolve().parent.parent.parent / "shared/data/step-labels/processbench/math.json"


# --- statistics ------------------------------------------------------------------------------------
def _codes(x) -> np.ndarray:
    return np.unique(np.asarray([str(v) for v in x]), return_inverse=True)[1]


def nmi(a, b) -> float:
    """Normalised mutual information (arithmetic mean of the entropies, as sklearn's default)."""
    a, b = _codes(a), _codes(b)
    t = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(t, (a, b), 1)
    p = t / t.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    ha, hb = -(pa[pa > 0] * np.log(pa[pa > 0])).sum(), -(pb[pb > 0] * np.log(pb[pb > 0])).sum()
    return 0.0 if ha + hb == 0 else float(2 * mi / (ha + hb))


def association(labels, prop, perms: int, seed: int = 0) -> dict:
    """Clusters × a label: NMI, its permutation null (mean, 95th percentile, p) and chi-square's p."""
    labels, prop = np.asarray(labels), np.asarray([str(v) for v in prop])
    obs = nmi(labels, prop)
    rng = np.random.default_rng(seed)
    null = np.array([nmi(labels, rng.permutation(prop)) for _ in range(perms)])
    out = {"nmi": round(obs, 4), "nmi_null_mean": round(float(null.mean()), 4),
           "nmi_null_p95": round(float(np.quantile(null, 0.95)), 4),
           "p_perm": round(float((1 + (null >= obs - 1e-12).sum()) / (1 + perms)), 4),
           "ari": round(adjusted_rand(labels, prop), 4), "n_values": int(len(np.unique(prop)))}
    if out["n_values"] <= 12:
        t = np.zeros((labels.max() + 1, out["n_values"]), dtype=int)
        np.add.at(t, (labels, _codes(prop)), 1)
        t = t[t.sum(1) > 0]
        if t.shape[0] > 1 and t.shape[1] > 1:
            out["p_chi2"] = float(f"{chi2_contingency(t)[1]:.3g}")
            out["table"] = {v: t[:, j].tolist() for j, v in enumerate(np.unique(prop))}
    return out


def bootstrap(X: np.ndarray, boot: int, seed: int = 1) -> dict:
    """ARI between the clusterings (k chosen each time) of ``boot`` bootstrap resamples, on shared points."""
    rng = np.random.default_rng(seed)
    runs, ks = [], []
    for _ in range(boot):
        idx = rng.integers(len(X), size=len(X))
        c = embed.cluster(X[idx])
        runs.append(dict(zip(idx.tolist(), c.labels.tolist())))
        ks.append(c.k)
    aris = []
    for a, b in combinations(runs, 2):
        shared = sorted(set(a) & set(b))
        aris.append(adjusted_rand([a[i] for i in shared], [b[i] for i in shared]))
    return {"ks": ks, "ari_mean": round(float(np.mean(aris)), 3), "ari_min": round(float(np.min(aris)), 3),
            "ari_max": round(float(np.max(aris)), 3)}


def seeds(X: np.ndarray, k: int, n: int = 4) -> float:
    runs = [embed.cluster(X, seed=s, k=k).labels for s in range(n)]
    return round(float(np.mean([adjusted_rand(a, b) for a, b in combinations(runs, 2)])), 3)


def null_silhouette(X: np.ndarray, k: int, seed: int = 0) -> float:
    """The silhouette of k-means at ``k`` on ``X`` with each coordinate shuffled across rows (no structure left
    beyond the marginals)."""
    rng = np.random.default_rng(seed)
    Xn = embed._unit(np.column_stack([rng.permutation(X[:, j]) for j in range(X.shape[1])]))
    return round(embed.cluster(Xn, k=k).silhouette, 4)


def quality(X: np.ndarray, props: dict, args, boot: bool = True, name: str = "") -> dict:
    t, w = time.process_time(), time.perf_counter()
    print(f"clustering {name} ({len(X)} points)", file=sys.stderr, flush=True)
    c = embed.cluster(X)
    sizes = np.bincount(c.labels).tolist()
    out = {"n": len(X), "k": c.k, "sizes": sizes, "silhouette": round(c.silhouette, 4),
           "silhouette_by_k": c.scores, "silhouette_null": null_silhouette(X, c.k)}
    if boot and args.boot > 1:
        out["bootstrap"] = bootstrap(X, args.boot)
        out["seed_ari"] = seeds(X, c.k)
    out["labels"] = {name: association(c.labels, v, args.perms) for name, v in props.items()}
    out["cpu_s"], out["wall_s"] = round(time.process_time() - t, 1), round(time.perf_counter() - w, 1)
    return out


# --- data ------------------------------------------------------------------------------------------
def demo_sets(path) -> dict:
    """Per benchmark with stored vectors: (wrong X, wrong props, all X, all props, question ids, all question ids)."""
    version = embed.version()
    out = {}
    with db.reader(path) as con:
        for b in lookup.benchmark_names(con):
            every = clusters.vectors(con, b, version)
            if every.is_empty():
                continue
            who = clusters.assignments(con, Selection(b))
            model = dict(zip(who["trajectory_id"].to_list(), who["model_id"].to_list()))
            stored = dict(zip(who["trajectory_id"].to_list(), who["cluster_id"].to_list()))
            wrong = every.filter(~every["is_correct"])
            out[b] = {"every": every, "wrong": wrong, "model": model, "stored": stored,
                      "clustering": clusters.clustering(con, b)}
    return out


def processbench_vectors(path) -> tuple[list[dict], np.ndarray]:
    from derivation.annotators import get_annotator
    from pipeline.derive.processbench import load_processbench, processbench_inputs

    items = load_processbench(path)
    inputs = processbench_inputs(items)
    ann = get_annotator("rules")
    try:
        pred = [r.first_error for r in ann.annotate(inputs)]
    finally:
        ann.close()
    views = [embed.views(i.response, i.offsets, p if p is not None and p >= 0 else None, i.extracted_answer)
             for i, p in zip(inputs, pred)]
    per = embed.embed_views(views)
    X = np.array([embed.combine(p) if p else np.zeros(256) for p in per], dtype=np.float64)
    return items, X


# --- report ----------------------------------------------------------------------------------------
def run(args) -> dict:
    t0, w0 = time.process_time(), time.perf_counter()
    out: dict = {"embedding": embed.version(), "center_in_pipeline": bool(getattr(embed, "CENTER", False)),
                 "boot": args.boot, "perms": args.perms, "demo": {}, "processbench": None}
    if args.db:
        for b, d in demo_sets(args.db).items():
            wrong, every = d["wrong"], d["every"]
            X = np.asarray(wrong["vector"].to_list(), dtype=np.float64)
            qw = wrong["question_id"].to_list()
            props = {"question": qw, "model": [d["model"].get(t, "?") for t in wrong["trajectory_id"].to_list()]}
            rec = {"n_wrong": len(X), "n_questions": len(set(qw)), "n_models": len(set(props["model"])),
                   "stored_k": (d["clustering"] or {}).get("k")}
            if len(X) < embed.MIN_TRAJECTORIES:
                rec["note"] = f"too few wrong trajectories ({len(X)}) to cluster"
                out["demo"][b] = rec
                continue
            Xa = np.asarray(every["vector"].to_list(), dtype=np.float64)
            Xc = embed.center(X, qw, Xa, every["question_id"].to_list())
            rec["raw"] = quality(X, props, args, name=f"{b} raw")
            rec["centred"] = quality(Xc, props, args, name=f"{b} centred")
            all_props = {"right_vs_wrong": every["is_correct"].to_list(), "question": every["question_id"].to_list()}
            rec["all_raw"] = quality(Xa, all_props, args, boot=False, name=f"{b} all")
            if d["stored"]:         # the stored clustering is what this script recomputes (same seed, same k rule)
                mine = embed.cluster(Xc if out["center_in_pipeline"] else X).labels
                rec["stored_vs_recomputed_ari"] = round(adjusted_rand(
                    [d["stored"][t] for t in wrong["trajectory_id"].to_list()], mine), 4)
            out["demo"][b] = rec
    if args.processbench:
        items, X = processbench_vectors(args.processbench)
        err = [i for i, it in enumerate(items) if it["label"] >= 0]
        rel = np.array([items[i]["label"] / len(items[i]["steps"]) for i in err])
        nsteps = np.array([len(items[i]["steps"]) for i in err])
        props = {"first_error_early_vs_late": np.where(rel <= np.median(rel), "early", "late"),
                 "first_error_step_0_1_vs_later": ["0-1" if items[i]["label"] <= 1 else "2+" for i in err],
                 "final_answer_right_vs_wrong": [items[i]["final_answer_correct"] for i in err],
                 "long_vs_short": np.where(nsteps <= np.median(nsteps), "short", "long"),
                 "generator": [items[i]["generator"] for i in err]}
        pb = {"n_items": len(items), "n_with_error": len(err), "median_relative_first_error": float(np.median(rel)),
              "wrong": quality(X[err], props, args, name="processbench wrong")}
        every = {"process_right_vs_wrong": [it["label"] == -1 for it in items],
                 "final_answer_right_vs_wrong": [it["final_answer_correct"] for it in items],
                 "generator": [it["generator"] for it in items]}
        pb["all"] = quality(X, every, args, boot=False, name="processbench all")
        out["processbench"] = pb
    out["cpu_s"], out["wall_s"] = round(time.process_time() - t0, 1), round(time.perf_counter() - w0, 1)
    out["load1"] = round(os.getloadavg()[0], 2)
    return out


def _lines(name: str, q: dict) -> list[str]:
    s = [f"  {name}: n={q['n']} k={q['k']} sizes={q['sizes']} silhouette={q['silhouette']} "
         f"(null {q['silhouette_null']})"]
    if "bootstrap" in q:
        b = q["bootstrap"]
        s.append(f"    bootstrap ARI mean {b['ari_mean']} [{b['ari_min']}, {b['ari_max']}], k per resample {b['ks']}; "
                 f"seed ARI {q['seed_ari']}")
    for lab, a in q["labels"].items():
        s.append(f"    {lab}: NMI {a['nmi']} (null {a['nmi_null_mean']}, p95 {a['nmi_null_p95']}, p={a['p_perm']}) "
                 f"ARI {a['ari']}" + (f" chi2 p={a['p_chi2']}" if "p_chi2" in a else ""))
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="a warehouse with stored embeddings (annotate --clusters); read only")
    ap.add_argument("--processbench", default=str(PB) if PB.exists() else None)
    ap.add_argument("--no-processbench", action="store_true")
    ap.add_argument("--boot", type=int, default=5, help="bootstrap resamples (stability)")
    ap.add_argument("--perms", type=int, default=1000, help="label permutations (null NMI)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.no_processbench:
        args.processbench = None
    out = run(args)
    if args.json:
        print(json.dumps(out, indent=1, default=str))
        return
    print(f"embedding {out['embedding']} · centring in the pipeline: {out['center_in_pipeline']}")
    for b, rec in out["demo"].items():
        print(f"demo {b}: {rec['n_wrong']} wrong trajectories, {rec['n_questions']} questions, {rec['n_models']} models"
              + (f", stored vs recomputed ARI {rec['stored_vs_recomputed_ari']}" if "stored_vs_recomputed_ari" in rec
                 else ""))
        if "note" in rec:
            print(f"  {rec['note']}")
            continue
        for v in ("raw", "centred", "all_raw"):
            print("\n".join(_lines(v, rec[v])))
    if out["processbench"]:
        pb = out["processbench"]
        print(f"processbench math: {pb['n_items']} items, {pb['n_with_error']} with a labelled error "
              f"(median relative first error {pb['median_relative_first_error']:.3f})")
        print("\n".join(_lines("wrong", pb["wrong"]) + _lines("all", pb["all"])))
    print(f"cpu {out['cpu_s']} s, wall {out['wall_s']} s, load1 {out['load1']}")


if __name__ == "__main__":
    main()
