"""Failure modes (issue 25): naming clusters of wrong trajectories and cutting them by tier, model or group.
Pure functions over texts, labels and polars frames (the clustering itself: derivation/embed.py).

- ``distinctive_terms(texts, labels, top)``: class-based TF-IDF (BERTopic's c-TF-IDF): each cluster's texts as
  one document, a term scored by its frequency in the cluster times log(1 + average cluster length / its
  frequency over all clusters), times (given each text's question) the share of the cluster's questions that
  use it; unigrams and bigrams of words (stop words, LaTeX commands and bare numbers dropped). Every term
  returned occurs in its own cluster's text.
- ``cluster_label(terms, n=3)``: "term · term · term".
- ``cluster_table(clusters, assigned)``: per cluster, its size in the selection, share of the selection's
  wrong trajectories, top answers and tier/model mix (one row per cluster).
- ``counts(assigned, by)``: cluster × ``by`` (tier | model | group) counts and shares of the cluster.
- ``top_answers(assigned, n)``: per cluster, its most common final answers.
- ``adjusted_rand(a, b)``: the adjusted Rand index of two labellings (stability between runs).
"""
from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import polars as pl

_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
STOP = frozenset("""a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he
her here hers him his how i if in into is it its itself just let lets let's me more most my no nor not now of off on
once only or other our out over own same she should so some such than that that's the their them then there these
they this those through to too under until up very was we were what when where which while who whom why will with
would you your yours yes ok okay so well maybe actually really hmm wait thus hence therefore since get got gives give
one two three first second need needs using use used like see think know way make made also may might must still
answer final boxed sqrt frac dfrac cdot times left right text""".split())
_CLUSTER_BY = {"tier": "tier", "model": "model_id", "group": "group"}


_LATEX = re.compile(r"\\[a-zA-Z]+")        # \frac, \sqrt: notation, not what went wrong


def _terms(text: str) -> list[str]:
    words = [w for w in _WORD.findall(_LATEX.sub(" ", text).lower()) if len(w) > 2 and w not in STOP]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:]) if a != b]


def distinctive_terms(texts: list[str], labels, top: int = 8, groups=None) -> dict[int, list[str]]:
    """Per cluster, its ``top`` terms by class-based TF-IDF against the other clusters (ties by the term). With
    ``groups`` (each text's question), a term's score is also multiplied by the share of the cluster's questions
    whose texts use it: a word of one question's statement ("shay", "torus") does not name a cluster that spans
    many questions; words of what the trajectories did do."""
    labels = [int(x) for x in labels]
    per: dict[int, Counter] = {}
    spread: dict[int, dict[str, set]] = {}
    for i, (text, lab) in enumerate(zip(texts, labels)):
        terms = _terms(text or "")
        per.setdefault(lab, Counter()).update(terms)
        if groups is not None:
            g, sp = groups[i], spread.setdefault(lab, {})
            for t in set(terms):
                sp.setdefault(t, set()).add(g)
    n_groups = {lab: len({groups[i] for i, x in enumerate(labels) if x == lab}) for lab in per} if groups else {}
    if not per:
        return {}
    total = Counter()
    for c in per.values():
        total.update(c)
    avg = sum(sum(c.values()) for c in per.values()) / len(per)
    out = {}
    for lab, c in per.items():
        n = sum(c.values()) or 1
        # a bigram beats its words only when it says more: its own frequency, not its words'
        cover = ({t: len(g) / n_groups[lab] for t, g in spread[lab].items()} if groups is not None
                 else dict.fromkeys(c, 1.0))
        scored = [(-(f / n) * math.log(1 + avg / total[t]) * cover[t], t) for t, f in c.items()
                  if f >= 2 or len(c) < 50]
        scored.sort()
        picked: list[str] = []
        for _, t in scored:
            if any(t in p.split(" ") or p in t.split(" ") for p in picked if " " in t or " " in p):
                continue            # "modular arithmetic" and "modular": keep the first, skip the echo
            picked.append(t)
            if len(picked) == top:
                break
        out[lab] = picked
    return out


def cluster_label(terms: list[str], n: int = 3) -> str:
    return " · ".join(terms[:n]) if terms else "(no distinctive words)"


