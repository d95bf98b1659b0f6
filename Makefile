# The two commands the README starts with: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench bundle dist clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	./scripts/bootstrap.sh

## Opens the app on the bundled demo Live Photo.
run: $(STAMP)
	$(PY) -m livemoments_app.ui.app --demo

## Runs the whole test suite (headless Qt).
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

## Runs every benchmark and prints its table.
bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks

## Builds the one-folder desktop app into dist/LiveMoments/ (PyInstaller, see packaging/build.sh).
bundle: $(STAMP)
	PYTHON=$(PY) ./packaging/build.sh

## Builds the wheel and sdist into dist/ and checks them with twine.
dist: $(STAMP)
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/livemoments-*

clean:
	rm -rf $(VENV) build dist *.egg-info
