"""The ladder: which key (model or group) solves which question, and how well difficulty orders them.
Pure functions over a ``warehouse.frames.per_question`` frame ``pq`` (keys are models or groups).

``solved`` = "threshold" (accuracy > threshold) or "any" (>= 1 correct):
- ``solved_matrix(pq, solved="threshold", threshold=0.5)``: long format: key, question_id, tier, accuracy,
    solved, q_rank (0 = easiest question, by solve rate across keys, ties by id), k_rank (0 = key solving the
    most questions).
- ``scalogram(pq, ...)``: Guttman coefficient of reproducibility and Loevinger's H (one row): n_keys,
    n_questions, guttman_errors, reproducibility, loevinger_h, observed_pair_errors, expected_pair_errors.
- ``violations(pq, ...)``: key, easier_question (failed), harder_question (solved), easier_rate, harder_rate,
    gap: every pair where a key solves a harder question but fails an easier one.
- ``difficulty(pq, ridge=0.01, ci=0.95)``: question_id, tier, n, c, solve_rate, rasch_b, rasch_lo, rasch_hi
    (Rasch/1PL difficulty: P(correct) = sigmoid(theta_key - b_q), joint MLE over binomial counts with a small
    ridge penalty; Wald intervals from the penalized Hessian).
- ``abilities(pq, ...)``: key, theta, theta_lo, theta_hi from the same fit.
- ``report(pq, refs)``: what the Ladder page shows: {"questions" (``pq``, for the threshold-dependent
    functions), "accuracy" (``metrics.question_accuracy``), "difficulty"}.
Pure numpy helpers: ``guttman_stats(X)``, ``rasch_fit(n, c, ridge)`` (matrices keys x questions).
"""
from __future__ import annotations

import numpy as np
import polars as pl

from analysis import metrics

SOLVED = ("threshold", "any")


def _wide(pq: pl.DataFrame):
    """keys (sorted, nulls dropped), question ids (sorted), n and c (keys x questions), tier per question."""
    keys = pq["key"].drop_nulls().unique().sort().to_list()
    qids = pq["question_id"].unique().sort().to_list()
    n = np.zeros((len(keys), len(qids)))
    c = np.zeros_like(n)
    rows = pq.filter(pl.col("key").is_not_null()).select(
        pl.col("key").replace_strict(keys, list(range(len(keys))), return_dtype=pl.Int64).alias("i"),
        pl.col("question_id").replace_strict(qids, list(range(len(qids))), return_dtype=pl.Int64).alias("j"),
        "n", "c")
    # an empty frame has Null-typed columns: force integer indices
    i, j = rows["i"].to_numpy().astype(np.intp), rows["j"].to_numpy().astype(np.intp)
    n[i, j] = rows["n"].to_numpy()
    c[i, j] = rows["c"].to_numpy()
    tiers = dict(zip(pq["question_id"], pq["tier"]))
    return keys, qids, n, c, tiers


