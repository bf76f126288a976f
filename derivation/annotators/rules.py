"""``rules``: deterministic, CPU-only step labels and trajectory flags (runs on every trajectory).

Step labels
  ``arithmetic_slip``   an explicit numeric claim (``17*23 = 381``, ``= \\boxed{43000}``, ``= \\$50``,
                        a chain ``7*70 - 40 = 470 - 40`` whose two sides differ, an implicit
                        product ``4(40) - 13 = 157``, a name given as an expression then as
                        another number: ``Total = 52 + 24 + 44 + 48 ... Total = 178``) that evaluates
                        otherwise; claims with unknowns, approximations (≈, "about", rounding to
                        the stated digits), remainders, modular statements, claims the text itself
                        denies ("..., which is not true") and running computations written as one
                        chain (``42*115 = 42*100 = 4200 + ...``) are never flagged.
  ``gold_reached``      (wrong trajectories) the first step that states the gold answer.
  ``first_error``       the rules' judgement of the earliest wrong step (``locate_first_error``):
                        the first verified slip, else the step abandoning a gold answer the
                        timeline held, else a heuristic; the evidence says which.
Trajectory flags
  ``found_then_lost``   a wrong trajectory whose steps reached the gold (value = step index)
  ``answer_flip``       the asserted answer changes across steps (value = the answer timeline's
                        ``answer_changes``: ``derivation.answer_timeline`` reads what each step asserts)
  ``truncated``         cut off (finish_reason 'length') or no final answer
  ``repetition_loop``   degenerate repeated text at the end (value = compression ratio)
  ``backtracks``        number of Wait / Alternatively / Hmm / Let me check steps
  ``strategy:<name>``   lexicon hits (value = number of hits) for coordinates, casework, ...
"""
from __future__ import annotations

import ast
import bisect
import collections
import functools
import itertools
import math
import operator
import re
import zlib
from typing import Sequence

import ahocorasick

from derivation import arith, grade
from derivation import answer_timeline
from warehouse.records import StepAnnotation, TrajectoryFlag

from .base import AnnotateInput, AnnotationResult, Annotator

NAME = "rules"

# --- arithmetic claims --------------------------------------------------------------------
_LATEX_OPS = [("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"), ("×", "*"), ("·", "*"), ("÷", "/"),
              ("−", "-"), ("\\left(", "("), ("\\right)", ")"), ("{,}", ""), ("\\!", ""), ("\\,", ""),
              ("\\(", ";"), ("\\)", ";"), ("\\[", ";"), ("\\]", ";"),   # math delimiters end an expression
              ("\\$", "  ")]                 # currency: '= \\$160'
_DISPLAY_GOES_ON = re.compile(r"\\\][ \t]*\n?[ \t]*\\\[[ \t]*(?==)")
_IMPLICIT = re.compile(r"\((\d+(?:\.\d+)?)\)")     # a literal first: a look-behind at every position is slow
_DOLLAR = re.compile(r"\$(?!\d)")               # '$' closing math ends an expression; '= $15' keeps its number
_FRAC = re.compile(r"\\[dt]?frac\{[ \t]*(\d+(?:\.\d+)?)[ \t]*\}\{[ \t]*(\d+(?:\.\d+)?)[ \t]*\}")
_BOXED_NUM = re.compile(r"\\boxed\{[ \t]*(-?\d+(?:\.\d+)?)[ \t]*\}")   # '= \\boxed{43000}': the number
_CHAIN_TAIL = re.compile(r"[ \t]*(?:\*\*|[-+*/^])[ \t]*\(?[ \t]*\d")     # '= 470 - 40': the right side goes on
_RHS_EXPR = re.compile(r"(?:\d{1,3}(?:,\d{3})+(?!\d)|[0-9.+\-*^() \t])*")   # no '/': 'a ÷ b / c ÷ d' is ambiguous
_REMAINDER = re.compile(r"remainder|residue|quotient|floor|integer part", re.I)   # '2024/5 = 404 numbers'
_NAMED_EQ = re.compile(r"(?P<eq>=)[ \t]*(?P<expr>-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d)(?:\d{1,3}(?:,\d{3})+(?!\d)|[0-9.+\-*^() \t])*)")
_NAMED_STOP = re.compile(r"[\w\\^/({!]|\.\d|,[ \t]*\d|[ \t]*=|[ \t]+(?:[A-Za-z](?![A-Za-z])|[A-Za-z]+\(|\\[A-Za-z]+)")
_MODULAR = re.compile(r"mod|\\equiv|≡")
_DENIED = re.compile(r"remainder|not (?:true|equal|possible|valid|correct)|≠|\\neq|contradict|impossible|incorrect|wrong"
                     r"|false|mistake")   # '1 / 272 = 1 / 2024, which is not true': the model says so itself
