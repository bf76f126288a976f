"""Step segmentation: contiguous spans, markers, think tags, merging, real traces."""
import json

from pipeline.steps import segment, split_steps, step_texts


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
