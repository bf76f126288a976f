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


def _scan_keys(markers: dict[str, tuple[str, ...]]) -> dict[str, list[tuple[str, str]]]:
    """Markers grouped under the prefix they share ("Let me ", "Another "), so that the text is
    scanned once per group instead of once per marker (each scan reads the whole response)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind, words in markers.items():
        for w in words:
            groups.setdefault(w.split()[0], []).append((w, kind))
    out = {}
    for items in groups.values():
        key = items[0][0]
        for w, _ in items[1:]:
            while not w.startswith(key):
                key = key[:-1]
        out[key] = items
    return out


_SCAN = _scan_keys(MARKERS)
_ANY = {key: tuple(w for w, _ in words) for key, words in _SCAN.items()}


def _markers(text: str) -> list[tuple[int, str]]:
    """(position, kind) of every marker that opens a sentence; str.find is far faster than a regex."""
    found = []
    n = len(text)
    for key, words in _SCAN.items():
        any_word = _ANY[key]
        i = text.find(key)
        while i >= 0:
            if not text.startswith(any_word, i):     # one C call: most hits of "Let me " are no marker
                i = text.find(key, i + len(key))
                continue
            for w, kind in words:
                if not text.startswith(w, i):
                    continue
                j = i - 1
                while j >= 0 and text[j] in " \t*#>":
                    j -= 1
                end = i + len(w)
                while w == "Hmm" and end < n and text[end] == "m":
                    end += 1
                if (j < 0 or text[j] in _OPENERS and (text[j] == "\n" or j < i - 1)) and \
                        (end >= n or not text[end].isalnum()):
                    found.append((i, kind))
            i = text.find(key, i + len(key))
    return found


_BREAK = re.compile(r"\n[ \t]*\n\s*")
# Reasoning-block tags: each starts a new step of this kind (a tag alone joins the text after it).
TAGS = {"<think>": "think", "</think>": "answer", "<|begin_of_thought|>": "think",
        "<|end_of_thought|>": "answer", "<|begin_of_solution|>": "answer", "<|end_of_solution|>": "answer"}
_TAG_RE = re.compile("|".join(re.escape(t) for t in TAGS))


class Span(NamedTuple):
    start_char: int
    end_char: int
    kind: str


class Segments(NamedTuple):
    """The steps of a text as parallel lists (columnar: what the warehouse stores)."""
    starts: list[int]
    ends: list[int]
    kinds: list[str]


def segment(text: str, min_chars: int = 30) -> Segments:
    """The steps of ``text`` as parallel lists of start offsets, end offsets and kinds.

    Every cut (paragraph break, marker, tag) opens a fragment running to the next cut; a
    paragraph fragment shorter than ``min_chars`` (stripped) is merged into the step before it.
    A tag alone on its fragment joins the text after it. The steps are contiguous, so each ends
    where the next starts and only the starts need deciding.
    """
    n = len(text)
    if not n:
        return Segments([], [], [])
    cuts: dict[int, str] = {0: "paragraph"}
    cuts.update(dict.fromkeys([m.end() for m in _BREAK.finditer(text)], "paragraph"))
    for pos, kind in _markers(text):
        cuts[pos] = kind
    tags = set()
    if "<" in text:
        for m in _TAG_RE.finditer(text):
            cuts[m.start()] = TAGS[m.group()]
            cuts.setdefault(m.end(), "paragraph")
            tags.add(m.start())
    bounds = sorted(cuts)
    nxt = bounds[1:]
    nxt.append(n)
    m = min_chars
    # a fragment opens a step unless it is a paragraph fragment shorter than min_chars once
    # stripped (cheap test first: both ends of its first min_chars characters are visible)
    starts = [a for a, b in zip(bounds, nxt) if a < b and (cuts[a] != "paragraph" or b - a >= m and (
        not text[a].isspace() and not text[a + m - 1].isspace() or len(text[a:b].strip()) >= m))]
    if starts[:1] != [0]:
        starts.insert(0, 0)                 # the first fragment always opens a step
    if tags:
        starts = _join_tags(text, cuts, bounds, nxt, tags, starts)
    ends = starts[1:]
    ends.append(n)
    return Segments(starts, ends, [cuts[a] for a in starts])


def _join_tags(text: str, cuts: dict[int, str], bounds: list[int], nxt: list[int], tags: set[int],
               starts: list[int]) -> list[int]:
    """A tag alone on its fragment does not open a step of its own: the step it opens starts at
    the tag and takes the first fragment after it that has text (whitespace and further lone
    tags in between are absorbed); a lone tag at the very end joins the step before it."""
    index = {a: i for i, a in enumerate(bounds)}
    drop: set[int] = set()
    add: list[int] = []

    def lone(i: int) -> bool:
        a, b = bounds[i], nxt[i]
        return a in tags and a < b and text[a:b].strip() in TAGS

    for t in sorted(tags):
        k = index[t]
        if t in drop or not lone(k):
            continue
        drop.add(t)
        r = k + 1
        while r < len(bounds) and (bounds[r] >= nxt[r] or lone(r) or text[bounds[r]:nxt[r]].isspace()):
            drop.add(bounds[r])
            r += 1
        if r < len(bounds):
            drop.add(bounds[r])
            add.append(t)
        elif t == 0:
            add.append(t)
    out = sorted({a for a in starts if a not in drop}.union(add))
    return out or [0]


def split_steps(text: str, min_chars: int = 30) -> list[Span]:
    """The steps of ``text``: contiguous spans covering it, each with a kind."""
    return list(map(Span, *segment(text, min_chars)))


def step_texts(text: str, spans: list[Span]) -> list[str]:
    """The stripped text of each step."""
    return [text[s.start_char:s.end_char].strip() for s in spans]
