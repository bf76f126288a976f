"""The `tiers` stage: fetch what a tier scheme is computed from (``warehouse.frames``), compute it
(``analysis.tiers``). Storing it is ``warehouse.tier_store.store_scheme``."""
from __future__ import annotations

import polars as pl

from analysis import metrics
from analysis import tiers as rules
from warehouse import frames
from warehouse.errors import UsageError
from warehouse.filters import Selection
from warehouse.tier_store import scheme_tiers


def group_values(con, sel: Selection, source: str = "observed") -> pl.DataFrame:
    """question_id, group, value: observed pooled group accuracies, or reference values of ``source``."""
    if source == "observed":
        pq = frames.per_question(con, sel, "group")
        return rules.observed_values(metrics.question_accuracy(pq, frames.reference_values(con, sel)))
    ref = frames.reference_values(con, Selection(sel.benchmark, sel.scheme), source)
    if ref.is_empty():
        raise UsageError(f"no reference values from source {source!r} for benchmark {sel.benchmark!r}")
    return ref.select("question_id", "group", "value")


def rule_tiers(con, sel: Selection, base: str = "base", small_sft: str = "small_sft", source: str = "observed",
               groups: tuple[str, ...] = (), **thresholds) -> pl.DataFrame:
    """The paper's rule over group accuracies (observed, or the reference values of ``source``)."""
    vals = group_values(con, sel, source)
    if groups:
        vals = vals.filter(pl.col("group").is_in(list(groups)))
    return rules.rule_tiers(vals, base, small_sft, **thresholds)


def auto_tiers(con, sel: Selection, k: int = 4, exh_threshold: float = 0.0) -> pl.DataFrame:
    rates = frames.question_rates(con, sel)
    if rates.is_empty():
        raise UsageError(f"no graded samples for benchmark {sel.benchmark!r} in this selection")
    return rules.auto_tiers(rates, k, exh_threshold)


def paper_rule_disagreements(con, benchmark: str = "aime24", source: str = "paper_fig1", **rule_kw) -> pl.DataFrame:
    """The rule applied to the ``source`` values against the paper's own tiers."""
    return rules.rule_disagreements(scheme_tiers(con, benchmark, "paper"),
                                    group_values(con, Selection(benchmark, "paper"), source), **rule_kw)
