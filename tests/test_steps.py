"""Step segmentation: contiguous spans, markers, think tags, merging, real traces."""
import json

import pytest

from derivation.steps import segment, split_steps, step_texts


def test_markers_tags_and_merging():
    t = ("<think>\nLet x = 2. So 2x = 4 and that is the value.\n\nWait, that is wrong. Hmm. Fine.\n\nok\n\n"
         "Alternatively, we could compute 3*4 = 12 directly here.</think>\n\nThe answer is \\boxed{4}.")
    spans = split_steps(t)
    assert "".join(t[s.start_char:s.end_char] for s in spans) == t
    assert [s.kind for s in spans] == ["think", "wait", "hmm", "alternatively", "answer"]
    texts = step_texts(t, spans)
    assert texts[2] == "Hmm. Fine.\n\nok"           # the tiny "ok" merged into the step before
    assert texts[4].startswith("</think>")


def test_marker_mid_sentence_is_not_a_step():
    spans = split_steps("We wait for the bus to come and then we count.\n\nThe bus is late by 10 minutes today.")
    assert [s.kind for s in spans] == ["paragraph", "paragraph"]


def test_real_long_cot_is_covered_and_deterministic(shared):
    f = shared / "traces" / "skythought-aime24" / "Sky-T1-math-correct-5K-14B.jsonl"
    text = json.loads(open(f).readline())["code"][0]
    a, b = split_steps(text), split_steps(text)
    assert a == b and len(a) > 5
    assert a[0].start_char == 0 and a[-1].end_char == len(text)
    assert all(x.end_char == y.start_char for x, y in zip(a, a[1:]))
    assert "".join(text[s.start_char:s.end_char] for s in a) == text


def test_empty():
    assert split_steps("") == []


def _spans(text):
    return [(s.start_char, s.end_char, s.kind) for s in split_steps(text)]


def test_segment_is_split_steps_as_columns(shared):
    f = shared / "traces" / "skythought-aime24" / "Sky-T1-math-correct-5K-14B.jsonl"
    for line in open(f).readlines()[:3]:
        text = json.loads(line)["code"][0]
        seg = segment(text)
        assert list(zip(*seg)) == _spans(text)
        assert seg.ends[:-1] == seg.starts[1:] and seg.ends[-1] == len(text)


def test_lone_tags_join_the_text_after_them():
    t = "<|begin_of_thought|>\n\n<think>\n\n   \n\nFirst we set up the problem carefully here.\n\nok"
    assert _spans(t) == [(0, len(t), "think")]           # both tags and the blank lines open one step
    t = "We set up the whole problem carefully here.\n\n</think>"
    assert _spans(t) == [(0, len(t), "paragraph")]       # a lone tag at the very end joins the step before
    assert _spans("<think>\n\n") == [(0, 9, "think")]     # nothing but a tag: one step
    t = "Some reasoning that is long enough to stand.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\nThe answer is 7."
    spans = _spans(t)
    assert [k for *_, k in spans] == ["paragraph", "answer"]
    assert t[spans[1][0]:].startswith("<|end_of_thought|>")


def test_unicode_whitespace_inside_a_paragraph_break():
    t = "First paragraph that is long enough.\n\n\u3000\n\nSecond paragraph that is long enough."
    spans = _spans(t)
    assert len(spans) == 2 and t[spans[1][0]:].startswith("Second")


def test_markers_sharing_a_prefix_are_all_found():
    t = ("We start with a long enough first line here.\nLet me check the sum again now.\n"
         "Let me verify it once more, carefully.\nLet's verify with small cases instead.\n"
         "Another approach is to count the complement.\nLet me try another way of doing it.")
    assert [k for *_, k in _spans(t)] == ["paragraph", "check", "check", "check", "alternatively", "alternatively"]


# ---- a regression table taken from real outputs (it needs no ../shared; test_real_excerpts_are_copied_verbatim
# checks it against it). Each row names its source, FOLDER/FILE.jsonl:LINE:SAMPLE under ../shared/data/traces
# (LINE counts from 1; SAMPLE indexes the line's `code` list), an excerpt of that response and the steps the
# segmenter makes of it today, as (kind, end_char): the spans are contiguous from 0, so the ends fix them.

