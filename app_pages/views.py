"""What the pages show, composed: one fetch through ``warehouse.frames`` per view, then the pure
statistics of ``analysis/``. Each view is ``f(con, sel, ...)`` so that ``common.q`` caches it by
warehouse version and arguments: a filter change costs one query per view, a widget that only
re-cuts fetched numbers (the Ladder's threshold) costs none.
"""
from __future__ import annotations

import polars as pl

from analysis import calibration, coverage, ladder, metrics, scaling
from warehouse import frames
from warehouse.filters import Selection


def ladder_report(con, sel: Selection, by: str = "group") -> dict[str, pl.DataFrame]:
    """``analysis.ladder.report``: per-question counts, accuracy with the ladder order, Rasch difficulty."""
    return ladder.report(frames.per_question(con, sel, by), frames.reference_values(con, sel))


def reference_agreement(con, sel: Selection, source: str = "paper_fig1") -> pl.DataFrame:
    """Agreement with the reference values per group (or per model when the selection names models)."""
    refs = frames.reference_values(con, sel, source)
    qa = metrics.question_accuracy(frames.per_question(con, sel, "model" if sel.models else "group"), refs)
    return calibration.agreement_summary(calibration.reference_agreement(refs, qa))


def coverage_report(con, sel: Selection, by: str = "model") -> dict[str, pl.DataFrame]:
    return coverage.report(frames.per_question(con, sel, by))


def _scaling_inputs(con, sel: Selection) -> tuple[pl.DataFrame, pl.DataFrame]:
    fac = frames.factor_table(con, sel, scaling.NUMERIC_FACTORS + scaling.CATEGORICAL_FACTORS)
    return frames.per_question(con, sel, "model"), fac


def scaling_factors(con, sel: Selection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The numeric and the categorical factors that vary among the selected models."""
    fac = frames.factor_table(con, sel, scaling.NUMERIC_FACTORS + scaling.CATEGORICAL_FACTORS)
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
