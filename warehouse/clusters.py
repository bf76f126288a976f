"""Failure modes (issue 25): the stored embeddings of trajectories and the clustering of wrong ones.

Tables (schema.sql): ``trajectory_embeddings`` (a vector per trajectory and view, with the embedder's version),
``failure_clusterings`` / ``failure_clusters`` / ``cluster_assignments`` (one clustering per benchmark).
API:
- ``to_embed(con, benchmark, version, limit, after)``: trajectories to embed (on questions with a wrong
  answer, lacking a 'combined' vector at ``version``): trajectory_id, response, answer, is_correct, error_step.
- ``replace_embeddings(con, trajectory_ids, table)``: replace these trajectories' vectors (an Arrow table).
- ``vectors(con, benchmark, version)``: every embedded trajectory's combined vector (texts of the wrong ones).
- ``replace_clustering(con, clustering, clusters, assignments)``: replace a benchmark's clustering (and note how
  many trajectories k-means saw: ``clustered``).
- ``assigned(con, benchmark)``: its stored assignments (trajectory_id, cluster_id), by trajectory_id.
- ``add_assignments(con, benchmark, assignments)``: add trajectories to the stored clusters (an import's new wrong
  trajectories, each given the nearest centre); the clusters' sizes and the clustering's n_trajectories follow.
- ``clustered(con, benchmark)``: how many wrong trajectories the last full clustering saw (the rest were added).
- ``current(con, benchmark, version)``: whether the stored clustering is of exactly the benchmark's wrong
  trajectories embedded at ``version`` (else an import or a merge added some: cluster again).
- ``clustering(con, benchmark)``: the stored clustering's record as a dict, or None.
- ``clusters(con, benchmark)``: its clusters (cluster_id, label, terms, size, examples).
- ``assignments(con, sel)``: the selection's wrong trajectories with their cluster, tier, model, group, answer.
- ``neighbours(con, trajectory_id, k, same_question)``: the trajectories nearest one (cosine of the combined
  vectors, same embedding version), any model, with their verdict, answer and cluster.
"""
from __future__ import annotations

from typing import Sequence

import pyarrow as pa

from warehouse import ingest
from warehouse.db import get_meta, query, set_meta
from warehouse.filters import Selection
from warehouse.lookup import dicts
from warehouse.records import ClusterAssignment, FailureCluster, FailureClustering, TrajectoryEmbedding

TABLES = ("trajectory_embeddings", "failure_clusterings", "failure_clusters", "cluster_assignments")


def stored(con) -> bool:
    """Whether the warehouse has the failure-mode tables (a Parquet folder exported before them has not)."""
    n = con.execute("SELECT count(*) FROM information_schema.tables WHERE list_contains(?, table_name)",
                    [list(TABLES)]).fetchall()[0][0]
    return n == len(TABLES)


def to_embed(con, benchmark: str, version: str, limit: int = 500, after: int | None = None) -> list[dict]:
    """Trajectories of ``benchmark`` on questions with at least one wrong answer (the wrong ones and, for
    contrast, the right ones beside them) that have no 'combined' vector at ``version``, keyset-paginated on
    trajectory_id. error_step: the first step labelled a verified slip or a suspected first error, any annotator."""
    return dicts(con, """
        WITH q AS (SELECT DISTINCT question_id FROM outcomes WHERE benchmark = ? AND NOT is_correct)
        SELECT o.trajectory_id, t.response, o.answer, o.is_correct,
               (SELECT min(a.step_idx) FROM step_annotations a WHERE a.trajectory_id = o.trajectory_id
                  AND (a.label = 'arithmetic_slip' OR a.label = 'first_error' OR starts_with(a.label, 'first_error:')))
                 AS error_step
        FROM outcomes o JOIN trajectories t USING (trajectory_id)
        WHERE o.benchmark = ? AND o.question_id IN (SELECT question_id FROM q)
          AND (? IS NULL OR o.trajectory_id > ?)
          AND o.trajectory_id NOT IN (SELECT trajectory_id FROM trajectory_embeddings
                                      WHERE view = 'combined' AND version = ?)
        ORDER BY o.trajectory_id LIMIT ?""", [benchmark, benchmark, after, after, version, int(limit)])


