"""Warehouse-level drivers: grade, segment and annotate stored trajectories.

Every driver reads a batch with a read-only connection, computes outside any transaction, and
writes the batch in one short ``db.writer()`` transaction, so the app can read in between.
Re-running replaces what the previous run wrote (idempotent). (Scoring an annotator against
step labels: ``pipeline.derive.processbench``.)
"""
from __future__ import annotations

import re
from typing import Iterator, Sequence

import numpy as np

from analysis import failure_modes
from derivation import embed
from derivation import grade as grader
from pipeline.derive import postprocess
from derivation import answer_timeline
from derivation.annotators import AnnotateInput, AnnotationResult, get_annotator
from derivation.steps import segment
from warehouse import clusters, db, ingest, lookup, stats
from warehouse import timeline_store as store
from warehouse.records import ClusterAssignment, FailureCluster, FailureClustering, Grade, TrajectoryEmbedding

BATCH = 500


def _batches(db_path, size: int = BATCH, ungraded_by: tuple[str, str] | None = None,
             unannotated_by: str | None = None) -> Iterator[list[dict]]:
    """Stored trajectory rows (``lookup.trajectories_to_process``) in batches of ``size``,
    keyset-paginated on trajectory_id, each read with its own short reader."""
    last = None
    while True:
        with db.reader(db_path) as con:
            rows = lookup.trajectories_to_process(con, limit=size, after=last, ungraded_by=ungraded_by,
                                                  unannotated_by=unannotated_by)
        if not rows:
            return
        yield rows
        last = rows[-1]["trajectory_id"]


def grade_warehouse(db_path=None, regrade: bool = False, workers: int | None = None,
                    batch: int = 2000) -> dict:
    """Grade stored trajectories with the ``ladder`` grader (only ungraded ones unless ``regrade``).

    Sets meta ``active_grader``/``active_grader_version`` and refreshes run stats in the same
    transaction as each batch of grades. Returns counts per reason.
    """
    ungraded_by = None if regrade else (grader.GRADER, grader.GRADER_VERSION)
    counts = {r: 0 for r in grader.REASONS}
    n_nogold = 0
    for rows in _batches(db_path, batch, ungraded_by):
        rows_ok = [r for r in rows if r["gold"] is not None]
        n_nogold += len(rows) - len(rows_ok)
        verdicts = grader.grade_many([(r["response"], r["gold"], r["answer_type"], r["finish_reason"])
                                      for r in rows_ok], workers=workers)
        grades = [Grade(r["trajectory_id"], grader.GRADER, grader.GRADER_VERSION, v.extracted, v.is_correct,
                        v.reason) for r, v in zip(rows_ok, verdicts)]
        for v in verdicts:
            counts[v.reason] += 1
        with db.writer(db_path) as con:
            ingest.upsert_grades(con, grades)
            db.set_meta(con, "active_grader", grader.GRADER)
            db.set_meta(con, "active_grader_version", grader.GRADER_VERSION)
            stats.refresh_run_stats(con, sorted({r["run_id"] for r in rows_ok}))
    return {"graded": sum(counts.values()), "no_gold": n_nogold, **counts}


def segment_warehouse(db_path=None, batch: int = BATCH) -> dict:
    """(Re)segment every stored trajectory into steps."""
    n_traj = n_steps = 0
    for rows in _batches(db_path, batch):
        steps = postprocess.step_table([(r["trajectory_id"], segment(r["response"])) for r in rows])
        with db.writer(db_path) as con:
            ingest.replace_steps(con, [r["trajectory_id"] for r in rows], steps)
        n_traj += len(rows)
        n_steps += steps.num_rows
    return {"trajectories": n_traj, "steps": n_steps}


def _inputs(db_path, rows: list[dict]) -> list[AnnotateInput]:
    """AnnotateInput for stored rows, with their stored steps (segmenting those that have none)."""
    ids = [r["trajectory_id"] for r in rows]
    with db.reader(db_path) as con:
        st = lookup.steps_of(con, ids)
        gr = lookup.outcomes_of(con, ids)
    by_traj: dict[int, list[tuple[int, int, str]]] = {}
    for s in st:
        by_traj.setdefault(s["trajectory_id"], []).append((s["start_char"], s["end_char"], s["kind"]))
    grades = {g["trajectory_id"]: g for g in gr}
    out = []
    for r in rows:
        text = r["response"]
        spans = by_traj.get(r["trajectory_id"]) or list(zip(*segment(text)))
        g = grades.get(r["trajectory_id"], {})
        out.append(AnnotateInput(
            trajectory_id=r["trajectory_id"], problem=r["problem"] or "", gold=r["gold"] or "", response=text,
            steps=[text[a:b].strip() for a, b, _ in spans], offsets=[(a, b) for a, b, _ in spans],
            kinds=[k for _, _, k in spans], finish_reason=r["finish_reason"], is_correct=g.get("is_correct"),
            extracted_answer=g.get("answer"), answer_type=r["answer_type"]))
    return out


