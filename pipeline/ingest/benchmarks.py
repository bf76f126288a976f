"""Question tables: AIME 2024 and MATH-500 from a local data directory, else the Hugging Face Hub.

The data directory is ``--data-dir``, else ``$LADDER_DATA_DIR``, else ``../shared/data`` beside
the checkout when it exists. The Hub path (``datasets.load_dataset``) is used only when no local
copy exists; it needs network access.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from warehouse.registry import Registry
from warehouse.errors import NotFound
from warehouse.records import Benchmark, Question, ReferenceValue, Tier

# the checkout (warehouse.db.REPO_ROOT): not imported from there, which would load duckdb into
# every `--help` (the CLI reads LOADERS to build its parser)
REPO_ROOT = Path(__file__).resolve().parents[2]

HUB_DATASETS = {
    "aime24": ("Maxwell-Jia/AIME_2024", "train"),
    "math500": ("HuggingFaceH4/MATH-500", "test"),
}


def data_dir(path: str | os.PathLike | None = None) -> Path | None:
    if path:
        p = Path(path)
        if not p.is_dir():
            raise NotFound(f"--data-dir {p} is not a directory")
        return p
    env = os.environ.get("LADDER_DATA_DIR")
    if env:
        return Path(env)
    shared = REPO_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else None


@dataclass
class BenchmarkData:
    benchmark: Benchmark
    questions: list[Question]
    tiers: list[Tier] = field(default_factory=list)
    references: list[ReferenceValue] = field(default_factory=list)


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _local_or_hub(root: Path | None, name: str, file: str) -> tuple[list[dict], str]:
    """The rows of ``root/name/file`` where the data dir has it, else of the hub dataset; and where they came from."""
    path = root / name / file if root else None
    if path and path.exists():
        return _read_jsonl(path), str(path)
    return _from_hub(name), HUB_DATASETS[name][0]


_AIME_URL = re.compile(r"(\d{4})_AIME_(I{1,2})_Problems/Problem_(\d+)")


def load_aime24(root: Path | None) -> BenchmarkData:
    bench = Benchmark("aime24", "AIME 2024 (contests I and II), ids 60-89", "integer")
    rows, bench.source = _local_or_hub(root, "aime24", "problems.jsonl")
    ref_rows = {}
    ref_path = root / "aime24" / "paper_reference.csv" if root else None
    if ref_path and ref_path.exists():
        with open(ref_path, newline="", encoding="utf-8") as f:
            ref_rows = {r["id"]: r for r in csv.DictReader(f)}
    questions, tiers, refs = [], [], []
    for i, r in enumerate(rows):
        qid = str(r.get("id", 60 + i))
        ref = ref_rows.get(qid, {})
        m = _AIME_URL.search(r.get("url", "") or "")
        questions.append(Question(
            benchmark="aime24", question_id=qid, problem=r.get("problem") or r.get("Problem") or r["question"],
            answer=str(r.get("answer") or r.get("Answer")), solution=r.get("solution") or r.get("Solution"),
            category=ref.get("category") or None,
            year=int(ref.get("year") or (m.group(1) if m else 2024)),
            contest=ref.get("contest") or (m.group(2) if m else None),
            problem_number=int(ref["problem_number"]) if ref.get("problem_number") else (int(m.group(3)) if m else None),
        ))
        if ref.get("paper_tier"):
            tiers.append(Tier("aime24", qid, "paper", ref["paper_tier"], json.dumps({"source": str(ref_path)})))
        for group in ("base", "small_sft", "large"):
            v = ref.get(f"fig1_{group}_avg8")
            if v not in (None, ""):
                refs.append(ReferenceValue("aime24", qid, "paper_fig1", group, "avg@8", float(v)))
    return BenchmarkData(bench, questions, tiers, refs)


def load_math500(root: Path | None) -> BenchmarkData:
    bench = Benchmark("math500", "MATH-500 (the PRM800K test split of MATH)", "math")
    rows, bench.source = _local_or_hub(root, "math500", "test.jsonl")
    qs = [Question(benchmark="math500", question_id=r["unique_id"], problem=r["problem"], answer=str(r["answer"]),
                   solution=r.get("solution"), category=r.get("subject"),
                   level=str(r["level"]) if r.get("level") is not None else None) for r in rows]
    return BenchmarkData(bench, qs)


LOADERS: Registry[Callable[[Path | None], BenchmarkData]] = Registry("benchmark")
LOADERS.register("aime24", load_aime24)
LOADERS.register("math500", load_math500)


def _from_hub(name: str) -> list[dict]:
    repo, split = HUB_DATASETS[name]
    try:
        import datasets  # optional: only for machines with network access
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise NotFound(f"no local copy of {name} (give --data-dir) and the `datasets` package "
                                f"is not installed to fetch {repo} from the Hub") from exc
    try:
        ds = datasets.load_dataset(repo, split=split)
    except Exception as exc:
        raise NotFound(f"no local copy of {name} (give --data-dir) and fetching {repo} "
                                f"from the Hugging Face Hub failed: {exc}") from exc
    rows = [dict(r) for r in ds]
    if name == "aime24":
        for i, r in enumerate(rows):
            r.setdefault("id", 60 + i)
    return rows


def load(name: str, root: Path | None = None) -> BenchmarkData:
    return LOADERS.get(name)(root)


def install(con, data: BenchmarkData) -> int:
    """Write a benchmark's question table, tiers and reference values (idempotent)."""
    from warehouse import ingest    # here: duckdb and pyarrow stay out of the CLI's --help (see REPO_ROOT)

    ingest.upsert_benchmark(con, data.benchmark)
    n = ingest.upsert_questions(con, data.questions)
    ingest.upsert_tiers(con, data.tiers)
    ingest.upsert_reference_values(con, data.references)
    return n
