"""Annotators with real models: the PRM scoring path on a tiny randomly initialised model built
from a config (no download), and (slow) the judge through the llamacpp CPU backend."""
import json

import pytest

from pipeline.derive.processbench import processbench_inputs
from derivation.annotators.prm import SEP, PRMAnnotator


def _tiny_prm(texts):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = sorted({w for t in texts for w in t.split()})
    vocab = {"[UNK]": 0, SEP: 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]",
                                                additional_special_tokens=[SEP])
    fast.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
    torch.manual_seed(0)
    cfg = transformers.Qwen2Config(vocab_size=len(vocab) + 8, hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                   num_labels=2)
    return transformers.Qwen2ForTokenClassification(cfg).eval(), fast


def test_prm_scores_one_probability_per_step(shared):
    items = json.load(open(shared / "step-labels" / "processbench" / "gsm8k.json"))[:3]
    inputs = processbench_inputs(items)
    model, tok = _tiny_prm([it.problem + " " + " ".join(it.steps) + " system user assistant: Please reason step "
                            "by step, and put your final answer within \\boxed{}." for it in inputs])
    prm = PRMAnnotator(threshold=0.5)
    prm.load(model, tok)
    results = prm.annotate(inputs)
    for it, res in zip(inputs, results):
        scores = [a.score for a in res.annotations if a.label == "prm_score"]
        assert len(scores) == len(it.steps) and all(0 < p < 1 for p in scores)
        expected = next((i for i, p in enumerate(scores) if p < 0.5), -1)
        assert res.first_error == expected
    # threshold 0 -> no step is under it; threshold 1 -> the first step is
    prm.threshold = 0.0
    assert prm.annotate(inputs[:1])[0].first_error == -1
    prm.threshold = 1.0
    assert prm.annotate(inputs[:1])[0].first_error == 0


@pytest.mark.slow
def test_judge_end_to_end_with_the_small_cpu_model(shared):
    pytest.importorskip("llama_cpp")
    from derivation.annotators.judge import JudgeAnnotator

    items = json.load(open(shared / "step-labels" / "processbench" / "gsm8k.json"))[:2]
    inputs = processbench_inputs(items)
    judge = JudgeAnnotator(backend="llamacpp", max_tokens=32)
    try:
        results = judge.annotate(inputs)
    finally:
        judge.close()
    assert len(results) == 2
    for it, res in zip(inputs, results):
        if res.first_error is None:      # an unparseable reply is recorded, with the raw text
            assert [a.label for a in res.annotations] == ["judge_unparseable"]
        else:
            assert -1 <= res.first_error < len(it.steps)