def _solved(n, c, solved: str, threshold: float) -> np.ndarray:
    if solved not in SOLVED:
        raise ValueError(f"solved must be one of {SOLVED}, not {solved!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(n > 0, c / np.maximum(n, 1), 0.0)
    return (c > 0) if solved == "any" else (acc > threshold)


def _orders(X: np.ndarray):
    """Question order (easiest first) and key order (strongest first), stable."""
    q_order = np.lexsort((np.arange(X.shape[1]), -X.mean(axis=0)))
    k_order = np.lexsort((np.arange(X.shape[0]), -X.sum(axis=1)))
    return q_order, k_order


def solved_matrix(pq: pl.DataFrame, solved: str = "threshold", threshold: float = 0.5) -> pl.DataFrame:
    keys, qids, n, c, tiers = _wide(pq)
    X = _solved(n, c, solved, threshold)
    q_order, k_order = _orders(X)
    q_rank = np.empty(len(qids), int)
    q_rank[q_order] = np.arange(len(qids))
    k_rank = np.empty(len(keys), int)
    k_rank[k_order] = np.arange(len(keys))
    ii, jj = np.nonzero(n > 0)
    return pl.DataFrame({
        "key": [keys[i] for i in ii], "question_id": [qids[j] for j in jj],
        "tier": [tiers.get(qids[j]) for j in jj],
        "accuracy": c[ii, jj] / n[ii, jj], "solved": X[ii, jj].astype(bool),
        "q_rank": q_rank[jj].astype(np.int64), "k_rank": k_rank[ii].astype(np.int64),
    }).sort(["k_rank", "q_rank"])


def guttman_stats(X: np.ndarray) -> dict:
    """Reproducibility and Loevinger's H of a 0/1 matrix (rows = respondents/keys, columns = items/questions)."""
    X = np.asarray(X, dtype=float)
    N, Q = X.shape
    if N == 0 or Q == 0:
        return dict(n_keys=N, n_questions=Q, guttman_errors=0, reproducibility=np.nan, loevinger_h=np.nan,
                    observed_pair_errors=0, expected_pair_errors=0.0)
    q_order, _ = _orders(X)
    Xs = X[:, q_order]
    scores = Xs.sum(axis=1).astype(int)
    ideal = (np.arange(Q)[None, :] < scores[:, None]).astype(float)
    errors = int(np.abs(Xs - ideal).sum())
    p = Xs.mean(axis=0)
    upper = np.triu(np.ones((Q, Q)), k=1)              # pairs (i easier, j harder), i < j
    observed = float(((1 - Xs).T @ Xs * upper).sum())   # fails easier i, solves harder j
    expected = float(N * (np.outer(1 - p, p) * upper).sum())
    return dict(n_keys=N, n_questions=Q, guttman_errors=errors, reproducibility=1 - errors / (N * Q),
                loevinger_h=1 - observed / expected if expected > 0 else np.nan,
                observed_pair_errors=int(observed), expected_pair_errors=expected)


def scalogram(pq: pl.DataFrame, solved: str = "threshold", threshold: float = 0.5) -> pl.DataFrame:
    keys, qids, n, c, _ = _wide(pq)
    return pl.DataFrame([guttman_stats(_solved(n, c, solved, threshold))])


def violations(pq: pl.DataFrame, solved: str = "threshold", threshold: float = 0.5) -> pl.DataFrame:
    keys, qids, n, c, _ = _wide(pq)
    X = _solved(n, c, solved, threshold).astype(bool)
    rate = X.mean(axis=0) if X.size else np.zeros(len(qids))
    # a violation needs the failed question strictly easier (higher solve rate) than the solved one
    easier = rate[:, None] > rate[None, :]
    kk, ee, hh = np.nonzero((~X)[:, :, None] & X[:, None, :] & easier[None, :, :])
    return pl.DataFrame({
        "key": [keys[k] for k in kk], "easier_question": [qids[e] for e in ee],
        "harder_question": [qids[h] for h in hh],
        "easier_rate": rate[ee].astype(float), "harder_rate": rate[hh].astype(float),
        "gap": (rate[ee] - rate[hh]).astype(float),
    }, schema={"key": pl.String, "easier_question": pl.String, "harder_question": pl.String,
               "easier_rate": pl.Float64, "harder_rate": pl.Float64, "gap": pl.Float64}
    ).sort(["key", "gap"], descending=[False, True])


def rasch_fit(n: np.ndarray, c: np.ndarray, ridge: float = 0.01):
    """Joint MLE of theta (keys) and b (questions) for binomial counts; returns theta, b, se_theta, se_b."""
    K, Q = n.shape

    def nll(x):
        th, b = x[:K], x[K:]
        eta = th[:, None] - b[None, :]
        ll = c * eta - n * np.logaddexp(0, eta)
        p = 1 / (1 + np.exp(-eta))
        r = c - n * p
        grad = np.concatenate([-r.sum(axis=1) + 2 * ridge * th, r.sum(axis=0) + 2 * ridge * b])
        return -ll.sum() + ridge * (x @ x), grad

    from scipy import optimize    # imported when used: scipy costs the app's first render ~1 s

    res = optimize.minimize(nll, np.zeros(K + Q), jac=True, method="L-BFGS-B")
    th, b = res.x[:K], res.x[K:]
    p = 1 / (1 + np.exp(-(th[:, None] - b[None, :])))
    w = n * p * (1 - p)
    se_th = 1 / np.sqrt(w.sum(axis=1) + 2 * ridge)
    se_b = 1 / np.sqrt(w.sum(axis=0) + 2 * ridge)
    return th, b, se_th, se_b


def _fit(pq: pl.DataFrame, ridge: float):
    keys, qids, n, c, tiers = _wide(pq)
    return keys, qids, n, c, tiers, rasch_fit(n, c, ridge)


def difficulty(pq: pl.DataFrame, ridge: float = 0.01, ci: float = 0.95) -> pl.DataFrame:
    keys, qids, n, c, tiers, (th, b, se_th, se_b) = _fit(pq, ridge)
    from scipy import stats

    z = stats.norm.ppf(0.5 + ci / 2)
    ns, cs = n.sum(axis=0), c.sum(axis=0)
    return pl.DataFrame({
        "question_id": qids, "tier": [tiers.get(q) for q in qids], "n": ns.astype(np.int64),
        "c": cs.astype(np.int64), "solve_rate": np.where(ns > 0, cs / np.maximum(ns, 1), np.nan),
        "rasch_b": b, "rasch_lo": b - z * se_b, "rasch_hi": b + z * se_b,
    }, schema_overrides={"tier": pl.String}).sort("rasch_b")


def abilities(pq: pl.DataFrame, ridge: float = 0.01, ci: float = 0.95) -> pl.DataFrame:
    keys, qids, n, c, tiers, (th, b, se_th, se_b) = _fit(pq, ridge)
    from scipy import stats

    z = stats.norm.ppf(0.5 + ci / 2)
    return pl.DataFrame({"key": keys, "theta": th, "theta_lo": th - z * se_th,
                         "theta_hi": th + z * se_th}).sort("theta", descending=True)


def report(pq: pl.DataFrame, refs: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """What the Ladder page shows, from one per-question frame and the reference values (``refs``)."""
    return {"questions": pq, "accuracy": metrics.question_accuracy(pq, refs), "difficulty": difficulty(pq)}