def embedding_table(rows: Sequence[TrajectoryEmbedding]) -> pa.Table:
    import json

    return pa.table({
        "trajectory_id": pa.array([r.trajectory_id for r in rows], pa.int64()),
        "view": pa.array([r.view for r in rows], pa.string()),
        "embedder": pa.array([r.embedder for r in rows], pa.string()),
        "version": pa.array([r.version for r in rows], pa.string()),
        "params": pa.array([json.dumps(r.params, sort_keys=True) if r.params is not None else None for r in rows],
                           pa.string()),
        "text": pa.array([r.text for r in rows], pa.string()),
        "vector": pa.array([list(map(float, r.vector)) for r in rows], pa.list_(pa.float32()))})


def replace_embeddings(con, trajectory_ids: Sequence[int], rows: Sequence[TrajectoryEmbedding]) -> int:
    """Replace every stored vector of these trajectories (any version) by ``rows``."""
    return ingest.replace_for(con, "trajectory_embeddings", trajectory_ids, embedding_table(rows),
                              TrajectoryEmbedding.columns())


def vectors(con, benchmark: str, version: str):
    """Every trajectory of ``benchmark`` with a combined vector at ``version``: trajectory_id, question_id,
    is_correct, vector (list of floats), text (the embedded final and error views, for naming; wrong ones
    only), ordered by trajectory_id."""
    return query(con, """
        SELECT o.trajectory_id, o.question_id, o.is_correct, c.vector,
               CASE WHEN NOT o.is_correct THEN
                   (SELECT string_agg(e.text, ' ' ORDER BY e.view) FROM trajectory_embeddings e
                    WHERE e.trajectory_id = o.trajectory_id AND e.version = ? AND e.view IN ('final', 'error'))
               END AS text
        FROM outcomes o JOIN trajectory_embeddings c
          ON c.trajectory_id = o.trajectory_id AND c.view = 'combined' AND c.version = ?
        WHERE o.benchmark = ?
        ORDER BY o.trajectory_id""", [version, version, benchmark])


def n_wrong(con, benchmark: str) -> int:
    return int(con.execute("SELECT count(*) FROM outcomes WHERE benchmark = ? AND NOT is_correct",
                           [benchmark]).fetchall()[0][0])


def replace_clustering(con, clustering: FailureClustering, clusters: Sequence[FailureCluster],
                       assignments: Sequence[ClusterAssignment]) -> None:
    """Replace the stored clustering of ``clustering.benchmark`` (its clusters and assignments with it)."""
    import json

    b = clustering.benchmark
    for table in ("cluster_assignments", "failure_clusters", "failure_clusterings"):
        con.execute(f"DELETE FROM {table} WHERE benchmark = ?", [b])
    c = clustering
    con.execute("INSERT INTO failure_clusterings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [b, c.version, c.embed_version, c.seed, c.k, c.silhouette, c.n_trajectories,
                 json.dumps(c.scores) if c.scores is not None else None])
    if clusters:
        con.register("_fc", pa.table({
            "benchmark": pa.array([x.benchmark for x in clusters], pa.string()),
            "cluster_id": pa.array([x.cluster_id for x in clusters], pa.int32()),
            "label": pa.array([x.label for x in clusters], pa.string()),
            "terms": pa.array([list(x.terms) for x in clusters], pa.list_(pa.string())),
            "size": pa.array([x.size for x in clusters], pa.int32()),
            "examples": pa.array([list(x.examples) for x in clusters], pa.list_(pa.int64()))}))
        try:
            con.execute("INSERT INTO failure_clusters SELECT * FROM _fc")
        finally:
            con.unregister("_fc")
    _insert_assignments(con, assignments)
    set_meta(con, _CLUSTERED + b, str(c.n_trajectories))


def _insert_assignments(con, assignments: Sequence[ClusterAssignment]) -> None:
    if not assignments:
        return
    con.register("_ca", pa.table({
        "benchmark": pa.array([x.benchmark for x in assignments], pa.string()),
        "trajectory_id": pa.array([x.trajectory_id for x in assignments], pa.int64()),
        "cluster_id": pa.array([x.cluster_id for x in assignments], pa.int32()),
        "distance": pa.array([x.distance for x in assignments], pa.float64())}))
    try:
        con.execute("INSERT INTO cluster_assignments SELECT * FROM _ca")
    finally:
        con.unregister("_ca")


