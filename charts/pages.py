"""What the pages show: their views (data) and the one list of the figures each page draws.

A view composes one fetch through ``warehouse.frames`` with the pure statistics of ``analysis/``. Each is
``f(con, sel, ...)``, so the app's ``common.q`` caches it by warehouse version and arguments: a filter change
costs one query per view, a widget that only re-cuts fetched numbers (the Ladder's threshold) costs none.

``FIGURES[page][name](view, **options)`` draws one figure of a page from that page's view, or returns None
when the view has nothing to draw. The app places them (``figure``); ``export-charts`` renders them all
(``page_figures``), so the files are the charts a user sees.
"""
from __future__ import annotations

from typing import Callable

import plotly.graph_objects as go
import polars as pl

import dataclasses

from analysis import calibration, coverage, ladder, metrics, migration, scaling
from analysis import timeline as timeline_stats
from charts import figures, present
from charts.present import interval, label, num, short, tier_sorted
from warehouse import failures, frames
from warehouse import timeline_store
from warehouse.filters import Selection
from warehouse.records import TIERS, VERIFIED_LABELS, tier_rank


def ladder_report(con, sel: Selection, by: str = "group") -> dict[str, pl.DataFrame]:
    """``analysis.ladder.report``: per-question counts, accuracy with the ladder order, Rasch difficulty."""
    return ladder.report(frames.per_question(con, sel, by), frames.reference_values(con, sel))


def reference_agreement(con, sel: Selection, source: str = "paper_fig1") -> pl.DataFrame:
    """Agreement with the reference values per group (or per model when the selection names models)."""
    refs = frames.reference_values(con, sel, source)
    qa = metrics.question_accuracy(frames.per_question(con, sel, "model" if sel.models else "group"), refs)
    return calibration.agreement_summary(calibration.reference_agreement(refs, qa))


def tier_metrics(con, sel: Selection, n_boot: int = 300) -> pl.DataFrame:
    """avg@n and cov@n of every model per tier, with bootstrap intervals over questions."""
    return metrics.metrics(frames.per_question(con, sel, "model"), per_tier=True, n_boot=n_boot).select(
        "key", "tier", "n_questions", "avg", "avg_lo", "avg_hi", "cov", "cov_lo", "cov_hi")


def overview(con, sel: Selection, by: str = "model", n_boot: int = 300) -> dict[str, pl.DataFrame]:
    """The Overview's answer: avg@n and cov@n per ``by`` (model | group) and tier, and per tier pooled over
    the selection (``pooled``: every key's samples of a question together), with bootstrap intervals."""
    pq = frames.per_question(con, sel, by)
    pooled = (pq.group_by("question_id").agg(pl.col("tier").first(), pl.col("n").sum(), pl.col("c").sum(),
                                              pl.col("maj").mean()).with_columns(key=pl.lit("all"))
              if pq.height else pq)
    return {"per_tier": metrics.metrics(pq, per_tier=True, n_boot=n_boot) if pq.height else pq,
            "overall": metrics.metrics(pq, per_tier=False, n_boot=n_boot) if pq.height else pq,
            "pooled": metrics.metrics(pooled, per_tier=True, n_boot=n_boot) if pq.height else pq,
            "samples": pl.DataFrame({"max_n": [int(pq["n"].max()) if pq.height else 0]}), "by": by}


def samples_per_question(pq_or_view) -> int:
    """The largest number of samples any key has on a question (1: one sample per question everywhere)."""
    if isinstance(pq_or_view, dict):
        return int(pq_or_view["samples"]["max_n"][0]) if "samples" in pq_or_view else 0
    return int(pq_or_view["n"].max()) if pq_or_view.height else 0


def _tier_phrase(r: dict) -> str:
    return str(r["tier"]) if r.get("tier") is not None else "Questions without a tier"


