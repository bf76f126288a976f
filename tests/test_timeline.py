"""The answer timeline (derivation/answer_timeline.py): candidate answers per step, checked on step texts taken
from real traces and on whole real trajectories read by hand; the xi figures against a hand computation."""
from __future__ import annotations

import json

import pytest

from derivation import grade, steps
from derivation import answer_timeline as T

# (step text, expected (candidate, source) or None): texts copied from ../shared traces
STEP_CASES = [
    ("Thus, the total time is \\( \\boxed{204} \\) minutes. \n<|end_of_solution|>", ("204", "boxed")),
    ("So, the total time is 204 minutes.\n\n", ("204", "conclusion")),
    ("So, total number of paths with exactly four turns is 147 + 147 = 294.\n\n", ("294", "conclusion")),
    ("So, for the case of two runs of R's and three runs of U's, the number of ways is 7 * 21 = 147.\n\n",
     ("147", "conclusion")),
    ("Therefore, the final answer is 540.", ("540", "answer_phrase")),
    ("**Final Answer**\n\\[ \\boxed{\\dfrac{3}{2}} \\]", ("\\dfrac{3}{2}", "boxed")),
    ("Final Answer: $\\frac{1}{4}$", ("\\frac{1}{4}", "answer_phrase")),
    ("## Final Answer\n17", ("17", "final_answer")),
    ("So $m + n = 204$.", ("204", "conclusion")),
    ("Thus the area is $\\frac{3}{2}$.", ("\\frac{3}{2}", "conclusion")),
    # asserts nothing
    ("Wait, I need to check whether the answer is correct.", None),
    ("So x = 2y, and we substitute.", None),
    ("So $x = 2y$.", None),
    ("Let me compute 3.4 x 60 = 204 minutes", None),       # no conclusion word: a computation, not a claim
    ("So, the number of ways is the number of compositions of 8 into 2 parts", None),
    ("", None),
    # equations over unknowns are not results (hand-read precision sample, docs/ANALYSIS.md)
    ("Let me denote AP = y, DA = x, then DP = x + y\n\nSo, x(x + y) = 324", None),
    ("Then, the surface area is S = 2(a^2 + 2*23/a^2) = 54\n\nSo, a^2 + 46/a^2 = 27", None),
    ("Wait, perhaps I can consider that z^{13} = 1, so z^{13} - 1 = 0.\n\nTherefore, z^{13} = 1.", None),
    ("Let me assume 9 appears 5 times.\n\nSo, a6, a7, a8, a9, a10=9.", None),
    ("So, \\( x^3 + 2x^2 + 2x + 1 = (x + 1)(x^2 + x + 1) = 0 \\).", None),
    ("Therefore, m + n = 163 + 256 = 419.", ("419", "conclusion")),
    ("\\[\nIA = \\sqrt{156} = 2\\sqrt{39}\n\\]\n\nSo, \\( IA = 2\\sqrt{39} \\).", ("2\\sqrt{39}", "conclusion")),
    ("So, \\(\\frac{1470}{30} = 49\\).", ("49", "conclusion")),
]


@pytest.mark.parametrize("text,expected", STEP_CASES)
def test_step_answer(text, expected):
    assert T.step_answer(text) == expected


def test_step_answers_follow_spans_and_read_after_think():
    resp = "<think>\nSo the sum is 12.\n\nWait, no.\n</think>\nThe result: we get 13 in the end, so it is 13"
    spans = list(zip(*steps.segment(resp)[:2]))
    ans = T.step_answers(resp, spans)
    assert len(ans) == len(spans)
    assert ans[0] == "12" and ans[-1] == "13"
    assert T.step_answers("", []) == []


