"""Real trace files rewritten in other harnesses' formats by those harnesses' own libraries (inspect_ai's log
API, `datasets`), for the importer tests. Every response, verdict and extracted answer comes from
../shared/data/traces; nothing is invented but the wrapping.
"""
from __future__ import annotations

import json
from pathlib import Path

from warehouse.records import normalize_problem

SKY = "traces/skythought-aime24/Sky-T1-math-correct-5K-14B.jsonl"
MAJ8 = "traces/qwen25math-maj8/math_cot_100.jsonl"
_THOUGHT = ("<|begin_of_thought|>", "<|end_of_thought|>")


def rows(shared: Path, rel: str, limit: int | None = None) -> list[dict]:
    out = []
    with open(shared / rel, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if limit and len(out) >= limit:
                break
    return out


def aime_ids(shared: Path) -> dict[str, str]:
    """normalized problem text -> the aime24 question id."""
    return {normalize_problem(p["problem"]): str(p["id"])
            for p in map(json.loads, open(shared / "aime24/problems.jsonl", encoding="utf-8"))}


def split_thought(response: str) -> tuple[str, str]:
    """A SkyThought response's thought (between its begin/end markers) and the rest, the solution."""
    a, b = _THOUGHT
    if a in response and b in response:
        head, rest = response.split(a, 1)
        thought, tail = rest.split(b, 1)
        return thought, head + tail
    return "", response


def source_verdicts(trace_rows: list[dict], key) -> dict[tuple[str, int], bool]:
    """(question key, sample index) -> the source harness's verdict."""
    return {(key(r), i): bool(s) for r in trace_rows for i, s in enumerate(r["score"])}


def write_inspect_log(path: Path, trace_rows: list[dict], ids: list, *, model: str, task: str,
                      epochs: int = 1, reasoning: bool = True, numeric_scores: bool = False,
                      status: str = "success", broken: dict | None = None) -> Path:
    """An Inspect AI log of the trace rows: sample ``ids[j]`` x epoch e holds response ``code[e-1]`` of
    row j, scored by its source verdict. ``reasoning``: the thought goes in a ContentReasoning part
    and the rest in a ContentText part. ``broken``: {row index: 'error' | 'partial' | 'no_output'}."""
    from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalSample, EvalSpec, write_eval_log
    from inspect_ai.log._log import EvalError
    from inspect_ai.model import (ChatCompletionChoice, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser,
                                  ContentReasoning, ContentText, GenerateConfig, ModelOutput, ModelUsage)
    from inspect_ai.scorer import Score

    broken = broken or {}
    samples = []
    for j, (r, sid) in enumerate(zip(trace_rows, ids)):
        for e in range(1, epochs + 1):
            resp = r["code"][e - 1]
            if reasoning:
                thought, text = split_thought(resp)
                content = [ContentReasoning(reasoning=thought), ContentText(text=text)] if thought else resp
            else:
                content = resp
            msg = ChatMessageAssistant(content=content, model=model)
            ok = bool(r["score"][e - 1])
            value = (1.0 if ok else 0.0) if numeric_scores else ("C" if ok else "I")
            kind = broken.get(j)
            if kind == "partial":
                value = "P"
            out = ModelOutput(model=model, choices=[ChatCompletionChoice(message=msg, stop_reason="stop")],
                              usage=ModelUsage(input_tokens=100, output_tokens=len(resp) // 4,
                                               total_tokens=100 + len(resp) // 4))
            user = ChatMessageUser(content=r["question"])
            s = EvalSample(id=sid, epoch=e, input=r["question"], target=str(r["gt"]),
                           messages=[ChatMessageSystem(content="Please reason step by step."), user, msg],
                           output=out if kind != "no_output" else ModelOutput(model=model),
                           scores={"match": Score(value=value, answer=str(r["pred"][e - 1]))})
            if kind == "no_output":
                s.messages = s.messages[:2]
            if kind == "error":
                s.error = EvalError(message="RuntimeError: the model server went away", traceback="", traceback_ansi="")
            samples.append(s)
    spec = EvalSpec(created="2025-03-01T10:11:12+00:00", task=task,
                    dataset=EvalDataset(name=task, samples=len(trace_rows), sample_ids=list(ids)), model=model,
                    config=EvalConfig(epochs=epochs),
                    model_generate_config=GenerateConfig(temperature=0.7 if epochs > 1 else 0.0, top_p=0.95,
                                                         max_tokens=32768, seed=1234))
    write_eval_log(EvalLog(status=status, eval=spec, samples=samples), str(path))
    return path


def write_hf_per_problem(path: Path, trace_rows: list[dict], *, names: dict | None = None) -> Path:
    """OpenR1-Math-220k layout: one row per problem, aligned lists of generations / verdicts / finish reasons."""
    import datasets
    n = names or {}
    data = {n.get("problem", "problem"): [r["question"] for r in trace_rows],
            n.get("answer", "answer"): [str(r["gt"]) for r in trace_rows],
            n.get("id", "uuid"): [f"q{r['idx']}" for r in trace_rows],
            n.get("responses", "generations"): [list(r["code"]) for r in trace_rows],
            n.get("correct", "correctness_math_verify"): [[bool(s) for s in r["score"]] for r in trace_rows],
            "finish_reasons": [["stop"] * len(r["code"]) for r in trace_rows],
            "problem_type": ["Algebra"] * len(trace_rows)}
    datasets.Dataset.from_dict(data).to_parquet(str(path))
    return path


def write_hf_per_generation(path: Path, trace_rows: list[dict], model: str) -> Path:
    """One row per generation: model, problem, answer, response, correct, sample_idx."""
    import datasets
    recs = [{"model": model, "problem": r["question"], "answer": str(r["gt"]), "response": c,
             "correct": bool(s), "sample_idx": i, "pred": str(p)}
            for r in trace_rows for i, (c, s, p) in enumerate(zip(r["code"], r["score"], r["pred"]))]
    ds = datasets.Dataset.from_list(recs)
    if path.suffix == ".arrow":
        ds.save_to_disk(str(path.with_suffix("")))
        return next(path.with_suffix("").glob("*.arrow"))
    ds.to_parquet(str(path))
    return path


def write_lighteval_details(path: Path, trace_rows: list[dict], *, template: str = "{q}",
                            reasoning: bool = False, old_layout: bool = False) -> Path:
    """lighteval details: one row per document (doc / model_response / metric structs, lighteval >= 0.10),
    or the older flat columns. The query is ``template`` around the problem, as lighteval's prompt
    functions write it; the metric is the document's mean verdict over its generations."""
    import datasets
    recs = []
    for i, r in enumerate(trace_rows):
        query = template.format(q=r["question"])
        texts, reasonings = [], []
        for c in r["code"]:
            thought, text = split_thought(c) if reasoning else ("", c)
            texts.append(text)
            reasonings.append(thought or None)
        mean = sum(bool(s) for s in r["score"]) / len(r["score"])
        if old_layout:
            recs.append({"example": query, "full_prompt": query, "predictions": texts, "gold": [str(r["gt"])],
                         "metrics": {"qem": mean}, "num_effective_few_shots": 0})
        else:
            recs.append({"doc": {"query": query, "choices": [str(r["gt"])], "gold_index": 0, "id": str(i),
                                 "task_name": "lighteval|test|0", "original_query": ""},
                         "model_response": {"input": query, "text": texts,
                                            "reasonings": reasonings if reasoning else [],
                                            "output_tokens": [[1] * (len(t) // 4 + 1) for t in texts]},
                         "metric": {"extractive_match": mean}})
    datasets.Dataset.from_list(recs).to_parquet(str(path))
    return path