def top_answers(assigned: pl.DataFrame, n: int = 3) -> dict[int, list[tuple[str, int]]]:
    """Per cluster, its ``n`` most common final answers with their counts (no answer: "(none)")."""
    out: dict[int, list[tuple[str, int]]] = {}
    if assigned.is_empty():
        return out
    c = (assigned.with_columns(pl.col("answer").cast(pl.Utf8).fill_null("(none)")
                               .replace("", "(none)"))
         .group_by("cluster_id", "answer").len()
         .sort(["cluster_id", "len", "answer"], descending=[False, True, False]))
    for r in c.iter_rows(named=True):
        lst = out.setdefault(r["cluster_id"], [])
        if len(lst) < n:
            lst.append((r["answer"], r["len"]))
    return out


def counts(assigned: pl.DataFrame, by: str = "tier") -> pl.DataFrame:
    """cluster_id, ``by`` value, n, share (of the cluster's trajectories in the selection); missing values
    are "(none)"."""
    col = _CLUSTER_BY[by]
    if assigned.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.Int32, by: pl.Utf8, "n": pl.UInt32, "share": pl.Float64})
    return (assigned.with_columns(pl.col(col).cast(pl.Utf8).fill_null("(none)").alias(by))
            .group_by("cluster_id", by).agg(n=pl.len())
            .with_columns(share=pl.col("n") / pl.col("n").sum().over("cluster_id"))
            .sort(["cluster_id", "n", by], descending=[False, True, False]))


def _mix(df: pl.DataFrame, by: str, top: int = 3) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for r in df.iter_rows(named=True):
        lst = out.setdefault(r["cluster_id"], [])
        if len(lst) < top:
            lst.append(f"{r[by]} {r['share']:.0%}")
    return {k: ", ".join(v) for k, v in out.items()}


def cluster_table(clusters: pl.DataFrame, assigned: pl.DataFrame) -> pl.DataFrame:
    """One row per stored cluster with members in the selection: cluster_id, label, n (in the selection),
    share (of the selection's assigned wrong trajectories), size (in the whole clustering), top_answers,
    tiers, models (each the three largest shares), terms."""
    if clusters.is_empty() or assigned.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.Int32, "label": pl.Utf8, "n": pl.UInt32, "share": pl.Float64,
                                    "size": pl.Int32, "top_answers": pl.Utf8, "tiers": pl.Utf8, "models": pl.Utf8,
                                    "terms": pl.Utf8})
    n = assigned.group_by("cluster_id").agg(n=pl.len())
    answers = {k: ", ".join(f"{a} ({c})" for a, c in v) for k, v in top_answers(assigned).items()}
    tiers, models = _mix(counts(assigned, "tier"), "tier"), _mix(counts(assigned, "model"), "model")
    t = clusters.join(n, on="cluster_id", how="inner").sort("cluster_id")
    return t.select(
        pl.col("cluster_id"), pl.col("label"), pl.col("n"), (pl.col("n") / assigned.height).alias("share"),
        pl.col("size"),
        pl.col("cluster_id").replace_strict(answers, default="", return_dtype=pl.Utf8).alias("top_answers"),
        pl.col("cluster_id").replace_strict(tiers, default="", return_dtype=pl.Utf8).alias("tiers"),
        pl.col("cluster_id").replace_strict(models, default="", return_dtype=pl.Utf8).alias("models"),
        pl.col("terms").list.join(", ").alias("terms"))


def adjusted_rand(a, b) -> float:
    """Adjusted Rand index of two labellings of the same items (1: identical partitions, ~0: chance)."""
    a, b = np.asarray(a), np.asarray(b)
    n = len(a)
    if n < 2:
        return 1.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)

    def c2(x):
        return (x * (x - 1) // 2).sum()

    sum_ij, sum_a, sum_b = c2(table), c2(table.sum(axis=1)), c2(table.sum(axis=0))
    expected = sum_a * sum_b / c2(np.array([n]))
    top = (sum_a + sum_b) / 2
    return 1.0 if top == expected else float((sum_ij - expected) / (top - expected))
