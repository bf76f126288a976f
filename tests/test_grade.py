"""The ladder grader on hand-written edge cases and on real traces from ../shared."""
import json

import pytest

from pipeline import grade


@pytest.mark.parametrize("text, answer", [
    ("so \\boxed{\\frac{1}{2}} done", "\\frac{1}{2}"),
    ("nested \\boxed{\\frac{\\sqrt{3}}{2}}.", "\\frac{\\sqrt{3}}{2}"),
    ("first \\boxed{3} then \\boxed{5}", "5"),
    ("\\fbox{12}", "12"),
    ("The final answer is 42.", "42"),
    ("Answer: $7$", "7"),
    ("<think>maybe \\boxed{3}</think>\nThe answer is \\boxed{4}", "4"),
    ("Therefore, Hillary has 7 nickels.", "7"),
    ("no answer here at all", None),
    ("unterminated \\boxed{12", None),
])
def test_extract_answer(text, answer):
    assert grade.extract_answer(text) == answer


@pytest.mark.parametrize("gold, pred, atype, ok", [
    ("025", "25", "integer", True),
    ("25", "025", "integer", True),
    ("204", "205", "integer", False),
    ("540", "\\sqrt{324^2 + (-432)^2}", "integer", True),
    ("25", "p^{2}", "integer", False),
    ("\\frac{1}{2}", "0.5", "math", True),
    ("\\frac{1}{2}", "\\dfrac{1}{2}", "math", True),
    ("10,\\!080", "10080", "math", True),
    ("12", "12^{\\mathrm{th}}\\text{ grade}", "math", True),
    ("90^\\circ", "90", "math", True),
    ("\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "\\left(\\frac{3}{5}, \\frac{8}{3}\\right)", "math", False),
])
def test_answers_match(gold, pred, atype, ok):
    assert grade.answers_match(gold, pred, atype) is ok


def test_reasons():
    assert grade.grade_response("x \\boxed{025}", "25", "integer").reason == "correct"
    assert grade.grade_response("x \\boxed{1}", "25", "integer").reason == "mismatch"
    assert grade.grade_response("I give up", "25", "integer", "stop").reason == "no_answer"
    assert grade.grade_response("I give up", "25", "integer", "length").reason == "truncated"
    assert grade.grade_response("<think> still thinking", "25", "integer").reason == "truncated"


def test_agrees_with_harness_on_real_aime_traces(shared):
    rows = []
    for f in sorted((shared / "traces" / "skythought-aime24").glob("*.jsonl"))[:6]:
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            rows.append((r["code"][0], str(r["gt"]), bool(r["score"][0])))
    verdicts = grade.grade_many([(c, g, "integer", None) for c, g, _ in rows], workers=1)
    agree = sum(v.is_correct == s for v, (_, _, s) in zip(verdicts, rows))
    assert len(rows) == 180 and agree / len(rows) >= 0.99


def test_pool_gives_the_same_verdicts(shared):
    rows = [json.loads(line) for line in open(shared / "traces" / "qwen25math-maj8" / "math_cot_100.jsonl")][:30]
    items = [(c, r["gt"], "math", None) for r in rows for c in r["code"]]
    assert grade.grade_many(items, workers=2, min_parallel=1) == grade.grade_many(items, workers=1)