# (source, excerpt) -> [(kind, end_char), ...]
REAL_STEPS = [
    # the opening tag and the first paragraph are one think step
    ("skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl:1:0",
     "<|begin_of_thought|>\n\nSo I've got this problem here about Aya's morning walk and coffee "
     "shop visits. Let's see what it's asking.\n\n",
     [("think", 130)]),
    # the end of the thought and the start of the solution open the answer step
    ("skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl:1:0",
     "\\( t \\) minutes spent in the coffee shop, when she walks at \\( s + \\frac{1}{2} \\) "
     "kilometers per hour, is 204 minutes.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\nAya "
     "walks 9 kilometers every morning and stops at a coffee shop afterwards.",
     [("paragraph", 120), ("answer", 238)]),
    # Hmm, Let me double-check, a paragraph, Wait
    ("skythought-aime24/Sky-T1-math-correct-5K-32B-step105.jsonl:28:0",
     "Hmm, none of these numbers seem to work. Maybe I made a mistake earlier.\n\nLet me "
     "double-check the logic.\n\nWe have that \\( n \\) is a four-digit number consisting of only "
     "1s and 8s, and changing any one digit to 1 results in a number divisible by 7.\n\nWait, "
     "perhaps I need to consider that changing a digit to 1 affects the number by a multiple of 7.",
     [("hmm", 74), ("check", 106), ("paragraph", 249), ("wait", 347)]),
    # short paragraphs merge into one step; two Waits
    ("skythought-aime24/Sky-T1-math-correct-5K-32B-step133.jsonl:5:0",
     "289*15 = 4335\n\n4626 - 4335 = 291\n\n291 - 289 = 2\n\nSo, m ≡ 2 mod 289\n\nWait, that can't "
     "be right because m = 2 doesn't satisfy m^4 ≡ -1 mod 289.\n\nWait, let me check m = 2:\n\n2^4 "
     "= 16, 16 + 1 = 17, which is not divisible by 289.\n\nSo, m = 2 is not a solution.\n\nHmm, "
     "perhaps I made a mistake in the lifting process.\n\nLet me check Hensel's lemma again.",
     [("paragraph", 68), ("wait", 143), ("wait", 170), ("paragraph", 255), ("hmm", 310), ("check", 344)]),
    # a lone 'Hmm.' is a step of its own; an ASCII drawing's short lines merge
    ("skythought-aime24/Sky-T1-math-correct-5K-32B-step133.jsonl:11:0",
     "I need to find CE.\n\nHmm.\n\nLet me label the points to make sure I have them straight.\n\n- "
     "ABCD: A---B\n\n| | \n\nD---C\n\n- EFGH: E---F\n\n| |\n\nH---G\n\nAnd D, E, C, F are collinear "
     "in that order.\n\nWait, does the problem specify the order of D, E, C, F on the line? Let's "
     "check.",
     [("paragraph", 20), ("hmm", 26), ("paragraph", 141), ("paragraph", 186), ("wait", 254), ("check", 266)]),
    # Alternatively, then Wait
    ("skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl:2:0",
     "But I need to find a way to relate these lengths to the side lengths of the triangle.\n\n"
     "Alternatively, perhaps I can use the fact that \\( D \\) is the exsymmedian point or "
     "something similar.\n\nWait, maybe I can use the formula for the length of the tangent from a "
     "point to a circle.",
     [("paragraph", 87), ("alternatively", 190), ("wait", 279)]),
    # But wait, then Let me verify
    ("skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl:12:0",
     "So, total number of paths with exactly four turns is 147 + 147 = 294.\n\nBut wait, is this "
     "correct?\n\nLet me verify with the smaller grid example.",
     [("paragraph", 71), ("wait", 99), ("check", 143)]),
    # Another approach
    ("skythought-aime24/Sky-T1-math-correct-5K-27B.jsonl:13:0",
     "Alternatively, perhaps there's a different approach to this problem that could confirm our "
     "answer.\n\nAnother approach could be to consider the expression as a function of \\(z\\) and "
     "use properties of complex numbers to find its maximum real part.",
     [("alternatively", 100), ("alternatively", 244)]),
    # Let me try another
    ("skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl:18:0",
     "This still looks messy. Maybe this approach isn't the best.\n\nLet me try another angle. "
     "Maybe I can consider that \\(a\\), \\(b\\), and \\(c\\) are such that \\(a^2b + a^2c + b^2a + "
     "b^2c + c^2a + c^2b = 6,000,000\\), and see if I can factor this expression or find a way to "
     "relate it to \\(a + b + c = 300\\).",
     [("paragraph", 61), ("alternatively", 298)]),
    # a marker after '. ' inside a paragraph opens a step
    ("skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl:5:0",
     "Hmm, still not working. Maybe \\( p = 17 \\) is not the right choice. Wait, perhaps I made a "
     "mistake in assuming that \\( p \\) must be congruent to 1 modulo 8.",
     [("hmm", 68), ("wait", 156)]),
    # Alternatively after '. '
    ("skythought-aime24/Sky-T1-math-correct-5K-27B.jsonl:7:0",
     "This seems like an optimization problem with constraints. Maybe I can use the method of "
     "Lagrange multipliers, but that might be complicated. Alternatively, perhaps I can express "
     "\\(l\\), \\(w\\), and \\(h\\) in terms of one variable and then find the maximum.",
     [("paragraph", 141), ("alternatively", 253)]),
    # 'Wait' after ': ' opens no step
    ("skythought-aime24/Sky-T1-math-correct-5K-32B-step63.jsonl:21:0",
     "- \\( n = 16 \\): Wait, 16 in base 4 is 100, which is three digits. So, not considered.",
     [("paragraph", 85)]),
    # markdown headings and lists: paragraphs
    ("skythought-aime24/gemma-2-27b-it.jsonl:1:0",
     "Here's how to solve the problem step-by-step:\n\n**Step 1: Set up equations based on the "
     "given information.**\n\n* **Scenario 1:**  Walking at *s* km/h\n   * Time for the walk: 9 km "
     "/ *s* km/h = 9/*s* hours\n   * Total time: 9/*s* hours + *t*/60 hours \n   * We know this "
     "total time is 4 hours: 9/*s* + *t*/60 = 4",
     [("paragraph", 47), ("paragraph", 109), ("paragraph", 306)]),
]


@pytest.mark.parametrize("src, text, spans", REAL_STEPS,
                         ids=[r[0].replace("skythought-", "").replace(".jsonl", "") for r in REAL_STEPS])
def test_real_excerpts(src, text, spans):
    got = split_steps(text)
    assert [(s.kind, s.end_char) for s in got] == spans
    assert got[0].start_char == 0 and all(a.end_char == b.start_char for a, b in zip(got, got[1:]))
    assert list(zip(*segment(text))) == _spans(text)


def test_real_excerpts_are_copied_verbatim(shared):
    for src, text, _ in REAL_STEPS:
        path, line, sample = src.rsplit(":", 2)
        with open(shared / "traces" / path, encoding="utf-8") as f:
            response = json.loads(f.readlines()[int(line) - 1])["code"][int(sample)]
        assert text in response, src
