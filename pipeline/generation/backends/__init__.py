"""Generation backends, one module each behind ``pipeline.generation.backends.base.Backend``.

Registry: name -> the backend class, imported on first use (a backend's heavy imports are lazy
anyway, but its module need not load for ``--help``). Adding a backend is one module plus one
line here.
"""
from __future__ import annotations

from warehouse.registry import Registry
from warehouse.errors import LadderError, ModelLoadError

from .base import Backend, Completion, SamplingParams

BACKENDS: Registry[type[Backend]] = Registry("backend")
BACKENDS.register_lazy("llamacpp", "pipeline.generation.backends.llamacpp:LlamaCppBackend")
BACKENDS.register_lazy("transformers", "pipeline.generation.backends.transformers_backend:TransformersBackend")
BACKENDS.register_lazy("vllm", "pipeline.generation.backends.vllm_backend:VLLMBackend")
BACKENDS.register_lazy("openai", "pipeline.generation.backends.openai_backend:OpenAIBackend")


def get_backend(name: str, model: str, **options) -> Backend:
    """Instantiate backend ``name`` for ``model`` (a Hugging Face id or a local path). A model or library
    that cannot load is a ``ModelLoadError`` carrying the library's own message."""
    cls = BACKENDS.get(name)
    try:
        return cls(model, **options)
    except LadderError:
        raise
    except (OSError, ImportError, ValueError) as exc:   # no such file or hub id, a missing library, a bad option
        raise ModelLoadError(f"{name}: cannot load {model}: {exc}") from exc


__all__ = ["BACKENDS", "Backend", "Completion", "SamplingParams", "get_backend"]