_CLUSTERED = "failure_clusters_clustered:"       # meta key: + benchmark -> trajectories the full clustering saw


def clustered(con, benchmark: str) -> int:
    """How many wrong trajectories ``benchmark``'s last full clustering saw (those added since to the nearest
    centre are not counted); a clustering that came without the note (a Parquet folder's) counts all of its own."""
    c = clustering(con, benchmark)
    return int(get_meta(con, _CLUSTERED + benchmark) or (c["n_trajectories"] if c else 0))


def assigned(con, benchmark: str):
    """The stored assignments of ``benchmark``: trajectory_id, cluster_id, by trajectory_id."""
    return query(con, "SELECT trajectory_id, cluster_id FROM cluster_assignments WHERE benchmark = ? "
                      "ORDER BY trajectory_id", [benchmark])


def add_assignments(con, benchmark: str, assignments: Sequence[ClusterAssignment]) -> None:
    """Add these (new) trajectories to ``benchmark``'s stored clusters; each cluster's size and the clustering's
    n_trajectories are recounted from the assignments."""
    _insert_assignments(con, assignments)
    con.execute("""UPDATE failure_clusters f SET size = (SELECT count(*) FROM cluster_assignments a
                   WHERE a.benchmark = f.benchmark AND a.cluster_id = f.cluster_id) WHERE f.benchmark = ?""",
                [benchmark])
    con.execute("""UPDATE failure_clusterings SET n_trajectories = (SELECT count(*) FROM cluster_assignments
                   WHERE benchmark = ?) WHERE benchmark = ?""", [benchmark, benchmark])


def current(con, benchmark: str, version: str) -> bool:
    """Whether ``benchmark``'s stored clustering is of embedding ``version`` and of exactly its wrong
    trajectories that have a vector at that version (every one assigned, none other)."""
    c = clustering(con, benchmark)
    if c is None or c["embed_version"] != version:
        return False
    n, mine, assigned = con.execute("""
        WITH w AS (SELECT o.trajectory_id FROM outcomes o JOIN trajectory_embeddings e
                     ON e.trajectory_id = o.trajectory_id AND e.view = 'combined' AND e.version = ?
                   WHERE o.benchmark = ? AND NOT o.is_correct)
        SELECT (SELECT count(*) FROM w),
               (SELECT count(*) FROM cluster_assignments WHERE benchmark = ? AND trajectory_id IN (SELECT * FROM w)),
               (SELECT count(*) FROM cluster_assignments WHERE benchmark = ?)""",
                                     [version, benchmark, benchmark, benchmark]).fetchall()[0]
    return n == c["n_trajectories"] and (c["k"] == 0 or mine == assigned == n)


def clustering(con, benchmark: str) -> dict | None:
    """The stored clustering of ``benchmark`` (FailureClustering's columns), or None."""
    if not stored(con):
        return None
    rows = dicts(con, "SELECT * FROM failure_clusterings WHERE benchmark = ?", [benchmark])
    return FailureClustering.from_row(rows[0]).as_row() if rows else None


def clusters(con, benchmark: str):
    """The stored clusters of ``benchmark``: cluster_id, label, terms, size, examples (by cluster_id)."""
    return query(con, "SELECT cluster_id, label, terms, size, examples FROM failure_clusters WHERE benchmark = ? "
                      "ORDER BY cluster_id", [benchmark])


def assignments(con, sel: Selection):
    """The selection's wrong trajectories that the stored clustering assigned: trajectory_id, cluster_id,
    distance, question_id, sample_idx, model_id, group, tier (of ``sel.scheme``), answer."""
    where, params = sel.where("o")
    return query(con, f"""
        SELECT a.trajectory_id, a.cluster_id, a.distance, o.question_id, o.sample_idx, o.model_id, m."group",
               t.tier, o.answer
        FROM cluster_assignments a JOIN outcomes o USING (trajectory_id)
        LEFT JOIN models m ON m.model_id = o.model_id
        LEFT JOIN question_tiers t ON t.benchmark = o.benchmark AND t.question_id = o.question_id AND t.scheme = ?
        WHERE a.benchmark = ? AND NOT o.is_correct AND {where}
        ORDER BY a.cluster_id, a.distance, a.trajectory_id""", [sel.scheme, sel.benchmark] + params)