def annotate_warehouse(db_path=None, annotator: str = "rules", limit: int | None = None,
                       batch: int | None = None, resume: bool = False, **opts) -> dict:
    """Run one annotator over stored trajectories and replace its previous annotations (``resume``:
    only over those it has written nothing for, so an interrupted judge run goes on where it stopped).
    A result the annotator ``skipped`` (a request that failed for good) is not written."""
    ann = get_annotator(annotator, **opts)
    size = batch or getattr(ann, "batch_size", None) or (BATCH if annotator == "rules" else 16)
    n = n_labels = n_flags = n_failed = 0
    try:
        for rows in _batches(db_path, size, unannotated_by=ann.name if resume else None):
            if limit is not None:
                rows = rows[:max(0, limit - n)]
                if not rows:
                    break
            results = [r for r in ann.annotate(_inputs(db_path, rows)) if not r.skipped]
            write_results(db_path, ann.name, [r.trajectory_id for r in results], results)
            n += len(rows)
            n_failed += len(rows) - len(results)
            n_labels += sum(len(r.annotations) for r in results)
            n_flags += sum(len(r.flags) for r in results)
    finally:
        ann.close()
    return {"annotator": ann.name, "trajectories": n, "step_labels": n_labels, "flags": n_flags,
            **({"failed": n_failed} if n_failed else {})}


def write_results(db_path, annotator: str, trajectory_ids: Sequence[int], results: Sequence[AnnotationResult]) -> None:
    with db.writer(db_path) as con:
        ingest.replace_annotations(con, annotator, trajectory_ids,
                                   [a for r in results for a in r.annotations],
                                   [f for r in results for f in r.flags])


def _batch_spans(con, rows: list[dict]) -> list[list[tuple[int, int]]]:
    """Each row's step spans (start_char, end_char): its stored steps, or its response segmented now when it has
    none stored."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for s in lookup.steps_of(con, [r["trajectory_id"] for r in rows]) if rows else []:
        spans.setdefault(s["trajectory_id"], []).append((s["start_char"], s["end_char"]))
    return [spans.get(r["trajectory_id"]) or list(zip(*segment(r["response"] or "")[:2])) for r in rows]


def timeline_warehouse(db_path=None, every: bool = False, batch: int = BATCH) -> dict:
    """Derive the answer timeline (``derivation.answer_timeline``) of every stored trajectory that has none at
    the current version (``every``: of all of them), on their stored steps (segmenting those that have
    none). Idempotent: each batch replaces its trajectories' timelines in one short transaction."""
    version = answer_timeline.version()
    n = n_answers = n_gold = 0
    last = None
    while True:
        with db.reader(db_path) as con:
            rows = store.to_derive(con, version, limit=batch, after=last, every=every)
            spans = _batch_spans(con, rows)
        if not rows:
            break
        last = rows[-1]["trajectory_id"]
        answer_rows, timeline_rows = [], []
        for r, sp in zip(rows, spans):
            text = r["response"]
            tl = answer_timeline.timeline(text, sp, r["gold"], r["answer_type"], is_correct=r["is_correct"],
                                          extracted=r["answer"])
            a, t = answer_timeline.rows(r["trajectory_id"], tl)
            answer_rows += a
            timeline_rows.append(t)
            n_gold += tl.first_gold_step is not None
        answers, timelines = postprocess.timeline_tables(answer_rows, timeline_rows)
        with db.writer(db_path) as con:
            ingest.replace_timelines(con, [r["trajectory_id"] for r in rows], answers, timelines)
        n += len(rows)
        n_answers += answers.num_rows
    return {"timelines": n, "step_answers": n_answers, "gold_reached": n_gold, "version": version}


