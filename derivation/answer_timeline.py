"""The answer timeline of a trajectory: which answer each step asserts, and when the gold is held.

Facts, not guesses: a step's *candidate answer* is read off its text by fixed patterns, and
whether it is the gold answer is decided by the project's grader (``derivation.grade.answers_match``,
the same equivalence as the final verdict). Nothing here judges whether a step's reasoning is right.

What a step asserts (``step_answer``), first pattern that matches, the last occurrence in the step:
  ``boxed``          a ``\\boxed{...}`` / ``\\fbox{...}``
  ``answer_phrase``  "the answer is X", "final answer is X", "Answer: X", "Final Answer: X"
  ``final_answer``   a "Final Answer" heading followed by the answer on the next line
  ``after_think``    the last step, when it follows the closing ``</think>`` and matched nothing
                     above: what the grader extracts from it (its closing-line conclusion)
  ``conclusion``     a step whose last line opens with So / Therefore / Thus / Hence and closes a
                     computation on a value ("So m + n = 204.", "Thus the area is $\\frac{3}{2}$.")
An ``answer_phrase`` or ``conclusion`` candidate must look like an answer (a digit, LaTeX, or a
single letter choice, at most 80 characters): "the answer is correct" asserts nothing.

Is a candidate the gold? Equal text after the grader's normalisation, or equal values when both are
plain arithmetic (``quick_match``: ``\\frac{1}{2}`` = ``0.5``), decides at once; otherwise a committed
candidate (every source but ``conclusion``) goes through the grader's full equivalence
(``grade.answers_match``, math-verify), and a ``conclusion`` candidate counts as not the gold: a
computation's intermediate value (``6\\sqrt{21}``) is not worth a symbolic proof on every import
(measured: math-verify on every candidate made the timeline cost 5x the rest of the derivation).

Per trajectory (``timeline``): the first and last step holding the gold, the number of answer
changes (consecutive candidates that differ), the distinct candidates, the characters after the
end of the first gold step (overthinking) and two shares of the response:
  ``xi_o``    outcome efficiency of Chen et al. 2024 ("Do NOT Think That Much for 2+3=?") for one
              response: (characters up to the end of the first step holding the gold) / (all
              characters), 0 when no step holds the gold. The paper counts tokens; characters are
              used here (tokens are estimated proportionally when the trajectory's count is known).
              The paper's σ is "the response reaches a correct answer"; here: some step holds gold.
  ``xi_ut``   underthinking of Wang et al. 2025 ("Thoughts Are All Over the Place") for one wrong
              response: 1 - (characters up to the end of the first gold step) / (all characters);
              None for correct responses and for wrong ones where no step held the gold.
  ``abandoned_share``  for a wrong response that held the gold: the share of the response written
              after the end of the last step holding the gold (after it was abandoned).

Versioned: ``VERSION`` changes when any of this changes; stored rows carry the grader's version
too (``version()``), so ``python -m pipeline annotate --timeline`` knows when to recompute. The
``rules`` annotator reads its answers off these candidates (``answer_flip`` is ``answer_changes``), so
the version keys its rows too: ``merge`` copies a shard's derived rows only at the same version.
Pure functions (no warehouse): ``pipeline.derive.postprocess`` and ``pipeline.derive.annotate`` store the results.
"""
from __future__ import annotations

import ast
import bisect
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

from derivation import arith, grade

VERSION = "3"   # 3: the rules annotator's answers are this timeline's (its answer_flip changed)
SOURCES = ("boxed", "answer_phrase", "final_answer", "after_think", "conclusion")
COMMITTED = frozenset(SOURCES) - {"conclusion"}     # answers the model commits to, not a computation's value

_THINK_CLOSE = ("</think>", "<|end_of_thought|>")
_ANSWER_PHRASE = re.compile(
    r"(?:final answer is|the answer is|\banswer\s*:|final answer\s*:)\**\s*[:\-]?\s*(.+)", re.I)