_NUM = r"\d+(?:\.\d+)?"
_CLAIM = re.compile(  # atomic groups / possessive repeats: no catastrophic backtracking
    rf"(?P<lhs>(?>(?:\([ \t]*)?-?{_NUM}[ \t]*\)?)(?>[ \t]*(?:\*\*|[-+*/^])[ \t]*\(?[ \t]*-?{_NUM}[ \t]*\)?)++)"
    rf"[ \t]*=[ \t]*(?P<rhs>-?(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.\d+)?)")
_EQ = re.compile(r"=[ \t]*-?\d")          # a claim's "= <number>"; what precedes is checked by hand
_REV_EXPR = re.compile(r"[0-9.+\-*/^() \t]{0,160}")   # an arithmetic expression, read backwards
_APPROX = re.compile(r"≈|\\approx|approx|about|around|roughly|nearly|rounded|remainder|quotient|\.\.\.|…|\\ldots|\\dots|\\sim|~|mod|\\equiv|\\pmod|≡|%|\\%")
_GLUED_BEFORE = set("_.\\}{^)|!√")
_OP_BEFORE = set("*/^+-_.\\}){[|!×·,√")       # ',': '80,000 * 1.5', 'gcd(41^2, 41 * 43)'
_FUNC_BEFORE = re.compile(r"(?:\b(?:log|ln|lg|sin|cos|tan|sec|csc|cot|exp|sqrt|gcd|lcm|max|min|det|arc[a-z]+)"
                          r"|_\{?\w+\}?)[ \t]*$")   # '\\log_x \\frac{1}{100} = -2'
_BAD_AFTER = re.compile(r"[\w\\^/({!]|\.\d|\.\\|[ \t]*(?:[-+*/^]|\*\*)|[ \t]*\(|[ \t]*:[ \t]*\d|,[ \t]*\d"
                        r"|[ \t]+(?:[A-Za-z](?![A-Za-z])|[A-Za-z]+\(|\\[A-Za-z]+)")  # '= 4 g(x)', '= 2 x', '= 3 \\sqrt'
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_eval = arith.evaluate


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


def _implicit_products(text: str) -> str:
    """'4(40)' -> '4*40 ' (same length) where the factor before is a plain number, not the tail of
    a name, power or subscript ('x^2(3)', 'a_1(2)', 'f2(3)')."""
    parts, last = [], 0
    for m in _IMPLICIT.finditer(text):
        k = m.start() - 1
        if k < 0 or not text[k].isdigit():
            continue
        while k >= 0 and text[k].isdigit():
            k -= 1
        if k >= 0 and (text[k].isalnum() or text[k] in "._^"):
            continue
        parts += [text[last:m.start()], "*", m.group(1), " "]
        last = m.end()
    return "".join(parts) + text[last:] if parts else text


def _frac_same_len(m: re.Match) -> str:
    rep = f"({m.group(1)}/{m.group(2)})"
    return rep + " " * (len(m.group(0)) - len(rep)) if len(rep) <= len(m.group(0)) else m.group(0)


_OPS = re.compile("|".join(re.escape(a) for a, _ in _SAME_LEN))
_CREATED = ("\\(", "\\)")