# --- failure modes (issue 25): embeddings and clusters of wrong trajectories ----------------------
def embed_warehouse(db_path=None, benchmark: str | None = None, batch: int = 250, params: dict | None = None) -> dict:
    """Embed (``derivation.embed``) every trajectory of ``benchmark`` (every benchmark when None) on a question
    with a wrong answer that has no vector at the current embedding version; a trajectory embedded at another
    version (other parameters, another wordllama) is embedded again. Idempotent, one transaction per batch."""

    params = embed.PARAMS if params is None else params
    version = embed.version(params)
    with db.reader(db_path) as con:
        names = [benchmark] if benchmark else lookup.benchmark_names(con)
    n = 0
    for name in names:
        last = None
        while True:
            with db.reader(db_path) as con:
                rows = clusters.to_embed(con, name, version, limit=batch, after=last)
                spans = _batch_spans(con, rows)
            if not rows:
                break
            last = rows[-1]["trajectory_id"]
            texts = [embed.views(r["response"] or "", sp, r["error_step"], r["answer"], params)
                     for r, sp in zip(rows, spans)]
            per = embed.embed_views(texts)
            out = []
            for r, vs, ts in zip(rows, per, texts):
                common = dict(trajectory_id=r["trajectory_id"], embedder=embed.EMBEDDER, version=version, params=params)
                out += [TrajectoryEmbedding(view=v, text=ts[v], vector=x.tolist(), **common) for v, x in vs.items()]
                both = embed.combine(vs, params)
                if both is None:             # an empty response: a zero vector keeps it from being asked again
                    both = [0.0] * 256
                out.append(TrajectoryEmbedding(view=embed.COMBINED, text=None, vector=list(map(float, both)), **common))
            with db.writer(db_path) as con:
                clusters.replace_embeddings(con, [r["trajectory_id"] for r in rows], out)
            n += len(rows)
    return {"embedded": n, "embedding": {"model": embed.EMBEDDER, "version": version}}


def _points(every, wrong) -> np.ndarray:
    """The vectors k-means sees for the ``wrong`` rows of ``every`` (``clusters.vectors``): their combined vectors,
    each minus its question's mean when ``embed.CENTER``."""
    X = np.asarray(wrong["vector"].to_list(), dtype=np.float64).reshape(wrong.height, -1)
    if embed.CENTER and wrong.height:
        X = embed.center(X, wrong["question_id"].to_list(), np.asarray(every["vector"].to_list()),
                         every["question_id"].to_list())
    return X


def cluster_warehouse(db_path=None, benchmark: str | None = None, seed: int | None = None, k: int | None = None,
                      params: dict | None = None) -> list[dict]:
    """Cluster each benchmark's wrong trajectories (their combined vectors at the current embedding version)
    and replace its stored clustering: k by silhouette unless given, ``seed`` fixed, clusters named by
    class-based TF-IDF over their embedded texts, 3 representatives each. Fewer than
    ``embed.MIN_TRAJECTORIES`` wrong trajectories: a clustering with k = 0 is stored (the pages say so)."""

    seed = embed.SEED if seed is None else seed
    version = embed.version(embed.PARAMS if params is None else params)
    with db.reader(db_path) as con:
        names = [benchmark] if benchmark else lookup.benchmark_names(con)
    out = []
    for name in names:
        with db.reader(db_path) as con:
            every = clusters.vectors(con, name, version)
        vec = every.filter(~every["is_correct"])
        n = vec.height
        if n < embed.MIN_TRAJECTORIES:
            rec = FailureClustering(name, embed.cluster_version(version, seed, k), version, seed, 0, None, n, None)
            with db.writer(db_path) as con:
                clusters.replace_clustering(con, rec, [], [])
            out.append({"benchmark": name, "n_trajectories": n, "k": 0,
                        "note": f"too few wrong trajectories to group ({n}); need at least {embed.MIN_TRAJECTORIES}"})
            continue
        X = _points(every, vec)
        c = embed.cluster(X, seed=seed, k=k)
        terms = failure_modes.distinctive_terms(vec["text"].to_list(), c.labels,
                                                groups=vec["question_id"].to_list() if embed.CENTER else None)
        reps = embed.representatives(X, c)
        ids = vec["trajectory_id"].to_list()
        dist = c.distances(X)
        found = [FailureCluster(name, j, failure_modes.cluster_label(terms.get(j, [])), terms.get(j, []),
                                int((c.labels == j).sum()), [ids[i] for i in reps[j]]) for j in range(c.k)]
        assigned = [ClusterAssignment(name, ids[i], int(c.labels[i]), float(dist[i])) for i in range(n)]
        rec = FailureClustering(name, embed.cluster_version(version, seed, k), version, seed, c.k, c.silhouette, n,
                                {str(kk): s for kk, s in c.scores.items()})
        with db.writer(db_path) as con:
            clusters.replace_clustering(con, rec, found, assigned)
        out.append({"benchmark": name, "n_trajectories": n, "k": c.k, "silhouette": round(c.silhouette, 4),
                    "clusters": [f"{f.cluster_id}: {f.label} ({f.size})" for f in found]})
    return out


