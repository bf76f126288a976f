"""The answer timeline's statistics: the marks of one trajectory's strip, and the aggregates by tier,
model, group or training step. Pure functions over fetched polars frames (warehouse/timeline_store.py,
warehouse/trajectory.py); the timeline itself is derived by derivation/answer_timeline.py.

Marks (``step_events``), one lane each, in this order (``EVENTS``):
  ``gold reached``     verified: the first step whose candidate answer is the gold (the grader decides)
  ``gold lost``        verified: the first step after the last one holding the gold that asserts
                       another answer (the gold is not stated again)
  ``answer changed``   verified: the candidate differs from the previous one
  ``arithmetic slip``  verified: an explicit numeric claim that evaluates otherwise (rules)
  ``backtrack``        marker: a step opening with Wait / Alternatively / Hmm / Let me check
  ``first error?``     judgement: one annotator's suspected first error (the reader picks whose)
Whether a label is verified or a judgement is decided in one place: ``warehouse.records.annotation_kind``.
"""
from __future__ import annotations

import polars as pl

from warehouse.records import TIER_RANK, TIERS, annotation_kind, is_first_error

EVENTS = ("gold reached", "gold lost", "answer changed", "arithmetic slip", "backtrack", "first error?")
EVENT_KIND = {"gold reached": "verified", "gold lost": "verified", "answer changed": "verified",
              "arithmetic slip": "verified", "backtrack": "marker", "first error?": "judgement"}
BACKTRACK_KINDS = frozenset({"wait", "alternatively", "check", "hmm"})
EVENT_SCHEMA = {"step_idx": pl.Int64, "start_char": pl.Int64, "event": pl.Utf8, "kind": pl.Utf8,
                "annotator": pl.Utf8, "score": pl.Float64, "detail": pl.Utf8}


def first_error_annotators(annotations: pl.DataFrame) -> list[str]:
    """The annotators that predicted a first error in this trajectory's annotations, sorted."""
    if annotations.is_empty():
        return []
    return sorted({r["annotator"] for r in annotations.iter_rows(named=True) if is_first_error(r["label"])})


def step_events(steps: pl.DataFrame, answers: pl.DataFrame, annotations: pl.DataFrame,
                first_error_by: str | None = None) -> pl.DataFrame:
    """The marks of one trajectory's strip: step_idx, start_char, event, kind, annotator, score, detail.

    ``steps``: step_idx, start_char, kind; ``answers``: step_idx, answer, is_gold, changed (the steps
    asserting an answer); ``annotations``: step_idx, annotator, label, score, evidence; ``first_error_by``:
    whose first-error judgement to mark (None: nobody's)."""
    start = dict(zip(steps["step_idx"].to_list(), steps["start_char"].to_list())) if steps.height else {}
    rows: list[dict] = []

    def add(i, event, annotator=None, score=None, detail=None):
        rows.append({"step_idx": int(i), "start_char": int(start.get(i, 0)), "event": event,
                     "kind": EVENT_KIND[event], "annotator": annotator, "score": score, "detail": detail})

    rows_a = list(answers.sort("step_idx").iter_rows(named=True)) if answers.height else []
    # the gold is lost once: at the first step after the last one holding it that asserts something else
    # (a trajectory that leaves the gold for an intermediate value and states it again has not lost it)
    last_gold = max((r["step_idx"] for r in rows_a if r["is_gold"]), default=None)
    lost = next((r["step_idx"] for r in rows_a if last_gold is not None and r["step_idx"] > last_gold
                 and r["is_gold"] is False), None)
    reached = False
    for r in rows_a:
        g = r["is_gold"]
        if g and not reached:
            add(r["step_idx"], "gold reached", "timeline", None, f"answer {r['answer']}")
            reached = True
        elif r["step_idx"] == lost:
            add(r["step_idx"], "gold lost", "timeline", None,
                f"answer {r['answer']}; the gold is not stated again")
        if r["changed"] and r["step_idx"] != lost:
            add(r["step_idx"], "answer changed", "timeline", None, f"answer {r['answer']}")
    if steps.height and "kind" in steps.columns:
        for i, k in zip(steps["step_idx"].to_list(), steps["kind"].to_list()):
            if k in BACKTRACK_KINDS:
                add(i, "backtrack", "segmenter", None, k)
    for r in annotations.iter_rows(named=True) if annotations.height else []:
        if r["label"] == "arithmetic_slip" and annotation_kind(r["annotator"], r["label"]) == "verified":
            add(r["step_idx"], "arithmetic slip", r["annotator"], r["score"], r["evidence"])
        elif is_first_error(r["label"]) and r["annotator"] == first_error_by and r["step_idx"] >= 0:
            add(r["step_idx"], "first error?", r["annotator"], r["score"],
                r["label"] + (f": {r['evidence']}" if r["evidence"] else ""))
    if not rows:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    order = {e: i for i, e in enumerate(EVENTS)}
    return pl.DataFrame(rows, schema=EVENT_SCHEMA).sort(
        [pl.col("step_idx"), pl.col("event").replace_strict(order, return_dtype=pl.Int64)])