def _normalize_math(text: str) -> str:
    """LaTeX operators to ASCII, keeping every character offset (replacements are space-padded)."""
    if "\\]" in text:       # '\\[= 576 \\times 11111\\] \\[= 63950064\\]': one chain over display lines
        text = _DISPLAY_GOES_ON.sub(lambda m: " " * len(m.group()), text)
    present = set(_OPS.findall(text))   # one scan, not one ``a in text`` per operator
    if present:
        # '\\left(' and '\\right)' leave a '(' / ')' that a backslash before them turns into a new
        # '\\(' / '\\)'; no other replacement can create an operator (none overlap another)
        may_create = "\\left(" in present or "\\right)" in present
        for a, b in _SAME_LEN:
            if a in present or (may_create and a in _CREATED and a in text):
                text = text.replace(a, b)
    if "$" in text:
        text = _DOLLAR.sub(";", text).replace("$", " ")
    if "boxed" in text:
        text = _BOXED_NUM.sub(lambda m: " " * (m.start(1) - m.start()) + m.group(1)
                              + " " * (m.end() - m.end(1)), text)
    if "(" in text:           # '4(40) - 13': an implicit product of two plain numbers
        text = _implicit_products(text)
    return _FRAC.sub(_frac_same_len, text) if "frac" in text else text


def arithmetic_slips(text: str) -> list[tuple[str, float]]:
    """Explicit numeric claims in ``text`` that evaluate otherwise: (claim, true value)."""
    return [(claim, value) for _, claim, value in find_slips(text)]


def _part_value(lhs: str, claimed: float, tol: float) -> bool:
    """Whether ``claimed`` is the value of the last term of the sum ``lhs`` alone: '= 4200 + 42 * 15
    = 630' writes a running computation, not a claim about the whole left side."""
    terms = _terms(lhs)
    if len(terms) < 2:
        return False
    v = _evaluate(terms[-1].lstrip("+"))
    return v is not None and not isinstance(v, complex) and abs(abs(v) - claimed) <= max(tol, 1e-9)


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
    if abs(value - claimed) <= tol or _part_value(lhs, claimed, tol):
        return None
    return lhs, value


def _terms(expr: str) -> list[str]:
    """The top-level signed terms of a sum ('a - b*c + (d - e)' -> ['+a', '-b*c', '+(d-e)'])."""
    out, cur, depth, prev = [], "+", 0, ""
    for ch in expr.replace(" ", ""):
        if ch in "+-" and depth == 0 and (prev.isdigit() or prev == ")"):
            out.append(cur)
            cur = ch
        else:
            if not (ch in "+-" and cur in "+-" and not prev):
                cur += ch
            else:
                cur = "-" if (cur == "-") != (ch == "-") else "+"
            depth += (ch == "(") - (ch == ")")
        prev = ch
    out.append(cur)
    return out


