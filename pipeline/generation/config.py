"""Run configs for `python -m pipeline generate`: YAML in, validated dataclasses out.

Every check runs before any model loads, and every error names the file and the offending key,
e.g. ``configs/x.yaml: models[2].params_b: expected a number, got 'big'``. Unknown keys are
rejected with a suggestion. See configs/cpu_demo.yaml and configs/paper_aime24.yaml.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.generation.backends import BACKENDS
from pipeline.generation.backends.base import OptionError
from pipeline.ingest.benchmarks import LOADERS
from warehouse.errors import UsageError
from warehouse.records import TIERS, Model

DEFAULT_TEMPLATE = "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{}."


class ConfigError(UsageError):
    """An invalid run config; the message names the file and the key."""


@dataclass(frozen=True)
class BenchmarkSelection:
    name: str
    ids: tuple[str, ...] = ()            # empty = all
    tiers: tuple[str, ...] = ()          # under `scheme` (the paper's AIME24 tiers by default)
    scheme: str = "paper"
    categories: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    limit: int | None = None             # the first N questions left after the filters


@dataclass(frozen=True)
class ModelSpec:
    model: str                           # Hugging Face id, local path, or (llamacpp) a package holding a GGUF
    record: Model                        # warehouse metadata and experiment factors
    backend_options: dict = field(default_factory=dict)   # per-model overrides

    @property
    def model_id(self) -> str:
        return self.record.model_id


@dataclass(frozen=True)
class RayOptions:
    """How `generate --executor ray` spreads the work (the `ray:` section; ignored by the local executor)."""
    workers: int | None = None           # model-holding workers (vLLM engines); None = as many as the cluster fits
    cpus_per_worker: float | None = None # None = the backend's thread count (n_threads), else 1
    gpus_per_worker: float = 0.0         # CPU backends on GPU nodes (transformers); vLLM takes tp x pp GPUs itself
    accelerator_type: str | None = None  # e.g. H100, A100: schedule the workers on such nodes only
    retries: int = 3                     # a dead worker is restarted, and its batch retried, this many times

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v != getattr(RayOptions(), k)}


@dataclass(frozen=True)
class RunConfig:
    path: str
    name: str
    backend: str
    backend_options: dict
    models: tuple[ModelSpec, ...]
    benchmarks: tuple[BenchmarkSelection, ...]
    samples: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 32768
    seed: int = 0
    stop: tuple[str, ...] = ()
    prompt_template: str = DEFAULT_TEMPLATE
    system_prompt: str | None = None
    batch_size: int | None = None        # work items per committed batch; None = the backend's default
    ray: RayOptions = RayOptions()

    def options_for(self, spec: ModelSpec) -> dict:
        return {**self.backend_options, **spec.backend_options}

    def run_id(self, spec: ModelSpec, benchmark: str) -> str:
        """Deterministic: the same model, benchmark, backend, sampling and prompt give the same run."""
        key = {"model": spec.model_id, "benchmark": benchmark, "backend": self.backend,
               "temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens,
               "seed": self.seed, "stop": list(self.stop), "template": self.prompt_template,
               "system": self.system_prompt}
        h = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=6).hexdigest()
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", spec.model_id.rsplit("/", 1)[-1])[:60]
        return f"gen-{slug}-{benchmark}-{h}"

    def render(self, problem: str) -> str:
        return self.prompt_template.replace("{problem}", problem)

    def messages(self, problem: str) -> list[dict]:
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return msgs + [{"role": "user", "content": self.render(problem)}]

    def as_dict(self) -> dict:
        """The config as stored with each run (runs.config)."""
        return {"name": self.name, "path": self.path, "backend": self.backend,
                "backend_options": self.backend_options, "samples": self.samples,
                "temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens,
                "seed": self.seed, "stop": list(self.stop), "prompt_template": self.prompt_template,
                "system_prompt": self.system_prompt} | ({"ray": self.ray.as_dict()} if self.ray.as_dict() else {})


# ---------------------------------------------------------------- validation helpers

class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {msg}" if key else f"{self.path}: {msg}")

    def keys(self, where: str, d: Any, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(d, dict):
            raise self.fail(where, f"expected a mapping, got {_show(d)}")
        for k in d:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(sorted(allowed))})"
                raise self.fail(_join(where, k), f"unknown key{hint}")
        for k in sorted(required):
            if k not in d or d[k] is None:
                raise self.fail(_join(where, k), "required")
        return d

    def number(self, key, v, *, lo=None, hi=None, lo_open=False):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(key, f"expected a number, got {_show(v)}")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise self.fail(key, f"must be {'>' if lo_open else '>='} {lo}, got {v}")
        if hi is not None and v > hi:
            raise self.fail(key, f"must be <= {hi}, got {v}")
        return float(v)

    def integer(self, key, v, *, lo=None):
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(key, f"expected an integer, got {_show(v)}")
        if lo is not None and v < lo:
            raise self.fail(key, f"must be >= {lo}, got {v}")
        return v

    def string(self, key, v):
        if not isinstance(v, str) or not v:
            raise self.fail(key, f"expected a non-empty string, got {_show(v)}")
        return v

    def strings(self, key, v) -> tuple[str, ...]:
        """A list of strings (numbers accepted and turned into strings: YAML reads 60 as an int)."""
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            v = [v]
        if not isinstance(v, list):
            raise self.fail(key, f"expected a list, got {_show(v)}")
        out = []
        for i, x in enumerate(v):
            if isinstance(x, bool) or not isinstance(x, (str, int)):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {_show(x)}")
            out.append(str(x))
        return tuple(out)

    def typed(self, key, v, typ):
        if typ is float:
            return self.number(key, v)
        if typ is int:
            return self.integer(key, v)
        if typ is str:
            return self.string(key, v)
        if typ is bool:
            if not isinstance(v, bool):
                raise self.fail(key, f"expected true or false, got {_show(v)}")
            return v
        if typ is dict:
            if not isinstance(v, dict):
                raise self.fail(key, f"expected a mapping, got {_show(v)}")
            return v
        raise TypeError(typ)


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, str) else f"{type(v).__name__} {v!r}" if v is not None else "nothing"


def _join(where: str, k: Any) -> str:
    return f"{where}.{k}" if where else str(k)


# ---------------------------------------------------------------- the schema

_TOP = {"name", "backend", "backend_options", "models", "model_defaults", "benchmarks", "samples",
        "temperature", "top_p", "max_tokens", "seed", "stop", "prompt_template", "system_prompt",
        "batch_size", "ray"}
_RAY = {"workers": int, "cpus_per_worker": float, "gpus_per_worker": float, "accelerator_type": str, "retries": int}
_BENCH = {"name", "ids", "tiers", "scheme", "categories", "levels", "limit"}
# a model entry: the fields of warehouse.records.Model with their types, plus `model` and `backend_options`
_MODEL_FIELDS = Model.field_types()
_MODEL_KEYS = set(_MODEL_FIELDS) | {"model", "backend_options"}


def _check_backend_options(c: _Checker, key: str, opts: Any, allowed: dict[str, type]) -> dict:
    c.keys(key, opts, set(allowed))
    return {k: c.typed(_join(key, k), v, allowed[k]) for k, v in opts.items()}


def _check_option_values(c: _Checker, backend_class, opts: dict, mopts: dict, model_key: str) -> None:
    """The backend's own checks (``check_options``) of the options a model runs with (its own over the
    config's), reported at the key that holds the value."""
    check = getattr(backend_class, "check_options", None)
    if check is None:
        return
    try:
        check({**opts, **mopts})
    except OptionError as exc:
        raise c.fail(_join(model_key if exc.key in mopts else "backend_options", exc.key), exc.msg) from None


