# Two commands from a fresh clone: `make demo` and `make test`. Both create .venv and install
# the package with every extra first (torch pinned to the local CPU build, never CUDA).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK := true

MODEL_DIR := models/default
CORPUS := data/corpus/peer_support.jsonl
CONFIG := configs/review.toml

.PHONY: install browser demo serve model test lint bench-import bench-scale clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[transformers,spark,dev]"
	touch $(STAMP)

# The browser tests drive Debian's chromium (never a downloaded browser). Installed here when
# missing and apt-get is there; without either, those tests skip and say why.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium and chromium-driver for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "warning: could not install chromium; the browser tests will skip"; \
	fi

# The embedded default model, rebuilt from the corpus (seeded: the same data, config and
# seed give the same model). Training logs a run to MLflow (./mlflow.db, ./mlruns).
$(MODEL_DIR)/MLmodel: $(CORPUS) $(CONFIG) | $(STAMP)
	$(BIN)/peerscreen train --config $(CONFIG) --data $(CORPUS) --seed 0 --promote --model-dir $(MODEL_DIR)

model: install
	$(BIN)/peerscreen train --config $(CONFIG) --data $(CORPUS) --seed 0 --promote --model-dir $(MODEL_DIR)

demo: install $(MODEL_DIR)/MLmodel
	mkdir -p demo-output
	$(BIN)/peerscreen rank data/examples/new_records.ris --model $(MODEL_DIR) \
		-o demo-output/ranked.csv --top 20
	@echo
	@echo "Next:"
	@echo "  make serve                                        screen the example records in the browser"
	@echo "  open demo-output/ranked.csv                       the queue, likely inclusions first"
	@echo "  $(BIN)/peerscreen screen init demo-output/demo.screen data/examples/new_records.ris"
	@echo "  $(BIN)/peerscreen screen next demo-output/demo.screen    screen it (i/e/s/u/q)"
	@echo "  $(BIN)/peerscreen screen status demo-output/demo.screen  counts and when to stop"
	@echo "  $(BIN)/peerscreen simulate Donners_2021              replay a real review (needs ../shared)"
	@echo "  $(BIN)/peerscreen compare                            the latest MLflow runs side by side"
	@echo "  $(BIN)/peerscreen --help                             every command"

# The team web app on the example records: the project and a first owner (asks for a
# password) are made on first run, then the server starts on http://127.0.0.1:8765/.
DEMO_PROJECT := demo-output/peer-support-demo.peerscreen
serve: install
	@mkdir -p demo-output
	@if [ ! -f $(DEMO_PROJECT) ]; then \
		$(BIN)/peerscreen screen init $(DEMO_PROJECT) data/examples/new_records.ris; fi
	@$(BIN)/peerscreen users list --database $(DEMO_PROJECT) | grep -q "every project" || \
		$(BIN)/peerscreen users add $${USER:-reviewer} --role owner --database $(DEMO_PROJECT)
	$(BIN)/peerscreen serve $(DEMO_PROJECT)

lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks

test: install browser
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python -m pytest -q

bench-import: install
	$(BIN)/python benchmarks/import_speed.py

bench-scale: install $(MODEL_DIR)/MLmodel
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache $(MODEL_DIR)
