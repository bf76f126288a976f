"""The one presentation vocabulary of the app, the export and the report: what a column is called, how a
number is written, which colour a tier, a group or a model gets, how a long label is shortened.

- ``label(col, key=None)``: the human name of a column (``found_then_lost_rate`` -> "Found then lost"),
  never the raw snake_case; ``key`` names what a ``key`` column holds ("model", "group", ...).
- ``fmt(v, col=None)``: a value as text: ``—`` for missing (None, NaN), rates as percentages, other floats
  to 3 significant digits, integers with thousands separators. ``interval(v, lo, hi)``: "0.31 [0.22–0.40]".
- ``TIER_COLORS`` (solid, Paul Tol's colour-blind-safe "muted" scheme, light to dark with difficulty) and
  ``TIER_FILLS`` (the ladder's bands); ``PALETTE``: a distinct qualitative palette for groups and models
  (Okabe–Ito first); ``colors(values)`` gives tiers theirs and everything else the palette in order.
- ``tier_sorted(values)``: tiers in ``warehouse.records.TIERS`` order, then the rest by name.
- ``by_question(df)``: rows by tier, then question id with numeric ids numerically (0, 1, 2, 10: never 0, 1, 10;
  ``analysis.answers.question_key``), the rows of one question in their order.
- ``short(text, n)``: a long categorical label cut to ``n`` characters with "…" (the full text goes in hover).
- ``is_raw(name)``: whether a displayed name still looks like a column name (tests assert none is shown).
"""
from __future__ import annotations

import math
import re

import polars as pl

from analysis.answers import question_key
from warehouse.records import TIERS, tier_rank

MISSING = "—"

# Paul Tol "muted": distinct for every common colour-vision deficiency; Easy light -> Exh dark
TIER_COLORS = dict(zip(TIERS, ("#44AA99", "#DDCC77", "#CC6677", "#332288")))
NO_TIER_COLOR = "#999999"
TIER_FILLS = dict(zip(TIERS, ("rgba(68,170,153,0.14)", "rgba(221,204,119,0.22)", "rgba(204,102,119,0.14)",
                              "rgba(51,34,136,0.12)")))
# Okabe–Ito (without its yellow, weak on white), then Tol's bright/muted colours not too close to them
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#882255", "#999933",
           "#332288", "#000000", "#AA4499", "#44AA99"]
OK_COLOR, WRONG_COLOR, NEUTRAL_COLOR = "#009E73", "#D55E00", "#999999"

LABELS = {
    "key": "Model", "model_id": "Model", "model": "Model", "group": "Group", "question_id": "Question",
    "tier": "Tier", "category": "Category", "benchmark": "Benchmark", "run_id": "Run", "trajectory_id": "Trajectory",
    "sample_idx": "Sample", "train_step": "Training step", "sft_size": "SFT size", "params_b": "Parameters (B)",
    "sft_category": "SFT category", "trajectory_length": "Trajectory length", "trajectory_style": "Trajectory style",
    "n": "Samples", "c": "Correct", "n_questions": "Questions", "n_models": "Models", "n_samples": "Samples",
    "n_trajectories": "Trajectories", "n_annotations": "Annotations", "n_points": "Points",
    "avg": "avg@n", "cov": "cov@n", "maj": "maj@n", "gap": "cov@n − avg@n",
    "avg_lo": "avg@n low", "avg_hi": "avg@n high", "cov_lo": "cov@n low", "cov_hi": "cov@n high",
    "maj_lo": "maj@n low", "maj_hi": "maj@n high", "gap_lo": "gap low", "gap_hi": "gap high",
    "lo": "95% low", "hi": "95% high", "accuracy": "Accuracy", "pass_at_k": "pass@k", "k": "k (samples drawn)",
    "found_then_lost": "Found then lost", "found_then_lost_rate": "Found then lost (share of wrong)",
    "truncated_rate": "Truncated (share)", "median_frac_before_gold": "Response before first correct answer (median share)",
    "top_share": "Top wrong answer's share", "top_answer": "Most common wrong answer", "n_wrong": "Wrong samples",
    "n_unanswered": "No answer", "n_distinct": "Distinct wrong answers", "top_models": "Models giving it",
    "n_models_wrong": "Models wrong", "entropy_bits": "Answer entropy (bits)", "converged": "Converged",
    "share": "Share", "share_correct": "Share of correct", "share_incorrect": "Share of incorrect",
    "share_of_incorrect": "Share of incorrect", "n_correct": "Correct", "n_incorrect": "Incorrect",
    "n_incorrect_trajectories": "Incorrect trajectories", "label": "Label", "flag": "Flag", "annotator": "Annotator",
    "steps": "Steps", "trajectories": "Trajectories", "in_wrong": "In wrong trajectories", "answer": "Answer",
    "is_correct": "Correct", "x": "Value", "y": "Fit", "fit": "Fit", "slope_per_doubling": "Slope per doubling",
    "r2": "R²", "solved_at": "Solved from", "first_solved": "First solved", "regressed": "Regressed",
    "value": "Value", "rasch_b": "Difficulty (logit)", "rasch_lo": "Difficulty low", "rasch_hi": "Difficulty high",
    "mean_chars": "Mean characters", "median_chars": "Median characters", "mean_tokens": "Mean tokens",
    "n_chars": "Characters", "rate": "Share of trajectories", "total": "Trajectories in all",
    "n_gold_reached": "Reached the gold", "median_overthinking_chars": "Characters after the first correct answer (median)",
    "mean_answer_changes": "Answer changes (mean)", "median_answer_changes": "Answer changes (median)",
    "first_error": "First error", "difficulty": "Pooled solve rate",
}
# columns written as percentages (shares of something); other floats get 3 significant digits
_PERCENT = re.compile(r"(_rate|^share.*|_share|^top_share|^median_frac.*|^rate)$")
_RAW = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")


