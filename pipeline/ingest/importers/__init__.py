"""Importers of real trajectory files, one small module each (see docs/IMPORT.md).

Registry: format name -> module. A module defines ``NAME``, ``DESCRIPTION``, ``parse(path, ctx)``
and optionally:

- ``files(path) -> [(file, default model name)]`` to expand folders;
- how `auto` recognises its files, any of ``detect_zip(member names)``, ``detect_json(first 64 KiB of a
  .json object)``, ``detect_columns(a parquet/Arrow file's column names)``, ``detect_record(the first
  object of a JSON-lines file)`` -> bool; `auto` asks the modules in the order registered below and
  takes the first that accepts (so the more specific formats come first, `hf` reads any table);
- ``COLUMNS_HELP``: what ``--columns`` means for it (the help of ``import --columns`` lists them).

Adding a format is one module plus one line here (and its section in docs/IMPORT.md, which
tests/test_docs.py checks).
"""
from __future__ import annotations

from types import ModuleType

from warehouse.registry import Registry

from . import hf, inspect_eval, jsonl, lighteval, lm_eval, qwen_eval
from .base import ImportContext, Problem, QuestionIndex

IMPORTERS: Registry[ModuleType] = Registry("import format")
IMPORTERS.register(inspect_eval.NAME, inspect_eval)
IMPORTERS.register(lm_eval.NAME, lm_eval)
IMPORTERS.register(qwen_eval.NAME, qwen_eval)
IMPORTERS.register(jsonl.NAME, jsonl)
IMPORTERS.register(lighteval.NAME, lighteval)
IMPORTERS.register(hf.NAME, hf)
IMPORTERS.register_lazy("auto", "pipeline.ingest.importers.auto")   # it reads this registry: imported on first use

__all__ = ["IMPORTERS", "ImportContext", "Problem", "QuestionIndex"]
