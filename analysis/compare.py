"""Is B really better than A? A paired comparison of two models (or two groups, or two values of a model
factor) on the questions both answered: pure functions over ``warehouse.frames.per_question`` frames
(key, question_id, tier, category, n, c). The method is in docs/ANALYSIS.md ("Paired comparisons").

- ``pair(pq, a, b)``: one row per question both sides answered: question_id, tier, category, n_a, c_a,
  n_b, c_b, acc_a, acc_b, diff (= acc_b - acc_a), flip ("a_only": solved by A, not by B; "b_only"; null).
  ``a`` and ``b`` are lists of keys of ``pq`` whose samples are pooled (a model, a group, the models that
  share a factor value). A question is *solved* when its accuracy is >= ``SOLVED`` (with one sample: right).
  ``UsageError`` when a side has no rows, the sides overlap, or they share no question.
- ``compare(paired, by="tier")``: per value of ``by`` (tier, in ``records.TIERS`` order, or category; none
  when every question lacks one) and ``overall`` (every paired question, first): by, n_questions, acc_a,
  acc_b, diff, ci_lo, ci_hi (a paired, expanded percentile bootstrap over questions: the cluster bootstrap;
  ``within=True`` also resamples each question's samples, see ``_bootstrap``), p_value (exact McNemar when every question has one sample per side, else a paired
  sign-flip permutation test on the per-question differences), test, p_holm (Holm across the ``by`` rows
  that could reach ``alpha`` at all, i.e. have an mde; the others and the overall row keep their p-value), mde (the minimum detectable difference at 80% power
  for that many questions; null when no difference of any size could reach ``alpha``), a_only, b_only
  (flipped questions each way).
- ``flips(paired)``: {"a_only": [question_id, ...], "b_only": [...]}.
- ``holm(p)``: Holm-adjusted p-values (step-down, monotone, capped at 1; nan stays nan).
- ``mcnemar_p(b, c)``: the exact two-sided McNemar p-value (a sign test on the b + c discordant questions).
- ``min_detectable(d, n, alpha, power)``: the minimum detectable difference of per-question differences ``d``.

Every random draw comes from ``numpy.random.default_rng(seed)`` started afresh for each row, so a row's
numbers do not depend on which other rows are computed, and results repeat.
"""
from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from analysis import metrics
from warehouse.errors import UsageError
from warehouse.records import tier_rank

SOLVED = 0.5            # a question is solved when its accuracy is at least this
OVERALL = "overall"
NO_VALUE = {"tier": "(no tier)", "category": "(no category)"}
BY = ("tier", "category")
ROW_COLUMNS = ("by", "n_questions", "acc_a", "acc_b", "diff", "ci_lo", "ci_hi", "p_value", "p_holm", "mde")


def _side(pq: pl.DataFrame, keys, name: str) -> pl.DataFrame:
    rows = pq.filter(pl.col("key").is_in(list(keys)))
    if rows.is_empty():
        models = "" if list(map(str, keys)) == [str(name)] else f" (models: {', '.join(map(str, keys)) or 'none'})"
        raise UsageError(f"{name}{models} has no samples here (none of this benchmark, or none under "
                         "these filters)")
    return rows.group_by("question_id").agg(pl.col("tier").first(), pl.col("category").first(),
                                            pl.col("n").sum(), pl.col("c").sum())


