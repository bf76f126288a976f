"""Tier schemes from data: the paper's rule over reference groups, and automatic difficulty tiers. Pure
functions over fetched frames (storing a scheme is ``warehouse.tier_store.store_scheme``).

- ``rule_tiers(values, base="base", small_sft="small_sft", easy=0.5, medium=0.5, exh=0.1)``: ``values`` has
    columns question_id, group, value (a group's accuracy on a question). Easy where base > easy; else Medium
    where small_sft > medium; else Exh where every group < exh; else Hard. Returns question_id, tier, detail
    (JSON with the group values and thresholds).
- ``observed_values(qa)``: question_id, group, value from ``metrics.question_accuracy`` by group (pooled);
    the reference values (``warehouse.frames.reference_values``) have these columns already.
- ``auto_tiers(rates, k=4, exh_threshold=0.0)``: question_id, tier, solve_rate, detail from
    ``warehouse.frames.question_rates`` (pooled over every selected model); Exh = rate <= exh_threshold; the
    rest cut into k-1 quantile tiers (Easy, Medium, Hard for k=4; "T1".."Tn" otherwise).
- ``rule_disagreements(paper, values, **rule_kw)``: the rule applied to ``values`` against ``paper``
    (question_id, paper_tier): question_id, paper_tier, rule_tier and one column per group.
"""
from __future__ import annotations

import json

import numpy as np
import polars as pl

from warehouse.errors import UsageError
from warehouse.records import TIERS

_SCHEMA = {"question_id": pl.String, "tier": pl.String, "detail": pl.String}


def rule_tiers(values: pl.DataFrame, base: str = "base", small_sft: str = "small_sft", easy: float = 0.5,
               medium: float = 0.5, exh: float = 0.1) -> pl.DataFrame:
    wide = values.pivot(on="group", index="question_id", values="value", aggregate_function="mean")
    groups = [c for c in wide.columns if c != "question_id"]
    for g in (base, small_sft):
        if g not in groups:
            raise UsageError(f"rule tiers need values for group {g!r}; have {groups}")
    rows = []
    for r in wide.sort("question_id").iter_rows(named=True):
        vals = {g: r[g] for g in groups if r[g] is not None}
        if (r[base] or 0) > easy:
            tier = "Easy"
        elif (r[small_sft] or 0) > medium:
            tier = "Medium"
        elif all(v < exh for v in vals.values()):
            tier = "Exh"
        else:
            tier = "Hard"
        detail = {"rule": {"base": base, "small_sft": small_sft, "easy": easy, "medium": medium, "exh": exh},
                  "values": vals}
        rows.append((r["question_id"], tier, json.dumps(detail, sort_keys=True)))
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def observed_values(qa: pl.DataFrame) -> pl.DataFrame:
    """question_id, group, value: the pooled group accuracies of ``metrics.question_accuracy`` (keys = groups)."""
    return qa.select("question_id", pl.col("key").alias("group"), pl.col("accuracy").alias("value"))


def auto_tiers(rates: pl.DataFrame, k: int = 4, exh_threshold: float = 0.0) -> pl.DataFrame:
    if k < 2:
        raise UsageError("auto tiers need k >= 2 (at least one tier besides Exh)")
    if rates.is_empty():
        raise UsageError("no graded samples in this selection")
    names = list(TIERS[:3]) if k == 4 else [f"T{i + 1}" for i in range(k - 1)]
    rate = rates["solve_rate"].to_numpy()
    exh = rate <= exh_threshold
    tier = np.array(["Exh"] * len(rate), dtype=object)
    rest = ~exh
    if rest.any():
        # fraction of the other questions at least as easy (ties share a tier), cut into k-1 bins
        r = rate[rest]
        frac = np.array([(r > x).sum() + 0.5 * ((r == x).sum() - 1) for x in r]) / max(len(r), 1)
        idx = np.minimum((frac * (k - 1)).astype(int), k - 2)
        tier[rest] = [names[i] for i in idx]
    detail = [json.dumps({"solve_rate": float(x), "n": int(n), "k": k, "exh_threshold": exh_threshold})
              for x, n in zip(rate, rates["n"])]
    return pl.DataFrame({"question_id": rates["question_id"], "tier": tier.tolist(), "solve_rate": rate,
                         "detail": detail})


def rule_disagreements(paper: pl.DataFrame, values: pl.DataFrame, **rule_kw) -> pl.DataFrame:
    """Questions where ``rule_tiers(values)`` differs from ``paper`` (question_id, paper_tier)."""
    rule = rule_tiers(values, **rule_kw)
    wide = values.pivot(on="group", index="question_id", values="value", aggregate_function="mean")
    return (paper.join(rule.select("question_id", pl.col("tier").alias("rule_tier")), on="question_id")
            .filter(pl.col("paper_tier") != pl.col("rule_tier"))
            .join(wide, on="question_id", how="left")
            .sort(pl.col("question_id").cast(pl.Int64, strict=False), "question_id"))
