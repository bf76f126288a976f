"""Step-error annotators, one module each behind ``pipeline.annotators.base.Annotator``.

Registry: name -> "module:Class". Adding an annotator is one module plus one line here.
"""
from __future__ import annotations

import importlib

from .base import AnnotateInput, AnnotationResult, Annotator

ANNOTATORS = {
    "rules": "pipeline.annotators.rules:RulesAnnotator",
    "judge": "pipeline.annotators.judge:JudgeAnnotator",
    "prm": "pipeline.annotators.prm:PRMAnnotator",
}


def get_annotator(name: str, **options) -> Annotator:
    """Instantiate annotator ``name`` (options go to its constructor, e.g. backend/model)."""
    if name not in ANNOTATORS:
        raise KeyError(f"unknown annotator {name!r}: known are {', '.join(sorted(ANNOTATORS))}")
    module, cls = ANNOTATORS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)


__all__ = ["ANNOTATORS", "AnnotateInput", "AnnotationResult", "Annotator", "get_annotator"]
