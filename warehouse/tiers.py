"""Tier schemes: the paper's, the paper's rule over reference groups, and automatic difficulty tiers.

API:
- ``rule_tiers(values, base="base", small_sft="small_sft", easy=0.5, medium=0.5, exh=0.1)``
    pure: ``values`` has columns question_id, group, value (a group's accuracy on a question).
    Easy where base > easy; else Medium where small_sft > medium; else Exh where every group < exh;
    else Hard. Returns question_id, tier, detail (JSON with the group values and thresholds).
- ``rule_from_warehouse(con, sel, base=..., small_sft=..., source="observed"|"paper_fig1", ...)``
    the rule over observed group accuracies (pooled, ``metrics.question_accuracy``) or over the
    stored reference values of ``source``.
- ``auto_tiers(con, sel, k=4, exh_threshold=0.0)``: question_id, tier, solve_rate, detail. Pooled solve
    rate over every selected model; Exh = rate <= exh_threshold; the rest cut into k-1 quantile tiers
    (Easy, Medium, Hard for k=4; "T1".."Tn" otherwise).
- ``store_scheme(con, benchmark, scheme, tiers_df)``: writes via ``ingest.replace_tier_scheme``.
- ``paper_rule_disagreements(con, benchmark="aime24", **rule_kw)``: the rule applied to the paper's
  Figure 1 values vs the paper's own tiers: question_id, paper_tier, rule_tier, base, small_sft, large.
- ``tier_counts(con, benchmark)``: scheme, tier, n.
"""
from __future__ import annotations

import json

import numpy as np
import polars as pl

from warehouse import ingest
from warehouse.db import query
from warehouse.filters import Selection
from warehouse.records import TIERS, Tier
from warehouse.selection_sql import tier_rank

_SCHEMA = {"question_id": pl.String, "tier": pl.String, "detail": pl.String}


def rule_tiers(values: pl.DataFrame, base: str = "base", small_sft: str = "small_sft", easy: float = 0.5,
               medium: float = 0.5, exh: float = 0.1) -> pl.DataFrame:
    wide = values.pivot(on="group", index="question_id", values="value", aggregate_function="mean")
    groups = [c for c in wide.columns if c != "question_id"]
    for g in (base, small_sft):
        if g not in groups:
            raise ValueError(f"rule tiers need values for group {g!r}; have {groups}")
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


def group_values(con, sel: Selection, source: str = "observed") -> pl.DataFrame:
    """question_id, group, value: observed pooled group accuracies, or reference values of ``source``."""
    from warehouse import metrics

    if source == "observed":
        qa = metrics.question_accuracy(con, sel, by="group")
        return qa.select("question_id", pl.col("key").alias("group"), pl.col("accuracy").alias("value"))
    ref = metrics.reference_values(con, Selection(sel.benchmark, sel.scheme), source)
    if ref.is_empty():
        raise ValueError(f"no reference values from source {source!r} for benchmark {sel.benchmark!r}")
    return ref.select("question_id", "group", "value")


def rule_from_warehouse(con, sel: Selection, base: str = "base", small_sft: str = "small_sft",
                        source: str = "observed", groups: tuple[str, ...] = (), **thresholds) -> pl.DataFrame:
    vals = group_values(con, sel, source)
    if groups:
        vals = vals.filter(pl.col("group").is_in(list(groups)))
    return rule_tiers(vals, base, small_sft, **thresholds)


def auto_tiers(con, sel: Selection, k: int = 4, exh_threshold: float = 0.0) -> pl.DataFrame:
    if k < 2:
        raise ValueError("auto tiers need k >= 2 (at least one tier besides Exh)")
    where, params = sel.where("s")
    rates = query(con, f"""
        SELECT question_id, sum(n_correct)::DOUBLE / sum(n) AS solve_rate, sum(n)::BIGINT AS n
        FROM run_question_stats s WHERE {where} GROUP BY question_id ORDER BY question_id
    """, params)
    if rates.is_empty():
        raise ValueError(f"no graded samples for benchmark {sel.benchmark!r} in this selection")
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


def store_scheme(con, benchmark: str, scheme: str, tiers: pl.DataFrame) -> int:
    """Replace ``scheme`` for ``benchmark`` with these tiers (call inside ``db.writer()``)."""
    recs = [Tier(benchmark, r["question_id"], scheme, r["tier"], r.get("detail"))
            for r in tiers.iter_rows(named=True)]
    return ingest.replace_tier_scheme(con, benchmark, scheme, recs)


def paper_rule_disagreements(con, benchmark: str = "aime24", source: str = "paper_fig1", **rule_kw) -> pl.DataFrame:
    sel = Selection(benchmark, "paper")
    vals = group_values(con, sel, source)
    rule = rule_tiers(vals, **rule_kw)
    paper = query(con, "SELECT question_id, tier AS paper_tier FROM question_tiers WHERE benchmark = ? "
                       "AND scheme = 'paper'", [benchmark])
    wide = vals.pivot(on="group", index="question_id", values="value", aggregate_function="mean")
    return (paper.join(rule.select("question_id", pl.col("tier").alias("rule_tier")), on="question_id")
            .filter(pl.col("paper_tier") != pl.col("rule_tier"))
            .join(wide, on="question_id", how="left")
            .sort(pl.col("question_id").cast(pl.Int64, strict=False), "question_id"))


def tier_counts(con, benchmark: str) -> pl.DataFrame:
    return query(con, f"SELECT scheme, tier, count(*) AS n FROM question_tiers WHERE benchmark = ? "
                      f"GROUP BY ALL ORDER BY scheme, {tier_rank()}", [benchmark])
