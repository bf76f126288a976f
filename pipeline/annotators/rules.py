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
import math
import operator
import re
import zlib
from typing import Sequence

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
    rf"(?P<lhs>(?>\(?[ \t]*-?{_NUM}[ \t]*\)?)(?>[ \t]*(?:\*\*|[-+*/^])[ \t]*\(?[ \t]*-?{_NUM}[ \t]*\)?)++)"
    rf"[ \t]*=[ \t]*(?P<rhs>-?{_NUM})")
_APPROX = re.compile(r"≈|\\approx|approx|about|around|roughly|nearly|rounded|\\sim|~|mod|\\equiv|\\pmod|≡|%|\\%")
_GLUED_BEFORE = set("_.\\}{^)|!")
_OP_BEFORE = set("*/^+-_.\\}){[|!×·")
_BAD_AFTER = re.compile(r"\s*(?:[\w\\^/({!.]\d|[\w\\^/({!]|[-+*]\s*\d)")
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


def _normalize_math(text: str) -> str:
    for a, b in _LATEX_OPS:
        if a in text:
            text = text.replace(a, b)
    return _FRAC.sub(r"(\1/\2)", text) if "frac" in text else text


def arithmetic_slips(text: str) -> list[tuple[str, float]]:
    """Explicit numeric claims in ``text`` that evaluate otherwise: (claim, true value)."""
    if "=" not in text:
        return []
    t = _normalize_math(text)
    out = []
    for m in _CLAIM.finditer(t):
        start = m.start() + len(m.group("lhs")) - len(m.group("lhs").lstrip())
        j = start - 1
        if j >= 0 and (t[j].isalnum() or t[j] in _GLUED_BEFORE):
            continue           # glued to an unknown, a power, a subscript: '2x+3', 'x^2+1', 'a_1+2'
        while j >= 0 and t[j] in " \t":
            j -= 1
        if j >= 0 and t[j] in _OP_BEFORE:
            continue           # the tail of a longer expression: 'y + 3 + 4 = 7'

        if _BAD_AFTER.match(t, m.end()):
            continue           # '= 12x', '= 3/4', '= 5 + ...': not a plain number
        ctx = t[max(0, m.start() - 12):m.end() + 24]
        if _APPROX.search(ctx):
            continue
        lhs, rhs = m.group("lhs").strip(), m.group("rhs")
        if lhs.count("(") > lhs.count(")") and lhs.startswith("("):
            lhs = lhs[1:].strip()
        if lhs.count(")") > lhs.count("(") and lhs.endswith(")"):
            lhs = lhs[:-1].strip()
        try:
            value = _eval(ast.parse(lhs.replace("^", "**"), mode="eval"))
        except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
            continue
        if isinstance(value, complex) or not math.isfinite(value):
            continue
        claimed = float(rhs)
        decimals = len(rhs.split(".")[1]) if "." in rhs else 0
        tol = 0.5 * 10 ** -decimals + 1e-9 * abs(value) if decimals else 1e-9 * max(1.0, abs(value))
        if "." in lhs and not decimals:
            tol = max(tol, 0.5)        # '3.14 * 2 = 6' style rounding of decimals
        if abs(value - claimed) > tol:
            out.append((f"{lhs.strip()} = {rhs}", value))
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


def _value_pattern(value: str) -> re.Pattern | None:
    v = grade._norm(value)
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", v or ""):
        return None
    v = v.lstrip("0") or "0" if not v.startswith("-") else v
    return re.compile(rf"(?:=|\bis|\bget|\bgives?|\bequals?|boxed\{{|answer:?)\s*\$?\\?\(?\s*0*{re.escape(v)}(?![\d.]\d|\d)")


def _same(a: str, b: str, answer_type: str = "math") -> bool:
    """Cheap answer equality (normalised text or equal numbers): rules never call math-verify."""
    na, nb = grade._norm(a), grade._norm(b)
    if na == nb:
        return True
    try:
        return abs(float(na) - float(nb)) < 1e-9
    except ValueError:
        return False


# --- trajectory-level signals ----------------------------------------------------------------
_BACKTRACK_KINDS = {"wait", "alternatively", "check", "hmm"}
_BACKTRACK_RE = re.compile(r"(?:^|\n|[.!?] )\W*(?:But wait|Wait|Alternatively|Hmm|Let me check)\b")

