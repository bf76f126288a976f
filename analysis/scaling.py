"""Scaling: accuracy against a model factor (SFT size, training step, parameters), and categorical ablations.
Pure functions over ``pq`` (``warehouse.frames.per_question(by="model")``) and ``fac``
(``warehouse.frames.factor_table``: model_id and the factor columns).

API (``factor`` is a models column: numeric ``NUMERIC_FACTORS``, categorical ``CATEGORICAL_FACTORS``):
- ``numeric_factors(fac)`` / ``categorical_factors(fac)``: factor, n_models, n_values (only factors with >= 2
  distinct values among the models of ``fac``).
- ``points(pq, fac, factor, per_tier=True, n_boot=1000, seed=0)``: x, [tier], n_models and the ``metrics``
  columns (avg, cov, maj with CIs); models sharing an x value pool their samples.
- ``fits(pq, fac, factor, metric="avg", per_tier=True, n_boot=200, seed=0, ci=0.95)``: one row per [tier] x
  fit: fit ("log": y = a + b ln x; "saturating": y = c - (c - a) exp(-b x)), a, b, c (plateau, null for log),
  slope_per_doubling (log: b ln 2), r2, and bootstrap intervals (over questions) of the slope per doubling
  (log) or the plateau (saturating): lo, hi.
- ``bands(pq, fac, factor, metric="avg", per_tier=True, n_boot=200, seed=0, grid=50, ci=0.95)``: [tier], fit,
  x, y, lo, hi: fitted curves with pointwise bootstrap bands, for plotting.
  Bounded: every metric is a share in [0, 1], so the curves, their bands and the plateau's interval are clipped
  to [0, 1] (``clipped`` says where an end was cut: a least-squares fit, unlike the metric, is unbounded and
  can extrapolate a plateau of 75 or an interval of 0.13–1.18); the fitted plateau ``c`` itself is kept as
  fitted, so that a plateau outside [0, 1] is seen (the series does not level off).
- ``ablation(pq, fac, factor, per_tier=True, n_boot=1000, seed=0)``: value, [tier], n_models, avg, cov, maj
  (+ CIs): grouped-bar data.
Pure helpers: ``fit_log(x, y)``, ``fit_saturating(x, y)`` -> dict.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from analysis import metrics
from warehouse.records import NUMERIC_FACTORS

CATEGORICAL_FACTORS = ("sft_category", "trajectory_length", "trajectory_style")


def _list_factors(fac: pl.DataFrame, factors: tuple[str, ...]) -> pl.DataFrame:
    rows = [(f, int(fac[f].is_not_null().sum()), int(fac[f].drop_nulls().n_unique())) for f in factors]
    return pl.DataFrame([r for r in rows if r[2] >= 2], schema={"factor": pl.String, "n_models": pl.Int64,
                                                               "n_values": pl.Int64}, orient="row")


def numeric_factors(fac: pl.DataFrame) -> pl.DataFrame:
    return _list_factors(fac, NUMERIC_FACTORS)


def categorical_factors(fac: pl.DataFrame) -> pl.DataFrame:
    return _list_factors(fac, CATEGORICAL_FACTORS)


def _check(factor: str, allowed: tuple[str, ...]) -> None:
    if factor not in allowed:
        raise ValueError(f"factor must be one of {allowed}, not {factor!r}")


def _pooled(pq: pl.DataFrame, fac: pl.DataFrame, factor: str) -> pl.DataFrame:
    """Per (factor value, question): n, c, maj pooled over the models with that value."""
    fac = fac.select("model_id", factor).filter(pl.col(factor).is_not_null())
    pq = pq.join(fac, left_on="key", right_on="model_id")
    return (pq.group_by(factor, "question_id").agg(
                pl.col("tier").first(), pl.col("n").sum(), pl.col("c").sum(), pl.col("maj").mean(),
                pl.col("key").n_unique().alias("n_models"))
            .with_columns(key=pl.col(factor).cast(pl.String)))


def _points(pooled: pl.DataFrame, factor: str, per_tier: bool, n_boot: int, seed: int) -> pl.DataFrame:
    keys = ["key", "tier"] if per_tier else ["key"]
    m = metrics.metrics(pooled.drop(factor), per_tier, n_boot, seed)
    xs = pooled.group_by("key").agg(pl.col(factor).first().alias("x"), pl.col("n_models").max())
    return m.join(xs, on="key").drop("key").select("x", *keys[1:], "n_models", pl.exclude("x", *keys[1:], "n_models"))


def points(pq: pl.DataFrame, fac: pl.DataFrame, factor: str, per_tier: bool = True, n_boot: int = 1000,
           seed: int = 0) -> pl.DataFrame:
    _check(factor, NUMERIC_FACTORS)
    out = _points(_pooled(pq, fac, factor), factor, per_tier, n_boot, seed)
    return out.with_columns(pl.col("x").cast(pl.Float64)).sort(["tier", "x"] if per_tier else ["x"])


def ablation(pq: pl.DataFrame, fac: pl.DataFrame, factor: str, per_tier: bool = True, n_boot: int = 1000,
             seed: int = 0) -> pl.DataFrame:
    _check(factor, CATEGORICAL_FACTORS)
    return _points(_pooled(pq, fac, factor), factor, per_tier, n_boot, seed).rename({"x": "value"}).sort(
        ["tier", "value"] if per_tier else ["value"])


def fit_log(x, y) -> dict:
    """Least squares y = a + b ln x (x > 0)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = np.column_stack([np.ones_like(x), np.log(x)])
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    return dict(a=float(a), b=float(b), c=None, slope_per_doubling=float(b * np.log(2)), r2=_r2(y, a + b * np.log(x)))