def overview_findings(v: dict, name=str) -> list[str]:
    """2–4 sentences: the accuracy per tier over the selection, the best key, the spread between keys.
    ``name`` escapes text from the warehouse for where it is shown (``common.plain``, ``html.escape``)."""
    pooled, overall, by = v["pooled"], v["overall"], v.get("by", "model")
    if not overall.height:
        return []
    n = samples_per_question(v)
    out = []
    tiers = [r for r in pooled.iter_rows(named=True)]
    if len(tiers) == 1 and tiers[0].get("tier") is None:      # no tiers: the pooled accuracy, said as such
        r = tiers[0]
        out.append(f"All selected {by}s pooled: avg@{n} {interval(r['avg'], r['avg_lo'], r['avg_hi'])}"
                   + (f", cov@{n} {num(r['cov'])}" if n > 1 else "") + ".")
    elif tiers:
        out.append("Accuracy per tier, all selected " + f"{by}s pooled: " + "; ".join(
            f"**{name(_tier_phrase(r))}** avg@{n} {interval(r['avg'], r['avg_lo'], r['avg_hi'])}"
            + (f", cov@{n} {num(r['cov'])}" if n > 1 else "") for r in tiers[:5]) + ".")
    best = overall.sort("avg", descending=True, nulls_last=True).row(0, named=True)
    if overall.height > 1:
        worst = overall.sort("avg", nulls_last=True).row(0, named=True)
        out.append(f"Best {by}: **{name(best['key'])}**, avg@{n} {interval(best['avg'], best['avg_lo'], best['avg_hi'])} "
                   f"over {best['n_questions']} questions; lowest: **{name(worst['key'])}**, {num(worst['avg'])}.")
    else:
        out.append(f"One {by} in this selection: **{name(best['key'])}**, avg@{n} "
                   f"{interval(best['avg'], best['avg_lo'], best['avg_hi'])} over {best['n_questions']} questions.")
    if n <= 1:
        out.append("One sample per question: avg@1 is each question's single verdict, and cov@n equals it; "
                   "more samples per question unlock coverage and pass@k.")
    return out


def coverage_report(con, sel: Selection, by: str = "model", timeline: bool = True) -> dict[str, pl.DataFrame]:
    """``analysis.coverage.report``, plus ``timeline``: the answer-timeline aggregates per ``by`` (unless
    ``timeline`` is False: the Coverage page reads them only while their tab is open), and ``samples``
    (max_n: the most samples a key has on one question; 1 means cov@n = avg@n everywhere)."""
    pq = frames.per_question(con, sel, by)
    out = coverage.report(pq)
    if timeline:
        out["timeline"] = timeline_aggregate(con, sel, by)
    out["samples"] = pl.DataFrame({"max_n": [samples_per_question(pq)]})
    return out


ONE_SAMPLE = ("One sample per question: cov@n equals avg@n for every {by}, so the scatter would lie on the "
              "diagonal, the gap would be zero and pass@k would be a single point. Import several samples per "
              "question (the same prompts sampled n > 1 times) to unlock potential against stability.")


def coverage_findings(v: dict, name=str, by: str = "model") -> list[str]:
    """The Coverage page's answer: where potential exceeds stability most, per key and tier."""
    m, pt = v["overall"], v["per_tier"]
    if not m.height or samples_per_question(v) <= 1:
        return []
    out = []
    top = m.sort("gap", descending=True).row(0, named=True)
    out.append(f"Largest gap between potential and stability: **{name(top['key'])}**, cov@n {num(top['cov'])} "
               f"against avg@n {num(top['avg'])} (gap {num(top['gap'])}): more samples would solve questions its "
               "single tries miss.")
    if pt.height and "gap_lo" in pt.columns and pt["tier"].drop_nulls().len():     # per tier: only with tiers
        t = pt.sort("gap", descending=True).row(0, named=True)
        out.append(f"Per tier, the widest gap is **{name(t['key'])}** on {name(_tier_phrase(t))}: "
                   f"{interval(t['gap'], t['gap_lo'], t['gap_hi'])}.")
    if v.get("unstable") is not None:
        n_q = v["unstable"]["question_id"].n_unique() if v["unstable"].height else 0
        out.append(f"{n_q} question{'s' if n_q != 1 else ''} solved by some samples and failed by others "
                   "(listed under Details).")
    return out


