"""The rules annotator's fast paths give exactly what the plain code gave (issue 17: import throughput)."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from derivation import grade, steps
from derivation import answer_timeline
from derivation.annotators import rules
from derivation.annotators.base import AnnotateInput


def _normalize_reference(text: str) -> str:
    """``rules._normalize_math`` as it was: one ``a in text`` test per operator, in order."""
    if "\\]" in text:
        text = rules._DISPLAY_GOES_ON.sub(lambda m: " " * len(m.group()), text)
    for a, b in rules._SAME_LEN:
        if a in text:
            text = text.replace(a, b)
    if "$" in text:
        text = rules._DOLLAR.sub(";", text).replace("$", " ")
    if "boxed" in text:
        text = rules._BOXED_NUM.sub(lambda m: " " * (m.start(1) - m.start()) + m.group(1)
                                    + " " * (m.end() - m.end(1)), text)
    if "(" in text:
        text = rules._implicit_products(text)
    return rules._FRAC.sub(rules._frac_same_len, text) if "frac" in text else text


# pieces that make operators, half-operators and the cases where one replacement could create another
_PIECES = ["\\", "\\\\", "left(", "right)", "\\left(", "\\right)", "(", ")", "\\(", "\\)", "times", "\\times",
           "\\cdot", "\\div", "×", "·", "÷", "−", "\\!", "\\,", "{,}", "\\[", "\\]", "\\$", "$", "=", " ", "\n",
           "12", "3", "(40)", "\\frac{1}{2}", "\\boxed{7}", "x", ",", "!"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_normalize_math_same_as_reference(parts):
    text = "".join(parts)
    assert rules._normalize_math(text) == _normalize_reference(text)


def test_normalize_math_backslash_before_left():
    """'\\\\left(' leaves '\\(' behind: the second pass must still see it."""
    for text in ["a \\\\left( 3 \\times 4 = 12", "\\\\right) = 5", "\\left( 2 \\cdot 3 \\right) = 6 \\( x \\)"]:
        assert rules._normalize_math(text) == _normalize_reference(text)


def test_candidates_passed_give_same_annotations(shared):
    """``annotate_one(it, candidates=...)`` (what ``postprocess`` passes) equals computing them itself,
    on real wrong AIME trajectories (the ones whose first error uses the rules' timeline)."""
    f = sorted((shared / "traces" / "skythought-aime24").glob("*.jsonl"))[0]
    ann = rules.RulesAnnotator()
    n_wrong = 0
    for r in list(map(json.loads, open(f, encoding="utf-8")))[:30]:
        resp, gold = r["code"][0], str(r["gt"])
        seg = steps.segment(resp)
        v = grade.grade_response(resp, gold, "integer", "stop")
        spans = list(zip(seg.starts, seg.ends))
        it = AnnotateInput(0, r["question"], gold, resp, [resp[a:b].strip() for a, b in spans], spans, seg.kinds,
                           "stop", v.is_correct, v.extracted, "integer")
        n_wrong += v.is_correct is False
        a = ann.annotate_one(it)
        b = ann.annotate_one(it, candidates=answer_timeline.step_candidates(resp, spans))
        assert (a.annotations, a.flags, a.first_error) == (b.annotations, b.flags, b.first_error)
    assert n_wrong > 0


def test_pool_preload_modules_import():
    """The forkserver swallows an ImportError in its preload list: a wrong name there would silently
    make every worker import everything again (and start cold)."""
    import importlib

    from derivation import pool

    for name in pool.PRELOAD:
        assert importlib.import_module(name) is not None