def neighbours(con, trajectory_id: int, k: int = 10, same_question: bool = False):
    """The ``k`` trajectories nearest ``trajectory_id`` (cosine similarity of the combined vectors of the same
    embedding version; the open one left out), any model: trajectory_id, question_id, model_id, sample_idx,
    is_correct, answer, similarity, cluster (its stored label, if it is in the stored clustering)."""
    return query(con, """
        WITH me AS (SELECT e.vector, e.version, o.benchmark, o.question_id
                    FROM trajectory_embeddings e JOIN outcomes o USING (trajectory_id)
                    WHERE e.trajectory_id = ? AND e.view = 'combined')
        SELECT o.trajectory_id, o.question_id, o.model_id, o.sample_idx, o.is_correct, o.answer,
               list_cosine_similarity(e.vector, me.vector) AS similarity, c.label AS cluster
        FROM me JOIN trajectory_embeddings e ON e.view = 'combined' AND e.version = me.version
        JOIN outcomes o ON o.trajectory_id = e.trajectory_id AND o.benchmark = me.benchmark
        LEFT JOIN cluster_assignments a ON a.trajectory_id = o.trajectory_id AND a.benchmark = o.benchmark
        LEFT JOIN failure_clusters c ON c.benchmark = a.benchmark AND c.cluster_id = a.cluster_id
        WHERE e.trajectory_id <> ? AND (NOT ? OR o.question_id = me.question_id)
          AND NOT isnan(similarity)          -- an empty response's zero vector is like nothing (NaN sorts first)
        ORDER BY similarity DESC, o.trajectory_id LIMIT ?""",
                 [int(trajectory_id), int(trajectory_id), bool(same_question), int(k)])


def has_vector(con, trajectory_id: int) -> bool:
    if not stored(con):
        return False
    return bool(con.execute("SELECT count(*) FROM trajectory_embeddings WHERE trajectory_id = ? AND view = 'combined'",
                            [int(trajectory_id)]).fetchall()[0][0])


def nearest_to_vector(con, vector, benchmark: str, version: str, k: int = 10, exclude: int | None = None,
                      question_id: str | None = None):
    """The ``k`` trajectories of ``benchmark`` whose stored 'error' (first-error step) or 'final' (last steps)
    view at embedding ``version`` is nearest ``vector`` (cosine; a trajectory's best view counts), any model,
    ``exclude`` left out, only ``question_id``'s when given: trajectory_id, question_id, model_id, sample_idx,
    is_correct, answer, similarity, view (the one that matched), text (its embedded text), cluster."""
    return query(con, """
        WITH best AS (
            SELECT e.trajectory_id, max(s) AS similarity, arg_max(e.view, s) AS view, arg_max(e.text, s) AS text
            FROM (SELECT *, list_cosine_similarity(vector, ?::FLOAT[]) AS s FROM trajectory_embeddings
                  WHERE version = ? AND view IN ('error', 'final') AND trajectory_id IS DISTINCT FROM ?
                    AND trajectory_id IN (SELECT trajectory_id FROM outcomes
                                          WHERE benchmark = ? AND (? IS NULL OR question_id = ?))) e
            WHERE NOT isnan(e.s) GROUP BY e.trajectory_id)
        SELECT o.trajectory_id, o.question_id, o.model_id, o.sample_idx, o.is_correct, o.answer, b.similarity,
               b.view, b.text, c.label AS cluster
        FROM best b JOIN outcomes o USING (trajectory_id)
        LEFT JOIN cluster_assignments a ON a.trajectory_id = o.trajectory_id AND a.benchmark = o.benchmark
        LEFT JOIN failure_clusters c ON c.benchmark = a.benchmark AND c.cluster_id = a.cluster_id
        ORDER BY b.similarity DESC, o.trajectory_id LIMIT ?""",
                 [list(map(float, vector)), version, exclude, benchmark, question_id, question_id, int(k)])
