"""The rules annotator on real excerpts and hand-written claims; the judge reply parser; PRM logic."""
import json

import pytest

from pipeline import grade
from pipeline.annotators import get_annotator
from pipeline.annotators.base import AnnotateInput
from pipeline.annotators.judge import JudgeAnnotator, build_prompt, parse_reply
from pipeline.annotators.prm import SEP, first_error, format_messages, positive_probs
from pipeline.annotators.rules import arithmetic_slips, repetition_ratio, strategy_hits
from pipeline.steps import split_steps


@pytest.mark.parametrize("text, slips", [
    ("so 17*23 = 381 and", ["17*23 = 381"]),
    ("$17 \\times 23 = 381$", ["17 * 23 = 381"]),
    ("\\frac{1}{2} + \\frac{1}{3} = 1", ["(1/2) + (1/3) = 1"]),
    ("x = 3 + 4 = 8", ["3 + 4 = 8"]),
    ("(2+3)^2 = 20", ["(2+3)^2 = 20"]),
    ("17*23 = 391", []),                          # right
    ("2x + 3 = 7", []),                            # an unknown
    ("x^2 + 3 = 7", []),
    ("y + 3 + 4 = 8", []),                         # tail of a longer expression
    ("10/3 = 3.33", []),                           # rounded to the digits written
    ("3.14*2 = 6", []),                            # rounded decimals
    ("7*8 = 1 \\pmod 5", []),                      # modular statement
    ("7*8 \\approx 50", []),
    ("2 + 3 = 5x", []),
    ("2 + 3 = 6/2", []),
    # from real Sky-T1 AIME traces: truncated decimals, remainders, thousands, implicit products
    ("\\( 1716 \\div 7 = 245.142... \\) (not divisible)", []),
    ("\\( 1000 \\div 7 = 142 \\) remainder 6", []),
    ("\\(s_2 = 150 \\times 150 = 22,500\\)", []),
    ("1/2 = 4 g(f(cos(3πy)))", []),
    ("So, h^2 = 72.25 + 17030.25 - 2862.25 = 14238.25", ["72.25 + 17030.25 - 2862.25 = 14238.25"]),
])
def test_arithmetic_slips(text, slips):
    assert [c for c, _ in arithmetic_slips(text)] == slips


def _input(text, gold, correct, answer_type="integer", finish="stop", tid=1):
    spans = split_steps(text)
    return AnnotateInput(tid, "problem", gold, text, [text[s.start_char:s.end_char].strip() for s in spans],
                         [(s.start_char, s.end_char) for s in spans], [s.kind for s in spans], finish,
                         correct, grade.extract_answer(text), answer_type)


def _flags(res):
    return {f.flag: f.value for f in res.flags}


def test_found_then_lost_and_flip_on_handwritten():
    text = ("First compute the total, which is 204 minutes.\n\nWait, I should recheck the speed, "
            "so the answer is \\boxed{204}.\n\nHmm, no: the time is 3 hours plus 20, so the answer is \\boxed{200}.")
    res = get_annotator("rules").annotate([_input(text, "204", False)])[0]
    f = _flags(res)
    assert f["found_then_lost"] == 0 and f["answer_flip"] == 1 and f["backtracks"] == 2
    assert any(a.label == "gold_reached" and a.step_idx == 0 for a in res.annotations)
    # a correct trajectory never gets found_then_lost
    ok = get_annotator("rules").annotate([_input(text.replace("200", "204"), "204", True)])[0]
    assert "found_then_lost" not in _flags(ok) and "answer_flip" not in _flags(ok) and ok.first_error == -1


def test_rules_on_real_traces(shared):
    """On real AIME traces: wrong ones where the gold appears mid-way fire found_then_lost, correct
    ones never do, and truncation / strategy flags follow the text."""
    rows = []
    for f in sorted((shared / "traces" / "skythought-aime24").glob("Sky-T1-math-wrong-5K-14B.jsonl")):
        rows += [json.loads(line) for line in open(f, encoding="utf-8")]
    rules = get_annotator("rules")
    fired_wrong = 0
    for r in rows:
        text, gold = r["code"][0], str(r["gt"])
        v = grade.grade_response(text, gold, "integer")
        res = rules.annotate([_input(text, gold, v.is_correct)])[0]
        flags = _flags(res)
        if v.is_correct:
            assert "found_then_lost" not in flags
        elif "found_then_lost" in flags:
            fired_wrong += 1
            step = int(flags["found_then_lost"])
            assert gold.lstrip("0") in _input(text, gold, False).steps[step]
        assert ("truncated" in flags) == (v.extracted is None)
        assert flags["backtracks"] >= 0
    assert fired_wrong >= 1