def test_xi_against_a_hand_computation():
    # three steps of 10, 20 and 30 characters; the gold 7 first held at step 1, lost at step 2
    s0 = "Let us go".ljust(9) + "\n"
    s1 = "So x = 7.".ljust(19) + "\n"
    s2 = "So it is 8.".ljust(30)
    resp = s0 + s1 + s2
    spans = [(0, 10), (10, 30), (30, 60)]
    t = T.timeline(resp, spans, "7", "integer", is_correct=False, n_tokens=120)
    assert t.answers == [None, "7", "8"] and t.is_gold == [None, True, False]
    assert (t.first_gold_step, t.last_gold_step, t.answer_changes) == (1, 1, 1)
    assert t.distinct_answers == ["7", "8"]
    assert t.first_gold_char == 30 and t.chars_after_first_gold == 30
    assert t.xi_o == pytest.approx(30 / 60)              # Chen et al.: T_hat / T
    assert t.xi_ut == pytest.approx(1 - 30 / 60)         # Wang et al.: 1 - T_hat / T (wrong response)
    assert t.abandoned_share == pytest.approx(30 / 60)   # after the last gold step ends
    assert t.tokens_after_first_gold == pytest.approx(120 * 30 / 60)
    assert t.frac_before_first_gold == pytest.approx(0.5)
    right = T.timeline(resp[:30], spans[:2], "7", "integer", is_correct=True)
    assert right.xi_o == pytest.approx(1.0) and right.xi_ut is None and right.abandoned_share is None


def test_odd_inputs():
    empty = T.timeline("", [], "5")
    assert empty.first_gold_step is None and empty.answer_changes == 0 and empty.xi_o is None
    nogold = T.timeline("So it is 5.", [(0, 11)], None)
    assert nogold.answers == ["5"] and nogold.is_gold == [None] and nogold.xi_o is None
    never = T.timeline("So it is 5.", [(0, 11)], "6", "integer", is_correct=False)
    assert never.xi_o == 0.0 and never.xi_ut is None and never.first_gold_step is None
    # equal answers written differently are no change; gold via the grader's equivalence
    resp = "So it is $\\frac{1}{2}$.\n\nSo it is 0.5."
    t = T.timeline(resp, [(0, 25), (25, len(resp))], "1/2", "math")
    assert t.is_gold == [True, True] and t.answer_changes == 0


def _trace(shared, fname: str, qid: str) -> tuple[str, str]:
    problems = {json.loads(x)["problem"].strip(): str(json.loads(x)["id"])
                for x in open(shared / "aime24" / "problems.jsonl", encoding="utf-8")}
    for line in open(shared / "traces" / "skythought-aime24" / fname, encoding="utf-8"):
        r = json.loads(line)
        if problems.get(r["question"].strip()) == qid:
            return r["code"][0], r["gt"]
    raise AssertionError(f"{fname}: no question {qid}")


def _real(shared, fname, qid):
    resp, gold = _trace(shared, fname, qid)
    seg = steps.segment(resp)
    v = grade.grade_response(resp, gold, "integer")
    return resp, T.timeline(resp, list(zip(seg.starts, seg.ends)), gold, "integer", is_correct=v.is_correct)


def test_found_then_lost_sky_t1_14b_question_71(shared):
    # Sky-T1-math-correct-5K-14B on AIME question 71 (gold 294, final answer 15): read by hand, step 71
    # "So, total number of paths with exactly four turns is 147 + 147 = 294." first holds the gold; the
    # model then loops between the case count 147 and the total 294 until step 1319 and answers 15
    resp, t = _real(shared, "Sky-T1-math-correct-5K-14B.jsonl", "71")
    assert t.first_gold_step == 71 and t.last_gold_step == 1319
    assert "147 + 147 = 294" in resp[t.spans[71][0]:t.spans[71][1]]
    assert t.answers[69] == "147" and t.is_gold[69] is False
    assert set(t.distinct_answers) == {"147", "294"}
    assert t.xi_ut is not None and t.xi_ut > 0.9          # gold reached in the first 7% of the text
    assert 0 < t.abandoned_share < 0.05


def test_correct_sky_t1_wrong_14b_question_60(shared):
    # Sky-T1-math-wrong-5K-14B on AIME question 60 (gold 204, correct): read by hand, step 50
    # "So, the total time is 204 minutes." first holds the gold; the summary after
    # <|end_of_solution|> restates candidates (2.5, 24) and boxes 204 in the last step
    resp, t = _real(shared, "Sky-T1-math-wrong-5K-14B.jsonl", "60")
    assert t.first_gold_step == 50 and t.last_gold_step == len(t.spans) - 1
    assert t.sources[-1] == "boxed" and t.answers[-1] == "204"
    assert t.xi_o == pytest.approx(t.spans[50][1] / len(resp))
    assert t.xi_ut is None and t.abandoned_share is None
