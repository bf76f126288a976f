# Two entry points: `make demo` (build the demo warehouse, serve the app) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
HOST   ?= 127.0.0.1
export LADDER_DB ?= warehouse/demo.duckdb

.PHONY: install system demo warehouse serve test test-fast test-unit clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

install: $(VENV)/.installed system

# Chromium from Debian's packages: Kaleido chart export and the browser tests use /usr/bin/chromium.
system:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The demo warehouse: every real trace set in ../shared/data/traces, graded and annotated, plus one
# run this machine generates itself with the CPU model (configs/cpu_demo.yaml; resumes if re-run).
warehouse: install
	$(PY) -m pipeline demo --db $(LADDER_DB)
	$(PY) -m pipeline generate --config configs/cpu_demo.yaml --db $(LADDER_DB)

demo: warehouse serve

serve:
	OPENBLAS_NUM_THREADS=1 $(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

test-unit: install
	$(PY) -m pytest -m "not slow and not data"

clean:
	rm -f warehouse/demo.duckdb warehouse/demo.duckdb.wal
