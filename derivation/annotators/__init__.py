"""Step-error annotators, one module each behind ``derivation.annotators.base.Annotator``.

Registry: name -> the annotator class, imported on first use. Adding an annotator is one module
plus one line here.
"""
from __future__ import annotations

from warehouse.registry import Registry

from .base import AnnotateInput, AnnotationResult, Annotator

ANNOTATORS: Registry[type[Annotator]] = Registry("annotator")
ANNOTATORS.register_lazy("rules", "derivation.annotators.rules:RulesAnnotator")
ANNOTATORS.register_lazy("judge", "derivation.annotators.judge:JudgeAnnotator")
ANNOTATORS.register_lazy("prm", "derivation.annotators.prm:PRMAnnotator")


def get_annotator(name: str, **options) -> Annotator:
    """Instantiate annotator ``name`` (options go to its constructor, e.g. backend/model)."""
    return ANNOTATORS.get(name)(**options)


__all__ = ["ANNOTATORS", "AnnotateInput", "AnnotationResult", "Annotator", "get_annotator"]
