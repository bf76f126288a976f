"""Tier migration over a series: how each question's accuracy moves as a numeric model factor grows
(training step, SFT data size, parameters). Pure functions over ``pq``
(``warehouse.frames.per_question(by="model")``) and ``fac`` (``warehouse.frames.factor_table``).

- ``series(pq, fac, factor)``: question_id, tier, x (the factor value), n, c, accuracy: models that share a
  value pool their samples (accuracy = total correct / total samples).
- ``migration(pq, fac, factor, threshold=0.5)``: one row per question, in tier then id order: question_id,
  tier, solved_at, regressed, first_solved, accuracy (a struct of x -> accuracy, as ``{"21": 0.125, ...}``
  in ``records``).
  * ``solved_at``: the first value from which the question's accuracy stays >= threshold at every later
    value of the series; null if none (a question still failed at the last value never is).
  * ``regressed``: solved (>= threshold) at some value, then below it at a later one.
  * ``first_solved``: the first value at which it is >= threshold at all (a regressing question has one,
    and maybe no ``solved_at``).
  Values where a question has no samples are skipped, not counted as failures.
- ``records(m)``: the rows as JSON-ready dicts (the ``report migration`` shape).
"""
from __future__ import annotations

import polars as pl

from analysis import metrics
from warehouse.errors import UsageError
from warehouse.records import NUMERIC_FACTORS


def series(pq: pl.DataFrame, fac: pl.DataFrame, factor: str) -> pl.DataFrame:
    if factor not in NUMERIC_FACTORS:
        raise UsageError(f"--factor must be one of {', '.join(NUMERIC_FACTORS)}, not {factor!r}")
    values = fac.select("model_id", pl.col(factor).cast(pl.Float64).alias("x")).filter(pl.col("x").is_not_null())
    joined = pq.join(values, left_on="key", right_on="model_id")
    return (joined.group_by("question_id", "x")
            .agg(pl.col("tier").first(), pl.col("n").sum(), pl.col("c").sum())
            .with_columns(accuracy=pl.col("c") / pl.col("n"))
            .select("question_id", "tier", "x", "n", "c", "accuracy")
            .sort(metrics.tier_rank(), pl.col("question_id").cast(pl.Int64, strict=False), "question_id", "x"))


def _walk(xs: list[float], accs: list[float], threshold: float) -> tuple[float | None, bool, float | None]:
    """(solved_at, regressed, first_solved) of one question's accuracies along increasing xs."""
    ok = [a >= threshold for a in accs]
    solved_at = None
    for i in range(len(ok) - 1, -1, -1):          # the longest run of solved values that reaches the end
        if not ok[i]:
            break
        solved_at = xs[i]
    first = next((x for x, o in zip(xs, ok) if o), None)
    regressed = any(ok[i] and not ok[j] for i in range(len(ok)) for j in range(i + 1, len(ok)))
    return solved_at, regressed, first


def migration(pq: pl.DataFrame, fac: pl.DataFrame, factor: str, threshold: float = 0.5) -> pl.DataFrame:
    s = series(pq, fac, factor)
    if s["x"].n_unique() < 2:
        raise UsageError(f"the selected models have {s['x'].n_unique()} distinct {factor} value(s): a series "
                         f"needs at least 2 (set them with `python -m pipeline models set MODEL {factor}=...`)")
    rows = []
    for (qid,), part in s.group_by("question_id", maintain_order=True):
        xs, accs = part["x"].to_list(), part["accuracy"].to_list()
        solved_at, regressed, first = _walk(xs, accs, threshold)
        rows.append({"question_id": qid, "tier": part["tier"][0], "solved_at": solved_at, "regressed": regressed,
                     "first_solved": first, "xs": xs, "accuracies": accs})
    schema = {"question_id": pl.String, "tier": pl.String, "solved_at": pl.Float64, "regressed": pl.Boolean,
              "first_solved": pl.Float64, "xs": pl.List(pl.Float64), "accuracies": pl.List(pl.Float64)}
    return pl.DataFrame(rows, schema=schema)


def _label(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def records(m: pl.DataFrame) -> list[dict]:
    """JSON-ready rows: question_id, tier, solved_at, regressed, accuracy {"<value>": accuracy}."""
    out = []
    for r in m.iter_rows(named=True):
        num = lambda v: None if v is None else (int(v) if float(v).is_integer() else v)   # noqa: E731
        out.append({"question_id": r["question_id"], "tier": r["tier"], "solved_at": num(r["solved_at"]),
                    "regressed": r["regressed"],
                    "accuracy": {_label(x): a for x, a in zip(r["xs"], r["accuracies"])}})
    return out
