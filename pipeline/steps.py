"""Split a response into reasoning steps: at blank lines and at long-CoT markers.

A step is a half-open character span ``[start_char, end_char)`` of the response; the spans are
contiguous and cover the whole response, so ``response[s.start_char:s.end_char]`` round-trips.
A new step starts at every paragraph break and at a sentence that opens with a marker ("Wait",
"Alternatively", "Let me check", "Hmm", ...) or a ``<think>`` / ``</think>`` tag; fragments
shorter than ``min_chars`` are merged into the step before them (a marker step is kept).
Deterministic: the same text always gives the same steps.
"""
from __future__ import annotations

import re
from typing import NamedTuple

# Markers open a sentence (after a newline or ". "), capitalised as a sentence start.
MARKERS = {
    "wait": ("Wait", "But wait"),
    "alternatively": ("Alternatively", "Another approach", "Another way", "Let me try another",
                      "Let me try a different"),
    "check": ("Let me check", "Let me verify", "Let me double-check", "Let me double check", "Let me confirm",
              "Let's check", "Let's verify", "To verify", "Double-check"),
    "hmm": ("Hmm",),
}
_OPENERS = frozenset("\n.!?)")


def _markers(text: str) -> list[tuple[int, str]]:
    """(position, kind) of every marker that opens a sentence; str.find is far faster than a regex."""
    found = []
    for kind, words in MARKERS.items():
        for w in words:
            i = text.find(w)
            while i >= 0:
                j = i - 1
                while j >= 0 and text[j] in " \t*#>":
                    j -= 1
                end = i + len(w)
                while w == "Hmm" and end < len(text) and text[end] == "m":
                    end += 1
                if (j < 0 or text[j] in _OPENERS and (text[j] == "\n" or j < i - 1)) and \
                        (end >= len(text) or not text[end].isalnum()):
                    found.append((i, kind))
                i = text.find(w, end)
    return found


_BREAK = re.compile(r"\n[ \t]*\n\s*")
# Reasoning-block tags: each starts a new step of this kind (a tag alone joins the text after it).
TAGS = {"<think>": "think", "</think>": "answer", "<|begin_of_thought|>": "think",
        "<|end_of_thought|>": "answer", "<|begin_of_solution|>": "answer", "<|end_of_solution|>": "answer"}
_TAG_RE = re.compile("|".join(re.escape(t) for t in TAGS))


def _short(text: str, a: int, b: int, min_chars: int) -> bool:
    """``len(text[a:b].strip()) < min_chars``, without the copy in the common case: when both
    ``text[a]`` and ``text[a + min_chars - 1]`` are visible the stripped span is long enough."""
    if b - a < min_chars:
        return True
    if min_chars > 0 and not text[a].isspace() and not text[a + min_chars - 1].isspace():
        return False
    return len(text[a:b].strip()) < min_chars


class Span(NamedTuple):
    start_char: int
    end_char: int
    kind: str


def split_steps(text: str, min_chars: int = 30) -> list[Span]:
    """The steps of ``text``: contiguous spans covering it, each with a kind."""
    if not text:
        return []
    cuts: dict[int, str] = {0: "paragraph"}
    for m in _BREAK.finditer(text):
        cuts[m.end()] = "paragraph"
    for pos, kind in _markers(text):
        cuts[pos] = kind
    tags = set()
    for m in _TAG_RE.finditer(text):
        cuts[m.start()] = TAGS[m.group()]
        cuts.setdefault(m.end(), "paragraph")
        tags.add(m.start())
    n = len(text)
    bounds = sorted(cuts)
    bounds.append(n)
    # parallel lists, not a list of lists: fewer objects for the garbage collector to walk
    starts: list[int] = []
    ends: list[int] = []
    kinds: list[str] = []
    pending = None                # start of a lone tag waiting for its text, and the tag's kind
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        if a >= b:
            continue
        kind = cuts[a]
        if a in tags:
            if text[a:b].strip() in TAGS:
                pending = pending or (a, kind)
                continue
        if pending is not None:
            if not text[a:b].strip():
                continue
            a, kind = pending
            pending = None
        elif starts and kind == "paragraph" and _short(text, a, b, min_chars):
            ends[-1] = b
            continue
        starts.append(a)
        ends.append(b)
        kinds.append(kind)
    if pending is not None:
        if starts:
            ends[-1] = n
        else:
            starts.append(pending[0])
            ends.append(n)
            kinds.append(pending[1])
    return list(map(Span, starts, ends, kinds))


def step_texts(text: str, spans: list[Span]) -> list[str]:
    """The stripped text of each step."""
    return [text[s.start_char:s.end_char].strip() for s in spans]
