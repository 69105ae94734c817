# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: setup tools demo test test-unit test-integration bench clean-state lock

setup: $(STAMP) tools  ## virtualenv, pinned packages, Kafka's jars, kcat (idempotent)
	$(BIN)/funnel kafka fetch

tools:  ## kcat, the independent Kafka client the interop tests use (Debian package)
	@command -v kcat >/dev/null || { apt-get update -qq && apt-get install -y -qq kcat >/dev/null; } \
	  || { echo "install kcat (Debian/Ubuntu: apt-get install kcat)" >&2; exit 1; }

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: setup  ## start the broker, generate the seed data set, ingest it, replay it into figures
	$(BIN)/funnel kafka up
	$(BIN)/funnel generate --out data/seed.jsonl
	$(BIN)/funnel ingest data/seed.jsonl
	$(BIN)/funnel replay --as-of 2023-12-31 --out out/demo-2023
	$(BIN)/funnel replay --as-of 2024-12-31 --out out/demo-2024

test: setup  ## all tests; integration tests start their own broker
	$(BIN)/pytest

test-unit: setup
	$(BIN)/pytest tests/unit

test-integration: setup
	$(BIN)/pytest tests/integration

bench:  ## the benchmarks (minutes; not part of make test)
	$(BIN)/python -m bench.ingest --events 1000000
	$(BIN)/python -m bench.replay --events 1000000
	$(BIN)/python -m bench.fold --events 10000000

clean-state:  ## stop the local broker and delete its data
	-$(BIN)/funnel kafka down
	rm -rf .funnel

lock:  ## refresh constraints.txt from the current virtualenv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
