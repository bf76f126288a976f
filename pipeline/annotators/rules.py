"""``rules``: deterministic, CPU-only step labels and trajectory flags (runs on every trajectory).

Step labels
  ``arithmetic_slip``   an explicit numeric claim (``17*23 = 381``) that evaluates otherwise;
                        claims with unknowns, approximations (≈, "about", rounding to the
                        stated digits) and modular statements are never flagged.
  ``gold_reached``      (wrong trajectories) the first step that states the gold answer.
  ``first_error``       the rules' guess at the earliest wrong step (see ``first_error``).
Trajectory flags
  ``found_then_lost``   a wrong trajectory whose steps reached the gold (value = step index)
  ``answer_flip``       the asserted answer changes across steps (value = number of flips)
  ``truncated``         cut off (finish_reason 'length') or no final answer
  ``repetition_loop``   degenerate repeated text at the end (value = compression ratio)
  ``backtracks``        number of Wait / Alternatively / Hmm / Let me check steps
  ``strategy:<name>``   lexicon hits (value = number of hits) for coordinates, casework, ...
"""
from __future__ import annotations

import ast
import bisect
import functools
import math
import operator
import re
import zlib
from typing import Sequence

import ahocorasick

from pipeline import grade
from warehouse.records import StepAnnotation, TrajectoryFlag

from .base import AnnotateInput, AnnotationResult, Annotator

NAME = "rules"

# --- arithmetic claims --------------------------------------------------------------------
_LATEX_OPS = [("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"), ("×", "*"), ("·", "*"), ("÷", "/"),
              ("−", "-"), ("\\left(", "("), ("\\right)", ")"), ("{,}", ""), ("\\!", ""), ("\\,", ""),
              ("\\(", " "), ("\\)", " "), ("\\[", " "), ("\\]", " ")]
_FRAC = re.compile(r"\\[dt]?frac\{(\d+)\}\{(\d+)\}")
_NUM = r"\d+(?:\.\d+)?"
_CLAIM = re.compile(  # atomic groups / possessive repeats: no catastrophic backtracking
    rf"(?P<lhs>(?>(?:\([ \t]*)?-?{_NUM}[ \t]*\)?)(?>[ \t]*(?:\*\*|[-+*/^])[ \t]*\(?[ \t]*-?{_NUM}[ \t]*\)?)++)"
    rf"[ \t]*=[ \t]*(?P<rhs>-?(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.\d+)?)")
_EQ = re.compile(r"=[ \t]*-?\d")          # a claim's "= <number>"; what precedes is checked by hand
_REV_EXPR = re.compile(r"[0-9.+\-*/^() \t]{0,160}")   # an arithmetic expression, read backwards
_APPROX = re.compile(r"≈|\\approx|approx|about|around|roughly|nearly|rounded|remainder|quotient|\.\.\.|…|\\ldots|\\dots|\\sim|~|mod|\\equiv|\\pmod|≡|%|\\%")
_GLUED_BEFORE = set("_.\\}{^)|!")
_OP_BEFORE = set("*/^+-_.\\}){[|!×·")
_BAD_AFTER = re.compile(r"[\w\\^/({!]|\.\d|[ \t]*(?:[-+*/^]|\*\*)[ \t]*[\d(]"
                        r"|[ \t]+(?:[A-Za-z](?![A-Za-z])|[A-Za-z]+\(|\\[A-Za-z]+)")  # '= 4 g(x)', '= 2 x', '= 3 \\sqrt'
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ValueError("too big")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.operand))
    raise ValueError("not arithmetic")


_SIMPLE = re.compile(r"(-?)(\d+)(\.\d+)? ?([-+*/]) ?(-?)(\d+)(\.\d+)?")
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _number(sign: str, digits: str, frac: str | None) -> int | float | None:
    if len(digits) > 1 and digits[0] == "0" and not frac:
        return None                          # '012' is not a Python literal: let ast decide
    v = float(digits + frac) if frac else int(digits)
    return -v if sign else v


