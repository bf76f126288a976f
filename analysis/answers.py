"""Answer classes: what the samples of a question answered, grouped into equivalent final answers.

``answer_classes(fa, same)`` reads ``warehouse.frames.final_answers`` (one row per sample: model_id,
question_id, sample_idx, answer, is_correct, gold, tier) and returns one record per question, every
selected sample of the question POOLED (over models and runs):

- ``question_id``, ``tier``; ``n_samples`` (n) and ``n_correct`` (c, the active verdicts).
- ``classes``: the samples grouped by final answer, largest first (ties: the one answered first).
  Equivalence is as the grader decides, not string equality: the caller passes ``same(a, b)``, e.g.
  ``lambda a, b: derivation.grade.answers_match(a, b, answer_type)``, so ``\\frac{1}{2}`` and ``0.5`` are one
  class when the grader says they match. Classes are built greedily: each distinct spelling, in the
  order the samples give them (question, model, sample), joins the first class whose FIRST member's
  spelling it matches, else opens a new class (``same`` need not be transitive; this makes the result
  deterministic). Identical spellings are one class without asking ``same``; with ``keyed(same, key)``
  (the grader's integers) a spelling with a key is looked up by it and asks ``same`` only about earlier
  heads without one: the same classes, without ``same`` called once per head. Empty or missing answers
  form one class ``"(no answer)"``. Each class: ``answer`` (its most frequent spelling; ties: the first
  seen), ``n``, ``is_gold`` (any member is correct; the no-answer class never is), ``models`` (sorted).
- ``entropy_bits``: Shannon entropy of the class sizes, -sum p log2 p with p = n_class / n (the no-answer
  class counts as a class); 0 when every sample agrees.
- ``majority_answer``: the answer of the class holding a strict plurality (more samples than any other
  answered class; the no-answer class does not vote), None on a tie or when nothing was answered.
  ``majority_is_gold``: that class is gold. ``confidently_wrong``: that class is wrong, i.e. a wrong class
  holds strictly more samples than any other class, the gold class included.
- ``pass_at_k``: k = "1" ... "n" -> the unbiased estimator 1 - C(n-c, k) / C(n, k)
  (``analysis.metrics.pass_at_k_estimate``; Chen et al. 2021).
- ``maj_at_k``: k -> the exact probability that the strict plurality of k samples drawn uniformly without
  replacement from the n is a gold class (multivariate hypergeometric over the class counts; a tie for
  the most votes counts as not gold; no-answer samples do not vote, and k no-answer draws are not gold).
  At k = n it is ``majority_is_gold``; at k = 1 it is (gold-class samples) / n.
- ``avg_at_k``: k -> c / n for every k: the expected accuracy of k samples is avg@1 whatever k is (the
  mean of k draws without replacement has expectation c / n), kept per k to line up with the others.
- ``intervals``: ``{"avg": [lo, hi], "pass_at_k": {k: [lo, hi]}, "maj_at_k": {k: [lo, hi]}}``, 95%: the
  Jeffreys interval of the per-sample accuracy, carried to pass@k = 1 - (1 - p)^k (``_intervals``); for
  maj@k a percentile bootstrap over the samples (``_maj_intervals``; only up to 64 samples a question).

``shared_delusions(per_question)``: (question_id, answer, models) for every wrong class given by two or
more models.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable

import numpy as np
import polars as pl

from analysis.metrics import pass_at_k_estimate

NO_ANSWER = "(no answer)"


def question_key(qid: str):
    """The one sort key of question ids: numeric ids numerically, first; the rest as text (0, 1, 2, 10, not 0, 1, 10)."""
    s = str(qid)
    return (0, int(s), "") if s.isascii() and s.isdigit() else (1, 0, s)


def _classes(rows: list[dict], same: Callable[[str, str], bool]) -> list[dict]:
    """Group one question's samples (in order) into classes; see the module docstring. With ``same.key``
    (``keyed``), a spelling that has a key skips every head whose key differs (``same`` is False for
    them by that contract): the classes are the same, and 1,920 integer answers of one question no longer
    ask ``same`` about every head."""
    key = getattr(same, "key", None)
    spelling_class: dict[str, int] = {}
    heads: list[str | None] = []          # first member's spelling per class (None: the no-answer class)
    members: list[list[dict]] = []
    key_class: dict[object, int] = {}     # a key -> the first class whose head has it
    unkeyed: list[int] = []               # the classes whose head has no key, in order
    for r in rows:
        a = r["answer"]
        a = a if isinstance(a, str) and a.strip() else None
        ka = None                           # a new spelling's key (only a new spelling can open a class)
        if a is None:
            idx = heads.index(None) if None in heads else -1
        elif a in spelling_class:
            idx = spelling_class[a]
        else:
            ka = None if key is None else key(a)
            if ka is None:
                idx = next((i for i, h in enumerate(heads) if h is not None and (h == a or same(h, a))), -1)
            else:               # the first matching head: the first with a's key, or an earlier one without a key
                first = key_class.get(ka, len(heads))
                idx = next((i for i in unkeyed if i < first and (heads[i] == a or same(heads[i], a))),
                           first if first < len(heads) else -1)
            if idx >= 0:
                spelling_class[a] = idx
        if idx < 0:
            heads.append(a)
            members.append([])
            idx = len(heads) - 1
            if a is not None:
                spelling_class[a] = idx
                if key is not None and ka is None:
                    unkeyed.append(idx)
                elif ka is not None:
                    key_class.setdefault(ka, idx)
        members[idx].append({**r, "answer": a})
    out = []
    for order, (head, ms) in enumerate(zip(heads, members)):
        if head is None:
            answer, gold = NO_ANSWER, False
        else:
            spellings = Counter(m["answer"] for m in ms)
            best = max(spellings.values())
            answer = next(m["answer"] for m in ms if spellings[m["answer"]] == best)   # first seen of the top
            gold = any(bool(m["is_correct"]) for m in ms)
        out.append({"answer": answer, "n": len(ms), "is_gold": gold,
                    "models": sorted({str(m["model_id"]) for m in ms}),
                    "_order": order, "_votes": head is not None, "_members": ms})
    out.sort(key=lambda c: (-c["n"], c["_order"]))
    return out


def keyed(same: Callable[[str, str], bool], key: Callable[[str], object]) -> Callable[[str, str], bool]:
    """``same`` with a ``key``: a spelling's hashable key, or None. Contract: two spellings that both have a
    key are ``same`` exactly when their keys are equal (the grader's integers: ``025`` and ``25``)."""
    def keyed_same(a: str, b: str) -> bool:
        return same(a, b)
    keyed_same.key = key
    return keyed_same


def _poly_mul(p: list[int], q: list[int], cap: int) -> list[int]:
    out = [0] * min(len(p) + len(q) - 1, cap + 1)
    for i, a in enumerate(p):
        if a:
            for j, b in enumerate(q[:cap + 1 - i]):
                out[i + j] += a * b
    return out


def _binomial_row(m: int, cap: int) -> list[int]:
    """C(m, y) for y = 0 .. min(m, cap): the coefficients of (1+t)^m up to t^cap."""
    row = [1]
    for y in range(min(m, cap)):
        row.append(row[-1] * (m - y) // (y + 1))
    return row


def maj_at_k_exact(gold: list[int], wrong: list[int], abstain: int = 0) -> dict[int, float]:
    """k -> P(the strict plurality of k of the n samples, drawn without replacement, is a gold class).

    ``gold``/``wrong``: the sizes of the gold and wrong answered classes; ``abstain``: samples with no
    answer (they never vote). For a gold class of size g and each x = 1..g votes for it, the number of
    ways the other k - x draws give every other answered class fewer than x votes is the coefficient of
    t^(k-x) in prod_j sum_{y<x} C(o_j, y) t^y times (1+t)^abstain; summed over gold classes (the events
    are disjoint) and divided by C(n, k). Exact in integers. A class smaller than x is not truncated, so
    those classes and the abstentions are one factor (1+t)^m, the same for every x up to the next class
    size: the sum over those x of C(g, x) t^x times the truncated classes' product is multiplied by it
    once. Cost about sum_g sum_x x^2 * (classes of x or more samples)^2, plus n * g per class size.
    """
    sizes = list(gold) + list(wrong)
    n = sum(sizes) + abstain
    ways = [0] * (n + 1)                  # ways[k]: k-subsets whose strict plurality is gold

    def add(m: int, acc: list[int]) -> None:          # ways += (1+t)^m * acc
        for d, w in enumerate(_poly_mul(_binomial_row(m, n), acc, n)):
            ways[d] += w

    for gi, g in enumerate(gold):
        others = sorted(s for j, s in enumerate(sizes) if j != gi)
        run, acc = None, []               # run: the untruncated samples (1+t)^m of this x; acc: its sum so far
        for x in range(1, g + 1):
            m = abstain + sum(o for o in others if o < x)
            if m != run:
                if acc:
                    add(run, acc)
                run, acc = m, [0] * x
            poly = [1]
            for o in others:
                if o >= x:
                    poly = _poly_mul(poly, _binomial_row(o, x - 1), n)
            cg = math.comb(g, x)
            acc.extend([0] * (x + len(poly) - len(acc)))
            for rest, w in enumerate(poly):
                acc[x + rest] += cg * w
        if acc:
            add(run, acc)
    out, total = {}, 1
    for k in range(1, n + 1):
        total = total * (n - k + 1) // k            # C(n, k), exactly
        out[k] = ways[k] / total
    return out


def _intervals(n: int, c: int, ks=None, level: float = 0.95) -> dict:
    """95% intervals from this question's n samples: the Jeffreys interval of the per-sample accuracy p
    (Beta(c + 1/2, n - c + 1/2) quantiles; exact 0 or 1 at c = 0 or n), carried to pass@k = 1 - (1 - p)^k,
    which rises with p, for k in ``ks`` (default 1 .. n). Samples are taken as independent draws of the
    model on the question."""
    if n == 0:
        return {"avg": [None, None], "pass_at_k": {}}
    # the beta quantile as scipy.special has it (what scipy.stats.beta.ppf calls, bit for bit): importing
    # scipy.stats would cost the page's first render ~0.5 s more; imported when used
    from scipy.special import betaincinv

    a = (1 - level) / 2
    lo = 0.0 if c == 0 else float(betaincinv(c + 0.5, n - c + 0.5, a))
    hi = 1.0 if c == n else float(betaincinv(c + 0.5, n - c + 0.5, 1 - a))
    return {"avg": [lo, hi],
            "pass_at_k": {str(k): [1 - (1 - lo) ** k, 1 - (1 - hi) ** k] for k in (ks or range(1, n + 1))}}


MAJ_INTERVAL_MAX_N = 64     # exact maj@k per resample costs ~n^2 per class: bootstrap only small n
MAJ_INTERVAL_BOOT = 200


def _maj_intervals(gold: list[int], wrong: list[int], abstain: int, level: float = 0.95) -> dict:
    """k -> [lo, hi]: percentile bootstrap of maj@k over the question's samples (the class counts redrawn
    multinomially from their shares, ``MAJ_INTERVAL_BOOT`` times, seed 0; classes that draw no sample drop
    out); {} when n > ``MAJ_INTERVAL_MAX_N`` (too costly to recompute exactly per resample)."""
    sizes = gold + wrong + [abstain]
    n = sum(sizes)
    if n == 0 or n > MAJ_INTERVAL_MAX_N:
        return {}
    rng = np.random.default_rng(0)
    draws = rng.multinomial(n, np.array(sizes) / n, size=MAJ_INTERVAL_BOOT)
    g = len(gold)
    boots = np.array([[m[k] for k in range(1, n + 1)] for m in (
        maj_at_k_exact([int(x) for x in d[:g] if x], [int(x) for x in d[g:-1] if x], int(d[-1])) for d in draws)])
    a = (1 - level) / 2
    lo, hi = np.quantile(boots, a, axis=0), np.quantile(boots, 1 - a, axis=0)
    return {str(k): [float(lo[k - 1]), float(hi[k - 1])] for k in range(1, n + 1)}


def _maj_ends(gold: list[int], wrong: list[int], abstain: int) -> dict[int, float]:
    """maj@1 and maj@n alone (what ``maj_at_k_exact`` gives at k = 1 and k = n, without its polynomials):
    one sample votes gold with probability (gold samples) / n; all n samples vote as the classes stand."""
    n = sum(gold) + sum(wrong) + abstain
    if n == 0:
        return {}
    top = max(gold + wrong, default=0)
    n_top = sum(1 for x in gold + wrong if x == top)
    return {1: sum(gold) / n, n: float(top > 0 and n_top == 1 and max(gold, default=0) == top)}


def _question(qid: str, rows: list[dict], same: Callable[[str, str], bool], summary: bool = False) -> dict:
    n = len(rows)
    c = sum(bool(r["is_correct"]) for r in rows)
    classes = _classes(rows, same)
    voting = [cl for cl in classes if cl["_votes"]]
    top = voting[0] if voting and (len(voting) == 1 or voting[1]["n"] < voting[0]["n"]) else None
    entropy = -sum((cl["n"] / n) * math.log2(cl["n"] / n) for cl in classes) if n else 0.0
    ks = sorted({1, n}) if summary and n else range(1, n + 1)   # summary: both ends (19,200 ks a question at 10x)
    pass_k = pass_at_k_estimate(n, c, list(ks)) if n else []
    votes = ([cl["n"] for cl in voting if cl["is_gold"]], [cl["n"] for cl in voting if not cl["is_gold"]],
             sum(cl["n"] for cl in classes if not cl["_votes"]))
    maj = _maj_ends(*votes) if summary else maj_at_k_exact(*votes)
    tiers = [r["tier"] for r in rows if r.get("tier") is not None]
    return {
        "question_id": qid,
        "tier": tiers[0] if tiers else None,
        "n_samples": n,
        "n_correct": c,
        "entropy_bits": abs(float(entropy)),
        "majority_answer": top["answer"] if top else None,
        "majority_is_gold": bool(top and top["is_gold"]),
        "confidently_wrong": bool(top and not top["is_gold"]),
        "pass_at_k": {str(k): float(v) if c else 0.0 for k, v in zip(ks, pass_k)},   # c = 0: exactly 0
        "maj_at_k": {str(k): float(maj[k]) for k in ks if k in maj},
        "avg_at_k": {str(k): c / n for k in ks},
        "intervals": {**_intervals(n, c, ks), "maj_at_k": {} if summary else _maj_intervals(*votes)},
        "classes": [{k: v for k, v in cl.items() if not k.startswith("_")} for cl in classes],
    }


def answer_classes(fa: pl.DataFrame, same: Callable[[str, str], bool], summary: bool = False) -> list[dict]:
    """One record per question of ``fa`` (``warehouse.frames.final_answers``), sorted by question id
    (numeric ids numerically); the fields are described in the module docstring. ``summary``: ``maj_at_k``,
    ``pass_at_k``, ``avg_at_k`` and the pass@k intervals hold k = 1 and k = n only, and ``intervals`` no maj@k
    bootstrap (what a page table shows: the exact maj@k for every k costs seconds a question once a question
    pools thousands of samples, and 19,200 ks of each a question cost the 10x Exh table 0.2 s)."""
    if fa.is_empty():
        return []
    cols = ["model_id", "question_id", "sample_idx", "answer", "is_correct"] + (["tier"] if "tier" in fa.columns else [])
    rows = fa.select(cols).sort(["question_id", "model_id", "sample_idx"]).to_dicts()
    by_q: dict[str, list[dict]] = {}
    for r in rows:
        by_q.setdefault(str(r["question_id"]), []).append(r)
    return [_question(q, by_q[q], same, summary) for q in sorted(by_q, key=question_key)]


def question_classes(fa: pl.DataFrame, question_id: str, same: Callable[[str, str], bool]) -> list[dict]:
    """The classes of one question (as in ``answer_classes``) with their samples: each class also has
    ``samples``, ``[{"model_id", "sample_idx", "trajectory_id", "answer"}]`` in sample order."""
    cols = [c for c in ("trajectory_id", "model_id", "question_id", "sample_idx", "answer", "is_correct")
            if c in fa.columns]
    rows = (fa.filter(pl.col("question_id") == question_id).select(cols)
            .sort(["model_id", "sample_idx"]).to_dicts())
    return [{**{k: v for k, v in cl.items() if not k.startswith("_")},
             "samples": [{k: m.get(k) for k in ("model_id", "sample_idx", "trajectory_id", "answer")}
                         for m in cl["_members"]]}
            for cl in _classes(rows, same)]


def shared_delusions(per_question: list[dict]) -> list[tuple[str, str, list[str]]]:
    """(question_id, answer, models) for every wrong answered class that two or more models gave."""
    return [(q["question_id"], cl["answer"], cl["models"])
            for q in per_question for cl in q["classes"]
            if not cl["is_gold"] and cl["answer"] != NO_ANSWER and len(cl["models"]) >= 2]