@functools.lru_cache(maxsize=1 << 14)
def _wrong_chain(raw: str, rhs: str) -> tuple[str, float] | None:
    """(expression, true value) when ``raw = rhs`` equates two plain arithmetic expressions whose
    values differ ('7 * 70 - 40 = 470 - 40'); decimals on either side allow 1% (rounded steps)."""
    lhs = " ".join(raw.split())
    if lhs.count("(") > lhs.count(")") and lhs.startswith("("):
        lhs = lhs[1:].strip()
    right = " ".join(rhs.replace(",", "").split())
    while right.count(")") > right.count("(") and right.endswith(")"):
        right = right[:-1].strip()
    if "/" in lhs or lhs.replace(" ", "").startswith(right.replace(" ", "")):
        return None        # 'a / b / c' is ambiguous; '41 * 80 * 89 = 41 * 80 = 3280' computes a part first
    rt, lt = _terms(right), _terms(lhs)
    if len(rt) == len(lt) == 1 and "*" in lhs and "*" in right and \
            lhs.lstrip("+-(").split("*")[0].strip() == right.lstrip("+-(").split("*")[0].strip():
        return None        # '42 * 115 = 42 * 100 = 4200 + ...': the start of an expansion
    if len(rt) > 1 and not (collections.Counter(rt) - collections.Counter(_terms(lhs))):
        return None        # '518040 - 0 - 3640 + 89*7081 = 518040 - 3640 = ...': some of the terms first
    a, b = _evaluate(lhs), _evaluate(right)
    if a is None or b is None or isinstance(a, complex) or isinstance(b, complex) \
            or not (math.isfinite(a) and math.isfinite(b)):
        return None
    tol = 0.01 * max(1.0, abs(a)) if "." in lhs + right else 1e-9 * max(1.0, abs(a))
    if abs(a - b) <= tol:
        return None
    head = _NUMBER.match(right)
    if head is not None and abs(float(head.group()) - a) <= tol:
        return None        # a running computation written as one chain: '2 * 24 = 48 + 2 = 50'
    return lhs, a


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
        end = m.end()
        if _CHAIN_TAIL.match(t, end):   # '= 470 - 40 = 430': compare with the whole right-hand expression
            rhs = _RHS_EXPR.match(t, m.start("rhs")).group(0)
            if rhs.rstrip()[-1:] in ("+", "-", "*", "/", "^", "("):
                continue        # '= 5^2 + OP^2', '= 2 * 5 * \\cos': the right side goes on past plain arithmetic
            rhs = rhs.rstrip()
            end = m.start("rhs") + len(rhs)
            wrong = _wrong_chain(raw, rhs)
            if wrong is not None and "^" in raw and _MODULAR.search(t, max(0, m.start() - 200), m.start()):
                continue        # '38^4 = 38 * 1080' after '38^3 ≡ 1080 (mod 1681)': a reduction, not a claim
        else:
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
        if _BAD_AFTER.match(t, end):
            continue           # '= 12x', '= 3 \\sqrt', '= 5 + x', '= 7 (1/5)', '= 0.\\overline': not a plain number
        if _FUNC_BEFORE.search(t, max(0, start - 16), start):
            continue           # the argument of a function: '\\log_x (1/100) = -2'
        if _APPROX.search(t, max(0, m.start() - 12), end + 24) or _DENIED.search(t, end, end + 64) \
                or _REMAINDER.search(t, max(0, m.start() - 60), m.start()):
            continue
        lhs, value = wrong
        out.append((start, f"{lhs} = {' '.join(rhs.split())}", value))
    if _NAMED_EQ.search(t):
        out += _named_slips(t)
        out.sort()
    return out


_NAME_TAIL = re.compile(r"(?:\\text\{[ \t]*([A-Za-z][A-Za-z' ]{1,39})\}|([A-Za-z][A-Za-z' ]{1,39}))[ \t]*$")


def _name_before(t: str, p: int) -> str | None:
    """The quantity named right before the '=' at ``p`` ('\\text{Total fruits} =', 'Time to cook ='),
    lower-cased: the letters (and spaces) up to the '=', at least two of them; else None."""
    j = p - 1
    while j >= 0 and t[j] in " \t":
        j -= 1
    if j < 1 or not ((t[j].isalpha() and t[j - 1].isalpha()) or t[j] == "}"):
        return None
    m = _NAME_TAIL.search(t, max(0, p - 48), p)
    if m is None:
        return None
    name = " ".join((m.group(1) or m.group(2)).lower().split())
    return name if len(name) >= 2 else None


def _named_slips(t: str) -> list[tuple[int, str, float]]:
    """A name given as an arithmetic expression, then (within 300 characters, with nothing else
    assigned to it in between) as a plain number that the expression does not equal:
    '\\text{Total fruits} = 52 + 24 + 44 + 48 \\] \\[ \\text{Total fruits} = 178' (ProcessBench gsm8k-35)."""
    out, open_ = [], {}
    for m in _NAMED_EQ.finditer(t):
        p = m.start()
        c = t[p - 2:p].rstrip() if p >= 2 else ""    # cheap test first: a name ends in two letters or '}'
        if not c or not (c[-1] == "}" or (c[-1].isalpha() and (len(c) == 1 or c[0].isalpha()))):
            continue
        name = _name_before(t, p)
        if name is None:
            continue
        expr = m.group("expr").rstrip(" \t.")
        if _NAMED_STOP.match(t, m.start("expr") + len(expr)) or _APPROX.search(t, m.start("eq"), m.end() + 24):
            open_.pop(name, None)                  # a chain, an unknown, an approximation: not a value
            continue
        if any(c in expr.strip().lstrip("-") for c in "+-*^"):
            value = _evaluate(" ".join(expr.split()))
            if value is not None and not isinstance(value, complex) and math.isfinite(value):
                open_[name] = (m.start("eq"), expr, value)
            else:
                open_.pop(name, None)
            continue
        prev = open_.pop(name, None)
        if prev is None or m.start("eq") - prev[0] > 300:
            continue
        claimed = float(expr.replace(",", ""))
        tol = 10 ** -len(expr.split(".")[1]) if "." in expr else 1e-9 * max(1.0, abs(prev[2]))
        if "." in prev[1]:
            tol = max(tol, 0.01 * max(1.0, abs(prev[2])))
        if abs(prev[2] - claimed) > tol and _DENIED.search(t, m.end(), m.end() + 64) is None:
            out.append((m.start("expr"), f"{' '.join(prev[1].split())} = {expr}", prev[2]))
    return out