def ladder_findings(rep: dict, name=str, by: str = "model") -> list[str]:
    """The Ladder's answer: accuracy per tier (mean over keys and questions) and whether it falls tier by tier."""
    acc = rep["accuracy"]
    if not acc.height:
        return []
    per = (acc.group_by("tier").agg(pl.col("accuracy").mean(), pl.col("question_id").n_unique().alias("nq"))
           .to_dicts())
    per = sorted(per, key=lambda r: tier_rank(r["tier"]))
    out = []
    tiered = [r for r in per if r["tier"] is not None]
    if tiered:
        out.append("Mean accuracy per tier: " + "; ".join(
            f"**{name(r['tier'])}** {num(r['accuracy'])} ({r['nq']} questions)" for r in tiered) + ".")
        vals = [r["accuracy"] for r in tiered]
        if len(vals) > 1:
            out.append("Accuracy falls with every harder tier." if all(a >= b for a, b in zip(vals, vals[1:])) else
                       "Accuracy does not fall monotonically across tiers: a harder tier scores above an easier one.")
    keys = acc.group_by("key").agg(pl.col("accuracy").mean()).sort("accuracy", descending=True)
    if keys.height > 1:
        b, w = keys.row(0, named=True), keys.row(-1, named=True)
        out.append(f"Highest mean accuracy: **{name(b['key'])}** {num(b['accuracy'])}; lowest: "
                   f"**{name(w['key'])}** {num(w['accuracy'])}.")
    return out


def failure_selection(con, sel: Selection) -> Selection:
    """What the Exh-failures page studies by default: the Exh tier where the benchmark has one under the
    selection's scheme, else the hardest tier it has, else every question."""
    if sel.tiers:
        return sel
    from warehouse import inventory

    tiers = inventory.options(con)["tiers"].get(sel.benchmark, [])
    hardest = tier_sorted([t for t in tiers if t in TIERS])[-1:]
    return dataclasses.replace(sel, tiers=tuple(hardest)) if hardest else sel


def failures_view(con, sel: Selection, by: str = "model") -> dict[str, pl.DataFrame]:
    """The Exh-failures answer for ``sel`` as given (the page picks the tiers): per question how the wrong
    answers concentrate, the five most common wrong answers, found-then-lost and truncation per ``by``, the
    answer-timeline aggregates and the step-error labels."""
    return {"concentration": present.by_question(failures.wrong_answer_concentration(con, sel)),
            "wrong_answers": present.by_question(failures.wrong_answers(con, sel, 5)),
            "flag_rates": failures.flag_rates(con, sel, by),
            "timeline": timeline_aggregate(con, sel, by),
            "step_errors": failures.step_error_types(con, sel),
            "tiers": pl.DataFrame({"tier": list(sel.tiers)}, schema={"tier": pl.String})}


def failures_findings(v: dict, name=str) -> list[str]:
    """What goes wrong on these questions, in plain words with the numbers."""
    conc, rates, se = v["concentration"], v["flag_rates"], v["step_errors"]
    tiers = v["tiers"]["tier"].to_list() if "tiers" in v else []
    where = ("the " + "/".join(name(t) for t in tiers) + " questions") if tiers else "these questions"
    out = []
    if conc.height:
        n_wrong, n_conv = int(conc["n_wrong"].sum()), int(conc["converged"].sum())
        noans = int(conc["n_unanswered"].sum())
        out.append(f"On {where}, {n_wrong:,} wrong samples over {conc.height} question"
                   f"{'s' if conc.height != 1 else ''}; {noans:,} of them give no final answer.")
        if n_conv:
            top = conc.filter(pl.col("converged")).sort("top_share", descending=True).row(0, named=True)
            out.append(f"{n_conv} question{'s' if n_conv != 1 else ''} where two or more models converge on the same "
                       f"wrong answer; strongest: question **{name(top['question_id'])}**, where the answer "
                       f"“{name(short(top['top_answer'], 30))}” is {top['top_share']:.0%} of its wrong samples "
                       f"({top['top_models']} models).")
        else:
            out.append("No two models share a wrong answer: the errors are scattered, not a common misconception.")
    if rates.height and int(rates["n"].sum()):
        n = int(rates["n"].sum())
        ftl, tr = int(rates["found_then_lost"].sum()), int(rates["truncated"].sum())
        out.append(f"Of {n:,} trajectories, {ftl / n:.0%} reached the gold answer along the way and still ended "
                   f"wrong (found then lost); {tr / n:.0%} were cut off or gave no final answer.")
    errs = se.filter(~pl.col("label").is_in(list(VERIFIED_LABELS - {"arithmetic_slip"}))) if se.height else se
    if errs.height:
        t = errs.sort("n_incorrect_trajectories", descending=True).row(0, named=True)
        share = t["share_of_incorrect"]
        out.append(f"Most frequent step-error label: **{name(label(t['label']))}** ({name(t['annotator'])}), in "
                   f"{t['n_incorrect_trajectories']:,} wrong trajectories" +
                   (f" ({share:.0%} of them)." if share is not None else "."))
    return out[:4]


