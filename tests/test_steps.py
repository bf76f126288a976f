"""Step segmentation: contiguous spans, markers, think tags, merging, real traces."""
import json

from pipeline.steps import split_steps, step_texts


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