# --- stated answers -----------------------------------------------------------------------
_STATES = re.compile(r"(?:=|\bis|\bget|\bgives?|\bequals?|boxed\{|answer:?)[\s$\\(]*0*$")


@functools.lru_cache(maxsize=1 << 12)     # stated_at asks it once per step with the same value
def _numeric(value: str | None) -> str | None:
    v = grade.normalize_answer(value or "")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", v):
        return None
    return v if v.startswith("-") else (v.lstrip("0") or "0")


_GOES_ON = re.compile(r"[ \t]*(?:[-+*/^×·]|\\(?:cdot|times|div|sqrt|frac|pi)\b)")   # '= 480 \\cdot ...'
_NEGATED = re.compile(r"\b(?:not|doesn't|does not|isn't|cannot|can't|never)\b|≠|\\neq")


def stated_at(text: str, value: str | None, strict: bool = True) -> list[int]:
    """Offsets where ``text`` states the number ``value`` as a result ('= 204', 'is 204',
    '\\boxed{204}'): not the start of a longer expression ('= (721 + ...', '= 480 \\cdot ...') and
    not denied right after ('= 110, which doesn't divide 8'); ``strict=False`` skips these two checks."""
    v = _numeric(value)
    if v is None:
        return []
    out, i = [], text.find(v)
    while i >= 0:
        end = i + len(v)
        before, after = text[max(0, i - 24):i], text[end:end + 2]
        if not (before[-1:].isdigit() or before[-1:] == "." or after[:1].isdigit()
                or (after[:1] == "." and after[1:2].isdigit())) and _STATES.search(before) \
                and (not strict or not (before.endswith("(") and not before.endswith("\\(")
                                        or _GOES_ON.match(text, end) or _NEGATED.search(text, end, end + 40))):
            out.append(i)
        i = text.find(v, end)
    return out