NON_ERROR_LABELS = frozenset({"gold_reached"})        # a milestone, not an error: shown apart, never stacked


def step_error_view(con, sel: Selection, by: str = "tier") -> dict[str, pl.DataFrame]:
    """Step-error labels and trajectory flags per ``by`` as rates: the share of the ``by`` value's
    trajectories carrying each (tiers differ in size: raw counts would make the biggest tier tower)."""
    se, fl = failures.step_error_counts(con, sel, by), failures.flag_counts(con, sel, by)
    pq = frames.per_question(con, sel, "group" if by == "group" else "model")
    col = {"tier": "tier", "category": "category", "model": "key", "group": "key"}[by]
    tot = (pq.with_columns(pl.col(col).cast(pl.String).fill_null("(none)").alias(by))
           .group_by(by, maintain_order=True).agg(pl.col("n").sum().alias("total"),
                                                  pl.col("question_id").n_unique().alias("n_questions"))
           if pq.height else pl.DataFrame(schema={by: pl.String, "total": pl.Int64, "n_questions": pl.UInt32}))

    def rated(df: pl.DataFrame) -> pl.DataFrame:
        if df.is_empty():
            return df.with_columns(pl.lit(None, pl.Int64).alias("total"), pl.lit(None, pl.Float64).alias("rate"))
        return df.join(tot.select(by, "total"), on=by, how="left").with_columns(
            rate=pl.col("trajectories") / pl.col("total"))
    return {"labels": rated(se), "flags": rated(fl), "totals": tot}


def timeline_aggregate(con, sel: Selection, by: str = "model") -> pl.DataFrame:
    """``analysis.timeline.aggregate`` of the selected trajectories' answer timelines per ``by``
    (tier | model | group | train_step): found-then-lost rate, median share before the first correct
    answer, overthinking characters, answer changes."""
    return timeline_stats.aggregate(timeline_store.per_trajectory(con, sel), by)


def _factors(con, sel: Selection) -> pl.DataFrame:
    return frames.factor_table(con, sel, scaling.NUMERIC_FACTORS + scaling.CATEGORICAL_FACTORS)


def _scaling_inputs(con, sel: Selection) -> tuple[pl.DataFrame, pl.DataFrame]:
    return frames.per_question(con, sel, "model"), _factors(con, sel)


