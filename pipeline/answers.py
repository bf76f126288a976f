"""Answer classes of a selection (``analysis.answers``) with the project's grader deciding which final
answers are equivalent: the one composition the `report answers` command and the app's pages use."""
from __future__ import annotations

from typing import Callable

from analysis import answers
from pipeline.grade import answers_match
from warehouse import frames, lookup
from warehouse.filters import Selection


def same_answer(con, benchmark: str) -> Callable[[str, str], bool]:
    """Two final answers are equivalent when the grader matches them under the benchmark's answer type."""
    answer_type = lookup.benchmark_answer_type(con, benchmark) or "math"
    return lambda a, b: answers_match(a, b, answer_type)


def answer_classes(con, sel: Selection) -> list[dict]:
    """Every question of the selection: its answer classes, entropy, majority, pass@k, maj@k."""
    return answers.answer_classes(frames.final_answers(con, sel), same_answer(con, sel.benchmark))


def question_classes(con, sel: Selection, question_id: str) -> list[dict]:
    """One question's answer classes with their samples (only that question's rows are fetched)."""
    return answers.question_classes(frames.final_answers(con, sel, question_id), question_id,
                                    same_answer(con, sel.benchmark))