STRATEGIES = {
    "coordinates": r"coordinate (?:system|geometry)|place (?:the )?(?:points?|\w+) at|let [A-Z] = \(|origin at",
    "vectors": r"\bvectors?\b|dot product|cross product|\\vec\{|\\overrightarrow",
    "complex_numbers": r"complex (?:number|plane)|roots? of unity|\bargument of|\\omega|e\^\{i|\bmodulus\b",
    "trigonometry": r"\\(?:sin|cos|tan)\b|law of (?:sines|cosines)|\b(?:sine|cosine)\b",
    "inclusion_exclusion": r"inclusion[- ]exclusion|\|A \\cup B\||PIE\b",
    "casework": r"\bcase \d|\bcases?:|casework|\bCase [1-9IVX]",
    "complementary_counting": r"complement(?:ary)? (?:counting|probability|event)|total minus|subtract (?:the )?(?:bad|invalid)",
    "recursion": r"recurs(?:ion|ive)|recurrence|a_\{?n-1\}?|f\(n-1\)",
    "generating_functions": r"generating function",
    "modular_arithmetic": r"\\pmod|\\equiv|\bmod\b|modulo|\\bmod",
    "symmetry": r"\bsymmetr(?:y|ic)\b|Burnside|orbit",
    "induction": r"\binduction\b|inductive step|base case",
    "vieta": r"Vieta",
    "am_gm": r"AM[- ]GM|Cauchy[- ]Schwarz",
    "pigeonhole": r"pigeonhole",
    "probability": r"\bprobability\b|expected value",
    "logarithms": r"\\log|\blog_",
    "similar_triangles": r"similar triangles|\\sim \\triangle|similarity",
    "pythagorean": r"Pythagorean|Pythagoras",
    "brute_force": r"list(?:ing)? (?:all|them|out)|enumerat(?:e|ing)|check each",
}
_STRATEGY_RE = {k: re.compile(v, re.I if k not in ("casework", "vieta") else 0) for k, v in STRATEGIES.items()}


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
        tid, kinds = it.trajectory_id, it.kinds
        res = AnnotationResult(tid)
        ann, flags = res.annotations, res.flags
        slips: list[int] = []
        asserted: list[tuple[int, str]] = []
        for i, step in enumerate(it.steps):
            for claim, value in arithmetic_slips(step)[:3]:
                if not slips or slips[-1] != i:
                    slips.append(i)
                    ann.append(StepAnnotation(tid, i, NAME, "arithmetic_slip", 1.0,
                                              f"{claim} (evaluates to {value:.6g})"))
            a = asserted_answer(step) if ("box" in step or "answer" in step) else None
            if a:
                asserted.append((i, a))
        # answer flips: the asserted answer changes from one assertion to the next
        flips, seq = 0, []
        for i, a in asserted:
            if seq and not _same(seq[-1][1], a, it.answer_type):
                flips += 1
            seq.append((i, a))
        if flips:
            flags.append(TrajectoryFlag(tid, NAME, "answer_flip", float(flips),
                                        " -> ".join(f"{a}@{i}" for i, a in seq[:20])[:500]))
        # found then lost: a wrong trajectory that stated the gold on the way
        gold_step = None
        if it.is_correct is False and it.gold:
            gold_step = self._gold_step(it, asserted)
            if gold_step is not None:
                ann.append(StepAnnotation(tid, gold_step, NAME, "gold_reached", 1.0, f"gold {it.gold}"[:200]))
                flags.append(TrajectoryFlag(tid, NAME, "found_then_lost", float(gold_step),
                                            f"gold {it.gold} reached at step {gold_step}, final {it.extracted_answer}"[:500]))
        if it.finish_reason == "length" or (it.extracted_answer is None and it.is_correct is not None):
            flags.append(TrajectoryFlag(tid, NAME, "truncated", 1.0,
                                        "finish_reason=length" if it.finish_reason == "length" else "no final answer"))
        ratio = repetition_ratio(it.response)
        if ratio < self.repetition_threshold:
            flags.append(TrajectoryFlag(tid, NAME, "repetition_loop", ratio, it.response[-200:]))
        n_back = (sum(k in _BACKTRACK_KINDS for k in kinds) if kinds is not None
                  else len(_BACKTRACK_RE.findall(it.response)))
        flags.append(TrajectoryFlag(tid, NAME, "backtracks", float(n_back)))
        for name, rx in _STRATEGY_RE.items():
            hits = len(rx.findall(it.response))
            if hits >= self.strategy_min_hits:
                flags.append(TrajectoryFlag(tid, NAME, f"strategy:{name}", float(hits)))
        res.first_error = self.first_error(it, slips, asserted)
        if res.first_error is not None and res.first_error >= 0:
            ann.append(StepAnnotation(tid, res.first_error, NAME, "first_error", None,
                                      "rules heuristic: first slip, else first derived number / first mention of the final answer"))
        return res

    def _gold_step(self, it: AnnotateInput, asserted: list[tuple[int, str]]) -> int | None:
        pat = _value_pattern(it.gold)
        last = len(it.steps) - 1
        if pat is not None:
            for i, step in enumerate(it.steps[:last] if last > 0 else it.steps):
                if pat.search(step):
                    return i
            return None
        for i, a in asserted:
            if i < last and _same(it.gold, a, it.answer_type):
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
        pat = _value_pattern(final) if final else None
        if pat is not None:
            for i, step in enumerate(it.steps):
                if pat.search(step):
                    cands.append(i)
                    break
        return min(cands) if cands else (len(it.steps) - 1) // 2
