"""Agreement of two step-error annotators on the first wrong step (pure functions over frames).

A verdict is a step index (the earliest wrong step), -1 ("no error") or null (the annotator
could not tell: ungraded, unparseable). ``verdicts`` is the frame of
``warehouse.verdicts.first_errors``: trajectory_id, annotator, first_error.

- ``annotators(verdicts)``: the annotators with at least one known verdict, most trajectories first.
- ``pair(verdicts, a, b)``: trajectory_id, a, b for the trajectories both annotators judged.
- ``agreement(a_steps, b_steps)``: n, both_error, exact, within1, kappa (and its parts), and the
  ProcessBench-style scores of ``b`` taking ``a`` as the reference.
- ``confusion(a_steps, b_steps)``: the 2 x 2 error / no-error table behind kappa.
- ``offsets(a_steps, b_steps)``: where both flag an error, how many steps ``b`` lies after ``a``.

Definitions (the same for warehouse annotators and ProcessBench labels):
- exact: the two verdicts are equal (both "no error", or the same step);
- within1: both "no error", or both flag an error at steps at most one apart;
- kappa: Cohen's kappa on the binary verdict error / no error,
  (p_o - p_e) / (1 - p_e) with p_e = pa*pb + (1-pa)*(1-pb) (pa, pb: each annotator's error rate);
  None when p_e = 1 (both annotators give one and the same verdict to every trajectory: undefined).
"""
from __future__ import annotations

from typing import Sequence

import polars as pl


def annotators(verdicts: pl.DataFrame) -> list[str]:
    """Annotators with a known verdict on at least one trajectory, most trajectories first."""
    if verdicts.is_empty():
        return []
    c = (verdicts.filter(pl.col("first_error").is_not_null()).group_by("annotator").len()
         .sort(["len", "annotator"], descending=[True, False]))
    return c["annotator"].to_list()


def pair(verdicts: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
    """trajectory_id, a, b: the verdicts of both annotators where both are known."""
    if a == b:
        raise ValueError("agreement needs two different annotators")
    known = verdicts.filter(pl.col("first_error").is_not_null())
    left = known.filter(pl.col("annotator") == a).select("trajectory_id", pl.col("first_error").alias("a"))
    right = known.filter(pl.col("annotator") == b).select("trajectory_id", pl.col("first_error").alias("b"))
    return left.join(right, on="trajectory_id").sort("trajectory_id")


def _check(a_steps: Sequence[int], b_steps: Sequence[int]) -> None:
    if len(a_steps) != len(b_steps):
        raise ValueError(f"verdict lists differ in length ({len(a_steps)} vs {len(b_steps)})")
    for v in (*a_steps, *b_steps):
        if v is None or v < -1:
            raise ValueError(f"a verdict is a step index or -1 (no error), not {v!r}")


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def agreement(a_steps: Sequence[int], b_steps: Sequence[int]) -> dict:
    """Agreement of two verdict lists (same trajectories, same order; -1 = no error).

    Keys: n; both_error (trajectories both flag); exact, within1 (shares of all n); exact_when_both,
    within1_when_both (shares of both_error); error_rate_a, error_rate_b; p_observed, p_expected,
    kappa (error / no error); error_acc, correct_acc, f1: ProcessBench's scores of ``b`` against
    ``a`` as the reference (``a`` = the human labels in ``eval-annotator``). Shares of an empty set
    are None."""
    _check(a_steps, b_steps)
    n = len(a_steps)
    both = [(x, y) for x, y in zip(a_steps, b_steps) if x >= 0 and y >= 0]
    exact = sum(x == y for x, y in zip(a_steps, b_steps))
    within1 = sum(x == y == -1 or (x >= 0 and y >= 0 and abs(x - y) <= 1) for x, y in zip(a_steps, b_steps))
    ea = sum(x >= 0 for x in a_steps)
    eb = sum(y >= 0 for y in b_steps)
    agree_binary = sum((x >= 0) == (y >= 0) for x, y in zip(a_steps, b_steps))
    out: dict = {"n": n, "both_error": len(both)}
    if n == 0:
        return out | dict.fromkeys(("exact", "within1", "exact_when_both", "within1_when_both", "error_rate_a",
                                    "error_rate_b", "p_observed", "p_expected", "kappa", "error_acc",
                                    "correct_acc", "f1"))
    pa, pb = ea / n, eb / n
    p_o = agree_binary / n
    p_e = pa * pb + (1 - pa) * (1 - pb)
    kappa = None if abs(1 - p_e) < 1e-12 else (p_o - p_e) / (1 - p_e)
    err = [(x, y) for x, y in zip(a_steps, b_steps) if x >= 0]
    cor = [(x, y) for x, y in zip(a_steps, b_steps) if x == -1]
    error_acc = sum(x == y for x, y in err) / len(err) if err else None
    correct_acc = sum(y == -1 for _, y in cor) / len(cor) if cor else None
    f1 = (2 * error_acc * correct_acc / (error_acc + correct_acc)
          if error_acc is not None and correct_acc is not None and error_acc + correct_acc else
          (0.0 if error_acc is not None and correct_acc is not None else None))
    return out | {
        "exact": _round(exact / n), "within1": _round(within1 / n),
        "exact_when_both": _round(sum(x == y for x, y in both) / len(both)) if both else None,
        "within1_when_both": _round(sum(abs(x - y) <= 1 for x, y in both) / len(both)) if both else None,
        "error_rate_a": _round(pa), "error_rate_b": _round(pb),
        "p_observed": _round(p_o), "p_expected": _round(p_e), "kappa": _round(kappa),
        "error_acc": _round(error_acc), "correct_acc": _round(correct_acc), "f1": _round(f1)}


VERDICTS = ("error", "no error")


def confusion(a_steps: Sequence[int], b_steps: Sequence[int]) -> pl.DataFrame:
    """a, b, n: the 2 x 2 table of error / no-error verdicts (every cell, zeros included)."""
    _check(a_steps, b_steps)
    cells = {(x, y): 0 for x in VERDICTS for y in VERDICTS}
    for x, y in zip(a_steps, b_steps):
        cells[(VERDICTS[x < 0], VERDICTS[y < 0])] += 1
    return pl.DataFrame([{"a": x, "b": y, "n": c} for (x, y), c in cells.items()],
                        schema={"a": pl.String, "b": pl.String, "n": pl.Int64})


def offsets(a_steps: Sequence[int], b_steps: Sequence[int], clip: int = 5) -> pl.DataFrame:
    """offset, label, n: where both flag an error, b's step minus a's, clipped to ±``clip``
    (label '≤-5' / '≥5' at the ends); every offset in the range listed, zeros included."""
    _check(a_steps, b_steps)
    counts = dict.fromkeys(range(-clip, clip + 1), 0)
    for x, y in zip(a_steps, b_steps):
        if x >= 0 and y >= 0:
            counts[max(-clip, min(clip, y - x))] += 1
    label = {k: (f"≤{k}" if k == -clip else f"≥{k}" if k == clip else str(k)) for k in counts}
    return pl.DataFrame({"offset": list(counts), "label": [label[k] for k in counts], "n": list(counts.values())},
                        schema={"offset": pl.Int64, "label": pl.String, "n": pl.Int64})
