"""Importers of real trajectory files, one small module each (see docs/IMPORT.md).

Registry: format name -> module. A module defines ``NAME``, ``DESCRIPTION``, ``parse(path, ctx)``
and optionally ``files(path) -> [(file, default model name)]`` to expand folders. Adding a format
is one module plus one line here.
"""
from __future__ import annotations

from types import ModuleType

from . import jsonl, lm_eval, qwen_eval
from .base import ImportContext, Problem, QuestionIndex

IMPORTERS: dict[str, ModuleType] = {
    qwen_eval.NAME: qwen_eval,
    lm_eval.NAME: lm_eval,
    jsonl.NAME: jsonl,
}


def get(name: str) -> ModuleType:
    if name not in IMPORTERS:
        raise KeyError(f"unknown import format {name!r}: known are {', '.join(IMPORTERS)}")
    return IMPORTERS[name]


__all__ = ["IMPORTERS", "ImportContext", "Problem", "QuestionIndex", "get"]
