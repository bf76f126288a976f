"""The ``ladder`` grader: locate the final answer, then verify it against the gold answer.

Locating is cheap string work (the last ``\\boxed{}``/``\\fbox{}``, else an "Answer:" / "final
answer is" line, preferring the text after a closing ``</think>``); only the short extracted
string goes through math-verify, and verdicts are cached per (gold, answer, type) pair.

Reasons: ``correct``; ``mismatch`` (an answer that is not the gold); ``no_answer`` (the response
finished but states no answer); ``truncated`` (no answer and the generation was cut off:
``finish_reason == 'length'``, or an unclosed ``<think>`` block / unterminated ``\\boxed{``).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from derivation import pool
from warehouse.records import GRADE_REASONS, GradeReason

GRADER = "ladder"
GRADER_VERSION = "1"
REASONS = GRADE_REASONS

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_BARE = re.compile(r"\\boxed\s+([^\s$\\]+)")
_ANSWER_LINE = re.compile(
    r"(?:final answer is|the answer is|answer\s*:|final answer\s*:)\s*[:\-]?\s*(.+)", re.I)
_THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Verdict:
    extracted: str | None
    is_correct: bool
    reason: GradeReason


def _braced(text: str, open_idx: int, longest: int | None = None) -> str | None:
    """The content of the brace group whose '{' is at ``open_idx`` (nested braces), None if unclosed (within
    ``longest`` characters of content, when given)."""
    depth = 0
    for i in range(open_idx, len(text) if longest is None else min(len(text), open_idx + longest + 2)):
        c = text[i]
        if c == "{" and text[i - 1] != "\\":
            depth += 1
        elif c == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[open_idx + 1:i]
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` / ``\\fbox{...}`` (or ``\\boxed 5``)."""
    pos = len(text)
    while True:
        i = max(text.rfind("\\boxed", 0, pos), text.rfind("\\fbox", 0, pos))
        if i < 0:
            return None
        m = _BOX.match(text, i)
        if m:
            inner = _braced(text, m.end() - 1)
            if inner is not None and inner.strip():
                return inner.strip()
        else:
            b = _BOX_BARE.match(text, i)
            if b:
                return b.group(1).strip()
        pos = i


def _answer_line(text: str) -> str | None:
    found = None
    for m in _ANSWER_LINE.finditer(text[-4000:]):
        found = m.group(1)
    if found is None:
        return None
    ans = found.strip().split("\n")[0].strip()
    ans = re.sub(r"^(\*\*|\$+|\\\(|\\\[)|(\*\*|\$+|\\\)|\\\])?[.\s]*$", "", ans).strip()
    ans = ans.strip("*$ ").rstrip(".").strip()
    return ans or None


_CLAIM = re.compile(r"\b(?:is|are|was|equals|be|gives?|get)\b|=|:|^\W*(?:therefore|thus|hence|so|in conclusion)\b",
                    re.I)
_LAST_MATH = re.compile(r"(?:\$([^$]+)\$|\\\((.+?)\\\))[^$\\\w]*$")
_LAST_NUM = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)(?!.*\d)")


def _conclusion(text: str) -> str | None:
    """The value a closing line states ("Therefore, Hillary has 7 nickels.", "The height is 5 cm.").

    Only the last three non-empty lines are read and only a line that asserts something (is, =,
    equals, ...) counts: the last math span of that line, else its last number.
    """
    lines = [ln for ln in text[-1500:].split("\n") if ln.strip()][-3:]
    for ln in reversed(lines):
        if not _CLAIM.search(ln) or "\\boxed" in ln:
            continue
        lm = _LAST_MATH.search(ln.rstrip(" .*"))
        if lm:
            return (lm.group(1) or lm.group(2)).rsplit("=", 1)[-1].strip()
        n = _LAST_NUM.search(ln)
        if n:
            return n.group(1).rstrip(",")
    return None


def extract_answer(response: str) -> str | None:
    """The final answer stated by a response, or None."""
    text = response or ""
    k = text.rfind(_THINK_CLOSE)
    if k >= 0:  # the answer after the reasoning block wins
        tail = text[k + len(_THINK_CLOSE):]
        ans = last_boxed(tail) or _answer_line(tail)
        if ans:
            return ans
    return last_boxed(text) or _answer_line(text) or _conclusion(text)


def looks_truncated(response: str, finish_reason: str | None) -> bool:
    if finish_reason == "length":
        return True
    text = response or ""
    if "<think>" in text and _THINK_CLOSE not in text:
        return True
    i = text.rfind("\\boxed{")
    return i >= 0 and _braced(text, i + len("\\boxed")) is None


_STRIP = re.compile(r"\\text\{([^{}]*)\}|\\mathrm\{([^{}]*)\}|\\[,;!: ]|\\(?:d|t)?frac|\^\\circ|\^\{\\circ\}|[\s$]")


_ORDINAL = re.compile(r"\^\{?\\(?:text|mathrm)\{(?:st|nd|rd|th)\}\}?|(?<=\d)\s*\\(?:text|mathrm)\{\s*[A-Za-z ]+\}$")
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,)(?=\d{3}\b)")