def refresh_clusters(db_path=None, benchmarks: Sequence[str] | None = None) -> list[dict]:
    """After an import or a merge (the ``import``, ``import-parquet`` and ``merge`` commands, the app's upload):
    each of ``benchmarks`` (every one when None) that already has a stored clustering gets its new trajectories
    embedded, then its new wrong trajectories are given the nearest stored centre (``embed.assign``; the labels
    and representatives stay), unless it must be clustered again with the stored seed and k (as a fresh
    ``annotate --clusters``): the new ones are more than ``embed.RECLUSTER_SHARE`` of those the last full
    clustering saw (counted since then), the embedding or clustering version changed, a clustered trajectory is
    no longer wrong, or it had too few to group. Each result says which happened (``refresh``). A benchmark with no
    clustering is left alone: a first import costs nothing, ``annotate --clusters`` opts a benchmark in once."""
    version = embed.version()
    with db.reader(db_path) as con:
        names = lookup.benchmark_names(con) if benchmarks is None else list(dict.fromkeys(benchmarks))
        stored = {b: c for b in names if (c := clusters.clustering(con, b)) is not None}
    out = []
    for name, c in stored.items():
        n = embed_warehouse(db_path, name)["embedded"]
        k = re.search(r":k=(\d+)", c["version"])
        k = int(k.group(1)) if k else None
        with db.reader(db_path) as con:
            if clusters.current(con, name, version) and c["version"] == embed.cluster_version(version, c["seed"], k):
                continue
            every, old, seen = clusters.vectors(con, name, version), clusters.assigned(con, name), \
                clusters.clustered(con, name)
        wrong = every.filter(~every["is_correct"])
        known = set(old["trajectory_id"].to_list())
        new = wrong.filter(~wrong["trajectory_id"].is_in(list(known)))
        share = (wrong.height - seen) / seen if seen else 1.0
        why = ("the embedding changed" if c["embed_version"] != version
               else "the clustering changed" if c["version"] != embed.cluster_version(version, c["seed"], k)
               else "too few to group before" if c["k"] == 0
               else "a clustered trajectory is no longer wrong" if wrong.height - new.height != len(known)
               else f"{share:.0%} new since the last clustering" if share > embed.RECLUSTER_SHARE else None)
        if why:
            for r in cluster_warehouse(db_path, name, seed=c["seed"], k=k):
                out.append({**r, "embedded": n, "refresh": f"clustered again ({why})"})
            continue
        X = _points(every, wrong)
        is_old = wrong["trajectory_id"].is_in(list(known)).to_numpy()
        by_id = dict(zip(old["trajectory_id"].to_list(), old["cluster_id"].to_list()))
        labels = np.array([by_id[t] for t in wrong.filter(is_old)["trajectory_id"].to_list()])
        got, dist = embed.assign(X[is_old], labels, c["k"], X[~is_old])
        added = [ClusterAssignment(name, t, int(j), float(d))
                 for t, j, d in zip(new["trajectory_id"].to_list(), got, dist)]
        with db.writer(db_path) as con:
            clusters.add_assignments(con, name, added)
        out.append({"benchmark": name, "n_trajectories": wrong.height, "k": c["k"], "embedded": n,
                    "refresh": f"{len(added):,} new assigned to the nearest centre ({share:.0%} new since the last "
                               f"clustering; clustered again above {embed.RECLUSTER_SHARE:.0%})"})
    return out


def refresh_line(r: dict) -> str:
    """One line of a refresh's result, as the import prints it and the upload shows it: what was embedded, how many
    wrong trajectories are grouped, and whether the new ones went to the nearest centre or all were clustered
    again (and why)."""
    what = (f"{r['n_trajectories']:,} wrong trajectories in {r['k']} clusters" if r["k"]
            else f"{r['n_trajectories']:,} wrong trajectories, too few to group")
    return (f"failure modes of {r['benchmark']} updated: {r['embedded']:,} trajectories embedded, {what}"
            + (f"; {r['refresh']}" if r.get("refresh") else ""))
