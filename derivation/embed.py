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
- ``cluster(X, seed, k=None)``: k-means (k-means++ start from a seeded ``numpy`` Generator, best of
  ``n_init``) on unit vectors; ``k`` chosen by the silhouette (cosine, on a seeded sample of at most
  ``SILHOUETTE_SAMPLE`` points) over 2..``K_MAX``; the same input and seed give the same assignments.
- ``center(X, questions, X_all, questions_all)``: each vector minus its question's mean (over the question's
  right and wrong trajectories), so clusters group how answers went wrong rather than what the question was
  about.
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
K_MAX = 12
MIN_TRAJECTORIES = 20        # fewer wrong trajectories than this are not grouped: k-means on a handful says nothing
MIN_PER_CLUSTER = 5          # k at most n / MIN_PER_CLUSTER
N_INIT = 4
SILHOUETTE_SAMPLE = 2000
CLUSTER_VERSION = "1"        # bump when the clustering or naming changes
CENTER = False               # cluster what a trajectory did beyond its question's mean (``center``)


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
    return _unit(v)


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
        s = sums.get(g)
        sums[g] = (x.copy(), 1) if s is None else (s[0] + x, s[1] + 1)
    out = np.asarray(X, dtype=np.float64).copy()
    for i, g in enumerate(groups):
        if g in sums and sums[g][1] > 1:
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


def _kmeans_once(X: np.ndarray, k: int, rng: np.random.Generator, iters: int) -> tuple[np.ndarray, np.ndarray, float]:
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    centers = [X[rng.integers(n)]]
    d2 = np.maximum(sq - 2 * X @ centers[0] + centers[0] @ centers[0], 0)
    for _ in range(1, k):                       # k-means++: the next centre drawn in proportion to d²
        tot = d2.sum()
        i = int(rng.choice(n, p=d2 / tot)) if tot > 0 else int(rng.integers(n))
        centers.append(X[i])
        d2 = np.minimum(d2, np.maximum(sq - 2 * X @ X[i] + X[i] @ X[i], 0))
    C = np.array(centers, dtype=np.float64)
    labels = np.full(n, -1)
    for _ in range(iters):
        dist = sq[:, None] - 2 * X @ C.T + np.einsum("ij,ij->i", C, C)[None, :]
        new = dist.argmin(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = X[labels == j]
            if len(members):
                C[j] = members.mean(axis=0)
            else:                               # an empty cluster takes the point farthest from its centre
                far = int(dist[np.arange(n), labels].argmax())
                C[j] = X[far]
                labels[far] = j
    dist = sq[:, None] - 2 * X @ C.T + np.einsum("ij,ij->i", C, C)[None, :]
    labels = dist.argmin(axis=1)
    return labels, C, float(np.maximum(dist[np.arange(n), labels], 0).sum())


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


def silhouette(X: np.ndarray, labels: np.ndarray, sample: int = SILHOUETTE_SAMPLE, seed: int = SEED) -> float:
    """Mean silhouette (cosine distance) over at most ``sample`` points drawn with ``Generator(seed)``; points
    alone in their cluster count 0, as usual."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    ks = np.unique(labels)
    if len(ks) < 2:
        return 0.0
    idx = np.arange(len(X))
    if len(X) > sample:
        idx = np.sort(np.random.default_rng(seed).choice(len(X), sample, replace=False))
    Xs, ls = X[idx], labels[idx]
    D = np.maximum(1.0 - Xs @ Xs.T, 0.0)
    out = np.zeros(len(idx))
    onehot = (ls[:, None] == ks[None, :]).astype(np.float64)
    sums = D @ onehot                                  # distance sum to each cluster
    counts = onehot.sum(axis=0)
    own = (ls[:, None] == ks[None, :])
    for i in range(len(idx)):
        c = own[i]
        n_own = counts[c][0] - 1
        if n_own <= 0:
            continue
        a = sums[i, c][0] / n_own
        others = sums[i, ~c] / np.where(counts[~c] > 0, counts[~c], 1)
        b = others[counts[~c] > 0].min()
        out[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return float(out.mean())


def cluster(X: np.ndarray, seed: int = SEED, k: int | None = None, k_max: int = K_MAX) -> Clustering:
    """Cluster unit vectors ``X`` (n × d): ``k`` given, or the k of 2..k_max (at most n / MIN_PER_CLUSTER) with
    the highest silhouette. Clusters are numbered by size, largest first (ties by their smallest row)."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n < 2:
        return Clustering(np.zeros(n, dtype=int), X[:1].copy() if n else np.zeros((0, X.shape[1])), min(n, 1), 0.0)
    ks = [k] if k else list(range(2, max(2, min(k_max, n // MIN_PER_CLUSTER)) + 1))
    ks = [min(max(1, x), n) for x in ks]
    best, scores = None, {}
    for kk in ks:
        labels, C = kmeans(X, kk, seed)
        s = silhouette(X, labels, seed=seed) if kk > 1 else 0.0
        scores[kk] = round(s, 6)
        if best is None or s > best[0] + 1e-12:
            best = (s, kk, labels, C)
    s, kk, labels, C = best
    order = sorted(range(kk), key=lambda j: (-(labels == j).sum(), int(np.argmax(labels == j))))
    remap = np.empty(kk, dtype=int)
    remap[order] = np.arange(kk)
    labels = remap[labels]
    C = _unit(C[order])
    return Clustering(labels, C.astype(np.float64), kk, float(s), scores)


def representatives(X: np.ndarray, c: Clustering, n: int = 3) -> dict[int, list[int]]:
    """Per cluster, the row indexes of the ``n`` members nearest its centre."""
    d = c.distances(np.asarray(X, dtype=np.float64))
    out = {}
    for j in range(c.k):
        rows = np.flatnonzero(c.labels == j)
        out[j] = rows[np.lexsort((rows, d[rows]))][:n].tolist()
    return out