def _evaluate(lhs: str) -> float | None:
    """The value of a plain arithmetic expression, None when it is not one (its caller
    ``_wrong_claim`` is cached per claim). ``a op b`` (most claims) is computed directly;
    anything else goes through ``ast``."""
    m = _SIMPLE.fullmatch(lhs)
    if m is not None:
        a, b = _number(*m.group(1, 2, 3)), _number(*m.group(5, 6, 7))
        if a is not None and b is not None:
            try:
                return _ARITH[m.group(4)](a, b)
            except ZeroDivisionError:
                return None
    try:
        return _eval(ast.parse(lhs.replace("^", "**"), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None


def _pad(a: str, b: str) -> tuple[str, str]:
    return a, b + " " * (len(a) - len(b))


_SAME_LEN = [_pad(a, b) for a, b in _LATEX_OPS if len(b) <= len(a) and a != "{,}"]


def _frac_same_len(m: re.Match) -> str:
    rep = f"({m.group(1)}/{m.group(2)})"
    return rep + " " * (len(m.group(0)) - len(rep))


_SAME_LEN_ASCII = [(a, b) for a, b in _SAME_LEN if a.isascii()]


def _normalize_math(text: str) -> str:
    """LaTeX operators to ASCII, keeping every character offset (replacements are space-padded)."""
    for a, b in (_SAME_LEN_ASCII if text.isascii() else _SAME_LEN):
        if a in text:
            text = text.replace(a, b)
    return _FRAC.sub(_frac_same_len, text) if "frac" in text else text


def arithmetic_slips(text: str) -> list[tuple[str, float]]:
    """Explicit numeric claims in ``text`` that evaluate otherwise: (claim, true value)."""
    return [(claim, value) for _, claim, value in find_slips(text)]


@functools.lru_cache(maxsize=1 << 14)
def _wrong_claim(raw: str, rhs: str) -> tuple[str, float] | None:
    """(expression, true value) when ``raw = rhs`` is plain arithmetic that evaluates otherwise."""
    lhs = " ".join(raw.split())
    if lhs.count("(") > lhs.count(")") and lhs.startswith("("):
        lhs = lhs[1:].strip()
    if lhs.count(")") > lhs.count("(") and lhs.endswith(")"):
        lhs = lhs[:-1].strip()
    value = _evaluate(lhs)
    if value is None or isinstance(value, complex) or not math.isfinite(value):
        return None
    claimed = float(rhs.replace(",", ""))
    decimals = len(rhs.split(".")[1]) if "." in rhs else 0
    # a decimal may be rounded or truncated to the digits written: one unit in the last place
    tol = 10 ** -decimals + 1e-9 * abs(value) if decimals else 1e-9 * max(1.0, abs(value))
    if "." in lhs and not decimals:
        tol = max(tol, 0.5)        # '3.14 * 2 = 6' style rounding of decimals
    return (lhs, value) if abs(value - claimed) > tol else None


def find_slips(text: str) -> list[tuple[int, str, float]]:
    """(character offset, claim, true value) of every wrong explicit numeric claim in ``text``."""
    if "=" not in text:
        return []
    t = _normalize_math(text)
    out = []
    rev = None
    for eq in _EQ.finditer(t):          # cheap scan for '= digit', then 'digit =' and parse backwards
        p = eq.start() - 1
        while p >= 0 and t[p] in " \t":
            p -= 1
        if p < 0 or not (t[p] == ")" or t[p].isdecimal()):
            continue
        p += 1                          # where 'digit' ends: the claim's left side ends here
        if rev is None:
            rev = t[::-1]
        j = len(t) - _REV_EXPR.match(rev, len(t) - p).end()   # the expression read backwards from p
        while t[j] in " \t":
            j += 1
        m = _CLAIM.match(t, j)
        if m is None or m.start("rhs") < p:
            continue
        raw, rhs = m.group("lhs", "rhs")
        wrong = _wrong_claim(raw, rhs)  # most claims are right: the context checks below run on the rest
        if wrong is None:
            continue
        start = m.start() + len(raw) - len(raw.lstrip())
        j = start - 1
        if j >= 0 and (t[j].isalnum() or t[j] in _GLUED_BEFORE):
            continue           # glued to an unknown, a power, a subscript: '2x+3', 'x^2+1', 'a_1+2'
        while j >= 0 and t[j] in " \t":
            j -= 1
        if j >= 0 and t[j] in _OP_BEFORE:
            continue           # the tail of a longer expression: 'y + 3 + 4 = 7'
        if _BAD_AFTER.match(t, m.end()):
            continue           # '= 12x', '= 3/4', '= 5 + ...': not a plain number
        if _APPROX.search(t, max(0, m.start() - 12), m.end() + 24):
            continue
        lhs, value = wrong
        out.append((start, f"{lhs} = {rhs}", value))
    return out


# --- asserted answers --------------------------------------------------------------------
_ASSERT = re.compile(r"(?:final answer|the answer)\s*(?:is|:|=)\s*\$?\\?\(?\s*([^\s$,;]+)", re.I)


def asserted_answer(step: str) -> str | None:
    """The answer a step asserts (a \\boxed{} or "the answer is X"), if any."""
    b = grade.last_boxed(step) if "box" in step else None
    if b:
        return b
    m = None
    for m in _ASSERT.finditer(step):
        pass
    return m.group(1).rstrip(".)\\").strip() or None if m else None


_STATES = re.compile(r"(?:=|\bis|\bget|\bgives?|\bequals?|boxed\{|answer:?)[\s$\\(]*0*$")


def _numeric(value: str | None) -> str | None:
    v = grade.normalize_answer(value or "")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", v):
        return None
    return v if v.startswith("-") else (v.lstrip("0") or "0")


def stated_at(text: str, value: str | None) -> list[int]:
    """Offsets where ``text`` states the number ``value`` ('= 204', 'is 204', '\\boxed{204}')."""
    v = _numeric(value)
    if v is None:
        return []
    out, i = [], text.find(v)
    while i >= 0:
        end = i + len(v)
        before, after = text[max(0, i - 24):i], text[end:end + 2]
        if not (before[-1:].isdigit() or before[-1:] == "." or after[:1].isdigit()
                or (after[:1] == "." and after[1:2].isdigit())) and _STATES.search(before):
            out.append(i)
        i = text.find(v, end)
    return out


def _same(a: str, b: str) -> bool:
    """Cheap answer equality (normalised text or equal numbers), whatever the answer type: rules
    never call math-verify."""
    na, nb = grade.normalize_answer(a), grade.normalize_answer(b)
    if na == nb:
        return True
    try:
        return abs(float(na) - float(nb)) < 1e-9
    except ValueError:
        return False


# --- trajectory-level signals ----------------------------------------------------------------
_BACKTRACK_KINDS = {"wait", "alternatively", "check", "hmm"}
_BACKTRACK_RE = re.compile(r"(?:^|\n|[.!?] )\W*(?:But wait|Wait|Alternatively|Hmm|Let me check)\b")

# Strategy lexicon: lower-case literals counted with str.count (one lower-casing, no regex scans).
STRATEGIES = {
    "coordinates": ("coordinate system", "coordinate geometry", "coordinates", "origin at", "place the points"),
    "vectors": ("vector", "dot product", "cross product", "\\vec{", "\\overrightarrow"),
    "complex_numbers": ("complex number", "complex plane", "roots of unity", "root of unity", "\\omega",
                        "e^{i", "modulus"),
    "trigonometry": ("\\sin", "\\cos", "\\tan", "law of sines", "law of cosines", "sine", "cosine"),
    "inclusion_exclusion": ("inclusion-exclusion", "inclusion exclusion", "inclusion–exclusion"),
    "casework": ("case 1", "case 2", "case 3", "casework", "case i:", "case ii"),
    "complementary_counting": ("complementary counting", "complementary probability", "complement",
                               "total minus"),
    "recursion": ("recursion", "recursive", "recurrence", "a_{n-1}", "f(n-1)"),
    "generating_functions": ("generating function",),
    "modular_arithmetic": ("\\pmod", "\\equiv", " mod ", "modulo", "\\bmod"),
    "symmetry": ("symmetry", "symmetric", "burnside", "orbit"),
    "induction": ("induction", "inductive step", "base case"),
    "vieta": ("vieta",),
    "am_gm": ("am-gm", "am gm", "cauchy-schwarz", "cauchy–schwarz"),
    "pigeonhole": ("pigeonhole",),
    "probability": ("probability", "expected value"),
    "logarithms": ("\\log", "log_"),
    "similar_triangles": ("similar triangles", "similarity", "\\sim \\triangle"),
    "pythagorean": ("pythagorean", "pythagoras"),
    "brute_force": ("list all", "listing all", "enumerate", "enumerating", "check each"),
}


@functools.cache
def _lexicon():
    """One Aho-Corasick automaton over every lexicon phrase: one pass over the text, not one per phrase."""
    auto = ahocorasick.Automaton()
    for i, words in enumerate(STRATEGIES.values()):
        for w in words:
            auto.add_word(w, i)
    auto.make_automaton()
    return auto


def strategy_hits(text: str) -> dict[str, int]:
    """Occurrences of each strategy's phrases in the lower-cased text (each phrase counted on its
    own, as ``str.count`` would: 'cosine' also counts as 'sine')."""
    counts = [0] * len(STRATEGIES)
    for _, i in _lexicon().iter(text.lower()):
        counts[i] += 1
    return dict(zip(STRATEGIES, counts))


def repetition_ratio(text: str, window: int = 4000) -> float:
    """Compressed / raw size of the response's tail: near 0 for degenerate repeated text."""
    tail = text[-window:].encode("utf-8", "replace")
    if len(tail) < 1000:
        return 1.0
    return len(zlib.compress(tail, 1)) / len(tail)


class RulesAnnotator(Annotator):
    name = NAME

    def __init__(self, repetition_threshold: float = 0.12, strategy_min_hits: int = 2, **_: object) -> None:
        self.repetition_threshold = repetition_threshold
        self.strategy_min_hits = strategy_min_hits

    def annotate(self, items: Sequence[AnnotateInput]) -> list[AnnotationResult]:
        return [self.annotate_one(it) for it in items]

    def annotate_one(self, it: AnnotateInput) -> AnnotationResult:
        tid, kinds, text = it.trajectory_id, it.kinds, it.response
        res = AnnotationResult(tid)
        ann, flags = res.annotations, res.flags
        n = len(it.steps)
        whole = len(it.offsets) == n and n > 0   # scan the response once, map offsets to steps
        starts = [a for a, _ in it.offsets] if whole else []

        def step_of(pos: int) -> int:
            return max(0, bisect.bisect_right(starts, pos) - 1)

        if whole:
            slips = [(step_of(pos), claim, value) for pos, claim, value in find_slips(text)]
        else:
            slips = [(i, claim, value) for i, st in enumerate(it.steps) for _, claim, value in find_slips(st)]
        slip_steps: list[int] = []
        for i, claim, value in slips:
            if not slip_steps or slip_steps[-1] != i:
                slip_steps.append(i)
                ann.append(StepAnnotation(tid, i, NAME, "arithmetic_slip", 1.0,
                                          f"{claim} (evaluates to {value:.6g})"[:300]))
        asserted = [(i, a) for i, st in enumerate(it.steps)
                    if ("box" in st or "answer" in st) and (a := asserted_answer(st))]
        # answer flips: the asserted answer changes from one assertion to the next
        flips, seq = 0, []
        for i, a in asserted:
            if seq and not _same(seq[-1][1], a):
                flips += 1
            seq.append((i, a))
        if flips:
            flags.append(TrajectoryFlag(tid, NAME, "answer_flip", float(flips),
                                        " -> ".join(f"{a}@{i}" for i, a in seq[:20])[:500]))
        # found then lost: a wrong trajectory that stated the gold on the way
        if it.is_correct is False and it.gold:
            gold_step = self._gold_step(it, asserted, step_of if whole else None)
            if gold_step is not None:
                ann.append(StepAnnotation(tid, gold_step, NAME, "gold_reached", 1.0, f"gold {it.gold}"[:200]))
                flags.append(TrajectoryFlag(tid, NAME, "found_then_lost", float(gold_step),
                                            f"gold {it.gold} reached at step {gold_step}, final {it.extracted_answer}"[:500]))
        if it.finish_reason == "length" or (it.extracted_answer is None and it.is_correct is not None):
            flags.append(TrajectoryFlag(tid, NAME, "truncated", 1.0,
                                        "finish_reason=length" if it.finish_reason == "length" else "no final answer"))
        ratio = repetition_ratio(text)
        if ratio < self.repetition_threshold:
            flags.append(TrajectoryFlag(tid, NAME, "repetition_loop", ratio, text[-200:]))
        n_back = (sum(k in _BACKTRACK_KINDS for k in kinds) if kinds is not None
                  else len(_BACKTRACK_RE.findall(text)))
        flags.append(TrajectoryFlag(tid, NAME, "backtracks", float(n_back)))
        for name, hits in strategy_hits(text).items():
            if hits >= self.strategy_min_hits:
                flags.append(TrajectoryFlag(tid, NAME, f"strategy:{name}", float(hits)))
        res.first_error = self.first_error(it, slip_steps, asserted)
        if res.first_error is not None and res.first_error >= 0:
            ann.append(StepAnnotation(tid, res.first_error, NAME, "first_error", None,
                                      "rules heuristic: first slip, else first derived number / first mention of the final answer"))
        return res

    def _gold_step(self, it: AnnotateInput, asserted: list[tuple[int, str]], step_of) -> int | None:
        """The first step, before the last one, that states the gold answer."""
        last = len(it.steps) - 1
        if _numeric(it.gold) is not None:
            if step_of is not None:
                hits = [step_of(p) for p in stated_at(it.response, it.gold)]
            else:
                hits = [i for i, st in enumerate(it.steps) if stated_at(st, it.gold)]
            hits = [h for h in hits if h < last]
            return hits[0] if hits else None
        for i, a in asserted:
            if i < last and _same(it.gold, a):
                return i
        return None

    def first_error(self, it: AnnotateInput, slips: list[int], asserted: list[tuple[int, str]]) -> int | None:
        """The earliest wrong step by the rules: -1 for a correct trajectory; for a wrong one the
        first arithmetic slip, else the earlier of (a) the first step that derives a number the
        problem does not give and (b) the first step that states the final (wrong) answer, else
        the middle step. (ProcessBench: see ``python -m pipeline eval-annotator``.)"""
        if it.is_correct is None:
            return None
        if it.is_correct:
            return -1
        if not it.steps:
            return None
        if slips:
            return slips[0]
        cands = []
        given = set(_NUMBER.findall(it.problem)) | {"0", "1", "2"}
        for i, step in enumerate(it.steps):
            if set(_NUMBER.findall(step)) - given:
                cands.append(i)
                break
        final = it.extracted_answer or (asserted[-1][1] if asserted else None)
        if _numeric(final) is not None:
            for i, step in enumerate(it.steps):
                if stated_at(step, final):
                    cands.append(i)
                    break
        return min(cands) if cands else (len(it.steps) - 1) // 2
