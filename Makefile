# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	# bytecode once, so a CLI call does not recompile every module where PYTHONDONTWRITEBYTECODE is set
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

install: $(STAMP)

run: install
	CLINGUIDE_CDS_ALLOW_UNSIGNED=1 $(BIN)/clinguide serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/ruff check .
	$(BIN)/clinguide kb validate
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