_FINAL_HEADING = re.compile(r"final answer[*#: \t]*\n+[ \t]*(.+)", re.I)
_CONCLUDES = re.compile(r"^\W*(?:so|therefore|thus|hence)\b", re.I)
_ANCHOR = re.compile(r"(?:=|\bis|\bequals|\bget|\bgives?|:)\s*$", re.I)
_END_MATH = re.compile(r"(?:\$\$?([^$]{1,120})\$\$?|\\\((.{1,120}?)\\\)|\\\[(.{1,120}?)\\\])$")
_END_NUMBER = re.compile(r"(?:=|\bis|\bequals|\bget|\bgives?|:)\s*(-?\d[\d,]*(?:\.\d+)?)((?:\s+[A-Za-z]+){0,2})$", re.I)
_LATEX_WORD = re.compile(r"\\[A-Za-z]+|\\text\{[^{}]*\}")
_DIGIT = re.compile(r"\d")
_CHOICE = re.compile(r"^\(?[A-E]\)?$")


def _plausible(ans: str | None) -> str | None:
    """The candidate when it looks like an answer (digits, LaTeX or a letter choice), else None."""
    if not ans:
        return None
    ans = ans.strip()
    if not ans or len(ans) > 80:
        return None
    if _DIGIT.search(ans) or "\\" in ans or _CHOICE.match(ans):
        return ans
    return None


def _clean(ans: str) -> str:
    ans = ans.strip().split("\n")[0].strip()
    ans = re.sub(r"^(\*\*|\$+|\\\(|\\\[)|(\*\*|\$+|\\\)|\\\])?[.\s]*$", "", ans).strip()
    return ans.strip("*$ ").rstrip(".").strip()


def _phrase(text: str) -> str | None:
    m = None
    for m in _ANSWER_PHRASE.finditer(text):
        pass
    return _plausible(_clean(m.group(1))) if m else None


def _heading(text: str) -> str | None:
    m = None
    for m in _FINAL_HEADING.finditer(text):
        pass
    return _plausible(_clean(m.group(1))) if m else None


def _conclusion(text: str) -> str | None:
    """The value closing the step's last line when that line opens with So/Therefore/Thus/Hence:
    a final math span stating a value (``$m + n = 204$``, "is $\\frac{3}{2}$") or a final number
    after =/is/equals (with at most two words after it: "is 204 ways"). Values with unknowns
    (``x = 2y``) are intermediate algebra, not candidates."""
    stripped = text.rstrip()
    line = stripped[stripped.rfind("\n") + 1:].strip().rstrip(" .!*")
    if not line or len(line) > 400 or not _CONCLUDES.match(line):
        return None
    if not _DIGIT.search(line):
        return None                  # no value at all (most conclusion lines): no costlier pattern runs
    m = _END_MATH.search(line) if line[-1] in "$)]" else None
    if m:
        inner = (m.group(1) or m.group(2) or m.group(3)).strip().rstrip(" .,")
        if "=" in inner:
            lhs, val = inner.rsplit("=", 1)
            if _is_equation(lhs.rsplit("=", 1)[-1]):
                return None
            val = val.strip()
        elif _ANCHOR.search(line[:m.start()]):
            val = inner
        else:
            return None
        if not val or re.search(r"[A-Za-z]", _LATEX_WORD.sub("", val)) or not any(c.isdigit() for c in val):
            return None
        return _plausible(val)
    m = _END_NUMBER.search(line)
    if m is None:
        return None
    if line[m.start()] == "=" and _is_equation(line[:m.start()].rsplit("=", 1)[-1]):
        return None
    return _plausible(m.group(1).rstrip(","))


_EQUATION_LHS = re.compile(r"[A-Za-z][^=]*[(^/,²³]|[(^/,²³][^=]*[A-Za-z]")


