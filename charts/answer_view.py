"""Answer classes of a selection (``analysis.answers``) with the project's grader deciding which final
answers are equivalent: the one composition the `report answers` command and the app's pages use; and one
trajectory's step answers (the answer timeline), stored or derived now."""
from __future__ import annotations

from typing import Callable, Sequence

import polars as pl

from analysis import answers
from derivation import answer_timeline
from derivation.grade import answers_match, integer_value
from derivation.steps import segment
from warehouse import frames, lookup, trajectory
from warehouse import timeline_store
from warehouse.filters import Selection


def same_answer(con, benchmark: str) -> Callable[[str, str], bool]:
    """Two final answers are equivalent when the grader matches them under the benchmark's answer type."""
    answer_type = lookup.benchmark_answer_type(con, benchmark) or "math"
    # two integers are compared as integers: the classes look them up by value instead of asking the grader
    # about every class head (at paper scale 15,000 grader calls for Exh failures' 4 questions, 0.1 s)
    return answers.keyed(lambda a, b: answers_match(a, b, answer_type), integer_value)


def answer_classes(con, sel: Selection, summary: bool = False) -> list[dict]:
    """Every question of the selection: its answer classes, entropy, majority, pass@k, maj@k (``summary``:
    maj@1 and maj@n only, as ``analysis.answers.answer_classes``)."""
    return answers.answer_classes(frames.final_answers(con, sel), same_answer(con, sel.benchmark), summary)


def question_classes(con, sel: Selection, question_id: str) -> list[dict]:
    """One question's answer classes with their samples (only that question's rows are fetched)."""
    return answers.question_classes(frames.final_answers(con, sel, question_id), question_id,
                                    same_answer(con, sel.benchmark))


_STEP_ANSWERS = {"step_idx": pl.Int64, "answer": pl.Utf8, "source": pl.Utf8, "is_gold": pl.Boolean,
                 "changed": pl.Boolean}


def step_answers(con, trajectory_id: int) -> pl.DataFrame:
    """step_idx, answer, source, is_gold, changed of the trajectory's steps that assert an answer: the stored
    answer timeline, else ``derive_timeline``."""
    if timeline_store.summary(con, trajectory_id) is not None:
        return timeline_store.step_answers(con, trajectory_id)
    tl = derive_timeline(con, trajectory_id)
    rows = [r[1:] for r in answer_timeline.rows(int(trajectory_id), tl)[0]] if tl else []    # without the trajectory id
    return pl.DataFrame(rows, schema=_STEP_ANSWERS, orient="row")


def derive_timeline(con, trajectory_id: int, spans: Sequence[tuple[int, int]] | None = None) -> answer_timeline.Timeline | None:
    """The answer timeline of a stored trajectory derived now, as import stores it (for one stored before the
    timeline existed: ``python -m pipeline annotate --timeline`` stores them), on ``spans`` or its stored
    steps (segmented now when it has none); None when no such trajectory."""
    t = trajectory.trajectory(con, trajectory_id)
    if t is None:
        return None
    response = t["response"] or ""
    if spans is None:
        spans = [(s["start_char"], s["end_char"]) for s in lookup.steps_of(con, [trajectory_id])] \
            or list(zip(*segment(response)[:2]))
    return answer_timeline.timeline(response, list(spans), t["gold"], lookup.benchmark_answer_type(con, t["benchmark"]) or "math",
                             is_correct=t["is_correct"], extracted=t["answer"])
