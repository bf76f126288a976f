"""A tiny warehouse the tests build themselves: no ../shared, a few small jsonl files, the real import.

``build(folder)`` writes one jsonl trace file per model (``SAMPLES``) and imports each through
``python -m pipeline import --format jsonl`` (in-process, ``pipeline.cli.main``) with the model's
``--meta group=... --meta sft_size=...``; the first file creates the benchmark ``tiny`` (4 questions,
gold answers integer and not: answer_type ``math``; no tiers, no categories). Every response ends in
``\\boxed{...}`` or is empty, so our grader's verdict is known: ``R`` (the right answer, written as a
model writes it, e.g. ``10{,}000``), ``W`` and ``V`` (two different wrong answers), ``E`` (an empty
response: wrong, no answer, no vote).

The expected values (``expected``, ``accuracies``) are computed here from the same table, in plain
Python, independent of the warehouse and the analysis code.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

BENCHMARK = "tiny"

# question id -> (problem, gold answer, the right answer as the responses box it, wrong W, wrong V).
# Ids are not in difficulty order (the easiest is q3), so an order by id is caught.
QUESTIONS = {
    "q1": ("Compute one half plus one quarter.", "\\frac{3}{4}", "\\dfrac{3}{4}", "\\frac{2}{6}", "\\frac{1}{8}"),
    "q2": ("Simplify the square root of eight.", "2\\sqrt{2}", "2\\sqrt{2}", "4", "\\sqrt{6}"),
    "q3": ("What is two plus three?", "5", "5", "6", "23"),
    "q4": ("What is one hundred times one hundred?", "10000", "10{,}000", "1000", "100"),
}

# model -> (group, sft_size)
MODELS = {
    "tiny-base": ("base", 0),
    "tiny-sft-a": ("sft", 1000),
    "tiny-sft-b": ("sft", 1000),
}

# model -> question -> its samples, in order: 1 to 4 per question, no tied majority vote. The first
# file names every question (it creates the benchmark).
SAMPLES = {
    "tiny-base": {"q3": "RRRW", "q1": "RWWV", "q4": "WWWW", "q2": "EVV"},   # q2: an empty response
    "tiny-sft-a": {"q3": "RR", "q1": "RR", "q4": "RE", "q2": "WW"},          # q4: the empty one has no vote
    "tiny-sft-b": {"q3": "R", "q1": "W", "q4": "R", "q2": "R"},
}


def answer(qid: str, kind: str) -> str | None:
    """The boxed answer of a sample kind (None for an empty response)."""
    _, _, right, wrong, other = QUESTIONS[qid]
    return {"R": right, "W": wrong, "V": other, "E": None}[kind]


def response(model: str, qid: str, i: int, kind: str) -> str:
    a = answer(qid, kind)
    if a is None:
        return ""
    return (f"{model}, sample {i} of {qid}. We work it out step by step.\n\n"
            f"Therefore the final answer is $\\boxed{{{a}}}$.")


def lines(model: str) -> list[dict]:
    out = []
    for qid, kinds in SAMPLES[model].items():
        problem, gold, *_ = QUESTIONS[qid]
        for i, kind in enumerate(kinds):
            out.append({"model": model, "question_id": qid, "problem": problem, "answer": gold,
                        "sample_idx": i, "response": response(model, qid, i, kind)})
    return out


def build(folder: Path) -> Path:
    """Write the trace files into ``folder`` and import them into ``folder``/tiny.duckdb."""
    from pipeline.cli import main

    folder = Path(folder)
    db = folder / "tiny.duckdb"
    for model, (group, sft_size) in MODELS.items():
        f = folder / f"{model}.jsonl"
        f.write_text("".join(json.dumps(r) + "\n" for r in lines(model)), encoding="utf-8")
        argv = ["import", "--format", "jsonl", "--benchmark", BENCHMARK, "--meta", f"group={group}",
                "--meta", f"sft_size={sft_size}", "--data-dir", str(folder), "--db", str(db), str(f)]
        rc = main(argv)
        if rc != 0:
            raise RuntimeError(f"tiny import failed (status {rc}): {' '.join(argv)}")
    return db


# ---- expected values, from the table alone

def verdicts(model: str) -> dict[str, list[bool]]:
    return {q: [k == "R" for k in kinds] for q, kinds in SAMPLES[model].items()}


def keys(by: str = "model") -> dict[str, list[str]]:
    """key -> the models it pools (by model: itself; by group: the group's models)."""
    if by == "model":
        return {m: [m] for m in MODELS}
    out: dict[str, list[str]] = {}
    for m, (group, _) in MODELS.items():
        out.setdefault(group, []).append(m)
    return out


def _majority_right(kinds: str) -> bool:
    votes = Counter(k for k in kinds if k != "E")
    if not votes:
        return False
    (top, n), *rest = votes.most_common()
    assert not rest or rest[0][1] < n, f"the tiny table has a tied vote: {kinds}"
    return top == "R"


def expected(by: str = "model") -> dict[tuple[str, str], dict]:
    """(key, question) -> n, c, maj (a group votes over all its samples pooled), mean_chars."""
    out = {}
    for key, models in keys(by).items():
        for qid in QUESTIONS:
            kinds = "".join(SAMPLES[m].get(qid, "") for m in models)
            texts = [response(m, qid, i, k) for m in models for i, k in enumerate(SAMPLES[m].get(qid, ""))]
            if not kinds:
                continue
            out[(key, qid)] = dict(n=len(kinds), c=kinds.count("R"), maj=_majority_right(kinds),
                                   mean_chars=sum(map(len, texts)) / len(texts))
    return out


def accuracies(by: str = "model") -> dict[str, dict[str, float]]:
    """key -> question -> c / n."""
    out: dict[str, dict[str, float]] = {}
    for (key, qid), e in expected(by).items():
        out.setdefault(key, {})[qid] = e["c"] / e["n"]
    return out