def _sat(x, a, c, b):
    return c - (c - a) * np.exp(-b * x)


def _b_grid(xs: np.ndarray, scale: float, size: int = 120) -> np.ndarray:
    """Rates b on x / max(x): from barely bending to saturated by the smallest x (exp(-b x_min) >= 1e-3)."""
    top = np.log(1e3) / max(float(xs.min()) / scale, 1e-9)
    return np.logspace(-0.5, np.log10(max(top, 1.0)), size)


def _sat_linear(xs, Y, b, scale):
    """For rates ``b`` (array), the least-squares a, c of every row of Y and their SSE: (R, len(b)) each."""
    b = np.atleast_1d(np.asarray(b, float))
    E = np.exp(-np.outer(b, xs) / scale)                      # (nb, X)
    F = 1 - E
    s11, s12, s22 = (E * E).sum(1), (E * F).sum(1), (F * F).sum(1)
    t1, t2 = Y @ E.T, Y @ F.T                                  # (R, nb)
    det = s11 * s22 - s12 ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (s22 * t1 - s12 * t2) / det
        c = (s11 * t2 - s12 * t1) / det
    sse = (Y * Y).sum(1)[:, None] - (a * t1 + c * t2)
    return a, c, np.where(np.isfinite(sse), sse, np.inf)


def _sat_profile(xs: np.ndarray, Y: np.ndarray):
    """Profile least squares of the saturating curve for every row of Y (replicates x points).

    For a fixed rate b the model is linear in (a, c): y = a e + c (1 - e), e = exp(-b x), so a grid of
    b is a batch of 2x2 linear solves for all replicates at once; the best b per replicate wins.
    Returns a, c, b (on x / scale) arrays of length len(Y) and the scale.
    """
    scale = float(xs.max()) or 1.0
    grid = _b_grid(xs, scale)
    a, c, sse = _sat_linear(xs, Y, grid, scale)
    best = np.argmin(sse, axis=1)
    r = np.arange(len(Y))
    return a[r, best], c[r, best], grid[best], scale


