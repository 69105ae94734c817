# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
KERNEL := $(VENV)/share/jupyter/kernels/funnel/kernel.json

.PHONY: setup tools demo lab test test-unit test-integration bench clean-state lock

setup: $(STAMP) $(KERNEL) tools  ## virtualenv, pinned packages, the notebooks' kernel, Kafka's jars, kcat (idempotent)
	$(BIN)/funnel kafka fetch

tools:  ## Debian packages: kcat (interop tests), CJK fonts (charts, the bulletin), chromium (report screenshots, the bulletin's PDF), poppler-utils (PDF tests)
	@missing=""; command -v kcat >/dev/null || missing="$$missing kcat"; \
	  fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || missing="$$missing fonts-wqy-microhei fontconfig"; \
	  fc-list 2>/dev/null | grep -qi "Noto Serif CJK SC" || missing="$$missing fonts-noto-cjk"; \
	  fc-list 2>/dev/null | grep -qi "AR PL UKai CN" || missing="$$missing fonts-arphic-ukai"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	  if [ -n "$$missing" ]; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	    || { echo "please install:$$missing (Debian/Ubuntu packages)" >&2; exit 1; }; \
	  fi

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# The notebooks' kernel "funnel" (Python (funnel)), inside the virtualenv (--sys-prefix): JupyterLab and
# funnel report run the notebooks with the venv's packages, and nothing is written to ~/.local.
$(KERNEL): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name funnel --display-name "Python (funnel)"

demo: setup  ## start the broker, generate the seed data set, ingest it and a month of ledgers, replay it into figures, the report and the 2024-Q4 bulletin
	$(BIN)/funnel kafka up
	$(BIN)/funnel generate --out data/seed.jsonl
	$(BIN)/funnel ingest data/seed.jsonl
	for f in examples/ledgers/2024-12/*; do $(BIN)/funnel ledger import "$$f" --month 2024-12 || exit 1; done
	$(BIN)/funnel ledger export --as-of 2024-12-31 --out out/ledger-2024-12.xlsx
	$(BIN)/funnel replay --as-of 2023-12-31 --out out/demo-2023
	$(BIN)/funnel replay --as-of 2024-12-31 --out out/demo-2024
	$(BIN)/funnel report --out report --source out/demo-2024
	$(BIN)/funnel bulletin --period 2024-Q4 --source out/demo-2024 --out report/bulletin

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

lab: setup  ## JupyterLab on the notebooks, with the project's kernel
	$(BIN)/funnel lab

clean-state:  ## stop the local broker and delete its data
	-$(BIN)/funnel kafka down
	rm -rf .funnel

lock:  ## refresh constraints.txt from the current virtualenv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