def _never(gold: str, candidate: str, answer_type: str) -> bool:
    """The rules' matcher beyond the timeline's cheap tests: never math-verify (a candidate neither equal
    to the gold as text or value nor to the graded final answer counts as not the gold)."""
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

    def annotate_one(self, it: AnnotateInput, candidates=None) -> AnnotationResult:
        """``candidates``: ``derivation.answer_timeline.step_candidates(it.response, it.offsets)`` when the caller
        has them already (``postprocess`` derives the answer timeline first): not computed twice."""
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
        tl = self.timeline(it, candidates if whole else None)
        held = [i for i, a in enumerate(tl.answers) if a is not None]
        # answer flips: the timeline's answer changes (consecutive candidates that differ)
        if tl.answer_changes:
            flags.append(TrajectoryFlag(tid, NAME, "answer_flip", float(tl.answer_changes),
                                        " -> ".join(f"{tl.answers[i]}@{i}" for i in held[:20])[:500]))
        # found then lost: a wrong trajectory that stated the gold on the way
        gold_step = None
        if it.is_correct is False and it.gold:
            gold_step = self._gold_step(it, tl, step_of if whole else None)
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
        res.first_error, why = self.locate_first_error(it, slip_steps, tl, gold_step)
        if res.first_error is not None and res.first_error >= 0:
            ann.append(StepAnnotation(tid, res.first_error, NAME, "first_error", None, f"rules: {why}"[:300]))
        return res

    @staticmethod
    def timeline(it: AnnotateInput, candidates=None) -> answer_timeline.Timeline:
        """The answer timeline of the input's steps (``derivation.answer_timeline``: the one reading of the answer
        each step asserts), judged cheaply: equal to the gold as text or value, or equal to the graded
        final answer (then its verdict); never math-verify. Steps given without offsets into the
        response are read one by one (their character figures then count the steps' text only)."""
        if len(it.offsets) == len(it.steps):
            text, spans = it.response, it.offsets
        else:
            text = "\n\n".join(it.steps)
            ends = list(itertools.accumulate(len(st) + 2 for st in it.steps))
            spans = [(e - len(st) - 2, e - 2) for e, st in zip(ends, it.steps)]
        return answer_timeline.timeline(text, spans, it.gold or None, it.answer_type, is_correct=it.is_correct,
                                        match=_never, candidates=candidates, extracted=it.extracted_answer)

    def _gold_step(self, it: AnnotateInput, tl: answer_timeline.Timeline, step_of) -> int | None:
        """The first step, before the last one, that states the gold answer."""
        last = len(it.steps) - 1
        if _numeric(it.gold) is not None:
            if step_of is not None:
                hits = [step_of(p) for p in stated_at(it.response, it.gold)]
            else:
                hits = [i for i, st in enumerate(it.steps) if stated_at(st, it.gold)]
            hits = [h for h in hits if h < last]
            return hits[0] if hits else None
        return next((i for i, g in enumerate(tl.is_gold[:last]) if g), None)

    def locate_first_error(self, it: AnnotateInput, slips: list[int], tl: answer_timeline.Timeline,
                           gold_step: int | None = None) -> tuple[int | None, str]:
        """(the earliest wrong step by the rules, why): None when ungraded or without steps; else, in order,
        1. the first verified arithmetic slip (in a correct trajectory too: the claim is wrong);
        2. -1 (no error) for a correct trajectory;
        3. a wrong trajectory whose answer timeline ``tl`` (``RulesAnnotator.timeline``) held the gold:
           the step that abandons it, i.e. the first step after the last one holding the gold that
           asserts another answer (else the step after it);
        4. otherwise a heuristic: the earlier of the first step that derives a number the problem
           does not give and the first step that states the final (wrong) answer, both after the
           step that stated the gold (``gold_step``) when there is one; else the middle step.
        (ProcessBench scores: ``python -m pipeline eval-annotator``.)"""
        if it.is_correct is None or not it.steps:
            return None, ""
        if slips:
            return slips[0], "verified arithmetic slip (the first one)"
        if it.is_correct:
            return -1, ""
        last = tl.last_gold_step
        if last is not None and last < len(it.steps) - 1:
            after = next((i for i in range(last + 1, len(it.steps))
                          if tl.answers[i] is not None and not tl.is_gold[i]), None)
            if after is not None:
                return after, (f"the gold answer held until step {last} is abandoned here "
                               f"(asserts {tl.answers[after]})")
            return last + 1, f"the gold answer held until step {last} is not asserted again"
        floor = gold_step + 1 if gold_step is not None and gold_step + 1 < len(it.steps) else 0
        cands = []
        if floor == 0:
            given = set(_NUMBER.findall(it.problem)) | {"0", "1", "2"}
            for i, step in enumerate(it.steps):
                if set(_NUMBER.findall(step)) - given:
                    cands.append(i)
                    break
        final = it.extracted_answer or next((a for a in reversed(tl.answers) if a is not None), None)
        if _numeric(final) is not None:
            for i in range(floor, len(it.steps)):
                if stated_at(it.steps[i], final, strict=False):
                    cands.append(i)
                    break
        if cands:
            return min(cands), ("heuristic: the first step deriving a number the problem does not give, or "
                                "first stating the final answer" + (f", after the gold stated at step {gold_step}"
                                                                    if floor else ""))
        return floor + (len(it.steps) - 1 - floor) // 2, "heuristic: the middle step"
