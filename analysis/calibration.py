"""Calibration against published reference values (the paper's Figure 1 avg@8 per model group).

Pure functions over ``refs`` (``warehouse.frames.reference_values``) and ``qa`` (``metrics.question_accuracy``
of the keys to compare: groups, or models when the selection names models):
- ``reference_agreement(refs, qa, metric="avg@8", mapping=None)``: per question and group: group (reference
  group), key (the observed group or model it is compared with), question_id, tier, observed (pooled
  accuracy), reference, diff (observed - reference), n (samples). ``mapping`` maps reference group ->
  observed key (default: same name), e.g. {"small_sft": "sft_5k"}.
- ``agreement_summary(per_q)``: over ``reference_agreement``'s rows: group, key, n_questions, mae, rmse, bias,
  pearson, spearman, tier_agreement (share of questions where both sides fall on the same side of 0.5).
"""
from __future__ import annotations

import polars as pl



def reference_agreement(refs: pl.DataFrame, qa: pl.DataFrame, metric: str = "avg@8",
                        mapping: dict[str, str] | None = None) -> pl.DataFrame:
    ref = refs.filter(pl.col("metric") == metric)
    mapping = mapping or {g: g for g in ref["group"].unique().to_list()}
    ref = ref.filter(pl.col("group").is_in(list(mapping))).with_columns(
        key=pl.col("group").replace_strict(mapping, return_dtype=pl.String))
    return (ref.join(qa.select("key", "question_id", "accuracy", "n"), on=["key", "question_id"], how="inner")
            .select("group", "key", "question_id", "tier", pl.col("accuracy").alias("observed"),
                    pl.col("value").alias("reference"), (pl.col("accuracy") - pl.col("value")).alias("diff"), "n")
            .sort("group", "question_id"))


def agreement_summary(per_q: pl.DataFrame) -> pl.DataFrame:
    from scipy import stats    # imported when used: scipy costs the app's first render ~1 s

    rows = []
    for part in per_q.partition_by("group", "key", maintain_order=True):
        o, r = part["observed"].to_numpy(), part["reference"].to_numpy()
        varies = len(o) > 1 and o.std() > 0 and r.std() > 0
        rows.append(dict(group=part["group"][0], key=part["key"][0], n_questions=part.height,
                         mae=float(abs(o - r).mean()), rmse=float(((o - r) ** 2).mean() ** 0.5),
                         bias=float((o - r).mean()),
                         pearson=float(stats.pearsonr(o, r)[0]) if varies else None,
                         spearman=float(stats.spearmanr(o, r)[0]) if varies else None,
                         tier_agreement=float(((o > 0.5) == (r > 0.5)).mean())))
    schema = {"group": pl.String, "key": pl.String, "n_questions": pl.Int64, "mae": pl.Float64, "rmse": pl.Float64,
              "bias": pl.Float64, "pearson": pl.Float64, "spearman": pl.Float64, "tier_agreement": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