def normalize_answer(s: str) -> str:
    """An answer with formatting dropped (spaces, ``$``, ``\\text{}``, ``\\left``/``\\right``,
    degree signs, ordinals, thousands separators): what two equal answers share textually."""
    s = _ORDINAL.sub("", _ORDINAL.sub("", s.strip()))
    s = _STRIP.sub(lambda m: m.group(1) or m.group(2) or "", s).replace("\\left", "").replace("\\right", "")
    return _THOUSANDS.sub("", s)


_COMMAND = re.compile(r"\\[A-Za-z]+|\\text\{[^{}]*\}")
_VARIABLE = re.compile(r"[A-Za-z]")
# a power with a 3+ digit integer exponent (\omega^{-1994}): sympy's polynomial algebra on it can run for
# minutes inside one C-level integer operation, where math-verify's alarm cannot interrupt it (and sympy
# may swallow the timeout exception), so such pairs are compared as text only
_HUGE_POWER = re.compile(r"\^\s*\{?\s*[+-]?\s*\d{3,}")
_NUM = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_INT = re.compile(r"^[+-]?\d[\d,]*(?:\.0+)?$")


@lru_cache(maxsize=65536)
def integer_value(answer: str) -> int | None:
    """The integer an answer spells (``025``, ``10{,}080``, ``$204$``), else None: two answers that both
    have one match exactly when the integers are equal (``answers_match``)."""
    t = normalize_answer(answer)
    if _INT.match(t) and "," not in t:
        return int(t.split(".")[0])      # exact: float() rounds past 2**53 and overflows past 1e308
    return None


def _timeout() -> int | None:
    # math-verify's timeouts use signal.alarm, which only works in a process's main thread.
    return 2 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=65536)
def _parse(s: str):
    from math_verify import parse

    return parse(f"\\boxed{{{s}}}", parsing_timeout=_timeout())


@lru_cache(maxsize=65536)
def answers_match(gold: str, pred: str, answer_type: str = "math") -> bool:
    """Whether ``pred`` equals ``gold``: integers compare as integers, the rest via math-verify."""
    g, p = integer_value(gold), integer_value(pred)
    if g is not None and p is not None:  # "025" == "25", "10{,}080" == "10080"
        return g == p
    ng, np_ = normalize_answer(gold), normalize_answer(pred)
    if ng == np_:
        return True
    if _NUM.match(ng) and _NUM.match(np_):
        return abs(float(ng) - float(np_)) <= 1e-9 * max(1.0, abs(float(ng)))
    if len(pred) > 200:
        return False                 # prose, not an answer: math-verify would only burn time
    if _HUGE_POWER.search(gold) or _HUGE_POWER.search(pred):
        return False                 # not textually equal (above) and too costly to prove equal
    if answer_type == "integer" and g is not None and _VARIABLE.search(_COMMAND.sub("", pred)):
        return False                 # an integer gold never equals an expression with unknowns
    from math_verify import verify

    try:
        return bool(verify(_parse(gold), _parse(pred), timeout_seconds=_timeout()))
    except Exception:  # noqa: BLE001 - a malformed answer is simply not a match
        return False


def grade_response(response: str, gold: str, answer_type: str = "math",
                   finish_reason: str | None = None) -> Verdict:
    ans = extract_answer(response)
    if ans is None:
        return Verdict(None, False, "truncated" if looks_truncated(response, finish_reason) else "no_answer")
    ok = answers_match(str(gold), ans, answer_type)
    return Verdict(ans, ok, "correct" if ok else "mismatch")


def grade_many(items: Sequence[tuple[str, str, str, str | None]], workers: int | None = None,
               min_parallel: int = 400) -> list[Verdict]:
    """Grade (response, gold, answer_type, finish_reason) tuples, over a process pool when big.

    Answers are located in this process (cheap); only distinct (gold, answer, type) pairs travel
    to the pool, where math-verify runs in each worker's main thread (so its timeouts work).
    """
    located = [(extract_answer(r), str(g), t, r, f) for r, g, t, f in items]
    pairs = sorted({(g, a, t) for a, g, t, _, _ in located if a is not None})
    workers = pool.workers_for(workers)
    if workers > 1 and len(pairs) >= min_parallel:
        ex = pool.worker_pool(workers, warm_worker)     # the pool postprocess.derive uses too
        verdicts = dict(zip(pairs, ex.map(_match_task, pairs, chunksize=max(1, len(pairs) // (workers * 4)))))
    else:
        verdicts = {p: answers_match(*p) for p in pairs}
    out = []
    for a, g, t, r, f in located:
        if a is None:
            out.append(Verdict(None, False, "truncated" if looks_truncated(r, f) else "no_answer"))
        else:
            ok = verdicts[(g, a, t)]
            out.append(Verdict(a, ok, "correct" if ok else "mismatch"))
    return out


def _match_task(pair: tuple[str, str, str]) -> bool:
    return answers_match(*pair)


def warm_worker() -> None:
    """Worker-pool warm-up: import math-verify and its LaTeX parser once per worker, not per batch. The app's warm-up
    thread calls it too (~0.35 s once the app's modules are in, ~1 s cold): else the first page to compare two answers
    that are not both integers (Trajectories' answer classes) pays for it."""
    answers_match("\\sqrt{2}", "\\frac{1}{2}")

