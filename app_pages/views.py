"""Views the app composes with the pipeline's grader (``charts.pages`` holds the others: it sits below
``pipeline/`` and cannot ask the grader): the answer classes of ``analysis.answers``, where two final answers
are one class when ``pipeline.grade.answers_match`` says so. ``f(con, sel, ...)``, cached by ``common.q``."""
from __future__ import annotations

from analysis import answers
from pipeline.grade import answers_match
from warehouse import frames, lookup
from warehouse.filters import Selection


def _same(con, benchmark: str):
    answer_type = lookup.benchmark_answer_type(con, benchmark) or "math"
    return lambda a, b: answers_match(a, b, answer_type)


def answer_classes(con, sel: Selection) -> list[dict]:
    """Every question of the selection: its answer classes, entropy, majority, pass@k, maj@k."""
    return answers.answer_classes(frames.final_answers(con, sel), _same(con, sel.benchmark))


def question_classes(con, sel: Selection, question_id: str) -> list[dict]:
    """One question's answer classes with their samples."""
    return answers.question_classes(frames.final_answers(con, sel), question_id, _same(con, sel.benchmark))