def pair(pq: pl.DataFrame, a, b, a_name: str = "A", b_name: str = "B") -> pl.DataFrame:
    """The paired per-question frame of sides ``a`` and ``b`` (lists of ``pq`` keys, pooled)."""
    a, b = list(a), list(b)
    both = sorted(set(map(str, a)) & set(map(str, b)))
    if both:
        raise UsageError(f"{a_name} and {b_name} must not share a model ({', '.join(both)} is on both sides)")
    sa, sb = _side(pq, a, a_name), _side(pq, b, b_name)
    out = sa.join(sb.select("question_id", "n", "c"), on="question_id", how="inner", suffix="_b").rename(
        {"n": "n_a", "c": "c_a"})
    if out.is_empty():
        raise UsageError(f"{a_name} and {b_name} answered no common question ({a_name}: {sa.height} questions, "
                         f"{b_name}: {sb.height}): a paired comparison needs questions both answered")
    acc_a, acc_b = pl.col("c_a") / pl.col("n_a"), pl.col("c_b") / pl.col("n_b")
    return (out.with_columns(acc_a=acc_a, acc_b=acc_b)
            .with_columns(diff=pl.col("acc_b") - pl.col("acc_a"),
                          flip=pl.when((pl.col("acc_a") >= SOLVED) & (pl.col("acc_b") < SOLVED)).then(pl.lit("a_only"))
                          .when((pl.col("acc_b") >= SOLVED) & (pl.col("acc_a") < SOLVED)).then(pl.lit("b_only"))
                          .otherwise(None))
            .select("question_id", "tier", "category", "n_a", "c_a", "n_b", "c_b", "acc_a", "acc_b", "diff", "flip")
            .sort(metrics.tier_rank(), pl.col("question_id").cast(pl.Int64, strict=False), "question_id"))


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar: under no difference each of the b + c discordant questions goes either way
    with probability 1/2 (a binomial sign test); 1.0 with no discordant question."""
    return 1.0 if b + c == 0 else float(stats.binomtest(int(c), int(b + c), 0.5).pvalue)


def permutation_p(d: np.ndarray, seed: int = 0, n_resamples: int = 9999) -> float:
    """Paired permutation test of mean(d) = 0: the sign of each non-zero per-question difference is flipped
    at random (exact when 2^questions <= n_resamples). 1.0 when at most one difference is non-zero (its two
    sign flips are equally extreme; scipy refuses a single observation)."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    if d.size <= 1:
        return 1.0
    res = stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                 vectorized=True, n_resamples=n_resamples, rng=np.random.default_rng(seed))
    return float(min(1.0, res.pvalue))


def holm(p) -> np.ndarray:
    """Holm's step-down adjustment of the p-values ``p`` (nan entries are not tests and stay nan)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def _k_min(alpha: float) -> int:
    """The fewest questions that, all differing the same way, make a two-sided sign test reach ``alpha``."""
    return math.ceil(math.log2(2 / alpha))


def min_detectable(d, n_max: int = 1, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest true mean difference the tests here would detect (p < ``alpha``) with probability
    ``power`` on ``len(d)`` questions as noisy as these: (z_{1-alpha/2} + z_power) * sqrt(mean(d^2) / Q)
    (the normal approximation with the null variance of the sign-flip and McNemar tests: for one sample
    per question, mean(d^2) is the share of discordant questions), but never below what the exact test can
    reach at all: ``k_min`` questions differing by the smallest step (1 / samples) the same way, divided by
    Q. None when Q < k_min: no difference of any size can be significant."""
    d = np.asarray(d, dtype=float)
    q = d.size
    k = _k_min(alpha)
    if q < k:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(max(z * math.sqrt(float(np.mean(d ** 2)) / q), k / (max(n_max, 1) * q)))


def _bootstrap(paired: pl.DataFrame, n_boot: int, seed: int, ci: float, within: bool = False) -> tuple[float, float]:
    """Percentile interval of the mean difference: questions resampled with replacement (the cluster bootstrap:
    a question's observed accuracy already carries the noise of its samples), and with ``within`` also each
    drawn question's samples (a binomial draw at its observed accuracy), which counts that noise twice: 98-99.5%
    coverage for a nominal 95% in tests/test_compare.py's simulation, against 94-96% without."""
    q = paired.height
    if q < 2 or n_boot <= 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    n_a, c_a = paired["n_a"].to_numpy(), paired["c_a"].to_numpy()
    n_b, c_b = paired["n_b"].to_numpy(), paired["c_b"].to_numpy()
    idx = rng.integers(0, q, size=(n_boot, q))
    if within and max(n_a.max(), n_b.max()) > 1:
        ra = rng.binomial(n_a[idx], c_a[idx] / n_a[idx]) / n_a[idx]
        rb = rng.binomial(n_b[idx], c_b[idx] / n_b[idx]) / n_b[idx]
    else:
        ra, rb = (c_a / n_a)[idx], (c_b / n_b)[idx]
    means = (rb - ra).mean(axis=1)
    # the expanded percentile interval (Hesterberg 2015): the percentile interval is too narrow for few
    # questions (by sqrt((Q-1)/Q) and z against t); its quantiles are widened to make up for both
    z = math.sqrt(q / (q - 1)) * stats.t.ppf(1 - (1 - ci) / 2, q - 1)
    alpha = float(stats.norm.sf(z))
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