def parse(raw: Any, path: str = "<config>", check_models: bool = True) -> RunConfig:
    """Validate a config mapping (as read from YAML) into a RunConfig. ``check_models``: also ask the
    backend whether each model can be found (``check_model``: llamacpp looks for its GGUF, which may need a
    model package installed); False validates the config alone."""
    c = _Checker(path)
    c.keys("", raw, _TOP, {"backend", "models", "benchmarks"})
    backend = c.string("backend", raw["backend"])
    if backend not in BACKENDS:
        known = sorted(BACKENDS.names())
        close = difflib.get_close_matches(backend, known, n=1)
        raise c.fail("backend", f"unknown backend {backend!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                     + f"; known: {', '.join(known)}")
    backend_class = BACKENDS.get(backend)
    allowed_opts = getattr(backend_class, "OPTIONS", {})
    opts = _check_backend_options(c, "backend_options", raw.get("backend_options") or {}, allowed_opts)

    defaults = raw.get("model_defaults") or {}
    c.keys("model_defaults", defaults, _MODEL_KEYS - {"model", "model_id", "display_name"})
    models_raw = raw["models"]
    if not isinstance(models_raw, list) or not models_raw:
        raise c.fail("models", f"expected a non-empty list, got {_show(models_raw)}")
    models, seen = [], set()
    for i, m in enumerate(models_raw):
        key = f"models[{i}]"
        if isinstance(m, str):
            m = {"model": m}
        c.keys(key, m, _MODEL_KEYS, {"model"})
        merged = {**defaults, **m}
        if isinstance(defaults.get("meta"), dict) and isinstance(m.get("meta"), dict):
            merged["meta"] = {**defaults["meta"], **m["meta"]}
        src = key if "model" in m else "model_defaults"
        fields = {}
        for f, typ in _MODEL_FIELDS.items():
            if merged.get(f) is not None:
                fields[f] = c.typed(_join(key if f in m else src, f), merged[f], typ)
        if fields.get("params_b") is not None and fields["params_b"] <= 0:
            raise c.fail(_join(key, "params_b"), f"must be > 0, got {fields['params_b']}")
        model = c.string(_join(key, "model"), merged["model"])
        check = getattr(backend_class, "check_model", None) if check_models else None
        if check is not None:
            try:
                check(model)
            except (FileNotFoundError, ValueError) as exc:
                raise c.fail(_join(key, "model"), str(exc)) from exc
        fields.setdefault("model_id", model)
        if fields["model_id"] in seen:
            raise c.fail(_join(key, "model_id"), f"duplicate model id {fields['model_id']!r}")
        seen.add(fields["model_id"])
        mopts = _check_backend_options(c, _join(key, "backend_options"), merged.get("backend_options") or {},
                                       allowed_opts)
        _check_option_values(c, backend_class, opts, mopts, _join(key, "backend_options"))
        models.append(ModelSpec(model, Model(**fields), mopts))

    benches_raw = raw["benchmarks"]
    if isinstance(benches_raw, (str, dict)):
        benches_raw = [benches_raw]
    if not isinstance(benches_raw, list) or not benches_raw:
        raise c.fail("benchmarks", f"expected a non-empty list, got {_show(benches_raw)}")
    benches = []
    for i, b in enumerate(benches_raw):
        key = f"benchmarks[{i}]"
        if isinstance(b, str):
            b = {"name": b}
        c.keys(key, b, _BENCH, {"name"})
        name = c.string(_join(key, "name"), b["name"])
        if name not in LOADERS:
            raise c.fail(_join(key, "name"), f"unknown benchmark {name!r}; known: {', '.join(LOADERS.names())}")
        tiers = c.strings(_join(key, "tiers"), b.get("tiers") or [])
        for j, t in enumerate(tiers):
            if t not in TIERS:
                raise c.fail(f"{key}.tiers[{j}]", f"unknown tier {t!r}; known: {', '.join(TIERS)}")
        limit = b.get("limit")
        benches.append(BenchmarkSelection(
            name=name, ids=c.strings(_join(key, "ids"), b.get("ids") or []), tiers=tiers,
            scheme=c.string(_join(key, "scheme"), b.get("scheme", "paper")),
            categories=c.strings(_join(key, "categories"), b.get("categories") or []),
            levels=c.strings(_join(key, "levels"), b.get("levels") or []),
            limit=None if limit is None else c.integer(_join(key, "limit"), limit, lo=1)))

    template = c.string("prompt_template", raw.get("prompt_template", DEFAULT_TEMPLATE))
    if "{problem}" not in template:
        raise c.fail("prompt_template", "must contain the placeholder {problem}")
    system = raw.get("system_prompt")
    batch = raw.get("batch_size")
    ray = _check_ray(c, raw.get("ray") or {})
    return RunConfig(
        path=path, name=c.string("name", raw.get("name", Path(path).stem)), backend=backend,
        backend_options=opts, models=tuple(models), benchmarks=tuple(benches),
        samples=c.integer("samples", raw.get("samples", 8), lo=1),
        temperature=c.number("temperature", raw.get("temperature", 1.0), lo=0),
        top_p=c.number("top_p", raw.get("top_p", 1.0), lo=0, hi=1, lo_open=True),
        max_tokens=c.integer("max_tokens", raw.get("max_tokens", 32768), lo=1),
        seed=c.integer("seed", raw.get("seed", 0), lo=0),
        stop=c.strings("stop", raw.get("stop") or []),
        prompt_template=template,
        system_prompt=None if system is None else c.string("system_prompt", system),
        batch_size=None if batch is None else c.integer("batch_size", batch, lo=1), ray=ray)


def _check_ray(c: _Checker, raw: Any) -> RayOptions:
    c.keys("ray", raw, set(_RAY))
    v = {k: c.typed(f"ray.{k}", x, _RAY[k]) for k, x in raw.items() if x is not None}
    for k, lo in (("workers", 1), ("retries", 0)):
        if k in v:
            c.integer(f"ray.{k}", v[k], lo=lo)
    if "cpus_per_worker" in v:
        c.number("ray.cpus_per_worker", v["cpus_per_worker"], lo=0, lo_open=True)
    if "gpus_per_worker" in v:
        c.number("ray.gpus_per_worker", v["gpus_per_worker"], lo=0)
    return RayOptions(**v)


def load(path: str | Path, check_models: bool = True) -> RunConfig:
    """Read and validate a YAML run config (``check_models``: see ``parse``)."""
    return parse(_read_yaml(path), str(path), check_models)


def _read_yaml(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config: {exc.strerror or exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{p}: {where}invalid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    return raw


# ---------------------------------------------------------------- the judge's config

_JUDGE = {"backend", "model", "backend_options", "max_tokens", "batch_size"}


def load_judge(path: str | Path) -> dict:
    """A judge config (``annotate/eval-annotator --annotator judge --config FILE``): ``backend``,
    ``model`` (as served), ``backend_options`` (validated like a run config's), ``max_tokens`` of the
    reply and ``batch_size`` (trajectories per committed batch). Returns the judge's keyword arguments.
    See configs/judge_openai.yaml."""
    raw, c = _read_yaml(path), _Checker(str(path))
    c.keys("", raw, _JUDGE, {"backend", "model"})
    backend = c.string("backend", raw["backend"])
    if backend not in BACKENDS:
        raise c.fail("backend", f"unknown backend {backend!r}; known: {', '.join(sorted(BACKENDS.names()))}")
    cls = BACKENDS.get(backend)
    opts = _check_backend_options(c, "backend_options", raw.get("backend_options") or {}, getattr(cls, "OPTIONS", {}))
    _check_option_values(c, cls, opts, {}, "backend_options")
    out = {"backend": backend, "model": c.string("model", raw["model"]), "backend_options": opts}
    for k in ("max_tokens", "batch_size"):
        if raw.get(k) is not None:
            out[k] = c.integer(k, raw[k], lo=1)
    return out
