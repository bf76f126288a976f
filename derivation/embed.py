"""Embeddings of what a trajectory did, and the clustering of wrong trajectories into failure modes (issue 25).

Pure: texts and vectors in, vectors and assignments out; no SQL (``pipeline.derive.annotate.embed_warehouse`` and
``cluster_warehouse`` read and write through ``warehouse.clusters``).

- ``views(response, spans, error_step, answer)``: the texts embedded per trajectory: ``final`` (the last
  ``final_steps`` steps before the answer, at most ``max_chars`` characters, the end kept), ``error`` (the step
  of the first verified slip or suspected first error, where there is one) and ``answer`` (the final answer).
- ``Embedder``: wordllama (``l2_supercat_256``: 256 dimensions, its weights ship in the wheel, offline, CPU);
  ``version()`` = package version + model + a hash of ``PARAMS``: stored with every vector, so a change of
  either recomputes them.
- ``combine(vectors)``: one unit vector per trajectory, the weighted mean of its views (``PARAMS['weights']``).
- ``cluster(X, seed, k=None)``: k-means (vectorised Lloyd iterations; k-means++ starts from a seeded ``numpy``
  Generator, best of ``N_INIT``) on unit vectors; ``k`` chosen by the silhouette over 2..``K_MAX``, each
  candidate clustered and scored on a seeded sample of at most ``SILHOUETTE_SAMPLE`` points, then the chosen k
  run on every point; the same input and seed give the same assignments.
- ``assign(X, labels, k, X_new)``: new rows to the nearest centre of a stored clustering (each centre the mean of
  its members): what an import does until ``RECLUSTER_SHARE`` of the trajectories are new.
- ``center(X, questions, X_all, questions_all)``: each vector minus its question's mean (over the question's
  right and wrong trajectories), so clusters group how answers went wrong rather than what the question was
  about (``CENTER``: on, the figures are in docs/ANALYSIS.md); an empty response's zero vector stays zero.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version as installed   # (wordllama itself loads only to embed: ~0.3 s)

import numpy as np

EMBEDDER = "wordllama/l2_supercat_256"
VIEWS = ("final", "error", "answer")
COMBINED = "combined"
PARAMS = {"final_steps": 4, "max_chars": 1500, "weights": {"final": 1.0, "error": 1.0, "answer": 0.5}}
SEED = 0
K_MAX = 10
MIN_TRAJECTORIES = 20        # fewer wrong trajectories than this are not grouped: k-means on a handful says nothing
MIN_PER_CLUSTER = 5          # k at most n / MIN_PER_CLUSTER
N_INIT = 2
TOL = 1e-6                   # Lloyd stops when the inertia falls by less than this share
SILHOUETTE_SAMPLE = 2000
CLUSTER_VERSION = "2"        # bump when the clustering or naming changes (2: k chosen on the sample, 2 starts)
RECLUSTER_SHARE = 0.2        # an import assigns new wrong trajectories to the nearest centre until they are more
                             # than this share of those the last full clustering saw; then it clusters again
CENTER = True                # cluster what a trajectory did beyond its question's mean (``center``; docs/ANALYSIS.md)


def version(params: dict | None = None) -> str:
    """The embedding version stored with every vector: wordllama's version, the model and the parameters."""
    p = json.dumps(PARAMS if params is None else params, sort_keys=True)
    return f"wordllama-{installed('wordllama')}:l2_supercat_256:{hashlib.sha1(p.encode()).hexdigest()[:10]}"


def cluster_version(embed_version: str, seed: int = SEED, k: int | None = None) -> str:
    return f"{CLUSTER_VERSION}:{embed_version}:seed={seed}:k={k or 'auto'}:center={'question' if CENTER else 'none'}"


# --- texts -----------------------------------------------------------------------------------------
def views(response: str, spans: list[tuple[int, int]], error_step: int | None, answer: str | None,
          params: dict | None = None) -> dict[str, str]:
    """The texts to embed for one trajectory (a view with no text is left out)."""
    p = PARAMS if params is None else params
    n, cap = int(p["final_steps"]), int(p["max_chars"])
    spans = [(a, b) for a, b in spans if response[a:b].strip()] or ([(0, len(response))] if response.strip() else [])
    out = {}
    if spans:
        tail = " ".join(response[a:b].strip() for a, b in spans[-n:])
        out["final"] = tail[-cap:]
    if error_step is not None and 0 <= error_step < len(spans):
        a, b = spans[error_step]
        out["error"] = response[a:b].strip()[:cap]
    if answer not in (None, ""):
        out["answer"] = f"final answer: {str(answer)[:200]}"
    return out


# --- vectors ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _model():
    import wordllama
    from wordllama import WordLlama

    # the wheel ships the weights and the tokenizer config; the default loader looks for the tokenizer in a
    # folder of another name and downloads it: point it at the package itself, downloads off
    return WordLlama.load(cache_dir=os.path.dirname(wordllama.__file__), disable_download=True)