def row(paired: pl.DataFrame, label: str, n_boot: int = 2000, seed: int = 0, ci: float = 0.95,
        alpha: float = 0.05, power: float = 0.8, within: bool = False) -> dict:
    """The comparison on one block of paired questions (see ``compare``), without ``p_holm``."""
    d = paired["diff"].to_numpy()
    n_max = int(max(paired["n_a"].max(), paired["n_b"].max()))
    one = n_max == 1
    if one:
        b = int(((paired["c_a"] == 1) & (paired["c_b"] == 0)).sum())
        c = int(((paired["c_a"] == 0) & (paired["c_b"] == 1)).sum())
        p = mcnemar_p(b, c)
    else:
        p = permutation_p(d, seed)
    lo, hi = _bootstrap(paired, n_boot, seed, ci, within)
    flips = paired["flip"]
    return {"by": label, "n_questions": paired.height, "acc_a": float(paired["acc_a"].mean()),
            "acc_b": float(paired["acc_b"].mean()), "diff": float(d.mean()), "ci_lo": lo, "ci_hi": hi,
            "p_value": p, "test": "mcnemar" if one else "permutation",
            "mde": min_detectable(d, n_max, alpha, power),
            "a_only": int((flips == "a_only").sum()), "b_only": int((flips == "b_only").sum())}


def compare(paired: pl.DataFrame, by: str = "tier", n_boot: int = 2000, seed: int = 0, ci: float = 0.95,
            alpha: float = 0.05, power: float = 0.8, within: bool = False) -> pl.DataFrame:
    """The overall row, then one row per value of ``by`` (see the module docstring)."""
    if by not in BY:
        raise UsageError(f"--by must be one of {', '.join(BY)}, not {by!r}")
    opts = dict(n_boot=n_boot, seed=seed, ci=ci, alpha=alpha, power=power, within=within)
    rows = [row(paired, OVERALL, **opts)]
    if paired[by].null_count() < paired.height:          # some question has a value: one row per value
        parts = paired.with_columns(pl.col(by).fill_null(NO_VALUE[by])).partition_by(by, as_dict=True,
                                                                                      maintain_order=True)
        rank = tier_rank if by == "tier" else (lambda v: 0)
        values = sorted(parts, key=lambda k: (rank(k[0]), k[0] == NO_VALUE[by], str(k[0])))
        rows += [row(parts[v], str(v[0]), **opts) for v in values]
    # Holm across the ``by`` rows that can reach alpha at all (fewer than k_min questions cannot, whatever the
    # outcome: Tarone's rule, counting them would only weaken the others); the overall row is its own family
    testable = [r["p_value"] if r["mde"] is not None else math.nan for r in rows[1:]]
    p_holm = [rows[0]["p_value"], *(r["p_value"] if math.isnan(t) else t
                                    for r, t in zip(rows[1:], holm(testable)))]
    for r, ph in zip(rows, p_holm):
        r["p_holm"] = float(ph)
    schema = {"by": pl.String, "n_questions": pl.Int64, "acc_a": pl.Float64, "acc_b": pl.Float64,
              "diff": pl.Float64, "ci_lo": pl.Float64, "ci_hi": pl.Float64, "p_value": pl.Float64,
              "p_holm": pl.Float64, "mde": pl.Float64, "test": pl.String, "a_only": pl.Int64, "b_only": pl.Int64}
    return pl.DataFrame(rows, schema=schema).with_columns(pl.col(pl.Float64).fill_nan(None))


def flips(paired: pl.DataFrame) -> dict[str, list[str]]:
    """The questions solved by one side only, each way (in tier, then id order)."""
    return {w: paired.filter(pl.col("flip") == w)["question_id"].to_list() for w in ("a_only", "b_only")}


def records(paired: pl.DataFrame, rows: pl.DataFrame, a: str, b: str, benchmark: str) -> dict:
    """The ``report compare`` JSON: {"a", "b", "benchmark", "n_questions", "rows": [...], "flips": {...}}."""
    return {"a": a, "b": b, "benchmark": benchmark, "n_questions": paired.height,
            "rows": rows.select(ROW_COLUMNS).to_dicts(), "flips": flips(paired)}