def test_repetition_loop_flag():
    loop = "Let me compute again. " * 400
    normal = open(__file__).read()[:5000]
    assert repetition_ratio(loop) < 0.12 < repetition_ratio(normal)
    res = get_annotator("rules").annotate([_input("Start.\n\n" + loop, "1", False)])[0]
    assert "repetition_loop" in _flags(res)


def test_strategy_lexicon():
    hits = strategy_hits("By inclusion-exclusion, |A| ... inclusion-exclusion again. Case 1: x. Case 2: y.")
    assert hits["inclusion_exclusion"] == 2 and hits["casework"] == 2 and hits["vectors"] == 0


@pytest.mark.parametrize("reply, expected", [
    ('{"step": 3, "type": "calculation"}', (3, "calculation")),
    ('```json\n{"step": 2, "type": "wrong strategy"}\n```', (2, "wrong_strategy")),
    ("Step 3", (3, None)),
    ("step: 3, type: calculation", (3, "calculation")),
    ("The earliest error is in Step 1 (logic).", (1, "logic")),
    ("-1", (-1, None)),
    ('{"step": -1}', (-1, None)),
    ("No error: every step is correct.", (-1, None)),
    ('{"step": 99, "type": "logic"}', (None, None)),      # out of range: not guessed
    ("I am not sure what you mean.", (None, None)),
    ("", (None, None)),
    ('{"step": "two"}', (None, None)),
])
def test_judge_parser(reply, expected):
    assert parse_reply(reply, 5) == expected


class _Canned:
    """A stand-in generation backend returning fixed replies (the backend is not under test)."""

    def __init__(self, replies):
        self.replies, self.prompts = replies, []

    def generate(self, prompts, params):
        from pipeline.backends import Completion

        self.prompts += prompts
        return [[Completion(r, 5, "stop")] for r in self.replies[:len(prompts)]]

    def close(self):
        pass


def test_judge_records_unparseable_replies_as_such():
    items = [_input("Step one text here that is long.\n\nStep two text here that is long too.", "1", False, tid=k)
             for k in range(2)]
    judge = JudgeAnnotator(backend_obj=_Canned(['{"step": 1, "type": "logic"}', "the weather is nice"]))
    a, b = judge.annotate(items)
    assert a.first_error == 1 and [x.label for x in a.annotations] == ["first_error:logic"]
    assert b.first_error is None and b.annotations[0].label == "judge_unparseable"
    assert b.annotations[0].evidence == "the weather is nice"
    assert "Step 1: Step two" in build_prompt(items[0])


def test_prm_logic_on_processbench(shared):
    item = json.load(open(shared / "step-labels" / "processbench" / "gsm8k.json"))[0]
    msgs = format_messages(item["problem"], item["steps"])
    assert msgs[-1]["content"].count(SEP) == len(item["steps"])
    assert msgs[-1]["content"].endswith(SEP)
    sep = 7
    ids = [1, 2, sep, 3, sep, 4, 5, sep, sep]
    logits = [[0, 0], [0, 0], [-2, 2], [0, 0], [1, -1], [0, 0], [0, 0], [3, -3], [-1, 1]]
    probs = positive_probs(logits, ids, sep)
    assert len(probs) == 4 and probs[0] > 0.98 and probs[1] < 0.2
    assert first_error(probs, 0.5) == 1 and first_error([0.9, 0.8], 0.5) == -1


def test_simple_claims_are_evaluated_as_python_would():
    from pipeline.annotators.rules import _evaluate

    assert _evaluate("17 * 23") == 391 and isinstance(_evaluate("17 * 23"), int)
    assert _evaluate("7 / 2") == 3.5 and _evaluate("2 - -3") == 5 and _evaluate("-3 - 2") == -5
    assert _evaluate("0.5 * 4") == 2.0 and _evaluate("123456789 * 987654321") == 121932631112635269
    assert _evaluate("7 / 0") is None                 # no value, no claim
    assert _evaluate("012 * 3") is None               # not a Python literal, as before the fast path
    assert _evaluate("-2 ^ 2") == -4                  # unary minus binds looser than a power
    assert _evaluate("2 * (3 + 4)") == 14


def test_strategy_lexicon_counts_each_phrase_on_its_own():
    from pipeline.annotators.rules import strategy_hits

    hits = strategy_hits("By the Law of Cosines, cosine and SINE; the cosine again. Casework: Case 1 and case 2.")
    assert hits["trigonometry"] == 1 + 3 + 4    # 'law of cosines'; 'cosine' in 3 words; 'sine' in those + SINE
    assert hits["casework"] == 3 and hits["vectors"] == 0