def scaling_factors(con, sel: Selection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The numeric and the categorical factors that vary among the selected models."""
    fac = _factors(con, sel)
    return scaling.numeric_factors(fac), scaling.categorical_factors(fac)


def scaling_points(con, sel: Selection, factor: str, n_boot: int = 300) -> pl.DataFrame:
    return scaling.points(*_scaling_inputs(con, sel), factor, True, n_boot=n_boot)


def scaling_curves(con, sel: Selection, factor: str, metric: str, n_boot: int = 100) -> dict[str, pl.DataFrame]:
    """The fits (with intervals) and their bootstrap bands, from one fetch."""
    pq, fac = _scaling_inputs(con, sel)
    return {"fits": scaling.fits(pq, fac, factor, metric, True, n_boot=n_boot),
            "bands": scaling.bands(pq, fac, factor, metric, True, n_boot=n_boot)}


def scaling_ablation(con, sel: Selection, factor: str, n_boot: int = 300) -> pl.DataFrame:
    return scaling.ablation(*_scaling_inputs(con, sel), factor, True, n_boot=n_boot)


def scaling_groups(con, sel: Selection, factor: str, n_boot: int = 300) -> dict[str, pl.DataFrame]:
    """Where the factor's values pool models of different groups (``mixed``: value, groups), and the series
    split per group (``points``: group, x, avg, ... over all the selected tiers)."""
    fac = frames.factor_table(con, sel, (factor, "group")).filter(pl.col(factor).is_not_null())
    mixed = (fac.group_by(factor).agg(pl.col("group").fill_null("(none)").unique().sort().alias("groups"))
             .filter(pl.col("groups").list.len() > 1).sort(factor)
             .select(pl.col(factor).alias("value"), pl.col("groups").list.join(", ")))
    pq = frames.per_question(con, sel, "model")
    parts = []
    for (g,), gfac in fac.filter(pl.col("group").is_not_null()).partition_by("group", as_dict=True).items():
        if gfac[factor].n_unique() >= 2:
            pts = scaling.points(pq.filter(pl.col("key").is_in(gfac["model_id"].to_list())), gfac.drop("group"),
                                 factor, False, n_boot=n_boot)
            parts.append(pts.with_columns(group=pl.lit(g)))
    return {"mixed": mixed, "points": pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()}


def scaling_findings(pts: pl.DataFrame, factor: str, metric: str = "avg", name=str) -> list[str]:
    """Per tier, the metric at the smallest and the largest factor value, with intervals."""
    if pts.is_empty():
        return []
    out = []
    rows = []
    for (t,), d in sorted(pts.partition_by("tier", as_dict=True).items(), key=lambda kv: tier_rank(kv[0][0])):
        d = d.sort("x")
        if d.height < 2:
            continue
        a, b = d.row(0, named=True), d.row(-1, named=True)
        rows.append(f"**{name(t or 'no tier')}** {interval(a[metric], a[f'{metric}_lo'], a[f'{metric}_hi'])} at "
                    f"{a['x']:g} → {interval(b[metric], b[f'{metric}_lo'], b[f'{metric}_hi'])} at {b['x']:g}")
    if rows:
        out.append(f"{metric}@n from the smallest to the largest {label(factor)}: " + "; ".join(rows[:4]) + ".")
    return out


def scaling_migration(con, sel: Selection, factor: str, threshold: float = 0.5) -> dict[str, pl.DataFrame]:
    """Each question along the ``factor`` series: its accuracy per value and when it is solved for good."""
    pq, fac = _scaling_inputs(con, sel)
    return {"series": migration.series(pq, fac, factor), "migration": migration.migration(pq, fac, factor, threshold)}


# --- the figures of each page ------------------------------------------------------------------

def _ladder(v, reference: pl.DataFrame | None = None, key: str | None = None, **_) -> go.Figure:
    return figures.ladder_figure(v["accuracy"], series="key", reference=reference, key=key)


def _solved_matrix(v, threshold: float = 0.5, **_) -> go.Figure | None:
    sm = ladder.solved_matrix(v["questions"], "threshold", threshold)
    return None if sm.is_empty() else figures.solved_matrix_figure(sm)


def _pass_at_k(v, **_) -> go.Figure | None:
    pk = v["pass_at_k"]
    if not pk.height or pk["k"].max() <= 1:          # one sample per question: no curve to draw
        return None
    return figures.line_figure(pk, "k", "pass_at_k", color="key", title="pass@k: solved by at least one of k samples",
                               band=("lo", "hi"))


def _several_samples(v) -> bool:
    return "samples" not in v or samples_per_question(v) > 1


def _coverage_scatter(v, **_) -> go.Figure | None:
    if v["overall"].is_empty() or not _several_samples(v):    # one sample: every point on the diagonal
        return None
    return figures.scatter_figure(v["overall"], "avg", "cov", "key", title="Potential (cov@n) against stability (avg@n)",
                                  diagonal=True)


def _gap(v, key_title: str | None = None, **_) -> go.Figure | None:
    """Every key's gap per tier; past ``figures.TOP_KEYS`` keys, the widest overall gaps, widest first (240 models
    made 960 bars under unreadable ticks, 1 s to draw; the page's table has every key)."""
    pt = v["per_tier"]
    if pt.is_empty() or not _several_samples(v):    # one sample: a gap of zeros
        return None
    keys = v["overall"].sort(["gap", "key"], descending=[True, False], nulls_last=True)["key"].to_list()
    if len(keys) <= figures.TOP_KEYS:
        return figures.gap_figure(pt, key_title=key_title)
    top = {k: i for i, k in enumerate(keys[:figures.TOP_KEYS])}
    fig = figures.gap_figure(pt.filter(pl.col("key").is_in(list(top)))
                             .sort(pl.col("key").replace_strict(top), maintain_order=True), key_title=key_title)
    noun = (key_title or label("key")).lower()
    return fig.update_layout(title_text=f"{fig.layout.title.text}: the {len(top)} {noun}s of {len(keys)} with "
                                        "the widest overall gap")


def _wrong_answer_bars(v, **_) -> go.Figure | None:
    """Per question, its five most common wrong answers as shares of its wrong samples: one bar per answer
    rank (colours are ranks, never answers: a 130-digit answer is a hover text, not a legend entry)."""
    wa = v["wrong_answers"]
    if wa.is_empty():
        return None
    wa = wa.with_columns(pl.format("#{}", pl.col("rank")).alias("rank_label"),
                         pl.col("question_id").cast(pl.String))
    fig = figures.bar_figure(wa, "question_id", "share", color="rank_label", barmode="stack", percent=True,
                             title="The most common wrong answers per question (share of its wrong samples)",
                             color_title="Wrong answer (rank)", y_title="Share of wrong samples", x_title="Question")
    parts = {k[0]: d for k, d in wa.partition_by("rank_label", as_dict=True).items()}
    for t in fig.data:
        d = parts.get(t.name)
        if d is not None:
            answers = dict(zip(d["question_id"].to_list(), d["answer"].to_list()))
            t.customdata = [figures._esc(f"question {q}: {short(answers.get(q), 60)}") for q in t.x]
    return fig


def _failure_flags(v, **_) -> go.Figure | None:
    r = v["flag_rates"]
    if r.is_empty() or not (r["found_then_lost"].sum() or r["truncated"].sum()):
        return None
    long = r.unpivot(index="key", on=["found_then_lost_rate", "truncated_rate"], variable_name="flag",
                     value_name="rate").with_columns(pl.col("flag").replace(
                         {"found_then_lost_rate": "found then lost", "truncated_rate": "truncated / no answer"}))
    return figures.bar_figure(long, "key", "rate", color="flag", percent=True, color_title="Outcome",
                              title="Found the gold answer, then lost it; cut off", y_title="Share of trajectories")


def _step_error_bars(v, by: str = "tier", **_) -> go.Figure | None:
    """The step-error labels of the most affected trajectories, as shares of each ``by`` value's trajectories
    (one colour per ``by`` value; milestone labels such as gold_reached apart)."""
    se = v["labels"]
    if se.is_empty():
        return None
    by = next(c for c in ("tier", "category", "model", "group") if c in se.columns)
    se = se.filter(~pl.col("label").is_in(list(NON_ERROR_LABELS)))
    if se.is_empty():
        return None
    top = (se.group_by("label").agg(pl.col("trajectories").sum()).sort("trajectories", descending=True)
           ["label"].head(8).to_list())
    d = (se.filter(pl.col("label").is_in(top)).group_by("label", by).agg(pl.col("rate").sum())
         .with_columns(pl.col("label").cast(pl.Enum(top))).sort("label")
         .with_columns(pl.col("label").cast(pl.String).replace_strict({t: label(t) for t in top})))   # as words
    return figures.bar_figure(d, "label", "rate", color=by, percent=True, x_title="Step label",
                              title=f"Step-error labels: share of each {label(by).lower()}'s trajectories",
                              y_title="Share of trajectories")


FIGURES: dict[str, dict[str, Callable[..., go.Figure | None]]] = {
    "ladder": {
        "ladder": _ladder,
        "heatmap": lambda v, key=None, **_: figures.heatmap_figure(
            v["accuracy"], series="key", key=key, title=f"Accuracy per question and {label(key or 'model').lower()}"),
        "solved_matrix": _solved_matrix,
        "rasch_difficulty": lambda v, **_: None if v["difficulty"].is_empty() else figures.difficulty_figure(
            v["difficulty"]),
    },
    "coverage": {
        "coverage_vs_accuracy": _coverage_scatter,
        "gap_per_tier": _gap,
        "pass_at_k": _pass_at_k,
        "answer_timeline": lambda v, key_title=None, **_: None if v.get("timeline") is None
        or v["timeline"].is_empty() else
        figures.timeline_aggregate_figure(v["timeline"], title="Found then lost, and the share of the response "
                                          "before the first correct answer", key_title=key_title),
    },
    "failures": {
        "wrong_answers": _wrong_answer_bars,
        "failure_flags": _failure_flags,
    },
    "step_errors": {
        "step_error_labels": _step_error_bars,
    },
}


def step_error_findings(v: dict, by: str, name=str) -> list[str]:
    """The Step-errors answer: the most frequent error label, where it is most frequent, and how often a wrong
    trajectory reached the gold answer on the way (a milestone, not an error)."""
    se, tot = v["labels"], v["totals"]
    out = []
    if tot.height:
        n = int(tot["total"].sum())
        out.append(f"{n:,} trajectories over {tot.height} {by} value{'s' if tot.height != 1 else ''}.")
    errs = se.filter(~pl.col("label").is_in(list(NON_ERROR_LABELS))) if se.height else se
    if errs.height:
        per = errs.group_by("label").agg(pl.col("trajectories").sum()).sort("trajectories", descending=True)
        top = per.row(0, named=True)
        n = int(tot["total"].sum()) if tot.height else 0
        out.append(f"Most frequent label: **{name(label(top['label']))}**, on {top['trajectories']:,} trajectories"
                   + (f" ({top['trajectories'] / n:.0%})." if n else "."))
        worst = errs.filter(pl.col("label") == top["label"]).sort("rate", descending=True, nulls_last=True).row(0, named=True)
        if worst["rate"] is not None:
            out.append(f"It is most frequent on {by} **{name(worst[by])}**: {worst['rate']:.0%} of its trajectories.")
    gold = se.filter(pl.col("label").is_in(list(NON_ERROR_LABELS))) if se.height else se
    if gold.height and tot.height:
        g = int(gold["trajectories"].sum())
        out.append(f"The gold answer was reached on the way in {g:,} wrong trajectories (a milestone, not an error: "
                   "shown apart).")
    return out[:4]


def _failures_of(con, sel: Selection, by: str = "model") -> dict:
    return failures_view(con, failure_selection(con, sel), by)


def _step_errors_of(con, sel: Selection, by: str = "model") -> dict:
    return step_error_view(con, sel, "tier")


VIEWS = {"ladder": ladder_report, "coverage": coverage_report, "failures": _failures_of,
         "step_errors": _step_errors_of}


def figure(page: str, name: str, view, **options) -> go.Figure | None:
    return FIGURES[page][name](view, **options)


def page_figures(page: str, view, **options) -> dict[str, go.Figure]:
    """Every figure ``page`` draws from ``view``, by name (those with something to draw)."""
    drawn = {name: draw(view, **options) for name, draw in FIGURES[page].items()}
    return {name: fig for name, fig in drawn.items() if fig is not None}