def jump_targets(events: pl.DataFrame) -> list[tuple[int, str]]:
    """(step_idx, label) of every marked step, in step order, one entry per step (its events joined)."""
    if events.is_empty():
        return []
    out = []
    for (i,), g in events.group_by(["step_idx"], maintain_order=True):
        names = [f"{e}" + (f" ({a})" if k == "judgement" else "") for e, k, a in
                 zip(g["event"].to_list(), g["kind"].to_list(), g["annotator"].to_list())]
        out.append((int(i), ", ".join(dict.fromkeys(names))))
    return sorted(out)


# --- aggregates -----------------------------------------------------------------------------------
BY = {"tier": "tier", "model": "model_id", "group": "group", "train_step": "train_step"}
AGG_COLUMNS = ("key", "n", "n_wrong", "found_then_lost", "found_then_lost_rate", "n_gold_reached",
               "median_frac_before_gold", "median_overthinking_chars", "mean_answer_changes",
               "median_answer_changes")


def per_trajectory(frame: pl.DataFrame) -> pl.DataFrame:
    """``warehouse.timeline_store.per_trajectory`` plus derived columns: found_then_lost (wrong and some step
    held the gold), frac_before_gold (end of the first gold step / length), overthinking_chars
    (characters after the first gold step, correct trajectories only)."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.Boolean).alias("found_then_lost"),
                                  pl.lit(None, pl.Float64).alias("frac_before_gold"),
                                  pl.lit(None, pl.Int64).alias("overthinking_chars"))
    reached = pl.col("first_gold_step").is_not_null()
    return frame.with_columns(
        (~pl.col("is_correct") & reached).alias("found_then_lost"),
        pl.when(reached & (pl.col("n_chars") > 0))
          .then(pl.col("first_gold_char") / pl.col("n_chars")).otherwise(None).alias("frac_before_gold"),
        pl.when(reached & pl.col("is_correct"))
          .then((pl.col("n_chars") - pl.col("first_gold_char")).clip(lower_bound=0)).otherwise(None)
          .cast(pl.Int64).alias("overthinking_chars"),
    )


def aggregate(frame: pl.DataFrame, by: str = "model") -> pl.DataFrame:
    """Per ``by`` (tier | model | group | train_step): n trajectories, n_wrong, found_then_lost (wrong
    trajectories whose steps held the gold) and its rate among the wrong, n_gold_reached, the median
    share of the response before the first correct answer (where reached), the median overthinking
    characters (after the first correct answer, correct trajectories) and answer changes (mean, median).
    Rows whose key is null (untiered, no group, no step) are left out."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    d = per_trajectory(frame)
    col = BY[by]
    if d.is_empty() or col not in d.columns:
        return pl.DataFrame(schema={c: pl.Utf8 if c == "key" else pl.Float64 for c in AGG_COLUMNS})
    d = d.filter(pl.col(col).is_not_null())
    out = d.group_by(col).agg(
        pl.len().alias("n"),
        (~pl.col("is_correct")).sum().alias("n_wrong"),
        pl.col("found_then_lost").sum().alias("found_then_lost"),
        pl.col("first_gold_step").is_not_null().sum().alias("n_gold_reached"),
        pl.col("frac_before_gold").median().alias("median_frac_before_gold"),
        pl.col("overthinking_chars").median().alias("median_overthinking_chars"),
        pl.col("answer_changes").mean().alias("mean_answer_changes"),
        pl.col("answer_changes").median().alias("median_answer_changes"),
    ).with_columns(
        pl.when(pl.col("n_wrong") > 0).then(pl.col("found_then_lost") / pl.col("n_wrong")).otherwise(None)
          .alias("found_then_lost_rate"),
    ).rename({col: "key"})
    if by == "tier":
        out = out.with_columns(pl.col("key").replace_strict(TIER_RANK, default=len(TIERS), return_dtype=pl.Int64)
                               .alias("_r")).sort("_r", "key").drop("_r")
    else:
        out = out.sort("key")
    return out.with_columns(pl.col("key").cast(pl.Utf8)).select(AGG_COLUMNS)
