"""Accuracy metrics with bootstrap confidence intervals over questions.

API (every function takes ``con`` and a ``warehouse.filters.Selection``; returns polars):
- ``metrics(con, sel, by="model"|"group", per_tier=False, n_boot=1000, seed=0, ci=0.95)``
    one row per key (and tier): key, [tier], n_questions, n_samples (total), avg, avg_lo, avg_hi,
    cov, cov_lo, cov_hi, maj, maj_lo, maj_hi. avg@n = mean over questions of c/n; cov@n = share of
    questions with >= 1 correct; maj@n = share whose majority answer is correct.
    ``by="group"`` pools the samples of a group's models (accuracy = total correct / total samples).
- ``model_metrics(con, sel, **kw)``, ``model_tier_metrics(con, sel, **kw)``,
  ``group_tier_metrics(con, sel, **kw)``: the same with ``by``/``per_tier`` fixed.
- ``pass_at_k(con, sel, by="model", per_tier=False, ks=None, n_boot=300, seed=0, ci=0.95)``
    key, [tier], k, pass_at_k, lo, hi: unbiased pass@k = 1 - C(n-c,k)/C(n,k) averaged over questions,
    for k = 1..min n (or the given ks that are <= min n).
- ``question_accuracy(con, sel, by="group"|"model", reference_source="paper_fig1")``
    key, question_id, tier, category, n, c, accuracy, difficulty (pooled solve rate over every key),
    x (position: sorted by tier, then by difficulty, easiest first), reference (the paper's value for
    that group and question when the key names a reference group, else null). For Figure 1.
- ``reference_values(con, sel, source="paper_fig1")``: question_id, group, metric, value, tier.
- ``pass_at_k_estimate(n, c, k)``: the numpy estimator (vectorized over n, c).
"""
from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import gammaln

from warehouse.db import query
from warehouse.filters import Selection
from warehouse.selection_sql import per_question, tier_rank

METRICS = ("avg", "cov", "maj")


def pass_at_k_estimate(n, c, k) -> np.ndarray:
    """Unbiased pass@k, 1 - C(n-c, k) / C(n, k), via log-gamma (stable for large n); nan where k > n."""
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


