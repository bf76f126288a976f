"""Coverage vs accuracy: potential (cov@n) against stability (avg@n).

API:
- ``potential_vs_stability(con, sel, by="model", per_tier=True, n_boot=1000, seed=0)``
    key, [tier], n_questions, avg, cov, maj (+ CIs from ``metrics``), gap (= cov - avg),
    gap_lo, gap_hi (bootstrap over questions), unstable (questions with 0 < accuracy < 1),
    never (accuracy 0), always (accuracy 1).
- ``pass_at_k_curves(con, sel, by="model", per_tier=False, **kw)``: ``metrics.pass_at_k``.
- ``compare_to_reference(con, sel, reference, by="model", per_tier=False)``
    key, [tier], cov, avg, ref_cov, ref_avg, cov_diff (key - reference), avg_lag (reference - key, in
    points of percentage), summary ("covers as many questions as R while avg@n lags by X points").
"""
from __future__ import annotations

import numpy as np
import polars as pl

from warehouse import metrics
from warehouse.filters import Selection
from warehouse.selection_sql import per_question


def potential_vs_stability(con, sel: Selection, by: str = "model", per_tier: bool = True, n_boot: int = 1000,
                           seed: int = 0, ci: float = 0.95) -> pl.DataFrame:
    pq = per_question(con, sel, by).with_columns(acc=pl.col("c") / pl.col("n"))
    keys = ["key", "tier"] if per_tier else ["key"]
    base = metrics.metrics_from_questions(pq, per_tier, n_boot, seed, ci)
    counts = pq.group_by(keys).agg(
        unstable=((pl.col("acc") > 0) & (pl.col("acc") < 1)).sum().cast(pl.Int64),
        never=(pl.col("acc") == 0).sum().cast(pl.Int64), always=(pl.col("acc") == 1).sum().cast(pl.Int64))
    # bootstrap of the gap itself (cov - avg per question), paired resampling as in metrics
    pq = pq.with_columns(gap=(pl.col("c") > 0).cast(pl.Float64) - pl.col("acc"))
    _, groups, blocks = metrics.sorted_blocks(pq, keys, ["gap"])
    los, his = metrics.bootstrap_many(blocks, n_boot, np.random.default_rng(seed + 1), ci)
    gap_df = groups.select(keys).cast({k: pl.String for k in keys}).with_columns(
        gap_lo=pl.Series([float(lo[0]) for lo in los], dtype=pl.Float64),
        gap_hi=pl.Series([float(hi[0]) for hi in his], dtype=pl.Float64))
    return (base.with_columns(gap=pl.col("cov") - pl.col("avg"))
            .join(gap_df, on=keys, how="left", nulls_equal=True)
            .join(counts, on=keys, how="left", nulls_equal=True))


def pass_at_k_curves(con, sel: Selection, by: str = "model", per_tier: bool = False, **kw) -> pl.DataFrame:
    return metrics.pass_at_k(con, sel, by=by, per_tier=per_tier, **kw)


def compare_to_reference(con, sel: Selection, reference: str, by: str = "model", per_tier: bool = False) -> pl.DataFrame:
    m = metrics.metrics(con, sel, by=by, per_tier=per_tier, n_boot=0)
    keys = ["tier"] if per_tier else []
    ref = m.filter(pl.col("key") == reference)
    if ref.is_empty():
        raise ValueError(f"reference {reference!r} has no results in this selection")
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