def _is_equation(lhs: str) -> bool:
    """Whether ``lhs = value`` states an equation over unknowns rather than a result: a left side with
    a letter and a bracket, power, fraction or comma (``x(x + y) = 324``, ``a^2 + 46/a^2 = 27``,
    ``z^{13} = 1``, ``a6, a7, a8 = 9``), not a name being given its value (``IA = 2\\sqrt{39}``,
    ``m + n = 163 + 256 = 419``)."""
    t = _LATEX_WORD.sub(" ", lhs.split("\\(")[-1].split("$")[-1])
    t = re.sub(r"^\W*(?:so|therefore|thus|hence)\b[^A-Za-z]*", "", t.strip(), flags=re.I)
    words = re.findall(r"[A-Za-z]{3,}", t)
    if words:                      # prose before the formula: keep only what follows the last word
        t = t[t.rfind(words[-1]) + len(words[-1]):]
    return bool(_EQUATION_LHS.search(t))


_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")


def _last_box(text: str, tries: int = 3, longest: int = 200) -> str | None:
    """The content of the last complete, non-empty ``\\boxed{...}`` of a step (at most ``longest``
    characters, nested braces), trying the last ``tries`` openings (``grade.last_boxed`` tries every
    one, each to the end of the text: quadratic on a step with many unclosed boxes)."""
    starts = [m.end() for m in _BOX_OPEN.finditer(text)][-tries:]
    for j in reversed(starts):
        inner = (grade._braced(text, j - 1, longest) or "").strip()     # j - 1: the opening brace
        if inner:
            return inner
    if not starts and "\\boxed " in text:
        b = grade.last_boxed(text)         # the bare form: \boxed 5
        return b if b and len(b) <= longest else None
    return None


def step_answer(text: str) -> tuple[str, str] | None:
    """(candidate answer, source) the step ``text`` asserts, or None (see the module doc)."""
    if "box" in text:
        b = _last_box(text)
        if b:
            return b, "boxed"
    low = text.lower()
    if "answer" in low:
        a = _phrase(text)
        if a:
            return a, "answer_phrase"
        if "final answer" in low:
            a = _heading(text)
            if a:
                return a, "final_answer"
    a = _conclusion(text)
    if a:
        return a, "conclusion"
    return None


def think_end(response: str) -> int | None:
    """Offset where the reasoning block closes (after the last ``</think>``), None when it never does."""
    best = None
    for tag in _THINK_CLOSE:
        k = response.rfind(tag)
        if k >= 0:
            best = max(best or 0, k + len(tag))
    return best


# where a step may assert something: a box, the word "answer", a line opening with a conclusion word
# (scanned once over the lower-cased response; only steps holding a hint are read)
_CONCLUSION_LINE = re.compile(r"\n[^\w\n]{0,8}(?:so|therefore|thus|hence)\b")
_CONCLUSION_WORDS = ("so", "therefore", "thus", "hence", "So", "Therefore", "Thus", "Hence")


def _hints(response: str) -> tuple[list[int], list[int]]:
    """Offsets of the hints: (box / answer words, conclusion lines); a conclusion line counts where it
    opens the response or follows a newline (the segmenter starts steps there, or at markers such as
    "Wait" that are no conclusion)."""
    low = response.lower()
    pos: list[int] = []
    for word in ("box", "answer"):
        i = low.find(word)
        while i >= 0:
            pos.append(i)
            i = low.find(word, i + len(word))
    lines = [m.start() + 1 for m in _CONCLUSION_LINE.finditer(low)]
    if response.startswith(_CONCLUSION_WORDS):
        lines.append(0)
    return pos, lines


def step_candidates(response: str, spans: Sequence[tuple[int, int]]) -> list[tuple[str, str] | None]:
    """(candidate, source) or None for each step ``[start, end)`` of ``response`` (``spans``
    need not cover the response; the last one gets the ``after_think`` reading)."""
    out: list[tuple[str, str] | None] = [None] * len(spans)
    starts = [a for a, _ in spans]
    seen = set()
    words, lines = _hints(response)
    for p in words:
        i = bisect.bisect_right(starts, p) - 1
        if i >= 0 and i not in seen and p < spans[i][1]:
            seen.add(i)
            out[i] = step_answer(response[spans[i][0]:spans[i][1]])
    for p in lines:                  # a conclusion counts on the step's last line only
        i = bisect.bisect_right(starts, p) - 1
        if i < 0 or i in seen or p >= spans[i][1]:
            continue
        b = spans[i][1]
        nl = response.find("\n", p, b)
        if nl >= 0 and not response[nl:b].isspace():
            continue
        seen.add(i)
        out[i] = step_answer(response[spans[i][0]:b])
    end_think = think_end(response)
    if out and out[-1] is None and end_think is not None and spans[-1][1] > end_think:
        a = _plausible(grade.extract_answer(response[max(end_think, spans[-1][0]):]))
        if a:
            out[-1] = (a, "after_think")
    return out


