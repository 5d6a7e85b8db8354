PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint fuzz bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/audframe upload data/customers.parquet --audience-id 120210000000000001 --default-country US --emulator

lint: $(STAMP)
	$(BIN)/ruff check audframe tests benchmarks data
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

fuzz: $(STAMP)
	AUDFRAME_FUZZ=1 $(BIN)/pytest -q tests/test_properties.py tests/test_phone.py tests/test_payloads.py \
		tests/test_prepare.py tests/test_hashing.py tests/test_distinct.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