def embed_texts(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit vectors (float32, n × 256) of ``texts``."""
    if not texts:
        return np.zeros((0, 256), dtype=np.float32)
    v = np.asarray(_model().embed(texts, norm=True, batch_size=batch_size), dtype=np.float32)
    return _unit(np.nan_to_num(v))             # a text of no known token: wordllama's 0/0, a zero vector here



def embed_views(views: list[dict[str, str]]) -> list[dict[str, np.ndarray]]:
    """Each trajectory's views (``views()``: view -> text) as view -> unit vector, embedded in one batch."""
    flat = [(i, v, t) for i, vs in enumerate(views) for v, t in vs.items()]
    out: list[dict[str, np.ndarray]] = [{} for _ in views]
    for (i, v, _), x in zip(flat, embed_texts([t for _, _, t in flat])):
        out[i][v] = x
    return out

def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(n > 0, n, 1.0)).astype(np.float32)


def combine(vectors: dict[str, np.ndarray | None], params: dict | None = None) -> np.ndarray | None:
    """One trajectory's unit vector: the weighted mean of its views' vectors (None: no view)."""
    w = (PARAMS if params is None else params)["weights"]
    parts = [w[k] * np.asarray(v, dtype=np.float32) for k, v in vectors.items() if v is not None and k in w]
    if not parts:
        return None
    return _unit(np.sum(parts, axis=0)[None, :])[0]


def center(X: np.ndarray, groups, X_all: np.ndarray, groups_all) -> np.ndarray:
    """Each row of ``X`` minus the mean vector of its group (its question) over ``X_all``, back to unit length:
    what a trajectory did that its question's other trajectories (right and wrong) did not. Without it the
    clusters follow the questions' topics (circles, chips on a grid), not how the answers went wrong."""
    sums: dict = {}
    for x, g in zip(np.asarray(X_all, dtype=np.float64), groups_all):
        if not x.any():                         # an empty response's zero vector is no part of the mean
            continue
        s = sums.get(g)
        sums[g] = (x.copy(), 1) if s is None else (s[0] + x, s[1] + 1)
    out = np.asarray(X, dtype=np.float64).copy()
    for i, g in enumerate(groups):
        if g in sums and sums[g][1] > 1 and out[i].any():      # and stays zero: far from every centre
            out[i] -= sums[g][0] / sums[g][1]
    return _unit(out).astype(np.float64)


# --- clustering ------------------------------------------------------------------------------------
@dataclass
class Clustering:
    labels: np.ndarray           # cluster per row, 0..k-1, clusters numbered by size (0 the largest)
    centers: np.ndarray          # k × d, unit length
    k: int
    silhouette: float
    scores: dict[int, float] = field(default_factory=dict)     # k -> silhouette, for every k tried

    def distances(self, X: np.ndarray) -> np.ndarray:
        """Cosine distance of each row to its own cluster's centre."""
        return 1.0 - np.einsum("ij,ij->i", X, self.centers[self.labels])