def fit_saturating(x, y) -> dict:
    """Least squares y = c - (c - a) exp(-b x), b > 0 (profiled over a grid of b); c is the plateau."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    a, c, bs, scale = _sat_profile(x, y[None, :])
    if np.isfinite(bs[0]):   # refine the grid's best rate
        from scipy import optimize    # imported when used: scipy costs the app's first render ~1 s

        grid = _b_grid(x, scale)
        i = int(np.argmin(np.abs(grid - bs[0])))
        lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
        r = optimize.minimize_scalar(lambda lb: _sat_linear(x, y[None, :], np.exp(lb), scale)[2][0, 0],
                                     bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
        a, c, _ = _sat_linear(x, y[None, :], np.exp(r.x), scale)
        a, c, bs = a[0], c[0], np.array([np.exp(r.x)])
    a, c, bs = float(a[0]), float(c[0]), float(bs[0])
    return dict(a=a, b=bs / scale, c=c, slope_per_doubling=None, r2=_r2(y, _sat(x / scale, a, c, bs)))


def _r2(y, yhat) -> float:
    ss = float(((y - y.mean()) ** 2).sum())
    return float(1 - ((y - yhat) ** 2).sum() / ss) if ss > 0 else np.nan


def _boot_curves(pooled: pl.DataFrame, factor: str, metric: str, per_tier: bool, n_boot: int, seed: int):
    """Yields (tier, x, y, Yboot) with Yboot (n_boot, len(x)): the metric per x under question resampling."""
    pooled = pooled.filter(pl.col(factor) > 0).with_columns(
        v=(pl.col("c") / pl.col("n")) if metric == "avg" else (pl.col("c") > 0).cast(pl.Float64)
        if metric == "cov" else pl.col("maj").cast(pl.Float64))
    rng = np.random.default_rng(seed)
    parts = pooled.partition_by("tier", as_dict=True) if per_tier else {(None,): pooled}
    for (tier,), part in sorted(parts.items(), key=lambda kv: str(kv[0])):
        wide = part.pivot(on=factor, index="question_id", values="v").sort("question_id")
        xs = np.array(sorted(float(c) for c in wide.columns if c != "question_id"))
        cols = {float(c): c for c in wide.columns if c != "question_id"}
        M = wide.select([cols[x] for x in xs]).to_numpy().astype(float)       # questions x values
        y = np.nanmean(M, axis=0)
        if n_boot > 0 and M.shape[0] > 0:
            idx = rng.integers(0, M.shape[0], (n_boot, M.shape[0]))
            Yb = np.nanmean(M[idx], axis=1)
        else:
            Yb = np.empty((0, len(xs)))
        yield tier, xs, y, Yb


def _fits_and_bands(pq, fac, factor, metric, per_tier, n_boot, seed, grid, ci):
    _check(factor, NUMERIC_FACTORS)
    if metric not in ("avg", "cov", "maj"):
        raise ValueError(f"metric must be avg, cov or maj, not {metric!r}")
    fits, bands = [], []
    for tier, xs, y, Yb in _boot_curves(_pooled(pq, fac, factor), factor, metric, per_tier, n_boot, seed):
        if len(xs) < 3:
            continue
        gx = np.exp(np.linspace(np.log(xs.min()), np.log(xs.max()), grid))
        # log fit: all bootstrap replicates in one least-squares solve
        lf = fit_log(xs, y)
        A = np.column_stack([np.ones_like(xs), np.log(xs)])
        coef = np.linalg.lstsq(A, Yb.T, rcond=None)[0] if len(Yb) else np.empty((2, 0))
        curves = coef[0][:, None] + coef[1][:, None] * np.log(gx)[None, :]
        fits.append(dict(tier=tier, fit="log", n_points=len(xs), **lf, **_ci(coef[1] * np.log(2), ci)))
        bands.append((tier, "log", gx, lf["a"] + lf["b"] * np.log(gx), curves))
        sf = fit_saturating(xs, y)
        ba, bc, bb, scale = _sat_profile(xs, Yb) if len(Yb) else (np.array([]),) * 3 + (1.0,)
        fits.append(dict(tier=tier, fit="saturating", n_points=len(xs), **sf, **_ci(bc, ci, bounded=True)))
        scurves = _sat(gx[None, :] / scale, ba[:, None], bc[:, None], bb[:, None])
        bands.append((tier, "saturating", gx, _sat(gx, sf["a"], sf["c"], sf["b"]), scurves))
    return fits, bands


def _ci(v: np.ndarray, ci: float = 0.95, bounded: bool = False) -> dict:
    """Percentile interval of ``v``; ``bounded``: of a share, clipped to [0, 1] (``clipped`` says if it was)."""
    if len(v) == 0:
        return dict(lo=np.nan, hi=np.nan, clipped=False)
    lo, hi = float(np.quantile(v, (1 - ci) / 2)), float(np.quantile(v, 1 - (1 - ci) / 2))
    if not bounded:
        return dict(lo=lo, hi=hi, clipped=False)
    return dict(lo=min(max(lo, 0.0), 1.0), hi=min(max(hi, 0.0), 1.0), clipped=bool(lo < 0 or hi > 1))


_FIT_SCHEMA = {"tier": pl.String, "fit": pl.String, "n_points": pl.Int64, "a": pl.Float64, "b": pl.Float64,
               "c": pl.Float64, "slope_per_doubling": pl.Float64, "r2": pl.Float64, "lo": pl.Float64, "hi": pl.Float64,
               "clipped": pl.Boolean}


def fits(pq: pl.DataFrame, fac: pl.DataFrame, factor: str, metric: str = "avg", per_tier: bool = True,
         n_boot: int = 200, seed: int = 0, ci: float = 0.95) -> pl.DataFrame:
    rows, _ = _fits_and_bands(pq, fac, factor, metric, per_tier, n_boot, seed, 2, ci)
    out = pl.DataFrame(rows, schema=_FIT_SCHEMA, orient="row") if rows else pl.DataFrame(schema=_FIT_SCHEMA)
    return out if per_tier else out.drop("tier")


def bands(pq: pl.DataFrame, fac: pl.DataFrame, factor: str, metric: str = "avg", per_tier: bool = True,
          n_boot: int = 200, seed: int = 0, grid: int = 50, ci: float = 0.95) -> pl.DataFrame:
    _, curves_per_fit = _fits_and_bands(pq, fac, factor, metric, per_tier, n_boot, seed, grid, ci)
    alpha = round((1 - ci) / 2, 12)   # 0.025 exactly for ci=0.95, not 0.025000000000000022
    frames = []
    for tier, fit, gx, y, curves in curves_per_fit:
        lo = np.quantile(curves, alpha, axis=0) if len(curves) else np.full_like(gx, np.nan)
        hi = np.quantile(curves, 1 - alpha, axis=0) if len(curves) else np.full_like(gx, np.nan)
        clipped = (lo < 0) | (hi > 1) | (y < 0) | (y > 1)          # NaN compares False: not clipped
        frames.append(pl.DataFrame({"tier": [tier] * len(gx), "fit": [fit] * len(gx), "x": gx, "y": np.clip(y, 0, 1),
                                    "lo": np.clip(lo, 0, 1), "hi": np.clip(hi, 0, 1), "clipped": clipped},
                                   schema_overrides={"tier": pl.String}))
    schema = {"tier": pl.String, "fit": pl.String, "x": pl.Float64, "y": pl.Float64, "lo": pl.Float64,
              "hi": pl.Float64, "clipped": pl.Boolean}
    out = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return out if per_tier else out.drop("tier")
