"""Accuracy metrics with bootstrap confidence intervals over questions: pure functions over a
``warehouse.frames.per_question`` frame ``pq`` (one row per key and question: key, question_id, tier, n, c, maj).

- ``metrics(pq, per_tier=False, n_boot=1000, seed=0, ci=0.95)``: one row per key (and tier): key, [tier],
    n_questions, n_samples (total), avg, avg_lo, avg_hi, cov, cov_lo, cov_hi, maj, maj_lo, maj_hi. avg@n =
    mean over questions of c/n; cov@n = share of questions with >= 1 correct; maj@n = share whose majority
    answer is correct. Keys are models, or groups whose samples are pooled (``per_question(by="group")``).
- ``pass_at_k(pq, per_tier=False, ks=None, n_boot=300, seed=0, ci=0.95)``: key, [tier], k, pass_at_k, lo, hi:
    unbiased pass@k = 1 - C(n-c,k)/C(n,k) averaged over questions, for k = 1..min n (or the given ks <= min n).
- ``question_accuracy(pq, refs)``: key, question_id, tier, category, n, c, accuracy, difficulty (pooled solve
    rate over every key), x (the ladder's question order: ``question_order``), reference (``refs``' value for that
    group and question when the key names a reference group, else null). For Figure 1.
- ``question_order(pq)``: question_id, x: questions sorted by tier (``records.TIERS``), then by pooled solve
    rate (easiest first), then id. The one order of the ladder's x axis, its table and its heatmap.
- ``pass_at_k_estimate(n, c, k)``: the numpy estimator (vectorized over n, c).

Bootstrap: questions are resampled within each key (and tier) block; blocks with the same number of questions
share one multinomial weight matrix (paired), drawn in increasing size order from ``default_rng(seed)``; CI
bounds are order statistics of the resampled means. ``block_stats(values, sizes, n_boot, rng, ci)`` does it
for consecutive row blocks of one matrix at once (mean, lo, hi per block and column); ``bootstrap_many`` for a
list of blocks. Within a block, questions are in question_id order (``question_blocks``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from warehouse.records import TIER_RANK, TIERS

METRICS = ("avg", "cov", "maj")


def pass_at_k_estimate(n, c, k) -> np.ndarray:
    """Unbiased pass@k, 1 - C(n-c, k) / C(n, k), via log-gamma (stable for large n); nan where k > n."""
    from scipy.special import gammaln    # imported when used: scipy.special costs the app's first page ~0.15 s CPU

    n = np.asarray(n, dtype=float)
    c = np.asarray(c, dtype=float)
    k = np.asarray(k, dtype=float)
    fail = n - c
    with np.errstate(invalid="ignore", divide="ignore"):
        log_ratio = (gammaln(fail + 1) - gammaln(np.maximum(fail - k, 0) + 1)
                     - gammaln(n + 1) + gammaln(np.maximum(n - k, 0) + 1))
        out = 1.0 - np.exp(log_ratio)
    out = np.where(fail < k, 1.0, out)
    return np.where(k > n, np.nan, np.clip(out, 0.0, 1.0))


def _column_stats(stack: np.ndarray, n_boot: int, rng: np.random.Generator, ci: float):
    """Mean, percentile lo and hi of every column of ``stack`` (questions x columns), resampling its rows.

    One (n_boot x questions) multinomial weight matrix for all columns (a paired bootstrap), one matrix
    product, and the bounds as order statistics (partial sorts). Draws nothing when n_boot <= 0 (nan CIs).
    """
    q = stack.shape[0]
    if q == 0:
        return tuple(np.full(stack.shape[1], np.nan) for _ in range(3))
    mean = np.ascontiguousarray(stack.T).sum(axis=1) / q       # = column.mean(), same summation order
    if n_boot <= 0:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    alpha = (1 - ci) / 2
    klo, khi = int(np.floor(alpha * (n_boot - 1))), int(np.ceil((1 - alpha) * (n_boot - 1)))
    w = rng.multinomial(q, np.full(q, 1.0 / q), size=n_boot).astype(float) / q   # (B, Q)
    means = np.ascontiguousarray((w @ stack).T)                                        # (columns, B)
    # two single-kth partitions (numpy's SIMD selection) are ~3x faster than one with kth=[lo, hi]
    means.partition(klo, axis=1)
    lo = means[:, klo].copy()
    if khi == klo:
        return mean, lo, lo.copy()
    upper = means[:, klo + 1:]                       # everything >= the lo-th order statistic
    upper.partition(khi - klo - 1, axis=1)
    return mean, lo, upper[:, khi - klo - 1].copy()


def bootstrap_many(blocks: list[np.ndarray], n_boot: int, rng: np.random.Generator, ci: float = 0.95):
    """Percentile CIs of column means for many (questions x metrics) blocks at once.

    Blocks with the same shape share one set of resampling weights (a paired bootstrap: the same
    resampled question sets for every model), drawn in increasing shape order, so each shape is one
    matrix product. Returns lists lo, hi of arrays (one per block, one value per metric column).
    """
    lo: list = [None] * len(blocks)
    hi: list = [None] * len(blocks)
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, b in enumerate(blocks):
        by_size.setdefault(b.shape, []).append(i)
    for (q, m), idx in sorted(by_size.items()):
        _, qlo, qhi = _column_stats(np.concatenate([blocks[i] for i in idx], axis=1), n_boot, rng, ci)
        for j, i in enumerate(idx):
            lo[i], hi[i] = qlo[j * m:(j + 1) * m], qhi[j * m:(j + 1) * m]
    return lo, hi


def block_stats(values: np.ndarray, sizes, n_boot: int, rng: np.random.Generator, ci: float = 0.95):
    """``bootstrap_many`` over consecutive row blocks of one matrix, vectorised: block i is the next
    ``sizes[i]`` rows of ``values`` (rows x metrics). Returns mean, lo, hi, each (blocks x metrics);
    the same numbers as ``bootstrap_many`` on the split blocks (and column means) with the same rng."""
    values = np.asarray(values, dtype=float)
    values = values[:, None] if values.ndim == 1 else values
    sizes = np.asarray(sizes, dtype=np.int64)
    m = values.shape[1]
    out = [np.full((len(sizes), m), np.nan) for _ in range(3)]
    starts = np.cumsum(sizes) - sizes
    for q in np.unique(sizes):                       # increasing size, as bootstrap_many draws
        idx = np.flatnonzero(sizes == q)
        rows = starts[idx, None] + np.arange(q)[None, :]                                  # (G, Q)
        stack = np.ascontiguousarray(values[rows].transpose(1, 0, 2)).reshape(q, -1)    # (Q, G*M)
        for o, v in zip(out, _column_stats(stack, n_boot, rng, ci)):
            o[idx] = v.reshape(-1, m)
    return tuple(out)


def _keys(per_tier: bool) -> list[str]:
    return ["key", "tier"] if per_tier else ["key"]


class Blocks(NamedTuple):
    """A per-question frame cut into one block of questions per key (and tier)."""
    rows: pl.DataFrame     # the frame sorted by the keys, then question_id
    groups: pl.DataFrame   # one row per block, in the same order: keys, n_questions, n_samples
    sizes: np.ndarray      # questions per block


def question_blocks(pq: pl.DataFrame, keys: list[str]) -> Blocks:
    """Sort ``pq`` by ``keys`` and cut it into blocks. Within a block, rows follow question_id (polars'
    multi-column sort is not stable, so the bootstrap's pairing of resampling weights with questions
    would otherwise depend on sort internals)."""
    rows = pq.sort(_row_order(pq, keys), nulls_last=False)
    groups = rows.group_by(keys, maintain_order=True).agg(n_questions=pl.len().cast(pl.Int64),
                                                          n_samples=pl.col("n").sum().cast(pl.Int64))
    return Blocks(rows, groups, groups["n_questions"].to_numpy())


def metric_values(rows: pl.DataFrame) -> np.ndarray:
    """(rows x 3) per-question avg (c/n), cov (c > 0) and maj of a per-question frame."""
    n = rows["n"].to_numpy().astype(float)
    c = rows["c"].to_numpy().astype(float)
    maj = rows["maj"].cast(pl.Float64).to_numpy()
    return np.column_stack([c / n, (c > 0).astype(float), maj])


def metrics(pq: pl.DataFrame, per_tier: bool = False, n_boot: int = 1000, seed: int = 0,
                           ci: float = 0.95) -> pl.DataFrame:
    return metrics_from_blocks(question_blocks(pq, _keys(per_tier)), per_tier, n_boot, seed, ci)


def metrics_from_blocks(b: Blocks, per_tier: bool, n_boot: int, seed: int, ci: float) -> pl.DataFrame:
    keys = _keys(per_tier)
    mean, lo, hi = block_stats(metric_values(b.rows), b.sizes, n_boot, np.random.default_rng(seed), ci)
    cols = {}
    for i, m in enumerate(METRICS):
        cols[m], cols[f"{m}_lo"], cols[f"{m}_hi"] = mean[:, i], lo[:, i], hi[:, i]
    out = b.groups.select(*(pl.col(k).cast(pl.String) for k in keys), "n_questions", "n_samples").with_columns(
        **{c: pl.Series(c, v, dtype=pl.Float64) for c, v in cols.items()})
    return _tier_sorted(out, per_tier)


def _row_order(pq: pl.DataFrame, keys: list[str]) -> list[str]:
    return keys + (["question_id"] if "question_id" in pq.columns and "question_id" not in keys else [])


def tier_rank(col: str = "tier") -> pl.Expr:
    """A tier column's rank in ``records.TIERS`` order (other tiers and none after)."""
    return pl.col(col).replace_strict(TIER_RANK, default=len(TIERS), return_dtype=pl.Int32)


def _tier_sorted(df: pl.DataFrame, per_tier: bool) -> pl.DataFrame:
    if not per_tier or df.is_empty():
        return df
    return df.sort([pl.col("key"), tier_rank()])


def pass_at_k(pq: pl.DataFrame, per_tier: bool = False, ks=None, n_boot: int = 300, seed: int = 0,
                             ci: float = 0.95) -> pl.DataFrame:
    keys = _keys(per_tier)
    b = question_blocks(pq, keys)
    n, c = b.rows["n"].to_numpy(), b.rows["c"].to_numpy()
    starts = np.cumsum(b.sizes) - b.sizes
    kmax = np.minimum.reduceat(n, starts) if len(n) else np.zeros(0, dtype=np.int64)   # k <= every question's n
    grid = np.array(list(ks) if ks else range(1, int(kmax.max(initial=0)) + 1), dtype=np.int64)
    est = pass_at_k_estimate(n[:, None], c[:, None], grid[None, :])                     # (rows, k grid)
    # each block's ks: the grid entries in 1..kmax; blocks of one (size, number of ks) share resampling weights
    # (one matrix product each), drawn in increasing (size, number of ks) order
    cols = [np.flatnonzero((grid >= 1) & (grid <= k)) for k in kmax]
    shapes: dict[tuple[int, int], list[int]] = {}
    for i, (q, cc) in enumerate(zip(b.sizes, cols)):
        if len(cc):
            shapes.setdefault((int(q), len(cc)), []).append(i)
    rng = np.random.default_rng(seed)
    stats: dict[int, tuple] = {}
    for (q, m), idx in sorted(shapes.items()):
        rows = starts[idx, None] + np.arange(q)[None, :]                                    # (G, Q)
        picked = np.take_along_axis(est[rows], np.array([cols[i] for i in idx])[:, None, :], axis=2)  # (G, Q, M)
        stack = np.ascontiguousarray(picked.transpose(1, 0, 2)).reshape(q, -1)
        mean, lo, hi = (v.reshape(-1, m) for v in _column_stats(stack, n_boot, rng, ci))
        for j, i in enumerate(idx):
            stats[i] = (mean[j], lo[j], hi[j])
    order = sorted(stats)                                                                   # blocks in key order
    pick = lambda j: np.concatenate([stats[i][j] for i in order]) if order else np.zeros(0)   # noqa: E731
    k_col = grid[np.concatenate([cols[i] for i in order])] if order else np.zeros(0, dtype=np.int64)
    block_of_row = np.repeat(np.array(order, dtype=np.int64), [len(cols[i]) for i in order])
    return b.groups.select(*(pl.col(k).cast(pl.String) for k in keys))[block_of_row].with_columns(
        k=pl.Series(k_col, dtype=pl.Int64), pass_at_k=pl.Series(pick(0), dtype=pl.Float64),
        lo=pl.Series(pick(1), dtype=pl.Float64), hi=pl.Series(pick(2), dtype=pl.Float64))


def question_order(pq: pl.DataFrame) -> pl.DataFrame:
    """question_id, difficulty (pooled solve rate over every key), x (0 = first): sorted by tier, then by
    difficulty (easiest first), then id."""
    return (pq.group_by("question_id").agg(pl.col("tier").first(), difficulty=pl.col("c").sum() / pl.col("n").sum())
            .sort([tier_rank(), "difficulty", "question_id"], descending=[False, True, False])
            .with_row_index("x").select(pl.col("x").cast(pl.Int64), "question_id", "difficulty"))


def question_accuracy(pq: pl.DataFrame, refs: pl.DataFrame) -> pl.DataFrame:
    """Per key and question: accuracy, the ladder position ``x`` (``question_order``) and the reference value
    of the key's group where ``refs`` (``warehouse.frames.reference_values``) has one."""
    refs = refs.select(pl.col("question_id"), pl.col("group").alias("key"), pl.col("value").alias("reference"))
    return (pq.with_columns(accuracy=pl.col("c") / pl.col("n"))
            .join(question_order(pq), on="question_id", how="left")
            .join(refs.unique(["question_id", "key"]), on=["question_id", "key"], how="left")
            .select("key", "question_id", "tier", "category", "n", "c", "accuracy", "difficulty", "x", "reference")
            .sort(["key", "x"]))
