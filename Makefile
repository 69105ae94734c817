# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: setup demo test test-unit test-integration bench clean-state lock

setup: $(STAMP)  ## virtualenv, pinned packages and Kafka's jars (idempotent)
	$(BIN)/funnel kafka fetch

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: setup  ## start the broker, generate the seed data set, ingest it
	$(BIN)/funnel kafka up
	$(BIN)/funnel generate --out data/seed.jsonl
	$(BIN)/funnel ingest data/seed.jsonl

test: setup  ## all tests; integration tests start their own broker
	$(BIN)/pytest

test-unit: setup
	$(BIN)/pytest tests/unit

test-integration: setup
	$(BIN)/pytest tests/integration

clean-state:  ## stop the local broker and delete its data
	-$(BIN)/funnel kafka down
	rm -rf .funnel

lock:  ## refresh constraints.txt from the current virtualenv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
