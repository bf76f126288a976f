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

from analysis import calibration, coverage, ladder, metrics, migration, scaling
from analysis import timeline as answer_timeline
from charts import figures
from warehouse import frames
from warehouse import timeline as timeline_store
from warehouse.filters import Selection


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


def coverage_report(con, sel: Selection, by: str = "model") -> dict[str, pl.DataFrame]:
    """``analysis.coverage.report``, plus ``timeline``: the answer-timeline aggregates per ``by``."""
    out = coverage.report(frames.per_question(con, sel, by))
    out["timeline"] = timeline_aggregate(con, sel, by)
    return out


def timeline_aggregate(con, sel: Selection, by: str = "model") -> pl.DataFrame:
    """``analysis.timeline.aggregate`` of the selected trajectories' answer timelines per ``by``
    (tier | model | group | train_step): found-then-lost rate, median share before the first correct
    answer, overthinking characters, answer changes."""
    return answer_timeline.aggregate(timeline_store.per_trajectory(con, sel), by)


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


def scaling_migration(con, sel: Selection, factor: str, threshold: float = 0.5) -> dict[str, pl.DataFrame]:
    """Each question along the ``factor`` series: its accuracy per value and when it is solved for good."""
    pq, fac = _scaling_inputs(con, sel)
    return {"series": migration.series(pq, fac, factor), "migration": migration.migration(pq, fac, factor, threshold)}


# --- the figures of each page ------------------------------------------------------------------

def _ladder(v, reference: pl.DataFrame | None = None, **_) -> go.Figure:
    return figures.ladder_figure(v["accuracy"], series="key", reference=reference)


def _solved_matrix(v, threshold: float = 0.5, **_) -> go.Figure | None:
    sm = ladder.solved_matrix(v["questions"], "threshold", threshold)
    return None if sm.is_empty() else figures.solved_matrix_figure(sm)


def _pass_at_k(v, **_) -> go.Figure | None:
    pk = v["pass_at_k"]
    if not pk.height or pk["k"].max() <= 1:          # one sample per question: no curve to draw
        return None
    return figures.line_figure(pk, "k", "pass_at_k", color="key", title="pass@k", band=("lo", "hi"))


FIGURES: dict[str, dict[str, Callable[..., go.Figure | None]]] = {
    "ladder": {
        "ladder": _ladder,
        "heatmap": lambda v, **_: figures.heatmap_figure(v["accuracy"], series="key"),
        "solved_matrix": _solved_matrix,
        "rasch_difficulty": lambda v, **_: None if v["difficulty"].is_empty() else figures.difficulty_figure(
            v["difficulty"]),
    },
    "coverage": {
        "coverage_vs_accuracy": lambda v, **_: figures.scatter_figure(
            v["overall"], "avg", "cov", "key", title="cov@n against avg@n", diagonal=True),
        "gap_per_tier": lambda v, **_: figures.gap_figure(v["per_tier"]),
        "pass_at_k": _pass_at_k,
        "answer_timeline": lambda v, **_: None if v.get("timeline") is None or v["timeline"].is_empty() else
        figures.timeline_aggregate_figure(v["timeline"], title="found-then-lost rate and share of the response "
                                          "before the first correct answer"),
    },
}
VIEWS = {"ladder": ladder_report, "coverage": coverage_report}


def figure(page: str, name: str, view, **options) -> go.Figure | None:
    return FIGURES[page][name](view, **options)


def page_figures(page: str, view, **options) -> dict[str, go.Figure]:
    """Every figure ``page`` draws from ``view``, by name (those with something to draw)."""
    drawn = {name: draw(view, **options) for name, draw in FIGURES[page].items()}
    return {name: fig for name, fig in drawn.items() if fig is not None}
