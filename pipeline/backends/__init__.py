"""Generation backends, one module each behind ``pipeline.backends.base.Backend``.

Registry: name -> "module:Class". Adding a backend is one module plus one line here.
"""
from __future__ import annotations

import importlib

from .base import Backend, Completion, SamplingParams

BACKENDS = {
    "llamacpp": "pipeline.backends.llamacpp:LlamaCppBackend",
    "transformers": "pipeline.backends.transformers_backend:TransformersBackend",
    "vllm": "pipeline.backends.vllm_backend:VLLMBackend",
}


def get_backend(name: str, model: str, **options) -> Backend:
    """Instantiate backend ``name`` for ``model`` (a Hugging Face id or a local path)."""
    if name not in BACKENDS:
        raise KeyError(f"unknown backend {name!r}: known are {', '.join(sorted(BACKENDS))}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)(model, **options)


__all__ = ["BACKENDS", "Backend", "Completion", "SamplingParams", "get_backend"]