def nearest(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """The nearest centre (squared Euclidean; ties to the lower index) of each row of ``X``: k-means' own
    assignment rule, vectorised (``|x|²`` is the same for every centre, so it is left out)."""
    return (X @ C.T - 0.5 * np.einsum("ij,ij->i", C, C)[None, :]).argmax(axis=1)


def means(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster's mean row (k × d; an empty cluster's is 0) and its size."""
    counts = np.bincount(labels, minlength=k)
    sums = np.eye(k)[labels].T @ X                       # one matrix product for every cluster's sum
    return sums / np.maximum(counts, 1)[:, None], counts


def _kmeans_once(X: np.ndarray, k: int, rng: np.random.Generator, iters: int) -> tuple[np.ndarray, np.ndarray, float]:
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    first = int(rng.integers(n))
    idx = [first]
    d2 = np.maximum(sq - 2 * X @ X[first] + sq[first], 0)
    for _ in range(1, k):                       # k-means++: the next centre drawn in proportion to d²
        tot = d2.sum()
        i = int(rng.choice(n, p=d2 / tot)) if tot > 0 else int(rng.integers(n))
        idx.append(i)
        d2 = np.minimum(d2, np.maximum(sq - 2 * X @ X[i] + sq[i], 0))
    C = X[idx].copy()
    labels, prev, rows = np.full(n, -1), np.inf, np.arange(n)
    for _ in range(iters):                      # Lloyd: assign, then move each centre to its members' mean
        score = X @ C.T - 0.5 * np.einsum("ij,ij->i", C, C)[None, :]
        new = score.argmax(axis=1)
        inertia = sq.sum() - 2 * score[rows, new].sum()
        if np.array_equal(new, labels) or prev - inertia <= TOL * abs(inertia):
            break                               # no point moved, or the inertia no longer falls (near-duplicates)
        labels, prev = new, inertia
        C, counts = means(X, labels, k)
        for j in np.flatnonzero(counts == 0):   # an empty cluster takes the point farthest from its centre
            far = int((sq - 2 * np.einsum("ij,ij->i", X, C[labels]) + np.einsum("ij,ij->i", C, C)[labels]).argmax())
            C[j], labels[far] = X[far], j
    labels = nearest(X, C)
    inertia = np.maximum(sq - 2 * np.einsum("ij,ij->i", X, C[labels]) + np.einsum("ij,ij->i", C, C)[labels], 0)
    return labels, C, float(inertia.sum())


def kmeans(X: np.ndarray, k: int, seed: int = SEED, n_init: int = N_INIT, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """k-means, the best (least inertia) of ``n_init`` k-means++ starts drawn from ``Generator(seed)``."""
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(n_init):
        run = _kmeans_once(X, k, rng, iters)
        if best is None or run[2] < best[2]:
            best = run
    return best[0], best[1]


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    """Row indexes of a seeded sample of at most ``size`` of ``n`` rows (all of them when n <= size), sorted."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _silhouette(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of points with pairwise distances ``D`` (vectorised); a point alone in its cluster counts 0."""
    ks, own = np.unique(labels, return_inverse=True)
    if len(ks) < 2:
        return 0.0
    m = len(labels)
    sums = D @ np.eye(len(ks))[own]                      # each point's distance sum to each cluster
    counts = np.bincount(own, minlength=len(ks)).astype(np.float64)
    rows = np.arange(m)
    a = sums[rows, own] / np.maximum(counts[own] - 1, 1)
    other = sums / counts[None, :]
    other[rows, own] = np.inf
    b = other.min(axis=1)
    top = np.maximum(a, b)
    s = np.where((counts[own] > 1) & (top > 0), (b - a) / np.where(top > 0, top, 1), 0.0)
    return float(s.mean())


def _distances(Xs: np.ndarray) -> np.ndarray:
    D = np.maximum(1.0 - Xs @ Xs.T, 0.0)
    np.fill_diagonal(D, 0.0)
    return D


def silhouette(X: np.ndarray, labels: np.ndarray, sample: int = SILHOUETTE_SAMPLE, seed: int = SEED) -> float:
    """Mean silhouette (cosine distance) over at most ``sample`` points drawn with ``Generator(seed)``; points
    alone in their cluster count 0, as usual."""
    X = np.asarray(X, dtype=np.float64)
    idx = _sample(len(X), sample, seed)
    return _silhouette(_distances(X[idx]), np.asarray(labels)[idx])


def cluster(X: np.ndarray, seed: int = SEED, k: int | None = None, k_max: int = K_MAX) -> Clustering:
    """Cluster unit vectors ``X`` (n × d): ``k`` given, or the k of 2..k_max (at most n / MIN_PER_CLUSTER) with
    the highest silhouette. k is chosen on a seeded sample of at most ``SILHOUETTE_SAMPLE`` rows (k-means and
    the silhouette of each candidate on the sample), then the chosen k is run on every row; the silhouette
    reported is of that final clustering (on the same sample). Clusters are numbered by size, largest first
    (ties by their smallest row). Same input and seed, same output."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n < 2:
        return Clustering(np.zeros(n, dtype=int), X[:1].copy() if n else np.zeros((0, X.shape[1])), min(n, 1), 0.0)
    idx = _sample(n, SILHOUETTE_SAMPLE, seed)
    D = _distances(X[idx])
    scores, runs = {}, {}
    if k:
        kk = min(max(1, k), n)
    else:
        ks = range(2, max(2, min(k_max, n // MIN_PER_CLUSTER)) + 1)
        for kk in ks:
            runs[kk] = kmeans(X[idx], kk, seed)
            scores[kk] = round(_silhouette(D, runs[kk][0]), 6)
        kk = max(ks, key=lambda j: (scores[j], -j))     # the best silhouette; a tie goes to the smaller k
    labels, C = runs[kk] if len(idx) == n and kk in runs else kmeans(X, kk, seed)
    s = _silhouette(D, labels[idx]) if kk > 1 else 0.0
    if k:
        scores[kk] = round(s, 6)
    order = sorted(range(kk), key=lambda j: (-(labels == j).sum(), int(np.argmax(labels == j))))
    remap = np.empty(kk, dtype=int)
    remap[order] = np.arange(kk)
    labels = remap[labels]
    C = _unit(C[order])
    return Clustering(labels, C.astype(np.float64), kk, float(s), scores)


def assign(X: np.ndarray, labels: np.ndarray, k: int, X_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``X_new`` given the nearest centre of the clustering ``labels`` of ``X`` (each centre its members' mean,
    as k-means leaves it; k-means' own rule, ``nearest``), and their cosine distance to it (as
    ``Clustering.distances``)."""
    C, _ = means(np.asarray(X, dtype=np.float64), np.asarray(labels), k)
    X_new = np.asarray(X_new, dtype=np.float64)
    new = nearest(X_new, C)
    return new, 1.0 - np.einsum("ij,ij->i", X_new, _unit(C)[new])


def representatives(X: np.ndarray, c: Clustering, n: int = 3) -> dict[int, list[int]]:
    """Per cluster, the row indexes of the ``n`` members nearest its centre."""
    d = c.distances(np.asarray(X, dtype=np.float64))
    out = {}
    for j in range(c.k):
        rows = np.flatnonzero(c.labels == j)
        out[j] = rows[np.lexsort((rows, d[rows]))][:n].tolist()
    return out