def label(col: str, key: str | None = None) -> str:
    """The human name of column ``col``; ``key``: what a ``key`` column holds (model, group, tier, ...)."""
    if col == "key" and key:
        return label(key)
    if col in LABELS:
        return LABELS[col]
    if col.startswith("pass@") or col.startswith("maj@") or col.startswith("avg@") or col.startswith("cov@"):
        return col
    text = col.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else col


def is_raw(name: str | None) -> bool:
    """Whether a shown header, axis or legend title is still a column name (snake_case, or a bare ``key``)."""
    return bool(name) and (bool(_RAW.fullmatch(name)) or name in ("key", "pass_at_k", "question_id", "model_id"))


def is_percent(col: str | None) -> bool:
    return bool(col) and bool(_PERCENT.search(col))


def missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt(v, col: str | None = None) -> str:
    """``v`` as text: ``—`` when missing, a percentage for a share column, 3 significant digits for other
    floats (0.30000000000000004 -> 0.3), integers with thousands separators."""
    if missing(v):
        return MISSING
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if is_percent(col):
            return f"{v:.0%}" if v in (0.0, 1.0) else f"{v:.1%}"
        return f"{v:.3g}"
    return str(v)


def num(v) -> str:
    """A rate or score to two decimals (``—`` when missing): the findings' and intervals' format."""
    return MISSING if missing(v) else f"{v:.2f}"


def interval(v, lo=None, hi=None) -> str:
    """"0.31 [0.22–0.40]" (the interval only when both ends are known)."""
    if missing(v):
        return MISSING
    return f"{num(v)} [{num(lo)}–{num(hi)}]" if not (missing(lo) or missing(hi)) else num(v)


def short(text, n: int = 24) -> str:
    """``text`` on one line, cut to ``n`` characters with "…" (a 130-digit answer must not squeeze a chart)."""
    t = " ".join(str(MISSING if text is None else text).split())
    return t if len(t) <= n else t[:n - 1] + "…"


def tier_sorted(values) -> list:
    """Tiers in ``TIERS`` order, then every other value by name."""
    return sorted(values, key=lambda v: (tier_rank(v), str(v)))


def by_question(df: pl.DataFrame, col: str = "question_id") -> pl.DataFrame:
    """``df``'s rows by tier (when it has a ``tier`` column), then by ``col`` in the one question order
    (``analysis.answers.question_key``: numeric ids numerically), otherwise in their order."""
    if col not in df.columns or df.height < 2:
        return df
    tiers = df["tier"].to_list() if "tier" in df.columns else [None] * df.height
    qids = df[col].to_list()
    order = sorted(range(df.height), key=lambda i: (tier_rank(tiers[i]), question_key(qids[i]), i))
    return df[order]


def colors(values) -> dict[str, str]:
    """A colour per value: a tier its tier colour, "(none)" grey, anything else the palette in order."""
    out, i = {}, 0
    for v in values:
        s = str(v)
        if s in TIER_COLORS:
            out[s] = TIER_COLORS[s]
        elif s in ("(none)", "(no tier)"):
            out[s] = NO_TIER_COLOR
        else:
            out[s] = PALETTE[i % len(PALETTE)]
            i += 1
    return out
