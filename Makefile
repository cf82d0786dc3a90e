# incidentfeed: `make run` for the main job on examples/, `make test` for the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format schemas bench accuracy fit-matcher fit-headline fit-relevance fit-places lock clean

# Everything installs from requirements.lock, the whole dependency tree pinned (`make lock`
# refreshes it from pyproject.toml), so a fresh machine gets what CI tested.
$(STAMP): pyproject.toml requirements.lock services/web/package-lock.json
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m services.places  # the gazetteer's compact table, built once (~/.cache/incidentfeed)
	@command -v npm >/dev/null || { echo "make: npm (Node.js) is needed for the web page's map outlines: apt-get install nodejs npm"; exit 1; }
	npm ci --prefix services/web --no-audit --no-fund --silent  # the page's pinned assets (package-lock.json)
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
	$(BIN)/python -m bench.copies

accuracy: $(STAMP) ## incident, place and figure accuracy on the development set and the seeds (../shared)
	$(BIN)/python -m bench.accuracy

fit-places: $(STAMP) ## refit the main-place ranker's weights on the labelled corpora (services/entities/data/place_ranker.json)
	$(BIN)/python -m bench.fit_places

fit-matcher: $(STAMP) ## refit the incident matcher's weights on the labelled corpora (services/dedup/data/matcher.json)
	$(BIN)/python -m bench.fit_matcher

fit-headline: $(STAMP) ## refit the headline-figure ranker on the labelled corpora (services/casualties/data/headline.json)
	$(BIN)/python -m bench.fit_headline

fit-relevance: $(STAMP) ## refit the relevance decision's weights on the labelled corpora (services/relevance/data/relevance.json)
	$(BIN)/python -m bench.fit_relevance

lock: ## re-resolve requirements.lock from pyproject.toml (needs network)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --extra dev --extra server --extra fit --python-version 3.11 \
		--universal --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info feed.jsonl services/web/node_modules