def _bootstrap(values: np.ndarray, n_boot: int, rng: np.random.Generator, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of column means of ``values`` (questions x metrics), resampling questions."""
    lo, hi = bootstrap_many([values], n_boot, rng, ci)
    return lo[0], hi[0]


def bootstrap_many(blocks: list[np.ndarray], n_boot: int, rng: np.random.Generator, ci: float = 0.95):
    """Percentile CIs of column means for many (questions x metrics) blocks at once.

    Blocks with the same number of questions share one set of resampling weights (a paired bootstrap:
    the same resampled question sets for every model), so each size is one matrix product.
    Returns lists lo, hi of arrays (one per block, one value per metric column).
    """
    alpha = (1 - ci) / 2
    lo: list = [None] * len(blocks)
    hi: list = [None] * len(blocks)
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, b in enumerate(blocks):
        by_size.setdefault(b.shape, []).append(i)
    for (q, m), idx in sorted(by_size.items()):
        if q == 0 or n_boot <= 0:
            for i in idx:
                lo[i] = hi[i] = np.full(m, np.nan)
            continue
        w = rng.multinomial(q, np.full(q, 1.0 / q), size=n_boot).astype(float) / q   # (B, Q)
        stack = np.concatenate([blocks[i] for i in idx], axis=1)                          # (Q, G*M)
        means = np.ascontiguousarray((w @ stack).T)                                        # (G*M, B)
        klo, khi = int(np.floor(alpha * (n_boot - 1))), int(np.ceil((1 - alpha) * (n_boot - 1)))
        part = np.partition(means, [klo, khi], axis=1)      # percentile bounds as order statistics
        qlo, qhi = part[:, klo], part[:, khi]
        for j, i in enumerate(idx):
            lo[i], hi[i] = qlo[j * m:(j + 1) * m], qhi[j * m:(j + 1) * m]
    return lo, hi


def _keys(per_tier: bool) -> list[str]:
    return ["key", "tier"] if per_tier else ["key"]


def metrics(con, sel: Selection, by: str = "model", per_tier: bool = False, n_boot: int = 1000,
            seed: int = 0, ci: float = 0.95) -> pl.DataFrame:
    pq = per_question(con, sel, by)
    return metrics_from_questions(pq, per_tier, n_boot, seed, ci)


def metrics_from_questions(pq: pl.DataFrame, per_tier: bool = False, n_boot: int = 1000, seed: int = 0,
                           ci: float = 0.95) -> pl.DataFrame:
    """``metrics`` on an already fetched ``selection_sql.per_question`` frame."""
    keys = _keys(per_tier)
    pq = pq.with_columns(avg=pl.col("c") / pl.col("n"), cov=(pl.col("c") > 0).cast(pl.Float64),
                         maj=pl.col("maj").cast(pl.Float64))
    pq, groups, blocks = sorted_blocks(pq, keys, METRICS)
    los, his = bootstrap_many(blocks, n_boot, np.random.default_rng(seed), ci)
    cols: dict = {}
    for i, m in enumerate(METRICS):
        cols[m] = [float(b[:, i].mean()) for b in blocks]
        cols[f"{m}_lo"] = [float(lo[i]) for lo in los]
        cols[f"{m}_hi"] = [float(hi[i]) for hi in his]
    schema = {k: pl.String for k in keys} | {"n_questions": pl.Int64, "n_samples": pl.Int64} | {
        f"{m}{s}": pl.Float64 for m in METRICS for s in ("", "_lo", "_hi")}
    out = groups.with_columns(**{c: pl.Series(c, v, dtype=pl.Float64) for c, v in cols.items()})
    return _tier_sorted(out.select(list(schema)).cast(schema), per_tier)


def sorted_blocks(pq: pl.DataFrame, keys: list[str], columns) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    """``pq`` sorted by ``keys``, one row per key (keys, n_questions, n_samples), and the (questions x
    columns) float block of each key, in the same order: one pass, no per-key DataFrame. Within a key, rows
    follow question_id (polars' multi-column sort is not stable, so the bootstrap's pairing of resampling
    weights with questions would otherwise depend on sort internals)."""
    pq = pq.sort(_row_order(pq, keys), nulls_last=False)
    groups = pq.group_by(keys, maintain_order=True).agg(n_questions=pl.len().cast(pl.Int64),
                                                        n_samples=pl.col("n").sum().cast(pl.Int64))
    arr = pq.select(columns).to_numpy().astype(float)
    bounds = np.cumsum(groups["n_questions"].to_numpy())[:-1]
    return pq, groups, (np.split(arr, bounds) if len(arr) else [])


def _row_order(pq: pl.DataFrame, keys: list[str]) -> list[str]:
    return keys + (["question_id"] if "question_id" in pq.columns and "question_id" not in keys else [])


def _tier_sorted(df: pl.DataFrame, per_tier: bool) -> pl.DataFrame:
    if not per_tier or df.is_empty():
        return df
    rank = pl.col("tier").replace_strict({"Easy": 0, "Medium": 1, "Hard": 2, "Exh": 3}, default=4,
                                         return_dtype=pl.Int32)
    return df.sort([pl.col("key"), rank])


def model_metrics(con, sel: Selection, **kw) -> pl.DataFrame:
    return metrics(con, sel, by="model", per_tier=False, **kw)


def model_tier_metrics(con, sel: Selection, **kw) -> pl.DataFrame:
    return metrics(con, sel, by="model", per_tier=True, **kw)


def group_tier_metrics(con, sel: Selection, **kw) -> pl.DataFrame:
    return metrics(con, sel, by="group", per_tier=True, **kw)


def pass_at_k(con, sel: Selection, by: str = "model", per_tier: bool = False, ks=None, n_boot: int = 300,
              seed: int = 0, ci: float = 0.95) -> pl.DataFrame:
    pq = per_question(con, sel, by)
    keys = _keys(per_tier)
    prepared = []
    for part in pq.sort(_row_order(pq, keys), nulls_last=False).partition_by(keys, maintain_order=True):
        n, c = part["n"].to_numpy(), part["c"].to_numpy()
        kmax = int(n.min())
        kk = [k for k in (ks or range(1, kmax + 1)) if 1 <= k <= kmax]
        if kk:
            prepared.append((part, kk, pass_at_k_estimate(n[:, None], c[:, None], np.array(kk)[None, :])))
    los, his = bootstrap_many([v for _, _, v in prepared], n_boot, np.random.default_rng(seed), ci)
    rows = []
    for (part, kk, vals), lo, hi in zip(prepared, los, his):
        for j, k in enumerate(kk):
            row = {k_: part[k_][0] for k_ in keys}
            row.update(k=k, pass_at_k=float(vals[:, j].mean()), lo=float(lo[j]), hi=float(hi[j]))
            rows.append(row)
    schema = {k: pl.String for k in keys} | {"k": pl.Int64, "pass_at_k": pl.Float64, "lo": pl.Float64,
                                             "hi": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def question_accuracy(con, sel: Selection, by: str = "group", reference_source: str = "paper_fig1") -> pl.DataFrame:
    pq = per_question(con, sel, by)
    diff = pq.group_by("question_id").agg(difficulty=pl.col("c").sum() / pl.col("n").sum())
    refs = reference_values(con, sel, reference_source).select(
        pl.col("question_id"), pl.col("group").alias("key"), pl.col("value").alias("reference"))
    out = (pq.with_columns(accuracy=pl.col("c") / pl.col("n"))
           .join(diff, on="question_id", how="left")
           .join(refs.unique(["question_id", "key"]), on=["question_id", "key"], how="left"))
    order = (out.select("question_id", "tier", "difficulty").unique("question_id")
             .with_columns(_r=pl.col("tier").replace_strict({"Easy": 0, "Medium": 1, "Hard": 2, "Exh": 3},
                                                             default=4, return_dtype=pl.Int32))
             .sort(["_r", "difficulty", "question_id"], descending=[False, True, False])
             .with_row_index("x").select(pl.col("x").cast(pl.Int64), "question_id"))
    return (out.join(order, on="question_id", how="left")
            .select("key", "question_id", "tier", "category", "n", "c", "accuracy", "difficulty", "x", "reference")
            .sort(["key", "x"]))


def reference_values(con, sel: Selection, source: str = "paper_fig1") -> pl.DataFrame:
    """Reference values (e.g. the paper's Figure 1 avg@8 per group) for the selected questions."""
    where, params = _question_where(sel, "r")
    return query(con, f"""
        SELECT r.question_id, r."group", r.metric, r.value, t.tier
        FROM reference_values r
        LEFT JOIN question_tiers t ON t.benchmark = r.benchmark AND t.question_id = r.question_id AND t.scheme = ?
        WHERE r.source = ? AND {where}
        ORDER BY {tier_rank('t.tier')}, r.question_id, r."group"
    """, [sel.scheme, source] + params)


def _question_where(sel: Selection, alias: str) -> tuple[str, list]:
    """Selection condition restricted to its question filters (benchmark, tiers, categories)."""
    return Selection(sel.benchmark, sel.scheme, sel.tiers, sel.categories).where(alias)
