"""Paired comparisons of a selection (``analysis.compare``): the one composition the `report compare` command,
the Compare page and the Scaling page's step-by-step section use. Each view is ``f(con, sel, ...)`` (cached by
the app's ``common.q``): one fetch through ``warehouse.frames``, then the pure statistics.

A side is a kind and a value: ``("model", MODEL)``, ``("group", GROUP)`` or ``(FACTOR, VALUE)`` (the models whose
factor has that value, e.g. ``("train_step", "140")``); a side's samples of a question are pooled.
"""
from __future__ import annotations

import dataclasses

import polars as pl

from analysis import compare as stats
from warehouse import frames
from warehouse.errors import UsageError
from warehouse.filters import Selection

FACTORS = ("train_step", "sft_size", "params_b", "sft_category", "trajectory_length", "trajectory_style")


def value_text(v) -> str:
    """A factor value as the page and the sides name it (32.0 -> "32")."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def choices(con, sel: Selection) -> dict[str, list[str]]:
    """What can be compared in the selection: kind -> its values (models, groups, then every model factor
    with at least two values); kinds with fewer than two values are left out."""
    fac = frames.factor_table(con, sel, ("group", *FACTORS))
    out = {"model": sorted(fac["model_id"].to_list()),
           "group": sorted(g for g in fac["group"].unique().to_list() if g is not None)}
    for f in FACTORS:
        vals = fac[f].drop_nulls().unique().sort().to_list()
        out[f] = [value_text(v) for v in vals]
    return {k: v for k, v in out.items() if len(v) >= 2}


def side_models(con, sel: Selection, kind: str, value: str) -> list[str]:
    """The models of one side (``UsageError`` naming the kinds when ``kind`` is none of them)."""
    if kind == "model":
        return [value]
    if kind != "group" and kind not in FACTORS:
        raise UsageError(f"cannot compare by {kind!r}: one of model, group, {', '.join(FACTORS)}")
    fac = frames.factor_table(con, sel, (kind,))
    return [m for m, v in zip(fac["model_id"].to_list(), fac[kind].to_list()) if v is not None and value_text(v) == value]


def paired(con, sel: Selection, kind: str, a: str, b: str) -> pl.DataFrame:
    """``analysis.compare.pair`` of the two sides (question_id, tier, category, n_a, c_a, ..., diff, flip)."""
    if a == b:
        raise UsageError(f"A and B are the same ({a}): choose two different ones")
    ma, mb = side_models(con, sel, kind, a), side_models(con, sel, kind, b)
    pq = frames.per_question(con, dataclasses.replace(sel, models=tuple(ma + mb)), "model")
    return stats.pair(pq, ma, mb, a, b)


def view(con, sel: Selection, kind: str, a: str, b: str, by: str = "tier", n_boot: int = 2000) -> dict:
    """The comparison of sides ``a`` and ``b`` of ``kind``: {"paired": per question, "rows": per ``by`` and
    overall (``analysis.compare.compare``)}."""
    p = paired(con, sel, kind, a, b)
    return {"paired": p, "rows": stats.compare(p, by, n_boot=n_boot)}


def pair_trajectories(con, sel: Selection, kind: str, a: str, b: str) -> pl.DataFrame:
    """question_id, t_a, t_b: per question, one trajectory of each side to read side by side: a sample that
    agrees with the side's verdict on the question (a right one where the side solved it, else a wrong
    one), the first such in model and sample order."""
    ma, mb = side_models(con, sel, kind, a), side_models(con, sel, kind, b)
    fa = frames.final_answers(con, dataclasses.replace(sel, models=tuple(ma + mb)))
    if fa.is_empty():
        return pl.DataFrame(schema={"question_id": pl.String, "t_a": pl.Int64, "t_b": pl.Int64})

    def pick(models: list[str], name: str) -> pl.DataFrame:
        rows = fa.filter(pl.col("model_id").is_in(models)).with_columns(pl.col("is_correct").fill_null(False))
        solved = rows.group_by("question_id").agg(solved=pl.col("is_correct").mean() >= stats.SOLVED)
        return (rows.join(solved, on="question_id").filter(pl.col("is_correct") == pl.col("solved"))
                .sort("question_id", "model_id", "sample_idx", "trajectory_id")
                .group_by("question_id", maintain_order=True).agg(pl.col("trajectory_id").first().alias(name)))

    return pick(ma, "t_a").join(pick(mb, "t_b"), on="question_id", how="inner")


def consecutive(con, sel: Selection, factor: str, by: str = "tier", n_boot: int = 1000) -> pl.DataFrame:
    """Every pair of consecutive values of a numeric ``factor`` compared (B = the later value): from, to, then
    ``analysis.compare.compare``'s columns (Holm within each pair, across its ``by`` rows). Pairs that share
    no question are skipped."""
    fac = frames.factor_table(con, sel, (factor,)).filter(pl.col(factor).is_not_null())
    values = sorted(fac[factor].unique().to_list())
    pq = frames.per_question(con, sel, "model")
    out = []
    for lo, hi in zip(values, values[1:]):
        ma = fac.filter(pl.col(factor) == lo)["model_id"].to_list()
        mb = fac.filter(pl.col(factor) == hi)["model_id"].to_list()
        try:
            p = stats.pair(pq, ma, mb, value_text(lo), value_text(hi))
        except UsageError:
            continue
        out.append(stats.compare(p, by, n_boot=n_boot).with_columns(
            pl.lit(value_text(lo)).alias("from"), pl.lit(value_text(hi)).alias("to")))
    if not out:
        return pl.DataFrame()
    df = pl.concat(out)
    return df.select("from", "to", *[c for c in df.columns if c not in ("from", "to")])


# --- words ---------------------------------------------------------------------------------------------

def points(v) -> str:
    """A difference of accuracies in percentage points: "+23", "−4", "0"."""
    x = round(100 * v)
    return f"+{x}" if x > 0 else (f"−{-x}" if x < 0 else "0")


def _ci(r: dict) -> str:
    return f" [{points(r['ci_lo'])}, {points(r['ci_hi'])}]" if r["ci_lo"] is not None else ""


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def sentence(r: dict, a: str, b: str, alpha: float = 0.05, corrected: bool = True) -> str:
    """One row in words: which side is better by how many points, with the interval and the p-value, or
    that no difference was detected and the smallest one these questions could detect."""
    where = "overall" if r["by"] == stats.OVERALL else f"on {r['by']}"
    n = f"{r['n_questions']} question{'s' if r['n_questions'] != 1 else ''}"
    p = r["p_holm"] if corrected else r["p_value"]
    after = " after correction" if corrected and r["by"] != stats.OVERALL else ""
    if p is not None and p < alpha and r["diff"] != 0:
        better, worse = (b, a) if r["diff"] > 0 else (a, b)
        return (f"**{better}** is better than {worse} {where} by {round(100 * abs(r['diff']))} points{_ci(r)}, "
                f"{_p(p)}{after} ({n})")
    if r["mde"] is None:
        return (f"{'Overall' if r['by'] == stats.OVERALL else 'On ' + str(r['by'])}: {points(r['diff'])} points "
                f"({n}): too few questions for a difference of any size to be detectable")
    return (f"No detectable difference {where} ({points(r['diff'])} points{_ci(r)}, {_p(p)}{after}; "
            f"{n} could not detect less than {round(100 * r['mde'])} points)")


def findings(v: dict, a: str, b: str, name=str) -> list[str]:
    """The headline: overall first, then every ``by`` row; ``name`` escapes the sides' names for where they
    are shown (``common.plain``)."""
    rows = v["rows"].to_dicts()
    by_rows = [r for r in rows if r["by"] != stats.OVERALL]
    out = [sentence({**r, "by": name(r["by"])}, name(a), name(b)) for r in rows[:1] + by_rows]
    fl = stats.flips(v["paired"])
    if fl["a_only"] or fl["b_only"]:
        out.append(f"{len(fl['b_only'])} question{'s' if len(fl['b_only']) != 1 else ''} solved by {name(b)} only, "
                   f"{len(fl['a_only'])} by {name(a)} only.")
    return out