def step_answers(response: str, spans: Sequence[tuple[int, int]]) -> list[str | None]:
    """The candidate answer each step ``[start, end)`` of ``response`` asserts, None where none."""
    return [c[0] if c else None for c in step_candidates(response, spans)]


_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_ARITH_OK = re.compile(r"[0-9.+\-*/() ]+")


@lru_cache(maxsize=1 << 16)
def number_value(ans: str) -> float | None:
    """The value of an answer written as plain arithmetic (``204``, ``-3.5``, ``\\frac{14}{3}``,
    ``2^{4}``, ``3 \\cdot 5``), None for anything else (roots, pi, unknowns, sets, text)."""
    if len(ans) > 80:
        return None
    t = ans
    for _ in range(3):
        if "frac" not in t:
            break
        t = _FRAC.sub(r"((\1)/(\2))", t)
    t = grade.normalize_answer(t)
    if not t:
        return None
    t = (t.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/").replace("^", "**")
         .replace("{", "(").replace("}", ")"))
    if not _ARITH_OK.fullmatch(t.replace("**", "*")):
        return None
    try:
        v = arith.evaluate(ast.parse(t, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def quick_match(gold: str, cand: str) -> bool | None:
    """Cheap equivalence: True/False when both are plain arithmetic (or equal as text), None when
    only the full grader can tell."""
    if same_answer(gold, cand):
        return True
    g, c = number_value(gold), number_value(cand)
    if g is not None and c is not None:
        return abs(g - c) <= 1e-9 * max(1.0, abs(g))
    return None


def same_answer(a: str, b: str) -> bool:
    """Cheap equality of two candidates (normalised text, or equal numbers): no math-verify."""
    na, nb = grade.normalize_answer(a), grade.normalize_answer(b)
    if na == nb:
        return True
    try:
        return abs(float(na) - float(nb)) < 1e-9
    except ValueError:
        return False


@dataclass
class Timeline:
    """The answer timeline of one trajectory (see the module doc for each figure)."""

    spans: list[tuple[int, int]]
    answers: list[str | None]
    sources: list[str | None]
    is_gold: list[bool | None]            # None where the step asserts nothing or no gold is known
    changed: list[bool]                   # the step's candidate differs from the previous candidate
    n_chars: int
    first_gold_step: int | None = None
    last_gold_step: int | None = None
    answer_changes: int = 0
    distinct_answers: list[str] = field(default_factory=list)
    first_gold_char: int | None = None    # end of the first gold step
    last_gold_char: int | None = None     # end of the last gold step
    chars_after_first_gold: int | None = None
    tokens_after_first_gold: float | None = None   # estimated: n_tokens * chars share
    frac_before_first_gold: float | None = None
    xi_o: float | None = None
    xi_ut: float | None = None
    abandoned_share: float | None = None

    def as_steps(self) -> list[dict]:
        """One dict per step: step_idx, start_char, end_char, answer, is_gold (the CLI's shape)."""
        return [{"step_idx": i, "start_char": a, "end_char": b, "answer": ans, "is_gold": g}
                for i, ((a, b), ans, g) in enumerate(zip(self.spans, self.answers, self.is_gold))]


Matcher = Callable[[str, str, str], bool]


def timeline(response: str, spans: Sequence[tuple[int, int]], gold: str | None, answer_type: str = "math",
             is_correct: bool | None = None, n_tokens: int | None = None,
             match: Matcher = grade.answers_match,
             candidates: Sequence[tuple[str, str] | None] | None = None,
             extracted: str | None = None) -> Timeline:
    """The answer timeline of ``response`` split into ``spans`` against ``gold`` (None: unknown).

    ``match(gold, candidate, answer_type)`` decides equivalence (default: the ``ladder`` grader's);
    ``is_correct`` is the trajectory's verdict (``xi_ut`` and ``abandoned_share`` need it);
    ``candidates`` may pass precomputed ``step_candidates``; ``extracted``: the final answer the grader
    extracted, whose verdict is ``is_correct`` (a candidate equal to it takes that verdict without
    asking math-verify again).
    """
    spans = spans if isinstance(spans, list) else list(spans)
    cands = list(candidates) if candidates is not None else step_candidates(response, spans)
    n = len(response)
    m = len(cands)
    answers: list[str | None] = [None] * m
    sources: list[str | None] = [None] * m
    is_gold: list[bool | None] = [None] * m
    changed = [False] * m
    held = [i for i, c in enumerate(cands) if c]            # only the steps asserting something
    has_gold = gold is not None and str(gold).strip() != ""
    for i in held:
        a, src = cands[i]
        answers[i], sources[i] = a, src
        if not has_gold:
            continue
        ok = quick_match(str(gold), a)
        if ok is None and extracted is not None and is_correct is not None and same_answer(a, extracted):
            ok = bool(is_correct)
        if ok is None:
            ok = False
            if src in COMMITTED:         # the full grader (math-verify) only for committed answers
                try:
                    ok = bool(match(str(gold), a, answer_type))
                except Exception:  # noqa: BLE001 - a malformed candidate is simply not the gold
                    ok = False
        is_gold[i] = ok
    prev: tuple[str, bool | None] | None = None
    distinct: list[tuple[str, bool | None]] = []
    changes = 0
    for i in held:
        a, g = answers[i], is_gold[i]
        if prev is not None and not (g and prev[1]) and not same_answer(prev[0], a):
            changed[i] = True
            changes += 1
        prev = (a, g)
        if not any((g and h) or same_answer(d, a) for d, h in distinct):
            distinct.append((a, g))
    t = Timeline(spans, answers, sources, is_gold, changed, n, answer_changes=changes,
                 distinct_answers=[d for d, _ in distinct])
    gold_steps = [i for i in held if is_gold[i]]
    if gold is not None and str(gold).strip() != "" and n > 0:
        t.xi_o = 0.0
    if gold_steps:
        t.first_gold_step, t.last_gold_step = gold_steps[0], gold_steps[-1]
        t.first_gold_char = spans[t.first_gold_step][1]
        t.last_gold_char = spans[t.last_gold_step][1]
        t.chars_after_first_gold = max(0, n - t.first_gold_char)
        if n > 0:
            t.frac_before_first_gold = t.first_gold_char / n
            t.xi_o = t.first_gold_char / n
            if n_tokens:
                t.tokens_after_first_gold = n_tokens * t.chars_after_first_gold / n
            if is_correct is False:
                t.xi_ut = 1.0 - t.first_gold_char / n
                t.abandoned_share = max(0, n - t.last_gold_char) / n
    return t


def version() -> str:
    """The version stored rows carry: the grader's and this module's (either change recomputes)."""
    return f"{grade.GRADER}:{grade.GRADER_VERSION}/timeline:{VERSION}"


def rows(trajectory_id: int, t: Timeline) -> tuple[list[tuple], tuple]:
    """The warehouse rows of one timeline as plain tuples, in the column order of ``step_answers``
    (one per step asserting an answer) and ``trajectory_timelines`` (cheap to send between processes)."""
    answers = [(trajectory_id, i, t.answers[i], t.sources[i], t.is_gold[i], t.changed[i])
               for i, a in enumerate(t.answers) if a is not None]
    summary = (trajectory_id, version(), len(answers), t.answer_changes, len(t.distinct_answers),
               t.first_gold_step, t.last_gold_step, t.first_gold_char, t.last_gold_char)
    return answers, summary
