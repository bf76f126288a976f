"""Importers of real trajectory files, one small module each (see docs/IMPORT.md).

Registry: format name -> module. A module defines ``NAME``, ``DESCRIPTION``, ``parse(path, ctx)``
and optionally ``files(path) -> [(file, default model name)]`` to expand folders. Adding a format
is one module plus one line here.
"""
from __future__ import annotations

from types import ModuleType

from pipeline.registry import Registry

from . import auto, hf, inspect_eval, jsonl, lighteval, lm_eval, qwen_eval
from .base import ImportContext, Problem, QuestionIndex

IMPORTERS: Registry[ModuleType] = Registry("import format")
IMPORTERS.register(qwen_eval.NAME, qwen_eval)
IMPORTERS.register(lm_eval.NAME, lm_eval)
IMPORTERS.register(jsonl.NAME, jsonl)
IMPORTERS.register(inspect_eval.NAME, inspect_eval)
IMPORTERS.register(hf.NAME, hf)
IMPORTERS.register(lighteval.NAME, lighteval)
IMPORTERS.register(auto.NAME, auto)

__all__ = ["IMPORTERS", "ImportContext", "Problem", "QuestionIndex"]
