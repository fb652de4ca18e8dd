# The two commands: `make test` and `make demo` set themselves up on a fresh machine.
# `make notebooks` opens the lesson's notebooks in JupyterLab (the optional `notebooks` extra).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench floor lint setup notebooks fuzz clean

$(STAMP): pyproject.toml
	@test -d $(VENV) || { echo "make: creating the virtual environment $(VENV) ($(PYTHON) -m venv)"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "make: upgrading pip in $(VENV)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "make: installing microgradnp (editable) with its dev extra into $(VENV); this takes a minute the first time"
	@$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)
	@echo "make: $(VENV) is ready"

setup: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

# One BLAS thread for the tests unless you say otherwise: on a small shared machine several BLAS
# threads per process slow the notebooks' training cells several times over.
test: export OPENBLAS_NUM_THREADS ?= 1
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -rs tests
	$(if $(wildcard notebooks/*.ipynb),$(BIN)/python -m pytest --nbmake -p no:cacheprovider notebooks)

demo: $(STAMP)
	$(BIN)/python -m microgradnp demo

notebooks: $(STAMP)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || { \
		echo "make: installing JupyterLab (the notebooks extra) into $(VENV)"; \
		$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"; }
	$(BIN)/python -m jupyter lab notebooks

# the expression-graph fuzzer at length (the suite runs a quick profile of it)
fuzz: $(STAMP)
	MG_FUZZ_EXAMPLES=3000 $(BIN)/python -m pytest -rs -p no:cacheprovider tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# what the speed targets leave: the barest engine, with and without the contract's bookkeeping
floor: $(STAMP)
	$(BIN)/python benchmarks/floor.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache
