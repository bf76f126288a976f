"""Coverage vs accuracy: potential (cov@n) against stability (avg@n). Pure functions over a
``warehouse.frames.per_question`` frame ``pq``.

- ``potential_vs_stability(pq, per_tier=True, n_boot=1000, seed=0)``: key, [tier], n_questions, avg, cov, maj
    (+ CIs from ``metrics``), gap (= cov - avg), gap_lo, gap_hi (bootstrap over questions), unstable (questions
    with 0 < accuracy < 1), never (accuracy 0), always (accuracy 1).
- ``unstable_questions(pq)``: key, question_id, tier, n, c, accuracy of every (key, question) with
    0 < accuracy < 1, sorted by question_id, key.
- ``report(pq, n_boot=1000, pass_boot=300, seed=0)``: what the Coverage page shows:
    {"overall", "per_tier", "pass_at_k", "unstable"} (see the function).
- ``compare_to_reference(pq, reference, per_tier=False)``: key, [tier], cov, avg, ref_cov, ref_avg, cov_diff
    (key - reference), avg_lag (reference - key, in points of percentage), summary ("covers as many questions
    as R while avg@n lags by X points").
"""
from __future__ import annotations

import numpy as np
import polars as pl

from analysis import metrics
from warehouse.errors import UsageError


def potential_vs_stability(pq: pl.DataFrame, per_tier: bool = True, n_boot: int = 1000,
                                          seed: int = 0, ci: float = 0.95) -> pl.DataFrame:
    keys = ["key", "tier"] if per_tier else ["key"]
    b = metrics.question_blocks(pq, keys)
    n, c = b.rows["n"].to_numpy().astype(float), b.rows["c"].to_numpy().astype(float)
    acc = c / n
    # the gap itself (cov - avg per question), bootstrapped with its own seeded draws, paired as in metrics
    _, gap_lo, gap_hi = metrics.block_stats((c > 0).astype(float) - acc, b.sizes, n_boot,
                                            np.random.default_rng(seed + 1), ci)
    starts = np.cumsum(b.sizes) - b.sizes
    count = (lambda mask: np.add.reduceat(mask.astype(np.int64), starts)) if len(acc) else \
        (lambda mask: np.zeros(0, dtype=np.int64))
    extra = b.groups.select(*(pl.col(k).cast(pl.String) for k in keys)).with_columns(
        gap_lo=pl.Series(gap_lo[:, 0], dtype=pl.Float64), gap_hi=pl.Series(gap_hi[:, 0], dtype=pl.Float64),
        unstable=pl.Series(count((acc > 0) & (acc < 1)), dtype=pl.Int64),
        never=pl.Series(count(acc == 0), dtype=pl.Int64), always=pl.Series(count(acc == 1), dtype=pl.Int64))
    base = metrics.metrics_from_blocks(b, per_tier, n_boot, seed, ci)
    return (base.with_columns(gap=pl.col("cov") - pl.col("avg"))
            .join(extra, on=keys, how="left", nulls_equal=True))


def unstable_questions(pq: pl.DataFrame) -> pl.DataFrame:
    return (pq.filter((pl.col("c") > 0) & (pl.col("c") < pl.col("n")))
            .select("key", "question_id", "tier", "n", "c", accuracy=pl.col("c") / pl.col("n"))
            .sort(["question_id", "key"]))


def report(pq: pl.DataFrame, n_boot: int = 1000, pass_boot: int = 300, seed: int = 0,
           ci: float = 0.95) -> dict[str, pl.DataFrame]:
    """What the Coverage page shows, from one per-question frame: ``overall`` (``potential_vs_stability``
    per key, its point values only: n_boot 0), ``per_tier`` (per key and tier, with CIs), ``pass_at_k``
    (``metrics.pass_at_k``, ``pass_boot`` resamples) and ``unstable`` (``unstable_questions``)."""
    return {"overall": potential_vs_stability(pq, False, 0, seed, ci),
            "per_tier": potential_vs_stability(pq, True, n_boot, seed, ci),
            "pass_at_k": metrics.pass_at_k(pq, False, None, pass_boot, seed, ci),
            "unstable": unstable_questions(pq)}


def compare_to_reference(pq: pl.DataFrame, reference: str, per_tier: bool = False) -> pl.DataFrame:
    m = metrics.metrics(pq, per_tier=per_tier, n_boot=0)
    keys = ["tier"] if per_tier else []
    ref = m.filter(pl.col("key") == reference)
    if ref.is_empty():
        raise UsageError(f"reference {reference!r} has no results in this selection")
    ref = ref.select(*keys, pl.col("cov").alias("ref_cov"), pl.col("avg").alias("ref_avg"))
    out = (m.select("key", *keys, "n_questions", "cov", "avg")
           .join(ref, on=keys, how="left", nulls_equal=True) if keys else
           m.select("key", "n_questions", "cov", "avg").join(ref, how="cross"))
    out = out.with_columns(cov_diff=pl.col("cov") - pl.col("ref_cov"),
                           avg_lag=(pl.col("ref_avg") - pl.col("avg")) * 100)
    return out.with_columns(summary=pl.struct("key", "cov_diff", "avg_lag", "n_questions").map_elements(
        lambda r: _sentence(r, reference), return_dtype=pl.String))


def _sentence(r: dict, reference: str) -> str:
    covered = round(r["cov_diff"] * r["n_questions"])
    if covered == 0:
        cov_txt = f"covers as many questions as {reference}"
    else:
        cov_txt = f"covers {abs(covered)} {'more' if covered > 0 else 'fewer'} questions than {reference}"
    lag = r["avg_lag"]
    avg_txt = (f"avg@n lags by {lag:.1f} points" if lag > 0 else
               f"avg@n leads by {-lag:.1f} points" if lag < 0 else "avg@n is equal")
    return f"{r['key']} {cov_txt} while {avg_txt}"
