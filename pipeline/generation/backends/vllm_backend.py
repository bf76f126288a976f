"""`vllm` backend (GPU): one ``vllm.LLM`` per model, every prompt of a batch submitted at once.

vLLM schedules all requests together (continuous batching) and, with automatic prefix
caching, computes a shared prompt prefix once: the generation stage sends each sample as its
own request (``n=1`` with that sample's seed) so that resumed and sharded runs reproduce the
same samples, and the prompt's KV blocks are shared between its samples by the prefix cache.
``vllm`` is imported lazily (it is a GPU-only extra, requirements-gpu.txt). The request
building and output mapping are small pure functions, tested without vLLM.
"""
from __future__ import annotations

import gc
from typing import Any, Sequence

from warehouse.errors import ModelLoadError

from .base import Backend, Completion, Prompt, SamplingParams


class VLLMError(ModelLoadError, RuntimeError):
    """vLLM is not installed, or its engine could not load the model or failed while generating."""


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def sampling_kwargs(params: SamplingParams, seed: int | None) -> dict[str, Any]:
    """Keyword arguments for ``vllm.SamplingParams`` for one request."""
    kw: dict[str, Any] = {"n": params.n, "temperature": params.temperature, "top_p": params.top_p,
                          "max_tokens": params.max_tokens, "seed": seed}
    if params.stop:
        kw["stop"] = list(params.stop)
    return kw


def request_seeds(params: SamplingParams, n_prompts: int, seeds: Sequence[int] | None) -> list[int | None]:
    if seeds is not None:
        if len(seeds) != n_prompts:
            raise ValueError(f"vllm: {len(seeds)} seeds for {n_prompts} prompts")
        return list(seeds)
    return [None if params.seed is None else params.seed + i for i in range(n_prompts)]


def render_prompt(prompt: Prompt, tokenizer) -> str:
    """Plain text as is; chat messages through the model's chat template."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True)


def map_outputs(request_outputs: Sequence[Any]) -> list[list[Completion]]:
    """vLLM ``RequestOutput`` objects (in prompt order) -> completions per prompt."""
    result = []
    for ro in request_outputs:
        comps = []
        for o in sorted(ro.outputs, key=lambda o: getattr(o, "index", 0)):
            reason = o.finish_reason if o.finish_reason in ("stop", "length") else (o.finish_reason or "stop")
            comps.append(Completion(o.text, len(o.token_ids), reason))
        result.append(comps)
    return result


class VLLMBackend(Backend):
    name = "vllm"
    OPTIONS = {"tensor_parallel_size": int, "pipeline_parallel_size": int, "gpu_memory_utilization": float,
               "max_model_len": int, "dtype": str, "quantization": str, "enable_prefix_caching": bool,
               "max_num_seqs": int, "max_num_batched_tokens": int, "enforce_eager": bool,
               "trust_remote_code": bool, "download_dir": str, "tokenizer": str, "revision": str,
               "swap_space": float, "seed": int}
    default_batch_size = None       # everything remaining in one submission

    def __init__(self, model: str, **options) -> None:
        super().__init__(model, **options)
        try:
            from vllm import LLM
        except ImportError as exc:
            raise VLLMError("the vllm backend needs the `vllm` package on a CUDA machine: "
                            "pip install -r requirements-gpu.txt") from exc
        kw = dict(options)
        kw.setdefault("enable_prefix_caching", True)
        try:    # a model id or path that does not load, no GPU, too little GPU memory, a bad option
            self.llm = LLM(model=model, **kw)
            self.tokenizer = self.llm.get_tokenizer()
        except (OSError, ValueError, RuntimeError) as exc:
            raise VLLMError(f"vllm could not load {model} ({type(exc).__name__}: {_first_line(exc)}): check the "
                            f"model id or path, the GPU, and the backend options") from exc

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams,
                 seeds: Sequence[int] | None = None) -> list[list[Completion]]:
        from vllm import SamplingParams as VSamplingParams

        texts = [render_prompt(p, self.tokenizer) for p in prompts]
        sps = [VSamplingParams(**sampling_kwargs(params, s)) for s in request_seeds(params, len(texts), seeds)]
        try:
            outputs = self.llm.generate(texts, sps, use_tqdm=False)
        except RuntimeError as exc:     # the engine died (out of GPU memory, a crashed worker)
            raise VLLMError(f"vllm failed while generating with {self.model} ({type(exc).__name__}: "
                            f"{_first_line(exc)})") from exc
        return map_outputs(outputs)

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        if llm is None:
            return
        del llm
        try:  # free GPU memory before the next model of the run loads
            import torch

            gc.collect()
            torch.cuda.empty_cache()
        except Exception:
            pass
