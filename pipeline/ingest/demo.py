"""The demo warehouse: every real trace set in the data dir's traces/, with model metadata.

``build(db_path, data_dir)`` installs aime24 and math500, writes the model table below, then imports
traces/skythought-aime24 (19 models), traces/skythought-math500 (5 models) and
traces/qwen25math-maj8/math_cot_100.jsonl (its own benchmark, ``math_cot_100``, 8 samples per
question) through the ordinary import stage: one transaction per file, idempotent.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.ingest import benchmarks
from pipeline.ingest.session import FileReport, ImportSession
from warehouse import db, ingest
from warehouse.errors import NotFound
from warehouse.records import Model

# Base models of the Sky-T1 SFT runs are inferred from their size (14B: Qwen2.5-14B-Instruct,
# 27B: gemma-2-27b-it, 32B: Qwen2.5-32B-Instruct); the source files do not say.
_BASES = {14: "Qwen2.5-14B-Instruct", 27: "gemma-2-27b-it", 32: "Qwen2.5-32B-Instruct"}
_FAMILY_OF_BASE = {14: "qwen", 27: "gemma", 32: "qwen"}

# model_id: (display name, family, params_b, base model, group)
BASE_MODELS = {
    "Qwen2.5-14B-Instruct": ("Qwen2.5-14B-Instruct", "qwen", 14.0, "Qwen2.5-14B", "base"),
    "Qwen2.5-Math-7B": ("Qwen2.5-Math-7B", "qwen", 7.0, "Qwen2.5-7B", "base"),
    "gemma-2-27b-it": ("Gemma-2-27B-it", "gemma", 27.0, "gemma-2-27b", "base"),
    "Llama-3.1-8B": ("Llama-3.1-8B", "llama", 8.0, None, "base"),
}
SFT_STEPS_32B = (21, 35, 49, 63, 70, 84, 98, 105, 119, 133, 140)
MAJ8_MODEL = "qwen2.5-math-maj8"


def _sky(sft_data: str, size: int, *, step: int | None = None, length: str | None = None) -> Model:
    mid = f"Sky-T1-math-{sft_data}-5K-{size}B" + (f"-step{step}" if step else "") + ("-short" if length else "")
    display = f"Sky-T1 math {sft_data} 5K {size}B" + (f" step {step}" if step else "") + (f" ({length})" if length else "")
    group = "sft-32b-steps" if step else f"sft-{sft_data}-5k"
    return Model(mid, display_name=display, family="sky-t1", base_model=_BASES[size], params_b=float(size),
                 sft_size=5000, sft_category="math", trajectory_length=length, train_step=step, group=group,
                 meta={"sft_data": sft_data, "base_family": _FAMILY_OF_BASE[size]})


def demo_models() -> list[Model]:
    """The metadata of every model in the demo traces."""
    models = [Model(mid, display_name=d, family=f, params_b=p, base_model=b, group=g)
              for mid, (d, f, p, b, g) in BASE_MODELS.items()]
    models += [_sky(data, size) for data in ("correct", "wrong") for size in (14, 27)]
    models += [_sky("correct", 32, step=s) for s in SFT_STEPS_32B]
    models.append(_sky("correct", 32, length="short"))
    models.append(Model(MAJ8_MODEL, display_name="Qwen2.5-Math (8 samples)", family="qwen", group="base",
                        meta={"note": "the source file does not name the model; Qwen2.5-Math evaluation set"}))
    return models


@dataclass
class TraceSet:
    path: str                  # relative to the data dir
    benchmark: str
    model: str | None = None   # None: the file stem


TRACE_SETS = [
    TraceSet("traces/skythought-aime24", "aime24"),
    TraceSet("traces/skythought-math500", "math500"),
    TraceSet("traces/qwen25math-maj8/math_cot_100.jsonl", "math_cot_100", MAJ8_MODEL),
]


@dataclass
class DemoReport:
    db_path: Path
    seconds: float = 0.0
    files: list[FileReport] = field(default_factory=list)

    @property
    def trajectories(self) -> int:
        return sum(f.samples for f in self.files)


def build(db_path=None, data_dir=None, workers: int | None = None) -> DemoReport:
    root = benchmarks.data_dir(data_dir)
    if root is None or not (root / "traces").is_dir():
        raise NotFound(f"no traces/ folder in the data dir {root}: give --data-dir")
    path = db.db_path(db_path)
    t0 = time.perf_counter()
    models = demo_models()
    with db.writer(path) as con:
        for name in ("aime24", "math500"):
            benchmarks.install(con, benchmarks.load(name, root))
        for m in models:
            ingest.upsert_model(con, m)
    session = ImportSession(path, root)
    rep = DemoReport(path)
    for ts in TRACE_SETS:
        rep.files += session.import_path(root / ts.path, "qwen-eval", ts.benchmark, model=ts.model,
                                         models=models, workers=workers)
    rep.seconds = time.perf_counter() - t0
    return rep
